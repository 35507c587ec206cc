/* SPDX-License-Identifier: Apache-2.0 */
/* Unit tests of the LMDB store: the log and its tree, certificates, indexes, search, tokens. */
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>
#include <lmdb.h>

#include "starmark/merkle.h"
#include "starmark/record.h"
#include "starmark/textfold.h"
#include "store.h"

struct fx {
	char dir[64];
	sm_store *s;
};

static int setup(void **state)
{
	struct fx *f = calloc(1, sizeof(*f));
	snprintf(f->dir, sizeof(f->dir), "/tmp/sm-test-store-XXXXXX");
	assert_non_null(mkdtemp(f->dir));
	sm_err err = { 0 };
	assert_int_equal(sm_store_open(f->dir, true, false, &f->s, &err), 0);
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fx *f = *state;
	char cmd[128];
	sm_store_close(f->s);
	snprintf(cmd, sizeof(cmd), "rm -rf %s", f->dir);
	assert_int_equal(system(cmd), 0);
	free(f);
	return 0;
}

static sm_cert *make_cert(const char *id, const char *vendor, const char *vendor_name, const char *product,
			  const char *model)
{
	sm_cert *c = sm_cert_new();
	snprintf(c->id, sizeof(c->id), "%s", id);
	snprintf(c->scheme, sizeof(c->scheme), "CCDS");
	snprintf(c->vendor, sizeof(c->vendor), "%s", vendor);
	c->level = 1;
	c->vendor_name = strdup(vendor_name);
	c->product = strdup(product);
	c->models = calloc(1, sizeof(char *));
	c->models[0] = strdup(model);
	c->nmodels = 1;
	c->firmware = strdup(">=1.0");
	c->registered = 19000;
	return c;
}

static void test_store_log_append_matches_frontier(void **state)
{
	struct fx *f = *state;
	sm_txn *t = NULL;
	sm_merkle_frontier fr;
	sm_merkle_frontier_init(&fr);
	assert_int_equal(sm_store_begin(f->s, true, &t, NULL), 0);
	for (int i = 0; i < 77; i++) {
		char entry[32];
		uint64_t idx;
		uint8_t leaf[SM_HASH_LEN], a[SM_HASH_LEN], b[SM_HASH_LEN];
		int n = snprintf(entry, sizeof(entry), "entry %d", i);
		assert_int_equal(sm_store_log_append(t, (const uint8_t *)entry, (size_t)n, &idx), 0);
		assert_int_equal(idx, (uint64_t)i);
		sm_merkle_leaf_hash((const uint8_t *)entry, (size_t)n, leaf);
		sm_merkle_frontier_push(&fr, leaf);
		sm_merkle_frontier_root(&fr, a);
		assert_int_equal(sm_store_log_root(t, (uint64_t)i + 1, b), 0);
		assert_memory_equal(a, b, SM_HASH_LEN);
	}
	assert_int_equal(sm_store_commit(t, NULL), 0);

	/* entries read back, proofs verify against the stored root */
	assert_int_equal(sm_store_begin(f->s, false, &t, NULL), 0);
	uint64_t size;
	assert_int_equal(sm_store_log_size(t, &size), 0);
	assert_int_equal(size, 77);
	const uint8_t *p;
	size_t n;
	assert_int_equal(sm_store_log_entry(t, 5, &p, &n), 0);
	assert_int_equal(n, 7);
	assert_memory_equal(p, "entry 5", 7);
	assert_int_equal(sm_store_log_entry(t, 77, &p, &n), SM_ENOTFOUND);
	uint8_t root[SM_HASH_LEN], r40[SM_HASH_LEN], leaf[SM_HASH_LEN];
	uint8_t proof[SM_MERKLE_MAX_CONSISTENCY][SM_HASH_LEN];
	assert_int_equal(sm_store_log_root(t, 77, root), 0);
	assert_int_equal(sm_store_log_inclusion(t, 5, 77, proof, &n), 0);
	sm_merkle_leaf_hash((const uint8_t *)"entry 5", 7, leaf);
	assert_int_equal(sm_merkle_verify_inclusion(leaf, 5, 77, (const uint8_t(*)[SM_HASH_LEN])proof, n, root), 0);
	assert_int_equal(sm_store_log_root(t, 40, r40), 0);
	assert_int_equal(sm_store_log_consistency(t, 40, 77, proof, &n), 0);
	assert_int_equal(sm_merkle_verify_consistency(40, 77, r40, root, (const uint8_t(*)[SM_HASH_LEN])proof, n), 0);
	/* sizes past the end are refused */
	assert_int_equal(sm_store_log_root(t, 78, root), SM_EINVAL);
	assert_int_equal(sm_store_log_inclusion(t, 5, 78, proof, &n), SM_EINVAL);
	sm_store_abort(t);
}

