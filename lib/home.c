/* SPDX-License-Identifier: Apache-2.0 */
/* Homes: the home document, retrofits, and a home's check (the weakest device decides). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "starmark/home.h"
#include "starmark/json.h"
#include "starmark/codec.h"
#include "starmark/label.h"

/* ---- the document ---- */

void sm_home_free(sm_home *h)
{
	if (!h)
		return;
	for (size_t i = 0; i < h->ndevices; i++)
		free(h->devices[i].label);
	free(h->devices);
	free(h);
}

/* An id of a home or a device: [A-Za-z0-9][A-Za-z0-9._-]{0,63}. */
static bool id_ok(const char *s)
{
	size_t n = strlen(s);
	if (n < 1 || n > SM_HOME_ID_MAX)
		return false;
	for (size_t i = 0; i < n; i++) {
		char c = s[i];
		bool alnum = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
		if (!alnum && (i == 0 || (c != '.' && c != '_' && c != '-')))
			return false;
	}
	return true;
}

/* A string member into a fixed buffer, checked as text of at most cap-1 bytes (the caller names the device). */
static int text_of(json_t *v, const char *field, char *dst, size_t cap, sm_err *err)
{
	if (!json_is_string(v))
		return sm_err_set(err, SM_EINVAL, field, "%s must be a string", field);
	const char *s = json_string_value(v);
	size_t n = json_string_length(v);
	if (n >= cap)
		return sm_err_set(err, SM_EINVAL, field, "%s is longer than %zu bytes", field, cap - 1);
	for (size_t i = 0; i < n; i++)
		if ((unsigned char)s[i] < 0x20 || s[i] == 0x7f)
			return sm_err_set(err, SM_EINVAL, field, "%s holds a control character", field);
	memcpy(dst, s, n + 1);
	return 0;
}

static const char *const device_keys[] = { "id", "room", "category", "vendor", "model", "firmware", "label", "planned",
					    "installed" };

/* One member of a device; `k` its index in device_keys. The message says what is wrong with it. */
static int member_of(size_t k, json_t *v, sm_home_device *dev, sm_err *err)
{
	switch (k) {
	case 0: return 0;
	case 1: return text_of(v, "room", dev->room, sizeof(dev->room), err);
	case 2: return text_of(v, "category", dev->category, sizeof(dev->category), err);
	case 3: return text_of(v, "vendor", dev->vendor, sizeof(dev->vendor), err);
	case 4: return text_of(v, "model", dev->model, sizeof(dev->model), err);
	case 5: return text_of(v, "firmware", dev->firmware, sizeof(dev->firmware), err);
	case 6:
		if (json_is_null(v))
			return 0;
		if (!json_is_string(v) || json_string_length(v) > SM_HOME_LABEL_MAX)
			return sm_err_set(err, SM_EINVAL, "label", "label must be the scanned text, at most %d bytes",
					  SM_HOME_LABEL_MAX);
		return (dev->label = strdup(json_string_value(v))) ? 0 : sm_err_set(err, SM_ENOMEM, NULL, "out of memory");
	default:
		if (!json_is_boolean(v))
			return sm_err_set(err, SM_EINVAL, device_keys[k], "%s must be true or false", device_keys[k]);
		if (k == 7)
			dev->planned = json_is_true(v);
		else
			dev->installed = json_is_true(v);
		return 0;
	}
}

/* What is wrong with devices[i], prefixed with the device and with the field named in full. */
static int device_err(sm_err *err, int rc, size_t i, const sm_home_device *dev, const char *key)
{
	char field[SM_ERR_FIELD_MAX];
	snprintf(field, sizeof(field), "devices[%zu].%.30s", i, key);
	return sm_err_wrap(err, rc, field, "devices[%zu] (%s)", i, dev->id);
}

