/* SPDX-License-Identifier: Apache-2.0 */
/* lib's answers for the browser's vectors (web_judge.h): through a real cache directory, as offline verbs answer. */
#include <fcntl.h>
#include <sys/stat.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "starmark/label.h"
#include "starmark/status.h"
#include "starmark/sync.h"
#include "web_judge.h"

const char *wv_class(int rc)
{
	switch (rc) {
	case 0: return "ok";
	case SM_EINVAL: return "invalid";
	case SM_ETOOBIG: return "too-big";
	case SM_EVERIFY: return "verify";
	case SM_ENOTFOUND: return "not-found";
	case SM_ECRYPTO: return "crypto";
	default: return "error";
	}
}

static int put_file(const char *dir, const char *name, const uint8_t *p, size_t n, sm_err *err)
{
	char path[256];
	snprintf(path, sizeof(path), "%s/%s", dir, name);
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	int rc = fd >= 0 && (n == 0 || write(fd, p, n) == (ssize_t)n) ? 0 : sm_err_set(err, SM_EIO, NULL, "cannot write %s", path);
	if (fd >= 0)
		close(fd);
	return rc;
}

/* A cache directory as sync leaves it: CURRENT naming generation g-<floor>-vectors with the chain and snapshot. */
static int cache_write(const wv_input *in, char dir[64], sm_err *err)
{
	char gen[160], name[64];
	snprintf(dir, 64, "/tmp/sm-vectors-XXXXXX");
	if (!mkdtemp(dir))
		return sm_err_set(err, SM_EIO, NULL, "cannot make a temporary directory");
	snprintf(name, sizeof(name), "g-%llu-vectors", (unsigned long long)in->floor);
	snprintf(gen, sizeof(gen), "%s/%s", dir, name);
	if (mkdir(gen, 0755) != 0)
		return sm_err_set(err, SM_EIO, NULL, "cannot make %s", gen);
	int rc = put_file(gen, SM_CACHE_TRUST, in->chain, in->chain_n, err);
	if (!rc && in->snapshot)
		rc = put_file(gen, SM_CACHE_SNAPSHOT, in->snapshot, in->snapshot_n, err);
	strcat(name, "\n");
	if (!rc)
		rc = put_file(dir, "CURRENT", (const uint8_t *)name, strlen(name), err);
	return rc;
}

static void cache_remove(const char *dir)
{
	char cmd[128];
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	if (system(cmd) != 0)
		fprintf(stderr, "web_judge: cannot remove %s\n", dir);
}

static int anchor_of(const wv_input *in, sm_anchor **a, sm_err *err)
{
	if (in->fingerprint)
		return sm_anchor_load(in->fingerprint, a, err);
	return sm_anchor_from_bytes(in->bundle, in->bundle_n, a, err);
}

static json_t *error_json(int rc)
{
	return json_pack("{s:s}", "error", wv_class(rc));
}

/* The trust followed from the anchor through the chain, as sm_trust_chain_decode and sm_trust_follow judge it. */
static int follow(const wv_input *in, sm_trust *t, int *cls, sm_err *err)
{
	sm_anchor *a = NULL;
	sm_trust_chain chain = {0};
	int rc = anchor_of(in, &a, err);
	if (rc)
		return rc;
	*cls = in->chain_n ? sm_trust_chain_decode(in->chain, in->chain_n, &chain, err) : 0;
	if (!*cls)
		*cls = sm_trust_follow(a, &chain, t, NULL, NULL, err);
	sm_trust_chain_cleanup(&chain);
	sm_anchor_free(a);
	return *cls == SM_ENOMEM ? SM_ENOMEM : 0;
}

int wv_follow(const wv_input *in, json_t **out, sm_err *err)
{
	sm_trust *t = calloc(1, sizeof(*t));
	int cls = 0;
	int rc = t ? follow(in, t, &cls, err) : SM_ENOMEM;
	if (!rc && cls) {
		*out = error_json(cls);
	} else if (!rc) {
		char fp[65];
		sm_key_fingerprint(t->root, fp);
		*out = json_pack("{s:I, s:s, s:s}", "version", (json_int_t)t->version, "root", fp, "scheme", t->scheme);
	}
	free(t);
	return rc;
}

int wv_snapshot(const wv_input *in, json_t **out, sm_err *err)
{
	sm_trust *t = calloc(1, sizeof(*t));
	sm_snapshot_info si;
	bool same = false;
	int cls = 0;
	int rc = t ? follow(in, t, &cls, err) : SM_ENOMEM;
	/* what sync accepts (signature, status key valid then, the retired key's cap, freeze) and the cache's floor */
	if (!rc && !cls)
		cls = sm_sync_snapshot_accept(in->snapshot, in->snapshot_n, t, NULL, NULL, in->now, &si, &same, err);
	if (!rc && !cls && si.version < in->floor)
		cls = SM_EVERIFY;
	if (!rc && cls)
		*out = error_json(cls);
	else if (!rc)
		*out = json_pack("{s:I, s:I, s:I, s:I, s:I, s:I}", "version", (json_int_t)si.version, "produced_at",
				 (json_int_t)si.produced_at, "next_update", (json_int_t)si.next_update, "expires",
				 (json_int_t)si.expires, "log_size", (json_int_t)si.log_size, "count", (json_int_t)si.count);
	free(t);
	return rc;
}

