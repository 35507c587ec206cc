/* SPDX-License-Identifier: Apache-2.0 */
/* The route table, query parsing, replies with ETag/304/HEAD, the error -> status table, access log. */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <event2/buffer.h>

#include "guard.h"
#include "server.h"

int64_t sm_now_us(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

/* $STARMARK_NOW, read once: -1 when unset (the environment does not change while serving). */
static int64_t fixed_now = -2;
static pthread_once_t fixed_once = PTHREAD_ONCE_INIT;

static void read_fixed_now(void)
{
	const char *s = getenv("STARMARK_NOW");
	sm_date d;
	fixed_now = !s || !*s ? -1 : sm_date_parse(s, false, "STARMARK_NOW", &d, NULL) == 0 ? (int64_t)d * 86400
												: strtoll(s, NULL, 10);
}

int64_t sm_server_now(void)
{
	pthread_once(&fixed_once, read_fixed_now);
	return fixed_now >= 0 ? fixed_now : (int64_t)time(NULL);
}

/* ---- query ---- */

static int hexval(char c)
{
	return c >= '0' && c <= '9' ? c - '0' : c >= 'a' && c <= 'f' ? c - 'a' + 10 : c >= 'A' && c <= 'F' ? c - 'A' + 10 : -1;
}

static void free_params(sm_req *q)
{
	sm_query_free(q->params, q->nparams);
	q->nparams = 0;
}

int sm_req_query(sm_req *q, const char *const *allowed)
{
	const char *raw = q->r->uri && q->r->uri->query_raw ? (const char *)q->r->uri->query_raw : "";
	sm_query_err e;
	if (sm_query_parse(raw, allowed, q->params, &q->nparams, &e) == 0)
		return 0;
	sm_reply_error(q, 400, e.code, e.field, "%s", e.msg);
	return -1;
}

const char *sm_req_param(const sm_req *q, const char *name)
{
	for (size_t i = 0; i < q->nparams; i++)
		if (strcmp(q->params[i].name, name) == 0)
			return q->params[i].value;
	return NULL;
}

int sm_req_u64(sm_req *q, const char *name, uint64_t dflt, uint64_t max, uint64_t *out)
{
	const char *v = sm_req_param(q, name);
	*out = dflt;
	if (!v)
		return 0;
	uint64_t x = 0;
	bool ok = *v != '\0' && strlen(v) <= 20;
	for (const char *c = v; ok && *c; c++) {
		ok = *c >= '0' && *c <= '9' && x <= (UINT64_MAX - (uint64_t)(*c - '0')) / 10;
		x = x * 10 + (uint64_t)(*c - '0');
	}
	if (!ok || x > max) {
		sm_reply_error(q, 400, "bad_parameter", name, "%s must be a whole number up to %llu", name,
			       (unsigned long long)max);
		return -1;
	}
	*out = x;
	return 0;
}

const char *sm_req_header(const sm_req *q, const char *name)
{
	return evhtp_kv_find(q->r->headers_in, name);
}

void sm_req_client(const sm_req *q, char *buf, size_t cap)
{
	sm_addr_text(q->r->conn ? q->r->conn->saddr : NULL, buf, cap);
}

void sm_addr_text(const struct sockaddr *sa, char *buf, size_t cap)
{
	buf[0] = '\0';
	if (sa && sa->sa_family == AF_INET)
		inet_ntop(AF_INET, &((const struct sockaddr_in *)(const void *)sa)->sin_addr, buf, (socklen_t)cap);
	else if (sa && sa->sa_family == AF_INET6)
		inet_ntop(AF_INET6, &((const struct sockaddr_in6 *)(const void *)sa)->sin6_addr, buf, (socklen_t)cap);
	else
		snprintf(buf, cap, "-");
}

/* ---- replies ---- */

void sm_send(sm_req *q, int status)
{
	sm_guard_head_fixup(q->r); /* libevhtp would send a body after HEAD */
	size_t at = q->r->conn && q->r->conn->bev ? evbuffer_get_length(bufferevent_get_output(q->r->conn->bev)) : 0;
	evhtp_send_reply(q->r, (evhtp_res)status);
	sm_guard_reason_fixup(q->r, at, (unsigned)status);
}

static void add_header(sm_req *q, const char *k, const char *v)
{
	evhtp_headers_add_header(q->r->headers_out, evhtp_header_new(k, v, 1, 1));
}

/*
 * A header whose name and value outlive the reply's sending: string constants, or strings of the
 * caller of sm_reply_tagged, which sends before it returns (libevhtp writes the headers out in
 * evhtp_send_reply). No copies on the hot path: each copy was two more mallocs a request.
 */
static void add_static_header(sm_req *q, const char *k, const char *v)
{
	evhtp_headers_add_header(q->r->headers_out, evhtp_header_new(k, v, 0, 0));
}

void sm_etag_of(const void *p, size_t n, char tag[48])
{
	uint8_t h[32];
	sm_sha256(p, n, h);
	snprintf(tag, 48, "\"%02x%02x%02x%02x%02x%02x%02x%02x%02x%02x%02x%02x\"", h[0], h[1], h[2], h[3], h[4], h[5],
		 h[6], h[7], h[8], h[9], h[10], h[11]);
}

void sm_reply(sm_req *q, int status, const char *ctype, const void *p, size_t n, const char *cache_control, bool etag)
{
	char tag[48];
	if (etag && status == 200)
		sm_etag_of(p, n, tag);
	sm_reply_tagged(q, status, ctype, p, n, cache_control, etag && status == 200 ? tag : NULL);
}

void sm_reply_tagged(sm_req *q, int status, const char *ctype, const void *p, size_t n, const char *cache_control,
		     const char *tag)
{
	/* all sent below, before the caller's strings go: no copies */
	add_static_header(q, "Content-Type", ctype);
	add_static_header(q, "Cache-Control", cache_control ? cache_control : "no-store");
	add_static_header(q, "X-Content-Type-Options", "nosniff");
	if (tag) {
		add_static_header(q, "ETag", tag);
		const char *inm = sm_req_header(q, "If-None-Match");
		if (inm && (strstr(inm, tag) || strcmp(inm, "*") == 0)) {
			q->status = 304;
			sm_send(q, 304);
			return;
		}
	}
	q->status = status;
	q->bytes = n;
	if (n)
		evbuffer_add(q->r->buffer_out, p, n);
	sm_send(q, status); /* HEAD: the headers a GET would get, no body */
}

void sm_reply_json(sm_req *q, int status, json_t *j, const char *cache_control, bool etag)
{
	char *s = j ? json_dumps(j, JSON_COMPACT | JSON_PRESERVE_ORDER) : NULL;
	json_decref(j);
	if (!s) {
		sm_reply_error(q, 500, "internal", NULL, "cannot encode the answer");
		return;
	}
	size_t n = strlen(s);
	s[n] = '\0';
	sm_reply(q, status, "application/json", s, n, cache_control, etag);
	free(s);
}

void sm_reply_error(sm_req *q, int status, const char *code, const char *field, const char *fmt, ...)
{
	char msg[512];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	json_t *e = json_pack("{s:s, s:s}", "code", code, "message", msg);
	if (field && *field)
		json_object_set_new(e, "field", json_string(field));
	sm_reply_json(q, status, json_pack("{s:o}", "error", e), NULL, false);
}

void sm_reply_sm_err(sm_req *q, int rc, const sm_err *err)
{
	static const struct {
		int rc;
		int status;
		const char *code;
	} table[] = {
		{ SM_EINVAL, 400, "invalid" },       { SM_ETOOBIG, 413, "too_large" },
		{ SM_ENOTFOUND, 404, "not_found" },  { SM_EEXIST, 409, "exists" },
		{ SM_ESTATE, 409, "state" },         { SM_EVERIFY, 500, "verify" },
		{ SM_EKEY, 500, "key" },             { SM_EFULL, 507, "store_full" },
		{ SM_ESUSPECT, 503, "store_suspect" },
	};
	int status = 500;
	const char *code = "internal";
	for (size_t i = 0; i < sizeof(table) / sizeof(table[0]); i++)
		if (table[i].rc == rc) {
			status = table[i].status;
			code = table[i].code;
		}
	/* a server-side failure says what failed, not the details of the store or keys */
	if (rc == SM_EFULL) {
		atomic_fetch_add(&sm_srv->metrics.full_writes, 1);
		sm_reply_error(q, status, code, NULL, "no space left for the registry's store: the change was not made; "
			       "retry when the operator has freed space (reads go on)");
	} else if (rc == SM_ESUSPECT) {
		sm_reply_error(q, status, code, NULL, "the registry's store failed an integrity check: changes are refused "
			       "until an operator restores it from a backup and restarts the server (reads go on; see /healthz)");
	} else if (status >= 500)
		sm_reply_error(q, status, code, NULL, "the registry could not answer: %s", sm_strerror(rc));
	else
		sm_reply_error(q, status, code, err ? err->field : NULL, "%s", err && err->msg[0] ? err->msg : sm_strerror(rc));
}

/* ---- dispatch ---- */

const char *const sm_route_names[R_COUNT] = {
	"healthz", "metrics", "check", "cert", "cert_statement", "certs", "trust", "trust_chain", "trust_version", "trust_json", "snapshot", "checkpoint",
	"entries", "inclusion", "consistency", "label_page", "cert_page", "admin_issue", "admin_event",
	"admin_label", "static", "not_found", "home_check", "policies", "policy", "admin_policy",
	"certs_export", "openapi",
};

/* Decode the path strictly (no '+' rule: that is for queries). */
static int decode_path(const char *raw, char *out, size_t cap)
{
	size_t o = 0;
	for (size_t i = 0; raw[i]; i++) {
		char c = raw[i];
		if (c == '%') {
			int hi = hexval(raw[i + 1]), lo = hi >= 0 ? hexval(raw[i + 2]) : -1;
			if (hi < 0 || lo < 0)
				return -1;
			c = (char)(hi * 16 + lo);
			i += 2;
			if (c == '\0' || c == '/')
				return -1;
		}
		if (o + 1 >= cap)
			return -1;
		out[o++] = c;
	}
	out[o] = '\0';
	return sm_utf8_printable(out, o) ? 0 : -1;
}

/* The methods a route answers (GET includes HEAD). */
enum { M_GET = 1, M_POST = 2, M_PUT = 4, M_DELETE = 8 };

/* Whether the request's method is one the route answers; otherwise 405 with the Allow header. */
static bool method_ok(sm_req *q, unsigned allowed)
{
	static const struct {
		unsigned bit;
		const char *allow;
	} names[] = { { M_GET, "GET, HEAD" }, { M_POST, "POST" }, { M_PUT, "PUT" }, { M_DELETE, "DELETE" } };
	htp_method m = evhtp_request_get_method(q->r);
	unsigned bit = m == htp_method_GET || m == htp_method_HEAD ? M_GET
		       : m == htp_method_POST			    ? M_POST
		       : m == htp_method_PUT			    ? M_PUT
		       : m == htp_method_DELETE			    ? M_DELETE
									    : 0;
	if (bit & allowed)
		return true;
	char allow[48] = "";
	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++)
		if (allowed & names[i].bit)
			snprintf(allow + strlen(allow), sizeof(allow) - strlen(allow), "%s%s", allow[0] ? ", " : "",
				 names[i].allow);
	add_header(q, "Allow", allow);
	sm_reply_error(q, 405, "method_not_allowed", NULL, "this resource answers %s", allow);
	return false;
}

