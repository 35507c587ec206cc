/* SPDX-License-Identifier: Apache-2.0 */
/* Label rendering timings for bench/labels.sh: N PNG labels, or one PDF sheet of N labels, or the N texts. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "starmark/label.h"
#include "starmark/starmark.h"

#define HOST_PREFIX "HTTPS://REGISTRY.EXAMPLE.JP/L/"
#define TOKEN_CHARS 190 /* base32 of a ~119-byte token: a version 8 code at M, as real labels */
#define URL_CAP (sizeof(HOST_PREFIX) + TOKEN_CHARS + 1)

/* The i-th text: the same prefix and a pseudo-random base32 token, distinct for each i. */
static void make_url(unsigned i, char out[URL_CAP])
{
	static const char b32[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";
	uint64_t x = 0x9e3779b97f4a7c15ull * (i + 1);
	size_t n = sizeof(HOST_PREFIX) - 1;
	memcpy(out, HOST_PREFIX, n);
	for (int k = 0; k < TOKEN_CHARS; k++) {
		x ^= x << 13;
		x ^= x >> 7;
		x ^= x << 17;
		out[n++] = b32[x & 31];
	}
	out[n] = '\0';
}

static int count_write(void *ctx, const void *p, size_t n)
{
	*(size_t *)ctx += n;
	return 0;
}

static int count_label(void *ctx, size_t i, const uint8_t *p, size_t n)
{
	(void)i;
	(void)p;
	*(size_t *)ctx += n;
	return 0;
}

static double now_s(void)
{
	struct timespec t;
	clock_gettime(CLOCK_MONOTONIC, &t);
	return (double)t.tv_sec + t.tv_nsec / 1e9;
}

/*
 * The i-th certificate: its own id, model number, product name, level and date, so that every label
 * sets different text (a batch of 1,000 labels is 1,000 certificates: the labels of one certificate
 * and model are all the same label, printed N times).
 */
static sm_cert *make_cert(unsigned i)
{
	static const char *const products[] = {
	    "ガス給湯器 エコジョーズ", "無線LAN対応リモコン", "Smart Door Lock DL-7", "ネットワークカメラ 屋外用",
	    "Wi-Fi Smart Plug", "エアコン 室内機 無線アダプタ", "Home Gateway HG-210", "スマートスピーカー"};
	static const char *const prefixes[] = {"RUF-E", "MC-", "DL7-", "NC-", "SP-", "RAS-", "HG210-", "SSK-"};
	sm_cert *c = sm_cert_new();
	if (!c)
		return NULL;
	snprintf(c->id, sizeof(c->id), "SM-2024-%06u", 100 + i);
	snprintf(c->scheme, sizeof(c->scheme), "CCDS");
	snprintf(c->vendor, sizeof(c->vendor), "VENDOR%u", i % 97);
	c->product = strdup(products[i % 8]);
	c->models = calloc(1, sizeof(char *));
	char model[32];
	snprintf(model, sizeof(model), "%s%04u%c", prefixes[(i / 8) % 8], (i * 37) % 10000, 'A' + (int)(i % 26));
	if (!c->product || !c->models || !(c->models[0] = strdup(model))) {
		sm_cert_free(c);
		return NULL;
	}
	c->nmodels = 1;
	c->level = 1 + (int)(i % 3);
	c->registered = 19814 + (int32_t)(i % 700); /* from 2024-04-01 */
	return c;
}

int main(int argc, char **argv)
{
	char *end = NULL;
	long n = argc == 3 ? strtol(argv[2], &end, 10) : 0;
	if (argc != 3 || *end || n < 1 || n > SM_LABEL_SHEET_MAX ||
	    (strcmp(argv[1], "png") && strcmp(argv[1], "png1") && strcmp(argv[1], "sheet") &&
	     strcmp(argv[1], "urls"))) {
		fprintf(stderr,
		        "usage: bench_labels png|png1|sheet|urls N\n"
		        "  png: render N PNG labels on every processor (sm_label_render_many), print the\n"
		        "  seconds; png1: the same on this thread alone; sheet: one PDF sheet of N labels;\n"
		        "  urls: print the N label texts, one a line\n");
		return 2;
	}
	char(*urls)[URL_CAP] = calloc((size_t)n, URL_CAP);
	const char **u = calloc((size_t)n, sizeof(*u));
	sm_cert **certs = calloc((size_t)n, sizeof(*certs));
	if (!urls || !u || !certs) {
		fprintf(stderr, "bench_labels: out of memory\n");
		return 1;
	}
	for (long i = 0; i < n; i++) {
		make_url((unsigned)i, urls[i]);
		u[i] = urls[i];
		if (!(certs[i] = make_cert((unsigned)i))) {
			fprintf(stderr, "bench_labels: out of memory\n");
			return 1;
		}
	}
	int rc = 0;
	size_t bytes = 0;
	sm_err err = {0};
	sm_label_opts o;
	sm_label_opts_default(&o);
	if (strcmp(argv[1], "urls") == 0) {
		for (long i = 0; i < n; i++)
			printf("%s\n", urls[i]);
	} else if (strcmp(argv[1], "png") == 0) {
		double t0 = now_s();
		rc = sm_label_render_many(certs, NULL, u, (size_t)n, &o, 0, count_label, &bytes, &err);
		double t = now_s() - t0;
		if (!rc)
			printf("%.6f %zu\n", t, bytes);
	} else if (strcmp(argv[1], "png1") == 0) {
		double t0 = now_s();
		sm_label_renderer *r = sm_label_renderer_new(&err);
		rc = r ? 0 : err.code;
		for (long i = 0; i < n && rc == 0; i++)
			rc = sm_label_renderer_render(r, certs[i], NULL, urls[i], &o, count_write, &bytes, &err);
		sm_label_renderer_free(r);
		double t = now_s() - t0;
		if (!rc)
			printf("%.6f %zu\n", t, bytes);
	} else {
		double t0 = now_s();
		rc = sm_label_sheet(certs, NULL, u, (size_t)n, 1, &o, count_write, &bytes, &err);
		double t = now_s() - t0;
		if (!rc)
			printf("%.6f %zu\n", t, bytes);
	}
	if (rc)
		fprintf(stderr, "bench_labels: %s\n", err.msg);
	for (long i = 0; i < n; i++)
		sm_cert_free(certs[i]);
	free(certs);
	free(u);
	free(urls);
	return rc ? 1 : 0;
}
