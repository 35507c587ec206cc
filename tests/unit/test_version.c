/* SPDX-License-Identifier: Apache-2.0 */
/* Unit tests of lib/version.c: Debian ordering (hand-picked and against dpkg), firmware specs. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "starmark/version.h"

static int sign(int x)
{
	return (x > 0) - (x < 0);
}

struct order_case {
	const char *a;
	const char *b;
	int want; /* sign of compare(a, b), as dpkg --compare-versions says */
};

/* Each was also checked with dpkg --compare-versions 1.21 (it warns about "V..." but orders them). */
static const struct order_case ORDER[] = {
	{ "1.0", "1.0", 0 },
	/* leading zeros do not count */
	{ "1.0", "1.00", 0 },
	{ "1.02.003", "1.2.3", 0 },
	{ "0001", "1", 0 },
	/* a longer version is newer than its prefix; numbers, not text */
	{ "1.0", "1.0.0", -1 },
	{ "1.0.0", "1.0.1", -1 },
	{ "1.9", "1.10", -1 },
	/* '~' before everything, even the end */
	{ "1.0~rc1", "1.0", -1 },
	{ "1.0~", "1.0", -1 },
	{ "1.0~~", "1.0~", -1 },
	{ "1.0~~a", "1.0~", -1 },
	{ "1.0~rc1", "1.0~rc2", -1 },
	/* letters after the end, before other characters; ASCII among letters */
	{ "1.0a", "1.0", 1 },
	{ "1.0a", "1.0.1", -1 },
	{ "1.0a", "1.0+", -1 },
	{ "1.0+", "1.0.", -1 },
	{ "1.0Z", "1.0a", -1 },
	{ "1.a", "1.0", 1 },
	{ "1.0+dfsg", "1.0", 1 },
	{ "1.0+dfsg", "1.0.1", -1 },
	/* revisions: after the LAST '-' */
	{ "1.0-rc1", "1.0", 1 },
	{ "1.0-rc1", "1.0.1", -1 },
	{ "1.0-rc1", "1.0~rc1", 1 },
	{ "1.0", "1.0-0", 0 },
	{ "1.0-1", "1.0-2", -1 },
	{ "1.0-10", "1.0-9", 1 },
	{ "1.0-rc1-2", "1.0-rc1-10", -1 },
	{ "1.0-1~", "1.0-1", -1 },
	{ "1-1~-1", "1-1", 1 },     /* upstream "1-1~" > "1" */
	{ "1.0-1-1", "1.0-1.1", 1 }, /* upstream "1.0-1" > "1.0" */
	{ "1:2:3", "1:2", 1 },       /* upstream "2:3" > "2" */
	/* epochs */
	{ "1:1.0", "2.0", 1 },
	{ "0:1.0", "1.0", 0 },
	{ "01:1.0", "1:1.0", 0 },
	{ "2:0.1", "10:0.1", -1 },
	{ "1:0", "0:99", 1 },
	/* vendor spellings */
	{ "V2.1b", "10.0", 1 },
	{ "V2.1a", "V2.1b", -1 },
	{ "V2.1b", "V2.10", -1 },
	{ "V2.10", "V3", -1 },
	{ "2.1", "2.1b", -1 },
	{ "2.1b", "2.1.1", -1 },
	{ "2024.03.1", "2024.3.2", -1 },
	{ "2024.3.2", "2024.10.1", -1 },
	/* digit runs past 64 bits */
	{ "99999999999999999999999", "100000000000000000000000", -1 },
	{ "1.000000000000000000000000000001", "1.1", 0 },
	{ "1.18446744073709551616", "1.18446744073709551615", 1 },
	{ "1.0000000000000000000000000000000000000000000000000000000002", "1.2", 0 },
	{ "99999999999999999999999999999999999999999999999999:1",
	  "99999999999999999999999999999999999999999999999998:2", 1 },
	/* a ':' after non-digits is text, not an epoch (dpkg would refuse these; starmark orders them) */
	{ "abc:1.0", "1.0", 1 },
	{ "x:1", "x:2", -1 },
	/* the end of a string */
	{ "", "", 0 },
	{ "~", "", -1 },
	{ "", "0", 0 },
};

