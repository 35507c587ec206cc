/* SPDX-License-Identifier: Apache-2.0 */
/* Text codecs of RFC 4648 (base32, base64, base64url) and hex. */
#ifndef STARMARK_CODEC_H
#define STARMARK_CODEC_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "starmark/error.h"

/* Decoders refuse input longer than this (SM_ETOOBIG). */
#define SM_CODEC_MAX_INPUT (64u * 1024u * 1024u)

/**
 * Encode to a new NUL-terminated string the caller frees; NULL only when out of memory.
 * base32: RFC 4648 alphabet, upper case, no padding (the QR label text).
 * base64: standard alphabet with padding.  base64url: URL alphabet, no padding.
 * hex: lower case.
 */
char *sm_base32_encode(const uint8_t *in, size_t n);
char *sm_base64_encode(const uint8_t *in, size_t n);
char *sm_base64url_encode(const uint8_t *in, size_t n);
char *sm_hex_encode(const uint8_t *in, size_t n);

/**
 * Decode `n` characters of `in` into a new buffer the caller frees (*out, *outlen; *out is
 * NUL-terminated for convenience, the NUL not counted). On failure *out is NULL and `err`
 * (may be NULL) says which character at which offset is wrong.
 * base32: accepts upper or lower case, no padding, rejects non-zero trailing bits.
 * base64: requires correct padding; rejects the URL alphabet and non-zero trailing bits.
 * base64url: no padding; rejects the standard alphabet's + and /.
 * hex: either case, even length.
 * Errors: SM_EINVAL (bad character, length or trailing bits), SM_ETOOBIG, SM_ENOMEM.
 */
int sm_base32_decode(const char *in, size_t n, uint8_t **out, size_t *outlen, sm_err *err);
int sm_base64_decode(const char *in, size_t n, uint8_t **out, size_t *outlen, sm_err *err);
int sm_base64url_decode(const char *in, size_t n, uint8_t **out, size_t *outlen, sm_err *err);
int sm_hex_decode(const char *in, size_t n, uint8_t **out, size_t *outlen, sm_err *err);

/**
 * Decode the UTF-8 sequence at s[*i] (of n bytes) into *cp and move *i past it. False for anything
 * that is not well-formed UTF-8: a bad lead or continuation byte, a sequence cut short, an overlong
 * form, a surrogate or a code point above U+10FFFF. The one UTF-8 decoder of the library.
 */
bool sm_utf8_next(const uint8_t *s, size_t n, size_t *i, uint32_t *cp);

#endif
