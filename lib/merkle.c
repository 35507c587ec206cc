/* SPDX-License-Identifier: Apache-2.0 */
/* RFC 6962 / RFC 9162 Merkle tree: hashing, appends over a perfect-subtree store, proofs, checks. */
/*
 * The tree's hashes use OpenSSL's SHA256_Init/Update/Final, not EVP: the same assembly (SHA-NI where
 * the processor has it), without the provider context that OpenSSL 3.0 frees and allocates again at
 * every EVP_DigestInit_ex, which was a third of a node hash and most of a proof (bench/proofs.sh).
 * OpenSSL 3.0 deprecates these functions to steer new code towards EVP's choice of algorithm; a
 * tree whose hash RFC 6962 fixes has no choice to make, and they remain in OpenSSL 3.
 */
#define OPENSSL_SUPPRESS_DEPRECATED

#include <assert.h>
#include <string.h>

#include <openssl/sha.h>

#include "starmark/error.h"
#include "starmark/merkle.h"

/*
 * Costs, for a tree of n leaves (L = bit length of n - 1, at most 64):
 * - root: one get per set bit of n, so at most L + 1 reads;
 * - inclusion proof: one read per level with a sibling, except the one sibling on the right edge
 *   that may be a non-perfect subtree; that one is composed from its perfect parts, one read per
 *   set bit of its size, which is below 2^level. Together at most 2 * L reads;
 * - consistency proof: the same walk from the old tree's last perfect subtree, plus one read for
 *   that subtree itself: at most 2 * L + 1 reads.
 * Nothing here loops over leaves; every loop runs at most once per level (64).
 */

/* SHA-256 of the empty string: the root of the empty tree. */
static const uint8_t empty_root[SM_HASH_LEN] = {
	0xe3, 0xb0, 0xc4, 0x42, 0x98, 0xfc, 0x1c, 0x14, 0x9a, 0xfb, 0xf4, 0xc8, 0x99, 0x6f, 0xb9, 0x24,
	0x27, 0xae, 0x41, 0xe4, 0x64, 0x9b, 0x93, 0x4c, 0xa4, 0x95, 0x99, 0x1b, 0x78, 0x52, 0xb8, 0x55,
};

/* SHA-256(a || b), a not empty; SM_ECRYPTO when OpenSSL fails (out is then zeroed). */
static int digest(const uint8_t *a, size_t alen, const uint8_t *b, size_t blen, uint8_t out[SM_HASH_LEN])
{
	SHA256_CTX c;
	if (SHA256_Init(&c) != 1 || SHA256_Update(&c, a, alen) != 1 || (blen && SHA256_Update(&c, b, blen) != 1) ||
	    SHA256_Final(out, &c) != 1) {
		memset(out, 0, SM_HASH_LEN);
		return SM_ECRYPTO;
	}
	return 0;
}

static int node(const uint8_t l[SM_HASH_LEN], const uint8_t r[SM_HASH_LEN], uint8_t out[SM_HASH_LEN])
{
	/* One update of the whole 65 bytes: a proof's cost is mostly these hashes (bench/proofs.sh).
	 * The copy also lets out alias l or r. */
	uint8_t in[1 + 2 * SM_HASH_LEN];
	in[0] = 0x01;
	memcpy(in + 1, l, SM_HASH_LEN);
	memcpy(in + 1 + SM_HASH_LEN, r, SM_HASH_LEN);
	return digest(in, sizeof(in), NULL, 0, out);
}

/*
 * The void hashing entry points cannot report a failure; OpenSSL fails here only when out of
 * memory, and then `out` is all zeros, which matches no real hash, so any check built on it fails.
 */
void sm_merkle_leaf_hash(const uint8_t *data, size_t len, uint8_t out[SM_HASH_LEN])
{
	static const uint8_t prefix = 0x00;
	(void)digest(&prefix, 1, data, len, out);
}

void sm_merkle_node_hash(const uint8_t l[SM_HASH_LEN], const uint8_t r[SM_HASH_LEN], uint8_t out[SM_HASH_LEN])
{
	(void)node(l, r, out);
}

static uint64_t bit(unsigned level)
{
	return (uint64_t)1 << level;
}

static unsigned trailing_zeros(uint64_t x)
{
	return x ? (unsigned)__builtin_ctzll(x) : 64;
}

int sm_merkle_append(sm_merkle_get_fn get, sm_merkle_put_fn put, void *ctx, uint64_t index,
		     const uint8_t leaf[SM_HASH_LEN])
{
	uint8_t h[SM_HASH_LEN];
	uint8_t left[SM_HASH_LEN];
	int rc = put(ctx, 0, index, leaf);
	if (rc)
		return rc;
	memcpy(h, leaf, SM_HASH_LEN);
	/* Each trailing 1 bit of the index is a left sibling the new leaf completes a subtree with. */
	unsigned level = 0;
	uint64_t i = index;
	while (i & 1) {
		rc = get(ctx, level, i - 1, left);
		if (rc)
			return rc;
		rc = node(left, h, h);
		if (rc)
			return rc;
		i >>= 1;
		level++;
		rc = put(ctx, level, i, h);
		if (rc)
			return rc;
	}
	return 0;
}

