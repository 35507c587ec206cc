/* SPDX-License-Identifier: Apache-2.0 */
/* Unit tests of bulk import (CSV, JSON Lines) and export on real registries, and the export→import round
 * trip. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>
#include <jansson.h>

#include "starmark/json.h"
#include "starmark/starmark.h"
#include "starmark/transfer.h"

#define NOW 1790000000 /* 2026-09-21 */

struct fx {
	char dir[64];
	char a[96], b[96];
	sm_registry *r;  /* the registry under test */
	sm_registry *r2; /* a second, empty one, for round trips */
};

static void make_registry(const char *dir, sm_registry **out)
{
	sm_init_opts o = {"CCDS", 3, "registry.example.jp", NULL, NOW};
	char fp[65];
	sm_err err = {0};
	assert_int_equal(sm_registry_init(dir, &o, fp, &err), 0);
	assert_int_equal(sm_registry_open(dir, true, NULL, out, &err), 0);
}

static int setup(void **state)
{
	struct fx *f = calloc(1, sizeof(*f));
	snprintf(f->dir, sizeof(f->dir), "/tmp/sm-test-transfer-XXXXXX");
	assert_non_null(mkdtemp(f->dir));
	snprintf(f->a, sizeof(f->a), "%s/a", f->dir);
	snprintf(f->b, sizeof(f->b), "%s/b", f->dir);
	make_registry(f->a, &f->r);
	make_registry(f->b, &f->r2);
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fx *f = *state;
	char cmd[128];
	sm_registry_close(f->r);
	sm_registry_close(f->r2);
	snprintf(cmd, sizeof(cmd), "rm -rf %s", f->dir);
	assert_int_equal(system(cmd), 0);
	free(f);
	return 0;
}

static uint64_t log_size(sm_registry *r)
{
	uint64_t n = 0;
	assert_int_equal(sm_registry_log_size(r, &n, NULL), 0);
	return n;
}

static int import(sm_registry *r, enum sm_format fmt, const char *text, bool skip_bad, sm_import_report *rep,
                  sm_err *err)
{
	memset(err, 0, sizeof(*err));
	return sm_import(r, fmt, text, strlen(text), skip_bad, NOW, NULL, NULL, rep, err);
}

static sm_cert *get(sm_registry *r, const char *id)
{
	sm_cert *c = NULL;
	sm_err err = {0};
	int rc = sm_registry_get(r, id, &c, &err);
	if (rc)
		fail_msg("get %s: %d %s", id, rc, err.msg);
	return c;
}

/* The row error on `line`, or fail. */
static const sm_row_error *row_error(const sm_import_report *rep, size_t line)
{
	for (size_t i = 0; i < rep->nerrors; i++)
		if (rep->errors[i].line == line)
			return &rep->errors[i];
	fail_msg("no error reported for line %zu", line);
	return NULL;
}

static void expect_row_error(const sm_import_report *rep, size_t line, const char *field, const char *msg)
{
	const sm_row_error *e = row_error(rep, line);
	if (field && strcmp(e->field, field) != 0)
		fail_msg("line %zu: field \"%s\", expected \"%s\" (%s)", line, e->field, field, e->msg);
	if (!strstr(e->msg, msg))
		fail_msg("line %zu: expected \"%s\" in \"%s\"", line, msg, e->msg);
}

static void print_errors(const sm_import_report *rep)
{
	for (size_t i = 0; i < rep->nerrors; i++)
		print_message("  line %zu [%s] %s\n", rep->errors[i].line, rep->errors[i].field,
		              rep->errors[i].msg);
}

/* ---- CSV import ---- */

static const char good_csv[] =
    "models,vendor,level,vendor_name,product,firmware,registered,expires,category,support_end,url,"
    "requirements\r\n"
    "\"MC-301V; MC-302V\",RINNAI,★★,リンナイ株式会社,\"無線LAN対応リモコン, \"\"新型\"\"\",\">=1.0.0 <2.0\","
    "2021-01-22,2027-01-21,water-heater,2030-03,https://www.rinnai.co.jp/,CCDS-2021\r\n"
    "HX-1,PANA,Lv.2,Panasonic,Smart lock,1.2.3,2022-03-01,,lock,,,\r\n"
    "AB-9,SHARP,3,シャープ,空気清浄機,\"1.0,1.1\",2022-04-01,,,,,\r\n"
    "\r\n"
    "CD-1,SHARP,★,シャープ,Fan,2.0,2022-04-02,,,,,\r\n"
    "EF-2,SHARP,Lv 3,シャープ,Fan,2.0,2022-04-03,,,,,\r\n"
    "GH-3,SHARP,LV.1,シャープ,Fan,2.0,2022-04-04,,,,,\r\n";

static void test_transfer_csv_good(void **state)
{
	struct fx *f = *state;
	sm_import_report rep;
	sm_err err;
	uint64_t before = log_size(f->r);
	int rc = import(f->r, SM_FORMAT_CSV, good_csv, false, &rep, &err);
	if (rc) {
		print_errors(&rep);
		fail_msg("import: %d %s", rc, err.msg);
	}
	assert_int_equal(rep.rows, 6);
	assert_int_equal(rep.imported, 6);
	assert_int_equal(rep.bad, 0);
	assert_int_equal(rep.nerrors, 0);
	assert_string_equal(rep.first_id, "SM-2021-000001");
	assert_string_equal(rep.last_id, "SM-2022-000006"); /* one serial across the years */
	/* so SM-2021-000001 .. SM-2022-000006 is no range: one run per year */
	assert_int_equal(rep.nruns, 2);
	assert_string_equal(rep.runs[0].first, "SM-2021-000001");
	assert_string_equal(rep.runs[0].last, "SM-2021-000001");
	assert_int_equal(rep.runs[0].n, 1);
	assert_string_equal(rep.runs[1].first, "SM-2022-000002");
	assert_string_equal(rep.runs[1].last, "SM-2022-000006");
	assert_int_equal(rep.runs[1].n, 5);
	assert_int_equal(log_size(f->r), before + 6);
	sm_import_report_cleanup(&rep);

	sm_cert *c = get(f->r, "SM-2021-000001");
	assert_string_equal(c->vendor, "RINNAI");
	assert_string_equal(c->vendor_name, "リンナイ株式会社");
	assert_string_equal(c->product, "無線LAN対応リモコン, \"新型\"");
	assert_int_equal(c->nmodels, 2);
	assert_string_equal(c->models[0], "MC-301V");
	assert_string_equal(c->models[1], "MC-302V");
	assert_int_equal(c->level, 2);
	assert_string_equal(c->firmware, ">=1.0.0 <2.0");
	assert_string_equal(c->category, "water-heater");
	assert_string_equal(c->url, "https://www.rinnai.co.jp/");
	assert_string_equal(c->requirements, "CCDS-2021");
	char d[11];
	sm_date_format(c->registered, d);
	assert_string_equal(d, "2021-01-22");
	sm_date_format(c->expires, d);
	assert_string_equal(d, "2027-01-21");
	sm_date_format(c->support_end, d);
	assert_string_equal(d, "2030-03-31");
	assert_string_equal(c->scheme, "CCDS");
	assert_int_equal(c->status, SM_STATUS_ACTIVE);
	sm_cert_free(c);

	static const struct {
		const char *id, *model;
		int level;
	} t[] = {{"SM-2022-000002", "HX-1", 2},
	         {"SM-2022-000003", "AB-9", 3},
	         {"SM-2022-000004", "CD-1", 1},
	         {"SM-2022-000005", "EF-2", 3},
	         {"SM-2022-000006", "GH-3", 1}};
	for (size_t i = 0; i < 5; i++) {
		c = get(f->r, t[i].id);
		assert_string_equal(c->models[0], t[i].model);
		assert_int_equal(c->level, t[i].level);
		sm_cert_free(c);
	}
	c = get(f->r, "SM-2022-000002");
	assert_null(c->url);
	assert_true(c->expires == SM_DATE_NONE);
	assert_string_equal(c->category, "lock");
	sm_cert_free(c);
	c = get(f->r, "SM-2022-000003");
	assert_string_equal(c->firmware, "1.0, 1.1");
	assert_null(c->category);
	sm_cert_free(c);

	/* the registry still verifies from scratch */
	sm_verify_report vr;
	assert_int_equal(sm_registry_verify(f->r, NULL, NULL, &vr, &err), 0);
	assert_int_equal(vr.certificates, 6);
}

