/* SPDX-License-Identifier: Apache-2.0 */
/* Tests of lib/merkle.c: published RFC 6962 vectors, an RFC-text reference, proof properties, costs. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <jansson.h>

#include "starmark/error.h"
#include "starmark/merkle.h"

#define MAX_LEVELS 65
#define PROOF_ROOM (SM_MERKLE_MAX_CONSISTENCY + 8)

/* A proof array as the verifiers take it. */
#define CPROOF(p) ((const uint8_t (*)[SM_HASH_LEN])(p))

/* Short names for the verifiers, for the many checks of the property tests. */
static int incl(const uint8_t leaf[SM_HASH_LEN], uint64_t m, uint64_t n, const uint8_t (*p)[SM_HASH_LEN],
		size_t len, const uint8_t root[SM_HASH_LEN])
{
	return sm_merkle_verify_inclusion(leaf, m, n, p, len, root);
}

static int cons(uint64_t m, uint64_t n, const uint8_t r1[SM_HASH_LEN], const uint8_t r2[SM_HASH_LEN],
		const uint8_t (*p)[SM_HASH_LEN], size_t len)
{
	return sm_merkle_verify_consistency(m, n, r1, r2, p, len);
}

/* ---- An in-memory node store: level l holds the perfect subtrees of 2^l leaves, in order. ---- */

typedef struct store {
	uint64_t cap;				  /* leaves there is room for */
	uint8_t (*lv[MAX_LEVELS])[SM_HASH_LEN];	  /* lv[l][i]: node (l, i) */
	uint64_t filled[MAX_LEVELS];		  /* nodes present at each level */
	uint64_t gets;				  /* get calls so far */
	uint64_t puts;				  /* put calls so far */
	uint64_t fail_get_at;			  /* 1-based get call that fails; 0: none */
	uint64_t fail_put_at;			  /* 1-based put call that fails; 0: none */
} store;

static store *store_new(uint64_t cap)
{
	store *s = calloc(1, sizeof(*s));
	assert_non_null(s);
	s->cap = cap;
	for (unsigned l = 0; l < MAX_LEVELS && (cap >> l) > 0; l++) {
		s->lv[l] = calloc((size_t)(cap >> l), SM_HASH_LEN);
		assert_non_null(s->lv[l]);
	}
	return s;
}

static void store_free(store *s)
{
	if (!s)
		return;
	for (unsigned l = 0; l < MAX_LEVELS; l++)
		free(s->lv[l]);
	free(s);
}

/* Only nodes already put exist: reading any other one is a bug in the code under test. */
static int store_get(void *ctx, unsigned level, uint64_t index, uint8_t out[SM_HASH_LEN])
{
	store *s = ctx;
	s->gets++;
	if (s->fail_get_at && s->gets == s->fail_get_at)
		return SM_ESTORE;
	if (level >= MAX_LEVELS || index >= s->filled[level])
		return SM_ENOTFOUND;
	memcpy(out, s->lv[level][index], SM_HASH_LEN);
	return 0;
}

static int store_put(void *ctx, unsigned level, uint64_t index, const uint8_t h[SM_HASH_LEN])
{
	store *s = ctx;
	s->puts++;
	if (s->fail_put_at && s->puts == s->fail_put_at)
		return SM_EIO;
	if (level >= MAX_LEVELS || index != s->filled[level] || index >= (s->cap >> level))
		return SM_ESTORE;
	memcpy(s->lv[level][index], h, SM_HASH_LEN);
	s->filled[level]++;
	return 0;
}

/* A leaf hash standing for leaf i: not a real hash, only distinct per i. */
static void synthetic_leaf(uint64_t i, uint8_t out[SM_HASH_LEN])
{
	for (unsigned b = 0; b < SM_HASH_LEN; b++)
		out[b] = (uint8_t)((i >> (8 * (b % 8))) ^ (b * 0x3b));
}

/* A store of `n` synthetic leaves appended in order, and the leaves themselves when `leaves`. */
static store *build(uint64_t n, uint8_t (*leaves)[SM_HASH_LEN])
{
	store *s = store_new(n);
	uint8_t leaf[SM_HASH_LEN];
	for (uint64_t i = 0; i < n; i++) {
		synthetic_leaf(i, leaf);
		if (leaves)
			memcpy(leaves[i], leaf, SM_HASH_LEN);
		assert_int_equal(sm_merkle_append(store_get, store_put, s, i, leaf), 0);
	}
	return s;
}

static unsigned bit_length(uint64_t x)
{
	unsigned n = 0;
	while (x) {
		n++;
		x >>= 1;
	}
	return n;
}

static void hex_to(const char *hex, uint8_t *out, size_t len)
{
	assert_int_equal(strlen(hex), 2 * len);
	for (size_t i = 0; i < len; i++) {
		unsigned v = 0;
		assert_int_equal(sscanf(hex + 2 * i, "%2x", &v), 1);
		out[i] = (uint8_t)v;
	}
}

/* ---- RFC 6962 section 2.1, written from the text, recursing over the leaf hashes. ---- */

static uint64_t split_point(uint64_t n)
{
	uint64_t k = 1;
	while (k << 1 < n)
		k <<= 1;
	return k;
}

static void ref_mth(const uint8_t (*d)[SM_HASH_LEN], uint64_t n, uint8_t out[SM_HASH_LEN])
{
	uint8_t l[SM_HASH_LEN];
	uint8_t r[SM_HASH_LEN];
	if (n == 0) {
		hex_to("e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855", out, SM_HASH_LEN);
		return;
	}
	if (n == 1) {
		memcpy(out, d[0], SM_HASH_LEN);
		return;
	}
	const uint64_t k = split_point(n);
	ref_mth(d, k, l);
	ref_mth(d + k, n - k, r);
	sm_merkle_node_hash(l, r, out);
}

static void ref_push(uint8_t (*proof)[SM_HASH_LEN], size_t *len, const uint8_t (*d)[SM_HASH_LEN], uint64_t n)
{
	assert_true(*len < PROOF_ROOM);
	ref_mth(d, n, proof[*len]);
	(*len)++;
}