static int device_of(json_t *d, size_t i, sm_home_device *dev, sm_err *err)
{
	const char *key;
	json_t *v;
	bool seen[9] = { false };
	int rc = 0;
	if (!json_is_object(d))
		return sm_err_set(err, SM_EINVAL, "devices", "devices[%zu] must be an object", i);
	/* the id first, so that every later message names the device */
	json_t *idv = json_object_get(d, "id");
	if (!json_is_string(idv) || !id_ok(json_string_value(idv))) {
		char field[SM_ERR_FIELD_MAX];
		snprintf(field, sizeof(field), "devices[%zu].id", i);
		return sm_err_set(err, SM_EINVAL, field, "devices[%zu]: id must be 1-64 letters, digits, '.', '_' or '-'", i);
	}
	memcpy(dev->id, json_string_value(idv), json_string_length(idv) + 1);
	json_object_foreach(d, key, v) {
		size_t k = 0;
		while (k < 9 && strcmp(device_keys[k], key) != 0)
			k++;
		if (k == 9) {
			sm_err_set(err, SM_EINVAL, NULL, "unknown key '%.40s'", key);
			return device_err(err, SM_EINVAL, i, dev, key);
		}
		seen[k] = true;
		if ((rc = member_of(k, v, dev, err)))
			return rc == SM_ENOMEM ? rc : device_err(err, rc, i, dev, key);
	}
	static const int required[] = { 3, 4, 5, 7, 8 };
	for (size_t r = 0; r < sizeof(required) / sizeof(required[0]); r++)
		if (!seen[required[r]]) {
			sm_err_set(err, SM_EINVAL, NULL, "%s is required", device_keys[required[r]]);
			return device_err(err, SM_EINVAL, i, dev, device_keys[required[r]]);
		}
	/* the fields a check takes, by the check's own rules */
	sm_check_req q = { dev->vendor, dev->model, dev->firmware, dev->category[0] ? dev->category : NULL, 0 };
	if ((rc = sm_check_req_validate(&q, err)))
		device_err(err, rc, i, dev, err && err->field[0] ? err->field : "device");
	return rc;
}

static int policy_of(json_t *v, sm_policy *p, sm_err *err)
{
	if (!json_is_object(v))
		return sm_err_set(err, SM_EINVAL, "policy", "policy must be an object (or be given with --policy)");
	char *text = json_dumps(v, JSON_COMPACT);
	if (!text)
		return sm_err_set(err, SM_ENOMEM, NULL, "out of memory");
	int rc = sm_policy_parse(text, strlen(text), p, err);
	free(text);
	if (rc && rc != SM_ENOMEM && err) { /* its message names the policy already; the field says where it is */
		char field[SM_ERR_FIELD_MAX];
		snprintf(field, sizeof(field), "policy.%.50s", err->field[0] ? err->field : "policy");
		snprintf(err->field, sizeof(err->field), "%s", field);
	}
	return rc;
}

int sm_home_policy(const sm_home *h, const sm_policy *given, int levels, sm_policy *out, sm_err *err)
{
	if (given && h->has_policy) /* the caller's may raise the home's own, never lower it */
		sm_policy_strictest(&h->policy, given, out);
	else if (given)
		*out = *given;
	else if (h->has_policy)
		*out = h->policy;
	else
		sm_policy_default(out);
	int rc = sm_policy_fits(out, levels, err);
	if (rc && !given && h->has_policy && err) {
		char field[SM_ERR_FIELD_MAX];
		snprintf(field, sizeof(field), "policy.%.50s", err->field);
		snprintf(err->field, sizeof(err->field), "%s", field);
	}
	return rc;
}

