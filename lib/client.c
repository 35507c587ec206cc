/* SPDX-License-Identifier: Apache-2.0 */
/* The HTTP(S) client of a registry server (libcurl): requests, caps, timeouts, error mapping. */
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include <arpa/inet.h>
#include <curl/curl.h>
#include <openssl/crypto.h>

#include "starmark/buf.h"
#include "starmark/json.h"
#include "starmark/client.h"
#include "starmark/starmark.h"

struct sm_client {
	CURL *h;
	char base[SM_CLIENT_URL_MAX + 1];
	char *auth; /* "Authorization: Bearer TOKEN", or NULL */
	bool insecure; /* the user said a token may go over plain HTTP to another machine (sm_client_allow_insecure) */
	char *cafile;
	char errbuf[CURL_ERROR_SIZE];
};

static pthread_once_t global_once = PTHREAD_ONCE_INIT;
static CURLcode global_rc = CURLE_FAILED_INIT;

static void global_init(void)
{
	global_rc = curl_global_init(CURL_GLOBAL_DEFAULT);
}

static bool printable_ascii(const char *s, bool allow_space)
{
	for (; *s; s++)
		if ((unsigned char)*s < 0x21 || (unsigned char)*s > 0x7e)
			if (!(allow_space && *s == ' '))
				return false;
	return true;
}

int sm_client_new(const char *base_url, const char *token, const char *cafile, sm_client **out, sm_err *err)
{
	char shown[80];
	size_t n = base_url ? strlen(base_url) : 0;
	*out = NULL;
	sm_err_quote(shown, sizeof(shown), base_url ? base_url : "", n);
	if (n == 0 || n > SM_CLIENT_URL_MAX - 256 || !printable_ascii(base_url, false))
		return sm_err_set(err, SM_EINVAL, "server",
		                  "the server URL '%s' is empty, too long or has spaces or "
		                  "control characters",
		                  shown);
	if (strncmp(base_url, "http://", 7) != 0 && strncmp(base_url, "https://", 8) != 0)
		return sm_err_set(err, SM_EINVAL, "server",
		                  "the server URL '%s' must start with http:// or https://", shown);
	if (strchr(base_url, '?') || strchr(base_url, '#'))
		return sm_err_set(err, SM_EINVAL, "server",
		                  "the server URL '%s' must not have a query or fragment", shown);
	/* the token is never quoted back: a message must not carry it */
	if (token && (!*token || strlen(token) > SM_CLIENT_TOKEN_MAX || !printable_ascii(token, false)))
		return sm_err_set(err, SM_EINVAL, "token",
		                  "the token is empty, longer than %d bytes, or has spaces or "
		                  "control characters",
		                  SM_CLIENT_TOKEN_MAX);
	pthread_once(&global_once, global_init);
	if (global_rc != CURLE_OK)
		return sm_err_set(err, SM_EIO, NULL, "libcurl cannot start: %s",
		                  curl_easy_strerror(global_rc));
	sm_client *c = calloc(1, sizeof(*c));
	if (!c)
		return sm_err_set(err, SM_ENOMEM, NULL, "out of memory");
	memcpy(c->base, base_url, n + 1);
	while (n > 0 && c->base[n - 1] == '/')
		c->base[--n] = '\0';
	int rc = 0;
	sm_buf b = SM_BUF_INIT;
	if (token && (sm_buf_printf(&b, "Authorization: Bearer %s", token) || sm_buf_terminate(&b)))
		rc = SM_ENOMEM;
	c->auth = token && !rc ? (char *)sm_buf_take(&b, NULL) : NULL;
	if (!rc && cafile && !(c->cafile = strdup(cafile)))
		rc = SM_ENOMEM;
	if (!rc && !(c->h = curl_easy_init()))
		rc = sm_err_set(err, SM_EIO, NULL, "libcurl cannot make a handle");
	if (b.data)
		OPENSSL_cleanse(b.data, b.cap);
	sm_buf_cleanup(&b);
	if (rc) {
		sm_client_free(c);
		return rc == SM_ENOMEM ? sm_err_set(err, rc, NULL, "out of memory") : rc;
	}
	*out = c;
	return 0;
}