/*
 * The hash of leaves [end - count, end), where the range starts on a multiple of the largest
 * power of two in count (true of every right-edge subtree of an RFC 6962 tree). Its perfect parts
 * follow the set bits of count, largest first; they are read from the right so the fold
 * HASH(part, rest) needs no buffer. One get per set bit of count.
 */
static int range_hash(sm_merkle_get_fn get, void *ctx, uint64_t end, uint64_t count, uint8_t out[SM_HASH_LEN])
{
	uint8_t part[SM_HASH_LEN];
	bool first = true;
	uint64_t pos = end;
	assert(count > 0);
	/* visit the set bits only: this runs for every right sibling of a proof (bench/proofs.sh) */
	for (uint64_t left = count; left; left &= left - 1) {
		unsigned level = trailing_zeros(left);
		pos -= bit(level);
		int rc = get(ctx, level, pos >> level, first ? out : part);
		if (rc)
			return rc;
		if (!first) {
			rc = node(part, out, out);
			if (rc)
				return rc;
		}
		first = false;
	}
	return 0;
}

int sm_merkle_root(sm_merkle_get_fn get, void *ctx, uint64_t size, uint8_t out[SM_HASH_LEN])
{
	if (size == 0) {
		memcpy(out, empty_root, SM_HASH_LEN);
		return 0;
	}
	return range_hash(get, ctx, size, size, out);
}

/*
 * The number of hashes on the path up from node `fn` at some level to the root, where `last` is
 * the index of the last node of the tree at that level: one per level where the node has a left
 * sibling, or a right sibling (perfect or the right edge); a last node with no sibling is carried
 * up as it is (RFC 9162 2.1.3.2).
 */
static size_t path_len(uint64_t fn, uint64_t last)
{
	size_t n = 0;
	while (last > 0) {
		if ((fn & 1) || fn < last)
			n++;
		fn >>= 1;
		last >>= 1;
	}
	return n;
}

/* Append the siblings of node (level, fn) up to the root of the tree of `size` leaves to proof. */
static int path(sm_merkle_get_fn get, void *ctx, unsigned level, uint64_t fn, uint64_t size,
		uint8_t proof[][SM_HASH_LEN], size_t *n)
{
	uint64_t last = (size - 1) >> level;
	while (last > 0) {
		int rc = 0;
		if (fn & 1) {
			rc = get(ctx, level, fn - 1, proof[*n]);
			(*n)++;
		} else if (fn < last) {
			/* The right sibling: perfect, or the right edge [(fn + 1) << level, size). */
			const uint64_t start = (fn + 1) << level;
			const uint64_t count = size - start < bit(level) ? size - start : bit(level);
			rc = range_hash(get, ctx, start + count, count, proof[*n]);
			(*n)++;
		}
		if (rc)
			return rc;
		fn >>= 1;
		last >>= 1;
		level++;
	}
	return 0;
}

int sm_merkle_inclusion_proof(sm_merkle_get_fn get, void *ctx, uint64_t index, uint64_t size,
			      uint8_t proof[][SM_HASH_LEN], size_t *n)
{
	*n = 0;
	if (index >= size)
		return SM_EINVAL;
	/* At most one hash per level below the root: bit length of size - 1 <= 64 entries. */
	return path(get, ctx, 0, index, size, proof, n);
}

int sm_merkle_consistency_proof(sm_merkle_get_fn get, void *ctx, uint64_t size1, uint64_t size2,
				uint8_t proof[][SM_HASH_LEN], size_t *n)
{
	*n = 0;
	if (size1 > size2)
		return SM_EINVAL;
	if (size1 == 0 || size1 == size2)
		return 0;
	/*
	 * RFC 9162 2.1.4.1 descends towards the old tree's last leaf until it meets a subtree ending
	 * exactly at size1: the perfect node at level ctz(size1). Unless that node is the whole old
	 * tree (size1 a power of two), it comes first, then the siblings on its path to the new root.
	 * At most 1 + 64 entries, within SM_MERKLE_MAX_CONSISTENCY.
	 */
	const unsigned level = trailing_zeros(size1);
	const uint64_t fn = (size1 - 1) >> level;
	if (fn != 0) {
		int rc = get(ctx, level, fn, proof[0]);
		if (rc)
			return rc;
		*n = 1;
	}
	return path(get, ctx, level, fn, size2, proof, n);
}

static bool same(const uint8_t a[SM_HASH_LEN], const uint8_t b[SM_HASH_LEN])
{
	return memcmp(a, b, SM_HASH_LEN) == 0;
}

