/* SPDX-License-Identifier: Apache-2.0 */
/* The verbs through a starmarkd (--server): admin API for changes, public API for reads, offline checks. */
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "starmark/answer.h"
#include "starmark/client.h"
#include "starmark/status.h"
#include "starmark/sync.h"

int cli_client(const cli *c, sm_client **out, sm_err *err)
{
	int rc = sm_client_new(c->server, c->token, c->cacert, out, err);
	if (!rc && c->insecure)
		sm_client_allow_insecure(*out);
	return rc;
}

static int open_client(cli *c, sm_client **out)
{
	sm_err err = {0};
	int rc = cli_client(c, out, &err);
	return rc ? fail(c, rc, &err) : EXIT_OK;
}

/* GET a JSON document; on failure the message is printed and the exit code returned. */
static int get_json(cli *c, sm_client *cl, const char *path, json_t **out)
{
	sm_response resp;
	sm_err err = {0};
	json_error_t je;
	*out = NULL;
	int rc = sm_client_get(cl, path, &resp, &err);
	if (!rc && !(*out = json_loadb((const char *)resp.body, resp.len, JSON_REJECT_DUPLICATES, &je)))
		rc = sm_err_set(&err, SM_EIO, NULL, "the answer of %s%s is not JSON: %s", sm_client_base(cl),
		                path, je.text);
	sm_response_cleanup(&resp);
	return rc ? fail(c, rc, &err) : EXIT_OK;
}

static int post_json(cli *c, sm_client *cl, const char *path, json_t *body, json_t **out)
{
	sm_response resp = {0};
	sm_err err = {0};
	json_error_t je;
	*out = NULL;
	int rc = body ? sm_client_post_json(cl, path, body, &resp, &err)
	              : sm_err_set(&err, SM_ENOMEM, NULL, "out of memory");
	if (!rc && !(*out = json_loadb((const char *)resp.body, resp.len, JSON_REJECT_DUPLICATES, &je)))
		rc = sm_err_set(&err, SM_EIO, NULL, "the answer of %s%s is not JSON: %s", sm_client_base(cl),
		                path, je.text);
	sm_response_cleanup(&resp);
	json_decref(body); /* consumed, whatever happened */
	return rc ? fail(c, rc, &err) : EXIT_OK;
}

static int view_fail(cli *c, int rc, const sm_err *err)
{
	fprintf(stderr, "%s: the server's answer is not a certificate: %s\n", c->prog,
	        rc == SM_ENOMEM ? "out of memory" : err->msg);
	return EXIT_IO;
}

/* Print a certificate the server sent as `show` prints one. */
static int print_view(cli *c, json_t *j, const char *verb)
{
	sm_cert *cert = NULL;
	sm_err err = {0};
	if (c->json)
		return print_json(json_incref(j));
	int rc = sm_cert_from_view(j, &cert, &err);
	if (rc)
		return view_fail(c, rc, &err);
	if (!verb)
		print_cert(cert, sm_date_from_time(c->now));
	else if (strcmp(verb, "issue") == 0)
		printf("%s\n", cert->id);
	else
		printf("%s %s: %s\n", cert->id, verb, sm_cert_status_name(cert, sm_date_from_time(c->now)));
	sm_cert_free(cert);
	return EXIT_OK;
}

static json_t *date_json(sm_date d)
{
	char b[11];
	sm_date_format(d, b);
	return json_string(b);
}

int remote_issue(cli *c, const sm_cert *draft)
{
	sm_client *cl = NULL;
	json_t *out = NULL;
	/* the issue body is the certificate's view without what the registry assigns */
	json_t *body = sm_cert_to_json(draft, sm_date_from_time(c->now));
	json_object_del(body, "id");
	json_object_del(body, "scheme");
	json_object_del(body, "status");
	json_object_del(body, "history");
	json_object_del(json_object_get(body, "firmware"), "revoked");
	int rc = open_client(c, &cl);
	if (rc) {
		json_decref(body);
	} else if (!(rc = post_json(c, cl, "/v1/admin/certs", body, &out))) {
		rc = print_view(c, out, "issue");
	}
	json_decref(out);
	sm_client_free(cl);
	return rc;
}

