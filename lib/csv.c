/* SPDX-License-Identifier: Apache-2.0 */
/* An RFC 4180 CSV reader over bytes in memory: caps, line numbers, strict UTF-8, per-line recovery. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "starmark/csv.h"

/*
 * Counting rules, so that "exactly at the cap" is well defined:
 * - a field's size is its decoded bytes (quotes removed, "" counted as one byte);
 * - a record's size is its raw input bytes from its first byte up to, not including, the line
 *   end that closes it (quotes, commas and line ends inside quoted fields count);
 * - lines are counted by LF bytes; a column counts UTF-8 characters from the start of its line.
 */

struct sm_csv {
	const unsigned char *data;
	size_t n;
	size_t pos;        /* next byte to read */
	size_t line;       /* 1-based line of data[pos] */
	size_t line_start; /* offset of the first byte of that line, for columns */

	/* the record being read */
	size_t rec_start; /* offset of its first byte */
	size_t rec_line;
	size_t fstart; /* where the current field starts in text */
	size_t out;    /* bytes used in text */
	size_t nfields;
	size_t fault_line; /* line of the last error, for *line */
	const char *fields[SM_CSV_MAX_FIELDS];
	size_t lens[SM_CSV_MAX_FIELDS];
	/*
	 * Decoded fields, each followed by its NUL. A field never decodes longer than its raw bytes,
	 * so the record cap plus one NUL per field bounds this: no allocation while reading.
	 */
	char text[SM_CSV_MAX_RECORD + SM_CSV_MAX_FIELDS];
};

/* Why a byte sequence is not UTF-8 (negative, so they never collide with a length). */
enum {
	U8_INCOMPLETE = -1,
	U8_CONTINUATION = -2,
	U8_OVERLONG = -3,
	U8_SURROGATE = -4,
	U8_TOO_HIGH = -5,
	U8_BAD_BYTE = -6,
};

static const char *u8_reason(int why)
{
	switch (why) {
	case U8_INCOMPLETE: return "an incomplete multi-byte sequence";
	case U8_CONTINUATION: return "a continuation byte with no lead byte";
	case U8_OVERLONG: return "an overlong encoding";
	case U8_SURROGATE: return "a UTF-16 surrogate";
	case U8_TOO_HIGH: return "a code point above U+10FFFF";
	default: return "a byte that never occurs in UTF-8";
	}
}

/*
 * Length of the well-formed UTF-8 sequence at p (`avail` bytes readable, at least 1), or a
 * negative U8_* reason. Follows Table 3-7 of the Unicode Standard: the second byte's range
 * depends on the lead byte, which is what rules out overlongs, surrogates and > U+10FFFF.
 */
static int utf8_len(const unsigned char *p, size_t avail)
{
	const unsigned char c = p[0];
	unsigned char lo = 0x80, hi = 0xBF; /* the range allowed for the second byte */
	int len;

	if (c < 0x80)
		return 1;
	if (c < 0xC0)
		return U8_CONTINUATION;
	if (c < 0xC2)
		return U8_OVERLONG;
	if (c < 0xE0) {
		len = 2;
	} else if (c < 0xF0) {
		len = 3;
		if (c == 0xE0)
			lo = 0xA0;
		else if (c == 0xED)
			hi = 0x9F;
	} else if (c < 0xF5) {
		len = 4;
		if (c == 0xF0)
			lo = 0x90;
		else if (c == 0xF4)
			hi = 0x8F;
	} else {
		return c < 0xF8 ? U8_TOO_HIGH : U8_BAD_BYTE;
	}
	if (avail < 2 || (p[1] & 0xC0) != 0x80)
		return U8_INCOMPLETE;
	if (p[1] < lo || p[1] > hi) {
		if (c == 0xE0 || c == 0xF0)
			return U8_OVERLONG;
		return c == 0xED ? U8_SURROGATE : U8_TOO_HIGH;
	}
	for (int i = 2; i < len; i++) {
		if ((size_t)i >= avail || (p[i] & 0xC0) != 0x80)
			return U8_INCOMPLETE;
	}
	return len;
}

