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
	const char *title, *genuine, *not_genuine, *no_label, *no_record, *status[4], *status_long[4], *level, *vendor, *product,
		*models, *fw, *fw_revoked, *registered, *expires, *support, *none, *id, *history, *claims_differ;
};

static const struct words W[2] = {
	[EN] = { "Certification", "Genuine label: signed by the registry", "NOT GENUINE: this label was not issued by the registry",
		 "", "Genuine label, but this registry holds no record of it: ask the vendor or the scheme owner", { "ACTIVE", "SUSPENDED", "REVOKED", "EXPIRED" },
		 { "This certificate is valid.", "This certificate is suspended: do not rely on it until it is reinstated.",
		   "This certificate has been revoked: the product is no longer certified.",
		   "This certificate has expired: the product is no longer certified." },
		 "Level", "Vendor", "Product", "Model numbers", "Firmware covered", "Firmware revoked", "Registered",
		 "Expires", "Vendor support until", "none", "Registration number", "History",
		 "The label's claims differ from the registry's record" },
	[JA] = { "認証情報", "正規のラベルです（登録機関の署名を確認しました）", "正規のラベルではありません：登録機関が発行したものではありません", "",
		 "正規のラベルですが、この登録機関に記録がありません。事業者または制度運営者にお問い合わせください",
		 { "有効", "一時停止", "取消", "期限切れ" },
		 { "この認証は有効です。", "この認証は一時停止中です。再開されるまで信頼しないでください。", "この認証は取り消されました。この製品は認証されていません。",
		   "この認証は期限切れです。この製品は認証されていません。" },
		 "レベル", "事業者", "製品名", "型番", "対象ファームウェア", "取り消されたファームウェア", "登録日", "有効期限", "サポート期限", "なし",
		 "登録番号", "履歴", "ラベルの記載内容が登録内容と異なります" },
};

