/* SPDX-License-Identifier: Apache-2.0 */
/* JSON views of records, verdicts and trust, and the issue body parser. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "starmark/client.h"
#include "starmark/codec.h"
#include "starmark/json.h"

void sm_time_format(int64_t t, char out[21])
{
	char d[11];
	sm_date day = sm_date_from_time(t);
	int64_t s = t - (int64_t)day * 86400;
	unsigned hh = (unsigned)(s / 3600) % 24, mm = (unsigned)(s / 60) % 60, ss = (unsigned)s % 60;
	sm_date_format(day, d);
	memcpy(out, d, 10);
	out[10] = 'T';
	out[11] = (char)('0' + hh / 10);
	out[12] = (char)('0' + hh % 10);
	out[13] = ':';
	out[14] = (char)('0' + mm / 10);
	out[15] = (char)('0' + mm % 10);
	out[16] = ':';
	out[17] = (char)('0' + ss / 10);
	out[18] = (char)('0' + ss % 10);
	out[19] = 'Z';
	out[20] = '\0';
}

static json_t *date_or_null(sm_date d)
{
	if (d == SM_DATE_NONE)
		return json_null();
	char b[11];
	sm_date_format(d, b);
	return json_string(b);
}

static json_t *str_or_null(const char *s)
{
	return s ? json_string(s) : json_null();
}

static json_t *strv(char *const *v, size_t n)
{
	json_t *a = json_array();
	for (size_t i = 0; a && i < n; i++)
		json_array_append_new(a, json_string(v[i]));
	return a;
}

json_t *sm_cert_to_json(const sm_cert *c, sm_date today)
{
	json_t *j = json_object();
	if (!j)
		return NULL;
	json_object_set_new(j, "id", json_string(c->id));
	json_object_set_new(j, "scheme", json_string(c->scheme));
	/* what a statement or snapshot does not carry is left out: null would say "none" */
	if (!c->facts_only)
		json_object_set_new(j, "scheme_ref", str_or_null(c->scheme_ref));
	json_object_set_new(j, "level", json_integer(c->level));
	json_object_set_new(j, "vendor", json_pack("{s:s, s:s}", "code", c->vendor, "name", c->vendor_name));
	json_object_set_new(j, "product", json_string(c->product));
	json_object_set_new(j, "models", strv(c->models, c->nmodels));
	json_object_set_new(j, "category", str_or_null(c->category));
	json_object_set_new(j, "firmware",
			    json_pack("{s:s, s:o}", "covered", c->firmware, "revoked", strv(c->revoked, c->nrevoked)));
	json_object_set_new(j, "registered", date_or_null(c->registered));
	json_object_set_new(j, "expires", date_or_null(c->expires));
	json_object_set_new(j, "support_end", date_or_null(c->support_end));
	if (!c->facts_only) {
		json_object_set_new(j, "requirements", str_or_null(c->requirements));
		json_object_set_new(j, "url", str_or_null(c->url));
	}
	json_object_set_new(j, "status", json_string(sm_cert_status_name(c, today)));
	if (c->facts_only)
		return j;
	json_t *h = json_array();
	for (size_t i = 0; h && i < c->nhistory; i++) {
		char at[21];
		sm_time_format(c->history[i].at, at);
		json_array_append_new(h, json_pack("{s:s, s:s, s:o, s:I}", "event", sm_event_name(c->history[i].type), "at",
						   at, "reason", str_or_null(c->history[i].reason), "log_index",
						   (json_int_t)c->history[i].index));
	}
	json_object_set_new(j, "history", h);
	return j;
}

static int want_string(const json_t *v, const char *field, const char **out, sm_err *err)
{
	if (!json_is_string(v))
		return sm_err_set(err, SM_EINVAL, field, "%s must be a string", field);
	if (strlen(json_string_value(v)) != json_string_length(v))
		return sm_err_set(err, SM_EINVAL, field, "%s contains a NUL character", field);
	*out = json_string_value(v);
	return 0;
}

static int opt_dup(const json_t *v, const char *field, char **dst, sm_err *err)
{
	const char *s = NULL;
	if (json_is_null(v))
		return 0;
	int rc = want_string(v, field, &s, err);
	if (rc)
		return rc;
	free(*dst);
	*dst = strdup(s);
	return *dst ? 0 : SM_ENOMEM;
}

