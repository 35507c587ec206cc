/* SPDX-License-Identifier: Apache-2.0 */
/* starmarkd's private types: configuration, server state, the request context, helpers. */
#ifndef STARMARK_SERVER_H
#define STARMARK_SERVER_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/socket.h>

#include <evhtp/evhtp.h>
#include <jansson.h>

#include "starmark/starmark.h"
#include "query.h"
#include "starmark/status.h"

/* ---- configuration (config.c) ---- */

typedef struct sm_server_config {
	char db[1024];
	char listen_host[256];
	int listen_port;
	char tls_cert[1024];
	char tls_key[1024];
	char passphrase_file[1024];
	int threads;                /* event loops, one per core by default */
	int max_connections;        /* per server; over it new connections get 503 */
	int admin_rate;             /* admin requests per minute per client address */
	int admin_burst;
	int home_rate;              /* home checks (POST /v1/home/check) per minute per client address */
	int home_burst;
	int refresh_seconds;        /* how often statements due are refreshed */
	int snapshot_seconds;       /* how often the snapshot is rebuilt when the log grew */
	int cache_seconds;          /* Cache-Control max-age of public answers that can change */
	int verify_hours;           /* the whole log re-verified in the background every so many hours (0: at start only) */
	bool access_log;
	char web[1024];             /* the pages of web/ (static.c); "" = the build's SM_WEB_DIR */
} sm_server_config;

void sm_config_default(sm_server_config *c);
/** Read `key = value` lines; SM_EINVAL naming the line and key. */
int sm_config_load(sm_server_config *c, const char *path, sm_err *err);
/** Parse HOST:PORT into the config: an IPv4 address or an IPv6 one in brackets ([::1]:8080); SM_EINVAL otherwise. */
int sm_config_listen(sm_server_config *c, const char *hostport, sm_err *err);
/** The configured address with `port` as a socket address; SM_EINVAL when the host is not an address. */
int sm_config_sockaddr(const sm_server_config *c, int port, struct sockaddr_storage *ss, socklen_t *len);
/** "HOST:PORT" (IPv6 in brackets) for messages, into buf; returns buf. */
const char *sm_config_hostport(const sm_server_config *c, int port, char *buf, size_t cap);
/** Check what can be checked without serving: values, files present, TLS pair. */
int sm_config_check(const sm_server_config *c, sm_err *err);

/* ---- listening (listen.c) ---- */

/**
 * Bind the n event loops `htps` to the configured address: the port is this server's alone (a busy one is
 * SM_EEXIST, "address in use"), shared by its own loops through SO_REUSEPORT. *port is the port bound (the
 * kernel's choice when the configuration says 0). Any other failure is SM_EIO naming the address.
 */
int sm_listen_bind(evhtp_t *const *htps, int n, const sm_server_config *c, int *port, sm_err *err);

/* ---- metrics (metrics.c) ---- */

enum sm_route_id {
	R_HEALTHZ, R_METRICS, R_CHECK, R_CERT, R_CERT_STATEMENT, R_CERTS, R_TRUST, R_TRUST_CHAIN, R_TRUST_VERSION, R_TRUST_JSON, R_SNAPSHOT, R_CHECKPOINT,
	R_ENTRIES, R_INCLUSION, R_CONSISTENCY, R_LABEL_PAGE, R_CERT_PAGE, R_ADMIN_ISSUE, R_ADMIN_EVENT,
	R_ADMIN_LABEL, R_STATIC, R_NOT_FOUND, R_HOME_CHECK, R_POLICIES, R_POLICY, R_ADMIN_POLICY, R_CERTS_EXPORT, R_OPENAPI, R_COUNT
};

