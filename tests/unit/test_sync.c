/* SPDX-License-Identifier: Apache-2.0 */
/* Unit tests of sync's decisions (trust succession, rollback, freeze, log consistency), the offline cache,
 * and the client's pure parts (URLs, escaping, certificate views). */
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

#include "fixture.h"
#include "registry_int.h"
#include "starmark/client.h"
#include "starmark/cose.h"
#include "starmark/starmark.h"
#include "starmark/status.h"
#include "starmark/sync.h"

#define NOW 1790000000

struct fx {
	char dir[64];
	char cache[96];
	sm_registry *r;
	sm_trust *t;
};

static void issue(struct fx *f, const char *vendor, const char *model, int level, const char *fw, char id[32])
{
	fx_issue(f->r, vendor, model, level, fw, NULL, SM_DATE_NONE, NOW + 1, id);
}

static int setup(void **state)
{
	struct fx *f = calloc(1, sizeof(*f));
	f->r = fx_registry_new(f->dir, "registry.test", NOW);
	snprintf(f->cache, sizeof(f->cache), "%s/cache", f->dir);
	assert_int_equal(mkdir(f->cache, 0755), 0);
	f->t = malloc(sizeof(*f->t));
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fx *f = *state;
	fx_registry_free(f->r, f->dir);
	free(f->t);
	free(f);
	return 0;
}

static uint8_t *read_all(const char *path, size_t *n)
{
	FILE *fp = fopen(path, "rb");
	assert_non_null(fp);
	uint8_t *b = malloc(1 << 20);
	*n = fread(b, 1, 1 << 20, fp);
	fclose(fp);
	return b;
}

static void write_all(const char *path, const uint8_t *p, size_t n)
{
	FILE *fp = fopen(path, "wb");
	assert_non_null(fp);
	assert_int_equal(fwrite(p, 1, n, fp), n);
	assert_int_equal(fclose(fp), 0);
}

/* Build a snapshot at `at` into dir/name and return its bytes. */
static uint8_t *snapshot(struct fx *f, const char *name, int64_t at, size_t *n, uint64_t *version)
{
	char path[160];
	sm_err err = {0};
	snprintf(path, sizeof(path), "%s/%s", f->dir, name);
	assert_int_equal(sm_registry_snapshot(f->r, path, at, version, &err), 0);
	return read_all(path, n);
}

/* ---- trust: the chain followed from an anchor ---- */

/* The registry's chain from version `from`, encoded. */
static uint8_t *chain_bytes(sm_registry *r, uint64_t from, size_t *n)
{
	sm_trust_chain c = {0};
	sm_buf b = SM_BUF_INIT;
	assert_int_equal(sm_registry_trust_chain(r, from, &c, NULL), 0);
	assert_int_equal(sm_trust_chain_encode(&c, &b), 0);
	sm_trust_chain_cleanup(&c);
	return sm_buf_take(&b, n);
}

static sm_anchor *anchor_of(const uint8_t *p, size_t n)
{
	sm_anchor *a = NULL;
	sm_err err = {0};
	if (sm_anchor_from_bytes(p, n, &a, &err) != 0)
		fail_msg("anchor: %s", err.msg);
	return a;
}

static void rotate(struct fx *f, int role, int64_t at)
{
	sm_err err = {0};
	if (sm_registry_rotate(f->r, role, at, &err) != 0)
		fail_msg("rotate %s: %s", sm_role_name(role), err.msg);
}

/* Follow the registry's whole chain from `a`; the newest version reached, or -code. */
static long follow_all(struct fx *f, const sm_anchor *a, sm_err *err)
{
	sm_trust_chain c = {0};
	assert_int_equal(sm_registry_trust_chain(f->r, 1, &c, NULL), 0);
	int rc = sm_trust_follow(a, &c, f->t, NULL, NULL, err);
	sm_trust_chain_cleanup(&c);
	return rc ? rc : (long)f->t->version;
}

static void test_sync_trust_follows_root_rotations(void **state)
{
	struct fx *f = *state;
	sm_err err = {0};
	uint8_t *v1 = NULL, *mid = NULL;
	size_t n1, nmid;
	char fp1[65];
	assert_int_equal(sm_registry_trust_signed(f->r, &v1, &n1, &err), 0);
	sm_key_fingerprint(sm_registry_trust(f->r)->root, fp1);
	/* every role in turn, the root three times */
	rotate(f, SM_ROLE_ISSUER, NOW + 10);
	rotate(f, SM_ROLE_ROOT, NOW + 20);
	assert_int_equal(sm_registry_trust_signed(f->r, &mid, &nmid, &err), 0); /* version 3: a root change */
	rotate(f, SM_ROLE_STATUS, NOW + 30);
	rotate(f, SM_ROLE_ROOT, NOW + 40);
	rotate(f, SM_ROLE_LOG, NOW + 50);
	rotate(f, SM_ROLE_ROOT, NOW + 60);
	assert_int_equal(sm_registry_trust(f->r)->version, 7);
	/* from bundle 1, from the fingerprint of root 1, from the root-change bundle 3, from the newest */
	sm_anchor *a = anchor_of(v1, n1);
	assert_int_equal(follow_all(f, a, &err), 7);
	sm_anchor_free(a);
	assert_int_equal(sm_anchor_load(fp1, &a, &err), 0);
	assert_int_equal(follow_all(f, a, &err), 7);
	assert_memory_equal(f->t->root, sm_registry_trust(f->r)->root, 32);
	sm_anchor_free(a);
	a = anchor_of(mid, nmid);
	assert_int_equal(follow_all(f, a, &err), 7);
	sm_anchor_free(a);
	uint8_t *newest = NULL;
	size_t nn;
	assert_int_equal(sm_registry_trust_signed(f->r, &newest, &nn, &err), 0);
	a = anchor_of(newest, nn); /* a root change stands alone by the new root's proof */
	assert_int_equal(follow_all(f, a, &err), 7);
	/* the newest bundle keeps every retired key with its validity */
	assert_int_equal(f->t->nkeys, 6);
	sm_anchor_free(a);
	/* the exported chain is an anchor too, and reaches the newest offline */
	size_t cn;
	uint8_t *chain = chain_bytes(f->r, 1, &cn);
	a = anchor_of(chain, cn);
	assert_int_equal(sm_trust_follow(a, NULL, f->t, NULL, NULL, &err), 0);
	assert_int_equal(f->t->version, 7);
	sm_anchor_free(a);
	free(chain);
	free(newest);
	free(mid);
	free(v1);
}

