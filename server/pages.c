/* SPDX-License-Identifier: Apache-2.0 */
/* The certificate page a phone opens from a label (/L/{token}) or a link (/c/{id}), in Japanese or English. */
#include <pthread.h>
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
	/* the way back, the page's own refusals */
	const char *back, *not_found, *not_found_long, *bad_id, *bad_query;
	/* the history's events by type (enum sm_event_type), and what a resident needs in plain words; each
	 * %s is a date */
	const char *events[8], *valid_until, *support_ends, *support_ended, *at_home[4];
	const char *colon; /* between an event and its reason */
	const char *scheme_ref; /* the scheme's own registration number (a migrated list's) */
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
		 "The label's claims differ from the registry's record",
		 "Search the registry", "NOT FOUND",
		 "The registry has no certificate with this registration number. Check the number on the label, or "
		 "search the registry.",
		 "This is not a registration number. Registration numbers look like SM-2024-000123.",
		 "This address has a part this page does not understand. Open the address on the label again.",
		 { "", "Certified", "Amended", "Firmware versions revoked", "Suspended", "Revoked", "Reinstated", "Renewed" },
		 "The certificate is valid until %s.", "This product's vendor support ends on %s.",
		 "This product's vendor support ended on %s: it no longer gets security updates from its vendor.",
		 { "If this device is in your home, nothing needs to be done: keep its software up to date.",
		   "If this device is in your home: its certification is on hold while a problem is examined. Keep using "
		   "it, install the vendor's updates, and look at this page again later.",
		   "If this device is in your home: it can no longer be relied on to meet the security requirements it "
		   "was certified for. Ask the vendor or your installer whether an update or a replacement is needed.",
		   "If this device is in your home: it keeps working, but its certification has ended. Ask the vendor "
		   "whether it has been certified again or an update is available." },
		 ": ", "Scheme registration number" },
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
		 "登録番号", "履歴", "ラベルの記載内容が登録内容と異なります",
		 "登録情報を検索", "見つかりません",
		 "この登録番号の認証は登録されていません。ラベルの番号をご確認いただくか、登録情報を検索してください。",
		 "登録番号の形式ではありません。登録番号は SM-2024-000123 のような形です。",
		 "このアドレスには、このページで扱えない部分が含まれています。ラベルのアドレスを開き直してください。",
		 { "", "認証", "内容の変更", "ファームウェアの取り消し", "一時停止", "取り消し", "再開", "更新" },
		 "この認証の有効期限は%sです。", "この製品のメーカーサポートは%sに終了します。",
		 "この製品のメーカーサポートは%sに終了しました。メーカーからのセキュリティ更新はもう提供されません。",
		 { "ご家庭でこの機器をお使いの場合、特に必要なことはありません。ソフトウェアを最新の状態に保ってください。",
		   "ご家庭でこの機器をお使いの場合：問題の確認中のため、認証が一時停止されています。そのままお使いいただき、"
		   "メーカーの更新を適用して、後日このページをもう一度ご確認ください。",
		   "ご家庭でこの機器をお使いの場合：認証を受けたセキュリティ要件を満たしているとは、もう言えません。"
		   "更新や交換が必要かどうか、事業者または設置業者にお問い合わせください。",
		   "ご家庭でこの機器をお使いの場合：機器はそのまま動作しますが、認証期間は終了しています。"
		   "再認証や更新の有無を事業者にお問い合わせください。" },
		 "：", "制度の登録番号" },
};

/*
 * Phone first: the way back and the language switch in one small line, then the verdict in large words,
 * what it means in plain words, then the facts as label-over-value pairs (a two-column table from 32rem up)
 * and the history. Long values wrap inside the screen; each model number and version sits on a line of its
 * own, so that one is never read as two. No style attribute anywhere: the CSP allows this sheet alone, by
 * its hash.
 */