int sm_home_parse(const char *text, size_t n, sm_home **out, sm_err *err)
{
	json_error_t je;
	json_t *root = NULL;
	sm_home *h = NULL;
	const char *key;
	json_t *v;
	int rc = 0;
	*out = NULL;
	if (n > SM_HOME_MAX_SIZE)
		return sm_err_set(err, SM_ETOOBIG, "home", "the home document is %zu bytes, at most %u", n, SM_HOME_MAX_SIZE);
	if (sm_json_too_deep(text, n, SM_HOME_MAX_DEPTH))
		return sm_err_set(err, SM_EINVAL, "home", "the home document is nested deeper than a home can be");
	if (!(root = json_loadb(text, n, JSON_REJECT_DUPLICATES, &je)))
		return sm_err_set(err, SM_EINVAL, "home", "the home document is not valid JSON: line %d column %d: %s", je.line,
				  je.column, je.text);
	if (!json_is_object(root)) {
		rc = sm_err_set(err, SM_EINVAL, "home", "the home document must be a JSON object");
		goto out;
	}
	if (!(h = calloc(1, sizeof(*h)))) {
		rc = sm_err_set(err, SM_ENOMEM, NULL, "out of memory");
		goto out;
	}
	json_object_foreach(root, key, v) {
		if (strcmp(key, "home") == 0) {
			if (!json_is_string(v) || !id_ok(json_string_value(v)))
				rc = sm_err_set(err, SM_EINVAL, "home", "home must be an id: 1-64 letters, digits, '.', '_' or '-'");
			else
				snprintf(h->id, sizeof(h->id), "%s", json_string_value(v));
		} else if (strcmp(key, "name") == 0) {
			rc = text_of(v, "name", h->name, sizeof(h->name), err);
		} else if (strcmp(key, "policy") == 0) {
			if (!(rc = policy_of(v, &h->policy, err)))
				h->has_policy = true;
		} else if (strcmp(key, "devices") == 0) {
			if (!json_is_array(v)) {
				rc = sm_err_set(err, SM_EINVAL, "devices", "devices must be an array");
			} else if (json_array_size(v) > SM_HOME_MAX_DEVICES) {
				rc = sm_err_set(err, SM_ETOOBIG, "devices", "a home has at most %d devices, not %zu", SM_HOME_MAX_DEVICES,
						json_array_size(v));
			} else if (json_array_size(v) && !(h->devices = calloc(json_array_size(v), sizeof(*h->devices)))) {
				rc = sm_err_set(err, SM_ENOMEM, NULL, "out of memory");
			}
			for (size_t i = 0; !rc && i < json_array_size(v); i++) {
				rc = device_of(json_array_get(v, i), i, &h->devices[i], err);
				h->ndevices = i + 1;
				for (size_t j = 0; !rc && j < i; j++)
					if (strcmp(h->devices[j].id, h->devices[i].id) == 0)
						rc = sm_err_set(err, SM_EINVAL, "devices", "devices[%zu]: the id %s is devices[%zu]'s already",
								i, h->devices[i].id, j);
			}
		} else {
			rc = sm_err_set(err, SM_EINVAL, key[0] ? key : "home", "unknown key '%.40s' in the home document", key);
		}
		if (rc)
			goto out;
	}
	if (!h->id[0])
		rc = sm_err_set(err, SM_EINVAL, "home", "home (the home's id) is required");
	else if (!json_object_get(root, "devices"))
		rc = sm_err_set(err, SM_EINVAL, "devices", "devices is required (an empty list for a home without devices)");
out:
	json_decref(root);
	if (rc) {
		sm_home_free(h);
		return rc;
	}
	*out = h;
	return 0;
}

