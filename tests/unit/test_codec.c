/* SPDX-License-Identifier: Apache-2.0 */
/* Unit tests of lib/codec.c: RFC 4648 vectors, strict rejection, round trips. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <openssl/evp.h>

#include "starmark/codec.h"
#include "starmark/error.h"

typedef char *(*encode_fn)(const uint8_t *, size_t);
typedef int (*decode_fn)(const char *, size_t, uint8_t **, size_t *, sm_err *);

struct vec {
	const char *raw;
	const char *text;
};

/* RFC 4648 section 10; base32 without its '=' padding, as starmark writes it. */
static const struct vec RFC_BASE32[] = {
	{ "", "" },
	{ "f", "MY" },
	{ "fo", "MZXQ" },
	{ "foo", "MZXW6" },
	{ "foob", "MZXW6YQ" },
	{ "fooba", "MZXW6YTB" },
	{ "foobar", "MZXW6YTBOI" },
};

static const struct vec RFC_BASE64[] = {
	{ "", "" },
	{ "f", "Zg==" },
	{ "fo", "Zm8=" },
	{ "foo", "Zm9v" },
	{ "foob", "Zm9vYg==" },
	{ "fooba", "Zm9vYmE=" },
	{ "foobar", "Zm9vYmFy" },
};

/* RFC 4648 section 10 BASE16, in starmark's lower case. */
static const struct vec RFC_BASE16[] = {
	{ "", "" },
	{ "f", "66" },
	{ "fo", "666f" },
	{ "foo", "666f6f" },
	{ "foob", "666f6f62" },
	{ "fooba", "666f6f6261" },
	{ "foobar", "666f6f626172" },
};

static void check_vectors(const struct vec *v, size_t nv, encode_fn enc, decode_fn dec)
{
	for (size_t i = 0; i < nv; i++) {
		const size_t rawlen = strlen(v[i].raw);
		char *text = enc((const uint8_t *)v[i].raw, rawlen);
		assert_non_null(text);
		assert_string_equal(text, v[i].text);
		free(text);

		uint8_t *out = NULL;
		size_t outlen = 99;
		sm_err err;
		sm_err_clear(&err);
		assert_int_equal(dec(v[i].text, strlen(v[i].text), &out, &outlen, &err), 0);
		assert_non_null(out);
		assert_int_equal(outlen, rawlen);
		assert_memory_equal(out, v[i].raw, rawlen);
		assert_int_equal(out[outlen], 0); /* NUL-terminated for convenience */
		free(out);
	}
}

static void test_codec_base32_rfc4648(void **state)
{
	(void)state;
	check_vectors(RFC_BASE32, sizeof(RFC_BASE32) / sizeof(RFC_BASE32[0]), sm_base32_encode,
		      sm_base32_decode);
}

static void test_codec_base64_rfc4648(void **state)
{
	(void)state;
	check_vectors(RFC_BASE64, sizeof(RFC_BASE64) / sizeof(RFC_BASE64[0]), sm_base64_encode,
		      sm_base64_decode);
}

static void test_codec_hex_rfc4648(void **state)
{
	(void)state;
	check_vectors(RFC_BASE16, sizeof(RFC_BASE16) / sizeof(RFC_BASE16[0]), sm_hex_encode, sm_hex_decode);
}

static void test_codec_base64url_alphabet(void **state)
{
	(void)state;
	/* bytes whose encodings use the two characters that differ between the alphabets */
	static const struct vec url[] = {
		{ "\xfb\xff", "-_8" },
		{ "\xfb\xef\xbe", "----" },
		{ "\xff\xff\xff", "____" },
		{ "f", "Zg" },
		{ "fo", "Zm8" },
		{ "foobar", "Zm9vYmFy" },
	};
	check_vectors(url, sizeof(url) / sizeof(url[0]), sm_base64url_encode, sm_base64url_decode);
	static const struct vec std[] = {
		{ "\xfb\xff", "+/8=" },
		{ "\xfb\xef\xbe", "++++" },
		{ "\xff\xff\xff", "////" },
	};
	check_vectors(std, sizeof(std) / sizeof(std[0]), sm_base64_encode, sm_base64_decode);
	static const struct vec b32[] = {
		{ "\xfb\xff", "7P7Q" },
		{ "\xff\xff\xff", "77776" },
	};
	check_vectors(b32, sizeof(b32) / sizeof(b32[0]), sm_base32_encode, sm_base32_decode);
}

