/* SPDX-License-Identifier: Apache-2.0 */
/* The hand-over report of a checked home: HTML or an A4 PDF, in Japanese or English. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include <cairo-pdf.h>
#include <cairo.h>

#include "starmark/codec.h"
#include "starmark/home.h"
#include "home_report_int.h"

#define STAR_ON "\xe2\x98\x85"  /* U+2605 BLACK STAR */
#define STAR_OFF "\xe2\x98\x86" /* U+2606 WHITE STAR */

/* ---- the words: one catalogue per language, keyed by message id ---- */

/* The catalogues read best a few short entries a line. */
/* clang-format off */
static const char *const words_ja[M_COUNT] = {
	[M_TITLE] = "引き渡し報告書", [M_HOME_ID] = "住戸ID", [M_HOME_NAME] = "住戸名", [M_CHECKED_AT] = "確認日時",
	[M_VERDICT] = "住戸の判定", [M_LEVEL] = "住戸のレベル", [M_LEVEL_VALUE] = "レベル{1}（最も弱い機器が住戸のレベルを決めます）",
	[M_LEVEL_NONE] = "有効な認証のない機器があります", [M_SUPPORT_EARLIEST] = "最も早いサポート終了日",
	[M_DESIGN] = "まだ何も設置されていないため、設計（計画された機器）で判定しています。",
	[M_POLICY] = "ポリシー", [M_POLICY_NAME] = "名称", [M_DEFAULT_LEVEL] = "既定のレベル",
	[M_CATEGORY_LEVELS] = "機器の種類ごとのレベル", [M_LIST_SEP] = "、", [M_GRACE] = "オフライン猶予",
	[M_GRACE_VALUE] = "{1}時間", [M_UNKNOWN] = "不明の扱い", [M_UNKNOWN_DENY] = "不可として扱う",
	[M_UNKNOWN_ALLOW] = "注意付きで通す", [M_SUPPORT_WARN] = "サポート終了",
	[M_SUPPORT_WARN_VALUE] = "終了の{1}日前から注意", [M_AFTER_SUPPORT_DENY] = "終了後は不可",
	[M_AFTER_SUPPORT_WARN] = "終了後は注意",
	[M_DEVICES] = "機器（{1}台）", [M_COL_DEVICE] = "機器", [M_COL_ROOM] = "部屋", [M_COL_CATEGORY] = "種類",
	[M_COL_VENDOR] = "メーカー", [M_COL_PRODUCT] = "製品名", [M_COL_MODEL] = "型番", [M_COL_FIRMWARE] = "ファームウェア",
	[M_COL_LEVEL] = "レベル", [M_COL_VERDICT] = "判定と理由", [M_COL_SUPPORT] = "サポート終了",
	[M_V_ALLOW] = "可", [M_V_WARN] = "注意", [M_V_DENY] = "不可", [M_V_UNKNOWN] = "不明",
	[M_STATE_MISSING] = "未設置", [M_STATE_UNPLANNED] = "設計外", [M_STATE_REMOVED] = "撤去済み",
	[M_SOON] = "まもなく終了", [M_ACTIONS] = "引き渡し前に必要な対応", [M_NONE] = "なし",
	[M_MISSING] = "設計にあり、未設置の機器", [M_UNPLANNED] = "設置済みで、設計にない機器",
	[M_EVIDENCE] = "証拠：確認に用いたログのチェックポイント", [M_CP_SIZE] = "ログのサイズ",
	[M_CP_ROOT] = "ルートハッシュ（base64）", [M_CP_NOTE] = "署名付きチェックポイント",
	[M_EVIDENCE_TEXT] = "この報告書の判定は、上記のチェックポイントの時点の登録簿に対して行われました。登録簿は署名された"
			    "追記専用のログで、チェックポイントはその時点の全記録を要約しています。そのため誰でも後日、"
			    "この日に登録簿が何を示していたかを証明できます。",
	[M_NO_CHECKPOINT] = ("この確認にはログのチェックポイントがありません。この日に登録簿が何を示していたかは、"
			    "この報告書だけでは証明できません。"),
	[A_INSTALL] = "{1}（{2} {3}）は設計にありますが、現場で見つかりませんでした。設置してください",
	[A_APPROVE_OR_REMOVE] = "{1}（{2} {3}）は設置されていますが設計にありません。後付けとして承認するか、撤去してください",
	[A_COUNTERFEIT] = "{1}：{2}。偽造品の疑いがあります。交換してください",
	[A_UPDATE_FW] = "{1}：引き渡し前に、ファームウェア（{2}）を認証の対象のバージョンに更新してください",
	[A_UPDATE_FW_COVERED] = "{1}：引き渡し前に、ファームウェア（{2}）を認証の対象のバージョン（{3}）に更新してください",
	[A_REPLACE] = "{1}（{2} {3}）はポリシーを満たしていません：{4}",
	[A_RECHECK] = "{1}：利用できるデータがありません。登録簿に接続できるときに再確認してください",
	[A_PLAN] = "{1}：メーカーのサポートは{2}に終了します。交換を計画してください",
	[R_REVOKED] = "認証 {1} は取り消されています", [R_SUSPENDED] = "認証 {1} は一時停止されています",
	[R_EXPIRED] = "認証 {1} は{2}に有効期限が切れました",
	[R_LEVEL_BELOW] = "認証のレベル{3}は、ポリシーが求めるレベル{4}に達していません",
	[R_FW_NOT_COVERED] = "ファームウェア {5} は認証の対象外です（対象：{6}）",
	[R_FW_REVOKED] = "ファームウェア {5} は取り消されています", [R_SUPPORT_ENDED] = "メーカーのサポートは{2}に終了しました",
	[R_SUPPORT_ENDING] = "メーカーのサポートは{2}に終了します",
	[R_CERTIFIED] = "レベル{3}で認証済み（{1}）、ファームウェア {5} は対象です",
	[R_UNKNOWN_MODEL] = "登録簿にない機種です（未認証）",
	[R_STALE] = "登録簿のデータが古く、オフライン猶予を過ぎています",
	[R_PAST_NEXT] = "登録簿のデータは次回更新予定を過ぎています（オフライン猶予の範囲内）",
	[R_NO_DATA] = "利用できるデータがありません（オフラインのキャッシュがないか、検証できません）",
	[R_SNAPSHOT_EXPIRED] = "キャッシュしたスナップショットの有効期限が切れています",
	[R_NO_STATEMENT] = "サーバーの回答に署名付きの状態証明がありません",
	[R_FAILS_CLOSED] = "ポリシーは不明を不可として扱います", [R_UNKNOWN_ALLOWED] = "ポリシーは不明を注意付きで通します",
	[R_LABEL_NOT_GENUINE] = "ラベルが本物ではありません", [R_LABEL_MISMATCH] = "ラベルがこの機器のものではありません",
	[R_OTHER] = "{0}",
};

