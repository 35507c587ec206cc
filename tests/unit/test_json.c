/* SPDX-License-Identifier: Apache-2.0 */
/* Unit tests for the JSON views: the show --json shape, the issue body parser, body caps, round trips. */
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "starmark/json.h"
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

static char *xstrdup(const char *s)
{
	char *d = strdup(s);
	assert_non_null(d);
	return d;
}

static sm_cert *make_cert(void)
{
	sm_cert *c = sm_cert_new();
	assert_non_null(c);
	snprintf(c->id, sizeof(c->id), "SM-2024-000001");
	snprintf(c->scheme, sizeof(c->scheme), "CCDS");
	snprintf(c->vendor, sizeof(c->vendor), "ACME");
	c->vendor_name = xstrdup("アクメ株式会社");
	c->product = xstrdup("スマートロック SL");
	c->models = calloc(2, sizeof(char *));
	assert_non_null(c->models);
	c->models[0] = xstrdup("SL-100");
	c->models[1] = xstrdup("SL-200");
	c->nmodels = 2;
	c->level = 3;
	c->category = xstrdup("lock");
	c->firmware = xstrdup(">=1.0 <2.0, 2.5");
	c->revoked = calloc(1, sizeof(char *));
	assert_non_null(c->revoked);
	c->revoked[0] = xstrdup("1.5");
	c->nrevoked = 1;
	c->registered = D("2024-01-15");
	c->expires = D("2027-01-15");
	c->support_end = D("2029-12-31");
	c->requirements = xstrdup("2024.1");
	c->url = xstrdup("https://acme.example/sl");
	c->status = SM_STATUS_ACTIVE;
	c->history = calloc(2, sizeof(sm_history));
	assert_non_null(c->history);
	c->history[0] = (sm_history){SM_EV_ISSUE, 1705320000, NULL, 0};      /* 2024-01-15T12:00:00Z */
	c->history[1] = (sm_history){SM_EV_FW_REVOKE, 1717243199, NULL, 41}; /* 2024-06-01T11:59:59Z */
	c->history[1].reason = xstrdup("CVE-2024-0001");
	c->nhistory = 2;
	return c;
}

/* The keys of object `o` are exactly the NULL-terminated list. */
static void expect_keys(const json_t *o, const char *where, ...)
{
	assert_true(json_is_object(o));
	size_t n = 0;
	va_list ap;
	va_start(ap, where);
	for (const char *k = va_arg(ap, const char *); k; k = va_arg(ap, const char *), n++)
		if (!json_object_get(o, k))
			fail_msg("%s: expected key \"%s\"", where, k);
	va_end(ap);
	if (json_object_size(o) != n) {
		char *dump = json_dumps(o, JSON_SORT_KEYS | JSON_COMPACT);
		fail_msg("%s: expected %zu keys, got %zu: %s", where, n, json_object_size(o),
		         dump ? dump : "?");
	}
}

static const char *sget(const json_t *o, const char *k)
{
	const json_t *v = json_object_get(o, k);
	if (!json_is_string(v))
		fail_msg("expected \"%s\" to be a string", k);
	return json_string_value(v);
}

static json_t *parse(const char *text)
{
	json_t *j = NULL;
	sm_err err;
	int rc = sm_json_parse_body(text, strlen(text), &j, &err);
	if (rc)
		fail_msg("body refused: %s (%.80s)", err.msg, text);
	return j;
}

static const char ISSUE_BODY[] =
    "{\"vendor\": {\"code\": \"ACME\", \"name\": \"アクメ株式会社\"}, \"product\": \"スマートロック SL\",\n"
    " \"models\": [\"SL-100\", \"SL-200\"], \"level\": 3, \"firmware\": {\"covered\": \"<2.0 >=1.0,2.5\"},\n"
    " \"category\": \"lock\", \"registered\": \"2024-01-15\", \"expires\": \"2027-01-15\",\n"
    " \"support_end\": \"2029-12\", \"requirements\": \"2024.1\", \"url\": \"https://acme.example/sl\"}";

/* ---- sm_time_format ---- */

static void test_json_time_format(void **state)
{
	(void)state;
	char t[21];
	sm_time_format(0, t);
	assert_string_equal(t, "1970-01-01T00:00:00Z");
	sm_time_format(-1, t);
	assert_string_equal(t, "1969-12-31T23:59:59Z");
	sm_time_format(1709251199, t);
	assert_string_equal(t, "2024-02-29T23:59:59Z");
	sm_time_format(1717243199, t);
	assert_string_equal(t, "2024-06-01T11:59:59Z");
	sm_time_format(253402300799, t);
	assert_string_equal(t, "9999-12-31T23:59:59Z");
	/* any int64 (a decoded history time) gives 20 characters and no overflow */
	sm_time_format(INT64_MAX, t);
	assert_int_equal(strlen(t), 20);
	sm_time_format(INT64_MIN, t);
	assert_int_equal(strlen(t), 20);
}

/* ---- show --json ---- */

