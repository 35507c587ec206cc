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
 * compact claim set (schema/payloads.cddl `label-claims`), a CBOR array in this fixed order:
 *   [ serial (uint), level, model, vendor code, registered (day), issued at (Unix seconds) ]
 * The certificate id is not spelled out: it is "SM-<year of registered>-<serial, 6+ digits>".
 * `issued at` lets a verifier check that the signing key was valid when the label was made, so
 * labels printed before a key rotation stay genuine.
 *
 * Why so few bytes: a V8-M QR code holds 221 alphanumeric characters; less "HTTPS://<19-char
 * host>/L/" that leaves 191 base32 characters = 119 token bytes, of which the COSE_Sign1 itself
 * takes 78 (64 signature, 7 protected header, 7 CBOR framing). The claims get about 41 bytes. So:
 *  - no kid in the protected header (SM_COSE_NO_KID, 10 bytes): a verifier tries the issuer keys of
 *    the bundle that were valid at `issued at` — one, or two around a rotation;
 *  - an array, not a map with integer keys (saves one byte per field);
 *  - no scheme: an issuer key belongs to exactly one trust bundle, whose one scheme is therefore
 *    implied; sm_label_verify fills `scheme` from the bundle;
 *  - no expiry: it is the one claim a renewal changes, so a printed label would go stale; the
 *    current expiry and status come from the registry, a status statement or a snapshot.
 * A typical token (serial 1, model "MC-301V", vendor "RINNAI") is 104 bytes and its URL with host
 * REGISTRY.EXAMPLE.JP (19 characters) is QR version 8 at error correction M. Measured envelope for
 * that host (tests/unit/test_label.c): model + vendor code up to 28 characters for serials below
 * 24, 27 below 256, 26 below 65536, 24 above; every two characters less of host give about one more.
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
	sm_date expires; /* not carried by the token: always SM_DATE_NONE (see above) */
	char scheme[SM_SCHEME_MAX + 1]; /* not carried: claims_of copies the cert's, verify the bundle's */
	int64_t issued_at;
	uint8_t kid[SM_KID_LEN]; /* the signer's, filled by sm_label_verify */
} sm_label_claims;

/**
 * The claims of `model` (one of c->models; NULL for the first) for a label made at `now`.
 * SM_EINVAL naming the model when it is not one of the certificate's, or when the certificate's id
 * is not derivable from its registration year and serial, or `now` is before the registration.
 */
int sm_label_claims_of(const sm_cert *c, const char *model, int64_t now, sm_label_claims *out, sm_err *err);
/** The deterministic CBOR of the claims, appended to `out`. SM_EINVAL for claims decode would refuse. */
int sm_label_claims_encode(const sm_label_claims *cl, sm_buf *out);
/**
 * Strict decode: an array of exactly 6, each of its type, serial 1..999999999, level 1..9, model
 * and vendor code per the field rules, dates in range and not issued before registered, nothing
 * after, and only the one deterministic encoding. Fills the derived id; scheme empty, expires
 * SM_DATE_NONE. SM_EINVAL (or SM_ETOOBIG for an over-long array) naming the field.
 */
int sm_label_claims_decode(const uint8_t *p, size_t n, sm_label_claims *out, sm_err *err);

/** Sign the claims into a token with the issuer key (caller frees *tok). SM_EINVAL, SM_EKEY, SM_ENOMEM. */
int sm_label_token_sign(const sm_label_claims *cl, const sm_key *issuer, uint8_t **tok, size_t *n);

/** "HTTPS://HOST/L/BASE32" for a token, all upper case (caller frees); NULL on OOM. */
char *sm_label_url(const char *host, const uint8_t *tok, size_t n);
/**
 * Extract the token from a label text: a full URL (any case, http or https, any host, path /L/) or
 * the bare base32 text; surrounding white space is ignored. SM_EINVAL (the text is unreadable as a
 * label) saying why: empty, over SM_LABEL_URL_MAX, no /L/ path, not base32, a token over
 * SM_LABEL_TOKEN_MAX. Caller frees *tok.
 */
int sm_label_parse(const char *text, size_t len, uint8_t **tok, size_t *n, sm_err *err);

/**
 * The host of a label URL as written (between the scheme and /L/), "" for a bare token: 0, or what
 * sm_label_parse would refuse the text for (SM_EINVAL), SM_ETOOBIG when it needs more than `cap`.
 */
int sm_label_host(const char *text, size_t len, char *host, size_t cap);

