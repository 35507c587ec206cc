/* SPDX-License-Identifier: Apache-2.0 */
/* PNG for labels: 2-bit grey from a coverage map, pHYs, deflated with row copies, runs and fixed codes;
 * 1-bit grey for codes in SVG. */
#include <pthread.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include <zlib.h>
#if defined(__SSE2__)
#include <emmintrin.h>
#endif

#include "png_int.h"
#include "starmark/error.h"

#define MATCH_MIN 3
#define MATCH_MAX 258
#define ADLER_BASE 65521u
#define ADLER_NMAX 5552u /* the most bytes between reductions that cannot overflow (RFC 1950) */
#define ADLER_BLOCK 16u

/* A code of the fixed Huffman alphabet, already bit-reversed for the LSB-first stream, with its length. */
typedef struct code {
	uint32_t bits;
	uint8_t n;
} code;

static code lit_codes[256];                /* literal bytes */
static code len_codes[MATCH_MAX + 1];      /* a match length: its code and extra bits together */
static const code end_of_block = {0, 7};   /* symbol 256: seven 0 bits */
static pthread_once_t codes_once = PTHREAD_ONCE_INIT;

static uint32_t reverse(uint32_t v, unsigned n)
{
	uint32_t r = 0;
	for (unsigned i = 0; i < n; i++, v >>= 1)
		r = r << 1 | (v & 1);
	return r;
}

/* The fixed literal/length code of RFC 1951 3.2.6 for symbol `sym`. */
static code fixed_code(unsigned sym)
{
	if (sym < 144)
		return (code){reverse(0x30 + sym, 8), 8};
	if (sym < 256)
		return (code){reverse(0x190 + sym - 144, 9), 9};
	if (sym < 280)
		return (code){reverse(sym - 256, 7), 7};
	return (code){reverse(0xc0 + sym - 280, 8), 8};
}

/* Length codes 257..285 (RFC 1951 3.2.5): base lengths and extra bits; 285 is 258 exactly. */
static const uint16_t len_base[29] = {3,  4,  5,  6,  7,  8,  9,  10, 11,  13,  15,  17,  19,  23, 27,
                                      31, 35, 43, 51, 59, 67, 83, 99, 115, 131, 163, 195, 227, 258};
static const uint8_t len_extra[29] = {0, 0, 0, 0, 0, 0, 0, 0, 1, 1, 1, 1, 2, 2, 2,
                                      2, 3, 3, 3, 3, 4, 4, 4, 4, 5, 5, 5, 5, 0};
/* Distance codes 0..29: base distances and extra bits. */
static const uint16_t dist_base[30] = {1,   2,   3,   4,   5,   7,    9,    13,   17,   25,
                                       33,  49,  65,  97,  129, 193,  257,  385,  513,  769,
                                       1025, 1537, 2049, 3073, 4097, 6145, 8193, 12289, 16385, 24577};
static const uint8_t dist_extra[30] = {0, 0, 0, 0, 1, 1, 2, 2, 3, 3, 4, 4, 5, 5, 6,
                                       6, 7, 7, 8, 8, 9, 9, 10, 10, 11, 11, 12, 12, 13, 13};

static void codes_init(void)
{
	for (unsigned v = 0; v < 256; v++)
		lit_codes[v] = fixed_code(v);
	for (unsigned i = 0; i < 29; i++) {
		const unsigned last = i == 28 ? MATCH_MAX : len_base[i + 1] - 1u;
		const code c = fixed_code(257 + i);
		for (unsigned len = len_base[i]; len <= last; len++)
			len_codes[len] = (code){c.bits | (uint32_t)(len - len_base[i]) << c.n,
			                        (uint8_t)(c.n + len_extra[i])};
	}
}

/* A distance's code (five bits, reversed) and extra bits together. */
static code dist_code(unsigned dist)
{
	unsigned i = 29;
	while (dist_base[i] > dist)
		i--;
	return (code){reverse(i, 5) | (uint32_t)(dist - dist_base[i]) << 5, (uint8_t)(5 + dist_extra[i])};
}

