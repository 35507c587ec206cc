/* SPDX-License-Identifier: Apache-2.0 */
/* Fuzz starmarkd's query-string parser (server/query.c): never a crash, and what it accepts obeys its rules. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "query.h"
#include "starmark/record.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const char *const allowed[] = { "vendor", "model", "firmware", "category", "level", "q", "page", NULL };
	char *raw = malloc(size + 1);
	if (!raw)
		return 0;
	memcpy(raw, data, size);
	raw[size] = '\0';
	sm_param params[SM_QUERY_MAX_PARAMS];
	size_t n = 0;
	sm_query_err e;
	if (sm_query_parse(raw, allowed, params, &n, &e) == 0) {
		if (n > SM_QUERY_MAX_PARAMS)
			abort();
		for (size_t i = 0; i < n; i++) {
			size_t len = strlen(params[i].value);
			if (len > SM_QUERY_MAX_VALUE || !sm_utf8_printable(params[i].value, len))
				abort();
			for (size_t j = 0; j < i; j++)
				if (params[j].name == params[i].name)
					abort(); /* a repeated name was accepted */
		}
		sm_query_free(params, n);
	} else {
		if (!e.code || !e.msg[0] || n != 0)
			abort(); /* every refusal says why, and leaves nothing to free */
		sm_query_free(params, n);
	}
	free(raw);
	return 0;
}