static void test_store_abort_leaves_nothing(void **state)
{
	struct fx *f = *state;
	sm_txn *t = NULL;
	uint64_t size = 99;
	assert_int_equal(sm_store_begin(f->s, true, &t, NULL), 0);
	assert_int_equal(sm_store_log_append(t, (const uint8_t *)"x", 1, NULL), 0);
	sm_store_abort(t);
	assert_int_equal(sm_store_begin(f->s, false, &t, NULL), 0);
	assert_int_equal(sm_store_log_size(t, &size), 0);
	assert_int_equal(size, 0);
	sm_store_abort(t);
}

struct collect {
	char ids[16][SM_ID_MAX + 1];
	int n;
};

static int collect(void *ctx, const char *id, const uint8_t *p, size_t n)
{
	struct collect *c = ctx;
	if (c->n < 16)
		snprintf(c->ids[c->n++], SM_ID_MAX + 1, "%s", id);
	return 0;
}

static void put_certs(struct fx *f)
{
	sm_txn *t = NULL;
	sm_cert *a = make_cert("SM-2021-000001", "RINNAI", "リンナイ株式会社", "無線LAN対応リモコン", "MC-301V");
	sm_cert *b = make_cert("SM-2022-000002", "PANA", "Panasonic", "エアコン無線アダプタ", "CZ-T100");
	sm_cert *c = make_cert("SM-2022-000003", "RINNAI", "リンナイ株式会社", "給湯器", "RUF-A2405");
	assert_int_equal(sm_store_begin(f->s, true, &t, NULL), 0);
	assert_int_equal(sm_store_cert_put(t, a, NULL), 0);
	assert_int_equal(sm_store_cert_put(t, b, NULL), 0);
	assert_int_equal(sm_store_cert_put(t, c, NULL), 0);
	assert_int_equal(sm_store_commit(t, NULL), 0);
	sm_cert_free(a);
	sm_cert_free(b);
	sm_cert_free(c);
}

static struct collect search(struct fx *f, const char *q)
{
	struct collect c = { 0 };
	sm_txn *t = NULL;
	assert_int_equal(sm_store_begin(f->s, false, &t, NULL), 0);
	assert_int_equal(sm_store_search(t, q, collect, &c), 0);
	sm_store_abort(t);
	return c;
}

static void test_store_search_japanese_and_ascii(void **state)
{
	struct fx *f = *state;
	put_certs(f);
	struct collect c = search(f, "リンナイ");
	assert_int_equal(c.n, 2);
	assert_string_equal(c.ids[0], "SM-2021-000001");
	assert_string_equal(c.ids[1], "SM-2022-000003");
	c = search(f, "無線");
	assert_int_equal(c.n, 2);
	c = search(f, "無線LAN");
	assert_int_equal(c.n, 1);
	assert_string_equal(c.ids[0], "SM-2021-000001");
	/* case and full-width folding: ＣＺ－ is not folded for '－' (U+FF0D is '-'), letters are */
	c = search(f, "cz-t100");
	assert_int_equal(c.n, 1);
	assert_string_equal(c.ids[0], "SM-2022-000002");
	c = search(f, "ＣＺ-Ｔ100");
	assert_int_equal(c.n, 1);
	c = search(f, "panasonic");
	assert_int_equal(c.n, 1);
	/* a gram every certificate has, but not the whole text */
	c = search(f, "リンナイ給湯");
	assert_int_equal(c.n, 0);
	/* one character: a scan */
	c = search(f, "湯");
	assert_int_equal(c.n, 1);
	assert_string_equal(c.ids[0], "SM-2022-000003");
	c = search(f, "zzz");
	assert_int_equal(c.n, 0);
	/* by id */
	c = search(f, "SM-2022-000002");
	assert_int_equal(c.n, 1);
}

/* The example: every way of writing the company finds the certificate; the index, not a scan. */
static void test_store_search_width_and_kana(void **state)
{
	struct fx *f = *state;
	put_certs(f);
	sm_txn *t = NULL;
	sm_cert *c = make_cert("SM-2023-000004", "SECOM", "セコム株式会社", "ホームセキュリティ　コントローラ", "ＨＳ−１０");
	assert_int_equal(sm_store_begin(f->s, true, &t, NULL), 0);
	assert_int_equal(sm_store_cert_put(t, c, NULL), 0);
	assert_int_equal(sm_store_commit(t, NULL), 0);
	sm_cert_free(c);
	const char *const found[] = { "ｾｺﾑ", "セコム", "せこむ", "ＳＥＣＯＭ", "secom", "SeCoM", "ｾｺﾑ株式会社",
				      "ﾎｰﾑｾｷｭﾘﾃｨ ｺﾝﾄﾛｰﾗ", "ほーむせきゅりてぃ", "hs-10", "HS‐10", "ＨＳ－１０" };
	for (size_t i = 0; i < sizeof(found) / sizeof(found[0]); i++) {
		struct collect r = search(f, found[i]);
		if (r.n != 1 || strcmp(r.ids[0], "SM-2023-000004") != 0)
			fail_msg("search '%s': expected SM-2023-000004 alone, got %d result(s)", found[i], r.n);
	}
	struct collect r = search(f, "ｾｺﾑﾘﾝﾅｲ");
	assert_int_equal(r.n, 0);
	/* the store says which fold its index is of */
	uint64_t v = 0;
	assert_int_equal(sm_store_begin(f->s, false, &t, NULL), 0);
	assert_int_equal(sm_store_meta_get_u64(t, "search_fold", &v), 0);
	sm_store_abort(t);
	assert_int_equal(v, SM_TEXT_FOLD_VERSION);
}