/*
 * The deflate bit stream, LSB first. A code is ORed in and the eight bytes at the write position
 * stored whole, then the position moves past the complete bytes: no branch per code (a flush every
 * 32 bits mispredicted often enough to be a tenth of a label). The buffer keeps 8 bytes of slack.
 * A row is coded with a local copy, so that the state lives in registers.
 */
typedef struct bits {
	uint8_t *p;
	uint64_t acc; /* the bits not yet complete bytes: fewer than 8 between codes */
	unsigned n;
} bits;

static inline void put(bits *b, code c)
{
	b->acc |= (uint64_t)c.bits << b->n;
	b->n += c.n;
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
	memcpy(b->p, &b->acc, 8);
#else
	for (int i = 0; i < 8; i++)
		b->p[i] = (uint8_t)(b->acc >> 8 * i);
#endif
	b->p += b->n >> 3;
	b->acc >>= b->n & ~7u;
	b->n &= 7;
}

/* Two codes written as one: a length and its distance (at most 31 bits), or two literals (18). */
static inline code pair(code a, code b)
{
	return (code){a.bits | b.bits << a.n, (uint8_t)(a.n + b.n)};
}

static void flush(bits *b)
{
	for (; b->n > 0; b->n = b->n > 8 ? b->n - 8 : 0) {
		*b->p++ = (uint8_t)b->acc;
		b->acc >>= 8;
	}
}

static inline uint64_t load64(const uint8_t *p)
{
	uint64_t v;
	memcpy(&v, p, 8);
	return v;
}

/* How many of the first `max` bytes of `a` equal those of `b`. */
static inline size_t same_len(const uint8_t *a, const uint8_t *b, size_t max)
{
	size_t n = 0;
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
	for (; n + 8 <= max; n += 8) {
		const uint64_t d = load64(a + n) ^ load64(b + n);
		if (d)
			return n + (size_t)__builtin_ctzll(d) / 8;
	}
#endif
	while (n < max && a[n] == b[n])
		n++;
	return n;
}

/* How many of the first `max` bytes of `a` are `v`. */
static inline size_t run_len(const uint8_t *a, uint8_t v, size_t max)
{
	size_t n = 0;
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
	const uint64_t all = v * 0x0101010101010101ull;
	for (; n + 8 <= max; n += 8) {
		const uint64_t d = load64(a + n) ^ all;
		if (d)
			return n + (size_t)__builtin_ctzll(d) / 8;
	}
#endif
	while (n < max && a[n] == v)
		n++;
	return n;
}

/*
 * Adler-32 (RFC 1950). Over `k` bytes from (a, b): a gains the bytes' sum, b gains k * a plus the
 * sum of (k - i) * byte i. With SSE2 (every x86-64) 16 bytes at a time: the block sums by psadbw,
 * the in-block weights 16..1 by pmaddwd, and 16 * (the sums of all earlier blocks) for the rest of
 * the weights; about ten times the bytes per cycle of the byte loop, which was a third of a label.
 */
static void adler_update(uint32_t *pa, uint32_t *pb, const uint8_t *p, size_t n)
{
	uint64_t a = *pa, b = *pb;
#if defined(__SSE2__)
	const __m128i zero = _mm_setzero_si128();
	const __m128i w_lo = _mm_setr_epi16(16, 15, 14, 13, 12, 11, 10, 9);
	const __m128i w_hi = _mm_setr_epi16(8, 7, 6, 5, 4, 3, 2, 1);
	while (n >= ADLER_BLOCK) {
		size_t blocks = n / ADLER_BLOCK;
		if (blocks > ADLER_NMAX / ADLER_BLOCK)
			blocks = ADLER_NMAX / ADLER_BLOCK; /* keeps every lane far below 2^32 */
		n -= blocks * ADLER_BLOCK;
		__m128i vs = zero, vps = zero, vt = zero;
		for (size_t k = 0; k < blocks; k++, p += ADLER_BLOCK) {
			const __m128i v = _mm_loadu_si128((const __m128i *)(const void *)p);
			vps = _mm_add_epi32(vps, vs);
			vs = _mm_add_epi32(vs, _mm_sad_epu8(v, zero));
			vt = _mm_add_epi32(vt, _mm_madd_epi16(_mm_unpacklo_epi8(v, zero), w_lo));
			vt = _mm_add_epi32(vt, _mm_madd_epi16(_mm_unpackhi_epi8(v, zero), w_hi));
		}
		uint32_t s[4], ps[4], t[4];
		_mm_storeu_si128((__m128i *)(void *)s, vs);
		_mm_storeu_si128((__m128i *)(void *)ps, vps);
		_mm_storeu_si128((__m128i *)(void *)t, vt);
		b = (b + blocks * ADLER_BLOCK * a + ADLER_BLOCK * ((uint64_t)ps[0] + ps[2]) +
		     ((uint64_t)t[0] + t[1] + t[2] + t[3])) % ADLER_BASE;
		a = (a + s[0] + s[2]) % ADLER_BASE;
	}
#endif
	while (n > 0) {
		size_t k = n < ADLER_NMAX ? n : ADLER_NMAX;
		n -= k;
		for (; k > 0; k--) {
			a += *p++;
			b += a;
		}
		a %= ADLER_BASE;
		b %= ADLER_BASE;
	}
	*pa = (uint32_t)a;
	*pb = (uint32_t)b;
}

