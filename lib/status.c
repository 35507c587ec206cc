/* SPDX-License-Identifier: Apache-2.0 */
/* Status statements and snapshots, the format: encoding, decoding, verifying (the registry produces them). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cbor_int.h"
#include "starmark/cose.h"
#include "starmark/keys.h"
#include "starmark/status.h"

void sm_status_timing_default(sm_status_timing *t)
{
	t->statement_validity = 24 * 3600;
	t->refresh_before = 6 * 3600;
	t->snapshot_validity = 3600;
	t->snapshot_lifetime = 7 * 24 * 3600;
}

void sm_statement_cleanup(sm_statement *s)
{
	sm_cert_free(s->cert);
	s->cert = NULL;
}

/*
 * facts = [id, level, status, vendor, vendor_name, product, [models], firmware, [revoked],
 *          registered, expires / null, support_end / null, category / null]
 * shared by statements and snapshot entries.
 */
#define FACTS_LEN 13

static int put_opt_date(sm_buf *b, sm_date d)
{
	return d == SM_DATE_NONE ? sm_buf_append(b, "\xf6", 1) : sm_cbor_put_uint(b, (uint64_t)d);
}

static int put_strv(sm_buf *b, char *const *v, size_t n)
{
	int rc = sm_cbor_put_array(b, n);
	for (size_t i = 0; i < n && !rc; i++)
		rc = sm_cbor_put_str(b, v[i]);
	return rc;
}

static int put_facts(sm_buf *b, const sm_cert *c)
{
	int rc;
	if ((rc = sm_cbor_put_array(b, FACTS_LEN)) || (rc = sm_cbor_put_str(b, c->id)) ||
	    (rc = sm_cbor_put_uint(b, (uint64_t)c->level)) || (rc = sm_cbor_put_uint(b, (uint64_t)c->status)) ||
	    (rc = sm_cbor_put_str(b, c->vendor)) || (rc = sm_cbor_put_str(b, c->vendor_name)) ||
	    (rc = sm_cbor_put_str(b, c->product)) || (rc = put_strv(b, c->models, c->nmodels)) ||
	    (rc = sm_cbor_put_str(b, c->firmware)) || (rc = put_strv(b, c->revoked, c->nrevoked)) ||
	    (rc = sm_cbor_put_uint(b, (uint64_t)c->registered)) || (rc = put_opt_date(b, c->expires)) ||
	    (rc = put_opt_date(b, c->support_end)))
		return rc;
	return c->category ? sm_cbor_put_str(b, c->category) : sm_buf_append(b, "\xf6", 1);
}

int sm_snapshot_cert_encode(const sm_cert *c, sm_buf *out)
{
	return put_facts(out, c);
}

/*
 * snapshot = {1: version, 2: produced_at, 3: next_update, 4: expires, 5: log size, 6: log root,
 *             7: scheme, 8: [* facts]}
 */
int sm_snapshot_head_encode(const sm_snapshot_info *h, sm_buf *b)
{
	int rc;
	if ((rc = sm_cbor_put_map(b, 8)) || (rc = sm_cbor_put_uint(b, 1)) || (rc = sm_cbor_put_uint(b, h->version)) ||
	    (rc = sm_cbor_put_uint(b, 2)) || (rc = sm_cbor_put_int(b, h->produced_at)) || (rc = sm_cbor_put_uint(b, 3)) ||
	    (rc = sm_cbor_put_int(b, h->next_update)) || (rc = sm_cbor_put_uint(b, 4)) ||
	    (rc = sm_cbor_put_int(b, h->expires)) || (rc = sm_cbor_put_uint(b, 5)) ||
	    (rc = sm_cbor_put_uint(b, h->log_size)) || (rc = sm_cbor_put_uint(b, 6)) ||
	    (rc = sm_cbor_put_bytes(b, h->log_root, SM_HASH_LEN)) || (rc = sm_cbor_put_uint(b, 7)) ||
	    (rc = sm_cbor_put_str(b, h->scheme)) || (rc = sm_cbor_put_uint(b, 8)))
		return rc;
	return sm_cbor_put_array(b, h->count);
}

/* An optional day (uint) or null. */
static int read_opt_date(sm_cbor_rd *r, sm_date *d, const char *what, sm_err *err)
{
	sm_cbor_rd save = *r;
	sm_cbor_item it;
	int rc = sm_cbor_next(r, &it, err);
	if (rc)
		return rc;
	if (it.type == SM_CBOR_NULL) {
		*d = SM_DATE_NONE;
		return 0;
	}
	if (it.type != SM_CBOR_UINT || it.u > 3000000) {
		*r = save;
		return sm_err_set(err, SM_EINVAL, what, "%s: not a day number", what);
	}
	*d = (sm_date)it.u;
	return 0;
}

