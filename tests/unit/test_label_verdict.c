/* SPDX-License-Identifier: Apache-2.0 */
/* Unit tests of the verdict on a label: its claims against the record (sm_label_match), and the whole
 * verdict (sm_label_judge) from every kind of status source. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "registry_int.h"
#include "starmark/label.h"
#include "starmark/starmark.h"

#define NOW 1790000000 /* 2026-09-21 */
#define HOUR 3600

/* SM-2021-000001 as a record: RINNAI, models MC-301V and MC-301VC, level 2, registered 2021-01-22, CCDS. */
static sm_cert *record(void)
{
	sm_cert *c = sm_cert_new();
	assert_non_null(c);
	snprintf(c->id, sizeof(c->id), "SM-2021-000001");
	snprintf(c->scheme, sizeof(c->scheme), "CCDS");
	snprintf(c->vendor, sizeof(c->vendor), "RINNAI");
	c->vendor_name = strdup("リンナイ株式会社");
	c->product = strdup("無線LAN対応リモコン");
	c->models = calloc(2, sizeof(char *));
	c->models[0] = strdup("MC-301V");
	c->models[1] = strdup("MC-301VC");
	c->nmodels = 2;
	c->level = 2;
	c->firmware = strdup(">=1.0.0 <2.0");
	assert_int_equal(sm_date_parse("2021-01-22", false, "registered", &c->registered, NULL), 0);
	assert_int_equal(sm_date_parse("2027-01-21", false, "expires", &c->expires, NULL), 0);
	return c;
}

/* The claims a genuine label of that record carries (as sm_label_verify fills them). */
static void claims_of_record(const sm_cert *c, const char *model, sm_label_claims *cl)
{
	sm_err err = {0};
	assert_int_equal(sm_label_claims_of(c, model, NOW, cl, &err), 0);
}

static void expect_differs(const sm_label_claims *cl, const sm_cert *c, const char *field, const char *needle)
{
	sm_err err = {0};
	int rc = sm_label_match(cl, c, &err);
	if (rc != SM_EVERIFY || strcmp(err.field, field) != 0 || !strstr(err.msg, needle))
		fail_msg("expected SM_EVERIFY naming field '%s' and saying '%s', got %d field '%s' '%s'", field, needle,
		         rc, err.field, err.msg);
}

static void test_label_verdict_match(void **state)
{
	(void)state;
	sm_cert *c = record();
	sm_label_claims cl;
	sm_err err = {0};
	/* every model of the record matches */
	claims_of_record(c, NULL, &cl);
	assert_int_equal(sm_label_match(&cl, c, &err), 0);
	claims_of_record(c, "MC-301VC", &cl);
	assert_int_equal(sm_label_match(&cl, c, &err), 0);

	/* each claim that differs is named */
	claims_of_record(c, NULL, &cl);
	snprintf(cl.model, sizeof(cl.model), "MC-999");
	expect_differs(&cl, c, "model", "MC-999");
	claims_of_record(c, NULL, &cl);
	cl.level = 3;
	expect_differs(&cl, c, "level", "level 3");
	claims_of_record(c, NULL, &cl);
	snprintf(cl.vendor, sizeof(cl.vendor), "NORITZ");
	expect_differs(&cl, c, "vendor", "NORITZ");
	/* the registration date, within the same year (the id does not show it) */
	claims_of_record(c, NULL, &cl);
	cl.registered += 1;
	expect_differs(&cl, c, "registered", "2021-01-23");
	claims_of_record(c, NULL, &cl);
	snprintf(cl.scheme, sizeof(cl.scheme), "JC-STAR");
	expect_differs(&cl, c, "scheme", "JC-STAR");
	claims_of_record(c, NULL, &cl);
	cl.scheme[0] = '\0';
	expect_differs(&cl, c, "scheme", "scheme");
	claims_of_record(c, NULL, &cl);
	snprintf(cl.id, sizeof(cl.id), "SM-2021-000002");
	expect_differs(&cl, c, "id", "SM-2021-000002");
	sm_cert_free(c);
}

/* ---- sm_label_judge ---- */

