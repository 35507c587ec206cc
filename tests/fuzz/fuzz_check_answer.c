/* SPDX-License-Identifier: Apache-2.0 */
/* libFuzzer target: a server's check answer (GET /v1/check JSON) judged by sm_check_answer_judge. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fixture.h"
#include "starmark/answer.h"
#include "starmark/codec.h"
#include "starmark/cose.h"

/*
 * Inputs are JSON answers; the trust is the fixture's v3, the question is RINNAI MC-301V at 1.5.
 * Whatever is accepted must be what the rules promise: a verified answer carries a statement that
 * verifies with that trust and is about the answer's certificate; an allow or a warn never stands
 * without one under a fail-closed policy; a refusal names its reason. SM_FUZZ_SEEDS=DIR writes the
 * seed corpus (tests/fuzz/corpus/check_answer) again.
 */

static void write_seeds(const char *dir)
{
	sm_statement s = { 0 };
	sm_buf b = SM_BUF_INIT;
	uint8_t *cose = NULL;
	size_t n = 0;
	char doc[8192];
	s.cert = fx_cert("SM-2021-000001", "MC-301V", true);
	s.produced_at = FX_NOW;
	s.next_update = FX_NOW + 86400;
	if (sm_statement_encode(&s, &b) != 0 || sm_cose_sign1(fx_status2, SM_COSE_STATUS, b.data, b.len, true, &cose, &n) != 0)
		abort();
	char *b64 = sm_base64url_encode(cose, n);
	snprintf(doc, sizeof(doc),
		 "{\"verdict\":\"allow\",\"reasons\":[{\"code\":\"certified\",\"message\":\"ok\"}],\"certificate\":{\"id\":"
		 "\"SM-2021-000001\"},\"statement\":\"%s\",\"produced_at\":null,\"next_update\":null}",
		 b64 ? b64 : "");
	fx_put(dir, "allow-signed", doc, strlen(doc));
	snprintf(doc, sizeof(doc), "{\"verdict\":\"deny\",\"reasons\":[{\"code\":\"unknown_model\",\"message\":\"no\"}],"
				   "\"certificate\":null,\"statement\":null}");
	fx_put(dir, "deny-unsigned", doc, strlen(doc));
	snprintf(doc, sizeof(doc), "{\"verdict\":\"allow\",\"reasons\":[],\"certificate\":null,\"statement\":null}");
	fx_put(dir, "allow-unsigned", doc, strlen(doc));
	free(b64);
	free(cose);
	sm_buf_cleanup(&b);
	sm_statement_cleanup(&s);
}

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	fx_init_seeds(write_seeds);
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	sm_check_req q = { "RINNAI", "MC-301V", "1.5", NULL, 0 };
	sm_policy p;
	sm_check_answer a;
	sm_err err = { 0 };
	sm_policy_default(&p);
	for (int given = 0; given < 2; given++) {
		memset(&err, 0, sizeof(err));
		int rc = sm_check_answer_judge((const char *)data, size, &q, &p, given, &fx_trust[2], FX_NOW, &a, &err);
		if (rc) {
			if ((rc != SM_EIO && rc != SM_EVERIFY && rc != SM_ENOMEM) || !err.msg[0])
				abort();
			continue;
		}
		if (a.res.verdict < SM_ALLOW || a.res.verdict > SM_UNKNOWN || a.kind < SM_ANSWER_VERIFIED ||
		    a.kind > SM_ANSWER_NO_STATEMENT)
			abort();
		if (a.kind != SM_ANSWER_VERIFIED && (a.res.verdict == SM_ALLOW || a.res.verdict == SM_WARN))
			abort(); /* fail-closed: no proof, no pass */
		if (a.kind == SM_ANSWER_VERIFIED) {
			uint8_t *raw = NULL;
			size_t n = 0;
			sm_statement st;
			if (!a.statement || sm_base64url_decode(a.statement, strlen(a.statement), &raw, &n, NULL) != 0 ||
			    sm_statement_verify(raw, n, &fx_trust[2], &st, NULL) != 0)
				abort();
			sm_statement_cleanup(&st);
			free(raw);
		}
		sm_check_answer_cleanup(&a);
	}
	return 0;
}
