/* SPDX-License-Identifier: Apache-2.0 */
/* log verify: re-check the whole registry from its entries alone. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "registry_int.h"
#include "starmark/checkpoint.h"
#include "starmark/cose.h"
#include "starmark/status.h"

/* An open-addressing map id -> folded state, for the fold from scratch. */
typedef struct fold_map {
	sm_cert **slots;
	size_t cap, n;
} fold_map;

static uint64_t hash_id(const char *s)
{
	uint64_t h = 1469598103934665603ull; /* FNV-1a */
	for (; *s; s++)
		h = (h ^ (unsigned char)*s) * 1099511628211ull;
	return h;
}

static sm_cert **slot_of(fold_map *m, const char *id)
{
	size_t i = hash_id(id) & (m->cap - 1);
	while (m->slots[i] && strcmp(m->slots[i]->id, id) != 0)
		i = (i + 1) & (m->cap - 1);
	return &m->slots[i];
}

static int map_grow(fold_map *m)
{
	if (m->cap && m->n * 2 < m->cap)
		return 0;
	fold_map bigger = { calloc(m->cap ? m->cap * 2 : 1024, sizeof(sm_cert *)), m->cap ? m->cap * 2 : 1024, 0 };
	if (!bigger.slots)
		return SM_ENOMEM;
	for (size_t i = 0; i < m->cap; i++)
		if (m->slots[i]) {
			*slot_of(&bigger, m->slots[i]->id) = m->slots[i];
			bigger.n++;
		}
	free(m->slots);
	*m = bigger;
	return 0;
}

static void map_free(fold_map *m)
{
	for (size_t i = 0; i < m->cap; i++)
		sm_cert_free(m->slots[i]);
	free(m->slots);
}

/* The Merkle cross-check: sm_merkle_append reads left siblings from the store (each already
 * compared) and every node it computes must equal the stored one. */
struct tree_ctx {
	sm_txn *t;
	int mismatch;
};

static int tree_get(void *vctx, unsigned level, uint64_t index, uint8_t out[SM_HASH_LEN])
{
	return sm_store_log_node(((struct tree_ctx *)vctx)->t, level, index, out);
}

static int tree_put(void *vctx, unsigned level, uint64_t index, const uint8_t h[SM_HASH_LEN])
{
	struct tree_ctx *c = vctx;
	uint8_t stored[SM_HASH_LEN];
	int rc = sm_store_log_node(c->t, level, index, stored);
	if (rc || memcmp(stored, h, SM_HASH_LEN) != 0) {
		c->mismatch = 1;
		return SM_EVERIFY;
	}
	return 0;
}

static int check_event(const sm_trust *tr, const sm_cose *c, const sm_event *e, uint64_t i, sm_err *err)
{
	uint8_t kid[SM_KID_LEN];
	const sm_trust_key *k = sm_cose_kid(c, kid) ? sm_trust_find(tr, SM_ROLE_ISSUER, kid, e->at) : NULL;
	sm_key *pub = NULL;
	if (!k)
		return sm_err_set(err, SM_EVERIFY, "log",
				  "entry %llu (%s of %s) is signed by no issuer key valid at its time", (unsigned long long)i,
				  sm_event_name(e->type), e->id);
	int rc = sm_key_from_public(k->pub, &pub);
	if (!rc)
		rc = sm_cose_verify(c, pub);
	sm_key_free(pub);
	return rc ? sm_err_set(err, SM_EVERIFY, "log", "entry %llu (%s of %s): the signature does not verify",
			       (unsigned long long)i, sm_event_name(e->type), e->id)
		  : 0;
}

/* ---- published policies: the fold of the 65005 entries, compared with the policies database ---- */

typedef struct policy_fold {
	sm_policy_event *v; /* the policies in force: the last publish of each name not withdrawn since */
	uint64_t *index;    /* the log index of each one's publish */
	size_t n, cap;
} policy_fold;

static void policy_fold_free(policy_fold *pf)
{
	for (size_t i = 0; i < pf->n; i++)
		sm_policy_event_cleanup(&pf->v[i]);
	free(pf->v);
	free(pf->index);
}

static sm_policy_event *policy_find(policy_fold *pf, const char *name, size_t *at)
{
	for (size_t i = 0; i < pf->n; i++)
		if (strcmp(pf->v[i].name, name) == 0) {
			*at = i;
			return &pf->v[i];
		}
	return NULL;
}

