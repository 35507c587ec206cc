/* SPDX-License-Identifier: Apache-2.0 */
/* A gateway's cache directory: its generations (written by sync), and offline answers from the one in force. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cache_int.h"
#include "starmark/json.h"
#include "starmark/sync.h"

/* ---- generations ---- */

static int read_fd_all(int fd, size_t max, uint8_t **out, size_t *n, const char *what, sm_err *err)
{
	struct stat st;
	if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode))
		return sm_err_set(err, SM_EIO, "cache", "%s is not a regular file", what);
	if ((uint64_t)st.st_size > max)
		return sm_err_set(err, SM_ETOOBIG, "cache", "%s is larger than %zu bytes", what, max);
	uint8_t *b = malloc((size_t)st.st_size + 1);
	size_t got = 0;
	if (!b)
		return sm_err_set(err, SM_ENOMEM, NULL, "out of memory");
	while (got < (size_t)st.st_size) {
		ssize_t r = read(fd, b + got, (size_t)st.st_size - got);
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0) {
			free(b);
			return sm_err_set(err, SM_EIO, "cache", "cannot read %s: %s", what, r < 0 ? strerror(errno) : "cut short");
		}
		got += (size_t)r;
	}
	b[got] = '\0';
	*out = b;
	*n = got;
	return 0;
}

int cache_gen_open(const char *dir, cache_gen *g, sm_err *err)
{
	char path[4200], name[80];
	g->dirfd = -1;
	g->name[0] = '\0';
	g->floor = 0;
	snprintf(path, sizeof(path), "%s/%s", dir, CACHE_CURRENT);
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return errno == ENOENT ? sm_err_set(err, SM_ENOTFOUND, "cache", "no synced registry data in %s", dir)
				       : sm_err_set(err, SM_EIO, "cache", "cannot open %s: %s", path, strerror(errno));
	ssize_t r = read(fd, name, sizeof(name) - 1);
	close(fd);
	if (r <= 0 || r >= (ssize_t)sizeof(g->name))
		return sm_err_set(err, SM_EIO, "cache", "%s is damaged: remove the cache and sync again", path);
	name[r] = '\0';
	name[strcspn(name, "\n")] = '\0';
	unsigned long long floor = 0;
	char rest[64];
	if (strchr(name, '/') || sscanf(name, "g-%llu-%63s", &floor, rest) != 2)
		return sm_err_set(err, SM_EIO, "cache", "%s names no generation: remove the cache and sync again", path);
	snprintf(path, sizeof(path), "%s/%s", dir, name);
	if ((g->dirfd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) < 0)
		return sm_err_set(err, SM_EIO, "cache", "cannot open %s: %s", path, strerror(errno));
	snprintf(g->name, sizeof(g->name), "%.63s", name);
	g->floor = floor;
	return 0;
}

void cache_gen_close(cache_gen *g)
{
	if (g->dirfd >= 0)
		close(g->dirfd);
	g->dirfd = -1;
}

static int open_in(const cache_gen *g, const char *name, int *fd, sm_err *err)
{
	*fd = openat(g->dirfd, name, O_RDONLY | O_CLOEXEC);
	if (*fd >= 0)
		return 0;
	return errno == ENOENT ? sm_err_set(err, SM_ENOTFOUND, "cache", "the cache has no %s", name)
			       : sm_err_set(err, SM_EIO, "cache", "cannot open %s/%s: %s", g->name, name, strerror(errno));
}

int cache_gen_read(const cache_gen *g, const char *name, size_t max, uint8_t **out, size_t *n, sm_err *err)
{
	int fd;
	int rc = open_in(g, name, &fd, err);
	if (rc)
		return rc;
	rc = read_fd_all(fd, max, out, n, name, err);
	close(fd);
	return rc;
}

