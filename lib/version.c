/* SPDX-License-Identifier: Apache-2.0 */
/* Firmware versions: Debian's version ordering, and firmware coverage specs built on it. */

/*
 * Why Debian's ordering. Vendors write firmware versions every way ("1.02.003", "V2.1b",
 * "2024.03.1", "1.0-rc1"); starmark needs ONE total, documented order over all of them, and
 * not a home-made one: dpkg's verrevcmp has ordered millions of real-world upstream version
 * strings for decades, its rules are short enough to state on a label's help page, and
 * `dpkg --compare-versions` is an independent oracle the tests check against
 * (tests/data/version_oracle.txt). The rules:
 *
 *   - "N:" at the front is an epoch when the part before the first ':' is all digits; the
 *     epoch is compared first, as a number. Anything else before a ':' is plain text.
 *   - The text after the LAST '-' is the revision, compared after everything else; the part
 *     between epoch and revision is the upstream version.
 *   - Each part is compared as alternating runs of non-digits and digits. Digit runs compare
 *     as numbers of any length (leading zeros ignored, no overflow: the zero-stripped runs are
 *     compared by length, then digit by digit). In non-digit runs, '~' sorts before everything,
 *     even the end of the string, then the end, then letters (ASCII order, so 'Z' < 'a'), then
 *     every other character (ASCII order).
 *
 * What that means for vendor strings (each line is checked in tests/unit/test_version.c):
 *   - "1.02.003" == "1.2.3" and "1.0" == "1.00": leading zeros do not count, so these are the
 *     SAME version; an exact item "1.0" in a spec also covers "1.00".
 *   - "1.0" < "1.0.0" < "1.0.1": a longer version is newer than its prefix ("1.0" == "1.0-0").
 *   - "2024.03.1" < "2024.3.2" < "2024.10.1": date-style versions order by number.
 *   - "V2.1b": a leading letter is just text. "V..." strings order among themselves as
 *     expected ("V2.1a" < "V2.1b" < "V2.10" < "V3"), but every "V..." sorts AFTER every version
 *     of the same epoch that starts with a digit ("V2.1b" > "10.0"), because a digit ends a
 *     non-digit run and the end of a run sorts before a letter. Vendors who write both "V2.1" and "2.1" must pick
 *     one spelling for their specs.
 *   - "2.1" < "2.1b" < "2.1.1": a trailing letter makes a newer version, but letters sort before
 *     '.', so "2.1b" is older than "2.1.1". "2.1~rc1" < "2.1" is how Debian spells a pre-release.
 *   - "1.0-rc1" is upstream "1.0" with REVISION "rc1": it sorts after "1.0" and before
 *     "1.0.1", i.e. NOT before 1.0 as semver readers may expect. "1.0~rc1" sorts before 1.0.
 *   - "1.0-rc1-2" has upstream "1.0-rc1" and revision "2" (the last '-' splits).
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "starmark/buf.h"
#include "starmark/error.h"
#include "starmark/version.h"

#define FIELD "firmware"
#define STR_(x) #x
#define STR(x) STR_(x)
#define QUOTE_MAX 72

/* ---- versions ---- */

static int is_digit(unsigned char c)
{
	return c >= '0' && c <= '9';
}

static int is_alpha(unsigned char c)
{
	return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z');
}

static int is_space(unsigned char c)
{
	return c == ' ' || c == '\t' || c == '\r' || c == '\n' || c == '\v' || c == '\f';
}

/* A byte a version may contain: printable ASCII other than space and the spec syntax. */
static int version_char_ok(unsigned char c)
{
	return c > 0x20 && c < 0x7f && c != ',' && c != '<' && c != '>' && c != '=';
}

/*
 * Check `len` bytes as a version. On failure write what is wrong, quoting the version and
 * naming the byte at fault, into `why` and return SM_EINVAL.
 */
