/* SPDX-License-Identifier: Apache-2.0 */
/* The request guard around libevhtp 1.2.18: stash every byte, vet the head, hand over one request. */
#include <errno.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <sys/time.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/bufferevent_ssl.h>
#include <event2/event.h>
#include <openssl/err.h>
#include <openssl/ssl.h>

#include "guard.h"

#define MAX_METHOD 32            /* longest method token looked at; 501 above */
#define CLOSE_FLUSH_S 5          /* how long a guard reply may take to flush before the close */
#define LINGER_MS 2000           /* lingering read after a guard reply, so the client is not reset */
#define LINGER_MAX (64u << 20)   /* bytes discarded while lingering before giving up */

/* ---------------------------------------------------------------- head parser (pure) */

static int is_alnum(unsigned char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
}

static int is_tchar(unsigned char c)
{
	return is_alnum(c) || (c != '\0' && strchr("!#$%&'*+-.^_`|~", c) != NULL);
}

/* RFC 3986 characters of an origin-form target, '%' aside (checked with its two hex digits). */
static int is_target_char(unsigned char c)
{
	return is_alnum(c) || (c != '\0' && strchr("-._~!$&'()*+,;=:@/?", c) != NULL);
}

static int is_hex(unsigned char c)
{
	return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
}

/* field-value bytes: SP, HTAB, VCHAR, obs-text */
static int is_value_char(unsigned char c)
{
	return c == '\t' || (c >= 0x20 && c != 0x7f);
}

static int is_ows(char c)
{
	return c == ' ' || c == '\t';
}

static const char *status_code(unsigned status)
{
	switch (status) {
	case 405: return "method_not_allowed";
	case 408: return "request_timeout";
	case 411: return "length_required";
	case 413: return "payload_too_large";
	case 414: return "uri_too_long";
	case 415: return "unsupported_media_type";
	case 431: return "header_too_large";
	case 501: return "not_implemented";
	case 503: return "unavailable";
	case 505: return "version_not_supported";
	default: return "bad_request";
	}
}

static int refuse(sm_guard_head *out, unsigned status, const char *field, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));

/* Record why the head is refused: status, its error code, the field at fault and a message. */
static int refuse(sm_guard_head *out, unsigned status, const char *field, const char *fmt, ...)
{
	va_list ap;
	int rc = (status == 413 || status == 414 || status == 431) ? SM_ETOOBIG : SM_EINVAL;

	out->status = status;
	out->code = status_code(status);
	out->err.code = rc;
	out->err.line = 0;
	snprintf(out->err.field, sizeof(out->err.field), "%s", field);
	va_start(ap, fmt);
	vsnprintf(out->err.msg, sizeof(out->err.msg), fmt, ap);
	va_end(ap);
	return rc;
}

static int name_is(const char *name, size_t len, const char *want)
{
	return strlen(want) == len && strncasecmp(name, want, len) == 0;
}

static int starts_with_ci(const char *s, size_t len, const char *prefix)
{
	size_t plen = strlen(prefix);
	return len >= plen && strncasecmp(s, prefix, plen) == 0;
}

/* 0: served; 405: a method HTTP defines that is not served; 501: any other token. */
static unsigned method_verdict(const char *m, size_t len, const sm_guard_limits *lim)
{
	static const char *const known[] = {
		"GET", "HEAD", "POST", "PUT", "DELETE", "CONNECT", "OPTIONS", "TRACE", "PATCH", NULL,
	};
	for (size_t i = 0; lim->methods && lim->methods[i]; i++)
		if (strlen(lim->methods[i]) == len && memcmp(lim->methods[i], m, len) == 0)
			return 0;
	for (size_t i = 0; known[i]; i++)
		if (strlen(known[i]) == len && memcmp(known[i], m, len) == 0)
			return 405;
	return 501;
}

/* The method s[0..len) and the space after it. */
static int parse_method(const char *s, size_t len, int complete, const sm_guard_limits *lim,
			sm_guard_head *out)
{
	char q[48] = { 0 }; /* zeroed: sm_err_quote reads dst[i] before it writes it (lib/error.c) */
	size_t i = 0;

	while (i < len && i <= MAX_METHOD && is_tchar((unsigned char)s[i]))
		i++;
	if (i > MAX_METHOD)
		return refuse(out, 501, "method", "the method is longer than %d bytes", MAX_METHOD);
	if (i == len && !complete)
		return SM_GUARD_INCOMPLETE;
	if (i == 0) {
		sm_err_quote(q, sizeof(q), s, len < 16 ? len : 16);
		return refuse(out, 400, "method",
			      "the request line must start with a method token, got \"%s\"", q);
	}
	if (i == len || s[i] != ' ')
		return refuse(out, 400, "method",
			      "the method must be followed by one space and the request target");
	out->method = s;
	out->method_len = i;
	unsigned verdict = method_verdict(s, i, lim);
	if (verdict) {
		sm_err_quote(q, sizeof(q), s, i);
		return refuse(out, verdict, "method", "method \"%s\" is %s", q,
			      verdict == 405 ? "not allowed here" : "unknown to this server (501)");
	}
	return 0;
}

/*
 * The request-target from s[0] on: sets *used to its length (the space after it excluded).
 * Origin-form only, RFC 3986 characters, every '%' followed by two hex digits.
 */