void sm_client_free(sm_client *c)
{
	if (!c)
		return;
	if (c->h)
		curl_easy_cleanup(c->h);
	if (c->auth) {
		OPENSSL_cleanse(c->auth, strlen(c->auth));
		free(c->auth);
	}
	free(c->cafile);
	free(c);
}

const char *sm_client_base(const sm_client *c)
{
	return c->base;
}

void sm_response_cleanup(sm_response *r)
{
	free(r->body);
	memset(r, 0, sizeof(*r));
}

char *sm_client_escape(const char *s)
{
	static const char hex[] = "0123456789ABCDEF";
	sm_buf b = SM_BUF_INIT;
	int rc = 0;
	for (const unsigned char *p = (const unsigned char *)s; *p && !rc; p++) {
		bool keep = (*p >= 'A' && *p <= 'Z') || (*p >= 'a' && *p <= 'z') ||
		            (*p >= '0' && *p <= '9') || *p == '-' || *p == '.' || *p == '_' || *p == '~';
		char e[3] = {'%', hex[*p >> 4], hex[*p & 15]};
		rc = keep ? sm_buf_append(&b, p, 1) : sm_buf_append(&b, e, 3);
	}
	if (rc || sm_buf_terminate(&b)) {
		sm_buf_cleanup(&b);
		return NULL;
	}
	return (char *)sm_buf_take(&b, NULL);
}

/* ---- one exchange ---- */

struct sink {
	CURL *h;
	sm_buf mem; /* the body, or an error body of a file download */
	int fd;     /* >= 0: the 2xx body goes here */
	uint64_t max, written;
	bool too_big, write_failed;
	int write_errno;
	sm_response *resp;
	long retry_after; /* a 429's Retry-After in seconds, -1 when none */
};

static size_t on_body(char *p, size_t size, size_t nmemb, void *ctx)
{
	struct sink *s = ctx;
	size_t n = size * nmemb;
	long status = 0;
	curl_easy_getinfo(s->h, CURLINFO_RESPONSE_CODE, &status);
	if (s->fd >= 0 && status >= 200 && status < 300) {
		if (s->written + n > s->max) {
			s->too_big = true;
			return 0;
		}
		for (size_t off = 0; off < n;) {
			ssize_t w = write(s->fd, p + off, n - off);
			if (w < 0 && errno == EINTR)
				continue;
			if (w <= 0) {
				s->write_failed = true;
				s->write_errno = w < 0 ? errno : EIO;
				return 0;
			}
			off += (size_t)w;
		}
		s->written += n;
		return n;
	}
	int rc = sm_buf_append(&s->mem, p, n);
	if (rc == SM_ETOOBIG)
		s->too_big = true;
	return rc ? 0 : n;
}

static void copy_header_value(char *dst, size_t cap, const char *v, size_t n)
{
	while (n && (*v == ' ' || *v == '\t')) {
		v++;
		n--;
	}
	while (n && (v[n - 1] == '\r' || v[n - 1] == '\n' || v[n - 1] == ' '))
		n--;
	if (n >= cap)
		n = cap - 1;
	memcpy(dst, v, n);
	dst[n] = '\0';
}

static size_t on_header(char *p, size_t size, size_t nmemb, void *ctx)
{
	struct sink *s = ctx;
	size_t n = size * nmemb;
	if (n >= 5 && strncmp(p, "HTTP/", 5) == 0) { /* a new response (after a 1xx): forget the last one's */
		s->resp->etag[0] = '\0';
		s->resp->content_type[0] = '\0';
		s->resp->content_location[0] = '\0';
	} else if (n > 17 && strncasecmp(p, "Content-Location:", 17) == 0) {
		/* a URL cut short would be another URL: one too long for the room is dropped whole */
		copy_header_value(s->resp->content_location, sizeof(s->resp->content_location), p + 17, n - 17);
		if (strlen(s->resp->content_location) + 1 >= sizeof(s->resp->content_location))
			s->resp->content_location[0] = '\0';
	} else if (n > 5 && strncasecmp(p, "ETag:", 5) == 0) {
		copy_header_value(s->resp->etag, sizeof(s->resp->etag), p + 5, n - 5);
	} else if (n > 13 && strncasecmp(p, "Content-Type:", 13) == 0) {
		copy_header_value(s->resp->content_type, sizeof(s->resp->content_type), p + 13, n - 13);
	} else if (n > 12 && strncasecmp(p, "Retry-After:", 12) == 0) {
		char v[24];
		copy_header_value(v, sizeof(v), p + 12, n - 12);
		char *end = NULL;
		long secs = strtol(v, &end, 10);
		s->retry_after = v[0] && end && !*end && secs >= 0 ? secs : -1; /* an HTTP-date is not waited for */
	}
	return n;
}