/*
 * Whether a label URL's host is the registry's origin (ASCII case aside: labels print it upper case).
 * The registry writes its origin, and nothing else, into every label it makes (sm_registry_label), and
 * a trust bundle's origin never changes along its chain: a genuine token under another host was put
 * into a code by someone else — the token still says what the registry signed, but the code's link
 * leads elsewhere (a phishing copy of a real label). Front ends say so beside the verdict.
 */
bool sm_label_host_is(const char *host, const char *origin);

/*
 * Who signed a label. Tokens carry no kid, so a verifier tries every issuer key of its bundle:
 *  - a key that verifies and was valid at the label's `issued at`: genuine;
 *  - a key that verifies but was not valid then (a retired key signing after its time, a key dated
 *    before its time): not genuine;
 *  - no key of the bundle verifies (for a token with a kid: the kid is not in the bundle at all):
 *    - the label is dated in or after the second the bundle was made (issued_at >= trust->at): the
 *      registry may have made an issuer key since (times are whole seconds, and a key's validity
 *      includes its second), which this bundle cannot know. The signer is UNKNOWN, not forged:
 *      "update the trust bundle" (SM_ENOTFOUND). A forgery dated so looks the same, so this is
 *      never genuine, only undecided until the verifier holds a newer bundle;
 *    - dated before the bundle was made: every issuer key that could have signed it is in the
 *      bundle (bundles keep retired keys with their validity): forged or altered (SM_EVERIFY).
 * So an old label checked with a new bundle is genuine, a new label checked with an old bundle is an
 * unknown signer. Against the registry's newest bundle (its own, or the server's followed from the
 * anchor) an unknown signer is not genuine: sm_label_judge says so.
 */

/**
 * Verify a token offline against a trust bundle: 0 and the claims when it is genuine (decodes
 * strictly, content type label, signed by an issuer key of the bundle that was valid at its
 * `issued at`); `out->scheme` is the bundle's and `out->kid` the signer's. Otherwise the code is
 * the class and the message says why (for the user, never to be parsed): SM_EVERIFY not genuine
 * (bad signature, a key not valid then, another kind of signed object), SM_ENOTFOUND an unknown
 * signer (the rule above; the message says to update the trust bundle), SM_EINVAL unreadable (not a
 * COSE_Sign1, claims malformed), SM_ENOMEM.
 */
int sm_label_verify(const uint8_t *tok, size_t n, const sm_trust *trust, sm_label_claims *out, sm_err *err);

/**
 * Whether a genuine label's claims are the registry's record `c`: the same id, scheme, vendor code,
 * level and registration date, and a model that is one of the record's models (models are only ever
 * added to a certificate, so a label of any model it had stays a label of it). `cl` is what
 * sm_label_verify filled (its scheme the bundle's). Returns 0, or SM_EVERIFY with `field` the claim
 * that differs ("id", "scheme", "vendor", "model", "level", "registered") and both values in the
 * message. A genuine label whose claims differ from the record was signed by the registry's key
 * for something the registry does not hold: no front end may call it a label of that certificate.
 */
int sm_label_match(const sm_label_claims *cl, const sm_cert *c, sm_err *err);

/* ---- the verdict on a label ---- */

/*
 * A genuine label says the record was issued; it cannot say the record is still good (DESIGN.md,
 * Labels). The verdict combines the two, in one place, for every front end: `label verify` maps it to
 * its exit code, the certificate page to what it shows. Nothing parses the messages.
 */
enum sm_label_verdict {
	SM_LABEL_GENUINE_IN_FORCE = 0, /* genuine, and its certificate is in force: active, not expired, data fresh */
	SM_LABEL_NOT_GENUINE,          /* forged, altered, another kind of object, a key not valid then */
	SM_LABEL_CLAIMS_DIFFER,        /* signed by the registry's key, but not what its record says (sm_label_match) */
	SM_LABEL_NOT_IN_FORCE,         /* genuine; the certificate is suspended, revoked or expired */
	SM_LABEL_UNKNOWN_SIGNER,       /* no key of the bundle signed it, dated not before the bundle: update it */
	SM_LABEL_STATUS_UNKNOWN,       /* genuine; its status could not be checked (nothing to ask, no record, stale) */
	SM_LABEL_UNREADABLE,           /* not a label text or token at all */
};

/** "genuine-in-force", "not-genuine", "claims-differ", "not-in-force", "unknown-signer", "status-unknown",
 * "unreadable"; NULL for another value. */
const char *sm_label_verdict_name(int verdict);

