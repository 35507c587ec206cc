/* SPDX-License-Identifier: Apache-2.0 */
/* Private to store.c, store_log.c and store_search.c: the store's structures and its LMDB helpers. */
#ifndef STARMARK_STORE_INT_H
#define STARMARK_STORE_INT_H

#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#include <lmdb.h>

#include "store.h"

enum {
	DB_META, DB_ENTRIES, DB_NODES, DB_CERTS, DB_MODELS, DB_SERIALS, DB_GRAMS, DB_TOKENS, DB_TOKHASH, DB_STMTS,
	DB_DUE, DB_TILES, DB_POLICIES, DB_COUNT
};

struct sm_store {
	MDB_env *env;
	MDB_dbi dbi[DB_COUNT];
	bool absent[DB_COUNT]; /* a database added after the store was made, not there in a read-only open */
	bool readonly;
	struct node_cache *cache; /* the upper tree levels; NULL when there was no memory for it */
	pthread_key_t reader; /* each thread's reset read transaction */
	bool reader_ok;
	char *dir;
	/* health (sm_store_health): the last write failed for lack of space; an integrity check failed */
	pthread_mutex_t health_lock; /* the two messages */
	_Atomic bool full, suspect;
	bool full_map;                /* the map was full, not the disk */
	char full_msg[SM_ERR_MSG_MAX], suspect_msg[SM_ERR_MSG_MAX];
	/* the map's start and the end of the file's pages as last seen: a value reaching past it is damage (sm_val_ok) */
	const char *map;
	_Atomic uintptr_t map_end;
};

/*
 * Whether a value LMDB handed out lies within the file's pages. A damaged node size (a flipped byte) makes
 * LMDB hand out a value that runs past the end of the file, and reading it would kill the process with
 * SIGBUS (the map is larger than the file). The end is read again when a value passes it (the file grew).
 */
bool sm_val_ok(sm_store *s, const MDB_val *v);

struct sm_txn {
	sm_store *s;
	MDB_txn *txn;
	bool write;
	/* the log's size as this (read-only) transaction sees it, once read: which tiles are complete */
	bool size_known;
	uint64_t size;
	/* the last tile read in this (read-only) transaction: its bytes stay valid until it ends */
	bool tile_valid;
	unsigned tile_level;
	uint64_t tile_index;
	const uint8_t *tile;
};

static inline int map_rc(int rc)
{
	switch (rc) {
	case 0: return 0;
	case MDB_NOTFOUND: return SM_ENOTFOUND;
	case MDB_MAP_FULL:
	case ENOSPC:
	case EDQUOT: return SM_EFULL;
	case MDB_KEYEXIST: return SM_EEXIST;
	case ENOMEM: return SM_ENOMEM;
	default: return SM_ESTORE;
	}
}

static inline int get(sm_txn *t, int db, const void *k, size_t kn, MDB_val *v)
{
	MDB_val key = { kn, (void *)(uintptr_t)k };
	int rc = map_rc(mdb_get(t->txn, t->s->dbi[db], &key, v));
	return rc || sm_val_ok(t->s, v) ? rc : SM_ESTORE;
}

static inline int put(sm_txn *t, int db, const void *k, size_t kn, const void *v, size_t vn, unsigned flags)
{
	MDB_val key = { kn, (void *)(uintptr_t)k }, val = { vn, (void *)(uintptr_t)v };
	return map_rc(mdb_put(t->txn, t->s->dbi[db], &key, &val, flags));
}

static inline int del(sm_txn *t, int db, const void *k, size_t kn, const void *v, size_t vn)
{
	MDB_val key = { kn, (void *)(uintptr_t)k }, val = { vn, (void *)(uintptr_t)v };
	int rc = mdb_del(t->txn, t->s->dbi[db], &key, v ? &val : NULL);
	return rc == MDB_NOTFOUND ? 0 : map_rc(rc);
}

static inline void be64(uint8_t *p, uint64_t v)
{
	for (int i = 7; i >= 0; i--, v >>= 8)
		p[i] = (uint8_t)v;
}

static inline uint64_t rd64(const uint8_t *p)
{
	uint64_t v = 0;
	for (int i = 0; i < 8; i++)
		v = (v << 8) | p[i];
	return v;
}

/* The node cache of an open store (store_log.c): made at open, NULL without memory; freed at close. */
struct node_cache *sm_store_cache_new(void);
void sm_store_cache_free(struct node_cache *c);

/* The search index (store_search.c). */
/* Add (or with !add, remove) the grams of certificate `c` of `serial`; `newest`: its serial is the largest. */
int sm_store_index_grams(sm_txn *t, const sm_cert *c, uint32_t serial, bool add, bool newest);
/*
 * In a write transaction: when the index was built with another fold than SM_TEXT_FOLD_VERSION (meta
 * `search_fold`; none: version 1), rebuild every certificate's grams and record the version. Nothing is
 * done for an index of the current fold. *rebuilt (may be NULL) says whether it was rebuilt.
 */
int sm_store_search_upgrade(sm_txn *t, bool *rebuilt);

#endif
