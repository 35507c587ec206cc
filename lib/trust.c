/* SPDX-License-Identifier: Apache-2.0 */
/* The trust bundle: encoding, decoding, verification, key look-up. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cbor_int.h"
#include "starmark/codec.h"
#include "starmark/cose.h"
#include "starmark/trust.h"

static const char *const role_names[] = { "root", "issuer", "status", "log" };

const char *sm_role_name(int role)
{
	return role >= 0 && role <= SM_ROLE_LOG ? role_names[role] : NULL;
}

int sm_role_from_name(const char *name)
{
	for (int i = 0; i <= SM_ROLE_LOG; i++)
		if (strcmp(name, role_names[i]) == 0)
			return i;
	return -1;
}

void sm_key_fingerprint(const uint8_t pub[SM_PUBKEY_LEN], char out[65])
{
	static const char hex[] = "0123456789abcdef";
	uint8_t h[32];
	sm_sha256(pub, SM_PUBKEY_LEN, h);
	for (int i = 0; i < 32; i++) {
		out[2 * i] = hex[h[i] >> 4];
		out[2 * i + 1] = hex[h[i] & 15];
	}
	out[64] = '\0';
}

/* payload: {1: version, 2: at, 3: root, 4: [[role, pub, not_before, not_after]...], 5: scheme, 6: levels,
 *           7: origin, ? 8: root proof} */
int sm_trust_encode(const sm_trust *t, sm_buf *b)
{
	return sm_trust_encode_ex(t, true, b);
}

int sm_trust_encode_ex(const sm_trust *t, bool with_proof, sm_buf *b)
{
	int rc = 0;
	bool proof = with_proof && t->has_root_proof;
	if ((rc = sm_cbor_put_map(b, proof ? 8 : 7)) || (rc = sm_cbor_put_uint(b, 1)) || (rc = sm_cbor_put_uint(b, t->version)) ||
	    (rc = sm_cbor_put_uint(b, 2)) || (rc = sm_cbor_put_int(b, t->at)) || (rc = sm_cbor_put_uint(b, 3)) ||
	    (rc = sm_cbor_put_bytes(b, t->root, SM_PUBKEY_LEN)) || (rc = sm_cbor_put_uint(b, 4)) ||
	    (rc = sm_cbor_put_array(b, t->nkeys)))
		return rc;
	for (size_t i = 0; i < t->nkeys; i++) {
		const sm_trust_key *k = &t->keys[i];
		if ((rc = sm_cbor_put_array(b, 4)) || (rc = sm_cbor_put_uint(b, (uint64_t)k->role)) ||
		    (rc = sm_cbor_put_bytes(b, k->pub, SM_PUBKEY_LEN)) || (rc = sm_cbor_put_int(b, k->not_before)) ||
		    (rc = sm_cbor_put_int(b, k->not_after)))
			return rc;
	}
	if ((rc = sm_cbor_put_uint(b, 5)) || (rc = sm_cbor_put_str(b, t->scheme)) || (rc = sm_cbor_put_uint(b, 6)) ||
	    (rc = sm_cbor_put_uint(b, (uint64_t)t->levels)) || (rc = sm_cbor_put_uint(b, 7)) ||
	    (rc = sm_cbor_put_str(b, t->origin)))
		return rc;
	if (proof && ((rc = sm_cbor_put_uint(b, 8)) || (rc = sm_cbor_put_bytes(b, t->root_proof, SM_SIG_LEN))))
		return rc;
	return 0;
}

static int read_key(sm_cbor_rd *r, size_t i, sm_trust_key *k, sm_err *err)
{
	size_t four;
	uint64_t role;
	const uint8_t *pub;
	size_t n;
	int rc;
	if ((rc = sm_cbor_read_array(r, 4, &four, "trust key", err)))
		return rc;
	if (four != 4)
		return sm_err_set(err, SM_EINVAL, "keys", "a trust bundle key has %zu fields, not 4", four);
	if ((rc = sm_cbor_read_uint(r, &role, "role", err)) || (rc = sm_cbor_read_bytes(r, 32, &pub, &n, "key", err)) ||
	    (rc = sm_cbor_read_int(r, &k->not_before, "not_before", err)) ||
	    (rc = sm_cbor_read_int(r, &k->not_after, "not_after", err)))
		return rc;
	if (role < SM_ROLE_ISSUER || role > SM_ROLE_LOG)
		return sm_err_set(err, SM_EINVAL, "keys", "trust bundle key %zu has role %llu, not issuer (1), status (2) "
				  "or log (3)", i, (unsigned long long)role);
	if (n != SM_PUBKEY_LEN)
		return sm_err_set(err, SM_EINVAL, "keys", "trust bundle key %zu is %zu bytes, not %d", i, n, SM_PUBKEY_LEN);
	k->role = (int)role;
	memcpy(k->pub, pub, SM_PUBKEY_LEN);
	uint8_t h[32];
	sm_sha256(k->pub, SM_PUBKEY_LEN, h);
	memcpy(k->kid, h, SM_KID_LEN);
	return 0;
}

