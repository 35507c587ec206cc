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


#define MM_PER_INCH 25.4
#define PT_PER_MM (72.0 / 25.4)
/* A4 sheets, in mm. */
#define A4_W 210.0
#define A4_H 297.0
#define SHEET_MARGIN 10.0
#define SHEET_GUTTER 4.0
#define CUT_LINE_MM 0.1

#define PNG_MAX_PIXELS (100u * 1000u * 1000u)
#define ZPL_MAG_MAX 10
#define ZPL_ROW_MAX 512


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

static double on_grid(double mm, double dot)
{
	return (double)round_pos(mm / dot) * dot;
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
	if (sheet && o->format == SM_LABEL_ZPL)
		return sm_err_set(err, SM_EINVAL, "format", "a sheet is PDF or SVG, not ZPL (a ZPL printer prints one label at a time)");
	if (o->ec < 0 || o->ec > 3)
		return sm_err_set(err, SM_EINVAL, "ec", "error correction must be 0..3 (L, M, Q, H), not %d",
		                  o->ec);
	/* every format: the code's modules are whole dots at o->dpi (label_layout.c) */
	if (o->dpi < SM_LABEL_DPI_MIN || o->dpi > SM_LABEL_DPI_MAX)
		return sm_err_set(err, SM_EINVAL, "dpi", "the resolution must be %d to %d dpi, not %d",
		                  SM_LABEL_DPI_MIN, SM_LABEL_DPI_MAX, o->dpi);
	if (!sheet && o->format == SM_LABEL_ZPL && o->dpi != 203 && o->dpi != 300 && o->dpi != 600)
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
	const double u = side / (width + 2 * SM_LABEL_QUIET);
	cairo_save(cr);
	cairo_translate(cr, x + SM_LABEL_QUIET * u, y + SM_LABEL_QUIET * u);
	cairo_scale(cr, u, u);
	cairo_mask(cr, stencil);
	cairo_restore(cr);
}

static void draw_text(cairo_t *cr, label_typeset *t, const label_line *ln, double x)
{
	cairo_glyph_t g[sizeof(ln->text)]; /* a glyph per byte at most */
	if (ln->size <= 0 || ln->nglyphs <= 0 || (size_t)ln->nglyphs > sizeof(ln->text))
		return;
	const double k = ln->size / SM_LABEL_MEASURE_SIZE;
	for (int i = 0; i < ln->nglyphs; i++)
		g[i] = (cairo_glyph_t){ln->glyphs[i].index, x + ln->glyphs[i].x * k, ln->y + ln->glyphs[i].y * k};
	cairo_set_font_face(cr, t->font[ln->bold].face);
	cairo_set_font_size(cr, ln->size);
	cairo_show_text_glyphs(cr, ln->text, -1, g, ln->nglyphs, ln->clusters, ln->nclusters, ln->cluster_flags);
}

/*
 * One label with its top-left corner at the current origin, black on what is there. The code is
 * drawn from `stencil` when given, else not at all (PNG packs it, SVG writes it as a path); the text
 * only when `text` (SVG writes it as <text>: label_svg.c).
 */