static void test_version_compare_hand_picked(void **state)
{
	(void)state;
	size_t bad = 0;
	for (size_t i = 0; i < sizeof(ORDER) / sizeof(ORDER[0]); i++) {
		const int ab = sign(sm_version_compare(ORDER[i].a, ORDER[i].b));
		const int ba = sign(sm_version_compare(ORDER[i].b, ORDER[i].a));
		if (ab != ORDER[i].want || ba != -ORDER[i].want) {
			print_error("compare('%s', '%s'): expected %d, got %d (reversed: %d)\n", ORDER[i].a,
				    ORDER[i].b, ORDER[i].want, ab, ba);
			bad++;
		}
	}
	assert_int_equal(bad, 0);
}

static void test_version_compare_returns_unit_sign(void **state)
{
	(void)state;
	assert_int_equal(sm_version_compare("1.0", "9.0"), -1);
	assert_int_equal(sm_version_compare("1.0a", "1.0"), 1);
	assert_int_equal(sm_version_compare("1.0", "1.0"), 0);
}

/* Sorting a list by sm_version_compare gives the documented order. */
static int cmp_ptr(const void *a, const void *b)
{
	return sm_version_compare(*(const char *const *)a, *(const char *const *)b);
}

static void test_version_compare_sorts_vendor_strings(void **state)
{
	(void)state;
	const char *want[] = { "1.0~rc1", "1.0", "1.0-rc1", "1.0.0", "1.02.003", "2.1", "2.1b", "2.1.1",
			       "2024.03.1", "2024.10.1", "1:0.1", "1:V2.1b" };
	const size_t n = sizeof(want) / sizeof(want[0]);
	const char *v[sizeof(want) / sizeof(want[0])];
	for (size_t i = 0; i < n; i++)
		v[i] = want[(i * 7) % n]; /* 7 is prime to 12: a permutation */
	qsort(v, n, sizeof(v[0]), cmp_ptr);
	for (size_t i = 0; i < n; i++)
		assert_string_equal(v[i], want[i]);
}

static const char *data_dir(void)
{
	const char *d = getenv("SM_TEST_DATA");
	return d && *d ? d : "/work/main/tests/data";
}

/* Every line of version_oracle.txt ("A B R", R from dpkg --compare-versions) must agree. */
static void test_version_compare_matches_dpkg(void **state)
{
	(void)state;
	char path[1024];
	snprintf(path, sizeof(path), "%s/version_oracle.txt", data_dir());
	FILE *f = fopen(path, "r");
	if (!f)
		print_error("cannot open %s (set SM_TEST_DATA)\n", path);
	assert_non_null(f);
	char line[512];
	size_t lineno = 0, checked = 0, bad = 0, zero = 0, less = 0, more = 0;
	while (fgets(line, sizeof(line), f)) {
		lineno++;
		if (line[0] == '#')
			continue;
		char a[256], b[256];
		int want = 9;
		if (sscanf(line, "%255s %255s %d", a, b, &want) != 3 || want < -1 || want > 1) {
			print_error("%s:%zu: malformed line '%s'\n", path, lineno, line);
			bad++;
			continue;
		}
		assert_int_equal(sm_version_validate(a, NULL), 0);
		assert_int_equal(sm_version_validate(b, NULL), 0);
		const int ab = sign(sm_version_compare(a, b));
		const int ba = sign(sm_version_compare(b, a));
		if (ab != want || ba != -want) {
			if (bad < 20)
				print_error("%s:%zu: compare('%s', '%s'): dpkg says %d, got %d "
					    "(reversed %d)\n", path, lineno, a, b, want, ab, ba);
			bad++;
		}
		zero += want == 0;
		less += want < 0;
		more += want > 0;
		checked++;
	}
	fclose(f);
	assert_int_equal(bad, 0);
	assert_true(checked >= 5000);
	/* the file exercises all three answers */
	assert_true(zero > 500 && less > 500 && more > 500);
}

