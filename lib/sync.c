/* SPDX-License-Identifier: Apache-2.0 */
/* sync: fetch, verify and keep the newest trust, snapshot and checkpoint of a registry in a cache directory. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cache_int.h"
#include "starmark/codec.h"
#include "starmark/cose.h"
#include "starmark/json.h"
#include "starmark/keys.h"
#include "starmark/sync.h"

/* ---- pure decisions ---- */

void sm_snapshot_etag(uint64_t version, char out[32])
{
	snprintf(out, 32, "\"v%llu\"", (unsigned long long)version);
}

int sm_sync_snapshot_accept(const uint8_t *snap, size_t n, const sm_trust *trust,
                            const sm_snapshot_info *cached, const uint8_t cached_sha256[32], int64_t now,
                            sm_snapshot_info *out, bool *same, sm_err *err)
{
	sm_snapshot_info info;
	char exp[21];
	*same = false;
	int rc = sm_snapshot_verify(snap, n, trust, &info, NULL, NULL, err);
	if (rc)
		return rc;
	if (cached && info.version < cached->version)
		return sm_err_set(err, SM_EVERIFY, "snapshot",
		                  "the server offers snapshot version %llu, older than version %llu kept: "
		                  "refused (rollback)",
		                  (unsigned long long)info.version, (unsigned long long)cached->version);
	if (cached && info.version == cached->version) {
		uint8_t h[32];
		sm_sha256(snap, n, h);
		if (!cached_sha256 || memcmp(h, cached_sha256, 32) != 0)
			return sm_err_set(
			    err, SM_EVERIFY, "snapshot",
			    "the server offers another snapshot with the version %llu kept: refused",
			    (unsigned long long)info.version);
		*same = true;
	}
	if (now > info.expires) {
		sm_time_format(info.expires, exp);
		return sm_err_set(
		    err, SM_EVERIFY, "snapshot",
		    "snapshot version %llu expired at %s: refused (the registry data is frozen or the clock "
		    "is wrong)",
		    (unsigned long long)info.version, exp);
	}
	*out = info;
	return 0;
}

int sm_sync_consistent(uint64_t old_size, const uint8_t old_root[SM_HASH_LEN], uint64_t new_size,
                       const uint8_t new_root[SM_HASH_LEN], const uint8_t proof[][SM_HASH_LEN], size_t n,
                       sm_err *err)
{
	if (new_size < old_size)
		return sm_err_set(err, SM_EVERIFY, "checkpoint", "the log shrank from %llu to %llu entries",
		                  (unsigned long long)old_size, (unsigned long long)new_size);
	if (new_size == old_size) {
		if (memcmp(old_root, new_root, SM_HASH_LEN) != 0)
			return sm_err_set(err, SM_EVERIFY, "checkpoint",
			                  "two different logs of %llu entries (a fork)",
			                  (unsigned long long)old_size);
		return 0;
	}
	if (old_size == 0)
		return 0;
	if (sm_merkle_verify_consistency(old_size, new_size, old_root, new_root, proof, n) != 0)
		return sm_err_set(
		    err, SM_EVERIFY, "checkpoint",
		    "the log of %llu entries is not an extension of the one of %llu entries (a fork)",
		    (unsigned long long)new_size, (unsigned long long)old_size);
	return 0;
}

int sm_trust_log_vkey(const sm_trust *t, char **out, sm_err *err)
{
	const sm_trust_key *k = sm_trust_current(t, SM_ROLE_LOG);
	sm_key *pub = NULL;
	if (!k || sm_key_from_public(k->pub, &pub) != 0)
		return sm_err_set(err, SM_EKEY, "trust", "the trust bundle has no usable log key");
	*out = sm_note_vkey(t->origin, pub);
	sm_key_free(pub);
	return *out ? 0 : sm_err_set(err, SM_ENOMEM, NULL, "out of memory");
}

