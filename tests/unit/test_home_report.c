/* SPDX-License-Identifier: Apache-2.0 */
/* Unit tests of the hand-over report: HTML escaping, languages, rows, stars, evidence, actions, files. */
#include <dirent.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "home_stub.h"
#include "starmark/home.h"

/* LeakSanitizer: fontconfig's configuration and cairo 1.16's PDF subsetting (see test_label_render.c). */
const char *__lsan_default_suppressions(void);
const char *__lsan_default_suppressions(void)
{
	return "leak:libfontconfig.so\nleak:cairo_surface_finish\n";
}

#define NOW 1719792000 /* 2024-07-01T00:00:00Z */

/* A hostile home: markup and quotes in every free text field a home has. */
static const char hostile[] =
    "{\"home\": \"H-1\", \"name\": \"<script>alert('x')</script> & \\\"Co\\\"\","
    " \"devices\": ["
    "{\"id\": \"d1\", \"room\": \"<img src=x onerror=alert(1)>\", \"vendor\": \"ACME\", \"model\": "
    "\"<b>M'1\\\"-L2</b>\","
    " \"firmware\": \"2.0\", \"planned\": true, \"installed\": true},"
    "{\"id\": \"d2\", \"room\": \"居間\", \"vendor\": \"ACME\", \"model\": \"X-L3\", \"firmware\": \"2.0\","
    " \"planned\": true, \"installed\": true}]}";

/* Every verdict, missing and unplanned devices, an update, a replacement, a recheck, a support warning. */
static const char varied[] =
    "{\"home\": \"GM-1\", \"name\": \"グランメゾン 703号室\", \"policy\": {\"name\": \"標準\", \"default_level\": 1,"
    " \"levels\": {\"lock\": 3}, \"offline_grace_hours\": 72, \"unknown\": \"deny\", \"support_warn_days\": 180,"
    " \"deny_after_support_end\": true}, \"devices\": ["
    "{\"id\": \"lock-1\", \"room\": \"玄関\", \"category\": \"lock\", \"vendor\": \"MIWA\", \"model\": \"DT-L3\","
    " \"firmware\": \"2.1\", \"planned\": true, \"installed\": true},"
    "{\"id\": \"cam-1\", \"vendor\": \"PANA\", \"model\": \"CAM-L2\", \"firmware\": \"1.0\", \"planned\": true,"
    " \"installed\": true},"
    "{\"id\": \"ac-1\", \"vendor\": \"DAIKIN\", \"model\": \"AC-EOL-L2\", \"firmware\": \"3.0\", \"planned\": true,"
    " \"installed\": true},"
    "{\"id\": \"sen-1\", \"vendor\": \"OPTEX\", \"model\": \"S-NOCERT\", \"firmware\": \"2.0\", \"planned\": true,"
    " \"installed\": true},"
    "{\"id\": \"sh-1\", \"vendor\": \"SANWA\", \"model\": \"SH-L3\", \"firmware\": \"2.0\", \"planned\": true,"
    " \"installed\": false},"
    "{\"id\": \"spk-1\", \"vendor\": \"SONY\", \"model\": \"SPK-OFFLINE\", \"firmware\": \"2.0\", \"planned\": false,"
    " \"installed\": true}]}";

struct fx {
	char dir[64];
	sm_home *h;
	sm_home_result r;
	sm_buf out;
};

static int setup(void **state)
{
	struct fx *f = calloc(1, sizeof(*f));
	snprintf(f->dir, sizeof(f->dir), "/tmp/sm-test-hrep-XXXXXX");
	assert_non_null(mkdtemp(f->dir));
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fx *f = *state;
	char cmd[128];
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", f->dir);
	assert_int_equal(system(cmd), 0);
	sm_home_result_cleanup(&f->r);
	sm_home_free(f->h);
	sm_buf_cleanup(&f->out);
	free(f);
	return 0;
}

