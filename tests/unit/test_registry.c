/* SPDX-License-Identifier: Apache-2.0 */
/* Unit tests of the registry facade on real registries: lifecycle, bulk issue, verify, keys, tokens. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>
#include <lmdb.h>

#include "starmark/starmark.h"

#define NOW 1790000000 /* 2026-09-21 */

struct fx {
	char dir[64];
	sm_registry *r;
};

static int setup(void **state)
{
	struct fx *f = calloc(1, sizeof(*f));
	snprintf(f->dir, sizeof(f->dir), "/tmp/sm-test-reg-XXXXXX");
	assert_non_null(mkdtemp(f->dir));
	sm_init_opts o = { "CCDS", 3, "registry.example.jp", NULL, NOW };
	char fp[65];
	sm_err err = { 0 };
	assert_int_equal(sm_registry_init(f->dir, &o, fp, &err), 0);
	assert_int_equal(strlen(fp), 64);
	assert_int_equal(sm_registry_open(f->dir, true, NULL, &f->r, &err), 0);
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fx *f = *state;
	char cmd[128];
	sm_registry_close(f->r);
	snprintf(cmd, sizeof(cmd), "rm -rf %s", f->dir);
	assert_int_equal(system(cmd), 0);
	free(f);
	return 0;
}

static sm_cert *draft(const char *model, int level)
{
	sm_cert *c = sm_cert_new();
	snprintf(c->vendor, sizeof(c->vendor), "RINNAI");
	c->vendor_name = strdup("リンナイ株式会社");
	c->product = strdup("無線LAN対応リモコン");
	c->models = calloc(1, sizeof(char *));
	c->models[0] = strdup(model);
	c->nmodels = 1;
	c->level = level;
	c->firmware = strdup(">=1.0.0 <2.0,2.0.1");
	c->category = strdup("water-heater");
	assert_int_equal(sm_date_parse("2021-01-22", false, "registered", &c->registered, NULL), 0);
	assert_int_equal(sm_date_parse("2027-01-21", false, "expires", &c->expires, NULL), 0);
	return c;
}

static uint64_t log_size(sm_registry *r)
{
	uint64_t n = 0;
	assert_int_equal(sm_registry_log_size(r, &n, NULL), 0);
	return n;
}

static void test_registry_issue_and_events(void **state)
{
	struct fx *f = *state;
	sm_err err = { 0 };
	sm_cert *d = draft("MC-301V", 1), *c = NULL;
	assert_int_equal(sm_registry_issue(f->r, d, NOW, &c, &err), 0);
	assert_string_equal(c->id, "SM-2021-000001");
	assert_string_equal(c->scheme, "CCDS");
	assert_string_equal(c->firmware, ">=1.0.0 <2.0, 2.0.1");
	assert_int_equal(c->nhistory, 1);
	assert_int_equal(c->history[0].index, 1); /* entry 0 is the trust bundle */
	sm_cert_free(c);
	sm_cert_free(d);
	assert_int_equal(log_size(f->r), 2);

	/* the same vendor, model and date again is a duplicate; nothing is appended */
	d = draft("MC-301V", 1);
	memset(&err, 0, sizeof(err));
	assert_int_equal(sm_registry_issue(f->r, d, NOW, NULL, &err), SM_EEXIST);
	assert_non_null(strstr(err.msg, "SM-2021-000001"));
	sm_cert_free(d);
	assert_int_equal(log_size(f->r), 2);

	/* level above the scheme's levels is refused naming the field */
	d = draft("MC-999", 4);
	memset(&err, 0, sizeof(err));
	assert_int_equal(sm_registry_issue(f->r, d, NOW, NULL, &err), SM_EINVAL);
	assert_string_equal(err.field, "level");
	sm_cert_free(d);
	assert_int_equal(log_size(f->r), 2);

	/* suspend, a refused second suspend, revoke, a refused reinstate */
	sm_event *e = sm_event_new(SM_EV_SUSPEND);
	snprintf(e->id, sizeof(e->id), "SM-2021-000001");
	e->reason = strdup("investigation");
	assert_int_equal(sm_registry_event(f->r, e, NOW + 10, &c, &err), 0);
	assert_int_equal(c->status, SM_STATUS_SUSPENDED);
	sm_cert_free(c);
	memset(&err, 0, sizeof(err));
	assert_int_equal(sm_registry_event(f->r, e, NOW + 20, NULL, &err), SM_ESTATE);
	assert_non_null(strstr(err.msg, "suspended already"));
	e->type = SM_EV_REVOKE;
	assert_int_equal(sm_registry_event(f->r, e, NOW + 30, NULL, &err), 0);
	e->type = SM_EV_REINSTATE;
	memset(&err, 0, sizeof(err));
	assert_int_equal(sm_registry_event(f->r, e, NOW + 40, NULL, &err), SM_ESTATE);
	assert_non_null(strstr(err.msg, "revoked"));
	sm_event_free(e);
	assert_int_equal(log_size(f->r), 4);

	/* an unknown id */
	e = sm_event_new(SM_EV_SUSPEND);
	snprintf(e->id, sizeof(e->id), "SM-2021-000099");
	e->reason = strdup("x");
	memset(&err, 0, sizeof(err));
	assert_int_equal(sm_registry_event(f->r, e, NOW, NULL, &err), SM_ENOTFOUND);
	assert_non_null(strstr(err.msg, "SM-2021-000099"));
	sm_event_free(e);

	sm_verify_report rep;
	assert_int_equal(sm_registry_verify(f->r, NULL, NULL, &rep, &err), 0);
	assert_int_equal(rep.entries, 4);
	assert_int_equal(rep.certificates, 1);
}

