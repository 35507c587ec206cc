/* SPDX-License-Identifier: Apache-2.0 */
/* The label token: its claims, signing, the QR URL, parsing a scanned text and offline verification. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cbor_int.h"
#include "registry_int.h"
#include "starmark/codec.h"
#include "starmark/cose.h"
#include "starmark/label.h"
#include "store.h"

#define CLAIMS_FIELDS 6
#define SERIAL_MAX 999999999u   /* ids have 6 to 9 serial digits (registry.c next_id) */
#define DAY_MAX 2932896         /* 9999-12-31, the last date sm_date_parse accepts */
#define TIME_MAX 253402300799LL /* 9999-12-31T23:59:59Z */
/* Longest base32 text that can decode to SM_LABEL_TOKEN_MAX bytes. */
#define B32_MAX ((SM_LABEL_TOKEN_MAX * 8 + 4) / 5)

/* "SM-<year>-<serial>" exactly as the registry assigns ids (registry.c next_id). */
static void derive_id(sm_date registered, uint32_t serial, char id[SM_ID_MAX + 1])
{
	char date[11];
	sm_date_format(registered, date);
	snprintf(id, SM_ID_MAX + 1, "SM-%.4s-%06u", date, (unsigned)serial);
}

/* The checks decode makes, so that encode never writes what decode refuses. */
static int check_claims(const sm_label_claims *cl, sm_err *err)
{
	int rc;
	if (cl->serial < 1 || cl->serial > SERIAL_MAX)
		return sm_err_set(err, SM_EINVAL, "serial", "label claims: serial %u is out of range 1..%u",
		                  (unsigned)cl->serial, SERIAL_MAX);
	if (cl->level < 1 || cl->level > SM_LEVELS_MAX)
		return sm_err_set(err, SM_EINVAL, "level", "label claims: level %d is out of range 1..%d",
		                  cl->level, SM_LEVELS_MAX);
	if ((rc = sm_check_model(cl->model, "model", err)) || (rc = sm_check_vendor(cl->vendor, err)))
		return rc;
	if (cl->registered < 0 || cl->registered > DAY_MAX)
		return sm_err_set(err, SM_EINVAL, "registered",
		                  "label claims: registration day %ld is out of range", (long)cl->registered);
	if (cl->issued_at < 0 || cl->issued_at > TIME_MAX)
		return sm_err_set(err, SM_EINVAL, "issued_at",
		                  "label claims: issue time %lld is out of range", (long long)cl->issued_at);
	if (sm_date_from_time(cl->issued_at) < cl->registered) {
		char reg[11];
		sm_date_format(cl->registered, reg);
		return sm_err_set(err, SM_EINVAL, "issued_at",
		                  "label claims: the label is dated before the registration date %s", reg);
	}
	return 0;
}

int sm_label_claims_of(const sm_cert *c, const char *model, int64_t now, sm_label_claims *out, sm_err *err)
{
	memset(out, 0, sizeof(*out));
	if (c->nmodels == 0)
		return sm_err_set(err, SM_EINVAL, "model", "certificate %s has no model number", c->id);
	if (!model)
		model = c->models[0];
	size_t i = 0;
	while (i < c->nmodels && strcmp(c->models[i], model) != 0)
		i++;
	if (i == c->nmodels) {
		char q[80];
		sm_err_quote(q, sizeof(q), model, strlen(model));
		return sm_err_set(err, SM_EINVAL, "model", "model '%s' is not a model of certificate %s", q,
		                  c->id);
	}
	out->serial = sm_store_id_serial(c->id);
	derive_id(c->registered, out->serial, out->id);
	if (out->serial == 0 || strcmp(out->id, c->id) != 0)
		return sm_err_set(
		    err, SM_EINVAL, "id",
		    "certificate id %s is not SM-<year of registration>-<serial>; a label cannot carry it",
		    c->id);
	out->level = c->level;
	snprintf(out->model, sizeof(out->model), "%s", model);
	snprintf(out->vendor, sizeof(out->vendor), "%s", c->vendor);
	out->registered = c->registered;
	out->expires = SM_DATE_NONE; /* not carried: renewals move it (label.h) */
	snprintf(out->scheme, sizeof(out->scheme), "%s", c->scheme);
	out->issued_at = now;
	return check_claims(out, err);
}

