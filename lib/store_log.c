/* SPDX-License-Identifier: Apache-2.0 */
/* The store's log: entries, the Merkle tree's perfect subtrees, tiles, and the cache of upper levels. */
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#include "store_int.h"

/*
 * Tiles (after C2SP tlog-tiles): every complete subtree of 8 levels is also stored as one value,
 * its 510 node hashes row by row (256 at its base level, 128 above, ... 2). A proof or root reads
 * one node per level; through tiles, the 8 levels of one tile cost one look-up, so the reads grow
 * with log256(n), not log2(n) (bench/proofs.sh). Incomplete tiles (the right edge) are read from
 * the node table. Tiles are written when their last leaf arrives and checked by log verify.
 */
#define TILE_H 8
#define TILE_WIDTH 256
#define TILE_HASHES 510

static size_t tile_row_start(unsigned w)
{
	return (size_t)(512 - (512u >> w));
}

/*
 * The nodes of the upper tree levels (>= NODE_CACHE_LEVEL), cached in memory per open store and
 * shared by its threads. A perfect subtree's hash never changes once committed, so a cached one
 * is always right; only read-only transactions fill the cache (a write transaction may still
 * abort). A proof or root reads about one node per level: with the upper levels in memory, only
 * the bottom tile or two of a proof are read from the map (bench/proofs.sh).
 *
 * The cache is a flat array indexed by (level, index), not a hash table: level 8 has the first
 * NODE_CACHE_BASE slots, level 9 half as many and so on (like the rows of a tile), and each level
 * up to 63 at least NODE_CACHE_MIN. Nodes past their level's slots are not cached: a log of up to
 * 2^8 * NODE_CACHE_BASE = 4,194,304 entries fits whole; a larger one has the left part of each
 * level cached and reads the rest through tiles. Each slot has a state byte (empty, being filled,
 * ready): a thread fills an empty slot after claiming it, and a reader copies it only once ready.
 *
 * Memory: one block of NODE_CACHE_BYTES (2 MiB) per open store, whatever the log's size, mapped
 * on first use and, where the kernel allows it, as one huge page: proofs over a large log touch
 * random pages of the map and wear out the TLB, and the cache should not add its own misses.
 */
#define NODE_CACHE_LEVEL 8
#define NODE_CACHE_BASE (1u << 14)
#define NODE_CACHE_MIN 16u
#define NODE_CACHE_TOTAL (2 * NODE_CACHE_BASE + 64 * NODE_CACHE_MIN)
#define NODE_CACHE_BYTES ((size_t)2 << 20)

enum { SLOT_EMPTY, SLOT_FILLING, SLOT_READY };

typedef struct node_cache {
	/* first, so line-aligned: a node and its sibling share a cache line */
	uint8_t h[NODE_CACHE_TOTAL][SM_HASH_LEN];
	uint32_t start[64]; /* each level's first slot (levels >= NODE_CACHE_LEVEL) */
	uint32_t count[64]; /* and its number of slots: indexes 0 .. count - 1 are cached */
	_Atomic uint8_t state[NODE_CACHE_TOTAL];
} node_cache;

_Static_assert(sizeof(node_cache) <= NODE_CACHE_BYTES, "the node cache must fit its block");

/* A cache with no slot filled; NULL when there is no memory for it (the store then works without). */
node_cache *sm_store_cache_new(void)
{
	/* map twice the size to cut out a block aligned to its size: a huge page needs that alignment */
	uint8_t *m = mmap(NULL, 2 * NODE_CACHE_BYTES, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1,
			  0);
	if (m == MAP_FAILED)
		return NULL;
	size_t skip = (NODE_CACHE_BYTES - (uintptr_t)m % NODE_CACHE_BYTES) % NODE_CACHE_BYTES;
	if (skip)
		munmap(m, skip);
	munmap(m + skip + NODE_CACHE_BYTES, NODE_CACHE_BYTES - skip);
	node_cache *c = (node_cache *)(void *)(m + skip);
#ifdef MADV_HUGEPAGE
	(void)madvise(c, NODE_CACHE_BYTES, MADV_HUGEPAGE); /* a hint: without it, 4 KiB pages as used */
#endif
	uint32_t at = 0;
	for (unsigned level = NODE_CACHE_LEVEL; level < 64; level++) {
		unsigned shift = level - NODE_CACHE_LEVEL;
		uint32_t n = shift < 32 ? NODE_CACHE_BASE >> shift : 0;
		c->start[level] = at;
		c->count[level] = n > NODE_CACHE_MIN ? n : NODE_CACHE_MIN;
		at += c->count[level];
	}
	return c;
}

