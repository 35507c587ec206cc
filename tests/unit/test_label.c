/* SPDX-License-Identifier: Apache-2.0 */
/* Unit tests of the label token: claims, size and QR version, URL parsing, offline verification, image
 * reading. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cairo.h>
#include <cmocka.h>
#include <jpeglib.h>
#include <qrencode.h>

#include "label_int.h"
#include "registry_int.h"
#include "starmark/label.h"
#include "starmark/starmark.h"

#define NOW 1790000000 /* 2026-09-21 */
#define TOKEN_BOUND 110

struct fx {
	char dir[64];
	sm_registry *r;
	sm_cert *cert; /* SM-2021-000001, models MC-301V and MC-301VC */
};

static sm_cert *draft(void)
{
	sm_cert *c = sm_cert_new();
	snprintf(c->vendor, sizeof(c->vendor), "RINNAI");
	c->vendor_name = strdup("リンナイ株式会社");
	c->product = strdup("無線LAN対応リモコン");
	c->models = calloc(2, sizeof(char *));
	c->models[0] = strdup("MC-301V");
	c->models[1] = strdup("MC-301VC");
	c->nmodels = 2;
	c->level = 1;
	c->firmware = strdup(">=1.0.0 <2.0");
	assert_int_equal(sm_date_parse("2021-01-22", false, "registered", &c->registered, NULL), 0);
	assert_int_equal(sm_date_parse("2027-01-21", false, "expires", &c->expires, NULL), 0);
	return c;
}

static int setup(void **state)
{
	struct fx *f = calloc(1, sizeof(*f));
	snprintf(f->dir, sizeof(f->dir), "/tmp/sm-test-label-XXXXXX");
	assert_non_null(mkdtemp(f->dir));
	sm_init_opts o = {"CCDS", 3, "registry.example.jp", NULL, NOW};
	char fp[65];
	sm_err err = {0};
	assert_int_equal(sm_registry_init(f->dir, &o, fp, &err), 0);
	assert_int_equal(sm_registry_open(f->dir, true, NULL, &f->r, &err), 0);
	sm_cert *d = draft();
	assert_int_equal(sm_registry_issue(f->r, d, NOW, &f->cert, &err), 0);
	sm_cert_free(d);
	assert_string_equal(f->cert->id, "SM-2021-000001");
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fx *f = *state;
	char cmd[128];
	sm_cert_free(f->cert);
	sm_registry_close(f->r);
	snprintf(cmd, sizeof(cmd), "rm -rf %s", f->dir);
	assert_int_equal(system(cmd), 0);
	free(f);
	return 0;
}

static const sm_key *issuer(struct fx *f)
{
	const sm_key *k = NULL;
	sm_err err = {0};
	assert_int_equal(sm_registry_key(f->r, SM_ROLE_ISSUER, &k, &err), 0);
	return k;
}

/* A token for hand-made claims, signed by `key`. */
static uint8_t *sign(const sm_label_claims *cl, const sm_key *key, size_t *n)
{
	uint8_t *tok = NULL;
	assert_int_equal(sm_label_token_sign(cl, key, &tok, n), 0);
	return tok;
}

static void claims_42(sm_label_claims *cl)
{
	memset(cl, 0, sizeof(*cl));
	cl->serial = 42;
	cl->level = 2;
	snprintf(cl->model, sizeof(cl->model), "MC-301V");
	snprintf(cl->vendor, sizeof(cl->vendor), "RINNAI");
	cl->registered = 18649; /* 2021-01-22 */
	cl->expires = SM_DATE_NONE;
	snprintf(cl->scheme, sizeof(cl->scheme), "CCDS");
	cl->issued_at = NOW;
}

static int qr_version(const char *url)
{
	QRcode *q = QRcode_encodeString(url, 0, QR_ECLEVEL_M, QR_MODE_8, 1);
	assert_non_null(q);
	int v = q->version;
	QRcode_free(q);
	return v;
}

static void test_label_claims_encoding(void **state)
{
	(void)state;
	static const uint8_t want[] = {0x86, 0x18, 0x2a, 0x02, 0x67, 'M',  'C',  '-',  '3',
	                               '0',  '1',  'V',  0x66, 'R',  'I',  'N',  'N',  'A',
	                               'I',  0x19, 0x48, 0xd9, 0x1a, 0x6a, 0xb1, 0x3b, 0x80};
	sm_label_claims cl, back;
	sm_buf b = SM_BUF_INIT;
	sm_err err = {0};
	claims_42(&cl);
	assert_int_equal(sm_label_claims_encode(&cl, &b), 0);
	assert_int_equal(b.len, sizeof(want));
	assert_memory_equal(b.data, want, sizeof(want));
	assert_int_equal(sm_label_claims_decode(b.data, b.len, &back, &err), 0);
	assert_string_equal(back.id, "SM-2021-000042");
	assert_int_equal(back.serial, 42);
	assert_int_equal(back.level, 2);
	assert_string_equal(back.model, "MC-301V");
	assert_string_equal(back.vendor, "RINNAI");
	assert_int_equal(back.registered, 18649);
	assert_int_equal(back.expires, SM_DATE_NONE);
	assert_int_equal(back.issued_at, NOW);
	assert_string_equal(back.scheme, "");
	sm_buf_cleanup(&b);
	/* a 9-digit serial keeps all its digits */
	cl.serial = 999999999;
	assert_int_equal(sm_label_claims_encode(&cl, &b), 0);
	assert_int_equal(sm_label_claims_decode(b.data, b.len, &back, &err), 0);
	assert_string_equal(back.id, "SM-2021-999999999");
	sm_buf_cleanup(&b);
	/* encode refuses what decode would */
	cl.serial = 0;
	assert_int_equal(sm_label_claims_encode(&cl, &b), SM_EINVAL);
	claims_42(&cl);
	cl.level = 10;
	assert_int_equal(sm_label_claims_encode(&cl, &b), SM_EINVAL);
	sm_buf_cleanup(&b);
}

