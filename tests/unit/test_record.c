/* SPDX-License-Identifier: Apache-2.0 */
/* Unit tests for records: dates, field validators, validation, the state machine, CBOR encodings. */
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <cmocka.h>

#include "cbor_int.h"
#include "starmark/buf.h"
#include "starmark/record.h"

#define CERT_ID "SM-2024-000001"

/* ---- helpers ---- */

/*
 * Expect `rc` to be `code`, err->field to be `field` (unless NULL) and the message to hold every
 * string of the NULL-terminated list.
 */
static void expect_err_(int rc, const sm_err *err, int code, const char *field, ...)
{
	if (rc != code)
		fail_msg("expected rc %d (%s), got %d (%s): %s", code, sm_strerror(code), rc, sm_strerror(rc),
		         rc ? err->msg : "(success)");
	if (field)
		assert_string_equal(err->field, field);
	va_list ap;
	va_start(ap, field);
	for (const char *want = va_arg(ap, const char *); want; want = va_arg(ap, const char *))
		if (!strstr(err->msg, want))
			fail_msg("expected the message to contain \"%s\", got \"%s\"", want, err->msg);
	va_end(ap);
}
#define EXPECT_ERR(rc, err, code, field, ...)                                                                \
	expect_err_((rc), &(err), (code), (field), __VA_ARGS__, (const char *)NULL)

static sm_date D(const char *s)
{
	sm_date d = SM_DATE_NONE;
	sm_err err;
	int rc = sm_date_parse(s, true, "test", &d, &err);
	if (rc)
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

static char **strv(size_t n, ...)
{
	char **v = calloc(n, sizeof(*v));
	assert_non_null(v);
	va_list ap;
	va_start(ap, n);
	for (size_t i = 0; i < n; i++)
		v[i] = xstrdup(va_arg(ap, const char *));
	va_end(ap);
	return v;
}

/* A complete, valid certificate draft. */
static sm_cert *make_draft(void)
{
	sm_cert *c = sm_cert_new();
	assert_non_null(c);
	snprintf(c->scheme, sizeof(c->scheme), "CCDS");
	snprintf(c->vendor, sizeof(c->vendor), "ACME");
	c->vendor_name = xstrdup("Acme Corporation");
	c->product = xstrdup("スマートロック SL");
	c->models = strv(2, "SL-100", "SL-200");
	c->nmodels = 2;
	c->level = 2;
	c->category = xstrdup("lock");
	c->firmware = xstrdup(">=1.0 <2.0");
	c->registered = D("2024-01-15");
	c->expires = D("2027-01-15");
	c->support_end = D("2029-12");
	c->requirements = xstrdup("2024.1");
	c->url = xstrdup("https://acme.example/sl");
	return c;
}

static sm_event *make_event(int type, int64_t at)
{
	sm_event *e = sm_event_new(type);
	assert_non_null(e);
	snprintf(e->id, sizeof(e->id), "%s", CERT_ID);
	e->at = at;
	switch (type) {
	case SM_EV_ISSUE:
		e->cert = make_draft();
		break;
	case SM_EV_AMEND:
		e->models = strv(1, "SL-300");
		e->nmodels = 1;
		break;
	case SM_EV_FW_REVOKE:
		e->versions = strv(1, "1.5");
		e->nversions = 1;
		e->reason = xstrdup("CVE-2025-0001: remote unlock");
		break;
	case SM_EV_SUSPEND:
		e->reason = xstrdup("under investigation");
		break;
	case SM_EV_REVOKE:
		e->reason = xstrdup("vendor left the scheme");
		break;
	case SM_EV_REINSTATE:
		e->reason = xstrdup("investigation closed");
		break;
	case SM_EV_RENEW:
		e->expires = D("2030-01-15");
		break;
	default:
		break;
	}
	return e;
}

static void apply_ok(sm_cert *s, sm_event *e, uint64_t index)
{
	sm_err err;
	sm_err_clear(&err);
	int rc = sm_cert_apply(s, e, index, &err);
	if (rc)
		fail_msg("applying %s failed: %d %s", sm_event_name(e->type), rc, err.msg);
	sm_event_free(e);
}

/* A state issued from make_draft() at log index 0, its expiry replaced when `expires` is given. */
static sm_cert *issued_with(const char *expires)
{
	sm_event *e = make_event(SM_EV_ISSUE, T("2024-01-15"));
	if (expires)
		e->cert->expires = D(expires);
	sm_cert *s = sm_cert_new();
	assert_non_null(s);
	apply_ok(s, e, 0);
	return s;
}

static sm_cert *issued(void)
{
	return issued_with(NULL);
}

static sm_buf enc_cert(const sm_cert *c)
{
	sm_buf b = SM_BUF_INIT;
	assert_int_equal(sm_cert_encode(c, &b), 0);
	return b;
}

static sm_buf enc_event(const sm_event *e)
{
	sm_buf b = SM_BUF_INIT;
	assert_int_equal(sm_event_encode(e, &b), 0);
	return b;
}

static void assert_str_or_null(const char *want, const char *got)
{
	if (!want)
		assert_null(got);
	else
		assert_string_equal(want, got);
}

static void assert_strv_equal(char *const *a, size_t na, char *const *b, size_t nb)
{
	assert_int_equal(na, nb);
	for (size_t i = 0; i < na; i++)
		assert_string_equal(a[i], b[i]);
}

static void assert_cert_equal(const sm_cert *a, const sm_cert *b)
{
	assert_string_equal(a->id, b->id);
	assert_string_equal(a->scheme, b->scheme);
	assert_int_equal(a->level, b->level);
	assert_string_equal(a->vendor, b->vendor);
	assert_str_or_null(a->vendor_name, b->vendor_name);
	assert_str_or_null(a->product, b->product);
	assert_strv_equal(a->models, a->nmodels, b->models, b->nmodels);
	assert_str_or_null(a->category, b->category);
	assert_str_or_null(a->firmware, b->firmware);
	assert_strv_equal(a->revoked, a->nrevoked, b->revoked, b->nrevoked);
	assert_int_equal(a->registered, b->registered);
	assert_int_equal(a->expires, b->expires);
	assert_int_equal(a->support_end, b->support_end);
	assert_str_or_null(a->requirements, b->requirements);
	assert_str_or_null(a->url, b->url);
	assert_int_equal(a->status, b->status);
	assert_int_equal(a->nhistory, b->nhistory);
	for (size_t i = 0; i < a->nhistory; i++) {
		assert_int_equal(a->history[i].type, b->history[i].type);
		assert_int_equal(a->history[i].at, b->history[i].at);
		assert_int_equal(a->history[i].index, b->history[i].index);
		assert_str_or_null(a->history[i].reason, b->history[i].reason);
	}
}

/* ---- dates ---- */

static void test_record_check_id(void **state)
{
	const char *const good[] = { "SM-2024-000123", "SM-2021-999999999", "SM-1999-000001" };
	const char *const bad[] = { "", "SM-2024-12345", "SM-2024-1234567890", "sm-2024-000123", "SM-20X4-000123",
				    "SM-2024_000123", "SM-2024-00012a", "SM-2024-000123 ", "XX-2024-000123", "SM--2024-00012" };
	sm_err err = { 0 };
	for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++)
		if (sm_check_id(good[i], &err) != 0)
			fail_msg("'%s' is an id, refused: %s", good[i], err.msg);
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		memset(&err, 0, sizeof(err));
		if (sm_check_id(bad[i], &err) != SM_EINVAL || strcmp(err.field, "id") != 0)
			fail_msg("'%s' is not an id, expected SM_EINVAL naming id, got field '%s'", bad[i], err.field);
	}
	assert_int_equal(sm_check_id(NULL, NULL), SM_EINVAL);
}

static void test_record_date_parse_real_dates(void **state)
{
	(void)state;
	static const struct {
		const char *s;
		sm_date want;
	} v[] = {
	    {"1970-01-01", 0},     {"1970-01-02", 1},     {"1970-12-31", 364},
	    {"2000-02-29", 11016}, {"2000-03-01", 11017}, {"2024-02-29", 19782},
	    {"2024-03-01", 19783}, {"2038-01-19", 24855}, {"9999-12-31", 2932896},
	};
	for (size_t i = 0; i < sizeof(v) / sizeof(v[0]); i++) {
		sm_date d = SM_DATE_NONE;
		sm_err err;
		int rc = sm_date_parse(v[i].s, false, "registered", &d, &err);
		if (rc)
			fail_msg("%s refused: %s", v[i].s, err.msg);
		assert_int_equal(d, v[i].want);
	}
}

static void test_record_date_parse_leap_years(void **state)
{
	(void)state;
	sm_date d;
	sm_err err;
	assert_int_equal(sm_date_parse("2024-02-29", false, "expires", &d, &err), 0);
	assert_int_equal(sm_date_parse("2000-02-29", false, "expires", &d, &err), 0);
	assert_int_equal(sm_date_parse("2400-02-29", false, "expires", &d, &err), 0);
	const char *bad[] = {"2023-02-29", "2100-02-29", "1900-02-29", "2200-02-29", "2024-02-30"};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		EXPECT_ERR(sm_date_parse(bad[i], false, "expires", &d, &err), err, SM_EINVAL, "expires",
		           "expires", bad[i], "not a real date");
}

static void test_record_date_parse_month_only(void **state)
{
	(void)state;
	static const struct {
		const char *month, *last;
	} v[] = {
	    {"2024-02", "2024-02-29"}, {"2023-02", "2023-02-28"}, {"2100-02", "2100-02-28"},
	    {"2000-02", "2000-02-29"}, {"2024-04", "2024-04-30"}, {"2024-12", "2024-12-31"},
	    {"1970-01", "1970-01-31"}, {"9999-12", "9999-12-31"},
	};
	for (size_t i = 0; i < sizeof(v) / sizeof(v[0]); i++) {
		sm_date d = SM_DATE_NONE, want = SM_DATE_NONE;
		sm_err err;
		assert_int_equal(sm_date_parse(v[i].last, false, "support_end", &want, &err), 0);
		int rc = sm_date_parse(v[i].month, true, "support_end", &d, &err);
		if (rc)
			fail_msg("%s refused: %s", v[i].month, err.msg);
		assert_int_equal(d, want);
	}
	/* without allow_month, a month alone is not a date, and the message does not offer it */
	sm_date d;
	sm_err err;
	EXPECT_ERR(sm_date_parse("2024-02", false, "expires", &d, &err), err, SM_EINVAL, "expires", "expires",
	           "'2024-02'", "YYYY-MM-DD");
	assert_null(strstr(err.msg, "YYYY-MM)"));
	EXPECT_ERR(sm_date_parse("2024-13", true, "support_end", &d, &err), err, SM_EINVAL, "support_end",
	           "support_end", "2024-13");
	EXPECT_ERR(sm_date_parse("2024-00", true, "support_end", &d, &err), err, SM_EINVAL, "support_end",
	           "2024-00");
	EXPECT_ERR(sm_date_parse("1969-12", true, "support_end", &d, &err), err, SM_EINVAL, "support_end",
	           "1969-12");
}

