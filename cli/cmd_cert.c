/* SPDX-License-Identifier: Apache-2.0 */
/* Verbs on certificates: init, issue, lifecycle events, show, list, search. */
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>

#include "cli.h"
#include "starmark/textfold.h"

const char *stars(int level)
{
	static const char *const s[] = { "", "★", "★★", "★★★", "★★★★", "★★★★★", "★★★★★★", "★★★★★★★", "★★★★★★★★",
					 "★★★★★★★★★" };
	return level >= 0 && level <= 9 ? s[level] : "?";
}

const char *plural(unsigned long long n, const char *one, const char *many)
{
	return n == 1 ? one : many;
}

int pad_cols(const char *s, int cols)
{
	size_t w = sm_text_width(s, strlen(s));
	return w >= (size_t)cols ? 0 : cols - (int)w;
}

static void date_or_dash(sm_date d, char out[11])
{
	if (d == SM_DATE_NONE)
		memcpy(out, "-", 2);
	else
		sm_date_format(d, out);
}

void print_cert(const sm_cert *c, sm_date today)
{
	char reg[11], exp[11], sup[11];
	date_or_dash(c->registered, reg);
	date_or_dash(c->expires, exp);
	date_or_dash(c->support_end, sup);
	printf("%s  %s  %s level %d  %s\n", c->id, stars(c->level), c->scheme, c->level, sm_cert_status_name(c, today));
	printf("  vendor        %s  %s\n", c->vendor, c->vendor_name);
	if (c->scheme_ref)
		printf("  scheme ref    %s\n", c->scheme_ref);
	printf("  product       %s\n", c->product);
	printf("  models        ");
	for (size_t i = 0; i < c->nmodels; i++)
		printf("%s%s", i ? ", " : "", c->models[i]);
	printf("\n  category      %s\n", c->category ? c->category : "-");
	printf("  firmware      %s\n", c->firmware);
	if (c->nrevoked) {
		printf("  revoked fw    ");
		for (size_t i = 0; i < c->nrevoked; i++)
			printf("%s%s", i ? ", " : "", c->revoked[i]);
		printf("\n");
	}
	printf("  registered    %s\n  expires       %s\n  support end   %s\n", reg, exp, sup);
	if (c->requirements)
		printf("  requirements  %s\n", c->requirements);
	if (c->url)
		printf("  url           %s\n", c->url);
	printf("  history\n");
	for (size_t i = 0; i < c->nhistory; i++) {
		char at[21];
		sm_time_format(c->history[i].at, at);
		printf("    %s  %-16s log #%llu%s%s\n", at, sm_event_name(c->history[i].type),
		       (unsigned long long)c->history[i].index, c->history[i].reason ? "  " : "",
		       c->history[i].reason ? c->history[i].reason : "");
	}
}

void print_cert_line(const sm_cert *c, sm_date today)
{
	int pad = c->level < 4 ? 4 - c->level : 1; /* a star is three bytes but one column */
	const char *model = c->nmodels ? c->models[0] : "";
	/* a model number may be full-width: padded by columns, not bytes */
	printf("%-16s %s%*s %-9s %-8s %s%*s %s\n", c->id, stars(c->level), pad, "", sm_cert_status_name(c, today),
	       c->vendor, model, pad_cols(model, 24), "", c->product);
}

static int parse_int(const cli *c, const char *opt_name, const char *s, int lo, int hi, int *out)
{
	char *end = NULL;
	long v = s ? strtol(s, &end, 10) : 0;
	if (!s || !*s || *end || v < lo || v > hi)
		return usage_error(c, "--%s must be a number %d..%d, not '%s'", opt_name, lo, hi, s ? s : "");
	*out = (int)v;
	return 0;
}

int cmd_init(cli *c, int argc, char **argv)
{
	opt o[] = { { "scheme", true }, { "levels", true }, { "origin", true }, { 0 } };
	const char *pos[1];
	size_t np;
	int rc = opt_parse(c, "init", argc, argv, o, pos, 0, &np);
	if (rc)
		return rc;
	sm_init_opts io = { "CCDS", 3, "starmark.localhost", NULL, c->now };
	if (o[0].seen)
		io.scheme = o[0].value;
	if (o[1].seen && (rc = parse_int(c, "levels", o[1].value, 1, SM_LEVELS_MAX, &io.levels)))
		return rc;
	if (o[2].seen)
		io.origin = o[2].value;
	sm_err err = { 0 };
	char *pass = NULL;
	if (c->passphrase_file && (rc = sm_passphrase_read(c->passphrase_file, &pass, &err)))
		return fail(c, rc, &err);
	io.passphrase = pass;
	char fp[65];
	rc = sm_registry_init(c->db, &io, fp, &err);
	if (pass) {
		OPENSSL_cleanse(pass, strlen(pass));
		free(pass);
	}
	if (rc)
		return fail(c, rc, &err);
	if (c->json)
		return print_json(json_pack("{s:s, s:s, s:i, s:s, s:s}", "db", c->db, "scheme", io.scheme, "levels",
					    io.levels, "origin", io.origin, "root_fingerprint", fp));
	printf("%s\n", fp);
	fprintf(stderr, "created registry %s (%s, %d %s, origin %s); the line above is the root key's fingerprint:\n"
			"give it to gateways and scanners so that they can check the trust bundle.\n",
		c->db, io.scheme, io.levels, plural((unsigned long long)io.levels, "level", "levels"), io.origin);
	return EXIT_OK;
}