#if defined(__SSE2__)
/*
 * Bit i set when pixel x + i starts a copy of the row above or a run of at least MATCH_MIN pixels,
 * for i < 14 (16 pixels compared: each start needs the two after it). Needs 1 <= x, x + 16 <= w.
 */
static inline unsigned match_starts(const uint8_t *row, const uint8_t *above, size_t x)
{
	const __m128i v = _mm_loadu_si128((const __m128i *)(const void *)(row + x));
	const __m128i before = _mm_loadu_si128((const __m128i *)(const void *)(row + x - 1));
	const unsigned run = (unsigned)_mm_movemask_epi8(_mm_cmpeq_epi8(v, before));
	unsigned up = 0;
	if (above)
		up = (unsigned)_mm_movemask_epi8(
		    _mm_cmpeq_epi8(v, _mm_loadu_si128((const __m128i *)(const void *)(above + x))));
	return ((up & up >> 1 & up >> 2) | (run & run >> 1 & run >> 2)) & 0x3fffu;
}
#endif

/*
 * One scanline (filter byte 0, then the pixels): at each pixel the longer of a copy of the row above
 * (distance w + 1 in the stream) and a run of the previous pixel (distance 1), or else a literal.
 * With SSE2, stretches of literals (the grey edges of text) are found 16 pixels at a time, so that
 * a literal costs no unpredictable branch; a match is measured eight bytes at a time.
 */
static void deflate_row(bits *out, const uint8_t *row, const uint8_t *above, size_t w, code up_dist,
                        code run_dist)
{
	bits b = *out;
	put(&b, lit_codes[0]);
	for (size_t x = 0; x < w;) {
#if defined(__SSE2__)
		if (x > 0 && x + 16 <= w) {
			const unsigned starts = match_starts(row, above, x);
			const unsigned k = starts ? (unsigned)__builtin_ctz(starts) : 14u;
			unsigned i = 0;
			for (; i + 2 <= k; i += 2) /* two literals a write: at most 18 bits */
				put(&b, pair(lit_codes[row[x + i]], lit_codes[row[x + i + 1]]));
			if (i < k)
				put(&b, lit_codes[row[x + i]]);
			x += k;
			if (!starts)
				continue;
		}
#endif
		const size_t max = w - x < MATCH_MAX ? w - x : MATCH_MAX;
		const uint8_t v = row[x];
		size_t up = 0, run = 0;
		if (above && above[x] == v)
			up = same_len(row + x, above + x, max);
		if (up < max && x > 0 && row[x - 1] == v)
			run = run_len(row + x, v, max);
		if (up >= MATCH_MIN && up >= run) {
			put(&b, pair(len_codes[up], up_dist));
			x += up;
		} else if (run >= MATCH_MIN) {
			put(&b, pair(len_codes[run], run_dist));
			x += run;
		} else {
			put(&b, lit_codes[v]);
			x++;
		}
	}
	*out = b;
}