static int read_fixed_text(sm_cbor_rd *r, char *dst, size_t cap, const char *what, sm_err *err)
{
	char *s = NULL;
	int rc = sm_cbor_read_text(r, cap - 1, &s, what, err);
	if (rc)
		return rc;
	memcpy(dst, s, strlen(s) + 1);
	free(s);
	return 0;
}

int sm_trust_decode(const uint8_t *p, size_t n, sm_trust *t, sm_err *err)
{
	sm_cbor_rd r;
	sm_cbor_rd_init(&r, p, n);
	memset(t, 0, sizeof(*t));
	size_t cnt;
	uint64_t k, v;
	/* a larger cap than 7 so that a map with extra fields is told apart from one over a size cap */
	int rc = sm_cbor_read_map(&r, 64, &cnt, "trust bundle", err);
	if (!rc && cnt != 7 && cnt != 8)
		rc = sm_err_set(err, SM_EINVAL, "trust", "a trust bundle has %zu fields, not 7 (or 8 with a root proof)", cnt);
	for (uint64_t want = 1; want <= cnt && !rc; want++) {
		if ((rc = sm_cbor_read_uint(&r, &k, "key", err)))
			break;
		if (k != want) {
			rc = sm_err_set(err, SM_EINVAL, "trust", "trust bundle field %llu where %llu belongs",
					(unsigned long long)k, (unsigned long long)want);
			break;
		}
		const uint8_t *root;
		size_t rn;
		switch (k) {
		case 1: rc = sm_cbor_read_uint(&r, &t->version, "version", err); break;
		case 2: rc = sm_cbor_read_int(&r, &t->at, "at", err); break;
		case 3:
			if (!(rc = sm_cbor_read_bytes(&r, 32, &root, &rn, "root", err))) {
				if (rn != SM_PUBKEY_LEN)
					rc = sm_err_set(err, SM_EINVAL, "root", "the root key is %zu bytes, not 32", rn);
				else
					memcpy(t->root, root, rn);
			}
			break;
		case 4:
			if (!(rc = sm_cbor_read_array(&r, SM_TRUST_MAX_KEYS, &t->nkeys, "keys", err)))
				for (size_t i = 0; i < t->nkeys && !rc; i++)
					rc = read_key(&r, i, &t->keys[i], err);
			break;
		case 5: rc = read_fixed_text(&r, t->scheme, sizeof(t->scheme), "scheme", err); break;
		case 6:
			if (!(rc = sm_cbor_read_uint(&r, &v, "levels", err)) && (v < 1 || v > 9))
				rc = sm_err_set(err, SM_EINVAL, "levels", "%llu levels is out of range", (unsigned long long)v);
			t->levels = (int)v;
			break;
		case 7: rc = read_fixed_text(&r, t->origin, sizeof(t->origin), "origin", err); break;
		case 8:
			if (!(rc = sm_cbor_read_bytes(&r, SM_SIG_LEN, &root, &rn, "root_proof", err))) {
				if (rn != SM_SIG_LEN)
					rc = sm_err_set(err, SM_EINVAL, "root_proof", "the root proof is %zu bytes, not 64", rn);
				memcpy(t->root_proof, root, rn);
				t->has_root_proof = true;
			}
			break;
		}
	}
	if (!rc && r.off != r.n)
		rc = sm_err_set(err, SM_EINVAL, "trust", "unexpected bytes after the trust bundle");
	return rc;
}

/* Decode a signed bundle without verifying it: *c holds the COSE (caller frees), *out the payload. */
static int decode_signed(const uint8_t *cose, size_t n, sm_cose **c, sm_trust *out, sm_err *err)
{
	size_t pn;
	if (n > SM_TRUST_MAX_SIZE)
		return sm_err_set(err, SM_ETOOBIG, "trust", "a trust bundle of %zu bytes is larger than %u", n,
				  SM_TRUST_MAX_SIZE);
	int rc = sm_cose_decode(cose, n, c, err);
	if (rc)
		return rc;
	if (sm_cose_type(*c) != SM_COSE_TRUST)
		return sm_err_set(err, SM_EINVAL, "trust", "this is not a trust bundle (content type %llu)",
				  (unsigned long long)sm_cose_type(*c));
	const uint8_t *payload = sm_cose_payload(*c, &pn);
	return sm_trust_decode(payload, pn, out, err);
}

