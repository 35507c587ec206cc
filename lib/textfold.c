/* SPDX-License-Identifier: Apache-2.0 */
/* The search fold: width, ASCII case and kana folded to one form (include/starmark/textfold.h). */
#include <stdbool.h>
#include <stdint.h>

#include "starmark/codec.h"
#include "starmark/textfold.h"

#define REPLACEMENT 0xFFFDu
#define VOICED 0x3099u      /* combining voiced sound mark (dakuten) */
#define SEMI_VOICED 0x309Au /* combining semi-voiced sound mark (handakuten) */

/*
 * Half-width forms U+FF61..FF9D -> their full-width forms (Unicode's compatibility mappings, as NFKC
 * gives them): punctuation, small kana, the prolonged sound mark, the kana. The marks FF9E/FF9F are
 * handled as combining marks.
 */
static const uint16_t HALF[] = {
	0x3002, 0x300C, 0x300D, 0x3001, 0x30FB, 0x30F2, 0x30A1, 0x30A3,
	0x30A5, 0x30A7, 0x30A9, 0x30E3, 0x30E5, 0x30E7, 0x30C3, 0x30FC,
	0x30A2, 0x30A4, 0x30A6, 0x30A8, 0x30AA, 0x30AB, 0x30AD, 0x30AF,
	0x30B1, 0x30B3, 0x30B5, 0x30B7, 0x30B9, 0x30BB, 0x30BD, 0x30BF,
	0x30C1, 0x30C4, 0x30C6, 0x30C8, 0x30CA, 0x30CB, 0x30CC, 0x30CD,
	0x30CE, 0x30CF, 0x30D2, 0x30D5, 0x30D8, 0x30DB, 0x30DE, 0x30DF,
	0x30E0, 0x30E1, 0x30E2, 0x30E4, 0x30E6, 0x30E8, 0x30E9, 0x30EA,
	0x30EB, 0x30EC, 0x30ED, 0x30EF, 0x30F3,
};

/* The next code point of s[i..n) in *cp and its length; REPLACEMENT and 1 for a byte that does not start
 * a well-formed sequence (sm_utf8_next's rules: RFC 3629). Reads only below n. */
static size_t decode(const unsigned char *s, size_t n, size_t i, uint32_t *cp)
{
	size_t at = i;
	if (sm_utf8_next(s, n, &at, cp))
		return at - i;
	*cp = REPLACEMENT;
	return 1;
}

static int encode(sm_buf *out, uint32_t cp)
{
	unsigned char b[4];
	size_t len;
	if (cp < 0x80) {
		b[0] = (unsigned char)cp;
		len = 1;
	} else if (cp < 0x800) {
		b[0] = (unsigned char)(0xC0 | cp >> 6);
		b[1] = (unsigned char)(0x80 | (cp & 0x3F));
		len = 2;
	} else if (cp < 0x10000) {
		b[0] = (unsigned char)(0xE0 | cp >> 12);
		b[1] = (unsigned char)(0x80 | ((cp >> 6) & 0x3F));
		b[2] = (unsigned char)(0x80 | (cp & 0x3F));
		len = 3;
	} else {
		b[0] = (unsigned char)(0xF0 | cp >> 18);
		b[1] = (unsigned char)(0x80 | ((cp >> 12) & 0x3F));
		b[2] = (unsigned char)(0x80 | ((cp >> 6) & 0x3F));
		b[3] = (unsigned char)(0x80 | (cp & 0x3F));
		len = 4;
	}
	return sm_buf_append(out, b, len);
}

/* One code point's own fold, without regard to its neighbours. */
static uint32_t fold_one(uint32_t cp)
{
	if (cp >= 'A' && cp <= 'Z')
		return cp - 'A' + 'a';
	if (cp < 0x20 || cp == 0x7F)
		return ' ';
	if (cp < 0x80)
		return cp;
	if (cp >= 0xFF01 && cp <= 0xFF5E)
		return fold_one(cp - 0xFF01 + 0x21);
	if (cp >= 0xFF61 && cp <= 0xFF9D)
		return HALF[cp - 0xFF61];
	if (cp == 0xFF9E)
		return VOICED;
	if (cp == 0xFF9F)
		return SEMI_VOICED;
	if ((cp >= 0x3041 && cp <= 0x3096) || cp == 0x309D || cp == 0x309E)
		return cp + 0x60; /* hiragana -> katakana, ゝゞ -> ヽヾ */
	switch (cp) {
	case 0x00A0:
	case 0x3000:
		return ' ';
	case 0x2010:
	case 0x2011:
	case 0x2012:
	case 0x2013:
	case 0x2212:
	case 0xFE63:
		return '-';
	case 0x301C:
		return '~';
	default:
		return cp;
	}
}

/* The katakana `base` with the (folded) mark composed, or 0 when it takes no such mark. */
static uint32_t compose(uint32_t base, uint32_t mark)
{
	bool ha_row = base >= 0x30CF && base <= 0x30DB && (base - 0x30CF) % 3 == 0; /* ハヒフヘホ */
	if (mark == SEMI_VOICED)
		return ha_row ? base + 2 : 0;
	if (ha_row || (base >= 0x30AB && base <= 0x30C1 && base % 2 == 1) || base == 0x30C4 || base == 0x30C6 ||
	    base == 0x30C8) /* カ..チ, ツテト */
		return base + 1;
	if (base >= 0x30EF && base <= 0x30F2) /* ワヰヱヲ */
		return base + 8;
	if (base == 0x30A6) /* ウ */
		return 0x30F4;
	if (base == 0x30FD) /* ヽ */
		return 0x30FE;
	return 0;
}

int sm_text_fold(sm_buf *out, const char *s, size_t n)
{
	const unsigned char *p = (const unsigned char *)s;
	int rc = 0;
	size_t i = 0;
	while (i < n && !rc) {
		uint32_t cp;
		i += decode(p, n, i, &cp);
		cp = fold_one(cp);
		if (cp == VOICED || cp == SEMI_VOICED) {
			/* a mark with no kana before it that took it: shown as the spacing mark */
			rc = encode(out, cp + 2);
			continue;
		}
		if (i < n) {
			uint32_t next;
			size_t len = decode(p, n, i, &next);
			next = fold_one(next);
			uint32_t both = next == VOICED || next == SEMI_VOICED ? compose(cp, next) : 0;
			if (both) {
				cp = both;
				i += len;
			}
		}
		rc = encode(out, cp);
	}
	return rc;
}
