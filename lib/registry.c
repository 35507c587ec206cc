/* SPDX-License-Identifier: Apache-2.0 */
/* The registry facade: init/open, issue and events, list/search, the log, keys, tokens. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/crypto.h>
#include <openssl/rand.h>

#include "registry_int.h"
#include "starmark/checkpoint.h"
#include "starmark/codec.h"
#include "starmark/cose.h"

/* ---- keys ---- */

static void key_path(const sm_registry *r, int role, const uint8_t kid[SM_KID_LEN], char *out, size_t cap)
{
	char *hex = sm_hex_encode(kid, SM_KID_LEN);
	snprintf(out, cap, "%s/keys/%s-%s.key", r->dir, sm_role_name(role), hex ? hex : "");
	free(hex);
}

int sm_registry_key(sm_registry *r, int role, const sm_key **out, sm_err *err)
{
	struct trust_gen *g = atomic_load(&r->gen);
	uint8_t pub[SM_PUBKEY_LEN], kid[32], have[SM_PUBKEY_LEN];
	sm_key *key = NULL;
	char path[4200];
	int rc = 0;
	pthread_mutex_lock(&r->lock);
	if (g->keys[role]) {
		*out = g->keys[role];
		goto out;
	}
	if (role == SM_ROLE_ROOT) {
		memcpy(pub, g->trust.root, SM_PUBKEY_LEN);
	} else {
		const sm_trust_key *k = sm_trust_current(&g->trust, role);
		if (!k) {
			rc = sm_err_set(err, SM_EKEY, "keys", "the trust bundle has no current %s key", sm_role_name(role));
			goto out;
		}
		memcpy(pub, k->pub, SM_PUBKEY_LEN);
	}
	sm_sha256(pub, SM_PUBKEY_LEN, kid);
	key_path(r, role, kid, path, sizeof(path));
	if ((rc = sm_key_load(path, r->passphrase, &key, err)))
		goto out;
	sm_key_public(key, have);
	if (memcmp(have, pub, SM_PUBKEY_LEN) != 0) {
		sm_key_free(key);
		rc = sm_err_set(err, SM_EKEY, "keys", "key file %s does not hold the %s key of the trust bundle", path,
				sm_role_name(role));
		goto out;
	}
	g->keys[role] = key;
	*out = key;
out:
	pthread_mutex_unlock(&r->lock);
	return rc;
}

int sm_registry_load_key(sm_registry *r, int role, sm_err *err)
{
	const sm_key *k = NULL;
	if (role < SM_ROLE_ROOT || role > SM_ROLE_LOG)
		return sm_err_set(err, SM_EINVAL, "role", "no such role %d", role);
	return sm_registry_key(r, role, &k, err);
}

static int save_key(const sm_registry *r, int role, const sm_key *k, sm_err *err)
{
	uint8_t kid[SM_KID_LEN];
	char path[4200];
	sm_key_kid(k, kid);
	key_path(r, role, kid, path, sizeof(path));
	return sm_key_save(k, path, r->passphrase, err);
}

/* ---- the trust bundle ---- */

/* The meta key under which the log index of bundle `version` is kept. */
static void version_key(uint64_t version, char *out, size_t cap)
{
	snprintf(out, cap, "trust_v%llu", (unsigned long long)version);
}

static void gen_free(struct trust_gen *g)
{
	while (g) {
		struct trust_gen *older = g->older;
		for (int i = 0; i < 4; i++)
			sm_key_free(g->keys[i]);
		sm_trust_chain_cleanup(&g->chain);
		free(g->signed_bytes);
		free(g);
		g = older;
	}
}

/*
 * Every bundle version up to the current one, in order: by the index each was appended at
 * (trust_v<N>), or for a store written before that index existed, by one pass over the log.
 */
static int load_chain(sm_txn *t, uint64_t newest, sm_trust_chain *chain, sm_err *err)
{
	char key[40];
	uint64_t idx, size = 0;
	const uint8_t *p;
	size_t n;
	int rc = 0;
	for (uint64_t v = 1; v <= newest && !rc; v++) {
		version_key(v, key, sizeof(key));
		if (sm_store_meta_get_u64(t, key, &idx) != 0)
			break;
		if (!(rc = sm_store_log_entry(t, idx, &p, &n)))
			rc = sm_trust_chain_add(chain, p, n, err);
	}
	if (rc || sm_trust_chain_newest(chain) == newest)
		return rc;
	sm_trust_chain_cleanup(chain);
	if ((rc = sm_store_log_size(t, &size)))
		return rc;
	for (uint64_t i = 0; i < size && !rc && sm_trust_chain_newest(chain) < newest; i++) {
		sm_cose *c = NULL;
		if (!(rc = sm_store_log_entry(t, i, &p, &n)) && sm_cose_decode(p, n, &c, NULL) == 0 &&
		    sm_cose_type(c) == SM_COSE_TRUST)
			rc = sm_trust_chain_add(chain, p, n, err);
		sm_cose_free(c);
	}
	if (!rc && sm_trust_chain_newest(chain) != newest)
		rc = sm_err_set(err, SM_ESTORE, "db", "the log holds trust bundles up to version %llu, not %llu",
				(unsigned long long)sm_trust_chain_newest(chain), (unsigned long long)newest);
	return rc;
}

/* The current bundle of the store as seen in `t`, with its chain, as a new generation. */
static int load_gen(sm_txn *t, struct trust_gen **out, sm_err *err)
{
	uint64_t idx;
	const uint8_t *p;
	size_t n;
	struct trust_gen *g = calloc(1, sizeof(*g));
	*out = NULL;
	if (!g)
		return sm_err_set(err, SM_ENOMEM, NULL, "out of memory");
	int rc = sm_store_meta_get_u64(t, "trust_index", &idx);
	if (!rc)
		rc = sm_store_log_entry(t, idx, &p, &n);
	if (rc) {
		rc = sm_err_set(err, SM_ESTORE, "db", "the store has no trust bundle: %s", sm_strerror(rc));
	} else if (sm_trust_peek(p, n, &g->trust, err) != 0) {
		rc = sm_err_wrap(err, SM_ESTORE, "db", "the stored trust bundle is damaged");
	} else if (!(g->signed_bytes = malloc(n))) {
		rc = sm_err_set(err, SM_ENOMEM, NULL, "out of memory");
	} else {
		memcpy(g->signed_bytes, p, n);
		g->signed_len = n;
		g->index = idx;
		if ((rc = load_chain(t, g->trust.version, &g->chain, err)) && rc != SM_ENOMEM)
			rc = sm_err_wrap(err, SM_ESTORE, "db", "the stored trust bundles");
	}
	if (rc) {
		gen_free(g);
		return rc;
	}
	*out = g;
	return 0;
}

