/* SPDX-License-Identifier: Apache-2.0 */
/* Reading a label's QR code from a PNG or JPEG photo or scan (cairo or libjpeg decodes, zbar finds the code). */
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cairo.h>
#include <jerror.h>
#include <jpeglib.h>
#include <zbar.h>

#include "label_int.h"
#include "starmark/label.h"

#define IMAGE_FILE_MAX (64u * 1024u * 1024u) /* bytes of an image file */
#define IMAGE_SIDE_MAX 12000u                /* pixels per side */
#define IMAGE_PIXELS_MAX (100u * 1000u * 1000u)
#define QR_TEXT_MAX 8192u /* a QR code holds at most 7,089 characters */
/*
 * What libjpeg may allocate for itself besides our 8-bit output. A baseline JPEG needs a few rows of
 * MCUs; a progressive (or multi-scan) one keeps every component's coefficients, 2 bytes a sample:
 * 36 MB for a 12 MP phone photo in 4:2:0, 600 MB for 100 MP in 4:4:4. Those over this are refused.
 */
#define JPEG_MEMORY_MAX (256u * 1024u * 1024u)
/* libjpeg-turbo's own TurboJPEG limit: a progressive file of thousands of tiny scans decodes for minutes. */
#define JPEG_SCANS_MAX 500
/*
 * A JPEG of more pixels than this is read first at a reduced scale (libjpeg's DCT scaling: 1/2 or 1/4, the
 * smallest that brings it under) and at full size only if no code is found there. Measured here (2 shared
 * cores, loaded) with phone-size photos, a label rotated 7 degrees on a noisy grey 4032x3024 JPEG: zbar
 * takes ~3 s over the full 12 MP, ~0.5 s at 1/2, and the decode 0.3-0.5 s either way; labels down to 200 px
 * across in the frame (3.5 px a module at full size) still read at 1/2, one of 110-150 px reads only at
 * full size, which the retry then costs ~0.8 s more. A 48 MP photo: 12 s at full size, 0.6 s + decode at 1/4.
 */
#define JPEG_FIRST_TRY_PIXELS (4u * 1000u * 1000u)
#define JPEG_FIRST_TRY_DENOM_MAX 4u

static const uint8_t png_magic[8] = {0x89, 'P', 'N', 'G', '\r', '\n', 0x1a, '\n'};
static const uint8_t jpeg_magic[3] = {0xff, 0xd8, 0xff}; /* SOI, then the first marker */

