/* SPDX-License-Identifier: Apache-2.0 */
/* label verify: is a label genuine, and is its certificate in force — the verdict of lib, printed. */
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "starmark/client.h"
#include "starmark/label.h"
#include "starmark/sync.h"

/* The one map from a label's verdict to the exit code (INTERFACE.md, label verify). */
static int verdict_exit(int verdict)
{
	switch (verdict) {
	case SM_LABEL_GENUINE_IN_FORCE:
		return EXIT_OK;
	case SM_LABEL_NOT_GENUINE:
	case SM_LABEL_CLAIMS_DIFFER:
	case SM_LABEL_NOT_IN_FORCE:
		return EXIT_DENY;
	case SM_LABEL_UNKNOWN_SIGNER:
	case SM_LABEL_STATUS_UNKNOWN:
		return EXIT_UNKNOWN;
	default:
		return EXIT_USAGE;
	}
}

/* What the label is checked against, and what holds it. */
struct source {
	sm_registry *r;
	sm_client *client;
	sm_cache *cache;
	sm_trust *trust; /* followed from the user's anchor (owned); NULL: the registry's or the cache's */
	sm_label_server srv;
	sm_label_source src;
};

static void source_cleanup(struct source *s)
{
	sm_registry_close(s->r);
	sm_client_free(s->client);
	sm_cache_close(s->cache);
	free(s->trust);
	memset(s, 0, sizeof(*s));
}

/* The user's anchor: none is exit 3 (nothing can be called genuine), a bad one exit 2. */
static int user_anchor(const cli *c, sm_anchor **a)
{
	sm_err err = {0};
	int rc = load_anchor(c, a, &err);
	if (rc == SM_ENOTFOUND && !c->trust) {
		sm_err_wrap(&err, SM_ENOTFOUND, "trust", "label verify");
		return fail_unknown(c, &err);
	}
	if (rc)
		return fail(c, sm_err_wrap(&err, rc, NULL, "label verify"), &err);
	return 0;
}

/*
 * --cache DIR: a synced snapshot, opened with the user's anchor (never the cache's own). A cache that
 * is missing or does not follow from the anchor leaves the answer unknown (3), as for check --offline.
 */
static int cache_source(const cli *c, const char *dir, const sm_anchor *a, struct source *s)
{
	sm_err err = {0};
	int rc = sm_cache_open(dir, a, &s->cache, &err);
	if (rc == SM_ENOTFOUND || rc == SM_EVERIFY || rc == SM_EINVAL) {
		sm_err_wrap(&err, rc, "cache", "label verify: the cache %s is of no use", dir);
		return fail_unknown(c, &err);
	}
	if (rc)
		return fail(c, rc, &err);
	/* the cache's bundle is as new as the last sync: a newer issuer key may exist */
	s->src.trust = sm_cache_trust(s->cache);
	s->src.newest = false;
	s->src.lookup = sm_label_lookup_cache;
	s->src.ctx = s->cache;
	return 0;
}

/*
 * --server URL: the server's trust followed from the user's anchor to its newest bundle, and the
 * server's signed statements. *offline is set when the network failed and `cache` (may be NULL) is to
 * answer instead.
 */
static int server_source(const cli *c, const sm_anchor *a, const char *cache, struct source *s, bool *offline)
{
	sm_err err = {0};
	*offline = false;
	int rc = cli_client(c, &s->client, &err);
	if (rc)
		return fail(c, rc, &err);
	if (!(s->trust = malloc(sizeof(*s->trust))))
		return fail(c, SM_ENOMEM, NULL);
	rc = sm_sync_server_trust(s->client, a, s->trust, NULL, &err);
	if (rc == SM_EIO && cache) {
		fprintf(stderr, "%s: %s; answering from the cache %s\n", c->prog, err.msg, cache);
		*offline = true;
		return 0;
	}
	if (rc == SM_EVERIFY)
		sm_err_wrap(&err, rc, NULL,
		            "label verify: the server's trust bundles do not follow from your trust anchor");
	if (rc)
		return fail(c, rc, &err); /* SM_EVERIFY: exit 1 */
	s->srv.client = s->client;
	s->srv.trust = s->trust;
	s->src.trust = s->trust;
	s->src.newest = true;
	s->src.lookup = sm_label_lookup_server;
	s->src.ctx = &s->srv;
	return 0;
}

/* The registry of --db, when there is one: *r NULL (and 0) when the directory holds none. */
static int local_registry(const cli *c, sm_registry **r)
{
	sm_err err = {0};
	*r = NULL;
	int rc = sm_registry_open(c->db, false, NULL, r, &err);
	if (rc == SM_ENOTFOUND) {
		*r = NULL;
		return 0;
	}
	return rc ? fail(c, rc, &err) : EXIT_OK;
}

