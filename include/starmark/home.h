/* SPDX-License-Identifier: Apache-2.0 */
/* Homes: a housing company's policy over every device of a home — design, on-site check, hand-over, retrofits. */
#ifndef STARMARK_HOME_H
#define STARMARK_HOME_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include "starmark/buf.h"
#include "starmark/error.h"
#include "starmark/merkle.h"
#include "starmark/record.h"
#include "starmark/trust.h"
#include "starmark/version.h"
#include "starmark/verdict.h"

/*
 * A home document (schema/starmark.schema.json, `home`) serves the whole life of a house (CCDS
 * guideline, chapter 4): the design (devices `planned`), the installer's record (`installed`: found
 * on site), and the home after hand-over (what is there now; a device taken out keeps its entry with
 * installed false).
 *   {"home": "ID", "name": "...", "policy": {...} (optional), "devices": [{"id", "room", "category",
 *    "vendor", "model", "firmware", "label" (optional: the scanned QR text), "planned", "installed"}]}
 */
#define SM_HOME_MAX_SIZE (1024u * 1024u)
#define SM_HOME_MAX_DEVICES 1000
#define SM_HOME_MAX_DEPTH 6
#define SM_HOME_ID_MAX 64
#define SM_HOME_TEXT_MAX 200 /* name, room */
#define SM_HOME_LABEL_MAX 1024

typedef struct sm_home_device {
	char id[SM_HOME_ID_MAX + 1];
	char room[SM_HOME_TEXT_MAX + 1];         /* "" when not given */
	char category[SM_CATEGORY_MAX + 1];      /* "" when not given */
	char vendor[SM_VENDOR_MAX + 1];
	char model[SM_MODEL_MAX + 1];
	char firmware[SM_VERSION_MAX + 1];
	char *label;                             /* the scanned QR text, or NULL */
	bool planned, installed;
} sm_home_device;

typedef struct sm_home {
	char id[SM_HOME_ID_MAX + 1];
	char name[SM_HOME_TEXT_MAX + 1];
	bool has_policy;
	sm_policy policy;
	sm_home_device *devices;
	size_t ndevices;
} sm_home;

/**
 * Parse a home document: strict (unknown keys, wrong types, a repeated device id, caps of
 * SM_HOME_MAX_SIZE bytes, SM_HOME_MAX_DEVICES devices, nesting) — SM_EINVAL / SM_ETOOBIG with a message
 * naming the device and field (`devices[3] (lock-1): firmware: ...`), field set to e.g.
 * "devices[3].firmware" (the home's policy: "policy.levels.lock"). Caller frees *out with sm_home_free.
 */
int sm_home_parse(const char *json, size_t n, sm_home **out, sm_err *err);
void sm_home_free(sm_home *h);

/**
 * The policy a home is checked under, into *out: `given` (e.g. --policy FILE) when not NULL, else the
 * home's own, else the default (sm_policy_default). It must fit a scheme of `levels` levels
 * (sm_policy_fits): SM_EINVAL naming the field, "policy.levels.lock" when it is the home's own.
 */
int sm_home_policy(const sm_home *h, const sm_policy *given, int levels, sm_policy *out, sm_err *err);

/**
 * Add a retrofit to a home: SPEC is `VENDOR:MODEL@FIRMWARE[/CATEGORY][#ID][=ROOM]`, e.g.
 * `RINNAI:MC-301V@1.5/water-heater#kitchen-remote=kitchen`; the device is installed and not planned
 * (a retrofit after hand-over); its id defaults to "retrofit-N". SM_EINVAL naming what is wrong,
 * SM_EEXIST when the id is taken, SM_ETOOBIG past SM_HOME_MAX_DEVICES.
 */
int sm_home_add(sm_home *h, const char *spec, sm_err *err);

/* A retrofit's parts (NULL or "" for an optional one left out). */
typedef struct sm_home_retrofit {
	const char *vendor, *model, *firmware; /* required */
	const char *category, *id, *room;      /* optional */
} sm_home_retrofit;

/** sm_home_add from parts (any text a model may hold: POST /v1/home/check?vendor=&model=&firmware=). */
int sm_home_add_retrofit(sm_home *h, const sm_home_retrofit *rf, sm_err *err);

/* ---- checking a home ---- */

/* What a device's scanned label says, compared with its entry and its certificate. */
enum sm_home_label {
	SM_HOME_LABEL_NONE = 0,        /* no label scanned */
	SM_HOME_LABEL_OK = 1,          /* genuine, and its claims are the device's */
	SM_HOME_LABEL_NOT_GENUINE = 2, /* unreadable or forged: counterfeit suspicion */
	SM_HOME_LABEL_MISMATCH = 3,    /* genuine, but of another vendor, model or certificate */
	SM_HOME_LABEL_UNCHECKED = 4,   /* no trust bundle to check it with */
};