/* A checkpoint by any log key of the bundle (a kept one may be by a key rotated out since). */
static int checkpoint_verify(const sm_trust *t, const char *text, size_t n, sm_checkpoint *out, sm_err *err)
{
	int rc = sm_err_set(err, SM_EVERIFY, "checkpoint", "the trust bundle has no log key");
	for (size_t i = 0; i < t->nkeys; i++) {
		sm_key *pub = NULL;
		char *vkey = NULL;
		if (t->keys[i].role != SM_ROLE_LOG || sm_key_from_public(t->keys[i].pub, &pub) != 0)
			continue;
		vkey = sm_note_vkey(t->origin, pub);
		sm_key_free(pub);
		if (!vkey)
			return sm_err_set(err, SM_ENOMEM, NULL, "out of memory");
		rc = sm_checkpoint_verify(text, n, vkey, out, err);
		free(vkey);
		if (rc == 0 || rc == SM_EINVAL || rc == SM_ETOOBIG)
			break;
	}
	if (!rc && strcmp(out->origin, t->origin) != 0)
		rc = sm_err_set(err, SM_EVERIFY, "checkpoint",
		                "the checkpoint is of the log %.80s, not %.80s", out->origin, t->origin);
	return rc;
}

/* GET the consistency proof between two sizes and check it; a no-op for equal sizes or an empty old tree. */
static int fetch_consistent(sm_client *c, uint64_t s1, const uint8_t r1[SM_HASH_LEN], uint64_t s2,
                            const uint8_t r2[SM_HASH_LEN], sm_err *err)
{
	uint8_t proof[SM_MERKLE_MAX_CONSISTENCY][SM_HASH_LEN];
	size_t n = 0;
	sm_response resp;
	json_t *j = NULL;
	char path[128];
	int rc = 0;
	if (s1 > s2 || s1 == s2 || s1 == 0)
		return sm_sync_consistent(s1, r1, s2, r2, (const uint8_t(*)[SM_HASH_LEN])proof, 0, err);
	snprintf(path, sizeof(path), "/v1/log/proof/consistency?from=%llu&to=%llu", (unsigned long long)s1,
	         (unsigned long long)s2);
	if ((rc = sm_client_get(c, path, &resp, err)))
		goto out;
	j = json_loadb((const char *)resp.body, resp.len, JSON_REJECT_DUPLICATES, NULL);
	json_t *a = json_object_get(j, "proof");
	if (!json_is_array(a) || json_array_size(a) > SM_MERKLE_MAX_CONSISTENCY) {
		rc = sm_err_set(err, SM_EVERIFY, "proof",
		                "the server's consistency proof %llu..%llu is malformed",
		                (unsigned long long)s1, (unsigned long long)s2);
		goto out;
	}
	for (n = 0; n < json_array_size(a); n++) {
		const char *b = json_string_value(json_array_get(a, n));
		uint8_t *h = NULL;
		size_t hn = 0;
		if (!b || sm_base64_decode(b, strlen(b), &h, &hn, NULL) != 0 || hn != SM_HASH_LEN) {
			free(h);
			rc = sm_err_set(err, SM_EVERIFY, "proof",
			                "hash %zu of the consistency proof is not 32 bytes of base64", n);
			goto out;
		}
		memcpy(proof[n], h, SM_HASH_LEN);
		free(h);
	}
	rc = sm_sync_consistent(s1, r1, s2, r2, (const uint8_t(*)[SM_HASH_LEN])proof, n, err);
out:
	json_decref(j);
	sm_response_cleanup(&resp);
	return rc;
}

/* ---- the server's trust ---- */

