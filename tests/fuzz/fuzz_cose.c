/* SPDX-License-Identifier: Apache-2.0 */
/* libFuzzer target: sm_cose_decode on arbitrary bytes, then every accessor and verify. */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "starmark/cose.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* RFC 8032 TEST 1 seed: the corpus objects are signed with it, so verify runs to the end. */
static const uint8_t seed[32] = { 0x9d, 0x61, 0xb1, 0x9d, 0xef, 0xfd, 0x5a, 0x60, 0xba, 0x84, 0x4a,
				  0xf4, 0x92, 0xec, 0x2c, 0xc4, 0x44, 0x49, 0xc5, 0x69, 0x7b, 0x32,
				  0x69, 0x19, 0x70, 0x3b, 0xac, 0x03, 0x1c, 0xae, 0x7f, 0x60 };

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static sm_key *key;
	sm_cose *c = NULL;
	sm_err err;
	uint8_t kid[SM_KID_LEN];
	const uint8_t *p;
	size_t n = 0;
	volatile uint8_t sink = 0;

	if (!key && sm_key_from_seed(seed, &key) != 0)
		return 0;
	if (sm_cose_decode(data, size, &c, &err) != 0)
		return 0;
	if (sm_cose_kid(c, kid))
		sink ^= kid[0];
	sink ^= (uint8_t)sm_cose_type(c);
	p = sm_cose_payload(c, &n);
	for (size_t i = 0; i < n; i++)
		sink ^= p[i];
	(void)sm_cose_verify(c, key);
	(void)sink;
	sm_cose_free(c);
	return 0;
}