void sm_store_cache_free(node_cache *c)
{
	if (c)
		munmap(c, NODE_CACHE_BYTES);
}

/* The slot of node (level, index), or -1 when it has none. */
static long node_cache_slot(const node_cache *c, unsigned level, uint64_t index)
{
	if (!c || level < NODE_CACHE_LEVEL || level >= 64 || index >= c->count[level])
		return -1;
	return (long)(c->start[level] + index);
}

/* The next reads of a proof or root go up from (level, index): ask for their lines now. */
static void node_cache_prefetch(const node_cache *c, unsigned level, uint64_t index)
{
	for (unsigned k = 1; k <= 4 && level + k < 64; k++) {
		long slot = node_cache_slot(c, level + k, index >> k);
		if (slot < 0)
			break;
		__builtin_prefetch(c->h[slot]);
	}
}

/* ---- the log ---- */

int sm_store_log_size(sm_txn *t, uint64_t *size)
{
	int rc = sm_store_meta_get_u64(t, "log_size", size);
	if (rc == SM_ENOTFOUND) {
		*size = 0;
		return 0;
	}
	return rc;
}

/* Whether the log of `size` entries has completed tile `tile` of tile-level `tl`. */
static bool tile_complete(unsigned tl, uint64_t tile, uint64_t size)
{
	unsigned shift = TILE_H * (tl + 1);
	return shift < 64 && tile < (size >> shift);
}

/*
 * The reads that follow a node's in its tile go up the same path: a proof's siblings, the perfect
 * parts of a right edge (each the left sibling of the next part's ancestor). Ask for the cache
 * lines of the node's ancestors and their siblings now, so that their misses (a random tile of a
 * large log is cold: pages, page tables, lines) overlap instead of following one another.
 */
static void tile_prefetch(const uint8_t *tile, unsigned w, uint64_t index)
{
	for (; w < TILE_H; w++, index >>= 1) {
		size_t pair = tile_row_start(w) + (size_t)(index & ((TILE_WIDTH >> w) - 2));
		const uint8_t *p = tile + pair * SM_HASH_LEN;
		__builtin_prefetch(p);
		__builtin_prefetch(p + 2 * SM_HASH_LEN - 1); /* a pair may straddle two lines */
	}
}

/* The bytes of level-0 tile `tile` when the log has completed it (a read-only transaction), else NULL. */
static const uint8_t *bottom_tile(sm_txn *t, uint64_t tile)
{
	uint8_t k[9] = {0};
	MDB_val v;
	if (t->write || !t->size_known || !tile_complete(0, tile, t->size))
		return NULL;
	be64(k + 1, tile);
	return get(t, DB_TILES, k, 9, &v) == 0 && v.mv_size == TILE_HASHES * SM_HASH_LEN ? v.mv_data : NULL;
}

/*
 * Before a root or proof walks the tree: ask for the lines it will read from the bottom tiles, all at
 * once. A walk reads at most two of them, the tile of a leaf's path and the tile of a right edge (the
 * perfect subtrees of its low 8 bits); on a large log both are cold, and fetched one node after the
 * other their page walks and misses followed one another (bench/proofs.sh). `leaf` is the leaf whose
 * path is read or UINT64_MAX; `edges` the tree sizes whose right edges are.
 */
static void warm_bottom(sm_txn *t, uint64_t leaf, const uint64_t *edges, int nedges)
{
	const uint8_t *p = leaf == UINT64_MAX ? NULL : bottom_tile(t, leaf >> TILE_H);
	if (p)
		tile_prefetch(p, 0, leaf & (TILE_WIDTH - 1));
	for (int e = 0; e < nedges; e++) {
		const uint64_t m = edges[e];
		if (m % TILE_WIDTH == 0 || !(p = bottom_tile(t, (m - 1) >> TILE_H)))
			continue;
		for (unsigned w = 0; w < TILE_H; w++)
			if (m >> w & 1) /* the perfect subtree of bit w: index (m >> w) - 1 at level w */
				__builtin_prefetch(p + (tile_row_start(w) + (((m >> w) - 1) & ((TILE_WIDTH >> w) - 1))) *
				                           SM_HASH_LEN);
	}
}

