/* SPDX-License-Identifier: Apache-2.0 */
/* libFuzzer target: status statements as a server sends them (GET /v1/certs/{id}/statement, /v1/check),
 * through sm_statement_verify and sm_statement_decode. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "starmark/cose.h"
#include "starmark/status.h"

/*
 * A fixed trust bundle from fixed key seeds, so that the seeds in tests/fuzz/corpus/statement/ hold
 * statements that really verify and the fuzzer reaches the code after a good signature: a current status
 * key and one retired in 2020. Run the target with SM_FUZZ_STATEMENT_SEEDS=DIR to write the seeds again.
 */
static sm_trust trust;
static sm_key *status_key, *retired, *issuer;

static sm_key *seed_key(uint8_t fill)
{
	uint8_t seed[32];
	sm_key *k = NULL;
	memset(seed, fill, sizeof(seed));
	if (sm_key_from_seed(seed, &k) != 0)
		abort();
	return k;
}

static void add_key(int role, const sm_key *k, int64_t not_before, int64_t not_after)
{
	sm_trust_key *tk = &trust.keys[trust.nkeys++];
	tk->role = role;
	sm_key_public(k, tk->pub);
	sm_key_kid(k, tk->kid);
	tk->not_before = not_before;
	tk->not_after = not_after;
}

static void put(const char *dir, const char *name, const void *p, size_t n)
{
	char path[512];
	snprintf(path, sizeof(path), "%s/%s", dir, name);
	FILE *f = fopen(path, "wb");
	if (!f || fwrite(p, 1, n, f) != n)
		abort();
	fclose(f);
}

static sm_cert *facts(void)
{
	sm_cert *c = sm_cert_new();
	if (!c)
		abort();
	snprintf(c->id, sizeof(c->id), "SM-2021-000042");
	snprintf(c->scheme, sizeof(c->scheme), "CCDS");
	snprintf(c->vendor, sizeof(c->vendor), "RINNAI");
	c->vendor_name = strdup("リンナイ株式会社");
	c->product = strdup("ガス給湯器");
	c->models = calloc(2, sizeof(char *));
	c->models[0] = strdup("MC-301V");
	c->models[1] = strdup("MC-301VC");
	c->nmodels = 2;
	c->firmware = strdup(">=1.0 <2.0");
	c->revoked = calloc(1, sizeof(char *));
	c->revoked[0] = strdup("1.4.2");
	c->nrevoked = 1;
	c->category = strdup("water-heater");
	c->level = 2;
	c->status = SM_STATUS_REVOKED;
	c->registered = 18649;
	c->expires = 20839;
	c->support_end = SM_DATE_NONE;
	return c;
}

static void seed(const char *dir, const char *name, const sm_key *key, int type, int64_t produced)
{
	sm_statement s = {0};
	sm_buf b = SM_BUF_INIT;
	uint8_t *cose = NULL;
	size_t n = 0;
	s.cert = facts();
	s.produced_at = produced;
	s.next_update = produced + 86400;
	s.log_size = 7;
	memset(s.log_root, 0xab, sizeof(s.log_root));
	if (sm_statement_encode(&s, &b) != 0 || sm_cose_sign1(key, type, b.data, b.len, true, &cose, &n) != 0)
		abort();
	put(dir, name, cose, n);
	free(cose);
	sm_buf_cleanup(&b);
	sm_statement_cleanup(&s);
}

static void write_seeds(const char *dir)
{
	seed(dir, "genuine", status_key, SM_COSE_STATUS, 1790000000);
	seed(dir, "retired-key-after-its-time", retired, SM_COSE_STATUS, 1790000000);
	seed(dir, "retired-key-in-its-time", retired, SM_COSE_STATUS, 1550000000);
	seed(dir, "issuer-key", issuer, SM_COSE_STATUS, 1790000000);
	seed(dir, "as-a-label", status_key, SM_COSE_LABEL, 1790000000);
	sm_statement out;
	char path[512];
	snprintf(path, sizeof(path), "%s/genuine", dir);
	FILE *f = fopen(path, "rb");
	uint8_t buf[4096];
	size_t n = f ? fread(buf, 1, sizeof(buf), f) : 0;
	if (f)
		fclose(f);
	if (sm_statement_verify(buf, n, &trust, &out, NULL) != 0) /* the seed must really verify */
		abort();
	sm_statement_cleanup(&out);
}

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	sm_key *root = seed_key(0x52);
	status_key = seed_key(0x53);
	retired = seed_key(0x54);
	issuer = seed_key(0x4c);
	trust.version = 1;
	trust.at = 1500000000;
	sm_key_public(root, trust.root);
	snprintf(trust.scheme, sizeof(trust.scheme), "CCDS");
	trust.levels = 3;
	snprintf(trust.origin, sizeof(trust.origin), "registry.example.jp");
	add_key(SM_ROLE_STATUS, retired, 1500000000, 1600000000);
	add_key(SM_ROLE_STATUS, status_key, 1600000000, 0);
	add_key(SM_ROLE_ISSUER, issuer, 1500000000, 0);
	sm_key_free(root);
	const char *dir = getenv("SM_FUZZ_STATEMENT_SEEDS");
	if (dir && *dir)
		write_seeds(dir);
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	sm_statement st;
	sm_err err = {0};
	int rc = sm_statement_verify(data, size, &trust, &st, &err);
	if (rc == 0) {
		/* what verifies is the bundle's scheme, with facts a verdict can use */
		if (!st.cert || strcmp(st.cert->scheme, "CCDS") != 0 || strncmp(st.cert->id, "SM-", 3) != 0 ||
		    st.cert->nmodels == 0)
			abort();
		sm_statement_cleanup(&st);
	} else if (rc != SM_EVERIFY && rc != SM_EINVAL && rc != SM_ETOOBIG && rc != SM_ENOMEM) {
		abort();
	} else if (rc != SM_ENOMEM && !err.msg[0]) {
		abort(); /* every refusal says why */
	}
	/* the payload decoder alone: what it accepts encodes to bytes it decodes to the same again */
	sm_statement a, b;
	if (sm_statement_decode(data, size, &a, NULL) == 0) {
		sm_buf e1 = SM_BUF_INIT, e2 = SM_BUF_INIT;
		if (sm_statement_encode(&a, &e1) != 0 || sm_statement_decode(e1.data, e1.len, &b, NULL) != 0 ||
		    sm_statement_encode(&b, &e2) != 0 || e1.len != e2.len || memcmp(e1.data, e2.data, e1.len) != 0)
			abort();
		sm_statement_cleanup(&b);
		sm_buf_cleanup(&e1);
		sm_buf_cleanup(&e2);
		sm_statement_cleanup(&a);
	}
	return 0;
}