static void test_sync_trust_chain_refusals(void **state)
{
	struct fx *f = *state;
	sm_err err = {0};
	uint8_t *v1 = NULL;
	size_t n1;
	assert_int_equal(sm_registry_trust_signed(f->r, &v1, &n1, &err), 0);
	rotate(f, SM_ROLE_STATUS, NOW + 10);
	rotate(f, SM_ROLE_ROOT, NOW + 20);
	sm_anchor *a = anchor_of(v1, n1);
	sm_trust_chain c = {0};
	assert_int_equal(sm_registry_trust_chain(f->r, 1, &c, NULL), 0);
	assert_int_equal(c.n, 3);
	/* a gap: version 2 left out */
	sm_trust_chain gap = {0};
	assert_int_equal(sm_trust_chain_add(&gap, c.v[0].p, c.v[0].n, NULL), 0);
	assert_int_equal(sm_trust_chain_add(&gap, c.v[2].p, c.v[2].n, &err), SM_EINVAL);
	assert_non_null(strstr(err.msg, "does not follow version 1"));
	/* the root change without its proof: the walk stops there */
	sm_trust *t3 = malloc(sizeof(*t3));
	assert_int_equal(sm_trust_peek(c.v[2].p, c.v[2].n, t3, NULL), 0);
	free(t3);
	uint8_t *bad = malloc(c.v[2].n);
	memcpy(bad, c.v[2].p, c.v[2].n);
	bad[c.v[2].n - 3] ^= 1; /* the old root's signature */
	free(c.v[2].p);
	c.v[2].p = bad;
	assert_int_equal(sm_trust_follow(a, &c, f->t, NULL, NULL, &err), SM_EVERIFY);
	assert_non_null(strstr(err.msg, "does not follow from the provisioned trust bundle"));
	/* another registry's chain (same origin and scheme, other keys) */
	char other[96];
	sm_registry *r2 = NULL;
	snprintf(other, sizeof(other), "%s/other", f->dir);
	sm_init_opts o = {"CCDS", 3, "registry.test", NULL, NOW};
	char fp[65];
	assert_int_equal(sm_registry_init(other, &o, fp, NULL), 0);
	assert_int_equal(sm_registry_open(other, true, NULL, &r2, NULL), 0);
	assert_int_equal(sm_registry_rotate(r2, SM_ROLE_ISSUER, NOW + 5, NULL), 0);
	sm_trust_chain c2 = {0};
	assert_int_equal(sm_registry_trust_chain(r2, 1, &c2, NULL), 0);
	assert_int_equal(sm_trust_follow(a, &c2, f->t, NULL, NULL, &err), SM_EVERIFY);
	assert_non_null(strstr(err.msg, "two different trust bundles claim version 1"));
	/* and a fingerprint that no bundle names */
	sm_anchor *fa = NULL;
	assert_int_equal(sm_anchor_load(fp, &fa, &err), 0);
	assert_int_equal(follow_all(f, fa, &err), SM_EVERIFY);
	assert_non_null(strstr(err.msg, "no trust bundle offered names the provisioned root key"));
	sm_anchor_free(fa);
	/* an anchor newer than what is offered stays the newest (an older chain is no rollback) */
	uint8_t *v3 = NULL;
	size_t n3;
	assert_int_equal(sm_registry_trust_signed(f->r, &v3, &n3, NULL), 0);
	sm_anchor *a3 = anchor_of(v3, n3);
	sm_trust_chain old = {0};
	assert_int_equal(sm_trust_chain_add(&old, c2.v[0].p, 0, &err), SM_EINVAL);
	assert_int_equal(sm_trust_follow(a3, &gap, f->t, NULL, NULL, &err), 0);
	assert_int_equal(f->t->version, 3);
	sm_anchor_free(a3);
	free(v3);
	sm_trust_chain_cleanup(&old);
	sm_trust_chain_cleanup(&c2);
	sm_registry_close(r2);
	sm_trust_chain_cleanup(&gap);
	sm_trust_chain_cleanup(&c);
	sm_anchor_free(a);
	free(v1);
}

