/* SPDX-License-Identifier: Apache-2.0 */
/* Unit tests of the private CBOR helpers: encoders and the strict reader against RFC 8949 Appendix A. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "cbor_int.h"

/* One RFC 8949 Appendix A example: its value, the type the reader must see, and its bytes. */
struct vec {
	const char *name;
	int type;
	uint64_t u;      /* uint/negint value, count, tag */
	const char *str; /* bytes/text payload */
	size_t slen;
	const char *hex;
};

static const struct vec rfc[] = {
    {"0", SM_CBOR_UINT, 0, NULL, 0, "00"},
    {"1", SM_CBOR_UINT, 1, NULL, 0, "01"},
    {"10", SM_CBOR_UINT, 10, NULL, 0, "0a"},
    {"23", SM_CBOR_UINT, 23, NULL, 0, "17"},
    {"24", SM_CBOR_UINT, 24, NULL, 0, "1818"},
    {"25", SM_CBOR_UINT, 25, NULL, 0, "1819"},
    {"100", SM_CBOR_UINT, 100, NULL, 0, "1864"},
    {"1000", SM_CBOR_UINT, 1000, NULL, 0, "1903e8"},
    {"1000000", SM_CBOR_UINT, 1000000, NULL, 0, "1a000f4240"},
    {"1000000000000", SM_CBOR_UINT, 1000000000000ull, NULL, 0, "1b000000e8d4a51000"},
    {"18446744073709551615", SM_CBOR_UINT, UINT64_MAX, NULL, 0, "1bffffffffffffffff"},
    {"-1", SM_CBOR_NEGINT, 0, NULL, 0, "20"},
    {"-10", SM_CBOR_NEGINT, 9, NULL, 0, "29"},
    {"-100", SM_CBOR_NEGINT, 99, NULL, 0, "3863"},
    {"-1000", SM_CBOR_NEGINT, 999, NULL, 0, "3903e7"},
    {"\"\"", SM_CBOR_TEXT, 0, "", 0, "60"},
    {"\"a\"", SM_CBOR_TEXT, 0, "a", 1, "6161"},
    {"\"IETF\"", SM_CBOR_TEXT, 0, "IETF", 4, "6449455446"},
    {"\"\\\"\\\\\"", SM_CBOR_TEXT, 0, "\"\\", 2, "62225c"},
    {"\"\\u00fc\"", SM_CBOR_TEXT, 0, "\xc3\xbc", 2, "62c3bc"},
    {"\"\\u6c34\"", SM_CBOR_TEXT, 0, "\xe6\xb0\xb4", 3, "63e6b0b4"},
    {"h''", SM_CBOR_BYTES, 0, "", 0, "40"},
    {"h'01020304'", SM_CBOR_BYTES, 0, "\x01\x02\x03\x04", 4, "4401020304"},
    {"[]", SM_CBOR_ARRAY, 0, NULL, 0, "80"},
    {"[1, 2, 3]", SM_CBOR_ARRAY, 3, NULL, 0, "83010203"},
    {"{}", SM_CBOR_MAP, 0, NULL, 0, "a0"},
    {"{1: 2, 3: 4}", SM_CBOR_MAP, 2, NULL, 0, "a201020304"},
    {"18(h'')", SM_CBOR_TAG, 18, NULL, 0, "d240"},
    {"1(1363896240)", SM_CBOR_TAG, 1, NULL, 0, "c11a514b67b0"},
    {"23(h'01020304')", SM_CBOR_TAG, 23, NULL, 0, "d74401020304"},
    {"24(h'6449455446')", SM_CBOR_TAG, 24, NULL, 0, "d818456449455446"},
    {"false", SM_CBOR_BOOL, 0, NULL, 0, "f4"},
    {"true", SM_CBOR_BOOL, 1, NULL, 0, "f5"},
    {"null", SM_CBOR_NULL, 0, NULL, 0, "f6"},
    {"undefined", SM_CBOR_OTHER, 0, NULL, 0, "f7"},
    {"1.5", SM_CBOR_FLOAT, 0, NULL, 0, "f93e00"},
    {"100000.0", SM_CBOR_FLOAT, 0, NULL, 0, "fa47c35000"},
    {"1.1", SM_CBOR_FLOAT, 0, NULL, 0, "fb3ff199999999999a"},
    {"-18446744073709551616", SM_CBOR_NEGINT, UINT64_MAX, NULL, 0, "3bffffffffffffffff"},
};

#define NRFC (sizeof(rfc) / sizeof(rfc[0]))

static size_t unhex(const char *hex, uint8_t *out, size_t cap)
{
	size_t n = strlen(hex) / 2;
	assert_true(n <= cap);
	for (size_t i = 0; i < n; i++) {
		unsigned v = 0;
		assert_int_equal(sscanf(hex + 2 * i, "%2x", &v), 1);
		out[i] = (uint8_t)v;
	}
	return n;
}

static void assert_buf_hex(const sm_buf *b, const char *hex)
{
	uint8_t want[64];
	size_t n = unhex(hex, want, sizeof(want));
	assert_int_equal(b->len, n);
	assert_memory_equal(b->data, want, n);
}

/* ---- encoders ---- */