int sm_registry_trust_fresh(sm_registry *r, sm_txn *t, sm_err *err)
{
	uint64_t idx = 0;
	struct trust_gen *fresh = NULL;
	int rc = sm_store_meta_get_u64(t, "trust_index", &idx);
	if (rc)
		return sm_err_set(err, SM_ESTORE, "db", "the store has no trust bundle: %s", sm_strerror(rc));
	if (idx == atomic_load(&r->gen)->index)
		return 0;
	pthread_mutex_lock(&r->lock);
	struct trust_gen *cur = atomic_load(&r->gen);
	/* another thread may have made it current meanwhile; a reader of an older snapshot of the store
	 * (a read transaction begun before the rotation) never makes an older bundle current again */
	if (idx > cur->index && !(rc = load_gen(t, &fresh, err))) {
		fresh->older = cur;
		atomic_store(&r->gen, fresh);
	}
	pthread_mutex_unlock(&r->lock);
	return rc;
}

void sm_registry_check_readers(sm_registry *r)
{
	sm_store_check_readers(r->store);
}

int sm_registry_trust_reload(sm_registry *r, bool *changed, sm_err *err)
{
	sm_txn *t = NULL;
	uint64_t before = atomic_load(&r->gen)->trust.version;
	int rc = sm_store_begin(r->store, false, &t, err);
	if (!rc)
		rc = sm_registry_trust_fresh(r, t, err);
	sm_store_abort(t);
	*changed = !rc && atomic_load(&r->gen)->trust.version != before;
	return rc;
}

/* Sign a bundle with the root key(s), append it to the log and make it current. */
static int append_trust(sm_txn *t, const sm_trust *tr, const sm_key *root, sm_err *err)
{
	sm_buf payload = SM_BUF_INIT;
	uint8_t *signed_bytes = NULL;
	size_t sn = 0;
	uint64_t idx;
	char key[40];
	version_key(tr->version, key, sizeof(key));
	int rc = sm_trust_encode(tr, &payload);
	if (!rc)
		rc = sm_cose_sign1(root, SM_COSE_TRUST, payload.data, payload.len, true, &signed_bytes, &sn);
	if (!rc)
		rc = sm_store_log_append(t, signed_bytes, sn, &idx);
	if (!rc)
		rc = sm_store_meta_put_u64(t, "trust_index", idx);
	if (!rc)
		rc = sm_store_meta_put_u64(t, "trust_version", tr->version);
	if (!rc)
		rc = sm_store_meta_put_u64(t, key, idx);
	if (rc)
		rc = sm_err_set(err, rc, "trust", "cannot record the trust bundle: %s", sm_strerror(rc));
	free(signed_bytes);
	sm_buf_cleanup(&payload);
	return rc;
}

const sm_trust *sm_registry_trust(sm_registry *r)
{
	return sm_registry_trust_now(r);
}

int sm_registry_trust_signed(sm_registry *r, uint8_t **out, size_t *n, sm_err *err)
{
	struct trust_gen *g = atomic_load(&r->gen);
	*out = malloc(g->signed_len);
	if (!*out)
		return sm_err_set(err, SM_ENOMEM, NULL, "out of memory");
	memcpy(*out, g->signed_bytes, g->signed_len);
	*n = g->signed_len;
	return 0;
}

int sm_registry_trust_chain(sm_registry *r, uint64_t from, sm_trust_chain *out, sm_err *err)
{
	struct trust_gen *g = atomic_load(&r->gen);
	int rc = 0;
	memset(out, 0, sizeof(*out));
	if (from < 1 || from > g->trust.version)
		return sm_err_set(err, SM_ENOTFOUND, "version", "the registry has trust bundle versions 1..%llu",
				  (unsigned long long)g->trust.version);
	for (size_t i = 0; i < g->chain.n && !rc; i++)
		if (g->chain.v[i].version >= from)
			rc = sm_trust_chain_add(out, g->chain.v[i].p, g->chain.v[i].n, err);
	if (rc)
		sm_trust_chain_cleanup(out);
	return rc;
}

/* ---- init / open ---- */

static int check_origin(const char *o, sm_err *err)
{
	size_t n = strlen(o);
	bool ok = n > 0 && n <= 200;
	for (size_t i = 0; ok && i < n; i++)
		ok = (unsigned char)o[i] > 0x20 && (unsigned char)o[i] < 0x7f && o[i] != '+';
	if (!ok)
		return sm_err_set(err, SM_EINVAL, "origin",
				  "origin must be 1-200 printable ASCII characters without spaces or '+' (e.g. registry.example.jp)");
	return 0;
}

