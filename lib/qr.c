/* SPDX-License-Identifier: Apache-2.0 */
/* QR symbols: libqrencode's frame before masking, and the mask chosen on rows of bits. */
#include <errno.h>
#include <limits.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "qr_int.h"

#ifndef SM_NO_QRCODE_ENCODEMASK
/*
 * Declared in libqrencode's qrencode_inner.h (for its own tests), not in qrencode.h, and exported by
 * the builds that keep its test hooks, as Debian's does. With mask -2 it returns the symbol before
 * masking: data, error correction and function patterns, the format information left light.
 * CMakeLists.txt checks at configure time that it links, else defines SM_NO_QRCODE_ENCODEMASK.
 */
extern QRcode *QRcode_encodeMask(QRinput *input, int mask);

static QRcode *unmasked_symbol(QRinput *in)
{
	return QRcode_encodeMask(in, -2);
}
#else
/* Without that hook: libqrencode's finished symbol, unmasked again. Right, but it pays for libqrencode's
 * own mask choice, nine tenths of an encode. */
static QRcode *unmasked_symbol(QRinput *in)
{
	QRcode *q = QRcode_encodeInput(in);
	if (q)
		sm_qr_unmask(q);
	return q;
}
#endif

#define WIDTH_MAX 177 /* version 40 */
#define WORDS 3       /* 64-bit words of a row of WIDTH_MAX bits */
#define MASKS 8
#define PERIOD 12     /* every mask pattern repeats every 12 rows (2, 3 and 4 divide it) */
#define FUNCTION 0x80 /* libqrencode: the module belongs to a function pattern and is never masked */
#define DARK 0x01
#define FORMAT_BITS 15

/* One line of modules as bits: module x is bit x % 64 of word x / 64; the bits past the symbol are 0. */
typedef struct bitrow {
	uint64_t w[WORDS];
} bitrow;

/* bit p of the result is bit p + k of `a` (0 < k < 64) */
static inline bitrow shr(const bitrow *a, unsigned k, int nw)
{
	bitrow r = {{0}};
	for (int i = 0; i < nw; i++)
		r.w[i] = a->w[i] >> k | (i + 1 < nw ? a->w[i + 1] << (64 - k) : 0);
	return r;
}

static inline void set_bit(bitrow *r, int x)
{
	r->w[x / 64] |= 1ull << (x % 64);
}

static inline void put_bit(bitrow *r, int x, bool on)
{
	const uint64_t b = 1ull << (x % 64);
	r->w[x / 64] = on ? r->w[x / 64] | b : r->w[x / 64] & ~b;
}

/* Without -mpopcnt (not in the x86-64 baseline) __builtin_popcountll is a libgcc call: count here. */
static inline unsigned popcount(uint64_t v)
{
#if defined(__POPCNT__)
	return (unsigned)__builtin_popcountll(v);
#else
	v -= v >> 1 & 0x5555555555555555ull;
	v = (v & 0x3333333333333333ull) + (v >> 2 & 0x3333333333333333ull);
	v = (v + (v >> 4)) & 0x0f0f0f0f0f0f0f0full;
	return (unsigned)(v * 0x0101010101010101ull >> 56);
#endif
}

/* The mask conditions of ISO/IEC 18004:2015 Table 10: module (i, j) at row i, column j is inverted. */
static bool mask_bit(int m, int i, int j)
{
	switch (m) {
	case 0: return (i + j) % 2 == 0;
	case 1: return i % 2 == 0;
	case 2: return j % 3 == 0;
	case 3: return (i + j) % 3 == 0;
	case 4: return (i / 2 + j / 3) % 2 == 0;
	case 5: return (i * j) % 2 + (i * j) % 3 == 0;
	case 6: return ((i * j) % 2 + (i * j) % 3) % 2 == 0;
	default: return ((i + j) % 2 + (i * j) % 3) % 2 == 0;
	}
}

