/* SPDX-License-Identifier: Apache-2.0 */
/* Bulk import (CSV, JSON Lines) and export. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "registry_int.h"
#include "starmark/client.h"
#include "starmark/csv.h"
#include "starmark/json.h"
#include "starmark/transfer.h"

/* The contract's columns, then what `export --format csv` adds: the certificate's id, its status with the
 * reason and date of the event that set it, the revoked firmware with its reason and date, and the scheme's own
 * registration number. An import takes them all, so an export moves into a new registry as it was
 * (docs/interface-notes.md, "Migration"). */
enum col {
	C_VENDOR, C_VENDOR_NAME, C_PRODUCT, C_MODELS, C_LEVEL, C_FIRMWARE, C_CATEGORY, C_REGISTERED, C_EXPIRES,
	C_SUPPORT_END, C_REQUIREMENTS, C_URL, C_ID, C_STATUS, C_FW_REVOKED, C_SCHEME_REF, C_STATUS_REASON,
	C_STATUS_DATE, C_FW_REVOKED_REASON, C_FW_REVOKED_DATE, C_COUNT
};

static const char *const col_names[C_COUNT] = {
	"vendor", "vendor_name", "product", "models", "level", "firmware", "category", "registered", "expires",
	"support_end", "requirements", "url", "id", "status", "firmware_revoked", "scheme_ref", "status_reason",
	"status_date", "firmware_revoked_reason", "firmware_revoked_date",
};

static const bool col_required[C_COUNT] = {
	[C_VENDOR] = true, [C_VENDOR_NAME] = true, [C_PRODUCT] = true, [C_MODELS] = true,
	[C_LEVEL] = true, [C_FIRMWARE] = true, [C_REGISTERED] = true,
};

/*
 * Spreadsheet formulas (OWASP, "CSV injection"): a cell a spreadsheet would run starts with one of these.
 * Export writes such a cell with a leading apostrophe, and also a cell that already starts with apostrophes
 * before one of them, so that import strips exactly one apostrophe from a cell of the form '+[=+-@\t\r]...:
 * an export imports as the values it was made from.
 */
static bool formula_start(char ch)
{
	return ch == '=' || ch == '+' || ch == '-' || ch == '@' || ch == '\t' || ch == '\r';
}

static bool needs_neutral(const char *s)
{
	while (*s == '\'')
		s++;
	return formula_start(*s);
}

static void add_warning(sm_import_report *rep, size_t line, const char *field, const char *value)
{
	rep->warned++;
	if (rep->nwarnings >= SM_IMPORT_MAX_ERRORS)
		return;
	sm_row_error *x = &rep->warnings[rep->nwarnings++];
	char q[40];
	sm_err_quote(q, sizeof(q), value, strlen(value));
	x->line = line;
	snprintf(x->field, sizeof(x->field), "%s", field);
	snprintf(x->msg, sizeof(x->msg), "%s '%s' starts with '%c': a spreadsheet would run it as a formula; imported as "
		 "written (an export writes it as '%s)", field, q, value[0] == '\t' ? 'T' : value[0], q);
}

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

/* A time column: "YYYY-MM-DD" (that day, 00:00 UTC) or "YYYY-MM-DDTHH:MM:SSZ". */
static int parse_when(const char *v, const char *field, int64_t *out, sm_err *err)
{
	sm_date d;
	if (strlen(v) == 10) {
		int rc = sm_date_parse(v, false, field, &d, err);
		if (!rc)
			*out = (int64_t)d * 86400;
		return rc;
	}
	return sm_time_parse(v, field, out, err);
}

static int push_history(sm_cert *c, int type, int64_t at, const char *reason)
{
	sm_history *h = realloc(c->history, (c->nhistory + 1) * sizeof(*h));
	if (!h)
		return SM_ENOMEM;
	c->history = h;
	h[c->nhistory] = (sm_history){ type, at, NULL, 0 };
	if (reason && !(h[c->nhistory].reason = strdup(reason)))
		return SM_ENOMEM;
	c->nhistory++;
	return 0;
}

