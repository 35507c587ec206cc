/* SPDX-License-Identifier: Apache-2.0 */
/* Ed25519 keys: generation, files (PKCS#8, optionally passphrase-encrypted), signing, kid. */
#ifndef STARMARK_KEYS_H
#define STARMARK_KEYS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "starmark/error.h"

#define SM_PUBKEY_LEN 32
#define SM_SIG_LEN 64
#define SM_KID_LEN 8
/* A passphrase file's first line is the passphrase; at most this many bytes. */
#define SM_PASSPHRASE_MAX 1024

/** SHA-256 of `n` bytes. */
void sm_sha256(const void *data, size_t n, uint8_t out[32]);

/* An Ed25519 key: a public key, with or without its private half. Opaque. */
typedef struct sm_key sm_key;

/** A fresh random key pair. SM_ECRYPTO, SM_ENOMEM. */
int sm_key_generate(sm_key **out);
/** A key pair from a 32-byte RFC 8032 seed (tests and vectors). */
int sm_key_from_seed(const uint8_t seed[32], sm_key **out);
/** A verify-only key from the raw 32-byte public key. SM_EINVAL for a malformed key. */
int sm_key_from_public(const uint8_t pub[SM_PUBKEY_LEN], sm_key **out);
void sm_key_free(sm_key *k);

bool sm_key_has_private(const sm_key *k);
/** The raw public key. */
void sm_key_public(const sm_key *k, uint8_t pub[SM_PUBKEY_LEN]);
/** kid = SHA-256(raw public key)[:8]. */
void sm_key_kid(const sm_key *k, uint8_t kid[SM_KID_LEN]);

/** Ed25519 signature of `msg`. SM_EKEY when the key has no private half, SM_ECRYPTO. */
int sm_key_sign(const sm_key *k, const uint8_t *msg, size_t n, uint8_t sig[SM_SIG_LEN]);
/** 0 for a good signature, SM_ECRYPTO for any other outcome. */
int sm_key_verify(const sm_key *k, const uint8_t *msg, size_t n, const uint8_t sig[SM_SIG_LEN]);

/**
 * Write the private key to a new file `path` (created with O_EXCL, mode 0600) as PEM PKCS#8;
 * with a passphrase (non-NULL, non-empty) encrypted with AES-256-CBC and PBKDF2-SHA256 at
 * 600,000 iterations. SM_EEXIST when the file exists, SM_EIO, SM_EKEY (no private half).
 */
int sm_key_save(const sm_key *k, const char *path, const char *passphrase, sm_err *err);
/**
 * Read a private key file. SM_EKEY: missing, not an Ed25519 key, encrypted but no or a wrong
 * passphrase, or readable by group/others (the message says which). Never a crash on a
 * truncated or corrupted file.
 */
int sm_key_load(const char *path, const char *passphrase, sm_key **out, sm_err *err);

/** Read the first line of a passphrase file into a new string the caller frees (and cleanses). */
int sm_passphrase_read(const char *path, char **out, sm_err *err);

#endif
