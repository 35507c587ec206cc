/* SPDX-License-Identifier: Apache-2.0 */
/* Admin handlers: bearer tokens with roles, the admin rate limit, issue, events, labels. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <event2/buffer.h>

#include "server.h"
#include "starmark/label.h"

/*
 * The prelude of every admin route: only the `allowed` query parameters, the rate limit, then the
 * role matrix: an issuer token may change the registry (`change`, POST) and print labels; an
 * auditor token may read admin resources (labels) but change nothing. No or an unknown token: 401.
 * The rate limit comes before the token is looked at, on purpose: requests with wrong tokens are
 * what it must slow down (guessing), and checking a token costs a hash and a store read.
 * False when the request was answered.
 */
bool sm_admin_admitted(sm_req *q, const char *const *allowed, bool change)
{
	if (sm_req_query(q, allowed) ||
	    !sm_rate_ok(q, &sm_srv->admin_rate, sm_srv->cfg.admin_rate, sm_srv->cfg.admin_burst,
			&sm_srv->metrics.rate_limited, "admin"))
		return false;
	const char *h = sm_req_header(q, "Authorization");
	int role = 0;
	char name[SM_TOKEN_NAME_MAX + 1];
	if (!h || strncmp(h, "Bearer ", 7) != 0 || sm_registry_token_check(sm_srv->reg, h + 7, &role, name) != 0) {
		evhtp_headers_add_header(q->r->headers_out, evhtp_header_new("WWW-Authenticate", "Bearer", 1, 1));
		sm_reply_error(q, 401, "unauthorized", NULL, "a valid bearer token is required (Authorization: Bearer TOKEN)");
		return false;
	}
	if (change && role != SM_TOKEN_ISSUER) {
		sm_reply_error(q, 403, "forbidden", NULL, "token %s has the %s role, which may not change the registry", name,
			       sm_token_role_name(role));
		return false;
	}
	/* a store that failed an integrity check takes no change (the registry would refuse it too): say so before the body is read */
	sm_health health;
	sm_registry_health(sm_srv->reg, &health);
	if (change && health.suspect) {
		sm_reply_sm_err(q, SM_ESUSPECT, NULL);
		return false;
	}
	return true;
}

bool sm_req_body_json(sm_req *q, const char **p, size_t *n)
{
	const char *ct = sm_req_header(q, "Content-Type");
	if (!ct || strncmp(ct, "application/json", 16) != 0) {
		sm_reply_error(q, 415, "unsupported_media_type", NULL, "the body must be application/json");
		return false;
	}
	*n = evbuffer_get_length(q->r->buffer_in);
	*p = *n ? (const char *)evbuffer_pullup(q->r->buffer_in, (ssize_t)*n) : "";
	return true;
}

static json_t *body_json(sm_req *q)
{
	const char *p = NULL;
	size_t n = 0;
	if (!sm_req_body_json(q, &p, &n))
		return NULL;
	json_t *j = NULL;
	sm_err err = { 0 };
	int rc = sm_json_parse_body(p, n, &j, &err);
	if (rc) {
		sm_reply_sm_err(q, rc, &err);
		return NULL;
	}
	return j;
}

static const char *const no_params[] = { NULL };

/* The prelude of a change (POST): no query, an issuer token, a JSON object body; NULL when answered. */
static json_t *change_body(sm_req *q)
{
	return sm_admin_admitted(q, no_params, true) ? body_json(q) : NULL;
}

void sm_h_admin_issue(sm_req *q)
{
	sm_err err = { 0 };
	sm_cert *draft = NULL, *out = NULL;
	json_t *j = change_body(q);
	if (!j)
		return;
	int64_t now = sm_server_now();
	int rc = sm_cert_from_json(j, false, &draft, &err);
	json_decref(j);
	if (!rc && draft->registered == SM_DATE_NONE)
		draft->registered = sm_date_from_time(now);
	if (!rc) {
		pthread_mutex_lock(&sm_srv->write_lock);
		rc = sm_registry_issue(sm_srv->reg, draft, now, &out, &err);
		sm_changed(sm_srv);
		pthread_mutex_unlock(&sm_srv->write_lock);
	}
	if (rc) {
		sm_reply_sm_err(q, rc, &err);
	} else {
		char loc[96];
		snprintf(loc, sizeof(loc), "/v1/certs/%s", out->id);
		evhtp_headers_add_header(q->r->headers_out, evhtp_header_new("Location", loc, 1, 1));
		sm_reply_json(q, 201, sm_cert_to_json(out, sm_date_from_time(now)), NULL, false);
	}
	sm_cert_free(draft);
	sm_cert_free(out);
}

