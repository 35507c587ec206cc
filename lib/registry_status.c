/* SPDX-License-Identifier: Apache-2.0 */
/* The registry's status answers: producing statements when certificates change, refreshing them, building snapshots. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cbor.h>

#include "cbor_int.h"
#include "registry_int.h"
#include "starmark/cose.h"
#include "starmark/status.h"

/* Sign the statement of `c` as the store stands in `t` (after any append), and store it. */
static int produce(sm_registry *r, sm_txn *t, const sm_cert *c, int64_t now, sm_err *err)
{
	const sm_key *key = NULL;
	sm_status_timing tm;
	sm_statement s;
	sm_buf payload = SM_BUF_INIT;
	uint8_t *cose = NULL;
	size_t cn = 0;
	sm_status_timing_default(&tm);
	memset(&s, 0, sizeof(s));
	s.cert = (sm_cert *)(uintptr_t)c; /* borrowed for encoding */
	s.produced_at = now;
	s.next_update = now + tm.statement_validity;
	int rc = sm_registry_key(r, SM_ROLE_STATUS, &key, err);
	if (!rc && !(rc = sm_store_log_size(t, &s.log_size)))
		rc = sm_store_log_root(t, s.log_size, s.log_root);
	if (!rc)
		rc = sm_statement_encode(&s, &payload);
	if (!rc)
		rc = sm_cose_sign1(key, SM_COSE_STATUS, payload.data, payload.len, true, &cose, &cn);
	if (!rc)
		rc = sm_store_stmt_put(t, c->id, s.next_update - tm.refresh_before, cose, cn);
	char q[SM_SHOWN_ID];
	if (rc && err && !err->msg[0])
		sm_err_set(err, rc, NULL, "cannot produce the status statement of %s: %s", sm_shown_id(q, c->id),
			   sm_strerror(rc));
	free(cose);
	sm_buf_cleanup(&payload);
	return rc;
}

int sm_registry_statement_changed(sm_registry *r, sm_txn *t, const sm_cert *c, int64_t now, sm_err *err)
{
	if (!r->defer_statements)
		return produce(r, t, c, now, err);
	/* bulk: queue it for the refresher (due now) instead of a second signature per certificate */
	int64_t old = -1;
	int rc = sm_store_stmt_get(t, c->id, &old, NULL, NULL);
	if (rc && rc != SM_ENOTFOUND)
		return rc;
	return sm_store_due_set(t, c->id, rc == SM_ENOTFOUND ? -1 : old, 0);
}

int sm_registry_statement(sm_registry *r, const char *id, uint8_t **cose, size_t *n, sm_err *err)
{
	sm_txn *t = NULL;
	const uint8_t *p;
	int rc = sm_store_begin(r->store, false, &t, err);
	if (!rc && !(rc = sm_store_stmt_get(t, id, NULL, &p, n))) {
		*cose = malloc(*n);
		if (*cose)
			memcpy(*cose, p, *n);
		else
			rc = SM_ENOMEM;
	}
	sm_store_abort(t);
	if (rc == SM_ENOTFOUND)
		return sm_err_set(err, rc, "id", "no status statement for %s (yet)", id);
	return rc;
}

struct due_batch {
	char (*ids)[SM_ID_MAX + 1];
	int64_t *due;
	size_t n, cap;
};

static int collect_due(void *ctx, int64_t due, const char *id)
{
	struct due_batch *b = ctx;
	if (b->n == b->cap)
		return 1;
	b->due[b->n] = due;
	memcpy(b->ids[b->n++], id, strlen(id) + 1);
	return 0;
}

