/* SPDX-License-Identifier: Apache-2.0 */
/* Label rendering: the QR code and the label text as PNG, SVG, PDF (one label or A4 sheets) and ZPL. */
#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cairo-pdf.h>
#include <cairo-svg.h>
#include <cairo.h>
#include <qrencode.h>

#include "starmark/buf.h"
#include "starmark/cose.h"
#include "starmark/json.h"
#include "starmark/label.h"
#include "label_int.h"
#include "png_int.h"
#include "qr_int.h"

#define FONT_FAMILY "Noto Sans CJK JP" /* fonts-noto-cjk: Latin, kana, kanji and U+2605 */
#define STAR "\xe2\x98\x85"            /* U+2605 BLACK STAR */
#define ELLIPSIS "\xe2\x80\xa6"        /* U+2026 */
#define QUIET 4                        /* modules of quiet zone on each side (ISO/IEC 18004) */
#define MM_PER_INCH 25.4
#define PT_PER_MM (72.0 / 25.4)

/* Label geometry in units of k = code_mm / 20 (label.h states it). */
#define GEO_W 55.0
#define GEO_H 24.0
#define GEO_MARGIN 2.0
#define GEO_GAP 1.0
#define GEO_TEXT_W 30.0
#define GEO_RULE_Y 10.3
#define GEO_RULE_T 0.12
#define SHRINK_MIN 0.6      /* a required line may shrink to this share of its size */
#define SHRINK_COURTESY 0.8 /* the product name shrinks to this, then is shortened with "…" */

/* A4 sheets, in mm. */
#define A4_W 210.0
#define A4_H 297.0
#define SHEET_MARGIN 10.0
#define SHEET_GUTTER 4.0
#define CUT_LINE_MM 0.1

#define PNG_MAX_PIXELS (100u * 1000u * 1000u)
#define ZPL_MAG_MAX 10
#define ZPL_ROW_MAX 512

enum { LN_STARS, LN_SCHEME, LN_PRODUCT, LN_MODEL, LN_ID, LN_DATE, LN_COUNT };

static const struct line_spec {
	const char *field; /* named in errors */
	double size;       /* em size, in k */
	double baseline;   /* from the label's top, in k */
	bool bold;
	bool courtesy; /* may be shortened visibly instead of refused */
} spec[LN_COUNT] = {
    [LN_STARS] = {"level", 4.4, 5.8, false, false},     [LN_SCHEME] = {"scheme", 2.6, 9.0, true, false},
    [LN_PRODUCT] = {"product", 2.2, 12.8, false, true}, [LN_MODEL] = {"model", 3.0, 16.4, true, false},
    [LN_ID] = {"id", 2.0, 19.3, false, false},          [LN_DATE] = {"registered", 2.0, 21.9, false, false},
};

/*
 * A line of text and its glyphs as measured: set at 100 mm from the origin, unhinted, so drawing it
 * at any size scales the positions (the glyphs are looked up once: measuring and drawing took a third
 * of a PNG label each when cairo looked them up twice). `clusters` map them back to the text, so
 * that PDF and SVG keep it as text.
 */
typedef struct line {
	char text[SM_NAME_MAX + 32];
	double size; /* mm; 0: the line is empty */
	double y;    /* baseline, mm */
	bool bold;
	cairo_glyph_t *glyphs;
	int nglyphs;
	cairo_text_cluster_t *clusters;
	int nclusters;
	cairo_text_cluster_flags_t cluster_flags;
} line;

typedef struct layout {
	double w, h; /* the label, mm */
	double code_x, code_y, code_s;
	double text_x, text_w, rule_y, rule_t;
	int level;
	line ln[LN_COUNT];
} layout;

#define MEASURE_SIZE 100.0 /* the font size text is measured at; unhinted metrics scale from it */

/* The fonts, and the same at MEASURE_SIZE to measure text with. */
typedef struct typeset {
	cairo_font_face_t *face[2]; /* regular, bold */
	cairo_scaled_font_t *measure[2];
} typeset;

/* cairo writes through this into the caller's sm_write_fn, keeping the first error. */
typedef struct sink {
	sm_write_fn write;
	void *ctx;
	int rc;
} sink;

static cairo_status_t sink_write(void *closure, const unsigned char *p, unsigned int n)
{
	sink *k = closure;
	if (k->rc == 0)
		k->rc = k->write(k->ctx, p, n);
	return k->rc ? CAIRO_STATUS_WRITE_ERROR : CAIRO_STATUS_SUCCESS;
}

static long round_pos(double x)
{
	return (long)(x + 0.5);
}

static long ceil_pos(double x)
{
	long v = (long)x;
	return (double)v < x ? v + 1 : v;
}

void sm_label_opts_default(sm_label_opts *o)
{
	o->format = SM_LABEL_PNG;
	o->code_mm = 20.0;
	o->ec = 1;
	o->dpi = 300;
}

static int check_opts(const sm_label_opts *o, bool sheet, sm_err *err)
{
	if (!sheet && (o->format < SM_LABEL_PNG || o->format > SM_LABEL_ZPL))
		return sm_err_set(err, SM_EINVAL, "format", "unknown label format %d (png, svg, pdf or zpl)",
		                  (int)o->format);
	if (!(o->code_mm >= SM_LABEL_CODE_MM_MIN && o->code_mm <= SM_LABEL_CODE_MM_MAX))
		return sm_err_set(err, SM_EINVAL, "code_mm", "the code size must be %.0f to %.0f mm, not %g",
		                  SM_LABEL_CODE_MM_MIN, SM_LABEL_CODE_MM_MAX, o->code_mm);
	if (o->ec < 0 || o->ec > 3)
		return sm_err_set(err, SM_EINVAL, "ec", "error correction must be 0..3 (L, M, Q, H), not %d",
		                  o->ec);
	if (sheet)
		return 0;
	if (o->format == SM_LABEL_PNG && (o->dpi < SM_LABEL_DPI_MIN || o->dpi > SM_LABEL_DPI_MAX))
		return sm_err_set(err, SM_EINVAL, "dpi", "the resolution must be %d to %d dpi, not %d",
		                  SM_LABEL_DPI_MIN, SM_LABEL_DPI_MAX, o->dpi);
	if (o->format == SM_LABEL_ZPL && o->dpi != 203 && o->dpi != 300 && o->dpi != 600)
		return sm_err_set(err, SM_EINVAL, "dpi",
		                  "a ZPL printer prints at 203, 300 or 600 dpi, not %d", o->dpi);
	return 0;
}

