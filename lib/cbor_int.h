/* SPDX-License-Identifier: Apache-2.0 */
/* Private CBOR helpers: definite-length encoders over sm_buf, and a strict pull reader. */
#ifndef STARMARK_CBOR_INT_H
#define STARMARK_CBOR_INT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "starmark/buf.h"
#include "starmark/error.h"

/* Encoders: minimal-length, definite-length heads (deterministic encoding, RFC 8949 4.2.1
 * for everything starmark writes). Return 0, SM_ENOMEM or SM_ETOOBIG. */
int sm_cbor_put_uint(sm_buf *b, uint64_t v);
int sm_cbor_put_int(sm_buf *b, int64_t v);
int sm_cbor_put_text(sm_buf *b, const char *s, size_t n);
int sm_cbor_put_str(sm_buf *b, const char *s); /* NUL-terminated text */
int sm_cbor_put_bytes(sm_buf *b, const uint8_t *p, size_t n);
int sm_cbor_put_array(sm_buf *b, size_t n);
int sm_cbor_put_map(sm_buf *b, size_t n);
int sm_cbor_put_tag(sm_buf *b, uint64_t tag);
int sm_cbor_put_bool(sm_buf *b, bool v);

enum sm_cbor_type {
	SM_CBOR_UINT = 1,
	SM_CBOR_NEGINT, /* value is -1 - u */
	SM_CBOR_BYTES,
	SM_CBOR_TEXT,
	SM_CBOR_ARRAY,
	SM_CBOR_MAP,
	SM_CBOR_TAG,
	SM_CBOR_BOOL,
	SM_CBOR_NULL,
	SM_CBOR_FLOAT,
	SM_CBOR_OTHER,
};

/* One item head; strings carry their bytes (borrowed from the input). */
typedef struct sm_cbor_item {
	int type;
	uint64_t u;         /* uint/negint value, array/map count, tag number, bool */
	const uint8_t *ptr; /* bytes/text */
	size_t len;
} sm_cbor_item;

/* A reader over borrowed bytes. */
typedef struct sm_cbor_rd {
	const uint8_t *p;
	size_t n;
	size_t off;
} sm_cbor_rd;

void sm_cbor_rd_init(sm_cbor_rd *r, const uint8_t *p, size_t n);
/**
 * Read the next item head. Indefinite lengths, truncation and malformed heads are SM_EINVAL
 * (the message names the byte offset). Text is checked to be valid UTF-8.
 */
int sm_cbor_next(sm_cbor_rd *r, sm_cbor_item *it, sm_err *err);
/** Skip one whole item (iteratively; nesting over `max_depth` is SM_EINVAL). */
int sm_cbor_skip(sm_cbor_rd *r, unsigned max_depth, sm_err *err);
/** Check that [p, p+n) is exactly one well-formed item, nesting at most `max_depth`. */
int sm_cbor_wellformed(const uint8_t *p, size_t n, unsigned max_depth, sm_err *err);

/* Typed reads: the next item must be of the type (SM_EINVAL naming `what` otherwise). */
int sm_cbor_read_uint(sm_cbor_rd *r, uint64_t *v, const char *what, sm_err *err);
int sm_cbor_read_int(sm_cbor_rd *r, int64_t *v, const char *what, sm_err *err);
/** Text of at most `max` bytes, copied to a new NUL-terminated string. */
int sm_cbor_read_text(sm_cbor_rd *r, size_t max, char **out, const char *what, sm_err *err);
int sm_cbor_read_bytes(sm_cbor_rd *r, size_t max, const uint8_t **p, size_t *n, const char *what, sm_err *err);
int sm_cbor_read_array(sm_cbor_rd *r, size_t max, size_t *n, const char *what, sm_err *err);
/** An array of at most max_items texts of at most max_len bytes each, into a new vector (*v, *n; caller frees
 * each and the vector); on failure nothing is left allocated. */
int sm_cbor_read_strv(sm_cbor_rd *r, size_t max_items, size_t max_len, char ***v, size_t *n, const char *what,
		      sm_err *err);
int sm_cbor_read_map(sm_cbor_rd *r, size_t max, size_t *n, const char *what, sm_err *err);

#endif
