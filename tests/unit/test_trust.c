/* SPDX-License-Identifier: Apache-2.0 */
/* Unit tests of the trust bundle: encoding, strict decoding, verification of a chain, key look-up. */
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

#include "cbor_int.h"
#include "starmark/starmark.h"

#define NOW 1790000000 /* 2026-09-21 */

/* A key pair from a seed of 32 equal bytes: deterministic, different per byte. */
static sm_key *seed_key(uint8_t b)
{
	uint8_t seed[32];
	sm_key *k = NULL;
	memset(seed, b, sizeof(seed));
	assert_int_equal(sm_key_from_seed(seed, &k), 0);
	return k;
}

static void add_key(sm_trust *t, int role, const sm_key *k, int64_t nb, int64_t na)
{
	sm_trust_key *x = &t->keys[t->nkeys++];
	x->role = role;
	sm_key_public(k, x->pub);
	sm_key_kid(k, x->kid);
	x->not_before = nb;
	x->not_after = na;
}

/* A bundle naming `root` with an issuer, a status and a log key. */
static sm_trust *bundle(uint64_t version, const sm_key *root)
{
	sm_trust *t = calloc(1, sizeof(*t));
	assert_non_null(t);
	t->version = version;
	t->at = NOW + (int64_t)version;
	sm_key_public(root, t->root);
	snprintf(t->scheme, sizeof(t->scheme), "CCDS");
	t->levels = 3;
	snprintf(t->origin, sizeof(t->origin), "registry.example.jp");
	sm_key *i = seed_key(0x11), *s = seed_key(0x12), *l = seed_key(0x13);
	add_key(t, SM_ROLE_ISSUER, i, NOW, 0);
	add_key(t, SM_ROLE_STATUS, s, NOW, 0);
	add_key(t, SM_ROLE_LOG, l, NOW, 0);
	sm_key_free(i);
	sm_key_free(s);
	sm_key_free(l);
	return t;
}

/* The COSE_Sign1 of `t` by `signer` with content type `type`; caller frees. */
static uint8_t *sign(const sm_trust *t, const sm_key *signer, enum sm_cose_type type, size_t *n)
{
	sm_buf b = SM_BUF_INIT;
	uint8_t *out = NULL;
	assert_int_equal(sm_trust_encode(t, &b), 0);
	assert_int_equal(sm_cose_sign1(signer, type, b.data, b.len, true, &out, n), 0);
	sm_buf_cleanup(&b);
	return out;
}

static void assert_trust_equal(const sm_trust *a, const sm_trust *b)
{
	assert_int_equal(a->version, b->version);
	assert_int_equal(a->at, b->at);
	assert_memory_equal(a->root, b->root, SM_PUBKEY_LEN);
	assert_string_equal(a->scheme, b->scheme);
	assert_int_equal(a->levels, b->levels);
	assert_string_equal(a->origin, b->origin);
	assert_int_equal(a->nkeys, b->nkeys);
	for (size_t i = 0; i < a->nkeys; i++) {
		assert_int_equal(a->keys[i].role, b->keys[i].role);
		assert_memory_equal(a->keys[i].pub, b->keys[i].pub, SM_PUBKEY_LEN);
		assert_memory_equal(a->keys[i].kid, b->keys[i].kid, SM_KID_LEN);
		assert_int_equal(a->keys[i].not_before, b->keys[i].not_before);
		assert_int_equal(a->keys[i].not_after, b->keys[i].not_after);
	}
}

/* ---- names and fingerprints ---- */

static void test_trust_role_names(void **state)
{
	(void)state;
	static const char *const names[] = {"root", "issuer", "status", "log"};
	for (int i = 0; i < 4; i++) {
		assert_string_equal(sm_role_name(i), names[i]);
		assert_int_equal(sm_role_from_name(names[i]), i);
	}
	assert_null(sm_role_name(-1));
	assert_null(sm_role_name(4));
	assert_int_equal(sm_role_from_name("Issuer"), -1);
	assert_int_equal(sm_role_from_name(""), -1);
	assert_int_equal(sm_role_from_name("issuer "), -1);
}

static void test_trust_fingerprint(void **state)
{
	(void)state;
	/* RFC 8032 test 1 public key; SHA-256 computed independently (Python hashlib) */
	static const uint8_t pub[32] = {0xd7, 0x5a, 0x98, 0x01, 0x82, 0xb1, 0x0a, 0xb7, 0xd5, 0x4b, 0xfe,
	                                0xd3, 0xc9, 0x64, 0x07, 0x3a, 0x0e, 0xe1, 0x72, 0xf3, 0xda, 0xa6,
	                                0x23, 0x25, 0xaf, 0x02, 0x1a, 0x68, 0xf7, 0x07, 0x51, 0x1a};
	char fp[65];
	memset(fp, 'X', sizeof(fp));
	sm_key_fingerprint(pub, fp);
	assert_string_equal(fp, "21fe31dfa154a261626bf854046fd2271b7bed4b6abe45aa58877ef47f9721b9");
}

/* ---- encode / decode ---- */