static void test_json_cert_to_json_shape(void **state)
{
	(void)state;
	sm_cert *c = make_cert();
	json_t *j = sm_cert_to_json(c, D("2025-06-01"));
	assert_non_null(j);
	expect_keys(j, "certificate", "id", "scheme", "scheme_ref", "level", "vendor", "product", "models",
	            "category", "firmware", "registered", "expires", "support_end", "requirements", "url",
	            "status", "history", NULL);
	assert_string_equal(sget(j, "id"), "SM-2024-000001");
	assert_string_equal(sget(j, "scheme"), "CCDS");
	assert_true(json_is_integer(json_object_get(j, "level")));
	assert_int_equal(json_integer_value(json_object_get(j, "level")), 3);
	json_t *v = json_object_get(j, "vendor");
	expect_keys(v, "vendor", "code", "name", NULL);
	assert_string_equal(sget(v, "code"), "ACME");
	assert_string_equal(sget(v, "name"), "アクメ株式会社");
	assert_string_equal(sget(j, "product"), "スマートロック SL");
	json_t *m = json_object_get(j, "models");
	assert_true(json_is_array(m));
	assert_int_equal(json_array_size(m), 2);
	assert_string_equal(json_string_value(json_array_get(m, 1)), "SL-200");
	assert_string_equal(sget(j, "category"), "lock");
	json_t *fw = json_object_get(j, "firmware");
	expect_keys(fw, "firmware", "covered", "revoked", NULL);
	assert_string_equal(sget(fw, "covered"), ">=1.0 <2.0, 2.5");
	assert_int_equal(json_array_size(json_object_get(fw, "revoked")), 1);
	assert_string_equal(json_string_value(json_array_get(json_object_get(fw, "revoked"), 0)), "1.5");
	assert_string_equal(sget(j, "registered"), "2024-01-15");
	assert_string_equal(sget(j, "expires"), "2027-01-15");
	assert_string_equal(sget(j, "support_end"), "2029-12-31");
	assert_string_equal(sget(j, "requirements"), "2024.1");
	assert_string_equal(sget(j, "url"), "https://acme.example/sl");
	assert_string_equal(sget(j, "status"), "active");
	json_t *h = json_object_get(j, "history");
	assert_true(json_is_array(h));
	assert_int_equal(json_array_size(h), 2);
	for (size_t i = 0; i < 2; i++) {
		json_t *e = json_array_get(h, i);
		/* INTERFACE.md names event, at, reason; log_index is the one addition */
		expect_keys(e, "history entry", "event", "at", "reason", "log_index", NULL);
	}
	assert_string_equal(sget(json_array_get(h, 0), "event"), "issue");
	assert_string_equal(sget(json_array_get(h, 0), "at"), "2024-01-15T12:00:00Z");
	assert_true(json_is_null(json_object_get(json_array_get(h, 0), "reason")));
	assert_int_equal(json_integer_value(json_object_get(json_array_get(h, 0), "log_index")), 0);
	assert_string_equal(sget(json_array_get(h, 1), "event"), "firmware-revoke");
	assert_string_equal(sget(json_array_get(h, 1), "at"), "2024-06-01T11:59:59Z");
	assert_string_equal(sget(json_array_get(h, 1), "reason"), "CVE-2024-0001");
	assert_int_equal(json_integer_value(json_object_get(json_array_get(h, 1), "log_index")), 41);
	json_decref(j);

	/* status as of the day asked; absent optional fields are null, not missing */
	j = sm_cert_to_json(c, D("2027-01-16"));
	assert_string_equal(sget(j, "status"), "expired");
	json_decref(j);
	c->status = SM_STATUS_SUSPENDED;
	j = sm_cert_to_json(c, D("2027-01-16"));
	assert_string_equal(sget(j, "status"), "suspended");
	json_decref(j);
	c->status = SM_STATUS_REVOKED;
	free(c->category);
	free(c->requirements);
	free(c->url);
	c->category = c->requirements = c->url = NULL;
	c->expires = c->support_end = SM_DATE_NONE;
	for (size_t i = 0; i < c->nrevoked; i++)
		free(c->revoked[i]);
	free(c->revoked);
	c->revoked = NULL;
	c->nrevoked = 0;
	j = sm_cert_to_json(c, D("2027-01-16"));
	expect_keys(j, "certificate", "id", "scheme", "scheme_ref", "level", "vendor", "product", "models",
	            "category", "firmware", "registered", "expires", "support_end", "requirements", "url",
	            "status", "history", NULL);
	assert_string_equal(sget(j, "status"), "revoked");
	const char *nulls[] = {"category", "expires", "support_end", "requirements", "url", "scheme_ref"};
	for (size_t i = 0; i < 5; i++)
		if (!json_is_null(json_object_get(j, nulls[i])))
			fail_msg("expected %s to be null", nulls[i]);
	fw = json_object_get(j, "firmware");
	assert_true(json_is_array(json_object_get(fw, "revoked")));
	assert_int_equal(json_array_size(json_object_get(fw, "revoked")), 0);
	json_decref(j);
	sm_cert_free(c);
}

static void test_json_check_to_json_shape(void **state)
{
	(void)state;
	sm_check_result r;
	memset(&r, 0, sizeof(r));
	r.verdict = SM_WARN;
	r.required_level = 2;
	r.nreasons = 1;
	snprintf(r.reasons[0].code, sizeof(r.reasons[0].code), "support_ending");
	snprintf(r.reasons[0].message, sizeof(r.reasons[0].message), "ends soon");
	r.cert = make_cert();
	json_t *j = sm_check_to_json(&r, D("2025-06-01"), 1717243199, 1717243200);
	expect_keys(j, "check", "verdict", "required_level", "reasons", "certificate", "statement",
	            "produced_at", "next_update", NULL);
	assert_string_equal(sget(j, "verdict"), "warn");
	json_t *reasons = json_object_get(j, "reasons");
	assert_int_equal(json_array_size(reasons), 1);
	expect_keys(json_array_get(reasons, 0), "reason", "code", "message", NULL);
	assert_string_equal(sget(json_object_get(j, "certificate"), "id"), "SM-2024-000001");
	assert_true(json_is_null(json_object_get(j, "statement")));
	assert_string_equal(sget(j, "produced_at"), "2024-06-01T11:59:59Z");
	assert_string_equal(sget(j, "next_update"), "2024-06-01T12:00:00Z");
	json_decref(j);
	sm_check_result_cleanup(&r);
	j = sm_check_to_json(&r, D("2025-06-01"), 0, 0);
	assert_true(json_is_null(json_object_get(j, "certificate")));
	assert_true(json_is_null(json_object_get(j, "produced_at")));
	assert_true(json_is_null(json_object_get(j, "next_update")));
	json_decref(j);
}