static void test_transfer_csv_bom_and_lf(void **state)
{
	struct fx *f = *state;
	sm_import_report rep;
	sm_err err;
	const char *csv = "\xEF\xBB\xBFvendor,vendor_name,product,models,level,firmware,registered\n"
	                  "RINNAI,R,P,M-1,2,1.0,2021-01-22\n"
	                  "RINNAI,R,P,M-2,2,1.0,2021-01-22"; /* no final newline */
	int rc = import(f->r, SM_FORMAT_CSV, csv, false, &rep, &err);
	if (rc) {
		print_errors(&rep);
		fail_msg("import: %d %s", rc, err.msg);
	}
	assert_int_equal(rep.imported, 2);
	sm_import_report_cleanup(&rep);
	/* a header alone: nothing to do, and nothing written */
	uint64_t before = log_size(f->r);
	assert_int_equal(import(f->r, SM_FORMAT_CSV,
	                        "vendor,vendor_name,product,models,level,firmware,registered\n", false, &rep,
	                        &err),
	                 0);
	assert_int_equal(rep.rows, 0);
	assert_int_equal(rep.imported, 0);
	assert_int_equal(log_size(f->r), before);
	sm_import_report_cleanup(&rep);
}

static const char bad_csv[] = "vendor,vendor_name,product,models,level,firmware,registered\n" /* 1 */
                              "RINNAI,R,P,M-1,2,1.0,2021-01-22\n"                             /* 2 good */
                              "rinnai,R,P,M-2,2,1.0,2021-01-22\n"              /* 3 vendor in lower case */
                              "RINNAI,R,P,M-3,★★★★,1.0,2021-01-22\n"           /* 4 level 4 of 3 */
                              "RINNAI,R,P,M-4,2,1.0,2021-02-30\n"              /* 5 no such date */
                              "RINNAI,R,P,M-5,2,1.0\n"                         /* 6 fewer fields */
                              "RINNAI,R,P,M-6,2,1.0,2021-01-22,extra\n"        /* 7 more fields */
                              "RINNAI,R,,M-7,2,1.0,2021-01-22\n"               /* 8 product empty */
                              "RINNAI,R,P,M-8,2,1.0,2099-01-01\n"              /* 9 in the future */
                              "RINNAI,R,P,M\"9,2,1.0,2021-01-22\n"             /* 10 a quote inside a field */
                              "RINNAI,R,P,M-10,Lv.0,1.0,2021-01-22\n"          /* 11 not a level */
                              "RINNAI,R,P,M-11,2,>=2.0 <1.0 junk,2021-01-22\n" /* 12 firmware */
                              "RINNAI,R,P,M-12;M-12,2,1.0,2021-01-22\n"        /* 13 the same model twice */
                              "RINNAI,R,P,M-13,2,1.0,2021-01-22\n";            /* 14 good */

static void check_bad_report(const sm_import_report *rep)
{
	assert_int_equal(rep->rows, 13);
	assert_int_equal(rep->bad, 11);
	assert_int_equal(rep->nerrors, 11);
	expect_row_error(rep, 3, "vendor", "vendor code 'rinnai'");
	expect_row_error(rep, 4, "level", "level 4 is not a level of this scheme (1..3)");
	expect_row_error(rep, 5, "registered", "'2021-02-30' is not a real date");
	expect_row_error(rep, 6, "csv", "the row has 6 fields, the header 7");
	expect_row_error(rep, 7, "csv", "the row has 8 fields, the header 7");
	expect_row_error(rep, 8, "product", "product is required");
	expect_row_error(rep, 9, "registered", "registration date 2099-01-01 is in the future");
	expect_row_error(rep, 10, NULL, "line 10, column 13: a quote inside an unquoted field");
	expect_row_error(rep, 11, "level", "level 'Lv.0' is not a level");
	expect_row_error(rep, 12, "firmware", "'>=2.0 <1.0 junk'");
	expect_row_error(rep, 13, "models[1]", "model number 'M-12' is given twice");
	/* sorted by line */
	for (size_t i = 1; i < rep->nerrors; i++)
		assert_true(rep->errors[i - 1].line < rep->errors[i].line);
}

static void test_transfer_csv_bad_rows_import_nothing(void **state)
{
	struct fx *f = *state;
	sm_import_report rep;
	sm_err err;
	uint64_t before = log_size(f->r);
	assert_int_equal(import(f->r, SM_FORMAT_CSV, bad_csv, false, &rep, &err), SM_EINVAL);
	check_bad_report(&rep);
	assert_int_equal(rep.imported, 0);
	assert_string_equal(err.msg,
	                    "11 of 13 rows are bad; nothing was imported (--skip-bad imports the good rows)");
	assert_int_equal(log_size(f->r), before);
	sm_cert_list l = {0};
	sm_filter flt = {.status = -1};
	assert_int_equal(sm_registry_list(f->r, &flt, &l, &err), 0);
	assert_int_equal(l.total, 0);
	sm_cert_list_cleanup(&l);
	sm_import_report_cleanup(&rep);
}

