/* SPDX-License-Identifier: Apache-2.0 */
/* The words of a home's report and actions: one catalogue per language (the report itself follows). */
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
	[M_NO_CHECKPOINT] = "この確認にはログのチェックポイントがありません。この日に登録簿が何を示していたかは、"
			    "この報告書だけでは証明できません。",
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
	[M_NO_CHECKPOINT] = "No log checkpoint was available for this check: this report alone cannot prove what the "
			    "registry said on that day.",
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
	size_t l = s[0] < 0x80 ? 1 : s[0] >= 0xc2 && s[0] <= 0xdf ? 2 : s[0] >= 0xe0 && s[0] <= 0xef ? 3
		 : s[0] >= 0xf0 && s[0] <= 0xf4 ? 4 : 0;
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
	const char *args[] = { rs->message, c ? c->id : NULL, date, c ? level : NULL, required, d->dev->firmware,
			       c ? c->firmware : NULL };
	sm_home_fill(out, cap, w[id], args, sizeof(args) / sizeof(args[0]));
}

int sm_home_action_text(const sm_home_action *a, const char *lang, char *out, size_t cap)
{
	const char *const *w = catalogue(lang);
	const sm_home_device_result *d = a->d;
	const sm_home_device *dev = d->dev;
	char extra[SM_ERR_MSG_MAX + 300], end[11];
	const char *args[5] = { NULL, dev->id, dev->vendor, dev->model, NULL };
	int id;
	if (cap)
		out[0] = '\0';
	if (!w || cap == 0)
		return SM_EINVAL;
	switch (a->code) {
	case SM_HOME_ACT_INSTALL: id = A_INSTALL; break;
	case SM_HOME_ACT_APPROVE_OR_REMOVE: id = A_APPROVE_OR_REMOVE; break;
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
	case SM_HOME_ACT_RECHECK: id = A_RECHECK; break;
	case SM_HOME_ACT_PLAN_REPLACEMENT:
		id = A_PLAN;
		date_or_dash(d->res.cert ? d->res.cert->support_end : SM_DATE_NONE, end);
		args[2] = end;
		break;
	default: return SM_EINVAL;
	}
	sm_home_fill(out, cap, w[id], args, 5);
	return 0;
}
