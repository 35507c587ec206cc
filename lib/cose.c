/* SPDX-License-Identifier: Apache-2.0 */
/* COSE_Sign1 with EdDSA: deterministic signing, strict capped decoding (libcbor), verification. */
#include <stdlib.h>
#include <string.h>

#include <cbor.h>

#include "starmark/buf.h"
#include "starmark/cose.h"

#define COSE_SIGN1_TAG 18
#define HDR_ALG 1
#define HDR_CTYPE 3
#define HDR_KID 4
/* EdDSA (RFC 9053) as a CBOR negative integer: -1 - 7. */
#define ALG_EDDSA_N 7
/* A kid from elsewhere may have any length; refuse absurd ones. */
#define KID_MAX 64
/*
 * Items in one CBOR value handed to libcbor. A COSE_Sign1 we accept has about 10; the cap keeps
 * libcbor from building a huge tree (tens of bytes per item) out of 16 MiB of one-byte items.
 */
#define CBOR_MAX_ITEMS 64

/* What the headers say. */
struct hdr {
	uint64_t type;
	size_t kid_len; /* 0: none */
	uint8_t kid[KID_MAX];
};

struct sm_cose {
	struct hdr h;
	uint8_t sig[SM_SIG_LEN];
	const uint8_t *prot;
	size_t prot_len;
	const uint8_t *payload;
	size_t payload_len;
	uint8_t data[]; /* prot || payload */
};

/* An encoder over sm_buf whose first error sticks, so a run of writes is checked once. */
struct enc {
	sm_buf b;
	int rc;
};

static void put_bytes(struct enc *e, const void *p, size_t n)
{
	if (!e->rc)
		e->rc = sm_buf_append(&e->b, p, n);
}

/* A CBOR item head with the shortest argument encoding (deterministic, RFC 8949 4.2.1). */
static void put_head(struct enc *e, unsigned major, uint64_t arg)
{
	uint8_t h[9];
	size_t len;

	if (arg < 24) {
		h[0] = (uint8_t)(major << 5 | arg);
		put_bytes(e, h, 1);
		return;
	}
	if (arg <= 0xff)
		len = 1;
	else if (arg <= 0xffff)
		len = 2;
	else if (arg <= 0xffffffffu)
		len = 4;
	else
		len = 8;
	h[0] = (uint8_t)(major << 5 | (len == 1 ? 24 : len == 2 ? 25 : len == 4 ? 26 : 27));
	for (size_t i = 0; i < len; i++)
		h[1 + i] = (uint8_t)(arg >> (8 * (len - 1 - i)));
	put_bytes(e, h, 1 + len);
}

static void put_bstr(struct enc *e, const uint8_t *p, size_t n)
{
	put_head(e, 2, n);
	put_bytes(e, p, n);
}

/* Hand the bytes to the caller, or the first error. */
static int enc_take(struct enc *e, uint8_t **out, size_t *outlen)
{
	if (!e->rc) {
		*out = sm_buf_take(&e->b, outlen);
		if (!*out)
			e->rc = SM_ENOMEM;
	}
	sm_buf_cleanup(&e->b);
	return e->rc;
}

int sm_cose_sig_structure(const uint8_t *prot, size_t prot_len, const uint8_t *payload, size_t n,
			  uint8_t **out, size_t *outlen)
{
	static const char context[] = "Signature1";
	struct enc e = { SM_BUF_INIT, 0 };

	*out = NULL;
	*outlen = 0;
	put_head(&e, 4, 4);
	put_head(&e, 3, sizeof(context) - 1);
	put_bytes(&e, context, sizeof(context) - 1);
	put_bstr(&e, prot, prot_len);
	put_bstr(&e, NULL, 0); /* external_aad */
	put_bstr(&e, payload, n);
	return enc_take(&e, out, outlen);
}

int sm_cose_sign1(const sm_key *key, enum sm_cose_type type, const uint8_t *payload, size_t n, bool tagged,
		  uint8_t **out, size_t *outlen)
{
	return sm_cose_sign1_ex(key, type, payload, n, tagged ? SM_COSE_TAGGED : 0, out, outlen);
}

