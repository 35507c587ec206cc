/* SPDX-License-Identifier: Apache-2.0 */
/* Unit tests of homes: the document's rules, retrofits, levels (the weakest device), reconciliation, policy floors. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "fixture.h"
#include "starmark/home.h"
#include "starmark/label.h"
#include "starmark/starmark.h"

#define NOW 1790000000 /* 2026-09-21 */

struct fx {
	char dir[64];
	sm_registry *r;
	char lock[32], cam[32];
};

static int setup(void **state)
{
	struct fx *f = calloc(1, sizeof(*f));
	f->r = fx_registry_new(f->dir, "home.test", NOW);
	fx_issue(f->r, "SECOM", "SL-100", 3, ">=3.0 <4.0", "lock", sm_date_from_time(NOW) + 30, NOW, f->lock);
	fx_issue(f->r, "PANA", "CZ-T100", 2, ">=2.1", "air-conditioner", SM_DATE_NONE, NOW, NULL);
	fx_issue(f->r, "CHEAP", "C1", 1, "1.0", "camera", SM_DATE_NONE, NOW, f->cam);
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fx *f = *state;
	fx_registry_free(f->r, f->dir);
	free(f);
	return 0;
}

static int from_registry(void *ctx, const sm_check_req *q, const sm_policy *p, sm_check_result *res, char **statement,
			 sm_err *err)
{
	(void)statement;
	return sm_registry_check(ctx, q, p, NOW, res, err);
}

static sm_home *parse(const char *text)
{
	sm_home *h = NULL;
	sm_err err = {0};
	if (sm_home_parse(text, strlen(text), &h, &err) != 0)
		fail_msg("parse: %s", err.msg);
	return h;
}

#define DEV(id, vendor, model, fw, cat, planned, installed)                                                           \
	"{\"id\":\"" id "\",\"vendor\":\"" vendor "\",\"model\":\"" model "\",\"firmware\":\"" fw "\",\"category\":\"" cat \
	"\",\"planned\":" planned ",\"installed\":" installed "}"

static const char *const HOME =
    "{\"home\":\"h1\",\"name\":\"1203号室\",\"policy\":{\"name\":\"homes\",\"levels\":{\"lock\":3,\"camera\":2}},"
    "\"devices\":[" DEV("lock", "SECOM", "SL-100", "3.2", "lock", "true", "true") ","
    DEV("ac", "PANA", "CZ-T100", "2.4", "air-conditioner", "true", "true") ","
    DEV("sensor", "PANA", "CZ-T100", "2.4", "sensor", "true", "false") "]}";

