/* SPDX-License-Identifier: Apache-2.0 */
/* CBOR encodings of events (signed into the log) and of certificate state (stored); see schema/payloads.cddl. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cbor_int.h"
#include "starmark/record.h"
#include "starmark/version.h"

/* Map keys, shared by the event payload and the stored state (schema/payloads.cddl). */
enum {
	K_TYPE = 1, K_ID = 2, K_AT = 3, K_REASON = 4, K_EFFECTIVE = 5,
	K_SCHEME = 10, K_LEVEL = 11, K_VENDOR = 12, K_VENDOR_NAME = 13, K_PRODUCT = 14, K_MODELS = 15,
	K_CATEGORY = 16, K_FIRMWARE = 17, K_REGISTERED = 18, K_EXPIRES = 19, K_SUPPORT_END = 20,
	K_REQUIREMENTS = 21, K_URL = 22, K_VERSIONS = 23, K_SCHEME_REF = 24,
	K_STATUS = 30, K_HISTORY = 31,
	K_MAX = 32,
};

/* Entries are written in ascending key order into `body`, counted in `n`; the map head goes in front. */
typedef struct enc {
	sm_buf body;
	size_t n;
	int rc;
} enc;

static void key(enc *e, uint64_t k)
{
	if (!e->rc)
		e->rc = sm_cbor_put_uint(&e->body, k);
	e->n++;
}

static void put_str(enc *e, uint64_t k, const char *s)
{
	if (!s)
		return;
	key(e, k);
	if (!e->rc)
		e->rc = sm_cbor_put_str(&e->body, s);
}

static void put_int(enc *e, uint64_t k, int64_t v)
{
	key(e, k);
	if (!e->rc)
		e->rc = sm_cbor_put_int(&e->body, v);
}

static void put_date(enc *e, uint64_t k, sm_date d)
{
	if (d != SM_DATE_NONE)
		put_int(e, k, d);
}

static void put_strv(enc *e, uint64_t k, char *const *v, size_t n)
{
	if (n == 0)
		return;
	key(e, k);
	if (!e->rc)
		e->rc = sm_cbor_put_array(&e->body, n);
	for (size_t i = 0; i < n && !e->rc; i++)
		e->rc = sm_cbor_put_str(&e->body, v[i]);
}

static void put_record_fields(enc *e, const sm_cert *c)
{
	put_str(e, K_SCHEME, c->scheme);
	put_int(e, K_LEVEL, c->level);
	put_str(e, K_VENDOR, c->vendor);
	put_str(e, K_VENDOR_NAME, c->vendor_name);
	put_str(e, K_PRODUCT, c->product);
	put_strv(e, K_MODELS, c->models, c->nmodels);
	put_str(e, K_CATEGORY, c->category);
	put_str(e, K_FIRMWARE, c->firmware);
	put_date(e, K_REGISTERED, c->registered);
	put_date(e, K_EXPIRES, c->expires);
	put_date(e, K_SUPPORT_END, c->support_end);
	put_str(e, K_REQUIREMENTS, c->requirements);
	put_str(e, K_URL, c->url);
}

static int finish(enc *e, sm_buf *out)
{
	int rc = e->rc;
	if (!rc)
		rc = sm_cbor_put_map(out, e->n);
	if (!rc)
		rc = sm_buf_append(out, e->body.data, e->body.len);
	sm_buf_cleanup(&e->body);
	return rc;
}

int sm_event_encode(const sm_event *ev, sm_buf *out)
{
	enc e = { SM_BUF_INIT, 0, 0 };
	put_int(&e, K_TYPE, ev->type);
	put_str(&e, K_ID, ev->id);
	put_int(&e, K_AT, ev->at);
	put_str(&e, K_REASON, ev->reason);
	/* absent unless set: events without it encode as before the field existed */
	if (ev->effective != SM_TIME_NONE)
		put_int(&e, K_EFFECTIVE, ev->effective);
	if (ev->type == SM_EV_ISSUE && ev->cert) {
		put_record_fields(&e, ev->cert);
		put_str(&e, K_SCHEME_REF, ev->cert->scheme_ref);
	} else {
		put_strv(&e, K_MODELS, ev->models, ev->nmodels);
		put_str(&e, K_FIRMWARE, ev->firmware);
		put_date(&e, K_EXPIRES, ev->expires);
		put_date(&e, K_SUPPORT_END, ev->support_end);
		put_str(&e, K_REQUIREMENTS, ev->requirements);
		put_str(&e, K_URL, ev->url);
		put_strv(&e, K_VERSIONS, ev->versions, ev->nversions);
	}
	return finish(&e, out);
}