static void test_sync_anchor_specs(void **state)
{
	struct fx *f = *state;
	sm_err err = {0};
	sm_anchor *a = NULL;
	char path[160], fp[65], desc[200];
	/* a fingerprint, bare or with "sha256:" */
	sm_key_fingerprint(sm_registry_trust(f->r)->root, fp);
	assert_int_equal(sm_anchor_load(fp, &a, &err), 0);
	sm_anchor_describe(a, desc, sizeof(desc));
	assert_non_null(strstr(desc, fp));
	assert_int_equal(sm_anchor_fetch_from(a), 1);
	sm_anchor_free(a);
	snprintf(path, sizeof(path), "sha256:%s", fp);
	assert_int_equal(sm_anchor_load(path, &a, &err), 0);
	sm_anchor_free(a);
	/* a bundle file */
	uint8_t *b = NULL;
	size_t n;
	assert_int_equal(sm_registry_trust_signed(f->r, &b, &n, NULL), 0);
	snprintf(path, sizeof(path), "%s/trust.cose", f->dir);
	write_all(path, b, n);
	assert_int_equal(sm_anchor_load(path, &a, &err), 0);
	assert_int_equal(sm_anchor_fetch_from(a), 1);
	sm_anchor_describe(a, desc, sizeof(desc));
	assert_non_null(strstr(desc, "trust bundle version 1 of registry.test"));
	sm_anchor_free(a);
	/* a tampered one, garbage, a missing file, a wrong fingerprint length */
	b[n - 5] ^= 1;
	write_all(path, b, n);
	assert_int_equal(sm_anchor_load(path, &a, &err), SM_EINVAL);
	assert_non_null(strstr(err.msg, path));
	assert_non_null(strstr(err.msg, "not signed by the root key it names"));
	write_all(path, (const uint8_t *)"garbage", 7);
	assert_int_equal(sm_anchor_load(path, &a, &err), SM_EINVAL);
	assert_null(a);
	assert_int_equal(sm_anchor_load("/nonexistent/trust.cose", &a, &err), SM_EINVAL);
	assert_non_null(strstr(err.msg, "neither a file nor a root key fingerprint"));
	fp[10] = '\0';
	assert_int_equal(sm_anchor_load(fp, &a, &err), SM_EINVAL);
	assert_int_equal(sm_anchor_load("", &a, &err), SM_EINVAL);
	/* an empty chain is no anchor */
	snprintf(path, sizeof(path), "%s/empty", f->dir);
	write_all(path, (const uint8_t *)"\x80", 1);
	assert_int_equal(sm_anchor_load(path, &a, &err), SM_EINVAL);
	free(b);
}

/* A status key rotated out (leaked, say) signs nothing that lasts past its retirement, backdated or not. */
static void test_sync_retired_status_key_signs_nothing_lasting(void **state)
{
	struct fx *f = *state;
	const sm_key *old = NULL;
	sm_err err = {0};
	char id[32];
	issue(f, "ACME", "L1", 2, ">=1.0", id);
	assert_int_equal(sm_registry_key(f->r, SM_ROLE_STATUS, &old, &err), 0); /* kept alive until close */
	rotate(f, SM_ROLE_STATUS, NOW + 100);
	sm_statement s = {0}, out = {0};
	sm_buf b = SM_BUF_INIT;
	uint8_t *cose = NULL;
	size_t n = 0;
	assert_int_equal(sm_registry_get(f->r, id, &s.cert, &err), 0);
	s.produced_at = NOW + 50; /* while the old key was valid */
	s.next_update = NOW + 10 * 365 * 86400;
	assert_int_equal(sm_statement_encode(&s, &b), 0);
	assert_int_equal(sm_cose_sign1(old, SM_COSE_STATUS, b.data, b.len, true, &cose, &n), 0);
	assert_int_equal(sm_statement_verify(cose, n, sm_registry_trust(f->r), &out, &err), 0);
	assert_int_equal(out.next_update, NOW + 100); /* good until the key was retired, not ten years */
	sm_check_req q = {"ACME", "L1", "1.5", NULL, 0};
	sm_policy p;
	sm_check_result res = {0};
	sm_policy_default(&p);
	assert_int_equal(sm_verdict_eval(&q, &p, &out.cert, 1, out.next_update, NOW + 100 + 80 * 3600, &res), 0);
	assert_int_equal(res.verdict, SM_UNKNOWN); /* past the grace after the retirement */
	sm_check_result_cleanup(&res);
	sm_statement_cleanup(&out);
	sm_statement_cleanup(&s);
	sm_buf_cleanup(&b);
	free(cose);
}

/* ---- snapshots ---- */

