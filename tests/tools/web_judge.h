/* SPDX-License-Identifier: Apache-2.0 */
/* lib's answers for the browser's vectors: each case judged from its bytes alone, as a gateway or scanner would. */
#ifndef STARMARK_TEST_WEB_JUDGE_H
#define STARMARK_TEST_WEB_JUDGE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include "starmark/starmark.h"

/*
 * One case's inputs, all borrowed: the anchor its user provisioned (a root key fingerprint, or a signed
 * bundle or chain), the chain a server or cache offers, the snapshot (NULL: none), the rollback floor (the
 * snapshot version a cache's generation records; 0: none) and the time.
 *
 * Device and label cases are answered through a real cache directory written from these bytes
 * (sm_cache_open, sm_cache_check, sm_label_lookup_cache), so the answer is exactly the offline gateway's
 * (`check --offline`) and the offline scanner's (`label verify --cache`).
 */
typedef struct wv_input {
	const char *fingerprint;
	const uint8_t *bundle;
	size_t bundle_n;
	const uint8_t *chain;
	size_t chain_n;
	const uint8_t *snapshot;
	size_t snapshot_n;
	uint64_t floor;
	int64_t now;
} wv_input;

/** The class of a lib error code as the vectors name it: "invalid", "too-big", "verify", "not-found", ... */
const char *wv_class(int rc);

/** The chain followed from the anchor: {"version", "root", "links"} or {"error": class}. */
int wv_follow(const wv_input *in, json_t **out, sm_err *err);
/** The snapshot verified with the followed trust, refused past `expires` and below the floor:
 * {"version", "produced_at", "next_update", "expires", "log_size", "count"} or {"error": class}. */
int wv_snapshot(const wv_input *in, json_t **out, sm_err *err);
/** sm_label_judge with the snapshot as the status source (none: nothing to ask). */
int wv_label(const wv_input *in, const char *text, bool newest, json_t **out, sm_err *err);
/** The offline gateway's verdict (cli/remote.c offline_check): {"verdict", "reasons": [codes], "required_level",
 * "certificate": id or null}. `device` {vendor, model, firmware, category?, level?}, `policy` the document. */
int wv_device(const wv_input *in, const json_t *device, const json_t *policy, json_t **out, sm_err *err);

/**
 * Judge one case of the vectors file (`c`, its inputs naming entries of `blobs`, base64) by its "kind":
 * chain, snapshot, label, device (the functions above), version (sm_version_compare: {"cmp": -1|0|1}) or
 * fwspec (sm_fwspec_parse + sm_fwspec_covers: {"covers"} or {"error"}). *expect: lib's answer (caller
 * decrefs). Returns 0, or an SM_E* code when the case itself is malformed or the machine fails.
 */
int wv_judge_case(const json_t *c, const json_t *blobs, json_t **expect, sm_err *err);

#endif
