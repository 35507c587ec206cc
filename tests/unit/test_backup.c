/* SPDX-License-Identifier: Apache-2.0 */
/* Unit tests of backup and restore: the round trip, the manifest's checks and the refusal paths. */
#include <dirent.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "fixture.h"
#include "starmark/backup.h"

#define NOW 1790000000 /* 2026-09-21: after the fixture's registration date */

struct fx {
	char dir[64];
	char reg[96], bk[96], out[96];
	sm_registry *r;
};

static int setup(void **state)
{
	struct fx *f = calloc(1, sizeof(*f));
	f->r = fx_registry_new(f->dir, "backup.test", NOW);
	snprintf(f->reg, sizeof(f->reg), "%s/reg", f->dir);
	snprintf(f->bk, sizeof(f->bk), "%s/bk", f->dir);
	snprintf(f->out, sizeof(f->out), "%s/out", f->dir);
	fx_issue(f->r, "ACME", "L-1", 2, ">=1.0", "lock", SM_DATE_NONE, NOW, NULL);
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fx *f = *state;
	fx_registry_free(f->r, f->dir);
	free(f);
	return 0;
}

static void take_backup(struct fx *f, sm_backup_info *info)
{
	sm_backup_opts o = { .now = NOW };
	sm_err err = { 0 };
	if (sm_backup_create(f->reg, f->bk, &o, info, &err) != 0)
		fail_msg("backup of %s: %s", f->reg, err.msg);
}

/* Entries of `dir` whose names begin with '.': the temporary directories a failure must not leave. */
static int hidden_entries(const char *dir)
{
	DIR *d = opendir(dir);
	struct dirent *e;
	int n = 0;
	while (d && (e = readdir(d)))
		n += e->d_name[0] == '.' && strcmp(e->d_name, ".") != 0 && strcmp(e->d_name, "..") != 0;
	if (d)
		closedir(d);
	return n;
}

static void write_text(const char *dir, const char *name, const char *text)
{
	char p[160];
	snprintf(p, sizeof(p), "%s/%s", dir, name);
	FILE *fp = fopen(p, "w");
	assert_non_null(fp);
	fputs(text, fp);
	fclose(fp);
}

static void flip_byte(const char *path, long off)
{
	FILE *fp = fopen(path, "r+b");
	assert_non_null(fp);
	assert_int_equal(fseek(fp, off, SEEK_SET), 0);
	int c = fgetc(fp);
	assert_int_not_equal(c, EOF);
	assert_int_equal(fseek(fp, off, SEEK_SET), 0);
	fputc(c ^ 0x40, fp);
	fclose(fp);
}

static void test_backup_round_trip(void **state)
{
	struct fx *f = *state;
	sm_backup_info b, c, r;
	sm_err err = { 0 };
	struct stat st;
	uint64_t size;
	uint8_t root[SM_HASH_LEN];
	take_backup(f, &b);
	assert_int_equal(sm_registry_log_size(f->r, &size, &err), 0);
	assert_int_equal(sm_registry_log_root(f->r, size, root, &err), 0);
	assert_int_equal(b.log_size, size);
	assert_memory_equal(b.log_root, root, SM_HASH_LEN);
	assert_int_equal(b.files, 5); /* data.mdb and four keys */
	assert_int_equal(b.attempts, 1);
	for (int role = SM_ROLE_ROOT; role <= SM_ROLE_LOG; role++)
		assert_int_equal(b.keys[role].state, SM_BACKUP_KEY_CHECKED);
	assert_int_equal(stat(f->bk, &st), 0);
	assert_int_equal(st.st_mode & 0777, 0700);
	char p[160];
	snprintf(p, sizeof(p), "%s/%s", f->bk, SM_BACKUP_MANIFEST);
	assert_int_equal(stat(p, &st), 0);
	assert_int_equal(st.st_mode & 0777, 0600);
	snprintf(p, sizeof(p), "%s/lock.mdb", f->bk);
	assert_int_not_equal(stat(p, &st), 0);

	assert_int_equal(sm_backup_check(f->bk, &c, &err), 0);
	assert_int_equal(c.log_size, size);
	assert_int_equal(c.files, 5);
	assert_int_equal(c.bytes, b.bytes);
	assert_int_equal(c.created, NOW);

	sm_backup_opts o = { 0 };
	if (sm_backup_restore(f->bk, f->out, &o, &r, &err) != 0)
		fail_msg("restore: %s", err.msg);
	assert_true(r.verified);
	assert_int_equal(r.verify.certificates, 1);
	assert_int_equal(r.verify.entries, size);
	assert_int_equal(hidden_entries(f->dir), 0);
	sm_registry *back = NULL;
	sm_cert *cert = NULL;
	assert_int_equal(sm_registry_open(f->out, true, NULL, &back, &err), 0);
	assert_int_equal(sm_registry_get(back, "SM-2026-000001", &cert, &err), 0);
	sm_cert_free(cert);
	sm_registry_close(back);
}

