/* SPDX-License-Identifier: Apache-2.0 */
/* Unit tests of the verdict on a label: its claims against the record (sm_label_match). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "registry_int.h"
#include "starmark/label.h"
#include "starmark/starmark.h"

#define NOW 1790000000 /* 2026-09-21 */

/* SM-2021-000001 as a record: RINNAI, models MC-301V and MC-301VC, level 2, registered 2021-01-22, CCDS. */
static sm_cert *record(void)
{
	sm_cert *c = sm_cert_new();
	assert_non_null(c);
	snprintf(c->id, sizeof(c->id), "SM-2021-000001");
	snprintf(c->scheme, sizeof(c->scheme), "CCDS");
	snprintf(c->vendor, sizeof(c->vendor), "RINNAI");
	c->vendor_name = strdup("リンナイ株式会社");
	c->product = strdup("無線LAN対応リモコン");
	c->models = calloc(2, sizeof(char *));
	c->models[0] = strdup("MC-301V");
	c->models[1] = strdup("MC-301VC");
	c->nmodels = 2;
	c->level = 2;
	c->firmware = strdup(">=1.0.0 <2.0");
	assert_int_equal(sm_date_parse("2021-01-22", false, "registered", &c->registered, NULL), 0);
	assert_int_equal(sm_date_parse("2027-01-21", false, "expires", &c->expires, NULL), 0);
	return c;
}

/* The claims a genuine label of that record carries (as sm_label_verify fills them). */
static void claims_of_record(const sm_cert *c, const char *model, sm_label_claims *cl)
{
	sm_err err = {0};
	assert_int_equal(sm_label_claims_of(c, model, NOW, cl, &err), 0);
}

static void expect_differs(const sm_label_claims *cl, const sm_cert *c, const char *field, const char *needle)
{
	sm_err err = {0};
	int rc = sm_label_match(cl, c, &err);
	if (rc != SM_EVERIFY || strcmp(err.field, field) != 0 || !strstr(err.msg, needle))
		fail_msg("expected SM_EVERIFY naming field '%s' and saying '%s', got %d field '%s' '%s'", field, needle,
			 rc, err.field, err.msg);
}

static void test_label_verdict_match(void **state)
{
	(void)state;
	sm_cert *c = record();
	sm_label_claims cl;
	sm_err err = {0};
	/* every model of the record matches */
	claims_of_record(c, NULL, &cl);
	assert_int_equal(sm_label_match(&cl, c, &err), 0);
	claims_of_record(c, "MC-301VC", &cl);
	assert_int_equal(sm_label_match(&cl, c, &err), 0);

	/* each claim that differs is named */
	claims_of_record(c, NULL, &cl);
	snprintf(cl.model, sizeof(cl.model), "MC-999");
	expect_differs(&cl, c, "model", "MC-999");
	claims_of_record(c, NULL, &cl);
	cl.level = 3;
	expect_differs(&cl, c, "level", "level 3");
	claims_of_record(c, NULL, &cl);
	snprintf(cl.vendor, sizeof(cl.vendor), "NORITZ");
	expect_differs(&cl, c, "vendor", "NORITZ");
	/* the registration date, within the same year (the id does not show it) */
	claims_of_record(c, NULL, &cl);
	cl.registered += 1;
	expect_differs(&cl, c, "registered", "2021-01-23");
	claims_of_record(c, NULL, &cl);
	snprintf(cl.scheme, sizeof(cl.scheme), "JC-STAR");
	expect_differs(&cl, c, "scheme", "JC-STAR");
	claims_of_record(c, NULL, &cl);
	cl.scheme[0] = '\0';
	expect_differs(&cl, c, "scheme", "scheme");
	claims_of_record(c, NULL, &cl);
	snprintf(cl.id, sizeof(cl.id), "SM-2021-000002");
	expect_differs(&cl, c, "id", "SM-2021-000002");
	sm_cert_free(c);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_label_verdict_match),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