#define SM_METRIC_BUCKETS 14
#define SM_METRIC_STATUSES 23
typedef struct sm_metrics {
	_Atomic uint64_t requests[R_COUNT][SM_METRIC_STATUSES]; /* by status (metrics.c) */
	_Atomic uint64_t latency[SM_METRIC_BUCKETS + 1];
	_Atomic uint64_t latency_sum_us;
	_Atomic uint64_t latency_count;
	_Atomic uint64_t connections;
	_Atomic uint64_t rate_limited;      /* admin requests refused with 429 */
	_Atomic uint64_t home_rate_limited; /* home checks refused with 429 */
	_Atomic uint64_t statements;      /* status statements produced by the refresher (maint.c) */
	_Atomic bool statements_backlog; /* its last round found more due than one round takes */
	_Atomic uint64_t full_writes;     /* writes (admin or maintenance) that failed for lack of space */
	_Atomic uint64_t verifies;        /* background full verifications completed (verify.c of lib) */
	_Atomic int64_t verify_last;      /* Unix time the last one ended, 0 none yet */
	_Atomic int64_t verify_us;        /* how long it took */
} sm_metrics;

/* The registry's health as starmarkd shows it (/healthz, /metrics): a copy. */
typedef struct sm_server_health {
	bool suspect;                 /* an integrity check failed: reads go on, changes are refused */
	char what[SM_ERR_FIELD_MAX];  /* what failed: log, store, trust, checkpoint */
	char why[SM_ERR_MSG_MAX];
	bool full;                    /* the last write failed for lack of space */
	char full_msg[SM_ERR_MSG_MAX];
	bool checking;                /* the first full verification has not finished yet */
} sm_server_health;

extern const char *const sm_route_names[R_COUNT];
void sm_metrics_observe(sm_metrics *m, int route, int status, uint64_t micros);
/** The Prometheus text exposition (caller frees). */
char *sm_metrics_render(const sm_metrics *m, uint64_t log_size, int64_t snapshot_age, uint64_t snapshot_version,
			const sm_server_health *h);

/* ---- the server ---- */

typedef struct sm_rate_bucket {
	uint32_t addr_hash;
	double tokens;
	int64_t last_us;
} sm_rate_bucket;

/* Token buckets per client address, hashed into a fixed table (rate.c). */
#define SM_RATE_BUCKETS 1024
typedef struct sm_rate_table {
	pthread_mutex_t lock;
	sm_rate_bucket b[SM_RATE_BUCKETS];
} sm_rate_table;

typedef struct sm_server {
	sm_server_config cfg;
	sm_registry *reg;
	pthread_mutex_t write_lock;   /* one writer: admin changes, refresh, snapshot */
	sm_metrics metrics;
	_Atomic uint64_t next_request_id;
	_Atomic int64_t snapshot_built;     /* Unix time of the current snapshot file, 0 none */
	_Atomic uint64_t snapshot_version;
	char snapshot_path[1100];
	pthread_mutex_t snap_lock;          /* guards snapshot_etag */
	char snapshot_etag[40];
	sm_rate_table admin_rate;           /* admin requests (h_admin.c) */
	sm_rate_table home_rate;            /* home checks (h_home.c) */
	volatile int stopping;
	pthread_mutex_t health_lock;        /* guards integrity_what, integrity_why */
	char integrity_what[SM_ERR_FIELD_MAX];
	char integrity_why[SM_ERR_MSG_MAX];
	_Atomic bool verified_once;         /* the background verification has finished once */
	_Atomic uint64_t generation;        /* bumped by every change the answers depend on (cache.c) */
} sm_server;

/* ---- the answer cache (cache.c) ---- */

typedef struct sm_cached {
	char *body;
	size_t n;
	char etag[48];
	int64_t next_update;
} sm_cached;

/** The cached answer for `key`, made at generation `gen` on `day`; NULL when none. Per thread. */
const sm_cached *sm_cache_get(const char *key, uint64_t gen, sm_date day);
void sm_cache_put(const char *key, uint64_t gen, sm_date day, const char *body, size_t n, const char *etag,
		  int64_t next_update);
/** Release the calling thread's table (at the end of an event-loop thread). */
void sm_cache_thread_free(void);
/** A change the answers depend on happened: bump the generation. */
static inline void sm_changed(sm_server *s)
{
	atomic_fetch_add(&s->generation, 1);
}

