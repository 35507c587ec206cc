/* SPDX-License-Identifier: Apache-2.0 */
/* A home checked against a registry: each device as `check` answers it, with its statement, and the log state as evidence. */
#include <stdlib.h>
#include <string.h>

#include "registry_int.h"
#include "starmark/checkpoint.h"
#include "starmark/codec.h"

/* Attempts of sm_registry_home_check before it gives up on evidence the answers exactly reflect. */
#define HOME_CHECK_ATTEMPTS 3

int sm_registry_home_device(void *ctx, const sm_check_req *q, const sm_policy *p, sm_check_result *res,
			    char **statement, sm_err *err)
{
	const sm_registry_home *h = ctx;
	uint8_t *st = NULL;
	size_t n = 0;
	int rc = sm_registry_check(h->reg, q, p, h->now, res, err);
	/* a statement still being produced (after a bulk import) is no statement, as GET /v1/check says */
	if (!rc && res->cert && sm_registry_statement(h->reg, res->cert->id, &st, &n, NULL) == 0) {
		if (!(*statement = sm_base64url_encode(st, n))) {
			sm_check_result_cleanup(res);
			rc = sm_err_set(err, SM_ENOMEM, NULL, "out of memory");
		}
		free(st);
	}
	return rc;
}

int sm_registry_home_evidence(sm_registry *r, sm_home_result *res, sm_err *err)
{
	sm_checkpoint cp;
	const sm_key *logkey = NULL;
	char *text = NULL;
	sm_txn *t = NULL;
	memset(&cp, 0, sizeof(cp));
	/* the size and its root from one read: the two always belong together */
	int rc = sm_store_begin(r->store, false, &t, err);
	if (!rc && !(rc = sm_store_log_size(t, &cp.size)))
		rc = sm_store_log_root(t, cp.size, cp.root);
	sm_store_abort(t);
	if (rc)
		return err && err->msg[0] ? rc : sm_err_set(err, rc, NULL, "cannot read the log: %s", sm_strerror(rc));
	free(res->checkpoint_text);
	res->checkpoint_text = NULL;
	res->have_checkpoint = true;
	res->checkpoint_size = cp.size;
	memcpy(res->checkpoint_root, cp.root, SM_HASH_LEN);
	/* the signed note of that very state, when the log key can be had (an encrypted one may not be) */
	snprintf(cp.origin, sizeof(cp.origin), "%s", sm_registry_trust_now(r)->origin);
	if (sm_registry_key(r, SM_ROLE_LOG, &logkey, NULL) == 0 && sm_checkpoint_sign(&cp, logkey, &text) == 0)
		res->checkpoint_text = text;
	return 0;
}

int sm_registry_home_check(sm_registry *r, const sm_home *h, const sm_policy *p, int64_t now, sm_home_result *out,
			   sm_err *err)
{
	sm_registry_home ctx = { r, now };
	int rc = 0;
	for (int attempt = 1; attempt <= HOME_CHECK_ATTEMPTS; attempt++) {
		uint64_t before = 0;
		if ((rc = sm_registry_log_size(r, &before, err)))
			return rc;
		if ((rc = sm_home_check(h, p, sm_registry_home_device, &ctx, sm_registry_trust(r), now, out, err)))
			return rc;
		if ((rc = sm_registry_home_evidence(r, out, err))) {
			sm_home_result_cleanup(out);
			return rc;
		}
		/* the log did not grow while the devices were read: the answers are those of this checkpoint */
		if (out->checkpoint_size == before)
			return 0;
		if (attempt < HOME_CHECK_ATTEMPTS)
			sm_home_result_cleanup(out);
	}
	/* it grew during every attempt: no evidence rather than a checkpoint the answers may not reflect */
	out->have_checkpoint = false;
	free(out->checkpoint_text);
	out->checkpoint_text = NULL;
	return 0;
}
