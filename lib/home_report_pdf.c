/* SPDX-License-Identifier: Apache-2.0 */
/* The hand-over report as an A4 PDF: cairo, BIZ UDGothic, a device table that wraps and paginates. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cairo-pdf.h>
#include <cairo.h>

#include "starmark/home.h"
#include "font_int.h"
#include "home_report_int.h"

/* A4 portrait in points; everything below is in points. */
#define PAGE_W 595.28
#define PAGE_H 841.89
#define MARGIN 42.52 /* 15 mm */
#define BODY_W (PAGE_W - 2 * MARGIN)
#define BODY_BOTTOM (PAGE_H - MARGIN - 12) /* the footer's line below it */
/*
 * fonts-morisawa-bizud-gothic: Latin, kana, the kanji of JIS X 0208, ★ and ☆; TrueType, which cairo 1.16
 * subsets to the glyphs used. Noto Sans CJK JP (CFF) made every report about 1 MB: cairo embeds whole
 * subroutine sets of a CFF font it cannot subset (lib/label_int.h says when); in BIZ UD about 100 KB.
 */
#define FONT_SANS "BIZ UDGothic" /* half-width Latin (narrower than the proportional face's in the table) */
#define FONT_MONO "BIZ UDGothic" /* the signed checkpoint: its Latin is of one width */
#define MEASURE 100.0                      /* text is measured at this size; unhinted metrics scale from it */
#define LEAD 1.45                          /* line height per font size */
#define ASCENT 0.88                        /* BIZ UD Gothic's ascent per font size */
#define TEXT 9.5                           /* body text */
#define TABLE 7.5                          /* the device table */
#define PAD 2.5                            /* inside a table cell */
#define KEY_W 120.0                        /* the keys of a key-value block */

enum { F_REGULAR, F_BOLD, F_MONO, NFONT };

/* The device table's columns (their sum is BODY_W). */
static const double col_w[NCOL] = {56, 46, 44, 42, 62, 54, 42, 30, 84.24, 50};
static const double black[3] = {0, 0, 0}, grey[3] = {0.33, 0.33, 0.33};
static const double verdict_rgb[4][3] = {[SM_ALLOW] = {0, 0.45, 0.23},
                                         [SM_WARN] = {0.66, 0.35, 0},
                                         [SM_DENY] = {0.69, 0, 0},
                                         [SM_UNKNOWN] = {0.33, 0.33, 0.33}};

typedef struct span {
	size_t off, len;
} span;

/* A PDF being laid out (draw false: only measured, to count the pages) or drawn. */
typedef struct pdf {
	const sm_home_rep *R;
	cairo_t *cr;
	sm_font font[NFONT];
	double ascii[NFONT][128]; /* advances at size 1; < 0 until measured */
	span *spans;              /* lines of the text being set */
	size_t nspans, cap;
	bool draw, in_table;
	int page, pages;
	double y, top; /* where the next line goes; where the page's content starts */
	int rc;
} pdf;

/* cairo writes the document into an sm_buf through this, keeping the first error. */
typedef struct sink {
	sm_buf *b;
	int rc;
} sink;

static cairo_status_t sink_write(void *closure, const unsigned char *p, unsigned int n)
{
	sink *k = closure;
	if (k->rc == 0)
		k->rc = sm_buf_append(k->b, p, n);
	return k->rc ? CAIRO_STATUS_WRITE_ERROR : CAIRO_STATUS_SUCCESS;
}

static int fonts_init(pdf *P)
{
	static const char *const family[NFONT] = {FONT_SANS, FONT_SANS, FONT_MONO};
	for (int f = 0; f < NFONT; f++) {
		if (sm_font_open(&P->font[f], family[f], f == F_BOLD, MEASURE))
			return SM_ENOMEM;
		for (int c = 0; c < 128; c++)
			P->ascii[f][c] = -1;
	}
	cairo_font_options_t *fo = sm_font_options(CAIRO_ANTIALIAS_DEFAULT);
	if (!fo)
		return SM_ENOMEM;
	cairo_set_font_options(P->cr, fo);
	cairo_font_options_destroy(fo);
	return 0;
}

static void fonts_cleanup(pdf *P)
{
	for (int f = 0; f < NFONT; f++)
		sm_font_close(&P->font[f]);
}

