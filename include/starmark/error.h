/* SPDX-License-Identifier: Apache-2.0 */
/* Error codes and the error detail every parser and validator fills for its user. */
#ifndef STARMARK_ERROR_H
#define STARMARK_ERROR_H

#include <stddef.h>

/*
 * Every lib function returns int: 0 on success, one of these negative codes on failure.
 * The front ends map them to exit codes (cli) and HTTP statuses (server) in one table each.
 */
enum {
	SM_OK = 0,
	SM_EINVAL = -1,    /* bad input: a field, a value, a syntax; nothing was changed */
	SM_ENOMEM = -2,    /* out of memory */
	SM_ENOTFOUND = -3, /* no such certificate, entry, key or token */
	SM_EEXIST = -4,    /* already exists (a registry, a token name, a key file) */
	SM_ESTATE = -5,    /* the change is not allowed in the current state */
	SM_ECRYPTO = -6,   /* a signature does not verify, or a crypto primitive failed */
	SM_EIO = -7,       /* reading or writing a file failed */
	SM_ESTORE = -8,    /* the store failed or is corrupted */
	SM_ETOOBIG = -9,   /* input over a size cap */
	SM_EKEY = -10,     /* a key is missing, unreadable, or its passphrase is wrong */
	SM_EFULL = -11,    /* no space left: the store's disk (ENOSPC, or LMDB's short write) or its map is full;
			    * the change was not made (LMDB aborted its transaction) */
	SM_EVERIFY = -12,  /* a log, proof or checkpoint does not check out (tampering) */
	SM_ESUSPECT = -13, /* the store failed an integrity check in this process: writes are refused until an
			    * operator repairs it (restores from a backup) and reopens it */
};

/* Longest message an sm_err holds, with its NUL. */
#define SM_ERR_MSG_MAX 320
#define SM_ERR_FIELD_MAX 64

/*
 * What went wrong, written for the user who sent the input: `field` names the field or
 * parameter ("level", "models[2]", "firmware"), `msg` says what is wrong and with which value,
 * `line` is the 1-based input line for files (0 when not a file).
 */
typedef struct sm_err {
	int code;
	size_t line;
	char field[SM_ERR_FIELD_MAX];
	char msg[SM_ERR_MSG_MAX];
} sm_err;

/** A static English name for an error code ("invalid input", "not found", ...). */
const char *sm_strerror(int code);

/**
 * Fill `err` (which may be NULL) with `code`, the field name (may be NULL) and a printf-style
 * message; returns `code` so callers can write `return sm_err_set(err, SM_EINVAL, ...)`.
 * Values put into the message are truncated, never overflow.
 */
int sm_err_set(sm_err *err, int code, const char *field, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));

/**
 * Put a prefix before the message already in `err` ("entry 5: " + what was wrong), with a new code
 * and field; safe where sm_err_set(err, ..., "%s", err->msg) would format a buffer into itself. Passing
 * err->field as `field` keeps the field it has.
 */
int sm_err_wrap(sm_err *err, int code, const char *field, const char *fmt, ...) __attribute__((format(printf, 4, 5)));

/** Clear `err` (may be NULL). */
void sm_err_clear(sm_err *err);

/**
 * The machine-readable name of an error class, as the JSON error bodies of the CLI (--json) and the server
 * carry it in "code": "invalid", "too_large", "not_found", "exists", "state", "crypto", "io", "store",
 * "key", "store_full", "verify", "nomem"; "failure" for another value.
 */
const char *sm_err_code(int rc);

/**
 * `value` (len bytes) for one field of a log line, into dst (cap bytes, always terminated): printable ASCII
 * stays, every other byte — control bytes (CR, LF), space, '"', '\\', DEL and every byte of a non-ASCII
 * character — is written as \xHH, so nothing a client sends can start a line, split a field or pass for
 * another field. A value cut for room ends in "...". Returns dst.
 */
char *sm_log_escape(char *dst, size_t cap, const char *value, size_t len);

/** A short excerpt of user input, safe to put in a message: control bytes become '?', long values are cut with "...". */
void sm_err_quote(char *dst, size_t cap, const char *value, size_t len);

#endif
