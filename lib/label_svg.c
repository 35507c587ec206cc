/* SPDX-License-Identifier: Apache-2.0 */
/* SVG labels: the codes and the text written by hand into the document cairo draws the rest of. */
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "label_int.h"
#include "png_int.h"
#include "starmark/codec.h"

/*
 * The families a viewer looks for, the label's face first. BIZ UDGothic ships with Windows 10 (1809) and
 * later and Debian's fonts-morisawa-bizud-gothic; elsewhere a Japanese gothic stands in, and textLength
 * keeps each line as wide as it was laid out, so that it still fits its label.
 */
#define SVG_FAMILIES "'" SM_LABEL_FONT "', 'BIZ UDゴシック', 'Hiragino Sans', 'Yu Gothic', 'Noto Sans CJK JP', sans-serif"

/*
 * The code as a 1-bit PNG of the printer's dots (zlib, ~600 bytes; ~850 in base64) drawn at its size:
 * the module is a whole number of dots at the dpi the sheet was laid out for and its corner on the dot
 * grid, so a renderer at that dpi copies the pixels one to one, as sharp as a path. A code of one pixel a
 * module would be smaller, but rsvg-convert (2.54) smooths an image it scales whatever image-rendering
 * says, and blurred module edges lost zbar 8 codes of 14; browsers that honour `pixelated` keep it
 * sharp at other zooms too. As a path of dark runs ("M4 7.5h3m2 0h1") a code was ~4.4 KB at any dpi,
 * 0.44 MB of a 100-label sheet.
 */
static int svg_code(sm_buf *b, const QRcode *q, double x, double y, int md, double dot)
{
	const int w = q->width, px = w * md;
	const size_t rowbytes = ((size_t)px + 7) / 8;
	sm_buf png = SM_BUF_INIT;
	char *b64 = NULL;
	uint8_t *pix = calloc(rowbytes, (size_t)px);
	int rc = pix ? 0 : SM_ENOMEM;
	for (int py = 0; !rc && py < px; py++)
		for (int pxx = 0; pxx < px; pxx++)
			if (!(q->data[(size_t)(py / md) * (size_t)w + (size_t)(pxx / md)] & 1))
				pix[(size_t)py * rowbytes + (size_t)pxx / 8] |= (uint8_t)(0x80u >> (pxx % 8));
	if (!rc)
		rc = sm_png_grey1(pix, rowbytes, (uint32_t)px, (uint32_t)px, (int)(25.4 / dot + 0.5), &png);
	if (!rc && !(b64 = sm_base64_encode(png.data, png.len)))
		rc = SM_ENOMEM;
	if (!rc)
		rc = sm_buf_printf(b,
		                   "<image x=\"%.6g\" y=\"%.6g\" width=\"%.6g\" height=\"%.6g\" "
		                   "image-rendering=\"optimizeSpeed\" style=\"image-rendering:pixelated\" "
		                   "preserveAspectRatio=\"none\" xlink:href=\"data:image/png;base64,%s\"/>\n",
		                   x, y, dot * px, dot * px, b64);
	free(b64);
	sm_buf_cleanup(&png);
	free(pix);
	return rc;
}

/* Text as XML character data: markup escaped, a control character (none passes the validators) as '?'. */
static int svg_chars(sm_buf *b, const char *s)
{
	int rc = 0;
	for (; !rc && *s; s++) {
		const unsigned char ch = (unsigned char)*s;
		if (ch == '&')
			rc = sm_buf_puts(b, "&amp;");
		else if (ch == '<')
			rc = sm_buf_puts(b, "&lt;");
		else if (ch == '>')
			rc = sm_buf_puts(b, "&gt;");
		else if (ch < 0x20 || ch == 0x7f)
			rc = sm_buf_puts(b, "?");
		else
			rc = sm_buf_append(b, s, 1);
	}
	return rc;
}

/*
 * A line as <text>, not as cairo's glyph outlines: cairo writes every glyph once a size as a <symbol>
 * and each use of it as a <use> of ~58 bytes, 0.78 MB of a 100-label sheet; this is ~150 bytes a line.
 * The face sets it as cairo would (no kerning in BIZ UDGothic, the layout's advances are its own), so
 * that rsvg-convert draws the same label; textLength holds the laid-out width where another face
 * stands in (rsvg-convert ignores it and needs it not).
 */
static int svg_line(sm_buf *b, label_typeset *t, const label_line *ln, double x, double y)
{
	cairo_text_extents_t e;
	if (ln->size <= 0 || ln->nglyphs <= 0)
		return 0;
	cairo_scaled_font_glyph_extents(t->font[ln->bold].measure, ln->glyphs, ln->nglyphs, &e);
	int rc = sm_buf_printf(b, "<text x=\"%.2f\" y=\"%.2f\" font-size=\"%.3f\"%s textLength=\"%.2f\" "
	                          "lengthAdjust=\"spacingAndGlyphs\">",
	                       x, y + ln->y, ln->size, ln->bold ? " font-weight=\"bold\"" : "",
	                       e.x_advance * ln->size / SM_LABEL_MEASURE_SIZE);
	if (!rc)
		rc = svg_chars(b, ln->text);
	return rc ? rc : sm_buf_puts(b, "</text>\n");
}

void sm_label_svg_add(label_svg *sv, label_typeset *t, const label_layout *l, const QRcode *q, double x, double y)
{
	const double u = l->module_dots * l->dot;
	if (sv->rc == 0)
		sv->rc = svg_code(&sv->body, q, x + l->code_x + SM_LABEL_QUIET * u, y + l->code_y + SM_LABEL_QUIET * u,
		                  l->module_dots, l->dot);
	for (int i = 0; sv->rc == 0 && i < LN_COUNT; i++)
		sv->rc = svg_line(&sv->body, t, &l->ln[i], x + l->text_x, y);
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

int sm_label_svg_finish(sm_buf *doc, label_svg *sv, sm_err *err)
{
	static const char end[] = "</svg>";
	const size_t el = sizeof(end) - 1;
	size_t at = doc->len;
	int rc = sv->rc;
	svg_normalise(doc);
	while (at >= el && memcmp(doc->data + at - el, end, el) != 0)
		at--;
	if (!rc && at < el)
		return sm_err_set(err, SM_EIO, NULL, "rendering the label failed: cairo wrote no </svg>");
	char *tail = rc ? NULL : malloc(doc->len - (at - el));
	if (!rc && !tail)
		rc = SM_ENOMEM;
	if (!rc) {
		const size_t n = doc->len - (at - el);
		memcpy(tail, doc->data + at - el, n);
		doc->len = at - el;
		rc = sm_buf_puts(doc, "<g font-family=\"" SVG_FAMILIES "\" xml:space=\"preserve\">\n");
		if (!rc)
			rc = sm_buf_append(doc, sv->body.data, sv->body.len);
		if (!rc)
			rc = sm_buf_puts(doc, "</g>\n");
		if (!rc)
			rc = sm_buf_append(doc, tail, n);
	}
	free(tail);
	if (rc == SM_ENOMEM)
		return sm_err_set(err, rc, NULL, "out of memory writing the SVG");
	return rc ? sm_err_set(err, rc, NULL, "writing the SVG failed: %s", sm_strerror(rc)) : 0;
}

void sm_label_svg_cleanup(label_svg *sv)
{
	sm_buf_cleanup(&sv->body);
}
