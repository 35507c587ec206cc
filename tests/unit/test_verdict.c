/* SPDX-License-Identifier: Apache-2.0 */
/* Unit tests for verdicts and policies: parsing, levels, every reason code, freshness, best-of. */
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "starmark/buf.h"
#include "starmark/record.h"
#include "starmark/verdict.h"

/* ---- helpers ---- */

static sm_date D(const char *s)
{
	sm_date d = SM_DATE_NONE;
	sm_err err;
	if (sm_date_parse(s, true, "test", &d, &err))
		fail_msg("date %s: %s", s, err.msg);
	return d;
}

/* Noon UTC of a date. */
static int64_t T(const char *s)
{
	return (int64_t)D(s) * 86400 + 12 * 3600;
}

static char *xstrdup(const char *s)
{
	char *d = strdup(s);
	assert_non_null(d);
	return d;
}

/* A certificate as the store holds it: ACME SL-100, level 2, category lock, firmware >=1.0 <2.0. */
static sm_cert *make_cert(const char *id)
{
	sm_cert *c = sm_cert_new();
	assert_non_null(c);
	snprintf(c->id, sizeof(c->id), "%s", id);
	snprintf(c->scheme, sizeof(c->scheme), "CCDS");
	snprintf(c->vendor, sizeof(c->vendor), "ACME");
	c->vendor_name = xstrdup("Acme Corporation");
	c->product = xstrdup("Smart Lock");
	c->models = calloc(1, sizeof(char *));
	assert_non_null(c->models);
	c->models[0] = xstrdup("SL-100");
	c->nmodels = 1;
	c->level = 2;
	c->category = xstrdup("lock");
	c->firmware = xstrdup(">=1.0 <2.0");
	c->registered = D("2024-01-15");
	c->expires = D("2027-01-15");
	c->support_end = D("2029-12-31");
	c->status = SM_STATUS_ACTIVE;
	return c;
}

static sm_check_req req(const char *firmware)
{
	sm_check_req q = {.vendor = "ACME", .model = "SL-100", .firmware = firmware};
	return q;
}

static const sm_reason *find_reason(const sm_check_result *r, const char *code)
{
	for (size_t i = 0; i < r->nreasons; i++)
		if (strcmp(r->reasons[i].code, code) == 0)
			return &r->reasons[i];
	return NULL;
}

static const char *codes(const sm_check_result *r, char *buf, size_t cap)
{
	buf[0] = '\0';
	for (size_t i = 0; i < r->nreasons; i++) {
		size_t n = strlen(buf);
		snprintf(buf + n, cap - n, "%s%s", i ? "," : "", r->reasons[i].code);
	}
	return buf;
}

/* Evaluate and expect `verdict` with a reason `code` whose message holds `words`. */
static void expect_verdict(const sm_check_req *q, const sm_policy *p, sm_cert *const *certs, size_t n,
                           int64_t next_update, int64_t now, int verdict, const char *code, const char *words,
                           sm_check_result *out)
{
	sm_check_result r;
	int rc = sm_verdict_eval(q, p, certs, n, next_update, now, &r);
	assert_int_equal(rc, 0);
	char buf[512];
	if (r.verdict != verdict)
		fail_msg("expected %s, got %s (reasons: %s)", sm_verdict_name(verdict),
		         sm_verdict_name(r.verdict), codes(&r, buf, sizeof(buf)));
	if (code) {
		const sm_reason *x = find_reason(&r, code);
		if (!x)
			fail_msg("expected a reason \"%s\", got: %s", code, codes(&r, buf, sizeof(buf)));
		if (!strstr(x->message, words))
			fail_msg("reason %s: expected \"%s\" in \"%s\"", code, words, x->message);
	}
	for (size_t i = 0; i < r.nreasons; i++) {
		assert_true(r.reasons[i].code[0] != '\0');
		assert_true(strlen(r.reasons[i].message) > 10);
	}
	if (out)
		*out = r;
	else
		sm_check_result_cleanup(&r);
}

/* The time of asking in every test. */
#define NOW T("2025-06-01")

/* ---- policies ---- */

static void policy_fails(const char *doc, int code, const char *field, const char *needle)
{
	sm_policy p;
	sm_err err;
	sm_err_clear(&err);
	int rc = sm_policy_parse(doc, strlen(doc), &p, &err);
	if (rc != code)
		fail_msg("policy %.60s: expected %d, got %d (%s)", doc, code, rc, rc ? err.msg : "accepted");
	if (field && strcmp(err.field, field) != 0)
		fail_msg("policy %.60s: expected field \"%s\", got \"%s\" (%s)", doc, field, err.field,
		         err.msg);
	if (!strstr(err.msg, needle))
		fail_msg("policy %.60s: expected \"%s\" in \"%s\"", doc, needle, err.msg);
}

static void test_verdict_policy_default(void **state)
{
	(void)state;
	sm_policy p;
	sm_policy_default(&p);
	assert_string_equal(p.name, "default");
	assert_int_equal(p.default_level, 1);
	assert_int_equal(p.ncats, 0);
	assert_int_equal(p.offline_grace, 72 * 3600);
	assert_true(p.unknown_fails_closed);
	assert_int_equal(p.support_warn_days, 180);
	assert_true(p.deny_after_support_end);
	assert_int_equal(sm_policy_level(&p, "lock"), 1);
	assert_int_equal(sm_policy_level(&p, NULL), 1);
	assert_string_equal(sm_verdict_name(SM_ALLOW), "allow");
	assert_string_equal(sm_verdict_name(SM_WARN), "warn");
	assert_string_equal(sm_verdict_name(SM_DENY), "deny");
	assert_string_equal(sm_verdict_name(SM_UNKNOWN), "unknown");
}

