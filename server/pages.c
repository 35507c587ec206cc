/* SPDX-License-Identifier: Apache-2.0 */
/* The certificate page a phone opens from a label (/L/{token}) or a link (/c/{id}), in Japanese or English. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "server.h"
#include "starmark/label.h"

enum lang { EN, JA };

/* Japanese when the client prefers it (the first of ja/en by q-value, ties to the first listed). */
static enum lang pick_lang(const sm_req *q)
{
	const char *al = sm_req_header(q, "Accept-Language");
	double best_ja = -1, best_en = -1;
	int pos = 0, pos_ja = 1000, pos_en = 1000;
	for (const char *p = al; p && *p; pos++) {
		while (*p == ' ' || *p == ',')
			p++;
		const char *end = strchr(p, ',');
		size_t len = end ? (size_t)(end - p) : strlen(p);
		double qv = 1.0;
		const char *semi = memchr(p, ';', len);
		if (semi && strncmp(semi, ";q=", 3) == 0)
			qv = strtod(semi + 3, NULL);
		if (strncmp(p, "ja", 2) == 0 && qv > best_ja) {
			best_ja = qv;
			pos_ja = pos;
		} else if (strncmp(p, "en", 2) == 0 && qv > best_en) {
			best_en = qv;
			pos_en = pos;
		}
		p = end ? end + 1 : p + len;
	}
	return best_ja > best_en || (best_ja == best_en && best_ja >= 0 && pos_ja < pos_en) ? JA : EN;
}

static int esc(sm_buf *b, const char *s)
{
	int rc = 0;
	for (; s && *s && !rc; s++) {
		switch (*s) {
		case '&': rc = sm_buf_puts(b, "&amp;"); break;
		case '<': rc = sm_buf_puts(b, "&lt;"); break;
		case '>': rc = sm_buf_puts(b, "&gt;"); break;
		case '"': rc = sm_buf_puts(b, "&quot;"); break;
		case '\'': rc = sm_buf_puts(b, "&#39;"); break;
		default: rc = sm_buf_append(b, s, 1);
		}
	}
	return rc;
}

struct words {
	const char *title, *genuine, *not_genuine, *not_genuine_long, *why_unreadable, *why_forged, *details,
		*no_record, *status[4],
		*status_long[4], *level, *vendor, *product, *models, *fw, *fw_revoked, *registered, *expires, *support,
		*none, *id, *history, *claims_differ;
};

static const struct words W[2] = {
	[EN] = { "Certification", "Genuine label: signed by the registry", "NOT GENUINE",
		 "This label was not issued by the registry: it cannot show that the product is certified.",
		 "The code on the label cannot be read as a registry label: it is damaged or not a label.",
		 "The registry's signature does not match what the label says: it is forged or altered.",
		 "Technical details",
		 "Genuine label, but this registry holds no record of it: ask the vendor or the scheme owner",
		 { "ACTIVE", "SUSPENDED", "REVOKED", "EXPIRED" },
		 { "This certificate is valid.", "This certificate is suspended: do not rely on it until it is reinstated.",
		   "This certificate has been revoked: the product is no longer certified.",
		   "This certificate has expired: the product is no longer certified." },
		 "Level", "Vendor", "Product", "Model numbers", "Firmware covered", "Firmware revoked", "Registered",
		 "Expires", "Vendor support until", "none", "Registration number", "History",
		 "The label's claims differ from the registry's record" },
	[JA] = { "認証情報", "正規のラベルです（登録機関の署名を確認しました）", "正規のラベルではありません",
		 "このラベルは登録機関が発行したものではありません。"
		 "この製品が認証されていることの証明にはなりません。",
		 "ラベルのコードを登録機関のラベルとして読み取れません。破損しているか、ラベルではありません。",
		 "ラベルの記載内容と登録機関の署名が一致しません。偽造または改ざんされたラベルです。",
		 "技術的な詳細（英語）",
		 "正規のラベルですが、この登録機関に記録がありません。事業者または制度運営者にお問い合わせください",
		 { "有効", "一時停止", "取り消し済み", "期限切れ" },
		 { "この認証は有効です。", "この認証は一時停止中です。再開されるまで信頼しないでください。", "この認証は取り消されました。この製品は認証されていません。",
		   "この認証は期限切れです。この製品は認証されていません。" },
		 "レベル", "事業者", "製品名", "型番", "対象ファームウェア", "取り消されたファームウェア", "登録日", "有効期限", "サポート期限", "なし",
		 "登録番号", "履歴", "ラベルの記載内容が登録内容と異なります" },
};

