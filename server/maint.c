/* SPDX-License-Identifier: Apache-2.0 */
/* Maintenance: refresh the status statements that are due, rebuild the snapshot when the log grew. */
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "server.h"

int sm_maint_snapshot(sm_server *s, bool force, sm_err *err)
{
	uint64_t size = 0, version = 0;
	static uint64_t last_size = UINT64_MAX;
	sm_status_timing tm;
	sm_status_timing_default(&tm);
	int rc = sm_registry_log_size(s->reg, &size, err);
	/* rebuilt when the log grew, and before half its validity has passed: a gateway must always
	 * find one that is not past next_update */
	int64_t age = sm_server_now() - atomic_load(&s->snapshot_built);
	if (rc || (!force && size == last_size && age < tm.snapshot_validity / 2))
		return rc;
	pthread_mutex_lock(&s->write_lock);
	rc = sm_registry_snapshot(s->reg, s->snapshot_path, sm_server_now(), &version, err);
	pthread_mutex_unlock(&s->write_lock);
	if (rc)
		return rc;
	last_size = size;
	pthread_mutex_lock(&s->snap_lock);
	snprintf(s->snapshot_etag, sizeof(s->snapshot_etag), "\"v%llu\"", (unsigned long long)version);
	pthread_mutex_unlock(&s->snap_lock);
	atomic_store(&s->snapshot_version, version);
	atomic_store(&s->snapshot_built, sm_server_now());
	return 0;
}

void *sm_maint_run(void *arg)
{
	sm_server *s = arg;
	/* scheduled by the monotonic clock; what is signed carries the registry's time (sm_server_now) */
	int64_t last_refresh = INT64_MIN / 2, last_snapshot = INT64_MIN / 2, last_readers = 0;
	uint64_t seen_size = UINT64_MAX;
	bool force_snapshot = false;
	uint64_t seen_trust = sm_registry_trust(s->reg)->version;
	while (!s->stopping) {
		/* keys rotated by another process (keys rotate): load the new bundle and keys, and rebuild
		 * what they sign, without stopping */
		bool rotated = false;
		sm_err rerr = { 0 };
		if (sm_registry_trust_reload(s->reg, &rotated, &rerr) != 0) {
			fprintf(stderr, "starmarkd: reading the trust bundle failed: %s\n", rerr.msg);
		} else if (sm_registry_trust(s->reg)->version != seen_trust) {
			/* made current here, or already by a request that signed something since */
			seen_trust = sm_registry_trust(s->reg)->version;
			fprintf(stderr, "starmarkd: keys rotated: now serving trust bundle version %llu\n",
				(unsigned long long)seen_trust);
			if (sm_registry_load_key(s->reg, SM_ROLE_STATUS, &rerr) || sm_registry_load_key(s->reg, SM_ROLE_LOG, &rerr))
				fprintf(stderr, "starmarkd: %s\n", rerr.msg);
			sm_changed(s);
			last_snapshot = INT64_MIN / 2; /* a snapshot by the new status key */
			force_snapshot = true;
		}
		/* another process (the CLI on the same store) may change the registry: notice it */
		uint64_t size = 0;
		if (sm_registry_log_size(s->reg, &size, NULL) == 0 && size != seen_size) {
			if (seen_size != UINT64_MAX)
				sm_changed(s);
			seen_size = size;
		}
		int64_t tick = sm_now_us() / 1000000, now = sm_server_now();
		sm_err err = { 0 };
		/* a reader slot left by a killed process pins old pages: clear such slots now and then */
		if (tick - last_readers >= 60) {
			sm_registry_check_readers(s->reg);
			last_readers = tick;
		}
		if (tick - last_refresh >= s->cfg.refresh_seconds) {
			size_t done = 0;
			pthread_mutex_lock(&s->write_lock);
			int rc = sm_registry_refresh(s->reg, now, 10000, &done, &err);
			if (done)
				sm_changed(s); /* new statements: answers carry them */
			pthread_mutex_unlock(&s->write_lock);
			if (rc)
				fprintf(stderr, "starmarkd: refreshing statements failed: %s\n", err.msg);
			/* a backlog (after a bulk import) is worked off without waiting for the next period */
			last_refresh = done == 10000 ? INT64_MIN / 2 : tick;
			atomic_fetch_add(&s->metrics.statements, done);
			atomic_store(&s->metrics.statements_backlog, rc != 0 || done == 10000); /* a failed round left some */
		}
		if (tick - last_snapshot >= s->cfg.snapshot_seconds) {
			memset(&err, 0, sizeof(err));
			if (sm_maint_snapshot(s, force_snapshot, &err))
				fprintf(stderr, "starmarkd: building the snapshot failed: %s\n", err.msg);
			force_snapshot = false;
			last_snapshot = tick;
		}
		struct timespec ts = { 0, 100 * 1000 * 1000 };
		nanosleep(&ts, NULL);
	}
	return NULL;
}