static void test_home_parse_refuses_bad_documents(void **state)
{
	(void)state;
	static const struct {
		const char *text, *field, *msg;
	} bad[] = {
		{"not json", "home", "not valid JSON"},
		{"[]", "home", "must be a JSON object"},
		{"{\"devices\":[]}", "home", "home (the home's id) is required"},
		{"{\"home\":\"h\"}", "devices", "devices is required"},
		{"{\"home\":\"h\",\"devices\":[],\"x\":1}", "x", "unknown key 'x'"},
		{"{\"home\":\"h w\",\"devices\":[]}", "home", "home must be an id"},
		{"{\"home\":\"h\",\"devices\":[" DEV("a", "SECOM", "SL-100", "3.2", "lock", "true", "true") ","
		 DEV("a", "SECOM", "SL-100", "3.2", "lock", "true", "true") "]}", "devices", "devices[1]: the id a is devices[0]'s"},
		{"{\"home\":\"h\",\"devices\":[{\"id\":\"d\",\"vendor\":\"SECOM\",\"model\":\"SL-100\",\"planned\":true,"
		 "\"installed\":true}]}", "devices[0].firmware", "devices[0] (d): firmware is required"},
		{"{\"home\":\"h\",\"devices\":[" DEV("d", "secom co", "SL-100", "3.2", "lock", "true", "true") "]}",
		 "devices[0].vendor", "devices[0] (d)"},
		{"{\"home\":\"h\",\"devices\":[" DEV("d", "SECOM", "SL-100", "3.2", "lock", "\"yes\"", "true") "]}",
		 "devices[0].planned", "planned must be true or false"},
		{"{\"home\":\"h\",\"devices\":[{\"id\":\"d\",\"colour\":1}]}", "devices[0].colour", "unknown key 'colour'"},
		{"{\"home\":\"h\",\"policy\":{\"default_level\":12},\"devices\":[]}", "policy.default_level", "default_level"},
		{"{\"home\":\"h\",\"devices\":[[[[[[[[1]]]]]]]]}", "home", "nested deeper"},
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		sm_home *h = NULL;
		sm_err err = {0};
		int rc = sm_home_parse(bad[i].text, strlen(bad[i].text), &h, &err);
		if (rc != SM_EINVAL || h)
			fail_msg("case %zu: expected SM_EINVAL, got %d (%s)", i, rc, err.msg);
		if (!strstr(err.msg, bad[i].msg) || strcmp(err.field, bad[i].field) != 0)
			fail_msg("case %zu: expected field %s and \"%s\", got field %s and \"%s\"", i, bad[i].field, bad[i].msg,
				 err.field, err.msg);
	}
	/* the caps: bytes and devices */
	sm_buf b = SM_BUF_INIT;
	sm_buf_puts(&b, "{\"home\":\"h\",\"devices\":[");
	for (int i = 0; i <= SM_HOME_MAX_DEVICES; i++)
		sm_buf_printf(&b, "%s{\"id\":\"d%d\",\"vendor\":\"A\",\"model\":\"M\",\"firmware\":\"1\",\"planned\":true,"
				  "\"installed\":true}", i ? "," : "", i);
	sm_buf_puts(&b, "]}");
	sm_home *h = NULL;
	sm_err err = {0};
	assert_int_equal(sm_home_parse((const char *)b.data, b.len, &h, &err), SM_ETOOBIG);
	assert_non_null(strstr(err.msg, "at most 1000 devices"));
	char *big = malloc(SM_HOME_MAX_SIZE + 2);
	memset(big, ' ', SM_HOME_MAX_SIZE + 1);
	big[SM_HOME_MAX_SIZE + 1] = '\0';
	assert_int_equal(sm_home_parse(big, SM_HOME_MAX_SIZE + 1, &h, &err), SM_ETOOBIG);
	free(big);
	sm_buf_cleanup(&b);
}

static void test_home_weakest_device_and_reconciliation(void **state)
{
	struct fx *f = *state;
	sm_home *h = parse(HOME);
	sm_home_result r;
	sm_err err = {0};
	assert_int_equal(sm_home_check(h, NULL, from_registry, f->r, NULL, NOW, &r, &err), 0);
	/* the lock's support ends in 30 days (warn); the air conditioner is allowed; the sensor is missing */
	assert_int_equal(r.verdict, SM_WARN);
	assert_int_equal(r.level, 2); /* the weakest installed device: ★★ */
	assert_false(r.counted_planned);
	assert_int_equal(r.nmissing, 1);
	assert_int_equal(r.nunplanned, 0);
	assert_int_equal(r.support_end, sm_date_from_time(NOW) + 30);
	assert_true(r.devices[0].support_soon);
	sm_home_result_cleanup(&r);
	/* a retrofit camera of level 1: the policy wants 2 for cameras; it may not join, the home is denied */
	assert_int_equal(sm_home_add(h, "CHEAP:C1@1.0/camera#cam=hall", &err), 0);
	assert_int_equal(sm_home_check(h, NULL, from_registry, f->r, NULL, NOW, &r, &err), 0);
	assert_int_equal(r.verdict, SM_DENY);
	assert_int_equal(r.level, 1); /* the camera's certificate holds for it: ★, below what the policy wants */
	assert_int_equal(r.nunplanned, 1);
	assert_false(sm_home_may_join(&r, 3));
	assert_string_equal(r.devices[3].dev->room, "hall");
	sm_home_result_cleanup(&r);
	/* the same camera under the caller's category "sensor" (policy level 1) still needs 2: its own category counts */
	h->ndevices--;
	assert_int_equal(sm_home_add(h, "CHEAP:C1@1.0/sensor#cam", &err), 0);
	assert_int_equal(sm_home_check(h, NULL, from_registry, f->r, NULL, NOW, &r, &err), 0);
	assert_int_equal(r.devices[3].res.verdict, SM_DENY);
	sm_home_result_cleanup(&r);
	/* a good retrofit may join, and the home's level stays at the weakest */
	h->ndevices--;
	assert_int_equal(sm_home_add(h, "SECOM:SL-100@3.5", &err), 0);
	assert_int_equal(sm_home_check(h, NULL, from_registry, f->r, NULL, NOW, &r, &err), 0);
	assert_true(sm_home_may_join(&r, 3));
	assert_int_equal(r.level, 2);
	sm_home_result_cleanup(&r);
	sm_home_free(h);
}

