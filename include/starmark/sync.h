/* SPDX-License-Identifier: Apache-2.0 */
/* Keeping a verified copy of a registry's snapshot (sync) and answering from it offline (cache). */
#ifndef STARMARK_SYNC_H
#define STARMARK_SYNC_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "starmark/anchor.h"
#include "starmark/checkpoint.h"
#include "starmark/client.h"
#include "starmark/error.h"
#include "starmark/label.h"
#include "starmark/status.h"
#include "starmark/trust.h"
#include "starmark/verdict.h"

/*
 * A cache directory holds what a gateway needs to answer with no network:
 *   trust.chain     every trust bundle the registry published (a CBOR chain, anchor.h);
 *   checkpoint      the newest log checkpoint seen (a C2SP signed note by the log key);
 *   snapshot.cose   the newest snapshot seen (signed by the status key);
 * in a generation directory that CURRENT names, replaced whole by each sync (lib/cache_int.h says
 * how), so a kill -9 at any moment leaves one consistent generation in force. Nothing in it is
 * trusted for what it claims: every reader follows the chain from the anchor its user provisioned
 * and verifies every file again. The state a sync starts from (the snapshot version kept, the
 * checkpoint, the ETag it sends) is read from the verified files themselves, never from a side file.
 */
#define SM_CACHE_TRUST "trust.chain"
#define SM_CACHE_CHECKPOINT "checkpoint"
#define SM_CACHE_SNAPSHOT "snapshot.cose"

/* ---- the pure decisions (no I/O), used by sm_sync_run and testable alone ---- */

/** The ETag a server gives snapshot `version` ("v<version>" in quotes), for If-None-Match. */
void sm_snapshot_etag(uint64_t version, char out[32]);

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

/* ---- the server's trust ---- */

/**
 * GET /v1/trust/chain?from=N: the bundles the server published from version `from` on (an empty
 * chain when it has none newer). Errors of the client; SM_EIO when the answer is no chain (the
 * server or the path failed), SM_EVERIFY when it starts after `from`.
 */
int sm_sync_fetch_chain(sm_client *c, uint64_t from, sm_trust_chain *out, sm_err *err);

/**
 * The server's newest trust bundle, followed from the anchor: the chain is fetched from the first
 * version the anchor needs (sm_anchor_fetch_from) and walked (sm_trust_follow). *out the newest
 * bundle; *links (may be NULL) how many links were followed. Errors of the client, SM_EVERIFY.
 */
int sm_sync_server_trust(sm_client *c, const sm_anchor *a, sm_trust *out, size_t *links, sm_err *err);

/**
 * A local registry's newest trust bundle, followed from the anchor as sm_sync_server_trust follows a
 * server's: the bundles the registry published from the version the anchor needs, walked with
 * sm_trust_follow, and the walk must reach the registry's current bundle (an anchor ahead of the
 * registry, or of another registry, is refused). SM_EVERIFY saying why, SM_ESTORE, SM_ENOMEM.
 */
int sm_sync_registry_trust(sm_registry *r, const sm_anchor *a, sm_trust *out, sm_err *err);

/**
 * GET /v1/certs/{id}/statement: the server's signed status statement of certificate `id`, verified with
 * `trust` (sm_statement_verify: content type, a status key valid when it was produced, the scheme) and
 * about `id`. Freshness is the caller's (next_update). *out is the caller's to clean up. SM_ENOTFOUND
 * when the server has none (no such certificate, or not produced yet), SM_EVERIFY when it does not
 * verify or is about another certificate, SM_EINVAL when it is no statement; the client's errors.
 */
int sm_sync_statement(sm_client *c, const sm_trust *trust, const char *id, sm_statement *out, sm_err *err);

/* A server as a label's status source (sm_label_lookup_server): its client and the trust followed to it. */
typedef struct sm_label_server {
	sm_client *client;
	const sm_trust *trust;
} sm_label_server;

