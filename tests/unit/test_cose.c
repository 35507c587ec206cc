/* SPDX-License-Identifier: Apache-2.0 */
/* Unit tests of lib/cose.c: COSE WG examples, round trips, and hostile encodings. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cbor.h>
#include <jansson.h>
#include <openssl/evp.h>

#include "starmark/cose.h"

/* RFC 8032 TEST 1 key, the key of the COSE examples too. */
static const char *const SEED1 = "9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60";
static const char *const SEED2 = "4ccd089b28ff96da9db6c346ec114e0f5b8a319f35aba624da8cf6ed4fb8a6fb";

/* Decode hex (either case) into a new buffer; *n its length. */
static uint8_t *unhex(const char *hex, size_t *n)
{
	size_t len = strlen(hex) / 2;
	uint8_t *out = malloc(len + 1);

	assert_non_null(out);
	for (size_t i = 0; i < len; i++) {
		unsigned v;
		assert_int_equal(sscanf(hex + 2 * i, "%2x", &v), 1);
		out[i] = (uint8_t)v;
	}
	*n = len;
	return out;
}

static sm_key *key_from_hex(const char *seed_hex)
{
	size_t n;
	uint8_t *seed = unhex(seed_hex, &n);
	sm_key *k = NULL;

	assert_int_equal(n, 32);
	assert_int_equal(sm_key_from_seed(seed, &k), 0);
	free(seed);
	return k;
}

static json_t *load_vector(const char *name)
{
	const char *dir = getenv("SM_VECTORS");
	char path[512];
	json_error_t jerr;
	json_t *j;

	snprintf(path, sizeof(path), "%s/cose/%s", dir && *dir ? dir : "/work/shared/vectors", name);
	j = json_load_file(path, 0, &jerr);
	if (!j)
		fail_msg("cannot load %s: %s", path, jerr.text);
	return j;
}

static const char *jstr(json_t *root, const char *path)
{
	/* path like "output.cbor": walk object keys split at '.' */
	char buf[128];
	json_t *j = root;
	char *save = NULL;

	snprintf(buf, sizeof(buf), "%s", path);
	for (char *tok = strtok_r(buf, ".", &save); tok; tok = strtok_r(NULL, ".", &save))
		j = json_object_get(j, tok);
	if (!json_is_string(j))
		fail_msg("vector has no string at %s", path);
	return json_string_value(j);
}

/* The four items of a COSE_Sign1 taken apart with libcbor alone (independent of lib/cose.c). */
struct parts {
	cbor_item_t *root;
	cbor_item_t **items;
};

static void split_with_libcbor(const uint8_t *p, size_t n, struct parts *out)
{
	struct cbor_load_result res;

	/* libcbor 0.8 cannot load the one-byte head of tag 18 (0xd2): step over it here. */
	assert_int_equal(p[0], 0xd2);
	out->root = cbor_load(p + 1, n - 1, &res);
	assert_non_null(out->root);
	assert_int_equal(res.read, n - 1);
	assert_int_equal(cbor_array_size(out->root), 4);
	out->items = cbor_array_handle(out->root);
}