static int check_url(const char *url, sm_err *err)
{
	size_t n = url ? strnlen(url, SM_LABEL_URL_MAX + 1) : 0;
	if (n == 0)
		return sm_err_set(err, SM_EINVAL, "url", "the label text is empty");
	if (n > SM_LABEL_URL_MAX)
		return sm_err_set(err, SM_EINVAL, "url", "the label text is longer than %d characters",
		                  SM_LABEL_URL_MAX);
	for (size_t i = 0; i < n; i++) {
		unsigned char ch = (unsigned char)url[i];
		if (ch < 0x21 || ch > 0x7e)
			return sm_err_set(
			    err, SM_EINVAL, "url",
			    "the label text has byte 0x%02x at offset %zu: only printable ASCII is encoded",
			    ch, i);
	}
	return 0;
}

static int encode_qr(const char *url, int ec, QRcode **out, sm_err *err)
{
	static const char level[] = "LMQH";
	int rc = check_url(url, err);
	if (rc)
		return rc;
	errno = 0;
	*out = sm_qr_encode(url, ec);
	if (*out)
		return 0;
	if (errno == ERANGE)
		return sm_err_set(
		    err, SM_ETOOBIG, "url",
		    "the label text (%zu characters) is too long for a QR code at error correction %c",
		    strlen(url), level[ec]);
	if (errno == ENOMEM)
		return sm_err_set(err, SM_ENOMEM, NULL, "out of memory encoding the QR code");
	return sm_err_set(err, SM_EINVAL, "url", "libqrencode refused the label text (errno %d)", errno);
}

int sm_label_qr_size(const char *url, int ec, int *version, int *modules, sm_err *err)
{
	QRcode *q = NULL;
	if (ec < 0 || ec > 3)
		return sm_err_set(err, SM_EINVAL, "ec", "error correction must be 0..3 (L, M, Q, H), not %d",
		                  ec);
	int rc = encode_qr(url, ec, &q, err);
	if (rc)
		return rc;
	*version = q->version;
	*modules = q->width;
	QRcode_free(q);
	return 0;
}

/* ---- text ---- */

static void typeset_cleanup(typeset *t)
{
	for (int i = 0; i < 2; i++) {
		if (t->measure[i])
			cairo_scaled_font_destroy(t->measure[i]);
		if (t->face[i])
			cairo_font_face_destroy(t->face[i]);
	}
	memset(t, 0, sizeof(*t));
}

static int typeset_init(typeset *t, sm_err *err)
{
	memset(t, 0, sizeof(*t));
	cairo_font_options_t *fo = cairo_font_options_create();
	cairo_matrix_t size, identity;
	cairo_matrix_init_scale(&size, MEASURE_SIZE, MEASURE_SIZE);
	cairo_matrix_init_identity(&identity);
	cairo_font_options_set_hint_metrics(fo, CAIRO_HINT_METRICS_OFF);
	cairo_font_options_set_hint_style(fo, CAIRO_HINT_STYLE_NONE);
	bool ok = cairo_font_options_status(fo) == CAIRO_STATUS_SUCCESS;
	for (int i = 0; i < 2; i++) {
		t->face[i] = cairo_toy_font_face_create(FONT_FAMILY, CAIRO_FONT_SLANT_NORMAL,
		                                        i ? CAIRO_FONT_WEIGHT_BOLD : CAIRO_FONT_WEIGHT_NORMAL);
		t->measure[i] = cairo_scaled_font_create(t->face[i], &size, &identity, fo);
		ok = ok && cairo_scaled_font_status(t->measure[i]) == CAIRO_STATUS_SUCCESS;
	}
	cairo_font_options_destroy(fo);
	if (!ok) {
		typeset_cleanup(t);
		return sm_err_set(err, SM_ENOMEM, NULL, "out of memory setting up fonts");
	}
	return 0;
}

/* The width of text extents at `size` mm: the advance or the ink, whichever reaches further. */
static double extent_width(const cairo_text_extents_t *e, double size)
{
	const double w = e->x_bearing + e->width > e->x_advance ? e->x_bearing + e->width : e->x_advance;
	return w * size / MEASURE_SIZE;
}

/* The width in mm of `s` set at `size` mm. */
static double text_width(typeset *t, const char *s, bool bold, double size)
{
	cairo_text_extents_t e;
	cairo_scaled_font_text_extents(t->measure[bold], s, &e);
	return extent_width(&e, size);
}

static void line_release(line *ln)
{
	if (ln->glyphs)
		cairo_glyph_free(ln->glyphs);
	if (ln->clusters)
		cairo_text_cluster_free(ln->clusters);
	ln->glyphs = NULL;
	ln->clusters = NULL;
	ln->nglyphs = ln->nclusters = 0;
}

/* Look up the glyphs of ln->text; its width in mm at ln->size in *width. */
static int line_glyphs(typeset *t, line *ln, double *width)
{
	line_release(ln);
	cairo_scaled_font_t *f = t->measure[ln->bold];
	if (cairo_scaled_font_text_to_glyphs(f, 0, 0, ln->text, -1, &ln->glyphs, &ln->nglyphs, &ln->clusters,
	                                     &ln->nclusters, &ln->cluster_flags) != CAIRO_STATUS_SUCCESS) {
		ln->glyphs = NULL;
		ln->clusters = NULL;
		ln->nglyphs = ln->nclusters = 0;
		return SM_ENOMEM;
	}
	cairo_text_extents_t e;
	cairo_scaled_font_glyph_extents(f, ln->glyphs, ln->nglyphs, &e);
	*width = extent_width(&e, ln->size);
	return 0;
}

static void layout_release(layout *l)
{
	for (int i = 0; i < LN_COUNT; i++)
		line_release(&l->ln[i]);
}

/* Shorten ln->text at a character boundary until it fits with "…" appended. */
static void shorten(typeset *t, line *ln, double width)
{
	size_t n = strlen(ln->text);
	char buf[sizeof(ln->text) + sizeof(ELLIPSIS)];
	while (n > 0) {
		do
			n--;
		while (n > 0 && ((unsigned char)ln->text[n] & 0xC0) == 0x80);
		memcpy(buf, ln->text, n);
		memcpy(buf + n, ELLIPSIS, sizeof(ELLIPSIS));
		if (text_width(t, buf, ln->bold, ln->size) <= width)
			break;
	}
	memcpy(buf, ln->text, n);
	memcpy(buf + n, ELLIPSIS, sizeof(ELLIPSIS));
	memcpy(ln->text, buf, n + sizeof(ELLIPSIS));
}

