/* SPDX-License-Identifier: Apache-2.0 */
/* sync: fetch, verify and keep the newest snapshot, checkpoint and trust; cache: answer from them offline. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "starmark/codec.h"
#include "starmark/cose.h"
#include "starmark/json.h"
#include "starmark/keys.h"
#include "starmark/sync.h"

/* ---- files of the cache ---- */

static int path_of(const char *dir, const char *name, char *out, size_t cap, sm_err *err)
{
	int n = snprintf(out, cap, "%s/%s", dir, name);
	if (n < 0 || (size_t)n >= cap)
		return sm_err_set(err, SM_EINVAL, "cache", "the cache directory path is too long");
	return 0;
}

/*
 * Read a whole small file of the cache into a NUL-terminated buffer; SM_ENOTFOUND when it is not
 * there. Other failures name the cache, and a cache file that is there but no regular file is a
 * broken cache (SM_EIO), not bad input.
 */
static int slurp(const char *dir, const char *name, size_t max, uint8_t **out, size_t *n, sm_err *err)
{
	char path[4096];
	int rc = path_of(dir, name, path, sizeof(path), err);
	if (rc)
		return rc;
	rc = sm_file_read(path, max, out, n, err);
	if (rc == 0 || rc == SM_ENOTFOUND || rc == SM_ENOMEM)
		return rc;
	char msg[SM_ERR_MSG_MAX];
	snprintf(msg, sizeof(msg), "%s", err ? err->msg : "");
	return sm_err_set(err, rc == SM_EINVAL ? SM_EIO : rc, "cache", "%s", msg);
}

static int sync_dir(const char *dir)
{
	int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0)
		return -1;
	int r = fsync(fd);
	close(fd);
	return r;
}

/* A temporary file in the cache directory, to be renamed over `name` once complete. */
static int temp_open(const char *dir, const char *name, char *tmp, size_t cap, int *fd, sm_err *err)
{
	char base[64];
	snprintf(base, sizeof(base), ".%s.XXXXXX", name);
	int rc = path_of(dir, base, tmp, cap, err);
	if (rc)
		return rc;
	*fd = mkstemp(tmp);
	if (*fd < 0)
		return sm_err_set(err, SM_EIO, "cache", "cannot create a file in %s: %s", dir,
		                  strerror(errno));
	return 0;
}

/* fsync, 0644 (the cache holds public data), rename over dir/name, sync the directory. Closes fd. */
static int temp_commit(const char *dir, const char *name, const char *tmp, int fd, sm_err *err)
{
	char path[4096];
	int rc = path_of(dir, name, path, sizeof(path), err);
	if (!rc && (fchmod(fd, 0644) != 0 || fsync(fd) != 0))
		rc = sm_err_set(err, SM_EIO, "cache", "cannot write %s: %s", tmp, strerror(errno));
	if (close(fd) != 0 && !rc)
		rc = sm_err_set(err, SM_EIO, "cache", "cannot write %s: %s", tmp, strerror(errno));
	if (!rc && rename(tmp, path) != 0)
		rc = sm_err_set(err, SM_EIO, "cache", "cannot rename %s to %s: %s", tmp, path,
		                strerror(errno));
	if (!rc && sync_dir(dir) != 0)
		rc = sm_err_set(err, SM_EIO, "cache", "cannot sync the directory %s: %s", dir,
		                strerror(errno));
	if (rc)
		unlink(tmp);
	return rc;
}

static int store(const char *dir, const char *name, const void *p, size_t n, sm_err *err)
{
	char tmp[4096];
	int fd = -1;
	int rc = temp_open(dir, name, tmp, sizeof(tmp), &fd, err);
	if (rc)
		return rc;
	for (size_t off = 0; off < n;) {
		ssize_t w = write(fd, (const uint8_t *)p + off, n - off);
		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0) {
			rc = sm_err_set(err, SM_EIO, "cache", "cannot write %s: %s", tmp,
			                strerror(w < 0 ? errno : EIO));
			close(fd);
			unlink(tmp);
			return rc;
		}
		off += (size_t)w;
	}
	return temp_commit(dir, name, tmp, fd, err);
}

/* A read-only mapping of a file (a snapshot may be far larger than memory should hold). */
typedef struct mapping {
	uint8_t *p;
	size_t n;
} mapping;