static void put32be(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)(v >> 24);
	p[1] = (uint8_t)(v >> 16);
	p[2] = (uint8_t)(v >> 8);
	p[3] = (uint8_t)v;
}

/* A chunk whose type and data are at p[4..4 + n + 4): its length goes in p[0..4), its CRC after. */
static void chunk_seal(uint8_t *p, size_t n)
{
	put32be(p, (uint32_t)n);
	put32be(p + 8 + n, (uint32_t)crc32(0, p + 4, (uInt)(n + 4)));
}

#if defined(__SSE2__)
/*
 * 16 pixels of coverage to four bytes of ink levels, one in each 32-bit lane (the bytes c0..c3 of a
 * lane are four pixels, c0 first): the top two bits of each byte are gathered in two steps, the
 * bytes of a 16-bit half (m | m >> 10 puts c1's next to c0's), then the halves (u | u >> 20).
 */
static inline __m128i gather_ink(const uint8_t *cov)
{
	const __m128i m = _mm_and_si128(_mm_loadu_si128((const __m128i *)(const void *)cov), _mm_set1_epi16((short)0xc0c0));
	const __m128i u = _mm_or_si128(m, _mm_srli_epi16(m, 10));
	return _mm_and_si128(_mm_or_si128(u, _mm_srli_epi32(u, 20)), _mm_set1_epi32(0xff));
}
#endif

/*
 * The ink level of a pixel is its coverage's top two bits, the grey their complement. With SSE2, 64
 * pixels at a time, then 16.
 */
void sm_png_pack_ink(const uint8_t *cov, size_t w, uint8_t *out)
{
	size_t x = 0;
#if defined(__SSE2__)
	const __m128i ones = _mm_set1_epi8((char)0xff);
	for (; x + 64 <= w; x += 64, out += 16) {
		const __m128i a = _mm_packs_epi32(gather_ink(cov + x), gather_ink(cov + x + 16));
		const __m128i b = _mm_packs_epi32(gather_ink(cov + x + 32), gather_ink(cov + x + 48));
		_mm_storeu_si128((__m128i *)(void *)out, _mm_xor_si128(_mm_packus_epi16(a, b), ones));
	}
	for (; x + 16 <= w; x += 16, out += 4) {
		__m128i v = _mm_packs_epi32(gather_ink(cov + x), _mm_setzero_si128());
		v = _mm_xor_si128(_mm_packus_epi16(v, v), ones);
		const uint32_t four = (uint32_t)_mm_cvtsi128_si32(v);
		memcpy(out, &four, 4); /* the low four bytes, in memory order on little-endian x86 */
	}
#endif
	for (; x < w; x += 4) {
		unsigned v = 0;
		for (size_t k = 0; k < 4; k++)
			v = v << 2 | (x + k < w ? cov[x + k] >> 6 : 0u);
		*out++ = (uint8_t)~v;
	}
}

/* The bytes of a grey PNG before its IDAT: signature, IHDR and pHYs. */
#define PNG_HEAD (8 + 25 + 21)
static const uint8_t png_iend[12] = {0, 0, 0, 0, 'I', 'E', 'N', 'D', 0xae, 0x42, 0x60, 0x82};

/* Signature, IHDR (grey of `depth` bits, deflate, no interlace) and pHYs of `dpi` in pixels per metre. */
static void png_head(uint8_t head[PNG_HEAD], uint32_t w, uint32_t h, unsigned depth, int dpi)
{
	static const uint8_t sig[8] = {0x89, 'P', 'N', 'G', '\r', '\n', 0x1a, '\n'};
	uint8_t *ihdr = head + 8, *phys = head + 8 + 25;
	memset(head, 0, PNG_HEAD);
	memcpy(head, sig, 8);
	memcpy(ihdr + 4, "IHDR", 4);
	put32be(ihdr + 8, w);
	put32be(ihdr + 12, h);
	ihdr[16] = (uint8_t)depth;
	chunk_seal(ihdr, 13);
	const uint32_t ppm = (uint32_t)(dpi / 0.0254 + 0.5);
	memcpy(phys + 4, "pHYs", 4);
	put32be(phys + 8, ppm);
	put32be(phys + 12, ppm);
	phys[16] = 1; /* the unit is the metre */
	chunk_seal(phys, 9);
}

