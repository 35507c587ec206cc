/* SPDX-License-Identifier: Apache-2.0 */
/* Test driver: a home document checked against fixed answers (home_stub.c), as JSON or a hand-over report. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "home_stub.h"
#include "starmark/buf.h"
#include "starmark/home.h"

static int usage(void)
{
	fprintf(stderr, "usage: home_report_driver HOME.json [--now UNIX] [--json] [--report FILE.html|FILE.pdf] "
	                "[--lang ja|en] [--levels N]\n");
	return 2;
}

int main(int argc, char **argv)
{
	const char *home_path = NULL;
	int64_t now = 1719792000; /* 2024-07-01T00:00:00Z */
	int json = 0;
	sm_home_report_opts o = {NULL, 0, 0};
	const char *report = NULL;
	for (int i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--now") == 0 && i + 1 < argc)
			now = strtoll(argv[++i], NULL, 10);
		else if (strcmp(argv[i], "--json") == 0)
			json = 1;
		else if (strcmp(argv[i], "--report") == 0 && i + 1 < argc)
			report = argv[++i];
		else if (strcmp(argv[i], "--lang") == 0 && i + 1 < argc)
			o.lang = argv[++i];
		else if (strcmp(argv[i], "--levels") == 0 && i + 1 < argc)
			o.levels = (int)strtol(argv[++i], NULL, 10);
		else if (argv[i][0] != '-' && !home_path)
			home_path = argv[i];
		else
			return usage();
	}
	if (!home_path)
		return usage();
	uint8_t *text = NULL;
	size_t n = 0;
	sm_home *h = NULL;
	sm_home_result r;
	sm_err err = {0};
	int rc = sm_file_read(home_path, SM_HOME_MAX_SIZE, &text, &n, &err);
	if (!rc)
		rc = sm_home_parse((const char *)text, n, &h, &err);
	free(text);
	if (!rc)
		rc = sm_home_check(h, NULL, sm_stub_check, &now, NULL, now, &r, &err);
	if (rc) {
		fprintf(stderr, "home_report_driver: %s\n", err.msg);
		sm_home_free(h);
		return 1;
	}
	if (sm_stub_checkpoint(&r))
		rc = 1;
	if (!rc && json) {
		json_t *j = sm_home_result_to_json(h, &r, sm_date_from_time(now));
		rc = !j || json_dumpf(j, stdout, JSON_INDENT(2) | JSON_SORT_KEYS) != 0;
		json_decref(j);
		printf("\n");
	}
	o.now = now;
	if (!rc && report && (rc = sm_home_report(h, NULL, &r, &o, report, &err)))
		fprintf(stderr, "home_report_driver: %s\n", err.msg);
	sm_home_result_cleanup(&r);
	sm_home_free(h);
	return rc ? 1 : 0;
}