static void test_registry_issue_many_all_or_nothing(void **state)
{
	struct fx *f = *state;
	sm_err err = { 0 };
	sm_cert *d[3] = { draft("A-1", 1), draft("A-2", 2), draft("A-1", 3) }; /* the third duplicates the first */
	for (int i = 0; i < 3; i++)
		assert_int_equal(sm_cert_validate(d[i], 3, &err), 0);
	assert_int_equal(sm_registry_issue_many(f->r, d, 3, NOW, NULL, NULL, &err), SM_EEXIST);
	assert_int_equal(err.line, 3);
	assert_int_equal(log_size(f->r), 1);
	sm_cert_list l;
	sm_filter flt = { 0 };
	flt.status = -1;
	assert_int_equal(sm_registry_list(f->r, &flt, &l, &err), 0);
	assert_int_equal(l.total, 0);
	sm_cert_list_cleanup(&l);
	assert_int_equal(sm_registry_issue_many(f->r, d, 2, NOW, NULL, NULL, &err), 0);
	assert_int_equal(log_size(f->r), 3);
	for (int i = 0; i < 3; i++)
		sm_cert_free(d[i]);
}

static void test_registry_list_filters(void **state)
{
	struct fx *f = *state;
	sm_err err = { 0 };
	for (int i = 0; i < 6; i++) {
		char m[16];
		snprintf(m, sizeof(m), "M-%d", i);
		sm_cert *d = draft(m, 1 + i % 3);
		assert_int_equal(sm_registry_issue(f->r, d, NOW, NULL, &err), 0);
		sm_cert_free(d);
	}
	sm_filter flt = { 0 };
	flt.status = -1;
	flt.level = 2;
	sm_cert_list l;
	assert_int_equal(sm_registry_list(f->r, &flt, &l, &err), 0);
	assert_int_equal(l.total, 2);
	sm_cert_list_cleanup(&l);
	flt.level = 0;
	flt.vendor = "RINNAI";
	flt.limit = 2;
	flt.offset = 3;
	assert_int_equal(sm_registry_list(f->r, &flt, &l, &err), 0);
	assert_int_equal(l.total, 6); /* each certificate once, though listed through its models */
	assert_int_equal(l.n, 2);
	sm_cert_list_cleanup(&l);
	/* expired as of a later day */
	memset(&flt, 0, sizeof(flt));
	flt.status = sm_status_from_name("expired");
	assert_int_equal(sm_date_parse("2027-01-22", false, "x", &flt.today, NULL), 0);
	assert_int_equal(sm_registry_list(f->r, &flt, &l, &err), 0);
	assert_int_equal(l.total, 6);
	sm_cert_list_cleanup(&l);
	flt.q = "m-3";
	flt.status = -1;
	assert_int_equal(sm_registry_list(f->r, &flt, &l, &err), 0);
	assert_int_equal(l.total, 1);
	assert_string_equal(l.v[0]->models[0], "M-3");
	sm_cert_list_cleanup(&l);
}

struct grabbed {
	uint8_t data[4096];
	size_t n;
};

static int grab(void *ctx, uint64_t i, const uint8_t *p, size_t len)
{
	struct grabbed *e = ctx;
	assert_true(len <= sizeof(e->data));
	memcpy(e->data, p, len);
	e->n = len;
	return 0;
}

