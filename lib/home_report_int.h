/* SPDX-License-Identifier: Apache-2.0 */
/* Private: what the hand-over report's two formats share (lib/home_report.c, lib/home_report_pdf.c). */
#ifndef STARMARK_HOME_REPORT_INT_H
#define STARMARK_HOME_REPORT_INT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "starmark/home.h"

#define DASH "\xe2\x80\x94" /* U+2014 EM DASH: not certified, not given */

/* The message ids of the catalogues (lib/home_report.c: words_ja, words_en). */
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

/** The length of the valid UTF-8 sequence at s (n bytes left), or 0 when there is none. */
size_t sm_home_u8len(const char *s, size_t n);
/** A catalogue entry with {0}..{9} replaced by args (a NULL or missing one by "—"), cut to cap bytes. */
void sm_home_fill(char *out, size_t cap, const char *tmpl, const char *const *args, size_t nargs);

#endif
