/* SPDX-License-Identifier: Apache-2.0 */
/* Reading a label's QR code from a PNG photo or scan (cairo decodes the PNG, zbar finds the code). */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cairo.h>
#include <zbar.h>

#include "starmark/label.h"

#define IMAGE_FILE_MAX (64u * 1024u * 1024u) /* bytes of a PNG file */
#define IMAGE_SIDE_MAX 12000u                /* pixels per side */
#define IMAGE_PIXELS_MAX (100u * 1000u * 1000u)
#define QR_TEXT_MAX 8192u /* a QR code holds at most 7,089 characters */

static const uint8_t png_magic[8] = {0x89, 'P', 'N', 'G', '\r', '\n', 0x1a, '\n'};

static uint32_t be32(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

static cairo_status_t read_png(void *ctx, unsigned char *data, unsigned int len)
{
	return fread(data, 1, len, ctx) == len ? CAIRO_STATUS_SUCCESS : CAIRO_STATUS_READ_ERROR;
}

/*
 * Check the file before libpng sees it: a regular file of bounded size whose header is a PNG
 * signature and an IHDR with bounded dimensions (so a tiny file cannot ask for gigabytes).
 */
static int open_png(const char *path, FILE **out, sm_err *err)
{
	uint8_t head[24];
	struct stat st;
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	*out = NULL;
	if (fd < 0)
		return sm_err_set(err, errno == ENOENT ? SM_EINVAL : SM_EIO, "image", "cannot open %s: %s",
		                  path, strerror(errno));
	FILE *f = fdopen(fd, "rb");
	if (!f) {
		close(fd);
		return sm_err_set(err, SM_EIO, "image", "cannot read %s: %s", path, strerror(errno));
	}
	int rc = 0;
	if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
		rc = sm_err_set(err, SM_EINVAL, "image", "%s is not a regular file", path);
	} else if ((uint64_t)st.st_size > IMAGE_FILE_MAX) {
		rc =
		    sm_err_set(err, SM_EINVAL, "image", "%s is %lld bytes; images over %u bytes are not read",
		               path, (long long)st.st_size, IMAGE_FILE_MAX);
	} else if (fread(head, 1, sizeof(head), f) != sizeof(head) || memcmp(head, png_magic, 8) != 0 ||
	           memcmp(head + 12, "IHDR", 4) != 0) {
		rc = sm_err_set(err, SM_EINVAL, "image",
		                "%s is not a PNG image (only PNG is read: convert a photo to PNG first)",
		                path);
	} else {
		uint32_t w = be32(head + 16), h = be32(head + 20);
		if (w == 0 || h == 0 || w > IMAGE_SIDE_MAX || h > IMAGE_SIDE_MAX ||
		    (uint64_t)w * h > IMAGE_PIXELS_MAX)
			rc = sm_err_set(
			    err, SM_EINVAL, "image",
			    "%s is %ux%u pixels; at most %ux%u and %u megapixels are read: scale it down",
			    path, (unsigned)w, (unsigned)h, IMAGE_SIDE_MAX, IMAGE_SIDE_MAX,
			    IMAGE_PIXELS_MAX / 1000000u);
	}
	if (!rc && fseek(f, 0, SEEK_SET) != 0)
		rc = sm_err_set(err, SM_EIO, "image", "cannot read %s: %s", path, strerror(errno));
	if (rc) {
		fclose(f);
		return rc;
	}
	*out = f;
	return 0;
}

/* Luma of an RGB pixel composited over white (a transparent background reads as paper). */
static uint8_t gray_of(uint32_t px, bool alpha)
{
	uint32_t a = alpha ? px >> 24 : 255;
	/* cairo stores premultiplied colour: over white adds (255 - a) to each channel. */
	uint32_t r = ((px >> 16) & 255) + 255 - a, g = ((px >> 8) & 255) + 255 - a, b = (px & 255) + 255 - a;
	return (uint8_t)((r * 77 + g * 150 + b * 29) >> 8);
}

/* An 8-bit grayscale copy (Y800) of the surface; NULL on OOM. */
static uint8_t *to_gray(cairo_surface_t *s, unsigned w, unsigned h)
{
	cairo_surface_t *flat = NULL;
	uint8_t *y = malloc((size_t)w * h);
	if (!y)
		return NULL;
	cairo_format_t fmt = cairo_image_surface_get_format(s);
	if (fmt != CAIRO_FORMAT_ARGB32 && fmt != CAIRO_FORMAT_RGB24) {
		/* Other formats (newer cairo gives 16-bit PNGs as float): draw them onto white RGB first. */
		flat = cairo_image_surface_create(CAIRO_FORMAT_RGB24, (int)w, (int)h);
		cairo_t *cr = cairo_create(flat);
		cairo_set_source_rgb(cr, 1, 1, 1);
		cairo_paint(cr);
		cairo_set_source_surface(cr, s, 0, 0);
		cairo_paint(cr);
		cairo_destroy(cr);
		cairo_surface_flush(flat);
		if (cairo_surface_status(flat) != CAIRO_STATUS_SUCCESS) {
			cairo_surface_destroy(flat);
			free(y);
			return NULL;
		}
		s = flat;
		fmt = CAIRO_FORMAT_RGB24;
	}
	cairo_surface_flush(s);
	const uint8_t *data = cairo_image_surface_get_data(s);
	int stride = cairo_image_surface_get_stride(s);
	for (unsigned row = 0; row < h; row++) {
		const uint8_t *line = data + (size_t)row * (size_t)stride;
		for (unsigned x = 0; x < w; x++) {
			uint32_t px;
			memcpy(&px, line + 4 * (size_t)x, 4);
			y[(size_t)row * w + x] = gray_of(px, fmt == CAIRO_FORMAT_ARGB32);
		}
	}
	if (flat)
		cairo_surface_destroy(flat);
	return y;
}

