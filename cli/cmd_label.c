/* SPDX-License-Identifier: Apache-2.0 */
/* label: print a certification label, or a sheet of them; `label verify` lives in cmd_label_verify.c. */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cli.h"
#include "starmark/client.h"
#include "starmark/label.h"

#define SHEET_IDS_MAX 1000
#define LABEL_IDS_MAX 10000 /* ids of one `label --out-dir` */

static const char *const format_names[] = {
    [SM_LABEL_PNG] = "png", [SM_LABEL_SVG] = "svg", [SM_LABEL_PDF] = "pdf", [SM_LABEL_ZPL] = "zpl"};

static int buf_write(void *ctx, const void *p, size_t n)
{
	return sm_buf_append(ctx, p, n);
}

static int format_of(const char *name)
{
	for (int f = SM_LABEL_PNG; f <= SM_LABEL_ZPL; f++)
		if (strcasecmp(name, format_names[f]) == 0)
			return f;
	return 0;
}

/*
 * --format, else the extension of --out, else `dflt`. An --out whose extension names another format
 * than --format is refused, naming both: a PDF in a file called x.png opens nowhere. An extension
 * that names no format (x.bin, a name without one) is the caller's to choose.
 */
static int pick_format(const cli *c, const char *verb, const opt *fmt, const char *out, enum sm_label_format dflt,
                       enum sm_label_format *f)
{
	const char *dot = out ? strrchr(out, '.') : NULL;
	const int ext = dot && !strchr(dot, '/') ? format_of(dot + 1) : 0;
	if (fmt->seen) {
		int v = format_of(fmt->value);
		if (!v)
			return usage_error(c, "%s: --format must be png, svg, pdf or zpl, not '%s'", verb, fmt->value);
		if (ext && ext != v)
			return usage_error(c, "%s: --out '%s' names a %s file but --format is %s: give a matching name",
			                   verb, out, format_names[ext], format_names[v]);
		*f = (enum sm_label_format)v;
		return 0;
	}
	*f = ext ? (enum sm_label_format)ext : dflt;
	return 0;
}

/* --size-mm, --ec and --dpi into `o`, each checked with the option's name. */
static int parse_common(const cli *c, opt *o, sm_label_opts *lo)
{
	const opt *size = opt_get(o, "size-mm"), *ec = opt_get(o, "ec"), *dpi = opt_get(o, "dpi");
	if (size && size->seen) {
		char *end = NULL;
		errno = 0;
		double v = strtod(size->value, &end);
		if (errno || end == size->value || *end ||
		    !(v >= SM_LABEL_CODE_MM_MIN && v <= SM_LABEL_CODE_MM_MAX))
			return usage_error(
			    c,
			    "label: --size-mm must be a number %.0f..%.0f (the code's side in mm), not '%s'",
			    SM_LABEL_CODE_MM_MIN, SM_LABEL_CODE_MM_MAX, size->value);
		lo->code_mm = v;
	}
	if (ec && ec->seen) {
		const char *p = strchr("LMQH", ec->value[0] & ~0x20);
		if (!ec->value[0] || ec->value[1] || !p)
			return usage_error(c, "label: --ec must be L, M, Q or H, not '%s'", ec->value);
		lo->ec = (int)(p - "LMQH");
	}
	if (dpi && dpi->seen) {
		char *end = NULL;
		long v = strtol(dpi->value, &end, 10);
		if (end == dpi->value || *end || v < SM_LABEL_DPI_MIN || v > SM_LABEL_DPI_MAX)
			return usage_error(c, "label: --dpi must be a number %d..%d, not '%s'",
			                   SM_LABEL_DPI_MIN, SM_LABEL_DPI_MAX, dpi->value);
		lo->dpi = (int)v;
	}
	return 0;
}