static void test_record_date_parse_rejects_bad_formats(void **state)
{
	(void)state;
	const char *bad[] = {
	    "",
	    "2024",
	    "2024-1-01",
	    "2024-01-1",
	    "2024/01/01",
	    "24-01-01",
	    "2024-01-01 ",
	    " 2024-01-01",
	    "2024-01-0x",
	    "2024-13-01",
	    "2024-00-10",
	    "2024-01-00",
	    "2024-01-32",
	    "1969-12-31",
	    "0000-01-01",
	    "abcd-ef-gh",
	    "2024-01-01T00:00:00Z",
	    "+024-01-01",
	    "-024-01-01",
	    "2024-04-31",
	    "2024-06-31",
	    "2024_01_01",
	    "20240101",
	    "2024-01--1",
	    "2024--01-01",
	    "2024-01-",
	    "2024-1",
	    "2024-001",
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		sm_date d = 1234;
		sm_err err;
		sm_err_clear(&err);
		int rc = sm_date_parse(bad[i], true, "registered", &d, &err);
		if (rc != SM_EINVAL)
			fail_msg("'%s': expected SM_EINVAL, got %d (day %d)", bad[i], rc, (int)d);
		assert_string_equal(err.field, "registered");
		assert_non_null(strstr(err.msg, "registered"));
		assert_int_equal(d, 1234); /* untouched */
	}
	/* the value is quoted in the message, control bytes made safe */
	sm_date d;
	sm_err err;
	EXPECT_ERR(sm_date_parse("2024-01-3\n", false, "expires", &d, &err), err, SM_EINVAL, "expires",
	           "2024-01-3?");
}

static void test_record_date_format_round_trip(void **state)
{
	(void)state;
	char buf[11];
	/* every day from 1970-01-01 to 9999-12-31, against the C library's calendar */
	for (sm_date d = 0; d <= 2932896; d++) {
		sm_date_format(d, buf);
		time_t t = (time_t)d * 86400;
		struct tm tm;
		assert_non_null(gmtime_r(&t, &tm));
		char want[48];
		snprintf(want, sizeof(want), "%04d-%02d-%02d", tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday);
		if (strcmp(buf, want) != 0)
			fail_msg("day %d: expected %s, got %s", (int)d, want, buf);
		sm_date back = SM_DATE_NONE;
		if (sm_date_parse(buf, false, "d", &back, NULL) != 0 || back != d)
			fail_msg("day %d: %s parsed back as %d", (int)d, buf, (int)back);
	}
}

static void test_record_date_from_time(void **state)
{
	(void)state;
	assert_int_equal(sm_date_from_time(0), 0);
	assert_int_equal(sm_date_from_time(86399), 0);
	assert_int_equal(sm_date_from_time(86400), 1);
	assert_int_equal(sm_date_from_time(-1), -1);
	assert_int_equal(sm_date_from_time(-86399), -1);
	assert_int_equal(sm_date_from_time(-86400), -1);
	assert_int_equal(sm_date_from_time(-86401), -2);
	assert_int_equal(sm_date_from_time(1709164800), D("2024-02-29")); /* 2024-02-29T00:00:00Z */
	assert_int_equal(sm_date_from_time(1709251199), D("2024-02-29")); /* 23:59:59 */
	assert_int_equal(sm_date_from_time(253402300799), D("9999-12-31"));
	/* extreme times give some value and never overflow (UBSan watches) */
	assert_int_equal(sm_date_from_time(INT64_MIN), INT32_MIN + 1); /* never SM_DATE_NONE */
	assert_int_equal(sm_date_from_time(INT64_MIN + 1), INT32_MIN + 1);
	assert_int_equal(sm_date_from_time(INT64_MAX), INT32_MAX);
	char buf[11];
	sm_date_format(INT32_MAX, buf);
	assert_int_equal(strlen(buf), 10);
	sm_date_format(INT32_MIN + 1, buf);
	assert_int_equal(strlen(buf), 10);
	sm_date_format(-1, buf);
	assert_string_equal(buf, "1969-12-31");
}

/* ---- names ---- */

static void test_record_names(void **state)
{
	(void)state;
	const char *names[] = {NULL,      "issue",  "amend",     "firmware-revoke",
	                       "suspend", "revoke", "reinstate", "renew"};
	for (int t = SM_EV_ISSUE; t <= SM_EV_RENEW; t++) {
		assert_string_equal(sm_event_name(t), names[t]);
		assert_int_equal(sm_event_from_name(names[t]), t);
	}
	assert_null(sm_event_name(0));
	assert_null(sm_event_name(8));
	assert_null(sm_event_name(-1));
	assert_int_equal(sm_event_from_name("Issue"), 0);
	assert_int_equal(sm_event_from_name(""), 0);
	assert_int_equal(sm_status_from_name("active"), SM_STATUS_ACTIVE);
	assert_int_equal(sm_status_from_name("suspended"), SM_STATUS_SUSPENDED);
	assert_int_equal(sm_status_from_name("revoked"), SM_STATUS_REVOKED);
	assert_int_equal(sm_status_from_name("expired"), 3);
	assert_int_equal(sm_status_from_name("ACTIVE"), -1);

	sm_cert *c = make_draft();
	c->expires = D("2025-01-01");
	assert_false(sm_cert_expired(c, D("2025-01-01")));
	assert_true(sm_cert_expired(c, D("2025-01-02")));
	assert_string_equal(sm_cert_status_name(c, D("2025-01-01")), "active");
	assert_string_equal(sm_cert_status_name(c, D("2025-01-02")), "expired");
	c->status = SM_STATUS_SUSPENDED;
	assert_string_equal(sm_cert_status_name(c, D("2025-01-02")), "suspended");
	c->status = SM_STATUS_REVOKED;
	assert_string_equal(sm_cert_status_name(c, D("2025-01-02")), "revoked");
	c->status = SM_STATUS_ACTIVE;
	c->expires = SM_DATE_NONE;
	assert_false(sm_cert_expired(c, D("9999-12-31")));
	sm_cert_free(c);
}

static void test_record_cert_dup_is_deep(void **state)
{
	(void)state;
	sm_cert *s = issued();
	sm_event *e = make_event(SM_EV_FW_REVOKE, T("2025-06-01"));
	apply_ok(s, e, 3);
	sm_cert *d = sm_cert_dup(s);
	assert_non_null(d);
	assert_cert_equal(s, d);
	assert_ptr_not_equal(d->models, s->models);
	assert_ptr_not_equal(d->models[0], s->models[0]);
	assert_ptr_not_equal(d->history, s->history);
	assert_ptr_not_equal(d->revoked[0], s->revoked[0]);
	sm_cert_free(s);
	sm_buf b = enc_cert(d);
	assert_true(b.len > 0);
	sm_buf_cleanup(&b);
	sm_cert_free(d);
	sm_cert_free(NULL);
	sm_event_free(NULL);
}

/* ---- validators ---- */

static void test_record_check_vendor(void **state)
{
	(void)state;
	const char *good[] = {"ACME", "A", "0", "A-1", "9-", "ABCDEFGHIJKLMNOP", "A--B", "PANASONIC-JP"};
	for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
		sm_err err;
		int rc = sm_check_vendor(good[i], &err);
		if (rc)
			fail_msg("'%s' refused: %s", good[i], err.msg);
	}
	const char *bad[] = {"-ACME", "acme", "Acme",  "ACME_", "ABCDEFGHIJKLMNOPQ",
	                     "AC ME", "ÄCME", "ACME.", "A\tB"};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		sm_err err;
		sm_err_clear(&err);
		int rc = sm_check_vendor(bad[i], &err);
		if (rc != SM_EINVAL)
			fail_msg("'%s': expected SM_EINVAL, got %d", bad[i], rc);
		assert_string_equal(err.field, "vendor");
		assert_non_null(strstr(err.msg, "vendor code"));
	}
	sm_err err;
	EXPECT_ERR(sm_check_vendor("acme", &err), err, SM_EINVAL, "vendor", "'acme'");
	EXPECT_ERR(sm_check_vendor("", &err), err, SM_EINVAL, "vendor", "required");
	EXPECT_ERR(sm_check_vendor(NULL, &err), err, SM_EINVAL, "vendor", "required");
}

static void test_record_check_model(void **state)
{
	(void)state;
	char m64[65], m65[66];
	memset(m64, 'M', 64);
	m64[64] = '\0';
	memset(m65, 'M', 65);
	m65[65] = '\0';
	/* 21 three-byte characters = 63 bytes; 22 = 66 */
	char jp21[64] = "", jp22[67] = "";
	for (int i = 0; i < 21; i++)
		strcat(jp21, "型");
	for (int i = 0; i < 22; i++)
		strcat(jp22, "型");
	const char *good[] = {"SL-100", "a b", "X",  "型番-ＡＢＣ１２３",
	                      "Ü/2:3",  m64,   jp21, "\xf0\x9f\x94\x92"};
	for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
		sm_err err;
		int rc = sm_check_model(good[i], "model", &err);
		if (rc)
			fail_msg("'%s' refused: %s", good[i], err.msg);
	}
	static const struct {
		const char *m, *needle;
	} bad[] = {
	    {"", "required"},          {"A;B", "';'"},
	    {"A\tB", "control"},       {"A\nB", "control"},
	    {" A", "spaces"},          {"A ", "spaces"},
	    {"\xff", "UTF-8"},         {"\xc0\xaf", "UTF-8"},
	    {"\xed\xa0\x80", "UTF-8"}, {"A\xc2\x85", "control"},
	    {"A\x7f", "control"},      {"A\xe2\x80\xa8", "control"},
	    {"\xe3\x81", "UTF-8"},     {"\xf4\x90\x80\x80", "UTF-8"},
	    {"\xe0\x80\xaf", "UTF-8"}, {"\xf0\x80\x80\xaf", "UTF-8"},
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		sm_err err;
		sm_err_clear(&err);
		int rc = sm_check_model(bad[i].m, "models[3]", &err);
		if (rc != SM_EINVAL)
			fail_msg("bad model #%zu: expected SM_EINVAL, got %d", i, rc);
		assert_string_equal(err.field, "models[3]");
		if (!strstr(err.msg, bad[i].needle) || !strstr(err.msg, "models[3]"))
			fail_msg("bad model #%zu: expected \"models[3]\" and \"%s\" in \"%s\"", i,
			         bad[i].needle, err.msg);
	}
	sm_err err;
	EXPECT_ERR(sm_check_model(m65, "model", &err), err, SM_EINVAL, "model", "65 bytes", "64");
	EXPECT_ERR(sm_check_model(jp22, "model", &err), err, SM_EINVAL, "model", "66 bytes");
	EXPECT_ERR(sm_check_model(NULL, "model", &err), err, SM_EINVAL, "model", "required");
}

