/* SPDX-License-Identifier: Apache-2.0 */
/* Published policies: GET /v1/policies, GET /v1/policies/{name}; PUT and DELETE /v1/admin/policies/{name}. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "server.h"
#include "starmark/client.h"

static const char *const no_params[] = { NULL };

static void cache_control(char *cc, size_t cap)
{
	snprintf(cc, cap, "public, max-age=%d", sm_srv->cfg.cache_seconds);
}

static int add_one(void *ctx, const sm_policy *p, int64_t published_at, uint64_t log_index)
{
	json_t *j = sm_policy_published_to_json(p, published_at, log_index);
	return j && json_array_append_new(ctx, j) == 0 ? 0 : SM_ENOMEM;
}

void sm_h_policies(sm_req *q)
{
	sm_err err = { 0 };
	char cc[64];
	if (sm_req_query(q, no_params))
		return;
	json_t *a = json_array();
	int rc = a ? sm_registry_policy_list(sm_srv->reg, add_one, a, &err) : SM_ENOMEM;
	if (rc) {
		json_decref(a);
		sm_reply_sm_err(q, rc, &err);
		return;
	}
	cache_control(cc, sizeof(cc));
	sm_reply_json(q, 200, json_pack("{s:o}", "policies", a), cc, true);
}

void sm_h_policy(sm_req *q, const char *name)
{
	sm_err err = { 0 };
	sm_policy p;
	int64_t at = 0;
	char cc[64], lm[64];
	if (sm_req_query(q, no_params))
		return;
	int rc = sm_registry_policy_get(sm_srv->reg, name, &p, &at, NULL, &err);
	if (rc) {
		sm_reply_sm_err(q, rc, &err);
		return;
	}
	/* the policy document itself, as a housing company's tools take it (`--policy FILE`) */
	time_t t = (time_t)at;
	struct tm tm;
	if (gmtime_r(&t, &tm) && strftime(lm, sizeof(lm), "%a, %d %b %Y %H:%M:%S GMT", &tm))
		evhtp_headers_add_header(q->r->headers_out, evhtp_header_new("Last-Modified", lm, 1, 1));
	cache_control(cc, sizeof(cc));
	sm_reply_json(q, 200, sm_policy_to_json(&p), cc, true);
}

void sm_h_admin_policy_put(sm_req *q, const char *name)
{
	sm_err err = { 0 };
	sm_policy p, was;
	const char *body = NULL;
	size_t n = 0;
	int64_t at = 0;
	uint64_t index = 0;
	if (!sm_admin_admitted(q, no_params, true) || !sm_req_body_json(q, &body, &n))
		return;
	int rc = sm_policy_parse(body, n, &p, &err);
	if (!rc && strcmp(p.name, name) != 0)
		rc = sm_err_set(&err, SM_EINVAL, "name", "the policy's name '%s' is not the name in the path '%.64s'", p.name,
				name);
	if (rc) {
		sm_reply_sm_err(q, rc, &err);
		return;
	}
	int64_t now = sm_server_now();
	pthread_mutex_lock(&sm_srv->write_lock);
	bool existed = sm_registry_policy_get(sm_srv->reg, name, &was, NULL, NULL, NULL) == 0;
	rc = sm_registry_policy_publish(sm_srv->reg, &p, now, &err);
	if (!rc)
		rc = sm_registry_policy_get(sm_srv->reg, name, &p, &at, &index, &err);
	pthread_mutex_unlock(&sm_srv->write_lock);
	if (rc) {
		sm_reply_sm_err(q, rc, &err);
		return;
	}
	char *esc = sm_client_escape(name), loc[256];
	if (esc && strlen(esc) < sizeof(loc) - 16) {
		snprintf(loc, sizeof(loc), "/v1/policies/%s", esc);
		evhtp_headers_add_header(q->r->headers_out, evhtp_header_new("Location", loc, 1, 1));
	}
	free(esc);
	sm_reply_json(q, existed ? 200 : 201, sm_policy_published_to_json(&p, at, index), NULL, false);
}

void sm_h_admin_policy_delete(sm_req *q, const char *name)
{
	sm_err err = { 0 };
	char at[21];
	if (!sm_admin_admitted(q, no_params, true))
		return;
	int64_t now = sm_server_now();
	pthread_mutex_lock(&sm_srv->write_lock);
	int rc = sm_registry_policy_withdraw(sm_srv->reg, name, now, &err);
	pthread_mutex_unlock(&sm_srv->write_lock);
	if (rc) {
		sm_reply_sm_err(q, rc, &err);
		return;
	}
	sm_time_format(now, at);
	sm_reply_json(q, 200, json_pack("{s:s, s:s}", "name", name, "withdrawn_at", at), NULL, false);
}
