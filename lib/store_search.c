/* SPDX-License-Identifier: Apache-2.0 */
/* The store's search index: folded text, its grams (DB grams), the search, and re-indexing after a new fold. */
#include <stdlib.h>
#include <string.h>

#include <lmdb.h>

#include "starmark/textfold.h"
#include "store_int.h"

/* grams of one certificate's text, before duplicates go: enough for the largest record (64 models of
 * 64 bytes, names of 200): every model of a long certificate is searchable */
#define GRAMS_MAX 8192

/* Searchable text: each field in the search fold (sm_text_fold), fields joined by '\n'. The scheme's own
 * registration number (scheme_ref) is searched as the id is: a number printed on a label or in a manual. */
static void fold_append(sm_buf *b, const char *s, int *rc)
{
	if (!*rc)
		*rc = sm_text_fold(b, s, strlen(s));
	if (!*rc)
		*rc = sm_buf_append(b, "\n", 1);
}

static int search_text(const sm_cert *c, sm_buf *b)
{
	int rc = 0;
	fold_append(b, c->id, &rc);
	fold_append(b, c->vendor, &rc);
	fold_append(b, c->vendor_name ? c->vendor_name : "", &rc);
	fold_append(b, c->product ? c->product : "", &rc);
	for (size_t i = 0; i < c->nmodels; i++)
		fold_append(b, c->models[i], &rc);
	if (c->scheme_ref)
		fold_append(b, c->scheme_ref, &rc);
	if (!rc)
		rc = sm_buf_terminate(b);
	return rc;
}

char *sm_store_search_text(const sm_cert *c)
{
	sm_buf b = SM_BUF_INIT;
	if (search_text(c, &b)) {
		sm_buf_cleanup(&b);
		return NULL;
	}
	return (char *)sm_buf_take(&b, NULL);
}

/* Length of the UTF-8 sequence at p, never stepping over a NUL (input is validated, but be safe). */
static size_t utf8_len(const unsigned char *p)
{
	size_t n = p[0] < 0x80 ? 1 : p[0] < 0xE0 ? 2 : p[0] < 0xF0 ? 3 : 4;
	for (size_t k = 1; k < n; k++)
		if (!p[k])
			return k;
	return n;
}

/* The grams of normalised text: every pair of consecutive code points inside one line. */
typedef struct gram {
	uint8_t len;
	char b[8];
} gram;

static int gram_cmp(const void *a, const void *b)
{
	const gram *x = a, *y = b;
	if (x->len != y->len)
		return x->len - y->len;
	return memcmp(x->b, y->b, x->len);
}

static size_t grams_of(const char *text, gram *out, size_t cap)
{
	size_t n = 0;
	const unsigned char *p = (const unsigned char *)text;
	while (*p && n < cap) {
		size_t a = utf8_len(p);
		if (*p == '\n' || !p[a] || p[a] == '\n') {
			p += a;
			continue;
		}
		size_t b = utf8_len(p + a);
		out[n].len = (uint8_t)(a + b);
		memcpy(out[n].b, p, a + b);
		n++;
		p += a;
	}
	qsort(out, n, sizeof(*out), gram_cmp);
	size_t u = 0;
	for (size_t i = 0; i < n; i++)
		if (u == 0 || gram_cmp(&out[u - 1], &out[i]) != 0)
			out[u++] = out[i];
	return u;
}

/*
 * A new certificate's serial is the largest so far, so its postings go at the end of each gram's
 * list (MDB_APPENDDUP: no search through the list); through one cursor, in gram order. This is a
 * quarter of a bulk import's time otherwise (bench/import.sh).
 */
int sm_store_index_grams(sm_txn *t, const sm_cert *c, uint32_t serial, bool add, bool newest)
{
	sm_buf b = SM_BUF_INIT;
	MDB_cursor *cur = NULL;
	gram *g = malloc(GRAMS_MAX * sizeof(*g));
	int rc = g ? search_text(c, &b) : SM_ENOMEM;
	if (!rc && add)
		rc = map_rc(mdb_cursor_open(t->txn, t->s->dbi[DB_GRAMS], &cur));
	if (!rc) {
		unsigned int v = serial;
		size_t n = grams_of((const char *)b.data, g, GRAMS_MAX);
		for (size_t i = 0; i < n && !rc; i++) {
			if (!add) {
				rc = del(t, DB_GRAMS, g[i].b, g[i].len, &v, sizeof(v));
				continue;
			}
			MDB_val key = { g[i].len, g[i].b }, val = { sizeof(v), &v };
			int mrc = mdb_cursor_put(cur, &key, &val, newest ? MDB_APPENDDUP : MDB_NODUPDATA);
			if (mrc == MDB_KEYEXIST && newest) /* not the largest after all: an ordinary insert */
				mrc = mdb_cursor_put(cur, &key, &val, MDB_NODUPDATA);
			rc = mrc == MDB_KEYEXIST ? 0 : map_rc(mrc);
		}
	}
	mdb_cursor_close(cur);
	free(g);
	sm_buf_cleanup(&b);
	return rc;
}