int sm_cose_sign1_ex(const sm_key *key, enum sm_cose_type type, const uint8_t *payload, size_t n, unsigned flags,
		     uint8_t **out, size_t *outlen)
{
	const bool tagged = flags & SM_COSE_TAGGED, with_kid = !(flags & SM_COSE_NO_KID);
	int rc = 0;
	struct enc prot = { SM_BUF_INIT, 0 };
	struct enc e = { SM_BUF_INIT, 0 };
	uint8_t kid[SM_KID_LEN];
	uint8_t sig[SM_SIG_LEN];
	uint8_t *tbs = NULL;
	size_t tbs_len = 0;

	*out = NULL;
	*outlen = 0;
	if (!sm_key_has_private(key))
		return SM_EKEY;
	/* Leave room for the headers and signature so that decode accepts what sign makes. */
	if (n > SM_COSE_MAX_SIZE - 256)
		return SM_ETOOBIG;
	sm_key_kid(key, kid);
	/* {1: -8, 3: type, 4: kid}: fixed key order, shortest heads: one encoding only. */
	put_head(&prot, 5, with_kid ? 3 : 2);
	put_head(&prot, 0, HDR_ALG);
	put_head(&prot, 1, ALG_EDDSA_N);
	put_head(&prot, 0, HDR_CTYPE);
	put_head(&prot, 0, (uint64_t)type);
	if (with_kid) {
		put_head(&prot, 0, HDR_KID);
		put_bstr(&prot, kid, sizeof(kid));
	}
	rc = prot.rc;
	if (rc)
		goto out;
	rc = sm_cose_sig_structure(prot.b.data, prot.b.len, payload, n, &tbs, &tbs_len);
	if (rc)
		goto out;
	rc = sm_key_sign(key, tbs, tbs_len, sig);
	if (rc)
		goto out;
	if (tagged)
		put_head(&e, 6, COSE_SIGN1_TAG);
	put_head(&e, 4, 4);
	put_bstr(&e, prot.b.data, prot.b.len);
	put_head(&e, 5, 0); /* empty unprotected header */
	put_bstr(&e, payload, n);
	put_bstr(&e, sig, sizeof(sig));
	rc = enc_take(&e, out, outlen);
out:
	free(tbs);
	sm_buf_cleanup(&prot.b);
	sm_buf_cleanup(&e.b);
	return rc;
}

/* One CBOR item head: major type and argument. */
struct head {
	unsigned major;
	uint64_t arg;
};

/*
 * Read the head at p[*off] (bounds-checked) and move *off past it. Additional information
 * 28..31 (reserved, and indefinite lengths) is refused.
 */
static int read_head(const uint8_t *p, size_t n, size_t *off, struct head *h, const char *what, sm_err *err)
{
	const size_t at = *off;
	unsigned ai;
	size_t len;

	if (at >= n)
		return sm_err_set(err, SM_EINVAL, what, "%s: CBOR cut short at byte %zu", what, at);
	h->major = p[at] >> 5;
	ai = p[at] & 0x1f;
	if (ai >= 28)
		return sm_err_set(err, SM_EINVAL, what,
				  "%s: %s CBOR item at byte %zu (only definite lengths are accepted)", what,
				  ai == 31 ? "indefinite-length" : "malformed", at);
	h->arg = ai;
	len = ai >= 24 ? (size_t)1 << (ai - 24) : 0;
	if (len > n - at - 1)
		return sm_err_set(err, SM_EINVAL, what, "%s: CBOR cut short at byte %zu", what, at);
	if (len)
		h->arg = 0;
	for (size_t i = 0; i < len; i++)
		h->arg = h->arg << 8 | p[at + 1 + i];
	*off = at + 1 + len;
	return 0;
}

/*
 * Check that p[0..n) starts with one well-formed CBOR item of definite lengths only, nested at
 * most SM_COSE_MAX_DEPTH deep, of at most CBOR_MAX_ITEMS items, and say where it ends.
 * Iterative, so hostile nesting cannot exhaust the stack, and run before libcbor (whose
 * decoder recurses) ever sees the bytes.
 */