static void test_cose_vector_eddsa_sig_01(void **state)
{
	json_t *v = load_vector("eddsa-sig-01.json");
	size_t out_len, tbs_len, x_len, got_len, pay_len;
	uint8_t *out = unhex(jstr(v, "output.cbor"), &out_len);
	uint8_t *tbs = unhex(jstr(v, "intermediates.ToBeSign_hex"), &tbs_len);
	uint8_t *x = unhex(jstr(v, "input.sign0.key.x_hex"), &x_len);
	const char *plaintext = jstr(v, "input.plaintext");
	sm_key *signer = key_from_hex(jstr(v, "input.sign0.key.d_hex"));
	sm_key *pub = NULL, *other = key_from_hex(SEED2);
	struct parts pt;
	uint8_t *got = NULL, sig[SM_SIG_LEN], kid[SM_KID_LEN];
	const uint8_t *payload;
	sm_cose *c = NULL;
	sm_err err;

	(void)state;
	split_with_libcbor(out, out_len, &pt);
	/* ToBeSign = Sig_structure over the protected bytes and payload of the example. */
	assert_int_equal(sm_cose_sig_structure(cbor_bytestring_handle(pt.items[0]),
					       cbor_bytestring_length(pt.items[0]),
					       cbor_bytestring_handle(pt.items[2]),
					       cbor_bytestring_length(pt.items[2]), &got, &got_len),
			 0);
	assert_int_equal(got_len, tbs_len);
	assert_memory_equal(got, tbs, tbs_len);
	/* Ed25519 is deterministic: our key gives the example's signature. */
	assert_int_equal(sm_key_sign(signer, tbs, tbs_len, sig), 0);
	assert_int_equal(cbor_bytestring_length(pt.items[3]), SM_SIG_LEN);
	assert_memory_equal(sig, cbor_bytestring_handle(pt.items[3]), SM_SIG_LEN);

	/* Our decoder takes the example (kid "11" unprotected, content type 0) and it verifies. */
	sm_err_clear(&err);
	assert_int_equal(sm_cose_decode(out, out_len, &c, &err), 0);
	payload = sm_cose_payload(c, &pay_len);
	assert_int_equal(pay_len, strlen(plaintext));
	assert_memory_equal(payload, plaintext, pay_len);
	assert_int_equal(sm_cose_type(c), 0);
	assert_false(sm_cose_kid(c, kid)); /* a 2-byte kid is not a starmark kid */
	assert_int_equal(x_len, SM_PUBKEY_LEN);
	assert_int_equal(sm_key_from_public(x, &pub), 0);
	assert_int_equal(sm_cose_verify(c, pub), 0);
	assert_int_equal(sm_cose_verify(c, other), SM_ECRYPTO);

	sm_cose_free(c);
	cbor_decref(&pt.root);
	sm_key_free(signer);
	sm_key_free(pub);
	sm_key_free(other);
	free(got);
	free(out);
	free(tbs);
	free(x);
	json_decref(v);
}

/* EdDSA-sig-02 is Ed448: our Sig_structure is what it signs, and our decoder refuses it. */
static void test_cose_vector_eddsa_sig_02(void **state)
{
	json_t *v = load_vector("eddsa-sig-02.json");
	size_t out_len, tbs_len, x_len, got_len;
	uint8_t *out = unhex(jstr(v, "output.cbor"), &out_len);
	uint8_t *tbs = unhex(jstr(v, "intermediates.ToBeSign_hex"), &tbs_len);
	uint8_t *x = unhex(jstr(v, "input.sign0.key.x_hex"), &x_len);
	struct parts pt;
	uint8_t *got = NULL;
	sm_cose *c = NULL;
	sm_err err;
	EVP_PKEY *ed448 = NULL;
	EVP_MD_CTX *ctx = NULL;

	(void)state;
	split_with_libcbor(out, out_len, &pt);
	assert_int_equal(sm_cose_sig_structure(cbor_bytestring_handle(pt.items[0]),
					       cbor_bytestring_length(pt.items[0]),
					       cbor_bytestring_handle(pt.items[2]),
					       cbor_bytestring_length(pt.items[2]), &got, &got_len),
			 0);
	assert_int_equal(got_len, tbs_len);
	assert_memory_equal(got, tbs, tbs_len);
	/* Independent proof that those bytes are what was signed: OpenSSL's Ed448 verifies. */
	ed448 = EVP_PKEY_new_raw_public_key_ex(NULL, "ED448", NULL, x, x_len);
	assert_non_null(ed448);
	ctx = EVP_MD_CTX_new();
	assert_int_equal(EVP_DigestVerifyInit_ex(ctx, NULL, NULL, NULL, NULL, ed448, NULL), 1);
	assert_int_equal(EVP_DigestVerify(ctx, cbor_bytestring_handle(pt.items[3]),
					  cbor_bytestring_length(pt.items[3]), got, got_len),
			 1);

	sm_err_clear(&err);
	assert_int_equal(sm_cose_decode(out, out_len, &c, &err), SM_EINVAL);
	assert_null(c);
	assert_string_equal(err.field, "signature");
	assert_non_null(strstr(err.msg, "64 bytes"));

	EVP_MD_CTX_free(ctx);
	EVP_PKEY_free(ed448);
	cbor_decref(&pt.root);
	free(got);
	free(out);
	free(tbs);
	free(x);
	json_decref(v);
}

