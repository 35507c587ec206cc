/* SPDX-License-Identifier: Apache-2.0 */
/* Ed25519 keys on OpenSSL 3: generation, signing, kid, and PKCS#8 key files. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <pthread.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/pkcs12.h>
#include <openssl/sha.h>
#include <openssl/x509.h>

#include "crypto_int.h"
#include "starmark/keys.h"

/* A key file holds one PEM block of a few hundred bytes; anything this large is not one. */
#define KEY_FILE_MAX (64u * 1024u)
/* PBKDF2-HMAC-SHA256 iterations for encrypted key files (OWASP 2023 figure for SHA-256). */
#define KEY_PBKDF2_ITER 600000
/* 128-bit PBKDF2 salt (OpenSSL's default is 64 bits). */
#define KEY_SALT_LEN 16
/* Room for a quoted path in a message. */
#define PATH_QUOTE 128

struct sm_key {
	EVP_PKEY *pkey;
	bool priv;
	uint8_t pub[SM_PUBKEY_LEN];
	uint8_t kid[SM_KID_LEN]; /* computed once: every signature's header names it */
};

/* What the PEM password callback saw: whether it was asked (the file is encrypted). */
struct pass_ctx {
	const char *pass;
	bool asked;
};

static EVP_MD *sha256_md;
static pthread_once_t sha256_once = PTHREAD_ONCE_INIT;
static pthread_key_t sha256_key; /* the thread's context, freed when the thread ends */

static void free_ctx(void *p)
{
	EVP_MD_CTX_free(p);
}

static void fetch_sha256(void)
{
	sha256_md = EVP_MD_fetch(NULL, "SHA256", NULL);
	if (sha256_md && pthread_key_create(&sha256_key, free_ctx) != 0) {
		EVP_MD_free(sha256_md);
		sha256_md = NULL;
	}
}

EVP_MD_CTX *sm_sha256_ctx(void)
{
	pthread_once(&sha256_once, fetch_sha256);
	if (!sha256_md)
		return NULL;
	EVP_MD_CTX *ctx = pthread_getspecific(sha256_key);
	if (!ctx) {
		if (!(ctx = EVP_MD_CTX_new()))
			return NULL;
		if (pthread_setspecific(sha256_key, ctx) != 0) {
			EVP_MD_CTX_free(ctx);
			return NULL;
		}
	}
	/* a reset: OpenSSL 3.0 still frees and allocates the provider context here (lib/merkle.c) */
	return EVP_DigestInit_ex(ctx, sha256_md, NULL) == 1 ? ctx : NULL;
}

void sm_sha256(const void *data, size_t n, uint8_t out[32])
{
	static const uint8_t empty[1];
	EVP_MD_CTX *ctx = sm_sha256_ctx();
	unsigned int len = 0;
	if (!ctx || EVP_DigestUpdate(ctx, n ? data : empty, n) != 1 || EVP_DigestFinal_ex(ctx, out, &len) != 1)
		SHA256(n ? data : empty, n, out); /* OpenSSL's one-shot when the context cannot be had */
}

/* Take ownership of `pkey` (freed on failure) and wrap it. */
static int wrap(EVP_PKEY *pkey, bool priv, sm_key **out)
{
	int rc = 0;
	size_t len = SM_PUBKEY_LEN;
	sm_key *k = NULL;

	*out = NULL;
	if (!pkey)
		return SM_ECRYPTO;
	if (!EVP_PKEY_is_a(pkey, "ED25519")) {
		rc = SM_EKEY;
		goto out;
	}
	k = calloc(1, sizeof(*k));
	if (!k) {
		rc = SM_ENOMEM;
		goto out;
	}
	if (EVP_PKEY_get_raw_public_key(pkey, k->pub, &len) != 1 || len != SM_PUBKEY_LEN) {
		rc = SM_ECRYPTO;
		goto out;
	}
	k->pkey = pkey;
	k->priv = priv;
	uint8_t h[32];
	sm_sha256(k->pub, SM_PUBKEY_LEN, h);
	memcpy(k->kid, h, SM_KID_LEN);
	*out = k;
	pkey = NULL;
	k = NULL;
out:
	free(k);
	EVP_PKEY_free(pkey);
	return rc;
}

int sm_key_generate(sm_key **out)
{
	EVP_PKEY *pkey = EVP_PKEY_Q_keygen(NULL, NULL, "ED25519");

	ERR_clear_error();
	return wrap(pkey, true, out);
}