struct fx {
	char dir[64];
	sm_registry *r;
	sm_cert *cert; /* SM-2021-000001 as issued (active, expires 2027-01-21) */
	char *url;     /* a label of it made at NOW + 60 */
};

static int setup(void **state)
{
	struct fx *f = calloc(1, sizeof(*f));
	sm_err err = {0};
	char fp[65];
	snprintf(f->dir, sizeof(f->dir), "/tmp/sm-test-label-verdict-XXXXXX");
	assert_non_null(mkdtemp(f->dir));
	sm_init_opts o = {"CCDS", 3, "registry.example.jp", NULL, NOW};
	assert_int_equal(sm_registry_init(f->dir, &o, fp, &err), 0);
	assert_int_equal(sm_registry_open(f->dir, true, NULL, &f->r, &err), 0);
	sm_cert *d = record();
	assert_int_equal(sm_registry_issue(f->r, d, NOW, &f->cert, &err), 0);
	sm_cert_free(d);
	assert_string_equal(f->cert->id, "SM-2021-000001");
	assert_int_equal(sm_registry_label(f->r, f->cert->id, NULL, NOW + 60, &f->url, NULL, &err), 0);
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fx *f = *state;
	char cmd[128];
	free(f->url);
	sm_cert_free(f->cert);
	sm_registry_close(f->r);
	snprintf(cmd, sizeof(cmd), "rm -rf %s", f->dir);
	assert_int_equal(system(cmd), 0);
	free(f);
	return 0;
}

/* A status source made up by the test: a copy of `rec` (NULL: none), or the failure `rc`. */
struct fake {
	const sm_cert *rec;
	int64_t next_update, expires;
	int rc;
	int calls;
};

static int fake_lookup(void *ctx, const char *id, sm_label_record *out, sm_err *err)
{
	struct fake *k = ctx;
	k->calls++;
	assert_string_equal(id, "SM-2021-000001");
	if (k->rc)
		return sm_err_set(err, k->rc, "statement", "the fake source fails (%d)", k->rc);
	out->cert = k->rec ? sm_cert_dup(k->rec) : NULL;
	out->next_update = k->next_update;
	out->expires = k->expires;
	snprintf(out->source, sizeof(out->source), "the fake source");
	return 0;
}

static int judge(struct fx *f, const char *text, const sm_trust *trust, bool newest, struct fake *k, int64_t now,
                 sm_label_result *res)
{
	sm_label_source src = {trust ? trust : sm_registry_trust(f->r), newest, k ? fake_lookup : NULL, k};
	sm_err err = {0};
	int rc = sm_label_judge(text, strlen(text), &src, now, res, &err);
	if (rc)
		print_message("sm_label_judge: %d %s\n", rc, err.msg);
	return rc;
}

static void expect_verdict(const sm_label_result *res, int verdict, const char *needle)
{
	if (res->verdict != verdict || (needle && !strstr(res->reason, needle)))
		fail_msg("expected %s saying '%s', got %s '%s'", sm_label_verdict_name(verdict), needle ? needle : "",
		         sm_label_verdict_name(res->verdict), res->reason);
}