/* A policy's view has every field, in the policy document's shape, and parses back to the same policy. */
static void test_json_policy_to_json_round_trip(void **state)
{
	(void)state;
	static const char doc[] = "{\"name\": \"Homes ★★★\", \"default_level\": 2, \"levels\": {\"lock\": 3, "
	                          "\"sensor\": 1}, \"offline_grace_hours\": 48, \"unknown\": \"allow\", "
	                          "\"support_warn_days\": 90, \"deny_after_support_end\": false}";
	sm_policy p, back;
	sm_err err;
	assert_int_equal(sm_policy_parse(doc, strlen(doc), &p, &err), 0);
	json_t *j = sm_policy_to_json(&p);
	assert_non_null(j);
	expect_keys(j, "policy", "name", "default_level", "levels", "offline_grace_hours", "unknown",
	            "support_warn_days", "deny_after_support_end", NULL);
	assert_string_equal(sget(j, "name"), "Homes ★★★");
	assert_int_equal(json_integer_value(json_object_get(j, "default_level")), 2);
	assert_int_equal(json_integer_value(json_object_get(json_object_get(j, "levels"), "lock")), 3);
	assert_int_equal(json_integer_value(json_object_get(j, "offline_grace_hours")), 48);
	assert_string_equal(sget(j, "unknown"), "allow");
	assert_int_equal(json_integer_value(json_object_get(j, "support_warn_days")), 90);
	assert_true(json_is_false(json_object_get(j, "deny_after_support_end")));
	char *text = json_dumps(j, JSON_COMPACT);
	assert_non_null(text);
	assert_int_equal(sm_policy_parse(text, strlen(text), &back, &err), 0);
	assert_memory_equal(&p, &back, sizeof(p));
	free(text);
	json_decref(j);

	/* the default policy: no categories, fails closed */
	sm_policy_default(&p);
	j = sm_policy_to_json(&p);
	assert_int_equal(json_object_size(json_object_get(j, "levels")), 0);
	assert_string_equal(sget(j, "unknown"), "deny");
	assert_int_equal(json_integer_value(json_object_get(j, "offline_grace_hours")), 72);
	json_decref(j);
}

/* ---- the issue body ---- */

static void test_json_cert_from_json_issue_body(void **state)
{
	(void)state;
	json_t *j = parse(ISSUE_BODY);
	sm_cert *c = NULL;
	sm_err err;
	int rc = sm_cert_from_json(j, false, &c, &err);
	if (rc)
		fail_msg("issue body refused: %s", err.msg);
	assert_string_equal(c->vendor, "ACME");
	assert_string_equal(c->vendor_name, "アクメ株式会社");
	assert_string_equal(c->product, "スマートロック SL");
	assert_int_equal(c->nmodels, 2);
	assert_string_equal(c->models[0], "SL-100");
	assert_string_equal(c->models[1], "SL-200");
	assert_int_equal(c->level, 3);
	assert_string_equal(c->firmware, "<2.0 >=1.0,2.5"); /* not yet validated: as given */
	assert_string_equal(c->category, "lock");
	assert_int_equal(c->registered, D("2024-01-15"));
	assert_int_equal(c->expires, D("2027-01-15"));
	assert_int_equal(c->support_end, D("2029-12-31"));
	assert_string_equal(c->requirements, "2024.1");
	assert_string_equal(c->url, "https://acme.example/sl");
	assert_int_equal(c->status, SM_STATUS_ACTIVE);
	assert_int_equal(c->nhistory, 0);
	assert_int_equal(sm_cert_validate(c, 3, &err), 0);
	assert_string_equal(c->firmware, ">=1.0 <2.0, 2.5");
	sm_cert_free(c);
	json_decref(j);

	/* optional fields null or absent */
	j = parse(
	    "{\"vendor\": {\"code\": \"ACME\", \"name\": \"Acme\"}, \"product\": \"P\", \"models\": [\"M\"],"
	    " \"level\": 1, \"firmware\": {\"covered\": \"1.0\"}, \"registered\": \"2024-01-15\","
	    " \"category\": null, \"expires\": null, \"url\": null}");
	c = NULL;
	assert_int_equal(sm_cert_from_json(j, false, &c, &err), 0);
	assert_null(c->category);
	assert_null(c->url);
	assert_null(c->requirements);
	assert_int_equal(c->expires, SM_DATE_NONE);
	assert_int_equal(c->support_end, SM_DATE_NONE);
	assert_int_equal(sm_cert_validate(c, 1, &err), 0);
	sm_cert_free(c);
	json_decref(j);
}

