/* SPDX-License-Identifier: Apache-2.0 */
/* Certification records and events: validation, the state machine, memory. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "starmark/codec.h"
#include "starmark/record.h"
#include "starmark/version.h"

/* ---- dates: days since 1970-01-01 in the proleptic Gregorian calendar ---- */

static int32_t days_from_civil(int y, unsigned m, unsigned d)
{
	y -= m <= 2;
	const int era = (y >= 0 ? y : y - 399) / 400;
	const unsigned yoe = (unsigned)(y - era * 400);
	const unsigned doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
	const unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
	return era * 146097 + (int32_t)doe - 719468;
}

static void civil_from_days(int32_t days, int *y, unsigned *m, unsigned *d)
{
	/* 64-bit: any int32 day (INT32_MAX from a far-future time) stays in range */
	const int64_t z = (int64_t)days + 719468;
	const int64_t era = (z >= 0 ? z : z - 146096) / 146097;
	const unsigned doe = (unsigned)(z - era * 146097);
	const unsigned yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
	const unsigned doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
	const unsigned mp = (5 * doy + 2) / 153;
	*d = doy - (153 * mp + 2) / 5 + 1;
	*m = mp < 10 ? mp + 3 : mp - 9;
	*y = (int)((int64_t)yoe + era * 400 + (*m <= 2));
}

static unsigned days_in_month(int y, unsigned m)
{
	static const unsigned dm[] = { 31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31 };
	bool leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
	return m == 2 && leap ? 29 : dm[m - 1];
}

static bool digits(const char *s, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (s[i] < '0' || s[i] > '9')
			return false;
	return true;
}

static unsigned num(const char *s, size_t n)
{
	unsigned v = 0;
	for (size_t i = 0; i < n; i++)
		v = v * 10 + (unsigned)(s[i] - '0');
	return v;
}

int sm_date_parse(const char *s, bool allow_month, const char *field, sm_date *out, sm_err *err)
{
	char q[48];
	size_t len = strlen(s);
	sm_err_quote(q, sizeof(q), s, len);
	bool month_only = len == 7;
	if (!((len == 10 && s[7] == '-') || (allow_month && month_only)) || s[4] != '-' || !digits(s, 4) ||
	    !digits(s + 5, 2) || (len == 10 && !digits(s + 8, 2)))
		return sm_err_set(err, SM_EINVAL, field, "%s: '%s' is not a date (YYYY-MM-DD%s)", field, q,
				  allow_month ? " or YYYY-MM" : "");
	int y = (int)num(s, 4);
	unsigned m = num(s + 5, 2);
	if (y < 1970 || m < 1 || m > 12)
		return sm_err_set(err, SM_EINVAL, field, "%s: '%s' is not a real date", field, q);
	unsigned d = month_only ? days_in_month(y, m) : num(s + 8, 2);
	if (d < 1 || d > days_in_month(y, m))
		return sm_err_set(err, SM_EINVAL, field, "%s: '%s' is not a real date", field, q);
	*out = days_from_civil(y, m, d);
	return 0;
}

void sm_date_format(sm_date dt, char out[11])
{
	int y;
	unsigned m, d;
	civil_from_days(dt, &y, &m, &d);
	/* years are 1970..9999, so the text is always 10 characters */
	if (y < 0 || y > 9999)
		y = 9999;
	out[0] = (char)('0' + y / 1000);
	out[1] = (char)('0' + y / 100 % 10);
	out[2] = (char)('0' + y / 10 % 10);
	out[3] = (char)('0' + y % 10);
	out[4] = '-';
	out[5] = (char)('0' + m / 10);
	out[6] = (char)('0' + m % 10);
	out[7] = '-';
	out[8] = (char)('0' + d / 10);
	out[9] = (char)('0' + d % 10);
	out[10] = '\0';
}

sm_date sm_date_from_time(int64_t t)
{
	/* floor division without negating t (-INT64_MIN overflows); clamped to what sm_date holds */
	int64_t days = t / 86400 - (t % 86400 < 0);
	if (days <= INT32_MIN)
		return INT32_MIN + 1;
	if (days > INT32_MAX)
		return INT32_MAX;
	return (sm_date)days;
}

/* ---- names ---- */