void sm_client_allow_insecure(sm_client *c)
{
	c->insecure = true;
}

bool sm_url_is_loopback(const char *url)
{
	const char *h = strstr(url, "://");
	if (!h)
		return false;
	h += 3;
	size_t n = h[0] == '[' ? strcspn(h, "]") + 1 : strcspn(h, ":/");
	char host[64];
	if (n == 0 || n >= sizeof(host))
		return false;
	memcpy(host, h, n);
	host[n] = '\0';
	if (strcasecmp(host, "localhost") == 0 || strcmp(host, "[::1]") == 0)
		return true;
	struct in_addr a;
	return inet_pton(AF_INET, host, &a) == 1 && (ntohl(a.s_addr) >> 24) == 127;
}

static int map_status(long status, const char *code)
{
	switch (status) {
	case 400:
	case 405:
	case 414:
	case 415:
	case 422:
	case 431:
		return SM_EINVAL;
	case 401:
	case 403:
		return SM_EKEY;
	case 404:
		return SM_ENOTFOUND;
	case 409:
		return strcmp(code, "exists") == 0 ? SM_EEXIST : SM_ESTATE;
	case 413:
		return SM_ETOOBIG;
	default:
		return SM_EIO;
	}
}

/* An error answer into err: the server's {"error": {"code", "message", "field"}} when it sent one. */
static int answer_error(const sm_buf *body, long status, const char *url, sm_err *err)
{
	json_t *j = body->len ? json_loadb((const char *)body->data, body->len, 0, NULL) : NULL;
	json_t *e = json_object_get(j, "error");
	const char *msg = json_string_value(json_object_get(e, "message"));
	const char *field = json_string_value(json_object_get(e, "field"));
	const char *code = json_string_value(json_object_get(e, "code"));
	int rc = map_status(status, code ? code : "");
	if (msg && status >= 500)
		sm_err_set(err, rc, field, "the server answered %ld for %s: %s", status, url, msg);
	else if (msg)
		sm_err_set(err, rc, field, "%s", msg);
	else
		sm_err_set(err, rc, NULL, "the server answered %ld for %s", status, url);
	json_decref(j);
	return rc;
}

enum method { M_GET, M_POST, M_PUT, M_DELETE };

static int exchange_once(sm_client *c, enum method m, const char *path, const char *post, const char *inm, int fd,
                         uint64_t max, sm_response *resp, long *retry_after, sm_err *err);

/*
 * One request, with its token only where it cannot be read on the way: over https, or to this machine
 * (loopback), unless the user allowed plain HTTP (--insecure). A 429 (a rate limit: the server did nothing)
 * is tried again after its Retry-After, at most SM_CLIENT_RETRIES times and never waiting more than
 * SM_CLIENT_RETRY_MAX seconds; a download written to `fd` is not retried (its bytes may be in the file).
 */
static int exchange(sm_client *c, enum method m, const char *path, const char *post, const char *inm, int fd,
                    uint64_t max, sm_response *resp, sm_err *err)
{
	if (c->auth && strncmp(c->base, "https://", 8) != 0 && !sm_url_is_loopback(c->base) && !c->insecure) {
		memset(resp, 0, sizeof(*resp));
		return sm_err_set(err, SM_EINVAL, "server",
		                  "a token is sent only over https:// to a server other than this machine, so that nobody on "
		                  "the way can read it: use https://, or --insecure if you accept that risk");
	}
	for (int attempt = 0;; attempt++) {
		long wait = -1;
		int rc = exchange_once(c, m, path, post, inm, fd, max, resp, &wait, err);
		if (resp->status != 429 || fd >= 0 || attempt >= SM_CLIENT_RETRIES || wait < 0 || wait > SM_CLIENT_RETRY_MAX)
			return rc;
		sm_response_cleanup(resp);
		sleep((unsigned)(wait ? wait : 1));
	}
}