/* Set line `i` to `text` at its size, shrunk to fit; refuse what does not fit at the smallest size. */
static int set_line(typeset *t, layout *l, int i, const char *what, const char *value, const char *text,
                    sm_err *err)
{
	const double k = l->code_s / 20.0;
	line *ln = &l->ln[i];
	size_t len = strlen(text);
	if (len >= sizeof(ln->text))
		return sm_err_set(err, SM_EINVAL, spec[i].field, "%s is %zu bytes, too long for a label",
		                  what, len);
	memcpy(ln->text, text, len + 1);
	ln->bold = spec[i].bold;
	ln->y = spec[i].baseline * k;
	ln->size = spec[i].size * k;
	if (len == 0) {
		ln->size = 0;
		return 0;
	}
	double w = 0;
	if (line_glyphs(t, ln, &w))
		return sm_err_set(err, SM_ENOMEM, NULL, "out of memory setting the label's text");
	if (w <= l->text_w)
		return 0;
	double smallest = ln->size * (spec[i].courtesy ? SHRINK_COURTESY : SHRINK_MIN);
	double fit = ln->size * l->text_w / w * 0.999;
	if (fit >= smallest) {
		ln->size = fit;
		return 0;
	}
	if (spec[i].courtesy) {
		ln->size = smallest;
		shorten(t, ln, l->text_w);
		return line_glyphs(t, ln, &w) ? sm_err_set(err, SM_ENOMEM, NULL, "out of memory setting the label's text")
		                              : 0;
	}
	char q[96];
	sm_err_quote(q, sizeof(q), value, strlen(value));
	return sm_err_set(
	    err, SM_EINVAL, spec[i].field,
	    "%s '%s' does not fit the label: %.1f mm wide at the smallest type (%.1f mm), the text area "
	    "is %.1f mm wide (the layout scales with the code, so only a shorter text fits)",
	    what, q, w * smallest / ln->size, smallest, l->text_w);
}

static int find_model(const sm_cert *c, const char *model, const char **out, sm_err *err)
{
	if (!model) {
		if (c->nmodels == 0 || !c->models[0])
			return sm_err_set(err, SM_EINVAL, "model", "certificate %s lists no model number",
			                  c->id);
		*out = c->models[0];
		return 0;
	}
	for (size_t i = 0; i < c->nmodels; i++) {
		if (strcmp(c->models[i], model) == 0) {
			*out = c->models[i];
			return 0;
		}
	}
	char q[80];
	sm_err_quote(q, sizeof(q), model, strlen(model));
	return sm_err_set(err, SM_EINVAL, "model", "'%s' is not a model number of certificate %s", q, c->id);
}

static int layout_lines(typeset *t, const sm_cert *c, const char *model, double code_mm, layout *l,
                        sm_err *err);

/* The layout of a label, its lines' glyphs included (layout_release them); on failure, nothing held. */
static int build_layout(typeset *t, const sm_cert *c, const char *model, double code_mm, layout *l,
                        sm_err *err)
{
	int rc = layout_lines(t, c, model, code_mm, l, err);
	if (rc)
		layout_release(l);
	return rc;
}

static int layout_lines(typeset *t, const sm_cert *c, const char *model, double code_mm, layout *l,
                        sm_err *err)
{
	const double k = code_mm / 20.0;
	const char *m = NULL;
	char buf[SM_NAME_MAX + 32];
	int rc = 0;
	memset(l, 0, sizeof(*l));
	l->w = GEO_W * k;
	l->h = GEO_H * k;
	l->code_x = l->code_y = GEO_MARGIN * k;
	l->code_s = code_mm;
	l->text_x = l->code_x + l->code_s + GEO_GAP * k;
	l->text_w = GEO_TEXT_W * k;
	l->rule_y = GEO_RULE_Y * k;
	l->rule_t = GEO_RULE_T * k;
	if (c->level < 1 || c->level > SM_LEVELS_MAX)
		return sm_err_set(err, SM_EINVAL, "level",
		                  "certificate %s has level %d; a label shows 1..%d stars", c->id, c->level,
		                  SM_LEVELS_MAX);
	l->level = c->level;
	if (c->registered == SM_DATE_NONE)
		return sm_err_set(err, SM_EINVAL, "registered", "certificate %s has no registration date",
		                  c->id);
	if ((rc = find_model(c, model, &m, err)))
		return rc;
	buf[0] = '\0';
	for (int i = 0; i < c->level; i++)
		memcpy(buf + i * (sizeof(STAR) - 1), STAR, sizeof(STAR));
	if ((rc = set_line(t, l, LN_STARS, "the level", buf, buf, err)) ||
	    (rc = set_line(t, l, LN_SCHEME, "the scheme name", c->scheme, c->scheme, err)) ||
	    (rc = set_line(t, l, LN_PRODUCT, "the product name", c->product ? c->product : "",
	                   c->product ? c->product : "", err)) ||
	    (rc = set_line(t, l, LN_MODEL, "the model number", m, m, err)))
		return rc;
	snprintf(buf, sizeof(buf), "Reg. No. %s", c->id);
	if ((rc = set_line(t, l, LN_ID, "the registration number", c->id, buf, err)))
		return rc;
	char date[11];
	sm_date_format(c->registered, date);
	snprintf(buf, sizeof(buf), "Registered %s", date);
	return set_line(t, l, LN_DATE, "the registration date", date, buf, err);
}

/* ---- drawing (cairo, in mm) ---- */

/* All dark modules as one path: one fill, so abutting modules leave no seams when rasterised. */
static void draw_qr(cairo_t *cr, const QRcode *q, double x, double y, double side)
{
	const int w = q->width;
	const double u = side / (w + 2 * QUIET);
	for (int r = 0; r < w; r++) {
		const unsigned char *row = q->data + (size_t)r * (size_t)w;
		for (int c = 0; c < w;) {
			if (!(row[c] & 1)) {
				c++;
				continue;
			}
			int start = c;
			while (c < w && (row[c] & 1))
				c++;
			cairo_rectangle(cr, x + (QUIET + start) * u, y + (QUIET + r) * u, (c - start) * u, u);
		}
	}
	cairo_fill(cr);
}

/*
 * The code as a 1-module-per-pixel stencil scaled without smoothing: what PDF pages use. A page of
 * 30 codes as paths is ~18,000 rectangles whose coordinates cairo prints and deflates, which made a
 * 1,000-label sheet take seconds; as image masks it is a fraction of that, and just as sharp.
 */
