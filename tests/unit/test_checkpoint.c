/* SPDX-License-Identifier: Apache-2.0 */
/* Unit tests of lib/checkpoint.c: the Go sumdb/note examples, checkpoints, malformed notes. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>

#include "starmark/checkpoint.h"

/*
 * The example of golang.org/x/mod/sumdb/note (package doc and note_test.go): the PeterNeumann
 * signer key, its verifier key, a note and its signature, and the EnochRoot co-signature.
 */
static const char PETER_SKEY_B64[] = "AYEKFALVFGyNhPJEMzD1QIDr+Y7hfZx09iUvxdXHKDFz";
static const char PETER_VKEY[] = "PeterNeumann+c74f20a3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW";
static const char ENOCH_VKEY[] = "EnochRoot+af0cfe78+ATtqJ7zOtqQtYqOo0CpvDXNlMhV3HeJDpjrASKGLWdop";
static const char PETER_TEXT[] = "If you think cryptography is the answer to your problem,\n"
				 "then you don't know what your problem is.\n";
static const char PETER_SIG[] = "— PeterNeumann x08go/ZJkuBS9UG/SffcvIAQxVBtiFupLLr8pAcElZInNIuGUgYN1FF"
				"YC2pZSNXgKvqfqdngotpRZb6KE6RyyBwJnAM=\n";
static const char ENOCH_SIG[] = "— EnochRoot rwz+eBzmZa0SO3NbfRGzPCpDckykFXSdeX+MNtCOXm2/5n2tiOHp+vAF1a"
				"GrQ5ovTG01oOTGwnWLox33WWd1RvMc+QQ=\n";

static const char ORIGIN[] = "example.com/starmark";
static const char *const SEED_HEX = "c5aa8df43f9f837bedb7442f31dcb7b166d38535076f094b85ce3a2e0b4458f7";
static const char *const OTHER_HEX = "4ccd089b28ff96da9db6c346ec114e0f5b8a319f35aba624da8cf6ed4fb8a6fb";

static sm_key *key_from_hex(const char *hex)
{
	uint8_t seed[32];
	sm_key *k = NULL;

	for (size_t i = 0; i < 32; i++) {
		unsigned v;
		assert_int_equal(sscanf(hex + 2 * i, "%2x", &v), 1);
		seed[i] = (uint8_t)v;
	}
	assert_int_equal(sm_key_from_seed(seed, &k), 0);
	return k;
}

/* base64 by OpenSSL, independent of lib/codec.c; caller frees. */
static char *b64(const uint8_t *p, size_t n)
{
	char *out = malloc(4 * ((n + 2) / 3) + 1);

	assert_non_null(out);
	EVP_EncodeBlock((unsigned char *)out, p, (int)n);
	return out;
}

/* The Go example's signer key: base64(0x01 || seed). */
static sm_key *peter_key(void)
{
	uint8_t raw[48];
	sm_key *k = NULL;

	assert_int_equal(
		EVP_DecodeBlock(raw, (const unsigned char *)PETER_SKEY_B64, (int)strlen(PETER_SKEY_B64)), 33);
	assert_int_equal(raw[0], 0x01);
	assert_int_equal(sm_key_from_seed(raw + 1, &k), 0);
	return k;
}

static char *concat3(const char *a, const char *b, const char *c)
{
	size_t la = strlen(a), lb = strlen(b), lc = strlen(c);
	char *s = malloc(la + lb + lc + 1);

	assert_non_null(s);
	memcpy(s, a, la);
	memcpy(s + la, b, lb);
	memcpy(s + la + lb, c, lc + 1);
	return s;
}