/* The 15 format bits (7.9): 2 bits of error correction level and 3 of mask, BCH(15,5), XOR 0x5412. */
static unsigned format_bits(int ec, int m)
{
	static const unsigned level_bits[4] = {1, 0, 3, 2}; /* L 01, M 00, Q 11, H 10 */
	const unsigned d = level_bits[ec] << 3 | (unsigned)m;
	unsigned v = d << 10;
	for (int i = 14; i >= 10; i--)
		if (v & 1u << i)
			v ^= 0x537u << (i - 10); /* the generator x^10 + x^8 + x^5 + x^4 + x^2 + x + 1 */
	return (d << 10 | v) ^ 0x5412u;
}

/* Where format bit i (0 the least significant) goes: copy 0 beside the top-left finder, copy 1 split
 * between the top-right and bottom-left ones (Figure 25). */
static void format_module(int width, int i, int copy, int *row, int *col)
{
	if (i < 8) {
		*row = copy ? 8 : (i < 6 ? i : i + 1);
		*col = copy ? width - 1 - i : 8;
	} else {
		*row = copy ? width - 15 + i : 8;
		*col = copy ? 8 : (i == 8 ? 7 : 14 - i);
	}
}

/*
 * Runs (N1) and finder-like patterns (N3) across a set of lines: lines[k] holds line k's modules as
 * bits, so bit x of every line stands for one crossing line at once and no shifting is needed. Given
 * the rows, this counts along the columns; given the columns, along the rows. A run of L >= 5 equal
 * modules costs L - 2 (3 + (L - 5)); with f the bits where lines k..k+4 agree, a run leaves L - 4
 * such k and one start, so N1 = sum of popcount(f) + 2 * (starts). N3: 1011101 with four light
 * modules before or after it (outside the symbol is light) counts once. `lines` has 4 empty lines
 * before it and 11 after it (see LEAD, TAIL).
 */
#define LEAD 4
#define TAIL 11
static inline __attribute__((always_inline)) void along(const bitrow *lines, int width, int nw,
                                                        const bitrow *inside, unsigned long *n1,
                                                        unsigned long *n3)
{
	uint64_t fprev[WORDS] = {0};
	for (int k = 0; k < width; k++) {
		const bitrow *L = lines + k;
		for (int i = 0; i < nw; i++) {
			uint64_t f = 0;
			if (k + 4 < width)
				f = inside->w[i] & ~(L[0].w[i] ^ L[1].w[i]) & ~(L[1].w[i] ^ L[2].w[i]) &
				    ~(L[2].w[i] ^ L[3].w[i]) & ~(L[3].w[i] ^ L[4].w[i]);
			*n1 += popcount(f) + 2u * popcount(f & ~fprev[i]);
			fprev[i] = f;
			const uint64_t core = L[0].w[i] & ~L[1].w[i] & L[2].w[i] & L[3].w[i] & L[4].w[i] &
			                      ~L[5].w[i] & L[6].w[i];
			if (core) {
				const uint64_t after = ~(L[7].w[i] | L[8].w[i] | L[9].w[i] | L[10].w[i]);
				const uint64_t before = ~(L[-1].w[i] | L[-2].w[i] | L[-3].w[i] | L[-4].w[i]);
				*n3 += popcount(core & (after | before));
			}
		}
	}
}

/*
 * The penalty of a symbol given as its rows and its columns of bits (each with LEAD empty lines
 * before and TAIL after). N2: with e the "same as the next module" bits of a row, a 2 x 2 block of
 * one colour is e of both rows where the rows agree. N4: 10 for every full 5% the dark share is
 * away from 50%.
 */