/* The bytes to `path`, or to standard output when it is NULL or "-". */
static int save(const cli *c, const char *path, const uint8_t *data, size_t len)
{
	if (!path || strcmp(path, "-") == 0) {
		if (fwrite(data, 1, len, stdout) != len || fflush(stdout) != 0) {
			fprintf(stderr, "%s: label: cannot write to standard output: %s\n", c->prog,
			        strerror(errno));
			return EXIT_IO;
		}
		return EXIT_OK;
	}
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	size_t done = 0;
	while (fd >= 0 && done < len) {
		ssize_t n = write(fd, data + done, len - done);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		done += (size_t)n;
	}
	int saved = errno;
	if (fd < 0 || done < len || close(fd) != 0) {
		fprintf(stderr, "%s: label: cannot write %s: %s\n", c->prog, path,
		        strerror(fd < 0 ? errno : saved));
		if (fd >= 0)
			unlink(path);
		return EXIT_IO;
	}
	return EXIT_OK;
}

/* Binary output on a terminal helps nobody. */
static int check_tty(const cli *c, const char *out, enum sm_label_format f)
{
	if ((!out || strcmp(out, "-") == 0) && (f == SM_LABEL_PNG || f == SM_LABEL_PDF) &&
	    isatty(STDOUT_FILENO))
		return usage_error(c, "label: %s output needs --out FILE (standard output is a terminal)",
		                   format_names[f]);
	return 0;
}

static int report(const cli *c, const char *what, const char *out, enum sm_label_format f, size_t bytes,
                  json_t *extra)
{
	const char *dest = out && strcmp(out, "-") != 0 ? out : NULL;
	if (c->json) {
		json_t *j = json_pack("{s:s, s:s?, s:I}", "format", format_names[f], "out", dest, "bytes",
		                      (json_int_t)bytes);
		if (j && extra)
			json_object_update(j, extra);
		json_decref(extra);
		if (dest)
			return print_json(j);
		json_decref(j); /* the label itself is on stdout */
		return EXIT_OK;
	}
	json_decref(extra);
	if (dest)
		fprintf(stderr, "wrote %s to %s (%s, %zu %s)\n", what, dest, format_names[f], bytes, plural(bytes, "byte", "bytes"));
	return EXIT_OK;
}

/* A batch of labels to render: each id's certificate and signed label URL (its first model). */
typedef struct batch {
	sm_cert **certs;
	char **urls;
	size_t n;
} batch;

static void batch_free(batch *b)
{
	for (size_t i = 0; i < b->n; i++) {
		sm_cert_free(b->certs[i]);
		free(b->urls[i]);
	}
	free(b->certs);
	free(b->urls);
	memset(b, 0, sizeof(*b));
}

/* Sign a label for each of `ids`, one after the other: all of them, or none (an exit code). */
static int batch_sign(cli *c, sm_registry *r, const char *const *ids, size_t n, batch *b)
{
	sm_err err = {0};
	memset(b, 0, sizeof(*b));
	b->certs = calloc(n, sizeof(*b->certs));
	b->urls = calloc(n, sizeof(*b->urls));
	if (!b->certs || !b->urls) {
		batch_free(b);
		fprintf(stderr, "%s: label: out of memory\n", c->prog);
		return EXIT_IO;
	}
	for (; b->n < n; b->n++) {
		int rc = sm_registry_label(r, ids[b->n], NULL, c->now, &b->urls[b->n], &b->certs[b->n], &err);
		if (rc) {
			batch_free(b);
			return fail(c, rc, &err);
		}
	}
	return EXIT_OK;
}

/*
 * One label file per certificate in a directory, DIR/<id>.<format>, each written first as
 * DIR/.<id>.<format>.partial and renamed when the whole batch has rendered: a label that fails
 * (its text does not fit) while others are done leaves no file behind.
 */
typedef struct many_out {
	const char *dir;
	enum sm_label_format format;
	sm_cert **certs;
	bool *written;
	size_t bytes;
	char failed[4096]; /* the file that could not be written, and errno */
	int failed_errno;
} many_out;

static int many_path(const many_out *m, size_t i, bool partial, char *path, size_t cap)
{
	int n = snprintf(path, cap, partial ? "%s/.%s.%s.partial" : "%s/%s.%s", m->dir, m->certs[i]->id,
	                 format_names[m->format]);
	return n < 0 || (size_t)n >= cap ? SM_ETOOBIG : 0;
}

