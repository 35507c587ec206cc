/* SPDX-License-Identifier: Apache-2.0 */
/* Unit tests of judging a server's check answer: statements verified, verdicts followed, no proof no allow. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "fixture.h"
#include "starmark/answer.h"
#include "starmark/codec.h"
#include "starmark/json.h"
#include "starmark/starmark.h"

#define NOW 1790000000

struct fx {
	char dir[64];
	sm_registry *r;
	char id[32], other[32];
};

static int setup(void **state)
{
	struct fx *f = calloc(1, sizeof(*f));
	f->r = fx_registry_new(f->dir, "registry.test", NOW);
	fx_issue(f->r, "ACME", "L-1", 2, ">=1.0 <2.0", NULL, SM_DATE_NONE, NOW, f->id);
	fx_issue(f->r, "ACME", "L-2", 2, ">=1.0 <2.0", NULL, SM_DATE_NONE, NOW, f->other);
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fx *f = *state;
	fx_registry_free(f->r, f->dir);
	free(f);
	return 0;
}

/* The answer the server would give for `model` at firmware `fw`, with `statement_of` (an id, or NULL for none). */
static char *answer(struct fx *f, const char *model, const char *fw, const char *statement_of, const char *verdict)
{
	sm_check_req q = {"ACME", model, fw, NULL, 0};
	sm_policy p;
	sm_check_result res = {0};
	sm_filter flt = {0};
	sm_cert_list l = {0};
	sm_policy_default(&p);
	flt.vendor = "ACME";
	flt.model = model;
	flt.status = -1;
	flt.today = sm_date_from_time(NOW);
	assert_int_equal(sm_registry_list(f->r, &flt, &l, NULL), 0);
	assert_int_equal(sm_verdict_eval(&q, &p, l.v, l.n, 0, NOW, &res), 0);
	json_t *j = sm_check_to_json(&res, flt.today, 0, 0);
	if (statement_of) {
		uint8_t *st = NULL;
		size_t n;
		assert_int_equal(sm_registry_statement(f->r, statement_of, &st, &n, NULL), 0);
		char *b64 = sm_base64url_encode(st, n);
		json_object_set_new(j, "statement", json_string(b64));
		free(b64);
		free(st);
	} else {
		json_object_set_new(j, "statement", json_null());
	}
	if (verdict)
		json_object_set_new(j, "verdict", json_string(verdict));
	char *s = json_dumps(j, JSON_COMPACT);
	json_decref(j);
	sm_check_result_cleanup(&res);
	sm_cert_list_cleanup(&l);
	return s;
}

static int judge(struct fx *f, const char *text, const char *model, const char *fw, const sm_policy *p, bool given,
		 int64_t now, sm_check_answer *a, sm_err *err)
{
	sm_check_req q = {"ACME", model, fw, NULL, 0};
	return sm_check_answer_judge(text, strlen(text), &q, p, given, sm_registry_trust(f->r), now, a, err);
}

static void test_answer_verified_allow_and_deny(void **state)
{
	struct fx *f = *state;
	sm_policy p;
	sm_check_answer a;
	sm_err err = {0};
	sm_policy_default(&p);
	char *t = answer(f, "L-1", "1.5", f->id, NULL);
	assert_int_equal(judge(f, t, "L-1", "1.5", &p, false, NOW + 10, &a, &err), 0);
	assert_int_equal(a.kind, SM_ANSWER_VERIFIED);
	assert_int_equal(a.res.verdict, SM_ALLOW);
	assert_string_equal(a.st.cert->id, f->id);
	assert_non_null(a.statement);
	sm_check_answer_cleanup(&a);
	/* with a policy the verdict is made here: level 3 required, the certificate is level 2 */
	p.default_level = 3;
	assert_int_equal(judge(f, t, "L-1", "1.5", &p, true, NOW + 10, &a, &err), 0);
	assert_int_equal(a.res.verdict, SM_DENY);
	assert_non_null(a.res.cert);
	sm_check_answer_cleanup(&a);
	free(t);
	/* a deny that follows from the facts (firmware not covered) */
	sm_policy_default(&p);
	t = answer(f, "L-1", "2.5", f->id, NULL);
	assert_int_equal(judge(f, t, "L-1", "2.5", &p, false, NOW + 10, &a, &err), 0);
	assert_int_equal(a.res.verdict, SM_DENY);
	sm_check_answer_cleanup(&a);
	free(t);
}