static void test_cborx_put_uint_rfc(void **state)
{
	(void)state;
	static const struct {
		uint64_t v;
		const char *hex;
	} t[] = {{0, "00"},
	         {1, "01"},
	         {10, "0a"},
	         {23, "17"},
	         {24, "1818"},
	         {25, "1819"},
	         {100, "1864"},
	         {255, "18ff"},
	         {256, "190100"},
	         {1000, "1903e8"},
	         {65535, "19ffff"},
	         {65536, "1a00010000"},
	         {1000000, "1a000f4240"},
	         {4294967295u, "1affffffff"},
	         {4294967296ull, "1b0000000100000000"},
	         {1000000000000ull, "1b000000e8d4a51000"},
	         {UINT64_MAX, "1bffffffffffffffff"}};
	for (size_t i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
		sm_buf b = SM_BUF_INIT;
		assert_int_equal(sm_cbor_put_uint(&b, t[i].v), 0);
		assert_buf_hex(&b, t[i].hex);
		sm_buf_cleanup(&b);
	}
}

static void test_cborx_put_int_rfc(void **state)
{
	(void)state;
	static const struct {
		int64_t v;
		const char *hex;
	} t[] = {{0, "00"},
	         {1, "01"},
	         {23, "17"},
	         {1000000, "1a000f4240"},
	         {-1, "20"},
	         {-10, "29"},
	         {-24, "37"},
	         {-25, "3818"},
	         {-100, "3863"},
	         {-1000, "3903e7"},
	         {INT64_MAX, "1b7fffffffffffffff"},
	         {INT64_MIN, "3b7fffffffffffffff"}};
	for (size_t i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
		sm_buf b = SM_BUF_INIT;
		assert_int_equal(sm_cbor_put_int(&b, t[i].v), 0);
		assert_buf_hex(&b, t[i].hex);
		sm_buf_cleanup(&b);
	}
}

static void test_cborx_put_text_rfc(void **state)
{
	(void)state;
	static const struct {
		const char *s;
		const char *hex;
	} t[] = {{"", "60"},
	         {"a", "6161"},
	         {"IETF", "6449455446"},
	         {"\"\\", "62225c"},
	         {"\xc3\xbc", "62c3bc"},
	         {"\xe6\xb0\xb4", "63e6b0b4"},
	         {"\xf0\x90\x85\x91", "64f0908591"}};
	for (size_t i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
		sm_buf b = SM_BUF_INIT, c = SM_BUF_INIT;
		assert_int_equal(sm_cbor_put_str(&b, t[i].s), 0);
		assert_buf_hex(&b, t[i].hex);
		/* put_text takes a length and so may be given a prefix of a longer string */
		char longer[16];
		snprintf(longer, sizeof(longer), "%sXYZ", t[i].s);
		assert_int_equal(sm_cbor_put_text(&c, longer, strlen(t[i].s)), 0);
		assert_buf_hex(&c, t[i].hex);
		sm_buf_cleanup(&b);
		sm_buf_cleanup(&c);
	}
}

static void test_cborx_put_string_heads(void **state)
{
	(void)state;
	char s[300];
	memset(s, 'x', sizeof(s));
	static const struct {
		size_t n;
		uint8_t head[3];
		size_t hlen;
	} t[] = {{23, {0x77}, 1}, {24, {0x78, 24}, 2}, {255, {0x78, 0xff}, 2}, {256, {0x79, 1, 0}, 3}};
	for (size_t i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
		sm_buf b = SM_BUF_INIT, c = SM_BUF_INIT;
		assert_int_equal(sm_cbor_put_text(&b, s, t[i].n), 0);
		assert_int_equal(b.len, t[i].hlen + t[i].n);
		assert_memory_equal(b.data, t[i].head, t[i].hlen);
		assert_int_equal(sm_cbor_put_bytes(&c, (const uint8_t *)s, t[i].n), 0);
		assert_int_equal(c.len, t[i].hlen + t[i].n);
		uint8_t bh[3];
		memcpy(bh, t[i].head, sizeof(bh));
		bh[0] = (uint8_t)(bh[0] - 0x20); /* major type 2 instead of 3 */
		assert_memory_equal(c.data, bh, t[i].hlen);
		sm_buf_cleanup(&b);
		sm_buf_cleanup(&c);
	}
}

static void test_cborx_put_bytes_rfc(void **state)
{
	(void)state;
	sm_buf b = SM_BUF_INIT;
	assert_int_equal(sm_cbor_put_bytes(&b, (const uint8_t *)"", 0), 0);
	assert_buf_hex(&b, "40");
	b.len = 0;
	static const uint8_t four[] = {1, 2, 3, 4};
	assert_int_equal(sm_cbor_put_bytes(&b, four, 4), 0);
	assert_buf_hex(&b, "4401020304");
	sm_buf_cleanup(&b);
}