/* What a status source knows now of one certificate (a lookup fills it). */
typedef struct sm_label_record {
	sm_cert *cert;       /* the record (ownership passes to the verdict), NULL: the source holds no such certificate */
	int64_t next_update; /* until when it is good (a statement's or snapshot's); 0: the registry itself, always current */
	int64_t expires;     /* a snapshot's expiry, past which it must not be used at all; 0: none */
	char source[128];    /* where it came from, for the user: "the registry", "the server's signed statement" */
} sm_label_record;

/**
 * Find the record of certificate `id` in a status source. Return 0 with out->cert set, or NULL when the
 * source holds none; SM_EVERIFY, SM_EINVAL or SM_ETOOBIG when what the source gave does not verify or
 * cannot be read (the status is then unknown, err saying why); any other code is a failure of the machine (the
 * network, the store, memory) that the verdict returns as it is.
 */
typedef int (*sm_label_lookup_fn)(void *ctx, const char *id, sm_label_record *out, sm_err *err);

/** The local registry as a status source: `ctx` is an sm_registry *. */
int sm_label_lookup_registry(void *ctx, const char *id, sm_label_record *out, sm_err *err);

/* What a label is checked against. */
typedef struct sm_label_source {
	const sm_trust *trust;     /* a verified bundle that follows from the user's anchor */
	bool newest;               /* it is the registry's newest (its own, or a server's chain followed to the end):
				    * then an unknown signer is not genuine */
	sm_label_lookup_fn lookup; /* NULL: nothing to ask for the status (offline, the anchor alone) */
	void *ctx;
} sm_label_source;

typedef struct sm_label_result {
	int verdict;             /* enum sm_label_verdict */
	bool genuine;            /* signed by an issuer key of the bundle valid when it says it was made */
	sm_label_claims claims;  /* what it claims (when genuine, and for SM_LABEL_CLAIMS_DIFFER) */
	sm_cert *cert;           /* the record its status came from (owned), or NULL */
	const char *status;      /* "active", "suspended", "revoked", "expired" (static), NULL when unknown */
	bool in_force;           /* verdict SM_LABEL_GENUINE_IN_FORCE */
	bool past_next_update;   /* in force from data past its next update, within the offline grace: warn */
	bool foreign_host;       /* genuine, but the code's URL host is not the registry's origin: warn */
	char host[256];          /* the label URL's host as written, every byte but printable ASCII as \xHH
				  * (sm_log_escape); "" for a bare token, unreadable text or a host too long */
	int64_t next_update;     /* of the status data (0: the registry itself) */
	char source[128];        /* where the status came from ("" when none was asked) */
	char field[SM_ERR_FIELD_MAX]; /* SM_LABEL_CLAIMS_DIFFER: the claim; otherwise the input at fault, or "" */
	char reason[SM_ERR_MSG_MAX];  /* why, for the user ("" for SM_LABEL_GENUINE_IN_FORCE) */
} sm_label_result;

/** Free what a result owns (its record); a second call is harmless. */
void sm_label_result_cleanup(sm_label_result *r);

/**
 * The verdict on a label text (the scanned URL or bare token; sm_label_parse) at `now`:
 *  1. unreadable text or token: SM_LABEL_UNREADABLE;
 *  2. sm_label_verify against src->trust: not genuine -> SM_LABEL_NOT_GENUINE; an unknown signer ->
 *     SM_LABEL_UNKNOWN_SIGNER, or SM_LABEL_NOT_GENUINE when src->newest (the registry's newest bundle
 *     knows every key it ever had);
 *  3. genuine: no lookup -> SM_LABEL_STATUS_UNKNOWN ("not checked"); the lookup finds no record, or
 *     what it gives does not verify -> SM_LABEL_STATUS_UNKNOWN; a record whose claims differ
 *     (sm_label_match) -> SM_LABEL_CLAIMS_DIFFER; a record past its `expires`, or past its
 *     next_update by more than the default policy's offline grace (sm_policy_stale) ->
 *     SM_LABEL_STATUS_UNKNOWN; suspended, revoked or expired at `now` -> SM_LABEL_NOT_IN_FORCE;
 *     else SM_LABEL_GENUINE_IN_FORCE (past_next_update when within the grace);
 *  4. whatever the verdict of a genuine label: foreign_host when its URL's host is not the bundle's
 *     origin (sm_label_host_is). It changes no verdict (the token is what the registry signed, and a
 *     label can be copied anyway); every front end warns not to follow the code's link.
 * *res is overwritten whole (clean up what it held first). Returns 0 whatever the verdict; SM_ENOMEM,
 * or the lookup's failure of the machine (SM_EIO, SM_ESTORE, ...) with err saying what failed.
 */
