/* SPDX-License-Identifier: Apache-2.0 */
/* libFuzzer target: the admin event body (POST /v1/admin/certs/{id}/events) through sm_event_from_json. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "starmark/json.h"
#include "starmark/record.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* The body an event would be sent as: the fields it holds, dates in full. */
static char *body_of(const sm_event *e)
{
	json_t *j = json_object(), *a;
	char d[11];
	json_object_set_new(j, "event", json_string(sm_event_name(e->type)));
	if (e->reason)
		json_object_set_new(j, "reason", json_string(e->reason));
	if (e->firmware)
		json_object_set_new(j, "add_firmware", json_string(e->firmware));
	if (e->url)
		json_object_set_new(j, "url", json_string(e->url));
	if (e->requirements)
		json_object_set_new(j, "requirements", json_string(e->requirements));
	if (e->nversions) {
		json_object_set_new(j, "versions", a = json_array());
		for (size_t i = 0; i < e->nversions; i++)
			json_array_append_new(a, json_string(e->versions[i]));
	}
	if (e->nmodels) {
		json_object_set_new(j, "add_models", a = json_array());
		for (size_t i = 0; i < e->nmodels; i++)
			json_array_append_new(a, json_string(e->models[i]));
	}
	if (e->expires != SM_DATE_NONE) {
		sm_date_format(e->expires, d);
		json_object_set_new(j, "expires", json_string(d));
	}
	if (e->support_end != SM_DATE_NONE) {
		sm_date_format(e->support_end, d);
		json_object_set_new(j, "support_end", json_string(d));
	}
	char *s = json_dumps(j, JSON_COMPACT);
	json_decref(j);
	return s;
}

static bool same_strv(char *const *a, size_t na, char *const *b, size_t nb)
{
	if (na != nb)
		return false;
	for (size_t i = 0; i < na; i++)
		if (strcmp(a[i], b[i]) != 0)
			return false;
	return true;
}

static bool same_str(const char *a, const char *b)
{
	return (!a && !b) || (a && b && strcmp(a, b) == 0);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	sm_event *e = (sm_event *)&e, *back = NULL;
	sm_err err = { 0 };
	int rc = sm_event_from_json((const char *)data, size, "SM-2024-000001", &e, &err);
	if (rc) {
		if ((rc != SM_EINVAL && rc != SM_ETOOBIG && rc != SM_ENOMEM) || e || !err.msg[0])
			abort();
		return 0;
	}
	if (!e || e->type < SM_EV_AMEND || e->type > SM_EV_RENEW || strcmp(e->id, "SM-2024-000001") != 0)
		abort();
	/* every key of the body was "event" or one the event takes, and each set a field */
	json_t *j = json_loadb((const char *)data, size, JSON_REJECT_DUPLICATES, NULL);
	const char *k;
	json_t *v;
	if (!j)
		abort();
	json_object_foreach(j, k, v) {
		bool set = strcmp(k, "event") == 0 || (strcmp(k, "reason") == 0 && e->reason) ||
			   (strcmp(k, "versions") == 0 && e->nversions && e->type == SM_EV_FW_REVOKE) ||
			   (strcmp(k, "add_models") == 0 && e->nmodels && e->type == SM_EV_AMEND) ||
			   (strcmp(k, "add_firmware") == 0 && e->firmware && e->type == SM_EV_AMEND) ||
			   (strcmp(k, "url") == 0 && e->url && e->type == SM_EV_AMEND) ||
			   (strcmp(k, "support_end") == 0 && e->support_end != SM_DATE_NONE && e->type == SM_EV_AMEND) ||
			   (strcmp(k, "requirements") == 0 && e->requirements && e->type == SM_EV_RENEW) ||
			   (strcmp(k, "expires") == 0 && e->expires != SM_DATE_NONE && e->type == SM_EV_RENEW);
		if (!set)
			abort();
	}
	json_decref(j);
	/* and the event, sent again as a body, reads back the same */
	char *again = body_of(e);
	if (!again || sm_event_from_json(again, strlen(again), "SM-2024-000001", &back, &err) != 0)
		abort();
	if (back->type != e->type || !same_str(back->reason, e->reason) || !same_str(back->firmware, e->firmware) ||
	    !same_str(back->url, e->url) || !same_str(back->requirements, e->requirements) ||
	    !same_strv(back->versions, back->nversions, e->versions, e->nversions) ||
	    !same_strv(back->models, back->nmodels, e->models, e->nmodels) || back->expires != e->expires ||
	    back->support_end != e->support_end)
		abort();
	(void)sm_event_validate(e, &err);
	free(again);
	sm_event_free(back);
	sm_event_free(e);
	return 0;
}