static void test_cborx_put_containers_rfc(void **state)
{
	(void)state;
	sm_buf b = SM_BUF_INIT;
	assert_int_equal(sm_cbor_put_array(&b, 0), 0);
	assert_buf_hex(&b, "80");
	b.len = 0;
	assert_int_equal(sm_cbor_put_array(&b, 3), 0);
	for (uint64_t i = 1; i <= 3; i++)
		assert_int_equal(sm_cbor_put_uint(&b, i), 0);
	assert_buf_hex(&b, "83010203");
	b.len = 0;
	assert_int_equal(sm_cbor_put_map(&b, 0), 0);
	assert_buf_hex(&b, "a0");
	b.len = 0;
	assert_int_equal(sm_cbor_put_map(&b, 2), 0);
	for (uint64_t i = 1; i <= 4; i++)
		assert_int_equal(sm_cbor_put_uint(&b, i), 0);
	assert_buf_hex(&b, "a201020304");
	b.len = 0;
	/* [1, [2, 3], [4, 5]] */
	assert_int_equal(sm_cbor_put_array(&b, 3), 0);
	assert_int_equal(sm_cbor_put_uint(&b, 1), 0);
	assert_int_equal(sm_cbor_put_array(&b, 2), 0);
	assert_int_equal(sm_cbor_put_uint(&b, 2), 0);
	assert_int_equal(sm_cbor_put_uint(&b, 3), 0);
	assert_int_equal(sm_cbor_put_array(&b, 2), 0);
	assert_int_equal(sm_cbor_put_uint(&b, 4), 0);
	assert_int_equal(sm_cbor_put_uint(&b, 5), 0);
	assert_buf_hex(&b, "8301820203820405");
	b.len = 0;
	assert_int_equal(sm_cbor_put_array(&b, 25), 0);
	assert_buf_hex(&b, "9819");
	b.len = 0;
	assert_int_equal(sm_cbor_put_map(&b, 1000), 0);
	assert_buf_hex(&b, "b903e8");
	sm_buf_cleanup(&b);
}

static void test_cborx_put_tag_and_bool(void **state)
{
	(void)state;
	sm_buf b = SM_BUF_INIT;
	assert_int_equal(sm_cbor_put_tag(&b, 18), 0);
	assert_buf_hex(&b, "d2");
	b.len = 0;
	assert_int_equal(sm_cbor_put_tag(&b, 1), 0);
	assert_int_equal(sm_cbor_put_uint(&b, 1363896240), 0);
	assert_buf_hex(&b, "c11a514b67b0");
	b.len = 0;
	assert_int_equal(sm_cbor_put_tag(&b, 24), 0);
	assert_buf_hex(&b, "d818");
	b.len = 0;
	assert_int_equal(sm_cbor_put_tag(&b, 32), 0);
	assert_buf_hex(&b, "d820");
	b.len = 0;
	assert_int_equal(sm_cbor_put_tag(&b, 55799), 0);
	assert_buf_hex(&b, "d9d9f7");
	b.len = 0;
	assert_int_equal(sm_cbor_put_bool(&b, false), 0);
	assert_int_equal(sm_cbor_put_bool(&b, true), 0);
	assert_buf_hex(&b, "f4f5");
	sm_buf_cleanup(&b);
}

static void test_cborx_put_over_cap(void **state)
{
	(void)state;
	sm_buf b = SM_BUF_INIT;
	b.max = 2;
	assert_int_equal(sm_cbor_put_uint(&b, 1000), SM_ETOOBIG);
	assert_int_equal(b.len, 0);
	assert_int_equal(sm_cbor_put_uint(&b, 24), 0);
	assert_int_equal(sm_cbor_put_bool(&b, true), SM_ETOOBIG);
	assert_int_equal(b.len, 2);
	sm_buf_cleanup(&b);
	b.max = 4;
	assert_int_equal(sm_cbor_put_str(&b, "IETF"), SM_ETOOBIG);
	sm_buf_cleanup(&b);
}

/* ---- the reader ---- */

static void test_cborx_next_rfc(void **state)
{
	(void)state;
	for (size_t i = 0; i < NRFC; i++) {
		uint8_t in[32];
		size_t n = unhex(rfc[i].hex, in, sizeof(in));
		sm_cbor_rd r;
		sm_cbor_item it;
		sm_err err = {0};
		sm_cbor_rd_init(&r, in, n);
		int rc = sm_cbor_next(&r, &it, &err);
		if (rc)
			fail_msg("%s (%s): sm_cbor_next returned %d: %s", rfc[i].name, rfc[i].hex, rc,
			         err.msg);
		if (it.type != rfc[i].type)
			fail_msg("%s: type %d, expected %d", rfc[i].name, it.type, rfc[i].type);
		switch (it.type) {
		case SM_CBOR_UINT:
		case SM_CBOR_NEGINT:
		case SM_CBOR_ARRAY:
		case SM_CBOR_MAP:
		case SM_CBOR_TAG:
		case SM_CBOR_BOOL:
			assert_int_equal(it.u, rfc[i].u);
			break;
		case SM_CBOR_BYTES:
		case SM_CBOR_TEXT:
			assert_int_equal(it.len, rfc[i].slen);
			assert_memory_equal(it.ptr, rfc[i].str, it.len);
			assert_ptr_equal(it.ptr, in + n - it.len); /* borrowed from the input */
			break;
		default:
			break;
		}
		/* the head, and for strings the payload, is consumed; a container's items are not */
		size_t head = n;
		if (it.type == SM_CBOR_ARRAY || it.type == SM_CBOR_MAP)
			head = 1;
		if (it.type == SM_CBOR_TAG)
			head = rfc[i].u < 24 ? 1 : 2;
		assert_int_equal(r.off, head);
		/* and the whole item is well-formed */
		rc = sm_cbor_wellformed(in, n, 4, &err);
		if (rc)
			fail_msg("%s: sm_cbor_wellformed returned %d: %s", rfc[i].name, rc, err.msg);
	}
}