static json_t *claims_json(const sm_label_claims *cl)
{
	char reg[11];
	sm_date_format(cl->registered, reg);
	return json_pack("{s:s, s:I, s:i, s:s, s:s, s:s, s:I, s:s}", "id", cl->id, "serial", (json_int_t)cl->serial,
			 "level", cl->level, "model", cl->model, "vendor", cl->vendor, "registered", reg, "issued_at",
			 (json_int_t)cl->issued_at, "scheme", cl->scheme);
}

int wv_label(const wv_input *in, const char *text, bool newest, json_t **out, sm_err *err)
{
	char dir[64] = "";
	sm_anchor *a = NULL;
	sm_cache *sc = NULL;
	sm_trust *t = calloc(1, sizeof(*t));
	sm_label_result res;
	sm_label_source src = {0};
	int cls = 0, rc = t ? 0 : SM_ENOMEM;
	memset(&res, 0, sizeof(res));
	*out = NULL;
	if (!rc && in->snapshot) {
		/* `label verify --cache DIR`: the trust and the status from the synced cache, followed from the anchor */
		if (!(rc = cache_write(in, dir, err)) && !(rc = anchor_of(in, &a, err)))
			cls = sm_cache_open(dir, a, &sc, err);
		if (!rc && !cls) {
			src.trust = sm_cache_trust(sc);
			src.lookup = sm_label_lookup_cache;
			src.ctx = sc;
		}
	} else if (!rc && !(rc = follow(in, t, &cls, err)) && !cls) {
		src.trust = t; /* the anchor alone (and a chain): genuine at best, nothing to ask for the status */
	}
	src.newest = newest;
	if (!rc && cls)
		*out = error_json(cls);
	else if (!rc)
		rc = sm_label_judge(text, strlen(text), &src, in->now, &res, err);
	if (!rc && !*out) {
		/* in_force as `label verify --json` says it: true in force, false not in force, else null */
		*out = json_pack("{s:s, s:b, s:o, s:o, s:b, s:I, s:s}", "verdict", sm_label_verdict_name(res.verdict),
				 "genuine", res.genuine, "in_force", res.verdict == SM_LABEL_NOT_IN_FORCE ? json_false()
								     : res.in_force ? json_true() : json_null(),
				 "status", res.status ? json_string(res.status) : json_null(), "past_next_update",
				 res.past_next_update, "next_update", (json_int_t)res.next_update, "field", res.field);
		json_object_set_new(*out, "claims", res.genuine || res.verdict == SM_LABEL_CLAIMS_DIFFER
							    ? claims_json(&res.claims) : json_null());
		json_object_set_new(*out, "certificate", res.cert ? json_string(res.cert->id) : json_null());
		json_object_set_new(*out, "foreign_host", json_boolean(res.foreign_host));
	}
	sm_label_result_cleanup(&res);
	sm_cache_close(sc);
	sm_anchor_free(a);
	if (dir[0])
		cache_remove(dir);
	free(t);
	return rc;
}

static const char *str_or_null(const json_t *o, const char *k)
{
	return json_string_value(json_object_get(o, k));
}

static json_t *verdict_json(const sm_check_result *res)
{
	json_t *codes = json_array();
	for (size_t i = 0; i < res->nreasons; i++)
		json_array_append_new(codes, json_string(res->reasons[i].code));
	return json_pack("{s:s, s:o, s:i, s:o}", "verdict", sm_verdict_name(res->verdict), "reasons", codes,
			 "required_level", res->required_level, "certificate",
			 res->cert ? json_string(res->cert->id) : json_null());
}