static const char CSS[] =
	"*{box-sizing:border-box}"
	"body{font-family:system-ui,'Noto Sans CJK JP',sans-serif;font-size:1rem;margin:0 auto;padding:1rem;"
	"max-width:40rem;color:#111;background:#fff;line-height:1.5;-webkit-text-size-adjust:100%}"
	"p{margin:.5rem 0}a{color:#0645ad}"
	"nav{display:flex;flex-wrap:wrap;justify-content:space-between;gap:.5rem 1rem;margin:0 0 .75rem;"
	"padding-bottom:.5rem;border-bottom:1px solid #ddd}"
	"nav a{display:inline-block;padding:.25rem 0}.langs a{margin-left:.75rem}"
	".langs a[aria-current]{color:#111;font-weight:700;text-decoration:none}"
	".status,.verdict{font-size:2.4rem;font-weight:800;line-height:1.15;margin:.25rem 0 .4rem}"
	".st-active{color:#0a7d32}.st-suspended{color:#9a5a00}.st-revoked,.st-expired{color:#b00020}"
	".verdict,.verdict.bad{font-size:2rem;color:#b00020;background:none}"
	/* Japanese breaks between phrases (Chromium 119+; elsewhere between characters, as before) */
	"body:lang(ja){word-break:auto-phrase}.status,.verdict,.lead{text-wrap:balance}"
	".lead{font-size:1.125rem;font-weight:600;margin:0 0 1rem}"
	".plain{background:#f6f6f6;border-radius:.5rem;padding:.5rem 1rem;margin:0 0 1rem}.plain time{white-space:nowrap}"
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
	"ul,ol{list-style:none;margin:0;padding:0}li{padding-left:1.25em;text-indent:-1.25em}"
	"h2{font-size:1.25rem;margin:1.5rem 0 .5rem}"
	"#history li{padding:.4rem 0 .4rem 1.25em;border-bottom:1px solid #ddd;overflow-wrap:anywhere}"
	"#history time{font-weight:600;margin-right:.5rem}"
	"@media (max-width:32rem){table,tbody,tr,th,td{display:block;width:auto}"
	"tr{border-bottom:1px solid #ddd;padding:.45rem 0}th,td{border:0;padding:0}"
	"th{font-size:.875rem}td{font-size:1.0625rem}}";

/* The page's Content-Security-Policy: nothing but its own style sheet, by its SHA-256 (computed once). */
static char csp[256];
static pthread_once_t csp_once = PTHREAD_ONCE_INIT;

static void make_csp(void)
{
	uint8_t h[32];
	sm_sha256(CSS, strlen(CSS), h);
	char *b = sm_base64_encode(h, sizeof(h));
	/* without the hash (no memory at the first page) nothing may style the page: still strict */
	snprintf(csp, sizeof(csp),
		 "default-src 'none'; style-src 'sha256-%s'; img-src 'self'; base-uri 'none'; form-action 'none'; "
		 "frame-ancestors 'none'",
		 b ? b : "");
	free(b);
}

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

/* A paragraph of the catalogue's words with one date filled in (the words are ours, the date digits). */
static int para_date(sm_buf *b, const char *id, const char *fmt, sm_date d)
{
	char date[11];
	sm_date_format(d, date);
	/* the words hold one "%s" where the date goes (filled here, not by printf: the format is data) */
	const char *at = strstr(fmt, "%s");
	size_t before = at ? (size_t)(at - fmt) : strlen(fmt);
	int rc = sm_buf_printf(b, "<p id=\"%s\">", id);
	if (!rc)
		rc = sm_buf_append(b, fmt, before);
	if (!rc && at)
		rc = sm_buf_printf(b, "<time datetime=\"%s\">%s</time>%s", date, date, at + 2);
	return rc ? rc : sm_buf_puts(b, "</p>\n");
}

