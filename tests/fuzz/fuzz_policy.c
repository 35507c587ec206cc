/* SPDX-License-Identifier: Apache-2.0 */
/* libFuzzer target for the policy parser: any bytes; a parsed policy keeps its invariants. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "starmark/json.h"
#include "starmark/verdict.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	sm_policy p;
	sm_err err;
	int rc = sm_policy_parse((const char *)data, size, &p, &err);
	if (rc != 0) {
		if ((rc != SM_EINVAL && rc != SM_ETOOBIG) || !err.msg[0])
			abort();
		return 0;
	}
	if (p.default_level < 1 || p.default_level > SM_LEVELS_MAX || p.ncats > SM_POLICY_MAX_CATEGORIES ||
	    p.offline_grace < 0 || p.offline_grace > 8760 * 3600 || p.support_warn_days < 0 ||
	    p.support_warn_days > 3650 || memchr(p.name, '\0', sizeof(p.name)) == NULL)
		abort();
	int top = p.default_level;
	for (size_t i = 0; i < p.ncats; i++) {
		if (sm_check_category(p.cats[i].category, NULL) != 0)
			abort();
		if (p.cats[i].level < 1 || p.cats[i].level > SM_LEVELS_MAX)
			abort();
		if (p.cats[i].level > top)
			top = p.cats[i].level;
		if (sm_policy_level(&p, p.cats[i].category) != p.cats[i].level)
			abort(); /* duplicate categories are refused, so the first match is this one */
	}
	if (sm_policy_level(&p, NULL) != p.default_level)
		abort();
	/* it fits exactly the schemes that have its highest level, naming a field when it does not */
	if (sm_policy_fits(&p, top, &err) != 0 || sm_policy_fits(&p, SM_LEVELS_MAX, &err) != 0)
		abort();
	if (top > 1 && (sm_policy_fits(&p, top - 1, &err) != SM_EINVAL || !err.field[0] || !err.msg[0]))
		abort();
	/* its JSON view parses back to the same policy */
	json_t *j = sm_policy_to_json(&p);
	char *text = j ? json_dumps(j, JSON_COMPACT) : NULL;
	sm_policy back;
	if (text && (sm_policy_parse(text, strlen(text), &back, &err) != 0 || memcmp(&p, &back, sizeof(p)) != 0))
		abort();
	free(text);
	json_decref(j);
	return 0;
}
