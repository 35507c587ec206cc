/* SPDX-License-Identifier: Apache-2.0 */
/* The registry: the one facade for every operation on a registry directory. */
#ifndef STARMARK_REGISTRY_H
#define STARMARK_REGISTRY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "starmark/anchor.h"
#include "starmark/error.h"
#include "starmark/home.h"
#include "starmark/merkle.h"
#include "starmark/record.h"
#include "starmark/trust.h"
#include "starmark/verdict.h"

/*
 * A registry directory holds the LMDB store (data.mdb, lock.mdb) and keys/, where each private
 * key is keys/<role>-<kid hex>.key (mode 0600, optionally passphrase-encrypted). The trust
 * bundle in the log says which key is current for each role, so a rotation never renames files
 * and a crash in the middle leaves at worst an unused key file.
 *
 * Every change is one event signed by the issuer key and appended to the log in the same write
 * transaction as the state and indexes it changes.
 */
typedef struct sm_registry sm_registry;

typedef struct sm_init_opts {
	const char *scheme;     /* "CCDS" */
	int levels;             /* 1..9 */
	const char *origin;     /* the log's origin, e.g. registry.example.jp */
	const char *passphrase; /* NULL: unencrypted key files */
	int64_t now;
} sm_init_opts;

/**
 * Create a registry in `dir` (created if missing; must not hold a registry): the store, the
 * root, issuer, status and log keys, and trust bundle version 1 as the log's first entry.
 * `fingerprint` receives the root key's fingerprint (hex SHA-256 of the raw key).
 * SM_EEXIST, SM_EINVAL (options), SM_EIO, SM_ESTORE.
 */
int sm_registry_init(const char *dir, const sm_init_opts *o, char fingerprint[65], sm_err *err);

/**
 * Open a registry. `write` opens it for changes. The passphrase (may be NULL) is used when a key
 * is first needed; keys are loaded lazily. SM_ENOTFOUND (no registry), SM_ESTORE (damaged).
 */
int sm_registry_open(const char *dir, bool write, const char *passphrase, sm_registry **out, sm_err *err);
void sm_registry_close(sm_registry *r);

/**
 * Load the private key of a role now (keys otherwise load when first needed), so that a missing
 * key or a wrong passphrase shows at start. SM_EKEY naming the file and what is wrong.
 */
int sm_registry_load_key(sm_registry *r, int role, sm_err *err);

/** Clear the reader slots of processes that died (LMDB's mdb_reader_check); for long-running servers. */
void sm_registry_check_readers(sm_registry *r);

/**
 * Pick up keys rotated by another process: when the store's current trust bundle is newer than this
 * handle's, load it and the keys it names (*changed true). Every signing path does the same inside its
 * transaction; a long-running server calls this to notice at once. Thread-safe; what sm_registry_trust
 * returned before stays valid until the registry is closed. SM_ESTORE, SM_ENOMEM.
 */
int sm_registry_trust_reload(sm_registry *r, bool *changed, sm_err *err);

/** The current trust bundle (borrowed; valid until the registry is closed, also after a rotation). */
const sm_trust *sm_registry_trust(sm_registry *r);
/** The signed bytes of the current bundle (caller frees). */
int sm_registry_trust_signed(sm_registry *r, uint8_t **out, size_t *n, sm_err *err);
/**
 * Every published bundle from version `from` to the current one, as a chain (caller cleans up):
 * what a verifier holding bundle `from - 1`, or only a root fingerprint (from 1), follows.
 * SM_ENOTFOUND naming the versions there are, SM_ENOMEM.
 */
int sm_registry_trust_chain(sm_registry *r, uint64_t from, sm_trust_chain *out, sm_err *err);

/**
 * Issue a certificate: validate `draft` (its id, status and history are ignored), give it the
 * next id (SM-<registration year>-<serial>), sign and append the issue event, store the state.
 * *out (may be NULL) receives the new certificate; caller frees.
 */
int sm_registry_issue(sm_registry *r, sm_cert *draft, int64_t now, sm_cert **out, sm_err *err);

/** Apply a lifecycle event (amend, firmware-revoke, suspend, revoke, reinstate, renew) to e->id. */
int sm_registry_event(sm_registry *r, sm_event *e, int64_t now, sm_cert **out, sm_err *err);

/** The certificate `id` (caller frees). SM_ENOTFOUND naming it. */
int sm_registry_get(sm_registry *r, const char *id, sm_cert **out, sm_err *err);

/* Filters for list/search; zero/NULL fields do not filter. */
typedef struct sm_filter {
	const char *vendor;
	const char *model;
	const char *category; /* the certificate's category (sm_check_category: SM_EINVAL naming "category") */
	int level;           /* 0: any */
	int status;          /* -1: any; else the index of sm_status_from_name() */
	const char *q;       /* search text */
	size_t offset, limit; /* limit 0: no limit */
	size_t max_scan;      /* examine at most this many certificates (0: no cap); over it SM_ETOOBIG:
			       * a public server answers "too broad" instead of spending seconds on one request */
	sm_date today;       /* for the derived 'expired' status */
} sm_filter;