static int opt_date(const json_t *v, const char *field, bool allow_month, sm_date *out, sm_err *err)
{
	const char *s = NULL;
	if (json_is_null(v))
		return 0;
	int rc = want_string(v, field, &s, err);
	return rc ? rc : sm_date_parse(s, allow_month, field, out, err);
}

static int unknown_key(const char *key, const char *where, sm_err *err)
{
	char q[40];
	sm_err_quote(q, sizeof(q), key, strlen(key));
	return sm_err_set(err, SM_EINVAL, q, "unknown key '%s'%s", q, where);
}

int sm_history_from_json(const json_t *v, sm_cert *c, sm_err *err)
{
	if (!json_is_array(v) || json_array_size(v) > SM_HISTORY_MAX)
		return sm_err_set(err, SM_EINVAL, "history", "history must be an array of at most %d events",
				  SM_HISTORY_MAX);
	c->history = calloc(json_array_size(v) + 1, sizeof(sm_history));
	if (!c->history)
		return sm_err_set(err, SM_ENOMEM, NULL, "out of memory");
	for (size_t i = 0; i < json_array_size(v); i++) {
		const json_t *e = json_array_get(v, i), *idx = json_object_get(e, "log_index");
		const json_t *reason = json_object_get(e, "reason");
		sm_history *h = &c->history[i];
		const char *ev = json_string_value(json_object_get(e, "event"));
		int rc;
		c->nhistory = i + 1;
		if (!ev || !(h->type = sm_event_from_name(ev)))
			return sm_err_set(err, SM_EINVAL, "history", "history[%zu].event is not an event name", i);
		if ((rc = sm_time_parse(json_string_value(json_object_get(e, "at")), "history.at", &h->at, err)))
			return rc;
		if (reason && !json_is_null(reason) &&
		    (!json_is_string(reason) || json_string_length(reason) > SM_REASON_MAX ||
		     strlen(json_string_value(reason)) != json_string_length(reason)))
			return sm_err_set(err, SM_EINVAL, "history", "history[%zu].reason must be text of at most %d bytes",
					  i, SM_REASON_MAX);
		if (reason && json_is_string(reason) && !(h->reason = strdup(json_string_value(reason))))
			return sm_err_set(err, SM_ENOMEM, NULL, "out of memory");
		if (idx && (!json_is_integer(idx) || json_integer_value(idx) < 0))
			return sm_err_set(err, SM_EINVAL, "history", "history[%zu].log_index must be a whole number", i);
		h->index = idx ? (uint64_t)json_integer_value(idx) : 0;
	}
	return 0;
}

/* firmware.revoked of an export line: the versions, kept in the draft for the import to revoke */
static int revoked_versions(const json_t *v, sm_cert *c, sm_err *err)
{
	if (!json_is_array(v) || json_array_size(v) > SM_REVOKED_MAX)
		return sm_err_set(err, SM_EINVAL, "firmware.revoked", "firmware.revoked must be an array of at most %d "
				  "versions", SM_REVOKED_MAX);
	c->revoked = calloc(json_array_size(v) + 1, sizeof(char *));
	if (!c->revoked)
		return SM_ENOMEM;
	size_t i;
	json_t *x;
	json_array_foreach(v, i, x) {
		const char *s = NULL;
		int rc = want_string(x, "firmware.revoked", &s, err);
		if (rc)
			return rc;
		if (!(c->revoked[i] = strdup(s)))
			return SM_ENOMEM;
		c->nrevoked = i + 1;
	}
	return 0;
}