static int many_save(void *ctx, size_t i, const uint8_t *data, size_t len)
{
	many_out *m = ctx;
	char path[4096];
	if (many_path(m, i, true, path, sizeof(path)))
		return SM_ETOOBIG;
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	size_t done = 0;
	while (fd >= 0 && done < len) {
		ssize_t k = write(fd, data + done, len - done);
		if (k < 0 && errno == EINTR)
			continue;
		if (k <= 0)
			break;
		done += (size_t)k;
	}
	int saved = fd < 0 || done < len ? errno : 0;
	if (fd >= 0 && close(fd) != 0 && !saved)
		saved = errno;
	if (fd < 0 || done < len || saved) {
		snprintf(m->failed, sizeof(m->failed), "%s", path);
		m->failed_errno = saved ? saved : EIO;
		if (fd >= 0)
			unlink(path);
		return SM_EIO;
	}
	m->written[i] = true;
	m->bytes += len;
	return 0;
}

/* After the batch: rename every partial file to its name, or (`keep` false) remove them all. */
static int many_finish(const cli *c, many_out *m, size_t n, bool keep)
{
	int rc = EXIT_OK;
	for (size_t i = 0; i < n; i++) {
		char from[4096], to[4096];
		if (!m->written[i] || many_path(m, i, true, from, sizeof(from)) || many_path(m, i, false, to, sizeof(to)))
			continue;
		if (!keep || rc != EXIT_OK) {
			unlink(from);
		} else if (rename(from, to) != 0) {
			fprintf(stderr, "%s: label: cannot rename %s to %s: %s\n", c->prog, from, to, strerror(errno));
			unlink(from);
			rc = EXIT_IO;
		}
	}
	return rc;
}

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/* An id given twice would be two labels in one file: refuse it, naming it. */
static int no_duplicates(const cli *c, const char *const *ids, size_t n)
{
	const char **sorted = malloc(n * sizeof(*sorted));
	if (!sorted) {
		fprintf(stderr, "%s: label: out of memory\n", c->prog);
		return EXIT_IO;
	}
	memcpy(sorted, ids, n * sizeof(*sorted));
	qsort(sorted, n, sizeof(*sorted), cmp_str);
	int rc = EXIT_OK;
	for (size_t i = 1; i < n && rc == EXIT_OK; i++)
		if (strcmp(sorted[i - 1], sorted[i]) == 0)
			rc = usage_error(c, "label: %s is given twice: each id makes one file in --out-dir", sorted[i]);
	free(sorted);
	return rc;
}

/*
 * `label ID... --out-dir DIR`: the labels of many certificates, one file each, rendered on every
 * processor (sm_label_render_many). The tokens are signed first, one after the other, and the files
 * appear only when every label has rendered: a batch that fails writes nothing.
 */
static int label_many(cli *c, opt *o, const char *const *ids, size_t n)
{
	const char *dir = opt_get(o, "out-dir")->value;
	sm_label_opts lo;
	sm_registry *r = NULL;
	batch b = {0};
	sm_err err = {0};
	many_out m = {dir, SM_LABEL_PNG, NULL, NULL, 0, "", 0};
	int rc = EXIT_OK;
	sm_label_opts_default(&lo);
	if (opt_get(o, "model")->seen) {
		rc = usage_error(c, "label: --model picks one certificate's model: use it with one ID and --out FILE "
		                    "(with --out-dir each label shows its certificate's first model)");
		goto out;
	}
	struct stat st;
	if (stat(dir, &st) != 0 || !S_ISDIR(st.st_mode)) {
		rc = usage_error(c, "label: --out-dir '%s' is not a directory", dir);
		goto out;
	}
	if ((rc = no_duplicates(c, ids, n)) || (rc = pick_format(c, "label", opt_get(o, "format"), NULL, SM_LABEL_PNG, &lo.format)) ||
	    (rc = parse_common(c, o, &lo)) || (rc = open_registry(c, false, &r)) || (rc = batch_sign(c, r, ids, n, &b)))
		goto out;
	m.format = lo.format;
	m.certs = b.certs;
	if (!(m.written = calloc(n, sizeof(*m.written)))) {
		fprintf(stderr, "%s: label: out of memory\n", c->prog);
		rc = EXIT_IO;
		goto out;
	}
	const int lrc = sm_label_render_many(b.certs, NULL, (const char *const *)b.urls, n, &lo, 0, many_save, &m,
	                                     &err);
	rc = many_finish(c, &m, n, lrc == 0);
	if (lrc && m.failed[0]) {
		fprintf(stderr, "%s: label: cannot write %s: %s\n", c->prog, m.failed, strerror(m.failed_errno));
		rc = EXIT_IO;
	} else if (lrc) {
		rc = fail(c, lrc, &err);
	}
	if (rc)
		goto out;
	if (c->json)
		rc = print_json(json_pack("{s:s, s:s, s:I, s:I}", "format", format_names[lo.format], "out_dir", dir,
		                          "labels", (json_int_t)n, "bytes", (json_int_t)m.bytes));
	else
		fprintf(stderr, "wrote %zu %s to %s/ (%s, %zu bytes, one file per certificate: <id>.%s)\n", n,
		        plural(n, "label", "labels"), dir, format_names[lo.format], m.bytes, format_names[lo.format]);
out:
	free(m.written);
	batch_free(&b);
	sm_registry_close(r);
	return rc;
}

