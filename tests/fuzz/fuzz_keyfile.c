/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Fuzz the key files (lib/keys.c): the input is a file of mode 0600 that sm_key_load reads without a passphrase
 * and with FUZZ_PASSPHRASE (the one the encrypted seeds were written with), and that sm_passphrase_read reads.
 * A key that loads signs, and its signature verifies; every refusal is SM_EKEY with a message; a passphrase read
 * is the file's first line. The file lives in a private directory made once per process, removed at exit.
 *
 * The encrypted seeds are sm_key_save's format (PBES2: PBKDF2-HMAC-SHA256, AES-256-CBC) at 1,000 iterations, not
 * its 600,000: one of those takes seconds under ASan (OpenSSL allocates in every HMAC round), over libFuzzer's
 * timeout on a loaded machine; the unit tests of lib/keys.c load the real thing.
 */
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "starmark/keys.h"

#define FUZZ_PASSPHRASE "correct horse battery staple"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static char dir[64];   /* the private directory, "" until made */
static char path[128]; /* dir/key.pem */

static void cleanup(void)
{
	unlink(path);
	rmdir(dir);
}

static void setup(void)
{
	snprintf(dir, sizeof(dir), "%s", "/tmp/sm-fuzz-keyfile.XXXXXX");
	if (!mkdtemp(dir))
		abort();
	snprintf(path, sizeof(path), "%s/key.pem", dir);
	atexit(cleanup);
}

static void load(const char *pass)
{
	sm_key *k = NULL;
	sm_err err;
	sm_err_clear(&err);
	int rc = sm_key_load(path, pass, &k, &err);
	if (rc != 0) {
		if (k || err.code != rc || !err.msg[0] || (rc != SM_EKEY && rc != SM_ENOMEM))
			abort();
		return;
	}
	/* a loaded key is a whole Ed25519 pair: it signs, the signature verifies, its kid is its public key's */
	static const uint8_t msg[] = "starmark fuzz";
	uint8_t sig[SM_SIG_LEN], pub[SM_PUBKEY_LEN], kid[SM_KID_LEN], h[32];
	sm_key *pk = NULL;
	if (!k || !sm_key_has_private(k) || sm_key_sign(k, msg, sizeof(msg), sig) != 0 ||
	    sm_key_verify(k, msg, sizeof(msg), sig) != 0)
		abort();
	sm_key_public(k, pub);
	sm_key_kid(k, kid);
	sm_sha256(pub, sizeof(pub), h);
	if (memcmp(kid, h, SM_KID_LEN) != 0 || sm_key_from_public(pub, &pk) != 0 ||
	    sm_key_verify(pk, msg, sizeof(msg), sig) != 0)
		abort();
	sm_key_free(pk);
	sm_key_free(k);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (!dir[0])
		setup();
	unlink(path);
	int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
	if (fd < 0)
		abort();
	size_t done = 0;
	while (done < size) {
		ssize_t w = write(fd, data + done, size - done);
		if (w <= 0)
			abort();
		done += (size_t)w;
	}
	close(fd);

	load(NULL);
	load(FUZZ_PASSPHRASE);

	/* the same file as a passphrase file: its first line, without "\r\n", not empty, no NUL, not over the cap */
	char *pass = NULL;
	sm_err err;
	sm_err_clear(&err);
	int rc = sm_passphrase_read(path, &pass, &err);
	if (rc != 0) {
		if (pass || err.code != rc || !err.msg[0] || (rc != SM_EINVAL && rc != SM_ETOOBIG && rc != SM_ENOMEM))
			abort();
		return 0;
	}
	size_t n = pass ? strlen(pass) : 0;
	if (!n || n > SM_PASSPHRASE_MAX || n > size || memcmp(pass, data, n) != 0 || memchr(pass, '\n', n) ||
	    (n < size && data[n] != '\n' && !(data[n] == '\r' && n + 1 < size && data[n + 1] == '\n') &&
	     !(data[n] == '\r' && n + 1 == size)))
		abort();
	free(pass);
	return 0;
}