/*
 * Make the store's search index one of the first fold, as a registry written before this one has it:
 * no `search_fold` in meta, and the grams of the vendor name as that fold left it (half-width kana kept).
 * With `version` non-zero, the meta says that version instead (a store that claims the current fold).
 */
static void make_old_index(const char *dir, uint32_t serial, uint64_t version)
{
	MDB_env *env = NULL;
	MDB_txn *txn = NULL;
	MDB_dbi grams, meta;
	assert_int_equal(mdb_env_create(&env), 0);
	assert_int_equal(mdb_env_set_maxdbs(env, 32), 0);
	assert_int_equal(mdb_env_open(env, dir, MDB_NOTLS, 0600), 0);
	assert_int_equal(mdb_txn_begin(env, NULL, 0, &txn), 0);
	assert_int_equal(mdb_dbi_open(txn, "grams", MDB_DUPSORT | MDB_DUPFIXED | MDB_INTEGERDUP, &grams), 0);
	assert_int_equal(mdb_dbi_open(txn, "meta", 0, &meta), 0);
	assert_int_equal(mdb_drop(txn, grams, 0), 0);
	static char old[][8] = { "ｾｺ", "ｺﾑ", "ﾑ株", "株式", "式会", "会社", "se", "ec", "co", "om" };
	for (size_t i = 0; i < sizeof(old) / sizeof(old[0]); i++) {
		unsigned int v = serial;
		MDB_val k = { strlen(old[i]), old[i] }, d = { sizeof(v), &v };
		assert_int_equal(mdb_put(txn, grams, &k, &d, 0), 0);
	}
	static char fold_key[] = "search_fold";
	MDB_val key = { strlen(fold_key), fold_key };
	if (version) {
		uint8_t b[8];
		for (int i = 7; i >= 0; i--, version >>= 8)
			b[i] = (uint8_t)version;
		MDB_val d = { 8, b };
		assert_int_equal(mdb_put(txn, meta, &key, &d, 0), 0);
	} else {
		assert_int_equal(mdb_del(txn, meta, &key, NULL), 0);
	}
	assert_int_equal(mdb_txn_commit(txn), 0);
	mdb_env_close(env);
}

static int search_in(sm_store *s, const char *q)
{
	struct collect c = { 0 };
	sm_txn *t = NULL;
	assert_int_equal(sm_store_begin(s, false, &t, NULL), 0);
	assert_int_equal(sm_store_search(t, q, collect, &c), 0);
	sm_store_abort(t);
	return c.n;
}

/* A store whose index was built with the first fold: read-only it scans, a write open rebuilds the index. */
static void test_store_old_fold_reindexed(void **state)
{
	struct fx *f = *state;
	sm_txn *t = NULL;
	sm_err err = { 0 };
	sm_cert *c = make_cert("SM-2023-000007", "SECOM", "ｾｺﾑ株式会社", "Alarm", "AL-1");
	assert_int_equal(sm_store_begin(f->s, true, &t, NULL), 0);
	assert_int_equal(sm_store_cert_put(t, c, NULL), 0);
	assert_int_equal(sm_store_commit(t, NULL), 0);
	sm_cert_free(c);
	sm_store_close(f->s);
	f->s = NULL;

	/* the old index under a claim of the current fold: it misses, which is what a rebuild must repair */
	make_old_index(f->dir, 7, SM_TEXT_FOLD_VERSION);
	sm_store *ro = NULL;
	assert_int_equal(sm_store_open(f->dir, false, true, &ro, &err), 0);
	assert_int_equal(search_in(ro, "セコム"), 0);
	sm_store_close(ro);

	/* as an older starmark left it: no version. Read-only, the search scans and finds it */
	make_old_index(f->dir, 7, 0);
	assert_int_equal(sm_store_open(f->dir, false, true, &ro, &err), 0);
	assert_int_equal(search_in(ro, "セコム"), 1);
	assert_int_equal(search_in(ro, "せこむ"), 1);
	assert_int_equal(search_in(ro, "ｾｺﾑ"), 1);
	sm_store_close(ro);

	/* a write open rebuilds the index and records the fold; the index alone then finds it */
	assert_int_equal(sm_store_open(f->dir, false, false, &f->s, &err), 0);
	uint64_t v = 0;
	assert_int_equal(sm_store_begin(f->s, false, &t, NULL), 0);
	assert_int_equal(sm_store_meta_get_u64(t, "search_fold", &v), 0);
	sm_store_abort(t);
	assert_int_equal(v, SM_TEXT_FOLD_VERSION);
	const char *const forms[] = { "ｾｺﾑ", "セコム", "せこむ", "ＳＥＣＯＭ", "secom", "al-1" };
	for (size_t i = 0; i < sizeof(forms) / sizeof(forms[0]); i++)
		if (search_in(f->s, forms[i]) != 1)
			fail_msg("after the rebuild, '%s' should find SM-2023-000007", forms[i]);
	/* no posting of the old fold is left: its half-width gram finds nothing through the index */
	MDB_env *env = NULL;
	sm_store_close(f->s);
	f->s = NULL;
	MDB_txn *txn = NULL;
	MDB_dbi grams;
	static char half[] = "ｾｺ";
	MDB_val k = { strlen(half), half }, d;
	assert_int_equal(mdb_env_create(&env), 0);
	assert_int_equal(mdb_env_set_maxdbs(env, 32), 0);
	assert_int_equal(mdb_env_open(env, f->dir, MDB_NOTLS | MDB_RDONLY, 0600), 0);
	assert_int_equal(mdb_txn_begin(env, NULL, MDB_RDONLY, &txn), 0);
	assert_int_equal(mdb_dbi_open(txn, "grams", 0, &grams), 0);
	assert_int_equal(mdb_get(txn, grams, &k, &d), MDB_NOTFOUND);
	mdb_txn_abort(txn);
	mdb_env_close(env);
	/* opening again for writing finds the current fold and leaves the index as it is */
	assert_int_equal(sm_store_open(f->dir, false, false, &f->s, &err), 0);
	assert_int_equal(search_in(f->s, "セコム"), 1);
}

