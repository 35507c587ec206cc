/* SPDX-License-Identifier: Apache-2.0 */
/* Bulk import (CSV, JSON Lines) and export of certificates. */
#ifndef STARMARK_TRANSFER_H
#define STARMARK_TRANSFER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "starmark/error.h"
#include "starmark/registry.h"

enum sm_format { SM_FORMAT_CSV = 1, SM_FORMAT_JSONL = 2 };

/* An import file is refused above this size; a JSON line above SM_JSONL_MAX_LINE bytes. */
#define SM_IMPORT_MAX_SIZE (512u * 1024u * 1024u)
#define SM_JSONL_MAX_LINE (64u * 1024u)
/* How many row errors a report keeps (all are counted). */
#define SM_IMPORT_MAX_ERRORS 1000

typedef struct sm_row_error {
	size_t line;
	char field[SM_ERR_FIELD_MAX];
	char msg[SM_ERR_MSG_MAX];
} sm_row_error;

#define SM_IMPORT_RUNS_MAX 4 /* runs of ids an import report keeps (sm_import_report.runs) */

typedef struct sm_import_report {
	size_t rows;      /* data rows read */
	size_t imported;  /* certificates issued */
	size_t events;    /* log entries written: each certificate's issue and the history it brought */
	size_t bad;       /* rows refused */
	sm_row_error *errors; /* the first SM_IMPORT_MAX_ERRORS of them */
	size_t nerrors;
	size_t warned;    /* cells a spreadsheet would run as formulas, imported as written (CSV) */
	sm_row_error *warnings; /* the first SM_IMPORT_MAX_ERRORS of them */
	size_t nwarnings;
	char first_id[SM_ID_MAX + 1], last_id[SM_ID_MAX + 1]; /* of the first and the last row imported */
	/* The ids imported in row order as runs that "first .. last" names truly: one registration year (ids
	 * are SM-YYYY-NNNNNN) and consecutive serials (one counter for every year; a migration brings its own).
	 * nruns counts them all; runs holds the first SM_IMPORT_RUNS_MAX. */
	struct sm_id_run {
		char first[SM_ID_MAX + 1], last[SM_ID_MAX + 1];
		size_t n;
	} runs[SM_IMPORT_RUNS_MAX];
	size_t nruns;
} sm_import_report;

/**
 * Import certificates from CSV (header row naming the columns of INTERFACE.md, any order) or
 * JSON Lines (one issue body per line). Every row is validated first; every bad row is
 * reported with its line number (malformed rows, invalid fields, duplicates of an existing
 * certificate or of an earlier row). With errors and !skip_bad nothing is imported and
 * SM_EINVAL is returned; otherwise the good rows are signed and appended in one write
 * transaction (all of them or, on a storage failure, none).
 *
 * A migration: the columns (CSV) or keys (JSONL, the `show --json` shape) an export adds are taken
 * too. A row's `id` of this registry's form is kept when unused (refused naming the row otherwise;
 * an id of another form is refused: a scheme's own number is `scheme_ref`), and the serial counter
 * moves past the highest; a row's status (active, suspended, revoked, expired) and revoked firmware
 * are written as signed events dated by the row (status_date, firmware_revoked_date, or the JSONL
 * history's times). CSV cells an export neutralised for spreadsheets ('=...) lose that one
 * apostrophe; cells a spreadsheet would run, not neutralised, are imported and reported in
 * rep->warnings. docs/interface-notes.md, "Migration", says what moves and what does not.
 */
int sm_import(sm_registry *r, enum sm_format fmt, const char *data, size_t n, bool skip_bad, int64_t now,
	      sm_progress_fn progress, void *pctx, sm_import_report *rep, sm_err *err);
void sm_import_report_cleanup(sm_import_report *rep);

/* Output sink: return 0, or a negative SM_E* code to stop. */
typedef int (*sm_write_fn)(void *ctx, const void *p, size_t n);

/**
 * Export every certificate as CSV (the import columns, then id, status, firmware_revoked and the
 * migration's columns; a cell a spreadsheet would run is written with a leading apostrophe) or
 * JSON Lines (`show --json`).
 */
int sm_export(sm_registry *r, enum sm_format fmt, sm_date today, sm_write_fn write, void *wctx, sm_err *err);
/**
 * Export what a listing with filter `f` selects (vendor, model, level, status, q, as sm_registry_list
 * takes them, in its order: id order, search results in serial order), every match (f's offset and
 * limit are not used; its max_scan is), in exactly the lines sm_export writes; `f` NULL or filtering
 * nothing: every certificate, as sm_export. Errors: sm_registry_list's (SM_ETOOBIG over max_scan,
 * naming "q" for a search), SM_ESTORE for a damaged state, and whatever `write` returns.
 */
int sm_export_list(sm_registry *r, enum sm_format fmt, const sm_filter *f, sm_date today, sm_write_fn write, void *wctx,
		   sm_err *err);

#endif
