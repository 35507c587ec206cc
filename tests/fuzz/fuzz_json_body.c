/* SPDX-License-Identifier: Apache-2.0 */
/* libFuzzer target for JSON request bodies: parse, read as a certificate both ways, validate, show. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "starmark/json.h"
#include "starmark/record.h"

/* A validated draft has a JSON view that reads back (issue body keys only) to the same record. */
static void show_and_read_back(const sm_cert *c)
{
	json_t *j = sm_cert_to_json(c, 20000);
	if (!j)
		abort();
	json_object_del(j, "id");
	json_object_del(j, "status");
	json_object_del(j, "history");
	json_object_del(j, "scheme");
	json_object_del(json_object_get(j, "firmware"), "revoked");
	sm_cert *back = NULL;
	sm_err err;
	if (sm_cert_from_json(j, false, &back, &err) != 0)
		abort();
	if (sm_cert_validate(back, 3, &err) != 0)
		abort();
	if (strcmp(back->firmware, c->firmware) != 0 || strcmp(back->product, c->product) != 0 ||
	    back->nmodels != c->nmodels || back->level != c->level || back->registered != c->registered ||
	    back->expires != c->expires || back->support_end != c->support_end)
		abort();
	sm_cert_free(back);
	json_decref(j);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	json_t *j = NULL;
	sm_err err;
	int rc = sm_json_parse_body((const char *)data, size, &j, &err);
	if (rc != 0) {
		if ((rc != SM_EINVAL && rc != SM_ETOOBIG) || j || !err.msg[0])
			abort();
		return 0;
	}
	if (!json_is_object(j))
		abort();
	for (int mode = 0; mode < 2; mode++) {
		sm_cert *c = NULL;
		rc = sm_cert_from_json(j, mode == 1, &c, &err);
		if (rc != 0) {
			if ((rc != SM_EINVAL && rc != SM_ENOMEM) || c || !err.msg[0])
				abort();
			continue;
		}
		if (sm_cert_validate(c, 3, &err) == 0)
			show_and_read_back(c);
		else if (!err.msg[0])
			abort();
		sm_cert_free(c);
	}
	json_decref(j);
	return 0;
}