int sm_cert_encode(const sm_cert *c, sm_buf *out)
{
	enc e = { SM_BUF_INIT, 0, 0 };
	put_str(&e, K_ID, c->id);
	put_record_fields(&e, c);
	put_strv(&e, K_VERSIONS, c->revoked, c->nrevoked);
	put_str(&e, K_SCHEME_REF, c->scheme_ref);
	put_int(&e, K_STATUS, c->status);
	key(&e, K_HISTORY);
	if (!e.rc)
		e.rc = sm_cbor_put_array(&e.body, c->nhistory);
	for (size_t i = 0; i < c->nhistory && !e.rc; i++) {
		const sm_history *h = &c->history[i];
		if (!(e.rc = sm_cbor_put_array(&e.body, 4)) && !(e.rc = sm_cbor_put_uint(&e.body, (uint64_t)h->type)) &&
		    !(e.rc = sm_cbor_put_int(&e.body, h->at)))
			e.rc = h->reason ? sm_cbor_put_str(&e.body, h->reason) : sm_buf_append(&e.body, "\xf6", 1);
		if (!e.rc)
			e.rc = sm_cbor_put_uint(&e.body, h->index);
	}
	return finish(&e, out);
}

/* ---- decoding ---- */

static int read_id(sm_cbor_rd *r, char id[SM_ID_MAX + 1], sm_err *err)
{
	char *s = NULL;
	int rc = sm_cbor_read_text(r, SM_ID_MAX, &s, "id", err);
	if (rc)
		return rc;
	memcpy(id, s, strlen(s) + 1);
	free(s);
	return 0;
}

static int read_fixed(sm_cbor_rd *r, char *dst, size_t max, const char *what, sm_err *err)
{
	char *s = NULL;
	int rc = sm_cbor_read_text(r, max, &s, what, err);
	if (rc)
		return rc;
	memcpy(dst, s, strlen(s) + 1);
	free(s);
	return 0;
}


static int read_date(sm_cbor_rd *r, sm_date *d, const char *what, sm_err *err)
{
	int64_t v;
	int rc = sm_cbor_read_int(r, &v, what, err);
	if (rc)
		return rc;
	if (v < 0 || v > 3000000) /* 1970 .. past year 9999 */
		return sm_err_set(err, SM_EINVAL, what, "%s: day number %lld is out of range", what, (long long)v);
	*d = (sm_date)v;
	return 0;
}

/* Read one record field (keys 10..22, 24) into `c`; false `handled` when the key is not one. */
static int read_record_field(sm_cbor_rd *r, uint64_t k, sm_cert *c, bool *handled, sm_err *err)
{
	int64_t v;
	int rc = 0;
	*handled = true;
	switch (k) {
	case K_SCHEME: return read_fixed(r, c->scheme, SM_SCHEME_MAX, "scheme", err);
	case K_LEVEL:
		if ((rc = sm_cbor_read_int(r, &v, "level", err)))
			return rc;
		if (v < 1 || v > SM_LEVELS_MAX)
			return sm_err_set(err, SM_EINVAL, "level", "level %lld out of range", (long long)v);
		c->level = (int)v;
		return 0;
	case K_VENDOR: return read_fixed(r, c->vendor, SM_VENDOR_MAX, "vendor", err);
	case K_VENDOR_NAME: return sm_cbor_read_text(r, SM_NAME_MAX, &c->vendor_name, "vendor_name", err);
	case K_PRODUCT: return sm_cbor_read_text(r, SM_NAME_MAX, &c->product, "product", err);
	case K_MODELS: return sm_cbor_read_strv(r, SM_MODELS_MAX, SM_MODEL_MAX, &c->models, &c->nmodels, "models", err);
	case K_CATEGORY: return sm_cbor_read_text(r, SM_CATEGORY_MAX, &c->category, "category", err);
	case K_FIRMWARE: return sm_cbor_read_text(r, SM_FWSPEC_MAX, &c->firmware, "firmware", err);
	case K_REGISTERED: return read_date(r, &c->registered, "registered", err);
	case K_EXPIRES: return read_date(r, &c->expires, "expires", err);
	case K_SUPPORT_END: return read_date(r, &c->support_end, "support_end", err);
	case K_REQUIREMENTS: return sm_cbor_read_text(r, SM_REQUIREMENTS_MAX, &c->requirements, "requirements", err);
	case K_URL: return sm_cbor_read_text(r, SM_URL_MAX, &c->url, "url", err);
	case K_SCHEME_REF: return sm_cbor_read_text(r, SM_SCHEME_REF_MAX, &c->scheme_ref, "scheme_ref", err);
	default: *handled = false; return 0;
	}
}