/* The model a label of `id` shows when none is asked: the first of the server's record (public). */
static int remote_first_model(const cli *c, sm_client *cl, const char *eid, char *model, size_t cap)
{
	sm_response resp = {0};
	sm_err err = {0};
	sm_cert *cert = NULL;
	json_t *j = NULL;
	char path[160];
	snprintf(path, sizeof(path), "/v1/certs/%s", eid);
	int rc = sm_client_get(cl, path, &resp, &err);
	if (!rc && !(j = json_loadb((const char *)resp.body, resp.len, JSON_REJECT_DUPLICATES, NULL)))
		rc = sm_err_set(&err, SM_EIO, NULL, "the server's certificate answer is not JSON");
	if (!rc && (rc = sm_cert_from_view(j, &cert, &err)) == 0 && cert->nmodels == 0)
		rc = sm_err_set(&err, SM_EIO, NULL, "the server's certificate has no model");
	if (!rc)
		snprintf(model, cap, "%s", cert->models[0]);
	sm_cert_free(cert);
	json_decref(j);
	sm_response_cleanup(&resp);
	return rc ? fail(c, rc == SM_EINVAL ? SM_EIO : rc, &err) : EXIT_OK;
}

/*
 * `label ID --server URL --token T`: the label the server prints (GET /v1/admin/labels/{id}.{ext}, an
 * issuer or auditor token), written as the local one would be: the same bytes on the same day with the
 * same key, the same report. The server takes --size-mm in whole millimetres.
 */
static int remote_label(cli *c, const char *id, const char *model, const char *path, opt *o,
			const sm_label_opts *lo)
{
	sm_client *cl = NULL;
	sm_response resp = {0};
	sm_buf q = SM_BUF_INIT;
	sm_err err = {0};
	char first[SM_MODEL_MAX + 1];
	char *eid = sm_client_escape(id), *emodel = model ? sm_client_escape(model) : NULL;
	const opt *size = opt_get(o, "size-mm"), *ec = opt_get(o, "ec"), *dpi = opt_get(o, "dpi");
	int rc = 0;
	if (!eid || (model && !emodel)) {
		rc = fail(c, SM_ENOMEM, NULL);
		goto out;
	}
	if (strlen(eid) > 120) {
		rc = usage_error(c, "label: '%.40s' is not a certificate id", id);
		goto out;
	}
	if (size->seen && lo->code_mm != (double)(long)lo->code_mm) {
		rc = usage_error(c, "label: with --server, --size-mm is a whole number of millimetres, not '%s'", size->value);
		goto out;
	}
	if (sm_buf_printf(&q, "/v1/admin/labels/%s.%s?", eid, format_names[lo->format]) ||
	    (emodel && sm_buf_printf(&q, "model=%s&", emodel)) ||
	    (size->seen && sm_buf_printf(&q, "size_mm=%ld&", (long)lo->code_mm)) ||
	    (ec->seen && sm_buf_printf(&q, "ec=%d&", lo->ec)) || (dpi->seen && sm_buf_printf(&q, "dpi=%d&", lo->dpi))) {
		rc = fail(c, SM_ENOMEM, NULL);
		goto out;
	}
	q.data[--q.len] = '\0'; /* the last '&' or '?' */
	if ((rc = cli_client(c, &cl, &err))) {
		rc = fail(c, rc, &err);
		goto out;
	}
	if ((rc = sm_client_get(cl, (const char *)q.data, &resp, &err))) {
		rc = fail(c, rc, &err);
		goto out;
	}
	if (!model && (rc = remote_first_model(c, cl, eid, first, sizeof(first))))
		goto out;
	if ((rc = save(c, path, resp.body, resp.len)))
		goto out;
	const char *m = model ? model : first;
	char what[SM_ID_MAX + SM_MODEL_MAX + 32];
	snprintf(what, sizeof(what), "the label of %s model %s", id, m);
	rc = report(c, what, path, lo->format, resp.len,
		    json_pack("{s:s, s:s, s:s?}", "id", id, "model", m, "url",
			      resp.content_location[0] ? resp.content_location : NULL));
out:
	sm_response_cleanup(&resp);
	sm_client_free(cl);
	sm_buf_cleanup(&q);
	free(eid);
	free(emodel);
	return rc;
}