static const char *after(const char *path, const char *prefix)
{
	size_t n = strlen(prefix);
	return strncmp(path, prefix, n) == 0 && path[n] ? path + n : NULL;
}

static void route(sm_req *q)
{
	const char *p = q->path, *rest;
	char id[64], ext[8];
	if (strcmp(p, "/healthz") == 0) {
		q->route = R_HEALTHZ;
		if (method_ok(q, M_GET))
			sm_h_healthz(q);
	} else if (strcmp(p, "/metrics") == 0) {
		q->route = R_METRICS;
		if (method_ok(q, M_GET))
			sm_h_metrics(q);
	} else if (strcmp(p, "/v1/openapi.json") == 0) {
		q->route = R_OPENAPI;
		if (method_ok(q, M_GET))
			sm_h_openapi(q);
	} else if (strcmp(p, "/v1/check") == 0) {
		q->route = R_CHECK;
		if (method_ok(q, M_GET))
			sm_h_check(q);
	} else if (strcmp(p, "/v1/certs") == 0) {
		q->route = R_CERTS;
		if (method_ok(q, M_GET))
			sm_h_certs(q);
	} else if (strcmp(p, "/v1/certs.csv") == 0 || strcmp(p, "/v1/certs.jsonl") == 0) {
		q->route = R_CERTS_EXPORT;
		if (method_ok(q, M_GET))
			sm_h_certs_export(q, strcmp(p, "/v1/certs.csv") == 0 ? SM_FORMAT_CSV : SM_FORMAT_JSONL);
	} else if ((rest = after(p, "/v1/certs/")) && sscanf(rest, "%63[^/]", id) == 1 &&
		   strcmp(rest + strlen(id), "/statement") == 0) {
		q->route = R_CERT_STATEMENT;
		if (method_ok(q, M_GET))
			sm_h_cert_statement(q, id);
	} else if ((rest = after(p, "/v1/certs/")) && !strchr(rest, '/')) {
		q->route = R_CERT;
		if (method_ok(q, M_GET))
			sm_h_cert(q, rest);
	} else if (strcmp(p, "/v1/trust") == 0) {
		q->route = R_TRUST;
		if (method_ok(q, M_GET))
			sm_h_trust(q);
	} else if (strcmp(p, "/v1/trust/chain") == 0) {
		q->route = R_TRUST_CHAIN;
		if (method_ok(q, M_GET))
			sm_h_trust_chain(q);
	} else if ((rest = after(p, "/v1/trust/")) && !strchr(rest, '/')) {
		q->route = R_TRUST_VERSION;
		if (method_ok(q, M_GET))
			sm_h_trust_version(q, rest);
	} else if (strcmp(p, "/v1/trust.json") == 0) {
		q->route = R_TRUST_JSON;
		if (method_ok(q, M_GET))
			sm_h_trust_json(q);
	} else if (strcmp(p, "/v1/snapshot") == 0) {
		q->route = R_SNAPSHOT;
		if (method_ok(q, M_GET))
			sm_h_snapshot(q);
	} else if (strcmp(p, "/v1/log/checkpoint") == 0) {
		q->route = R_CHECKPOINT;
		if (method_ok(q, M_GET))
			sm_h_checkpoint(q);
	} else if (strcmp(p, "/v1/log/entries") == 0) {
		q->route = R_ENTRIES;
		if (method_ok(q, M_GET))
			sm_h_entries(q);
	} else if (strcmp(p, "/v1/log/proof/inclusion") == 0) {
		q->route = R_INCLUSION;
		if (method_ok(q, M_GET))
			sm_h_inclusion(q);
	} else if (strcmp(p, "/v1/log/proof/consistency") == 0) {
		q->route = R_CONSISTENCY;
		if (method_ok(q, M_GET))
			sm_h_consistency(q);
	} else if ((rest = after(p, "/L/")) && !strchr(rest, '/')) {
		q->route = R_LABEL_PAGE;
		if (method_ok(q, M_GET))
			sm_h_label_page(q, rest);
	} else if ((rest = after(p, "/c/")) && !strchr(rest, '/')) {
		q->route = R_CERT_PAGE;
		if (method_ok(q, M_GET))
			sm_h_cert_page(q, rest);
	} else if (strcmp(p, "/v1/admin/certs") == 0) {
		q->route = R_ADMIN_ISSUE;
		if (method_ok(q, M_POST))
			sm_h_admin_issue(q);
	} else if ((rest = after(p, "/v1/admin/certs/")) && sscanf(rest, "%63[^/]", id) == 1 &&
		   strcmp(rest + strlen(id), "/events") == 0) {
		q->route = R_ADMIN_EVENT;
		if (method_ok(q, M_POST))
			sm_h_admin_event(q, id);
	} else if ((rest = after(p, "/v1/admin/labels/")) && sscanf(rest, "%63[^./].%7[a-z]", id, ext) == 2 &&
		   strlen(rest) == strlen(id) + 1 + strlen(ext)) {
		q->route = R_ADMIN_LABEL;
		if (method_ok(q, M_GET))
			sm_h_admin_label(q, id, ext);
	} else if (strcmp(p, "/v1/home/check") == 0) {
		q->route = R_HOME_CHECK;
		if (method_ok(q, M_POST))
			sm_h_home_check(q);
	} else if (strcmp(p, "/v1/policies") == 0) {
		q->route = R_POLICIES;
		if (method_ok(q, M_GET))
			sm_h_policies(q);
	} else if ((rest = after(p, "/v1/policies/")) && !strchr(rest, '/')) {
		q->route = R_POLICY;
		if (method_ok(q, M_GET))
			sm_h_policy(q, rest);
	} else if ((rest = after(p, "/v1/admin/policies/")) && !strchr(rest, '/')) {
		q->route = R_ADMIN_POLICY;
		if (method_ok(q, M_PUT | M_DELETE)) {
			if (evhtp_request_get_method(q->r) == htp_method_PUT)
				sm_h_admin_policy_put(q, rest);
			else
				sm_h_admin_policy_delete(q, rest);
		}
	} else if (sm_static_has(p)) {
		q->route = R_STATIC;
		if (method_ok(q, M_GET))
			sm_static_serve(q, p);
	} else {
		q->route = R_NOT_FOUND;
		sm_static_not_found(q);
	}
}