static void test_verdict_policy_parse_good(void **state)
{
	(void)state;
	static const char doc[] =
	    "{\"name\": \"Example Homes ★★★\", \"default_level\": 2,\n"
	    " \"levels\": {\"lock\": 3, \"water-heater\": 3, \"sensor\": 1},\n"
	    " \"offline_grace_hours\": 48, \"unknown\": \"allow\", \"support_warn_days\": 90,\n"
	    " \"deny_after_support_end\": false}";
	sm_policy p;
	sm_err err;
	int rc = sm_policy_parse(doc, strlen(doc), &p, &err);
	if (rc)
		fail_msg("good policy refused: %s", err.msg);
	assert_string_equal(p.name, "Example Homes ★★★");
	assert_int_equal(p.default_level, 2);
	assert_int_equal(p.ncats, 3);
	assert_int_equal(p.offline_grace, 48 * 3600);
	assert_false(p.unknown_fails_closed);
	assert_int_equal(p.support_warn_days, 90);
	assert_false(p.deny_after_support_end);
	assert_int_equal(sm_policy_level(&p, "lock"), 3);
	assert_int_equal(sm_policy_level(&p, "water-heater"), 3);
	assert_int_equal(sm_policy_level(&p, "sensor"), 1);
	assert_int_equal(sm_policy_level(&p, "camera"), 2);
	assert_int_equal(sm_policy_level(&p, NULL), 2);
	assert_int_equal(sm_policy_level(&p, "Lock"), 2);

	/* an empty object is the default policy; the text need not be NUL-terminated */
	assert_int_equal(sm_policy_parse("{}xyz", 2, &p, &err), 0);
	assert_int_equal(p.default_level, 1);
	assert_true(p.unknown_fails_closed);
	static const char zero[] = "{\"unknown\": \"deny\", \"offline_grace_hours\": 0}";
	assert_int_equal(sm_policy_parse(zero, strlen(zero), &p, &err), 0);
	assert_true(p.unknown_fails_closed);
	assert_int_equal(p.offline_grace, 0);

	/* exactly 64 categories */
	sm_buf b = SM_BUF_INIT;
	sm_buf_puts(&b, "{\"levels\": {");
	for (int i = 0; i < SM_POLICY_MAX_CATEGORIES; i++)
		sm_buf_printf(&b, "%s\"cat-%d\": %d", i ? ", " : "", i, i % 9 + 1);
	sm_buf_puts(&b, "}}");
	rc = sm_policy_parse((const char *)b.data, b.len, &p, &err);
	if (rc)
		fail_msg("64 categories refused: %s", err.msg);
	assert_int_equal(p.ncats, 64);
	assert_int_equal(sm_policy_level(&p, "cat-63"), 63 % 9 + 1);
	sm_buf_cleanup(&b);
}

static void test_verdict_policy_parse_rejects(void **state)
{
	(void)state;
	policy_fails("", SM_EINVAL, "policy", "not valid JSON");
	policy_fails("{", SM_EINVAL, "policy", "not valid JSON");
	policy_fails("{\"name\": \"a\"} x", SM_EINVAL, "policy", "not valid JSON");
	policy_fails("{'name': 'a'}", SM_EINVAL, "policy", "not valid JSON");
	policy_fails("[]", SM_EINVAL, "policy", "object");
	policy_fails("3", SM_EINVAL, "policy", "not valid JSON"); /* jansson wants an array or object */
	policy_fails("\"deny\"", SM_EINVAL, "policy", "not valid JSON");
	policy_fails("{\"nme\": \"a\"}", SM_EINVAL, "policy", "'nme'");
	policy_fails("{\"levels\": {}, \"extra\": 1}", SM_EINVAL, "policy", "'extra'");
	policy_fails("{\"name\": 3}", SM_EINVAL, "name", "string");
	policy_fails("{\"name\": \"\"}", SM_EINVAL, "name", "name");
	policy_fails("{\"name\": \"a\\u0001b\"}", SM_EINVAL, "name", "control");
	policy_fails("{\"name\": \"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\"}",
	             SM_EINVAL, "name", "65 bytes");
	policy_fails("{\"default_level\": 0}", SM_EINVAL, "default_level", "1..9");
	policy_fails("{\"default_level\": 10}", SM_EINVAL, "default_level", "1..9");
	policy_fails("{\"default_level\": \"3\"}", SM_EINVAL, "default_level", "1..9");
	policy_fails("{\"default_level\": 2.0}", SM_EINVAL, "default_level", "1..9");
	policy_fails("{\"default_level\": null}", SM_EINVAL, "default_level", "1..9");
	policy_fails("{\"levels\": []}", SM_EINVAL, "levels", "categories");
	policy_fails("{\"levels\": {\"lock\": 0}}", SM_EINVAL, "levels.lock", "levels.lock must be a level 1..9");
	policy_fails("{\"levels\": {\"lock\": true}}", SM_EINVAL, "levels.lock", "1..9");
	policy_fails("{\"levels\": {\"sensor\": 1, \"water-heater\": 10}}", SM_EINVAL, "levels.water-heater",
	             "levels.water-heater must be a level 1..9");
	policy_fails("{\"levels\": {\"Lock\": 3}}", SM_EINVAL, "category", "'Lock'");
	policy_fails("{\"levels\": {\"water_heater\": 3}}", SM_EINVAL, "category", "water_heater");
	policy_fails("{\"levels\": {\"\": 3}}", SM_EINVAL, "category", "category");
	policy_fails("{\"levels\": {\"lock\": 3, \"lock\": 2}}", SM_EINVAL, "policy", "duplicate");
	policy_fails("{\"name\": \"a\", \"name\": \"b\"}", SM_EINVAL, "policy", "duplicate");
	policy_fails("{\"offline_grace_hours\": -1}", SM_EINVAL, "offline_grace_hours", "0..8760");
	policy_fails("{\"offline_grace_hours\": 8761}", SM_EINVAL, "offline_grace_hours", "0..8760");
	policy_fails("{\"offline_grace_hours\": \"72\"}", SM_EINVAL, "offline_grace_hours", "0..8760");
	policy_fails("{\"unknown\": \"maybe\"}", SM_EINVAL, "unknown", "\"deny\" or \"allow\"");
	policy_fails("{\"unknown\": false}", SM_EINVAL, "unknown", "\"deny\" or \"allow\"");
	policy_fails("{\"support_warn_days\": 3651}", SM_EINVAL, "support_warn_days", "0..3650");
	policy_fails("{\"support_warn_days\": -1}", SM_EINVAL, "support_warn_days", "0..3650");
	policy_fails("{\"deny_after_support_end\": \"yes\"}", SM_EINVAL, "deny_after_support_end",
	             "true or false");
	policy_fails("{\"deny_after_support_end\": 1}", SM_EINVAL, "deny_after_support_end", "true or false");
	/* nesting: refused before jansson builds it, even where a string holds brackets */
	policy_fails("{\"levels\": {\"a\": {\"b\": {\"c\": {\"d\": 1}}}}}", SM_EINVAL, "policy", "nested");
	policy_fails("[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[", SM_EINVAL, "policy",
	             "nested");
	policy_fails("{\"name\": \"[[[[[[[[\", \"x\": 1}", SM_EINVAL, "policy", "'x'");
	policy_fails("{\"name\": \"\\\"[[[[[[\", \"x\": 1}", SM_EINVAL, "policy", "'x'");

	/* too many categories */
	sm_buf b = SM_BUF_INIT;
	sm_buf_puts(&b, "{\"levels\": {");
	for (int i = 0; i <= SM_POLICY_MAX_CATEGORIES; i++)
		sm_buf_printf(&b, "%s\"cat-%d\": 1", i ? ", " : "", i);
	sm_buf_puts(&b, "}}");
	sm_buf_terminate(&b);
	policy_fails((const char *)b.data, SM_ETOOBIG, "levels", "64");
	sm_buf_cleanup(&b);

	/* oversize: SM_POLICY_MAX_SIZE + 1 bytes of otherwise valid JSON */
	size_t n = SM_POLICY_MAX_SIZE + 1;
	char *big = malloc(n + 1);
	assert_non_null(big);
	memset(big, ' ', n);
	big[0] = '{';
	big[n - 1] = '}';
	big[n] = '\0';
	policy_fails(big, SM_ETOOBIG, "policy", "65537 bytes");
	/* and exactly the cap is fine */
	sm_policy p;
	sm_err err;
	big[n - 2] = '}';
	assert_int_equal(sm_policy_parse(big, n - 1, &p, &err), 0);
	free(big);

	/* NUL inside the text */
	static const char nul[] = "{\"name\": \"a\"}\0";
	assert_int_equal(sm_policy_parse(nul, sizeof(nul), &p, &err), SM_EINVAL);
}