/* What the status means for a resident, in plain words: until when, the vendor's support, what to do. */
static int plain_words(sm_buf *b, const struct words *w, const sm_cert *c, int si, sm_date today)
{
	int rc = sm_buf_puts(b, "<div class=\"plain\" id=\"plain\">\n");
	if (!rc && si == 0 && c->expires != SM_DATE_NONE)
		rc = para_date(b, "valid-until", w->valid_until, c->expires);
	if (!rc && c->support_end != SM_DATE_NONE)
		rc = para_date(b, "support", c->support_end < today ? w->support_ended : w->support_ends, c->support_end);
	if (!rc)
		rc = sm_buf_printf(b, "<p id=\"at-home\">%s</p>\n", w->at_home[si]);
	return rc ? rc : sm_buf_puts(b, "</div>\n");
}

/* Every event of the certificate, oldest first: its date (UTC), what happened, and the reason given. */
static int history(sm_buf *b, const struct words *w, const sm_cert *c)
{
	int rc = sm_buf_printf(b, "<h2>%s</h2>\n<ol id=\"history\">\n", w->history);
	for (size_t i = 0; i < c->nhistory && !rc; i++) {
		const sm_history *h = &c->history[i];
		char date[11];
		sm_date_format(sm_date_from_time(h->at), date);
		const char *what = h->type >= SM_EV_ISSUE && h->type <= SM_EV_RENEW ? w->events[h->type] : "";
		rc = sm_buf_printf(b, "<li data-event=\"%s\"><time datetime=\"%s\">%s</time>%s", sm_event_name(h->type) ? sm_event_name(h->type) : "",
				   date, date, what);
		if (!rc && h->reason && *h->reason) {
			rc = sm_buf_puts(b, w->colon);
			if (!rc)
				rc = esc(b, h->reason);
		}
		if (!rc)
			rc = sm_buf_puts(b, "</li>\n");
	}
	return rc ? rc : sm_buf_puts(b, "</ol>\n");
}

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

/* The certificate: its current status first, what it means, whether the label is genuine, the facts, the history. */
static int cert_body(sm_buf *b, const struct words *w, const sm_cert *c, sm_date today, int genuine, bool differs)
{
	const char *st = sm_cert_status_name(c, today);
	int si = sm_status_from_name(st);
	if (si < 0 || si > 3)
		si = 3;
	int lv = c->level < 0 || c->level > 9 ? 0 : c->level;
	char d[11];
	int rc = sm_buf_printf(b,
			       "<p class=\"status st-%s\" id=\"status\" data-status=\"%s\">%s</p>\n"
			       "<p class=\"lead\">%s</p>\n",
			       st, st, w->status[si], w->status_long[si]);
	if (!rc && genuine == 1)
		rc = sm_buf_printf(b, "<p class=\"genuine ok%s\" id=\"genuine\">%s</p>\n", si == 0 ? "" : " muted",
				   w->genuine);
	/* signed by the registry's key, but not what its record says: never shown as a genuine label of it */
	if (!rc && differs)
		rc = sm_buf_printf(b, "<p class=\"genuine bad\" id=\"genuine\">%s</p>\n", w->claims_differ);
	if (!rc)
		rc = plain_words(b, w, c, si, today);
	if (!rc)
		rc = sm_buf_printf(b, "<p class=\"stars\" aria-label=\"%s %d\">%s</p>\n<table>\n", w->level, c->level,
				   STARS[lv]);
	char lvtext[64];
	snprintf(lvtext, sizeof(lvtext), "%s %d (%s)", c->scheme, c->level, STARS[lv]);
	if (!rc)
		rc = row(b, w->id, c->id);
	if (!rc && c->scheme_ref)
		rc = row(b, w->scheme_ref, c->scheme_ref);
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
	if (!rc)
		rc = sm_buf_puts(b, "</table>\n");
	return rc ? rc : history(b, w, c);
}

/* The language a page is in: ?lang= when given (checked by page_query), else the Accept-Language header. */
struct page_ctx {
	enum lang lang;
	bool chosen; /* by ?lang=: the answer does not vary with Accept-Language */
};

static const char *const LANG_CODE[2] = { [EN] = "en", [JA] = "ja" };