/* A signature line over `text` written here, not by the library: "— name base64(id || sig)\n". */
static char *sig_line(const char *text, const char *name, const sm_key *k)
{
	uint8_t pub[32], h[32], blob[68];
	size_t nl = strlen(name);
	uint8_t *pre = malloc(nl + 2 + 32);
	char *enc, *line;

	sm_key_public(k, pub);
	memcpy(pre, name, nl);
	pre[nl] = '\n';
	pre[nl + 1] = 0x01;
	memcpy(pre + nl + 2, pub, 32);
	sm_sha256(pre, nl + 2 + 32, h);
	memcpy(blob, h, 4);
	assert_int_equal(sm_key_sign(k, (const uint8_t *)text, strlen(text), blob + 4), 0);
	enc = b64(blob, sizeof(blob));
	line = malloc(strlen(name) + strlen(enc) + 8);
	snprintf(line, strlen(name) + strlen(enc) + 8, "\xe2\x80\x94 %s %s\n", name, enc);
	free(enc);
	free(pre);
	return line;
}

/* text + "\n" + signature line by k */
static char *signed_note(const char *text, const char *name, const sm_key *k)
{
	char *line = sig_line(text, name, k);
	char *note = concat3(text, "\n", line);

	free(line);
	return note;
}

static void test_checkpoint_go_note_example_verifies(void **state)
{
	char *note = concat3(PETER_TEXT, "\n", PETER_SIG);
	size_t text_len = 0;
	sm_err err;

	(void)state;
	sm_err_clear(&err);
	assert_int_equal(sm_note_verify(note, strlen(note), PETER_VKEY, &text_len, &err), 0);
	assert_int_equal(text_len, strlen(PETER_TEXT));
	/* one changed letter in the text */
	note[9] = 'Y';
	assert_int_equal(sm_note_verify(note, strlen(note), PETER_VKEY, NULL, &err), SM_EVERIFY);
	assert_non_null(strstr(err.msg, "signature by PeterNeumann does not verify"));
	free(note);
}

static void test_checkpoint_go_note_cosigned(void **state)
{
	char *sigs = concat3(PETER_SIG, ENOCH_SIG, "");
	char *note = concat3(PETER_TEXT, "\n", sigs);
	sm_err err;

	(void)state;
	assert_int_equal(sm_note_verify(note, strlen(note), PETER_VKEY, NULL, &err), 0);
	assert_int_equal(sm_note_verify(note, strlen(note), ENOCH_VKEY, NULL, &err), 0);
	free(note);
	/* Peter's verifier key does not accept Enoch's line alone */
	note = concat3(PETER_TEXT, "\n", ENOCH_SIG);
	assert_int_equal(sm_note_verify(note, strlen(note), PETER_VKEY, NULL, &err), SM_EVERIFY);
	assert_non_null(strstr(err.msg, "no signature by the key PeterNeumann+c74f20a3"));
	free(note);
	free(sigs);
}

/* Our signer and vkey reproduce the Go example byte for byte. */
static void test_checkpoint_go_note_reproduced(void **state)
{
	sm_key *k = peter_key();
	char *vkey = sm_note_vkey("PeterNeumann", k);
	char *line = sig_line(PETER_TEXT, "PeterNeumann", k);

	(void)state;
	assert_non_null(vkey);
	assert_string_equal(vkey, PETER_VKEY);
	assert_string_equal(line, PETER_SIG);
	free(vkey);
	free(line);
	sm_key_free(k);
}

static void test_checkpoint_vkey_round_trip(void **state)
{
	sm_key *k = key_from_hex(SEED_HEX);
	char *vkey = sm_note_vkey(ORIGIN, k);
	uint8_t pub[32], raw[33], pre[sizeof(ORIGIN) + 33], h[32];
	char want[160], *enc;
	sm_checkpoint cp, got;
	char *note = NULL;
	sm_err err;

	(void)state;
	assert_non_null(vkey);
	sm_key_public(k, pub);
	raw[0] = 0x01;
	memcpy(raw + 1, pub, 32);
	memcpy(pre, ORIGIN, sizeof(ORIGIN) - 1);
	pre[sizeof(ORIGIN) - 1] = '\n';
	memcpy(pre + sizeof(ORIGIN), raw, 33);
	sm_sha256(pre, sizeof(pre), h);
	enc = b64(raw, 33);
	snprintf(want, sizeof(want), "%s+%02x%02x%02x%02x+%s", ORIGIN, h[0], h[1], h[2], h[3], enc);
	assert_string_equal(vkey, want);

	memset(&cp, 0, sizeof(cp));
	snprintf(cp.origin, sizeof(cp.origin), "%s", ORIGIN);
	cp.size = 1;
	assert_int_equal(sm_checkpoint_sign(&cp, k, &note), 0);
	assert_int_equal(sm_checkpoint_verify(note, strlen(note), vkey, &got, &err), 0);

	assert_null(sm_note_vkey("bad name", k));
	assert_null(sm_note_vkey("a+b", k));
	assert_null(sm_note_vkey("", k));
	free(note);
	free(enc);
	free(vkey);
	sm_key_free(k);
}

