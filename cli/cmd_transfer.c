/* SPDX-License-Identifier: Apache-2.0 */
/* import and export. */
#include <errno.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"

struct progress {
	bool on;
	int last;
};

static void show_progress(void *ctx, uint64_t done, uint64_t total)
{
	struct progress *p = ctx;
	int pct = total ? (int)(done * 100 / total) : 100;
	if (!p->on || (pct == p->last && done != total))
		return;
	p->last = pct;
	char bar[41];
	int fill = pct * 40 / 100;
	for (int i = 0; i < 40; i++)
		bar[i] = i < fill ? '#' : '.';
	bar[40] = '\0';
	fprintf(stderr, "\rsigning [%s] %3d%% %llu/%llu", bar, pct, (unsigned long long)done, (unsigned long long)total);
	if (done == total)
		fputc('\n', stderr);
}

static bool ends_with(const char *s, const char *suffix)
{
	size_t n = strlen(s), m = strlen(suffix);
	return n >= m && strcmp(s + n - m, suffix) == 0;
}

static json_t *row_errors(const sm_row_error *v, size_t n)
{
	json_t *a = json_array();
	for (size_t i = 0; a && i < n; i++)
		json_array_append_new(a, json_pack("{s:I, s:s, s:s}", "line", (json_int_t)v[i].line, "field", v[i].field,
						   "message", v[i].msg));
	return a;
}

int cmd_import(cli *c, int argc, char **argv)
{
	opt o[] = { { "format", true }, { "skip-bad", false }, { 0 } };
	const char *pos[1];
	size_t np, n = 0;
	uint8_t *data = NULL;
	sm_registry *r = NULL;
	sm_import_report rep;
	sm_err err = { 0 };
	enum sm_format fmt = SM_FORMAT_CSV;
	int rc = opt_parse(c, "import", argc, argv, o, pos, 1, &np);
	if (rc)
		return rc;
	if (np != 1)
		return usage_error(c, "import: usage: starmark import FILE.csv|FILE.jsonl [--skip-bad]");
	if (o[0].seen) {
		if (strcmp(o[0].value, "csv") == 0)
			fmt = SM_FORMAT_CSV;
		else if (strcmp(o[0].value, "jsonl") == 0)
			fmt = SM_FORMAT_JSONL;
		else
			return usage_error(c, "import: --format is csv or jsonl, not '%s'", o[0].value);
	} else if (ends_with(pos[0], ".jsonl") || ends_with(pos[0], ".ndjson")) {
		fmt = SM_FORMAT_JSONL;
	}
	if ((rc = sm_file_read(pos[0], SM_IMPORT_MAX_SIZE, &data, &n, &err)))
		return fail(c, rc, &err);
	if ((rc = open_registry(c, true, &r))) {
		free(data);
		return rc;
	}
	struct progress pr = { !c->json && isatty(STDERR_FILENO), -1 };
	int irc = sm_import(r, fmt, (const char *)data, n, o[1].seen, c->now, show_progress, &pr, &rep, &err);
	for (size_t i = 0; i < rep.nwarnings; i++)
		fprintf(stderr, "%s:%zu: warning: %s\n", pos[0], rep.warnings[i].line, rep.warnings[i].msg);
	if (rep.warned > rep.nwarnings)
		fprintf(stderr, "%s: ... and %zu more %s\n", pos[0], rep.warned - rep.nwarnings,
			plural(rep.warned - rep.nwarnings, "warning", "warnings"));
	for (size_t i = 0; i < rep.nerrors; i++)
		fprintf(stderr, "%s:%zu: %s\n", pos[0], rep.errors[i].line, rep.errors[i].msg);
	if (rep.bad > rep.nerrors)
		fprintf(stderr, "%s: ... and %zu more bad %s\n", pos[0], rep.bad - rep.nerrors,
			plural(rep.bad - rep.nerrors, "row", "rows"));
	if (c->json) {
		json_t *errs = row_errors(rep.errors, rep.nerrors), *warns = row_errors(rep.warnings, rep.nwarnings);
		print_json(json_pack("{s:I, s:I, s:I, s:o, s:I, s:o, s:s*, s:s*}", "rows", (json_int_t)rep.rows, "imported",
				     (json_int_t)rep.imported, "bad", (json_int_t)rep.bad, "errors", errs, "warned",
				     (json_int_t)rep.warned, "warnings", warns, "first_id", rep.imported ? rep.first_id : NULL,
				     "last_id", rep.imported ? rep.last_id : NULL));
	}
	if (irc) {
		rc = fail(c, irc, &err);
	} else {
		/* one line: "imported 12 of 12 rows: SM-2024-000001 .. SM-2024-000012", a range only where it names
		 * every id between (ids carry the registration year: rows of several years are several runs) */
		char ids[SM_IMPORT_RUNS_MAX * (2 * SM_ID_MAX + 8) + 128] = "";
		size_t at = 0;
		if (rep.nruns > SM_IMPORT_RUNS_MAX)
			snprintf(ids, sizeof(ids), ": %zu certificates in %zu runs of ids, the first row's %s, the last row's %s",
				 rep.imported, rep.nruns, rep.first_id, rep.last_id);
		for (size_t i = 0; i < rep.nruns && rep.nruns <= SM_IMPORT_RUNS_MAX; i++) {
			const struct sm_id_run *run = &rep.runs[i];
			int w = run->n == 1 ? snprintf(ids + at, sizeof(ids) - at, "%s%s", i ? ", " : ": ", run->first)
					    : snprintf(ids + at, sizeof(ids) - at, "%s%s .. %s", i ? ", " : ": ", run->first,
						       run->last);
			at += w > 0 && (size_t)w < sizeof(ids) - at ? (size_t)w : 0;
		}
		fprintf(stderr, "imported %zu of %zu %s%s%s\n", rep.imported, rep.rows, plural(rep.rows, "row", "rows"),
			rep.bad ? (rep.bad == 1 ? " (a bad row skipped)" : " (bad rows skipped)") : "", ids);
		rc = EXIT_OK;
	}
	sm_import_report_cleanup(&rep);
	sm_registry_close(r);
	free(data);
	return rc;
}

static int write_file(void *ctx, const void *p, size_t n)
{
	return fwrite(p, 1, n, ctx) == n ? 0 : SM_EIO;
}

int cmd_export(cli *c, int argc, char **argv)
{
	opt o[] = { { "format", true }, { "out", true }, { 0 } };
	const char *pos[1];
	size_t np;
	sm_registry *r = NULL;
	sm_err err = { 0 };
	enum sm_format fmt = SM_FORMAT_JSONL;
	int rc = opt_parse(c, "export", argc, argv, o, pos, 0, &np);
	if (rc)
		return rc;
	if (o[0].seen) {
		if (strcmp(o[0].value, "csv") == 0)
			fmt = SM_FORMAT_CSV;
		else if (strcmp(o[0].value, "jsonl") != 0)
			return usage_error(c, "export: --format is jsonl or csv, not '%s'", o[0].value);
	}
	FILE *f = stdout;
	if (o[1].seen && !(f = fopen(o[1].value, "w"))) {
		fprintf(stderr, "%s: export: cannot write %s: %s\n", c->prog, o[1].value, strerror(errno));
		return EXIT_IO;
	}
	if ((rc = open_registry(c, false, &r)) == 0) {
		if ((rc = sm_export(r, fmt, sm_date_from_time(c->now), write_file, f, &err)))
			rc = fail(c, rc, &err);
		sm_registry_close(r);
	}
	if (f != stdout && fclose(f) != 0 && !rc)
		rc = fail(c, SM_EIO, NULL);
	return rc;
}
