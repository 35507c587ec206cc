/* SPDX-License-Identifier: Apache-2.0 */
/* Unit tests of the request guard's head parser: every refusal class, caps, and incremental input. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "guard.h"

static sm_guard_limits lim;

static int setup(void **state)
{
	(void)state;
	sm_guard_limits_default(&lim);
	return 0;
}

static int parse(const char *s, sm_guard_head *h)
{
	return sm_guard_parse_head(s, strlen(s), &lim, h);
}

/* The head is refused with `status`, and the message names `field` and contains `words`. */
static void refused(const char *s, unsigned status, const char *code, const char *field, const char *words)
{
	sm_guard_head h;
	int rc = parse(s, &h);
	if (rc >= 0)
		print_error("accepted: %s\n", s);
	assert_true(rc < 0);
	assert_int_equal(status, h.status);
	assert_string_equal(code, h.code);
	assert_string_equal(field, h.err.field);
	if (!strstr(h.err.msg, words))
		print_error("message \"%s\" lacks \"%s\"\n", h.err.msg, words);
	assert_non_null(strstr(h.err.msg, words));
}

static void test_guard_accepts_get(void **state)
{
	(void)state;
	const char *s = "GET /echo?model=ABC&x=%20y HTTP/1.1\r\nHost: h\r\nAccept:  */* \r\n\r\nGET /next";
	sm_guard_head h;
	assert_int_equal(0, parse(s, &h));
	assert_int_equal(strstr(s, "GET /next") - s, h.head_len);
	assert_memory_equal("GET", h.method, 3);
	assert_int_equal(3, h.method_len);
	assert_int_equal(strlen("/echo?model=ABC&x=%20y"), h.target_len);
	assert_memory_equal("/echo?model=ABC&x=%20y", h.target, h.target_len);
	assert_int_equal(1, h.minor);
	assert_int_equal(2, h.headers);
	assert_false(h.has_length);
	assert_false(h.is_head);
}

static void test_guard_accepts_post_admin_body_at_cap(void **state)
{
	(void)state;
	sm_guard_head h;
	assert_int_equal(0, parse("POST /v1/admin/certs HTTP/1.1\r\nHost: h\r\n"
				  "Content-Length:  1048576 \t\r\n\r\n", &h));
	assert_true(h.is_admin);
	assert_true(h.has_length);
	assert_int_equal(1048576, h.content_length);
	refused("POST /v1/admin/certs HTTP/1.1\r\nHost: h\r\nContent-Length: 1048577\r\n\r\n", 413,
		"payload_too_large", "Content-Length", "1048576");
	assert_int_equal(0, parse("POST /v1/check HTTP/1.1\r\nHost: h\r\nContent-Length: 65536\r\n\r\n", &h));
	assert_false(h.is_admin);
	refused("POST /v1/check HTTP/1.1\r\nHost: h\r\nContent-Length: 65537\r\n\r\n", 413,
		"payload_too_large", "Content-Length", "65536");
	refused("GET /v1/check HTTP/1.1\r\nHost: h\r\nContent-Length: 99999999999999999999999\r\n\r\n", 413,
		"payload_too_large", "Content-Length", "at most");
}

