/* SPDX-License-Identifier: Apache-2.0 */
/* Unit tests for the CSV reader: RFC 4180 syntax, line numbers, strict errors, recovery, caps. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "starmark/buf.h"
#include "starmark/csv.h"

/* A reader over a string literal (which may hold NUL bytes: pass the size). */
static sm_csv *open_n(const char *data, size_t n)
{
	sm_csv *r = NULL;
	assert_int_equal(sm_csv_new(data, n, &r), 0);
	assert_non_null(r);
	return r;
}

#define OPEN(lit) open_n((lit), sizeof(lit) - 1)

/* Expect the next record to start on `line` and hold exactly the NULL-terminated field list. */
static void expect_record(sm_csv *r, size_t line, ...)
{
	const char **fields = NULL;
	const size_t *lens = NULL;
	size_t nfields = 0, got_line = 0;
	sm_err err;
	va_list ap;
	size_t i = 0;

	sm_err_clear(&err);
	int rc = sm_csv_next(r, &fields, &lens, &nfields, &got_line, &err);
	if (rc != 1)
		fail_msg("expected a record on line %zu, got rc %d (%s)", line, rc, err.msg);
	assert_int_equal(got_line, line);
	va_start(ap, line);
	for (const char *want = va_arg(ap, const char *); want; want = va_arg(ap, const char *), i++) {
		if (i >= nfields)
			fail_msg("line %zu: expected field %zu \"%s\", the record has only %zu fields",
				 line, i + 1, want, nfields);
		assert_string_equal(fields[i], want);
		assert_int_equal(lens[i], strlen(want));
		assert_int_equal(fields[i][lens[i]], '\0');
	}
	va_end(ap);
	assert_int_equal(nfields, i);
}

/* Expect an error with `code` whose message holds `where` ("line 3, column 2") and `what`. */
static void expect_error(sm_csv *r, int code, size_t line, const char *where, const char *what)
{
	const char **fields = NULL;
	const size_t *lens = NULL;
	size_t nfields = 99, got_line = 0;
	sm_err err;

	sm_err_clear(&err);
	assert_int_equal(sm_csv_next(r, &fields, &lens, &nfields, &got_line, &err), code);
	assert_int_equal(err.code, code);
	assert_int_equal(err.line, line);
	assert_int_equal(got_line, line);
	assert_int_equal(nfields, 0);
	if (!strstr(err.msg, where) || strncmp(err.msg, where, strlen(where)) != 0)
		fail_msg("expected the message to start with \"%s\", got \"%s\"", where, err.msg);
	if (!strstr(err.msg, what))
		fail_msg("expected the message to name \"%s\", got \"%s\"", what, err.msg);
}

static void expect_end(sm_csv *r)
{
	const char **fields = NULL;
	const size_t *lens = NULL;
	size_t nfields = 99, line = 0;
	sm_err err;

	sm_err_clear(&err);
	assert_int_equal(sm_csv_next(r, &fields, &lens, &nfields, &line, &err), 0);
	assert_int_equal(nfields, 0);
	/* and it stays at the end */
	assert_int_equal(sm_csv_next(r, &fields, &lens, &nfields, &line, &err), 0);
}

static void test_csv_simple_rows(void **state)
{
	(void)state;
	sm_csv *r = OPEN("id,model,stars\n1,AC-100,4\n2,AC-200,5\n");
	expect_record(r, 1, "id", "model", "stars", NULL);
	expect_record(r, 2, "1", "AC-100", "4", NULL);
	expect_record(r, 3, "2", "AC-200", "5", NULL);
	expect_end(r);
	sm_csv_free(r);
}

static void test_csv_empty_fields(void **state)
{
	(void)state;
	sm_csv *r = OPEN(",,\na,\n,b\n\"\"\n \n");
	expect_record(r, 1, "", "", "", NULL);
	expect_record(r, 2, "a", "", NULL);
	expect_record(r, 3, "", "b", NULL);
	expect_record(r, 4, "", NULL);  /* a quoted empty field is a record, not an empty line */
	expect_record(r, 5, " ", NULL); /* spaces are data */
	expect_end(r);
	sm_csv_free(r);
}

static void test_csv_quoted_commas(void **state)
{
	(void)state;
	sm_csv *r = OPEN("\"a,b\",c,\"d, e, f\"\n\"\",\",\"\n");
	expect_record(r, 1, "a,b", "c", "d, e, f", NULL);
	expect_record(r, 2, "", ",", NULL);
	expect_end(r);
	sm_csv_free(r);
}

