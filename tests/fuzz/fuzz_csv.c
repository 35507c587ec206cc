/* SPDX-License-Identifier: Apache-2.0 */
/* libFuzzer target for the CSV reader: reads every record and checks its invariants. */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "starmark/csv.h"

/* Independent of lib/csv.c: is p[0..n) well-formed UTF-8 (RFC 3629)? */
static int utf8_ok(const unsigned char *p, size_t n)
{
	size_t i = 0;
	while (i < n) {
		uint32_t cp;
		size_t len;
		if (p[i] < 0x80) {
			i++;
			continue;
		} else if ((p[i] & 0xE0) == 0xC0) {
			cp = p[i] & 0x1F;
			len = 2;
		} else if ((p[i] & 0xF0) == 0xE0) {
			cp = p[i] & 0x0F;
			len = 3;
		} else if ((p[i] & 0xF8) == 0xF0) {
			cp = p[i] & 0x07;
			len = 4;
		} else {
			return 0;
		}
		if (n - i < len)
			return 0;
		for (size_t k = 1; k < len; k++) {
			if ((p[i + k] & 0xC0) != 0x80)
				return 0;
			cp = (cp << 6) | (p[i + k] & 0x3F);
		}
		static const uint32_t min[] = { 0, 0, 0x80, 0x800, 0x10000 };
		if (cp < min[len] || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF))
			return 0;
		i += len;
	}
	return 1;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	sm_csv *r = NULL;
	size_t last_line = 0, calls = 0;

	if (sm_csv_new((const char *)data, size, &r) != 0)
		__builtin_trap();
	for (;;) {
		const char **fields = NULL;
		const size_t *lens = NULL;
		size_t nfields = 0, line = 0;
		sm_err err;

		sm_err_clear(&err);
		int rc = sm_csv_next(r, &fields, &lens, &nfields, &line, &err);
		/* every call consumes at least one byte, so this many calls means a loop */
		if (++calls > size + 2)
			__builtin_trap();
		if (rc == 0)
			break;
		if (line < 1 || line < last_line)
			__builtin_trap();
		last_line = line;
		if (rc < 0) {
			if ((rc != SM_EINVAL && rc != SM_ETOOBIG) || err.code != rc || err.line != line ||
			    strncmp(err.msg, "line ", 5) != 0 || nfields != 0)
				__builtin_trap();
			continue;
		}
		if (rc != 1 || nfields < 1 || nfields > SM_CSV_MAX_FIELDS)
			__builtin_trap();
		size_t total = 0;
		for (size_t i = 0; i < nfields; i++) {
			if (lens[i] > SM_CSV_MAX_FIELD || strlen(fields[i]) != lens[i] ||
			    !utf8_ok((const unsigned char *)fields[i], lens[i]))
				__builtin_trap();
			total += lens[i];
		}
		/* decoded bytes plus commas never exceed the raw record */
		if (total + nfields - 1 > SM_CSV_MAX_RECORD)
			__builtin_trap();
	}
	/* the end is sticky */
	const char **f = NULL;
	const size_t *l = NULL;
	size_t nf = 0;
	if (sm_csv_next(r, &f, &l, &nf, NULL, NULL) != 0)
		__builtin_trap();
	sm_csv_free(r);
	return 0;
}