/* 1-based column of byte `at` on the line starting at `ls`, in characters. */
static size_t column(const sm_csv *r, size_t ls, size_t at)
{
	size_t col = 1;
	for (size_t i = ls; i < at && i < r->n; i++) {
		if ((r->data[i] & 0xC0) != 0x80)
			col++;
	}
	return col;
}

/* Fill `err` for a fault at byte `at` of line `line` (which starts at `ls`); returns `code`. */
__attribute__((format(printf, 7, 8)))
static int fail(sm_csv *r, sm_err *err, int code, size_t line, size_t ls, size_t at, const char *fmt, ...)
{
	char what[SM_ERR_MSG_MAX];
	va_list ap;

	r->fault_line = line;
	if (!err)
		return code;
	va_start(ap, fmt);
	vsnprintf(what, sizeof(what), fmt, ap);
	va_end(ap);
	sm_err_set(err, code, NULL, "line %zu, column %zu: %s", line, column(r, ls, at), what);
	err->line = line;
	return code;
}

/* A fault at the read position. */
__attribute__((format(printf, 4, 5)))
static int fail_here(sm_csv *r, sm_err *err, int code, const char *fmt, ...)
{
	char what[SM_ERR_MSG_MAX];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(what, sizeof(what), fmt, ap);
	va_end(ap);
	return fail(r, err, code, r->line, r->line_start, r->pos, "%s", what);
}

/* Skip to the start of the line after the read position: where reading resumes after an error. */
static void resync(sm_csv *r)
{
	const unsigned char *nl = NULL;

	if (r->pos < r->n)
		nl = memchr(r->data + r->pos, '\n', r->n - r->pos);
	if (!nl) {
		r->pos = r->n;
		return;
	}
	r->pos = (size_t)(nl - r->data) + 1;
	r->line++;
	r->line_start = r->pos;
}

/* Consume a line end of `len` bytes (1 for LF, 2 for CRLF) at the read position. */
static void end_line(sm_csv *r, size_t len)
{
	r->pos += len;
	r->line++;
	r->line_start = r->pos;
}

/* Is there room for `raw` more input bytes in the record and `dec` more bytes in the field? */
static int room(sm_csv *r, size_t raw, size_t dec, sm_err *err)
{
	if (r->pos - r->rec_start + raw > SM_CSV_MAX_RECORD) {
		if (r->line == r->rec_line)
			return fail_here(r, err, SM_ETOOBIG,
					 "the record is longer than %d bytes (the cap per record)",
					 SM_CSV_MAX_RECORD);
		return fail_here(r, err, SM_ETOOBIG,
				 "the record starting on line %zu is longer than %d bytes "
				 "(the cap per record)", r->rec_line, SM_CSV_MAX_RECORD);
	}
	if (r->out - r->fstart + dec > SM_CSV_MAX_FIELD)
		return fail_here(r, err, SM_ETOOBIG, "field %zu is longer than %d bytes (the cap per field)",
				 r->nfields + 1, SM_CSV_MAX_FIELD);
	return 0;
}

/* Copy the character at the read position (not a quote, comma or line end of a plain field). */
static int take_char(sm_csv *r, sm_err *err)
{
	const unsigned char c = r->data[r->pos];
	int len = 1;
	int rc;

	if (c == '\0')
		return fail_here(r, err, SM_EINVAL,
				 "a NUL byte in field %zu; CSV text must not contain NUL bytes",
				 r->nfields + 1);
	if (c >= 0x80) {
		len = utf8_len(r->data + r->pos, r->n - r->pos);
		if (len < 0)
			return fail_here(r, err, SM_EINVAL,
					 "invalid UTF-8 in field %zu: %s (byte 0x%02X); "
					 "save the file as UTF-8", r->nfields + 1, u8_reason(len), c);
	}
	rc = room(r, (size_t)len, (size_t)len, err);
	if (rc)
		return rc;
	memcpy(r->text + r->out, r->data + r->pos, (size_t)len);
	r->out += (size_t)len;
	r->pos += (size_t)len;
	if (c == '\n') {
		r->line++;
		r->line_start = r->pos;
	}
	return 0;
}