int sm_registry_refresh(sm_registry *r, int64_t now, size_t max, size_t *done, sm_err *err)
{
	sm_status_timing tm;
	struct due_batch b = { NULL, NULL, 0, 1000 };
	size_t failed = 0;
	sm_err first = { 0 };
	size_t total = 0;
	int rc = 0;
	sm_status_timing_default(&tm);
	if (!r->write)
		return sm_err_set(err, SM_ESTORE, NULL, "the registry is open read-only");
	b.ids = malloc(b.cap * sizeof(*b.ids));
	b.due = malloc(b.cap * sizeof(*b.due));
	if (!b.ids || !b.due) {
		free(b.ids);
		free(b.due);
		return sm_err_set(err, SM_ENOMEM, NULL, "out of memory");
	}
	while (!rc && (max == 0 || total < max)) {
		sm_txn *t = NULL;
		b.n = 0;
		if (max && max - total < b.cap)
			b.cap = max - total;
		if ((rc = sm_store_begin(r->store, true, &t, err)))
			break;
		if ((rc = sm_registry_trust_fresh(r, t, err))) {
			sm_store_abort(t);
			break;
		}
		rc = sm_store_due_foreach(t, now, b.cap, collect_due, &b);
		if (rc == 1)
			rc = 0;
		for (size_t i = 0; i < b.n && !rc; i++) {
			sm_cert *c = NULL;
			sm_err e = { 0 };
			int prc = sm_store_cert_get(t, b.ids[i], &c, &e);
			if (!prc)
				prc = produce(r, t, c, now, &e);
			sm_cert_free(c);
			if (prc == SM_EKEY || prc == SM_ESTATE || prc == SM_ENOMEM || prc == SM_EFULL) {
				rc = sm_err_set(err, prc, NULL, "%s", e.msg); /* nothing can be signed now */
			} else if (prc) {
				/* this one cannot be produced: try again in an hour, go on with the others */
				if (!failed++)
					first = e;
				rc = sm_store_due_set(t, b.ids[i], b.due[i], now + 3600);
			}
		}
		if (rc || b.n == 0) {
			sm_store_abort(t);
			break;
		}
		if ((rc = sm_store_commit(t, err)))
			break;
		total += b.n;
	}
	free(b.ids);
	free(b.due);
	if (done)
		*done = total;
	if (!rc && failed)
		rc = sm_err_set(err, SM_ESTORE, NULL, "%zu statements could not be produced (retried in an hour); the first: %s",
				failed, first.msg);
	return rc;
}

/* ---- snapshots ---- */

struct snap_ctx {
	FILE *f;
	sm_buf b;
	uint64_t count;
	int rc;
};

static int snap_one(void *vctx, const char *id, const uint8_t *p, size_t n)
{
	struct snap_ctx *s = vctx;
	sm_cert *c = NULL;
	int rc = sm_cert_decode(p, n, &c, NULL);
	if (rc)
		return SM_ESTORE;
	s->b.len = 0;
	rc = sm_snapshot_cert_encode(c, &s->b);
	sm_cert_free(c);
	if (!rc && fwrite(s->b.data, 1, s->b.len, s->f) != s->b.len)
		rc = SM_EIO;
	s->count++;
	return rc;
}

static int count_one(void *ctx, const char *id, const uint8_t *p, size_t n)
{
	(*(uint64_t *)ctx)++;
	return 0;
}

static int write_all(int fd, const void *p, size_t n, off_t at)
{
	const uint8_t *b = p;
	while (n) {
		ssize_t w = pwrite(fd, b, n, at);
		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			return SM_EIO;
		b += w;
		n -= (size_t)w;
		at += w;
	}
	return 0;
}

#define SNAP_ROOM 64 /* bytes kept free before the payload for the Sig_structure's head */

/* The head of a byte string of n bytes (its bytes follow elsewhere). */
static int put_bstr_head(sm_buf *b, size_t n)
{
	unsigned char h[9];
	size_t hn = cbor_encode_bytestring_start(n, h, sizeof(h));
	return hn ? sm_buf_append(b, h, hn) : SM_EINVAL;
}

/*
 * A snapshot's version: the second it is produced, or one more than the last version when that is not
 * less (two in a second, a clock set back). Gateways keep the highest version they have seen as a
 * rollback floor, so a registry restored from a backup, whose stored counter is the backup's, must
 * still number its next snapshot above anything it served after the backup: a plain counter would
 * restart below, and every gateway that synced since would refuse the restored registry's snapshots
 * until the counter caught up (documented in docs/operations.md). Versions stay increasing across
 * the change from the counter of earlier releases (small numbers) to seconds.
 */
