/* SPDX-License-Identifier: Apache-2.0 */
/* Public handlers: health, metrics, check, certificates, trust, snapshot, the log. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <event2/buffer.h>

#include "server.h"

sm_server *sm_srv;

static void cache_for(char *buf, size_t cap, int64_t seconds)
{
	if (seconds < 0)
		seconds = 0;
	snprintf(buf, cap, "public, max-age=%lld", (long long)seconds);
}

/*
 * 200 {"status": "ok"} while the store answers and checks out; 200 "degraded" while the last write failed for
 * lack of space (reads go on, changes fail with 507); 503 "unhealthy" when the store does not answer or failed
 * an integrity check (reads go on, changes are refused until an operator acts). "problems" names each
 * condition; "integrity" says how the checks stand.
 */
void sm_h_healthz(sm_req *q)
{
	uint64_t size = 0;
	sm_err err = { 0 };
	sm_server_health h;
	int rc = sm_registry_log_size(sm_srv->reg, &size, &err);
	sm_server_health_get(sm_srv, &h);
	json_t *problems = json_array();
	if (rc)
		json_array_append_new(problems, json_pack("{s:s, s:s}", "code", "store_unreadable", "message",
							   "the store does not answer"));
	if (h.suspect)
		json_array_append_new(problems, json_pack("{s:s, s:s, s:s}", "code", "integrity", "what", h.what, "message",
							   h.why));
	if (h.full)
		json_array_append_new(problems, json_pack("{s:s, s:s}", "code", "disk_full", "message", h.full_msg));
	int64_t last = atomic_load(&sm_srv->metrics.verify_last);
	json_t *integrity = json_pack("{s:s, s:o}", "state", h.suspect ? "failed" : h.checking ? "checking" : "ok",
				      "last_verified", last ? json_integer(last) : json_null());
	bool bad = rc || h.suspect;
	sm_reply_json(q, bad ? 503 : 200,
		      json_pack("{s:s, s:I, s:o, s:o}", "status", bad ? "unhealthy" : h.full ? "degraded" : "ok", "log_size",
				(json_int_t)size, "integrity", integrity, "problems", problems),
		      NULL, false);
}

void sm_h_metrics(sm_req *q)
{
	uint64_t size = 0;
	sm_server_health h;
	sm_registry_log_size(sm_srv->reg, &size, NULL);
	sm_server_health_get(sm_srv, &h);
	int64_t built = atomic_load(&sm_srv->snapshot_built);
	char *text = sm_metrics_render(&sm_srv->metrics, size, built ? sm_server_now() - built : -1,
				       atomic_load(&sm_srv->snapshot_version), &h);
	if (!text) {
		sm_reply_error(q, 500, "internal", NULL, "out of memory");
		return;
	}
	sm_reply(q, 200, "text/plain; version=0.0.4", text, strlen(text), NULL, false);
	free(text);
}

/* The times of a signed statement the registry made (0 when it cannot be read). */
static void statement_times(const uint8_t *st, size_t n, int64_t *produced, int64_t *next)
{
	sm_statement s;
	sm_cose *c = NULL;
	size_t pn;
	*produced = *next = 0;
	if (sm_cose_decode(st, n, &c, NULL) == 0) {
		const uint8_t *p = sm_cose_payload(c, &pn);
		if (sm_statement_decode(p, pn, &s, NULL) == 0) {
			*produced = s.produced_at;
			*next = s.next_update;
			sm_statement_cleanup(&s);
		}
		sm_cose_free(c);
	}
}

/* The signed statement of a certificate, base64url, and its times (0 when there is none yet). */
static json_t *statement_of(const char *id, int64_t *produced, int64_t *next)
{
	uint8_t *st = NULL;
	size_t n = 0;
	*produced = *next = 0;
	if (sm_registry_statement(sm_srv->reg, id, &st, &n, NULL) != 0)
		return json_null();
	statement_times(st, n, produced, next);
	char *b = sm_base64url_encode(st, n);
	free(st);
	json_t *j = b ? json_string(b) : json_null();
	free(b);
	return j;
}