static int parse_target(const char *s, size_t len, int complete, sm_guard_head *out, size_t *used)
{
	size_t i = 0;

	/* what the client sent as its target, for the log of a refusal (escaped there): up to the line's end */
	size_t seen = 0;
	while (seen < len && seen < 512 && s[seen] != ' ' && s[seen] != '\r' && s[seen] != '\n')
		seen++;
	out->target = s;
	out->target_len = seen;
	if (len && s[0] != '/')
		return refuse(out, 400, "target", "the request target must be a path starting with '/'");
	while (i < len) {
		unsigned char c = (unsigned char)s[i];
		if (c == '%' && i + 2 >= len && !complete)
			return SM_GUARD_INCOMPLETE;
		if (c == '%') {
			const unsigned char *h = (const unsigned char *)s + i;
			if (i + 2 >= len || !is_hex(h[1]) || !is_hex(h[2]))
				return refuse(out, 400, "target",
					      "'%%' at offset %zu of the request target is not followed by "
					      "two hex digits", i);
			i += 3;
		} else if (is_target_char(c)) {
			i++;
		} else {
			break;
		}
		if (i > SM_GUARD_MAX_TARGET)
			return refuse(out, 414, "target", "the request target is longer than %d bytes",
				      SM_GUARD_MAX_TARGET);
	}
	if (i == len && !complete)
		return SM_GUARD_INCOMPLETE;
	if (i == 0)
		return refuse(out, 400, "target", "the request target is missing");
	if (i == len)
		return refuse(out, 400, "version", "the request line has no HTTP version after the target");
	if (s[i] == '#')
		return refuse(out, 400, "target", "a request target must not carry a fragment ('#')");
	if (s[i] != ' ')
		return refuse(out, 400, "target",
			      "byte 0x%02x at offset %zu of the request target is not allowed (RFC 3986); "
			      "percent-encode it", (unsigned char)s[i], i);
	out->target = s;
	out->target_len = i;
	*used = i;
	return 0;
}

/* The version v[0..vl): "HTTP/" DIGIT "." DIGIT, and only 1.0 or 1.1 served. */
static int parse_version(const char *v, size_t vl, int complete, sm_guard_head *out)
{
	static const char pattern[] = "HTTP/d.d";
	char q[48] = { 0 };
	size_t k = 0;

	for (; k < vl && k < 8; k++)
		if (pattern[k] == 'd' ? !(v[k] >= '0' && v[k] <= '9') : v[k] != pattern[k])
			break;
	if (k == vl && vl < 8 && !complete)
		return SM_GUARD_INCOMPLETE; /* a good beginning */
	if (k < vl || vl != 8) {
		sm_err_quote(q, sizeof(q), v, vl < 16 ? vl : 16);
		return refuse(out, 400, "version", "\"%s\" is not an HTTP version (HTTP/1.1 expected)", q);
	}
	if (v[5] != '1' || (v[7] != '0' && v[7] != '1'))
		return refuse(out, 505, "version", "HTTP/%c.%c is not supported; use HTTP/1.1 or HTTP/1.0",
			      v[5], v[7]);
	out->minor = (unsigned)(v[7] - '0');
	return complete ? 0 : SM_GUARD_INCOMPLETE;
}

/*
 * The request line s[0..len) without its CRLF; `complete` is 0 when the line has not ended yet,
 * and then only what is there is checked.
 */
static int parse_request_line(const char *s, size_t len, int complete, const sm_guard_limits *lim,
			      sm_guard_head *out)
{
	size_t used = 0;
	int rc = parse_method(s, len, complete, lim, out);
	if (rc != 0)
		return rc;
	size_t i = out->method_len + 1;
	rc = parse_target(s + i, len - i, complete, out, &used);
	if (rc != 0)
		return rc;
	i += used + 1;
	return parse_version(s + i, len - i, complete, out);
}

/*
 * Content-Length exactly as libevhtp 1.2.18 reads it (parser.c str_to_uint64): it skips spaces
 * (not tabs) after the colon, trims spaces and tabs at the end, then wants digits only. The guard
 * takes the same bytes, refuses what libevhtp would refuse and an empty value (libevhtp: 0).
 * `raw` is everything after the colon.
 */
static int parse_length(const char *raw, size_t len, uint64_t *value)
{
	size_t a = 0;
	while (a < len && raw[a] == ' ')
		a++;
	while (len > a && is_ows(raw[len - 1]))
		len--;
	if (a == len)
		return -1;
	uint64_t v = 0;
	for (size_t i = a; i < len; i++) {
		if (raw[i] < '0' || raw[i] > '9')
			return -1;
		if (v > (UINT64_MAX - 9) / 10)
			v = UINT64_MAX; /* over any cap: 413 */
		else
			v = v * 10 + (uint64_t)(raw[i] - '0');
	}
	*value = v;
	return 0;
}

/* Counts kept while the header lines are read. */
typedef struct head_state {
	unsigned hosts;
} head_state;

/* What the guard itself reads in a header: framing, Host, Content-Type. */
static int check_header(const char *name, size_t n, const char *raw, size_t rlen, sm_guard_head *out,
			head_state *st)
{
	char q[48] = { 0 };
	const char *val = raw;
	size_t vlen = rlen;

	while (vlen && is_ows(val[0])) {
		val++;
		vlen--;
	}
	while (vlen && is_ows(val[vlen - 1]))
		vlen--;
	sm_err_quote(q, sizeof(q), val, vlen);
	if (name_is(name, n, "Transfer-Encoding"))
		return refuse(out, 400, "Transfer-Encoding",
			      "Transfer-Encoding is not accepted; send Content-Length");
	if (name_is(name, n, "Content-Length")) {
		if (out->has_length)
			return refuse(out, 400, "Content-Length", "Content-Length appears more than once");
		if (parse_length(raw, rlen, &out->content_length) != 0)
			return refuse(out, 400, "Content-Length",
				      "Content-Length \"%s\" is not a decimal number", q);
		out->has_length = 1;
	} else if (name_is(name, n, "Host")) {
		if (++st->hosts > 1)
			return refuse(out, 400, "Host", "Host appears more than once");
	} else if (name_is(name, n, "Content-Type")) {
		if (starts_with_ci(val, vlen, "application/x-www-form-urlencoded") ||
		    starts_with_ci(val, vlen, "multipart"))
			return refuse(out, 415, "Content-Type",
				      "Content-Type \"%s\" is not accepted; send application/json", q);
	}
	return 0;
}