static void test_cborx_next_walks_items(void **state)
{
	(void)state;
	/* {1: 2, 3: 4} read head by head */
	static const uint8_t in[] = {0xa2, 0x01, 0x02, 0x03, 0x04};
	static const int types[] = {SM_CBOR_MAP, SM_CBOR_UINT, SM_CBOR_UINT, SM_CBOR_UINT, SM_CBOR_UINT};
	static const uint64_t vals[] = {2, 1, 2, 3, 4};
	sm_cbor_rd r;
	sm_cbor_item it;
	sm_err err = {0};
	sm_cbor_rd_init(&r, in, sizeof(in));
	for (size_t i = 0; i < 5; i++) {
		assert_int_equal(sm_cbor_next(&r, &it, &err), 0);
		assert_int_equal(it.type, types[i]);
		assert_int_equal(it.u, vals[i]);
	}
	assert_int_equal(r.off, sizeof(in));
	assert_int_equal(sm_cbor_next(&r, &it, &err), SM_EINVAL);
	assert_non_null(strstr(err.msg, "ends early at byte 5"));
}

/* Every strict prefix of every example is refused as a whole item, never read past its end. */
static void test_cborx_truncated_prefixes(void **state)
{
	(void)state;
	for (size_t i = 0; i < NRFC; i++) {
		uint8_t in[32];
		size_t n = unhex(rfc[i].hex, in, sizeof(in));
		for (size_t k = 0; k < n; k++) {
			/* a heap copy of exactly k bytes, so that ASan sees any read past the end */
			uint8_t *p = malloc(k ? k : 1);
			assert_non_null(p);
			memcpy(p, in, k);
			sm_err err = {0};
			int rc = sm_cbor_wellformed(p, k, 4, &err);
			if (rc != SM_EINVAL)
				fail_msg("%s cut to %zu bytes: expected %d, got %d", rfc[i].name, k,
				         SM_EINVAL, rc);
			assert_true(err.msg[0] != '\0');
			free(p);
		}
	}
}

/* The head of a scalar or string cut short is "truncated" for sm_cbor_next, naming the offset. */
static void test_cborx_next_truncated_heads(void **state)
{
	(void)state;
	static const char *const cut[] = {"18",   "19e8",     "1a000f42", "1b000000e8d4a510", "38",
	                                  "3903", "6449455f", "62c3",     "44010203",         "98",
	                                  "b903", "d8",       "f9",       "fa47c350",         "fb3ff1"};
	for (size_t i = 0; i < sizeof(cut) / sizeof(cut[0]); i++) {
		uint8_t in[16];
		size_t n = unhex(cut[i], in, sizeof(in));
		uint8_t *p = malloc(n);
		assert_non_null(p);
		memcpy(p, in, n);
		sm_cbor_rd r;
		sm_cbor_item it;
		sm_err err = {0};
		sm_cbor_rd_init(&r, p, n);
		int rc = sm_cbor_next(&r, &it, &err);
		if (rc != SM_EINVAL)
			fail_msg("%s: expected %d, got %d", cut[i], SM_EINVAL, rc);
		assert_non_null(strstr(err.msg, "truncated at byte 0"));
		assert_int_equal(r.off, 0); /* nothing consumed */
		free(p);
	}
}

static void test_cborx_indefinite_refused(void **state)
{
	(void)state;
	/* RFC 8949 Appendix A: (_ h'0102', h'030405'), (_ "strea", "ming"), [_ ], [_ 1, 2], {_ "a": 1}, and a
	 * lone break */
	static const char *const in[] = {
	    "5f42010243030405ff", "7f657374726561646d696e67ff", "9fff", "9f0102ff", "bf616101ff", "ff",
	    "83019f02ff03"};
	for (size_t i = 0; i < sizeof(in) / sizeof(in[0]); i++) {
		uint8_t b[32];
		size_t n = unhex(in[i], b, sizeof(b));
		sm_err err = {0};
		int rc = sm_cbor_wellformed(b, n, 4, &err);
		if (rc != SM_EINVAL)
			fail_msg("%s: expected %d, got %d", in[i], SM_EINVAL, rc);
		assert_non_null(strstr(err.msg, "indefinite-length"));
	}
	/* the message names the offset of the offending head */
	uint8_t b[8];
	size_t n = unhex("83019f02ff03", b, sizeof(b));
	sm_err err = {0};
	assert_int_equal(sm_cbor_wellformed(b, n, 4, &err), SM_EINVAL);
	assert_non_null(strstr(err.msg, "at byte 2"));
}

static void test_cborx_malformed_heads_refused(void **state)
{
	(void)state;
	/* reserved additional information 28..30 in every major type; simple values other than
	 * false, true, null and undefined */
	static const char *const in[] = {"1c", "1d", "1e", "3c", "5c", "7d", "9e", "bc",
	                                 "dc", "fc", "fd", "fe", "e0", "f0", "f3", "f820"};
	for (size_t i = 0; i < sizeof(in) / sizeof(in[0]); i++) {
		uint8_t b[4];
		size_t n = unhex(in[i], b, sizeof(b));
		sm_cbor_rd r;
		sm_cbor_item it;
		sm_err err = {0};
		sm_cbor_rd_init(&r, b, n);
		int rc = sm_cbor_next(&r, &it, &err);
		if (rc != SM_EINVAL)
			fail_msg("%s: expected %d, got %d", in[i], SM_EINVAL, rc);
		assert_non_null(strstr(err.msg, "byte 0"));
	}
	/* the empty input */
	sm_err err = {0};
	assert_int_equal(sm_cbor_wellformed((const uint8_t *)"", 0, 4, &err), SM_EINVAL);
	assert_non_null(strstr(err.msg, "ends early at byte 0"));
}