static void test_answer_refuses_what_does_not_follow(void **state)
{
	struct fx *f = *state;
	sm_policy p;
	sm_check_answer a;
	sm_err err = {0};
	sm_policy_default(&p);
	/* the server says allow where its statement's facts say deny */
	char *t = answer(f, "L-1", "2.5", f->id, "allow");
	assert_int_equal(judge(f, t, "L-1", "2.5", &p, false, NOW + 10, &a, &err), SM_EVERIFY);
	assert_non_null(strstr(err.msg, "does not follow from its signed statement"));
	free(t);
	/* the statement of another certificate */
	t = answer(f, "L-1", "1.5", f->other, NULL);
	assert_int_equal(judge(f, t, "L-1", "1.5", &p, false, NOW + 10, &a, &err), SM_EVERIFY);
	assert_non_null(strstr(err.msg, "not the certificate of the answer"));
	free(t);
	/* a genuine answer about another product, offered for the device asked (a man in the middle) */
	t = answer(f, "L-1", "1.5", f->id, NULL);
	assert_int_equal(judge(f, t, "BACKDOORED-CAM", "1.5", &p, false, NOW + 10, &a, &err), SM_EVERIFY);
	assert_non_null(strstr(err.msg, "does not name ACME BACKDOORED-CAM"));
	assert_int_equal(judge(f, t, "BACKDOORED-CAM", "1.5", &p, true, NOW + 10, &a, &err), SM_EVERIFY);
	sm_check_req other = {"EVILCORP", "L-1", "1.5", NULL, 0};
	assert_int_equal(sm_check_answer_judge(t, strlen(t), &other, &p, true, sm_registry_trust(f->r), NOW + 10, &a, &err),
			 SM_EVERIFY);
	free(t);
	/* a statement altered in one character */
	t = answer(f, "L-1", "1.5", f->id, NULL);
	char *s = strstr(t, "\"statement\":\"") + 40;
	*s = *s == 'A' ? 'B' : 'A';
	assert_int_equal(judge(f, t, "L-1", "1.5", &p, false, NOW + 10, &a, &err), SM_EVERIFY);
	assert_non_null(strstr(err.msg, "statement"));
	free(t);
}

static void test_answer_without_a_statement(void **state)
{
	struct fx *f = *state;
	sm_policy p;
	sm_check_answer a;
	sm_err err = {0};
	sm_policy_default(&p);
	char *t = answer(f, "L-1", "1.5", NULL, NULL);
	assert_int_equal(judge(f, t, "L-1", "1.5", &p, false, NOW, &a, &err), 0);
	assert_int_equal(a.kind, SM_ANSWER_NO_STATEMENT);
	assert_int_equal(a.res.verdict, SM_UNKNOWN);
	assert_string_equal(a.res.reasons[0].code, "no_statement");
	sm_check_answer_cleanup(&a);
	/* a fail-open policy passes it with a warning ... */
	p.unknown_fails_closed = false;
	assert_int_equal(judge(f, t, "L-1", "1.5", &p, true, NOW, &a, &err), 0);
	assert_int_equal(a.res.verdict, SM_WARN);
	sm_check_answer_cleanup(&a);
	free(t);
	/* ... but never an unsigned deny */
	t = answer(f, "L-1", "2.5", NULL, NULL);
	assert_int_equal(judge(f, t, "L-1", "2.5", &p, true, NOW, &a, &err), 0);
	assert_int_equal(a.kind, SM_ANSWER_UNSIGNED_DENY);
	assert_int_equal(a.res.verdict, SM_DENY);
	assert_int_equal(a.res.required_level, 1); /* a level, never 0 (the schema's minimum) */
	sm_check_answer_cleanup(&a);
	free(t);
}

static void test_answer_malformed_is_the_servers_failure(void **state)
{
	struct fx *f = *state;
	sm_policy p;
	sm_check_answer a;
	sm_err err = {0};
	sm_policy_default(&p);
	static const char *const bad[] = {
		"", "not json", "[]", "{}", "{\"verdict\":\"maybe\"}", "{\"verdict\":\"allow\",\"statement\":5}",
		"{\"verdict\":\"deny\",\"statement\":null,\"reasons\":7}",
		"{\"verdict\":\"deny\",\"statement\":null,\"reasons\":[{\"code\":1}]}",
		"{\"a\":[[[[[[[[[[[[1]]]]]]]]]]]]}",
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		int rc = judge(f, bad[i], "L-1", "1.5", &p, false, NOW, &a, &err);
		if (rc != SM_EIO)
			fail_msg("answer %zu (%s): expected %d, got %d: %s", i, bad[i], SM_EIO, rc, err.msg);
	}
	char *big = malloc(SM_ANSWER_MAX_SIZE + 2);
	memset(big, ' ', SM_ANSWER_MAX_SIZE + 1);
	big[SM_ANSWER_MAX_SIZE + 1] = '\0';
	assert_int_equal(judge(f, big, "L-1", "1.5", &p, false, NOW, &a, &err), SM_EIO);
	free(big);
	/* a policy that does not fit the scheme is the caller's bad input, before anything else */
	p.default_level = 5;
	assert_int_equal(judge(f, "{}", "L-1", "1.5", &p, true, NOW, &a, &err), SM_EINVAL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(test_answer_verified_allow_and_deny, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_answer_refuses_what_does_not_follow, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_answer_without_a_statement, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_answer_malformed_is_the_servers_failure, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