void sm_dispatch(evhtp_request_t *r, void *arg)
{
	sm_server *s = arg;
	sm_req q;
	memset(&q, 0, sizeof(q));
	q.r = r;
	q.start_us = sm_now_us();
	q.id = atomic_fetch_add(&s->next_request_id, 1) + 1;
	q.head = evhtp_request_get_method(r) == htp_method_HEAD;
	q.route = R_NOT_FOUND;
	char rid[24];
	snprintf(rid, sizeof(rid), "%llu", (unsigned long long)q.id);
	add_header(&q, "X-Request-Id", rid);
	const char *raw = r->uri && r->uri->path && r->uri->path->full ? r->uri->path->full : "/";
	if (decode_path(raw, q.path, sizeof(q.path)) != 0)
		sm_reply_error(&q, 400, "bad_path", NULL, "the path has a malformed %%-escape or is not UTF-8 text");
	else
		route(&q);
	free_params(&q);
	int64_t us = sm_now_us() - q.start_us;
	sm_metrics_observe(&s->metrics, q.route, q.status, (uint64_t)us);
	if (s->cfg.access_log) {
		char client[64];
		sm_req_client(&q, client, sizeof(client));
		/* the path, never the query's secrets (there are none) nor any header (tokens live there) */
		char path[sizeof(q.path) * 2];
		/* the decoded path: a %0a in the request is a line feed here, written as \x0a */
		fprintf(stderr, "req=%llu client=%s method=%s path=%s route=%s status=%d bytes=%zu us=%lld\n",
			(unsigned long long)q.id, client, htparser_get_methodstr_m(evhtp_request_get_method(r)),
			sm_log_escape(path, sizeof(path), q.path, strlen(q.path)), sm_route_names[q.route], q.status, q.bytes,
			(long long)us);
	}
}
