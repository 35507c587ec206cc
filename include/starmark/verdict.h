/* SPDX-License-Identifier: Apache-2.0 */
/* Verdicts: may this model with this firmware join a home under this policy? And policies. */
#ifndef STARMARK_VERDICT_H
#define STARMARK_VERDICT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "starmark/error.h"
#include "starmark/record.h"

enum sm_verdict { SM_ALLOW = 0, SM_WARN = 1, SM_DENY = 2, SM_UNKNOWN = 3 };
/** "allow", "warn", "deny", "unknown". */
const char *sm_verdict_name(int v);

#define SM_POLICY_MAX_SIZE (64u * 1024u)
#define SM_POLICY_MAX_CATEGORIES 64

/*
 * A policy, as a housing company or platform publishes it (JSON, schema/policy.schema.json):
 *   {"name": "...", "default_level": 1, "levels": {"lock": 3, "water-heater": 3, ...},
 *    "offline_grace_hours": 72, "unknown": "deny"|"allow", "support_warn_days": 180,
 *    "deny_after_support_end": true}
 */
typedef struct sm_policy {
	char name[65];
	int default_level;
	struct {
		char category[SM_CATEGORY_MAX + 1];
		int level;
	} cats[SM_POLICY_MAX_CATEGORIES];
	size_t ncats;
	int64_t offline_grace;   /* seconds past next_update that still give warn, not unknown */
	bool unknown_fails_closed; /* "unknown": "deny"; false: no usable data passes with a warning */
	int support_warn_days;
	bool deny_after_support_end;
} sm_policy;

/** The policy used when none is given: level 1 for everything, 72 h grace, unknown fails closed. */
void sm_policy_default(sm_policy *p);
/**
 * Parse a policy document (strict: unknown keys, wrong types, bad categories and levels refused)
 * into *out; the text need not be NUL-terminated. Levels are checked against 1..SM_LEVELS_MAX here;
 * sm_policy_fits checks them against a scheme. SM_EINVAL with the field named ("name",
 * "default_level", "levels.lock", "offline_grace_hours", "unknown", ...), SM_ETOOBIG over
 * SM_POLICY_MAX_SIZE bytes or SM_POLICY_MAX_CATEGORIES categories.
 */
int sm_policy_parse(const char *json, size_t n, sm_policy *out, sm_err *err);
/**
 * The stricter of two policies, field by field (a floor on a floor: the higher level for every category
 * either names and for the default, the shorter grace, unknown fails closed if either says so, the
 * longer support warning, denial after support end if either asks). Where a home carries its housing
 * company's policy and a caller gives another, the caller's can raise it, never lower it.
 */
void sm_policy_strictest(const sm_policy *a, const sm_policy *b, sm_policy *out);
/** The level the policy requires for a category (NULL: the default level). */
int sm_policy_level(const sm_policy *p, const char *category);

typedef struct sm_check_req {
	const char *vendor;
	const char *model;
	const char *firmware;
	const char *category; /* optional: the device's category; its policy level counts as well as the certificate's */
	int level;            /* optional (0): a required level; it raises the policy's level, never lowers it */
} sm_check_req;

#define SM_REASONS_MAX 8
typedef struct sm_reason {
	char code[32];
	char message[256];
} sm_reason;

typedef struct sm_check_result {
	int verdict;
	sm_reason reasons[SM_REASONS_MAX];
	size_t nreasons;
	sm_cert *cert;          /* the certificate the verdict is about (owned), or NULL */
	int required_level;
} sm_check_result;

/** Validate a request's fields (vendor code, model, firmware version, category, level). */
int sm_check_req_validate(const sm_check_req *q, sm_err *err);

/**
 * Whether policy `p` fits a scheme of `levels` levels (the trust bundle's `levels`): a policy that
 * asks a level the scheme does not have would deny every device. Returns 0, or SM_EINVAL with the
 * first field out of the scheme's range named ("default_level", "levels.lock") and the range in
 * the message, or with the field "levels" when `levels` is not 1..SM_LEVELS_MAX.
 */
int sm_policy_fits(const sm_policy *p, int levels, sm_err *err);

/**
 * Whether a check fits a scheme of `levels` levels, before it is answered: the request's level
 * (when given; field "level") and the policy `p` (may be NULL) as sm_policy_fits checks it.
 * Returns 0 or SM_EINVAL naming the field.
 */
int sm_check_req_fits(const sm_check_req *q, const sm_policy *p, int levels, sm_err *err);

/**
 * The verdict for `q` among the certificates naming that vendor and model (`certs`, borrowed),
 * on data good until `next_update` (0 when the data is the registry itself, always fresh), at time
 * `now`. The best certificate wins (allow over warn over deny); its copy goes to res->cert. Reasons
 * carry machine codes and words.
 *
 * The policy is a floor: each certificate must reach the strictest of the policy's level for its
 * recorded category (the default level when it records none), the policy's level for q->category
 * when given, and q->level when given; "level_below_policy" says which of them demanded it, and
 * res->required_level is that level for the certificate reported (or, with none, for the request).
 * Data past next_update by more than the policy's offline grace answers as sm_verdict_unknown does
 * with the reason "stale_data"; past next_update within the grace an allow becomes a warn
 * ("data_past_next_update"). Returns 0, or SM_ENOMEM.
 */
int sm_verdict_eval(const sm_check_req *q, const sm_policy *p, sm_cert *const *certs, size_t n, int64_t next_update,
		    int64_t now, sm_check_result *res);

/**
 * The policy's answer when no usable data answers `q`: registry data past the offline grace, an
 * expired snapshot, an answer without a signed statement, a cache that is missing or does not
 * verify... `code` (a machine code such as "stale_data", "snapshot_expired", "no_statement",
 * "no_data") and `msg` (the words for the user) say why; both are copied (cut to fit).
 * Under a policy that fails closed ("unknown": "deny") the verdict is SM_UNKNOWN with the reasons
 * `code` and "fails_closed"; under "unknown": "allow" it is SM_WARN, a pass with a warning, with the
 * reasons `code` and "unknown_allowed". res->cert is NULL and res->required_level the level the
 * request would need (see sm_verdict_eval). *res is overwritten whole (clean up what it held first).
 * Returns 0, or SM_EINVAL when `code` is NULL or empty or `msg` is NULL.
 */
int sm_verdict_unknown(const sm_check_req *q, const sm_policy *p, const char *code, const char *msg,
		       sm_check_result *res);

/**
 * Whether data good until `next_update` (a statement's or a snapshot's; 0: the registry itself, always
 * current) is no longer usable at `now` under `p`: past next_update by more than the policy's offline
 * grace. Within the grace it is usable, with a warning (sm_verdict_eval's warn, a label's
 * past_next_update). The one rule of freshness that verdicts and label verdicts share.
 */
bool sm_policy_stale(const sm_policy *p, int64_t next_update, int64_t now);

/** Free the certificate a result owns (res->cert becomes NULL; a second call is harmless). */
void sm_check_result_cleanup(sm_check_result *res);

#endif