static void test_csv_doubled_quotes(void **state)
{
	(void)state;
	sm_csv *r = OPEN("\"say \"\"hi\"\"\",\"\"\"\"\n\"\"\"\"\"\"\n");
	expect_record(r, 1, "say \"hi\"", "\"", NULL);
	expect_record(r, 2, "\"\"", NULL);
	expect_end(r);
	sm_csv_free(r);
}

static void test_csv_embedded_newlines(void **state)
{
	(void)state;
	/* record 1 spans lines 1-3, record 2 lines 4-5 (CRLF inside quotes kept as data), 3 on 6 */
	sm_csv *r = OPEN("a,\"one\ntwo\nthree\",b\n\"x\r\ny\",z\nlast\n");
	expect_record(r, 1, "a", "one\ntwo\nthree", "b", NULL);
	expect_record(r, 4, "x\r\ny", "z", NULL);
	expect_record(r, 6, "last", NULL);
	expect_end(r);
	sm_csv_free(r);

	/* a field that is only line ends, then an error: its line must count them */
	r = OPEN("\"\n\n\n\"\nbad\"\n");
	expect_record(r, 1, "\n\n\n", NULL);
	expect_error(r, SM_EINVAL, 5, "line 5, column 4:", "quote inside an unquoted field");
	expect_end(r);
	sm_csv_free(r);
}

static void test_csv_crlf(void **state)
{
	(void)state;
	sm_csv *r = OPEN("a,b\r\n\"c\",d\r\n\r\ne,\"f\"\r\n");
	expect_record(r, 1, "a", "b", NULL);
	expect_record(r, 2, "c", "d", NULL);
	expect_record(r, 4, "e", "f", NULL);
	expect_end(r);
	sm_csv_free(r);
}

static void test_csv_bom(void **state)
{
	(void)state;
	sm_csv *r = OPEN("\xEF\xBB\xBFid,name\n1,x\n");
	expect_record(r, 1, "id", "name", NULL);
	expect_record(r, 2, "1", "x", NULL);
	expect_end(r);
	sm_csv_free(r);

	/* columns do not count the BOM; a BOM anywhere else is an ordinary character (U+FEFF) */
	r = OPEN("\xEF\xBB\xBF" "ab\"\n\xEF\xBB\xBFx\n");
	expect_error(r, SM_EINVAL, 1, "line 1, column 3:", "quote inside an unquoted field");
	expect_record(r, 2, "\xEF\xBB\xBFx", NULL);
	expect_end(r);
	sm_csv_free(r);

	r = OPEN("\xEF\xBB\xBF");
	expect_end(r);
	sm_csv_free(r);
}

static void test_csv_empty_lines(void **state)
{
	(void)state;
	sm_csv *r = OPEN("\n\r\na\n\n\n\r\nb\n\n");
	expect_record(r, 3, "a", NULL);
	expect_record(r, 7, "b", NULL);
	expect_end(r);
	sm_csv_free(r);

	r = OPEN("\n\n\r\n");
	expect_end(r);
	sm_csv_free(r);
}

static void test_csv_trailing_newline(void **state)
{
	(void)state;
	sm_csv *with = OPEN("a,b\nc,d\n");
	sm_csv *without = OPEN("a,b\nc,d");
	sm_csv *crlf = OPEN("a,b\r\nc,\"d\"\r\n");
	sm_csv *quoted = OPEN("a,b\nc,\"d\"");
	sm_csv *all[] = { with, without, crlf, quoted };
	for (size_t i = 0; i < 4; i++) {
		expect_record(all[i], 1, "a", "b", NULL);
		expect_record(all[i], 2, "c", "d", NULL);
		expect_end(all[i]);
		sm_csv_free(all[i]);
	}

	/* a trailing comma on the last line is an empty last field */
	sm_csv *r = OPEN("a,");
	expect_record(r, 1, "a", "", NULL);
	expect_end(r);
	sm_csv_free(r);
}