static void test_home_design_firmware_and_policy_floor(void **state)
{
	struct fx *f = *state;
	sm_err err = {0};
	sm_home_result r;
	/* nothing installed yet: the design's planned devices are what is judged */
	sm_home *h = parse("{\"home\":\"d\",\"devices\":[" DEV("lock", "SECOM", "SL-100", "3.2", "lock", "true", "false") "]}");
	assert_int_equal(sm_home_check(h, NULL, from_registry, f->r, NULL, NOW, &r, &err), 0);
	assert_true(r.counted_planned);
	assert_int_equal(r.level, 3);
	sm_home_result_cleanup(&r);
	sm_home_free(h);
	/* firmware below the covered range: update before hand-over */
	h = parse("{\"home\":\"f\",\"devices\":[" DEV("ac", "PANA", "CZ-T100", "2.0", "air-conditioner", "true", "true") "]}");
	assert_int_equal(sm_home_check(h, NULL, from_registry, f->r, NULL, NOW, &r, &err), 0);
	assert_int_equal(r.verdict, SM_DENY);
	assert_true(r.devices[0].update_firmware);
	json_t *j = sm_home_result_to_json(h, &r, sm_date_from_time(NOW));
	assert_string_equal(json_string_value(json_object_get(json_array_get(json_object_get(j, "actions"), 0), "action")),
			    "update_firmware");
	json_decref(j);
	sm_home_result_cleanup(&r);
	/* a policy given by the caller replaces the home's own: ★★★ for everything */
	sm_policy strict;
	sm_policy_default(&strict);
	strict.default_level = 3;
	h->devices[0].firmware[2] = '5'; /* 2.5: covered */
	assert_int_equal(sm_home_check(h, &strict, from_registry, f->r, NULL, NOW, &r, &err), 0);
	assert_int_equal(r.devices[0].res.verdict, SM_DENY);
	assert_int_equal(r.level, 2); /* ★★, held; the policy's ★★★ is what the verdict says */
	sm_home_result_cleanup(&r);
	sm_home_free(h);
	/* a laxer policy given for a home with its own cannot lower the home's floor (lock: ★★★) */
	sm_home *own = parse("{\"home\":\"o\",\"policy\":{\"name\":\"own\",\"levels\":{\"air-conditioner\":3}},"
			     "\"devices\":[" DEV("ac", "PANA", "CZ-T100", "2.5", "air-conditioner", "true", "true") "]}");
	sm_policy lax;
	sm_policy_default(&lax);
	lax.unknown_fails_closed = false;
	assert_int_equal(sm_home_check(own, &lax, from_registry, f->r, NULL, NOW, &r, &err), 0);
	assert_int_equal(r.devices[0].res.verdict, SM_DENY);
	assert_int_equal(r.devices[0].res.required_level, 3);
	sm_home_result_cleanup(&r);
	sm_policy both;
	sm_policy_strictest(&own->policy, &lax, &both);
	assert_int_equal(sm_policy_level(&both, "air-conditioner"), 3);
	assert_true(both.unknown_fails_closed);
	sm_home_free(own);
	/* a revocation changes the home's verdict */
	h = parse("{\"home\":\"v\",\"devices\":[" DEV("lock", "SECOM", "SL-100", "3.2", "lock", "true", "true") "]}");
	sm_event *e = sm_event_new(SM_EV_REVOKE);
	snprintf(e->id, sizeof(e->id), "%s", f->lock);
	e->reason = strdup("fraud");
	assert_int_equal(sm_registry_event(f->r, e, NOW + 1, NULL, &err), 0);
	sm_event_free(e);
	assert_int_equal(sm_home_check(h, NULL, from_registry, f->r, NULL, NOW + 2, &r, &err), 0);
	assert_int_equal(r.verdict, SM_DENY);
	sm_home_result_cleanup(&r);
	sm_home_free(h);
}