struct fx {
	sm_key *key;
	char *vkey;
	sm_checkpoint cp;
	char *note;
};

static int fx_setup(void **state)
{
	struct fx *f = calloc(1, sizeof(*f));

	f->key = key_from_hex(SEED_HEX);
	f->vkey = sm_note_vkey(ORIGIN, f->key);
	snprintf(f->cp.origin, sizeof(f->cp.origin), "%s", ORIGIN);
	f->cp.size = 12345;
	for (size_t i = 0; i < SM_HASH_LEN; i++)
		f->cp.root[i] = (uint8_t)(i * 7 + 1);
	assert_int_equal(sm_checkpoint_sign(&f->cp, f->key, &f->note), 0);
	*state = f;
	return 0;
}

static int fx_teardown(void **state)
{
	struct fx *f = *state;

	free(f->note);
	free(f->vkey);
	sm_key_free(f->key);
	free(f);
	return 0;
}

/* Verify `note` against the fixture key expecting `code`, `field` and `words` in the message. */
static void expect(struct fx *f, const char *note, size_t n, int code, const char *field, const char *words)
{
	sm_checkpoint got;
	sm_err err;

	memset(&got, 0xee, sizeof(got));
	sm_err_clear(&err);
	assert_int_equal(sm_checkpoint_verify(note, n, f->vkey, &got, &err), code);
	assert_int_equal(err.code, code);
	if (field)
		assert_string_equal(err.field, field);
	if (!strstr(err.msg, words))
		fail_msg("expected \"%s\" in the message, got \"%s\"", words, err.msg);
	/* nothing written on failure */
	assert_int_equal(((uint8_t *)&got)[0], 0xee);
}

static void test_checkpoint_sign_verify_round_trip(void **state)
{
	struct fx *f = *state;
	char *root = b64(f->cp.root, SM_HASH_LEN);
	char body[256];
	sm_checkpoint got;
	sm_err err;

	snprintf(body, sizeof(body), "%s\n12345\n%s\n\n\xe2\x80\x94 %s ", ORIGIN, root, ORIGIN);
	assert_memory_equal(f->note, body, strlen(body));
	assert_int_equal(f->note[strlen(f->note) - 1], '\n');
	assert_int_equal(sm_checkpoint_verify(f->note, strlen(f->note), f->vkey, &got, &err), 0);
	assert_string_equal(got.origin, ORIGIN);
	assert_int_equal(got.size, 12345);
	assert_memory_equal(got.root, f->cp.root, SM_HASH_LEN);
	free(root);
}

static void test_checkpoint_size_zero_and_max(void **state)
{
	struct fx *f = *state;
	uint64_t sizes[] = { 0, UINT64_MAX };

	for (size_t i = 0; i < 2; i++) {
		char *note = NULL;
		sm_checkpoint got;

		f->cp.size = sizes[i];
		assert_int_equal(sm_checkpoint_sign(&f->cp, f->key, &note), 0);
		assert_int_equal(sm_checkpoint_verify(note, strlen(note), f->vkey, &got, NULL), 0);
		assert_int_equal(got.size, sizes[i]);
		free(note);
	}
}

