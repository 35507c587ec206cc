/* SPDX-License-Identifier: Apache-2.0 */
/* Private: what the hand-over report's two formats share (lib/home_report.c, lib/home_report_pdf.c). */
#ifndef STARMARK_HOME_REPORT_INT_H
#define STARMARK_HOME_REPORT_INT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "starmark/home.h"

#define DASH "\xe2\x80\x94" /* U+2014 EM DASH: not certified, not given */
#define KV_MAX 6            /* entries of a key-value block at most */
#define STARS_MAX (3 * SM_LEVELS_MAX + 1)

/* The message ids of the catalogues (lib/home_report.c: words_ja, words_en). */
/* clang-format off */
enum msg {
	M_TITLE, M_HOME_ID, M_HOME_NAME, M_CHECKED_AT, M_VERDICT, M_LEVEL, M_LEVEL_VALUE, M_LEVEL_NONE,
	M_SUPPORT_EARLIEST, M_DESIGN,
	M_POLICY, M_POLICY_NAME, M_DEFAULT_LEVEL, M_CATEGORY_LEVELS, M_LIST_SEP, M_GRACE, M_GRACE_VALUE, M_UNKNOWN,
	M_UNKNOWN_DENY, M_UNKNOWN_ALLOW, M_SUPPORT_WARN, M_SUPPORT_WARN_VALUE, M_AFTER_SUPPORT_DENY, M_AFTER_SUPPORT_WARN,
	M_DEVICES, M_COL_DEVICE, M_COL_ROOM, M_COL_CATEGORY, M_COL_VENDOR, M_COL_PRODUCT, M_COL_MODEL, M_COL_FIRMWARE,
	M_COL_LEVEL, M_COL_VERDICT, M_COL_SUPPORT,
	M_V_ALLOW, M_V_WARN, M_V_DENY, M_V_UNKNOWN, M_STATE_MISSING, M_STATE_UNPLANNED, M_STATE_REMOVED, M_SOON,
	M_ACTIONS, M_NONE, M_MISSING, M_UNPLANNED,
	M_EVIDENCE, M_CP_SIZE, M_CP_ROOT, M_CP_NOTE, M_EVIDENCE_TEXT, M_NO_CHECKPOINT,
	A_INSTALL, A_APPROVE_OR_REMOVE, A_COUNTERFEIT, A_UPDATE_FW, A_UPDATE_FW_COVERED, A_REPLACE, A_RECHECK, A_PLAN,
	/* a verdict's reasons, by code: {0} the reason's own (English) words, {1} certificate, {2} date,
	   {3} certified level, {4} required level, {5} firmware, {6} covered firmware */
	R_REVOKED, R_SUSPENDED, R_EXPIRED, R_LEVEL_BELOW, R_FW_NOT_COVERED, R_FW_REVOKED, R_SUPPORT_ENDED,
	R_SUPPORT_ENDING, R_CERTIFIED, R_UNKNOWN_MODEL, R_STALE, R_PAST_NEXT, R_NO_DATA, R_SNAPSHOT_EXPIRED,
	R_NO_STATEMENT, R_FAILS_CLOSED, R_UNKNOWN_ALLOWED, R_LABEL_NOT_GENUINE, R_LABEL_MISMATCH, R_OTHER,
	M_COUNT
};
/* clang-format on */

/* A report being made: its input and its language. */
typedef struct sm_home_rep {
	const sm_home *h;
	const sm_policy *p;
	const sm_home_result *r;
	const char *const *w;
	const char *lang;
	int levels; /* stars: of this many */
	int64_t now;
	sm_date today;
} sm_home_rep;

/* A key and its value, as the summary, the policy and the evidence show them. */
typedef struct sm_home_kv {
	int key;
	char value[4096]; /* the policy's levels: up to 64 categories */
	char note[256];   /* words after the value (the home's level: what it means) */
	int verdict;      /* >= 0: the value is a verdict in words */
	bool big;         /* the home's level */
} sm_home_kv;

/* The device table's columns. */
enum { C_DEVICE, C_ROOM, C_CATEGORY, C_VENDOR, C_PRODUCT, C_MODEL, C_FIRMWARE, C_LEVEL, C_VERDICT, C_SUPPORT, NCOL };
extern const int sm_home_col_words[NCOL]; /* their headings (message ids) */

/* A device's row: its cells as text ("\n" breaks a line), the reason under the verdict. */
typedef struct sm_home_row {
	char cell[NCOL][SM_NAME_MAX + 64];
	char reason[SM_ERR_MSG_MAX + 300]; /* under the verdict */
	int verdict;
} sm_home_row;

/** The report of (h, p, r) under o (see sm_home_report); `dflt` holds the default policy when it is the one. SM_EINVAL.
 */
int sm_home_rep_init(sm_home_rep *R, const sm_home *h, const sm_policy *p, const sm_home_result *r,
                     const sm_home_report_opts *o, sm_policy *dflt, sm_err *err);
/** The summary (home, date, verdict, level, support), the policy, the evidence (size, root; *rc SM_ENOMEM):
 * into out[KV_MAX]; return how many. */
size_t sm_home_rep_summary(const sm_home_rep *R, sm_home_kv *out);
size_t sm_home_rep_policy(const sm_home_rep *R, sm_home_kv *out);
size_t sm_home_rep_evidence(const sm_home_rep *R, sm_home_kv *out, int *rc);
void sm_home_rep_row(const sm_home_rep *R, const sm_home_device_result *d, sm_home_row *out);
/** "id — VENDOR MODEL / room": a missing or unplanned device in its list. */
void sm_home_rep_line(const sm_home_device *dev, char *out, size_t cap);
/** The actions of r in a new array (caller frees *out); SM_ENOMEM. */
int sm_home_rep_actions(const sm_home_result *r, sm_home_action **out, size_t *n);
/** The length of the valid UTF-8 sequence at s (n bytes left), or 0 when there is none. */
size_t sm_home_u8len(const char *s, size_t n);
/** A catalogue entry with {0}..{9} replaced by args (a NULL or missing one by "—"), cut to cap bytes. */
void sm_home_fill(char *out, size_t cap, const char *tmpl, const char *const *args, size_t nargs);

#endif
