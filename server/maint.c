/* SPDX-License-Identifier: Apache-2.0 */
/* Maintenance: refresh the status statements that are due, rebuild the snapshot when the log grew. */
#define _GNU_SOURCE /* SCHED_IDLE */
#include <pthread.h>
#include <sched.h>
#include <stdio.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/syscall.h>
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

/* ---- integrity ---- */

void sm_integrity_failed(sm_server *s, const sm_err *err)
{
	pthread_mutex_lock(&s->health_lock);
	if (!s->integrity_why[0]) {
		snprintf(s->integrity_what, sizeof(s->integrity_what), "%s", err->field[0] ? err->field : "store");
		snprintf(s->integrity_why, sizeof(s->integrity_why), "%s", err->msg[0] ? err->msg : sm_strerror(err->code));
	}
	pthread_mutex_unlock(&s->health_lock);
	/* the registry refuses every change from now on (SM_ESUSPECT); here for a failure it did not find itself */
	sm_registry_set_suspect(s->reg, err->msg[0] ? err->msg : sm_strerror(err->code));
}

void sm_server_health_get(sm_server *s, sm_server_health *h)
{
	sm_health rh;
	memset(h, 0, sizeof(*h));
	sm_registry_health(s->reg, &rh);
	pthread_mutex_lock(&s->health_lock);
	h->suspect = rh.suspect || s->integrity_why[0];
	snprintf(h->what, sizeof(h->what), "%s", s->integrity_what[0] ? s->integrity_what : "store");
	snprintf(h->why, sizeof(h->why), "%s", s->integrity_why[0] ? s->integrity_why : rh.suspect_msg);
	pthread_mutex_unlock(&s->health_lock);
	h->full = rh.full;
	memcpy(h->full_msg, rh.full_msg, sizeof(h->full_msg));
	h->checking = !atomic_load(&s->verified_once);
}

/* A check's outcome in the log, and a finding kept for /healthz: false when it passed. */
static bool check_failed(sm_server *s, int rc, const sm_err *err, const char *which)
{
	if (rc == SM_EVERIFY) {
		sm_integrity_failed(s, err);
		fprintf(stderr, "starmarkd: INTEGRITY: %s failed: %s; serving reads, refusing changes (docs/operations.md, "
				"\"Integrity\")\n", which, err->msg);
	} else if (rc) {
		fprintf(stderr, "starmarkd: %s could not run: %s\n", which, err->msg);
	}
	return rc != 0;
}

int sm_integrity_quick(sm_server *s)
{
	sm_quick_report rep;
	sm_err err = { 0 };
	int64_t t0 = sm_now_us();
	int rc = sm_registry_quick_check(s->reg, &rep, &err);
	int64_t ms = (sm_now_us() - t0) / 1000;
	if (check_failed(s, rc, &err, "the quick check")) {
		return rc;
	} else {
		char cp[96];
		/* no file before the first start (init writes none): nothing to agree with, and it is no failure */
		if (rep.checkpoint)
			snprintf(cp, sizeof(cp), "the saved checkpoint of size %llu agrees", (unsigned long long)rep.checkpoint);
		else
			snprintf(cp, sizeof(cp), "no checkpoint saved yet (the first is saved now)");
		fprintf(stderr, "starmarkd: quick check: %llu %s hashed, %s, %llu %s spot-checked, in %lld ms\n",
			(unsigned long long)rep.entries, rep.entries == 1 ? "entry" : "entries", cp,
			(unsigned long long)rep.spot_checked, rep.spot_checked == 1 ? "certificate" : "certificates",
			(long long)ms);
		/* the witness of the next start: this log, now that it has checked out */
		if (sm_registry_checkpoint_save(s->reg, &err))
			fprintf(stderr, "starmarkd: cannot save the checkpoint: %s\n", err.msg);
	}
	return rc;
}

/* The calling thread at the lowest priority the kernel has: it runs only when nothing else wants the CPU. */
static void lowest_priority(void)
{
	struct sched_param sp = { 0 };
	if (pthread_setschedparam(pthread_self(), SCHED_IDLE, &sp) != 0)
		fprintf(stderr, "starmarkd: the verifier runs without SCHED_IDLE\n");
	/* Linux keeps nice values per thread: this one only */
	setpriority(PRIO_PROCESS, (id_t)syscall(SYS_gettid), 19);
}