int sm_cert_from_json(const json_t *j, bool allow_export_keys, sm_cert **out, sm_err *err)
{
	sm_cert *c = sm_cert_new();
	const char *key, *s = NULL;
	json_t *v;
	int rc = c ? 0 : SM_ENOMEM;
	if (!rc && !json_is_object(j))
		rc = sm_err_set(err, SM_EINVAL, "body", "a certificate must be a JSON object");
	json_object_foreach((json_t *)(uintptr_t)j, key, v) {
		if (rc)
			break;
		if (strcmp(key, "vendor") == 0) {
			const char *k2;
			json_t *v2;
			if (!json_is_object(v)) {
				rc = sm_err_set(err, SM_EINVAL, "vendor", "vendor must be an object {\"code\", \"name\"}");
				break;
			}
			json_object_foreach(v, k2, v2) {
				if (strcmp(k2, "code") == 0) {
					if (!(rc = want_string(v2, "vendor.code", &s, err)) && !(rc = sm_check_vendor(s, err)))
						snprintf(c->vendor, sizeof(c->vendor), "%s", s);
				} else if (strcmp(k2, "name") == 0) {
					rc = opt_dup(v2, "vendor.name", &c->vendor_name, err);
				} else {
					rc = unknown_key(k2, " in vendor", err);
				}
				if (rc)
					break;
			}
		} else if (strcmp(key, "product") == 0) {
			rc = opt_dup(v, "product", &c->product, err);
		} else if (strcmp(key, "models") == 0) {
			if (!json_is_array(v) || json_array_size(v) > SM_MODELS_MAX) {
				rc = sm_err_set(err, SM_EINVAL, "models", "models must be an array of at most %d model numbers",
						SM_MODELS_MAX);
				break;
			}
			c->models = calloc(json_array_size(v) + 1, sizeof(char *));
			if (!c->models) {
				rc = SM_ENOMEM;
				break;
			}
			size_t i;
			json_t *m;
			json_array_foreach(v, i, m) {
				if ((rc = want_string(m, "models", &s, err)))
					break;
				if (!(c->models[i] = strdup(s))) {
					rc = SM_ENOMEM;
					break;
				}
				c->nmodels = i + 1;
			}
		} else if (strcmp(key, "level") == 0) {
			if (!json_is_integer(v) || json_integer_value(v) < 1 || json_integer_value(v) > SM_LEVELS_MAX) {
				rc = sm_err_set(err, SM_EINVAL, "level", "level must be an integer 1..%d", SM_LEVELS_MAX);
				break;
			}
			c->level = (int)json_integer_value(v);
		} else if (strcmp(key, "firmware") == 0) {
			const char *k2;
			json_t *v2;
			if (!json_is_object(v)) {
				rc = sm_err_set(err, SM_EINVAL, "firmware", "firmware must be an object {\"covered\": SPEC}");
				break;
			}
			json_object_foreach(v, k2, v2) {
				if (strcmp(k2, "covered") == 0)
					rc = opt_dup(v2, "firmware.covered", &c->firmware, err);
				else if (strcmp(k2, "revoked") == 0 && allow_export_keys)
					rc = revoked_versions(v2, c, err);
				else
					rc = unknown_key(k2, " in firmware", err);
				if (rc)
					break;
			}
		} else if (strcmp(key, "category") == 0) {
			rc = opt_dup(v, "category", &c->category, err);
		} else if (strcmp(key, "registered") == 0) {
			rc = opt_date(v, "registered", false, &c->registered, err);
		} else if (strcmp(key, "expires") == 0) {
			rc = opt_date(v, "expires", false, &c->expires, err);
		} else if (strcmp(key, "support_end") == 0) {
			rc = opt_date(v, "support_end", true, &c->support_end, err);
		} else if (strcmp(key, "requirements") == 0) {
			rc = opt_dup(v, "requirements", &c->requirements, err);
		} else if (strcmp(key, "url") == 0) {
			rc = opt_dup(v, "url", &c->url, err);
		} else if (strcmp(key, "scheme_ref") == 0) {
			rc = opt_dup(v, "scheme_ref", &c->scheme_ref, err);
		} else if (allow_export_keys && strcmp(key, "scheme") == 0) {
			continue; /* the registry's own scheme is assigned */
		} else if (allow_export_keys && strcmp(key, "id") == 0) {
			/* kept as given; the import checks it is an unused id of this registry's form */
			if (!json_is_null(v) && !(rc = want_string(v, "id", &s, err)))
				snprintf(c->id, sizeof(c->id), "%.*s", (int)(sizeof(c->id) - 1), s);
			if (!rc && s && strlen(s) >= sizeof(c->id))
				rc = sm_err_set(err, SM_EINVAL, "id", "id is %zu bytes, at most %d", strlen(s), SM_ID_MAX);
		} else if (allow_export_keys && strcmp(key, "history") == 0) {
			rc = sm_history_from_json(v, c, err);
		} else if (allow_export_keys && strcmp(key, "status") == 0) {
			int st = json_is_string(v) ? sm_status_from_name(json_string_value(v)) : -1;
			if (st < 0)
				rc = sm_err_set(err, SM_EINVAL, "status", "status must be active, suspended, revoked or expired");
			else
				c->status = st; /* 3, expired, only in a draft: the import checks it against the expiry */
		} else {
			rc = unknown_key(key, "", err);
		}
	}
	if (rc) {
		sm_cert_free(c);
		return rc == SM_ENOMEM ? sm_err_set(err, rc, NULL, "out of memory") : rc;
	}
	*out = c;
	return 0;
}

