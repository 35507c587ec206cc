/* SPDX-License-Identifier: Apache-2.0 */
/* Private CBOR helpers over libcbor: encoders into sm_buf and a strict streaming pull reader. */
#include <stdlib.h>
#include <string.h>

#include <cbor.h>

#include "cbor_int.h"
#include "starmark/codec.h"


static int put_head(sm_buf *b, size_t (*enc)(size_t, unsigned char *, size_t), size_t v)
{
	unsigned char tmp[9];
	size_t n = enc(v, tmp, sizeof(tmp));
	return n ? sm_buf_append(b, tmp, n) : SM_EINVAL;
}

int sm_cbor_put_uint(sm_buf *b, uint64_t v)
{
	unsigned char tmp[9];
	size_t n = cbor_encode_uint(v, tmp, sizeof(tmp));
	return n ? sm_buf_append(b, tmp, n) : SM_EINVAL;
}

int sm_cbor_put_int(sm_buf *b, int64_t v)
{
	if (v >= 0)
		return sm_cbor_put_uint(b, (uint64_t)v);
	unsigned char tmp[9];
	size_t n = cbor_encode_negint((uint64_t)(-1 - v), tmp, sizeof(tmp));
	return n ? sm_buf_append(b, tmp, n) : SM_EINVAL;
}

int sm_cbor_put_text(sm_buf *b, const char *s, size_t n)
{
	int rc = put_head(b, cbor_encode_string_start, n);
	return rc ? rc : sm_buf_append(b, s, n);
}

int sm_cbor_put_str(sm_buf *b, const char *s)
{
	return sm_cbor_put_text(b, s, strlen(s));
}

int sm_cbor_put_bytes(sm_buf *b, const uint8_t *p, size_t n)
{
	int rc = put_head(b, cbor_encode_bytestring_start, n);
	return rc ? rc : sm_buf_append(b, p, n);
}

int sm_cbor_put_array(sm_buf *b, size_t n)
{
	return put_head(b, cbor_encode_array_start, n);
}

int sm_cbor_put_map(sm_buf *b, size_t n)
{
	return put_head(b, cbor_encode_map_start, n);
}

int sm_cbor_put_tag(sm_buf *b, uint64_t tag)
{
	unsigned char tmp[9];
	size_t n = cbor_encode_tag(tag, tmp, sizeof(tmp));
	return n ? sm_buf_append(b, tmp, n) : SM_EINVAL;
}

int sm_cbor_put_bool(sm_buf *b, bool v)
{
	unsigned char tmp[1];
	size_t n = cbor_encode_bool(v, tmp, sizeof(tmp));
	return n ? sm_buf_append(b, tmp, n) : SM_EINVAL;
}

/* ---- reader: libcbor's stream decoder hands one head at a time to these callbacks ---- */

struct rd_ctx {
	sm_cbor_item *it;
	bool indefinite;
};

#define CTX(c) ((struct rd_ctx *)(c))
static void on_u8(void *c, uint8_t v) { CTX(c)->it->type = SM_CBOR_UINT; CTX(c)->it->u = v; }
static void on_u16(void *c, uint16_t v) { CTX(c)->it->type = SM_CBOR_UINT; CTX(c)->it->u = v; }
static void on_u32(void *c, uint32_t v) { CTX(c)->it->type = SM_CBOR_UINT; CTX(c)->it->u = v; }
static void on_u64(void *c, uint64_t v) { CTX(c)->it->type = SM_CBOR_UINT; CTX(c)->it->u = v; }
static void on_n8(void *c, uint8_t v) { CTX(c)->it->type = SM_CBOR_NEGINT; CTX(c)->it->u = v; }
static void on_n16(void *c, uint16_t v) { CTX(c)->it->type = SM_CBOR_NEGINT; CTX(c)->it->u = v; }
static void on_n32(void *c, uint32_t v) { CTX(c)->it->type = SM_CBOR_NEGINT; CTX(c)->it->u = v; }
static void on_n64(void *c, uint64_t v) { CTX(c)->it->type = SM_CBOR_NEGINT; CTX(c)->it->u = v; }
static void on_bytes(void *c, cbor_data p, uint64_t n)
{
	CTX(c)->it->type = SM_CBOR_BYTES;
	CTX(c)->it->ptr = p;
	CTX(c)->it->len = (size_t)n;
}
static void on_text(void *c, cbor_data p, uint64_t n)
{
	CTX(c)->it->type = SM_CBOR_TEXT;
	CTX(c)->it->ptr = p;
	CTX(c)->it->len = (size_t)n;
}
static void on_array(void *c, uint64_t n) { CTX(c)->it->type = SM_CBOR_ARRAY; CTX(c)->it->u = n; }
static void on_map(void *c, uint64_t n) { CTX(c)->it->type = SM_CBOR_MAP; CTX(c)->it->u = n; }
static void on_tag(void *c, uint64_t n) { CTX(c)->it->type = SM_CBOR_TAG; CTX(c)->it->u = n; }
static void on_bool(void *c, bool v) { CTX(c)->it->type = SM_CBOR_BOOL; CTX(c)->it->u = v; }
static void on_null(void *c) { CTX(c)->it->type = SM_CBOR_NULL; }
static void on_undef(void *c) { CTX(c)->it->type = SM_CBOR_OTHER; }
static void on_f2(void *c, float v) { CTX(c)->it->type = SM_CBOR_FLOAT; }
static void on_f8(void *c, double v) { CTX(c)->it->type = SM_CBOR_FLOAT; }
static void on_indef(void *c) { CTX(c)->indefinite = true; }

