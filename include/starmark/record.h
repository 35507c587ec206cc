/* SPDX-License-Identifier: Apache-2.0 */
/* Certification records, their lifecycle events, validation, and the fold of events into state. */
#ifndef STARMARK_RECORD_H
#define STARMARK_RECORD_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "starmark/buf.h"
#include "starmark/error.h"

/* Field caps (bytes), per ../shared/INTERFACE.md. */
#define SM_ID_MAX 31
#define SM_SCHEME_MAX 32
#define SM_VENDOR_MAX 16
#define SM_NAME_MAX 200       /* vendor name, product name */
#define SM_MODEL_MAX 64
#define SM_MODELS_MAX 64      /* model numbers per certificate */
#define SM_CATEGORY_MAX 32
#define SM_REQUIREMENTS_MAX 32
#define SM_URL_MAX 512
#define SM_SCHEME_REF_MAX 64  /* a scheme's own registration number */
#define SM_REASON_MAX 500
#define SM_REVOKED_MAX 256    /* revoked firmware versions per certificate */
#define SM_HISTORY_MAX 4096   /* events per certificate */
#define SM_LEVELS_MAX 9

/* A calendar date as days since 1970-01-01; SM_DATE_NONE when unset. */
typedef int32_t sm_date;
#define SM_DATE_NONE INT32_MIN
/* A Unix time that is not set. */
#define SM_TIME_NONE INT64_MIN

/**
 * Parse "YYYY-MM-DD" (a real calendar date, years 1970..9999). With `allow_month`, "YYYY-MM"
 * is accepted too and means the last day of that month (support periods are published so).
 * SM_EINVAL naming `field` and the value.
 */
int sm_date_parse(const char *s, bool allow_month, const char *field, sm_date *out, sm_err *err);
/** Write "YYYY-MM-DD" into `out` (at least 11 bytes). */
void sm_date_format(sm_date d, char out[11]);
/** The UTC date of a Unix time. */
sm_date sm_date_from_time(int64_t t);

/* Stored status; `expired` is derived from the expiry date and the time of asking. */
enum sm_status { SM_STATUS_ACTIVE = 0, SM_STATUS_SUSPENDED = 1, SM_STATUS_REVOKED = 2 };

enum sm_event_type {
	SM_EV_ISSUE = 1,
	SM_EV_AMEND = 2,
	SM_EV_FW_REVOKE = 3,
	SM_EV_SUSPEND = 4,
	SM_EV_REVOKE = 5,
	SM_EV_REINSTATE = 6,
	SM_EV_RENEW = 7,
};

/** "issue", "amend", "firmware-revoke", ...; NULL for an unknown type. */
const char *sm_event_name(int type);
/** The type for a name, or 0. */
int sm_event_from_name(const char *name);

/* One line of a certificate's history. */
typedef struct sm_history {
	int type;          /* enum sm_event_type */
	int64_t at;        /* Unix time of the event */
	char *reason;      /* may be NULL */
	uint64_t index;    /* the event's index in the log */
} sm_history;

/*
 * A certificate: the state folded from its events. All strings are owned (heap) and valid
 * UTF-8; optional ones are NULL when absent. sm_cert_free releases everything.
 */
typedef struct sm_cert {
	char id[SM_ID_MAX + 1];
	char scheme[SM_SCHEME_MAX + 1];
	int level;
	char vendor[SM_VENDOR_MAX + 1];
	char *vendor_name;
	char *product;
	char **models;
	size_t nmodels;
	char *category;      /* optional */
	char *firmware;      /* canonical coverage spec (version.h) */
	char **revoked;      /* revoked firmware versions */
	size_t nrevoked;
	sm_date registered;
	sm_date expires;     /* optional */
	sm_date support_end; /* optional */
	char *requirements;  /* optional */
	char *url;           /* optional */
	char *scheme_ref;    /* optional: the scheme's own registration number (printed on labels and lists
	                      * before the registry knew the certificate); searchable, not an id */
	int status;          /* enum sm_status */
	sm_history *history;
	size_t nhistory;
	bool facts_only;     /* read from a status statement or a snapshot, which carry the facts a verdict needs
	                      * and not scheme_ref, requirements, url or history: those are unknown, not empty */
} sm_cert;