/* The way back to the registry search and the switch to the other language, both keeping the choice. */
static int nav(sm_buf *b, const struct words *w, enum lang l)
{
	int rc = sm_buf_printf(b, "<nav><a id=\"back\" href=\"/?lang=%s\">&larr; %s</a><span class=\"langs\">",
			       LANG_CODE[l], w->back);
	static const struct {
		enum lang l;
		const char *name;
	} langs[] = { { JA, "日本語" }, { EN, "English" } };
	for (size_t i = 0; i < 2 && !rc; i++)
		rc = sm_buf_printf(b, "<a id=\"lang-%s\" href=\"?lang=%s\" lang=\"%s\" hreflang=\"%s\"%s>%s</a>",
				   LANG_CODE[langs[i].l], LANG_CODE[langs[i].l], LANG_CODE[langs[i].l], LANG_CODE[langs[i].l],
				   langs[i].l == l ? " aria-current=\"page\"" : "", langs[i].name);
	return rc ? rc : sm_buf_puts(b, "</span></nav>\n<main>\n");
}

/* Send a built page: the language headers, the strict CSP, never stored by a cache as the status may change. */
static void send_page(sm_req *q, const struct page_ctx *pc, int status, sm_buf *b)
{
	pthread_once(&csp_once, make_csp);
	evhtp_headers_add_header(q->r->headers_out, evhtp_header_new("Content-Language", LANG_CODE[pc->lang], 0, 0));
	if (!pc->chosen)
		evhtp_headers_add_header(q->r->headers_out, evhtp_header_new("Vary", "Accept-Language", 0, 0));
	evhtp_headers_add_header(q->r->headers_out, evhtp_header_new("Content-Security-Policy", csp, 0, 0));
	evhtp_headers_add_header(q->r->headers_out, evhtp_header_new("Referrer-Policy", "no-referrer", 0, 0));
	/* the status can change at any moment: a phone must see the current one */
	sm_reply(q, status, "text/html; charset=utf-8", b->data, b->len, "no-cache", status == 200);
}

/* The page's head, the navigation, and `main` opened. */
static int page_start(sm_buf *b, const struct words *w, enum lang l, const char *title)
{
	int rc = sm_buf_printf(b,
			       "<!doctype html>\n<html lang=\"%s\"><head><meta charset=\"utf-8\">"
			       "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">"
			       "<meta name=\"referrer\" content=\"no-referrer\">"
			       "<title>%s</title><style>%s</style></head><body>\n",
			       LANG_CODE[l], title, CSS);
	return rc ? rc : nav(b, w, l);
}

static int page_end(sm_buf *b)
{
	return sm_buf_puts(b, "</main>\n</body></html>\n");
}

/* A page of the page's own refusals (unknown, malformed, a query it does not take): HTML, not JSON. */
static void refusal(sm_req *q, const struct page_ctx *pc, int status, const char *lead)
{
	const struct words *w = &W[pc->lang];
	sm_buf b = SM_BUF_INIT;
	int rc = page_start(&b, w, pc->lang, w->not_found);
	if (!rc)
		rc = sm_buf_printf(&b, "<p class=\"verdict bad\" id=\"error\" data-status=\"%d\">%s</p>\n<p class=\"lead\">%s</p>\n",
				   status, status == 404 ? w->not_found : w->title, lead);
	if (!rc)
		rc = page_end(&b);
	if (rc)
		sm_reply_error(q, 500, "internal", NULL, "cannot build the page");
	else
		send_page(q, pc, status, &b);
	sm_buf_cleanup(&b);
}

/*
 * The query of a page: `lang` (ja or en) alone. Anything else is refused with a page, in the language of
 * Accept-Language; 0 with pc filled, or -1 when the refusal was sent.
 */
static int page_query(sm_req *q, struct page_ctx *pc)
{
	static const char *const allowed[] = { "lang", NULL };
	const char *raw = q->r->uri && q->r->uri->query_raw ? (const char *)q->r->uri->query_raw : "";
	sm_query_err e;
	pc->lang = pick_lang(q);
	pc->chosen = false;
	if (sm_query_parse(raw, allowed, q->params, &q->nparams, &e) != 0) {
		refusal(q, pc, 400, W[pc->lang].bad_query);
		return -1;
	}
	const char *l = sm_req_param(q, "lang");
	if (l && strcmp(l, "ja") != 0 && strcmp(l, "en") != 0) {
		refusal(q, pc, 400, W[pc->lang].bad_query);
		return -1;
	}
	if (l) {
		pc->lang = strcmp(l, "ja") == 0 ? JA : EN;
		pc->chosen = true;
	}
	return 0;
}