static void test_registry_checkpoint_and_proofs(void **state)
{
	struct fx *f = *state;
	sm_err err = { 0 };
	for (int i = 0; i < 9; i++) {
		char m[16];
		snprintf(m, sizeof(m), "P-%d", i);
		sm_cert *d = draft(m, 1);
		assert_int_equal(sm_registry_issue(f->r, d, NOW, NULL, &err), 0);
		sm_cert_free(d);
	}
	char *cp = NULL, *vkey = NULL;
	sm_checkpoint parsed;
	assert_int_equal(sm_registry_checkpoint(f->r, &cp, &err), 0);
	assert_int_equal(sm_registry_log_vkey(f->r, &vkey, &err), 0);
	assert_int_equal(sm_checkpoint_verify(cp, strlen(cp), vkey, &parsed, &err), 0);
	assert_string_equal(parsed.origin, "registry.example.jp");
	assert_int_equal(parsed.size, 10);
	/* an inclusion proof of entry 4 checks against the checkpoint's root */
	uint8_t proof[SM_MERKLE_MAX_CONSISTENCY][SM_HASH_LEN], leaf[SM_HASH_LEN], old[SM_HASH_LEN];
	size_t n;
	struct grabbed e = { { 0 }, 0 };
	assert_int_equal(sm_registry_inclusion(f->r, 4, 10, proof, &n, &err), 0);
	assert_int_equal(sm_registry_entries(f->r, 4, 1, grab, &e, &err), 0);
	sm_merkle_leaf_hash(e.data, e.n, leaf);
	assert_int_equal(sm_merkle_verify_inclusion(leaf, 4, 10, (const uint8_t(*)[SM_HASH_LEN])proof, n, parsed.root), 0);
	assert_int_equal(sm_registry_log_root(f->r, 6, old, &err), 0);
	assert_int_equal(sm_registry_consistency(f->r, 6, 10, proof, &n, &err), 0);
	assert_int_equal(sm_merkle_verify_consistency(6, 10, old, parsed.root, (const uint8_t(*)[SM_HASH_LEN])proof, n), 0);
	assert_int_equal(sm_registry_inclusion(f->r, 10, 10, proof, &n, &err), SM_EINVAL);
	free(cp);
	free(vkey);
}


static void test_registry_rotation_keeps_history_verifiable(void **state)
{
	struct fx *f = *state;
	sm_err err = { 0 };
	sm_cert *d = draft("R-1", 1);
	assert_int_equal(sm_registry_issue(f->r, d, NOW, NULL, &err), 0);
	sm_cert_free(d);
	const sm_trust_key *before = sm_trust_current(sm_registry_trust(f->r), SM_ROLE_ISSUER);
	uint8_t old_kid[SM_KID_LEN];
	memcpy(old_kid, before->kid, SM_KID_LEN);
	assert_int_equal(sm_registry_rotate(f->r, SM_ROLE_ISSUER, NOW + 100, &err), 0);
	const sm_trust *t = sm_registry_trust(f->r);
	assert_int_equal(t->version, 2);
	assert_memory_not_equal(sm_trust_current(t, SM_ROLE_ISSUER)->kid, old_kid, SM_KID_LEN);
	assert_non_null(sm_trust_find(t, SM_ROLE_ISSUER, old_kid, NOW + 50));
	assert_null(sm_trust_find(t, SM_ROLE_ISSUER, old_kid, NOW + 150));
	d = draft("R-2", 1);
	assert_int_equal(sm_registry_issue(f->r, d, NOW + 200, NULL, &err), 0);
	sm_cert_free(d);
	/* the root rotates too: signed by the old root and the new one; the chain still verifies */
	memset(&err, 0, sizeof(err));
	assert_int_equal(sm_registry_rotate(f->r, SM_ROLE_ROOT, NOW + 300, &err), 0);
	assert_int_equal(sm_registry_trust(f->r)->version, 3);
	d = draft("R-2b", 1);
	assert_int_equal(sm_registry_issue(f->r, d, NOW + 310, NULL, &err), 0);
	sm_cert_free(d);
	sm_verify_report rep;
	if (sm_registry_verify(f->r, NULL, NULL, &rep, &err) != 0)
		fail_msg("log verify after a root rotation: %s", err.msg);
	assert_int_equal(rep.bundles, 3);
	assert_int_equal(rep.entries, 6);
	/* a reopened registry loads the new key from the new bundle */
	sm_registry_close(f->r);
	assert_int_equal(sm_registry_open(f->dir, true, NULL, &f->r, &err), 0);
	assert_int_equal(sm_registry_trust(f->r)->version, 3);
	d = draft("R-3", 1);
	assert_int_equal(sm_registry_issue(f->r, d, NOW + 400, NULL, &err), 0);
	sm_cert_free(d);
	assert_int_equal(sm_registry_verify(f->r, NULL, NULL, &rep, &err), 0);
}