static void test_record_check_text(void **state)
{
	(void)state;
	char t200[201], t201[202];
	memset(t200, 'p', 200);
	t200[200] = '\0';
	memset(t201, 'p', 201);
	t201[201] = '\0';
	sm_err err;
	assert_int_equal(sm_check_text(t200, SM_NAME_MAX, "product", &err), 0);
	assert_int_equal(sm_check_text("ネットワークカメラ NC-1 (屋外用)", SM_NAME_MAX, "product", &err), 0);
	assert_int_equal(sm_check_text("Müller & Söhne GmbH", SM_NAME_MAX, "vendor_name", &err), 0);
	assert_int_equal(sm_check_text("a;b", SM_NAME_MAX, "product", &err),
	                 0); /* ';' only matters in models */
	EXPECT_ERR(sm_check_text(t201, SM_NAME_MAX, "product", &err), err, SM_EINVAL, "product", "product",
	           "201 bytes", "200");
	EXPECT_ERR(sm_check_text("a\x01z", SM_NAME_MAX, "product", &err), err, SM_EINVAL, "product",
	           "control");
	EXPECT_ERR(sm_check_text("a\tz", SM_NAME_MAX, "vendor_name", &err), err, SM_EINVAL, "vendor_name",
	           "control");
	EXPECT_ERR(sm_check_text("caf\xe9", SM_NAME_MAX, "product", &err), err, SM_EINVAL, "product",
	           "UTF-8");
	EXPECT_ERR(sm_check_text("", SM_NAME_MAX, "product", &err), err, SM_EINVAL, "product", "required");
	EXPECT_ERR(sm_check_text(NULL, SM_NAME_MAX, "vendor_name", &err), err, SM_EINVAL, "vendor_name",
	           "required");
	EXPECT_ERR(sm_check_text(" x", SM_NAME_MAX, "product", &err), err, SM_EINVAL, "product", "spaces");
	/* length is in bytes: 67 three-byte characters are 201 bytes */
	char jp[256] = "";
	for (int i = 0; i < 67; i++)
		strcat(jp, "製");
	EXPECT_ERR(sm_check_text(jp, SM_NAME_MAX, "product", &err), err, SM_EINVAL, "product", "201 bytes");
	jp[200] = '\0'; /* 66 characters and two bytes of the 67th: not UTF-8 */
	EXPECT_ERR(sm_check_text(jp, SM_NAME_MAX, "product", &err), err, SM_EINVAL, "product", "UTF-8");

	assert_true(sm_utf8_printable("", 0));
	assert_true(sm_utf8_printable("\xc2\xa0", 2));      /* U+00A0 is the first after C1 */
	assert_false(sm_utf8_printable("\xc2\x9f", 2));     /* U+009F (C1) */
	assert_false(sm_utf8_printable("\xe2\x80\xa9", 3)); /* U+2029 */
	assert_true(sm_utf8_printable("\xf4\x8f\xbf\xbd", 4));
	assert_false(sm_utf8_printable("a\0b", 3));
	assert_true(sm_utf8_printable("ab\xff", 2)); /* only n bytes are read */
}

static void test_record_check_category_requirements_url(void **state)
{
	(void)state;
	char c32[33], c33[34];
	memset(c32, 'c', 32);
	c32[32] = '\0';
	memset(c33, 'c', 33);
	c33[33] = '\0';
	const char *good_cat[] = {"lock", "water-heater", "a1", "1a", "x", c32, "shutter-2"};
	for (size_t i = 0; i < sizeof(good_cat) / sizeof(good_cat[0]); i++)
		if (sm_check_category(good_cat[i], NULL) != 0)
			fail_msg("category '%s' refused", good_cat[i]);
	const char *bad_cat[] = {"", "Lock", "-lock", "water_heater", "lock.", c33, "ロック", "lock ", "a b"};
	for (size_t i = 0; i < sizeof(bad_cat) / sizeof(bad_cat[0]); i++) {
		sm_err err;
		sm_err_clear(&err);
		int rc = sm_check_category(bad_cat[i], &err);
		if (rc != SM_EINVAL)
			fail_msg("category '%s': expected SM_EINVAL, got %d", bad_cat[i], rc);
		assert_string_equal(err.field, "category");
		assert_non_null(strstr(err.msg, "category"));
	}
	sm_err err;
	EXPECT_ERR(sm_check_category("Lock", &err), err, SM_EINVAL, "category", "'Lock'");

	const char *good_req[] = {"2024.1", "CCDS-2024_r1", "A", "v1.0.0", c32};
	for (size_t i = 0; i < sizeof(good_req) / sizeof(good_req[0]); i++)
		if (sm_check_requirements(good_req[i], NULL) != 0)
			fail_msg("requirements '%s' refused", good_req[i]);
	const char *bad_req[] = {"", ".2024", "2024 1", c33, "-1", "2024/1", "要件"};
	for (size_t i = 0; i < sizeof(bad_req) / sizeof(bad_req[0]); i++) {
		sm_err_clear(&err);
		int rc = sm_check_requirements(bad_req[i], &err);
		if (rc != SM_EINVAL)
			fail_msg("requirements '%s': expected SM_EINVAL, got %d", bad_req[i], rc);
		assert_string_equal(err.field, "requirements");
		assert_non_null(strstr(err.msg, "requirements"));
	}

	char u512[513], u513[514];
	memcpy(u512, "https://", 8);
	memset(u512 + 8, 'a', 504);
	u512[512] = '\0';
	memcpy(u513, u512, 512);
	u513[512] = 'a';
	u513[513] = '\0';
	const char *good_url[] = {"https://example.com/x", "http://a", "https://a.example/p?q=1&r=%20#f",
	                          u512};
	for (size_t i = 0; i < sizeof(good_url) / sizeof(good_url[0]); i++)
		if (sm_check_url(good_url[i], NULL) != 0)
			fail_msg("url '%.40s' refused", good_url[i]);
	EXPECT_ERR(sm_check_url("ftp://example.com", &err), err, SM_EINVAL, "url", "ftp://example.com",
	           "https://");
	EXPECT_ERR(sm_check_url("example.com", &err), err, SM_EINVAL, "url", "https://");
	EXPECT_ERR(sm_check_url("HTTPS://EXAMPLE.COM", &err), err, SM_EINVAL, "url", "https://");
	EXPECT_ERR(sm_check_url("https://a b", &err), err, SM_EINVAL, "url", "at 9");
	EXPECT_ERR(sm_check_url("https://ü.example", &err), err, SM_EINVAL, "url", "non-ASCII");
	EXPECT_ERR(sm_check_url("https://a\x7f", &err), err, SM_EINVAL, "url", "at 9");
	EXPECT_ERR(sm_check_url(u513, &err), err, SM_EINVAL, "url", "513 bytes", "512");
	EXPECT_ERR(sm_check_url("", &err), err, SM_EINVAL, "url", "https://");
}

/* ---- sm_cert_validate ---- */

static void validate_fails(sm_cert *c, int levels, const char *field, const char *needle)
{
	sm_err err;
	sm_err_clear(&err);
	int rc = sm_cert_validate(c, levels, &err);
	if (rc != SM_EINVAL && rc != SM_ETOOBIG)
		fail_msg("expected %s to be refused, got %d (%s)", field, rc, err.msg);
	assert_string_equal(err.field, field);
	if (!strstr(err.msg, needle))
		fail_msg("expected \"%s\" in \"%s\"", needle, err.msg);
	sm_cert_free(c);
}

static void test_record_validate_good_and_canonical(void **state)
{
	(void)state;
	sm_cert *c = make_draft();
	sm_err err;
	free(c->firmware);
	c->firmware = xstrdup("  <2.0   >=1.0 ,1.5.1,  >=3");
	int rc = sm_cert_validate(c, 3, &err);
	if (rc)
		fail_msg("valid draft refused: %s", err.msg);
	assert_string_equal(c->firmware, ">=1.0 <2.0, 1.5.1, >=3");
	/* optional fields may be absent; support end may equal the registration date */
	free(c->category);
	free(c->requirements);
	free(c->url);
	c->category = c->requirements = c->url = NULL;
	c->expires = SM_DATE_NONE;
	c->support_end = c->registered;
	assert_int_equal(sm_cert_validate(c, 3, &err), 0);
	c->level = 3;
	assert_int_equal(sm_cert_validate(c, 3, &err), 0);
	sm_cert_free(c);
}

static void test_record_validate_rejects(void **state)
{
	(void)state;
	sm_cert *c;

	c = make_draft();
	c->vendor[0] = '\0';
	validate_fails(c, 3, "vendor", "required");
	c = make_draft();
	snprintf(c->vendor, sizeof(c->vendor), "acme");
	validate_fails(c, 3, "vendor", "acme");
	c = make_draft();
	free(c->vendor_name);
	c->vendor_name = NULL;
	validate_fails(c, 3, "vendor_name", "vendor_name");
	c = make_draft();
	free(c->product);
	c->product = xstrdup("");
	validate_fails(c, 3, "product", "product");
	c = make_draft();
	free(c->models[0]);
	free(c->models[1]);
	c->nmodels = 0;
	validate_fails(c, 3, "models", "at least one");
	c = make_draft();
	free(c->models[1]);
	c->models[1] = xstrdup("SL-100");
	validate_fails(c, 3, "models[1]", "SL-100");
	c = make_draft();
	free(c->models[0]);
	c->models[0] = xstrdup("SL;100");
	validate_fails(c, 3, "models[0]", "';'");
	c = make_draft();
	c->level = 0;
	validate_fails(c, 3, "level", "level 0");
	c = make_draft();
	c->level = 4;
	validate_fails(c, 3, "level", "1..3");
	c = make_draft();
	c->level = -1;
	validate_fails(c, 3, "level", "level -1");
	c = make_draft();
	free(c->category);
	c->category = xstrdup("Lock");
	validate_fails(c, 3, "category", "Lock");
	c = make_draft();
	free(c->firmware);
	c->firmware = NULL;
	validate_fails(c, 3, "firmware", "required");
	c = make_draft();
	free(c->firmware);
	c->firmware = xstrdup(">=2.0 <1.0");
	validate_fails(c, 3, "firmware", "");
	c = make_draft();
	c->registered = SM_DATE_NONE;
	validate_fails(c, 3, "registered", "required");
	c = make_draft();
	c->expires = c->registered;
	validate_fails(c, 3, "expires", "2024-01-15");
	c = make_draft();
	c->expires = D("2023-12-31");
	validate_fails(c, 3, "expires", "2023-12-31");
	c = make_draft();
	c->support_end = D("2024-01-14");
	validate_fails(c, 3, "support_end", "2024-01-14");
	c = make_draft();
	free(c->requirements);
	c->requirements = xstrdup("2024 1");
	validate_fails(c, 3, "requirements", "2024 1");
	c = make_draft();
	free(c->url);
	c->url = xstrdup("ftp://x");
	validate_fails(c, 3, "url", "ftp://x");

	/* 65 model numbers */
	c = make_draft();
	for (size_t i = 0; i < c->nmodels; i++)
		free(c->models[i]);
	free(c->models);
	c->models = calloc(65, sizeof(char *));
	assert_non_null(c->models);
	for (size_t i = 0; i < 65; i++) {
		char m[16];
		snprintf(m, sizeof(m), "M-%zu", i);
		c->models[i] = xstrdup(m);
	}
	c->nmodels = 65;
	validate_fails(c, 3, "models", "65");
}