static void test_transfer_csv_skip_bad(void **state)
{
	struct fx *f = *state;
	sm_import_report rep;
	sm_err err;
	uint64_t before = log_size(f->r);
	int rc = import(f->r, SM_FORMAT_CSV, bad_csv, true, &rep, &err);
	if (rc)
		fail_msg("import: %d %s", rc, err.msg);
	check_bad_report(&rep);
	assert_int_equal(rep.imported, 2);
	assert_string_equal(rep.first_id, "SM-2021-000001");
	assert_string_equal(rep.last_id, "SM-2021-000002");
	assert_int_equal(rep.nruns, 1);
	assert_int_equal(rep.runs[0].n, 2);
	assert_int_equal(log_size(f->r), before + 2);
	sm_cert *c = get(f->r, "SM-2021-000001");
	assert_string_equal(c->models[0], "M-1");
	sm_cert_free(c);
	c = get(f->r, "SM-2021-000002");
	assert_string_equal(c->models[0], "M-13");
	sm_cert_free(c);
	sm_import_report_cleanup(&rep);

	/* every row bad: skip-bad imports nothing, and that is no error */
	before = log_size(f->r);
	rc = import(f->r, SM_FORMAT_CSV,
	            "vendor,vendor_name,product,models,level,firmware,registered\n"
	            "x,R,P,M,2,1.0,2021-01-22\n",
	            true, &rep, &err);
	assert_int_equal(rc, 0);
	assert_int_equal(rep.bad, 1);
	assert_int_equal(rep.imported, 0);
	assert_int_equal(log_size(f->r), before);
	sm_import_report_cleanup(&rep);
}

static void test_transfer_csv_multiline_field_lines(void **state)
{
	struct fx *f = *state;
	sm_import_report rep;
	sm_err err;
	/* a quoted field over two lines: the next record starts on line 4, the bad one on line 5 */
	const char *csv = "vendor,vendor_name,product,models,level,firmware,registered\n"
	                  "RINNAI,\"R\nR\",P,M-1,2,1.0,2021-01-22\n"
	                  "RINNAI,R,P,M-2,2,1.0,2021-01-22\n"
	                  "RINNAI,R,P,M-3,9,1.0,2021-01-22\n";
	assert_int_equal(import(f->r, SM_FORMAT_CSV, csv, false, &rep, &err), SM_EINVAL);
	assert_int_equal(rep.rows, 3);
	/* a newline in the vendor name is refused, on the line its record starts */
	expect_row_error(&rep, 2, "vendor_name", "control characters");
	expect_row_error(&rep, 5, "level", "level 9 is not a level");
	assert_int_equal(rep.nerrors, 2);
	sm_import_report_cleanup(&rep);
}

static void test_transfer_csv_duplicates(void **state)
{
	struct fx *f = *state;
	sm_import_report rep;
	sm_err err;
	assert_int_equal(import(f->r, SM_FORMAT_CSV,
	                        "vendor,vendor_name,product,models,level,firmware,registered\n"
	                        "RINNAI,R,P,X-1,2,1.0,2021-01-22\n",
	                        false, &rep, &err),
	                 0);
	assert_string_equal(rep.first_id, "SM-2021-000001");
	sm_import_report_cleanup(&rep);

	const char *csv =
	    "vendor,vendor_name,product,models,level,firmware,registered\n" /* 1 */
	    "RINNAI,R,P,D-1,2,1.0,2021-01-22\n"                             /* 2 */
	    "RINNAI,R,P,D-2;D-1,2,1.0,2021-01-22\n"                         /* 3 shares D-1 with line 2 */
	    "RINNAI,R,P,D-1,2,1.0,2021-01-23\n"                             /* 4 another date: fine */
	    "PANA,R,P,D-1,2,1.0,2021-01-22\n"                               /* 5 another vendor: fine */
	    "RINNAI,R,P,X-1,2,1.0,2021-01-22\n"                             /* 6 in the registry already */
	    "RINNAI,R,P,D-1,2,1.0,2021-01-22\n"                             /* 7 line 2 again */
	    "RINNAI,R,P,X-2;X-1,2,1.0,2021-01-22\n"; /* 8 shares X-1 with line 6 and the registry */
	uint64_t before = log_size(f->r);
	assert_int_equal(import(f->r, SM_FORMAT_CSV, csv, false, &rep, &err), SM_EINVAL);
	assert_int_equal(rep.rows, 7);
	assert_int_equal(rep.bad, 4);
	expect_row_error(&rep, 3, "models", "duplicate of the row on line 2");
	expect_row_error(&rep, 6, "models", "SM-2021-000001");
	expect_row_error(&rep, 7, "models", "duplicate of the row on line");
	expect_row_error(&rep, 8, "models", "duplicate of the row on line 6");
	assert_int_equal(log_size(f->r), before);
	sm_import_report_cleanup(&rep);

	assert_int_equal(import(f->r, SM_FORMAT_CSV, csv, true, &rep, &err), 0);
	assert_int_equal(rep.imported, 3);
	assert_int_equal(log_size(f->r), before + 3);
	sm_import_report_cleanup(&rep);
	/* the same file again: every row is now a duplicate of the registry */
	before = log_size(f->r);
	assert_int_equal(import(f->r, SM_FORMAT_CSV, csv, true, &rep, &err), 0);
	assert_int_equal(rep.imported, 0);
	assert_int_equal(rep.bad, 7);
	assert_int_equal(log_size(f->r), before);
	sm_import_report_cleanup(&rep);
}

static void test_transfer_csv_header_errors(void **state)
{
	struct fx *f = *state;
	static const struct {
		const char *csv, *msg;
	} t[] = {
	    {"vendor,vendor_name,product,models,level,firmware,registered,colour\nRINNAI,R,P,M,2,1.0,2021-01-"
	     "22,red\n",
	     "line 1: unknown column 'colour'"},
	    {"vendor,vendor_name,product,models,level,firmware,registered,vendor\nRINNAI,R,P,M,2,1.0,2021-01-"
	     "22,X\n",
	     "line 1: column 'vendor' appears twice"},
	    {"vendor,vendor_name,product,models,level,registered\nRINNAI,R,P,M,2,2021-01-22\n",
	     "the header lacks the required column 'firmware'"},
	    {"Vendor,vendor_name,product,models,level,firmware,registered\n", "unknown column 'Vendor'"},
	    {"", "the CSV file is empty"},
	    {"\xEF\xBB\xBF", "the CSV file is empty"},
	    {"\n\r\n\n", "the CSV file is empty"},
	    {"vendor,\"vendor_name\n", "header row:"},
	};
	for (size_t i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
		sm_import_report rep;
		sm_err err;
		uint64_t before = log_size(f->r);
		int rc = import(f->r, SM_FORMAT_CSV, t[i].csv, true, &rep, &err);
		if (rc != SM_EINVAL)
			fail_msg("case %zu: expected %d, got %d (%s)", i, SM_EINVAL, rc, err.msg);
		if (!strstr(err.msg, t[i].msg))
			fail_msg("case %zu: expected \"%s\" in \"%s\"", i, t[i].msg, err.msg);
		assert_int_equal(rep.imported, 0);
		assert_int_equal(log_size(f->r), before);
		sm_import_report_cleanup(&rep);
	}
}