static void ref_path(uint64_t m, const uint8_t (*d)[SM_HASH_LEN], uint64_t n, uint8_t (*proof)[SM_HASH_LEN],
		     size_t *len)
{
	if (n <= 1)
		return;
	const uint64_t k = split_point(n);
	if (m < k) {
		ref_path(m, d, k, proof, len);
		ref_push(proof, len, d + k, n - k);
	} else {
		ref_path(m - k, d + k, n - k, proof, len);
		ref_push(proof, len, d, k);
	}
}

static void ref_subproof(uint64_t m, const uint8_t (*d)[SM_HASH_LEN], uint64_t n, bool b,
			 uint8_t (*proof)[SM_HASH_LEN], size_t *len)
{
	if (m == n) {
		if (!b)
			ref_push(proof, len, d, n);
		return;
	}
	const uint64_t k = split_point(n);
	if (m <= k) {
		ref_subproof(m, d, k, b, proof, len);
		ref_push(proof, len, d + k, n - k);
	} else {
		ref_subproof(m - k, d + k, n - k, false, proof, len);
		ref_push(proof, len, d, k);
	}
}

/* ---- Published vectors (transparency-dev/merkle testdata). ---- */

static const char *vectors_dir(void)
{
	const char *d = getenv("SM_VECTORS");
	return d && *d ? d : "/work/shared/vectors";
}

static int b64_value(char c)
{
	if (c >= 'A' && c <= 'Z')
		return c - 'A';
	if (c >= 'a' && c <= 'z')
		return c - 'a' + 26;
	if (c >= '0' && c <= '9')
		return c - '0' + 52;
	if (c == '+')
		return 62;
	if (c == '/')
		return 63;
	return -1;
}

/* Strict RFC 4648 base64 with padding; -1 on a bad character, length or padding. */
static int b64_decode(const char *s, uint8_t *out, size_t cap, size_t *outlen)
{
	const size_t len = strlen(s);
	size_t o = 0;
	if (len % 4)
		return -1;
	for (size_t i = 0; i < len; i += 4) {
		const bool last = i + 4 == len;
		const size_t pad = last ? (s[i + 3] == '=') + (s[i + 2] == '=') : 0;
		uint32_t v = 0;
		if (pad == 1 && s[i + 2] == '=')
			return -1;
		for (size_t j = 0; j < 4; j++) {
			const int x = j >= 4 - pad ? 0 : b64_value(s[i + j]);
			if (x < 0)
				return -1;
			v = v << 6 | (uint32_t)x;
		}
		const size_t bytes = 3 - pad;
		if (o + bytes > cap)
			return -1;
		for (size_t j = 0; j < bytes; j++)
			out[o++] = (uint8_t)(v >> (16 - 8 * j));
	}
	*outlen = o;
	return 0;
}

static void b64_selftest(void)
{
	uint8_t out[8];
	size_t n = 0;
	assert_int_equal(b64_decode("", out, sizeof(out), &n), 0);
	assert_int_equal(n, 0);
	assert_int_equal(b64_decode("Zm9vYg==", out, sizeof(out), &n), 0);
	assert_int_equal(n, 4);
	assert_memory_equal(out, "foob", 4);
	assert_int_equal(b64_decode("Zm9vYmE=", out, sizeof(out), &n), 0);
	assert_int_equal(n, 5);
	assert_memory_equal(out, "fooba", 5);
	assert_int_equal(b64_decode("Zm9vYmFy", out, sizeof(out), &n), 0);
	assert_memory_equal(out, "foobar", 6);
	assert_int_equal(b64_decode("Zm9=YmFy", out, sizeof(out), &n), -1);
	assert_int_equal(b64_decode("Zm9", out, sizeof(out), &n), -1);
}

/*
 * The C API takes 32-byte hashes. Some vectors carry other lengths ("", "don't care 1"): they are
 * copied into a zeroed 32-byte buffer, which keeps distinct values distinct, and still checked:
 * the verdict is the same as the reference's byte comparison. The one exception is a leaf hash of
 * another length, which the reference refuses before any comparison and which the C API cannot
 * even be given: such a vector must want an error, and is counted rather than verified.
 */
static size_t vector_hash(const char *path, const char *b64, uint8_t out[SM_HASH_LEN])
{
	uint8_t raw[64];
	size_t n = 0;
	if (b64_decode(b64, raw, sizeof(raw), &n) != 0) {
		print_error("%s: bad base64 \"%s\"\n", path, b64);
		fail();
	}
	memset(out, 0, SM_HASH_LEN);
	memcpy(out, raw, n < SM_HASH_LEN ? n : SM_HASH_LEN);
	return n;
}

static size_t vector_proof(const char *path, json_t *arr, uint8_t (*proof)[SM_HASH_LEN])
{
	if (json_is_null(arr))
		return 0;
	assert_true(json_is_array(arr));
	assert_true(json_array_size(arr) <= PROOF_ROOM);
	for (size_t i = 0; i < json_array_size(arr); i++) {
		const char *s = json_string_value(json_array_get(arr, i));
		assert_non_null(s);
		vector_hash(path, s, proof[i]);
	}
	return json_array_size(arr);
}

/* The 8 leaves of the vectors' tree, as a store, and their leaf hashes. */
static const char *const eight_leaves_hex[8] = {
	"", "00", "10", "2021", "3031", "40414243", "5051525354555657", "606162636465666768696a6b6c6d6e6f",
};

static store *build_eight(uint8_t leaves[8][SM_HASH_LEN])
{
	store *s = store_new(8);
	for (uint64_t i = 0; i < 8; i++) {
		uint8_t data[16];
		const size_t len = strlen(eight_leaves_hex[i]) / 2;
		hex_to(eight_leaves_hex[i], data, len);
		sm_merkle_leaf_hash(data, len, leaves[i]);
		assert_int_equal(sm_merkle_append(store_get, store_put, s, i, leaves[i]), 0);
	}
	return s;
}