int sm_sync_fetch_chain(sm_client *c, uint64_t from, sm_trust_chain *out, sm_err *err)
{
	sm_response resp;
	char path[64];
	memset(out, 0, sizeof(*out));
	snprintf(path, sizeof(path), "/v1/trust/chain?from=%llu", (unsigned long long)from);
	int rc = sm_client_get(c, path, &resp, err);
	if (!rc && resp.len > SM_TRUST_CHAIN_MAX_SIZE)
		rc = sm_err_set(err, SM_EIO, "trust", "the server's trust chain is larger than %u bytes",
		                SM_TRUST_CHAIN_MAX_SIZE);
	/* an empty array: nothing newer than `from` - 1 */
	/* unreadable bytes are the server's failure (or the path's), not a chain that fails to verify */
	if (!rc && !(resp.len == 1 && resp.body[0] == 0x80) &&
	    (rc = sm_trust_chain_decode(resp.body, resp.len, out, err)) && rc != SM_ENOMEM)
		rc = sm_err_wrap(err, SM_EIO, "trust", "the server's trust chain is unreadable");
	/* more than asked (a cache in front that ignores the query) does no harm: the walk passes over or
	 * compares what it holds already; less would leave a gap */
	if (!rc && out->n && out->v[0].version > from)
		rc = sm_err_set(err, SM_EVERIFY, "trust", "asked for the trust chain from version %llu, the server sent it from %llu",
		                (unsigned long long)from, (unsigned long long)out->v[0].version);
	if (rc)
		sm_trust_chain_cleanup(out);
	sm_response_cleanup(&resp);
	return rc;
}

int sm_sync_server_trust(sm_client *c, const sm_anchor *a, sm_trust *out, size_t *links, sm_err *err)
{
	sm_trust_chain chain;
	int rc = sm_sync_fetch_chain(c, sm_anchor_fetch_from(a), &chain, err);
	if (!rc)
		rc = sm_trust_follow(a, &chain, out, NULL, links, err);
	sm_trust_chain_cleanup(&chain);
	return rc;
}

int sm_sync_registry_trust(sm_registry *r, const sm_anchor *a, sm_trust *out, sm_err *err)
{
	sm_trust_chain chain = {0};
	const sm_trust *own = sm_registry_trust(r);
	uint64_t from = sm_anchor_fetch_from(a);
	int rc = from > own->version ? 0 : sm_registry_trust_chain(r, from, &chain, err);
	if (rc == SM_ENOTFOUND)
		rc = sm_err_wrap(err, SM_EVERIFY, "trust", "the registry's trust bundles");
	if (!rc)
		rc = sm_trust_follow(a, &chain, out, NULL, NULL, err);
	if (!rc && (out->version != own->version || memcmp(out->root, own->root, SM_PUBKEY_LEN) != 0))
		rc = sm_err_set(err, SM_EVERIFY, "trust",
				"the trust anchor reaches bundle version %llu, the registry's is version %llu: not this "
				"registry's anchor", (unsigned long long)out->version, (unsigned long long)own->version);
	sm_trust_chain_cleanup(&chain);
	return rc;
}

int sm_sync_statement(sm_client *c, const sm_trust *trust, const char *id, sm_statement *out, sm_err *err)
{
	sm_response resp = {0};
	char path[160];
	char *eid = sm_client_escape(id);
	memset(out, 0, sizeof(*out));
	if (!eid)
		return sm_err_set(err, SM_ENOMEM, NULL, "out of memory");
	if (strlen(eid) > 120) {
		free(eid);
		return sm_err_set(err, SM_EINVAL, "id", "'%.40s' is not a certificate id", id);
	}
	snprintf(path, sizeof(path), "/v1/certs/%s/statement", eid);
	free(eid);
	int rc = sm_client_get(c, path, &resp, err);
	if (!rc && resp.len > SM_STATEMENT_MAX)
		rc = sm_err_set(err, SM_EVERIFY, "statement", "the server's statement of %s is larger than %u bytes", id,
				SM_STATEMENT_MAX);
	if (!rc && (rc = sm_statement_verify(resp.body, resp.len, trust, out, err)) && rc != SM_ENOMEM)
		rc = sm_err_wrap(err, rc, "statement", "the server's status statement of %s", id);
	if (!rc && strcmp(out->cert->id, id) != 0)
		rc = sm_err_set(err, SM_EVERIFY, "statement", "the server's statement is about %s, not %s", out->cert->id,
				id);
	if (rc)
		sm_statement_cleanup(out);
	sm_response_cleanup(&resp);
	return rc;
}