#define FOLD_KEY "search_fold"

/* The fold the index was built with: 1 (the first, ASCII only) when the store never recorded one. */
static uint64_t index_fold(sm_txn *t)
{
	uint64_t v = 1;
	if (sm_store_meta_get_u64(t, FOLD_KEY, &v) != 0)
		v = 1;
	return v;
}

int sm_store_search_upgrade(sm_txn *t, bool *rebuilt)
{
	MDB_cursor *cur = NULL;
	MDB_val k, v;
	int rc = 0, mrc = 0;
	if (rebuilt)
		*rebuilt = false;
	if (index_fold(t) == SM_TEXT_FOLD_VERSION)
		return 0;
	/* every posting goes: stale grams of the old fold must not match, nor miss a candidate */
	if ((rc = map_rc(mdb_drop(t->txn, t->s->dbi[DB_GRAMS], 0))))
		return rc;
	if ((rc = map_rc(mdb_cursor_open(t->txn, t->s->dbi[DB_SERIALS], &cur))))
		return rc;
	/* in serial order, so that every posting is appended at the end of its list */
	for (int op = MDB_FIRST; !rc && !(mrc = mdb_cursor_get(cur, &k, &v, op)); op = MDB_NEXT) {
		char id[SM_ID_MAX + 1];
		unsigned int serial;
		const uint8_t *p;
		size_t n;
		sm_cert *c = NULL;
		if (k.mv_size != sizeof(serial) || v.mv_size > SM_ID_MAX) {
			rc = SM_ESTORE;
			break;
		}
		memcpy(&serial, k.mv_data, sizeof(serial));
		memcpy(id, v.mv_data, v.mv_size);
		id[v.mv_size] = '\0';
		rc = sm_store_cert_raw(t, id, &p, &n);
		if (rc == SM_ENOTFOUND)
			rc = SM_ESTORE; /* a serial naming no certificate */
		if (!rc && sm_cert_decode(p, n, &c, NULL) != 0)
			rc = SM_ESTORE;
		if (!rc)
			rc = sm_store_index_grams(t, c, serial, true, true);
		sm_cert_free(c);
	}
	mdb_cursor_close(cur);
	if (!rc && mrc != MDB_NOTFOUND)
		rc = map_rc(mrc);
	if (!rc)
		rc = sm_store_meta_put_u64(t, FOLD_KEY, SM_TEXT_FOLD_VERSION);
	if (!rc && rebuilt)
		*rebuilt = true;
	return rc;
}

struct scan_ctx {
	const char *needle;
	sm_store_cert_fn fn;
	void *ctx;
};

static int match_one(const char *needle, const char *id, const uint8_t *p, size_t n, bool *hit)
{
	sm_cert *c = NULL;
	if (sm_cert_decode(p, n, &c, NULL))
		return SM_ESTORE;
	char *text = sm_store_search_text(c);
	sm_cert_free(c);
	if (!text)
		return SM_ENOMEM;
	*hit = strstr(text, needle) != NULL;
	free(text);
	return 0;
}

static int scan_one(void *vctx, const char *id, const uint8_t *p, size_t n)
{
	struct scan_ctx *s = vctx;
	bool hit = false;
	int rc = match_one(s->needle, id, p, n, &hit);
	return rc ? rc : (hit ? s->fn(s->ctx, id, p, n) : 0);
}