static void test_record_event_validate(void **state)
{
	(void)state;
	sm_err err;
	for (int t = SM_EV_ISSUE; t <= SM_EV_RENEW; t++) {
		sm_event *e = make_event(t, T("2025-06-01"));
		int rc = sm_event_validate(e, &err);
		if (rc)
			fail_msg("%s refused: %s", sm_event_name(t), err.msg);
		sm_event_free(e);
	}
	sm_event *e = make_event(SM_EV_SUSPEND, 0);
	free(e->reason);
	e->reason = NULL;
	EXPECT_ERR(sm_event_validate(e, &err), err, SM_EINVAL, "reason", "suspend", "reason");
	e->reason = xstrdup("bad\x01reason");
	EXPECT_ERR(sm_event_validate(e, &err), err, SM_EINVAL, "reason", "control");
	sm_event_free(e);

	e = make_event(SM_EV_AMEND, 0);
	free(e->models[0]);
	free(e->models);
	e->models = NULL;
	e->nmodels = 0;
	EXPECT_ERR(sm_event_validate(e, &err), err, SM_EINVAL, "amend", "something to change");
	e->models = strv(2, "X-1", "X-1");
	e->nmodels = 2;
	EXPECT_ERR(sm_event_validate(e, &err), err, SM_EINVAL, "add_models[1]", "X-1");
	sm_event_free(e);

	e = make_event(SM_EV_FW_REVOKE, 0);
	free(e->versions[0]);
	e->versions[0] = xstrdup("1 .5");
	EXPECT_ERR(sm_event_validate(e, &err), err, SM_EINVAL, NULL, "");
	sm_event_free(e);

	e = make_event(SM_EV_RENEW, 0);
	e->expires = SM_DATE_NONE;
	EXPECT_ERR(sm_event_validate(e, &err), err, SM_EINVAL, "expires", "renew");
	sm_event_free(e);

	e = make_event(SM_EV_ISSUE, 0);
	sm_cert_free(e->cert);
	e->cert = NULL;
	EXPECT_ERR(sm_event_validate(e, &err), err, SM_EINVAL, "event", "record");
	e->type = 99;
	EXPECT_ERR(sm_event_validate(e, &err), err, SM_EINVAL, "event", "99");
	sm_event_free(e);
}

/* ---- the state machine ---- */

enum { ST_ACTIVE, ST_SUSPENDED, ST_REVOKED, ST_EXPIRED };
static const char *const st_names[] = {"active", "suspended", "revoked", "expired"};

static sm_cert *state_of(int kind)
{
	sm_cert *s = issued_with(kind == ST_EXPIRED ? "2024-06-01" : NULL);
	if (kind == ST_SUSPENDED)
		apply_ok(s, make_event(SM_EV_SUSPEND, T("2024-03-01")), 1);
	else if (kind == ST_REVOKED)
		apply_ok(s, make_event(SM_EV_REVOKE, T("2024-03-01")), 1);
	return s;
}

static void test_record_apply_every_event_from_every_status(void **state)
{
	(void)state;
	/* NULL: allowed; otherwise the words the refusal must hold */
	static const char *const why[4][8] = {
	    [ST_ACTIVE] = {[SM_EV_ISSUE] = "exists already", [SM_EV_REINSTATE] = "only a suspended"},
	    [ST_SUSPENDED] = {[SM_EV_ISSUE] = "exists already", [SM_EV_SUSPEND] = "suspended already"},
	    [ST_REVOKED] = {[SM_EV_ISSUE] = "exists already",
	                    [SM_EV_AMEND] = "revocation is final",
	                    [SM_EV_FW_REVOKE] = "revocation is final",
	                    [SM_EV_SUSPEND] = "revocation is final",
	                    [SM_EV_REVOKE] = "revocation is final",
	                    [SM_EV_REINSTATE] = "revocation is final",
	                    [SM_EV_RENEW] = "revocation is final"},
	    [ST_EXPIRED] = {[SM_EV_ISSUE] = "exists already", [SM_EV_REINSTATE] = "only a suspended"},
	};
	const int64_t at = T("2025-06-01");
	for (int kind = ST_ACTIVE; kind <= ST_EXPIRED; kind++) {
		for (int type = SM_EV_ISSUE; type <= SM_EV_RENEW; type++) {
			sm_cert *s = state_of(kind);
			sm_event *e = make_event(type, at);
			sm_buf before = enc_cert(s);
			int status0 = s->status;
			size_t nh0 = s->nhistory;
			sm_err err;
			sm_err_clear(&err);
			int rc = sm_cert_apply(s, e, 7, &err);
			const char *w = why[kind][type];
			if (w) {
				if (rc != SM_ESTATE)
					fail_msg("%s on %s: expected SM_ESTATE, got %d (%s)",
					         sm_event_name(type), st_names[kind], rc, err.msg);
				if (!strstr(err.msg, CERT_ID) || !strstr(err.msg, w) ||
				    !strstr(err.msg, sm_event_name(type)))
					fail_msg("%s on %s: expected \"%s\", \"%s\" in \"%s\"",
					         sm_event_name(type), st_names[kind], CERT_ID, w, err.msg);
				sm_buf after = enc_cert(s);
				assert_int_equal(after.len, before.len);
				assert_memory_equal(after.data, before.data, before.len);
				sm_buf_cleanup(&after);
			} else {
				if (rc != 0)
					fail_msg("%s on %s: expected success, got %d (%s)",
					         sm_event_name(type), st_names[kind], rc, err.msg);
				assert_int_equal(s->nhistory, nh0 + 1);
				const sm_history *h = &s->history[nh0];
				assert_int_equal(h->type, type);
				assert_int_equal(h->at, at);
				assert_int_equal(h->index, 7);
				assert_str_or_null(e->reason, h->reason);
				int want_status = type == SM_EV_SUSPEND     ? SM_STATUS_SUSPENDED
				                  : type == SM_EV_REVOKE    ? SM_STATUS_REVOKED
				                  : type == SM_EV_REINSTATE ? SM_STATUS_ACTIVE
				                                            : status0;
				assert_int_equal(s->status, want_status);
				if (type == SM_EV_AMEND) {
					assert_int_equal(s->nmodels, 3);
					assert_string_equal(s->models[2], "SL-300");
				} else if (type == SM_EV_FW_REVOKE) {
					assert_int_equal(s->nrevoked, 1);
					assert_string_equal(s->revoked[0], "1.5");
				} else if (type == SM_EV_RENEW) {
					assert_int_equal(s->expires, D("2030-01-15"));
				}
				assert_string_equal(s->id, CERT_ID);
			}
			sm_buf_cleanup(&before);
			sm_event_free(e);
			sm_cert_free(s);
		}
	}
}

static void test_record_apply_issue(void **state)
{
	(void)state;
	sm_event *e = make_event(SM_EV_ISSUE, T("2024-01-15"));
	/* whatever the draft carries, a new certificate is active, unrevoked, with one history line */
	e->cert->status = SM_STATUS_REVOKED;
	e->cert->revoked = strv(1, "1.1");
	e->cert->nrevoked = 1;
	snprintf(e->cert->id, sizeof(e->cert->id), "OTHER");
	sm_cert *s = sm_cert_new();
	sm_err err;
	assert_int_equal(sm_cert_apply(s, e, 42, &err), 0);
	assert_string_equal(s->id, CERT_ID);
	assert_int_equal(s->status, SM_STATUS_ACTIVE);
	assert_int_equal(s->nrevoked, 0);
	assert_int_equal(s->nhistory, 1);
	assert_int_equal(s->history[0].type, SM_EV_ISSUE);
	assert_int_equal(s->history[0].index, 42);
	assert_int_equal(s->history[0].at, T("2024-01-15"));
	assert_null(s->history[0].reason);
	assert_string_equal(s->product, "スマートロック SL");
	assert_int_equal(s->support_end, D("2029-12-31"));
	/* the event still owns its draft */
	assert_ptr_not_equal(s->product, e->cert->product);
	sm_event_free(e);
	sm_cert_free(s);

	/* an issue event without a record is refused, not dereferenced */
	e = make_event(SM_EV_ISSUE, 0);
	sm_cert_free(e->cert);
	e->cert = NULL;
	s = sm_cert_new();
	assert_int_equal(sm_cert_apply(s, e, 0, &err), SM_EINVAL);
	assert_string_equal(s->id, "");
	assert_int_equal(s->nhistory, 0);
	sm_event_free(e);
	sm_cert_free(s);
}

static void refused(sm_cert *s, sm_event *e, const char *field, const char *why)
{
	sm_buf before = enc_cert(s);
	sm_err err;
	sm_err_clear(&err);
	int rc = sm_cert_apply(s, e, 9, &err);
	if (rc != SM_ESTATE)
		fail_msg("%s: expected SM_ESTATE, got %d (%s)", sm_event_name(e->type), rc, err.msg);
	if (field)
		assert_string_equal(err.field, field);
	if (!strstr(err.msg, CERT_ID) || !strstr(err.msg, why))
		fail_msg("expected \"%s\" and \"%s\" in \"%s\"", CERT_ID, why, err.msg);
	sm_buf after = enc_cert(s);
	assert_int_equal(after.len, before.len);
	assert_memory_equal(after.data, before.data, before.len);
	sm_buf_cleanup(&after);
	sm_buf_cleanup(&before);
	sm_event_free(e);
}

static void test_record_apply_renew_rules(void **state)
{
	(void)state;
	sm_cert *s = issued(); /* expires 2027-01-15 */
	sm_event *e = make_event(SM_EV_RENEW, T("2025-06-01"));
	e->expires = D("2027-01-15");
	refused(s, e, "expires", "not after 2027-01-15");
	e = make_event(SM_EV_RENEW, T("2025-06-01"));
	e->expires = D("2026-01-15");
	refused(s, e, "expires", "2026-01-15 is not after");

	/* an expired certificate: forward but still in the past is refused; into the future is fine */
	sm_cert_free(s);
	s = issued_with("2024-06-01");
	e = make_event(SM_EV_RENEW, T("2025-06-01"));
	e->expires = D("2025-01-01");
	refused(s, e, "expires", "not in the future");
	e = make_event(SM_EV_RENEW, T("2025-06-01"));
	e->expires = D("2025-06-01"); /* today is not the future */
	refused(s, e, "expires", "not in the future");
	e = make_event(SM_EV_RENEW, T("2025-06-01"));
	e->expires = D("2025-06-02");
	e->requirements = xstrdup("2025.1");
	apply_ok(s, e, 5);
	assert_int_equal(s->expires, D("2025-06-02"));
	assert_string_equal(s->requirements, "2025.1");
	assert_false(sm_cert_expired(s, D("2025-06-01")));

	/* a suspended certificate can be renewed and stays suspended */
	apply_ok(s, make_event(SM_EV_SUSPEND, T("2025-06-01")), 6);
	e = make_event(SM_EV_RENEW, T("2025-06-01"));
	apply_ok(s, e, 7);
	assert_int_equal(s->status, SM_STATUS_SUSPENDED);
	assert_int_equal(s->expires, D("2030-01-15"));
	assert_string_equal(s->requirements, "2025.1");
	sm_cert_free(s);
}