static void test_sync_snapshot_newer_same_rollback(void **state)
{
	struct fx *f = *state;
	sm_err err = {0};
	sm_snapshot_info i1, i2, got;
	size_t n1, n2;
	uint64_t v1, v2;
	uint8_t h1[32], h2[32];
	bool same = true;
	issue(f, "ACME", "L1", 2, ">=1.0", NULL);
	uint8_t *s1 = snapshot(f, "s1", NOW + 10, &n1, &v1);
	issue(f, "ACME", "L2", 2, ">=1.0", NULL);
	uint8_t *s2 = snapshot(f, "s2", NOW + 20, &n2, &v2);
	assert_true(v2 > v1);
	sm_sha256(s1, n1, h1);
	sm_sha256(s2, n2, h2);
	const sm_trust *t = sm_registry_trust(f->r);
	assert_int_equal(sm_sync_snapshot_accept(s1, n1, t, NULL, NULL, NOW + 30, &i1, &same, &err), 0);
	assert_false(same);
	assert_int_equal(i1.version, v1);
	assert_int_equal(i1.count, 1);
	assert_int_equal(sm_sync_snapshot_accept(s2, n2, t, &i1, h1, NOW + 30, &i2, &same, &err), 0);
	assert_false(same);
	assert_int_equal(i2.count, 2);
	assert_int_equal(sm_sync_snapshot_accept(s2, n2, t, &i2, h2, NOW + 30, &got, &same, &err), 0);
	assert_true(same);
	/* rollback: the older one offered to a holder of the newer */
	assert_int_equal(sm_sync_snapshot_accept(s1, n1, t, &i2, h2, NOW + 30, &got, &same, &err),
	                 SM_EVERIFY);
	assert_non_null(strstr(err.msg, "rollback"));
	/* the same version with other bytes */
	assert_int_equal(sm_sync_snapshot_accept(s1, n1, t, &i2, h2, NOW + 30, &got, &same, &err),
	                 SM_EVERIFY);
	i1.version = i2.version;
	assert_int_equal(sm_sync_snapshot_accept(s2, n2, t, &i1, h1, NOW + 30, &got, &same, &err),
	                 SM_EVERIFY);
	assert_non_null(strstr(err.msg, "another snapshot"));
	free(s1);
	free(s2);
}

static void test_sync_snapshot_freeze_and_tamper(void **state)
{
	struct fx *f = *state;
	sm_err err = {0};
	sm_snapshot_info info;
	size_t n;
	uint64_t v;
	bool same;
	issue(f, "ACME", "L1", 2, ">=1.0", NULL);
	uint8_t *s = snapshot(f, "s", NOW + 10, &n, &v);
	const sm_trust *t = sm_registry_trust(f->r);
	assert_int_equal(sm_sync_snapshot_accept(s, n, t, NULL, NULL, NOW + 10, &info, &same, &err), 0);
	int64_t expires = info.expires;
	assert_true(expires > NOW + 10);
	assert_int_equal(sm_sync_snapshot_accept(s, n, t, NULL, NULL, expires, &info, &same, &err), 0);
	assert_int_equal(sm_sync_snapshot_accept(s, n, t, NULL, NULL, expires + 1, &info, &same, &err),
	                 SM_EVERIFY);
	assert_non_null(strstr(err.msg, "expired"));
	s[n - 1] ^= 0x40; /* the signature */
	assert_int_equal(sm_sync_snapshot_accept(s, n, t, NULL, NULL, NOW + 10, &info, &same, &err),
	                 SM_EVERIFY);
	free(s);
}

/* ---- the log ---- */

static void test_sync_consistency(void **state)
{
	struct fx *f = *state;
	sm_err err = {0};
	uint8_t r2[SM_HASH_LEN], r5[SM_HASH_LEN], proof[SM_MERKLE_MAX_CONSISTENCY][SM_HASH_LEN];
	size_t n = 0;
	for (int i = 0; i < 4; i++) {
		char m[8];
		snprintf(m, sizeof(m), "M%d", i);
		issue(f, "ACME", m, 1, "1.0", NULL);
	}
	assert_int_equal(sm_registry_log_root(f->r, 2, r2, &err), 0);
	assert_int_equal(sm_registry_log_root(f->r, 5, r5, &err), 0);
	assert_int_equal(sm_registry_consistency(f->r, 2, 5, proof, &n, &err), 0);
	const uint8_t(*cp)[SM_HASH_LEN] = (const uint8_t(*)[SM_HASH_LEN])proof;
	assert_int_equal(sm_sync_consistent(2, r2, 5, r5, cp, n, &err), 0);
	assert_int_equal(sm_sync_consistent(5, r5, 5, r5, cp, 0, &err), 0);
	assert_int_equal(sm_sync_consistent(0, r2, 5, r5, cp, 0, &err), 0);
	assert_int_equal(sm_sync_consistent(5, r5, 2, r2, cp, n, &err), SM_EVERIFY);
	assert_non_null(strstr(err.msg, "shrank from 5 to 2"));
	assert_int_equal(sm_sync_consistent(5, r2, 5, r5, cp, 0, &err), SM_EVERIFY);
	assert_non_null(strstr(err.msg, "fork"));
	proof[0][3] ^= 1;
	assert_int_equal(sm_sync_consistent(2, r2, 5, r5, cp, n, &err), SM_EVERIFY);
	assert_non_null(strstr(err.msg, "not an extension"));
}