int sm_store_search(sm_txn *t, const char *query, sm_store_cert_fn fn, void *ctx)
{
	/* normalise the query the way the text is normalised (without the trailing newline) */
	sm_buf qb = SM_BUF_INIT;
	int rc = 0;
	fold_append(&qb, query, &rc);
	if (rc || sm_buf_terminate(&qb)) {
		sm_buf_cleanup(&qb);
		return rc ? rc : SM_ENOMEM;
	}
	qb.data[--qb.len] = '\0';
	const char *needle = (const char *)qb.data;
	struct scan_ctx sc = { needle, fn, ctx };
	gram *g = malloc(GRAMS_MAX * sizeof(*g));
	size_t ng = g ? grams_of(needle, g, GRAMS_MAX) : 0;
	MDB_cursor *cur = NULL, *probe = NULL;
	if (!g) {
		rc = SM_ENOMEM;
		goto out;
	}
	/* a single character has no gram to use; an index of another fold (a read-only open of a store no
	 * writer has opened since the fold changed: only a write can rebuild it) would miss: scan */
	if (ng == 0 || index_fold(t) != SM_TEXT_FOLD_VERSION) {
		rc = sm_store_cert_foreach(t, scan_one, &sc);
		goto out;
	}
	if ((rc = map_rc(mdb_cursor_open(t->txn, t->s->dbi[DB_GRAMS], &cur))) ||
	    (rc = map_rc(mdb_cursor_open(t->txn, t->s->dbi[DB_GRAMS], &probe))))
		goto out;
	/* drive the walk from the rarest gram, probe the others */
	size_t best = 0, best_count = SIZE_MAX;
	for (size_t i = 0; i < ng; i++) {
		MDB_val k = { g[i].len, g[i].b }, v;
		int r = mdb_cursor_get(cur, &k, &v, MDB_SET_KEY);
		if (r == MDB_NOTFOUND)
			goto out; /* a gram nobody has: no result */
		size_t cnt = 0;
		if (r || (r = mdb_cursor_count(cur, &cnt))) {
			rc = map_rc(r);
			goto out;
		}
		if (cnt < best_count) {
			best_count = cnt;
			best = i;
		}
	}
	MDB_val k = { g[best].len, g[best].b }, v;
	int r = mdb_cursor_get(cur, &k, &v, MDB_SET_KEY);
	while (!r && !rc) {
		unsigned int serial;
		memcpy(&serial, v.mv_data, sizeof(serial));
		bool all = true;
		for (size_t i = 0; i < ng && all; i++) {
			if (i == best)
				continue;
			MDB_val pk = { g[i].len, g[i].b }, pv = { sizeof(serial), &serial };
			all = mdb_cursor_get(probe, &pk, &pv, MDB_GET_BOTH) == 0;
		}
		if (all) {
			char id[SM_ID_MAX + 1];
			if ((rc = sm_store_serial_id(t, serial, id)))
				break;
			const uint8_t *p;
			size_t n;
			if ((rc = sm_store_cert_raw(t, id, &p, &n)) || (rc = scan_one(&sc, id, p, n)))
				break;
		}
		r = mdb_cursor_get(cur, &k, &v, MDB_NEXT_DUP);
	}
	if (!rc && r && r != MDB_NOTFOUND)
		rc = map_rc(r);
out:
	if (rc == SM_ENOTFOUND)
		rc = SM_ESTORE;
	mdb_cursor_close(probe);
	mdb_cursor_close(cur);
	free(g);
	sm_buf_cleanup(&qb);
	return rc;
}


int sm_store_grams_check(sm_txn *t, const sm_cert *c, uint32_t serial)
{
	if (index_fold(t) != SM_TEXT_FOLD_VERSION)
		return 0; /* an index of an older fold, a read-only open: searches scan, there is nothing to compare */
	sm_buf b = SM_BUF_INIT;
	MDB_cursor *cur = NULL;
	gram *g = malloc(GRAMS_MAX * sizeof(*g));
	int rc = g ? search_text(c, &b) : SM_ENOMEM;
	if (!rc)
		rc = map_rc(mdb_cursor_open(t->txn, t->s->dbi[DB_GRAMS], &cur));
	if (!rc) {
		unsigned int v = serial;
		size_t n = grams_of((const char *)b.data, g, GRAMS_MAX);
		for (size_t i = 0; i < n && !rc; i++) {
			MDB_val key = { g[i].len, g[i].b }, val = { sizeof(v), &v };
			int mrc = mdb_cursor_get(cur, &key, &val, MDB_GET_BOTH);
			rc = mrc == MDB_NOTFOUND ? SM_EVERIFY : map_rc(mrc);
		}
	}
	mdb_cursor_close(cur);
	free(g);
	sm_buf_cleanup(&b);
	return rc;
}
