/* SPDX-License-Identifier: Apache-2.0 */
/* Published policies: each publish and withdrawal a signed entry of the log (65005), the policy kept by name. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cbor_int.h"
#include "registry_int.h"
#include "starmark/cose.h"
#include "starmark/json.h"

/* ---- the payload (schema/payloads.cddl, policy-event) ---- */

enum { K_ACTION = 1, K_NAME = 2, K_AT = 3, K_POLICY = 4, K_MAX = 5 };

void sm_policy_event_cleanup(sm_policy_event *e)
{
	if (!e)
		return;
	free(e->json);
	memset(e, 0, sizeof(*e));
}

int sm_policy_event_encode(const sm_policy_event *e, sm_buf *b)
{
	bool publish = e->action == SM_POLICY_PUBLISH;
	int rc = sm_cbor_put_map(b, publish ? 4 : 3);
	if (!rc)
		rc = sm_cbor_put_uint(b, K_ACTION);
	if (!rc)
		rc = sm_cbor_put_uint(b, (uint64_t)e->action);
	if (!rc)
		rc = sm_cbor_put_uint(b, K_NAME);
	if (!rc)
		rc = sm_cbor_put_str(b, e->name);
	if (!rc)
		rc = sm_cbor_put_uint(b, K_AT);
	if (!rc)
		rc = sm_cbor_put_int(b, e->at);
	if (!rc && publish)
		rc = sm_cbor_put_uint(b, K_POLICY);
	if (!rc && publish)
		rc = sm_cbor_put_text(b, e->json, e->json_len);
	return rc;
}

int sm_policy_event_decode(const uint8_t *p, size_t n, sm_policy_event *e, sm_err *err)
{
	sm_cbor_rd r;
	size_t cnt = 0;
	uint64_t last = 0, k = 0, v = 0;
	char *name = NULL;
	memset(e, 0, sizeof(*e));
	sm_cbor_rd_init(&r, p, n);
	int rc = sm_cbor_read_map(&r, K_MAX - 1, &cnt, "policy event", err);
	for (size_t i = 0; i < cnt && !rc; i++) {
		if ((rc = sm_cbor_read_uint(&r, &k, "key", err)))
			break;
		if (k <= last || k >= K_MAX) {
			rc = sm_err_set(err, SM_EINVAL, NULL, "policy event: key %llu is unknown, repeated or out of order",
					(unsigned long long)k);
			break;
		}
		last = k;
		switch (k) {
		case K_ACTION:
			rc = sm_cbor_read_uint(&r, &v, "action", err);
			if (!rc && v != SM_POLICY_PUBLISH && v != SM_POLICY_WITHDRAW)
				rc = sm_err_set(err, SM_EINVAL, "action", "policy event: unknown action %llu", (unsigned long long)v);
			e->action = (int)v;
			break;
		case K_NAME:
			rc = sm_cbor_read_text(&r, sizeof(e->name) - 1, &name, "name", err);
			if (!rc)
				snprintf(e->name, sizeof(e->name), "%s", name);
			free(name);
			name = NULL;
			break;
		case K_AT: rc = sm_cbor_read_int(&r, &e->at, "at", err); break;
		default:
			rc = sm_cbor_read_text(&r, SM_POLICY_MAX_SIZE, &e->json, "policy", err);
			if (!rc)
				e->json_len = strlen(e->json);
		}
	}
	if (!rc && r.off != r.n)
		rc = sm_err_set(err, SM_EINVAL, NULL, "%zu unexpected bytes after the policy event", r.n - r.off);
	if (!rc && (!e->action || !e->name[0] || last < K_AT))
		rc = sm_err_set(err, SM_EINVAL, "policy event", "policy event without an action, a name or a time");
	if (!rc && (e->action == SM_POLICY_PUBLISH) != (e->json != NULL))
		rc = sm_err_set(err, SM_EINVAL, "policy", "a publish carries the policy and a withdrawal none");
	if (rc)
		sm_policy_event_cleanup(e);
	return rc;
}