void sm_h_admin_event(sm_req *q, const char *id)
{
	sm_err err = { 0 };
	sm_event *e = NULL;
	sm_cert *out = NULL;
	const char *p = NULL;
	size_t n = 0;
	if (!sm_admin_admitted(q, no_params, true) || !sm_req_body_json(q, &p, &n))
		return;
	int64_t now = sm_server_now();
	int rc = sm_event_from_json(p, n, id, &e, &err);
	if (!rc) {
		pthread_mutex_lock(&sm_srv->write_lock);
		rc = sm_registry_event(sm_srv->reg, e, now, &out, &err);
		sm_changed(sm_srv); /* the next query sees the change: no cached answer survives it */
		pthread_mutex_unlock(&sm_srv->write_lock);
	}
	if (rc)
		sm_reply_sm_err(q, rc, &err);
	else
		sm_reply_json(q, 200, sm_cert_to_json(out, sm_date_from_time(now)), NULL, false);
	sm_event_free(e);
	sm_cert_free(out);
}

struct collect {
	sm_buf b;
};

static int collect(void *ctx, const void *p, size_t n)
{
	return sm_buf_append(&((struct collect *)ctx)->b, p, n);
}

void sm_h_admin_label(sm_req *q, const char *id, const char *ext)
{
	static const char *const allowed[] = { "model", "size_mm", "ec", "dpi", NULL };
	static const struct {
		const char *ext;
		enum sm_label_format fmt;
		const char *ctype;
	} formats[] = {
		{ "png", SM_LABEL_PNG, "image/png" },
		{ "svg", SM_LABEL_SVG, "image/svg+xml" },
		{ "pdf", SM_LABEL_PDF, "application/pdf" },
		{ "zpl", SM_LABEL_ZPL, "text/plain; charset=us-ascii" },
	};
	sm_err err = { 0 };
	sm_label_opts o;
	int f = -1;
	if (!sm_admin_admitted(q, allowed, false))
		return;
	for (int i = 0; i < 4; i++)
		if (strcmp(ext, formats[i].ext) == 0)
			f = i;
	if (f < 0) {
		sm_reply_error(q, 404, "not_found", NULL, "labels come as .png, .svg, .pdf or .zpl");
		return;
	}
	sm_label_opts_default(&o);
	o.format = formats[f].fmt;
	uint64_t mm = 0, ec = 1, dpi = 0;
	if (sm_req_u64(q, "size_mm", 20, 200, &mm) || sm_req_u64(q, "ec", 1, 3, &ec) ||
	    sm_req_u64(q, "dpi", (uint64_t)o.dpi, SM_LABEL_DPI_MAX, &dpi))
		return;
	if (mm < 10) {
		sm_reply_error(q, 400, "bad_parameter", "size_mm", "size_mm must be 10..200");
		return;
	}
	if (dpi < SM_LABEL_DPI_MIN) {
		sm_reply_error(q, 400, "bad_parameter", "dpi", "dpi must be %d..%d", SM_LABEL_DPI_MIN, SM_LABEL_DPI_MAX);
		return;
	}
	o.code_mm = (double)mm;
	o.ec = (int)ec;
	o.dpi = (int)dpi;
	char *url = NULL;
	sm_cert *c = NULL;
	struct collect out = { SM_BUF_INIT };
	/* signing a label token is a change of nothing, but it needs the issuer key: one at a time */
	pthread_mutex_lock(&sm_srv->write_lock);
	int rc = sm_registry_label(sm_srv->reg, id, sm_req_param(q, "model"), sm_server_now(), &url, &c, &err);
	pthread_mutex_unlock(&sm_srv->write_lock);
	if (!rc)
		rc = sm_label_render(c, sm_req_param(q, "model"), url, &o, collect, &out, &err);
	if (rc) {
		sm_reply_sm_err(q, rc, &err);
	} else {
		/* the URL the label's code holds: the resource this image represents (RFC 9110, 8.7) */
		evhtp_headers_add_header(q->r->headers_out, evhtp_header_new("Content-Location", url, 1, 1));
		sm_reply(q, 200, formats[f].ctype, out.b.data, out.b.len, NULL, false);
	}
	sm_buf_cleanup(&out.b);
	free(url);
	sm_cert_free(c);
}