static void test_trust_roundtrip(void **state)
{
	(void)state;
	sm_key *root = seed_key(0x01);
	sm_trust *t = bundle(7, root);
	/* a retired key and the one after it, and negative and large times */
	sm_key *old = seed_key(0x21);
	add_key(t, SM_ROLE_ISSUER, old, -5, NOW - 1);
	t->keys[0].not_before = NOW - 1;
	t->at = INT64_MAX;
	snprintf(t->scheme, sizeof(t->scheme), "JC-STAR");
	t->levels = 4;
	snprintf(t->origin, sizeof(t->origin), "登録.example.jp");
	sm_buf b = SM_BUF_INIT;
	assert_int_equal(sm_trust_encode(t, &b), 0);
	assert_int_equal(sm_cbor_wellformed(b.data, b.len, 4, NULL), 0);
	sm_trust *d = calloc(1, sizeof(*d));
	sm_err err = {0};
	int rc = sm_trust_decode(b.data, b.len, d, &err);
	if (rc)
		fail_msg("decode: %d %s", rc, err.msg);
	assert_trust_equal(t, d);
	/* the kid is derived from the key, not carried */
	uint8_t kid[SM_KID_LEN];
	sm_key_kid(old, kid);
	assert_memory_equal(d->keys[3].kid, kid, SM_KID_LEN);
	/* encoding is deterministic */
	sm_buf b2 = SM_BUF_INIT;
	assert_int_equal(sm_trust_encode(d, &b2), 0);
	assert_int_equal(b2.len, b.len);
	assert_memory_equal(b2.data, b.data, b.len);
	sm_buf_cleanup(&b);
	sm_buf_cleanup(&b2);
	free(d);
	free(t);
	sm_key_free(old);
	sm_key_free(root);
}

static void test_trust_roundtrip_limits(void **state)
{
	(void)state;
	sm_key *root = seed_key(0x01);
	sm_trust *t = bundle(1, root);
	/* the most keys, the longest scheme and origin, no keys at all */
	t->nkeys = SM_TRUST_MAX_KEYS;
	for (size_t i = 3; i < SM_TRUST_MAX_KEYS; i++)
		t->keys[i] = t->keys[i % 3];
	memset(t->scheme, 'S', sizeof(t->scheme) - 1);
	memset(t->origin, 'o', sizeof(t->origin) - 1);
	t->levels = 9;
	sm_buf b = SM_BUF_INIT;
	assert_int_equal(sm_trust_encode(t, &b), 0);
	assert_true(b.len <= SM_TRUST_MAX_SIZE);
	sm_trust *d = calloc(1, sizeof(*d));
	sm_err err = {0};
	assert_int_equal(sm_trust_decode(b.data, b.len, d, &err), 0);
	assert_trust_equal(t, d);
	t->nkeys = 0;
	b.len = 0;
	assert_int_equal(sm_trust_encode(t, &b), 0);
	assert_int_equal(sm_trust_decode(b.data, b.len, d, &err), 0);
	assert_int_equal(d->nkeys, 0);
	sm_buf_cleanup(&b);
	free(d);
	free(t);
	sm_key_free(root);
}

/* How to spoil one field of a hand-built bundle. */
enum spoil {
	OK,
	VERSION_TEXT,
	AT_TEXT,
	ROOT_31,
	ROOT_33,
	ROOT_TEXT,
	KEYS_MAP,
	KEY_31,
	KEY_33,
	KEY_ROLE_ROOT,
	KEY_ROLE_4,
	KEY_3_FIELDS,
	KEY_5_FIELDS,
	KEY_NB_TEXT,
	KEYS_257,
	SCHEME_33,
	SCHEME_NUL,
	LEVELS_0,
	LEVELS_10,
	ORIGIN_256,
	ORIGIN_BAD_UTF8,
};

static void put_value(sm_buf *b, uint64_t k, const sm_trust *t, enum spoil sp)
{
	uint8_t zero[40] = {0};
	char longs[300];
	memset(longs, 'x', sizeof(longs));
	switch (k) {
	case 1:
		if (sp == VERSION_TEXT)
			assert_int_equal(sm_cbor_put_str(b, "1"), 0);
		else
			assert_int_equal(sm_cbor_put_uint(b, t->version), 0);
		break;
	case 2:
		if (sp == AT_TEXT)
			assert_int_equal(sm_cbor_put_str(b, "2026-09-21"), 0);
		else
			assert_int_equal(sm_cbor_put_int(b, t->at), 0);
		break;
	case 3:
		if (sp == ROOT_TEXT)
			assert_int_equal(sm_cbor_put_text(b, longs, 32), 0);
		else
			assert_int_equal(sm_cbor_put_bytes(b, sp == ROOT_33 ? zero : t->root,
			                                   sp == ROOT_31   ? 31
			                                   : sp == ROOT_33 ? 33
			                                                   : 32),
			                 0);
		break;
	case 4:
		if (sp == KEYS_MAP) {
			assert_int_equal(sm_cbor_put_map(b, 0), 0);
			break;
		}
		if (sp == KEYS_257) {
			assert_int_equal(sm_cbor_put_array(b, 257), 0);
			break;
		}
		assert_int_equal(sm_cbor_put_array(b, t->nkeys), 0);
		for (size_t i = 0; i < t->nkeys; i++) {
			const sm_trust_key *x = &t->keys[i];
			bool last = i + 1 == t->nkeys;
			size_t nf = last && sp == KEY_3_FIELDS ? 3 : last && sp == KEY_5_FIELDS ? 5 : 4;
			int role = last && sp == KEY_ROLE_ROOT ? 0 : last && sp == KEY_ROLE_4 ? 4 : x->role;
			size_t klen = last && sp == KEY_31 ? 31 : last && sp == KEY_33 ? 33 : 32;
			assert_int_equal(sm_cbor_put_array(b, nf), 0);
			assert_int_equal(sm_cbor_put_uint(b, (uint64_t)role), 0);
			assert_int_equal(sm_cbor_put_bytes(b, klen == 33 ? zero : x->pub, klen), 0);
			if (last && sp == KEY_NB_TEXT)
				assert_int_equal(sm_cbor_put_str(b, "now"), 0);
			else
				assert_int_equal(sm_cbor_put_int(b, x->not_before), 0);
			if (nf >= 4)
				assert_int_equal(sm_cbor_put_int(b, x->not_after), 0);
			if (nf == 5)
				assert_int_equal(sm_cbor_put_int(b, 0), 0);
		}
		break;
	case 5:
		if (sp == SCHEME_33)
			assert_int_equal(sm_cbor_put_text(b, longs, 33), 0);
		else if (sp == SCHEME_NUL)
			assert_int_equal(sm_cbor_put_text(b, "CC\0DS", 5), 0);
		else
			assert_int_equal(sm_cbor_put_str(b, t->scheme), 0);
		break;
	case 6:
		assert_int_equal(sm_cbor_put_uint(b, sp == LEVELS_0    ? 0
		                                     : sp == LEVELS_10 ? 10
		                                                       : (uint64_t)t->levels),
		                 0);
		break;
	case 7:
		if (sp == ORIGIN_256)
			assert_int_equal(sm_cbor_put_text(b, longs, 256), 0);
		else if (sp == ORIGIN_BAD_UTF8)
			assert_int_equal(sm_cbor_put_text(b, "a\xff", 2), 0);
		else
			assert_int_equal(sm_cbor_put_str(b, t->origin), 0);
		break;
	default:
		assert_int_equal(sm_cbor_put_uint(b, 0), 0);
		break;
	}
}