static int dup_opt(opt *o, char **dst)
{
	if (!o->seen)
		return 0;
	*dst = strdup(o->value);
	return *dst ? 0 : EXIT_IO;
}

static int date_opt(const cli *c, opt *o, const char *field, bool allow_month, sm_date *out)
{
	sm_err err = { 0 };
	if (!o->seen)
		return 0;
	int rc = sm_date_parse(o->value, allow_month, field, out, &err);
	return rc ? fail(c, rc, &err) : 0;
}

static int strv_opt(opt *o, char ***v, size_t *n)
{
	if (!o->n)
		return 0;
	*v = calloc(o->n, sizeof(char *));
	if (!*v)
		return EXIT_IO;
	for (size_t i = 0; i < o->n; i++) {
		if (!((*v)[i] = strdup(o->values[i])))
			return EXIT_IO;
		*n = i + 1;
	}
	return 0;
}

static void free_opts(opt *o)
{
	for (; o->name; o++)
		free(o->values);
}

static int show_result(const cli *c, const sm_cert *cert, bool id_only)
{
	sm_date today = sm_date_from_time(c->now);
	if (c->json)
		return print_json(sm_cert_to_json(cert, today));
	if (id_only)
		printf("%s\n", cert->id);
	else
		print_cert(cert, today);
	return EXIT_OK;
}

int cmd_issue(cli *c, int argc, char **argv)
{
	opt o[] = { { "vendor", true }, { "vendor-name", true }, { "product", true }, { "model", true, true },
		    { "level", true }, { "firmware", true }, { "category", true }, { "registered", true },
		    { "expires", true }, { "support-end", true }, { "requirements", true }, { "url", true },
		    { "scheme-ref", true }, { 0 } };
	const char *pos[1];
	size_t np;
	sm_registry *r = NULL;
	sm_cert *draft = sm_cert_new(), *out = NULL;
	sm_err err = { 0 };
	int rc = draft ? opt_parse(c, "issue", argc, argv, o, pos, 0, &np) : EXIT_IO;
	if (rc)
		goto out;
	for (int i = 0; i < 6; i++)
		if (!o[i].seen) {
			rc = usage_error(c, "issue: --%s is required", o[i].name);
			goto out;
		}
	if (strlen(o[0].value) <= SM_VENDOR_MAX)
		memcpy(draft->vendor, o[0].value, strlen(o[0].value) + 1);
	else if ((rc = sm_check_vendor(o[0].value, &err)))
		goto fail;
	if ((rc = dup_opt(&o[1], &draft->vendor_name)) || (rc = dup_opt(&o[2], &draft->product)) ||
	    (rc = strv_opt(&o[3], &draft->models, &draft->nmodels)) ||
	    (rc = parse_int(c, "level", o[4].value, 1, SM_LEVELS_MAX, &draft->level)) ||
	    (rc = dup_opt(&o[5], &draft->firmware)) || (rc = dup_opt(&o[6], &draft->category)) ||
	    (rc = date_opt(c, &o[7], "registered", false, &draft->registered)) ||
	    (rc = date_opt(c, &o[8], "expires", false, &draft->expires)) ||
	    (rc = date_opt(c, &o[9], "support_end", true, &draft->support_end)) ||
	    (rc = dup_opt(&o[10], &draft->requirements)) || (rc = dup_opt(&o[11], &draft->url)) ||
	    (rc = dup_opt(&o[12], &draft->scheme_ref)))
		goto out;
	if (!o[7].seen) /* registered today unless said */
		draft->registered = sm_date_from_time(c->now);
	if (c->server) {
		rc = remote_issue(c, draft);
		goto out;
	}
	if ((rc = open_registry(c, true, &r)))
		goto out;
	if ((rc = sm_registry_issue(r, draft, c->now, &out, &err)))
		goto fail;
	rc = show_result(c, out, true);
	goto out;
fail:
	rc = fail(c, rc, &err);
out:
	free_opts(o);
	sm_cert_free(draft);
	sm_cert_free(out);
	sm_registry_close(r);
	return rc;
}