static void test_cborx_one_byte_tags(void **state)
{
	(void)state;
	/* libcbor 0.8 refuses 0xc6..0xd4 itself; the reader must read every tag 0..23 */
	for (uint8_t t = 0; t < 24; t++) {
		uint8_t b[2] = {(uint8_t)(0xc0 | t), 0x00};
		sm_cbor_rd r;
		sm_cbor_item it;
		sm_err err = {0};
		sm_cbor_rd_init(&r, b, 2);
		int rc = sm_cbor_next(&r, &it, &err);
		if (rc)
			fail_msg("tag %u: %d %s", t, rc, err.msg);
		assert_int_equal(it.type, SM_CBOR_TAG);
		assert_int_equal(it.u, t);
		assert_int_equal(r.off, 1);
		assert_int_equal(sm_cbor_wellformed(b, 2, 1, &err), 0);
		/* a tag with nothing after it is truncated */
		assert_int_equal(sm_cbor_wellformed(b, 1, 1, &err), SM_EINVAL);
	}
	/* tag 18 written in two bytes is still tag 18 */
	static const uint8_t d812[] = {0xd8, 0x12, 0x40};
	sm_cbor_rd r;
	sm_cbor_item it;
	sm_cbor_rd_init(&r, d812, sizeof(d812));
	assert_int_equal(sm_cbor_next(&r, &it, NULL), 0);
	assert_int_equal(it.type, SM_CBOR_TAG);
	assert_int_equal(it.u, 18);
}

static void test_cborx_invalid_utf8_refused(void **state)
{
	(void)state;
	static const char *const bad[] = {
	    "61ff",       /* 0xFF never appears */
	    "61c3",       /* a lead byte alone */
	    "62c328",     /* a lead byte and no continuation */
	    "62c080",     /* overlong NUL */
	    "62c1bf",     /* overlong */
	    "63e08080",   /* overlong three-byte */
	    "63eda080",   /* a UTF-16 surrogate, U+D800 */
	    "63edbfbf",   /* U+DFFF */
	    "64f0808080", /* overlong four-byte */
	    "64f4908080", /* above U+10FFFF */
	    "64f5808080", /* lead byte out of range */
	    "6180",       /* a stray continuation byte */
	    "6341e6b0",   /* a truncated sequence at the end */
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		uint8_t b[8];
		size_t n = unhex(bad[i], b, sizeof(b));
		sm_cbor_rd r;
		sm_cbor_item it;
		sm_err err = {0};
		sm_cbor_rd_init(&r, b, n);
		int rc = sm_cbor_next(&r, &it, &err);
		if (rc != SM_EINVAL)
			fail_msg("%s: expected %d, got %d", bad[i], SM_EINVAL, rc);
		assert_non_null(strstr(err.msg, "not valid UTF-8"));
		/* the same bytes as a byte string are fine */
		b[0] = (uint8_t)(b[0] - 0x20);
		sm_cbor_rd_init(&r, b, n);
		assert_int_equal(sm_cbor_next(&r, &it, &err), 0);
		assert_int_equal(it.type, SM_CBOR_BYTES);
	}
	static const char *const good[] = {"64f09f9880", "64f48fbfbf", "63efbfbf", "62dfbf", "647fe0a080"};
	for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
		uint8_t b[8];
		size_t n = unhex(good[i], b, sizeof(b));
		sm_cbor_rd r;
		sm_cbor_item it;
		sm_err err = {0};
		sm_cbor_rd_init(&r, b, n);
		int rc = sm_cbor_next(&r, &it, &err);
		if (rc)
			fail_msg("%s: %d %s", good[i], rc, err.msg);
		assert_int_equal(it.type, SM_CBOR_TEXT);
	}
}

/* n nested one-item arrays around a 0: [[...[0]...]] */
static size_t nested(uint8_t *b, size_t n)
{
	memset(b, 0x81, n);
	b[n] = 0x00;
	return n + 1;
}

static void test_cborx_nesting_cap(void **state)
{
	(void)state;
	uint8_t b[80];
	sm_err err = {0};
	for (unsigned cap = 0; cap <= 8; cap++) {
		size_t n = nested(b, cap);
		if (sm_cbor_wellformed(b, n, cap, &err) != 0)
			fail_msg("%u arrays deep with a cap of %u: %s", cap, cap, err.msg);
		n = nested(b, cap + 1);
		memset(&err, 0, sizeof(err));
		assert_int_equal(sm_cbor_wellformed(b, n, cap, &err), SM_EINVAL);
		char want[64];
		snprintf(want, sizeof(want), "nested deeper than %u at byte", cap);
		if (!strstr(err.msg, want))
			fail_msg("expected \"%s\" in \"%s\"", want, err.msg);
	}
	/* maps and tags count as levels too: {1: [18(0)]} is three deep */
	static const uint8_t mix[] = {0xa1, 0x01, 0x81, 0xd2, 0x00};
	assert_int_equal(sm_cbor_wellformed(mix, sizeof(mix), 3, &err), 0);
	assert_int_equal(sm_cbor_wellformed(mix, sizeof(mix), 2, &err), SM_EINVAL);
	/* an empty container is a level as well: [[[]]] is three deep */
	static const uint8_t empty[] = {0x81, 0x81, 0x80};
	assert_int_equal(sm_cbor_wellformed(empty, sizeof(empty), 3, &err), 0);
	memset(&err, 0, sizeof(err));
	assert_int_equal(sm_cbor_wellformed(empty, sizeof(empty), 2, &err), SM_EINVAL);
	assert_non_null(strstr(err.msg, "nested deeper than 2"));
	/* a cap above the reader's own limit is lowered to it, never overflows its stack */
	uint8_t deep[200];
	size_t n = nested(deep, 150);
	assert_int_equal(sm_cbor_wellformed(deep, n, 1000, &err), SM_EINVAL);
	n = nested(deep, 60);
	assert_int_equal(sm_cbor_wellformed(deep, n, 1000, &err), 0);
}