/*
 * What follows a field: a comma (consumed; returns 1), a line end (consumed) or the end of the
 * input (returns 0 for both: the record is complete). After a quoted field anything else is
 * an error; after a plain one only a bare CR can be here.
 */
static int field_end(sm_csv *r, sm_err *err, int quoted)
{
	const unsigned char *d = r->data;
	int rc;

	if (r->pos >= r->n)
		return 0;
	if (d[r->pos] == ',') {
		rc = room(r, 1, 0, err);
		if (rc)
			return rc;
		r->pos++;
		return 1;
	}
	if (d[r->pos] == '\n') {
		end_line(r, 1);
		return 0;
	}
	if (d[r->pos] == '\r' && r->pos + 1 < r->n && d[r->pos + 1] == '\n') {
		end_line(r, 2);
		return 0;
	}
	if (!quoted)
		return fail_here(r, err, SM_EINVAL,
				 "a carriage return not followed by a line feed in field %zu; "
				 "end lines with CRLF or LF", r->nfields + 1);
	if (d[r->pos] > 0x20 && d[r->pos] < 0x7f)
		return fail_here(r, err, SM_EINVAL,
				 "text after a closing quote in field %zu ('%c'); only a comma or the end of "
				 "the line may follow a quoted field", r->nfields + 1, d[r->pos]);
	return fail_here(r, err, SM_EINVAL,
			 "text after a closing quote in field %zu (byte 0x%02X); only a comma or the end "
			 "of the line may follow a quoted field", r->nfields + 1, d[r->pos]);
}

/*
 * Copy the run of bytes at the read position that need no decision: ASCII other than the
 * quote, the NUL and the line feed, and, in an unquoted field, other than the comma and any
 * control byte. Stops exactly at a byte that would cross a cap, so room() names that byte.
 */
static int copy_run(sm_csv *r, int quoted, sm_err *err)
{
	const unsigned char *d = r->data;
	size_t i = r->pos;

	if (quoted) {
		while (i < r->n && d[i] < 0x80 && d[i] != '"' && d[i] != '\n' && d[i] != '\0')
			i++;
	} else {
		while (i < r->n && d[i] >= 0x20 && d[i] < 0x80 && d[i] != ',' && d[i] != '"')
			i++;
	}
	size_t k = i - r->pos;
	const size_t rec_left = SM_CSV_MAX_RECORD - (r->pos - r->rec_start);
	const size_t field_left = SM_CSV_MAX_FIELD - (r->out - r->fstart);
	const size_t fit = rec_left < field_left ? rec_left : field_left;
	int rc = 0;

	if (k > fit) {
		k = fit;
		rc = 1;
	}
	memcpy(r->text + r->out, d + r->pos, k);
	r->out += k;
	r->pos += k;
	return rc ? room(r, 1, 1, err) : 0;
}

/* An unquoted field; returns as field_end does. */
static int read_plain(sm_csv *r, sm_err *err)
{
	const unsigned char *d = r->data;
	int rc;

	for (;;) {
		rc = copy_run(r, 0, err);
		if (rc)
			return rc;
		if (r->pos >= r->n)
			break;
		const unsigned char c = d[r->pos];
		if (c == ',' || c == '\n' || c == '\r')
			break;
		if (c == '"')
			return fail_here(r, err, SM_EINVAL,
					 "a quote inside an unquoted field (field %zu); put the whole "
					 "field in quotes and double each quote inside it", r->nfields + 1);
		rc = take_char(r, err);
		if (rc)
			return rc;
	}
	return field_end(r, err, 0);
}