static int map_fd(int fd, const char *what, mapping *m, sm_err *err)
{
	struct stat st;
	m->p = NULL;
	m->n = 0;
	if (fstat(fd, &st) != 0)
		return sm_err_set(err, SM_EIO, "snapshot", "cannot stat %s: %s", what, strerror(errno));
	if ((uint64_t)st.st_size > SM_SNAPSHOT_MAX)
		return sm_err_set(err, SM_ETOOBIG, "snapshot", "%s is larger than %u bytes", what,
		                  SM_SNAPSHOT_MAX);
	if (st.st_size == 0)
		return sm_err_set(err, SM_EINVAL, "snapshot", "%s is empty", what);
	void *p = mmap(NULL, (size_t)st.st_size, PROT_READ, MAP_PRIVATE, fd, 0);
	if (p == MAP_FAILED)
		return sm_err_set(err, SM_EIO, "snapshot", "cannot map %s: %s", what, strerror(errno));
	m->p = p;
	m->n = (size_t)st.st_size;
	return 0;
}

static int map_file(const char *dir, const char *name, mapping *m, sm_err *err)
{
	char path[4096];
	int rc = path_of(dir, name, path, sizeof(path), err);
	if (rc)
		return rc;
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return errno == ENOENT
		           ? sm_err_set(err, SM_ENOTFOUND, "cache", "%s is missing", path)
		           : sm_err_set(err, SM_EIO, "cache", "cannot open %s: %s", path, strerror(errno));
	rc = map_fd(fd, path, m, err);
	close(fd);
	return rc;
}

static void unmap(mapping *m)
{
	if (m->p)
		munmap(m->p, m->n);
	m->p = NULL;
	m->n = 0;
}

/* ---- pure decisions ---- */

int sm_sync_trust_pinned(const uint8_t *bundle, size_t n, sm_trust *out, sm_err *err)
{
	sm_cose *c = NULL;
	sm_trust *named = malloc(sizeof(*named));
	size_t pn;
	int rc = named ? 0 : sm_err_set(err, SM_ENOMEM, NULL, "out of memory");
	if (!rc && n > SM_TRUST_MAX_SIZE)
		rc = sm_err_set(err, SM_ETOOBIG, "trust", "a trust bundle of %zu bytes is too large", n);
	if (!rc)
		rc = sm_cose_decode(bundle, n, &c, err);
	/* the root the bundle names is the one provisioned: the signature must be by it */
	if (!rc) {
		const uint8_t *payload = sm_cose_payload(c, &pn);
		rc = sm_trust_decode(payload, pn, named, err);
	}
	if (!rc)
		rc = sm_trust_verify(bundle, n, NULL, named->root, out, err);
	sm_cose_free(c);
	free(named);
	return rc;
}

int sm_sync_trust_next(const sm_trust *cur, const uint8_t *cur_bytes, size_t cur_n, const uint8_t *got,
                       size_t n, sm_trust *out, bool *changed, sm_err *err)
{
	*changed = false;
	if (n == cur_n && memcmp(cur_bytes, got, n) == 0) {
		if (out != cur)
			memcpy(out, cur, sizeof(*out));
		return 0;
	}
	if (n > SM_TRUST_MAX_SIZE)
		return sm_err_set(err, SM_ETOOBIG, "trust", "a trust bundle of %zu bytes is too large", n);
	sm_trust *t = malloc(sizeof(*t));
	if (!t)
		return sm_err_set(err, SM_ENOMEM, NULL, "out of memory");
	int rc = sm_trust_verify(got, n, cur, NULL, t, err);
	if (rc == SM_EINVAL) /* unreadable bytes where a bundle belongs: not genuine either */
		rc = SM_EVERIFY;
	if (rc && err)
		err->code = rc;
	if (!rc) {
		memcpy(out, t, sizeof(*out));
		*changed = true;
	}
	free(t);
	return rc;
}

