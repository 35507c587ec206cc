/* SPDX-License-Identifier: Apache-2.0 */
/* An RFC 4180 CSV reader with caps and line numbers for error messages. */
#ifndef STARMARK_CSV_H
#define STARMARK_CSV_H

#include <stddef.h>
#include <stdio.h>

#include "starmark/error.h"

#define SM_CSV_MAX_FIELDS 64       /* per record */
#define SM_CSV_MAX_FIELD 8192      /* bytes per field */
#define SM_CSV_MAX_RECORD 65536    /* bytes per record (all its lines) */

/* A reader over bytes in memory. Opaque. */
typedef struct sm_csv sm_csv;

/** A reader over `n` bytes at `data` (borrowed; must outlive the reader). Skips a UTF-8 BOM. */
int sm_csv_new(const char *data, size_t n, sm_csv **out);
void sm_csv_free(sm_csv *r);

/**
 * Read the next record. On success *nfields fields are at fields[i] (NUL-terminated, lengths
 * in lens[i]; valid until the next call) and *line is the 1-based line the record starts on.
 * Returns 1 for a record, 0 at the end, or SM_EINVAL / SM_ETOOBIG with `err` naming the line
 * (and column) at fault: an unterminated quote, a quote inside an unquoted field, text after
 * a closing quote, a NUL byte, invalid UTF-8, a record over the caps. Accepts CRLF or LF line
 * ends; an empty line is skipped. After an error the reader resumes at the next line, so every
 * bad row of a file can be reported.
 */
int sm_csv_next(sm_csv *r, const char ***fields, const size_t **lens, size_t *nfields, size_t *line, sm_err *err);

#endif