/**
 * sm_label_lookup_fn over a server: `ctx` is an sm_label_server. The record is the statement's facts
 * (sm_sync_statement) with its next_update; none when the server has no statement of the id.
 */
int sm_label_lookup_server(void *ctx, const char *id, sm_label_record *out, sm_err *err);

/* ---- sync ---- */

typedef struct sm_sync_report {
	uint64_t trust_version;
	uint64_t old_trust_version; /* followed from (0: the cache had none) */
	bool trust_changed;
	bool snapshot_changed;     /* false: the server answered 304, or sent the snapshot already kept */
	uint64_t old_version;      /* version kept before (0: none) */
	sm_snapshot_info snapshot; /* the snapshot now kept */
	bool frozen;               /* the snapshot served is past its next_update: the registry's data is not moving */
	bool cache_reset;          /* the cache was not used (it does not follow from the anchor, or holds a rollback) and was started over */
	char reset_reason[SM_ERR_MSG_MAX]; /* why */
	bool had_checkpoint;
	uint64_t old_log_size; /* size of the checkpoint kept before */
	uint64_t log_size;     /* size of the checkpoint now kept */
} sm_sync_report;

/**
 * One round of sync against the server of `c` into `cache_dir` (created 0755 if missing; one sync
 * at a time by a lock file in it). `anchor` is what the user provisioned (never the cache).
 * Steps: the trust chain (GET /v1/trust/chain from the newest version cached) followed from the
 * anchor; GET /v1/snapshot with If-None-Match of the cached, verified snapshot's version (304: the
 * kept snapshot stays; it is still checked for freeze); accepted by sm_sync_snapshot_accept and the
 * cache's rollback floor; GET /v1/log/checkpoint verified with a log key of the trust and checked
 * consistent (GET /v1/log/proof/consistency) with the kept checkpoint and with the log size and root
 * the snapshot was signed over; then a new generation of the cache is made current.
 * A cache that does not follow from the anchor (another registry's, tampered) is started over
 * (rep->cache_reset). Nothing changes unless every check passed. Errors: the client's (SM_EIO for
 * the network, SM_EKEY/SM_EINVAL/... for 4xx), SM_EVERIFY for anything that does not verify (a bad
 * signature, rollback, freeze past `expires`, a forked log), SM_EIO for the cache directory, SM_ENOMEM.
 */
int sm_sync_run(sm_client *c, const char *cache_dir, const sm_anchor *anchor, int64_t now, sm_sync_report *rep,
                sm_err *err);

/* ---- answering from the cache ---- */

typedef struct sm_cache sm_cache;

/**
 * Open a cache directory for offline checks: its generation in force, its trust chain followed from
 * `anchor` (the user's, never the cache's own), its snapshot mapped read-only. SM_ENOTFOUND when the
 * directory was never synced, SM_EVERIFY when the cached trust does not follow from the anchor,
 * SM_EIO, SM_ENOMEM.
 */
int sm_cache_open(const char *dir, const sm_anchor *anchor, sm_cache **out, sm_err *err);
void sm_cache_close(sm_cache *c);
/** The header of the cached snapshot, verified (the log size and root it reflects: a check's evidence). */
int sm_cache_info(sm_cache *c, sm_snapshot_info *out, sm_err *err);
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

/**
 * The certificate `id` in the cached snapshot, which is verified again (and checked against the
 * rollback floor) first: *out (caller frees), NULL when the snapshot does not hold it; *info (may be
 * NULL) its header. SM_EVERIFY / SM_EINVAL when the snapshot does not verify, SM_ENOMEM.
 */
int sm_cache_get(sm_cache *c, const char *id, sm_cert **out, sm_snapshot_info *info, sm_err *err);

/**
 * sm_label_lookup_fn over an open cache: `ctx` is an sm_cache. The record is the snapshot's, with its
 * next_update and expires (the verdict judges them); none when the snapshot does not hold the id.
 */
int sm_label_lookup_cache(void *ctx, const char *id, sm_label_record *out, sm_err *err);

#endif
