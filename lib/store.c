/* SPDX-License-Identifier: Apache-2.0 */
/* The LMDB store: one environment, named databases, every change in one write transaction. */
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/statvfs.h>

#include <lmdb.h>

#include "store_int.h" /* the log, its tree and tiles: store_log.c */

/* The map is reserved address space; the file grows only as it is used. */
#define MAP_SIZE (64ull << 30)
#define MAX_READERS 256


/*
 * `since_format_1`: a database added after stores of format 1 were first written. A write open creates
 * it (in the same transaction that opens the others); a read-only open of an older store cannot, and
 * goes on without it: reads of it find nothing (schema/store.md).
 */
static const struct {
	const char *name;
	unsigned flags;
	bool since_format_1;
} dbs[DB_COUNT] = {
	[DB_META] = { "meta", 0 },
	[DB_ENTRIES] = { "entries", 0 },
	[DB_NODES] = { "nodes", 0 },
	[DB_CERTS] = { "certs", 0 },
	[DB_MODELS] = { "models", MDB_DUPSORT },
	[DB_SERIALS] = { "serials", MDB_INTEGERKEY },
	[DB_GRAMS] = { "grams", MDB_DUPSORT | MDB_DUPFIXED | MDB_INTEGERDUP },
	[DB_TOKENS] = { "tokens", 0 },
	[DB_TOKHASH] = { "tokhash", 0 },
	[DB_STMTS] = { "stmts", 0 },
	[DB_DUE] = { "due", 0 },
	[DB_TILES] = { "tiles", 0 },
	[DB_POLICIES] = { "policies", 0, true },
};


/*
 * Each thread keeps one reset read transaction per store (a thread-specific value of the store's
 * key) and renews it for its next read (DEPENDENCIES.md: renew/reset per worker; a begin takes the
 * reader table's lock, a renew does not). A reset transaction keeps its reader slot; it is aborted
 * when its thread ends, or by the closing thread when the store closes.
 */
static void abort_cached(void *p)
{
	mdb_txn_abort(p);
}


/* Below this much free space on the store's file system after a failed write, the failure was the disk filling. */
#define SPACE_MARGIN (1u << 20)
/* The space a full map or disk must have again before the store stops calling itself full (sm_store_full_recheck). */
#define SPACE_RESUME (8u << 20)

/* Free bytes for an unprivileged writer on the file system of `dir`; -1 when unknown. */
static long long space_free(const char *dir)
{
	struct statvfs v;
	if (!dir || statvfs(dir, &v) != 0)
		return -1;
	if (v.f_favail == 0 && v.f_files != 0)
		return 0; /* no inode left is no space too */
	return (long long)v.f_bavail * (long long)v.f_frsize;
}

/*
 * Whether LMDB's `rc` from a write means "no space": a full map, ENOSPC/EDQUOT, or EIO while the file
 * system is (nearly) full. The last is how a full disk usually shows: LMDB 0.9 turns a short pwrite()
 * (the part that fitted was written, the rest not) into EIO ("short write, filesystem full?" in mdb.c).
 */
static bool no_space(const sm_store *s, int rc)
{
	if (rc == MDB_MAP_FULL || rc == ENOSPC || rc == EDQUOT)
		return true;
	long long avail = rc == EIO && s ? space_free(s->dir) : -1;
	return avail >= 0 && avail < SPACE_MARGIN;
}

static int store_err(const sm_store *s, sm_err *err, int rc, const char *what)
{
	if (rc == MDB_MAP_FULL)
		return sm_err_set(err, SM_EFULL, "db", "no space left in the store's map (%llu GiB) in %s: %s; nothing was "
				  "written", (unsigned long long)(MAP_SIZE >> 30), s && s->dir ? s->dir : "?", what);
	if (no_space(s, rc))
		return sm_err_set(err, SM_EFULL, "db", "no space left on the disk of %s (%s): %s; nothing was written",
				  s && s->dir ? s->dir : "?", rc == EIO ? "a write fell short" : mdb_strerror(rc), what);
	return sm_err_set(err, map_rc(rc), NULL, "%s: %s", what, mdb_strerror(rc));
}

static const char *map_of(const char *path);

