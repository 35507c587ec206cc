/* SPDX-License-Identifier: Apache-2.0 */
/* The reference of bench/homes.sh: the same single-device checks an estate makes, one sm_cache_check each, in one process. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "starmark/starmark.h"
#include "starmark/sync.h"

/*
 * Usage: bench_homes CACHE_DIR ANCHOR DEVICES.tsv
 * DEVICES.tsv: one device a line, "VENDOR<TAB>MODEL<TAB>FIRMWARE<TAB>CATEGORY" (the estate's devices in
 * order). Opens the cache as `home check --offline` does (the anchor, the chain, the snapshot mapped),
 * checks every device under the default policy, and prints "checks SECONDS allow warn deny unknown".
 */
static double now_s(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

int main(int argc, char **argv)
{
	if (argc != 4) {
		fprintf(stderr, "usage: bench_homes CACHE_DIR ANCHOR DEVICES.tsv\n");
		return 2;
	}
	FILE *f = fopen(argv[3], "r");
	if (!f) {
		perror(argv[3]);
		return 2;
	}
	size_t n = 0, cap = 0;
	char **lines = NULL, buf[512];
	while (fgets(buf, sizeof(buf), f)) {
		if (n == cap) {
			cap = cap ? cap * 2 : 1024;
			lines = realloc(lines, cap * sizeof(*lines));
		}
		buf[strcspn(buf, "\n")] = '\0';
		lines[n++] = strdup(buf);
	}
	fclose(f);
	sm_check_req *q = calloc(n, sizeof(*q));
	for (size_t i = 0; i < n; i++) {
		char *s = lines[i];
		q[i].vendor = strsep(&s, "\t");
		q[i].model = strsep(&s, "\t");
		q[i].firmware = strsep(&s, "\t");
		q[i].category = s && *s ? s : NULL;
	}
	double t0 = now_s();
	sm_anchor *a = NULL;
	sm_cache *c = NULL;
	sm_err err = { 0 };
	if (sm_anchor_load(argv[2], &a, &err) || sm_cache_open(argv[1], a, &c, &err)) {
		fprintf(stderr, "bench_homes: %s\n", err.msg);
		return 4;
	}
	sm_policy p;
	sm_policy_default(&p);
	size_t counts[4] = { 0 };
	int64_t now = (int64_t)time(NULL);
	const char *env = getenv("STARMARK_NOW");
	if (env && *env) {
		sm_date d;
		if (sm_date_parse(env, false, "STARMARK_NOW", &d, NULL) == 0)
			now = (int64_t)d * 86400;
	}
	for (size_t i = 0; i < n; i++) {
		sm_check_result r;
		if (sm_cache_check(c, &q[i], &p, now, &r, NULL, &err)) {
			fprintf(stderr, "bench_homes: %s\n", err.msg);
			return 4;
		}
		counts[r.verdict]++;
		sm_check_result_cleanup(&r);
	}
	double t = now_s() - t0;
	printf("%zu %.3f %zu %zu %zu %zu\n", n, t, counts[SM_ALLOW], counts[SM_WARN], counts[SM_DENY], counts[SM_UNKNOWN]);
	sm_cache_close(c);
	sm_anchor_free(a);
	for (size_t i = 0; i < n; i++)
		free(lines[i]);
	free(lines);
	free(q);
	return 0;
}