static int exchange_once(sm_client *c, enum method m, const char *path, const char *post, const char *inm, int fd,
                         uint64_t max, sm_response *resp, long *retry_after, sm_err *err)
{
	char url[SM_CLIENT_URL_MAX + 1];
	struct curl_slist *hdrs = NULL, *h2;
	struct sink s = {c->h, SM_BUF_INIT, fd, max, 0, false, false, 0, resp, -1};
	int rc = 0;
	memset(resp, 0, sizeof(*resp));
	s.mem.max = SM_CLIENT_MAX_BODY;
	if (!path || path[0] != '/' || strlen(c->base) + strlen(path) > SM_CLIENT_URL_MAX ||
	    !printable_ascii(path, false))
		return sm_err_set(err, SM_EINVAL, "path",
		                  "a request path must start with '/', be escaped and fit in %d bytes",
		                  SM_CLIENT_URL_MAX);
	size_t bn = strlen(c->base), pn = strlen(path);
	memcpy(url, c->base, bn);
	memcpy(url + bn, path, pn + 1);
	CURL *h = c->h;
	curl_easy_reset(h); /* every request sets all it needs; the connection cache stays */
	c->errbuf[0] = '\0';
	bool ok = curl_easy_setopt(h, CURLOPT_URL, url) == CURLE_OK &&
	          curl_easy_setopt(h, CURLOPT_PROTOCOLS_STR, "http,https") == CURLE_OK &&
	          curl_easy_setopt(h, CURLOPT_FOLLOWLOCATION, 0L) == CURLE_OK &&
	          curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L) == CURLE_OK &&
	          curl_easy_setopt(h, CURLOPT_SSL_VERIFYPEER, 1L) == CURLE_OK &&
	          curl_easy_setopt(h, CURLOPT_SSL_VERIFYHOST, 2L) == CURLE_OK &&
	          curl_easy_setopt(h, CURLOPT_SSLVERSION, (long)CURL_SSLVERSION_TLSv1_2) == CURLE_OK &&
	          (!c->cafile || curl_easy_setopt(h, CURLOPT_CAINFO, c->cafile) == CURLE_OK) &&
	          curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT, (long)SM_CLIENT_CONNECT_TIMEOUT) == CURLE_OK &&
	          curl_easy_setopt(h, CURLOPT_ERRORBUFFER, c->errbuf) == CURLE_OK &&
	          curl_easy_setopt(h, CURLOPT_USERAGENT, "starmark/" SM_VERSION_STRING) == CURLE_OK &&
	          curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, on_body) == CURLE_OK &&
	          curl_easy_setopt(h, CURLOPT_WRITEDATA, &s) == CURLE_OK &&
	          curl_easy_setopt(h, CURLOPT_HEADERFUNCTION, on_header) == CURLE_OK &&
	          curl_easy_setopt(h, CURLOPT_HEADERDATA, &s) == CURLE_OK;
	if (fd >= 0) /* a large download: cut when it stalls, not after a fixed minute */
		ok = ok &&
		     curl_easy_setopt(h, CURLOPT_LOW_SPEED_LIMIT, (long)SM_CLIENT_FILE_MIN_SPEED) ==
		         CURLE_OK &&
		     curl_easy_setopt(h, CURLOPT_LOW_SPEED_TIME, (long)SM_CLIENT_TIMEOUT) == CURLE_OK &&
		     curl_easy_setopt(h, CURLOPT_TIMEOUT, (long)SM_CLIENT_FILE_TIMEOUT) == CURLE_OK;
	else
		ok = ok && curl_easy_setopt(h, CURLOPT_TIMEOUT, (long)SM_CLIENT_TIMEOUT) == CURLE_OK;
	if (c->auth && (h2 = curl_slist_append(hdrs, c->auth)))
		hdrs = h2;
	else if (c->auth)
		ok = false;
	if (inm && *inm) {
		char line[160];
		snprintf(line, sizeof(line), "If-None-Match: %s", inm);
		if ((h2 = curl_slist_append(hdrs, line)))
			hdrs = h2;
		else
			ok = false;
	}
	if (m == M_PUT || m == M_DELETE)
		ok = ok && curl_easy_setopt(h, CURLOPT_CUSTOMREQUEST, m == M_PUT ? "PUT" : "DELETE") == CURLE_OK;
	if (m == M_POST || m == M_PUT) {
		static const char *const extra[] = {"Content-Type: application/json", "Expect:"};
		for (size_t i = 0; i < 2 && ok; i++) {
			if ((h2 = curl_slist_append(hdrs, extra[i])))
				hdrs = h2;
			else
				ok = false;
		}
		ok = ok && curl_easy_setopt(h, CURLOPT_POSTFIELDS, post) == CURLE_OK &&
		     curl_easy_setopt(h, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)strlen(post)) == CURLE_OK;
	}
	ok = ok && curl_easy_setopt(h, CURLOPT_HTTPHEADER, hdrs) == CURLE_OK;
	if (!ok) {
		rc = sm_err_set(err, SM_EIO, NULL, "libcurl refused the request options for %s", url);
		goto out;
	}
	CURLcode cr = curl_easy_perform(h);
	curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &resp->status);
	if (s.write_failed) {
		rc = sm_err_set(err, SM_EIO, NULL, "cannot write the answer of %s: %s", url,
		                strerror(s.write_errno));
		goto out;
	}
	if (s.too_big) {
		rc = sm_err_set(err, SM_ETOOBIG, NULL, "the answer of %s is larger than %llu bytes", url,
		                (unsigned long long)(fd >= 0 ? max : SM_CLIENT_MAX_BODY));
		goto out;
	}
	if (cr != CURLE_OK) {
		rc =
		    sm_err_set(err, cr == CURLE_OUT_OF_MEMORY ? SM_ENOMEM : SM_EIO, NULL,
		               "cannot reach %s: %s", url, c->errbuf[0] ? c->errbuf : curl_easy_strerror(cr));
		goto out;
	}
	if (sm_buf_terminate(&s.mem)) {
		rc = sm_err_set(err, SM_ENOMEM, NULL, "out of memory");
		goto out;
	}
	if (resp->status >= 400) {
		rc = answer_error(&s.mem, resp->status, url, err);
	} else if (resp->status < 200 || (resp->status >= 300 && resp->status != 304)) {
		rc = sm_err_set(err, SM_EIO, NULL, "unexpected answer %ld from %s", resp->status, url);
	}
