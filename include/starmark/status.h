/* SPDX-License-Identifier: Apache-2.0 */
/* Status statements and snapshots, the format: answers signed by the status key that verify themselves.
 * The registry produces them (registry.h: sm_registry_statement, sm_registry_refresh, sm_registry_snapshot). */
#ifndef STARMARK_STATUS_H
#define STARMARK_STATUS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "starmark/buf.h"
#include "starmark/error.h"
#include "starmark/merkle.h"
#include "starmark/record.h"
#include "starmark/trust.h"

/*
 * A status statement (COSE_Sign1, content type SM_COSE_STATUS, by the status key) carries the
 * facts a verdict needs for one certificate, when it was produced, until when it is good (like
 * OCSP's thisUpdate/nextUpdate), and the log size and root it reflects (schema/payloads.cddl).
 * The registry produces statements when a certificate changes (in the same transaction as the event)
 * and refreshes them before next_update (sm_registry_refresh); answering a query never signs.
 *
 * A snapshot (SM_COSE_SNAPSHOT, by the status key) holds every certificate's state, a version that
 * only grows, produced_at, next_update, expires, and the log size and root it reflects. Gateways
 * keep the newest they have seen, refuse an older one (rollback) or an expired one (freeze).
 */

#define SM_STATEMENT_MAX (64u * 1024u)
#define SM_SNAPSHOT_MAX (1024u * 1024u * 1024u)

typedef struct sm_statement {
	sm_cert *cert;          /* the facts (id, scheme, level, status, vendor, models, firmware, revoked, dates, category) */
	int64_t produced_at;
	int64_t next_update;
	uint64_t log_size;
	uint8_t log_root[SM_HASH_LEN];
} sm_statement;

void sm_statement_cleanup(sm_statement *s);
/** The payload of a statement. */
int sm_statement_encode(const sm_statement *s, sm_buf *out);
int sm_statement_decode(const uint8_t *p, size_t n, sm_statement *out, sm_err *err);
/**
 * Verify a signed statement against a trust bundle: content type, a status key of the bundle valid
 * at produced_at, the signature. Freshness is the caller's (a verdict compares next_update with
 * the time). SM_EVERIFY (not genuine) or SM_EINVAL (unreadable).
 */
int sm_statement_verify(const uint8_t *cose, size_t n, const sm_trust *trust, sm_statement *out, sm_err *err);

/* Timing of statements and snapshots (seconds). */
typedef struct sm_status_timing {
	int64_t statement_validity; /* next_update - produced_at; default 24 h */
	int64_t refresh_before;     /* refresh when this little validity is left; default 6 h */
	int64_t snapshot_validity;  /* snapshot next_update - produced_at; default 1 h */
	int64_t snapshot_lifetime;  /* snapshot expires - produced_at: past it a gateway must not use it; default 7 d */
} sm_status_timing;

void sm_status_timing_default(sm_status_timing *t);

typedef struct sm_snapshot_info {
	uint64_t version;
	int64_t produced_at, next_update, expires;
	uint64_t log_size;
	uint8_t log_root[SM_HASH_LEN];
	char scheme[SM_SCHEME_MAX + 1];
	uint64_t count;        /* certificates in it */
} sm_snapshot_info;

/**
 * Append the head of a snapshot payload to `out`: fields 1-7 from `h` and the head of field 8, an array
 * of h->count certificates, whose facts follow, each appended by sm_snapshot_cert_encode.
 */
int sm_snapshot_head_encode(const sm_snapshot_info *h, sm_buf *out);
/** Append one certificate's facts, as snapshots (and statements) carry them, to `out`. */
int sm_snapshot_cert_encode(const sm_cert *c, sm_buf *out);

/**
 * Verify a snapshot (bytes, e.g. a read-only mapping of the file) against a trust bundle and read
 * its header. With `fn`, call it for every certificate in it (return non-zero to stop).
 */
typedef int (*sm_snapshot_cert_fn)(void *ctx, sm_cert *c); /* takes ownership of c */
int sm_snapshot_verify(const uint8_t *cose, size_t n, const sm_trust *trust, sm_snapshot_info *info,
		       sm_snapshot_cert_fn fn, void *ctx, sm_err *err);

#endif
