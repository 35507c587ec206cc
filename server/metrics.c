/* SPDX-License-Identifier: Apache-2.0 */
/* Prometheus metrics: requests by route and status, a latency histogram, log and snapshot gauges. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "server.h"

/* Every status the server sends has its own series; anything else is counted by class (status="4xx"). */
static const int statuses[SM_METRIC_STATUSES] = { 200, 201, 304, 400, 401, 403, 404, 405, 408, 409, 411,
						  413, 414, 415, 429, 431, 500, 503, 505, 2, 3, 4, 5 };
static const double bounds[SM_METRIC_BUCKETS] = { 0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01,
						   0.025,  0.05,    0.1,    0.25,  0.5,    1,     2.5 };

/* The slot for a status: the exact code when listed, else a slot by class, labelled by its code list. */
static int slot(int status)
{
	for (int i = 0; i < SM_METRIC_STATUSES - 4; i++)
		if (statuses[i] == status)
			return i;
	int cls = status / 100;
	return SM_METRIC_STATUSES - 4 + (cls < 2 ? 0 : cls > 5 ? 3 : cls - 2);
}

void sm_metrics_observe(sm_metrics *m, int route, int status, uint64_t micros)
{
	if (route < 0 || route >= R_COUNT)
		route = R_NOT_FOUND;
	atomic_fetch_add(&m->requests[route][slot(status)], 1);
	int b = 0;
	while (b < SM_METRIC_BUCKETS && (double)micros / 1e6 > bounds[b])
		b++;
	atomic_fetch_add(&m->latency[b], 1);
	atomic_fetch_add(&m->latency_sum_us, micros);
	atomic_fetch_add(&m->latency_count, 1);
}

/* A Prometheus label value: backslash, double quote and line feed escaped; other control bytes dropped. */
static void label_value(char *dst, size_t cap, const char *v)
{
	size_t o = 0;
	for (; *v && o + 3 < cap; v++) {
		if (*v == '\\' || *v == '"' || *v == '\n') {
			dst[o++] = '\\';
			dst[o++] = *v == '\n' ? 'n' : *v;
		} else if ((unsigned char)*v >= 0x20) {
			dst[o++] = *v;
		}
	}
	dst[o] = '\0';
}

/* The integrity and space series (docs/operations.md, "Integrity" and "Faults"). */
static int render_health(sm_buf *b, const sm_metrics *m, const sm_server_health *h)
{
	char what[2 * SM_ERR_FIELD_MAX], why[2 * SM_ERR_MSG_MAX];
	int rc = sm_buf_printf(b,
			       "# HELP starmark_integrity_ok 1 while every integrity check passed (the quick check at start, "
			       "the background verifications), 0 once one failed: changes are then refused.\n"
			       "# TYPE starmark_integrity_ok gauge\nstarmark_integrity_ok %d\n"
			       "# HELP starmark_integrity_verify_timestamp_seconds When the last background verification of the "
			       "whole log ended (0: none yet).\n"
			       "# TYPE starmark_integrity_verify_timestamp_seconds gauge\n"
			       "starmark_integrity_verify_timestamp_seconds %lld\n"
			       "# HELP starmark_integrity_verify_duration_seconds How long it took.\n"
			       "# TYPE starmark_integrity_verify_duration_seconds gauge\n"
			       "starmark_integrity_verify_duration_seconds %.3f\n"
			       "# HELP starmark_integrity_verifications_total Background verifications that passed.\n"
			       "# TYPE starmark_integrity_verifications_total counter\n"
			       "starmark_integrity_verifications_total %llu\n"
			       "# HELP starmark_store_full 1 while the last write failed for lack of space on the disk or in the map.\n"
			       "# TYPE starmark_store_full gauge\nstarmark_store_full %d\n"
			       "# HELP starmark_store_full_writes_total Writes that failed for lack of space.\n"
			       "# TYPE starmark_store_full_writes_total counter\nstarmark_store_full_writes_total %llu\n",
			       h->suspect ? 0 : 1, (long long)atomic_load(&m->verify_last),
			       (double)atomic_load(&m->verify_us) / 1e6, (unsigned long long)atomic_load(&m->verifies),
			       h->full ? 1 : 0, (unsigned long long)atomic_load(&m->full_writes));
	if (!rc && h->suspect) {
		label_value(what, sizeof(what), h->what);
		label_value(why, sizeof(why), h->why);
		rc = sm_buf_printf(b, "# HELP starmark_integrity_failure What failed: the part checked and the finding.\n"
				      "# TYPE starmark_integrity_failure gauge\n"
				      "starmark_integrity_failure{what=\"%s\",message=\"%s\"} 1\n", what, why);
	}
	return rc;
}