int wv_device(const wv_input *in, const json_t *device, const json_t *policy, json_t **out, sm_err *err)
{
	char dir[64] = "";
	sm_anchor *a = NULL;
	sm_cache *sc = NULL;
	sm_policy pol;
	sm_check_result res;
	sm_check_req q = {str_or_null(device, "vendor"), str_or_null(device, "model"), str_or_null(device, "firmware"),
			  str_or_null(device, "category"), (int)json_integer_value(json_object_get(device, "level"))};
	char *ptext = policy ? json_dumps(policy, JSON_COMPACT) : NULL;
	int rc = 0;
	memset(&res, 0, sizeof(res));
	*out = NULL;
	if (ptext)
		rc = sm_policy_parse(ptext, strlen(ptext), &pol, err);
	else
		sm_policy_default(&pol);
	if (!rc)
		rc = sm_check_req_validate(&q, err);
	if (rc) { /* bad input: the front end refuses it before any verdict */
		*out = error_json(rc);
		rc = 0;
		goto out;
	}
	if ((rc = cache_write(in, dir, err)) || (rc = anchor_of(in, &a, err)))
		goto out;
	/* cli/remote.c offline_check: a cache missing, not following from the anchor or not verifying is no data */
	int cls = sm_cache_open(dir, a, &sc, err);
	if (cls == SM_ENOTFOUND || cls == SM_EVERIFY || cls == SM_EINVAL)
		rc = sm_verdict_unknown(&q, &pol, "no_data", "the cache does not verify", &res);
	else if (cls)
		rc = cls;
	else if ((cls = sm_cache_check(sc, &q, &pol, in->now, &res, NULL, err)) == SM_ENOMEM)
		rc = cls;
	else if (cls)
		rc = sm_verdict_unknown(&q, &pol, "no_data", "the cached snapshot does not verify", &res);
	if (!rc)
		*out = verdict_json(&res);
out:
	sm_check_result_cleanup(&res);
	sm_cache_close(sc);
	sm_anchor_free(a);
	if (dir[0])
		cache_remove(dir);
	free(ptext);
	return rc;
}

/* ---- a case of the vectors file ---- */

struct bytes {
	uint8_t *p;
	size_t n;
};

/* The bytes of blob `name` (a case names its inputs; the file holds each once, base64). */
static int blob(const json_t *blobs, const json_t *name, struct bytes *b, sm_err *err)
{
	const char *key = json_string_value(name), *b64 = key ? json_string_value(json_object_get(blobs, key)) : NULL;
	if (!key)
		return 0;
	if (!b64)
		return sm_err_set(err, SM_EINVAL, "blobs", "no blob named %s", key);
	return sm_base64_decode(b64, strlen(b64), &b->p, &b->n, err);
}

int wv_judge_case(const json_t *c, const json_t *blobs, json_t **expect, sm_err *err)
{
	const char *kind = json_string_value(json_object_get(c, "kind"));
	const json_t *anchor = json_object_get(c, "anchor");
	struct bytes bundle = {0}, chain = {0}, snap = {0};
	wv_input in = {0};
	int rc = 0;
	*expect = NULL;
	if (!kind)
		return sm_err_set(err, SM_EINVAL, "kind", "a case without a kind");
	if (strcmp(kind, "version") == 0) {
		int cmp = sm_version_compare(json_string_value(json_object_get(c, "a")), json_string_value(json_object_get(c, "b")));
		*expect = json_pack("{s:i}", "cmp", (cmp > 0) - (cmp < 0));
		return 0;
	}
	if (strcmp(kind, "fwspec") == 0) {
		sm_fwspec *s = NULL;
		rc = sm_fwspec_parse(json_string_value(json_object_get(c, "spec")), &s, NULL);
		*expect = rc ? error_json(rc)
			     : json_pack("{s:b}", "covers", sm_fwspec_covers(s, json_string_value(json_object_get(c, "version"))));
		sm_fwspec_free(s);
		return 0;
	}
	if ((rc = blob(blobs, json_object_get(anchor, "bundle"), &bundle, err)) ||
	    (rc = blob(blobs, json_object_get(c, "chain"), &chain, err)) ||
	    (rc = blob(blobs, json_object_get(c, "snapshot"), &snap, err)))
		goto out;
	in.fingerprint = json_string_value(json_object_get(anchor, "fingerprint"));
	in.bundle = bundle.p;
	in.bundle_n = bundle.n;
	in.chain = chain.p;
	in.chain_n = chain.n;
	in.snapshot = snap.p;
	in.snapshot_n = snap.n;
	in.floor = (uint64_t)json_integer_value(json_object_get(c, "floor"));
	in.now = (int64_t)json_integer_value(json_object_get(c, "now"));
	if (strcmp(kind, "chain") == 0)
		rc = wv_follow(&in, expect, err);
	else if (strcmp(kind, "snapshot") == 0)
		rc = wv_snapshot(&in, expect, err);
	else if (strcmp(kind, "label") == 0)
		rc = wv_label(&in, json_string_value(json_object_get(c, "text")), json_is_true(json_object_get(c, "newest")),
			      expect, err);
	else if (strcmp(kind, "device") == 0)
		rc = wv_device(&in, json_object_get(c, "device"), json_object_get(c, "policy"), expect, err);
	else
		rc = sm_err_set(err, SM_EINVAL, "kind", "unknown kind %s", kind);
out:
	free(bundle.p);
	free(chain.p);
	free(snap.p);
	return rc;
}
