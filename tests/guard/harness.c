/* SPDX-License-Identifier: Apache-2.0 */
/* guard_harness: a minimal libevhtp server behind the request guard, for the hostile-client tests. */
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <netinet/in.h>

#include <event2/event.h>
#include <event2/listener.h>
#include <event2/thread.h>
#include <evhtp/evhtp.h>
#include <jansson.h>
#include <openssl/evp.h>
#include <openssl/ssl.h>

#include "guard.h"

/*
 * Routes:
 *   GET|HEAD /echo?...        {"path","query"}: the raw path and query libevhtp parsed
 *   POST /echo, /v1/admin/echo {"length","sha256"} of the body
 *   GET /slow                 {"slow":true} after 200 ms (the request is paused meanwhile)
 * Usage: guard_harness [--port N] [--threads 1|2] [--max-conns N] [--tls-cert F --tls-key F] [--no-guard]
 * --no-guard serves with bare libevhtp, to show what the hostile-client tests catch without the guard.
 * Prints "listening on 127.0.0.1:PORT" once it accepts; SIGTERM or SIGINT stops it cleanly.
 */

#define MAX_THREADS 2

typedef struct worker {
	struct event_base *base;
	evhtp_t *htp;
	pthread_t thread;
} worker;

typedef struct slow_ctx {
	evhtp_request_t *req;
	struct event *ev;
} slow_ctx;

static evhtp_ssl_cfg_t ssl_cfg; /* libevhtp keeps a pointer to it */

static void reply_json(evhtp_request_t *req, evhtp_res status, json_t *j)
{
	char *s = json_dumps(j, JSON_COMPACT);
	json_decref(j);
	if (s) {
		evbuffer_add(req->buffer_out, s, strlen(s));
		evbuffer_add(req->buffer_out, "\n", 1);
		free(s);
	}
	evhtp_headers_add_header(req->headers_out,
				 evhtp_header_new("Content-Type", "application/json", 0, 0));
	sm_guard_head_fixup(req);
	evhtp_send_reply(req, status);
}

static void echo_query(evhtp_request_t *req, const char *path)
{
	const char *query = req->uri->query_raw ? (const char *)req->uri->query_raw : "";
	reply_json(req, EVHTP_RES_OK, json_pack("{s:s, s:s}", "path", path, "query", query));
}

static void echo_body(evhtp_request_t *req)
{
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned int mdlen = 0;
	char hex[2 * EVP_MAX_MD_SIZE + 1];
	size_t len = evbuffer_get_length(req->buffer_in);
	const unsigned char *body = evbuffer_pullup(req->buffer_in, -1);

	if (EVP_Digest(len ? body : (const unsigned char *)"", len, md, &mdlen, EVP_sha256(), NULL) != 1) {
		reply_json(req, EVHTP_RES_SERVERR, json_pack("{s:s}", "error", "digest"));
		return;
	}
	for (unsigned int i = 0; i < mdlen; i++)
		snprintf(hex + 2 * i, 3, "%02x", md[i]);
	hex[2 * mdlen] = '\0';
	reply_json(req, EVHTP_RES_OK, json_pack("{s:I, s:s}", "length", (json_int_t)len, "sha256", hex));
}

static void slow_fire(evutil_socket_t fd, short what, void *arg)
{
	slow_ctx *ctx = arg;
	(void)fd;
	(void)what;
	reply_json(ctx->req, EVHTP_RES_OK, json_pack("{s:b}", "slow", 1));
	evhtp_request_resume(ctx->req);
}

/* The request is going away (maybe with its connection, before the timer fired). */
static evhtp_res slow_fini(evhtp_request_t *req, void *arg)
{
	slow_ctx *ctx = arg;
	(void)req;
	event_free(ctx->ev);
	free(ctx);
	return EVHTP_RES_OK;
}