/* Replace (or add) `key` in a copy of the issue body and expect it refused, naming `field` and `needle`. */
static void body_fails(const char *key, json_t *value, bool export_keys, const char *field,
                       const char *needle)
{
	json_t *j = parse(ISSUE_BODY);
	json_object_set_new(j, key, value);
	sm_cert *c = NULL;
	sm_err err;
	sm_err_clear(&err);
	int rc = sm_cert_from_json(j, export_keys, &c, &err);
	if (rc != SM_EINVAL)
		fail_msg("%s: expected SM_EINVAL, got %d (%s)", key, rc, rc ? err.msg : "accepted");
	assert_null(c);
	if (field && strcmp(err.field, field) != 0)
		fail_msg("%s: expected field \"%s\", got \"%s\" (%s)", key, field, err.field, err.msg);
	if (!strstr(err.msg, needle))
		fail_msg("%s: expected \"%s\" in \"%s\"", key, needle, err.msg);
	json_decref(j);
}

static void test_json_cert_from_json_rejects(void **state)
{
	(void)state;
	/* unknown keys, at each level */
	body_fails("colour", json_string("red"), false, "colour", "unknown key 'colour'");
	body_fails("vendor", json_pack("{s:s, s:s, s:s}", "code", "ACME", "name", "A", "id", "x"), false,
	           "id", "unknown key 'id' in vendor");
	body_fails("firmware", json_pack("{s:s, s:s}", "covered", "1.0", "range", "x"), false, "range",
	           "in firmware");
	/* the export keys are unknown in an issue body */
	body_fails("id", json_string("CCDS-1"), false, "id", "unknown key 'id'");
	body_fails("status", json_string("active"), false, "status", "unknown key 'status'");
	body_fails("history", json_array(), false, "history", "unknown key 'history'");
	body_fails("scheme", json_string("CCDS"), false, "scheme", "unknown key 'scheme'");
	body_fails("firmware", json_pack("{s:s, s:[]}", "covered", "1.0", "revoked"), false, "revoked",
	           "unknown key 'revoked'");
	/* wrong types */
	body_fails("vendor", json_string("ACME"), false, "vendor", "object");
	body_fails("vendor", json_pack("{s:i, s:s}", "code", 5, "name", "A"), false, "vendor.code", "string");
	body_fails("vendor", json_pack("{s:s, s:s}", "code", "acme", "name", "A"), false, "vendor", "acme");
	body_fails("vendor", json_pack("{s:s, s:i}", "code", "ACME", "name", 5), false, "vendor.name",
	           "string");
	body_fails("product", json_integer(5), false, "product", "string");
	body_fails("product", json_true(), false, "product", "string");
	body_fails("models", json_string("SL-100"), false, "models", "array");
	body_fails("models", json_pack("[s, i]", "SL-100", 5), false, "models", "string");
	body_fails("models", json_pack("[s, n]", "SL-100"), false, "models", "string");
	json_t *many = json_array();
	for (int i = 0; i < 65; i++) {
		char m[16];
		snprintf(m, sizeof(m), "M-%d", i);
		json_array_append_new(many, json_string(m));
	}
	body_fails("models", many, false, "models", "64");
	body_fails("level", json_string("3"), false, "level", "integer");
	body_fails("level", json_real(3.0), false, "level", "integer");
	body_fails("level", json_integer(0), false, "level", "1..9");
	body_fails("level", json_integer(10), false, "level", "1..9");
	body_fails("level", json_null(), false, "level", "integer");
	body_fails("firmware", json_string(">=1.0"), false, "firmware", "object");
	body_fails("firmware", json_pack("{s:i}", "covered", 1), false, "firmware.covered", "string");
	body_fails("category", json_integer(1), false, "category", "string");
	body_fails("registered", json_integer(20240115), false, "registered", "string");
	body_fails("registered", json_string("2024-02-30"), false, "registered", "2024-02-30");
	body_fails("registered", json_string("2024-02"), false, "registered", "2024-02");
	body_fails("expires", json_string("2027-01"), false, "expires", "2027-01");
	body_fails("expires", json_string("15/01/2027"), false, "expires", "15/01/2027");
	body_fails("support_end", json_string("2029-13"), false, "support_end", "2029-13");
	body_fails("requirements", json_real(2024.1), false, "requirements", "string");
	body_fails("url", json_array(), false, "url", "string");
	/* NUL inside strings, wherever strings are read */
	body_fails("product", json_stringn("Lock\0X", 6), false, "product", "NUL");
	body_fails("models", json_pack("[o]", json_stringn("SL\0X", 4)), false, "models", "NUL");
	body_fails("vendor", json_pack("{s:o, s:s}", "code", json_stringn("ACME\0X", 6), "name", "A"), false,
	           "vendor.code", "NUL");
	body_fails("vendor", json_pack("{s:s, s:o}", "code", "ACME", "name", json_stringn("A\0B", 3)), false,
	           "vendor.name", "NUL");
	body_fails("registered", json_stringn("2024-01-15\0", 11), false, "registered", "NUL");
	body_fails("url", json_stringn("https://a\0b", 11), false, "url", "NUL");
	body_fails("firmware", json_pack("{s:o}", "covered", json_stringn("1.0\0", 4)), false,
	           "firmware.covered", "NUL");

	/* not an object */
	sm_cert *c = NULL;
	sm_err err;
	json_t *a = json_array();
	assert_int_equal(sm_cert_from_json(a, false, &c, &err), SM_EINVAL);
	assert_null(c);
	assert_string_equal(err.field, "body");
	assert_non_null(strstr(err.msg, "object"));
	json_decref(a);
}