static void test_backup_refuses_existing_dest(void **state)
{
	struct fx *f = *state;
	sm_backup_opts o = { .now = NOW };
	sm_err err = { 0 };
	assert_int_equal(mkdir(f->bk, 0700), 0);
	assert_int_equal(sm_backup_create(f->reg, f->bk, &o, NULL, &err), SM_EEXIST);
	assert_non_null(strstr(err.msg, f->bk));
	assert_int_equal(hidden_entries(f->dir), 0);
	/* no registry to back up: nothing made either */
	assert_int_equal(sm_backup_create(f->out, f->out, &o, NULL, &err), SM_ENOTFOUND);
	assert_int_equal(sm_backup_create(f->bk, f->out, &o, NULL, &err), SM_ENOTFOUND);
	assert_int_equal(hidden_entries(f->dir), 0);
}

static void test_backup_restore_refusals(void **state)
{
	struct fx *f = *state;
	sm_backup_opts o = { 0 };
	sm_err err = { 0 };
	take_backup(f, NULL);
	assert_int_equal(sm_backup_restore(f->bk, f->reg, &o, NULL, &err), SM_EEXIST);
	assert_non_null(strstr(err.msg, "holds a registry already"));
	assert_int_equal(mkdir(f->out, 0755), 0);
	write_text(f->out, "note.txt", "x");
	assert_int_equal(sm_backup_restore(f->bk, f->out, &o, NULL, &err), SM_EEXIST);
	char p[160];
	snprintf(p, sizeof(p), "%s/note.txt", f->out);
	assert_int_equal(unlink(p), 0);
	/* an empty directory is taken */
	assert_int_equal(sm_backup_restore(f->bk, f->out, &o, NULL, &err), 0);
	/* a directory that is no backup */
	snprintf(p, sizeof(p), "%s/other", f->dir);
	assert_int_equal(sm_backup_restore(f->reg, p, &o, NULL, &err), SM_EINVAL);
	assert_non_null(strstr(err.msg, "no manifest.json"));
	assert_int_equal(hidden_entries(f->dir), 0);
}

/* Each damage to a backup is refused before anything is restored, naming what is wrong. */
static void test_backup_damage(void **state)
{
	struct fx *f = *state;
	sm_backup_opts o = { 0 };
	sm_err err = { 0 };
	char p[160];
	struct stat st;
	take_backup(f, NULL);
	snprintf(p, sizeof(p), "%s/data.mdb", f->bk);
	flip_byte(p, 4100);
	assert_int_equal(sm_backup_check(f->bk, NULL, &err), SM_EINVAL);
	assert_non_null(strstr(err.msg, "data.mdb does not match its SHA-256"));
	assert_int_equal(sm_backup_restore(f->bk, f->out, &o, NULL, &err), SM_EINVAL);
	assert_int_not_equal(stat(f->out, &st), 0);
	assert_int_equal(hidden_entries(f->dir), 0);
	flip_byte(p, 4100);
	assert_int_equal(sm_backup_check(f->bk, NULL, &err), 0);
	/* a file cut short */
	assert_int_equal(truncate(p, 8192), 0);
	assert_int_equal(sm_backup_check(f->bk, NULL, &err), SM_EINVAL);
	assert_non_null(strstr(err.msg, "is not"));
}

