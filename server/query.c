/* SPDX-License-Identifier: Apache-2.0 */
/* Query strings: strict parsing against the names a route accepts. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "query.h"
#include "starmark/error.h"
#include "starmark/record.h"

static int hexval(char c)
{
	return c >= '0' && c <= '9' ? c - '0' : c >= 'a' && c <= 'f' ? c - 'a' + 10 : c >= 'A' && c <= 'F' ? c - 'A' + 10 : -1;
}

/* Percent-decode [p, p+n) into a new string; '+' is a space (as forms and most clients encode). */
static char *pct_decode(const char *p, size_t n, const char **why)
{
	char *out = malloc(n + 1);
	size_t o = 0;
	if (!out) {
		*why = "no memory";
		return NULL;
	}
	for (size_t i = 0; i < n; i++) {
		if (p[i] == '%') {
			int hi = i + 2 < n ? hexval(p[i + 1]) : -1;
			int lo = i + 2 < n ? hexval(p[i + 2]) : -1;
			if (hi < 0 || lo < 0) {
				free(out);
				*why = "a malformed %-escape";
				return NULL;
			}
			out[o++] = (char)(hi * 16 + lo);
			i += 2;
		} else {
			out[o++] = p[i] == '+' ? ' ' : p[i];
		}
	}
	out[o] = '\0';
	if (memchr(out, '\0', o)) {
		free(out);
		*why = "a NUL byte";
		return NULL;
	}
	if (!sm_utf8_printable(out, o)) {
		free(out);
		*why = "invalid UTF-8 or a control character";
		return NULL;
	}
	return out;
}

void sm_query_free(sm_param *params, size_t n)
{
	for (size_t i = 0; i < n; i++)
		free(params[i].value);
}

/* Free what was parsed (and say so: *n is 0 after), fill the error. */
static int refuse(sm_query_err *e, sm_param *params, size_t *n, const char *code, const char *field, const char *msg)
{
	sm_query_free(params, *n);
	*n = 0;
	e->code = code;
	snprintf(e->field, sizeof(e->field), "%s", field);
	snprintf(e->msg, sizeof(e->msg), "%s", msg);
	return -1;
}

int sm_query_parse(const char *raw, const char *const *allowed, sm_param *params, size_t *n, sm_query_err *e)
{
	const char *p = raw ? raw : "";
	char msg[256];
	*n = 0;
	while (*p) {
		const char *amp = strchr(p, '&');
		size_t len = amp ? (size_t)(amp - p) : strlen(p);
		if (len == 0) {
			p++;
			continue;
		}
		const char *eq = memchr(p, '=', len);
		size_t nlen = eq ? (size_t)(eq - p) : len;
		const char *name = NULL;
		for (const char *const *a = allowed; *a && !name; a++)
			if (strlen(*a) == nlen && memcmp(*a, p, nlen) == 0)
				name = *a;
		char shown[48];
		sm_err_quote(shown, sizeof(shown), p, nlen);
		if (!name) {
			snprintf(msg, sizeof(msg), "unknown query parameter '%s'", shown);
			return refuse(e, params, n, "unknown_parameter", shown, msg);
		}
		for (size_t i = 0; i < *n; i++)
			if (params[i].name == name) {
				snprintf(msg, sizeof(msg), "query parameter '%s' is given twice", name);
				return refuse(e, params, n, "duplicate_parameter", name, msg);
			}
		size_t vlen = eq ? len - nlen - 1 : 0;
		if (vlen > SM_QUERY_MAX_VALUE * 3 || *n == SM_QUERY_MAX_PARAMS) {
			snprintf(msg, sizeof(msg), "query parameter '%s' is too long", name);
			return refuse(e, params, n, "parameter_too_long", name, msg);
		}
		const char *why = NULL;
		char *v = pct_decode(eq ? eq + 1 : "", vlen, &why);
		if (!v || strlen(v) > SM_QUERY_MAX_VALUE) {
			snprintf(msg, sizeof(msg), "query parameter '%s' has %s", name, v ? "more than 1024 bytes" : why);
			free(v);
			return refuse(e, params, n, "bad_parameter", name, msg);
		}
		params[*n].name = name;
		params[(*n)++].value = v;
		p += len + (amp ? 1 : 0);
	}
	return 0;
}