static const struct cbor_callbacks rd_callbacks = {
	.uint8 = on_u8, .uint16 = on_u16, .uint32 = on_u32, .uint64 = on_u64,
	.negint8 = on_n8, .negint16 = on_n16, .negint32 = on_n32, .negint64 = on_n64,
	.byte_string = on_bytes, .byte_string_start = on_indef,
	.string = on_text, .string_start = on_indef,
	.array_start = on_array, .indef_array_start = on_indef,
	.map_start = on_map, .indef_map_start = on_indef,
	.tag = on_tag, .float2 = on_f2, .float4 = on_f2, .float8 = on_f8,
	.undefined = on_undef, .null = on_null, .boolean = on_bool, .indef_break = on_indef,
};

static bool utf8_valid(const uint8_t *s, size_t n)
{
	uint32_t cp;
	for (size_t i = 0; i < n;)
		if (!sm_utf8_next(s, n, &i, &cp))
			return false;
	return true;
}

void sm_cbor_rd_init(sm_cbor_rd *r, const uint8_t *p, size_t n)
{
	r->p = p;
	r->n = n;
	r->off = 0;
}

int sm_cbor_next(sm_cbor_rd *r, sm_cbor_item *it, sm_err *err)
{
	memset(it, 0, sizeof(*it));
	if (r->off >= r->n)
		return sm_err_set(err, SM_EINVAL, NULL, "CBOR ends early at byte %zu", r->off);
	/* libcbor 0.8's stream decoder refuses the one-byte tag heads 0xc6..0xd4 (tags 6..20, COSE's 18
	 * among them) as malformed: read those heads here. */
	uint8_t b0 = r->p[r->off];
	if (b0 >= 0xc6 && b0 <= 0xd4) {
		it->type = SM_CBOR_TAG;
		it->u = b0 & 0x1f;
		r->off++;
		return 0;
	}
	struct rd_ctx ctx = { it, false };
	struct cbor_decoder_result res = cbor_stream_decode(r->p + r->off, r->n - r->off, &rd_callbacks, &ctx);
	if (res.status == CBOR_DECODER_NEDATA)
		return sm_err_set(err, SM_EINVAL, NULL, "CBOR truncated at byte %zu", r->off);
	if (res.status != CBOR_DECODER_FINISHED || res.read == 0)
		return sm_err_set(err, SM_EINVAL, NULL, "malformed CBOR at byte %zu", r->off);
	if (ctx.indefinite)
		return sm_err_set(err, SM_EINVAL, NULL, "indefinite-length CBOR at byte %zu is not accepted", r->off);
	if (it->type == SM_CBOR_TEXT && !utf8_valid(it->ptr, it->len))
		return sm_err_set(err, SM_EINVAL, NULL, "CBOR text at byte %zu is not valid UTF-8", r->off);
	r->off += res.read;
	return 0;
}

int sm_cbor_skip(sm_cbor_rd *r, unsigned max_depth, sm_err *err)
{
	/* remaining[d]: items still to read at depth d; a map of n pairs is 2n items */
	uint64_t remaining[64];
	unsigned depth = 0;
	if (max_depth > 63)
		max_depth = 63;
	remaining[0] = 1;
	while (true) {
		while (depth > 0 && remaining[depth] == 0)
			depth--;
		if (depth == 0 && remaining[0] == 0)
			return 0;
		sm_cbor_item it;
		int rc = sm_cbor_next(r, &it, err);
		if (rc)
			return rc;
		remaining[depth]--;
		if (it.type != SM_CBOR_ARRAY && it.type != SM_CBOR_MAP && it.type != SM_CBOR_TAG)
			continue;
		/* an empty container is a level too, so that the cap means the same for [[]] and [[0]] */
		if (depth + 1 > max_depth)
			return sm_err_set(err, SM_EINVAL, NULL, "CBOR nested deeper than %u at byte %zu", max_depth, r->off);
		uint64_t children = 1;
		if (it.type == SM_CBOR_ARRAY)
			children = it.u;
		else if (it.type == SM_CBOR_MAP)
			children = it.u > UINT64_MAX / 2 ? UINT64_MAX : it.u * 2;
		if (children == 0)
			continue;
		if (children > r->n - r->off)
			return sm_err_set(err, SM_EINVAL, NULL, "CBOR container at byte %zu claims more items than bytes left",
					  r->off);
		remaining[++depth] = children;
	}
}