/* One policy entry: signed by an issuer key valid at its time, a policy as publish writes it, folded. */
static int fold_policy(policy_fold *pf, const sm_trust *tr, const sm_cose *c, const uint8_t *payload, size_t pn,
		       uint64_t i, sm_err *err)
{
	sm_policy_event e;
	sm_policy p;
	uint8_t kid[SM_KID_LEN];
	sm_key *pub = NULL;
	char *again = NULL;
	size_t again_len = 0, at = 0;
	int rc = sm_policy_event_decode(payload, pn, &e, err);
	if (rc)
		return sm_err_wrap(err, SM_EVERIFY, "log", "entry %llu (a policy event)", (unsigned long long)i);
	const sm_trust_key *k = sm_cose_kid(c, kid) ? sm_trust_find(tr, SM_ROLE_ISSUER, kid, e.at) : NULL;
	if (!k)
		rc = sm_err_set(err, SM_EVERIFY, "log", "entry %llu (policy %s) is signed by no issuer key valid at its time",
				(unsigned long long)i, e.name);
	if (!rc && ((rc = sm_key_from_public(k->pub, &pub)) || (rc = sm_cose_verify(c, pub))))
		rc = sm_err_set(err, SM_EVERIFY, "log", "entry %llu (policy %s): the signature does not verify",
				(unsigned long long)i, e.name);
	sm_key_free(pub);
	sm_policy_event *cur = rc ? NULL : policy_find(pf, e.name, &at);
	if (!rc && e.action == SM_POLICY_WITHDRAW) {
		if (!cur) {
			rc = sm_err_set(err, SM_EVERIFY, "log", "entry %llu withdraws policy %s, which is not published",
					(unsigned long long)i, e.name);
		} else {
			sm_policy_event_cleanup(cur);
			pf->v[at] = pf->v[pf->n - 1];
			pf->index[at] = pf->index[pf->n - 1];
			pf->n--;
		}
		sm_policy_event_cleanup(&e);
		return rc;
	}
	/* a publish: the policy parses, is the one its name says, fits the scheme, and is written as publish writes it */
	if (!rc && (sm_policy_parse(e.json, e.json_len, &p, NULL) || strcmp(p.name, e.name) != 0 ||
		    sm_policy_fits(&p, tr->levels, NULL) || sm_policy_text(&p, &again, &again_len) ||
		    again_len != e.json_len || memcmp(again, e.json, again_len) != 0))
		rc = sm_err_set(err, SM_EVERIFY, "log", "entry %llu publishes policy %s in a form publish never writes",
				(unsigned long long)i, e.name);
	free(again);
	if (!rc && !cur && pf->n == pf->cap) {
		size_t nc = pf->cap ? pf->cap * 2 : 8;
		sm_policy_event *v = realloc(pf->v, nc * sizeof(*v));
		uint64_t *ix = v ? realloc(pf->index, nc * sizeof(*ix)) : NULL;
		if (v)
			pf->v = v;
		if (ix)
			pf->index = ix;
		if (!v || !ix)
			rc = sm_err_set(err, SM_ENOMEM, NULL, "out of memory");
		else
			pf->cap = nc;
	}
	if (rc) {
		sm_policy_event_cleanup(&e);
		return rc;
	}
	if (cur) {
		sm_policy_event_cleanup(cur);
	} else {
		at = pf->n++;
	}
	pf->v[at] = e;
	pf->index[at] = i;
	return 0;
}

struct policy_cmp {
	policy_fold *pf;
	size_t seen;
	sm_err *err;
};

static int compare_policy(void *vctx, const char *name, int64_t at, uint64_t index, const char *json, size_t n)
{
	struct policy_cmp *c = vctx;
	size_t i = 0;
	const sm_policy_event *e = policy_find(c->pf, name, &i);
	char q[80];
	sm_err_quote(q, sizeof(q), name, strlen(name)); /* a store key: control bytes become '?' */
	c->seen++;
	if (!e)
		return sm_err_set(c->err, SM_EVERIFY, "store", "the store publishes policy %s, which the log does not", q);
	if (e->at != at || c->pf->index[i] != index || e->json_len != n || memcmp(e->json, json, n) != 0)
		return sm_err_set(c->err, SM_EVERIFY, "store", "the stored policy %s differs from the one its log entry %llu "
				  "published", q, (unsigned long long)c->pf->index[i]);
	return 0;
}

