/* SPDX-License-Identifier: Apache-2.0 */
/* Trust anchors, chains of trust bundles, and the walk from an anchor to the newest bundle. */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cbor_int.h"
#include "starmark/anchor.h"
#include "starmark/codec.h"
#include "starmark/cose.h"

/* ---- chains ---- */

void sm_trust_chain_cleanup(sm_trust_chain *c)
{
	if (!c)
		return;
	for (size_t i = 0; i < c->n; i++)
		free(c->v[i].p);
	free(c->v);
	c->v = NULL;
	c->n = 0;
}

uint64_t sm_trust_chain_newest(const sm_trust_chain *c)
{
	return c && c->n ? c->v[c->n - 1].version : 0;
}

static size_t chain_bytes(const sm_trust_chain *c)
{
	size_t total = 0;
	for (size_t i = 0; i < c->n; i++)
		total += c->v[i].n;
	return total;
}

int sm_trust_chain_add(sm_trust_chain *c, const uint8_t *p, size_t n, sm_err *err)
{
	sm_trust *t = malloc(sizeof(*t));
	uint8_t *copy = NULL;
	int rc = t ? 0 : sm_err_set(err, SM_ENOMEM, NULL, "out of memory");
	if (!rc && (c->n >= SM_TRUST_CHAIN_MAX || chain_bytes(c) + n > SM_TRUST_CHAIN_MAX_SIZE))
		rc = sm_err_set(err, SM_ETOOBIG, "trust", "a trust chain holds at most %d bundles and %u bytes",
				SM_TRUST_CHAIN_MAX, SM_TRUST_CHAIN_MAX_SIZE);
	if (!rc)
		rc = sm_trust_peek(p, n, t, err);
	if (!rc && c->n && t->version != c->v[c->n - 1].version + 1)
		rc = sm_err_set(err, SM_EINVAL, "trust", "trust bundle version %llu does not follow version %llu in the chain",
				(unsigned long long)t->version, (unsigned long long)c->v[c->n - 1].version);
	if (!rc && !(copy = malloc(n ? n : 1)))
		rc = sm_err_set(err, SM_ENOMEM, NULL, "out of memory");
	sm_trust_link *v = rc ? NULL : realloc(c->v, (c->n + 1) * sizeof(*v));
	if (!rc && !v)
		rc = sm_err_set(err, SM_ENOMEM, NULL, "out of memory");
	if (!rc) {
		memcpy(copy, p, n);
		c->v = v;
		c->v[c->n].p = copy;
		c->v[c->n].n = n;
		c->v[c->n].version = t->version;
		c->n++;
		copy = NULL;
	}
	free(copy);
	free(t);
	return rc;
}

int sm_trust_chain_encode(const sm_trust_chain *c, sm_buf *out)
{
	int rc = sm_cbor_put_array(out, c->n);
	for (size_t i = 0; i < c->n && !rc; i++)
		rc = sm_cbor_put_bytes(out, c->v[i].p, c->v[i].n);
	return rc;
}

static int decode_array(const uint8_t *p, size_t n, sm_trust_chain *out, sm_err *err)
{
	sm_cbor_rd r;
	size_t cnt = 0;
	sm_cbor_rd_init(&r, p, n);
	int rc = sm_cbor_read_array(&r, SM_TRUST_CHAIN_MAX, &cnt, "trust chain", err);
	if (!rc && cnt == 0)
		rc = sm_err_set(err, SM_EINVAL, "trust", "the trust chain is empty");
	for (size_t i = 0; i < cnt && !rc; i++) {
		const uint8_t *b;
		size_t bn;
		if (!(rc = sm_cbor_read_bytes(&r, SM_TRUST_MAX_SIZE, &b, &bn, "trust chain bundle", err)) &&
		    (rc = sm_trust_chain_add(out, b, bn, err)))
			sm_err_wrap(err, rc, "trust", "bundle %zu of the chain", i + 1);
	}
	if (!rc && r.off != r.n)
		rc = sm_err_set(err, SM_EINVAL, "trust", "unexpected bytes after the trust chain");
	return rc;
}

