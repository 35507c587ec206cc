/* SPDX-License-Identifier: Apache-2.0 */
/* Query strings: strict parsing against the names a route accepts (no evhtp: fuzzed on its own). */
#ifndef STARMARK_QUERY_H
#define STARMARK_QUERY_H

#include <stddef.h>

#define SM_QUERY_MAX_PARAMS 16
#define SM_QUERY_MAX_VALUE 1024

typedef struct sm_param {
	const char *name; /* one of the allowed names (borrowed) */
	char *value;      /* decoded, NUL-terminated, valid UTF-8 without control characters */
} sm_param;

typedef struct sm_query_err {
	const char *code; /* "unknown_parameter", "duplicate_parameter", "parameter_too_long", "bad_parameter" */
	char field[64];
	char msg[256];
} sm_query_err;

/**
 * Parse a raw query string: '&'-separated name=value pairs, percent-decoded, '+' as a space.
 * Refused, naming the parameter: a name not in `allowed` (NULL-terminated), a repeated name, more
 * than SM_QUERY_MAX_PARAMS, a value over SM_QUERY_MAX_VALUE bytes decoded, a malformed %-escape, a
 * NUL, invalid UTF-8 or a control character. Empty pairs ("a=1&&b=2") are skipped.
 * 0 with params[0..*n) (free them with sm_query_free), or -1 with `e` filled and nothing to free.
 */
int sm_query_parse(const char *raw, const char *const *allowed, sm_param *params, size_t *n, sm_query_err *e);
void sm_query_free(sm_param *params, size_t n);

#endif
