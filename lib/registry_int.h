/* SPDX-License-Identifier: Apache-2.0 */
/* Private parts of the registry shared by its modules: registry.c, registry_status.c, verify.c, transfer.c, label.c. */
#ifndef STARMARK_REGISTRY_INT_H
#define STARMARK_REGISTRY_INT_H

#include <pthread.h>
#include <stdatomic.h>
#include <string.h>

#include "starmark/anchor.h"
#include "starmark/keys.h"
#include "starmark/registry.h"
#include "store.h"

/*
 * A key or id read from the store, fit for a message: a store's bytes are data, and a damaged key must not
 * reach a terminal or a log raw; control bytes and any byte past ASCII become \xHH (sm_log_escape). Returns
 * buf, which must hold SM_SHOWN_ID bytes.
 */
#define SM_SHOWN_ID (4 * SM_ID_MAX + 8)
static inline const char *sm_shown_id(char buf[SM_SHOWN_ID], const char *id)
{
	return sm_log_escape(buf, SM_SHOWN_ID, id, strlen(id));
}

/*
 * What one trust bundle of the registry brings: the bundle, its signed bytes, every earlier version
 * (the chain a verifier follows), and the private keys it names, loaded on first use. A rotation by
 * this or another process makes a new generation current; the older ones stay until the registry is
 * closed, so what another thread borrowed from them (sm_registry_trust, a key) stays valid.
 */
struct trust_gen {
	sm_trust trust;
	uint8_t *signed_bytes;
	size_t signed_len;
	uint64_t index;        /* its index in the log: another process's rotation changes the store's */
	sm_trust_chain chain;  /* versions 1 .. trust.version */
	sm_key *keys[4];       /* by role, loaded on first use (under the registry's lock) */
	struct trust_gen *older;
};

struct sm_registry {
	char *dir;
	char *passphrase;
	bool write;
	sm_store *store;
	_Atomic(struct trust_gen *) gen; /* the current bundle */
	pthread_mutex_t lock;            /* making a generation current, loading keys */
	bool defer_statements;    /* bulk issue: queue statements for the refresher instead of signing them */
};

/** The current trust bundle (an atomic read: another thread may make a newer one current). */
static inline const sm_trust *sm_registry_trust_now(sm_registry *r)
{
	return &atomic_load(&r->gen)->trust;
}

/**
 * Make the store's current trust bundle this handle's, as seen in `t`: when keys were rotated (by
 * another process, or another handle) since it was loaded, the new bundle and its keys are loaded
 * now, so nothing is signed with a retired key (the append-only log would keep the mistake). Every
 * signing path calls it inside its transaction, before it takes a key. SM_ESTORE, SM_ENOMEM.
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

/**
 * Fold a draft's issue and the history it brings (sm_registry_issue_many) without writing anything: the
 * import's check of a row before its transaction. SM_ESTATE / SM_EINVAL naming why, SM_ENOMEM.
 */
int sm_registry_check_history(const sm_cert *draft, int64_t now, sm_err *err);

/** SM_EEXIST (naming the certificate) when a certificate has the draft's vendor, one of its models and its registration date. */
int sm_registry_find_duplicate(sm_txn *t, const sm_cert *draft, sm_err *err);

/*
 * A policy event, the payload of a log entry of content type 65005 (schema/payloads.cddl, policy-event):
 * a policy published (its JSON as sm_policy_text writes it) or withdrawn, by name, at a time.
 */
enum { SM_POLICY_PUBLISH = 1, SM_POLICY_WITHDRAW = 2 };
typedef struct sm_policy_event {
	int action;
	char name[65];
	int64_t at;
	char *json;      /* publish: the policy (owned, NUL-terminated); NULL for a withdrawal */
	size_t json_len;
} sm_policy_event;

/** The deterministic CBOR of a policy event into b. SM_ENOMEM. */
int sm_policy_event_encode(const sm_policy_event *e, sm_buf *b);
/** Decode strictly (known keys in order, nothing after); *e is the caller's to clean up. SM_EINVAL naming the part. */
int sm_policy_event_decode(const uint8_t *p, size_t n, sm_policy_event *e, sm_err *err);
void sm_policy_event_cleanup(sm_policy_event *e);
/** The policy as it is published and signed: sm_policy_to_json, compact (caller frees). SM_ENOMEM. */
int sm_policy_text(const sm_policy *p, char **out, size_t *n);

#endif
