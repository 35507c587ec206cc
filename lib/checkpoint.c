/* SPDX-License-Identifier: Apache-2.0 */
/* C2SP signed notes (Ed25519) and tlog-checkpoints: signing, strict parsing, verification. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "starmark/buf.h"
#include "starmark/checkpoint.h"
#include "starmark/codec.h"

/* U+2014 EM DASH and a space open every signature line. */
#define SIG_PREFIX "\xe2\x80\x94 "
#define SIG_PREFIX_LEN 4
/* Signature lines past this many make the note malformed (as golang.org/x/mod/sumdb/note). */
#define NOTE_MAX_SIGS 100
#define ALG_ED25519 0x01
#define KEY_ID_LEN 4
/* A verifier key is a name, 8 hex digits and 44 base64 characters: far below this. */
#define VKEY_MAX 1024
/* Longest decimal uint64_t. */
#define SIZE_DIGITS_MAX 20

/* A parsed verifier key; `name` points into the vkey string. */
struct vkey {
	const char *name;
	size_t name_len;
	uint8_t id[KEY_ID_LEN];
	sm_key *key;
};

/* SHA-256(name || 0x0A || 0x01 || pubkey)[:4], the C2SP key ID of an Ed25519 key. */
static void key_id(const char *name, size_t len, const uint8_t pub[SM_PUBKEY_LEN], uint8_t id[KEY_ID_LEN])
{
	uint8_t h[32];
	sm_buf b = SM_BUF_INIT;
	const uint8_t sep[2] = { '\n', ALG_ED25519 };

	/* name <= VKEY_MAX or SM_ORIGIN_MAX: a small buffer; on OOM the ID cannot match anything. */
	if (sm_buf_append(&b, name, len) || sm_buf_append(&b, sep, sizeof(sep)) ||
	    sm_buf_append(&b, pub, SM_PUBKEY_LEN)) {
		memset(id, 0, KEY_ID_LEN);
		goto out;
	}
	sm_sha256(b.data, b.len, h);
	memcpy(id, h, KEY_ID_LEN);
out:
	sm_buf_cleanup(&b);
}

/*
 * Decode one UTF-8 sequence at p (n > 0 bytes available): its length, or 0 for an invalid,
 * overlong, surrogate or out-of-range sequence.
 */
static size_t utf8_next(const uint8_t *p, size_t n, uint32_t *cp)
{
	size_t len;
	uint32_t c, min;

	if (p[0] < 0x80) {
		*cp = p[0];
		return 1;
	}
	if ((p[0] & 0xe0) == 0xc0) {
		len = 2;
		c = p[0] & 0x1f;
		min = 0x80;
	} else if ((p[0] & 0xf0) == 0xe0) {
		len = 3;
		c = p[0] & 0x0f;
		min = 0x800;
	} else if ((p[0] & 0xf8) == 0xf0) {
		len = 4;
		c = p[0] & 0x07;
		min = 0x10000;
	} else {
		return 0;
	}
	if (len > n)
		return 0;
	for (size_t i = 1; i < len; i++) {
		if ((p[i] & 0xc0) != 0x80)
			return 0;
		c = c << 6 | (p[i] & 0x3f);
	}
	if (c < min || c > 0x10ffff || (c >= 0xd800 && c <= 0xdfff))
		return 0;
	*cp = c;
	return len;
}

/* Unicode White_Space, as Go's unicode.IsSpace sees it. */
static bool is_space(uint32_t c)
{
	switch (c) {
	case '\t':
	case '\n':
	case '\v':
	case '\f':
	case '\r':
	case ' ':
	case 0x85:
	case 0xa0:
	case 0x1680:
	case 0x2028:
	case 0x2029:
	case 0x202f:
	case 0x205f:
	case 0x3000:
		return true;
	default:
		return c >= 0x2000 && c <= 0x200a;
	}
}

