/* SPDX-License-Identifier: Apache-2.0 */
/* GET /v1/openapi.json: schema/openapi.json with the JSON Schemas of starmark.schema.json bundled in. */
/*
 * Both files are compiled in (embed.cmake), so the description served is always the one of this binary and
 * nothing has to be found on disk. In schema/ the description refers to the shapes as
 * `starmark.schema.json#/$defs/NAME`; a client that fetched only /v1/openapi.json could not follow that, so
 * the first request builds the bundled document once: every $defs entry goes to components.schemas (a name
 * there already is an error of the source files: nothing is served, 500) and every such reference, in the
 * description and between the shapes, becomes `#/components/schemas/NAME`. Its own handler file, apart from
 * h_public.c: one resource, and nothing it shares with the others.
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "server.h"

extern const unsigned char sm_openapi_json[];
extern const size_t sm_openapi_json_len;
extern const unsigned char sm_schema_json[];
extern const size_t sm_schema_json_len;

#define REF_SCHEMA_FILE "starmark.schema.json#/$defs/"
#define REF_DEFS "#/$defs/"
#define REF_COMPONENTS "#/components/schemas/"
#define MAX_DEPTH 64

/* The bundled document, built once and never freed (it lives as long as the process). */
static char *doc;
static size_t doc_len;
static char doc_etag[48];
static pthread_once_t doc_once = PTHREAD_ONCE_INIT;

/* Point every "$ref" in `j` that starts with `from` at `to` instead; -1 when too deep or out of memory. */
static int rewrite_refs(json_t *j, const char *from, const char *to, int depth)
{
	size_t n = strlen(from);
	if (depth > MAX_DEPTH)
		return -1;
	if (json_is_array(j)) {
		for (size_t i = 0; i < json_array_size(j); i++)
			if (rewrite_refs(json_array_get(j, i), from, to, depth + 1))
				return -1;
		return 0;
	}
	const char *k;
	json_t *v;
	json_object_foreach(j, k, v) {
		if (strcmp(k, "$ref") == 0 && json_is_string(v) && strncmp(json_string_value(v), from, n) == 0) {
			char ref[512];
			int len = snprintf(ref, sizeof(ref), "%s%s", to, json_string_value(v) + n);
			if (len < 0 || (size_t)len >= sizeof(ref) || json_string_set(v, ref))
				return -1;
		} else if (rewrite_refs(v, from, to, depth + 1)) {
			return -1;
		}
	}
	return 0;
}

static void build_doc(void)
{
	json_t *api = json_loadb((const char *)sm_openapi_json, sm_openapi_json_len, 0, NULL);
	json_t *schema = json_loadb((const char *)sm_schema_json, sm_schema_json_len, 0, NULL);
	json_t *defs = json_object_get(schema, "$defs");
	json_t *shapes = json_object_get(json_object_get(api, "components"), "schemas");
	const char *name;
	json_t *def;
	if (!json_is_object(defs) || !json_is_object(shapes) || rewrite_refs(defs, REF_DEFS, REF_COMPONENTS, 0))
		goto out;
	json_object_foreach(defs, name, def) {
		if (json_object_get(shapes, name) || json_object_set(shapes, name, def))
			goto out;
	}
	if (rewrite_refs(api, REF_SCHEMA_FILE, REF_COMPONENTS, 0))
		goto out;
	json_object_set_new(json_object_get(api, "info"), "version", json_string(sm_version_string()));
	doc = json_dumps(api, JSON_COMPACT | JSON_PRESERVE_ORDER);
	if (doc) {
		doc_len = strlen(doc);
		sm_etag_of(doc, doc_len, doc_etag);
	}
out:
	json_decref(schema);
	json_decref(api);
}

void sm_h_openapi(sm_req *q)
{
	static const char *const none[] = { NULL };
	if (sm_req_query(q, none))
		return;
	pthread_once(&doc_once, build_doc);
	if (!doc) {
		sm_reply_error(q, 500, "internal", NULL, "the API description cannot be built");
		return;
	}
	/* it changes only with the binary; the ETag tells a new one */
	sm_reply_tagged(q, 200, "application/json", doc, doc_len, "public, max-age=3600", doc_etag);
}
