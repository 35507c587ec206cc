/* SPDX-License-Identifier: Apache-2.0 */
/* libFuzzer target: `label verify --image`'s reader (PNG through cairo, JPEG through libjpeg-turbo, then zbar). */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "label_int.h"

/*
 * The caps are the reader's own but the pixel count, held to 1 megapixel here (as libjpeg-turbo's own fuzzers
 * do) so that a 20-byte header cannot make every run decode and scan 100 megapixels: what is checked before
 * decoding is the same code, and the speed lets the fuzzer reach the decoders. Whatever the input, the reader
 * answers 0 with one text, or an error code with a message and no text; anything else aborts.
 */
#define FUZZ_PIXELS_MAX (1024u * 1024u)

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *text = NULL;
	sm_err err = {0};
	int rc = sm_label_read_image_mem(data, size, "input", FUZZ_PIXELS_MAX, &text, &err);
	if (rc == 0 && (!text || strlen(text) > 8192))
		abort();
	if (rc != 0 && (text || rc >= 0 || err.msg[0] == '\0'))
		abort();
	free(text);
	return 0;
}
