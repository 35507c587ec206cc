/* SPDX-License-Identifier: Apache-2.0 */
/* Label layout: where the code and each line of text go, decided once for every output format. */
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include <cairo.h>

#include "starmark/label.h"
#include "label_int.h"

#define STAR "\xe2\x98\x85"            /* U+2605 BLACK STAR */
#define ELLIPSIS "\xe2\x80\xa6"        /* U+2026 */

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
/* A model number on two lines: at most this size, its first baseline raised by MODEL2_RAISE, the
 * second 1.15 sizes below it. */
#define MODEL2_SIZE 2.4
#define MODEL2_RAISE 0.5
#define LINE_PITCH 1.15

static const struct line_spec {
	const char *field; /* named in errors */
	double size;       /* em size, in k */
	double baseline;   /* from the label's top, in k */
	bool bold;
	bool courtesy; /* may be shortened visibly instead of refused */
} spec[LN_COUNT] = {
    [LN_STARS] = {"level", 4.4, 5.8, false, false},     [LN_SCHEME] = {"scheme", 2.6, 9.0, true, false},
    [LN_PRODUCT] = {"product", 2.2, 12.8, false, true}, [LN_MODEL] = {"model", 3.0, 16.4, true, false},
    [LN_MODEL2] = {"model", MODEL2_SIZE, 0, true, false},
    [LN_ID] = {"id", 2.0, 19.3, false, false},          [LN_DATE] = {"registered", 2.0, 21.9, false, false},
};

void sm_label_typeset_cleanup(label_typeset *t)
{
	for (int i = 0; i < 2; i++)
		sm_font_close(&t->font[i]);
}

int sm_label_typeset_init(label_typeset *t, sm_err *err)
{
	memset(t, 0, sizeof(*t));
	for (int i = 0; i < 2; i++) {
		if (sm_font_open(&t->font[i], SM_LABEL_FONT, i == 1, SM_LABEL_MEASURE_SIZE)) {
			sm_label_typeset_cleanup(t);
			return sm_err_set(err, SM_ENOMEM, NULL, "out of memory setting up fonts");
		}
	}
	return 0;
}

/* The width of text extents at `size` mm: the advance or the ink, whichever reaches further. */
static double extent_width(const cairo_text_extents_t *e, double size)
{
	const double w = e->x_bearing + e->width > e->x_advance ? e->x_bearing + e->width : e->x_advance;
	return w * size / SM_LABEL_MEASURE_SIZE;
}

double sm_label_text_width(label_typeset *t, const char *s, bool bold, double size)
{
	cairo_text_extents_t e;
	cairo_scaled_font_text_extents(t->font[bold].measure, s, &e);
	return extent_width(&e, size);
}

