/* SPDX-License-Identifier: Apache-2.0 */
/* libFuzzer target: the search fold reads only its input, writes valid UTF-8 without NUL, and is idempotent. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "starmark/textfold.h"

/* abort(), not assert(): release builds define NDEBUG and the checks must stay. */
static void check(int ok)
{
	if (!ok)
		abort();
}

/* Well-formed UTF-8 (RFC 3629) without NUL. */
static int valid_utf8(const uint8_t *p, size_t n)
{
	size_t i = 0;
	while (i < n) {
		uint8_t b = p[i];
		size_t len = b == 0 ? 0 : b < 0x80 ? 1 : b >= 0xC2 && b <= 0xDF ? 2 : b >= 0xE0 && b <= 0xEF ? 3
			     : b >= 0xF0 && b <= 0xF4 ? 4 : 0;
		if (!len || len > n - i)
			return 0;
		uint8_t lo = b == 0xE0 ? 0xA0 : b == 0xF0 ? 0x90 : 0x80, hi = b == 0xED ? 0x9F : b == 0xF4 ? 0x8F : 0xBF;
		for (size_t k = 1; k < len; k++)
			if (p[i + k] < (k == 1 ? lo : 0x80) || p[i + k] > (k == 1 ? hi : 0xBF))
				return 0;
		i += len;
	}
	return 1;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size > 64 * 1024)
		return 0;
	/* an exact copy: ASan sees a read past its end */
	char *in = malloc(size ? size : 1);
	sm_buf a = SM_BUF_INIT, b = SM_BUF_INIT;
	if (!in)
		return 0;
	memcpy(in, data, size);
	check(sm_text_fold(&a, in, size) == 0);
	/* one code point of input gives at most one of 4 bytes */
	check(a.len <= 4 * size);
	check(valid_utf8(a.data, a.len));
	check(sm_text_fold(&b, (const char *)a.data, a.len) == 0);
	check(a.len == b.len && (a.len == 0 || memcmp(a.data, b.data, a.len) == 0));
	sm_buf_cleanup(&b);
	sm_buf_cleanup(&a);
	free(in);
	return 0;
}
