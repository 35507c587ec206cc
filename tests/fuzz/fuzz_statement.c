/* SPDX-License-Identifier: Apache-2.0 */
/* libFuzzer target: status statements through sm_statement_verify (fixed trust bundle) and sm_statement_decode. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fixture.h"
#include "starmark/cose.h"
#include "starmark/status.h"

/*
 * Inputs are COSE_Sign1 statements; the trust bundle is the fixture's v3 (fixture.h). Run the target
 * with SM_FUZZ_SEEDS=DIR to write the seed corpus (tests/fuzz/corpus/statement) again.
 */

static int sign_statement(const sm_key *k, const sm_statement *s, uint8_t **out, size_t *n)
{
	sm_buf b = SM_BUF_INIT;
	int rc = sm_statement_encode(s, &b);
	if (!rc)
		rc = sm_cose_sign1(k, SM_COSE_STATUS, b.data, b.len, true, out, n);
	sm_buf_cleanup(&b);
	return rc;
}

static void write_seeds(const char *dir)
{
	static const struct {
		const char *name;
		bool full;
		int64_t at;
		int key; /* 1: S1 (valid FX_T1..FX_T2), 2: S2 (from FX_T2) */
	} seeds[] = {
		{ "current", true, FX_NOW, 2 },          /* genuine */
		{ "suspended-no-dates", false, FX_NOW, 2 }, /* genuine, nulls for the optional fields */
		{ "before-rotation", true, 1650000000, 1 },  /* genuine: S1 was valid then */
		{ "retired-key", true, FX_NOW, 1 },      /* not genuine: S1 retired at FX_T2 */
	};
	for (size_t i = 0; i < sizeof(seeds) / sizeof(seeds[0]); i++) {
		sm_statement s = { 0 };
		uint8_t *cose = NULL;
		size_t n = 0;
		s.cert = fx_cert("SM-2021-000001", "MC-301V", seeds[i].full);
		s.produced_at = seeds[i].at;
		s.next_update = seeds[i].at + 86400;
		s.log_size = 42;
		memset(s.log_root, 0xab, sizeof(s.log_root));
		if (sign_statement(seeds[i].key == 1 ? fx_status1 : fx_status2, &s, &cose, &n) != 0)
			abort();
		sm_statement out;
		int rc = sm_statement_verify(cose, n, &fx_trust[2], &out, NULL);
		if ((rc == 0) != (seeds[i].key == 2 || seeds[i].at < FX_T2)) /* the seeds must be what they say */
			abort();
		if (rc == 0)
			sm_statement_cleanup(&out);
		fx_put(dir, seeds[i].name, cose, n);
		free(cose);
		sm_statement_cleanup(&s);
	}
}

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	fx_init_seeds(write_seeds);
	return 0;
}

static void same_statement(const sm_statement *a, const sm_statement *b)
{
	const sm_cert *x = a->cert, *y = b->cert;
	if (!x || !y || a->produced_at != b->produced_at || a->next_update != b->next_update ||
	    a->log_size != b->log_size || memcmp(a->log_root, b->log_root, SM_HASH_LEN) != 0 ||
	    strcmp(x->id, y->id) != 0 || strcmp(x->scheme, y->scheme) != 0 || strcmp(x->vendor, y->vendor) != 0 ||
	    x->level != y->level || x->status != y->status || x->nmodels != y->nmodels ||
	    x->nrevoked != y->nrevoked || x->registered != y->registered || x->expires != y->expires ||
	    x->support_end != y->support_end || strcmp(x->firmware, y->firmware) != 0 ||
	    strcmp(x->product, y->product) != 0 || strcmp(x->vendor_name, y->vendor_name) != 0 ||
	    !x->category != !y->category || (x->category && strcmp(x->category, y->category) != 0))
		abort();
	for (size_t i = 0; i < x->nmodels; i++)
		if (strcmp(x->models[i], y->models[i]) != 0)
			abort();
	for (size_t i = 0; i < x->nrevoked; i++)
		if (strcmp(x->revoked[i], y->revoked[i]) != 0)
			abort();
}

/* Whatever the decoder accepts encodes, decodes again to the same statement, and encodes to the same bytes. */
static void decode_round_trip(const uint8_t *p, size_t n)
{
	sm_statement s, back;
	sm_err err = { 0 };
	int rc = sm_statement_decode(p, n, &s, &err);
	if (rc) {
		if ((rc != SM_EINVAL && rc != SM_ETOOBIG && rc != SM_ENOMEM) || s.cert || !err.msg[0])
			abort();
		return;
	}
	sm_buf b1 = SM_BUF_INIT, b2 = SM_BUF_INIT;
	if (!s.cert || sm_statement_encode(&s, &b1) != 0 || sm_statement_decode(b1.data, b1.len, &back, &err) != 0)
		abort();
	same_statement(&s, &back);
	if (sm_statement_encode(&back, &b2) != 0 || b1.len != b2.len || memcmp(b1.data, b2.data, b1.len) != 0)
		abort();
	sm_buf_cleanup(&b1);
	sm_buf_cleanup(&b2);
	sm_statement_cleanup(&s);
	sm_statement_cleanup(&back);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	sm_statement s;
	sm_err err = { 0 };
	sm_cose *c = NULL;
	size_t pn = 0;
	int rc = sm_statement_verify(data, size, &fx_trust[2], &s, &err);
	if (rc == 0) {
		/* genuine: only our encoder made it, so the statement encodes to exactly the signed payload */
		sm_buf b = SM_BUF_INIT;
		if (!s.cert || strcmp(s.cert->scheme, fx_trust[2].scheme) != 0 || sm_cose_decode(data, size, &c, NULL) != 0 ||
		    sm_statement_encode(&s, &b) != 0)
			abort();
		const uint8_t *p = sm_cose_payload(c, &pn);
		if (b.len != pn || memcmp(b.data, p, pn) != 0)
			abort();
		sm_buf_cleanup(&b);
		sm_cose_free(c);
		c = NULL;
		sm_statement_cleanup(&s);
		/* and one changed bit of the signature (the last item) makes it not genuine */
		uint8_t *bad = malloc(size);
		if (!bad)
			return 0;
		memcpy(bad, data, size);
		bad[size - 1] ^= 0x01;
		if (sm_statement_verify(bad, size, &fx_trust[2], &s, &err) != SM_EVERIFY)
			abort();
		free(bad);
	} else if ((rc != SM_EINVAL && rc != SM_EVERIFY && rc != SM_ETOOBIG && rc != SM_ENOMEM) || !err.msg[0]) {
		abort();
	}
	/* the payload decoder on its own, behind no signature */
	decode_round_trip(data, size);
	if (sm_cose_decode(data, size, &c, NULL) == 0) {
		const uint8_t *p = sm_cose_payload(c, &pn);
		decode_round_trip(p, pn);
		sm_cose_free(c);
	}
	return 0;
}