/* The advance at size 1 of the character at s (l bytes; 0: not UTF-8, drawn as '?'). The toy API neither
 * kerns nor shapes, so a line is as wide as the sum of its characters. */
static double advance(pdf *P, int f, const char *s, size_t l)
{
	char one[5] = "?";
	unsigned char c = l ? (unsigned char)s[0] : '?';
	cairo_text_extents_t e;
	if (l == 1 && (c < 0x20 || c == 0x7f))
		c = '?';
	if (c < 0x80 && P->ascii[f][c] >= 0)
		return P->ascii[f][c];
	if (c >= 0x80) {
		memcpy(one, s, l);
		one[l] = '\0';
	} else {
		one[0] = (char)c;
	}
	cairo_scaled_font_text_extents(P->font[f].measure, one, &e);
	if (c < 0x80)
		P->ascii[f][c] = e.x_advance / MEASURE;
	return e.x_advance / MEASURE;
}

static double text_width(pdf *P, int f, double size, const char *s)
{
	double w = 0;
	for (size_t i = 0, n = strlen(s); i < n;) {
		size_t l = sm_home_u8len(s + i, n - i);
		w += advance(P, f, s + i, l);
		i += l ? l : 1;
	}
	return w * size;
}

/* Whether the character (l bytes at s) is one of `set`'s. */
static bool one_of(const char *s, size_t l, const char *set)
{
	char one[5];
	if (!l || l > 4)
		return false;
	memcpy(one, s, l);
	one[l] = '\0';
	return strstr(set, one) != NULL;
}

/* May a line end between `a` and `b`? After a space; around kana and kanji, except before closing marks
 * and small kana or after opening brackets (kinsoku); after '-' and '/' in Latin text. */
static bool can_break(const char *a, size_t al, const char *b, size_t bl)
{
	static const char no_start[] =
	    "、。，．・：；？！ー）」』】〕〉》ぁぃぅぇぉっゃゅょゎァィゥェォッャュョヮヵヶ々〜…"
	    ",.;:!?)]}";
	static const char no_end[] = "（「『【〔〈《([{";
	if (al == 1 && a[0] == ' ')
		return true;
	if (one_of(b, bl, no_start) || one_of(a, al, no_end) || (bl == 1 && b[0] == ' '))
		return false;
	if (al > 1 || bl > 1)
		return true;
	return a[0] == '-' || a[0] == '/';
}

static void push(pdf *P, size_t off, size_t len)
{
	if (P->nspans == P->cap) {
		size_t cap = P->cap ? 2 * P->cap : 64;
		span *s = realloc(P->spans, cap * sizeof(*s));
		if (!s) {
			P->rc = SM_ENOMEM;
			return;
		}
		P->spans = s;
		P->cap = cap;
	}
	P->spans[P->nspans++] = (span){off, len};
}

/* Break s into lines at most `width` wide at `size`: appended to P->spans from *first; returns how many
 * (at least one). A "\n" ends a line; a word longer than the width is broken anywhere. */
static size_t wrap(pdf *P, int f, double size, const char *s, double width, size_t *first)
{
	size_t n = strlen(s), start = 0, brk = 0, brk_next = 0, prev = 0, prev_l = 0;
	double cum = 0, cum_next = 0;
	bool have_brk = false;
	*first = P->nspans;
	for (size_t i = 0; i < n;) {
		size_t l = sm_home_u8len(s + i, n - i), step = l ? l : 1;
		if (s[i] == '\n') {
			push(P, start, i - start);
			start = i + 1;
			i++;
			cum = 0;
			have_brk = false;
			prev_l = 0;
			continue;
		}
		if (prev_l && i > start && can_break(s + prev, prev_l, s + i, l)) {
			have_brk = true;
			brk = s[prev] == ' ' ? prev : i;
			brk_next = i;
			cum_next = cum;
		}
		double cw = advance(P, f, s + i, l) * size;
		while (cum + cw > width && i > start) {
			if (have_brk && brk_next > start) {
				push(P, start, brk - start);
				start = brk_next;
				cum -= cum_next;
			} else {
				push(P, start, i - start);
				start = i;
				cum = 0;
			}
			have_brk = false;
		}
		cum += cw;
		prev = i;
		prev_l = l;
		i += step;
	}
	if (start < n || P->nspans == *first)
		push(P, start, n - start);
	return P->nspans - *first;
}