static void test_version_validate_accepts(void **state)
{
	(void)state;
	const char *ok[] = {
		"1", "1.0", "V2.1b", "1:2.0-rc1~x", "2024.03.1", "1.0+dfsg-1ubuntu2", "a!#$%&()*",
		"1234567890123456789012345678901234567890123456789012345678901234",
	};
	for (size_t i = 0; i < sizeof(ok) / sizeof(ok[0]); i++) {
		sm_err err;
		sm_err_clear(&err);
		const int rc = sm_version_validate(ok[i], &err);
		if (rc)
			print_error("'%s': %s\n", ok[i], err.msg);
		assert_int_equal(rc, 0);
	}
}

static void expect_invalid_version(const char *v, const char *n1, const char *n2)
{
	sm_err err;
	sm_err_clear(&err);
	assert_int_equal(sm_version_validate(v, &err), SM_EINVAL);
	assert_int_equal(err.code, SM_EINVAL);
	assert_string_equal(err.field, "firmware");
	if (!strstr(err.msg, n1) || (n2 && !strstr(err.msg, n2)))
		print_error("'%s': message '%s' should say '%s' and '%s'\n", v, err.msg, n1, n2 ? n2 : "");
	assert_non_null(strstr(err.msg, n1));
	if (n2)
		assert_non_null(strstr(err.msg, n2));
}

static void test_version_validate_rejects(void **state)
{
	(void)state;
	expect_invalid_version("", "empty", NULL);
	expect_invalid_version("12345678901234567890123456789012345678901234567890123456789012345",
			       "longer than 64", NULL);
	expect_invalid_version("1 0", "' ' (0x20) at offset 1", NULL);
	expect_invalid_version("1,0", "',' (0x2c) at offset 1", NULL);
	expect_invalid_version("1<", "'<' (0x3c) at offset 1", NULL);
	expect_invalid_version(">1", "'>' (0x3e) at offset 0", NULL);
	expect_invalid_version("1=0", "'=' (0x3d) at offset 1", NULL);
	expect_invalid_version("1.0\t", "(0x09) at offset 3", "'1.0?'");
	expect_invalid_version("1.0\x7f", "(0x7f) at offset 3", NULL);
	expect_invalid_version("1.0\xc3\xa9", "(0xc3) at offset 3", NULL);
	assert_int_equal(sm_version_validate(NULL, NULL), SM_EINVAL);
}

/* Parse `text`, which must succeed; return the spec. */
static sm_fwspec *parse_ok(const char *text)
{
	sm_fwspec *s = NULL;
	sm_err err;
	sm_err_clear(&err);
	const int rc = sm_fwspec_parse(text, &s, &err);
	if (rc)
		print_error("'%s': %s\n", text, err.msg);
	assert_int_equal(rc, 0);
	assert_non_null(s);
	return s;
}

static void expect_format(const char *text, const char *want)
{
	sm_fwspec *s = parse_ok(text);
	char *got = sm_fwspec_format(s);
	assert_non_null(got);
	assert_string_equal(got, want);
	/* the canonical text parses to itself */
	sm_fwspec *again = parse_ok(got);
	char *got2 = sm_fwspec_format(again);
	assert_string_equal(got2, want);
	free(got2);
	sm_fwspec_free(again);
	free(got);
	sm_fwspec_free(s);
}

static void test_version_fwspec_format_canonical(void **state)
{
	(void)state;
	expect_format(">=1.0.0 <2.0, 2.0.1", ">=1.0.0 <2.0, 2.0.1");
	expect_format("  >=1.0.0 \t  <2.0 ,2.0.1  ", ">=1.0.0 <2.0, 2.0.1");
	expect_format("<2.0 >=1.0", ">=1.0 <2.0");
	expect_format(">1", ">1");
	expect_format("<=3.0", "<=3.0");
	expect_format("V2.1b,1.0-rc1,\n1:2.0", "V2.1b, 1.0-rc1, 1:2.0");
	expect_format(">=1 <=1", ">=1 <=1");
}

static void expect_covers(const sm_fwspec *s, const char *v, bool want)
{
	const bool got = sm_fwspec_covers(s, v);
	if (got != want)
		print_error("version '%s': expected %s, got %s\n", v, want ? "covered" : "not covered",
			    got ? "covered" : "not covered");
	assert_true(got == want);
}

