/* SPDX-License-Identifier: Apache-2.0 */
/* Verdicts over certificates, and the policy documents that set what a verdict demands. */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include <jansson.h>

#include "starmark/json.h"
#include "starmark/verdict.h"
#include "starmark/version.h"

static const char *const verdict_names[] = { "allow", "warn", "deny", "unknown" };

const char *sm_verdict_name(int v)
{
	return v >= SM_ALLOW && v <= SM_UNKNOWN ? verdict_names[v] : "unknown";
}

void sm_policy_default(sm_policy *p)
{
	memset(p, 0, sizeof(*p));
	snprintf(p->name, sizeof(p->name), "default");
	p->default_level = 1;
	p->offline_grace = 72 * 3600;
	p->unknown_fails_closed = true;
	p->support_warn_days = 180;
	p->deny_after_support_end = true;
}

int sm_policy_level(const sm_policy *p, const char *category)
{
	for (size_t i = 0; category && i < p->ncats; i++)
		if (strcmp(p->cats[i].category, category) == 0)
			return p->cats[i].level;
	return p->default_level;
}

static int level_of(json_t *v, const char *field, int *out, sm_err *err)
{
	if (!json_is_integer(v) || json_integer_value(v) < 1 || json_integer_value(v) > SM_LEVELS_MAX)
		return sm_err_set(err, SM_EINVAL, field, "policy: %s must be a level 1..%d", field, SM_LEVELS_MAX);
	*out = (int)json_integer_value(v);
	return 0;
}

int sm_policy_parse(const char *text, size_t n, sm_policy *p, sm_err *err)
{
	json_error_t je;
	json_t *root = NULL;
	int rc = 0;
	sm_policy_default(p);
	if (n > SM_POLICY_MAX_SIZE)
		return sm_err_set(err, SM_ETOOBIG, "policy", "policy is %zu bytes, at most %u", n, SM_POLICY_MAX_SIZE);
	if (sm_json_too_deep(text, n, 4))
		return sm_err_set(err, SM_EINVAL, "policy", "policy is nested deeper than a policy can be");
	root = json_loadb(text, n, JSON_REJECT_DUPLICATES, &je);
	if (!root)
		return sm_err_set(err, SM_EINVAL, "policy", "policy is not valid JSON: line %d column %d: %s", je.line,
				  je.column, je.text);
	if (!json_is_object(root)) {
		rc = sm_err_set(err, SM_EINVAL, "policy", "policy must be a JSON object");
		goto out;
	}
	const char *key;
	json_t *v;
	json_object_foreach(root, key, v) {
		if (strcmp(key, "name") == 0) {
			if (!json_is_string(v) || (rc = sm_check_text(json_string_value(v), 64, "name", err))) {
				rc = rc ? rc : sm_err_set(err, SM_EINVAL, "name", "policy: name must be a string");
				goto out;
			}
			snprintf(p->name, sizeof(p->name), "%s", json_string_value(v));
		} else if (strcmp(key, "default_level") == 0) {
			if ((rc = level_of(v, "default_level", &p->default_level, err)))
				goto out;
		} else if (strcmp(key, "levels") == 0) {
			if (!json_is_object(v)) {
				rc = sm_err_set(err, SM_EINVAL, "levels", "policy: levels must map categories to levels");
				goto out;
			}
			const char *cat;
			json_t *lv;
			json_object_foreach(v, cat, lv) {
				if (p->ncats == SM_POLICY_MAX_CATEGORIES) {
					rc = sm_err_set(err, SM_ETOOBIG, "levels", "policy: more than %d categories",
							SM_POLICY_MAX_CATEGORIES);
					goto out;
				}
				char field[SM_CATEGORY_MAX + 8];
				if ((rc = sm_check_category(cat, err)))
					goto out;
				/* the category is checked first, so it is safe to name in the field */
				snprintf(field, sizeof(field), "levels.%s", cat);
				if ((rc = level_of(lv, field, &p->cats[p->ncats].level, err)))
					goto out;
				snprintf(p->cats[p->ncats].category, sizeof(p->cats[0].category), "%s", cat);
				p->ncats++;
			}
		} else if (strcmp(key, "offline_grace_hours") == 0) {
			if (!json_is_integer(v) || json_integer_value(v) < 0 || json_integer_value(v) > 24 * 365) {
				rc = sm_err_set(err, SM_EINVAL, "offline_grace_hours", "policy: offline_grace_hours must be 0..8760");
				goto out;
			}
			p->offline_grace = json_integer_value(v) * 3600;
		} else if (strcmp(key, "unknown") == 0) {
			const char *s = json_string_value(v);
			if (!s || (strcmp(s, "deny") != 0 && strcmp(s, "allow") != 0)) {
				rc = sm_err_set(err, SM_EINVAL, "unknown", "policy: unknown must be \"deny\" or \"allow\"");
				goto out;
			}
			p->unknown_fails_closed = strcmp(s, "deny") == 0;
		} else if (strcmp(key, "support_warn_days") == 0) {
			if (!json_is_integer(v) || json_integer_value(v) < 0 || json_integer_value(v) > 3650) {
				rc = sm_err_set(err, SM_EINVAL, "support_warn_days", "policy: support_warn_days must be 0..3650");
				goto out;
			}
			p->support_warn_days = (int)json_integer_value(v);
		} else if (strcmp(key, "deny_after_support_end") == 0) {
			if (!json_is_boolean(v)) {
				rc = sm_err_set(err, SM_EINVAL, "deny_after_support_end", "policy: deny_after_support_end must be true or false");
				goto out;
			}
			p->deny_after_support_end = json_is_true(v);
		} else {
			char q[40];
			sm_err_quote(q, sizeof(q), key, strlen(key));
			rc = sm_err_set(err, SM_EINVAL, "policy", "policy: unknown key '%s'", q);
			goto out;
		}
	}
out:
	json_decref(root);
	return rc;
}