static const char *const event_names[] = {
	[SM_EV_ISSUE] = "issue", [SM_EV_AMEND] = "amend", [SM_EV_FW_REVOKE] = "firmware-revoke",
	[SM_EV_SUSPEND] = "suspend", [SM_EV_REVOKE] = "revoke", [SM_EV_REINSTATE] = "reinstate",
	[SM_EV_RENEW] = "renew",
};

const char *sm_event_name(int type)
{
	if (type < SM_EV_ISSUE || type > SM_EV_RENEW)
		return NULL;
	return event_names[type];
}

int sm_event_from_name(const char *name)
{
	for (int t = SM_EV_ISSUE; t <= SM_EV_RENEW; t++)
		if (strcmp(event_names[t], name) == 0)
			return t;
	return 0;
}

static const char *const status_names[] = { "active", "suspended", "revoked", "expired" };

bool sm_cert_expired(const sm_cert *c, sm_date today)
{
	return c->expires != SM_DATE_NONE && today > c->expires;
}

const char *sm_cert_status_name(const sm_cert *c, sm_date today)
{
	if (c->status == SM_STATUS_ACTIVE && sm_cert_expired(c, today))
		return status_names[3];
	return status_names[c->status];
}

int sm_status_from_name(const char *s)
{
	for (int i = 0; i < 4; i++)
		if (strcmp(s, status_names[i]) == 0)
			return i;
	return -1;
}

/* ---- memory ---- */

static void free_strv(char **v, size_t n)
{
	for (size_t i = 0; i < n; i++)
		free(v[i]);
	free(v);
}

sm_cert *sm_cert_new(void)
{
	sm_cert *c = calloc(1, sizeof(*c));
	if (!c)
		return NULL;
	c->registered = c->expires = c->support_end = SM_DATE_NONE;
	return c;
}

void sm_cert_free(sm_cert *c)
{
	if (!c)
		return;
	free(c->vendor_name);
	free(c->product);
	free_strv(c->models, c->nmodels);
	free(c->category);
	free(c->firmware);
	free_strv(c->revoked, c->nrevoked);
	free(c->requirements);
	free(c->url);
	free(c->scheme_ref);
	for (size_t i = 0; i < c->nhistory; i++)
		free(c->history[i].reason);
	free(c->history);
	free(c);
}

static int dup_str(char **dst, const char *src)
{
	*dst = NULL;
	if (!src)
		return 0;
	*dst = strdup(src);
	return *dst ? 0 : SM_ENOMEM;
}

static int dup_strv(char ***dst, const char *const *src, size_t n)
{
	*dst = NULL;
	if (n == 0)
		return 0;
	char **v = calloc(n, sizeof(*v));
	if (!v)
		return SM_ENOMEM;
	for (size_t i = 0; i < n; i++) {
		if (dup_str(&v[i], src[i])) {
			free_strv(v, i);
			return SM_ENOMEM;
		}
	}
	*dst = v;
	return 0;
}

sm_cert *sm_cert_dup(const sm_cert *c)
{
	sm_cert *d = calloc(1, sizeof(*d));
	if (!d)
		return NULL;
	*d = *c;
	d->vendor_name = d->product = d->category = d->firmware = d->requirements = d->url = d->scheme_ref = NULL;
	d->models = d->revoked = NULL;
	d->history = NULL;
	d->nmodels = d->nrevoked = d->nhistory = 0;
	if (dup_str(&d->vendor_name, c->vendor_name) || dup_str(&d->product, c->product) ||
	    dup_str(&d->category, c->category) || dup_str(&d->firmware, c->firmware) ||
	    dup_str(&d->requirements, c->requirements) || dup_str(&d->url, c->url) ||
	    dup_str(&d->scheme_ref, c->scheme_ref))
		goto fail;
	if (dup_strv(&d->models, (const char *const *)c->models, c->nmodels))
		goto fail;
	d->nmodels = c->nmodels;
	if (dup_strv(&d->revoked, (const char *const *)c->revoked, c->nrevoked))
		goto fail;
	d->nrevoked = c->nrevoked;
	if (c->nhistory) {
		d->history = calloc(c->nhistory, sizeof(*d->history));
		if (!d->history)
			goto fail;
		for (size_t i = 0; i < c->nhistory; i++) {
			d->history[i] = c->history[i];
			d->history[i].reason = NULL;
			d->nhistory = i + 1;
			if (dup_str(&d->history[i].reason, c->history[i].reason))
				goto fail;
		}
	}
	return d;
fail:
	sm_cert_free(d);
	return NULL;
}