/* label-claims = [serial, level, model, vendor, registered, issued] (schema/payloads.cddl) */
int sm_label_claims_encode(const sm_label_claims *cl, sm_buf *out)
{
	int rc;
	if (check_claims(cl, NULL))
		return SM_EINVAL;
	if ((rc = sm_cbor_put_array(out, CLAIMS_FIELDS)) || (rc = sm_cbor_put_uint(out, cl->serial)) ||
	    (rc = sm_cbor_put_uint(out, (uint64_t)cl->level)) || (rc = sm_cbor_put_str(out, cl->model)) ||
	    (rc = sm_cbor_put_str(out, cl->vendor)) ||
	    (rc = sm_cbor_put_uint(out, (uint64_t)cl->registered)) ||
	    (rc = sm_cbor_put_uint(out, (uint64_t)cl->issued_at)))
		return rc;
	return 0;
}

static int read_bounded(sm_cbor_rd *r, uint64_t max, uint64_t *v, const char *what, sm_err *err)
{
	int rc = sm_cbor_read_uint(r, v, what, err);
	if (!rc && *v > max)
		rc = sm_err_set(err, SM_EINVAL, what, "label claims: %s %llu is out of range", what,
		                (unsigned long long)*v);
	return rc;
}

static int read_into(sm_cbor_rd *r, char *dst, size_t cap, const char *what, sm_err *err)
{
	char *s = NULL;
	int rc = sm_cbor_read_text(r, cap - 1, &s, what, err);
	if (rc)
		return rc == SM_ETOOBIG ? SM_EINVAL : rc;
	memcpy(dst, s, strlen(s) + 1);
	free(s);
	return 0;
}

int sm_label_claims_decode(const uint8_t *p, size_t n, sm_label_claims *out, sm_err *err)
{
	sm_cbor_rd r;
	sm_buf again = SM_BUF_INIT;
	size_t cnt = 0;
	uint64_t serial = 0, level = 0, reg = 0, issued = 0;
	int rc;

	memset(out, 0, sizeof(*out));
	out->expires = SM_DATE_NONE;
	if (n > SM_LABEL_TOKEN_MAX)
		return sm_err_set(err, SM_EINVAL, "claims", "label claims: %zu bytes, more than %d", n,
		                  SM_LABEL_TOKEN_MAX);
	sm_cbor_rd_init(&r, p, n);
	if ((rc = sm_cbor_read_array(&r, 64, &cnt, "label claims", err)))
		goto out;
	if (cnt != CLAIMS_FIELDS) {
		rc = sm_err_set(err, SM_EINVAL, "claims", "label claims: %zu fields, not %d", cnt,
		                CLAIMS_FIELDS);
		goto out;
	}
	if ((rc = read_bounded(&r, SERIAL_MAX, &serial, "serial", err)) ||
	    (rc = read_bounded(&r, SM_LEVELS_MAX, &level, "level", err)) ||
	    (rc = read_into(&r, out->model, sizeof(out->model), "model", err)) ||
	    (rc = read_into(&r, out->vendor, sizeof(out->vendor), "vendor", err)) ||
	    (rc = read_bounded(&r, DAY_MAX, &reg, "registered", err)) ||
	    (rc = read_bounded(&r, TIME_MAX, &issued, "issued_at", err)))
		goto out;
	if (r.off != r.n) {
		rc = sm_err_set(err, SM_EINVAL, "claims", "label claims: %zu unexpected bytes after them",
		                r.n - r.off);
		goto out;
	}
	out->serial = (uint32_t)serial;
	out->level = (int)level;
	out->registered = (sm_date)reg;
	out->issued_at = (int64_t)issued;
	if ((rc = check_claims(out, err)))
		goto out;
	/* One encoding only: a token is its bytes, so a second spelling of the same claims is refused. */
	if ((rc = sm_label_claims_encode(out, &again)))
		goto out;
	if (again.len != n || memcmp(again.data, p, n) != 0) {
		rc = sm_err_set(err, SM_EINVAL, "claims", "label claims: not in deterministic CBOR encoding");
		goto out;
	}
	derive_id(out->registered, out->serial, out->id);
out:
	sm_buf_cleanup(&again);
	if (rc) {
		memset(out, 0, sizeof(*out));
		out->expires = SM_DATE_NONE;
	}
	return rc;
}