typedef struct sm_cert_list {
	sm_cert **v;
	size_t n;
	size_t total; /* matches before offset/limit */
} sm_cert_list;

/** Certificates matching the filter, in id order (search: serial order). Caller cleans the list. */
int sm_registry_list(sm_registry *r, const sm_filter *f, sm_cert_list *out, sm_err *err);
void sm_cert_list_cleanup(sm_cert_list *l);

/**
 * The verdict for a device from the registry itself (always fresh): the request must fit the scheme
 * (sm_check_req_fits: SM_EINVAL naming the field), then the certificates naming that vendor and
 * model are judged under `p` at `now` (sm_verdict_eval). What the CLI's local check and the server's
 * GET /v1/check both answer. res is the caller's to clean up. SM_ESTORE, SM_ENOMEM.
 */
int sm_registry_check(sm_registry *r, const sm_check_req *q, const sm_policy *p, int64_t now, sm_check_result *res,
		      sm_err *err);

/* ---- homes against the registry (lib/registry_home.c): what `home check` and POST /v1/home/check answer ---- */

/* The context of sm_registry_home_device: the registry and the time of the answers. */
typedef struct sm_registry_home {
	sm_registry *reg;
	int64_t now;
} sm_registry_home;

/**
 * A home's device from the registry, an sm_home_check_fn (ctx: an sm_registry_home): the verdict
 * sm_registry_check gives under `p`, and the certificate's signed status statement (*statement,
 * base64url, caller frees) when it has one; none (NULL) when there is no certificate or its statement
 * is still being produced. Errors of sm_registry_check; SM_ENOMEM.
 */
int sm_registry_home_device(void *ctx, const sm_check_req *q, const sm_policy *p, sm_check_result *res,
			    char **statement, sm_err *err);

/**
 * The evidence of a home's check: the log's size and root read together (res->have_checkpoint,
 * checkpoint_size, checkpoint_root) and the signed checkpoint note of exactly that state
 * (checkpoint_text) when the log key can be loaded, else none. SM_ESTORE when the log cannot be read.
 */
int sm_registry_home_evidence(sm_registry *r, sm_home_result *res, sm_err *err);

/**
 * Check a home against the registry at `now` (sm_home_check under `p` or, when NULL, the home's own
 * policy or the default; labels verified with the registry's trust), with its evidence. The answers
 * reflect exactly the checkpoint given: when the log grew while the devices were read, the check is
 * made again (three times at most, then the result has no checkpoint rather than one it may not
 * reflect). *out is the caller's to clean up. Errors of sm_home_check and sm_registry_home_evidence.
 */
int sm_registry_home_check(sm_registry *r, const sm_home *h, const sm_policy *p, int64_t now, sm_home_result *out,
			   sm_err *err);

/* Bulk issue, all in one write transaction (all or nothing). */
typedef void (*sm_progress_fn)(void *ctx, uint64_t done, uint64_t total);
/**
 * Issue every draft, in order, in one transaction. Drafts must be validated already
 * (sm_cert_validate); they receive their ids. A duplicate — the same vendor, a shared model and
 * the same registration date as an existing certificate or an earlier draft — is refused with
 * SM_EEXIST naming the draft's index in err->line (1-based) and nothing is written. A draft's own
 * id, status and history are not read.
 */
int sm_registry_issue_many(sm_registry *r, sm_cert **drafts, size_t n, int64_t now, sm_progress_fn progress,
			   void *pctx, sm_err *err);
/**
 * As sm_registry_issue_many, for a migration (sm_import), which moves certificates in with their ids
 * and history:
 * - a draft whose `id` is set keeps it: it must be an id of this registry's form whose year is the
 *   registration's and whose serial no certificate holds (SM_EINVAL, SM_EEXIST naming "id"); the
 *   serial counter moves past the highest such serial first, so the ids it makes never meet them;
 * - a draft's `history` is written after the issue as signed events whose effective time (the
 *   history's time) is the entry's `at`, recorded at `now`: an ISSUE first entry dates the issue;
 *   FW_REVOKE revokes the draft's `revoked` versions; SUSPEND, REVOKE and REINSTATE with the entry's
 *   reason. A transition the fold refuses is SM_ESTATE. The draft's `status` is not read.
 */
int sm_registry_import_many(sm_registry *r, sm_cert **drafts, size_t n, int64_t now, sm_progress_fn progress,
			    void *pctx, sm_err *err);

/* ---- the log ---- */