int sm_home_add_retrofit(sm_home *h, const sm_home_retrofit *rf, sm_err *err)
{
	sm_home_device d;
	memset(&d, 0, sizeof(d));
	if (!rf->vendor || !rf->model || !rf->firmware)
		return sm_err_set(err, SM_EINVAL, "add", "a retrofit needs its vendor, model and firmware");
	if (h->ndevices >= SM_HOME_MAX_DEVICES)
		return sm_err_set(err, SM_ETOOBIG, "add", "a home has at most %d devices", SM_HOME_MAX_DEVICES);
	if (strlen(rf->vendor) >= sizeof(d.vendor) || strlen(rf->model) >= sizeof(d.model) ||
	    strlen(rf->firmware) >= sizeof(d.firmware) || (rf->category && strlen(rf->category) >= sizeof(d.category)) ||
	    (rf->room && strlen(rf->room) >= sizeof(d.room)) || (rf->id && strlen(rf->id) >= sizeof(d.id)))
		return sm_err_set(err, SM_EINVAL, "add", "the retrofit %.64s:%.64s: a part is too long", rf->vendor,
				  rf->model);
	/* every length was checked above */
	memcpy(d.vendor, rf->vendor, strlen(rf->vendor) + 1);
	memcpy(d.model, rf->model, strlen(rf->model) + 1);
	memcpy(d.firmware, rf->firmware, strlen(rf->firmware) + 1);
	if (rf->category && rf->category[0])
		memcpy(d.category, rf->category, strlen(rf->category) + 1);
	const char *room = rf->room ? rf->room : "";
	for (const unsigned char *q = (const unsigned char *)room; *q; q++)
		if (*q < 0x20 || *q == 0x7f)
			return sm_err_set(err, SM_EINVAL, "add", "the retrofit's room holds a control character");
	size_t rn = strlen(room), ri = 0;
	uint32_t cp;
	while (ri < rn)
		if (!sm_utf8_next((const uint8_t *)room, rn, &ri, &cp))
			return sm_err_set(err, SM_EINVAL, "add", "the retrofit's room is not UTF-8");
	memcpy(d.room, room, rn + 1);
	const char *id = rf->id && rf->id[0] ? rf->id : NULL;
	if (id && !id_ok(id))
		return sm_err_set(err, SM_EINVAL, "add", "the retrofit's id must be 1-64 letters, digits, '.', '_' or '-'");
	for (size_t n = h->ndevices + 1; !id && n <= 2 * SM_HOME_MAX_DEVICES; n++) {
		snprintf(d.id, sizeof(d.id), "retrofit-%zu", n);
		bool taken = false;
		for (size_t i = 0; i < h->ndevices && !taken; i++)
			taken = strcmp(h->devices[i].id, d.id) == 0;
		if (!taken)
			break;
	}
	if (id)
		snprintf(d.id, sizeof(d.id), "%s", id);
	for (size_t i = 0; i < h->ndevices; i++)
		if (strcmp(h->devices[i].id, d.id) == 0)
			return sm_err_set(err, SM_EEXIST, "add", "the home has a device %s already", d.id);
	sm_check_req q = { d.vendor, d.model, d.firmware, d.category[0] ? d.category : NULL, 0 };
	int rc = sm_check_req_validate(&q, err);
	if (rc)
		return sm_err_wrap(err, rc, "add", "the retrofit %.64s:%.64s", d.vendor, d.model);
	sm_home_device *v = realloc(h->devices, (h->ndevices + 1) * sizeof(*v));
	if (!v)
		return sm_err_set(err, SM_ENOMEM, NULL, "out of memory");
	d.installed = true; /* a retrofit: there now (or about to be), not in the design */
	d.planned = false;
	v[h->ndevices++] = d;
	h->devices = v;
	return 0;
}

int sm_home_add(sm_home *h, const char *spec, sm_err *err)
{
	char buf[512];
	sm_home_retrofit rf = { 0 };
	if (strlen(spec) >= sizeof(buf))
		return sm_err_set(err, SM_EINVAL, "add", "the retrofit is longer than %zu bytes", sizeof(buf) - 1);
	snprintf(buf, sizeof(buf), "%s", spec);
	/* VENDOR:MODEL@FIRMWARE[/CATEGORY][#ID][=ROOM]: the room after the first '=', the id after the first '#' */
	char *room = strchr(buf, '='), *id;
	if (room)
		*room++ = '\0';
	if ((id = strchr(buf, '#')))
		*id++ = '\0';
	char *model = strchr(buf, ':');
	char *fw = model ? strrchr(model, '@') : NULL;
	if (!model || !fw)
		return sm_err_set(err, SM_EINVAL, "add",
				  "the retrofit %.100s: write VENDOR:MODEL@FIRMWARE[/CATEGORY][#ID][=ROOM], e.g. "
				  "RINNAI:MC-301V@1.5/water-heater",
				  spec);
	*model++ = '\0';
	*fw++ = '\0';
	char *cat = strchr(fw, '/');
	if (cat)
		*cat++ = '\0';
	rf.vendor = buf;
	rf.model = model;
	rf.firmware = fw;
	rf.category = cat;
	rf.id = id;
	rf.room = room;
	return sm_home_add_retrofit(h, &rf, err);
}

/* ---- checking ---- */

void sm_home_result_cleanup(sm_home_result *r)
{
	if (!r)
		return;
	for (size_t i = 0; i < r->ndevices; i++) {
		sm_check_result_cleanup(&r->devices[i].res);
		free(r->devices[i].statement);
	}
	free(r->devices);
	free(r->checkpoint_text);
	memset(r, 0, sizeof(*r));
}

