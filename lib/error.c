/* SPDX-License-Identifier: Apache-2.0 */
/* Error codes, their names, and the user-facing error detail. */
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include "starmark/codec.h"
#include "starmark/error.h"
#include "starmark/starmark.h"

const char *sm_strerror(int code)
{
	switch (code) {
	case SM_OK: return "success";
	case SM_EINVAL: return "invalid input";
	case SM_ENOMEM: return "out of memory";
	case SM_ENOTFOUND: return "not found";
	case SM_EEXIST: return "already exists";
	case SM_ESTATE: return "not allowed in the current state";
	case SM_ECRYPTO: return "signature or crypto failure";
	case SM_EIO: return "I/O error";
	case SM_ESTORE: return "store failure";
	case SM_ETOOBIG: return "input too large";
	case SM_EKEY: return "key missing, unreadable or wrong passphrase";
	case SM_EFULL: return "no space left for the store";
	case SM_EVERIFY: return "verification failed";
	case SM_ESUSPECT: return "the store failed an integrity check";
	default: return "unknown error";
	}
}

/*
 * Messages quote user input with printf precisions and are cut at their buffer's size: either may
 * split a multi-byte character, and a message that is not UTF-8 cannot go into a JSON answer. Every
 * byte that does not start or continue a valid character becomes '?'.
 */
static void utf8_mend(char *s)
{
	size_t n = strlen(s);
	for (size_t i = 0; i < n;) {
		size_t at = i;
		uint32_t cp;
		if (!sm_utf8_next((const uint8_t *)s, n, &i, &cp)) {
			s[at] = '?';
			i = at + 1;
		}
	}
}

int sm_err_set(sm_err *err, int code, const char *field, const char *fmt, ...)
{
	if (!err)
		return code;
	err->code = code;
	err->field[0] = '\0';
	if (field)
		snprintf(err->field, sizeof(err->field), "%s", field);
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(err->msg, sizeof(err->msg), fmt, ap);
	va_end(ap);
	utf8_mend(err->msg);
	utf8_mend(err->field);
	return code;
}

int sm_err_wrap(sm_err *err, int code, const char *field, const char *fmt, ...)
{
	if (!err)
		return code;
	char inner[SM_ERR_MSG_MAX], prefix[SM_ERR_MSG_MAX];
	memcpy(inner, err->msg, sizeof(inner));
	inner[sizeof(inner) - 1] = '\0';
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(prefix, sizeof(prefix), fmt, ap);
	va_end(ap);
	err->code = code;
	if (field && field != err->field) /* the field it has may be passed to keep it */
		snprintf(err->field, sizeof(err->field), "%s", field);
	/* both parts fit in the message's room; a long pair is cut at the end */
	size_t pl = strlen(prefix);
	if (pl > sizeof(err->msg) - 1)
		pl = sizeof(err->msg) - 1;
	memcpy(err->msg, prefix, pl);
	snprintf(err->msg + pl, sizeof(err->msg) - pl, "%s%s", inner[0] ? ": " : "", inner);
	utf8_mend(err->msg);
	utf8_mend(err->field);
	return code;
}

void sm_err_clear(sm_err *err)
{
	if (err)
		memset(err, 0, sizeof(*err));
}

const char *sm_err_code(int rc)
{
	switch (rc) {
	case SM_EINVAL: return "invalid";
	case SM_ETOOBIG: return "too_large";
	case SM_ENOTFOUND: return "not_found";
	case SM_EEXIST: return "exists";
	case SM_ESTATE: return "state";
	case SM_ECRYPTO: return "crypto";
	case SM_EIO: return "io";
	case SM_ESTORE: return "store";
	case SM_EKEY: return "key";
	case SM_EFULL: return "store_full";
	case SM_EVERIFY: return "verify";
	case SM_ENOMEM: return "nomem";
	default: return "failure";
	}
}

char *sm_log_escape(char *dst, size_t cap, const char *value, size_t len)
{
	static const char hex[] = "0123456789abcdef";
	size_t o = 0;
	if (cap == 0)
		return dst;
	for (size_t i = 0; i < len; i++) {
		unsigned char c = (unsigned char)value[i];
		bool plain = c > 0x20 && c < 0x7f && c != '"' && c != '\\';
		size_t need = plain ? 1 : 4;
		if (o + need + 4 > cap) { /* room for "..." and NUL */
			if (cap > 4) {
				memcpy(dst + o, "...", 3);
				o += 3;
			}
			break;
		}
		if (plain) {
			dst[o++] = (char)c;
		} else {
			dst[o++] = '\\';
			dst[o++] = 'x';
			dst[o++] = hex[c >> 4];
			dst[o++] = hex[c & 15];
		}
	}
	dst[o < cap ? o : cap - 1] = '\0';
	return dst;
}

void sm_err_quote(char *dst, size_t cap, const char *value, size_t len)
{
	if (cap == 0)
		return;
	const size_t keep = cap > 4 ? cap - 4 : cap - 1; /* room for "..." and NUL */
	size_t n = len < keep ? len : keep;
	/* a cut value ends on a whole UTF-8 sequence: back off while the first byte left out continues one */
	if (n < len)
		while (n > 0 && ((unsigned char)value[n] & 0xC0) == 0x80)
			n--;
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)value[i];
		dst[i] = (c < 0x20 || c == 0x7f) ? '?' : (char)c;
	}
	if (n < len && cap > 4) {
		memcpy(dst + n, "...", 3);
		n += 3;
	}
	dst[n] = '\0';
}

const char *sm_version_string(void)
{
	return SM_VERSION_STRING;
}