/* Cache-Control of a check answer: cache_seconds, never past the statement's next_update. */
static void check_cache_control(char *cc, size_t cap, int64_t next, int64_t now)
{
	int64_t max_age = sm_srv->cfg.cache_seconds;
	if (next && next - now < max_age)
		max_age = next - now;
	cache_for(cc, cap, max_age);
}

void sm_h_check(sm_req *q)
{
	static const char *const allowed[] = { "vendor", "model", "firmware", "category", "level", NULL };
	sm_err err = { 0 };
	sm_policy pol;
	sm_check_result res;
	char cc[64];
	int64_t now = sm_server_now();
	sm_date today = sm_date_from_time(now);
	uint64_t gen = atomic_load(&sm_srv->generation);
	const char *raw = q->r->uri && q->r->uri->query_raw ? (const char *)q->r->uri->query_raw : "";
	/* the same query at the same generation and day has the same answer (cache.c) */
	const sm_cached *hit = sm_cache_get(raw, gen, today);
	if (hit) {
		check_cache_control(cc, sizeof(cc), hit->next_update, now);
		sm_reply_tagged(q, 200, "application/json", hit->body, hit->n, cc, hit->etag);
		return;
	}
	if (sm_req_query(q, allowed))
		return;
	sm_check_req cr = { sm_req_param(q, "vendor"), sm_req_param(q, "model"), sm_req_param(q, "firmware"),
			    sm_req_param(q, "category"), 0 };
	const char *const required[] = { "vendor", "model", "firmware" };
	for (int i = 0; i < 3; i++)
		if (!sm_req_param(q, required[i])) {
			sm_reply_error(q, 400, "missing_parameter", required[i], "query parameter '%s' is required",
				       required[i]);
			return;
		}
	uint64_t level = 0;
	if (sm_req_u64(q, "level", 0, (uint64_t)sm_registry_trust(sm_srv->reg)->levels, &level))
		return;
	if (sm_req_param(q, "level") && level == 0) {
		sm_reply_error(q, 400, "bad_parameter", "level", "level must be 1..%d", sm_registry_trust(sm_srv->reg)->levels);
		return;
	}
	cr.level = (int)level;
	int rc = sm_check_req_validate(&cr, &err);
	if (rc) {
		sm_reply_sm_err(q, rc, &err);
		return;
	}
	sm_policy_default(&pol);
	if ((rc = sm_registry_check(sm_srv->reg, &cr, &pol, now, &res, &err))) {
		sm_reply_sm_err(q, rc, &err);
		return;
	}
	int64_t produced = 0, next = 0;
	json_t *st = res.cert ? statement_of(res.cert->id, &produced, &next) : json_null();
	json_t *j = sm_check_to_json(&res, today, produced, next);
	json_object_set_new(j, "statement", st);
	sm_check_result_cleanup(&res);
	char *body = json_dumps(j, JSON_COMPACT | JSON_PRESERVE_ORDER), tag[48];
	json_decref(j);
	if (!body) {
		sm_reply_error(q, 500, "internal", NULL, "cannot encode the answer");
		return;
	}
	size_t n = strlen(body);
	sm_etag_of(body, n, tag);
	sm_cache_put(raw, gen, today, body, n, tag, next);
	check_cache_control(cc, sizeof(cc), next, now);
	sm_reply_tagged(q, 200, "application/json", body, n, cc, tag);
	free(body);
}

void sm_h_cert(sm_req *q, const char *id)
{
	static const char *const none[] = { NULL };
	sm_err err = { 0 };
	sm_cert *c = NULL;
	if (sm_req_query(q, none))
		return;
	int rc = sm_registry_get(sm_srv->reg, id, &c, &err);
	if (rc) {
		sm_reply_sm_err(q, rc, &err);
		return;
	}
	char cc[64];
	cache_for(cc, sizeof(cc), sm_srv->cfg.cache_seconds);
	sm_reply_json(q, 200, sm_cert_to_json(c, sm_date_from_time(sm_server_now())), cc, true);
	sm_cert_free(c);
}