static void test_label_claims_of_round_trip(void **state)
{
	struct fx *f = *state;
	sm_label_claims cl, back;
	sm_buf b = SM_BUF_INIT;
	sm_err err = {0};
	assert_int_equal(sm_label_claims_of(f->cert, NULL, NOW, &cl, &err), 0);
	assert_string_equal(cl.model, "MC-301V");
	assert_string_equal(cl.id, "SM-2021-000001");
	assert_string_equal(cl.scheme, "CCDS");
	assert_int_equal(cl.expires, SM_DATE_NONE);
	assert_int_equal(sm_label_claims_of(f->cert, "MC-301VC", NOW, &cl, &err), 0);
	assert_string_equal(cl.model, "MC-301VC");
	assert_int_equal(sm_label_claims_encode(&cl, &b), 0);
	assert_int_equal(sm_label_claims_decode(b.data, b.len, &back, &err), 0);
	assert_string_equal(back.id, f->cert->id);
	assert_int_equal(back.serial, 1);
	assert_int_equal(back.level, f->cert->level);
	assert_string_equal(back.model, "MC-301VC");
	assert_string_equal(back.vendor, f->cert->vendor);
	assert_int_equal(back.registered, f->cert->registered);
	assert_int_equal(back.issued_at, NOW);
	sm_buf_cleanup(&b);

	assert_int_equal(sm_label_claims_of(f->cert, "MC-999", NOW, &cl, &err), SM_EINVAL);
	assert_non_null(strstr(err.msg, "'MC-999' is not a model of certificate SM-2021-000001"));
	/* a label cannot be dated before the registration */
	assert_int_equal(sm_label_claims_of(f->cert, NULL, 86400, &cl, &err), SM_EINVAL);
	assert_non_null(strstr(err.msg, "before the registration date 2021-01-22"));
}

/* One malformed claims encoding: its hex, and a word the message must hold. */
struct bad {
	const char *hex;
	const char *needle;
};

static void test_label_claims_decode_strict(void **state)
{
	(void)state;
	static const struct bad cases[] = {
	    /* a map with integer keys, the shape the claims do not have */
	    {"a1012a", "unexpected CBOR type"},
	    {"852a02674d432d3330315666", "5 fields, not 6"},
	    {"87182a02674d432d333031566652494e4e41491948d91a6ab13b8000", "7 fields, not 6"},
	    /* serial 0, level 0, level 10 */
	    {"8600 02674d432d333031566652494e4e41491948d91a6ab13b80", "serial 0 is out of range"},
	    {"86182a00674d432d333031566652494e4e41491948d91a6ab13b80", "level 0 is out of range"},
	    {"86182a0a674d432d333031566652494e4e41491948d91a6ab13b80", "level 10 is out of range"},
	    /* serial over 9 digits */
	    {"861a3b9aca0002674d432d333031566652494e4e41491948d91a6ab13b80", "serial"},
	    /* model as a byte string */
	    {"86182a02474d432d333031566652494e4e41491948d91a6ab13b80", "model"},
	    /* model with a control character */
	    {"86182a02674d432d3330310a6652494e4e41491948d91a6ab13b80", "model"},
	    /* vendor in lower case */
	    {"86182a02674d432d333031566672696e6e61691948d91a6ab13b80", "vendor"},
	    /* issued (1970) before registered */
	    {"86182a02674d432d333031566652494e4e41491948d90a", "before the registration date 2021-01-22"},
	    /* issued at as a negative integer */
	    {"86182a02674d432d333031566652494e4e41491948d920", "issued_at"},
	    /* registered past 9999-12-31 */
	    {"86182a02674d432d333031566652494e4e41491a7fffffff1a6ab13b80", "registered"},
	    /* level written with a 2-byte head: the same claims spelled another way */
	    {"86182a1802674d432d333031566652494e4e41491948d91a6ab13b80", "deterministic"},
	    /* a byte after the claims */
	    {"86182a02674d432d333031566652494e4e41491948d91a6ab13b8000", "unexpected bytes"},
	    /* truncated */
	    {"86182a02674d432d333031566652494e4e41491948d91a6ab1", ""},
	    /* indefinite-length array */
	    {"9f182a02674d432d333031566652494e4e41491948d91a6ab13b80ff", ""},
	    {"", ""},
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		uint8_t *p = NULL;
		size_t n = 0;
		char hex[256];
		size_t k = 0;
		for (const char *s = cases[i].hex; *s; s++)
			if (*s != ' ')
				hex[k++] = *s;
		hex[k] = '\0';
		assert_int_equal(sm_hex_decode(hex, k, &p, &n, NULL), 0);
		sm_label_claims cl;
		sm_err err = {0};
		int rc = sm_label_claims_decode(p, n, &cl, &err);
		if (rc != SM_EINVAL || !strstr(err.msg, cases[i].needle))
			fail_msg("case %zu (%s): expected SM_EINVAL naming '%s', got %d '%s'", i, hex,
			         cases[i].needle, rc, err.msg);
		assert_string_equal(cl.id, "");
		free(p);
	}
}

static void test_label_token_size_and_qr_version(void **state)
{
	struct fx *f = *state;
	sm_err err = {0};
	char *url = NULL;
	sm_cert *c = NULL;
	assert_int_equal(sm_registry_label(f->r, f->cert->id, "MC-301V", NOW, &url, &c, &err), 0);
	assert_non_null(c);
	assert_string_equal(c->id, "SM-2021-000001");
	const char *prefix = "HTTPS://REGISTRY.EXAMPLE.JP/L/";
	assert_int_equal(strncmp(url, prefix, strlen(prefix)), 0);
	uint8_t *tok = NULL;
	size_t n = 0;
	assert_int_equal(sm_label_parse(url, strlen(url), &tok, &n, &err), 0);
	print_message("label token %zu bytes, URL %zu characters, QR version %d at M: %s\n", n, strlen(url),
	              qr_version(url), url);
	assert_int_equal(n, 104); /* no kid in the header: label.h */
	assert_true(n <= TOKEN_BOUND);
	assert_true(qr_version(url) <= 8);
	const char *out = getenv("SM_LABEL_OUT");
	if (out && *out) {
		/* For tests/integration/test_label_verify.py: a C-made URL and the bundle it verifies
		 * against. */
		char path[512];
		uint8_t *tb = NULL;
		size_t tn = 0;
		assert_int_equal(sm_registry_trust_signed(f->r, &tb, &tn, &err), 0);
		snprintf(path, sizeof(path), "%s/label-url.txt", out);
		FILE *fp = fopen(path, "w");
		assert_non_null(fp);
		fprintf(fp, "%s\n", url);
		fclose(fp);
		snprintf(path, sizeof(path), "%s/label-trust.cose", out);
		fp = fopen(path, "wb");
		assert_non_null(fp);
		assert_int_equal(fwrite(tb, 1, tn, fp), tn);
		fclose(fp);
		free(tb);
	}
	free(tok);
	free(url);
	sm_cert_free(c);

	/* Three typical labels: hosts, vendor codes and model numbers of ordinary length, 4- to 6-digit
	 * serials. */
	static const struct {
		const char *host, *vendor, *model;
		uint32_t serial;
	} typical[] = {
	    {"registry.example.jp", "RINNAI", "MC-301VC", 1234},
	    {"label.ccds.example", "PANASONIC", "HF-JA2-W", 23456},
	    {"jc-star.example.jp", "SHARP", "KI-SX75", 123456},
	};
	for (size_t i = 0; i < 3; i++) {
		sm_label_claims cl;
		claims_42(&cl);
		cl.serial = typical[i].serial;
		cl.level = 3;
		snprintf(cl.vendor, sizeof(cl.vendor), "%s", typical[i].vendor);
		snprintf(cl.model, sizeof(cl.model), "%s", typical[i].model);
		tok = sign(&cl, issuer(f), &n);
		url = sm_label_url(typical[i].host, tok, n);
		assert_non_null(url);
		int v = qr_version(url);
		print_message("typical %zu: token %zu bytes, URL %zu characters, QR version %d at M\n", i, n,
		              strlen(url), v);
		if (v > 8 || n > TOKEN_BOUND)
			fail_msg("%s: expected version <= 8 and <= %d bytes, got version %d, %zu bytes", url,
			         TOKEN_BOUND, v, n);
		free(url);
		free(tok);
	}
}