static uint32_t be32(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

static int size_refused(const char *name, uint64_t w, uint64_t h, uint64_t pixels_max, sm_err *err)
{
	return sm_err_set(err, SM_EINVAL, "image",
	                  "%s is %llux%llu pixels; at most %ux%u and %llu megapixels are read: scale it down", name,
	                  (unsigned long long)w, (unsigned long long)h, IMAGE_SIDE_MAX, IMAGE_SIDE_MAX,
	                  (unsigned long long)(pixels_max / 1000000u));
}

static bool size_ok(uint64_t w, uint64_t h, uint64_t pixels_max)
{
	return w > 0 && h > 0 && w <= IMAGE_SIDE_MAX && h <= IMAGE_SIDE_MAX && w * h <= pixels_max;
}

/* ---- the QR reader ---- */

/*
 * Find the QR codes in an 8-bit grayscale image. *found is how many; with exactly one, its text goes into
 * *text (the caller's). 0 also when none or several are found: the caller words that.
 */
static int scan_gray(const uint8_t *gray, unsigned w, unsigned h, const char *name, size_t *found, char **text,
                     sm_err *err)
{
	zbar_image_scanner_t *scanner = NULL;
	zbar_image_t *img = NULL;
	int rc = 0;

	*found = 0;
	scanner = zbar_image_scanner_create();
	img = zbar_image_create();
	if (!scanner || !img) {
		rc = sm_err_set(err, SM_ENOMEM, "image", "out of memory starting the QR reader");
		goto out;
	}
	/* Only QR codes: a barcode elsewhere on the product's box must not count as a second code. */
	zbar_image_scanner_set_config(scanner, ZBAR_NONE, ZBAR_CFG_ENABLE, 0);
	zbar_image_scanner_set_config(scanner, ZBAR_QRCODE, ZBAR_CFG_ENABLE, 1);
	zbar_image_set_format(img, zbar_fourcc('Y', '8', '0', '0'));
	zbar_image_set_size(img, w, h);
	zbar_image_set_data(img, gray, (unsigned long)w * (unsigned long)h, NULL);
	if (zbar_scan_image(scanner, img) < 0) {
		rc = sm_err_set(err, SM_EIO, "image", "the QR reader failed on %s", name);
		goto out;
	}
	const zbar_symbol_t *one = NULL;
	for (const zbar_symbol_t *sym = zbar_image_first_symbol(img); sym; sym = zbar_symbol_next(sym))
		if (zbar_symbol_get_type(sym) == ZBAR_QRCODE) {
			(*found)++;
			one = sym;
		}
	if (*found != 1)
		goto out;
	const char *data = zbar_symbol_get_data(one);
	size_t len = zbar_symbol_get_data_length(one);
	if (!data || len > QR_TEXT_MAX || memchr(data, '\0', len)) {
		rc = sm_err_set(err, SM_EINVAL, "image", "the QR code in %s holds no label text", name);
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
	return rc;
}

/* ---- PNG (cairo and libpng) ---- */

typedef struct mem_reader {
	const uint8_t *p;
	size_t left;
} mem_reader;

static cairo_status_t read_png(void *ctx, unsigned char *data, unsigned int len)
{
	mem_reader *r = ctx;
	if (len > r->left)
		return CAIRO_STATUS_READ_ERROR;
	memcpy(data, r->p, len);
	r->p += len;
	r->left -= len;
	return CAIRO_STATUS_SUCCESS;
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

/*
 * The IHDR's dimensions are checked before libpng sees the data, so that a tiny file cannot ask for
 * gigabytes; cairo then decodes the whole image.
 */
static int png_to_gray(const uint8_t *data, size_t len, const char *name, uint64_t pixels_max, uint8_t **gray,
                       unsigned *gw, unsigned *gh, sm_err *err)
{
	cairo_surface_t *s = NULL;
	int rc = 0;

	if (len < 24 || memcmp(data + 12, "IHDR", 4) != 0)
		return sm_err_set(err, SM_EINVAL, "image", "%s is not a readable PNG image (no IHDR header)", name);
	uint32_t w0 = be32(data + 16), h0 = be32(data + 20);
	if (!size_ok(w0, h0, pixels_max))
		return size_refused(name, w0, h0, pixels_max, err);
	mem_reader r = {data, len};
	s = cairo_image_surface_create_from_png_stream(read_png, &r);
	cairo_status_t st = cairo_surface_status(s);
	if (st == CAIRO_STATUS_NO_MEMORY) {
		rc = sm_err_set(err, SM_ENOMEM, "image", "out of memory decoding %s", name);
		goto out;
	}
	if (st != CAIRO_STATUS_SUCCESS) {
		rc = sm_err_set(err, SM_EINVAL, "image", "%s is not a readable PNG image (%s)", name,
		                cairo_status_to_string(st));
		goto out;
	}
	int w = cairo_image_surface_get_width(s), h = cairo_image_surface_get_height(s);
	if (w <= 0 || h <= 0 || !size_ok((unsigned)w, (unsigned)h, pixels_max)) {
		rc = sm_err_set(err, SM_EINVAL, "image", "%s has an unusable size %dx%d", name, w, h);
		goto out;
	}
	if (!(*gray = to_gray(s, (unsigned)w, (unsigned)h))) {
		rc = sm_err_set(err, SM_ENOMEM, "image", "out of memory converting %s", name);
		goto out;
	}
	*gw = (unsigned)w;
	*gh = (unsigned)h;
out:
	cairo_surface_destroy(s);
	return rc;
}

/* ---- JPEG (libjpeg-turbo) ---- */

/*
 * libjpeg's default error manager prints and calls exit(): ours jumps back to the decoder with the message.
 * Everything the decoder changes after setjmp lives in this struct, owned by its caller, so that nothing
 * in the setjmp frame needs to be volatile.
 */
typedef struct jpeg_dec {
	struct jpeg_decompress_struct cinfo;
	struct jpeg_error_mgr jerr;
	struct jpeg_progress_mgr progress;
	jmp_buf jump;
	char msg[JMSG_LENGTH_MAX];
	bool created;
	uint8_t *gray; /* the output, w x h */
	uint8_t *row;  /* a CMYK row, converted into gray */
	unsigned w, h;
	unsigned denom; /* the output is 1/denom of the frame */
} jpeg_dec;

static void jpeg_fail(j_common_ptr c)
{
	jpeg_dec *d = (jpeg_dec *)c->client_data;
	c->err->format_message(c, d->msg);
	longjmp(d->jump, 1);
}

/*
 * Warnings: data that ends early (a truncated file, or a scan cut short by a marker) is an error here, as the
 * rest of the picture would be made up. Other corrupt-data warnings (a few stray bytes between markers, which
 * some cameras write) are let through; trace messages are dropped. Nothing is printed.
 */
static void jpeg_note(j_common_ptr c, int level)
{
	if (level < 0) {
		if (c->err->msg_code == JWRN_JPEG_EOF || c->err->msg_code == JWRN_HIT_MARKER ||
		    c->err->msg_code == JWRN_HUFF_BAD_CODE)
			jpeg_fail(c);
		c->err->num_warnings++;
	}
}

static void jpeg_progress(j_common_ptr c)
{
	j_decompress_ptr cinfo = (j_decompress_ptr)c;
	if (cinfo->input_scan_number > JPEG_SCANS_MAX) {
		jpeg_dec *d = (jpeg_dec *)c->client_data;
		snprintf(d->msg, sizeof(d->msg), "more than %d scans", JPEG_SCANS_MAX);
		longjmp(d->jump, 1);
	}
}

/* The coefficient memory a multi-scan JPEG holds while decoding (see JPEG_MEMORY_MAX). */
static uint64_t coefficient_bytes(const struct jpeg_decompress_struct *cinfo)
{
	uint64_t sum = 0;
	for (int ci = 0; ci < cinfo->num_components; ci++) {
		const jpeg_component_info *comp = &cinfo->comp_info[ci];
		/* rounded up to whole MCUs, as jdcoefct.c allocates */
		uint64_t bw = comp->width_in_blocks + (uint64_t)comp->h_samp_factor;
		uint64_t bh = comp->height_in_blocks + (uint64_t)comp->v_samp_factor;
		sum += bw * bh * DCTSIZE2 * sizeof(JCOEF);
	}
	return sum;
}

/*
 * Decode to 8-bit gray, when `reduce` at 1/2 or 1/4 of the size if it is over JPEG_FIRST_TRY_PIXELS (the
 * smallest reduction that brings it under). The caller makes d (zeroed) and calls jpeg_dec_cleanup after,
 * whatever the result.
 */
static int jpeg_decode(jpeg_dec *d, const uint8_t *data, size_t len, const char *name, uint64_t pixels_max, bool reduce,
                       sm_err *err)
{
	struct jpeg_decompress_struct *cinfo = &d->cinfo;

	cinfo->err = jpeg_std_error(&d->jerr);
	d->jerr.error_exit = jpeg_fail;
	d->jerr.emit_message = jpeg_note;
	cinfo->client_data = d;
	if (setjmp(d->jump)) {
		if (d->msg[0] == '\0')
			snprintf(d->msg, sizeof(d->msg), "decoder error");
		/* libjpeg asks for more than JPEG_MEMORY_MAX only for a frame the check below let through */
		if (d->jerr.msg_code == JERR_OUT_OF_MEMORY || d->jerr.msg_code == JERR_NO_BACKING_STORE)
			return sm_err_set(
			    err, SM_EINVAL, "image",
			    "%s needs more than %u MB to decode (%s): save it as a baseline JPEG or a PNG", name,
			    JPEG_MEMORY_MAX >> 20, d->msg);
		return sm_err_set(err, SM_EINVAL, "image", "%s is not a readable JPEG image (%s)", name, d->msg);
	}
	jpeg_create_decompress(cinfo);
	d->created = true;
	/* after jpeg_create_decompress: it sets the cap from the JPEGMEM environment variable */
	cinfo->mem->max_memory_to_use = JPEG_MEMORY_MAX;
	d->progress.progress_monitor = jpeg_progress;
	cinfo->progress = &d->progress;
	jpeg_mem_src(cinfo, data, (unsigned long)len);
	jpeg_read_header(cinfo, TRUE);

	/* the caps, from the frame header, before anything is decoded or allocated for the image */
	if (!size_ok(cinfo->image_width, cinfo->image_height, pixels_max))
		return size_refused(name, cinfo->image_width, cinfo->image_height, pixels_max, err);
	if (jpeg_has_multiple_scans(cinfo) && coefficient_bytes(cinfo) > JPEG_MEMORY_MAX)
		return sm_err_set(err, SM_EINVAL, "image",
		                  "%s is a progressive JPEG of %ux%u pixels, which needs %llu MB to decode; at most "
		                  "%u MB are used: save it as a baseline JPEG or a PNG",
		                  name, cinfo->image_width, cinfo->image_height,
		                  (unsigned long long)(coefficient_bytes(cinfo) >> 20), JPEG_MEMORY_MAX >> 20);

	/*
	 * Gray straight from the decoder: from YCbCr that is the Y plane, and the chroma is never transformed.
	 * libjpeg does not turn CMYK (print workflows, Adobe) into gray: those come as CMYK and are converted
	 * below. EXIF orientation is ignored: a QR code reads in any of the four rotations (and mirrored).
	 */
	bool cmyk = cinfo->jpeg_color_space == JCS_CMYK || cinfo->jpeg_color_space == JCS_YCCK;
	cinfo->out_color_space = cmyk ? JCS_CMYK : JCS_GRAYSCALE;
	d->denom = 1;
	while (reduce && d->denom < JPEG_FIRST_TRY_DENOM_MAX &&
	       (uint64_t)(cinfo->image_width / d->denom) * (cinfo->image_height / d->denom) > JPEG_FIRST_TRY_PIXELS)
		d->denom *= 2;
	cinfo->scale_num = 1;
	cinfo->scale_denom = d->denom;
	cinfo->dct_method = JDCT_ISLOW;
	jpeg_calc_output_dimensions(cinfo);
	d->w = cinfo->output_width;
	d->h = cinfo->output_height;
	if (!size_ok(d->w, d->h, pixels_max)) /* cannot be larger than the frame; checked all the same */
		return size_refused(name, d->w, d->h, pixels_max, err);
	if (!(d->gray = malloc((size_t)d->w * d->h)) || (cmyk && !(d->row = malloc((size_t)d->w * 4))))
		return sm_err_set(err, SM_ENOMEM, "image", "out of memory decoding %s", name);

	jpeg_start_decompress(cinfo);
	while (cinfo->output_scanline < cinfo->output_height) {
		uint8_t *line = d->gray + (size_t)cinfo->output_scanline * d->w;
		JSAMPROW rows[1] = {cmyk ? d->row : line};
		if (jpeg_read_scanlines(cinfo, rows, 1) != 1)
			continue; /* suspension cannot happen with a memory source; the loop ends at EOI */
		if (!cmyk)
			continue;
		/* Adobe writes CMYK inverted (255 = no ink), which libjpeg leaves as it is */
		bool inverted = cinfo->saw_Adobe_marker;
		for (unsigned x = 0; x < d->w; x++) {
			const uint8_t *p = d->row + 4 * (size_t)x;
			uint32_t k = inverted ? p[3] : 255u - p[3];
			uint32_t r = (inverted ? p[0] : 255u - p[0]) * k / 255u;
			uint32_t g = (inverted ? p[1] : 255u - p[1]) * k / 255u;
			uint32_t b = (inverted ? p[2] : 255u - p[2]) * k / 255u;
			line[x] = (uint8_t)((r * 77 + g * 150 + b * 29) >> 8);
		}
	}
	jpeg_finish_decompress(cinfo);
	return 0;
}

static void jpeg_dec_cleanup(jpeg_dec *d)
{
	if (d->created)
		jpeg_destroy_decompress(&d->cinfo);
	free(d->row);
	free(d->gray);
	memset(d, 0, sizeof(*d));
}

static int scan_jpeg(const uint8_t *data, size_t len, const char *name, uint64_t pixels_max, size_t *found, char **text,
                     sm_err *err)
{
	jpeg_dec *d = calloc(1, sizeof(*d));
	int rc = 0;
	if (!d)
		return sm_err_set(err, SM_ENOMEM, "image", "out of memory");
	if ((rc = jpeg_decode(d, data, len, name, pixels_max, true, err)))
		goto out;
	if ((rc = scan_gray(d->gray, d->w, d->h, name, found, text, err)))
		goto out;
	if (*found == 0 && d->denom > 1) {
		/* nothing at the reduced scale: a label small in the frame may still read at full size */
		jpeg_dec_cleanup(d);
		if ((rc = jpeg_decode(d, data, len, name, pixels_max, false, err)))
			goto out;
		rc = scan_gray(d->gray, d->w, d->h, name, found, text, err);
	}
out:
	jpeg_dec_cleanup(d);
	free(d);
	return rc;
}

int sm_label_read_image_mem(const uint8_t *data, size_t len, const char *name, uint64_t pixels_max, char **text,
                            sm_err *err)
{
	uint8_t *gray = NULL;
	unsigned w = 0, h = 0;
	size_t found = 0;
	int rc = 0;

	*text = NULL;
	if (pixels_max == 0 || pixels_max > IMAGE_PIXELS_MAX)
		pixels_max = IMAGE_PIXELS_MAX;
	if (len > IMAGE_FILE_MAX)
		return sm_err_set(err, SM_EINVAL, "image", "%s is %zu bytes; images over %u bytes are not read", name,
		                  len, IMAGE_FILE_MAX);
	if (len >= sizeof(png_magic) && memcmp(data, png_magic, sizeof(png_magic)) == 0) {
		if ((rc = png_to_gray(data, len, name, pixels_max, &gray, &w, &h, err)))
			goto out;
		if ((rc = scan_gray(gray, w, h, name, &found, text, err)))
			goto out;
	} else if (len >= sizeof(jpeg_magic) && memcmp(data, jpeg_magic, sizeof(jpeg_magic)) == 0) {
		if ((rc = scan_jpeg(data, len, name, pixels_max, &found, text, err)))
			goto out;
	} else {
		rc = sm_err_set(err, SM_EINVAL, "image", "%s is not a PNG or JPEG image", name);
		goto out;
	}
	if (found == 0)
		rc = sm_err_set(err, SM_EINVAL, "image", "no QR code found in %s", name);
	else if (found > 1)
		rc = sm_err_set(err, SM_EINVAL, "image", "%zu codes found; crop the photo to one label", found);
out:
	if (rc) {
		free(*text);
		*text = NULL;
	}
	free(gray);
	return rc;
}

/* The whole file, checked to be a regular file within IMAGE_FILE_MAX first. */
static int read_capped(const char *path, uint8_t **out, size_t *outlen, sm_err *err)
{
	struct stat st;
	uint8_t *buf = NULL;
	int rc = 0;
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return sm_err_set(err, errno == ENOENT ? SM_EINVAL : SM_EIO, "image", "cannot open %s: %s", path,
		                  strerror(errno));
	if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
		rc = sm_err_set(err, SM_EINVAL, "image", "%s is not a regular file", path);
		goto out;
	}
	if ((uint64_t)st.st_size > IMAGE_FILE_MAX) {
		rc = sm_err_set(err, SM_EINVAL, "image", "%s is %lld bytes; images over %u bytes are not read", path,
		                (long long)st.st_size, IMAGE_FILE_MAX);
		goto out;
	}
	/* one byte more than the cap, so that a file that grew since fstat is still caught */
	size_t cap = (size_t)st.st_size + 1, len = 0;
	if (!(buf = malloc(cap))) {
		rc = sm_err_set(err, SM_ENOMEM, "image", "out of memory reading %s", path);
		goto out;
	}
	for (;;) {
		ssize_t n = read(fd, buf + len, cap - len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			rc = sm_err_set(err, SM_EIO, "image", "cannot read %s: %s", path, strerror(errno));
			goto out;
		}
		if (n == 0)
			break;
		len += (size_t)n;
		if (len == cap) {
			rc = sm_err_set(err, SM_EIO, "image", "%s changed while it was read", path);
			goto out;
		}
	}
	*out = buf;
	*outlen = len;
	buf = NULL;
out:
	free(buf);
	close(fd);
	return rc;
}

int sm_label_read_image(const char *path, char **text, sm_err *err)
{
	uint8_t *data = NULL;
	size_t len = 0;
	int rc;

	*text = NULL;
	if ((rc = read_capped(path, &data, &len, err)))
		return rc;
	rc = sm_label_read_image_mem(data, len, path, 0, text, err);
	free(data);
	return rc;
}
