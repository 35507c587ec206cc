/* SPDX-License-Identifier: Apache-2.0 */
/* The verdict on a label: genuine or not, its claims against the record, and its certificate's status now. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "starmark/json.h"
#include "starmark/label.h"
#include "starmark/verdict.h"

static const char *const verdict_names[] = {
    [SM_LABEL_GENUINE_IN_FORCE] = "genuine-in-force",
    [SM_LABEL_NOT_GENUINE] = "not-genuine",
    [SM_LABEL_CLAIMS_DIFFER] = "claims-differ",
    [SM_LABEL_NOT_IN_FORCE] = "not-in-force",
    [SM_LABEL_UNKNOWN_SIGNER] = "unknown-signer",
    [SM_LABEL_STATUS_UNKNOWN] = "status-unknown",
    [SM_LABEL_UNREADABLE] = "unreadable",
};

const char *sm_label_verdict_name(int verdict)
{
	return verdict >= SM_LABEL_GENUINE_IN_FORCE && verdict <= SM_LABEL_UNREADABLE ? verdict_names[verdict] : NULL;
}

int sm_label_match(const sm_label_claims *cl, const sm_cert *c, sm_err *err)
{
	char a[11], b[11], q[80];
	if (strcmp(cl->id, c->id) != 0)
		return sm_err_set(err, SM_EVERIFY, "id", "the label is of certificate %s, the record is %s", cl->id,
		                  c->id);
	if (strcmp(cl->scheme, c->scheme) != 0)
		return sm_err_set(err, SM_EVERIFY, "scheme", "the label is of scheme '%s', certificate %s of scheme %s",
		                  cl->scheme, c->id, c->scheme);
	if (strcmp(cl->vendor, c->vendor) != 0)
		return sm_err_set(err, SM_EVERIFY, "vendor", "the label names vendor %s, certificate %s vendor %s",
		                  cl->vendor, c->id, c->vendor);
	size_t i = 0;
	while (i < c->nmodels && strcmp(c->models[i], cl->model) != 0)
		i++;
	if (i == c->nmodels) {
		sm_err_quote(q, sizeof(q), cl->model, strlen(cl->model));
		return sm_err_set(err, SM_EVERIFY, "model",
		                  "the label names model '%s', which is not a model of certificate %s", q, c->id);
	}
	if (cl->level != c->level)
		return sm_err_set(err, SM_EVERIFY, "level", "the label says level %d, certificate %s is level %d",
		                  cl->level, c->id, c->level);
	if (cl->registered != c->registered) {
		sm_date_format(cl->registered, a);
		sm_date_format(c->registered, b);
		return sm_err_set(err, SM_EVERIFY, "registered",
		                  "the label says registered %s, certificate %s was registered %s", a, c->id, b);
	}
	return 0;
}

void sm_label_result_cleanup(sm_label_result *r)
{
	sm_cert_free(r->cert);
	r->cert = NULL;
}

int sm_label_lookup_registry(void *ctx, const char *id, sm_label_record *out, sm_err *err)
{
	sm_err e = {0};
	memset(out, 0, sizeof(*out));
	snprintf(out->source, sizeof(out->source), "the registry");
	int rc = sm_registry_get(ctx, id, &out->cert, &e);
	if (rc == SM_ENOTFOUND)
		return 0;
	if (rc) {
		out->cert = NULL;
		return sm_err_set(err, rc, e.field, "%s", e.msg[0] ? e.msg : sm_strerror(rc));
	}
	return 0;
}

static void say(sm_label_result *res, int verdict, const char *field, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
static void say(sm_label_result *res, int verdict, const char *field, const char *fmt, ...)
{
	va_list ap;
	res->verdict = verdict;
	snprintf(res->field, sizeof(res->field), "%s", field ? field : "");
	va_start(ap, fmt);
	vsnprintf(res->reason, sizeof(res->reason), fmt, ap);
	va_end(ap);
}

/* Whether the token verifies against src->trust: 0 genuine (res->claims), else the verdict is said. */
static int genuine(const uint8_t *tok, size_t n, const sm_label_source *src, sm_label_result *res)
{
	sm_err e = {0};
	int rc = sm_label_verify(tok, n, src->trust, &res->claims, &e);
	if (rc == 0 || rc == SM_ENOMEM)
		return rc;
	if (rc == SM_EINVAL || rc == SM_ETOOBIG)
		say(res, SM_LABEL_UNREADABLE, e.field, "%s", e.msg);
	else if (rc == SM_ENOTFOUND && src->newest)
		/* the registry's newest bundle holds every issuer key it ever had, with its validity */
		say(res, SM_LABEL_NOT_GENUINE, e.field,
		    "no issuer key of the registry's newest trust bundle (%s version %llu) signed it: forged, altered, "
		    "or another registry's",
		    src->trust->scheme, (unsigned long long)src->trust->version);
	else if (rc == SM_ENOTFOUND)
		say(res, SM_LABEL_UNKNOWN_SIGNER, e.field, "%s", e.msg);
	else
		say(res, SM_LABEL_NOT_GENUINE, e.field, "%s", e.msg);
	return SM_EVERIFY;
}