int cache_map_fd(int fd, const char *what, uint64_t max, cache_map *m, sm_err *err)
{
	struct stat st;
	m->p = NULL;
	m->n = 0;
	if (fstat(fd, &st) != 0)
		return sm_err_set(err, SM_EIO, "cache", "cannot stat %s: %s", what, strerror(errno));
	if ((uint64_t)st.st_size > max)
		return sm_err_set(err, SM_ETOOBIG, "cache", "%s is larger than %llu bytes", what, (unsigned long long)max);
	if (st.st_size == 0)
		return sm_err_set(err, SM_EINVAL, "cache", "%s is empty", what);
	void *p = mmap(NULL, (size_t)st.st_size, PROT_READ, MAP_PRIVATE, fd, 0);
	if (p == MAP_FAILED)
		return sm_err_set(err, SM_EIO, "cache", "cannot map %s: %s", what, strerror(errno));
	m->p = p;
	m->n = (size_t)st.st_size;
	return 0;
}

int cache_gen_map(const cache_gen *g, const char *name, uint64_t max, cache_map *m, sm_err *err)
{
	int fd;
	int rc = open_in(g, name, &fd, err);
	if (rc)
		return rc;
	rc = cache_map_fd(fd, name, max, m, err);
	close(fd);
	return rc;
}

void cache_unmap(cache_map *m)
{
	if (m->p)
		munmap(m->p, m->n);
	m->p = NULL;
	m->n = 0;
}

/* ---- building a generation ---- */

static int sync_fd(int fd)
{
	return fsync(fd);
}

int cache_build_begin(const char *dir, cache_build *b, sm_err *err)
{
	char path[4200];
	b->dirfd = -1;
	b->tmp[0] = '\0';
	if (strlen(dir) >= sizeof(b->dir))
		return sm_err_set(err, SM_EINVAL, "cache", "the cache directory path is too long");
	snprintf(b->dir, sizeof(b->dir), "%s", dir);
	snprintf(path, sizeof(path), "%s/.g-XXXXXX", dir);
	if (!mkdtemp(path))
		return sm_err_set(err, SM_EIO, "cache", "cannot create a directory in %s: %s", dir, strerror(errno));
	chmod(path, 0755);
	snprintf(b->tmp, sizeof(b->tmp), "%s", strrchr(path, '/') + 1);
	if ((b->dirfd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) < 0) {
		int e = errno;
		rmdir(path);
		b->tmp[0] = '\0';
		return sm_err_set(err, SM_EIO, "cache", "cannot open %s: %s", path, strerror(e));
	}
	return 0;
}

int cache_build_create(cache_build *b, const char *name, int *fd, sm_err *err)
{
	*fd = openat(b->dirfd, name, O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	if (*fd < 0)
		return sm_err_set(err, SM_EIO, "cache", "cannot create %s/%s/%s: %s", b->dir, b->tmp, name, strerror(errno));
	return 0;
}

int cache_build_close_fd(cache_build *b, const char *name, int fd, sm_err *err)
{
	int rc = 0;
	if (sync_fd(fd) != 0)
		rc = sm_err_set(err, SM_EIO, "cache", "cannot write %s/%s: %s", b->dir, name, strerror(errno));
	if (close(fd) != 0 && !rc)
		rc = sm_err_set(err, SM_EIO, "cache", "cannot write %s/%s: %s", b->dir, name, strerror(errno));
	return rc;
}

static int write_all(int fd, const uint8_t *p, size_t n)
{
	for (size_t off = 0; off < n;) {
		ssize_t w = write(fd, p + off, n - off);
		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			return -1;
		off += (size_t)w;
	}
	return 0;
}

int cache_build_put(cache_build *b, const char *name, const void *p, size_t n, sm_err *err)
{
	int fd;
	int rc = cache_build_create(b, name, &fd, err);
	if (rc)
		return rc;
	if (write_all(fd, p, n) != 0) {
		rc = sm_err_set(err, SM_EIO, "cache", "cannot write %s/%s: %s", b->dir, name, strerror(errno));
		close(fd);
		return rc;
	}
	return cache_build_close_fd(b, name, fd, err);
}

int cache_build_keep(cache_build *b, const cache_gen *from, const char *name, sm_err *err)
{
	if (linkat(from->dirfd, name, b->dirfd, name, 0) == 0)
		return 0;
	/* a file system without hard links (FAT on an SD card): copy it */
	int in = -1, out = -1;
	int rc = open_in(from, name, &in, err);
	if (!rc)
		rc = cache_build_create(b, name, &out, err);
	char buf[65536];
	ssize_t r = 0;
	while (!rc && (r = read(in, buf, sizeof(buf))) != 0) {
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0 || write_all(out, (const uint8_t *)buf, (size_t)r) != 0)
			rc = sm_err_set(err, SM_EIO, "cache", "cannot copy %s: %s", name, strerror(errno));
	}
	if (in >= 0)
		close(in);
	if (out >= 0) {
		int crc = cache_build_close_fd(b, name, out, err);
		rc = rc ? rc : crc;
	}
	return rc;
}

