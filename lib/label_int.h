/* SPDX-License-Identifier: Apache-2.0 */
/* Private: what the label modules share (the layout every format draws, and batch errors). */
#ifndef STARMARK_LABEL_INT_H
#define STARMARK_LABEL_INT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <cairo.h>
#include <qrencode.h>

#include "font_int.h"
#include "starmark/buf.h"
#include "starmark/error.h"
#include "starmark/label.h"
#include "starmark/record.h"

#define SM_LABEL_QUIET 4          /* modules of quiet zone on each side (ISO/IEC 18004) */
/*
 * The label face, regular and bold: BIZ UDGothic (fonts-morisawa-bizud-gothic), a universal-design
 * gothic with half-width Latin (a model number reads character by character, 0/O and 1/l/I apart),
 * Greek, Cyrillic, kana, the kanji of JIS X 0208 and U+2605; no Hangul. Its TrueType outlines are
 * subset by cairo to the glyphs used. Noto Sans CJK JP (CFF) was not: cairo 1.16 gives up subsetting a
 * CFF font's subroutines when two glyphs share one that declares hints ("F" with "L"), and then embeds
 * the subroutines of every font dict in use whole, 790 KB for the kanji one (docs/interface-notes.md).
 */
#define SM_LABEL_FONT "BIZ UDGothic"
#define SM_LABEL_MEASURE_SIZE 100.0 /* the font size text is measured at; unhinted metrics scale from it */

/* The lines of a label, top to bottom; LN_MODEL2 holds the second half of a wrapped model number. */
enum { LN_STARS, LN_SCHEME, LN_PRODUCT, LN_MODEL, LN_MODEL2, LN_ID, LN_DATE, LN_COUNT };

/*
 * A line of text and its glyphs as measured: set at SM_LABEL_MEASURE_SIZE from the origin,
 * unhinted, so drawing it at any size scales the positions (the glyphs are looked up once).
 * `clusters` map them back to the text, so that PDF and SVG keep it as text.
 */
typedef struct label_line {
	char text[SM_NAME_MAX + 32];
	double size; /* mm; 0: the line is empty */
	double y;    /* baseline, mm */
	bool bold;
	cairo_glyph_t *glyphs;
	int nglyphs;
	cairo_text_cluster_t *clusters;
	int nclusters;
	cairo_text_cluster_flags_t cluster_flags;
} label_line;

/*
 * Where everything on one label goes, in mm from its top-left corner, decided once for every
 * format (sm_label_layout_build). The code's module is a whole number of device dots at the dpi
 * the layout was made for, and the code's corner is on that dot grid.
 */
typedef struct label_layout {
	double k;         /* the scale: code_mm / 20 (the geometry is in units of k) */
	double w, h;      /* the label */
	double dot;       /* mm per device dot */
	int module_dots;  /* dots per QR module */
	int modules;      /* the symbol's side in modules, without the quiet zone */
	double code_x, code_y, code_s; /* the code with its quiet zone: corner and side */
	double text_x, text_w, rule_y, rule_t;
	int level;
	label_line ln[LN_COUNT];
} label_layout;

/* The fonts, and the same at SM_LABEL_MEASURE_SIZE to measure text with. */
typedef struct label_typeset {
	sm_font font[2]; /* regular, bold */
} label_typeset;

/** Set up the label fonts (SM_LABEL_FONT regular and bold). SM_ENOMEM. */
int sm_label_typeset_init(label_typeset *t, sm_err *err);
/** Release what init made; a second call is harmless. */
void sm_label_typeset_cleanup(label_typeset *t);
/** The width in mm of `s` set at `size` mm. */
double sm_label_text_width(label_typeset *t, const char *s, bool bold, double size);

/**
 * Lay out the label of `model` (NULL: the first) of `c` for a code of `modules` a side (without
 * quiet zone) in a square of `code_mm`, at `dpi` device dots an inch. Its lines' glyphs are
 * looked up (sm_label_layout_release them); on failure nothing is held. SM_EINVAL naming the
 * field (level, registration date, model, a line that does not fit, a code that gets less than
 * one dot a module), SM_ENOMEM.
 */
int sm_label_layout_build(label_typeset *t, const sm_cert *c, const char *model, double code_mm, int dpi,
			  int modules, label_layout *l, sm_err *err);
void sm_label_layout_release(label_layout *l);

/*
 * What an SVG document gets besides what cairo draws (paper, cut lines, rules): each label's code as a
 * path and its lines as <text> (label_svg.c), gathered while cairo draws and put in at the end.
 */
typedef struct label_svg {
	sm_buf body;
	int rc; /* the first error adding */
} label_svg;

/** Add the code and the text of the label laid out as `l` with its corner at (x, y) mm. */
void sm_label_svg_add(label_svg *sv, label_typeset *t, const label_layout *l, const QRcode *q, double x, double y);
/** Put what was added into `doc`, cairo's SVG, before its </svg>. SM_ENOMEM, SM_EIO (no </svg>). */
int sm_label_svg_finish(sm_buf *doc, label_svg *sv, sm_err *err);
void sm_label_svg_cleanup(label_svg *sv);

/** Prefix err's message with the place and id of a failed label of a sheet or a batch
 * ("labels[3] (SM-2024-000123): ..."), its field "labels[3]"; returns rc. */
int sm_label_item_failed(int rc, size_t i, const char *id, sm_err *err);

/**
 * sm_label_read_image on an image in memory (what the fuzz target drives): `data`, `len` (borrowed) are a
 * PNG or JPEG, told apart by their first bytes; `name` names it in messages; `pixels_max` caps the image
 * below the default 100 megapixels (0: the default). *text as sm_label_read_image, and the same errors
 * but those of opening and reading a file.
 */
int sm_label_read_image_mem(const uint8_t *data, size_t len, const char *name, uint64_t pixels_max, char **text,
                            sm_err *err);

#endif