static void test_store_model_index_follows_amend(void **state)
{
	struct fx *f = *state;
	put_certs(f);
	sm_txn *t = NULL;
	sm_cert *old = NULL, *next = NULL;
	assert_int_equal(sm_store_begin(f->s, true, &t, NULL), 0);
	assert_int_equal(sm_store_cert_get(t, "SM-2021-000001", &old, NULL), 0);
	next = sm_cert_dup(old);
	next->models = realloc(next->models, 2 * sizeof(char *));
	next->models[1] = strdup("MC-302V");
	next->nmodels = 2;
	assert_int_equal(sm_store_cert_put(t, next, old), 0);
	assert_int_equal(sm_store_commit(t, NULL), 0);

	struct collect c = { 0 };
	assert_int_equal(sm_store_begin(f->s, false, &t, NULL), 0);
	assert_int_equal(sm_store_model_foreach(t, "RINNAI", "MC-302V", collect, &c), 0);
	assert_int_equal(c.n, 1);
	assert_string_equal(c.ids[0], "SM-2021-000001");
	memset(&c, 0, sizeof(c));
	assert_int_equal(sm_store_model_foreach(t, "RINNAI", NULL, collect, &c), 0);
	assert_int_equal(c.n, 3); /* two models of 000001, one of 000003 */
	memset(&c, 0, sizeof(c));
	assert_int_equal(sm_store_model_foreach(t, "RINNAI", "MC-999", collect, &c), 0);
	assert_int_equal(c.n, 0);
	memset(&c, 0, sizeof(c));
	assert_int_equal(sm_store_model_foreach(t, "RINNA", NULL, collect, &c), 0); /* a prefix is not a vendor */
	assert_int_equal(c.n, 0);
	sm_store_abort(t);
	assert_int_equal(search(f, "mc-302v").n, 1);
	sm_cert_free(old);
	sm_cert_free(next);
}

static void test_store_tokens(void **state)
{
	struct fx *f = *state;
	sm_txn *t = NULL;
	uint8_t h1[32], h2[32];
	memset(h1, 1, 32);
	memset(h2, 2, 32);
	assert_int_equal(sm_store_begin(f->s, true, &t, NULL), 0);
	assert_int_equal(sm_store_token_put(t, "ci", 1, h1, 1000), 0);
	assert_int_equal(sm_store_token_put(t, "ci", 2, h2, 1000), SM_EEXIST);
	assert_int_equal(sm_store_token_put(t, "audit", 2, h2, 1001), 0);
	assert_int_equal(sm_store_commit(t, NULL), 0);
	int role = 0;
	char name[65];
	int64_t created = 0;
	assert_int_equal(sm_store_begin(f->s, true, &t, NULL), 0);
	assert_int_equal(sm_store_token_find(t, h2, &role, name, sizeof(name)), 0);
	assert_string_equal(name, "audit");
	assert_int_equal(role, 2);
	assert_int_equal(sm_store_token_get(t, "ci", &role, &created), 0);
	assert_int_equal(created, 1000);
	assert_int_equal(sm_store_token_del(t, "ci"), 0);
	assert_int_equal(sm_store_token_find(t, h1, &role, name, sizeof(name)), SM_ENOTFOUND);
	assert_int_equal(sm_store_token_del(t, "ci"), SM_ENOTFOUND);
	sm_store_abort(t);
}

