/* SPDX-License-Identifier: Apache-2.0 */
/* The request guard: vets every request head before libevhtp 1.2.18 sees a byte of it. */
#ifndef SM_SERVER_GUARD_H
#define SM_SERVER_GUARD_H

#include <stddef.h>
#include <stdint.h>

#include <evhtp/evhtp.h>

#include "starmark/error.h"

/*
 * Why: libevhtp 1.2.18 corrupts request lines split across reads, hangs pipelined requests, has
 * no header-count cap, accepts duplicate Content-Length, CL+TE and HTTP/9.9, crashes on huge form
 * bodies and closes without a 4xx on bad input (see shared/DEPENDENCIES.md). The guard sits
 * between the socket and libevhtp's parser:
 *
 * - every byte read from the client goes into the guard's own buffer (the stash), never straight
 *   into libevhtp's input;
 * - the guard parses and checks the head itself (sm_guard_parse_head) and answers bad requests
 *   itself with a JSON error {"error":{"code":"...","message":"...","field":"..."}} and
 *   `Connection: close`, then closes once the reply is flushed (TLS: close_notify first), after a
 *   short lingering read so the client sees the reply rather than a reset;
 * - a good head is handed to libevhtp whole, in one parse call, then the body bytes up to
 *   Content-Length and not one byte more;
 * - the next pipelined request is released only when libevhtp has finished the previous response;
 * - deadlines: the head must be complete within head_timeout_s (else 408, or a silent close if the
 *   client sent nothing at all: an idle keep-alive connection), the body within body_timeout_s of
 *   the head (else 408); a reply the client does not read for body_timeout_s closes the connection.
 *
 * The guard leans on libevhtp internals that evhtp.h exposes (c->bev, c->request, c->ssl,
 * c->flags, c->resume_ev): tests/integration/test_hostile.py must stay in CI so that a library
 * change is caught at once.
 *
 * What the guard takes over on an evhtp_t (do not set these yourself after sm_guard_attach):
 * the post-accept callback, the per-connection on_connection_fini hook, the bufferevent callbacks
 * and timeouts of each connection and its resume event. Do not call evhtp_set_timeouts,
 * evhtp_set_max_keepalive_requests or evhtp_connection_set_hook(..., on_connection_fini, ...).
 * Enable EVHTP_FLAG_ENABLE_NODELAY on the evhtp_t (TLS keep-alive is slow without it).
 *
 * HEAD: libevhtp sends a body on replies to HEAD. Every handler must call sm_guard_head_fixup()
 * just before evhtp_send_reply() (or route its replies through one helper that does).
 *
 * Handlers may pause a request (evhtp_request_pause) only from their request callback, i.e. once
 * the whole request has been read; replying later from a timer and resuming is fine. Per-request
 * state a handler keeps must be released from an on_request_fini hook: libevhtp runs the
 * connection fini hook first, then frees the pending request (DEPENDENCIES.md, hook order).
 */

/* Longest request-target accepted (414 above it): libevhtp copies the URI into an 8 KiB buffer. */
#define SM_GUARD_MAX_TARGET 8000
/* Longest header line accepted (431 above it): libevhtp copies each name and value the same way. */
#define SM_GUARD_MAX_LINE 8000
/* Most methods a guard serves. */
#define SM_GUARD_MAX_METHODS 16
/* Most paths with a body cap of their own (sm_guard_limits.big_body_paths), and their longest. */
#define SM_GUARD_MAX_BIG_PATHS 8
#define SM_GUARD_MAX_PATH 127

/*
 * The limits a guard enforces. sm_guard_limits_default() fills the values below; a caller may
 * change any field before sm_guard_new(). Strings are borrowed only until sm_guard_new() returns
 * (the guard copies them).
 */
typedef struct sm_guard_limits {
	size_t max_head;           /* bytes of request line + headers + blank line: 16 KiB; 431 above */
	unsigned max_headers;      /* header lines: 64; 431 above */
	size_t max_body_public;    /* Content-Length cap outside admin_prefix: 64 KiB; 413 above */
	size_t max_body_admin;     /* Content-Length cap under admin_prefix: 1 MiB; 413 above */
	const char *admin_prefix;  /* "/v1/admin/": request targets starting with it are admin */
	unsigned head_timeout_s;   /* 10: the head must be complete this long after it may start */
	unsigned body_timeout_s;   /* 30: the body must be complete this long after the head */
	unsigned max_connections;  /* 1024: open connections over all attached evhtp_t; 503 above */
	const char *const *methods; /* NULL-terminated, served methods: GET, HEAD, POST */
	/* NULL-terminated paths outside admin_prefix whose body may reach max_body_big (the query is not part
	 * of the match): a public route that takes a larger document than max_body_public. NULL: none. */
	const char *const *big_body_paths;
	size_t max_body_big;       /* Content-Length cap on big_body_paths: 1 MiB; 413 above */
} sm_guard_limits;

/** Fill `lim` with the defaults listed in sm_guard_limits. */
void sm_guard_limits_default(sm_guard_limits *lim);

/* A parsed, accepted head, or the reason it is refused. Pointers point into the parsed buffer. */
typedef struct sm_guard_head {
	size_t head_len;           /* bytes of the head, its final CRLF CRLF included */
	const char *method;        /* the method token (not NUL-terminated) */
	size_t method_len;
	const char *target;        /* the request-target: "/" path ["?" query] (not NUL-terminated) */
	size_t target_len;
	unsigned minor;            /* HTTP/1.<minor>: 0 or 1 */
	int is_head;               /* method is HEAD: replies carry no body */
	int is_admin;              /* target starts with the admin prefix */
	int has_length;            /* a Content-Length header was present */
	uint64_t content_length;   /* its value, as libevhtp reads it; 0 when absent */
	unsigned headers;          /* header lines counted */
	/* when refused: */
	unsigned status;           /* the HTTP status to answer: 400 405 411 413 414 415 431 501 505 */
	const char *code;          /* a short static error code for the JSON body ("header_too_large") */
	sm_err err;                /* field (a header name, "method", "target", "version") and message */
} sm_guard_head;