/* Draw n bytes of s with its baseline at (x, y): control characters and bytes that are not UTF-8 as '?'. */
static void show(pdf *P, int f, double size, const double rgb[3], double x, double y, const char *s, size_t n)
{
	char buf[1024];
	size_t len = 0;
	if (!P->draw)
		return;
	for (size_t i = 0; i < n && len + 4 < sizeof(buf);) {
		size_t l = sm_home_u8len(s + i, n - i);
		if (!l || (l == 1 && ((unsigned char)s[i] < 0x20 || s[i] == 0x7f))) {
			buf[len++] = '?';
		} else {
			memcpy(buf + len, s + i, l);
			len += l;
		}
		i += l ? l : 1;
	}
	buf[len] = '\0';
	cairo_set_source_rgb(P->cr, rgb[0], rgb[1], rgb[2]);
	cairo_set_font_face(P->cr, P->font[f].face);
	cairo_set_font_size(P->cr, size);
	cairo_move_to(P->cr, x, y);
	cairo_show_text(P->cr, buf);
}

static void table_header(pdf *P);

/* The footer: the report and the home on the left, "n / N" on the right. */
static void footer(pdf *P)
{
	char left[SM_HOME_ID_MAX + 128], right[32];
	snprintf(left, sizeof(left), "starmark " DASH " %s " DASH " %s", P->R->w[M_TITLE], P->R->h->id);
	snprintf(right, sizeof(right), "%d / %d", P->page, P->pages);
	const double y = PAGE_H - MARGIN + 4;
	show(P, F_REGULAR, 8, grey, MARGIN, y, left, strlen(left));
	show(P, F_REGULAR, 8, grey, PAGE_W - MARGIN - text_width(P, F_REGULAR, 8, right), y, right, strlen(right));
}

/* Room for h more points on this page, or a new page (with the table's header again inside the table). A block
 * taller than a page is not moved off a page that holds nothing yet. */
static void ensure(pdf *P, double h)
{
	if (P->y + h <= BODY_BOTTOM || P->y <= P->top)
		return;
	footer(P);
	if (P->draw)
		cairo_show_page(P->cr);
	P->page++;
	P->y = MARGIN;
	if (P->in_table)
		table_header(P);
	P->top = P->y; /* a row that does not fit under the header alone stays */
}

/* A paragraph: its lines at x, `width` wide, moving to a new page between lines when needed. */
static void para(pdf *P, int f, double size, const double rgb[3], double x, double width, const char *s)
{
	size_t first, n = wrap(P, f, size, s, width, &first);
	for (size_t i = 0; i < n && !P->rc; i++) {
		ensure(P, size * LEAD);
		span sp = P->spans[first + i];
		show(P, f, size, rgb, x, P->y + size * (ASCENT + (LEAD - 1) / 2), s + sp.off, sp.len);
		P->y += size * LEAD;
	}
	P->nspans = first;
}

static void heading(pdf *P, const char *s)
{
	P->y += 10;
	ensure(P, 12 * LEAD + 48); /* with a few lines of what follows */
	para(P, F_BOLD, 12, black, MARGIN, BODY_W, s);
	if (P->draw) {
		cairo_set_source_rgb(P->cr, 0, 0, 0);
		cairo_set_line_width(P->cr, 0.6);
		cairo_move_to(P->cr, MARGIN, P->y);
		cairo_line_to(P->cr, MARGIN + BODY_W, P->y);
		cairo_stroke(P->cr);
	}
	P->y += 5;
}