/*
 * jansson keeps integers in a signed 64-bit type and refuses larger ones, but some vectors hold
 * 2^64 - 1 (an index or size minus one, wrapped). Files are loaded with integers as reals, and the
 * exact value of each size field is read from the text here; the two are checked to agree.
 */
static uint64_t exact_uint(const char *path, const char *text, json_t *j, const char *key)
{
	char quoted[32];
	const int qlen = snprintf(quoted, sizeof(quoted), "\"%s\"", key);
	assert_true(qlen > 0 && (size_t)qlen < sizeof(quoted));
	const char *at = strstr(text, quoted);
	const json_t *v = json_object_get(j, key);
	if (!at || !json_is_number(v)) {
		print_error("%s: no number \"%s\"\n", path, key);
		fail();
	}
	at += qlen;
	while (*at == ' ' || *at == '\t' || *at == '\n' || *at == '\r' || *at == ':')
		at++;
	char *end = NULL;
	errno = 0;
	const unsigned long long x = strtoull(at, &end, 10);
	if (errno || end == at || *at == '-') {
		print_error("%s: \"%s\" is not an unsigned 64-bit integer\n", path, key);
		fail();
	}
	assert_true((double)x == json_number_value(v));
	return (uint64_t)x;
}

typedef struct walk_state {
	store *eight;
	const uint8_t (*leaves)[SM_HASH_LEN];
	size_t files;
	size_t happy;	    /* happy-path files whose proof was also generated and compared */
	size_t good;	    /* files with wantErr false */
	size_t leaf_not_hash; /* inclusion files whose leaf hash is not 32 bytes */
} walk_state;

static void check_verdict(const char *path, const char *desc, int want_err, int rc)
{
	if ((want_err && rc != SM_EVERIFY) || (!want_err && rc != 0)) {
		print_error("%s (\"%s\"): wantErr %s, verify returned %d (%s)\n", path, desc,
			    want_err ? "true" : "false", rc, sm_strerror(rc));
		fail();
	}
}

static void inclusion_file(const char *path, const char *text, json_t *j, walk_state *w)
{
	double idx_real = 0;
	double size_real = 0;
	const char *root_b64 = NULL;
	const char *leaf_b64 = NULL;
	const char *desc = NULL;
	json_t *arr = NULL;
	int want_err = 0;
	uint8_t root[SM_HASH_LEN];
	uint8_t leaf[SM_HASH_LEN];
	uint8_t proof[PROOF_ROOM][SM_HASH_LEN];
	json_error_t e;
	if (json_unpack_ex(j, &e, 0, "{s:F, s:F, s:s, s:s, s:o, s:s, s:b !}", "leafIdx", &idx_real,
			   "treeSize", &size_real, "root", &root_b64, "leafHash", &leaf_b64, "proof", &arr,
			   "desc", &desc, "wantErr", &want_err) != 0) {
		print_error("%s: %s\n", path, e.text);
		fail();
	}
	const uint64_t idx = exact_uint(path, text, j, "leafIdx");
	const uint64_t size = exact_uint(path, text, j, "treeSize");
	vector_hash(path, root_b64, root);
	const size_t n = vector_proof(path, arr, proof);
	if (vector_hash(path, leaf_b64, leaf) != SM_HASH_LEN) {
		check_verdict(path, desc, want_err, SM_EVERIFY);
		w->leaf_not_hash++;
		/* Padded, it must still fail, unless root and leaf are the same non-hash. */
		if (strcmp(root_b64, leaf_b64) != 0)
			check_verdict(path, desc, 1,
				      sm_merkle_verify_inclusion(leaf, idx, size, CPROOF(proof), n, root));
		return;
	}
	const int rc = sm_merkle_verify_inclusion(leaf, idx, size,
						  CPROOF(proof), n, root);
	check_verdict(path, desc, want_err, rc);
	w->good += !want_err;
	if (strcmp(desc, "happy path") != 0)
		return;
	/* The happy paths are proofs in the 8-leaf tree: generate them and compare bytes. */
	uint8_t got[PROOF_ROOM][SM_HASH_LEN];
	uint8_t got_root[SM_HASH_LEN];
	size_t got_n = 0;
	assert_true(size <= 8);
	assert_int_equal(sm_merkle_root(store_get, w->eight, size, got_root), 0);
	assert_memory_equal(got_root, root, SM_HASH_LEN);
	assert_memory_equal(w->leaves[idx], leaf, SM_HASH_LEN);
	assert_int_equal(sm_merkle_inclusion_proof(store_get, w->eight, idx, size, got, &got_n),
			 0);
	assert_int_equal(got_n, n);
	if (n)
		assert_memory_equal(got, proof, n * SM_HASH_LEN);
	w->happy++;
}

static void consistency_file(const char *path, const char *text, json_t *j, walk_state *w)
{
	double size1_real = 0;
	double size2_real = 0;
	const char *root1_b64 = NULL;
	const char *root2_b64 = NULL;
	const char *desc = NULL;
	json_t *arr = NULL;
	int want_err = 0;
	uint8_t root1[SM_HASH_LEN];
	uint8_t root2[SM_HASH_LEN];
	uint8_t proof[PROOF_ROOM][SM_HASH_LEN];
	json_error_t e;
	if (json_unpack_ex(j, &e, 0, "{s:F, s:F, s:s, s:s, s:o, s:s, s:b !}", "size1", &size1_real,
			   "size2", &size2_real, "root1", &root1_b64, "root2", &root2_b64, "proof", &arr,
			   "desc", &desc, "wantErr", &want_err) != 0) {
		print_error("%s: %s\n", path, e.text);
		fail();
	}
	const uint64_t size1 = exact_uint(path, text, j, "size1");
	const uint64_t size2 = exact_uint(path, text, j, "size2");
	vector_hash(path, root1_b64, root1);
	vector_hash(path, root2_b64, root2);
	const size_t n = vector_proof(path, arr, proof);
	const int rc = sm_merkle_verify_consistency(size1, size2, root1, root2,
						    CPROOF(proof), n);
	check_verdict(path, desc, want_err, rc);
	w->good += !want_err;
	if (strcmp(desc, "happy path") != 0)
		return;
	uint8_t got[PROOF_ROOM][SM_HASH_LEN];
	uint8_t got_root[SM_HASH_LEN];
	size_t got_n = 0;
	assert_true(size2 <= 8);
	assert_int_equal(sm_merkle_root(store_get, w->eight, size1, got_root), 0);
	assert_memory_equal(got_root, root1, SM_HASH_LEN);
	assert_int_equal(sm_merkle_root(store_get, w->eight, size2, got_root), 0);
	assert_memory_equal(got_root, root2, SM_HASH_LEN);
	assert_int_equal(sm_merkle_consistency_proof(store_get, w->eight, size1, size2, got,
						     &got_n),
			 0);
	assert_int_equal(got_n, n);
	if (n)
		assert_memory_equal(got, proof, n * SM_HASH_LEN);
	w->happy++;
}