static void test_sync_log_vkey_verifies_checkpoint(void **state)
{
	struct fx *f = *state;
	sm_err err = {0};
	char *vkey = NULL, *reg_vkey = NULL, *cp = NULL;
	sm_checkpoint out;
	assert_int_equal(sm_trust_log_vkey(sm_registry_trust(f->r), &vkey, &err), 0);
	assert_int_equal(sm_registry_log_vkey(f->r, &reg_vkey, &err), 0);
	assert_string_equal(vkey, reg_vkey);
	assert_int_equal(sm_registry_checkpoint(f->r, &cp, &err), 0);
	assert_int_equal(sm_checkpoint_verify(cp, strlen(cp), vkey, &out, &err), 0);
	assert_string_equal(out.origin, "registry.test");
	free(vkey);
	free(reg_vkey);
	free(cp);
}

/* ---- the offline cache ---- */

/* A generation of the cache as sync writes it: the chain and a snapshot built at `at`, named for `floor`. */
static void put_cache_gen(struct fx *f, int64_t at, uint64_t floor)
{
	char path[400], gen[64];
	uint8_t *b = NULL;
	size_t n;
	uint64_t v;
	sm_err err = {0};
	snprintf(gen, sizeof(gen), "g-%llu-test", (unsigned long long)floor);
	snprintf(path, sizeof(path), "rm -rf %s/g-*; mkdir -p %s/%s", f->cache, f->cache, gen);
	assert_int_equal(system(path), 0);
	b = chain_bytes(f->r, 1, &n);
	snprintf(path, sizeof(path), "%s/%s/%s", f->cache, gen, SM_CACHE_TRUST);
	write_all(path, b, n);
	free(b);
	snprintf(path, sizeof(path), "%s/%s/%s", f->cache, gen, SM_CACHE_SNAPSHOT);
	assert_int_equal(sm_registry_snapshot(f->r, path, at, &v, &err), 0);
	snprintf(path, sizeof(path), "%s/CURRENT", f->cache);
	strcat(gen, "\n");
	write_all(path, (const uint8_t *)gen, strlen(gen));
}

static void put_cache(struct fx *f, int64_t at)
{
	put_cache_gen(f, at, 0);
}

static sm_anchor *registry_anchor(struct fx *f)
{
	uint8_t *b = NULL;
	size_t n;
	assert_int_equal(sm_registry_trust_signed(f->r, &b, &n, NULL), 0);
	sm_anchor *a = anchor_of(b, n);
	free(b);
	return a;
}

static int cache_verdict(struct fx *f, const char *model, const char *fw, int64_t now, const sm_policy *p,
                         sm_check_result *res)
{
	sm_cache *c = NULL;
	sm_err err = {0};
	sm_check_req q = {"ACME", model, fw, NULL, 0};
	sm_anchor *a = registry_anchor(f);
	assert_int_equal(sm_cache_open(f->cache, a, &c, &err), 0);
	assert_int_equal(sm_cache_check(c, &q, p, now, res, NULL, &err), 0);
	sm_cache_close(c);
	sm_anchor_free(a);
	return res->verdict;
}

static bool has_reason(const sm_check_result *r, const char *code)
{
	for (size_t i = 0; i < r->nreasons; i++)
		if (strcmp(r->reasons[i].code, code) == 0)
			return true;
	return false;
}

static void test_sync_cache_verdicts(void **state)
{
	struct fx *f = *state;
	sm_policy pol;
	sm_check_result res;
	sm_err err = {0};
	char id[32];
	sm_policy_default(&pol);
	issue(f, "ACME", "L1", 2, ">=1.0 <2.0", id);
	put_cache(f, NOW + 10);
	assert_int_equal(cache_verdict(f, "L1", "1.5", NOW + 20, &pol, &res), SM_ALLOW);
	assert_string_equal(res.cert->id, id);
	sm_check_result_cleanup(&res);
	assert_int_equal(cache_verdict(f, "L1", "2.5", NOW + 20, &pol, &res), SM_DENY);
	sm_check_result_cleanup(&res);
	assert_int_equal(cache_verdict(f, "NOPE", "1.5", NOW + 20, &pol, &res), SM_DENY);
	assert_true(has_reason(&res, "unknown_model"));
	sm_check_result_cleanup(&res);
	/* past next_update (1 h) within the grace (72 h): warn; past the grace: unknown */
	assert_int_equal(cache_verdict(f, "L1", "1.5", NOW + 10 + 2 * 3600, &pol, &res), SM_WARN);
	sm_check_result_cleanup(&res);
	assert_int_equal(cache_verdict(f, "L1", "1.5", NOW + 10 + 74 * 3600, &pol, &res), SM_UNKNOWN);
	assert_true(has_reason(&res, "stale_data"));
	sm_check_result_cleanup(&res);
	/* past the snapshot's expiry (7 d) even with a longer grace */
	pol.offline_grace = 30 * 86400;
	assert_int_equal(cache_verdict(f, "L1", "1.5", NOW + 10 + 8 * 86400, &pol, &res), SM_UNKNOWN);
	assert_true(has_reason(&res, "snapshot_expired"));
	assert_true(has_reason(&res, "fails_closed"));
	sm_check_result_cleanup(&res);
	/* a policy with "unknown": "allow" lets it pass with a warning, keeping the cause */
	pol.unknown_fails_closed = false;
	assert_int_equal(cache_verdict(f, "L1", "1.5", NOW + 10 + 8 * 86400, &pol, &res), SM_WARN);
	assert_true(has_reason(&res, "snapshot_expired"));
	assert_true(has_reason(&res, "unknown_allowed"));
	assert_false(has_reason(&res, "fails_closed"));
	sm_check_result_cleanup(&res);
	/* a revoke reaches the cache with the next snapshot */
	sm_policy_default(&pol);
	sm_event *e = sm_event_new(SM_EV_REVOKE);
	sm_cert *out = NULL;
	snprintf(e->id, sizeof(e->id), "%s", id);
	e->reason = strdup("broken");
	assert_int_equal(sm_registry_event(f->r, e, NOW + 30, &out, &err), 0);
	put_cache(f, NOW + 40);
	assert_int_equal(cache_verdict(f, "L1", "1.5", NOW + 50, &pol, &res), SM_DENY);
	sm_check_result_cleanup(&res);
	sm_event_free(e);
	sm_cert_free(out);
}