struct progress {
	size_t calls;
	uint64_t last_done, last_total;
	bool monotonic;
};

static void on_progress(void *ctx, uint64_t done, uint64_t total)
{
	struct progress *p = ctx;
	if (p->calls && done <= p->last_done)
		p->monotonic = false;
	p->calls++;
	p->last_done = done;
	p->last_total = total;
}

static void test_transfer_progress_and_one_transaction(void **state)
{
	struct fx *f = *state;
	enum { N = 1100 };
	sm_buf b = SM_BUF_INIT;
	assert_int_equal(sm_buf_puts(&b, "vendor,vendor_name,product,models,level,firmware,registered\n"), 0);
	for (int i = 0; i < N; i++)
		assert_int_equal(sm_buf_printf(&b, "BULK,Bulk,Product %d,B-%05d,1,1.0,2024-05-01\n", i, i),
		                 0);
	/* one bad row at the end: nothing of the 1100 is written */
	size_t good_len = b.len;
	assert_int_equal(sm_buf_puts(&b, "BULK,Bulk,P,B-00000,1,1.0,2024-05-01\n"), 0);
	sm_import_report rep;
	sm_err err = {0};
	struct progress p = {0, 0, 0, true};
	uint64_t before = log_size(f->r);
	assert_int_equal(sm_import(f->r, SM_FORMAT_CSV, (const char *)b.data, b.len, false, NOW, on_progress,
	                           &p, &rep, &err),
	                 SM_EINVAL);
	expect_row_error(&rep, N + 2, "models", "duplicate of the row on line 2");
	assert_int_equal(p.calls, 0);
	assert_int_equal(log_size(f->r), before);
	sm_import_report_cleanup(&rep);

	int rc = sm_import(f->r, SM_FORMAT_CSV, (const char *)b.data, good_len, false, NOW, on_progress, &p,
	                   &rep, &err);
	if (rc)
		fail_msg("import: %d %s", rc, err.msg);
	assert_int_equal(rep.imported, N);
	assert_true(p.calls >= 2);
	assert_true(p.monotonic);
	assert_int_equal(p.last_done, N);
	assert_int_equal(p.last_total, N);
	assert_int_equal(log_size(f->r), before + N);
	sm_import_report_cleanup(&rep);
	sm_buf_cleanup(&b);
}

static void test_transfer_error_list_capped(void **state)
{
	struct fx *f = *state;
	enum { BAD = SM_IMPORT_MAX_ERRORS + 5 };
	sm_buf b = SM_BUF_INIT;
	assert_int_equal(sm_buf_puts(&b, "vendor,vendor_name,product,models,level,firmware,registered\n"), 0);
	for (int i = 0; i < BAD; i++)
		assert_int_equal(sm_buf_printf(&b, "BULK,Bulk,P,B-%05d,7,1.0,2024-05-01\n", i), 0);
	assert_int_equal(sm_buf_puts(&b, "BULK,Bulk,P,OK-1,1,1.0,2024-05-01\n"), 0);
	sm_import_report rep;
	sm_err err = {0};
	assert_int_equal(
	    sm_import(f->r, SM_FORMAT_CSV, (const char *)b.data, b.len, false, NOW, NULL, NULL, &rep, &err),
	    SM_EINVAL);
	assert_int_equal(rep.rows, BAD + 1);
	assert_int_equal(rep.bad, BAD);                      /* all counted */
	assert_int_equal(rep.nerrors, SM_IMPORT_MAX_ERRORS); /* the first ones kept */
	assert_int_equal(rep.errors[0].line, 2);
	assert_int_equal(rep.errors[SM_IMPORT_MAX_ERRORS - 1].line, SM_IMPORT_MAX_ERRORS + 1);
	char want[64];
	snprintf(want, sizeof(want), "%d of %d rows are bad", BAD, BAD + 1);
	assert_non_null(strstr(err.msg, want));
	sm_import_report_cleanup(&rep);
	sm_buf_cleanup(&b);
}

static void test_transfer_read_only_and_caps(void **state)
{
	struct fx *f = *state;
	sm_registry *ro = NULL;
	sm_import_report rep;
	sm_err err = {0};
	/* one environment per process: close the writer first */
	sm_registry_close(f->r);
	f->r = NULL;
	assert_int_equal(sm_registry_open(f->a, false, NULL, &ro, &err), 0);
	assert_int_equal(import(ro, SM_FORMAT_CSV, good_csv, false, &rep, &err), SM_ESTORE);
	assert_non_null(strstr(err.msg, "read-only"));
	sm_import_report_cleanup(&rep);
	sm_registry_close(ro);
	assert_int_equal(sm_registry_open(f->a, true, NULL, &f->r, &err), 0);
	/* the size cap is checked before anything is read */
	memset(&err, 0, sizeof(err));
	assert_int_equal(sm_import(f->r, SM_FORMAT_CSV, "", (size_t)SM_IMPORT_MAX_SIZE + 1, false, NOW, NULL,
	                           NULL, &rep, &err),
	                 SM_ETOOBIG);
	assert_string_equal(err.field, "file");
	sm_import_report_cleanup(&rep);
}

/* ---- JSON Lines import ---- */