int sm_store_open(const char *dir, bool create, bool readonly, sm_store **out, sm_err *err)
{
	int rc = 0;
	char path[4096];
	struct stat st;
	sm_store *s = calloc(1, sizeof(*s));
	if (!s)
		return sm_err_set(err, SM_ENOMEM, NULL, "out of memory");
	s->readonly = readonly;
	s->dir = strdup(dir);
	pthread_mutex_init(&s->health_lock, NULL);
	if (!s->dir) {
		free(s);
		return sm_err_set(err, SM_ENOMEM, NULL, "out of memory");
	}
	s->cache = sm_store_cache_new();
	s->reader_ok = pthread_key_create(&s->reader, abort_cached) == 0;
	snprintf(path, sizeof(path), "%s/data.mdb", dir);
	if (!create && stat(path, &st) != 0) {
		rc = sm_err_set(err, SM_ENOTFOUND, "db", "no registry at %s (run 'starmark init' first)", dir);
		goto fail;
	}
	if (!create && st.st_size < 8192) { /* smaller than LMDB's two meta pages */
		rc = sm_err_set(err, SM_ESTORE, "db", "%s is empty or truncated (%lld bytes)", path, (long long)st.st_size);
		goto fail;
	}
	if ((rc = mdb_env_create(&s->env)) || (rc = mdb_env_set_maxdbs(s->env, DB_COUNT + 2)) ||
	    (rc = mdb_env_set_maxreaders(s->env, MAX_READERS)) || (rc = mdb_env_set_mapsize(s->env, MAP_SIZE))) {
		rc = store_err(s, err, rc, "cannot set up the store");
		goto fail;
	}
	rc = mdb_env_open(s->env, dir, (readonly ? MDB_RDONLY : 0) | MDB_NOTLS, 0600);
	if (rc) {
		if (rc == MDB_INVALID || rc == MDB_VERSION_MISMATCH || rc == MDB_CORRUPTED)
			rc = sm_err_set(err, SM_ESTORE, "db", "%s is not a readable starmark store: %s", path, mdb_strerror(rc));
		else
			rc = sm_err_set(err, rc == EACCES ? SM_EIO : map_rc(rc), "db", "cannot open the store in %s: %s", dir,
					mdb_strerror(rc));
		goto fail;
	}
	/* A truncated file would make LMDB touch pages past its end (SIGBUS): check the size first. */
	MDB_envinfo info;
	MDB_stat mst;
	if (!mdb_env_info(s->env, &info) && !mdb_env_stat(s->env, &mst) && stat(path, &st) == 0 &&
	    (uint64_t)st.st_size < ((uint64_t)info.me_last_pgno + 1) * mst.ms_psize) {
		rc = sm_err_set(err, SM_ESTORE, "db", "%s is truncated: %lld bytes, its pages need %llu", path,
				(long long)st.st_size, (unsigned long long)(info.me_last_pgno + 1) * mst.ms_psize);
		goto fail;
	}
	s->map = map_of(path);
	sm_val_ok(s, NULL);
	int stale = 0;
	mdb_reader_check(s->env, &stale);
	/* open every database once, in one transaction, before any other use */
	MDB_txn *txn = NULL;
	if ((rc = mdb_txn_begin(s->env, NULL, readonly ? MDB_RDONLY : 0, &txn))) {
		rc = store_err(s, err, rc, "cannot read the store");
		goto fail;
	}
	for (int i = 0; i < DB_COUNT && !rc; i++) {
		rc = mdb_dbi_open(txn, dbs[i].name, dbs[i].flags | (readonly ? 0 : MDB_CREATE), &s->dbi[i]);
		if (rc == MDB_NOTFOUND && readonly && dbs[i].since_format_1) {
			s->absent[i] = true; /* never used as a handle: every reader of it checks absent first */
			rc = 0;
		}
	}
	if (rc) {
		mdb_txn_abort(txn);
		rc = rc == MDB_NOTFOUND ? sm_err_set(err, SM_ESTORE, "db", "%s is not a starmark store", path)
					: store_err(s, err, rc, "cannot open the store's tables");
		goto fail;
	}
	if (!readonly) {
		/* an index built with an older search fold is rebuilt here, in this one transaction: a crash
		 * leaves the old index and the old version, and the next write open does it again */
		sm_txn up = { .s = s, .txn = txn, .write = true };
		if ((rc = sm_store_search_upgrade(&up, NULL))) {
			mdb_txn_abort(txn);
			rc = rc == SM_ESTORE ? sm_err_set(err, rc, "db", "%s: cannot rebuild the search index: a certificate's "
							 "state is damaged (run 'starmark log verify')", path)
					     : sm_err_set(err, rc, "db", "cannot rebuild the search index: %s", sm_strerror(rc));
			goto fail;
		}
	}
	if ((rc = mdb_txn_commit(txn))) {
		rc = store_err(s, err, rc, "cannot open the store's tables");
		goto fail;
	}
	*out = s;
	return 0;
fail:
	if (s->env)
		mdb_env_close(s->env);
	if (s->reader_ok)
		pthread_key_delete(s->reader);
	sm_store_cache_free(s->cache);
	pthread_mutex_destroy(&s->health_lock);
	free(s->dir);
	free(s);
	return rc;
}

/*
 * Where LMDB mapped the file `path` in this process: LMDB does not say (mdb_env_info's me_mapaddr is the
 * address a fixed map asked for, NULL here), so it is read from /proc/self/maps: the mapping of that file,
 * from offset 0, of the map's size. NULL when not found: values are then not judged (sm_val_ok).
 */
static const char *map_of(const char *path)
{
	struct stat st;
	char line[512];
	const char *found = NULL;
	FILE *f = stat(path, &st) == 0 ? fopen("/proc/self/maps", "r") : NULL;
	while (f && fgets(line, sizeof(line), f)) {
		unsigned long lo, hi, off, ino;
		unsigned maj, min;
		char perms[8];
		if (sscanf(line, "%lx-%lx %7s %lx %x:%x %lu", &lo, &hi, perms, &off, &maj, &min, &ino) == 7 &&
		    ino == (unsigned long)st.st_ino && off == 0 && hi - lo == MAP_SIZE)
			found = (const char *)(uintptr_t)lo;
	}
	if (f)
		fclose(f);
	return found;
}