int sm_sync_snapshot_accept(const uint8_t *snap, size_t n, const sm_trust *trust,
                            const sm_snapshot_info *cached, const uint8_t cached_sha256[32], int64_t now,
                            sm_snapshot_info *out, bool *same, sm_err *err)
{
	sm_snapshot_info info;
	char exp[21];
	*same = false;
	int rc = sm_snapshot_verify(snap, n, trust, &info, NULL, NULL, err);
	if (rc)
		return rc;
	if (cached && info.version < cached->version)
		return sm_err_set(err, SM_EVERIFY, "snapshot",
		                  "the server offers snapshot version %llu, older than version %llu kept: "
		                  "refused (rollback)",
		                  (unsigned long long)info.version, (unsigned long long)cached->version);
	if (cached && info.version == cached->version) {
		uint8_t h[32];
		sm_sha256(snap, n, h);
		if (!cached_sha256 || memcmp(h, cached_sha256, 32) != 0)
			return sm_err_set(
			    err, SM_EVERIFY, "snapshot",
			    "the server offers another snapshot with the version %llu kept: refused",
			    (unsigned long long)info.version);
		*same = true;
	}
	if (now > info.expires) {
		sm_time_format(info.expires, exp);
		return sm_err_set(
		    err, SM_EVERIFY, "snapshot",
		    "snapshot version %llu expired at %s: refused (the registry data is frozen or the clock "
		    "is wrong)",
		    (unsigned long long)info.version, exp);
	}
	*out = info;
	return 0;
}

int sm_sync_consistent(uint64_t old_size, const uint8_t old_root[SM_HASH_LEN], uint64_t new_size,
                       const uint8_t new_root[SM_HASH_LEN], const uint8_t proof[][SM_HASH_LEN], size_t n,
                       sm_err *err)
{
	if (new_size < old_size)
		return sm_err_set(err, SM_EVERIFY, "checkpoint", "the log shrank from %llu to %llu entries",
		                  (unsigned long long)old_size, (unsigned long long)new_size);
	if (new_size == old_size) {
		if (memcmp(old_root, new_root, SM_HASH_LEN) != 0)
			return sm_err_set(err, SM_EVERIFY, "checkpoint",
			                  "two different logs of %llu entries (a fork)",
			                  (unsigned long long)old_size);
		return 0;
	}
	if (old_size == 0)
		return 0;
	if (sm_merkle_verify_consistency(old_size, new_size, old_root, new_root, proof, n) != 0)
		return sm_err_set(
		    err, SM_EVERIFY, "checkpoint",
		    "the log of %llu entries is not an extension of the one of %llu entries (a fork)",
		    (unsigned long long)new_size, (unsigned long long)old_size);
	return 0;
}

int sm_trust_log_vkey(const sm_trust *t, char **out, sm_err *err)
{
	const sm_trust_key *k = sm_trust_current(t, SM_ROLE_LOG);
	sm_key *pub = NULL;
	if (!k || sm_key_from_public(k->pub, &pub) != 0)
		return sm_err_set(err, SM_EKEY, "trust", "the trust bundle has no usable log key");
	*out = sm_note_vkey(t->origin, pub);
	sm_key_free(pub);
	return *out ? 0 : sm_err_set(err, SM_ENOMEM, NULL, "out of memory");
}

/* A checkpoint by any log key of the bundle (a kept one may be by a key rotated out since). */
static int checkpoint_verify(const sm_trust *t, const char *text, size_t n, sm_checkpoint *out, sm_err *err)
{
	int rc = sm_err_set(err, SM_EVERIFY, "checkpoint", "the trust bundle has no log key");
	for (size_t i = 0; i < t->nkeys; i++) {
		sm_key *pub = NULL;
		char *vkey = NULL;
		if (t->keys[i].role != SM_ROLE_LOG || sm_key_from_public(t->keys[i].pub, &pub) != 0)
			continue;
		vkey = sm_note_vkey(t->origin, pub);
		sm_key_free(pub);
		if (!vkey)
			return sm_err_set(err, SM_ENOMEM, NULL, "out of memory");
		rc = sm_checkpoint_verify(text, n, vkey, out, err);
		free(vkey);
		if (rc == 0 || rc == SM_EINVAL || rc == SM_ETOOBIG)
			break;
	}
	if (!rc && strcmp(out->origin, t->origin) != 0)
		rc = sm_err_set(err, SM_EVERIFY, "checkpoint",
		                "the checkpoint is of the log %.80s, not %.80s", out->origin, t->origin);
	return rc;
}

/* ---- sync ---- */