int sm_policy_fits(const sm_policy *p, int levels, sm_err *err)
{
	int rc = 0;
	char field[SM_CATEGORY_MAX + 8];
	if (levels < 1 || levels > SM_LEVELS_MAX) {
		rc = sm_err_set(err, SM_EINVAL, "levels", "a scheme has 1..%d levels, not %d", SM_LEVELS_MAX, levels);
		goto out;
	}
	if (p->default_level < 1 || p->default_level > levels) {
		rc = sm_err_set(err, SM_EINVAL, "default_level",
				"policy '%s': default_level %d is not a level of this scheme (1..%d)", p->name,
				p->default_level, levels);
		goto out;
	}
	for (size_t i = 0; i < p->ncats; i++) {
		if (p->cats[i].level >= 1 && p->cats[i].level <= levels)
			continue;
		snprintf(field, sizeof(field), "levels.%s", p->cats[i].category);
		rc = sm_err_set(err, SM_EINVAL, field, "policy '%s': %s is %d, not a level of this scheme (1..%d)",
				p->name, field, p->cats[i].level, levels);
		goto out;
	}
out:
	return rc;
}

int sm_check_req_fits(const sm_check_req *q, const sm_policy *p, int levels, sm_err *err)
{
	int rc = 0;
	if (levels < 1 || levels > SM_LEVELS_MAX) {
		rc = sm_err_set(err, SM_EINVAL, "levels", "a scheme has 1..%d levels, not %d", SM_LEVELS_MAX, levels);
		goto out;
	}
	if (q->level < 0 || q->level > levels) {
		rc = sm_err_set(err, SM_EINVAL, "level", "level %d is not a level of this scheme (1..%d)", q->level,
				levels);
		goto out;
	}
	if (p)
		rc = sm_policy_fits(p, levels, err);
out:
	return rc;
}

int sm_check_req_validate(const sm_check_req *q, sm_err *err)
{
	int rc;
	if ((rc = sm_check_vendor(q->vendor, err)) || (rc = sm_check_model(q->model, "model", err)))
		return rc;
	if (!q->firmware)
		return sm_err_set(err, SM_EINVAL, "firmware", "firmware version is required");
	if ((rc = sm_version_validate(q->firmware, err)))
		return rc;
	if (q->category && (rc = sm_check_category(q->category, err)))
		return rc;
	if (q->level < 0 || q->level > SM_LEVELS_MAX)
		return sm_err_set(err, SM_EINVAL, "level", "level must be 1..%d", SM_LEVELS_MAX);
	return 0;
}