/*
 * The envelope: with host REGISTRY.EXAMPLE.JP and vendor RINNAI, the longest model number that
 * still gives version 8 at M, by size of the serial (label.h states these numbers): 26 characters of
 * model + vendor for serials below 65536.
 */
static void test_label_qr_envelope(void **state)
{
	struct fx *f = *state;
	static const struct {
		uint32_t serial;
		size_t min_model;
	} classes[] = {{23, 22}, {255, 21}, {65535, 20}, {999999, 18}};
	for (size_t i = 0; i < 4; i++) {
		size_t longest = 0;
		for (size_t len = 1; len <= SM_MODEL_MAX; len++) {
			sm_label_claims cl;
			size_t n = 0;
			claims_42(&cl);
			cl.serial = classes[i].serial;
			memset(cl.model, 'M', len);
			cl.model[len] = '\0';
			uint8_t *tok = sign(&cl, issuer(f), &n);
			char *url = sm_label_url("registry.example.jp", tok, n);
			int v = qr_version(url);
			free(url);
			free(tok);
			if (v > 8)
				break;
			longest = len;
		}
		print_message(
		    "serial %u: model numbers up to %zu characters stay at version 8 (vendor RINNAI)\n",
		    (unsigned)classes[i].serial, longest);
		if (longest < classes[i].min_model)
			fail_msg("serial %u: expected models of %zu characters to fit version 8, only %zu do",
			         (unsigned)classes[i].serial, classes[i].min_model, longest);
	}
}

static void test_label_verify_genuine(void **state)
{
	struct fx *f = *state;
	sm_err err = {0};
	char *url = NULL;
	uint8_t *tok = NULL;
	size_t n = 0;
	sm_label_claims cl;
	assert_int_equal(sm_registry_label(f->r, f->cert->id, "MC-301VC", NOW + 60, &url, NULL, &err), 0);
	assert_int_equal(sm_label_parse(url, strlen(url), &tok, &n, &err), 0);
	assert_int_equal(sm_label_verify(tok, n, sm_registry_trust(f->r), &cl, &err), 0);
	assert_string_equal(cl.id, "SM-2021-000001");
	assert_string_equal(cl.scheme, "CCDS");
	assert_string_equal(cl.model, "MC-301VC");
	assert_string_equal(cl.vendor, "RINNAI");
	assert_int_equal(cl.level, 1);
	assert_int_equal(cl.registered, f->cert->registered);
	assert_int_equal(cl.issued_at, NOW + 60);
	uint8_t kid[SM_KID_LEN];
	sm_key_kid(issuer(f), kid);
	assert_memory_equal(cl.kid, kid, SM_KID_LEN);
	free(tok);
	free(url);

	assert_int_equal(sm_registry_label(f->r, "SM-2021-000099", NULL, NOW, &url, NULL, &err),
	                 SM_ENOTFOUND);
	assert_null(url);
	assert_int_equal(sm_registry_label(f->r, f->cert->id, "XX-1", NOW, &url, NULL, &err), SM_EINVAL);
	assert_non_null(strstr(err.msg, "'XX-1'"));
	assert_null(url);
}

/* Every single-bit change of a genuine token is caught: not genuine or unreadable, never genuine. */
static void test_label_verify_flipped_bits(void **state)
{
	struct fx *f = *state;
	sm_label_claims cl;
	size_t n = 0;
	sm_err err = {0};
	/* a label made before the bundle it is checked with (a rotation at NOW + 100), so that a changed
	 * signature is forged, not of an unknown signer (label.h) */
	claims_42(&cl);
	cl.issued_at = NOW + 50;
	uint8_t *tok = sign(&cl, issuer(f), &n);
	assert_int_equal(sm_registry_rotate(f->r, SM_ROLE_ISSUER, NOW + 100, &err), 0);
	assert_int_equal(sm_label_verify(tok, n, sm_registry_trust(f->r), &cl, &err), 0);
	size_t forged = 0, unreadable = 0, unknown = 0;
	for (size_t i = 0; i < n; i++) {
		for (int bit = 0; bit < 8; bit++) {
			tok[i] ^= (uint8_t)(1u << bit);
			int rc = sm_label_verify(tok, n, sm_registry_trust(f->r), &cl, &err);
			/* the class is the code, never the words: SM_EVERIFY not genuine, SM_EINVAL unreadable,
			 * SM_ENOTFOUND an unknown signer (a date moved past the bundle's: label.h) */
			if (rc == SM_EVERIFY && err.msg[0])
				forged++;
			else if (rc == SM_EINVAL && err.msg[0])
				unreadable++;
			else if (rc == SM_ENOTFOUND && strstr(err.msg, "update the trust bundle"))
				unknown++;
			else
				fail_msg("byte %zu bit %d: expected not genuine, unreadable or unknown signer, got %d '%s'",
				         i, bit, rc, err.msg);
			tok[i] ^= (uint8_t)(1u << bit);
		}
	}
	assert_int_equal(forged + unreadable + unknown, n * 8);
	assert_true(unknown <= 32); /* only bits of the issue time can */
	assert_true(forged > 64 * 8 - 1); /* at least every signature bit */
	free(tok);
}