int sm_key_from_seed(const uint8_t seed[32], sm_key **out)
{
	EVP_PKEY *pkey = EVP_PKEY_new_raw_private_key_ex(NULL, "ED25519", NULL, seed, 32);

	ERR_clear_error();
	return wrap(pkey, true, out);
}

int sm_key_from_public(const uint8_t pub[SM_PUBKEY_LEN], sm_key **out)
{
	EVP_PKEY *pkey = EVP_PKEY_new_raw_public_key_ex(NULL, "ED25519", NULL, pub, SM_PUBKEY_LEN);

	ERR_clear_error();
	if (!pkey) {
		*out = NULL;
		return SM_EINVAL;
	}
	return wrap(pkey, false, out);
}

void sm_key_free(sm_key *k)
{
	if (!k)
		return;
	EVP_PKEY_free(k->pkey);
	free(k);
}

bool sm_key_has_private(const sm_key *k)
{
	return k->priv;
}

void sm_key_public(const sm_key *k, uint8_t pub[SM_PUBKEY_LEN])
{
	memcpy(pub, k->pub, SM_PUBKEY_LEN);
}

void sm_key_kid(const sm_key *k, uint8_t kid[SM_KID_LEN])
{
	memcpy(kid, k->kid, SM_KID_LEN);
}

int sm_key_sign(const sm_key *k, const uint8_t *msg, size_t n, uint8_t sig[SM_SIG_LEN])
{
	static const uint8_t empty[1];
	int rc = SM_ECRYPTO;
	size_t siglen = SM_SIG_LEN;
	EVP_MD_CTX *ctx = NULL;

	if (!k->priv)
		return SM_EKEY;
	ctx = EVP_MD_CTX_new();
	if (!ctx) {
		rc = SM_ENOMEM;
		goto out;
	}
	/* Ed25519 hashes internally: no digest name, one-shot only. */
	if (EVP_DigestSignInit_ex(ctx, NULL, NULL, NULL, NULL, k->pkey, NULL) != 1)
		goto out;
	if (EVP_DigestSign(ctx, sig, &siglen, n ? msg : empty, n) != 1 || siglen != SM_SIG_LEN)
		goto out;
	rc = 0;
out:
	EVP_MD_CTX_free(ctx);
	ERR_clear_error();
	return rc;
}

int sm_key_verify(const sm_key *k, const uint8_t *msg, size_t n, const uint8_t sig[SM_SIG_LEN])
{
	static const uint8_t empty[1];
	int rc = SM_ECRYPTO;
	EVP_MD_CTX *ctx = EVP_MD_CTX_new();

	if (!ctx)
		goto out;
	if (EVP_DigestVerifyInit_ex(ctx, NULL, NULL, NULL, NULL, k->pkey, NULL) != 1)
		goto out;
	/* 1 is the only good answer; 0 and negative values are failures of different kinds. */
	if (EVP_DigestVerify(ctx, sig, SM_SIG_LEN, n ? msg : empty, n) == 1)
		rc = 0;
out:
	EVP_MD_CTX_free(ctx);
	ERR_clear_error();
	return rc;
}

static void quote_path(char dst[PATH_QUOTE], const char *path)
{
	sm_err_quote(dst, PATH_QUOTE, path, strlen(path));
}

/* Write the PEM of `k` to `fp`: plain PKCS#8, or PKCS#8 encrypted under `pass`. */
static int write_pem(const sm_key *k, FILE *fp, const char *pass)
{
	int rc = SM_ECRYPTO;
	PKCS8_PRIV_KEY_INFO *p8 = EVP_PKEY2PKCS8(k->pkey);
	X509_ALGOR *pbe = NULL;
	X509_SIG *enc = NULL;

	if (!p8)
		goto out;
	if (!pass) {
		if (PEM_write_PKCS8_PRIV_KEY_INFO(fp, p8) != 1)
			goto out;
		rc = 0;
		goto out;
	}
	/* Random salt (NULL: drawn by OpenSSL) and IV; the PRF named rather than left to the default. */
	pbe = PKCS5_pbe2_set_iv_ex(EVP_aes_256_cbc(), KEY_PBKDF2_ITER, NULL, KEY_SALT_LEN, NULL,
				   NID_hmacWithSHA256, NULL);
	if (!pbe)
		goto out;
	enc = PKCS8_set0_pbe_ex(pass, (int)strlen(pass), p8, pbe, NULL, NULL);
	if (!enc)
		goto out;
	pbe = NULL; /* now owned by enc */
	if (PEM_write_PKCS8(fp, enc) != 1)
		goto out;
	rc = 0;
out:
	X509_SIG_free(enc);
	X509_ALGOR_free(pbe);
	PKCS8_PRIV_KEY_INFO_free(p8);
	ERR_clear_error();
	return rc;
}

