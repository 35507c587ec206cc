/* SPDX-License-Identifier: Apache-2.0 */
/* Unit tests of the search fold (lib/textfold.c): a table of inputs and their folds, malformed input. */
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "starmark/textfold.h"

/* The fold of exactly `n` bytes, copied to a block of that size: a read past the end is ASan's to see. */
static char *fold_n(const char *s, size_t n)
{
	char *in = malloc(n ? n : 1);
	sm_buf b = SM_BUF_INIT;
	assert_non_null(in);
	memcpy(in, s, n);
	assert_int_equal(sm_text_fold(&b, in, n), 0);
	assert_int_equal(sm_buf_terminate(&b), 0);
	free(in);
	return (char *)sm_buf_take(&b, NULL);
}

static char *fold(const char *s)
{
	return fold_n(s, strlen(s));
}

/* Well-formed UTF-8 with no NUL, by the same rules as the decoder. */
static bool valid_utf8(const char *s)
{
	const unsigned char *p = (const unsigned char *)s;
	while (*p) {
		size_t len = *p < 0x80 ? 1 : *p >= 0xC2 && *p <= 0xDF ? 2 : *p >= 0xE0 && *p <= 0xEF ? 3 : *p >= 0xF0 && *p <= 0xF4 ? 4 : 0;
		if (!len)
			return false;
		for (size_t k = 1; k < len; k++)
			if ((p[k] & 0xC0) != 0x80)
				return false;
		p += len;
	}
	return true;
}

static void expect(const char *in, size_t n, const char *want, const char *what)
{
	char *got = fold_n(in, n);
	if (strcmp(got, want) != 0)
		fail_msg("%s: expected '%s', got '%s'", what, want, got);
	if (!valid_utf8(got))
		fail_msg("%s: the fold '%s' is not valid UTF-8", what, got);
	char *again = fold(got);
	if (strcmp(again, got) != 0)
		fail_msg("%s: folding '%s' again gave '%s'", what, got, again);
	free(again);
	free(got);
}

static const struct {
	const char *in, *want, *what;
} TABLE[] = {
	{ "", "", "empty" },
	{ "SECOM Co., Ltd.", "secom co., ltd.", "ASCII lower case" },
	{ "ＳＥＣＯＭ", "secom", "full-width ASCII letters" },
	{ "ＭＣ－３０１Ｖ", "mc-301v", "full-width model number" },
	{ "！～", "!~", "full-width ASCII ends" },
	{ "ｾｺﾑ", "セコム", "half-width katakana" },
	{ "せこむ", "セコム", "hiragana to katakana" },
	{ "セコム株式会社", "セコム株式会社", "katakana and kanji unchanged" },
	{ "ｾﾞ", "ゼ", "half-width voiced mark composes" },
	{ "ﾊﾟﾅｿﾆｯｸ", "パナソニック", "half-width semi-voiced mark and small tsu" },
	{ "ｳﾞ", "ヴ", "u with voiced mark" },
	{ "ﾎﾟﾌﾞﾍﾞﾊﾟ", "ポブベパ", "ha row, both marks" },
	{ "ｶﾞｷﾞｸﾞｹﾞｺﾞｻﾞｼﾞｽﾞｾﾞｿﾞﾀﾞﾁﾞﾂﾞﾃﾞﾄﾞ", "ガギグゲゴザジズゼゾダヂヅデド", "every voiced row" },
	{ "ﾜﾞｦﾞ", "ヷヺ", "wa and wo voiced" },
	{ "か\xe3\x82\x99", "ガ", "combining voiced mark after hiragana" },
	{ "ハ\xe3\x82\x9a", "パ", "combining semi-voiced mark" },
	{ "ｶ\xe3\x82\x99", "ガ", "half-width kana, combining mark" },
	{ "ゝゞ", "ヽヾ", "hiragana iteration marks" },
	{ "ゝ\xe3\x82\x99", "ヾ", "iteration mark composes" },
	{ "ﾝﾞ", "ン゛", "a mark the kana cannot take stays, spacing" },
	{ "ｶﾟ", "カ゜", "ka takes no semi-voiced mark" },
	{ "ﾞ", "゛", "a mark alone" },
	{ "a\xe3\x82\x99", "a゛", "a combining mark after a letter" },
	{ "ガﾞ", "ガ゛", "no second mark on a voiced kana" },
	{ "ｾﾞﾞ", "ゼ゛", "the second mark stays" },
	{ "カ゛", "カ゛", "the spacing mark is not composed" },
	{ "｡｢｣､･ｰ", "。「」、・ー", "half-width punctuation and prolonged sound mark" },
	{ "ｧｨｩｪｫｬｭｮｯ", "ァィゥェォャュョッ", "half-width small kana" },
	{ "ぁゖ", "ァヶ", "hiragana range ends" },
	{ "ゟヿ", "ゟヿ", "yori and koto unchanged" },
	{ "a\xe3\x80\x80" "b", "a b", "ideographic space" },
	{ "a\xc2\xa0" "b", "a b", "no-break space" },
	{ "a\nb\tc\x7f", "a b c ", "controls to space" },
	{ "WV\xe2\x80\x90S4556\xe2\x88\x92LJ", "wv-s4556-lj", "hyphen and minus sign in a model number" },
	{ "A\xe2\x80\x91" "B\xe2\x80\x92" "C\xe2\x80\x93" "D\xef\xb9\xa3" "E", "a-b-c-d-e", "other dashes" },
	{ "\xe3\x80\x9c", "~", "wave dash" },
	{ "Éé", "Éé", "case outside ASCII kept" },
	{ "\xf0\x9f\x98\x80", "\xf0\x9f\x98\x80", "four-byte sequence kept" },
	{ "ㄱ가", "ㄱ가", "other scripts unchanged" },
};

