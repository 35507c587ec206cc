/* SPDX-License-Identifier: Apache-2.0 */
/* A per-thread cache of public answers (GET /v1/check) keyed by the raw query.
 *
 * An answer depends on the registry (any change bumps sm_srv->generation: the admin API at once,
 * another process's change within the maintenance poll, a statement refresh) and on the day (expiry).
 * An entry is used only while both are what they were when it was made, so the cache never serves
 * an answer the registry would not give now. Each event-loop thread has its own table: no locks. */
#include <stdlib.h>
#include <string.h>

#include "server.h"

#define SLOTS 2048 /* per thread; an answer is about 1 KiB: a few MiB at most */
#define KEY_MAX 2048

typedef struct slot {
	uint64_t hash;
	uint64_t gen;
	sm_date day;
	char *key;
	sm_cached val;
} slot;

static _Thread_local slot *table;

static uint64_t fnv(const char *s, size_t n)
{
	uint64_t h = 1469598103934665603ull;
	for (size_t i = 0; i < n; i++)
		h = (h ^ (uint8_t)s[i]) * 1099511628211ull;
	return h;
}

const sm_cached *sm_cache_get(const char *key, uint64_t gen, sm_date day)
{
	size_t n = strlen(key);
	if (!table || n > KEY_MAX)
		return NULL;
	uint64_t h = fnv(key, n);
	slot *s = &table[h & (SLOTS - 1)];
	if (!s->key || s->hash != h || s->gen != gen || s->day != day || strcmp(s->key, key) != 0)
		return NULL;
	return &s->val;
}

void sm_cache_put(const char *key, uint64_t gen, sm_date day, const char *body, size_t n, const char *etag,
		  int64_t next_update)
{
	size_t kn = strlen(key);
	if (kn > KEY_MAX)
		return;
	if (!table && !(table = calloc(SLOTS, sizeof(*table))))
		return;
	uint64_t h = fnv(key, kn);
	slot *s = &table[h & (SLOTS - 1)];
	char *k = malloc(kn + 1), *b = malloc(n + 1);
	if (!k || !b) {
		free(k);
		free(b);
		return;
	}
	memcpy(k, key, kn + 1);
	if (n) /* an empty answer may come as NULL (an export of no certificate) */
		memcpy(b, body, n);
	b[n] = '\0';
	free(s->key);
	free(s->val.body);
	s->hash = h;
	s->gen = gen;
	s->day = day;
	s->key = k;
	s->val.body = b;
	s->val.n = n;
	s->val.next_update = next_update;
	memcpy(s->val.etag, etag, sizeof(s->val.etag));
	s->val.etag[sizeof(s->val.etag) - 1] = '\0';
}

void sm_cache_thread_free(void)
{
	if (!table)
		return;
	for (size_t i = 0; i < SLOTS; i++) {
		free(table[i].key);
		free(table[i].val.body);
	}
	free(table);
	table = NULL;
}