sm_event *sm_event_new(int type)
{
	sm_event *e = calloc(1, sizeof(*e));
	if (!e)
		return NULL;
	e->type = type;
	e->effective = SM_TIME_NONE;
	e->expires = e->support_end = SM_DATE_NONE;
	return e;
}

void sm_event_free(sm_event *e)
{
	if (!e)
		return;
	free(e->reason);
	sm_cert_free(e->cert);
	free_strv(e->models, e->nmodels);
	free(e->firmware);
	free_strv(e->versions, e->nversions);
	free(e->requirements);
	free(e->url);
	free(e);
}

/* ---- validation ---- */

bool sm_utf8_printable(const char *str, size_t n)
{
	const uint8_t *s = (const uint8_t *)str;
	uint32_t cp;
	for (size_t i = 0; i < n;) {
		if (!sm_utf8_next(s, n, &i, &cp))
			return false;
		/* C0 and C1 controls, DEL, and the line/paragraph separators */
		if (cp < 0x20 || (cp >= 0x7f && cp < 0xA0) || cp == 0x2028 || cp == 0x2029)
			return false;
	}
	return true;
}

int sm_check_text(const char *s, size_t max, const char *field, sm_err *err)
{
	char q[64];
	if (!s || !*s)
		return sm_err_set(err, SM_EINVAL, field, "%s is required and must not be empty", field);
	size_t n = strlen(s);
	sm_err_quote(q, sizeof(q), s, n);
	if (n > max)
		return sm_err_set(err, SM_EINVAL, field, "%s: '%s' is %zu bytes, at most %zu are allowed", field, q, n,
				  max);
	if (!sm_utf8_printable(s, n))
		return sm_err_set(err, SM_EINVAL, field, "%s: '%s' is not UTF-8 text without control characters",
				  field, q);
	if (s[0] == ' ' || s[n - 1] == ' ')
		return sm_err_set(err, SM_EINVAL, field, "%s: '%s' has leading or trailing spaces", field, q);
	return 0;
}

int sm_check_id(const char *id, sm_err *err)
{
	char q[40];
	size_t n = id ? strlen(id) : 0;
	/* "SM-" YYYY "-" serial: 6 to 9 digits (registry.c next_id) */
	bool ok = n >= 14 && n <= 17 && strncmp(id, "SM-", 3) == 0 && id[7] == '-';
	for (size_t i = 3; ok && i < n; i++)
		ok = i == 7 || (id[i] >= '0' && id[i] <= '9');
	if (ok)
		return 0;
	sm_err_quote(q, sizeof(q), id ? id : "", n);
	return sm_err_set(err, SM_EINVAL, "id", "'%s' is not a certificate id (SM-YYYY-NNNNNN)", q);
}

int sm_check_vendor(const char *v, sm_err *err)
{
	char q[40];
	size_t n = v ? strlen(v) : 0;
	if (n == 0)
		return sm_err_set(err, SM_EINVAL, "vendor", "vendor code is required");
	sm_err_quote(q, sizeof(q), v, n);
	bool ok = n <= SM_VENDOR_MAX && ((v[0] >= 'A' && v[0] <= 'Z') || (v[0] >= '0' && v[0] <= '9'));
	for (size_t i = 1; ok && i < n; i++)
		ok = (v[i] >= 'A' && v[i] <= 'Z') || (v[i] >= '0' && v[i] <= '9') || v[i] == '-';
	if (!ok)
		return sm_err_set(err, SM_EINVAL, "vendor",
				  "vendor code '%s' must be 1-16 of A-Z, 0-9 and '-', starting with a letter or digit", q);
	return 0;
}

int sm_check_model(const char *m, const char *field, sm_err *err)
{
	int rc = sm_check_text(m, SM_MODEL_MAX, field, err);
	if (rc)
		return rc;
	if (strchr(m, ';')) {
		char q[80];
		sm_err_quote(q, sizeof(q), m, strlen(m));
		return sm_err_set(err, SM_EINVAL, field, "%s: '%s' contains ';', which separates model numbers", field, q);
	}
	return 0;
}