/* Remove a generation directory and its files (they are flat). */
static void remove_gen(const char *dir, const char *name)
{
	char path[4200];
	snprintf(path, sizeof(path), "%s/%s", dir, name);
	int fd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC | O_NOFOLLOW);
	DIR *d = fd >= 0 ? fdopendir(fd) : NULL;
	if (!d) {
		if (fd >= 0)
			close(fd);
		return;
	}
	struct dirent *e;
	while ((e = readdir(d)))
		if (strcmp(e->d_name, ".") != 0 && strcmp(e->d_name, "..") != 0)
			unlinkat(fd, e->d_name, 0);
	closedir(d);
	rmdir(path);
}

void cache_build_abort(cache_build *b)
{
	if (b->dirfd >= 0)
		close(b->dirfd);
	b->dirfd = -1;
	if (b->tmp[0])
		remove_gen(b->dir, b->tmp);
	b->tmp[0] = '\0';
}

static int sync_dir_path(const char *dir)
{
	int dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	int r = dfd >= 0 ? sync_fd(dfd) : -1;
	if (dfd >= 0)
		close(dfd);
	return r;
}

int cache_build_commit(cache_build *b, uint64_t version, sm_err *err)
{
	char from[4300], to[4300], name[80], cur[4200], tmp[4200], prev[80] = "";
	int rc = 0;
	if (sync_fd(b->dirfd) != 0)
		rc = sm_err_set(err, SM_EIO, "cache", "cannot sync %s/%s: %s", b->dir, b->tmp, strerror(errno));
	/* the final name: the snapshot version (a floor for readers) and the random part of the temporary one */
	snprintf(name, sizeof(name), "g-%llu-%s", (unsigned long long)version, b->tmp + 3);
	snprintf(from, sizeof(from), "%s/%s", b->dir, b->tmp);
	snprintf(to, sizeof(to), "%s/%s", b->dir, name);
	if (!rc && rename(from, to) != 0)
		rc = sm_err_set(err, SM_EIO, "cache", "cannot rename %s: %s", from, strerror(errno));
	if (rc) {
		cache_build_abort(b);
		return rc;
	}
	close(b->dirfd);
	b->dirfd = -1;
	snprintf(b->tmp, sizeof(b->tmp), "%s", name); /* an abort from here on removes it */
	/* the generation's name is durable before CURRENT can name it */
	if (sync_dir_path(b->dir) != 0) {
		rc = sm_err_set(err, SM_EIO, "cache", "cannot sync the directory %s: %s", b->dir, strerror(errno));
		cache_build_abort(b);
		return rc;
	}
	/* the generation in force until now is kept one round more: a reader that opened it just before
	 * the switch reads it whole */
	cache_gen old;
	if (cache_gen_open(b->dir, &old, NULL) == 0) {
		snprintf(prev, sizeof(prev), "%s", old.name);
		cache_gen_close(&old);
	}
	/* CURRENT is written to a new temporary file (never through a link someone left there) and renamed */
	snprintf(cur, sizeof(cur), "%s/%s", b->dir, CACHE_CURRENT);
	snprintf(tmp, sizeof(tmp), "%s/.%s.XXXXXX", b->dir, CACHE_CURRENT);
	int fd = mkstemp(tmp);
	size_t len = strlen(name);
	name[len] = '\n';
	if (fd < 0 || fchmod(fd, 0644) != 0 || write_all(fd, (const uint8_t *)name, len + 1) != 0 || sync_fd(fd) != 0)
		rc = sm_err_set(err, SM_EIO, "cache", "cannot write %s: %s", tmp, strerror(errno));
	name[len] = '\0';
	if (fd >= 0 && close(fd) != 0 && !rc)
		rc = sm_err_set(err, SM_EIO, "cache", "cannot write %s: %s", tmp, strerror(errno));
	if (!rc && rename(tmp, cur) != 0)
		rc = sm_err_set(err, SM_EIO, "cache", "cannot rename %s: %s", tmp, strerror(errno));
	if (rc) {
		if (fd >= 0)
			unlink(tmp);
		cache_build_abort(b);
		return rc;
	}
	/* CURRENT names the new generation now: whatever fails from here on, it must stay */
	b->tmp[0] = '\0';
	if (sync_dir_path(b->dir) != 0)
		rc = sm_err_set(err, SM_EIO, "cache", "cannot sync the directory %s: %s", b->dir, strerror(errno));
	/* the others are unused now; leftovers of killed syncs too */
	DIR *d = opendir(b->dir);
	struct dirent *e;
	while (d && (e = readdir(d)))
		if ((strncmp(e->d_name, "g-", 2) == 0 || strncmp(e->d_name, ".g-", 3) == 0 ||
		     strncmp(e->d_name, ".CURRENT.", 9) == 0) &&
		    strcmp(e->d_name, name) != 0 && strcmp(e->d_name, prev) != 0) {
			if (e->d_name[1] == 'C')
				unlinkat(dirfd(d), e->d_name, 0);
			else
				remove_gen(b->dir, e->d_name);
		}
	if (d)
		closedir(d);
	return rc;
}