int sm_label_lookup_server(void *ctx, const char *id, sm_label_record *out, sm_err *err)
{
	const sm_label_server *s = ctx;
	sm_statement st;
	memset(out, 0, sizeof(*out));
	snprintf(out->source, sizeof(out->source), "the server's signed statement");
	int rc = sm_sync_statement(s->client, s->trust, id, &st, err);
	if (rc == SM_ENOTFOUND) {
		snprintf(out->source, sizeof(out->source), "the server %.80s", sm_client_base(s->client));
		return 0;
	}
	if (rc)
		return rc;
	out->cert = st.cert;
	st.cert = NULL;
	out->next_update = st.next_update;
	sm_statement_cleanup(&st);
	return 0;
}

/* ---- sync ---- */

struct sync_state {
	sm_trust *trust;
	sm_trust_chain chain;     /* the cached chain, then with what the server added */
	cache_gen old;            /* the generation in force, if any */
	bool have_old;
	uint64_t floor;           /* the snapshot version it was written for: never go below it */
	cache_map cached, fresh;
	sm_snapshot_info cached_info;
	bool have_cached;
	uint8_t cached_sha[32];
	cache_build build;
	bool building;
	uint8_t *old_cp;
	size_t old_cp_n;
	char *cp_text;
	size_t cp_n;
	int lock_fd;
};

/* The cached generation, if it follows from the anchor: its chain, trust, snapshot and checkpoint. */
static int read_cache(const char *dir, const sm_anchor *a, struct sync_state *s, sm_sync_report *rep, sm_err *err)
{
	sm_err why = { 0 };
	int rc = cache_gen_open(dir, &s->old, err);
	if (rc == SM_ENOTFOUND) {
		sm_err_clear(err);
		return 0;
	}
	if (rc)
		return rc;
	s->have_old = true;
	rc = sm_cache_read_trust(&s->old, a, s->trust, &s->chain, &why);
	/* of this registry (it follows from the anchor): never below the version it was written for, even
	 * when its snapshot is refused; another registry's cache says nothing of this one's versions */
	if (!rc)
		s->floor = s->old.floor;
	if (!rc && !(rc = cache_gen_map(&s->old, SM_CACHE_SNAPSHOT, SM_SNAPSHOT_MAX, &s->cached, &why)) &&
	    !(rc = sm_snapshot_verify(s->cached.p, s->cached.n, s->trust, &s->cached_info, NULL, NULL, &why)))
		rc = sm_cache_floor_check(&s->cached_info, s->old.floor, &why);
	if (rc == SM_ENOMEM)
		return sm_err_set(err, rc, NULL, "out of memory");
	if (rc) {
		/* not ours to build on (another registry's, tampered, half of an old layout): start over; the
		 * server's data must follow from the anchor all the same */
		snprintf(rep->reset_reason, sizeof(rep->reset_reason), "%s", why.msg);
		cache_unmap(&s->cached);
		sm_trust_chain_cleanup(&s->chain);
		cache_gen_close(&s->old);
		s->have_old = false;
		rep->cache_reset = true;
		return 0;
	}
	s->have_cached = true;
	sm_sha256(s->cached.p, s->cached.n, s->cached_sha);
	rep->old_version = s->cached_info.version;
	rep->old_trust_version = s->trust->version;
	if (cache_gen_read(&s->old, SM_CACHE_CHECKPOINT, SM_CHECKPOINT_MAX, &s->old_cp, &s->old_cp_n, NULL) != 0)
		s->old_cp = NULL;
	return 0;
}

