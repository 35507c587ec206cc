/* SPDX-License-Identifier: Apache-2.0 */
/* libFuzzer target: trust bundles through sm_trust_decode and sm_trust_verify, with and without a previous bundle. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fixture.h"
#include "starmark/cose.h"

/*
 * Inputs are signed bundles (COSE_Sign1); the anchors are the fixture's chain v1 -> v2 -> v3 (fixture.h).
 * SM_FUZZ_SEEDS=DIR writes the seed corpus (the chain, and two bundles that must not verify) again.
 */

static void write_seeds(const char *dir)
{
	static const char *const names[] = { "v1", "v2-status-rotated", "v3-root-rotated" };
	for (int i = 0; i < 3; i++)
		fx_put(dir, names[i], fx_trust_signed[i], fx_trust_signed_len[i]);
	/* v3 without the new root's proof, and a v4 signed by the retired root R1 */
	sm_trust t = fx_trust[2];
	sm_buf b = SM_BUF_INIT;
	uint8_t *cose = NULL;
	size_t n = 0;
	t.has_root_proof = false;
	if (sm_trust_encode(&t, &b) != 0 || sm_cose_sign1(fx_root1, SM_COSE_TRUST, b.data, b.len, true, &cose, &n) != 0)
		abort();
	fx_put(dir, "v3-no-root-proof", cose, n);
	free(cose);
	sm_buf_cleanup(&b);
	t = fx_trust[2];
	t.version = 4;
	t.has_root_proof = false;
	if (sm_trust_encode(&t, &b) != 0 || sm_cose_sign1(fx_root1, SM_COSE_TRUST, b.data, b.len, true, &cose, &n) != 0)
		abort();
	fx_put(dir, "v4-old-root", cose, n);
	free(cose);
	sm_buf_cleanup(&b);
}

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	fx_init_seeds(write_seeds);
	return 0;
}

static void same_trust(const sm_trust *a, const sm_trust *b)
{
	if (a->version != b->version || a->at != b->at || memcmp(a->root, b->root, SM_PUBKEY_LEN) != 0 ||
	    strcmp(a->scheme, b->scheme) != 0 || a->levels != b->levels || strcmp(a->origin, b->origin) != 0 ||
	    a->nkeys != b->nkeys || a->has_root_proof != b->has_root_proof ||
	    (a->has_root_proof && memcmp(a->root_proof, b->root_proof, SM_SIG_LEN) != 0))
		abort();
	for (size_t i = 0; i < a->nkeys; i++) {
		const sm_trust_key *x = &a->keys[i], *y = &b->keys[i];
		if (x->role != y->role || memcmp(x->pub, y->pub, SM_PUBKEY_LEN) != 0 ||
		    memcmp(x->kid, y->kid, SM_KID_LEN) != 0 || x->not_before != y->not_before || x->not_after != y->not_after)
			abort();
	}
}

/* Whatever decodes encodes, decodes again to the same bundle, and encodes to the same bytes. */
static void decode_round_trip(const uint8_t *p, size_t n)
{
	static sm_trust t, back;
	sm_err err = { 0 };
	int rc = sm_trust_decode(p, n, &t, &err);
	if (rc) {
		if ((rc != SM_EINVAL && rc != SM_ETOOBIG && rc != SM_ENOMEM) || !err.msg[0])
			abort();
		return;
	}
	sm_buf b1 = SM_BUF_INIT, b2 = SM_BUF_INIT;
	if (sm_trust_encode(&t, &b1) != 0 || sm_trust_decode(b1.data, b1.len, &back, &err) != 0)
		abort();
	same_trust(&t, &back);
	if (sm_trust_encode(&back, &b2) != 0 || b1.len != b2.len || memcmp(b1.data, b2.data, b1.len) != 0)
		abort();
	sm_buf_cleanup(&b1);
	sm_buf_cleanup(&b2);
}

/*
 * sm_trust_verify standing alone (prev NULL) or as a link. On success: what the rules promise (a link
 * has a greater version, and a proof exactly when the root changes), the bundle encodes to exactly its
 * signed payload (only our encoder signed it), and a changed bit of its COSE signature makes it fail
 * (except for a root change standing alone: the new root's proof vouches for it, not that signature).
 */
static void verify(const uint8_t *data, size_t size, const sm_trust *prev)
{
	static sm_trust out;
	sm_err err = { 0 };
	int rc = sm_trust_verify(data, size, prev, &out, &err);
	if (rc) {
		if ((rc != SM_EINVAL && rc != SM_EVERIFY && rc != SM_ETOOBIG && rc != SM_ENOMEM) || !err.msg[0])
			abort();
		return;
	}
	if (prev && out.version <= prev->version)
		abort();
	if (prev && (memcmp(out.root, prev->root, SM_PUBKEY_LEN) != 0) != out.has_root_proof)
		abort();
	sm_cose *c = NULL;
	sm_buf b = SM_BUF_INIT;
	size_t pn = 0;
	if (sm_cose_decode(data, size, &c, NULL) != 0 || sm_trust_encode(&out, &b) != 0)
		abort();
	const uint8_t *p = sm_cose_payload(c, &pn);
	if (b.len != pn || memcmp(b.data, p, pn) != 0)
		abort();
	sm_buf_cleanup(&b);
	sm_cose_free(c);
	if (!prev && out.has_root_proof)
		return;
	uint8_t *bad = malloc(size);
	if (!bad)
		return;
	memcpy(bad, data, size);
	bad[size - 1] ^= 0x01;
	if (sm_trust_verify(bad, size, prev, &out, &err) != SM_EVERIFY)
		abort();
	free(bad);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	verify(data, size, NULL);         /* a bundle standing alone: an anchor */
	verify(data, size, &fx_trust[0]); /* walking the chain from v1 */
	verify(data, size, &fx_trust[1]); /* and from v2 */
	decode_round_trip(data, size);
	sm_cose *c = NULL;
	if (sm_cose_decode(data, size, &c, NULL) == 0) {
		size_t pn = 0;
		const uint8_t *p = sm_cose_payload(c, &pn);
		decode_round_trip(p, pn);
		sm_cose_free(c);
	}
	return 0;
}