/* Parse `json`, check it against the stub's answers, with the stub's checkpoint as evidence when asked. */
static void check_home(struct fx *f, const char *json, bool checkpoint)
{
	int64_t now = NOW;
	sm_err err = {0};
	assert_int_equal(sm_home_parse(json, strlen(json), &f->h, &err), 0);
	assert_int_equal(sm_home_check(f->h, NULL, sm_stub_check, &now, NULL, now, &f->r, &err), 0);
	if (checkpoint)
		assert_int_equal(sm_stub_checkpoint(&f->r), 0);
}

/* The HTML report as a C string. */
static const char *html(struct fx *f, const char *lang, int levels)
{
	sm_home_report_opts o = {lang, levels, NOW};
	sm_err err = {0};
	sm_buf_cleanup(&f->out);
	int rc = sm_home_report_html(f->h, NULL, &f->r, &o, &f->out, &err);
	if (rc)
		fail_msg("sm_home_report_html: expected 0, got %d: %s", rc, err.msg);
	assert_int_equal(sm_buf_terminate(&f->out), 0);
	return (const char *)f->out.data;
}

static void expect_in(const char *doc, const char *what)
{
	if (!strstr(doc, what))
		fail_msg("expected the report to contain '%s'; it does not", what);
}

static void expect_not_in(const char *doc, const char *what)
{
	const char *at = strstr(doc, what);
	if (at)
		fail_msg("expected the report not to contain '%s'; found at: %.80s", what, at);
}

static size_t count(const char *doc, const char *what)
{
	size_t n = 0;
	for (const char *p = strstr(doc, what); p; p = strstr(p + 1, what))
		n++;
	return n;
}

static void test_home_report_html_escapes_hostile_text(void **state)
{
	struct fx *f = *state;
	check_home(f, hostile, true);
	for (int en = 0; en < 2; en++) {
		const char *d = html(f, en ? "en" : "ja", 0);
		expect_not_in(d, "<script");
		expect_not_in(d, "<img");
		expect_not_in(d, "<b>");
		expect_not_in(d, "alert('x')");
		expect_in(d, "&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt; &amp; &quot;Co&quot;");
		expect_in(d, "&lt;img src=x onerror=alert(1)&gt;");
		expect_in(d, "&lt;b&gt;M&#39;1&quot;-L2&lt;/b&gt;");
		/* self-contained: no outside resource, no script, no handler */
		expect_not_in(d, "src=\"");
		expect_not_in(d, "href=");
		expect_not_in(d, "url(");
		expect_not_in(d, "@import");
		expect_in(d, "@page { size: A4; margin: 15mm;");
		expect_in(d, "thead { display: table-header-group; }");
		expect_in(d, "overflow-wrap: anywhere");
	}
}

static void test_home_report_html_languages(void **state)
{
	struct fx *f = *state;
	check_home(f, varied, true);
	const char *d = html(f, NULL, 0); /* Japanese by default */
	expect_in(d, "<html lang=\"ja\">");
	expect_in(d, "<h1>引き渡し報告書</h1>");
	expect_in(d, "<span class=\"v-allow\">可</span>");
	expect_in(d, "<span class=\"v-warn\">注意</span>");
	expect_in(d, "<span class=\"v-deny\">不可</span>");
	expect_in(d, "<span class=\"v-unknown\">不明</span>");
	expect_in(d, "登録簿にない機種です（未認証）"); /* the first reason, in Japanese */
	expect_in(d, "メーカーのサポートは2024-07-31に終了します");
	expect_in(d, "<td>標準</td>");
	expect_in(d, "lock ★★★");
	expect_in(d, "不可として扱う");
	expect_in(d, "72時間");
	d = html(f, "en", 0);
	expect_in(d, "<html lang=\"en\">");
	expect_in(d, "<h1>Hand-over report</h1>");
	expect_in(d, "<span class=\"v-allow\">allowed</span>");
	expect_in(d, "<span class=\"v-warn\">warning</span>");
	expect_in(d, "<span class=\"v-deny\">denied</span>");
	expect_in(d, "<span class=\"v-unknown\">unknown</span>");
	expect_in(d, "OPTEX S-NOCERT is not in the registry: not certified");
	expect_in(d, "2024-07-01 00:00 UTC");
	expect_in(d, "treated as denied");
	expect_not_in(d, "引き渡し報告書");

	sm_home_report_opts o = {"fr", 0, NOW};
	sm_err err = {0};
	assert_int_equal(sm_home_report_html(f->h, NULL, &f->r, &o, &f->out, &err), SM_EINVAL);
	assert_string_equal(err.field, "lang");
	o.lang = "en";
	o.levels = SM_LEVELS_MAX + 1;
	assert_int_equal(sm_home_report_html(f->h, NULL, &f->r, &o, &f->out, &err), SM_EINVAL);
	assert_string_equal(err.field, "levels");
}