int sm_trust_chain_decode(const uint8_t *p, size_t n, sm_trust_chain *out, sm_err *err)
{
	memset(out, 0, sizeof(*out));
	if (n > SM_TRUST_CHAIN_MAX_SIZE)
		return sm_err_set(err, SM_ETOOBIG, "trust", "a trust chain of %zu bytes is larger than %u", n,
				  SM_TRUST_CHAIN_MAX_SIZE);
	/* a signed bundle is a COSE_Sign1 (tag 18, or an array whose second item is a map); a chain is an
	 * array of byte strings: try the bundle first when the bytes say so, else the chain */
	int rc = n && p[0] == 0xd2 ? sm_trust_chain_add(out, p, n, err) : decode_array(p, n, out, err);
	if (rc && rc != SM_ENOMEM && !(n && p[0] == 0xd2)) {
		/* an untagged COSE_Sign1 is an array too: when the bytes are one, what is wrong with it is the news */
		sm_cose *c = NULL;
		sm_trust_chain_cleanup(out);
		if (sm_cose_decode(p, n, &c, NULL) == 0)
			rc = sm_trust_chain_add(out, p, n, err);
		else
			sm_err_wrap(err, rc, "trust", "neither a trust bundle nor a chain of them");
		sm_cose_free(c);
	}
	if (rc)
		sm_trust_chain_cleanup(out);
	return rc;
}

/* ---- anchors ---- */

struct sm_anchor {
	bool fingerprint_only;
	uint8_t fingerprint[32]; /* SHA-256 of the root key */
	sm_trust_chain chain;    /* the bundles the user gave (empty for a fingerprint) */
	sm_trust newest;         /* the newest of them, verified */
};

void sm_anchor_free(sm_anchor *a)
{
	if (!a)
		return;
	sm_trust_chain_cleanup(&a->chain);
	free(a);
}

/* The 32 bytes of "HEX64" or "sha256:HEX64"; false when s is no fingerprint. */
static bool parse_fingerprint(const char *s, uint8_t out[32])
{
	if (strncmp(s, "sha256:", 7) == 0)
		s += 7;
	if (strlen(s) != 64)
		return false;
	for (size_t i = 0; i < 64; i++)
		if (!isxdigit((unsigned char)s[i]))
			return false;
	for (size_t i = 0; i < 32; i++) {
		unsigned v;
		sscanf(s + 2 * i, "%2x", &v);
		out[i] = (uint8_t)v;
	}
	return true;
}

/* The user's own bundles: the first stands alone, each next one is a link from the one before. */
static int walk_own(sm_anchor *a, sm_err *err)
{
	sm_trust *prev = malloc(sizeof(*prev));
	int rc = prev ? 0 : sm_err_set(err, SM_ENOMEM, NULL, "out of memory");
	for (size_t i = 0; i < a->chain.n && !rc; i++) {
		rc = sm_trust_verify(a->chain.v[i].p, a->chain.v[i].n, i ? prev : NULL, &a->newest, err);
		if (!rc)
			*prev = a->newest;
	}
	free(prev);
	return rc;
}

int sm_anchor_from_bytes(const uint8_t *p, size_t n, sm_anchor **out, sm_err *err)
{
	sm_anchor *a = calloc(1, sizeof(*a));
	*out = NULL;
	if (!a)
		return sm_err_set(err, SM_ENOMEM, NULL, "out of memory");
	int rc = sm_trust_chain_decode(p, n, &a->chain, err);
	if (!rc)
		rc = walk_own(a, err);
	if (!rc)
		sm_sha256(a->newest.root, SM_PUBKEY_LEN, a->fingerprint);
	if (rc) {
		sm_anchor_free(a);
		return rc;
	}
	*out = a;
	return 0;
}

int sm_anchor_load(const char *spec, sm_anchor **out, sm_err *err)
{
	uint8_t *bytes = NULL;
	size_t n = 0;
	uint8_t fp[32];
	*out = NULL;
	if (!spec || !*spec)
		return sm_err_set(err, SM_EINVAL, "trust", "the trust anchor is empty: give a trust bundle file or a root key fingerprint");
	int rc = sm_file_read(spec, SM_TRUST_CHAIN_MAX_SIZE, &bytes, &n, err);
	if (rc == SM_ENOTFOUND && parse_fingerprint(spec, fp)) {
		sm_anchor *a = calloc(1, sizeof(*a));
		if (!a)
			return sm_err_set(err, SM_ENOMEM, NULL, "out of memory");
		sm_err_clear(err);
		a->fingerprint_only = true;
		memcpy(a->fingerprint, fp, 32);
		*out = a;
		return 0;
	}
	/* an anchor was given and cannot be had: bad input, never "no anchor" (which answers unknown, or passes
	 * under a fail-open policy) */
	if (rc == SM_ENOTFOUND)
		return sm_err_set(err, SM_EINVAL, "trust",
				  "the trust anchor %.200s is neither a file nor a root key fingerprint (64 hex digits)", spec);
	if (rc)
		return rc;
	rc = sm_anchor_from_bytes(bytes, n, out, err);
	free(bytes);
	/* a provisioned anchor that does not verify is a broken input, whatever is wrong with it */
	if (rc && rc != SM_ENOMEM)
		rc = sm_err_wrap(err, SM_EINVAL, "trust", "the trust anchor %.200s", spec);
	return rc;
}