struct cmp_ctx {
	fold_map *m;
	uint64_t seen;
	sm_err *err;
};

static int compare_stored(void *vctx, const char *id, const uint8_t *p, size_t n)
{
	struct cmp_ctx *c = vctx;
	sm_cert **slot = slot_of(c->m, id);
	char q[SM_SHOWN_ID];
	if (!*slot)
		return sm_err_set(c->err, SM_EVERIFY, "store", "the store holds %s, which no log entry issued", sm_shown_id(q, id));
	sm_buf b = SM_BUF_INIT;
	int rc = sm_cert_encode(*slot, &b);
	if (!rc && (b.len != n || memcmp(b.data, p, n) != 0))
		rc = sm_err_set(c->err, SM_EVERIFY, "store", "the stored state of %s differs from the state its log entries give",
				sm_shown_id(q, id));
	sm_buf_cleanup(&b);
	c->seen++;
	return rc;
}

struct model_ctx {
	const char *id;
	bool found;
};

static int model_hit(void *vctx, const char *id, const uint8_t *p, size_t n)
{
	struct model_ctx *m = vctx;
	if (strcmp(id, m->id) == 0)
		m->found = true;
	return 0;
}

/*
 * What the store derives from a certificate's state besides the state itself: its serial index entry, its
 * search grams, its signed status statement (signed by a status key of the bundle, for this certificate
 * at this level) and its place in the refresh queue.
 */
static int check_derived(sm_txn *t, const sm_trust *tr, const sm_cert *c, sm_err *err)
{
	char id[SM_ID_MAX + 1];
	uint32_t serial = sm_store_id_serial(c->id);
	int rc = serial ? sm_store_serial_id(t, serial, id) : 0;
	if (serial && (rc || strcmp(id, c->id) != 0))
		return sm_err_set(err, SM_EVERIFY, "store", "the serial index does not lead to %s", c->id);
	if ((rc = sm_store_grams_check(t, c, serial)))
		return rc == SM_EVERIFY ? sm_err_set(err, rc, "store", "the search index lacks text of %s", c->id) : rc;
	int64_t due = 0;
	const uint8_t *p = NULL;
	size_t n = 0;
	rc = sm_store_stmt_get(t, c->id, &due, &p, &n);
	if (rc == SM_ENOTFOUND) {
		due = 0; /* still to be produced: queued at 0 */
	} else if (rc) {
		return sm_err_set(err, SM_EVERIFY, "store", "the status statement of %s cannot be read", c->id);
	} else {
		sm_statement st;
		memset(&st, 0, sizeof(st));
		rc = sm_statement_verify(p, n, tr, &st, NULL);
		bool same = !rc && st.cert && strcmp(st.cert->id, c->id) == 0 && st.cert->level == c->level;
		if (!rc)
			sm_statement_cleanup(&st);
		if (!same)
			return sm_err_set(err, SM_EVERIFY, "store", "the stored status statement of %s %s", c->id,
					  rc ? "does not verify" : "is another certificate's");
	}
	if (sm_store_due_has(t, due, c->id) != 0)
		return sm_err_set(err, SM_EVERIFY, "store", "the refresh queue lacks %s", c->id);
	return 0;
}

/* The counters in meta the fold can tell: the next serial lies past every issued one, the trust version is the last. */
static int check_meta(sm_txn *t, const fold_map *m, const sm_trust *tr, sm_err *err)
{
	uint64_t next = 0, version = 0;
	uint32_t top = 0;
	for (size_t i = 0; i < m->cap; i++)
		if (m->slots[i] && sm_store_id_serial(m->slots[i]->id) > top)
			top = sm_store_id_serial(m->slots[i]->id);
	if (sm_store_meta_get_u64(t, "next_serial", &next) || next <= top)
		return sm_err_set(err, SM_EVERIFY, "store", "the next serial (meta next_serial) is not past the last issued, %u",
				  top);
	if (sm_store_meta_get_u64(t, "trust_version", &version) || version != tr->version)
		return sm_err_set(err, SM_EVERIFY, "store", "meta trust_version is not the log's last bundle, version %llu",
				  (unsigned long long)tr->version);
	return 0;
}