/* Whether v lies within [map, end); values outside the map (a write transaction's dirty pages) are not judged. */
static bool within(const sm_store *s, const MDB_val *v, uintptr_t end)
{
	uintptr_t p = (uintptr_t)v->mv_data, base = (uintptr_t)s->map;
	if (!s->map || p < base || p - base >= MAP_SIZE)
		return true; /* in memory LMDB allocated, not in the file */
	return p + v->mv_size >= p && p + v->mv_size <= end;
}

bool sm_val_ok(sm_store *s, const MDB_val *v)
{
	if (v && within(s, v, atomic_load(&s->map_end)))
		return true;
	MDB_envinfo info;
	MDB_stat st;
	struct stat fs;
	char path[4200];
	snprintf(path, sizeof(path), "%s/data.mdb", s->dir);
	if (mdb_env_info(s->env, &info) || mdb_env_stat(s->env, &st) || stat(path, &fs))
		return false;
	uint64_t pages = ((uint64_t)info.me_last_pgno + 1) * st.ms_psize;
	/* the pages the meta page names, but never past what the file holds */
	uintptr_t end = (uintptr_t)s->map + (uintptr_t)(pages < (uint64_t)fs.st_size ? pages : (uint64_t)fs.st_size);
	atomic_store(&s->map_end, end);
	return v && within(s, v, end);
}

void sm_store_check_readers(sm_store *s)
{
	int stale = 0;
	mdb_reader_check(s->env, &stale);
}

int sm_store_copy(sm_store *s, int fd, sm_err *err)
{
	int rc = mdb_env_copyfd2(s->env, fd, MDB_CP_COMPACT);
	if (rc == ENOMEM)
		return sm_err_set(err, SM_ENOMEM, NULL, "out of memory");
	if (rc)
		return sm_err_set(err, SM_EIO, "db", "cannot copy the store: %s", mdb_strerror(rc));
	return 0;
}

void sm_store_close(sm_store *s)
{
	if (!s)
		return;
	if (s->reader_ok) {
		/* this thread's; other threads must have ended their reads (the server joins its loops first) */
		MDB_txn *cached = pthread_getspecific(s->reader);
		if (cached)
			mdb_txn_abort(cached);
		pthread_key_delete(s->reader);
	}
	mdb_env_close(s->env);
	sm_store_cache_free(s->cache);
	pthread_mutex_destroy(&s->health_lock);
	free(s->dir);
	free(s);
}

int sm_store_begin(sm_store *s, bool write, sm_txn **out, sm_err *err)
{
	sm_txn *t = calloc(1, sizeof(*t));
	if (!t)
		return sm_err_set(err, SM_ENOMEM, NULL, "out of memory");
	if (write && s->readonly) {
		free(t);
		return sm_err_set(err, SM_ESTORE, NULL, "the store is open read-only");
	}
	if (write && atomic_load(&s->suspect)) {
		char why[SM_ERR_MSG_MAX];
		free(t);
		pthread_mutex_lock(&s->health_lock);
		memcpy(why, s->suspect_msg, sizeof(why));
		pthread_mutex_unlock(&s->health_lock);
		return sm_err_set(err, SM_ESUSPECT, "db", "the store failed an integrity check (%s): no change is written "
				  "until an operator repairs it (restore from a backup) and reopens it", why);
	}
	int rc = 1;
	MDB_txn *cached = !write && s->reader_ok ? pthread_getspecific(s->reader) : NULL;
	if (cached) {
		pthread_setspecific(s->reader, NULL);
		t->txn = cached;
		if ((rc = mdb_txn_renew(t->txn)) != 0)
			mdb_txn_abort(t->txn);
	}
	if (rc)
		rc = mdb_txn_begin(s->env, NULL, write ? 0 : MDB_RDONLY, &t->txn);
	if (rc) {
		free(t);
		return store_err(s, err, rc, "cannot begin a transaction");
	}
	t->s = s;
	t->write = write;
	*out = t;
	return 0;
}

int sm_store_commit(sm_txn *t, sm_err *err)
{
	sm_store *s = t->s;
	bool write = t->write;
	/* a failed commit aborts the transaction (mdb_txn_commit's own cleanup): the meta page, written last,
	 * still names the previous tree, so nothing of it is visible, even when some of its pages reached the disk */
	int rc = mdb_txn_commit(t->txn);
	free(t);
	if (!write)
		return rc ? store_err(s, err, rc, "cannot end a read") : 0;
	if (!rc) {
		atomic_store(&s->full, false);
		return 0;
	}
	sm_err mine = { 0 };
	int code = store_err(s, &mine, rc, "cannot commit");
	if (code == SM_EFULL) {
		pthread_mutex_lock(&s->health_lock);
		memcpy(s->full_msg, mine.msg, sizeof(s->full_msg));
		s->full_map = rc == MDB_MAP_FULL;
		pthread_mutex_unlock(&s->health_lock);
		atomic_store(&s->full, true);
	}
	if (err)
		*err = mine;
	return code;
}

