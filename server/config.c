/* SPDX-License-Identifier: Apache-2.0 */
/* starmarkd's configuration: defaults, a `key = value` file, checks (--check-config). */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <netinet/in.h>

#include <openssl/err.h>
#include <openssl/ssl.h>

#include "server.h"

#define CONFIG_MAX_LINE 2048
#define CONFIG_MAX_LINES 1000

/*
 * The pages' default: SM_WEB_RELDIR beside this binary when that directory exists (where `cmake --install`
 * and the package put them, so an installed tree serves its own pages wherever its prefix is), else the
 * build's SM_WEB_DIR (the source tree's web/ for a build tree).
 */
static void default_web(char *out, size_t cap)
{
#ifdef SM_WEB_RELDIR
	char exe[1024], dir[1100], real[PATH_MAX];
	struct stat st;
	ssize_t n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
	char *slash = n > 0 ? memchr(exe, '/', (size_t)n) : NULL;
	if (slash) {
		exe[n] = '\0';
		*strrchr(exe, '/') = '\0';
		snprintf(dir, sizeof(dir), "%s/%s", exe, SM_WEB_RELDIR);
		if (stat(dir, &st) == 0 && S_ISDIR(st.st_mode) && realpath(dir, real) && strlen(real) < cap) {
			memcpy(out, real, strlen(real) + 1);
			return;
		}
	}
#endif
	snprintf(out, cap, "%s", SM_WEB_DIR);
}

void sm_config_default(sm_server_config *c)
{
	memset(c, 0, sizeof(*c));
	snprintf(c->listen_host, sizeof(c->listen_host), "127.0.0.1");
	c->listen_port = 8080;
	long cores = sysconf(_SC_NPROCESSORS_ONLN);
	c->threads = cores > 0 && cores < 64 ? (int)cores : 2;
	c->max_connections = 4096;
	c->admin_rate = 120;
	c->admin_burst = 30;
	c->home_rate = 600;
	c->home_burst = 60;
	c->refresh_seconds = 30;
	c->snapshot_seconds = 60;
	c->cache_seconds = 60;
	c->verify_hours = 24;
	c->access_log = true;
	default_web(c->web, sizeof(c->web));
}

int sm_config_listen(sm_server_config *c, const char *hostport, sm_err *err)
{
	const char *colon = strrchr(hostport, ':');
	char *end = NULL;
	long port = colon ? strtol(colon + 1, &end, 10) : -1;
	const char *host = hostport;
	size_t hl = colon ? (size_t)(colon - hostport) : 0;
	bool v6 = hl >= 2 && host[0] == '[' && host[hl - 1] == ']';
	if (v6) {
		host++;
		hl -= 2;
	}
	if (!colon || !*(colon + 1) || *end || port < 0 || port > 65535 || hl == 0 || hl >= sizeof(c->listen_host))
		return sm_err_set(err, SM_EINVAL, "listen", "listen must be HOST:PORT (port 0 picks a free one), not '%s'",
				  hostport);
	char h[sizeof(c->listen_host)];
	unsigned char a[sizeof(struct in6_addr)];
	memcpy(h, host, hl);
	h[hl] = '\0';
	/* numbers only: a name may resolve to several addresses, and the one bound would be a guess */
	if (inet_pton(v6 ? AF_INET6 : AF_INET, h, a) != 1)
		return sm_err_set(err, SM_EINVAL, "listen",
				  "listen host must be an IPv4 address or an IPv6 one in brackets ([::1]:8080), not '%s'", hostport);
	memcpy(c->listen_host, h, hl + 1);
	c->listen_port = (int)port;
	return 0;
}

int sm_config_sockaddr(const sm_server_config *c, int port, struct sockaddr_storage *ss, socklen_t *len)
{
	memset(ss, 0, sizeof(*ss));
	if (strchr(c->listen_host, ':')) {
		struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)ss;
		s6->sin6_family = AF_INET6;
		s6->sin6_port = htons((uint16_t)port);
		*len = sizeof(*s6);
		return inet_pton(AF_INET6, c->listen_host, &s6->sin6_addr) == 1 ? 0 : SM_EINVAL;
	}
	struct sockaddr_in *s4 = (struct sockaddr_in *)ss;
	s4->sin_family = AF_INET;
	s4->sin_port = htons((uint16_t)port);
	*len = sizeof(*s4);
	return inet_pton(AF_INET, c->listen_host, &s4->sin_addr) == 1 ? 0 : SM_EINVAL;
}

const char *sm_config_hostport(const sm_server_config *c, int port, char *buf, size_t cap)
{
	snprintf(buf, cap, strchr(c->listen_host, ':') ? "[%s]:%d" : "%s:%d", c->listen_host, port);
	return buf;
}

static int set_int(int *dst, const char *v, int lo, int hi, const char *key, size_t line, sm_err *err)
{
	char *end = NULL;
	long x = strtol(v, &end, 10);
	if (!*v || *end || x < lo || x > hi)
		return sm_err_set(err, SM_EINVAL, key, "line %zu: %s must be a number %d..%d, not '%s'", line, key, lo, hi, v);
	*dst = (int)x;
	return 0;
}

static int set_str(char *dst, size_t cap, const char *v, const char *key, size_t line, sm_err *err)
{
	if (strlen(v) >= cap)
		return sm_err_set(err, SM_EINVAL, key, "line %zu: %s is too long", line, key);
	memcpy(dst, v, strlen(v) + 1);
	return 0;
}