static void test_json_cert_from_json_export_keys(void **state)
{
	(void)state;
	sm_cert *src = make_cert();
	src->scheme_ref = xstrdup("CCDS-2024-0042");
	json_t *j = sm_cert_to_json(src, D("2025-06-01"));
	sm_cert *c = NULL;
	sm_err err;
	int rc = sm_cert_from_json(j, true, &c, &err);
	if (rc)
		fail_msg("an exported record was refused: %s", err.msg);
	/* what an import checks and replays is kept; the scheme is the registry's to assign */
	assert_string_equal(c->id, "SM-2024-000001");
	assert_string_equal(c->scheme, "");
	assert_string_equal(c->scheme_ref, "CCDS-2024-0042");
	assert_int_equal(c->status, SM_STATUS_ACTIVE);
	assert_int_equal(c->nrevoked, 1);
	assert_string_equal(c->revoked[0], "1.5");
	assert_int_equal(c->nhistory, 2);
	assert_int_equal(c->history[1].type, SM_EV_FW_REVOKE);
	assert_int_equal(c->history[1].at, 1717243199);
	assert_string_equal(c->history[1].reason, "CVE-2024-0001");
	assert_null(c->history[0].reason);
	assert_int_equal(c->level, 3);
	sm_cert_free(c);
	json_decref(j);

	/* each status is read (expired as 3: an import checks it against the expiry) */
	const char *names[] = {"active", "suspended", "revoked", "expired"};
	for (int i = 0; i < 4; i++) {
		j = parse(ISSUE_BODY);
		json_object_set_new(j, "status", json_string(names[i]));
		assert_int_equal(sm_cert_from_json(j, true, &c, &err), 0);
		assert_int_equal(c->status, i);
		sm_cert_free(c);
		json_decref(j);
	}
	body_fails("status", json_string("gone"), true, "status", "active, suspended");
	body_fails("status", json_integer(0), true, "status", "active, suspended");
	body_fails("firmware", json_pack("{s:s, s:s}", "covered", "1.0", "revoked", "1.0"), true,
	           "firmware.revoked", "array");
	body_fails("firmware", json_pack("{s:s, s:[i]}", "covered", "1.0", "revoked", 1), true,
	           "firmware.revoked", "string");
	body_fails("history", json_pack("[{s:s, s:s}]", "event", "issue", "at", "yesterday"), true,
	           "history.at", "YYYY-MM-DDTHH:MM:SSZ");
	body_fails("history", json_pack("[{s:s, s:s}]", "event", "mend", "at", "2024-01-01T00:00:00Z"), true,
	           "history", "event name");
	body_fails("history", json_string("x"), true, "history", "array");
	body_fails("id", json_integer(7), true, "id", "string");
	body_fails("colour", json_string("red"), true, "colour", "unknown key");
	/* the scheme's registration number is part of an issue body too */
	j = parse(ISSUE_BODY);
	json_object_set_new(j, "scheme_ref", json_string("R-0001"));
	assert_int_equal(sm_cert_from_json(j, false, &c, &err), 0);
	assert_string_equal(c->scheme_ref, "R-0001");
	sm_cert_free(c);
	json_decref(j);
	/* without the export keys, those are unknown */
	body_fails("status", json_string("active"), false, "status", "unknown key");
	body_fails("history", json_array(), false, "history", "unknown key");
	sm_cert_free(src);
}

/* ---- body caps ---- */

static void body_text_fails(const char *text, size_t n, int code, const char *needle)
{
	json_t *j = NULL;
	sm_err err;
	sm_err_clear(&err);
	int rc = sm_json_parse_body(text, n, &j, &err);
	if (rc != code)
		fail_msg("%.60s: expected %d, got %d (%s)", text, code, rc, rc ? err.msg : "accepted");
	assert_null(j);
	assert_string_equal(err.field, "body");
	if (!strstr(err.msg, needle))
		fail_msg("%.60s: expected \"%s\" in \"%s\"", text, needle, err.msg);
}
#define BODY_FAILS(lit, code, needle) body_text_fails((lit), sizeof(lit) - 1, (code), (needle))

static void test_json_parse_body_caps(void **state)
{
	(void)state;
	BODY_FAILS("", SM_EINVAL, "invalid JSON");
	BODY_FAILS("{", SM_EINVAL, "invalid JSON");
	BODY_FAILS("{} {}", SM_EINVAL, "invalid JSON");
	BODY_FAILS("{\"a\": 1,}", SM_EINVAL, "invalid JSON");
	BODY_FAILS("{\"a\": \"\\u0000\"}", SM_EINVAL, "invalid JSON");
	BODY_FAILS("{\"a\": \"\xff\"}", SM_EINVAL, "invalid JSON");
	BODY_FAILS("{\"a\": NaN}", SM_EINVAL, "invalid JSON");
	BODY_FAILS("[]", SM_EINVAL, "must be an object");
	BODY_FAILS("[{\"a\": 1}]", SM_EINVAL, "must be an object");
	BODY_FAILS("{\"a\": 1, \"a\": 2}", SM_EINVAL, "duplicate");
	BODY_FAILS("{\"v\": {\"code\": \"A\", \"code\": \"B\"}}", SM_EINVAL, "duplicate");
	static const char nul[] = "{\"a\": 1}\0";
	body_text_fails(nul, sizeof(nul), SM_EINVAL, "invalid JSON");

	/* depth: 8 levels are fine, 9 are not; brackets inside strings do not count */
	json_t *j = parse("{\"a\": [[[[[[[1]]]]]]]}");
	json_decref(j);
	BODY_FAILS("{\"a\": [[[[[[[[1]]]]]]]]}", SM_EINVAL, "nested deeper than 8");
	j = parse("{\"a\": \"[[[[[[[[[[[[[[[[[[\", \"b\": \"\\\"{{{{{{{{{{{{{\"}");
	assert_string_equal(json_string_value(json_object_get(j, "a")), "[[[[[[[[[[[[[[[[[[");
	json_decref(j);
	/* deep nesting far past jansson's own cap is refused before parsing */
	size_t deep = 100000;
	char *d = malloc(deep);
	assert_non_null(d);
	memset(d, '[', deep);
	body_text_fails(d, deep, SM_EINVAL, "nested");
	free(d);

	/* size: exactly the cap parses, one more byte does not */
	size_t n = SM_JSON_MAX_BODY;
	char *big = malloc(n + 1);
	assert_non_null(big);
	memset(big, ' ', n + 1);
	big[0] = '{';
	big[n - 1] = '}';
	sm_err err;
	j = NULL;
	assert_int_equal(sm_json_parse_body(big, n, &j, &err), 0);
	json_decref(j);
	big[n - 1] = ' ';
	big[n] = '}';
	body_text_fails(big, n + 1, SM_ETOOBIG, "1048577 bytes");
	free(big);
}