/* Past 256 and 65,536 leaves the tree is read through tiles: roots and proofs must not change. */
static void test_store_tiles_give_the_same_tree(void **state)
{
	struct fx *f = *state;
	sm_txn *t = NULL;
	enum { N = 70000 };
	static uint8_t roots[N + 1][SM_HASH_LEN];
	sm_merkle_frontier fr;
	sm_merkle_frontier_init(&fr);
	sm_merkle_frontier_root(&fr, roots[0]);
	assert_int_equal(sm_store_begin(f->s, true, &t, NULL), 0);
	for (uint32_t i = 0; i < N; i++) {
		uint8_t leaf[SM_HASH_LEN];
		assert_int_equal(sm_store_log_append(t, (const uint8_t *)&i, sizeof(i), NULL), 0);
		sm_merkle_leaf_hash((const uint8_t *)&i, sizeof(i), leaf);
		sm_merkle_frontier_push(&fr, leaf);
		sm_merkle_frontier_root(&fr, roots[i + 1]);
	}
	assert_int_equal(sm_store_commit(t, NULL), 0);
	assert_int_equal(sm_store_begin(f->s, false, &t, NULL), 0);
	uint64_t sizes[] = { 1, 255, 256, 257, 511, 512, 4096, 65535, 65536, 65537, 69999, N };
	uint8_t root[SM_HASH_LEN], proof[SM_MERKLE_MAX_CONSISTENCY][SM_HASH_LEN], leaf[SM_HASH_LEN];
	size_t n;
	for (size_t k = 0; k < sizeof(sizes) / sizeof(sizes[0]); k++) {
		uint64_t size = sizes[k];
		assert_int_equal(sm_store_log_root(t, size, root), 0);
		assert_memory_equal(root, roots[size], SM_HASH_LEN);
		for (uint32_t idx = 0; idx < size; idx += (uint32_t)(size / 7 + 1)) {
			assert_int_equal(sm_store_log_inclusion(t, idx, size, proof, &n), 0);
			sm_merkle_leaf_hash((const uint8_t *)&idx, sizeof(idx), leaf);
			assert_int_equal(sm_merkle_verify_inclusion(leaf, idx, size, (const uint8_t(*)[SM_HASH_LEN])proof, n,
								 roots[size]), 0);
		}
		uint64_t from = size / 3;
		if (from) {
			assert_int_equal(sm_store_log_consistency(t, from, size, proof, &n), 0);
			assert_int_equal(sm_merkle_verify_consistency(from, size, roots[from], roots[size],
								  (const uint8_t(*)[SM_HASH_LEN])proof, n), 0);
		}
	}
	uint64_t tiles = 0;
	char bad[160] = "";
	assert_int_equal(sm_store_tiles_check(t, &tiles, bad, sizeof(bad)), 0);
	assert_int_equal(tiles, N / 256 + N / 65536); /* 273 at the base, 1 above */
	sm_store_abort(t);
}

/*
 * Append entries "<tag> <i>" for i in [from, to) in one write transaction (committed or aborted),
 * pushing their leaves onto fr and writing the root of every size reached into roots[size].
 */
static void append_tagged(sm_store *s, const char *tag, uint32_t from, uint32_t to, sm_merkle_frontier *fr,
			  uint8_t (*roots)[SM_HASH_LEN], bool commit)
{
	sm_txn *t = NULL;
	assert_int_equal(sm_store_begin(s, true, &t, NULL), 0);
	for (uint32_t i = from; i < to; i++) {
		char entry[32];
		uint8_t leaf[SM_HASH_LEN];
		int n = snprintf(entry, sizeof(entry), "%s %u", tag, i);
		assert_int_equal(sm_store_log_append(t, (const uint8_t *)entry, (size_t)n, NULL), 0);
		sm_merkle_leaf_hash((const uint8_t *)entry, (size_t)n, leaf);
		sm_merkle_frontier_push(fr, leaf);
		sm_merkle_frontier_root(fr, roots[i + 1]);
	}
	if (commit)
		assert_int_equal(sm_store_commit(t, NULL), 0);
	else
		sm_store_abort(t);
}

/*
 * Roots (compared with `roots`), inclusion and consistency proofs for sizes 1, 1 + step ... last, of
 * a log whose entries are "<lo> <i>" below `split` and "<hi> <i>" from there.
 */