static void line_release(label_line *ln)
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
static int line_glyphs(label_typeset *t, label_line *ln, double *width)
{
	line_release(ln);
	cairo_scaled_font_t *f = t->font[ln->bold].measure;
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

void sm_label_layout_release(label_layout *l)
{
	for (int i = 0; i < LN_COUNT; i++)
		line_release(&l->ln[i]);
}

static int oom(sm_err *err)
{
	return sm_err_set(err, SM_ENOMEM, NULL, "out of memory setting the label's text");
}

/* Shorten ln->text at a character boundary until it fits with "…" appended. */
static void shorten(label_typeset *t, label_line *ln, double width)
{
	size_t n = strlen(ln->text);
	char buf[sizeof(ln->text) + sizeof(ELLIPSIS)];
	while (n > 0) {
		do
			n--;
		while (n > 0 && ((unsigned char)ln->text[n] & 0xC0) == 0x80);
		memcpy(buf, ln->text, n);
		memcpy(buf + n, ELLIPSIS, sizeof(ELLIPSIS));
		if (sm_label_text_width(t, buf, ln->bold, ln->size) <= width)
			break;
	}
	memcpy(buf, ln->text, n);
	memcpy(buf + n, ELLIPSIS, sizeof(ELLIPSIS));
	memcpy(ln->text, buf, n + sizeof(ELLIPSIS));
}

/* Line `i` holds `n` bytes of `text` at its nominal size and baseline; *w its width (0 when empty). */
static int line_text(label_typeset *t, label_layout *l, int i, const char *what, const char *text, size_t n,
		     double *w, sm_err *err)
{
	label_line *ln = &l->ln[i];
	*w = 0;
	if (n >= sizeof(ln->text))
		return sm_err_set(err, SM_EINVAL, spec[i].field, "%s is %zu bytes, too long for a label", what, n);
	memcpy(ln->text, text, n);
	ln->text[n] = '\0';
	ln->bold = spec[i].bold;
	ln->y = spec[i].baseline * l->k;
	ln->size = spec[i].size * l->k;
	if (n == 0) {
		ln->size = 0;
		return 0;
	}
	return line_glyphs(t, ln, w) ? oom(err) : 0;
}

/* Set line `i` to `text` at its size, shrunk to fit; refuse what does not fit at the smallest size. */
static int set_line(label_typeset *t, label_layout *l, int i, const char *what, const char *value, const char *text,
                    sm_err *err)
{
	label_line *ln = &l->ln[i];
	double w = 0;
	int rc = line_text(t, l, i, what, text, strlen(text), &w, err);
	if (rc || w <= l->text_w)
		return rc;
	double smallest = ln->size * (spec[i].courtesy ? SHRINK_COURTESY : SHRINK_MIN);
	double fit = ln->size * l->text_w / w * 0.999;
	if (fit >= smallest) {
		ln->size = fit;
		return 0;
	}
	if (spec[i].courtesy) {
		ln->size = smallest;
		shorten(t, ln, l->text_w);
		return line_glyphs(t, ln, &w) ? oom(err) : 0;
	}
	char q[96];
	sm_err_quote(q, sizeof(q), value, strlen(value));
	return sm_err_set(
	    err, SM_EINVAL, spec[i].field,
	    "%s '%s' does not fit the label: %.1f mm wide at the smallest type (%.1f mm), the text area "
	    "is %.1f mm wide",
	    what, q, w * smallest / ln->size, smallest, l->text_w);
}

static bool is_break_after(char ch)
{
	return ch == '-' || ch == '/' || ch == '_' || ch == '.' || ch == ' ' || ch == ',' || ch == ':';
}

/*
 * Where a model number too long for one line is cut in two: the UTF-8 character boundary that makes
 * the longer half shortest, or, when that costs at most a quarter more, the best such boundary after a
 * separator ("RUF-" / "E2406SAW"), which reads as a model number does. Spaces at the cut are dropped.
 */
static size_t model_break(label_typeset *t, const char *m, size_t n)
{
	char a[SM_MODEL_MAX * 4 + 1];
	size_t best = 0, best_sep = 0;
	double cost = 0, cost_sep = 0;
	if (n >= sizeof(a))
		n = sizeof(a) - 1;
	for (size_t i = 1; i < n; i++) {
		if (((unsigned char)m[i] & 0xC0) == 0x80)
			continue;
		memcpy(a, m, i);
		a[i] = '\0';
		const double w1 = sm_label_text_width(t, a, true, 1.0);
		const double w2 = sm_label_text_width(t, m + i, true, 1.0);
		const double c = w1 > w2 ? w1 : w2;
		if (!best || c < cost) {
			best = i;
			cost = c;
		}
		if (is_break_after(m[i - 1]) && (!best_sep || c < cost_sep)) {
			best_sep = i;
			cost_sep = c;
		}
	}
	return best_sep && cost_sep <= cost * 1.25 ? best_sep : best;
}

/*
 * The model number, which the installer compares with the device, is never cut or shortened (the
 * contract allows 64 bytes of any printable UTF-8). It takes, in this order: one line, shrunk down
 * to SHRINK_MIN of its size; two lines at up to MODEL2_SIZE, shrunk likewise (the label grows by one
 * line); two lines at the smallest type with the text column, and so the label, made wider. The
 * smallest type, 1.8 mm at a 20 mm code (about 5 pt, a cap height of 1.3 mm: 10 dots at 203 dpi), is
 * the least a person reads on a thermal label; smaller would need a loupe.
 * *extra is how much further down the lines below it go.
 */
static int layout_model(label_typeset *t, label_layout *l, const char *m, double *extra, sm_err *err)
{
	const double k = l->k, smallest = spec[LN_MODEL].size * k * SHRINK_MIN;
	const size_t n = strlen(m);
	label_line *a = &l->ln[LN_MODEL], *b = &l->ln[LN_MODEL2];
	double w = 0, w2 = 0;
	int rc = line_text(t, l, LN_MODEL, "the model number", m, n, &w, err);
	*extra = 0;
	if (rc || w <= l->text_w)
		return rc;
	if (a->size * l->text_w / w * 0.999 >= smallest) {
		a->size *= l->text_w / w * 0.999;
		return 0;
	}
	const size_t cut = model_break(t, m, n);
	size_t end = cut, start = cut;
	while (end > 0 && m[end - 1] == ' ')
		end--;
	while (m[start] == ' ')
		start++;
	if ((rc = line_text(t, l, LN_MODEL, "the model number", m, end, &w, err)) ||
	    (rc = line_text(t, l, LN_MODEL2, "the model number", m + start, n - start, &w2, err)))
		return rc;
	/* mm a mm of type: the first half was measured at the one-line size, the second at MODEL2_SIZE */
	const double w1 = w / a->size, w2n = w2 / b->size;
	const double widest = w1 > w2n ? w1 : w2n;
	double size = l->text_w * 0.999 / widest;
	if (size > MODEL2_SIZE * k)
		size = MODEL2_SIZE * k;
	if (size < smallest) {
		size = smallest;
		l->text_w = widest * size / 0.999;
		l->w = l->text_x + l->text_w + GEO_MARGIN * k;
	}
	a->size = b->size = size;
	a->y = spec[LN_MODEL].baseline * k - MODEL2_RAISE * k;
	b->y = a->y + LINE_PITCH * size;
	*extra = b->y - spec[LN_MODEL].baseline * k;
	return 0;
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

static double on_grid(double mm, double dot)
{
	return (double)(long)(mm / dot + 0.5) * dot;
}

/*
 * The code: each module a whole number of dots at the printer's resolution (a module of 2.5 dots
 * prints as 2 and 3 in turn, and readers see the uneven bars), the nearest to the square of code_mm;
 * one dot fewer when that would push the quiet zone more than GEO_GAP/2 past the square on a side.
 * The code is centred on the square, its corner on the dot grid.
 */
static int layout_code(label_layout *l, double code_mm, int dpi, int modules, sm_err *err)
{
	const int side = modules + 2 * SM_LABEL_QUIET;
	l->dot = 25.4 / dpi;
	l->modules = modules;
	l->module_dots = (int)(code_mm / l->dot / side + 0.5);
	if (l->module_dots * side * l->dot > code_mm + GEO_GAP * l->k)
		l->module_dots--;
	if (l->module_dots < 1)
		return sm_err_set(err, SM_EINVAL, "code_mm",
		                  "a code of %d modules (with its quiet zone) needs at least %.1f mm at %d dpi, one "
		                  "dot a module; %.1f mm is too small",
		                  side, side * l->dot, dpi, code_mm);
	l->code_s = l->module_dots * side * l->dot;
	const double centre = GEO_MARGIN * l->k + code_mm / 2;
	l->code_x = l->code_y = on_grid(centre - l->code_s / 2, l->dot);
	return 0;
}

static int layout_lines(label_typeset *t, const sm_cert *c, const char *model, double code_mm, int dpi, int modules,
                        label_layout *l, sm_err *err)
{
	const double k = code_mm / 20.0;
	const char *m = NULL;
	char buf[SM_NAME_MAX + 32];
	double extra = 0;
	int rc = 0;
	memset(l, 0, sizeof(*l));
	l->k = k;
	l->w = GEO_W * k;
	l->h = GEO_H * k;
	l->text_x = (GEO_MARGIN + GEO_GAP) * k + code_mm;
	l->text_w = GEO_TEXT_W * k;
	l->rule_y = GEO_RULE_Y * k;
	l->rule_t = GEO_RULE_T * k;
	if ((rc = layout_code(l, code_mm, dpi, modules, err)))
		return rc;
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
	/* the model first: it may widen the text column the other lines fit in */
	if ((rc = layout_model(t, l, m, &extra, err)))
		return rc;
	buf[0] = '\0';
	for (int i = 0; i < c->level; i++)
		memcpy(buf + i * (sizeof(STAR) - 1), STAR, sizeof(STAR));
	if ((rc = set_line(t, l, LN_STARS, "the level", buf, buf, err)))
		return rc;
	if ((rc = set_line(t, l, LN_SCHEME, "the scheme name", c->scheme, c->scheme, err)))
		return rc;
	const char *product = c->product ? c->product : "";
	if ((rc = set_line(t, l, LN_PRODUCT, "the product name", product, product, err)))
		return rc;
	snprintf(buf, sizeof(buf), "Reg. No. %s", c->id);
	if ((rc = set_line(t, l, LN_ID, "the registration number", c->id, buf, err)))
		return rc;
	char date[11];
	sm_date_format(c->registered, date);
	snprintf(buf, sizeof(buf), "Registered %s", date);
	if ((rc = set_line(t, l, LN_DATE, "the registration date", date, buf, err)))
		return rc;
	l->ln[LN_ID].y += extra;
	l->ln[LN_DATE].y += extra;
	l->h += extra;
	return 0;
}

int sm_label_layout_build(label_typeset *t, const sm_cert *c, const char *model, double code_mm, int dpi,
			  int modules, label_layout *l, sm_err *err)
{
	int rc = layout_lines(t, c, model, code_mm, dpi, modules, l, err);
	if (rc)
		sm_label_layout_release(l);
	return rc;
}