/* A node from its tile, in a read-only transaction; SM_ENOTFOUND when its tile is not complete. */
static int tile_get(sm_txn *t, unsigned level, uint64_t index, uint8_t out[SM_HASH_LEN])
{
	unsigned w = level % TILE_H, tl = level / TILE_H;
	uint64_t tile = index >> (TILE_H - w);
	if (!t->tile_valid || t->tile_level != tl || t->tile_index != tile) {
		uint8_t k[9];
		MDB_val v;
		/* a tile the log has not completed has no record: no need to look for it */
		if (t->size_known && !tile_complete(tl, tile, t->size))
			return SM_ENOTFOUND;
		k[0] = (uint8_t)tl;
		be64(k + 1, tile);
		int rc = get(t, DB_TILES, k, 9, &v);
		if (rc)
			return rc;
		if (v.mv_size != TILE_HASHES * SM_HASH_LEN)
			return SM_ESTORE;
		t->tile_level = tl;
		t->tile_index = tile;
		t->tile = v.mv_data;
		t->tile_valid = true;
		tile_prefetch(t->tile, w, index);
	}
	size_t pos = tile_row_start(w) + (size_t)(index & ((TILE_WIDTH >> w) - 1));
	memcpy(out, t->tile + pos * SM_HASH_LEN, SM_HASH_LEN);
	return 0;
}

static int node_get_db(sm_txn *t, unsigned level, uint64_t index, uint8_t out[SM_HASH_LEN]);

static int node_get(void *ctx, unsigned level, uint64_t index, uint8_t out[SM_HASH_LEN])
{
	sm_txn *t = ctx;
	node_cache *c = t->s->cache;
	long slot = t->write ? -1 : node_cache_slot(c, level, index);
	if (slot >= 0)
		node_cache_prefetch(c, level, index);
	if (slot >= 0 && atomic_load_explicit(&c->state[slot], memory_order_acquire) == SLOT_READY) {
		memcpy(out, c->h[slot], SM_HASH_LEN);
		return 0;
	}
	int rc = t->write ? SM_ENOTFOUND : tile_get(t, level, index, out);
	if (rc == SM_ENOTFOUND)
		rc = node_get_db(t, level, index, out);
	uint8_t empty = SLOT_EMPTY;
	/* another thread may be filling the same slot: the one that claims it writes it */
	if (!rc && slot >= 0 &&
	    atomic_compare_exchange_strong_explicit(&c->state[slot], &empty, SLOT_FILLING,
						    memory_order_acquire, memory_order_relaxed)) {
		memcpy(c->h[slot], out, SM_HASH_LEN);
		atomic_store_explicit(&c->state[slot], SLOT_READY, memory_order_release);
	}
	return rc;
}

/* A node from the node table (writes always read here: a tile's bytes may move under a write). */
static int node_get_db(sm_txn *t, unsigned level, uint64_t index, uint8_t out[SM_HASH_LEN])
{
	uint8_t k[9];
	k[0] = (uint8_t)level;
	be64(k + 1, index);
	MDB_val v;
	int rc = get(t, DB_NODES, k, 9, &v);
	if (rc)
		return rc == SM_ENOTFOUND ? SM_ESTORE : rc; /* a missing node is a damaged store */
	if (v.mv_size != SM_HASH_LEN)
		return SM_ESTORE;
	memcpy(out, v.mv_data, SM_HASH_LEN);
	return 0;
}

/* Write the tile of tile-level `tl` and index `tile`, all of whose nodes exist now. */
static int tile_build(sm_txn *t, unsigned tl, uint64_t tile)
{
	uint8_t *v = malloc(TILE_HASHES * SM_HASH_LEN), k[9];
	int rc = v ? 0 : SM_ENOMEM;
	for (unsigned w = 0; w < TILE_H && !rc; w++)
		for (uint64_t j = 0; j < (uint64_t)(TILE_WIDTH >> w) && !rc; j++)
			rc = node_get_db(t, tl * TILE_H + w, (tile << (TILE_H - w)) + j,
					 v + (tile_row_start(w) + j) * SM_HASH_LEN);
	if (!rc) {
		k[0] = (uint8_t)tl;
		be64(k + 1, tile);
		rc = put(t, DB_TILES, k, 9, v, TILE_HASHES * SM_HASH_LEN, 0);
	}
	free(v);
	return rc;
}

/* After leaf number `size - 1`: the tiles it completes (one every 256 leaves, 256^2 ...). */
static int tiles_after(sm_txn *t, uint64_t size)
{
	int rc = 0;
	for (unsigned tl = 0; tl < 8 && !rc; tl++) {
		unsigned shift = TILE_H * (tl + 1);
		if (shift >= 64 || size & ((1ull << shift) - 1))
			break;
		rc = tile_build(t, tl, (size >> shift) - 1);
	}
	return rc;
}

