/* SPDX-License-Identifier: Apache-2.0 */
/* Backup and restore of a registry directory: the store's compacted copy, its keys, a manifest. */
#define _GNU_SOURCE /* renameat2(RENAME_NOREPLACE): a backup never replaces what appeared at DEST meanwhile */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <jansson.h>
#include <openssl/crypto.h>

#include "crypto_int.h"
#include "registry_int.h"
#include "starmark/backup.h"
#include "starmark/codec.h"
#include "starmark/json.h"
#include "starmark/starmark.h" /* sm_version_string */

#define PATH_CAP 4200
#define NAME_CAP 48 /* "keys/" "issuer-" 16 hex ".key" and the NUL fit */
#define MANIFEST_MAX (1024u * 1024u)
#define ATTEMPTS 3
#define ENCRYPTED_PEM "-----BEGIN ENCRYPTED PRIVATE KEY-----"

/* One file of a backup: its name inside the backup directory, size and SHA-256. */
struct mfile {
	char name[NAME_CAP];
	uint64_t size;
	uint8_t sha[32];
};

struct manifest {
	struct mfile *v;
	size_t n, cap;
};

static void manifest_cleanup(struct manifest *m)
{
	free(m->v);
	memset(m, 0, sizeof(*m));
}

static int manifest_add(struct manifest *m, const char *name, uint64_t size, const uint8_t sha[32], sm_err *err)
{
	if (m->n == SM_BACKUP_FILES_MAX)
		return sm_err_set(err, SM_ETOOBIG, "files", "a backup holds at most %d files", SM_BACKUP_FILES_MAX);
	if (m->n == m->cap) {
		size_t cap = m->cap ? m->cap * 2 : 16;
		struct mfile *v = realloc(m->v, cap * sizeof(*v));
		if (!v)
			return sm_err_set(err, SM_ENOMEM, NULL, "out of memory");
		m->v = v;
		m->cap = cap;
	}
	struct mfile *f = &m->v[m->n++];
	snprintf(f->name, sizeof(f->name), "%s", name);
	f->size = size;
	memcpy(f->sha, sha, 32);
	return 0;
}

const char *sm_backup_key_state_name(int state)
{
	switch (state) {
	case SM_BACKUP_KEY_CHECKED: return "checked";
	case SM_BACKUP_KEY_ENCRYPTED: return "encrypted";
	case SM_BACKUP_KEY_OFFLINE: return "offline";
	default: return "unknown";
	}
}

/* ---- names and paths ---- */

/* "keys/<role>-<kid hex>.key": the name lib/registry.c gives a key file, inside the registry directory. */
static void key_name(int role, const uint8_t kid[SM_KID_LEN], char out[NAME_CAP])
{
	char hex[2 * SM_KID_LEN + 1];
	for (int i = 0; i < SM_KID_LEN; i++)
		snprintf(hex + 2 * i, 3, "%02x", kid[i]);
	snprintf(out, NAME_CAP, "keys/%s-%s.key", sm_role_name(role), hex);
}

/* A manifest names only files of a registry's layout, so a restore writes nowhere else. */
static bool valid_name(const char *s)
{
	if (strcmp(s, "data.mdb") == 0)
		return true;
	if (strncmp(s, "keys/", 5) != 0)
		return false;
	s += 5;
	const char *dash = strchr(s, '-');
	if (!dash)
		return false;
	char role[8];
	size_t rl = (size_t)(dash - s);
	if (rl == 0 || rl >= sizeof(role))
		return false;
	memcpy(role, s, rl);
	role[rl] = '\0';
	if (sm_role_from_name(role) < 0)
		return false;
	s = dash + 1;
	for (int i = 0; i < 2 * SM_KID_LEN; i++)
		if (!((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'a' && s[i] <= 'f')))
			return false;
	return strcmp(s + 2 * SM_KID_LEN, ".key") == 0;
}

static int join(char *out, const char *dir, const char *name, sm_err *err)
{
	if ((size_t)snprintf(out, PATH_CAP, "%s/%s", dir, name) >= PATH_CAP)
		return sm_err_set(err, SM_EINVAL, "path", "the path %s/%s is too long", dir, name);
	return 0;
}

/*
 * A new directory (mode 0700) beside `target`, on the same file system so that it can be renamed to
 * it: "<parent>/.<name>.<tag>-XXXXXX". SM_EINVAL for an empty or over-long path, SM_EIO.
 */