int sm_label_judge(const char *text, size_t len, const sm_label_source *src, int64_t now, sm_label_result *res,
		   sm_err *err);

/**
 * The registry side: a fresh token URL for a certificate's model (NULL: its first), signed with the
 * current issuer key, host the registry's origin. *url and *cert (may be NULL) are the caller's.
 * SM_ENOTFOUND (no such certificate), SM_EINVAL (not one of its models), SM_EKEY, SM_ENOMEM.
 */
int sm_registry_label(sm_registry *r, const char *id, const char *model, int64_t now, char **url, sm_cert **cert,
		      sm_err *err);

/**
 * Read the one QR code in a PNG or JPEG image (a scan, a phone photo) into *text (caller frees). The
 * format is told by the file's first bytes, not its name. Images are capped at 64 MiB, 12000 pixels a
 * side and 100 megapixels (from the header, before decoding), a progressive JPEG also at the memory its
 * decoding needs. SM_EINVAL: "no QR code found in FILE", "N codes found; crop the photo to one label",
 * "FILE is not a PNG or JPEG image", "FILE is WxH pixels; ...", "FILE is not a readable JPEG image
 * (libjpeg's message)" (also a truncated one), the same for PNG, a missing file; SM_EIO (cannot read),
 * SM_ENOMEM.
 */
int sm_label_read_image(const char *path, char **text, sm_err *err);

/* ---- rendering ---- */

enum sm_label_format { SM_LABEL_PNG = 1, SM_LABEL_SVG, SM_LABEL_PDF, SM_LABEL_ZPL };

/* Accepted ranges of sm_label_opts. */
#define SM_LABEL_CODE_MM_MIN 10.0
#define SM_LABEL_CODE_MM_MAX 100.0
#define SM_LABEL_DPI_MIN 150       /* PNG; ZPL takes 203, 300 or 600 (the printer's own resolution) */
#define SM_LABEL_DPI_MAX 1200
#define SM_LABEL_SHEET_MAX 20000   /* labels on one sheet document (n * per_id) */
#define SM_LABEL_PER_ID_MAX 1000

typedef struct sm_label_opts {
	enum sm_label_format format;
	double code_mm;   /* the QR code's side including its 4-module quiet zone; default 20 */
	int ec;           /* QR error correction: 0 L, 1 M (default), 2 Q, 3 H */
	int dpi;          /* PNG and ZPL resolution; default 300 (ZPL: 203, 300 or 600) */
} sm_label_opts;

/** PNG, 20 mm, error correction M, 300 dpi. */
void sm_label_opts_default(sm_label_opts *o);

/**
 * The QR symbol `url` encodes to at error correction `ec` (0..3): its version (1..40) and its
 * side in modules without the quiet zone (4 * version + 17). SM_ETOOBIG when the text does not
 * fit a QR code at that level, SM_EINVAL for an empty, over-long or non-printable-ASCII text.
 */
int sm_label_qr_size(const char *url, int ec, int *version, int *modules, sm_err *err);

