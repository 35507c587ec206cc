/* SPDX-License-Identifier: Apache-2.0 */
/* starmarkd: argv -> config -> registry -> listen (one event loop per thread) -> serve -> clean stop. */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <event2/event.h>
#include <event2/thread.h>
#include <openssl/crypto.h>
#include <openssl/ssl.h>

#include "guard.h"
#include "server.h"

#define MAX_THREADS 64

struct loop {
	struct event_base *base;
	evhtp_t *htp;
	pthread_t thread;
};

static struct loop loops[MAX_THREADS];
static int nloops;
static struct evhtp_ssl_cfg ssl_cfg; /* libevhtp keeps a pointer to it */

static void usage(FILE *f)
{
	fprintf(f, "usage: starmarkd --db DIR [--listen HOST:PORT] [--tls-cert F --tls-key F] [--threads N]\n"
		   "                 [--passphrase-file F] [--web DIR] [--config FILE] [--check-config]\n"
		   "Serves the registry in DIR: the public query API, the log, snapshots, the admin API and the\n"
		   "pages of --web DIR (registry search, retrofit check, scanner; default " SM_WEB_DIR ").\n"
		   "--listen 127.0.0.1:0 picks a free port; the chosen address is printed as 'listening on HOST:PORT'.\n");
}

static void on_reject(evhtp_connection_t *c, unsigned status, const char *code, const char *method, size_t method_len,
		      const char *target, size_t target_len, void *arg)
{
	sm_server *s = arg;
	sm_metrics_observe(&s->metrics, R_NOT_FOUND, (int)status, 0);
	if (!s->cfg.access_log)
		return;
	/* who, and what they sent, every byte of it escaped (a refused request is the likeliest to be hostile) */
	char client[64], m[40], t[600];
	sm_addr_text(c ? (const struct sockaddr *)c->saddr : NULL, client, sizeof(client));
	fprintf(stderr, "req=- client=%s method=%s target=%s guard status=%u code=%s\n", client,
		method_len ? sm_log_escape(m, sizeof(m), method, method_len) : "-",
		target_len ? sm_log_escape(t, sizeof(t), target, target_len) : "-", status, code);
}

static int setup_tls(evhtp_t *htp, const sm_server_config *c, sm_err *err)
{
	ssl_cfg.pemfile = (char *)(uintptr_t)c->tls_cert;
	ssl_cfg.privfile = (char *)(uintptr_t)c->tls_key;
	ssl_cfg.ciphers = (char *)(uintptr_t)"ECDHE+AESGCM:ECDHE+CHACHA20:!aNULL:!MD5:!SHA1";
	ssl_cfg.ssl_opts = SSL_OP_NO_SSLv2 | SSL_OP_NO_SSLv3 | SSL_OP_NO_TLSv1 | SSL_OP_NO_TLSv1_1 | SSL_OP_NO_COMPRESSION |
			   SSL_OP_CIPHER_SERVER_PREFERENCE;
	ssl_cfg.scache_type = evhtp_ssl_scache_type_disabled;
	/* evhtp_ssl_init says 0 even when the files are missing or do not match: check the context */
	if (evhtp_ssl_init(htp, &ssl_cfg) != 0 || !htp->ssl_ctx || SSL_CTX_check_private_key(htp->ssl_ctx) != 1)
		return sm_err_set(err, SM_EINVAL, "tls", "cannot use TLS certificate %s with key %s", c->tls_cert, c->tls_key);
	SSL_CTX_set_min_proto_version(htp->ssl_ctx, TLS1_2_VERSION);
	return 0;
}

static void *run_loop(void *arg)
{
	event_base_dispatch(((struct loop *)arg)->base);
	sm_cache_thread_free();
	return NULL;
}