static void slow(evhtp_request_t *req)
{
	slow_ctx *ctx = calloc(1, sizeof(*ctx));
	struct timeval tv = { .tv_sec = 0, .tv_usec = 200 * 1000 };

	if (!ctx) {
		reply_json(req, EVHTP_RES_SERVERR, json_pack("{s:s}", "error", "memory"));
		return;
	}
	ctx->req = req;
	ctx->ev = evtimer_new(req->conn->evbase, slow_fire, ctx);
	if (!ctx->ev) {
		free(ctx);
		reply_json(req, EVHTP_RES_SERVERR, json_pack("{s:s}", "error", "memory"));
		return;
	}
	evhtp_request_set_hook(req, evhtp_hook_on_request_fini, (evhtp_hook)slow_fini, ctx);
	evhtp_request_pause(req);
	evtimer_add(ctx->ev, &tv);
}

static void on_request(evhtp_request_t *req, void *arg)
{
	const char *path = req->uri && req->uri->path && req->uri->path->full ? req->uri->path->full : "";
	htp_method m = evhtp_request_get_method(req);

	(void)arg;
	if (strcmp(path, "/echo") == 0 && (m == htp_method_GET || m == htp_method_HEAD))
		echo_query(req, path);
	else if ((strcmp(path, "/echo") == 0 || strcmp(path, "/v1/admin/echo") == 0) && m == htp_method_POST)
		echo_body(req);
	else if (strcmp(path, "/slow") == 0 && m == htp_method_GET)
		slow(req);
	else
		reply_json(req, EVHTP_RES_NOTFOUND, json_pack("{s:{s:s, s:s}}", "error", "code", "not_found",
							      "message", "no such route"));
}

static void *run_worker(void *arg)
{
	worker *w = arg;
	event_base_loop(w->base, EVLOOP_NO_EXIT_ON_EMPTY);
	return NULL;
}

static int setup_tls(evhtp_t *htp, const char *cert, const char *key)
{
	ssl_cfg.pemfile = (char *)(uintptr_t)cert;
	ssl_cfg.privfile = (char *)(uintptr_t)key;
	ssl_cfg.ssl_opts = SSL_OP_NO_SSLv2 | SSL_OP_NO_SSLv3 | SSL_OP_NO_TLSv1 | SSL_OP_NO_TLSv1_1;
	ssl_cfg.ssl_ctx_timeout = 300;
	ssl_cfg.scache_type = evhtp_ssl_scache_type_disabled;
	if (evhtp_ssl_init(htp, &ssl_cfg) != 0)
		return -1;
	/* evhtp_ssl_init returns 0 with a missing or mismatched key (DEPENDENCIES.md) */
	if (SSL_CTX_check_private_key(htp->ssl_ctx) != 1)
		return -1;
	if (SSL_CTX_set_min_proto_version(htp->ssl_ctx, TLS1_2_VERSION) != 1)
		return -1;
	return 0;
}

static void on_signal(evutil_socket_t sig, short what, void *arg)
{
	(void)sig;
	(void)what;
	event_base_loopbreak(arg);
}

static int parse_uint(const char *s, unsigned long max, unsigned long *out)
{
	char *end = NULL;
	errno = 0;
	unsigned long v = strtoul(s, &end, 10);
	if (errno || end == s || *end || v > max)
		return -1;
	*out = v;
	return 0;
}