int sm_key_save(const sm_key *k, const char *path, const char *passphrase, sm_err *err)
{
	int rc = 0;
	int fd = -1;
	FILE *fp = NULL;
	bool created = false;
	char qp[PATH_QUOTE];

	quote_path(qp, path);
	if (!k->priv)
		return sm_err_set(err, SM_EKEY, "key", "the key has no private half to save to %s", qp);
	if (passphrase && !*passphrase)
		passphrase = NULL;
	fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
	if (fd < 0) {
		if (errno == EEXIST)
			rc = sm_err_set(err, SM_EEXIST, "key",
					"key file %s already exists; not overwriting it", qp);
		else
			rc = sm_err_set(err, SM_EIO, "key", "cannot create key file %s: %s", qp,
					strerror(errno));
		goto out;
	}
	created = true;
	fp = fdopen(fd, "w");
	if (!fp) {
		rc = sm_err_set(err, SM_EIO, "key", "cannot write key file %s: %s", qp, strerror(errno));
		goto out;
	}
	fd = -1; /* owned by fp */
	rc = write_pem(k, fp, passphrase);
	if (rc) {
		rc = sm_err_set(err, SM_EIO, "key", "cannot encode the key into %s", qp);
		goto out;
	}
	if (fflush(fp) != 0 || fsync(fileno(fp)) != 0) {
		rc = sm_err_set(err, SM_EIO, "key", "cannot write key file %s: %s", qp, strerror(errno));
		goto out;
	}
out:
	if (fp && fclose(fp) != 0 && rc == 0)
		rc = sm_err_set(err, SM_EIO, "key", "cannot write key file %s: %s", qp, strerror(errno));
	if (fd >= 0)
		close(fd);
	/* Leave no half-written key behind; the file is ours (O_EXCL). */
	if (rc && created)
		unlink(path);
	return rc;
}

static int pass_cb(char *buf, int size, int rwflag, void *u)
{
	struct pass_ctx *pc = u;
	size_t len;

	(void)rwflag;
	pc->asked = true;
	if (!pc->pass)
		return -1;
	len = strlen(pc->pass);
	if (size < 0 || len > (size_t)size)
		return -1;
	memcpy(buf, pc->pass, len);
	return (int)len;
}

/*
 * Read at most KEY_FILE_MAX bytes of an open key file into *out (caller cleanses and frees).
 * The size comes from reading, not from fstat, so a growing file cannot overrun the cap.
 */
static int read_capped(int fd, const char *qp, uint8_t **out, size_t *outlen, sm_err *err)
{
	int rc = 0;
	size_t len = 0;
	uint8_t *buf = malloc(KEY_FILE_MAX + 1);

	*out = NULL;
	if (!buf)
		return SM_ENOMEM;
	for (;;) {
		ssize_t r = read(fd, buf + len, KEY_FILE_MAX + 1 - len);
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0) {
			rc = sm_err_set(err, SM_EKEY, "key", "cannot read key file %s: %s", qp,
					strerror(errno));
			goto out;
		}
		if (r == 0)
			break;
		len += (size_t)r;
		if (len > KEY_FILE_MAX) {
			rc = sm_err_set(err, SM_EKEY, "key", "key file %s is over %u bytes: not a key file",
					qp, KEY_FILE_MAX);
			goto out;
		}
	}
	*out = buf;
	*outlen = len;
	buf = NULL;
out:
	if (buf) {
		OPENSSL_cleanse(buf, len);
		free(buf);
	}
	return rc;
}