static void test_label_verdict_in_force_and_not(void **state)
{
	struct fx *f = *state;
	sm_label_result res;
	struct fake k = {f->cert, 0, 0, 0, 0};
	assert_int_equal(judge(f, f->url, NULL, true, &k, NOW + HOUR, &res), 0);
	expect_verdict(&res, SM_LABEL_GENUINE_IN_FORCE, NULL);
	assert_true(res.genuine && res.in_force && !res.past_next_update);
	assert_string_equal(res.status, "active");
	assert_string_equal(res.claims.id, "SM-2021-000001");
	assert_string_equal(res.source, "the fake source");
	assert_non_null(res.cert);
	assert_string_equal(res.reason, "");
	sm_label_result_cleanup(&res);
	sm_label_result_cleanup(&res);

	/* suspended, revoked, expired: genuine, not in force */
	sm_cert *c = sm_cert_dup(f->cert);
	k.rec = c;
	c->status = SM_STATUS_SUSPENDED;
	assert_int_equal(judge(f, f->url, NULL, true, &k, NOW + HOUR, &res), 0);
	expect_verdict(&res, SM_LABEL_NOT_IN_FORCE, "suspended");
	assert_true(res.genuine && !res.in_force);
	assert_string_equal(res.status, "suspended");
	sm_label_result_cleanup(&res);
	c->status = SM_STATUS_REVOKED;
	assert_int_equal(judge(f, f->url, NULL, true, &k, NOW + HOUR, &res), 0);
	expect_verdict(&res, SM_LABEL_NOT_IN_FORCE, "revoked");
	assert_string_equal(res.status, "revoked");
	sm_label_result_cleanup(&res);
	c->status = SM_STATUS_ACTIVE;
	int64_t after_expiry = (int64_t)(c->expires + 1) * 86400;
	assert_int_equal(judge(f, f->url, NULL, true, &k, after_expiry, &res), 0);
	expect_verdict(&res, SM_LABEL_NOT_IN_FORCE, "expired");
	assert_string_equal(res.status, "expired");
	sm_label_result_cleanup(&res);

	/* the claims are compared with the record whatever its status */
	c->level = 3;
	assert_int_equal(judge(f, f->url, NULL, true, &k, NOW + HOUR, &res), 0);
	expect_verdict(&res, SM_LABEL_CLAIMS_DIFFER, "level");
	assert_string_equal(res.field, "level");
	assert_true(res.genuine && !res.in_force);
	sm_label_result_cleanup(&res);
	sm_cert_free(c);
}

static void test_label_verdict_status_unknown(void **state)
{
	struct fx *f = *state;
	sm_label_result res;
	/* nothing to ask */
	assert_int_equal(judge(f, f->url, NULL, false, NULL, NOW + HOUR, &res), 0);
	expect_verdict(&res, SM_LABEL_STATUS_UNKNOWN, "not checked");
	assert_true(res.genuine && !res.in_force);
	assert_null(res.status);
	assert_null(res.cert);
	sm_label_result_cleanup(&res);
	/* the source holds no such certificate */
	struct fake k = {NULL, 0, 0, 0, 0};
	assert_int_equal(judge(f, f->url, NULL, true, &k, NOW + HOUR, &res), 0);
	expect_verdict(&res, SM_LABEL_STATUS_UNKNOWN, "no record of certificate SM-2021-000001");
	sm_label_result_cleanup(&res);
	/* what it gave does not verify */
	k.rc = SM_EVERIFY;
	assert_int_equal(judge(f, f->url, NULL, true, &k, NOW + HOUR, &res), 0);
	expect_verdict(&res, SM_LABEL_STATUS_UNKNOWN, "the fake source fails");
	sm_label_result_cleanup(&res);
	k.rc = SM_ETOOBIG; /* over a cap: unreadable, as good as not verifying */
	assert_int_equal(judge(f, f->url, NULL, true, &k, NOW + HOUR, &res), 0);
	expect_verdict(&res, SM_LABEL_STATUS_UNKNOWN, "the fake source fails");
	sm_label_result_cleanup(&res);
	/* a failure of the machine is returned, not turned into a verdict */
	k.rc = SM_EIO;
	sm_label_source src = {sm_registry_trust(f->r), true, fake_lookup, &k};
	sm_err err = {0};
	assert_int_equal(sm_label_judge(f->url, strlen(f->url), &src, NOW + HOUR, &res, &err), SM_EIO);
	assert_non_null(strstr(err.msg, "the fake source fails"));
	sm_label_result_cleanup(&res);

	/* freshness: past next_update within the default grace (72 h) is in force with a warning; past
	 * the grace, or past a snapshot's expiry, the status is unknown */
	k.rc = 0;
	k.rec = f->cert;
	k.next_update = NOW;
	assert_int_equal(judge(f, f->url, NULL, true, &k, NOW + HOUR, &res), 0);
	expect_verdict(&res, SM_LABEL_GENUINE_IN_FORCE, NULL);
	assert_true(res.past_next_update);
	assert_int_equal(res.next_update, NOW);
	sm_label_result_cleanup(&res);
	assert_int_equal(judge(f, f->url, NULL, true, &k, NOW + 72 * HOUR, &res), 0);
	expect_verdict(&res, SM_LABEL_GENUINE_IN_FORCE, NULL);
	sm_label_result_cleanup(&res);
	assert_int_equal(judge(f, f->url, NULL, true, &k, NOW + 72 * HOUR + 1, &res), 0);
	expect_verdict(&res, SM_LABEL_STATUS_UNKNOWN, "past its next update");
	assert_string_equal(res.status, "active"); /* what the stale data said, shown, not relied on */
	sm_label_result_cleanup(&res);
	k.next_update = NOW + 24 * HOUR;
	k.expires = NOW + 2 * HOUR;
	assert_int_equal(judge(f, f->url, NULL, true, &k, NOW + 2 * HOUR + 1, &res), 0);
	expect_verdict(&res, SM_LABEL_STATUS_UNKNOWN, "expired");
	sm_label_result_cleanup(&res);
}