int sm_trust_peek(const uint8_t *cose, size_t n, sm_trust *out, sm_err *err)
{
	sm_cose *c = NULL;
	int rc = decode_signed(cose, n, &c, out, err);
	sm_cose_free(c);
	return rc;
}

/* 0 when `key` (raw) verifies the COSE signature of c. */
static bool signed_by(const sm_cose *c, const uint8_t key[SM_PUBKEY_LEN])
{
	sm_key *k = NULL;
	bool ok = sm_key_from_public(key, &k) == 0 && sm_cose_verify(c, k) == 0;
	sm_key_free(k);
	return ok;
}

/* The new root's own signature over the bundle without field 8 (a bundle that changes the root). */
static bool root_proof_ok(const sm_trust *t)
{
	sm_key *fresh = NULL;
	sm_buf body = SM_BUF_INIT;
	bool ok = t->has_root_proof && sm_key_from_public(t->root, &fresh) == 0 && sm_trust_encode_ex(t, false, &body) == 0 &&
		  sm_key_verify(fresh, body.data, body.len, t->root_proof) == 0;
	sm_key_free(fresh);
	sm_buf_cleanup(&body);
	return ok;
}

int sm_trust_verify(const uint8_t *cose, size_t n, const sm_trust *prev, sm_trust *out, sm_err *err)
{
	sm_cose *c = NULL;
	char fp[65];
	int rc = decode_signed(cose, n, &c, out, err);
	if (rc)
		goto out;
	if (!prev) {
		/* standing alone: the root it names vouches for it, by the COSE signature or, for a bundle
		 * that changed the root (signed by the root before), by the new root's proof */
		bool ok = out->has_root_proof ? root_proof_ok(out) : signed_by(c, out->root);
		sm_key_fingerprint(out->root, fp);
		if (!ok)
			rc = sm_err_set(err, SM_EVERIFY, "trust",
					"trust bundle version %llu is not signed by the root key it names (%.16s...)",
					(unsigned long long)out->version, fp);
		goto out;
	}
	if (!signed_by(c, prev->root)) {
		rc = sm_err_set(err, SM_EVERIFY, "trust", "trust bundle version %llu is not signed by the root key of version %llu",
				(unsigned long long)out->version, (unsigned long long)prev->version);
		goto out;
	}
	if (out->version <= prev->version) {
		rc = sm_err_set(err, SM_EVERIFY, "trust", "trust bundle version %llu does not follow version %llu (rollback?)",
				(unsigned long long)out->version, (unsigned long long)prev->version);
		goto out;
	}
	if (strcmp(out->origin, prev->origin) != 0 || strcmp(out->scheme, prev->scheme) != 0) {
		rc = sm_err_set(err, SM_EVERIFY, "trust", "trust bundle version %llu is of another registry (%.80s, not %.80s)",
				(unsigned long long)out->version, out->origin, prev->origin);
		goto out;
	}
	if (memcmp(prev->root, out->root, SM_PUBKEY_LEN) != 0) {
		/* a new root: the old root signed the bundle (above); the new one must have signed it too */
		if (!root_proof_ok(out))
			rc = sm_err_set(err, SM_EVERIFY, "trust",
					"trust bundle version %llu changes the root key without a valid proof by the new root",
					(unsigned long long)out->version);
	} else if (out->has_root_proof) {
		rc = sm_err_set(err, SM_EVERIFY, "trust", "trust bundle version %llu carries a root proof but keeps its root",
				(unsigned long long)out->version);
	}
out:
	sm_cose_free(c);
	return rc;
}

const sm_trust_key *sm_trust_find(const sm_trust *t, int role, const uint8_t kid[SM_KID_LEN], int64_t at)
{
	for (size_t i = 0; i < t->nkeys; i++) {
		const sm_trust_key *k = &t->keys[i];
		/* both ends inclusive: an event signed in the very second of a rotation, before it, is good */
		if (k->role == role && memcmp(k->kid, kid, SM_KID_LEN) == 0 && at >= k->not_before &&
		    (k->not_after == 0 || at <= k->not_after))
			return k;
	}
	return NULL;
}

const sm_trust_key *sm_trust_current(const sm_trust *t, int role)
{
	for (size_t i = 0; i < t->nkeys; i++)
		if (t->keys[i].role == role && t->keys[i].not_after == 0)
			return &t->keys[i];
	return NULL;
}