char *sm_metrics_render(const sm_metrics *m, uint64_t log_size, int64_t snapshot_age, uint64_t snapshot_version,
			const sm_server_health *h)
{
	sm_buf b = SM_BUF_INIT;
	int rc = sm_buf_puts(&b, "# HELP starmark_http_requests_total HTTP requests answered, by route and status.\n"
				 "# TYPE starmark_http_requests_total counter\n");
	for (int r = 0; r < R_COUNT && !rc; r++)
		for (int s = 0; s < SM_METRIC_STATUSES && !rc; s++) {
			uint64_t v = atomic_load(&m->requests[r][s]);
			if (!v)
				continue;
			if (statuses[s] >= 100)
				rc = sm_buf_printf(&b, "starmark_http_requests_total{route=\"%s\",status=\"%d\"} %llu\n",
						   sm_route_names[r], statuses[s], (unsigned long long)v);
			else
				rc = sm_buf_printf(&b, "starmark_http_requests_total{route=\"%s\",status=\"%dxx\"} %llu\n",
						   sm_route_names[r], statuses[s], (unsigned long long)v);
		}
	if (!rc)
		rc = sm_buf_puts(&b, "# HELP starmark_http_request_duration_seconds Time to answer a request.\n"
				     "# TYPE starmark_http_request_duration_seconds histogram\n");
	uint64_t cum = 0;
	for (int i = 0; i <= SM_METRIC_BUCKETS && !rc; i++) {
		cum += atomic_load(&m->latency[i]);
		if (i < SM_METRIC_BUCKETS)
			rc = sm_buf_printf(&b, "starmark_http_request_duration_seconds_bucket{le=\"%g\"} %llu\n", bounds[i],
					   (unsigned long long)cum);
		else
			rc = sm_buf_printf(&b, "starmark_http_request_duration_seconds_bucket{le=\"+Inf\"} %llu\n",
					   (unsigned long long)cum);
	}
	if (!rc)
		rc = sm_buf_printf(&b,
				   "starmark_http_request_duration_seconds_sum %.6f\n"
				   "starmark_http_request_duration_seconds_count %llu\n"
				   "# HELP starmark_log_size Entries in the transparency log.\n# TYPE starmark_log_size gauge\n"
				   "starmark_log_size %llu\n"
				   "# HELP starmark_snapshot_age_seconds Age of the served snapshot (-1: none yet).\n"
				   "# TYPE starmark_snapshot_age_seconds gauge\nstarmark_snapshot_age_seconds %lld\n"
				   "# HELP starmark_snapshot_version Version of the served snapshot.\n"
				   "# TYPE starmark_snapshot_version gauge\nstarmark_snapshot_version %llu\n"
				   "# HELP starmark_admin_rate_limited_total Admin requests refused with 429.\n"
				   "# TYPE starmark_admin_rate_limited_total counter\nstarmark_admin_rate_limited_total %llu\n"
				   "# HELP starmark_home_rate_limited_total Home checks (POST /v1/home/check) refused with 429.\n"
				   "# TYPE starmark_home_rate_limited_total counter\nstarmark_home_rate_limited_total %llu\n"
				   "# HELP starmark_statements_produced_total Status statements signed ahead of queries.\n"
				   "# TYPE starmark_statements_produced_total counter\nstarmark_statements_produced_total %llu\n"
				   "# HELP starmark_statements_backlog 1 until the refresher has signed all that were due "
				   "(a bulk import leaves them to it), then 0.\n"
				   "# TYPE starmark_statements_backlog gauge\nstarmark_statements_backlog %d\n",
				   (double)atomic_load(&m->latency_sum_us) / 1e6, (unsigned long long)atomic_load(&m->latency_count),
				   (unsigned long long)log_size, (long long)snapshot_age, (unsigned long long)snapshot_version,
				   (unsigned long long)atomic_load(&m->rate_limited),
				   (unsigned long long)atomic_load(&m->home_rate_limited),
				   (unsigned long long)atomic_load(&m->statements), atomic_load(&m->statements_backlog) ? 1 : 0);
	if (!rc && h)
		rc = render_health(&b, m, h);
	if (rc) {
		sm_buf_cleanup(&b);
		return NULL;
	}
	return (char *)sm_buf_take(&b, NULL);
}