static void test_label_verify_truncated(void **state)
{
	struct fx *f = *state;
	sm_label_claims cl;
	size_t n = 0;
	claims_42(&cl);
	uint8_t *tok = sign(&cl, issuer(f), &n);
	for (size_t len = 0; len < n; len++) {
		sm_err err = {0};
		int rc = sm_label_verify(tok, len, sm_registry_trust(f->r), &cl, &err);
		if (rc != SM_EINVAL || !err.msg[0])
			fail_msg("%zu of %zu bytes: expected unreadable, got %d '%s'", len, n, rc, err.msg);
	}
	/* and a byte too many */
	uint8_t *longer = malloc(n + 1);
	memcpy(longer, tok, n);
	longer[n] = 0;
	sm_err err = {0};
	assert_int_equal(sm_label_verify(longer, n + 1, sm_registry_trust(f->r), &cl, &err), SM_EINVAL);
	assert_non_null(strstr(err.msg, "unexpected bytes"));
	free(longer);
	free(tok);
}

static int first_entry(void *ctx, uint64_t index, const uint8_t *p, size_t n)
{
	sm_buf *b = ctx;
	(void)index;
	return sm_buf_append(b, p, n);
}

static void test_label_verify_wrong_type(void **state)
{
	struct fx *f = *state;
	sm_err err = {0};
	sm_label_claims cl;
	/* the issue event of the certificate: a real COSE_Sign1 by the same issuer key */
	sm_buf ev = SM_BUF_INIT;
	assert_int_equal(sm_registry_entries(f->r, 1, 1, first_entry, &ev, &err), 0);
	assert_true(ev.len > 0);
	assert_int_equal(sm_label_verify(ev.data, ev.len, sm_registry_trust(f->r), &cl, &err), SM_EVERIFY);
	assert_non_null(strstr(err.msg, "this is not a label token but a registry event"));
	sm_buf_cleanup(&ev);
	/* label claims signed by the issuer key, but as an event: not a label */
	claims_42(&cl);
	sm_buf b = SM_BUF_INIT;
	uint8_t *cose = NULL;
	size_t n = 0;
	assert_int_equal(sm_label_claims_encode(&cl, &b), 0);
	assert_int_equal(sm_cose_sign1(issuer(f), SM_COSE_EVENT, b.data, b.len, false, &cose, &n), 0);
	assert_int_equal(sm_label_verify(cose, n, sm_registry_trust(f->r), &cl, &err), SM_EVERIFY);
	assert_non_null(strstr(err.msg, "content type 65000"));
	free(cose);
	/* the trust bundle itself */
	assert_int_equal(sm_registry_trust_signed(f->r, &cose, &n, &err), 0);
	assert_int_equal(sm_label_verify(cose, n, sm_registry_trust(f->r), &cl, &err), SM_EVERIFY);
	assert_non_null(strstr(err.msg, "a trust bundle"));
	free(cose);
	sm_buf_cleanup(&b);
}

static void test_label_verify_unknown_kid(void **state)
{
	struct fx *f = *state;
	sm_err err = {0};
	sm_label_claims cl;
	sm_key *other = NULL;
	size_t n = 0;
	claims_42(&cl);
	cl.issued_at = NOW - 1; /* before the bundle: an unknown key is no issuer key (label.h) */
	assert_int_equal(sm_key_generate(&other), 0);
	uint8_t *tok = sign(&cl, other, &n);
	assert_int_equal(sm_label_verify(tok, n, sm_registry_trust(f->r), &cl, &err), SM_EVERIFY);
	assert_non_null(strstr(err.msg, "the signature verifies with no issuer key of the CCDS trust bundle"));
	free(tok);
	sm_key_free(other);
	/* the registry's own root key is in the bundle, but is no issuer key */
	const sm_key *root = NULL;
	assert_int_equal(sm_registry_key(f->r, SM_ROLE_ROOT, &root, &err), 0);
	claims_42(&cl);
	cl.issued_at = NOW - 1; /* before the bundle: an unknown key is no issuer key (label.h) */
	tok = sign(&cl, root, &n);
	assert_int_equal(sm_label_verify(tok, n, sm_registry_trust(f->r), &cl, &err), SM_EVERIFY);
	assert_non_null(strstr(err.msg, "verifies with no issuer key"));
	free(tok);
	/* a forged token: the genuine kid with another key's signature */
	sm_key *forger = NULL;
	assert_int_equal(sm_key_generate(&forger), 0);
	claims_42(&cl);
	cl.issued_at = NOW - 1; /* before the bundle: an unknown key is no issuer key (label.h) */
	uint8_t *good = sign(&cl, issuer(f), &n);
	size_t fn = 0;
	uint8_t *bad = sign(&cl, forger, &fn);
	assert_int_equal(fn, n);
	memcpy(good + n - SM_SIG_LEN, bad + n - SM_SIG_LEN, SM_SIG_LEN);
	assert_int_equal(sm_label_verify(good, n, sm_registry_trust(f->r), &cl, &err), SM_EVERIFY);
	assert_non_null(strstr(err.msg, "verifies with no issuer key"));
	free(good);
	free(bad);
	sm_key_free(forger);
}