int cmd_event(cli *c, int argc, char **argv)
{
	opt o[] = { { "reason", true }, { "add-model", true, true }, { "add-firmware", true, true },
		    { "support-end", true }, { "url", true }, { "expires", true }, { "requirements", true }, { 0 } };
	const char *pos[SM_REVOKED_MAX + 1];
	size_t np;
	sm_registry *r = NULL;
	sm_cert *out = NULL;
	sm_err err = { 0 };
	int type = sm_event_from_name(argv[0]);
	sm_event *e = sm_event_new(type);
	int rc = e ? opt_parse(c, argv[0], argc, argv, o, pos, type == SM_EV_FW_REVOKE ? SM_REVOKED_MAX + 1 : 1, &np)
		   : EXIT_IO;
	if (rc)
		goto out;
	if (np < 1 || (type == SM_EV_FW_REVOKE && np < 2)) {
		rc = usage_error(c, "%s: usage: starmark %s ID%s", argv[0], argv[0],
				 type == SM_EV_FW_REVOKE ? " VERSION... --reason TEXT" : " ...");
		goto out;
	}
	/* each event takes only its own options */
	static const char *const allowed[] = {
		[SM_EV_AMEND] = "reason add-model add-firmware support-end url",
		[SM_EV_FW_REVOKE] = "reason", [SM_EV_SUSPEND] = "reason", [SM_EV_REVOKE] = "reason",
		[SM_EV_REINSTATE] = "reason", [SM_EV_RENEW] = "reason expires requirements",
	};
	for (opt *p = o; p->name; p++)
		if (p->seen && !strstr(allowed[type], p->name)) {
			rc = usage_error(c, "%s does not take --%s", argv[0], p->name);
			goto out;
		}
	if (strlen(pos[0]) > SM_ID_MAX) {
		rc = usage_error(c, "%s: '%.40s...' is not a certificate id", argv[0], pos[0]);
		goto out;
	}
	memcpy(e->id, pos[0], strlen(pos[0]) + 1);
	if ((rc = dup_opt(&o[0], &e->reason)) || (rc = strv_opt(&o[1], &e->models, &e->nmodels)) ||
	    (rc = date_opt(c, &o[3], "support_end", true, &e->support_end)) || (rc = dup_opt(&o[4], &e->url)) ||
	    (rc = date_opt(c, &o[5], "expires", false, &e->expires)) || (rc = dup_opt(&o[6], &e->requirements)))
		goto out;
	if (o[2].n) { /* several --add-firmware join into one spec */
		sm_buf b = SM_BUF_INIT;
		for (size_t i = 0; i < o[2].n && !rc; i++)
			rc = sm_buf_printf(&b, "%s%s", i ? "," : "", o[2].values[i]);
		e->firmware = rc ? NULL : (char *)sm_buf_take(&b, NULL);
		sm_buf_cleanup(&b);
		if (!e->firmware) {
			rc = EXIT_IO;
			goto out;
		}
	}
	if (type == SM_EV_FW_REVOKE) {
		e->versions = calloc(np - 1, sizeof(char *));
		for (size_t i = 1; e->versions && i < np; i++) {
			if (!(e->versions[i - 1] = strdup(pos[i])))
				break;
			e->nversions = i;
		}
		if (e->nversions != np - 1) {
			rc = EXIT_IO;
			goto out;
		}
	}
	if (c->server) {
		rc = remote_event(c, e, argv[0]);
		goto out;
	}
	if ((rc = open_registry(c, true, &r)))
		goto out;
	if ((rc = sm_registry_event(r, e, c->now, &out, &err))) {
		rc = fail(c, rc, &err);
		goto out;
	}
	if (c->json) {
		rc = print_json(sm_cert_to_json(out, sm_date_from_time(c->now)));
	} else {
		printf("%s %s: %s\n", out->id, argv[0], sm_cert_status_name(out, sm_date_from_time(c->now)));
		rc = EXIT_OK;
	}
out:
	free_opts(o);
	sm_event_free(e);
	sm_cert_free(out);
	sm_registry_close(r);
	return rc;
}