void sm_store_health(sm_store *s, sm_health *h)
{
	memset(h, 0, sizeof(*h));
	pthread_mutex_lock(&s->health_lock);
	h->full = atomic_load(&s->full);
	h->suspect = atomic_load(&s->suspect);
	if (h->full)
		memcpy(h->full_msg, s->full_msg, sizeof(h->full_msg));
	if (h->suspect)
		memcpy(h->suspect_msg, s->suspect_msg, sizeof(h->suspect_msg));
	pthread_mutex_unlock(&s->health_lock);
}

void sm_store_set_suspect(sm_store *s, const char *why)
{
	pthread_mutex_lock(&s->health_lock);
	if (!atomic_load(&s->suspect)) /* the first finding is the one to act on */
		snprintf(s->suspect_msg, sizeof(s->suspect_msg), "%s", why);
	atomic_store(&s->suspect, true);
	pthread_mutex_unlock(&s->health_lock);
}

bool sm_store_full_recheck(sm_store *s)
{
	if (!atomic_load(&s->full))
		return false;
	MDB_envinfo info;
	MDB_stat st;
	bool room;
	pthread_mutex_lock(&s->health_lock);
	if (s->full_map) {
		room = mdb_env_info(s->env, &info) == 0 && mdb_env_stat(s->env, &st) == 0 &&
		       ((uint64_t)info.me_last_pgno + 1) * st.ms_psize + SPACE_RESUME <= info.me_mapsize;
	} else {
		long long avail = space_free(s->dir);
		room = avail >= (long long)SPACE_RESUME;
	}
	if (room)
		atomic_store(&s->full, false);
	pthread_mutex_unlock(&s->health_lock);
	return room;
}

void sm_store_abort(sm_txn *t)
{
	if (!t)
		return;
	if (!t->write && t->s->reader_ok && !pthread_getspecific(t->s->reader)) {
		/* keep it for this thread's next read */
		mdb_txn_reset(t->txn);
		if (pthread_setspecific(t->s->reader, t->txn) != 0)
			mdb_txn_abort(t->txn);
	} else {
		mdb_txn_abort(t->txn);
	}
	free(t);
}

int sm_store_meta_get(sm_txn *t, const char *key, const uint8_t **p, size_t *n)
{
	MDB_val v;
	int rc = get(t, DB_META, key, strlen(key), &v);
	if (!rc) {
		*p = v.mv_data;
		*n = v.mv_size;
	}
	return rc;
}

int sm_store_meta_put(sm_txn *t, const char *key, const void *p, size_t n)
{
	return put(t, DB_META, key, strlen(key), p, n, 0);
}

int sm_store_meta_get_u64(sm_txn *t, const char *key, uint64_t *v)
{
	const uint8_t *p;
	size_t n;
	int rc = sm_store_meta_get(t, key, &p, &n);
	if (rc)
		return rc;
	if (n != 8)
		return SM_ESTORE;
	*v = rd64(p);
	return 0;
}

int sm_store_meta_put_u64(sm_txn *t, const char *key, uint64_t v)
{
	uint8_t b[8];
	be64(b, v);
	return sm_store_meta_put(t, key, b, 8);
}

/* ---- certificates and their indexes ---- */

uint32_t sm_store_id_serial(const char *id)
{
	const char *dash = strrchr(id, '-');
	if (strncmp(id, "SM-", 3) != 0 || !dash || !dash[1] || strlen(dash + 1) > 9)
		return 0;
	uint32_t v = 0;
	for (const char *p = dash + 1; *p; p++) {
		if (*p < '0' || *p > '9')
			return 0;
		v = v * 10 + (uint32_t)(*p - '0');
	}
	return v;
}

int sm_store_cert_raw(sm_txn *t, const char *id, const uint8_t **p, size_t *n)
{
	MDB_val v;
	size_t len = strlen(id);
	if (len == 0 || len > SM_ID_MAX)
		return SM_ENOTFOUND;
	int rc = get(t, DB_CERTS, id, len, &v);
	if (!rc) {
		*p = v.mv_data;
		*n = v.mv_size;
	}
	return rc;
}

int sm_store_cert_get(sm_txn *t, const char *id, sm_cert **out, sm_err *err)
{
	const uint8_t *p;
	size_t n;
	char q[40];
	int rc = sm_store_cert_raw(t, id, &p, &n);
	sm_err_quote(q, sizeof(q), id, strlen(id));
	if (rc == SM_ENOTFOUND)
		return sm_err_set(err, rc, "id", "no certificate %s in this registry", q);
	if (rc)
		return sm_err_set(err, rc, NULL, "cannot read certificate %s", q);
	rc = sm_cert_decode(p, n, out, err);
	return rc ? sm_err_wrap(err, SM_ESTORE, NULL, "stored state of %s is damaged", q) : 0;
}

static size_t model_key(char *k, const char *vendor, const char *model)
{
	size_t vn = strlen(vendor), mn = strlen(model);
	memcpy(k, vendor, vn);
	k[vn] = '\0';
	memcpy(k + vn + 1, model, mn);
	return vn + 1 + mn;
}