/* A public path with a body cap of its own (POST /v1/home/check takes a 1 MiB home document). */
static void test_guard_big_body_path(void **state)
{
	(void)state;
	static const char *const big[] = { "/v1/home/check", NULL };
	sm_guard_head h;
	lim.big_body_paths = big;
	lim.max_body_big = 1048576;
	assert_int_equal(0, parse("POST /v1/home/check HTTP/1.1\r\nHost: h\r\nContent-Length: 1048576\r\n\r\n", &h));
	assert_false(h.is_admin);
	assert_int_equal(1048576, h.content_length);
	assert_int_equal(0, parse("POST /v1/home/check?x=1 HTTP/1.1\r\nHost: h\r\nContent-Length: 1048576\r\n\r\n", &h));
	refused("POST /v1/home/check HTTP/1.1\r\nHost: h\r\nContent-Length: 1048577\r\n\r\n", 413,
		"payload_too_large", "Content-Length", "1048576");
	/* only that path: a longer one, or another public one, keeps the public cap */
	refused("POST /v1/home/checks HTTP/1.1\r\nHost: h\r\nContent-Length: 65537\r\n\r\n", 413,
		"payload_too_large", "Content-Length", "65536");
	refused("POST /v1/check HTTP/1.1\r\nHost: h\r\nContent-Length: 65537\r\n\r\n", 413,
		"payload_too_large", "Content-Length", "65536");
	/* a PUT, where it is served, needs a length as a POST does */
	static const char *const with_put[] = { "GET", "HEAD", "POST", "PUT", "DELETE", NULL };
	lim.methods = with_put;
	refused("PUT /v1/admin/policies/x HTTP/1.1\r\nHost: h\r\n\r\n", 411, "length_required", "Content-Length", "PUT");
	assert_int_equal(0, parse("DELETE /v1/admin/policies/x HTTP/1.1\r\nHost: h\r\n\r\n", &h));

	/* sm_guard_new copies the paths and checks them */
	sm_guard *g = NULL;
	sm_err err;
	assert_int_equal(0, sm_guard_new(&g, &lim, &err));
	sm_guard_free(g);
	static const char *const bad[] = { "v1/home/check", NULL };
	lim.big_body_paths = bad;
	assert_int_equal(SM_EINVAL, sm_guard_new(&g, &lim, &err));
	assert_string_equal("big_body_paths", err.field);
	lim.big_body_paths = big;
	lim.max_body_big = 0;
	assert_int_equal(SM_EINVAL, sm_guard_new(&g, &lim, &err));
	assert_string_equal("limits", err.field);
}

static void test_guard_http10_without_host(void **state)
{
	(void)state;
	sm_guard_head h;
	assert_int_equal(0, parse("HEAD / HTTP/1.0\r\n\r\n", &h));
	assert_true(h.is_head);
	assert_int_equal(0, h.minor);
	refused("GET / HTTP/1.1\r\n\r\n", 400, "bad_request", "Host", "Host");
	refused("GET / HTTP/1.0\r\nHost: a\r\nhost: b\r\n\r\n", 400, "bad_request", "Host", "more than once");
}

static void test_guard_framing(void **state)
{
	(void)state;
	refused("POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 1\r\ncontent-length: 1\r\n\r\n", 400,
		"bad_request", "Content-Length", "more than once");
	refused("POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n", 400, "bad_request",
		"Transfer-Encoding", "Transfer-Encoding");
	refused("POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 1\r\nTransfer-Encoding: identity\r\n\r\n", 400,
		"bad_request", "Transfer-Encoding", "Content-Length");
	/* libevhtp skips only spaces before the digits: a tab would make it read something else */
	refused("POST / HTTP/1.1\r\nHost: h\r\nContent-Length:\t1\r\n\r\n", 400, "bad_request",
		"Content-Length", "not a decimal number");
	refused("POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 1, 1\r\n\r\n", 400, "bad_request",
		"Content-Length", "\"1, 1\"");
	refused("POST / HTTP/1.1\r\nHost: h\r\nContent-Length: \r\n\r\n", 400, "bad_request",
		"Content-Length", "not a decimal number");
	refused("POST / HTTP/1.1\r\nHost: h\r\n\r\n", 411, "length_required", "Content-Length", "POST");
	refused("POST / HTTP/1.1\r\nHost: h\r\nContent-Type: Application/X-WWW-Form-Urlencoded\r\n"
		"Content-Length: 1\r\n\r\n", 415, "unsupported_media_type", "Content-Type",
		"application/json");
	refused("POST / HTTP/1.1\r\nHost: h\r\nContent-Type: multipart/form-data; boundary=x\r\n\r\n", 415,
		"unsupported_media_type", "Content-Type", "multipart/form-data");
}