/*
 * The user's anchor (--trust), followed through the local registry's bundles when there is a registry
 * (its status is then asked), else as far as the anchor reaches by itself (no status: unknown).
 */
/* The bundle the label is checked with, and the user's anchor it was followed from (they differ after rotations). */
static void say_trust(const sm_anchor *a, const sm_trust *t)
{
	char what[512];
	sm_anchor_describe(a, what, sizeof(what));
	if (t)
		fprintf(stderr, "verified with trust bundle version %llu of %s, followed from your anchor: %s\n",
		        (unsigned long long)t->version, t->origin, what);
	else
		fprintf(stderr, "verified against %s\n", what);
}

static int anchored_source(const cli *c, struct source *s)
{
	sm_anchor *a = NULL;
	sm_err err = {0};
	int rc = load_anchor(c, &a, &err);
	if (rc)
		return fail(c, sm_err_wrap(&err, rc, NULL, "label verify"), &err);
	if (!(s->trust = malloc(sizeof(*s->trust)))) {
		rc = fail(c, SM_ENOMEM, NULL);
		goto out;
	}
	if ((rc = local_registry(c, &s->r)))
		goto out;
	if (s->r && (rc = sm_sync_registry_trust(s->r, a, s->trust, &err))) {
		sm_err_wrap(&err, rc, NULL, "label verify: the registry %s does not follow from your trust anchor",
		            c->db);
		rc = fail(c, rc, &err); /* SM_EVERIFY: exit 1 */
		goto out;
	}
	if (!s->r && sm_trust_follow(a, NULL, s->trust, NULL, NULL, &err) != 0) {
		sm_err_set(
		    &err, SM_EVERIFY, "trust",
		    "label verify: a root key fingerprint alone cannot verify a label offline: give a trust bundle "
		    "file ('starmark trust export'), --server URL, or --cache DIR");
		rc = fail_unknown(c, &err);
		goto out;
	}
	s->src.trust = s->trust;
	say_trust(a, s->trust);
	s->src.newest = s->r != NULL;
	if (s->r) {
		s->src.lookup = sm_label_lookup_registry;
		s->src.ctx = s->r;
	}
out:
	sm_anchor_free(a);
	return rc;
}

/* No anchor given: the local registry, with its own (newest) bundle and its records. */
static int registry_source(const cli *c, struct source *s)
{
	sm_err err = {0};
	int rc = local_registry(c, &s->r);
	if (rc)
		return rc;
	if (!s->r) {
		sm_err_set(
		    &err, SM_ENOTFOUND, "trust",
		    "label verify: no trust anchor, so nothing can be called genuine: give --trust FILE|FINGERPRINT "
		    "(a trust bundle 'starmark trust export' wrote, or the root key fingerprint 'starmark init' "
		    "printed) or set $%s; or run where the registry is (--db; none in %s)",
		    SM_ANCHOR_ENV, c->db);
		return fail_unknown(c, &err);
	}
	s->src.trust = sm_registry_trust(s->r);
	s->src.newest = true;
	s->src.lookup = sm_label_lookup_registry;
	s->src.ctx = s->r;
	return 0;
}

static json_t *claims_json(const sm_label_claims *cl)
{
	char reg[11], at[21];
	char *kid = sm_hex_encode(cl->kid, SM_KID_LEN);
	sm_date_format(cl->registered, reg);
	sm_time_format(cl->issued_at, at);
	json_t *j =
	    json_pack("{s:s, s:I, s:s, s:i, s:s, s:s, s:s, s:s, s:s, s:s?}", "id", cl->id, "serial",
	              (json_int_t)cl->serial, "scheme", cl->scheme, "level", cl->level, "stars", stars(cl->level),
	              "vendor", cl->vendor, "model", cl->model, "registered", reg, "issued_at", at, "kid", kid);
	free(kid);
	return j;
}

/* The warnings beside a verdict, for people (stderr) and for programs (`warnings` in --json). */
static void foreign_host_warning(const sm_label_result *v, const char *origin, char *out, size_t cap)
{
	snprintf(out, cap,
	         "this code's link leads to %.100s, not to the registry (%.100s): the registry did not print this "
	         "code; the token in it is genuine, but do not open its link",
	         v->host[0] ? v->host : "a host too long to show", origin);
}

static void past_next_update_warning(const sm_label_result *v, char *out, size_t cap)
{
	char nx[21];
	sm_time_format(v->next_update, nx);
	snprintf(out, cap, "the status data (%s) is past its next update (%s), within the offline grace", v->source,
	         nx);
}

