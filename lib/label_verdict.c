/* SPDX-License-Identifier: Apache-2.0 */
/* The verdict on a label: its claims against the registry's record. */
#include <stdio.h>
#include <string.h>

#include "starmark/label.h"

int sm_label_match(const sm_label_claims *cl, const sm_cert *c, sm_err *err)
{
	char a[11], b[11], q[80];
	if (strcmp(cl->id, c->id) != 0)
		return sm_err_set(err, SM_EVERIFY, "id", "the label is of certificate %s, the record is %s", cl->id,
				  c->id);
	if (strcmp(cl->scheme, c->scheme) != 0)
		return sm_err_set(err, SM_EVERIFY, "scheme",
				  "the label is of scheme '%s', certificate %s of scheme %s", cl->scheme, c->id,
				  c->scheme);
	if (strcmp(cl->vendor, c->vendor) != 0)
		return sm_err_set(err, SM_EVERIFY, "vendor", "the label names vendor %s, certificate %s vendor %s",
				  cl->vendor, c->id, c->vendor);
	size_t i = 0;
	while (i < c->nmodels && strcmp(c->models[i], cl->model) != 0)
		i++;
	if (i == c->nmodels) {
		sm_err_quote(q, sizeof(q), cl->model, strlen(cl->model));
		return sm_err_set(err, SM_EVERIFY, "model", "the label names model '%s', which is not a model of certificate %s",
				  q, c->id);
	}
	if (cl->level != c->level)
		return sm_err_set(err, SM_EVERIFY, "level", "the label says level %d, certificate %s is level %d",
				  cl->level, c->id, c->level);
	if (cl->registered != c->registered) {
		sm_date_format(cl->registered, a);
		sm_date_format(c->registered, b);
		return sm_err_set(err, SM_EVERIFY, "registered",
				  "the label says registered %s, certificate %s was registered %s", a, c->id, b);
	}
	return 0;
}