static void test_sync_cache_missing_and_tampered(void **state)
{
	struct fx *f = *state;
	sm_cache *c = NULL;
	sm_err err = {0};
	sm_policy pol;
	sm_check_result res;
	sm_check_req q = {"ACME", "L1", "1.5", NULL, 0};
	char path[200];
	sm_anchor *a = registry_anchor(f);
	sm_policy_default(&pol);
	assert_int_equal(sm_cache_open(f->cache, a, &c, &err), SM_ENOTFOUND);
	assert_non_null(strstr(err.msg, "starmark sync"));
	issue(f, "ACME", "L1", 2, ">=1.0", NULL);
	put_cache(f, NOW + 10);
	snprintf(path, sizeof(path), "%s/g-0-test/%s", f->cache, SM_CACHE_SNAPSHOT);
	size_t n;
	uint8_t *b = read_all(path, &n);
	b[n - 2] ^= 1;
	write_all(path, b, n);
	free(b);
	assert_int_equal(sm_cache_open(f->cache, a, &c, &err), 0);
	assert_int_equal(sm_cache_check(c, &q, &pol, NOW + 20, &res, NULL, &err), SM_EVERIFY);
	sm_cache_close(c);
	sm_anchor_free(a);
}

static void test_sync_cache_needs_the_users_anchor(void **state)
{
	struct fx *f = *state;
	sm_cache *c = NULL;
	sm_err err = {0};
	char other[96], fp[65];
	sm_registry *r2 = NULL;
	issue(f, "ACME", "L1", 2, ">=1.0", NULL);
	put_cache(f, NOW + 10);
	/* the anchor of another registry: the cache's own bundles are never taken in its place */
	snprintf(other, sizeof(other), "%s/other", f->dir);
	sm_init_opts o = {"CCDS", 3, "registry.test", NULL, NOW};
	assert_int_equal(sm_registry_init(other, &o, fp, NULL), 0);
	assert_int_equal(sm_registry_open(other, false, NULL, &r2, NULL), 0);
	uint8_t *b = NULL;
	size_t n;
	assert_int_equal(sm_registry_trust_signed(r2, &b, &n, NULL), 0);
	sm_anchor *foreign = anchor_of(b, n);
	assert_int_equal(sm_cache_open(f->cache, foreign, &c, &err), SM_EVERIFY);
	sm_anchor_free(foreign);
	sm_anchor *byfp = NULL;
	assert_int_equal(sm_anchor_load(fp, &byfp, NULL), 0);
	assert_int_equal(sm_cache_open(f->cache, byfp, &c, &err), SM_EVERIFY);
	sm_anchor_free(byfp);
	/* our own root's fingerprint follows the cached chain */
	sm_key_fingerprint(sm_registry_trust(f->r)->root, fp);
	assert_int_equal(sm_anchor_load(fp, &byfp, NULL), 0);
	assert_int_equal(sm_cache_open(f->cache, byfp, &c, &err), 0);
	sm_cache_close(c);
	sm_anchor_free(byfp);
	sm_registry_close(r2);
	free(b);
}

static void test_sync_cache_rollback_floor(void **state)
{
	struct fx *f = *state;
	sm_cache *c = NULL;
	sm_err err = {0};
	sm_policy pol;
	sm_check_result res;
	sm_check_req q = {"ACME", "L1", "1.5", NULL, 0};
	sm_policy_default(&pol);
	issue(f, "ACME", "L1", 2, ">=1.0", NULL);
	/* the generation was written for a snapshot version one above the snapshot in it (produced at NOW + 10) */
	put_cache_gen(f, NOW + 10, (uint64_t)(NOW + 11));
	sm_anchor *a = registry_anchor(f);
	assert_int_equal(sm_cache_open(f->cache, a, &c, &err), 0);
	assert_int_equal(sm_cache_check(c, &q, &pol, NOW + 20, &res, NULL, &err), SM_EVERIFY);
	assert_non_null(strstr(err.msg, "rollback"));
	sm_cache_close(c);
	sm_anchor_free(a);
}