int sm_label_token_sign(const sm_label_claims *cl, const sm_key *issuer, uint8_t **tok, size_t *n)
{
	sm_buf b = SM_BUF_INIT;
	*tok = NULL;
	*n = 0;
	int rc = sm_label_claims_encode(cl, &b);
	if (!rc)
		rc = sm_cose_sign1_ex(issuer, SM_COSE_LABEL, b.data, b.len, SM_COSE_NO_KID, tok, n);
	sm_buf_cleanup(&b);
	return rc;
}

char *sm_label_url(const char *host, const uint8_t *tok, size_t n)
{
	sm_buf b = SM_BUF_INIT;
	char *b32 = sm_base32_encode(tok, n);
	char *url = NULL;
	if (!b32)
		return NULL;
	if (sm_buf_puts(&b, "HTTPS://") == 0 && sm_buf_puts(&b, host ? host : "") == 0 &&
	    sm_buf_puts(&b, "/L/") == 0 && sm_buf_puts(&b, b32) == 0 && sm_buf_terminate(&b) == 0) {
		for (size_t i = 0; i < b.len; i++)
			if (b.data[i] >= 'a' && b.data[i] <= 'z')
				b.data[i] = (uint8_t)(b.data[i] - 'a' + 'A');
		size_t len;
		url = (char *)sm_buf_take(&b, &len);
	}
	sm_buf_cleanup(&b);
	free(b32);
	return url;
}

static bool is_space(char c)
{
	return c == ' ' || c == '\t' || c == '\r' || c == '\n';
}

/* Case-insensitive prefix test over a length-bounded text. */
static bool has_prefix(const char *s, size_t n, const char *pre)
{
	size_t k = strlen(pre);
	if (n < k)
		return false;
	for (size_t i = 0; i < k; i++) {
		char c = s[i];
		if (c >= 'A' && c <= 'Z')
			c = (char)(c - 'A' + 'a');
		if (c != pre[i])
			return false;
	}
	return true;
}

/*
 * Where the parts of a label text are: its host (NULL for a bare token) and its base32 token, after
 * the white space scanners and copy-paste add around it is dropped. SM_EINVAL (field label) saying
 * why when it is neither a label URL nor a bare token.
 */
static int locate(const char *text, size_t len, const char **host, size_t *hlen, const char **b32, size_t *blen,
                  sm_err *err)
{
	char q[80];
	*host = NULL;
	*hlen = 0;
	if (!text)
		len = 0;
	if (len > SM_LABEL_URL_MAX)
		return sm_err_set(err, SM_EINVAL, "label",
		                  "the label text is %zu characters, more than %d", len,
		                  SM_LABEL_URL_MAX);
	if (len > 0 && memchr(text, '\0', len))
		return sm_err_set(err, SM_EINVAL, "label", "the label text contains a NUL byte");
	while (len > 0 && is_space(text[0])) {
		text++;
		len--;
	}
	while (len > 0 && is_space(text[len - 1]))
		len--;
	if (len == 0)
		return sm_err_set(err, SM_EINVAL, "label", "the label text is empty");
	*b32 = text;
	*blen = len;
	size_t skip = has_prefix(text, len, "https://") ? 8 : has_prefix(text, len, "http://") ? 7 : 0;
	if (skip) {
		const char *h = text + skip;
		const char *slash = memchr(h, '/', len - skip);
		if (!slash || slash == h) {
			sm_err_quote(q, sizeof(q), text, len);
			return sm_err_set(err, SM_EINVAL, "label", "'%s' has no host and path",
			                  q);
		}
		size_t rest = len - (size_t)(slash - text);
		if (!has_prefix(slash, rest, "/l/")) {
			sm_err_quote(q, sizeof(q), slash, rest);
			return sm_err_set(
			    err, SM_EINVAL, "label",
			    "not a label URL: the path is '%s', where /L/<token> belongs", q);
		}
		*host = h;
		*hlen = (size_t)(slash - h);
		*b32 = slash + 3;
		*blen = rest - 3;
	} else if (memchr(text, '/', len) || memchr(text, ':', len)) {
		sm_err_quote(q, sizeof(q), text, len);
		return sm_err_set(
		    err, SM_EINVAL, "label",
		    "'%s' is neither a label URL (HTTPS://HOST/L/<token>) nor a bare token", q);
	}
	return 0;
}

