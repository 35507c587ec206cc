/* SPDX-License-Identifier: Apache-2.0 */
/* Firmware versions: one ordering for every vendor's version strings, and coverage specs. */
#ifndef STARMARK_VERSION_H
#define STARMARK_VERSION_H

#include <stdbool.h>
#include <stddef.h>

#include "starmark/error.h"

/* A version string is at most this many bytes. */
#define SM_VERSION_MAX 64
/* A firmware spec is at most this many bytes and this many items. */
#define SM_FWSPEC_MAX 4096
#define SM_FWSPEC_MAX_ITEMS 128

/**
 * Check that `v` is a firmware version starmark accepts: 1..SM_VERSION_MAX bytes of printable
 * ASCII other than space, ',', '<', '>', '='. SM_EINVAL with a message naming the byte.
 */
int sm_version_validate(const char *v, sm_err *err);

/**
 * Compare two versions with Debian's ordering (dpkg's verrevcmp over epoch, upstream
 * version and revision, exactly as `dpkg --compare-versions` orders valid Debian versions):
 * digits compare as numbers, '~' sorts before everything (even the end), letters before
 * other characters. Returns <0, 0 or >0. Total and deterministic for any valid string.
 */
int sm_version_compare(const char *a, const char *b);

/*
 * A coverage spec: a comma-separated list of items; each item is an exact version ("1.2.3")
 * or one or two bounds joined by spaces (">=1.2.0 <2.0", ">1", "<=3.0"), all of which must
 * hold. Opaque.
 */
typedef struct sm_fwspec sm_fwspec;

/** Parse `text` into a new spec the caller frees; SM_EINVAL/SM_ETOOBIG name the item at fault. */
/*
 * Items are trimmed; a bound is ">=", ">", "<=" or "<" directly followed by a version;
 * two bounds must be one lower and one upper with lower <= upper, and not both equal with one
 * exclusive (such an item covers nothing). err->field is "firmware". SM_ETOOBIG also when the
 * canonical text (sm_fwspec_format) would pass SM_FWSPEC_MAX bytes, so every spec re-parses.
 * Exact items match by sm_version_compare() == 0: "1.0" also covers "1.00" and "1.0-0".
 * sm_fwspec_format writes the lower bound of a range first ("<2 >=1" becomes ">=1 <2").
 */
int sm_fwspec_parse(const char *text, sm_fwspec **out, sm_err *err);
void sm_fwspec_free(sm_fwspec *s);
/** True when `version` falls in any item of the spec. */
bool sm_fwspec_covers(const sm_fwspec *s, const char *version);
/** The canonical text of the spec (items in input order, single spaces, ", " between items); caller frees; NULL on OOM. */
char *sm_fwspec_format(const sm_fwspec *s);
/** Append the items of `add` to `dst` (amend --add-firmware); SM_ETOOBIG past the item cap. */
/*
 * Also SM_ETOOBIG when the canonical text would pass SM_FWSPEC_MAX bytes; SM_ENOMEM.
 * On failure `dst` is unchanged. `add` may be `dst` itself.
 */
int sm_fwspec_merge(sm_fwspec *dst, const sm_fwspec *add);
/** How many items the spec has. */
size_t sm_fwspec_count(const sm_fwspec *s);

#endif