/* A label's status from the cache: the one certificate, verified again, with the snapshot's times. */
static void test_sync_cache_label_lookup(void **state)
{
	struct fx *f = *state;
	sm_cache *c = NULL;
	sm_err err = {0};
	sm_cert *cert = NULL;
	sm_snapshot_info si;
	sm_label_record rec;
	sm_label_result res;
	char id[32], path[200];
	issue(f, "ACME", "L1", 2, ">=1.0", id);
	issue(f, "ACME", "L2", 1, ">=1.0", NULL);
	put_cache(f, NOW + 10);
	sm_anchor *a = registry_anchor(f);
	assert_int_equal(sm_cache_open(f->cache, a, &c, &err), 0);
	assert_int_equal(sm_cache_get(c, id, &cert, &si, &err), 0);
	assert_non_null(cert);
	assert_string_equal(cert->id, id);
	assert_string_equal(cert->scheme, "CCDS");
	assert_int_equal(si.count, 2);
	sm_cert_free(cert);
	assert_int_equal(sm_cache_get(c, "SM-2026-999999", &cert, NULL, &err), 0);
	assert_null(cert);
	assert_int_equal(sm_label_lookup_cache(c, id, &rec, &err), 0);
	assert_non_null(rec.cert);
	assert_int_equal(rec.next_update, si.next_update);
	assert_int_equal(rec.expires, si.expires);
	assert_non_null(strstr(rec.source, "synced snapshot version"));
	sm_cert_free(rec.cert);
	/* the whole verdict from the cache: a label of the first certificate, in force */
	char *url = NULL;
	assert_int_equal(sm_registry_label(f->r, id, NULL, NOW + 20, &url, NULL, &err), 0);
	sm_label_source src = {sm_cache_trust(c), false, sm_label_lookup_cache, c};
	assert_int_equal(sm_label_judge(url, strlen(url), &src, NOW + 30, &res, &err), 0);
	assert_int_equal(res.verdict, SM_LABEL_GENUINE_IN_FORCE);
	sm_label_result_cleanup(&res);
	sm_cache_close(c);
	/* a tampered snapshot: the status is unknown, never taken from it */
	snprintf(path, sizeof(path), "%s/g-0-test/%s", f->cache, SM_CACHE_SNAPSHOT);
	size_t n;
	uint8_t *b = read_all(path, &n);
	b[n - 2] ^= 1;
	write_all(path, b, n);
	free(b);
	assert_int_equal(sm_cache_open(f->cache, a, &c, &err), 0);
	assert_int_equal(sm_cache_get(c, id, &cert, NULL, &err), SM_EVERIFY);
	assert_null(cert);
	src.trust = sm_cache_trust(c);
	src.ctx = c;
	assert_int_equal(sm_label_judge(url, strlen(url), &src, NOW + 30, &res, &err), 0);
	assert_int_equal(res.verdict, SM_LABEL_STATUS_UNKNOWN);
	assert_true(res.genuine);
	sm_label_result_cleanup(&res);
	free(url);
	sm_cache_close(c);
	sm_anchor_free(a);
}

/* A local registry's trust followed from an anchor: through its rotations; another registry's is refused. */
static void test_sync_registry_trust(void **state)
{
	struct fx *f = *state;
	sm_err err = {0};
	uint8_t *v1 = NULL;
	size_t n1;
	char fp[65], other[96];
	assert_int_equal(sm_registry_trust_signed(f->r, &v1, &n1, &err), 0);
	sm_anchor *a = anchor_of(v1, n1);
	rotate(f, SM_ROLE_ISSUER, NOW + 100);
	rotate(f, SM_ROLE_ROOT, NOW + 200);
	assert_int_equal(sm_sync_registry_trust(f->r, a, f->t, &err), 0);
	assert_int_equal(f->t->version, 3);
	sm_anchor_free(a);
	/* the first root's fingerprint: the chain is followed from bundle 1 */
	sm_trust t1;
	assert_int_equal(sm_trust_peek(v1, n1, &t1, NULL), 0);
	sm_key_fingerprint(t1.root, fp);
	assert_int_equal(sm_anchor_load(fp, &a, NULL), 0);
	assert_int_equal(sm_sync_registry_trust(f->r, a, f->t, &err), 0);
	assert_int_equal(f->t->version, 3);
	sm_anchor_free(a);
	/* another registry's anchor */
	snprintf(other, sizeof(other), "%s/other", f->dir);
	sm_init_opts o = {"CCDS", 3, "registry.test", NULL, NOW};
	sm_registry *r2 = NULL;
	uint8_t *b = NULL;
	size_t n;
	assert_int_equal(sm_registry_init(other, &o, fp, NULL), 0);
	assert_int_equal(sm_registry_open(other, false, NULL, &r2, NULL), 0);
	assert_int_equal(sm_registry_trust_signed(r2, &b, &n, NULL), 0);
	a = anchor_of(b, n);
	assert_int_equal(sm_sync_registry_trust(f->r, a, f->t, &err), SM_EVERIFY);
	/* and the other way round: our anchor, now at version 3, is ahead of that registry */
	sm_anchor_free(a);
	free(b);
	assert_int_equal(sm_registry_trust_signed(f->r, &b, &n, NULL), 0);
	a = anchor_of(b, n);
	assert_int_equal(sm_sync_registry_trust(r2, a, f->t, &err), SM_EVERIFY);
	sm_anchor_free(a);
	free(b);
	sm_registry_close(r2);
	free(v1);
}

/* ---- the client's pure parts ---- */