/* A map of `nmap` pairs with the keys `keys` (their standard values, one of them spoiled). */
static void build(sm_buf *b, const uint64_t *keys, size_t nkeys, size_t nmap, enum spoil sp)
{
	sm_key *root = seed_key(0x01);
	sm_trust *t = bundle(1, root);
	b->len = 0;
	assert_int_equal(sm_cbor_put_map(b, nmap), 0);
	for (size_t i = 0; i < nkeys; i++) {
		assert_int_equal(sm_cbor_put_uint(b, keys[i]), 0);
		put_value(b, keys[i], t, sp);
	}
	free(t);
	sm_key_free(root);
}

static const uint64_t all7[] = {1, 2, 3, 4, 5, 6, 7};

/* Decode `b` expecting `code`, a field `field` (NULL: not checked) and `msg` in the message. */
static void expect_refused(const sm_buf *b, int code, const char *field, const char *msg)
{
	sm_trust *d = calloc(1, sizeof(*d));
	sm_err err = {0};
	int rc = sm_trust_decode(b->data, b->len, d, &err);
	if (rc != code)
		fail_msg("expected %d (\"%s\"), got %d: %s", code, msg, rc, err.msg);
	if (field)
		assert_string_equal(err.field, field);
	if (!strstr(err.msg, msg))
		fail_msg("expected \"%s\" in the message, got \"%s\"", msg, err.msg);
	free(d);
}

static void test_trust_decode_hand_built_ok(void **state)
{
	(void)state;
	sm_buf b = SM_BUF_INIT;
	build(&b, all7, 7, 7, OK);
	sm_trust *d = calloc(1, sizeof(*d));
	sm_err err = {0};
	assert_int_equal(sm_trust_decode(b.data, b.len, d, &err), 0);
	assert_int_equal(d->version, 1);
	assert_int_equal(d->nkeys, 3);
	assert_string_equal(d->scheme, "CCDS");
	free(d);
	sm_buf_cleanup(&b);
}

static void test_trust_decode_field_set(void **state)
{
	(void)state;
	sm_buf b = SM_BUF_INIT;
	/* a missing field: the count says so */
	build(&b, all7, 6, 6, OK);
	expect_refused(&b, SM_EINVAL, "trust", "a trust bundle has 6 fields, not 7");
	/* field 8 is the root proof: 64 bytes, not an integer */
	static const uint64_t eight[] = {1, 2, 3, 4, 5, 6, 7, 8};
	build(&b, eight, 8, 8, OK);
	expect_refused(&b, SM_EINVAL, "root_proof", "root_proof");
	/* an extra field 9 */
	static const uint64_t nine[] = {1, 2, 3, 4, 5, 6, 7, 8, 9};
	build(&b, nine, 9, 9, OK);
	expect_refused(&b, SM_EINVAL, "trust", "a trust bundle has 9 fields, not 7");
	/* seven fields, but 8 instead of 7 */
	static const uint64_t other[] = {1, 2, 3, 4, 5, 6, 8};
	build(&b, other, 7, 7, OK);
	expect_refused(&b, SM_EINVAL, "trust", "trust bundle field 8 where 7 belongs");
	/* out of order */
	static const uint64_t swapped[] = {2, 1, 3, 4, 5, 6, 7};
	build(&b, swapped, 7, 7, OK);
	expect_refused(&b, SM_EINVAL, "trust", "trust bundle field 2 where 1 belongs");
	static const uint64_t late[] = {1, 2, 3, 4, 6, 5, 7};
	build(&b, late, 7, 7, OK);
	expect_refused(&b, SM_EINVAL, "trust", "trust bundle field 6 where 5 belongs");
	/* a field twice */
	static const uint64_t twice[] = {1, 1, 2, 3, 4, 5, 6};
	build(&b, twice, 7, 7, OK);
	expect_refused(&b, SM_EINVAL, "trust", "trust bundle field 1 where 2 belongs");
	/* the map says 7, the bytes hold 6 */
	build(&b, all7, 6, 7, OK);
	expect_refused(&b, SM_EINVAL, NULL, "ends early");
	/* trailing bytes */
	build(&b, all7, 7, 7, OK);
	assert_int_equal(sm_cbor_put_uint(&b, 0), 0);
	expect_refused(&b, SM_EINVAL, "trust", "unexpected bytes after the trust bundle");
	/* not a map; a text key */
	b.len = 0;
	assert_int_equal(sm_cbor_put_array(&b, 7), 0);
	expect_refused(&b, SM_EINVAL, "trust bundle", "unexpected CBOR type");
	b.len = 0;
	assert_int_equal(sm_cbor_put_map(&b, 7), 0);
	assert_int_equal(sm_cbor_put_str(&b, "version"), 0);
	expect_refused(&b, SM_EINVAL, "key", "unexpected CBOR type");
	/* empty input */
	b.len = 0;
	assert_int_equal(sm_cbor_put_map(&b, 0), 0);
	expect_refused(&b, SM_EINVAL, "trust", "0 fields, not 7");
	sm_buf_cleanup(&b);
}