/* ---- requests ---- */

static void test_verdict_check_req_validate(void **state)
{
	(void)state;
	sm_err err;
	sm_check_req q = req("1.5");
	assert_int_equal(sm_check_req_validate(&q, &err), 0);
	q.category = "water-heater";
	q.level = 9;
	assert_int_equal(sm_check_req_validate(&q, &err), 0);

	static const struct {
		sm_check_req q;
		const char *field, *needle;
	} bad[] = {
	    {{.vendor = "acme", .model = "SL-100", .firmware = "1.5"}, "vendor", "acme"},
	    {{.vendor = NULL, .model = "SL-100", .firmware = "1.5"}, "vendor", "required"},
	    {{.vendor = "ACME", .model = NULL, .firmware = "1.5"}, "model", "required"},
	    {{.vendor = "ACME", .model = "SL;100", .firmware = "1.5"}, "model", "';'"},
	    {{.vendor = "ACME", .model = "SL\n100", .firmware = "1.5"}, "model", "control"},
	    {{.vendor = "ACME", .model = "SL-100", .firmware = NULL}, "firmware", "required"},
	    {{.vendor = "ACME", .model = "SL-100", .firmware = "1 5"}, NULL, ""},
	    {{.vendor = "ACME", .model = "SL-100", .firmware = ">=1.5"}, NULL, ""},
	    {{.vendor = "ACME", .model = "SL-100", .firmware = ""}, NULL, ""},
	    {{.vendor = "ACME", .model = "SL-100", .firmware = "1.5", .category = "Lock"},
	     "category",
	     "Lock"},
	    {{.vendor = "ACME", .model = "SL-100", .firmware = "1.5", .level = -1}, "level", "1..9"},
	    {{.vendor = "ACME", .model = "SL-100", .firmware = "1.5", .level = 10}, "level", "1..9"},
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		sm_err_clear(&err);
		int rc = sm_check_req_validate(&bad[i].q, &err);
		if (rc != SM_EINVAL)
			fail_msg("request #%zu: expected SM_EINVAL, got %d", i, rc);
		if (bad[i].field && strcmp(err.field, bad[i].field) != 0)
			fail_msg("request #%zu: expected field %s, got %s (%s)", i, bad[i].field, err.field,
			         err.msg);
		if (!strstr(err.msg, bad[i].needle) || !err.msg[0])
			fail_msg("request #%zu: expected \"%s\" in \"%s\"", i, bad[i].needle, err.msg);
	}
}

/* ---- verdicts ---- */