static void test_label_verify_key_validity(void **state)
{
	struct fx *f = *state;
	sm_err err = {0};
	sm_label_claims cl;
	size_t na, nb, nc;
	/* the issuer key begins at NOW (the registry's creation): a label dated earlier is not genuine */
	claims_42(&cl);
	cl.issued_at = NOW - 1000;
	uint8_t *early = sign(&cl, issuer(f), &na);
	assert_int_equal(sm_label_verify(early, na, sm_registry_trust(f->r), &cl, &err), SM_EVERIFY);
	assert_non_null(strstr(err.msg, "was not valid on 2026-09-21, when the label says it was made"));
	free(early);

	/* old key: one label before the rotation, one dated after it */
	claims_42(&cl);
	cl.issued_at = NOW + 50;
	uint8_t *before = sign(&cl, issuer(f), &na);
	cl.issued_at = NOW + 200;
	uint8_t *after = sign(&cl, issuer(f), &nb);
	assert_int_equal(sm_label_verify(after, nb, sm_registry_trust(f->r), &cl, &err), 0);
	uint8_t kid[SM_KID_LEN];
	sm_key_kid(issuer(f), kid);
	char *oldkid = sm_hex_encode(kid, SM_KID_LEN);
	assert_int_equal(sm_registry_rotate(f->r, SM_ROLE_ISSUER, NOW + 100, &err), 0);
	const sm_trust *t = sm_registry_trust(f->r);
	assert_int_equal(sm_label_verify(before, na, t, &cl, &err), 0);
	assert_int_equal(cl.issued_at, NOW + 50);
	/* signed by the retired key after its time: that key is in the bundle, so not genuine (never
	 * "unknown signer", though the label is dated after the bundle before the rotation) */
	assert_int_equal(sm_label_verify(after, nb, t, &cl, &err), SM_EVERIFY);
	if (!strstr(err.msg, oldkid) || !strstr(err.msg, "was not valid on 2026-09-21"))
		fail_msg("expected the retired key %s named as not valid on 2026-09-21, got '%s'", oldkid, err.msg);
	free(oldkid);
	/* the new key signs labels from now on, and cannot date one before its time */
	claims_42(&cl);
	cl.issued_at = NOW + 200;
	uint8_t *fresh = sign(&cl, issuer(f), &nc);
	assert_int_equal(sm_label_verify(fresh, nc, t, &cl, &err), 0);
	free(fresh);
	cl.issued_at = NOW + 50;
	fresh = sign(&cl, issuer(f), &nc);
	assert_int_equal(sm_label_verify(fresh, nc, t, &cl, &err), SM_EVERIFY);
	free(fresh);
	free(before);
	free(after);
}

/*
 * A label signed by an issuer key newer than the bundle at hand is not forged: that bundle cannot know
 * the key. The rule (label.h): no issuer key of the bundle verifies the label and the label is dated
 * after the bundle was made -> SM_ENOTFOUND, "update the trust bundle". Both directions.
 */
static void test_label_verify_unknown_signer(void **state)
{
	struct fx *f = *state;
	sm_err err = {0};
	sm_label_claims cl;
	size_t n = 0, on = 0;
	sm_trust *old = malloc(sizeof(*old));
	assert_non_null(old);
	*old = *sm_registry_trust(f->r); /* bundle version 1, made at NOW */
	assert_int_equal(old->at, NOW);
	/* an old label (the first issuer key), then a rotation, then a new label (the second key) */
	claims_42(&cl);
	cl.issued_at = NOW + 50;
	uint8_t *old_label = sign(&cl, issuer(f), &on);
	assert_int_equal(sm_registry_rotate(f->r, SM_ROLE_ISSUER, NOW + 100, &err), 0);
	const sm_trust *t = sm_registry_trust(f->r);
	assert_int_equal(t->version, 2);
	claims_42(&cl);
	cl.issued_at = NOW + 200;
	uint8_t *new_label = sign(&cl, issuer(f), &n);

	/* old label + new bundle: genuine */
	assert_int_equal(sm_label_verify(old_label, on, t, &cl, &err), 0);
	/* new label + new bundle: genuine */
	assert_int_equal(sm_label_verify(new_label, n, t, &cl, &err), 0);
	/* new label + old bundle: unknown signer, not forged */
	int rc = sm_label_verify(new_label, n, old, &cl, &err);
	if (rc != SM_ENOTFOUND || !strstr(err.msg, "update the trust bundle") || !strstr(err.msg, "version 1"))
		fail_msg("new label, old bundle: expected SM_ENOTFOUND saying 'update the trust bundle' (version 1), got %d "
			 "'%s'", rc, err.msg);
	assert_string_equal(cl.id, "");
	/* old label + old bundle: genuine */
	assert_int_equal(sm_label_verify(old_label, on, old, &cl, &err), 0);

	/* dated before the bundle: every key that could have signed it is in the bundle: forged */
	sm_key *forger = NULL;
	assert_int_equal(sm_key_generate(&forger), 0);
	claims_42(&cl);
	cl.issued_at = NOW - 1;
	uint8_t *forged = sign(&cl, forger, &n);
	assert_int_equal(sm_label_verify(forged, n, old, &cl, &err), SM_EVERIFY);
	assert_non_null(strstr(err.msg, "forged or altered"));
	free(forged);
	/* dated in the second the bundle was made, or after: indistinguishable from a newer key of the
	 * registry (one made later in that second too), so unknown, never genuine */
	claims_42(&cl);
	cl.issued_at = NOW;
	forged = sign(&cl, forger, &n);
	assert_int_equal(sm_label_verify(forged, n, old, &cl, &err), SM_ENOTFOUND);
	free(forged);
	claims_42(&cl);
	cl.issued_at = NOW + 1;
	forged = sign(&cl, forger, &n);
	assert_int_equal(sm_label_verify(forged, n, old, &cl, &err), SM_ENOTFOUND);
	free(forged);
	/* a token with a kid: one the bundle does not hold at all, dated after it: unknown signer;
	 * dated before: not an issuer key of the bundle */
	sm_buf b = SM_BUF_INIT;
	uint8_t *cose = NULL;
	size_t cn = 0;
	claims_42(&cl);
	cl.issued_at = NOW + 200;
	assert_int_equal(sm_label_claims_encode(&cl, &b), 0);
	assert_int_equal(sm_cose_sign1(issuer(f), SM_COSE_LABEL, b.data, b.len, false, &cose, &cn), 0);
	assert_int_equal(sm_label_verify(cose, cn, t, &cl, &err), 0);
	assert_int_equal(sm_label_verify(cose, cn, old, &cl, &err), SM_ENOTFOUND);
	assert_non_null(strstr(err.msg, "update the trust bundle"));
	free(cose);
	sm_buf_cleanup(&b);
	claims_42(&cl);
	cl.issued_at = NOW - 1;
	assert_int_equal(sm_label_claims_encode(&cl, &b), 0);
	assert_int_equal(sm_cose_sign1(forger, SM_COSE_LABEL, b.data, b.len, false, &cose, &cn), 0);
	assert_int_equal(sm_label_verify(cose, cn, old, &cl, &err), SM_EVERIFY);
	assert_non_null(strstr(err.msg, "not an issuer key"));
	free(cose);
	sm_buf_cleanup(&b);
	sm_key_free(forger);
	free(new_label);
	free(old_label);
	free(old);
}