int sm_registry_log_size(sm_registry *r, uint64_t *size, sm_err *err);
/** The root of the first `size` entries. */
int sm_registry_log_root(sm_registry *r, uint64_t size, uint8_t root[SM_HASH_LEN], sm_err *err);
/** A C2SP checkpoint of the current log signed by the log key (caller frees). */
int sm_registry_checkpoint(sm_registry *r, char **text, sm_err *err);
/** The note verifier key of the log key (caller frees). */
int sm_registry_log_vkey(sm_registry *r, char **vkey, sm_err *err);

typedef int (*sm_entry_fn)(void *ctx, uint64_t index, const uint8_t *p, size_t n);
/** Call `fn` for entries [start, start+count) that exist. */
int sm_registry_entries(sm_registry *r, uint64_t start, uint64_t count, sm_entry_fn fn, void *ctx, sm_err *err);
int sm_registry_inclusion(sm_registry *r, uint64_t index, uint64_t size, uint8_t proof[][SM_HASH_LEN], size_t *n,
			  sm_err *err);
int sm_registry_consistency(sm_registry *r, uint64_t size1, uint64_t size2, uint8_t proof[][SM_HASH_LEN], size_t *n,
			    sm_err *err);

/* ---- health: what a long-running process shows about its registry (lib/verify.c, lib/store.c) ---- */

/* A copy of the registry's health; the messages are for operators. */
typedef struct sm_health {
	bool full;    /* the last write failed for lack of space (disk or map); cleared by the next write that
		       * commits, or by sm_registry_space_recheck finding room */
	bool suspect; /* an integrity check failed: every write of this handle is refused (SM_ESUSPECT) until the
		       * registry is reopened, after an operator's repair */
	char full_msg[SM_ERR_MSG_MAX];
	char suspect_msg[SM_ERR_MSG_MAX];
} sm_health;

/** The registry's health now. Thread-safe. */
void sm_registry_health(sm_registry *r, sm_health *h);
/** When full: whether there is room again (8 MiB on the disk, or in the map); then it is no longer full. Cheap. */
bool sm_registry_space_recheck(sm_registry *r);
/** Mark the registry suspect, naming what failed (the first reason is kept); its writes are refused from now on. */
void sm_registry_set_suspect(sm_registry *r, const char *why);

typedef struct sm_quick_report {
	uint64_t entries;      /* entries hashed: the whole log */
	uint64_t checkpoint;   /* the size of the saved checkpoint compared (0: none saved) */
	uint64_t spot_checked; /* certificates whose stored state was compared with the fold of their events */
} sm_quick_report;

/**
 * The quick check a server makes at start (about 1 s for 100,000 certificates; docs/operations.md): the
 * Merkle root recomputed from every entry's bytes against the stored tree's root, and against the saved
 * checkpoint (the file `checkpoint` in the registry, sm_registry_checkpoint_save) when there is one, whose
 * signature must verify under a log key of the trust bundle; then up to 64 certificates spread over the
 * registry (the first, the last, and evenly between) whose stored state must equal the fold of the entries
 * their history names. On a mismatch the registry is marked suspect (sm_registry_set_suspect) and
 * SM_EVERIFY names it; SM_ESTORE when the store cannot be read; SM_ENOMEM.
 */
int sm_registry_quick_check(sm_registry *r, sm_quick_report *rep, sm_err *err);

/**
 * Sign a checkpoint of the log as it is now with the log key and keep it as the file `checkpoint` in the
 * registry (written to a temporary file, synced and renamed; mode 0644: it is public): the witness the next
 * quick check compares the store with. SM_EKEY, SM_EIO, SM_EFULL (no space for the file), SM_ESTORE.
 */
int sm_registry_checkpoint_save(sm_registry *r, sm_err *err);

typedef struct sm_verify_report {
	uint64_t entries;
	uint64_t certificates;
	uint64_t bundles;
	uint64_t policies; /* published policies in force */
	uint8_t root[SM_HASH_LEN];
} sm_verify_report;

/**
 * Re-check everything from scratch: every entry's signature with the key its trust bundle named
 * valid at the event's time, the chain of bundles, every state transition, the folded state of
 * every certificate against the stored one, the indexes, and the Merkle tree (root recomputed
 * from the entries against the stored nodes). SM_EVERIFY naming the first problem; the registry is then
 * marked suspect (sm_registry_set_suspect).
 */
int sm_registry_verify(sm_registry *r, sm_progress_fn progress, void *pctx, sm_verify_report *rep, sm_err *err);

/* ---- status statements and snapshots (lib/registry_status.c; their format is status.h) ---- */

/**
 * The current signed statement of a certificate (caller frees). SM_ENOTFOUND when the id is
 * unknown or its statement is still being produced (after a bulk import, until the next refresh).
 */