int sm_cbor_wellformed(const uint8_t *p, size_t n, unsigned max_depth, sm_err *err)
{
	sm_cbor_rd r;
	sm_cbor_rd_init(&r, p, n);
	int rc = sm_cbor_skip(&r, max_depth, err);
	if (rc)
		return rc;
	if (r.off != n)
		return sm_err_set(err, SM_EINVAL, NULL, "%zu unexpected bytes after the CBOR item", n - r.off);
	return 0;
}

static int expect(sm_cbor_rd *r, sm_cbor_item *it, int type, const char *what, sm_err *err)
{
	size_t at = r->off;
	int rc = sm_cbor_next(r, it, err);
	if (rc)
		return rc;
	if (it->type != type)
		return sm_err_set(err, SM_EINVAL, what, "%s: unexpected CBOR type at byte %zu", what, at);
	return 0;
}

int sm_cbor_read_uint(sm_cbor_rd *r, uint64_t *v, const char *what, sm_err *err)
{
	sm_cbor_item it;
	int rc = expect(r, &it, SM_CBOR_UINT, what, err);
	if (!rc)
		*v = it.u;
	return rc;
}

int sm_cbor_read_int(sm_cbor_rd *r, int64_t *v, const char *what, sm_err *err)
{
	size_t at = r->off;
	sm_cbor_item it;
	int rc = sm_cbor_next(r, &it, err);
	if (rc)
		return rc;
	if (it.type == SM_CBOR_UINT && it.u <= INT64_MAX) {
		*v = (int64_t)it.u;
		return 0;
	}
	if (it.type == SM_CBOR_NEGINT && it.u <= INT64_MAX) {
		*v = -1 - (int64_t)it.u;
		return 0;
	}
	return sm_err_set(err, SM_EINVAL, what, "%s: expected an integer at byte %zu", what, at);
}

int sm_cbor_read_text(sm_cbor_rd *r, size_t max, char **out, const char *what, sm_err *err)
{
	sm_cbor_item it;
	int rc = expect(r, &it, SM_CBOR_TEXT, what, err);
	if (rc)
		return rc;
	if (it.len > max)
		return sm_err_set(err, SM_ETOOBIG, what, "%s: %zu bytes, more than %zu", what, it.len, max);
	if (memchr(it.ptr, 0, it.len))
		return sm_err_set(err, SM_EINVAL, what, "%s: contains a NUL byte", what);
	char *s = malloc(it.len + 1);
	if (!s)
		return SM_ENOMEM;
	memcpy(s, it.ptr, it.len);
	s[it.len] = '\0';
	*out = s;
	return 0;
}

int sm_cbor_read_bytes(sm_cbor_rd *r, size_t max, const uint8_t **p, size_t *n, const char *what, sm_err *err)
{
	sm_cbor_item it;
	int rc = expect(r, &it, SM_CBOR_BYTES, what, err);
	if (rc)
		return rc;
	if (it.len > max)
		return sm_err_set(err, SM_ETOOBIG, what, "%s: %zu bytes, more than %zu", what, it.len, max);
	*p = it.ptr;
	*n = it.len;
	return 0;
}

static int read_container(sm_cbor_rd *r, int type, size_t max, size_t *n, const char *what, sm_err *err)
{
	sm_cbor_item it;
	int rc = expect(r, &it, type, what, err);
	if (rc)
		return rc;
	if (it.u > max)
		return sm_err_set(err, SM_ETOOBIG, what, "%s: %llu items, more than %zu", what,
				  (unsigned long long)it.u, max);
	*n = (size_t)it.u;
	return 0;
}

int sm_cbor_read_array(sm_cbor_rd *r, size_t max, size_t *n, const char *what, sm_err *err)
{
	return read_container(r, SM_CBOR_ARRAY, max, n, what, err);
}

int sm_cbor_read_map(sm_cbor_rd *r, size_t max, size_t *n, const char *what, sm_err *err)
{
	return read_container(r, SM_CBOR_MAP, max, n, what, err);
}

int sm_cbor_read_strv(sm_cbor_rd *r, size_t max_items, size_t max_len, char ***v, size_t *n, const char *what,
		     sm_err *err)
{
	size_t cnt;
	int rc = sm_cbor_read_array(r, max_items, &cnt, what, err);
	if (rc)
		return rc;
	char **a = cnt ? calloc(cnt, sizeof(*a)) : NULL;
	if (cnt && !a)
		return SM_ENOMEM;
	for (size_t i = 0; i < cnt; i++) {
		if ((rc = sm_cbor_read_text(r, max_len, &a[i], what, err))) {
			for (size_t j = 0; j < i; j++)
				free(a[j]);
			free(a);
			return rc;
		}
	}
	*v = a;
	*n = cnt;
	return 0;
}
