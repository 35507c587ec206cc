/* SPDX-License-Identifier: Apache-2.0 */
/* QR labels: the signed label token, its URL, offline verification, and rendering. */
#ifndef STARMARK_LABEL_H
#define STARMARK_LABEL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "starmark/error.h"
#include "starmark/record.h"
#include "starmark/registry.h"
#include "starmark/transfer.h"
#include "starmark/trust.h"

/*
 * The label token is a COSE_Sign1 (untagged, content type SM_COSE_LABEL) by the issuer key over a
 * compact claim set (schema/payloads.cddl `label-claims`):
 *   { 1: serial (uint), 2: level, 3: model, 4: vendor code, 5: registered (day), ? 6: expires (day),
 *     7: scheme, 8: issued at (Unix time) }
 * The certificate id is not spelled out: it is "SM-<year of registered>-<serial, 6+ digits>", so
 * the token stays near 120 bytes and the QR code at version 8 (error correction M) for ordinary
 * model numbers and hosts. `issued at` lets a verifier check that the signing key was valid when
 * the label was made, so labels printed before a key rotation stay genuine.
 *
 * The QR text is "HTTPS://<HOST>/L/<BASE32>" — upper case and base32 (RFC 4648, no padding) keep it
 * in QR alphanumeric mode. HOST is the registry's origin, upper-cased.
 */

#define SM_LABEL_TOKEN_MAX 512   /* bytes of a token we accept */
#define SM_LABEL_URL_MAX 1200    /* characters of a label text we accept */

typedef struct sm_label_claims {
	char id[SM_ID_MAX + 1];
	uint32_t serial;
	int level;
	char model[SM_MODEL_MAX + 1];
	char vendor[SM_VENDOR_MAX + 1];
	sm_date registered;
	sm_date expires; /* SM_DATE_NONE when the certificate has none */
	char scheme[SM_SCHEME_MAX + 1];
	int64_t issued_at;
	uint8_t kid[SM_KID_LEN];
} sm_label_claims;

/** Encode the claims of `model` (one of c->models; NULL for the first) issued at `now`. */
int sm_label_claims_of(const sm_cert *c, const char *model, int64_t now, sm_label_claims *out, sm_err *err);
int sm_label_claims_encode(const sm_label_claims *cl, sm_buf *out);
/** Strict decode (unknown keys, wrong types, caps refused); fills the derived id. */
int sm_label_claims_decode(const uint8_t *p, size_t n, sm_label_claims *out, sm_err *err);

/** Sign the claims into a token with the issuer key (caller frees *tok). */
int sm_label_token_sign(const sm_label_claims *cl, const sm_key *issuer, uint8_t **tok, size_t *n);

/** "HTTPS://HOST/L/BASE32" for a token (caller frees); NULL on OOM. */
char *sm_label_url(const char *host, const uint8_t *tok, size_t n);
/**
 * Extract the token from a label text: a full URL (any case, http or https, any host) or the bare
 * base32 text. SM_EINVAL with a message for anything else (caller frees *tok).
 */
int sm_label_parse(const char *text, size_t len, uint8_t **tok, size_t *n, sm_err *err);

/**
 * Verify a token offline against a trust bundle: 0 and the claims when it is genuine (decodes
 * strictly, content type label, signed by an issuer key of the bundle that was valid at its
 * `issued at`); SM_EVERIFY (not genuine: bad signature, unknown or not-then-valid key, other
 * scheme) or SM_EINVAL (unreadable) with a message saying which.
 */
int sm_label_verify(const uint8_t *tok, size_t n, const sm_trust *trust, sm_label_claims *out, sm_err *err);

/** The registry side: a fresh token URL for a certificate's model, signed with the current issuer key. */
int sm_registry_label(sm_registry *r, const char *id, const char *model, int64_t now, char **url, sm_cert **cert,
		      sm_err *err);

/* ---- rendering ---- */

enum sm_label_format { SM_LABEL_PNG = 1, SM_LABEL_SVG, SM_LABEL_PDF, SM_LABEL_ZPL };

typedef struct sm_label_opts {
	enum sm_label_format format;
	double code_mm;   /* the QR code's side including its 4-module quiet zone; default 20 */
	int ec;           /* QR error correction: 0 L, 1 M (default), 2 Q, 3 H */
	int dpi;          /* PNG and ZPL resolution; default 300 (ZPL: 203 or 300) */
} sm_label_opts;

void sm_label_opts_default(sm_label_opts *o);

/**
 * Render one label: the stars of the level, the scheme name, the model number, the registration
 * number and date, and the QR code of `url`. A model number too long for the layout is refused
 * (SM_EINVAL naming it), never silently cut. Output goes to `write`.
 */
int sm_label_render(const sm_cert *c, const char *model, const char *url, const sm_label_opts *o, sm_write_fn write,
		    void *wctx, sm_err *err);

/**
 * A4 PDF sheets of labels in a grid with cut margins: n labels (each given by certs[i], models[i],
 * urls[i]), each repeated per_id times.
 */
int sm_label_sheet(sm_cert *const *certs, const char *const *models, const char *const *urls, size_t n, int per_id,
		   const sm_label_opts *o, sm_write_fn write, void *wctx, sm_err *err);

#endif