static void test_trust_decode_bad_values(void **state)
{
	(void)state;
	static const struct {
		enum spoil sp;
		int code;
		const char *field;
		const char *msg;
	} t[] = {
	    {VERSION_TEXT, SM_EINVAL, "version", "version: unexpected CBOR type"},
	    {AT_TEXT, SM_EINVAL, "at", "at: expected an integer"},
	    {ROOT_31, SM_EINVAL, "root", "the root key is 31 bytes, not 32"},
	    {ROOT_33, SM_ETOOBIG, "root", "root: 33 bytes, more than 32"},
	    {ROOT_TEXT, SM_EINVAL, "root", "root: unexpected CBOR type"},
	    {KEYS_MAP, SM_EINVAL, "keys", "keys: unexpected CBOR type"},
	    {KEYS_257, SM_ETOOBIG, "keys", "257 items, more than 256"},
	    {KEY_31, SM_EINVAL, "keys", "31 bytes, not 32"},
	    {KEY_33, SM_ETOOBIG, "key", "key: 33 bytes, more than 32"},
	    {KEY_ROLE_ROOT, SM_EINVAL, "keys", "role 0"},
	    {KEY_ROLE_4, SM_EINVAL, "keys", "role 4"},
	    {KEY_3_FIELDS, SM_EINVAL, "keys", "has 3 fields, not 4"},
	    {KEY_5_FIELDS, SM_ETOOBIG, "trust key", "5 items, more than 4"},
	    {KEY_NB_TEXT, SM_EINVAL, "not_before", "not_before: expected an integer"},
	    {SCHEME_33, SM_ETOOBIG, "scheme", "scheme: 33 bytes, more than 32"},
	    {SCHEME_NUL, SM_EINVAL, "scheme", "NUL"},
	    {LEVELS_0, SM_EINVAL, "levels", "0 levels is out of range"},
	    {LEVELS_10, SM_EINVAL, "levels", "10 levels is out of range"},
	    {ORIGIN_256, SM_ETOOBIG, "origin", "origin: 256 bytes, more than 255"},
	    {ORIGIN_BAD_UTF8, SM_EINVAL, NULL, "not valid UTF-8"},
	};
	sm_buf b = SM_BUF_INIT;
	for (size_t i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
		build(&b, all7, 7, 7, t[i].sp);
		sm_trust *d = calloc(1, sizeof(*d));
		sm_err err = {0};
		int rc = sm_trust_decode(b.data, b.len, d, &err);
		if (rc != t[i].code)
			fail_msg("case %zu (%s): expected %d, got %d: %s", i, t[i].msg, t[i].code, rc,
			         err.msg);
		if (t[i].field && strcmp(err.field, t[i].field) != 0)
			fail_msg("case %zu (%s): field \"%s\", expected \"%s\"", i, t[i].msg, err.field,
			         t[i].field);
		if (!strstr(err.msg, t[i].msg))
			fail_msg("case %zu: expected \"%s\" in \"%s\"", i, t[i].msg, err.msg);
		free(d);
	}
	sm_buf_cleanup(&b);
}

static void test_trust_decode_truncated(void **state)
{
	(void)state;
	sm_key *root = seed_key(0x01);
	sm_trust *t = bundle(2, root);
	sm_buf b = SM_BUF_INIT;
	assert_int_equal(sm_trust_encode(t, &b), 0);
	sm_trust *d = calloc(1, sizeof(*d));
	for (size_t k = 0; k < b.len; k++) {
		uint8_t *p = malloc(k ? k : 1);
		memcpy(p, b.data, k);
		sm_err err = {0};
		int rc = sm_trust_decode(p, k, d, &err);
		if (rc != SM_EINVAL)
			fail_msg("cut to %zu of %zu bytes: expected %d, got %d", k, b.len, SM_EINVAL, rc);
		free(p);
	}
	free(d);
	free(t);
	sm_buf_cleanup(&b);
	sm_key_free(root);
}

/* ---- verification ---- */

struct vfx {
	sm_key *root, *other, *issuer;
	uint8_t root_pub[32], other_pub[32];
	sm_trust *v1;
	uint8_t *v1_signed;
	size_t v1_len;
};