static cairo_pattern_t *qr_stencil(const QRcode *q)
{
	const int w = q->width;
	cairo_surface_t *s = cairo_image_surface_create(CAIRO_FORMAT_A8, w, w);
	if (cairo_surface_status(s) == CAIRO_STATUS_SUCCESS) {
		uint8_t *p = cairo_image_surface_get_data(s);
		const int stride = cairo_image_surface_get_stride(s);
		cairo_surface_flush(s);
		for (int r = 0; r < w; r++)
			for (int c = 0; c < w; c++)
				p[(size_t)r * (size_t)stride + (size_t)c] =
				    q->data[(size_t)r * (size_t)w + (size_t)c] & 1 ? 0xff : 0;
		cairo_surface_mark_dirty(s);
	}
	cairo_pattern_t *pat = cairo_pattern_create_for_surface(s);
	cairo_pattern_set_filter(pat, CAIRO_FILTER_NEAREST);
	cairo_surface_destroy(s);
	return pat;
}

static void draw_qr_stencil(cairo_t *cr, cairo_pattern_t *stencil, int width, double x, double y, double side)
{
	const double u = side / (width + 2 * QUIET);
	cairo_save(cr);
	cairo_translate(cr, x + QUIET * u, y + QUIET * u);
	cairo_scale(cr, u, u);
	cairo_mask(cr, stencil);
	cairo_restore(cr);
}

static void draw_text(cairo_t *cr, typeset *t, const line *ln, double x)
{
	cairo_glyph_t g[sizeof(ln->text)]; /* a glyph per byte at most */
	if (ln->size <= 0 || ln->nglyphs <= 0 || (size_t)ln->nglyphs > sizeof(ln->text))
		return;
	const double k = ln->size / MEASURE_SIZE;
	for (int i = 0; i < ln->nglyphs; i++)
		g[i] = (cairo_glyph_t){ln->glyphs[i].index, x + ln->glyphs[i].x * k, ln->y + ln->glyphs[i].y * k};
	cairo_set_font_face(cr, t->face[ln->bold]);
	cairo_set_font_size(cr, ln->size);
	cairo_show_text_glyphs(cr, ln->text, -1, g, ln->nglyphs, ln->clusters, ln->nclusters, ln->cluster_flags);
}

/*
 * One label with its top-left corner at the current origin, black on what is there. The code is
 * drawn from `stencil` when given, else as paths from `q`, else (both NULL) not at all.
 */
static void draw_label(cairo_t *cr, typeset *t, const layout *l, const QRcode *q, cairo_pattern_t *stencil)
{
	cairo_set_source_rgb(cr, 0, 0, 0);
	if (stencil)
		draw_qr_stencil(cr, stencil, q->width, l->code_x, l->code_y, l->code_s);
	else if (q)
		draw_qr(cr, q, l->code_x, l->code_y, l->code_s);
	for (int i = 0; i < LN_COUNT; i++)
		draw_text(cr, t, &l->ln[i], l->text_x);
	cairo_rectangle(cr, l->text_x, l->rule_y, l->text_w, l->rule_t);
	cairo_fill(cr);
}

/* Font options for a target: unhinted metrics everywhere (the layout was measured so). */
static void use_fonts(cairo_t *cr, cairo_antialias_t aa)
{
	cairo_font_options_t *fo = cairo_font_options_create();
	cairo_font_options_set_hint_metrics(fo, CAIRO_HINT_METRICS_OFF);
	cairo_font_options_set_antialias(fo, aa);
	cairo_set_font_options(cr, fo);
	cairo_font_options_destroy(fo);
	cairo_set_antialias(cr, aa);
}

static int cairo_failed(cairo_status_t st, sm_err *err)
{
	if (st == CAIRO_STATUS_NO_MEMORY)
		return sm_err_set(err, SM_ENOMEM, NULL, "out of memory rendering the label");
	return sm_err_set(err, SM_EIO, NULL, "rendering the label failed: %s", cairo_status_to_string(st));
}

/* Finish a vector surface and tell what went wrong: the sink's error first, then cairo's. */
static int finish(cairo_t *cr, cairo_surface_t *s, const sink *k, sm_err *err)
{
	cairo_status_t st = cairo_status(cr);
	cairo_destroy(cr);
	cairo_surface_finish(s);
	if (st == CAIRO_STATUS_SUCCESS)
		st = cairo_surface_status(s);
	cairo_surface_destroy(s);
	if (k->rc)
		return sm_err_set(err, k->rc, NULL, "writing the label failed: %s", sm_strerror(k->rc));
	return st == CAIRO_STATUS_SUCCESS ? 0 : cairo_failed(st, err);
}

/* ---- PNG: 2-bit grey with pHYs (png.c) ---- */

/* The code's module edges in pixels: each on the pixel nearest its exact position, so the code's extent
 * is right within a pixel and every module is sharp. */
typedef struct qr_grid {
	int n;                  /* modules a side */
	long ex[177 + 1], ey[177 + 1]; /* 177 modules is version 40 */
} qr_grid;

static void qr_grid_make(qr_grid *g, const layout *l, const QRcode *q, double px_mm)
{
	const double u = l->code_s / (q->width + 2 * QUIET);
	g->n = q->width;
	for (int k = 0; k <= g->n; k++) {
		g->ex[k] = round_pos((l->code_x + (QUIET + k) * u) * px_mm);
		g->ey[k] = round_pos((l->code_y + (QUIET + k) * u) * px_mm);
	}
}

/* Ink (255) the dark modules of code row r that fall in pixels [x0, x1) of a coverage row starting at x0. */
static void qr_ink_row(uint8_t *cov, long x0, long x1, const qr_grid *g, const QRcode *q, int r)
{
	const unsigned char *m = q->data + (size_t)r * (size_t)g->n;
	int c = g->n;
	while (c > 0 && g->ex[c] > x0) /* column c - 1 ends past x0: the columns needed start at or before it */
		c--;
	for (; c < g->n && g->ex[c] < x1; c++) {
		const long a = g->ex[c] > x0 ? g->ex[c] : x0, b = g->ex[c + 1] < x1 ? g->ex[c + 1] : x1;
		if ((m[c] & 1) && a < b)
			memset(cov + (a - x0), 255, (size_t)(b - a));
	}
}

/*
 * The code's side of a PNG label, pixels [0, split) of every row, packed (png.c) straight from the
 * modules: one pixel row a band of modules is packed, the band's other rows are copies of it.
 */