/*
 * The page: `verdict` is the label's (sm_label_judge), or -1 for the /c/ page, which has no label. Not
 * genuine, unknown signer (the registry's own bundle knows every key it had, so it does not happen here)
 * and unreadable get the page that says so, as do a genuine label of no record here: each with 404, as no
 * certificate is at that address; otherwise the record, its status first, with the genuine banner, or the
 * banner that the claims differ.
 */
static void page(sm_req *q, const struct page_ctx *pc, const sm_cert *c, int verdict, const char *why)
{
	const struct words *w = &W[pc->lang];
	sm_date today = sm_date_from_time(sm_server_now());
	sm_buf b = SM_BUF_INIT;
	const bool refused = verdict == SM_LABEL_NOT_GENUINE || verdict == SM_LABEL_UNKNOWN_SIGNER ||
			     verdict == SM_LABEL_UNREADABLE;
	const int genuine = verdict == SM_LABEL_GENUINE_IN_FORCE || verdict == SM_LABEL_NOT_IN_FORCE ||
			    verdict == SM_LABEL_STATUS_UNKNOWN;
	int rc = page_start(&b, w, pc->lang, w->title);
	if (!rc && refused)
		rc = not_genuine(&b, w, why, verdict == SM_LABEL_UNREADABLE);
	else if (!rc && genuine && !c)
		rc = sm_buf_printf(&b, "<p class=\"genuine bad norec\" id=\"genuine\">%s</p>\n", w->no_record);
	if (!rc && c && !refused)
		rc = cert_body(&b, w, c, today, genuine, verdict == SM_LABEL_CLAIMS_DIFFER);
	if (!rc)
		rc = page_end(&b);
	if (rc)
		sm_reply_error(q, 500, "internal", NULL, "cannot build the page");
	else
		send_page(q, pc, refused || !c ? 404 : 200, &b);
	sm_buf_cleanup(&b);
}

void sm_h_cert_page(sm_req *q, const char *id)
{
	struct page_ctx pc;
	sm_cert *c = NULL;
	sm_err err = { 0 };
	if (page_query(q, &pc))
		return;
	if (sm_check_id(id, NULL)) {
		refusal(q, &pc, 400, W[pc.lang].bad_id);
		return;
	}
	int rc = sm_registry_get(sm_srv->reg, id, &c, &err);
	if (rc == SM_ENOTFOUND)
		refusal(q, &pc, 404, W[pc.lang].not_found_long);
	else if (rc)
		sm_reply_sm_err(q, rc, &err);
	else
		page(q, &pc, c, -1, NULL);
	sm_cert_free(c);
}

void sm_h_label_page(sm_req *q, const char *token)
{
	struct page_ctx pc;
	sm_label_result res;
	sm_err err = { 0 };
	if (page_query(q, &pc))
		return;
	/* the verdict is lib's (lib/label_verdict.c), the same `label verify` gives: here against the
	 * registry's own bundle, the newest (reloaded: a label by a key rotated in a moment ago is genuine),
	 * and its own records */
	bool rotated = false;
	sm_registry_trust_reload(sm_srv->reg, &rotated, NULL);
	sm_label_source src = { sm_registry_trust(sm_srv->reg), true, sm_label_lookup_registry, sm_srv->reg };
	int rc = sm_label_judge(token, strlen(token), &src, sm_server_now(), &res, &err);
	if (rc) {
		/* a store failure is not the label's fault */
		sm_reply_sm_err(q, rc, &err);
		return;
	}
	page(q, &pc, res.cert, res.verdict, res.reason);
	sm_label_result_cleanup(&res);
}