static int tmp_beside(const char *target, const char *tag, char out[PATH_CAP], sm_err *err)
{
	char t[PATH_CAP];
	size_t n = strlen(target);
	while (n > 1 && target[n - 1] == '/')
		n--;
	if (n == 0 || n >= 4000)
		return sm_err_set(err, SM_EINVAL, "path", "the path '%s' is empty or too long", target);
	memcpy(t, target, n);
	t[n] = '\0';
	char *slash = strrchr(t, '/');
	const char *base = slash ? slash + 1 : t;
	if (!*base || strcmp(base, ".") == 0 || strcmp(base, "..") == 0)
		return sm_err_set(err, SM_EINVAL, "path", "'%s' does not name a directory to create", target);
	int len;
	if (slash == t)
		len = snprintf(out, PATH_CAP, "/.%s.%s-XXXXXX", base, tag);
	else if (slash)
		len = snprintf(out, PATH_CAP, "%.*s/.%s.%s-XXXXXX", (int)(slash - t), t, base, tag);
	else
		len = snprintf(out, PATH_CAP, ".%s.%s-XXXXXX", base, tag);
	if (len < 0 || len >= PATH_CAP) {
		out[0] = '\0';
		return sm_err_set(err, SM_EINVAL, "path", "the path '%s' is too long", target);
	}
	if (!mkdtemp(out)) {
		int e = errno;
		out[0] = '\0';
		return sm_err_set(err, SM_EIO, "path", "cannot create a directory beside %s: %s", target, strerror(e));
	}
	return 0;
}

/* Remove a directory this module made: its files, and keys/ with its files (nothing deeper is made). */
static void remove_tree(const char *dir, int depth)
{
	DIR *d = opendir(dir);
	struct dirent *e;
	char p[PATH_CAP];
	while (d && (e = readdir(d))) {
		if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0 ||
		    (size_t)snprintf(p, sizeof(p), "%s/%s", dir, e->d_name) >= sizeof(p))
			continue;
		if (unlink(p) != 0 && (errno == EISDIR || errno == EPERM) && depth == 0)
			remove_tree(p, 1);
	}
	if (d)
		closedir(d);
	rmdir(dir);
}

static int sync_dir(const char *dir, sm_err *err)
{
	int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	int rc = fd < 0 || fsync(fd) != 0 ? sm_err_set(err, SM_EIO, "path", "cannot sync %s: %s", dir, strerror(errno)) : 0;
	if (fd >= 0)
		close(fd);
	return rc;
}

static int sync_parent(const char *path, sm_err *err)
{
	char p[PATH_CAP];
	snprintf(p, sizeof(p), "%s", path);
	size_t n = strlen(p);
	while (n > 1 && p[n - 1] == '/')
		p[--n] = '\0';
	char *slash = strrchr(p, '/');
	if (!slash)
		return sync_dir(".", err);
	if (slash == p)
		slash[1] = '\0';
	else
		*slash = '\0';
	return sync_dir(p, err);
}

/*
 * Rename the finished directory to `target`: never over anything that is there (RENAME_NOREPLACE), or,
 * with `over_empty`, over the empty directory the caller found there (rename(2) refuses a non-empty one).
 */
static int rename_into_place(const char *tmp, const char *target, bool over_empty, sm_err *err)
{
	int rc = over_empty ? rename(tmp, target) : renameat2(AT_FDCWD, tmp, AT_FDCWD, target, RENAME_NOREPLACE);
	if (rc != 0 && !over_empty && (errno == EINVAL || errno == ENOSYS)) {
		/* a file system without RENAME_NOREPLACE: check, then rename (a narrow race, said here) */
		struct stat st;
		if (lstat(target, &st) == 0)
			errno = EEXIST;
		else
			rc = rename(tmp, target);
	}
	if (rc == 0)
		return sync_parent(target, err);
	if (errno == EEXIST || errno == ENOTEMPTY)
		return sm_err_set(err, SM_EEXIST, "path", "%s appeared meanwhile; nothing was written", target);
	return sm_err_set(err, SM_EIO, "path", "cannot rename the finished copy to %s: %s", target, strerror(errno));
}

/* ---- copying and hashing ---- */

/*
 * Copy (out >= 0) or only read (out < 0) the regular file open as `in`, at most `max` bytes, into
 * SHA-256 and size. `what` names it in messages.
 */