int cmd_show(cli *c, int argc, char **argv)
{
	opt o[] = { { 0 } };
	const char *pos[1];
	size_t np;
	sm_registry *r = NULL;
	sm_cert *cert = NULL;
	sm_err err = { 0 };
	int rc = opt_parse(c, "show", argc, argv, o, pos, 1, &np);
	if (rc)
		return rc;
	if (np != 1)
		return usage_error(c, "show: usage: starmark show ID");
	if (c->server)
		return remote_show(c, pos[0]);
	if ((rc = open_registry(c, false, &r)))
		return rc;
	if ((rc = sm_registry_get(r, pos[0], &cert, &err)))
		rc = fail(c, rc, &err);
	else
		rc = show_result(c, cert, false);
	sm_cert_free(cert);
	sm_registry_close(r);
	return rc;
}

static int run_list(cli *c, sm_filter *f)
{
	sm_registry *r = NULL;
	sm_cert_list l;
	sm_err err = { 0 };
	if (c->server)
		return remote_list(c, f);
	int rc = open_registry(c, false, &r);
	if (rc)
		return rc;
	f->today = sm_date_from_time(c->now);
	if ((rc = sm_registry_list(r, f, &l, &err))) {
		sm_registry_close(r);
		return fail(c, rc, &err);
	}
	if (c->json) {
		json_t *a = json_array();
		for (size_t i = 0; i < l.n; i++)
			json_array_append_new(a, sm_cert_to_json(l.v[i], f->today));
		rc = print_json(json_pack("{s:o, s:I}", "certificates", a, "total", (json_int_t)l.total));
	} else {
		for (size_t i = 0; i < l.n; i++)
			print_cert_line(l.v[i], f->today);
		fprintf(stderr, "%zu certificate%s%s\n", l.total, l.total == 1 ? "" : "s",
			l.n < l.total ? " (use --limit/--offset to page)" : "");
	}
	sm_cert_list_cleanup(&l);
	sm_registry_close(r);
	return rc;
}

static int page_opts(const cli *c, opt *lim, opt *off, sm_filter *f)
{
	int v = 0, rc = 0;
	if (lim->seen && (rc = parse_int(c, "limit", lim->value, 1, 1000000, &v)))
		return rc;
	f->limit = (size_t)v;
	v = 0;
	if (off->seen && (rc = parse_int(c, "offset", off->value, 0, 100000000, &v)))
		return rc;
	f->offset = (size_t)v;
	return 0;
}

int cmd_list(cli *c, int argc, char **argv)
{
	opt o[] = { { "vendor", true }, { "level", true }, { "status", true }, { "model", true }, { "limit", true },
		    { "offset", true }, { "q", true }, { "category", true }, { 0 } };
	const char *pos[1];
	size_t np;
	sm_filter f = { 0 };
	sm_err err = { 0 };
	f.status = -1;
	int rc = opt_parse(c, "list", argc, argv, o, pos, 0, &np);
	if (rc)
		return rc;
	if (o[0].seen && (rc = sm_check_vendor(o[0].value, &err)))
		return fail(c, rc, &err);
	f.vendor = o[0].value;
	if (o[1].seen && (rc = parse_int(c, "level", o[1].value, 1, SM_LEVELS_MAX, &f.level)))
		return rc;
	if (o[2].seen && (f.status = sm_status_from_name(o[2].value)) < 0)
		return usage_error(c, "list: --status is active, suspended, revoked or expired, not '%s'", o[2].value);
	if (o[3].seen) {
		if ((rc = sm_check_model(o[3].value, "model", &err)))
			return fail(c, rc, &err);
		if (!f.vendor)
			return usage_error(c, "list: --model needs --vendor (a model number is unique within a vendor)");
		f.model = o[3].value;
	}
	if ((rc = page_opts(c, &o[4], &o[5], &f)))
		return rc;
	/* search text with the filters: the search's certificates that pass them (as GET /v1/certs?q=) */
	if (o[6].seen && !*o[6].value)
		return usage_error(c, "list: --q needs some text to search for");
	f.q = o[6].seen ? o[6].value : NULL;
	f.category = o[7].seen ? o[7].value : NULL;
	return run_list(c, &f);
}

int cmd_search(cli *c, int argc, char **argv)
{
	opt o[] = { { "limit", true }, { "offset", true }, { 0 } };
	const char *pos[1];
	size_t np;
	sm_filter f = { 0 };
	f.status = -1;
	int rc = opt_parse(c, "search", argc, argv, o, pos, 1, &np);
	if (rc)
		return rc;
	if (np != 1 || !*pos[0])
		return usage_error(c, "search: usage: starmark search TEXT");
	f.q = pos[0];
	if ((rc = page_opts(c, &o[0], &o[1], &f)))
		return rc;
	return run_list(c, &f);
}
