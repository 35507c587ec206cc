/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Fuzz starmarkd's configuration file (server/config.c): the input is the file sm_config_load reads; what it
 * accepts is a configuration the server can use, what it refuses says why, and sm_config_check never crashes.
 *
 * The file lives in a private directory made once per process (removed at exit), which also holds what
 * sm_config_check may look at: a registry `reg/` (an empty data.mdb), a self-signed TLS pair `tls.crt` +
 * `tls.key` and a key of another pair `other.key`. A relative path in the input is taken inside that directory;
 * sm_config_check is not run on an absolute path or one with "..", so no input reads anything outside it.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

#include "server.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static char dir[64];   /* the private directory, "" until made */
static char conf[128]; /* dir/starmarkd.conf */

static const char *const files[] = {"starmarkd.conf", "reg/data.mdb", "tls.crt", "tls.key", "other.key"};

static void cleanup(void)
{
	char p[256];
	for (size_t i = 0; i < sizeof(files) / sizeof(files[0]); i++) {
		snprintf(p, sizeof(p), "%s/%s", dir, files[i]);
		unlink(p);
	}
	snprintf(p, sizeof(p), "%s/reg", dir);
	rmdir(p);
	rmdir(dir);
}

static int write_key(EVP_PKEY *k, const char *name)
{
	char p[256];
	snprintf(p, sizeof(p), "%s/%s", dir, name);
	FILE *f = fopen(p, "w");
	int ok = f && PEM_write_PrivateKey(f, k, NULL, NULL, 0, NULL, NULL) == 1;
	if (f)
		fclose(f);
	return ok ? 0 : -1;
}

/* The directory and its files; aborts when they cannot be made (the harness cannot run, not a finding). */
static void setup(void)
{
	char p[256];
	snprintf(dir, sizeof(dir), "%s", "/tmp/sm-fuzz-config.XXXXXX");
	if (!mkdtemp(dir))
		abort();
	atexit(cleanup);
	snprintf(conf, sizeof(conf), "%s/starmarkd.conf", dir);
	snprintf(p, sizeof(p), "%s/reg", dir);
	if (mkdir(p, 0700) != 0)
		abort();
	snprintf(p, sizeof(p), "%s/reg/data.mdb", dir);
	FILE *f = fopen(p, "w");
	if (!f)
		abort();
	fclose(f);

	EVP_PKEY *k = EVP_PKEY_Q_keygen(NULL, NULL, "ED25519");
	EVP_PKEY *other = EVP_PKEY_Q_keygen(NULL, NULL, "ED25519");
	X509 *x = X509_new();
	X509_NAME *n = x ? X509_get_subject_name(x) : NULL;
	if (!k || !other || !n || X509_set_version(x, 2) != 1 || !ASN1_INTEGER_set(X509_get_serialNumber(x), 1) ||
	    !X509_gmtime_adj(X509_getm_notBefore(x), 0) || !X509_gmtime_adj(X509_getm_notAfter(x), 86400) ||
	    !X509_NAME_add_entry_by_txt(n, "CN", MBSTRING_ASC, (const unsigned char *)"localhost", -1, -1, 0) ||
	    X509_set_issuer_name(x, n) != 1 || X509_set_pubkey(x, k) != 1 || !X509_sign(x, k, NULL))
		abort();
	snprintf(p, sizeof(p), "%s/tls.crt", dir);
	f = fopen(p, "w");
	if (!f || PEM_write_X509(f, x) != 1)
		abort();
	fclose(f);
	if (write_key(k, "tls.key") || write_key(other, "other.key"))
		abort();
	X509_free(x);
	EVP_PKEY_free(k);
	EVP_PKEY_free(other);
}

/* A path of the input for sm_config_check: a relative one moves into the directory; 0 = not to be checked. */
static int sandbox(char *path, size_t cap)
{
	if (!path[0])
		return 1;
	if (path[0] == '/' || strstr(path, ".."))
		return 0;
	char p[2048];
	int n = snprintf(p, sizeof(p), "%s/%s", dir, path);
	if (n < 0 || (size_t)n >= cap)
		return 0;
	memcpy(path, p, (size_t)n + 1);
	return 1;
}

static int terminated(const char *s, size_t cap)
{
	return memchr(s, '\0', cap) != NULL;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (!dir[0])
		setup();
	FILE *f = fopen(conf, "wb");
	if (!f || fwrite(data, 1, size, f) != size || fclose(f) != 0)
		abort();

	sm_server_config c;
	sm_err err;
	sm_config_default(&c);
	sm_err_clear(&err);
	int rc = sm_config_load(&c, conf, &err);
	if (rc != 0) {
		/* every refusal says why and names the file */
		if ((rc != SM_EINVAL && rc != SM_ETOOBIG) || err.code != rc || !err.msg[0] || !strstr(err.msg, conf))
			abort();
		return 0;
	}
	/* what was accepted: every string terminated in its field, every number in its range, an address to bind */
	if (!terminated(c.db, sizeof(c.db)) || !terminated(c.listen_host, sizeof(c.listen_host)) ||
	    !terminated(c.tls_cert, sizeof(c.tls_cert)) || !terminated(c.tls_key, sizeof(c.tls_key)) ||
	    !terminated(c.passphrase_file, sizeof(c.passphrase_file)) || !terminated(c.web, sizeof(c.web)))
		abort();
	if (c.threads < 1 || c.threads > 64 || c.listen_port < 0 || c.listen_port > 65535 || c.max_connections < 1 ||
	    c.admin_rate < 1 || c.admin_burst < 1 || c.home_rate < 1 || c.home_burst < 1 || c.refresh_seconds < 1 ||
	    c.snapshot_seconds < 1 || c.verify_hours < 0 || c.cache_seconds < 0)
		abort();
	struct sockaddr_storage ss;
	socklen_t len = 0;
	if (sm_config_sockaddr(&c, c.listen_port, &ss, &len) != 0 || len == 0)
		abort();
	/* the address as the server prints it reads back as the same address */
	char hp[300];
	sm_server_config again = c;
	sm_config_hostport(&c, c.listen_port, hp, sizeof(hp));
	if (sm_config_listen(&again, hp, NULL) != 0 || strcmp(again.listen_host, c.listen_host) != 0 ||
	    again.listen_port != c.listen_port)
		abort();

	if (sandbox(c.db, sizeof(c.db)) && sandbox(c.tls_cert, sizeof(c.tls_cert)) &&
	    sandbox(c.tls_key, sizeof(c.tls_key))) {
		sm_err_clear(&err);
		rc = sm_config_check(&c, &err);
		if (rc != 0 && (rc != SM_EINVAL || err.code != rc || !err.msg[0] || !err.field[0]))
			abort();
	}
	return 0;
}