static void test_cborx_skip_leaves_reader_after_item(void **state)
{
	(void)state;
	/* [1, {"a": h'01'}, 18(2)] then 7 */
	static const uint8_t in[] = {0x83, 0x01, 0xa1, 0x61, 0x61, 0x41, 0x01, 0xd2, 0x02, 0x07};
	sm_cbor_rd r;
	sm_err err = {0};
	sm_cbor_rd_init(&r, in, sizeof(in));
	assert_int_equal(sm_cbor_skip(&r, 4, &err), 0);
	assert_int_equal(r.off, sizeof(in) - 1);
	uint64_t v = 0;
	assert_int_equal(sm_cbor_read_uint(&r, &v, "seven", &err), 0);
	assert_int_equal(v, 7);
	/* as a whole, the trailing 7 is one byte too many */
	memset(&err, 0, sizeof(err));
	assert_int_equal(sm_cbor_wellformed(in, sizeof(in), 4, &err), SM_EINVAL);
	assert_non_null(strstr(err.msg, "1 unexpected bytes after"));
}

static void test_cborx_container_claims_too_much(void **state)
{
	(void)state;
	static const char *const in[] = {
	    "9b00000000ffffffff", /* an array of 4 billion items in 9 bytes */
	    "bb7fffffffffffffff", /* a map whose pair count doubles past 2^64 */
	    "bbffffffffffffffff", /* the largest map count */
	    "9a0000000401",       /* 4 items, 1 byte left */
	    "a201020304a3",       /* fine, then trailing junk (caught as trailing) */
	};
	for (size_t i = 0; i < 4; i++) {
		uint8_t b[16];
		size_t n = unhex(in[i], b, sizeof(b));
		sm_err err = {0};
		int rc = sm_cbor_wellformed(b, n, 4, &err);
		if (rc != SM_EINVAL)
			fail_msg("%s: expected %d, got %d", in[i], SM_EINVAL, rc);
		assert_non_null(strstr(err.msg, "claims more items than bytes left"));
	}
	uint8_t b[16];
	size_t n = unhex(in[4], b, sizeof(b));
	sm_err err = {0};
	assert_int_equal(sm_cbor_wellformed(b, n, 4, &err), SM_EINVAL);
	assert_non_null(strstr(err.msg, "unexpected bytes after"));
	/* a string longer than what is left is truncated, whatever its claimed length */
	n = unhex("5bffffffffffffffff00", b, sizeof(b));
	assert_int_equal(sm_cbor_wellformed(b, n, 4, &err), SM_EINVAL);
	n = unhex("7b000000010000000041", b, sizeof(b));
	assert_int_equal(sm_cbor_wellformed(b, n, 4, &err), SM_EINVAL);
}

/* ---- typed reads ---- */

static void test_cborx_typed_reads(void **state)
{
	(void)state;
	sm_buf b = SM_BUF_INIT;
	assert_int_equal(sm_cbor_put_uint(&b, 1000), 0);
	assert_int_equal(sm_cbor_put_int(&b, -1000), 0);
	assert_int_equal(sm_cbor_put_str(&b, "\xe6\xb0\xb4"), 0);
	assert_int_equal(sm_cbor_put_bytes(&b, (const uint8_t *)"\x01\x02", 2), 0);
	assert_int_equal(sm_cbor_put_array(&b, 3), 0);
	assert_int_equal(sm_cbor_put_map(&b, 2), 0);
	assert_int_equal(sm_cbor_put_uint(&b, 5), 0);
	sm_cbor_rd r;
	sm_err err = {0};
	sm_cbor_rd_init(&r, b.data, b.len);
	uint64_t u = 0;
	int64_t i = 0;
	char *s = NULL;
	const uint8_t *p = NULL;
	size_t n = 0;
	assert_int_equal(sm_cbor_read_uint(&r, &u, "u", &err), 0);
	assert_int_equal(u, 1000);
	assert_int_equal(sm_cbor_read_int(&r, &i, "i", &err), 0);
	assert_int_equal(i, -1000);
	assert_int_equal(sm_cbor_read_text(&r, 3, &s, "t", &err), 0);
	assert_string_equal(s, "\xe6\xb0\xb4");
	free(s);
	assert_int_equal(sm_cbor_read_bytes(&r, 2, &p, &n, "b", &err), 0);
	assert_int_equal(n, 2);
	assert_memory_equal(p, "\x01\x02", 2);
	assert_int_equal(sm_cbor_read_array(&r, 3, &n, "a", &err), 0);
	assert_int_equal(n, 3);
	assert_int_equal(sm_cbor_read_map(&r, 2, &n, "m", &err), 0);
	assert_int_equal(n, 2);
	/* read_int takes unsigned values too */
	assert_int_equal(sm_cbor_read_int(&r, &i, "i", &err), 0);
	assert_int_equal(i, 5);
	assert_int_equal(r.off, b.len);
	sm_buf_cleanup(&b);
}