static void test_transfer_jsonl(void **state)
{
	struct fx *f = *state;
	sm_buf b = SM_BUF_INIT;
	const char *body =
	    "\"vendor\":{\"code\":\"RINNAI\",\"name\":\"リンナイ\"},\"product\":\"P\",\"level\":2,"
	    "\"firmware\":{\"covered\":\"1.0\"},\"registered\":\"2021-01-22\"";
	assert_int_equal(sm_buf_printf(&b, "{%s,\"models\":[\"J-1\",\"J-1b\"]}\n", body), 0); /* 1 */
	assert_int_equal(sm_buf_puts(&b, "   \n"), 0);                                        /* 2 blank */
	assert_int_equal(sm_buf_puts(&b, "{\"vendor\":\n"), 0);                               /* 3 not JSON */
	assert_int_equal(sm_buf_printf(&b, "{%s,\"models\":[\"J-3\"],\"colour\":1}\n", body),
	                 0); /* 4 unknown key */
	assert_int_equal(sm_buf_puts(&b,
	                             "{\"vendor\":{\"code\":\"RINNAI\",\"name\":\"R\"},\"product\":\"P\","
	                             "\"level\":7,\"models\":[\"J-4\"],\"firmware\":{\"covered\":\"1.0\"},"
	                             "\"registered\":\"2021-01-22\"}\n"),
	                 0);                                                           /* 5 level 7 */
	assert_int_equal(sm_buf_puts(&b, "[1]\n"), 0);                                 /* 6 not an object */
	assert_int_equal(sm_buf_printf(&b, "{%s,\"models\":[\"J-2\"]}\r\n", body), 0); /* 7 good, CRLF */
	assert_int_equal(sm_buf_printf(&b, "{%s,\"models\":[\"J-1\"]}\n", body), 0);   /* 8 dup of 1 */
	assert_int_equal(sm_buf_printf(&b, "{%s,\"models\":[\"J-5\"],\"id\":\"SM-2021-000009\"}\n", body),
	                 0); /* 9 good: an export's id is ignored, a new one is given */
	assert_int_equal(sm_buf_printf(&b, "{%s,\"models\":[\"J-6\"],\"product\":\"", body),
	                 0); /* 10 too long */
	for (int i = 0; i < 70000; i++)
		assert_int_equal(sm_buf_puts(&b, "x"), 0);
	assert_int_equal(sm_buf_puts(&b, "\"}\n"), 0);
	assert_int_equal(sm_buf_printf(&b, "{%s,\"models\":[\"J-7\"]}", body),
	                 0); /* 11 good, no final newline */

	sm_import_report rep;
	sm_err err = {0};
	uint64_t before = log_size(f->r);
	assert_int_equal(
	    sm_import(f->r, SM_FORMAT_JSONL, (const char *)b.data, b.len, false, NOW, NULL, NULL, &rep, &err),
	    SM_EINVAL);
	assert_int_equal(rep.rows, 10);
	assert_int_equal(rep.bad, 6);
	expect_row_error(&rep, 3, "body", "invalid JSON at line 1");
	expect_row_error(&rep, 4, "colour", "unknown key 'colour'");
	expect_row_error(&rep, 5, "level", "level 7 is not a level of this scheme (1..3)");
	expect_row_error(&rep, 6, "body", "must be an object");
	expect_row_error(&rep, 8, "models", "duplicate of the row on line 1");
	expect_row_error(&rep, 10, "line", "a JSON line is");
	assert_int_equal(log_size(f->r), before);
	sm_import_report_cleanup(&rep);

	int rc =
	    sm_import(f->r, SM_FORMAT_JSONL, (const char *)b.data, b.len, true, NOW, NULL, NULL, &rep, &err);
	if (rc)
		fail_msg("import: %d %s", rc, err.msg);
	assert_int_equal(rep.imported, 4);
	assert_int_equal(log_size(f->r), before + 4);
	sm_cert *c = get(f->r, rep.first_id);
	assert_int_equal(c->nmodels, 2);
	assert_string_equal(c->models[1], "J-1b");
	assert_string_equal(c->vendor_name, "リンナイ");
	sm_cert_free(c);
	c = get(f->r, rep.last_id);
	assert_string_equal(c->models[0], "J-7");
	sm_cert_free(c);
	sm_import_report_cleanup(&rep);
	sm_buf_cleanup(&b);
}

/* ---- export, and back ---- */

static int to_buf(void *ctx, const void *p, size_t n)
{
	return sm_buf_append(ctx, p, n);
}

static void export_all(sm_registry *r, enum sm_format fmt, sm_buf *out)
{
	sm_err err = {0};
	out->len = 0;
	int rc = sm_export(r, fmt, sm_date_from_time(NOW), to_buf, out, &err);
	if (rc)
		fail_msg("export: %d %s", rc, err.msg);
	assert_int_equal(sm_buf_terminate(out), 0);
}

/* Every certificate of `a` and `b`, as `show --json` prints it without id and history, is the same, in order.
 */
static void assert_same_certificates(sm_registry *a, sm_registry *b, size_t expected)
{
	sm_filter flt = {.status = -1, .today = sm_date_from_time(NOW)};
	sm_cert_list la = {0}, lb = {0};
	sm_err err = {0};
	assert_int_equal(sm_registry_list(a, &flt, &la, &err), 0);
	assert_int_equal(sm_registry_list(b, &flt, &lb, &err), 0);
	assert_int_equal(la.n, expected);
	assert_int_equal(lb.n, expected);
	for (size_t i = 0; i < la.n; i++) {
		json_t *ja = sm_cert_to_json(la.v[i], flt.today), *jb = sm_cert_to_json(lb.v[i], flt.today);
		json_object_del(ja, "id");
		json_object_del(ja, "history");
		json_object_del(jb, "id");
		json_object_del(jb, "history");
		if (!json_equal(ja, jb)) {
			char *sa = json_dumps(ja, JSON_SORT_KEYS), *sb = json_dumps(jb, JSON_SORT_KEYS);
			print_message("expected %s\n     got %s\n", sa, sb);
			free(sa);
			free(sb);
			fail_msg("certificate %zu (%s) differs after the round trip", i, la.v[i]->id);
		}
		json_decref(ja);
		json_decref(jb);
	}
	sm_cert_list_cleanup(&la);
	sm_cert_list_cleanup(&lb);
}

static void load_good(struct fx *f)
{
	sm_import_report rep;
	sm_err err;
	assert_int_equal(import(f->r, SM_FORMAT_CSV, good_csv, false, &rep, &err), 0);
	assert_int_equal(rep.imported, 6);
	sm_import_report_cleanup(&rep);
	/* an amended one too: its state, not its history, travels */
	sm_event *e = sm_event_new(SM_EV_AMEND);
	snprintf(e->id, sizeof(e->id), "SM-2022-000002");
	e->models = calloc(1, sizeof(char *));
	e->models[0] = strdup("HX-2");
	e->nmodels = 1;
	e->reason = strdup("new colour");
	assert_int_equal(sm_registry_event(f->r, e, NOW + 5, NULL, &err), 0);
	sm_event_free(e);
}

static void test_transfer_export_csv_roundtrip(void **state)
{
	struct fx *f = *state;
	load_good(f);
	sm_buf out = SM_BUF_INIT;
	export_all(f->r, SM_FORMAT_CSV, &out);
	const char *s = (const char *)out.data;
	const char *hdr =
	    "id,status,vendor,vendor_name,product,models,level,firmware,firmware_revoked,category,registered,expires,"
	    "support_end,requirements,url,scheme_ref,status_reason,status_date,firmware_revoked_reason,"
	    "firmware_revoked_date\r\n";
	assert_true(strncmp(s, hdr, strlen(hdr)) == 0);
	assert_non_null(
	    strstr(s, "SM-2021-000001,active,RINNAI,リンナイ株式会社,\"無線LAN対応リモコン, \"\"新型\"\"\","
	              "MC-301V;MC-302V,2,>=1.0.0 <2.0,,water-heater,2021-01-22,2027-01-21,2030-03-31,"
	              "CCDS-2021,https://www.rinnai.co.jp/,,,,,\r\n"));
	assert_non_null(strstr(
	    s, "SM-2022-000002,active,PANA,Panasonic,Smart lock,HX-1;HX-2,2,1.2.3,,lock,2022-03-01,,,,,,,,,\r\n"));
	assert_non_null(strstr(s, ",\"1.0, 1.1\","));

	sm_import_report rep;
	sm_err err = {0};
	int rc = sm_import(f->r2, SM_FORMAT_CSV, s, out.len, false, NOW, NULL, NULL, &rep, &err);
	if (rc) {
		print_errors(&rep);
		fail_msg("import of the export: %d %s", rc, err.msg);
	}
	assert_int_equal(rep.imported, 6);
	sm_import_report_cleanup(&rep);
	assert_same_certificates(f->r, f->r2, 6);
	/* and the second registry's export is the first one's, byte for byte */
	sm_buf out2 = SM_BUF_INIT;
	export_all(f->r2, SM_FORMAT_CSV, &out2);
	assert_int_equal(out2.len, out.len);
	assert_string_equal((const char *)out2.data, s);
	sm_buf_cleanup(&out);
	sm_buf_cleanup(&out2);
}

