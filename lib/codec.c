/* SPDX-License-Identifier: Apache-2.0 */
/* RFC 4648 base32, base64 and base64url, and hex: strict decoders that accept only canonical text. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "starmark/codec.h"
#include "starmark/error.h"

/*
 * All four codecs are the same thing: a stream of `bits`-bit digits over an alphabet. One
 * encoder and one decoder serve them all; base64 only adds its padding around the shared core.
 * OpenSSL's EVP_EncodeBlock/EVP_DecodeBlock are not used: they count padding bytes in the
 * decoded length and know neither base32 nor base64url (see DEPENDENCIES.md).
 */

static const char B32_ALPHA[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";
static const char B64_ALPHA[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
static const char B64URL_ALPHA[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
static const char HEX_ALPHA[] = "0123456789abcdef";

enum alphabet { ALPHA_B32, ALPHA_B64, ALPHA_B64URL, ALPHA_HEX };

struct codec {
	const char *name;
	enum alphabet alpha;
	unsigned bits;     /* bits per character */
	const char *chars; /* encoding alphabet */
};

static const struct codec BASE32 = { "base32", ALPHA_B32, 5, B32_ALPHA };
static const struct codec BASE64 = { "base64", ALPHA_B64, 6, B64_ALPHA };
static const struct codec BASE64URL = { "base64url", ALPHA_B64URL, 6, B64URL_ALPHA };
static const struct codec HEX = { "hex", ALPHA_HEX, 4, HEX_ALPHA };

/* The value of character `c` in the alphabet, or -1. */
static int digit_value(enum alphabet alpha, unsigned char c)
{
	if (c >= 'A' && c <= 'Z') {
		if (alpha == ALPHA_HEX)
			return c <= 'F' ? c - 'A' + 10 : -1;
		return c - 'A';
	}
	if (c >= 'a' && c <= 'z') {
		switch (alpha) {
		case ALPHA_B32: return c - 'a';
		case ALPHA_HEX: return c <= 'f' ? c - 'a' + 10 : -1;
		default: return c - 'a' + 26;
		}
	}
	if (c >= '0' && c <= '9') {
		switch (alpha) {
		case ALPHA_B32: return (c >= '2' && c <= '7') ? c - '2' + 26 : -1;
		case ALPHA_HEX: return c - '0';
		default: return c - '0' + 52;
		}
	}
	if (alpha == ALPHA_B64)
		return c == '+' ? 62 : c == '/' ? 63 : -1;
	if (alpha == ALPHA_B64URL)
		return c == '-' ? 62 : c == '_' ? 63 : -1;
	return -1;
}

/* Encode `n` bytes as ceil(8n/bits) characters, then `pad` '=' characters. */
static char *encode(const struct codec *cd, const uint8_t *in, size_t n, size_t pad)
{
	if (n > (SIZE_MAX - 16) / 8)
		return NULL;
	const size_t nchars = (n * 8 + cd->bits - 1) / cd->bits;
	char *out = malloc(nchars + pad + 1);
	if (!out)
		return NULL;
	const unsigned mask = (1u << cd->bits) - 1;
	uint32_t acc = 0;
	unsigned have = 0; /* bits waiting in acc */
	size_t o = 0;
	for (size_t i = 0; i < n; i++) {
		acc = (acc << 8) | in[i];
		have += 8;
		while (have >= cd->bits) {
			have -= cd->bits;
			out[o++] = cd->chars[(acc >> have) & mask];
		}
		acc &= (1u << have) - 1;
	}
	if (have > 0)
		out[o++] = cd->chars[(acc << (cd->bits - have)) & mask];
	for (size_t i = 0; i < pad; i++)
		out[o++] = '=';
	out[o] = '\0';
	return out;
}

char *sm_base32_encode(const uint8_t *in, size_t n)
{
	return encode(&BASE32, in, n, 0);
}

char *sm_base64_encode(const uint8_t *in, size_t n)
{
	return encode(&BASE64, in, n, (3 - n % 3) % 3);
}

char *sm_base64url_encode(const uint8_t *in, size_t n)
{
	return encode(&BASE64URL, in, n, 0);
}

char *sm_hex_encode(const uint8_t *in, size_t n)
{
	return encode(&HEX, in, n, 0);
}

/* A hint for the characters people most often paste from the wrong alphabet. */
static const char *bad_char_hint(enum alphabet alpha, unsigned char c)
{
	if (c == '=')
		return alpha == ALPHA_B64 ? " (padding may only end the text)" : " (padding is not used)";
	if (alpha == ALPHA_B64 && (c == '-' || c == '_'))
		return " (that is the base64url alphabet)";
	if (alpha == ALPHA_B64URL && (c == '+' || c == '/'))
		return " (that is the standard base64 alphabet, not base64url)";
	if (alpha == ALPHA_B32 && (c == '0' || c == '1' || c == '8' || c == '9'))
		return " (base32 uses only the digits 2-7)";
	return "";
}

static int bad_char(const struct codec *cd, const char *in, size_t at, sm_err *err)
{
	const unsigned char c = (unsigned char)in[at];
	char shown[8];
	sm_err_quote(shown, sizeof(shown), in + at, 1);
	return sm_err_set(err, SM_EINVAL, NULL, "%s: bad character '%s' (0x%02x) at offset %zu%s",
			  cd->name, shown, c, at, bad_char_hint(cd->alpha, c));
}

/*
 * Decode the `n` unpadded characters of `in`. A length is valid when its last character
 * carries at least one bit of a byte; the bits left over after the last whole byte must be
 * zero, so that every byte string has exactly one encoding.
 */
static int decode(const struct codec *cd, const char *in, size_t n, uint8_t **out, size_t *outlen,
		  sm_err *err)
{
	int rc = 0;
	uint8_t *buf = NULL;
	const size_t nbytes = n * cd->bits / 8; /* n <= SM_CODEC_MAX_INPUT: no overflow */
	const unsigned spare = (unsigned)(n * cd->bits % 8);

	buf = malloc(nbytes + 1);
	if (!buf) {
		rc = sm_err_set(err, SM_ENOMEM, NULL, "%s: out of memory for %zu bytes", cd->name, nbytes);
		goto out;
	}
	uint32_t acc = 0;
	unsigned have = 0;
	size_t o = 0;
	for (size_t i = 0; i < n; i++) {
		const int v = digit_value(cd->alpha, (unsigned char)in[i]);
		if (v < 0) {
			rc = bad_char(cd, in, i, err);
			goto out;
		}
		acc = (acc << cd->bits) | (uint32_t)v;
		have += cd->bits;
		if (have >= 8) {
			have -= 8;
			buf[o++] = (uint8_t)(acc >> have);
			acc &= (1u << have) - 1;
		}
	}
	if (spare >= cd->bits) {
		const char *why = "the last group of 4 cannot have 1 character";
		if (cd->alpha == ALPHA_HEX)
			why = "hex needs an even number of digits";
		else if (cd->alpha == ALPHA_B32)
			why = "the last group of 8 cannot have 1, 3 or 6 characters";
		rc = sm_err_set(err, SM_EINVAL, NULL, "%s: length %zu is not a valid %s length (%s)",
				cd->name, n, cd->name, why);
		goto out;
	}
	if (acc != 0) {
		char shown[8];
		sm_err_quote(shown, sizeof(shown), in + n - 1, 1);
		rc = sm_err_set(err, SM_EINVAL, NULL,
				"%s: last character '%s' at offset %zu has non-zero trailing bits "
				"(not canonical)", cd->name, shown, n - 1);
		goto out;
	}
	buf[o] = '\0';
	*out = buf;
	*outlen = o;
	buf = NULL;
out:
	free(buf);
	return rc;
}

/* Common checks of every decoder's arguments. */
static int decode_start(const struct codec *cd, const char *in, size_t n, uint8_t **out, size_t *outlen,
			sm_err *err)
{
	*out = NULL;
	*outlen = 0;
	if (n > SM_CODEC_MAX_INPUT)
		return sm_err_set(err, SM_ETOOBIG, NULL, "%s: input of %zu characters is over the %u limit",
				  cd->name, n, SM_CODEC_MAX_INPUT);
	if (n > 0 && !in)
		return sm_err_set(err, SM_EINVAL, NULL, "%s: no input", cd->name);
	return 0;
}

int sm_base32_decode(const char *in, size_t n, uint8_t **out, size_t *outlen, sm_err *err)
{
	int rc = decode_start(&BASE32, in, n, out, outlen, err);
	return rc ? rc : decode(&BASE32, in, n, out, outlen, err);
}

int sm_base64url_decode(const char *in, size_t n, uint8_t **out, size_t *outlen, sm_err *err)
{
	int rc = decode_start(&BASE64URL, in, n, out, outlen, err);
	return rc ? rc : decode(&BASE64URL, in, n, out, outlen, err);
}

int sm_hex_decode(const char *in, size_t n, uint8_t **out, size_t *outlen, sm_err *err)
{
	int rc = decode_start(&HEX, in, n, out, outlen, err);
	return rc ? rc : decode(&HEX, in, n, out, outlen, err);
}

int sm_base64_decode(const char *in, size_t n, uint8_t **out, size_t *outlen, sm_err *err)
{
	int rc = decode_start(&BASE64, in, n, out, outlen, err);
	if (rc)
		return rc;
	if (n % 4 != 0)
		return sm_err_set(err, SM_EINVAL, NULL,
				  "base64: length %zu is not a multiple of 4 (standard base64 is padded "
				  "with '=')", n);
	/* At most two '=' and only at the end; any other '=' is reported as a bad character. */
	size_t data = n;
	if (data > 0 && in[data - 1] == '=')
		data--;
	if (data > 0 && data == n - 1 && in[data - 1] == '=')
		data--;
	return decode(&BASE64, in, data, out, outlen, err);
}

bool sm_utf8_next(const uint8_t *s, size_t n, size_t *i, uint32_t *cp)
{
	uint8_t c = s[*i];
	size_t len;
	uint32_t v;
	if (c < 0x80) {
		*cp = c;
		(*i)++;
		return true;
	}
	if (c >= 0xC2 && c <= 0xDF) {
		len = 2;
		v = c & 0x1F;
	} else if (c >= 0xE0 && c <= 0xEF) {
		len = 3;
		v = c & 0x0F;
	} else if (c >= 0xF0 && c <= 0xF4) {
		len = 4;
		v = c & 0x07;
	} else {
		return false;
	}
	if (n - *i < len)
		return false;
	for (size_t k = 1; k < len; k++) {
		if ((s[*i + k] & 0xC0) != 0x80)
			return false;
		v = (v << 6) | (s[*i + k] & 0x3F);
	}
	if ((len == 3 && v < 0x800) || (len == 4 && (v < 0x10000 || v > 0x10FFFF)) || (v >= 0xD800 && v <= 0xDFFF))
		return false;
	*cp = v;
	*i += len;
	return true;
}
