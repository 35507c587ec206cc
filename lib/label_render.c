/* SPDX-License-Identifier: Apache-2.0 */
/* Label rendering: the QR code and the label text as PNG, SVG, PDF (one label or A4 sheets) and ZPL. */
#include <errno.h>
#include <pthread.h>
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
#include "starmark/label.h"

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

typedef struct line {
	char text[SM_NAME_MAX + 32];
	double size; /* mm; 0: the line is empty */
	double y;    /* baseline, mm */
	bool bold;
} line;

typedef struct layout {
	double w, h; /* the label, mm */
	double code_x, code_y, code_s;
	double text_x, text_w, rule_y, rule_t;
	int level;
	line ln[LN_COUNT];
} layout;

/* Fonts and a scratch context to measure text with; text metrics are unhinted so they scale. */
typedef struct typeset {
	cairo_surface_t *scratch;
	cairo_t *cr;
	cairo_font_face_t *face[2]; /* regular, bold */
	cairo_font_options_t *fo;
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
	/* Case-sensitive, so the code holds exactly `url`; upper-case URLs still get alphanumeric mode. */
	*out = QRcode_encodeString(url, 0, (QRecLevel)ec, QR_MODE_8, 1);
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
	if (t->fo)
		cairo_font_options_destroy(t->fo);
	for (int i = 0; i < 2; i++)
		if (t->face[i])
			cairo_font_face_destroy(t->face[i]);
	if (t->cr)
		cairo_destroy(t->cr);
	if (t->scratch)
		cairo_surface_destroy(t->scratch);
	memset(t, 0, sizeof(*t));
}

static int typeset_init(typeset *t, sm_err *err)
{
	memset(t, 0, sizeof(*t));
	t->scratch = cairo_image_surface_create(CAIRO_FORMAT_A8, 1, 1);
	t->cr = cairo_create(t->scratch);
	t->face[0] =
	    cairo_toy_font_face_create(FONT_FAMILY, CAIRO_FONT_SLANT_NORMAL, CAIRO_FONT_WEIGHT_NORMAL);
	t->face[1] = cairo_toy_font_face_create(FONT_FAMILY, CAIRO_FONT_SLANT_NORMAL, CAIRO_FONT_WEIGHT_BOLD);
	t->fo = cairo_font_options_create();
	if (cairo_status(t->cr) || cairo_font_face_status(t->face[0]) || cairo_font_face_status(t->face[1]) ||
	    cairo_font_options_status(t->fo)) {
		typeset_cleanup(t);
		return sm_err_set(err, SM_ENOMEM, NULL, "out of memory setting up fonts");
	}
	cairo_font_options_set_hint_metrics(t->fo, CAIRO_HINT_METRICS_OFF);
	cairo_font_options_set_hint_style(t->fo, CAIRO_HINT_STYLE_NONE);
	cairo_set_font_options(t->cr, t->fo);
	return 0;
}

