/* SPDX-License-Identifier: Apache-2.0 */
/* JSON views of records, verdicts and trust (the shapes of ../shared/INTERFACE.md and schema/). */
#ifndef STARMARK_JSON_H
#define STARMARK_JSON_H

#include <jansson.h>

#include "starmark/error.h"
#include "starmark/merkle.h"
#include "starmark/record.h"
#include "starmark/trust.h"
#include "starmark/verdict.h"

/* Request bodies are refused above this size and nesting. */
#define SM_JSON_MAX_BODY (1024u * 1024u)
#define SM_JSON_MAX_DEPTH 8

/**
 * The `show --json` shape of a certificate, status as of `today`. New reference. A certificate read
 * from a statement or snapshot (facts_only) leaves out scheme_ref, requirements, url and history.
 */
json_t *sm_cert_to_json(const sm_cert *c, sm_date today);

/**
 * A certificate draft from the issue body shape (INTERFACE.md: vendor{code,name}, product,
 * models[], level, firmware{covered}, category, registered, expires, support_end, requirements,
 * url, scheme_ref). With `allow_export_keys`, the keys `export --format jsonl` adds are read into
 * the draft for an import to check and replay: `id` (as given, unchecked), `status` (its
 * sm_status_from_name value: 3 for expired), `history` (sm_history_from_json) and
 * `firmware.revoked`; `scheme` is ignored (the registry's own is assigned). Unknown keys and wrong
 * types are refused naming the key. The draft is not yet validated.
 */
int sm_cert_from_json(const json_t *j, bool allow_export_keys, sm_cert **out, sm_err *err);

/**
 * The `history` array of a certificate's view (`[{"event", "at", "reason", "log_index"}]`) into
 * c->history (c->nhistory entries; c must have none). Event names and times (RFC 3339 UTC) are
 * checked, reasons for type and size. SM_EINVAL naming "history" or "history.at", SM_ENOMEM.
 */
int sm_history_from_json(const json_t *v, sm_cert *c, sm_err *err);

/** True when JSON text nests objects/arrays deeper than `max` (checked before jansson builds anything). */
bool sm_json_too_deep(const char *s, size_t n, int max);

/** Parse a JSON request body strictly: size and depth caps, no duplicate keys, an object. */
int sm_json_parse_body(const char *p, size_t n, json_t **out, sm_err *err);

/**
 * An event from the admin events body (POST /v1/admin/certs/{id}/events) for certificate `id`:
 * {"event": amend|firmware-revoke|suspend|revoke|reinstate|renew, and only the fields that event
 * takes: "reason", "versions" (firmware-revoke), "add_models", "add_firmware", "support_end", "url"
 * (amend), "expires", "requirements" (renew)}. The body caps of sm_json_parse_body apply (size,
 * nesting, duplicate keys, an object). *out (caller frees with sm_event_free) is NULL on failure.
 * SM_EINVAL or SM_ETOOBIG naming the field; SM_ENOMEM. The event is not yet validated (sm_event_validate).
 */
int sm_event_from_json(const char *text, size_t n, const char *id, sm_event **out, sm_err *err);

/** `check --json` shape: verdict, reasons, certificate (or null), statement (null here), produced_at, next_update. */
json_t *sm_check_to_json(const sm_check_result *r, sm_date today, int64_t produced_at, int64_t next_update);

/**
 * A policy in the policy document's shape (INTERFACE.md, schema/ "policy"), every field present:
 * name, default_level, levels {category: level}, offline_grace_hours, unknown ("deny"|"allow"),
 * support_warn_days, deny_after_support_end. sm_policy_parse reads it back to the same policy.
 * New reference; NULL when out of memory.
 */
json_t *sm_policy_to_json(const sm_policy *p);

/**
 * A published policy as `policy list --json` and GET /v1/policies list it: the policy's fields
 * (sm_policy_to_json), then "published_at" (RFC 3339) and "log_index" (the log entry that published it).
 * New reference; NULL on out of memory.
 */
json_t *sm_policy_published_to_json(const sm_policy *p, int64_t published_at, uint64_t log_index);

/** `trust show --json` shape. */
json_t *sm_trust_to_json(const sm_trust *t, const char *log_vkey);

/**
 * A Merkle proof (`n` hashes, as sm_registry_inclusion and sm_registry_consistency give them) as a
 * JSON array of base64 strings, the shape of `log proof --json` and /v1/log/proof/inclusion and
 * /v1/log/proof/consistency. New reference; NULL when out of memory.
 */
json_t *sm_proof_to_json(const uint8_t proof[][SM_HASH_LEN], size_t n);

/** RFC 3339 UTC text of a Unix time into `out` (at least 21 bytes). */
void sm_time_format(int64_t t, char out[21]);

#endif
