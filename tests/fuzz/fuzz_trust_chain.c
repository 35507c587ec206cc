/* SPDX-License-Identifier: Apache-2.0 */
/* libFuzzer target: trust chains (a server's /v1/trust/chain, a cache's trust.chain, an anchor file) decoded and followed. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fixture.h"
#include "starmark/anchor.h"
#include "starmark/codec.h"

/*
 * Inputs are encoded chains (or single bundles). Each decoded chain is re-encoded to the same bytes
 * when it came as an array, followed from the fixture's v1 bundle and from its root's fingerprint, and
 * taken as an anchor file. Whatever succeeds must be what the rules promise: a walk never ends below
 * where it started, and a chain that is the fixture's own reaches v3. Run with SM_FUZZ_SEEDS=DIR to
 * write the seed corpus (tests/fuzz/corpus/trust_chain) again.
 */

static sm_anchor *from_v1, *from_fp;

static void write_seeds(const char *dir)
{
	sm_trust_chain c = { 0 };
	sm_buf b = SM_BUF_INIT;
	for (int i = 0; i < 3; i++)
		if (sm_trust_chain_add(&c, fx_trust_signed[i], fx_trust_signed_len[i], NULL) != 0)
			abort();
	if (sm_trust_chain_encode(&c, &b) != 0)
		abort();
	fx_put(dir, "v1-v3", b.data, b.len);
	fx_put(dir, "v3-alone", fx_trust_signed[2], fx_trust_signed_len[2]);
	fx_put(dir, "empty", "\x80", 1);
	sm_buf_cleanup(&b);
	sm_trust_chain_cleanup(&c);
}

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	fx_init_seeds(write_seeds);
	char fp[65];
	sm_key_fingerprint(fx_trust[0].root, fp);
	if (sm_anchor_from_bytes(fx_trust_signed[0], fx_trust_signed_len[0], &from_v1, NULL) != 0 ||
	    sm_anchor_load(fp, &from_fp, NULL) != 0)
		abort();
	return 0;
}

static void follow(const sm_anchor *a, const sm_trust_chain *c, uint64_t start)
{
	static sm_trust out;
	sm_err err = { 0 };
	const sm_trust_link *top = NULL;
	int rc = sm_trust_follow(a, c, &out, &top, NULL, &err);
	if (rc) {
		if ((rc != SM_EVERIFY && rc != SM_ENOMEM) || !err.msg[0])
			abort();
		return;
	}
	if (out.version < start || !top || top->version != out.version)
		abort();
	/* the fixture's own chain, whole, reaches its newest bundle */
	if (c->n == 3 && c->v[2].n == fx_trust_signed_len[2] && memcmp(c->v[2].p, fx_trust_signed[2], c->v[2].n) == 0 &&
	    c->v[1].n == fx_trust_signed_len[1] && memcmp(c->v[1].p, fx_trust_signed[1], c->v[1].n) == 0 && out.version != 3)
		abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	sm_trust_chain c = { 0 };
	sm_err err = { 0 };
	int rc = sm_trust_chain_decode(data, size, &c, &err);
	if (rc) {
		if ((rc != SM_EINVAL && rc != SM_ETOOBIG && rc != SM_ENOMEM) || !err.msg[0] || c.n || c.v)
			abort();
	} else {
		for (size_t i = 1; i < c.n; i++)
			if (c.v[i].version != c.v[i - 1].version + 1)
				abort();
		if (size && data[0] != 0xd2 && c.n > 1) {
			sm_buf b = SM_BUF_INIT;
			if (sm_trust_chain_encode(&c, &b) != 0 || b.len != size || memcmp(b.data, data, size) != 0)
				abort();
			sm_buf_cleanup(&b);
		}
		follow(from_v1, &c, 1);
		follow(from_fp, &c, 1);
	}
	sm_trust_chain_cleanup(&c);
	/* the same bytes as a user's anchor file: it stands alone, or it is refused with a reason */
	sm_anchor *a = NULL;
	memset(&err, 0, sizeof(err));
	rc = sm_anchor_from_bytes(data, size, &a, &err);
	if (rc && (!err.msg[0] || a))
		abort();
	sm_anchor_free(a);
	return 0;
}
