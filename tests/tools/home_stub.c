/* SPDX-License-Identifier: Apache-2.0 */
/* Tests' source of a home check's answers: fixed certificates chosen by the model number. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "home_stub.h"

#define DAY 86400

static int cert_for(const sm_check_req *q, int64_t now, sm_cert **out)
{
	sm_cert *c = sm_cert_new();
	unsigned h = 0;
	char product[SM_NAME_MAX + 1];
	if (!c)
		return SM_ENOMEM;
	for (const char *s = q->model; *s; s++)
		h = h * 31u + (unsigned char)*s;
	snprintf(c->id, sizeof(c->id), "SM-2024-%06u", h % 1000000u);
	snprintf(c->scheme, sizeof(c->scheme), "CCDS");
	snprintf(c->vendor, sizeof(c->vendor), "%s", q->vendor);
	c->level = strstr(q->model, "-L1") ? 1 : strstr(q->model, "-L3") ? 3 : 2;
	snprintf(product, sizeof(product), "ホームセキュリティ対応スマート機器 %s", q->model);
	c->product = strdup(product);
	c->vendor_name = strdup(q->vendor);
	c->firmware = strdup(">=2.0");
	c->category = q->category ? strdup(q->category) : NULL;
	c->status = strstr(q->model, "REVOKED") ? SM_STATUS_REVOKED : SM_STATUS_ACTIVE;
	c->registered = sm_date_from_time(now - 400 * DAY);
	c->expires = SM_DATE_NONE;
	c->support_end = sm_date_from_time(now + (strstr(q->model, "EOL") ? 30 : 5 * 365) * (int64_t)DAY);
	if (!c->product || !c->vendor_name || !c->firmware || (q->category && !c->category)) {
		sm_cert_free(c);
		return SM_ENOMEM;
	}
	*out = c;
	return 0;
}

int sm_stub_check(void *ctx, const sm_check_req *q, const sm_policy *p, sm_check_result *res, char **statement,
                  sm_err *err)
{
	const int64_t now = *(const int64_t *)ctx;
	sm_cert *c = NULL;
	int rc = 0;
	*statement = NULL;
	if (strstr(q->model, "OFFLINE"))
		return sm_verdict_unknown(q, p, "no_data", "the offline cache is missing", res);
	if (!strstr(q->model, "NOCERT") && (rc = cert_for(q, now, &c)))
		return sm_err_set(err, rc, NULL, "out of memory");
	rc = sm_verdict_eval(q, p, c ? &c : NULL, c ? 1 : 0, 0, now, res);
	sm_cert_free(c);
	return rc ? sm_err_set(err, rc, NULL, "out of memory") : 0;
}

int sm_stub_checkpoint(sm_home_result *r)
{
	static const char note[] =
	    "registry.example.jp/log\n4242\nAAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=\n\n"
	    "\xe2\x80\x94 registry.example.jp/log Az3grlgtzPICa5OS8npVmf1Myq/5IZniMp+ZJurmRDeOoRDe4URYN7u5/"
	    "Zhcyv2q1gGzGku9nTo+zyWE+xeMcTOAYQ8=\n";
	r->have_checkpoint = true;
	r->checkpoint_size = 4242;
	for (int i = 0; i < SM_HASH_LEN; i++)
		r->checkpoint_root[i] = (uint8_t)i;
	free(r->checkpoint_text);
	r->checkpoint_text = strdup(note);
	return r->checkpoint_text ? 0 : SM_ENOMEM;
}