/* A genuine label and what the source knows of its certificate: the rest of the verdict. */
static void judge_status(const sm_label_record *rec, int64_t now, sm_label_result *res)
{
	const sm_label_claims *cl = &res->claims;
	sm_policy pol;
	sm_err e = {0};
	char t[21];
	if (!rec->cert) {
		say(res, SM_LABEL_STATUS_UNKNOWN, "id", "%s has no record of certificate %s: its status is unknown",
		    res->source, cl->id);
		return;
	}
	if (sm_label_match(cl, rec->cert, &e) != 0) {
		say(res, SM_LABEL_CLAIMS_DIFFER, e.field, "the label's claims differ from the record in %s: %s",
		    res->source, e.msg);
		return;
	}
	res->status = sm_cert_status_name(rec->cert, sm_date_from_time(now));
	if (rec->expires && now > rec->expires) {
		sm_time_format(rec->expires, t);
		say(res, SM_LABEL_STATUS_UNKNOWN, "status", "the status data (%s) expired at %s: get fresh data (sync)",
		    res->source, t);
		return;
	}
	sm_policy_default(&pol);
	if (sm_policy_stale(&pol, rec->next_update, now)) {
		sm_time_format(rec->next_update, t);
		say(res, SM_LABEL_STATUS_UNKNOWN, "status",
		    "the status data (%s) is past its next update (%s) by more than the offline grace of %lld hours: "
		    "get fresh data (sync)",
		    res->source, t, (long long)(pol.offline_grace / 3600));
		return;
	}
	res->past_next_update = rec->next_update != 0 && now > rec->next_update;
	if (strcmp(res->status, "active") != 0) {
		say(res, SM_LABEL_NOT_IN_FORCE, "status",
		    "the label is genuine, but certificate %s is %s (%s): it no longer certifies the product", cl->id,
		    res->status, res->source);
		return;
	}
	res->verdict = SM_LABEL_GENUINE_IN_FORCE;
	res->in_force = true;
}

int sm_label_judge(const char *text, size_t len, const sm_label_source *src, int64_t now, sm_label_result *res,
                   sm_err *err)
{
	uint8_t *tok = NULL;
	size_t n = 0;
	sm_err e = {0};
	sm_label_record rec;
	memset(res, 0, sizeof(*res));
	memset(&rec, 0, sizeof(rec));
	int rc = sm_label_parse(text, len, &tok, &n, &e);
	if (rc == SM_EINVAL) {
		say(res, SM_LABEL_UNREADABLE, e.field, "%s", e.msg);
		return 0;
	}
	/* a host longer than the buffer is longer than any origin: not the registry's */
	char host[sizeof(res->host)] = "";
	bool long_host = !rc && sm_label_host(text, len, host, sizeof(host)) == SM_ETOOBIG;
	/* shown escaped: a code's host is anyone's text (control bytes could rewrite the warning on a terminal) */
	sm_log_escape(res->host, sizeof(res->host), host, strlen(host));
	if (!rc)
		rc = genuine(tok, n, src, res);
	free(tok);
	if (rc == SM_EVERIFY) /* the verdict is said */
		return 0;
	if (rc)
		return sm_err_set(err, rc, NULL, "out of memory");
	res->genuine = true;
	res->foreign_host = long_host || (host[0] && !sm_label_host_is(host, src->trust->origin));
	if (!src->lookup) {
		say(res, SM_LABEL_STATUS_UNKNOWN, "status",
		    "the label is genuine; its certificate's status was not checked: nothing to ask (give --server "
		    "URL, "
		    "--cache DIR, or a registry)");
		return 0;
	}
	rc = src->lookup(src->ctx, res->claims.id, &rec, &e);
	snprintf(res->source, sizeof(res->source), "%s", rec.source);
	if (rc == SM_EVERIFY || rc == SM_EINVAL || rc == SM_ETOOBIG) {
		sm_cert_free(rec.cert);
		say(res, SM_LABEL_STATUS_UNKNOWN, e.field, "the label is genuine, but its status is unknown: %s",
		    e.msg);
		return 0;
	}
	if (rc) {
		sm_cert_free(rec.cert);
		return sm_err_set(err, rc, e.field, "%s", e.msg[0] ? e.msg : sm_strerror(rc));
	}
	res->cert = rec.cert;
	res->next_update = rec.next_update;
	judge_status(&rec, now, res);
	return 0;
}
