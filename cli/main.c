/* SPDX-License-Identifier: Apache-2.0 */
/* starmark: the command-line front end — global options, the verb table, exit codes. */
#include <errno.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <openssl/crypto.h>

#include "cli.h"

/*
 * The verbs. `help` is the usage line that `starmark --help`, `starmark VERB --help` and the man page's
 * synopsis show (one source: the man page is checked against it by test_install.sh); `what` says in a line
 * or two what the verb does and `example` is one command to copy. A verb without them still gets its usage.
 */
static const struct verb {
	const char *name;
	int (*fn)(cli *, int, char **);
	const char *help;
	const char *what;
	const char *example;
} verbs[] = {
	{ "init", cmd_init, "init [--scheme NAME] [--levels N] [--origin NAME] [--passphrase-file F]",
	  "Make a new registry in --db: the store, the root, issuer, status and log keys, trust bundle 1.\n"
	  "Prints the root key's fingerprint: hand it to gateways and installers as their trust anchor.",
	  "starmark --db /var/lib/starmark/registry init --scheme CCDS --levels 3 --origin registry.example.jp" },
	{ "issue", cmd_issue, "issue --vendor CODE --vendor-name NAME --product NAME --model M [--model M]... --level N "
			      "--firmware SPEC [--category CAT] [--registered DATE] [--expires DATE] [--support-end DATE] "
			      "[--requirements VERSION] [--url URL] [--scheme-ref NUMBER]",
	  "Issue a certification record (a signed event in the log); prints the new certificate id.",
	  "starmark issue --vendor RINNAI --vendor-name Rinnai --product Remote --model MC-301V --level 1 "
	  "--firmware '>=1.0.0 <2.0' --expires 2027-01-21" },
	{ "amend", cmd_event, "amend ID [--add-model M]... [--add-firmware SPEC]... [--support-end DATE] [--url URL] [--reason TEXT]",
	  "Add model numbers or covered firmware to a certificate, or change its support end or URL.",
	  "starmark amend SM-2021-000001 --add-model MC-303V --add-firmware 2.1" },
	{ "firmware-revoke", cmd_event, "firmware-revoke ID VERSION... --reason TEXT",
	  "Revoke firmware versions: denied even inside a covered range.",
	  "starmark firmware-revoke SM-2021-000001 1.4.2 --reason CVE-2026-1234" },
	{ "suspend", cmd_event, "suspend ID --reason TEXT", "Suspend a certificate (reinstate undoes it).",
	  "starmark suspend SM-2021-000001 --reason 'under review'" },
	{ "revoke", cmd_event, "revoke ID --reason TEXT", "Revoke a certificate for good.",
	  "starmark revoke SM-2021-000001 --reason fraud" },
	{ "reinstate", cmd_event, "reinstate ID --reason TEXT", "Make a suspended certificate active again.",
	  "starmark reinstate SM-2021-000001 --reason fixed" },
	{ "renew", cmd_event, "renew ID --expires DATE [--requirements VERSION] [--reason TEXT]",
	  "Extend a certificate's expiry, optionally against a newer requirement set.",
	  "starmark renew SM-2021-000001 --expires 2030-01-21" },
	{ "show", cmd_show, "show ID", "Show one certificate: its facts, status and history.",
	  "starmark --json show SM-2021-000001" },
	{ "list", cmd_list, "list [--vendor CODE] [--level N] [--status S] [--model M] [--category CAT] [--q TEXT] [--limit N] [--offset N]",
	  "List the certificates that pass every filter given.", "starmark list --vendor RINNAI --status active" },
	{ "search", cmd_search, "search TEXT [--limit N] [--offset N]",
	  "Find certificates whose id, vendor, product or model contains TEXT (width, case and kana folded).",
	  "starmark search リンナイ" },
	{ "import", cmd_import, "import FILE.csv|FILE.jsonl [--format csv|jsonl] [--skip-bad]",
	  "Issue every row of a CSV list or JSON Lines file; nothing is issued when a row is bad, unless --skip-bad.",
	  "starmark import examples/ccds-list.csv" },
	{ "export", cmd_export, "export [--format jsonl|csv] [--out FILE]",
	  "Write every certificate, as open data (the signatures stay in the log).",
	  "starmark export --format csv --out certificates.csv" },
	{ "log", cmd_log, "log checkpoint | log entries [--from N] [--count K] | log proof ID | log verify",
	  "The signed log: its checkpoint, its entries, a certificate's inclusion proof; `log verify` re-checks\n"
	  "the whole tree, every signature and every state from scratch (exit 1 when tampered).",
	  "starmark log verify" },
	{ "trust", cmd_trust, "trust show | trust export FILE [--chain]",
	  "The trust bundle: every key with its role, kid and validity; export it for gateways and scanners.",
	  "starmark trust export trust.cose" },
	{ "keys", cmd_keys, "keys rotate root|issuer|status|log",
	  "Replace a key and publish the next trust bundle, signed by the root before it.", "starmark keys rotate issuer" },
	{ "backup", cmd_backup, "backup DEST [--verify]",
	  "Copy a live registry (store and keys, consistent, private, compacted) to a new directory DEST.",
	  "starmark backup /srv/backups/starmark-$(date +%F)" },
	{ "restore", cmd_restore, "restore SRC --db DIR [--trust FILE|FINGERPRINT]",
	  "Restore a backup into a new registry DIR, verified in full before it is put in place.",
	  "starmark restore /srv/backups/starmark-2026-12-01 --db /var/lib/starmark/registry" },
	{ "token", cmd_token, "token create --role issuer|auditor --name NAME | token list | token revoke NAME",
	  "Bearer tokens of the admin API: create prints the token once (it is stored hashed).",
	  "starmark token create --role issuer --name ops" },
	{ "check", cmd_check, "check --vendor CODE --model M --firmware V [--category CAT] [--level N] [--policy FILE] "
			      "[--server URL | --offline] [--cache DIR] [--trust FILE|FINGERPRINT]",
	  "May this device (model with this firmware) be used? allow or warn (exit 0), deny (1), unknown (3),\n"
	  "with the reasons; from the registry, a server (its statement verified) or a synced cache.",
	  "starmark check --vendor RINNAI --model MC-301V --firmware 1.5 --policy examples/policy.json" },
	{ "sync", cmd_sync, "sync --server URL --cache DIR --trust FILE|FINGERPRINT",
	  "Fetch the server's snapshot, verify it against your anchor and keep it for offline checks.",
	  "starmark sync --server https://registry.example.jp --cache /var/cache/gw --trust trust.cose" },
	{ "home", cmd_home, "home check HOME.json|DIR [--policy FILE] [--server URL | --offline --cache DIR] [--trust F] "
			    "[--add VENDOR:MODEL@FW[/CATEGORY][#ID][=ROOM]]... [--report FILE.html|FILE.pdf] [--lang ja|en] [--since STATEFILE]",
	  "Check every device of a home: verdicts, the home's level, what is missing or unplanned; --add asks\n"
	  "whether a retrofit may join, --report writes the hand-over report.",
	  "starmark home check examples/home-onsite.json --policy examples/policy.json --report handover.pdf" },
	{ "policy", cmd_policy, "policy check FILE [--trust FILE|FINGERPRINT] | policy publish FILE | policy list | "
				"policy withdraw NAME",
	  "Lint a policy against the scheme, or publish, list and withdraw the policies the registry serves\n"
	  "(each publication is an entry of the log).",
	  "starmark policy check examples/policy.json" },
	{ "label", cmd_label, "label ID [--model M] [--format png|svg|pdf|zpl] [--out FILE] [--size-mm MM] [--ec L|M|Q|H] | label ID... --out-dir DIR | "
			      "label sheet ID... --out FILE.pdf [--per-id N] | label verify TEXT | --image FILE [--trust FILE|FINGERPRINT] "
			      "[--server URL] [--cache DIR]",
	  "Print a certificate's QR label (or a sheet of them), or verify a scanned one: exit 0 only for a\n"
	  "genuine label of a certificate in force. --image reads a PNG or JPEG (a scan, a phone photo).",
	  "starmark label SM-2021-000001 --format png --out label.png" },
};

