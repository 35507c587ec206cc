/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The fuzz targets without libFuzzer: a main() that feeds every file of the directories (or files) named on
 * the command line to LLVMFuzzerTestOneInput, once each, after LLVMFuzzerInitialize when the target has one.
 * ctest runs each target over its committed corpus this way in every build (and under ASan/UBSan in the
 * sanitizer build), so a corpus input that once crashed a parser is tried again by every change. A target
 * reports a finding by crashing or aborting, as under libFuzzer.
 */
#include <dirent.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerInitialize(int *argc, char ***argv) __attribute__((weak));

#define REPLAY_MAX (16u << 20)

static int one(const char *path, size_t *n)
{
	FILE *f = fopen(path, "rb");
	if (!f) {
		fprintf(stderr, "replay: cannot read %s\n", path);
		return 1;
	}
	uint8_t *buf = malloc(REPLAY_MAX);
	size_t len = buf ? fread(buf, 1, REPLAY_MAX, f) : 0;
	fclose(f);
	if (!buf)
		return 1;
	/* a copy of exactly the input's size, so that ASan sees a read past its end */
	uint8_t *exact = malloc(len ? len : 1);
	if (!exact) {
		free(buf);
		return 1;
	}
	memcpy(exact, buf, len);
	free(buf);
	LLVMFuzzerTestOneInput(exact, len);
	free(exact);
	(*n)++;
	return 0;
}

static int cmp(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

int main(int argc, char **argv)
{
	if (LLVMFuzzerInitialize)
		LLVMFuzzerInitialize(&argc, &argv);
	size_t n = 0;
	int bad = 0;
	for (int i = 1; i < argc; i++) {
		struct stat st;
		if (stat(argv[i], &st) != 0) {
			fprintf(stderr, "replay: no %s\n", argv[i]);
			return 2;
		}
		if (!S_ISDIR(st.st_mode)) {
			bad |= one(argv[i], &n);
			continue;
		}
		DIR *d = opendir(argv[i]);
		char **names = NULL;
		size_t nn = 0, cap = 0;
		struct dirent *e;
		while (d && (e = readdir(d))) {
			if (e->d_name[0] == '.')
				continue;
			if (nn == cap) {
				cap = cap ? cap * 2 : 64;
				char **more = realloc(names, cap * sizeof(*names));
				if (!more)
					return 2;
				names = more;
			}
			size_t len = strlen(argv[i]) + strlen(e->d_name) + 2;
			names[nn] = malloc(len);
			if (!names[nn])
				return 2;
			snprintf(names[nn++], len, "%s/%s", argv[i], e->d_name);
		}
		if (d)
			closedir(d);
		qsort(names, nn, sizeof(*names), cmp); /* the same order every run */
		for (size_t k = 0; k < nn; k++) {
			bad |= one(names[k], &n);
			free(names[k]);
		}
		free(names);
	}
	printf("replayed %zu inputs\n", n);
	return bad || n == 0 ? 1 : 0;
}