static json_t *strv_json(char *const *v, size_t n)
{
	json_t *a = json_array();
	for (size_t i = 0; a && i < n; i++)
		json_array_append_new(a, json_string(v[i]));
	return a;
}

int remote_event(cli *c, const sm_event *e, const char *verb)
{
	sm_client *cl = NULL;
	json_t *out = NULL, *body = json_pack("{s:s}", "event", sm_event_name(e->type));
	char *id = sm_client_escape(e->id), path[160];
	if (body && e->reason)
		json_object_set_new(body, "reason", json_string(e->reason));
	if (body && e->nversions)
		json_object_set_new(body, "versions", strv_json(e->versions, e->nversions));
	if (body && e->nmodels)
		json_object_set_new(body, "add_models", strv_json(e->models, e->nmodels));
	if (body && e->firmware)
		json_object_set_new(body, "add_firmware", json_string(e->firmware));
	if (body && e->support_end != SM_DATE_NONE)
		json_object_set_new(body, "support_end", date_json(e->support_end));
	if (body && e->url)
		json_object_set_new(body, "url", json_string(e->url));
	if (body && e->expires != SM_DATE_NONE)
		json_object_set_new(body, "expires", date_json(e->expires));
	if (body && e->requirements)
		json_object_set_new(body, "requirements", json_string(e->requirements));
	int rc = id ? open_client(c, &cl) : EXIT_IO;
	if (!rc) {
		snprintf(path, sizeof(path), "/v1/admin/certs/%s/events", id);
		rc = post_json(c, cl, path, body, &out);
		body = NULL;
		if (!rc)
			rc = print_view(c, out, verb);
	}
	json_decref(body);
	json_decref(out);
	free(id);
	sm_client_free(cl);
	return rc;
}

int remote_show(cli *c, const char *id)
{
	sm_client *cl = NULL;
	json_t *j = NULL;
	char *eid = sm_client_escape(id), path[160];
	if (!eid || strlen(eid) > 120) {
		free(eid);
		return usage_error(c, "show: '%.40s' is not a certificate id", id);
	}
	snprintf(path, sizeof(path), "/v1/certs/%s", eid);
	int rc = open_client(c, &cl);
	if (!rc && !(rc = get_json(c, cl, path, &j)))
		rc = print_view(c, j, NULL);
	json_decref(j);
	free(eid);
	sm_client_free(cl);
	return rc;
}

static int add_param(sm_buf *b, const char *name, const char *value)
{
	char *v = value ? sm_client_escape(value) : NULL;
	int rc = !value ? 0 : v ? sm_buf_printf(b, "&%s=%s", name, v) : SM_ENOMEM;
	free(v);
	return rc;
}

