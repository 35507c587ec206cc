/* SPDX-License-Identifier: Apache-2.0 */
/* A small HTTP(S) client of a starmark registry server, on libcurl: what the CLI and gateways use. */
#ifndef STARMARK_CLIENT_H
#define STARMARK_CLIENT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include "starmark/error.h"
#include "starmark/record.h"

/* A response body held in memory is refused above this size (the snapshot goes to a file instead). */
#define SM_CLIENT_MAX_BODY (64u * 1024u * 1024u)
/* Seconds: to connect, and for a whole exchange held in memory. */
#define SM_CLIENT_CONNECT_TIMEOUT 10
#define SM_CLIENT_TIMEOUT 60
/* A download to a file (up to a 1 GiB snapshot) may take longer than SM_CLIENT_TIMEOUT: it is cut
 * when it moves slower than this many bytes per second for SM_CLIENT_TIMEOUT seconds, and after
 * SM_CLIENT_FILE_TIMEOUT seconds in all. */
#define SM_CLIENT_FILE_MIN_SPEED 1024
#define SM_CLIENT_FILE_TIMEOUT 1800
/* Longest base URL, token and request path. */
#define SM_CLIENT_URL_MAX 2048
#define SM_CLIENT_TOKEN_MAX 256

typedef struct sm_client sm_client;

/*
 * An answer. `body` is NUL-terminated (the NUL is not counted in `len`) and owned by the response;
 * it is NULL for a body written to a file. `etag` is the ETag header as sent (quotes included), or
 * empty; `content_location` the Content-Location header (a label's URL, for a label image), or empty
 * (also when it is longer than SM_CLIENT_LOCATION_MAX: it is never cut). `status` is the HTTP status
 * even when the call returned an error for it.
 */
#define SM_CLIENT_LOCATION_MAX 1280
typedef struct sm_response {
	long status;
	uint8_t *body;
	size_t len;
	char etag[128];
	char content_type[128];
	char content_location[SM_CLIENT_LOCATION_MAX + 1];
} sm_response;

/** Release the body; the response can be reused. */
void sm_response_cleanup(sm_response *r);

/**
 * A client of the server at `base_url` ("http://HOST[:PORT][/prefix]" or "https://..."; a trailing
 * '/' is dropped). `token` (may be NULL) is sent as "Authorization: Bearer TOKEN" on every request
 * and never written to any message. TLS peers are always verified, against the system's CAs or,
 * when `cafile` is not NULL, against the PEM certificates in that file (a private CA or a
 * self-signed test certificate). Redirects are not followed; only http and https are spoken.
 * The caller frees *out with sm_client_free. SM_EINVAL for a malformed URL or token (control
 * characters, over SM_CLIENT_URL_MAX or SM_CLIENT_TOKEN_MAX bytes, another scheme), SM_EIO when
 * libcurl cannot start, SM_ENOMEM.
 */
int sm_client_new(const char *base_url, const char *token, const char *cafile, sm_client **out, sm_err *err);
/**
 * Let the token go over plain http:// to a server that is not this machine (the CLI's --insecure). Without
 * it such a request fails before anything is sent (SM_EINVAL naming "server"): over https://, or to a
 * loopback address or localhost, a token is always sent.
 */
void sm_client_allow_insecure(sm_client *c);
/** Whether a URL's host is this machine: localhost, 127.0.0.0/8 or [::1]. */
bool sm_url_is_loopback(const char *url);

/* A 429 is tried again after its Retry-After (seconds), this many times at most, when it asks no longer than: */
#define SM_CLIENT_RETRIES 3
#define SM_CLIENT_RETRY_MAX 60

/** Free a client (NULL is fine); the token is cleansed from memory. */
void sm_client_free(sm_client *c);
/** The base URL (borrowed, valid while c lives). */
const char *sm_client_base(const sm_client *c);

/*
 * Requests. `path` starts with '/' and carries an already-escaped query (sm_client_escape).
 * Results:
 *  - 2xx and 304: 0, the answer in *resp;
 *  - 4xx: the server's error {"error": {"code", "message", "field"}} in err (message and field as
 *    the server wrote them), and the code: 400, 405, 414, 415, 431 → SM_EINVAL; 401, 403 →
 *    SM_EKEY (the token is missing, unknown, or its role may not do this); 404 → SM_ENOTFOUND;
 *    409 → SM_EEXIST or SM_ESTATE (by the error code "exists"); 413 → SM_ETOOBIG; 408, 429 and
 *    other 4xx → SM_EIO (try again later);
 *  - 5xx: SM_EIO naming the URL and status (with the server's message when it sent one);
 *  - no answer (DNS, refused connection, TLS verification, timeout): SM_EIO naming the URL and the
 *    reason; a body over the cap: SM_ETOOBIG; SM_ENOMEM.
 * On every error *resp still holds what came (status, body) and must be cleaned up.
 */
int sm_client_get(sm_client *c, const char *path, sm_response *resp, sm_err *err);
/** POST `body` (serialised compactly, Content-Type application/json) to `path`; results as sm_client_get. */
int sm_client_post_json(sm_client *c, const char *path, const json_t *body, sm_response *resp, sm_err *err);
/** PUT `body` (compact JSON, Content-Type application/json) to `path`; results as sm_client_get. */
int sm_client_put_json(sm_client *c, const char *path, const json_t *body, sm_response *resp, sm_err *err);
/** DELETE `path`; results as sm_client_get. */
int sm_client_delete(sm_client *c, const char *path, sm_response *resp, sm_err *err);
/**
 * GET `path` streaming the body into the open file `fd` (written from its current offset), at
 * most `max` bytes (SM_ETOOBIG beyond, the file then holds a prefix), with "If-None-Match:
 * if_none_match" when that is not NULL or empty (304: 0 with resp->status 304 and nothing
 * written). resp->body stays NULL and resp->len counts the bytes written. Write failures: SM_EIO.
 * Otherwise results as sm_client_get.
 */
int sm_client_get_file(sm_client *c, const char *path, const char *if_none_match, int fd, uint64_t max,
                       sm_response *resp, sm_err *err);

/** Percent-escape `s` for a path segment or a query value (RFC 3986 unreserved kept). Caller frees; NULL on
 * OOM. */
char *sm_client_escape(const char *s);

/**
 * A certificate from its JSON view (the `show --json` shape the server answers with), for display
 * and verdicts: the inverse of sm_cert_to_json. The status "expired" becomes active (expiry is
 * derived from `expires`). Values are checked for type and size, not validated as a new record
 * would be. Caller frees *out. SM_EINVAL naming the key.
 */
int sm_cert_from_view(const json_t *j, sm_cert **out, sm_err *err);

/** Parse an RFC 3339 UTC time "YYYY-MM-DDTHH:MM:SSZ" (what sm_time_format writes). SM_EINVAL naming `field`.
 */
int sm_time_parse(const char *s, const char *field, int64_t *out, sm_err *err);

#endif
