/* SPDX-License-Identifier: Apache-2.0 */
/* log, trust, keys and token verbs. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <openssl/crypto.h>

#include "cli.h"

static int parse_u64(const cli *c, const char *name, const char *s, uint64_t max, uint64_t *out)
{
	char *end = NULL;
	errno = 0;
	unsigned long long v = s && *s != '-' ? strtoull(s, &end, 10) : 0;
	if (!s || !*s || *s == '-' || errno || *end || v > max)
		return usage_error(c, "--%s must be a whole number up to %llu, not '%s'", name, (unsigned long long)max,
				   s ? s : "");
	*out = v;
	return 0;
}

struct entries_ctx {
	bool json;
	json_t *arr;
};

static int print_entry(void *vctx, uint64_t index, const uint8_t *p, size_t n)
{
	struct entries_ctx *e = vctx;
	char *b = sm_base64_encode(p, n);
	if (!b)
		return SM_ENOMEM;
	if (e->json) {
		json_array_append_new(e->arr, json_pack("{s:I, s:s}", "index", (json_int_t)index, "data", b));
	} else {
		uint8_t leaf[SM_HASH_LEN];
		sm_merkle_leaf_hash(p, n, leaf);
		char *h = sm_hex_encode(leaf, sizeof(leaf));
		printf("%llu\t%zu bytes\tleaf %s\n", (unsigned long long)index, n, h ? h : "");
		free(h);
	}
	free(b);
	return 0;
}

static void verify_progress(void *ctx, uint64_t done, uint64_t total)
{
	if (*(bool *)ctx && (done % 65536 == 0 || done == total))
		fprintf(stderr, "\rverified %llu/%llu %s%s", (unsigned long long)done, (unsigned long long)total,
			plural(total, "entry", "entries"), done == total ? "\n" : "");
}

static int log_proof(cli *c, sm_registry *r, const char *id)
{
	sm_cert *cert = NULL;
	sm_err err = { 0 };
	sm_checkpoint ck;
	uint8_t proof[SM_MERKLE_MAX_INCLUSION][SM_HASH_LEN];
	char *cp = NULL, *vkey = NULL;
	int rc;
	/* The certificate first, then the checkpoint, and the proofs against the checkpoint's own size and
	 * root: an append by another process in between cannot make them disagree, and the checkpoint
	 * covers every entry of the history that was read. */
	if ((rc = sm_registry_get(r, id, &cert, &err)) || (rc = sm_registry_checkpoint(r, &cp, &err)) ||
	    (rc = sm_registry_log_vkey(r, &vkey, &err)) || (rc = sm_checkpoint_verify(cp, strlen(cp), vkey, &ck, &err)))
		goto out;
	const uint64_t size = ck.size;
	const uint8_t *root = ck.root;
	json_t *proofs = json_array();
	for (size_t i = 0; i < cert->nhistory && !rc; i++) {
		size_t n = 0;
		uint64_t idx = cert->history[i].index;
		if ((rc = sm_registry_inclusion(r, idx, size, proof, &n, &err)))
			break;
		if (c->json) {
			json_t *pj = sm_proof_to_json((const uint8_t(*)[SM_HASH_LEN])proof, n);
			json_t *one = pj ? json_pack("{s:I, s:s, s:o}", "index", (json_int_t)idx, "event",
			                             sm_event_name(cert->history[i].type), "proof", pj)
			                 : NULL;
			if (!one || json_array_append_new(proofs, one) != 0)
				rc = sm_err_set(&err, SM_ENOMEM, NULL, "out of memory writing the proofs");
		} else {
			printf("entry %llu (%s): inclusion proof of %zu %s in tree size %llu\n", (unsigned long long)idx,
			       sm_event_name(cert->history[i].type), n, plural(n, "hash", "hashes"), (unsigned long long)size);
			for (size_t k = 0; k < n; k++) {
				char *b = sm_base64_encode(proof[k], SM_HASH_LEN);
				printf("  %s\n", b ? b : "");
				free(b);
			}
		}
	}
	if (!rc && c->json) {
		char *rb = sm_base64_encode(root, SM_HASH_LEN);
		print_json(json_pack("{s:s, s:I, s:s, s:s, s:o}", "id", id, "tree_size", (json_int_t)size, "root", rb ? rb : "",
				     "checkpoint", cp, "proofs", proofs));
		free(rb);
	} else {
		json_decref(proofs);
		if (!rc)
			printf("\n%s", cp);
	}