extern sm_server *sm_srv;

/* ---- the request (http.c) ---- */


typedef struct sm_req {
	evhtp_request_t *r;
	int route;
	uint64_t id;
	int64_t start_us;
	int status;
	size_t bytes;
	bool head;
	sm_param params[SM_QUERY_MAX_PARAMS];
	size_t nparams;
	char path[1024];            /* the decoded path */
} sm_req;

/**
 * Parse the raw query against the names a route accepts: percent-decoding ('+' is a space),
 * refusing unknown and repeated names, bad escapes, NUL, invalid UTF-8 and over-long values.
 * On failure it answers 400 naming the parameter and returns -1.
 */
int sm_req_query(sm_req *q, const char *const *allowed);
/** The decoded value of a parameter, or NULL. */
const char *sm_req_param(const sm_req *q, const char *name);
/** Parse an unsigned decimal parameter; answers 400 and returns -1 when malformed or over max. */
int sm_req_u64(sm_req *q, const char *name, uint64_t dflt, uint64_t max, uint64_t *out);

/** Send the reply prepared in q->r (HEAD: headers only). Every reply goes through here. */
void sm_send(sm_req *q, int status);
/** Send bytes with a content type; cache_control NULL means "no-store". Adds a strong ETag and answers 304 to a
 * matching If-None-Match when `etag` is true. HEAD gets the headers only. */
void sm_reply(sm_req *q, int status, const char *ctype, const void *p, size_t n, const char *cache_control, bool etag);
/** Send bytes whose strong ETag (quoted) is known; answers 304 to a matching If-None-Match. */
void sm_reply_tagged(sm_req *q, int status, const char *ctype, const void *p, size_t n, const char *cache_control,
		     const char *etag);
/** The strong ETag of a body (quoted, into tag[48]). */
void sm_etag_of(const void *p, size_t n, char tag[48]);
/** Send a JSON document (consumed). */
void sm_reply_json(sm_req *q, int status, json_t *j, const char *cache_control, bool etag);
/** The JSON error body {"error": {"code", "message", "field"}}. */
void sm_reply_error(sm_req *q, int status, const char *code, const char *field, const char *fmt, ...)
	__attribute__((format(printf, 5, 6)));
/** Map a lib error to an HTTP answer (the one table) and send it. */
void sm_reply_sm_err(sm_req *q, int rc, const sm_err *err);
/** A request header's value, or NULL. */
const char *sm_req_header(const sm_req *q, const char *name);
/** The client's address as text into buf. */
void sm_req_client(const sm_req *q, char *buf, size_t cap);
/** An address as text ("-" for none or another family). */
void sm_addr_text(const struct sockaddr *sa, char *buf, size_t cap);

/* ---- rate limits (rate.c) ---- */

void sm_rate_table_init(sm_rate_table *t);
/**
 * Take a token from the client's bucket of `t` (`per_minute` refilled, `burst` deep). False when there is
 * none: then the request has been answered 429 with Retry-After, naming `what` ("admin"), and *limited
 * counted.
 */
bool sm_rate_ok(sm_req *q, sm_rate_table *t, int per_minute, int burst, _Atomic uint64_t *limited, const char *what);

/* ---- admin preludes (h_admin.c), for every admin route ---- */

/**
 * Only the `allowed` query parameters, the admin rate limit, then the role matrix: an issuer token
 * may change the registry (`change`), an auditor token may only read. False when answered (400, 429,
 * 401, 403).
 */
bool sm_admin_admitted(sm_req *q, const char *const *allowed, bool change);
/** The JSON body's bytes (valid until the request ends); false when answered (415). */
bool sm_req_body_json(sm_req *q, const char **p, size_t *n);

/* ---- handlers ---- */

