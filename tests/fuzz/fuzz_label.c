/* SPDX-License-Identifier: Apache-2.0 */
/* libFuzzer target: label texts and tokens through sm_label_parse, sm_label_verify, the claims decoder and
 * the whole verdict (sm_label_judge, with a record to compare the claims with). */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "starmark/codec.h"
#include "starmark/cose.h"
#include "starmark/label.h"

/*
 * A fixed trust bundle from fixed key seeds (not sm_registry_init, whose keys are random), so that
 * the seeds in tests/fuzz/corpus/label/ hold genuine tokens and the fuzzer reaches the code after a
 * good signature. It has a current issuer key and one retired in 2020. Run the target with
 * SM_FUZZ_LABEL_SEEDS=DIR to write the seed corpus again.
 */
static sm_trust trust;
static sm_key *issuer, *retired;
static sm_cert *record; /* SM-2021-000042 as the seeds' claims say, active */

static sm_key *seed_key(uint8_t fill)
{
	uint8_t seed[32];
	sm_key *k = NULL;
	memset(seed, fill, sizeof(seed));
	if (sm_key_from_seed(seed, &k) != 0)
		abort();
	return k;
}

static void add_key(const sm_key *k, int64_t not_before, int64_t not_after)
{
	sm_trust_key *tk = &trust.keys[trust.nkeys++];
	tk->role = SM_ROLE_ISSUER;
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

static void write_seeds(const char *dir)
{
	sm_label_claims cl = {0};
	uint8_t *tok = NULL, *ev = NULL;
	size_t n = 0, en = 0;
	sm_buf b = SM_BUF_INIT;
	cl.serial = 42;
	cl.level = 2;
	snprintf(cl.model, sizeof(cl.model), "MC-301V");
	snprintf(cl.vendor, sizeof(cl.vendor), "RINNAI");
	cl.registered = 18649;
	cl.issued_at = 1790000000;
	if (sm_label_token_sign(&cl, issuer, &tok, &n) != 0 || sm_label_claims_encode(&cl, &b) != 0)
		abort();
	char *url = sm_label_url("registry.example.jp", tok, n), *bare = sm_base32_encode(tok, n);
	for (char *p = bare; *p; p++)
		if (*p >= 'A' && *p <= 'Z')
			*p = (char)(*p - 'A' + 'a');
	sm_label_claims back;
	if (sm_label_verify(tok, n, &trust, &back, NULL) != 0) /* the seed must really be genuine */
		abort();
	put(dir, "genuine-url", url, strlen(url));
	put(dir, "genuine-token", tok, n);
	put(dir, "bare-lower", bare, strlen(bare));
	put(dir, "claims", b.data, b.len);
	free(tok);
	if (sm_label_token_sign(&cl, retired, &tok, &n) != 0)
		abort();
	put(dir, "retired-key-token", tok, n);
	if (sm_cose_sign1(issuer, SM_COSE_EVENT, b.data, b.len, false, &ev, &en) != 0)
		abort();
	put(dir, "event-token", ev, en);
	put(dir, "bad-base32", "HTTPS://X/L/0189", 16);
	free(tok);
	free(ev);
	free(url);
	free(bare);
	sm_buf_cleanup(&b);
}

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	sm_key *root = seed_key(0x52);
	issuer = seed_key(0x4c);
	retired = seed_key(0x4f);
	trust.version = 1;
	trust.at = 1500000000;
	sm_key_public(root, trust.root);
	snprintf(trust.scheme, sizeof(trust.scheme), "CCDS");
	trust.levels = 3;
	snprintf(trust.origin, sizeof(trust.origin), "registry.example.jp");
	add_key(retired, 1500000000, 1600000000);
	add_key(issuer, 1600000000, 0);
	sm_key_free(root);
	record = sm_cert_new();
	if (!record)
		abort();
	snprintf(record->id, sizeof(record->id), "SM-2021-000042");
	snprintf(record->scheme, sizeof(record->scheme), "CCDS");
	snprintf(record->vendor, sizeof(record->vendor), "RINNAI");
	record->models = calloc(1, sizeof(char *));
	if (!record->models || !(record->models[0] = strdup("MC-301V")))
		abort();
	record->nmodels = 1;
	record->level = 2;
	record->registered = 18649;
	record->expires = SM_DATE_NONE;
	const char *dir = getenv("SM_FUZZ_LABEL_SEEDS");
	if (dir && *dir)
		write_seeds(dir);
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* A genuine token's claims must be exactly its payload bytes again. */
static void check_token(const uint8_t *tok, size_t n)
{
	sm_label_claims cl;
	sm_err err = {0};
	int rc = sm_label_verify(tok, n, &trust, &cl, &err);
	/* the class is the code; every refusal says why */
	if (rc == SM_EVERIFY || rc == SM_EINVAL || rc == SM_ENOTFOUND) {
		if (!err.msg[0])
			abort();
		return;
	}
	if (rc == SM_ENOMEM)
		return;
	if (rc != 0)
		abort();
	sm_cose *c = NULL;
	sm_buf b = SM_BUF_INIT;
	size_t pn = 0;
	if (sm_cose_decode(tok, n, &c, NULL) != 0 || sm_label_claims_encode(&cl, &b) != 0)
		abort();
	const uint8_t *p = sm_cose_payload(c, &pn);
	if (b.len != pn || memcmp(b.data, p, pn) != 0 || strcmp(cl.scheme, "CCDS") != 0 ||
	    strncmp(cl.id, "SM-", 3) != 0)
		abort();
	sm_buf_cleanup(&b);
	sm_cose_free(c);
}

/* The record, as a status source would give it; good until next_update (the fuzz input's last byte says). */
static int64_t next_update;

static int lookup(void *ctx, const char *id, sm_label_record *out, sm_err *err)
{
	(void)ctx;
	(void)err;
	memset(out, 0, sizeof(*out));
	snprintf(out->source, sizeof(out->source), "the fuzzer's record");
	out->next_update = next_update;
	if (strcmp(id, record->id) != 0)
		return 0;
	out->cert = sm_cert_dup(record);
	return out->cert ? 0 : SM_ENOMEM;
}

/* The verdict's invariants, whatever the text: only a token that verifies and whose claims are the
 * record's is in force; nothing not genuine holds a record; an unknown signer only with an old bundle. */
static void check_judge(const uint8_t *data, size_t size, bool newest)
{
	sm_label_source src = {&trust, newest, lookup, NULL};
	sm_label_result res;
	sm_err err = {0};
	int rc = sm_label_judge((const char *)data, size, &src, 1790000000, &res, &err);
	if (rc == SM_ENOMEM)
		return;
	if (rc != 0 || !sm_label_verdict_name(res.verdict))
		abort();
	if (!res.genuine && (res.cert || res.in_force || res.status))
		abort();
	if (res.verdict == SM_LABEL_UNKNOWN_SIGNER && newest)
		abort();
	if ((res.verdict == SM_LABEL_GENUINE_IN_FORCE) != res.in_force)
		abort();
	if (res.verdict != SM_LABEL_GENUINE_IN_FORCE && !res.reason[0])
		abort();
	if (res.in_force) {
		uint8_t *tok = NULL;
		size_t n = 0;
		sm_label_claims cl;
		if (sm_label_parse((const char *)data, size, &tok, &n, NULL) != 0 ||
		    sm_label_verify(tok, n, &trust, &cl, NULL) != 0 || sm_label_match(&cl, record, NULL) != 0 ||
		    !res.cert || strcmp(res.status, "active") != 0)
			abort();
		free(tok);
	}
	sm_label_result_cleanup(&res);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	uint8_t *tok = NULL;
	size_t n = 0;
	sm_err err = {0};
	int rc = sm_label_parse((const char *)data, size, &tok, &n, &err);
	if (rc == 0) {
		check_token(tok, n);
		free(tok);
	} else if (rc != SM_EINVAL && rc != SM_ENOMEM) {
		abort();
	}
	check_token(data, size);
	next_update = size ? 1790000000 - (int64_t)data[size - 1] * 3600 : 0;
	check_judge(data, size, false);
	check_judge(data, size, true);
	/* the claims decoder alone: whatever it accepts re-encodes to the same bytes */
	sm_label_claims cl;
	if (sm_label_claims_decode(data, size, &cl, NULL) == 0) {
		sm_buf b = SM_BUF_INIT;
		if (sm_label_claims_encode(&cl, &b) != 0 || b.len != size || memcmp(b.data, data, size) != 0)
			abort();
		sm_buf_cleanup(&b);
	}
	return 0;
}