/*
 * Phone first: the verdict in large words at the top, then the facts as label-over-value pairs (a two-column
 * table from 32rem up). Long values wrap inside the screen; each model number and version sits on a line of
 * its own, so that one is never read as two.
 */
static const char CSS[] =
	"*{box-sizing:border-box}"
	"body{font-family:system-ui,'Noto Sans CJK JP',sans-serif;font-size:1rem;margin:0 auto;padding:1rem;"
	"max-width:40rem;color:#111;background:#fff;line-height:1.5;-webkit-text-size-adjust:100%}"
	"p{margin:.5rem 0}"
	".status,.verdict{font-size:2.4rem;font-weight:800;line-height:1.15;margin:.25rem 0 .4rem}"
	".verdict,.verdict.bad{font-size:2rem;color:#b00020;background:none}"
	/* Japanese breaks between phrases (Chromium 119+; elsewhere between characters, as before) */
	"body:lang(ja){word-break:auto-phrase}.status,.verdict,.lead{text-wrap:balance}"
	".lead{font-size:1.125rem;font-weight:600;margin:0 0 1rem}"
	".genuine{padding:.6rem 1rem;border-radius:.5rem;font-weight:600}"
	".ok{background:#e6f4ea;color:#0a5d26}.ok::before{content:'\\2713\\00a0'}"
	".ok.muted{background:#f1f1f1;color:#333}"
	".bad{background:#fde7e9;color:#8a0016}.norec{font-size:1.25rem;margin-top:1rem}"
	".why{color:#555;font-size:.875rem;overflow-wrap:anywhere}"
	".stars{font-size:2rem;line-height:1.2;letter-spacing:.1rem;color:#a88500;margin:.75rem 0 .25rem}"
	"table{border-collapse:collapse;width:100%}"
	"th,td{text-align:left;padding:.4rem .3rem;border-bottom:1px solid #ddd;vertical-align:top;"
	"overflow-wrap:anywhere}"
	"th{width:38%;color:#555;font-weight:500}"
	"ul{list-style:none;margin:0;padding:0}li{padding-left:1.25em;text-indent:-1.25em}"
	"@media (max-width:32rem){table,tbody,tr,th,td{display:block;width:auto}"
	"tr{border-bottom:1px solid #ddd;padding:.45rem 0}th,td{border:0;padding:0}"
	"th{font-size:.875rem}td{font-size:1.0625rem}}";

static int cell_start(sm_buf *b, const char *k)
{
	int rc = sm_buf_puts(b, "<tr><th>");
	if (!rc)
		rc = esc(b, k);
	return rc ? rc : sm_buf_puts(b, "</th><td>");
}

static int row(sm_buf *b, const char *k, const char *v)
{
	int rc = cell_start(b, k);
	if (!rc)
		rc = esc(b, v);
	return rc ? rc : sm_buf_puts(b, "</td></tr>\n");
}

/* every item of a list, one a line; `none` when the list is empty */
static int row_list(sm_buf *b, const char *k, char *const *items, size_t n, const char *none)
{
	int rc = cell_start(b, k);
	if (!rc && n == 0)
		rc = esc(b, none);
	if (!rc && n > 0)
		rc = sm_buf_puts(b, "<ul>");
	for (size_t i = 0; i < n && !rc; i++) {
		rc = sm_buf_puts(b, "<li>");
		if (!rc)
			rc = esc(b, items[i]);
		if (!rc)
			rc = sm_buf_puts(b, "</li>");
	}
	if (!rc && n > 0)
		rc = sm_buf_puts(b, "</ul>");
	return rc ? rc : sm_buf_puts(b, "</td></tr>\n");
}