static void test_home_report_html_every_device_a_row(void **state)
{
	struct fx *f = *state;
	check_home(f, varied, true);
	const char *d = html(f, "en", 0);
	assert_int_equal(count(d, "<tr><td>"), f->h->ndevices);
	for (size_t i = 0; i < f->h->ndevices; i++) {
		char cell[128];
		snprintf(cell, sizeof(cell), "<tr><td>%s", f->h->devices[i].id);
		expect_in(d, cell);
		snprintf(cell, sizeof(cell), "<td>%s</td>", f->h->devices[i].model);
		expect_in(d, cell);
	}
	/* the certificate's product name, its level while in force, the support end */
	expect_in(d, "<td>ホームセキュリティ対応スマート機器 DT-L3</td>");
	expect_in(d, "<td>★★★</td>");
	expect_in(d, "<td>—</td>");
	expect_in(d, "<td>2024-07-31<br>(ends soon)</td>");
	expect_in(d, "<tr><td>sh-1<br>(not installed)</td>");
	expect_in(d, "<tr><td>spk-1<br>(not in the design)</td>");
	/* missing and unplanned devices, the actions of the JSON view */
	expect_in(d, "<li>sh-1 — SANWA SH-L3</li>");
	expect_in(d, "<li>spk-1 — SONY SPK-OFFLINE</li>");
	expect_in(d,
	          "<li>cam-1: update the firmware (1.0) to a covered version before hand-over: covered &gt;=2.0</li>");
	expect_in(d, "<li>ac-1: the vendor&#39;s support ends on 2024-07-31: plan its replacement</li>");
	d = html(f, "ja", 0);
	expect_in(d, "<li>sh-1（SANWA SH-L3）は設計にありますが、現場で見つかりませんでした。設置してください</li>");
	expect_in(d, "<li>spk-1：利用できるデータがありません。登録簿に接続できるときに再確認してください</li>");
}

static void test_home_report_html_home_level_in_stars(void **state)
{
	struct fx *f = *state;
	static const char two[] = "{\"home\": \"H-2\", \"devices\": ["
	                          "{\"id\": \"a\", \"vendor\": \"V\", \"model\": \"A-L3\", \"firmware\": \"2.0\", "
	                          "\"planned\": true, \"installed\": true},"
	                          "{\"id\": \"b\", \"vendor\": \"V\", \"model\": \"B-L2\", \"firmware\": \"2.0\", "
	                          "\"planned\": true, \"installed\": true}]}";
	check_home(f, two, false);
	assert_int_equal(f->r.level, 2);
	const char *d = html(f, "ja", 0);
	expect_in(d, "<td class=\"level\">★★☆ <span class=\"note\">レベル2");
	d = html(f, "en", 4); /* a scheme of four levels */
	expect_in(d, "<td class=\"level\">★★☆☆ <span class=\"note\">level 2");
	expect_in(d, "<td>★★★☆</td>");
	sm_home_result_cleanup(&f->r);
	sm_home_free(f->h);
	f->h = NULL;
	check_home(f, varied, false); /* a denied device: the home has no level */
	assert_int_equal(f->r.level, 0);
	d = html(f, "en", 0);
	expect_in(d, "<td class=\"level\">— <span class=\"note\">a device has no valid certification</span>");
}