/* Page through /v1/certs (the server's pages are fixed) to give what `list` with --offset/--limit gives. */
int remote_list(cli *c, const sm_filter *f)
{
	static const char *const status_names[] = {"active", "suspended", "revoked", "expired"};
	sm_client *cl = NULL;
	sm_buf q = SM_BUF_INIT;
	json_t *all = json_array(), *page = NULL;
	char lvl[8];
	size_t total = 0, per = 50, skip, got = 0;
	snprintf(lvl, sizeof(lvl), "%d", f->level);
	int rc = open_client(c, &cl);
	if (!rc &&
	    (add_param(&q, "vendor", f->vendor) || add_param(&q, "model", f->model) ||
	     add_param(&q, "level", f->level ? lvl : NULL) ||
	     add_param(&q, "status", f->status >= 0 && f->status < 4 ? status_names[f->status] : NULL) ||
	     add_param(&q, "q", f->q) || sm_buf_terminate(&q)))
		rc = EXIT_IO;
	for (uint64_t n = 0; !rc; n++) {
		if (n == 0) {
			skip = f->offset % per;
		}
		uint64_t pno = f->offset / per + 1 + n;
		char path[3072];
		if (q.len > 2000) {
			rc = usage_error(c, "the search terms are too long");
			break;
		}
		snprintf(path, sizeof(path), "/v1/certs?page=%llu%s", (unsigned long long)pno,
		         q.data ? (char *)q.data : "");
		if ((rc = get_json(c, cl, path, &page)))
			break;
		json_t *certs = json_object_get(page, "certificates"), *t = json_object_get(page, "total");
		json_t *pp = json_object_get(page, "per_page");
		if (!json_is_array(certs) || !json_is_integer(t) || json_integer_value(t) < 0) {
			fprintf(stderr, "%s: the server's list answer is malformed\n", c->prog);
			rc = EXIT_IO;
			break;
		}
		total = (size_t)json_integer_value(t);
		if (n == 0 && json_is_integer(pp) && json_integer_value(pp) > 0 &&
		    (size_t)json_integer_value(pp) != per) {
			per = (size_t)json_integer_value(
			    pp); /* the first page was asked with another size: ask again */
			json_decref(page);
			page = NULL;
			n = (uint64_t)-1;
			continue;
		}
		size_t i;
		json_t *x;
		json_array_foreach(certs, i, x)
		{
			if (i < skip || (f->limit && got == f->limit))
				continue;
			json_array_append(all, x);
			got++;
		}
		skip = 0;
		size_t seen = (size_t)(pno - 1) * per + json_array_size(certs);
		json_decref(page);
		page = NULL;
		if (json_array_size(certs) == 0 || seen >= total || (f->limit && got == f->limit) ||
		    pno >= 1000000)
			break;
	}
	if (!rc && c->json) {
		rc = print_json(json_pack("{s:O, s:I}", "certificates", all, "total", (json_int_t)total));
	} else if (!rc) {
		size_t i;
		json_t *x;
		json_array_foreach(all, i, x)
		{
			sm_cert *cert = NULL;
			sm_err err = {0};
			if ((rc = sm_cert_from_view(x, &cert, &err))) {
				rc = view_fail(c, rc, &err);
				break;
			}
			print_cert_line(cert, sm_date_from_time(c->now));
			sm_cert_free(cert);
		}
		if (!rc)
			fprintf(stderr, "%zu certificate%s%s\n", total, total == 1 ? "" : "s",
			        json_array_size(all) < total ? " (use --limit/--offset to page)" : "");
	}
	json_decref(page);
	json_decref(all);
	sm_buf_cleanup(&q);
	sm_client_free(cl);
	return rc;
}

/* ---- trust and the log ---- */

/*
 * The server's newest trust bundle, followed from the user's anchor (--trust / $STARMARK_TRUST).
 * On failure the reason is printed and the exit code returned: no anchor, unknown (3); a chain that
 * does not follow from it, not genuine (1); the network, 4.
 */
static int server_trust(cli *c, sm_client *cl, sm_trust *out)
{
	sm_anchor *a = NULL;
	sm_err err = {0};
	int rc = load_anchor(c, &a, &err);
	if (rc == SM_ENOTFOUND) {
		fprintf(stderr, "%s: %s\n", c->prog, err.msg);
		return EXIT_UNKNOWN;
	}
	if (!rc)
		rc = sm_sync_server_trust(cl, a, out, NULL, &err);
	sm_anchor_free(a);
	if (rc == SM_EVERIFY) {
		fprintf(stderr, "%s: the server's trust bundles do not follow from your trust anchor: %s\n", c->prog, err.msg);
		return EXIT_DENY;
	}
	return rc ? fail(c, rc, &err) : EXIT_OK;
}