/* A write transaction on LMDB database `db` of the store in `dir`, under the registry's back (closed). */
static MDB_env *open_raw(const char *dir, const char *db, MDB_txn **txn, MDB_dbi *dbi)
{
	MDB_env *env;
	assert_int_equal(mdb_env_create(&env), 0);
	assert_int_equal(mdb_env_set_maxdbs(env, 16), 0);
	assert_int_equal(mdb_env_set_mapsize(env, 64ull << 30), 0);
	assert_int_equal(mdb_env_open(env, dir, MDB_NOTLS, 0600), 0);
	assert_int_equal(mdb_txn_begin(env, NULL, 0, txn), 0);
	assert_int_equal(mdb_dbi_open(*txn, db, 0, dbi), 0);
	return env;
}

/* Change the bytes stored under `key` of LMDB database `db` (the registry must be closed). */
static void tamper(const char *dir, const char *db, const void *key, size_t kn, size_t at)
{
	MDB_txn *txn;
	MDB_dbi dbi;
	MDB_val k = { kn, (void *)(uintptr_t)key }, v;
	MDB_env *env = open_raw(dir, db, &txn, &dbi);
	assert_int_equal(mdb_get(txn, dbi, &k, &v), 0);
	uint8_t *copy = malloc(v.mv_size);
	memcpy(copy, v.mv_data, v.mv_size);
	copy[at % v.mv_size] ^= 0x01;
	v.mv_data = copy;
	assert_int_equal(mdb_put(txn, dbi, &k, &v, 0), 0);
	assert_int_equal(mdb_txn_commit(txn), 0);
	mdb_env_close(env);
	free(copy);
}

static void expect_verify_fails(struct fx *f, const char *words)
{
	sm_err err = { 0 };
	sm_verify_report rep;
	assert_int_equal(sm_registry_open(f->dir, false, NULL, &f->r, &err), 0);
	assert_int_equal(sm_registry_verify(f->r, NULL, NULL, &rep, &err), SM_EVERIFY);
	if (!strstr(err.msg, words))
		fail_msg("expected a message with '%s', got '%s'", words, err.msg);
}

static void issue_two(struct fx *f)
{
	sm_err err = { 0 };
	for (int i = 0; i < 2; i++) {
		char m[16];
		snprintf(m, sizeof(m), "T-%d", i);
		sm_cert *d = draft(m, 1);
		assert_int_equal(sm_registry_issue(f->r, d, NOW, NULL, &err), 0);
		sm_cert_free(d);
	}
	sm_registry_close(f->r);
	f->r = NULL;
}

static void test_registry_verify_detects_entry_tampering(void **state)
{
	struct fx *f = *state;
	issue_two(f);
	uint8_t key[8] = { 0, 0, 0, 0, 0, 0, 0, 2 };
	tamper(f->dir, "entries", key, 8, 200);
	expect_verify_fails(f, "entry 2");
}

static void test_registry_verify_detects_state_tampering(void **state)
{
	struct fx *f = *state;
	issue_two(f);
	tamper(f->dir, "certs", "SM-2021-000002", 14, 40);
	expect_verify_fails(f, "SM-2021-000002");
}

/* Copy the value stored under `from` of LMDB database `db` to the key `to` (the registry must be closed). */
static void copy_under(const char *dir, const char *db, const char *from, const char *to)
{
	MDB_txn *txn;
	MDB_dbi dbi;
	MDB_val k = { strlen(from), (void *)(uintptr_t)from }, v;
	MDB_env *env = open_raw(dir, db, &txn, &dbi);
	assert_int_equal(mdb_get(txn, dbi, &k, &v), 0);
	MDB_val k2 = { strlen(to), (void *)(uintptr_t)to };
	assert_int_equal(mdb_put(txn, dbi, &k2, &v, 0), 0);
	assert_int_equal(mdb_txn_commit(txn), 0);
	mdb_env_close(env);
}

/* A message must carry no control byte, and show the one in the store's key as \xHH. */
static void expect_escaped(const char *msg, const char *what)
{
	for (const char *p = msg; *p; p++)
		if ((unsigned char)*p < 0x20 || *p == 0x7f)
			fail_msg("%s: the message carries the control byte 0x%02x raw: '%s'", what, (unsigned char)*p, msg);
	if (!strstr(msg, "SM-2021-\\x1b[2J"))
		fail_msg("%s: expected the store's key as SM-2021-\\x1b[2J..., got '%s'", what, msg);
}

/* A store key with a control byte in it (a damaged or planted certificate): the checks name it escaped. */
static void test_registry_verify_escapes_store_keys(void **state)
{
	struct fx *f = *state;
	sm_err err = { 0 };
	sm_verify_report rep;
	sm_quick_report qr;
	issue_two(f);
	copy_under(f->dir, "certs", "SM-2021-000002", "SM-2021-\x1b[2J0002");
	assert_int_equal(sm_registry_open(f->dir, false, NULL, &f->r, &err), 0);
	assert_int_equal(sm_registry_verify(f->r, NULL, NULL, &rep, &err), SM_EVERIFY);
	expect_escaped(err.msg, "log verify");
	sm_registry_close(f->r);
	memset(&err, 0, sizeof(err));
	assert_int_equal(sm_registry_open(f->dir, false, NULL, &f->r, &err), 0);
	assert_int_equal(sm_registry_quick_check(f->r, &qr, &err), SM_EVERIFY);
	expect_escaped(err.msg, "the quick check");
}