static void test_csv_japanese(void **state)
{
	(void)state;
	/* 冷蔵庫 (refrigerator), エアコン (air conditioner), a 4-byte emoji, and U+00E9 */
	sm_csv *r = OPEN("製品名,メーカー\n"
			 "\"冷蔵庫, 大型\",株式会社テスト\n"
			 "エアコン,\xF0\x9F\x8C\x9F caf\xC3\xA9\n");
	expect_record(r, 1, "製品名", "メーカー", NULL);
	expect_record(r, 2, "冷蔵庫, 大型", "株式会社テスト", NULL);
	expect_record(r, 3, "エアコン", "\xF0\x9F\x8C\x9F caf\xC3\xA9", NULL);
	expect_end(r);
	sm_csv_free(r);

	/* columns count characters, not bytes: the quote is the 6th character */
	r = OPEN("冷蔵庫,x\"\n");
	expect_error(r, SM_EINVAL, 1, "line 1, column 6:", "quote inside an unquoted field");
	expect_end(r);
	sm_csv_free(r);
}

static void test_csv_utf8_boundaries_accepted(void **state)
{
	(void)state;
	/* U+0080, U+07FF, U+0800, U+D7FF, U+E000, U+FFFF, U+10000, U+10FFFF */
	sm_csv *r = OPEN("\xC2\x80,\xDF\xBF,\xE0\xA0\x80,\xED\x9F\xBF,\xEE\x80\x80,\xEF\xBF\xBF,"
			 "\xF0\x90\x80\x80,\xF4\x8F\xBF\xBF\n");
	expect_record(r, 1, "\xC2\x80", "\xDF\xBF", "\xE0\xA0\x80", "\xED\x9F\xBF", "\xEE\x80\x80",
		      "\xEF\xBF\xBF", "\xF0\x90\x80\x80", "\xF4\x8F\xBF\xBF", NULL);
	expect_end(r);
	sm_csv_free(r);
}

static void test_csv_empty_input(void **state)
{
	(void)state;
	sm_csv *r = open_n(NULL, 0);
	expect_end(r);
	sm_csv_free(r);
	r = open_n("", 0);
	expect_end(r);
	sm_csv_free(r);
}

static void test_csv_single_field(void **state)
{
	(void)state;
	sm_csv *r = OPEN("hello");
	expect_record(r, 1, "hello", NULL);
	expect_end(r);
	sm_csv_free(r);

	r = OPEN("\"hello, world\"");
	expect_record(r, 1, "hello, world", NULL);
	expect_end(r);
	sm_csv_free(r);
}

static void test_csv_error_unterminated_quote(void **state)
{
	(void)state;
	/* the error names where the quote opened; the rest of the input is inside it */
	sm_csv *r = OPEN("a,b\nc,\"open\nmore\n");
	expect_record(r, 1, "a", "b", NULL);
	expect_error(r, SM_EINVAL, 2, "line 2, column 3:", "unterminated quote");
	expect_end(r);
	sm_csv_free(r);

	r = OPEN("\"");
	expect_error(r, SM_EINVAL, 1, "line 1, column 1:", "unterminated quote");
	expect_end(r);
	sm_csv_free(r);

	/* a doubled quote at the very end is a quote character, not the closing quote */
	r = OPEN("\"abc\"\"");
	expect_error(r, SM_EINVAL, 1, "line 1, column 1:", "unterminated quote");
	expect_end(r);
	sm_csv_free(r);
}

static void test_csv_error_quote_in_unquoted(void **state)
{
	(void)state;
	sm_csv *r = OPEN("ok\nab\"c,d\n \"x\"\nfine\n");
	expect_record(r, 1, "ok", NULL);
	expect_error(r, SM_EINVAL, 2, "line 2, column 3:", "a quote inside an unquoted field (field 1)");
	/* a space before the opening quote makes the field unquoted */
	expect_error(r, SM_EINVAL, 3, "line 3, column 2:", "a quote inside an unquoted field");
	expect_record(r, 4, "fine", NULL);
	expect_end(r);
	sm_csv_free(r);
}

static void test_csv_error_text_after_quote(void **state)
{
	(void)state;
	sm_csv *r = OPEN("a\nx,\"abc\"def,g\n\"q\" ,z\n\"r\"\rs\nend");
	expect_record(r, 1, "a", NULL);
	expect_error(r, SM_EINVAL, 2, "line 2, column 8:", "text after a closing quote in field 2 ('d')");
	expect_error(r, SM_EINVAL, 3, "line 3, column 4:",
		     "text after a closing quote in field 1 (byte 0x20)");
	expect_error(r, SM_EINVAL, 4, "line 4, column 4:", "text after a closing quote");
	expect_record(r, 5, "end", NULL);
	expect_end(r);
	sm_csv_free(r);
}