static bool has_reason(const sm_check_result *r, const char *code)
{
	for (size_t i = 0; i < r->nreasons; i++)
		if (strcmp(r->reasons[i].code, code) == 0)
			return true;
	return false;
}

/* A reason more, when there is room (the verdict is what matters; reasons explain it). */
static void add_reason(sm_check_result *r, const char *code, const char *msg)
{
	size_t i = r->nreasons < SM_REASONS_MAX ? r->nreasons++ : SM_REASONS_MAX - 1;
	snprintf(r->reasons[i].code, sizeof(r->reasons[i].code), "%s", code);
	snprintf(r->reasons[i].message, sizeof(r->reasons[i].message), "%s", msg);
}

/* The scanned label against the device's entry and the certificate its verdict is about. */
static void check_label(sm_home_device_result *d, const sm_trust *trust)
{
	const sm_home_device *dev = d->dev;
	sm_label_claims cl;
	uint8_t *tok = NULL;
	size_t n = 0;
	sm_err e = { 0 };
	if (!dev->label || !dev->label[0])
		return;
	if (!trust) {
		d->label = SM_HOME_LABEL_UNCHECKED;
		snprintf(d->label_why, sizeof(d->label_why), "no trust bundle to check the label with");
		return;
	}
	if (sm_label_parse(dev->label, strlen(dev->label), &tok, &n, &e) != 0 || sm_label_verify(tok, n, trust, &cl, &e) != 0) {
		d->label = SM_HOME_LABEL_NOT_GENUINE;
		snprintf(d->label_why, sizeof(d->label_why), "the label is not genuine: %.120s", e.msg);
	} else if (strcmp(cl.vendor, dev->vendor) != 0 || strcmp(cl.model, dev->model) != 0) {
		d->label = SM_HOME_LABEL_MISMATCH;
		snprintf(d->label_why, sizeof(d->label_why), "the label is of %.16s %.64s, the device is %.16s %.64s", cl.vendor,
			 cl.model, dev->vendor, dev->model);
	} else {
		/* of the device's vendor and model: genuine, whichever of that model's certificates it names (a
		 * model may have several; the verdict judges the best of them) */
		d->label = SM_HOME_LABEL_OK;
		snprintf(d->label_why, sizeof(d->label_why), "genuine label of %s", cl.id);
	}
	if (d->label == SM_HOME_LABEL_NOT_GENUINE || d->label == SM_HOME_LABEL_MISMATCH) {
		/* counterfeit suspicion: whatever the registry says of the model, this device is not it */
		d->res.verdict = SM_DENY;
		add_reason(&d->res, d->label == SM_HOME_LABEL_MISMATCH ? "label_mismatch" : "label_not_genuine", d->label_why);
	}
	free(tok);
}

bool sm_home_counted(const sm_home_result *r, const sm_home_device *dev)
{
	return r->counted_planned ? dev->planned || dev->installed : dev->installed;
}

/*
 * A device's level: its certificate's, when that certificate holds for it (in force, its firmware
 * covered and not revoked, its label not suspect) — also when the policy asks more, which the verdict
 * says; 0 when it has no valid certification (INTERFACE.md) or nothing usable is known.
 */
static int device_level(const sm_home_device_result *d)
{
	static const char *const void_codes[] = { "unknown_model", "suspended", "revoked", "expired",
						  "firmware_not_covered", "firmware_revoked", "label_not_genuine",
						  "label_mismatch" };
	if (!d->res.cert || d->res.verdict == SM_UNKNOWN)
		return 0;
	for (size_t i = 0; i < sizeof(void_codes) / sizeof(void_codes[0]); i++)
		if (has_reason(&d->res, void_codes[i]))
			return 0;
	return d->res.cert->level;
}

/* The verdicts of the counted devices combined: any deny, else any unknown, else any warn, else allow. */
static int combine(int acc, int v)
{
	static const int rank[] = { [SM_ALLOW] = 0, [SM_WARN] = 1, [SM_UNKNOWN] = 2, [SM_DENY] = 3 };
	return rank[v] > rank[acc] ? v : acc;
}