static const char *const words_en[M_COUNT] = {
	[M_TITLE] = "Hand-over report", [M_HOME_ID] = "Home", [M_HOME_NAME] = "Name", [M_CHECKED_AT] = "Checked on",
	[M_VERDICT] = "The home's verdict", [M_LEVEL] = "The home's level",
	[M_LEVEL_VALUE] = "level {1} (the weakest device decides the home's level)",
	[M_LEVEL_NONE] = "a device has no valid certification", [M_SUPPORT_EARLIEST] = "Earliest end of support",
	[M_DESIGN] = "Nothing is installed yet: the planned devices (the design) were checked.",
	[M_POLICY] = "Policy", [M_POLICY_NAME] = "Name", [M_DEFAULT_LEVEL] = "Default level",
	[M_CATEGORY_LEVELS] = "Level per category", [M_LIST_SEP] = ", ", [M_GRACE] = "Offline grace",
	[M_GRACE_VALUE] = "{1} hours", [M_UNKNOWN] = "Unknown", [M_UNKNOWN_DENY] = "treated as denied",
	[M_UNKNOWN_ALLOW] = "passes with a warning", [M_SUPPORT_WARN] = "End of support",
	[M_SUPPORT_WARN_VALUE] = "warned {1} days before", [M_AFTER_SUPPORT_DENY] = "denied after it",
	[M_AFTER_SUPPORT_WARN] = "warned after it",
	[M_DEVICES] = "Devices ({1})", [M_COL_DEVICE] = "Device", [M_COL_ROOM] = "Room", [M_COL_CATEGORY] = "Category",
	[M_COL_VENDOR] = "Vendor", [M_COL_PRODUCT] = "Product", [M_COL_MODEL] = "Model", [M_COL_FIRMWARE] = "Firmware",
	[M_COL_LEVEL] = "Level", [M_COL_VERDICT] = "Verdict and reason", [M_COL_SUPPORT] = "Support ends",
	[M_V_ALLOW] = "allowed", [M_V_WARN] = "warning", [M_V_DENY] = "denied", [M_V_UNKNOWN] = "unknown",
	[M_STATE_MISSING] = "not installed", [M_STATE_UNPLANNED] = "not in the design", [M_STATE_REMOVED] = "taken out",
	[M_SOON] = "ends soon", [M_ACTIONS] = "To do before hand-over", [M_NONE] = "None.",
	[M_MISSING] = "Planned, not installed", [M_UNPLANNED] = "Installed, not in the design",
	[M_EVIDENCE] = "Evidence: the log checkpoint of the check", [M_CP_SIZE] = "Log size",
	[M_CP_ROOT] = "Root hash (base64)", [M_CP_NOTE] = "Signed checkpoint",
	[M_EVIDENCE_TEXT] = "The verdicts in this report were made against the registry as of this checkpoint. The "
			    "registry is a signed, append-only log and the checkpoint commits to everything it held then, "
			    "so anyone can later prove what the registry said on that day.",
	[M_NO_CHECKPOINT] = ("No log checkpoint was available for this check: this report alone cannot prove what the "
			    "registry said on that day."),
	[A_INSTALL] = "{1} ({2} {3}) is in the design but was not found on site",
	[A_APPROVE_OR_REMOVE] = "{1} ({2} {3}) is installed but not in the design: approve it as a retrofit or remove it",
	[A_COUNTERFEIT] = "{1}: {2}: suspected counterfeit, replace it",
	[A_UPDATE_FW] = "{1}: update the firmware ({2}) to a covered version before hand-over",
	[A_UPDATE_FW_COVERED] = "{1}: update the firmware ({2}) to a covered version before hand-over: covered {3}",
	[A_REPLACE] = "{1} ({2} {3}) does not meet the policy: {4}",
	[A_RECHECK] = "{1}: no usable data: check again when the registry can be reached",
	[A_PLAN] = "{1}: the vendor's support ends on {2}: plan its replacement",
	/* the verdict's reasons are English already */
	[R_REVOKED] = "{0}", [R_SUSPENDED] = "{0}", [R_EXPIRED] = "{0}", [R_LEVEL_BELOW] = "{0}",
	[R_FW_NOT_COVERED] = "{0}", [R_FW_REVOKED] = "{0}", [R_SUPPORT_ENDED] = "{0}", [R_SUPPORT_ENDING] = "{0}",
	[R_CERTIFIED] = "{0}", [R_UNKNOWN_MODEL] = "{0}", [R_STALE] = "{0}", [R_PAST_NEXT] = "{0}", [R_NO_DATA] = "{0}",
	[R_SNAPSHOT_EXPIRED] = "{0}", [R_NO_STATEMENT] = "{0}", [R_FAILS_CLOSED] = "{0}", [R_UNKNOWN_ALLOWED] = "{0}",
	[R_LABEL_NOT_GENUINE] = "{0}", [R_LABEL_MISMATCH] = "{0}", [R_OTHER] = "{0}",
};

