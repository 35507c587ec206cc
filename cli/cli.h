/* SPDX-License-Identifier: Apache-2.0 */
/* Shared parts of the starmark command: context, option parsing, output, exit codes. */
#ifndef STARMARK_CLI_H
#define STARMARK_CLI_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include <jansson.h>

#include "starmark/starmark.h"

/* Exit codes, the same for every verb (INTERFACE.md). */
enum {
	EXIT_OK = 0,      /* success, allow, warn */
	EXIT_DENY = 1,    /* deny, not genuine */
	EXIT_USAGE = 2,   /* bad input or usage: nothing was changed */
	EXIT_UNKNOWN = 3, /* no usable data */
	EXIT_IO = 4,      /* I/O, storage or network failure */
};

typedef struct cli {
	const char *db;
	const char *passphrase_file;
	const char *server; /* --server URL / $STARMARK_SERVER: act on a remote registry (remote.c) */
	const char *token;  /* --token T / $STARMARK_TOKEN: its admin bearer token (never printed) */
	const char *cacert; /* --cacert FILE / $STARMARK_CACERT: CA certificates for its TLS */
	const char *trust;  /* --trust FILE|FINGERPRINT / $STARMARK_TRUST: the user's trust anchor */
	bool insecure;      /* --insecure: the token may go over plain HTTP to another machine */
	bool json;
	int64_t now;
	const char *prog;
} cli;

/* A verb's option: "--name" with or without a value; repeatable ones collect every value. */
typedef struct opt {
	const char *name;
	bool has_arg;
	bool repeat;
	/* filled by opt_parse */
	const char *value;
	const char **values;
	size_t n;
	bool seen;
} opt;

/**
 * Parse argv (the verb's own arguments) against `opts` (terminated by a zero entry); what is not
 * an option goes to pos[] (up to max_pos). Prints a usage error and returns EXIT_USAGE on an
 * unknown option, a missing value, a repeated single option or too many arguments.
 */
int opt_parse(const cli *c, const char *verb, int argc, char **argv, opt *opts, const char **pos, size_t max_pos,
	      size_t *npos);
opt *opt_get(opt *opts, const char *name);

/** The exit code for a lib error code (the one table). */
int exit_code(int rc);
/** Print "starmark: <message>" for a lib failure and return its exit code. */
int fail(const cli *c, int rc, const sm_err *err);
/** Print why the answer is unknown (no trust anchor, nothing usable) and return EXIT_UNKNOWN. */
int fail_unknown(const cli *c, const sm_err *err);
/** Print a usage error and return EXIT_USAGE. */
int usage_error(const cli *c, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/** Print a JSON document on stdout (and a newline); consumes the reference. */
int print_json(json_t *j);

/**
 * The user's trust anchor (--trust or $STARMARK_TRUST, never a cache). SM_ENOTFOUND, with a message
 * saying how to give one, when there is none; the codes of sm_anchor_load otherwise.
 */
int load_anchor(const cli *c, sm_anchor **out, sm_err *err);

/** Open the registry of --db (write or read-only), with the passphrase file if given. */
int open_registry(const cli *c, bool write, sm_registry **out);

/** Human output of a certificate, and of a list line. */
void print_cert(const sm_cert *c, sm_date today);
void print_cert_line(const sm_cert *c, sm_date today);
/** Human output of a trust bundle (`trust show`), with the log's verifier key. */
void print_trust(const sm_trust *t, const char *vkey);
/** `trust export FILE`: the signed bundle or chain `b` to `file`, and what was written (JSON or a line on stderr). */
int export_trust(const cli *c, const sm_trust *t, const char *file, const uint8_t *b, size_t n, bool chain);
/** "★★" for a level. */
const char *stars(int level);
/** `one` when n is 1, else `many`: printf("%zu %s", n, plural(n, "label", "labels")). */
const char *plural(unsigned long long n, const char *one, const char *many);
/**
 * The spaces that pad user text `s` to `cols` terminal columns (sm_text_width: kanji take two, combining
 * marks none), 0 when it is as wide or wider: printf("%s%*s", s, pad_cols(s, 16), "") where "%-16s" would
 * pad by bytes.
 */
int pad_cols(const char *s, int cols);

/* Verb handlers: argc/argv are the verb's own arguments (argv[0] is the verb). */
int cmd_init(cli *c, int argc, char **argv);
int cmd_issue(cli *c, int argc, char **argv);
int cmd_event(cli *c, int argc, char **argv);
int cmd_show(cli *c, int argc, char **argv);
int cmd_list(cli *c, int argc, char **argv);
int cmd_search(cli *c, int argc, char **argv);
int cmd_import(cli *c, int argc, char **argv);
int cmd_export(cli *c, int argc, char **argv);
int cmd_log(cli *c, int argc, char **argv);
int cmd_trust(cli *c, int argc, char **argv);
int cmd_keys(cli *c, int argc, char **argv);
int cmd_token(cli *c, int argc, char **argv);
int cmd_check(cli *c, int argc, char **argv);
int cmd_sync(cli *c, int argc, char **argv);
int cmd_home(cli *c, int argc, char **argv);
/* backup DEST [--verify], restore SRC --db DIR (cmd_backup.c) */
int cmd_backup(cli *c, int argc, char **argv);
int cmd_restore(cli *c, int argc, char **argv);
/* policy check FILE [--trust FILE] | publish FILE | list | withdraw NAME (cmd_policy.c) */
int cmd_policy(cli *c, int argc, char **argv);

/* The same verbs through a starmarkd (--server), remote.c: same output and exit codes as with --db. */
typedef struct sm_client sm_client;
/** The client of --server with --token, --cacert and --insecure as given (a lib code; err says why). */
int cli_client(const cli *c, sm_client **out, sm_err *err);
int remote_issue(cli *c, const sm_cert *draft);
int remote_event(cli *c, const sm_event *e, const char *verb);
int remote_show(cli *c, const char *id);
int remote_list(cli *c, const sm_filter *f);
/* log checkpoint | log entries (from/count as given, NULL when not); other subcommands are refused. */
int remote_log(cli *c, const char *sub, const char *from, const char *count);
int remote_trust(cli *c, const char *sub, const char *file, bool chain);
/* check --server (the server's verdict, its statement verified) or --offline (from a sync cache). */
int remote_check(cli *c, const sm_check_req *q, const sm_policy *p, bool policy_given, bool offline,
		 const char *cache);
/*
 * policy publish (`p`) | list | withdraw (`name`) through the server (PUT/DELETE /v1/admin/policies/{name},
 * GET /v1/policies): the answer's JSON in *out (the caller's), or the exit code with the failure printed.
 */
int remote_policy(cli *c, const char *sub, const sm_policy *p, const char *name, json_t **out);
/* label ID | label sheet ID... (cmd_label.c); label verify (cmd_label_verify.c) */
int cmd_label(cli *c, int argc, char **argv);
int cmd_label_verify(cli *c, int argc, char **argv);

#endif