/* One header line s[0..len) without its CRLF. */
static int parse_header(const char *s, size_t len, sm_guard_head *out, head_state *st)
{
	char q[48] = { 0 };
	char field[SM_ERR_FIELD_MAX] = { 0 };
	size_t n = 0;

	if (is_ows(s[0]))
		return refuse(out, 400, "headers",
			      "header line %u starts with whitespace (obsolete line folding)", out->headers);
	while (n < len && is_tchar((unsigned char)s[n]))
		n++;
	sm_err_quote(field, sizeof(field), s, n);
	if (n == 0 || n == len || s[n] != ':') {
		sm_err_quote(q, sizeof(q), s, len < 24 ? len : 24);
		return refuse(out, 400, n ? field : "headers",
			      "header line %u \"%s\" is not \"Name: value\" (no space before ':')",
			      out->headers, q);
	}
	const char *raw = s + n + 1;
	size_t rlen = len - n - 1;
	for (size_t i = 0; i < rlen; i++)
		if (!is_value_char((unsigned char)raw[i]))
			return refuse(out, 400, field, "header %s holds control byte 0x%02x", field,
				      (unsigned char)raw[i]);
	return check_header(s, n, raw, rlen, out, st);
}

/* Checks that need the whole head. */
static int check_head(const sm_guard_limits *lim, sm_guard_head *out, const head_state *st)
{
	if (out->minor == 1 && st->hosts == 0)
		return refuse(out, 400, "Host", "an HTTP/1.1 request needs a Host header");
	int post = out->method_len == 4 && memcmp(out->method, "POST", 4) == 0;
	int put = out->method_len == 3 && memcmp(out->method, "PUT", 3) == 0;
	if ((post || put) && !out->has_length)
		return refuse(out, 411, "Content-Length", "a %s needs a Content-Length header", post ? "POST" : "PUT");
	size_t plen = strlen(lim->admin_prefix);
	out->is_admin = out->target_len >= plen && memcmp(out->target, lim->admin_prefix, plen) == 0;
	uint64_t cap = out->is_admin ? lim->max_body_admin : lim->max_body_public;
	const char *q = memchr(out->target, '?', out->target_len);
	size_t path_len = q ? (size_t)(q - out->target) : out->target_len;
	for (size_t i = 0; !out->is_admin && lim->big_body_paths && lim->big_body_paths[i]; i++)
		if (strlen(lim->big_body_paths[i]) == path_len && memcmp(lim->big_body_paths[i], out->target, path_len) == 0)
			cap = lim->max_body_big;
	if (out->content_length > cap)
		return refuse(out, 413, "Content-Length", "the body may be at most %llu bytes here",
			      (unsigned long long)cap);
	out->is_head = out->method_len == 4 && memcmp(out->method, "HEAD", 4) == 0;
	return 0;
}

static int too_big_head(const sm_guard_limits *lim, sm_guard_head *out)
{
	return refuse(out, 431, "headers", "the request head is larger than %zu bytes", lim->max_head);
}

int sm_guard_parse_head(const char *buf, size_t n, const sm_guard_limits *lim, sm_guard_head *out)
{
	head_state st = { 0 };
	memset(out, 0, sizeof(*out));

	const char *lf = memchr(buf, '\n', n);
	if (!lf) {
		size_t len = n;
		if (len && buf[len - 1] == '\r')
			len--;
		int rc = parse_request_line(buf, len, 0, lim, out);
		if (rc < 0)
			return rc;
		return n > lim->max_head ? too_big_head(lim, out) : SM_GUARD_INCOMPLETE;
	}
	size_t end = (size_t)(lf - buf);
	if (end == 0 || buf[end - 1] != '\r')
		return refuse(out, 400, "headers", "the request line must end with CRLF");
	int rc = parse_request_line(buf, end - 1, 1, lim, out);
	if (rc != 0)
		return rc;
	if (end + 1 > lim->max_head)
		return too_big_head(lim, out);

	size_t pos = end + 1;
	for (;;) {
		lf = memchr(buf + pos, '\n', n - pos);
		if (!lf) {
			if (n - pos > SM_GUARD_MAX_LINE)
				return refuse(out, 431, "headers", "header line %u is longer than %d bytes",
					      out->headers + 1, SM_GUARD_MAX_LINE);
			return n > lim->max_head ? too_big_head(lim, out) : SM_GUARD_INCOMPLETE;
		}
		end = (size_t)(lf - buf);
		if (end + 1 > lim->max_head)
			return too_big_head(lim, out);
		if (end == pos || buf[end - 1] != '\r')
			return refuse(out, 400, "headers", "header line %u must end with CRLF",
				      out->headers + 1);
		const char *line = buf + pos;
		size_t len = end - 1 - pos;
		pos = end + 1;
		if (len == 0)
			break;
		if (memchr(line, '\r', len))
			return refuse(out, 400, "headers", "header line %u holds a bare CR",
				      out->headers + 1);
		if (len > SM_GUARD_MAX_LINE)
			return refuse(out, 431, "headers", "header line %u is longer than %d bytes",
				      out->headers + 1, SM_GUARD_MAX_LINE);
		if (++out->headers > lim->max_headers)
			return refuse(out, 431, "headers", "a request may carry at most %u header lines",
				      lim->max_headers);
		rc = parse_header(line, len, out, &st);
		if (rc != 0)
			return rc;
	}
	out->head_len = pos;
	return check_head(lim, out, &st);
}

/* ---------------------------------------------------------------- guard object */

