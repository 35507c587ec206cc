/* SPDX-License-Identifier: Apache-2.0 */
/* The unit tests' shared fixture: a temporary registry and certificates in it (one copy, not one per test file). */
#ifndef STARMARK_TEST_FIXTURE_H
#define STARMARK_TEST_FIXTURE_H

#include <stdint.h>

#include "starmark/starmark.h"

/* A registry in a new temporary directory: scheme CCDS, 3 levels, `origin`, made and opened at `now` for
 * writing. dir receives the directory (at least 64 bytes). Fails the test on any error. */
sm_registry *fx_registry_new(char dir[64], const char *origin, int64_t now);
/* Close it and remove its directory. */
void fx_registry_free(sm_registry *r, const char *dir);
/* A draft certificate (vendor name "Vendor", product "製品", registered 2026-08-31, one model); caller frees. */
sm_cert *fx_draft(const char *vendor, const char *model, int level, const char *fw, const char *category);
/* Issue a certificate (vendor name "Vendor", product "製品", registered 2026-08-31): one model, `level`,
 * firmware `fw`, `category` and `support_end` optional (NULL, SM_DATE_NONE). id (may be NULL) receives it. */
void fx_issue(sm_registry *r, const char *vendor, const char *model, int level, const char *fw, const char *category,
	      sm_date support_end, int64_t now, char id[32]);

#endif