static const char *date_text(sm_date d, char buf[11], const char *none)
{
	if (d == SM_DATE_NONE)
		return none;
	sm_date_format(d, buf);
	return buf;
}

static const char *const STARS[] = { "", "★", "★★", "★★★", "★★★★", "★★★★★", "★★★★★★", "★★★★★★★", "★★★★★★★★", "★★★★★★★★★" };

/*
 * The verdict on a label that did not verify and why: in the page's language whether the code could not
 * be read or the signature did not match, then the library's own words, in English, as technical details.
 */
static int not_genuine(sm_buf *b, const struct words *w, const char *why, bool unreadable)
{
	int rc = sm_buf_printf(b,
			       "<p class=\"verdict bad\" id=\"genuine\">%s</p>\n<p class=\"lead\">%s</p>\n"
			       "<p id=\"reason\">%s</p>\n",
			       w->not_genuine, w->not_genuine_long, unreadable ? w->why_unreadable : w->why_forged);
	if (!rc && why && *why) {
		rc = sm_buf_printf(b, "<p class=\"why\">%s: ", w->details);
		if (!rc)
			rc = esc(b, why);
		if (!rc)
			rc = sm_buf_puts(b, "</p>\n");
	}
	return rc;
}

/* The certificate: its current status first, then whether the label is genuine, then the facts. */
static int cert_body(sm_buf *b, const struct words *w, const sm_cert *c, const char *st, int genuine, bool differs)
{
	static const char *const colour[4] = { "#0a7d32", "#9a5a00", "#b00020", "#b00020" };
	int si = sm_status_from_name(st);
	if (si < 0 || si > 3)
		si = 3;
	int lv = c->level < 0 || c->level > 9 ? 0 : c->level;
	char d[11];
	int rc = sm_buf_printf(b,
			       "<p class=\"status\" id=\"status\" data-status=\"%s\" style=\"color:%s\">%s</p>\n"
			       "<p class=\"lead\">%s</p>\n",
			       st, colour[si], w->status[si], w->status_long[si]);
	if (!rc && genuine == 1)
		rc = sm_buf_printf(b, "<p class=\"genuine ok%s\" id=\"genuine\">%s</p>\n", si == 0 ? "" : " muted",
				   w->genuine);
	/* signed by the registry's key, but not what its record says: never shown as a genuine label of it */
	if (!rc && differs)
		rc = sm_buf_printf(b, "<p class=\"genuine bad\" id=\"genuine\">%s</p>\n", w->claims_differ);
	if (!rc)
		rc = sm_buf_printf(b, "<p class=\"stars\" aria-label=\"%s %d\">%s</p>\n<table>\n", w->level, c->level,
				   STARS[lv]);
	char lvtext[64];
	snprintf(lvtext, sizeof(lvtext), "%s %d (%s)", c->scheme, c->level, STARS[lv]);
	if (!rc)
		rc = row(b, w->id, c->id);
	if (!rc)
		rc = row(b, w->level, lvtext);
	char vend[300];
	snprintf(vend, sizeof(vend), "%s (%s)", c->vendor_name ? c->vendor_name : "", c->vendor);
	if (!rc)
		rc = row(b, w->vendor, vend);
	if (!rc)
		rc = row(b, w->product, c->product ? c->product : "");
	if (!rc)
		rc = row_list(b, w->models, c->models, c->nmodels, w->none);
	if (!rc)
		rc = row(b, w->fw, c->firmware);
	if (!rc)
		rc = row_list(b, w->fw_revoked, c->revoked, c->nrevoked, w->none);
	if (!rc)
		rc = row(b, w->registered, date_text(c->registered, d, w->none));
	if (!rc)
		rc = row(b, w->expires, date_text(c->expires, d, w->none));
	if (!rc)
		rc = row(b, w->support, date_text(c->support_end, d, w->none));
	return rc ? rc : sm_buf_puts(b, "</table>\n");
}