/* The trust a verifier holds: the provisioned bundle, or the cached one when it is a later successor. */
static int held_trust(const char *dir, const uint8_t *pinned, size_t pinned_n, sm_trust *out, uint8_t **bytes,
                      size_t *len, bool *from_cache, sm_err *err)
{
	uint8_t *cached = NULL;
	size_t cn = 0;
	bool changed = false;
	sm_trust *old = NULL;
	*from_cache = false;
	int rc = sm_sync_trust_pinned(pinned, pinned_n, out, err);
	if (rc) {
		char msg[SM_ERR_MSG_MAX];
		snprintf(msg, sizeof(msg), "%s", err ? err->msg : "");
		return sm_err_set(err, rc == SM_EINVAL ? SM_EINVAL : SM_EVERIFY, "trust",
		                  "the provisioned trust bundle does not verify: %s", msg);
	}
	rc = dir ? slurp(dir, SM_CACHE_TRUST, SM_TRUST_MAX_SIZE, &cached, &cn, err) : SM_ENOTFOUND;
	if (rc == SM_ENOTFOUND) {
		sm_err_clear(err);
		if (!(*bytes = malloc(pinned_n ? pinned_n : 1)))
			return sm_err_set(err, SM_ENOMEM, NULL, "out of memory");
		memcpy(*bytes, pinned, pinned_n);
		*len = pinned_n;
		return 0;
	}
	if (rc)
		return rc;
	if (!(old = malloc(sizeof(*old)))) {
		rc = sm_err_set(err, SM_ENOMEM, NULL, "out of memory");
		goto out;
	}
	if (sm_sync_trust_next(out, pinned, pinned_n, cached, cn, old, &changed, NULL) == 0) {
		if (changed)
			memcpy(out, old, sizeof(*out));
		*bytes = cached;
		*len = cn;
		*from_cache = true;
		cached = NULL;
	} else if (sm_trust_verify(cached, cn, NULL, out->root, old, NULL) == 0 &&
	           old->version < out->version) {
		/* provisioned again with a later bundle than the one cached: that one wins */
		if (!(*bytes = malloc(pinned_n))) {
			rc = sm_err_set(err, SM_ENOMEM, NULL, "out of memory");
			goto out;
		}
		memcpy(*bytes, pinned, pinned_n);
		*len = pinned_n;
	} else {
		rc = sm_err_set(
		    err, SM_EVERIFY, "trust",
		    "the cached %s/%s does not follow the provisioned trust bundle (version %llu): remove it",
		    dir, SM_CACHE_TRUST, (unsigned long long)out->version);
	}
out:
	free(old);
	free(cached);
	return rc;
}

struct sync_state {
	sm_trust *trust;
	uint8_t *trust_bytes, *new_trust_bytes;
	size_t trust_n, new_trust_n;
	mapping cached, fresh;
	sm_snapshot_info cached_info;
	bool have_cached;
	uint8_t cached_sha[32];
	char tmp[4096];
	int tmp_fd;
	bool trust_cached;
	uint8_t *etag, *old_cp;
	size_t etag_n, old_cp_n;
	char *cp_text;
	size_t cp_n;
	int lock_fd;
};

/* GET the consistency proof between two sizes and check it; a no-op for equal sizes or an empty old tree. */
static int fetch_consistent(sm_client *c, uint64_t s1, const uint8_t r1[SM_HASH_LEN], uint64_t s2,
                            const uint8_t r2[SM_HASH_LEN], sm_err *err)
{
	uint8_t proof[SM_MERKLE_MAX_CONSISTENCY][SM_HASH_LEN];
	size_t n = 0;
	sm_response resp;
	json_t *j = NULL;
	char path[128];
	int rc = 0;
	if (s1 > s2 || s1 == s2 || s1 == 0)
		return sm_sync_consistent(s1, r1, s2, r2, (const uint8_t(*)[SM_HASH_LEN])proof, 0, err);
	snprintf(path, sizeof(path), "/v1/log/proof/consistency?from=%llu&to=%llu", (unsigned long long)s1,
	         (unsigned long long)s2);
	if ((rc = sm_client_get(c, path, &resp, err)))
		goto out;
	j = json_loadb((const char *)resp.body, resp.len, JSON_REJECT_DUPLICATES, NULL);
	json_t *a = json_object_get(j, "proof");
	if (!json_is_array(a) || json_array_size(a) > SM_MERKLE_MAX_CONSISTENCY) {
		rc = sm_err_set(err, SM_EVERIFY, "proof",
		                "the server's consistency proof %llu..%llu is malformed",
		                (unsigned long long)s1, (unsigned long long)s2);
		goto out;
	}
	for (n = 0; n < json_array_size(a); n++) {
		const char *b = json_string_value(json_array_get(a, n));
		uint8_t *h = NULL;
		size_t hn = 0;
		if (!b || sm_base64_decode(b, strlen(b), &h, &hn, NULL) != 0 || hn != SM_HASH_LEN) {
			free(h);
			rc = sm_err_set(err, SM_EVERIFY, "proof",
			                "hash %zu of the consistency proof is not 32 bytes of base64", n);
			goto out;
		}
		memcpy(proof[n], h, SM_HASH_LEN);
		free(h);
	}
	rc = sm_sync_consistent(s1, r1, s2, r2, (const uint8_t(*)[SM_HASH_LEN])proof, n, err);
out:
	json_decref(j);
	sm_response_cleanup(&resp);
	return rc;
}

