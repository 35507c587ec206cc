/* SPDX-License-Identifier: Apache-2.0 */
/* Private: a fast PNG writer for label images. */
#ifndef STARMARK_PNG_INT_H
#define STARMARK_PNG_INT_H

#include <stddef.h>
#include <stdint.h>

#include "starmark/buf.h"

/* The widest image sm_png_grey2 writes: a row of 2-bit pixels must fit one deflate distance (32,768). */
#define SM_PNG_WIDTH_MAX 131064u

/**
 * Pack `n` pixels of an ink coverage map (0 paper .. 255 full ink, as cairo draws an A8 surface)
 * into 2-bit grey, four pixels a byte, the first in the high bits: (n + 3) / 4 bytes at `out`, the
 * pixels past n in the last byte white.
 *
 * Four levels, ink from a quarter coverage on (coverage 0..63 is paper, 64..127 light grey,
 * 128..191 dark grey, 192..255 black). A 1-bit threshold cut strokes off small text (a 2 mm
 * product name in kanji, the hyphens of a registration number); four levels keep them, look like
 * 8-bit grey in print, and are a quarter of its bytes to write.
 */
void sm_png_pack_ink(const uint8_t *cov, size_t n, uint8_t *out);

/**
 * Append to `out` a complete PNG of `w` x `h` 2-bit grey pixels (0 black .. 3 white, packed as
 * sm_png_pack_ink does), row y at `pix + y * stride`, with a pHYs chunk of `dpi` so that it prints
 * at its size.
 *
 * The rows are deflated by an encoder made for labels, not by zlib's general one: every row is
 * coded as copies of the row above (a printed code repeats each row of modules for several pixel
 * rows), runs of one byte (paper, bars) and literals, with the fixed Huffman codes of RFC 1951.
 * That is about as small as zlib's level 9 on a label and many times faster (bench/labels.sh).
 *
 * 0, or SM_EINVAL (a size of 0, wider than SM_PNG_WIDTH_MAX, a stride shorter than a row),
 * SM_ENOMEM, SM_ETOOBIG (from `out`).
 */
int sm_png_grey2(const uint8_t *pix, size_t stride, uint32_t w, uint32_t h, int dpi, sm_buf *out);

/* The largest side sm_png_grey1 writes: a 100 mm code (SM_LABEL_CODE_MM_MAX) at 1200 dpi is 4,725 dots. */
#define SM_PNG_MONO_MAX 8192u

/**
 * Append to `out` a complete PNG of `w` x `h` 1-bit grey pixels (0 black, 1 white, eight a byte, the
 * first in the high bit), row y at `pix + y * stride`, with a pHYs chunk of `dpi`: a QR code drawn at
 * the dots of a printer. 0, or SM_EINVAL (a size of 0 or over SM_PNG_MONO_MAX, a short stride),
 * SM_ENOMEM, SM_ETOOBIG (from `out`).
 */
int sm_png_grey1(const uint8_t *pix, size_t stride, uint32_t w, uint32_t h, int dpi, sm_buf *out);

#endif