int sm_store_tiles_check(sm_txn *t, uint64_t *checked, char *bad, size_t cap)
{
	MDB_cursor *cur = NULL;
	MDB_val k, v;
	uint8_t h[SM_HASH_LEN];
	int rc = 0, mrc = mdb_cursor_open(t->txn, t->s->dbi[DB_TILES], &cur);
	*checked = 0;
	if (mrc)
		return map_rc(mrc);
	for (int op = MDB_FIRST; !rc && !(mrc = mdb_cursor_get(cur, &k, &v, op)); op = MDB_NEXT) {
		if (k.mv_size != 9 || v.mv_size != TILE_HASHES * SM_HASH_LEN) {
			snprintf(bad, cap, "a tile record of %zu bytes", v.mv_size);
			rc = SM_EVERIFY;
			break;
		}
		unsigned tl = ((const uint8_t *)k.mv_data)[0];
		uint64_t tile = rd64((const uint8_t *)k.mv_data + 1);
		for (unsigned w = 0; w < TILE_H && !rc; w++)
			for (uint64_t j = 0; j < (uint64_t)(TILE_WIDTH >> w) && !rc; j++) {
				if ((rc = node_get_db(t, tl * TILE_H + w, (tile << (TILE_H - w)) + j, h)))
					break;
				if (memcmp(h, (const uint8_t *)v.mv_data + (tile_row_start(w) + j) * SM_HASH_LEN, SM_HASH_LEN)) {
					snprintf(bad, cap, "tile %u/%llu differs from the tree at level %u", tl,
						 (unsigned long long)tile, tl * TILE_H + w);
					rc = SM_EVERIFY;
				}
			}
		(*checked)++;
	}
	mdb_cursor_close(cur);
	return rc ? rc : (mrc == MDB_NOTFOUND ? 0 : map_rc(mrc));
}

static int node_put(void *ctx, unsigned level, uint64_t index, const uint8_t h[SM_HASH_LEN])
{
	uint8_t k[9];
	k[0] = (uint8_t)level;
	be64(k + 1, index);
	return put(ctx, DB_NODES, k, 9, h, SM_HASH_LEN, 0);
}

int sm_store_log_append(sm_txn *t, const uint8_t *entry, size_t n, uint64_t *index)
{
	uint64_t size;
	int rc = sm_store_log_size(t, &size);
	if (rc)
		return rc;
	uint8_t k[8], leaf[SM_HASH_LEN];
	be64(k, size);
	if ((rc = put(t, DB_ENTRIES, k, 8, entry, n, MDB_APPEND)))
		return rc;
	sm_merkle_leaf_hash(entry, n, leaf);
	if ((rc = sm_merkle_append(node_get, node_put, t, size, leaf)) || (rc = tiles_after(t, size + 1)))
		return rc;
	if ((rc = sm_store_meta_put_u64(t, "log_size", size + 1)))
		return rc;
	if (index)
		*index = size;
	return 0;
}

int sm_store_log_entry(sm_txn *t, uint64_t index, const uint8_t **p, size_t *n)
{
	uint8_t k[8];
	be64(k, index);
	MDB_val v;
	int rc = get(t, DB_ENTRIES, k, 8, &v);
	if (!rc) {
		*p = v.mv_data;
		*n = v.mv_size;
	}
	return rc;
}

static int check_size(sm_txn *t, uint64_t size)
{
	uint64_t cur;
	int rc = sm_store_log_size(t, &cur);
	if (!rc && !t->write) {
		t->size = cur;
		t->size_known = true;
	}
	return rc ? rc : (size > cur ? SM_EINVAL : 0);
}

int sm_store_log_root(sm_txn *t, uint64_t size, uint8_t root[SM_HASH_LEN])
{
	int rc = check_size(t, size);
	if (!rc)
		warm_bottom(t, UINT64_MAX, &size, 1);
	return rc ? rc : sm_merkle_root(node_get, t, size, root);
}

int sm_store_log_inclusion(sm_txn *t, uint64_t index, uint64_t size, uint8_t proof[][SM_HASH_LEN], size_t *n)
{
	int rc = check_size(t, size);
	if (!rc && index < size)
		warm_bottom(t, index, &size, 1);
	return rc ? rc : sm_merkle_inclusion_proof(node_get, t, index, size, proof, n);
}

int sm_store_log_consistency(sm_txn *t, uint64_t size1, uint64_t size2, uint8_t proof[][SM_HASH_LEN], size_t *n)
{
	int rc = check_size(t, size2);
	const uint64_t edges[2] = {size1, size2};
	if (!rc && size1 <= size2)
		warm_bottom(t, UINT64_MAX, edges, 2);
	return rc ? rc : sm_merkle_consistency_proof(node_get, t, size1, size2, proof, n);
}

int sm_store_log_node(sm_txn *t, unsigned level, uint64_t index, uint8_t out[SM_HASH_LEN])
{
	return node_get_db(t, level, index, out); /* the node table itself: what log verify checks */
}