static void test_sync_client_refuses_bad_urls(void **state)
{
	(void)state;
	sm_client *c = NULL;
	sm_err err = {0};
	assert_int_equal(sm_client_new("ftp://host/", NULL, NULL, &c, &err), SM_EINVAL);
	assert_non_null(strstr(err.msg, "http://"));
	assert_int_equal(sm_client_new("http://host/a b", NULL, NULL, &c, &err), SM_EINVAL);
	assert_int_equal(sm_client_new("http://host/?x=1", NULL, NULL, &c, &err), SM_EINVAL);
	assert_int_equal(sm_client_new("", NULL, NULL, &c, &err), SM_EINVAL);
	assert_int_equal(sm_client_new("http://host", "bad token\n", NULL, &c, &err), SM_EINVAL);
	assert_null(strstr(err.msg, "bad token")); /* never quoted back */
	assert_int_equal(sm_client_new("https://host:8443//", "t0k3n", NULL, &c, &err), 0);
	assert_string_equal(sm_client_base(c), "https://host:8443");
	sm_client_free(c);
}

static void test_sync_client_escape(void **state)
{
	(void)state;
	char *e = sm_client_escape("A-1 b/c&d=é~");
	assert_string_equal(e, "A-1%20b%2Fc%26d%3D%C3%A9~");
	free(e);
}

static void test_sync_client_connection_refused(void **state)
{
	(void)state;
	sm_client *c = NULL;
	sm_err err = {0};
	sm_response r;
	assert_int_equal(sm_client_new("http://127.0.0.1:1", "secret-token", NULL, &c, &err), 0);
	assert_int_equal(sm_client_get(c, "/healthz", &r, &err), SM_EIO);
	assert_non_null(strstr(err.msg, "http://127.0.0.1:1/healthz"));
	assert_null(strstr(err.msg, "secret-token"));
	sm_response_cleanup(&r);
	assert_int_equal(sm_client_get(c, "no-slash", &r, &err), SM_EINVAL);
	sm_client_free(c);
}

static void test_sync_cert_view_roundtrip(void **state)
{
	(void)state;
	sm_cert *d = fx_draft("ACME", "L1", 3, ">=1.0 <2.0", NULL), *back = NULL;
	sm_err err = {0};
	snprintf(d->id, sizeof(d->id), "SM-2026-000007");
	snprintf(d->scheme, sizeof(d->scheme), "CCDS");
	d->status = SM_STATUS_SUSPENDED;
	d->expires = 21000;
	d->history = calloc(1, sizeof(sm_history));
	d->history[0].type = SM_EV_ISSUE;
	d->history[0].at = NOW;
	d->history[0].index = 4;
	d->nhistory = 1;
	json_t *j = sm_cert_to_json(d, 20800);
	assert_int_equal(sm_cert_from_view(j, &back, &err), 0);
	assert_string_equal(back->id, "SM-2026-000007");
	assert_string_equal(back->product, "製品");
	assert_int_equal(back->status, SM_STATUS_SUSPENDED);
	assert_int_equal(back->expires, 21000);
	assert_int_equal(back->support_end, SM_DATE_NONE);
	assert_int_equal(back->history[0].at, NOW);
	assert_int_equal(back->history[0].index, 4);
	json_t *again = sm_cert_to_json(back, 20800);
	assert_true(json_equal(j, again));
	json_decref(again);
	sm_cert_free(back);
	json_object_set_new(j, "level", json_integer(12));
	assert_int_equal(sm_cert_from_view(j, &back, &err), SM_EINVAL);
	assert_string_equal(err.field, "level");
	json_object_set_new(j, "level", json_integer(1));
	json_object_set_new(j, "status", json_string("gone"));
	assert_int_equal(sm_cert_from_view(j, &back, &err), SM_EINVAL);
	assert_string_equal(err.field, "status");
	json_decref(j);
	sm_cert_free(d);
}

static void test_sync_time_parse(void **state)
{
	(void)state;
	int64_t t = 0;
	sm_err err = {0};
	char s[21];
	sm_time_format(NOW, s);
	assert_int_equal(sm_time_parse(s, "at", &t, &err), 0);
	assert_int_equal(t, NOW);
	assert_int_equal(sm_time_parse("2026-02-30T00:00:00Z", "at", &t, &err), SM_EINVAL);
	assert_int_equal(sm_time_parse("2026-01-01T24:00:00Z", "at", &t, &err), SM_EINVAL);
	assert_int_equal(sm_time_parse("2026-01-01 00:00:00", "at", &t, &err), SM_EINVAL);
	assert_non_null(strstr(err.msg, "2026-01-01 00:00:00"));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(test_sync_trust_follows_root_rotations, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_sync_trust_chain_refusals, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_sync_anchor_specs, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_sync_retired_status_key_signs_nothing_lasting, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_sync_snapshot_newer_same_rollback, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_sync_snapshot_freeze_and_tamper, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_sync_consistency, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_sync_log_vkey_verifies_checkpoint, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_sync_cache_verdicts, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_sync_cache_missing_and_tampered, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_sync_cache_needs_the_users_anchor, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_sync_cache_rollback_floor, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_sync_cache_label_lookup, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_sync_registry_trust, setup, teardown),
	    cmocka_unit_test(test_sync_client_refuses_bad_urls),
	    cmocka_unit_test(test_sync_client_escape),
	    cmocka_unit_test(test_sync_client_connection_refused),
	    cmocka_unit_test(test_sync_cert_view_roundtrip),
	    cmocka_unit_test(test_sync_time_parse),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
