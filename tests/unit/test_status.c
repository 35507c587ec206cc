/* SPDX-License-Identifier: Apache-2.0 */
/* Unit tests of status statements and snapshots on real registries. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "starmark/starmark.h"
#include "starmark/status.h"

#define NOW 1790000000

struct fx {
	char dir[64];
	sm_registry *r;
};

static int setup(void **state)
{
	struct fx *f = calloc(1, sizeof(*f));
	snprintf(f->dir, sizeof(f->dir), "/tmp/sm-test-status-XXXXXX");
	assert_non_null(mkdtemp(f->dir));
	sm_init_opts o = { "CCDS", 3, "registry.example.jp", NULL, NOW };
	char fp[65];
	assert_int_equal(sm_registry_init(f->dir, &o, fp, NULL), 0);
	assert_int_equal(sm_registry_open(f->dir, true, NULL, &f->r, NULL), 0);
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fx *f = *state;
	char cmd[128];
	sm_registry_close(f->r);
	snprintf(cmd, sizeof(cmd), "rm -rf %s", f->dir);
	assert_int_equal(system(cmd), 0);
	free(f);
	return 0;
}

static sm_cert *draft(const char *model)
{
	sm_cert *c = sm_cert_new();
	snprintf(c->vendor, sizeof(c->vendor), "RINNAI");
	c->vendor_name = strdup("リンナイ株式会社");
	c->product = strdup("給湯器リモコン");
	c->models = calloc(1, sizeof(char *));
	c->models[0] = strdup(model);
	c->nmodels = 1;
	c->level = 2;
	c->firmware = strdup(">=1.0 <2.0");
	c->category = strdup("water-heater");
	c->registered = 18650;
	c->expires = 21000;
	return c;
}

static void test_status_statement_follows_events(void **state)
{
	struct fx *f = *state;
	sm_err err = { 0 };
	sm_cert *d = draft("MC-1"), *c = NULL;
	uint8_t *st = NULL;
	size_t n;
	sm_statement s;
	assert_int_equal(sm_registry_issue(f->r, d, NOW, &c, &err), 0);
	assert_int_equal(sm_registry_statement(f->r, c->id, &st, &n, &err), 0);
	assert_int_equal(sm_statement_verify(st, n, sm_registry_trust(f->r), &s, &err), 0);
	assert_string_equal(s.cert->id, c->id);
	assert_string_equal(s.cert->vendor_name, "リンナイ株式会社");
	assert_int_equal(s.cert->status, SM_STATUS_ACTIVE);
	assert_int_equal(s.produced_at, NOW);
	assert_int_equal(s.next_update, NOW + 24 * 3600);
	assert_int_equal(s.log_size, 2);
	uint8_t root[SM_HASH_LEN];
	assert_int_equal(sm_registry_log_root(f->r, 2, root, &err), 0);
	assert_memory_equal(root, s.log_root, SM_HASH_LEN);
	sm_statement_cleanup(&s);
	/* a flipped bit is not genuine */
	st[n - 5] ^= 1;
	assert_int_not_equal(sm_statement_verify(st, n, sm_registry_trust(f->r), &s, &err), 0);
	free(st);

	/* revocation re-produces it at once */
	sm_event *e = sm_event_new(SM_EV_REVOKE);
	snprintf(e->id, sizeof(e->id), "%s", c->id);
	e->reason = strdup("fraud");
	assert_int_equal(sm_registry_event(f->r, e, NOW + 60, NULL, &err), 0);
	sm_event_free(e);
	assert_int_equal(sm_registry_statement(f->r, c->id, &st, &n, &err), 0);
	assert_int_equal(sm_statement_verify(st, n, sm_registry_trust(f->r), &s, &err), 0);
	assert_int_equal(s.cert->status, SM_STATUS_REVOKED);
	assert_int_equal(s.produced_at, NOW + 60);
	assert_int_equal(s.log_size, 3);
	sm_statement_cleanup(&s);
	free(st);
	sm_cert_free(c);
	sm_cert_free(d);
}

