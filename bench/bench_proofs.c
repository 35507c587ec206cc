/* SPDX-License-Identifier: Apache-2.0 */
/* Times log roots, inclusion and consistency proofs on a small and a large registry (bench/proofs.sh). */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "starmark/merkle.h"
#include "starmark/registry.h"

/*
 * Usage: bench_proofs SMALL_DIR LARGE_DIR [CALLS]
 *
 * For each operation, CALLS timed calls per registry at random sizes and indexes, in batches that
 * alternate between the two registries so that the machine's noise falls on both alike. Before
 * timing, a sample of proofs is checked against the roots, so that what is timed is real work.
 * Prints one line per operation:  MEDIAN <op> <small ns> <large ns> <large/small>
 */

#define BATCH 500
#define CHECKS 200

enum op { OP_ROOT, OP_INCLUSION, OP_CONSISTENCY, OP_COUNT };
static const char *const op_names[OP_COUNT] = { "root", "inclusion", "consistency" };

typedef struct bench_reg {
	const char *dir;
	sm_registry *r;
	uint64_t size;
	uint64_t *ns[OP_COUNT];
	size_t n[OP_COUNT];
} bench_reg;

static uint64_t rng_state = 0x9e3779b97f4a7c15ull;

static uint64_t rnd(void)
{
	/* xorshift64*: enough for picking indexes */
	rng_state ^= rng_state >> 12;
	rng_state ^= rng_state << 25;
	rng_state ^= rng_state >> 27;
	return rng_state * 0x2545f4914f6cdd1dull;
}

/* A uniform value in [lo, hi]. */
static uint64_t rnd_in(uint64_t lo, uint64_t hi)
{
	return lo + rnd() % (hi - lo + 1);
}

static uint64_t now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static int fail(const char *what, const bench_reg *b, int rc, const sm_err *err)
{
	fprintf(stderr, "bench_proofs: %s on %s: %s (%s)\n", what, b->dir, err->msg[0] ? err->msg : "-", sm_strerror(rc));
	return 1;
}

/* One call of `op` at random arguments; its duration in *ns. */
static int timed_call(bench_reg *b, enum op op, uint64_t *ns)
{
	uint8_t root[SM_HASH_LEN];
	uint8_t proof[SM_MERKLE_MAX_CONSISTENCY][SM_HASH_LEN];
	size_t n = 0;
	sm_err err = { 0 };
	uint64_t size = rnd_in(1, b->size), other = rnd_in(op == OP_INCLUSION ? 0 : 1, size);
	int rc = 0;
	uint64_t t0 = now_ns();
	switch (op) {
	case OP_ROOT:
		rc = sm_registry_log_root(b->r, size, root, &err);
		break;
	case OP_INCLUSION:
		rc = sm_registry_inclusion(b->r, other == size ? size - 1 : other, size, proof, &n, &err);
		break;
	default:
		rc = sm_registry_consistency(b->r, other, size, proof, &n, &err);
		break;
	}
	*ns = now_ns() - t0;
	return rc ? fail(op_names[op], b, rc, &err) : 0;
}

struct leaf_ctx {
	uint8_t hash[SM_HASH_LEN];
	int seen;
};

static int take_leaf(void *ctx, uint64_t index, const uint8_t *p, size_t n)
{
	struct leaf_ctx *l = ctx;
	(void)index;
	sm_merkle_leaf_hash(p, n, l->hash);
	l->seen = 1;
	return 0;
}

/* Check a sample of inclusion and consistency proofs against the roots the registry gives. */
static int check_proofs(bench_reg *b)
{
	uint8_t root1[SM_HASH_LEN], root2[SM_HASH_LEN];
	uint8_t proof[SM_MERKLE_MAX_CONSISTENCY][SM_HASH_LEN];
	size_t n = 0;
	sm_err err = { 0 };
	int rc = 0;
	for (int i = 0; i < CHECKS && !rc; i++) {
		uint64_t size = rnd_in(1, b->size), index = rnd_in(0, size - 1), size1 = rnd_in(1, size);
		struct leaf_ctx leaf = { .seen = 0 };
		if ((rc = sm_registry_entries(b->r, index, 1, take_leaf, &leaf, &err)) || !leaf.seen)
			return fail("reading an entry", b, rc ? rc : SM_ENOTFOUND, &err);
		if ((rc = sm_registry_log_root(b->r, size, root2, &err)) ||
		    (rc = sm_registry_log_root(b->r, size1, root1, &err)))
			return fail("root", b, rc, &err);
		if ((rc = sm_registry_inclusion(b->r, index, size, proof, &n, &err)))
			return fail("inclusion", b, rc, &err);
		if (sm_merkle_verify_inclusion(leaf.hash, index, size, (const uint8_t(*)[SM_HASH_LEN])proof, n, root2)) {
			fprintf(stderr, "bench_proofs: %s: inclusion proof of %" PRIu64 " in %" PRIu64 " does not verify\n",
				b->dir, index, size);
			return 1;
		}
		if ((rc = sm_registry_consistency(b->r, size1, size, proof, &n, &err)))
			return fail("consistency", b, rc, &err);
		if (sm_merkle_verify_consistency(size1, size, root1, root2, (const uint8_t(*)[SM_HASH_LEN])proof, n)) {
			fprintf(stderr, "bench_proofs: %s: consistency proof %" PRIu64 " -> %" PRIu64 " does not verify\n",
				b->dir, size1, size);
			return 1;
		}
	}
	return 0;
}