int sm_label_host(const char *text, size_t len, char *host, size_t cap)
{
	const char *h, *b32;
	size_t hlen, blen;
	sm_err e = {0};
	if (cap == 0)
		return SM_EINVAL;
	host[0] = '\0';
	int rc = locate(text, len, &h, &hlen, &b32, &blen, &e);
	if (rc || !h)
		return rc;
	if (hlen >= cap)
		return SM_ETOOBIG;
	memcpy(host, h, hlen);
	host[hlen] = '\0';
	return 0;
}

bool sm_label_host_is(const char *host, const char *origin)
{
	size_t i = 0;
	for (; host[i] && origin[i]; i++) {
		char a = host[i], b = origin[i];
		if (a >= 'A' && a <= 'Z')
			a = (char)(a - 'A' + 'a');
		if (b >= 'A' && b <= 'Z')
			b = (char)(b - 'A' + 'a');
		if (a != b)
			return false;
	}
	return host[i] == origin[i];
}

int sm_label_parse(const char *text, size_t len, uint8_t **tok, size_t *n, sm_err *err)
{
	const char *host, *b32;
	size_t hlen, blen;
	*tok = NULL;
	*n = 0;
	int rc = locate(text, len, &host, &hlen, &b32, &blen, err);
	if (rc)
		return rc;
	if (blen == 0)
		return sm_err_set(err, SM_EINVAL, "label",
		                  "the label URL holds no token after /L/");
	if (blen > B32_MAX)
		return sm_err_set(err, SM_EINVAL, "label",
		                  "the token is %zu characters, more than %d", blen, B32_MAX);
	sm_err e = {0};
	rc = sm_base32_decode(b32, blen, tok, n, &e);
	if (rc == SM_ENOMEM)
		return rc;
	if (rc)
		return sm_err_set(err, SM_EINVAL, "label", "the token is not base32: %s", e.msg);
	return 0;
}

/* True when the bundle holds an issuer key with this kid at all (to tell "unknown" from "not then valid"). */
static const sm_trust_key *any_issuer_key(const sm_trust *t, const uint8_t kid[SM_KID_LEN])
{
	for (size_t i = 0; i < t->nkeys; i++)
		if (t->keys[i].role == SM_ROLE_ISSUER && memcmp(t->keys[i].kid, kid, SM_KID_LEN) == 0)
			return &t->keys[i];
	return NULL;
}

static const char *cose_type_name(uint64_t type)
{
	switch (type) {
	case SM_COSE_EVENT:
		return "a registry event";
	case SM_COSE_TRUST:
		return "a trust bundle";
	case SM_COSE_STATUS:
		return "a status statement";
	case SM_COSE_SNAPSHOT:
		return "a snapshot";
	default:
		return "of an unknown kind";
	}
}

/*
 * No issuer key of the bundle verifies the label (or its kid names none). If the label is dated in or
 * after the second the bundle was made, a key the registry made since (times are whole seconds, and
 * validity includes its second) may have signed it: this bundle cannot tell, so the signer is unknown
 * (SM_ENOTFOUND). If it is dated earlier, every key that could have signed it is in the bundle (bundles
 * keep retired keys): forged or altered (SM_EVERIFY). label.h states the rule.
 */