static void test_cborx_typed_reads_wrong_type(void **state)
{
	(void)state;
	static const uint8_t text[] = {0x61, 0x61}; /* "a" */
	static const uint8_t uint1[] = {0x01};      /* 1 */
	static const uint8_t neg[] = {0x20};        /* -1 */
	uint64_t u;
	int64_t i;
	char *s = NULL;
	const uint8_t *p;
	size_t n;
	sm_cbor_rd r;
	sm_err err;

#define WRONG(bytes, call, what)                                                                             \
	do {                                                                                                 \
		memset(&err, 0, sizeof(err));                                                                \
		sm_cbor_rd_init(&r, bytes, sizeof(bytes));                                                   \
		assert_int_equal(call, SM_EINVAL);                                                           \
		assert_string_equal(err.field, what);                                                        \
		assert_non_null(strstr(err.msg, what));                                                      \
	} while (0)

	WRONG(text, sm_cbor_read_uint(&r, &u, "version", &err), "version");
	WRONG(neg, sm_cbor_read_uint(&r, &u, "version", &err), "version");
	WRONG(text, sm_cbor_read_int(&r, &i, "not_before", &err), "not_before");
	WRONG(uint1, sm_cbor_read_text(&r, 10, &s, "scheme", &err), "scheme");
	WRONG(text, sm_cbor_read_bytes(&r, 10, &p, &n, "root", &err), "root");
	WRONG(uint1, sm_cbor_read_array(&r, 10, &n, "keys", &err), "keys");
	WRONG(text, sm_cbor_read_map(&r, 10, &n, "trust bundle", &err), "trust bundle");
#undef WRONG
	assert_null(s);
	/* the message says where */
	memset(&err, 0, sizeof(err));
	static const uint8_t two[] = {0x01, 0x61, 0x61};
	sm_cbor_rd_init(&r, two, sizeof(two));
	assert_int_equal(sm_cbor_read_uint(&r, &u, "first", &err), 0);
	assert_int_equal(sm_cbor_read_uint(&r, &u, "second", &err), SM_EINVAL);
	assert_non_null(strstr(err.msg, "second: unexpected CBOR type at byte 1"));
}

static void test_cborx_read_int_range(void **state)
{
	(void)state;
	int64_t i = 0;
	sm_cbor_rd r;
	sm_err err = {0};
	static const uint8_t min[] = {0x3b, 0x7f, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff};
	sm_cbor_rd_init(&r, min, sizeof(min));
	assert_int_equal(sm_cbor_read_int(&r, &i, "at", &err), 0);
	assert_true(i == INT64_MIN);
	static const uint8_t max[] = {0x1b, 0x7f, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff};
	sm_cbor_rd_init(&r, max, sizeof(max));
	assert_int_equal(sm_cbor_read_int(&r, &i, "at", &err), 0);
	assert_true(i == INT64_MAX);
	static const uint8_t over[] = {0x1b, 0x80, 0, 0, 0, 0, 0, 0, 0};
	sm_cbor_rd_init(&r, over, sizeof(over));
	assert_int_equal(sm_cbor_read_int(&r, &i, "at", &err), SM_EINVAL);
	assert_string_equal(err.field, "at");
	static const uint8_t under[] = {0x3b, 0x80, 0, 0, 0, 0, 0, 0, 0};
	memset(&err, 0, sizeof(err));
	sm_cbor_rd_init(&r, under, sizeof(under));
	assert_int_equal(sm_cbor_read_int(&r, &i, "at", &err), SM_EINVAL);
	assert_string_equal(err.field, "at");
}

static void test_cborx_read_caps(void **state)
{
	(void)state;
	sm_buf b = SM_BUF_INIT;
	sm_cbor_rd r;
	sm_err err = {0};
	char *s = NULL;
	const uint8_t *p;
	size_t n;

	assert_int_equal(sm_cbor_put_str(&b, "IETF"), 0);
	sm_cbor_rd_init(&r, b.data, b.len);
	assert_int_equal(sm_cbor_read_text(&r, 3, &s, "scheme", &err), SM_ETOOBIG);
	assert_null(s);
	assert_string_equal(err.field, "scheme");
	assert_non_null(strstr(err.msg, "scheme: 4 bytes, more than 3"));
	sm_cbor_rd_init(&r, b.data, b.len);
	assert_int_equal(sm_cbor_read_text(&r, 4, &s, "scheme", &err), 0);
	assert_string_equal(s, "IETF");
	free(s);
	s = NULL;

	b.len = 0;
	assert_int_equal(sm_cbor_put_bytes(&b, (const uint8_t *)"12345", 5), 0);
	sm_cbor_rd_init(&r, b.data, b.len);
	memset(&err, 0, sizeof(err));
	assert_int_equal(sm_cbor_read_bytes(&r, 4, &p, &n, "root", &err), SM_ETOOBIG);
	assert_non_null(strstr(err.msg, "root: 5 bytes, more than 4"));

	b.len = 0;
	assert_int_equal(sm_cbor_put_array(&b, 257), 0);
	sm_cbor_rd_init(&r, b.data, b.len);
	memset(&err, 0, sizeof(err));
	assert_int_equal(sm_cbor_read_array(&r, 256, &n, "keys", &err), SM_ETOOBIG);
	assert_non_null(strstr(err.msg, "keys: 257 items, more than 256"));

	b.len = 0;
	assert_int_equal(sm_cbor_put_map(&b, 8), 0);
	sm_cbor_rd_init(&r, b.data, b.len);
	memset(&err, 0, sizeof(err));
	assert_int_equal(sm_cbor_read_map(&r, 7, &n, "bundle", &err), SM_ETOOBIG);
	assert_string_equal(err.field, "bundle");
	sm_buf_cleanup(&b);
}

