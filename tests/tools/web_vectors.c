/* SPDX-License-Identifier: Apache-2.0 */
/*
 * web_vectors OUT.json: the vectors that hold the browser's label verification and verdicts
 * (web/static/js/sm/) to lib's answers, case by case. Builds two registries with real keys, issues and
 * changes certificates, rotates every key (the root twice), makes labels, chains and snapshots, and
 * records for each case its inputs (base64 bytes, text, time, policy, firmware) and lib's answer
 * (web_judge.c). tests/unit/test_web_vectors.c re-judges every case from the file; tests/web/
 * vectors.test.mjs runs the browser's modules over it in Chromium.
 */
#define _GNU_SOURCE /* memmem */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "starmark/label.h"
#include "starmark/status.h"
#include "web_judge.h"

#define ORIGIN "registry.example.jp"
#define HOUR 3600

static json_t *blobs, *cases;
static char work[64];

static void die(const char *fmt, ...) __attribute__((format(printf, 1, 2), noreturn));
static void die(const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	fputs("web_vectors: ", stderr);
	vfprintf(stderr, fmt, ap);
	fputc('\n', stderr);
	va_end(ap);
	exit(1);
}

static void check(int rc, const sm_err *err, const char *what)
{
	if (rc)
		die("%s: %s (%s)", what, err->msg, sm_strerror(rc));
}

static int64_t day_time(const char *date)
{
	sm_date d;
	sm_err err = {0};
	check(sm_date_parse(date, false, "date", &d, &err), &err, date);
	return (int64_t)d * 86400;
}

static sm_registry *registry_new(const char *name, const char *origin, int64_t now, char dir[128])
{
	sm_registry *r = NULL;
	sm_err err = {0};
	char fp[65];
	sm_init_opts o = {"CCDS", 3, origin, NULL, now};
	snprintf(dir, 128, "%s/%s", work, name);
	check(sm_registry_init(dir, &o, fp, &err), &err, "init");
	check(sm_registry_open(dir, true, NULL, &r, &err), &err, "open");
	return r;
}

/* Issue a certificate; dates "YYYY-MM-DD" or NULL. Returns its id (static storage of the caller's). */
static void issue(sm_registry *r, const char *vendor, const char *model, int level, const char *fw, const char *category,
		  const char *registered, const char *expires, const char *support_end, int64_t now, char id[32])
{
	sm_cert *c = sm_cert_new(), *out = NULL;
	sm_err err = {0};
	snprintf(c->vendor, sizeof(c->vendor), "%s", vendor);
	c->vendor_name = strdup("Vendor K.K.");
	c->product = strdup("無線LAN対応リモコン");
	c->models = calloc(1, sizeof(char *));
	c->models[0] = strdup(model);
	c->nmodels = 1;
	c->level = level;
	c->firmware = strdup(fw);
	c->category = category ? strdup(category) : NULL;
	c->registered = (sm_date)(day_time(registered) / 86400);
	c->expires = expires ? (sm_date)(day_time(expires) / 86400) : SM_DATE_NONE;
	c->support_end = support_end ? (sm_date)(day_time(support_end) / 86400) : SM_DATE_NONE;
	check(sm_registry_issue(r, c, now, &out, &err), &err, "issue");
	snprintf(id, 32, "%s", out->id);
	sm_cert_free(c);
	sm_cert_free(out);
}

static void event(sm_registry *r, int type, const char *id, const char *version, int64_t now)
{
	sm_event *e = sm_event_new(type);
	sm_err err = {0};
	snprintf(e->id, sizeof(e->id), "%s", id);
	e->reason = strdup("vectors");
	if (version) {
		e->versions = calloc(1, sizeof(char *));
		e->versions[0] = strdup(version);
		e->nversions = 1;
	}
	check(sm_registry_event(r, e, now, NULL, &err), &err, "event");
	sm_event_free(e);
}

static void rotate(sm_registry *r, int role, int64_t now)
{
	sm_err err = {0};
	check(sm_registry_rotate(r, role, now, &err), &err, "rotate");
}

static char *label(sm_registry *r, const char *id, int64_t now)
{
	char *url = NULL;
	sm_err err = {0};
	check(sm_registry_label(r, id, NULL, now, &url, NULL, &err), &err, "label");
	return url;
}

/* A private key of a registry by role and kid (keys/<role>-<kid>.key; rotated keys stay on disk). */
static sm_key *key_of(const char *dir, int role, const uint8_t kid[SM_KID_LEN])
{
	char path[300];
	char *hex = sm_hex_encode(kid, SM_KID_LEN);
	sm_key *k = NULL;
	sm_err err = {0};
	snprintf(path, sizeof(path), "%s/keys/%s-%s.key", dir, sm_role_name(role), hex);
	free(hex);
	check(sm_key_load(path, NULL, &k, &err), &err, path);
	return k;
}

