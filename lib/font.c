/* SPDX-License-Identifier: Apache-2.0 */
/* The fonts labels and reports are set in: a face and its measuring font, opened one way for both. */
#include <string.h>

#include "font_int.h"
#include "starmark/error.h"

cairo_font_options_t *sm_font_options(cairo_antialias_t aa)
{
	cairo_font_options_t *fo = cairo_font_options_create();
	cairo_font_options_set_hint_metrics(fo, CAIRO_HINT_METRICS_OFF);
	cairo_font_options_set_hint_style(fo, CAIRO_HINT_STYLE_NONE);
	cairo_font_options_set_antialias(fo, aa);
	if (cairo_font_options_status(fo) != CAIRO_STATUS_SUCCESS) {
		cairo_font_options_destroy(fo);
		return NULL;
	}
	return fo;
}

void sm_font_close(sm_font *f)
{
	if (f->measure)
		cairo_scaled_font_destroy(f->measure);
	if (f->face)
		cairo_font_face_destroy(f->face);
	memset(f, 0, sizeof(*f));
}

int sm_font_open(sm_font *f, const char *family, bool bold, double measure_size)
{
	cairo_matrix_t size, identity;
	cairo_font_options_t *fo = sm_font_options(CAIRO_ANTIALIAS_DEFAULT);
	memset(f, 0, sizeof(*f));
	if (!fo)
		return SM_ENOMEM;
	cairo_matrix_init_scale(&size, measure_size, measure_size);
	cairo_matrix_init_identity(&identity);
	f->face = cairo_toy_font_face_create(family, CAIRO_FONT_SLANT_NORMAL,
	                                     bold ? CAIRO_FONT_WEIGHT_BOLD : CAIRO_FONT_WEIGHT_NORMAL);
	f->measure = cairo_scaled_font_create(f->face, &size, &identity, fo);
	cairo_font_options_destroy(fo);
	if (cairo_scaled_font_status(f->measure) != CAIRO_STATUS_SUCCESS) {
		sm_font_close(f);
		return SM_ENOMEM;
	}
	return 0;
}