static const struct {
	const char *code;
	int id;
} reason_ids[] = {
	{ "revoked", R_REVOKED }, { "suspended", R_SUSPENDED }, { "expired", R_EXPIRED },
	{ "level_below_policy", R_LEVEL_BELOW }, { "firmware_not_covered", R_FW_NOT_COVERED },
	{ "firmware_revoked", R_FW_REVOKED }, { "support_ended", R_SUPPORT_ENDED },
	{ "support_ending", R_SUPPORT_ENDING }, { "certified", R_CERTIFIED }, { "unknown_model", R_UNKNOWN_MODEL },
	{ "stale_data", R_STALE }, { "data_past_next_update", R_PAST_NEXT }, { "no_data", R_NO_DATA },
	{ "snapshot_expired", R_SNAPSHOT_EXPIRED }, { "no_statement", R_NO_STATEMENT },
	{ "fails_closed", R_FAILS_CLOSED }, { "unknown_allowed", R_UNKNOWN_ALLOWED },
	{ "label_not_genuine", R_LABEL_NOT_GENUINE }, { "label_mismatch", R_LABEL_MISMATCH },
};
/* clang-format on */

/* The catalogue of a language: "ja" (or NULL) and "en"; NULL for another. */
static const char *const *catalogue(const char *lang)
{
	if (!lang || strcmp(lang, "ja") == 0)
		return words_ja;
	return strcmp(lang, "en") == 0 ? words_en : NULL;
}

/* The length of the valid UTF-8 sequence at s (n bytes left), or 0 when it is not one. */
size_t sm_home_u8len(const char *str, size_t n)
{
	const unsigned char *s = (const unsigned char *)str;
	size_t l = s[0] < 0x80                    ? 1
	           : s[0] >= 0xc2 && s[0] <= 0xdf ? 2
	           : s[0] >= 0xe0 && s[0] <= 0xef ? 3
	           : s[0] >= 0xf0 && s[0] <= 0xf4 ? 4
	                                          : 0;
	if (!l || l > n)
		return 0;
	for (size_t i = 1; i < l; i++)
		if ((s[i] & 0xc0) != 0x80)
			return 0;
	if ((s[0] == 0xe0 && s[1] < 0xa0) || (s[0] == 0xed && s[1] >= 0xa0) || (s[0] == 0xf0 && s[1] < 0x90) ||
	    (s[0] == 0xf4 && s[1] >= 0x90))
		return 0; /* overlong, surrogate, past U+10FFFF */
	return l;
}

/* Append at most n bytes of s to out (cap bytes, *len used), cut at a character boundary. */
static void put(char *out, size_t cap, size_t *len, const char *s, size_t n)
{
	for (size_t i = 0; i < n;) {
		size_t l = sm_home_u8len(s + i, n - i);
		if (!l)
			l = 1;
		if (*len + l >= cap)
			break;
		memcpy(out + *len, s + i, l);
		*len += l;
		i += l;
	}
	out[*len] = '\0';
}

/* A catalogue entry with {0}..{9} replaced by args[0..9] (a NULL or missing one by "—"). */
void sm_home_fill(char *out, size_t cap, const char *tmpl, const char *const *args, size_t nargs)
{
	size_t len = 0;
	out[0] = '\0';
	for (const char *s = tmpl; *s;) {
		const char *b = strchr(s, '{');
		if (!b || b[1] < '0' || b[1] > '9' || b[2] != '}') {
			size_t n = b ? (size_t)(b - s) + 1 : strlen(s);
			put(out, cap, &len, s, n);
			s += n;
			continue;
		}
		put(out, cap, &len, s, (size_t)(b - s));
		size_t k = (size_t)(b[1] - '0');
		const char *a = k < nargs && args[k] ? args[k] : DASH;
		put(out, cap, &len, a, strlen(a));
		s = b + 3;
	}
}

static void date_or_dash(sm_date d, char out[11])
{
	if (d == SM_DATE_NONE)
		snprintf(out, 11, "%s", DASH);
	else
		sm_date_format(d, out);
}

/* The words of reason `rs` of device result `d`. */
static void reason_text(const char *const *w, const sm_home_device_result *d, const sm_reason *rs, char *out,
                        size_t cap)
{
	const sm_cert *c = d->res.cert;
	char date[11], level[12], required[12];
	int id = R_OTHER;
	for (size_t i = 0; i < sizeof(reason_ids) / sizeof(reason_ids[0]); i++)
		if (strcmp(reason_ids[i].code, rs->code) == 0)
			id = reason_ids[i].id;
	date_or_dash(!c ? SM_DATE_NONE : id == R_EXPIRED ? c->expires : c->support_end, date);
	snprintf(level, sizeof(level), "%d", c ? c->level : 0);
	snprintf(required, sizeof(required), "%d", d->res.required_level);
	const char *args[] = {rs->message,      c ? c->id : NULL,      date, c ? level : NULL, required,
	                      d->dev->firmware, c ? c->firmware : NULL};
	sm_home_fill(out, cap, w[id], args, sizeof(args) / sizeof(args[0]));
}