static int read_facts(sm_cbor_rd *r, sm_cert **out, sm_err *err)
{
	size_t n;
	uint64_t level, status, reg;
	char *s = NULL;
	sm_cert *c = sm_cert_new();
	int rc = c ? sm_cbor_read_array(r, FACTS_LEN, &n, "facts", err) : SM_ENOMEM;
	if (!rc && n != FACTS_LEN)
		rc = sm_err_set(err, SM_EINVAL, "facts", "certificate facts have %zu fields, not %d", n, FACTS_LEN);
	if (!rc && !(rc = sm_cbor_read_text(r, SM_ID_MAX, &s, "id", err))) {
		memcpy(c->id, s, strlen(s) + 1);
		free(s);
		s = NULL;
	}
	if (!rc && !(rc = sm_cbor_read_uint(r, &level, "level", err)) && (level < 1 || level > SM_LEVELS_MAX))
		rc = sm_err_set(err, SM_EINVAL, "level", "level %llu out of range", (unsigned long long)level);
	if (!rc && !(rc = sm_cbor_read_uint(r, &status, "status", err)) && status > SM_STATUS_REVOKED)
		rc = sm_err_set(err, SM_EINVAL, "status", "status %llu out of range", (unsigned long long)status);
	if (!rc && !(rc = sm_cbor_read_text(r, SM_VENDOR_MAX, &s, "vendor", err))) {
		memcpy(c->vendor, s, strlen(s) + 1);
		free(s);
		s = NULL;
	}
	if (!rc)
		rc = sm_cbor_read_text(r, SM_NAME_MAX, &c->vendor_name, "vendor_name", err);
	if (!rc)
		rc = sm_cbor_read_text(r, SM_NAME_MAX, &c->product, "product", err);
	if (!rc)
		rc = sm_cbor_read_strv(r, SM_MODELS_MAX, SM_MODEL_MAX, &c->models, &c->nmodels, "models", err);
	if (!rc)
		rc = sm_cbor_read_text(r, 4096, &c->firmware, "firmware", err);
	if (!rc)
		rc = sm_cbor_read_strv(r, SM_REVOKED_MAX, 64, &c->revoked, &c->nrevoked, "revoked", err);
	if (!rc && !(rc = sm_cbor_read_uint(r, &reg, "registered", err)) && reg > 3000000)
		rc = sm_err_set(err, SM_EINVAL, "registered", "registration day out of range");
	if (!rc)
		rc = read_opt_date(r, &c->expires, "expires", err);
	if (!rc)
		rc = read_opt_date(r, &c->support_end, "support_end", err);
	if (!rc) {
		sm_cbor_rd save = *r;
		sm_cbor_item it;
		if (!(rc = sm_cbor_next(r, &it, err)) && it.type != SM_CBOR_NULL) {
			*r = save;
			rc = sm_cbor_read_text(r, SM_CATEGORY_MAX, &c->category, "category", err);
		}
	}
	if (rc) {
		sm_cert_free(c);
		return rc;
	}
	c->level = (int)level;
	c->status = (int)status;
	c->registered = (sm_date)reg;
	c->facts_only = true;
	*out = c;
	return 0;
}

/* statement = {1: facts, 2: produced_at, 3: next_update, 4: log size, 5: log root, 6: scheme} */
int sm_statement_encode(const sm_statement *s, sm_buf *b)
{
	int rc;
	if ((rc = sm_cbor_put_map(b, 6)) || (rc = sm_cbor_put_uint(b, 1)) || (rc = put_facts(b, s->cert)) ||
	    (rc = sm_cbor_put_uint(b, 2)) || (rc = sm_cbor_put_int(b, s->produced_at)) || (rc = sm_cbor_put_uint(b, 3)) ||
	    (rc = sm_cbor_put_int(b, s->next_update)) || (rc = sm_cbor_put_uint(b, 4)) ||
	    (rc = sm_cbor_put_uint(b, s->log_size)) || (rc = sm_cbor_put_uint(b, 5)) ||
	    (rc = sm_cbor_put_bytes(b, s->log_root, SM_HASH_LEN)) || (rc = sm_cbor_put_uint(b, 6)))
		return rc;
	return sm_cbor_put_str(b, s->cert->scheme);
}

