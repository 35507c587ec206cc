/* SPDX-License-Identifier: Apache-2.0 */
/* libFuzzer target for the record CBOR decoders: what decodes re-encodes stably, folds and shows. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "starmark/buf.h"
#include "starmark/json.h"
#include "starmark/record.h"

static bool known_code(int rc)
{
	return rc == SM_EINVAL || rc == SM_ETOOBIG || rc == SM_ENOMEM;
}

/* encode(decode(x)) must decode again and encode to the very same bytes. */
static void event_round_trip(const sm_event *e)
{
	sm_buf b1 = SM_BUF_INIT, b2 = SM_BUF_INIT;
	sm_event *again = NULL;
	if (sm_event_encode(e, &b1) != 0)
		abort();
	if (sm_event_decode(b1.data, b1.len, &again, NULL) != 0)
		abort();
	if (sm_event_encode(again, &b2) != 0)
		abort();
	if (b1.len != b2.len || memcmp(b1.data, b2.data, b1.len) != 0)
		abort();
	sm_event_free(again);
	sm_buf_cleanup(&b1);
	sm_buf_cleanup(&b2);
}

static void cert_round_trip(const sm_cert *c)
{
	sm_buf b1 = SM_BUF_INIT, b2 = SM_BUF_INIT;
	sm_cert *again = NULL;
	if (sm_cert_encode(c, &b1) != 0)
		abort();
	if (sm_cert_decode(b1.data, b1.len, &again, NULL) != 0)
		abort();
	if (sm_cert_encode(again, &b2) != 0)
		abort();
	if (b1.len != b2.len || memcmp(b1.data, b2.data, b1.len) != 0)
		abort();
	sm_cert_free(again);
	sm_buf_cleanup(&b1);
	sm_buf_cleanup(&b2);
}

/* A valid issue event folds into a fresh state that round-trips and has a JSON view. */
static void issue_and_show(sm_event *e)
{
	sm_err err;
	if (e->type != SM_EV_ISSUE || sm_event_validate(e, &err) != 0 ||
	    sm_cert_validate(e->cert, 9, &err) != 0)
		return;
	sm_cert *s = sm_cert_new();
	if (!s)
		return;
	if (sm_cert_apply(s, e, 0, &err) == 0) {
		cert_round_trip(s);
		json_t *j = sm_cert_to_json(s, 20000);
		if (!j || !json_object_get(j, "vendor") || !json_object_get(j, "firmware") ||
		    json_array_size(json_object_get(j, "history")) != 1)
			abort();
		json_decref(j);
	}
	sm_cert_free(s);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	sm_err err;
	sm_event *e = NULL;
	int rc = sm_event_decode(data, size, &e, &err);
	if (rc == 0) {
		if (!e || !sm_event_name(e->type) || !e->id[0] ||
		    (e->type == SM_EV_ISSUE) != (e->cert != NULL))
			abort();
		event_round_trip(e);
		(void)sm_event_validate(e, &err);
		issue_and_show(e);
		sm_event_free(e);
	} else if (!known_code(rc) || e || !err.msg[0]) {
		abort();
	}

	sm_cert *c = NULL;
	rc = sm_cert_decode(data, size, &c, &err);
	if (rc == 0) {
		cert_round_trip(c);
		sm_cert *d = sm_cert_dup(c);
		if (d)
			cert_round_trip(d);
		sm_cert_free(d);
		/* every decoded history line has a name, so the JSON view holds every line */
		json_t *j = sm_cert_to_json(c, sm_date_from_time(1700000000));
		if (!j || json_array_size(json_object_get(j, "history")) != c->nhistory)
			abort();
		json_decref(j);
		sm_cert_free(c);
	} else if (!known_code(rc) || c || !err.msg[0]) {
		abort();
	}
	return 0;
}
