/* SPDX-License-Identifier: Apache-2.0 */
/* libFuzzer target: lib/png.c's own deflate and QR masking, each checked against an independent reader. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <zlib.h>

#include "png_int.h"
#include "qr_int.h"

/*
 * Not a parser of outside input, but hand-written encoders whose output others must read: the input
 * is an image (byte 0: the width's low byte, byte 1: its high bits and the height; the rest the
 * packed pixels, repeated to fill the image), written as a PNG and inflated again by zlib, which must
 * give back every row; and, as text, a QR symbol whose mask penalty must be the least of its eight,
 * module for module libqrencode's symbol with the first mask of that penalty.
 */
static void check_png(const uint8_t *d, size_t n)
{
	if (n < 3)
		return;
	const uint32_t w = 1u + d[0] + ((uint32_t)(d[1] & 0x0f) << 8), h = 1u + (d[1] >> 4) * 3u;
	const size_t rowbytes = (w + 3) / 4, size = rowbytes * h;
	uint8_t *pix = malloc(size), *raw = malloc(size + h);
	if (!pix || !raw)
		abort();
	for (size_t i = 0; i < size; i++)
		pix[i] = d[2 + i % (n - 2)];
	sm_buf png = SM_BUF_INIT;
	if (sm_png_grey2(pix, rowbytes, w, h, 300, &png) != 0)
		abort();
	/* the IDAT chunk follows the signature (8), IHDR (25) and pHYs (21) */
	const uint8_t *idat = png.data + 8 + 25 + 21;
	const uLong len = (uLong)idat[0] << 24 | (uLong)idat[1] << 16 | (uLong)idat[2] << 8 | idat[3];
	uLongf out = (uLongf)(size + h);
	if (memcmp(idat + 4, "IDAT", 4) != 0 || uncompress(raw, &out, idat + 8, len) != Z_OK || out != size + h)
		abort();
	for (uint32_t y = 0; y < h; y++)
		if (raw[y * (rowbytes + 1)] != 0 || memcmp(raw + y * (rowbytes + 1) + 1, pix + y * rowbytes, rowbytes))
			abort();
	sm_buf_cleanup(&png);
	free(pix);
	free(raw);
}

#ifndef SM_NO_QRCODE_ENCODEMASK
extern QRcode *QRcode_encodeMask(QRinput *input, int mask); /* libqrencode 4 as Debian builds it: lib/qr.c */

/* libqrencode's own symbol for `text` with mask m, in the mode lib/qr.c picks. */
static QRcode *with_mask(const char *text, int ec, int m)
{
	QRinput *in = QRinput_new2(0, (QRecLevel)ec);
	const QRencodeMode mode = strspn(text, "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ $%*+-./:") == strlen(text)
	                              ? QR_MODE_AN
	                              : QR_MODE_8;
	if (!in || QRinput_append(in, mode, (int)strlen(text), (const unsigned char *)text) != 0)
		abort();
	QRcode *q = QRcode_encodeMask(in, m);
	QRinput_free(in);
	if (!q)
		abort();
	return q;
}
#endif

static void check_qr(const uint8_t *d, size_t n)
{
	char text[301];
	size_t k = 0;
	for (size_t i = 0; i < n && k < sizeof(text) - 1; i++)
		if (d[i] >= 0x21 && d[i] <= 0x7e)
			text[k++] = (char)d[i];
	text[k] = '\0';
	if (k == 0)
		return;
	const int ec = d[0] & 3;
	QRcode *q = sm_qr_encode(text, ec);
	if (!q)
		abort(); /* 300 printable characters fit every level */
#ifndef SM_NO_QRCODE_ENCODEMASK
	/* the chosen mask is the lowest-numbered of least penalty, and the symbol is libqrencode's with it */
	const unsigned long chosen = sm_qr_penalty(q);
	int first_best = -1;
	unsigned long best = 0;
	for (int m = 0; m < 8; m++) {
		QRcode *r = with_mask(text, ec, m);
		const unsigned long p = sm_qr_penalty(r);
		if (first_best < 0 || p < best) {
			best = p;
			first_best = m;
		}
		if (p == chosen && m == first_best && r->width == q->width) {
			for (int i = 0; i < q->width * q->width; i++)
				if ((r->data[i] & 1) != (q->data[i] & 1))
					abort();
		}
		QRcode_free(r);
	}
	if (chosen != best)
		abort();
#endif
	QRcode_free(q);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	check_png(data, size);
	check_qr(data, size);
	return 0;
}