int remote_trust(cli *c, const char *sub, const char *file, bool want_chain)
{
	sm_client *cl = NULL;
	sm_anchor *a = NULL;
	sm_trust *t = malloc(sizeof(*t));
	sm_trust_chain chain = {0};
	const sm_trust_link *top = NULL;
	sm_buf b = SM_BUF_INIT;
	char *vkey = NULL;
	sm_err err = {0};
	bool anchored = true;
	int rc = t ? open_client(c, &cl) : EXIT_IO;
	if (!rc && (rc = load_anchor(c, &a, &err)) == SM_ENOTFOUND) {
		/* shown for a look (the fingerprint to compare with the scheme owner's), never as verified */
		anchored = false;
		rc = 0;
	}
	if (!rc)
		rc = sm_sync_fetch_chain(cl, 1, &chain, &err);
	if (!rc && !anchored && chain.n == 0)
		rc = sm_err_set(&err, SM_EVERIFY, "trust", "the server publishes no trust bundle");
	if (!rc && !anchored)
		rc = sm_anchor_from_bytes(chain.v[0].p, chain.v[0].n, &a, &err);
	if (!rc)
		rc = sm_trust_follow(a, &chain, t, &top, NULL, &err);
	if (rc == SM_EVERIFY) {
		fprintf(stderr, "%s: the server's trust bundles do not follow from %s: %s\n", c->prog,
		        anchored ? "your trust anchor" : "its own first bundle", err.msg);
		rc = EXIT_DENY;
	} else if (rc) {
		rc = fail(c, rc, &err);
	}
	if (!rc && !anchored && strcmp(sub, "show") != 0) {
		fprintf(stderr, "%s: %s\n%s: nothing written: an export without an anchor would provision trust on "
		                "first use\n", c->prog, err.msg, c->prog);
		rc = EXIT_UNKNOWN;
	}
	if (!rc && (rc = sm_trust_log_vkey(t, &vkey, &err)))
		rc = fail(c, rc, &err);
	if (!rc && strcmp(sub, "show") == 0) {
		if (c->json)
			rc = print_json(sm_trust_to_json(t, vkey));
		else
			print_trust(t, vkey);
		if (!anchored) {
			fprintf(stderr, "%s: NOT VERIFIED: no trust anchor (--trust FILE|FINGERPRINT or $%s); compare "
			                "the root fingerprint with the one the scheme owner gave you\n",
			        c->prog, SM_ANCHOR_ENV);
			rc = EXIT_UNKNOWN;
		}
	} else if (!rc && want_chain) {
		if ((rc = sm_trust_chain_encode(&chain, &b)))
			rc = EXIT_IO;
		else
			rc = export_trust(c, t, file, b.data, b.len, true);
	} else if (!rc) {
		rc = export_trust(c, t, file, top->p, top->n, false);
	}
	free(vkey);
	sm_buf_cleanup(&b);
	sm_trust_chain_cleanup(&chain);
	sm_anchor_free(a);
	free(t);
	sm_client_free(cl);
	return rc;
}

static int remote_checkpoint(cli *c, sm_client *cl)
{
	sm_trust *t = malloc(sizeof(*t));
	sm_response resp = {0};
	sm_checkpoint cp;
	sm_err err = {0};
	char *vkey = NULL;
	int rc = t ? server_trust(c, cl, t) : EXIT_IO;
	if (!rc && (rc = sm_trust_log_vkey(t, &vkey, &err)))
		rc = fail(c, rc, &err);
	if (!rc && (rc = sm_client_get(cl, "/v1/log/checkpoint", &resp, &err)))
		rc = fail(c, rc, &err);
	/* printed as the server signed it, once it verifies with the log key of the trust bundle */
	if (!rc && (rc = sm_checkpoint_verify((const char *)resp.body, resp.len, vkey, &cp, &err))) {
		fprintf(stderr, "%s: the server's checkpoint does not verify: %s\n", c->prog, err.msg);
		rc = EXIT_DENY;
	}
	if (!rc && c->json)
		rc = print_json(json_pack("{s:s}", "checkpoint", (const char *)resp.body));
	else if (!rc)
		fputs((const char *)resp.body, stdout);
	sm_response_cleanup(&resp);
	free(vkey);
	free(t);
	return rc;
}