int sm_home_action_text(const sm_home_action *a, const char *lang, char *out, size_t cap)
{
	const char *const *w = catalogue(lang);
	const sm_home_device_result *d = a->d;
	const sm_home_device *dev = d->dev;
	char extra[SM_ERR_MSG_MAX + 300], end[11];
	const char *args[5] = {NULL, dev->id, dev->vendor, dev->model, NULL};
	int id;
	if (cap)
		out[0] = '\0';
	if (!w || cap == 0)
		return SM_EINVAL;
	switch (a->code) {
	case SM_HOME_ACT_INSTALL:
		id = A_INSTALL;
		break;
	case SM_HOME_ACT_APPROVE_OR_REMOVE:
		id = A_APPROVE_OR_REMOVE;
		break;
	case SM_HOME_ACT_REPLACE_COUNTERFEIT:
		id = A_COUNTERFEIT;
		if (w == words_en)
			snprintf(extra, sizeof(extra), "%s", d->label_why);
		else
			snprintf(extra, sizeof(extra), "%s",
			         w[d->label == SM_HOME_LABEL_MISMATCH ? R_LABEL_MISMATCH : R_LABEL_NOT_GENUINE]);
		args[2] = extra;
		break;
	case SM_HOME_ACT_UPDATE_FIRMWARE:
		id = d->res.cert ? A_UPDATE_FW_COVERED : A_UPDATE_FW;
		args[2] = dev->firmware;
		args[3] = d->res.cert ? d->res.cert->firmware : NULL;
		break;
	case SM_HOME_ACT_REPLACE:
		id = A_REPLACE;
		if (d->res.nreasons)
			reason_text(w, d, &d->res.reasons[0], extra, sizeof(extra));
		else
			snprintf(extra, sizeof(extra), "%s", w == words_en ? "denied" : w[M_V_DENY]);
		args[4] = extra;
		break;
	case SM_HOME_ACT_RECHECK:
		id = A_RECHECK;
		break;
	case SM_HOME_ACT_PLAN_REPLACEMENT:
		id = A_PLAN;
		date_or_dash(d->res.cert ? d->res.cert->support_end : SM_DATE_NONE, end);
		args[2] = end;
		break;
	default:
		return SM_EINVAL;
	}
	sm_home_fill(out, cap, w[id], args, 5);
	return 0;
}

/* ---- what both formats show ---- */

int sm_home_rep_init(sm_home_rep *R, const sm_home *h, const sm_policy *p, const sm_home_result *r,
                     const sm_home_report_opts *o, sm_policy *dflt, sm_err *err)
{
	memset(R, 0, sizeof(*R));
	R->lang = o && o->lang ? o->lang : "ja";
	if (!(R->w = catalogue(R->lang)))
		return sm_err_set(err, SM_EINVAL, "lang", "the report's language must be ja or en, not '%.20s'",
		                  R->lang);
	if (o && (o->levels < 0 || o->levels > SM_LEVELS_MAX))
		return sm_err_set(err, SM_EINVAL, "levels", "a scheme has 1 to %d levels, not %d", SM_LEVELS_MAX,
		                  o->levels);
	if (!p) {
		sm_policy_default(dflt);
		p = h->has_policy ? &h->policy : dflt;
	}
	R->h = h;
	R->p = p;
	R->r = r;
	R->now = o ? o->now : 0;
	R->today = sm_date_from_time(R->now);
	R->levels = o ? o->levels : 0;
	if (!R->levels) { /* not known: the scale the policy and the certificates show, at least CCDS's three */
		R->levels = p->default_level > 3 ? p->default_level : 3;
		for (size_t i = 0; i < p->ncats; i++)
			R->levels = p->cats[i].level > R->levels ? p->cats[i].level : R->levels;
		for (size_t i = 0; i < r->ndevices; i++)
			if (r->devices[i].res.cert && r->devices[i].res.cert->level > R->levels)
				R->levels = r->devices[i].res.cert->level;
		R->levels = R->levels > SM_LEVELS_MAX ? SM_LEVELS_MAX : R->levels;
	}
	return 0;
}

/* "★★☆" for 2 of 3; "—" for 0. out holds 3 * SM_LEVELS_MAX + 1 bytes. */
static void stars(const sm_home_rep *R, int level, char *out)
{
	size_t n = 0;
	if (level <= 0) {
		snprintf(out, 4, "%s", DASH);
		return;
	}
	for (int i = 0; i < SM_LEVELS_MAX && (i < level || i < R->levels); i++, n += 3)
		memcpy(out + n, i < level ? STAR_ON : STAR_OFF, 3);
	out[n] = '\0';
}

static const int verdict_words[] = {
    [SM_ALLOW] = M_V_ALLOW, [SM_WARN] = M_V_WARN, [SM_DENY] = M_V_DENY, [SM_UNKNOWN] = M_V_UNKNOWN};
static const char *const verdict_class[] = {
    [SM_ALLOW] = "allow", [SM_WARN] = "warn", [SM_DENY] = "deny", [SM_UNKNOWN] = "unknown"};