typedef void (*vector_fn)(const char *path, const char *text, json_t *j, walk_state *w);

static void walk(const char *dir, vector_fn fn, walk_state *w)
{
	DIR *d = opendir(dir);
	if (!d) {
		print_error("cannot open vector directory %s (set SM_VECTORS)\n", dir);
		fail();
	}
	for (struct dirent *ent = readdir(d); ent; ent = readdir(d)) {
		char path[4096];
		struct stat st;
		if (strcmp(ent->d_name, ".") == 0 || strcmp(ent->d_name, "..") == 0)
			continue;
		const int len = snprintf(path, sizeof(path), "%s/%s", dir, ent->d_name);
		assert_true(len > 0 && (size_t)len < sizeof(path));
		assert_int_equal(stat(path, &st), 0);
		if (S_ISDIR(st.st_mode)) {
			walk(path, fn, w);
			continue;
		}
		const size_t nlen = strlen(ent->d_name);
		if (nlen < 5 || strcmp(ent->d_name + nlen - 5, ".json") != 0)
			continue;
		char text[16384];
		FILE *fp = fopen(path, "rb");
		assert_non_null(fp);
		const size_t tlen = fread(text, 1, sizeof(text) - 1, fp);
		assert_true(feof(fp)); /* vector files are small */
		fclose(fp);
		text[tlen] = '\0';
		json_error_t e;
		json_t *j = json_loadb(text, tlen, JSON_REJECT_DUPLICATES | JSON_DECODE_INT_AS_REAL, &e);
		if (!j) {
			print_error("%s:%d: %s\n", path, e.line, e.text);
			fail();
		}
		fn(path, text, j, w);
		json_decref(j);
		w->files++;
	}
	closedir(d);
}

static void walk_vectors(const char *sub, vector_fn fn, walk_state *w)
{
	char dir[4096];
	uint8_t leaves[8][SM_HASH_LEN];
	const int len = snprintf(dir, sizeof(dir), "%s/merkle/%s", vectors_dir(), sub);
	assert_true(len > 0 && (size_t)len < sizeof(dir));
	w->eight = build_eight(leaves);
	w->leaves = CPROOF(leaves);
	walk(dir, fn, w);
	store_free(w->eight);
	w->eight = NULL;
	w->leaves = NULL;
}

/* ---- Tests ---- */

static void test_merkle_hash_known_values(void **state)
{
	(void)state;
	uint8_t h[SM_HASH_LEN];
	uint8_t want[SM_HASH_LEN];
	const uint8_t zero = 0x00;
	sm_merkle_leaf_hash(NULL, 0, h);
	hex_to("6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d", want, SM_HASH_LEN);
	assert_memory_equal(h, want, SM_HASH_LEN);
	sm_merkle_leaf_hash(&zero, 1, h);
	hex_to("96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7", want, SM_HASH_LEN);
	assert_memory_equal(h, want, SM_HASH_LEN);
	/* SHA-256(0x01 || 0^64) and SHA-256(0x00 || 0^64), from Python's hashlib. */
	uint8_t z[2 * SM_HASH_LEN] = {0};
	sm_merkle_node_hash(z, z + SM_HASH_LEN, h);
	hex_to("ae0798d0ecaed2b778eddebf18f071a561c53658c05e76cedecc27cafbdbc577", want, SM_HASH_LEN);
	assert_memory_equal(h, want, SM_HASH_LEN);
	sm_merkle_leaf_hash(z, sizeof(z), h);
	hex_to("98ce42deef51d40269d542f5314bef2c7468d401ad5d85168bfab4c0108f75f7", want, SM_HASH_LEN);
	assert_memory_equal(h, want, SM_HASH_LEN);
	/* Node hashing may write into one of its inputs. */
	uint8_t a[SM_HASH_LEN];
	uint8_t b[SM_HASH_LEN];
	synthetic_leaf(1, a);
	synthetic_leaf(2, b);
	sm_merkle_node_hash(a, b, h);
	sm_merkle_node_hash(a, b, a);
	assert_memory_equal(a, h, SM_HASH_LEN);
	/* The empty tree: SHA-256 of nothing, from the store and from the frontier. */
	store *s = store_new(1);
	sm_merkle_frontier f;
	hex_to("e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855", want, SM_HASH_LEN);
	assert_int_equal(sm_merkle_root(store_get, s, 0, h), 0);
	assert_memory_equal(h, want, SM_HASH_LEN);
	assert_int_equal(s->gets, 0);
	sm_merkle_frontier_init(&f);
	sm_merkle_frontier_root(&f, h);
	assert_memory_equal(h, want, SM_HASH_LEN);
	store_free(s);
}

