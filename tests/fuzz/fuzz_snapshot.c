/* SPDX-License-Identifier: Apache-2.0 */
/* libFuzzer target: snapshots through sm_snapshot_verify with a callback, against a fixed trust bundle. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fixture.h"
#include "starmark/cose.h"
#include "starmark/status.h"

/*
 * Inputs are COSE_Sign1 snapshots; the trust bundle is the fixture's v3 (fixture.h). The certificates
 * of a snapshot are read only after its signature verifies, so each input's payload (or the input
 * itself, when it is no COSE_Sign1) is also signed with the fixture's status key and verified: the
 * fuzzer reaches the certificate reader too. SM_FUZZ_SEEDS=DIR writes the seed corpus again.
 */

struct seen {
	sm_buf facts; /* every certificate's facts, re-encoded */
	uint64_t n;
	const char *scheme;
	int stop_after; /* > 0: the callback asks to stop after this many */
};

static int on_cert(void *ctx, sm_cert *c)
{
	struct seen *s = ctx;
	if (!c || strcmp(c->scheme, s->scheme) != 0 || sm_snapshot_cert_encode(c, &s->facts) != 0)
		abort();
	sm_cert_free(c);
	s->n++;
	return s->stop_after > 0 && s->n == (uint64_t)s->stop_after ? 7 : 0;
}

static int snapshot_of(const sm_snapshot_info *h, sm_cert *const *certs, size_t n, const sm_key *k, uint8_t **out,
		       size_t *outlen)
{
	sm_buf b = SM_BUF_INIT;
	int rc = sm_snapshot_head_encode(h, &b);
	for (size_t i = 0; i < n && !rc; i++)
		rc = sm_snapshot_cert_encode(certs[i], &b);
	if (!rc)
		rc = sm_cose_sign1(k, SM_COSE_SNAPSHOT, b.data, b.len, true, out, outlen);
	sm_buf_cleanup(&b);
	return rc;
}

static void write_seeds(const char *dir)
{
	sm_snapshot_info h = { 0 };
	sm_cert *certs[3] = { fx_cert("SM-2021-000001", "MC-301V", true), fx_cert("SM-2022-000002", "CZ-T100", false),
			      fx_cert("SM-2023-000003", "SL-100", true) };
	uint8_t *cose = NULL;
	size_t n = 0;
	h.version = 7;
	h.produced_at = FX_NOW;
	h.next_update = FX_NOW + 3600;
	h.expires = FX_NOW + 7 * 86400;
	h.log_size = 45;
	memset(h.log_root, 0xcd, sizeof(h.log_root));
	snprintf(h.scheme, sizeof(h.scheme), "CCDS");
	for (int i = 0; i < 3; i++) {
		static const char *const names[] = { "empty", "three", "three-retired-key" };
		h.count = i == 0 ? 0 : 3;
		if (snapshot_of(&h, certs, h.count, i == 2 ? fx_status1 : fx_status2, &cose, &n) != 0)
			abort();
		sm_snapshot_info info;
		if ((sm_snapshot_verify(cose, n, &fx_trust[2], &info, NULL, NULL, NULL) == 0) != (i != 2))
			abort(); /* the seeds must be what they say */
		fx_put(dir, names[i], cose, n);
		free(cose);
	}
	for (int i = 0; i < 3; i++)
		sm_cert_free(certs[i]);
}

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	fx_init_seeds(write_seeds);
	return 0;
}

/* Verify; on success the head and the certificates given to the callback, re-encoded, go into *payload. */
static int verify(const uint8_t *p, size_t n, int stop_after, sm_snapshot_info *info, sm_buf *payload)
{
	struct seen s = { SM_BUF_INIT, 0, fx_trust[2].scheme, stop_after };
	sm_err err = { 0 };
	int rc = sm_snapshot_verify(p, n, &fx_trust[2], info, on_cert, &s, &err);
	if (rc == 7) {
		/* the callback stopped it: exactly then, after a good signature */
		if (stop_after <= 0 || s.n != (uint64_t)stop_after)
			abort();
	} else if (rc == 0) {
		if (s.n != info->count || strcmp(info->scheme, fx_trust[2].scheme) != 0 ||
		    (stop_after > 0 && s.n >= (uint64_t)stop_after))
			abort();
		if (payload && (sm_snapshot_head_encode(info, payload) != 0 ||
				sm_buf_append(payload, s.facts.data, s.facts.len) != 0))
			abort();
	} else if ((rc != SM_EINVAL && rc != SM_EVERIFY && rc != SM_ETOOBIG && rc != SM_ENOMEM) || !err.msg[0]) {
		abort();
	}
	sm_buf_cleanup(&s.facts);
	return rc;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	sm_snapshot_info info;
	sm_buf again = SM_BUF_INIT;
	sm_cose *c = NULL;
	size_t pn = 0;
	const uint8_t *p = data;
	int stop_after = size ? data[size - 1] % 4 : 0; /* 0: to the end; 1..3: stop there */

	/* as it comes: genuine only when signed by the fixture's keys, i.e. made by our encoders: it
	 * re-encodes to exactly the signed payload */
	if (verify(data, size, 0, &info, &again) == 0) {
		if (sm_cose_decode(data, size, &c, NULL) != 0)
			abort();
		p = sm_cose_payload(c, &pn);
		if (again.len != pn || memcmp(again.data, p, pn) != 0)
			abort();
		sm_cose_free(c);
		c = NULL;
	}
	sm_buf_cleanup(&again);

	/* its payload (or the input itself) signed by the status key: the reader behind the signature */
	pn = size;
	p = data;
	if (sm_cose_decode(data, size, &c, NULL) == 0)
		p = sm_cose_payload(c, &pn);
	uint8_t *cose = NULL;
	size_t n = 0;
	if (sm_cose_sign1(fx_status2, SM_COSE_SNAPSHOT, p, pn, true, &cose, &n) == 0) {
		sm_snapshot_info back;
		sm_buf b1 = SM_BUF_INIT, b2 = SM_BUF_INIT;
		(void)verify(cose, n, stop_after, &info, NULL);
		if (verify(cose, n, 0, &info, &b1) == 0) {
			/* what it read encodes to a snapshot that reads back the same and encodes to the same bytes */
			uint8_t *cose2 = NULL;
			size_t n2 = 0;
			if (sm_cose_sign1(fx_status2, SM_COSE_SNAPSHOT, b1.data, b1.len, true, &cose2, &n2) != 0 ||
			    verify(cose2, n2, 0, &back, &b2) != 0 || b1.len != b2.len || memcmp(b1.data, b2.data, b1.len) != 0 ||
			    back.version != info.version || back.count != info.count || back.log_size != info.log_size ||
			    back.produced_at != info.produced_at || back.expires != info.expires)
				abort();
			free(cose2);
		}
		sm_buf_cleanup(&b1);
		sm_buf_cleanup(&b2);
		free(cose);
	}
	sm_cose_free(c);
	return 0;
}