typedef struct sm_home_device_result {
	const sm_home_device *dev;   /* borrowed from the home */
	sm_check_result res;         /* the device's verdict (owned; res.cert the certificate or NULL) */
	char *statement;             /* the signed status statement (base64url), or NULL */
	int label;                   /* enum sm_home_label */
	char label_why[256];
	bool update_firmware;        /* firmware below the covered range, or revoked: update before hand-over */
	bool support_soon;           /* support ends within the policy's warning window */
} sm_home_device_result;

typedef struct sm_home_result {
	int verdict;                 /* any deny: deny; else any unknown: unknown; else any warn: warn */
	int level;                   /* lowest level among the devices counted (a certificate that holds for the
				      * device counts its level even below the policy); 0 when one has none */
	bool counted_planned;        /* no planned device installed yet (a design): planned devices and retrofits count */
	sm_date support_end;         /* earliest support end among them; SM_DATE_NONE when none has one */
	sm_home_device_result *devices;
	size_t ndevices;
	size_t nmissing, nunplanned; /* planned not installed, installed not planned */
	bool have_checkpoint;        /* the log state the answers reflect, as evidence */
	uint64_t checkpoint_size;
	uint8_t checkpoint_root[SM_HASH_LEN];
	char *checkpoint_text;       /* the signed checkpoint, when the source gave one (owned) */
} sm_home_result;

/*
 * Where device verdicts come from: the local registry, a server (signed statements), or a synced
 * snapshot. The callback answers one device exactly as `check` would (under `p`), and gives its
 * signed statement when it has one (*statement, base64url, caller frees; NULL otherwise).
 */
typedef int (*sm_home_check_fn)(void *ctx, const sm_check_req *q, const sm_policy *p, sm_check_result *res,
				char **statement, sm_err *err);

/**
 * Check a home under policy `p` (the home's own when `p` is NULL and it has one, else the default):
 * every device's verdict by `fn`, its label (verified with `trust` when given), the home's level and
 * verdict, missing and unplanned devices, firmware to update, the support outlook at `now`.
 * *out is the caller's to clean up (sm_home_result_cleanup). Errors of `fn` (a device's answer that
 * could not be had at all is SM_EIO etc.), SM_ENOMEM.
 */
int sm_home_check(const sm_home *h, const sm_policy *p, sm_home_check_fn fn, void *ctx, const sm_trust *trust,
		  int64_t now, sm_home_result *out, sm_err *err);
void sm_home_result_cleanup(sm_home_result *r);

/**
 * Whether a device counts for the home's level and verdict: in a design (no planned device installed
 * yet) the planned devices and any retrofit; otherwise what is installed.
 */
bool sm_home_counted(const sm_home_result *r, const sm_home_device *dev);

/**
 * Whether the retrofits — the devices from index `first` on (sm_home_add appends them) — may join the
 * home: each is allowed (or allowed with a warning) under the home's policy. False when there are none.
 */
bool sm_home_may_join(const sm_home_result *r, size_t first);

/*
 * The retrofit question — may these devices join the home, and what becomes of its level — answered one
 * way for `home check --add` and `POST /v1/home/check?vendor=&model=&firmware=`: the home is checked as it is (without its
 * last `added` devices, which sm_home_add appended) for its level, then whole, by `check` (the caller's
 * source: the registry, a server's statements, a snapshot). *out is the whole home's result and
 * *level_before the level without the retrofits. `check`'s own failure is returned as it is.
 */
typedef int (*sm_home_checker)(void *ctx, const sm_home *h, sm_home_result *out, sm_err *err);
int sm_home_check_retrofits(sm_home *h, size_t added, sm_home_checker check, void *ctx, sm_home_result *out,
			    int *level_before, sm_err *err);

/* The retrofits' verdict together, by the home's rule: any deny, else any unknown, else warn or allow. */
int sm_home_retrofit_verdict(const sm_home_result *r, size_t first);

/*
 * Add the `retrofit` member to a home check's document `doc` (sm_home_result_to_json): {"devices": [ids],
 * "may_join", "verdict", "level_before", "level_after"} for the devices from `first` on. 0 or SM_ENOMEM.
 */
int sm_home_retrofit_json(json_t *doc, const sm_home *h, const sm_home_result *r, size_t first, int level_before);