static void test_home_report_html_evidence(void **state)
{
	struct fx *f = *state;
	check_home(f, varied, true);
	const char *d = html(f, "ja", 0);
	expect_in(d, "<th>ログのサイズ</th><td>4242</td>");
	expect_in(d, "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=");
	expect_in(d, "<pre>registry.example.jp/log\n4242\nAAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=\n\n— registry");
	expect_in(d, "誰でも後日、この日に登録簿が何を示していたかを証明できます。");
	d = html(f, "en", 0);
	expect_in(d, "anyone can later prove what the registry said on that day.");
	/* without a checkpoint the report says it cannot prove it */
	f->r.have_checkpoint = false;
	d = html(f, "en", 0);
	expect_in(d, "No log checkpoint was available for this check");
	expect_not_in(d, "<pre>");
	expect_not_in(d, "anyone can later prove");
}

/* The actions of the JSON view are sm_home_actions in English: the words as they were before the refactor. */
static void test_home_report_actions(void **state)
{
	struct fx *f = *state;
	char text[700];
	check_home(f, varied, false);
	size_t n = sm_home_actions(&f->r, NULL, 0);
	assert_int_equal(n, 6);
	sm_home_action a[6];
	assert_int_equal(sm_home_actions(&f->r, a, 2), 6); /* only two filled */
	assert_int_equal(sm_home_actions(&f->r, a, 6), 6);
	static const char *const names[] = {"update_firmware", "plan_replacement",  "replace",
	                                    "install",         "approve_or_remove", "recheck"};
	for (size_t i = 0; i < n; i++)
		assert_string_equal(sm_home_action_name(a[i].code), names[i]);
	assert_string_equal(sm_home_action_name(99), "");
	/* a counterfeit label: the label's words, in the JSON view as before */
	sm_home_device_result *d = &f->r.devices[0];
	d->label = SM_HOME_LABEL_MISMATCH;
	snprintf(d->label_why, sizeof(d->label_why), "the label is of V X, the device is MIWA DT-L3");
	json_t *j = sm_home_result_to_json(f->h, &f->r, sm_date_from_time(NOW));
	json_t *acts = json_object_get(j, "actions");
	assert_int_equal(json_array_size(acts), 7);
	assert_string_equal(json_string_value(json_object_get(json_array_get(acts, 0), "action")),
	                    "replace_counterfeit");
	assert_string_equal(json_string_value(json_object_get(json_array_get(acts, 0), "message")),
	                    "lock-1: the label is of V X, the device is MIWA DT-L3: suspected counterfeit, replace it");
	assert_string_equal(
	    json_string_value(json_object_get(json_array_get(acts, 3), "message")),
	    "sen-1 (OPTEX S-NOCERT) does not meet the policy: OPTEX S-NOCERT is not in the registry: not "
	    "certified");
	json_decref(j);
	sm_home_action c = {d, SM_HOME_ACT_REPLACE_COUNTERFEIT};
	assert_int_equal(sm_home_action_text(&c, "ja", text, sizeof(text)), 0);
	assert_string_equal(text,
	                    "lock-1：ラベルがこの機器のものではありません。偽造品の疑いがあります。交換してください");
	assert_int_equal(sm_home_action_text(&c, "de", text, sizeof(text)), SM_EINVAL);
	/* cut at a character boundary */
	assert_int_equal(sm_home_action_text(&c, "ja", text, 12), 0);
	assert_string_equal(text, "lock-1："); /* 6 + 3 bytes; the next character would pass 11 */
}