/*
 * The signed status statement of one certificate, as the registry pre-produced it (never signed per
 * request): what a label scanner or a gateway verifies with the trust it followed from its anchor, for
 * the certificate a label names. Cacheable up to the statement's next_update, like /v1/check.
 */
void sm_h_cert_statement(sm_req *q, const char *id)
{
	static const char *const none[] = { NULL };
	uint8_t *st = NULL;
	size_t n = 0;
	sm_err err = { 0 };
	int64_t produced = 0, next = 0;
	char cc[64];
	if (sm_req_query(q, none))
		return;
	int rc = sm_registry_statement(sm_srv->reg, id, &st, &n, &err);
	if (rc == SM_ENOTFOUND) {
		sm_reply_error(q, 404, "not_found", "id",
			       "no status statement of %.40s: no such certificate, or its statement is still being produced", id);
		return;
	}
	if (rc) {
		sm_reply_sm_err(q, rc, &err);
		return;
	}
	statement_times(st, n, &produced, &next);
	check_cache_control(cc, sizeof(cc), next, sm_server_now());
	sm_reply(q, 200, "application/cose", st, n, cc, true);
	free(st);
}

#define PAGE_SIZE 50
/* one public request examines at most this many certificates */
#define MAX_SCAN 20000

/* The filters of /v1/certs and its downloads from the query (`allowed` names the parameters); -1 when refused
 * (the answer sent). The strings are the request's. */
static int certs_filter(sm_req *q, const char *const *allowed, sm_filter *f)
{
	sm_err err = { 0 };
	uint64_t level = 0;
	int rc;
	memset(f, 0, sizeof(*f));
	f->status = -1;
	if (sm_req_query(q, allowed) || sm_req_u64(q, "level", 0, SM_LEVELS_MAX, &level))
		return -1;
	f->vendor = sm_req_param(q, "vendor");
	f->model = sm_req_param(q, "model");
	f->q = sm_req_param(q, "q");
	f->category = sm_req_param(q, "category");
	f->level = (int)level;
	if (f->vendor && (rc = sm_check_vendor(f->vendor, &err))) {
		sm_reply_sm_err(q, rc, &err);
		return -1;
	}
	if (f->model && !f->vendor) {
		sm_reply_error(q, 400, "missing_parameter", "vendor", "model needs vendor: a model number is unique within a vendor");
		return -1;
	}
	const char *st = sm_req_param(q, "status");
	if (st && (f->status = sm_status_from_name(st)) < 0) {
		sm_reply_error(q, 400, "bad_parameter", "status", "status is active, suspended, revoked or expired");
		return -1;
	}
	f->max_scan = MAX_SCAN;
	f->today = sm_date_from_time(sm_server_now());
	return 0;
}

void sm_h_certs(sm_req *q)
{
	static const char *const allowed[] = { "vendor", "model", "category", "level", "status", "q", "page", NULL };
	sm_err err = { 0 };
	sm_cert_list l;
	sm_filter f;
	uint64_t page = 1;
	int rc;
	if (certs_filter(q, allowed, &f) || sm_req_u64(q, "page", 1, 1000000, &page))
		return;
	if (page == 0) {
		sm_reply_error(q, 400, "bad_parameter", "page", "page numbers start at 1");
		return;
	}
	f.limit = PAGE_SIZE;
	f.offset = (size_t)(page - 1) * PAGE_SIZE;
	if ((rc = sm_registry_list(sm_srv->reg, &f, &l, &err))) {
		sm_reply_sm_err(q, rc, &err);
		return;
	}
	json_t *a = json_array();
	for (size_t i = 0; i < l.n; i++)
		json_array_append_new(a, sm_cert_to_json(l.v[i], f.today));
	char cc[64];
	cache_for(cc, sizeof(cc), sm_srv->cfg.cache_seconds);
	sm_reply_json(q, 200, json_pack("{s:o, s:I, s:I, s:i}", "certificates", a, "total", (json_int_t)l.total, "page",
					(json_int_t)page, "per_page", PAGE_SIZE), cc, true);
	sm_cert_list_cleanup(&l);
}