static int vsetup(void **state)
{
	struct vfx *f = calloc(1, sizeof(*f));
	f->root = seed_key(0x01);
	f->other = seed_key(0x02);
	f->issuer = seed_key(0x11);
	sm_key_public(f->root, f->root_pub);
	sm_key_public(f->other, f->other_pub);
	f->v1 = bundle(1, f->root);
	f->v1_signed = sign(f->v1, f->root, SM_COSE_TRUST, &f->v1_len);
	*state = f;
	return 0;
}

static int vteardown(void **state)
{
	struct vfx *f = *state;
	free(f->v1_signed);
	free(f->v1);
	sm_key_free(f->root);
	sm_key_free(f->other);
	sm_key_free(f->issuer);
	free(f);
	return 0;
}

/* Verify and expect `code` with `msg` in the message (code 0: success, *out checked by the caller). */
static void expect_verify(const uint8_t *p, size_t n, const sm_trust *prev, int code, const char *msg, sm_trust *out)
{
	sm_err err = {0};
	int rc = sm_trust_verify(p, n, prev, out, &err);
	if (rc != code)
		fail_msg("expected %d (\"%s\"), got %d: %s", code, msg ? msg : "", rc, err.msg);
	if (msg && !strstr(err.msg, msg))
		fail_msg("expected \"%s\" in the message, got \"%s\"", msg, err.msg);
}

/* A bundle that changes the root to `fresh`: signed by `old`, with the proof of `fresh`. */
static uint8_t *root_change(sm_trust *t, const sm_key *old, const sm_key *fresh, size_t *n)
{
	sm_buf body = SM_BUF_INIT;
	sm_key_public(fresh, t->root);
	t->has_root_proof = false;
	assert_int_equal(sm_trust_encode_ex(t, false, &body), 0);
	assert_int_equal(sm_key_sign(fresh, body.data, body.len, t->root_proof), 0);
	t->has_root_proof = true;
	sm_buf_cleanup(&body);
	return sign(t, old, SM_COSE_TRUST, n);
}

static void test_trust_verify_standing_alone(void **state)
{
	struct vfx *f = *state;
	sm_trust *out = calloc(1, sizeof(*out));
	expect_verify(f->v1_signed, f->v1_len, NULL, 0, NULL, out);
	assert_trust_equal(out, f->v1);
	/* a bundle naming one root and signed by another does not stand alone */
	sm_trust *t = bundle(1, f->other);
	size_t n;
	uint8_t *p = sign(t, f->root, SM_COSE_TRUST, &n);
	expect_verify(p, n, NULL, SM_EVERIFY, "not signed by the root key it names", out);
	free(p);
	free(t);
	/* any version stands alone when its root signed it */
	t = bundle(3, f->root);
	p = sign(t, f->root, SM_COSE_TRUST, &n);
	expect_verify(p, n, NULL, 0, NULL, out);
	assert_int_equal(out->version, 3);
	free(p);
	/* a root change stands alone by the new root's proof, though the old root signed it */
	t->version = 4;
	p = root_change(t, f->root, f->other, &n);
	expect_verify(p, n, NULL, 0, NULL, out);
	assert_memory_equal(out->root, f->other_pub, 32);
	free(p);
	/* ... and not with a proof that fails */
	t->root_proof[5] ^= 1;
	p = sign(t, f->root, SM_COSE_TRUST, &n);
	expect_verify(p, n, NULL, SM_EVERIFY, "not signed by the root key it names", out);
	free(p);
	free(t);
	free(out);
}

static void test_trust_verify_successor(void **state)
{
	struct vfx *f = *state;
	sm_trust *out = calloc(1, sizeof(*out));
	sm_trust *v2 = bundle(2, f->root);
	sm_key *k = seed_key(0x31);
	v2->keys[0].not_after = NOW + 100;
	add_key(v2, SM_ROLE_ISSUER, k, NOW + 100, 0);
	size_t n;
	uint8_t *p = sign(v2, f->root, SM_COSE_TRUST, &n);
	expect_verify(p, n, f->v1, 0, NULL, out);
	assert_trust_equal(out, v2);
	free(p);
	/* a version that skips ahead is still a successor (the chain walk asks for every version) */
	v2->version = 10;
	p = sign(v2, f->root, SM_COSE_TRUST, &n);
	expect_verify(p, n, f->v1, 0, NULL, out);
	assert_int_equal(out->version, 10);
	free(p);
	/* another registry's bundle, signed by the same root, is no successor */
	snprintf(v2->origin, sizeof(v2->origin), "other.example");
	p = sign(v2, f->root, SM_COSE_TRUST, &n);
	expect_verify(p, n, f->v1, SM_EVERIFY, "of another registry", out);
	free(p);
	sm_key_free(k);
	free(v2);
	free(out);
}

static void test_trust_verify_rollback(void **state)
{
	struct vfx *f = *state;
	sm_trust *out = calloc(1, sizeof(*out));
	expect_verify(f->v1_signed, f->v1_len, f->v1, SM_EVERIFY, "version 1 does not follow version 1", out);
	sm_trust *v5 = bundle(5, f->root);
	sm_trust *v4 = bundle(4, f->root);
	size_t n;
	uint8_t *p = sign(v4, f->root, SM_COSE_TRUST, &n);
	expect_verify(p, n, v5, SM_EVERIFY, "version 4 does not follow version 5 (rollback?)", out);
	free(p);
	free(v4);
	free(v5);
	free(out);
}

