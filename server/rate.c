/* SPDX-License-Identifier: Apache-2.0 */
/* Per-client rate limits: a token bucket per client address, for the admin API and the public home check. */
#include <stdio.h>

#include "server.h"

void sm_rate_table_init(sm_rate_table *t)
{
	pthread_mutex_init(&t->lock, NULL);
}

bool sm_rate_ok(sm_req *q, sm_rate_table *t, int per_minute, int burst, _Atomic uint64_t *limited, const char *what)
{
	char client[64];
	sm_req_client(q, client, sizeof(client));
	uint32_t h = 2166136261u;
	for (const char *c = client; *c; c++)
		h = (h ^ (uint8_t)*c) * 16777619u;
	int64_t now = sm_now_us();
	double per_us = per_minute / 60e6;
	pthread_mutex_lock(&t->lock);
	sm_rate_bucket *b = &t->b[h % SM_RATE_BUCKETS];
	if (b->addr_hash != h || b->last_us == 0) {
		b->addr_hash = h;
		b->tokens = burst;
		b->last_us = now;
	}
	b->tokens += (double)(now - b->last_us) * per_us;
	if (b->tokens > burst)
		b->tokens = burst;
	b->last_us = now;
	bool ok = b->tokens >= 1.0;
	if (ok)
		b->tokens -= 1.0;
	double wait_s = ok ? 0 : (1.0 - b->tokens) / (per_us * 1e6);
	pthread_mutex_unlock(&t->lock);
	if (!ok) {
		char ra[16];
		snprintf(ra, sizeof(ra), "%d", (int)wait_s + 1);
		evhtp_headers_add_header(q->r->headers_out, evhtp_header_new("Retry-After", ra, 1, 1));
		atomic_fetch_add(limited, 1);
		sm_reply_error(q, 429, "rate_limited", NULL, "too many %s requests from %s; retry in %s s", what, client, ra);
	}
	return ok;
}