/** The `home check --json` / POST /v1/home/check document (schema `home_check`). */
json_t *sm_home_result_to_json(const sm_home *h, const sm_home_result *r, sm_date today);

/* ---- what must be done before hand-over (or, after it, now) ---- */

enum sm_home_action_code {
	SM_HOME_ACT_INSTALL = 0,         /* "install": in the design, not found on site */
	SM_HOME_ACT_APPROVE_OR_REMOVE,   /* "approve_or_remove": installed, not in the design */
	SM_HOME_ACT_REPLACE_COUNTERFEIT, /* "replace_counterfeit": its label is not genuine or not its own */
	SM_HOME_ACT_UPDATE_FIRMWARE,     /* "update_firmware": its firmware is not covered or is revoked */
	SM_HOME_ACT_REPLACE,             /* "replace": denied for another reason */
	SM_HOME_ACT_RECHECK,             /* "recheck": no usable data */
	SM_HOME_ACT_PLAN_REPLACEMENT,    /* "plan_replacement": the vendor's support ends soon */
};

/* A device gives at most this many actions: out of the design, what to do with it, its support. */
#define SM_HOME_ACTIONS_PER_DEVICE 3

typedef struct sm_home_action {
	const sm_home_device_result *d; /* borrowed from the result */
	int code;                       /* enum sm_home_action_code */
} sm_home_action;

/**
 * The actions a checked home asks for, in device order: the `actions` of sm_home_result_to_json and
 * of the hand-over report. Fills out[0 .. min(n, cap)) (out may be NULL when cap is 0) and returns n,
 * the number there are (at most SM_HOME_ACTIONS_PER_DEVICE * r->ndevices).
 */
size_t sm_home_actions(const sm_home_result *r, sm_home_action *out, size_t cap);

/** The machine name of an action code ("install", ...; "" for a code that is not one). */
const char *sm_home_action_name(int code);

/* ---- the hand-over report (lib/home_report.c) ---- */

/**
 * An action in words, for a person (lib/home_report.c's message catalogue): `lang` "ja" (also when
 * NULL) or "en" (the words of sm_home_result_to_json's `message`), into `out` (cap bytes, cut at a
 * character boundary). SM_EINVAL for another language or code.
 */
int sm_home_action_text(const sm_home_action *a, const char *lang, char *out, size_t cap);

typedef struct sm_home_report_opts {
	const char *lang; /* "ja" (also when NULL) or "en" */
	int levels;       /* the scheme's levels (its trust bundle's `levels`): stars are "★★☆" for 2 of 3;
			     0 when not known: 3, or the highest level the policy or a certificate names */
	int64_t now;      /* the time of the check, Unix seconds */
} sm_home_report_opts;

/**
 * The hand-over report of home `h` checked under policy `p` (NULL: the home's own, else the default,
 * as sm_home_check chose) with result `r` (its devices borrowed from `h`): the home, the policy, the
 * date of the check, one row per device (room, category, vendor, product, model, firmware, level in
 * stars, the verdict in words and its first reason, support end), the home's level, the actions, the
 * missing and unplanned devices, and the log checkpoint the check was made against as evidence.
 * Words in `o->lang` (o may be NULL: Japanese, levels inferred, now 0).
 *
 * sm_home_report_html appends a self-contained HTML document (no script, no outside resource, every
 * value escaped, print CSS for A4) to `out`; sm_home_report_pdf appends an A4 PDF (Noto Sans CJK JP;
 * the table's header on every page, pages numbered "n / N"). Both: SM_EINVAL for a language other
 * than ja or en or levels outside 0..SM_LEVELS_MAX (field "lang", "levels"), SM_ENOMEM, SM_ETOOBIG
 * past out's cap, SM_EIO when cairo fails; on failure out may hold part of a document.
 *
 * sm_home_report writes the one its `path` ends in (".html" or ".pdf", any case) as that file, all or
 * nothing (sm_file_write_atomic, mode 0644): SM_EINVAL naming the path when it ends in neither
 * (field "report"), SM_EIO naming it when it cannot be written (no file, nor temporary file, is left),
 * and the errors above.
 */
int sm_home_report_html(const sm_home *h, const sm_policy *p, const sm_home_result *r, const sm_home_report_opts *o,
			sm_buf *out, sm_err *err);
int sm_home_report_pdf(const sm_home *h, const sm_policy *p, const sm_home_result *r, const sm_home_report_opts *o,
		       sm_buf *out, sm_err *err);
int sm_home_report(const sm_home *h, const sm_policy *p, const sm_home_result *r, const sm_home_report_opts *o,
		   const char *path, sm_err *err);

#endif
