/* SPDX-License-Identifier: Apache-2.0 */
/* The trust bundle: the root key, the role keys and their validity, signed by the root. */
#ifndef STARMARK_TRUST_H
#define STARMARK_TRUST_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "starmark/buf.h"
#include "starmark/error.h"
#include "starmark/keys.h"

enum sm_role { SM_ROLE_ROOT = 0, SM_ROLE_ISSUER = 1, SM_ROLE_STATUS = 2, SM_ROLE_LOG = 3 };
#define SM_TRUST_MAX_KEYS 256
#define SM_TRUST_MAX_SIZE (64u * 1024u)

/** "root", "issuer", "status", "log"; NULL for others. */
const char *sm_role_name(int role);
/** The role for a name, or -1. */
int sm_role_from_name(const char *name);

typedef struct sm_trust_key {
	int role;
	uint8_t pub[SM_PUBKEY_LEN];
	uint8_t kid[SM_KID_LEN];
	int64_t not_before; /* Unix time */
	int64_t not_after;  /* Unix time; 0 while the key is current */
} sm_trust_key;

/* A decoded bundle. */
typedef struct sm_trust {
	uint64_t version; /* only grows */
	int64_t at;       /* when it was made */
	uint8_t root[SM_PUBKEY_LEN];
	char scheme[33];
	int levels;
	char origin[256];
	sm_trust_key keys[SM_TRUST_MAX_KEYS];
	size_t nkeys;
	/* When the bundle changes the root: the new root's signature over this bundle encoded without
	 * it (field 8), so the change is signed by the root of the previous bundle (the COSE signature)
	 * and by the new root (DESIGN.md, Keys and trust). */
	bool has_root_proof;
	uint8_t root_proof[SM_SIG_LEN];
} sm_trust;

/** CBOR payload of a bundle (schema/payloads.cddl); with_proof false leaves field 8 out (what the new root signs). */
int sm_trust_encode(const sm_trust *t, sm_buf *out);
int sm_trust_encode_ex(const sm_trust *t, bool with_proof, sm_buf *out);
int sm_trust_decode(const uint8_t *p, size_t n, sm_trust *out, sm_err *err);

/**
 * Verify a signed bundle (a COSE_Sign1 of type SM_COSE_TRUST).
 * - `prev` NULL: the bundle standing alone, as a user provisions it (any version): the root it names
 *   signed it, or — a bundle that changed the root, whose COSE signature is by the root before —
 *   the new root's proof (field 8) verifies. This is what makes a bundle an anchor.
 * - `prev` given: one link of the chain: signed by the root of `prev`, a greater version, the same
 *   origin and scheme, and when the root changes, the new root's proof verifies too.
 * On success *out holds the bundle. SM_EINVAL / SM_ETOOBIG when the bytes are no trust bundle,
 * SM_EVERIFY (message naming the versions) when they are one that does not verify.
 */
int sm_trust_verify(const uint8_t *cose, size_t n, const sm_trust *prev, sm_trust *out, sm_err *err);

/** Decode a signed bundle without verifying anything (to learn its version). SM_EINVAL / SM_ETOOBIG. */
int sm_trust_peek(const uint8_t *cose, size_t n, sm_trust *out, sm_err *err);

/** The key of `role` with `kid` that was valid at `at` (not_before <= at, and at <= not_after if set); NULL if none. */
const sm_trust_key *sm_trust_find(const sm_trust *t, int role, const uint8_t kid[SM_KID_LEN], int64_t at);
/** The current key of a role (not_after == 0), or NULL. */
const sm_trust_key *sm_trust_current(const sm_trust *t, int role);

/** Hex fingerprint of a public key: SHA-256 of the raw key, 64 hex digits + NUL. */
void sm_key_fingerprint(const uint8_t pub[SM_PUBKEY_LEN], char out[65]);

#endif
