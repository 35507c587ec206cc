/* SPDX-License-Identifier: Apache-2.0 */
/* label verify: is a label genuine, and what does it claim — offline, against the trust bundle. */
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "starmark/label.h"

/* What was found, for the human and the JSON output alike. */
struct verdict {
	int rc; /* 0 genuine, SM_EVERIFY not genuine, other: unreadable */
	sm_err err;
	sm_label_claims cl;
	sm_cert *cert;      /* from the local registry, when there is one and it knows the id */
	const char *status; /* the certificate's current status, or NULL when not checked */
	bool checked;       /* a local registry was asked */
};

/* The user's anchor followed as far as it reaches by itself (a bundle file, or a chain file). */
static int anchor_trust(const cli *c, sm_trust *t)
{
	sm_anchor *a = NULL;
	sm_err err = {0};
	char what[200];
	int rc = load_anchor(c, &a, &err);
	if (rc) {
		fprintf(stderr, "%s: label verify: %s\n", c->prog, err.msg);
		return rc == SM_ENOTFOUND && !c->trust ? EXIT_UNKNOWN : exit_code(rc);
	}
	if (sm_trust_follow(a, NULL, t, NULL, NULL, &err) != 0) {
		fprintf(stderr, "%s: label verify: a root key fingerprint alone cannot verify a label offline: give a "
		                "trust bundle file ('starmark trust export'), or --server URL\n", c->prog);
		sm_anchor_free(a);
		return EXIT_UNKNOWN;
	}
	sm_anchor_describe(a, what, sizeof(what));
	fprintf(stderr, "verified against %s\n", what);
	sm_anchor_free(a);
	return 0;
}

static json_t *claims_json(const sm_label_claims *cl)
{
	char reg[11], at[21];
	char *kid = sm_hex_encode(cl->kid, SM_KID_LEN);
	sm_date_format(cl->registered, reg);
	sm_time_format(cl->issued_at, at);
	json_t *j = json_pack("{s:s, s:I, s:s, s:i, s:s, s:s, s:s, s:s, s:s, s:s?}", "id", cl->id, "serial",
	                      (json_int_t)cl->serial, "scheme", cl->scheme, "level", cl->level, "stars",
	                      stars(cl->level), "vendor", cl->vendor, "model", cl->model, "registered", reg,
	                      "issued_at", at, "kid", kid);
	free(kid);
	return j;
}

static int print_verdict_json(const struct verdict *v, sm_date today)
{
	const char *word = v->rc == 0 ? "genuine" : v->rc == SM_EVERIFY ? "not-genuine" : v->rc == SM_ENOTFOUND ? "unknown-signer" : "unreadable";
	json_t *j = json_pack("{s:b, s:s, s:s?, s:o, s:s?, s:o}", "genuine", v->rc == 0, "verdict", word,
	                      "reason", v->rc ? v->err.msg : NULL, "claims",
	                      v->rc == 0 ? claims_json(&v->cl) : json_null(), "status", v->status,
	                      "certificate", v->cert ? sm_cert_to_json(v->cert, today) : json_null());
	return j ? print_json(j) : EXIT_IO;
}

static void upper(const char *s, char *out, size_t cap)
{
	size_t i = 0;
	for (; s[i] && i + 1 < cap; i++)
		out[i] = s[i] >= 'a' && s[i] <= 'z' ? (char)(s[i] - 'a' + 'A') : s[i];
	out[i] = '\0';
}

