/* SPDX-License-Identifier: Apache-2.0 */
/* Unit tests of lib/qr.c: symbols equal to libqrencode's with the same mask; penalties against the rules. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "qr_int.h"

#ifndef SM_NO_QRCODE_ENCODEMASK
extern QRcode *QRcode_encodeMask(QRinput *input, int mask); /* libqrencode 4 as Debian builds it: lib/qr.c */
#endif

#define URL_A                                                                                                \
	"HTTPS://REGISTRY.EXAMPLE.JP/L/QRI2GAJHAMM733AEJDKDVCGMIUJDF4VALAPYMAICNRJFKRRNIUZDIMBWKNAVOZSSJFH"  \
	"E4QKJDFGWMGTGGGDAAWCAJQ76SL7734I6FF3K677UFVENLTYZC7UDSJYYYAMDBIDXGOSI35CTFXCANLD5J56ZPONS7NW4UYHC"

/* ---- the penalty rules of ISO/IEC 18004:2015 7.8.3.1, written plainly, one module at a time ---- */

static int dark_at(const unsigned char *m, int w, int x, int y)
{
	return x >= 0 && y >= 0 && x < w && y < w ? m[(size_t)y * (size_t)w + (size_t)x] & 1 : 0;
}

/* Module k of line `line` (a row when `rows`, else a column); outside the symbol is light. */
static int at(const unsigned char *m, int w, int rows, int line, int k)
{
	return rows ? dark_at(m, w, k, line) : dark_at(m, w, line, k);
}

static unsigned long ref_penalty(const unsigned char *m, int w)
{
	unsigned long n1 = 0, n2 = 0, n3 = 0, dark = 0;
	for (int rows = 0; rows < 2; rows++) {
		for (int line = 0; line < w; line++) {
			int run = 1;
			for (int k = 1; k <= w; k++) {
				if (k < w && at(m, w, rows, line, k) == at(m, w, rows, line, k - 1)) {
					run++;
					continue;
				}
				if (run >= 5)
					n1 += 3 + (unsigned long)(run - 5);
				run = 1;
			}
			static const int core[7] = {1, 0, 1, 1, 1, 0, 1};
			for (int k = 0; k + 7 <= w; k++) {
				int hit = 1, before = 1, after = 1;
				for (int j = 0; j < 7; j++)
					hit &= at(m, w, rows, line, k + j) == core[j];
				for (int j = 1; j <= 4; j++) {
					before &= !at(m, w, rows, line, k - j);
					after &= !at(m, w, rows, line, k + 6 + j);
				}
				n3 += hit && (before || after);
			}
		}
	}
	for (int y = 0; y < w; y++)
		for (int x = 0; x < w; x++) {
			const int d = dark_at(m, w, x, y);
			dark += (unsigned long)d;
			if (x + 1 < w && y + 1 < w && dark_at(m, w, x + 1, y) == d && dark_at(m, w, x, y + 1) == d &&
			    dark_at(m, w, x + 1, y + 1) == d)
				n2++;
		}
	const unsigned long total = (unsigned long)w * (unsigned long)w;
	const long dev = labs((long)(dark * 20) - (long)(total * 10));
	return n1 + 3 * n2 + 40 * n3 + 10 * ((unsigned long)dev / total);
}

/* ---- helpers ---- */

#ifndef SM_NO_QRCODE_ENCODEMASK
static QRcode *reference(const char *text, int ec, int mask)
{
	QRinput *in = QRinput_new2(0, (QRecLevel)ec);
	assert_non_null(in);
	const char *an = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ $%*+-./:";
	const QRencodeMode mode = strspn(text, an) == strlen(text) ? QR_MODE_AN : QR_MODE_8;
	assert_int_equal(QRinput_append(in, mode, (int)strlen(text), (const unsigned char *)text), 0);
	QRcode *q = QRcode_encodeMask(in, mask);
	QRinput_free(in);
	assert_non_null(q);
	return q;
}

/* The mask number written in a symbol's format information (copy beside the top-left finder). */
static int mask_of(const QRcode *q)
{
	static const int row[15] = {0, 1, 2, 3, 4, 5, 7, 8, 8, 8, 8, 8, 8, 8, 8};
	static const int col[15] = {8, 8, 8, 8, 8, 8, 8, 8, 7, 5, 4, 3, 2, 1, 0};
	unsigned f = 0;
	for (int i = 0; i < 15; i++)
		f |= (unsigned)(q->data[row[i] * q->width + col[i]] & 1) << i;
	return (int)((f ^ 0x5412u) >> 10 & 7);
}
#endif

static char *long_text(size_t n)
{
	char *s = malloc(n + 1);
	assert_non_null(s);
	for (size_t i = 0; i < n; i++)
		s[i] = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567"[(i * 7 + i / 3) % 32];
	s[n] = '\0';
	return s;
}

/* ---- tests ---- */

/* For each text and level: the symbol is libqrencode's with the mask we chose, module for module, the
 * format information included; our penalty of each of the 8 masked symbols equals the plain rules';
 * and the chosen mask has the least penalty (the lower number on a tie). */