static void test_record_apply_firmware_revoke_rules(void **state)
{
	(void)state;
	sm_cert *s = issued(); /* >=1.0 <2.0 */
	sm_event *e = make_event(SM_EV_FW_REVOKE, T("2025-06-01"));
	free(e->versions[0]);
	e->versions[0] = xstrdup("2.0");
	refused(s, e, "versions", "2.0 is not covered");

	/* one uncovered version among covered ones refuses the whole event */
	e = make_event(SM_EV_FW_REVOKE, T("2025-06-01"));
	free(e->versions[0]);
	free(e->versions);
	e->versions = strv(2, "1.2", "0.9");
	e->nversions = 2;
	refused(s, e, "versions", "0.9");

	apply_ok(s, make_event(SM_EV_FW_REVOKE, T("2025-06-01")), 3);
	e = make_event(SM_EV_FW_REVOKE, T("2025-06-02"));
	refused(s, e, NULL, "revoked already");

	/* a mix of old and new revokes only the new one, once */
	e = make_event(SM_EV_FW_REVOKE, T("2025-06-03"));
	free(e->versions[0]);
	free(e->versions);
	e->versions = strv(3, "1.5", "1.6", "1.6");
	e->nversions = 3;
	apply_ok(s, e, 4);
	assert_int_equal(s->nrevoked, 2);
	assert_string_equal(s->revoked[0], "1.5");
	assert_string_equal(s->revoked[1], "1.6");
	assert_int_equal(s->nhistory, 3);
	assert_int_equal(s->history[2].index, 4);
	assert_string_equal(s->history[2].reason, "CVE-2025-0001: remote unlock");
	sm_cert_free(s);
}

static void test_record_apply_amend_rules(void **state)
{
	(void)state;
	sm_cert *s = issued();
	sm_event *e = make_event(SM_EV_AMEND, T("2025-06-01"));
	free(e->models[0]);
	e->models[0] = xstrdup("SL-200");
	refused(s, e, "add_models", "SL-200 is already on");

	e = make_event(SM_EV_AMEND, T("2025-06-01"));
	free(e->models[0]);
	free(e->models);
	e->models = NULL;
	e->nmodels = 0;
	e->support_end = D("2023-01-01");
	refused(s, e, NULL, "support end is before the registration");

	/* firmware is merged and canonical, support end and url replaced, models appended */
	e = make_event(SM_EV_AMEND, T("2025-06-01"));
	e->firmware = xstrdup("  2.5 ,<4 >=3");
	e->support_end = D("2031-03-31");
	e->url = xstrdup("https://acme.example/sl2");
	apply_ok(s, e, 2);
	assert_string_equal(s->firmware, ">=1.0 <2.0, 2.5, >=3 <4");
	assert_int_equal(s->support_end, D("2031-03-31"));
	assert_string_equal(s->url, "https://acme.example/sl2");
	assert_int_equal(s->nmodels, 3);
	assert_int_equal(s->nhistory, 2);
	assert_int_equal(s->history[1].type, SM_EV_AMEND);
	assert_null(s->history[1].reason);

	/* more than 64 models in all */
	e = make_event(SM_EV_AMEND, T("2025-06-02"));
	free(e->models[0]);
	free(e->models);
	e->models = calloc(62, sizeof(char *));
	for (size_t i = 0; i < 62; i++) {
		char m[16];
		snprintf(m, sizeof(m), "N-%zu", i);
		e->models[i] = xstrdup(m);
	}
	e->nmodels = 62;
	refused(s, e, NULL, "more than 64");

	/* a bad firmware spec (not validated first) fails without touching the state */
	e = make_event(SM_EV_AMEND, T("2025-06-02"));
	e->firmware = xstrdup(">=3 <1");
	sm_buf before = enc_cert(s);
	sm_err err;
	assert_int_not_equal(sm_cert_apply(s, e, 10, &err), 0);
	sm_buf after = enc_cert(s);
	assert_int_equal(after.len, before.len);
	assert_memory_equal(after.data, before.data, before.len);
	sm_buf_cleanup(&after);
	sm_buf_cleanup(&before);
	sm_event_free(e);
	sm_cert_free(s);
}

static void test_record_apply_suspend_reinstate_cycle(void **state)
{
	(void)state;
	sm_cert *s = issued();
	apply_ok(s, make_event(SM_EV_SUSPEND, T("2025-01-01")), 1);
	apply_ok(s, make_event(SM_EV_REINSTATE, T("2025-02-01")), 2);
	apply_ok(s, make_event(SM_EV_SUSPEND, T("2025-03-01")), 3);
	refused(s, make_event(SM_EV_SUSPEND, T("2025-03-02")), NULL, "suspended already");
	apply_ok(s, make_event(SM_EV_REVOKE, T("2025-04-01")), 4);
	refused(s, make_event(SM_EV_REINSTATE, T("2025-05-01")), NULL, "final");
	assert_int_equal(s->status, SM_STATUS_REVOKED);
	assert_int_equal(s->nhistory, 5);
	const int types[] = {SM_EV_ISSUE, SM_EV_SUSPEND, SM_EV_REINSTATE, SM_EV_SUSPEND, SM_EV_REVOKE};
	for (size_t i = 0; i < 5; i++) {
		assert_int_equal(s->history[i].type, types[i]);
		assert_int_equal(s->history[i].index, i);
	}
	assert_string_equal(s->history[2].reason, "investigation closed");
	assert_string_equal(s->history[4].reason, "vendor left the scheme");
	sm_cert_free(s);
}

/* ---- CBOR encodings ---- */

static sm_event *decode_event_ok(const sm_buf *b)
{
	sm_event *e = NULL;
	sm_err err;
	int rc = sm_event_decode(b->data, b->len, &e, &err);
	if (rc)
		fail_msg("decode failed: %d %s", rc, err.msg);
	return e;
}

static void test_record_event_encoding_known_bytes(void **state)
{
	(void)state;
	sm_event *e = sm_event_new(SM_EV_SUSPEND);
	snprintf(e->id, sizeof(e->id), "C1");
	e->at = 1700000000;
	e->reason = xstrdup("r");
	sm_buf b = enc_event(e);
	/* {1: 4, 2: "C1", 3: 1700000000, 4: "r"} */
	static const uint8_t want[] = {0xa4, 0x01, 0x04, 0x02, 0x62, 'C',  '1',  0x03,
	                               0x1a, 0x65, 0x53, 0xf1, 0x00, 0x04, 0x61, 'r'};
	assert_int_equal(b.len, sizeof(want));
	assert_memory_equal(b.data, want, sizeof(want));
	sm_buf_cleanup(&b);
	/* a negative time is a CBOR negative integer */
	e->at = -2;
	b = enc_event(e);
	assert_int_equal(b.data[7], 0x03);
	assert_int_equal(b.data[8], 0x21);
	sm_event *d = decode_event_ok(&b);
	assert_int_equal(d->at, -2);
	sm_event_free(d);
	sm_buf_cleanup(&b);
	sm_event_free(e);
}

static void test_record_event_round_trip_every_type(void **state)
{
	(void)state;
	for (int t = SM_EV_ISSUE; t <= SM_EV_RENEW; t++) {
		sm_event *e = make_event(t, T("2025-06-01") + t);
		if (t == SM_EV_AMEND) {
			free(e->models[0]);
			free(e->models);
			e->models = strv(2, "SL-300", "型番-X");
			e->nmodels = 2;
			e->firmware = xstrdup(">=3 <4");
			e->support_end = D("2031-03-31");
			e->url = xstrdup("https://acme.example/x");
		} else if (t == SM_EV_FW_REVOKE) {
			free(e->versions[0]);
			free(e->versions);
			e->versions = strv(3, "1.5", "1.6~rc1", "1:1.7-2");
			e->nversions = 3;
		} else if (t == SM_EV_RENEW) {
			e->requirements = xstrdup("2025.1");
		}
		sm_buf b1 = enc_event(e);
		sm_event *d = decode_event_ok(&b1);
		assert_int_equal(d->type, t);
		assert_string_equal(d->id, CERT_ID);
		assert_int_equal(d->at, e->at);
		assert_str_or_null(e->reason, d->reason);
		assert_strv_equal(e->models, e->nmodels, d->models, d->nmodels);
		assert_str_or_null(e->firmware, d->firmware);
		assert_strv_equal(e->versions, e->nversions, d->versions, d->nversions);
		assert_int_equal(e->expires, d->expires);
		assert_int_equal(e->support_end, d->support_end);
		assert_str_or_null(e->requirements, d->requirements);
		assert_str_or_null(e->url, d->url);
		if (t == SM_EV_ISSUE) {
			assert_non_null(d->cert);
			snprintf(e->cert->id, sizeof(e->cert->id), "%s", CERT_ID);
			assert_cert_equal(e->cert, d->cert);
		} else {
			assert_null(d->cert);
		}
		sm_buf b2 = enc_event(d);
		assert_int_equal(b2.len, b1.len);
		assert_memory_equal(b2.data, b1.data, b1.len);
		sm_buf_cleanup(&b1);
		sm_buf_cleanup(&b2);
		sm_event_free(d);
		sm_event_free(e);
	}
	/* an issue with only the required fields */
	sm_event *e = make_event(SM_EV_ISSUE, 0);
	free(e->cert->category);
	free(e->cert->requirements);
	free(e->cert->url);
	e->cert->category = e->cert->requirements = e->cert->url = NULL;
	e->cert->expires = e->cert->support_end = SM_DATE_NONE;
	sm_buf b1 = enc_event(e);
	sm_event *d = decode_event_ok(&b1);
	assert_null(d->cert->category);
	assert_int_equal(d->cert->expires, SM_DATE_NONE);
	sm_buf b2 = enc_event(d);
	assert_int_equal(b2.len, b1.len);
	assert_memory_equal(b2.data, b1.data, b1.len);
	sm_buf_cleanup(&b1);
	sm_buf_cleanup(&b2);
	sm_event_free(d);
	sm_event_free(e);
}

static sm_cert *decode_cert_ok(const sm_buf *b)
{
	sm_cert *c = NULL;
	sm_err err;
	int rc = sm_cert_decode(b->data, b->len, &c, &err);
	if (rc)
		fail_msg("decode failed: %d %s", rc, err.msg);
	return c;
}

static sm_cert *busy_state(void)
{
	sm_cert *s = issued();
	sm_event *e = make_event(SM_EV_AMEND, T("2025-01-01"));
	e->firmware = xstrdup("2.5");
	apply_ok(s, e, 11);
	apply_ok(s, make_event(SM_EV_FW_REVOKE, T("2025-02-01")), 12);
	apply_ok(s, make_event(SM_EV_SUSPEND, T("2025-03-01")), 13);
	apply_ok(s, make_event(SM_EV_REINSTATE, T("2025-04-01")), 14);
	apply_ok(s, make_event(SM_EV_RENEW, T("2025-05-01")), 15);
	return s;
}