static void test_label_verdict_not_genuine_unreadable(void **state)
{
	struct fx *f = *state;
	sm_label_result res;
	struct fake k = {f->cert, 0, 0, 0, 0};
	assert_int_equal(judge(f, "HTTPS://X/L/0189", NULL, true, &k, NOW, &res), 0);
	expect_verdict(&res, SM_LABEL_UNREADABLE, "not base32");
	assert_false(res.genuine);
	assert_int_equal(judge(f, "", NULL, true, &k, NOW, &res), 0);
	expect_verdict(&res, SM_LABEL_UNREADABLE, "empty");
	assert_int_equal(judge(f, "HTTPS://X/L/AAAA", NULL, true, &k, NOW, &res), 0);
	expect_verdict(&res, SM_LABEL_UNREADABLE, "not a signed object");
	/* a changed character of the signature */
	char *forged = strdup(f->url);
	size_t at = strlen(forged) - 20;
	forged[at] = forged[at] == 'A' ? 'B' : 'A';
	assert_int_equal(judge(f, forged, NULL, true, &k, NOW, &res), 0);
	expect_verdict(&res, SM_LABEL_NOT_GENUINE, "forged");
	assert_false(res.genuine);
	assert_null(res.cert);
	assert_string_equal(res.claims.id, "");
	assert_int_equal(k.calls, 0); /* nothing is looked up for a label that is not genuine */
	free(forged);
}

/* A label by an issuer key newer than the bundle: unknown with an old bundle, not genuine with the newest. */
static void test_label_verdict_unknown_signer(void **state)
{
	struct fx *f = *state;
	sm_label_result res;
	sm_err err = {0};
	char *url = NULL;
	struct fake k = {f->cert, 0, 0, 0, 0};
	sm_trust *old = malloc(sizeof(*old));
	assert_non_null(old);
	*old = *sm_registry_trust(f->r);
	assert_int_equal(sm_registry_rotate(f->r, SM_ROLE_ISSUER, NOW + 100, &err), 0);
	assert_int_equal(sm_registry_label(f->r, f->cert->id, NULL, NOW + 200, &url, NULL, &err), 0);
	/* new label, old bundle (a user's file, a cache): unknown signer, nothing looked up */
	assert_int_equal(judge(f, url, old, false, &k, NOW + HOUR, &res), 0);
	expect_verdict(&res, SM_LABEL_UNKNOWN_SIGNER, "update the trust bundle");
	assert_false(res.genuine);
	assert_int_equal(k.calls, 0);
	/* the same bundle said to be the newest: no key the registry ever had signed it */
	assert_int_equal(judge(f, url, old, true, &k, NOW + HOUR, &res), 0);
	expect_verdict(&res, SM_LABEL_NOT_GENUINE, "newest trust bundle");
	/* new label, new bundle; old label, new bundle: genuine and in force */
	assert_int_equal(judge(f, url, NULL, true, &k, NOW + HOUR, &res), 0);
	expect_verdict(&res, SM_LABEL_GENUINE_IN_FORCE, NULL);
	sm_label_result_cleanup(&res);
	assert_int_equal(judge(f, f->url, NULL, false, &k, NOW + HOUR, &res), 0);
	expect_verdict(&res, SM_LABEL_GENUINE_IN_FORCE, NULL);
	sm_label_result_cleanup(&res);
	free(url);
	free(old);
}