int sm_registry_init(const char *dir, const sm_init_opts *o, char fingerprint[65], sm_err *err)
{
	int rc;
	sm_registry r = { 0 };
	sm_trust *tr = NULL;
	sm_key *keys[4] = { NULL };
	sm_txn *t = NULL;
	char path[4200];
	struct stat st;

	if ((rc = sm_check_text(o->scheme, SM_SCHEME_MAX, "scheme", err)) || (rc = check_origin(o->origin, err)))
		return rc;
	if (o->levels < 1 || o->levels > SM_LEVELS_MAX)
		return sm_err_set(err, SM_EINVAL, "levels", "levels must be 1..%d, not %d", SM_LEVELS_MAX, o->levels);
	if (strlen(dir) > 4000)
		return sm_err_set(err, SM_EINVAL, "db", "the registry path is too long");
	if (mkdir(dir, 0700) != 0 && errno != EEXIST)
		return sm_err_set(err, SM_EIO, "db", "cannot create %s: %s", dir, strerror(errno));
	snprintf(path, sizeof(path), "%s/data.mdb", dir);
	if (stat(path, &st) == 0)
		return sm_err_set(err, SM_EEXIST, "db", "%s holds a registry already", dir);
	snprintf(path, sizeof(path), "%s/keys", dir);
	if (mkdir(path, 0700) != 0 && errno != EEXIST)
		return sm_err_set(err, SM_EIO, "db", "cannot create %s: %s", path, strerror(errno));

	r.dir = strdup(dir);
	r.passphrase = o->passphrase ? strdup(o->passphrase) : NULL;
	tr = calloc(1, sizeof(*tr));
	if (!tr || !r.dir || (o->passphrase && !r.passphrase)) {
		rc = sm_err_set(err, SM_ENOMEM, NULL, "out of memory");
		goto out;
	}
	for (int role = 0; role < 4; role++) {
		if ((rc = sm_key_generate(&keys[role])) || (rc = save_key(&r, role, keys[role], err)))
			goto out;
	}
	tr->version = 1;
	tr->at = o->now;
	sm_key_public(keys[SM_ROLE_ROOT], tr->root);
	snprintf(tr->scheme, sizeof(tr->scheme), "%s", o->scheme);
	snprintf(tr->origin, sizeof(tr->origin), "%s", o->origin);
	tr->levels = o->levels;
	for (int role = SM_ROLE_ISSUER; role <= SM_ROLE_LOG; role++) {
		sm_trust_key *k = &tr->keys[tr->nkeys++];
		k->role = role;
		sm_key_public(keys[role], k->pub);
		sm_key_kid(keys[role], k->kid);
		k->not_before = o->now;
		k->not_after = 0;
	}
	if ((rc = sm_store_open(dir, true, false, &r.store, err)) || (rc = sm_store_begin(r.store, true, &t, err)))
		goto out;
	if ((rc = append_trust(t, tr, keys[SM_ROLE_ROOT], err)) ||
	    (rc = sm_store_meta_put_u64(t, "format", SM_STORE_FORMAT)) || (rc = sm_store_meta_put_u64(t, "next_serial", 1))) {
		rc = sm_err_set(err, rc, "db", "cannot initialise the store: %s", sm_strerror(rc));
		goto out;
	}
	rc = sm_store_commit(t, err);
	t = NULL;
	if (!rc)
		sm_key_fingerprint(tr->root, fingerprint);
out:
	sm_store_abort(t);
	sm_store_close(r.store);
	for (int i = 0; i < 4; i++)
		sm_key_free(keys[i]);
	free(tr);
	free(r.dir);
	if (r.passphrase) {
		OPENSSL_cleanse(r.passphrase, strlen(r.passphrase));
		free(r.passphrase);
	}
	return rc;
}

int sm_registry_open(const char *dir, bool write, const char *passphrase, sm_registry **out, sm_err *err)
{
	sm_txn *t = NULL;
	uint64_t format = 0;
	sm_registry *r = calloc(1, sizeof(*r));
	if (!r)
		return sm_err_set(err, SM_ENOMEM, NULL, "out of memory");
	r->write = write;
	pthread_mutex_init(&r->lock, NULL);
	r->dir = strdup(dir);
	r->passphrase = passphrase ? strdup(passphrase) : NULL;
	int rc = (!r->dir || (passphrase && !r->passphrase)) ? sm_err_set(err, SM_ENOMEM, NULL, "out of memory") : 0;
	if (!rc)
		rc = sm_store_open(dir, false, !write, &r->store, err);
	if (!rc)
		rc = sm_store_begin(r->store, false, &t, err);
	if (!rc) {
		int frc = sm_store_meta_get_u64(t, "format", &format);
		if (frc || format != SM_STORE_FORMAT)
			rc = sm_err_set(err, SM_ESTORE, "db", "%s is not a starmark store of format %d", dir, SM_STORE_FORMAT);
	}
	struct trust_gen *g = NULL;
	if (!rc && !(rc = load_gen(t, &g, err)))
		atomic_store(&r->gen, g);
	sm_store_abort(t);
	if (rc) {
		sm_registry_close(r);
		return rc;
	}
	*out = r;
	return 0;
}

void sm_registry_close(sm_registry *r)
{
	if (!r)
		return;
	gen_free(atomic_load(&r->gen));
	pthread_mutex_destroy(&r->lock);
	sm_store_close(r->store);
	if (r->passphrase) {
		OPENSSL_cleanse(r->passphrase, strlen(r->passphrase));
		free(r->passphrase);
	}
	free(r->dir);
	free(r);
}

/* ---- changes: every one is a signed event appended with its state in one transaction ---- */

int sm_registry_append_event(sm_registry *r, sm_txn *t, sm_event *e, const sm_cert *old, sm_cert **out,
			     sm_err *err)
{
	const sm_key *issuer = NULL;
	sm_buf payload = SM_BUF_INIT;
	uint8_t *entry = NULL;
	size_t en = 0;
	uint64_t index = 0, size = 0;
	sm_cert *state = old ? sm_cert_dup(old) : sm_cert_new();
	int rc = state ? 0 : sm_err_set(err, SM_ENOMEM, NULL, "out of memory");
	if (!rc)
		rc = sm_registry_trust_fresh(r, t, err);
	if (!rc)
		rc = sm_registry_key(r, SM_ROLE_ISSUER, &issuer, err);
	if (!rc)
		rc = sm_store_log_size(t, &size);
	if (!rc)
		rc = sm_cert_apply(state, e, size, err);
	if (!rc && (rc = sm_event_encode(e, &payload)) == 0 &&
	    (rc = sm_cose_sign1(issuer, SM_COSE_EVENT, payload.data, payload.len, true, &entry, &en)) == 0 &&
	    (rc = sm_store_log_append(t, entry, en, &index)) == 0 && (rc = sm_store_cert_put(t, state, old)) == 0)
		rc = sm_registry_statement_changed(r, t, state, e->at, err);
	if (rc && err && !err->msg[0])
		sm_err_set(err, rc, NULL, "cannot record the %s of %s: %s", sm_event_name(e->type), e->id, sm_strerror(rc));
	free(entry);
	sm_buf_cleanup(&payload);
	if (!rc && out) {
		*out = state;
		state = NULL;
	}
	sm_cert_free(state);
	return rc;
}

static int next_id(sm_txn *t, const sm_cert *draft, char id[SM_ID_MAX + 1])
{
	uint64_t serial;
	int rc = sm_store_meta_get_u64(t, "next_serial", &serial);
	if (rc)
		return rc;
	if (serial > 999999999)
		return SM_ESTATE; /* the id format's serials are used up: not a lack of space */
	char date[11];
	sm_date_format(draft->registered, date);
	snprintf(id, SM_ID_MAX + 1, "SM-%.4s-%06llu", date, (unsigned long long)serial);
	return sm_store_meta_put_u64(t, "next_serial", serial + 1);
}

/*
 * For the store's certificate walks when the callback wants the certificate, not its encoding:
 * pass decode_each as the store callback and a `struct decoded` as its context. Each state is
 * decoded and handed to fn, which may take it (setting *c to NULL); what it leaves is freed after.
 * fn returns non-zero to stop the walk; a state that does not decode stops it with SM_ESTORE.
 */