static void test_record_state_round_trip(void **state)
{
	(void)state;
	sm_cert *s = busy_state();
	sm_buf b1 = enc_cert(s);
	sm_cert *d = decode_cert_ok(&b1);
	assert_cert_equal(s, d);
	sm_buf b2 = enc_cert(d);
	assert_int_equal(b2.len, b1.len);
	assert_memory_equal(b2.data, b1.data, b1.len);
	sm_buf_cleanup(&b2);
	sm_cert_free(d);
	sm_buf_cleanup(&b1);

	/* revoked, minimal optional fields, negative event time */
	apply_ok(s, make_event(SM_EV_REVOKE, -5), UINT64_MAX);
	free(s->category);
	free(s->url);
	free(s->requirements);
	s->category = s->url = s->requirements = NULL;
	s->expires = s->support_end = SM_DATE_NONE;
	b1 = enc_cert(s);
	d = decode_cert_ok(&b1);
	assert_cert_equal(s, d);
	assert_int_equal(d->history[6].index, UINT64_MAX);
	b2 = enc_cert(d);
	assert_int_equal(b2.len, b1.len);
	assert_memory_equal(b2.data, b1.data, b1.len);
	sm_buf_cleanup(&b2);
	sm_cert_free(d);
	sm_buf_cleanup(&b1);
	sm_cert_free(s);
}

/* Every strict prefix of a good encoding is refused; nothing crashes (ASan watches). */
static void test_record_decode_truncated_every_length(void **state)
{
	(void)state;
	sm_cert *s = busy_state();
	sm_buf b = enc_cert(s);
	for (size_t n = 0; n < b.len; n++) {
		uint8_t *copy = malloc(n ? n : 1); /* exact size, so ASan sees any over-read */
		assert_non_null(copy);
		memcpy(copy, b.data, n);
		sm_cert *c = NULL;
		sm_err err;
		sm_err_clear(&err);
		int rc = sm_cert_decode(copy, n, &c, &err);
		if (rc == 0)
			fail_msg("a state cut to %zu of %zu bytes was accepted", n, b.len);
		assert_null(c);
		assert_true(err.msg[0] != '\0');
		free(copy);
	}
	sm_buf_cleanup(&b);
	sm_cert_free(s);

	for (int t = SM_EV_ISSUE; t <= SM_EV_RENEW; t++) {
		sm_event *e = make_event(t, T("2025-06-01"));
		b = enc_event(e);
		for (size_t n = 0; n < b.len; n++) {
			uint8_t *copy = malloc(n ? n : 1);
			assert_non_null(copy);
			memcpy(copy, b.data, n);
			sm_event *d = NULL;
			sm_err err;
			sm_err_clear(&err);
			int rc = sm_event_decode(copy, n, &d, &err);
			if (rc == 0)
				fail_msg("a %s event cut to %zu of %zu bytes was accepted", sm_event_name(t),
				         n, b.len);
			assert_null(d);
			assert_true(err.msg[0] != '\0');
			free(copy);
		}
		sm_buf_cleanup(&b);
		sm_event_free(e);
	}
}

/* Raw CBOR builders for malformed inputs. */
static void put_u(sm_buf *b, uint64_t v)
{
	assert_int_equal(sm_cbor_put_uint(b, v), 0);
}

static void put_s(sm_buf *b, const char *s)
{
	assert_int_equal(sm_cbor_put_str(b, s), 0);
}

static void put_raw(sm_buf *b, const void *p, size_t n)
{
	assert_int_equal(sm_buf_append(b, p, n), 0);
}

static void event_fails(const sm_buf *b, int code, const char *field, const char *needle)
{
	sm_event *e = NULL;
	sm_err err;
	sm_err_clear(&err);
	int rc = sm_event_decode(b->data, b->len, &e, &err);
	if (rc != code)
		fail_msg("expected %d, got %d (%s)", code, rc, rc ? err.msg : "accepted");
	assert_null(e);
	if (field && strcmp(err.field, field) != 0)
		fail_msg("expected field \"%s\", got \"%s\" (%s)", field, err.field, err.msg);
	if (!strstr(err.msg, needle))
		fail_msg("expected \"%s\" in \"%s\"", needle, err.msg);
}

static void cert_fails(const sm_buf *b, int code, const char *field, const char *needle)
{
	sm_cert *c = NULL;
	sm_err err;
	sm_err_clear(&err);
	int rc = sm_cert_decode(b->data, b->len, &c, &err);
	if (rc != code)
		fail_msg("expected %d, got %d (%s)", code, rc, rc ? err.msg : "accepted");
	assert_null(c);
	if (field && strcmp(err.field, field) != 0)
		fail_msg("expected field \"%s\", got \"%s\" (%s)", field, err.field, err.msg);
	if (!strstr(err.msg, needle))
		fail_msg("expected \"%s\" in \"%s\"", needle, err.msg);
}

/* {1: type, 2: id, 3: 0} and then the caller's extra pairs; `extra` pairs counted in the head. */
static sm_buf event_head(uint64_t type, size_t extra)
{
	sm_buf b = SM_BUF_INIT;
	assert_int_equal(sm_cbor_put_map(&b, 3 + extra), 0);
	put_u(&b, 1);
	put_u(&b, type);
	put_u(&b, 2);
	put_s(&b, CERT_ID);
	put_u(&b, 3);
	put_u(&b, 0);
	return b;
}

