/* SPDX-License-Identifier: Apache-2.0 */
/* A growable byte buffer with a hard cap. */
#ifndef STARMARK_BUF_H
#define STARMARK_BUF_H

#include <stddef.h>
#include <stdint.h>

#include "starmark/error.h"

/* No buffer grows past this unless its owner sets a lower `max`. */
#define SM_BUF_MAX_DEFAULT (256u * 1024u * 1024u)

typedef struct sm_buf {
	uint8_t *data;
	size_t len;
	size_t cap;
	size_t max; /* 0 means SM_BUF_MAX_DEFAULT */
} sm_buf;

#define SM_BUF_INIT { NULL, 0, 0, 0 }

/** Append `n` bytes; SM_ETOOBIG past the cap, SM_ENOMEM when allocation fails (the buffer is unchanged). */
int sm_buf_append(sm_buf *b, const void *p, size_t n);
/** Append a NUL-terminated string (without its NUL). */
int sm_buf_puts(sm_buf *b, const char *s);
/** Append printf-style text. */
int sm_buf_printf(sm_buf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/** Make sure data[len] is a NUL (not counted in len), so data can be read as a C string. */
int sm_buf_terminate(sm_buf *b);
/** Give the bytes to the caller (who frees them); the buffer becomes empty. */
uint8_t *sm_buf_take(sm_buf *b, size_t *len);
/** Release the memory; the buffer is empty and reusable. */
void sm_buf_cleanup(sm_buf *b);

/**
 * Read the whole regular file `path`, at most `max` bytes, into a new NUL-terminated buffer (the
 * NUL not counted in *len); the caller frees *out. Nothing is stored on failure. Errors, each
 * naming the path, with the field "file": SM_ENOTFOUND when the file does not exist, SM_EINVAL
 * when it is not a regular file, SM_ETOOBIG when it is larger than `max`, SM_EIO when it cannot
 * be opened or read in full, SM_ENOMEM.
 */
int sm_file_read(const char *path, size_t max, uint8_t **out, size_t *len, sm_err *err);

/**
 * Write `n` bytes as the file `path` (mode `mode`) all or nothing: into a temporary file beside it,
 * synced, then renamed over `path`; on failure the temporary file is removed and `path` is as it
 * was. SM_EIO naming the path and the reason (field "file"), SM_EINVAL for a path over 4000 bytes.
 */
int sm_file_write_atomic(const char *path, const void *p, size_t n, unsigned mode, sm_err *err);

#endif
