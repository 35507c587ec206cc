/* SPDX-License-Identifier: Apache-2.0 */
/* sync: fetch, verify and keep the newest snapshot of a registry server for offline checks. */
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "starmark/sync.h"

int cmd_sync(cli *c, int argc, char **argv)
{
	opt o[] = {{"cache", true}, {0}};
	const char *pos[1];
	size_t np;
	sm_client *cl = NULL;
	sm_anchor *anchor = NULL;
	sm_sync_report rep;
	sm_err err = {0};
	int rc = opt_parse(c, "sync", argc, argv, o, pos, 0, &np);
	if (rc)
		return rc;
	if (!c->server || !o[0].seen || !c->trust)
		return usage_error(
		    c, "sync: usage: starmark sync --server URL --cache DIR --trust FILE|FINGERPRINT (the trust "
		       "anchor provisioned with the device: a bundle 'starmark trust export' wrote, or the root key "
		       "fingerprint; or set $%s)", SM_ANCHOR_ENV);
	if ((rc = load_anchor(c, &anchor, &err)) || (rc = cli_client(c, &cl, &err)) ||
	    (rc = sm_sync_run(cl, o[0].value, anchor, c->now, &rep, &err))) {
		rc = fail(c, rc, &err);
		goto out;
	}
	char nx[21], ex[21];
	sm_time_format(rep.snapshot.next_update, nx);
	sm_time_format(rep.snapshot.expires, ex);
	if (rep.cache_reset)
		fprintf(stderr, "%s: note: the cache was not used and was started over: %s\n",
		        c->prog, rep.reset_reason);
	if (rep.frozen)
		fprintf(stderr,
		        "warning: the server still serves snapshot version %llu, past its next update (%s): the "
		        "registry's data is not moving (frozen); answers turn unknown when it expires (%s)\n",
		        (unsigned long long)rep.snapshot.version, nx, ex);
	if (c->json) {
		rc = print_json(json_pack("{s:b, s:I, s:I, s:I, s:b, s:I, s:s, s:s, s:I, s:I, s:b, s:b}", "changed",
		                          rep.snapshot_changed, "version", (json_int_t)rep.snapshot.version,
		                          "previous_version", (json_int_t)rep.old_version, "trust_version",
		                          (json_int_t)rep.trust_version, "trust_changed", rep.trust_changed,
		                          "certificates", (json_int_t)rep.snapshot.count, "next_update", nx,
		                          "expires", ex, "log_size", (json_int_t)rep.log_size,
		                          "snapshot_log_size", (json_int_t)rep.snapshot.log_size, "frozen", rep.frozen,
		                          "cache_reset", rep.cache_reset));
	} else {
		const uint64_t snap_size = rep.snapshot.log_size, newer = rep.log_size > snap_size ? rep.log_size - snap_size : 0;
		/* what the cache now answers from is the snapshot: its own log size, not the checkpoint's */
		printf("snapshot version %llu%s: %llu %s as of log size %llu, next update %s, expires %s\n",
		       (unsigned long long)rep.snapshot.version,
		       rep.frozen ? " (unchanged, past its next update: frozen)" : rep.snapshot_changed ? "" : " (unchanged)",
		       (unsigned long long)rep.snapshot.count, plural(rep.snapshot.count, "certificate", "certificates"),
		       (unsigned long long)snap_size, nx, ex);
		/* starmarkd rebuilds its snapshot every snapshot_seconds: a change since is in the log, not yet in it */
		if (newer)
			printf("the registry has %llu newer %s (its log is at size %llu%s); the next snapshot brings %s\n",
			       (unsigned long long)newer, plural(newer, "entry", "entries"), (unsigned long long)rep.log_size,
			       rep.had_checkpoint ? ", consistent with the one kept" : "", newer == 1 ? "it" : "them");
		else if (rep.had_checkpoint)
			printf("the registry's log is at size %llu, consistent with the one kept\n",
			       (unsigned long long)rep.log_size);
		if (rep.trust_changed && rep.old_trust_version == 0) {
			/* a first sync (or one over a cache started over): nothing was followed from a kept version */
			char from[256];
			sm_anchor_describe(anchor, from, sizeof(from));
			if (rep.trust_version == sm_anchor_fetch_from(anchor))
				fprintf(stderr, "trust bundle version %llu, from your anchor\n", (unsigned long long)rep.trust_version);
			else
				fprintf(stderr, "trust bundle version %llu, followed from your anchor (%s)\n",
				        (unsigned long long)rep.trust_version, from);
		} else if (rep.trust_changed) {
			fprintf(stderr, "trust bundle now version %llu (followed from version %llu)\n",
			        (unsigned long long)rep.trust_version, (unsigned long long)rep.old_trust_version);
		}
	}
out:
	sm_anchor_free(anchor);
	sm_client_free(cl);
	return rc;
}