out:
	free(cp);
	free(vkey);
	sm_cert_free(cert);
	return rc ? fail(c, rc, &err) : EXIT_OK;
}

int cmd_log(cli *c, int argc, char **argv)
{
	opt o[] = { { "from", true }, { "count", true }, { 0 } };
	const char *pos[2];
	size_t np;
	sm_registry *r = NULL;
	sm_err err = { 0 };
	int rc = opt_parse(c, "log", argc, argv, o, pos, 2, &np);
	if (rc)
		return rc;
	const char *sub = np ? pos[0] : "";
	bool entries = strcmp(sub, "entries") == 0;
	if ((o[0].seen || o[1].seen) && !entries)
		return usage_error(c, "log: --from and --count go with 'log entries'");
	if (!(strcmp(sub, "checkpoint") == 0 || entries || strcmp(sub, "proof") == 0 || strcmp(sub, "verify") == 0))
		return usage_error(c, "log: usage: starmark log checkpoint|entries|proof ID|verify");
	if ((strcmp(sub, "proof") == 0) != (np == 2))
		return usage_error(c, "log: 'log proof' takes one certificate id; the others take none");
	if (c->server)
		return remote_log(c, sub, o[0].value, o[1].value);
	if ((rc = open_registry(c, false, &r)))
		return rc;
	if (strcmp(sub, "checkpoint") == 0) {
		char *cp = NULL;
		if ((rc = sm_registry_checkpoint(r, &cp, &err))) {
			rc = fail(c, rc, &err);
		} else if (c->json) {
			rc = print_json(json_pack("{s:s}", "checkpoint", cp));
		} else {
			fputs(cp, stdout);
		}
		free(cp);
	} else if (entries) {
		uint64_t from = 0, count = 100;
		if ((o[0].seen && (rc = parse_u64(c, "from", o[0].value, UINT64_MAX, &from))) ||
		    (o[1].seen && (rc = parse_u64(c, "count", o[1].value, 100000, &count))))
			goto out;
		struct entries_ctx e = { c->json, json_array() };
		if ((rc = sm_registry_entries(r, from, count, print_entry, &e, &err))) {
			json_decref(e.arr);
			rc = fail(c, rc, &err);
		} else if (c->json) {
			rc = print_json(json_pack("{s:o}", "entries", e.arr));
		} else {
			json_decref(e.arr);
		}
	} else if (strcmp(sub, "proof") == 0) {
		rc = log_proof(c, r, pos[1]);
	} else {
		sm_verify_report rep;
		bool tty = !c->json && isatty(STDERR_FILENO);
		if ((rc = sm_registry_verify(r, verify_progress, &tty, &rep, &err))) {
			rc = fail(c, rc, &err);
		} else {
			char *root = sm_base64_encode(rep.root, SM_HASH_LEN);
			if (c->json)
				rc = print_json(json_pack("{s:b, s:I, s:I, s:I, s:I, s:s}", "ok", 1, "entries",
							  (json_int_t)rep.entries, "certificates", (json_int_t)rep.certificates,
							  "trust_bundles", (json_int_t)rep.bundles, "policies",
							  (json_int_t)rep.policies, "root", root ? root : ""));
			else
				printf("ok: %llu %s, %llu %s, %llu %s, %llu %s; root %s\n", (unsigned long long)rep.entries,
				       plural(rep.entries, "entry", "entries"), (unsigned long long)rep.certificates,
				       plural(rep.certificates, "certificate", "certificates"), (unsigned long long)rep.bundles,
				       plural(rep.bundles, "trust bundle", "trust bundles"), (unsigned long long)rep.policies,
				       plural(rep.policies, "published policy", "published policies"), root ? root : "");
			free(root);
		}
	}
out:
	sm_registry_close(r);
	return rc;
}

int export_trust(const cli *c, const sm_trust *t, const char *file, const uint8_t *b, size_t n, bool chain)
{
	sm_err err = { 0 };
	int rc = sm_file_write_atomic(file, b, n, 0644, &err);
	if (rc) {
		fprintf(stderr, "%s: trust export: %s\n", c->prog, err.msg);
		return EXIT_IO;
	}
	if (c->json)
		return print_json(json_pack("{s:s, s:I, s:I, s:b}", "file", file, "version", (json_int_t)t->version, "bytes",
					    (json_int_t)n, "chain", chain));
	fprintf(stderr, "wrote %s version %llu (%zu %s) to %s\n", chain ? "the trust chain up to" : "trust bundle",
		(unsigned long long)t->version, n, plural(n, "byte", "bytes"), file);
	return EXIT_OK;
}