static void test_home_labels(void **state)
{
	struct fx *f = *state;
	sm_err err = {0};
	sm_home_result r;
	char *url = NULL;
	sm_cert *lc = NULL;
	assert_int_equal(sm_registry_label(f->r, f->lock, NULL, NOW, &url, &lc, &err), 0);
	sm_cert_free(lc);
	char doc[2048], *bad = strdup(url);
	size_t mid = strlen(bad) - 20; /* inside the signature: a character in the middle, never only padding bits */
	bad[mid] = bad[mid] == 'A' ? 'B' : 'A';
	/* the lock's own label: genuine; the same label on the camera: a mismatch; an altered one: not genuine */
	snprintf(doc, sizeof(doc),
		 "{\"home\":\"l\",\"devices\":[{\"id\":\"lock\",\"vendor\":\"SECOM\",\"model\":\"SL-100\",\"firmware\":\"3.2\","
		 "\"label\":\"%s\",\"planned\":true,\"installed\":true},{\"id\":\"cam\",\"vendor\":\"CHEAP\",\"model\":\"C1\","
		 "\"firmware\":\"1.0\",\"label\":\"%s\",\"planned\":true,\"installed\":true},{\"id\":\"x\",\"vendor\":\"SECOM\","
		 "\"model\":\"SL-100\",\"firmware\":\"3.2\",\"label\":\"%s\",\"planned\":true,\"installed\":true}]}",
		 url, url, bad);
	free(bad);
	sm_home *h = parse(doc);
	assert_int_equal(sm_home_check(h, NULL, from_registry, f->r, sm_registry_trust(f->r), NOW, &r, &err), 0);
	assert_int_equal(r.devices[0].label, SM_HOME_LABEL_OK);
	assert_int_equal(r.devices[1].label, SM_HOME_LABEL_MISMATCH);
	assert_int_equal(r.devices[1].res.verdict, SM_DENY);
	assert_int_equal(r.devices[2].label, SM_HOME_LABEL_NOT_GENUINE);
	assert_int_equal(r.devices[2].res.verdict, SM_DENY);
	sm_home_result_cleanup(&r);
	/* no trust to check with: said so, not taken as genuine */
	assert_int_equal(sm_home_check(h, NULL, from_registry, f->r, NULL, NOW, &r, &err), 0);
	assert_int_equal(r.devices[0].label, SM_HOME_LABEL_UNCHECKED);
	sm_home_result_cleanup(&r);
	sm_home_free(h);
	free(url);
}

static void test_home_add_specs(void **state)
{
	(void)state;
	sm_home *h = parse("{\"home\":\"a\",\"devices\":[]}");
	sm_err err = {0};
	static const char *const bad[] = {"nothing", "SECOM:SL-100", "SECOM@3.2", "SECOM:SL-100@3.2#bad id",
					  "secom co:SL-100@3.2", "SECOM:SL-100@"};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		if (sm_home_add(h, bad[i], &err) != SM_EINVAL)
			fail_msg("--add %s was accepted", bad[i]);
	assert_int_equal(sm_home_add(h, "SECOM:SL-100@3.2", &err), 0);
	assert_string_equal(h->devices[0].id, "retrofit-1");
	assert_true(h->devices[0].installed);
	assert_false(h->devices[0].planned);
	assert_int_equal(sm_home_add(h, "SECOM:SL-100@3.2#retrofit-1", &err), SM_EEXIST);
	/* a model number with '@' in it: the firmware is after the last '@' */
	assert_int_equal(sm_home_add(h, "ACME:X@Y@2.0/sensor#s=2F 寝室", &err), 0);
	assert_string_equal(h->devices[1].model, "X@Y");
	assert_string_equal(h->devices[1].firmware, "2.0");
	assert_string_equal(h->devices[1].category, "sensor");
	assert_string_equal(h->devices[1].room, "2F 寝室");
	sm_home_free(h);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_home_parse_refuses_bad_documents),
	    cmocka_unit_test_setup_teardown(test_home_weakest_device_and_reconciliation, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_home_design_firmware_and_policy_floor, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_home_labels, setup, teardown),
	    cmocka_unit_test(test_home_add_specs),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
