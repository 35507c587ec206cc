/* SPDX-License-Identifier: Apache-2.0 */
/* Bulk import (CSV, JSON Lines) and export. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "registry_int.h"
#include "starmark/csv.h"
#include "starmark/json.h"
#include "starmark/transfer.h"

/* id and status are the two columns `export --format csv` adds: an import assigns a new id and
 * takes only active certificates, so that an export can be imported into a new registry. */
enum col {
	C_VENDOR, C_VENDOR_NAME, C_PRODUCT, C_MODELS, C_LEVEL, C_FIRMWARE, C_CATEGORY, C_REGISTERED, C_EXPIRES,
	C_SUPPORT_END, C_REQUIREMENTS, C_URL, C_ID, C_STATUS, C_FW_REVOKED, C_COUNT
};

static const char *const col_names[C_COUNT] = {
	"vendor", "vendor_name", "product", "models", "level", "firmware", "category", "registered", "expires",
	"support_end", "requirements", "url", "id", "status", "firmware_revoked",
};

static const bool col_required[C_COUNT] = {
	[C_VENDOR] = true, [C_VENDOR_NAME] = true, [C_PRODUCT] = true, [C_MODELS] = true,
	[C_LEVEL] = true, [C_FIRMWARE] = true, [C_REGISTERED] = true,
};

static void add_error(sm_import_report *rep, size_t line, const sm_err *e)
{
	rep->bad++;
	if (rep->nerrors >= SM_IMPORT_MAX_ERRORS)
		return;
	sm_row_error *x = &rep->errors[rep->nerrors++];
	x->line = line;
	snprintf(x->field, sizeof(x->field), "%s", e->field);
	snprintf(x->msg, sizeof(x->msg), "%s", e->msg);
}

/* Level as a number ("2"), stars ("★★"), or "Lv.2" / "Lv2" / "Lv 2", as public lists print it. */
static int parse_level(const char *s, int *out, sm_err *err)
{
	const char *p = s;
	int stars = 0;
	while (strncmp(p, "\xE2\x98\x85", 3) == 0) { /* U+2605 BLACK STAR */
		stars++;
		p += 3;
	}
	if (stars && !*p) {
		*out = stars;
		return 0;
	}
	p = s;
	if (strncmp(p, "Lv", 2) == 0 || strncmp(p, "LV", 2) == 0 || strncmp(p, "lv", 2) == 0) {
		p += 2;
		if (*p == '.' || *p == ' ')
			p++;
	}
	if (p[0] >= '1' && p[0] <= '9' && !p[1]) {
		*out = p[0] - '0';
		return 0;
	}
	char q[40];
	sm_err_quote(q, sizeof(q), s, strlen(s));
	return sm_err_set(err, SM_EINVAL, "level", "level '%s' is not a level (1, ★★ or Lv.2)", q);
}

static char *trimmed_dup(const char *s, size_t n)
{
	while (n && (*s == ' ' || *s == '\t')) {
		s++;
		n--;
	}
	while (n && (s[n - 1] == ' ' || s[n - 1] == '\t'))
		n--;
	char *d = malloc(n + 1);
	if (d) {
		memcpy(d, s, n);
		d[n] = '\0';
	}
	return d;
}

static int split_models(sm_cert *c, const char *s, sm_err *err)
{
	size_t cap = 0;
	const char *p = s;
	while (true) {
		const char *semi = strchr(p, ';');
		size_t len = semi ? (size_t)(semi - p) : strlen(p);
		if (c->nmodels == SM_MODELS_MAX)
			return sm_err_set(err, SM_EINVAL, "models", "more than %d model numbers", SM_MODELS_MAX);
		if (c->nmodels == cap) {
			cap = cap ? cap * 2 : 4;
			char **v = realloc(c->models, cap * sizeof(*v));
			if (!v)
				return SM_ENOMEM;
			c->models = v;
		}
		if (!(c->models[c->nmodels] = trimmed_dup(p, len)))
			return SM_ENOMEM;
		c->nmodels++;
		if (!semi)
			return 0;
		p = semi + 1;
	}
}