static int print_result_json(const sm_label_result *v, const char *origin, int64_t now)
{
	char nx[21];
	if (v->next_update)
		sm_time_format(v->next_update, nx);
	json_t *in_force = v->verdict == SM_LABEL_GENUINE_IN_FORCE ? json_true()
	                   : v->verdict == SM_LABEL_NOT_IN_FORCE   ? json_false()
	                                                           : json_null();
	json_t *j = json_pack("{s:b, s:s, s:o, s:s?, s:s?, s:o, s:s?, s:s?, s:s?, s:o}", "genuine", v->genuine,
	                      "verdict", sm_label_verdict_name(v->verdict), "in_force", in_force, "reason",
	                      v->reason[0] ? v->reason : NULL, "field",
	                      v->verdict == SM_LABEL_CLAIMS_DIFFER && v->field[0] ? v->field : NULL, "claims",
	                      v->genuine ? claims_json(&v->claims) : json_null(), "status", v->status, "source",
	                      v->source[0] ? v->source : NULL, "next_update", v->next_update ? nx : NULL, "certificate",
	                      v->cert ? sm_cert_to_json(v->cert, sm_date_from_time(now)) : json_null());
	json_t *warn = j ? json_array() : NULL;
	char msg[512];
	bool ok = warn != NULL;
	if (ok && v->foreign_host) {
		foreign_host_warning(v, origin, msg, sizeof(msg));
		ok = !json_array_append_new(warn, json_pack("{s:s, s:s}", "code", "host_not_registry", "message", msg));
	}
	if (ok && v->past_next_update) {
		past_next_update_warning(v, msg, sizeof(msg));
		ok = !json_array_append_new(warn, json_pack("{s:s, s:s}", "code", "data_past_next_update", "message", msg));
	}
	if (!ok || json_object_set_new(j, "host", v->host[0] ? json_string(v->host) : json_null())) {
		json_decref(warn);
		json_decref(j);
		return EXIT_IO;
	}
	if (json_object_set_new(j, "warnings", warn)) { /* it took warn, even so */
		json_decref(j);
		return EXIT_IO;
	}
	return print_json(j);
}

static void upper(const char *s, char *out, size_t cap)
{
	size_t i = 0;
	for (; s[i] && i + 1 < cap; i++)
		out[i] = s[i] >= 'a' && s[i] <= 'z' ? (char)(s[i] - 'a' + 'A') : s[i];
	out[i] = '\0';
}

/* A genuine label: the current status first, then what it claims. */
static void print_genuine(const sm_label_result *v)
{
	const sm_label_claims *cl = &v->claims;
	char s[16], reg[11], at[21];
	if (v->verdict == SM_LABEL_GENUINE_IN_FORCE) {
		printf("CURRENT STATUS: ACTIVE\n");
	} else if (v->verdict == SM_LABEL_NOT_IN_FORCE) {
		upper(v->status, s, sizeof(s));
		printf("CURRENT STATUS: %s  (the label is genuine, but the certificate no longer holds)\n", s);
	} else {
		printf("CURRENT STATUS: UNKNOWN  (%s)\n", v->reason);
	}
	sm_date_format(cl->registered, reg);
	sm_time_format(cl->issued_at, at);
	char *kid = sm_hex_encode(cl->kid, SM_KID_LEN);
	printf("GENUINE label of certificate %s\n", cl->id);
	printf("  level        %s  (%s level %d)\n", stars(cl->level), cl->scheme, cl->level);
	printf("  scheme       %s\n", cl->scheme);
	printf("  certificate  %s\n", cl->id);
	printf("  vendor       %s%s%s\n", cl->vendor, v->cert ? "  " : "", v->cert ? v->cert->vendor_name : "");
	printf("  model        %s\n", cl->model);
	printf("  registered   %s\n", reg);
	if (v->cert && v->cert->expires != SM_DATE_NONE) {
		char exp[11];
		sm_date_format(v->cert->expires, exp);
		printf("  expires      %s  (from %s)\n", exp, v->source);
	} else if (v->cert) {
		printf("  expires      never  (from %s)\n", v->source);
	} else {
		printf("  expires      not on the label: ask the registry (--db, --server URL or --cache DIR)\n");
	}
	printf("  labelled     %s  by issuer key %s\n", at, kid ? kid : "");
	if (v->source[0] && v->next_update) {
		char nx[21];
		sm_time_format(v->next_update, nx);
		printf("  status       from %s, good until %s\n", v->source, nx);
	} else if (v->source[0]) {
		printf("  status       from %s\n", v->source);
	} else {
		printf("  status       not checked: nothing to ask (offline check of the label only)\n");
	}
	free(kid);
}