static int remote_entries(cli *c, sm_client *cl, const char *from_s, const char *count_s)
{
	char *end = NULL;
	unsigned long long from = 0, count = 100;
	if (from_s && (!*from_s || *from_s == '-' || (from = strtoull(from_s, &end, 10), *end)))
		return usage_error(c, "--from must be a whole number, not '%s'", from_s);
	if (count_s &&
	    (!*count_s || *count_s == '-' || (count = strtoull(count_s, &end, 10), *end) || count > 100000))
		return usage_error(c, "--count must be a whole number up to 100000, not '%s'", count_s);
	json_t *all = json_array();
	int rc = 0;
	while (count > 0 && !rc) {
		char path[96];
		json_t *page = NULL;
		unsigned long long ask = count < 1000 ? count : 1000;
		snprintf(path, sizeof(path), "/v1/log/entries?start=%llu&count=%llu", from, ask);
		if ((rc = get_json(c, cl, path, &page)))
			break;
		json_t *e = json_object_get(page, "entries");
		size_t n = json_array_size(e);
		json_array_extend(all, e);
		json_decref(page);
		if (n < ask)
			break;
		from += n;
		count -= n;
	}
	if (!rc && c->json) {
		rc = print_json(json_pack("{s:O}", "entries", all));
	} else if (!rc) {
		size_t i;
		json_t *x;
		json_array_foreach(all, i, x)
		{
			const char *d = json_string_value(json_object_get(x, "data"));
			uint8_t *p = NULL, leaf[SM_HASH_LEN];
			size_t n = 0;
			if (!d || sm_base64_decode(d, strlen(d), &p, &n, NULL) != 0) {
				fprintf(stderr, "%s: the server's log entry %zu is malformed\n", c->prog, i);
				rc = EXIT_IO;
				break;
			}
			sm_merkle_leaf_hash(p, n, leaf);
			char *h = sm_hex_encode(leaf, sizeof(leaf));
			printf("%lld\t%zu bytes\tleaf %s\n",
			       (long long)json_integer_value(json_object_get(x, "index")), n, h ? h : "");
			free(h);
			free(p);
		}
	}
	json_decref(all);
	return rc;
}

int remote_log(cli *c, const char *sub, const char *from, const char *count)
{
	sm_client *cl = NULL;
	if (strcmp(sub, "checkpoint") != 0 && strcmp(sub, "entries") != 0)
		return usage_error(c, "log %s works on a local registry (--db), not with --server", sub);
	int rc = open_client(c, &cl);
	if (!rc)
		rc = strcmp(sub, "checkpoint") == 0 ? remote_checkpoint(c, cl)
		                                    : remote_entries(c, cl, from, count);
	sm_client_free(cl);
	return rc;
}

/* ---- check ---- */

static int verdict_exit(int v)
{
	return v == SM_DENY ? EXIT_DENY : v == SM_UNKNOWN ? EXIT_UNKNOWN : EXIT_OK;
}

/* Print a verdict as the local `check` does: the document with --json, else the verdict and its reasons. */
static int print_verdict(const cli *c, json_t *doc, const sm_check_result *res)
{
	if (c->json) {
		print_json(doc);
	} else {
		json_decref(doc);
		printf("%s\n", sm_verdict_name(res->verdict));
		for (size_t i = 0; i < res->nreasons; i++)
			printf("  %-22s %s\n", res->reasons[i].code, res->reasons[i].message);
	}
	if (res->verdict == SM_WARN)
		for (size_t i = 0; i < res->nreasons; i++)
			if (strcmp(res->reasons[i].code, "certified") != 0)
				fprintf(stderr, "warning: %s\n", res->reasons[i].message);
	return verdict_exit(res->verdict);
}

/* No usable data: the policy's answer (sm_verdict_unknown), printed as a verdict. */
static int unknown_verdict(const cli *c, const sm_check_req *q, const sm_policy *p, const char *code,
                           const char *msg)
{
	sm_check_result res = {0};
	if (sm_verdict_unknown(q, p, code, msg, &res) != 0)
		return fail(c, SM_EINVAL, NULL);
	if (res.verdict == SM_UNKNOWN) /* a warn prints its reasons as warnings already */
		fprintf(stderr, "%s: %s\n", c->prog, msg);
	return print_verdict(c, sm_check_to_json(&res, sm_date_from_time(c->now), 0, 0), &res);
}