static bool same_search_fields(const sm_cert *a, const sm_cert *b)
{
	if (strcmp(a->vendor, b->vendor) || strcmp(a->vendor_name, b->vendor_name) || strcmp(a->product, b->product) ||
	    a->nmodels != b->nmodels)
		return false;
	for (size_t i = 0; i < a->nmodels; i++)
		if (strcmp(a->models[i], b->models[i]))
			return false;
	return true;
}

int sm_store_cert_put(sm_txn *t, const sm_cert *c, const sm_cert *old)
{
	sm_buf b = SM_BUF_INIT;
	char k[SM_VENDOR_MAX + 1 + SM_MODEL_MAX + 1];
	uint32_t serial = sm_store_id_serial(c->id);
	size_t idlen = strlen(c->id);
	int rc = sm_cert_encode(c, &b);
	if (!rc)
		rc = put(t, DB_CERTS, c->id, idlen, b.data, b.len, 0);
	if (!rc && !old) {
		unsigned int key = serial;
		rc = put(t, DB_SERIALS, &key, sizeof(key), c->id, idlen, 0);
	}
	if (!rc && (!old || !same_search_fields(c, old))) {
		if (old) {
			for (size_t i = 0; i < old->nmodels && !rc; i++)
				rc = del(t, DB_MODELS, k, model_key(k, old->vendor, old->models[i]), old->id, strlen(old->id));
			if (!rc)
				rc = sm_store_index_grams(t, old, serial, false, false);
		}
		for (size_t i = 0; i < c->nmodels && !rc; i++)
			rc = put(t, DB_MODELS, k, model_key(k, c->vendor, c->models[i]), c->id, idlen, 0);
		if (!rc)
			rc = sm_store_index_grams(t, c, serial, true, !old);
	}
	sm_buf_cleanup(&b);
	return rc;
}

int sm_store_cert_page(sm_txn *t, size_t offset, size_t limit, size_t *total, sm_store_cert_fn fn, void *ctx)
{
	MDB_stat st;
	MDB_cursor *cur = NULL;
	MDB_val k, v;
	char id[SM_ID_MAX + 1];
	int rc = map_rc(mdb_stat(t->txn, t->s->dbi[DB_CERTS], &st));
	if (rc)
		return rc;
	*total = st.ms_entries;
	if (offset >= st.ms_entries)
		return 0;
	int mrc = mdb_cursor_open(t->txn, t->s->dbi[DB_CERTS], &cur);
	if (mrc)
		return map_rc(mrc);
	size_t i = 0, sent = 0;
	for (int op = MDB_FIRST; !(mrc = mdb_cursor_get(cur, &k, &v, op)); op = MDB_NEXT, i++) {
		if (i < offset)
			continue;
		if ((limit && sent == limit) || k.mv_size > SM_ID_MAX)
			break;
		if (!sm_val_ok(t->s, &v)) {
			rc = SM_ESTORE;
			break;
		}
		memcpy(id, k.mv_data, k.mv_size);
		id[k.mv_size] = '\0';
		sent++;
		if ((rc = fn(ctx, id, v.mv_data, v.mv_size)))
			break;
	}
	mdb_cursor_close(cur);
	return rc ? rc : (mrc == 0 || mrc == MDB_NOTFOUND ? 0 : map_rc(mrc));
}

int sm_store_cert_foreach(sm_txn *t, sm_store_cert_fn fn, void *ctx)
{
	MDB_cursor *cur = NULL;
	MDB_val k, v;
	char id[SM_ID_MAX + 1];
	int rc = 0, mrc = mdb_cursor_open(t->txn, t->s->dbi[DB_CERTS], &cur);
	if (mrc)
		return map_rc(mrc);
	/* mrc: LMDB's answer; rc: the callback's (passed back as it is) */
	for (int op = MDB_FIRST; !(mrc = mdb_cursor_get(cur, &k, &v, op)); op = MDB_NEXT) {
		if (k.mv_size > SM_ID_MAX || !sm_val_ok(t->s, &v)) {
			rc = SM_ESTORE;
			break;
		}
		memcpy(id, k.mv_data, k.mv_size);
		id[k.mv_size] = '\0';
		if ((rc = fn(ctx, id, v.mv_data, v.mv_size)))
			break;
	}
	mdb_cursor_close(cur);
	return rc ? rc : (mrc == MDB_NOTFOUND ? 0 : map_rc(mrc));
}

static int visit_id(sm_txn *t, const void *idp, size_t idn, sm_store_cert_fn fn, void *ctx)
{
	char id[SM_ID_MAX + 1];
	if (idn > SM_ID_MAX)
		return SM_ESTORE;
	memcpy(id, idp, idn);
	id[idn] = '\0';
	const uint8_t *p;
	size_t n;
	int rc = sm_store_cert_raw(t, id, &p, &n);
	if (rc)
		return rc == SM_ENOTFOUND ? SM_ESTORE : rc; /* an index naming a missing certificate */
	return fn(ctx, id, p, n);
}