/* A download is built in memory (for its ETag); over this it is refused: `starmark export` serves such a registry. */
#define EXPORT_MAX (64u << 20)
/* A filtered download is kept in the answer cache only up to this; the whole list at any size (one per format). */
#define EXPORT_CACHE_MAX (64u << 10)

struct export_sink {
	sm_buf b;
	bool full; /* the answer passed EXPORT_MAX */
};

static int export_write(void *ctx, const void *p, size_t n)
{
	struct export_sink *x = ctx;
	int rc = sm_buf_append(&x->b, p, n);
	x->full = rc == SM_ETOOBIG;
	return rc;
}

/*
 * GET /v1/certs.csv and /v1/certs.jsonl: every certificate /v1/certs would list for the same filters (all of
 * them, not a page), in exactly the lines `starmark export --format csv|jsonl` writes (sm_export_list). Cached
 * per thread by the registry's generation and the day (cache.c), like /v1/check.
 */
void sm_h_certs_export(sm_req *q, enum sm_format fmt)
{
	static const char *const allowed[] = { "vendor", "model", "category", "level", "status", "q", NULL };
	static const char *const ctype[] = { [SM_FORMAT_CSV] = "text/csv; charset=utf-8; header=present",
					     [SM_FORMAT_JSONL] = "application/jsonl; charset=utf-8" };
	static const char *const disposition[] = {
		[SM_FORMAT_CSV] = "attachment; filename=\"starmark-certificates.csv\"",
		[SM_FORMAT_JSONL] = "attachment; filename=\"starmark-certificates.jsonl\"",
	};
	sm_err err = { 0 };
	sm_filter f;
	struct export_sink x = { SM_BUF_INIT, false };
	char cc[64], key[2100], tag[48];
	int64_t now = sm_server_now();
	sm_date today = sm_date_from_time(now);
	uint64_t gen = atomic_load(&sm_srv->generation);
	const char *raw = q->r->uri && q->r->uri->query_raw ? (const char *)q->r->uri->query_raw : "";
	/* a raw query never holds a space, so no /v1/check key is one of these */
	snprintf(key, sizeof(key), "export %s %s", fmt == SM_FORMAT_CSV ? "csv" : "jsonl", raw);
	cache_for(cc, sizeof(cc), sm_srv->cfg.cache_seconds);
	const sm_cached *hit = strlen(raw) < 2000 ? sm_cache_get(key, gen, today) : NULL;
	if (hit) {
		evhtp_headers_add_header(q->r->headers_out, evhtp_header_new("Content-Disposition", disposition[fmt], 0, 0));
		sm_reply_tagged(q, 200, ctype[fmt], hit->body, hit->n, cc, hit->etag);
		return;
	}
	if (certs_filter(q, allowed, &f))
		return;
	x.b.max = EXPORT_MAX;
	int rc = sm_export_list(sm_srv->reg, fmt, &f, f.today, export_write, &x, &err);
	if (rc && x.full) {
		sm_reply_error(q, 413, "too_large", NULL, "the list is over %u MiB: use 'starmark export' on the registry",
			       EXPORT_MAX >> 20);
	} else if (rc) {
		sm_reply_sm_err(q, rc, &err);
	} else {
		sm_etag_of(x.b.data, x.b.len, tag);
		if (!raw[0] || x.b.len <= EXPORT_CACHE_MAX)
			sm_cache_put(key, gen, today, (const char *)x.b.data, x.b.len, tag, 0);
		evhtp_headers_add_header(q->r->headers_out, evhtp_header_new("Content-Disposition", disposition[fmt], 0, 0));
		sm_reply_tagged(q, 200, ctype[fmt], x.b.data, x.b.len, cc, tag);
	}
	sm_buf_cleanup(&x.b);
}