static void test_verdict_allow(void **state)
{
	(void)state;
	sm_policy p;
	sm_policy_default(&p);
	sm_cert *c = make_cert("C-1");
	sm_check_req q = req("1.5");
	sm_check_result r;
	expect_verdict(&q, &p, &c, 1, 0, NOW, SM_ALLOW, "certified", "C-1", &r);
	assert_int_equal(r.nreasons, 1);
	assert_non_null(strstr(r.reasons[0].message, "SL-100"));
	assert_non_null(strstr(r.reasons[0].message, "level 2"));
	assert_int_equal(r.required_level, 1);
	assert_non_null(r.cert);
	assert_ptr_not_equal(r.cert, c);
	assert_string_equal(r.cert->id, "C-1");
	sm_check_result_cleanup(&r);
	assert_null(r.cert);
	sm_check_result_cleanup(&r); /* twice is harmless */
	/* the edges of the covered range, the last day before expiry */
	q.firmware = "1.0";
	expect_verdict(&q, &p, &c, 1, 0, NOW, SM_ALLOW, "certified", "1.0", NULL);
	q.firmware = "1.99~rc1";
	expect_verdict(&q, &p, &c, 1, 0, NOW, SM_ALLOW, NULL, NULL, NULL);
	q.firmware = "1.5";
	expect_verdict(&q, &p, &c, 1, 0, T("2027-01-15"), SM_ALLOW, NULL, NULL, NULL);
	/* fresh data: before and exactly at next_update */
	expect_verdict(&q, &p, &c, 1, NOW + 3600, NOW, SM_ALLOW, "certified", "", NULL);
	expect_verdict(&q, &p, &c, 1, NOW, NOW, SM_ALLOW, "certified", "", NULL);
	sm_cert_free(c);
}

static void test_verdict_warn_support_ending(void **state)
{
	(void)state;
	sm_policy p;
	sm_policy_default(&p); /* 180 days */
	sm_cert *c = make_cert("C-1");
	sm_check_req q = req("1.5");
	c->support_end = D("2025-06-01") + 180;
	expect_verdict(&q, &p, &c, 1, 0, NOW, SM_WARN, "support_ending", "2025-11-28", NULL);
	c->support_end = D("2025-06-01") + 181;
	expect_verdict(&q, &p, &c, 1, 0, NOW, SM_ALLOW, NULL, NULL, NULL);
	c->support_end = D("2025-06-01"); /* ends today: still supported */
	expect_verdict(&q, &p, &c, 1, 0, NOW, SM_WARN, "support_ending", "2025-06-01", NULL);
	c->support_end = D("2025-07-01");
	sm_check_result r;
	expect_verdict(&q, &p, &c, 1, 0, NOW, SM_WARN, "certified", "C-1", &r);
	assert_int_equal(r.nreasons, 2);
	assert_non_null(r.cert);
	sm_check_result_cleanup(&r);
	p.support_warn_days = 0;
	expect_verdict(&q, &p, &c, 1, 0, NOW, SM_ALLOW, NULL, NULL, NULL);
	sm_cert_free(c);
}

static void test_verdict_deny_each_reason(void **state)
{
	(void)state;
	sm_policy p;
	sm_policy_default(&p);
	sm_check_req q = req("1.5");
	sm_check_result r;

	/* no certificate at all */
	expect_verdict(&q, &p, NULL, 0, 0, NOW, SM_DENY, "unknown_model", "ACME SL-100", &r);
	assert_null(r.cert);
	assert_int_equal(r.nreasons, 1);
	sm_check_result_cleanup(&r);

	sm_cert *c = make_cert("C-7");
	c->status = SM_STATUS_REVOKED;
	expect_verdict(&q, &p, &c, 1, 0, NOW, SM_DENY, "revoked", "C-7", &r);
	assert_null(find_reason(&r, "certified"));
	assert_non_null(r.cert); /* a deny still says which certificate */
	sm_check_result_cleanup(&r);

	c->status = SM_STATUS_SUSPENDED;
	expect_verdict(&q, &p, &c, 1, 0, NOW, SM_DENY, "suspended", "C-7", NULL);
	c->status = SM_STATUS_ACTIVE;

	c->expires = D("2025-05-31");
	expect_verdict(&q, &p, &c, 1, 0, NOW, SM_DENY, "expired", "2025-05-31", NULL);
	c->expires = D("2027-01-15");

	q.level = 3;
	expect_verdict(&q, &p, &c, 1, 0, NOW, SM_DENY, "level_below_policy", "level 2", &r);
	assert_int_equal(r.required_level, 3);
	assert_non_null(strstr(find_reason(&r, "level_below_policy")->message, "3"));
	sm_check_result_cleanup(&r);
	q.level = 0;

	q.firmware = "2.0";
	expect_verdict(&q, &p, &c, 1, 0, NOW, SM_DENY, "firmware_not_covered", "2.0", NULL);
	q.firmware = "0.9";
	expect_verdict(&q, &p, &c, 1, 0, NOW, SM_DENY, "firmware_not_covered", ">=1.0 <2.0", NULL);
	q.firmware = "1.5";

	c->revoked = calloc(1, sizeof(char *));
	assert_non_null(c->revoked);
	c->revoked[0] = xstrdup("1.5");
	c->nrevoked = 1;
	expect_verdict(&q, &p, &c, 1, 0, NOW, SM_DENY, "firmware_revoked", "1.5", NULL);
	q.firmware = "1.05"; /* the same version in Debian's ordering */
	expect_verdict(&q, &p, &c, 1, 0, NOW, SM_DENY, "firmware_revoked", "1.05", NULL);
	q.firmware = "1.5.1";
	expect_verdict(&q, &p, &c, 1, 0, NOW, SM_ALLOW, NULL, NULL, NULL);
	q.firmware = "1.5";
	free(c->revoked[0]);
	free(c->revoked);
	c->revoked = NULL;
	c->nrevoked = 0;

	c->support_end = D("2025-05-31");
	expect_verdict(&q, &p, &c, 1, 0, NOW, SM_DENY, "support_ended", "2025-05-31", NULL);
	p.deny_after_support_end = false;
	expect_verdict(&q, &p, &c, 1, 0, NOW, SM_WARN, "support_ended", "2025-05-31", NULL);
	p.deny_after_support_end = true;
	c->support_end = SM_DATE_NONE; /* no stated support period: nothing to say */
	expect_verdict(&q, &p, &c, 1, 0, NOW, SM_ALLOW, NULL, NULL, NULL);

	/* several reasons at once */
	c->status = SM_STATUS_REVOKED;
	c->expires = D("2025-01-01");
	q.firmware = "3.0";
	expect_verdict(&q, &p, &c, 1, 0, NOW, SM_DENY, "revoked", "C-7", &r);
	assert_non_null(find_reason(&r, "expired"));
	assert_non_null(find_reason(&r, "firmware_not_covered"));
	assert_int_equal(r.nreasons, 3);
	sm_check_result_cleanup(&r);
	sm_cert_free(c);
}