/**
 * Render one label of `model` (one of c->models; NULL for the first): the QR code of `url` on the
 * left, and beside it the stars of the level (U+2605, one per level), the scheme name, the product
 * name, the model number, "Reg. No. <id>" and "Registered <date>". Text is set in "Noto Sans CJK
 * JP" (fonts-noto-cjk) so Japanese product names print.
 *
 * Geometry, with k = code_mm / 20: the label is 55k x 24k mm; the code square (code_mm, quiet zone
 * included) sits 2k mm from the top-left corner, the text starts 1k mm right of it and is 30k mm
 * wide. Each QR module is a whole number of dots at o->dpi (in every format: a PDF or SVG module is
 * that many dots in mm), the nearest to the square (or one fewer, so the quiet zone stays off the
 * text), the code centred on the square with its corner on the dot grid: at 300 dpi a version 8
 * code of 20 mm is 4 dots a module, 19.3 mm; at 203 dpi 3 dots, 21.4 mm. A code that would get less
 * than one dot a module is refused (SM_EINVAL, field "code_mm").
 * Each text line shrinks to fit down to 60% of its size. The model number is never cut: one line;
 * else two lines (the label 2.3k mm taller); else two lines at the smallest type (1.8k mm) and a
 * wider label, so that every model number the contract allows (64 bytes) prints. A scheme, id or
 * date that does not fit is refused (SM_EINVAL naming the field and the value). Only the product
 * name, which the label shows as a courtesy, is shortened at 80% of its size: it then ends in "…" so
 * the shortening is visible.
 *
 * Formats: PNG is 2-bit grey (black, two greys for the edges of text, white) at o->dpi with a pHYs
 * chunk carrying that resolution, so it prints at the stated millimetres; PDF and SVG are vector in
 * millimetres (SVG width/height in mm), laid out for o->dpi.
 * ZPL (^XA..^XZ) lets the printer draw the code itself (^BQN,2,<magnification>, field data
 * "<EC letter>A,<url>", the magnification nearest to code_mm at o->dpi, 1..10 dots a module);
 * ASCII text lines use the printer font 0, other lines (e.g. a Japanese product name) are sent as
 * ^GFA bitmaps, and the stars print as "Lv.N" and asterisks because printer fonts lack U+2605.
 *
 * Output goes to `write`; a refused label writes nothing (layout and encoding are checked first).
 * Errors: SM_EINVAL (options naming the field, no such model, level outside 1..9, a URL that is
 * empty, longer than SM_LABEL_URL_MAX or not printable ASCII, '^' or '~' in a ZPL URL, a line that
 * does not fit), SM_ETOOBIG (the URL does not fit a QR code at that error correction), SM_ENOMEM,
 * SM_EIO (cairo failed), or the code `write` returned.
 */
int sm_label_render(const sm_cert *c, const char *model, const char *url, const sm_label_opts *o, sm_write_fn write,
		    void *wctx, sm_err *err);

/**
 * A label renderer, for many labels in a row: the fonts are found and the fonts to measure text with
 * made once, and the image buffers are kept from one label to the next (sm_label_render makes one for
 * a single label). One thread at a time: give each thread its own. NULL when out of memory or the
 * fonts cannot be set up (err says which).
 */
typedef struct sm_label_renderer sm_label_renderer;
sm_label_renderer *sm_label_renderer_new(sm_err *err);
void sm_label_renderer_free(sm_label_renderer *r);

/** sm_label_render with the renderer's fonts and buffers. */
int sm_label_renderer_render(sm_label_renderer *r, const sm_cert *c, const char *model, const char *url,
			     const sm_label_opts *o, sm_write_fn write, void *wctx, sm_err *err);

#define SM_LABEL_THREADS_MAX 64

/** Receives label i of a batch, whole: 0, or an SM_E* code that stops the batch. */
typedef int (*sm_label_out_fn)(void *ctx, size_t i, const uint8_t *data, size_t len);

/**
 * n labels, each its own document as sm_label_render makes it (certs[i], models[i] (a NULL array or
 * entry: the first model), urls[i]), rendered on `threads` threads (0: one per online processor; at
 * most SM_LABEL_THREADS_MAX), each thread with its own renderer, the calling thread one of them.
 * out(ctx, i, ...) is called once per label, from the rendering threads but never two at once, in
 * no particular order. The first failure stops the batch: the labels already given to `out` stay
 * given, err names the failed one ("labels[3] (SM-2024-000123): ...").
 */
int sm_label_render_many(sm_cert *const *certs, const char *const *models, const char *const *urls, size_t n,
			 const sm_label_opts *o, int threads, sm_label_out_fn out, void *ctx, sm_err *err);

/**
 * Sheets of labels in a grid with 4 mm cut margins and a light grey cut line around each label: n
 * labels (each given by certs[i], models[i] (NULL entries: the first model), urls[i]), each repeated
 * per_id times (1..SM_LABEL_PER_ID_MAX; n * per_id <= SM_LABEL_SHEET_MAX), every cell the size of the
 * largest label. o->format SM_LABEL_SVG: one SVG page 210 mm wide and as tall as its rows (SVG has
 * no pages); SM_LABEL_ZPL is refused; any other (the options' default): A4 PDF pages (210 x 297 mm,
 * 10 mm margins), as many labels a page as fit. o->dpi puts the codes' modules on whole dots (and
 * each label's corner on the dot grid). The fonts are embedded as subsets of the glyphs used (PDF)
 * or as the used glyphs' outlines (SVG). Errors as sm_label_render; a failing label is named by its
 * index ("labels[3]") and nothing is written.
 */
int sm_label_sheet(sm_cert *const *certs, const char *const *models, const char *const *urls, size_t n, int per_id,
		   const sm_label_opts *o, sm_write_fn write, void *wctx, sm_err *err);

#endif
