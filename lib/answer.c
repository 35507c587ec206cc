/* SPDX-License-Identifier: Apache-2.0 */
/* Judging a server's check answer against the user's trust: its statement verified, its verdict followed. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "starmark/answer.h"
#include "starmark/codec.h"
#include "starmark/json.h"

void sm_check_answer_cleanup(sm_check_answer *a)
{
	if (!a)
		return;
	sm_check_result_cleanup(&a->res);
	sm_statement_cleanup(&a->st);
	free(a->statement);
	memset(a, 0, sizeof(*a));
}

static int verdict_of(const char *s)
{
	for (int v = SM_ALLOW; s && v <= SM_UNKNOWN; v++)
		if (strcmp(s, sm_verdict_name(v)) == 0)
			return v;
	return -1;
}

/* The server's reasons as it sent them (codes and words only; at most SM_REASONS_MAX). */
static int server_reasons(json_t *rs, sm_check_result *res, sm_err *err)
{
	json_t *x;
	size_t i;
	if (!json_is_array(rs))
		return sm_err_set(err, SM_EIO, "reasons", "the server's check answer has no list of reasons");
	json_array_foreach(rs, i, x)
	{
		const char *code = json_string_value(json_object_get(x, "code"));
		const char *msg = json_string_value(json_object_get(x, "message"));
		if (!code || !msg)
			return sm_err_set(err, SM_EIO, "reasons", "reason %zu of the server's check answer has no code or message", i);
		if (res->nreasons == SM_REASONS_MAX)
			break;
		snprintf(res->reasons[res->nreasons].code, sizeof(res->reasons[0].code), "%s", code);
		snprintf(res->reasons[res->nreasons++].message, sizeof(res->reasons[0].message), "%s", msg);
	}
	return 0;
}

/* The statement of the answer, verified, about the answer's certificate: *local the verdict from its facts. */
static int judge_statement(json_t *doc, const char *b64, const sm_check_req *q, const sm_policy *p, const sm_trust *trust,
			   int64_t now, sm_check_answer *out, sm_check_result *local, sm_err *err)
{
	uint8_t *raw = NULL;
	size_t n = 0;
	json_t *cert = json_object_get(doc, "certificate");
	const char *id = json_string_value(json_object_get(cert, "id"));
	int rc = sm_base64url_decode(b64, strlen(b64), &raw, &n, err);
	if (rc && rc != SM_ENOMEM)
		rc = sm_err_wrap(err, SM_EVERIFY, "statement", "the statement does not decode");
	if (!rc && (rc = sm_statement_verify(raw, n, trust, &out->st, err)) && rc != SM_ENOMEM)
		rc = sm_err_wrap(err, SM_EVERIFY, "statement", "the statement does NOT verify");
	if (!rc && (!id || strcmp(id, out->st.cert->id) != 0))
		rc = sm_err_set(err, SM_EVERIFY, "statement", "the statement is about %s, not the certificate of the answer (%.40s)",
				out->st.cert->id, id ? id : "none");
	/* and about the device asked: a genuine statement of another product proves nothing of this one */
	bool names = false;
	for (size_t i = 0; !rc && !names && strcmp(out->st.cert->vendor, q->vendor) == 0 && i < out->st.cert->nmodels; i++)
		names = strcmp(out->st.cert->models[i], q->model) == 0;
	if (!rc && !names)
		rc = sm_err_set(err, SM_EVERIFY, "statement", "the statement is about %s of %s, which does not name %.16s %.64s",
				out->st.cert->id, out->st.cert->vendor, q->vendor, q->model);
	if (!rc && (rc = sm_verdict_eval(q, p, &out->st.cert, 1, out->st.next_update, now, local)))
		sm_err_set(err, rc, NULL, "cannot judge the statement: %s", sm_strerror(rc));
	if (!rc && !(out->statement = strdup(b64)))
		rc = sm_err_set(err, SM_ENOMEM, NULL, "out of memory");
	free(raw);
	return rc;
}

int sm_check_answer_judge(const char *json, size_t n, const sm_check_req *q, const sm_policy *p, bool policy_given,
			  const sm_trust *trust, int64_t now, sm_check_answer *out, sm_err *err)
{
	json_error_t je;
	json_t *doc = NULL;
	sm_check_result local = { 0 };
	memset(out, 0, sizeof(*out));
	int rc = sm_check_req_fits(q, p, trust->levels, err);
	if (rc)
		return rc;
	if (n > SM_ANSWER_MAX_SIZE)
		return sm_err_set(err, SM_EIO, "answer", "the server's check answer is %zu bytes, more than %u", n,
				  SM_ANSWER_MAX_SIZE);
	if (sm_json_too_deep(json, n, SM_ANSWER_MAX_DEPTH))
		return sm_err_set(err, SM_EIO, "answer", "the server's check answer is nested too deep");
	if (!(doc = json_loadb(json, n, JSON_REJECT_DUPLICATES, &je)))
		return sm_err_set(err, SM_EIO, "answer", "the server's check answer is not JSON: %s", je.text);
	json_t *st = json_object_get(doc, "statement");
	out->server_verdict = verdict_of(json_string_value(json_object_get(doc, "verdict")));
	if (out->server_verdict < 0) {
		rc = sm_err_set(err, SM_EIO, "verdict", "the server's check answer has no verdict");
	} else if (st && !json_is_string(st) && !json_is_null(st)) {
		rc = sm_err_set(err, SM_EIO, "statement", "the statement of the server's check answer is not a string");
	} else if (!json_is_string(st)) {
		/* nothing signed: a deny needs no proof, but an allow or a warn could come from anyone on the
		 * path (a mirror, a cache, a man in the middle); a deny stands under any policy, since one with
		 * "unknown": "allow" must not pass it */
		if (out->server_verdict == SM_DENY) {
			out->kind = SM_ANSWER_UNSIGNED_DENY;
			out->res.verdict = SM_DENY;
			/* the level asked: the policy's for the category named, raised by the request's */
			int lv = sm_policy_level(p, q->category);
			out->res.required_level = q->level > lv ? q->level : lv;
			rc = server_reasons(json_object_get(doc, "reasons"), &out->res, err);
		} else {
			out->kind = SM_ANSWER_NO_STATEMENT;
			rc = sm_verdict_unknown(q, p, "no_statement",
						"the server's answer carries no signed statement: nothing proves its verdict",
						&out->res);
		}
	} else if (!(rc = judge_statement(doc, json_string_value(st), q, p, trust, now, out, &local, err))) {
		out->kind = SM_ANSWER_VERIFIED;
		if (policy_given) {
			out->res = local;
			memset(&local, 0, sizeof(local));
		} else if (local.verdict != out->server_verdict && !(local.verdict == SM_WARN && out->server_verdict == SM_ALLOW)) {
			rc = sm_err_set(err, SM_EVERIFY, "verdict", "the server's verdict (%s) does not follow from its signed statement (%s)",
					sm_verdict_name(out->server_verdict), sm_verdict_name(local.verdict));
		} else if (local.verdict == SM_WARN && out->server_verdict == SM_ALLOW) {
			/* the data aged past its next update since the server answered: the warning is the news */
			out->res = local;
			memset(&local, 0, sizeof(local));
		} else {
			/* the server's verdict and reasons, as it sent them: they follow from what it signed */
			out->res.verdict = out->server_verdict;
			out->res.required_level = local.required_level;
			rc = server_reasons(json_object_get(doc, "reasons"), &out->res, err);
		}
	}
	sm_check_result_cleanup(&local);
	json_decref(doc);
	if (rc)
		sm_check_answer_cleanup(out);
	return rc;
}