typedef int (*cert_visit_fn)(void *ctx, const char *id, sm_cert **c);
struct decoded {
	cert_visit_fn fn;
	void *ctx;
};

static int decode_each(void *vctx, const char *id, const uint8_t *p, size_t n)
{
	const struct decoded *d = vctx;
	sm_cert *c = NULL;
	if (sm_cert_decode(p, n, &c, NULL))
		return SM_ESTORE;
	int rc = d->fn(d->ctx, id, &c);
	sm_cert_free(c);
	return rc;
}

struct dup_ctx {
	sm_date registered;
	char found[SM_ID_MAX + 1];
};

static int dup_visit(void *vctx, const char *id, sm_cert **c)
{
	struct dup_ctx *d = vctx;
	if ((*c)->registered != d->registered)
		return 0;
	snprintf(d->found, sizeof(d->found), "%s", id);
	return 1; /* stop */
}

/* A duplicate: the same vendor, a shared model and the same registration date. */
static int check_duplicate(sm_txn *t, const sm_cert *draft, sm_err *err)
{
	struct dup_ctx d = { draft->registered, "" };
	struct decoded visit = { dup_visit, &d };
	for (size_t i = 0; i < draft->nmodels; i++) {
		int rc = sm_store_model_foreach(t, draft->vendor, draft->models[i], decode_each, &visit);
		if (rc == 1) {
			char date[11];
			sm_date_format(draft->registered, date);
			char q[SM_SHOWN_ID];
			return sm_err_set(err, SM_EEXIST, "models", "%s %s registered %s is already certified as %s",
					  draft->vendor, draft->models[i], date, sm_shown_id(q, d.found));
		}
		if (rc)
			return sm_err_set(err, rc, NULL, "cannot read the model index: %s", sm_strerror(rc));
	}
	return 0;
}

int sm_registry_validate_draft(sm_registry *r, sm_cert *draft, int64_t now, sm_err *err)
{
	int rc = sm_cert_validate(draft, sm_registry_trust_now(r)->levels, err);
	if (rc)
		return rc;
	/* a day of slack for time zones: a registration is dated where it happened */
	if (draft->registered > sm_date_from_time(now) + 1) {
		char d[11];
		sm_date_format(draft->registered, d);
		return sm_err_set(err, SM_EINVAL, "registered", "registration date %s is in the future", d);
	}
	return 0;
}

int sm_registry_find_duplicate(sm_txn *t, const sm_cert *draft, sm_err *err)
{
	return check_duplicate(t, draft, err);
}

/* A draft's own id (an import keeping ids): of this registry's form, its year the registration's, its serial
 * unused. The counter was moved past it before (sm_registry_import_many). */
static int take_given_id(sm_txn *t, const sm_cert *draft, sm_err *err)
{
	char held[SM_ID_MAX + 1], date[11];
	uint32_t serial = sm_store_id_serial(draft->id);
	int rc = sm_check_id(draft->id, err);
	if (rc)
		return rc;
	sm_date_format(draft->registered, date);
	if (strncmp(draft->id + 3, date, 4) != 0)
		return sm_err_set(err, SM_EINVAL, "id", "id %s does not carry the registration year %.4s", draft->id, date);
	rc = sm_store_serial_id(t, serial, held);
	char q[SM_SHOWN_ID];
	if (rc == 0)
		return sm_err_set(err, SM_EEXIST, "id", "id %s: serial %u is used already, by %s", draft->id, serial,
				  sm_shown_id(q, held));
	return rc == SM_ENOTFOUND ? 0 : sm_err_set(err, rc, NULL, "cannot read the serial index: %s", sm_strerror(rc));
}

/*
 * Event `i` of the history a draft brings (an import), for certificate `id` recorded at `now` with the
 * entry's time as its effective time; a firmware-revoke revokes the draft's revoked versions. The reason
 * and versions are borrowed from the draft: release with history_event_free. NULL on OOM.
 */
static sm_event *history_event(const sm_cert *draft, size_t i, const char *id, int64_t now)
{
	const sm_history *h = &draft->history[i];
	sm_event *e = sm_event_new(h->type);
	if (!e)
		return NULL;
	snprintf(e->id, sizeof(e->id), "%s", id);
	e->at = now;
	e->effective = h->at;
	e->reason = h->reason;
	if (h->type == SM_EV_FW_REVOKE) {
		e->versions = draft->revoked;
		e->nversions = draft->nrevoked;
	}
	return e;
}

static void history_event_free(sm_event *e)
{
	if (!e)
		return;
	e->reason = NULL;
	e->versions = NULL;
	e->nversions = 0;
	sm_event_free(e);
}

/* Append (t set) or only fold (t NULL: a check before the import) the history a draft brings after its issue. */
static int replay_history(sm_registry *r, sm_txn *t, const sm_cert *draft, sm_cert **state, int64_t now,
			  sm_err *err)
{
	int rc = 0;
	for (size_t i = 0; i < draft->nhistory && !rc; i++) {
		sm_cert *next = NULL;
		if (draft->history[i].type == SM_EV_ISSUE)
			continue;
		sm_event *e = history_event(draft, i, (*state)->id, now);
		if (!e)
			return sm_err_set(err, SM_ENOMEM, NULL, "out of memory");
		rc = sm_event_validate(e, err);
		if (!rc && t)
			rc = sm_registry_append_event(r, t, e, *state, &next, err);
		else if (!rc)
			rc = sm_cert_apply(*state, e, 0, err);
		history_event_free(e);
		if (!rc && next) {
			sm_cert_free(*state);
			*state = next;
		}
	}
	return rc;
}

int sm_registry_check_history(const sm_cert *draft, int64_t now, sm_err *err)
{
	sm_cert *state = sm_cert_new();
	sm_event *e = sm_event_new(SM_EV_ISSUE);
	int rc = state && e ? 0 : sm_err_set(err, SM_ENOMEM, NULL, "out of memory");
	if (!rc) {
		snprintf(e->id, sizeof(e->id), "%s", draft->id[0] ? draft->id : "this row");
		e->at = now;
		if (draft->nhistory && draft->history[0].type == SM_EV_ISSUE)
			e->effective = draft->history[0].at;
		e->cert = (sm_cert *)(uintptr_t)draft; /* borrowed for the call */
		if (!(rc = sm_event_validate(e, err)))
			rc = sm_cert_apply(state, e, 0, err);
		e->cert = NULL;
	}
	if (!rc)
		rc = replay_history(NULL, NULL, draft, &state, now, err);
	sm_event_free(e);
	sm_cert_free(state);
	return rc;
}