static void test_checkpoint_wrong_key(void **state)
{
	struct fx *f = *state;
	sm_key *other = key_from_hex(OTHER_HEX);
	char *vkey = sm_note_vkey(ORIGIN, other);
	sm_err err;
	sm_checkpoint got;

	assert_int_equal(sm_checkpoint_verify(f->note, strlen(f->note), vkey, &got, &err), SM_EVERIFY);
	assert_non_null(strstr(err.msg, "no signature by the key example.com/starmark+"));
	free(vkey);
	/* the right key under another name */
	vkey = sm_note_vkey("example.com/other", f->key);
	assert_int_equal(sm_checkpoint_verify(f->note, strlen(f->note), vkey, &got, &err), SM_EVERIFY);
	free(vkey);
	sm_key_free(other);
}

/* Replace the first `old` in note by `new` (same or any length); caller frees. */
static char *replace(const char *note, const char *old, const char *new)
{
	const char *at = strstr(note, old);
	size_t pre;
	char *head, *s;

	assert_non_null(at);
	pre = (size_t)(at - note);
	head = strndup(note, pre);
	s = concat3(head, new, at + strlen(old));
	free(head);
	return s;
}

static void test_checkpoint_modified_body(void **state)
{
	struct fx *f = *state;
	char *m;
	char *root = b64(f->cp.root, SM_HASH_LEN);
	char root2[64];

	m = replace(f->note, "\n12345\n", "\n12346\n");
	expect(f, m, strlen(m), SM_EVERIFY, "note", "signature by example.com/starmark does not verify");
	free(m);
	m = replace(f->note, "example.com/starmark\n", "example.com/starmarc\n");
	expect(f, m, strlen(m), SM_EVERIFY, "note", "does not verify");
	free(m);
	snprintf(root2, sizeof(root2), "%s", root);
	root2[0] = root2[0] == 'A' ? 'B' : 'A';
	m = replace(f->note, root, root2);
	expect(f, m, strlen(m), SM_EVERIFY, "note", "does not verify");
	free(m);
	/* an extension line added after signing */
	m = replace(f->note, "\n\n", "\nextra\n\n");
	expect(f, m, strlen(m), SM_EVERIFY, "note", "does not verify");
	free(m);
	free(root);
}

static void test_checkpoint_bad_size(void **state)
{
	struct fx *f = *state;
	static const struct {
		const char *size, *words;
	} bad[] = {
		{ "012345", "tree size '012345' has a leading zero" },
		{ "00", "has a leading zero" },
		{ "12a45", "tree size '12a45' is not a decimal number" },
		{ "-1", "is not a decimal number" },
		{ "+1", "is not a decimal number" },
		{ " 1", "is not a decimal number" },
		{ "18446744073709551616", "is over 2^64-1" },
		{ "123456789012345678901", "is too long" },
	};

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		char mid[64];
		char *m;

		snprintf(mid, sizeof(mid), "\n%s\n", bad[i].size);
		m = replace(f->note, "\n12345\n", mid);
		expect(f, m, strlen(m), SM_EINVAL, "size", bad[i].words);
		free(m);
	}
}

static void test_checkpoint_bad_root(void **state)
{
	struct fx *f = *state;
	char *root = b64(f->cp.root, SM_HASH_LEN);
	uint8_t short_root[31] = { 0 };
	char *r31 = b64(short_root, sizeof(short_root));
	char *m;
	char bad[64];

	/* not base64 */
	snprintf(bad, sizeof(bad), "%s", root);
	bad[5] = '*';
	m = replace(f->note, root, bad);
	expect(f, m, strlen(m), SM_EINVAL, "root", "is not base64 of 32 bytes");
	free(m);
	/* base64url alphabet */
	snprintf(bad, sizeof(bad), "%s", root);
	bad[5] = '-';
	m = replace(f->note, root, bad);
	expect(f, m, strlen(m), SM_EINVAL, "root", "is not base64 of 32 bytes");
	free(m);
	/* no padding */
	snprintf(bad, sizeof(bad), "%s", root);
	bad[strlen(bad) - 1] = '\0';
	m = replace(f->note, root, bad);
	expect(f, m, strlen(m), SM_EINVAL, "root", "is not base64 of 32 bytes");
	free(m);
	/* 31 bytes */
	m = replace(f->note, root, r31);
	expect(f, m, strlen(m), SM_EINVAL, "root", "is not base64 of 32 bytes");
	free(m);
	free(r31);
	free(root);
}