static void test_csv_error_bare_cr(void **state)
{
	(void)state;
	sm_csv *r = OPEN("a\rb,c\nd\n");
	expect_error(r, SM_EINVAL, 1, "line 1, column 2:", "carriage return not followed by a line feed");
	expect_record(r, 2, "d", NULL);
	expect_end(r);
	sm_csv_free(r);
}

static void test_csv_error_nul(void **state)
{
	(void)state;
	sm_csv *r = OPEN("a,b\x00" "c\n\"x\x00\"\nok\n");
	expect_error(r, SM_EINVAL, 1, "line 1, column 4:", "a NUL byte in field 2");
	expect_error(r, SM_EINVAL, 2, "line 2, column 3:", "NUL byte");
	expect_record(r, 3, "ok", NULL);
	expect_end(r);
	sm_csv_free(r);
}

static void test_csv_error_invalid_utf8(void **state)
{
	(void)state;
	static const struct {
		const char *in;
		size_t len;
		const char *where;
		const char *why;
	} cases[] = {
		{ "ab\xC0\x80\n", 5, "line 1, column 3:", "field 1: an overlong encoding (byte 0xC0)" },
		{ "\xC1\xBF\n", 3, "line 1, column 1:", "field 1: an overlong encoding (byte 0xC1)" },
		{ "x,\xE0\x80\x80\n", 6, "line 1, column 3:", "field 2: an overlong encoding (byte 0xE0)" },
		{ "\xF0\x8F\xBF\xBF\n", 5, "line 1, column 1:", "field 1: an overlong encoding (byte 0xF0)" },
		{ "\xED\xA0\x80\n", 4, "line 1, column 1:", "field 1: a UTF-16 surrogate (byte 0xED)" },
		{ "\"\xED\xBF\xBF\"\n", 6, "line 1, column 2:", "field 1: a UTF-16 surrogate (byte 0xED)" },
		{ "\xF4\x90\x80\x80\n", 5, "line 1, column 1:",
		  "field 1: a code point above U+10FFFF (byte 0xF4)" },
		{ "\xF5\x80\x80\x80\n", 5, "line 1, column 1:",
		  "field 1: a code point above U+10FFFF (byte 0xF5)" },
		{ "\xFF\n", 2, "line 1, column 1:",
		  "field 1: a byte that never occurs in UTF-8 (byte 0xFF)" },
		{ "a\x80\n", 3, "line 1, column 2:",
		  "field 1: a continuation byte with no lead byte (byte 0x80)" },
		{ "\xE3\x81\n", 3, "line 1, column 1:",
		  "field 1: an incomplete multi-byte sequence (byte 0xE3)" },
		{ "\xE3\x81", 2, "line 1, column 1:",
		  "field 1: an incomplete multi-byte sequence (byte 0xE3)" },
		{ "\xE3\x81" "a\n", 4, "line 1, column 1:", "field 1: an incomplete multi-byte sequence" },
		{ "\"\xF0\x9F\x8C\"", 5, "line 1, column 2:", "field 1: an incomplete multi-byte sequence" },
		{ "\xC3", 1, "line 1, column 1:", "field 1: an incomplete multi-byte sequence (byte 0xC3)" },
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		char what[160];
		snprintf(what, sizeof(what), "invalid UTF-8 in %s", cases[i].why);
		sm_csv *r = open_n(cases[i].in, cases[i].len);
		expect_error(r, SM_EINVAL, 1, cases[i].where, what);
		expect_end(r);
		sm_csv_free(r);
	}
}