static inline __attribute__((always_inline)) unsigned long penalty_of(const bitrow *rows, const bitrow *cols,
                                                                     int width, int nw)
{
	unsigned long n1 = 0, n2 = 0, n3 = 0, dark = 0;
	bitrow inside = {{0}}, pair = {{0}}; /* modules inside; modules x with x + 1 inside */
	for (int x = 0; x < width; x++) {
		set_bit(&inside, x);
		if (x + 1 < width)
			set_bit(&pair, x);
	}
	along(rows, width, nw, &inside, &n1, &n3);
	along(cols, width, nw, &inside, &n1, &n3);
	bitrow eprev = {{0}};
	for (int r = 0; r < width; r++) {
		const bitrow next = shr(&rows[r], 1, nw);
		for (int i = 0; i < nw; i++) {
			const uint64_t e = ~(rows[r].w[i] ^ next.w[i]) & pair.w[i];
			dark += popcount(rows[r].w[i]);
			if (r > 0)
				n2 += popcount(eprev.w[i] & e & ~(rows[r - 1].w[i] ^ rows[r].w[i]));
			eprev.w[i] = e;
		}
	}
	const unsigned long total = (unsigned long)width * (unsigned long)width;
	const unsigned long twenty = 20 * dark, ten = 10 * total;
	const unsigned long k = (twenty > ten ? twenty - ten : ten - twenty) / total;
	return n1 + 3 * n2 + 40 * n3 + 10 * k;
}

/* penalty_of with the number of words a constant, so that its loops unroll. */
static unsigned long penalty(const bitrow *rows, const bitrow *cols, int width, int nw)
{
	switch (nw) {
	case 1: return penalty_of(rows, cols, width, 1);
	case 2: return penalty_of(rows, cols, width, 2);
	default: return penalty_of(rows, cols, width, WORDS);
	}
}

static int words_for(int width)
{
	return (width + 63) / 64;
}

/*
 * The dark modules of a symbol as rows and as columns of bits, and (if `data`, `data_cols`) the
 * modules a mask inverts, the same two ways. Arrays of LEAD + width + TAIL lines, the extra ones empty.
 */
typedef struct lines {
	bitrow l[LEAD + WIDTH_MAX + TAIL];
} lines;

/* Bit 0 of each of 8 bytes, the first byte's in bit 0 (the multiplier sends byte k's bit to bit 56 + k). */
static inline unsigned gather8(uint64_t v)
{
	return (unsigned)((v & 0x0101010101010101ull) * 0x0102040810204080ull >> 56);
}

/* Module bits 0 (dark) and 7 (function) of one row of libqrencode bytes into two rows of bits. */
static void row_bits(const unsigned char *m, int w, bitrow *dark, bitrow *data)
{
	int x = 0;
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
	for (; x + 8 <= w; x += 8) {
		uint64_t v;
		memcpy(&v, m + x, 8);
		dark->w[x / 64] |= (uint64_t)gather8(v) << (x % 64);
		if (data)
			data->w[x / 64] |= (uint64_t)gather8(~v >> 7) << (x % 64);
	}
#endif
	for (; x < w; x++) {
		if (m[x] & DARK)
			set_bit(dark, x);
		if (data && !(m[x] & FUNCTION))
			set_bit(data, x);
	}
}

/* Transpose a 64 x 64 bit matrix in place: bit c of word r goes to bit r of word c. */
static void transpose64(uint64_t a[64])
{
	uint64_t m = 0x00000000ffffffffull;
	for (unsigned j = 32; j != 0; j >>= 1, m ^= m << j)
		for (unsigned k = 0; k < 64; k = (k + j + 1) & ~j) {
			const uint64_t t = ((a[k] >> j) ^ a[k + j]) & m;
			a[k] ^= t << j;
			a[k + j] ^= t;
		}
}

/* The columns of `width` rows of bits, in 64 x 64 blocks. */
static void columns_of(const bitrow *rows, int width, bitrow *cols)
{
	const int nw = (width + 63) / 64;
	uint64_t a[64];
	for (int bi = 0; bi < nw; bi++)
		for (int bj = 0; bj < nw; bj++) {
			for (int t = 0; t < 64; t++)
				a[t] = bi * 64 + t < width ? rows[bi * 64 + t].w[bj] : 0;
			transpose64(a);
			for (int t = 0; t < 64 && bj * 64 + t < width; t++)
				cols[bj * 64 + t].w[bi] = a[t];
		}
}