/* The trust bundle as the store has it now: a rotation by another process is served at once, not only
 * after the maintenance thread's next look (a client that rotated, then asks, must see its rotation). */
static void trust_now(void)
{
	bool rotated = false;
	sm_registry_trust_reload(sm_srv->reg, &rotated, NULL);
}

void sm_h_trust(sm_req *q)
{
	static const char *const none[] = { NULL };
	uint8_t *b = NULL;
	size_t n = 0;
	trust_now();
	if (sm_req_query(q, none))
		return;
	int rc = sm_registry_trust_signed(sm_srv->reg, &b, &n, NULL);
	if (rc) {
		sm_reply_sm_err(q, rc, NULL);
		return;
	}
	sm_reply(q, 200, "application/cose", b, n, "public, max-age=300", true);
	free(b);
}

/* Every bundle ever published is immutable: cacheable for as long as any cache keeps things. */
#define IMMUTABLE "public, max-age=31536000, immutable"

void sm_h_trust_chain(sm_req *q)
{
	static const char *const allowed[] = { "from", NULL };
	sm_trust_chain chain = { 0 };
	sm_buf b = SM_BUF_INIT;
	sm_err err = { 0 };
	uint64_t from = 1;
	trust_now();
	const sm_trust *t = sm_registry_trust(sm_srv->reg);
	if (sm_req_query(q, allowed) || sm_req_u64(q, "from", 1, UINT64_MAX, &from))
		return;
	if (from < 1) {
		sm_reply_error(q, 400, "bad_parameter", "from", "from must be a trust bundle version, 1 or more");
		return;
	}
	/* a verifier that holds the newest already gets an empty chain: nothing to follow */
	int rc = from > t->version ? 0 : sm_registry_trust_chain(sm_srv->reg, from, &chain, &err);
	if (!rc)
		rc = sm_trust_chain_encode(&chain, &b);
	if (rc)
		sm_reply_sm_err(q, rc, &err);
	else
		sm_reply(q, 200, "application/cbor", b.data, b.len, "public, max-age=300", true);
	sm_buf_cleanup(&b);
	sm_trust_chain_cleanup(&chain);
}

void sm_h_trust_version(sm_req *q, const char *version)
{
	static const char *const none[] = { NULL };
	sm_trust_chain chain = { 0 };
	sm_err err = { 0 };
	char *end = NULL;
	trust_now();
	if (sm_req_query(q, none))
		return;
	unsigned long long v = strtoull(version, &end, 10);
	if (!*version || *end || version[0] == '0' || version[0] == '-' || v > sm_registry_trust(sm_srv->reg)->version) {
		sm_reply_error(q, 404, "not_found", "version", "no trust bundle version %.40s (the newest is %llu)", version,
			       (unsigned long long)sm_registry_trust(sm_srv->reg)->version);
		return;
	}
	int rc = sm_registry_trust_chain(sm_srv->reg, v, &chain, &err);
	if (rc)
		sm_reply_sm_err(q, rc, &err);
	else
		sm_reply(q, 200, "application/cose", chain.v[0].p, chain.v[0].n, IMMUTABLE, true);
	sm_trust_chain_cleanup(&chain);
}

void sm_h_trust_json(sm_req *q)
{
	static const char *const none[] = { NULL };
	char *vkey = NULL;
	trust_now();
	if (sm_req_query(q, none))
		return;
	int rc = sm_registry_log_vkey(sm_srv->reg, &vkey, NULL);
	if (rc) {
		sm_reply_sm_err(q, rc, NULL);
		return;
	}
	sm_reply_json(q, 200, sm_trust_to_json(sm_registry_trust(sm_srv->reg), vkey), "public, max-age=300", true);
	free(vkey);
}