/* ---- the admin event body ---- */

static sm_event *event_ok(const char *text)
{
	sm_event *e = NULL;
	sm_err err = { 0 };
	if (sm_event_from_json(text, strlen(text), "SM-2024-000001", &e, &err) != 0)
		fail_msg("event body %s refused: %s", text, err.msg);
	assert_non_null(e);
	assert_string_equal(e->id, "SM-2024-000001");
	return e;
}

/* The body is refused with `code`, naming `field`, with `msg` in the message, and no event */
static void event_fails_n(const char *text, size_t n, int code, const char *field, const char *msg)
{
	sm_event *e = (sm_event *)&e; /* not NULL: a refusal must clear it */
	sm_err err = { 0 };
	int rc = sm_event_from_json(text, n, "SM-2024-000001", &e, &err);
	if (rc != code || e != NULL || strcmp(err.field, field) != 0 || !strstr(err.msg, msg))
		fail_msg("event body %.80s: expected %d naming '%s' with '%s', got %d naming '%s': %s (event %p)", text, code,
			 field, msg, rc, err.field, err.msg, (void *)e);
}

static void event_fails(const char *text, int code, const char *field, const char *msg)
{
	event_fails_n(text, strlen(text), code, field, msg);
}

static void test_json_event_from_json_every_field(void **state)
{
	(void)state;
	sm_event *e = event_ok("{\"event\": \"amend\", \"reason\": \"new models\", \"add_models\": [\"SL-300\", \"SL-400\"],"
			       " \"add_firmware\": \">=3.0\", \"support_end\": \"2031-03\", \"url\": \"https://x.example/p\"}");
	assert_int_equal(e->type, SM_EV_AMEND);
	assert_string_equal(e->reason, "new models");
	assert_int_equal(e->nmodels, 2);
	assert_string_equal(e->models[1], "SL-400");
	assert_string_equal(e->firmware, ">=3.0");
	assert_int_equal(e->support_end, D("2031-03-31"));
	assert_string_equal(e->url, "https://x.example/p");
	sm_event_free(e);

	e = event_ok("{\"versions\": [\"1.4.2\"], \"event\": \"firmware-revoke\", \"reason\": \"CVE-2026-1234\"}");
	assert_int_equal(e->type, SM_EV_FW_REVOKE);
	assert_int_equal(e->nversions, 1);
	assert_string_equal(e->versions[0], "1.4.2");
	assert_string_equal(e->reason, "CVE-2026-1234");
	sm_event_free(e);

	e = event_ok("{\"event\": \"renew\", \"expires\": \"2030-01-21\", \"requirements\": \"2025.1\", \"reason\": \"r\"}");
	assert_int_equal(e->type, SM_EV_RENEW);
	assert_int_equal(e->expires, D("2030-01-21"));
	assert_string_equal(e->requirements, "2025.1");
	sm_event_free(e);

	static const struct {
		const char *name;
		int type;
	} plain[] = { { "suspend", SM_EV_SUSPEND }, { "revoke", SM_EV_REVOKE }, { "reinstate", SM_EV_REINSTATE } };
	for (size_t i = 0; i < sizeof(plain) / sizeof(plain[0]); i++) {
		char body[96];
		snprintf(body, sizeof(body), "{\"event\": \"%s\", \"reason\": \"fraud\"}", plain[i].name);
		e = event_ok(body);
		assert_int_equal(e->type, plain[i].type);
		assert_string_equal(e->reason, "fraud");
		assert_null(e->versions);
		assert_int_equal(e->expires, SM_DATE_NONE);
		sm_event_free(e);
	}
	/* no reason is the registry's to refuse (sm_event_validate), not the body's */
	e = event_ok("{\"event\": \"suspend\"}");
	assert_null(e->reason);
	sm_event_free(e);
}