static void test_verdict_freshness(void **state)
{
	(void)state;
	sm_policy p;
	sm_policy_default(&p); /* 72 h grace, fails closed */
	sm_cert *c = make_cert("C-1");
	sm_check_req q = req("1.5");
	sm_check_result r;
	const int64_t grace = 72 * 3600;

	/* past next_update within the grace: warn, naming it */
	expect_verdict(&q, &p, &c, 1, NOW - 1, NOW, SM_WARN, "data_past_next_update", "next update", &r);
	assert_non_null(r.cert);
	assert_non_null(find_reason(&r, "certified"));
	sm_check_result_cleanup(&r);
	expect_verdict(&q, &p, &c, 1, NOW - grace, NOW, SM_WARN, "data_past_next_update", "", NULL);
	/* past the grace: unknown, whatever the certificate */
	expect_verdict(&q, &p, &c, 1, NOW - grace - 1, NOW, SM_UNKNOWN, "stale_data", "offline grace", &r);
	assert_non_null(find_reason(&r, "fails_closed"));
	assert_null(r.cert);
	sm_check_result_cleanup(&r);
	expect_verdict(&q, &p, NULL, 0, NOW - grace - 1, NOW, SM_UNKNOWN, "stale_data", "", NULL);
	/* a policy with "unknown": "allow" lets it pass, with a warning that says so */
	p.unknown_fails_closed = false;
	expect_verdict(&q, &p, &c, 1, NOW - grace - 1, NOW, SM_WARN, "stale_data", "offline grace", &r);
	assert_null(find_reason(&r, "fails_closed"));
	assert_non_null(find_reason(&r, "unknown_allowed"));
	assert_int_equal(r.nreasons, 2);
	assert_null(r.cert);
	sm_check_result_cleanup(&r);
	p.unknown_fails_closed = true;
	/* a zero grace: one second late is unknown */
	p.offline_grace = 0;
	expect_verdict(&q, &p, &c, 1, NOW - 1, NOW, SM_UNKNOWN, "stale_data", "", NULL);
	expect_verdict(&q, &p, &c, 1, NOW, NOW, SM_ALLOW, NULL, NULL, NULL);
	/* a deny stays a deny within the grace */
	sm_policy_default(&p);
	c->status = SM_STATUS_REVOKED;
	expect_verdict(&q, &p, &c, 1, NOW - 1, NOW, SM_DENY, "revoked", "", &r);
	assert_null(find_reason(&r, "data_past_next_update"));
	sm_check_result_cleanup(&r);
	sm_cert_free(c);
}

static void test_verdict_best_of_several(void **state)
{
	(void)state;
	sm_policy p;
	sm_policy_default(&p);
	sm_check_req q = req("1.5");
	sm_cert *bad = make_cert("C-OLD");
	bad->status = SM_STATUS_REVOKED;
	sm_cert *warn = make_cert("C-WARN");
	warn->support_end = D("2025-07-01");
	sm_cert *good = make_cert("C-GOOD");
	good->registered = D("2023-01-01"); /* older than the others: verdict first, then date */
	sm_check_result r;

	sm_cert *v1[] = {bad, warn, good};
	expect_verdict(&q, &p, v1, 3, 0, NOW, SM_ALLOW, "certified", "C-GOOD", &r);
	assert_string_equal(r.cert->id, "C-GOOD");
	sm_check_result_cleanup(&r);
	sm_cert *v2[] = {good, warn, bad};
	expect_verdict(&q, &p, v2, 3, 0, NOW, SM_ALLOW, "certified", "C-GOOD", &r);
	assert_string_equal(r.cert->id, "C-GOOD");
	sm_check_result_cleanup(&r);
	sm_cert *v3[] = {bad, warn};
	expect_verdict(&q, &p, v3, 2, 0, NOW, SM_WARN, "support_ending", "", &r);
	assert_string_equal(r.cert->id, "C-WARN");
	assert_null(find_reason(&r, "revoked"));
	sm_check_result_cleanup(&r);

	/* among equals the latest registration */
	sm_cert *newer = make_cert("C-NEW");
	newer->registered = D("2025-01-01");
	sm_cert *v4[] = {good, newer};
	expect_verdict(&q, &p, v4, 2, 0, NOW, SM_ALLOW, NULL, NULL, &r);
	assert_string_equal(r.cert->id, "C-NEW");
	sm_check_result_cleanup(&r);
	sm_cert *v5[] = {newer, good};
	expect_verdict(&q, &p, v5, 2, 0, NOW, SM_ALLOW, NULL, NULL, &r);
	assert_string_equal(r.cert->id, "C-NEW");
	sm_check_result_cleanup(&r);

	/* all deny: the reasons are those of the certificate reported */
	sm_cert *v6[] = {bad};
	expect_verdict(&q, &p, v6, 1, 0, NOW, SM_DENY, "revoked", "C-OLD", &r);
	assert_string_equal(r.cert->id, "C-OLD");
	sm_check_result_cleanup(&r);
	sm_cert_free(bad);
	sm_cert_free(warn);
	sm_cert_free(good);
	sm_cert_free(newer);
}

