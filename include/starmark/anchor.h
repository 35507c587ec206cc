/* SPDX-License-Identifier: Apache-2.0 */
/* Trust anchors a user provisions, the chain of trust bundles, and following it to the newest bundle. */
#ifndef STARMARK_ANCHOR_H
#define STARMARK_ANCHOR_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "starmark/buf.h"
#include "starmark/error.h"
#include "starmark/trust.h"

/*
 * Every bundle version a registry published stays retrievable; bundle N+1 is signed by the root of
 * bundle N (and by its own root when it changes the root). A verifier provisioned with any bundle,
 * or with a root key's fingerprint only, walks that chain link by link to the newest bundle, which
 * keeps every retired key with its validity: labels, statements, snapshots and checkpoints signed by
 * retired keys keep verifying for what they signed while those keys were valid.
 *
 * What the verifier trusts is the ANCHOR, given by its user outside any cache (a file in /etc or
 * firmware, a fingerprint read off the scheme owner's letter). A chain fetched from a server or kept
 * in a cache is data: it is believed only as far as it follows from the anchor.
 */

#define SM_TRUST_CHAIN_MAX 4096                 /* bundles in one chain */
#define SM_TRUST_CHAIN_MAX_SIZE (8u * 1024u * 1024u) /* bytes of an encoded chain */

/* One signed bundle of a chain: its bytes (owned by the chain) and its version (read, not verified). */
typedef struct sm_trust_link {
	uint8_t *p;
	size_t n;
	uint64_t version;
} sm_trust_link;

/* Consecutive bundles, oldest first. Zero-initialise; sm_trust_chain_cleanup frees. */
typedef struct sm_trust_chain {
	sm_trust_link *v;
	size_t n;
} sm_trust_chain;

void sm_trust_chain_cleanup(sm_trust_chain *c);

/**
 * Append a copy of a signed bundle. Nothing is verified; its version must be the one after the
 * chain's last (or anything for the first). SM_EINVAL when the bytes are no bundle or the version
 * does not follow, SM_ETOOBIG past the caps, SM_ENOMEM.
 */
int sm_trust_chain_add(sm_trust_chain *c, const uint8_t *p, size_t n, sm_err *err);

/** The chain as CBOR: an array of byte strings, each a signed bundle (schema/payloads.cddl, trust-chain). */
int sm_trust_chain_encode(const sm_trust_chain *c, sm_buf *out);

/**
 * Decode a chain, or a single signed bundle as a chain of one (so a file `trust export` wrote is
 * read either way). The array must not be empty and its versions must increase by one. Caps:
 * SM_TRUST_CHAIN_MAX_SIZE bytes, SM_TRUST_CHAIN_MAX bundles. SM_EINVAL / SM_ETOOBIG naming the
 * element at fault, SM_ENOMEM. *out is empty on failure.
 */
int sm_trust_chain_decode(const uint8_t *p, size_t n, sm_trust_chain *out, sm_err *err);

/** The last version of a chain, 0 for an empty one. */
uint64_t sm_trust_chain_newest(const sm_trust_chain *c);

/* ---- anchors ---- */

typedef struct sm_anchor sm_anchor;

#define SM_ANCHOR_ENV "STARMARK_TRUST"

/**
 * An anchor from what a user gave (`--trust`, $STARMARK_TRUST): a root key's fingerprint — the 64
 * hex digits `init` prints, optionally written "sha256:HEX" — or the path of a file holding a
 * signed bundle of any version or a chain (`trust export [--chain]`). A bundle file's first bundle
 * must stand alone (sm_trust_verify without a previous bundle) and the rest follow from it.
 * SM_EINVAL naming what is wrong with the text or the file (also when its bundles do not verify: a
 * broken anchor is broken input; also a path that is no file and no fingerprint), SM_EIO, SM_ENOMEM.
 */
int sm_anchor_load(const char *spec, sm_anchor **out, sm_err *err);
void sm_anchor_free(sm_anchor *a);

/** An anchor from a verified bundle held in memory (the registry's own, for local verbs). */
int sm_anchor_from_bytes(const uint8_t *p, size_t n, sm_anchor **out, sm_err *err);

/** One line for the user: "trust bundle version 3 of registry.example.jp (root key fingerprint HEX)" or "root fingerprint ...". */
void sm_anchor_describe(const sm_anchor *a, char *buf, size_t cap);

/**
 * The first bundle version to fetch to follow this anchor: 1 for a fingerprint, else the anchor's own
 * newest version, so that the server's copy of it is compared with it (sm_trust_follow): another
 * registry's chain, or a forked one, is told at once rather than where it first fails to verify.
 */
uint64_t sm_anchor_fetch_from(const sm_anchor *a);

/**
 * Follow `chain` (may be NULL or empty: what a server or a cache offers) from the anchor to the newest
 * bundle. The walk starts at the anchor's own newest bundle, or for a fingerprint at the first bundle of
 * `chain` whose root has that fingerprint and that stands alone; links older than the start are passed
 * over; a link of a version already held must be the same bytes (else: two bundles of one version,
 * equivocation); each next version must verify as a link (sm_trust_verify with the one before); a gap
 * in the versions is refused. *out: the newest bundle reached; *newest (may be NULL): its signed bytes,
 * borrowed from the anchor or `chain`. *links (may be NULL): how many links of `chain` were followed.
 * SM_EVERIFY naming the version and what failed, SM_ENOMEM.
 */
int sm_trust_follow(const sm_anchor *a, const sm_trust_chain *chain, sm_trust *out, const sm_trust_link **newest,
		    size_t *links, sm_err *err);

#endif