int sm_png_grey2(const uint8_t *pix, size_t stride, uint32_t w, uint32_t h, int dpi, sm_buf *out)
{
	const size_t rowbytes = ((size_t)w + 3) / 4;
	if (w == 0 || h == 0 || w > SM_PNG_WIDTH_MAX || stride < rowbytes)
		return SM_EINVAL;
	pthread_once(&codes_once, codes_init);
	/* worst case: every byte a 9-bit literal, every filter byte 8 bits; chunk framing around */
	const size_t raw = (rowbytes + 1) * h;
	if (raw > (SIZE_MAX - 64) / 9)
		return SM_ETOOBIG;
	const size_t cap = raw / 8 * 9 + raw % 8 * 2 + 64;
	uint8_t *idat = malloc(cap);
	if (!idat)
		return SM_ENOMEM;

	uint8_t head[PNG_HEAD];
	png_head(head, w, h, 2, dpi);

	/* IDAT: a zlib stream (78 01: deflate, 32 KiB window, fastest) of one fixed-Huffman block */
	memcpy(idat + 4, "IDAT\x78\x01", 6);
	bits b = {idat + 10, 0, 0};
	put(&b, (code){0x3, 3}); /* BFINAL = 1, BTYPE = 01 (fixed Huffman) */
	const code up_dist = dist_code((unsigned)rowbytes + 1), run_dist = dist_code(1);
	uint32_t a = 1, s = 0;
	for (uint32_t y = 0; y < h; y++) {
		const uint8_t *row = pix + (size_t)y * stride;
		deflate_row(&b, row, y ? row - stride : NULL, rowbytes, up_dist, run_dist);
		s = (s + a) % ADLER_BASE; /* the filter byte 0 */
		adler_update(&a, &s, row, rowbytes);
	}
	put(&b, end_of_block);
	flush(&b);
	put32be(b.p, s << 16 | a);
	const size_t n = (size_t)(b.p + 4 - (idat + 8));
	chunk_seal(idat, n);

	int rc = sm_buf_append(out, head, sizeof(head));
	if (!rc)
		rc = sm_buf_append(out, idat, n + 12);
	if (!rc)
		rc = sm_buf_append(out, png_iend, sizeof(png_iend));
	free(idat);
	return rc;
}

/*
 * zlib's deflate at level 9, not the label encoder: a code of 1-bit pixels has few runs of whole bytes
 * and many short repeats within a row, which the fixed codes above leave at ~3 times zlib's size.
 */
int sm_png_grey1(const uint8_t *pix, size_t stride, uint32_t w, uint32_t h, int dpi, sm_buf *out)
{
	const size_t rowbytes = ((size_t)w + 7) / 8;
	if (w == 0 || h == 0 || w > SM_PNG_MONO_MAX || h > SM_PNG_MONO_MAX || stride < rowbytes)
		return SM_EINVAL;
	const size_t raw_n = (rowbytes + 1) * h;
	uLongf zn = compressBound((uLong)raw_n);
	uint8_t *raw = malloc(raw_n), *idat = malloc(zn + 12);
	int rc = raw && idat ? 0 : SM_ENOMEM;
	for (uint32_t y = 0; !rc && y < h; y++) {
		raw[(size_t)y * (rowbytes + 1)] = 0; /* filter: none */
		memcpy(raw + (size_t)y * (rowbytes + 1) + 1, pix + (size_t)y * stride, rowbytes);
	}
	if (!rc && compress2(idat + 8, &zn, raw, (uLong)raw_n, 9) != Z_OK)
		rc = SM_ENOMEM;
	if (!rc) {
		uint8_t head[PNG_HEAD];
		png_head(head, w, h, 1, dpi);
		memcpy(idat + 4, "IDAT", 4);
		chunk_seal(idat, zn);
		rc = sm_buf_append(out, head, sizeof(head));
	}
	if (!rc)
		rc = sm_buf_append(out, idat, zn + 12);
	if (!rc)
		rc = sm_buf_append(out, png_iend, sizeof(png_iend));
	free(idat);
	free(raw);
	return rc;
}