void *sm_verify_run(void *arg)
{
	sm_server *s = arg;
	int64_t next = sm_now_us() / 1000000 + 1; /* the first, a second after start */
	lowest_priority();
	while (!s->stopping) {
		int64_t tick = sm_now_us() / 1000000;
		sm_health h;
		sm_registry_health(s->reg, &h);
		if (tick < next || h.suspect) {
			/* once suspect, nothing more to find until an operator acts */
			struct timespec ts = { 0, 200 * 1000 * 1000 };
			nanosleep(&ts, NULL);
			continue;
		}
		sm_verify_report rep;
		sm_err err = { 0 };
		int64_t t0 = sm_now_us();
		int rc = sm_registry_verify(s->reg, NULL, NULL, &rep, &err);
		int64_t us = sm_now_us() - t0;
		if (!check_failed(s, rc, &err, "the background verification")) {
			atomic_fetch_add(&s->metrics.verifies, 1);
		}
		if (rc != SM_EVERIFY && rc)
			next = tick + 60; /* a passing fault (reader slots, memory): again in a minute */
		else
			next = s->cfg.verify_hours ? tick + (int64_t)s->cfg.verify_hours * 3600 : INT64_MAX;
		atomic_store(&s->metrics.verify_us, us);
		atomic_store(&s->metrics.verify_last, sm_server_now());
		atomic_store(&s->verified_once, true);
	}
	return NULL;
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
		sm_health h;
		sm_registry_health(s->reg, &h);
		/* a store that failed an integrity check signs nothing more: its state cannot be trusted */
		if (h.suspect) {
			struct timespec ts = { 0, 100 * 1000 * 1000 };
			nanosleep(&ts, NULL);
			continue;
		}
		/* after a write failed for lack of space: notice room again without waiting for the next write */
		if (h.full && sm_registry_space_recheck(s->reg)) {
			fprintf(stderr, "starmarkd: there is space for the store again: writes resume\n");
			last_refresh = INT64_MIN / 2;
		}
		if (tick - last_refresh >= s->cfg.refresh_seconds) {
			size_t done = 0;
			pthread_mutex_lock(&s->write_lock);
			int rc = sm_registry_refresh(s->reg, now, 10000, &done, &err);
			if (done)
				sm_changed(s); /* new statements: answers carry them */
			pthread_mutex_unlock(&s->write_lock);
			if (rc == SM_EFULL)
				atomic_fetch_add(&s->metrics.full_writes, 1);
			/* once per condition, not every round: the condition is in /healthz and /metrics */
			if (rc && (rc != SM_EFULL || !h.full))
				fprintf(stderr, "starmarkd: refreshing statements failed: %s\n", err.msg);
			/* a backlog (after a bulk import) is worked off without waiting for the next period */
			last_refresh = done == 10000 ? INT64_MIN / 2 : tick;
			atomic_fetch_add(&s->metrics.statements, done);
			atomic_store(&s->metrics.statements_backlog, rc != 0 || done == 10000); /* a failed round left some */
		}
		if (tick - last_snapshot >= s->cfg.snapshot_seconds) {
			memset(&err, 0, sizeof(err));
			uint64_t before = atomic_load(&s->snapshot_version);
			if (sm_maint_snapshot(s, force_snapshot, &err)) {
				fprintf(stderr, "starmarkd: building the snapshot failed: %s\n", err.msg);
			} else if (atomic_load(&s->snapshot_version) != before) {
				/* the log grew (or the snapshot aged): the witness of the next start's quick check follows */
				memset(&err, 0, sizeof(err));
				if (sm_registry_checkpoint_save(s->reg, &err))
					fprintf(stderr, "starmarkd: cannot save the checkpoint: %s\n", err.msg);
			}
			force_snapshot = false;
			last_snapshot = tick;
		}
		struct timespec ts = { 0, 100 * 1000 * 1000 };
		nanosleep(&ts, NULL);
	}
	return NULL;
}
