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

/* ---- display width ---- */

struct range {
	uint32_t lo, hi;
};

/* Columns 0: combining marks (Mn, Me), zero-width and format characters, variation selectors. Sorted. */
static const struct range ZERO[] = {
	{ 0x0300, 0x036F }, { 0x0483, 0x0489 }, { 0x0591, 0x05BD }, { 0x05BF, 0x05BF }, { 0x05C1, 0x05C2 },
	{ 0x05C4, 0x05C5 }, { 0x05C7, 0x05C7 }, { 0x0610, 0x061A }, { 0x064B, 0x065F }, { 0x0670, 0x0670 },
	{ 0x06D6, 0x06DC }, { 0x06DF, 0x06E4 }, { 0x06E7, 0x06E8 }, { 0x06EA, 0x06ED }, { 0x0900, 0x0902 },
	{ 0x093C, 0x093C }, { 0x0941, 0x0948 }, { 0x094D, 0x094D }, { 0x0E31, 0x0E31 }, { 0x0E34, 0x0E3A },
	{ 0x0E47, 0x0E4E }, { 0x1160, 0x11FF }, { 0x1AB0, 0x1AFF }, { 0x1DC0, 0x1DFF }, { 0x200B, 0x200F },
	{ 0x202A, 0x202E }, { 0x2060, 0x2064 }, { 0x20D0, 0x20F0 }, { 0x302A, 0x302D }, { 0x3099, 0x309A },
	{ 0xFE00, 0xFE0F }, { 0xFE20, 0xFE2F }, { 0xFEFF, 0xFEFF }, { 0x1F3FB, 0x1F3FF }, { 0xE0001, 0xE0001 },
	{ 0xE0020, 0xE007F }, { 0xE0100, 0xE01EF },
};

/* Columns 2: East Asian Wide (W) and Fullwidth (F). Sorted. */
static const struct range WIDE[] = {
	{ 0x1100, 0x115F }, { 0x231A, 0x231B }, { 0x2329, 0x232A }, { 0x23E9, 0x23EC }, { 0x23F0, 0x23F0 },
	{ 0x23F3, 0x23F3 }, { 0x25FD, 0x25FE }, { 0x2614, 0x2615 }, { 0x2648, 0x2653 }, { 0x267F, 0x267F },
	{ 0x2693, 0x2693 }, { 0x26A1, 0x26A1 }, { 0x26AA, 0x26AB }, { 0x26BD, 0x26BE }, { 0x26C4, 0x26C5 },
	{ 0x26CE, 0x26CE }, { 0x26D4, 0x26D4 }, { 0x26EA, 0x26EA }, { 0x26F2, 0x26F3 }, { 0x26F5, 0x26F5 },
	{ 0x26FA, 0x26FA }, { 0x26FD, 0x26FD }, { 0x2705, 0x2705 }, { 0x270A, 0x270B }, { 0x2728, 0x2728 },
	{ 0x274C, 0x274C }, { 0x274E, 0x274E }, { 0x2753, 0x2755 }, { 0x2757, 0x2757 }, { 0x2795, 0x2797 },
	{ 0x27B0, 0x27B0 }, { 0x27BF, 0x27BF }, { 0x2B1B, 0x2B1C }, { 0x2B50, 0x2B50 }, { 0x2B55, 0x2B55 },
	{ 0x2E80, 0x303E }, { 0x3041, 0x33FF }, { 0x3400, 0x4DBF }, { 0x4E00, 0x9FFF }, { 0xA000, 0xA4CF },
	{ 0xA960, 0xA97F }, { 0xAC00, 0xD7A3 }, { 0xF900, 0xFAFF }, { 0xFE10, 0xFE19 }, { 0xFE30, 0xFE6F },
	{ 0xFF00, 0xFF60 }, { 0xFFE0, 0xFFE6 }, { 0x16FE0, 0x16FE4 }, { 0x17000, 0x18CFF }, { 0x1B000, 0x1B2FF },
	{ 0x1F004, 0x1F004 }, { 0x1F0CF, 0x1F0CF }, { 0x1F18E, 0x1F18E }, { 0x1F191, 0x1F19A }, { 0x1F200, 0x1F251 },
	{ 0x1F260, 0x1F265 }, { 0x1F300, 0x1F320 }, { 0x1F32D, 0x1F335 }, { 0x1F337, 0x1F37C }, { 0x1F37E, 0x1F393 },
	{ 0x1F3A0, 0x1F3CA }, { 0x1F3CF, 0x1F3D3 }, { 0x1F3E0, 0x1F3F0 }, { 0x1F3F4, 0x1F3F4 }, { 0x1F3F8, 0x1F3FA },
	{ 0x1F400, 0x1F43E }, { 0x1F440, 0x1F440 }, { 0x1F442, 0x1F4FC }, { 0x1F4FF, 0x1F53D }, { 0x1F54B, 0x1F54E },
	{ 0x1F550, 0x1F567 }, { 0x1F57A, 0x1F57A }, { 0x1F595, 0x1F596 }, { 0x1F5A4, 0x1F5A4 }, { 0x1F5FB, 0x1F64F },
	{ 0x1F680, 0x1F6C5 }, { 0x1F6CC, 0x1F6CC }, { 0x1F6D0, 0x1F6D2 }, { 0x1F6D5, 0x1F6D7 }, { 0x1F6EB, 0x1F6EC },
	{ 0x1F6F4, 0x1F6FC }, { 0x1F7E0, 0x1F7EB }, { 0x1F90C, 0x1F93A }, { 0x1F93C, 0x1F945 }, { 0x1F947, 0x1F9FF },
	{ 0x1FA70, 0x1FAFF }, { 0x20000, 0x2FFFD }, { 0x30000, 0x3FFFD },
};

static bool in_ranges(const struct range *r, size_t n, uint32_t cp)
{
	size_t lo = 0, hi = n;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		if (cp > r[mid].hi)
			lo = mid + 1;
		else if (cp < r[mid].lo)
			hi = mid;
		else
			return true;
	}
	return false;
}

size_t sm_text_width(const char *s, size_t n)
{
	const unsigned char *p = (const unsigned char *)s;
	size_t w = 0;
	for (size_t i = 0; i < n;) {
		uint32_t cp;
		i += decode(p, n, i, &cp);
		if (cp < 0x20 || (cp >= 0x7F && cp < 0xA0) || in_ranges(ZERO, sizeof(ZERO) / sizeof(ZERO[0]), cp))
			continue;
		w += in_ranges(WIDE, sizeof(WIDE) / sizeof(WIDE[0]), cp) ? 2 : 1;
	}
	return w;
}