static int verdict_of(int v)
{
	return v >= SM_ALLOW && v <= SM_UNKNOWN ? v : SM_UNKNOWN;
}

size_t sm_home_rep_summary(const sm_home_rep *R, sm_home_kv *out)
{
	const sm_home_result *r = R->r;
	char st[STARS_MAX], lv[16], when[32];
	struct tm tm;
	time_t t = (time_t)R->now;
	size_t n = 0;
	memset(out, 0, KV_MAX * sizeof(*out));
	for (size_t i = 0; i < KV_MAX; i++)
		out[i].verdict = -1;
	out[n].key = M_HOME_ID;
	snprintf(out[n++].value, sizeof(out->value), "%s", R->h->id);
	out[n].key = M_HOME_NAME;
	snprintf(out[n++].value, sizeof(out->value), "%s", R->h->name[0] ? R->h->name : DASH);
	if (!gmtime_r(&t, &tm) || strftime(when, sizeof(when), "%Y-%m-%d %H:%M UTC", &tm) == 0)
		snprintf(when, sizeof(when), "%s", DASH);
	out[n].key = M_CHECKED_AT;
	snprintf(out[n++].value, sizeof(out->value), "%s", when);
	out[n].key = M_VERDICT;
	out[n].verdict = verdict_of(r->verdict);
	snprintf(out[n++].value, sizeof(out->value), "%s", R->w[verdict_words[verdict_of(r->verdict)]]);
	stars(R, r->level, st);
	snprintf(lv, sizeof(lv), "%d", r->level);
	const char *args[] = {NULL, lv};
	out[n].key = M_LEVEL;
	out[n].big = true;
	snprintf(out[n].value, sizeof(out->value), "%s", st);
	sm_home_fill(out[n].note, sizeof(out->note), R->w[r->level > 0 ? M_LEVEL_VALUE : M_LEVEL_NONE], args, 2);
	n++;
	out[n].key = M_SUPPORT_EARLIEST;
	date_or_dash(r->support_end, out[n++].value);
	return n;
}

size_t sm_home_rep_policy(const sm_home_rep *R, sm_home_kv *out)
{
	const sm_policy *p = R->p;
	char st[STARS_MAX], num[24];
	const char *args[] = {NULL, num};
	size_t n = 0, len = 0;
	memset(out, 0, KV_MAX * sizeof(*out));
	for (size_t i = 0; i < KV_MAX; i++)
		out[i].verdict = -1;
	out[n].key = M_POLICY_NAME;
	snprintf(out[n++].value, sizeof(out->value), "%s", p->name[0] ? p->name : DASH);
	out[n].key = M_DEFAULT_LEVEL;
	stars(R, p->default_level, out[n++].value);
	out[n].key = M_CATEGORY_LEVELS;
	for (size_t i = 0; i < p->ncats; i++) {
		char one[SM_CATEGORY_MAX + STARS_MAX + 4];
		stars(R, p->cats[i].level, st);
		snprintf(one, sizeof(one), "%s%s %s", i ? R->w[M_LIST_SEP] : "", p->cats[i].category, st);
		put(out[n].value, sizeof(out->value), &len, one, strlen(one));
	}
	if (!p->ncats)
		snprintf(out[n].value, sizeof(out->value), "%s", DASH);
	n++;
	out[n].key = M_GRACE;
	snprintf(num, sizeof(num), "%lld", (long long)(p->offline_grace / 3600));
	sm_home_fill(out[n++].value, sizeof(out->value), R->w[M_GRACE_VALUE], args, 2);
	out[n].key = M_UNKNOWN;
	snprintf(out[n++].value, sizeof(out->value), "%s",
	         R->w[p->unknown_fails_closed ? M_UNKNOWN_DENY : M_UNKNOWN_ALLOW]);
	/* "warned 180 days before, denied after it" */
	out[n].key = M_SUPPORT_WARN;
	snprintf(num, sizeof(num), "%d", p->support_warn_days);
	sm_home_fill(out[n].value, sizeof(out->value), R->w[M_SUPPORT_WARN_VALUE], args, 2);
	len = strlen(out[n].value);
	put(out[n].value, sizeof(out->value), &len, R->w[M_LIST_SEP], strlen(R->w[M_LIST_SEP]));
	const char *after = R->w[p->deny_after_support_end ? M_AFTER_SUPPORT_DENY : M_AFTER_SUPPORT_WARN];
	put(out[n].value, sizeof(out->value), &len, after, strlen(after));
	return n + 1;
}

const int sm_home_col_words[NCOL] = {M_COL_DEVICE, M_COL_ROOM,     M_COL_CATEGORY, M_COL_VENDOR,  M_COL_PRODUCT,
                                     M_COL_MODEL,  M_COL_FIRMWARE, M_COL_LEVEL,    M_COL_VERDICT, M_COL_SUPPORT};

/* The reason a device's verdict shows: the first, but for a deny or unknown the first that is not "certified"
 * (a counterfeit label denies a certified model: the label is the reason). */
static const sm_reason *shown_reason(const sm_check_result *res)
{
	for (size_t i = 0; i < res->nreasons; i++)
		if (res->verdict == SM_ALLOW || res->verdict == SM_WARN ||
		    strcmp(res->reasons[i].code, "certified") != 0)
			return &res->reasons[i];
	return res->nreasons ? &res->reasons[0] : NULL;
}