/* ---- answering from the cache ---- */

/*
 * The snapshot, once verified, as an index: every certificate decoded once, and an open-addressing
 * table from (vendor, model) to the certificates naming that model. Built at the first check, so that
 * a gateway answering many devices (a home, an estate) verifies the snapshot once per open cache.
 */
typedef struct cache_slot {
	uint64_t hash;
	uint32_t cert; /* index into certs + 1; 0: empty (a model in several certificates has a slot each) */
} cache_slot;

struct sm_cache {
	sm_trust trust;
	cache_map snap;
	uint64_t floor;
	bool indexed;
	sm_snapshot_info info;
	sm_cert **certs;
	size_t ncerts, capcerts;
	cache_slot *slots;
	size_t nslots; /* a power of two */
};

int sm_cache_read_trust(const cache_gen *g, const sm_anchor *a, sm_trust *out, sm_trust_chain *chain, sm_err *err)
{
	uint8_t *bytes = NULL;
	size_t n = 0;
	memset(chain, 0, sizeof(*chain));
	int rc = cache_gen_read(g, SM_CACHE_TRUST, SM_TRUST_CHAIN_MAX_SIZE, &bytes, &n, err);
	if (!rc)
		rc = sm_trust_chain_decode(bytes, n, chain, err);
	if (!rc)
		rc = sm_trust_follow(a, chain, out, NULL, NULL, err);
	if (rc && rc != SM_ENOMEM && rc != SM_EIO)
		rc = sm_err_wrap(err, SM_EVERIFY, "cache", "the cached trust chain");
	if (rc)
		sm_trust_chain_cleanup(chain);
	free(bytes);
	return rc;
}

int sm_cache_open(const char *dir, const sm_anchor *anchor, sm_cache **out, sm_err *err)
{
	cache_gen g;
	sm_trust_chain chain = { 0 };
	sm_cache *c = calloc(1, sizeof(*c));
	*out = NULL;
	if (!c)
		return sm_err_set(err, SM_ENOMEM, NULL, "out of memory");
	int rc = cache_gen_open(dir, &g, err);
	if (rc == SM_ENOTFOUND)
		sm_err_set(err, rc, "cache", "no synced registry data in %s: run 'starmark sync' first", dir);
	if (!rc)
		rc = sm_cache_read_trust(&g, anchor, &c->trust, &chain, err);
	if (!rc)
		rc = cache_gen_map(&g, SM_CACHE_SNAPSHOT, SM_SNAPSHOT_MAX, &c->snap, err);
	c->floor = g.floor;
	sm_trust_chain_cleanup(&chain);
	cache_gen_close(&g);
	if (rc) {
		sm_cache_close(c);
		return rc;
	}
	*out = c;
	return 0;
}