static int scan(const uint8_t *p, size_t n, size_t *end, const char *what, sm_err *err)
{
	uint64_t left[SM_COSE_MAX_DEPTH + 1];
	unsigned depth = 0;
	size_t off = 0, items = 0;

	left[0] = 1;
	for (;;) {
		struct head h;
		uint64_t children = 0;
		size_t at;
		int rc;

		while (left[depth] == 0) {
			if (depth == 0) {
				*end = off;
				return 0;
			}
			depth--;
		}
		left[depth]--;
		if (++items > CBOR_MAX_ITEMS)
			return sm_err_set(err, SM_EINVAL, what, "%s: more than %d CBOR items", what,
					  CBOR_MAX_ITEMS);
		at = off;
		rc = read_head(p, n, &off, &h, what, err);
		if (rc)
			return rc;
		switch (h.major) {
		case 2:
		case 3:
			if (h.arg > n - off)
				return sm_err_set(err, SM_EINVAL, what,
						  "%s: string at byte %zu claims %llu bytes, only %zu remain",
						  what, at, (unsigned long long)h.arg, n - off);
			off += (size_t)h.arg;
			break;
		case 4:
			children = h.arg;
			break;
		case 5:
			children = h.arg > UINT64_MAX / 2 ? UINT64_MAX : h.arg * 2;
			break;
		case 6:
			children = 1;
			break;
		default:
			break;
		}
		if (children == 0)
			continue;
		/* Each child takes at least one byte: a count past the end is a lie, refuse it now. */
		if (children > n - off)
			return sm_err_set(err, SM_EINVAL, what,
					  "%s: container at byte %zu claims more items than bytes remain",
					  what, at);
		if (depth == SM_COSE_MAX_DEPTH)
			return sm_err_set(err, SM_EINVAL, what,
					  "%s: CBOR nested deeper than %d levels at byte %zu", what,
					  SM_COSE_MAX_DEPTH, at);
		left[++depth] = children;
	}
}

/* Scan then load exactly one item filling all of p[0..n). */
static int load_exact(const uint8_t *p, size_t n, cbor_item_t **out, const char *what, sm_err *err)
{
	int rc;
	size_t end = 0;
	struct cbor_load_result res;

	*out = NULL;
	rc = scan(p, n, &end, what, err);
	if (rc)
		return rc;
	if (end != n)
		return sm_err_set(err, SM_EINVAL, what,
				  "%s: %zu unexpected bytes after the CBOR item (at byte %zu)", what, n - end,
				  end);
	memset(&res, 0, sizeof(res));
	*out = cbor_load(p, n, &res);
	if (!*out || res.error.code != CBOR_ERR_NONE || res.read != n) {
		if (*out)
			cbor_decref(out);
		if (res.error.code == CBOR_ERR_MEMERROR)
			return SM_ENOMEM;
		return sm_err_set(err, SM_EINVAL, what, "%s: CBOR not decodable at byte %zu", what,
				  res.error.position);
	}
	return 0;
}

/* The integer value of a header label, or false for anything else (text labels included). */
static bool label_of(const cbor_item_t *k, int64_t *label)
{
	uint64_t v;

	if (cbor_isa_uint(k)) {
		v = cbor_get_int(k);
		if (v > INT64_MAX)
			return false;
		*label = (int64_t)v;
		return true;
	}
	if (cbor_isa_negint(k)) {
		v = cbor_get_int(k);
		if (v > INT64_MAX)
			return false;
		*label = -1 - (int64_t)v;
		return true;
	}
	return false;
}

static int take_kid(struct hdr *c, const cbor_item_t *v, const char *where, sm_err *err)
{
	size_t len;

	if (c->kid_len)
		return sm_err_set(err, SM_EINVAL, where, "kid (4) appears in both headers or twice");
	if (!cbor_isa_bytestring(v))
		return sm_err_set(err, SM_EINVAL, where, "%s header: kid (4) must be a byte string", where);
	len = cbor_bytestring_length(v);
	if (len == 0 || len > KID_MAX)
		return sm_err_set(err, SM_EINVAL, where, "%s header: kid (4) of %zu bytes (expected 1 to %d)",
				  where, len, KID_MAX);
	memcpy(c->kid, cbor_bytestring_handle(v), len);
	c->kid_len = len;
	return 0;
}

