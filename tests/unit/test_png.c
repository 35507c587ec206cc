/* SPDX-License-Identifier: Apache-2.0 */
/* Unit tests of lib/png.c: every image read back by zlib (inflate, CRC-32) exactly, and the packing. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <zlib.h>

#include "png_int.h"
#include "starmark/error.h"

static uint32_t be32(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

/*
 * Read a PNG written by sm_png_grey2 with zlib alone: signature, chunk order and CRCs, IHDR, pHYs,
 * then inflate the IDAT (zlib checks the Adler-32) and check that every scanline is filter 0
 * followed by the row's bytes as given.
 */
static void check_png(const sm_buf *png, const uint8_t *pix, size_t stride, uint32_t w, uint32_t h, int dpi)
{
	static const uint8_t sig[8] = {0x89, 'P', 'N', 'G', '\r', '\n', 0x1a, '\n'};
	assert_true(png->len > 8);
	assert_memory_equal(png->data, sig, 8);
	const char *want[4] = {"IHDR", "pHYs", "IDAT", "IEND"};
	size_t off = 8, rowbytes = (w + 3) / 4;
	const uint8_t *idat = NULL;
	size_t idat_len = 0;
	for (int k = 0; k < 4; k++) {
		assert_true(off + 12 <= png->len);
		const uint32_t n = be32(png->data + off);
		assert_true(off + 12 + n <= png->len);
		if (memcmp(png->data + off + 4, want[k], 4) != 0)
			fail_msg("chunk %d is %.4s, want %s", k, (const char *)png->data + off + 4, want[k]);
		const uint32_t crc = (uint32_t)crc32(0, png->data + off + 4, n + 4);
		assert_int_equal(be32(png->data + off + 8 + n), crc);
		const uint8_t *d = png->data + off + 8;
		if (k == 0) {
			assert_int_equal(n, 13);
			assert_int_equal(be32(d), w);
			assert_int_equal(be32(d + 4), h);
			assert_int_equal(d[8], 2); /* bit depth */
			assert_int_equal(d[9], 0); /* grey */
			assert_int_equal(d[10] | d[11] | d[12], 0);
		} else if (k == 1) {
			assert_int_equal(n, 9);
			assert_int_equal(be32(d), (uint32_t)(dpi / 0.0254 + 0.5));
			assert_int_equal(be32(d + 4), be32(d));
			assert_int_equal(d[8], 1);
		} else if (k == 2) {
			idat = d;
			idat_len = n;
		} else {
			assert_int_equal(n, 0);
		}
		off += 12 + n;
	}
	assert_int_equal(off, png->len);
	uLongf raw_len = (uLongf)((rowbytes + 1) * h);
	uint8_t *raw = malloc(raw_len + 1);
	assert_non_null(raw);
	const int zrc = uncompress(raw, &raw_len, idat, (uLong)idat_len);
	if (zrc != Z_OK)
		fail_msg("zlib cannot inflate the IDAT of a %u x %u image: %d", w, h, zrc);
	assert_int_equal(raw_len, (rowbytes + 1) * h);
	for (uint32_t y = 0; y < h; y++) {
		const uint8_t *line = raw + y * (rowbytes + 1);
		assert_int_equal(line[0], 0);
		if (memcmp(line + 1, pix + y * stride, rowbytes) != 0)
			fail_msg("row %u of a %u x %u image differs after inflate", y, w, h);
	}
	free(raw);
}

static uint64_t rng = 0x9e3779b97f4a7c15ull;

static uint32_t rnd(void)
{
	rng ^= rng << 13;
	rng ^= rng >> 7;
	rng ^= rng << 17;
	return (uint32_t)(rng >> 16);
}

/* Images of every kind the encoder treats differently: paper, bars and runs, repeated rows, noise
 * (literals), rows repeated in part, widths around 16 and 258 bytes, one row, one column. */
static void fill(uint8_t *pix, size_t stride, size_t rowbytes, uint32_t h, int kind)
{
	for (uint32_t y = 0; y < h; y++) {
		uint8_t *row = pix + y * stride;
		for (size_t x = 0; x < rowbytes; x++) {
			switch (kind) {
			case 0: row[x] = 0xff; break;
			case 1: row[x] = (uint8_t)(x / 7 % 2 ? 0x00 : 0xff); break;
			case 2: row[x] = (uint8_t)rnd(); break;
			case 3: row[x] = y % 5 ? pix[(y - y % 5) * stride + x] : (uint8_t)rnd(); break;
			case 4: row[x] = x < rowbytes / 2 && y ? pix[(y - 1) * stride + x] : (uint8_t)(rnd() % 3 ? 0xff : rnd()); break;
			default: row[x] = (uint8_t)(rnd() % 9 ? row[x ? x - 1 : 0] : rnd()); break;
			}
		}
	}
}