static void test_json_event_from_json_rejects(void **state)
{
	(void)state;
	/* the event itself */
	event_fails("{}", SM_EINVAL, "event", "event must be one of");
	event_fails("{\"event\": \"issue\"}", SM_EINVAL, "event", "event must be one of");
	event_fails("{\"event\": \"Suspend\"}", SM_EINVAL, "event", "event must be one of");
	event_fails("{\"event\": 3}", SM_EINVAL, "event", "event must be one of");
	event_fails("{\"event\": [\"suspend\"]}", SM_EINVAL, "event", "event must be one of");
	/* keys: unknown ones, and known ones the event does not take */
	event_fails("{\"event\": \"suspend\", \"colour\": \"red\"}", SM_EINVAL, "colour", "suspend does not take 'colour'");
	event_fails("{\"event\": \"suspend\", \"reason\": \"x\", \"versions\": [\"1\"]}", SM_EINVAL, "versions",
		    "does not take");
	event_fails("{\"event\": \"revoke\", \"expires\": \"2030-01-01\"}", SM_EINVAL, "expires", "does not take");
	event_fails("{\"event\": \"renew\", \"add_models\": [\"X\"]}", SM_EINVAL, "add_models", "does not take");
	event_fails("{\"event\": \"amend\", \"versions\": [\"1\"]}", SM_EINVAL, "versions", "does not take");
	event_fails("{\"event\": \"firmware-revoke\", \"url\": \"u\"}", SM_EINVAL, "url", "does not take");
	/* a key is one name, not a list of the names an event takes */
	event_fails("{\"event\": \"firmware-revoke\", \"reason versions\": \"x\"}", SM_EINVAL, "reason versions",
		    "does not take");
	event_fails("{\"event\": \"amend\", \"add_models add_firmware\": [\"X\"]}", SM_EINVAL,
		    "add_models add_firmware", "does not take");
	event_fails("{\"event\": \"suspend\", \"reason \": \"x\"}", SM_EINVAL, "reason ", "does not take");
	event_fails("{\"event\": \"suspend\", \"\": \"x\"}", SM_EINVAL, "", "does not take");
	/* wrong types, naming the field */
	event_fails("{\"event\": \"suspend\", \"reason\": 5}", SM_EINVAL, "reason", "reason must be a string");
	event_fails("{\"event\": \"suspend\", \"reason\": null}", SM_EINVAL, "reason", "must be a string");
	event_fails("{\"event\": \"suspend\", \"reason\": \"a\\u0000b\"}", SM_EINVAL, "body", "invalid JSON");
	event_fails("{\"event\": \"firmware-revoke\", \"versions\": \"1.0\"}", SM_EINVAL, "versions",
		    "non-empty array of strings");
	event_fails("{\"event\": \"firmware-revoke\", \"versions\": []}", SM_EINVAL, "versions", "non-empty array");
	event_fails("{\"event\": \"firmware-revoke\", \"versions\": [\"1.0\", 2]}", SM_EINVAL, "versions",
		    "versions[1] must be a string");
	event_fails("{\"event\": \"amend\", \"add_models\": {\"a\": 1}}", SM_EINVAL, "add_models", "non-empty array");
	event_fails("{\"event\": \"amend\", \"add_firmware\": [\">=1\"]}", SM_EINVAL, "add_firmware", "must be a string");
	event_fails("{\"event\": \"amend\", \"url\": true}", SM_EINVAL, "url", "must be a string");
	event_fails("{\"event\": \"renew\", \"requirements\": 2025}", SM_EINVAL, "requirements", "must be a string");
	event_fails("{\"event\": \"renew\", \"expires\": 20300101}", SM_EINVAL, "expires", "must be a date string");
	event_fails("{\"event\": \"renew\", \"expires\": \"2030-02-30\"}", SM_EINVAL, "expires", "not a real date");
	event_fails("{\"event\": \"renew\", \"expires\": \"2030-02\"}", SM_EINVAL, "expires", "not a date");
	event_fails("{\"event\": \"amend\", \"support_end\": \"2030/02\"}", SM_EINVAL, "support_end", "not a date");
	/* the body caps: an object, no duplicate keys, size and nesting */
	event_fails("", SM_EINVAL, "body", "invalid JSON");
	event_fails("[\"suspend\"]", SM_EINVAL, "body", "must be an object");
	event_fails("{\"event\": \"suspend\", \"event\": \"revoke\"}", SM_EINVAL, "body", "duplicate");
	event_fails("{\"event\": \"amend\", \"add_models\": [[[[[[[[\"X\"]]]]]]]]}", SM_EINVAL, "body", "nested deeper");
	size_t n = SM_JSON_MAX_BODY + 1;
	char *big = malloc(n);
	assert_non_null(big);
	memset(big, ' ', n);
	memcpy(big, "{\"event\": \"suspend\"}", 20);
	event_fails_n(big, n, SM_ETOOBIG, "body", "at most");
	free(big);
	/* more versions than a certificate may hold */
	size_t cap = 64 + (SM_REVOKED_MAX + 1) * 4;
	char *many = malloc(cap), *w = many;
	assert_non_null(many);
	w += sprintf(w, "{\"event\": \"firmware-revoke\", \"versions\": [");
	for (int i = 0; i <= SM_REVOKED_MAX; i++)
		w += sprintf(w, "%s\"%d\"", i ? "," : "", i % 10);
	sprintf(w, "]}");
	event_fails(many, SM_EINVAL, "versions", "non-empty array");
	free(many);
}

/* ---- round trip ---- */