static void test_textfold_table(void **state)
{
	for (size_t i = 0; i < sizeof(TABLE) / sizeof(TABLE[0]); i++)
		expect(TABLE[i].in, strlen(TABLE[i].in), TABLE[i].want, TABLE[i].what);
}

/* The example: every way of writing the company folds to the same text. */
static void test_textfold_secom_forms_meet(void **state)
{
	const char *const forms[] = { "ｾｺﾑ", "セコム", "せこむ", "ｾ\xe3\x82\xb3ム" };
	char *first = fold(forms[0]);
	for (size_t i = 1; i < sizeof(forms) / sizeof(forms[0]); i++) {
		char *f = fold(forms[i]);
		assert_string_equal(f, first);
		free(f);
	}
	free(first);
	char *a = fold("ＳＥＣＯＭ"), *b = fold("secom"), *c = fold("SECOM");
	assert_string_equal(a, b);
	assert_string_equal(c, b);
	free(a);
	free(b);
	free(c);
}

#define FFFD "\xef\xbf\xbd"

static const struct {
	const char *in;
	size_t n;
	const char *want, *what;
} MALFORMED[] = {
	{ "\x80", 1, FFFD, "a lone continuation byte" },
	{ "a\xbf" "b", 3, "a" FFFD "b", "continuation between letters" },
	{ "\xc0\xaf", 2, FFFD FFFD, "overlong two-byte form" },
	{ "\xe0\x80\xaf", 3, FFFD FFFD FFFD, "overlong three-byte form" },
	{ "\xed\xa0\x80", 3, FFFD FFFD FFFD, "a surrogate" },
	{ "\xf4\x90\x80\x80", 4, FFFD FFFD FFFD FFFD, "past U+10FFFF" },
	{ "\xf5\x80", 2, FFFD FFFD, "a lead byte past F4" },
	{ "\xfe\xff", 2, FFFD FFFD, "FE and FF" },
	{ "\xe3\x82", 2, FFFD FFFD, "a three-byte sequence cut at the end" },
	{ "\xef\xbd", 2, FFFD FFFD, "a half-width kana cut at the end" },
	{ "\xf0\x9f\x98", 3, FFFD FFFD FFFD, "a four-byte sequence cut at the end" },
	{ "\xe3" "a", 2, FFFD "a", "a sequence cut by a letter" },
	{ "\xe3\xe3\x82\xbb", 4, FFFD "セ", "a sequence cut by another lead byte" },
	{ "\xef\xbd\xbe\xef\xbe", 5, "セ" FFFD FFFD, "kana, then a mark cut at the end" },
	{ "a\0b", 3, "a b", "a NUL inside the length" },
	{ "\xef\xbd\xb6\xef\xbe\x9e", 4, "カ" FFFD, "the length cuts the mark: the kana stands alone" },
	{ "\xef\xbd\xb6\xef\xbe\x9e", 3, "カ", "the length ends after the kana" },
};