/* Read a map head and loop over its uint keys, refusing duplicates and out-of-order keys. */
static int next_key(sm_cbor_rd *r, uint64_t *last, uint64_t *k, sm_err *err)
{
	int rc = sm_cbor_read_uint(r, k, "key", err);
	if (rc)
		return rc;
	if (*k >= K_MAX || (*last != UINT64_MAX && *k <= *last))
		return sm_err_set(err, SM_EINVAL, NULL, "CBOR map key %llu is unknown, repeated or out of order",
				  (unsigned long long)*k);
	*last = *k;
	return 0;
}

static int trailing(const sm_cbor_rd *r, sm_err *err)
{
	return r->off == r->n ? 0 : sm_err_set(err, SM_EINVAL, NULL, "%zu unexpected bytes after the payload", r->n - r->off);
}

int sm_event_decode(const uint8_t *p, size_t n, sm_event **out, sm_err *err)
{
	sm_cbor_rd r;
	sm_cbor_rd_init(&r, p, n);
	sm_event *e = sm_event_new(0);
	sm_cert *c = sm_cert_new();
	size_t cnt = 0;
	uint64_t last = UINT64_MAX, k, v;
	int rc = (!e || !c) ? SM_ENOMEM : sm_cbor_read_map(&r, K_MAX, &cnt, "event", err);
	bool record = false;
	for (size_t i = 0; i < cnt && !rc; i++) {
		if ((rc = next_key(&r, &last, &k, err)))
			break;
		bool handled = false;
		switch (k) {
		case K_TYPE:
			/* range first: a cast of a wider value would alias a known type */
			rc = sm_cbor_read_uint(&r, &v, "type", err);
			if (!rc && (v < SM_EV_ISSUE || v > SM_EV_RENEW))
				rc = sm_err_set(err, SM_EINVAL, "type", "unknown event type %llu",
						(unsigned long long)v);
			if (!rc)
				e->type = (int)v;
			continue;
		case K_ID: rc = read_id(&r, e->id, err); continue;
		case K_AT: rc = sm_cbor_read_int(&r, &e->at, "at", err); continue;
		case K_REASON: rc = sm_cbor_read_text(&r, SM_REASON_MAX, &e->reason, "reason", err); continue;
		case K_EFFECTIVE:
			rc = sm_cbor_read_int(&r, &e->effective, "effective", err);
			if (!rc && e->effective < 0)
				rc = sm_err_set(err, SM_EINVAL, "effective", "effective time %lld is before 1970",
						(long long)e->effective);
			continue;
		case K_VERSIONS:
			/* the issue encoding has no versions: accepting them would sign what is then dropped */
			if (e->type == SM_EV_ISSUE)
				break;
			rc = sm_cbor_read_strv(&r, SM_REVOKED_MAX, SM_VERSION_MAX, &e->versions, &e->nversions, "versions", err);
			continue;
		default: break;
		}
		/* record fields: the whole record for issue, the changed fields for the others */
		if (e->type == SM_EV_ISSUE) {
			rc = read_record_field(&r, k, c, &handled, err);
			record = true;
		} else if (k == K_MODELS) {
			rc = sm_cbor_read_strv(&r, SM_MODELS_MAX, SM_MODEL_MAX, &e->models, &e->nmodels, "models", err);
			handled = true;
		} else if (k == K_FIRMWARE) {
			rc = sm_cbor_read_text(&r, SM_FWSPEC_MAX, &e->firmware, "firmware", err);
			handled = true;
		} else if (k == K_EXPIRES) {
			rc = read_date(&r, &e->expires, "expires", err);
			handled = true;
		} else if (k == K_SUPPORT_END) {
			rc = read_date(&r, &e->support_end, "support_end", err);
			handled = true;
		} else if (k == K_REQUIREMENTS) {
			rc = sm_cbor_read_text(&r, SM_REQUIREMENTS_MAX, &e->requirements, "requirements", err);
			handled = true;
		} else if (k == K_URL) {
			rc = sm_cbor_read_text(&r, SM_URL_MAX, &e->url, "url", err);
			handled = true;
		}
		if (!rc && !handled)
			rc = sm_err_set(err, SM_EINVAL, NULL, "event: key %llu is not allowed here", (unsigned long long)k);
	}
	if (!rc)
		rc = trailing(&r, err);
	if (!rc && (!sm_event_name(e->type) || !e->id[0]))
		rc = sm_err_set(err, SM_EINVAL, "event", "event without a type or certificate id");
	if (!rc && e->type == SM_EV_ISSUE) {
		if (!record)
			rc = sm_err_set(err, SM_EINVAL, "event", "issue event without a record");
		else if (!c->level) /* the encoder always writes a level, and 0 does not decode */
			rc = sm_err_set(err, SM_EINVAL, "level", "issue event: the record has no level");
		snprintf(c->id, sizeof(c->id), "%s", e->id);
		e->cert = c;
		c = NULL;
	}
	sm_cert_free(c);
	if (rc) {
		sm_event_free(e);
		return rc;
	}
	*out = e;
	return 0;
}

