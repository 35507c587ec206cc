/* SPDX-License-Identifier: Apache-2.0 */
/* The fuzz targets' fixed registry: keys from fixed seeds, a chain of three trust bundles, real signed seeds. */
#ifndef STARMARK_FUZZ_FIXTURE_H
#define STARMARK_FUZZ_FIXTURE_H

#include <stddef.h>
#include <stdint.h>

#include "starmark/keys.h"
#include "starmark/record.h"
#include "starmark/trust.h"

/*
 * sm_registry_init makes random keys, so a target could not verify a registry's objects against a
 * fixed trust bundle. This fixture is a registry's trust history from fixed seeds instead, built and
 * signed the way lib/registry.c builds them (sm_trust_encode + sm_cose_sign1 by the root; a root
 * change carries the new root's proof), and its objects are made by the same calls as the registry's
 * (sm_statement_encode, sm_snapshot_head_encode/cert_encode, sm_cose_sign1: for a snapshot these give
 * the very bytes of sm_registry_snapshot with the same key).
 *
 *   v1 (FX_T1): root R1; issuer, status S1 and log keys from FX_T1
 *   v2 (FX_T2): the status key rotated: S1 valid until FX_T2, S2 from FX_T2
 *   v3 (FX_T3): the root rotated to R2 (signed by R1, proved by R2)
 */
#define FX_T1 1600000000
#define FX_T2 1700000000
#define FX_T3 1750000000
#define FX_NOW 1790000000

extern sm_trust fx_trust[3];         /* v1, v2, v3 */
extern uint8_t *fx_trust_signed[3];  /* their COSE_Sign1 bytes */
extern size_t fx_trust_signed_len[3];
extern sm_key *fx_root1, *fx_root2, *fx_status1, *fx_status2;

/** Build the keys and the chain (once; aborts on failure: a target without its fixture is no test). */
void fx_init(void);
/** fx_init, then, when $SM_FUZZ_SEEDS names a directory, write the target's seed corpus there. */
void fx_init_seeds(void (*write_seeds)(const char *dir));
/** A certificate with every field set (caller frees). */
sm_cert *fx_cert(const char *id, const char *model, bool with_category);
/** Write p[0..n) to dir/name, aborting on failure (seed corpus writers). */
void fx_put(const char *dir, const char *name, const void *p, size_t n);

#endif