/* The history a CSV row states: its firmware revocation, then the event that set its status. */
static int csv_history(sm_cert *c, const char *const *v, sm_err *err)
{
	int64_t at = 0;
	int rc = 0;
	if (*v[C_FW_REVOKED_REASON] || *v[C_FW_REVOKED_DATE]) {
		if (!c->nrevoked)
			return sm_err_set(err, SM_EINVAL, "firmware_revoked", "firmware_revoked is empty, but a reason or date "
					  "of a revocation is given");
		if (!*v[C_FW_REVOKED_DATE])
			return sm_err_set(err, SM_EINVAL, "firmware_revoked_date", "firmware_revoked_date is required with "
					  "firmware_revoked (when the versions were revoked)");
		if ((rc = parse_when(v[C_FW_REVOKED_DATE], "firmware_revoked_date", &at, err)))
			return rc;
		if (!*v[C_FW_REVOKED_REASON])
			return sm_err_set(err, SM_EINVAL, "firmware_revoked_reason", "firmware_revoked_reason is required "
					  "with firmware_revoked (why the versions were revoked)");
		if ((rc = push_history(c, SM_EV_FW_REVOKE, at, v[C_FW_REVOKED_REASON])))
			return rc;
	} else if (c->nrevoked) {
		return sm_err_set(err, SM_EINVAL, "firmware_revoked_reason", "firmware_revoked lists versions: "
				  "firmware_revoked_reason and firmware_revoked_date say why and when they were revoked");
	}
	bool stated = c->status == SM_STATUS_SUSPENDED || c->status == SM_STATUS_REVOKED;
	if (!stated) {
		if (*v[C_STATUS_REASON] || *v[C_STATUS_DATE])
			return sm_err_set(err, SM_EINVAL, *v[C_STATUS_REASON] ? "status_reason" : "status_date",
					  "status_reason and status_date belong to a suspended or revoked row");
		return 0;
	}
	if (!*v[C_STATUS_DATE])
		return sm_err_set(err, SM_EINVAL, "status_date", "status_date is required when status is %s (when it "
				  "was %s)", v[C_STATUS], v[C_STATUS]);
	if (!*v[C_STATUS_REASON])
		return sm_err_set(err, SM_EINVAL, "status_reason", "status_reason is required when status is %s (why it "
				  "was %s)", v[C_STATUS], v[C_STATUS]);
	if ((rc = parse_when(v[C_STATUS_DATE], "status_date", &at, err)))
		return rc;
	return push_history(c, c->status == SM_STATUS_SUSPENDED ? SM_EV_SUSPEND : SM_EV_REVOKE, at, v[C_STATUS_REASON]);
}

/* Model numbers or versions separated by ';', as export writes them. */
static int split_list(char ***out, size_t *n, size_t max, const char *s, const char *field, sm_err *err)
{
	size_t cap = 0;
	const char *p = s;
	while (true) {
		const char *semi = strchr(p, ';');
		size_t len = semi ? (size_t)(semi - p) : strlen(p);
		if (*n == max)
			return sm_err_set(err, SM_EINVAL, field, "more than %zu %s", max,
					  strcmp(field, "models") == 0 ? "model numbers" : "revoked versions");
		if (*n == cap) {
			cap = cap ? cap * 2 : 4;
			char **v = realloc(*out, cap * sizeof(*v));
			if (!v)
				return SM_ENOMEM;
			*out = v;
		}
		if (!((*out)[*n] = trimmed_dup(p, len)))
			return SM_ENOMEM;
		(*n)++;
		if (!semi)
			return 0;
		p = semi + 1;
	}
}

/*
 * One CSV row into a draft. A cell neutralised by an export ('=...) loses its apostrophe; a cell a spreadsheet
 * would run, not neutralised, is taken as written and its column set in *warn (a bit per column).
 */