static int png_code_side(uint8_t *pix, size_t rowbytes, long split, long h, const qr_grid *g, const QRcode *q)
{
	uint8_t *cov = malloc((size_t)split);
	if (!cov)
		return SM_ENOMEM;
	const size_t bytes = (size_t)split / 4;
	for (long y = 0; y < h; y++)
		if (y < g->ey[0] || y >= g->ey[g->n])
			memset(pix + (size_t)y * rowbytes, 0xff, bytes); /* white: 2-bit grey 3 */
	for (int r = 0; r < g->n; r++) {
		uint8_t *first = pix + (size_t)g->ey[r] * rowbytes;
		memset(cov, 0, (size_t)split);
		qr_ink_row(cov, 0, split, g, q, r);
		sm_png_pack_ink(cov, (size_t)split, first);
		for (long y = g->ey[r] + 1; y < g->ey[r + 1]; y++)
			memcpy(pix + (size_t)y * rowbytes, first, bytes);
	}
	free(cov);
	return 0;
}

/* A coverage surface (A8, unantialiased drawing) of w x h pixels drawn at `px_per_mm`; NULL-safe status
 * checked by caller. */
static cairo_surface_t *bitmap_new(long w, long h, double px_per_mm, cairo_t **cr)
{
	cairo_surface_t *s = cairo_image_surface_create(CAIRO_FORMAT_A8, (int)w, (int)h);
	*cr = cairo_create(s);
	cairo_scale(*cr, px_per_mm, px_per_mm);
	use_fonts(*cr, CAIRO_ANTIALIAS_GRAY); /* grey coverage: PNG keeps it, ZPL thresholds it */
	return s;
}

/*
 * What a renderer keeps between labels: the fonts, the packed image and the text side's surface
 * (made again only when the size changes).
 */
struct sm_label_renderer {
	typeset t;
	uint8_t *pix; /* the packed 2-bit image */
	size_t pix_cap;
	cairo_surface_t *side; /* the text side's coverage */
	long side_w, side_h;
};

/* A cleared A8 surface of w x h pixels for the text side, the renderer's own when it has a good one that
 * size (one in an error state, out of memory say, is made again). */
static cairo_surface_t *side_surface(sm_label_renderer *r, long w, long h)
{
	if (r->side && (r->side_w != w || r->side_h != h || cairo_surface_status(r->side) != CAIRO_STATUS_SUCCESS)) {
		cairo_surface_destroy(r->side);
		r->side = NULL;
	}
	if (!r->side) {
		r->side = cairo_image_surface_create(CAIRO_FORMAT_A8, (int)w, (int)h);
		r->side_w = w;
		r->side_h = h;
	} else if (cairo_surface_status(r->side) == CAIRO_STATUS_SUCCESS) {
		cairo_surface_flush(r->side);
		memset(cairo_image_surface_get_data(r->side), 0,
		       (size_t)cairo_image_surface_get_stride(r->side) * (size_t)h);
		cairo_surface_mark_dirty(r->side);
	}
	return r->side;
}

/*
 * A PNG label in 2-bit grey (png.c). The code's side is packed from the modules; only the text's side,
 * from a byte boundary at or left of the code's right edge, is drawn by cairo, into a coverage surface
 * of its own (plus the few module pixels that share its first byte).
 */
static int render_png(sm_label_renderer *rr, const layout *l, const QRcode *q, int dpi, sm_buf *out,
                      sm_err *err)
{
	const double px_mm = dpi / MM_PER_INCH;
	const long w = ceil_pos(l->w * px_mm), h = ceil_pos(l->h * px_mm);
	if ((uint64_t)w * (uint64_t)h > PNG_MAX_PIXELS || w > (long)SM_PNG_WIDTH_MAX)
		return sm_err_set(err, SM_ETOOBIG, "dpi", "a %ld x %ld pixel label is over the %u pixel cap",
		                  w, h, PNG_MAX_PIXELS);
	qr_grid g;
	qr_grid_make(&g, l, q, px_mm);
	const long split = g.ex[g.n] / 4 * 4;
	const size_t rowbytes = (size_t)(w + 3) / 4, need = rowbytes * (size_t)h;
	if (need > rr->pix_cap) {
		free(rr->pix);
		rr->pix_cap = 0;
		if (!(rr->pix = malloc(need)))
			return sm_err_set(err, SM_ENOMEM, NULL, "out of memory rendering the label");
		rr->pix_cap = need;
	}
	uint8_t *pix = rr->pix;
	cairo_surface_t *s = side_surface(rr, w - split, h);
	cairo_t *cr = cairo_create(s);
	cairo_translate(cr, -split, 0); /* the surface's pixel 0 is the label's pixel `split` */
	cairo_scale(cr, px_mm, px_mm);
	use_fonts(cr, CAIRO_ANTIALIAS_GRAY);
	/* ADD, not OVER: pixman has a fast path for adding a solid colour through glyph masks to A8
	 * (OVER took a general path, half of a label's time); on blank paper the two are the same */
	cairo_set_operator(cr, CAIRO_OPERATOR_ADD);
	draw_label(cr, &rr->t, l, NULL, NULL);
	cairo_surface_flush(s);
	cairo_status_t st = cairo_status(cr);
	cairo_destroy(cr);
	int rc = st ? cairo_failed(st, err) : 0;
	if (!rc && png_code_side(pix, rowbytes, split, h, &g, q))
		rc = sm_err_set(err, SM_ENOMEM, NULL, "out of memory rendering the label");
	if (!rc) {
		uint8_t *cov = cairo_image_surface_get_data(s);
		const size_t stride = (size_t)cairo_image_surface_get_stride(s);
		for (int r = 0; r < g.n && split < g.ex[g.n]; r++) {
			uint8_t last[4] = {0}; /* the code's pixels in [split, its right edge): at most 3 */
			qr_ink_row(last, split, g.ex[g.n], &g, q, r);
			for (long y = g.ey[r]; y < g.ey[r + 1]; y++)
				memcpy(cov + (size_t)y * stride, last, (size_t)(g.ex[g.n] - split));
		}
		for (long y = 0; y < h; y++)
			sm_png_pack_ink(cov + (size_t)y * stride, (size_t)(w - split),
			                pix + (size_t)y * rowbytes + (size_t)split / 4);
		if ((rc = sm_png_grey2(pix, rowbytes, (uint32_t)w, (uint32_t)h, dpi, out)))
			sm_err_set(err, rc, rc == SM_ENOMEM ? NULL : "dpi", "writing the %ld x %ld pixel PNG failed: %s", w,
			           h, sm_strerror(rc));
	}
	return rc;
}

/* When a label was signed (its token's issued_at), or -1 when the URL holds no readable token. */
static int64_t label_time(const char *url)
{
	uint8_t *tok = NULL;
	size_t n = 0, pn = 0;
	sm_cose *c = NULL;
	sm_label_claims cl;
	int64_t t = -1;
	if (sm_label_parse(url, strlen(url), &tok, &n, NULL) == 0 && sm_cose_decode(tok, n, &c, NULL) == 0) {
		const uint8_t *p = sm_cose_payload(c, &pn);
		if (sm_label_claims_decode(p, pn, &cl, NULL) == 0)
			t = cl.issued_at;
	}
	sm_cose_free(c);
	free(tok);
	return t;
}

