/* SPDX-License-Identifier: Apache-2.0 */
/* Private: the fonts labels and reports are set in, opened the one way both measure and draw them. */
#ifndef STARMARK_FONT_INT_H
#define STARMARK_FONT_INT_H

#include <stdbool.h>

#include <cairo.h>

/* A face and the same at a fixed size to measure text with: unhinted metrics, so that widths
 * measured once scale to any size and match every output (PNG, PDF, SVG). */
typedef struct sm_font {
	cairo_font_face_t *face;
	cairo_scaled_font_t *measure;
} sm_font;

/**
 * Open `family` (fontconfig name; regular or bold) and its measuring font at `measure_size` units.
 * On failure nothing is held. SM_ENOMEM (cairo reports a missing family as a fallback face, not an
 * error: what the family resolves to is fontconfig's answer).
 */
int sm_font_open(sm_font *f, const char *family, bool bold, double measure_size);
/** Release what sm_font_open made; a zeroed or already closed font is harmless. */
void sm_font_close(sm_font *f);
/** Font options for drawing what was measured with sm_font_open: unhinted metrics, `aa`; NULL when
 * out of memory (cairo_set_font_options then ignores it). The caller destroys them. */
cairo_font_options_t *sm_font_options(cairo_antialias_t aa);

#endif