/* The manifest names only a registry's files, once each, and its fields are checked. */
static void test_backup_manifest(void **state)
{
	struct fx *f = *state;
	sm_err err = { 0 };
	static const char *bad[] = {
		"not json",
		"{\"format\": \"starmark-backup\", \"format_version\": 2, \"starmark\": \"0\", \"created\": \"x\", "
		"\"created_unix\": 0, \"log\": {\"size\": 1, \"root\": \"" "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=\"}, "
		"\"trust_version\": 1, \"files\": []}",
		/* a name outside the layout: a restore must write nowhere else */
		"{\"format\": \"starmark-backup\", \"format_version\": 1, \"starmark\": \"0\", \"created\": \"x\", "
		"\"created_unix\": 0, \"log\": {\"size\": 1, \"root\": \"AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=\"}, "
		"\"trust_version\": 1, \"files\": [{\"name\": \"keys/../../x\", \"size\": 1, \"sha256\": "
		"\"0000000000000000000000000000000000000000000000000000000000000000\"}]}",
		/* no store */
		"{\"format\": \"starmark-backup\", \"format_version\": 1, \"starmark\": \"0\", \"created\": \"x\", "
		"\"created_unix\": 0, \"log\": {\"size\": 1, \"root\": \"AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=\"}, "
		"\"trust_version\": 1, \"files\": []}",
		/* the same file twice */
		"{\"format\": \"starmark-backup\", \"format_version\": 1, \"starmark\": \"0\", \"created\": \"x\", "
		"\"created_unix\": 0, \"log\": {\"size\": 1, \"root\": \"AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=\"}, "
		"\"trust_version\": 1, \"files\": [{\"name\": \"data.mdb\", \"size\": 1, \"sha256\": "
		"\"0000000000000000000000000000000000000000000000000000000000000000\"}, {\"name\": \"data.mdb\", \"size\": 1, "
		"\"sha256\": \"0000000000000000000000000000000000000000000000000000000000000000\"}]}",
		/* an unknown field */
		"{\"format\": \"starmark-backup\", \"format_version\": 1, \"starmark\": \"0\", \"created\": \"x\", "
		"\"created_unix\": 0, \"log\": {\"size\": 1, \"root\": \"AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=\"}, "
		"\"trust_version\": 1, \"files\": [], \"extra\": 1}",
	};
	assert_int_equal(mkdir(f->bk, 0700), 0);
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		write_text(f->bk, SM_BACKUP_MANIFEST, bad[i]);
		if (sm_backup_check(f->bk, NULL, &err) != SM_EINVAL)
			fail_msg("manifest %zu was taken: %s", i, bad[i]);
		assert_string_equal(err.field, "manifest");
	}
}

/* The root key kept offline is allowed; a current issuer key missing is not (after the retries). */
static void test_backup_keys(void **state)
{
	struct fx *f = *state;
	sm_backup_info info;
	sm_backup_opts o = { .now = NOW };
	sm_err err = { 0 };
	const sm_trust *t = sm_registry_trust(f->r);
	char root_path[200], issuer_path[200], aside[200];
	uint8_t sha[32];
	char *hex;
	sm_sha256(t->root, SM_PUBKEY_LEN, sha);
	hex = sm_hex_encode(sha, SM_KID_LEN);
	snprintf(root_path, sizeof(root_path), "%s/keys/root-%s.key", f->reg, hex);
	free(hex);
	snprintf(aside, sizeof(aside), "%s/root.key", f->dir);
	assert_int_equal(rename(root_path, aside), 0);
	take_backup(f, &info);
	assert_int_equal(info.keys[SM_ROLE_ROOT].state, SM_BACKUP_KEY_OFFLINE);
	assert_int_equal(info.files, 4);
	assert_string_equal(sm_backup_key_state_name(SM_BACKUP_KEY_OFFLINE), "offline");

	hex = sm_hex_encode(sm_trust_current(t, SM_ROLE_ISSUER)->kid, SM_KID_LEN);
	snprintf(issuer_path, sizeof(issuer_path), "%s/keys/issuer-%s.key", f->reg, hex);
	free(hex);
	snprintf(aside, sizeof(aside), "%s/issuer.key", f->dir);
	assert_int_equal(rename(issuer_path, aside), 0);
	assert_int_equal(sm_backup_create(f->reg, f->out, &o, &info, &err), SM_EKEY);
	assert_non_null(strstr(err.msg, "issuer"));
	assert_int_equal(info.attempts, 3);
	struct stat st;
	assert_int_not_equal(stat(f->out, &st), 0);
	assert_int_equal(hidden_entries(f->dir), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_backup_round_trip, setup, teardown),
		cmocka_unit_test_setup_teardown(test_backup_refuses_existing_dest, setup, teardown),
		cmocka_unit_test_setup_teardown(test_backup_restore_refusals, setup, teardown),
		cmocka_unit_test_setup_teardown(test_backup_damage, setup, teardown),
		cmocka_unit_test_setup_teardown(test_backup_manifest, setup, teardown),
		cmocka_unit_test_setup_teardown(test_backup_keys, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