static void print_result_text(const cli *c, const sm_label_result *v)
{
	switch (v->verdict) {
	case SM_LABEL_UNREADABLE:
		fprintf(stderr, "%s: label verify: unreadable: %s\n", c->prog, v->reason);
		return;
	case SM_LABEL_NOT_GENUINE:
		printf("NOT GENUINE: %s\n", v->reason);
		return;
	case SM_LABEL_UNKNOWN_SIGNER:
		printf("UNKNOWN SIGNER: %s\n", v->reason);
		return;
	case SM_LABEL_CLAIMS_DIFFER:
		printf("CLAIMS DIFFER: %s\n", v->reason);
		return;
	default:
		print_genuine(v);
	}
}

/* Where the label is checked: --server (with --cache when the network fails), --cache, --trust, the registry. */
static int pick_source(const cli *c, const char *cache, struct source *s)
{
	sm_anchor *a = NULL;
	bool offline = false;
	int rc;
	if (!c->server && !cache)
		return c->trust ? anchored_source(c, s) : registry_source(c, s);
	if ((rc = user_anchor(c, &a)))
		return rc;
	if (c->server)
		rc = server_source(c, a, cache, s, &offline);
	if (!rc && (!c->server || offline)) {
		source_cleanup(s);
		rc = cache_source(c, cache, a, s);
	}
	if (!rc)
		say_trust(a, s->src.trust);
	sm_anchor_free(a);
	return rc;
}

int cmd_label_verify(cli *c, int argc, char **argv)
{
	opt o[] = {{"image", true}, {"cache", true}, {0}};
	const char *pos[1];
	size_t np = 0;
	struct source s = {0};
	sm_label_result v = {0};
	char *scanned = NULL;
	sm_err err = {0};
	int rc = opt_parse(c, "label verify", argc, argv, o, pos, 1, &np);
	if (rc)
		return rc;
	if ((np == 1) == o[0].seen)
		return usage_error(
		    c, "label verify: give the label text or --image FILE, one of them "
		       "(starmark label verify 'HTTPS://HOST/L/...' | --image FILE [--trust FILE|FINGERPRINT] "
		       "[--server URL] [--cache DIR])");
	const char *text = np == 1 ? pos[0] : NULL;
	if (o[0].seen) {
		if ((rc = sm_label_read_image(o[0].value, &scanned, &err)))
			return fail(c, rc, &err);
		text = scanned;
	}
	const char *cache = o[1].seen ? o[1].value : NULL;
	if ((rc = pick_source(c, cache, &s)))
		goto out;
	rc = sm_label_judge(text, strlen(text), &s.src, c->now, &v, &err);
	if (rc == SM_EIO && s.client && cache) {
		/* the network failed after the trust came: the cache answers, as a whole */
		fprintf(stderr, "%s: %s; answering from the cache %s\n", c->prog, err.msg, cache);
		source_cleanup(&s);
		sm_anchor *a = NULL;
		if ((rc = user_anchor(c, &a)) || (rc = cache_source(c, cache, a, &s))) {
			sm_anchor_free(a);
			goto out;
		}
		sm_anchor_free(a);
		rc = sm_label_judge(text, strlen(text), &s.src, c->now, &v, &err);
	}
	if (rc) {
		rc = fail(c, rc, &err);
		goto out;
	}
	const char *origin = s.src.trust ? s.src.trust->origin : "";
	if (c->json) {
		if (v.verdict == SM_LABEL_UNREADABLE)
			fprintf(stderr, "%s: label verify: unreadable: %s\n", c->prog, v.reason);
		if ((rc = print_result_json(&v, origin, c->now)))
			goto out;
	} else {
		print_result_text(c, &v);
	}
	if (v.verdict == SM_LABEL_NOT_IN_FORCE)
		fprintf(stderr,
		        "warning: certificate %s is %s now; the label is genuine but does not say it is still good\n",
		        v.claims.id, v.status);
	char msg[512];
	if (v.foreign_host) {
		foreign_host_warning(&v, origin, msg, sizeof(msg));
		fprintf(stderr, "warning: %s\n", msg);
	}
	if (v.past_next_update) {
		past_next_update_warning(&v, msg, sizeof(msg));
		fprintf(stderr, "warning: %s\n", msg);
	}
	rc = verdict_exit(v.verdict);
out:
	sm_label_result_cleanup(&v);
	source_cleanup(&s);
	free(scanned);
	return rc;
}