int sm_policy_text(const sm_policy *p, char **out, size_t *n)
{
	json_t *j = sm_policy_to_json(p);
	*out = j ? json_dumps(j, JSON_COMPACT | JSON_PRESERVE_ORDER) : NULL;
	json_decref(j);
	if (!*out)
		return SM_ENOMEM;
	*n = strlen(*out);
	return 0;
}

/* ---- the registry's side ---- */

/* A published policy's name also names a URL path segment (GET /v1/policies/{name}): no '/'. */
static int check_name(const char *name, sm_err *err)
{
	int rc = sm_check_text(name, sizeof(((sm_policy *)0)->name) - 1, "name", err);
	if (!rc && strchr(name, '/'))
		rc = sm_err_set(err, SM_EINVAL, "name", "a published policy's name holds no '/' (it names a URL path)");
	return rc;
}

static int need_write(sm_registry *r, sm_err *err)
{
	return r->write ? 0 : sm_err_set(err, SM_ESTORE, NULL, "the registry is open read-only");
}

struct count_ctx {
	size_t n;
};

static int count_one(void *ctx, const char *name, int64_t at, uint64_t index, const char *json, size_t n)
{
	(void)name, (void)at, (void)index, (void)json, (void)n;
	((struct count_ctx *)ctx)->n++;
	return 0;
}

/* Sign `e` with the issuer key and append it; *index its place in the log. In the caller's transaction. */
static int append_policy_event(sm_registry *r, sm_txn *t, const sm_policy_event *e, uint64_t *index, sm_err *err)
{
	const sm_key *issuer = NULL;
	sm_buf payload = SM_BUF_INIT;
	uint8_t *entry = NULL;
	size_t en = 0;
	int rc = sm_registry_trust_fresh(r, t, err);
	if (!rc)
		rc = sm_registry_key(r, SM_ROLE_ISSUER, &issuer, err);
	if (!rc && (rc = sm_policy_event_encode(e, &payload)) == 0 &&
	    (rc = sm_cose_sign1(issuer, SM_COSE_POLICY, payload.data, payload.len, true, &entry, &en)) == 0)
		rc = sm_store_log_append(t, entry, en, index);
	if (rc && err && !err->msg[0])
		sm_err_set(err, rc, NULL, "cannot record the %s of policy %s: %s",
			   e->action == SM_POLICY_PUBLISH ? "publication" : "withdrawal", e->name, sm_strerror(rc));
	free(entry);
	sm_buf_cleanup(&payload);
	return rc;
}

int sm_registry_policy_publish(sm_registry *r, const sm_policy *p, int64_t now, sm_err *err)
{
	sm_policy_event e = { SM_POLICY_PUBLISH, "", now, NULL, 0 };
	sm_txn *t = NULL;
	uint64_t index = 0;
	int rc = need_write(r, err);
	if (!rc)
		rc = check_name(p->name, err);
	if (!rc)
		rc = sm_policy_fits(p, sm_registry_trust_now(r)->levels, err);
	if (!rc && (rc = sm_policy_text(p, &e.json, &e.json_len)))
		rc = sm_err_set(err, rc, NULL, "out of memory");
	if (!rc)
		rc = sm_store_begin(r->store, true, &t, err);
	snprintf(e.name, sizeof(e.name), "%s", p->name);
	if (!rc) {
		struct count_ctx cc = { 0 };
		if (sm_store_policy_get(t, e.name, NULL, NULL, NULL, NULL) == SM_ENOTFOUND &&
		    !(rc = sm_store_policy_foreach(t, count_one, &cc)) && cc.n >= SM_POLICY_PUBLISHED_MAX)
			rc = sm_err_set(err, SM_ETOOBIG, "name", "the registry publishes %d policies already: withdraw one first",
					SM_POLICY_PUBLISHED_MAX);
	}
	if (!rc)
		rc = append_policy_event(r, t, &e, &index, err);
	if (!rc && (rc = sm_store_policy_put(t, e.name, now, index, e.json, e.json_len)))
		rc = sm_err_set(err, rc, NULL, "cannot store policy %s: %s", e.name, sm_strerror(rc));
	if (!rc) {
		rc = sm_store_commit(t, err);
		t = NULL;
	}
	sm_store_abort(t);
	sm_policy_event_cleanup(&e);
	return rc;
}

