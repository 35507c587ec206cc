/* SPDX-License-Identifier: Apache-2.0 */
/* POST /v1/home/check: a home document checked against the registry, stateless; each device with its statement. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "server.h"

/* The home checked against the registry itself, with the checkpoint its answers reflect. */
struct home_ctx {
	const sm_policy *pol;
	int64_t now;
};

static int check_home(void *ctx, const sm_home *h, sm_home_result *out, sm_err *err)
{
	const struct home_ctx *k = ctx;
	return sm_registry_home_check(sm_srv->reg, h, k->pol, k->now, out, err);
}

/*
 * ?vendor=&model=&firmware=[&category=][&id=][&room=]: one retrofit asked about, added as `home check
 * --add` adds it (sm_home_add_retrofit); the answer then has `retrofit` (may it join, its verdict, the
 * home's level before and after). Parts, not the --add spec, so that any model number can be asked.
 */
void sm_h_home_check(sm_req *q)
{
	static const char *const params[] = { "vendor", "model", "firmware", "category", "id", "room", NULL };
	sm_err err = { 0 };
	sm_home *h = NULL;
	sm_home_result r;
	sm_policy pol;
	const char *p = NULL;
	size_t n = 0;
	/* the rate limit first: a home of a thousand devices is a thousand look-ups */
	if (sm_req_query(q, params) ||
	    !sm_rate_ok(q, &sm_srv->home_rate, sm_srv->cfg.home_rate, sm_srv->cfg.home_burst,
			&sm_srv->metrics.home_rate_limited, "home check") ||
	    !sm_req_body_json(q, &p, &n))
		return;
	/* the guard caps the body at SM_HOME_MAX_SIZE already; sm_home_parse refuses more too (413) */
	int rc = sm_home_parse(p, n, &h, &err);
	if (rc) {
		sm_reply_sm_err(q, rc, &err);
		return;
	}
	/* the home's own policy, or the default; a policy asking for a level the scheme lacks would deny all */
	if ((rc = sm_home_policy(h, NULL, sm_registry_trust(sm_srv->reg)->levels, &pol, &err))) {
		sm_reply_sm_err(q, rc, &err);
		sm_home_free(h);
		return;
	}
	sm_home_retrofit rf = { sm_req_param(q, "vendor"), sm_req_param(q, "model"), sm_req_param(q, "firmware"),
				sm_req_param(q, "category"), sm_req_param(q, "id"), sm_req_param(q, "room") };
	size_t added = rf.vendor || rf.model || rf.firmware || rf.category || rf.id || rf.room ? 1 : 0;
	if (added && (rc = sm_home_add_retrofit(h, &rf, &err))) {
		sm_reply_sm_err(q, rc, &err);
		sm_home_free(h);
		return;
	}
	int before = -1;
	struct home_ctx k = { &pol, sm_server_now() };
	if ((rc = sm_home_check_retrofits(h, added, check_home, &k, &r, &before, &err))) {
		sm_reply_sm_err(q, rc, &err);
		sm_home_free(h);
		return;
	}
	/* nothing is stored; the answer is this request's alone */
	json_t *doc = sm_home_result_to_json(h, &r, sm_date_from_time(k.now));
	if (doc && added && sm_home_retrofit_json(doc, h, &r, h->ndevices - added, before)) {
		json_decref(doc);
		doc = NULL;
	}
	sm_reply_json(q, 200, doc, NULL, false);
	sm_home_result_cleanup(&r);
	sm_home_free(h);
}