void sm_home_rep_row(const sm_home_rep *R, const sm_home_device_result *d, sm_home_row *out)
{
	const sm_home_device *dev = d->dev;
	const sm_cert *c = d->res.cert;
	const sm_reason *rs = shown_reason(&d->res);
	int state = dev->planned && !dev->installed   ? M_STATE_MISSING
	            : dev->installed && !dev->planned ? M_STATE_UNPLANNED
	            : !dev->installed                 ? M_STATE_REMOVED
	                                              : -1;
	memset(out, 0, sizeof(*out));
	if (state >= 0)
		snprintf(out->cell[C_DEVICE], sizeof(out->cell[0]), "%s\n(%s)", dev->id, R->w[state]);
	else
		snprintf(out->cell[C_DEVICE], sizeof(out->cell[0]), "%s", dev->id);
	snprintf(out->cell[C_ROOM], sizeof(out->cell[0]), "%s", dev->room[0] ? dev->room : DASH);
	snprintf(out->cell[C_CATEGORY], sizeof(out->cell[0]), "%s", dev->category[0] ? dev->category : DASH);
	snprintf(out->cell[C_VENDOR], sizeof(out->cell[0]), "%s", dev->vendor);
	snprintf(out->cell[C_PRODUCT], sizeof(out->cell[0]), "%s", c && c->product ? c->product : DASH);
	snprintf(out->cell[C_MODEL], sizeof(out->cell[0]), "%s", dev->model);
	snprintf(out->cell[C_FIRMWARE], sizeof(out->cell[0]), "%s", dev->firmware);
	/* the certificate's level while it is in force; "—" when there is none that is */
	stars(R, c && strcmp(sm_cert_status_name(c, R->today), "active") == 0 ? c->level : 0, out->cell[C_LEVEL]);
	out->verdict = verdict_of(d->res.verdict);
	snprintf(out->cell[C_VERDICT], sizeof(out->cell[0]), "%s", R->w[verdict_words[out->verdict]]);
	if (rs)
		reason_text(R->w, d, rs, out->reason, sizeof(out->reason));
	date_or_dash(c ? c->support_end : SM_DATE_NONE, out->cell[C_SUPPORT]);
	if (d->support_soon) {
		size_t len = strlen(out->cell[C_SUPPORT]);
		snprintf(out->cell[C_SUPPORT] + len, sizeof(out->cell[0]) - len, "\n(%s)", R->w[M_SOON]);
	}
}

/* The line of a missing or unplanned device in its list. */
void sm_home_rep_line(const sm_home_device *dev, char *out, size_t cap)
{
	snprintf(out, cap, "%s " DASH " %s %s%s%s", dev->id, dev->vendor, dev->model, dev->room[0] ? " / " : "",
	         dev->room);
}

/* The evidence: size and root; the note is r->checkpoint_text. */
size_t sm_home_rep_evidence(const sm_home_rep *R, sm_home_kv *out, int *rc)
{
	memset(out, 0, 2 * sizeof(*out));
	out[0].verdict = out[1].verdict = -1;
	if (!R->r->have_checkpoint)
		return 0;
	char *root = sm_base64_encode(R->r->checkpoint_root, SM_HASH_LEN);
	if (!root) {
		*rc = SM_ENOMEM;
		return 0;
	}
	out[0].key = M_CP_SIZE;
	snprintf(out[0].value, sizeof(out->value), "%llu", (unsigned long long)R->r->checkpoint_size);
	out[1].key = M_CP_ROOT;
	snprintf(out[1].value, sizeof(out->value), "%s", root);
	free(root);
	return 2;
}

/* The actions of r, in a new array (caller frees); SM_ENOMEM. */
int sm_home_rep_actions(const sm_home_result *r, sm_home_action **out, size_t *n)
{
	*n = sm_home_actions(r, NULL, 0);
	*out = NULL;
	if (*n && !(*out = calloc(*n, sizeof(**out))))
		return SM_ENOMEM;
	sm_home_actions(r, *out, *n);
	return 0;
}

/* ---- HTML ---- */

static const char css[] =
    "@page { size: A4; margin: 15mm; @bottom-right { content: counter(page) \" / \" counter(pages); font-size: 8pt; } "
    "}\n"
    "html { font-family: \"BIZ UDGothic\", \"BIZ UDゴシック\", \"Noto Sans CJK JP\", \"Hiragino Sans\", \"Yu Gothic\", Meiryo, sans-serif;"
    " font-size: 10pt; color: #000; background: #fff; }\n"
    "body { margin: 0 auto; max-width: 180mm; }\n"
    "h1 { font-size: 18pt; margin: 0 0 4mm; }\n"
    "h2 { font-size: 12pt; margin: 6mm 0 2mm; border-bottom: 0.5pt solid #000; break-after: avoid; "
    "page-break-after: avoid; }\n"
    "table { border-collapse: collapse; width: 100%; }\n"
    "th, td { text-align: left; vertical-align: top; overflow-wrap: anywhere; word-break: normal; line-break: strict; "
    "}\n"
    "table.kv th { width: 45mm; font-weight: normal; color: #444; padding: 0.8mm 2mm 0.8mm 0; }\n"
    "table.kv td { padding: 0.8mm 0; }\n"
    "td.level { font-size: 14pt; } td.level .note { font-size: 10pt; }\n"
    "table.devices { table-layout: fixed; font-size: 7.5pt; }\n"
    "table.devices th, table.devices td { border: 0.4pt solid #999; padding: 1mm; }\n"
    "table.devices thead th { background: #e6e6e6; }\n"
    "thead { display: table-header-group; }\n"
    "tr { break-inside: avoid; page-break-inside: avoid; }\n"
    "col.device { width: 11%; } col.room { width: 9%; } col.category { width: 8.5%; } col.vendor { width: 8%; }\n"
    "col.product { width: 12.5%; } col.model { width: 10.5%; } col.firmware { width: 8%; } col.level { width: 6%; }\n"
    "col.verdict { width: 17%; } col.support { width: 9.5%; }\n"
    ".v-allow { color: #00733a; font-weight: bold; } .v-warn { color: #a85a00; font-weight: bold; }\n"
    ".v-deny { color: #b00000; font-weight: bold; } .v-unknown { color: #555; font-weight: bold; }\n"
    "pre { font-family: \"BIZ UDGothic\", \"BIZ UDゴシック\", \"Noto Sans Mono CJK JP\", monospace; font-size: 8pt; white-space: "
    "pre-wrap; overflow-wrap: anywhere; border: 0.4pt solid #999; padding: 2mm; margin: 1mm 0 2mm; }\n"
    "footer { margin-top: 8mm; font-size: 8pt; color: #444; }\n"
    "@media print { body { max-width: none; } }\n";