static void test_checkpoint_bad_note_shape(void **state)
{
	struct fx *f = *state;
	char *m;
	char *big;

	/* no blank line */
	m = replace(f->note, "\n\n", "\n");
	expect(f, m, strlen(m), SM_EINVAL, "note", "no blank line");
	free(m);
	/* no final newline */
	m = strndup(f->note, strlen(f->note) - 1);
	expect(f, m, strlen(m), SM_EINVAL, "note", "ending in a newline");
	free(m);
	/* blank line but no signature */
	{
		const char *split = strstr(f->note, "\n\n");
		m = strndup(f->note, (size_t)(split - f->note) + 2);
		expect(f, m, strlen(m), SM_EINVAL, "note", "must end with signature lines");
		free(m);
	}
	/* ASCII hyphens instead of the em dash */
	m = replace(f->note, "\xe2\x80\x94 ", "-- ");
	expect(f, m, strlen(m), SM_EINVAL, "note", "em dash");
	free(m);
	/* signature not base64 */
	m = replace(f->note, "\xe2\x80\x94 example.com/starmark ", "\xe2\x80\x94 example.com/starmark *");
	expect(f, m, strlen(m), SM_EINVAL, "note", "not valid base64");
	free(m);
	/* no name */
	m = replace(f->note, "\xe2\x80\x94 example.com/starmark ", "\xe2\x80\x94 ");
	expect(f, m, strlen(m), SM_EINVAL, "note", "needs a key name");
	free(m);
	/* a control character, invalid UTF-8 */
	m = replace(f->note, "example.com/starmark\n", "example.com/star\tmark\n");
	expect(f, m, strlen(m), SM_EINVAL, "note", "control character 0x09");
	free(m);
	m = replace(f->note, "example.com/starmark\n", "example.com/star\xc3mark\n");
	expect(f, m, strlen(m), SM_EINVAL, "note", "invalid UTF-8");
	free(m);
	/* NUL inside the given length */
	m = strdup(f->note);
	m[3] = '\0';
	expect(f, m, strlen(f->note), SM_EINVAL, "note", "control character 0x00");
	free(m);
	/* only two body lines */
	m = signed_note("example.com/starmark\n5\n", ORIGIN, f->key);
	expect(f, m, strlen(m), SM_EINVAL, "checkpoint",
	       "has 2 line(s); it needs an origin, a tree size and a root hash");
	free(m);
	/* empty origin */
	m = concat3("\n", strchr(f->note, '\n') + 1, "");
	expect(f, m, strlen(m), SM_EINVAL, "origin", "checkpoint line 1: line '' is empty");
	free(m);
	/* oversize */
	big = calloc(1, SM_CHECKPOINT_MAX + 2);
	memset(big, 'a', SM_CHECKPOINT_MAX + 1);
	expect(f, big, SM_CHECKPOINT_MAX + 1, SM_ETOOBIG, "checkpoint", "over the 8192 byte limit");
	free(big);
}

static void test_checkpoint_extension_lines(void **state)
{
	struct fx *f = *state;
	char *root = b64(f->cp.root, SM_HASH_LEN);
	char text[256];
	char *note;
	sm_checkpoint got;
	sm_err err;

	snprintf(text, sizeof(text), "%s\n7\n%s\nextension one\nextension two\n", ORIGIN, root);
	note = signed_note(text, ORIGIN, f->key);
	assert_int_equal(sm_checkpoint_verify(note, strlen(note), f->vkey, &got, &err), 0);
	assert_int_equal(got.size, 7);
	free(note);
	/* an empty extension line (the last blank line splits, so it sits inside the text) */
	snprintf(text, sizeof(text), "%s\n7\n%s\n\nextension\n", ORIGIN, root);
	note = signed_note(text, ORIGIN, f->key);
	expect(f, note, strlen(note), SM_EINVAL, "checkpoint", "checkpoint line 4: line '' is empty");
	free(note);
	free(root);
}