bool sm_json_too_deep(const char *s, size_t n, int max)
{
	int depth = 0;
	bool in_str = false;
	for (size_t i = 0; i < n; i++) {
		char ch = s[i];
		if (in_str) {
			if (ch == '\\')
				i++;
			else if (ch == '"')
				in_str = false;
		} else if (ch == '"') {
			in_str = true;
		} else if (ch == '{' || ch == '[') {
			if (++depth > max)
				return true;
		} else if (ch == '}' || ch == ']') {
			depth--;
		}
	}
	return false;
}

int sm_json_parse_body(const char *p, size_t n, json_t **out, sm_err *err)
{
	json_error_t je;
	if (n > SM_JSON_MAX_BODY)
		return sm_err_set(err, SM_ETOOBIG, "body", "the JSON body is %zu bytes, at most %u", n, SM_JSON_MAX_BODY);
	if (sm_json_too_deep(p, n, SM_JSON_MAX_DEPTH))
		return sm_err_set(err, SM_EINVAL, "body", "the JSON body is nested deeper than %d", SM_JSON_MAX_DEPTH);
	json_t *j = json_loadb(p, n, JSON_REJECT_DUPLICATES, &je);
	if (!j)
		return sm_err_set(err, SM_EINVAL, "body", "invalid JSON at line %d, column %d: %s", je.line, je.column, je.text);
	if (!json_is_object(j)) {
		json_decref(j);
		return sm_err_set(err, SM_EINVAL, "body", "the JSON body must be an object");
	}
	*out = j;
	return 0;
}

/* ---- the admin event body ---- */

static int event_strv(json_t *v, const char *field, char ***out, size_t *n, sm_err *err)
{
	if (!json_is_array(v) || json_array_size(v) == 0 || json_array_size(v) > SM_REVOKED_MAX)
		return sm_err_set(err, SM_EINVAL, field, "%s must be a non-empty array of strings", field);
	*out = calloc(json_array_size(v), sizeof(char *));
	if (!*out)
		return SM_ENOMEM;
	size_t i;
	json_t *x;
	json_array_foreach(v, i, x) {
		if (!json_is_string(x) || strlen(json_string_value(x)) != json_string_length(x))
			return sm_err_set(err, SM_EINVAL, field, "%s[%zu] must be a string", field, i);
		if (!((*out)[i] = strdup(json_string_value(x))))
			return SM_ENOMEM;
		*n = i + 1;
	}
	return 0;
}

static int event_str(json_t *v, const char *field, char **out, sm_err *err)
{
	if (!json_is_string(v) || strlen(json_string_value(v)) != json_string_length(v))
		return sm_err_set(err, SM_EINVAL, field, "%s must be a string", field);
	*out = strdup(json_string_value(v));
	return *out ? 0 : SM_ENOMEM;
}

static int event_date(json_t *v, const char *field, bool month, sm_date *out, sm_err *err)
{
	if (!json_is_string(v))
		return sm_err_set(err, SM_EINVAL, field, "%s must be a date string", field);
	return sm_date_parse(json_string_value(v), month, field, out, err);
}