static int offline_check(cli *c, const sm_check_req *q, const sm_policy *p, const char *cache)
{
	sm_cache *sc = NULL;
	sm_anchor *a = NULL;
	sm_err err = {0};
	sm_check_result res = {0};
	sm_snapshot_info info;
	int rc;
	if (!cache)
		return usage_error(c,
		                   "check --offline needs --cache DIR (the directory 'starmark sync' keeps)");
	/* the cache never supplies its own anchor: without the user's, nothing in it is believed */
	if ((rc = load_anchor(c, &a, &err)) == SM_ENOTFOUND)
		return unknown_verdict(c, q, p, "no_trust_anchor", err.msg);
	if (rc)
		return fail(c, rc, &err);
	rc = sm_cache_open(cache, a, &sc, &err);
	sm_anchor_free(a);
	if (rc == SM_ENOTFOUND || rc == SM_EVERIFY || rc == SM_EINVAL)
		return unknown_verdict(c, q, p, "no_data", err.msg);
	if (rc)
		return fail(c, rc, &err);
	if ((rc = sm_check_req_fits(q, p, sm_cache_trust(sc)->levels, &err))) {
		rc = fail(c, rc, &err);
	} else if ((rc = sm_cache_check(sc, q, p, c->now, &res, &info, &err)) == SM_ENOMEM) {
		rc = fail(c, rc, &err);
	} else if (rc) {
		rc = unknown_verdict(c, q, p, "no_data", err.msg);
	} else {
		rc = print_verdict(
		    c, sm_check_to_json(&res, sm_date_from_time(c->now), info.produced_at, info.next_update),
		    &res);
	}
	sm_check_result_cleanup(&res);
	sm_cache_close(sc);
	return rc;
}

static int online_check(cli *c, const sm_check_req *q, const sm_policy *p, bool policy_given,
                        const char *cache)
{
	sm_client *cl = NULL;
	sm_buf path = SM_BUF_INIT;
	sm_response resp = {0};
	sm_check_answer ans = {0};
	sm_trust *t = malloc(sizeof(*t));
	sm_err err = {0};
	char lvl[8],
	    *esc[4] = {sm_client_escape(q->vendor), sm_client_escape(q->model), sm_client_escape(q->firmware),
	               q->category ? sm_client_escape(q->category) : NULL};
	snprintf(lvl, sizeof(lvl), "%d", q->level);
	sm_anchor *a = NULL;
	int rc = load_anchor(c, &a, &err);
	sm_anchor_free(a);
	if (rc == SM_ENOTFOUND) { /* the server's word alone proves nothing */
		rc = unknown_verdict(c, q, p, "no_trust_anchor", err.msg);
		goto out;
	}
	if (!rc && !t)
		rc = SM_ENOMEM;
	if (rc) {
		rc = fail(c, rc, &err);
		goto out;
	}
	if ((rc = open_client(c, &cl)))
		goto out;
	if (!esc[0] || !esc[1] || !esc[2] || (q->category && !esc[3]) ||
	    sm_buf_printf(&path, "/v1/check?vendor=%s&model=%s&firmware=%s", esc[0], esc[1], esc[2]) ||
	    (esc[3] && sm_buf_printf(&path, "&category=%s", esc[3])) ||
	    (q->level && sm_buf_printf(&path, "&level=%s", lvl)) || sm_buf_terminate(&path)) {
		rc = EXIT_IO;
		goto out;
	}
	int lrc = sm_client_get(cl, (const char *)path.data, &resp, &err);
	if (lrc == SM_EIO && cache) { /* the network is down: the cache answers */
		fprintf(stderr, "%s: %s; answering from the cache %s\n", c->prog, err.msg, cache);
		rc = offline_check(c, q, p, cache);
		goto out;
	}
	if (lrc) {
		rc = fail(c, lrc, &err);
		goto out;
	}
	if ((rc = server_trust(c, cl, t)))
		goto out;
	lrc = sm_check_answer_judge((const char *)resp.body, resp.len, q, p, policy_given, t, c->now, &ans, &err);
	if (lrc) {
		rc = fail(c, lrc, &err);
		goto out;
	}
	json_t *doc = NULL;
	if (ans.kind == SM_ANSWER_VERIFIED) {
		char at[21], nx[21];
		sm_time_format(ans.st.produced_at, at);
		sm_time_format(ans.st.next_update, nx);
		fprintf(stderr, "statement verified: %s, signed by the status key at %s, good until %s\n",
		        ans.st.cert->id, at, nx);
	} else if (ans.kind == SM_ANSWER_UNSIGNED_DENY) {
		fprintf(stderr, "%s: note: the answer carries no signed statement; a deny stands without one\n", c->prog);
	} else if (ans.res.verdict == SM_UNKNOWN) { /* a warn prints its reasons as warnings already */
		fprintf(stderr, "%s: %s\n", c->prog, ans.res.reasons[0].message);
	}
	if (ans.kind == SM_ANSWER_NO_STATEMENT || (ans.kind == SM_ANSWER_VERIFIED && policy_given)) {
		/* the verdict made here: from the statement's facts under the policy, or from no data */
		doc = sm_check_to_json(&ans.res, sm_date_from_time(c->now), ans.kind == SM_ANSWER_VERIFIED ? ans.st.produced_at : 0,
		                       ans.kind == SM_ANSWER_VERIFIED ? ans.st.next_update : 0);
		if (doc && ans.statement)
			json_object_set_new(doc, "statement", json_string(ans.statement));
	} else {
		/* the server's own answer: it follows from what it signed (or is a deny) */
		doc = json_loadb((const char *)resp.body, resp.len, JSON_REJECT_DUPLICATES, NULL);
		/* the certificate shown is what the server signed (the statement's facts), not its answer's unsigned copy */
		if (doc && ans.kind == SM_ANSWER_VERIFIED)
			json_object_set_new(doc, "certificate", sm_cert_to_json(ans.st.cert, sm_date_from_time(c->now)));
	}
	rc = print_verdict(c, doc, &ans.res);
out:
	sm_check_answer_cleanup(&ans);
	sm_response_cleanup(&resp);
	free(t);
	for (int k = 0; k < 4; k++)
		free(esc[k]);
	sm_buf_cleanup(&path);
	sm_client_free(cl);
	return rc;
}

