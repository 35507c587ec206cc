/* SPDX-License-Identifier: Apache-2.0 */
/* COSE_Sign1 (RFC 9052) with EdDSA (-8): every signed object of starmark. */
#ifndef STARMARK_COSE_H
#define STARMARK_COSE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "starmark/error.h"
#include "starmark/keys.h"

/* A COSE_Sign1 is refused above this size, and its CBOR nesting above SM_COSE_MAX_DEPTH. */
#define SM_COSE_MAX_SIZE (16u * 1024u * 1024u)
#define SM_COSE_MAX_DEPTH 16

/*
 * What a signed object is, carried as the COSE content type (header label 3, an unsigned
 * integer from the CoAP Content-Format range for experimental use) in the protected header, so
 * that one kind of object can never be taken for another signed by the same key.
 */
enum sm_cose_type {
	SM_COSE_EVENT = 65000,     /* a registry event (the log's entries) */
	SM_COSE_TRUST = 65001,     /* a trust bundle (signed by the root) */
	SM_COSE_STATUS = 65002,    /* a status statement for one certificate */
	SM_COSE_SNAPSHOT = 65003,  /* the snapshot of every certificate */
	SM_COSE_LABEL = 65004,     /* a label token */
	SM_COSE_POLICY = 65005,    /* a policy published or withdrawn (the log's entries, signed by the issuer) */
};

/**
 * Sign `payload` with `key`: protected header {1: -8, 3: type, 4: kid}, empty unprotected
 * header, external_aad empty. `tagged` prefixes CBOR tag 18 (labels leave it off to save a
 * byte). The encoding into *out (caller frees), its length *outlen.
 */
int sm_cose_sign1(const sm_key *key, enum sm_cose_type type, const uint8_t *payload, size_t n,
		  bool tagged, uint8_t **out, size_t *outlen);

/* Flags of sm_cose_sign1_ex. */
enum {
	SM_COSE_TAGGED = 1, /* prefix CBOR tag 18 */
	SM_COSE_NO_KID = 2, /* leave the kid out: the verifier tries the few keys of the role (label tokens,
			     * where the 10 bytes decide whether the QR code stays at version 8) */
};

/** sm_cose_sign1 with flags (SM_COSE_TAGGED, SM_COSE_NO_KID). */
int sm_cose_sign1_ex(const sm_key *key, enum sm_cose_type type, const uint8_t *payload, size_t n, unsigned flags,
		     uint8_t **out, size_t *outlen);

/* A decoded COSE_Sign1; pointers point into its own copy of the bytes. Opaque. */
typedef struct sm_cose sm_cose;

/**
 * Decode (not verify) a COSE_Sign1, tagged or not. Checks the structure strictly: array of 4,
 * protected a bstr holding a map with integer labels 1 (alg, must be -8), 3 (content type, an
 * unsigned integer) and 4 (kid) only, each at most once; unprotected a map holding at most the
 * kid; kid a bstr of 1..64 bytes in either header, not both (starmark's is 8 bytes, others
 * are accepted so that foreign objects such as the COSE examples decode); payload a bstr (not
 * detached); signature 64 bytes; definite lengths only; nothing after the object; size and
 * nesting caps (checked before libcbor sees the bytes). SM_EINVAL/SM_ETOOBIG with a message
 * naming the part at fault, SM_ENOMEM.
 */
int sm_cose_decode(const uint8_t *in, size_t n, sm_cose **out, sm_err *err);
void sm_cose_free(sm_cose *c);
/** The kid; false when the object has none or its kid is not SM_KID_LEN bytes long. */
bool sm_cose_kid(const sm_cose *c, uint8_t kid[SM_KID_LEN]);
/** The content type (label 3) as an integer, or 0 when absent. */
uint64_t sm_cose_type(const sm_cose *c);
/** The payload bytes (borrowed, valid while c lives). */
const uint8_t *sm_cose_payload(const sm_cose *c, size_t *n);
/** 0 when the signature verifies with `key`, SM_ECRYPTO otherwise. */
int sm_cose_verify(const sm_cose *c, const sm_key *key);

/**
 * The Sig_structure ["Signature1", protected, h'', payload] for a protected header encoding
 * and payload, into *out (caller frees) — what is signed; exposed for the COSE test vectors.
 */
int sm_cose_sig_structure(const uint8_t *prot, size_t prot_len, const uint8_t *payload, size_t n,
			  uint8_t **out, size_t *outlen);

#endif
