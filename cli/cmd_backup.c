/* SPDX-License-Identifier: Apache-2.0 */
/* backup DEST and restore SRC --db DIR. */
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>

#include "cli.h"
#include "starmark/backup.h"

/* The passphrase of --passphrase-file, when one is given (caller cleanses and frees). */
static int read_passphrase(const cli *c, char **pass)
{
	sm_err err = { 0 };
	int rc;
	*pass = NULL;
	if (c->passphrase_file && (rc = sm_passphrase_read(c->passphrase_file, pass, &err)))
		return fail(c, rc, &err);
	return EXIT_OK;
}

static void free_passphrase(char *pass)
{
	if (pass) {
		OPENSSL_cleanse(pass, strlen(pass));
		free(pass);
	}
}

/* What backup and restore both report, as JSON: the backup directory, the registry, the copy's facts and keys. */
static json_t *info_json(const sm_backup_info *info, const char *backup, const char *db)
{
	char created[21];
	char *root = sm_base64_encode(info->log_root, SM_HASH_LEN);
	json_t *keys = json_array();
	for (int role = SM_ROLE_ROOT; role <= SM_ROLE_LOG; role++) {
		char *kid = sm_hex_encode(info->keys[role].kid, SM_KID_LEN);
		json_array_append_new(keys, json_pack("{s:s, s:s, s:s}", "role", sm_role_name(role), "kid", kid ? kid : "",
						      "state", sm_backup_key_state_name(info->keys[role].state)));
		free(kid);
	}
	sm_time_format(info->created, created);
	json_t *j = json_pack("{s:s, s:s, s:s, s:s, s:I, s:I, s:{s:I, s:s}, s:I, s:o, s:b}", "backup", backup, "db", db,
			      "created", created, "starmark", info->version, "files", (json_int_t)info->files, "bytes",
			      (json_int_t)info->bytes, "log", "size", (json_int_t)info->log_size, "root", root ? root : "",
			      "trust_version", (json_int_t)info->trust_version, "keys", keys, "verified", info->verified);
	free(root);
	return j;
}

/* The notes an operator must read about the keys (stderr, also under --json). */
static void print_key_notes(const sm_backup_info *info)
{
	bool encrypted = false;
	for (int role = SM_ROLE_ROOT; role <= SM_ROLE_LOG; role++)
		encrypted = encrypted || info->keys[role].state == SM_BACKUP_KEY_ENCRYPTED;
	if (info->keys[SM_ROLE_ROOT].state == SM_BACKUP_KEY_OFFLINE)
		fprintf(stderr, "note: the root key is not in the registry (kept offline): it is needed only to rotate keys; "
				"keep it and its own backup apart\n");
	if (encrypted)
		fprintf(stderr, "note: passphrase-protected keys are copied encrypted; the passphrase is needed to run the "
				"registry, keep it apart from the backup\n");
}

/* The keys line of the text output. */
static void print_keys(const sm_backup_info *info)
{
	printf("keys:");
	for (int role = SM_ROLE_ROOT; role <= SM_ROLE_LOG; role++)
		printf(" %s %s%s", sm_role_name(role), sm_backup_key_state_name(info->keys[role].state),
		       role < SM_ROLE_LOG ? "," : "\n");
}

int cmd_backup(cli *c, int argc, char **argv)
{
	opt o[] = { { "verify", false }, { 0 } };
	const char *pos[1];
	size_t np;
	char *pass = NULL;
	sm_backup_info info;
	sm_err err = { 0 };
	int rc = opt_parse(c, "backup", argc, argv, o, pos, 1, &np);
	if (rc)
		return rc;
	if (np != 1)
		return usage_error(c, "backup: usage: starmark backup DEST [--verify]");
	if ((rc = read_passphrase(c, &pass)))
		return rc;
	sm_backup_opts bo = { .passphrase = pass, .verify = o[0].seen, .now = c->now };
	int brc = sm_backup_create(c->db, pos[0], &bo, &info, &err);
	free_passphrase(pass);
	if (brc)
		return fail(c, brc, &err);
	print_key_notes(&info);
	if (c->json) {
		json_t *j = info_json(&info, pos[0], c->db);
		json_object_set_new(j, "attempts", json_integer(info.attempts));
		return print_json(j);
	}
	char *root = sm_base64_encode(info.log_root, SM_HASH_LEN);
	printf("backup %s: %zu %s, %llu %s; log %llu %s, root %s; trust bundle version %llu%s\n", pos[0], info.files,
	       plural(info.files, "file", "files"), (unsigned long long)info.bytes, plural(info.bytes, "byte", "bytes"),
	       (unsigned long long)info.log_size, plural(info.log_size, "entry", "entries"), root ? root : "",
	       (unsigned long long)info.trust_version, info.verified ? "; verified" : "");
	free(root);
	print_keys(&info);
	return EXIT_OK;
}

int cmd_restore(cli *c, int argc, char **argv)
{
	opt o[] = { { 0 } };
	const char *pos[1];
	size_t np;
	char *pass = NULL;
	sm_anchor *anchor = NULL;
	sm_backup_info info;
	sm_err err = { 0 };
	int rc = opt_parse(c, "restore", argc, argv, o, pos, 1, &np);
	if (rc)
		return rc;
	if (np != 1)
		return usage_error(c, "restore: usage: starmark restore SRC --db DIR [--trust FILE|FINGERPRINT]");
	/* an anchor is optional here: given, the restored chain must follow from it */
	if (c->trust && (rc = load_anchor(c, &anchor, &err)))
		return fail(c, rc, &err);
	if ((rc = read_passphrase(c, &pass))) {
		sm_anchor_free(anchor);
		return rc;
	}
	sm_backup_opts bo = { .passphrase = pass, .anchor = anchor, .now = c->now };
	int rrc = sm_backup_restore(pos[0], c->db, &bo, &info, &err);
	free_passphrase(pass);
	sm_anchor_free(anchor);
	if (rrc)
		return fail(c, rrc, &err);
	print_key_notes(&info);
	if (c->json) {
		json_t *j = info_json(&info, pos[0], c->db);
		json_object_set_new(j, "entries", json_integer((json_int_t)info.verify.entries));
		json_object_set_new(j, "certificates", json_integer((json_int_t)info.verify.certificates));
		json_object_set_new(j, "trust_bundles", json_integer((json_int_t)info.verify.bundles));
		json_object_set_new(j, "policies", json_integer((json_int_t)info.verify.policies));
		return print_json(j);
	}
	char *root = sm_base64_encode(info.log_root, SM_HASH_LEN);
	char created[21];
	sm_time_format(info.created, created);
	printf("restored %s (taken %s by starmark %s) to %s: verified %llu %s, %llu %s, %llu %s, %llu %s; root %s\n",
	       pos[0], created, info.version, c->db, (unsigned long long)info.verify.entries,
	       plural(info.verify.entries, "entry", "entries"), (unsigned long long)info.verify.certificates,
	       plural(info.verify.certificates, "certificate", "certificates"), (unsigned long long)info.verify.bundles,
	       plural(info.verify.bundles, "trust bundle", "trust bundles"), (unsigned long long)info.verify.policies,
	       plural(info.verify.policies, "published policy", "published policies"), root ? root : "");
	free(root);
	print_keys(&info);
	return EXIT_OK;
}