static void test_version_fwspec_covers(void **state)
{
	(void)state;
	sm_fwspec *s = parse_ok(">=1.0.0 <2.0, 2.0.1");
	assert_int_equal(sm_fwspec_count(s), 2);
	expect_covers(s, "1.0.0", true);
	expect_covers(s, "1.00.000", true);
	expect_covers(s, "1.0.0-1", true);
	expect_covers(s, "1.5", true);
	expect_covers(s, "1.99.99", true);
	expect_covers(s, "2.0~rc1", true);
	expect_covers(s, "2.0.1", true);
	expect_covers(s, "2.00.01", true);
	expect_covers(s, "1.0", false); /* 1.0 < 1.0.0 */
	expect_covers(s, "1.0.0~beta", false);
	expect_covers(s, "0.9", false);
	expect_covers(s, "2.0", false);
	expect_covers(s, "2.0.0", false);
	expect_covers(s, "2.0.2", false);
	expect_covers(s, "1:1.5", false); /* an epoch outranks everything */
	sm_fwspec_free(s);

	/* exact items compare with sm_version_compare() == 0: "1.0" also covers "1.00" */
	s = parse_ok("1.0");
	expect_covers(s, "1.0", true);
	expect_covers(s, "1.00", true);
	expect_covers(s, "1.0-0", true);
	expect_covers(s, "0:1.0", true);
	expect_covers(s, "1.0.0", false);
	expect_covers(s, "1.0-1", false);
	sm_fwspec_free(s);

	s = parse_ok(">1, <=0.5");
	expect_covers(s, "1", false);
	expect_covers(s, "01", false); /* equal to 1 */
	expect_covers(s, "1.0", true); /* a longer version is newer */
	expect_covers(s, "1a", true);
	expect_covers(s, "1.0.1", true);
	expect_covers(s, "0.5", true);
	expect_covers(s, "0.5~", true);
	expect_covers(s, "0.5.1", false);
	expect_covers(s, "0.7", false);
	sm_fwspec_free(s);

	s = parse_ok(">=1 <=1");
	expect_covers(s, "1", true);
	expect_covers(s, "1.0", false);
	sm_fwspec_free(s);
}

struct spec_error {
	const char *text;
	int code;
	const char *needles[3]; /* each must appear in the message */
};

static const struct spec_error SPEC_ERRORS[] = {
	{ "", SM_EINVAL, { "empty", NULL, NULL } },
	{ " \t ", SM_EINVAL, { "empty", NULL, NULL } },
	{ "1.0,,2.0", SM_EINVAL, { "item 2 is empty", NULL, NULL } },
	{ ",1.0", SM_EINVAL, { "item 1 is empty", NULL, NULL } },
	{ "1.0, 2.0,", SM_EINVAL, { "item 3 is empty", NULL, NULL } },
	{ "1.0, ,2.0", SM_EINVAL, { "item 2 is empty", NULL, NULL } },
	{ "1.0, =1.2", SM_EINVAL, { "item 2", "'=1.2'", "'=' is not an operator" } },
	{ "= 1.2", SM_EINVAL, { "item 1", "'= 1.2'", "'=' is not an operator" } },
	{ "==1.2", SM_EINVAL, { "item 1", "'==1.2'", "'==' is not an operator" } },
	{ ">==1.2", SM_EINVAL, { "item 1", "'>=='", "not an operator" } },
	{ "=>1.2", SM_EINVAL, { "item 1", "'=>'", "not an operator" } },
	{ "<>1.2", SM_EINVAL, { "item 1", "'<>'", "not an operator" } },
	{ "1.0, >= 1.2", SM_EINVAL, { "item 2", "'>= 1.2'", "directly followed by a version" } },
	{ "<", SM_EINVAL, { "item 1", "'<'", "directly followed by a version" } },
	{ "1.0 >2", SM_EINVAL, { "item 1", "'1.0 >2'", "mixes an exact version" } },
	{ "1.0 2.0", SM_EINVAL, { "item 1", "'1.0 2.0'", "mixes an exact version" } },
	{ "1, >=1 >2", SM_EINVAL, { "item 2", "'>=1 >2'", "same side" } },
	{ "<1 <=2", SM_EINVAL, { "item 1", "'<1 <=2'", "same side" } },
	{ ">2 <1", SM_EINVAL, { "item 1", "'>2 <1'", "lower bound above its upper bound" } },
	{ "<1.0 >=1.0.0", SM_EINVAL, { "item 1", "'<1.0 >=1.0.0'", "lower bound above" } },
	{ ">1 <1", SM_EINVAL, { "item 1", "'>1 <1'", "covers no version" } },
	{ ">=1.0 <1.00", SM_EINVAL, { "item 1", "covers no version", NULL } },
	{ ">=1 <2 <3", SM_EINVAL, { "item 1", "'>=1 <2 <3'", "more than two parts" } },
	{ "1.0, 2.0\x01", SM_EINVAL, { "item 2", "(0x01) at offset 3", NULL } },
	{ "1.0, >=2.0\xc3\xa9", SM_EINVAL, { "item 2", "(0xc3) at offset 3", NULL } },
	{ "1.0, >1.0=", SM_EINVAL, { "item 2", "'=' (0x3d) at offset 3", NULL } },
	{ "1, 12345678901234567890123456789012345678901234567890123456789012345",
	  SM_EINVAL,
	  { "item 2", "longer than 64", NULL } },
};