static const struct verb *find_verb(const char *name)
{
	for (size_t i = 0; i < sizeof(verbs) / sizeof(verbs[0]); i++)
		if (strcmp(verbs[i].name, name) == 0)
			return &verbs[i];
	return NULL;
}

/* `starmark VERB --help` and `starmark help VERB`: the verb's usage, what it does, an example. */
static void print_verb_help(const struct verb *v)
{
	printf("usage: starmark [global options] %s\n", v->help);
	if (v->what)
		printf("\n%s\n", v->what);
	if (v->example)
		printf("\nexample:\n  %s\n", v->example);
	printf("\nGlobal options (--db, --server, --token, --trust, --json ...): 'starmark --help'; all of it: man starmark.\n");
}

static void print_usage(FILE *f)
{
	fprintf(f, "usage: starmark [--db DIR | --server URL [--token T] [--cacert F] [--insecure]] [--trust FILE|FINGERPRINT] [--json]\n"
		   "                [--passphrase-file F] VERB [options]\n\nverbs:\n");
	for (size_t i = 0; i < sizeof(verbs) / sizeof(verbs[0]); i++)
		fprintf(f, "  %s\n", verbs[i].help);
	fprintf(f, "\nGlobal options may stand before or after the verb. --db defaults to $STARMARK_DB, else ./registry.\n"
		   "--server, --token and --cacert default to $STARMARK_SERVER, $STARMARK_TOKEN (better than --token,\n"
		   "which other users can see) and $STARMARK_CACERT.\n"
		   "--trust (default $STARMARK_TRUST) is the trust anchor you provisioned: a trust bundle file of any\n"
		   "version ('starmark trust export') or the root key fingerprint 'starmark init' printed. Answers of a\n"
		   "server, a cache or a label are verified only against it; without one they are 'unknown' (exit 3).\n"
		   "Exit codes: 0 ok/allow/warn, 1 deny/not genuine, 2 bad input, 3 unknown, 4 I/O or storage failure.\n"
		   "'starmark VERB --help' (or 'starmark help VERB') shows a verb's options and an example; man starmark.\n");
}