static void test_guard_header_syntax(void **state)
{
	(void)state;
	refused("GET / HTTP/1.1\r\nHost: h\r\nX-A : b\r\n\r\n", 400, "bad_request", "X-A",
		"no space before ':'");
	refused("GET / HTTP/1.1\r\nHost: h\r\nX-A: b\r\n c\r\n\r\n", 400, "bad_request", "headers",
		"folding");
	refused("GET / HTTP/1.1\r\nHost: h\r\nX-A: b\x01\r\n\r\n", 400, "bad_request", "X-A", "0x01");
	refused("GET / HTTP/1.1\r\nHost: h\r\nX-A: b\rc\r\n\r\n", 400, "bad_request", "headers", "bare CR");
	refused("GET / HTTP/1.1\r\nHost: h\nX: y\r\n\r\n", 400, "bad_request", "headers",
		"line 1 must end with CRLF");
	refused("GET / HTTP/1.1\nHost: h\r\n\r\n", 400, "bad_request", "headers",
		"request line must end with CRLF");
	refused("GET / HTTP/1.1\r\nNoColon\r\n\r\n", 400, "bad_request", "NoColon", "Name: value");
}

static void test_guard_request_line(void **state)
{
	(void)state;
	refused("\r\nGET / HTTP/1.1\r\n\r\n", 400, "bad_request", "method", "must start with a method");
	refused("GET  / HTTP/1.1\r\n\r\n", 400, "bad_request", "target", "starting with '/'");
	refused("GET http://h/ HTTP/1.1\r\n\r\n", 400, "bad_request", "target", "starting with '/'");
	refused("GET /a#b HTTP/1.1\r\n\r\n", 400, "bad_request", "target", "fragment");
	refused("GET /a%2 HTTP/1.1\r\n\r\n", 400, "bad_request", "target", "two hex digits");
	refused("GET /a\"b HTTP/1.1\r\n\r\n", 400, "bad_request", "target", "0x22 at offset 2");
	refused("GET /a\xc3\xa9 HTTP/1.1\r\n\r\n", 400, "bad_request", "target", "percent-encode");
	refused("GET / HTTP/9.9\r\n\r\n", 505, "version_not_supported", "version", "HTTP/9.9");
	refused("GET / HTTP/0.9\r\n\r\n", 505, "version_not_supported", "version", "HTTP/0.9");
	refused("GET / HTTP/1.10\r\n\r\n", 400, "bad_request", "version", "not an HTTP version");
	refused("GET / http/1.1\r\n\r\n", 400, "bad_request", "version", "\"http/1.1\"");
	refused("GET /\r\n\r\n", 400, "bad_request", "version", "no HTTP version");
	refused("PUT / HTTP/1.1\r\n\r\n", 405, "method_not_allowed", "method", "\"PUT\"");
	refused("FROB / HTTP/1.1\r\n\r\n", 501, "not_implemented", "method", "\"FROB\"");
	refused("get / HTTP/1.1\r\n\r\n", 501, "not_implemented", "method", "\"get\"");
	refused("G(T / HTTP/1.1\r\n\r\n", 400, "bad_request", "method", "one space");
	refused("\x16\x03\x01\x02\x00 / HTTP/1.1\r\n\r\n", 400, "bad_request", "method", "method token");
}

static void test_guard_caps(void **state)
{
	(void)state;
	char *s = malloc(40000);
	assert_non_null(s);

	/* 64 header lines pass, 65 do not */
	size_t n = (size_t)snprintf(s, 40000, "GET / HTTP/1.1\r\nHost: h\r\n");
	for (int i = 0; i < 63; i++)
		n += (size_t)snprintf(s + n, 40000 - n, "X-%d: v\r\n", i);
	memcpy(s + n, "\r\n", 3);
	sm_guard_head h;
	assert_int_equal(0, parse(s, &h));
	assert_int_equal(64, h.headers);
	memcpy(s + n, "X-63: v\r\n\r\n", 12);
	refused(s, 431, "header_too_large", "headers", "at most 64 header lines");

	/* a head over 16 KiB, each line under the line cap */
	n = (size_t)snprintf(s, 40000, "GET / HTTP/1.1\r\nHost: h\r\n");
	for (int i = 0; i < 3; i++) {
		n += (size_t)snprintf(s + n, 40000 - n, "X-%d: ", i);
		memset(s + n, 'a', 6000);
		n += 6000;
		memcpy(s + n, "\r\n", 2);
		n += 2;
	}
	memcpy(s + n, "\r\n", 3);
	refused(s, 431, "header_too_large", "headers", "16384 bytes");
	/* ...refused already while incomplete, once the bytes pass the cap */
	s[16390] = '\0';
	refused(s, 431, "header_too_large", "headers", "16384 bytes");

	/* one line over 8000 bytes */
	n = (size_t)snprintf(s, 40000, "GET / HTTP/1.1\r\nHost: h\r\nX-Long: ");
	memset(s + n, 'b', 8100);
	memcpy(s + n + 8100, "\r\n\r\n", 5);
	refused(s, 431, "header_too_large", "headers", "longer than 8000");

	/* a target over 8000 bytes: 414 as soon as it is seen, even without the rest */
	memcpy(s, "GET /", 5);
	memset(s + 5, 'c', 8100);
	s[8105] = '\0';
	refused(s, 414, "uri_too_long", "target", "8000");
	free(s);
}