static int stream(int in, int out, uint64_t max, const char *what, uint8_t sha[32], uint64_t *size, sm_err *err)
{
	static const size_t chunk = 1u << 20;
	EVP_MD_CTX *ctx = sm_sha256_ctx();
	uint8_t *buf = malloc(chunk);
	uint64_t total = 0;
	int rc = 0;
	if (!ctx || !buf) {
		free(buf);
		return sm_err_set(err, ctx ? SM_ENOMEM : SM_ECRYPTO, NULL, "cannot hash %s", what);
	}
	for (;;) {
		ssize_t r = read(in, buf, chunk);
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0) {
			rc = sm_err_set(err, SM_EIO, "file", "cannot read %s: %s", what, strerror(errno));
			break;
		}
		if (r == 0)
			break;
		total += (uint64_t)r;
		if (total > max) {
			rc = sm_err_set(err, SM_ETOOBIG, "file", "%s is larger than %llu bytes", what, (unsigned long long)max);
			break;
		}
		EVP_DigestUpdate(ctx, buf, (size_t)r);
		for (ssize_t off = 0; out >= 0 && off < r && !rc;) {
			ssize_t w = write(out, buf + off, (size_t)(r - off));
			if (w < 0 && errno == EINTR)
				continue;
			if (w <= 0)
				rc = sm_err_set(err, SM_EIO, "file", "cannot write the copy of %s: %s", what,
						strerror(w < 0 ? errno : EIO));
			else
				off += w;
		}
		if (rc)
			break;
	}
	unsigned len = 0;
	if (EVP_DigestFinal_ex(ctx, sha, &len) != 1 && !rc)
		rc = sm_err_set(err, SM_ECRYPTO, NULL, "cannot hash %s", what);
	if (buf) {
		OPENSSL_cleanse(buf, chunk); /* it held key files */
		free(buf);
	}
	*size = total;
	return rc;
}

/* Open a regular file to read; SM_ENOTFOUND when it is not there. */
static int open_regular(const char *path, int *fd, sm_err *err)
{
	struct stat st;
	*fd = open(path, O_RDONLY | O_CLOEXEC);
	if (*fd < 0)
		return sm_err_set(err, errno == ENOENT ? SM_ENOTFOUND : SM_EIO, "file", "cannot open %s: %s", path,
				  strerror(errno));
	if (fstat(*fd, &st) != 0 || !S_ISREG(st.st_mode)) {
		close(*fd);
		*fd = -1;
		return sm_err_set(err, SM_EINVAL, "file", "%s is not a regular file", path);
	}
	return 0;
}

/* Create `path` (0600, it must not exist) for writing. */
static int create_private(const char *path, int *fd, sm_err *err)
{
	*fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
	if (*fd < 0)
		return sm_err_set(err, SM_EIO, "file", "cannot create %s: %s", path, strerror(errno));
	return 0;
}

static int finish_file(int fd, const char *path, int rc, sm_err *err)
{
	if (!rc && fsync(fd) != 0)
		rc = sm_err_set(err, SM_EIO, "file", "cannot sync %s: %s", path, strerror(errno));
	if (close(fd) != 0 && !rc)
		rc = sm_err_set(err, SM_EIO, "file", "cannot write %s: %s", path, strerror(errno));
	return rc;
}

/* Copy `from` to the new private file `to`, with its SHA-256 and size. */
static int copy_file(const char *from, const char *to, uint64_t max, uint8_t sha[32], uint64_t *size, sm_err *err)
{
	int in = -1, out = -1;
	int rc = open_regular(from, &in, err);
	if (rc)
		return rc;
	if (!(rc = create_private(to, &out, err))) {
		rc = stream(in, out, max, from, sha, size, err);
		rc = finish_file(out, to, rc, err);
	}
	close(in);
	return rc;
}

static int hash_file(const char *path, uint64_t max, uint8_t sha[32], uint64_t *size, sm_err *err)
{
	int in = -1;
	int rc = open_regular(path, &in, err);
	if (!rc) {
		rc = stream(in, -1, max, path, sha, size, err);
		close(in);
	}
	return rc;
}

/* ---- the keys a copy names ---- */

/* Whether the PEM file at `path` is an encrypted PKCS#8 key (what sm_key_save writes with a passphrase). */
static bool key_encrypted(const char *path)
{
	char head[sizeof(ENCRYPTED_PEM)] = "";
	FILE *f = fopen(path, "re");
	if (!f)
		return false;
	size_t n = fread(head, 1, sizeof(head) - 1, f);
	fclose(f);
	head[n] = '\0';
	return strcmp(head, ENCRYPTED_PEM) == 0;
}

/*
 * The current key of each role that the registry `dir` needs, against its newest bundle `tr`: the
 * issuer, status and log keys must be there (*missing names the first that is not), the root may be
 * offline; each present key is opened and compared with the bundle, unless it is encrypted and there
 * is no passphrase. SM_EKEY naming the file.
 */