int sm_home_check(const sm_home *h, const sm_policy *p, sm_home_check_fn fn, void *ctx, const sm_trust *trust,
		  int64_t now, sm_home_result *out, sm_err *err)
{
	sm_policy dflt;
	sm_date today = sm_date_from_time(now);
	int rc = 0;
	memset(out, 0, sizeof(*out));
	if (p && h->has_policy) { /* a given policy may raise the home's own, never lower it */
		sm_policy_strictest(&h->policy, p, &dflt);
		p = &dflt;
	} else if (!p) {
		sm_policy_default(&dflt);
		p = h->has_policy ? &h->policy : &dflt;
	}
	if (h->ndevices && !(out->devices = calloc(h->ndevices, sizeof(*out->devices))))
		return sm_err_set(err, SM_ENOMEM, NULL, "out of memory");
	/* a design until one of its planned devices is installed: then the planned devices (and any
	 * retrofit asked about) are what the home will be; after that, what is installed */
	bool built = false;
	for (size_t i = 0; i < h->ndevices; i++)
		built = built || (h->devices[i].installed && h->devices[i].planned);
	out->counted_planned = !built;
	out->verdict = SM_ALLOW;
	out->level = -1;
	out->support_end = SM_DATE_NONE;
	size_t counted = 0;
	for (size_t i = 0; i < h->ndevices && !rc; i++) {
		const sm_home_device *dev = &h->devices[i];
		sm_home_device_result *d = &out->devices[i];
		sm_check_req q = { dev->vendor, dev->model, dev->firmware, dev->category[0] ? dev->category : NULL, 0 };
		d->dev = dev;
		out->ndevices = i + 1;
		if ((rc = fn(ctx, &q, p, &d->res, &d->statement, err))) {
			if (err && rc != SM_ENOMEM)
				sm_err_wrap(err, rc, err->field, "device %s", dev->id);
			break;
		}
		check_label(d, trust);
		d->update_firmware = has_reason(&d->res, "firmware_revoked") || has_reason(&d->res, "firmware_not_covered");
		const sm_cert *c = d->res.cert;
		if (c && c->support_end != SM_DATE_NONE && c->support_end >= today &&
		    c->support_end - today <= p->support_warn_days)
			d->support_soon = true;
		if (dev->planned && !dev->installed)
			out->nmissing++;
		if (dev->installed && !dev->planned)
			out->nunplanned++;
		if (!sm_home_counted(out, dev))
			continue;
		counted++;
		out->verdict = combine(out->verdict, d->res.verdict);
		int level = device_level(d);
		if (out->level < 0 || level < out->level)
			out->level = level;
		if (c && c->support_end != SM_DATE_NONE && (out->support_end == SM_DATE_NONE || c->support_end < out->support_end))
			out->support_end = c->support_end;
	}
	if (!rc && !counted) /* nothing planned or installed: nothing to say yes to */
		out->verdict = SM_UNKNOWN;
	if (out->level < 0)
		out->level = 0;
	if (rc)
		sm_home_result_cleanup(out);
	return rc;
}

/* ---- the JSON view ---- */

static json_t *date_or_null(sm_date d)
{
	char s[11];
	if (d == SM_DATE_NONE)
		return json_null();
	sm_date_format(d, s);
	return json_string(s);
}

static const char *const label_names[] = { "none", "genuine", "not_genuine", "mismatch", "unchecked" };

/* ---- what must be done ---- */

static const char *const action_names[] = {
	[SM_HOME_ACT_INSTALL] = "install",
	[SM_HOME_ACT_APPROVE_OR_REMOVE] = "approve_or_remove",
	[SM_HOME_ACT_REPLACE_COUNTERFEIT] = "replace_counterfeit",
	[SM_HOME_ACT_UPDATE_FIRMWARE] = "update_firmware",
	[SM_HOME_ACT_REPLACE] = "replace",
	[SM_HOME_ACT_RECHECK] = "recheck",
	[SM_HOME_ACT_PLAN_REPLACEMENT] = "plan_replacement",
};