void sm_anchor_describe(const sm_anchor *a, char *buf, size_t cap)
{
	char *hex = sm_hex_encode(a->fingerprint, 32);
	if (a->fingerprint_only)
		snprintf(buf, cap, "root key fingerprint %s", hex ? hex : "");
	else
		snprintf(buf, cap, "trust bundle version %llu of %s (root key fingerprint %s)", (unsigned long long)a->newest.version,
			 a->newest.origin, hex ? hex : "");
	free(hex);
}

uint64_t sm_anchor_fetch_from(const sm_anchor *a)
{
	return a->fingerprint_only ? 1 : a->newest.version;
}

/* ---- following ---- */

/* The link of `version` among the anchor's own bundles and the walked part of the chain, or NULL. */
static const sm_trust_link *held(const sm_anchor *a, const sm_trust_chain *c, size_t upto, uint64_t version)
{
	for (size_t i = 0; i < a->chain.n; i++)
		if (a->chain.v[i].version == version)
			return &a->chain.v[i];
	for (size_t i = 0; c && i < upto; i++)
		if (c->v[i].version == version)
			return &c->v[i];
	return NULL;
}

int sm_trust_follow(const sm_anchor *a, const sm_trust_chain *chain, sm_trust *out, const sm_trust_link **newest,
		    size_t *links, sm_err *err)
{
	sm_trust *prev = malloc(sizeof(*prev));
	const sm_trust_link *top = NULL;
	size_t followed = 0, i = 0;
	char fp[65];
	bool started = !a->fingerprint_only;
	int rc = prev ? 0 : sm_err_set(err, SM_ENOMEM, NULL, "out of memory");
	if (!rc && started) {
		*out = a->newest;
		top = &a->chain.v[a->chain.n - 1];
	}
	for (i = 0; !rc && chain && i < chain->n; i++) {
		const sm_trust_link *l = &chain->v[i];
		if (!started) {
			/* a fingerprint: the first bundle naming that root and standing alone starts the walk */
			uint8_t h[32];
			if (sm_trust_peek(l->p, l->n, out, NULL) != 0)
				continue;
			sm_sha256(out->root, SM_PUBKEY_LEN, h);
			if (memcmp(h, a->fingerprint, 32) != 0)
				continue;
			if ((rc = sm_trust_verify(l->p, l->n, NULL, out, err)))
				break;
			started = true;
			top = l;
			followed++;
			continue;
		}
		if (l->version <= out->version) {
			const sm_trust_link *h = held(a, chain, i, l->version);
			if (h && (h->n != l->n || memcmp(h->p, l->p, l->n) != 0))
				rc = sm_err_set(err, SM_EVERIFY, "trust",
						"two different trust bundles claim version %llu: refused (equivocation)",
						(unsigned long long)l->version);
			continue;
		}
		if (l->version != out->version + 1) {
			rc = sm_err_set(err, SM_EVERIFY, "trust", "the trust chain jumps from version %llu to %llu",
					(unsigned long long)out->version, (unsigned long long)l->version);
			break;
		}
		*prev = *out;
		if ((rc = sm_trust_verify(l->p, l->n, prev, out, err))) {
			if (rc != SM_ENOMEM)
				rc = sm_err_wrap(err, SM_EVERIFY, "trust", "the trust chain does not follow from %s",
						 a->fingerprint_only ? "the provisioned root key" : "the provisioned trust bundle");
			break;
		}
		top = l;
		followed++;
	}
	if (!rc && !started) {
		char *hex = sm_hex_encode(a->fingerprint, 32);
		snprintf(fp, sizeof(fp), "%s", hex ? hex : "");
		free(hex);
		rc = sm_err_set(err, SM_EVERIFY, "trust", "no trust bundle offered names the provisioned root key %.16s...", fp);
	}
	if (!rc && newest)
		*newest = top;
	if (!rc && links)
		*links = followed;
	free(prev);
	return rc;
}