static void print_verdict_text(const cli *c, const struct verdict *v)
{
	if (v->rc == SM_EVERIFY) {
		printf("NOT GENUINE: %s\n", v->err.msg);
		return;
	}
	if (v->rc == SM_ENOTFOUND) {
		printf("UNKNOWN SIGNER: %s\n", v->err.msg);
		return;
	}
	if (v->rc != 0) {
		fprintf(stderr, "%s: label verify: unreadable: %s\n", c->prog, v->err.msg);
		return;
	}
	const sm_label_claims *cl = &v->cl;
	char s[16], reg[11], at[21];
	if (v->status) {
		upper(v->status, s, sizeof(s));
		printf("CURRENT STATUS: %s%s\n", s,
		       strcmp(v->status, "active") == 0
		           ? ""
		           : "  (the label is genuine, but the certificate no longer holds)");
	} else if (v->checked) {
		printf("CURRENT STATUS: UNKNOWN  (certificate %s is not in this registry)\n", cl->id);
	}
	sm_date_format(cl->registered, reg);
	sm_time_format(cl->issued_at, at);
	char *kid = sm_hex_encode(cl->kid, SM_KID_LEN);
	printf("GENUINE label of certificate %s\n", cl->id);
	printf("  level        %s  (%s level %d)\n", stars(cl->level), cl->scheme, cl->level);
	printf("  scheme       %s\n", cl->scheme);
	printf("  certificate  %s\n", cl->id);
	printf("  vendor       %s%s%s\n", cl->vendor, v->cert ? "  " : "",
	       v->cert ? v->cert->vendor_name : "");
	printf("  model        %s\n", cl->model);
	printf("  registered   %s\n", reg);
	if (v->cert && v->cert->expires != SM_DATE_NONE) {
		char exp[11];
		sm_date_format(v->cert->expires, exp);
		printf("  expires      %s  (from the registry)\n", exp);
	} else if (v->cert) {
		printf("  expires      never  (from the registry)\n");
	} else {
		printf("  expires      not on the label: ask the registry (--db) for the current expiry and "
		       "status\n");
	}
	printf("  labelled     %s  by issuer key %s\n", at, kid ? kid : "");
	if (!v->checked)
		printf("  status       not checked: no registry here (offline check of the label only)\n");
	free(kid);
}

int cmd_label_verify(cli *c, int argc, char **argv)
{
	opt o[] = {{"image", true}, {0}};
	const char *pos[1];
	size_t np = 0;
	sm_registry *r = NULL;
	sm_trust *own = NULL;
	const sm_trust *trust = NULL;
	char *scanned = NULL;
	uint8_t *tok = NULL;
	size_t n = 0;
	struct verdict v = {0};
	int rc = opt_parse(c, "label verify", argc, argv, o, pos, 1, &np);
	if (rc)
		return rc;
	if ((np == 1) == o[0].seen)
		return usage_error(
		    c, "label verify: give the label text or --image FILE, one of them "
		       "(starmark label verify 'HTTPS://HOST/L/...' | --image FILE [--trust FILE])");
	const char *text = np == 1 ? pos[0] : NULL;
	if (o[0].seen) {
		sm_err err = {0};
		if ((rc = sm_label_read_image(o[0].value, &scanned, &err)))
			return fail(c, rc, &err);
		text = scanned;
	}
	if (c->trust) {
		if (!(own = calloc(1, sizeof(*own)))) {
			rc = EXIT_IO;
			goto out;
		}
		if ((rc = anchor_trust(c, own)))
			goto out;
		trust = own;
	} else {
		if ((rc = open_registry(c, false, &r))) {
			fprintf(stderr,
			        "%s: label verify: without a registry here, give --trust FILE|FINGERPRINT "
			        "(a bundle written by 'starmark trust export FILE')\n",
			        c->prog);
			goto out;
		}
		trust = sm_registry_trust(r);
	}
	v.rc = sm_label_parse(text, strlen(text), &tok, &n, &v.err);
	if (!v.rc)
		v.rc = sm_label_verify(tok, n, trust, &v.cl, &v.err);
	if (v.rc == SM_ENOMEM) {
		rc = fail(c, v.rc, &v.err);
		goto out;
	}
	sm_date today = sm_date_from_time(c->now);
	if (v.rc == 0 && r) {
		sm_err err = {0};
		v.checked = true;
		int g = sm_registry_get(r, v.cl.id, &v.cert, &err);
		if (g == 0)
			v.status = sm_cert_status_name(v.cert, today);
		else if (g != SM_ENOTFOUND) {
			rc = fail(c, g, &err);
			goto out;
		}
	}
	if (c->json) {
		if (v.rc && v.rc != SM_EVERIFY && v.rc != SM_ENOTFOUND)
			fprintf(stderr, "%s: label verify: unreadable: %s\n", c->prog, v.err.msg);
		if ((rc = print_verdict_json(&v, today)))
			goto out;
	} else {
		print_verdict_text(c, &v);
	}
	if (v.status && strcmp(v.status, "active") != 0)
		fprintf(stderr,
		        "warning: certificate %s is %s now; the label is genuine but does not say it is "
		        "still good\n",
		        v.cl.id, v.status);
	rc = v.rc == 0 ? EXIT_OK : v.rc == SM_EVERIFY ? EXIT_DENY : v.rc == SM_ENOTFOUND ? EXIT_UNKNOWN : EXIT_USAGE;
out:
	sm_cert_free(v.cert);
	free(tok);
	free(scanned);
	free(own);
	sm_registry_close(r);
	return rc;
}