static int open_reg(bench_reg *b, size_t calls)
{
	sm_err err = { 0 };
	int rc = sm_registry_open(b->dir, false, NULL, &b->r, &err);
	if (!rc)
		rc = sm_registry_log_size(b->r, &b->size, &err);
	if (rc)
		return fail("opening", b, rc, &err);
	if (b->size < 2) {
		fprintf(stderr, "bench_proofs: %s: the log holds %" PRIu64 " entries; too few to time\n", b->dir, b->size);
		return 1;
	}
	for (int op = 0; op < OP_COUNT; op++)
		if (!(b->ns[op] = calloc(calls, sizeof(uint64_t)))) {
			fprintf(stderr, "bench_proofs: out of memory\n");
			return 1;
		}
	return 0;
}

static void close_reg(bench_reg *b)
{
	for (int op = 0; op < OP_COUNT; op++)
		free(b->ns[op]);
	sm_registry_close(b->r);
}

static int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
	return x < y ? -1 : x > y;
}

static double median(uint64_t *v, size_t n)
{
	qsort(v, n, sizeof(*v), cmp_u64);
	return n % 2 ? (double)v[n / 2] : ((double)v[n / 2 - 1] + (double)v[n / 2]) / 2.0;
}

/* `count` calls of `op` on b, recorded when `record` (else a warm-up). */
static int run_batch(bench_reg *b, enum op op, size_t count, int record)
{
	uint64_t ns;
	for (size_t i = 0; i < count; i++) {
		if (timed_call(b, op, &ns))
			return 1;
		if (record)
			b->ns[op][b->n[op]++] = ns;
	}
	return 0;
}

int main(int argc, char **argv)
{
	bench_reg reg[2];
	size_t calls = 20000;
	int rc = 1;
	memset(reg, 0, sizeof(reg));
	if (argc < 3 || argc > 4) {
		fprintf(stderr, "usage: bench_proofs SMALL_DIR LARGE_DIR [CALLS]\n");
		return 2;
	}
	if (argc == 4) {
		char *end = NULL;
		unsigned long long v = strtoull(argv[3], &end, 10);
		if (*end || v < 1 || v > 10000000) {
			fprintf(stderr, "bench_proofs: CALLS must be 1..10000000, not '%s'\n", argv[3]);
			return 2;
		}
		calls = (size_t)v;
	}
	reg[0].dir = argv[1];
	reg[1].dir = argv[2];
	if (open_reg(&reg[0], calls) || open_reg(&reg[1], calls))
		goto out;
	printf("SIZES %" PRIu64 " %" PRIu64 "\n", reg[0].size, reg[1].size);
	if (check_proofs(&reg[0]) || check_proofs(&reg[1]))
		goto out;
	for (int op = 0; op < OP_COUNT; op++) {
		if (run_batch(&reg[0], op, BATCH, 0) || run_batch(&reg[1], op, BATCH, 0))
			goto out;
		while (reg[0].n[op] < calls) {
			size_t k = calls - reg[0].n[op] < BATCH ? calls - reg[0].n[op] : BATCH;
			if (run_batch(&reg[0], op, k, 1) || run_batch(&reg[1], op, k, 1))
				goto out;
		}
		double small = median(reg[0].ns[op], reg[0].n[op]), large = median(reg[1].ns[op], reg[1].n[op]);
		printf("MEDIAN %s %.0f %.0f %.3f\n", op_names[op], small, large, large / small);
	}
	rc = 0;
out:
	close_reg(&reg[0]);
	close_reg(&reg[1]);
	return rc;
}