static int sync_trust(sm_client *c, struct sync_state *s, sm_sync_report *rep, sm_err *err)
{
	sm_response resp;
	int rc = sm_client_get(c, "/v1/trust", &resp, err);
	if (!rc && (rc = sm_sync_trust_next(s->trust, s->trust_bytes, s->trust_n, resp.body, resp.len,
	                                    s->trust, &rep->trust_changed, err))) {
		char msg[SM_ERR_MSG_MAX];
		snprintf(msg, sizeof(msg), "%s", err ? err->msg : "");
		sm_err_set(err, rc, "trust", "the server's trust bundle is refused: %s", msg);
	}
	if (!rc && rep->trust_changed) {
		s->new_trust_bytes = resp.body;
		s->new_trust_n = resp.len;
		resp.body = NULL;
	}
	rep->trust_version = s->trust->version;
	sm_response_cleanup(&resp);
	return rc;
}

static int sync_snapshot(sm_client *c, const char *dir, struct sync_state *s, int64_t now,
                         sm_sync_report *rep, sm_err *err)
{
	sm_response resp = {0};
	int rc = map_file(dir, SM_CACHE_SNAPSHOT, &s->cached, err);
	if (rc == 0) {
		if ((rc = sm_snapshot_verify(s->cached.p, s->cached.n, s->trust, &s->cached_info, NULL, NULL,
		                             err))) {
			char msg[SM_ERR_MSG_MAX];
			snprintf(msg, sizeof(msg), "%s", err ? err->msg : "");
			return sm_err_set(err, SM_EVERIFY, "cache",
			                  "the cached %s/%s does not verify (%s): remove it to start "
			                  "over",
			                  dir, SM_CACHE_SNAPSHOT, msg);
		}
		s->have_cached = true;
		sm_sha256(s->cached.p, s->cached.n, s->cached_sha);
		rep->old_version = s->cached_info.version;
		if (slurp(dir, SM_CACHE_ETAG, 120, &s->etag, &s->etag_n, NULL) != 0)
			s->etag = NULL;
	} else if (rc != SM_ENOTFOUND) {
		return rc;
	}
	sm_err_clear(err);
	if ((rc = temp_open(dir, SM_CACHE_SNAPSHOT, s->tmp, sizeof(s->tmp), &s->tmp_fd, err)))
		return rc;
	rc = sm_client_get_file(c, "/v1/snapshot", s->have_cached ? (const char *)s->etag : NULL, s->tmp_fd,
	                        SM_SNAPSHOT_MAX, &resp, err);
	if (!rc && resp.status == 304 && !s->have_cached)
		rc = sm_err_set(err, SM_EIO, "snapshot",
		                "the server answered 304 Not Modified to a request for a snapshot");
	if (!rc && resp.status == 304) {
		bool same;
		rep->snapshot = s->cached_info;
		rc = sm_sync_snapshot_accept(s->cached.p, s->cached.n, s->trust, &s->cached_info,
		                             s->cached_sha, now, &rep->snapshot, &same, err);
	} else if (!rc) {
		bool same = false;
		if (!(rc = map_fd(s->tmp_fd, "the downloaded snapshot", &s->fresh, err)))
			rc = sm_sync_snapshot_accept(s->fresh.p, s->fresh.n, s->trust,
			                             s->have_cached ? &s->cached_info : NULL, s->cached_sha,
			                             now, &rep->snapshot, &same, err);
		rep->snapshot_changed = !rc && !same;
		if (!rc && resp.etag[0] && !(s->etag = (uint8_t *)strdup(resp.etag)))
			rc = sm_err_set(err, SM_ENOMEM, NULL, "out of memory");
		else if (!rc && !resp.etag[0])
			s->etag = NULL;
		if (s->etag)
			s->etag_n = strlen((const char *)s->etag);
	}
	sm_response_cleanup(&resp);
	return rc;
}