static void test_merkle_eight_leaf_root(void **state)
{
	(void)state;
	uint8_t leaves[8][SM_HASH_LEN];
	uint8_t want[SM_HASH_LEN];
	uint8_t got[SM_HASH_LEN];
	size_t n = 0;
	store *s = build_eight(leaves);
	sm_merkle_frontier f;
	const char *published = "XcnaeacGWamtVZy3Ad7ZoqudgjqtL0lgz+Nw7/RgQyg=";
	assert_int_equal(b64_decode(published, want, sizeof(want), &n), 0);
	assert_int_equal(n, SM_HASH_LEN);
	assert_int_equal(sm_merkle_root(store_get, s, 8, got), 0);
	assert_memory_equal(got, want, SM_HASH_LEN);
	sm_merkle_frontier_init(&f);
	for (unsigned i = 0; i < 8; i++)
		sm_merkle_frontier_push(&f, leaves[i]);
	assert_int_equal(f.size, 8);
	sm_merkle_frontier_root(&f, got);
	assert_memory_equal(got, want, SM_HASH_LEN);
	/* 8 appends put 8 leaves and 4 + 2 + 1 inner nodes. */
	assert_int_equal(s->puts, 15);
	store_free(s);
}

static void test_merkle_vectors_inclusion(void **state)
{
	(void)state;
	walk_state w = {0};
	b64_selftest();
	walk_vectors("inclusion", inclusion_file, &w);
	assert_true(w.files > 50);
	assert_int_equal(w.happy, 5);
	assert_int_equal(w.good, 6); /* 5 happy paths and the single-entry match */
	/* "" in single-entry (2) and additional/N/empty-root (4), "WrongLeaf" in N/wrong-leaf (5) */
	assert_int_equal(w.leaf_not_hash, 11);
}

static void test_merkle_vectors_consistency(void **state)
{
	(void)state;
	walk_state w = {0};
	walk_vectors("consistency", consistency_file, &w);
	assert_true(w.files > 50);
	assert_int_equal(w.happy, 5);
	assert_int_equal(w.good, 6); /* 5 happy paths and "sizes are equal (one)" */
}

/* Proofs and roots for every size up to 64 equal RFC 6962's recursive definitions, byte for byte. */
static void test_merkle_matches_rfc_reference(void **state)
{
	(void)state;
	enum { N = 64 };
	uint8_t leaves[N][SM_HASH_LEN];
	uint8_t want[PROOF_ROOM][SM_HASH_LEN];
	uint8_t got[PROOF_ROOM][SM_HASH_LEN];
	uint8_t root[SM_HASH_LEN];
	uint8_t ref_root[SM_HASH_LEN];
	store *s = build(N, leaves);
	for (uint64_t n = 0; n <= N; n++) {
		assert_int_equal(sm_merkle_root(store_get, s, n, root), 0);
		ref_mth(CPROOF(leaves), n, ref_root);
		assert_memory_equal(root, ref_root, SM_HASH_LEN);
		for (uint64_t m = 0; m < n; m++) {
			size_t wn = 0;
			size_t gn = 0;
			ref_path(m, CPROOF(leaves), n, want, &wn);
			assert_int_equal(sm_merkle_inclusion_proof(store_get, s, m, n, got, &gn), 0);
			assert_int_equal(gn, wn);
			if (wn)
				assert_memory_equal(got, want, wn * SM_HASH_LEN);
		}
		for (uint64_t m = 1; m < n; m++) {
			size_t wn = 0;
			size_t gn = 0;
			ref_subproof(m, CPROOF(leaves), n, true, want, &wn);
			assert_int_equal(sm_merkle_consistency_proof(store_get, s, m, n, got, &gn), 0);
			assert_int_equal(gn, wn);
			assert_true(wn > 0);
			assert_memory_equal(got, want, wn * SM_HASH_LEN);
		}
	}
	store_free(s);
}

/* Flip each bit of the proof, root and leaf in turn: every change must be refused. */
static void flip_inclusion(const uint8_t leaf[SM_HASH_LEN], uint64_t m, uint64_t n,
			   uint8_t (*proof)[SM_HASH_LEN], size_t len, const uint8_t root[SM_HASH_LEN])
{
	uint8_t l[SM_HASH_LEN];
	uint8_t r[SM_HASH_LEN];
	const uint8_t (*p)[SM_HASH_LEN] = CPROOF(proof);
	for (size_t i = 0; i < len; i++) {
		for (unsigned b = 0; b < SM_HASH_LEN; b++) {
			proof[i][b] ^= (uint8_t)(1u << (b % 8));
			assert_int_equal(sm_merkle_verify_inclusion(leaf, m, n, p, len, root), SM_EVERIFY);
			proof[i][b] ^= (uint8_t)(1u << (b % 8));
		}
	}
	for (unsigned b = 0; b < SM_HASH_LEN; b++) {
		memcpy(l, leaf, SM_HASH_LEN);
		memcpy(r, root, SM_HASH_LEN);
		l[b] ^= 0x80;
		r[b] ^= 0x01;
		assert_int_equal(sm_merkle_verify_inclusion(l, m, n, p, len, root), SM_EVERIFY);
		assert_int_equal(sm_merkle_verify_inclusion(leaf, m, n, p, len, r), SM_EVERIFY);
	}
	assert_int_equal(sm_merkle_verify_inclusion(leaf, m, n, p, len, root), 0);
}