static void test_textfold_malformed(void **state)
{
	for (size_t i = 0; i < sizeof(MALFORMED) / sizeof(MALFORMED[0]); i++)
		expect(MALFORMED[i].in, MALFORMED[i].n, MALFORMED[i].want, MALFORMED[i].what);
}

/* Every prefix of a text mixing every kind is folded without reading past it, to valid UTF-8. */
static void test_textfold_every_prefix(void **state)
{
	const char *s = "ｾﾞｺﾑＳＥＣＯＭか\xe3\x82\x99\xf0\x9f\x98\x80\xe3\x80\x9c";
	for (size_t n = 0; n <= strlen(s); n++) {
		char *got = fold_n(s, n);
		if (!valid_utf8(got))
			fail_msg("prefix of %zu bytes: not valid UTF-8", n);
		free(got);
	}
}

/* The buffer's cap is reported, not overrun. */
static void test_textfold_cap(void **state)
{
	sm_buf b = SM_BUF_INIT;
	b.max = 4;
	assert_int_equal(sm_text_fold(&b, "ｾｺﾑ", strlen("ｾｺﾑ")), SM_ETOOBIG);
	assert_true(b.len <= 4);
	sm_buf_cleanup(&b);
}

/* Terminal columns: ASCII 1, kanji/kana/full-width 2, half-width kana 1, combining marks and controls 0. */
static void test_textfold_width(void **state)
{
	static const struct {
		const char *s;
		size_t want;
	} t[] = {
		{ "", 0 },
		{ "Kitchen", 7 },
		{ "台所", 4 },
		{ "リビング 1", 10 },
		{ "ﾘﾋﾞﾝｸﾞ", 6 },            /* half-width katakana and half-width voicing marks: 1 each */
		{ "か\xe3\x82\x99", 2 },    /* か + combining voiced mark U+3099 */
		{ "e\xcc\x81", 1 },          /* e + combining acute U+0301 */
		{ "ＡＢ", 4 },                /* full-width ASCII */
		{ "★★★", 3 },                /* Ambiguous: one column outside a CJK locale */
		{ "\xf0\x9f\x8f\xa0", 2 }, /* U+1F3E0 house emoji */
		{ "a\tb\x1b", 2 },           /* controls take no column */
		{ "\xff\xfe", 2 },           /* not UTF-8: one U+FFFD each */
		{ "\xe5\x8f", 2 },           /* a sequence cut short: one U+FFFD per byte */
		{ "\xe2\x80\x8b", 0 },      /* zero-width space */
		{ "\xf0\xa0\x80\x8b", 2 }, /* U+2000B, CJK extension B */
	};
	for (size_t i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
		size_t got = sm_text_width(t[i].s, strlen(t[i].s));
		if (got != t[i].want)
			fail_msg("width of '%s': expected %zu columns, got %zu", t[i].s, t[i].want, got);
	}
	/* only n bytes are read */
	assert_int_equal(sm_text_width("台所", 3), 2);
	assert_int_equal(sm_text_width("台所", 4), 3); /* 台, then a cut sequence: one U+FFFD */
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_textfold_table),
		cmocka_unit_test(test_textfold_secom_forms_meet),
		cmocka_unit_test(test_textfold_malformed),
		cmocka_unit_test(test_textfold_every_prefix),
		cmocka_unit_test(test_textfold_cap),
		cmocka_unit_test(test_textfold_width),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