static void test_version_fwspec_rejects(void **state)
{
	(void)state;
	for (size_t i = 0; i < sizeof(SPEC_ERRORS) / sizeof(SPEC_ERRORS[0]); i++) {
		const struct spec_error *e = &SPEC_ERRORS[i];
		sm_fwspec *s = (sm_fwspec *)&s; /* not NULL: parse must clear it */
		sm_err err;
		sm_err_clear(&err);
		const int rc = sm_fwspec_parse(e->text, &s, &err);
		if (rc != e->code)
			print_error("spec '%s': expected %d, got %d (%s)\n", e->text, e->code, rc, err.msg);
		assert_int_equal(rc, e->code);
		assert_null(s);
		assert_int_equal(err.code, e->code);
		assert_string_equal(err.field, "firmware");
		for (size_t k = 0; k < 3 && e->needles[k]; k++) {
			if (!strstr(err.msg, e->needles[k]))
				print_error("spec '%s': message '%s' lacks '%s'\n", e->text, err.msg,
					    e->needles[k]);
			assert_non_null(strstr(err.msg, e->needles[k]));
		}
	}
}

/* A spec of `n` items, each `len` bytes ("1." then digits), joined by `sep`. */
static char *make_spec(size_t n, size_t len, const char *sep)
{
	const size_t cap = n * (len + strlen(sep)) + 1;
	char *t = malloc(cap);
	assert_non_null(t);
	size_t o = 0;
	for (size_t i = 0; i < n; i++) {
		if (i) {
			memcpy(t + o, sep, strlen(sep));
			o += strlen(sep);
		}
		t[o++] = '1';
		t[o++] = '.';
		for (size_t k = 2; k < len; k++)
			t[o++] = (char)('0' + (i + k) % 10);
	}
	t[o] = '\0';
	return t;
}