int sm_registry_statement(sm_registry *r, const char *id, uint8_t **cose, size_t *n, sm_err *err);

/**
 * Produce every statement that is due at `now` (new, changed, or near its next_update), at most
 * `max` of them (0: all), in write transactions of up to 1,000. *done (may be NULL) receives how
 * many were signed.
 */
int sm_registry_refresh(sm_registry *r, int64_t now, size_t max, size_t *done, sm_err *err);

/**
 * Build the snapshot of the whole registry into the file `path` (written to a temporary file and
 * renamed, mode 0644), version = the previous snapshot's version + 1 (kept in the store). The
 * payload is built in a file and signed from a read-only mapping of it, so building a snapshot of
 * a million certificates does not hold it in anonymous memory.
 */
int sm_registry_snapshot(sm_registry *r, const char *path, int64_t now, uint64_t *version, sm_err *err);

/* ---- published policies (lib/registry_policy.c) ---- */

/*
 * The policies the scheme owner publishes for housing companies, one per name. Every publish and
 * withdrawal is a log entry (content type 65005, schema/payloads.cddl `policy-event`) signed by the
 * issuer key, appended in the same write transaction as the stored policy changes: the log proves
 * which policy (its exact JSON) was published when, and `log verify` folds the entries and compares
 * them with what is stored (schema/store.md, "Published policies").
 */
#define SM_POLICY_PUBLISHED_MAX 10000

/**
 * Publish `p` under its name at `now`; a policy published under that name before is replaced. The
 * policy must fit the scheme (sm_policy_fits: SM_EINVAL naming the field) and its name, which also names
 * a URL path segment, holds no '/' (SM_EINVAL, field "name"). SM_ETOOBIG past SM_POLICY_PUBLISHED_MAX
 * names; SM_ESTORE (read-only, or the store failed), SM_EKEY (the issuer key), SM_EFULL, SM_ENOMEM.
 */
int sm_registry_policy_publish(sm_registry *r, const sm_policy *p, int64_t now, sm_err *err);

/**
 * Withdraw the published policy `name` at `now` (a signed withdrawal entry; the policy is no longer
 * served). SM_ENOTFOUND naming it when none is published under that name; as publish otherwise.
 */
int sm_registry_policy_withdraw(sm_registry *r, const char *name, int64_t now, sm_err *err);

/**
 * The published policy `name` into *out; *published_at (Unix seconds) and *log_index (the entry that
 * published it: `log proof`, GET /v1/log/proof/inclusion) when not NULL. SM_ENOTFOUND naming it;
 * SM_ESTORE when the stored policy is damaged.
 */
int sm_registry_policy_get(sm_registry *r, const char *name, sm_policy *out, int64_t *published_at,
			   uint64_t *log_index, sm_err *err);

/* Called for each published policy (borrowed for the call); non-zero stops the walk and is returned. */
typedef int (*sm_policy_fn)(void *ctx, const sm_policy *p, int64_t published_at, uint64_t log_index);
/** Every published policy, in name order (bytes). SM_ESTORE, SM_ENOMEM, or what `fn` returned. */
int sm_registry_policy_list(sm_registry *r, sm_policy_fn fn, void *ctx, sm_err *err);

/* ---- keys and tokens ---- */

/**
 * Rotate the key of `role`: a new key file and a new trust bundle signed by the current root, made
 * current for this handle at once (and for other processes' handles at their next signing or reload).
 * For issuer, status and log keys the old key's validity ends now and the new key's begins; events
 * signed before stay verifiable with the old key. For the root, the bundle names the new root and
 * carries its signature too (field 8): a verifier holding the old bundle accepts the change
 * because both roots signed it; the next bundles are signed by the new root.
 */
int sm_registry_rotate(sm_registry *r, int role, int64_t now, sm_err *err);

enum sm_token_role { SM_TOKEN_ISSUER = 1, SM_TOKEN_AUDITOR = 2 };
const char *sm_token_role_name(int role);
int sm_token_role_from_name(const char *s);
#define SM_TOKEN_NAME_MAX 64

/** Create a bearer token; *token (caller frees) is shown once, only its SHA-256 is stored. */
int sm_registry_token_create(sm_registry *r, const char *name, int role, int64_t now, char **token, sm_err *err);
/** Check a bearer token: 0 and its role and name, SM_ENOTFOUND for an unknown one. Constant-time compare. */
int sm_registry_token_check(sm_registry *r, const char *token, int *role, char name[SM_TOKEN_NAME_MAX + 1]);
int sm_registry_token_revoke(sm_registry *r, const char *name, sm_err *err);
typedef int (*sm_token_fn)(void *ctx, const char *name, int role, int64_t created);
int sm_registry_token_list(sm_registry *r, sm_token_fn fn, void *ctx, sm_err *err);

#endif