static void test_transfer_export_jsonl_roundtrip(void **state)
{
	struct fx *f = *state;
	load_good(f);
	sm_buf out = SM_BUF_INIT;
	export_all(f->r, SM_FORMAT_JSONL, &out);
	/* one `show --json` object per line */
	size_t lines = 0;
	for (size_t i = 0; i < out.len; i++)
		lines += out.data[i] == '\n';
	assert_int_equal(lines, 6);
	json_error_t je;
	json_t *first =
	    json_loadb((const char *)out.data,
	               (size_t)(strchr((const char *)out.data, '\n') - (const char *)out.data), 0, &je);
	assert_non_null(first);
	assert_string_equal(json_string_value(json_object_get(first, "id")), "SM-2021-000001");
	assert_string_equal(json_string_value(json_object_get(first, "status")), "active");
	assert_true(json_is_array(json_object_get(first, "history")));
	json_decref(first);

	sm_import_report rep;
	sm_err err = {0};
	int rc = sm_import(f->r2, SM_FORMAT_JSONL, (const char *)out.data, out.len, false, NOW, NULL, NULL,
	                   &rep, &err);
	if (rc) {
		print_errors(&rep);
		fail_msg("import of the export: %d %s", rc, err.msg);
	}
	assert_int_equal(rep.imported, 6);
	sm_import_report_cleanup(&rep);
	assert_same_certificates(f->r, f->r2, 6);
	sm_buf_cleanup(&out);
}

static void cert_event(sm_registry *r, int type, const char *id, const char *reason, const char *version, int64_t at)
{
	sm_event *e = sm_event_new(type);
	sm_err err = {0};
	snprintf(e->id, sizeof(e->id), "%s", id);
	e->reason = strdup(reason);
	if (version) {
		e->versions = calloc(1, sizeof(char *));
		e->versions[0] = strdup(version);
		e->nversions = 1;
	}
	int rc = sm_registry_event(r, e, at, NULL, &err);
	if (rc)
		fail_msg("%s %s: %s", sm_event_name(type), id, err.msg);
	sm_event_free(e);
}

/* History without what an import does not carry (amend, renew, firmware revocations after the first) and
 * without log indexes; with `jsonl` the issue's time and every status event, else (CSV) only the event that set
 * the status. */
static json_t *carried_history(const sm_cert *c, bool jsonl)
{
	json_t *h = json_array();
	bool fw = false, issue_time = jsonl;
	size_t last_status = SIZE_MAX;
	for (size_t i = 0; i < c->nhistory; i++)
		if (c->status != SM_STATUS_ACTIVE &&
		    (c->history[i].type == SM_EV_SUSPEND || c->history[i].type == SM_EV_REVOKE))
			last_status = i;
	for (size_t i = 0; i < c->nhistory; i++) {
		int t = c->history[i].type;
		bool status = t == SM_EV_SUSPEND || t == SM_EV_REVOKE || t == SM_EV_REINSTATE;
		if (t == SM_EV_AMEND || t == SM_EV_RENEW || (t == SM_EV_FW_REVOKE && fw) ||
		    (status && !jsonl && i != last_status))
			continue;
		fw = fw || t == SM_EV_FW_REVOKE;
		char at[21];
		sm_time_format(c->history[i].at, at);
		json_array_append_new(h, json_pack("{s:s, s:s?, s:s?}", "event", sm_event_name(t), "at",
		                                   t == SM_EV_ISSUE && !issue_time ? NULL : at, "reason",
		                                   c->history[i].reason));
	}
	return h;
}

/* Every certificate of `a` is in `b` with the same id and every field, field by field, and the history an
 * import carries. */
static void assert_migrated(sm_registry *a, sm_registry *b, bool issue_time)
{
	sm_filter flt = {.status = -1, .today = sm_date_from_time(NOW + 100)};
	sm_cert_list la = {0}, lb = {0};
	sm_err err = {0};
	assert_int_equal(sm_registry_list(a, &flt, &la, &err), 0);
	assert_int_equal(sm_registry_list(b, &flt, &lb, &err), 0);
	assert_int_equal(la.n, lb.n);
	for (size_t i = 0; i < la.n; i++) {
		json_t *ja = sm_cert_to_json(la.v[i], flt.today), *jb = sm_cert_to_json(lb.v[i], flt.today);
		json_object_set_new(ja, "history", carried_history(la.v[i], issue_time));
		json_object_set_new(jb, "history", carried_history(lb.v[i], issue_time));
		if (!json_equal(ja, jb)) {
			char *sa = json_dumps(ja, JSON_SORT_KEYS), *sb = json_dumps(jb, JSON_SORT_KEYS);
			print_message("expected %s\n     got %s\n", sa, sb);
			free(sa);
			free(sb);
			fail_msg("certificate %zu (%s) differs after the migration", i, la.v[i]->id);
		}
		json_decref(ja);
		json_decref(jb);
	}
	sm_cert_list_cleanup(&la);
	sm_cert_list_cleanup(&lb);
}

/* The issue's finding: revoked certificates, and active ones with revoked firmware, were dropped and ids
 * renumbered. Now each moves with its id, status, reasons, dates and revocations, in both formats. */
