/* SPDX-License-Identifier: Apache-2.0 */
/* Unit tests of the capped growable buffer. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "starmark/buf.h"
#include "starmark/error.h"

static void test_buf_append_printf_take(void **state)
{
	sm_buf b = SM_BUF_INIT;
	assert_int_equal(sm_buf_puts(&b, "abc"), 0);
	assert_int_equal(sm_buf_printf(&b, "-%d-%s", 42, "x"), 0);
	assert_int_equal(sm_buf_append(&b, NULL, 0), 0);
	for (int i = 0; i < 1000; i++)
		assert_int_equal(sm_buf_append(&b, "z", 1), 0);
	assert_int_equal(b.len, 3 + 5 + 1000);
	assert_memory_equal(b.data, "abc-42-x", 8);
	size_t n = 0;
	uint8_t *p = sm_buf_take(&b, &n);
	assert_int_equal(n, 1008);
	assert_int_equal(p[n], '\0'); /* terminated, not counted */
	assert_null(b.data);
	assert_int_equal(b.len, 0);
	free(p);
	sm_buf_cleanup(&b);
}

static void test_buf_cap_refuses_and_keeps(void **state)
{
	sm_buf b = SM_BUF_INIT;
	b.max = 10;
	assert_int_equal(sm_buf_append(&b, "0123456789", 10), 0);
	assert_int_equal(sm_buf_append(&b, "x", 1), SM_ETOOBIG);
	assert_int_equal(sm_buf_printf(&b, "%s", "y"), SM_ETOOBIG);
	assert_int_equal(b.len, 10); /* unchanged by the refusals */
	assert_memory_equal(b.data, "0123456789", 10);
	assert_int_equal(sm_buf_append(&b, "x", SIZE_MAX), SM_ETOOBIG); /* no overflow */
	sm_buf_cleanup(&b);
	sm_buf_cleanup(&b); /* twice is fine */
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_buf_append_printf_take),
		cmocka_unit_test(test_buf_cap_refuses_and_keeps),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