int sm_config_load(sm_server_config *c, const char *path, sm_err *err)
{
	FILE *f = fopen(path, "r");
	if (!f)
		return sm_err_set(err, SM_EIO, "config", "cannot read %s: %s", path, strerror(errno));
	char buf[CONFIG_MAX_LINE + 2];
	size_t line = 0;
	int rc = 0;
	while (!rc && fgets(buf, sizeof(buf), f)) {
		line++;
		size_t n = strlen(buf);
		if (line > CONFIG_MAX_LINES || (n == sizeof(buf) - 1 && buf[n - 1] != '\n')) {
			rc = sm_err_set(err, SM_ETOOBIG, "config", "%s:%zu: line too long or too many lines", path, line);
			break;
		}
		while (n && (buf[n - 1] == '\n' || buf[n - 1] == '\r' || buf[n - 1] == ' ' || buf[n - 1] == '\t'))
			buf[--n] = '\0';
		char *k = buf;
		while (*k == ' ' || *k == '\t')
			k++;
		if (!*k || *k == '#')
			continue;
		char *eq = strchr(k, '=');
		if (!eq) {
			rc = sm_err_set(err, SM_EINVAL, "config", "%s:%zu: expected 'key = value'", path, line);
			break;
		}
		char *v = eq + 1, *ke = eq;
		while (ke > k && (ke[-1] == ' ' || ke[-1] == '\t'))
			ke--;
		*ke = '\0';
		while (*v == ' ' || *v == '\t')
			v++;
		if (strcmp(k, "db") == 0)
			rc = set_str(c->db, sizeof(c->db), v, k, line, err);
		else if (strcmp(k, "listen") == 0)
			rc = sm_config_listen(c, v, err);
		else if (strcmp(k, "tls_cert") == 0)
			rc = set_str(c->tls_cert, sizeof(c->tls_cert), v, k, line, err);
		else if (strcmp(k, "tls_key") == 0)
			rc = set_str(c->tls_key, sizeof(c->tls_key), v, k, line, err);
		else if (strcmp(k, "web") == 0)
			rc = set_str(c->web, sizeof(c->web), v, k, line, err);
		else if (strcmp(k, "passphrase_file") == 0)
			rc = set_str(c->passphrase_file, sizeof(c->passphrase_file), v, k, line, err);
		else if (strcmp(k, "threads") == 0)
			rc = set_int(&c->threads, v, 1, 64, k, line, err);
		else if (strcmp(k, "max_connections") == 0)
			rc = set_int(&c->max_connections, v, 1, 1000000, k, line, err);
		else if (strcmp(k, "admin_rate_per_minute") == 0)
			rc = set_int(&c->admin_rate, v, 1, 1000000, k, line, err);
		else if (strcmp(k, "admin_burst") == 0)
			rc = set_int(&c->admin_burst, v, 1, 100000, k, line, err);
		else if (strcmp(k, "home_rate_per_minute") == 0)
			rc = set_int(&c->home_rate, v, 1, 1000000, k, line, err);
		else if (strcmp(k, "home_burst") == 0)
			rc = set_int(&c->home_burst, v, 1, 100000, k, line, err);
		else if (strcmp(k, "refresh_seconds") == 0)
			rc = set_int(&c->refresh_seconds, v, 1, 86400, k, line, err);
		else if (strcmp(k, "snapshot_seconds") == 0)
			rc = set_int(&c->snapshot_seconds, v, 1, 86400, k, line, err);
		else if (strcmp(k, "verify_hours") == 0)
			rc = set_int(&c->verify_hours, v, 0, 8760, k, line, err);
		else if (strcmp(k, "cache_seconds") == 0)
			rc = set_int(&c->cache_seconds, v, 0, 86400, k, line, err);
		else if (strcmp(k, "access_log") == 0) {
			if (strcmp(v, "on") && strcmp(v, "off"))
				rc = sm_err_set(err, SM_EINVAL, k, "%s:%zu: access_log is on or off", path, line);
			c->access_log = strcmp(v, "on") == 0;
		} else {
			char q[40];
			sm_err_quote(q, sizeof(q), k, strlen(k));
			rc = sm_err_set(err, SM_EINVAL, "config", "%s:%zu: unknown key '%s'", path, line, q);
		}
		if (rc && err && !strstr(err->msg, path)) {
			char m[SM_ERR_MSG_MAX];
			snprintf(m, sizeof(m), "%.100s: %.200s", path, err->msg);
			memcpy(err->msg, m, sizeof(m));
		}
	}
	fclose(f);
	return rc;
}

int sm_config_check(const sm_server_config *c, sm_err *err)
{
	char path[1200];
	struct stat st;
	if (!c->db[0])
		return sm_err_set(err, SM_EINVAL, "db", "no registry: give --db DIR or db = DIR");
	snprintf(path, sizeof(path), "%s/data.mdb", c->db);
	if (stat(path, &st) != 0)
		return sm_err_set(err, SM_EINVAL, "db", "no registry at %s (run 'starmark init' first)", c->db);
	if (!!c->tls_cert[0] != !!c->tls_key[0])
		return sm_err_set(err, SM_EINVAL, "tls", "TLS needs both tls_cert and tls_key");
	if (c->tls_cert[0]) {
		SSL_CTX *ctx = SSL_CTX_new(TLS_server_method());
		int ok = ctx && SSL_CTX_use_certificate_chain_file(ctx, c->tls_cert) == 1 &&
			 SSL_CTX_use_PrivateKey_file(ctx, c->tls_key, SSL_FILETYPE_PEM) == 1 && SSL_CTX_check_private_key(ctx) == 1;
		SSL_CTX_free(ctx);
		if (!ok) {
			ERR_clear_error();
			return sm_err_set(err, SM_EINVAL, "tls", "the TLS certificate %s and key %s cannot be loaded or do not match",
					  c->tls_cert, c->tls_key);
		}
	}
	return 0;
}