const char *sm_home_action_name(int code)
{
	if (code < 0 || (size_t)code >= sizeof(action_names) / sizeof(action_names[0]))
		return "";
	return action_names[code];
}

/* One device's actions (at most SM_HOME_ACTIONS_PER_DEVICE) into codes; returns how many. */
static size_t device_actions(const sm_home_result *r, const sm_home_device_result *d,
			     int codes[SM_HOME_ACTIONS_PER_DEVICE])
{
	const sm_home_device *dev = d->dev;
	size_t n = 0;
	if (dev->planned && !dev->installed && !r->counted_planned) /* a design's devices are all still to come */
		codes[n++] = SM_HOME_ACT_INSTALL;
	else if (dev->installed && !dev->planned)
		codes[n++] = SM_HOME_ACT_APPROVE_OR_REMOVE;
	/* only what is in the home (or, for a design, will be) is judged: a missing device is to be
	 * installed, not replaced; one taken out needs nothing */
	if (!sm_home_counted(r, dev))
		return n;
	if (d->label == SM_HOME_LABEL_NOT_GENUINE || d->label == SM_HOME_LABEL_MISMATCH)
		codes[n++] = SM_HOME_ACT_REPLACE_COUNTERFEIT;
	else if (d->update_firmware)
		codes[n++] = SM_HOME_ACT_UPDATE_FIRMWARE;
	else if (d->res.verdict == SM_DENY)
		codes[n++] = SM_HOME_ACT_REPLACE;
	else if (d->res.verdict == SM_UNKNOWN)
		codes[n++] = SM_HOME_ACT_RECHECK;
	if (d->support_soon && d->res.cert)
		codes[n++] = SM_HOME_ACT_PLAN_REPLACEMENT;
	return n;
}

size_t sm_home_actions(const sm_home_result *r, sm_home_action *out, size_t cap)
{
	size_t n = 0;
	int codes[SM_HOME_ACTIONS_PER_DEVICE];
	for (size_t i = 0; i < r->ndevices; i++) {
		size_t k = device_actions(r, &r->devices[i], codes);
		for (size_t j = 0; j < k; j++, n++)
			if (n < cap)
				out[n] = (sm_home_action){ &r->devices[i], codes[j] };
	}
	return n;
}

/* What must be done before hand-over (or, after it, now): one line each, for the report and for scripts. */
static json_t *actions_json(const sm_home_result *r)
{
	json_t *a = json_array();
	char msg[700];
	int codes[SM_HOME_ACTIONS_PER_DEVICE];
	for (size_t i = 0; a && i < r->ndevices; i++) {
		const sm_home_device_result *d = &r->devices[i];
		size_t k = device_actions(r, d, codes);
		for (size_t j = 0; j < k; j++) {
			sm_home_action act = { d, codes[j] };
			if (sm_home_action_text(&act, "en", msg, sizeof(msg)) != 0)
				msg[0] = '\0';
			json_array_append_new(a, json_pack("{s:s, s:s, s:s}", "device", d->dev->id, "action",
							   sm_home_action_name(codes[j]), "message", msg));
		}
	}
	return a;
}