static void test_codec_accepts_either_case(void **state)
{
	(void)state;
	uint8_t *out = NULL;
	size_t len = 0;
	assert_int_equal(sm_base32_decode("mzxw6YtBoi", 10, &out, &len, NULL), 0);
	assert_int_equal(len, 6);
	assert_memory_equal(out, "foobar", 6);
	free(out);
	assert_int_equal(sm_hex_decode("DEADbeef", 8, &out, &len, NULL), 0);
	assert_int_equal(len, 4);
	assert_memory_equal(out, "\xde\xad\xbe\xef", 4);
	free(out);
}

/* Decoding `text` must fail with `code`, leave *out NULL, and say each of `needles`. */
static void expect_reject(decode_fn dec, const char *text, int code, ...)
{
	uint8_t *out = (uint8_t *)"sentinel";
	size_t len = 77;
	sm_err err;
	sm_err_clear(&err);
	const int rc = dec(text, strlen(text), &out, &len, &err);
	if (rc != code)
		print_error("input '%s': message '%s'\n", text, err.msg);
	assert_int_equal(rc, code);
	assert_null(out);
	assert_int_equal(err.code, code);
	va_list ap;
	va_start(ap, code);
	for (const char *needle = va_arg(ap, const char *); needle; needle = va_arg(ap, const char *)) {
		if (!strstr(err.msg, needle))
			print_error("input '%s': message '%s' lacks '%s'\n", text, err.msg, needle);
		assert_non_null(strstr(err.msg, needle));
	}
	va_end(ap);
}

static void test_codec_base32_rejects(void **state)
{
	(void)state;
	expect_reject(sm_base32_decode, "MY1Q", SM_EINVAL, "base32", "'1'", "offset 2", "digits 2-7", NULL);
	expect_reject(sm_base32_decode, "MZXW6YTBO!", SM_EINVAL, "'!'", "0x21", "offset 9", NULL);
	expect_reject(sm_base32_decode, "MY======", SM_EINVAL, "'='", "offset 2", "padding", NULL);
	expect_reject(sm_base32_decode, "MZXW6\n", SM_EINVAL, "0x0a", "offset 5", NULL);
	expect_reject(sm_base32_decode, "M", SM_EINVAL, "length 1", NULL);
	expect_reject(sm_base32_decode, "MZX", SM_EINVAL, "length 3", NULL);
	expect_reject(sm_base32_decode, "MZXW6Y", SM_EINVAL, "length 6", NULL);
	expect_reject(sm_base32_decode, "MZXW6YTBO", SM_EINVAL, "length 9", NULL);
	/* "f" is MY; MZ sets a bit past the byte */
	expect_reject(sm_base32_decode, "MZ", SM_EINVAL, "trailing bits", "offset 1", NULL);
	expect_reject(sm_base32_decode, "MZXW6YTBOJ", SM_EINVAL, "trailing bits", "'J'", "offset 9", NULL);
}

static void test_codec_base64_rejects(void **state)
{
	(void)state;
	expect_reject(sm_base64_decode, "Zm9-", SM_EINVAL, "'-'", "offset 3", "base64url", NULL);
	expect_reject(sm_base64_decode, "Zm_v", SM_EINVAL, "'_'", "offset 2", NULL);
	expect_reject(sm_base64_decode, "Zm9v Zg==", SM_EINVAL, "length 9", NULL);
	expect_reject(sm_base64_decode, "Zm9vIFp*", SM_EINVAL, "'*'", "offset 7", NULL);
	expect_reject(sm_base64_decode, "Zg", SM_EINVAL, "length 2", "padded", NULL);
	expect_reject(sm_base64_decode, "Zm9", SM_EINVAL, "length 3", NULL);
	expect_reject(sm_base64_decode, "Zg==Zg==", SM_EINVAL, "'='", "offset 2", NULL);
	expect_reject(sm_base64_decode, "Z===", SM_EINVAL, "'='", "offset 1", NULL);
	expect_reject(sm_base64_decode, "====", SM_EINVAL, "'='", "offset 0", NULL);
	expect_reject(sm_base64_decode, "Zh==", SM_EINVAL, "trailing bits", "'h'", "offset 1", NULL);
	expect_reject(sm_base64_decode, "Zm9=", SM_EINVAL, "trailing bits", "'9'", "offset 2", NULL);
}