static void test_merkle_inclusion_properties(void **state)
{
	(void)state;
	enum { N = 300 };
	uint8_t (*leaves)[SM_HASH_LEN] = calloc(N, SM_HASH_LEN);
	uint8_t proof[PROOF_ROOM][SM_HASH_LEN];
	uint8_t root[SM_HASH_LEN];
	uint8_t froot[SM_HASH_LEN];
	uint64_t checked = 0;
	uint64_t flipped = 0;
	assert_non_null(leaves);
	store *s = build(N, leaves);
	sm_merkle_frontier f;
	sm_merkle_frontier_init(&f);
	for (uint64_t n = 1; n <= N; n++) {
		sm_merkle_frontier_push(&f, leaves[n - 1]);
		assert_int_equal(sm_merkle_root(store_get, s, n, root), 0);
		sm_merkle_frontier_root(&f, froot);
		assert_memory_equal(froot, root, SM_HASH_LEN);
		for (uint64_t m = 0; m < n; m++) {
			size_t len = 0;
			const uint8_t (*p)[SM_HASH_LEN] = CPROOF(proof);
			assert_int_equal(sm_merkle_inclusion_proof(store_get, s, m, n, proof, &len), 0);
			assert_true(len <= bit_length(n - 1));
			assert_int_equal(incl(leaves[m], m, n, p, len, root), 0);
			/* The same proof for another leaf or index, or cut or padded, is refused. */
			assert_int_equal(incl(leaves[(m + 1) % N], m, n, p, len, root), SM_EVERIFY);
			if (n > 1) {
				assert_int_equal(incl(leaves[m], (m + 1) % n, n, p, len, root), SM_EVERIFY);
				assert_int_equal(incl(leaves[m], m, n, p, len - 1, root), SM_EVERIFY);
			}
			/*
			 * (Not asserted: the same proof at size n + 1. Where the path has the same shape
			 * in both trees, e.g. leaf 0 of 3 and of 4, it leads to the same root; the root
			 * is what binds the size.)
			 */
			memcpy(proof[len], root, SM_HASH_LEN);
			assert_int_equal(incl(leaves[m], m, n, p, len + 1, root), SM_EVERIFY);
			if ((n * 31 + m) % 97 == 0) {
				flip_inclusion(leaves[m], m, n, proof, len, root);
				flipped++;
			}
			checked++;
		}
	}
	assert_int_equal(checked, (uint64_t)N * (N + 1) / 2);
	assert_true(flipped > 100);
	store_free(s);
	free(leaves);
}

static void flip_consistency(uint64_t m, uint64_t n, const uint8_t r1[SM_HASH_LEN],
			     const uint8_t r2[SM_HASH_LEN], uint8_t (*proof)[SM_HASH_LEN], size_t len)
{
	const uint8_t (*p)[SM_HASH_LEN] = CPROOF(proof);
	uint8_t x[SM_HASH_LEN];
	for (size_t i = 0; i < len; i++) {
		for (unsigned b = 0; b < SM_HASH_LEN; b++) {
			proof[i][b] ^= (uint8_t)(1u << (b % 8));
			assert_int_equal(sm_merkle_verify_consistency(m, n, r1, r2, p, len), SM_EVERIFY);
			proof[i][b] ^= (uint8_t)(1u << (b % 8));
		}
	}
	for (unsigned b = 0; b < SM_HASH_LEN; b++) {
		memcpy(x, r1, SM_HASH_LEN);
		x[b] ^= 0x10;
		assert_int_equal(sm_merkle_verify_consistency(m, n, x, r2, p, len), SM_EVERIFY);
		memcpy(x, r2, SM_HASH_LEN);
		x[b] ^= 0x04;
		assert_int_equal(sm_merkle_verify_consistency(m, n, r1, x, p, len), SM_EVERIFY);
	}
	assert_int_equal(sm_merkle_verify_consistency(m, n, r1, r2, p, len), 0);
}

static void test_merkle_consistency_properties(void **state)
{
	(void)state;
	enum { N = 130 };
	uint8_t roots[N + 1][SM_HASH_LEN];
	uint8_t proof[PROOF_ROOM][SM_HASH_LEN];
	const uint8_t (*p)[SM_HASH_LEN] = CPROOF(proof);
	uint64_t flipped = 0;
	store *s = build(N, NULL);
	for (uint64_t n = 0; n <= N; n++)
		assert_int_equal(sm_merkle_root(store_get, s, n, roots[n]), 0);
	for (uint64_t n = 1; n <= N; n++) {
		for (uint64_t m = 1; m <= n; m++) {
			size_t len = 0;
			assert_int_equal(sm_merkle_consistency_proof(store_get, s, m, n, proof, &len), 0);
			assert_true(len <= 1 + bit_length(n - 1));
			assert_int_equal(cons(m, n, roots[m], roots[n], p, len), 0);
			if (m == n) {
				assert_int_equal(len, 0);
				continue;
			}
			/* Swapped roots, neighbouring sizes, a cut or padded proof: refused. */
			assert_int_equal(cons(m, n, roots[n], roots[m], p, len), SM_EVERIFY);
			assert_int_equal(cons(m, n, roots[m - 1], roots[n], p, len), SM_EVERIFY);
			if (n < N)
				assert_int_equal(cons(m, n + 1, roots[m], roots[n + 1], p, len), SM_EVERIFY);
			if (m > 1)
				assert_int_equal(cons(m - 1, n, roots[m - 1], roots[n], p, len), SM_EVERIFY);
			assert_int_equal(cons(m, n, roots[m], roots[n], p, len - 1), SM_EVERIFY);
			memcpy(proof[len], roots[m], SM_HASH_LEN);
			assert_int_equal(cons(m, n, roots[m], roots[n], p, len + 1), SM_EVERIFY);
			/* A proof with the old root put first (the RFC's seed, never sent) is refused too. */
			memmove(proof[1], proof[0], len * SM_HASH_LEN);
			memcpy(proof[0], roots[m], SM_HASH_LEN);
			assert_int_equal(cons(m, n, roots[m], roots[n], p, len + 1), SM_EVERIFY);
			memmove(proof[0], proof[1], len * SM_HASH_LEN);
			if ((n * 7 + m) % 23 == 0) {
				flip_consistency(m, n, roots[m], roots[n], proof, len);
				flipped++;
			}
		}
	}
	assert_true(flipped > 100);
	store_free(s);
}