static const char *const col_class[NCOL] = {"device", "room",     "category", "vendor",  "product",
                                            "model",  "firmware", "level",    "verdict", "support"};

/* An HTML document being written: the first error sticks and later writes are skipped. */
typedef struct hout {
	sm_buf *b;
	int rc;
} hout;

static void hs(hout *o, const char *s)
{
	if (!o->rc)
		o->rc = sm_buf_puts(o->b, s);
}

/* Text as HTML: the five special characters as entities, a newline as <br> when `br`, bytes that are not
 * UTF-8 or are control characters as U+FFFD. */
static void he(hout *o, const char *s, bool br)
{
	size_t n = strlen(s), from = 0;
	for (size_t i = 0; i < n && !o->rc;) {
		size_t l = sm_home_u8len(s + i, n - i);
		unsigned char c = (unsigned char)s[i];
		const char *ent = c == '&'    ? "&amp;"
		                  : c == '<'  ? "&lt;"
		                  : c == '>'  ? "&gt;"
		                  : c == '"'  ? "&quot;"
		                  : c == '\'' ? "&#39;"
		                  : c == '\n' ? (br ? "<br>" : "\n")
		                              : NULL;
		if (!ent && (!l || c < 0x20 || c == 0x7f))
			ent = "\xef\xbf\xbd";
		if (ent) {
			o->rc = sm_buf_append(o->b, s + from, i - from);
			hs(o, ent);
			i += l ? l : 1;
			from = i;
		} else {
			i += l;
		}
	}
	if (!o->rc)
		o->rc = sm_buf_append(o->b, s + from, n - from);
}

static void html_kv(hout *o, const sm_home_rep *R, const sm_home_kv *k, size_t n)
{
	hs(o, "<table class=\"kv\">\n");
	for (size_t i = 0; i < n; i++) {
		hs(o, "<tr><th>");
		he(o, R->w[k[i].key], false);
		hs(o, k[i].verdict >= 0 ? "</th><td class=\"v-" : k[i].big ? "</th><td class=\"level" : "</th><td");
		hs(o, k[i].verdict >= 0 ? verdict_class[k[i].verdict] : "");
		hs(o, k[i].verdict >= 0 || k[i].big ? "\">" : ">");
		he(o, k[i].value, true);
		if (k[i].note[0]) {
			hs(o, " <span class=\"note\">");
			he(o, k[i].note, true);
			hs(o, "</span>");
		}
		hs(o, "</td></tr>\n");
	}
	hs(o, "</table>\n");
}

static void html_heading(hout *o, const char *text)
{
	hs(o, "<h2>");
	he(o, text, false);
	hs(o, "</h2>\n");
}

/* The missing (installed false) or unplanned devices as a list. */
static void html_devices_list(hout *o, const sm_home_rep *R, bool missing)
{
	char line[SM_HOME_ID_MAX + SM_VENDOR_MAX + SM_MODEL_MAX + SM_HOME_TEXT_MAX + 16];
	size_t k = 0;
	for (size_t i = 0; i < R->r->ndevices; i++) {
		const sm_home_device *dev = R->r->devices[i].dev;
		if (missing ? !(dev->planned && !dev->installed) : !(dev->installed && !dev->planned))
			continue;
		hs(o, k++ ? "<li>" : "<ul>\n<li>");
		sm_home_rep_line(dev, line, sizeof(line));
		he(o, line, false);
		hs(o, "</li>\n");
	}
	hs(o, k ? "</ul>\n" : "<p>");
	if (!k) {
		he(o, R->w[M_NONE], false);
		hs(o, "</p>\n");
	}
}