static int row(sm_buf *b, const char *k, const char *v)
{
	int rc = sm_buf_puts(b, "<tr><th>");
	if (!rc)
		rc = esc(b, k);
	if (!rc)
		rc = sm_buf_puts(b, "</th><td>");
	if (!rc)
		rc = esc(b, v);
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

/* genuine: 1 genuine label, 0 not genuine, 2 genuine but no record here, -1 no label (the /c/ page). */
static void page(sm_req *q, const sm_cert *c, int genuine, const char *why, bool differs)
{
	enum lang l = pick_lang(q);
	const struct words *w = &W[l];
	sm_date today = sm_date_from_time(sm_server_now());
	const char *st = c ? sm_cert_status_name(c, today) : NULL;
	int si = st ? sm_status_from_name(st) : 0;
	static const char *const colour[4] = { "#0a7d32", "#b36b00", "#b00020", "#b00020" };
	sm_buf b = SM_BUF_INIT;
	char d[11];
	int rc = sm_buf_printf(&b,
			       "<!doctype html>\n<html lang=\"%s\"><head><meta charset=\"utf-8\">"
			       "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">"
			       "<title>%s</title><style>"
			       "body{font-family:system-ui,'Noto Sans CJK JP',sans-serif;margin:0;padding:1rem;max-width:40rem;"
			       "margin-inline:auto;color:#111;line-height:1.5}"
			       ".genuine{padding:.6rem 1rem;border-radius:.5rem;font-weight:600}"
			       ".ok{background:#e6f4ea;color:#0a5d26}.bad{background:#fde7e9;color:#8a0016}"
			       ".status{font-size:2.4rem;font-weight:800;margin:.6rem 0 .2rem}"
			       ".stars{font-size:2rem;letter-spacing:.1rem;color:#c9a000}"
			       "table{border-collapse:collapse;width:100%%}th,td{text-align:left;padding:.35rem .3rem;"
			       "border-bottom:1px solid #ddd;vertical-align:top}th{width:42%%;color:#555;font-weight:500}"
			       "</style></head><body>\n",
			       l == JA ? "ja" : "en", w->title);
	if (!rc && genuine == 0) {
		rc = sm_buf_printf(&b, "<p class=\"genuine bad\" id=\"genuine\">%s</p>\n<p>", w->not_genuine);
		if (!rc)
			rc = esc(&b, why);
		if (!rc)
			rc = sm_buf_puts(&b, "</p>\n");
	} else if (!rc && genuine == 1) {
		rc = sm_buf_printf(&b, "<p class=\"genuine ok\" id=\"genuine\">%s</p>\n", w->genuine);
	} else if (!rc && genuine == 2) {
		rc = sm_buf_printf(&b, "<p class=\"genuine bad\" id=\"genuine\">%s</p>\n", w->no_record);
	}
	if (!rc && c) {
		rc = sm_buf_printf(&b,
				   "<p class=\"status\" id=\"status\" data-status=\"%s\" style=\"color:%s\">%s</p>\n<p>%s</p>\n",
				   st, colour[si], w->status[si], w->status_long[si]);
		if (!rc && differs)
			rc = sm_buf_printf(&b, "<p class=\"genuine bad\">%s</p>\n", w->claims_differ);
		if (!rc)
			rc = sm_buf_printf(&b, "<p class=\"stars\" aria-label=\"%s %d\">%s</p>\n<table>\n", w->level, c->level,
					   STARS[c->level < 0 || c->level > 9 ? 0 : c->level]);
		char lv[64];
		snprintf(lv, sizeof(lv), "%s %d (%s)", c->scheme, c->level, STARS[c->level < 0 || c->level > 9 ? 0 : c->level]);
		if (!rc)
			rc = row(&b, w->id, c->id);
		if (!rc)
			rc = row(&b, w->level, lv);
		char vend[300];
		snprintf(vend, sizeof(vend), "%s (%s)", c->vendor_name ? c->vendor_name : "", c->vendor);
		if (!rc)
			rc = row(&b, w->vendor, vend);
		if (!rc)
			rc = row(&b, w->product, c->product ? c->product : "");
		/* the lists are as long as the record says: an installer must see every revoked version */
		sm_buf lb = SM_BUF_INIT;
		for (size_t i = 0; i < c->nmodels && !rc; i++)
			rc = sm_buf_printf(&lb, "%s%s", i ? ", " : "", c->models[i]);
		if (!rc && !(rc = sm_buf_terminate(&lb)))
			rc = row(&b, w->models, (const char *)lb.data);
		if (!rc)
			rc = row(&b, w->fw, c->firmware);
		lb.len = 0;
		for (size_t i = 0; i < c->nrevoked && !rc; i++)
			rc = sm_buf_printf(&lb, "%s%s", i ? ", " : "", c->revoked[i]);
		if (!rc && !(rc = sm_buf_terminate(&lb)))
			rc = row(&b, w->fw_revoked, c->nrevoked ? (const char *)lb.data : w->none);
		sm_buf_cleanup(&lb);
		if (!rc)
			rc = row(&b, w->registered, date_text(c->registered, d, w->none));
		if (!rc)
			rc = row(&b, w->expires, date_text(c->expires, d, w->none));
		if (!rc)
			rc = row(&b, w->support, date_text(c->support_end, d, w->none));
		if (!rc)
			rc = sm_buf_puts(&b, "</table>\n");
	}
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
	page(q, c, -1, NULL, false);
	sm_cert_free(c);
}

void sm_h_label_page(sm_req *q, const char *token)
{
	static const char *const none[] = { NULL };
	uint8_t *tok = NULL;
	size_t n = 0;
	sm_label_claims cl;
	sm_err err = { 0 };
	sm_cert *c = NULL;
	if (sm_req_query(q, none))
		return;
	int rc = sm_label_parse(token, strlen(token), &tok, &n, &err);
	if (rc) {
		sm_reply_sm_err(q, rc, &err);
		return;
	}
	rc = sm_label_verify(tok, n, sm_registry_trust(sm_srv->reg), &cl, &err);
	free(tok);
	if (rc == SM_EVERIFY) {
		page(q, NULL, 0, err.msg, false);
		return;
	}
	if (rc) {
		sm_reply_sm_err(q, rc, &err);
		return;
	}
	sm_err gerr = { 0 };
	if ((rc = sm_registry_get(sm_srv->reg, cl.id, &c, &gerr))) {
		/* a genuine label of a record this registry does not hold: say exactly that; a store
		 * failure is not the label's fault */
		if (rc == SM_ENOTFOUND)
			page(q, NULL, 2, NULL, false);
		else
			sm_reply_sm_err(q, rc, &gerr);
		return;
	}
	bool has_model = false;
	for (size_t i = 0; i < c->nmodels; i++)
		has_model |= strcmp(c->models[i], cl.model) == 0;
	bool differs = !has_model || c->level != cl.level || strcmp(c->vendor, cl.vendor) != 0;
	page(q, c, 1, NULL, differs);
	sm_cert_free(c);
}