static void test_cose_round_trip_every_type(void **state)
{
	static const enum sm_cose_type types[] = { SM_COSE_EVENT, SM_COSE_TRUST, SM_COSE_STATUS,
						   SM_COSE_SNAPSHOT, SM_COSE_LABEL };
	static const uint8_t payload[] = "a payload \x00\x01\xff";
	sm_key *k = key_from_hex(SEED1), *other = key_from_hex(SEED2);
	uint8_t want_kid[SM_KID_LEN], kid[SM_KID_LEN];
	sm_err err;

	(void)state;
	sm_key_kid(k, want_kid);
	for (size_t i = 0; i < sizeof(types) / sizeof(types[0]); i++) {
		for (int tagged = 0; tagged <= 1; tagged++) {
			uint8_t *out = NULL, *again = NULL;
			size_t n = 0, n2 = 0, pn = 0;
			const uint8_t *p;
			sm_cose *c = NULL;
			/* 0x84 array(4), 0x51 bstr(17), {1: -8, 3: type (uint16), 4: h'<8 bytes>'} */
			const uint8_t head[] = { 0x84,
						 0x51,
						 0xa3,
						 0x01,
						 0x27,
						 0x03,
						 0x19,
						 (uint8_t)(types[i] >> 8),
						 (uint8_t)types[i],
						 0x04,
						 0x48 };

			assert_int_equal(
				sm_cose_sign1(k, types[i], payload, sizeof(payload), tagged, &out, &n), 0);
			assert_int_equal(
				n, (size_t)tagged + sizeof(head) + 8 + 1 + 1 + sizeof(payload) + 2 + 64);
			assert_int_equal(out[0] == 0xd2, tagged);
			assert_memory_equal(out + tagged, head, sizeof(head));
			assert_memory_equal(out + tagged + sizeof(head), want_kid, 8);
			/* deterministic */
			assert_int_equal(
				sm_cose_sign1(k, types[i], payload, sizeof(payload), tagged, &again, &n2), 0);
			assert_int_equal(n2, n);
			assert_memory_equal(again, out, n);

			assert_int_equal(sm_cose_decode(out, n, &c, &err), 0);
			assert_int_equal(sm_cose_type(c), types[i]);
			assert_true(sm_cose_kid(c, kid));
			assert_memory_equal(kid, want_kid, SM_KID_LEN);
			p = sm_cose_payload(c, &pn);
			assert_int_equal(pn, sizeof(payload));
			assert_memory_equal(p, payload, pn);
			assert_int_equal(sm_cose_verify(c, k), 0);
			assert_int_equal(sm_cose_verify(c, other), SM_ECRYPTO);
			sm_cose_free(c);
			free(out);
			free(again);
		}
	}
	sm_key_free(k);
	sm_key_free(other);
}

static void test_cose_empty_payload(void **state)
{
	sm_key *k = key_from_hex(SEED1);
	uint8_t *out = NULL;
	size_t n = 0, pn = 99;
	sm_cose *c = NULL;

	(void)state;
	assert_int_equal(sm_cose_sign1(k, SM_COSE_LABEL, NULL, 0, false, &out, &n), 0);
	assert_int_equal(sm_cose_decode(out, n, &c, NULL), 0);
	(void)sm_cose_payload(c, &pn);
	assert_int_equal(pn, 0);
	assert_int_equal(sm_cose_verify(c, k), 0);
	sm_cose_free(c);
	free(out);
	sm_key_free(k);
}

