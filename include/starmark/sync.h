/* SPDX-License-Identifier: Apache-2.0 */
/* Keeping a verified copy of a registry's snapshot (sync) and answering from it offline (cache). */
#ifndef STARMARK_SYNC_H
#define STARMARK_SYNC_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "starmark/checkpoint.h"
#include "starmark/client.h"
#include "starmark/error.h"
#include "starmark/status.h"
#include "starmark/trust.h"
#include "starmark/verdict.h"

/*
 * A cache directory holds what a gateway needs to answer with no network, each file written to a
 * temporary file, synced and renamed into place (a reader sees the old file or the new one):
 *   trust.cose      the newest trust bundle seen, verified from the provisioned one;
 *   checkpoint      the newest log checkpoint seen (a C2SP signed note by the log key);
 *   snapshot.cose   the newest snapshot seen (signed by the status key);
 *   snapshot.etag   the ETag the server sent with it (for If-None-Match).
 * They are written in that order, so a cached snapshot always verifies with the cached trust
 * (a later bundle keeps the retired keys with their validity). Nothing in the directory is trusted
 * for what it claims: every reader verifies it again from the pinned trust bundle.
 */
#define SM_CACHE_TRUST "trust.cose"
#define SM_CACHE_CHECKPOINT "checkpoint"
#define SM_CACHE_SNAPSHOT "snapshot.cose"
#define SM_CACHE_ETAG "snapshot.etag"

/* ---- the pure decisions (no I/O), used by sm_sync_run and testable alone ---- */

/**
 * The provisioned trust bundle (`starmark trust export` of the registry): its root is the pinned
 * root, so it must be signed by the root it names (any version). SM_EVERIFY / SM_EINVAL.
 */
int sm_sync_trust_pinned(const uint8_t *bundle, size_t n, sm_trust *out, sm_err *err);

/**
 * Accept a bundle `got` offered to a verifier that holds `cur` (whose signed bytes are cur_bytes):
 * the same bytes (*changed false), or a later version signed by the root of `cur` with the same
 * root (*changed true, *out the new one). An older version or another bundle with the same version:
 * SM_EVERIFY naming the versions (rollback or equivocation). *out is written only on success.
 */
int sm_sync_trust_next(const sm_trust *cur, const uint8_t *cur_bytes, size_t cur_n, const uint8_t *got,
                       size_t n, sm_trust *out, bool *changed, sm_err *err);

/**
 * Accept a snapshot: it verifies with `trust` (sm_snapshot_verify), is not past its `expires` at
 * `now` (freeze), and its version is not lower than the cached one's (rollback). `cached` (NULL:
 * none) is the header of the snapshot kept so far and `cached_sha256` the SHA-256 of its bytes: a
 * snapshot of the same version must be the same bytes (*same true). SM_EVERIFY naming the versions
 * or the expiry for rollback, freeze and equivocation; the codes of sm_snapshot_verify otherwise.
 */
int sm_sync_snapshot_accept(const uint8_t *snap, size_t n, const sm_trust *trust,
                            const sm_snapshot_info *cached, const uint8_t cached_sha256[32], int64_t now,
                            sm_snapshot_info *out, bool *same, sm_err *err);

/**
 * The log did not fork or shrink between checkpoint `old` (NULL: none kept, anything goes) and
 * `cur`: sizes do not go back, equal sizes have equal roots, and `proof` (n hashes, from the
 * server's consistency proof old->size .. cur->size) verifies. SM_EVERIFY naming the sizes.
 */
int sm_sync_consistent(uint64_t old_size, const uint8_t old_root[SM_HASH_LEN], uint64_t new_size,
                       const uint8_t new_root[SM_HASH_LEN], const uint8_t proof[][SM_HASH_LEN], size_t n,
                       sm_err *err);

/** The C2SP verifier key of the current log key of a bundle, named by its origin. Caller frees. SM_EKEY,
 * SM_ENOMEM. */
int sm_trust_log_vkey(const sm_trust *t, char **out, sm_err *err);

/* ---- sync ---- */

typedef struct sm_sync_report {
	uint64_t trust_version;
	bool trust_changed;
	bool snapshot_changed;     /* false: the server answered 304, or sent the snapshot already kept */
	uint64_t old_version;      /* version kept before (0: none) */
	sm_snapshot_info snapshot; /* the snapshot now kept */
	bool had_checkpoint;
	uint64_t old_log_size; /* size of the checkpoint kept before */
	uint64_t log_size;     /* size of the checkpoint now kept */
} sm_sync_report;

/**
 * One round of sync against the server of `c` into `cache_dir` (created 0755 if missing; one sync
 * at a time by a lock file in it). `pinned_trust` is the provisioned bundle (its bytes, see
 * sm_sync_trust_pinned); the cached trust.cose is used when it is a later successor of it.
 * Steps: GET /v1/trust (must be the bundle held or a successor of it); GET /v1/snapshot with the
 * cached ETag (304: the kept snapshot stays; it is still checked for freeze) into a temporary file,
 * accepted by sm_sync_snapshot_accept; GET /v1/log/checkpoint verified with the log key of the
 * trust and checked consistent (GET /v1/log/proof/consistency) with the kept checkpoint and with
 * the log size and root the snapshot was signed over; then the files are stored.
 * Nothing is stored unless every check passed. Errors: the client's (SM_EIO for the network,
 * SM_EKEY/SM_EINVAL/... for 4xx), SM_EVERIFY for anything that does not verify (a bad signature,
 * rollback, freeze, a forked log), SM_EIO for the cache directory, SM_ENOMEM.
 */
int sm_sync_run(sm_client *c, const char *cache_dir, const uint8_t *pinned_trust, size_t pinned_n,
                int64_t now, sm_sync_report *rep, sm_err *err);

/* ---- answering from the cache ---- */

typedef struct sm_cache sm_cache;

/**
 * Open a cache directory for offline checks: reads and verifies its trust bundle, from
 * `pinned_trust` when given (the provisioned bundle; the cached one must be it or a successor),
 * else from the root the cached bundle names itself (the cache is then trusted as provisioned);
 * and maps its snapshot read-only. SM_ENOTFOUND when the directory has no snapshot or no trust
 * bundle (never synced), SM_EVERIFY when the trust does not verify, SM_EIO, SM_ENOMEM.
 */
int sm_cache_open(const char *dir, const uint8_t *pinned_trust, size_t pinned_n, sm_cache **out, sm_err *err);
void sm_cache_close(sm_cache *c);
/** The verified trust bundle of an open cache (borrowed). */
const sm_trust *sm_cache_trust(const sm_cache *c);

/**
 * The verdict for `q` under `p` at `now` from the cached snapshot alone: the snapshot is verified
 * again, the certificates of that vendor and model are taken from it, and sm_verdict_eval runs
 * with the snapshot's next_update (past it within the policy's offline grace: warn; past the grace:
 * no usable data). A snapshot past its `expires` is no usable data with the reason
 * "snapshot_expired". No usable data is answered as sm_verdict_unknown does (unknown, or a warn
 * under a policy with "unknown": "allow").
 * *info (may be NULL) receives the snapshot's header. SM_EVERIFY / SM_EINVAL when the cached
 * snapshot does not verify (the caller answers unknown), SM_ENOMEM.
 */
int sm_cache_check(sm_cache *c, const sm_check_req *q, const sm_policy *p, int64_t now, sm_check_result *res,
                   sm_snapshot_info *info, sm_err *err);

#endif