static void check_tree(sm_store *s, const char *lo, const char *hi, uint64_t split, uint64_t last,
		       uint64_t step, uint8_t (*roots)[SM_HASH_LEN])
{
	uint8_t root[SM_HASH_LEN], leaf[SM_HASH_LEN], proof[SM_MERKLE_MAX_CONSISTENCY][SM_HASH_LEN];
	size_t n = 0;
	for (uint64_t size = 1; size <= last; size += step) {
		sm_txn *t = NULL;
		char entry[32];
		uint64_t index = (size * 7919 + 13) % size;
		assert_int_equal(sm_store_begin(s, false, &t, NULL), 0);
		assert_int_equal(sm_store_log_root(t, size, root), 0);
		assert_memory_equal(root, roots[size], SM_HASH_LEN);
		assert_int_equal(sm_store_log_inclusion(t, index, size, proof, &n), 0);
		int len = snprintf(entry, sizeof(entry), "%s %u", index < split ? lo : hi, (unsigned)index);
		sm_merkle_leaf_hash((const uint8_t *)entry, (size_t)len, leaf);
		const uint8_t(*p)[SM_HASH_LEN] = (const uint8_t(*)[SM_HASH_LEN])proof;
		assert_int_equal(sm_merkle_verify_inclusion(leaf, index, size, p, n, roots[size]), 0);
		if (size > 1) {
			assert_int_equal(sm_store_log_consistency(t, size / 2, size, proof, &n), 0);
			uint64_t old = size / 2;
			int rc = sm_merkle_verify_consistency(old, size, roots[old], roots[size], p, n);
			assert_int_equal(rc, 0);
		}
		sm_store_abort(t);
	}
}

/* Two stores open at once: the upper-level node cache must never give one store's node to the other. */
static void test_store_node_cache_keeps_stores_apart(void **state)
{
	struct fx *f = *state;
	enum { N = 3000 };
	static uint8_t ra[N + 1][SM_HASH_LEN], rb[N + 1][SM_HASH_LEN];
	char dir[64];
	sm_store *b = NULL;
	sm_merkle_frontier fa, fb;
	snprintf(dir, sizeof(dir), "/tmp/sm-test-store-XXXXXX");
	assert_non_null(mkdtemp(dir));
	assert_int_equal(sm_store_open(dir, true, false, &b, NULL), 0);
	sm_merkle_frontier_init(&fa);
	sm_merkle_frontier_init(&fb);
	append_tagged(f->s, "a", 0, N, &fa, ra, true);
	append_tagged(b, "b", 0, N, &fb, rb, true);
	/* interleaved, twice: the second pass reads the levels >= 8 from the cache */
	for (int pass = 0; pass < 2; pass++) {
		check_tree(f->s, "a", "a", N, N, 37, ra);
		check_tree(b, "b", "b", N, N, 37, rb);
		check_tree(f->s, "a", "a", N, N, 256, ra);
		check_tree(b, "b", "b", N, N, 256, rb);
	}
	sm_store_close(b);
	char cmd[128];
	snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
	assert_int_equal(system(cmd), 0);
}

/*
 * The cache holds committed nodes only: an aborted write that built level-8 and level-9 nodes
 * must leave no trace, and the nodes of a later commit must be the ones read.
 */
static void test_store_node_cache_follows_writes(void **state)
{
	struct fx *f = *state;
	enum { FIRST = 1000, LAST = 2100 };
	static uint8_t roots[LAST + 1][SM_HASH_LEN], lost[LAST + 1][SM_HASH_LEN];
	sm_merkle_frontier fr, fx;
	sm_merkle_frontier_init(&fr);
	append_tagged(f->s, "e", 0, FIRST, &fr, roots, true);
	check_tree(f->s, "e", "e", FIRST, FIRST, 3, roots); /* fills the cache's level 8 (0 .. 2) and 9 (0) */
	fx = fr;
	memcpy(lost, roots, sizeof(lost));
	append_tagged(f->s, "x", FIRST, LAST, &fx, lost, false);
	/* nothing of the aborted write is visible */
	sm_txn *t = NULL;
	uint8_t root[SM_HASH_LEN];
	assert_int_equal(sm_store_begin(f->s, false, &t, NULL), 0);
	assert_int_equal(sm_store_log_root(t, FIRST + 1, root), SM_EINVAL);
	sm_store_abort(t);
	/* a reader that began before the next commit keeps its own size */
	sm_txn *old = NULL;
	assert_int_equal(sm_store_begin(f->s, false, &old, NULL), 0);
	append_tagged(f->s, "y", FIRST, LAST, &fr, roots, true);
	assert_int_equal(sm_store_log_root(old, FIRST, root), 0);
	assert_memory_equal(root, roots[FIRST], SM_HASH_LEN);
	assert_int_equal(sm_store_log_root(old, FIRST + 1, root), SM_EINVAL);
	sm_store_abort(old);
	/* node (8, 3) and (9, 1), first built by the aborted write, now come from the commit */
	check_tree(f->s, "e", "y", FIRST, LAST, 1, roots);
	assert_true(memcmp(roots[LAST], lost[LAST], SM_HASH_LEN) != 0);
}

struct reader_arg {
	sm_store *s;
	uint8_t (*roots)[SM_HASH_LEN];
	uint64_t size, offset;
	int bad;
};

static void *read_roots(void *p)
{
	struct reader_arg *a = p;
	uint8_t root[SM_HASH_LEN];
	for (int round = 0; round < 3; round++)
		for (uint64_t size = 1 + a->offset; size <= a->size; size += 5) {
			sm_txn *t = NULL;
			if (sm_store_begin(a->s, false, &t, NULL) || sm_store_log_root(t, size, root) ||
			    memcmp(root, a->roots[size], SM_HASH_LEN) != 0)
				a->bad++;
			sm_store_abort(t);
		}
	return NULL;
}

