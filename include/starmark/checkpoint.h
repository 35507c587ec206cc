/* SPDX-License-Identifier: Apache-2.0 */
/* C2SP tlog-checkpoint: the log's signed size and root, as a signed note (Ed25519). */
#ifndef STARMARK_CHECKPOINT_H
#define STARMARK_CHECKPOINT_H

#include <stddef.h>
#include <stdint.h>

#include "starmark/error.h"
#include "starmark/keys.h"
#include "starmark/merkle.h"

/* A checkpoint note is refused above this size; an origin above SM_ORIGIN_MAX bytes. */
#define SM_CHECKPOINT_MAX 8192
#define SM_ORIGIN_MAX 255
/* A signed note of any kind (sm_note_verify) is refused above this size. */
#define SM_NOTE_MAX (64u * 1024u)

typedef struct sm_checkpoint {
	char origin[SM_ORIGIN_MAX + 1];
	uint64_t size;
	uint8_t root[SM_HASH_LEN];
} sm_checkpoint;

/**
 * Sign a checkpoint as the signed note
 * "<origin>\n<size>\n<base64 root>\n\n— <name> <base64(keyid4 || sig)>\n",
 * key ID = SHA-256(name || 0x0A || 0x01 || pubkey)[:4], name = the origin. Caller frees *out.
 * SM_EINVAL when the origin is not a valid key name (empty, unterminated, spaces or '+'),
 * SM_EKEY when the key has no private half, SM_ENOMEM.
 */
int sm_checkpoint_sign(const sm_checkpoint *cp, const sm_key *key, char **out);

/**
 * Parse a checkpoint note and verify that a signature line by the key of `vkey` (a note
 * verifier key "<name>+<hex keyid>+<base64(0x01 || pubkey)>") verifies. Other signature lines
 * are ignored. SM_ETOOBIG over SM_CHECKPOINT_MAX, SM_EINVAL for a malformed note, body or
 * vkey, SM_EVERIFY when no good signature by that key is present or the first line by that
 * key (name and key ID) does not verify. *out is written only on success. The caller checks
 * that out->origin is the log it expects (the key name need not equal the origin).
 */
int sm_checkpoint_verify(const char *text, size_t n, const char *vkey, sm_checkpoint *out, sm_err *err);

/**
 * Verify a C2SP signed note of any text (what sm_checkpoint_verify does before reading the
 * body): UTF-8 without control characters but newline, text, blank line, 1 to 100 well-formed
 * signature lines; the first line by `vkey`'s name and key ID must verify. *text_len (may be
 * NULL) gets the length of the signed text, which starts the note. SM_ETOOBIG over
 * SM_NOTE_MAX, SM_EINVAL (malformed note or vkey), SM_EVERIFY.
 */
int sm_note_verify(const char *note, size_t n, const char *vkey, size_t *text_len, sm_err *err);

/** The note verifier key of `key` under `name`; caller frees. NULL on OOM or an invalid name. */
char *sm_note_vkey(const char *name, const sm_key *key);

#endif