static int issue_in(sm_registry *r, sm_txn *t, sm_cert *draft, bool migrate, int64_t now, sm_cert **out, sm_err *err)
{
	sm_cert *state = NULL;
	int rc = check_duplicate(t, draft, err);
	if (rc)
		return rc;
	sm_event *e = sm_event_new(SM_EV_ISSUE);
	if (!e)
		return sm_err_set(err, SM_ENOMEM, NULL, "out of memory");
	snprintf(draft->scheme, sizeof(draft->scheme), "%s", sm_registry_trust_now(r)->scheme);
	if (migrate && draft->id[0]) {
		rc = take_given_id(t, draft, err);
		snprintf(e->id, sizeof(e->id), "%s", draft->id);
	} else if ((rc = next_id(t, draft, e->id))) {
		rc = sm_err_set(err, rc, NULL, "cannot assign an id: %s", sm_strerror(rc));
	}
	if (rc) {
		sm_event_free(e);
		return rc;
	}
	snprintf(draft->id, sizeof(draft->id), "%s", e->id);
	e->at = now;
	if (migrate && draft->nhistory && draft->history[0].type == SM_EV_ISSUE)
		e->effective = draft->history[0].at;
	e->cert = draft; /* borrowed for the call */
	if (!(rc = sm_event_validate(e, err)))
		rc = sm_registry_append_event(r, t, e, NULL, &state, err);
	e->cert = NULL;
	sm_event_free(e);
	if (!rc && migrate)
		rc = replay_history(r, t, draft, &state, now, err);
	if (!rc && out) {
		*out = state;
		state = NULL;
	}
	sm_cert_free(state);
	return rc;
}

/* The serial counter past the highest serial the drafts bring, so that no id it makes meets one of theirs. */
static int counter_past(sm_txn *t, sm_cert **drafts, size_t n)
{
	uint64_t next = 0, want = 0;
	for (size_t i = 0; i < n; i++) {
		uint64_t s = drafts[i]->id[0] ? sm_store_id_serial(drafts[i]->id) : 0;
		if (s >= want)
			want = s + 1;
	}
	if (want == 0)
		return 0;
	int rc = sm_store_meta_get_u64(t, "next_serial", &next);
	return rc || want <= next ? rc : sm_store_meta_put_u64(t, "next_serial", want);
}

static int need_write(sm_registry *r, sm_err *err)
{
	return r->write ? 0 : sm_err_set(err, SM_ESTORE, NULL, "the registry is open read-only");
}

int sm_registry_issue(sm_registry *r, sm_cert *draft, int64_t now, sm_cert **out, sm_err *err)
{
	sm_txn *t = NULL;
	int rc;
	if ((rc = need_write(r, err)) || (rc = sm_registry_validate_draft(r, draft, now, err)) ||
	    (rc = sm_store_begin(r->store, true, &t, err)))
		return rc;
	if ((rc = issue_in(r, t, draft, false, now, out, err))) {
		sm_store_abort(t);
		return rc;
	}
	return sm_store_commit(t, err);
}

static int issue_many(sm_registry *r, sm_cert **drafts, size_t n, bool migrate, int64_t now, sm_progress_fn progress,
		      void *pctx, sm_err *err)
{
	sm_txn *t = NULL;
	int rc;
	if ((rc = need_write(r, err)) || (rc = sm_store_begin(r->store, true, &t, err)))
		return rc;
	if (migrate && (rc = counter_past(t, drafts, n))) {
		sm_store_abort(t);
		return sm_err_set(err, rc, NULL, "cannot move the serial counter: %s", sm_strerror(rc));
	}
	r->defer_statements = true;
	for (size_t i = 0; i < n && !rc; i++) {
		rc = issue_in(r, t, drafts[i], migrate, now, NULL, err);
		if (rc && err)
			err->line = i + 1;
		if (progress && (i % 1024 == 1023 || i + 1 == n))
			progress(pctx, i + 1, n);
	}
	r->defer_statements = false;
	if (rc) {
		sm_store_abort(t);
		return rc;
	}
	return sm_store_commit(t, err);
}

int sm_registry_issue_many(sm_registry *r, sm_cert **drafts, size_t n, int64_t now, sm_progress_fn progress,
			   void *pctx, sm_err *err)
{
	return issue_many(r, drafts, n, false, now, progress, pctx, err);
}

int sm_registry_import_many(sm_registry *r, sm_cert **drafts, size_t n, int64_t now, sm_progress_fn progress,
			    void *pctx, sm_err *err)
{
	return issue_many(r, drafts, n, true, now, progress, pctx, err);
}

int sm_registry_event(sm_registry *r, sm_event *e, int64_t now, sm_cert **out, sm_err *err)
{
	sm_txn *t = NULL;
	sm_cert *old = NULL;
	int rc;
	if ((rc = need_write(r, err)))
		return rc;
	if (e->type == SM_EV_ISSUE)
		return sm_err_set(err, SM_EINVAL, "event", "use issue to create a certificate");
	e->at = now;
	if ((rc = sm_event_validate(e, err)) || (rc = sm_store_begin(r->store, true, &t, err)))
		return rc;
	if (!(rc = sm_store_cert_get(t, e->id, &old, err)))
		rc = sm_registry_append_event(r, t, e, old, out, err);
	sm_cert_free(old);
	if (rc) {
		sm_store_abort(t);
		return rc;
	}
	return sm_store_commit(t, err);
}

int sm_registry_get(sm_registry *r, const char *id, sm_cert **out, sm_err *err)
{
	sm_txn *t = NULL;
	int rc = sm_store_begin(r->store, false, &t, err);
	if (!rc)
		rc = sm_store_cert_get(t, id, out, err);
	sm_store_abort(t);
	return rc;
}

/* ---- list and search ---- */

struct list_ctx {
	const sm_filter *f;
	sm_cert_list *out;
	size_t cap;
	char **ids; /* vendor listing: ids seen (an id is listed once per model), a hash set */
	size_t nids, capids; /* capids: a power of two, at least twice nids */
	size_t scanned;
	bool dedupe;
};

static uint64_t id_hash(const char *s)
{
	uint64_t h = 1469598103934665603ull;
	for (; *s; s++)
		h = (h ^ (unsigned char)*s) * 1099511628211ull;
	return h;
}