static void test_csv_recovery(void **state)
{
	(void)state;
	/* bad rows on lines 3 and 7 around a two-line record; every good row comes back with its line */
	sm_csv *r = OPEN("id,name\n"
			 "1,alpha\n"
			 "2,\"be\"ta\n"
			 "3,gamma\n"
			 "4,\"del\nta\"\n"
			 "5,ep\"silon\n"
			 "6,zeta\n");
	expect_record(r, 1, "id", "name", NULL);
	expect_record(r, 2, "1", "alpha", NULL);
	expect_error(r, SM_EINVAL, 3, "line 3, column 7:", "text after a closing quote");
	expect_record(r, 4, "3", "gamma", NULL);
	expect_record(r, 5, "4", "del\nta", NULL);
	expect_error(r, SM_EINVAL, 7, "line 7, column 5:", "quote inside an unquoted field");
	expect_record(r, 8, "6", "zeta", NULL);
	expect_end(r);
	sm_csv_free(r);

	/* the same with single-line records only: errors on lines 3 and 6 */
	r = OPEN("a\nb\nc\x00\nd\ne\n\xFF\nf");
	expect_record(r, 1, "a", NULL);
	expect_record(r, 2, "b", NULL);
	expect_error(r, SM_EINVAL, 3, "line 3, column 2:", "NUL byte");
	expect_record(r, 4, "d", NULL);
	expect_record(r, 5, "e", NULL);
	expect_error(r, SM_EINVAL, 6, "line 6, column 1:", "invalid UTF-8");
	expect_record(r, 7, "f", NULL);
	expect_end(r);
	sm_csv_free(r);

	/* an error on the second line of a quoted field resumes on the line after it */
	r = OPEN("\"ab\ncd\"x\nok\r\n");
	expect_error(r, SM_EINVAL, 2, "line 2, column 4:", "text after a closing quote");
	expect_record(r, 3, "ok", NULL);
	expect_end(r);
	sm_csv_free(r);

	/* the reader works without an error struct too */
	r = OPEN("a\"\nb\n");
	const char **f = NULL;
	const size_t *l = NULL;
	size_t nf = 0, line = 0;
	assert_int_equal(sm_csv_next(r, &f, &l, &nf, &line, NULL), SM_EINVAL);
	assert_int_equal(line, 1);
	assert_int_equal(sm_csv_next(r, &f, &l, &nf, &line, NULL), 1);
	assert_int_equal(line, 2);
	assert_string_equal(f[0], "b");
	sm_csv_free(r);
}

/* `n` fields "x" joined by commas, then "\nnext\n". */
static char *many_fields(size_t n, size_t *len)
{
	sm_buf b = SM_BUF_INIT;
	for (size_t i = 0; i < n; i++)
		assert_int_equal(sm_buf_puts(&b, i ? ",x" : "x"), 0);
	assert_int_equal(sm_buf_puts(&b, "\nnext\n"), 0);
	return (char *)sm_buf_take(&b, len);
}

static void test_csv_cap_fields(void **state)
{
	(void)state;
	const char **f = NULL;
	const size_t *l = NULL;
	size_t nf = 0, line = 0, len = 0;
	sm_err err;

	char *ok = many_fields(SM_CSV_MAX_FIELDS, &len);
	sm_csv *r = open_n(ok, len);
	assert_int_equal(sm_csv_next(r, &f, &l, &nf, &line, &err), 1);
	assert_int_equal(nf, SM_CSV_MAX_FIELDS);
	assert_string_equal(f[SM_CSV_MAX_FIELDS - 1], "x");
	expect_record(r, 2, "next", NULL);
	expect_end(r);
	sm_csv_free(r);
	free(ok);

	char *over = many_fields(SM_CSV_MAX_FIELDS + 1, &len);
	r = open_n(over, len);
	/* field 65 starts at column 2 * 64 + 1 */
	expect_error(r, SM_ETOOBIG, 1, "line 1, column 129:", "more than 64 fields (the cap per record)");
	expect_record(r, 2, "next", NULL);
	expect_end(r);
	sm_csv_free(r);
	free(over);

	/* a trailing comma opens field 65 too */
	r = OPEN("a,a,a,a,a,a,a,a,a,a,a,a,a,a,a,a,a,a,a,a,a,a,a,a,a,a,a,a,a,a,a,a,"
		 "a,a,a,a,a,a,a,a,a,a,a,a,a,a,a,a,a,a,a,a,a,a,a,a,a,a,a,a,a,a,a,a,");
	expect_error(r, SM_ETOOBIG, 1, "line 1, column 129:", "more than 64 fields");
	expect_end(r);
	sm_csv_free(r);
}

/* A line "<prefix><fill × count><suffix>\nnext\n". */
static char *make_line(const char *prefix, char fill, size_t count, const char *suffix, size_t *len)
{
	sm_buf b = SM_BUF_INIT;
	assert_int_equal(sm_buf_puts(&b, prefix), 0);
	for (size_t i = 0; i < count; i++)
		assert_int_equal(sm_buf_append(&b, &fill, 1), 0);
	assert_int_equal(sm_buf_puts(&b, suffix), 0);
	assert_int_equal(sm_buf_puts(&b, "\nnext\n"), 0);
	return (char *)sm_buf_take(&b, len);
}