int sm_store_model_foreach(sm_txn *t, const char *vendor, const char *model, sm_store_cert_fn fn, void *ctx)
{
	char k[SM_VENDOR_MAX + 1 + SM_MODEL_MAX + 1];
	if (strlen(vendor) > SM_VENDOR_MAX || (model && strlen(model) > SM_MODEL_MAX))
		return 0;
	size_t kn = model ? model_key(k, vendor, model) : strlen(vendor) + 1;
	if (!model)
		memcpy(k, vendor, kn); /* includes the NUL: the prefix "vendor\0" */
	MDB_cursor *cur = NULL;
	MDB_val key = { kn, k }, v;
	int rc = 0, mrc = mdb_cursor_open(t->txn, t->s->dbi[DB_MODELS], &cur);
	if (mrc)
		return map_rc(mrc);
	mrc = mdb_cursor_get(cur, &key, &v, model ? MDB_SET_KEY : MDB_SET_RANGE);
	while (!mrc) {
		if (model ? (key.mv_size != kn || memcmp(key.mv_data, k, kn))
			  : (key.mv_size < kn || memcmp(key.mv_data, k, kn)))
			break;
		if ((rc = visit_id(t, v.mv_data, v.mv_size, fn, ctx)))
			break;
		mrc = mdb_cursor_get(cur, &key, &v, model ? MDB_NEXT_DUP : MDB_NEXT);
	}
	mdb_cursor_close(cur);
	return rc ? rc : (mrc == 0 || mrc == MDB_NOTFOUND ? 0 : map_rc(mrc));
}

/* ---- tokens ---- */

int sm_store_token_put(sm_txn *t, const char *name, int role, const uint8_t hash[32], int64_t created)
{
	uint8_t v[41];
	v[0] = (uint8_t)role;
	memcpy(v + 1, hash, 32);
	be64(v + 33, (uint64_t)created);
	int rc = put(t, DB_TOKENS, name, strlen(name), v, sizeof(v), MDB_NOOVERWRITE);
	return rc ? rc : put(t, DB_TOKHASH, hash, 32, name, strlen(name), 0);
}

int sm_store_token_find(sm_txn *t, const uint8_t hash[32], int *role, char *name, size_t name_cap)
{
	MDB_val n, v;
	int rc = get(t, DB_TOKHASH, hash, 32, &n);
	if (rc)
		return rc;
	if ((rc = get(t, DB_TOKENS, n.mv_data, n.mv_size, &v)))
		return rc == SM_ENOTFOUND ? SM_ESTORE : rc;
	if (v.mv_size != 41 || n.mv_size >= name_cap)
		return SM_ESTORE;
	*role = ((const uint8_t *)v.mv_data)[0];
	memcpy(name, n.mv_data, n.mv_size);
	name[n.mv_size] = '\0';
	return 0;
}

int sm_store_token_get(sm_txn *t, const char *name, int *role, int64_t *created)
{
	MDB_val v;
	int rc = get(t, DB_TOKENS, name, strlen(name), &v);
	if (rc)
		return rc;
	if (v.mv_size != 41)
		return SM_ESTORE;
	*role = ((const uint8_t *)v.mv_data)[0];
	*created = (int64_t)rd64((const uint8_t *)v.mv_data + 33);
	return 0;
}

int sm_store_token_del(sm_txn *t, const char *name)
{
	MDB_val v;
	int rc = get(t, DB_TOKENS, name, strlen(name), &v);
	if (rc)
		return rc;
	uint8_t hash[32];
	if (v.mv_size != 41)
		return SM_ESTORE;
	memcpy(hash, (const uint8_t *)v.mv_data + 1, 32);
	if ((rc = del(t, DB_TOKHASH, hash, 32, NULL, 0)))
		return rc;
	return del(t, DB_TOKENS, name, strlen(name), NULL, 0);
}

int sm_store_token_foreach(sm_txn *t, sm_store_token_fn fn, void *ctx)
{
	MDB_cursor *cur = NULL;
	MDB_val k, v;
	char name[128];
	int rc = 0, mrc = mdb_cursor_open(t->txn, t->s->dbi[DB_TOKENS], &cur);
	if (mrc)
		return map_rc(mrc);
	for (int op = MDB_FIRST; !(mrc = mdb_cursor_get(cur, &k, &v, op)); op = MDB_NEXT) {
		if (k.mv_size >= sizeof(name) || v.mv_size != 41) {
			rc = SM_ESTORE;
			break;
		}
		memcpy(name, k.mv_data, k.mv_size);
		name[k.mv_size] = '\0';
		const uint8_t *p = v.mv_data;
		if ((rc = fn(ctx, name, p[0], (int64_t)rd64(p + 33))))
			break;
	}
	mdb_cursor_close(cur);
	return rc ? rc : (mrc == MDB_NOTFOUND ? 0 : map_rc(mrc));
}

/* ---- status statements and their refresh queue ---- */

int sm_store_stmt_get(sm_txn *t, const char *id, int64_t *due, const uint8_t **p, size_t *n)
{
	MDB_val v;
	int rc = get(t, DB_STMTS, id, strlen(id), &v);
	if (rc)
		return rc;
	if (v.mv_size < 8)
		return SM_ESTORE;
	if (due)
		*due = (int64_t)rd64(v.mv_data);
	if (p) {
		*p = (const uint8_t *)v.mv_data + 8;
		*n = v.mv_size - 8;
	}
	return 0;
}