static int version_check(const char *v, size_t len, char *why, size_t cap)
{
	char q[QUOTE_MAX];
	sm_err_quote(q, sizeof(q), v, len);
	if (len == 0) {
		snprintf(why, cap, "is empty");
		return SM_EINVAL;
	}
	if (len > SM_VERSION_MAX) {
		snprintf(why, cap, "'%s' is longer than %u bytes", q, SM_VERSION_MAX);
		return SM_EINVAL;
	}
	for (size_t i = 0; i < len; i++) {
		const unsigned char c = (unsigned char)v[i];
		if (!version_char_ok(c)) {
			char cq[8];
			sm_err_quote(cq, sizeof(cq), v + i, 1);
			snprintf(why, cap,
				 "'%s' has '%s' (0x%02x) at offset %zu: a version is printable ASCII "
				 "without space, ',', '<', '>' or '='", q, cq, c, i);
			return SM_EINVAL;
		}
	}
	return 0;
}

int sm_version_validate(const char *v, sm_err *err)
{
	if (!v)
		return sm_err_set(err, SM_EINVAL, FIELD, "firmware version is missing");
	char why[SM_ERR_MSG_MAX];
	const int rc = version_check(v, strnlen(v, SM_VERSION_MAX + 1), why, sizeof(why));
	if (rc)
		return sm_err_set(err, rc, FIELD, "firmware version %s", why);
	return 0;
}

/* A part of a version: not NUL-terminated. */
struct span {
	const char *p;
	size_t n;
};

static unsigned char at_or_nul(struct span s, size_t i)
{
	return i < s.n ? (unsigned char)s.p[i] : '\0';
}

/* dpkg's order() for one character of a non-digit run; the end of the string is 0. */
static int char_order(unsigned char c)
{
	if (c == '\0' || is_digit(c))
		return 0;
	if (is_alpha(c))
		return c;
	if (c == '~')
		return -1;
	return c + 256;
}

static int sign(int x)
{
	return (x > 0) - (x < 0);
}

/* dpkg's verrevcmp over two spans; digit runs of any length, compared without overflow. */
static int verrevcmp(struct span a, struct span b)
{
	size_t i = 0, j = 0;
	while (i < a.n || j < b.n) {
		while ((i < a.n && !is_digit(at_or_nul(a, i))) || (j < b.n && !is_digit(at_or_nul(b, j)))) {
			const int ac = char_order(at_or_nul(a, i));
			const int bc = char_order(at_or_nul(b, j));
			if (ac != bc)
				return sign(ac - bc);
			i++;
			j++;
		}
		while (at_or_nul(a, i) == '0')
			i++;
		while (at_or_nul(b, j) == '0')
			j++;
		int first_diff = 0;
		while (is_digit(at_or_nul(a, i)) && is_digit(at_or_nul(b, j))) {
			if (!first_diff)
				first_diff = (int)at_or_nul(a, i) - (int)at_or_nul(b, j);
			i++;
			j++;
		}
		if (is_digit(at_or_nul(a, i)))
			return 1; /* a's number has more significant digits */
		if (is_digit(at_or_nul(b, j)))
			return -1;
		if (first_diff)
			return sign(first_diff);
	}
	return 0;
}

struct parsed_version {
	struct span epoch, upstream, revision;
};

static void split_version(const char *v, struct parsed_version *pv)
{
	const size_t len = strlen(v);
	const char *colon = memchr(v, ':', len);
	size_t start = 0;
	pv->epoch = (struct span){ "", 0 };
	if (colon && colon > v) {
		size_t k = 0;
		while (v + k < colon && is_digit((unsigned char)v[k]))
			k++;
		if (v + k == colon) {
			pv->epoch = (struct span){ v, k };
			start = k + 1;
		}
	}
	const char *rest = v + start;
	const char *dash = strrchr(rest, '-');
	if (dash) {
		pv->upstream = (struct span){ rest, (size_t)(dash - rest) };
		pv->revision = (struct span){ dash + 1, strlen(dash + 1) };
	} else {
		pv->upstream = (struct span){ rest, len - start };
		pv->revision = (struct span){ "", 0 };
	}
}