static void test_codec_base64url_rejects(void **state)
{
	(void)state;
	expect_reject(sm_base64url_decode, "Zm+v", SM_EINVAL, "'+'", "offset 2", "standard base64", NULL);
	expect_reject(sm_base64url_decode, "Zm9/", SM_EINVAL, "'/'", "offset 3", NULL);
	expect_reject(sm_base64url_decode, "Zg==", SM_EINVAL, "'='", "offset 2", "padding", NULL);
	expect_reject(sm_base64url_decode, "Z", SM_EINVAL, "length 1", NULL);
	expect_reject(sm_base64url_decode, "Zm9vY", SM_EINVAL, "length 5", NULL);
	expect_reject(sm_base64url_decode, "Zh", SM_EINVAL, "trailing bits", "offset 1", NULL);
}

static void test_codec_hex_rejects(void **state)
{
	(void)state;
	expect_reject(sm_hex_decode, "0g", SM_EINVAL, "'g'", "offset 1", NULL);
	expect_reject(sm_hex_decode, "abc", SM_EINVAL, "length 3", "even", NULL);
	expect_reject(sm_hex_decode, "0x00", SM_EINVAL, "'x'", "offset 1", NULL);
}

static void test_codec_rejects_too_big(void **state)
{
	(void)state;
	const size_t n = SM_CODEC_MAX_INPUT + 1;
	char *big = malloc(n);
	assert_non_null(big);
	memset(big, 'A', n);
	const decode_fn decs[] = { sm_base32_decode, sm_base64_decode, sm_base64url_decode, sm_hex_decode };
	for (size_t i = 0; i < sizeof(decs) / sizeof(decs[0]); i++) {
		uint8_t *out = (uint8_t *)"sentinel";
		size_t len = 5;
		sm_err err;
		sm_err_clear(&err);
		assert_int_equal(decs[i](big, n, &out, &len, &err), SM_ETOOBIG);
		assert_null(out);
		assert_non_null(strstr(err.msg, "limit"));
	}
	/* exactly at the cap is accepted (base64url: 64 MiB is a multiple of 4) */
	uint8_t *out = NULL;
	size_t len = 0;
	assert_int_equal(sm_base64url_decode(big, n - 1, &out, &len, NULL), 0);
	assert_int_equal(len, (n - 1) / 4 * 3);
	assert_int_equal(out[0], 0);
	free(out);
	free(big);
}

/* A small deterministic generator, so that a failure can be replayed. */
static uint64_t rng_state = 0x9e3779b97f4a7c15u;

static uint64_t rng_next(void)
{
	rng_state ^= rng_state << 13;
	rng_state ^= rng_state >> 7;
	rng_state ^= rng_state << 17;
	return rng_state;
}

static void round_trip(encode_fn enc, decode_fn dec, const uint8_t *data, size_t n, size_t want_len,
		       const char *alphabet)
{
	char *text = enc(data, n);
	assert_non_null(text);
	assert_int_equal(strlen(text), want_len);
	assert_int_equal(strspn(text, alphabet), want_len);
	uint8_t *out = NULL;
	size_t outlen = 0;
	sm_err err;
	sm_err_clear(&err);
	const int rc = dec(text, want_len, &out, &outlen, &err);
	if (rc)
		print_error("length %zu: '%s' failed: %s\n", n, text, err.msg);
	assert_int_equal(rc, 0);
	assert_int_equal(outlen, n);
	if (n)
		assert_memory_equal(out, data, n);
	free(out);
	free(text);
}