static void add_reason(sm_check_result *r, const char *code, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static void add_reason(sm_check_result *r, const char *code, const char *fmt, ...)
{
	if (r->nreasons == SM_REASONS_MAX)
		return;
	sm_reason *x = &r->reasons[r->nreasons++];
	snprintf(x->code, sizeof(x->code), "%s", code);
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(x->message, sizeof(x->message), fmt, ap);
	va_end(ap);
}

/*
 * The level a policy demands of certificate `c` (NULL: none was found) for request `q`: a floor that
 * the caller's options may raise and never lower. It is the strictest of the policy's level for the
 * certificate's recorded category (its default level when none is recorded), its level for the
 * category the caller names, and the level the caller asks. `why` (cap bytes) says which demanded it.
 */
static int required_level(const sm_check_req *q, const sm_policy *p, const sm_cert *c, char *why, size_t cap)
{
	const char *cat = c ? c->category : NULL;
	int level = sm_policy_level(p, cat);
	if (cat)
		snprintf(why, cap, "the policy requires %d for category %s (the certificate's)", level, cat);
	else
		snprintf(why, cap, "the policy requires %d (its default level)", level);
	if (q->category && sm_policy_level(p, q->category) > level) {
		level = sm_policy_level(p, q->category);
		snprintf(why, cap, "the policy requires %d for category %s (the category asked)", level, q->category);
	}
	if (q->level > level) {
		snprintf(why, cap, "the request requires %d (the level asked, above the policy's %d)", q->level, level);
		level = q->level;
	}
	return level;
}

/* The verdict for one certificate, freshness aside. */
static void judge(const sm_check_req *q, const sm_policy *p, const sm_cert *c, int required, const char *why,
		  int64_t now, sm_check_result *r)
{
	sm_date today = sm_date_from_time(now);
	char d[11];
	r->verdict = SM_ALLOW;
	r->nreasons = 0;
	if (c->status == SM_STATUS_REVOKED) {
		r->verdict = SM_DENY;
		add_reason(r, "revoked", "certificate %s is revoked", c->id);
	} else if (c->status == SM_STATUS_SUSPENDED) {
		r->verdict = SM_DENY;
		add_reason(r, "suspended", "certificate %s is suspended", c->id);
	}
	if (sm_cert_expired(c, today)) {
		sm_date_format(c->expires, d);
		r->verdict = SM_DENY;
		add_reason(r, "expired", "certificate %s expired on %s", c->id, d);
	}
	if (c->level < required) {
		r->verdict = SM_DENY;
		add_reason(r, "level_below_policy", "certified at level %d, %s", c->level, why);
	}
	sm_fwspec *spec = NULL;
	if (sm_fwspec_parse(c->firmware, &spec, NULL) != 0 || !sm_fwspec_covers(spec, q->firmware)) {
		r->verdict = SM_DENY;
		add_reason(r, "firmware_not_covered", "firmware %s is not covered (covered: %s)", q->firmware, c->firmware);
	} else {
		for (size_t i = 0; i < c->nrevoked; i++)
			if (sm_version_compare(c->revoked[i], q->firmware) == 0) {
				r->verdict = SM_DENY;
				add_reason(r, "firmware_revoked", "firmware %s is revoked for %s", q->firmware, c->id);
				break;
			}
	}
	sm_fwspec_free(spec);
	if (c->support_end != SM_DATE_NONE) {
		sm_date_format(c->support_end, d);
		if (today > c->support_end) {
			if (p->deny_after_support_end) {
				r->verdict = SM_DENY;
				add_reason(r, "support_ended", "the vendor's support ended on %s", d);
			} else if (r->verdict == SM_ALLOW) {
				r->verdict = SM_WARN;
				add_reason(r, "support_ended", "the vendor's support ended on %s", d);
			}
		} else if (c->support_end - today <= p->support_warn_days && r->verdict == SM_ALLOW) {
			r->verdict = SM_WARN;
			add_reason(r, "support_ending", "the vendor's support ends on %s", d);
		}
	}
	if (r->verdict != SM_DENY) {
		add_reason(r, "certified", "%s %s is certified at level %d (%s), firmware %s covered", c->vendor, q->model,
			   c->level, c->id, q->firmware);
	}
}

int sm_verdict_unknown(const sm_check_req *q, const sm_policy *p, const char *code, const char *msg,
		       sm_check_result *res)
{
	char why[SM_CATEGORY_MAX + 96];
	memset(res, 0, sizeof(*res));
	if (!code || !*code || !msg)
		return SM_EINVAL;
	res->required_level = required_level(q, p, NULL, why, sizeof(why));
	add_reason(res, code, "%s", msg);
	if (p->unknown_fails_closed) {
		res->verdict = SM_UNKNOWN;
		add_reason(res, "fails_closed", "the policy '%s' treats unknown as deny", p->name);
	} else {
		res->verdict = SM_WARN;
		add_reason(res, "unknown_allowed",
			   "the policy '%s' lets a device pass when no usable data answers (unknown: allow)",
			   p->name);
	}
	return 0;
}

int sm_verdict_eval(const sm_check_req *q, const sm_policy *p, sm_cert *const *certs, size_t n, int64_t next_update,
		    int64_t now, sm_check_result *res)
{
	char why[SM_CATEGORY_MAX + 96];
	memset(res, 0, sizeof(*res));
	res->required_level = required_level(q, p, NULL, why, sizeof(why));
	/* data past next_update: within the grace it still answers (warn); past it, unknown */
	if (sm_policy_stale(p, next_update, now))
		return sm_verdict_unknown(q, p, "stale_data",
					  "the registry data is past its next update by more than the policy's offline grace",
					  res);
	int best = -1;
	sm_check_result tmp;
	/* each certificate at the level its own category demands; res->required_level is the best one's */
	for (size_t i = 0; i < n; i++) {
		int required = required_level(q, p, certs[i], why, sizeof(why));
		memset(&tmp, 0, sizeof(tmp));
		judge(q, p, certs[i], required, why, now, &tmp);
		/* the best verdict wins; among equals the latest registration */
		if (best < 0 || tmp.verdict < res->verdict ||
		    (tmp.verdict == res->verdict && certs[i]->registered > certs[best]->registered)) {
			best = (int)i;
			tmp.required_level = required;
			*res = tmp;
		}
	}
	if (best < 0) {
		res->verdict = SM_DENY;
		add_reason(res, "unknown_model", "%s %s is not in the registry: not certified", q->vendor, q->model);
		return 0;
	}
	if (next_update && now > next_update && res->verdict == SM_ALLOW) {
		res->verdict = SM_WARN;
		add_reason(res, "data_past_next_update", "the registry data is past its next update (offline grace)");
	}
	res->cert = sm_cert_dup(certs[best]);
	return res->cert ? 0 : SM_ENOMEM;
}

bool sm_policy_stale(const sm_policy *p, int64_t next_update, int64_t now)
{
	return next_update != 0 && now - next_update > p->offline_grace;
}

void sm_check_result_cleanup(sm_check_result *res)
{
	sm_cert_free(res->cert);
	res->cert = NULL;
}

void sm_policy_strictest(const sm_policy *a, const sm_policy *b, sm_policy *out)
{
	sm_policy r = *a;
	snprintf(r.name, sizeof(r.name), "%.30s + %.30s", a->name, b->name);
	r.default_level = a->default_level > b->default_level ? a->default_level : b->default_level;
	/* every category either names, at the higher of the two levels each asks for it */
	for (size_t i = 0; i < r.ncats; i++) {
		int lb = sm_policy_level(b, r.cats[i].category);
		if (lb > r.cats[i].level)
			r.cats[i].level = lb;
	}
	for (size_t i = 0; i < b->ncats; i++) {
		bool have = false;
		for (size_t k = 0; k < r.ncats && !have; k++)
			have = strcmp(r.cats[k].category, b->cats[i].category) == 0;
		if (!have && r.ncats < SM_POLICY_MAX_CATEGORIES) {
			r.cats[r.ncats] = b->cats[i];
			int la = sm_policy_level(a, b->cats[i].category);
			if (la > r.cats[r.ncats].level)
				r.cats[r.ncats].level = la;
			r.ncats++;
		}
	}
	r.offline_grace = a->offline_grace < b->offline_grace ? a->offline_grace : b->offline_grace;
	r.unknown_fails_closed = a->unknown_fails_closed || b->unknown_fails_closed;
	r.support_warn_days = a->support_warn_days > b->support_warn_days ? a->support_warn_days : b->support_warn_days;
	r.deny_after_support_end = a->deny_after_support_end || b->deny_after_support_end;
	*out = r;
}