static void test_checkpoint_origin_limits(void **state)
{
	struct fx *f = *state;
	char origin[300];
	char *root = b64(f->cp.root, SM_HASH_LEN);
	char text[400];
	char *note = NULL;
	sm_checkpoint got;
	sm_key *pub = NULL;
	uint8_t raw[32];

	/* exactly SM_ORIGIN_MAX bytes round-trips */
	memset(f->cp.origin, 'o', SM_ORIGIN_MAX);
	f->cp.origin[SM_ORIGIN_MAX] = '\0';
	assert_int_equal(sm_checkpoint_sign(&f->cp, f->key, &note), 0);
	free(f->vkey);
	f->vkey = sm_note_vkey(f->cp.origin, f->key);
	assert_int_equal(sm_checkpoint_verify(note, strlen(note), f->vkey, &got, NULL), 0);
	assert_string_equal(got.origin, f->cp.origin);
	free(note);
	note = NULL;
	/* one more is refused when parsing */
	memset(origin, 'o', SM_ORIGIN_MAX + 1);
	origin[SM_ORIGIN_MAX + 1] = '\0';
	snprintf(text, sizeof(text), "%s\n7\n%s\n", origin, root);
	note = signed_note(text, f->cp.origin, f->key);
	expect(f, note, strlen(note), SM_EINVAL, "origin", "is over 255 bytes");
	free(note);
	/* origins that are not key names cannot be signed */
	snprintf(f->cp.origin, sizeof(f->cp.origin), "has space");
	assert_int_equal(sm_checkpoint_sign(&f->cp, f->key, &note), SM_EINVAL);
	f->cp.origin[0] = '\0';
	assert_int_equal(sm_checkpoint_sign(&f->cp, f->key, &note), SM_EINVAL);
	memset(f->cp.origin, 'o', sizeof(f->cp.origin)); /* unterminated */
	assert_int_equal(sm_checkpoint_sign(&f->cp, f->key, &note), SM_EINVAL);
	assert_null(note);
	/* a public key cannot sign */
	snprintf(f->cp.origin, sizeof(f->cp.origin), "%s", ORIGIN);
	sm_key_public(f->key, raw);
	assert_int_equal(sm_key_from_public(raw, &pub), 0);
	assert_int_equal(sm_checkpoint_sign(&f->cp, pub, &note), SM_EKEY);
	sm_key_free(pub);
	free(root);
}

static void test_checkpoint_other_signatures(void **state)
{
	struct fx *f = *state;
	sm_key *other = key_from_hex(OTHER_HEX);
	const char *split = strstr(f->note, "\n\n");
	char *text = strndup(f->note, (size_t)(split - f->note) + 1);
	char *ours = strdup(split + 2);
	char *theirs = sig_line(text, "witness.example", other);
	char *sigs, *note;
	char *bad;
	sm_checkpoint got;
	char lines[64 * 110];

	/* unknown signatures before and after ours are ignored */
	sigs = concat3(theirs, ours, theirs);
	note = concat3(text, "\n", sigs);
	assert_int_equal(sm_checkpoint_verify(note, strlen(note), f->vkey, &got, NULL), 0);
	free(note);
	free(sigs);
	/* the first line by our key decides: a bad one first is a rejection even if a good one follows */
	bad = strdup(ours);
	bad[strlen(bad) - 10] = bad[strlen(bad) - 10] == 'A' ? 'B' : 'A';
	sigs = concat3(bad, ours, "");
	note = concat3(text, "\n", sigs);
	expect(f, note, strlen(note), SM_EVERIFY, "note", "does not verify");
	free(note);
	free(sigs);
	/* a good one first: repeats are skipped */
	sigs = concat3(ours, bad, "");
	note = concat3(text, "\n", sigs);
	assert_int_equal(sm_checkpoint_verify(note, strlen(note), f->vkey, &got, NULL), 0);
	free(note);
	free(sigs);
	/* more than 100 signature lines */
	lines[0] = '\0';
	for (int i = 0; i < 100; i++)
		strncat(lines, "\xe2\x80\x94 w AAAAAAA=\n", sizeof(lines) - strlen(lines) - 1);
	sigs = concat3(lines, ours, "");
	note = concat3(text, "\n", sigs);
	expect(f, note, strlen(note), SM_EINVAL, "note", "more than 100 signature lines");
	free(note);
	free(sigs);
	/* a signature too short to hold a key id */
	note = concat3(text, "\n", "\xe2\x80\x94 w AAAA\n");
	expect(f, note, strlen(note), SM_EINVAL, "note", "not valid base64 of a key id and signature");
	free(note);
	free(bad);
	free(theirs);
	free(ours);
	free(text);
	sm_key_free(other);
}