static int check_keys(const char *dir, const sm_trust *tr, const char *passphrase, sm_backup_key keys[4],
		      char missing[NAME_CAP], sm_err *err)
{
	char name[NAME_CAP], path[PATH_CAP];
	int rc = 0;
	missing[0] = '\0';
	for (int role = SM_ROLE_ROOT; role <= SM_ROLE_LOG && !rc; role++) {
		uint8_t pub[SM_PUBKEY_LEN], sha[32], have[SM_PUBKEY_LEN];
		const sm_trust_key *k = role == SM_ROLE_ROOT ? NULL : sm_trust_current(tr, role);
		if (role != SM_ROLE_ROOT && !k)
			return sm_err_set(err, SM_EKEY, "keys", "the trust bundle names no current %s key", sm_role_name(role));
		memcpy(pub, k ? k->pub : tr->root, SM_PUBKEY_LEN);
		sm_sha256(pub, SM_PUBKEY_LEN, sha);
		memcpy(keys[role].kid, sha, SM_KID_LEN);
		key_name(role, keys[role].kid, name);
		if ((rc = join(path, dir, name, err)))
			break;
		struct stat st;
		if (stat(path, &st) != 0) {
			if (role == SM_ROLE_ROOT) {
				keys[role].state = SM_BACKUP_KEY_OFFLINE;
				continue;
			}
			snprintf(missing, NAME_CAP, "%s", name);
			return sm_err_set(err, SM_EKEY, "keys", "the current %s key %s that trust bundle version %llu names is not there",
					  sm_role_name(role), name, (unsigned long long)tr->version);
		}
		if (!passphrase && key_encrypted(path)) {
			keys[role].state = SM_BACKUP_KEY_ENCRYPTED;
			continue;
		}
		sm_key *key = NULL;
		if ((rc = sm_key_load(path, passphrase, &key, err)))
			break;
		sm_key_public(key, have);
		sm_key_free(key);
		if (memcmp(have, pub, SM_PUBKEY_LEN) != 0)
			return sm_err_set(err, SM_EKEY, "keys", "%s does not hold the %s key trust bundle version %llu names",
					  name, sm_role_name(role), (unsigned long long)tr->version);
		keys[role].state = SM_BACKUP_KEY_CHECKED;
	}
	return rc;
}

/* The facts of an open copy: its log's size and root, its newest bundle's version. */
static int copy_facts(sm_registry *r, sm_backup_info *info, sm_err *err)
{
	int rc = sm_registry_log_size(r, &info->log_size, err);
	if (!rc)
		rc = sm_registry_log_root(r, info->log_size, info->log_root, err);
	info->trust_version = sm_registry_trust(r)->version;
	return rc;
}

/* Add `name` to the list `names` (n of them, room for cap) unless it is there already. */
static void add_name(char (*names)[NAME_CAP], size_t *n, size_t cap, const char *name)
{
	for (size_t i = 0; i < *n; i++)
		if (strcmp(names[i], name) == 0)
			return;
	if (*n < cap)
		snprintf(names[(*n)++], NAME_CAP, "%s", name);
}

/*
 * Copy into `tmp` the key files of `dbdir` that the copy `r` names: the root of every bundle of its
 * chain and every key of its newest bundle (which keeps every retired key). A named file that is not
 * there is passed over here: check_keys judges the ones that count.
 */
static int copy_named_keys(sm_registry *r, const char *dbdir, const char *tmp, struct manifest *m, sm_err *err)
{
	sm_trust_chain chain = { 0 };
	const sm_trust *newest = sm_registry_trust(r);
	sm_trust *tr = malloc(sizeof(*tr));
	char from[PATH_CAP], to[PATH_CAP];
	uint8_t sha[32];
	int rc = tr ? sm_registry_trust_chain(r, 1, &chain, err) : sm_err_set(err, SM_ENOMEM, NULL, "out of memory");
	size_t cap = chain.n + newest->nkeys, n = 0;
	char (*names)[NAME_CAP] = rc ? NULL : calloc(cap ? cap : 1, NAME_CAP);
	if (!rc && !names)
		rc = sm_err_set(err, SM_ENOMEM, NULL, "out of memory");
	for (size_t i = 0; !rc && i < chain.n; i++) {
		char name[NAME_CAP];
		if ((rc = sm_trust_peek(chain.v[i].p, chain.v[i].n, tr, err)))
			break;
		sm_sha256(tr->root, SM_PUBKEY_LEN, sha);
		key_name(SM_ROLE_ROOT, sha, name);
		add_name(names, &n, cap, name);
	}
	for (size_t k = 0; !rc && k < newest->nkeys; k++) {
		char name[NAME_CAP];
		key_name(newest->keys[k].role, newest->keys[k].kid, name);
		add_name(names, &n, cap, name);
	}
	for (size_t i = 0; !rc && i < n; i++) {
		uint64_t size = 0;
		if ((rc = join(from, dbdir, names[i], err)) || (rc = join(to, tmp, names[i], err)))
			break;
		rc = copy_file(from, to, SM_BACKUP_KEY_MAX, sha, &size, err);
		if (rc == SM_ENOTFOUND) {
			rc = 0;
			sm_err_clear(err);
		} else if (!rc) {
			rc = manifest_add(m, names[i], size, sha, err);
		}
	}
	free(names);
	sm_trust_chain_cleanup(&chain);
	free(tr);
	return rc;
}