static int sync_trust(sm_client *c, const sm_anchor *a, struct sync_state *s, sm_sync_report *rep, sm_err *err)
{
	sm_trust_chain more;
	uint64_t held = sm_trust_chain_newest(&s->chain);
	/* from the newest version held: the server's copy of it must be the same bundle (equivocation) */
	int rc = sm_sync_fetch_chain(c, held ? held : 1, &more, err);
	for (size_t i = 0; !rc && i < more.n; i++) {
		const sm_trust_link *l = &more.v[i];
		if (l->version > held) {
			rc = sm_trust_chain_add(&s->chain, l->p, l->n, err);
			continue;
		}
		for (size_t k = 0; k < s->chain.n; k++)
			if (s->chain.v[k].version == l->version && (s->chain.v[k].n != l->n || memcmp(s->chain.v[k].p, l->p, l->n) != 0))
				rc = sm_err_set(err, SM_EVERIFY, "trust",
				                "the server's trust bundle version %llu is not the one kept: refused (equivocation)",
				                (unsigned long long)l->version);
	}
	if (!rc)
		rc = sm_trust_follow(a, &s->chain, s->trust, NULL, NULL, err);
	if (rc && rc != SM_ENOMEM && rc != SM_EIO)
		rc = sm_err_wrap(err, SM_EVERIFY, "trust", "the server's trust bundles are refused");
	rep->trust_changed = !rc && sm_trust_chain_newest(&more) > held;
	rep->trust_version = s->trust->version;
	sm_trust_chain_cleanup(&more);
	return rc;
}

static int sync_snapshot(sm_client *c, struct sync_state *s, int64_t now, sm_sync_report *rep, sm_err *err)
{
	sm_response resp = {0};
	char etag[32] = "";
	int fd = -1;
	bool same = false;
	if (s->have_cached)
		sm_snapshot_etag(s->cached_info.version, etag);
	int rc = cache_build_create(&s->build, SM_CACHE_SNAPSHOT, &fd, err);
	if (!rc)
		rc = sm_client_get_file(c, "/v1/snapshot", s->have_cached ? etag : NULL, fd, SM_SNAPSHOT_MAX, &resp, err);
	if (!rc && resp.status == 304 && !s->have_cached)
		rc = sm_err_set(err, SM_EIO, "snapshot", "the server answered 304 Not Modified to a request for a snapshot");
	if (!rc && resp.status == 304) {
		rc = sm_sync_snapshot_accept(s->cached.p, s->cached.n, s->trust, &s->cached_info, s->cached_sha, now,
		                             &rep->snapshot, &same, err);
	} else if (!rc && !(rc = cache_map_fd(fd, "the downloaded snapshot", SM_SNAPSHOT_MAX, &s->fresh, err))) {
		rc = sm_sync_snapshot_accept(s->fresh.p, s->fresh.n, s->trust, s->have_cached ? &s->cached_info : NULL,
		                             s->cached_sha, now, &rep->snapshot, &same, err);
		if (!rc)
			rc = sm_cache_floor_check(&rep->snapshot, s->floor, err);
		rep->snapshot_changed = !rc && !same;
	}
	if (fd >= 0) {
		int crc = cache_build_close_fd(&s->build, SM_CACHE_SNAPSHOT, fd, err);
		rc = rc ? rc : crc;
	}
	/* the same snapshot again: the kept file stays (it is the same bytes) */
	if (!rc && !rep->snapshot_changed) {
		unlinkat(s->build.dirfd, SM_CACHE_SNAPSHOT, 0);
		rc = cache_build_keep(&s->build, &s->old, SM_CACHE_SNAPSHOT, err);
	}
	rep->frozen = !rc && now > rep->snapshot.next_update;
	sm_response_cleanup(&resp);
	return rc;
}