int sm_statement_decode(const uint8_t *p, size_t n, sm_statement *s, sm_err *err)
{
	sm_cbor_rd r;
	size_t cnt;
	uint64_t k;
	const uint8_t *root;
	size_t rn;
	char *scheme = NULL;
	memset(s, 0, sizeof(*s));
	sm_cbor_rd_init(&r, p, n);
	int rc = sm_cbor_read_map(&r, 6, &cnt, "statement", err);
	if (!rc && cnt != 6)
		rc = sm_err_set(err, SM_EINVAL, "statement", "a statement has %zu fields, not 6", cnt);
	for (uint64_t want = 1; want <= 6 && !rc; want++) {
		if ((rc = sm_cbor_read_uint(&r, &k, "key", err)))
			break;
		if (k != want) {
			rc = sm_err_set(err, SM_EINVAL, "statement", "statement field %llu where %llu belongs",
					(unsigned long long)k, (unsigned long long)want);
			break;
		}
		switch (k) {
		case 1: rc = read_facts(&r, &s->cert, err); break;
		case 2: rc = sm_cbor_read_int(&r, &s->produced_at, "produced_at", err); break;
		case 3: rc = sm_cbor_read_int(&r, &s->next_update, "next_update", err); break;
		case 4: rc = sm_cbor_read_uint(&r, &s->log_size, "log_size", err); break;
		case 5:
			if (!(rc = sm_cbor_read_bytes(&r, SM_HASH_LEN, &root, &rn, "log_root", err))) {
				if (rn != SM_HASH_LEN)
					rc = sm_err_set(err, SM_EINVAL, "log_root", "the log root is %zu bytes", rn);
				else
					memcpy(s->log_root, root, SM_HASH_LEN);
			}
			break;
		case 6:
			if (!(rc = sm_cbor_read_text(&r, SM_SCHEME_MAX, &scheme, "scheme", err)))
				snprintf(s->cert->scheme, sizeof(s->cert->scheme), "%s", scheme);
			free(scheme);
			break;
		}
	}
	if (!rc && r.off != r.n)
		rc = sm_err_set(err, SM_EINVAL, "statement", "unexpected bytes after the statement");
	if (rc)
		sm_statement_cleanup(s);
	return rc;
}

/* The status key of the bundle that signed `c` and was valid at `at`. */
/*
 * The status key of the bundle that signed `c` and was valid at `at`. *retired (may be NULL) receives
 * that key's not_after (0 while it is current): what a retired key signed holds at most until it was
 * retired, so that a leaked key rotated out cannot sign backdated answers that stay good for long.
 */
static int check_status_sig(const sm_cose *c, const sm_trust *trust, int64_t at, const char *what, int64_t *retired,
			    sm_err *err)
{
	uint8_t kid[SM_KID_LEN];
	const sm_trust_key *k = sm_cose_kid(c, kid) ? sm_trust_find(trust, SM_ROLE_STATUS, kid, at) : NULL;
	sm_key *pub = NULL;
	if (!k)
		return sm_err_set(err, SM_EVERIFY, what, "%s is signed by no status key of the trust bundle valid then", what);
	int rc = sm_key_from_public(k->pub, &pub);
	if (!rc)
		rc = sm_cose_verify(c, pub);
	sm_key_free(pub);
	if (!rc && retired)
		*retired = k->not_after;
	return rc ? sm_err_set(err, SM_EVERIFY, what, "the signature of the %s does not verify", what) : 0;
}

/* What a retired key signed is good until the key was retired, at the latest. */
static void cap_at(int64_t *t, int64_t retired)
{
	if (retired && *t > retired)
		*t = retired;
}

int sm_statement_verify(const uint8_t *cose, size_t n, const sm_trust *trust, sm_statement *out, sm_err *err)
{
	sm_cose *c = NULL;
	int rc;
	if (n > SM_STATEMENT_MAX)
		return sm_err_set(err, SM_ETOOBIG, "statement", "a statement of %zu bytes is too large", n);
	if ((rc = sm_cose_decode(cose, n, &c, err)))
		return rc;
	size_t pn;
	const uint8_t *p = sm_cose_payload(c, &pn);
	if (sm_cose_type(c) != SM_COSE_STATUS)
		rc = sm_err_set(err, SM_EVERIFY, "statement", "this is not a status statement");
	int64_t retired = 0;
	if (sm_cose_type(c) == SM_COSE_STATUS && !(rc = sm_statement_decode(p, pn, out, err))) {
		if ((rc = check_status_sig(c, trust, out->produced_at, "statement", &retired, err)))
			sm_statement_cleanup(out);
		else
			cap_at(&out->next_update, retired);
	}
	if (!rc && strcmp(out->cert->scheme, trust->scheme) != 0) {
		rc = sm_err_set(err, SM_EVERIFY, "statement", "the statement is of scheme %s, the trust bundle of %s",
				out->cert->scheme, trust->scheme);
		sm_statement_cleanup(out);
	}
	sm_cose_free(c);
	return rc;
}