static void lines_of(const QRcode *q, lines *rows, lines *cols, lines *data, lines *data_cols)
{
	const int w = q->width;
	memset(rows, 0, sizeof(*rows));
	memset(cols, 0, sizeof(*cols));
	if (data) {
		memset(data, 0, sizeof(*data));
		memset(data_cols, 0, sizeof(*data_cols));
	}
	for (int r = 0; r < w; r++)
		row_bits(q->data + (size_t)r * (size_t)w, w, &rows->l[LEAD + r], data ? &data->l[LEAD + r] : NULL);
	columns_of(rows->l + LEAD, w, cols->l + LEAD);
	if (data)
		columns_of(data->l + LEAD, w, data_cols->l + LEAD);
}

unsigned long sm_qr_penalty(const QRcode *q)
{
	if (!q || q->width < 21 || q->width > WIDTH_MAX)
		return 0;
	lines *rc = malloc(2 * sizeof(lines));
	if (!rc)
		return ULONG_MAX;
	lines_of(q, &rc[0], &rc[1], NULL, NULL);
	const unsigned long p = penalty(rc[0].l + LEAD, rc[1].l + LEAD, q->width, words_for(q->width));
	free(rc);
	return p;
}

/* The rows of every mask pattern for one width (the columns are the same patterns transposed), made
 * once per thread and width (9 KB). */
typedef struct patterns {
	int width;
	bitrow row[MASKS][PERIOD], col[MASKS][PERIOD];
} patterns;

static const patterns *patterns_for(int width)
{
	static _Thread_local patterns p;
	if (p.width != width) {
		memset(&p, 0, sizeof(p));
		for (int m = 0; m < MASKS; m++)
			for (int i = 0; i < PERIOD; i++)
				for (int j = 0; j < width; j++) {
					if (mask_bit(m, i, j))
						set_bit(&p.row[m][i], j);
					if (mask_bit(m, j, i))
						set_bit(&p.col[m][i], j);
				}
		p.width = width;
	}
	return &p;
}

/* The symbol's unmasked modules and its candidates, as rows and columns: 4 x 4.8 KB, on the heap. */
typedef struct work {
	lines dark, dark_cols, data, data_cols, rows, cols;
} work;

/* The mask of least penalty for the unmasked symbol `q`; -1 when out of memory. */
static int choose_mask(const QRcode *q, int ec)
{
	const int w = q->width, nw = words_for(w);
	const patterns *p = patterns_for(w);
	work *k = malloc(sizeof(*k));
	if (!k)
		return -1;
	lines_of(q, &k->dark, &k->dark_cols, &k->data, &k->data_cols);
	memset(&k->rows, 0, sizeof(k->rows));
	memset(&k->cols, 0, sizeof(k->cols));
	bitrow *rows = k->rows.l + LEAD, *cols = k->cols.l + LEAD;
	int best = 0;
	unsigned long best_penalty = ULONG_MAX;
	for (int m = 0; m < MASKS; m++) {
		for (int r = 0; r < w; r++)
			for (int i = 0; i < nw; i++) {
				rows[r].w[i] = k->dark.l[LEAD + r].w[i] ^
				               (p->row[m][r % PERIOD].w[i] & k->data.l[LEAD + r].w[i]);
				cols[r].w[i] = k->dark_cols.l[LEAD + r].w[i] ^
				               (p->col[m][r % PERIOD].w[i] & k->data_cols.l[LEAD + r].w[i]);
			}
		const unsigned f = format_bits(ec, m);
		for (int i = 0; i < FORMAT_BITS; i++)
			for (int copy = 0; copy < 2; copy++) {
				int row, col;
				format_module(w, i, copy, &row, &col);
				put_bit(&rows[row], col, f >> i & 1);
				put_bit(&cols[col], row, f >> i & 1);
			}
		const unsigned long pen = penalty(rows, cols, w, nw);
		if (pen < best_penalty) {
			best_penalty = pen;
			best = m;
		}
	}
	free(k);
	return best;
}