static int not_published(sm_err *err, const char *name)
{
	char q[80];
	sm_err_quote(q, sizeof(q), name, strlen(name));
	return sm_err_set(err, SM_ENOTFOUND, "name", "no published policy named '%s'", q);
}

int sm_registry_policy_withdraw(sm_registry *r, const char *name, int64_t now, sm_err *err)
{
	sm_policy_event e = { SM_POLICY_WITHDRAW, "", now, NULL, 0 };
	sm_txn *t = NULL;
	uint64_t index = 0;
	int rc = need_write(r, err);
	if (!rc && strlen(name) >= sizeof(e.name))
		rc = not_published(err, name);
	if (!rc)
		rc = sm_store_begin(r->store, true, &t, err);
	snprintf(e.name, sizeof(e.name), "%s", name);
	if (!rc && (rc = sm_store_policy_get(t, name, NULL, NULL, NULL, NULL)))
		rc = rc == SM_ENOTFOUND ? not_published(err, name) : sm_err_set(err, rc, NULL, "cannot read the policies");
	if (!rc)
		rc = append_policy_event(r, t, &e, &index, err);
	if (!rc && (rc = sm_store_policy_del(t, name)))
		rc = sm_err_set(err, rc, NULL, "cannot remove policy %s: %s", name, sm_strerror(rc));
	if (!rc) {
		rc = sm_store_commit(t, err);
		t = NULL;
	}
	sm_store_abort(t);
	return rc;
}

/* A stored policy back into a policy (the row is the registry's own writing: a failure is damage). */
static int stored_policy(const char *name, const char *json, size_t n, sm_policy *out, sm_err *err)
{
	int rc = sm_policy_parse(json, n, out, NULL);
	if (!rc && strcmp(out->name, name) != 0)
		rc = SM_EINVAL;
	return rc == SM_ENOMEM ? sm_err_set(err, rc, NULL, "out of memory")
	       : rc	       ? sm_err_set(err, SM_ESTORE, "db", "the stored policy %s is damaged", name)
			       : 0;
}

int sm_registry_policy_get(sm_registry *r, const char *name, sm_policy *out, int64_t *published_at,
			   uint64_t *log_index, sm_err *err)
{
	sm_txn *t = NULL;
	const char *json = NULL;
	size_t n = 0;
	int rc = sm_store_begin(r->store, false, &t, err);
	if (!rc && (rc = sm_store_policy_get(t, name, published_at, log_index, &json, &n)))
		rc = rc == SM_ENOTFOUND ? not_published(err, name) : sm_err_set(err, rc, NULL, "cannot read the policies");
	if (!rc)
		rc = stored_policy(name, json, n, out, err);
	sm_store_abort(t);
	return rc;
}

struct list_ctx {
	sm_policy_fn fn;
	void *ctx;
	sm_err *err;
	bool failed; /* the error is ours (set in err), not the callback's */
};

static int list_one(void *vctx, const char *name, int64_t at, uint64_t index, const char *json, size_t n)
{
	struct list_ctx *l = vctx;
	sm_policy p;
	int rc = stored_policy(name, json, n, &p, l->err);
	if (rc) {
		l->failed = true;
		return rc;
	}
	return l->fn(l->ctx, &p, at, index);
}

int sm_registry_policy_list(sm_registry *r, sm_policy_fn fn, void *ctx, sm_err *err)
{
	sm_txn *t = NULL;
	struct list_ctx l = { fn, ctx, err, false };
	int rc = sm_store_begin(r->store, false, &t, err);
	if (!rc && (rc = sm_store_policy_foreach(t, list_one, &l)) && !l.failed && (rc == SM_ESTORE || rc == SM_ENOMEM))
		sm_err_set(err, rc, NULL, "cannot list the policies: %s", sm_strerror(rc));
	sm_store_abort(t);
	return rc;
}