void print_trust(const sm_trust *t, const char *vkey)
{
	char fp[65];
	sm_key_fingerprint(t->root, fp);
	printf("trust bundle version %llu  scheme %s  levels %d  origin %s\n", (unsigned long long)t->version,
	       t->scheme, t->levels, t->origin);
	printf("root     fingerprint %s\n", fp);
	for (size_t i = 0; i < t->nkeys; i++) {
		char *kid = sm_hex_encode(t->keys[i].kid, SM_KID_LEN);
		char *pub = sm_base64_encode(t->keys[i].pub, 32);
		char nb[21], na[21] = "(current)";
		sm_time_format(t->keys[i].not_before, nb);
		if (t->keys[i].not_after)
			sm_time_format(t->keys[i].not_after, na);
		printf("%-8s kid %s  key %s  from %s until %s\n", sm_role_name(t->keys[i].role),
		       kid ? kid : "", pub ? pub : "", nb, na);
		free(kid);
		free(pub);
	}
	printf("log vkey %s\n", vkey);
}

int cmd_trust(cli *c, int argc, char **argv)
{
	opt o[] = { { "chain", false }, { 0 } };
	const char *pos[2];
	size_t np;
	sm_registry *r = NULL;
	sm_err err = { 0 };
	int rc = opt_parse(c, "trust", argc, argv, o, pos, 2, &np);
	if (rc)
		return rc;
	bool show = np == 1 && strcmp(pos[0], "show") == 0, exp = np == 2 && strcmp(pos[0], "export") == 0;
	if (!show && !exp)
		return usage_error(c, "trust: usage: starmark trust show | trust export FILE [--chain]");
	if (show && o[0].seen)
		return usage_error(c, "trust: --chain goes with trust export");
	if (c->server)
		return remote_trust(c, pos[0], exp ? pos[1] : NULL, o[0].seen);
	if ((rc = open_registry(c, false, &r)))
		return rc;
	const sm_trust *t = sm_registry_trust(r);
	if (show) {
		char *vkey = NULL;
		if ((rc = sm_registry_log_vkey(r, &vkey, &err))) {
			rc = fail(c, rc, &err);
		} else if (c->json) {
			rc = print_json(sm_trust_to_json(t, vkey));
		} else {
			print_trust(t, vkey);
		}
		free(vkey);
	} else {
		/* the newest bundle alone stands as an anchor (any version does); the chain lets a holder of
		 * only the root fingerprint of version 1, or of any old bundle, follow offline */
		sm_trust_chain chain = { 0 };
		sm_buf b = SM_BUF_INIT;
		uint8_t *one = NULL;
		size_t n = 0;
		if (o[0].seen)
			rc = sm_registry_trust_chain(r, 1, &chain, &err);
		else
			rc = sm_registry_trust_signed(r, &one, &n, &err);
		if (!rc && o[0].seen && (rc = sm_trust_chain_encode(&chain, &b)))
			sm_err_set(&err, rc, NULL, "out of memory");
		if (rc)
			rc = fail(c, rc, &err);
		else
			rc = export_trust(c, t, pos[1], o[0].seen ? b.data : one, o[0].seen ? b.len : n, o[0].seen);
		free(one);
		sm_buf_cleanup(&b);
		sm_trust_chain_cleanup(&chain);
	}
	sm_registry_close(r);
	return rc;
}