void sm_h_snapshot(sm_req *q)
{
	static const char *const none[] = { NULL };
	char etag[48];
	if (sm_req_query(q, none))
		return;
	pthread_mutex_lock(&sm_srv->snap_lock);
	snprintf(etag, sizeof(etag), "%s", sm_srv->snapshot_etag);
	int fd = etag[0] ? open(sm_srv->snapshot_path, O_RDONLY | O_CLOEXEC) : -1;
	pthread_mutex_unlock(&sm_srv->snap_lock);
	struct stat st;
	if (fd < 0 || fstat(fd, &st) != 0) {
		if (fd >= 0)
			close(fd);
		sm_reply_error(q, 503, "no_snapshot", NULL, "the first snapshot is still being built; retry shortly");
		return;
	}
	evhtp_headers_add_header(q->r->headers_out, evhtp_header_new("ETag", etag, 1, 1));
	evhtp_headers_add_header(q->r->headers_out, evhtp_header_new("Content-Type", "application/cose", 1, 1));
	char cc[64];
	cache_for(cc, sizeof(cc), sm_srv->cfg.snapshot_seconds);
	evhtp_headers_add_header(q->r->headers_out, evhtp_header_new("Cache-Control", cc, 1, 1));
	const char *inm = sm_req_header(q, "If-None-Match");
	if (inm && strstr(inm, etag)) {
		close(fd);
		q->status = 304;
		sm_send(q, 304);
		return;
	}
	q->status = 200;
	q->bytes = (size_t)st.st_size;
	if (q->head) {
		char len[24];
		snprintf(len, sizeof(len), "%lld", (long long)st.st_size);
		evhtp_headers_add_header(q->r->headers_out, evhtp_header_new("Content-Length", len, 1, 1));
		close(fd);
	} else if (evbuffer_add_file(q->r->buffer_out, fd, 0, st.st_size) != 0) {
		/* served from the file (sendfile or mapped pages), never copied into the heap */
		close(fd);
		sm_reply_error(q, 500, "internal", NULL, "cannot send the snapshot");
		return;
	}
	sm_send(q, 200);
}

/* The checkpoint is signed once per log size and kept: answering never signs per request. */
static pthread_mutex_t cp_lock = PTHREAD_MUTEX_INITIALIZER;
static uint64_t cp_size = UINT64_MAX;
static char *cp_text;

void sm_h_checkpoint(sm_req *q)
{
	static const char *const none[] = { NULL };
	sm_err err = { 0 };
	uint64_t size = 0;
	if (sm_req_query(q, none))
		return;
	int rc = sm_registry_log_size(sm_srv->reg, &size, &err);
	pthread_mutex_lock(&cp_lock);
	if (!rc && size != cp_size) {
		char *text = NULL;
		if (!(rc = sm_registry_checkpoint(sm_srv->reg, &text, &err))) {
			free(cp_text);
			cp_text = text;
			cp_size = size;
		}
	}
	char *copy = !rc && cp_text ? strdup(cp_text) : NULL;
	pthread_mutex_unlock(&cp_lock);
	if (rc || !copy) {
		sm_reply_sm_err(q, rc ? rc : SM_ENOMEM, &err);
		return;
	}
	sm_reply(q, 200, "text/plain; charset=utf-8", copy, strlen(copy), "no-cache", true);
	free(copy);
}

struct entries_ctx {
	json_t *a;
};

static int add_entry(void *ctx, uint64_t index, const uint8_t *p, size_t n)
{
	char *b = sm_base64_encode(p, n);
	if (!b)
		return SM_ENOMEM;
	json_array_append_new(((struct entries_ctx *)ctx)->a, json_pack("{s:I, s:s}", "index", (json_int_t)index, "data", b));
	free(b);
	return 0;
}