static void test_verdict_category_and_level(void **state)
{
	(void)state;
	static const char doc[] = "{\"default_level\": 1, \"levels\": {\"lock\": 3, \"camera\": 2}}";
	sm_policy p;
	sm_err err;
	assert_int_equal(sm_policy_parse(doc, strlen(doc), &p, &err), 0);
	sm_cert *c = make_cert("C-1"); /* level 2, category lock */
	sm_check_req q = req("1.5");
	sm_check_result r;

	/* no category in the request: the certificate's category sets the level */
	expect_verdict(&q, &p, &c, 1, 0, NOW, SM_DENY, "level_below_policy", "requires 3", &r);
	assert_int_equal(r.required_level, 3);
	sm_check_result_cleanup(&r);
	/* a category the caller names counts as well as the certificate's: the stricter wins */
	q.category = "camera";
	expect_verdict(&q, &p, &c, 1, 0, NOW, SM_DENY, "level_below_policy", "lock", &r);
	assert_int_equal(r.required_level, 3);
	sm_check_result_cleanup(&r);
	q.category = "sensor"; /* not in the policy: its default, below the lock's */
	expect_verdict(&q, &p, &c, 1, 0, NOW, SM_DENY, "level_below_policy", "requires 3", &r);
	assert_int_equal(r.required_level, 3);
	sm_check_result_cleanup(&r);
	/* a certificate without a category, asked as a lock */
	free(c->category);
	c->category = NULL;
	q.category = "lock";
	expect_verdict(&q, &p, &c, 1, 0, NOW, SM_DENY, "level_below_policy", "asked", NULL);
	q.category = "camera";
	expect_verdict(&q, &p, &c, 1, 0, NOW, SM_ALLOW, NULL, NULL, &r);
	assert_int_equal(r.required_level, 2);
	sm_check_result_cleanup(&r);
	q.category = NULL;
	expect_verdict(&q, &p, &c, 1, 0, NOW, SM_ALLOW, NULL, NULL, &r);
	assert_int_equal(r.required_level, 1);
	sm_check_result_cleanup(&r);
	c->category = xstrdup("camera");
	/* a certificate recorded as a camera, asked as a camera: the policy's 2 */
	q.category = "camera";
	expect_verdict(&q, &p, &c, 1, 0, NOW, SM_ALLOW, NULL, NULL, &r);
	assert_int_equal(r.required_level, 2);
	sm_check_result_cleanup(&r);

	/* an explicit level raises what the policy asks, and never lowers it */
	q.level = 3;
	expect_verdict(&q, &p, &c, 1, 0, NOW, SM_DENY, "level_below_policy", "requires 3", &r);
	assert_int_equal(r.required_level, 3);
	sm_check_result_cleanup(&r);
	q.level = 1;
	q.category = NULL;
	expect_verdict(&q, &p, &c, 1, 0, NOW, SM_ALLOW, NULL, NULL, &r);
	assert_int_equal(r.required_level, 2);
	sm_check_result_cleanup(&r);
	/* no certificates: the required level is still reported */
	q.level = 0;
	q.category = "lock";
	expect_verdict(&q, &p, NULL, 0, 0, NOW, SM_DENY, "unknown_model", "", &r);
	assert_int_equal(r.required_level, 3);
	sm_check_result_cleanup(&r);
	q.level = 2;
	expect_verdict(&q, &p, NULL, 0, 0, NOW, SM_DENY, "unknown_model", "", &r);
	assert_int_equal(r.required_level, 3);
	sm_check_result_cleanup(&r);
	sm_cert_free(c);
}

/* Defect 1: `check --level 1 --policy P` lowered P's level 3 for locks to 1. */
static void test_verdict_level_raises_never_lowers(void **state)
{
	(void)state;
	static const char doc[] = "{\"default_level\": 1, \"levels\": {\"lock\": 3}}";
	sm_policy p;
	sm_err err;
	assert_int_equal(sm_policy_parse(doc, strlen(doc), &p, &err), 0);
	sm_cert *c = make_cert("C-LOCK1");
	c->level = 1; /* a one-star lock */
	sm_check_req q = req("1.5");
	sm_check_result r;
	for (int level = 0; level <= 3; level++) {
		q.level = level;
		expect_verdict(&q, &p, &c, 1, 0, NOW, SM_DENY, "level_below_policy", "requires 3", &r);
		if (r.required_level != 3)
			fail_msg("--level %d: expected 3 required (the policy's lock level), got %d", level,
			         r.required_level);
		sm_check_result_cleanup(&r);
	}
	q.category = "lock";
	q.level = 1;
	expect_verdict(&q, &p, &c, 1, 0, NOW, SM_DENY, "level_below_policy", "requires 3", NULL);
	/* and a level above the policy's raises it, saying so */
	c->level = 3;
	q.category = NULL;
	q.level = 4;
	expect_verdict(&q, &p, &c, 1, 0, NOW, SM_DENY, "level_below_policy", "level asked", &r);
	assert_int_equal(r.required_level, 4);
	sm_check_result_cleanup(&r);
	sm_cert_free(c);
}

/* Defect 2: a caller's `--category sensor` made a one-star lock pass a policy wanting 3 for locks. */
static void test_verdict_category_caller_cannot_lower(void **state)
{
	(void)state;
	static const char doc[] = "{\"default_level\": 1, \"levels\": {\"lock\": 3, \"sensor\": 1}}";
	sm_policy p;
	sm_err err;
	assert_int_equal(sm_policy_parse(doc, strlen(doc), &p, &err), 0);
	sm_cert *c = make_cert("C-LOCK1");
	c->level = 1;
	sm_check_req q = req("1.5");
	sm_check_result r;
	q.category = "sensor";
	expect_verdict(&q, &p, &c, 1, 0, NOW, SM_DENY, "level_below_policy", "lock", &r);
	assert_int_equal(r.required_level, 3);
	assert_non_null(strstr(find_reason(&r, "level_below_policy")->message, "certificate"));
	sm_check_result_cleanup(&r);
	q.level = 1; /* both at once */
	expect_verdict(&q, &p, &c, 1, 0, NOW, SM_DENY, "level_below_policy", "lock", NULL);
	/* the other way round: a sensor certificate asked as a lock needs the lock's level */
	free(c->category);
	c->category = xstrdup("sensor");
	q.level = 0;
	q.category = "lock";
	expect_verdict(&q, &p, &c, 1, 0, NOW, SM_DENY, "level_below_policy", "lock", &r);
	assert_int_equal(r.required_level, 3);
	assert_non_null(strstr(find_reason(&r, "level_below_policy")->message, "asked"));
	sm_check_result_cleanup(&r);
	q.category = "sensor";
	expect_verdict(&q, &p, &c, 1, 0, NOW, SM_ALLOW, "certified", "", &r);
	assert_int_equal(r.required_level, 1);
	sm_check_result_cleanup(&r);
	sm_cert_free(c);
}