static size_t due_key(uint8_t *k, int64_t due, const char *id)
{
	size_t n = strlen(id);
	be64(k, (uint64_t)(due < 0 ? 0 : due));
	memcpy(k + 8, id, n);
	return 8 + n;
}

int sm_store_due_set(sm_txn *t, const char *id, int64_t old_due, int64_t due)
{
	uint8_t k[8 + SM_ID_MAX];
	int rc = 0;
	if (strlen(id) > SM_ID_MAX)
		return SM_EINVAL;
	if (old_due >= 0)
		rc = del(t, DB_DUE, k, due_key(k, old_due, id), NULL, 0);
	return rc ? rc : put(t, DB_DUE, k, due_key(k, due, id), "", 0, 0);
}

int sm_store_stmt_put(sm_txn *t, const char *id, int64_t due, const uint8_t *p, size_t n)
{
	int64_t old_due = -1;
	int rc = sm_store_stmt_get(t, id, &old_due, NULL, NULL);
	if (rc && rc != SM_ENOTFOUND)
		return rc;
	if (rc == SM_ENOTFOUND) {
		/* a queued, never-produced statement has a due entry at 0 */
		uint8_t k[8 + SM_ID_MAX];
		if ((rc = del(t, DB_DUE, k, due_key(k, 0, id), NULL, 0)))
			return rc;
		old_due = -1;
	}
	uint8_t *v = malloc(n + 8);
	if (!v)
		return SM_ENOMEM;
	be64(v, (uint64_t)due);
	memcpy(v + 8, p, n);
	rc = put(t, DB_STMTS, id, strlen(id), v, n + 8, 0);
	free(v);
	return rc ? rc : sm_store_due_set(t, id, old_due, due);
}

int sm_store_due_foreach(sm_txn *t, int64_t upto, size_t max, sm_store_due_fn fn, void *ctx)
{
	MDB_cursor *cur = NULL;
	MDB_val k, v;
	char id[SM_ID_MAX + 1];
	size_t seen = 0;
	int rc = 0, mrc = mdb_cursor_open(t->txn, t->s->dbi[DB_DUE], &cur);
	if (mrc)
		return map_rc(mrc);
	for (int op = MDB_FIRST; !(mrc = mdb_cursor_get(cur, &k, &v, op)); op = MDB_NEXT) {
		if (k.mv_size <= 8 || k.mv_size > 8 + SM_ID_MAX) {
			rc = SM_ESTORE;
			break;
		}
		int64_t due = (int64_t)rd64(k.mv_data);
		if (due > upto || (max && seen == max))
			break;
		memcpy(id, (const uint8_t *)k.mv_data + 8, k.mv_size - 8);
		id[k.mv_size - 8] = '\0';
		seen++;
		if ((rc = fn(ctx, due, id)))
			break;
	}
	mdb_cursor_close(cur);
	return rc ? rc : (mrc == 0 || mrc == MDB_NOTFOUND ? 0 : map_rc(mrc));
}

/* ---- published policies ---- */

#define POLICY_NAME_MAX 64

static int policy_key_ok(const char *name)
{
	size_t n = strlen(name);
	return n >= 1 && n <= POLICY_NAME_MAX;
}

int sm_store_policy_put(sm_txn *t, const char *name, int64_t at, uint64_t index, const char *json, size_t n)
{
	if (!policy_key_ok(name))
		return SM_EINVAL;
	if (t->s->absent[DB_POLICIES])
		return SM_ESTORE; /* only a read-only open lacks it, and that writes nothing */
	uint8_t *v = malloc(16 + n);
	if (!v)
		return SM_ENOMEM;
	be64(v, (uint64_t)at);
	be64(v + 8, index);
	memcpy(v + 16, json, n);
	int rc = put(t, DB_POLICIES, name, strlen(name), v, 16 + n, 0);
	free(v);
	return rc;
}

int sm_store_policy_get(sm_txn *t, const char *name, int64_t *at, uint64_t *index, const char **json, size_t *n)
{
	MDB_val v;
	if (!policy_key_ok(name) || t->s->absent[DB_POLICIES])
		return SM_ENOTFOUND;
	int rc = get(t, DB_POLICIES, name, strlen(name), &v);
	if (rc)
		return rc;
	if (v.mv_size < 16)
		return SM_ESTORE;
	if (at)
		*at = (int64_t)rd64(v.mv_data);
	if (index)
		*index = rd64((const uint8_t *)v.mv_data + 8);
	if (json) {
		*json = (const char *)v.mv_data + 16;
		*n = v.mv_size - 16;
	}
	return 0;
}

int sm_store_policy_del(sm_txn *t, const char *name)
{
	MDB_val v;
	if (!policy_key_ok(name) || t->s->absent[DB_POLICIES])
		return SM_ENOTFOUND;
	int rc = get(t, DB_POLICIES, name, strlen(name), &v);
	return rc ? rc : del(t, DB_POLICIES, name, strlen(name), NULL, 0);
}