static void test_label_parse_forms(void **state)
{
	struct fx *f = *state;
	sm_err err = {0};
	char *url = NULL;
	uint8_t *want = NULL, *tok = NULL;
	size_t wn = 0, n = 0;
	assert_int_equal(sm_registry_label(f->r, f->cert->id, NULL, NOW, &url, NULL, &err), 0);
	assert_int_equal(sm_label_parse(url, strlen(url), &want, &wn, &err), 0);
	const char *b32 = strstr(url, "/L/") + 3;
	char text[1400];
	/* lower case, http, another host, surrounding white space, bare token in either case */
	const char *forms[][2] = {{"", ""},
	                          {"https://registry.example.jp/l/", ""},
	                          {"http://OTHER.HOST:8080/L/", ""},
	                          {" \t", "\r\n"},
	                          {"", ""}};
	for (size_t i = 0; i < sizeof(forms) / sizeof(forms[0]); i++) {
		snprintf(text, sizeof(text), "%s%s%s", forms[i][0], i == 0 ? url : b32, forms[i][1]);
		if (i == 1 || i == 4)
			for (char *p = text; *p; p++)
				if (*p >= 'A' && *p <= 'Z')
					*p = (char)(*p - 'A' + 'a');
		if (sm_label_parse(text, strlen(text), &tok, &n, &err) != 0)
			fail_msg("form %zu '%s': expected to parse, got '%s'", i, text, err.msg);
		assert_int_equal(n, wn);
		assert_memory_equal(tok, want, wn);
		free(tok);
	}
	/* the host as written, and whether it is the registry's origin */
	const char *hosts[] = {"REGISTRY.EXAMPLE.JP", "registry.example.jp", "OTHER.HOST:8080", " \t", ""};
	const bool theirs[] = {true, true, false, false, false};
	char host[64];
	for (size_t i = 0; i < sizeof(forms) / sizeof(forms[0]); i++) {
		snprintf(text, sizeof(text), "%s%s%s", forms[i][0], i == 0 ? url : b32, forms[i][1]);
		assert_int_equal(sm_label_host(text, strlen(text), host, sizeof(host)), 0);
		assert_string_equal(host, i == 0 || i == 1 || i == 2 ? hosts[i] : "");
		if (i < 3)
			assert_true(sm_label_host_is(host, "registry.example.jp") == theirs[i]);
	}
	assert_false(sm_label_host_is("registry.example.jp.evil", "registry.example.jp"));
	assert_false(sm_label_host_is("registry.example.j", "registry.example.jp"));
	snprintf(text, sizeof(text), "https://%0100d/L/%s", 0, b32);
	assert_int_equal(sm_label_host(text, strlen(text), host, sizeof(host)), SM_ETOOBIG);
	assert_int_equal(sm_label_host("https:///L/AA", 13, host, sizeof(host)), SM_EINVAL);
	/* Unreadable: each with the words that say why. */
	struct {
		const char *text, *needle;
	} bad[] = {
	    {"HTTPS://X/L/0189", "not base32"},
	    {"HTTPS://X/L/0189", "'0'"},
	    {"HTTPS://REGISTRY.EXAMPLE.JP/C/SM-2021-000001", "/L/"},
	    {"HTTPS://REGISTRY.EXAMPLE.JP", "no host and path"},
	    {"HTTPS:///L/AAAA", "no host and path"},
	    {"HTTPS://X/L/", "no token"},
	    {"", "empty"},
	    {"   ", "empty"},
	    {"ftp://x/L/AAAA", "neither a label URL"},
	    {"SM-2021-000001", "not base32"},
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		int rc = sm_label_parse(bad[i].text, strlen(bad[i].text), &tok, &n, &err);
		if (rc != SM_EINVAL || !strstr(err.msg, bad[i].needle))
			fail_msg("'%s': expected unreadable naming '%s', got %d '%s'", bad[i].text,
			         bad[i].needle, rc, err.msg);
		assert_null(tok);
	}
	/* over the text cap, and a base32 token longer than any token */
	memset(text, 'A', sizeof(text));
	assert_int_equal(sm_label_parse(text, SM_LABEL_URL_MAX + 1, &tok, &n, &err), SM_EINVAL);
	assert_non_null(strstr(err.msg, "1201 characters, more than 1200"));
	assert_int_equal(sm_label_parse(text, 900, &tok, &n, &err), SM_EINVAL);
	assert_non_null(strstr(err.msg, "the token is 900 characters"));
	/* a NUL inside */
	assert_int_equal(sm_label_parse("AB\0CD", 5, &tok, &n, &err), SM_EINVAL);
	assert_non_null(strstr(err.msg, "NUL"));
	/* a parsed URL of garbage decodes but does not verify as a token */
	sm_label_claims cl;
	assert_int_equal(sm_label_parse("HTTPS://X/L/AAAA", 16, &tok, &n, &err), 0);
	assert_int_equal(sm_label_verify(tok, n, sm_registry_trust(f->r), &cl, &err), SM_EINVAL);
	assert_non_null(strstr(err.msg, "the token is not a signed object"));
	free(tok);
	free(want);
	free(url);
}

/* ---- images ---- */

static void draw_code(cairo_t *cr, const char *text, double x0, double y0, int scale)
{
	QRcode *q = QRcode_encodeString(text, 0, QR_ECLEVEL_M, QR_MODE_8, 1);
	assert_non_null(q);
	cairo_set_source_rgb(cr, 0, 0, 0);
	for (int y = 0; y < q->width; y++)
		for (int x = 0; x < q->width; x++)
			if (q->data[y * q->width + x] & 1)
				cairo_rectangle(cr, x0 + x * scale, y0 + y * scale, scale, scale);
	cairo_fill(cr);
	QRcode_free(q);
}

