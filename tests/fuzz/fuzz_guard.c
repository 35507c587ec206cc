/* SPDX-License-Identifier: Apache-2.0 */
/* libFuzzer target for the request guard's head parser (sm_guard_parse_head) and its invariants. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "guard.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int known_status(unsigned s)
{
	static const unsigned ok[] = { 400, 405, 411, 413, 414, 415, 431, 501, 505 };
	for (size_t i = 0; i < sizeof(ok) / sizeof(ok[0]); i++)
		if (s == ok[i])
			return 1;
	return 0;
}

static int within(const char *p, size_t len, const char *buf, size_t n)
{
	return p >= buf && len <= n && (size_t)(p - buf) <= n - len;
}

/* Parse buf with lim and check what any answer must satisfy; returns the result. */
static int parse_checked(const char *buf, size_t n, const sm_guard_limits *lim, sm_guard_head *h)
{
	int rc = sm_guard_parse_head(buf, n, lim, h);
	if (rc == SM_GUARD_INCOMPLETE) {
		if (n > lim->max_head) /* a head can never grow past the cap unnoticed */
			abort();
		return rc;
	}
	if (rc < 0) {
		if (rc != SM_EINVAL && rc != SM_ETOOBIG)
			abort();
		if (!known_status(h->status) || !h->code || !h->err.msg[0])
			abort();
		return rc;
	}
	if (rc != 0)
		abort();
	if (h->head_len < 4 || h->head_len > n || h->head_len > lim->max_head ||
	    memcmp(buf + h->head_len - 4, "\r\n\r\n", 4) != 0)
		abort();
	if (!within(h->method, h->method_len, buf, n) || !within(h->target, h->target_len, buf, n))
		abort();
	if (h->target_len == 0 || h->target[0] != '/' || h->target_len > SM_GUARD_MAX_TARGET || h->minor > 1)
		abort();
	if (h->headers > lim->max_headers)
		abort();
	if (h->content_length > (h->is_admin ? lim->max_body_admin : lim->max_body_public))
		abort();
	if (memchr(buf, '\0', h->head_len)) /* NUL never reaches libevhtp */
		abort();
	return rc;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *buf = (const char *)data;
	sm_guard_limits lim;
	sm_guard_head h, p;

	sm_guard_limits_default(&lim);
	int rc = parse_checked(buf, size, &lim, &h);
	if (rc == 0) {
		/* the same head alone parses the same; every prefix of it is only incomplete */
		if (parse_checked(buf, h.head_len, &lim, &p) != 0 || p.head_len != h.head_len ||
		    p.content_length != h.content_length)
			abort();
		if (parse_checked(buf, h.head_len - 1, &lim, &p) != SM_GUARD_INCOMPLETE)
			abort();
		if (parse_checked(buf, h.head_len / 2, &lim, &p) != SM_GUARD_INCOMPLETE)
			abort();
	} else if (rc < 0) {
		/* bytes after an accepted head do not change the verdict: so a prefix is never accepted */
		if (size > 0 && parse_checked(buf, size - 1, &lim, &p) == 0)
			abort();
	}

	/* small limits reach the caps with small inputs */
	lim.max_head = 200;
	lim.max_headers = 3;
	lim.max_body_public = 10;
	lim.max_body_admin = 100;
	parse_checked(buf, size, &lim, &h);
	return 0;
}