/* Mask the unmasked symbol in place and write its format information (dark modules 0x85, as libqrencode). */
static void apply_mask(QRcode *q, int ec, int m)
{
	const int w = q->width;
	const patterns *p = patterns_for(w);
	for (int i = 0; i < w; i++) {
		unsigned char *row = q->data + (size_t)i * (size_t)w;
		const bitrow *pat = &p->row[m][i % PERIOD];
		for (int j = 0; j < w; j++) {
			const unsigned data = (row[j] & FUNCTION) ? 0u : 1u;
			row[j] ^= (unsigned char)(data & (unsigned)(pat->w[j / 64] >> (j % 64)));
		}
	}
	const unsigned f = format_bits(ec, m);
	for (int i = 0; i < FORMAT_BITS; i++)
		for (int copy = 0; copy < 2; copy++) {
			int row, col;
			format_module(w, i, copy, &row, &col);
			q->data[(size_t)row * (size_t)w + (size_t)col] = (unsigned char)(0x84 | (f >> i & 1));
		}
}

void sm_qr_unmask(QRcode *q)
{
	const int w = q->width;
	unsigned f = 0;
	for (int i = 0; i < FORMAT_BITS; i++) {
		int r, c;
		format_module(w, i, 0, &r, &c);
		f |= (unsigned)(q->data[(size_t)r * (size_t)w + (size_t)c] & DARK) << i;
	}
	const int m = (int)((f ^ 0x5412u) >> 10 & 7);
	for (int i = 0; i < w; i++) {
		unsigned char *line = q->data + (size_t)i * (size_t)w;
		for (int j = 0; j < w; j++)
			if (!(line[j] & FUNCTION) && mask_bit(m, i, j))
				line[j] ^= DARK;
	}
	for (int i = 0; i < FORMAT_BITS; i++)
		for (int copy = 0; copy < 2; copy++) {
			int r, c;
			format_module(w, i, copy, &r, &c);
			q->data[(size_t)r * (size_t)w + (size_t)c] = 0x84; /* light, function: as before masking */
		}
}

static bool alphanumeric(const char *s, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		const char c = s[i];
		if (!((c >= '0' && c <= '9') || (c >= 'A' && c <= 'Z') || strchr(" $%*+-./:", c)))
			return false;
	}
	return true;
}

QRcode *sm_qr_encode(const char *text, int ec)
{
	const size_t n = text ? strlen(text) : 0;
	if (ec < 0 || ec > 3 || n == 0) {
		errno = EINVAL;
		return NULL;
	}
	if (n > INT_MAX) {
		errno = ERANGE;
		return NULL;
	}
	QRinput *in = QRinput_new2(0, (QRecLevel)ec);
	if (!in)
		return NULL;
	QRcode *q = NULL;
	if (QRinput_append(in, alphanumeric(text, n) ? QR_MODE_AN : QR_MODE_8, (int)n,
	                   (const unsigned char *)text) == 0)
		q = unmasked_symbol(in);
	const int e = errno;
	QRinput_free(in);
	if (!q) {
		errno = e ? e : ENOMEM;
		return NULL;
	}
	if (q->width < 21 || q->width > WIDTH_MAX) { /* not a QR symbol: never from libqrencode 4 */
		QRcode_free(q);
		errno = EINVAL;
		return NULL;
	}
	const int m = choose_mask(q, ec);
	if (m < 0) {
		QRcode_free(q);
		errno = ENOMEM;
		return NULL;
	}
	apply_mask(q, ec, m);
	return q;
}