int sm_registry_verify(sm_registry *r, sm_progress_fn progress, void *pctx, sm_verify_report *rep, sm_err *err)
{
	sm_txn *t = NULL;
	fold_map m = { NULL, 0, 0 };
	sm_trust *tr = calloc(1, sizeof(*tr)), *prev = calloc(1, sizeof(*prev));
	sm_merkle_frontier f;
	struct tree_ctx tc = { NULL, 0 };
	uint64_t size = 0, trust_index = 0, indexed = 0;
	bool have_trust = false;
	policy_fold pf = { NULL, NULL, 0, 0 };
	int rc = (!tr || !prev) ? sm_err_set(err, SM_ENOMEM, NULL, "out of memory") : map_grow(&m);
	memset(rep, 0, sizeof(*rep));
	sm_merkle_frontier_init(&f);
	if (!rc)
		rc = sm_store_begin(r->store, false, &t, err);
	if (!rc)
		rc = sm_store_log_size(t, &size);
	tc.t = t;
	for (uint64_t i = 0; i < size && !rc; i++) {
		const uint8_t *p;
		size_t n;
		sm_cose *c = NULL;
		sm_event *e = NULL;
		uint8_t leaf[SM_HASH_LEN];
		if ((rc = sm_store_log_entry(t, i, &p, &n))) {
			rc = sm_err_set(err, SM_EVERIFY, "log", "entry %llu of %llu is missing", (unsigned long long)i,
					(unsigned long long)size);
			break;
		}
		sm_merkle_leaf_hash(p, n, leaf);
		sm_merkle_frontier_push(&f, leaf);
		if (sm_merkle_append(tree_get, tree_put, &tc, i, leaf) != 0) {
			rc = sm_err_set(err, SM_EVERIFY, "log", "the stored Merkle tree disagrees with entry %llu",
					(unsigned long long)i);
			break;
		}
		if ((rc = sm_cose_decode(p, n, &c, err))) {
			rc = sm_err_wrap(err, SM_EVERIFY, "log", "entry %llu is not a valid COSE_Sign1", (unsigned long long)i);
			break;
		}
		size_t pn;
		const uint8_t *payload = sm_cose_payload(c, &pn);
		if (sm_cose_type(c) == SM_COSE_TRUST) {
			rc = sm_trust_verify(p, n, have_trust ? prev : NULL, tr, err);
			if (!rc && !have_trust && (tr->version != 1 || tr->has_root_proof))
				rc = sm_err_set(err, SM_EVERIFY, "trust", "the log's first trust bundle is version %llu, not 1",
						(unsigned long long)tr->version);
			if (!rc && have_trust && tr->version != prev->version + 1)
				rc = sm_err_set(err, SM_EVERIFY, "trust", "trust bundle version %llu follows version %llu: a "
						"version is missing", (unsigned long long)tr->version, (unsigned long long)prev->version);
			if (rc == 0) {
				*prev = *tr;
				have_trust = true;
				trust_index = i;
				rep->bundles++;
				/* the index every published version is served from (GET /v1/trust/{version}); a store
				 * written before that index existed has none at all, and is read by a pass over the log */
				char key[40];
				uint64_t at = 0;
				snprintf(key, sizeof(key), "trust_v%llu", (unsigned long long)tr->version);
				int irc = sm_store_meta_get_u64(t, key, &at);
				if (irc == 0)
					indexed++;
				if ((irc == 0 && at != i) || (irc != 0 && indexed))
					rc = sm_err_set(err, SM_EVERIFY, "trust", "the index of trust bundle version %llu does not "
							"point at log entry %llu", (unsigned long long)tr->version, (unsigned long long)i);
			} else {
				rc = sm_err_wrap(err, SM_EVERIFY, "log", "entry %llu", (unsigned long long)i);
			}
		} else if (sm_cose_type(c) == SM_COSE_POLICY && have_trust) {
			rc = fold_policy(&pf, prev, c, payload, pn, i, err);
		} else if (sm_cose_type(c) != SM_COSE_EVENT || !have_trust) {
			rc = sm_err_set(err, SM_EVERIFY, "log", "entry %llu is neither an event, a policy nor a trust bundle%s",
					(unsigned long long)i, have_trust ? "" : " (the log must begin with a trust bundle)");
		} else if ((rc = sm_event_decode(payload, pn, &e, err))) {
			rc = sm_err_wrap(err, SM_EVERIFY, "log", "entry %llu", (unsigned long long)i);
		} else if (!(rc = check_event(prev, c, e, i, err)) && !(rc = map_grow(&m))) {
			sm_cert **slot = slot_of(&m, e->id);
			if (!*slot && e->type != SM_EV_ISSUE) {
				rc = sm_err_set(err, SM_EVERIFY, "log", "entry %llu: %s of %s, which was never issued",
						(unsigned long long)i, sm_event_name(e->type), e->id);
			} else {
				sm_cert *state = *slot ? *slot : sm_cert_new();
				if (!state)
					rc = SM_ENOMEM;
				else if (e->type == SM_EV_ISSUE && !*slot && (rc = sm_cert_validate(e->cert, prev->levels, err)))
					rc = sm_err_wrap(err, SM_EVERIFY, "log", "entry %llu issues an invalid record",
							(unsigned long long)i);
				else if ((rc = sm_cert_apply(state, e, i, err)))
					rc = sm_err_wrap(err, SM_EVERIFY, "log", "entry %llu", (unsigned long long)i);
				if (!*slot && state) {
					if (rc) {
						sm_cert_free(state);
					} else {
						*slot = state;
						m.n++;
					}
				}
			}
		}
		sm_event_free(e);
		sm_cose_free(c);
		if (progress && (i % 4096 == 4095 || i + 1 == size))
			progress(pctx, i + 1, size);
	}
	if (!rc) {
		uint8_t stored[SM_HASH_LEN];
		sm_merkle_frontier_root(&f, rep->root);
		if ((rc = sm_store_log_root(t, size, stored)) || memcmp(stored, rep->root, SM_HASH_LEN) != 0)
			rc = sm_err_set(err, SM_EVERIFY, "log", "the stored tree root differs from the root of the entries");
	}
	if (!rc) {
		uint64_t tiles = 0;
		char bad[160] = "";
		if ((rc = sm_store_tiles_check(t, &tiles, bad, sizeof(bad))))
			rc = sm_err_set(err, SM_EVERIFY, "log", "the stored tiles disagree with the tree: %s", bad);
		/* the tiles every complete 256-leaf subtree must have */
		uint64_t want = 0;
		for (uint64_t span = 256; span && span <= size; span = span > UINT64_MAX / 256 ? 0 : span * 256)
			want += size / span;
		if (!rc && tiles != want)
			rc = sm_err_set(err, SM_EVERIFY, "log", "the store has %llu tiles, the tree needs %llu",
					(unsigned long long)tiles, (unsigned long long)want);
	}
	if (!rc) {
		uint64_t cur = 0;
		if (sm_store_meta_get_u64(t, "trust_index", &cur) || cur != trust_index)
			rc = sm_err_set(err, SM_EVERIFY, "trust", "the current trust bundle is not the last one in the log");
	}
	if (!rc) {
		struct cmp_ctx cc = { &m, 0, err };
		rc = sm_store_cert_foreach(t, compare_stored, &cc);
		if (!rc && cc.seen != m.n)
			rc = sm_err_set(err, SM_EVERIFY, "store", "the log issued %zu certificates, the store holds %llu", m.n,
					(unsigned long long)cc.seen);
		rep->certificates = cc.seen;
	}
	if (!rc) {
		struct policy_cmp pc = { &pf, 0, err };
		rc = sm_store_policy_foreach(t, compare_policy, &pc);
		if (!rc && pc.seen != pf.n)
			rc = sm_err_set(err, SM_EVERIFY, "store", "the log publishes %zu policies, the store holds %zu", pf.n,
					pc.seen);
		rep->policies = pf.n;
	}
	for (size_t i = 0; i < m.cap && !rc; i++) {
		const sm_cert *c = m.slots[i];
		for (size_t j = 0; c && j < c->nmodels && !rc; j++) {
			struct model_ctx mc = { c->id, false };
			if ((rc = sm_store_model_foreach(t, c->vendor, c->models[j], model_hit, &mc)) == 0 && !mc.found)
				rc = sm_err_set(err, SM_EVERIFY, "store", "the model index lacks %s %s of %s", c->vendor,
						c->models[j], c->id);
		}
	}
	for (size_t i = 0; i < m.cap && !rc; i++)
		if (m.slots[i])
			rc = check_derived(t, prev, m.slots[i], err);
	if (!rc)
		rc = check_meta(t, &m, prev, err);
	if (!rc) {
		char bad[200] = "";
		if ((rc = sm_store_tables_check(t, bad, sizeof(bad))))
			rc = sm_err_set(err, SM_EVERIFY, "store", "%s", bad);
	}
	/* a read that fails half-way through a walk of a store opened fine is damage, not a passing fault */
	if (rc == SM_ESTORE && t)
		rc = sm_err_wrap(err, SM_EVERIFY, "store", "the store cannot be read through");
	if (rc && err && !err->msg[0])
		sm_err_set(err, rc, NULL, "log verify failed: %s", sm_strerror(rc));
	if (rc == SM_EVERIFY)
		sm_registry_set_suspect(r, err && err->msg[0] ? err->msg : "log verify failed");
	rep->entries = size;
	sm_store_abort(t);
	map_free(&m);
	policy_fold_free(&pf);
	free(tr);
	free(prev);
	return rc;
}