struct sm_guard {
	sm_guard_limits lim;
	char admin_prefix[128];
	char method_names[SM_GUARD_MAX_METHODS][MAX_METHOD + 1];
	const char *methods[SM_GUARD_MAX_METHODS + 1];
	char allow[SM_GUARD_MAX_METHODS * (MAX_METHOD + 2) + 1]; /* "GET, HEAD, POST" for 405 */
	char big_names[SM_GUARD_MAX_BIG_PATHS][SM_GUARD_MAX_PATH + 1];
	const char *big[SM_GUARD_MAX_BIG_PATHS + 1];
	atomic_uint conns;
	sm_guard_reject_cb reject_cb;
	void *reject_arg;
};

void sm_guard_limits_default(sm_guard_limits *lim)
{
	static const char *const methods[] = { "GET", "HEAD", "POST", NULL };
	*lim = (sm_guard_limits){
		.max_head = 16 * 1024,
		.max_headers = 64,
		.max_body_public = 64 * 1024,
		.max_body_admin = 1024 * 1024,
		.admin_prefix = "/v1/admin/",
		.head_timeout_s = 10,
		.body_timeout_s = 30,
		.max_connections = 1024,
		.methods = methods,
		.big_body_paths = NULL,
		.max_body_big = 1024 * 1024,
	};
}

static int check_methods(sm_guard *g, const char *const *methods, sm_err *err)
{
	size_t i = 0;
	size_t at = 0;
	for (; methods && methods[i]; i++) {
		const char *m = methods[i];
		size_t len = strlen(m);
		if (i == SM_GUARD_MAX_METHODS)
			return sm_err_set(err, SM_EINVAL, "methods", "at most %d methods",
					  SM_GUARD_MAX_METHODS);
		/* libevhtp's parser takes only A-Z and '_' in a method */
		if (len == 0 || len > MAX_METHOD || strspn(m, "ABCDEFGHIJKLMNOPQRSTUVWXYZ_") != len)
			return sm_err_set(err, SM_EINVAL, "methods",
					  "method %zu must be 1-%d upper-case letters", i, MAX_METHOD);
		memcpy(g->method_names[i], m, len + 1);
		g->methods[i] = g->method_names[i];
		if (i) {
			memcpy(g->allow + at, ", ", 2);
			at += 2;
		}
		memcpy(g->allow + at, m, len);
		at += len;
	}
	g->allow[at] = '\0';
	g->methods[i] = NULL;
	if (i == 0)
		return sm_err_set(err, SM_EINVAL, "methods", "at least one method must be served");
	return 0;
}

static int copy_big_paths(sm_guard *g, const sm_guard_limits *lim, sm_err *err)
{
	size_t i = 0;
	for (; lim->big_body_paths && lim->big_body_paths[i]; i++) {
		const char *p = lim->big_body_paths[i];
		size_t len = strlen(p);
		if (i == SM_GUARD_MAX_BIG_PATHS)
			return sm_err_set(err, SM_EINVAL, "big_body_paths", "at most %d big-body paths", SM_GUARD_MAX_BIG_PATHS);
		if (p[0] != '/' || len > SM_GUARD_MAX_PATH || memchr(p, '?', len))
			return sm_err_set(err, SM_EINVAL, "big_body_paths",
					  "big-body path %zu must be a path of at most %d bytes starting with '/', without a query",
					  i, SM_GUARD_MAX_PATH);
		if (!lim->max_body_big)
			return sm_err_set(err, SM_EINVAL, "limits", "every guard limit must be greater than 0");
		memcpy(g->big_names[i], p, len + 1);
		g->big[i] = g->big_names[i];
	}
	g->big[i] = NULL;
	g->lim.big_body_paths = g->big;
	return 0;
}

int sm_guard_new(sm_guard **out, const sm_guard_limits *lim, sm_err *err)
{
	sm_guard_limits def;
	sm_guard *g = NULL;
	int rc = 0;

	*out = NULL;
	if (!lim) {
		sm_guard_limits_default(&def);
		lim = &def;
	}
	if (!lim->max_head || !lim->max_headers || !lim->max_body_public || !lim->max_body_admin ||
	    !lim->head_timeout_s || !lim->body_timeout_s || !lim->max_connections) {
		rc = sm_err_set(err, SM_EINVAL, "limits", "every guard limit must be greater than 0");
		goto out;
	}
	if (!lim->admin_prefix || lim->admin_prefix[0] != '/' || strlen(lim->admin_prefix) >= 128) {
		rc = sm_err_set(err, SM_EINVAL, "admin_prefix",
				"the admin prefix must be a path starting with '/'");
		goto out;
	}
	g = calloc(1, sizeof(*g));
	if (!g) {
		rc = sm_err_set(err, SM_ENOMEM, NULL, "out of memory");
		goto out;
	}
	g->lim = *lim;
	memcpy(g->admin_prefix, lim->admin_prefix, strlen(lim->admin_prefix) + 1);
	g->lim.admin_prefix = g->admin_prefix;
	rc = check_methods(g, lim->methods, err);
	if (rc != 0)
		goto out;
	g->lim.methods = g->methods;
	rc = copy_big_paths(g, lim, err);
	if (rc != 0)
		goto out;
	atomic_init(&g->conns, 0);
	*out = g;
	g = NULL;
out:
	free(g);
	return rc;
}

void sm_guard_free(sm_guard *g)
{
	free(g);
}

void sm_guard_set_reject_cb(sm_guard *g, sm_guard_reject_cb cb, void *arg)
{
	g->reject_cb = cb;
	g->reject_arg = arg;
}

unsigned sm_guard_connections(const sm_guard *g)
{
	return atomic_load(&g->conns);
}