/* Whether event `type` takes the body field `key`: names compared whole, never searched in a list. */
static bool event_takes(int type, const char *key)
{
	static const struct {
		const char *key;
		unsigned events;
	} fields[] = {
		{ "reason", ~0u },
		{ "versions", 1u << SM_EV_FW_REVOKE },
		{ "add_models", 1u << SM_EV_AMEND },
		{ "add_firmware", 1u << SM_EV_AMEND },
		{ "support_end", 1u << SM_EV_AMEND },
		{ "url", 1u << SM_EV_AMEND },
		{ "expires", 1u << SM_EV_RENEW },
		{ "requirements", 1u << SM_EV_RENEW },
	};
	for (size_t i = 0; i < sizeof(fields) / sizeof(fields[0]); i++)
		if (strcmp(fields[i].key, key) == 0)
			return (fields[i].events >> type) & 1u;
	return false;
}

/* The fields of the body: "event" and only those the event takes. */
static int event_of(json_t *j, const char *id, sm_event **out, sm_err *err)
{
	json_t *ev = json_object_get(j, "event");
	int type = json_is_string(ev) ? sm_event_from_name(json_string_value(ev)) : 0;
	if (!type || type == SM_EV_ISSUE)
		return sm_err_set(err, SM_EINVAL, "event",
				  "event must be one of amend, firmware-revoke, suspend, revoke, reinstate, renew");
	sm_event *e = sm_event_new(type);
	if (!e)
		return SM_ENOMEM;
	snprintf(e->id, sizeof(e->id), "%s", id ? id : "");
	const char *k;
	json_t *v;
	int rc = 0;
	json_object_foreach(j, k, v) {
		if (strcmp(k, "event") == 0)
			continue;
		if (!event_takes(type, k)) {
			char q[40];
			sm_err_quote(q, sizeof(q), k, strlen(k));
			rc = sm_err_set(err, SM_EINVAL, k, "%s does not take '%s'", sm_event_name(type), q);
		} else if (strcmp(k, "reason") == 0) {
			rc = event_str(v, k, &e->reason, err);
		} else if (strcmp(k, "versions") == 0) {
			rc = event_strv(v, k, &e->versions, &e->nversions, err);
		} else if (strcmp(k, "add_models") == 0) {
			rc = event_strv(v, k, &e->models, &e->nmodels, err);
		} else if (strcmp(k, "add_firmware") == 0) {
			rc = event_str(v, k, &e->firmware, err);
		} else if (strcmp(k, "url") == 0) {
			rc = event_str(v, k, &e->url, err);
		} else if (strcmp(k, "requirements") == 0) {
			rc = event_str(v, k, &e->requirements, err);
		} else if (strcmp(k, "expires") == 0) {
			rc = event_date(v, k, false, &e->expires, err);
		} else if (strcmp(k, "support_end") == 0) {
			rc = event_date(v, k, true, &e->support_end, err);
		}
		if (rc)
			break;
	}
	if (rc) {
		sm_event_free(e);
		return rc == SM_ENOMEM ? sm_err_set(err, rc, NULL, "out of memory") : rc;
	}
	*out = e;
	return 0;
}

int sm_event_from_json(const char *text, size_t n, const char *id, sm_event **out, sm_err *err)
{
	json_t *j = NULL;
	*out = NULL;
	int rc = sm_json_parse_body(text, n, &j, err);
	if (rc)
		return rc;
	rc = event_of(j, id, out, err);
	json_decref(j);
	return rc;
}

json_t *sm_check_to_json(const sm_check_result *r, sm_date today, int64_t produced_at, int64_t next_update)
{
	json_t *j = json_object(), *reasons = json_array();
	char t[21];
	for (size_t i = 0; reasons && i < r->nreasons; i++)
		json_array_append_new(reasons, json_pack("{s:s, s:s}", "code", r->reasons[i].code, "message",
							 r->reasons[i].message));
	json_object_set_new(j, "verdict", json_string(sm_verdict_name(r->verdict)));
	json_object_set_new(j, "required_level", json_integer(r->required_level));
	json_object_set_new(j, "reasons", reasons);
	json_object_set_new(j, "certificate", r->cert ? sm_cert_to_json(r->cert, today) : json_null());
	json_object_set_new(j, "statement", json_null());
	if (produced_at) {
		sm_time_format(produced_at, t);
		json_object_set_new(j, "produced_at", json_string(t));
	} else {
		json_object_set_new(j, "produced_at", json_null());
	}
	if (next_update) {
		sm_time_format(next_update, t);
		json_object_set_new(j, "next_update", json_string(t));
	} else {
		json_object_set_new(j, "next_update", json_null());
	}
	return j;
}