static void test_checkpoint_bad_vkey(void **state)
{
	struct fx *f = *state;
	static const struct {
		const char *vkey, *words;
	} bad[] = {
		{ "", "is not <name>+<key id>+<key>" },
		{ "PeterNeumann", "is not <name>+<key id>+<key>" },
		{ "PeterNeumann+c74f20a3", "is not <name>+<key id>+<key>" },
		{ "+c74f20a3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW", "the name is empty" },
		{ "Peter Neumann+c74f20a3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW", "has spaces" },
		{ "PeterNeumann+c74f20a+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW", "8 hex digits" },
		{ "PeterNeumann+c74f20ag+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW", "8 hex digits" },
		{ "PeterNeumann+c74f20a4+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW",
		  "key id does not match" },
		{ "PeterNeumann+c74f20a3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TX",
		  "key id does not match" },
		{ "PeterNeumann+c74f20a3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10T", "not valid base64" },
		{ "PeterNeumann+c74f20a3+Ahpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW",
		  "not an Ed25519 (type 0x01) key" },
		{ "PeterNeumann+c74f20a3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy", "not an Ed25519" },
	};
	sm_checkpoint got;
	sm_err err;

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		sm_err_clear(&err);
		assert_int_equal(sm_checkpoint_verify(f->note, strlen(f->note), bad[i].vkey, &got, &err),
				 SM_EINVAL);
		assert_string_equal(err.field, "vkey");
		if (!strstr(err.msg, bad[i].words))
			fail_msg("vkey %zu: expected \"%s\" in the message, got \"%s\"", i, bad[i].words,
				 err.msg);
	}
	/* upper-case hex in the key id is accepted, as by Go's ParseUint */
	{
		char *note = concat3(PETER_TEXT, "\n", PETER_SIG);
		assert_int_equal(
			sm_note_verify(note, strlen(note),
				       "PeterNeumann+C74F20A3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW",
				       NULL, &err),
			0);
		free(note);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_checkpoint_go_note_example_verifies),
		cmocka_unit_test(test_checkpoint_go_note_cosigned),
		cmocka_unit_test(test_checkpoint_go_note_reproduced),
		cmocka_unit_test(test_checkpoint_vkey_round_trip),
		cmocka_unit_test_setup_teardown(test_checkpoint_sign_verify_round_trip, fx_setup,
						fx_teardown),
		cmocka_unit_test_setup_teardown(test_checkpoint_size_zero_and_max, fx_setup, fx_teardown),
		cmocka_unit_test_setup_teardown(test_checkpoint_wrong_key, fx_setup, fx_teardown),
		cmocka_unit_test_setup_teardown(test_checkpoint_modified_body, fx_setup, fx_teardown),
		cmocka_unit_test_setup_teardown(test_checkpoint_bad_size, fx_setup, fx_teardown),
		cmocka_unit_test_setup_teardown(test_checkpoint_bad_root, fx_setup, fx_teardown),
		cmocka_unit_test_setup_teardown(test_checkpoint_bad_note_shape, fx_setup, fx_teardown),
		cmocka_unit_test_setup_teardown(test_checkpoint_extension_lines, fx_setup, fx_teardown),
		cmocka_unit_test_setup_teardown(test_checkpoint_origin_limits, fx_setup, fx_teardown),
		cmocka_unit_test_setup_teardown(test_checkpoint_other_signatures, fx_setup, fx_teardown),
		cmocka_unit_test_setup_teardown(test_checkpoint_bad_vkey, fx_setup, fx_teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
