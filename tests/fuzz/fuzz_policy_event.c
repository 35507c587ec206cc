/* SPDX-License-Identifier: Apache-2.0 */
/* libFuzzer target for the policy event payload (log entries of content type 65005), as log verify reads them. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "registry_int.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	sm_policy_event e, again;
	sm_err err;
	int rc = sm_policy_event_decode(data, size, &e, &err);
	if (rc != 0) {
		if ((rc != SM_EINVAL && rc != SM_ETOOBIG && rc != SM_ENOMEM) || !err.msg[0] || e.json)
			abort();
		return 0;
	}
	/* what decodes has an action, a name, and a policy exactly when it is a publish */
	if ((e.action != SM_POLICY_PUBLISH && e.action != SM_POLICY_WITHDRAW) || !e.name[0] ||
	    (e.action == SM_POLICY_PUBLISH) != (e.json != NULL) || (e.json && strlen(e.json) != e.json_len))
		abort();
	/* its encoding decodes to the same event, and encodes to the same bytes again */
	sm_buf b1 = SM_BUF_INIT, b2 = SM_BUF_INIT;
	if (sm_policy_event_encode(&e, &b1) != 0 || sm_policy_event_decode(b1.data, b1.len, &again, &err) != 0)
		abort();
	if (again.action != e.action || strcmp(again.name, e.name) != 0 || again.at != e.at ||
	    again.json_len != e.json_len || (e.json && memcmp(again.json, e.json, e.json_len) != 0))
		abort();
	if (sm_policy_event_encode(&again, &b2) != 0 || b1.len != b2.len || memcmp(b1.data, b2.data, b1.len) != 0)
		abort();
	sm_buf_cleanup(&b1);
	sm_buf_cleanup(&b2);
	sm_policy_event_cleanup(&again);
	sm_policy_event_cleanup(&e);
	return 0;
}
