/* SPDX-License-Identifier: Apache-2.0 */
/* The unit tests' shared fixture (fixture.h). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "fixture.h"

sm_registry *fx_registry_new(char dir[64], const char *origin, int64_t now)
{
	char reg[96], fp[65];
	sm_registry *r = NULL;
	sm_err err = {0};
	snprintf(dir, 64, "/tmp/sm-test-XXXXXX");
	assert_non_null(mkdtemp(dir));
	snprintf(reg, sizeof(reg), "%s/reg", dir);
	sm_init_opts o = {"CCDS", 3, origin, NULL, now};
	if (sm_registry_init(reg, &o, fp, &err) != 0 || sm_registry_open(reg, true, NULL, &r, &err) != 0)
		fail_msg("a test registry in %s: %s", reg, err.msg);
	return r;
}

void fx_registry_free(sm_registry *r, const char *dir)
{
	char cmd[128];
	sm_registry_close(r);
	snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
	assert_int_equal(system(cmd), 0);
}

sm_cert *fx_draft(const char *vendor, const char *model, int level, const char *fw, const char *category)
{
	sm_cert *c = sm_cert_new();
	assert_non_null(c);
	snprintf(c->vendor, sizeof(c->vendor), "%s", vendor);
	c->vendor_name = strdup("Vendor");
	c->product = strdup("製品");
	c->models = calloc(1, sizeof(char *));
	c->models[0] = strdup(model);
	c->nmodels = 1;
	c->level = level;
	c->firmware = strdup(fw);
	c->category = category ? strdup(category) : NULL;
	c->registered = 20696;
	return c;
}

void fx_issue(sm_registry *r, const char *vendor, const char *model, int level, const char *fw, const char *category,
	      sm_date support_end, int64_t now, char id[32])
{
	sm_cert *c = fx_draft(vendor, model, level, fw, category), *out = NULL;
	sm_err err = {0};
	c->support_end = support_end;
	if (sm_registry_issue(r, c, now, &out, &err) != 0)
		fail_msg("issue %s %s: %s", vendor, model, err.msg);
	if (id)
		snprintf(id, 32, "%s", out->id);
	sm_cert_free(c);
	sm_cert_free(out);
}