static void test_merkle_rejects_bad_arguments(void **state)
{
	(void)state;
	uint8_t leaves[16][SM_HASH_LEN];
	uint8_t proof[PROOF_ROOM][SM_HASH_LEN];
	const uint8_t (*p)[SM_HASH_LEN] = CPROOF(proof);
	uint8_t root[SM_HASH_LEN];
	uint8_t r5[SM_HASH_LEN];
	size_t n = 99;
	store *s = build(16, leaves);
	/* Generation: index outside the tree, size1 > size2. */
	assert_int_equal(sm_merkle_inclusion_proof(store_get, s, 16, 16, proof, &n), SM_EINVAL);
	assert_int_equal(n, 0);
	assert_int_equal(sm_merkle_inclusion_proof(store_get, s, 0, 0, proof, &n), SM_EINVAL);
	assert_int_equal(sm_merkle_inclusion_proof(store_get, s, UINT64_MAX, 3, proof, &n), SM_EINVAL);
	n = 99;
	assert_int_equal(sm_merkle_consistency_proof(store_get, s, 6, 5, proof, &n), SM_EINVAL);
	assert_int_equal(n, 0);
	/* Empty consistency proofs, read nothing. */
	s->gets = 0;
	n = 99;
	assert_int_equal(sm_merkle_consistency_proof(store_get, s, 0, 16, proof, &n), 0);
	assert_int_equal(n, 0);
	n = 99;
	assert_int_equal(sm_merkle_consistency_proof(store_get, s, 7, 7, proof, &n), 0);
	assert_int_equal(n, 0);
	assert_int_equal(s->gets, 0);
	/* Sizes beyond what the store holds: the store's error comes back. */
	assert_int_equal(sm_merkle_root(store_get, s, 17, root), SM_ENOTFOUND);
	assert_int_equal(sm_merkle_inclusion_proof(store_get, s, 3, 40, proof, &n), SM_ENOTFOUND);

	/* Verification: index >= size, size 0, size1 > size2, size1 == 0. */
	assert_int_equal(sm_merkle_root(store_get, s, 16, root), 0);
	assert_int_equal(sm_merkle_root(store_get, s, 5, r5), 0);
	assert_int_equal(sm_merkle_inclusion_proof(store_get, s, 3, 16, proof, &n), 0);
	assert_int_equal(n, 4);
	assert_int_equal(sm_merkle_verify_inclusion(leaves[3], 3, 16, p, n, root), 0);
	assert_int_equal(sm_merkle_verify_inclusion(leaves[3], 16, 16, p, n, root), SM_EVERIFY);
	assert_int_equal(sm_merkle_verify_inclusion(leaves[3], 3, 0, p, 0, root), SM_EVERIFY);
	assert_int_equal(sm_merkle_verify_inclusion(leaves[3], UINT64_MAX, 16, p, n, root), SM_EVERIFY);
	assert_int_equal(sm_merkle_verify_inclusion(leaves[3], 3, 16, p, SM_MERKLE_MAX_INCLUSION + 1, root),
			 SM_EVERIFY);
	/* A single-leaf tree takes an empty proof only. */
	assert_int_equal(sm_merkle_verify_inclusion(leaves[0], 0, 1, p, 0, leaves[0]), 0);
	assert_int_equal(sm_merkle_verify_inclusion(leaves[0], 0, 1, p, 1, leaves[0]), SM_EVERIFY);

	assert_int_equal(sm_merkle_consistency_proof(store_get, s, 5, 16, proof, &n), 0);
	assert_int_equal(sm_merkle_verify_consistency(5, 16, r5, root, p, n), 0);
	assert_int_equal(sm_merkle_verify_consistency(16, 5, root, r5, p, n), SM_EVERIFY);
	assert_int_equal(sm_merkle_verify_consistency(5, 16, r5, root, p, SM_MERKLE_MAX_CONSISTENCY + 1),
			 SM_EVERIFY);
	assert_int_equal(sm_merkle_verify_consistency(5, 16, r5, root, p, 0), SM_EVERIFY);
	assert_int_equal(sm_merkle_verify_consistency(16, 16, root, root, p, 0), 0);
	assert_int_equal(sm_merkle_verify_consistency(16, 16, root, root, p, 1), SM_EVERIFY);
	assert_int_equal(sm_merkle_verify_consistency(16, 16, root, r5, p, 0), SM_EVERIFY);
	uint8_t empty[SM_HASH_LEN];
	assert_int_equal(sm_merkle_root(store_get, s, 0, empty), 0);
	assert_int_equal(sm_merkle_verify_consistency(0, 16, empty, root, p, 0), SM_EVERIFY);
	assert_int_equal(sm_merkle_verify_consistency(0, 0, empty, empty, p, 0), SM_EVERIFY);
	store_free(s);
}

/* Costs at a million leaves: reads stay within 2 * log2(n) + 1, far below 3 * 64. */
static void test_merkle_get_cost_million(void **state)
{
	(void)state;
	const uint64_t N = 1000000;
	uint8_t proof[PROOF_ROOM][SM_HASH_LEN];
	const uint8_t (*p)[SM_HASH_LEN] = CPROOF(proof);
	uint8_t root[SM_HASH_LEN];
	uint8_t root1[SM_HASH_LEN];
	uint8_t leaf[SM_HASH_LEN];
	sm_merkle_frontier f;
	sm_merkle_frontier_init(&f);
	store *s = store_new(N);
	uint64_t want_gets = 0;
	for (uint64_t i = 0; i < N; i++) {
		synthetic_leaf(i, leaf);
		assert_int_equal(sm_merkle_append(store_get, store_put, s, i, leaf), 0);
		sm_merkle_frontier_push(&f, leaf);
		for (uint64_t j = i; j & 1; j >>= 1)
			want_gets++;
	}
	/* Appends read only the left siblings they complete. */
	assert_int_equal(s->gets, want_gets);
	assert_int_equal(f.size, N);
	sm_merkle_frontier_root(&f, root1);
	assert_int_equal(sm_merkle_root(store_get, s, N, root), 0);
	assert_memory_equal(root, root1, SM_HASH_LEN);

	const uint64_t sizes[] = {N, N - 1, 524288, 524289, 786431, 999999 - 65536, 3, 1};
	for (size_t k = 0; k < sizeof(sizes) / sizeof(sizes[0]); k++) {
		const uint64_t n = sizes[k];
		const uint64_t bound = 2 * bit_length(n - 1) + 1;
		s->gets = 0;
		assert_int_equal(sm_merkle_root(store_get, s, n, root), 0);
		assert_true(s->gets <= bit_length(n));
		const uint64_t idx[] = {0, n - 1, n / 2, n / 3, 777777 % n, (n - 1) & ~(uint64_t)1};
		for (size_t i = 0; i < sizeof(idx) / sizeof(idx[0]); i++) {
			size_t len = 0;
			s->gets = 0;
			assert_int_equal(sm_merkle_inclusion_proof(store_get, s, idx[i], n, proof, &len), 0);
			assert_true(s->gets <= bound);
			assert_true(s->gets <= 3 * 64);
			synthetic_leaf(idx[i], leaf);
			assert_int_equal(sm_merkle_verify_inclusion(leaf, idx[i], n, p, len, root), 0);
		}
		const uint64_t olds[] = {1, 2, 3, n / 2, n - 1, 999 % n + 1, 524287 % n + 1, 131071 % n + 1};
		for (size_t i = 0; i < sizeof(olds) / sizeof(olds[0]); i++) {
			size_t len = 0;
			const uint64_t m = olds[i] > n ? n : olds[i] == 0 ? 1 : olds[i];
			assert_int_equal(sm_merkle_root(store_get, s, m, root1), 0);
			s->gets = 0;
			assert_int_equal(sm_merkle_consistency_proof(store_get, s, m, n, proof, &len), 0);
			assert_true(s->gets <= bound);
			assert_true(s->gets <= 3 * 64);
			assert_int_equal(sm_merkle_verify_consistency(m, n, root1, root, p, len), 0);
		}
	}
	store_free(s);
}

