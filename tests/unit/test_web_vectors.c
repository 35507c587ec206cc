/* SPDX-License-Identifier: Apache-2.0 */
/* The browser's vectors read back: every case re-judged by lib from its recorded bytes gives the recorded answer. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "web_judge.h"

static json_t *doc;

static int setup(void **state)
{
	(void)state;
	const char *path = getenv("SM_WEB_VECTORS");
	json_error_t je;
	if (!path)
		fail_msg("SM_WEB_VECTORS names no vectors file (ctest makes it with tests/tools/web_vectors)");
	doc = json_load_file(path, JSON_REJECT_DUPLICATES, &je);
	if (!doc)
		fail_msg("%s: %s (line %d)", path, je.text, je.line);
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	json_decref(doc);
	return 0;
}

static const json_t *case_named(const char *name)
{
	size_t i;
	json_t *c;
	json_array_foreach(json_object_get(doc, "cases"), i, c)
		if (strcmp(json_string_value(json_object_get(c, "name")), name) == 0)
			return c;
	fail_msg("no case named '%s' in the vectors", name);
	return NULL;
}

/* Every case, judged again from the file alone, says what the file records. */
static void test_web_vectors_rejudged(void **state)
{
	(void)state;
	const json_t *blobs = json_object_get(doc, "blobs");
	size_t i, n = 0;
	json_t *c;
	json_array_foreach(json_object_get(doc, "cases"), i, c) {
		json_t *got = NULL;
		sm_err err = {0};
		const char *name = json_string_value(json_object_get(c, "name"));
		if (wv_judge_case(c, blobs, &got, &err) != 0)
			fail_msg("%s: %s", name, err.msg);
		if (!json_equal(got, json_object_get(c, "expect"))) {
			char *a = json_dumps(json_object_get(c, "expect"), JSON_COMPACT), *b = json_dumps(got, JSON_COMPACT);
			fail_msg("%s: the file says %s, lib says %s", name, a, b);
		}
		json_decref(got);
		n++;
	}
	assert_true(n >= 100);
}

/* The cases the issue names are there, and each says what it is about (the file cannot pass vacuously). */
static void test_web_vectors_cover_the_issue(void **state)
{
	(void)state;
	static const char *const want[][2] = {
	    {"label: genuine, issued before two root rotations (pinned first root)", "genuine-in-force"},
	    {"label: forged (signature bit flipped)", "not-genuine"},
	    {"label: forged (payload bit flipped)", "not-genuine"},
	    {"label: wrong key, dated before the bundle", "not-genuine"},
	    {"label: signed by the status key", "not-genuine"},
	    {"label: unknown signer, dated after the bundle", "unknown-signer"},
	    {"label: unreadable (not base32)", "unreadable"},
	    {"label: revoked", "not-in-force"},
	    {"label: suspended", "not-in-force"},
	    {"label: expired", "not-in-force"},
	    {"label: stale past the grace", "status-unknown"},
	    {"label: pinned newest root, old label", "genuine-in-force"},
	    {"device: firmware revoked", "deny"},
	    {"device: firmware not covered", "deny"},
	    {"device: level below the policy (certificate's category)", "deny"},
	    {"device: stale within the grace (warn)", "warn"},
	    {"device: stale past the grace (unknown)", "unknown"},
	    {"device: expired snapshot", "unknown"},
	    {"device: rollback", "unknown"},
	};
	for (size_t i = 0; i < sizeof(want) / sizeof(want[0]); i++) {
		const json_t *e = json_object_get(case_named(want[i][0]), "expect");
		const char *v = json_string_value(json_object_get(e, "verdict"));
		if (!v || strcmp(v, want[i][1]) != 0)
			fail_msg("%s: expected verdict %s, the file has %s", want[i][0], want[i][1], v ? v : "none");
	}
	/* a genuine token under another host: the verdict stands, the warning is set (and only there) */
	const json_t *fh = json_object_get(case_named("label: genuine token under another host"), "expect");
	assert_string_equal(json_string_value(json_object_get(fh, "verdict")), "genuine-in-force");
	assert_true(json_is_true(json_object_get(fh, "foreign_host")));
	fh = json_object_get(case_named("label: forged token under another host"), "expect");
	assert_string_equal(json_string_value(json_object_get(fh, "verdict")), "not-genuine");
	assert_true(json_is_false(json_object_get(fh, "foreign_host")));
	fh = json_object_get(case_named("label: genuine, lower case URL"), "expect");
	assert_true(json_is_false(json_object_get(fh, "foreign_host")));
	static const char *const refused[] = {"chain: gap (bundle 1, chain from 3)", "chain: equivocation (a second bundle 2)",
					      "chain: another registry's (pinned root)", "snapshot: expired",
					      "snapshot: rollback below the floor"};
	for (size_t i = 0; i < sizeof(refused) / sizeof(refused[0]); i++) {
		const char *cls = json_string_value(json_object_get(json_object_get(case_named(refused[i]), "expect"), "error"));
		if (!cls || strcmp(cls, "verify") != 0)
			fail_msg("%s: expected a refusal (verify), the file has %s", refused[i], cls ? cls : "an answer");
	}
}

/* A changed byte changes lib's answer: the genuine label with one character of its token altered is no longer genuine. */
static void test_web_vectors_mutation_changes_the_answer(void **state)
{
	(void)state;
	json_t *c = json_deep_copy(case_named("label: genuine, issued before two root rotations (pinned first root)"));
	char *text = strdup(json_string_value(json_object_get(c, "text")));
	size_t n = strlen(text);
	text[n - 10] = text[n - 10] == 'A' ? 'B' : 'A';
	json_object_set_new(c, "text", json_string(text));
	json_t *got = NULL;
	sm_err err = {0};
	assert_int_equal(wv_judge_case(c, json_object_get(doc, "blobs"), &got, &err), 0);
	assert_string_not_equal(json_string_value(json_object_get(got, "verdict")), "genuine-in-force");
	json_decref(got);
	json_decref(c);
	free(text);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_web_vectors_rejudged),
	    cmocka_unit_test(test_web_vectors_cover_the_issue),
	    cmocka_unit_test(test_web_vectors_mutation_changes_the_answer),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