static void kv_block(pdf *P, const sm_home_kv *k, size_t n)
{
	for (size_t i = 0; i < n && !P->rc; i++) {
		const int f = k[i].verdict >= 0 || k[i].big ? F_BOLD : F_REGULAR;
		const double size = k[i].big ? 16 : TEXT, *rgb = k[i].verdict >= 0 ? verdict_rgb[k[i].verdict] : black;
		size_t kf, vf, nf = 0, kn = wrap(P, F_REGULAR, TEXT, P->R->w[k[i].key], KEY_W - 8, &kf);
		size_t vn = wrap(P, f, size, k[i].value, BODY_W - KEY_W, &vf), notef = 0;
		if (k[i].note[0])
			nf = wrap(P, F_REGULAR, TEXT, k[i].note, BODY_W - KEY_W, &notef);
		const double kh = (double)kn * TEXT * LEAD, vh = (double)vn * size * LEAD + (double)nf * TEXT * LEAD;
		ensure(P, kh > vh ? kh : vh);
		for (size_t j = 0; j < kn; j++)
			show(P, F_REGULAR, TEXT, grey, MARGIN,
			     P->y + TEXT * (ASCENT + (LEAD - 1) / 2 + LEAD * (double)j),
			     P->R->w[k[i].key] + P->spans[kf + j].off, P->spans[kf + j].len);
		for (size_t j = 0; j < vn; j++)
			show(P, f, size, rgb, MARGIN + KEY_W,
			     P->y + size * (ASCENT + (LEAD - 1) / 2 + LEAD * (double)j),
			     k[i].value + P->spans[vf + j].off, P->spans[vf + j].len);
		for (size_t j = 0; j < nf; j++)
			show(P, F_REGULAR, TEXT, black, MARGIN + KEY_W,
			     P->y + (double)vn * size * LEAD + TEXT * (ASCENT + (LEAD - 1) / 2 + LEAD * (double)j),
			     k[i].note + P->spans[notef + j].off, P->spans[notef + j].len);
		P->y += (kh > vh ? kh : vh) + 1.5;
		P->nspans = kf;
	}
}

/* One row of the table: the header's (cells NULL) or a device's. Cells wrap; the row moves whole to the next
 * page when it does not fit. */
static void table_row(pdf *P, const sm_home_row *rw, size_t index)
{
	const double lh = TABLE * LEAD, base = TABLE * (ASCENT + (LEAD - 1) / 2);
	size_t first[NCOL], n[NCOL], rfirst = 0, rn = 0, lines = 0, mark = P->nspans;
	for (int c = 0; c < NCOL; c++) {
		const char *text = rw ? rw->cell[c] : P->R->w[sm_home_col_words[c]];
		n[c] = wrap(P, !rw || c == C_VERDICT ? F_BOLD : F_REGULAR, TABLE, text, col_w[c] - 2 * PAD, &first[c]);
		lines = n[c] > lines ? n[c] : lines;
	}
	if (rw && rw->reason[0]) {
		rn = wrap(P, F_REGULAR, TABLE, rw->reason, col_w[C_VERDICT] - 2 * PAD, &rfirst);
		lines = n[C_VERDICT] + rn > lines ? n[C_VERDICT] + rn : lines;
	}
	const double h = (double)lines * lh + 2 * PAD;
	if (rw)
		ensure(P, h);
	if (P->draw && (!rw || index % 2)) {
		cairo_set_source_rgb(P->cr, rw ? 0.96 : 0.88, rw ? 0.96 : 0.88, rw ? 0.96 : 0.88);
		cairo_rectangle(P->cr, MARGIN, P->y, BODY_W, h);
		cairo_fill(P->cr);
	}
	double x = MARGIN;
	for (int c = 0; c < NCOL; c++) {
		const char *text = rw ? rw->cell[c] : P->R->w[sm_home_col_words[c]];
		const int f = !rw || c == C_VERDICT ? F_BOLD : F_REGULAR;
		const double *rgb = rw && c == C_VERDICT ? verdict_rgb[rw->verdict] : black;
		for (size_t j = 0; j < n[c]; j++)
			show(P, f, TABLE, rgb, x + PAD, P->y + PAD + base + lh * (double)j,
			     text + P->spans[first[c] + j].off, P->spans[first[c] + j].len);
		for (size_t j = 0; c == C_VERDICT && j < rn; j++)
			show(P, F_REGULAR, TABLE, black, x + PAD, P->y + PAD + base + lh * (double)(n[c] + j),
			     rw->reason + P->spans[rfirst + j].off, P->spans[rfirst + j].len);
		if (P->draw) {
			cairo_rectangle(P->cr, x, P->y, col_w[c], h);
			cairo_set_source_rgb(P->cr, 0.6, 0.6, 0.6);
			cairo_set_line_width(P->cr, 0.4);
			cairo_stroke(P->cr);
		}
		x += col_w[c];
	}
	P->y += h;
	P->nspans = mark;
}