int exit_code(int rc)
{
	switch (rc) {
	case 0: return EXIT_OK;
	case SM_EINVAL:
	case SM_ETOOBIG:
	case SM_ENOTFOUND:
	case SM_EEXIST:
	case SM_ESTATE:
	case SM_EKEY:
		return EXIT_USAGE;
	case SM_EVERIFY:
		return EXIT_DENY;
	default:
		return EXIT_IO;
	}
}

/* Whether a JSON document went to stdout already: --json prints exactly one. */
static bool json_printed;

/* Under --json a failure is a document too: {"error": {"code", "message", "field"}}. */
static void json_error(const cli *c, const char *code, const char *msg, const char *field)
{
	if (!c->json || json_printed)
		return;
	json_t *e = json_pack("{s:s, s:s}", "code", code, "message", msg);
	if (e && field && *field)
		json_object_set_new(e, "field", json_string(field));
	print_json(json_pack("{s:o}", "error", e));
}

int fail(const cli *c, int rc, const sm_err *err)
{
	const char *msg = err && err->msg[0] ? err->msg : sm_strerror(rc);
	fprintf(stderr, "%s: %s\n", c->prog, msg);
	/* the class of the failure, by the same names the server's error bodies use */
	json_error(c, sm_err_code(rc), msg, err ? err->field : NULL);
	return exit_code(rc);
}

int fail_unknown(const cli *c, const sm_err *err)
{
	const char *msg = err && err->msg[0] ? err->msg : "unknown";
	fprintf(stderr, "%s: %s\n", c->prog, msg);
	json_error(c, "unknown", msg, err ? err->field : NULL);
	return EXIT_UNKNOWN;
}

int usage_error(const cli *c, const char *fmt, ...)
{
	char msg[1024];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	fprintf(stderr, "%s: %s\n", c->prog, msg);
	json_error(c, "usage", msg, NULL);
	return EXIT_USAGE;
}

