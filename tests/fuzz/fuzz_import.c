/* SPDX-License-Identifier: Apache-2.0 */
/* Fuzz the import path (CSV and JSON Lines rows to validated records) on a real registry. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "starmark/starmark.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static sm_registry *reg;

static void setup(void)
{
	char dir[] = "/tmp/sm-fuzz-import-XXXXXX";
	sm_init_opts o = { "CCDS", 3, "fuzz.local", NULL, 1790000000 };
	char fp[65];
	if (!mkdtemp(dir) || sm_registry_init(dir, &o, fp, NULL) || sm_registry_open(dir, true, NULL, &reg, NULL))
		abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (!reg)
		setup();
	if (size < 1)
		return 0;
	/* the first byte picks the format; the log must grow exactly by what the report says */
	enum sm_format fmt = data[0] & 1 ? SM_FORMAT_JSONL : SM_FORMAT_CSV;
	uint64_t before = 0, after = 0;
	sm_import_report rep;
	sm_err err = { 0 };
	if (sm_registry_log_size(reg, &before, NULL))
		abort();
	int rc = sm_import(reg, fmt, (const char *)data + 1, size - 1, false, 1790000000, NULL, NULL, &rep, &err);
	if (sm_registry_log_size(reg, &after, NULL))
		abort();
	if (rc && after != before)
		abort(); /* a refused import wrote something */
	if (!rc && (after - before != rep.events || rep.events < rep.imported))
		abort();
	if (rc && !err.msg[0])
		abort(); /* every refusal says why */
	for (size_t i = 0; i < rep.nerrors; i++)
		if (!rep.errors[i].msg[0] || rep.errors[i].line == 0)
			abort();
	sm_import_report_cleanup(&rep);
	return 0;
}