void sm_cache_close(sm_cache *c)
{
	if (!c)
		return;
	for (size_t i = 0; i < c->ncerts; i++)
		sm_cert_free(c->certs[i]);
	free(c->certs);
	free(c->slots);
	cache_unmap(&c->snap);
	free(c);
}

const sm_trust *sm_cache_trust(const sm_cache *c)
{
	return &c->trust;
}

#define CACHE_MATCH_MAX 4096

static uint64_t key_hash(const char *vendor, const char *model)
{
	uint64_t h = 1469598103934665603ull;
	for (const char *p = vendor; *p; p++)
		h = (h ^ (uint8_t)*p) * 1099511628211ull;
	h = (h ^ 0xff) * 1099511628211ull;
	for (const char *p = model; *p; p++)
		h = (h ^ (uint8_t)*p) * 1099511628211ull;
	return h | 1; /* never 0 */
}

static int collect_all(void *ctx, sm_cert *c)
{
	sm_cache *sc = ctx;
	if (sc->ncerts == sc->capcerts) {
		size_t cap = sc->capcerts ? sc->capcerts * 2 : 1024;
		sm_cert **v = cap < UINT32_MAX ? realloc(sc->certs, cap * sizeof(*v)) : NULL;
		if (!v) {
			sm_cert_free(c);
			return SM_ENOMEM;
		}
		sc->certs = v;
		sc->capcerts = cap;
	}
	sc->certs[sc->ncerts++] = c;
	return 0;
}

/* Verify the snapshot once and index its certificates by (vendor, model). */
static int build_index(sm_cache *c, sm_err *err)
{
	size_t entries = 0;
	int rc = sm_snapshot_verify(c->snap.p, c->snap.n, &c->trust, &c->info, collect_all, c, err);
	if (rc == SM_ENOMEM)
		sm_err_set(err, rc, NULL, "out of memory");
	if (!rc)
		rc = sm_cache_floor_check(&c->info, c->floor, err);
	for (size_t i = 0; !rc && i < c->ncerts; i++)
		entries += c->certs[i]->nmodels;
	for (c->nslots = 64; !rc && c->nslots < entries * 2; c->nslots *= 2)
		;
	if (!rc && !(c->slots = calloc(c->nslots, sizeof(*c->slots))))
		rc = sm_err_set(err, SM_ENOMEM, NULL, "out of memory");
	for (size_t i = 0; !rc && i < c->ncerts; i++) {
		const sm_cert *cert = c->certs[i];
		for (size_t m = 0; m < cert->nmodels; m++) {
			uint64_t h = key_hash(cert->vendor, cert->models[m]);
			size_t at = h & (c->nslots - 1);
			while (c->slots[at].cert)
				at = (at + 1) & (c->nslots - 1);
			c->slots[at].hash = h;
			c->slots[at].cert = (uint32_t)i + 1;
		}
	}
	c->indexed = !rc;
	if (rc) { /* a later check tries again from nothing */
		for (size_t i = 0; i < c->ncerts; i++)
			sm_cert_free(c->certs[i]);
		c->ncerts = 0;
		free(c->slots);
		c->slots = NULL;
	}
	return rc;
}

/* The certificates naming vendor and model, into m (borrowed pointers, at most cap); returns how many
 * there are (up to CACHE_MATCH_MAX), which may be more than cap. */