static void test_cborx_read_text_nul_refused(void **state)
{
	(void)state;
	static const uint8_t in[] = {0x63, 'a', 0x00, 'b'};
	sm_cbor_rd r;
	sm_err err = {0};
	char *s = NULL;
	sm_cbor_rd_init(&r, in, sizeof(in));
	assert_int_equal(sm_cbor_read_text(&r, 16, &s, "origin", &err), SM_EINVAL);
	assert_null(s);
	assert_string_equal(err.field, "origin");
	assert_non_null(strstr(err.msg, "NUL"));
	/* a NUL in a byte string is just a byte */
	static const uint8_t bin[] = {0x43, 'a', 0x00, 'b'};
	const uint8_t *p;
	size_t n;
	sm_cbor_rd_init(&r, bin, sizeof(bin));
	assert_int_equal(sm_cbor_read_bytes(&r, 16, &p, &n, "b", &err), 0);
	assert_int_equal(n, 3);
}

/* Encoders and the reader agree on a structure like the ones starmark writes. */
static void test_cborx_roundtrip(void **state)
{
	(void)state;
	sm_buf b = SM_BUF_INIT;
	assert_int_equal(sm_cbor_put_tag(&b, 18), 0);
	assert_int_equal(sm_cbor_put_map(&b, 3), 0);
	assert_int_equal(sm_cbor_put_uint(&b, 1), 0);
	assert_int_equal(sm_cbor_put_int(&b, -8), 0);
	assert_int_equal(sm_cbor_put_uint(&b, 2), 0);
	assert_int_equal(sm_cbor_put_str(&b, "リンナイ"), 0);
	assert_int_equal(sm_cbor_put_uint(&b, 3), 0);
	assert_int_equal(sm_cbor_put_bool(&b, true), 0);
	assert_int_equal(sm_cbor_wellformed(b.data, b.len, 2, NULL), 0);

	sm_cbor_rd r;
	sm_cbor_item it;
	sm_err err = {0};
	uint64_t u;
	int64_t i;
	size_t n;
	char *s = NULL;
	sm_cbor_rd_init(&r, b.data, b.len);
	assert_int_equal(sm_cbor_next(&r, &it, &err), 0);
	assert_int_equal(it.type, SM_CBOR_TAG);
	assert_int_equal(it.u, 18);
	assert_int_equal(sm_cbor_read_map(&r, 3, &n, "m", &err), 0);
	assert_int_equal(n, 3);
	assert_int_equal(sm_cbor_read_uint(&r, &u, "k", &err), 0);
	assert_int_equal(u, 1);
	assert_int_equal(sm_cbor_read_int(&r, &i, "alg", &err), 0);
	assert_int_equal(i, -8);
	assert_int_equal(sm_cbor_read_uint(&r, &u, "k", &err), 0);
	assert_int_equal(sm_cbor_read_text(&r, 64, &s, "name", &err), 0);
	assert_string_equal(s, "リンナイ");
	free(s);
	assert_int_equal(sm_cbor_read_uint(&r, &u, "k", &err), 0);
	assert_int_equal(sm_cbor_next(&r, &it, &err), 0);
	assert_int_equal(it.type, SM_CBOR_BOOL);
	assert_int_equal(it.u, 1);
	assert_int_equal(r.off, b.len);
	sm_buf_cleanup(&b);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_cborx_put_uint_rfc),
	    cmocka_unit_test(test_cborx_put_int_rfc),
	    cmocka_unit_test(test_cborx_put_text_rfc),
	    cmocka_unit_test(test_cborx_put_string_heads),
	    cmocka_unit_test(test_cborx_put_bytes_rfc),
	    cmocka_unit_test(test_cborx_put_containers_rfc),
	    cmocka_unit_test(test_cborx_put_tag_and_bool),
	    cmocka_unit_test(test_cborx_put_over_cap),
	    cmocka_unit_test(test_cborx_next_rfc),
	    cmocka_unit_test(test_cborx_next_walks_items),
	    cmocka_unit_test(test_cborx_truncated_prefixes),
	    cmocka_unit_test(test_cborx_next_truncated_heads),
	    cmocka_unit_test(test_cborx_indefinite_refused),
	    cmocka_unit_test(test_cborx_malformed_heads_refused),
	    cmocka_unit_test(test_cborx_one_byte_tags),
	    cmocka_unit_test(test_cborx_invalid_utf8_refused),
	    cmocka_unit_test(test_cborx_nesting_cap),
	    cmocka_unit_test(test_cborx_skip_leaves_reader_after_item),
	    cmocka_unit_test(test_cborx_container_claims_too_much),
	    cmocka_unit_test(test_cborx_typed_reads),
	    cmocka_unit_test(test_cborx_typed_reads_wrong_type),
	    cmocka_unit_test(test_cborx_read_int_range),
	    cmocka_unit_test(test_cborx_read_caps),
	    cmocka_unit_test(test_cborx_read_text_nul_refused),
	    cmocka_unit_test(test_cborx_roundtrip),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