static int parse_protected(struct hdr *c, const cbor_item_t *map, sm_err *err)
{
	const struct cbor_pair *pairs;
	bool have_alg = false, have_type = false;
	size_t n;

	if (!cbor_isa_map(map))
		return sm_err_set(err, SM_EINVAL, "protected", "protected header must hold a CBOR map");
	n = cbor_map_size(map);
	pairs = cbor_map_handle(map);
	for (size_t i = 0; i < n; i++) {
		const cbor_item_t *v = pairs[i].value;
		int64_t label;
		int rc;

		if (!label_of(pairs[i].key, &label))
			return sm_err_set(err, SM_EINVAL, "protected",
					  "protected header: label %zu is not an integer", i);
		switch (label) {
		case HDR_ALG:
			if (have_alg)
				return sm_err_set(err, SM_EINVAL, "protected",
						  "protected header: alg (1) appears twice");
			have_alg = true;
			if (!cbor_isa_negint(v) || cbor_get_int(v) != ALG_EDDSA_N) {
				if (cbor_isa_negint(v) && cbor_get_int(v) < INT64_MAX)
					return sm_err_set(
						err, SM_EINVAL, "protected",
						"protected header: alg is %lld, expected -8 (EdDSA)",
						-1 - (long long)cbor_get_int(v));
				return sm_err_set(err, SM_EINVAL, "protected",
						  "protected header: alg is not -8 (EdDSA)");
			}
			break;
		case HDR_CTYPE:
			if (have_type)
				return sm_err_set(err, SM_EINVAL, "protected",
						  "protected header: content type (3) appears twice");
			have_type = true;
			if (!cbor_isa_uint(v))
				return sm_err_set(
					err, SM_EINVAL, "protected",
					"protected header: content type (3) must be an unsigned integer");
			c->type = cbor_get_int(v);
			break;
		case HDR_KID:
			rc = take_kid(c, v, "protected", err);
			if (rc)
				return rc;
			break;
		default:
			return sm_err_set(err, SM_EINVAL, "protected", "protected header: unknown label %lld",
					  (long long)label);
		}
	}
	if (!have_alg)
		return sm_err_set(err, SM_EINVAL, "protected", "protected header has no alg (1)");
	return 0;
}

static int parse_unprotected(struct hdr *c, const cbor_item_t *map, sm_err *err)
{
	const struct cbor_pair *pairs;
	size_t n;

	if (!cbor_isa_map(map))
		return sm_err_set(err, SM_EINVAL, "unprotected", "unprotected header must be a CBOR map");
	n = cbor_map_size(map);
	pairs = cbor_map_handle(map);
	for (size_t i = 0; i < n; i++) {
		int64_t label;
		int rc;

		if (!label_of(pairs[i].key, &label))
			return sm_err_set(err, SM_EINVAL, "unprotected",
					  "unprotected header: label %zu is not an integer", i);
		if (label != HDR_KID)
			return sm_err_set(err, SM_EINVAL, "unprotected",
					  "unprotected header: label %lld not allowed (only kid, 4)",
					  (long long)label);
		rc = take_kid(c, pairs[i].value, "unprotected", err);
		if (rc)
			return rc;
	}
	return 0;
}