static void test_cose_sign_refuses_public_key_and_oversize(void **state)
{
	sm_key *k = key_from_hex(SEED1), *pub = NULL;
	uint8_t raw[SM_PUBKEY_LEN];
	uint8_t *out = NULL, *big;
	size_t n = 0;

	(void)state;
	sm_key_public(k, raw);
	assert_int_equal(sm_key_from_public(raw, &pub), 0);
	assert_int_equal(sm_cose_sign1(pub, SM_COSE_EVENT, raw, 1, true, &out, &n), SM_EKEY);
	assert_null(out);
	big = calloc(1, SM_COSE_MAX_SIZE);
	assert_non_null(big);
	assert_int_equal(sm_cose_sign1(k, SM_COSE_EVENT, big, SM_COSE_MAX_SIZE, true, &out, &n), SM_ETOOBIG);
	assert_null(out);
	free(big);
	sm_key_free(pub);
	sm_key_free(k);
}

/* Every single-bit change is caught: by the decoder or by the signature. */
static void test_cose_flipped_bits_never_verify(void **state)
{
	sm_key *k = key_from_hex(SEED1);
	uint8_t *out = NULL;
	size_t n = 0;

	(void)state;
	for (int tagged = 0; tagged <= 1; tagged++) {
		assert_int_equal(
			sm_cose_sign1(k, SM_COSE_STATUS, (const uint8_t *)"status", 6, tagged, &out, &n), 0);
		for (size_t bit = 0; bit < 8 * n; bit++) {
			sm_cose *c = NULL;
			int rc;

			out[bit / 8] ^= (uint8_t)(1u << (bit % 8));
			rc = sm_cose_decode(out, n, &c, NULL);
			if (rc == 0) {
				assert_int_equal(sm_cose_verify(c, k), SM_ECRYPTO);
				sm_cose_free(c);
			} else {
				assert_null(c);
			}
			out[bit / 8] ^= (uint8_t)(1u << (bit % 8));
		}
		free(out);
	}
	sm_key_free(k);
}

static void test_cose_truncation_and_trailing_bytes(void **state)
{
	sm_key *k = key_from_hex(SEED1);
	uint8_t *out = NULL, *buf;
	size_t n = 0;
	sm_cose *c = NULL;
	sm_err err;

	(void)state;
	assert_int_equal(sm_cose_sign1(k, SM_COSE_EVENT, (const uint8_t *)"event", 5, true, &out, &n), 0);
	for (size_t cut = 0; cut < n; cut++) {
		/* a copy of exactly `cut` bytes, so ASan sees any read past the end */
		buf = malloc(cut ? cut : 1);
		memcpy(buf, out, cut);
		sm_err_clear(&err);
		assert_int_equal(sm_cose_decode(buf, cut, &c, &err), SM_EINVAL);
		assert_null(c);
		assert_true(err.msg[0] != '\0');
		free(buf);
	}
	buf = malloc(n + 1);
	memcpy(buf, out, n);
	buf[n] = 0x00;
	assert_int_equal(sm_cose_decode(buf, n + 1, &c, &err), SM_EINVAL);
	assert_non_null(strstr(err.msg, "1 unexpected bytes after the CBOR item"));
	free(buf);
	free(out);
	sm_key_free(k);
}

/* Decode `hex` and expect SM_EINVAL with `field` and `words` in the message. */
static void expect_reject(const char *hex, const char *field, const char *words)
{
	size_t n;
	uint8_t *in = unhex(hex, &n);
	sm_cose *c = NULL;
	sm_err err;

	sm_err_clear(&err);
	assert_int_equal(sm_cose_decode(in, n, &c, &err), SM_EINVAL);
	assert_null(c);
	assert_string_equal(err.field, field);
	if (!strstr(err.msg, words))
		fail_msg("expected \"%s\" in the message, got \"%s\"", words, err.msg);
	free(in);
}

/* A 64-byte byte string of zeros: a signature-shaped placeholder. */
#define ZERO32 "0000000000000000000000000000000000000000000000000000000000000000"
#define SIG64 "5840" ZERO32 ZERO32