static void test_trust_verify_root_change(void **state)
{
	struct vfx *f = *state;
	sm_trust *out = calloc(1, sizeof(*out));
	/* signed by the previous root, naming a new one, without its proof */
	sm_trust *v2 = bundle(2, f->other);
	size_t n;
	uint8_t *p = sign(v2, f->root, SM_COSE_TRUST, &n);
	expect_verify(p, n, f->v1, SM_EVERIFY, "trust bundle version 2 changes the root key", out);
	free(p);
	/* signed by the new root only */
	p = sign(v2, f->other, SM_COSE_TRUST, &n);
	expect_verify(p, n, f->v1, SM_EVERIFY, "version 2 is not signed by the root key of version 1", out);
	free(p);
	/* both: accepted, and the next link is by the new root */
	p = root_change(v2, f->root, f->other, &n);
	expect_verify(p, n, f->v1, 0, NULL, out);
	free(p);
	sm_trust *v3 = bundle(3, f->other);
	p = sign(v3, f->other, SM_COSE_TRUST, &n);
	expect_verify(p, n, v2, 0, NULL, out);
	expect_verify(p, n, f->v1, SM_EVERIFY, "not signed by the root key of version 1", out);
	free(p);
	/* a proof on a bundle that keeps its root */
	p = root_change(v3, f->other, f->other, &n);
	expect_verify(p, n, v2, SM_EVERIFY, "carries a root proof but keeps its root", out);
	free(p);
	free(v3);
	free(v2);
	free(out);
}

static void test_trust_verify_wrong_signer(void **state)
{
	struct vfx *f = *state;
	sm_trust *out = calloc(1, sizeof(*out));
	size_t n;
	/* the issuer key signs a bundle naming the real root */
	uint8_t *p = sign(f->v1, f->issuer, SM_COSE_TRUST, &n);
	expect_verify(p, n, NULL, SM_EVERIFY, "not signed by the root key it names", out);
	free(p);
	sm_trust *v2 = bundle(2, f->root);
	p = sign(v2, f->issuer, SM_COSE_TRUST, &n);
	expect_verify(p, n, f->v1, SM_EVERIFY, "not signed by the root key of version 1", out);
	free(p);
	/* a flipped byte in the signature */
	p = sign(v2, f->root, SM_COSE_TRUST, &n);
	p[n - 1] ^= 1;
	expect_verify(p, n, f->v1, SM_EVERIFY, "not signed", out);
	free(p);
	free(v2);
	free(out);
}

static void test_trust_verify_wrong_type(void **state)
{
	struct vfx *f = *state;
	sm_trust *out = calloc(1, sizeof(*out));
	static const enum sm_cose_type types[] = {SM_COSE_EVENT, SM_COSE_STATUS, SM_COSE_SNAPSHOT,
	                                          SM_COSE_LABEL};
	for (size_t i = 0; i < 4; i++) {
		size_t n;
		uint8_t *p = sign(f->v1, f->root, types[i], &n);
		char want[64];
		snprintf(want, sizeof(want), "not a trust bundle (content type %u)", (unsigned)types[i]);
		expect_verify(p, n, NULL, SM_EINVAL, want, out);
		expect_verify(p, n, f->v1, SM_EINVAL, want, out);
		free(p);
	}
	free(out);
}

static void test_trust_verify_malformed(void **state)
{
	struct vfx *f = *state;
	sm_trust *out = calloc(1, sizeof(*out));
	sm_err err = {0};
	/* not COSE at all, and every truncation of a good bundle: refused, never accepted */
	assert_true(sm_trust_verify((const uint8_t *)"\xa0", 1, NULL, out, &err) < 0);
	for (size_t k = 0; k < f->v1_len; k++) {
		uint8_t *p = malloc(k ? k : 1);
		memcpy(p, f->v1_signed, k);
		memset(&err, 0, sizeof(err));
		int rc = sm_trust_verify(p, k, NULL, out, &err);
		if (rc >= 0)
			fail_msg("cut to %zu bytes: accepted", k);
		assert_true(err.msg[0] != '\0');
		free(p);
	}
	/* a COSE_Sign1 of the right type whose payload is not a bundle */
	uint8_t *p = NULL;
	size_t n;
	assert_int_equal(sm_cose_sign1(f->root, SM_COSE_TRUST, (const uint8_t *)"\xa0", 1, true, &p, &n), 0);
	memset(&err, 0, sizeof(err));
	assert_int_equal(sm_trust_verify(p, n, NULL, out, &err), SM_EINVAL);
	assert_non_null(strstr(err.msg, "0 fields, not 7"));
	free(p);
	free(out);
}

/* ---- look-up ---- */