static void test_registry_verify_detects_tile_tampering(void **state)
{
	struct fx *f = *state;
	sm_err err = { 0 };
	sm_cert **d = calloc(300, sizeof(*d));
	for (int i = 0; i < 300; i++) {
		char m[16];
		snprintf(m, sizeof(m), "TL-%d", i);
		d[i] = draft(m, 1);
		assert_int_equal(sm_cert_validate(d[i], 3, &err), 0);
	}
	assert_int_equal(sm_registry_issue_many(f->r, d, 300, NOW, NULL, NULL, &err), 0);
	for (int i = 0; i < 300; i++)
		sm_cert_free(d[i]);
	free(d);
	sm_verify_report rep;
	assert_int_equal(sm_registry_verify(f->r, NULL, NULL, &rep, &err), 0); /* one complete tile */
	sm_registry_close(f->r);
	f->r = NULL;
	uint8_t key[9] = { 0, 0, 0, 0, 0, 0, 0, 0, 0 }; /* tile 0 of tile level 0 */
	tamper(f->dir, "tiles", key, 9, 4000);
	expect_verify_fails(f, "tiles");
}

static void test_registry_verify_detects_tree_tampering(void **state)
{
	struct fx *f = *state;
	issue_two(f);
	uint8_t key[9] = { 1, 0, 0, 0, 0, 0, 0, 0, 0 }; /* node (level 1, index 0) */
	tamper(f->dir, "nodes", key, 9, 3);
	expect_verify_fails(f, "Merkle");
}

/* ---- published policies ---- */

static sm_policy policy_of(const char *json)
{
	sm_policy p;
	sm_err err = { 0 };
	if (sm_policy_parse(json, strlen(json), &p, &err) != 0)
		fail_msg("policy %s: %s", json, err.msg);
	return p;
}

struct pol_list {
	int n;
	char names[4][65];
	int levels[4];
	int64_t at[4];
	uint64_t index[4];
};

static int pol_collect(void *ctx, const sm_policy *p, int64_t at, uint64_t index)
{
	struct pol_list *l = ctx;
	assert_true(l->n < 4);
	snprintf(l->names[l->n], sizeof(l->names[0]), "%s", p->name);
	l->levels[l->n] = sm_policy_level(p, "lock");
	l->at[l->n] = at;
	l->index[l->n++] = index;
	return 0;
}

static void test_registry_policy_publish_list_get_withdraw(void **state)
{
	struct fx *f = *state;
	sm_err err = { 0 };
	sm_policy p = policy_of("{\"name\":\"homes 2026\",\"default_level\":1,\"levels\":{\"lock\":3}}"), got;
	int64_t at = 0;
	uint64_t index = 0;
	uint64_t before = log_size(f->r);

	/* published: a signed entry of the log, and the policy by its name */
	assert_int_equal(sm_registry_policy_publish(f->r, &p, NOW, &err), 0);
	assert_int_equal(log_size(f->r), before + 1);
	assert_int_equal(sm_registry_policy_get(f->r, "homes 2026", &got, &at, &index, &err), 0);
	assert_memory_equal(&got, &p, sizeof(p));
	assert_int_equal(at, NOW);
	assert_int_equal(index, before);

	/* another, and the first again with a stricter level: replaced, not added */
	sm_policy q = policy_of("{\"name\":\"積水 estates\",\"levels\":{\"lock\":2}}");
	assert_int_equal(sm_registry_policy_publish(f->r, &q, NOW + 5, &err), 0);
	p.default_level = 2;
	assert_int_equal(sm_registry_policy_publish(f->r, &p, NOW + 10, &err), 0);
	struct pol_list l = { 0 };
	assert_int_equal(sm_registry_policy_list(f->r, pol_collect, &l, &err), 0);
	assert_int_equal(l.n, 2);
	assert_string_equal(l.names[0], "homes 2026");
	assert_int_equal(l.at[0], NOW + 10);
	assert_int_equal(l.index[0], before + 2);
	assert_int_equal(l.levels[0], 3);
	assert_string_equal(l.names[1], "積水 estates");
	assert_int_equal(sm_registry_policy_get(f->r, "homes 2026", &got, NULL, NULL, &err), 0);
	assert_int_equal(got.default_level, 2);

	/* every entry verifies, and the fold is what the store holds */
	sm_verify_report rep;
	assert_int_equal(sm_registry_verify(f->r, NULL, NULL, &rep, &err), 0);
	assert_int_equal(rep.policies, 2);
	assert_int_equal(rep.entries, before + 3);

	/* withdrawn: a signed entry too; then it is gone, and a second withdrawal names it */
	assert_int_equal(sm_registry_policy_withdraw(f->r, "homes 2026", NOW + 20, &err), 0);
	assert_int_equal(log_size(f->r), before + 4);
	memset(&err, 0, sizeof(err));
	assert_int_equal(sm_registry_policy_get(f->r, "homes 2026", &got, NULL, NULL, &err), SM_ENOTFOUND);
	assert_non_null(strstr(err.msg, "homes 2026"));
	memset(&err, 0, sizeof(err));
	assert_int_equal(sm_registry_policy_withdraw(f->r, "homes 2026", NOW + 30, &err), SM_ENOTFOUND);
	assert_non_null(strstr(err.msg, "homes 2026"));
	assert_string_equal(err.field, "name");
	assert_int_equal(log_size(f->r), before + 4);
	memset(&l, 0, sizeof(l));
	assert_int_equal(sm_registry_policy_list(f->r, pol_collect, &l, &err), 0);
	assert_int_equal(l.n, 1);
	assert_int_equal(sm_registry_verify(f->r, NULL, NULL, &rep, &err), 0);
	assert_int_equal(rep.policies, 1);
}

