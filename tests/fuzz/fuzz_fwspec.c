/* SPDX-License-Identifier: Apache-2.0 */
/* libFuzzer target: firmware specs survive format + re-parse; version order is antisymmetric. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "starmark/version.h"

/* abort(), not assert(): release builds define NDEBUG and the checks must stay. */
static void check(int ok)
{
	if (!ok)
		abort();
}

static int sign(int x)
{
	return (x > 0) - (x < 0);
}

static const char *const PROBES[] = {
	"0", "1", "1.0", "1.00", "1.0~rc1", "1.0-1", "1.0.0", "2.0", "2.0.1", "10", "1:0", "V2.1b", "~", "a",
	"2024.03.1", "99999999999999999999999",
};

/* Both specs must cover the same versions: fixed probes, each bound of `text`, and neighbours. */
static void same_coverage(const sm_fwspec *a, const sm_fwspec *b, const char *text)
{
	for (size_t i = 0; i < sizeof(PROBES) / sizeof(PROBES[0]); i++)
		check(sm_fwspec_covers(a, PROBES[i]) == sm_fwspec_covers(b, PROBES[i]));
	static const char *const SUFFIX[] = { "", "~", "0", ".0", "a", "+" };
	size_t probes = 0;
	for (const char *p = text; *p && probes < 64;) {
		p += strspn(p, ", <>=");
		const size_t n = strcspn(p, ", ");
		if (n == 0)
			continue;
		for (size_t k = 0; k < sizeof(SUFFIX) / sizeof(SUFFIX[0]); k++) {
			char v[SM_VERSION_MAX + 4];
			const size_t sl = strlen(SUFFIX[k]);
			check(n <= SM_VERSION_MAX);
			memcpy(v, p, n);
			memcpy(v + n, SUFFIX[k], sl + 1);
			check(sm_fwspec_covers(a, v) == sm_fwspec_covers(b, v));
		}
		probes++;
		p += n;
	}
}

static void fuzz_spec(const char *text)
{
	sm_fwspec *s = NULL, *s2 = NULL, *s3 = NULL;
	char *f1 = NULL, *f2 = NULL;
	sm_err err;
	if (sm_fwspec_parse(text, &s, &err)) {
		check(s == NULL && err.msg[0] != '\0');
		return;
	}
	f1 = sm_fwspec_format(s);
	check(f1 != NULL && strlen(f1) <= SM_FWSPEC_MAX);
	check(sm_fwspec_parse(f1, &s2, &err) == 0);
	f2 = sm_fwspec_format(s2);
	check(f2 != NULL && strcmp(f1, f2) == 0);
	check(sm_fwspec_count(s) == sm_fwspec_count(s2));
	same_coverage(s, s2, f1);
	/* merging a spec into a copy of itself covers the same versions, or hits a cap */
	check(sm_fwspec_parse(f1, &s3, &err) == 0);
	if (sm_fwspec_merge(s3, s2) == 0) {
		check(sm_fwspec_count(s3) == 2 * sm_fwspec_count(s));
		same_coverage(s, s3, f1);
	}
	sm_fwspec_free(s3);
	free(f2);
	sm_fwspec_free(s2);
	free(f1);
	sm_fwspec_free(s);
}

static void fuzz_order(const char *a, const char *b)
{
	if (sm_version_validate(a, NULL) || sm_version_validate(b, NULL))
		return;
	check(sm_version_compare(a, a) == 0);
	check(sign(sm_version_compare(a, b)) == -sign(sm_version_compare(b, a)));
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size > SM_FWSPEC_MAX + 16)
		return 0;
	char *text = malloc(size + 1);
	if (!text)
		return 0;
	memcpy(text, data, size);
	text[size] = '\0';
	fuzz_spec(text);

	/* the two halves, as two versions */
	char *a = malloc(size / 2 + 1), *b = malloc(size - size / 2 + 1);
	if (a && b) {
		memcpy(a, data, size / 2);
		a[size / 2] = '\0';
		memcpy(b, data + size / 2, size - size / 2);
		b[size - size / 2] = '\0';
		fuzz_order(a, b);
	}
	free(b);
	free(a);
	free(text);
	return 0;
}
