/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The pages of web/ (registry search, retrofit check, scanner): read once at start into memory, each file
 * with its content type, strong ETag and a gzip copy, and served with a strict Content-Security-Policy.
 *
 * Why in memory: the set is small (a few hundred KB), fixed for the life of the process (a new web/ needs a
 * restart, as a new binary does), and a request then never touches the disk or a path built from its URL.
 * Only names made of [A-Za-z0-9._-] per segment, of the extensions below, are loaded: nothing else under
 * the root (node_modules, package files, dotfiles) can be served whatever the request says. Symbolic links
 * are not followed, so nothing outside the root is served either.
 */
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <zlib.h>

#include "server.h"

#define STATIC_FILES_MAX 256
#define STATIC_FILE_MAX (2u << 20)    /* one file */
#define STATIC_TOTAL_MAX (16u << 20)  /* all of them */
#define STATIC_DEPTH_MAX 4
#define STATIC_NAME_MAX 200

/* What every page gets: only this origin's scripts, styles, images, workers and API; no inline script, no
 * framing, no third party. 'wasm-unsafe-eval' is not granted: the decoder is plain JavaScript. */
static const char CSP[] = "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data: blob:; "
			  "media-src 'self' blob:; connect-src 'self'; worker-src 'self'; manifest-src 'self'; "
			  "font-src 'self'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'";

typedef struct static_file {
	char url[STATIC_NAME_MAX + 16]; /* "/static/js/app.js", or a page's own path ("/", "/check") */
	const char *ctype;
	uint8_t *body, *gz;
	size_t n, gzn;
	char etag[48], gzetag[48];
	bool html;
} static_file;

static struct {
	static_file f[STATIC_FILES_MAX];
	size_t n, total;
	char root[1024];
} web;

static const struct {
	const char *ext, *ctype;
} TYPES[] = {
	{ ".html", "text/html; charset=utf-8" },
	{ ".js", "text/javascript; charset=utf-8" },
	{ ".mjs", "text/javascript; charset=utf-8" },
	{ ".css", "text/css; charset=utf-8" },
	{ ".svg", "image/svg+xml" },
	{ ".png", "image/png" },
	{ ".json", "application/json" },
	{ ".webmanifest", "application/manifest+json" },
	{ ".txt", "text/plain; charset=utf-8" },
	{ ".woff2", "font/woff2" },
};

/* The pages' addresses: the file at the root of web/ each one is. */
static const struct {
	const char *url, *file;
} PAGES[] = {
	{ "/", "index.html" },
	{ "/check", "check.html" },
	{ "/scan", "scan.html" },
	{ "/sw.js", "sw.js" }, /* the scanner's service worker: at the root, so that its scope may be /scan */
	{ "/manifest.webmanifest", "manifest.webmanifest" },
};

static const char *ctype_of(const char *name)
{
	const char *dot = strrchr(name, '.');
	for (size_t i = 0; dot && i < sizeof(TYPES) / sizeof(TYPES[0]); i++)
		if (strcmp(dot, TYPES[i].ext) == 0)
			return TYPES[i].ctype;
	return NULL;
}