static int html_doc(const sm_home_rep *R, hout *o, sm_home_row *rw, sm_home_kv *k)
{
	const sm_home_result *r = R->r;
	char num[24], text[SM_ERR_MSG_MAX + 400];
	const char *args[] = {NULL, num};
	sm_home_action *acts = NULL;
	size_t nacts = 0;
	int rc = sm_home_rep_actions(r, &acts, &nacts);
	if (rc)
		return rc;
	hs(o, "<!DOCTYPE html>\n<html lang=\"");
	hs(o, R->lang);
	hs(o,
	   "\">\n<head>\n<meta charset=\"utf-8\">\n<meta name=\"viewport\" content=\"width=device-width\">\n<title>");
	he(o, R->w[M_TITLE], false);
	hs(o, " " DASH " ");
	he(o, R->h->id, false);
	hs(o, "</title>\n<style>\n");
	hs(o, css);
	hs(o, "</style>\n</head>\n<body>\n<h1>");
	he(o, R->w[M_TITLE], false);
	hs(o, "</h1>\n");
	html_kv(o, R, k, sm_home_rep_summary(R, k));
	if (r->counted_planned) {
		hs(o, "<p>");
		he(o, R->w[M_DESIGN], false);
		hs(o, "</p>\n");
	}
	html_heading(o, R->w[M_POLICY]);
	html_kv(o, R, k, sm_home_rep_policy(R, k));
	snprintf(num, sizeof(num), "%zu", r->ndevices);
	sm_home_fill(text, sizeof(text), R->w[M_DEVICES], args, 2);
	html_heading(o, text);
	hs(o, "<table class=\"devices\">\n<colgroup>");
	for (int c = 0; c < NCOL; c++) {
		hs(o, "<col class=\"");
		hs(o, col_class[c]);
		hs(o, "\">");
	}
	hs(o, "</colgroup>\n<thead><tr>");
	for (int c = 0; c < NCOL; c++) {
		hs(o, "<th>");
		he(o, R->w[sm_home_col_words[c]], false);
		hs(o, "</th>");
	}
	hs(o, "</tr></thead>\n<tbody>\n");
	for (size_t i = 0; i < r->ndevices; i++) {
		sm_home_rep_row(R, &r->devices[i], rw);
		hs(o, "<tr>");
		for (int c = 0; c < NCOL; c++) {
			hs(o, c == C_VERDICT ? "<td><span class=\"v-" : "<td>");
			if (c == C_VERDICT) {
				hs(o, verdict_class[rw->verdict]);
				hs(o, "\">");
			}
			he(o, rw->cell[c], true);
			if (c == C_VERDICT && rw->reason[0]) {
				hs(o, "</span><br>");
				he(o, rw->reason, true);
			} else if (c == C_VERDICT) {
				hs(o, "</span>");
			}
			hs(o, "</td>");
		}
		hs(o, "</tr>\n");
	}
	hs(o, "</tbody>\n</table>\n");
	html_heading(o, R->w[M_ACTIONS]);
	hs(o, nacts ? "<ol>\n" : "<p>");
	for (size_t i = 0; i < nacts; i++) {
		sm_home_action_text(&acts[i], R->lang, text, sizeof(text));
		hs(o, "<li>");
		he(o, text, false);
		hs(o, "</li>\n");
	}
	if (!nacts)
		he(o, R->w[M_NONE], false);
	hs(o, nacts ? "</ol>\n" : "</p>\n");
	html_heading(o, R->w[M_MISSING]);
	html_devices_list(o, R, true);
	html_heading(o, R->w[M_UNPLANNED]);
	html_devices_list(o, R, false);
	html_heading(o, R->w[M_EVIDENCE]);
	size_t nk = sm_home_rep_evidence(R, k, &rc);
	html_kv(o, R, k, nk);
	if (r->have_checkpoint && r->checkpoint_text) {
		hs(o, "<p>");
		he(o, R->w[M_CP_NOTE], false);
		hs(o, "</p>\n<pre>");
		he(o, r->checkpoint_text, false);
		hs(o, "</pre>\n");
	}
	hs(o, "<p>");
	he(o, R->w[r->have_checkpoint ? M_EVIDENCE_TEXT : M_NO_CHECKPOINT], false);
	hs(o, "</p>\n<footer>starmark " DASH " ");
	he(o, R->w[M_TITLE], false);
	hs(o, " " DASH " ");
	he(o, R->h->id, false);
	hs(o, "</footer>\n</body>\n</html>\n");
	free(acts);
	return rc ? rc : o->rc;
}

int sm_home_report_html(const sm_home *h, const sm_policy *p, const sm_home_result *r, const sm_home_report_opts *o,
                        sm_buf *out, sm_err *err)
{
	sm_home_rep R;
	sm_policy dflt;
	hout ho = {out, 0};
	int rc = sm_home_rep_init(&R, h, p, r, o, &dflt, err);
	if (rc)
		return rc;
	sm_home_row *rw = malloc(sizeof(*rw));
	sm_home_kv *k = calloc(KV_MAX, sizeof(*k));
	rc = rw && k ? html_doc(&R, &ho, rw, k) : SM_ENOMEM;
	free(rw);
	free(k);
	if (rc)
		return sm_err_set(err, rc, NULL, "writing the report failed: %s", sm_strerror(rc));
	return 0;
}

/* ---- the file ---- */

static bool ends_with(const char *s, const char *ext)
{
	size_t n = strlen(s), e = strlen(ext);
	return n > e && strcasecmp(s + n - e, ext) == 0;
}

int sm_home_report(const sm_home *h, const sm_policy *p, const sm_home_result *r, const sm_home_report_opts *o,
                   const char *path, sm_err *err)
{
	sm_buf b = SM_BUF_INIT;
	int rc = 0;
	if (ends_with(path, ".html"))
		rc = sm_home_report_html(h, p, r, o, &b, err);
	else if (ends_with(path, ".pdf"))
		rc = sm_home_report_pdf(h, p, r, o, &b, err);
	else
		rc = sm_err_set(err, SM_EINVAL, "report", "the report %.200s must be a .html or a .pdf file", path);
	if (!rc)
		rc = sm_file_write_atomic(path, b.data, b.len, 0644, err);
	sm_buf_cleanup(&b);
	return rc;
}