static void test_trust_find_boundaries(void **state)
{
	(void)state;
	sm_key *root = seed_key(0x01), *a = seed_key(0x41), *b = seed_key(0x42);
	sm_trust *t = bundle(2, root);
	t->nkeys = 0;
	add_key(t, SM_ROLE_ISSUER, a, 1000, 2000);
	add_key(t, SM_ROLE_ISSUER, b, 2000, 0);
	uint8_t ka[SM_KID_LEN], kb[SM_KID_LEN];
	sm_key_kid(a, ka);
	sm_key_kid(b, kb);

	assert_null(sm_trust_find(t, SM_ROLE_ISSUER, ka, 999));
	assert_ptr_equal(sm_trust_find(t, SM_ROLE_ISSUER, ka, 1000), &t->keys[0]);
	assert_ptr_equal(sm_trust_find(t, SM_ROLE_ISSUER, ka, 1500), &t->keys[0]);
	assert_ptr_equal(sm_trust_find(t, SM_ROLE_ISSUER, ka, 2000), &t->keys[0]); /* inclusive */
	assert_null(sm_trust_find(t, SM_ROLE_ISSUER, ka, 2001));
	assert_null(sm_trust_find(t, SM_ROLE_ISSUER, kb, 1999));
	assert_ptr_equal(sm_trust_find(t, SM_ROLE_ISSUER, kb, 2000), &t->keys[1]);
	assert_ptr_equal(sm_trust_find(t, SM_ROLE_ISSUER, kb, INT64_MAX), &t->keys[1]); /* current: no end */
	/* the role and the kid must both match */
	assert_null(sm_trust_find(t, SM_ROLE_STATUS, ka, 1500));
	assert_null(sm_trust_find(t, SM_ROLE_ROOT, ka, 1500));
	uint8_t kx[SM_KID_LEN];
	memcpy(kx, ka, sizeof(kx));
	kx[SM_KID_LEN - 1] ^= 1;
	assert_null(sm_trust_find(t, SM_ROLE_ISSUER, kx, 1500));

	assert_ptr_equal(sm_trust_current(t, SM_ROLE_ISSUER), &t->keys[1]);
	assert_null(sm_trust_current(t, SM_ROLE_STATUS));
	t->nkeys = 0;
	assert_null(sm_trust_current(t, SM_ROLE_ISSUER));
	assert_null(sm_trust_find(t, SM_ROLE_ISSUER, ka, 1500));
	free(t);
	sm_key_free(a);
	sm_key_free(b);
	sm_key_free(root);
}

/* ---- on a real registry ---- */