static int label_one(cli *c, int argc, char **argv)
{
	opt o[] = {{"model", true},   {"format", true}, {"out", true}, {"size-mm", true},
	           {"ec", true},      {"dpi", true},    {"out-dir", true}, {0}};
	const char **pos = calloc(LABEL_IDS_MAX, sizeof(*pos));
	size_t np = 0;
	sm_label_opts lo;
	sm_registry *r = NULL;
	sm_cert *cert = NULL;
	char *url = NULL;
	sm_buf b = SM_BUF_INIT;
	sm_err err = {0};
	sm_label_opts_default(&lo);
	if (!pos) {
		fprintf(stderr, "%s: label: out of memory\n", c->prog);
		return EXIT_IO;
	}
	int rc = opt_parse(c, "label", argc, argv, o, pos, LABEL_IDS_MAX, &np);
	if (rc)
		goto out;
	if (o[6].seen && o[2].seen) {
		rc = usage_error(c, "label: give --out FILE for one label or --out-dir DIR for one file per ID, "
		                    "not both");
		goto out;
	}
	if (o[6].seen && np >= 1 && c->server) {
		rc = usage_error(c, "label: --out-dir works on a local registry (--db), not with --server: fetch each "
				    "label with 'starmark --server URL label ID --out FILE'");
		goto out;
	}
	if (o[6].seen && np >= 1) {
		rc = label_many(c, o, pos, np);
		goto out;
	}
	if (np != 1) {
		rc = usage_error(
		    c, "label: usage: starmark label ID [--model M] [--format png|svg|pdf|zpl] [--out FILE] "
		       "[--size-mm MM] [--ec L|M|Q|H] [--dpi N], or label ID... --out-dir DIR (at most %d ids)",
		    LABEL_IDS_MAX);
		goto out;
	}
	const char *model = o[0].seen ? o[0].value : NULL, *path = o[2].seen ? o[2].value : NULL;
	if ((rc = pick_format(c, "label", &o[1], path, SM_LABEL_PNG, &lo.format)) || (rc = parse_common(c, o, &lo)) ||
	    (rc = check_tty(c, path, lo.format)))
		goto out;
	if (c->server) {
		rc = remote_label(c, pos[0], model, path, o, &lo);
		goto out;
	}
	if ((rc = open_registry(c, false, &r)))
		goto out;
	if ((rc = sm_registry_label(r, pos[0], model, c->now, &url, &cert, &err)) ||
	    (rc = sm_label_render(cert, model, url, &lo, buf_write, &b, &err))) {
		rc = fail(c, rc, &err);
		goto out;
	}
	if ((rc = save(c, path, b.data, b.len)))
		goto out;
	char what[SM_ID_MAX + SM_MODEL_MAX + 32];
	const char *m = model ? model : cert->models[0];
	snprintf(what, sizeof(what), "the label of %s model %s", cert->id, m);
	rc = report(c, what, path, lo.format, b.len,
	            json_pack("{s:s, s:s, s:s}", "id", cert->id, "model", m, "url", url));
out:
	free(pos);
	sm_buf_cleanup(&b);
	free(url);
	sm_cert_free(cert);
	sm_registry_close(r);
	return rc;
}