static int sync_checkpoint(sm_client *c, struct sync_state *s, sm_sync_report *rep, sm_err *err)
{
	sm_response resp;
	sm_checkpoint old, cur;
	int rc = sm_client_get(c, "/v1/log/checkpoint", &resp, err);
	if (rc)
		goto out;
	if ((rc = checkpoint_verify(s->trust, (const char *)resp.body, resp.len, &cur, err))) {
		rc = sm_err_wrap(err, SM_EVERIFY, "checkpoint", "the server's checkpoint does not verify");
		goto out;
	}
	rep->log_size = cur.size;
	if (s->old_cp) {
		if (checkpoint_verify(s->trust, (const char *)s->old_cp, s->old_cp_n, &old, NULL) != 0) {
			rc = sm_err_set(err, SM_EVERIFY, "cache", "the cached %s does not verify: remove the cache to start over",
			                SM_CACHE_CHECKPOINT);
			goto out;
		}
		rep->had_checkpoint = true;
		rep->old_log_size = old.size;
		if ((rc = fetch_consistent(c, old.size, old.root, cur.size, cur.root, err)))
			goto out;
	}
	/* the snapshot's own log size and root (signed by the status key) belong to the same log */
	const sm_snapshot_info *si = &rep->snapshot;
	if (si->log_size <= cur.size)
		rc = fetch_consistent(c, si->log_size, si->log_root, cur.size, cur.root, err);
	else
		rc = fetch_consistent(c, cur.size, cur.root, si->log_size, si->log_root, err);
	if (!rc) {
		s->cp_text = (char *)resp.body;
		s->cp_n = resp.len;
		resp.body = NULL;
	}
out:
	sm_response_cleanup(&resp);
	return rc;
}

static int lock_dir(const char *dir, int *fd, sm_err *err)
{
	char path[4200];
	if (strlen(dir) > 4000)
		return sm_err_set(err, SM_EINVAL, "cache", "the cache directory path is too long");
	snprintf(path, sizeof(path), "%s/.lock", dir);
	if (mkdir(dir, 0755) != 0 && errno != EEXIST)
		return sm_err_set(err, SM_EIO, "cache", "cannot create the cache directory %s: %s", dir, strerror(errno));
	*fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0644);
	if (*fd < 0)
		return sm_err_set(err, SM_EIO, "cache", "cannot open %s: %s", path, strerror(errno));
	if (flock(*fd, LOCK_EX | LOCK_NB) != 0)
		return sm_err_set(err, SM_EIO, "cache", "another sync is running on %s", dir);
	return 0;
}

int sm_sync_run(sm_client *c, const char *cache_dir, const sm_anchor *anchor, int64_t now, sm_sync_report *rep,
                sm_err *err)
{
	struct sync_state s;
	sm_buf chain = SM_BUF_INIT;
	memset(&s, 0, sizeof(s));
	memset(rep, 0, sizeof(*rep));
	s.lock_fd = -1;
	s.old.dirfd = -1;
	s.build.dirfd = -1;
	int rc = lock_dir(cache_dir, &s.lock_fd, err);
	if (!rc && !(s.trust = malloc(sizeof(*s.trust))))
		rc = sm_err_set(err, SM_ENOMEM, NULL, "out of memory");
	if (!rc)
		rc = read_cache(cache_dir, anchor, &s, rep, err);
	if (!rc)
		rc = sync_trust(c, anchor, &s, rep, err);
	if (!rc && !(rc = cache_build_begin(cache_dir, &s.build, err)))
		s.building = true;
	if (!rc)
		rc = sync_snapshot(c, &s, now, rep, err);
	if (!rc)
		rc = sync_checkpoint(c, &s, rep, err);
	/* every check passed: the new generation holds the chain, the checkpoint and the snapshot */
	if (!rc)
		rc = sm_trust_chain_encode(&s.chain, &chain);
	if (!rc)
		rc = cache_build_put(&s.build, SM_CACHE_TRUST, chain.data, chain.len, err);
	if (!rc)
		rc = cache_build_put(&s.build, SM_CACHE_CHECKPOINT, s.cp_text, s.cp_n, err);
	if (!rc) {
		rc = cache_build_commit(&s.build, rep->snapshot.version, err);
		s.building = false;
	}
	if (s.building)
		cache_build_abort(&s.build);
	cache_unmap(&s.cached);
	cache_unmap(&s.fresh);
	cache_gen_close(&s.old);
	if (s.lock_fd >= 0)
		close(s.lock_fd);
	sm_buf_cleanup(&chain);
	sm_trust_chain_cleanup(&s.chain);
	free(s.trust);
	free(s.old_cp);
	free(s.cp_text);
	return rc;
}