static int csv_row_to_cert(const int *map, const char **f, size_t nf, sm_cert **out, sm_err *err)
{
	sm_cert *c = sm_cert_new();
	int rc = c ? 0 : SM_ENOMEM;
	for (int col = 0; col < C_COUNT && !rc; col++) {
		const char *v = map[col] >= 0 && (size_t)map[col] < nf ? f[map[col]] : "";
		if (!*v) {
			if (col_required[col])
				rc = sm_err_set(err, SM_EINVAL, col_names[col], "%s is required and empty", col_names[col]);
			continue;
		}
		char **dst = NULL;
		switch (col) {
		case C_VENDOR:
			if (!(rc = sm_check_vendor(v, err)))
				snprintf(c->vendor, sizeof(c->vendor), "%s", v);
			break;
		case C_VENDOR_NAME: dst = &c->vendor_name; break;
		case C_PRODUCT: dst = &c->product; break;
		case C_MODELS: rc = split_models(c, v, err); break;
		case C_LEVEL: rc = parse_level(v, &c->level, err); break;
		case C_FIRMWARE: dst = &c->firmware; break;
		case C_CATEGORY: dst = &c->category; break;
		case C_REGISTERED: rc = sm_date_parse(v, false, "registered", &c->registered, err); break;
		case C_EXPIRES: rc = sm_date_parse(v, false, "expires", &c->expires, err); break;
		case C_SUPPORT_END: rc = sm_date_parse(v, true, "support_end", &c->support_end, err); break;
		case C_REQUIREMENTS: dst = &c->requirements; break;
		case C_URL: dst = &c->url; break;
		case C_ID: break;
		case C_FW_REVOKED:
			/* an import makes a new certificate: revocations are events of the old one's log */
			rc = sm_err_set(err, SM_EINVAL, "firmware_revoked", "firmware_revoked is '%.60s': a record with "
					"revoked firmware cannot be imported as a new one", v);
			break;
		case C_STATUS:
			if (strcmp(v, "active") != 0)
				rc = sm_err_set(err, SM_EINVAL, "status", "status is '%s': only an active certificate can be "
						"imported as a new one", v);
			break;
		}
		if (dst && !rc && !(*dst = strdup(v)))
			rc = SM_ENOMEM;
	}
	if (rc) {
		sm_cert_free(c);
		return rc;
	}
	*out = c;
	return 0;
}

/* Accumulates drafts with their lines. */
typedef struct drafts {
	sm_cert **v;
	size_t *line;
	size_t n, cap;
} drafts;

static int drafts_push(drafts *d, sm_cert *c, size_t line)
{
	if (d->n == d->cap) {
		size_t nc = d->cap ? d->cap * 2 : 256;
		sm_cert **v = realloc(d->v, nc * sizeof(*v));
		if (!v)
			return SM_ENOMEM;
		d->v = v;
		size_t *l = realloc(d->line, nc * sizeof(*l));
		if (!l)
			return SM_ENOMEM;
		d->line = l;
		d->cap = nc;
	}
	d->v[d->n] = c;
	d->line[d->n++] = line;
	return 0;
}

static void drafts_free(drafts *d)
{
	for (size_t i = 0; i < d->n; i++)
		sm_cert_free(d->v[i]);
	free(d->v);
	free(d->line);
}

/* Validate a parsed row and keep it, or report it. */
static int take_row(sm_registry *r, drafts *d, sm_import_report *rep, sm_cert *c, size_t line, int64_t now)
{
	sm_err e = { 0 };
	if (sm_registry_validate_draft(r, c, now, &e)) {
		add_error(rep, line, &e);
		sm_cert_free(c);
		return 0;
	}
	int rc = drafts_push(d, c, line);
	if (rc)
		sm_cert_free(c);
	return rc;
}