void sm_guard_head_fixup(evhtp_request_t *req)
{
	if (!req || !req->conn || !req->conn->parser || evhtp_request_get_method(req) != htp_method_HEAD)
		return;
	size_t len = evbuffer_get_length(req->buffer_out);
	if (!evhtp_header_find(req->headers_out, "Content-Length")) {
		char num[24];
		snprintf(num, sizeof(num), "%zu", len);
		evhtp_headers_add_header(req->headers_out, evhtp_header_new("Content-Length", num, 0, 1));
	}
	evbuffer_drain(req->buffer_out, len);
}

void sm_guard_reason_fixup(evhtp_request_t *req, size_t at, unsigned status)
{
	enum { CODE_END = 12 }; /* "HTTP/1.1 429" */
	if (status == 200 || status == 304 || !req || !req->conn || !req->conn->bev)
		return;
	struct evbuffer *out = bufferevent_get_output(req->conn->bev);
	if (evbuffer_get_length(out) <= at + CODE_END)
		return;
	/*
	 * A socket bufferevent freezes its output's front (only it drains what it has queued), and a frozen
	 * front cannot even be read: lift that for the edit, as libevent does around its own writes.
	 */
	bool frozen = evbuffer_drain(out, 0) != 0;
	if (frozen)
		evbuffer_unfreeze(out, 1);
	char head[64], line[64];
	struct evbuffer_ptr p;
	struct evbuffer *front = NULL;
	ev_ssize_t got = -1;
	if (evbuffer_ptr_set(out, &p, at, EVBUFFER_PTR_SET) == 0)
		got = evbuffer_copyout_from(out, &p, head, sizeof(head) - 1);
	if (got <= CODE_END || memcmp(head, "HTTP/", 5) != 0 || head[CODE_END] != ' ')
		goto out;
	head[got] = '\0';
	const char *end = strstr(head, "\r\n"), *reason = sm_http_reason(status);
	/* libevhtp's phrase stands where it is right or where RFC 9110's is not known here */
	if (!end || !strcmp(reason, "Error") ||
	    ((size_t)(end - head) == CODE_END + 1 + strlen(reason) && !memcmp(head + CODE_END + 1, reason, strlen(reason))))
		goto out;
	int n = snprintf(line, sizeof(line), "%.*s %s\r\n", CODE_END, head, reason);
	if (n <= 0 || (size_t)n >= sizeof(line) || !(front = evbuffer_new()))
		goto out;
	/* Replies queued before this one (pipelining) are moved aside and put back in front. */
	if (evbuffer_remove_buffer(out, front, at) == (int)at && evbuffer_drain(out, (size_t)(end - head) + 2) == 0)
		evbuffer_prepend(out, line, (size_t)n);
	evbuffer_prepend_buffer(out, front);
	evbuffer_free(front);
out:
	if (frozen)
		evbuffer_freeze(out, 1);
}

/* ---------------------------------------------------------------- per connection */

enum conn_state {
	ST_HEAD,     /* waiting for a complete head in the stash */
	ST_BODY,     /* head handed over; body bytes still to hand over */
	ST_RESPONSE, /* whole request handed over; waiting for libevhtp to finish the response */
	ST_CLOSING,  /* the guard answered; waiting for the reply to flush */
	ST_LINGER,   /* reply flushed, write side shut; reading and dropping until EOF or timeout */
};

typedef struct gconn {
	sm_guard *g;
	evhtp_connection_t *c;
	struct bufferevent *bev;
	bufferevent_data_cb inner_read;   /* libevhtp's own callbacks, called through the wrappers */
	bufferevent_data_cb inner_write;
	bufferevent_event_cb inner_event;
	event_callback_fn inner_resume;
	void *inner_resume_arg;
	struct evbuffer *stash;           /* bytes read from the client, not yet handed over */
	struct evbuffer *tmp;
	struct event *timer;
	struct event *linger_ev;
	enum conn_state state;
	size_t vetted;                    /* bytes in libevhtp's input that the guard put there */
	size_t parsed;                    /* stash length at the last parse of a head */
	uint64_t body_left;               /* body bytes still to hand over */
	size_t discarded;
	unsigned depth;                   /* wrapper frames on the stack for this connection */
	unsigned dead : 1;                /* libevhtp freed the connection; free gc when depth is 0 */
	unsigned eof : 1;                 /* the client will send nothing more */
	unsigned counted : 1;
} gconn;

static void process(gconn *gc);

static void gconn_free(gconn *gc)
{
	if (gc->timer)
		event_free(gc->timer);
	if (gc->linger_ev)
		event_free(gc->linger_ev);
	if (gc->stash)
		evbuffer_free(gc->stash);
	if (gc->tmp)
		evbuffer_free(gc->tmp);
	free(gc);
}

static void enter(gconn *gc)
{
	gc->depth++;
}

static void leave(gconn *gc)
{
	if (--gc->depth == 0 && gc->dead)
		gconn_free(gc);
}

/* libevhtp's connection fini hook: the connection (and its bufferevent) is going away. */
static evhtp_res on_fini(evhtp_connection_t *c, void *arg)
{
	gconn *gc = arg;
	(void)c;
	gc->dead = 1;
	if (gc->timer) {
		event_free(gc->timer);
		gc->timer = NULL;
	}
	if (gc->linger_ev) {
		event_free(gc->linger_ev);
		gc->linger_ev = NULL;
	}
	if (gc->counted) {
		atomic_fetch_sub(&gc->g->conns, 1);
		gc->counted = 0;
	}
	if (gc->depth == 0)
		gconn_free(gc);
	return EVHTP_RES_OK;
}

static void arm(gconn *gc, unsigned ms)
{
	struct timeval tv = { .tv_sec = ms / 1000, .tv_usec = (suseconds_t)(ms % 1000) * 1000 };
	evtimer_add(gc->timer, &tv);
}