static size_t lookup(const sm_cache *c, const char *vendor, const char *model, sm_cert **m, size_t cap)
{
	uint64_t h = key_hash(vendor, model);
	size_t n = 0;
	for (size_t at = h & (c->nslots - 1); c->slots[at].cert; at = (at + 1) & (c->nslots - 1)) {
		if (c->slots[at].hash != h)
			continue;
		sm_cert *cert = c->certs[c->slots[at].cert - 1];
		if (strcmp(cert->vendor, vendor) != 0 || n == CACHE_MATCH_MAX)
			continue;
		for (size_t i = 0; i < cert->nmodels; i++)
			if (strcmp(cert->models[i], model) == 0) {
				if (n < cap)
					m[n] = cert;
				n++;
				break;
			}
	}
	return n;
}

/* The generation's name records the version it was written for: an older snapshot put in its place
 * is a rollback (the name only ever makes this stricter: whatever is newer is still verified). */
int sm_cache_floor_check(const sm_snapshot_info *si, uint64_t floor, sm_err *err)
{
	if (si->version >= floor)
		return 0;
	return sm_err_set(err, SM_EVERIFY, "cache",
			  "the cached snapshot is version %llu, older than version %llu kept: refused (rollback)",
			  (unsigned long long)si->version, (unsigned long long)floor);
}

int sm_cache_check(sm_cache *c, const sm_check_req *q, const sm_policy *p, int64_t now, sm_check_result *res,
                   sm_snapshot_info *info, sm_err *err)
{
	memset(res, 0, sizeof(*res));
	int rc = c->indexed ? 0 : build_index(c, err);
	if (rc)
		return rc;
	const sm_snapshot_info *si = &c->info;
	if (now > si->expires) {
		char exp[21], msg[128];
		sm_time_format(si->expires, exp);
		snprintf(msg, sizeof(msg), "the cached snapshot (version %llu) expired at %s: sync again",
		         (unsigned long long)si->version, exp);
		rc = sm_verdict_unknown(q, p, "snapshot_expired", msg, res);
	} else {
		/* a model is in one certificate or a few: on the stack; the rare many on the heap */
		sm_cert *few[16], **m = few;
		size_t n = lookup(c, q->vendor, q->model, few, 16);
		if (n > 16 && !(m = malloc(n * sizeof(*m))))
			return sm_err_set(err, SM_ENOMEM, NULL, "out of memory");
		if (n > 16)
			lookup(c, q->vendor, q->model, m, n);
		rc = sm_verdict_eval(q, p, m, n, si->next_update, now, res);
		if (m != few)
			free(m);
	}
	if (!rc && info)
		*info = *si;
	return rc;
}

int sm_cache_info(sm_cache *c, sm_snapshot_info *out, sm_err *err)
{
	int rc = c->indexed ? 0 : build_index(c, err);
	if (!rc)
		*out = c->info;
	return rc;
}

struct one {
	const char *id;
	sm_cert *found;
};

static int find_one(void *ctx, sm_cert *c)
{
	struct one *o = ctx;
	if (!o->found && strcmp(c->id, o->id) == 0)
		o->found = c;
	else
		sm_cert_free(c);
	return 0;
}

int sm_cache_get(sm_cache *c, const char *id, sm_cert **out, sm_snapshot_info *info, sm_err *err)
{
	sm_snapshot_info si;
	struct one o = {id, NULL};
	*out = NULL;
	int rc = sm_snapshot_verify(c->snap.p, c->snap.n, &c->trust, &si, find_one, &o, err);
	if (rc == SM_ENOMEM)
		sm_err_set(err, rc, NULL, "out of memory");
	if (!rc)
		rc = sm_cache_floor_check(&si, c->floor, err);
	if (rc) {
		sm_cert_free(o.found);
		return rc;
	}
	if (info)
		*info = si;
	*out = o.found;
	return 0;
}

int sm_label_lookup_cache(void *ctx, const char *id, sm_label_record *out, sm_err *err)
{
	sm_snapshot_info si;
	memset(out, 0, sizeof(*out));
	snprintf(out->source, sizeof(out->source), "the synced snapshot");
	int rc = sm_cache_get(ctx, id, &out->cert, &si, err);
	if (rc)
		return rc;
	snprintf(out->source, sizeof(out->source), "the synced snapshot version %llu", (unsigned long long)si.version);
	out->next_update = si.next_update;
	out->expires = si.expires;
	return 0;
}