int sm_version_compare(const char *a, const char *b)
{
	struct parsed_version pa, pb;
	split_version(a ? a : "", &pa);
	split_version(b ? b : "", &pb);
	/* An epoch is all digits, so verrevcmp compares it as a number of any length. */
	int c = verrevcmp(pa.epoch, pb.epoch);
	if (c)
		return c;
	c = verrevcmp(pa.upstream, pb.upstream);
	if (c)
		return c;
	return verrevcmp(pa.revision, pb.revision);
}

/* ---- firmware specs ---- */

enum op { OP_EQ, OP_GE, OP_GT, OP_LE, OP_LT };

struct bound {
	enum op op;
	char v[SM_VERSION_MAX + 1];
};

/* An exact version (one OP_EQ bound) or one or two bounds, lower first. */
struct item {
	size_t nb;
	struct bound b[2];
};

struct sm_fwspec {
	struct item *items;
	size_t n;
	size_t cap;
	size_t text_len; /* length of the canonical text */
};

static const char *op_text(enum op op)
{
	switch (op) {
	case OP_GE: return ">=";
	case OP_GT: return ">";
	case OP_LE: return "<=";
	case OP_LT: return "<";
	default: return "";
	}
}

static int is_lower(enum op op)
{
	return op == OP_GE || op == OP_GT;
}

static int is_upper(enum op op)
{
	return op == OP_LE || op == OP_LT;
}

static size_t item_text_len(const struct item *it)
{
	size_t len = it->nb - 1; /* the space between two bounds */
	for (size_t k = 0; k < it->nb; k++)
		len += strlen(op_text(it->b[k].op)) + strlen(it->b[k].v);
	return len;
}

static size_t text_len_with(size_t total, size_t nitems, const struct item *it)
{
	return total + (nitems > 0 ? 2 : 0) + item_text_len(it);
}

/* Context for error messages: the 1-based item number and its trimmed text. */
struct item_ctx {
	size_t index;
	const char *p;
	size_t n;
	sm_err *err;
};

static int item_error(const struct item_ctx *ic, int code, const char *what, const char *detail)
{
	char q[QUOTE_MAX];
	sm_err_quote(q, sizeof(q), ic->p, ic->n);
	return sm_err_set(ic->err, code, FIELD, "firmware spec: item %zu ('%s') %s%s", ic->index, q, what,
			  detail);
}

/* Parse one whitespace-free token: an optional operator directly followed by a version. */
static int parse_bound(const struct item_ctx *ic, const char *p, size_t n, struct bound *b)
{
	size_t k = 0;
	while (k < n && (p[k] == '<' || p[k] == '>' || p[k] == '='))
		k++;
	char tok[QUOTE_MAX];
	sm_err_quote(tok, sizeof(tok), p, n);
	char detail[SM_ERR_MSG_MAX];
	if (k == 0) {
		b->op = OP_EQ;
	} else if (k == 2 && p[0] == '>' && p[1] == '=') {
		b->op = OP_GE;
	} else if (k == 1 && p[0] == '>') {
		b->op = OP_GT;
	} else if (k == 2 && p[0] == '<' && p[1] == '=') {
		b->op = OP_LE;
	} else if (k == 1 && p[0] == '<') {
		b->op = OP_LT;
	} else {
		char opq[16];
		sm_err_quote(opq, sizeof(opq), p, k);
		snprintf(detail, sizeof(detail),
			 "'%s' is not an operator: use >=, >, <=, < or, for an exact version, none (\"1.2\")",
			 opq);
		return item_error(ic, SM_EINVAL, "has a bad operator: ", detail);
	}
	if (k == n) {
		snprintf(detail, sizeof(detail), "'%s' must be directly followed by a version, as in '%s1.2'",
			 tok, tok);
		return item_error(ic, SM_EINVAL, "has an operator without a version: ", detail);
	}
	if (version_check(p + k, n - k, detail, sizeof(detail)))
		return item_error(ic, SM_EINVAL, "has a bad version: ", detail);
	memcpy(b->v, p + k, n - k);
	b->v[n - k] = '\0';
	return 0;
}