/* A label token signed by any key with claims of certificate `id` made at `at`; `edit` may change them. */
static char *token_by(sm_registry *r, const char *id, const sm_key *key, int64_t at, int level)
{
	sm_cert *c = NULL;
	sm_label_claims cl;
	sm_err err = {0};
	uint8_t *tok = NULL;
	size_t n = 0;
	check(sm_registry_get(r, id, &c, &err), &err, "get");
	check(sm_label_claims_of(c, NULL, at, &cl, &err), &err, "claims");
	if (level)
		cl.level = level;
	if (sm_label_token_sign(&cl, key, &tok, &n))
		die("cannot sign a token");
	char *url = sm_label_url(ORIGIN, tok, n);
	free(tok);
	sm_cert_free(c);
	return url;
}

/* The label URL with one bit of its token flipped: in the signature (last byte) or in the model's first letter. */
static char *flip(const char *url, bool in_signature, const char *model)
{
	const char *b32 = strstr(url, "/L/") + 3;
	uint8_t *tok = NULL;
	size_t n = 0;
	sm_err err = {0};
	check(sm_base32_decode(b32, strlen(b32), &tok, &n, &err), &err, "base32");
	if (in_signature) {
		tok[n - 1] ^= 0x01;
	} else {
		uint8_t *m = memmem(tok, n, model, strlen(model));
		if (!m)
			die("no model in the token");
		m[0] ^= 0x02;
	}
	char *out = sm_label_url(ORIGIN, tok, n);
	free(tok);
	return out;
}

static void blob(const char *name, const uint8_t *p, size_t n)
{
	char *b64 = sm_base64_encode(p, n);
	json_object_set_new(blobs, name, json_string(b64));
	free(b64);
}

static void chain_blob(const char *name, const sm_trust_chain *full, size_t from, size_t to)
{
	sm_trust_chain part = {full->v + from - 1, to - from + 1};
	sm_buf b = SM_BUF_INIT;
	if (sm_trust_chain_encode(&part, &b))
		die("chain");
	blob(name, b.data, b.len);
	sm_buf_cleanup(&b);
}

static uint64_t snapshot(sm_registry *r, const char *name, int64_t now)
{
	char path[128];
	uint64_t version = 0;
	sm_err err = {0};
	uint8_t *p = NULL;
	size_t n = 0;
	snprintf(path, sizeof(path), "%s/%s.cose", work, name);
	check(sm_registry_snapshot(r, path, now, &version, &err), &err, "snapshot");
	check(sm_file_read(path, SM_SNAPSHOT_MAX, &p, &n, &err), &err, path);
	blob(name, p, n);
	free(p);
	return version;
}

static json_t *fp_anchor(const char *hex)
{
	return json_pack("{s:s}", "fingerprint", hex);
}

static json_t *bundle_anchor(const char *blobname)
{
	return json_pack("{s:s}", "bundle", blobname);
}

/* Judge a case with lib, record the answer as what every implementation must say, and keep it. */
static void add(json_t *c)
{
	json_t *expect = NULL;
	sm_err err = {0};
	check(wv_judge_case(c, blobs, &expect, &err), &err, json_string_value(json_object_get(c, "name")));
	json_object_set_new(c, "expect", expect);
	char *s = json_dumps(expect, JSON_COMPACT);
	fprintf(stderr, "%-48s %s\n", json_string_value(json_object_get(c, "name")), s);
	free(s);
	json_array_append_new(cases, c);
}

static json_t *with(const char *name, const char *kind, json_t *anchor, const char *chain, const char *snap,
		    uint64_t floor, int64_t now)
{
	return json_pack("{s:s, s:s, s:o, s:o, s:o, s:I, s:I}", "name", name, "kind", kind, "anchor", anchor, "chain",
			 chain ? json_string(chain) : json_null(), "snapshot", snap ? json_string(snap) : json_null(),
			 "floor", (json_int_t)floor, "now", (json_int_t)now);
}

static void label_case(const char *name, json_t *anchor, const char *chain, const char *snap, uint64_t floor,
		       int64_t now, const char *text, bool newest)
{
	json_t *c = with(name, "label", anchor, chain, snap, floor, now);
	json_object_set_new(c, "text", json_string(text));
	json_object_set_new(c, "newest", json_boolean(newest));
	add(c);
}

static void device_case(const char *name, json_t *anchor, const char *chain, const char *snap, uint64_t floor,
			int64_t now, const char *device, const char *policy)
{
	json_t *c = with(name, "device", anchor, chain, snap, floor, now);
	json_object_set_new(c, "device", json_loads(device, 0, NULL));
	json_object_set_new(c, "policy", policy ? json_loads(policy, 0, NULL) : json_null());
	if (!json_object_get(c, "device") || (policy && !json_object_get(c, "policy")))
		die("bad JSON in case %s", name);
	add(c);
}