void sm_h_healthz(sm_req *q);
void sm_h_metrics(sm_req *q);
/* GET /v1/openapi.json: the OpenAPI 3.1 description of this API, the JSON Schemas bundled in (h_openapi.c) */
void sm_h_openapi(sm_req *q);
void sm_h_check(sm_req *q);
void sm_h_cert(sm_req *q, const char *id);
/* GET /v1/certs/{id}/statement: the certificate's signed status statement (application/cose) */
void sm_h_cert_statement(sm_req *q, const char *id);
void sm_h_certs(sm_req *q);
/* GET /v1/certs.csv and /v1/certs.jsonl (the whole filtered list, as `starmark export` writes it) */
void sm_h_certs_export(sm_req *q, enum sm_format fmt);
void sm_h_trust(sm_req *q);
void sm_h_trust_json(sm_req *q);
void sm_h_trust_chain(sm_req *q);
void sm_h_trust_version(sm_req *q, const char *version);
void sm_h_snapshot(sm_req *q);
void sm_h_checkpoint(sm_req *q);
void sm_h_entries(sm_req *q);
void sm_h_inclusion(sm_req *q);
void sm_h_consistency(sm_req *q);
void sm_h_admin_issue(sm_req *q);
void sm_h_admin_event(sm_req *q, const char *id);
void sm_h_admin_label(sm_req *q, const char *id, const char *ext);
void sm_h_label_page(sm_req *q, const char *token);
void sm_h_cert_page(sm_req *q, const char *id);
void sm_h_home_check(sm_req *q);
void sm_h_policies(sm_req *q);
void sm_h_policy(sm_req *q, const char *name);
void sm_h_admin_policy_put(sm_req *q, const char *name);
void sm_h_admin_policy_delete(sm_req *q, const char *name);

/* ---- the pages of web/ (static.c) ---- */

/**
 * Read the pages under `root` into memory: index.html, check.html, scan.html, sw.js and manifest.webmanifest
 * at the root (served as /, /check, /scan, /sw.js, /manifest.webmanifest) and every file of a known type
 * under static/ (as /static/...). Capped (256 files, 2 MiB each, 16 MiB in all: SM_ETOOBIG naming the cap);
 * SM_ENOTFOUND when there is no such directory. Called once, before the loops start.
 */
int sm_static_load(const char *root, sm_err *err);
void sm_static_free(void);
/** How many files are served. */
size_t sm_static_count(void);
/** Whether `path` is one of the pages. */
bool sm_static_has(const char *path);
/** Serve the page at `path` (gzip when the client takes it, ETag/304); 404 when there is none. */
void sm_static_serve(sm_req *q, const char *path);
/** The headers of every page: the strict Content-Security-Policy, no referrer, no framing. */
void sm_static_headers(sm_req *q);
/** 404: an HTML page with a way back for a browser (Accept: text/html, not under /v1/), else the JSON error. */
void sm_static_not_found(sm_req *q);

/** The route table: dispatch one request (http.c). */
void sm_dispatch(evhtp_request_t *r, void *arg);

/** Maintenance (maint.c): refresh statements, rebuild the snapshot; runs in its own thread. */
void *sm_maint_run(void *arg);
/**
 * Integrity (maint.c): the quick check at start (before serving), then the whole log verified in the
 * background, at the lowest priority (SCHED_IDLE, nice 19), at start and every verify_hours. A failure marks
 * the registry suspect: /healthz answers 503 naming it, /metrics says what failed, changes are refused.
 */
int sm_integrity_quick(sm_server *s);
void *sm_verify_run(void *arg);
/** A check failed: keep what and why for /healthz and /metrics (the first failure is kept). */
void sm_integrity_failed(sm_server *s, const sm_err *err);
/** The health now, for /healthz and /metrics. */
void sm_server_health_get(sm_server *s, sm_server_health *h);
/** Rebuild the snapshot now if the log has grown since the last one. */
int sm_maint_snapshot(sm_server *s, bool force, sm_err *err);

/** Microseconds of a monotonic clock. */
int64_t sm_now_us(void);
/** The time for answers: now, or $STARMARK_NOW for tests. */
int64_t sm_server_now(void);

#endif