static void draw_label(cairo_t *cr, label_typeset *t, const label_layout *l, const QRcode *q, cairo_pattern_t *stencil,
                       bool text)
{
	cairo_set_source_rgb(cr, 0, 0, 0);
	if (stencil)
		draw_qr_stencil(cr, stencil, q->width, l->code_x, l->code_y, l->code_s);
	for (int i = 0; text && i < LN_COUNT; i++)
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

static void qr_grid_make(qr_grid *g, const label_layout *l, const QRcode *q, double px_mm)
{
	const double u = l->code_s / (q->width + 2 * SM_LABEL_QUIET);
	g->n = q->width;
	for (int k = 0; k <= g->n; k++) {
		g->ex[k] = round_pos((l->code_x + (SM_LABEL_QUIET + k) * u) * px_mm);
		g->ey[k] = round_pos((l->code_y + (SM_LABEL_QUIET + k) * u) * px_mm);
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
	label_typeset t;
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
static int render_png(sm_label_renderer *rr, const label_layout *l, const QRcode *q, int dpi, sm_buf *out,
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
	draw_label(cr, &rr->t, l, NULL, NULL, true);
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

static int buf_sink(void *ctx, const void *p, size_t n)
{
	return sm_buf_append(ctx, p, n);
}

/*
 * Where the labels of a vector document go: a single label fills its page; a sheet has cells of
 * `pitch` from (x0, y0), `cols` a row, `per_page` a page (PDF; an SVG has one page for all).
 */
typedef struct placement {
	double page_w, page_h;
	double x0, y0, pitch_x, pitch_y;
	size_t cols, per_page;
	bool cut; /* a light grey cut line on each label's edge */
} placement;

/* A PDF or SVG of n labels, each per_id times, placed by `pl`; nothing is written on failure. */
static int render_vector(label_typeset *t, const label_layout *l, QRcode *const *q, const char *const *urls, size_t n,
                         int per_id, const placement *pl, bool svg, const char *title, sink *k, sm_err *err)
{
	cairo_surface_t *s = NULL;
	cairo_pattern_t **stencils = NULL;
	sm_buf svgbuf = SM_BUF_INIT;
	label_svg svgparts = {SM_BUF_INIT, 0};
	sink ks = {buf_sink, &svgbuf, 0};
	const double dot = l[0].dot;
	/* PDF codes are 1-module-a-pixel image masks (qr_stencil), one per label however often it repeats */
	if (!svg && !(stencils = calloc(n, sizeof(*stencils))))
		return sm_err_set(err, SM_ENOMEM, NULL, "out of memory rendering the labels");
	for (size_t i = 0; stencils && i < n; i++)
		stencils[i] = qr_stencil(q[i]);
	if (svg) {
		/* With the document unit mm, cairo writes width="<w>mm" and a viewBox in the same numbers.
		 * Written to memory first, to be given its codes and text (label_svg.c). */
		s = cairo_svg_surface_create_for_stream(sink_write, &ks, pl->page_w, pl->page_h);
		cairo_svg_surface_set_document_unit(s, CAIRO_SVG_UNIT_MM);
	} else {
		s = cairo_pdf_surface_create_for_stream(sink_write, k, pl->page_w * PT_PER_MM, pl->page_h * PT_PER_MM);
		cairo_pdf_surface_set_metadata(s, CAIRO_PDF_METADATA_TITLE, title);
		cairo_pdf_surface_set_metadata(s, CAIRO_PDF_METADATA_CREATOR, "starmark");
		pdf_date(s, urls, n);
	}
	cairo_t *cr = cairo_create(s);
	if (!svg)
		cairo_scale(cr, PT_PER_MM, PT_PER_MM);
	use_fonts(cr, CAIRO_ANTIALIAS_DEFAULT);
	/* White paper: an SVG is transparent where nothing is drawn, and readers see that as black. */
	if (svg) {
		cairo_set_source_rgb(cr, 1, 1, 1);
		cairo_paint(cr);
	}
	const size_t total = n * (size_t)per_id;
	for (size_t j = 0; j < total && k->rc == 0 && ks.rc == 0; j++) {
		const size_t pos = j % pl->per_page, i = j / (size_t)per_id;
		if (j > 0 && pos == 0)
			cairo_show_page(cr);
		/* on the dot grid, so that each code's modules fall on whole dots of the page */
		const double x = on_grid(pl->x0 + (double)(pos % pl->cols) * pl->pitch_x, dot);
		const double y = on_grid(pl->y0 + (double)(pos / pl->cols) * pl->pitch_y, dot);
		cairo_save(cr);
		cairo_translate(cr, x, y);
		if (pl->cut) {
			cairo_set_source_rgb(cr, 0.7, 0.7, 0.7);
			cairo_set_line_width(cr, CUT_LINE_MM);
			cairo_rectangle(cr, 0, 0, l[i].w, l[i].h);
			cairo_stroke(cr);
		}
		draw_label(cr, t, &l[i], q[i], stencils ? stencils[i] : NULL, !svg);
		cairo_restore(cr);
		if (svg)
			sm_label_svg_add(&svgparts, t, &l[i], q[i], x, y);
	}
	cairo_show_page(cr);
	int rc = finish(cr, s, svg ? &ks : k, err);
	if (!rc && svg) {
		rc = sm_label_svg_finish(&svgbuf, &svgparts, err);
		if (!rc && (rc = k->write(k->ctx, svgbuf.data, svgbuf.len)))
			sm_err_set(err, rc, NULL, "writing the label failed: %s", sm_strerror(rc));
	}
	for (size_t i = 0; stencils && i < n; i++)
		cairo_pattern_destroy(stencils[i]);
	free(stencils);
	sm_label_svg_cleanup(&svgparts);
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
static int zpl_bitmap_line(sm_buf *b, label_typeset *t, const label_line *ln, double x, double dots_mm, sm_err *err)
{
	const double top = ln->y - ln->size * 1.0, bottom = ln->y + ln->size * 0.3;
	const long w = ceil_pos(sm_label_text_width(t, ln->text, ln->bold, ln->size) * dots_mm) + 2;
	const long h = ceil_pos((bottom - top) * dots_mm);
	cairo_t *cr = NULL;
	cairo_surface_t *s = bitmap_new(w, h, dots_mm, &cr);
	label_line at = *ln;
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

static int render_zpl(label_typeset *t, const label_layout *l, const QRcode *q, const char *id, const char *url,
                      const sm_label_opts *o, sm_buf *b, sm_err *err)
{
	static const char ec_letter[] = "LMQH";
	const double d = o->dpi / MM_PER_INCH;
	const long mag = l->module_dots;
	int rc = 0;
	if (strchr(url, '^') || strchr(url, '~'))
		return sm_err_set(err, SM_EINVAL, "url",
		                  "a ZPL label cannot carry '^' or '~' in its QR text");
	if (mag < 1 || mag > ZPL_MAG_MAX)
		return sm_err_set(
		    err, SM_EINVAL, "code_mm",
		    "a %.1f mm code of %d modules at %d dpi needs %ld dots a module; ZPL draws 1..%d",
		    l->code_s, q->width + 2 * SM_LABEL_QUIET, o->dpi, mag, ZPL_MAG_MAX);
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
		label_line ln = l->ln[i];
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
	if (sm_label_typeset_init(&r->t, err)) {
		free(r);
		return NULL;
	}
	return r;
}

void sm_label_renderer_free(sm_label_renderer *r)
{
	if (!r)
		return;
	sm_label_typeset_cleanup(&r->t);
	if (r->side)
		cairo_surface_destroy(r->side);
	free(r->pix);
	free(r);
}

int sm_label_renderer_render(sm_label_renderer *r, const sm_cert *c, const char *model, const char *url,
                             const sm_label_opts *o, sm_write_fn write, void *wctx, sm_err *err)
{
	sm_label_opts def;
	label_layout l;
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
	if ((rc = check_opts(o, false, err)) || (rc = encode_qr(url, o->ec, &q, err)))
		goto out;
	if ((rc = sm_label_layout_build(&r->t, c, model, o->code_mm, o->dpi, q->width, &l, err)))
		goto out;
	laid_out = true;
	switch (o->format) {
	case SM_LABEL_PNG:
		rc = render_png(r, &l, q, o->dpi, &out, err);
		break;
	case SM_LABEL_ZPL:
		rc = render_zpl(&r->t, &l, q, c->id, url, o, &out, err);
		break;
	default: {
		const placement one = {l.w, l.h, 0, 0, 0, 0, 1, 1, false};
		char title[SM_ID_MAX + 32];
		snprintf(title, sizeof(title), "Certification label %s", c->id);
		rc = render_vector(&r->t, &l, &q, &url, 1, 1, &one, o->format == SM_LABEL_SVG, title, &k, err);
		break;
	}
	}
	if (!rc && out.len && (rc = write(wctx, out.data, out.len)))
		sm_err_set(err, rc, NULL, "writing the label failed: %s", sm_strerror(rc));
out:
	if (laid_out)
		sm_label_layout_release(&l);
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

/*
 * The grid of a sheet: A4 wide, cells as large as its largest label (a long model number widens or
 * heightens one), as many a row as fit. A PDF has A4 pages; an SVG, which has no pages, is one
 * page as tall as its rows need.
 */
static int sheet_place(const label_layout *l, size_t n, size_t total, bool svg, placement *pl, sm_err *err)
{
	double w = 0, h = 0;
	for (size_t i = 0; i < n; i++) {
		w = l[i].w > w ? l[i].w : w;
		h = l[i].h > h ? l[i].h : h;
	}
	const long cols = (long)((A4_W - 2 * SHEET_MARGIN + SHEET_GUTTER) / (w + SHEET_GUTTER));
	const long rows = (long)((A4_H - 2 * SHEET_MARGIN + SHEET_GUTTER) / (h + SHEET_GUTTER));
	if (cols < 1 || rows < 1)
		return sm_err_set(err, SM_EINVAL, "code_mm", "a %.1f x %.1f mm label does not fit an A4 page",
		                  w, h);
	memset(pl, 0, sizeof(*pl));
	pl->cols = (size_t)cols;
	pl->pitch_x = w + SHEET_GUTTER;
	pl->pitch_y = h + SHEET_GUTTER;
	pl->cut = true;
	pl->page_w = A4_W;
	pl->x0 = (A4_W - ((double)cols * w + (double)(cols - 1) * SHEET_GUTTER)) / 2;
	if (svg) {
		const size_t used = (total + pl->cols - 1) / pl->cols;
		pl->per_page = total;
		pl->page_h = 2 * SHEET_MARGIN + (double)used * h + (double)(used - 1) * SHEET_GUTTER;
		pl->y0 = SHEET_MARGIN;
	} else {
		pl->per_page = (size_t)(cols * rows);
		pl->page_h = A4_H;
		pl->y0 = (A4_H - ((double)rows * h + (double)(rows - 1) * SHEET_GUTTER)) / 2;
	}
	return 0;
}

int sm_label_sheet(sm_cert *const *certs, const char *const *models, const char *const *urls, size_t n,
                   int per_id, const sm_label_opts *o, sm_write_fn write, void *wctx, sm_err *err)
{
	sm_label_opts def;
	label_typeset t = {0};
	label_layout *l = NULL;
	QRcode **q = NULL;
	placement pl;
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
	if ((rc = check_opts(o, true, err)) || (rc = sm_label_typeset_init(&t, err)))
		goto out;
	l = calloc(n, sizeof(*l));
	q = calloc(n, sizeof(*q));
	if (!l || !q) {
		rc = sm_err_set(err, SM_ENOMEM, NULL, "out of memory laying out %zu labels", n);
		goto out;
	}
	/* Everything is checked before the first byte is written. */
	for (size_t i = 0; i < n; i++) {
		rc = encode_qr(urls[i], o->ec, &q[i], err);
		if (!rc)
			rc = sm_label_layout_build(&t, certs[i], models ? models[i] : NULL, o->code_mm, o->dpi,
			                           q[i]->width, &l[i], err);
		if (rc) {
			rc = sm_label_item_failed(rc, i, certs[i]->id, err);
			goto out;
		}
	}
	if ((rc = sheet_place(l, n, n * (size_t)per_id, o->format == SM_LABEL_SVG, &pl, err)))
		goto out;
	rc = render_vector(&t, l, q, urls, n, per_id, &pl, o->format == SM_LABEL_SVG, "Certification labels", &k, err);
out:
	if (q)
		for (size_t i = 0; i < n; i++)
			QRcode_free(q[i]);
	free(q);
	for (size_t i = 0; l && i < n; i++)
		sm_label_layout_release(&l[i]);
	free(l);
	sm_label_typeset_cleanup(&t);
	return rc;
}