static int sync_checkpoint(sm_client *c, const char *dir, struct sync_state *s, sm_sync_report *rep,
                           sm_err *err)
{
	sm_response resp;
	sm_checkpoint old, cur;
	int rc = sm_client_get(c, "/v1/log/checkpoint", &resp, err);
	if (rc)
		goto out;
	if ((rc = checkpoint_verify(s->trust, (const char *)resp.body, resp.len, &cur, err))) {
		char msg[SM_ERR_MSG_MAX];
		snprintf(msg, sizeof(msg), "%s", err ? err->msg : "");
		rc = sm_err_set(err, SM_EVERIFY, "checkpoint", "the server's checkpoint does not verify: %s",
		                msg);
		goto out;
	}
	rep->log_size = cur.size;
	if (slurp(dir, SM_CACHE_CHECKPOINT, SM_CHECKPOINT_MAX, &s->old_cp, &s->old_cp_n, NULL) == 0) {
		if (checkpoint_verify(s->trust, (const char *)s->old_cp, s->old_cp_n, &old, NULL) != 0) {
			rc = sm_err_set(err, SM_EVERIFY, "cache",
			                "the cached %s/%s does not verify: remove it to start over", dir,
			                SM_CACHE_CHECKPOINT);
			goto out;
		}
		rep->had_checkpoint = true;
		rep->old_log_size = old.size;
		if ((rc = fetch_consistent(c, old.size, old.root, cur.size, cur.root, err)))
			goto out;
	}
	/* the snapshot's own log size and root (signed by the status key) belong to the same log */
	const sm_snapshot_info *si = &rep->snapshot;
	if (si->log_size <= cur.size)
		rc = fetch_consistent(c, si->log_size, si->log_root, cur.size, cur.root, err);
	else
		rc = fetch_consistent(c, cur.size, cur.root, si->log_size, si->log_root, err);
	if (!rc) {
		s->cp_text = (char *)resp.body;
		s->cp_n = resp.len;
		resp.body = NULL;
	}
out:
	sm_response_cleanup(&resp);
	return rc;
}

static int lock_dir(const char *dir, int *fd, sm_err *err)
{
	char path[4096];
	int rc = path_of(dir, ".lock", path, sizeof(path), err);
	if (rc)
		return rc;
	if (mkdir(dir, 0755) != 0 && errno != EEXIST)
		return sm_err_set(err, SM_EIO, "cache", "cannot create the cache directory %s: %s", dir,
		                  strerror(errno));
	*fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0644);
	if (*fd < 0)
		return sm_err_set(err, SM_EIO, "cache", "cannot open %s: %s", path, strerror(errno));
	if (flock(*fd, LOCK_EX | LOCK_NB) != 0)
		return sm_err_set(err, SM_EIO, "cache", "another sync is running on %s", dir);
	return 0;
}

int sm_sync_run(sm_client *c, const char *cache_dir, const uint8_t *pinned_trust, size_t pinned_n,
                int64_t now, sm_sync_report *rep, sm_err *err)
{
	struct sync_state s;
	memset(&s, 0, sizeof(s));
	memset(rep, 0, sizeof(*rep));
	s.tmp_fd = -1;
	s.lock_fd = -1;
	int rc = lock_dir(cache_dir, &s.lock_fd, err);
	if (!rc && !(s.trust = malloc(sizeof(*s.trust))))
		rc = sm_err_set(err, SM_ENOMEM, NULL, "out of memory");
	if (!rc)
		rc = held_trust(cache_dir, pinned_trust, pinned_n, s.trust, &s.trust_bytes, &s.trust_n,
		                &s.trust_cached, err);
	if (!rc)
		rc = sync_trust(c, &s, rep, err);
	if (!rc)
		rc = sync_snapshot(c, cache_dir, &s, now, rep, err);
	if (!rc)
		rc = sync_checkpoint(c, cache_dir, &s, rep, err);
	/* every check passed: keep them, the trust first (it verifies the older files and the newer) */
	if (!rc && s.new_trust_bytes)
		rc = store(cache_dir, SM_CACHE_TRUST, s.new_trust_bytes, s.new_trust_n, err);
	else if (!rc && !s.trust_cached) /* the first sync keeps the bundle it started from */
		rc = store(cache_dir, SM_CACHE_TRUST, s.trust_bytes, s.trust_n, err);
	if (!rc && (s.old_cp_n != s.cp_n || memcmp(s.old_cp, s.cp_text, s.cp_n) != 0))
		rc = store(cache_dir, SM_CACHE_CHECKPOINT, s.cp_text, s.cp_n, err);
	if (!rc && rep->snapshot_changed) {
		rc = temp_commit(cache_dir, SM_CACHE_SNAPSHOT, s.tmp, s.tmp_fd, err);
		s.tmp_fd = -1;
		if (!rc && s.etag)
			rc = store(cache_dir, SM_CACHE_ETAG, s.etag, s.etag_n, err);
	}
	unmap(&s.cached);
	unmap(&s.fresh);
	if (s.tmp_fd >= 0) {
		close(s.tmp_fd);
		unlink(s.tmp);
	}
	if (s.lock_fd >= 0)
		close(s.lock_fd);
	free(s.trust);
	free(s.trust_bytes);
	free(s.new_trust_bytes);
	free(s.etag);
	free(s.old_cp);
	free(s.cp_text);
	return rc;
}