/* Feeding a head one byte at a time: every prefix is incomplete, then the whole is accepted. */
static void test_guard_every_prefix_incomplete(void **state)
{
	(void)state;
	const char *s = "POST /v1/admin/x%41?q=%7e HTTP/1.1\r\nHost: h\r\nContent-Length: 12\r\n\r\n";
	size_t len = strlen(s);
	sm_guard_head h;
	for (size_t k = 0; k < len; k++) {
		int rc = sm_guard_parse_head(s, k, &lim, &h);
		if (rc != SM_GUARD_INCOMPLETE)
			print_error("prefix of %zu bytes: %d (%s)\n", k, rc, h.err.msg);
		assert_int_equal(SM_GUARD_INCOMPLETE, rc);
	}
	assert_int_equal(0, sm_guard_parse_head(s, len, &lim, &h));
	assert_int_equal(12, h.content_length);
}

/* A bad request line is refused before the head is complete, so a client cannot park on it. */
static void test_guard_refuses_early(void **state)
{
	(void)state;
	refused("GET / HTTP/9.9\r\n", 505, "version_not_supported", "version", "HTTP/9.9");
	refused("GET /a b", 400, "bad_request", "version", "not an HTTP version");
	refused("FROB ", 501, "not_implemented", "method", "FROB");
	refused("GET / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n", 400, "bad_request",
		"Transfer-Encoding", "Content-Length");
}

static void test_guard_new_checks_limits(void **state)
{
	(void)state;
	sm_guard *g = NULL;
	sm_err err;
	sm_guard_limits l = lim;
	static const char *const lower[] = { "get", NULL };
	static const char *const none[] = { NULL };

	assert_int_equal(0, sm_guard_new(&g, NULL, &err));
	assert_non_null(g);
	assert_int_equal(0, sm_guard_connections(g));
	sm_guard_free(g);

	l.methods = lower;
	assert_int_equal(SM_EINVAL, sm_guard_new(&g, &l, &err));
	assert_null(g);
	assert_string_equal("methods", err.field);
	l.methods = none;
	assert_int_equal(SM_EINVAL, sm_guard_new(&g, &l, &err));
	l = lim;
	l.admin_prefix = "admin";
	assert_int_equal(SM_EINVAL, sm_guard_new(&g, &l, &err));
	assert_string_equal("admin_prefix", err.field);
	l = lim;
	l.max_headers = 0;
	assert_int_equal(SM_EINVAL, sm_guard_new(&g, &l, &err));
	assert_string_equal("limits", err.field);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup(test_guard_accepts_get, setup),
		cmocka_unit_test_setup(test_guard_accepts_post_admin_body_at_cap, setup),
		cmocka_unit_test_setup(test_guard_big_body_path, setup),
		cmocka_unit_test_setup(test_guard_http10_without_host, setup),
		cmocka_unit_test_setup(test_guard_framing, setup),
		cmocka_unit_test_setup(test_guard_header_syntax, setup),
		cmocka_unit_test_setup(test_guard_request_line, setup),
		cmocka_unit_test_setup(test_guard_caps, setup),
		cmocka_unit_test_setup(test_guard_every_prefix_incomplete, setup),
		cmocka_unit_test_setup(test_guard_refuses_early, setup),
		cmocka_unit_test_setup(test_guard_new_checks_limits, setup),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