/* ---- the manifest ---- */

static int write_manifest(const char *dir, const struct manifest *m, const sm_backup_info *info, sm_err *err)
{
	char path[PATH_CAP], created[21], hex[65];
	json_t *files = json_array();
	char *root = sm_base64_encode(info->log_root, SM_HASH_LEN);
	sm_time_format(info->created, created);
	for (size_t i = 0; files && i < m->n; i++) {
		for (int j = 0; j < 32; j++)
			snprintf(hex + 2 * j, 3, "%02x", m->v[i].sha[j]);
		json_array_append_new(files, json_pack("{s:s, s:I, s:s}", "name", m->v[i].name, "size",
						       (json_int_t)m->v[i].size, "sha256", hex));
	}
	json_t *doc = root && files ? json_pack("{s:s, s:i, s:s, s:s, s:I, s:{s:I, s:s}, s:I, s:o}", "format", "starmark-backup",
					   "format_version", SM_BACKUP_FORMAT, "starmark", info->version, "created", created,
					   "created_unix", (json_int_t)info->created, "log", "size", (json_int_t)info->log_size,
					   "root", root, "trust_version", (json_int_t)info->trust_version, "files", files)
				  : NULL;
	if (!doc)
		json_decref(files);
	char *text = doc ? json_dumps(doc, JSON_INDENT(2) | JSON_PRESERVE_ORDER) : NULL;
	int rc = text ? join(path, dir, SM_BACKUP_MANIFEST, err) : sm_err_set(err, SM_ENOMEM, NULL, "out of memory");
	int fd = -1;
	if (!rc && !(rc = create_private(path, &fd, err))) {
		size_t n = strlen(text);
		if (write(fd, text, n) != (ssize_t)n || write(fd, "\n", 1) != 1)
			rc = sm_err_set(err, SM_EIO, "file", "cannot write %s: %s", path, strerror(errno));
		rc = finish_file(fd, path, rc, err);
	}
	free(text);
	json_decref(doc);
	free(root);
	return rc;
}

/* Read and check the manifest of the backup `src` (not the files it lists). */
static int read_manifest(const char *src, struct manifest *m, sm_backup_info *info, sm_err *err)
{
	char path[PATH_CAP];
	uint8_t *text = NULL, *root = NULL, *sha = NULL;
	size_t n = 0, rn = 0, sn = 0;
	json_t *doc = NULL, *files = NULL;
	json_error_t je;
	const char *format = NULL, *version = NULL, *created = NULL, *root64 = NULL;
	json_int_t fv = 0, cu = 0, size = 0, tv = 0;
	int rc = join(path, src, SM_BACKUP_MANIFEST, err);
	if (!rc && (rc = sm_file_read(path, MANIFEST_MAX, &text, &n, err)) == SM_ENOTFOUND)
		rc = sm_err_set(err, SM_EINVAL, "manifest", "%s is not a starmark backup: it has no %s", src,
				SM_BACKUP_MANIFEST);
	if (rc)
		goto out;
	doc = json_loadb((const char *)text, n, JSON_REJECT_DUPLICATES, &je);
	if (!doc || json_unpack_ex(doc, &je, JSON_STRICT, "{s:s, s:I, s:s, s:s, s:I, s:{s:I, s:s}, s:I, s:o}", "format",
				   &format, "format_version", &fv, "starmark", &version, "created", &created, "created_unix",
				   &cu, "log", "size", &size, "root", &root64, "trust_version", &tv, "files", &files) != 0) {
		rc = sm_err_set(err, SM_EINVAL, "manifest", "%s is damaged: %s", path, je.text);
		goto out;
	}
	if (strcmp(format, "starmark-backup") != 0 || fv != SM_BACKUP_FORMAT) {
		rc = sm_err_set(err, SM_EINVAL, "manifest", "%s is not a starmark backup of format %d", path, SM_BACKUP_FORMAT);
		goto out;
	}
	if (size < 1 || tv < 1 || cu < 0 || sm_base64_decode(root64, strlen(root64), &root, &rn, NULL) != 0 ||
	    rn != SM_HASH_LEN || !json_is_array(files)) {
		rc = sm_err_set(err, SM_EINVAL, "manifest", "%s is damaged: its log, trust_version or files", path);
		goto out;
	}
	if (info) {
		info->created = cu;
		snprintf(info->version, sizeof(info->version), "%s", version);
		info->log_size = (uint64_t)size;
		memcpy(info->log_root, root, SM_HASH_LEN);
		info->trust_version = (uint64_t)tv;
	}
	size_t i;
	json_t *f;
	bool have_store = false;
	json_array_foreach(files, i, f) {
		const char *name = NULL, *hex = NULL;
		json_int_t fs = -1;
		free(sha);
		sha = NULL;
		if (json_unpack_ex(f, &je, JSON_STRICT, "{s:s, s:I, s:s}", "name", &name, "size", &fs, "sha256", &hex) != 0 ||
		    !valid_name(name) || fs < 0 || strlen(hex) != 64 || sm_hex_decode(hex, 64, &sha, &sn, NULL) != 0) {
			rc = sm_err_set(err, SM_EINVAL, "manifest", "%s is damaged: files[%zu] is not a file of a registry", path, i);
			goto out;
		}
		for (size_t j = 0; j < m->n; j++)
			if (strcmp(m->v[j].name, name) == 0) {
				rc = sm_err_set(err, SM_EINVAL, "manifest", "%s is damaged: %s is listed twice", path, name);
				goto out;
			}
		have_store = have_store || strcmp(name, "data.mdb") == 0;
		if ((rc = manifest_add(m, name, (uint64_t)fs, sha, err)))
			goto out;
	}
	if (!have_store)
		rc = sm_err_set(err, SM_EINVAL, "manifest", "%s is damaged: it lists no data.mdb", path);
	if (info)
		info->files = m->n;
out:
	free(sha);
	free(root);
	json_decref(doc);
	free(text);
	return rc;
}