static void test_csv_cap_field_bytes(void **state)
{
	(void)state;
	const char **f = NULL;
	const size_t *l = NULL;
	size_t nf = 0, line = 0, len = 0;
	sm_err err;

	/* exactly at the cap, plain and quoted (quotes do not count toward the field) */
	const char *prefixes[] = { "a,", "a,\"" };
	const char *suffixes[] = { ",b", "\",b" };
	for (int q = 0; q < 2; q++) {
		char *in = make_line(prefixes[q], 'y', SM_CSV_MAX_FIELD, suffixes[q], &len);
		sm_csv *r = open_n(in, len);
		assert_int_equal(sm_csv_next(r, &f, &l, &nf, &line, &err), 1);
		assert_int_equal(nf, 3);
		assert_int_equal(l[1], SM_CSV_MAX_FIELD);
		assert_int_equal(strlen(f[1]), SM_CSV_MAX_FIELD);
		assert_string_equal(f[2], "b");
		expect_record(r, 2, "next", NULL);
		sm_csv_free(r);
		free(in);

		/* one over: the fault is the 8193rd byte, at column 3 + 8192 (+1 when quoted) */
		in = make_line(prefixes[q], 'y', SM_CSV_MAX_FIELD + 1, suffixes[q], &len);
		r = open_n(in, len);
		expect_error(r, SM_ETOOBIG, 1, q ? "line 1, column 8196:" : "line 1, column 8195:",
			     "field 2 is longer than 8192 bytes (the cap per field)");
		expect_record(r, 2, "next", NULL);
		expect_end(r);
		sm_csv_free(r);
		free(in);
	}

	/* a doubled quote decodes to one byte, so 8192 of them fit */
	sm_buf b = SM_BUF_INIT;
	assert_int_equal(sm_buf_puts(&b, "\""), 0);
	for (size_t i = 0; i < SM_CSV_MAX_FIELD; i++)
		assert_int_equal(sm_buf_puts(&b, "\"\""), 0);
	assert_int_equal(sm_buf_puts(&b, "\""), 0);
	sm_csv *r = open_n((const char *)b.data, b.len);
	assert_int_equal(sm_csv_next(r, &f, &l, &nf, &line, &err), 1);
	assert_int_equal(nf, 1);
	assert_int_equal(l[0], SM_CSV_MAX_FIELD);
	assert_int_equal(f[0][0], '"');
	expect_end(r);
	sm_csv_free(r);
	sm_buf_cleanup(&b);

	/* a multi-byte character that would cross the cap is refused whole */
	assert_int_equal(sm_buf_puts(&b, "\""), 0);
	for (size_t i = 0; i < SM_CSV_MAX_FIELD - 2; i++)
		assert_int_equal(sm_buf_puts(&b, "z"), 0);
	assert_int_equal(sm_buf_puts(&b, "日\"\n"), 0);
	r = open_n((const char *)b.data, b.len);
	expect_error(r, SM_ETOOBIG, 1, "line 1, column 8192:", "longer than 8192 bytes");
	expect_end(r);
	sm_csv_free(r);
	sm_buf_cleanup(&b);
}

/* A record of exactly `size` raw bytes: 7 full fields of 8192 and a shorter last one. */
static char *record_of(size_t size, const char *eol, size_t *len)
{
	sm_buf b = SM_BUF_INIT;
	const size_t full = 7 * SM_CSV_MAX_FIELD + 7;
	for (size_t i = 0; i < 7; i++) {
		for (size_t j = 0; j < SM_CSV_MAX_FIELD; j++)
			assert_int_equal(sm_buf_append(&b, "r", 1), 0);
		assert_int_equal(sm_buf_append(&b, ",", 1), 0);
	}
	for (size_t j = full; j < size; j++)
		assert_int_equal(sm_buf_append(&b, "s", 1), 0);
	assert_int_equal(sm_buf_puts(&b, eol), 0);
	assert_int_equal(sm_buf_puts(&b, "next"), 0);
	assert_int_equal(sm_buf_puts(&b, eol), 0);
	return (char *)sm_buf_take(&b, len);
}

