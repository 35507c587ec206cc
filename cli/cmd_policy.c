/* SPDX-License-Identifier: Apache-2.0 */
/* policy check: lint a policy against its scheme; policy publish | list | withdraw: the policies a registry serves. */
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "cli.h"

/* The scheme a policy is checked against; levels 0: none was given or found. */
typedef struct scheme {
	char name[33];
	int levels;
	const char *source; /* "trust" (a bundle file) or "registry" (--db) */
	const char *where;  /* that file or directory (borrowed from argv or the cli) */
} scheme;

/*
 * The scheme of the user's trust anchor (--trust, $STARMARK_TRUST): a bundle or chain file, verified.
 * A fingerprint alone names no scheme. What is not usable is bad input (SM_EINVAL, field "trust").
 */
static int scheme_of_anchor(const cli *c, scheme *out, sm_err *err)
{
	sm_anchor *a = NULL;
	sm_trust *t = malloc(sizeof(*t));
	int rc = t ? load_anchor(c, &a, err) : sm_err_set(err, SM_ENOMEM, NULL, "out of memory");
	if (!rc && sm_trust_follow(a, NULL, t, NULL, NULL, err) != 0)
		rc = sm_err_set(err, SM_EINVAL, "trust", "--trust %s: a root key fingerprint names no scheme: give a trust "
				"bundle file ('starmark trust export')", c->trust);
	if (!rc) {
		snprintf(out->name, sizeof(out->name), "%s", t->scheme);
		out->levels = t->levels;
		out->source = "trust";
		out->where = c->trust;
	}
	sm_anchor_free(a);
	free(t);
	return rc;
}

/* Whether a local registry is there to check against (--db, $STARMARK_DB or ./registry). */
static bool registry_exists(const char *dir)
{
	struct stat st;
	return dir && stat(dir, &st) == 0 && S_ISDIR(st.st_mode);
}

static void print_summary(const sm_policy *p, const scheme *s)
{
	printf("policy:          %s\n", p->name);
	printf("default level:   %d %s\n", p->default_level, stars(p->default_level));
	if (p->ncats == 0)
		printf("levels:          (no category of its own: the default level for every device)\n");
	else
		printf("levels:\n");
	for (size_t i = 0; i < p->ncats; i++)
		printf("  %s%*s %d %s\n", p->cats[i].category, pad_cols(p->cats[i].category, 22), "", p->cats[i].level,
		       stars(p->cats[i].level));
	printf("offline grace:   %lld %s past the data's next update\n", (long long)(p->offline_grace / 3600),
	       plural((unsigned long long)(p->offline_grace / 3600), "hour", "hours"));
	printf("unknown:         %s\n", p->unknown_fails_closed
					    ? "deny (no usable data fails closed: exit 3)"
					    : "allow (no usable data passes with a warning: warn, exit 0)");
	printf("support:         warn %d %s before the vendor's support ends; after it: %s\n", p->support_warn_days,
	       plural((unsigned long long)p->support_warn_days, "day", "days"), p->deny_after_support_end ? "deny" : "warn");
	if (s->levels)
		printf("scheme:          %s, levels 1..%d (from the %s %s): the policy fits\n", s->name, s->levels,
		       strcmp(s->source, "trust") == 0 ? "trust bundle" : "registry", s->where);
	else
		printf("scheme:          not checked (give --trust FILE, or --db DIR of a local registry)\n");
}

static json_t *summary_json(const sm_policy *p, const scheme *s)
{
	json_t *sch = s->levels ? json_pack("{s:s, s:i, s:s}", "name", s->name, "levels", s->levels, "source", s->source)
				: json_null();
	return json_pack("{s:o, s:o}", "policy", sm_policy_to_json(p), "scheme", sch);
}

/* ---- publish, list, withdraw: the policies the registry serves for housing companies ---- */

/* One published policy, as `policy list` prints it, from its JSON (sm_policy_published_to_json; local or a server's). */
static void print_published(json_t *j)
{
	const char *at = json_string_value(json_object_get(j, "published_at"));
	const char *n = json_string_value(json_object_get(j, "name"));
	int level = (int)json_integer_value(json_object_get(j, "default_level"));
	char name[80]; /* a store key, or a server's answer: no control byte reaches the terminal */
	sm_err_quote(name, sizeof(name), n ? n : "?", strlen(n ? n : "?"));
	printf("%s%*s default level %d %s%*s published %.10s  (log entry %lld)\n", name, pad_cols(name, 32), "", level,
	       stars(level), pad_cols(stars(level), 6), "", at ? at : "?",
	       (long long)json_integer_value(json_object_get(j, "log_index")));
}

static int add_published(void *ctx, const sm_policy *p, int64_t published_at, uint64_t log_index)
{
	json_t *j = sm_policy_published_to_json(p, published_at, log_index);
	return j && json_array_append_new(ctx, j) == 0 ? 0 : SM_ENOMEM;
}

