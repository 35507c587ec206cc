/* SPDX-License-Identifier: Apache-2.0 */
/* Private crypto helpers shared by lib modules. */
#ifndef STARMARK_CRYPTO_INT_H
#define STARMARK_CRYPTO_INT_H

#include <openssl/evp.h>

/**
 * A digest context for SHA-256 of the calling thread, initialised and ready for updates (NULL when
 * OpenSSL fails). OpenSSL 3 looks a digest up again on every EVP_DigestInit_ex(EVP_sha256()): the
 * method is fetched once per process and the context kept per thread. (The Merkle tree, which
 * hashes most, uses SHA256_Init/Update/Final instead: lib/merkle.c says why.)
 */
EVP_MD_CTX *sm_sha256_ctx(void);

#endif