/* The registry as the source: its record, and a revocation seen at once. */
static void test_label_verdict_registry(void **state)
{
	struct fx *f = *state;
	sm_label_result res;
	sm_err err = {0};
	sm_label_source src = {sm_registry_trust(f->r), true, sm_label_lookup_registry, f->r};
	assert_int_equal(sm_label_judge(f->url, strlen(f->url), &src, NOW + HOUR, &res, &err), 0);
	expect_verdict(&res, SM_LABEL_GENUINE_IN_FORCE, NULL);
	assert_string_equal(res.source, "the registry");
	assert_int_equal(res.next_update, 0);
	sm_label_result_cleanup(&res);
	sm_event *e = sm_event_new(SM_EV_REVOKE);
	snprintf(e->id, sizeof(e->id), "%s", f->cert->id);
	e->reason = strdup("counterfeit units");
	assert_int_equal(sm_registry_event(f->r, e, NOW + 2 * HOUR, NULL, &err), 0);
	sm_event_free(e);
	assert_int_equal(sm_label_judge(f->url, strlen(f->url), &src, NOW + 3 * HOUR, &res, &err), 0);
	expect_verdict(&res, SM_LABEL_NOT_IN_FORCE, "revoked");
	assert_true(res.genuine);
	sm_label_result_cleanup(&res);
	/* a genuine label of an id the registry does not hold */
	sm_label_record rec;
	memset(&rec, 0, sizeof(rec));
	assert_int_equal(sm_label_lookup_registry(f->r, "SM-2021-000099", &rec, &err), 0);
	assert_null(rec.cert);
}

static void test_label_verdict_names(void **state)
{
	(void)state;
	static const char *const want[] = {"genuine-in-force", "not-genuine",    "claims-differ", "not-in-force",
	                                   "unknown-signer",   "status-unknown", "unreadable"};
	for (int v = SM_LABEL_GENUINE_IN_FORCE; v <= SM_LABEL_UNREADABLE; v++)
		assert_string_equal(sm_label_verdict_name(v), want[v]);
	assert_null(sm_label_verdict_name(-1));
	assert_null(sm_label_verdict_name(SM_LABEL_UNREADABLE + 1));
}

/* Every single-bit change of a genuine label, against the registry's own (newest) bundle: not genuine or
 * unreadable, never in force, never an unknown signer, and nothing is looked up for it. */
static void test_label_verdict_flipped_bits(void **state)
{
	struct fx *f = *state;
	sm_label_result res;
	sm_err err = {0};
	uint8_t *tok = NULL;
	size_t n = 0;
	struct fake k = {f->cert, 0, 0, 0, 0};
	assert_int_equal(sm_label_parse(f->url, strlen(f->url), &tok, &n, &err), 0);
	for (size_t i = 0; i < n; i++) {
		for (int bit = 0; bit < 8; bit++) {
			tok[i] ^= (uint8_t)(1u << bit);
			char *b32 = sm_base32_encode(tok, n);
			assert_int_equal(judge(f, b32, NULL, true, &k, NOW + HOUR, &res), 0);
			if (res.verdict != SM_LABEL_NOT_GENUINE && res.verdict != SM_LABEL_UNREADABLE)
				fail_msg("byte %zu bit %d: expected not-genuine or unreadable, got %s '%s'", i, bit,
				         sm_label_verdict_name(res.verdict), res.reason);
			assert_false(res.genuine);
			sm_label_result_cleanup(&res);
			free(b32);
			tok[i] ^= (uint8_t)(1u << bit);
		}
	}
	assert_int_equal(k.calls, 0);
	free(tok);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_label_verdict_match),
	    cmocka_unit_test(test_label_verdict_names),
	    cmocka_unit_test_setup_teardown(test_label_verdict_in_force_and_not, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_label_verdict_status_unknown, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_label_verdict_not_genuine_unreadable, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_label_verdict_flipped_bits, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_label_verdict_unknown_signer, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_label_verdict_registry, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