/* Parse one trimmed, non-empty item. */
static int parse_item(const struct item_ctx *ic, struct item *it)
{
	size_t i = 0;
	it->nb = 0;
	while (i < ic->n) {
		while (i < ic->n && is_space((unsigned char)ic->p[i]))
			i++;
		if (i == ic->n)
			break;
		size_t start = i;
		while (i < ic->n && !is_space((unsigned char)ic->p[i]))
			i++;
		if (it->nb == 2)
			return item_error(ic, SM_EINVAL, "has more than two parts: ",
					  "an item is one exact version or one or two bounds");
		int rc = parse_bound(ic, ic->p + start, i - start, &it->b[it->nb]);
		if (rc)
			return rc;
		it->nb++;
	}
	if (it->nb == 1)
		return 0;
	if (it->b[0].op == OP_EQ || it->b[1].op == OP_EQ)
		return item_error(ic, SM_EINVAL, "mixes an exact version with a bound: ",
				  "write them as two items separated by ','");
	if (is_upper(it->b[0].op) && is_lower(it->b[1].op)) {
		struct bound t = it->b[0];
		it->b[0] = it->b[1];
		it->b[1] = t;
	}
	if (!is_lower(it->b[0].op) || !is_upper(it->b[1].op))
		return item_error(ic, SM_EINVAL, "has two bounds on the same side: ",
				  "a range needs one lower (>=, >) and one upper (<=, <) bound");
	const int c = sm_version_compare(it->b[0].v, it->b[1].v);
	if (c > 0)
		return item_error(ic, SM_EINVAL, "has its lower bound above its upper bound", "");
	if (c == 0 && (it->b[0].op == OP_GT || it->b[1].op == OP_LT))
		return item_error(ic, SM_EINVAL, "covers no version: ",
				  "an exclusive bound equals the other bound");
	return 0;
}

static int append_item(sm_fwspec *s, const struct item *it)
{
	if (s->n == s->cap) {
		const size_t cap = s->cap ? s->cap * 2 : 4;
		struct item *p = realloc(s->items, cap * sizeof(*p));
		if (!p)
			return SM_ENOMEM;
		s->items = p;
		s->cap = cap;
	}
	s->text_len = text_len_with(s->text_len, s->n, it);
	s->items[s->n++] = *it;
	return 0;
}

int sm_fwspec_parse(const char *text, sm_fwspec **out, sm_err *err)
{
	int rc = 0;
	sm_fwspec *s = NULL;

	*out = NULL;
	if (!text)
		return sm_err_set(err, SM_EINVAL, FIELD, "firmware spec is missing");
	const size_t len = strnlen(text, SM_FWSPEC_MAX + 1);
	if (len > SM_FWSPEC_MAX)
		return sm_err_set(err, SM_ETOOBIG, FIELD, "firmware spec is longer than %u bytes",
				  SM_FWSPEC_MAX);
	size_t nonspace = 0;
	while (nonspace < len && is_space((unsigned char)text[nonspace]))
		nonspace++;
	if (nonspace == len)
		return sm_err_set(err, SM_EINVAL, FIELD, "firmware spec is empty: give versions or ranges "
					     "such as \">=1.0 <2.0, 2.1.3\"");
	s = calloc(1, sizeof(*s));
	if (!s) {
		rc = sm_err_set(err, SM_ENOMEM, FIELD, "out of memory");
		goto out;
	}
	size_t pos = 0;
	for (size_t index = 1;; index++) {
		const char *comma = memchr(text + pos, ',', len - pos);
		const size_t end = comma ? (size_t)(comma - text) : len;
		size_t a = pos, b = end;
		while (a < b && is_space((unsigned char)text[a]))
			a++;
		while (b > a && is_space((unsigned char)text[b - 1]))
			b--;
		struct item_ctx ic = { index, text + a, b - a, err };
		if (index > SM_FWSPEC_MAX_ITEMS) {
			rc = sm_err_set(err, SM_ETOOBIG, FIELD,
					"firmware spec: item %zu is past the limit of %u items", index,
					SM_FWSPEC_MAX_ITEMS);
			goto out;
		}
		if (a == b) {
			rc = sm_err_set(err, SM_EINVAL, FIELD,
					"firmware spec: item %zu is empty (two commas in a row, or a "
					"comma at an end)", index);
			goto out;
		}
		struct item it;
		rc = parse_item(&ic, &it);
		if (rc)
			goto out;
		if (text_len_with(s->text_len, s->n, &it) > SM_FWSPEC_MAX) {
			rc = item_error(&ic, SM_ETOOBIG, "takes the canonical spec past the limit of ",
					STR(SM_FWSPEC_MAX) " bytes");
			goto out;
		}
		rc = append_item(s, &it);
		if (rc) {
			sm_err_set(err, rc, FIELD, "out of memory");
			goto out;
		}
		if (!comma)
			break;
		pos = end + 1;
	}
	*out = s;
	s = NULL;
out:
	sm_fwspec_free(s);
	return rc;
}