static void test_cose_rejects_bad_structure(void **state)
{
	(void)state;
	/* alg -7 (ES256) */
	expect_reject("8443a10126a04100" SIG64, "protected", "alg is -7, expected -8");
	/* alg as text */
	expect_reject("8444a1016145a04100" SIG64, "protected", "alg is not -8");
	/* no alg */
	expect_reject("8443a10300a04100" SIG64, "protected", "no alg");
	/* empty protected */
	expect_reject("8440a04100" SIG64, "protected", "non-empty byte string");
	/* protected not a map */
	expect_reject("8443820127a04100" SIG64, "protected", "must hold a CBOR map");
	/* protected with trailing bytes inside the bstr */
	expect_reject("8444a1012700a04100" SIG64, "protected", "unexpected bytes");
	/* unknown protected label, text label, duplicate alg */
	expect_reject("8445a2012702f6a04100" SIG64, "protected", "unknown label 2");
	expect_reject("8446a20127616101a04100" SIG64, "protected", "not an integer");
	expect_reject("8445a201270127a04100" SIG64, "protected", "alg (1) appears twice");
	/* content type as text */
	expect_reject("8446a201270361"
		      "78"
		      "a04100" SIG64,
		      "protected", "unsigned integer");
	/* alg in the unprotected header, other unprotected labels */
	expect_reject("8443a10127a101274100" SIG64, "unprotected", "not allowed");
	expect_reject("8443a10127a10d004100" SIG64, "unprotected", "label 13 not allowed");
	/* kid in both headers; kid not bytes; empty kid */
	expect_reject("8446a201270441aaa10441bb4100" SIG64, "unprotected", "both headers");
	expect_reject("8443a10127a104014100" SIG64, "unprotected", "kid (4) must be a byte string");
	expect_reject("8443a10127a104404100" SIG64, "unprotected", "kid (4) of 0 bytes");
	/* detached (nil) payload, text payload */
	expect_reject("8443a10127a0f6" SIG64, "payload", "detached");
	expect_reject("8443a10127a06161" SIG64, "payload", "byte string");
	/* short signature */
	expect_reject("8443a10127a041005820"
		      "0000000000000000000000000000000000000000000000000000000000000000",
		      "signature", "64 bytes");
	/* wrong tag, array of 3, not an array */
	expect_reject("d18443a10127a04100" SIG64, "cose", "tag 17, expected 18");
	expect_reject("8343a10127a04100", "cose", "array of 4");
	expect_reject("a0", "cose", "array of 4");
	/* indefinite-length array and byte string */
	expect_reject("9f43a10127a04100" SIG64 "ff", "cose", "indefinite-length");
	expect_reject("845f43a10127ffa04100" SIG64, "cose", "indefinite-length");
	/* reserved additional information 28 */
	expect_reject("1c", "cose", "malformed");
	/* a count far beyond the input */
	expect_reject("9b00000000ffffffff00", "cose", "claims more items");
	expect_reject("5b00000000ffffffff00", "cose", "claims 4294967295 bytes");
}

static void test_cose_rejects_deep_nesting(void **state)
{
	const size_t depth = 100000;
	uint8_t *in = malloc(depth + 1);
	sm_cose *c = NULL;
	sm_err err;
	size_t n;
	uint8_t *nested;

	(void)state;
	memset(in, 0x81, depth);
	in[depth] = 0x00;
	assert_int_equal(sm_cose_decode(in, depth + 1, &c, &err), SM_EINVAL);
	assert_null(c);
	assert_non_null(strstr(err.msg, "nested deeper than 16 levels"));
	/* maps and tags count too */
	memset(in, 0xd2, depth);
	assert_int_equal(sm_cose_decode(in, depth + 1, &c, &err), SM_EINVAL);
	assert_non_null(strstr(err.msg, "nested deeper"));
	memset(in, 0xa1, depth);
	assert_int_equal(sm_cose_decode(in, depth + 1, &c, &err), SM_EINVAL);
	assert_non_null(strstr(err.msg, "nested deeper"));
	free(in);
	/* and inside the protected bstr: 20 nested arrays */
	nested = unhex("8454"
		       "8181818181818181818181818181818181818100"
		       "a04100" SIG64,
		       &n);
	assert_int_equal(sm_cose_decode(nested, n, &c, &err), SM_EINVAL);
	assert_string_equal(err.field, "protected");
	assert_non_null(strstr(err.msg, "nested deeper"));
	free(nested);
}