int remote_check(cli *c, const sm_check_req *q, const sm_policy *p, bool policy_given, bool offline,
                 const char *cache)
{
	if (offline)
		return offline_check(c, q, p, cache);
	return online_check(c, q, p, policy_given, cache);
}

/* policy publish | list | withdraw through the server: the admin API for changes, GET /v1/policies to list. */
int remote_policy(cli *c, const char *sub, const sm_policy *p, const char *name, json_t **out)
{
	sm_client *cl = NULL;
	sm_response resp = {0};
	sm_err err = {0};
	json_error_t je;
	char path[256];
	*out = NULL;
	int rc = open_client(c, &cl);
	if (rc)
		return rc;
	if (strcmp(sub, "list") == 0) {
		rc = get_json(c, cl, "/v1/policies", out);
		sm_client_free(cl);
		return rc;
	}
	char *esc = sm_client_escape(strcmp(sub, "publish") == 0 ? p->name : name);
	if (!esc || strlen(esc) > 200) {
		free(esc);
		sm_client_free(cl);
		return usage_error(c, "policy %s: the policy name is too long", sub);
	}
	snprintf(path, sizeof(path), "/v1/admin/policies/%s", esc);
	free(esc);
	if (strcmp(sub, "publish") == 0) {
		json_t *body = sm_policy_to_json(p);
		rc = body ? sm_client_put_json(cl, path, body, &resp, &err) : sm_err_set(&err, SM_ENOMEM, NULL, "out of memory");
		json_decref(body);
	} else {
		rc = sm_client_delete(cl, path, &resp, &err);
	}
	if (!rc && !(*out = json_loadb((const char *)resp.body, resp.len, JSON_REJECT_DUPLICATES, &je)))
		rc = sm_err_set(&err, SM_EIO, NULL, "the answer of %s%s is not JSON: %s", sm_client_base(cl), path, je.text);
	sm_response_cleanup(&resp);
	sm_client_free(cl);
	return rc ? fail(c, rc, &err) : EXIT_OK;
}