static void test_trust_registry_rotation(void **state)
{
	(void)state;
	char dir[64];
	snprintf(dir, sizeof(dir), "/tmp/sm-test-trust-XXXXXX");
	assert_non_null(mkdtemp(dir));
	sm_init_opts o = {"CCDS", 3, "registry.example.jp", NULL, NOW};
	char fp[65], fp2[65];
	sm_err err = {0};
	sm_registry *r = NULL;
	assert_int_equal(sm_registry_init(dir, &o, fp, &err), 0);
	assert_int_equal(sm_registry_open(dir, true, NULL, &r, &err), 0);

	sm_trust *v1 = calloc(1, sizeof(*v1)), *out = calloc(1, sizeof(*out));
	*v1 = *sm_registry_trust(r);
	assert_int_equal(v1->version, 1);
	assert_string_equal(v1->scheme, "CCDS");
	assert_int_equal(v1->levels, 3);
	assert_string_equal(v1->origin, "registry.example.jp");
	sm_key_fingerprint(v1->root, fp2);
	assert_string_equal(fp2, fp);
	for (int role = SM_ROLE_ISSUER; role <= SM_ROLE_LOG; role++) {
		const sm_trust_key *k = sm_trust_current(v1, role);
		assert_non_null(k);
		assert_int_equal(k->not_before, NOW);
		assert_int_equal(k->not_after, 0);
	}
	uint8_t *s1 = NULL;
	size_t n1 = 0;
	assert_int_equal(sm_registry_trust_signed(r, &s1, &n1, &err), 0);
	expect_verify(s1, n1, NULL, 0, NULL, out);
	assert_trust_equal(out, v1);

	const sm_trust_key *old = sm_trust_current(v1, SM_ROLE_ISSUER);
	sm_trust_key old_issuer = *old;
	sm_trust_key old_status = *sm_trust_current(v1, SM_ROLE_STATUS);
	assert_int_equal(sm_registry_rotate(r, SM_ROLE_ISSUER, NOW + 100, &err), 0);
	const sm_trust *v2 = sm_registry_trust(r);
	assert_int_equal(v2->version, 2);
	assert_memory_equal(v2->root, v1->root, SM_PUBKEY_LEN);
	const sm_trust_key *cur = sm_trust_current(v2, SM_ROLE_ISSUER);
	assert_non_null(cur);
	assert_memory_not_equal(cur->pub, old_issuer.pub, SM_PUBKEY_LEN);
	assert_int_equal(cur->not_before, NOW + 100);
	assert_int_equal(cur->not_after, 0);
	/* the old key is still there, ending at the rotation; other roles untouched */
	const sm_trust_key *was = sm_trust_find(v2, SM_ROLE_ISSUER, old_issuer.kid, NOW + 100);
	assert_non_null(was);
	assert_memory_equal(was->pub, old_issuer.pub, SM_PUBKEY_LEN);
	assert_int_equal(was->not_after, NOW + 100);
	assert_null(sm_trust_find(v2, SM_ROLE_ISSUER, old_issuer.kid, NOW + 101));
	assert_ptr_equal(sm_trust_find(v2, SM_ROLE_ISSUER, cur->kid, NOW + 100), cur);
	assert_null(sm_trust_find(v2, SM_ROLE_ISSUER, cur->kid, NOW + 99));
	assert_memory_equal(sm_trust_current(v2, SM_ROLE_STATUS)->pub, old_status.pub, SM_PUBKEY_LEN);

	/* the new signed bundle follows the first one; the first one does not follow it */
	uint8_t *s2 = NULL;
	size_t n2 = 0;
	assert_int_equal(sm_registry_trust_signed(r, &s2, &n2, &err), 0);
	expect_verify(s2, n2, v1, 0, NULL, out);
	assert_int_equal(out->version, 2);
	assert_ptr_not_equal(sm_trust_current(out, SM_ROLE_ISSUER), NULL);
	sm_trust *v2copy = calloc(1, sizeof(*v2copy));
	*v2copy = *out;
	expect_verify(s1, n1, v2copy, SM_EVERIFY, "rollback", out);

	/* the root rotates: v3 is signed by the old root and carries the new root's proof */
	memset(&err, 0, sizeof(err));
	uint8_t old_root[SM_PUBKEY_LEN];
	memcpy(old_root, sm_registry_trust(r)->root, SM_PUBKEY_LEN);
	assert_int_equal(sm_registry_rotate(r, SM_ROLE_ROOT, NOW + 200, &err), 0);
	assert_int_equal(sm_registry_trust(r)->version, 3);
	assert_memory_not_equal(sm_registry_trust(r)->root, old_root, SM_PUBKEY_LEN);
	assert_true(sm_registry_trust(r)->has_root_proof);
	uint8_t *s3 = NULL;
	size_t n3 = 0;
	assert_int_equal(sm_registry_trust_signed(r, &s3, &n3, &err), 0);
	sm_trust *v3 = calloc(1, sizeof(*v3));
	expect_verify(s3, n3, v2copy, 0, NULL, v3); /* a root change without its proof: see above */
	free(s3);
	/* a bundle after it is signed by the new root: another rotation, then log verify of the chain */
	assert_int_equal(sm_registry_rotate(r, SM_ROLE_ISSUER, NOW + 300, &err), 0);
	sm_verify_report rep;
	assert_int_equal(sm_registry_verify(r, NULL, NULL, &rep, &err), 0);
	assert_int_equal(rep.bundles, 4);

	/* every version is kept and served by its index; log verify checks that index */
	sm_trust_chain chain = {0};
	assert_int_equal(sm_registry_trust_chain(r, 1, &chain, &err), 0);
	assert_int_equal(chain.n, 4);
	for (size_t i = 0; i < chain.n; i++)
		assert_int_equal(chain.v[i].version, i + 1);
	sm_trust_chain_cleanup(&chain);
	assert_int_equal(sm_registry_trust_chain(r, 5, &chain, &err), SM_ENOTFOUND);
	sm_txn *t = NULL;
	uint64_t idx2 = 0;
	assert_int_equal(sm_store_begin(r->store, true, &t, &err), 0);
	assert_int_equal(sm_store_meta_get_u64(t, "trust_v2", &idx2), 0);
	assert_int_equal(sm_store_meta_put_u64(t, "trust_v2", idx2 + 1), 0);
	assert_int_equal(sm_store_commit(t, &err), 0);
	assert_int_equal(sm_registry_verify(r, NULL, NULL, &rep, &err), SM_EVERIFY);
	assert_non_null(strstr(err.msg, "index of trust bundle version 2"));
	/* the finding made this handle refuse writes (docs/operations.md, "Integrity"): the repair goes through
	 * the store alone (the registry does not open a store whose bundle index is wrong), then it is reopened */
	assert_int_equal(sm_store_begin(r->store, true, &t, &err), SM_ESUSPECT);
	sm_registry_close(r);
	sm_store *raw = NULL;
	assert_int_equal(sm_store_open(dir, false, false, &raw, &err), 0);
	assert_int_equal(sm_store_begin(raw, true, &t, &err), 0);
	assert_int_equal(sm_store_meta_put_u64(t, "trust_v2", idx2), 0);
	assert_int_equal(sm_store_commit(t, &err), 0);
	sm_store_close(raw);
	assert_int_equal(sm_registry_open(dir, true, NULL, &r, &err), 0);
	assert_int_equal(sm_registry_verify(r, NULL, NULL, &rep, &err), 0);

	/* reopened, the registry reads the rotated bundle */
	sm_registry_close(r);
	assert_int_equal(sm_registry_open(dir, false, NULL, &r, &err), 0);
	assert_int_equal(sm_registry_trust(r)->version, 4);
	assert_memory_equal(sm_registry_trust(r)->root, v3->root, SM_PUBKEY_LEN);
	sm_registry_close(r);
	free(v3);

	free(s1);
	free(s2);
	free(v1);
	free(v2copy);
	free(out);
	char cmd[128];
	snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
	assert_int_equal(system(cmd), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_trust_role_names),
	    cmocka_unit_test(test_trust_fingerprint),
	    cmocka_unit_test(test_trust_roundtrip),
	    cmocka_unit_test(test_trust_roundtrip_limits),
	    cmocka_unit_test(test_trust_decode_hand_built_ok),
	    cmocka_unit_test(test_trust_decode_field_set),
	    cmocka_unit_test(test_trust_decode_bad_values),
	    cmocka_unit_test(test_trust_decode_truncated),
	    cmocka_unit_test_setup_teardown(test_trust_verify_standing_alone, vsetup, vteardown),
	    cmocka_unit_test_setup_teardown(test_trust_verify_successor, vsetup, vteardown),
	    cmocka_unit_test_setup_teardown(test_trust_verify_rollback, vsetup, vteardown),
	    cmocka_unit_test_setup_teardown(test_trust_verify_root_change, vsetup, vteardown),
	    cmocka_unit_test_setup_teardown(test_trust_verify_wrong_signer, vsetup, vteardown),
	    cmocka_unit_test_setup_teardown(test_trust_verify_wrong_type, vsetup, vteardown),
	    cmocka_unit_test_setup_teardown(test_trust_verify_malformed, vsetup, vteardown),
	    cmocka_unit_test(test_trust_find_boundaries),
	    cmocka_unit_test(test_trust_registry_rotation),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