static int read_history(sm_cbor_rd *r, sm_cert *c, sm_err *err)
{
	size_t cnt, four;
	int rc = sm_cbor_read_array(r, SM_HISTORY_MAX, &cnt, "history", err);
	if (rc)
		return rc;
	c->history = cnt ? calloc(cnt, sizeof(*c->history)) : NULL;
	if (cnt && !c->history)
		return SM_ENOMEM;
	for (size_t i = 0; i < cnt; i++) {
		sm_history *h = &c->history[i];
		uint64_t t;
		sm_cbor_item it;
		if ((rc = sm_cbor_read_array(r, 4, &four, "history", err)))
			return rc;
		if (four != 4)
			return sm_err_set(err, SM_EINVAL, "history", "history entry %zu has %zu fields, not 4", i, four);
		if ((rc = sm_cbor_read_uint(r, &t, "history", err)) || (rc = sm_cbor_read_int(r, &h->at, "history", err)))
			return rc;
		if (t < SM_EV_ISSUE || t > SM_EV_RENEW)
			return sm_err_set(err, SM_EINVAL, "history", "history entry %zu: unknown event type %llu", i,
					  (unsigned long long)t);
		h->type = (int)t;
		c->nhistory = i + 1;
		sm_cbor_rd save = *r;
		if ((rc = sm_cbor_next(r, &it, err)))
			return rc;
		if (it.type != SM_CBOR_NULL) {
			*r = save;
			if ((rc = sm_cbor_read_text(r, SM_REASON_MAX, &h->reason, "history", err)))
				return rc;
		}
		if ((rc = sm_cbor_read_uint(r, &h->index, "history", err)))
			return rc;
	}
	return 0;
}

int sm_cert_decode(const uint8_t *p, size_t n, sm_cert **out, sm_err *err)
{
	sm_cbor_rd r;
	sm_cbor_rd_init(&r, p, n);
	sm_cert *c = sm_cert_new();
	size_t cnt = 0;
	uint64_t last = UINT64_MAX, k;
	int64_t v;
	int rc = !c ? SM_ENOMEM : sm_cbor_read_map(&r, K_MAX, &cnt, "certificate", err);
	for (size_t i = 0; i < cnt && !rc; i++) {
		bool handled = false;
		if ((rc = next_key(&r, &last, &k, err)))
			break;
		if (k == K_ID) {
			rc = read_id(&r, c->id, err);
		} else if (k == K_VERSIONS) {
			rc = sm_cbor_read_strv(&r, SM_REVOKED_MAX, SM_VERSION_MAX, &c->revoked, &c->nrevoked, "revoked", err);
		} else if (k == K_STATUS) {
			if (!(rc = sm_cbor_read_int(&r, &v, "status", err)) && (v < 0 || v > SM_STATUS_REVOKED))
				rc = sm_err_set(err, SM_EINVAL, "status", "status %lld out of range", (long long)v);
			c->status = (int)v;
		} else if (k == K_HISTORY) {
			rc = read_history(&r, c, err);
		} else if (!(rc = read_record_field(&r, k, c, &handled, err)) && !handled) {
			rc = sm_err_set(err, SM_EINVAL, NULL, "certificate: key %llu is not allowed here", (unsigned long long)k);
		}
	}
	if (!rc)
		rc = trailing(&r, err);
	if (!rc && (!c->id[0] || !c->level || !c->vendor_name || !c->product || !c->firmware ||
		    !c->nmodels))
		rc = sm_err_set(err, SM_EINVAL, "certificate", "stored certificate is missing required fields");
	if (rc) {
		sm_cert_free(c);
		return rc;
	}
	*out = c;
	return 0;
}