int sm_snapshot_verify(const uint8_t *cose, size_t n, const sm_trust *trust, sm_snapshot_info *info,
		       sm_snapshot_cert_fn fn, void *ctx, sm_err *err)
{
	sm_cose *c = NULL;
	int64_t retired = 0;
	int rc;
	memset(info, 0, sizeof(*info));
	if (n > SM_SNAPSHOT_MAX)
		return sm_err_set(err, SM_ETOOBIG, "snapshot", "a snapshot of %zu bytes is too large", n);
	if ((rc = sm_cose_decode(cose, n, &c, err)))
		return rc;
	if (sm_cose_type(c) != SM_COSE_SNAPSHOT) {
		sm_cose_free(c);
		return sm_err_set(err, SM_EVERIFY, "snapshot", "this is not a snapshot");
	}
	size_t pn, cnt;
	const uint8_t *p = sm_cose_payload(c, &pn);
	sm_cbor_rd r;
	uint64_t k;
	sm_cbor_rd_init(&r, p, pn);
	rc = sm_cbor_read_map(&r, 8, &cnt, "snapshot", err);
	if (!rc && cnt != 8)
		rc = sm_err_set(err, SM_EINVAL, "snapshot", "a snapshot has %zu fields, not 8", cnt);
	for (uint64_t want = 1; want <= 7 && !rc; want++) {
		const uint8_t *root;
		size_t rn;
		char *scheme = NULL;
		if ((rc = sm_cbor_read_uint(&r, &k, "key", err)))
			break;
		if (k != want) {
			rc = sm_err_set(err, SM_EINVAL, "snapshot", "snapshot field %llu where %llu belongs",
					(unsigned long long)k, (unsigned long long)want);
			break;
		}
		switch (k) {
		case 1: rc = sm_cbor_read_uint(&r, &info->version, "version", err); break;
		case 2: rc = sm_cbor_read_int(&r, &info->produced_at, "produced_at", err); break;
		case 3: rc = sm_cbor_read_int(&r, &info->next_update, "next_update", err); break;
		case 4: rc = sm_cbor_read_int(&r, &info->expires, "expires", err); break;
		case 5: rc = sm_cbor_read_uint(&r, &info->log_size, "log_size", err); break;
		case 6:
			if (!(rc = sm_cbor_read_bytes(&r, SM_HASH_LEN, &root, &rn, "log_root", err)) && rn == SM_HASH_LEN)
				memcpy(info->log_root, root, SM_HASH_LEN);
			else if (!rc)
				rc = sm_err_set(err, SM_EINVAL, "log_root", "the log root is %zu bytes", rn);
			break;
		case 7:
			if (!(rc = sm_cbor_read_text(&r, SM_SCHEME_MAX, &scheme, "scheme", err)))
				snprintf(info->scheme, sizeof(info->scheme), "%s", scheme);
			free(scheme);
			break;
		}
	}
	size_t ncerts = 0;
	if (!rc && !(rc = sm_cbor_read_uint(&r, &k, "key", err)) && k != 8)
		rc = sm_err_set(err, SM_EINVAL, "snapshot", "snapshot field %llu where 8 belongs", (unsigned long long)k);
	if (!rc)
		rc = sm_cbor_read_array(&r, SIZE_MAX, &ncerts, "certificates", err);
	/* the signature first: nothing of an unverified snapshot reaches the caller */
	if (!rc)
		rc = check_status_sig(c, trust, info->produced_at, "snapshot", &retired, err);
	if (!rc) {
		cap_at(&info->next_update, retired);
		cap_at(&info->expires, retired);
	}
	if (!rc && strcmp(info->scheme, trust->scheme) != 0)
		rc = sm_err_set(err, SM_EVERIFY, "snapshot", "the snapshot is of scheme %s, the trust bundle of %s",
				info->scheme, trust->scheme);
	for (size_t i = 0; i < ncerts && !rc; i++) {
		sm_cert *cert = NULL;
		if ((rc = read_facts(&r, &cert, err)))
			break;
		snprintf(cert->scheme, sizeof(cert->scheme), "%s", info->scheme);
		info->count++;
		if (fn && (rc = fn(ctx, cert)) != 0)
			break;
		if (!fn)
			sm_cert_free(cert);
	}
	if (!rc && r.off != r.n)
		rc = sm_err_set(err, SM_EINVAL, "snapshot", "unexpected bytes after the snapshot's certificates");
	sm_cose_free(c);
	return rc;
}