/* ---- backup ---- */

/* One copy into `tmp`: the store, then the key files it names, checked. *missing: a current key not there. */
static int take_copy(sm_registry *src, const char *dbdir, const char *tmp, const sm_backup_opts *o,
		     struct manifest *m, sm_backup_info *info, char missing[NAME_CAP], sm_err *err)
{
	char path[PATH_CAP];
	uint8_t sha[32];
	uint64_t size = 0;
	int fd = -1;
	sm_registry *copy = NULL;
	missing[0] = '\0';
	int rc = join(path, tmp, "data.mdb", err);
	if (!rc && !(rc = create_private(path, &fd, err)))
		rc = finish_file(fd, path, sm_store_copy(src->store, fd, err), err);
	if (!rc)
		rc = hash_file(path, UINT64_MAX, sha, &size, err);
	if (!rc)
		rc = manifest_add(m, "data.mdb", size, sha, err);
	if (!rc)
		rc = sm_registry_open(tmp, false, o->passphrase, &copy, err);
	if (!rc)
		rc = copy_facts(copy, info, err);
	if (!rc && (rc = join(path, tmp, "keys", err)) == 0 && mkdir(path, 0700) != 0)
		rc = sm_err_set(err, SM_EIO, "path", "cannot create %s: %s", path, strerror(errno));
	if (!rc)
		rc = copy_named_keys(copy, dbdir, tmp, m, err);
	if (!rc)
		rc = check_keys(tmp, sm_registry_trust(copy), o->passphrase, info->keys, missing, err);
	if (!rc && o->verify && !(rc = sm_registry_verify(copy, o->progress, o->pctx, &info->verify, err)))
		info->verified = true;
	sm_registry_close(copy);
	/* the copy's own reader table, made by opening it: not part of a backup */
	if (!join(path, tmp, "lock.mdb", NULL))
		unlink(path);
	return rc;
}