/* Free the connection through libevhtp's own error path (it defers the free while paused). */
static void abort_conn(gconn *gc)
{
	if (gc->state == ST_CLOSING || gc->state == ST_LINGER || !gc->c->request)
		evhtp_connection_free(gc->c);
	else
		gc->inner_event(gc->bev, BEV_EVENT_ERROR, gc->c);
}

/* Move the bytes libevent appended to libevhtp's input since the last wrapper into the stash. */
static void take_raw(gconn *gc)
{
	struct evbuffer *in = bufferevent_get_input(gc->bev);
	size_t len = evbuffer_get_length(in);

	if (len <= gc->vetted) {
		gc->vetted = len;
		return;
	}
	if (gc->vetted == 0) {
		evbuffer_add_buffer(gc->stash, in);
		return;
	}
	/* The input's end is frozen on socket bufferevents: lift the vetted front out and put it back. */
	evbuffer_remove_buffer(in, gc->tmp, gc->vetted);
	evbuffer_add_buffer(gc->stash, in);
	evbuffer_prepend_buffer(in, gc->tmp);
}

const char *sm_http_reason(unsigned status)
{
	switch (status) {
	case 200: return "OK";
	case 201: return "Created";
	case 204: return "No Content";
	case 301: return "Moved Permanently";
	case 302: return "Found";
	case 303: return "See Other";
	case 304: return "Not Modified";
	case 307: return "Temporary Redirect";
	case 308: return "Permanent Redirect";
	case 400: return "Bad Request";
	case 401: return "Unauthorized";
	case 403: return "Forbidden";
	case 404: return "Not Found";
	case 405: return "Method Not Allowed";
	case 406: return "Not Acceptable";
	case 408: return "Request Timeout";
	case 409: return "Conflict";
	case 410: return "Gone";
	case 411: return "Length Required";
	case 412: return "Precondition Failed";
	case 413: return "Content Too Large";
	case 414: return "URI Too Long";
	case 415: return "Unsupported Media Type";
	case 416: return "Range Not Satisfiable";
	case 422: return "Unprocessable Content";
	case 428: return "Precondition Required";
	case 429: return "Too Many Requests";
	case 431: return "Request Header Fields Too Large";
	case 500: return "Internal Server Error";
	case 501: return "Not Implemented";
	case 502: return "Bad Gateway";
	case 503: return "Service Unavailable";
	case 504: return "Gateway Timeout";
	case 505: return "HTTP Version Not Supported";
	case 507: return "Insufficient Storage";
	default: return "Error";
	}
}

/* JSON string body: quotes and backslashes escaped, control and non-ASCII bytes made '?'. */
static void json_escape(char *dst, size_t cap, const char *src)
{
	size_t o = 0;
	for (; *src && o + 3 < cap; src++) {
		unsigned char c = (unsigned char)*src;
		if (c == '"' || c == '\\') {
			dst[o++] = '\\';
			dst[o++] = (char)c;
		} else {
			dst[o++] = (c < 0x20 || c >= 0x7f) ? '?' : (char)c;
		}
	}
	dst[o] = '\0';
}

/* Answer the request ourselves, then close once the reply is flushed. */
static void reply_close(gconn *gc, unsigned status, const sm_err *e, int no_body, const sm_guard_head *h)
{
	const char *code = status_code(status);
	char msg[2 * SM_ERR_MSG_MAX];
	char field[2 * SM_ERR_FIELD_MAX];
	char body[3 * SM_ERR_MSG_MAX];
	struct evbuffer *out = bufferevent_get_output(gc->bev);
	int blen;

	json_escape(msg, sizeof(msg), e->msg);
	json_escape(field, sizeof(field), e->field);
	blen = snprintf(body, sizeof(body), "{\"error\":{\"code\":\"%s\",\"message\":\"%s\"%s%s%s}}\n", code,
			msg, field[0] ? ",\"field\":\"" : "", field, field[0] ? "\"" : "");
	if (blen < 0 || (size_t)blen >= sizeof(body))
		blen = snprintf(body, sizeof(body), "{\"error\":{\"code\":\"%s\"}}\n", code);
	evbuffer_add_printf(out,
			    "HTTP/1.1 %u %s\r\nContent-Type: application/json\r\nContent-Length: %d\r\n"
			    "Cache-Control: no-store\r\nConnection: close\r\n",
			    status, sm_http_reason(status), blen);
	if (status == 405)
		evbuffer_add_printf(out, "Allow: %s\r\n", gc->g->allow);
	if (status == 503)
		evbuffer_add_printf(out, "Retry-After: 1\r\n");
	evbuffer_add(out, "\r\n", 2);
	if (!no_body)
		evbuffer_add(out, body, (size_t)blen);
	gc->state = ST_CLOSING;
	evtimer_del(gc->timer);
	arm(gc, CLOSE_FLUSH_S * 1000);
	bufferevent_enable(gc->bev, EV_READ | EV_WRITE);
	if (gc->g->reject_cb)
		gc->g->reject_cb(gc->c, status, code, h ? h->method : NULL, h ? h->method_len : 0, h ? h->target : NULL,
				 h ? h->target_len : 0, gc->g->reject_arg);
}

static void linger_cb(evutil_socket_t fd, short what, void *arg)
{
	gconn *gc = arg;
	char buf[16384];

	(void)what;
	enter(gc);
	for (;;) {
		ssize_t r = recv(fd, buf, sizeof(buf), 0);
		if (r > 0) {
			gc->discarded += (size_t)r;
			if (gc->discarded > LINGER_MAX)
				break;
			continue;
		}
		if (r < 0 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR))
			goto out;
		break; /* EOF or a hard error */
	}
	evhtp_connection_free(gc->c);