out:
	*retry_after = s.retry_after;
	curl_slist_free_all(hdrs);
	/* the Authorization line lives in the slist copy only until here; curl keeps no copy after reset */
	resp->len = fd >= 0 && resp->status >= 200 && resp->status < 300 ? (size_t)s.written : s.mem.len;
	if (fd >= 0 && resp->status >= 200 && resp->status < 300) {
		sm_buf_cleanup(&s.mem);
	} else {
		resp->body = s.mem.data ? sm_buf_take(&s.mem, NULL) : NULL;
	}
	return rc;
}

int sm_client_get(sm_client *c, const char *path, sm_response *resp, sm_err *err)
{
	return exchange(c, M_GET, path, NULL, NULL, -1, 0, resp, err);
}

int sm_client_post_json(sm_client *c, const char *path, const json_t *body, sm_response *resp, sm_err *err)
{
	char *s = json_dumps(body, JSON_COMPACT | JSON_PRESERVE_ORDER);
	if (!s) {
		memset(resp, 0, sizeof(*resp));
		return sm_err_set(err, SM_ENOMEM, NULL, "cannot encode the request body");
	}
	int rc = exchange(c, M_POST, path, s, NULL, -1, 0, resp, err);
	free(s);
	return rc;
}

int sm_client_put_json(sm_client *c, const char *path, const json_t *body, sm_response *resp, sm_err *err)
{
	char *s = json_dumps(body, JSON_COMPACT | JSON_PRESERVE_ORDER);
	if (!s) {
		memset(resp, 0, sizeof(*resp));
		return sm_err_set(err, SM_ENOMEM, NULL, "cannot encode the request body");
	}
	int rc = exchange(c, M_PUT, path, s, NULL, -1, 0, resp, err);
	free(s);
	return rc;
}