/* ---- the cache, offline ---- */

struct sm_cache {
	sm_trust trust;
	mapping snap;
};

int sm_cache_open(const char *dir, const uint8_t *pinned_trust, size_t pinned_n, sm_cache **out, sm_err *err)
{
	uint8_t *bytes = NULL;
	size_t n = 0;
	int rc = 0;
	sm_cache *c = calloc(1, sizeof(*c));
	*out = NULL;
	if (!c)
		return sm_err_set(err, SM_ENOMEM, NULL, "out of memory");
	bool from_cache;
	if (pinned_trust) {
		rc = held_trust(dir, pinned_trust, pinned_n, &c->trust, &bytes, &n, &from_cache, err);
	} else if (!(rc = slurp(dir, SM_CACHE_TRUST, SM_TRUST_MAX_SIZE, &bytes, &n, err))) {
		rc = sm_sync_trust_pinned(bytes, n, &c->trust, err);
	}
	if (!rc)
		rc = map_file(dir, SM_CACHE_SNAPSHOT, &c->snap, err);
	if (rc == SM_ENOTFOUND)
		sm_err_set(err, rc, "cache", "no synced registry data in %s: run 'starmark sync' first", dir);
	free(bytes);
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
	unmap(&c->snap);
	free(c);
}

const sm_trust *sm_cache_trust(const sm_cache *c)
{
	return &c->trust;
}

#define CACHE_MATCH_MAX 4096

struct matches {
	const char *vendor, *model;
	sm_cert **v;
	size_t n;
};

static int collect_match(void *ctx, sm_cert *c)
{
	struct matches *m = ctx;
	bool hit = strcmp(c->vendor, m->vendor) == 0;
	size_t i;
	for (i = 0; hit && i < c->nmodels && strcmp(c->models[i], m->model) != 0; i++)
		;
	if (!hit || i == c->nmodels || m->n == CACHE_MATCH_MAX) {
		sm_cert_free(c);
		return 0;
	}
	sm_cert **v = realloc(m->v, (m->n + 1) * sizeof(*v));
	if (!v) {
		sm_cert_free(c);
		return SM_ENOMEM;
	}
	m->v = v;
	m->v[m->n++] = c;
	return 0;
}

int sm_cache_check(sm_cache *c, const sm_check_req *q, const sm_policy *p, int64_t now, sm_check_result *res,
                   sm_snapshot_info *info, sm_err *err)
{
	sm_snapshot_info si;
	struct matches m = {q->vendor, q->model, NULL, 0};
	memset(res, 0, sizeof(*res));
	int rc = sm_snapshot_verify(c->snap.p, c->snap.n, &c->trust, &si, collect_match, &m, err);
	if (rc == SM_ENOMEM)
		sm_err_set(err, rc, NULL, "out of memory");
	if (!rc && now > si.expires) {
		char exp[21], msg[128];
		sm_time_format(si.expires, exp);
		snprintf(msg, sizeof(msg), "the cached snapshot (version %llu) expired at %s: sync again",
		         (unsigned long long)si.version, exp);
		rc = sm_verdict_unknown(q, p, "snapshot_expired", msg, res);
	} else if (!rc) {
		rc = sm_verdict_eval(q, p, m.v, m.n, si.next_update, now, res);
	}
	if (!rc && info)
		*info = si;
	for (size_t i = 0; i < m.n; i++)
		sm_cert_free(m.v[i]);
	free(m.v);
	return rc;
}