out:
	leave(gc);
}

/* The guard's reply is out: close_notify (TLS), shut the write side, drop what still comes. */
static void start_linger(gconn *gc)
{
	evutil_socket_t fd = bufferevent_getfd(gc->bev);

	gc->state = ST_LINGER;
	bufferevent_disable(gc->bev, EV_READ | EV_WRITE);
	if (gc->c->ssl) {
		SSL_shutdown(gc->c->ssl);
		ERR_clear_error();
	}
	if (fd < 0 || shutdown(fd, SHUT_WR) != 0) {
		evhtp_connection_free(gc->c);
		return;
	}
	gc->linger_ev = event_new(gc->c->evbase, fd, EV_READ | EV_PERSIST, linger_cb, gc);
	if (!gc->linger_ev || event_add(gc->linger_ev, NULL) != 0) {
		evhtp_connection_free(gc->c);
		return;
	}
	evtimer_del(gc->timer);
	arm(gc, LINGER_MS);
}

/* Hand `k` bytes from the front of the stash to libevhtp's parser, in one call. */
static void forward(gconn *gc, size_t k)
{
	struct evbuffer *in = bufferevent_get_input(gc->bev);

	evbuffer_remove_buffer(gc->stash, gc->tmp, k);
	evbuffer_prepend_buffer(in, gc->tmp);
	gc->vetted = evbuffer_get_length(in);
	gc->inner_read(gc->bev, gc->c);
	if (!gc->dead)
		gc->vetted = evbuffer_get_length(bufferevent_get_input(gc->bev));
}

static void start_head(gconn *gc)
{
	gc->state = ST_HEAD;
	gc->parsed = 0;
	evtimer_del(gc->timer);
	arm(gc, gc->g->lim.head_timeout_s * 1000);
	if (!gc->eof)
		bufferevent_enable(gc->bev, EV_READ);
}

/* Look at the head in the stash: refuse it, wait for more, or hand it over. */
static void step_head(gconn *gc)
{
	const sm_guard_limits *lim = &gc->g->lim;
	size_t n = evbuffer_get_length(gc->stash);
	sm_guard_head h;

	if (n == 0 || n == gc->parsed) {
		if (gc->eof)
			abort_conn(gc);
		return;
	}
	if (gc->vetted) { /* libevhtp still holds bytes of the last request: cannot happen */
		abort_conn(gc);
		return;
	}
	size_t m = n < lim->max_head + 1 ? n : lim->max_head + 1;
	const char *p = (const char *)evbuffer_pullup(gc->stash, (ssize_t)m);
	if (!p) {
		abort_conn(gc);
		return;
	}
	gc->parsed = n;
	int rc = sm_guard_parse_head(p, m, lim, &h);
	if (rc == SM_GUARD_INCOMPLETE) {
		if (gc->eof)
			abort_conn(gc);
		return;
	}
	if (rc != 0) {
		int no_body = h.method_len == 4 && memcmp(h.method, "HEAD", 4) == 0;
		reply_close(gc, h.status, &h.err, no_body, &h);
		return;
	}
	uint64_t avail = n - h.head_len;
	uint64_t now = avail < h.content_length ? avail : h.content_length;
	gc->body_left = h.content_length - now;
	evtimer_del(gc->timer);
	if (gc->body_left) {
		gc->state = ST_BODY;
		arm(gc, lim->body_timeout_s * 1000);
	} else {
		gc->state = ST_RESPONSE;
	}
	forward(gc, h.head_len + (size_t)now);
}

static void step_body(gconn *gc)
{
	size_t n = evbuffer_get_length(gc->stash);

	if (gc->vetted || (gc->c->flags & EVHTP_CONN_FLAG_PAUSED))
		return; /* libevhtp is not ready for more */
	if (n == 0) {
		if (gc->eof)
			abort_conn(gc);
		return;
	}
	size_t k = (uint64_t)n < gc->body_left ? n : (size_t)gc->body_left;
	gc->body_left -= k;
	if (gc->body_left == 0) {
		gc->state = ST_RESPONSE;
		evtimer_del(gc->timer);
	}
	forward(gc, k);
}

/* Drive the connection as far as the stash and libevhtp allow. */
static void process(gconn *gc)
{
	while (!gc->dead) {
		enum conn_state before = gc->state;
		switch (gc->state) {
		case ST_HEAD:
			step_head(gc);
			break;
		case ST_BODY:
			step_body(gc);
			break;
		case ST_RESPONSE:
			if (gc->c->request == NULL) {
				start_head(gc); /* libevhtp finished the response: release the next request */
				continue;
			}
			/* pipelined bytes wait in the stash; stop reading once it holds a head's worth */
			if (evbuffer_get_length(gc->stash) > gc->g->lim.max_head)
				bufferevent_disable(gc->bev, EV_READ);
			return;
		case ST_CLOSING:
		case ST_LINGER:
			return;
		}
		if (gc->dead || gc->state == before)
			return;
	}
}

static void drop_input(gconn *gc)
{
	struct evbuffer *in = bufferevent_get_input(gc->bev);
	size_t len = evbuffer_get_length(in);
	gc->discarded += len;
	evbuffer_drain(in, len);
	gc->vetted = 0;
	if (gc->discarded > LINGER_MAX)
		evhtp_connection_free(gc->c);
}

static void read_wrap(struct bufferevent *bev, void *arg)
{
	gconn *gc = arg;
	(void)bev;
	enter(gc);
	if (gc->state == ST_CLOSING || gc->state == ST_LINGER) {
		drop_input(gc);
	} else {
		take_raw(gc);
		process(gc);
	}
	leave(gc);
}