/* ---- the quick check at start ---- */

#define SPOT_CHECKS 64

/* The saved checkpoint (the file `checkpoint`), verified under a log key of the bundle: 1 when there is one,
 * 0 when none was saved, or an error. */
static int saved_checkpoint(sm_registry *r, sm_checkpoint *cp, sm_err *err)
{
	char path[4200], text[SM_NOTE_MAX];
	snprintf(path, sizeof(path), "%s/checkpoint", r->dir);
	FILE *f = fopen(path, "r");
	if (!f)
		return 0;
	size_t n = fread(text, 1, sizeof(text) - 1, f);
	fclose(f);
	text[n] = '\0';
	const sm_trust *tr = sm_registry_trust_now(r);
	for (size_t i = 0; i < tr->nkeys; i++) {
		sm_key *pub = NULL;
		char *vkey = NULL;
		if (tr->keys[i].role != SM_ROLE_LOG || sm_key_from_public(tr->keys[i].pub, &pub))
			continue;
		vkey = sm_note_vkey(tr->origin, pub);
		int rc = vkey ? sm_checkpoint_verify(text, n, vkey, cp, NULL) : SM_ENOMEM;
		free(vkey);
		sm_key_free(pub);
		if (!rc && strcmp(cp->origin, tr->origin) == 0)
			return 1;
	}
	return sm_err_set(err, SM_EVERIFY, "checkpoint", "the saved checkpoint %s is not signed by a log key of this registry",
			  path);
}