/* A key name: non-empty UTF-8 without spaces, '+' or control characters. */
static bool valid_name(const char *s, size_t n)
{
	const uint8_t *p = (const uint8_t *)s;
	size_t i = 0;

	if (n == 0)
		return false;
	while (i < n) {
		uint32_t c;
		const size_t len = utf8_next(p + i, n - i, &c);
		if (len == 0 || is_space(c) || c == '+' || c < 0x20 || c == 0x7f)
			return false;
		i += len;
	}
	return true;
}

static void set_line(sm_err *err, size_t line)
{
	if (err)
		err->line = line;
}

/* The 1-based line number of byte `off` of `p`. */
static size_t line_of(const char *p, size_t off)
{
	size_t line = 1;

	for (size_t i = 0; i < off; i++)
		line += p[i] == '\n';
	return line;
}

/* A hex digit's value (either case, as Go's ParseUint takes), or -1. */
static int hex_value(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

static int parse_vkey(const char *vkey, struct vkey *out, sm_err *err)
{
	int rc = 0;
	const char *plus1, *plus2, *b64;
	size_t n, b64_len, raw_len = 0;
	uint8_t *raw = NULL;
	uint8_t id[KEY_ID_LEN];
	char q[80];

	memset(out, 0, sizeof(*out));
	n = strnlen(vkey, VKEY_MAX + 1);
	sm_err_quote(q, sizeof(q), vkey, n);
	if (n > VKEY_MAX)
		return sm_err_set(err, SM_EINVAL, "vkey", "verifier key is over %d characters", VKEY_MAX);
	plus1 = memchr(vkey, '+', n);
	plus2 = plus1 ? memchr(plus1 + 1, '+', n - (size_t)(plus1 + 1 - vkey)) : NULL;
	if (!plus2)
		return sm_err_set(err, SM_EINVAL, "vkey", "verifier key %s is not <name>+<key id>+<key>", q);
	out->name = vkey;
	out->name_len = (size_t)(plus1 - vkey);
	if (!valid_name(out->name, out->name_len))
		return sm_err_set(err, SM_EINVAL, "vkey", "verifier key %s: the name is empty or has spaces",
				  q);
	if (plus2 - plus1 - 1 != 2 * KEY_ID_LEN)
		return sm_err_set(err, SM_EINVAL, "vkey", "verifier key %s: the key id must be 8 hex digits",
				  q);
	for (size_t i = 0; i < 2 * KEY_ID_LEN; i++) {
		const int v = hex_value(plus1[1 + i]);
		if (v < 0)
			return sm_err_set(err, SM_EINVAL, "vkey",
					  "verifier key %s: the key id must be 8 hex digits", q);
		if (i % 2 == 0)
			out->id[i / 2] = (uint8_t)(v << 4);
		else
			out->id[i / 2] |= (uint8_t)v;
	}
	b64 = plus2 + 1;
	b64_len = n - (size_t)(b64 - vkey);
	if (sm_base64_decode(b64, b64_len, &raw, &raw_len, NULL) != 0) {
		rc = sm_err_set(err, SM_EINVAL, "vkey", "verifier key %s: the key is not valid base64", q);
		goto out;
	}
	if (raw_len != 1 + SM_PUBKEY_LEN || raw[0] != ALG_ED25519) {
		rc = sm_err_set(err, SM_EINVAL, "vkey", "verifier key %s is not an Ed25519 (type 0x01) key",
				q);
		goto out;
	}
	key_id(out->name, out->name_len, raw + 1, id);
	if (memcmp(id, out->id, KEY_ID_LEN) != 0) {
		rc = sm_err_set(err, SM_EINVAL, "vkey",
				"verifier key %s: the key id does not match the name and key", q);
		goto out;
	}
	rc = sm_key_from_public(raw + 1, &out->key);
	if (rc)
		rc = sm_err_set(err, rc, "vkey", "verifier key %s: not a usable Ed25519 public key", q);
out:
	free(raw);
	return rc;
}

/*
 * Check the note-wide rules (UTF-8, no control characters but newline) and find where the
 * text ends: after the newline before the last blank line. The signature block follows it.
 */
static int note_split(const char *note, size_t n, size_t *text_len, sm_err *err)
{
	const uint8_t *p = (const uint8_t *)note;
	size_t i = 0, split = SIZE_MAX;

	while (i < n) {
		uint32_t c;
		const size_t len = utf8_next(p + i, n - i, &c);
		if (len == 0) {
			set_line(err, line_of(note, i));
			return sm_err_set(err, SM_EINVAL, "note", "note line %zu: invalid UTF-8 at byte %zu",
					  line_of(note, i), i);
		}
		if (c < 0x20 && c != '\n') {
			set_line(err, line_of(note, i));
			return sm_err_set(err, SM_EINVAL, "note",
					  "note line %zu: control character 0x%02x at byte %zu",
					  line_of(note, i), (unsigned)c, i);
		}
		if (c == '\n' && i + 1 < n && note[i + 1] == '\n')
			split = i;
		i += len;
	}
	if (split == SIZE_MAX)
		return sm_err_set(err, SM_EINVAL, "note", "note has no blank line before its signatures");
	if (split + 2 == n || note[n - 1] != '\n')
		return sm_err_set(
			err, SM_EINVAL, "note",
			"note must end with signature lines, each ending in a newline, after the blank line");
	*text_len = split + 1;
	return 0;
}

/*
 * Check every signature line of note[text_len + 1 .. n) and verify the first one by `vk`.
 * Malformed lines reject the note; lines by other keys are otherwise ignored.
 */
static int note_check_sigs(const char *note, size_t n, size_t text_len, const struct vkey *vk, sm_err *err)
{
	int rc = 0;
	size_t off = text_len + 1, count = 0;
	size_t line = line_of(note, off);
	bool found = false, good = false;
	uint8_t *raw = NULL;
	size_t raw_len = 0;

	for (; off < n; off++, line++) {
		const char *l = note + off;
		const char *nl = memchr(l, '\n', n - off); /* the note ends in '\n': always found */
		const size_t len = (size_t)(nl - l);
		const char *name, *sp, *b64;
		size_t name_len;

		if (++count > NOTE_MAX_SIGS) {
			rc = sm_err_set(err, SM_EINVAL, "note", "note has more than %d signature lines",
					NOTE_MAX_SIGS);
			goto out;
		}
		set_line(err, line);
		if (len < SIG_PREFIX_LEN || memcmp(l, SIG_PREFIX, SIG_PREFIX_LEN) != 0) {
			rc = sm_err_set(
				err, SM_EINVAL, "note",
				"note line %zu: signature lines start with an em dash (U+2014) and a space",
				line);
			goto out;
		}
		name = l + SIG_PREFIX_LEN;
		sp = memchr(name, ' ', len - SIG_PREFIX_LEN);
		name_len = sp ? (size_t)(sp - name) : 0;
		if (!sp || !valid_name(name, name_len)) {
			rc = sm_err_set(err, SM_EINVAL, "note",
					"note line %zu: signature line needs a key name and a signature",
					line);
			goto out;
		}
		b64 = sp + 1;
		free(raw);
		raw = NULL;
		if (sm_base64_decode(b64, (size_t)(nl - b64), &raw, &raw_len, NULL) != 0 ||
		    raw_len < KEY_ID_LEN + 1) {
			rc = sm_err_set(
				err, SM_EINVAL, "note",
				"note line %zu: the signature is not valid base64 of a key id and signature",
				line);
			goto out;
		}
		off += len;
		/* Only the first line by the key counts, as in the Go reference: repeats are skipped. */
		if (found || name_len != vk->name_len || memcmp(name, vk->name, name_len) != 0 ||
		    memcmp(raw, vk->id, KEY_ID_LEN) != 0)
			continue;
		found = true;
		good = raw_len == KEY_ID_LEN + SM_SIG_LEN &&
			sm_key_verify(vk->key, (const uint8_t *)note, text_len, raw + KEY_ID_LEN) == 0;
		if (!good) {
			rc = sm_err_set(err, SM_EVERIFY, "note",
					"note line %zu: the signature by %.*s does not verify", line,
					(int)vk->name_len, vk->name);
			goto out;
		}
	}
	set_line(err, 0);
	if (!good)
		rc = sm_err_set(err, SM_EVERIFY, "note",
				"note has no signature by the key %.*s+%02x%02x%02x%02x", (int)vk->name_len,
				vk->name, vk->id[0], vk->id[1], vk->id[2], vk->id[3]);
out:
	free(raw);
	return rc;
}

int sm_note_verify(const char *note, size_t n, const char *vkey, size_t *text_len, sm_err *err)
{
	int rc;
	struct vkey vk;
	size_t tl = 0;

	if (n > SM_NOTE_MAX)
		return sm_err_set(err, SM_ETOOBIG, "note", "note of %zu bytes is over the %u byte limit", n,
				  SM_NOTE_MAX);
	rc = parse_vkey(vkey, &vk, err);
	if (rc)
		return rc;
	rc = note_split(note, n, &tl, err);
	if (!rc)
		rc = note_check_sigs(note, n, tl, &vk, err);
	if (!rc && text_len)
		*text_len = tl;
	sm_key_free(vk.key);
	return rc;
}

/* "checkpoint line N: <what> '<value>' <problem>", an SM_EINVAL naming the line's field. */
static int body_error(sm_err *err, size_t line, const char *what, const char *value, size_t len,
		      const char *problem)
{
	static const char *const fields[] = { "checkpoint", "origin", "size", "root" };
	char q[80];

	sm_err_quote(q, sizeof(q), value, len);
	set_line(err, line);
	return sm_err_set(err, SM_EINVAL, fields[line <= 3 ? line : 0], "checkpoint line %zu: %s '%s' %s",
			  line, what, q, problem);
}

static int parse_size(const char *s, size_t len, uint64_t *out, sm_err *err)
{
	uint64_t v = 0;

	if (len > SIZE_DIGITS_MAX)
		return body_error(err, 2, "tree size", s, len, "is too long");
	for (size_t i = 0; i < len; i++) {
		const unsigned d = (unsigned)(s[i] - '0');
		if (s[i] < '0' || s[i] > '9')
			return body_error(err, 2, "tree size", s, len, "is not a decimal number");
		if (v > (UINT64_MAX - d) / 10)
			return body_error(err, 2, "tree size", s, len, "is over 2^64-1");
		v = v * 10 + d;
	}
	if (len > 1 && s[0] == '0')
		return body_error(err, 2, "tree size", s, len, "has a leading zero");
	*out = v;
	return 0;
}

/* Parse the checkpoint body `text` (ends with '\n'): origin, size, root, extension lines. */
static int parse_body(const char *text, size_t n, sm_checkpoint *cp, sm_err *err)
{
	int rc = 0;
	size_t off = 0, line = 0;
	uint8_t *root = NULL;
	size_t root_len = 0;

	memset(cp, 0, sizeof(*cp));
	while (off < n) {
		const char *l = text + off;
		const char *nl = memchr(l, '\n', n - off);
		const size_t len = (size_t)(nl - l);

		line++;
		off += len + 1;
		if (len == 0) {
			rc = body_error(err, line, "line", "", 0,
					line > 3 ? "is empty (extension lines must not be)" : "is empty");
			goto out;
		}
		if (line == 1) {
			if (len > SM_ORIGIN_MAX) {
				rc = body_error(err, 1, "origin", l, len, "is over 255 bytes");
				goto out;
			}
			memcpy(cp->origin, l, len);
			cp->origin[len] = '\0';
		} else if (line == 2) {
			rc = parse_size(l, len, &cp->size, err);
			if (rc)
				goto out;
		} else if (line == 3) {
			if (sm_base64_decode(l, len, &root, &root_len, NULL) != 0 ||
			    root_len != SM_HASH_LEN) {
				rc = body_error(err, 3, "root hash", l, len, "is not base64 of 32 bytes");
				goto out;
			}
			memcpy(cp->root, root, SM_HASH_LEN);
		}
		/* Lines after the third are extension lines: signed, otherwise opaque. */
	}
	if (line < 3) {
		set_line(err, 0);
		rc = sm_err_set(err, SM_EINVAL, "checkpoint",
				"checkpoint has %zu line(s); it needs an origin, a tree size and a root hash",
				line);
	}
out:
	free(root);
	return rc;
}

int sm_checkpoint_verify(const char *text, size_t n, const char *vkey, sm_checkpoint *out, sm_err *err)
{
	int rc;
	struct vkey vk;
	size_t tl = 0;
	sm_checkpoint cp;

	if (n > SM_CHECKPOINT_MAX)
		return sm_err_set(err, SM_ETOOBIG, "checkpoint",
				  "checkpoint of %zu bytes is over the %d byte limit", n, SM_CHECKPOINT_MAX);
	rc = parse_vkey(vkey, &vk, err);
	if (rc)
		return rc;
	rc = note_split(text, n, &tl, err);
	if (rc)
		goto out;
	/* Syntax first, so a malformed body is named as such even when its signature is bad too. */
	rc = parse_body(text, tl, &cp, err);
	if (rc)
		goto out;
	rc = note_check_sigs(text, n, tl, &vk, err);
	if (rc)
		goto out;
	*out = cp;
out:
	sm_key_free(vk.key);
	return rc;
}

int sm_checkpoint_sign(const sm_checkpoint *cp, const sm_key *key, char **out)
{
	int rc = 0;
	sm_buf b = SM_BUF_INIT;
	const size_t name_len = strnlen(cp->origin, sizeof(cp->origin));
	uint8_t pub[SM_PUBKEY_LEN];
	uint8_t blob[KEY_ID_LEN + SM_SIG_LEN];
	char *root64 = NULL, *sig64 = NULL;
	size_t text_len;

	*out = NULL;
	if (name_len > SM_ORIGIN_MAX || !valid_name(cp->origin, name_len))
		return SM_EINVAL;
	if (!sm_key_has_private(key))
		return SM_EKEY;
	root64 = sm_base64_encode(cp->root, SM_HASH_LEN);
	if (!root64) {
		rc = SM_ENOMEM;
		goto out;
	}
	rc = sm_buf_printf(&b, "%s\n%llu\n%s\n", cp->origin, (unsigned long long)cp->size, root64);
	if (rc)
		goto out;
	text_len = b.len;
	sm_key_public(key, pub);
	key_id(cp->origin, name_len, pub, blob);
	rc = sm_key_sign(key, b.data, text_len, blob + KEY_ID_LEN);
	if (rc)
		goto out;
	sig64 = sm_base64_encode(blob, sizeof(blob));
	if (!sig64) {
		rc = SM_ENOMEM;
		goto out;
	}
	rc = sm_buf_printf(&b, "\n" SIG_PREFIX "%s %s\n", cp->origin, sig64);
	if (rc)
		goto out;
	*out = (char *)sm_buf_take(&b, NULL);
	if (!*out)
		rc = SM_ENOMEM;
out:
	free(root64);
	free(sig64);
	sm_buf_cleanup(&b);
	return rc;
}

char *sm_note_vkey(const char *name, const sm_key *key)
{
	sm_buf b = SM_BUF_INIT;
	const size_t len = strnlen(name, VKEY_MAX + 1);
	uint8_t raw[1 + SM_PUBKEY_LEN];
	uint8_t id[KEY_ID_LEN];
	char *b64 = NULL, *s = NULL;

	if (len > VKEY_MAX / 2 || !valid_name(name, len))
		return NULL;
	raw[0] = ALG_ED25519;
	sm_key_public(key, raw + 1);
	key_id(name, len, raw + 1, id);
	b64 = sm_base64_encode(raw, sizeof(raw));
	if (!b64)
		goto out;
	if (sm_buf_printf(&b, "%s+%02x%02x%02x%02x+%s", name, id[0], id[1], id[2], id[3], b64) != 0)
		goto out;
	s = (char *)sm_buf_take(&b, NULL);
out:
	free(b64);
	sm_buf_cleanup(&b);
	return s;
}