/* A quoted field, the read position on its opening quote; returns as field_end does. */
static int read_quoted(sm_csv *r, sm_err *err)
{
	const unsigned char *d = r->data;
	const size_t qline = r->line, qls = r->line_start, qat = r->pos;
	int rc;

	rc = room(r, 1, 0, err);
	if (rc)
		return rc;
	r->pos++;
	for (;;) {
		rc = copy_run(r, 1, err);
		if (rc)
			return rc;
		if (r->pos >= r->n)
			return fail(r, err, SM_EINVAL, qline, qls, qat,
				    "unterminated quote: field %zu opens a quote that is not closed "
				    "before the end of the input", r->nfields + 1);
		if (d[r->pos] != '"') {
			rc = take_char(r, err);
			if (rc)
				return rc;
			continue;
		}
		if (r->pos + 1 < r->n && d[r->pos + 1] == '"') {
			rc = room(r, 2, 1, err);
			if (rc)
				return rc;
			r->text[r->out++] = '"';
			r->pos += 2;
			continue;
		}
		rc = room(r, 1, 0, err);
		if (rc)
			return rc;
		r->pos++;
		return field_end(r, err, 1);
	}
}

int sm_csv_new(const char *data, size_t n, sm_csv **out)
{
	sm_csv *r = NULL;

	if (!out)
		return SM_EINVAL;
	*out = NULL;
	if (!data && n)
		return SM_EINVAL;
	r = calloc(1, sizeof(*r));
	if (!r)
		return SM_ENOMEM;
	r->data = (const unsigned char *)data;
	r->n = n;
	if (n >= 3 && memcmp(data, "\xEF\xBB\xBF", 3) == 0)
		r->pos = 3;
	r->line = 1;
	r->line_start = r->pos;
	*out = r;
	return 0;
}

void sm_csv_free(sm_csv *r)
{
	free(r);
}

/* Skip empty lines (LF or CRLF alone) at the read position. */
static void skip_empty_lines(sm_csv *r)
{
	const unsigned char *d = r->data;

	while (r->pos < r->n) {
		if (d[r->pos] == '\n')
			end_line(r, 1);
		else if (d[r->pos] == '\r' && r->pos + 1 < r->n && d[r->pos + 1] == '\n')
			end_line(r, 2);
		else
			break;
	}
}

int sm_csv_next(sm_csv *r, const char ***fields, const size_t **lens, size_t *nfields, size_t *line,
		sm_err *err)
{
	int rc = 0;

	if (!r || !fields || !lens || !nfields)
		return sm_err_set(err, SM_EINVAL, NULL, "sm_csv_next: a required argument is NULL");
	*nfields = 0;
	skip_empty_lines(r);
	if (r->pos >= r->n)
		return 0;

	r->rec_start = r->pos;
	r->rec_line = r->line;
	r->out = 0;
	r->nfields = 0;
	for (;;) {
		if (r->nfields == SM_CSV_MAX_FIELDS) {
			rc = fail_here(r, err, SM_ETOOBIG,
				       "the record has more than %d fields (the cap per record)",
				       SM_CSV_MAX_FIELDS);
			goto out;
		}
		r->fstart = r->out;
		if (r->pos < r->n && r->data[r->pos] == '"')
			rc = read_quoted(r, err);
		else
			rc = read_plain(r, err);
		if (rc < 0)
			goto out;
		r->fields[r->nfields] = r->text + r->fstart;
		r->lens[r->nfields] = r->out - r->fstart;
		r->text[r->out++] = '\0';
		r->nfields++;
		if (rc == 0)
			break;
	}
	*fields = r->fields;
	*lens = r->lens;
	*nfields = r->nfields;
	if (line)
		*line = r->rec_line;
	rc = 1;
out:
	if (rc < 0) {
		if (line)
			*line = r->fault_line;
		resync(r);
	}
	return rc;
}