static void table_header(pdf *P)
{
	table_row(P, NULL, 0);
}

/* The height of a row (the header's when rw is NULL), to keep the header with the first row. */
static double row_height(pdf *P, const sm_home_row *rw)
{
	size_t first, mark = P->nspans, lines = 0;
	for (int c = 0; c < NCOL; c++) {
		size_t n = wrap(P, !rw || c == C_VERDICT ? F_BOLD : F_REGULAR, TABLE,
		                rw ? rw->cell[c] : P->R->w[sm_home_col_words[c]], col_w[c] - 2 * PAD, &first);
		if (rw && c == C_VERDICT && rw->reason[0])
			n += wrap(P, F_REGULAR, TABLE, rw->reason, col_w[c] - 2 * PAD, &first);
		lines = n > lines ? n : lines;
	}
	P->nspans = mark;
	return (double)lines * TABLE * LEAD + 2 * PAD;
}

/* A list item: `marker` in the margin of a hanging indent. */
static void item(pdf *P, const char *marker, const char *text)
{
	const double indent = 18;
	size_t first, n = wrap(P, F_REGULAR, TEXT, text, BODY_W - indent, &first);
	for (size_t j = 0; j < n && !P->rc; j++) {
		ensure(P, TEXT * LEAD);
		const double y = P->y + TEXT * (ASCENT + (LEAD - 1) / 2);
		if (j == 0)
			show(P, F_REGULAR, TEXT, black, MARGIN + 4, y, marker, strlen(marker));
		show(P, F_REGULAR, TEXT, black, MARGIN + indent, y, text + P->spans[first + j].off,
		     P->spans[first + j].len);
		P->y += TEXT * LEAD;
	}
	P->nspans = first;
	P->y += 1.5;
}

static void device_list(pdf *P, bool missing)
{
	char line[SM_HOME_ID_MAX + SM_VENDOR_MAX + SM_MODEL_MAX + SM_HOME_TEXT_MAX + 16];
	size_t k = 0;
	for (size_t i = 0; i < P->R->r->ndevices; i++) {
		const sm_home_device *dev = P->R->r->devices[i].dev;
		if (missing ? !(dev->planned && !dev->installed) : !(dev->installed && !dev->planned))
			continue;
		sm_home_rep_line(dev, line, sizeof(line));
		item(P, "\xe2\x80\xa2", line); /* U+2022 BULLET */
		k++;
	}
	if (!k)
		para(P, F_REGULAR, TEXT, black, MARGIN, BODY_W, P->R->w[M_NONE]);
}