static int csv_row_to_cert(const int *map, const char **f, size_t nf, sm_cert **out, unsigned *warn, sm_err *err)
{
	const char *v[C_COUNT];
	sm_cert *c = sm_cert_new();
	int rc = c ? 0 : SM_ENOMEM;
	*warn = 0;
	for (int col = 0; col < C_COUNT; col++) {
		v[col] = map[col] >= 0 && (size_t)map[col] < nf ? f[map[col]] : "";
		if (v[col][0] == '\'' && needs_neutral(v[col] + 1))
			v[col]++;
		else if (formula_start(v[col][0]))
			*warn |= 1u << col;
	}
	for (int col = 0; col < C_COUNT && !rc; col++) {
		if (!*v[col]) {
			if (col_required[col])
				rc = sm_err_set(err, SM_EINVAL, col_names[col], "%s is required and empty", col_names[col]);
			continue;
		}
		char **dst = NULL;
		switch (col) {
		case C_VENDOR:
			if (!(rc = sm_check_vendor(v[col], err)))
				snprintf(c->vendor, sizeof(c->vendor), "%s", v[col]);
			break;
		case C_VENDOR_NAME: dst = &c->vendor_name; break;
		case C_PRODUCT: dst = &c->product; break;
		case C_MODELS: rc = split_list(&c->models, &c->nmodels, SM_MODELS_MAX, v[col], "models", err); break;
		case C_LEVEL: rc = parse_level(v[col], &c->level, err); break;
		case C_FIRMWARE: dst = &c->firmware; break;
		case C_CATEGORY: dst = &c->category; break;
		case C_REGISTERED: rc = sm_date_parse(v[col], false, "registered", &c->registered, err); break;
		case C_EXPIRES: rc = sm_date_parse(v[col], false, "expires", &c->expires, err); break;
		case C_SUPPORT_END: rc = sm_date_parse(v[col], true, "support_end", &c->support_end, err); break;
		case C_REQUIREMENTS: dst = &c->requirements; break;
		case C_URL: dst = &c->url; break;
		case C_SCHEME_REF: dst = &c->scheme_ref; break;
		case C_ID:
			if (strlen(v[col]) > SM_ID_MAX)
				rc = sm_err_set(err, SM_EINVAL, "id", "id is %zu bytes: not an id of this registry "
						"(SM-YYYY-NNNNNN); a scheme's own number goes in scheme_ref", strlen(v[col]));
			else
				snprintf(c->id, sizeof(c->id), "%s", v[col]);
			break;
		case C_FW_REVOKED:
			rc = split_list(&c->revoked, &c->nrevoked, SM_REVOKED_MAX, v[col], "firmware_revoked", err);
			break;
		case C_STATUS:
			if ((c->status = sm_status_from_name(v[col])) < 0)
				rc = sm_err_set(err, SM_EINVAL, "status", "status '%.40s' is not active, suspended, revoked or "
						"expired", v[col]);
			break;
		default: break; /* the history's columns, read below */
		}
		if (dst && !rc && !(*dst = strdup(v[col])))
			rc = SM_ENOMEM;
	}
	if (!rc)
		rc = csv_history(c, v, err);
	if (rc) {
		sm_cert_free(c);
		return rc == SM_ENOMEM ? sm_err_set(err, rc, NULL, "out of memory") : rc;
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

/* The status the status events of a history leave. */
static int history_status(const sm_cert *c)
{
	int st = SM_STATUS_ACTIVE;
	for (size_t i = 0; i < c->nhistory; i++)
		if (c->history[i].type == SM_EV_SUSPEND)
			st = SM_STATUS_SUSPENDED;
		else if (c->history[i].type == SM_EV_REVOKE)
			st = SM_STATUS_REVOKED;
		else if (c->history[i].type == SM_EV_REINSTATE)
			st = SM_STATUS_ACTIVE;
	return st;
}

/* An id a row brings: of this registry's form, written as the registry writes it, its year the registration's. */
static int check_row_id(const sm_cert *c, sm_err *err)
{
	char q[40], canon[SM_ID_MAX + 1], date[11];
	sm_err_quote(q, sizeof(q), c->id, strlen(c->id));
	uint32_t serial = sm_store_id_serial(c->id);
	bool ok = sm_check_id(c->id, NULL) == 0 && serial != 0;
	if (ok) {
		snprintf(canon, sizeof(canon), "SM-%.4s-%06u", c->id + 3, serial);
		ok = strcmp(canon, c->id) == 0;
	}
	sm_date_format(c->registered, date);
	if (!ok)
		return sm_err_set(err, SM_EINVAL, "id", "id '%s' is not an id of this registry (SM-YYYY-NNNNNN, the serial "
				  "without extra leading zeros); a scheme's own registration number goes in scheme_ref", q);
	if (strncmp(c->id + 3, date, 4) != 0)
		return sm_err_set(err, SM_EINVAL, "id", "id %s does not carry the registration year %.4s", c->id, date);
	return 0;
}

/*
 * What a row brings besides the record, checked and put in the form sm_registry_import_many writes: the issue
 * dated (the history's issue time, else the registration date), the first firmware revocation (it revokes every
 * listed version; later ones and amend and renew are in the record already) and every status event, in their
 * order; the status they leave must be the row's. `csv` names the CSV's columns in errors, else "history".
 */
static int plan_row(sm_cert *c, int64_t now, bool csv, sm_err *err)
{
	sm_history *h = c->history, *keep = calloc(c->nhistory + 1, sizeof(*keep));
	size_t n = c->nhistory, nk = 0;
	bool fw = false;
	int rc = keep ? 0 : SM_ENOMEM;
	if (!rc && c->id[0])
		rc = check_row_id(c, err);
	for (size_t i = 0; i < n && !rc; i++)
		if (h[i].type == SM_EV_ISSUE && nk == 0)
			keep[nk++] = h[i];
	if (!rc && nk == 0 && (int64_t)c->registered * 86400 <= now)
		keep[nk++] = (sm_history){ SM_EV_ISSUE, (int64_t)c->registered * 86400, NULL, 0 };
	for (size_t i = 0; i < n && !rc; i++) {
		bool status = h[i].type == SM_EV_SUSPEND || h[i].type == SM_EV_REVOKE || h[i].type == SM_EV_REINSTATE;
		if (status || (h[i].type == SM_EV_FW_REVOKE && !fw)) {
			fw = fw || h[i].type == SM_EV_FW_REVOKE;
			keep[nk++] = h[i];
			h[i].reason = NULL; /* moved */
		}
	}
	for (size_t i = 0; i < nk && !rc; i++)
		if (keep[i].at > now) {
			char when[21];
			sm_time_format(keep[i].at, when);
			rc = sm_err_set(err, SM_EINVAL, !csv ? "history.at" : keep[i].type == SM_EV_FW_REVOKE ? "firmware_revoked_date"
				       : "status_date", "the %s is dated %s, after the time of the import",
					sm_event_name(keep[i].type), when);
		}
	if (!rc && c->nrevoked && !fw)
		rc = sm_err_set(err, SM_EINVAL, csv ? "firmware_revoked_reason" : "history", "revoked firmware needs its "
				"firmware-revoke event (why and when)");
	if (!rc && fw && !c->nrevoked)
		rc = sm_err_set(err, SM_EINVAL, csv ? "firmware_revoked" : "firmware.revoked", "a firmware revocation "
				"without the versions revoked");
	if (!rc && c->status == 3) { /* expired: active, past its expiry */
		char d[11] = "none";
		if (c->expires != SM_DATE_NONE)
			sm_date_format(c->expires, d);
		if (!sm_cert_expired(c, sm_date_from_time(now)))
			rc = sm_err_set(err, SM_EINVAL, "status", "status is expired, but the expiry is %s", d);
		c->status = SM_STATUS_ACTIVE;
	}
	if (rc) {
		for (size_t i = 0; i < nk; i++)
			if (keep[i].type != SM_EV_ISSUE)
				free(keep[i].reason);
		free(keep);
		return rc == SM_ENOMEM ? sm_err_set(err, rc, NULL, "out of memory") : rc;
	}
	for (size_t i = 0; i < n; i++)
		free(h[i].reason);
	free(h);
	keep[0].reason = keep[0].type == SM_EV_ISSUE ? NULL : keep[0].reason;
	c->history = keep;
	c->nhistory = nk;
	if (history_status(c) != c->status)
		return sm_err_set(err, SM_EINVAL, csv ? "status" : "history", "status is %s, but %s", sm_cert_status_name(c, 0),
				  csv ? "status_reason and status_date are needed" : "no event of the history set it");
	return 0;
}

/* Validate a parsed row and keep it, or report it. */
static int take_row(sm_registry *r, drafts *d, sm_import_report *rep, sm_cert *c, size_t line, int64_t now, bool csv)
{
	sm_err e = { 0 };
	if (sm_registry_validate_draft(r, c, now, &e) || plan_row(c, now, csv, &e) || sm_registry_check_history(c, now, &e)) {
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
					  "requirements, url, and for a migration id, scheme_ref, status, status_reason, "
					  "status_date, firmware_revoked, firmware_revoked_reason, firmware_revoked_date)", line, q);
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
		unsigned warn = 0;
		if (csv_row_to_cert(map, f, nf, &c, &warn, &e)) {
			add_error(rep, line, &e);
			continue;
		}
		for (int col = 0; col < C_COUNT; col++)
			if (warn & (1u << col))
				add_warning(rep, line, col_names[col], f[map[col]]);
		rc = take_row(r, d, rep, c, line, now, true);
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
		rc = take_row(r, d, rep, c, line, now, false);
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

typedef struct serial_row {
	uint32_t serial;
	size_t draft;
} serial_row;

static int serial_cmp(const void *a, const void *b)
{
	const serial_row *x = a, *y = b;
	if (x->serial != y->serial)
		return (x->serial > y->serial) - (x->serial < y->serial);
	return (x->draft > y->draft) - (x->draft < y->draft);
}

/* Rows keeping ids: a serial given twice is the later row's error. SM_ENOMEM. */
static int mark_same_serials(drafts *d, bool *bad, sm_import_report *rep)
{
	serial_row *v = d->n ? malloc(d->n * sizeof(*v)) : NULL;
	size_t n = 0;
	if (d->n && !v)
		return SM_ENOMEM;
	for (size_t i = 0; i < d->n; i++)
		if (d->v[i]->id[0])
			v[n++] = (serial_row){ sm_store_id_serial(d->v[i]->id), i };
	if (n)
		qsort(v, n, sizeof(*v), serial_cmp);
	for (size_t i = 1; i < n; i++)
		if (v[i].serial == v[i - 1].serial && !bad[v[i].draft]) {
			sm_err e = { 0 };
			sm_err_set(&e, SM_EEXIST, "id", "id %s: its serial is the one of %s on line %zu", d->v[v[i].draft]->id,
				   d->v[v[i - 1].draft]->id, d->line[v[i - 1].draft]);
			add_error(rep, d->line[v[i].draft], &e);
			bad[v[i].draft] = true;
		}
	free(v);
	return 0;
}

static int mark_duplicates(sm_registry *r, drafts *d, bool *bad, sm_import_report *rep, sm_err *err)
{
	int rc = 0;
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
	/* ids kept by an import: each serial once in the file */
	if ((rc = mark_same_serials(d, bad, rep)))
		return sm_err_set(err, rc, NULL, "out of memory");
	/* and against the registry */
	sm_txn *t = NULL;
	rc = sm_store_begin(r->store, false, &t, err);
	for (size_t i = 0; i < d->n && !rc; i++) {
		if (bad[i])
			continue;
		sm_err e = { 0 };
		char held[SM_ID_MAX + 1];
		int drc = d->v[i]->id[0] ? sm_store_serial_id(t, sm_store_id_serial(d->v[i]->id), held) : SM_ENOTFOUND;
		if (drc == 0) {
			char q[SM_SHOWN_ID];
			sm_err_set(&e, SM_EEXIST, "id", "id %s: its serial is used already, by %s", d->v[i]->id,
				   sm_shown_id(q, held));
			add_error(rep, d->line[i], &e);
			bad[i] = true;
			continue;
		}
		if (drc != SM_ENOTFOUND) {
			rc = sm_err_set(err, drc, NULL, "cannot read the serial index: %s", sm_strerror(drc));
			break;
		}
		drc = sm_registry_find_duplicate(t, d->v[i], &e);
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
	rep->warnings = calloc(SM_IMPORT_MAX_ERRORS, sizeof(*rep->warnings));
	if (!rep->errors || !rep->warnings)
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
		rc = sm_err_set(err, SM_EINVAL, "file", "%zu of %zu %s bad; nothing was imported (--skip-bad imports "
				"the good rows)", rep->bad, rep->rows,
				rep->rows == 1 ? "row is" : rep->bad == 1 ? "rows is" : "rows are");
		goto out;
	}
	size_t ng = 0;
	for (size_t i = 0; i < d.n; i++)
		if (!bad[i])
			good[ng++] = d.v[i];
	if (ng == 0)
		goto out;
	if ((rc = sm_registry_import_many(r, good, ng, now, progress, pctx, err))) {
		/* a storage failure: nothing was written */
		goto out;
	}
	rep->imported = ng;
	for (size_t i = 0; i < ng; i++) {
		rep->events++;
		for (size_t h = 0; h < good[i]->nhistory; h++)
			rep->events += good[i]->history[h].type != SM_EV_ISSUE;
	}
	snprintf(rep->first_id, sizeof(rep->first_id), "%s", good[0]->id);
	snprintf(rep->last_id, sizeof(rep->last_id), "%s", good[ng - 1]->id);
	/* "first .. last" says every id between: only for consecutive serials of one year ("SM-YYYY-") */
	for (size_t i = 0; i < ng; i++) {
		const char *id = good[i]->id;
		bool more = i > 0 && strncmp(id, good[i - 1]->id, 8) == 0 &&
			    sm_store_id_serial(id) == sm_store_id_serial(good[i - 1]->id) + 1;
		if (!more)
			rep->nruns++;
		if (rep->nruns > SM_IMPORT_RUNS_MAX)
			continue;
		struct sm_id_run *run = &rep->runs[rep->nruns - 1];
		if (!more)
			snprintf(run->first, sizeof(run->first), "%s", id);
		snprintf(run->last, sizeof(run->last), "%s", id);
		run->n++;
	}
out:
	free(good);
	free(bad);
	drafts_free(&d);
	return rc;
}

void sm_import_report_cleanup(sm_import_report *rep)
{
	free(rep->errors);
	free(rep->warnings);
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
	if (quote)
		rc = sm_buf_append(b, "\"", 1);
	if (!rc && needs_neutral(s))
		rc = sm_buf_append(b, "'", 1);
	if (quote && !rc) {
		for (const char *p = s; *p && !rc; p++)
			rc = *p == '"' ? sm_buf_append(b, "\"\"", 2) : sm_buf_append(b, p, 1);
		if (!rc)
			rc = sm_buf_append(b, "\"", 1);
	} else if (!rc) {
		rc = sm_buf_puts(b, s);
	}
	return rc ? rc : sm_buf_append(b, last ? "\r\n" : ",", last ? 2 : 1);
}

/* A history time as the CSV writes it: the day alone at 00:00:00 UTC (a migrated list's dates), else the time. */
static void when_format(int64_t t, char out[21])
{
	if (t % 86400 == 0)
		sm_date_format(sm_date_from_time(t), out);
	else
		sm_time_format(t, out);
}

/* The event that set the certificate's status (the last suspend or revoke) and its first firmware revocation. */
static void history_columns(const sm_cert *c, const sm_history **status, const sm_history **fw)
{
	*status = *fw = NULL;
	for (size_t i = 0; i < c->nhistory; i++) {
		const sm_history *h = &c->history[i];
		if ((h->type == SM_EV_SUSPEND && c->status == SM_STATUS_SUSPENDED) ||
		    (h->type == SM_EV_REVOKE && c->status == SM_STATUS_REVOKED))
			*status = h;
		if (h->type == SM_EV_FW_REVOKE && !*fw)
			*fw = h;
	}
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
		char level[4], reg[11], exp[11], sup[11], sdate[21] = "", fdate[21] = "";
		const sm_history *st, *fw;
		sm_buf models = SM_BUF_INIT, revoked = SM_BUF_INIT;
		history_columns(c, &st, &fw);
		if (st)
			when_format(st->at, sdate);
		if (fw && c->nrevoked)
			when_format(fw->at, fdate);
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
				       c->requirements, c->url, c->scheme_ref, st ? st->reason : NULL, sdate,
				       fw && c->nrevoked ? fw->reason : NULL, fdate };
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
		/* the migration's columns after the first release's, so that a reader by position still reads those */
		const char *hdr = "id,status,vendor,vendor_name,product,models,level,firmware,firmware_revoked,category,"
				  "registered,expires,support_end,requirements,url,scheme_ref,status_reason,status_date,"
				  "firmware_revoked_reason,firmware_revoked_date\r\n";
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