int print_json(json_t *j)
{
	if (!j)
		return EXIT_IO;
	json_printed = true;
	int rc = json_dumpf(j, stdout, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
	fputc('\n', stdout);
	json_decref(j);
	return rc ? EXIT_IO : EXIT_OK;
}

opt *opt_get(opt *opts, const char *name)
{
	for (opt *o = opts; o->name; o++)
		if (strcmp(o->name, name) == 0)
			return o;
	return NULL;
}

int opt_parse(const cli *c, const char *verb, int argc, char **argv, opt *opts, const char **pos, size_t max_pos,
	      size_t *npos)
{
	*npos = 0;
	bool only_pos = false;
	for (int i = 1; i < argc; i++) {
		const char *a = argv[i];
		if (!only_pos && strcmp(a, "--") == 0) {
			only_pos = true;
			continue;
		}
		if (!only_pos && a[0] == '-' && a[1] == '-') {
			const char *eq = strchr(a, '=');
			size_t len = eq ? (size_t)(eq - a - 2) : strlen(a + 2);
			opt *o = NULL;
			for (opt *p = opts; p->name && !o; p++)
				if (strlen(p->name) == len && strncmp(p->name, a + 2, len) == 0)
					o = p;
			if (!o)
				return usage_error(c, "%s: unknown option %s (see 'starmark %s --help')", verb, a, verb);
			const char *val = NULL;
			if (o->has_arg) {
				if (eq)
					val = eq + 1;
				else if (i + 1 < argc)
					val = argv[++i];
				else
					return usage_error(c, "%s: --%s needs a value", verb, o->name);
			} else if (eq) {
				return usage_error(c, "%s: --%s takes no value", verb, o->name);
			}
			if (o->seen && !o->repeat)
				return usage_error(c, "%s: --%s is given twice", verb, o->name);
			o->seen = true;
			o->value = val;
			if (o->repeat && val) {
				const char **v = realloc(o->values, (o->n + 1) * sizeof(*v));
				if (!v)
					return EXIT_IO;
				o->values = v;
				o->values[o->n++] = val;
			}
			continue;
		}
		if (*npos == max_pos)
			return usage_error(c, "%s: unexpected argument '%s'", verb, a);
		pos[(*npos)++] = a;
	}
	return EXIT_OK;
}

int load_anchor(const cli *c, sm_anchor **out, sm_err *err)
{
	*out = NULL;
	if (!c->trust)
		return sm_err_set(err, SM_ENOTFOUND, "trust",
				  "no trust anchor: give --trust FILE|FINGERPRINT (a trust bundle 'starmark trust export' "
				  "wrote, or the root key fingerprint 'starmark init' printed) or set $%s",
				  SM_ANCHOR_ENV);
	return sm_anchor_load(c->trust, out, err);
}

int open_registry(const cli *c, bool write, sm_registry **out)
{
	sm_err err = { 0 };
	char *pass = NULL;
	int rc = 0;
	if (c->passphrase_file && (rc = sm_passphrase_read(c->passphrase_file, &pass, &err)))
		return fail(c, rc, &err);
	rc = sm_registry_open(c->db, write, pass, out, &err);
	if (pass) {
		OPENSSL_cleanse(pass, strlen(pass));
		free(pass);
	}
	return rc ? fail(c, rc, &err) : EXIT_OK;
}

/*
 * The time: now, or $STARMARK_NOW (Unix seconds, or YYYY-MM-DD for midnight UTC) so that tests
 * and demos can ask "what would the answer be on that day". It never changes what is stored
 * except the events' timestamps.
 */
static int get_now(cli *c)
{
	const char *s = getenv("STARMARK_NOW");
	c->now = (int64_t)time(NULL);
	if (!s || !*s)
		return 0;
	sm_date d;
	if (sm_date_parse(s, false, "STARMARK_NOW", &d, NULL) == 0) {
		c->now = (int64_t)d * 86400;
		return 0;
	}
	char *end = NULL;
	errno = 0;
	long long v = strtoll(s, &end, 10);
	if (errno || !end || *end || v < 0)
		return usage_error(c, "STARMARK_NOW must be Unix seconds or YYYY-MM-DD, not '%s'", s);
	c->now = v;
	return 0;
}

static const char *env_or_null(const char *name)
{
	const char *v = getenv(name);
	return v && *v ? v : NULL;
}

/* "--name VALUE" or "--name=VALUE": true when `a` is that option; *out is the value, NULL when it is missing. */
static bool global_value(const char *a, const char *name, int argc, char **argv, int *i, const char **out)
{
	size_t n = strlen(name);
	if (strncmp(a, name, n) != 0 || (a[n] != '\0' && a[n] != '='))
		return false;
	*out = a[n] == '=' ? a + n + 1 : *i + 1 < argc ? argv[++*i] : NULL;
	return true;
}

int main(int argc, char **argv)
{
	cli c = { 0 };
	c.prog = "starmark";
	c.db = getenv("STARMARK_DB");
	if (!c.db || !*c.db)
		c.db = "./registry";
	c.passphrase_file = getenv("STARMARK_PASSPHRASE_FILE");
	if (c.passphrase_file && !*c.passphrase_file)
		c.passphrase_file = NULL;
	c.server = env_or_null("STARMARK_SERVER");
	c.token = env_or_null("STARMARK_TOKEN");
	c.cacert = env_or_null("STARMARK_CACERT");
	c.trust = env_or_null(SM_ANCHOR_ENV);
	json_object_seed(1);

	/* take the global options out, wherever they stand; the rest is the verb and its arguments */
	char **rest = calloc((size_t)argc + 1, sizeof(char *));
	if (!rest)
		return EXIT_IO;
	int nrest = 0;
	bool help = false, only_pos = false;
	for (int i = 1; i < argc; i++) {
		const char *a = argv[i], *val = NULL;
		if (only_pos) {
			rest[nrest++] = argv[i];
			continue;
		}
		if (strcmp(a, "--") == 0) {
			only_pos = true;
			rest[nrest++] = argv[i];
		} else if (strcmp(a, "--json") == 0) {
			c.json = true;
		} else if (strcmp(a, "--help") == 0 || strcmp(a, "-h") == 0) {
			help = true;
		} else if (strcmp(a, "--insecure") == 0) {
			c.insecure = true;
		} else if (strcmp(a, "--version") == 0) {
			printf("starmark %s\n", sm_version_string());
			free(rest);
			return EXIT_OK;
		} else if (strcmp(a, "--db") == 0 || strcmp(a, "--passphrase-file") == 0) {
			if (i + 1 >= argc) {
				free(rest);
				return usage_error(&c, "%s needs a value", a);
			}
			if (a[2] == 'd')
				c.db = argv[++i];
			else
				c.passphrase_file = argv[++i];
		} else if (strncmp(a, "--db=", 5) == 0) {
			c.db = a + 5;
		} else if (global_value(a, "--server", argc, argv, &i, &val) ||
			   global_value(a, "--token", argc, argv, &i, &val) ||
			   global_value(a, "--cacert", argc, argv, &i, &val) ||
			   global_value(a, "--trust", argc, argv, &i, &val)) {
			if (!val) {
				free(rest);
				return usage_error(&c, "%s needs a value", a);
			}
			if (a[2] == 's')
				c.server = val;
			else if (a[3] == 'o')
				c.token = val;
			else if (a[3] == 'r')
				c.trust = val;
			else
				c.cacert = val;
		} else if (strncmp(a, "--passphrase-file=", 18) == 0) {
			c.passphrase_file = a + 18;
		} else {
			rest[nrest++] = argv[i];
		}
	}
	int rc;
	/* `starmark help [VERB]` is `starmark [VERB] --help` */
	bool help_verb = nrest > 0 && strcmp(rest[0], "help") == 0;
	if (help_verb) {
		help = true;
		nrest--;
		memmove(rest, rest + 1, (size_t)nrest * sizeof(*rest));
	}
	const struct verb *v = nrest > 0 ? find_verb(rest[0]) : NULL;
	if (help && nrest > 0 && !v) {
		rc = usage_error(&c, "unknown verb '%s' (see 'starmark --help')", rest[0]);
	} else if (help && v) {
		print_verb_help(v);
		rc = EXIT_OK;
	} else if (help || nrest == 0) {
		print_usage(help ? stdout : stderr);
		rc = help ? EXIT_OK : EXIT_USAGE;
	} else if ((rc = get_now(&c)) == 0) {
		/* these act on the files of a registry: with --server they would silently use the local one */
		bool local_only = v && (v->fn == cmd_init || v->fn == cmd_import || v->fn == cmd_export ||
					v->fn == cmd_keys || v->fn == cmd_token || v->fn == cmd_backup ||
					v->fn == cmd_restore);
		if (c.server && local_only)
			rc = usage_error(&c, "%s works on a local registry (--db), not with --server or $STARMARK_SERVER",
					 v->name);
		else
			rc = v ? v->fn(&c, nrest, rest)
			       : usage_error(&c, "unknown verb '%s' (see 'starmark --help')", rest[0]);
	}
	free(rest);
	if (fflush(stdout) != 0 && rc == EXIT_OK)
		rc = EXIT_IO;
	return rc;
}