static void test_registry_policy_refused(void **state)
{
	struct fx *f = *state;
	sm_err err = { 0 };
	uint64_t before = log_size(f->r);
	/* a level the scheme (3 levels) does not have: nothing is appended */
	sm_policy p = policy_of("{\"name\":\"too strict\",\"levels\":{\"lock\":4}}");
	assert_int_equal(sm_registry_policy_publish(f->r, &p, NOW, &err), SM_EINVAL);
	assert_string_equal(err.field, "levels.lock");
	p = policy_of("{\"name\":\"a/b\"}");
	memset(&err, 0, sizeof(err));
	assert_int_equal(sm_registry_policy_publish(f->r, &p, NOW, &err), SM_EINVAL);
	assert_string_equal(err.field, "name");
	assert_int_equal(log_size(f->r), before);
	/* a read-only registry changes nothing */
	sm_registry *ro = NULL;
	assert_int_equal(sm_registry_open(f->dir, false, NULL, &ro, &err), 0);
	p = policy_of("{\"name\":\"homes\"}");
	assert_int_equal(sm_registry_policy_publish(ro, &p, NOW, &err), SM_ESTORE);
	assert_int_equal(sm_registry_policy_withdraw(ro, "homes", NOW, &err), SM_ESTORE);
	sm_registry_close(ro);
	assert_int_equal(log_size(f->r), before);
}

static void test_registry_verify_detects_policy_tampering(void **state)
{
	struct fx *f = *state;
	sm_err err = { 0 };
	sm_policy p = policy_of("{\"name\":\"homes\",\"levels\":{\"lock\":3}}");
	assert_int_equal(sm_registry_policy_publish(f->r, &p, NOW, &err), 0);
	sm_registry_close(f->r);
	f->r = NULL;
	/* the stored policy changed behind the log's back (a byte of its JSON): log verify names it */
	tamper(f->dir, "policies", "homes", 5, 40);
	expect_verify_fails(f, "policy homes");
}

static void test_registry_verify_detects_policy_entry_tampering(void **state)
{
	struct fx *f = *state;
	sm_err err = { 0 };
	sm_policy p = policy_of("{\"name\":\"homes\",\"levels\":{\"lock\":3}}");
	assert_int_equal(sm_registry_policy_publish(f->r, &p, NOW, &err), 0);
	sm_registry_close(f->r);
	f->r = NULL;
	uint8_t key[8] = { 0, 0, 0, 0, 0, 0, 0, 1 };
	tamper(f->dir, "entries", key, 8, 150);
	expect_verify_fails(f, "entry 1");
}

/* ---- homes against the registry ---- */