static void write_wrap(struct bufferevent *bev, void *arg)
{
	gconn *gc = arg;
	enter(gc);
	if (gc->state == ST_CLOSING) {
		if (evbuffer_get_length(bufferevent_get_output(bev)) == 0)
			start_linger(gc);
		goto out;
	}
	if (gc->state == ST_LINGER)
		goto out;
	take_raw(gc);
	/* libevhtp's write callback frees a connection that has no request: call it only with one */
	if (gc->c->request) {
		gc->inner_write(bev, gc->c);
		if (gc->dead)
			goto out;
		gc->vetted = evbuffer_get_length(bufferevent_get_input(bev));
	}
	process(gc);
out:
	leave(gc);
}

static void event_wrap(struct bufferevent *bev, short what, void *arg)
{
	gconn *gc = arg;
	enter(gc);
	if (what & BEV_EVENT_CONNECTED) /* a TLS handshake finished: not news to anyone here */
		goto out;
	if (gc->state == ST_CLOSING || gc->state == ST_LINGER) {
		evhtp_connection_free(gc->c);
		goto out;
	}
	if ((what & BEV_EVENT_READING) && (what & (BEV_EVENT_EOF | BEV_EVENT_ERROR))) {
		/* the client sent all it will: still answer the requests it did send, in order */
		gc->eof = 1;
		take_raw(gc);
		process(gc);
		goto out;
	}
	gc->inner_event(bev, what, gc->c);
out:
	leave(gc);
}

static void resume_wrap(evutil_socket_t fd, short what, void *arg)
{
	gconn *gc = arg;
	enter(gc);
	if (gc->state == ST_CLOSING || gc->state == ST_LINGER)
		goto out;
	take_raw(gc);
	gc->inner_resume(fd, what, gc->inner_resume_arg);
	if (gc->dead)
		goto out;
	gc->vetted = evbuffer_get_length(bufferevent_get_input(gc->bev));
	process(gc);
out:
	leave(gc);
}

static void timer_cb(evutil_socket_t fd, short what, void *arg)
{
	gconn *gc = arg;
	const sm_guard_limits *lim = &gc->g->lim;
	sm_err e;

	(void)fd;
	(void)what;
	enter(gc);
	switch (gc->state) {
	case ST_HEAD:
		if (evbuffer_get_length(gc->stash) == 0) {
			abort_conn(gc); /* an idle connection: nothing was asked, nothing to answer */
			break;
		}
		sm_err_set(&e, SM_EINVAL, "headers", "the request head was not complete within %u s",
			   lim->head_timeout_s);
		reply_close(gc, 408, &e, 0, NULL);
		break;
	case ST_BODY:
		sm_err_set(&e, SM_EINVAL, "body", "the request body was not complete within %u s",
			   lim->body_timeout_s);
		reply_close(gc, 408, &e, 0, NULL);
		break;
	case ST_CLOSING:
	case ST_LINGER:
		evhtp_connection_free(gc->c);
		break;
	case ST_RESPONSE:
		break;
	}
	leave(gc);
}

/* Take the new connection over: its callbacks, resume event, timeouts and fini hook. */
static evhtp_res on_accept(evhtp_connection_t *c, void *arg)
{
	sm_guard *g = arg;
	gconn *gc = NULL;
	gconn *owned = NULL;
	struct event *resume = NULL;
	void *cbarg = NULL;
	evhtp_res res = EVHTP_RES_ERROR;

	if (!c->bev || !c->resume_ev)
		goto out;
	gc = calloc(1, sizeof(*gc));
	if (!gc)
		goto out;
	gc->g = g;
	gc->c = c;
	gc->bev = c->bev;
	gc->stash = evbuffer_new();
	gc->tmp = evbuffer_new();
	gc->timer = evtimer_new(c->evbase, timer_cb, gc);
	resume = event_new(c->evbase, -1, EV_READ | EV_PERSIST, resume_wrap, gc);
	if (!gc->stash || !gc->tmp || !gc->timer || !resume || event_add(resume, NULL) != 0)
		goto out;
	if (evhtp_connection_set_hook(c, evhtp_hook_on_connection_fini, (evhtp_hook)on_fini, gc) != 0)
		goto out;
	owned = gc; /* from here on the fini hook frees it */
	gc = NULL;

	bufferevent_getcb(c->bev, &owned->inner_read, &owned->inner_write, &owned->inner_event, &cbarg);
	owned->inner_resume = event_get_callback(c->resume_ev);
	owned->inner_resume_arg = event_get_callback_arg(c->resume_ev);
	event_free(c->resume_ev);
	c->resume_ev = resume; /* libevhtp frees it with the connection */
	resume = NULL;
	bufferevent_setcb(c->bev, read_wrap, write_wrap, event_wrap, owned);

	/* the guard keeps the read deadlines; a reply the client does not read times out */
	struct timeval wto = { .tv_sec = g->lim.body_timeout_s, .tv_usec = 0 };
	bufferevent_set_timeouts(c->bev, NULL, &wto);
	if (c->ssl)
		bufferevent_openssl_set_allow_dirty_shutdown(c->bev, 1);

	owned->counted = 1;
	unsigned now = atomic_fetch_add(&g->conns, 1) + 1;
	start_head(owned);
	if (now > g->lim.max_connections) {
		sm_err e;
		sm_err_set(&e, SM_EINVAL, NULL, "the server has too many connections; retry shortly");
		reply_close(owned, 503, &e, 0, NULL);
	}
	res = EVHTP_RES_OK;
out:
	if (resume)
		event_free(resume);
	if (gc)
		gconn_free(gc);
	return res;
}

int sm_guard_attach(sm_guard *g, evhtp_t *htp)
{
	if (!g || !htp)
		return SM_EINVAL;
	evhtp_set_post_accept_cb(htp, on_accept, g);
	return 0;
}