/* Breadth is capped too: libcbor never builds a tree of thousands of items. */
static void test_cose_rejects_many_items(void **state)
{
	const size_t pairs = 1000;
	uint8_t *in = malloc(16 + 2 * pairs + 80);
	size_t n = 0;
	sm_cose *c = NULL;
	sm_err err;

	(void)state;
	in[n++] = 0x84;
	in[n++] = 0x43;
	in[n++] = 0xa1;
	in[n++] = 0x01;
	in[n++] = 0x27;
	in[n++] = 0xb9; /* map, 2-byte count */
	in[n++] = (uint8_t)(pairs >> 8);
	in[n++] = (uint8_t)pairs;
	for (size_t i = 0; i < pairs; i++) {
		in[n++] = 0x04;
		in[n++] = 0x00;
	}
	in[n++] = 0x40;
	in[n++] = 0x58;
	in[n++] = 0x40;
	memset(in + n, 0, 64);
	n += 64;
	assert_int_equal(sm_cose_decode(in, n, &c, &err), SM_EINVAL);
	assert_null(c);
	assert_non_null(strstr(err.msg, "more than 64 CBOR items"));
	free(in);
}

static void test_cose_rejects_oversize(void **state)
{
	uint8_t *in = calloc(1, (size_t)SM_COSE_MAX_SIZE + 1);
	sm_cose *c = NULL;
	sm_err err;

	(void)state;
	assert_non_null(in);
	assert_int_equal(sm_cose_decode(in, (size_t)SM_COSE_MAX_SIZE + 1, &c, &err), SM_ETOOBIG);
	assert_non_null(strstr(err.msg, "over the 16777216 byte limit"));
	assert_int_equal(sm_cose_decode(in, 0, &c, &err), SM_EINVAL);
	assert_non_null(strstr(err.msg, "empty"));
	free(in);
}

/* A valid signature over a protected header encoded non-minimally: verified as received. */
static void test_cose_verifies_protected_bytes_as_received(void **state)
{
	/* {1: -8} with -8 written in the 1-byte-argument form (0x38 0x07) */
	static const uint8_t prot[] = { 0xa1, 0x01, 0x38, 0x07 };
	static const uint8_t payload[] = { 'h', 'i' };
	sm_key *k = key_from_hex(SEED1);
	uint8_t *tbs = NULL, sig[SM_SIG_LEN], msg[128];
	size_t tbs_len = 0, n = 0;
	sm_cose *c = NULL;

	(void)state;
	assert_int_equal(sm_cose_sig_structure(prot, sizeof(prot), payload, sizeof(payload), &tbs, &tbs_len),
			 0);
	assert_int_equal(sm_key_sign(k, tbs, tbs_len, sig), 0);
	msg[n++] = 0x84;
	msg[n++] = 0x44;
	memcpy(msg + n, prot, sizeof(prot));
	n += sizeof(prot);
	msg[n++] = 0xa0;
	msg[n++] = 0x42;
	memcpy(msg + n, payload, sizeof(payload));
	n += sizeof(payload);
	msg[n++] = 0x58;
	msg[n++] = 0x40;
	memcpy(msg + n, sig, sizeof(sig));
	n += sizeof(sig);
	assert_int_equal(sm_cose_decode(msg, n, &c, NULL), 0);
	assert_int_equal(sm_cose_type(c), 0);
	assert_int_equal(sm_cose_verify(c, k), 0);
	sm_cose_free(c);
	free(tbs);
	sm_key_free(k);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_cose_vector_eddsa_sig_01),
		cmocka_unit_test(test_cose_vector_eddsa_sig_02),
		cmocka_unit_test(test_cose_round_trip_every_type),
		cmocka_unit_test(test_cose_empty_payload),
		cmocka_unit_test(test_cose_sign_refuses_public_key_and_oversize),
		cmocka_unit_test(test_cose_flipped_bits_never_verify),
		cmocka_unit_test(test_cose_truncation_and_trailing_bytes),
		cmocka_unit_test(test_cose_rejects_bad_structure),
		cmocka_unit_test(test_cose_rejects_deep_nesting),
		cmocka_unit_test(test_cose_rejects_many_items),
		cmocka_unit_test(test_cose_rejects_oversize),
		cmocka_unit_test(test_cose_verifies_protected_bytes_as_received),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