int main(int argc, char **argv)
{
	worker workers[MAX_THREADS] = { 0 };
	unsigned long port = 0, threads = 2, max_conns = 0;
	const char *cert = NULL, *key = NULL;
	struct event_base *main_base = NULL;
	struct event *sigterm = NULL, *sigint = NULL;
	sm_guard *guard = NULL;
	sm_guard_limits lim;
	sm_err err = { 0 };
	int rc = 1;
	unsigned long started = 0;
	int use_guard = 1;

	for (int i = 1; i < argc; i++) {
		const char *a = argv[i];
		const char *v = i + 1 < argc ? argv[i + 1] : NULL;
		if (v && strcmp(a, "--port") == 0 && parse_uint(v, 65535, &port) == 0)
			i++;
		else if (v && strcmp(a, "--threads") == 0 && parse_uint(v, MAX_THREADS, &threads) == 0 &&
			 threads)
			i++;
		else if (v && strcmp(a, "--max-conns") == 0 && parse_uint(v, 1000000, &max_conns) == 0 &&
			 max_conns)
			i++;
		else if (v && strcmp(a, "--tls-cert") == 0 && ++i)
			cert = v;
		else if (v && strcmp(a, "--tls-key") == 0 && ++i)
			key = v;
		else if (strcmp(a, "--no-guard") == 0)
			use_guard = 0;
		else {
			fprintf(stderr, "usage: guard_harness [--port N] [--threads 1|2] [--max-conns N] "
					"[--tls-cert F --tls-key F] [--no-guard]\n");
			return 2;
		}
	}
	if ((cert == NULL) != (key == NULL)) {
		fprintf(stderr, "guard_harness: --tls-cert and --tls-key go together\n");
		return 2;
	}
	signal(SIGPIPE, SIG_IGN);
	json_object_seed(0);
	if (evthread_use_pthreads() != 0)
		goto out;
	sm_guard_limits_default(&lim);
	if (max_conns)
		lim.max_connections = (unsigned)max_conns;
	if (sm_guard_new(&guard, &lim, &err) != 0) {
		fprintf(stderr, "guard_harness: %s\n", err.msg);
		goto out;
	}

	for (unsigned long t = 0; t < threads; t++) {
		worker *w = &workers[t];
		w->base = event_base_new();
		w->htp = w->base ? evhtp_new(w->base, NULL) : NULL;
		if (!w->htp)
			goto out;
		evhtp_enable_flag(w->htp, EVHTP_FLAG_ENABLE_REUSEPORT | EVHTP_FLAG_ENABLE_NODELAY);
		evhtp_set_gencb(w->htp, on_request, NULL);
		if (cert && setup_tls(w->htp, cert, key) != 0) {
			fprintf(stderr, "guard_harness: cannot use certificate %s with key %s\n", cert, key);
			goto out;
		}
		if (use_guard && sm_guard_attach(guard, w->htp) != 0)
			goto out;
		if (evhtp_bind_socket(w->htp, "ipv4:127.0.0.1", (uint16_t)port, 128) != 0) {
			fprintf(stderr, "guard_harness: cannot listen on 127.0.0.1:%lu: %s\n", port,
				strerror(errno));
			goto out;
		}
		if (port == 0) { /* the kernel chose: the second listener joins it with SO_REUSEPORT */
			struct sockaddr_in sin;
			socklen_t slen = sizeof(sin);
			evutil_socket_t fd = evconnlistener_get_fd(w->htp->server);
			if (getsockname(fd, (struct sockaddr *)&sin, &slen) != 0)
				goto out;
			port = ntohs(sin.sin_port);
		}
	}

	main_base = event_base_new();
	if (!main_base)
		goto out;
	sigterm = evsignal_new(main_base, SIGTERM, on_signal, main_base);
	sigint = evsignal_new(main_base, SIGINT, on_signal, main_base);
	if (!sigterm || !sigint || evsignal_add(sigterm, NULL) != 0 || evsignal_add(sigint, NULL) != 0)
		goto out;
	for (; started < threads; started++)
		if (pthread_create(&workers[started].thread, NULL, run_worker, &workers[started]) != 0)
			goto out;
	printf("listening on 127.0.0.1:%lu\n", port);
	fflush(stdout);
	event_base_dispatch(main_base);
	rc = 0;
out:
	for (unsigned long t = 0; t < started; t++) {
		event_base_loopbreak(workers[t].base);
		pthread_join(workers[t].thread, NULL);
	}
	for (unsigned long t = 0; t < threads; t++) {
		if (workers[t].htp) {
			evhtp_unbind_socket(workers[t].htp);
			evhtp_free(workers[t].htp);
		}
		if (workers[t].base)
			event_base_free(workers[t].base);
	}
	if (sigterm)
		event_free(sigterm);
	if (sigint)
		event_free(sigint);
	if (main_base)
		event_base_free(main_base);
	sm_guard_free(guard);
	libevent_global_shutdown();
	return rc;
}
