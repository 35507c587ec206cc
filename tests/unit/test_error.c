/* SPDX-License-Identifier: Apache-2.0 */
/* Unit tests of the error detail: codes, names, messages, quoting user values. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "starmark/error.h"

static void test_error_set_fills_and_returns(void **state)
{
	sm_err e;
	sm_err_clear(&e);
	assert_int_equal(sm_err_set(&e, SM_EINVAL, "level", "level %d is not 1..%d", 7, 3), SM_EINVAL);
	assert_int_equal(e.code, SM_EINVAL);
	assert_string_equal(e.field, "level");
	assert_string_equal(e.msg, "level 7 is not 1..3");
	/* no err: just the code */
	assert_int_equal(sm_err_set(NULL, SM_EIO, "x", "y"), SM_EIO);
	/* a long message is cut, never overflows */
	char big[1000];
	memset(big, 'a', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	sm_err_set(&e, SM_EINVAL, NULL, "%s", big);
	assert_int_equal(strlen(e.msg), SM_ERR_MSG_MAX - 1);
	assert_string_equal(e.field, "");
}

static void test_error_strerror_names_every_code(void **state)
{
	for (int c = SM_EVERIFY; c <= SM_OK; c++)
		assert_string_not_equal(sm_strerror(c), "unknown error");
	assert_string_equal(sm_strerror(-999), "unknown error");
	assert_string_equal(sm_strerror(SM_ENOTFOUND), "not found");
}

static void test_error_quote(void **state)
{
	char b[12];
	const char *v = "ABCDEFG\xe3\x83\xaa\xe3\x83\xb3"; /* ABCDEFGリン */
	sm_err_quote(b, sizeof(b), v, strlen(v));
	assert_string_equal(b, "ABCDEFG..."); /* never half a UTF-8 sequence */
	sm_err_quote(b, sizeof(b), "ab\x01\x7f", 4);
	assert_string_equal(b, "ab??"); /* control bytes shown as '?' */
	sm_err_quote(b, 5, "\xe3\x83\xaa\xe3\x83\xb3", 6);
	assert_string_equal(b, "...");
	sm_err_quote(b, sizeof(b), "short", 5);
	assert_string_equal(b, "short");
	sm_err_quote(b, 1, "x", 1);
	assert_string_equal(b, "");
}

/* A value for a log line: printable ASCII stays, every other byte is \xHH, a cut value ends in "...". */
static void test_log_escape(void **state)
{
	(void)state;
	char b[64];
	const char in[] = "/a b\r\nreq=1\"\\\x7f\xe3\x81\x82";
	assert_string_equal(sm_log_escape(b, sizeof(b), in, sizeof(in) - 1),
			    "/a\\x20b\\x0d\\x0areq=1\\x22\\x5c\\x7f\\xe3\\x81\\x82");
	assert_string_equal(sm_log_escape(b, sizeof(b), "", 0), "");
	char small[12];
	assert_string_equal(sm_log_escape(small, sizeof(small), "abcdefghijklmnop", 16), "abcdefgh...");
	/* an escape is never cut in half */
	assert_string_equal(sm_log_escape(small, sizeof(small), "abcd\n\n\n", 7), "abcd\\x0a...");
	char one[1];
	assert_string_equal(sm_log_escape(one, sizeof(one), "abc", 3), "");
}

static void test_error_wrap_keeps_or_replaces_the_field(void **state)
{
	(void)state;
	sm_err err = {0};
	sm_err_set(&err, SM_EINVAL, "devices[0].installed", "installed must be true or false");
	assert_int_equal(sm_err_wrap(&err, SM_EINVAL, err.field, "%s", "home.json"), SM_EINVAL);
	assert_string_equal(err.field, "devices[0].installed");
	assert_string_equal(err.msg, "home.json: installed must be true or false");
	sm_err_wrap(&err, SM_EIO, "file", "again");
	assert_string_equal(err.field, "file");
	assert_int_equal(err.code, SM_EIO);
}

static void test_error_messages_stay_utf8(void **state)
{
	(void)state;
	sm_err err = {0};
	/* a precision cutting 寝室 (3 bytes a character) after 4 bytes: the stray byte becomes '?' */
	sm_err_set(&err, SM_EINVAL, "room", "unknown key '%.4s'", "寝室");
	assert_string_equal(err.msg, "unknown key '寝?'");
	sm_err_wrap(&err, SM_EINVAL, "devices[0].\xe5", "%.1s", "\xe5\xaf\x9d");
	assert_string_equal(err.field, "devices[0].?");
	assert_string_equal(err.msg, "?: unknown key '寝?'");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_error_set_fills_and_returns),
		cmocka_unit_test(test_error_strerror_names_every_code),
		cmocka_unit_test(test_error_quote),
		cmocka_unit_test(test_log_escape),
		cmocka_unit_test(test_error_wrap_keeps_or_replaces_the_field),
		cmocka_unit_test(test_error_messages_stay_utf8),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
