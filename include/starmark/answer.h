/* SPDX-License-Identifier: Apache-2.0 */
/* A server's answer to a check (GET /v1/check), judged against the user's trust: what a client may act on. */
#ifndef STARMARK_ANSWER_H
#define STARMARK_ANSWER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "starmark/error.h"
#include "starmark/status.h"
#include "starmark/trust.h"
#include "starmark/verdict.h"

/* A check answer is refused above this size, or nested deeper than SM_ANSWER_MAX_DEPTH. */
#define SM_ANSWER_MAX_SIZE (256u * 1024u)
#define SM_ANSWER_MAX_DEPTH 8

/* What the answer proved. */
enum sm_answer_kind {
	SM_ANSWER_VERIFIED = 0,       /* its statement verifies and is about its certificate */
	SM_ANSWER_UNSIGNED_DENY = 1,  /* no statement, and a deny: a deny needs no proof */
	SM_ANSWER_NO_STATEMENT = 2,   /* no statement and not a deny: nothing proves it (no usable data) */
};

typedef struct sm_check_answer {
	int kind;
	int server_verdict;       /* as the server said it */
	sm_check_result res;      /* the verdict to act on, with its reasons (owned) */
	sm_statement st;          /* SM_ANSWER_VERIFIED: the verified statement (owned) */
	char *statement;          /* SM_ANSWER_VERIFIED: the base64url statement as sent (owned) */
} sm_check_answer;

/**
 * Judge the JSON answer `json` (n bytes) of a server to the check `q` under the policy `p`, with the
 * trust `trust` the user's anchor reached, at `now`. The rules:
 * - the request must fit the scheme of `trust` (sm_check_req_fits): else SM_EINVAL naming the field;
 * - with a statement, it must verify with `trust` and be about the answer's certificate (else
 *   SM_EVERIFY); the verdict acted on is then computed here from the statement's facts: with
 *   `policy_given` it is that verdict, with its reasons; without, the server's verdict must follow
 *   from the facts (an allow may be a warn here, as the data ages) and is acted on with its reasons;
 *   a server verdict that does not follow is SM_EVERIFY;
 * - without a statement a deny stands (under any policy: a fail-open policy must not pass it); any
 *   other verdict is no usable data: sm_verdict_unknown(q, p, "no_statement", ...).
 * On success *out holds the result (sm_check_answer_cleanup frees it). An answer that is not a check
 * answer (not JSON, over the caps, no verdict, wrong types) is SM_EIO: the server or the path failed,
 * which is neither a verdict nor the user's bad input. SM_ENOMEM.
 */
int sm_check_answer_judge(const char *json, size_t n, const sm_check_req *q, const sm_policy *p, bool policy_given,
			  const sm_trust *trust, int64_t now, sm_check_answer *out, sm_err *err);
void sm_check_answer_cleanup(sm_check_answer *a);

#endif