static void test_status_bulk_defers_then_refresh_produces(void **state)
{
	struct fx *f = *state;
	sm_err err = { 0 };
	sm_cert *d[3] = { draft("B-1"), draft("B-2"), draft("B-3") };
	uint8_t *st = NULL;
	size_t n, done = 0;
	for (int i = 0; i < 3; i++)
		assert_int_equal(sm_cert_validate(d[i], 3, &err), 0);
	assert_int_equal(sm_registry_issue_many(f->r, d, 3, NOW, NULL, NULL, &err), 0);
	assert_int_equal(sm_registry_statement(f->r, d[1]->id, &st, &n, &err), SM_ENOTFOUND);
	assert_int_equal(sm_registry_refresh(f->r, NOW + 5, 0, &done, &err), 0);
	assert_int_equal(done, 3);
	assert_int_equal(sm_registry_statement(f->r, d[1]->id, &st, &n, &err), 0);
	free(st);
	/* nothing is due again until refresh_before next_update */
	assert_int_equal(sm_registry_refresh(f->r, NOW + 3600, 0, &done, &err), 0);
	assert_int_equal(done, 0);
	assert_int_equal(sm_registry_refresh(f->r, NOW + 19 * 3600, 0, &done, &err), 0);
	assert_int_equal(done, 3);
	sm_statement s;
	assert_int_equal(sm_registry_statement(f->r, d[0]->id, &st, &n, &err), 0);
	assert_int_equal(sm_statement_verify(st, n, sm_registry_trust(f->r), &s, &err), 0);
	assert_int_equal(s.produced_at, NOW + 19 * 3600);
	sm_statement_cleanup(&s);
	free(st);
	for (int i = 0; i < 3; i++)
		sm_cert_free(d[i]);
}

struct seen {
	int n;
	bool revoked_seen;
};

static int count_cert(void *ctx, sm_cert *c)
{
	struct seen *s = ctx;
	s->n++;
	if (c->status == SM_STATUS_REVOKED)
		s->revoked_seen = true;
	sm_cert_free(c);
	return 0;
}

static uint8_t *slurp(const char *path, size_t *n)
{
	FILE *fp = fopen(path, "rb");
	assert_non_null(fp);
	fseek(fp, 0, SEEK_END);
	*n = (size_t)ftell(fp);
	fseek(fp, 0, SEEK_SET);
	uint8_t *b = malloc(*n);
	assert_int_equal(fread(b, 1, *n, fp), *n);
	fclose(fp);
	return b;
}

static void test_status_snapshot_roundtrip(void **state)
{
	struct fx *f = *state;
	sm_err err = { 0 };
	char path[128];
	uint64_t ver = 0;
	char seventh[SM_ID_MAX + 1] = "";
	for (int i = 0; i < 40; i++) {
		char m[16];
		snprintf(m, sizeof(m), "S-%d", i);
		sm_cert *d = draft(m);
		assert_int_equal(sm_registry_issue(f->r, d, NOW, NULL, &err), 0);
		if (i == 6)
			snprintf(seventh, sizeof(seventh), "%s", d->id);
		sm_cert_free(d);
	}
	sm_event *e = sm_event_new(SM_EV_REVOKE);
	snprintf(e->id, sizeof(e->id), "%s", seventh);
	e->reason = strdup("x");
	assert_int_equal(sm_registry_event(f->r, e, NOW + 1, NULL, &err), 0);
	sm_event_free(e);
	snprintf(path, sizeof(path), "%s/snapshot.cose", f->dir);
	assert_int_equal(sm_registry_snapshot(f->r, path, NOW + 10, &ver, &err), 0);
	assert_int_equal(ver, NOW + 10); /* the second it was produced */
	size_t n;
	uint8_t *b = slurp(path, &n);
	sm_snapshot_info info;
	struct seen s = { 0, false };
	if (sm_snapshot_verify(b, n, sm_registry_trust(f->r), &info, count_cert, &s, &err) != 0)
		fail_msg("snapshot does not verify: %s", err.msg);
	assert_int_equal(info.version, NOW + 10);
	assert_int_equal(info.count, 40);
	assert_int_equal(s.n, 40);
	assert_true(s.revoked_seen);
	assert_int_equal(info.produced_at, NOW + 10);
	assert_int_equal(info.next_update, NOW + 10 + 3600);
	assert_int_equal(info.log_size, 42);
	/* a changed byte inside the certificates: not genuine */
	b[n / 2] ^= 0x20;
	assert_int_not_equal(sm_snapshot_verify(b, n, sm_registry_trust(f->r), &info, NULL, NULL, &err), 0);
	free(b);
	/* the version grows */
	assert_int_equal(sm_registry_snapshot(f->r, path, NOW + 20, &ver, &err), 0);
	assert_int_equal(ver, NOW + 20);
	struct stat st;
	assert_int_equal(stat(path, &st), 0);
	assert_int_equal(st.st_mode & 0777, 0644);
}

static int reencode_cert(void *ctx, sm_cert *c)
{
	int rc = sm_snapshot_cert_encode(c, ctx);
	sm_cert_free(c);
	return rc;
}