static int no_key_signed(const sm_trust *trust, const sm_label_claims *cl, const char *kidhex, sm_err *err)
{
	char at[11], made[11];
	sm_date_format(sm_date_from_time(cl->issued_at), at);
	sm_date_format(sm_date_from_time(trust->at), made);
	if (cl->issued_at >= trust->at && kidhex)
		return sm_err_set(err, SM_ENOTFOUND, "token",
				  "signed by key %s, which the %s trust bundle version %llu does not know: the label is "
				  "dated %s, not before that bundle was made (%s); update the trust bundle ('starmark trust "
				  "export', or sync) and verify again",
				  kidhex, trust->scheme, (unsigned long long)trust->version, at, made);
	if (cl->issued_at >= trust->at)
		return sm_err_set(err, SM_ENOTFOUND, "token",
				  "no issuer key of the %s trust bundle version %llu signed it, and the label is dated %s, "
				  "not before that bundle was made (%s): a newer issuer key may have; update the trust bundle "
				  "('starmark trust export', or sync) and verify again",
				  trust->scheme, (unsigned long long)trust->version, at, made);
	if (kidhex)
		return sm_err_set(err, SM_EVERIFY, "token", "signed by key %s, which is not an issuer key of the %s trust bundle",
				  kidhex, trust->scheme);
	return sm_err_set(err, SM_EVERIFY, "token",
			  "the signature verifies with no issuer key of the %s trust bundle valid on %s (forged or altered)",
			  trust->scheme, at);
}

static int not_then_valid(const sm_trust_key *k, const sm_label_claims *cl, sm_err *err)
{
	char at[11];
	char *kidhex = sm_hex_encode(k->kid, SM_KID_LEN);
	sm_date_format(sm_date_from_time(cl->issued_at), at);
	int rc = kidhex ? sm_err_set(err, SM_EVERIFY, "token",
				     "issuer key %s was not valid on %s, when the label says it was made", kidhex, at)
			: SM_ENOMEM;
	free(kidhex);
	return rc;
}

/*
 * A token without a kid (label.h: a kid would push the QR code past version 8): every issuer key of the
 * bundle is tried, a handful at most. One that verifies and was valid at issued_at makes it genuine; one
 * that verifies but was not valid then (a retired key signing after its time, or a key before its time)
 * makes it not genuine, naming the key; none: no_key_signed.
 */
static int verify_without_kid(const sm_trust *trust, const sm_cose *c, const sm_label_claims *cl,
			      uint8_t kid[SM_KID_LEN], sm_err *err)
{
	for (size_t i = 0; i < trust->nkeys; i++) {
		const sm_trust_key *k = &trust->keys[i];
		if (k->role != SM_ROLE_ISSUER)
			continue;
		sm_key *key = NULL;
		int ok = sm_key_from_public(k->pub, &key) == 0 && sm_cose_verify(c, key) == 0;
		sm_key_free(key);
		if (!ok)
			continue;
		if (!sm_trust_find(trust, SM_ROLE_ISSUER, k->kid, cl->issued_at))
			return not_then_valid(k, cl, err);
		memcpy(kid, k->kid, SM_KID_LEN);
		return 0;
	}
	return no_key_signed(trust, cl, NULL, err);
}