static uint64_t next_snapshot_version(uint64_t last, int64_t now)
{
	return now > 0 && (uint64_t)now > last ? (uint64_t)now : last + 1;
}

int sm_registry_snapshot(sm_registry *r, const char *path, int64_t now, uint64_t *version, sm_err *err)
{
	sm_status_timing tm;
	const sm_key *key = NULL;
	sm_txn *t = NULL;
	struct snap_ctx sc = { NULL, SM_BUF_INIT, 0, 0 };
	char work[4200], tmp[4200];
	uint8_t *map = MAP_FAILED, sig[SM_SIG_LEN];
	size_t plen = 0, maplen = 0;
	int fd = -1, out = -1;
	uint64_t count = 0, size = 0, ver = 0;
	uint8_t root[SM_HASH_LEN], kid[SM_KID_LEN];
	sm_buf head = SM_BUF_INIT, pre = SM_BUF_INIT, ph = SM_BUF_INIT;
	sm_snapshot_info info;
	memset(&info, 0, sizeof(info));
	sm_status_timing_default(&tm);
	snprintf(work, sizeof(work), "%s.payload", path);
	snprintf(tmp, sizeof(tmp), "%s.tmp", path);
	int rc = 0;
	/* the version is taken (committed) before the file is written: a crash in between leaves a gap,
	 * never one version number (and ETag) for two different snapshots */
	if (r->write) {
		sm_txn *w = NULL;
		if ((rc = sm_store_begin(r->store, true, &w, err)))
			return rc;
		if ((rc = sm_store_meta_get_u64(w, "snapshot_version", &ver)) == SM_ENOTFOUND)
			rc = 0;
		ver = next_snapshot_version(ver, now);
		if (rc || (rc = sm_store_meta_put_u64(w, "snapshot_version", ver))) {
			sm_store_abort(w);
			return sm_err_set(err, rc, "snapshot", "cannot take a snapshot version: %s", sm_strerror(rc));
		}
		if ((rc = sm_store_commit(w, err)))
			return rc;
	}
	if ((rc = sm_store_begin(r->store, false, &t, err)))
		return rc;
	/* the bundle current in this transaction first, then its key: never a key rotated out meanwhile */
	if ((rc = sm_registry_trust_fresh(r, t, err)) || (rc = sm_registry_key(r, SM_ROLE_STATUS, &key, err))) {
		sm_store_abort(t);
		return rc;
	}
	if (!r->write) {
		if ((rc = sm_store_meta_get_u64(t, "snapshot_version", &ver)) == SM_ENOTFOUND)
			rc = 0;
		ver = next_snapshot_version(ver, now);
	}
	if (!rc && !(rc = sm_store_log_size(t, &size)) && !(rc = sm_store_log_root(t, size, root)))
		rc = sm_store_cert_foreach(t, count_one, &count);
	if (rc)
		goto out;
	/* the payload goes into a work file at offset SNAP_ROOM */
	fd = open(work, O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	if (fd < 0 || !(sc.f = fdopen(fd, "w+"))) {
		rc = sm_err_set(err, SM_EIO, "snapshot", "cannot write %s: %s", work, strerror(errno));
		goto out;
	}
	fd = -1;
	if (fseeko(sc.f, SNAP_ROOM, SEEK_SET) != 0) {
		rc = SM_EIO;
		goto out;
	}
	info.version = ver;
	info.produced_at = now;
	info.next_update = now + tm.snapshot_validity;
	info.expires = now + tm.snapshot_lifetime;
	info.log_size = size;
	memcpy(info.log_root, root, SM_HASH_LEN);
	snprintf(info.scheme, sizeof(info.scheme), "%s", sm_registry_trust_now(r)->scheme);
	info.count = count;
	if ((rc = sm_snapshot_head_encode(&info, &head)))
		goto out;
	if (fwrite(head.data, 1, head.len, sc.f) != head.len) {
		rc = SM_EIO;
		goto out;
	}
	plen = head.len;
	if ((rc = sm_store_cert_foreach(t, snap_one, &sc)))
		goto out;
	sm_store_abort(t);
	t = NULL;
	if (sc.count != count) {
		rc = sm_err_set(err, SM_ESTORE, "snapshot", "the certificates changed while the snapshot was built");
		goto out;
	}
	if (fflush(sc.f) != 0) {
		rc = SM_EIO;
		goto out;
	}
	plen = (size_t)ftello(sc.f) - SNAP_ROOM;
	/* protected header and the Sig_structure head, written just before the payload */
	sm_key_kid(key, kid);
	if ((rc = sm_cbor_put_map(&ph, 3)) || (rc = sm_cbor_put_uint(&ph, 1)) || (rc = sm_cbor_put_int(&ph, -8)) ||
	    (rc = sm_cbor_put_uint(&ph, 3)) || (rc = sm_cbor_put_uint(&ph, SM_COSE_SNAPSHOT)) ||
	    (rc = sm_cbor_put_uint(&ph, 4)) || (rc = sm_cbor_put_bytes(&ph, kid, SM_KID_LEN)))
		goto out;
	if ((rc = sm_cbor_put_array(&pre, 4)) || (rc = sm_cbor_put_str(&pre, "Signature1")) ||
	    (rc = sm_cbor_put_bytes(&pre, ph.data, ph.len)) || (rc = sm_cbor_put_bytes(&pre, NULL, 0)))
		goto out;
	if ((rc = put_bstr_head(&pre, plen)) || pre.len > SNAP_ROOM)
		goto out;
	int wfd = fileno(sc.f);
	if ((rc = write_all(wfd, pre.data, pre.len, (off_t)(SNAP_ROOM - pre.len))))
		goto out;
	maplen = SNAP_ROOM + plen;
	map = mmap(NULL, maplen, PROT_READ, MAP_SHARED, wfd, 0);
	if (map == MAP_FAILED) {
		rc = sm_err_set(err, SM_EIO, "snapshot", "cannot map %s: %s", work, strerror(errno));
		goto out;
	}
	if ((rc = sm_key_sign(key, map + SNAP_ROOM - pre.len, pre.len + plen, sig)))
		goto out;
	/* the COSE_Sign1: tag 18, [protected, {}, payload, signature] */
	sm_buf cose = SM_BUF_INIT;
	if (!(rc = sm_cbor_put_tag(&cose, 18)) && !(rc = sm_cbor_put_array(&cose, 4)) &&
	    !(rc = sm_cbor_put_bytes(&cose, ph.data, ph.len)) && !(rc = sm_cbor_put_map(&cose, 0)))
		rc = put_bstr_head(&cose, plen);
	out = rc ? -1 : open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	if (!rc && out < 0)
		rc = sm_err_set(err, SM_EIO, "snapshot", "cannot write %s: %s", tmp, strerror(errno));
	off_t at = 0;
	if (!rc && !(rc = write_all(out, cose.data, cose.len, at))) {
		at += (off_t)cose.len;
		if (!(rc = write_all(out, map + SNAP_ROOM, plen, at))) {
			at += (off_t)plen;
			sm_buf tail = SM_BUF_INIT;
			if (!(rc = sm_cbor_put_bytes(&tail, sig, SM_SIG_LEN)))
				rc = write_all(out, tail.data, tail.len, at);
			sm_buf_cleanup(&tail);
		}
	}
	sm_buf_cleanup(&cose);
	if (!rc && fsync(out) != 0)
		rc = SM_EIO;
	if (!rc && rename(tmp, path) != 0)
		rc = sm_err_set(err, SM_EIO, "snapshot", "cannot rename %s: %s", tmp, strerror(errno));
	if (!rc && version)
		*version = ver;
out:
	if (rc && err && !err->msg[0])
		sm_err_set(err, rc, "snapshot", "cannot build the snapshot: %s", sm_strerror(rc));
	if (map != MAP_FAILED)
		munmap(map, maplen);
	if (out >= 0)
		close(out);
	if (sc.f)
		fclose(sc.f);
	if (fd >= 0)
		close(fd);
	unlink(work);
	if (rc)
		unlink(tmp);
	sm_store_abort(t);
	sm_buf_cleanup(&sc.b);
	sm_buf_cleanup(&head);
	sm_buf_cleanup(&pre);
	sm_buf_cleanup(&ph);
	return rc;
}