/* Threads fill and read the shared cache at once: every root they compute is right. */
static void test_store_node_cache_threads(void **state)
{
	struct fx *f = *state;
	enum { N = 5000, THREADS = 4 };
	static uint8_t roots[N + 1][SM_HASH_LEN];
	pthread_t th[THREADS];
	struct reader_arg args[THREADS];
	sm_merkle_frontier fr;
	sm_merkle_frontier_init(&fr);
	append_tagged(f->s, "t", 0, N, &fr, roots, true);
	for (int i = 0; i < THREADS; i++) {
		args[i] = (struct reader_arg){ .s = f->s, .roots = roots, .size = N, .offset = (uint64_t)i };
		assert_int_equal(pthread_create(&th[i], NULL, read_roots, &args[i]), 0);
	}
	for (int i = 0; i < THREADS; i++) {
		assert_int_equal(pthread_join(th[i], NULL), 0);
		assert_int_equal(args[i].bad, 0);
	}
}

static void test_store_id_serial(void **state)
{
	assert_int_equal(sm_store_id_serial("SM-2021-000042"), 42);
	assert_int_equal(sm_store_id_serial("SM-2021-1234567"), 1234567);
	assert_int_equal(sm_store_id_serial("XX-2021-000042"), 0);
	assert_int_equal(sm_store_id_serial("SM-2021-"), 0);
	assert_int_equal(sm_store_id_serial("SM-2021-12a"), 0);
}

static void test_store_open_refuses_damage(void **state)
{
	char dir[64], path[128];
	snprintf(dir, sizeof(dir), "/tmp/sm-test-bad-XXXXXX");
	assert_non_null(mkdtemp(dir));
	sm_store *s = NULL;
	sm_err err = { 0 };
	/* nothing there */
	assert_int_equal(sm_store_open(dir, false, false, &s, &err), SM_ENOTFOUND);
	assert_non_null(strstr(err.msg, "no registry"));
	/* garbage where data.mdb should be */
	snprintf(path, sizeof(path), "%s/data.mdb", dir);
	FILE *fp = fopen(path, "wb");
	for (int i = 0; i < 20000; i++)
		fputc((i * 7919) & 0xff, fp);
	fclose(fp);
	memset(&err, 0, sizeof(err));
	int rc = sm_store_open(dir, false, false, &s, &err);
	assert_true(rc == SM_ESTORE || rc == SM_EIO);
	assert_true(err.msg[0] != '\0');
	char cmd[128];
	snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
	assert_int_equal(system(cmd), 0);
}

struct pol_seen {
	int n;
	char names[4][65];
	int64_t at[4];
	uint64_t index[4];
};

static int pol_visit(void *ctx, const char *name, int64_t at, uint64_t index, const char *json, size_t n)
{
	struct pol_seen *s = ctx;
	assert_true(s->n < 4);
	assert_true(n > 0 && json[0] == '{');
	snprintf(s->names[s->n], sizeof(s->names[0]), "%s", name);
	s->at[s->n] = at;
	s->index[s->n++] = index;
	return 0;
}

static void test_store_policies(void **state)
{
	struct fx *f = *state;
	sm_txn *t = NULL;
	const char *json = NULL;
	size_t n = 0;
	int64_t at = 0;
	uint64_t index = 0;
	static const char a[] = "{\"name\":\"homes\"}", b[] = "{\"name\":\"homes\",\"default_level\":2}";
	assert_int_equal(sm_store_begin(f->s, true, &t, NULL), 0);
	assert_int_equal(sm_store_policy_get(t, "homes", &at, &index, &json, &n), SM_ENOTFOUND);
	assert_int_equal(sm_store_policy_put(t, "homes", 1790000000, 7, a, strlen(a)), 0);
	assert_int_equal(sm_store_policy_put(t, "積水 estates", 1790000100, 9, a, strlen(a)), 0);
	/* publishing a name again replaces it */
	assert_int_equal(sm_store_policy_put(t, "homes", 1790000200, 11, b, strlen(b)), 0);
	assert_int_equal(sm_store_policy_put(t, "", 1, 1, a, strlen(a)), SM_EINVAL);
	assert_int_equal(sm_store_commit(t, NULL), 0);

	assert_int_equal(sm_store_begin(f->s, false, &t, NULL), 0);
	assert_int_equal(sm_store_policy_get(t, "homes", &at, &index, &json, &n), 0);
	assert_int_equal(at, 1790000200);
	assert_int_equal(index, 11);
	assert_int_equal(n, strlen(b));
	assert_memory_equal(json, b, n);
	struct pol_seen seen = { 0 };
	assert_int_equal(sm_store_policy_foreach(t, pol_visit, &seen), 0);
	assert_int_equal(seen.n, 2);
	assert_string_equal(seen.names[0], "homes"); /* name order (bytes) */
	assert_string_equal(seen.names[1], "積水 estates");
	assert_int_equal(seen.index[1], 9);
	sm_store_abort(t);

	assert_int_equal(sm_store_begin(f->s, true, &t, NULL), 0);
	assert_int_equal(sm_store_policy_del(t, "homes"), 0);
	assert_int_equal(sm_store_policy_del(t, "homes"), SM_ENOTFOUND);
	assert_int_equal(sm_store_commit(t, NULL), 0);
	assert_int_equal(sm_store_begin(f->s, false, &t, NULL), 0);
	assert_int_equal(sm_store_policy_get(t, "homes", NULL, NULL, NULL, NULL), SM_ENOTFOUND);
	memset(&seen, 0, sizeof(seen));
	assert_int_equal(sm_store_policy_foreach(t, pol_visit, &seen), 0);
	assert_int_equal(seen.n, 1);
	sm_store_abort(t);
}