static void version_case(const char *a, const char *b)
{
	char name[160];
	snprintf(name, sizeof(name), "version %s vs %s", a, b);
	add(json_pack("{s:s, s:s, s:s, s:s}", "name", name, "kind", "version", "a", a, "b", b));
}

static void fwspec_case(const char *spec, const char *v)
{
	char name[160];
	snprintf(name, sizeof(name), "fwspec '%s' covers %s", spec, v);
	add(json_pack("{s:s, s:s, s:s, s:s}", "name", name, "kind", "fwspec", "spec", spec, "version", v));
}

int main(int argc, char **argv)
{
	if (argc != 2) {
		fprintf(stderr, "usage: web_vectors OUT.json\n");
		return 2;
	}
	snprintf(work, sizeof(work), "/tmp/sm-web-vectors-XXXXXX");
	if (!mkdtemp(work))
		die("no temporary directory");
	blobs = json_object();
	cases = json_array();
	sm_err err = {0};
	char dir[128], odir[128];
	char ok[32], rev[32], susp[32], expd[32], fw[32], lock[32], soon[32], ended[32], toto_old[32], toto_new[32];

	/* ---- registry A: a life of rotations ---- */
	const int64_t T0 = day_time("2026-09-01");
	sm_registry *r = registry_new("a", ORIGIN, T0, dir);
	issue(r, "RINNAI", "MC-301V", 2, ">=1.0 <2.0, 2.0.1", "water-heater", "2025-04-01", "2028-03-31", "2030-12-31",
	      T0 + 60, ok);
	issue(r, "PANASONIC", "WV-S4556", 3, ">=3.0 <4.0", "camera", "2025-05-01", "2028-04-30", NULL, T0 + 60, rev);
	issue(r, "SHARP", "KI-1", 1, "1.0", "sensor", "2025-06-01", NULL, NULL, T0 + 60, susp);
	issue(r, "DAIKIN", "AN-22", 2, "1.0, 1.1", NULL, "2024-01-10", "2026-06-30", NULL, T0 + 60, expd);
	issue(r, "IODATA", "WN-1", 2, ">=1.0", NULL, "2025-07-01", NULL, NULL, T0 + 60, fw);
	issue(r, "MIWA", "LK-3", 2, "2.0", "lock", "2025-08-01", NULL, NULL, T0 + 60, lock);
	issue(r, "NEC", "SE-9", 1, "1.0", NULL, "2025-08-01", NULL, "2026-11-30", T0 + 60, soon);
	issue(r, "NEC", "SE-8", 1, "1.0", NULL, "2025-01-01", NULL, "2026-08-15", T0 + 60, ended);
	issue(r, "TOTO", "TX-1", 2, "1.0", NULL, "2025-01-01", NULL, NULL, T0 + 60, toto_old);
	issue(r, "TOTO", "TX-1", 2, "1.0", NULL, "2025-03-01", NULL, NULL, T0 + 60, toto_new);
	char *l_ok = label(r, ok, T0 + 120), *l_rev = label(r, rev, T0 + 120), *l_susp = label(r, susp, T0 + 120);
	event(r, SM_EV_SUSPEND, susp, NULL, T0 + 180);
	event(r, SM_EV_REVOKE, rev, NULL, T0 + 180);
	event(r, SM_EV_REVOKE, toto_new, NULL, T0 + 180);
	event(r, SM_EV_FW_REVOKE, fw, "1.4.2", T0 + 180);
	const int64_t S1_AT = T0 + 600;
	snapshot(r, "snapshot-1", S1_AT);
	rotate(r, SM_ROLE_ISSUER, T0 + 2 * HOUR);            /* bundle 2 */
	char *l_ok2 = label(r, ok, T0 + 2 * HOUR + 60);
	rotate(r, SM_ROLE_ROOT, T0 + 3 * HOUR);              /* bundle 3: root R2 */
	const int64_t S2_AT = T0 + 4 * HOUR;
	snapshot(r, "snapshot-2", S2_AT);
	rotate(r, SM_ROLE_STATUS, T0 + 4 * HOUR + 600);      /* bundle 4: the status key of snapshot 2 retired */
	rotate(r, SM_ROLE_ROOT, T0 + 5 * HOUR);              /* bundle 5: root R3 */
	rotate(r, SM_ROLE_ISSUER, T0 + 6 * HOUR);            /* bundle 6 */
	char *l_new = label(r, ok, T0 + 6 * HOUR + 60);
	const int64_t S3_AT = T0 + 7 * HOUR;
	snapshot(r, "snapshot-3", S3_AT);
	const int64_t NOW = S3_AT + 600;

	sm_trust_chain full = {0};
	check(sm_registry_trust_chain(r, 1, &full, &err), &err, "chain");
	if (full.n != 6)
		die("expected 6 bundles, have %zu", full.n);
	chain_blob("chain", &full, 1, 6);
	chain_blob("chain-1-5", &full, 1, 5);
	chain_blob("chain-3-6", &full, 3, 6);
	chain_blob("chain-1-4", &full, 1, 4);
	for (size_t i = 0; i < full.n; i++) {
		char name[32];
		snprintf(name, sizeof(name), "bundle-%zu", i + 1);
		blob(name, full.v[i].p, full.v[i].n);
	}
	sm_trust t1, t3, t5;
	char fp1[65], fp2[65], fp3[65];
	check(sm_trust_peek(full.v[0].p, full.v[0].n, &t1, &err), &err, "peek");
	check(sm_trust_peek(full.v[2].p, full.v[2].n, &t3, &err), &err, "peek");
	check(sm_trust_peek(full.v[4].p, full.v[4].n, &t5, &err), &err, "peek");
	sm_key_fingerprint(t1.root, fp1);
	sm_key_fingerprint(t3.root, fp2);
	sm_key_fingerprint(t5.root, fp3);
	const sm_trust *tn = sm_registry_trust(r);

	/* the keys that sign what no registry would: a retired issuer key after its time, the status key, a stranger */
	const sm_trust_key *i1 = NULL;
	for (size_t i = 0; i < tn->nkeys && !i1; i++)
		if (tn->keys[i].role == SM_ROLE_ISSUER)
			i1 = &tn->keys[i];
	sm_key *issuer1 = key_of(dir, SM_ROLE_ISSUER, i1->kid);
	sm_key *issuer3 = key_of(dir, SM_ROLE_ISSUER, sm_trust_current(tn, SM_ROLE_ISSUER)->kid);
	sm_key *status2 = key_of(dir, SM_ROLE_STATUS, sm_trust_current(tn, SM_ROLE_STATUS)->kid);
	sm_key *stranger = NULL;
	if (sm_key_generate(&stranger))
		die("key");

	/* ---- registry B: another registry of the same scheme ---- */
	sm_registry *other = registry_new("b", "other.example.jp", T0, odir);
	char other_id[32], other_fp[65];
	issue(other, "RINNAI", "MC-301V", 3, ">=1.0", NULL, "2025-04-01", NULL, NULL, T0 + 60, other_id);
	char *l_other = label(other, other_id, T0 + 120);
	sm_trust_chain ochain = {0};
	check(sm_registry_trust_chain(other, 1, &ochain, &err), &err, "chain");
	chain_blob("chain-other", &ochain, 1, 1);
	sm_key_fingerprint(sm_registry_trust(other)->root, other_fp);

	/* equivocation: a second bundle 2, signed by the first root (its key file stays after the rotation) */
	{
		uint8_t kid[32];
		sm_trust t2;
		sm_buf body = SM_BUF_INIT;
		uint8_t *cose = NULL;
		size_t n = 0;
		sm_sha256(t1.root, SM_PUBKEY_LEN, kid);
		sm_key *r1 = key_of(dir, SM_ROLE_ROOT, kid);
		check(sm_trust_peek(full.v[1].p, full.v[1].n, &t2, &err), &err, "peek");
		t2.at += 1;
		if (sm_trust_encode(&t2, &body) || sm_cose_sign1(r1, SM_COSE_TRUST, body.data, body.len, true, &cose, &n))
			die("forged bundle");
		sm_trust_chain forked = {0};
		if (sm_trust_chain_add(&forked, cose, n, &err))
			die("forked chain: %s", err.msg);
		for (size_t i = 2; i < full.n; i++)
			check(sm_trust_chain_add(&forked, full.v[i].p, full.v[i].n, &err), &err, "forked chain");
		chain_blob("chain-forked", &forked, 1, forked.n);
		sm_trust_chain_cleanup(&forked);
		sm_buf_cleanup(&body);
		free(cose);
		sm_key_free(r1);
	}
	const uint8_t junk[] = {0x82, 0x41, 0x00, 0x01};
	blob("junk", junk, sizeof(junk));
	const uint8_t empty[] = {0x80};
	blob("empty-array", empty, sizeof(empty));
	{
		/* snapshot 3 with one bit of its signature flipped */
		const char *b64 = json_string_value(json_object_get(blobs, "snapshot-3"));
		uint8_t *p = NULL;
		size_t n = 0;
		check(sm_base64_decode(b64, strlen(b64), &p, &n, &err), &err, "base64");
		p[n - 1] ^= 0x01;
		blob("snapshot-3-flipped", p, n);
		free(p);
		const char *tok32 = strstr(l_ok, "/L/") + 3;
		check(sm_base32_decode(tok32, strlen(tok32), &p, &n, &err), &err, "base32");
		blob("label-token", p, n);
		free(p);
	}

	/* ---- chains ---- */
	add(with("chain: pinned first root, whole chain", "chain", fp_anchor(fp1), "chain", NULL, 0, NOW));
	add(with("chain: pinned bundle 1, whole chain", "chain", bundle_anchor("bundle-1"), "chain", NULL, 0, NOW));
	add(with("chain: pinned second root (bundle 3 stands alone)", "chain", fp_anchor(fp2), "chain", NULL, 0, NOW));
	add(with("chain: pinned newest root", "chain", fp_anchor(fp3), "chain", NULL, 0, NOW));
	add(with("chain: pinned bundle 3, chain from 3", "chain", bundle_anchor("bundle-3"), "chain-3-6", NULL, 0, NOW));
	add(with("chain: gap (bundle 1, chain from 3)", "chain", bundle_anchor("bundle-1"), "chain-3-6", NULL, 0, NOW));
	add(with("chain: equivocation (a second bundle 2)", "chain", bundle_anchor("bundle-2"), "chain-forked", NULL, 0,
		 NOW));
	add(with("chain: another registry's (pinned root)", "chain", fp_anchor(fp1), "chain-other", NULL, 0, NOW));
	add(with("chain: another registry's (pinned bundle)", "chain", bundle_anchor("bundle-1"), "chain-other", NULL, 0,
		 NOW));
	add(with("chain: below the anchor (bundle 5, chain 1-4)", "chain", bundle_anchor("bundle-5"), "chain-1-4", NULL, 0,
		 NOW));
	add(with("chain: pinned root not in the chain", "chain", fp_anchor(other_fp), "chain", NULL, 0, NOW));
	add(with("chain: not CBOR of a chain", "chain", fp_anchor(fp1), "junk", NULL, 0, NOW));
	add(with("chain: empty array", "chain", bundle_anchor("bundle-1"), "empty-array", NULL, 0, NOW));
	add(with("chain: a single bundle as the chain", "chain", fp_anchor(fp1), "bundle-1", NULL, 0, NOW));
	add(with("chain: a label token as the chain", "chain", fp_anchor(fp1), "label-token", NULL, 0, NOW));

	/* ---- snapshots ---- */
	add(with("snapshot: fresh", "snapshot", fp_anchor(fp1), "chain", "snapshot-3", 0, NOW));
	add(with("snapshot: past next update, not expired", "snapshot", fp_anchor(fp1), "chain", "snapshot-3", 0,
		 S3_AT + 80 * HOUR));
	add(with("snapshot: expired", "snapshot", fp_anchor(fp1), "chain", "snapshot-3", 0, S3_AT + 7 * 24 * HOUR + 1));
	add(with("snapshot: rollback below the floor", "snapshot", fp_anchor(fp1), "chain", "snapshot-1", 3, NOW));
	add(with("snapshot: at the floor", "snapshot", fp_anchor(fp1), "chain", "snapshot-3", 3, NOW));
	add(with("snapshot: retired status key caps next update and expiry", "snapshot", fp_anchor(fp1), "chain",
		 "snapshot-2", 0, S2_AT + 300));
	add(with("snapshot: retired status key, past the cap", "snapshot", fp_anchor(fp1), "chain", "snapshot-2", 0,
		 S2_AT + 1200));
	add(with("snapshot: signed by the first status key, trust of bundle 1", "snapshot", bundle_anchor("bundle-1"),
		 NULL, "snapshot-1", 0, S1_AT + 60));
	add(with("snapshot: a status key the anchor does not know", "snapshot", bundle_anchor("bundle-1"), NULL,
		 "snapshot-3", 0, NOW));
	add(with("snapshot: signature bit flipped", "snapshot", fp_anchor(fp1), "chain", "snapshot-3-flipped", 0, NOW));
	add(with("snapshot: a label token", "snapshot", fp_anchor(fp1), "chain", "label-token", 0, NOW));
	add(with("snapshot: junk", "snapshot", fp_anchor(fp1), "chain", "junk", 0, NOW));

	/* ---- labels ---- */
	char *forged_sig = flip(l_ok, true, NULL), *forged_payload = flip(l_ok, false, "MC-301V");
	char *by_stranger_old = token_by(r, ok, stranger, T0 + 120, 0);
	char *by_stranger_new = token_by(r, ok, stranger, NOW, 0);
	char *by_status = token_by(r, ok, status2, T0 + 120, 0);
	char *by_retired = token_by(r, ok, issuer1, T0 + 6 * HOUR + 1800, 0);
	char *differ = token_by(r, ok, issuer3, T0 + 6 * HOUR + 120, 3);
	char *expired_label = token_by(r, expd, issuer1, T0 + 120, 0);
	char lower[1300], spaced[1300];
	snprintf(lower, sizeof(lower), "%s", l_ok);
	for (char *p = lower; *p; p++)
		if (*p >= 'A' && *p <= 'Z')
			*p = (char)(*p - 'A' + 'a');
	snprintf(spaced, sizeof(spaced), "  %s\r\n", strstr(l_ok, "/L/") + 3);
	json_t *a1 = fp_anchor(fp1);
#define L(name, text) label_case(name, json_incref(a1), "chain", "snapshot-3", 0, NOW, text, false)
	L("label: genuine, issued before two root rotations (pinned first root)", l_ok);
	L("label: genuine, second issuer key", l_ok2);
	L("label: genuine, issued after the root rotations", l_new);
	L("label: genuine, lower case URL", lower);
	L("label: genuine, bare token with white space", spaced);
	char *foreign = NULL, *foreign_forged = NULL;
	if (asprintf(&foreign, "https://registry.example.jp.evil.example%s", strstr(l_ok, "/L/")) < 0 ||
	    asprintf(&foreign_forged, "HTTPS://EVIL.EXAMPLE%s", strstr(forged_sig, "/L/")) < 0)
		die("out of memory");
	L("label: genuine token under another host", foreign);
	L("label: forged token under another host", foreign_forged);
	L("label: forged (signature bit flipped)", forged_sig);
	L("label: forged (payload bit flipped)", forged_payload);
	L("label: wrong key, dated before the bundle", by_stranger_old);
	L("label: unknown signer, dated after the bundle", by_stranger_new);
	L("label: signed by the status key", by_status);
	L("label: retired issuer key signing after its time", by_retired);
	L("label: claims differ from the record (level)", differ);
	L("label: revoked", l_rev);
	L("label: suspended", l_susp);
	L("label: expired", expired_label);
	L("label: another registry's label", l_other);
	L("label: unreadable (not base32)", "HTTPS://REGISTRY.EXAMPLE.JP/L/0189!");
	L("label: unreadable (not a label URL)", "https://registry.example.jp/c/SM-2025-000001");
	L("label: unreadable (neither URL nor token)", "hello: world");
	L("label: unreadable (empty)", "   ");
	L("label: unreadable (base32 of no COSE)", "HTTPS://REGISTRY.EXAMPLE.JP/L/MFRGGZDFMZTWQ2LK");
#undef L
	label_case("label: unknown signer with the registry's newest bundle", json_incref(a1), "chain", "snapshot-3", 0, NOW,
		   by_stranger_new, true);
	label_case("label: unknown signer, cache chain ends before the key", bundle_anchor("bundle-1"), "chain-1-5",
		   NULL, 0, NOW, l_new, false);
	label_case("label: pinned bundle 1, whole chain", bundle_anchor("bundle-1"), "chain", "snapshot-3", 0, NOW, l_ok,
		   false);
	label_case("label: pinned newest root, old label", fp_anchor(fp3), "chain", "snapshot-3", 0, NOW, l_ok, false);
	label_case("label: pinned second root, newest label", fp_anchor(fp2), "chain", "snapshot-3", 0, NOW, l_new, false);
	label_case("label: genuine, no status data", json_incref(a1), "chain", NULL, 0, NOW, l_ok, false);
	label_case("label: within the offline grace", json_incref(a1), "chain", "snapshot-3", 0, S3_AT + 11 * HOUR, l_ok,
		   false);
	label_case("label: stale past the grace", json_incref(a1), "chain", "snapshot-3", 0, S3_AT + 74 * HOUR, l_ok,
		   false);
	label_case("label: snapshot expired", json_incref(a1), "chain", "snapshot-3", 0, S3_AT + 8 * 24 * HOUR, l_ok,
		   false);
	label_case("label: rollback snapshot", json_incref(a1), "chain", "snapshot-1", 3, NOW, l_ok, false);
	label_case("label: snapshot signature flipped", json_incref(a1), "chain", "snapshot-3-flipped", 0, NOW, l_ok,
		   false);
	label_case("label: capped snapshot of a retired status key", json_incref(a1), "chain", "snapshot-2", 0,
		   S2_AT + 1200, l_ok, false);
	label_case("label: old snapshot before the capped key retired", json_incref(a1), "chain", "snapshot-2", 0,
		   S2_AT + 300, l_ok, false);

	/* ---- devices (the offline gateway: snapshot and chain from the cache, the anchor the user's) ---- */
	const char *home = "{\"name\":\"home\",\"default_level\":1,\"levels\":{\"lock\":3,\"water-heater\":2},"
			   "\"offline_grace_hours\":72,\"unknown\":\"deny\",\"support_warn_days\":180,"
			   "\"deny_after_support_end\":true}";
	const char *fail_open = "{\"name\":\"open\",\"default_level\":1,\"levels\":{},\"offline_grace_hours\":24,"
			   "\"unknown\":\"allow\",\"support_warn_days\":30,\"deny_after_support_end\":false}";
#define D(name, dev, pol) device_case(name, json_incref(a1), "chain", "snapshot-3", 0, NOW, dev, pol)
	D("device: allow", "{\"vendor\":\"RINNAI\",\"model\":\"MC-301V\",\"firmware\":\"1.5\"}", NULL);
	D("device: allow under the home policy", "{\"vendor\":\"RINNAI\",\"model\":\"MC-301V\",\"firmware\":\"1.02.003\"}",
	  home);
	D("device: exact firmware item", "{\"vendor\":\"RINNAI\",\"model\":\"MC-301V\",\"firmware\":\"2.0.1\"}", NULL);
	D("device: firmware not covered", "{\"vendor\":\"RINNAI\",\"model\":\"MC-301V\",\"firmware\":\"2.0\"}", NULL);
	D("device: firmware pre-release not covered", "{\"vendor\":\"RINNAI\",\"model\":\"MC-301V\",\"firmware\":\"1.0~rc1\"}",
	  NULL);
	D("device: revoked", "{\"vendor\":\"PANASONIC\",\"model\":\"WV-S4556\",\"firmware\":\"3.1\"}", NULL);
	D("device: suspended", "{\"vendor\":\"SHARP\",\"model\":\"KI-1\",\"firmware\":\"1.0\"}", NULL);
	D("device: expired", "{\"vendor\":\"DAIKIN\",\"model\":\"AN-22\",\"firmware\":\"1.1\"}", NULL);
	D("device: firmware revoked", "{\"vendor\":\"IODATA\",\"model\":\"WN-1\",\"firmware\":\"1.4.2\"}", NULL);
	D("device: firmware revoked, other spelling", "{\"vendor\":\"IODATA\",\"model\":\"WN-1\",\"firmware\":\"1.04.2\"}",
	  NULL);
	D("device: firmware next to a revoked one", "{\"vendor\":\"IODATA\",\"model\":\"WN-1\",\"firmware\":\"1.4.3\"}",
	  NULL);
	D("device: level below the policy (certificate's category)",
	  "{\"vendor\":\"MIWA\",\"model\":\"LK-3\",\"firmware\":\"2.0\"}", home);
	D("device: level below the policy (category asked)",
	  "{\"vendor\":\"RINNAI\",\"model\":\"MC-301V\",\"firmware\":\"1.5\",\"category\":\"lock\"}", home);
	D("device: level below the level asked",
	  "{\"vendor\":\"RINNAI\",\"model\":\"MC-301V\",\"firmware\":\"1.5\",\"level\":3}", NULL);
	D("device: support ending soon", "{\"vendor\":\"NEC\",\"model\":\"SE-9\",\"firmware\":\"1.0\"}", NULL);
	D("device: support ended (deny)", "{\"vendor\":\"NEC\",\"model\":\"SE-8\",\"firmware\":\"1.0\"}", NULL);
	D("device: support ended (warn)", "{\"vendor\":\"NEC\",\"model\":\"SE-8\",\"firmware\":\"1.0\"}", fail_open);
	D("device: best of two certificates", "{\"vendor\":\"TOTO\",\"model\":\"TX-1\",\"firmware\":\"1.0\"}", NULL);
	D("device: unknown model", "{\"vendor\":\"RINNAI\",\"model\":\"MC-999\",\"firmware\":\"1.0\"}", NULL);
	D("device: revoked under a fail-open policy", "{\"vendor\":\"PANASONIC\",\"model\":\"WV-S4556\",\"firmware\":\"3.1\"}",
	  fail_open);
	D("device: bad firmware version", "{\"vendor\":\"RINNAI\",\"model\":\"MC-301V\",\"firmware\":\"1 .5\"}", NULL);
#undef D
	const char *allow_dev = "{\"vendor\":\"RINNAI\",\"model\":\"MC-301V\",\"firmware\":\"1.5\"}";
	device_case("device: stale within the grace (warn)", json_incref(a1), "chain", "snapshot-3", 0, S3_AT + 11 * HOUR,
		    allow_dev, NULL);
	device_case("device: stale past the grace (unknown)", json_incref(a1), "chain", "snapshot-3", 0, S3_AT + 74 * HOUR,
		    allow_dev, NULL);
	device_case("device: stale past the grace, fail-open policy", json_incref(a1), "chain", "snapshot-3", 0,
		    S3_AT + 30 * HOUR, allow_dev, fail_open);
	device_case("device: expired snapshot", json_incref(a1), "chain", "snapshot-3", 0, S3_AT + 8 * 24 * HOUR, allow_dev,
		    NULL);
	device_case("device: rollback", json_incref(a1), "chain", "snapshot-1", 3, NOW, allow_dev, NULL);
	device_case("device: snapshot signature flipped", json_incref(a1), "chain", "snapshot-3-flipped", 0, NOW, allow_dev,
		    NULL);
	device_case("device: cache of another registry", fp_anchor(other_fp), "chain", "snapshot-3", 0, NOW, allow_dev,
		    NULL);
	device_case("device: no snapshot", json_incref(a1), "chain", NULL, 0, NOW, allow_dev, NULL);
	device_case("device: capped snapshot past its cap", json_incref(a1), "chain", "snapshot-2", 0, S2_AT + 1200,
		    allow_dev, NULL);
	device_case("device: capped snapshot before its cap", json_incref(a1), "chain", "snapshot-2", 0, S2_AT + 300,
		    allow_dev, NULL);
	device_case("device: pinned bundle 3, chain from 3", bundle_anchor("bundle-3"), "chain-3-6", "snapshot-3", 0, NOW,
		    allow_dev, NULL);
	json_decref(a1);

	/* ---- firmware versions and coverage ---- */
	static const char *const pairs[][2] = {
	    {"1.02.003", "1.2.3"}, {"1.0", "1.00"}, {"1.0", "1.0.0"}, {"2024.03.1", "2024.3.2"}, {"2024.3.2", "2024.10.1"},
	    {"V2.1b", "10.0"}, {"V2.1a", "V2.1b"}, {"V2.1b", "V2.10"}, {"2.1", "2.1b"}, {"2.1b", "2.1.1"},
	    {"2.1~rc1", "2.1"}, {"1.0-rc1", "1.0"}, {"1.0-rc1", "1.0.1"}, {"1.0~rc1", "1.0"}, {"1:0.9", "2.0"},
	    {"1.0-rc1-2", "1.0-rc1-10"}, {"a:1", "b:1"}, {"1.0~~", "1.0~"}, {"0001", "1"}, {"1.0", "1.0-0"},
	    {"99999999999999999999", "100000000000000000000"}, {"1.0+x", "1.0.x"}, {"1.0a", "1.0+"}, {"Z", "a"},
	};
	for (size_t i = 0; i < sizeof(pairs) / sizeof(pairs[0]); i++)
		version_case(pairs[i][0], pairs[i][1]);
	static const char *const specs[][2] = {
	    {">=1.0 <2.0, 2.0.1", "1.9.9"}, {">=1.0 <2.0, 2.0.1", "2.0"}, {">=1.0 <2.0, 2.0.1", "2.0.1"},
	    {"<2 >=1", "1.5"}, {">=2 <1", "1.5"}, {">1 <1", "1"}, {"   ", "1"}, {"1.0,,2.0", "1"}, {"=>1", "1"},
	    {">=1.0", "V1"}, {"1.0", "1.0-0"}, {">=1 <=1", "1"}, {">1", "1"}, {"1 2 3", "1"}, {"1.0, >=3", "3.5"},
	    {">=1.0 2.0", "1.5"}, {"<=1.0 <2", "1"},
	};
	for (size_t i = 0; i < sizeof(specs) / sizeof(specs[0]); i++)
		fwspec_case(specs[i][0], specs[i][1]);

	json_t *doc = json_pack("{s:s, s:s, s:o, s:o}", "format", "starmark-web-vectors/1", "made_by",
				"tests/tools/web_vectors.c (lib's answers: tests/tools/web_judge.c)", "blobs", blobs, "cases",
				cases);
	if (json_dump_file(doc, argv[1], JSON_INDENT(1) | JSON_SORT_KEYS) != 0)
		die("cannot write %s", argv[1]);
	fprintf(stderr, "web_vectors: %zu cases in %s\n", json_array_size(cases), argv[1]);
	json_decref(doc);
	free(l_ok), free(l_rev), free(l_susp), free(l_ok2), free(l_new), free(l_other);
	free(forged_sig), free(forged_payload), free(by_stranger_old), free(by_stranger_new), free(by_status);
	free(by_retired), free(differ), free(expired_label), free(foreign), free(foreign_forged);
	sm_key_free(issuer1), sm_key_free(issuer3), sm_key_free(status2), sm_key_free(stranger);
	sm_trust_chain_cleanup(&full);
	sm_trust_chain_cleanup(&ochain);
	sm_registry_close(r);
	sm_registry_close(other);
	char cmd[128];
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", work);
	return system(cmd) == 0 ? 0 : 1;
}
