/* SPDX-License-Identifier: Apache-2.0 */
/* Private parts of the registry shared by its modules: registry.c, registry_status.c, verify.c, transfer.c, label.c. */
#ifndef STARMARK_REGISTRY_INT_H
#define STARMARK_REGISTRY_INT_H

#include "starmark/keys.h"
#include "starmark/registry.h"
#include "store.h"

struct sm_registry {
	char *dir;
	char *passphrase;
	bool write;
	sm_store *store;
	sm_trust *trust;          /* the current bundle */
	uint8_t *trust_signed;    /* its signed bytes */
	uint64_t trust_index;     /* its index in the log: another process's rotation changes the store's */
	size_t trust_signed_len;
	sm_key *keys[4];          /* loaded on first use, by role */
	bool defer_statements;    /* bulk issue: queue statements for the refresher instead of signing them */
};

/**
 * SM_ESTATE when the store's current trust bundle is not the one this handle loaded (keys were
 * rotated by another process): signing now would use a retired key, and the append-only log
 * would keep the mistake. Every signing path calls it inside its transaction.
 */
int sm_registry_trust_fresh(sm_registry *r, sm_txn *t, sm_err *err);

/** A certificate changed in `t`: produce its status statement now, or queue it (bulk). */
int sm_registry_statement_changed(sm_registry *r, sm_txn *t, const sm_cert *c, int64_t now, sm_err *err);

/** The private key of the current `role` key (loaded and checked against the bundle on first use). */
int sm_registry_key(sm_registry *r, int role, const sm_key **out, sm_err *err);

/** Sign `e`, append it, fold it into `old` (NULL for issue) and store the result; in the caller's transaction. */
int sm_registry_append_event(sm_registry *r, sm_txn *t, sm_event *e, const sm_cert *old, sm_cert **out, sm_err *err);

/** Validate a draft for issue: the record's fields (sm_cert_validate) and a registration date not in the future. */
int sm_registry_validate_draft(sm_registry *r, sm_cert *draft, int64_t now, sm_err *err);

/** SM_EEXIST (naming the certificate) when a certificate has the draft's vendor, one of its models and its registration date. */
int sm_registry_find_duplicate(sm_txn *t, const sm_cert *draft, sm_err *err);

#endif