int sm_label_read_image(const char *path, char **text, sm_err *err)
{
	FILE *f = NULL;
	cairo_surface_t *s = NULL;
	uint8_t *gray = NULL;
	zbar_image_scanner_t *scanner = NULL;
	zbar_image_t *img = NULL;
	int rc;

	*text = NULL;
	if ((rc = open_png(path, &f, err)))
		return rc;
	s = cairo_image_surface_create_from_png_stream(read_png, f);
	cairo_status_t st = cairo_surface_status(s);
	if (st == CAIRO_STATUS_NO_MEMORY) {
		rc = sm_err_set(err, SM_ENOMEM, "image", "out of memory decoding %s", path);
		goto out;
	}
	if (st != CAIRO_STATUS_SUCCESS) {
		rc = sm_err_set(err, SM_EINVAL, "image", "%s is not a readable PNG image (%s)", path,
		                cairo_status_to_string(st));
		goto out;
	}
	int w = cairo_image_surface_get_width(s), h = cairo_image_surface_get_height(s);
	if (w <= 0 || h <= 0 || (unsigned)w > IMAGE_SIDE_MAX || (unsigned)h > IMAGE_SIDE_MAX) {
		rc = sm_err_set(err, SM_EINVAL, "image", "%s has an unusable size %dx%d", path, w, h);
		goto out;
	}
	if (!(gray = to_gray(s, (unsigned)w, (unsigned)h))) {
		rc = sm_err_set(err, SM_ENOMEM, "image", "out of memory converting %s", path);
		goto out;
	}
	if (!(scanner = zbar_image_scanner_create()) || !(img = zbar_image_create())) {
		rc = sm_err_set(err, SM_ENOMEM, "image", "out of memory starting the QR reader");
		goto out;
	}
	/* Only QR codes: a barcode elsewhere on the product's box must not count as a second code. */
	zbar_image_scanner_set_config(scanner, ZBAR_NONE, ZBAR_CFG_ENABLE, 0);
	zbar_image_scanner_set_config(scanner, ZBAR_QRCODE, ZBAR_CFG_ENABLE, 1);
	zbar_image_set_format(img, zbar_fourcc('Y', '8', '0', '0'));
	zbar_image_set_size(img, (unsigned)w, (unsigned)h);
	zbar_image_set_data(img, gray, (unsigned long)w * (unsigned long)h, NULL);
	if (zbar_scan_image(scanner, img) < 0) {
		rc = sm_err_set(err, SM_EIO, "image", "the QR reader failed on %s", path);
		goto out;
	}
	size_t found = 0;
	const zbar_symbol_t *one = NULL;
	for (const zbar_symbol_t *sym = zbar_image_first_symbol(img); sym; sym = zbar_symbol_next(sym))
		if (zbar_symbol_get_type(sym) == ZBAR_QRCODE) {
			found++;
			one = sym;
		}
	if (found == 0) {
		rc = sm_err_set(err, SM_EINVAL, "image", "no QR code found in %s", path);
		goto out;
	}
	if (found > 1) {
		rc = sm_err_set(err, SM_EINVAL, "image", "%zu codes found; crop the photo to one label",
		                found);
		goto out;
	}
	const char *data = zbar_symbol_get_data(one);
	size_t len = zbar_symbol_get_data_length(one);
	if (!data || len > QR_TEXT_MAX || memchr(data, '\0', len)) {
		rc = sm_err_set(err, SM_EINVAL, "image", "the QR code in %s holds no label text", path);
		goto out;
	}
	if (!(*text = malloc(len + 1))) {
		rc = sm_err_set(err, SM_ENOMEM, "image", "out of memory");
		goto out;
	}
	memcpy(*text, data, len);
	(*text)[len] = '\0';
out:
	if (img)
		zbar_image_destroy(img);
	if (scanner)
		zbar_image_scanner_destroy(scanner);
	free(gray);
	if (s)
		cairo_surface_destroy(s);
	if (f)
		fclose(f);
	return rc;
}