/*
 * A PDF is dated (cairo writes the wall clock otherwise) with the newest signing time of its labels, so
 * that the same labels make the same bytes whoever renders them and when: `label ID --server` and
 * `label ID` on the same day with the same key give one file. Labels without a token keep cairo's date.
 */
static void pdf_date(cairo_surface_t *s, const char *const *urls, size_t n)
{
	int64_t t = -1;
	char iso[21];
	for (size_t i = 0; i < n; i++) {
		int64_t u = label_time(urls[i]);
		if (u > t)
			t = u;
	}
	if (t < 0)
		return;
	sm_time_format(t, iso);
	cairo_pdf_surface_set_metadata(s, CAIRO_PDF_METADATA_CREATE_DATE, iso);
}

/*
 * cairo names an SVG's top group "surface<N>", N counted across the whole process, so a long-running
 * server would write another N than a fresh command for the same label. Nothing refers to the group:
 * when it is the only such id, it is named "surface1" (what a fresh process writes).
 */
static void svg_normalise(sm_buf *b)
{
	static const char pre[] = "<g id=\"surface";
	const size_t pl = sizeof(pre) - 1;
	size_t at = 0, count = 0;
	for (size_t i = 0; i + pl <= b->len; i++)
		if (memcmp(b->data + i, pre, pl) == 0 && count++ == 0)
			at = i + pl;
	if (count != 1)
		return;
	size_t end = at;
	while (end < b->len && b->data[end] >= '0' && b->data[end] <= '9')
		end++;
	if (end == at || end >= b->len || b->data[end] != '"')
		return;
	b->data[at] = '1';
	memmove(b->data + at + 1, b->data + end, b->len - end);
	b->len -= end - at - 1;
}

static int buf_sink(void *ctx, const void *p, size_t n)
{
	return sm_buf_append(ctx, p, n);
}

static int render_vector(typeset *t, const layout *l, const QRcode *q, const char *id, const char *url, bool svg,
                         sink *k, sm_err *err)
{
	cairo_surface_t *s = NULL;
	sm_buf svgbuf = SM_BUF_INIT;
	sink ks = {buf_sink, &svgbuf, 0};
	if (svg) {
		/* With the document unit mm, cairo writes width="<w>mm" and a viewBox in the same numbers.
		 * Written to memory first, to be normalised (svg_normalise). */
		s = cairo_svg_surface_create_for_stream(sink_write, &ks, l->w, l->h);
		cairo_svg_surface_set_document_unit(s, CAIRO_SVG_UNIT_MM);
	} else {
		s = cairo_pdf_surface_create_for_stream(sink_write, k, l->w * PT_PER_MM, l->h * PT_PER_MM);
		char title[SM_ID_MAX + 32];
		snprintf(title, sizeof(title), "Certification label %s", id);
		cairo_pdf_surface_set_metadata(s, CAIRO_PDF_METADATA_TITLE, title);
		cairo_pdf_surface_set_metadata(s, CAIRO_PDF_METADATA_CREATOR, "starmark");
		pdf_date(s, &url, 1);
	}
	cairo_t *cr = cairo_create(s);
	if (!svg)
		cairo_scale(cr, PT_PER_MM, PT_PER_MM);
	use_fonts(cr, CAIRO_ANTIALIAS_DEFAULT);
	/* White paper: an SVG is transparent where nothing is drawn, and readers see that as black. */
	cairo_set_source_rgb(cr, 1, 1, 1);
	cairo_paint(cr);
	/* SVG keeps paths: rsvg and browsers smooth scaled images, which would blur the modules */
	cairo_pattern_t *stencil = svg ? NULL : qr_stencil(q);
	draw_label(cr, t, l, q, stencil);
	cairo_show_page(cr);
	if (stencil)
		cairo_pattern_destroy(stencil);
	int rc = finish(cr, s, svg ? &ks : k, err);
	if (!rc && svg) {
		svg_normalise(&svgbuf);
		if ((rc = k->write(k->ctx, svgbuf.data, svgbuf.len)))
			sm_err_set(err, rc, NULL, "writing the label failed: %s", sm_strerror(rc));
	}
	sm_buf_cleanup(&svgbuf);
	return rc;
}

/* ---- ZPL ---- */

/* Field data with ^FH_: the ZPL command characters and the escape itself go as _XX. */
static int zpl_text(sm_buf *b, const char *s)
{
	int rc = sm_buf_puts(b, "^FH_^FD");
	for (; !rc && *s; s++) {
		if (*s == '^' || *s == '~' || *s == '_')
			rc = sm_buf_printf(b, "_%02X", (unsigned)(unsigned char)*s);
		else
			rc = sm_buf_append(b, s, 1);
	}
	return rc ? rc : sm_buf_puts(b, "^FS\n");
}

static bool is_ascii(const char *s)
{
	for (; *s; s++)
		if ((unsigned char)*s < 0x20 || (unsigned char)*s > 0x7e)
			return false;
	return true;
}

/*
 * One row of an A8 surface (coverage) as the 1-bit pixels of ZPL's ^GF (1 prints), the first pixel in
 * the most significant bit: a pixel prints when its coverage is at least a quarter; at half, thin
 * strokes of small text (the hyphens of "SM-2021-000006", the strokes of kanji at 2 mm) vanished.
 */
#define INK_COVERAGE 64

static void zpl_pack_row(const uint8_t *src, long w, uint8_t *dst)
{
	for (long x = 0; x < w; x += 8, src += 8) {
		unsigned v = 0;
		for (long k = 0; k < 8; k++)
			v = v << 1 | (x + k < w && src[k] >= INK_COVERAGE);
		*dst++ = (uint8_t)v;
	}
}