/* sm_guard_parse_head() result: the head is not complete yet and nothing in it is wrong so far. */
#define SM_GUARD_INCOMPLETE 1

/**
 * Parse and check the request head at the start of `buf` (`n` bytes, possibly more than one head
 * or a head and body bytes; only the first head is looked at). A pure function of its inputs.
 *
 * Accepts exactly: `METHOD SP origin-form SP HTTP/1.0|HTTP/1.1 CRLF`, then header lines
 * `token ":" OWS value OWS CRLF` (value bytes: VCHAR, obs-text, SP, HTAB), then CRLF. Bare CR or LF,
 * obs-fold, whitespace before ':' and empty lines before the request line are refused (400).
 * Checks: request-target characters per RFC 3986 (unreserved, pct-encoded, sub-delims, ":@/?"),
 * no fragment; Host present once for HTTP/1.1 and at most once otherwise; Content-Length at most
 * once, read exactly as libevhtp reads it (leading spaces, digits, trailing spaces or tabs);
 * no Transfer-Encoding at all; POST and PUT need Content-Length (411); no form content types
 * (application/x-www-form-urlencoded, multipart/form-data: 415); Content-Length over the cap of
 * the target (admin, one of the big-body paths, or public: 413); methods: served (`lim->methods`), otherwise 405 for a
 * method HTTP defines, 501 for another token, 400 for a non-token; version 505 for HTTP/x.y
 * other than 1.0/1.1.
 *
 * Errors are found as early as the bytes allow: a bad request line is refused before the rest of
 * the head arrives, a head over lim->max_head (431) or a target over SM_GUARD_MAX_TARGET (414) is
 * refused as soon as the bytes exceed it.
 *
 * Returns 0 and fills `out` (head_len, method, target, ...) when a complete head is accepted;
 * SM_GUARD_INCOMPLETE when more bytes are needed; SM_EINVAL (or SM_ETOOBIG for 413/414/431) with
 * out->status, out->code and out->err filled when the head must be refused.
 */
int sm_guard_parse_head(const char *buf, size_t n, const sm_guard_limits *lim, sm_guard_head *out);

/* A guard: limits plus counters shared by every evhtp_t it is attached to (one per thread). */
typedef struct sm_guard sm_guard;

/**
 * Called after the guard answered a request itself (status 400..505, and 503 at the connection
 * cap), on the connection's thread: for the access log and metrics. `code` is static. `method` and
 * `target` are the request line's as sent (not NUL-terminated, lengths 0 when the guard answered before
 * it had one: a timeout, the connection cap): raw client bytes, to be escaped before they are logged.
 */
typedef void (*sm_guard_reject_cb)(evhtp_connection_t *c, unsigned status, const char *code, const char *method,
				   size_t method_len, const char *target, size_t target_len, void *arg);

/**
 * Create a guard with a copy of `lim` (NULL: the defaults). On success *out owns the guard: free
 * it with sm_guard_free() after every evhtp_t it is attached to has been freed.
 * Returns 0, SM_EINVAL (a zero limit, no methods, more than SM_GUARD_MAX_METHODS, a method that
 * is not a token, an admin prefix or a big-body path not starting with '/', more than
 * SM_GUARD_MAX_BIG_PATHS big-body paths or one longer than SM_GUARD_MAX_PATH; err names the field)
 * or SM_ENOMEM.
 */
int sm_guard_new(sm_guard **out, const sm_guard_limits *lim, sm_err *err);

/** Free a guard (NULL is fine). Only once no attached evhtp_t serves connections any more. */
void sm_guard_free(sm_guard *g);

/**
 * Attach the guard to `htp` (before it accepts connections): installs the post-accept callback
 * that wraps each new connection. Thread-safe use: attach one guard to several evhtp_t (e.g. one
 * per thread with SO_REUSEPORT, or evhtp_use_threads_wexit); the connection cap is shared.
 * Returns 0 or SM_EINVAL (NULL argument).
 */
int sm_guard_attach(sm_guard *g, evhtp_t *htp);

/** Set the callback for requests the guard answers itself (NULL to clear). Before attaching. */
void sm_guard_set_reject_cb(sm_guard *g, sm_guard_reject_cb cb, void *arg);

/** Connections open right now over every evhtp_t the guard is attached to. */
unsigned sm_guard_connections(const sm_guard *g);

/**
 * Make a reply to a HEAD request carry no body: when `req`'s method is HEAD, set Content-Length
 * to the length of the body prepared in req->buffer_out (unless the handler set one) and drop
 * that body. Does nothing for other methods. Call it just before evhtp_send_reply(req, status);
 * not for chunked replies (a HEAD handler should not start one).
 */
void sm_guard_head_fixup(evhtp_request_t *req);

/* RFC 9110's reason phrase of an HTTP status ("Error" for one it does not name). */
const char *sm_http_reason(unsigned status);

/*
 * libevhtp 1.2.18 writes "UNKNOWN" as the reason phrase of every status its table lacks (429, 507,
 * 422, 416, 308, …) and RFC 2616's old names for some (405 "Not Allowed"). Call right after
 * evhtp_send_reply with the output's length before it: the status line that begins there is
 * rewritten with sm_http_reason's phrase.
 */
void sm_guard_reason_fixup(evhtp_request_t *req, size_t at, unsigned status);

#endif