/* A store made before the policies database existed: drop it with LMDB itself, as such a store is. */
static void drop_policies_db(const char *dir)
{
	MDB_env *env = NULL;
	MDB_txn *txn = NULL;
	MDB_dbi dbi;
	assert_int_equal(mdb_env_create(&env), 0);
	assert_int_equal(mdb_env_set_maxdbs(env, 32), 0);
	assert_int_equal(mdb_env_open(env, dir, MDB_NOTLS, 0600), 0);
	assert_int_equal(mdb_txn_begin(env, NULL, 0, &txn), 0);
	assert_int_equal(mdb_dbi_open(txn, "policies", 0, &dbi), 0);
	assert_int_equal(mdb_drop(txn, dbi, 1), 0);
	assert_int_equal(mdb_txn_commit(txn), 0);
	mdb_env_close(env);
}

static void test_store_old_store_without_policies(void **state)
{
	struct fx *f = *state;
	sm_txn *t = NULL;
	sm_err err = { 0 };
	uint64_t idx = 0;
	assert_int_equal(sm_store_begin(f->s, true, &t, NULL), 0);
	assert_int_equal(sm_store_log_append(t, (const uint8_t *)"entry", 5, &idx), 0);
	assert_int_equal(sm_store_commit(t, NULL), 0);
	sm_store_close(f->s);
	f->s = NULL;
	drop_policies_db(f->dir);

	/* read-only: it opens, and there are no policies */
	sm_store *ro = NULL;
	assert_int_equal(sm_store_open(f->dir, false, true, &ro, &err), 0);
	assert_int_equal(sm_store_begin(ro, false, &t, NULL), 0);
	uint64_t size = 0;
	assert_int_equal(sm_store_log_size(t, &size), 0);
	assert_int_equal(size, 1);
	assert_int_equal(sm_store_policy_get(t, "homes", NULL, NULL, NULL, NULL), SM_ENOTFOUND);
	struct pol_seen seen = { 0 };
	assert_int_equal(sm_store_policy_foreach(t, pol_visit, &seen), 0);
	assert_int_equal(seen.n, 0);
	sm_store_abort(t);
	sm_store_close(ro);

	/* a write open adds the database, and it is usable at once */
	assert_int_equal(sm_store_open(f->dir, false, false, &f->s, &err), 0);
	assert_int_equal(sm_store_begin(f->s, true, &t, NULL), 0);
	assert_int_equal(sm_store_policy_put(t, "homes", 1, 1, "{}", 2), 0);
	assert_int_equal(sm_store_commit(t, NULL), 0);
	assert_int_equal(sm_store_begin(f->s, false, &t, NULL), 0);
	assert_int_equal(sm_store_policy_get(t, "homes", NULL, NULL, NULL, NULL), 0);
	sm_store_abort(t);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_store_log_append_matches_frontier, setup, teardown),
		cmocka_unit_test_setup_teardown(test_store_abort_leaves_nothing, setup, teardown),
		cmocka_unit_test_setup_teardown(test_store_search_japanese_and_ascii, setup, teardown),
		cmocka_unit_test_setup_teardown(test_store_search_width_and_kana, setup, teardown),
		cmocka_unit_test_setup_teardown(test_store_old_fold_reindexed, setup, teardown),
		cmocka_unit_test_setup_teardown(test_store_model_index_follows_amend, setup, teardown),
		cmocka_unit_test_setup_teardown(test_store_tokens, setup, teardown),
		cmocka_unit_test_setup_teardown(test_store_tiles_give_the_same_tree, setup, teardown),
		cmocka_unit_test_setup_teardown(test_store_node_cache_keeps_stores_apart, setup, teardown),
		cmocka_unit_test_setup_teardown(test_store_node_cache_follows_writes, setup, teardown),
		cmocka_unit_test_setup_teardown(test_store_node_cache_threads, setup, teardown),
		cmocka_unit_test_setup_teardown(test_store_policies, setup, teardown),
		cmocka_unit_test_setup_teardown(test_store_old_store_without_policies, setup, teardown),
		cmocka_unit_test(test_store_id_serial),
		cmocka_unit_test(test_store_open_refuses_damage),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