static int check_token(const char *s, size_t max, const char *field, const char *what, bool lower_only, sm_err *err)
{
	char q[64];
	size_t n = strlen(s);
	sm_err_quote(q, sizeof(q), s, n);
	bool ok = n >= 1 && n <= max;
	for (size_t i = 0; ok && i < n; i++) {
		char c = s[i];
		bool alnum = (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || (!lower_only && c >= 'A' && c <= 'Z');
		ok = alnum || (i > 0 && (c == '-' || (!lower_only && (c == '.' || c == '_'))));
	}
	if (!ok)
		return sm_err_set(err, SM_EINVAL, field, "%s '%s' must be %s, at most %zu characters", field, q, what, max);
	return 0;
}

int sm_check_category(const char *s, sm_err *err)
{
	return check_token(s, SM_CATEGORY_MAX, "category", "lower-case letters, digits and '-' (e.g. water-heater)",
			   true, err);
}

int sm_check_requirements(const char *s, sm_err *err)
{
	return check_token(s, SM_REQUIREMENTS_MAX, "requirements", "letters, digits, '.', '_' and '-' (e.g. 2024.1)",
			   false, err);
}

int sm_check_url(const char *s, sm_err *err)
{
	char q[80];
	size_t n = strlen(s);
	sm_err_quote(q, sizeof(q), s, n);
	if (n > SM_URL_MAX)
		return sm_err_set(err, SM_EINVAL, "url", "url is %zu bytes, at most %d are allowed", n, SM_URL_MAX);
	size_t scheme = strncmp(s, "https://", 8) == 0 ? 8 : strncmp(s, "http://", 7) == 0 ? 7 : 0;
	if (!scheme)
		return sm_err_set(err, SM_EINVAL, "url", "url '%s' must start with https:// or http://", q);
	if (!s[scheme] || s[scheme] == '/' || s[scheme] == '?' || s[scheme] == '#')
		return sm_err_set(err, SM_EINVAL, "url", "url '%s' has no host", q);
	for (size_t i = 0; i < n; i++)
		if ((unsigned char)s[i] <= 0x20 || (unsigned char)s[i] >= 0x7f)
			return sm_err_set(err, SM_EINVAL, "url", "url '%s' has a space or non-ASCII byte at %zu", q, i);
	return 0;
}

int sm_check_scheme_ref(const char *s, sm_err *err)
{
	return sm_check_text(s, SM_SCHEME_REF_MAX, "scheme_ref", err);
}

static int check_models(char *const *models, size_t n, const char *field, sm_err *err)
{
	char name[32];
	for (size_t i = 0; i < n; i++) {
		snprintf(name, sizeof(name), "%s[%zu]", field, i);
		int rc = sm_check_model(models[i], name, err);
		if (rc)
			return rc;
		for (size_t j = 0; j < i; j++)
			if (strcmp(models[i], models[j]) == 0)
				return sm_err_set(err, SM_EINVAL, name, "model number '%s' is given twice", models[i]);
	}
	return 0;
}

/* Re-write a firmware spec in canonical form (the stored text is always canonical). */
static int canonical_fwspec(char **spec, sm_err *err)
{
	sm_fwspec *s = NULL;
	int rc = sm_fwspec_parse(*spec, &s, err);
	if (rc)
		return rc;
	char *canon = sm_fwspec_format(s);
	sm_fwspec_free(s);
	if (!canon)
		return SM_ENOMEM;
	free(*spec);
	*spec = canon;
	return 0;
}

int sm_cert_validate(sm_cert *c, int levels, sm_err *err)
{
	int rc;
	if ((rc = sm_check_vendor(c->vendor, err)) || (rc = sm_check_text(c->vendor_name, SM_NAME_MAX, "vendor_name", err)) ||
	    (rc = sm_check_text(c->product, SM_NAME_MAX, "product", err)))
		return rc;
	if (c->nmodels == 0)
		return sm_err_set(err, SM_EINVAL, "models", "at least one model number is required");
	if (c->nmodels > SM_MODELS_MAX)
		return sm_err_set(err, SM_EINVAL, "models", "%zu model numbers, at most %d are allowed", c->nmodels,
				  SM_MODELS_MAX);
	if ((rc = check_models(c->models, c->nmodels, "models", err)))
		return rc;
	if (c->level < 1 || c->level > levels)
		return sm_err_set(err, SM_EINVAL, "level", "level %d is not a level of this scheme (1..%d)", c->level,
				  levels);
	if (c->category && (rc = sm_check_category(c->category, err)))
		return rc;
	if (!c->firmware)
		return sm_err_set(err, SM_EINVAL, "firmware", "firmware coverage is required (e.g. \">=1.0 <2.0\")");
	if ((rc = canonical_fwspec(&c->firmware, err)))
		return rc;
	if (c->registered == SM_DATE_NONE)
		return sm_err_set(err, SM_EINVAL, "registered", "registration date is required");
	char a[11], b[11];
	sm_date_format(c->registered, a);
	if (c->expires != SM_DATE_NONE && c->expires <= c->registered) {
		sm_date_format(c->expires, b);
		return sm_err_set(err, SM_EINVAL, "expires", "expiry %s is not after the registration date %s", b, a);
	}
	if (c->support_end != SM_DATE_NONE && c->support_end < c->registered) {
		sm_date_format(c->support_end, b);
		return sm_err_set(err, SM_EINVAL, "support_end", "support end %s is before the registration date %s", b, a);
	}
	if (c->requirements && (rc = sm_check_requirements(c->requirements, err)))
		return rc;
	if (c->url && (rc = sm_check_url(c->url, err)))
		return rc;
	if (c->scheme_ref && (rc = sm_check_scheme_ref(c->scheme_ref, err)))
		return rc;
	return 0;
}

static bool needs_reason(int type)
{
	return type == SM_EV_FW_REVOKE || type == SM_EV_SUSPEND || type == SM_EV_REVOKE || type == SM_EV_REINSTATE;
}

int sm_event_validate(const sm_event *e, sm_err *err)
{
	int rc;
	if (!sm_event_name(e->type))
		return sm_err_set(err, SM_EINVAL, "event", "unknown event type %d", e->type);
	if (e->reason && (rc = sm_check_text(e->reason, SM_REASON_MAX, "reason", err)))
		return rc;
	if (needs_reason(e->type) && !e->reason)
		return sm_err_set(err, SM_EINVAL, "reason", "%s needs a reason: why it is done, kept in the log", sm_event_name(e->type));
	if (e->effective != SM_TIME_NONE && (e->effective < 0 || e->effective > e->at))
		return sm_err_set(err, SM_EINVAL, "effective", "%s: the time it took effect is not between 1970 and the time "
				  "it is recorded", sm_event_name(e->type));
	switch (e->type) {
	case SM_EV_ISSUE:
		if (!e->cert)
			return sm_err_set(err, SM_EINVAL, "event", "issue without a record");
		break;
	case SM_EV_AMEND:
		if (!e->nmodels && !e->firmware && e->support_end == SM_DATE_NONE && !e->url)
			return sm_err_set(err, SM_EINVAL, "amend",
					  "amend needs something to change: a model, firmware, support end or url");
		if (e->nmodels > SM_MODELS_MAX)
			return sm_err_set(err, SM_EINVAL, "add_models", "too many model numbers (%zu)", e->nmodels);
		if ((rc = check_models(e->models, e->nmodels, "add_models", err)))
			return rc;
		if (e->firmware) {
			sm_fwspec *s = NULL;
			if ((rc = sm_fwspec_parse(e->firmware, &s, err)))
				return rc;
			sm_fwspec_free(s);
		}
		if (e->url && (rc = sm_check_url(e->url, err)))
			return rc;
		break;
	case SM_EV_FW_REVOKE:
		if (e->nversions == 0)
			return sm_err_set(err, SM_EINVAL, "versions", "firmware-revoke needs at least one version");
		if (e->nversions > SM_REVOKED_MAX)
			return sm_err_set(err, SM_EINVAL, "versions", "too many versions (%zu)", e->nversions);
		for (size_t i = 0; i < e->nversions; i++)
			if ((rc = sm_version_validate(e->versions[i], err)))
				return rc;
		break;
	case SM_EV_RENEW:
		if (e->expires == SM_DATE_NONE)
			return sm_err_set(err, SM_EINVAL, "expires", "renew needs a new expiry date (expires)");
		if (e->requirements && (rc = sm_check_requirements(e->requirements, err)))
			return rc;
		break;
	default:
		break;
	}
	return 0;
}

/* ---- the state machine ---- */

static int refuse(sm_err *err, const sm_cert *s, const sm_event *e, const char *why)
{
	return sm_err_set(err, SM_ESTATE, "event", "cannot %s %s: %s", sm_event_name(e->type), s->id, why);
}

static bool has_str(char *const *v, size_t n, const char *s)
{
	for (size_t i = 0; i < n; i++)
		if (strcmp(v[i], s) == 0)
			return true;
	return false;
}

/* Revoked versions compare as versions (sm_version_compare == 0), as verdicts do: "1.00" is "1.0". */
static bool has_version(char *const *v, size_t n, const char *s)
{
	for (size_t i = 0; i < n; i++)
		if (sm_version_compare(v[i], s) == 0)
			return true;
	return false;
}

static int push_str(char ***v, size_t *n, const char *s)
{
	char **nv = realloc(*v, (*n + 1) * sizeof(**v));
	if (!nv)
		return SM_ENOMEM;
	*v = nv;
	if (!(nv[*n] = strdup(s)))
		return SM_ENOMEM;
	(*n)++;
	return 0;
}

static int push_history(sm_cert *s, const sm_event *e, uint64_t index)
{
	if (s->nhistory >= SM_HISTORY_MAX)
		return SM_ETOOBIG;
	sm_history *h = realloc(s->history, (s->nhistory + 1) * sizeof(*h));
	if (!h)
		return SM_ENOMEM;
	s->history = h;
	sm_history *n = &h[s->nhistory];
	n->type = e->type;
	/* history moved in by an import shows when it happened, not when it was recorded */
	n->at = e->effective != SM_TIME_NONE ? e->effective : e->at;
	n->index = index;
	n->reason = NULL;
	if (dup_str(&n->reason, e->reason))
		return SM_ENOMEM;
	s->nhistory++;
	return 0;
}

/* Check an event against a state without changing it; the messages name the certificate. */
static int check_transition(const sm_cert *s, const sm_event *e, sm_err *err)
{
	if (e->type == SM_EV_ISSUE && !e->cert)
		return sm_err_set(err, SM_EINVAL, "event", "issue without a record");
	if (e->type == SM_EV_ISSUE)
		return s->id[0] ? refuse(err, s, e, "it exists already") : 0;
	if (s->status == SM_STATUS_REVOKED)
		return refuse(err, s, e, "it is revoked, and revocation is final");
	char a[11], b[11];
	switch (e->type) {
	case SM_EV_AMEND:
		if (s->nmodels + e->nmodels > SM_MODELS_MAX)
			return refuse(err, s, e, "it would have more than 64 model numbers");
		for (size_t i = 0; i < e->nmodels; i++)
			if (has_str(s->models, s->nmodels, e->models[i]))
				return sm_err_set(err, SM_ESTATE, "add_models", "model %s is already on %s", e->models[i],
						  s->id);
		if (e->support_end != SM_DATE_NONE && e->support_end < s->registered)
			return refuse(err, s, e, "the support end is before the registration date");
		return 0;
	case SM_EV_FW_REVOKE: {
		sm_fwspec *spec = NULL;
		int rc = sm_fwspec_parse(s->firmware, &spec, err);
		if (rc)
			return rc;
		size_t fresh = 0;
		for (size_t i = 0; i < e->nversions && !rc; i++) {
			if (!sm_fwspec_covers(spec, e->versions[i]))
				rc = sm_err_set(err, SM_ESTATE, "versions", "firmware %s is not covered by %s (%s)",
						e->versions[i], s->id, s->firmware);
			else if (!has_version(s->revoked, s->nrevoked, e->versions[i]) &&
				 !has_version(e->versions, i, e->versions[i]))
				fresh++;
		}
		sm_fwspec_free(spec);
		if (rc)
			return rc;
		if (fresh == 0)
			return refuse(err, s, e, "every version given is revoked already");
		if (s->nrevoked + fresh > SM_REVOKED_MAX)
			return refuse(err, s, e, "it would have more than 256 revoked versions");
		return 0;
	}
	case SM_EV_SUSPEND:
		return s->status == SM_STATUS_SUSPENDED ? refuse(err, s, e, "it is suspended already") : 0;
	case SM_EV_REVOKE:
		return 0;
	case SM_EV_REINSTATE:
		return s->status != SM_STATUS_SUSPENDED ? refuse(err, s, e, "only a suspended certificate can be reinstated")
							: 0;
	case SM_EV_RENEW:
		sm_date_format(e->expires, a);
		if (s->expires != SM_DATE_NONE && e->expires <= s->expires) {
			sm_date_format(s->expires, b);
			return sm_err_set(err, SM_ESTATE, "expires", "cannot renew %s: the new expiry %s is not after %s",
					  s->id, a, b);
		}
		if (e->expires <= sm_date_from_time(e->at))
			return sm_err_set(err, SM_ESTATE, "expires", "cannot renew %s: the new expiry %s is not in the future",
					  s->id, a);
		return 0;
	default:
		return sm_err_set(err, SM_EINVAL, "event", "unknown event type %d", e->type);
	}
}

static int apply_changes(sm_cert *s, const sm_event *e)
{
	int rc = 0;
	switch (e->type) {
	case SM_EV_AMEND:
		for (size_t i = 0; i < e->nmodels && !rc; i++)
			rc = push_str(&s->models, &s->nmodels, e->models[i]);
		if (!rc && e->firmware) {
			sm_fwspec *cur = NULL, *add = NULL;
			if (!(rc = sm_fwspec_parse(s->firmware, &cur, NULL)) && !(rc = sm_fwspec_parse(e->firmware, &add, NULL)) &&
			    !(rc = sm_fwspec_merge(cur, add))) {
				char *t = sm_fwspec_format(cur);
				if (t) {
					free(s->firmware);
					s->firmware = t;
				} else {
					rc = SM_ENOMEM;
				}
			}
			sm_fwspec_free(cur);
			sm_fwspec_free(add);
		}
		if (!rc && e->support_end != SM_DATE_NONE)
			s->support_end = e->support_end;
		if (!rc && e->url) {
			free(s->url);
			rc = dup_str(&s->url, e->url);
		}
		break;
	case SM_EV_FW_REVOKE:
		for (size_t i = 0; i < e->nversions && !rc; i++)
			if (!has_version(s->revoked, s->nrevoked, e->versions[i]))
				rc = push_str(&s->revoked, &s->nrevoked, e->versions[i]);
		break;
	case SM_EV_SUSPEND:
		s->status = SM_STATUS_SUSPENDED;
		break;
	case SM_EV_REVOKE:
		s->status = SM_STATUS_REVOKED;
		break;
	case SM_EV_REINSTATE:
		s->status = SM_STATUS_ACTIVE;
		break;
	case SM_EV_RENEW:
		s->expires = e->expires;
		if (e->requirements) {
			free(s->requirements);
			rc = dup_str(&s->requirements, e->requirements);
		}
		break;
	default:
		break;
	}
	return rc;
}

int sm_cert_apply(sm_cert *state, const sm_event *e, uint64_t index, sm_err *err)
{
	int rc = check_transition(state, e, err);
	if (rc)
		return rc;
	/* apply to a copy, so that a failure half-way leaves `state` as it was */
	sm_cert *next = NULL;
	if (e->type == SM_EV_ISSUE) {
		next = sm_cert_dup(e->cert);
		if (next) {
			snprintf(next->id, sizeof(next->id), "%s", e->id);
			next->status = SM_STATUS_ACTIVE;
			free_strv(next->revoked, next->nrevoked);
			next->revoked = NULL;
			next->nrevoked = 0;
			for (size_t i = 0; i < next->nhistory; i++)
				free(next->history[i].reason);
			free(next->history);
			next->history = NULL;
			next->nhistory = 0;
		}
	} else {
		next = sm_cert_dup(state);
	}
	if (!next)
		return sm_err_set(err, SM_ENOMEM, NULL, "out of memory");
	if ((rc = apply_changes(next, e)) || (rc = push_history(next, e, index))) {
		sm_cert_free(next);
		return sm_err_set(err, rc, NULL, "cannot apply %s to %s: %s", sm_event_name(e->type), e->id,
				  sm_strerror(rc));
	}
	/* swap contents: the caller's pointer stays valid */
	sm_cert tmp = *state;
	*state = *next;
	*next = tmp;
	sm_cert_free(next);
	return 0;
}