json_t *sm_home_result_to_json(const sm_home *h, const sm_home_result *r, sm_date today)
{
	json_t *devs = json_array(), *missing = json_array(), *unplanned = json_array(), *soon = json_array();
	if (!devs || !missing || !unplanned || !soon)
		goto oom;
	for (size_t i = 0; i < r->ndevices; i++) {
		const sm_home_device_result *d = &r->devices[i];
		const sm_home_device *dev = d->dev;
		json_t *check = sm_check_to_json(&d->res, today, 0, 0);
		/* support_end is a new reference (o, stolen); the others are borrowed from `check` (O) */
		json_t *j = json_pack("{s:s, s:s, s:s?, s:s?, s:s, s:s, s:s, s:b, s:b, s:O, s:O, s:O, s:o, s:s?, s:s, s:b}",
				      "id", dev->id, "verdict", sm_verdict_name(d->res.verdict), "room",
				      dev->room[0] ? dev->room : NULL, "category", dev->category[0] ? dev->category : NULL,
				      "vendor", dev->vendor, "model", dev->model, "firmware", dev->firmware, "planned", dev->planned,
				      "installed", dev->installed, "reasons", json_object_get(check, "reasons"), "certificate",
				      json_object_get(check, "certificate"), "required_level", json_object_get(check, "required_level"),
				      "support_end", d->res.cert ? date_or_null(d->res.cert->support_end) : json_null(), "statement",
				      d->statement, "label", label_names[d->label], "update_firmware", d->update_firmware);
		json_decref(check);
		if (!j || json_array_append_new(devs, j))
			goto oom;
		if (dev->planned && !dev->installed)
			json_array_append_new(missing, json_string(dev->id));
		if (dev->installed && !dev->planned)
			json_array_append_new(unplanned, json_string(dev->id));
		if (d->support_soon)
			json_array_append_new(soon, json_string(dev->id));
	}
	json_t *cp = json_null();
	if (r->have_checkpoint) {
		char *root = sm_base64_encode(r->checkpoint_root, SM_HASH_LEN);
		cp = json_pack("{s:I, s:s}", "size", (json_int_t)r->checkpoint_size, "root", root ? root : "");
		free(root);
		if (cp && r->checkpoint_text)
			json_object_set_new(cp, "note", json_string(r->checkpoint_text));
	}
	return json_pack("{s:s, s:s?, s:s, s:i, s:b, s:o, s:o, s:o, s:o, s:o, s:o, s:o}", "home", h->id,
			 "name", h->name[0] ? h->name : NULL, "verdict", sm_verdict_name(r->verdict), "level", r->level,
			 "design", r->counted_planned, "support_end", date_or_null(r->support_end), "support_warnings", soon,
			 "devices", devs, "missing", missing, "unplanned", unplanned, "actions", actions_json(r), "checkpoint", cp);
oom:
	json_decref(devs);
	json_decref(missing);
	json_decref(unplanned);
	json_decref(soon);
	return NULL;
}

bool sm_home_may_join(const sm_home_result *r, size_t first)
{
	bool ok = first < r->ndevices;
	for (size_t i = first; i < r->ndevices; i++)
		ok = ok && (r->devices[i].res.verdict == SM_ALLOW || r->devices[i].res.verdict == SM_WARN);
	return ok;
}

int sm_home_check_retrofits(sm_home *h, size_t added, sm_home_checker check, void *ctx, sm_home_result *out,
			    int *level_before, sm_err *err)
{
	*level_before = -1;
	if (added > h->ndevices)
		return sm_err_set(err, SM_EINVAL, "add", "%zu retrofits in a home of %zu devices", added, h->ndevices);
	if (added) {
		h->ndevices -= added;
		int rc = check(ctx, h, out, err);
		h->ndevices += added;
		if (rc)
			return rc;
		*level_before = out->level;
		sm_home_result_cleanup(out);
	}
	return check(ctx, h, out, err);
}

int sm_home_retrofit_verdict(const sm_home_result *r, size_t first)
{
	int v = SM_ALLOW;
	for (size_t i = first; i < r->ndevices; i++) {
		int d = r->devices[i].res.verdict;
		if (d == SM_DENY || (d == SM_UNKNOWN && v != SM_DENY) || (d == SM_WARN && v == SM_ALLOW))
			v = d;
	}
	return v;
}

int sm_home_retrofit_json(json_t *doc, const sm_home *h, const sm_home_result *r, size_t first, int level_before)
{
	json_t *ids = json_array();
	for (size_t i = first; ids && i < h->ndevices; i++)
		if (json_array_append_new(ids, json_string(h->devices[i].id))) {
			json_decref(ids);
			ids = NULL;
		}
	if (!ids)
		return SM_ENOMEM;
	json_t *rf = json_pack("{s:o, s:b, s:s, s:i, s:i}", "devices", ids, "may_join", sm_home_may_join(r, first),
			       "verdict", sm_verdict_name(sm_home_retrofit_verdict(r, first)), "level_before", level_before,
			       "level_after", r->level);
	return rf && json_object_set_new(doc, "retrofit", rf) == 0 ? 0 : SM_ENOMEM;
}
