/* SPDX-License-Identifier: Apache-2.0 */
/* libFuzzer target: sm_checkpoint_verify and sm_note_verify on arbitrary text with a fixed vkey. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

#include "starmark/checkpoint.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* RFC 8032 TEST 3 seed, origin "example.com/fuzz": the corpus checkpoints are signed with it. */
static const uint8_t seed[32] = { 0xc5, 0xaa, 0x8d, 0xf4, 0x3f, 0x9f, 0x83, 0x7b, 0xed, 0xb7, 0x44,
				  0x2f, 0x31, 0xdc, 0xb7, 0xb1, 0x66, 0xd3, 0x85, 0x35, 0x07, 0x6f,
				  0x09, 0x4b, 0x85, 0xce, 0x3a, 0x2e, 0x0b, 0x44, 0x58, 0xf7 };

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static char *vkey;
	sm_checkpoint cp;
	sm_err err;
	size_t text_len = 0;

	if (!vkey) {
		sm_key *k = NULL;
		if (sm_key_from_seed(seed, &k) != 0)
			return 0;
		vkey = sm_note_vkey("example.com/fuzz", k);
		sm_key_free(k);
		if (!vkey)
			return 0;
	}
	(void)sm_checkpoint_verify((const char *)data, size, vkey, &cp, &err);
	(void)sm_note_verify((const char *)data, size, vkey, &text_len, &err);
	return 0;
}
