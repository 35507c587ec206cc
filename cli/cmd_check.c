/* SPDX-License-Identifier: Apache-2.0 */
/* check: the verdict for a model with a firmware under a policy, from the local registry. */
#include <stdlib.h>
#include <string.h>

#include "cli.h"

int cmd_check(cli *c, int argc, char **argv)
{
	opt o[] = { { "vendor", true }, { "model", true }, { "firmware", true }, { "category", true }, { "level", true },
		    { "policy", true }, { "offline", false }, { "cache", true }, { 0 } };
	const char *pos[1];
	size_t np;
	sm_registry *r = NULL;
	sm_err err = { 0 };
	sm_policy pol;
	sm_check_result res = { 0 };
	int rc = opt_parse(c, "check", argc, argv, o, pos, 0, &np);
	if (rc)
		return rc;
	for (int i = 0; i < 3; i++)
		if (!o[i].seen)
			return usage_error(c, "check: --%s is required", o[i].name);
	sm_check_req q = { o[0].value, o[1].value, o[2].value, o[3].value, 0 };
	if (o[4].seen) {
		char *end = NULL;
		long v = strtol(o[4].value, &end, 10);
		if (!*o[4].value || *end || v < 1 || v > SM_LEVELS_MAX)
			return usage_error(c, "check: --level must be 1..%d, not '%s'", SM_LEVELS_MAX, o[4].value);
		q.level = (int)v;
	}
	if ((rc = sm_check_req_validate(&q, &err)))
		return fail(c, rc, &err);
	sm_policy_default(&pol);
	if (o[5].seen) {
		uint8_t *text = NULL;
		size_t n = 0;
		if ((rc = sm_file_read(o[5].value, SM_POLICY_MAX_SIZE, &text, &n, &err)) ||
		    (rc = sm_policy_parse((const char *)text, n, &pol, &err))) {
			free(text);
			return fail(c, rc, &err);
		}
		free(text);
	}
	/* both: the explicit --offline wins (a gateway may have $STARMARK_SERVER set), and the user is told */
	if (c->server && o[6].seen)
		fprintf(stderr, "%s: check --offline answers from the cache; the server %s is not asked\n", c->prog, c->server);
	if (c->server || o[6].seen)
		return remote_check(c, &q, &pol, o[5].seen, o[6].seen, o[7].value);
	if (o[7].seen)
		return usage_error(c, "check: --cache goes with --server or --offline");
	if ((rc = open_registry(c, false, &r)))
		return rc;
	/* a policy or --level the scheme cannot meet is bad input, refused before any answer */
	if ((rc = sm_registry_check(r, &q, &pol, c->now, &res, &err))) {
		rc = fail(c, rc, &err);
		goto out;
	}
	if (c->json) {
		print_json(sm_check_to_json(&res, sm_date_from_time(c->now), 0, 0));
	} else {
		printf("%s\n", sm_verdict_name(res.verdict));
		for (size_t i = 0; i < res.nreasons; i++)
			printf("  %-22s %s\n", res.reasons[i].code, res.reasons[i].message);
	}
	if (res.verdict == SM_WARN)
		for (size_t i = 0; i < res.nreasons; i++)
			if (strcmp(res.reasons[i].code, "certified") != 0)
				fprintf(stderr, "warning: %s\n", res.reasons[i].message);
	rc = res.verdict == SM_DENY ? EXIT_DENY : res.verdict == SM_UNKNOWN ? EXIT_UNKNOWN : EXIT_OK;
out:
	sm_check_result_cleanup(&res);
	sm_registry_close(r);
	return rc;
}