static void test_csv_cap_record_bytes(void **state)
{
	(void)state;
	const char **f = NULL;
	const size_t *l = NULL;
	size_t nf = 0, line = 0, len = 0;
	sm_err err;

	/* exactly at the cap; the line end is not part of the record */
	const char *eols[] = { "\n", "\r\n" };
	for (int e = 0; e < 2; e++) {
		char *in = record_of(SM_CSV_MAX_RECORD, eols[e], &len);
		sm_csv *r = open_n(in, len);
		assert_int_equal(sm_csv_next(r, &f, &l, &nf, &line, &err), 1);
		assert_int_equal(nf, 8);
		size_t total = nf - 1;
		for (size_t i = 0; i < nf; i++)
			total += l[i];
		assert_int_equal(total, SM_CSV_MAX_RECORD);
		expect_record(r, 2, "next", NULL);
		expect_end(r);
		sm_csv_free(r);
		free(in);

		in = record_of(SM_CSV_MAX_RECORD + 1, eols[e], &len);
		r = open_n(in, len);
		expect_error(r, SM_ETOOBIG, 1, "line 1, column 65537:",
			     "the record is longer than 65536 bytes (the cap per record)");
		expect_record(r, 2, "next", NULL);
		expect_end(r);
		sm_csv_free(r);
		free(in);
	}

	/*
	 * A doubled quote is two raw bytes: after 7 fields (57,351 bytes), `"x` then 4,091 pairs and
	 * the closing quote end exactly at 65,536; with 4,092 pairs the last pair is bytes 65,536-7.
	 */
	for (size_t pairs = 4091; pairs <= 4092; pairs++) {
		sm_buf q = SM_BUF_INIT;
		for (size_t i = 0; i < 7; i++) {
			for (size_t j = 0; j < SM_CSV_MAX_FIELD; j++)
				assert_int_equal(sm_buf_append(&q, "r", 1), 0);
			assert_int_equal(sm_buf_append(&q, ",", 1), 0);
		}
		assert_int_equal(sm_buf_puts(&q, "\"x"), 0);
		for (size_t j = 0; j < pairs; j++)
			assert_int_equal(sm_buf_puts(&q, "\"\""), 0);
		assert_int_equal(sm_buf_puts(&q, "\"\nnext\n"), 0);
		sm_csv *r = open_n((const char *)q.data, q.len);
		if (pairs == 4091) {
			assert_int_equal(sm_csv_next(r, &f, &l, &nf, &line, &err), 1);
			assert_int_equal(nf, 8);
			assert_int_equal(l[7], 1 + pairs);
		} else {
			expect_error(r, SM_ETOOBIG, 1, "line 1, column 65536:", "longer than 65536 bytes");
		}
		expect_record(r, 2, "next", NULL);
		expect_end(r);
		sm_csv_free(r);
		sm_buf_cleanup(&q);
	}

	/* quotes and commas count too: a closing quote, an opening quote, a comma as byte 65,537 */
	const char *tails[] = { "\"%0\"", "%1,\"q\"", "%0," };
	for (size_t t = 0; t < 3; t++) {
		sm_buf q = SM_BUF_INIT;
		for (size_t i = 0; i < 7; i++) {
			for (size_t j = 0; j < SM_CSV_MAX_FIELD; j++)
				assert_int_equal(sm_buf_append(&q, "r", 1), 0);
			assert_int_equal(sm_buf_append(&q, ",", 1), 0);
		}
		for (const char *p = tails[t]; *p; p++) {
			if (*p != '%') {
				assert_int_equal(sm_buf_append(&q, p, 1), 0);
				continue;
			}
			/* fill so that the quote or comma right after (%0), or one byte later (%1),
			 * is byte 65,537 */
			size_t fill = SM_CSV_MAX_RECORD - q.len - (*++p == '0' ? 0 : 1);
			for (size_t j = 0; j < fill; j++)
				assert_int_equal(sm_buf_append(&q, "y", 1), 0);
		}
		assert_int_equal(sm_buf_puts(&q, "\nnext\n"), 0);
		sm_csv *r = open_n((const char *)q.data, q.len);
		expect_error(r, SM_ETOOBIG, 1, "line 1, column 65537:", "longer than 65536 bytes");
		expect_record(r, 2, "next", NULL);
		expect_end(r);
		sm_csv_free(r);
		sm_buf_cleanup(&q);
	}

	/* a record over the cap across lines names the line where it started */
	sm_buf b = SM_BUF_INIT;
	assert_int_equal(sm_buf_puts(&b, "ok\n"), 0);
	for (size_t i = 0; i < 9; i++) {
		assert_int_equal(sm_buf_puts(&b, "\""), 0);
		for (size_t j = 0; j < 8000; j++)
			assert_int_equal(sm_buf_puts(&b, i == 8 ? "w" : "v"), 0);
		assert_int_equal(sm_buf_puts(&b, "\n\","), 0);
	}
	assert_int_equal(sm_buf_puts(&b, "\nafter\n"), 0);
	sm_csv *r = open_n((const char *)b.data, b.len);
	expect_record(r, 1, "ok", NULL);
	/*
	 * Raw bytes per field: quote + 8000 + LF + quote + comma = 8004; 8 fields = 64032 bytes, the
	 * 9th opens on line 10 at column 3 and its 1504th 'w' (column 1507) is byte 65537.
	 */
	expect_error(r, SM_ETOOBIG, 10, "line 10, column 1507:", "the record starting on line 2 is longer");
	/* resumes on line 11, inside the broken record: its tail reads as an unclosed quote */
	expect_error(r, SM_EINVAL, 11, "line 11, column 1:", "unterminated quote");
	expect_end(r);
	sm_csv_free(r);
	sm_buf_cleanup(&b);
}