int sm_merkle_verify_inclusion(const uint8_t leaf[SM_HASH_LEN], uint64_t index, uint64_t size,
			       const uint8_t proof[][SM_HASH_LEN], size_t n, const uint8_t root[SM_HASH_LEN])
{
	uint8_t r[SM_HASH_LEN];
	if (index >= size || n > SM_MERKLE_MAX_INCLUSION || n != path_len(index, size - 1))
		return SM_EVERIFY;
	/* RFC 9162 2.1.3.2, steps 2 to 5. */
	uint64_t fn = index;
	uint64_t sn = size - 1;
	memcpy(r, leaf, SM_HASH_LEN);
	for (size_t i = 0; i < n; i++) {
		int rc = 0;
		if (sn == 0)
			return SM_EVERIFY;
		if ((fn & 1) || fn == sn) {
			rc = node(proof[i], r, r);
			while (!(fn & 1) && fn != 0) {
				fn >>= 1;
				sn >>= 1;
			}
		} else {
			rc = node(r, proof[i], r);
		}
		if (rc)
			return rc;
		fn >>= 1;
		sn >>= 1;
	}
	return sn == 0 && same(r, root) ? 0 : SM_EVERIFY;
}

int sm_merkle_verify_consistency(uint64_t size1, uint64_t size2, const uint8_t root1[SM_HASH_LEN],
				 const uint8_t root2[SM_HASH_LEN], const uint8_t proof[][SM_HASH_LEN],
				 size_t n)
{
	uint8_t fr[SM_HASH_LEN];
	uint8_t sr[SM_HASH_LEN];
	/*
	 * RFC 9162 defines consistency proofs for 0 < size1 <= size2 only; the empty tree is a prefix
	 * of everything, so a "proof" from it shows nothing and is refused, as the published
	 * transparency-dev vectors require.
	 */
	if (size1 == 0 || size1 > size2 || n > SM_MERKLE_MAX_CONSISTENCY)
		return SM_EVERIFY;
	if (size1 == size2)
		return n == 0 && same(root1, root2) ? 0 : SM_EVERIFY;
	const unsigned level = trailing_zeros(size1);
	const bool seeded = ((size1 - 1) >> level) == 0; /* size1 a power of two: root1 is the seed */
	if (n != (seeded ? 0 : 1) + path_len((size1 - 1) >> level, (size2 - 1) >> level))
		return SM_EVERIFY;
	/* RFC 9162 2.1.4.2, with first_hash prepended to the path when size1 is a power of two. */
	const size_t total = n + (seeded ? 1 : 0);
	uint64_t fn = (size1 - 1) >> level;
	uint64_t sn = (size2 - 1) >> level;
	memcpy(fr, seeded ? root1 : proof[0], SM_HASH_LEN);
	memcpy(sr, fr, SM_HASH_LEN);
	for (size_t i = 1; i < total; i++) {
		const uint8_t *c = proof[seeded ? i - 1 : i];
		int rc = 0;
		if (sn == 0)
			return SM_EVERIFY;
		if ((fn & 1) || fn == sn) {
			rc = node(c, fr, fr);
			if (!rc)
				rc = node(c, sr, sr);
			while (!(fn & 1) && fn != 0) {
				fn >>= 1;
				sn >>= 1;
			}
		} else {
			rc = node(sr, c, sr);
		}
		if (rc)
			return rc;
		fn >>= 1;
		sn >>= 1;
	}
	return sn == 0 && same(fr, root1) && same(sr, root2) ? 0 : SM_EVERIFY;
}

void sm_merkle_frontier_init(sm_merkle_frontier *f)
{
	memset(f, 0, sizeof(*f));
}

void sm_merkle_frontier_push(sm_merkle_frontier *f, const uint8_t leaf[SM_HASH_LEN])
{
	uint8_t h[SM_HASH_LEN];
	/* 2^64 - 1 leaves cannot be reached by appending; refuse rather than index h[64]. */
	if (f->size == UINT64_MAX)
		return;
	memcpy(h, leaf, SM_HASH_LEN);
	unsigned level = 0;
	/* Like a binary increment: every set low bit is a perfect subtree the new one merges with. */
	while (f->size & bit(level)) {
		(void)node(f->h[level], h, h);
		level++;
	}
	memcpy(f->h[level], h, SM_HASH_LEN);
	f->size++;
}

void sm_merkle_frontier_root(const sm_merkle_frontier *f, uint8_t out[SM_HASH_LEN])
{
	bool first = true;
	if (f->size == 0) {
		memcpy(out, empty_root, SM_HASH_LEN);
		return;
	}
	/* The right-edge fold of sm_merkle_root, with the perfect subtrees held in memory. */
	for (unsigned level = 0; level < 64; level++) {
		if (!(f->size & bit(level)))
			continue;
		if (first)
			memcpy(out, f->h[level], SM_HASH_LEN);
		else
			(void)node(f->h[level], out, out);
		first = false;
	}
}