/* The whole document, laid out (P->draw false) or drawn. */
static void flow(pdf *P, sm_home_row *rw, sm_home_kv *k, const sm_home_action *acts, size_t nacts)
{
	const sm_home_rep *R = P->R;
	const sm_home_result *r = R->r;
	char text[SM_ERR_MSG_MAX + 400], num[24];
	const char *args[] = {NULL, num};
	P->page = 1;
	P->y = P->top = MARGIN;
	para(P, F_BOLD, 18, black, MARGIN, BODY_W, R->w[M_TITLE]);
	P->y += 6;
	kv_block(P, k, sm_home_rep_summary(R, k));
	if (r->counted_planned)
		para(P, F_REGULAR, TEXT, black, MARGIN, BODY_W, R->w[M_DESIGN]);
	heading(P, R->w[M_POLICY]);
	kv_block(P, k, sm_home_rep_policy(R, k));
	snprintf(num, sizeof(num), "%zu", r->ndevices);
	sm_home_fill(text, sizeof(text), R->w[M_DEVICES], args, 2);
	heading(P, text);
	if (r->ndevices) {
		sm_home_rep_row(R, &r->devices[0], rw);
		ensure(P, row_height(P, NULL) + row_height(P, rw)); /* the header not alone at a page's foot */
	}
	table_header(P);
	P->in_table = true;
	for (size_t i = 0; i < r->ndevices && !P->rc; i++) {
		sm_home_rep_row(R, &r->devices[i], rw);
		table_row(P, rw, i);
	}
	P->in_table = false;
	heading(P, R->w[M_ACTIONS]);
	for (size_t i = 0; i < nacts && !P->rc; i++) {
		sm_home_action_text(&acts[i], R->lang, text, sizeof(text));
		snprintf(num, sizeof(num), "%zu.", i + 1);
		item(P, num, text);
	}
	if (!nacts)
		para(P, F_REGULAR, TEXT, black, MARGIN, BODY_W, R->w[M_NONE]);
	heading(P, R->w[M_MISSING]);
	device_list(P, true);
	heading(P, R->w[M_UNPLANNED]);
	device_list(P, false);
	heading(P, R->w[M_EVIDENCE]);
	kv_block(P, k, sm_home_rep_evidence(R, k, &P->rc));
	if (r->have_checkpoint && r->checkpoint_text) {
		/* the signed note is copied as a whole to check it: it stays on one page with its caption */
		size_t lines = 1;
		for (const char *c = r->checkpoint_text; *c; c++)
			lines += *c == '\n';
		ensure(P, TEXT * LEAD * 2 + TABLE * LEAD * (double)(lines + 1));
		para(P, F_REGULAR, TEXT, grey, MARGIN, BODY_W, R->w[M_CP_NOTE]);
		para(P, F_MONO, TABLE, black, MARGIN + 8, BODY_W - 8, r->checkpoint_text);
	}
	P->y += 6;
	para(P, F_REGULAR, TEXT, black, MARGIN, BODY_W, R->w[r->have_checkpoint ? M_EVIDENCE_TEXT : M_NO_CHECKPOINT]);
	footer(P);
	if (P->draw)
		cairo_show_page(P->cr);
}

int sm_home_report_pdf(const sm_home *h, const sm_policy *p, const sm_home_result *r, const sm_home_report_opts *o,
                       sm_buf *out, sm_err *err)
{
	sm_home_rep R;
	sm_policy dflt;
	pdf P;
	sink k = {out, 0};
	char title[SM_HOME_ID_MAX + 64];
	sm_home_action *acts = NULL;
	size_t nacts = 0;
	int rc = sm_home_rep_init(&R, h, p, r, o, &dflt, err);
	if (rc)
		return rc;
	memset(&P, 0, sizeof(P));
	P.R = &R;
	sm_home_row *rw = malloc(sizeof(*rw));
	sm_home_kv *kv = calloc(KV_MAX, sizeof(*kv));
	cairo_surface_t *s = cairo_pdf_surface_create_for_stream(sink_write, &k, PAGE_W, PAGE_H);
	snprintf(title, sizeof(title), "%s " DASH " %s", R.w[M_TITLE], h->id);
	cairo_pdf_surface_set_metadata(s, CAIRO_PDF_METADATA_TITLE, title);
	cairo_pdf_surface_set_metadata(s, CAIRO_PDF_METADATA_CREATOR, "starmark");
	P.cr = cairo_create(s);
	if (!rw || !kv || fonts_init(&P) || sm_home_rep_actions(r, &acts, &nacts)) {
		rc = SM_ENOMEM;
		goto out;
	}
	flow(&P, rw, kv, acts, nacts); /* to count the pages */
	P.pages = P.page;
	P.draw = true;
	P.nspans = 0;
	if (!P.rc)
		flow(&P, rw, kv, acts, nacts);
	rc = P.rc;
out:;
	cairo_status_t st = cairo_status(P.cr);
	cairo_destroy(P.cr);
	cairo_surface_finish(s);
	if (st == CAIRO_STATUS_SUCCESS)
		st = cairo_surface_status(s);
	cairo_surface_destroy(s);
	fonts_cleanup(&P);
	free(P.spans);
	free(acts);
	free(kv);
	free(rw);
	if (!rc && k.rc)
		rc = k.rc;
	if (!rc && st != CAIRO_STATUS_SUCCESS)
		rc = st == CAIRO_STATUS_NO_MEMORY ? SM_ENOMEM : SM_EIO;
	if (rc)
		return sm_err_set(err, rc, NULL, "writing the PDF report failed: %s",
		                  st != CAIRO_STATUS_SUCCESS ? cairo_status_to_string(st) : sm_strerror(rc));
	return 0;
}
