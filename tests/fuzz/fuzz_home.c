/* SPDX-License-Identifier: Apache-2.0 */
/* libFuzzer target for the home document parser: any bytes; a parsed home keeps its invariants and checks. */
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "starmark/home.h"
#include "starmark/json.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* A device's answer from its model alone: every verdict, with or without a certificate, a level 1..3. */
static int stub(void *ctx, const sm_check_req *q, const sm_policy *p, sm_check_result *res, char **statement,
		sm_err *err)
{
	(void)ctx, (void)p, (void)err;
	uint32_t h = 2166136261u;
	for (const char *c = q->model; *c; c++)
		h = (h ^ (uint8_t)*c) * 16777619u;
	memset(res, 0, sizeof(*res));
	res->verdict = (int)(h % 4);
	res->required_level = 1;
	res->nreasons = 1;
	snprintf(res->reasons[0].code, sizeof(res->reasons[0].code), "stub");
	snprintf(res->reasons[0].message, sizeof(res->reasons[0].message), "a fixed answer");
	if ((h >> 8) % 3 == 0)
		return 0;
	sm_cert *c = sm_cert_new();
	if (!c)
		return SM_ENOMEM;
	snprintf(c->id, sizeof(c->id), "SM-2021-%06u", h % 1000000);
	snprintf(c->scheme, sizeof(c->scheme), "CCDS");
	snprintf(c->vendor, sizeof(c->vendor), "%s", q->vendor);
	c->level = 1 + (int)((h >> 4) % 3);
	c->vendor_name = strdup("Vendor");
	c->product = strdup("Product");
	c->models = calloc(1, sizeof(char *));
	if (c->models)
		c->models[c->nmodels++] = strdup(q->model);
	c->firmware = strdup(">=1.0");
	c->registered = 18000;
	c->support_end = (h >> 12) % 2 ? 20600 : SM_DATE_NONE;
	res->cert = c;
	if ((h >> 16) % 2)
		*statement = strdup("c3RhdGVtZW50");
	return 0;
}

static const char *const verdicts[] = { "allow", "warn", "deny", "unknown" };

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	sm_home *h = NULL;
	sm_err err;
	memset(&err, 0, sizeof(err));
	int rc = sm_home_parse((const char *)data, size, &h, &err);
	if (rc != 0) {
		if ((rc != SM_EINVAL && rc != SM_ETOOBIG && rc != SM_ENOMEM) || !err.msg[0] || h)
			abort();
		if (rc != SM_ENOMEM && !err.field[0])
			abort(); /* every refusal names where */
		return 0;
	}
	/* what was accepted: an id, at most the cap of devices, unique ids, each a check the scheme could take */
	if (!h->id[0] || h->ndevices > SM_HOME_MAX_DEVICES)
		abort();
	for (size_t i = 0; i < h->ndevices; i++) {
		const sm_home_device *d = &h->devices[i];
		sm_check_req q = { d->vendor, d->model, d->firmware, d->category[0] ? d->category : NULL, 0 };
		if (!d->id[0] || sm_check_req_validate(&q, NULL) != 0 || (d->label && strlen(d->label) > SM_HOME_LABEL_MAX))
			abort();
		for (size_t j = 0; j < i; j++)
			if (strcmp(h->devices[j].id, d->id) == 0)
				abort();
	}
	/* its check: the weakest device decides, every device answered, a JSON view of the schema's shape */
	sm_home_result r;
	if (sm_home_check(h, NULL, stub, NULL, NULL, 1780000000, &r, &err) == 0) {
		/* a design (no planned device installed yet) counts its planned devices and retrofits; a built home
		 * what is installed (home.h) */
		bool built = false;
		int worst = -1;
		static const int rank[] = { 0, 1, 3, 2 }; /* allow < warn < unknown < deny */
		for (size_t i = 0; i < h->ndevices; i++)
			built = built || (h->devices[i].installed && h->devices[i].planned);
		for (size_t i = 0; i < h->ndevices; i++) {
			const sm_home_device *d = &h->devices[i];
			if (!(built ? d->installed : d->planned || d->installed))
				continue;
			int v = r.devices[i].res.verdict;
			if (worst < 0 || rank[v] > rank[worst])
				worst = v;
		}
		if (r.ndevices != h->ndevices || r.level < 0 || r.level > 3 || r.verdict != (worst < 0 ? SM_UNKNOWN : worst))
			abort();
		json_t *j = sm_home_result_to_json(h, &r, 20600);
		if (!j || strcmp(json_string_value(json_object_get(j, "verdict")), verdicts[r.verdict]) != 0 ||
		    json_array_size(json_object_get(j, "devices")) != h->ndevices ||
		    json_array_size(json_object_get(j, "missing")) != r.nmissing ||
		    json_array_size(json_object_get(j, "unplanned")) != r.nunplanned)
			abort();
		json_decref(j);
		sm_home_result_cleanup(&r);
	}
	/* a retrofit joins when there is room, under a fresh id */
	size_t before = h->ndevices;
	rc = sm_home_add(h, "RINNAI:MC-301V@1.5/water-heater", &err);
	if (rc == 0 ? h->ndevices != before + 1 || !h->devices[before].installed || h->devices[before].planned
		    : (rc != SM_ETOOBIG && rc != SM_EEXIST && rc != SM_ENOMEM))
		abort();
	sm_home_free(h);
	return 0;
}
