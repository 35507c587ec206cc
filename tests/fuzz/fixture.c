/* SPDX-License-Identifier: Apache-2.0 */
/* The fuzz targets' fixed registry (fixture.h). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fixture.h"
#include "starmark/cose.h"

sm_trust fx_trust[3];
uint8_t *fx_trust_signed[3];
size_t fx_trust_signed_len[3];
sm_key *fx_root1, *fx_root2, *fx_status1, *fx_status2;
static sm_key *issuer, *log_key;

static sm_key *seed_key(uint8_t fill)
{
	uint8_t seed[32];
	sm_key *k = NULL;
	memset(seed, fill, sizeof(seed));
	if (sm_key_from_seed(seed, &k) != 0)
		abort();
	return k;
}

static void add_key(sm_trust *t, int role, const sm_key *k, int64_t not_before)
{
	sm_trust_key *tk = &t->keys[t->nkeys++];
	tk->role = role;
	sm_key_public(k, tk->pub);
	sm_key_kid(k, tk->kid);
	tk->not_before = not_before;
	tk->not_after = 0;
}

static void sign_bundle(int i, const sm_key *root)
{
	sm_buf b = SM_BUF_INIT;
	if (sm_trust_encode(&fx_trust[i], &b) != 0 ||
	    sm_cose_sign1(root, SM_COSE_TRUST, b.data, b.len, true, &fx_trust_signed[i], &fx_trust_signed_len[i]) != 0)
		abort();
	sm_buf_cleanup(&b);
}

void fx_init(void)
{
	if (fx_root1)
		return;
	fx_root1 = seed_key(0x52);
	fx_root2 = seed_key(0x72);
	fx_status1 = seed_key(0x53);
	fx_status2 = seed_key(0x73);
	issuer = seed_key(0x49);
	log_key = seed_key(0x4c);

	sm_trust *v1 = &fx_trust[0], *v2 = &fx_trust[1], *v3 = &fx_trust[2];
	memset(v1, 0, sizeof(*v1));
	v1->version = 1;
	v1->at = FX_T1;
	sm_key_public(fx_root1, v1->root);
	snprintf(v1->scheme, sizeof(v1->scheme), "CCDS");
	v1->levels = 3;
	snprintf(v1->origin, sizeof(v1->origin), "registry.example.jp");
	add_key(v1, SM_ROLE_ISSUER, issuer, FX_T1);
	add_key(v1, SM_ROLE_STATUS, fx_status1, FX_T1);
	add_key(v1, SM_ROLE_LOG, log_key, FX_T1);
	sign_bundle(0, fx_root1);

	*v2 = *v1; /* as sm_registry_rotate: the old key ends, the new one begins */
	v2->version = 2;
	v2->at = FX_T2;
	v2->keys[1].not_after = FX_T2;
	add_key(v2, SM_ROLE_STATUS, fx_status2, FX_T2);
	sign_bundle(1, fx_root1);

	*v3 = *v2; /* a new root: its proof over the bundle without field 8, then the old root's signature */
	v3->version = 3;
	v3->at = FX_T3;
	sm_key_public(fx_root2, v3->root);
	sm_buf body = SM_BUF_INIT;
	if (sm_trust_encode_ex(v3, false, &body) != 0 || sm_key_sign(fx_root2, body.data, body.len, v3->root_proof) != 0)
		abort();
	sm_buf_cleanup(&body);
	v3->has_root_proof = true;
	sign_bundle(2, fx_root1);

	/* the chain must verify as a gateway walks it, or the targets would test nothing */
	sm_trust check[3];
	if (sm_trust_verify(fx_trust_signed[0], fx_trust_signed_len[0], NULL, &check[0], NULL) != 0 ||
	    sm_trust_verify(fx_trust_signed[1], fx_trust_signed_len[1], &check[0], &check[1], NULL) != 0 ||
	    sm_trust_verify(fx_trust_signed[2], fx_trust_signed_len[2], &check[1], &check[2], NULL) != 0)
		abort();
}

static char *xstrdup(const char *s)
{
	char *d = strdup(s);
	if (!d)
		abort();
	return d;
}

static char **strv(const char *a, const char *b, size_t *n)
{
	char **v = calloc(2, sizeof(char *));
	if (!v)
		abort();
	v[0] = xstrdup(a);
	*n = 1;
	if (b) {
		v[1] = xstrdup(b);
		*n = 2;
	}
	return v;
}

sm_cert *fx_cert(const char *id, const char *model, bool with_category)
{
	sm_cert *c = sm_cert_new();
	if (!c)
		abort();
	snprintf(c->id, sizeof(c->id), "%s", id);
	snprintf(c->scheme, sizeof(c->scheme), "CCDS");
	snprintf(c->vendor, sizeof(c->vendor), "RINNAI");
	c->vendor_name = xstrdup("リンナイ株式会社");
	c->product = xstrdup("無線LAN対応リモコン");
	c->models = strv(model, with_category ? "MC-302V" : NULL, &c->nmodels);
	c->level = 2;
	c->status = with_category ? SM_STATUS_ACTIVE : SM_STATUS_SUSPENDED;
	c->firmware = xstrdup(">=1.0.0 <2.0,2.0.1");
	c->revoked = strv("1.4.2", NULL, &c->nrevoked);
	c->registered = 18649;
	c->expires = with_category ? 20839 : SM_DATE_NONE;
	c->support_end = with_category ? 22279 : SM_DATE_NONE;
	c->category = with_category ? xstrdup("water-heater") : NULL;
	return c;
}

void fx_put(const char *dir, const char *name, const void *p, size_t n)
{
	char path[1024];
	snprintf(path, sizeof(path), "%s/%s", dir, name);
	FILE *f = fopen(path, "wb");
	if (!f || fwrite(p, 1, n, f) != n || fclose(f) != 0)
		abort();
}

void fx_init_seeds(void (*write_seeds)(const char *dir))
{
	fx_init();
	const char *dir = getenv("SM_FUZZ_SEEDS");
	if (dir && *dir)
		write_seeds(dir);
}