/*
 * The page: `verdict` is the label's (sm_label_judge), or -1 for the /c/ page, which has no label. Not
 * genuine, unknown signer (the registry's own bundle knows every key it had, so it does not happen here)
 * and unreadable get the page that says so; a genuine label of no record here says that; otherwise the
 * record, its status first, with the genuine banner, or the banner that the claims differ.
 */
static void page(sm_req *q, const sm_cert *c, int verdict, const char *why)
{
	enum lang l = pick_lang(q);
	const struct words *w = &W[l];
	sm_date today = sm_date_from_time(sm_server_now());
	sm_buf b = SM_BUF_INIT;
	const bool refused = verdict == SM_LABEL_NOT_GENUINE || verdict == SM_LABEL_UNKNOWN_SIGNER ||
			     verdict == SM_LABEL_UNREADABLE;
	const int genuine = verdict == SM_LABEL_GENUINE_IN_FORCE || verdict == SM_LABEL_NOT_IN_FORCE ||
			    verdict == SM_LABEL_STATUS_UNKNOWN;
	int rc = sm_buf_printf(&b,
			       "<!doctype html>\n<html lang=\"%s\"><head><meta charset=\"utf-8\">"
			       "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">"
			       "<title>%s</title><style>%s</style></head><body>\n",
			       l == JA ? "ja" : "en", w->title, CSS);
	if (!rc && refused)
		rc = not_genuine(&b, w, why, verdict == SM_LABEL_UNREADABLE);
	else if (!rc && genuine && !c)
		rc = sm_buf_printf(&b, "<p class=\"genuine bad norec\" id=\"genuine\">%s</p>\n", w->no_record);
	if (!rc && c && !refused)
		rc = cert_body(&b, w, c, sm_cert_status_name(c, today), genuine, verdict == SM_LABEL_CLAIMS_DIFFER);
	if (!rc)
		rc = sm_buf_puts(&b, "</body></html>\n");
	if (rc) {
		sm_buf_cleanup(&b);
		sm_reply_error(q, 500, "internal", NULL, "cannot build the page");
		return;
	}
	evhtp_headers_add_header(q->r->headers_out, evhtp_header_new("Content-Language", l == JA ? "ja" : "en", 1, 1));
	evhtp_headers_add_header(q->r->headers_out, evhtp_header_new("Vary", "Accept-Language", 1, 1));
	evhtp_headers_add_header(q->r->headers_out,
				 evhtp_header_new("Content-Security-Policy", "default-src 'none'; style-src 'unsafe-inline'", 1, 1));
	/* the status can change at any moment: a phone must see the current one */
	sm_reply(q, 200, "text/html; charset=utf-8", b.data, b.len, "no-cache", true);
	sm_buf_cleanup(&b);
}

void sm_h_cert_page(sm_req *q, const char *id)
{
	static const char *const none[] = { NULL };
	sm_cert *c = NULL;
	sm_err err = { 0 };
	if (sm_req_query(q, none))
		return;
	int rc = sm_registry_get(sm_srv->reg, id, &c, &err);
	if (rc) {
		sm_reply_sm_err(q, rc, &err);
		return;
	}
	page(q, c, -1, NULL);
	sm_cert_free(c);
}

void sm_h_label_page(sm_req *q, const char *token)
{
	static const char *const none[] = { NULL };
	sm_label_result res;
	sm_err err = { 0 };
	if (sm_req_query(q, none))
		return;
	/* the verdict is lib's (lib/label_verdict.c), the same `label verify` gives: here against the
	 * registry's own bundle, which is the newest, and its own records */
	sm_label_source src = { sm_registry_trust(sm_srv->reg), true, sm_label_lookup_registry, sm_srv->reg };
	int rc = sm_label_judge(token, strlen(token), &src, sm_server_now(), &res, &err);
	if (rc) {
		/* a store failure is not the label's fault */
		sm_reply_sm_err(q, rc, &err);
		return;
	}
	page(q, res.cert, res.verdict, res.reason);
	sm_label_result_cleanup(&res);
}