static void test_qr_symbols_and_choice(void **state)
{
	(void)state;
#ifdef SM_NO_QRCODE_ENCODEMASK
	skip(); /* the reference symbols come from QRcode_encodeMask */
#else
	char *big = long_text(1100); /* version 33 at H: 149 modules, three words a row */
	const char *texts[] = {URL_A, "HTTPS://X/L/AB", "https://registry.example.jp/l/lower-case", big, "1"};
	int widths_seen = 0;
	for (size_t t = 0; t < sizeof(texts) / sizeof(texts[0]); t++) {
		for (int ec = 0; ec < 4; ec++) {
			QRcode *q = sm_qr_encode(texts[t], ec);
			assert_non_null(q);
			const int chosen = mask_of(q);
			unsigned long best = 0;
			int best_mask = -1;
			for (int m = 0; m < 8; m++) {
				QRcode *r = reference(texts[t], ec, m);
				const unsigned long want = ref_penalty(r->data, r->width);
				assert_int_equal(sm_qr_penalty(r), want);
				if (best_mask < 0 || want < best) {
					best = want;
					best_mask = m;
				}
				if (m == chosen) {
					assert_int_equal(r->version, q->version);
					assert_int_equal(r->width, q->width);
					for (int i = 0; i < q->width * q->width; i++)
						if ((r->data[i] & 1) != (q->data[i] & 1))
							fail_msg("text %zu ec %d mask %d: module (%d, %d) differs", t, ec,
							         m, i % q->width, i / q->width);
				}
				QRcode_free(r);
			}
			assert_int_equal(chosen, best_mask);
			widths_seen |= q->width > 120 ? 4 : q->width > 56 ? 2 : 1;
			QRcode_free(q);
		}
	}
	assert_int_equal(widths_seen, 7); /* rows of one, two and three 64-bit words were all checked */
	free(big);
#endif
}

/* libqrencode's symbol with each of the 8 masks, unmasked by sm_qr_unmask: its frame before masking,
 * byte for byte (what sm_qr_encode starts from where QRcode_encodeMask is not exported). */
static void test_qr_unmask(void **state)
{
	(void)state;
#ifdef SM_NO_QRCODE_ENCODEMASK
	skip();
#else
	const char *texts[] = {URL_A, "https://registry.example.jp/l/lower-case", "1"};
	for (size_t t = 0; t < sizeof(texts) / sizeof(texts[0]); t++)
		for (int ec = 0; ec < 4; ec++) {
			QRcode *frame = reference(texts[t], ec, -2);
			for (int m = 0; m < 8; m++) {
				QRcode *q = reference(texts[t], ec, m);
				assert_int_equal(mask_of(q), m);
				sm_qr_unmask(q);
				if (memcmp(q->data, frame->data, (size_t)q->width * (size_t)q->width) != 0)
					fail_msg("text %zu ec %d mask %d: unmasked symbol differs from the frame", t, ec, m);
				QRcode_free(q);
			}
			QRcode_free(frame);
		}
#endif
}

/* Random and patterned matrices of every width class against the plain rules. */
static void test_qr_penalty_matrices(void **state)
{
	(void)state;
	uint64_t x = 0x243f6a8885a308d3ull;
	for (int round = 0; round < 300; round++) {
		x ^= x << 13;
		x ^= x >> 7;
		x ^= x << 17;
		const int w = 21 + (int)(x % 157);
		QRcode q = {.version = 1, .width = w, .data = malloc((size_t)w * (size_t)w)};
		assert_non_null(q.data);
		const int kind = round % 6;
		for (int i = 0; i < w * w; i++) {
			x ^= x << 13;
			x ^= x >> 7;
			x ^= x << 17;
			const int r = i / w, c = i % w;
			switch (kind) {
			case 0: q.data[i] = (unsigned char)(x & 1); break;                  /* noise */
			case 1: q.data[i] = (unsigned char)((x & 7) != 0); break;           /* mostly dark: N1, N2, N4 */
			case 2: q.data[i] = (unsigned char)((x & 15) == 0); break;          /* mostly light */
			case 3: q.data[i] = (unsigned char)((0x5d >> (c % 11)) & 1); break; /* 1011101 in rows */
			case 4: q.data[i] = (unsigned char)((0x5d >> (r % 11)) & 1); break; /* and in columns */
			default: q.data[i] = (unsigned char)((0x5d >> ((r + c) % 7)) & (x & 1)); break;
			}
		}
		const unsigned long want = ref_penalty(q.data, w);
		if (sm_qr_penalty(&q) != want)
			fail_msg("width %d kind %d: penalty %lu, the rules give %lu", w, kind, sm_qr_penalty(&q), want);
		free(q.data);
	}
}

static void test_qr_refusals(void **state)
{
	(void)state;
	char *huge = long_text(4400); /* over version 40 at L in alphanumeric mode (4,296) */
	errno = 0;
	assert_null(sm_qr_encode(huge, 0));
	assert_int_equal(errno, ERANGE);
	free(huge);
	errno = 0;
	assert_null(sm_qr_encode(URL_A, 4));
	assert_int_equal(errno, EINVAL);
	errno = 0;
	assert_null(sm_qr_encode("", 1));
	assert_int_equal(errno, EINVAL);
	errno = 0;
	assert_null(sm_qr_encode(NULL, 1));
	assert_int_equal(errno, EINVAL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_qr_symbols_and_choice),
	    cmocka_unit_test(test_qr_unmask),
	    cmocka_unit_test(test_qr_penalty_matrices),
	    cmocka_unit_test(test_qr_refusals),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