int sm_backup_create(const char *dbdir, const char *dest, const sm_backup_opts *o, sm_backup_info *info,
		     sm_err *err)
{
	sm_backup_info local;
	struct manifest m = { 0 };
	sm_registry *src = NULL;
	char tmp[PATH_CAP] = "", missing[NAME_CAP] = "";
	struct stat st;
	int rc;
	if (!info)
		info = &local;
	memset(info, 0, sizeof(*info));
	info->created = o->now;
	snprintf(info->version, sizeof(info->version), "%s", sm_version_string());
	if (lstat(dest, &st) == 0)
		return sm_err_set(err, SM_EEXIST, "dest", "%s exists: a backup goes to a new directory", dest);
	if ((rc = sm_registry_open(dbdir, false, NULL, &src, err)))
		return rc;
	if ((rc = tmp_beside(dest, "backup", tmp, err)))
		goto out;
	for (unsigned attempt = 1; attempt <= ATTEMPTS; attempt++) {
		info->attempts = attempt;
		rc = take_copy(src, dbdir, tmp, o, &m, info, missing, err);
		if (!rc || !missing[0] || attempt == ATTEMPTS)
			break;
		/* a current key the copy names was not there: take the copy again, from a clean directory */
		remove_tree(tmp, 0);
		m.n = 0;
		if (mkdir(tmp, 0700) != 0) {
			rc = sm_err_set(err, SM_EIO, "path", "cannot create %s: %s", tmp, strerror(errno));
			break;
		}
		nanosleep(&(struct timespec){ 0, 200 * 1000 * 1000 }, NULL);
	}
	if (rc && missing[0])
		rc = sm_err_wrap(err, SM_EKEY, "keys", "%s/keys lacks a key its store names (tried %d times): ", dbdir, ATTEMPTS);
	if (rc)
		goto out;
	info->files = m.n;
	for (size_t i = 0; i < m.n; i++)
		info->bytes += m.v[i].size;
	char keys[PATH_CAP];
	if (!(rc = write_manifest(tmp, &m, info, err)) && !(rc = join(keys, tmp, "keys", err)) &&
	    !(rc = sync_dir(keys, err)) && !(rc = sync_dir(tmp, err)) && !(rc = rename_into_place(tmp, dest, false, err)))
		tmp[0] = '\0';
out:
	if (tmp[0])
		remove_tree(tmp, 0);
	sm_registry_close(src);
	manifest_cleanup(&m);
	return rc;
}

/* ---- check and restore ---- */

/* Every file the manifest `m` lists is in `src` with its size and SHA-256; *bytes adds their sizes. */
static int check_files(const char *src, const struct manifest *m, uint64_t *bytes, sm_err *err)
{
	char path[PATH_CAP];
	int rc = 0;
	for (size_t i = 0; !rc && i < m->n; i++) {
		uint8_t sha[32];
		uint64_t size = 0;
		if ((rc = join(path, src, m->v[i].name, err)))
			break;
		rc = hash_file(path, m->v[i].size, sha, &size, err);
		if (rc == SM_ENOTFOUND)
			rc = sm_err_set(err, SM_EINVAL, "file", "the backup is incomplete: %s is missing", m->v[i].name);
		else if (rc == SM_ETOOBIG || (!rc && size != m->v[i].size))
			rc = sm_err_set(err, SM_EINVAL, "file", "the backup is damaged: %s is not %llu bytes as its manifest says",
					m->v[i].name, (unsigned long long)m->v[i].size);
		else if (!rc && CRYPTO_memcmp(sha, m->v[i].sha, 32) != 0)
			rc = sm_err_set(err, SM_EINVAL, "file", "the backup is damaged: %s does not match its SHA-256 in the manifest",
					m->v[i].name);
		*bytes += size;
	}
	return rc;
}

int sm_backup_check(const char *src, sm_backup_info *info, sm_err *err)
{
	struct manifest m = { 0 };
	uint64_t bytes = 0;
	int rc = read_manifest(src, &m, info, err);
	if (!rc)
		rc = check_files(src, &m, &bytes, err);
	if (info)
		info->bytes = bytes;
	manifest_cleanup(&m);
	return rc;
}

/* Whether a registry may be restored to `dir`: not there, or an empty directory (*over_empty). */
static int restore_target(const char *dir, bool *over_empty, sm_err *err)
{
	struct stat st;
	*over_empty = false;
	if (lstat(dir, &st) != 0)
		return errno == ENOENT ? 0 : sm_err_set(err, SM_EIO, "db", "cannot look at %s: %s", dir, strerror(errno));
	char path[PATH_CAP];
	if (!join(path, dir, "data.mdb", NULL) && lstat(path, &st) == 0)
		return sm_err_set(err, SM_EEXIST, "db", "%s holds a registry already: restore into a new directory", dir);
	DIR *d = S_ISDIR(st.st_mode) ? opendir(dir) : NULL;
	struct dirent *e;
	bool empty = d != NULL;
	while (d && empty && (e = readdir(d)))
		empty = strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0;
	if (d)
		closedir(d);
	if (!empty)
		return sm_err_set(err, SM_EEXIST, "db", "%s exists and is not an empty directory: restore into a new one", dir);
	*over_empty = true;
	return 0;
}

/* The first bytes of a root in hex, enough to tell two apart in a message. */
static const char *root_prefix(const uint8_t root[SM_HASH_LEN], char out[20])
{
	for (int i = 0; i < 8; i++)
		snprintf(out + 2 * i, 3, "%02x", root[i]);
	snprintf(out + 16, 4, "...");
	return out;
}