/* A white PNG of w x h with `n` codes of `text` side by side (a transparent background when `clear`). */
static void write_png(const char *path, int w, int h, const char *text, int ncodes, bool clear)
{
	cairo_surface_t *s = cairo_image_surface_create(CAIRO_FORMAT_ARGB32, w, h);
	cairo_t *cr = cairo_create(s);
	if (!clear) {
		cairo_set_source_rgb(cr, 1, 1, 1);
		cairo_paint(cr);
	}
	for (int i = 0; i < ncodes; i++)
		draw_code(cr, text, 40 + i * (w / 2), 40, 4);
	cairo_destroy(cr);
	assert_int_equal(cairo_surface_write_to_png(s, path), CAIRO_STATUS_SUCCESS);
	cairo_surface_destroy(s);
}

static void test_label_read_image(void **state)
{
	struct fx *f = *state;
	sm_err err = {0};
	char *url = NULL, *text = NULL, path[128];
	assert_int_equal(sm_registry_label(f->r, f->cert->id, NULL, NOW, &url, NULL, &err), 0);

	snprintf(path, sizeof(path), "%s/one.png", f->dir);
	write_png(path, 400, 400, url, 1, false);
	assert_int_equal(sm_label_read_image(path, &text, &err), 0);
	assert_string_equal(text, url);
	free(text);
	/* black modules on a transparent background read as on paper */
	write_png(path, 400, 400, url, 1, true);
	assert_int_equal(sm_label_read_image(path, &text, &err), 0);
	assert_string_equal(text, url);
	free(text);

	snprintf(path, sizeof(path), "%s/none.png", f->dir);
	write_png(path, 300, 200, url, 0, false);
	assert_int_equal(sm_label_read_image(path, &text, &err), SM_EINVAL);
	assert_null(text);
	char want[200];
	snprintf(want, sizeof(want), "no QR code found in %s", path);
	assert_string_equal(err.msg, want);

	snprintf(path, sizeof(path), "%s/two.png", f->dir);
	write_png(path, 800, 400, url, 2, false);
	assert_int_equal(sm_label_read_image(path, &text, &err), SM_EINVAL);
	assert_string_equal(err.msg, "2 codes found; crop the photo to one label");

	snprintf(path, sizeof(path), "%s/not.png", f->dir);
	FILE *fp = fopen(path, "w");
	fputs("GIF89a this is not a PNG at all", fp);
	fclose(fp);
	assert_int_equal(sm_label_read_image(path, &text, &err), SM_EINVAL);
	assert_non_null(strstr(err.msg, "is not a PNG or JPEG image"));

	/* a PNG header asking for 20000 x 20000 pixels is refused before decoding */
	/* clang-format off */
	static const uint8_t huge[] = {
		0x89, 'P', 'N', 'G', '\r', '\n', 0x1a, '\n', /* signature */
		0, 0, 0, 13, 'I', 'H', 'D', 'R',              /* IHDR, 13 bytes */
		0, 0, 0x4e, 0x20, 0, 0, 0x4e, 0x20,           /* 20000 x 20000 */
		8, 2, 0, 0, 0, 0, 0, 0, 0,                    /* 8-bit RGB, CRC left out */
	};
	/* clang-format on */
	snprintf(path, sizeof(path), "%s/huge.png", f->dir);
	fp = fopen(path, "wb");
	fwrite(huge, 1, sizeof(huge), fp);
	fclose(fp);
	assert_int_equal(sm_label_read_image(path, &text, &err), SM_EINVAL);
	assert_non_null(strstr(err.msg, "20000x20000 pixels"));

	/* a PNG cut short after its header */
	snprintf(path, sizeof(path), "%s/one.png", f->dir);
	write_png(path, 400, 400, url, 1, false);
	assert_int_equal(truncate(path, 100), 0);
	assert_int_equal(sm_label_read_image(path, &text, &err), SM_EINVAL);
	assert_non_null(strstr(err.msg, "not a readable PNG image"));

	snprintf(path, sizeof(path), "%s/missing.png", f->dir);
	assert_int_equal(sm_label_read_image(path, &text, &err), SM_EINVAL);
	assert_non_null(strstr(err.msg, "cannot open"));
	assert_int_equal(sm_label_read_image(f->dir, &text, &err), SM_EINVAL);
	assert_non_null(strstr(err.msg, "not a regular file"));
	free(url);
}

/* ---- images in memory (sm_label_read_image_mem): JPEG through libjpeg's own encoder ---- */

#define MEM_URL "HTTPS://REGISTRY.EXAMPLE.JP/L/AEBAGBAFAYDQQCIKBMGA2DQPCAIREEYUCULBOGAZDINRYHI6D4QCAQ"

/* A white w x h gray image with the code of `text` at (x0, y0), `scale` pixels a module (caller frees). */
static uint8_t *gray_code(int w, int h, const char *text, int x0, int y0, int scale)
{
	uint8_t *g = malloc((size_t)w * h);
	assert_non_null(g);
	memset(g, 255, (size_t)w * h);
	if (!text)
		return g;
	QRcode *q = QRcode_encodeString(text, 0, QR_ECLEVEL_M, QR_MODE_8, 1);
	assert_non_null(q);
	for (int y = 0; y < q->width * scale; y++)
		for (int x = 0; x < q->width * scale; x++)
			if (q->data[(y / scale) * q->width + x / scale] & 1)
				g[(size_t)(y0 + y) * w + x0 + x] = 0;
	QRcode_free(q);
	return g;
}

enum jpeg_kind { JK_GRAY, JK_YCC, JK_YCC444_PROGRESSIVE, JK_CMYK_ADOBE, JK_CMYK_PLAIN };