static json_t *b64(const uint8_t *p, size_t n)
{
	char *s = sm_base64_encode(p, n);
	json_t *j = s ? json_string(s) : NULL;
	free(s);
	return j;
}

static json_t *hex(const uint8_t *p, size_t n)
{
	char *s = sm_hex_encode(p, n);
	json_t *j = s ? json_string(s) : NULL;
	free(s);
	return j;
}

json_t *sm_policy_to_json(const sm_policy *p)
{
	json_t *levels = json_object(), *j = NULL;
	for (size_t i = 0; levels && i < p->ncats; i++)
		if (json_object_set_new(levels, p->cats[i].category, json_integer(p->cats[i].level)) != 0) {
			json_decref(levels);
			levels = NULL;
		}
	if (levels)
		j = json_pack("{s:s, s:i, s:o, s:I, s:s, s:i, s:b}", "name", p->name, "default_level", p->default_level,
			      "levels", levels, "offline_grace_hours", (json_int_t)(p->offline_grace / 3600), "unknown",
			      p->unknown_fails_closed ? "deny" : "allow", "support_warn_days", p->support_warn_days,
			      "deny_after_support_end", (int)p->deny_after_support_end);
	return j;
}

json_t *sm_policy_published_to_json(const sm_policy *p, int64_t published_at, uint64_t log_index)
{
	char at[21];
	json_t *j = sm_policy_to_json(p);
	sm_time_format(published_at, at);
	if (j && (json_object_set_new(j, "published_at", json_string(at)) ||
		  json_object_set_new(j, "log_index", json_integer((json_int_t)log_index)))) {
		json_decref(j);
		j = NULL;
	}
	return j;
}

json_t *sm_trust_to_json(const sm_trust *t, const char *log_vkey)
{
	uint8_t kid[32];
	char ts[21];
	sm_sha256(t->root, SM_PUBKEY_LEN, kid);
	json_t *keys = json_array();
	for (size_t i = 0; keys && i < t->nkeys; i++) {
		const sm_trust_key *k = &t->keys[i];
		json_t *o = json_object();
		json_object_set_new(o, "role", json_string(sm_role_name(k->role)));
		json_object_set_new(o, "kid", hex(k->kid, SM_KID_LEN));
		json_object_set_new(o, "public_key", b64(k->pub, SM_PUBKEY_LEN));
		sm_time_format(k->not_before, ts);
		json_object_set_new(o, "not_before", json_string(ts));
		if (k->not_after) {
			sm_time_format(k->not_after, ts);
			json_object_set_new(o, "not_after", json_string(ts));
		} else {
			json_object_set_new(o, "not_after", json_null());
		}
		json_array_append_new(keys, o);
	}
	json_t *j = json_object();
	json_object_set_new(j, "version", json_integer((json_int_t)t->version));
	json_object_set_new(j, "scheme", json_string(t->scheme));
	json_object_set_new(j, "levels", json_integer(t->levels));
	json_object_set_new(j, "origin", json_string(t->origin));
	json_object_set_new(j, "root", json_pack("{s:o, s:o}", "kid", hex(kid, SM_KID_LEN), "public_key",
						  b64(t->root, SM_PUBKEY_LEN)));
	json_object_set_new(j, "keys", keys);
	json_object_set_new(j, "log_vkey", str_or_null(log_vkey));
	return j;
}

json_t *sm_proof_to_json(const uint8_t proof[][SM_HASH_LEN], size_t n)
{
	json_t *a = json_array();
	for (size_t i = 0; a && i < n; i++) {
		char *b = sm_base64_encode(proof[i], SM_HASH_LEN);
		if (!b || json_array_append_new(a, json_string(b)) != 0) {
			json_decref(a); /* a proof with a hash missing is no proof: all or nothing */
			a = NULL;
		}
		free(b);
	}
	return a;
}