static void test_csv_many_rows(void **state)
{
	(void)state;
	/* an import-sized file: 100,000 rows */
	sm_buf b = SM_BUF_INIT;
	const size_t rows = 100000;
	assert_int_equal(sm_buf_puts(&b, "id,model,note,name\r\n"), 0);
	for (size_t i = 0; i < rows; i++)
		assert_int_equal(sm_buf_printf(&b, "%zu,AC-%zu,\"cool, \"\"quiet\"\"\",冷蔵庫\r\n",
					       i, i * 7), 0);
	sm_csv *r = open_n((const char *)b.data, b.len);
	const char **f = NULL;
	const size_t *l = NULL;
	size_t nf = 0, line = 0, count = 0;
	sm_err err;
	int rc;
	expect_record(r, 1, "id", "model", "note", "name", NULL);
	while ((rc = sm_csv_next(r, &f, &l, &nf, &line, &err)) == 1) {
		assert_int_equal(nf, 4);
		assert_int_equal(line, count + 2);
		assert_int_equal(strtoull(f[0], NULL, 10), count);
		assert_string_equal(f[2], "cool, \"quiet\"");
		count++;
	}
	assert_int_equal(rc, 0);
	assert_int_equal(count, rows);
	sm_csv_free(r);
	sm_buf_cleanup(&b);
}

static void test_csv_bad_arguments(void **state)
{
	(void)state;
	sm_csv *r = NULL;
	sm_err err;
	assert_int_equal(sm_csv_new(NULL, 3, &r), SM_EINVAL);
	assert_null(r);
	assert_int_equal(sm_csv_new("a", 1, NULL), SM_EINVAL);
	size_t nf = 0;
	const size_t *l = NULL;
	assert_int_equal(sm_csv_next(NULL, NULL, &l, &nf, NULL, &err), SM_EINVAL);
	sm_csv_free(NULL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_csv_simple_rows),
		cmocka_unit_test(test_csv_empty_fields),
		cmocka_unit_test(test_csv_quoted_commas),
		cmocka_unit_test(test_csv_doubled_quotes),
		cmocka_unit_test(test_csv_embedded_newlines),
		cmocka_unit_test(test_csv_crlf),
		cmocka_unit_test(test_csv_bom),
		cmocka_unit_test(test_csv_empty_lines),
		cmocka_unit_test(test_csv_trailing_newline),
		cmocka_unit_test(test_csv_japanese),
		cmocka_unit_test(test_csv_utf8_boundaries_accepted),
		cmocka_unit_test(test_csv_empty_input),
		cmocka_unit_test(test_csv_single_field),
		cmocka_unit_test(test_csv_error_unterminated_quote),
		cmocka_unit_test(test_csv_error_quote_in_unquoted),
		cmocka_unit_test(test_csv_error_text_after_quote),
		cmocka_unit_test(test_csv_error_bare_cr),
		cmocka_unit_test(test_csv_error_nul),
		cmocka_unit_test(test_csv_error_invalid_utf8),
		cmocka_unit_test(test_csv_recovery),
		cmocka_unit_test(test_csv_cap_fields),
		cmocka_unit_test(test_csv_cap_field_bytes),
		cmocka_unit_test(test_csv_cap_record_bytes),
		cmocka_unit_test(test_csv_many_rows),
		cmocka_unit_test(test_csv_bad_arguments),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