int main(int argc, char **argv)
{
	static sm_server srv;
	sm_err err = { 0 };
	sm_guard *guard = NULL;
	bool check_only = false;
	char *pass = NULL;
	int rc = 0;
	sm_config_default(&srv.cfg);
	/* a config file first, then the command line over it */
	for (int i = 1; i < argc; i++)
		if (strcmp(argv[i], "--config") == 0 && i + 1 < argc && (rc = sm_config_load(&srv.cfg, argv[i + 1], &err))) {
			fprintf(stderr, "starmarkd: %s\n", err.msg);
			return 2;
		}
	for (int i = 1; i < argc; i++) {
		const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
		bool takes = strcmp(a, "--db") == 0 || strcmp(a, "--listen") == 0 || strcmp(a, "--tls-cert") == 0 ||
			     strcmp(a, "--tls-key") == 0 || strcmp(a, "--threads") == 0 || strcmp(a, "--config") == 0 ||
			     strcmp(a, "--passphrase-file") == 0 || strcmp(a, "--web") == 0;
		if (takes && !v) {
			fprintf(stderr, "starmarkd: %s needs a value\n", a);
			return 2;
		}
		if (strcmp(a, "--help") == 0) {
			usage(stdout);
			return 0;
		} else if (strcmp(a, "--version") == 0) {
			printf("starmarkd %s\n", sm_version_string());
			return 0;
		} else if (strcmp(a, "--check-config") == 0) {
			check_only = true;
		} else if (strcmp(a, "--db") == 0) {
			snprintf(srv.cfg.db, sizeof(srv.cfg.db), "%s", v);
		} else if (strcmp(a, "--listen") == 0) {
			rc = sm_config_listen(&srv.cfg, v, &err);
		} else if (strcmp(a, "--tls-cert") == 0) {
			snprintf(srv.cfg.tls_cert, sizeof(srv.cfg.tls_cert), "%s", v);
		} else if (strcmp(a, "--tls-key") == 0) {
			snprintf(srv.cfg.tls_key, sizeof(srv.cfg.tls_key), "%s", v);
		} else if (strcmp(a, "--web") == 0) {
			snprintf(srv.cfg.web, sizeof(srv.cfg.web), "%s", v);
		} else if (strcmp(a, "--passphrase-file") == 0) {
			snprintf(srv.cfg.passphrase_file, sizeof(srv.cfg.passphrase_file), "%s", v);
		} else if (strcmp(a, "--threads") == 0) {
			char *end = NULL;
			long t = strtol(v, &end, 10);
			if (*end || t < 1 || t > MAX_THREADS)
				rc = sm_err_set(&err, SM_EINVAL, "threads", "--threads must be 1..%d", MAX_THREADS);
			srv.cfg.threads = (int)t;
		} else if (strcmp(a, "--config") != 0) {
			fprintf(stderr, "starmarkd: unknown option %s\n", a);
			usage(stderr);
			return 2;
		}
		if (takes)
			i++;
		if (rc) {
			fprintf(stderr, "starmarkd: %s\n", err.msg);
			return 2;
		}
	}
	if ((rc = sm_config_check(&srv.cfg, &err))) {
		fprintf(stderr, "starmarkd: %s\n", err.msg);
		return 2;
	}
	if (srv.cfg.passphrase_file[0] && (rc = sm_passphrase_read(srv.cfg.passphrase_file, &pass, &err))) {
		fprintf(stderr, "starmarkd: %s\n", err.msg);
		return 2;
	}
	rc = sm_registry_open(srv.cfg.db, true, pass, &srv.reg, &err);
	if (pass) {
		OPENSSL_cleanse(pass, strlen(pass));
		free(pass);
	}
	if (rc) {
		fprintf(stderr, "starmarkd: %s\n", err.msg);
		return rc == SM_ENOTFOUND || rc == SM_EINVAL ? 2 : 4;
	}
	/* the keys the server signs with must load now, not at the first request */
	if ((rc = sm_registry_load_key(srv.reg, SM_ROLE_STATUS, &err)) || (rc = sm_registry_load_key(srv.reg, SM_ROLE_LOG, &err))) {
		fprintf(stderr, "starmarkd: %s\n", err.msg);
		sm_registry_close(srv.reg);
		return 2;
	}
	/* the pages are a convenience: without them the API serves on, and / says where they were looked for */
	rc = sm_static_load(srv.cfg.web, &err);
	if (rc == SM_ENOTFOUND)
		fprintf(stderr, "starmarkd: warning: %s (web = DIR in the configuration): /, /check and /scan answer 404\n",
			err.msg);
	else if (rc) {
		fprintf(stderr, "starmarkd: %s\n", err.msg);
		sm_registry_close(srv.reg);
		return 2;
	}
	if (check_only) {
		char where[300];
		printf("starmarkd: configuration OK (registry %s, listen %s, %s, %d thread%s)\n", srv.cfg.db,
		       sm_config_hostport(&srv.cfg, srv.cfg.listen_port, where, sizeof(where)),
		       srv.cfg.tls_cert[0] ? "TLS" : "plain HTTP", srv.cfg.threads, srv.cfg.threads == 1 ? "" : "s");
		sm_static_free();
		sm_registry_close(srv.reg);
		return 0;
	}
	sm_srv = &srv;
	atomic_store(&srv.metrics.statements_backlog, true); /* not known before the refresher's first round */
	snprintf(srv.snapshot_path, sizeof(srv.snapshot_path), "%s/snapshot.cose", srv.cfg.db);
	pthread_mutex_init(&srv.write_lock, NULL);
	pthread_mutex_init(&srv.snap_lock, NULL);
	pthread_mutex_init(&srv.health_lock, NULL);
	sm_rate_table_init(&srv.admin_rate);
	sm_rate_table_init(&srv.home_rate);
	json_object_seed(0);
	evthread_use_pthreads();

	/* PUT and DELETE for the admin policy routes; a home document (up to 1 MiB) is a public body of its own */
	static const char *const methods[] = { "GET", "HEAD", "POST", "PUT", "DELETE", NULL };
	static const char *const big_paths[] = { "/v1/home/check", NULL };
	sm_guard_limits lim;
	sm_guard_limits_default(&lim);
	lim.max_connections = (unsigned)srv.cfg.max_connections;
	lim.methods = methods;
	lim.big_body_paths = big_paths;
	lim.max_body_big = SM_HOME_MAX_SIZE;
	if ((rc = sm_guard_new(&guard, &lim, &err))) {
		fprintf(stderr, "starmarkd: %s\n", err.msg);
		return 2;
	}
	sm_guard_set_reject_cb(guard, on_reject, &srv);

	sigset_t sigs;
	sigemptyset(&sigs);
	sigaddset(&sigs, SIGTERM);
	sigaddset(&sigs, SIGINT);
	pthread_sigmask(SIG_BLOCK, &sigs, NULL); /* every thread inherits the mask; main waits for them */
	signal(SIGPIPE, SIG_IGN);

	int port = 0;
	evhtp_t *htps[MAX_THREADS];
	for (nloops = 0; nloops < srv.cfg.threads; nloops++) {
		struct loop *l = &loops[nloops];
		l->base = event_base_new();
		l->htp = l->base ? evhtp_new(l->base, &srv) : NULL;
		if (!l->htp) {
			fprintf(stderr, "starmarkd: cannot create the event loop\n");
			return 4;
		}
		l->htp->flags |= EVHTP_FLAG_ENABLE_NODELAY;
		evhtp_set_gencb(l->htp, sm_dispatch, &srv);
		if (sm_guard_attach(guard, l->htp) != 0 || (srv.cfg.tls_cert[0] && (rc = setup_tls(l->htp, &srv.cfg, &err)))) {
			fprintf(stderr, "starmarkd: %s\n", err.msg[0] ? err.msg : "cannot set up the connection guard");
			return 2;
		}
		htps[nloops] = l->htp;
	}
	/* the port is this server's alone; its loops share it (listen.c says how, and what is left open) */
	if ((rc = sm_listen_bind(htps, nloops, &srv.cfg, &port, &err))) {
		fprintf(stderr, "starmarkd: %s\n", err.msg);
		return 4;
	}
	/* the store against its entries and its saved checkpoint, before answering (docs/operations.md, "Integrity");
	 * a failure is served as such: reads go on, /healthz says what failed, changes are refused */
	sm_integrity_quick(&srv);
	pthread_t verifier;
	pthread_create(&verifier, NULL, sm_verify_run, &srv);
	/* build the first snapshot before answering, so /v1/snapshot is there from the start */
	if (sm_maint_snapshot(&srv, true, &err))
		fprintf(stderr, "starmarkd: the first snapshot failed: %s\n", err.msg);
	pthread_t maint;
	pthread_create(&maint, NULL, sm_maint_run, &srv);
	for (int i = 0; i < nloops; i++)
		pthread_create(&loops[i].thread, NULL, run_loop, &loops[i]);
	char where[300];
	sm_config_hostport(&srv.cfg, port, where, sizeof(where));
	printf("listening on %s\n", where);
	fflush(stdout);
	fprintf(stderr, "starmarkd: serving %s on %s://%s with %d thread%s\n", srv.cfg.db,
		srv.cfg.tls_cert[0] ? "https" : "http", where, nloops, nloops == 1 ? "" : "s");

	int sig = 0;
	sigwait(&sigs, &sig);
	fprintf(stderr, "starmarkd: signal %d: stopping\n", sig);
	srv.stopping = 1;
	for (int i = 0; i < nloops; i++) {
		evhtp_unbind_socket(loops[i].htp);
		event_base_loopbreak(loops[i].base);
	}
	for (int i = 0; i < nloops; i++)
		pthread_join(loops[i].thread, NULL);
	pthread_join(maint, NULL);
	pthread_join(verifier, NULL); /* a verification under way ends first */
	for (int i = 0; i < nloops; i++) {
		evhtp_free(loops[i].htp);
		event_base_free(loops[i].base);
	}
	sm_guard_free(guard);
	sm_static_free();
	sm_registry_close(srv.reg);
	fprintf(stderr, "starmarkd: stopped\n");
	return 0;
}