void sm_fwspec_free(sm_fwspec *s)
{
	if (!s)
		return;
	free(s->items);
	free(s);
}

static bool bound_holds(const struct bound *b, const char *version)
{
	const int c = sm_version_compare(version, b->v);
	switch (b->op) {
	case OP_EQ: return c == 0;
	case OP_GE: return c >= 0;
	case OP_GT: return c > 0;
	case OP_LE: return c <= 0;
	case OP_LT: return c < 0;
	}
	return false;
}

bool sm_fwspec_covers(const sm_fwspec *s, const char *version)
{
	if (!s || !version)
		return false;
	for (size_t i = 0; i < s->n; i++) {
		const struct item *it = &s->items[i];
		bool all = true;
		for (size_t k = 0; k < it->nb && all; k++)
			all = bound_holds(&it->b[k], version);
		if (all)
			return true;
	}
	return false;
}

char *sm_fwspec_format(const sm_fwspec *s)
{
	sm_buf b = SM_BUF_INIT;
	char *text = NULL;
	for (size_t i = 0; s && i < s->n; i++) {
		const struct item *it = &s->items[i];
		for (size_t k = 0; k < it->nb; k++) {
			const char *sep = i == 0 && k == 0 ? "" : k == 0 ? ", " : " ";
			if (sm_buf_printf(&b, "%s%s%s", sep, op_text(it->b[k].op), it->b[k].v))
				goto out;
		}
	}
	text = (char *)sm_buf_take(&b, NULL);
out:
	sm_buf_cleanup(&b);
	return text;
}

int sm_fwspec_merge(sm_fwspec *dst, const sm_fwspec *add)
{
	if (dst->n + add->n > SM_FWSPEC_MAX_ITEMS)
		return SM_ETOOBIG;
	size_t total = dst->text_len;
	for (size_t i = 0; i < add->n; i++)
		total = text_len_with(total, dst->n + i, &add->items[i]);
	if (total > SM_FWSPEC_MAX)
		return SM_ETOOBIG;
	if (dst->n + add->n > dst->cap) {
		struct item *p = realloc(dst->items, (dst->n + add->n) * sizeof(*p));
		if (!p)
			return SM_ENOMEM;
		dst->items = p;
		dst->cap = dst->n + add->n;
	}
	/* add may be dst itself: copy a count fixed before appending */
	const size_t n_add = add->n;
	for (size_t i = 0; i < n_add; i++)
		dst->items[dst->n + i] = add->items[i];
	dst->n += n_add;
	dst->text_len = total;
	return 0;
}

size_t sm_fwspec_count(const sm_fwspec *s)
{
	return s ? s->n : 0;
}