int sm_label_verify(const uint8_t *tok, size_t n, const sm_trust *trust, sm_label_claims *out, sm_err *err)
{
	sm_cose *c = NULL;
	sm_key *key = NULL;
	sm_err e = {0};
	uint8_t kid[SM_KID_LEN];
	char *kidhex = NULL;
	sm_label_claims cl;
	int rc;

	memset(out, 0, sizeof(*out));
	out->expires = SM_DATE_NONE;
	if (n > SM_LABEL_TOKEN_MAX)
		return sm_err_set(err, SM_EINVAL, "token", "the token is %zu bytes, more than %d",
		                  n, SM_LABEL_TOKEN_MAX);
	if ((rc = sm_cose_decode(tok, n, &c, &e))) {
		if (rc != SM_ENOMEM)
			rc = sm_err_set(err, SM_EINVAL, "token",
			                "the token is not a signed object: %s", e.msg);
		goto out;
	}
	uint64_t type = sm_cose_type(c);
	if (type != SM_COSE_LABEL) {
		rc = sm_err_set(err, SM_EVERIFY, "token",
		                "this is not a label token but %s (content type %llu)",
		                cose_type_name(type), (unsigned long long)type);
		goto out;
	}
	size_t pn;
	const uint8_t *payload = sm_cose_payload(c, &pn);
	if ((rc = sm_label_claims_decode(payload, pn, &cl, &e))) {
		if (rc != SM_ENOMEM)
			rc = sm_err_set(err, SM_EINVAL, "token", "%s", e.msg);
		goto out;
	}
	if (!sm_cose_kid(c, kid)) {
		/* tokens carry no kid (label.h: it would push the QR code past version 8) */
		rc = verify_without_kid(trust, c, &cl, kid, err);
		if (rc)
			goto out;
		goto genuine;
	}
	kidhex = sm_hex_encode(kid, SM_KID_LEN);
	if (!kidhex) {
		rc = SM_ENOMEM;
		goto out;
	}
	const sm_trust_key *tk = sm_trust_find(trust, SM_ROLE_ISSUER, kid, cl.issued_at);
	if (!tk) {
		const sm_trust_key *any = any_issuer_key(trust, kid);
		rc = any ? not_then_valid(any, &cl, err) : no_key_signed(trust, &cl, kidhex, err);
		goto out;
	}
	if ((rc = sm_key_from_public(tk->pub, &key))) {
		rc = sm_err_set(err, SM_EVERIFY, "token",
		                "issuer key %s in the trust bundle is malformed", kidhex);
		goto out;
	}
	if (sm_cose_verify(c, key) != 0) {
		rc = sm_err_set(
		    err, SM_EVERIFY, "token",
		    "the signature does not verify with issuer key %s (forged or altered)",
		    kidhex);
		goto out;
	}
genuine:
	/* The scheme is the bundle's: its issuer key speaks for that one scheme only (label.h). */
	snprintf(cl.scheme, sizeof(cl.scheme), "%s", trust->scheme);
	memcpy(cl.kid, kid, SM_KID_LEN);
	*out = cl;
out:
	free(kidhex);
	sm_key_free(key);
	sm_cose_free(c);
	return rc;
}

int sm_registry_label(sm_registry *r, const char *id, const char *model, int64_t now, char **url,
                      sm_cert **cert, sm_err *err)
{
	sm_cert *c = NULL;
	const sm_key *key = NULL;
	uint8_t *tok = NULL;
	size_t n = 0;
	sm_label_claims cl;
	int rc;

	*url = NULL;
	if (cert)
		*cert = NULL;
	if ((rc = sm_registry_get(r, id, &c, err)) || (rc = sm_label_claims_of(c, model, now, &cl, err)))
		goto out;
	if (strcmp(c->scheme, sm_registry_trust_now(r)->scheme) != 0) {
		rc = sm_err_set(err, SM_ESTATE, "scheme",
		                "certificate %s is of scheme %s, not this registry's %s", c->id, c->scheme,
		                sm_registry_trust_now(r)->scheme);
		goto out;
	}
	/* a label says "certified": none is printed for a certificate that is not active now */
	const char *status = sm_cert_status_name(c, sm_date_from_time(now));
	if (strcmp(status, "active") != 0) {
		rc = sm_err_set(err, SM_ESTATE, "id", "certificate %s is %s: no label is printed for it", c->id, status);
		goto out;
	}
	bool rotated = false; /* a label is signed by the issuer key current now, never one rotated out meanwhile */
	if ((rc = sm_registry_trust_reload(r, &rotated, err)) || (rc = sm_registry_key(r, SM_ROLE_ISSUER, &key, err)))
		goto out;
	if ((rc = sm_label_token_sign(&cl, key, &tok, &n))) {
		rc = sm_err_set(err, rc, NULL, "cannot sign the label token: %s", sm_strerror(rc));
		goto out;
	}
	if (!(*url = sm_label_url(sm_registry_trust_now(r)->origin, tok, n))) {
		rc = sm_err_set(err, SM_ENOMEM, NULL, "out of memory");
		goto out;
	}
	if (cert) {
		*cert = c;
		c = NULL;
	}
out:
	free(tok);
	sm_cert_free(c);
	return rc;
}
