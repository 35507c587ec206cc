/* SPDX-License-Identifier: Apache-2.0 */
/* RFC 6962 / RFC 9162 Merkle tree hashing, proofs and their verification. */
#ifndef STARMARK_MERKLE_H
#define STARMARK_MERKLE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define SM_HASH_LEN 32
/* Longest proofs for trees of up to 2^63 leaves. */
#define SM_MERKLE_MAX_INCLUSION 64
#define SM_MERKLE_MAX_CONSISTENCY 128

/** SHA-256(0x00 || data). */
void sm_merkle_leaf_hash(const uint8_t *data, size_t len, uint8_t out[SM_HASH_LEN]);
/** SHA-256(0x01 || l || r). */
void sm_merkle_node_hash(const uint8_t l[SM_HASH_LEN], const uint8_t r[SM_HASH_LEN], uint8_t out[SM_HASH_LEN]);

/*
 * The store keeps the hash of every *perfect* subtree: the node at (level, index) is the hash
 * of leaves [index << level, (index + 1) << level). Leaves are level 0. A tree of n leaves has
 * fewer than 2n of them. Root, inclusion and consistency proofs for any size need only
 * O(log n) of these nodes.
 *
 * get: write the node's hash to `out`; return 0, or a negative SM_E* code (passed back).
 */
typedef int (*sm_merkle_get_fn)(void *ctx, unsigned level, uint64_t index, uint8_t out[SM_HASH_LEN]);
/* put: store a new perfect-subtree node; return 0 or a negative SM_E* code. */
typedef int (*sm_merkle_put_fn)(void *ctx, unsigned level, uint64_t index, const uint8_t h[SM_HASH_LEN]);

/**
 * Record leaf number `index` (== the tree's size before the append) with hash `leaf`: calls
 * put for (0, index) and for every perfect subtree the leaf completes, reading left siblings
 * through get. Returns 0 or the first error of get/put.
 */
int sm_merkle_append(sm_merkle_get_fn get, sm_merkle_put_fn put, void *ctx, uint64_t index,
		     const uint8_t leaf[SM_HASH_LEN]);

/** The root of the first `size` leaves (size 0: SHA-256 of the empty string). */
int sm_merkle_root(sm_merkle_get_fn get, void *ctx, uint64_t size, uint8_t out[SM_HASH_LEN]);

/**
 * RFC 9162 inclusion proof of leaf `index` in the tree of `size` leaves into `proof`
 * (room for SM_MERKLE_MAX_INCLUSION hashes), its length into *n. SM_EINVAL when index >= size.
 */
int sm_merkle_inclusion_proof(sm_merkle_get_fn get, void *ctx, uint64_t index, uint64_t size,
			      uint8_t proof[][SM_HASH_LEN], size_t *n);

/**
 * RFC 9162 consistency proof between sizes `size1` <= `size2` into `proof` (room for
 * SM_MERKLE_MAX_CONSISTENCY hashes). Empty for size1 == size2 or size1 == 0.
 * SM_EINVAL when size1 > size2.
 */
int sm_merkle_consistency_proof(sm_merkle_get_fn get, void *ctx, uint64_t size1, uint64_t size2,
				uint8_t proof[][SM_HASH_LEN], size_t *n);

/** 0 when the proof shows `leaf` at `index` in the tree of `size` with `root`; SM_EVERIFY otherwise. */
int sm_merkle_verify_inclusion(const uint8_t leaf[SM_HASH_LEN], uint64_t index, uint64_t size,
			       const uint8_t proof[][SM_HASH_LEN], size_t n, const uint8_t root[SM_HASH_LEN]);

/** 0 when the proof shows the tree of size1/root1 is a prefix of size2/root2; SM_EVERIFY otherwise. */
int sm_merkle_verify_consistency(uint64_t size1, uint64_t size2, const uint8_t root1[SM_HASH_LEN],
				 const uint8_t root2[SM_HASH_LEN], const uint8_t proof[][SM_HASH_LEN], size_t n);

/*
 * A tree built in memory from its leaves in order, keeping only the right frontier
 * (one hash per level): used to recompute a root from scratch (log verify) in O(log n) memory.
 */
typedef struct sm_merkle_frontier {
	uint64_t size;
	uint8_t h[64][SM_HASH_LEN]; /* h[l] valid when bit l of size is set */
} sm_merkle_frontier;

void sm_merkle_frontier_init(sm_merkle_frontier *f);
void sm_merkle_frontier_push(sm_merkle_frontier *f, const uint8_t leaf[SM_HASH_LEN]);
void sm_merkle_frontier_root(const sm_merkle_frontier *f, uint8_t out[SM_HASH_LEN]);

#endif