static void test_home_report_pdf_in_memory(void **state)
{
	struct fx *f = *state;
	sm_home_report_opts o = {"ja", 0, NOW};
	sm_err err = {0};
	check_home(f, hostile, true);
	assert_int_equal(sm_home_report_pdf(f->h, NULL, &f->r, &o, &f->out, &err), 0);
	assert_true(f->out.len > 1000);
	assert_memory_equal(f->out.data, "%PDF-", 5);
	assert_int_equal(sm_buf_terminate(&f->out), 0);
	assert_non_null(strstr((const char *)f->out.data + f->out.len - 16, "%%EOF"));
}

/* The names in dir, but "." and "..", joined by spaces. */
static void listing(const char *dir, char *out, size_t cap)
{
	DIR *d = opendir(dir);
	struct dirent *e;
	size_t len = 0;
	out[0] = '\0';
	assert_non_null(d);
	while ((e = readdir(d)))
		if (strcmp(e->d_name, ".") && strcmp(e->d_name, ".."))
			len += (size_t)snprintf(out + len, cap - len, "%s ", e->d_name);
	closedir(d);
}

static void test_home_report_files(void **state)
{
	struct fx *f = *state;
	char path[128], names[512];
	struct stat st;
	sm_home_report_opts o = {"en", 0, NOW};
	sm_err err = {0};
	check_home(f, varied, true);
	/* both formats by their extension, any case */
	snprintf(path, sizeof(path), "%s/report.html", f->dir);
	assert_int_equal(sm_home_report(f->h, NULL, &f->r, &o, path, &err), 0);
	assert_int_equal(stat(path, &st), 0);
	assert_true(st.st_size > 1000);
	snprintf(path, sizeof(path), "%s/report.PDF", f->dir);
	assert_int_equal(sm_home_report(f->h, NULL, &f->r, &o, path, &err), 0);
	listing(f->dir, names, sizeof(names));
	assert_true(strlen(names) == strlen("report.html report.PDF "));
	/* another extension is refused, naming the path; nothing is written */
	snprintf(path, sizeof(path), "%s/report.txt", f->dir);
	assert_int_equal(sm_home_report(f->h, NULL, &f->r, &o, path, &err), SM_EINVAL);
	assert_string_equal(err.field, "report");
	assert_non_null(strstr(err.msg, "report.txt"));
	assert_int_equal(sm_home_report(f->h, NULL, &f->r, &o, "report", &err), SM_EINVAL);
	assert_int_not_equal(stat(path, &st), 0);
	/* a path that cannot be written (even by root): SM_EIO, and neither the file nor a temporary one is left */
	for (int pdf = 0; pdf < 2; pdf++) {
		snprintf(path, sizeof(path), "%s/sub", f->dir);
		assert_int_equal(mkdir(path, 0755), 0);
		snprintf(path, sizeof(path), "%s/sub/report.%s", f->dir, pdf ? "pdf" : "html");
		assert_int_equal(mkdir(path, 0755), 0); /* a directory where the file should go */
		assert_int_equal(sm_home_report(f->h, NULL, &f->r, &o, path, &err), SM_EIO);
		assert_non_null(strstr(err.msg, path));
		snprintf(path, sizeof(path), "%s/sub", f->dir);
		listing(path, names, sizeof(names));
		assert_string_equal(names, pdf ? "report.pdf " : "report.html ");
		snprintf(path, sizeof(path), "%s/nowhere/report.%s", f->dir, pdf ? "pdf" : "html");
		assert_int_equal(sm_home_report(f->h, NULL, &f->r, &o, path, &err), SM_EIO);
		snprintf(path, sizeof(path), "rm -rf '%s/sub'", f->dir);
		assert_int_equal(system(path), 0);
	}
	listing(f->dir, names, sizeof(names));
	assert_true(strlen(names) == strlen("report.html report.PDF "));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(test_home_report_html_escapes_hostile_text, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_home_report_html_languages, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_home_report_html_every_device_a_row, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_home_report_html_home_level_in_stars, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_home_report_html_evidence, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_home_report_actions, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_home_report_pdf_in_memory, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_home_report_files, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