/* A text line the printer fonts cannot set, as a ^GFA bitmap drawn by cairo (1 bits print). */
static int zpl_bitmap_line(sm_buf *b, typeset *t, const line *ln, double x, double dots_mm, sm_err *err)
{
	const double top = ln->y - ln->size * 1.0, bottom = ln->y + ln->size * 0.3;
	const long w = ceil_pos(text_width(t, ln->text, ln->bold, ln->size) * dots_mm) + 2;
	const long h = ceil_pos((bottom - top) * dots_mm);
	cairo_t *cr = NULL;
	cairo_surface_t *s = bitmap_new(w, h, dots_mm, &cr);
	line at = *ln;
	at.y = ln->y - top;
	cairo_set_source_rgb(cr, 0, 0, 0);
	draw_text(cr, t, &at, 0);
	cairo_surface_flush(s);
	const cairo_status_t st = cairo_status(cr);
	const long rowbytes = (w + 7) / 8;
	const int stride = cairo_image_surface_get_stride(s);
	const uint8_t *data = cairo_image_surface_get_data(s);
	uint8_t row[ZPL_ROW_MAX]; /* a line is at most 150 mm at 600 dpi: 3545 dots */
	int rc = sm_buf_printf(b, "^FO%ld,%ld^GFA,%ld,%ld,%ld,", round_pos(x * dots_mm),
	                       round_pos(top * dots_mm), rowbytes * h, rowbytes * h, rowbytes);
	for (long y = 0; !rc && y < h; y++) {
		zpl_pack_row(data + y * stride, w, row);
		for (long i = 0; !rc && i < rowbytes; i++)
			rc = sm_buf_printf(b, "%02X", (unsigned)row[i]);
	}
	if (!rc)
		rc = sm_buf_puts(b, "^FS\n");
	if (st)
		rc = cairo_failed(st, err);
	else if (rc)
		sm_err_set(err, rc, NULL, "out of memory writing ZPL");
	cairo_destroy(cr);
	cairo_surface_destroy(s);
	return rc;
}

static int render_zpl(typeset *t, const layout *l, const QRcode *q, const char *id, const char *url,
                      const sm_label_opts *o, sm_buf *b, sm_err *err)
{
	static const char ec_letter[] = "LMQH";
	const double d = o->dpi / MM_PER_INCH;
	const long mag = round_pos(l->code_s * d / (q->width + 2 * QUIET));
	int rc = 0;
	if (strchr(url, '^') || strchr(url, '~'))
		return sm_err_set(err, SM_EINVAL, "url",
		                  "a ZPL label cannot carry '^' or '~' in its QR text");
	if (mag < 1 || mag > ZPL_MAG_MAX)
		return sm_err_set(
		    err, SM_EINVAL, "code_mm",
		    "a %.1f mm code of %d modules at %d dpi needs %ld dots a module; ZPL draws 1..%d",
		    l->code_s, q->width + 2 * QUIET, o->dpi, mag, ZPL_MAG_MAX);
	/* Centre the printer's symbol (magnification * width dots) in the code square. */
	const long side = mag * q->width;
	const long qx = round_pos((l->code_x + l->code_s / 2) * d) - side / 2;
	const long qy = round_pos((l->code_y + l->code_s / 2) * d) - side / 2;
	rc = sm_buf_printf(b,
	                   "^XA\n^FX starmark certification label %s, %.1f mm code at %d dpi\n"
	                   "^FX printer fonts have no star (U+2605): the level prints as Lv.N and asterisks\n"
	                   "^CI28^PW%ld^LL%ld^LH0,0\n"
	                   "^FO%ld,%ld^BQN,2,%ld^FD%cA,%s^FS\n",
	                   id, l->code_s, o->dpi, ceil_pos(l->w * d), ceil_pos(l->h * d), qx, qy, mag,
	                   ec_letter[o->ec], url);
	for (int i = 0; !rc && i < LN_COUNT; i++) {
		line ln = l->ln[i];
		if (ln.size <= 0)
			continue;
		if (i == LN_STARS) {
			size_t n = (size_t)snprintf(ln.text, sizeof(ln.text), "Lv.%d ", l->level);
			for (int s = 0; s < l->level; s++)
				ln.text[n++] = '*';
			ln.text[n] = '\0';
			ln.size = 3.0 * l->code_s / 20.0;
		}
		if (!is_ascii(ln.text)) {
			rc = zpl_bitmap_line(b, t, &ln, l->text_x, d, err);
			continue;
		}
		const long h = round_pos(ln.size * d);
		rc = sm_buf_printf(b, "^FT%ld,%ld^A0N,%ld,%ld", round_pos(l->text_x * d), round_pos(ln.y * d),
		                   h, h);
		if (!rc)
			rc = zpl_text(b, ln.text);
	}
	if (!rc)
		rc = sm_buf_printf(b, "^FO%ld,%ld^GB%ld,%ld,%ld^FS\n^XZ\n", round_pos(l->text_x * d),
		                   round_pos(l->rule_y * d), round_pos(l->text_w * d),
		                   round_pos(l->rule_t * d) + 1, round_pos(l->rule_t * d) + 1);
	if (rc && !err->msg[0])
		sm_err_set(err, rc, NULL, "out of memory writing ZPL");
	return rc;
}

/* ---- public ---- */

sm_label_renderer *sm_label_renderer_new(sm_err *err)
{
	sm_label_renderer *r = calloc(1, sizeof(*r));
	if (!r) {
		sm_err_set(err, SM_ENOMEM, NULL, "out of memory setting up the label renderer");
		return NULL;
	}
	if (typeset_init(&r->t, err)) {
		free(r);
		return NULL;
	}
	return r;
}

void sm_label_renderer_free(sm_label_renderer *r)
{
	if (!r)
		return;
	typeset_cleanup(&r->t);
	if (r->side)
		cairo_surface_destroy(r->side);
	free(r->pix);
	free(r);
}

int sm_label_renderer_render(sm_label_renderer *r, const sm_cert *c, const char *model, const char *url,
                             const sm_label_opts *o, sm_write_fn write, void *wctx, sm_err *err)
{
	sm_label_opts def;
	layout l;
	bool laid_out = false;
	QRcode *q = NULL;
	sm_buf out = SM_BUF_INIT;
	sink k = {write, wctx, 0};
	sm_err scratch = {0};
	int rc = 0;
	if (!err)
		err = &scratch;
	sm_err_clear(err);
	if (!o) {
		sm_label_opts_default(&def);
		o = &def;
	}
	if ((rc = check_opts(o, false, err)) || (rc = encode_qr(url, o->ec, &q, err)) ||
	    (rc = build_layout(&r->t, c, model, o->code_mm, &l, err)))
		goto out;
	laid_out = true;
	switch (o->format) {
	case SM_LABEL_PNG:
		rc = render_png(r, &l, q, o->dpi, &out, err);
		break;
	case SM_LABEL_ZPL:
		rc = render_zpl(&r->t, &l, q, c->id, url, o, &out, err);
		break;
	default:
		rc = render_vector(&r->t, &l, q, c->id, url, o->format == SM_LABEL_SVG, &k, err);
		break;
	}
	if (!rc && out.len && (rc = write(wctx, out.data, out.len)))
		sm_err_set(err, rc, NULL, "writing the label failed: %s", sm_strerror(rc));
out:
	if (laid_out)
		layout_release(&l);
	sm_buf_cleanup(&out);
	QRcode_free(q);
	return rc;
}