/*
 * The rule whole: for every certificate category, caller category and caller level, the level
 * required is never below what the policy asks with no caller options, and is the maximum of the
 * three sources.
 */
static void test_verdict_required_level_is_the_max(void **state)
{
	(void)state;
	static const char doc[] = "{\"default_level\": 2, \"levels\": {\"lock\": 3, \"sensor\": 1, \"camera\": 2}}";
	sm_policy p;
	sm_err err;
	assert_int_equal(sm_policy_parse(doc, strlen(doc), &p, &err), 0);
	static const char *const cats[] = {NULL, "lock", "sensor", "camera", "shutter"};
	const size_t ncats = sizeof(cats) / sizeof(cats[0]);
	sm_cert *c = make_cert("C-1");
	c->level = 9; /* passes every level: only required_level is looked at */
	for (size_t i = 0; i < ncats; i++) {
		free(c->category);
		c->category = cats[i] ? xstrdup(cats[i]) : NULL;
		int floor = sm_policy_level(&p, cats[i]);
		for (size_t k = 0; k < ncats; k++)
			for (int level = 0; level <= 4; level++) {
				sm_check_req q = req("1.5");
				q.category = cats[k];
				q.level = level;
				int want = floor;
				if (cats[k] && sm_policy_level(&p, cats[k]) > want)
					want = sm_policy_level(&p, cats[k]);
				if (level > want)
					want = level;
				sm_check_result r;
				assert_int_equal(sm_verdict_eval(&q, &p, &c, 1, 0, NOW, &r), 0);
				if (r.required_level != want || r.required_level < floor)
					fail_msg("certificate %s, asked %s at --level %d: expected %d required, got %d",
					         cats[i] ? cats[i] : "(none)", cats[k] ? cats[k] : "(none)", level, want,
					         r.required_level);
				sm_check_result_cleanup(&r);
			}
	}
	sm_cert_free(c);
}