int sm_cose_decode(const uint8_t *in, size_t n, sm_cose **out, sm_err *err)
{
	int rc = 0;
	cbor_item_t *arr = NULL, *prot_map = NULL;
	cbor_item_t **items;
	sm_cose *c = NULL;
	struct hdr head;
	const uint8_t *prot, *payload;
	size_t prot_len, payload_len, skip = 0;

	*out = NULL;
	memset(&head, 0, sizeof(head));
	if (n > SM_COSE_MAX_SIZE)
		return sm_err_set(err, SM_ETOOBIG, "cose",
				  "COSE_Sign1 of %zu bytes is over the %u byte limit", n, SM_COSE_MAX_SIZE);
	if (n == 0)
		return sm_err_set(err, SM_EINVAL, "cose", "COSE_Sign1 is empty");
	/*
	 * The tag is read here, not by libcbor: libcbor 0.8 refuses the one-byte heads of tags
	 * 6..20 as malformed, and COSE_Sign1's tag 18 is one of them (0xd2).
	 */
	if (in[0] >> 5 == 6) {
		struct head h;
		rc = read_head(in, n, &skip, &h, "cose", err);
		if (rc)
			goto out;
		if (h.arg != COSE_SIGN1_TAG) {
			rc = sm_err_set(err, SM_EINVAL, "cose", "CBOR tag %llu, expected 18 (COSE_Sign1)",
					(unsigned long long)h.arg);
			goto out;
		}
	}
	rc = load_exact(in + skip, n - skip, &arr, "cose", err);
	if (rc)
		goto out;
	if (!cbor_isa_array(arr) || cbor_array_size(arr) != 4) {
		rc = sm_err_set(err, SM_EINVAL, "cose", "COSE_Sign1 must be an array of 4 items");
		goto out;
	}
	items = cbor_array_handle(arr);
	if (!cbor_isa_bytestring(items[0]) || cbor_bytestring_length(items[0]) == 0) {
		rc = sm_err_set(err, SM_EINVAL, "protected",
				"protected header must be a non-empty byte string");
		goto out;
	}
	prot = cbor_bytestring_handle(items[0]);
	prot_len = cbor_bytestring_length(items[0]);
	rc = load_exact(prot, prot_len, &prot_map, "protected", err);
	if (rc)
		goto out;
	rc = parse_protected(&head, prot_map, err);
	if (rc)
		goto out;
	rc = parse_unprotected(&head, items[1], err);
	if (rc)
		goto out;
	if (!cbor_isa_bytestring(items[2])) {
		rc = sm_err_set(err, SM_EINVAL, "payload",
				"payload must be a byte string (detached payloads are not supported)");
		goto out;
	}
	payload = cbor_bytestring_handle(items[2]);
	payload_len = cbor_bytestring_length(items[2]);
	if (!cbor_isa_bytestring(items[3]) || cbor_bytestring_length(items[3]) != SM_SIG_LEN) {
		rc = sm_err_set(err, SM_EINVAL, "signature",
				"signature must be a byte string of %d bytes (Ed25519)%s", SM_SIG_LEN,
				cbor_isa_bytestring(items[3]) ? ", got another length" : "");
		goto out;
	}
	c = malloc(sizeof(*c) + prot_len + payload_len);
	if (!c) {
		rc = SM_ENOMEM;
		goto out;
	}
	c->h = head;
	memcpy(c->sig, cbor_bytestring_handle(items[3]), SM_SIG_LEN);
	memcpy(c->data, prot, prot_len);
	if (payload_len)
		memcpy(c->data + prot_len, payload, payload_len);
	c->prot = c->data;
	c->prot_len = prot_len;
	c->payload = c->data + prot_len;
	c->payload_len = payload_len;
	*out = c;
	c = NULL;
out:
	free(c);
	if (prot_map)
		cbor_decref(&prot_map);
	if (arr)
		cbor_decref(&arr);
	return rc;
}

void sm_cose_free(sm_cose *c)
{
	free(c);
}

bool sm_cose_kid(const sm_cose *c, uint8_t kid[SM_KID_LEN])
{
	if (c->h.kid_len != SM_KID_LEN)
		return false;
	memcpy(kid, c->h.kid, SM_KID_LEN);
	return true;
}

uint64_t sm_cose_type(const sm_cose *c)
{
	return c->h.type;
}

const uint8_t *sm_cose_payload(const sm_cose *c, size_t *n)
{
	*n = c->payload_len;
	return c->payload;
}

int sm_cose_verify(const sm_cose *c, const sm_key *key)
{
	int rc;
	uint8_t *tbs = NULL;
	size_t tbs_len = 0;

	/* The protected bytes exactly as received: never re-encoded. */
	rc = sm_cose_sig_structure(c->prot, c->prot_len, c->payload, c->payload_len, &tbs, &tbs_len);
	if (rc)
		return rc;
	rc = sm_key_verify(key, tbs, tbs_len, c->sig);
	free(tbs);
	return rc ? SM_ECRYPTO : 0;
}
