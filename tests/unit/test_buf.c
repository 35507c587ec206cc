/* SPDX-License-Identifier: Apache-2.0 */
/* Unit tests of the capped growable buffer and of sm_file_read. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

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

/* A temporary directory for the file tests, removed with what they wrote. */
struct tmp {
	char dir[64];
	char path[128];
};

static int tmp_setup(void **state)
{
	struct tmp *t = calloc(1, sizeof(*t));
	if (!t)
		return -1;
	snprintf(t->dir, sizeof(t->dir), "/tmp/test_buf.XXXXXX");
	if (!mkdtemp(t->dir)) {
		free(t);
		return -1;
	}
	snprintf(t->path, sizeof(t->path), "%s/f", t->dir);
	*state = t;
	return 0;
}

static int tmp_teardown(void **state)
{
	struct tmp *t = *state;
	unlink(t->path);
	rmdir(t->dir);
	free(t);
	return 0;
}

static void write_file(const char *path, const void *p, size_t n)
{
	FILE *f = fopen(path, "wb");
	assert_non_null(f);
	assert_int_equal(fwrite(p, 1, n, f), n);
	assert_int_equal(fclose(f), 0);
}

static void test_buf_file_read_whole(void **state)
{
	struct tmp *t = *state;
	static const uint8_t bytes[] = { 'a', 0, 'b', '\n', 0xff };
	write_file(t->path, bytes, sizeof(bytes));
	uint8_t *p = NULL;
	size_t n = 99;
	sm_err err = { 0 };
	assert_int_equal(sm_file_read(t->path, sizeof(bytes), &p, &n, &err), 0); /* exactly at the cap */
	assert_int_equal(n, sizeof(bytes));
	assert_memory_equal(p, bytes, sizeof(bytes));
	assert_int_equal(p[n], '\0'); /* terminated, not counted */
	free(p);
}

static void test_buf_file_read_empty(void **state)
{
	struct tmp *t = *state;
	write_file(t->path, "", 0);
	uint8_t *p = NULL;
	size_t n = 99;
	assert_int_equal(sm_file_read(t->path, 10, &p, &n, NULL), 0);
	assert_int_equal(n, 0);
	assert_non_null(p);
	assert_string_equal((const char *)p, "");
	free(p);
}

/* sm_file_read fails with `code`, stores nothing, and its message names `path` and says `what`. */
static void read_fails(const char *path, size_t max, int code, const char *what)
{
	uint8_t *p = NULL;
	size_t n = 99;
	sm_err err = { 0 };
	assert_int_equal(sm_file_read(path, max, &p, &n, &err), code);
	assert_null(p);
	assert_int_equal(n, 99);
	assert_int_equal(err.code, code);
	assert_string_equal(err.field, "file");
	assert_non_null(strstr(err.msg, path));
	assert_non_null(strstr(err.msg, what));
}

static void test_buf_file_read_over_cap(void **state)
{
	struct tmp *t = *state;
	write_file(t->path, "0123456789x", 11);
	read_fails(t->path, 10, SM_ETOOBIG, "is 11 bytes, at most 10 are read");
}

static void test_buf_file_read_missing(void **state)
{
	struct tmp *t = *state;
	read_fails(t->path, 10, SM_ENOTFOUND, "cannot open");
	read_fails(t->path, 10, SM_ENOTFOUND, "No such file");
}

static void test_buf_file_read_not_regular(void **state)
{
	struct tmp *t = *state;
	read_fails(t->dir, 1 << 20, SM_EINVAL, "is not a regular file");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_buf_append_printf_take),
		cmocka_unit_test(test_buf_cap_refuses_and_keeps),
		cmocka_unit_test_setup_teardown(test_buf_file_read_whole, tmp_setup, tmp_teardown),
		cmocka_unit_test_setup_teardown(test_buf_file_read_empty, tmp_setup, tmp_teardown),
		cmocka_unit_test_setup_teardown(test_buf_file_read_over_cap, tmp_setup, tmp_teardown),
		cmocka_unit_test_setup_teardown(test_buf_file_read_missing, tmp_setup, tmp_teardown),
		cmocka_unit_test_setup_teardown(test_buf_file_read_not_regular, tmp_setup, tmp_teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