int sm_store_policy_foreach(sm_txn *t, sm_store_policy_fn fn, void *ctx)
{
	MDB_cursor *cur = NULL;
	MDB_val k, v;
	char name[POLICY_NAME_MAX + 1];
	if (t->s->absent[DB_POLICIES])
		return 0;
	int rc = 0, mrc = mdb_cursor_open(t->txn, t->s->dbi[DB_POLICIES], &cur);
	if (mrc)
		return map_rc(mrc);
	for (int op = MDB_FIRST; !(mrc = mdb_cursor_get(cur, &k, &v, op)); op = MDB_NEXT) {
		if (k.mv_size < 1 || k.mv_size > POLICY_NAME_MAX || v.mv_size < 16 || !sm_val_ok(t->s, &v)) {
			rc = SM_ESTORE;
			break;
		}
		memcpy(name, k.mv_data, k.mv_size);
		name[k.mv_size] = '\0';
		const uint8_t *p = v.mv_data;
		if ((rc = fn(ctx, name, (int64_t)rd64(p), rd64(p + 8), (const char *)p + 16, v.mv_size - 16)))
			break;
	}
	mdb_cursor_close(cur);
	return rc ? rc : (mrc == MDB_NOTFOUND ? 0 : map_rc(mrc));
}

/* ---- integrity checks (log verify) ---- */

int sm_store_serial_id(sm_txn *t, uint32_t serial, char id[SM_ID_MAX + 1])
{
	unsigned int key = serial;
	MDB_val v;
	int rc = get(t, DB_SERIALS, &key, sizeof(key), &v);
	if (rc)
		return rc;
	if (v.mv_size > SM_ID_MAX)
		return SM_ESTORE;
	memcpy(id, v.mv_data, v.mv_size);
	id[v.mv_size] = '\0';
	return 0;
}

int sm_store_due_has(sm_txn *t, int64_t due, const char *id)
{
	uint8_t k[8 + SM_ID_MAX];
	MDB_val v;
	if (strlen(id) > SM_ID_MAX)
		return SM_ENOTFOUND;
	return get(t, DB_DUE, k, due_key(k, due, id), &v);
}

int sm_store_tables_check(sm_txn *t, char *bad, size_t cap)
{
	int rc = 0;
	uint64_t due = 0, certs = 0;
	for (int db = 0; db < DB_COUNT && !rc; db++) {
		MDB_stat st;
		MDB_cursor *cur = NULL;
		MDB_val k, v;
		uint64_t seen = 0;
		if (t->s->absent[db])
			continue;
		int mrc = mdb_stat(t->txn, t->s->dbi[db], &st);
		if (!mrc)
			mrc = mdb_cursor_open(t->txn, t->s->dbi[db], &cur);
		for (int op = MDB_FIRST; !mrc && !(mrc = mdb_cursor_get(cur, &k, &v, op)); op = MDB_NEXT)
			seen++;
		mdb_cursor_close(cur);
		if (mrc != MDB_NOTFOUND) {
			snprintf(bad, cap, "table %s cannot be read: %s", dbs[db].name, mdb_strerror(mrc));
			rc = SM_EVERIFY;
		} else if (seen != st.ms_entries) {
			snprintf(bad, cap, "table %s holds %llu records, its header says %llu", dbs[db].name,
				 (unsigned long long)seen, (unsigned long long)st.ms_entries);
			rc = SM_EVERIFY;
		}
		if (db == DB_DUE)
			due = seen;
		if (db == DB_CERTS)
			certs = seen;
	}
	/* every certificate has one place in the refresh queue: its statement's due time, or 0 while none is made */
	if (!rc && due != certs) {
		snprintf(bad, cap, "the refresh queue holds %llu entries for %llu certificates", (unsigned long long)due,
			 (unsigned long long)certs);
		rc = SM_EVERIFY;
	}
	/* tokens and their hash index name each other */
	MDB_cursor *cur = NULL;
	MDB_val k, v;
	int mrc = rc ? 0 : mdb_cursor_open(t->txn, t->s->dbi[DB_TOKENS], &cur);
	for (int op = MDB_FIRST; !rc && !mrc && !(mrc = mdb_cursor_get(cur, &k, &v, op)); op = MDB_NEXT) {
		MDB_val name;
		const uint8_t *p = v.mv_data;
		if (v.mv_size != 41 || (p[0] != 1 && p[0] != 2) || get(t, DB_TOKHASH, p + 1, 32, &name) != 0 ||
		    name.mv_size != k.mv_size || memcmp(name.mv_data, k.mv_data, k.mv_size) != 0) {
			char q[80];
			sm_err_quote(q, sizeof(q), k.mv_data, k.mv_size);
			snprintf(bad, cap, "token %s does not match the token hash index", q);
			rc = SM_EVERIFY;
		}
	}
	mdb_cursor_close(cur);
	if (!rc && mrc && mrc != MDB_NOTFOUND) {
		snprintf(bad, cap, "table tokens cannot be read: %s", mdb_strerror(mrc));
		rc = SM_EVERIFY;
	}
	MDB_stat a, b;
	if (!rc && !mdb_stat(t->txn, t->s->dbi[DB_TOKENS], &a) && !mdb_stat(t->txn, t->s->dbi[DB_TOKHASH], &b) &&
	    a.ms_entries != b.ms_entries) {
		snprintf(bad, cap, "%zu tokens, %zu token hashes", a.ms_entries, b.ms_entries);
		rc = SM_EVERIFY;
	}
	return rc;
}