static void test_transfer_export_import_migrates_everything(void **state)
{
	struct fx *f = *state;
	load_good(f);
	cert_event(f->r, SM_EV_FW_REVOKE, "SM-2021-000001", "CVE-2026-0001", "1.5", NOW + 10);
	cert_event(f->r, SM_EV_FW_REVOKE, "SM-2022-000003", "CVE-2026-0002", "1.0", NOW + 11);
	cert_event(f->r, SM_EV_REVOKE, "SM-2022-000003", "vulnerability not fixed", NULL, NOW + 12);
	cert_event(f->r, SM_EV_SUSPEND, "SM-2022-000004", "under review", NULL, NOW + 13);
	cert_event(f->r, SM_EV_SUSPEND, "SM-2022-000005", "under review", NULL, NOW + 14);
	cert_event(f->r, SM_EV_REINSTATE, "SM-2022-000005", "review closed", NULL, NOW + 15);
	static const enum sm_format fmts[] = {SM_FORMAT_CSV, SM_FORMAT_JSONL};
	for (size_t k = 0; k < 2; k++) {
		sm_registry *dst = NULL;
		char dir[128];
		snprintf(dir, sizeof(dir), "%s/m%zu", f->dir, k);
		make_registry(dir, &dst);
		sm_buf out = SM_BUF_INIT, again = SM_BUF_INIT;
		export_all(f->r, fmts[k], &out);
		sm_import_report rep;
		sm_err err = {0};
		int rc = sm_import(dst, fmts[k], (const char *)out.data, out.len, false, NOW + 100, NULL, NULL, &rep,
		                   &err);
		if (rc) {
			print_errors(&rep);
			fail_msg("import of the export: %d %s", rc, err.msg);
		}
		assert_int_equal(rep.imported, 6);
		assert_string_equal(rep.first_id, "SM-2021-000001");
		sm_import_report_cleanup(&rep);
		/* CSV carries the status events and the first revocation; JSONL also the issue's time and the
		 * reinstated suspension */
		assert_migrated(f->r, dst, fmts[k] == SM_FORMAT_JSONL);
		/* the export of the new registry is the old one's (CSV byte for byte) */
		export_all(dst, fmts[k], &again);
		if (fmts[k] == SM_FORMAT_CSV)
			assert_string_equal((const char *)again.data, (const char *)out.data);
		/* the counter moved past the kept ids: the next certificate is the seventh */
		sm_cert *d = NULL, *c = NULL;
		json_t *body = json_pack("{s:{s:s,s:s},s:s,s:[s],s:i,s:{s:s},s:s}", "vendor", "code", "NEW", "name",
		                         "New", "product", "P", "models", "N-1", "level", 1, "firmware", "covered",
		                         "1.0", "registered", "2026-01-01");
		assert_int_equal(sm_cert_from_json(body, false, &d, &err), 0);
		json_decref(body);
		assert_int_equal(sm_registry_issue(dst, d, NOW + 200, &c, &err), 0);
		assert_string_equal(c->id, "SM-2026-000007");
		sm_cert_free(c);
		sm_cert_free(d);
		sm_buf_cleanup(&out);
		sm_buf_cleanup(&again);
		sm_registry_close(dst);
	}
}

/* A kept id that is used already, or given twice, is refused naming the row; nothing is written. */
static void test_transfer_import_kept_ids(void **state)
{
	struct fx *f = *state;
	load_good(f);
	sm_import_report rep;
	sm_err err;
	const char *csv = "id,vendor,vendor_name,product,models,level,firmware,registered\n"
	                  "SM-2021-000001,NEW,New,P,N-1,1,1.0,2021-02-01\n"
	                  "SM-2021-000042,NEW,New,P,N-2,1,1.0,2021-02-01\n"
	                  "SM-2022-000042,NEW,New,P,N-3,1,1.0,2022-02-01\n"
	                  "CCDS-0001,NEW,New,P,N-4,1,1.0,2022-02-01\n"
	                  "SM-2021-0000043,NEW,New,P,N-5,1,1.0,2021-02-01\n"
	                  "SM-2020-000044,NEW,New,P,N-6,1,1.0,2021-02-01\n";
	uint64_t before = log_size(f->r);
	assert_int_equal(import(f->r, SM_FORMAT_CSV, csv, false, &rep, &err), SM_EINVAL);
	expect_row_error(&rep, 2, "id", "used already, by SM-2021-000001");
	expect_row_error(&rep, 4, "id", "the one of SM-2021-000042 on line 3");
	expect_row_error(&rep, 5, "id", "goes in scheme_ref");
	expect_row_error(&rep, 6, "id", "not an id of this registry");
	expect_row_error(&rep, 7, "id", "registration year 2021");
	assert_int_equal(rep.bad, 5);
	assert_int_equal(log_size(f->r), before);
	sm_import_report_cleanup(&rep);
	/* with --skip-bad the one good row keeps its id and the counter moves past it */
	assert_int_equal(import(f->r, SM_FORMAT_CSV, csv, true, &rep, &err), 0);
	assert_int_equal(rep.imported, 1);
	assert_string_equal(rep.first_id, "SM-2021-000042");
	sm_import_report_cleanup(&rep);
	assert_int_equal(import(f->r, SM_FORMAT_CSV,
	                        "vendor,vendor_name,product,models,level,firmware,registered\n"
	                        "NEW,New,P,N-9,1,1.0,2022-05-01\n",
	                        false, &rep, &err),
	                 0);
	assert_string_equal(rep.first_id, "SM-2022-000043");
	sm_import_report_cleanup(&rep);
}

/* A row's status needs its reason and date; revoked firmware its reason and date; refused naming the column. */
static void test_transfer_import_history_columns(void **state)
{
	struct fx *f = *state;
	sm_import_report rep;
	sm_err err;
	const char *csv =
	    "vendor,vendor_name,product,models,level,firmware,registered,status,status_reason,status_date,"
	    "firmware_revoked,firmware_revoked_reason,firmware_revoked_date\n"
	    "A,A,P,M-1,1,1.0,2021-01-01,revoked,,2022-01-01,,,\n"
	    "A,A,P,M-2,1,1.0,2021-01-01,suspended,why,,,,\n"
	    "A,A,P,M-3,1,1.0,2021-01-01,active,why,2022-01-01,,,\n"
	    "A,A,P,M-4,1,1.0,2021-01-01,gone,,,,,\n"
	    "A,A,P,M-5,1,>=1.0,2021-01-01,active,,,1.5,,2022-01-01\n"
	    "A,A,P,M-6,1,>=1.0,2021-01-01,active,,,,CVE,2022-01-01\n"
	    "A,A,P,M-7,1,>=1.0,2021-01-01,active,,,0.5,CVE,2022-01-01\n"
	    "A,A,P,M-8,1,1.0,2021-01-01,revoked,why,2030-01-01,,,\n"
	    "A,A,P,M-9,1,1.0,2021-01-01,expired,,,,,\n"
	    "A,A,P,M-10,1,>=1.0,2021-01-01,revoked,gone,2023-02-01T10:00:00Z,1.5;1.6,CVE,2022-01-01\n";
	assert_int_equal(import(f->r, SM_FORMAT_CSV, csv, false, &rep, &err), SM_EINVAL);
	expect_row_error(&rep, 2, "status_reason", "required when status is revoked");
	expect_row_error(&rep, 3, "status_date", "required when status is suspended");
	expect_row_error(&rep, 4, "status_reason", "belong to a suspended or revoked row");
	expect_row_error(&rep, 5, "status", "not active, suspended, revoked or expired");
	expect_row_error(&rep, 6, "firmware_revoked_reason", "required with firmware_revoked");
	expect_row_error(&rep, 7, "firmware_revoked", "firmware_revoked is empty");
	expect_row_error(&rep, 8, "versions", "not covered");
	expect_row_error(&rep, 9, "status_date", "after the time of the import");
	expect_row_error(&rep, 10, "status", "status is expired, but the expiry is none");
	assert_int_equal(rep.bad, 9);
	sm_import_report_cleanup(&rep);
	assert_int_equal(import(f->r, SM_FORMAT_CSV, csv, true, &rep, &err), 0);
	assert_int_equal(rep.imported, 1);
	sm_cert *c = get(f->r, rep.first_id);
	assert_int_equal(c->status, SM_STATUS_REVOKED);
	assert_int_equal(c->nrevoked, 2);
	assert_int_equal(c->nhistory, 3);
	assert_int_equal(c->history[0].at, (int64_t)18628 * 86400); /* issued on its registration date */
	assert_int_equal(c->history[1].type, SM_EV_FW_REVOKE);
	assert_string_equal(c->history[1].reason, "CVE");
	assert_int_equal(c->history[2].at, (int64_t)19389 * 86400 + 36000);
	assert_string_equal(c->history[2].reason, "gone");
	sm_cert_free(c);
	sm_import_report_cleanup(&rep);
}