int sm_label_render(const sm_cert *c, const char *model, const char *url, const sm_label_opts *o,
                    sm_write_fn write, void *wctx, sm_err *err)
{
	sm_err scratch = {0};
	if (!err)
		err = &scratch;
	sm_label_renderer *r = sm_label_renderer_new(err);
	if (!r)
		return err->code ? err->code : SM_ENOMEM;
	int rc = sm_label_renderer_render(r, c, model, url, o, write, wctx, err);
	sm_label_renderer_free(r);
	return rc;
}

int sm_label_item_failed(int rc, size_t i, const char *id, sm_err *err)
{
	char msg[SM_ERR_MSG_MAX], field[SM_ERR_FIELD_MAX];
	memcpy(msg, err->msg, sizeof(msg));
	snprintf(field, sizeof(field), "labels[%zu]", i);
	return sm_err_set(err, rc, field, "labels[%zu] (%s): %s", i, id, msg);
}

/* The checked labels on A4 pages, each with a light cut line on its edge. */
static int sheet_draw(typeset *t, const layout *l, QRcode *const *q, cairo_pattern_t *const *stencils,
                      const char *const *urls, size_t n, int per_id, sink *k, sm_err *err)
{
	const double w = l[0].w, h = l[0].h;
	const long cols = (long)((A4_W - 2 * SHEET_MARGIN + SHEET_GUTTER) / (w + SHEET_GUTTER));
	const long rows = (long)((A4_H - 2 * SHEET_MARGIN + SHEET_GUTTER) / (h + SHEET_GUTTER));
	if (cols < 1 || rows < 1)
		return sm_err_set(err, SM_EINVAL, "code_mm", "a %.1f x %.1f mm label does not fit an A4 page",
		                  w, h);
	const double x0 = (A4_W - (cols * w + (cols - 1) * SHEET_GUTTER)) / 2;
	const double y0 = (A4_H - (rows * h + (rows - 1) * SHEET_GUTTER)) / 2;
	cairo_surface_t *s =
	    cairo_pdf_surface_create_for_stream(sink_write, k, A4_W * PT_PER_MM, A4_H * PT_PER_MM);
	cairo_pdf_surface_set_metadata(s, CAIRO_PDF_METADATA_TITLE, "Certification labels");
	cairo_pdf_surface_set_metadata(s, CAIRO_PDF_METADATA_CREATOR, "starmark");
	pdf_date(s, urls, n);
	cairo_t *cr = cairo_create(s);
	cairo_scale(cr, PT_PER_MM, PT_PER_MM);
	use_fonts(cr, CAIRO_ANTIALIAS_DEFAULT);
	const size_t total = n * (size_t)per_id, page = (size_t)(cols * rows);
	for (size_t j = 0; j < total && k->rc == 0; j++) {
		const size_t pos = j % page, i = j / (size_t)per_id;
		if (j > 0 && pos == 0)
			cairo_show_page(cr);
		cairo_save(cr);
		cairo_translate(cr, x0 + (double)(pos % (size_t)cols) * (w + SHEET_GUTTER),
		                y0 + (double)(pos / (size_t)cols) * (h + SHEET_GUTTER));
		cairo_set_source_rgb(cr, 0.7, 0.7, 0.7);
		cairo_set_line_width(cr, CUT_LINE_MM);
		cairo_rectangle(cr, 0, 0, w, h);
		cairo_stroke(cr);
		draw_label(cr, t, &l[i], q[i], stencils[i]);
		cairo_restore(cr);
	}
	cairo_show_page(cr);
	return finish(cr, s, k, err);
}

int sm_label_sheet(sm_cert *const *certs, const char *const *models, const char *const *urls, size_t n,
                   int per_id, const sm_label_opts *o, sm_write_fn write, void *wctx, sm_err *err)
{
	sm_label_opts def;
	typeset t = {0};
	layout *l = NULL;
	QRcode **q = NULL;
	cairo_pattern_t **stencils = NULL;
	sink k = {write, wctx, 0};
	sm_err scratch = {0};
	int rc = 0;
	if (!err)
		err = &scratch;
	sm_err_clear(err);
	if (!o) {
		sm_label_opts_default(&def);
		o = &def;
	}
	if (n == 0)
		return sm_err_set(err, SM_EINVAL, "labels", "a sheet needs at least one label");
	if (per_id < 1 || per_id > SM_LABEL_PER_ID_MAX)
		return sm_err_set(err, SM_EINVAL, "per_id", "each label repeats 1..%d times, not %d",
		                  SM_LABEL_PER_ID_MAX, per_id);
	if (n > SM_LABEL_SHEET_MAX / (size_t)per_id)
		return sm_err_set(err, SM_ETOOBIG, "labels",
		                  "%zu labels x %d is over the %d labels of one sheet document", n, per_id,
		                  SM_LABEL_SHEET_MAX);
	if ((rc = check_opts(o, true, err)) || (rc = typeset_init(&t, err)))
		goto out;
	l = calloc(n, sizeof(*l));
	q = calloc(n, sizeof(*q));
	if (!l || !q) {
		rc = sm_err_set(err, SM_ENOMEM, NULL, "out of memory laying out %zu labels", n);
		goto out;
	}
	/* Everything is checked before the first byte is written. */
	for (size_t i = 0; i < n; i++) {
		if ((rc = encode_qr(urls[i], o->ec, &q[i], err)) ||
		    (rc = build_layout(&t, certs[i], models ? models[i] : NULL, o->code_mm, &l[i], err))) {
			rc = sm_label_item_failed(rc, i, certs[i]->id, err);
			goto out;
		}
	}
	if (!(stencils = calloc(n, sizeof(*stencils)))) {
		rc = sm_err_set(err, SM_ENOMEM, NULL, "out of memory laying out %zu labels", n);
		goto out;
	}
	for (size_t i = 0; i < n; i++)
		stencils[i] = qr_stencil(q[i]);
	rc = sheet_draw(&t, l, q, stencils, urls, n, per_id, &k, err);
out:
	for (size_t i = 0; stencils && i < n; i++)
		cairo_pattern_destroy(stencils[i]);
	free(stencils);
	if (q)
		for (size_t i = 0; i < n; i++)
			QRcode_free(q[i]);
	free(q);
	for (size_t i = 0; l && i < n; i++)
		layout_release(&l[i]);
	free(l);
	typeset_cleanup(&t);
	return rc;
}