static void test_version_fwspec_caps(void **state)
{
	(void)state;
	sm_err err;
	sm_fwspec *s = NULL;

	/* SM_FWSPEC_MAX_ITEMS items pass, one more is too many and named */
	char *t = make_spec(SM_FWSPEC_MAX_ITEMS, 3, ",");
	s = parse_ok(t);
	assert_int_equal(sm_fwspec_count(s), SM_FWSPEC_MAX_ITEMS);
	sm_fwspec_free(s);
	free(t);
	t = make_spec(SM_FWSPEC_MAX_ITEMS + 1, 3, ",");
	sm_err_clear(&err);
	assert_int_equal(sm_fwspec_parse(t, &s, &err), SM_ETOOBIG);
	assert_null(s);
	assert_string_equal(err.field, "firmware");
	assert_non_null(strstr(err.msg, "item 129"));
	assert_non_null(strstr(err.msg, "128 items"));
	free(t);

	/* SM_FWSPEC_MAX bytes pass (trailing blanks count), one more byte is too big */
	char big[SM_FWSPEC_MAX + 2];
	memset(big, ' ', sizeof(big));
	memcpy(big, "1.0", 3);
	big[SM_FWSPEC_MAX] = '\0';
	s = parse_ok(big);
	sm_fwspec_free(s);
	big[SM_FWSPEC_MAX] = ' ';
	big[SM_FWSPEC_MAX + 1] = '\0';
	sm_err_clear(&err);
	assert_int_equal(sm_fwspec_parse(big, &s, &err), SM_ETOOBIG);
	assert_null(s);
	assert_non_null(strstr(err.msg, "4096 bytes"));

	/*
	 * The canonical text (", " between items) may not pass SM_FWSPEC_MAX either, so that every
	 * spec starmark stores can be parsed again: 128 items of 30 bytes fit (4094), of 31 do not.
	 */
	t = make_spec(SM_FWSPEC_MAX_ITEMS, 30, ",");
	s = parse_ok(t);
	char *f = sm_fwspec_format(s);
	assert_int_equal(strlen(f), 4094);
	free(f);
	sm_fwspec_free(s);
	free(t);
	t = make_spec(SM_FWSPEC_MAX_ITEMS, 31, ",");
	assert_true(strlen(t) <= SM_FWSPEC_MAX);
	sm_err_clear(&err);
	assert_int_equal(sm_fwspec_parse(t, &s, &err), SM_ETOOBIG);
	assert_null(s);
	assert_non_null(strstr(err.msg, "canonical"));
	assert_non_null(strstr(err.msg, "item 125"));
	free(t);
}

static void test_version_fwspec_merge(void **state)
{
	(void)state;
	sm_fwspec *dst = parse_ok(">=1.0 <2.0");
	sm_fwspec *add = parse_ok("2.0.1, >=3");
	assert_int_equal(sm_fwspec_merge(dst, add), 0);
	assert_int_equal(sm_fwspec_count(dst), 3);
	char *f = sm_fwspec_format(dst);
	assert_string_equal(f, ">=1.0 <2.0, 2.0.1, >=3");
	free(f);
	expect_covers(dst, "3.1", true);
	/* merging a spec into itself doubles it */
	assert_int_equal(sm_fwspec_merge(dst, dst), 0);
	assert_int_equal(sm_fwspec_count(dst), 6);
	f = sm_fwspec_format(dst);
	assert_string_equal(f, ">=1.0 <2.0, 2.0.1, >=3, >=1.0 <2.0, 2.0.1, >=3");
	free(f);
	sm_fwspec_free(add);

	/* past the item cap: SM_ETOOBIG and dst unchanged */
	char *t = make_spec(SM_FWSPEC_MAX_ITEMS - 5, 3, ",");
	add = parse_ok(t);
	free(t);
	assert_int_equal(sm_fwspec_merge(dst, add), SM_ETOOBIG);
	assert_int_equal(sm_fwspec_count(dst), 6);
	f = sm_fwspec_format(dst);
	assert_string_equal(f, ">=1.0 <2.0, 2.0.1, >=3, >=1.0 <2.0, 2.0.1, >=3");
	free(f);
	sm_fwspec_free(add);
	sm_fwspec_free(dst);

	/* past the canonical byte cap */
	t = make_spec(64, 31, ",");
	dst = parse_ok(t);
	add = parse_ok(t);
	free(t);
	assert_int_equal(sm_fwspec_merge(dst, add), SM_ETOOBIG);
	assert_int_equal(sm_fwspec_count(dst), 64);
	sm_fwspec_free(add);
	sm_fwspec_free(dst);
	sm_fwspec_free(NULL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_version_compare_hand_picked),
		cmocka_unit_test(test_version_compare_returns_unit_sign),
		cmocka_unit_test(test_version_compare_sorts_vendor_strings),
		cmocka_unit_test(test_version_compare_matches_dpkg),
		cmocka_unit_test(test_version_validate_accepts),
		cmocka_unit_test(test_version_validate_rejects),
		cmocka_unit_test(test_version_fwspec_format_canonical),
		cmocka_unit_test(test_version_fwspec_covers),
		cmocka_unit_test(test_version_fwspec_rejects),
		cmocka_unit_test(test_version_fwspec_caps),
		cmocka_unit_test(test_version_fwspec_merge),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