/* `g` as a JPEG of that kind at quality 85 (caller frees *out). */
static void jpeg_of(const uint8_t *g, int w, int h, enum jpeg_kind kind, uint8_t **out, size_t *len)
{
	struct jpeg_compress_struct c;
	struct jpeg_error_mgr e;
	unsigned char *buf = NULL;
	unsigned long size = 0;
	const int comps = kind == JK_GRAY ? 1 : kind <= JK_YCC444_PROGRESSIVE ? 3 : 4;
	uint8_t *row = malloc((size_t)w * comps);
	assert_non_null(row);
	c.err = jpeg_std_error(&e);
	jpeg_create_compress(&c);
	jpeg_mem_dest(&c, &buf, &size);
	c.image_width = (JDIMENSION)w;
	c.image_height = (JDIMENSION)h;
	c.input_components = comps;
	c.in_color_space = comps == 1 ? JCS_GRAYSCALE : comps == 3 ? JCS_RGB : JCS_CMYK;
	jpeg_set_defaults(&c);
	jpeg_set_quality(&c, 85, TRUE);
	if (comps == 4) {
		jpeg_set_colorspace(&c, JCS_CMYK);
		c.write_Adobe_marker = kind == JK_CMYK_ADOBE;
	}
	if (kind == JK_YCC444_PROGRESSIVE) {
		c.comp_info[0].h_samp_factor = c.comp_info[0].v_samp_factor = 1;
		jpeg_simple_progression(&c);
	}
	jpeg_start_compress(&c, TRUE);
	while (c.next_scanline < c.image_height) {
		const uint8_t *src = g + (size_t)c.next_scanline * w;
		for (int x = 0; x < w; x++)
			for (int k = 0; k < comps; k++) {
				/* Adobe CMYK is stored inverted (255: no ink); plain CMYK as ink */
				uint8_t v = comps < 4 ? src[x] : k < 3 ? (kind == JK_CMYK_ADOBE ? 255 : 0)
				                                       : (kind == JK_CMYK_ADOBE ? src[x] : 255 - src[x]);
				row[(size_t)x * comps + k] = v;
			}
		JSAMPROW rows[1] = {row};
		jpeg_write_scanlines(&c, rows, 1);
	}
	jpeg_finish_compress(&c);
	jpeg_destroy_compress(&c);
	free(row);
	*out = buf;
	*len = size;
}

/* Set a JPEG's frame header to w x h (the data after it stays as it was). */
static void patch_sof(uint8_t *j, size_t len, unsigned w, unsigned h)
{
	for (size_t i = 2; i + 9 < len;) {
		assert_int_equal(j[i], 0xff);
		unsigned m = j[i + 1], seglen = (unsigned)j[i + 2] << 8 | j[i + 3];
		if (m == 0xc0 || m == 0xc1 || m == 0xc2) {
			j[i + 5] = (uint8_t)(h >> 8);
			j[i + 6] = (uint8_t)h;
			j[i + 7] = (uint8_t)(w >> 8);
			j[i + 8] = (uint8_t)w;
			return;
		}
		i += 2 + seglen;
	}
	fail_msg("no frame header in the JPEG");
}

/* Read `j` from memory and expect `url`, or (url NULL) an error whose message holds `want`. */
static void expect_read(const uint8_t *j, size_t len, uint64_t pixels_max, const char *url, const char *want)
{
	char *text = NULL;
	sm_err err = {0};
	int rc = sm_label_read_image_mem(j, len, "input", pixels_max, &text, &err);
	if (url) {
		if (rc != 0)
			fail_msg("expected the code, got %d: %s", rc, err.msg);
		assert_string_equal(text, url);
		free(text);
		return;
	}
	assert_int_equal(rc, SM_EINVAL);
	assert_null(text);
	if (!strstr(err.msg, want))
		fail_msg("expected a message with \"%s\", got \"%s\"", want, err.msg);
}

static void test_label_read_image_mem_jpeg(void **state)
{
	(void)state;
	uint8_t *g = gray_code(400, 400, MEM_URL, 40, 40, 4), *j = NULL;
	size_t len = 0;
	const enum jpeg_kind kinds[] = {JK_GRAY, JK_YCC, JK_YCC444_PROGRESSIVE, JK_CMYK_ADOBE, JK_CMYK_PLAIN};
	for (size_t k = 0; k < sizeof(kinds) / sizeof(kinds[0]); k++) {
		jpeg_of(g, 400, 400, kinds[k], &j, &len);
		expect_read(j, len, 0, MEM_URL, NULL);
		free(j);
	}

	/* cut short: an error, not a picture whose bottom half libjpeg made up */
	jpeg_of(g, 400, 400, JK_YCC, &j, &len);
	expect_read(j, len / 2, 0, NULL, "input is not a readable JPEG image (Premature end of JPEG file)");
	/* over the caller's pixel cap, and over the side cap, from the header */
	expect_read(j, len, 100000, NULL, "input is 400x400 pixels; at most 12000x12000 and 0 megapixels");
	patch_sof(j, len, 20000, 20000);
	expect_read(j, len, 0, NULL, "input is 20000x20000 pixels; at most 12000x12000 and 100 megapixels");
	free(j);
	/* a progressive 4:4:4 header of 96 MP needs 576 MB of coefficients: refused before anything is allocated */
	jpeg_of(g, 400, 400, JK_YCC444_PROGRESSIVE, &j, &len);
	patch_sof(j, len, 12000, 8000);
	expect_read(j, len, 0, NULL, "input is a progressive JPEG of 12000x8000 pixels, which needs");
	free(j);
	free(g);

	/* no code */
	g = gray_code(300, 200, NULL, 0, 0, 1);
	jpeg_of(g, 300, 200, JK_GRAY, &j, &len);
	expect_read(j, len, 0, NULL, "no QR code found in input");
	free(j);
	free(g);

	/* not an image at all, and nothing */
	expect_read((const uint8_t *)"GIF89a", 6, 0, NULL, "input is not a PNG or JPEG image");
	expect_read((const uint8_t *)"", 0, 0, NULL, "input is not a PNG or JPEG image");
}

/* Phone-size frames (12 MP): read first at half size, at full size when the code is too small for that. */
static void test_label_read_image_mem_large(void **state)
{
	(void)state;
	uint8_t *j = NULL;
	size_t len = 0;
	const int scales[] = {8, 2};
	for (size_t k = 0; k < 2; k++) {
		uint8_t *g = gray_code(4032, 3024, MEM_URL, 1500, 1100, scales[k]);
		jpeg_of(g, 4032, 3024, JK_YCC, &j, &len);
		expect_read(j, len, 0, MEM_URL, NULL);
		free(j);
		free(g);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_label_claims_encoding),
	    cmocka_unit_test(test_label_claims_decode_strict),
	    cmocka_unit_test_setup_teardown(test_label_claims_of_round_trip, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_label_token_size_and_qr_version, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_label_qr_envelope, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_label_verify_genuine, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_label_verify_flipped_bits, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_label_verify_truncated, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_label_verify_wrong_type, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_label_verify_unknown_kid, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_label_verify_key_validity, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_label_verify_unknown_signer, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_label_parse_forms, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_label_read_image, setup, teardown),
	    cmocka_unit_test(test_label_read_image_mem_jpeg),
	    cmocka_unit_test(test_label_read_image_mem_large),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