int cmd_keys(cli *c, int argc, char **argv)
{
	opt o[] = { { 0 } };
	const char *pos[2];
	size_t np;
	sm_registry *r = NULL;
	sm_err err = { 0 };
	int rc = opt_parse(c, "keys", argc, argv, o, pos, 2, &np);
	if (rc)
		return rc;
	if (np != 2 || strcmp(pos[0], "rotate") != 0)
		return usage_error(c, "keys: usage: starmark keys rotate root|issuer|status|log");
	int role = sm_role_from_name(pos[1]);
	if (role < 0)
		return usage_error(c, "keys rotate: the role is root, issuer, status or log, not '%s'", pos[1]);
	if ((rc = open_registry(c, true, &r)))
		return rc;
	if ((rc = sm_registry_rotate(r, role, c->now, &err))) {
		rc = fail(c, rc, &err);
	} else {
		const sm_trust_key *k = sm_trust_current(sm_registry_trust(r), role);
		uint8_t rootkid[32];
		sm_sha256(sm_registry_trust(r)->root, SM_PUBKEY_LEN, rootkid);
		char *kid = role == SM_ROLE_ROOT ? sm_hex_encode(rootkid, SM_KID_LEN) : k ? sm_hex_encode(k->kid, SM_KID_LEN) : NULL;
		if (c->json)
			rc = print_json(json_pack("{s:s, s:s, s:I}", "role", pos[1], "kid", kid ? kid : "", "trust_version",
						  (json_int_t)sm_registry_trust(r)->version));
		else
			printf("%s key rotated: new kid %s, trust bundle version %llu\n", pos[1], kid ? kid : "",
			       (unsigned long long)sm_registry_trust(r)->version);
		if (role == SM_ROLE_ROOT) {
			char fp[65];
			sm_key_fingerprint(sm_registry_trust(r)->root, fp);
			fprintf(stderr, "the new root key's fingerprint: %s\n"
					"gateways provisioned with an earlier bundle or fingerprint follow the change by "
					"themselves; provision new ones with this fingerprint or a new 'trust export'\n",
				fp);
		}
		free(kid);
	}
	sm_registry_close(r);
	return rc;
}

static int print_token(void *ctx, const char *name, int role, int64_t created)
{
	char at[21];
	sm_time_format(created, at);
	if (ctx)
		json_array_append_new(ctx, json_pack("{s:s, s:s, s:s}", "name", name, "role", sm_token_role_name(role),
						     "created", at));
	else {
		char q[SM_TOKEN_NAME_MAX + 8];
		sm_err_quote(q, sizeof(q), name, strlen(name)); /* a store key: no control byte reaches the terminal */
		printf("%s%*s %-8s %s\n", q, pad_cols(q, 24), "", sm_token_role_name(role), at);
	}
	return 0;
}

int cmd_token(cli *c, int argc, char **argv)
{
	opt o[] = { { "role", true }, { "name", true }, { 0 } };
	const char *pos[2];
	size_t np;
	sm_registry *r = NULL;
	sm_err err = { 0 };
	int rc = opt_parse(c, "token", argc, argv, o, pos, 2, &np);
	if (rc)
		return rc;
	const char *sub = np ? pos[0] : "";
	bool create = strcmp(sub, "create") == 0 && np == 1, list = strcmp(sub, "list") == 0 && np == 1,
	     revoke = strcmp(sub, "revoke") == 0 && np == 2;
	if (!create && !list && !revoke)
		return usage_error(c, "token: usage: starmark token create --role issuer|auditor --name NAME | token list | "
				      "token revoke NAME");
	if (create && (!o[0].seen || !o[1].seen))
		return usage_error(c, "token create needs --role issuer|auditor and --name NAME");
	if (!create && (o[0].seen || o[1].seen))
		return usage_error(c, "token %s takes no --role or --name", sub);
	int role = create ? sm_token_role_from_name(o[0].value) : 0;
	if (create && !role)
		return usage_error(c, "token create: --role is issuer or auditor, not '%s'", o[0].value);
	if ((rc = open_registry(c, !list, &r)))
		return rc;
	if (create) {
		char *tok = NULL;
		if ((rc = sm_registry_token_create(r, o[1].value, role, c->now, &tok, &err))) {
			rc = fail(c, rc, &err);
		} else {
			/* shown once; only its hash is stored. --json: a document, as every --json output is */
			if (c->json)
				rc = print_json(json_pack("{s:s, s:s, s:s}", "name", o[1].value, "role", o[0].value, "token", tok));
			else
				printf("%s\n", tok);
			OPENSSL_cleanse(tok, strlen(tok));
			free(tok);
		}
	} else if (list) {
		json_t *a = c->json ? json_array() : NULL;
		if ((rc = sm_registry_token_list(r, print_token, a, &err)))
			rc = fail(c, rc, &err);
		else if (a)
			rc = print_json(json_pack("{s:o}", "tokens", a));
	} else if ((rc = sm_registry_token_revoke(r, pos[1], &err))) {
		rc = fail(c, rc, &err);
	} else if (c->json) {
		rc = print_json(json_pack("{s:s}", "revoked", pos[1]));
	} else {
		fprintf(stderr, "token %s revoked\n", pos[1]);
	}
	sm_registry_close(r);
	return rc;
}