int sm_client_delete(sm_client *c, const char *path, sm_response *resp, sm_err *err)
{
	return exchange(c, M_DELETE, path, NULL, NULL, -1, 0, resp, err);
}

int sm_client_get_file(sm_client *c, const char *path, const char *if_none_match, int fd, uint64_t max,
                       sm_response *resp, sm_err *err)
{
	if (fd < 0) {
		memset(resp, 0, sizeof(*resp));
		return sm_err_set(err, SM_EINVAL, "fd", "no file to write the answer to");
	}
	if (if_none_match && (strlen(if_none_match) > 120 || !printable_ascii(if_none_match, true))) {
		memset(resp, 0, sizeof(*resp));
		return sm_err_set(err, SM_EINVAL, "etag", "the cached ETag is malformed");
	}
	return exchange(c, M_GET, path, NULL, if_none_match, fd, max, resp, err);
}

/* ---- JSON views back into records ---- */

int sm_time_parse(const char *s, const char *field, int64_t *out, sm_err *err)
{
	char day[11], shown[40];
	sm_date d;
	size_t n = s ? strlen(s) : 0;
	unsigned v[3] = {0, 0, 0};
	bool ok = n == 20 && s[10] == 'T' && s[13] == ':' && s[16] == ':' && s[19] == 'Z';
	for (int i = 0; ok && i < 3; i++) {
		const char *p = s + 11 + 3 * i;
		ok = p[0] >= '0' && p[0] <= '9' && p[1] >= '0' && p[1] <= '9';
		v[i] = ok ? (unsigned)(p[0] - '0') * 10 + (unsigned)(p[1] - '0') : 0;
	}
	if (ok) {
		memcpy(day, s, 10);
		day[10] = '\0';
		ok = v[0] < 24 && v[1] < 60 && v[2] < 60 && sm_date_parse(day, false, field, &d, NULL) == 0;
	}
	if (!ok) {
		sm_err_quote(shown, sizeof(shown), s ? s : "", n);
		return sm_err_set(err, SM_EINVAL, field, "%s must be a time YYYY-MM-DDTHH:MM:SSZ, not '%s'",
		                  field, shown);
	}
	*out = (int64_t)d * 86400 + v[0] * 3600 + v[1] * 60 + v[2];
	return 0;
}

static int view_str(const json_t *j, const char *key, size_t max, bool optional, char **out, sm_err *err)
{
	const json_t *v = json_object_get(j, key);
	if (optional && (!v || json_is_null(v)))
		return 0;
	if (!json_is_string(v) || json_string_length(v) > max ||
	    strlen(json_string_value(v)) != json_string_length(v))
		return sm_err_set(err, SM_EINVAL, key, "%s must be a string of at most %zu bytes", key, max);
	*out = strdup(json_string_value(v));
	return *out ? 0 : sm_err_set(err, SM_ENOMEM, NULL, "out of memory");
}

static int view_fixed(const json_t *j, const char *key, char *dst, size_t cap, sm_err *err)
{
	char *s = NULL;
	int rc = view_str(j, key, cap - 1, false, &s, err);
	if (!rc)
		memcpy(dst, s, strlen(s) + 1);
	free(s);
	return rc;
}

static int view_date(const json_t *j, const char *key, sm_date *out, sm_err *err)
{
	const json_t *v = json_object_get(j, key);
	*out = SM_DATE_NONE;
	if (!v || json_is_null(v))
		return 0;
	if (!json_is_string(v))
		return sm_err_set(err, SM_EINVAL, key, "%s must be a date or null", key);
	return sm_date_parse(json_string_value(v), false, key, out, err);
}