static int read_csv(sm_registry *r, const char *data, size_t n, int64_t now, drafts *d, sm_import_report *rep,
		    sm_err *err)
{
	sm_csv *csv = NULL;
	const char **f;
	const size_t *lens;
	size_t nf, line;
	int map[C_COUNT];
	int rc = sm_csv_new(data, n, &csv);
	if (rc)
		return sm_err_set(err, rc, NULL, "cannot read the CSV: %s", sm_strerror(rc));
	sm_err e = { 0 };
	rc = sm_csv_next(csv, &f, &lens, &nf, &line, &e);
	if (rc <= 0) {
		sm_csv_free(csv);
		return rc == 0 ? sm_err_set(err, SM_EINVAL, "csv", "the CSV file is empty: it needs a header row")
			       : sm_err_set(err, rc, "csv", "header row: %s", e.msg);
	}
	for (int c = 0; c < C_COUNT; c++)
		map[c] = -1;
	const size_t ncols = nf;
	for (size_t i = 0; i < nf; i++) {
		int found = -1;
		for (int c = 0; c < C_COUNT && found < 0; c++)
			if (strcmp(f[i], col_names[c]) == 0)
				found = c;
		char q[40];
		sm_err_quote(q, sizeof(q), f[i], lens[i]);
		if (found < 0) {
			sm_csv_free(csv);
			return sm_err_set(err, SM_EINVAL, "csv", "line %zu: unknown column '%s' (columns: vendor, vendor_name, "
					  "product, models, level, firmware, category, registered, expires, support_end, "
					  "requirements, url, and from an export id, status, firmware_revoked)", line, q);
		}
		if (map[found] >= 0) {
			sm_csv_free(csv);
			return sm_err_set(err, SM_EINVAL, "csv", "line %zu: column '%s' appears twice", line, q);
		}
		map[found] = (int)i;
	}
	for (int c = 0; c < C_COUNT; c++)
		if (col_required[c] && map[c] < 0) {
			sm_csv_free(csv);
			return sm_err_set(err, SM_EINVAL, "csv", "the header lacks the required column '%s'", col_names[c]);
		}
	rc = 0;
	while (!rc) {
		sm_err_clear(&e);
		int got = sm_csv_next(csv, &f, &lens, &nf, &line, &e);
		if (got == 0)
			break;
		rep->rows++;
		if (got < 0) {
			add_error(rep, e.line ? e.line : line, &e);
			continue;
		}
		sm_cert *c = NULL;
		if (nf != ncols) {
			sm_err_set(&e, SM_EINVAL, "csv", "the row has %zu fields, the header %zu", nf, ncols);
			add_error(rep, line, &e);
			continue;
		}
		if (csv_row_to_cert(map, f, nf, &c, &e)) {
			add_error(rep, line, &e);
			continue;
		}
		rc = take_row(r, d, rep, c, line, now);
	}
	sm_csv_free(csv);
	return rc;
}

static int read_jsonl(sm_registry *r, const char *data, size_t n, int64_t now, drafts *d, sm_import_report *rep)
{
	size_t line = 0, off = 0;
	int rc = 0;
	while (off < n && !rc) {
		const char *nl = memchr(data + off, '\n', n - off);
		size_t len = nl ? (size_t)(nl - (data + off)) : n - off;
		const char *p = data + off;
		off += len + (nl ? 1 : 0);
		line++;
		if (len && p[len - 1] == '\r')
			len--;
		size_t k = 0;
		while (k < len && (p[k] == ' ' || p[k] == '\t'))
			k++;
		if (k == len)
			continue;
		rep->rows++;
		sm_err e = { 0 };
		json_t *j = NULL;
		sm_cert *c = NULL;
		if (len > SM_JSONL_MAX_LINE) {
			sm_err_set(&e, SM_ETOOBIG, "line", "a JSON line is %zu bytes, at most %u", len, SM_JSONL_MAX_LINE);
			add_error(rep, line, &e);
			continue;
		}
		if (sm_json_parse_body(p, len, &j, &e) || sm_cert_from_json(j, true, &c, &e)) {
			add_error(rep, line, &e);
			json_decref(j);
			continue;
		}
		json_decref(j);
		rc = take_row(r, d, rep, c, line, now);
	}
	return rc;
}

/* Duplicates among the rows themselves: (vendor, model, registered) seen on an earlier row. */
typedef struct dupkey {
	char key[SM_VENDOR_MAX + SM_MODEL_MAX + 16];
	size_t draft;
} dupkey;

static int dupkey_cmp(const void *a, const void *b)
{
	const dupkey *x = a, *y = b;
	int c = strcmp(x->key, y->key);
	return c ? c : (x->draft > y->draft) - (x->draft < y->draft);
}

static int mark_duplicates(sm_registry *r, drafts *d, bool *bad, sm_import_report *rep, sm_err *err)
{
	size_t total = 0;
	for (size_t i = 0; i < d->n; i++)
		total += d->v[i]->nmodels;
	dupkey *k = total ? malloc(total * sizeof(*k)) : NULL;
	if (total && !k)
		return sm_err_set(err, SM_ENOMEM, NULL, "out of memory");
	size_t nk = 0;
	for (size_t i = 0; i < d->n; i++)
		for (size_t m = 0; m < d->v[i]->nmodels; m++) {
			snprintf(k[nk].key, sizeof(k[nk].key), "%s%c%s%c%d", d->v[i]->vendor, 0x1f, d->v[i]->models[m], 0x1f,
				 (int)d->v[i]->registered);
			k[nk++].draft = i;
		}
	if (nk)
		qsort(k, nk, sizeof(*k), dupkey_cmp);
	for (size_t i = 1; i < nk; i++) {
		if (strcmp(k[i].key, k[i - 1].key) == 0 && k[i].draft != k[i - 1].draft && !bad[k[i].draft]) {
			sm_err e = { 0 };
			sm_err_set(&e, SM_EEXIST, "models", "duplicate of the row on line %zu (same vendor, model and date)",
				   d->line[k[i - 1].draft]);
			add_error(rep, d->line[k[i].draft], &e);
			bad[k[i].draft] = true;
		}
	}
	free(k);
	/* and against the registry */
	sm_txn *t = NULL;
	int rc = sm_store_begin(r->store, false, &t, err);
	for (size_t i = 0; i < d->n && !rc; i++) {
		if (bad[i])
			continue;
		sm_err e = { 0 };
		int drc = sm_registry_find_duplicate(t, d->v[i], &e);
		if (drc == SM_EEXIST) {
			add_error(rep, d->line[i], &e);
			bad[i] = true;
		} else if (drc) {
			rc = sm_err_set(err, drc, NULL, "%s", e.msg);
		}
	}
	sm_store_abort(t);
	return rc;
}