/* Defect 3: "unknown": "allow" changed nothing; no usable data is one function's answer now. */
static void test_verdict_unknown_follows_the_policy(void **state)
{
	(void)state;
	static const char doc[] = "{\"name\": \"open\", \"levels\": {\"lock\": 3}, \"unknown\": \"allow\"}";
	sm_policy p;
	sm_err err;
	sm_check_result r;
	sm_check_req q = req("1.5");
	q.category = "lock";
	q.level = 2;

	/* fails closed (the default): unknown, the cause first, then fails_closed */
	sm_policy_default(&p);
	assert_int_equal(sm_verdict_unknown(&q, &p, "no_data", "the cache /x holds no snapshot", &r), 0);
	assert_int_equal(r.verdict, SM_UNKNOWN);
	assert_int_equal(r.nreasons, 2);
	assert_string_equal(r.reasons[0].code, "no_data");
	assert_string_equal(r.reasons[0].message, "the cache /x holds no snapshot");
	assert_string_equal(r.reasons[1].code, "fails_closed");
	assert_non_null(strstr(r.reasons[1].message, "deny"));
	assert_null(r.cert);
	assert_int_equal(r.required_level, 2);
	sm_check_result_cleanup(&r);

	/* fails open: a pass with a warning that keeps the cause and names the policy */
	assert_int_equal(sm_policy_parse(doc, strlen(doc), &p, &err), 0);
	assert_int_equal(sm_verdict_unknown(&q, &p, "snapshot_expired", "the cached snapshot expired", &r), 0);
	assert_int_equal(r.verdict, SM_WARN);
	assert_int_equal(r.nreasons, 2);
	assert_string_equal(r.reasons[0].code, "snapshot_expired");
	assert_string_equal(r.reasons[1].code, "unknown_allowed");
	assert_non_null(strstr(r.reasons[1].message, "open"));
	assert_null(find_reason(&r, "fails_closed"));
	assert_null(r.cert);
	assert_int_equal(r.required_level, 3); /* the floor holds here too */
	sm_check_result_cleanup(&r);

	/* what was in the result before is replaced, and long messages are cut, not overflowed */
	char big[1024];
	memset(big, 'x', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	r.nreasons = SM_REASONS_MAX;
	assert_int_equal(sm_verdict_unknown(&q, &p, "no_statement", big, &r), 0);
	assert_int_equal(r.nreasons, 2);
	assert_int_equal(strlen(r.reasons[0].message), sizeof(r.reasons[0].message) - 1);
	sm_check_result_cleanup(&r);
	/* a code is required */
	assert_int_equal(sm_verdict_unknown(&q, &p, "", "why", &r), SM_EINVAL);
	assert_int_equal(sm_verdict_unknown(&q, &p, NULL, "why", &r), SM_EINVAL);
	sm_check_result_cleanup(&r);
}

/* Defect 4: a policy asking level 5 of a 3-level scheme was accepted, and then denied everything. */
static void expect_misfit(const char *doc, const sm_check_req *q, int levels, const char *field, const char *needle)
{
	sm_policy p;
	sm_err err;
	sm_policy_default(&p);
	if (doc)
		assert_int_equal(sm_policy_parse(doc, strlen(doc), &p, &err), 0);
	sm_err_clear(&err);
	int rc = q ? sm_check_req_fits(q, &p, levels, &err) : sm_policy_fits(&p, levels, &err);
	if (rc != SM_EINVAL)
		fail_msg("%s in a %d-level scheme: expected SM_EINVAL, got %d", doc ? doc : "(request)", levels, rc);
	if (strcmp(err.field, field) != 0)
		fail_msg("%s: expected field \"%s\", got \"%s\" (%s)", doc ? doc : "(request)", field, err.field, err.msg);
	if (!strstr(err.msg, needle))
		fail_msg("%s: expected \"%s\" in \"%s\"", doc ? doc : "(request)", needle, err.msg);
}

static void test_verdict_policy_fits_the_scheme(void **state)
{
	(void)state;
	static const char fits[] = "{\"default_level\": 2, \"levels\": {\"lock\": 3, \"sensor\": 1}}";
	sm_policy p;
	sm_err err;
	assert_int_equal(sm_policy_parse(fits, strlen(fits), &p, &err), 0);
	assert_int_equal(sm_policy_fits(&p, 3, &err), 0);
	assert_int_equal(sm_policy_fits(&p, SM_LEVELS_MAX, &err), 0);
	sm_policy_default(&p);
	assert_int_equal(sm_policy_fits(&p, 1, &err), 0);

	expect_misfit(fits, NULL, 2, "levels.lock", "1..2");
	expect_misfit("{\"default_level\": 5}", NULL, 3, "default_level", "1..3");
	expect_misfit("{\"default_level\": 5}", NULL, 3, "default_level", "5");
	expect_misfit("{\"levels\": {\"sensor\": 1, \"water-heater\": 4}}", NULL, 3, "levels.water-heater", "4");
	expect_misfit("{\"name\": \"Homes\", \"levels\": {\"lock\": 5}}", NULL, 3, "levels.lock", "Homes");
	/* a scheme that is not one */
	expect_misfit(NULL, NULL, 0, "levels", "1..9");
	expect_misfit(NULL, NULL, SM_LEVELS_MAX + 1, "levels", "1..9");

	/* the request's level and the policy, in one check for the verbs that take both */
	sm_check_req q = req("1.5");
	assert_int_equal(sm_check_req_fits(&q, NULL, 3, &err), 0);
	q.level = 3;
	assert_int_equal(sm_check_req_fits(&q, NULL, 3, &err), 0);
	assert_int_equal(sm_check_req_fits(&q, &p, 3, &err), 0);
	q.level = 4;
	expect_misfit(NULL, &q, 3, "level", "level 4 is not a level of this scheme (1..3)");
	q.level = 1;
	expect_misfit("{\"levels\": {\"lock\": 5}}", &q, 3, "levels.lock", "1..3");
}

/*
 * Each certificate is judged at the level its own category asks for, whatever the order of the
 * list: a lock certificate judged first must not raise the level asked of the next one.
 */
static void test_verdict_level_per_certificate_order_independent(void **state)
{
	(void)state;
	static const char doc[] = "{\"default_level\": 1, \"levels\": {\"lock\": 3}}";
	sm_policy p;
	sm_err err;
	assert_int_equal(sm_policy_parse(doc, strlen(doc), &p, &err), 0);
	sm_cert *lock = make_cert("C-LOCK");   /* level 2 < 3: deny */
	sm_cert *plain = make_cert("C-PLAIN"); /* no category: level 1 asked, allow */
	free(plain->category);
	plain->category = NULL;
	sm_check_req q = req("1.5");
	sm_check_result r;
	sm_cert *a[] = {plain, lock};
	expect_verdict(&q, &p, a, 2, 0, NOW, SM_ALLOW, "certified", "C-PLAIN", &r);
	assert_int_equal(r.required_level, 1);
	sm_check_result_cleanup(&r);
	sm_cert *b[] = {lock, plain};
	expect_verdict(&q, &p, b, 2, 0, NOW, SM_ALLOW, "certified", "C-PLAIN", &r);
	assert_int_equal(r.required_level, 1);
	sm_check_result_cleanup(&r);
	sm_cert_free(lock);
	sm_cert_free(plain);
}

/* The one rule of freshness (verdicts and label verdicts): past next_update by more than the grace. */
static void test_verdict_policy_stale(void **state)
{
	(void)state;
	sm_policy p;
	sm_policy_default(&p);
	assert_false(sm_policy_stale(&p, 0, 4000000000LL)); /* the registry itself */
	assert_false(sm_policy_stale(&p, 1000, 999));
	assert_false(sm_policy_stale(&p, 1000, 1000 + 72 * 3600));
	assert_true(sm_policy_stale(&p, 1000, 1000 + 72 * 3600 + 1));
	p.offline_grace = 0;
	assert_false(sm_policy_stale(&p, 1000, 1000));
	assert_true(sm_policy_stale(&p, 1000, 1001));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_verdict_policy_default),
	    cmocka_unit_test(test_verdict_policy_parse_good),
	    cmocka_unit_test(test_verdict_policy_parse_rejects),
	    cmocka_unit_test(test_verdict_check_req_validate),
	    cmocka_unit_test(test_verdict_allow),
	    cmocka_unit_test(test_verdict_warn_support_ending),
	    cmocka_unit_test(test_verdict_deny_each_reason),
	    cmocka_unit_test(test_verdict_freshness),
	    cmocka_unit_test(test_verdict_policy_stale),
	    cmocka_unit_test(test_verdict_best_of_several),
	    cmocka_unit_test(test_verdict_category_and_level),
	    cmocka_unit_test(test_verdict_level_per_certificate_order_independent),
	    cmocka_unit_test(test_verdict_level_raises_never_lowers),
	    cmocka_unit_test(test_verdict_category_caller_cannot_lower),
	    cmocka_unit_test(test_verdict_required_level_is_the_max),
	    cmocka_unit_test(test_verdict_unknown_follows_the_policy),
	    cmocka_unit_test(test_verdict_policy_fits_the_scheme),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