static void test_record_event_decode_rejects(void **state)
{
	(void)state;
	sm_buf b;

	/* the minimal good one, for reference */
	b = event_head(SM_EV_REVOKE, 0);
	sm_event *e = decode_event_ok(&b);
	assert_int_equal(e->type, SM_EV_REVOKE);
	sm_event_free(e);
	sm_buf_cleanup(&b);

	/* a key that is known but not allowed in this event */
	b = event_head(SM_EV_SUSPEND, 1);
	put_u(&b, 11);
	put_u(&b, 2);
	event_fails(&b, SM_EINVAL, NULL, "key 11 is not allowed");
	sm_buf_cleanup(&b);
	/* a key in no schema at all */
	b = event_head(SM_EV_SUSPEND, 1);
	put_u(&b, 9);
	put_u(&b, 0);
	event_fails(&b, SM_EINVAL, NULL, "key 9");
	sm_buf_cleanup(&b);
	b = event_head(SM_EV_SUSPEND, 1);
	put_u(&b, 40);
	put_u(&b, 0);
	event_fails(&b, SM_EINVAL, NULL, "key 40 is unknown");
	sm_buf_cleanup(&b);
	/* a text key */
	b = event_head(SM_EV_SUSPEND, 1);
	put_s(&b, "reason");
	put_s(&b, "x");
	event_fails(&b, SM_EINVAL, "key", "key");
	sm_buf_cleanup(&b);
	/* duplicate key */
	b = event_head(SM_EV_SUSPEND, 1);
	put_u(&b, 3);
	put_u(&b, 1);
	event_fails(&b, SM_EINVAL, NULL, "key 3");
	sm_buf_cleanup(&b);
	/* out of order */
	b = (sm_buf)SM_BUF_INIT;
	sm_cbor_put_map(&b, 3);
	put_u(&b, 2);
	put_s(&b, CERT_ID);
	put_u(&b, 1);
	put_u(&b, SM_EV_REVOKE);
	put_u(&b, 3);
	put_u(&b, 0);
	event_fails(&b, SM_EINVAL, NULL, "out of order");
	sm_buf_cleanup(&b);
	/* wrong types */
	b = (sm_buf)SM_BUF_INIT;
	sm_cbor_put_map(&b, 2);
	put_u(&b, 1);
	put_s(&b, "revoke");
	put_u(&b, 2);
	put_s(&b, CERT_ID);
	event_fails(&b, SM_EINVAL, "type", "type");
	sm_buf_cleanup(&b);
	b = (sm_buf)SM_BUF_INIT;
	sm_cbor_put_map(&b, 2);
	put_u(&b, 1);
	put_u(&b, SM_EV_REVOKE);
	put_u(&b, 2);
	put_u(&b, 17);
	event_fails(&b, SM_EINVAL, "id", "id");
	sm_buf_cleanup(&b);
	b = event_head(SM_EV_SUSPEND, 1);
	put_u(&b, 4);
	assert_int_equal(sm_cbor_put_bytes(&b, (const uint8_t *)"x", 1), 0);
	event_fails(&b, SM_EINVAL, "reason", "reason");
	sm_buf_cleanup(&b);
	b = event_head(SM_EV_FW_REVOKE, 1);
	put_u(&b, 23);
	put_s(&b, "1.5");
	event_fails(&b, SM_EINVAL, "versions", "versions");
	sm_buf_cleanup(&b);
	b = event_head(SM_EV_RENEW, 1);
	put_u(&b, 19);
	put_s(&b, "2030-01-01");
	event_fails(&b, SM_EINVAL, "expires", "expires");
	sm_buf_cleanup(&b);
	b = event_head(SM_EV_RENEW, 1);
	put_u(&b, 19);
	assert_int_equal(sm_cbor_put_int(&b, -1), 0);
	event_fails(&b, SM_EINVAL, "expires", "out of range");
	sm_buf_cleanup(&b);
	/* unknown and missing types, missing id */
	b = event_head(0, 0);
	event_fails(&b, SM_EINVAL, "type", "unknown event type 0");
	sm_buf_cleanup(&b);
	b = event_head(8, 0);
	event_fails(&b, SM_EINVAL, "type", "unknown event type 8");
	sm_buf_cleanup(&b);
	b = event_head(0x105, 0);
	event_fails(&b, SM_EINVAL, "type", "unknown event type");
	sm_buf_cleanup(&b);
	b = event_head(0x100000005ull, 0); /* must not alias type 5 */
	event_fails(&b, SM_EINVAL, "type", "unknown event type");
	sm_buf_cleanup(&b);
	b = (sm_buf)SM_BUF_INIT;
	sm_cbor_put_map(&b, 1);
	put_u(&b, 1);
	put_u(&b, SM_EV_REVOKE);
	event_fails(&b, SM_EINVAL, "event", "certificate id");
	sm_buf_cleanup(&b);
	b = (sm_buf)SM_BUF_INIT;
	sm_cbor_put_map(&b, 0);
	event_fails(&b, SM_EINVAL, "event", "type");
	sm_buf_cleanup(&b);
	/* an issue without its record, or with a record without a level */
	b = event_head(SM_EV_ISSUE, 0);
	event_fails(&b, SM_EINVAL, "event", "without a record");
	sm_buf_cleanup(&b);
	b = event_head(SM_EV_ISSUE, 1);
	put_u(&b, 14);
	put_s(&b, "Lock");
	event_fails(&b, SM_EINVAL, "level", "no level");
	sm_buf_cleanup(&b);
	/* versions in an issue would be signed and then dropped by the encoder */
	b = event_head(SM_EV_ISSUE, 2);
	put_u(&b, 11);
	put_u(&b, 1);
	put_u(&b, 23);
	sm_cbor_put_array(&b, 1);
	put_s(&b, "1.0");
	event_fails(&b, SM_EINVAL, NULL, "key 23 is not allowed");
	sm_buf_cleanup(&b);
	/* over-cap text and counts */
	char big[600];
	memset(big, 'r', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	b = event_head(SM_EV_SUSPEND, 1);
	put_u(&b, 4);
	put_s(&b, big);
	event_fails(&b, SM_ETOOBIG, "reason", "more than 500");
	sm_buf_cleanup(&b);
	b = (sm_buf)SM_BUF_INIT;
	sm_cbor_put_map(&b, 2);
	put_u(&b, 1);
	put_u(&b, SM_EV_REVOKE);
	put_u(&b, 2);
	put_s(&b, "ID-THAT-IS-LONGER-THAN-31-BYTES!");
	event_fails(&b, SM_ETOOBIG, "id", "more than 31");
	sm_buf_cleanup(&b);
	b = event_head(SM_EV_FW_REVOKE, 1);
	put_u(&b, 23);
	sm_cbor_put_array(&b, 257);
	event_fails(&b, SM_ETOOBIG, "versions", "257");
	sm_buf_cleanup(&b);
	b = (sm_buf)SM_BUF_INIT;
	sm_cbor_put_map(&b, 33);
	event_fails(&b, SM_ETOOBIG, "event", "33");
	sm_buf_cleanup(&b);
	/* not a map; trailing bytes */
	b = (sm_buf)SM_BUF_INIT;
	sm_cbor_put_array(&b, 0);
	event_fails(&b, SM_EINVAL, "event", "unexpected CBOR type");
	sm_buf_cleanup(&b);
	b = event_head(SM_EV_REVOKE, 0);
	put_raw(&b, "\x00", 1);
	event_fails(&b, SM_EINVAL, NULL, "1 unexpected bytes");
	sm_buf_cleanup(&b);
	/* indefinite lengths: map, text, array */
	b = (sm_buf)SM_BUF_INIT;
	put_raw(&b, "\xbf\x01\x05\x02\x61X\xff", 7);
	event_fails(&b, SM_EINVAL, NULL, "indefinite");
	sm_buf_cleanup(&b);
	b = event_head(SM_EV_SUSPEND, 1);
	put_u(&b, 4);
	put_raw(&b, "\x7f\x61r\xff", 4);
	event_fails(&b, SM_EINVAL, NULL, "indefinite");
	sm_buf_cleanup(&b);
	b = event_head(SM_EV_FW_REVOKE, 1);
	put_u(&b, 23);
	put_raw(&b,
	        "\x9f\x63"
	        "1.5\xff",
	        6);
	event_fails(&b, SM_EINVAL, NULL, "indefinite");
	sm_buf_cleanup(&b);
	/* invalid UTF-8 and NUL in text */
	b = event_head(SM_EV_SUSPEND, 1);
	put_u(&b, 4);
	put_raw(&b, "\x62\xff\xfe", 3);
	event_fails(&b, SM_EINVAL, NULL, "UTF-8");
	sm_buf_cleanup(&b);
	b = event_head(SM_EV_SUSPEND, 1);
	put_u(&b, 4);
	put_raw(&b, "\x63\xed\xa0\x80", 4); /* a surrogate */
	event_fails(&b, SM_EINVAL, NULL, "UTF-8");
	sm_buf_cleanup(&b);
	b = event_head(SM_EV_SUSPEND, 1);
	put_u(&b, 4);
	put_raw(&b,
	        "\x63"
	        "a\0b",
	        4);
	event_fails(&b, SM_EINVAL, "reason", "NUL");
	sm_buf_cleanup(&b);
	/* a text claiming more bytes than there are, even 2^64-1 */
	b = event_head(SM_EV_SUSPEND, 1);
	put_u(&b, 4);
	put_raw(&b,
	        "\x7b\xff\xff\xff\xff\xff\xff\xff\xff"
	        "abc",
	        12);
	event_fails(&b, SM_EINVAL, NULL, "truncated");
	sm_buf_cleanup(&b);
	b = event_head(SM_EV_SUSPEND, 1);
	put_u(&b, 4);
	put_raw(&b,
	        "\x7b\xff\xff\xff\xff\xff\xff\xff\xf7"
	        "abc",
	        12); /* length + 9 wraps to 0 */
	event_fails(&b, SM_EINVAL, NULL, "truncated");
	sm_buf_cleanup(&b);
	/* reserved and break bytes */
	b = event_head(SM_EV_SUSPEND, 1);
	put_u(&b, 4);
	put_raw(&b, "\x1c", 1);
	event_fails(&b, SM_EINVAL, NULL, "malformed CBOR at byte 22");
	sm_buf_cleanup(&b);
	b = (sm_buf)SM_BUF_INIT;
	put_raw(&b, "\xff", 1);
	event_fails(&b, SM_EINVAL, NULL, "byte 0");
	sm_buf_cleanup(&b);
	/* empty input */
	e = NULL;
	sm_err err;
	EXPECT_ERR(sm_event_decode((const uint8_t *)"", 0, &e, &err), err, SM_EINVAL, NULL, "byte 0");
	assert_null(e);
}

/* A stored state with the required fields, then the caller's extra pairs. Keys: 2, 11, 13, 14, 15, 17,
 * 30, 31. */
static sm_buf cert_min(size_t extra, bool with_history)
{
	sm_buf b = SM_BUF_INIT;
	assert_int_equal(sm_cbor_put_map(&b, 6 + extra + (with_history ? 2 : 0)), 0);
	put_u(&b, 2);
	put_s(&b, CERT_ID);
	put_u(&b, 11);
	put_u(&b, 1);
	put_u(&b, 13);
	put_s(&b, "Acme");
	put_u(&b, 14);
	put_s(&b, "Lock");
	put_u(&b, 15);
	sm_cbor_put_array(&b, 1);
	put_s(&b, "L-1");
	put_u(&b, 17);
	put_s(&b, ">=1");
	if (with_history) {
		put_u(&b, 30);
		put_u(&b, 0);
		put_u(&b, 31);
	}
	return b;
}

static void test_record_cert_decode_rejects(void **state)
{
	(void)state;
	sm_buf b;

	/* the minimal good one: the history array follows */
	b = cert_min(0, true);
	sm_cbor_put_array(&b, 1);
	sm_cbor_put_array(&b, 4);
	put_u(&b, SM_EV_ISSUE);
	put_u(&b, 100);
	put_raw(&b, "\xf6", 1);
	put_u(&b, 0);
	sm_cert *c = decode_cert_ok(&b);
	assert_int_equal(c->nhistory, 1);
	assert_null(c->history[0].reason);
	sm_buf re = enc_cert(c);
	sm_cert *c2 = decode_cert_ok(&re);
	assert_cert_equal(c, c2);
	sm_cert_free(c2);
	sm_buf_cleanup(&re);
	sm_cert_free(c);
	sm_buf_cleanup(&b);

	/* required fields missing */
	b = (sm_buf)SM_BUF_INIT;
	sm_cbor_put_map(&b, 1);
	put_u(&b, 2);
	put_s(&b, CERT_ID);
	cert_fails(&b, SM_EINVAL, "certificate", "missing required");
	sm_buf_cleanup(&b);
	/* unknown key, unknown-here key, key past the range */
	b = cert_min(1, false);
	put_u(&b, 25);
	put_u(&b, 0);
	cert_fails(&b, SM_EINVAL, NULL, "key 25 is not allowed");
	sm_buf_cleanup(&b);
	b = cert_min(1, false);
	put_u(&b, 1000);
	put_u(&b, 0);
	cert_fails(&b, SM_EINVAL, NULL, "key 1000");
	sm_buf_cleanup(&b);
	/* duplicate key */
	b = cert_min(1, false);
	put_u(&b, 17);
	put_s(&b, ">=2");
	cert_fails(&b, SM_EINVAL, NULL, "key 17");
	sm_buf_cleanup(&b);
	/* status out of range, wrong type */
	b = cert_min(1, false);
	put_u(&b, 30);
	put_u(&b, 3);
	cert_fails(&b, SM_EINVAL, "status", "status 3");
	sm_buf_cleanup(&b);
	b = cert_min(1, false);
	put_u(&b, 30);
	put_s(&b, "active");
	cert_fails(&b, SM_EINVAL, "status", "status");
	sm_buf_cleanup(&b);
	/* level out of range */
	b = (sm_buf)SM_BUF_INIT;
	sm_cbor_put_map(&b, 2);
	put_u(&b, 2);
	put_s(&b, CERT_ID);
	put_u(&b, 11);
	put_u(&b, 10);
	cert_fails(&b, SM_EINVAL, "level", "level 10");
	sm_buf_cleanup(&b);
	/* history entries: wrong size, wrong reason type, unknown event type */
	b = cert_min(0, true);
	sm_cbor_put_array(&b, 1);
	sm_cbor_put_array(&b, 3);
	put_u(&b, 1);
	put_u(&b, 0);
	put_u(&b, 0);
	cert_fails(&b, SM_EINVAL, "history", "3 fields");
	sm_buf_cleanup(&b);
	b = cert_min(0, true);
	sm_cbor_put_array(&b, 1);
	sm_cbor_put_array(&b, 4);
	put_u(&b, 1);
	put_u(&b, 0);
	put_u(&b, 7);
	put_u(&b, 0);
	cert_fails(&b, SM_EINVAL, "history", "history");
	sm_buf_cleanup(&b);
	b = cert_min(0, true);
	sm_cbor_put_array(&b, 1);
	sm_cbor_put_array(&b, 4);
	put_u(&b, 200); /* no such event */
	put_u(&b, 0);
	put_raw(&b, "\xf6", 1);
	put_u(&b, 0);
	cert_fails(&b, SM_EINVAL, "history", "200");
	sm_buf_cleanup(&b);
	b = cert_min(0, true);
	sm_cbor_put_array(&b, 4097);
	cert_fails(&b, SM_ETOOBIG, "history", "4097");
	sm_buf_cleanup(&b);
	/* over-cap model, too many models */
	b = (sm_buf)SM_BUF_INIT;
	sm_cbor_put_map(&b, 2);
	put_u(&b, 2);
	put_s(&b, CERT_ID);
	put_u(&b, 15);
	sm_cbor_put_array(&b, 1);
	put_s(&b, "MMMMMMMMMMMMMMMMMMMMMMMMMMMMMMMMMMMMMMMMMMMMMMMMMMMMMMMMMMMMMMMMM"); /* 65 */
	cert_fails(&b, SM_ETOOBIG, "models", "65 bytes");
	sm_buf_cleanup(&b);
	b = (sm_buf)SM_BUF_INIT;
	sm_cbor_put_map(&b, 2);
	put_u(&b, 2);
	put_s(&b, CERT_ID);
	put_u(&b, 15);
	sm_cbor_put_array(&b, 65);
	cert_fails(&b, SM_ETOOBIG, "models", "65 items");
	sm_buf_cleanup(&b);
	/* trailing bytes */
	b = cert_min(0, true);
	sm_cbor_put_array(&b, 0);
	put_raw(&b, "\xa0", 1);
	cert_fails(&b, SM_EINVAL, NULL, "unexpected bytes");
	sm_buf_cleanup(&b);
	/* indefinite array of models; invalid UTF-8 product */
	b = (sm_buf)SM_BUF_INIT;
	sm_cbor_put_map(&b, 2);
	put_u(&b, 2);
	put_s(&b, CERT_ID);
	put_u(&b, 15);
	put_raw(&b, "\x9f\x61x\xff", 4);
	cert_fails(&b, SM_EINVAL, NULL, "indefinite");
	sm_buf_cleanup(&b);
	b = (sm_buf)SM_BUF_INIT;
	sm_cbor_put_map(&b, 2);
	put_u(&b, 2);
	put_s(&b, CERT_ID);
	put_u(&b, 14);
	put_raw(&b, "\x62\xc3\x28", 3);
	cert_fails(&b, SM_EINVAL, NULL, "UTF-8");
	sm_buf_cleanup(&b);
	/* a tag where a text belongs */
	b = (sm_buf)SM_BUF_INIT;
	sm_cbor_put_map(&b, 1);
	put_u(&b, 2);
	sm_cbor_put_tag(&b, 0);
	put_s(&b, CERT_ID);
	cert_fails(&b, SM_EINVAL, "id", "id");
	sm_buf_cleanup(&b);
}

/*
 * What decodes must re-encode to bytes that decode again to the same encoding (the fuzz target's
 * property), including records that lack a level.
 */
static void test_record_decode_reencode_is_stable(void **state)
{
	(void)state;
	/* a stored state without key 11 (level) */
	sm_buf b = SM_BUF_INIT;
	sm_cbor_put_map(&b, 7);
	put_u(&b, 2);
	put_s(&b, CERT_ID);
	put_u(&b, 13);
	put_s(&b, "Acme");
	put_u(&b, 14);
	put_s(&b, "Lock");
	put_u(&b, 15);
	sm_cbor_put_array(&b, 1);
	put_s(&b, "L-1");
	put_u(&b, 17);
	put_s(&b, ">=1");
	put_u(&b, 30);
	put_u(&b, 0);
	put_u(&b, 31);
	sm_cbor_put_array(&b, 0);
	sm_cert *c = NULL;
	sm_err err;
	if (sm_cert_decode(b.data, b.len, &c, &err) == 0) {
		sm_buf e1 = enc_cert(c);
		sm_cert *c2 = NULL;
		int rc = sm_cert_decode(e1.data, e1.len, &c2, &err);
		if (rc)
			fail_msg("a state without a level decodes, but its re-encoding does not: %s",
			         err.msg);
		sm_cert_free(c2);
		sm_buf_cleanup(&e1);
		sm_cert_free(c);
	} else {
		assert_string_equal(err.field, "certificate");
	}
	sm_buf_cleanup(&b);

	/* an issue event whose record has no level */
	b = event_head(SM_EV_ISSUE, 1);
	put_u(&b, 14);
	put_s(&b, "Lock");
	sm_event *e = NULL;
	if (sm_event_decode(b.data, b.len, &e, &err) == 0) {
		sm_buf e1 = enc_event(e);
		sm_event *e2 = NULL;
		int rc = sm_event_decode(e1.data, e1.len, &e2, &err);
		if (rc)
			fail_msg("an issue without a level decodes, but its re-encoding does not: %s",
			         err.msg);
		sm_event_free(e2);
		sm_buf_cleanup(&e1);
		sm_event_free(e);
	}
	sm_buf_cleanup(&b);
}

/* Revoked firmware versions compare as versions, as verdicts do; a url needs a host. */
static void test_record_fw_revoke_compares_versions(void **state)
{
	sm_cert *s = sm_cert_new();
	sm_event *iss = sm_event_new(SM_EV_ISSUE), *rev = sm_event_new(SM_EV_FW_REVOKE);
	sm_err err = { 0 };
	snprintf(iss->id, sizeof(iss->id), "SM-2021-000001");
	iss->cert = sm_cert_new();
	snprintf(iss->cert->vendor, sizeof(iss->cert->vendor), "V");
	iss->cert->vendor_name = strdup("v");
	iss->cert->product = strdup("p");
	iss->cert->models = calloc(1, sizeof(char *));
	iss->cert->models[0] = strdup("M");
	iss->cert->nmodels = 1;
	iss->cert->level = 1;
	iss->cert->firmware = strdup(">=1.0 <2.0");
	iss->cert->registered = 18000;
	assert_int_equal(sm_cert_apply(s, iss, 1, &err), 0);
	snprintf(rev->id, sizeof(rev->id), "SM-2021-000001");
	rev->reason = strdup("CVE");
	rev->versions = calloc(2, sizeof(char *));
	rev->versions[0] = strdup("1.0");
	rev->versions[1] = strdup("1.00"); /* the same version, written twice */
	rev->nversions = 2;
	assert_int_equal(sm_cert_apply(s, rev, 2, &err), 0);
	assert_int_equal(s->nrevoked, 1);
	free(rev->versions[1]);
	rev->nversions = 1;
	free(rev->versions[0]);
	rev->versions[0] = strdup("1.00");
	assert_int_equal(sm_cert_apply(s, rev, 3, &err), SM_ESTATE);
	assert_non_null(strstr(err.msg, "revoked already"));
	assert_int_equal(sm_check_url("https://", &err), SM_EINVAL);
	assert_non_null(strstr(err.msg, "no host"));
	assert_int_equal(sm_check_url("https:///x", &err), SM_EINVAL);
	assert_int_equal(sm_check_url("https://a.example/x", &err), 0);
	sm_event_free(iss);
	sm_event_free(rev);
	sm_cert_free(s);
}

/* scheme_ref (key 24) and the effective time (key 5) are optional: an event or state without them
 * encodes exactly as before they existed, so old logs verify; with them, they survive the round trip. */
static void test_record_scheme_ref_and_effective(void **state)
{
	(void)state;
	sm_event *e = make_event(SM_EV_ISSUE, T("2025-03-01"));
	sm_buf before = enc_event(e);
	/* no key 5 or 24 in an event without them */
	sm_event *d = decode_event_ok(&before);
	assert_null(d->cert->scheme_ref);
	assert_true(d->effective == SM_TIME_NONE);
	sm_event_free(d);

	e->cert->scheme_ref = xstrdup("CCDS-21-0042");
	e->effective = T("2021-05-03");
	sm_buf with = enc_event(e);
	assert_true(with.len > before.len);
	d = decode_event_ok(&with);
	assert_string_equal(d->cert->scheme_ref, "CCDS-21-0042");
	assert_int_equal(d->effective, T("2021-05-03"));
	sm_buf again = enc_event(d);
	assert_int_equal(again.len, with.len);
	assert_memory_equal(again.data, with.data, with.len);
	sm_buf_cleanup(&again);

	/* the fold: history shows the effective time, the state keeps scheme_ref */
	sm_cert *s = sm_cert_new();
	sm_err err;
	assert_int_equal(sm_cert_apply(s, d, 7, &err), 0);
	assert_string_equal(s->scheme_ref, "CCDS-21-0042");
	assert_int_equal(s->history[0].at, T("2021-05-03"));
	sm_event *rv = make_event(SM_EV_REVOKE, T("2025-03-01"));
	rv->effective = T("2023-02-01");
	assert_int_equal(sm_event_validate(rv, &err), 0);
	assert_int_equal(sm_cert_apply(s, rv, 8, &err), 0);
	assert_int_equal(s->history[1].at, T("2023-02-01"));
	sm_buf st = enc_cert(s);
	sm_cert *s2 = decode_cert_ok(&st);
	assert_string_equal(s2->scheme_ref, "CCDS-21-0042");
	assert_int_equal(s2->history[1].at, T("2023-02-01"));
	sm_cert *dup = sm_cert_dup(s2);
	assert_string_equal(dup->scheme_ref, "CCDS-21-0042");
	sm_cert_free(dup);

	/* an effective time after the recording time, or before 1970, is refused */
	rv->effective = T("2025-03-02");
	assert_int_equal(sm_event_validate(rv, &err), SM_EINVAL);
	assert_string_equal(err.field, "effective");
	rv->effective = -1;
	assert_int_equal(sm_event_validate(rv, &err), SM_EINVAL);
	sm_buf neg = enc_event(rv);
	sm_event *bad = NULL;
	assert_int_equal(sm_event_decode(neg.data, neg.len, &bad, &err), SM_EINVAL);
	assert_string_equal(err.field, "effective");
	/* scheme_ref on another event than issue is not a field of it */
	sm_buf x = event_head(SM_EV_REVOKE, 1);
	put_u(&x, 24);
	put_s(&x, "R-1");
	assert_int_equal(sm_event_decode(x.data, x.len, &bad, &err), SM_EINVAL);
	/* and its caps hold */
	char big[SM_SCHEME_REF_MAX + 2];
	memset(big, 'A', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	assert_int_equal(sm_check_scheme_ref(big, &err), SM_EINVAL);
	assert_string_equal(err.field, "scheme_ref");
	assert_int_equal(sm_check_scheme_ref("R 1", &err), 0);
	assert_int_equal(sm_check_scheme_ref("R\t1", &err), SM_EINVAL);

	sm_buf_cleanup(&x);
	sm_buf_cleanup(&neg);
	sm_event_free(rv);
	sm_cert_free(s2);
	sm_buf_cleanup(&st);
	sm_cert_free(s);
	sm_event_free(d);
	sm_buf_cleanup(&with);
	sm_buf_cleanup(&before);
	sm_event_free(e);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_record_check_id),
	    cmocka_unit_test(test_record_scheme_ref_and_effective),
	    cmocka_unit_test(test_record_date_parse_real_dates),
	    cmocka_unit_test(test_record_date_parse_leap_years),
	    cmocka_unit_test(test_record_date_parse_month_only),
	    cmocka_unit_test(test_record_date_parse_rejects_bad_formats),
	    cmocka_unit_test(test_record_date_format_round_trip),
	    cmocka_unit_test(test_record_date_from_time),
	    cmocka_unit_test(test_record_names),
	    cmocka_unit_test(test_record_cert_dup_is_deep),
	    cmocka_unit_test(test_record_check_vendor),
	    cmocka_unit_test(test_record_check_model),
	    cmocka_unit_test(test_record_check_text),
	    cmocka_unit_test(test_record_check_category_requirements_url),
	    cmocka_unit_test(test_record_fw_revoke_compares_versions),
	    cmocka_unit_test(test_record_validate_good_and_canonical),
	    cmocka_unit_test(test_record_validate_rejects),
	    cmocka_unit_test(test_record_event_validate),
	    cmocka_unit_test(test_record_apply_every_event_from_every_status),
	    cmocka_unit_test(test_record_apply_issue),
	    cmocka_unit_test(test_record_apply_renew_rules),
	    cmocka_unit_test(test_record_apply_firmware_revoke_rules),
	    cmocka_unit_test(test_record_apply_amend_rules),
	    cmocka_unit_test(test_record_apply_suspend_reinstate_cycle),
	    cmocka_unit_test(test_record_event_encoding_known_bytes),
	    cmocka_unit_test(test_record_event_round_trip_every_type),
	    cmocka_unit_test(test_record_state_round_trip),
	    cmocka_unit_test(test_record_decode_truncated_every_length),
	    cmocka_unit_test(test_record_event_decode_rejects),
	    cmocka_unit_test(test_record_cert_decode_rejects),
	    cmocka_unit_test(test_record_decode_reencode_is_stable),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