static void test_codec_round_trip_random(void **state)
{
	(void)state;
	static const char B32[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";
	static const char B64[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/=";
	static const char B64URL[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
	static const char HEXD[] = "0123456789abcdef";
	const size_t extra[] = { 1000, 1023, 1024, 1025, 4096, 4097, 65535, 65536, 65537 };
	uint8_t *data = malloc(65537);
	assert_non_null(data);
	for (size_t k = 0; k < 300 + sizeof(extra) / sizeof(extra[0]); k++) {
		const size_t n = k < 300 ? k : extra[k - 300];
		for (size_t i = 0; i < n; i++)
			data[i] = (uint8_t)rng_next();
		round_trip(sm_base32_encode, sm_base32_decode, data, n, (n * 8 + 4) / 5, B32);
		round_trip(sm_base64_encode, sm_base64_decode, data, n, (n + 2) / 3 * 4, B64);
		round_trip(sm_base64url_encode, sm_base64url_decode, data, n, (n * 8 + 5) / 6, B64URL);
		round_trip(sm_hex_encode, sm_hex_decode, data, n, 2 * n, HEXD);
	}
	free(data);
}

/* OpenSSL's EVP_EncodeBlock is an independent base64 encoder; base64url is its translation. */
static void test_codec_base64_matches_openssl(void **state)
{
	(void)state;
	uint8_t data[200];
	unsigned char ref[4 * (sizeof(data) / 3 + 1) + 1];
	for (size_t n = 0; n <= sizeof(data); n++) {
		for (size_t i = 0; i < n; i++)
			data[i] = (uint8_t)rng_next();
		const int rlen = EVP_EncodeBlock(ref, data, (int)n);
		assert_true(rlen >= 0);
		char *mine = sm_base64_encode(data, n);
		assert_string_equal(mine, (const char *)ref);
		free(mine);
		size_t ulen = (size_t)rlen;
		while (ulen > 0 && ref[ulen - 1] == '=')
			ulen--;
		ref[ulen] = '\0';
		for (size_t i = 0; i < ulen; i++)
			ref[i] = ref[i] == '+' ? '-' : ref[i] == '/' ? '_' : ref[i];
		mine = sm_base64url_encode(data, n);
		assert_string_equal(mine, (const char *)ref);
		free(mine);
	}
}

/* Every wrong last character of a short base32/base64 string is refused: one text per value. */
static void test_codec_canonical_only(void **state)
{
	(void)state;
	static const char B32[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";
	static const char B64[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
	size_t ok32 = 0, ok64 = 0;
	for (size_t i = 0; i < 32; i++) {
		char t[3] = { 'M', B32[i], '\0' };
		uint8_t *out = NULL;
		size_t len = 0;
		if (sm_base32_decode(t, 2, &out, &len, NULL) == 0)
			ok32++;
		free(out);
	}
	for (size_t i = 0; i < 64; i++) {
		char t[5] = { 'Z', B64[i], '=', '=', '\0' };
		uint8_t *out = NULL;
		size_t len = 0;
		if (sm_base64_decode(t, 4, &out, &len, NULL) == 0)
			ok64++;
		free(out);
	}
	/* 2 base32 characters carry 1 byte + 2 spare bits: 8 of 32 last characters are canonical */
	assert_int_equal(ok32, 8);
	/* "Z?==" carries 1 byte + 4 spare bits: 4 of 64 */
	assert_int_equal(ok64, 4);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_codec_base32_rfc4648),
		cmocka_unit_test(test_codec_base64_rfc4648),
		cmocka_unit_test(test_codec_hex_rfc4648),
		cmocka_unit_test(test_codec_base64url_alphabet),
		cmocka_unit_test(test_codec_accepts_either_case),
		cmocka_unit_test(test_codec_base32_rejects),
		cmocka_unit_test(test_codec_base64_rejects),
		cmocka_unit_test(test_codec_base64url_rejects),
		cmocka_unit_test(test_codec_hex_rejects),
		cmocka_unit_test(test_codec_rejects_too_big),
		cmocka_unit_test(test_codec_round_trip_random),
		cmocka_unit_test(test_codec_base64_matches_openssl),
		cmocka_unit_test(test_codec_canonical_only),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