/* Add `id` to the set: 1 when new, 0 when seen, SM_ENOMEM. */
static int seen_add(struct list_ctx *l, const char *id)
{
	if (2 * (l->nids + 1) > l->capids) {
		size_t nc = l->capids ? l->capids * 2 : 64;
		char **v = calloc(nc, sizeof(*v));
		if (!v)
			return SM_ENOMEM;
		for (size_t i = 0; i < l->capids; i++)
			if (l->ids[i]) {
				size_t j = id_hash(l->ids[i]) & (nc - 1);
				while (v[j])
					j = (j + 1) & (nc - 1);
				v[j] = l->ids[i];
			}
		free(l->ids);
		l->ids = v;
		l->capids = nc;
	}
	size_t j = id_hash(id) & (l->capids - 1);
	while (l->ids[j]) {
		if (strcmp(l->ids[j], id) == 0)
			return 0;
		j = (j + 1) & (l->capids - 1);
	}
	if (!(l->ids[j] = strdup(id)))
		return SM_ENOMEM;
	l->nids++;
	return 1;
}

/* Keep a certificate in the answer, taking it (left with the caller on failure): an unfiltered page. */
static int list_push(void *vctx, const char *id, sm_cert **c)
{
	struct list_ctx *l = vctx;
	if (l->out->n == l->cap) {
		size_t nc = l->cap ? l->cap * 2 : 32;
		sm_cert **v = realloc(l->out->v, nc * sizeof(*v));
		if (!v)
			return SM_ENOMEM;
		l->out->v = v;
		l->cap = nc;
	}
	l->out->v[l->out->n++] = *c;
	*c = NULL;
	return 0;
}

static bool wanted(const sm_filter *f, const sm_cert *c)
{
	if (f->level && c->level != f->level)
		return false;
	if (f->vendor && strcmp(c->vendor, f->vendor) != 0)
		return false;
	if (f->category && (!c->category || strcmp(c->category, f->category) != 0))
		return false;
	if (f->status >= 0 && sm_status_from_name(sm_cert_status_name(c, f->today)) != f->status)
		return false;
	if (f->model) {
		bool hit = false;
		for (size_t i = 0; i < c->nmodels && !hit; i++)
			hit = strcmp(c->models[i], f->model) == 0;
		if (!hit)
			return false;
	}
	return true;
}

/* A certificate of a filtered listing: counted when wanted, kept when on the page. */
static int list_keep(void *vctx, const char *id, sm_cert **c)
{
	struct list_ctx *l = vctx;
	if (!wanted(l->f, *c))
		return 0;
	size_t idx = l->out->total++;
	if (idx < l->f->offset || (l->f->limit && idx >= l->f->offset + l->f->limit))
		return 0;
	return list_push(l, id, c);
}

static int list_visit(void *vctx, const char *id, const uint8_t *p, size_t n)
{
	struct list_ctx *l = vctx;
	if (l->f->max_scan && ++l->scanned > l->f->max_scan)
		return SM_ETOOBIG;
	if (l->dedupe) {
		int fresh = seen_add(l, id);
		if (fresh <= 0)
			return fresh; /* seen already (0), or out of memory */
	}
	/* decoded only once the cheap checks pass */
	struct decoded keep = { list_keep, l };
	return decode_each(&keep, id, p, n);
}

int sm_registry_list(sm_registry *r, const sm_filter *f, sm_cert_list *out, sm_err *err)
{
	sm_txn *t = NULL;
	struct list_ctx l = { f, out, 0, NULL, 0, 0, 0, false };
	memset(out, 0, sizeof(*out));
	if (f->q) {
		int rc = sm_check_text(f->q, 200, "q", err);
		if (rc)
			return rc;
	}
	if (f->category) {
		int rc = sm_check_category(f->category, err);
		if (rc)
			return rc;
	}
	/* a level the scheme does not have is a mistake, as issue and check say: not an empty success */
	int levels = sm_registry_trust_now(r)->levels;
	if (f->level < 0 || f->level > levels)
		return sm_err_set(err, SM_EINVAL, "level", "level %d is not a level of this scheme (1..%d)", f->level, levels);
	int rc = sm_store_begin(r->store, false, &t, err);
	if (rc)
		return rc;
	bool unfiltered = !f->vendor && !f->model && !f->category && !f->level && f->status < 0;
	if (f->q) {
		rc = sm_store_search(t, f->q, list_visit, &l);
	} else if (unfiltered) {
		/* every certificate, a page of them: count and skip without decoding */
		struct decoded page = { list_push, &l };
		rc = sm_store_cert_page(t, f->offset, f->limit, &out->total, decode_each, &page);
	} else if (f->vendor) {
		l.dedupe = !f->model;
		rc = sm_store_model_foreach(t, f->vendor, f->model, list_visit, &l);
	} else {
		rc = sm_store_cert_foreach(t, list_visit, &l);
	}
	sm_store_abort(t);
	for (size_t i = 0; i < l.capids; i++)
		free(l.ids[i]);
	free(l.ids);
	if (rc == SM_ETOOBIG) {
		sm_cert_list_cleanup(out);
		return sm_err_set(err, rc, f->q ? "q" : NULL,
				  "the query matches too widely (over %zu certificates to examine): give more text, a vendor "
				  "or a level", f->max_scan);
	}
	if (rc) {
		sm_cert_list_cleanup(out);
		return sm_err_set(err, rc, NULL, "cannot list certificates: %s", sm_strerror(rc));
	}
	return 0;
}

void sm_cert_list_cleanup(sm_cert_list *l)
{
	for (size_t i = 0; i < l->n; i++)
		sm_cert_free(l->v[i]);
	free(l->v);
	memset(l, 0, sizeof(*l));
}

/* ---- the log ---- */

static int with_read(sm_registry *r, sm_txn **t, sm_err *err)
{
	return sm_store_begin(r->store, false, t, err);
}

int sm_registry_log_size(sm_registry *r, uint64_t *size, sm_err *err)
{
	sm_txn *t = NULL;
	int rc = with_read(r, &t, err);
	if (!rc)
		rc = sm_store_log_size(t, size);
	sm_store_abort(t);
	return rc;
}

int sm_registry_log_root(sm_registry *r, uint64_t size, uint8_t root[SM_HASH_LEN], sm_err *err)
{
	sm_txn *t = NULL;
	int rc = with_read(r, &t, err);
	if (!rc && (rc = sm_store_log_root(t, size, root)) == SM_EINVAL)
		rc = sm_err_set(err, SM_EINVAL, "size", "the log has fewer than %llu entries", (unsigned long long)size);
	sm_store_abort(t);
	return rc;
}

