/* SPDX-License-Identifier: Apache-2.0 */
/* The search fold: one normal form for searchable text and for queries (width, case and kana); display width. */
#ifndef STARMARK_TEXTFOLD_H
#define STARMARK_TEXTFOLD_H

#include <stddef.h>

#include "starmark/buf.h"

/*
 * The version of the fold. The store records the version its search index was built with
 * (schema/store.md, meta `search_fold`) and re-indexes a store built with another one when it is
 * opened for writing: raise this whenever sm_text_fold changes what it writes for any input.
 * Version 1 (no meta key) folded ASCII case and full-width ASCII only.
 */
#define SM_TEXT_FOLD_VERSION 2

/**
 * Append the search form of the `n` bytes at `s` to `out` (not NUL-terminated; call
 * sm_buf_terminate for a C string). Searchable text and queries go through this one function, so
 * that `ｾｺﾑ`, `セコム`, `せこむ`, `ＳＥＣＯＭ` and `secom` meet. Per code point, in order:
 *  - full-width ASCII U+FF01..FF5E -> ASCII; ASCII A-Z -> a-z (other scripts keep their case);
 *  - half-width katakana U+FF66..FF9D -> katakana, half-width punctuation U+FF61..FF65 and the
 *    half-width prolonged sound mark U+FF70 -> their full-width forms (。「」、・ー);
 *  - hiragana U+3041..3096 and the iteration marks ゝゞ -> katakana;
 *  - a voiced or semi-voiced mark, half-width (U+FF9E/FF9F) or combining (U+3099/309A), after a kana
 *    that takes it -> the composed kana (ｾﾞ -> ゼ, ﾊﾟ -> パ, ｳﾞ -> ヴ, か+U+3099 -> ガ); one that
 *    composes with nothing -> the spacing mark ゛ (U+309B) or ゜ (U+309C);
 *  - U+3000 ideographic space and U+00A0 no-break space -> space; C0 controls and DEL -> space (a
 *    query never spans two fields: the store joins them with '\n');
 *  - the dashes a word processor puts into model numbers (U+2010..2013, U+2212 minus, U+FE63 small
 *    hyphen-minus) -> '-'; U+301C wave dash -> '~' (Shift_JIS 0x8160 becomes U+301C or U+FF5E
 *    depending on the converter, and U+FF5E folds to '~' already);
 *  - bytes that are not UTF-8 (stray continuation bytes, overlong forms, surrogates, past U+10FFFF,
 *    a sequence cut short, at the end or by another lead byte) -> U+FFFD, one per byte;
 *  - everything else unchanged.
 * The result is valid UTF-8 without NUL, and folding it again gives it back. Never reads past
 * s[n - 1]. 0, or SM_ENOMEM / SM_ETOOBIG from the buffer (what was appended stays).
 */
int sm_text_fold(sm_buf *out, const char *s, size_t n);

/**
 * The columns the `n` bytes at `s` take in a terminal, for padding user text in a table: East Asian
 * Wide and Fullwidth characters (kanji, kana, hangul, full-width forms U+FF01..FF60, the wide emoji)
 * count 2; combining marks (U+0300..036F and the other combining blocks, the kana voicing marks
 * U+3099/309A), zero-width and format characters (U+200B..200F, U+2060..2064, U+FEFF), variation
 * selectors and C0/C1 controls count 0; everything else 1, half-width katakana and the Ambiguous
 * characters (★, ○) included, as a terminal shows them outside a CJK locale. A byte that does not
 * start well-formed UTF-8 counts 1 (shown as U+FFFD). The same answer in every locale; reads only
 * below s[n].
 */
size_t sm_text_width(const char *s, size_t n);

#endif
