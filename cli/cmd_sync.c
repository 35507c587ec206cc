/* SPDX-License-Identifier: Apache-2.0 */
/* sync: fetch, verify and keep the newest snapshot of a registry server for offline checks. */
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "starmark/sync.h"

int cmd_sync(cli *c, int argc, char **argv)
{
	opt o[] = {{"cache", true}, {"trust", true}, {0}};
	const char *pos[1];
	size_t np, pn = 0;
	sm_client *cl = NULL;
	sm_sync_report rep;
	sm_err err = {0};
	uint8_t *pinned = NULL;
	int rc = opt_parse(c, "sync", argc, argv, o, pos, 0, &np);
	if (rc)
		return rc;
	if (!c->server || !o[0].seen || !o[1].seen)
		return usage_error(
		    c, "sync: usage: starmark sync --server URL --cache DIR --trust FILE (the trust bundle "
		       "'starmark trust export' wrote, provisioned with the device)");
	if ((rc = sm_file_read(o[1].value, SM_TRUST_MAX_SIZE, &pinned, &pn, &err)) ||
	    (rc = sm_client_new(c->server, c->token, c->cacert, &cl, &err)) ||
	    (rc = sm_sync_run(cl, o[0].value, pinned, pn, c->now, &rep, &err))) {
		rc = fail(c, rc, &err);
		goto out;
	}
	char nx[21], ex[21];
	sm_time_format(rep.snapshot.next_update, nx);
	sm_time_format(rep.snapshot.expires, ex);
	if (c->json) {
		rc = print_json(json_pack("{s:b, s:I, s:I, s:I, s:b, s:I, s:s, s:s, s:I, s:I}", "changed",
		                          rep.snapshot_changed, "version", (json_int_t)rep.snapshot.version,
		                          "previous_version", (json_int_t)rep.old_version, "trust_version",
		                          (json_int_t)rep.trust_version, "trust_changed", rep.trust_changed,
		                          "certificates", (json_int_t)rep.snapshot.count, "next_update", nx,
		                          "expires", ex, "log_size", (json_int_t)rep.log_size,
		                          "snapshot_log_size", (json_int_t)rep.snapshot.log_size));
	} else {
		printf("snapshot version %llu%s: %llu certificates, next update %s, expires %s; log size "
		       "%llu%s\n",
		       (unsigned long long)rep.snapshot.version, rep.snapshot_changed ? "" : " (unchanged)",
		       (unsigned long long)rep.snapshot.count, nx, ex, (unsigned long long)rep.log_size,
		       rep.had_checkpoint ? " (consistent with the one kept)" : "");
		if (rep.trust_changed)
			fprintf(stderr, "trust bundle updated to version %llu\n",
			        (unsigned long long)rep.trust_version);
	}
out:
	free(pinned);
	sm_client_free(cl);
	return rc;
}