/* Every read or write failure, at whichever call it happens, comes back unchanged. */
static void test_merkle_store_errors_propagate(void **state)
{
	(void)state;
	uint8_t proof[PROOF_ROOM][SM_HASH_LEN];
	uint8_t h[SM_HASH_LEN];
	size_t len = 0;
	store *s = build(300, NULL);
	const uint64_t cases[][3] = {
		/* kind (0 root, 1 inclusion, 2 consistency), a, b */
		{0, 0, 299}, {0, 0, 255}, {1, 0, 299}, {1, 298, 299},
		{1, 255, 300}, {2, 5, 299}, {2, 128, 300}, {2, 3, 7},
	};
	for (size_t c = 0; c < sizeof(cases) / sizeof(cases[0]); c++) {
		uint64_t total = 0;
		for (uint64_t k = 0; k == 0 || k <= total; k++) {
			int rc = 0;
			const uint64_t a = cases[c][1];
			const uint64_t b = cases[c][2];
			s->gets = 0;
			s->fail_get_at = k;
			if (cases[c][0] == 0)
				rc = sm_merkle_root(store_get, s, b, h);
			else if (cases[c][0] == 1)
				rc = sm_merkle_inclusion_proof(store_get, s, a, b, proof, &len);
			else
				rc = sm_merkle_consistency_proof(store_get, s, a, b, proof, &len);
			if (k == 0) {
				assert_int_equal(rc, 0);
				total = s->gets;
				assert_true(total > 0);
			} else {
				assert_int_equal(rc, SM_ESTORE);
				assert_int_equal(s->gets, k); /* stopped at the failure */
			}
		}
	}
	s->fail_get_at = 0;
	store_free(s);

	/* Appending leaf 255 reads 8 left siblings and writes 9 nodes: fail each in turn. */
	uint8_t leaf[SM_HASH_LEN];
	synthetic_leaf(255, leaf);
	for (uint64_t k = 1; k <= 8 + 9; k++) {
		/* A failed append leaves its nodes half written: a fresh store each time. */
		store *t = store_new(256);
		for (uint64_t i = 0; i < 255; i++) {
			synthetic_leaf(i, h);
			assert_int_equal(sm_merkle_append(store_get, store_put, t, i, h), 0);
		}
		t->gets = 0;
		t->puts = 0;
		if (k <= 8) {
			t->fail_get_at = k;
			assert_int_equal(sm_merkle_append(store_get, store_put, t, 255, leaf), SM_ESTORE);
			assert_int_equal(t->gets, k);
		} else {
			t->fail_put_at = k - 8;
			assert_int_equal(sm_merkle_append(store_get, store_put, t, 255, leaf), SM_EIO);
			assert_int_equal(t->puts, k - 8);
		}
		store_free(t);
	}
}

static void test_merkle_frontier_edges(void **state)
{
	(void)state;
	sm_merkle_frontier f;
	uint8_t leaf[SM_HASH_LEN];
	uint8_t a[SM_HASH_LEN];
	uint8_t b[SM_HASH_LEN];
	synthetic_leaf(7, leaf);
	sm_merkle_frontier_init(&f);
	sm_merkle_frontier_push(&f, leaf);
	sm_merkle_frontier_root(&f, a);
	assert_memory_equal(a, leaf, SM_HASH_LEN); /* one leaf: the root is the leaf hash */
	/* A full frontier cannot grow: it is left as it was rather than overrun. */
	memset(&f, 0x5a, sizeof(f));
	f.size = UINT64_MAX;
	sm_merkle_frontier_root(&f, a);
	sm_merkle_frontier_push(&f, leaf);
	assert_true(f.size == UINT64_MAX);
	sm_merkle_frontier_root(&f, b);
	assert_memory_equal(a, b, SM_HASH_LEN);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_merkle_hash_known_values),
		cmocka_unit_test(test_merkle_eight_leaf_root),
		cmocka_unit_test(test_merkle_vectors_inclusion),
		cmocka_unit_test(test_merkle_vectors_consistency),
		cmocka_unit_test(test_merkle_matches_rfc_reference),
		cmocka_unit_test(test_merkle_inclusion_properties),
		cmocka_unit_test(test_merkle_consistency_properties),
		cmocka_unit_test(test_merkle_rejects_bad_arguments),
		cmocka_unit_test(test_merkle_get_cost_million),
		cmocka_unit_test(test_merkle_store_errors_propagate),
		cmocka_unit_test(test_merkle_frontier_edges),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