static int by_line(const void *a, const void *b)
{
	const sm_row_error *x = a, *y = b;
	return (x->line > y->line) - (x->line < y->line);
}

int sm_import(sm_registry *r, enum sm_format fmt, const char *data, size_t n, bool skip_bad, int64_t now,
	      sm_progress_fn progress, void *pctx, sm_import_report *rep, sm_err *err)
{
	drafts d = { 0 };
	bool *bad = NULL;
	sm_cert **good = NULL;
	int rc = 0;
	memset(rep, 0, sizeof(*rep));
	if (!r->write)
		return sm_err_set(err, SM_ESTORE, NULL, "the registry is open read-only");
	if (n > SM_IMPORT_MAX_SIZE)
		return sm_err_set(err, SM_ETOOBIG, "file", "the import file is %zu bytes, at most %u", n, SM_IMPORT_MAX_SIZE);
	rep->errors = calloc(SM_IMPORT_MAX_ERRORS, sizeof(*rep->errors));
	if (!rep->errors)
		return sm_err_set(err, SM_ENOMEM, NULL, "out of memory");
	rc = fmt == SM_FORMAT_CSV ? read_csv(r, data, n, now, &d, rep, err) : read_jsonl(r, data, n, now, &d, rep);
	if (rc)
		goto out;
	bad = calloc(d.n + 1, sizeof(*bad));
	good = calloc(d.n + 1, sizeof(*good));
	if (!bad || !good) {
		rc = sm_err_set(err, SM_ENOMEM, NULL, "out of memory");
		goto out;
	}
	if ((rc = mark_duplicates(r, &d, bad, rep, err)))
		goto out;
	qsort(rep->errors, rep->nerrors, sizeof(*rep->errors), by_line);
	if (rep->bad && !skip_bad) {
		rc = sm_err_set(err, SM_EINVAL, "file", "%zu of %zu rows are bad; nothing was imported (--skip-bad imports "
				"the good rows)", rep->bad, rep->rows);
		goto out;
	}
	size_t ng = 0;
	for (size_t i = 0; i < d.n; i++)
		if (!bad[i])
			good[ng++] = d.v[i];
	if (ng == 0)
		goto out;
	if ((rc = sm_registry_issue_many(r, good, ng, now, progress, pctx, err))) {
		/* a storage failure: nothing was written */
		goto out;
	}
	rep->imported = ng;
	snprintf(rep->first_id, sizeof(rep->first_id), "%s", good[0]->id);
	snprintf(rep->last_id, sizeof(rep->last_id), "%s", good[ng - 1]->id);
out:
	free(good);
	free(bad);
	drafts_free(&d);
	return rc;
}

void sm_import_report_cleanup(sm_import_report *rep)
{
	free(rep->errors);
	memset(rep, 0, sizeof(*rep));
}

/* ---- export ---- */

struct export_ctx {
	enum sm_format fmt;
	sm_date today;
	sm_write_fn write;
	void *wctx;
	sm_buf line;
};

static int csv_field(sm_buf *b, const char *s, bool last)
{
	int rc = 0;
	if (!s)
		s = "";
	bool quote = strpbrk(s, ",\"\r\n") != NULL || (*s && (s[0] == ' ' || s[strlen(s) - 1] == ' '));
	if (quote) {
		rc = sm_buf_append(b, "\"", 1);
		for (const char *p = s; *p && !rc; p++)
			rc = *p == '"' ? sm_buf_append(b, "\"\"", 2) : sm_buf_append(b, p, 1);
		if (!rc)
			rc = sm_buf_append(b, "\"", 1);
	} else {
		rc = sm_buf_puts(b, s);
	}
	return rc ? rc : sm_buf_append(b, last ? "\r\n" : ",", last ? 2 : 1);
}

