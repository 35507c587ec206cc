/* SPDX-License-Identifier: Apache-2.0 */
/* Backup and restore of a registry directory: a consistent, private, verified copy. */
#ifndef STARMARK_BACKUP_H
#define STARMARK_BACKUP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "starmark/anchor.h"
#include "starmark/error.h"
#include "starmark/keys.h"
#include "starmark/merkle.h"
#include "starmark/registry.h"

/*
 * What a registry directory holds, and what a backup carries (docs/operations.md says it for operators):
 * - data.mdb: the LMDB store — the log (every event and every trust bundle version), the state,
 *   the indexes, the bearer tokens (hashed), the published policies, the last snapshot version.
 *   Carried, as a compacted copy of one committed transaction (sm_store_copy).
 * - keys/<role>-<kid hex>.key: the private keys (mode 0600, PKCS#8, maybe passphrase-encrypted).
 *   Carried: every key file that a trust bundle of the copied store names (current and retired,
 *   every root the chain had), byte for byte, so an encrypted key stays encrypted. A file the store
 *   does not name (a key a rotation was writing while the copy was taken) is left out.
 * - lock.mdb (LMDB's reader table) and snapshot.cose (starmarkd rebuilds it at start from the store):
 *   not carried.
 * The trust bundles live in the log, so the store and the keys are the whole registry.
 *
 * A backup is a directory (mode 0700) of those files (0600) and manifest.json: for each file its
 * name, size and SHA-256, and the copied log's size and root, the trust bundle version, the
 * starmark version and the time. It is written into a temporary directory beside DEST and renamed
 * into place, so DEST is a whole backup or nothing.
 */

#define SM_BACKUP_MANIFEST "manifest.json"
#define SM_BACKUP_FORMAT 1
/* Caps on what a manifest may list: files, and the size of a key file. */
#define SM_BACKUP_FILES_MAX 4096
#define SM_BACKUP_KEY_MAX (64u * 1024u)

/* How a current key of the copy was found. */
enum sm_backup_key_state {
	SM_BACKUP_KEY_CHECKED = 1,   /* opened: it is the key the trust bundle names */
	SM_BACKUP_KEY_ENCRYPTED = 2, /* passphrase-protected and no passphrase given: present, its bytes
				      * as the manifest says, not opened */
	SM_BACKUP_KEY_OFFLINE = 3,   /* the root key is not in the registry (kept offline, as it should be) */
};

/** "checked", "encrypted", "offline". */
const char *sm_backup_key_state_name(int state);

typedef struct sm_backup_key {
	int state;                /* sm_backup_key_state */
	uint8_t kid[SM_KID_LEN];  /* the current key of the role in the newest bundle */
} sm_backup_key;

typedef struct sm_backup_info {
	int64_t created;          /* when the backup was taken (Unix seconds) */
	char version[32];         /* the starmark that took it */
	uint64_t log_size;        /* the copied log */
	uint8_t log_root[SM_HASH_LEN];
	uint64_t trust_version;   /* the copy's newest trust bundle */
	size_t files;             /* in the manifest */
	uint64_t bytes;           /* their sizes, added */
	unsigned attempts;        /* backup: copies taken (more than one when a key file was not there yet) */
	sm_backup_key keys[4];    /* the current key of each role (index: sm_role) */
	bool verified;            /* sm_registry_verify ran on the copy and passed */
	sm_verify_report verify;  /* its report, when verified */
} sm_backup_info;

typedef struct sm_backup_opts {
	const char *passphrase;   /* NULL: passphrase-protected keys are found present, not opened */
	const sm_anchor *anchor;  /* restore: NULL, or the copy's trust chain must follow from it */
	bool verify;              /* backup: also verify the copy (restore always does) */
	int64_t now;              /* backup: the time recorded */
	sm_progress_fn progress;  /* verification progress (may be NULL) */
	void *pctx;
} sm_backup_opts;

/**
 * Back up the registry in `dbdir` (which may be in use by starmarkd and other writers) to `dest`,
 * which must not exist. The store is copied first, then the key files its trust bundles name: a
 * rotation writes its key file before it commits the bundle naming it, so every key the copy names
 * is on disk by then. Each current issuer, status and log key of the copy must be there and (when
 * not encrypted, or with the passphrase) be the key the bundle names; when one is missing the copy
 * is taken again (three times at most). The root key may be absent (kept offline). `info` (may be
 * NULL) receives what was copied. Nothing is left at `dest` or beside it on failure.
 * SM_EEXIST naming `dest` when it exists; SM_ENOTFOUND (no registry), SM_ESTORE; SM_EKEY naming a
 * current key file missing or not matching its bundle; SM_EVERIFY (o->verify); SM_EIO naming the path.
 */
int sm_backup_create(const char *dbdir, const char *dest, const sm_backup_opts *o, sm_backup_info *info,
		     sm_err *err);

/**
 * Read the manifest of the backup `src` and check that every file it lists is there with its size
 * and SHA-256 (and nothing is read beyond it). *info (may be NULL) receives the manifest's facts.
 * SM_EINVAL naming the file or field when the backup is damaged or not one (no manifest, a name
 * outside the backup's layout, a size or digest that differs), SM_ETOOBIG past the caps, SM_EIO.
 */
int sm_backup_check(const char *src, sm_backup_info *info, sm_err *err);

/**
 * Restore the backup `src` as a new registry `dbdir`, which must not exist or be an empty directory
 * (SM_EEXIST naming it otherwise, before anything is read). The manifest is read; the files it lists
 * are copied into a temporary directory beside `dbdir`, each checked against its size and SHA-256
 * as it is copied (SM_EINVAL naming it); the copy is verified in full (sm_registry_verify: SM_EVERIFY
 * naming the first problem), its log must be the manifest's size and root (SM_EINVAL), its current
 * issuer, status and log keys must be there and be the keys of the bundle (SM_EKEY; an encrypted key
 * without o->passphrase is only found present), its chain must follow from o->anchor when given
 * (SM_EVERIFY). Only then is the directory renamed to `dbdir`. On any failure nothing is left at
 * `dbdir` (an empty directory given stays as it was) or beside it. *info (may be NULL) receives the facts.
 */
int sm_backup_restore(const char *src, const char *dbdir, const sm_backup_opts *o, sm_backup_info *info,
		      sm_err *err);

#endif
