/* SPDX-License-Identifier: Apache-2.0 */
/* POST /v1/home/check: a home document checked against the registry, stateless; each device with its statement. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "server.h"

void sm_h_home_check(sm_req *q)
{
	static const char *const none[] = { NULL };
	sm_err err = { 0 };
	sm_home *h = NULL;
	sm_home_result r;
	sm_policy pol;
	const char *p = NULL;
	size_t n = 0;
	/* the rate limit first: a home of a thousand devices is a thousand look-ups */
	if (sm_req_query(q, none) ||
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
	int64_t now = sm_server_now();
	if ((rc = sm_registry_home_check(sm_srv->reg, h, &pol, now, &r, &err))) {
		sm_reply_sm_err(q, rc, &err);
		sm_home_free(h);
		return;
	}
	/* nothing is stored; the answer is this request's alone */
	sm_reply_json(q, 200, sm_home_result_to_json(h, &r, sm_date_from_time(now)), NULL, false);
	sm_home_result_cleanup(&r);
	sm_home_free(h);
}