int sm_registry_checkpoint(sm_registry *r, char **text, sm_err *err)
{
	const sm_key *logkey = NULL;
	sm_checkpoint cp;
	sm_txn *t = NULL;
	memset(&cp, 0, sizeof(cp));
	int rc = with_read(r, &t, err);
	if (!rc)
		rc = sm_registry_trust_fresh(r, t, err);
	if (!rc)
		rc = sm_registry_key(r, SM_ROLE_LOG, &logkey, err);
	if (!rc && !(rc = sm_store_log_size(t, &cp.size)))
		rc = sm_store_log_root(t, cp.size, cp.root);
	sm_store_abort(t);
	snprintf(cp.origin, sizeof(cp.origin), "%s", sm_registry_trust_now(r)->origin);
	if (!rc)
		rc = sm_checkpoint_sign(&cp, logkey, text);
	return rc && err && !err->msg[0] ? sm_err_set(err, rc, NULL, "cannot make a checkpoint: %s", sm_strerror(rc)) : rc;
}

/* Write `n` bytes to `path` through a temporary file, synced, renamed into place. */
static int write_atomic(const char *dir, const char *name, const char *p, size_t n, sm_err *err)
{
	char path[4200], tmp[4300];
	snprintf(path, sizeof(path), "%s/%s", dir, name);
	snprintf(tmp, sizeof(tmp), "%s.tmp", path);
	int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	int rc = fd < 0 ? -1 : 0;
	size_t done = 0;
	while (!rc && done < n) {
		ssize_t w = write(fd, p + done, n - done);
		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			rc = -1;
		else
			done += (size_t)w;
	}
	if (!rc)
		rc = fsync(fd);
	int saved = errno;
	if (fd >= 0 && close(fd) != 0 && !rc) {
		rc = -1;
		saved = errno;
	}
	if (!rc && rename(tmp, path) != 0) {
		rc = -1;
		saved = errno;
	}
	if (!rc)
		return 0;
	unlink(tmp);
	if (saved == ENOSPC || saved == EDQUOT)
		return sm_err_set(err, SM_EFULL, "db", "no space left on the disk of %s: cannot write %s", dir, name);
	return sm_err_set(err, SM_EIO, "db", "cannot write %s: %s", path, strerror(saved));
}

int sm_registry_checkpoint_save(sm_registry *r, sm_err *err)
{
	char *text = NULL;
	int rc = sm_registry_checkpoint(r, &text, err);
	if (!rc)
		rc = write_atomic(r->dir, "checkpoint", text, strlen(text), err);
	free(text);
	return rc;
}

void sm_registry_health(sm_registry *r, sm_health *h)
{
	sm_store_health(r->store, h);
}

bool sm_registry_space_recheck(sm_registry *r)
{
	return sm_store_full_recheck(r->store);
}

void sm_registry_set_suspect(sm_registry *r, const char *why)
{
	sm_store_set_suspect(r->store, why);
}

int sm_registry_log_vkey(sm_registry *r, char **vkey, sm_err *err)
{
	const sm_trust *tr = sm_registry_trust_now(r);
	const sm_trust_key *k = sm_trust_current(tr, SM_ROLE_LOG);
	sm_key *pub = NULL;
	if (!k)
		return sm_err_set(err, SM_EKEY, "keys", "the trust bundle has no log key");
	int rc = sm_key_from_public(k->pub, &pub);
	if (rc)
		return sm_err_set(err, rc, "keys", "the log key is malformed");
	*vkey = sm_note_vkey(tr->origin, pub);
	sm_key_free(pub);
	return *vkey ? 0 : sm_err_set(err, SM_ENOMEM, NULL, "out of memory");
}

int sm_registry_entries(sm_registry *r, uint64_t start, uint64_t count, sm_entry_fn fn, void *ctx, sm_err *err)
{
	sm_txn *t = NULL;
	uint64_t size;
	int rc = with_read(r, &t, err);
	if (!rc)
		rc = sm_store_log_size(t, &size);
	for (uint64_t i = start; !rc && i < size && i - start < count; i++) {
		const uint8_t *p;
		size_t n;
		if (!(rc = sm_store_log_entry(t, i, &p, &n)))
			rc = fn(ctx, i, p, n);
	}
	sm_store_abort(t);
	return rc;
}

int sm_registry_inclusion(sm_registry *r, uint64_t index, uint64_t size, uint8_t proof[][SM_HASH_LEN], size_t *n,
			  sm_err *err)
{
	sm_txn *t = NULL;
	int rc = with_read(r, &t, err);
	if (!rc && (rc = sm_store_log_inclusion(t, index, size, proof, n)) == SM_EINVAL)
		rc = sm_err_set(err, SM_EINVAL, "index", "no entry %llu in a log of %llu entries", (unsigned long long)index,
				(unsigned long long)size);
	sm_store_abort(t);
	return rc;
}

int sm_registry_consistency(sm_registry *r, uint64_t size1, uint64_t size2, uint8_t proof[][SM_HASH_LEN], size_t *n,
			    sm_err *err)
{
	sm_txn *t = NULL;
	int rc = with_read(r, &t, err);
	if (!rc && (rc = sm_store_log_consistency(t, size1, size2, proof, n)) == SM_EINVAL)
		rc = sm_err_set(err, SM_EINVAL, "size", "sizes %llu and %llu are not two sizes of this log",
				(unsigned long long)size1, (unsigned long long)size2);
	sm_store_abort(t);
	return rc;
}

/* ---- tokens ---- */

const char *sm_token_role_name(int role)
{
	return role == SM_TOKEN_ISSUER ? "issuer" : role == SM_TOKEN_AUDITOR ? "auditor" : NULL;
}

int sm_token_role_from_name(const char *s)
{
	return strcmp(s, "issuer") == 0 ? SM_TOKEN_ISSUER : strcmp(s, "auditor") == 0 ? SM_TOKEN_AUDITOR : 0;
}

static int check_token_name(const char *name, sm_err *err)
{
	size_t n = strlen(name);
	bool ok = n >= 1 && n <= SM_TOKEN_NAME_MAX;
	for (size_t i = 0; ok && i < n; i++)
		ok = (name[i] >= 'a' && name[i] <= 'z') || (name[i] >= 'A' && name[i] <= 'Z') ||
		     (name[i] >= '0' && name[i] <= '9') || name[i] == '-' || name[i] == '_' || name[i] == '.';
	return ok ? 0 : sm_err_set(err, SM_EINVAL, "name", "a token name is 1-64 of letters, digits, '.', '_' and '-'");
}