/* The stored state of `id` against the fold of the entries its history names. */
static int spot_check(sm_txn *t, int levels, const char *id, const uint8_t *p, size_t n, sm_err *err)
{
	sm_cert *stored = NULL, *state = sm_cert_new();
	sm_buf b = SM_BUF_INIT;
	int rc = state ? sm_cert_decode(p, n, &stored, NULL) : SM_ENOMEM;
	for (size_t i = 0; !rc && i < stored->nhistory; i++) {
		const uint8_t *ep;
		size_t en, pn;
		sm_cose *c = NULL;
		sm_event *e = NULL;
		uint64_t at = stored->history[i].index;
		rc = sm_store_log_entry(t, at, &ep, &en);
		if (!rc)
			rc = sm_cose_decode(ep, en, &c, NULL);
		if (!rc && sm_cose_type(c) != SM_COSE_EVENT)
			rc = SM_EVERIFY;
		if (!rc) {
			const uint8_t *payload = sm_cose_payload(c, &pn);
			rc = sm_event_decode(payload, pn, &e, NULL);
		}
		if (!rc && strcmp(e->id, id) != 0)
			rc = SM_EVERIFY;
		/* as issue and log verify do: the record validated (which puts it in canonical form), then folded */
		if (!rc && e->type == SM_EV_ISSUE && i == 0 && e->cert)
			rc = sm_cert_validate(e->cert, levels, NULL);
		if (!rc)
			rc = sm_cert_apply(state, e, at, NULL);
		sm_event_free(e);
		sm_cose_free(c);
	}
	if (!rc)
		rc = sm_cert_encode(state, &b);
	if (!rc && (b.len != n || memcmp(b.data, p, n) != 0))
		rc = SM_EVERIFY;
	sm_buf_cleanup(&b);
	sm_cert_free(state);
	sm_cert_free(stored);
	char q[SM_SHOWN_ID];
	return rc == SM_ENOMEM ? rc
	       : rc ? sm_err_set(err, SM_EVERIFY, "store", "the stored state of %s differs from the fold of its events",
				 sm_shown_id(q, id))
		    : 0;
}