/* The restored copy in `tmp`, verified: the store in full, its log against the manifest, its keys, its anchor. */
static int verify_copy(const char *tmp, const sm_backup_opts *o, const sm_backup_info *want, sm_backup_info *info,
		       sm_err *err)
{
	sm_registry *r = NULL;
	sm_trust_chain chain = { 0 };
	sm_trust *followed = NULL;
	char missing[NAME_CAP], have[20], wanted[20];
	int rc = sm_registry_open(tmp, false, o->passphrase, &r, err);
	if (!rc && !(rc = sm_registry_verify(r, o->progress, o->pctx, &info->verify, err)))
		info->verified = true;
	if (!rc)
		rc = copy_facts(r, info, err);
	if (!rc && (info->log_size != want->log_size || CRYPTO_memcmp(info->log_root, want->log_root, SM_HASH_LEN) != 0 ||
		    info->trust_version != want->trust_version))
		rc = sm_err_set(err, SM_EINVAL, "manifest",
				"the backup is damaged: its store's log (%llu entries, trust bundle version %llu, root %s) is "
				"not the one its manifest recorded (%llu entries, version %llu, root %s)",
				(unsigned long long)info->log_size, (unsigned long long)info->trust_version,
				root_prefix(info->log_root, have), (unsigned long long)want->log_size,
				(unsigned long long)want->trust_version, root_prefix(want->log_root, wanted));
	if (!rc)
		rc = check_keys(tmp, sm_registry_trust(r), o->passphrase, info->keys, missing, err);
	if (!rc && o->anchor) {
		if (!(followed = malloc(sizeof(*followed))))
			rc = sm_err_set(err, SM_ENOMEM, NULL, "out of memory");
		else if (!(rc = sm_registry_trust_chain(r, 1, &chain, err)))
			rc = sm_trust_follow(o->anchor, &chain, followed, NULL, NULL, err);
		if (!rc && followed->version != info->trust_version)
			rc = sm_err_set(err, SM_EVERIFY, "trust", "the anchor reaches trust bundle version %llu, not the store's %llu",
					(unsigned long long)followed->version, (unsigned long long)info->trust_version);
	}
	free(followed);
	sm_trust_chain_cleanup(&chain);
	sm_registry_close(r);
	return rc;
}

int sm_backup_restore(const char *src, const char *dbdir, const sm_backup_opts *o, sm_backup_info *info,
		      sm_err *err)
{
	sm_backup_info local, want;
	struct manifest m = { 0 };
	char tmp[PATH_CAP] = "", from[PATH_CAP], to[PATH_CAP];
	bool over_empty = false;
	if (!info)
		info = &local;
	memset(info, 0, sizeof(*info));
	memset(&want, 0, sizeof(want));
	int rc = restore_target(dbdir, &over_empty, err);
	/* the whole backup is checked before anything is written: a damaged one leaves no trace */
	if (!rc)
		rc = read_manifest(src, &m, &want, err);
	if (!rc)
		rc = check_files(src, &m, &want.bytes, err);
	if (!rc)
		rc = tmp_beside(dbdir, "restore", tmp, err);
	if (!rc && (rc = join(to, tmp, "keys", err)) == 0 && mkdir(to, 0700) != 0)
		rc = sm_err_set(err, SM_EIO, "path", "cannot create %s: %s", to, strerror(errno));
	for (size_t i = 0; !rc && i < m.n; i++) {
		uint8_t sha[32];
		uint64_t size = 0;
		if (!(rc = join(from, src, m.v[i].name, err)) && !(rc = join(to, tmp, m.v[i].name, err)))
			rc = copy_file(from, to, m.v[i].size, sha, &size, err);
		/* checked again as copied: the backup may have changed since it was checked */
		if (!rc && (size != m.v[i].size || CRYPTO_memcmp(sha, m.v[i].sha, 32) != 0))
			rc = sm_err_set(err, SM_EINVAL, "file", "the backup changed while it was restored: %s", m.v[i].name);
	}
	if (!rc)
		rc = verify_copy(tmp, o, &want, info, err);
	if (!rc) {
		info->created = want.created;
		memcpy(info->version, want.version, sizeof(info->version));
		info->files = want.files;
		info->bytes = want.bytes;
		if (!join(to, tmp, "lock.mdb", NULL))
			unlink(to);
	}
	if (!rc && !(rc = join(to, tmp, "keys", err)) && !(rc = sync_dir(to, err)) && !(rc = sync_dir(tmp, err)) &&
	    !(rc = rename_into_place(tmp, dbdir, over_empty, err)))
		tmp[0] = '\0';
	if (tmp[0])
		remove_tree(tmp, 0);
	manifest_cleanup(&m);
	return rc;
}