int sm_registry_token_create(sm_registry *r, const char *name, int role, int64_t now, char **token, sm_err *err)
{
	uint8_t raw[32], hash[32];
	sm_txn *t = NULL;
	int rc;
	if ((rc = need_write(r, err)) || (rc = check_token_name(name, err)))
		return rc;
	if (!sm_token_role_name(role))
		return sm_err_set(err, SM_EINVAL, "role", "a token's role is issuer or auditor");
	if (RAND_bytes(raw, sizeof(raw)) != 1)
		return sm_err_set(err, SM_ECRYPTO, NULL, "no random bytes for a token");
	char *b = sm_base64url_encode(raw, sizeof(raw));
	OPENSSL_cleanse(raw, sizeof(raw));
	size_t tn = b ? strlen(b) + 5 : 0;
	char *tok = b ? malloc(tn) : NULL;
	if (!tok) {
		free(b);
		return sm_err_set(err, SM_ENOMEM, NULL, "out of memory");
	}
	snprintf(tok, tn, "smt_%s", b);
	OPENSSL_cleanse(b, strlen(b));
	free(b);
	sm_sha256(tok, strlen(tok), hash);
	if (!(rc = sm_store_begin(r->store, true, &t, err))) {
		rc = sm_store_token_put(t, name, role, hash, now);
		if (rc == SM_EEXIST)
			rc = sm_err_set(err, rc, "name", "a token named %s exists already", name);
		if (rc) {
			sm_store_abort(t);
		} else {
			rc = sm_store_commit(t, err);
		}
	}
	if (rc) {
		OPENSSL_cleanse(tok, strlen(tok));
		free(tok);
		return rc;
	}
	*token = tok;
	return 0;
}

int sm_registry_token_check(sm_registry *r, const char *token, int *role, char name[SM_TOKEN_NAME_MAX + 1])
{
	uint8_t hash[32];
	sm_txn *t = NULL;
	size_t n = strlen(token);
	if (n < 8 || n > 256)
		return SM_ENOTFOUND;
	/* The look-up is by the token's SHA-256, so its timing says nothing about the token itself. */
	sm_sha256(token, n, hash);
	int rc = sm_store_begin(r->store, false, &t, NULL);
	if (!rc)
		rc = sm_store_token_find(t, hash, role, name, SM_TOKEN_NAME_MAX + 1);
	sm_store_abort(t);
	return rc;
}

int sm_registry_token_revoke(sm_registry *r, const char *name, sm_err *err)
{
	sm_txn *t = NULL;
	int rc;
	if ((rc = need_write(r, err)) || (rc = sm_store_begin(r->store, true, &t, err)))
		return rc;
	rc = sm_store_token_del(t, name);
	if (rc) {
		sm_store_abort(t);
		return rc == SM_ENOTFOUND ? sm_err_set(err, rc, "name", "no token named %s", name)
					  : sm_err_set(err, rc, NULL, "cannot revoke the token: %s", sm_strerror(rc));
	}
	return sm_store_commit(t, err);
}

int sm_registry_token_list(sm_registry *r, sm_token_fn fn, void *ctx, sm_err *err)
{
	sm_txn *t = NULL;
	int rc = with_read(r, &t, err);
	if (!rc)
		rc = sm_store_token_foreach(t, fn, ctx);
	sm_store_abort(t);
	return rc;
}

/* ---- key rotation ---- */

int sm_registry_rotate(sm_registry *r, int role, int64_t now, sm_err *err)
{
	const sm_key *root = NULL;
	sm_key *fresh = NULL;
	sm_trust *next = NULL;
	sm_txn *t = NULL;
	int rc;
	if ((rc = need_write(r, err)))
		return rc;
	if (role < SM_ROLE_ROOT || role > SM_ROLE_LOG)
		return sm_err_set(err, SM_EINVAL, "role", "the roles are root, issuer, status and log");
	if (!(next = malloc(sizeof(*next))))
		return sm_err_set(err, SM_ENOMEM, NULL, "out of memory");
	/* the bundle rotated from is the store's current one, read in the transaction that appends */
	if ((rc = sm_store_begin(r->store, true, &t, err)) || (rc = sm_registry_trust_fresh(r, t, err)) ||
	    (rc = sm_registry_key(r, SM_ROLE_ROOT, &root, err)))
		goto out;
	*next = *sm_registry_trust_now(r);
	next->version++;
	next->at = now;
	if (next->nkeys >= SM_TRUST_MAX_KEYS) {
		rc = sm_err_set(err, SM_ETOOBIG, "keys", "the trust bundle holds %d keys already", SM_TRUST_MAX_KEYS);
		goto out;
	}
	if ((rc = sm_key_generate(&fresh)) || (rc = save_key(r, role, fresh, err)))
		goto out;
	next->has_root_proof = false;
	if (role == SM_ROLE_ROOT) {
		/* the old root signs the bundle (append_trust); the new one signs it too, in field 8 */
		sm_buf body = SM_BUF_INIT;
		sm_key_public(fresh, next->root);
		if (!(rc = sm_trust_encode_ex(next, false, &body)))
			rc = sm_key_sign(fresh, body.data, body.len, next->root_proof);
		sm_buf_cleanup(&body);
		if (rc)
			goto out;
		next->has_root_proof = true;
	} else {
		for (size_t i = 0; i < next->nkeys; i++)
			if (next->keys[i].role == role && next->keys[i].not_after == 0)
				next->keys[i].not_after = now;
		sm_trust_key *k = &next->keys[next->nkeys++];
		k->role = role;
		sm_key_public(fresh, k->pub);
		sm_key_kid(fresh, k->kid);
		k->not_before = now;
		k->not_after = 0;
	}
	if ((rc = append_trust(t, next, root, err)))
		goto out;
	rc = sm_store_commit(t, err);
	t = NULL;
	if (!rc && !(rc = sm_store_begin(r->store, false, &t, err)))
		rc = sm_registry_trust_fresh(r, t, err);
out:
	sm_store_abort(t);
	sm_key_free(fresh);
	free(next);
	return rc;
}

/* ---- checks ---- */

int sm_registry_check(sm_registry *r, const sm_check_req *q, const sm_policy *p, int64_t now, sm_check_result *res,
		      sm_err *err)
{
	sm_cert_list l = { 0 };
	sm_filter f = { 0 };
	memset(res, 0, sizeof(*res));
	int rc = sm_check_req_fits(q, p, sm_registry_trust_now(r)->levels, err);
	if (rc)
		return rc;
	f.vendor = q->vendor;
	f.model = q->model;
	f.status = -1;
	f.today = sm_date_from_time(now);
	if (!(rc = sm_registry_list(r, &f, &l, err)))
		rc = sm_verdict_eval(q, p, l.v, l.n, 0, now, res);
	sm_cert_list_cleanup(&l);
	return rc;
}