/* The width in mm of `s` set at `size` mm: the advance or the ink, whichever reaches further. */
static double text_width(typeset *t, const char *s, bool bold, double size)
{
	cairo_text_extents_t e;
	cairo_set_font_face(t->cr, t->face[bold]);
	cairo_set_font_size(t->cr, 100.0);
	cairo_text_extents(t->cr, s, &e);
	double w = e.x_bearing + e.width > e.x_advance ? e.x_bearing + e.width : e.x_advance;
	return w * size / 100.0;
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
	double w = text_width(t, ln->text, ln->bold, ln->size);
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
		return 0;
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

static int build_layout(typeset *t, const sm_cert *c, const char *model, double code_mm, layout *l,
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
	if (ln->size <= 0)
		return;
	cairo_set_font_face(cr, t->face[ln->bold]);
	cairo_set_font_size(cr, ln->size);
	cairo_move_to(cr, x, ln->y);
	cairo_show_text(cr, ln->text);
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

/* ---- PNG: 8-bit grey, stored deflate, pHYs ---- */

/*
 * A pixel is ink when its coverage is at least a quarter: at half, thin strokes of small text
 * (the hyphens of "SM-2021-000006", the strokes of kanji at 2 mm) vanished from 1-bit labels.
 */
#define INK_COVERAGE 64

static uint32_t crc_table[256];
static pthread_once_t tables_once = PTHREAD_ONCE_INIT;

static void tables_init(void)
{
	for (uint32_t n = 0; n < 256; n++) {
		uint32_t c = n;
		for (int k = 0; k < 8; k++) {
			c = c & 1 ? 0xedb88320u ^ (c >> 1) : c >> 1; /* CRC-32 of ISO 3309, as PNG uses */
		}
		crc_table[n] = c;
	}
}

static uint32_t crc32_update(uint32_t crc, const uint8_t *p, size_t n)
{
	crc = ~crc;
	for (size_t i = 0; i < n; i++)
		crc = crc_table[(crc ^ p[i]) & 0xff] ^ (crc >> 8);
	return ~crc;
}

static void put32(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)(v >> 24);
	p[1] = (uint8_t)(v >> 16);
	p[2] = (uint8_t)(v >> 8);
	p[3] = (uint8_t)v;
}

static int png_chunk(sm_buf *out, const char type[4], const uint8_t *p, size_t n)
{
	uint8_t head[8], tail[4];
	put32(head, (uint32_t)n);
	memcpy(head + 4, type, 4);
	put32(tail, crc32_update(crc32_update(0, (const uint8_t *)type, 4), p, n));
	int rc = sm_buf_append(out, head, 8);
	if (!rc)
		rc = sm_buf_append(out, p, n);
	if (!rc)
		rc = sm_buf_append(out, tail, 4);
	return rc;
}

/*
 * One row of an A8 surface (coverage) as 1-bit pixels, the first pixel in the most significant bit:
 * a pixel is ink from INK_COVERAGE on. PNG grey wants ink as 0, ZPL ^GF as 1.
 */
static void pack_row(const uint8_t *src, long w, uint8_t *dst, bool ink_one)
{
	const uint8_t flip = ink_one ? 0x00 : 0xff;
	for (long x = 0; x < w; x += 8, src += 8) {
		unsigned v = 0;
		for (long k = 0; k < 8; k++)
			v = v << 1 | (x + k < w && src[k] >= INK_COVERAGE);
		*dst++ = (uint8_t)(v ^ flip);
	}
}

/*
 * The scanlines of the label's A8 surface as 8-bit grey (ink dark), each behind PNG filter byte 0.
 * Grey, not 1-bit: small text (a 2 mm product name in kanji, the hyphens of the registration
 * number) lost strokes to any threshold; printers dither grey themselves.
 */
static int png_scanlines(cairo_surface_t *s, sm_buf *raw)
{
	const int w = cairo_image_surface_get_width(s), h = cairo_image_surface_get_height(s);
	const int stride = cairo_image_surface_get_stride(s);
	const uint8_t *data = cairo_image_surface_get_data(s);
	const size_t rowbytes = (size_t)w;
	const size_t need = (size_t)h * (rowbytes + 1);
	if (!(raw->data = malloc(need)))
		return SM_ENOMEM;
	raw->cap = need;
	raw->len = 0;
	for (int y = 0; y < h; y++) {
		uint8_t *dst = raw->data + raw->len;
		dst[0] = 0;
		const uint8_t *src = data + (size_t)y * (size_t)stride;
		for (int x = 0; x < w; x++)
			dst[1 + x] = (uint8_t)(255 - src[x]);
		raw->len += rowbytes + 1;
	}
	return 0;
}

/* A zlib stream of stored (uncompressed) deflate blocks: no zlib dependency, and speed matters more than bytes. */
static int zlib_stored(const sm_buf *raw, sm_buf *z)
{
	static const uint8_t head[2] = {0x78, 0x01};
	uint32_t a = 1, b = 0;
	int rc = sm_buf_append(z, head, 2);
	for (size_t off = 0; !rc && (off < raw->len || off == 0);) {
		size_t n = raw->len - off > 65535 ? 65535 : raw->len - off;
		uint8_t blk[5] = {off + n == raw->len ? 1 : 0, (uint8_t)n, (uint8_t)(n >> 8), (uint8_t)~n,
		                  (uint8_t)(~n >> 8)};
		rc = sm_buf_append(z, blk, 5);
		if (!rc)
			rc = sm_buf_append(z, raw->data + off, n);
		off += n;
		if (n == 0)
			break;
	}
	/* Adler-32; 5552 bytes is the most that cannot overflow 32 bits between reductions (RFC 1950). */
	for (size_t i = 0; i < raw->len;) {
		const size_t end = raw->len - i > 5552 ? i + 5552 : raw->len;
		for (; i < end; i++) {
			a += raw->data[i];
			b += a;
		}
		a %= 65521;
		b %= 65521;
	}
	uint8_t tail[4];
	put32(tail, b << 16 | a);
	return rc ? rc : sm_buf_append(z, tail, 4);
}

/*
 * The QR modules straight into the scanlines (black = 0), each module edge on the pixel nearest its
 * exact position, so the code's extent is right within a pixel and every module is sharp.
 */
static void png_ink_qr(sm_buf *raw, size_t rowbytes, const layout *l, const QRcode *q, double px_mm)
{
	const int w = q->width;
	const double u = l->code_s / (w + 2 * QUIET);
	long ex[177 + 1], ey[177 + 1]; /* module edges in pixels; 177 modules is version 40 */
	for (int k = 0; k <= w; k++) {
		ex[k] = round_pos((l->code_x + (QUIET + k) * u) * px_mm);
		ey[k] = round_pos((l->code_y + (QUIET + k) * u) * px_mm);
	}
	for (int r = 0; r < w; r++) {
		uint8_t *first = raw->data + (size_t)ey[r] * (rowbytes + 1) + 1;
		for (int c = 0; c < w; c++)
			if (q->data[(size_t)r * (size_t)w + (size_t)c] & 1)
				memset(first + ex[c], 0, (size_t)(ex[c + 1] - ex[c])); /* 8-bit grey: 0 is black */
		/* the rest of the band's pixel rows repeat its first, within the code's columns only: the
		 * whole scanline would overwrite the text beside the code (it cut strokes off small text) */
		for (long y = ey[r] + 1; y < ey[r + 1]; y++)
			memcpy(raw->data + (size_t)y * (rowbytes + 1) + 1 + ex[0], first + ex[0], (size_t)(ex[w] - ex[0]));
	}
}

static int png_encode(cairo_surface_t *s, int dpi, const layout *l, const QRcode *q, sm_buf *out)
{
	static const uint8_t sig[8] = {0x89, 'P', 'N', 'G', '\r', '\n', 0x1a, '\n'};
	sm_buf raw = SM_BUF_INIT, z = SM_BUF_INIT;
	uint8_t ihdr[13] = {0}, phys[9];
	put32(ihdr, (uint32_t)cairo_image_surface_get_width(s));
	put32(ihdr + 4, (uint32_t)cairo_image_surface_get_height(s));
	ihdr[8] = 8; /* bit depth; colour type 0 (grey), deflate, no filter method, no interlace */
	const uint32_t ppm = (uint32_t)round_pos(dpi / 0.0254);
	put32(phys, ppm);
	put32(phys + 4, ppm);
	phys[8] = 1; /* the unit is the metre */
	int rc = png_scanlines(s, &raw);
	if (!rc)
		png_ink_qr(&raw, (size_t)cairo_image_surface_get_width(s), l, q, dpi / MM_PER_INCH);
	if (!rc)
		rc = zlib_stored(&raw, &z);
	if (!rc)
		rc = sm_buf_append(out, sig, sizeof(sig));
	if (!rc)
		rc = png_chunk(out, "IHDR", ihdr, sizeof(ihdr));
	if (!rc)
		rc = png_chunk(out, "pHYs", phys, sizeof(phys));
	if (!rc)
		rc = png_chunk(out, "IDAT", z.data, z.len);
	if (!rc)
		rc = png_chunk(out, "IEND", NULL, 0);
	sm_buf_cleanup(&raw);
	sm_buf_cleanup(&z);
	return rc;
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

static int render_png(typeset *t, const layout *l, const QRcode *q, int dpi, sm_buf *out, sm_err *err)
{
	const double px_mm = dpi / MM_PER_INCH;
	const long w = ceil_pos(l->w * px_mm), h = ceil_pos(l->h * px_mm);
	if ((uint64_t)w * (uint64_t)h > PNG_MAX_PIXELS)
		return sm_err_set(err, SM_ETOOBIG, "dpi", "a %ld x %ld pixel label is over the %u pixel cap",
		                  w, h, PNG_MAX_PIXELS);
	cairo_t *cr = NULL;
	cairo_surface_t *s = bitmap_new(w, h, px_mm, &cr);
	draw_label(cr, t, l, NULL, NULL); /* the text; png_encode adds the modules */
	cairo_surface_flush(s);
	cairo_status_t st = cairo_status(cr);
	int rc = st ? cairo_failed(st, err) : 0;
	if (!rc && (rc = png_encode(s, dpi, l, q, out)))
		sm_err_set(err, rc, NULL, "out of memory writing the PNG");
	cairo_destroy(cr);
	cairo_surface_destroy(s);
	return rc;
}

static int render_vector(typeset *t, const layout *l, const QRcode *q, const char *id, bool svg, sink *k,
                         sm_err *err)
{
	cairo_surface_t *s = NULL;
	if (svg) {
		/* With the document unit mm, cairo writes width="<w>mm" and a viewBox in the same numbers. */
		s = cairo_svg_surface_create_for_stream(sink_write, k, l->w, l->h);
		cairo_svg_surface_set_document_unit(s, CAIRO_SVG_UNIT_MM);
	} else {
		s = cairo_pdf_surface_create_for_stream(sink_write, k, l->w * PT_PER_MM, l->h * PT_PER_MM);
		char title[SM_ID_MAX + 32];
		snprintf(title, sizeof(title), "Certification label %s", id);
		cairo_pdf_surface_set_metadata(s, CAIRO_PDF_METADATA_TITLE, title);
		cairo_pdf_surface_set_metadata(s, CAIRO_PDF_METADATA_CREATOR, "starmark");
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
	return finish(cr, s, k, err);
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
		pack_row(data + y * stride, w, row, true);
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

int sm_label_render(const sm_cert *c, const char *model, const char *url, const sm_label_opts *o,
                    sm_write_fn write, void *wctx, sm_err *err)
{
	sm_label_opts def;
	typeset t = {0};
	layout l;
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
	pthread_once(&tables_once, tables_init);
	if ((rc = check_opts(o, false, err)) || (rc = encode_qr(url, o->ec, &q, err)) ||
	    (rc = typeset_init(&t, err)) || (rc = build_layout(&t, c, model, o->code_mm, &l, err)))
		goto out;
	switch (o->format) {
	case SM_LABEL_PNG:
		rc = render_png(&t, &l, q, o->dpi, &out, err);
		break;
	case SM_LABEL_ZPL:
		rc = render_zpl(&t, &l, q, c->id, url, o, &out, err);
		break;
	default:
		rc = render_vector(&t, &l, q, c->id, o->format == SM_LABEL_SVG, &k, err);
		break;
	}
	if (!rc && out.len && (rc = write(wctx, out.data, out.len)))
		sm_err_set(err, rc, NULL, "writing the label failed: %s", sm_strerror(rc));
out:
	sm_buf_cleanup(&out);
	typeset_cleanup(&t);
	QRcode_free(q);
	return rc;
}

/* The checked labels on A4 pages, each with a light cut line on its edge. */
static int sheet_draw(typeset *t, const layout *l, QRcode *const *q, cairo_pattern_t *const *stencils,
                      size_t n, int per_id, sink *k, sm_err *err)
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

/* Prefix the message of a failed sheet label with its index and id. */
static int sheet_item_failed(int rc, size_t i, const char *id, sm_err *err)
{
	char msg[SM_ERR_MSG_MAX], field[SM_ERR_FIELD_MAX];
	memcpy(msg, err->msg, sizeof(msg));
	snprintf(field, sizeof(field), "labels[%zu]", i);
	return sm_err_set(err, rc, field, "labels[%zu] (%s): %s", i, id, msg);
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
			rc = sheet_item_failed(rc, i, certs[i]->id, err);
			goto out;
		}
	}
	if (!(stencils = calloc(n, sizeof(*stencils)))) {
		rc = sm_err_set(err, SM_ENOMEM, NULL, "out of memory laying out %zu labels", n);
		goto out;
	}
	for (size_t i = 0; i < n; i++)
		stencils[i] = qr_stencil(q[i]);
	rc = sheet_draw(&t, l, q, stencils, n, per_id, &k, err);
out:
	for (size_t i = 0; stencils && i < n; i++)
		cairo_pattern_destroy(stencils[i]);
	free(stencils);
	if (q)
		for (size_t i = 0; i < n; i++)
			QRcode_free(q[i]);
	free(q);
	free(l);
	typeset_cleanup(&t);
	return rc;
}