static void test_png_roundtrip(void **state)
{
	(void)state;
	static const uint32_t widths[] = {1, 3, 4, 5, 63, 64, 65, 67, 650, 1029, 1032, 1036, 2000};
	static const uint32_t heights[] = {1, 2, 7, 284};
	for (size_t wi = 0; wi < sizeof(widths) / sizeof(widths[0]); wi++)
		for (size_t hi = 0; hi < sizeof(heights) / sizeof(heights[0]); hi++)
			for (int kind = 0; kind < 6; kind++) {
				const uint32_t w = widths[wi], h = heights[hi];
				const size_t rowbytes = (w + 3) / 4, stride = rowbytes + kind % 3;
				uint8_t *pix = calloc(stride * h + 1, 1);
				assert_non_null(pix);
				fill(pix, stride, rowbytes, h, kind);
				sm_buf png = SM_BUF_INIT;
				assert_int_equal(sm_png_grey2(pix, stride, w, h, 300, &png), 0);
				check_png(&png, pix, stride, w, h, 300);
				sm_buf_cleanup(&png);
				free(pix);
			}
}

/* A blank label-sized image is about 4 bytes a row (a filter byte and one copy of the row above); a
 * code-like one far below the raw size. */
static void test_png_small(void **state)
{
	(void)state;
	const uint32_t w = 650, h = 284;
	const size_t rowbytes = (w + 3) / 4;
	uint8_t *pix = malloc(rowbytes * h);
	assert_non_null(pix);
	fill(pix, rowbytes, rowbytes, h, 0);
	sm_buf png = SM_BUF_INIT;
	assert_int_equal(sm_png_grey2(pix, rowbytes, w, h, 600, &png), 0);
	check_png(&png, pix, rowbytes, w, h, 600);
	assert_true(png.len < 5 * h);
	png.len = 0;
	fill(pix, rowbytes, rowbytes, h, 3);
	assert_int_equal(sm_png_grey2(pix, rowbytes, w, h, 300, &png), 0);
	assert_true(png.len < rowbytes * h / 3);
	sm_buf_cleanup(&png);
	free(pix);
}

static void test_png_refusals(void **state)
{
	(void)state;
	uint8_t pix[16] = {0};
	sm_buf png = SM_BUF_INIT;
	assert_int_equal(sm_png_grey2(pix, 4, 0, 1, 300, &png), SM_EINVAL);
	assert_int_equal(sm_png_grey2(pix, 4, 4, 0, 300, &png), SM_EINVAL);
	assert_int_equal(sm_png_grey2(pix, 1, 8, 1, 300, &png), SM_EINVAL); /* a row is 2 bytes */
	assert_int_equal(sm_png_grey2(pix, 4, SM_PNG_WIDTH_MAX + 1, 1, 300, &png), SM_EINVAL);
	assert_int_equal(png.len, 0);
	png.max = 40; /* the cap of the output buffer holds */
	assert_int_equal(sm_png_grey2(pix, 4, 4, 1, 300, &png), SM_ETOOBIG);
	sm_buf_cleanup(&png);
}

/* Coverage to 2-bit grey: the top two bits, inverted, four a byte, the first in the high bits. */
static void test_png_pack_ink(void **state)
{
	(void)state;
	for (size_t n = 1; n <= 70; n++) {
		uint8_t cov[70], got[19], want[19];
		memset(got, 0xaa, sizeof(got));
		memset(want, 0, sizeof(want));
		for (size_t x = 0; x < n; x++)
			cov[x] = (uint8_t)rnd();
		cov[0] = 63;  /* paper */
		cov[n - 1] = 64; /* light grey */
		for (size_t x = 0; x < (n + 3) / 4 * 4; x++) {
			const unsigned grey = x < n ? 3u - (cov[x] >> 6) : 3u;
			want[x / 4] |= (uint8_t)(grey << (6 - 2 * (x % 4)));
		}
		sm_png_pack_ink(cov, n, got);
		assert_memory_equal(got, want, (n + 3) / 4);
		assert_int_equal(got[(n + 3) / 4], 0xaa); /* nothing written past the row */
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_png_roundtrip),
	    cmocka_unit_test(test_png_small),
	    cmocka_unit_test(test_png_refusals),
	    cmocka_unit_test(test_png_pack_ink),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