/* The format's encoders give back, byte for byte, the payload the registry signed */
static void test_status_snapshot_encoders_reproduce_the_payload(void **state)
{
	struct fx *f = *state;
	sm_err err = { 0 };
	char path[128];
	uint64_t ver = 0;
	for (int i = 0; i < 3; i++) {
		char m[16];
		snprintf(m, sizeof(m), "E-%d", i);
		sm_cert *d = draft(m);
		if (i == 1) {
			free(d->category);
			d->category = NULL;
			d->expires = SM_DATE_NONE;
		}
		assert_int_equal(sm_registry_issue(f->r, d, NOW, NULL, &err), 0);
		sm_cert_free(d);
	}
	snprintf(path, sizeof(path), "%s/snapshot.cose", f->dir);
	assert_int_equal(sm_registry_snapshot(f->r, path, NOW + 10, &ver, &err), 0);
	size_t n, pn;
	uint8_t *b = slurp(path, &n);
	sm_snapshot_info info;
	sm_buf certs = SM_BUF_INIT, again = SM_BUF_INIT;
	if (sm_snapshot_verify(b, n, sm_registry_trust(f->r), &info, reencode_cert, &certs, &err) != 0)
		fail_msg("snapshot does not verify: %s", err.msg);
	assert_int_equal(info.count, 3);
	assert_int_equal(sm_snapshot_head_encode(&info, &again), 0);
	assert_int_equal(sm_buf_append(&again, certs.data, certs.len), 0);
	sm_cose *c = NULL;
	assert_int_equal(sm_cose_decode(b, n, &c, &err), 0);
	const uint8_t *p = sm_cose_payload(c, &pn);
	if (again.len != pn || memcmp(again.data, p, pn) != 0)
		fail_msg("re-encoded payload: %zu bytes, signed payload: %zu bytes (or they differ)", again.len, pn);
	sm_cose_free(c);
	sm_buf_cleanup(&certs);
	sm_buf_cleanup(&again);
	free(b);
}

/*
 * Snapshot versions never go back: the second of production, or one more than the last. A registry
 * restored from a backup taken before later snapshots still numbers its next one above them (every
 * gateway that synced since keeps that version as its rollback floor).
 */
static void test_status_snapshot_version_survives_restore(void **state)
{
	struct fx *f = *state;
	sm_err err = { 0 };
	char path[400], bak[160], restored[160];
	uint64_t ver = 0;
	snprintf(path, sizeof(path), "%s/snapshot.cose", f->dir);
	snprintf(bak, sizeof(bak), "%s-backup", f->dir);
	snprintf(restored, sizeof(restored), "%s-restored", f->dir);
	sm_backup_opts o = { .now = NOW };
	if (sm_backup_create(f->dir, bak, &o, NULL, &err) != 0)
		fail_msg("backup: %s", err.msg);
	assert_int_equal(sm_registry_snapshot(f->r, path, NOW + 10, &ver, &err), 0);
	assert_int_equal(ver, NOW + 10);
	assert_int_equal(sm_registry_snapshot(f->r, path, NOW + 10, &ver, &err), 0);
	assert_int_equal(ver, NOW + 11); /* two in one second */
	assert_int_equal(sm_registry_snapshot(f->r, path, NOW + 5, &ver, &err), 0);
	assert_int_equal(ver, NOW + 12); /* the clock set back */
	/* the backup predates all three; restored, its next snapshot is still above them */
	if (sm_backup_restore(bak, restored, &o, NULL, &err) != 0)
		fail_msg("restore: %s", err.msg);
	sm_registry *r2 = NULL;
	assert_int_equal(sm_registry_open(restored, true, NULL, &r2, &err), 0);
	snprintf(path, sizeof(path), "%s/snapshot.cose", restored);
	assert_int_equal(sm_registry_snapshot(r2, path, NOW + 60, &ver, &err), 0);
	assert_true(ver > NOW + 12);
	sm_registry_close(r2);
	char cmd[400];
	snprintf(cmd, sizeof(cmd), "rm -rf %s %s", bak, restored);
	assert_int_equal(system(cmd), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_status_statement_follows_events, setup, teardown),
		cmocka_unit_test_setup_teardown(test_status_bulk_defers_then_refresh_produces, setup, teardown),
		cmocka_unit_test_setup_teardown(test_status_snapshot_roundtrip, setup, teardown),
		cmocka_unit_test_setup_teardown(test_status_snapshot_version_survives_restore, setup, teardown),
		cmocka_unit_test_setup_teardown(test_status_snapshot_encoders_reproduce_the_payload, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