/* The answer of a change or a list, local or the server's: one document with --json, lines otherwise. */
static int print_policy_answer(cli *c, const char *sub, json_t *doc)
{
	if (c->json)
		return print_json(json_incref(doc));
	if (strcmp(sub, "list") == 0) {
		json_t *a = json_object_get(doc, "policies"), *x;
		size_t i;
		if (json_array_size(a) == 0)
			printf("no published policies\n");
		json_array_foreach(a, i, x)
			print_published(x);
	} else if (strcmp(sub, "publish") == 0) {
		printf("published ");
		print_published(doc);
	} else {
		printf("withdrew policy '%s' (%s)\n", json_string_value(json_object_get(doc, "name")),
		       json_string_value(json_object_get(doc, "withdrawn_at")));
	}
	return EXIT_OK;
}

/* policy publish FILE | list | withdraw NAME on the local registry (--db) or through --server. */
static int published(cli *c, const char *sub, const char *arg)
{
	sm_err err = { 0 };
	sm_policy pol;
	sm_registry *r = NULL;
	uint8_t *text = NULL;
	size_t n = 0;
	json_t *doc = NULL;
	int rc = 0;
	bool publish = strcmp(sub, "publish") == 0, list = strcmp(sub, "list") == 0;
	if (publish) {
		if (!(rc = sm_file_read(arg, SM_POLICY_MAX_SIZE, &text, &n, &err)) &&
		    (rc = sm_policy_parse((const char *)text, n, &pol, &err)))
			sm_err_wrap(&err, rc, NULL, "%s", arg);
		free(text);
		if (rc)
			return fail(c, rc, &err);
	}
	if (c->server) {
		rc = remote_policy(c, sub, publish ? &pol : NULL, arg, &doc);
	} else if (!(rc = open_registry(c, !list, &r))) {
		int64_t at = 0;
		uint64_t index = 0;
		char when[21];
		if (list) {
			json_t *a = json_array();
			if (!(rc = a ? sm_registry_policy_list(r, add_published, a, &err) : SM_ENOMEM))
				doc = json_pack("{s:o}", "policies", a);
			else
				json_decref(a);
		} else if (publish) {
			if (!(rc = sm_registry_policy_publish(r, &pol, c->now, &err)) &&
			    !(rc = sm_registry_policy_get(r, pol.name, &pol, &at, &index, &err)))
				doc = sm_policy_published_to_json(&pol, at, index);
		} else if (!(rc = sm_registry_policy_withdraw(r, arg, c->now, &err))) {
			sm_time_format(c->now, when);
			doc = json_pack("{s:s, s:s}", "name", arg, "withdrawn_at", when);
		}
		if (!rc && !doc)
			rc = SM_ENOMEM;
		rc = rc ? fail(c, rc, &err) : EXIT_OK;
	}
	if (!rc)
		rc = print_policy_answer(c, sub, doc);
	json_decref(doc);
	sm_registry_close(r);
	return rc;
}

int cmd_policy(cli *c, int argc, char **argv)
{
	opt o[] = { { 0 } };
	const char *pos[2];
	size_t np, n = 0;
	sm_err err = { 0 };
	sm_policy pol;
	scheme sch = { 0 };
	uint8_t *text = NULL;
	sm_registry *r = NULL;
	int rc = opt_parse(c, "policy", argc, argv, o, pos, 2, &np);
	if (rc)
		goto out;
	bool known = np >= 1 && (strcmp(pos[0], "check") == 0 || strcmp(pos[0], "publish") == 0 ||
				 strcmp(pos[0], "withdraw") == 0 || strcmp(pos[0], "list") == 0);
	if (!known || np != (strcmp(pos[0], "list") == 0 ? 1u : 2u)) {
		rc = usage_error(c, "policy: usage: starmark policy check FILE [--trust FILE] | policy publish FILE | "
				    "policy list | policy withdraw NAME");
		goto out;
	}
	if (strcmp(pos[0], "check") != 0) {
		rc = published(c, pos[0], np == 2 ? pos[1] : NULL);
		goto out;
	}
	const char *file = pos[1];
	if ((rc = sm_file_read(file, SM_POLICY_MAX_SIZE, &text, &n, &err))) {
		rc = fail(c, rc, &err);
		goto out;
	}
	if ((rc = sm_policy_parse((const char *)text, n, &pol, &err))) {
		sm_err_wrap(&err, rc, NULL, "%s", file);
		rc = fail(c, rc, &err);
		goto out;
	}
	if (c->trust) {
		if ((rc = scheme_of_anchor(c, &sch, &err))) {
			rc = fail(c, rc, &err);
			goto out;
		}
	} else if (registry_exists(c->db)) {
		if ((rc = open_registry(c, false, &r)))
			goto out;
		snprintf(sch.name, sizeof(sch.name), "%s", sm_registry_trust(r)->scheme);
		sch.levels = sm_registry_trust(r)->levels;
		sch.source = "registry";
		sch.where = c->db;
	}
	if (sch.levels && (rc = sm_policy_fits(&pol, sch.levels, &err))) {
		sm_err_wrap(&err, rc, NULL, "%s", file);
		rc = fail(c, rc, &err);
		goto out;
	}
	if (c->json)
		rc = print_json(summary_json(&pol, &sch));
	else
		print_summary(&pol, &sch);
out:
	sm_registry_close(r);
	free(text);
	return rc;
}