/* One certificate's line (CSV) or lines (JSONL never has more than one), to the sink. */
static int export_cert(struct export_ctx *x, const sm_cert *c)
{
	int rc = 0;
	x->line.len = 0;
	if (x->fmt == SM_FORMAT_JSONL) {
		json_t *j = sm_cert_to_json(c, x->today);
		char *s = j ? json_dumps(j, JSON_COMPACT) : NULL;
		rc = s ? sm_buf_puts(&x->line, s) : SM_ENOMEM;
		if (!rc)
			rc = sm_buf_append(&x->line, "\n", 1);
		free(s);
		json_decref(j);
	} else {
		char level[4], reg[11], exp[11], sup[11];
		sm_buf models = SM_BUF_INIT, revoked = SM_BUF_INIT;
		for (size_t i = 0; i < c->nmodels && !rc; i++)
			rc = sm_buf_printf(&models, "%s%s", i ? ";" : "", c->models[i]);
		for (size_t i = 0; i < c->nrevoked && !rc; i++)
			rc = sm_buf_printf(&revoked, "%s%s", i ? ";" : "", c->revoked[i]);
		if (!rc)
			rc = sm_buf_terminate(&models);
		if (!rc)
			rc = sm_buf_terminate(&revoked);
		snprintf(level, sizeof(level), "%d", c->level);
		sm_date_format(c->registered, reg);
		if (c->expires != SM_DATE_NONE)
			sm_date_format(c->expires, exp);
		if (c->support_end != SM_DATE_NONE)
			sm_date_format(c->support_end, sup);
		const char *cols[] = { c->id, sm_cert_status_name(c, x->today), c->vendor, c->vendor_name, c->product,
				       rc ? "" : (const char *)models.data, level, c->firmware,
				       rc || !c->nrevoked ? "" : (const char *)revoked.data, c->category, reg,
				       c->expires != SM_DATE_NONE ? exp : "", c->support_end != SM_DATE_NONE ? sup : "",
				       c->requirements, c->url };
		size_t nc = sizeof(cols) / sizeof(cols[0]);
		for (size_t i = 0; i < nc && !rc; i++)
			rc = csv_field(&x->line, cols[i], i + 1 == nc);
		sm_buf_cleanup(&models);
		sm_buf_cleanup(&revoked);
	}
	return rc ? rc : x->write(x->wctx, x->line.data, x->line.len);
}

static int export_one(void *vctx, const char *id, const uint8_t *p, size_t n)
{
	sm_cert *c = NULL;
	if (sm_cert_decode(p, n, &c, NULL))
		return SM_ESTORE;
	int rc = export_cert(vctx, c);
	sm_cert_free(c);
	return rc;
}

static bool filters(const sm_filter *f)
{
	return f && (f->vendor || f->model || f->category || f->level || f->status >= 0 || f->q);
}

int sm_export_list(sm_registry *r, enum sm_format fmt, const sm_filter *f, sm_date today, sm_write_fn write, void *wctx,
		   sm_err *err)
{
	struct export_ctx x = { fmt, today, write, wctx, SM_BUF_INIT };
	sm_cert_list l = { 0 };
	int rc = 0;
	if (fmt == SM_FORMAT_CSV) {
		const char *hdr = "id,status,vendor,vendor_name,product,models,level,firmware,firmware_revoked,category,"
				  "registered,expires,support_end,requirements,url\r\n";
		rc = write(wctx, hdr, strlen(hdr));
	}
	if (!rc && filters(f)) {
		/* the listing's own selection and order, every page of it */
		sm_filter all = *f;
		all.offset = 0;
		all.limit = 0;
		all.today = today;
		if ((rc = sm_registry_list(r, &all, &l, err)))
			return rc;
		for (size_t i = 0; i < l.n && !rc; i++)
			rc = export_cert(&x, l.v[i]);
		sm_cert_list_cleanup(&l);
	} else if (!rc) {
		/* every certificate, streamed from the store one at a time */
		sm_txn *t = NULL;
		rc = sm_store_begin(r->store, false, &t, err);
		if (!rc)
			rc = sm_store_cert_foreach(t, export_one, &x);
		sm_store_abort(t);
	}
	sm_buf_cleanup(&x.line);
	return rc && err && !err->msg[0] ? sm_err_set(err, rc, NULL, "export failed: %s", sm_strerror(rc)) : rc;
}

int sm_export(sm_registry *r, enum sm_format fmt, sm_date today, sm_write_fn write, void *wctx, sm_err *err)
{
	return sm_export_list(r, fmt, NULL, today, write, wctx, err);
}