static int view_strv(const json_t *v, const char *key, size_t max, char ***out, size_t *n, sm_err *err)
{
	if (!json_is_array(v) || json_array_size(v) > max)
		return sm_err_set(err, SM_EINVAL, key, "%s must be an array of at most %zu strings", key,
		                  max);
	*out = calloc(json_array_size(v) + 1, sizeof(char *));
	if (!*out)
		return sm_err_set(err, SM_ENOMEM, NULL, "out of memory");
	for (size_t i = 0; i < json_array_size(v); i++) {
		const json_t *x = json_array_get(v, i);
		if (!json_is_string(x) || strlen(json_string_value(x)) != json_string_length(x))
			return sm_err_set(err, SM_EINVAL, key, "%s[%zu] must be a string", key, i);
		if (!((*out)[i] = strdup(json_string_value(x))))
			return sm_err_set(err, SM_ENOMEM, NULL, "out of memory");
		*n = i + 1;
	}
	return 0;
}

int sm_cert_from_view(const json_t *j, sm_cert **out, sm_err *err)
{
	sm_cert *c = sm_cert_new();
	const json_t *vendor = json_object_get(j, "vendor"), *fw = json_object_get(j, "firmware");
	const json_t *level = json_object_get(j, "level");
	const char *status = json_string_value(json_object_get(j, "status"));
	int rc = c ? 0 : sm_err_set(err, SM_ENOMEM, NULL, "out of memory");
	*out = NULL;
	if (!rc && (!json_is_object(j) || !json_is_object(vendor) || !json_is_object(fw)))
		rc = sm_err_set(err, SM_EINVAL, "certificate",
		                "a certificate view is an object with vendor and firmware objects");
	if (!rc && (!json_is_integer(level) || json_integer_value(level) < 1 ||
	            json_integer_value(level) > SM_LEVELS_MAX))
		rc = sm_err_set(err, SM_EINVAL, "level", "level must be an integer 1..%d", SM_LEVELS_MAX);
	if (!rc)
		c->level = (int)json_integer_value(level);
	if (!rc)
		rc = view_fixed(j, "id", c->id, sizeof(c->id), err);
	if (!rc)
		rc = view_fixed(j, "scheme", c->scheme, sizeof(c->scheme), err);
	if (!rc)
		rc = view_fixed(vendor, "code", c->vendor, sizeof(c->vendor), err);
	if (!rc)
		rc = view_str(vendor, "name", SM_NAME_MAX, false, &c->vendor_name, err);
	if (!rc)
		rc = view_str(j, "product", SM_NAME_MAX, false, &c->product, err);
	if (!rc)
		rc = view_strv(json_object_get(j, "models"), "models", SM_MODELS_MAX, &c->models, &c->nmodels,
		               err);
	if (!rc)
		rc = view_str(j, "category", SM_CATEGORY_MAX, true, &c->category, err);
	if (!rc)
		rc = view_str(fw, "covered", 4096, false, &c->firmware, err);
	if (!rc && json_object_get(fw, "revoked"))
		rc = view_strv(json_object_get(fw, "revoked"), "firmware.revoked", SM_REVOKED_MAX,
		               &c->revoked, &c->nrevoked, err);
	if (!rc)
		rc = view_date(j, "registered", &c->registered, err);
	if (!rc)
		rc = view_date(j, "expires", &c->expires, err);
	if (!rc)
		rc = view_date(j, "support_end", &c->support_end, err);
	if (!rc)
		rc = view_str(j, "requirements", SM_REQUIREMENTS_MAX, true, &c->requirements, err);
	if (!rc)
		rc = view_str(j, "url", SM_URL_MAX, true, &c->url, err);
	if (!rc && json_object_get(j, "scheme_ref"))
		rc = view_str(j, "scheme_ref", SM_SCHEME_REF_MAX, true, &c->scheme_ref, err);
	if (!rc && json_object_get(j, "history"))
		rc = sm_history_from_json(json_object_get(j, "history"), c, err);
	if (!rc) {
		int st = status ? sm_status_from_name(status) : -1;
		/* "expired" is derived from the date; the stored state under it is active */
		if (st < 0)
			rc = sm_err_set(err, SM_EINVAL, "status",
			                "status must be active, suspended, revoked or expired");
		else
			c->status =
			    st == SM_STATUS_SUSPENDED || st == SM_STATUS_REVOKED ? st : SM_STATUS_ACTIVE;
	}
	if (rc) {
		sm_cert_free(c);
		return rc;
	}
	*out = c;
	return 0;
}