int sm_key_load(const char *path, const char *passphrase, sm_key **out, sm_err *err)
{
	int rc = 0;
	int fd = -1;
	struct stat st;
	uint8_t *data = NULL;
	size_t len = 0;
	BIO *bio = NULL;
	EVP_PKEY *pkey = NULL;
	struct pass_ctx pc = { NULL, false };
	char qp[PATH_QUOTE];

	*out = NULL;
	quote_path(qp, path);
	if (passphrase && *passphrase)
		pc.pass = passphrase;
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		rc = sm_err_set(err, SM_EKEY, "key", "cannot open key file %s: %s", qp, strerror(errno));
		goto out;
	}
	if (fstat(fd, &st) != 0) {
		rc = sm_err_set(err, SM_EKEY, "key", "cannot stat key file %s: %s", qp, strerror(errno));
		goto out;
	}
	if (!S_ISREG(st.st_mode)) {
		rc = sm_err_set(err, SM_EKEY, "key", "key file %s is not a regular file", qp);
		goto out;
	}
	if (st.st_mode & (S_IRGRP | S_IROTH)) {
		rc = sm_err_set(err, SM_EKEY, "key",
				"key file %s is readable by others (mode %04o); chmod 600 it", qp,
				(unsigned)(st.st_mode & 07777));
		goto out;
	}
	if (st.st_mode & (S_IRWXG | S_IRWXO)) {
		rc = sm_err_set(err, SM_EKEY, "key",
				"key file %s is open to group or others (mode %04o); chmod 600 it", qp,
				(unsigned)(st.st_mode & 07777));
		goto out;
	}
	rc = read_capped(fd, qp, &data, &len, err);
	if (rc)
		goto out;
	bio = BIO_new_mem_buf(data, (int)len);
	if (!bio) {
		rc = SM_ENOMEM;
		goto out;
	}
	pkey = PEM_read_bio_PrivateKey(bio, NULL, pass_cb, &pc);
	if (!pkey) {
		/* The callback is asked only once the PEM parsed as an encrypted key. */
		if (pc.asked && !pc.pass)
			rc = sm_err_set(err, SM_EKEY, "key",
					"key %s is passphrase-protected: give --passphrase-file", qp);
		else if (pc.asked)
			rc = sm_err_set(err, SM_EKEY, "key", "wrong passphrase for key %s", qp);
		else
			rc = sm_err_set(err, SM_EKEY, "key",
					"key file %s is not a valid Ed25519 PEM private key", qp);
		goto out;
	}
	if (!EVP_PKEY_is_a(pkey, "ED25519")) {
		const char *type = EVP_PKEY_get0_type_name(pkey);
		rc = sm_err_set(err, SM_EKEY, "key", "key file %s holds a %s key, not Ed25519", qp,
				type ? type : "non-Ed25519");
		goto out;
	}
	rc = wrap(pkey, true, out);
	pkey = NULL;
	if (rc)
		rc = sm_err_set(err, rc, "key", "cannot use the key in %s", qp);
out:
	EVP_PKEY_free(pkey);
	BIO_free(bio);
	if (data) {
		OPENSSL_cleanse(data, len);
		free(data);
	}
	if (fd >= 0)
		close(fd);
	ERR_clear_error();
	return rc;
}

int sm_passphrase_read(const char *path, char **out, sm_err *err)
{
	int rc = 0;
	int fd = -1;
	char buf[SM_PASSPHRASE_MAX + 2];
	size_t len = 0, line;
	char *nl;
	char qp[PATH_QUOTE];

	*out = NULL;
	quote_path(qp, path);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		rc = sm_err_set(err, SM_EIO, "passphrase", "cannot open passphrase file %s: %s", qp,
				strerror(errno));
		goto out;
	}
	/* One byte past the cap (plus room for "\r") tells a long line from a full one. */
	while (len < sizeof(buf)) {
		ssize_t r = read(fd, buf + len, sizeof(buf) - len);
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0) {
			rc = sm_err_set(err, SM_EIO, "passphrase", "cannot read passphrase file %s: %s", qp,
					strerror(errno));
			goto out;
		}
		if (r == 0)
			break;
		len += (size_t)r;
		if (memchr(buf, '\n', len))
			break;
	}
	nl = memchr(buf, '\n', len);
	line = nl ? (size_t)(nl - buf) : len;
	if (line > 0 && buf[line - 1] == '\r')
		line--;
	if (line > SM_PASSPHRASE_MAX) {
		rc = sm_err_set(err, SM_ETOOBIG, "passphrase", "passphrase in %s is longer than %d bytes", qp,
				SM_PASSPHRASE_MAX);
		goto out;
	}
	if (line == 0) {
		rc = sm_err_set(err, SM_EINVAL, "passphrase",
				"passphrase file %s is empty (its first line is)", qp);
		goto out;
	}
	if (memchr(buf, '\0', line)) {
		rc = sm_err_set(err, SM_EINVAL, "passphrase", "passphrase in %s contains a NUL byte", qp);
		goto out;
	}
	*out = malloc(line + 1);
	if (!*out) {
		rc = SM_ENOMEM;
		goto out;
	}
	memcpy(*out, buf, line);
	(*out)[line] = '\0';
out:
	OPENSSL_cleanse(buf, sizeof(buf));
	if (fd >= 0)
		close(fd);
	return rc;
}