struct spot_ctx {
	sm_txn *t;
	int levels;
	size_t i, total, step, checked;
	sm_err *err;
};

static int spot_visit(void *vctx, const char *id, const uint8_t *p, size_t n)
{
	struct spot_ctx *s = vctx;
	size_t i = s->i++;
	if (i % s->step != 0 && i + 1 != s->total)
		return 0;
	s->checked++;
	return spot_check(s->t, s->levels, id, p, n, s->err);
}

static int nothing(void *ctx, const char *id, const uint8_t *p, size_t n)
{
	return 0;
}

int sm_registry_quick_check(sm_registry *r, sm_quick_report *rep, sm_err *err)
{
	sm_txn *t = NULL;
	sm_checkpoint cp;
	sm_merkle_frontier f;
	uint8_t root[SM_HASH_LEN], stored[SM_HASH_LEN];
	uint64_t size = 0;
	bool cp_seen = false;
	memset(rep, 0, sizeof(*rep));
	memset(&cp, 0, sizeof(cp));
	sm_merkle_frontier_init(&f);
	int have = saved_checkpoint(r, &cp, err);
	int rc = have < 0 ? have : sm_store_begin(r->store, false, &t, err);
	if (!rc)
		rc = sm_store_log_size(t, &size);
	if (!rc && have && cp.size > size)
		rc = sm_err_set(err, SM_EVERIFY, "log", "the store's log has %llu entries, fewer than the %llu of its saved "
				"checkpoint: entries were lost", (unsigned long long)size, (unsigned long long)cp.size);
	for (uint64_t i = 0; i < size && !rc; i++) {
		const uint8_t *p;
		size_t n;
		uint8_t leaf[SM_HASH_LEN];
		if (sm_store_log_entry(t, i, &p, &n) != 0) {
			rc = sm_err_set(err, SM_EVERIFY, "log", "entry %llu of %llu is missing", (unsigned long long)i,
					(unsigned long long)size);
			break;
		}
		sm_merkle_leaf_hash(p, n, leaf);
		sm_merkle_frontier_push(&f, leaf);
		if (have && i + 1 == cp.size) {
			cp_seen = true;
			sm_merkle_frontier_root(&f, root);
			if (memcmp(root, cp.root, SM_HASH_LEN) != 0)
				rc = sm_err_set(err, SM_EVERIFY, "log", "the entries disagree with the saved checkpoint of size %llu",
						(unsigned long long)cp.size);
		}
	}
	if (!rc) {
		sm_merkle_frontier_root(&f, root);
		if (sm_store_log_root(t, size, stored) != 0 || memcmp(stored, root, SM_HASH_LEN) != 0)
			rc = sm_err_set(err, SM_EVERIFY, "log", "the stored tree root differs from the root of the entries");
	}
	rep->entries = size;
	rep->checkpoint = cp_seen ? cp.size : 0;
	if (!rc) {
		struct spot_ctx sc = { t, sm_registry_trust_now(r)->levels, 0, 0, 1, 0, err };
		rc = sm_store_cert_page(t, SIZE_MAX, 1, &sc.total, nothing, NULL);
		sc.step = sc.total > SPOT_CHECKS ? (sc.total + SPOT_CHECKS - 2) / (SPOT_CHECKS - 1) : 1;
		if (!rc)
			rc = sm_store_cert_foreach(t, spot_visit, &sc);
		rep->spot_checked = sc.checked;
	}
	if (rc == SM_ESTORE && t)
		rc = sm_err_set(err, SM_EVERIFY, "store", "the store cannot be read through");
	sm_store_abort(t);
	if (rc == SM_EVERIFY)
		sm_registry_set_suspect(r, err && err->msg[0] ? err->msg : "the quick check failed");
	return rc;
}
