/* SPDX-License-Identifier: Apache-2.0 */
/* libFuzzer target: every decoder; what decodes must re-encode to the same canonical text. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "starmark/codec.h"

typedef char *(*encode_fn)(const uint8_t *, size_t);
typedef int (*decode_fn)(const char *, size_t, uint8_t **, size_t *, sm_err *);

static int fold(int c)
{
	return c >= 'a' && c <= 'z' ? c - 'a' + 'A' : c;
}

/* abort(), not assert(): release builds define NDEBUG and the check must stay. */
static void check(int ok)
{
	if (!ok)
		abort();
}

static void one(const char *text, size_t n, decode_fn dec, encode_fn enc, int any_case)
{
	uint8_t *out = NULL;
	size_t outlen = 0;
	sm_err err;
	const int rc = dec(text, n, &out, &outlen, &err);
	if (rc) {
		check(out == NULL && err.code == rc && err.msg[0] != '\0');
		return;
	}
	check(out != NULL && out[outlen] == 0);
	char *again = enc(out, outlen);
	check(again != NULL);
	check(strlen(again) == n);
	for (size_t i = 0; i < n; i++) {
		const int x = (unsigned char)again[i], y = (unsigned char)text[i];
		check(any_case ? fold(x) == fold(y) : x == y);
	}
	free(again);
	free(out);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *text = (const char *)data;
	one(text, size, sm_base32_decode, sm_base32_encode, 1);
	one(text, size, sm_base64_decode, sm_base64_encode, 0);
	one(text, size, sm_base64url_decode, sm_base64url_encode, 0);
	one(text, size, sm_hex_decode, sm_hex_encode, 1);
	return 0;
}