void sm_h_entries(sm_req *q)
{
	static const char *const allowed[] = { "start", "count", NULL };
	uint64_t start, count, size = 0;
	sm_err err = { 0 };
	if (sm_req_query(q, allowed) || sm_req_u64(q, "start", 0, UINT64_MAX, &start) ||
	    sm_req_u64(q, "count", 100, 1000, &count))
		return;
	struct entries_ctx e = { json_array() };
	int rc = sm_registry_log_size(sm_srv->reg, &size, &err);
	if (!rc)
		rc = sm_registry_entries(sm_srv->reg, start, count, add_entry, &e, &err);
	if (rc) {
		json_decref(e.a);
		sm_reply_sm_err(q, rc, &err);
		return;
	}
	/* entries never change once written: a full page is cacheable for long */
	bool full = start <= size && count <= size - start; /* no overflow near 2^64 */
	sm_reply_json(q, 200, json_pack("{s:o}", "entries", e.a), full ? "public, max-age=86400, immutable" : "no-cache",
		      true);
}

static json_t *root_at(uint64_t size)
{
	uint8_t root[SM_HASH_LEN];
	if (sm_registry_log_root(sm_srv->reg, size, root, NULL))
		return json_null();
	char *b = sm_base64_encode(root, SM_HASH_LEN);
	json_t *j = b ? json_string(b) : json_null();
	free(b);
	return j;
}

void sm_h_inclusion(sm_req *q)
{
	static const char *const allowed[] = { "index", "size", NULL };
	uint64_t index, size;
	uint8_t proof[SM_MERKLE_MAX_INCLUSION][SM_HASH_LEN];
	size_t n = 0;
	sm_err err = { 0 };
	if (sm_req_query(q, allowed))
		return;
	if (!sm_req_param(q, "index") || !sm_req_param(q, "size")) {
		sm_reply_error(q, 400, "missing_parameter", sm_req_param(q, "index") ? "size" : "index",
			       "index and size are required");
		return;
	}
	if (sm_req_u64(q, "index", 0, UINT64_MAX, &index) || sm_req_u64(q, "size", 0, UINT64_MAX, &size))
		return;
	int rc = sm_registry_inclusion(sm_srv->reg, index, size, proof, &n, &err);
	if (rc) {
		sm_reply_sm_err(q, rc, &err);
		return;
	}
	sm_reply_json(q, 200, json_pack("{s:I, s:I, s:o, s:o}", "index", (json_int_t)index, "size", (json_int_t)size,
					"root", root_at(size), "proof",
					sm_proof_to_json((const uint8_t(*)[SM_HASH_LEN])proof, n)),
		      "public, max-age=86400, immutable", true);
}

void sm_h_consistency(sm_req *q)
{
	static const char *const allowed[] = { "from", "to", NULL };
	uint64_t from, to;
	uint8_t proof[SM_MERKLE_MAX_CONSISTENCY][SM_HASH_LEN];
	size_t n = 0;
	sm_err err = { 0 };
	if (sm_req_query(q, allowed))
		return;
	if (!sm_req_param(q, "from") || !sm_req_param(q, "to")) {
		sm_reply_error(q, 400, "missing_parameter", sm_req_param(q, "from") ? "to" : "from", "from and to are required");
		return;
	}
	if (sm_req_u64(q, "from", 0, UINT64_MAX, &from) || sm_req_u64(q, "to", 0, UINT64_MAX, &to))
		return;
	int rc = sm_registry_consistency(sm_srv->reg, from, to, proof, &n, &err);
	if (rc) {
		sm_reply_sm_err(q, rc, &err);
		return;
	}
	sm_reply_json(q, 200, json_pack("{s:I, s:I, s:o, s:o, s:o}", "from", (json_int_t)from, "to", (json_int_t)to,
					"from_root", root_at(from), "to_root", root_at(to), "proof",
					sm_proof_to_json((const uint8_t(*)[SM_HASH_LEN])proof, n)),
		      "public, max-age=86400, immutable", true);
}
