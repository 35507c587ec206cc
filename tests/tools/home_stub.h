/* SPDX-License-Identifier: Apache-2.0 */
/* Tests' source of a home check's answers: fixed certificates chosen by the model number. */
#ifndef STARMARK_TESTS_HOME_STUB_H
#define STARMARK_TESTS_HOME_STUB_H

#include <stdint.h>

#include "starmark/home.h"

/*
 * An sm_home_check_fn that answers as a registry holding one fixed certificate per model would,
 * through the real verdict rules (sm_verdict_eval / sm_verdict_unknown) under the caller's policy.
 * `ctx` points at an int64_t: the time of the check. What the model number says:
 *   "NOCERT"  anywhere: no certificate (deny, unknown_model);
 *   "OFFLINE" anywhere: no usable data (sm_verdict_unknown, "no_data");
 *   "-L1", "-L2", "-L3": the certificate's level (2 otherwise);
 *   "REVOKED": the certificate is revoked; "EOL": its support ends 30 days after the check.
 * The certificate covers firmware >=2.0 (so "1.0" must be updated), is of scheme CCDS, its product
 * name is Japanese and long ("ホームセキュリティ対応スマート機器 " + the model), its support ends five
 * years after the check unless "EOL". Never a statement.
 */
int sm_stub_check(void *ctx, const sm_check_req *q, const sm_policy *p, sm_check_result *res, char **statement,
                  sm_err *err);

/* A fixed checkpoint as evidence on `r`: size 4242, a root of bytes 0..31, a signed note. */
int sm_stub_checkpoint(sm_home_result *r);

#endif