static bool name_ok(const char *s)
{
	if (!*s || *s == '.' || strlen(s) > 64)
		return false;
	for (; *s; s++)
		if (!((*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z') || (*s >= '0' && *s <= '9') || *s == '.' ||
		      *s == '-' || *s == '_'))
			return false;
	return true;
}

static int gzip_of(static_file *f)
{
	z_stream z;
	memset(&z, 0, sizeof(z));
	if (deflateInit2(&z, Z_BEST_COMPRESSION, Z_DEFLATED, 15 + 16, 9, Z_DEFAULT_STRATEGY) != Z_OK)
		return SM_ENOMEM;
	size_t cap = deflateBound(&z, f->n);
	f->gz = malloc(cap);
	if (!f->gz) {
		deflateEnd(&z);
		return SM_ENOMEM;
	}
	z.next_in = f->body;
	z.avail_in = (uInt)f->n;
	z.next_out = f->gz;
	z.avail_out = (uInt)cap;
	int zr = deflate(&z, Z_FINISH);
	f->gzn = z.total_out;
	deflateEnd(&z);
	if (zr != Z_STREAM_END || f->gzn >= f->n) { /* not worth it: serve the plain bytes only */
		free(f->gz);
		f->gz = NULL;
		f->gzn = 0;
	}
	return 0;
}

static int load_file(const char *path, const char *url, const char *ctype, sm_err *err)
{
	if (web.n == STATIC_FILES_MAX)
		return sm_err_set(err, SM_ETOOBIG, "web", "more than %d files under %s", STATIC_FILES_MAX, web.root);
	static_file *f = &web.f[web.n];
	memset(f, 0, sizeof(*f));
	size_t n = 0;
	int rc = sm_file_read(path, STATIC_FILE_MAX, &f->body, &n, err);
	if (rc)
		return rc;
	if (web.total + n > STATIC_TOTAL_MAX) {
		free(f->body);
		return sm_err_set(err, SM_ETOOBIG, "web", "the files under %s are over %u MiB in all", web.root,
				  STATIC_TOTAL_MAX >> 20);
	}
	f->n = n;
	snprintf(f->url, sizeof(f->url), "%s", url);
	f->ctype = ctype;
	f->html = strncmp(ctype, "text/html", 9) == 0;
	sm_etag_of(f->body, n, f->etag);
	if ((rc = gzip_of(f))) {
		free(f->body);
		return sm_err_set(err, rc, "web", "out of memory compressing %s", path);
	}
	/* the compressed bytes are another representation: another tag ("…-gz") */
	memcpy(f->gzetag, f->etag, sizeof(f->gzetag));
	snprintf(f->gzetag + strlen(f->etag) - 1, sizeof(f->gzetag) - strlen(f->etag) + 1, "-gz\"");
	web.total += n;
	web.n++;
	return 0;
}

/* Every servable file under dir (web/static/...), as /static/<rel>. */
static int load_tree(const char *dir, const char *url, int depth, sm_err *err)
{
	if (depth > STATIC_DEPTH_MAX)
		return 0;
	DIR *d = opendir(dir);
	if (!d)
		return sm_err_set(err, SM_EIO, "web", "cannot read %s: %s", dir, strerror(errno));
	int rc = 0;
	struct dirent *e;
	while (!rc && (e = readdir(d))) {
		if (!name_ok(e->d_name) || strcmp(e->d_name, "node_modules") == 0)
			continue;
		char path[1300], u[STATIC_NAME_MAX + 16];
		struct stat st;
		/* lstat: a symbolic link is skipped, file or directory, wherever it points (it could lead out of web/) */
		if ((size_t)snprintf(path, sizeof(path), "%s/%s", dir, e->d_name) >= sizeof(path) ||
		    (size_t)snprintf(u, sizeof(u), "%s/%s", url, e->d_name) >= STATIC_NAME_MAX || lstat(path, &st) != 0)
			continue;
		const char *ct = ctype_of(e->d_name);
		if (S_ISDIR(st.st_mode))
			rc = load_tree(path, u, depth + 1, err);
		else if (S_ISREG(st.st_mode) && ct)
			rc = load_file(path, u, ct, err);
	}
	closedir(d);
	return rc;
}

int sm_static_load(const char *root, sm_err *err)
{
	sm_static_free();
	snprintf(web.root, sizeof(web.root), "%s", root);
	struct stat st;
	if (stat(root, &st) != 0 || !S_ISDIR(st.st_mode))
		return sm_err_set(err, SM_ENOTFOUND, "web", "no web pages at %s", root);
	int rc = 0;
	for (size_t i = 0; !rc && i < sizeof(PAGES) / sizeof(PAGES[0]); i++) {
		char path[1300];
		snprintf(path, sizeof(path), "%s/%s", root, PAGES[i].file);
		if (lstat(path, &st) == 0 && S_ISREG(st.st_mode))
			rc = load_file(path, PAGES[i].url, ctype_of(PAGES[i].file), err);
	}
	char sdir[1100];
	snprintf(sdir, sizeof(sdir), "%s/static", root);
	if (!rc && lstat(sdir, &st) == 0 && S_ISDIR(st.st_mode))
		rc = load_tree(sdir, "/static", 0, err);
	if (rc)
		sm_static_free();
	return rc;
}

void sm_static_free(void)
{
	for (size_t i = 0; i < web.n; i++) {
		free(web.f[i].body);
		free(web.f[i].gz);
	}
	web.n = web.total = 0;
}

size_t sm_static_count(void)
{
	return web.n;
}

/* Whether the client takes gzip: "gzip" listed and not with q=0. */
static bool takes_gzip(const sm_req *q)
{
	const char *ae = sm_req_header(q, "Accept-Encoding");
	const char *g = ae ? strstr(ae, "gzip") : NULL;
	if (!g)
		return false;
	const char *end = strchr(g, ',');
	const char *qv = strstr(g, ";q=");
	return !(qv && (!end || qv < end) && strtod(qv + 3, NULL) <= 0);
}

void sm_static_headers(sm_req *q)
{
	evhtp_headers_t *h = q->r->headers_out;
	evhtp_headers_add_header(h, evhtp_header_new("Content-Security-Policy", CSP, 0, 0));
	evhtp_headers_add_header(h, evhtp_header_new("Referrer-Policy", "no-referrer", 0, 0));
	evhtp_headers_add_header(h, evhtp_header_new("X-Frame-Options", "DENY", 0, 0));
	evhtp_headers_add_header(h, evhtp_header_new("Permissions-Policy", "camera=(self), microphone=(), geolocation=()", 0, 0));
}

static const static_file *find(const char *path)
{
	for (size_t i = 0; i < web.n; i++)
		if (strcmp(web.f[i].url, path) == 0)
			return &web.f[i];
	return NULL;
}

bool sm_static_has(const char *path)
{
	return find(path) != NULL;
}

void sm_static_serve(sm_req *q, const char *path)
{
	/* the pages take their state from the query (search terms, language): the server ignores it */
	const static_file *f = find(path);
	if (!f) {
		sm_static_not_found(q);
		return;
	}
	sm_static_headers(q);
	evhtp_headers_add_header(q->r->headers_out, evhtp_header_new("Vary", "Accept-Encoding", 0, 0));
	/* no hashed names: every use revalidates (a 304 is a few bytes), and a new web/ shows at once */
	if (f->gz && takes_gzip(q)) {
		evhtp_headers_add_header(q->r->headers_out, evhtp_header_new("Content-Encoding", "gzip", 0, 0));
		sm_reply_tagged(q, 200, f->ctype, f->gz, f->gzn, "no-cache", f->gzetag);
	} else {
		sm_reply_tagged(q, 200, f->ctype, f->body, f->n, "no-cache", f->etag);
	}
}

void sm_static_not_found(sm_req *q)
{
	/* a person following a link gets a page with a way back; a program gets the JSON error */
	const char *accept = sm_req_header(q, "Accept");
	if (!accept || !strstr(accept, "text/html") || strncmp(q->path, "/v1/", 4) == 0) {
		sm_reply_error(q, 404, "not_found", NULL, "no such resource");
		return;
	}
	static const char PAGE[] =
		"<!doctype html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
		"<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">"
		"<title>Not found / 見つかりません</title></head><body>\n"
		"<h1>Not found</h1><p>There is no page at this address. <a href=\"/\">Search the registry</a></p>\n"
		"<h1 lang=\"ja\">ページが見つかりません</h1><p lang=\"ja\">このアドレスにページはありません。"
		"<a href=\"/?lang=ja\">登録情報を検索する</a></p>\n</body></html>\n";
	sm_static_headers(q);
	sm_reply(q, 404, "text/html; charset=utf-8", PAGE, sizeof(PAGE) - 1, "no-store", false);
}