/* Spreadsheet formulas: export neutralises, import strips exactly that apostrophe and warns about the rest. */
static void test_transfer_csv_formula_cells(void **state)
{
	struct fx *f = *state;
	sm_import_report rep;
	sm_err err;
	const char *csv = "vendor,vendor_name,product,models,level,firmware,registered,scheme_ref\n"
	                  "A,\"=HYPERLINK(\"\"x\"\")\",+P,-M-1;@M-2,1,1.0,2021-01-01,'=kept\n"
	                  "A,'A,'''@P,M-3,1,1.0,2021-01-01,''+x\n";
	assert_int_equal(import(f->r, SM_FORMAT_CSV, csv, false, &rep, &err), 0);
	assert_int_equal(rep.imported, 2);
	/* the cells not neutralised, one warning each; neutralised ones are quiet */
	assert_int_equal(rep.warned, 3);
	assert_int_equal(rep.warnings[0].line, 2);
	assert_string_equal(rep.warnings[0].field, "vendor_name");
	assert_non_null(strstr(rep.warnings[0].msg, "formula"));
	assert_string_equal(rep.warnings[1].field, "product");
	assert_string_equal(rep.warnings[2].field, "models");
	sm_cert *c = get(f->r, "SM-2021-000001");
	assert_string_equal(c->vendor_name, "=HYPERLINK(\"x\")");
	assert_string_equal(c->models[0], "-M-1");
	assert_string_equal(c->models[1], "@M-2");
	assert_string_equal(c->scheme_ref, "=kept");
	sm_cert_free(c);
	c = get(f->r, "SM-2021-000002");
	assert_string_equal(c->vendor_name, "'A");
	assert_string_equal(c->product, "''@P");
	assert_string_equal(c->scheme_ref, "'+x");
	sm_cert_free(c);
	sm_import_report_cleanup(&rep);
	sm_buf out = SM_BUF_INIT, again = SM_BUF_INIT;
	export_all(f->r, SM_FORMAT_CSV, &out);
	const char *s = (const char *)out.data;
	assert_non_null(strstr(s, ",A,\"'=HYPERLINK(\"\"x\"\")\",'+P,'-M-1;@M-2,1,"));
	assert_non_null(strstr(s, ",A,'A,'''@P,M-3,"));
	assert_non_null(strstr(s, ",'=kept,"));
	assert_non_null(strstr(s, ",''+x,"));
	/* and the round trip gives the same values, quietly */
	sm_err e2 = {0};
	assert_int_equal(sm_import(f->r2, SM_FORMAT_CSV, s, out.len, false, NOW, NULL, NULL, &rep, &e2), 0);
	assert_int_equal(rep.warned, 0);
	sm_import_report_cleanup(&rep);
	export_all(f->r2, SM_FORMAT_CSV, &again);
	assert_string_equal((const char *)again.data, s);
	sm_buf_cleanup(&out);
	sm_buf_cleanup(&again);
}

struct failing {
	size_t calls, fail_at;
};

static int fail_write(void *ctx, const void *p, size_t n)
{
	struct failing *w = ctx;
	(void)p;
	(void)n;
	return ++w->calls == w->fail_at ? SM_EIO : 0;
}

static void test_transfer_export_write_error_stops(void **state)
{
	struct fx *f = *state;
	load_good(f);
	struct failing w = {0, 3};
	sm_err err = {0};
	assert_int_equal(sm_export(f->r, SM_FORMAT_CSV, sm_date_from_time(NOW), fail_write, &w, &err),
	                 SM_EIO);
	assert_int_equal(w.calls, 3);
	assert_true(err.msg[0] != '\0');
	/* an empty registry exports the header alone, or nothing */
	sm_buf out = SM_BUF_INIT;
	export_all(f->r2, SM_FORMAT_CSV, &out);
	assert_string_equal((const char *)out.data,
	                    "id,status,vendor,vendor_name,product,models,level,firmware,firmware_revoked,"
	                    "category,registered,expires,support_end,requirements,url,scheme_ref,status_reason,"
	                    "status_date,firmware_revoked_reason,firmware_revoked_date\r\n");
	export_all(f->r2, SM_FORMAT_JSONL, &out);
	assert_int_equal(out.len, 0);
	sm_buf_cleanup(&out);
}

int main(void)
{
#define T(name) cmocka_unit_test_setup_teardown(name, setup, teardown)
	const struct CMUnitTest tests[] = {
	    T(test_transfer_csv_good),
	    T(test_transfer_csv_bom_and_lf),
	    T(test_transfer_csv_bad_rows_import_nothing),
	    T(test_transfer_csv_skip_bad),
	    T(test_transfer_csv_multiline_field_lines),
	    T(test_transfer_csv_duplicates),
	    T(test_transfer_csv_header_errors),
	    T(test_transfer_progress_and_one_transaction),
	    T(test_transfer_error_list_capped),
	    T(test_transfer_read_only_and_caps),
	    T(test_transfer_jsonl),
	    T(test_transfer_export_csv_roundtrip),
	    T(test_transfer_export_jsonl_roundtrip),
	    T(test_transfer_export_import_migrates_everything),
	    T(test_transfer_import_kept_ids),
	    T(test_transfer_import_history_columns),
	    T(test_transfer_csv_formula_cells),
	    T(test_transfer_export_write_error_stops),
	};
#undef T
	return cmocka_run_group_tests(tests, NULL, NULL);
}