sm_cert *sm_cert_new(void);
void sm_cert_free(sm_cert *c);
/** A deep copy; NULL on OOM. */
sm_cert *sm_cert_dup(const sm_cert *c);

/** True when the certificate is past its expiry on `today`. */
bool sm_cert_expired(const sm_cert *c, sm_date today);
/** "active", "suspended", "revoked" or "expired" (revoked and suspended win over expired). */
const char *sm_cert_status_name(const sm_cert *c, sm_date today);
/** Parse a status name for filters ("active", ..., "expired"); -1 when unknown. */
int sm_status_from_name(const char *s);

/*
 * An event as a scheme owner asks for it. For SM_EV_ISSUE, `cert` holds the new record (id,
 * status and history are assigned by the registry). Other types use the fields they need.
 * Owned strings, like sm_cert.
 */
typedef struct sm_event {
	int type;
	char id[SM_ID_MAX + 1];
	int64_t at;             /* when the event was recorded (the signing key must be valid then) */
	int64_t effective;      /* when it took effect, when that is earlier (history an import moves in):
	                         * the history shows this time; SM_TIME_NONE otherwise */
	char *reason;
	sm_cert *cert;          /* issue */
	char **models;          /* amend: models to add */
	size_t nmodels;
	char *firmware;         /* amend: coverage to add */
	char **versions;        /* firmware-revoke */
	size_t nversions;
	sm_date expires;        /* renew */
	sm_date support_end;    /* amend */
	char *requirements;     /* renew */
	char *url;              /* amend */
} sm_event;

sm_event *sm_event_new(int type);
void sm_event_free(sm_event *e);

/* Field validators: SM_EINVAL/SM_ETOOBIG with `err` naming the field and the value. */
/** A certificate id as the registry makes them: "SM-", the year, "-", 6 to 9 digits. SM_EINVAL naming "id". */
int sm_check_id(const char *id, sm_err *err);
int sm_check_vendor(const char *v, sm_err *err);
int sm_check_model(const char *m, const char *field, sm_err *err);
int sm_check_text(const char *s, size_t max, const char *field, sm_err *err);
int sm_check_category(const char *s, sm_err *err);
int sm_check_requirements(const char *s, sm_err *err);
int sm_check_url(const char *s, sm_err *err);
/** A scheme's registration number: printable UTF-8, 1..SM_SCHEME_REF_MAX bytes, no edge spaces. */
int sm_check_scheme_ref(const char *s, sm_err *err);
/** True when `s` (of `n` bytes) is valid UTF-8 without control characters (tab excluded too). */
bool sm_utf8_printable(const char *s, size_t n);

/**
 * Validate a new record before issue: every field per INTERFACE.md, level in 1..levels,
 * registered <= expires <= support... (expires after registered), models unique.
 * The firmware spec is re-written in canonical form.
 */
int sm_cert_validate(sm_cert *c, int levels, sm_err *err);

/**
 * Validate an event's own fields (not against a state): reasons present where needed, versions
 * valid, dates real, an effective time (when set) not negative and not after the recording time.
 */
int sm_event_validate(const sm_event *e, sm_err *err);

/**
 * Fold `e` (stored at log index `index`) into `state`: checks that the transition is allowed
 * and applies it. A revoked certificate is final. Only an active one can be suspended, only a
 * suspended one reinstated. A suspended one can still be amended, have firmware revoked and be
 * renewed (the scheme owner corrects a record while it is under review); an expired one can
 * be renewed and suspended. Renew moves the expiry forward and into the future. Revoked
 * firmware versions compare as versions ("1.00" is "1.0"). For SM_EV_ISSUE, `state` must be
 * a fresh sm_cert_new() and receives a copy of e->cert. SM_ESTATE naming why; on failure
 * `state` is unchanged.
 */
int sm_cert_apply(sm_cert *state, const sm_event *e, uint64_t index, sm_err *err);

/*
 * CBOR encodings (CDDL in schema/payloads.cddl): the event payload that is signed into the
 * log, and the stored state. Decoders are strict (unknown keys, wrong types and caps refused).
 */
int sm_event_encode(const sm_event *e, sm_buf *out);
int sm_event_decode(const uint8_t *p, size_t n, sm_event **out, sm_err *err);
int sm_cert_encode(const sm_cert *c, sm_buf *out);
int sm_cert_decode(const uint8_t *p, size_t n, sm_cert **out, sm_err *err);

#endif
