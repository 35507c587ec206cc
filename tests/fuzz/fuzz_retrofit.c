/* SPDX-License-Identifier: Apache-2.0 */
/*
 * libFuzzer target for retrofits: `home check --add SPEC` (sm_home_add) and the parts POST /v1/home/check
 * takes (sm_home_add_retrofit). The input is split at NUL bytes: the first piece is a spec, the next six
 * the parts (vendor, model, firmware, category, id, room). Each is added to a home of two devices; an
 * accepted retrofit is the last device, installed and not planned, with an id no other device has, and
 * the retrofit answer (sm_home_check_retrofits, sm_home_retrofit_json) holds together.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "starmark/home.h"
#include "starmark/json.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const char HOME[] =
    "{\"home\":\"h\",\"devices\":[{\"id\":\"a\",\"vendor\":\"RINNAI\",\"model\":\"MC-301V\",\"firmware\":\"1.5\","
    "\"planned\":true,\"installed\":true},{\"id\":\"retrofit-3\",\"vendor\":\"ACME\",\"model\":\"L-1\","
    "\"firmware\":\"1.2\",\"planned\":true,\"installed\":false}]}";

/* Every device allowed at level 2, except a model starting with 'D' (denied, level 0). */
static int answer(void *ctx, const sm_home *h, sm_home_result *out, sm_err *err)
{
	(void)ctx, (void)err;
	memset(out, 0, sizeof(*out));
	out->ndevices = h->ndevices;
	out->devices = calloc(h->ndevices ? h->ndevices : 1, sizeof(*out->devices));
	if (!out->devices)
		return SM_ENOMEM;
	out->level = 2;
	for (size_t i = 0; i < h->ndevices; i++) {
		bool deny = h->devices[i].model[0] == 'D';
		out->devices[i].res.verdict = deny ? SM_DENY : SM_ALLOW;
		if (deny)
			out->level = 0;
	}
	out->verdict = out->level ? SM_ALLOW : SM_DENY;
	return 0;
}

static void check_added(sm_home *h, size_t before, int rc, const sm_err *err)
{
	if (rc) {
		if ((rc != SM_EINVAL && rc != SM_EEXIST && rc != SM_ETOOBIG && rc != SM_ENOMEM) || !err->msg[0] ||
		    h->ndevices != before)
			abort();
		return;
	}
	const sm_home_device *d = &h->devices[h->ndevices - 1];
	if (h->ndevices != before + 1 || !d->installed || d->planned || !d->id[0])
		abort();
	for (size_t i = 0; i + 1 < h->ndevices; i++)
		if (strcmp(h->devices[i].id, d->id) == 0)
			abort();
	sm_home_result r;
	sm_err e = {0};
	int lb = -9;
	if (sm_home_check_retrofits(h, 1, answer, NULL, &r, &lb, &e) != 0)
		abort();
	if (lb != 2 || r.ndevices != h->ndevices)
		abort();
	json_t *doc = json_object();
	if (!doc || sm_home_retrofit_json(doc, h, &r, h->ndevices - 1, lb) != 0)
		abort();
	json_t *rf = json_object_get(doc, "retrofit");
	bool may = json_is_true(json_object_get(rf, "may_join"));
	if (may != (d->model[0] != 'D') || json_integer_value(json_object_get(rf, "level_after")) != r.level ||
	    strcmp(json_string_value(json_array_get(json_object_get(rf, "devices"), 0)), d->id) != 0)
		abort();
	json_decref(doc);
	sm_home_result_cleanup(&r);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size > 4096)
		return 0;
	char *buf = malloc(size + 1);
	if (!buf)
		return 0;
	memcpy(buf, data, size);
	buf[size] = '\0';
	const char *part[7] = {0};
	size_t np = 0;
	for (char *p = buf; np < 7 && p <= buf + size; p += strlen(p) + 1)
		part[np++] = p;
	sm_home *h = NULL;
	sm_err err = {0};
	if (sm_home_parse(HOME, sizeof(HOME) - 1, &h, &err) != 0)
		abort();
	memset(&err, 0, sizeof(err));
	check_added(h, 2, sm_home_add(h, part[0], &err), &err);
	sm_home_free(h);
	h = NULL;
	if (sm_home_parse(HOME, sizeof(HOME) - 1, &h, &err) != 0)
		abort();
	sm_home_retrofit rf = { part[1], part[2], part[3], part[4], part[5], part[6] };
	memset(&err, 0, sizeof(err));
	check_added(h, 2, sm_home_add_retrofit(h, &rf, &err), &err);
	sm_home_free(h);
	free(buf);
	return 0;
}