static int label_sheet(cli *c, int argc, char **argv)
{
	opt o[] = {{"out", true}, {"per-id", true}, {"size-mm", true}, {"ec", true}, {"format", true}, {"dpi", true}, {0}};
	const char **pos = calloc(SHEET_IDS_MAX, sizeof(*pos));
	size_t np = 0, n = 0;
	int per_id = 1;
	sm_label_opts lo;
	sm_registry *r = NULL;
	batch bt = {0};
	sm_buf b = SM_BUF_INIT;
	sm_err err = {0};
	sm_label_opts_default(&lo);
	if (!pos) {
		fprintf(stderr, "%s: label sheet: out of memory\n", c->prog);
		return EXIT_IO;
	}
	int rc = opt_parse(c, "label sheet", argc, argv, o, pos, SHEET_IDS_MAX, &np);
	if (rc)
		goto out;
	if (c->server) {
		rc = usage_error(c, "label sheet works on a local registry (--db), not with --server");
		goto out;
	}
	if (np == 0 || !o[0].seen) {
		rc = usage_error(c,
		                 "label sheet: usage: starmark label sheet ID... --out FILE.pdf|FILE.svg [--format pdf|svg] "
		                 "[--per-id N] [--size-mm MM] [--ec L|M|Q|H] [--dpi N] (at most %d ids)",
		                 SHEET_IDS_MAX);
		goto out;
	}
	if (o[1].seen) {
		char *end = NULL;
		long v = strtol(o[1].value, &end, 10);
		if (end == o[1].value || *end || v < 1 || v > SM_LABEL_PER_ID_MAX) {
			rc = usage_error(c, "label sheet: --per-id must be a number 1..%d, not '%s'",
			                 SM_LABEL_PER_ID_MAX, o[1].value);
			goto out;
		}
		per_id = (int)v;
	}
	if ((rc = pick_format(c, "label sheet", &o[4], o[0].value, SM_LABEL_PDF, &lo.format)))
		goto out;
	if (lo.format != SM_LABEL_PDF && lo.format != SM_LABEL_SVG) {
		rc = usage_error(c, "label sheet: a sheet is pdf or svg, not %s (print %s labels one a file with "
		                    "'label ID... --out-dir DIR --format %s')",
		                 format_names[lo.format], format_names[lo.format], format_names[lo.format]);
		goto out;
	}
	if ((rc = parse_common(c, o, &lo)) || (rc = check_tty(c, o[0].value, lo.format)) ||
	    (rc = open_registry(c, false, &r)) || (rc = batch_sign(c, r, pos, np, &bt)))
		goto out;
	n = bt.n;
	if ((rc = sm_label_sheet(bt.certs, NULL, (const char *const *)bt.urls, n, per_id, &lo, buf_write, &b,
	                         &err))) {
		rc = fail(c, rc, &err);
		goto out;
	}
	if ((rc = save(c, o[0].value, b.data, b.len)))
		goto out;
	char what[64];
	snprintf(what, sizeof(what), "a sheet of %zu %s", n * (size_t)per_id, plural(n * (size_t)per_id, "label", "labels"));
	rc = report(c, what, o[0].value, lo.format, b.len,
	            json_pack("{s:I}", "labels", (json_int_t)(n * (size_t)per_id)));
out:
	batch_free(&bt);
	sm_buf_cleanup(&b);
	sm_registry_close(r);
	free(pos);
	return rc;
}

int cmd_label(cli *c, int argc, char **argv)
{
	if (argc >= 2 && strcmp(argv[1], "verify") == 0)
		return cmd_label_verify(c, argc - 1, argv + 1);
	if (argc >= 2 && strcmp(argv[1], "sheet") == 0)
		return label_sheet(c, argc - 1, argv + 1);
	return label_one(c, argc, argv);
}