static void test_registry_home_check(void **state)
{
	struct fx *f = *state;
	sm_err err = { 0 };
	sm_cert *d = draft("MC-301V", 2);
	assert_int_equal(sm_registry_issue(f->r, d, NOW, NULL, &err), 0);
	sm_cert_free(d);
	static const char doc[] =
		"{\"home\":\"h-1\",\"devices\":["
		"{\"id\":\"heater\",\"vendor\":\"RINNAI\",\"model\":\"MC-301V\",\"firmware\":\"1.5\",\"category\":\"water-heater\","
		"\"planned\":true,\"installed\":true},"
		"{\"id\":\"lock\",\"vendor\":\"ACME\",\"model\":\"L-1\",\"firmware\":\"1.0\",\"planned\":true,\"installed\":true}]}";
	sm_home *h = NULL;
	assert_int_equal(sm_home_parse(doc, strlen(doc), &h, &err), 0);

	/* one device, as `check` answers it, with its statement */
	sm_registry_home ctx = { f->r, NOW };
	sm_check_result res;
	char *st = NULL;
	sm_check_req q = { "RINNAI", "MC-301V", "1.5", "water-heater", 0 };
	sm_policy dflt;
	sm_policy_default(&dflt);
	assert_int_equal(sm_registry_home_device(&ctx, &q, &dflt, &res, &st, &err), 0);
	assert_int_equal(res.verdict, SM_ALLOW);
	assert_non_null(st);
	assert_true(strspn(st, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_") == strlen(st));
	sm_check_result_cleanup(&res);
	free(st);
	st = NULL;
	q.model = "NOPE";
	assert_int_equal(sm_registry_home_device(&ctx, &q, &dflt, &res, &st, &err), 0);
	assert_int_equal(res.verdict, SM_DENY);
	assert_null(st);
	sm_check_result_cleanup(&res);

	/* the home: the weakest device decides; the evidence is the log as it is, signed */
	sm_home_result r;
	assert_int_equal(sm_registry_home_check(f->r, h, NULL, NOW, &r, &err), 0);
	assert_int_equal(r.verdict, SM_DENY);
	assert_int_equal(r.level, 0);
	assert_int_equal(r.devices[0].res.verdict, SM_ALLOW);
	assert_non_null(r.devices[0].statement);
	assert_int_equal(r.devices[1].res.verdict, SM_DENY);
	assert_true(r.have_checkpoint);
	assert_int_equal(r.checkpoint_size, log_size(f->r));
	uint8_t root[SM_HASH_LEN];
	assert_int_equal(sm_registry_log_root(f->r, r.checkpoint_size, root, &err), 0);
	assert_memory_equal(root, r.checkpoint_root, SM_HASH_LEN);
	char *vkey = NULL;
	sm_checkpoint cp;
	assert_non_null(r.checkpoint_text);
	assert_int_equal(sm_registry_log_vkey(f->r, &vkey, &err), 0);
	assert_int_equal(sm_checkpoint_verify(r.checkpoint_text, strlen(r.checkpoint_text), vkey, &cp, &err), 0);
	assert_int_equal(cp.size, r.checkpoint_size);
	free(vkey);
	sm_home_result_cleanup(&r);

	/* only the allowed device: allow at its level; nothing was appended by checking */
	uint64_t before = log_size(f->r);
	h->ndevices = 1;
	assert_int_equal(sm_registry_home_check(f->r, h, NULL, NOW, &r, &err), 0);
	assert_int_equal(r.verdict, SM_ALLOW);
	assert_int_equal(r.level, 2);
	sm_home_result_cleanup(&r);
	/* under a policy that asks more */
	sm_policy strict = policy_of("{\"name\":\"strict\",\"levels\":{\"water-heater\":3}}");
	assert_int_equal(sm_registry_home_check(f->r, h, &strict, NOW, &r, &err), 0);
	assert_int_equal(r.verdict, SM_DENY);
	sm_home_result_cleanup(&r);
	assert_int_equal(log_size(f->r), before);
	h->ndevices = 2;
	sm_home_free(h);
}

static void test_registry_tokens(void **state)
{
	struct fx *f = *state;
	sm_err err = { 0 };
	char *tok = NULL, name[SM_TOKEN_NAME_MAX + 1];
	int role = 0;
	assert_int_equal(sm_registry_token_create(f->r, "ci-bot", SM_TOKEN_ISSUER, NOW, &tok, &err), 0);
	assert_int_equal(strncmp(tok, "smt_", 4), 0);
	assert_int_equal(sm_registry_token_check(f->r, tok, &role, name), 0);
	assert_int_equal(role, SM_TOKEN_ISSUER);
	assert_string_equal(name, "ci-bot");
	assert_int_equal(sm_registry_token_create(f->r, "ci-bot", SM_TOKEN_AUDITOR, NOW, &tok, &err), SM_EEXIST);
	assert_int_equal(sm_registry_token_create(f->r, "bad name", SM_TOKEN_AUDITOR, NOW, &tok, &err), SM_EINVAL);
	tok[5] ^= 1;
	assert_int_equal(sm_registry_token_check(f->r, tok, &role, name), SM_ENOTFOUND);
	tok[5] ^= 1;
	assert_int_equal(sm_registry_token_revoke(f->r, "ci-bot", &err), 0);
	assert_int_equal(sm_registry_token_check(f->r, tok, &role, name), SM_ENOTFOUND);
	assert_int_equal(sm_registry_token_revoke(f->r, "ci-bot", &err), SM_ENOTFOUND);
	free(tok);
}

static void test_registry_open_errors(void **state)
{
	struct fx *f = *state;
	sm_err err = { 0 };
	sm_registry *r = NULL;
	sm_init_opts o = { "CCDS", 3, "x.example", NULL, NOW };
	char fp[65], path[128];
	/* a second init refuses */
	assert_int_equal(sm_registry_init(f->dir, &o, fp, &err), SM_EEXIST);
	/* bad options */
	o.levels = 12;
	assert_int_equal(sm_registry_init("/tmp/sm-never-made", &o, fp, &err), SM_EINVAL);
	assert_string_equal(err.field, "levels");
	/* a missing registry */
	assert_int_equal(sm_registry_open("/tmp/sm-no-such-registry", false, NULL, &r, &err), SM_ENOTFOUND);
	/* a truncated store file: a clear error, not a crash */
	sm_cert *d = draft("X-1", 1);
	for (int i = 0; i < 50; i++) {
		snprintf(d->models[0], 4, "%c%c", 'A' + i % 26, 'a' + i / 26);
		assert_int_equal(sm_registry_issue(f->r, d, NOW, NULL, &err), 0);
	}
	sm_cert_free(d);
	sm_registry_close(f->r);
	f->r = NULL;
	snprintf(path, sizeof(path), "%s/data.mdb", f->dir);
	struct stat st;
	assert_int_equal(stat(path, &st), 0);
	assert_int_equal(truncate(path, st.st_size / 2), 0);
	memset(&err, 0, sizeof(err));
	assert_int_equal(sm_registry_open(f->dir, false, NULL, &r, &err), SM_ESTORE);
	assert_non_null(strstr(err.msg, "truncated"));
}

static void test_registry_passphrase(void **state)
{
	char dir[64];
	snprintf(dir, sizeof(dir), "/tmp/sm-test-pass-XXXXXX");
	assert_non_null(mkdtemp(dir));
	sm_init_opts o = { "CCDS", 3, "x.example", "correct horse", NOW };
	char fp[65];
	sm_err err = { 0 };
	sm_registry *r = NULL;
	assert_int_equal(sm_registry_init(dir, &o, fp, &err), 0);
	sm_cert *d = draft("K-1", 1);
	assert_int_equal(sm_registry_open(dir, true, "wrong", &r, &err), 0); /* keys load lazily */
	assert_int_equal(sm_registry_issue(r, d, NOW, NULL, &err), SM_EKEY);
	assert_non_null(strstr(err.msg, "passphrase"));
	sm_registry_close(r);
	assert_int_equal(sm_registry_open(dir, true, "correct horse", &r, &err), 0);
	assert_int_equal(sm_registry_issue(r, d, NOW, NULL, &err), 0);
	sm_registry_close(r);
	sm_cert_free(d);
	char cmd[128];
	snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
	assert_int_equal(system(cmd), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_registry_issue_and_events, setup, teardown),
		cmocka_unit_test_setup_teardown(test_registry_issue_many_all_or_nothing, setup, teardown),
		cmocka_unit_test_setup_teardown(test_registry_list_filters, setup, teardown),
		cmocka_unit_test_setup_teardown(test_registry_checkpoint_and_proofs, setup, teardown),
		cmocka_unit_test_setup_teardown(test_registry_rotation_keeps_history_verifiable, setup, teardown),
		cmocka_unit_test_setup_teardown(test_registry_verify_detects_entry_tampering, setup, teardown),
		cmocka_unit_test_setup_teardown(test_registry_verify_detects_state_tampering, setup, teardown),
		cmocka_unit_test_setup_teardown(test_registry_verify_escapes_store_keys, setup, teardown),
		cmocka_unit_test_setup_teardown(test_registry_verify_detects_tree_tampering, setup, teardown),
		cmocka_unit_test_setup_teardown(test_registry_verify_detects_tile_tampering, setup, teardown),
		cmocka_unit_test_setup_teardown(test_registry_tokens, setup, teardown),
		cmocka_unit_test_setup_teardown(test_registry_policy_publish_list_get_withdraw, setup, teardown),
		cmocka_unit_test_setup_teardown(test_registry_policy_refused, setup, teardown),
		cmocka_unit_test_setup_teardown(test_registry_home_check, setup, teardown),
		cmocka_unit_test_setup_teardown(test_registry_verify_detects_policy_tampering, setup, teardown),
		cmocka_unit_test_setup_teardown(test_registry_verify_detects_policy_entry_tampering, setup, teardown),
		cmocka_unit_test_setup_teardown(test_registry_open_errors, setup, teardown),
		cmocka_unit_test(test_registry_passphrase),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