static void assert_same_fields(const sm_cert *a, const sm_cert *b)
{
	assert_int_equal(a->level, b->level);
	assert_string_equal(a->vendor, b->vendor);
	assert_string_equal(a->vendor_name, b->vendor_name);
	assert_string_equal(a->product, b->product);
	assert_int_equal(a->nmodels, b->nmodels);
	for (size_t i = 0; i < a->nmodels; i++)
		assert_string_equal(a->models[i], b->models[i]);
	if (a->category || b->category)
		assert_string_equal(a->category, b->category);
	assert_string_equal(a->firmware, b->firmware);
	assert_int_equal(a->registered, b->registered);
	assert_int_equal(a->expires, b->expires);
	assert_int_equal(a->support_end, b->support_end);
	if (a->requirements || b->requirements)
		assert_string_equal(a->requirements, b->requirements);
	if (a->url || b->url)
		assert_string_equal(a->url, b->url);
}

static void round_trip(const sm_cert *c)
{
	json_t *j = sm_cert_to_json(c, D("2025-06-01"));
	assert_non_null(j);
	/* what the show shape has beyond the issue body */
	json_object_del(j, "id");
	json_object_del(j, "status");
	json_object_del(j, "history");
	json_object_del(j, "scheme");
	json_object_del(json_object_get(j, "firmware"), "revoked");
	char *text = json_dumps(j, JSON_COMPACT);
	assert_non_null(text);
	json_t *body = parse(text);
	sm_cert *back = NULL;
	sm_err err;
	int rc = sm_cert_from_json(body, false, &back, &err);
	if (rc)
		fail_msg("round trip refused: %s (%s)", err.msg, text);
	rc = sm_cert_validate(back, 3, &err);
	if (rc)
		fail_msg("round trip does not validate: %s (%s)", err.msg, text);
	assert_same_fields(c, back);
	sm_cert_free(back);
	json_decref(body);
	free(text);
	json_decref(j);
}

static void test_json_round_trip(void **state)
{
	(void)state;
	sm_cert *c = make_cert();
	round_trip(c);
	free(c->category);
	free(c->requirements);
	free(c->url);
	c->category = c->requirements = c->url = NULL;
	c->expires = c->support_end = SM_DATE_NONE;
	round_trip(c);
	/* a support end that came from "YYYY-MM" comes back as the full date */
	c->support_end = D("2024-02");
	round_trip(c);
	sm_cert_free(c);

	/* from the body: from_json -> validate -> to_json gives the canonical text back */
	json_t *j = parse(ISSUE_BODY);
	sm_cert *d = NULL;
	sm_err err;
	assert_int_equal(sm_cert_from_json(j, false, &d, &err), 0);
	assert_int_equal(sm_cert_validate(d, 3, &err), 0);
	json_t *out = sm_cert_to_json(d, D("2025-06-01"));
	assert_string_equal(sget(json_object_get(out, "firmware"), "covered"), ">=1.0 <2.0, 2.5");
	assert_string_equal(sget(out, "support_end"), "2029-12-31");
	json_decref(out);
	sm_cert_free(d);
	json_decref(j);
}

/* Byte-exact: `log proof --json` and the server's proof routes print this array, and must agree. */
static void test_json_proof_to_json_exact(void **state)
{
	/* 00..1f, ff x 32, SHA-256("starmark"): its base64 has '+' and '/', which base64url would change */
	static const char *const sha_hex = "1d370287bfd9e99caaf6c657996496cdbc0cd33bbda6c1dcc9d02f4feca90c77";
	uint8_t proof[3][SM_HASH_LEN];
	for (int i = 0; i < SM_HASH_LEN; i++) {
		unsigned v = 0;
		proof[0][i] = (uint8_t)i;
		proof[1][i] = 0xff;
		assert_int_equal(sscanf(sha_hex + 2 * i, "%2x", &v), 1);
		proof[2][i] = (uint8_t)v;
	}
	json_t *a = sm_proof_to_json((const uint8_t(*)[SM_HASH_LEN])proof, 3);
	assert_non_null(a);
	char *compact = json_dumps(a, JSON_COMPACT | JSON_PRESERVE_ORDER);
	char *indented = json_dumps(a, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
	assert_string_equal(compact, "[\"AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=\","
				     "\"//////////////////////////////////////////8=\","
				     "\"HTcCh7/Z6Zyq9sZXmWSWzbwM0zu9psHcydAvT+ypDHc=\"]");
	assert_string_equal(indented, "[\n  \"AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=\",\n"
				      "  \"//////////////////////////////////////////8=\",\n"
				      "  \"HTcCh7/Z6Zyq9sZXmWSWzbwM0zu9psHcydAvT+ypDHc=\"\n]");
	free(compact);
	free(indented);
	json_decref(a);

	/* an empty proof (a log of one entry) is an empty array, not null */
	a = sm_proof_to_json((const uint8_t(*)[SM_HASH_LEN])proof, 0);
	assert_non_null(a);
	compact = json_dumps(a, JSON_COMPACT);
	assert_string_equal(compact, "[]");
	free(compact);
	json_decref(a);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_json_time_format),
	    cmocka_unit_test(test_json_cert_to_json_shape),
	    cmocka_unit_test(test_json_check_to_json_shape),
	    cmocka_unit_test(test_json_policy_to_json_round_trip),
	    cmocka_unit_test(test_json_cert_from_json_issue_body),
	    cmocka_unit_test(test_json_cert_from_json_rejects),
	    cmocka_unit_test(test_json_cert_from_json_export_keys),
	    cmocka_unit_test(test_json_parse_body_caps),
	    cmocka_unit_test(test_json_event_from_json_every_field),
	    cmocka_unit_test(test_json_event_from_json_rejects),
	    cmocka_unit_test(test_json_round_trip),
	    cmocka_unit_test(test_json_proof_to_json_exact),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
