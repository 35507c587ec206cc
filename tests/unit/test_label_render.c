/* SPDX-License-Identifier: Apache-2.0 */
/* Unit tests of label rendering: every format read back by independent tools, sizes, layout refusals. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cairo.h>
#include <cmocka.h>

#include "starmark/label.h"
#include "starmark/starmark.h"

/* A label URL as lib/label.c makes them: upper case, base32, about a version 8 code at M. */
#define URL_A                                                                                                \
	"HTTPS://REGISTRY.EXAMPLE.JP/L/QRI2GAJHAMM733AEJDKDVCGMIUJDF4VALAPYMAICNRJFKRRNIUZDIMBWKNAVOZSSJFH"  \
	"E4QKJDFGWMGTGGGDAAWCAJQ76SL7734I6FF3K677UFVENLTYZC7UDSJYYYAMDBIDXGOSI35CTFXCANLD5J56ZPONS7NW4UYHC"

/*
 * LeakSanitizer: fontconfig keeps its parsed configuration and font patterns for the life of the
 * process (cairo's font map holds them: a constant ~1 KB), and cairo 1.16 loses ~1.5 KB inside
 * cairo_surface_finish of every PDF whose text it subsets (the same with cairo alone, no starmark
 * code). Matching the latter needs whole stacks, hence the slow unwinder.
 */
const char *__lsan_default_suppressions(void);
const char *__lsan_default_suppressions(void)
{
	return "leak:libfontconfig.so\nleak:cairo_surface_finish\n";
}

const char *__asan_default_options(void);
const char *__asan_default_options(void)
{
	return "fast_unwind_on_malloc=0";
}

struct fx {
	char dir[64];
	sm_cert *cert;
	sm_buf out;
};

static sm_cert *cert_new(const char *product, const char *model, int level)
{
	sm_cert *c = sm_cert_new();
	assert_non_null(c);
	snprintf(c->id, sizeof(c->id), "SM-2024-000123");
	snprintf(c->scheme, sizeof(c->scheme), "CCDS");
	snprintf(c->vendor, sizeof(c->vendor), "RINNAI");
	c->product = strdup(product);
	c->models = calloc(2, sizeof(char *));
	c->models[0] = strdup(model);
	c->models[1] = strdup("RUF-E2406AW");
	c->nmodels = 2;
	c->level = level;
	assert_int_equal(sm_date_parse("2024-04-01", false, "registered", &c->registered, NULL), 0);
	return c;
}

static int setup(void **state)
{
	struct fx *f = calloc(1, sizeof(*f));
	snprintf(f->dir, sizeof(f->dir), "/tmp/sm-test-lrend-XXXXXX");
	assert_non_null(mkdtemp(f->dir));
	f->cert = cert_new("ガス給湯器 エコジョーズ", "RUF-E2406SAW", 3);
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fx *f = *state;
	char cmd[128];
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", f->dir);
	assert_int_equal(system(cmd), 0);
	sm_cert_free(f->cert);
	sm_buf_cleanup(&f->out);
	free(f);
	return 0;
}

static int buf_write(void *ctx, const void *p, size_t n)
{
	return sm_buf_append(ctx, p, n);
}

static int failing_write(void *ctx, const void *p, size_t n)
{
	return SM_EIO;
}

static sm_label_opts opts(enum sm_label_format fmt)
{
	sm_label_opts o;
	sm_label_opts_default(&o);
	o.format = fmt;
	return o;
}

static void render(struct fx *f, const sm_label_opts *o, const char *url)
{
	sm_err err = {0};
	f->out.len = 0;
	int rc = sm_label_render(f->cert, NULL, url, o, buf_write, &f->out, &err);
	if (rc)
		fail_msg("sm_label_render: %d %s", rc, err.msg);
	assert_true(f->out.len > 0);
}

static void save(const struct fx *f, const char *name, char *path, size_t cap)
{
	snprintf(path, cap, "%s/%s", f->dir, name);
	FILE *fp = fopen(path, "wb");
	assert_non_null(fp);
	assert_int_equal(fwrite(f->out.data, 1, f->out.len, fp), f->out.len);
	assert_int_equal(fclose(fp), 0);
}

static bool have(const char *tool)
{
	char cmd[128];
	snprintf(cmd, sizeof(cmd), "command -v %s >/dev/null 2>&1", tool);
	return system(cmd) == 0;
}

/* Run a shell command and return its standard output (caller frees). */
static char *run(const char *cmd)
{
	FILE *p = popen(cmd, "r");
	assert_non_null(p);
	size_t cap = 1 << 16, n = 0;
	char *s = malloc(cap);
	for (size_t got; (got = fread(s + n, 1, cap - 1 - n, p)) > 0;) {
		n += got;
		if (n + 1 == cap)
			s = realloc(s, cap *= 2);
	}
	s[n] = '\0';
	pclose(p);
	return s;
}

/* zbarimg --raw on an image file: every code it finds, one per line. */
static char *zbar(const char *png)
{
	char cmd[512];
	snprintf(cmd, sizeof(cmd), "zbarimg --quiet --raw '%s' 2>/dev/null", png);
	return run(cmd);
}

/* ---- reading a PNG independently: libpng through cairo, and the chunks by hand ---- */

static uint32_t be32(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

/* Bitwise CRC-32, deliberately not the table method of the code under test. */
static uint32_t crc_bitwise(const uint8_t *p, size_t n)
{
	uint32_t c = 0xffffffffu;
	for (size_t i = 0; i < n; i++) {
		c ^= p[i];
		for (int k = 0; k < 8; k++)
			c = (c >> 1) ^ (0xedb88320u & (0u - (c & 1)));
	}
	return ~c;
}

/* The pHYs chunk's pixels per metre (x, y) and unit; asserts every chunk's CRC on the way. */
static void png_phys(const sm_buf *b, uint32_t *px, uint32_t *py, int *unit)
{
	assert_memory_equal(b->data, "\x89PNG\r\n\x1a\n", 8);
	bool found = false;
	for (size_t off = 8; off + 12 <= b->len;) {
		uint32_t n = be32(b->data + off);
		assert_true(off + 12 + n <= b->len);
		assert_int_equal(crc_bitwise(b->data + off + 4, n + 4), be32(b->data + off + 8 + n));
		if (memcmp(b->data + off + 4, "pHYs", 4) == 0) {
			assert_int_equal(n, 9);
			*px = be32(b->data + off + 8);
			*py = be32(b->data + off + 12);
			*unit = b->data[off + 16];
			found = true;
		}
		off += 12 + n;
	}
	assert_true(found);
}

typedef struct image {
	cairo_surface_t *s;
	int w, h, stride;
	const uint8_t *p;
} image;

struct reader {
	const sm_buf *b;
	size_t off;
};

static cairo_status_t read_png(void *closure, unsigned char *data, unsigned int n)
{
	struct reader *r = closure;
	if (r->b->len - r->off < n)
		return CAIRO_STATUS_READ_ERROR;
	memcpy(data, r->b->data + r->off, n);
	r->off += n;
	return CAIRO_STATUS_SUCCESS;
}

static image png_load(const sm_buf *b)
{
	struct reader r = {b, 0};
	image im;
	im.s = cairo_image_surface_create_from_png_stream(read_png, &r);
	assert_int_equal(cairo_surface_status(im.s), CAIRO_STATUS_SUCCESS);
	im.w = cairo_image_surface_get_width(im.s);
	im.h = cairo_image_surface_get_height(im.s);
	im.stride = cairo_image_surface_get_stride(im.s);
	im.p = cairo_image_surface_get_data(im.s);
	assert_int_equal(cairo_image_surface_get_format(im.s), CAIRO_FORMAT_RGB24);
	return im;
}

static bool dark(const image *im, int x, int y)
{
	const uint32_t *px = (const uint32_t *)(const void *)(im->p + (size_t)y * (size_t)im->stride);
	return ((px[x] >> 8) & 0xff) < 128; /* green channel */
}

/*
 * The QR code's dark-module bounding box: the first run of columns holding ink, from the left,
 * ending at a gap of `gap` clean columns (the text stands right of the quiet zone), then the rows
 * with ink within those columns.
 */
static void qr_box(const image *im, int gap, int *x0, int *x1, int *y0, int *y1)
{
	*x0 = -1;
	int clean = 0;
	for (int x = 0; x < im->w; x++) {
		bool ink = false;
		for (int y = 0; y < im->h && !ink; y++)
			ink = dark(im, x, y);
		if (ink && *x0 < 0)
			*x0 = x;
		if (ink) {
			*x1 = x + 1;
			clean = 0;
		} else if (*x0 >= 0 && ++clean >= gap) {
			break;
		}
	}
	assert_true(*x0 >= 0);
	*y0 = -1;
	for (int y = 0; y < im->h; y++)
		for (int x = *x0; x < *x1; x++)
			if (dark(im, x, y)) {
				if (*y0 < 0)
					*y0 = y;
				*y1 = y + 1;
				break;
			}
}

/* Modules across, from the top-left finder pattern (7 modules of ink on its first row). */
static double module_px(const image *im, int x0, int y0)
{
	int x = x0;
	while (x < im->w && dark(im, x, y0))
		x++;
	return (x - x0) / 7.0;
}

/* ---- tests ---- */

static void test_label_render_opts_default(void **state)
{
	sm_label_opts o;
	memset(&o, 0xff, sizeof(o));
	sm_label_opts_default(&o);
	assert_int_equal(o.format, SM_LABEL_PNG);
	assert_true(o.code_mm == 20.0);
	assert_int_equal(o.ec, 1);
	assert_int_equal(o.dpi, 300);
}

static void test_label_render_png_decodes(void **state)
{
	struct fx *f = *state;
	sm_label_opts o = opts(SM_LABEL_PNG);
	char path[128];
	render(f, &o, URL_A);
	save(f, "a.png", path, sizeof(path));
	if (!have("zbarimg"))
		skip();
	char *got = zbar(path);
	assert_string_equal(got, URL_A "\n");
	free(got);
}

/* The width of the run of ink that starts at (x, y): the finder pattern's top edge is 7 modules. */
static int ink_run(const image *im, int x, int y)
{
	int n = 0;
	while (x + n < im->w && dark(im, x + n, y))
		n++;
	return n;
}

/*
 * At 300, 203 and 600 dpi each module is a whole number of pixels (the finder's 7 modules are 7 m
 * pixels, the code m * modules), m the nearest to the asked size or one less, the code centred on
 * the asked square with its quiet zone clean.
 */
static void test_label_render_png_size_and_dpi(void **state)
{
	struct fx *f = *state;
	const int dpis[] = {300, 203, 600, 203};
	const double sizes[] = {20.0, 15.0, 32.5, 20.0};
	for (size_t i = 0; i < 4; i++) {
		sm_label_opts o = opts(SM_LABEL_PNG);
		o.dpi = dpis[i];
		o.code_mm = sizes[i];
		render(f, &o, URL_A);
		uint32_t px = 0, py = 0;
		int unit = 0;
		png_phys(&f->out, &px, &py, &unit);
		const uint32_t ppm = (uint32_t)(dpis[i] / 0.0254 + 0.5);
		assert_int_equal(px, ppm);
		assert_int_equal(py, ppm);
		assert_int_equal(unit, 1);

		image im = png_load(&f->out);
		/* the label is 55 x 24 code_mm/20 millimetres */
		assert_true(abs(im.w - (int)(sizes[i] * 55 / 20 / 25.4 * dpis[i] + 0.5)) <= 1);
		assert_true(abs(im.h - (int)(sizes[i] * 24 / 20 / 25.4 * dpis[i] + 0.5)) <= 1);
		int version = 0, modules = 0;
		assert_int_equal(sm_label_qr_size(URL_A, 1, &version, &modules, NULL), 0);
		const double want_px = sizes[i] * dpis[i] / 25.4, ideal = want_px / (modules + 8);
		int x0 = 0, x1 = 0, y0 = 0, y1 = 0;
		qr_box(&im, (int)(ideal * 2), &x0, &x1, &y0, &y1);
		const int finder = ink_run(&im, x0, y0);
		if (finder % 7 || (x1 - x0) != finder / 7 * modules || (y1 - y0) != (x1 - x0))
			fail_msg("%d dpi, %.1f mm: modules should be whole pixels: finder %d px, code %d x %d px "
			         "for %d modules",
			         dpis[i], sizes[i], finder, x1 - x0, y1 - y0, modules);
		const int m = finder / 7;
		if (m != (int)(ideal + 0.5) && m != (int)(ideal + 0.5) - 1)
			fail_msg("%d dpi, %.1f mm: %d px a module, the asked size is %.2f", dpis[i], sizes[i], m, ideal);
		/* centred on the square 2k from the corner, the quiet zone (4 modules) clean */
		const double k = sizes[i] / 20 * dpis[i] / 25.4;
		const double corner = 2 * k + want_px / 2 - m * (modules + 8) / 2.0 + 4 * m;
		assert_true(abs(x0 - (int)(corner + 0.5)) <= 1 && abs(y0 - (int)(corner + 0.5)) <= 1);
		cairo_surface_destroy(im.s);
	}
}

static void test_label_render_ec_h_bigger_version(void **state)
{
	struct fx *f = *state;
	int vm = 0, wm = 0, vh = 0, wh = 0;
	assert_int_equal(sm_label_qr_size(URL_A, 1, &vm, &wm, NULL), 0);
	assert_int_equal(sm_label_qr_size(URL_A, 3, &vh, &wh, NULL), 0);
	assert_true(vm <= 9); /* a real label URL stays small at M */
	assert_true(vh > vm);
	assert_int_equal(wm, 4 * vm + 17);
	assert_int_equal(wh, 4 * vh + 17);

	/* and the drawn code really has that many modules: count them from the finder pattern */
	const int ecs[] = {1, 3}, want[] = {wm, wh};
	for (int i = 0; i < 2; i++) {
		sm_label_opts o = opts(SM_LABEL_PNG);
		o.ec = ecs[i];
		o.dpi = 600;
		render(f, &o, URL_A);
		image im = png_load(&f->out);
		int x0 = 0, x1 = 0, y0 = 0, y1 = 0;
		qr_box(&im, 12, &x0, &x1, &y0, &y1);
		double m = module_px(&im, x0, y0);
		int counted = (int)((x1 - x0) / m + 0.5);
		assert_int_equal(counted, want[i]);
		cairo_surface_destroy(im.s);
	}
	if (!have("zbarimg"))
		skip();
	char path[128];
	save(f, "h.png", path, sizeof(path));
	char *got = zbar(path);
	assert_string_equal(got, URL_A "\n");
	free(got);
}

static void test_label_render_svg_decodes(void **state)
{
	struct fx *f = *state;
	sm_label_opts o = opts(SM_LABEL_SVG);
	char path[128], cmd[512];
	render(f, &o, URL_A);
	assert_int_equal(sm_buf_terminate(&f->out), 0);
	assert_non_null(strstr((char *)f->out.data, "width=\"55mm\" height=\"24mm\""));
	save(f, "a.svg", path, sizeof(path));
	if (!have("rsvg-convert") || !have("zbarimg"))
		skip();
	snprintf(cmd, sizeof(cmd), "rsvg-convert -d 300 -p 300 -o '%s/svg.png' '%s' && echo ok", f->dir,
	         path);
	char *ok = run(cmd);
	assert_string_equal(ok, "ok\n");
	free(ok);
	snprintf(path, sizeof(path), "%s/svg.png", f->dir);
	char *got = zbar(path);
	assert_string_equal(got, URL_A "\n");
	free(got);
}

/* An SVG's lines are <text> in the label face, markup escaped; its code a PNG of the printer's dots. */
static void test_label_render_svg_text(void **state)
{
	struct fx *f = *state;
	sm_label_opts o = opts(SM_LABEL_SVG);
	free(f->cert->models[1]);
	f->cert->models[1] = strdup("R&D<1>");
	f->out.len = 0;
	assert_int_equal(sm_label_render(f->cert, "R&D<1>", URL_A, &o, buf_write, &f->out, NULL), 0);
	assert_int_equal(sm_buf_terminate(&f->out), 0);
	const char *svg = (const char *)f->out.data;
	if (!strstr(svg, "font-weight=\"bold\" textLength=") || !strstr(svg, ">R&amp;D&lt;1&gt;</text>"))
		fail_msg("expected the model number as escaped bold <text>, got: %.600s", svg);
	assert_non_null(strstr(svg, "font-family=\"'BIZ UDGothic'"));
	assert_non_null(strstr(svg, "<image "));
	assert_non_null(strstr(svg, "data:image/png;base64,"));
	assert_null(strstr(svg, "<use"));
	assert_null(strstr(svg, "<symbol"));
}

static void test_label_render_pdf_decodes_and_size(void **state)
{
	struct fx *f = *state;
	sm_label_opts o = opts(SM_LABEL_PDF);
	o.code_mm = 25;
	char path[128], cmd[512];
	render(f, &o, URL_A);
	save(f, "a.pdf", path, sizeof(path));
	if (!have("pdftoppm") || !have("pdfinfo") || !have("zbarimg"))
		skip();
	/* 25 mm code: a 68.75 x 30 mm page, 194.88 x 85.04 pt */
	snprintf(cmd, sizeof(cmd), "pdfinfo '%s' | sed -n 's/^Page size: *//p'", path);
	char *size = run(cmd);
	assert_string_equal(size, "194.882 x 85.0394 pts\n");
	free(size);
	snprintf(cmd, sizeof(cmd), "pdftoppm -r 300 -png -singlefile '%s' '%s/pdf' && echo ok", path, f->dir);
	char *ok = run(cmd);
	assert_string_equal(ok, "ok\n");
	free(ok);
	snprintf(path, sizeof(path), "%s/pdf.png", f->dir);
	char *got = zbar(path);
	assert_string_equal(got, URL_A "\n");
	free(got);
}

static void test_label_render_zpl(void **state)
{
	struct fx *f = *state;
	const int ecs[] = {1, 3};
	const char *letters[] = {"MA,", "HA,"};
	for (int i = 0; i < 2; i++) {
		sm_label_opts o = opts(SM_LABEL_ZPL);
		o.ec = ecs[i];
		o.dpi = i ? 203 : 300;
		render(f, &o, URL_A);
		assert_int_equal(sm_buf_terminate(&f->out), 0);
		const char *z = (const char *)f->out.data;
		assert_memory_equal(z, "^XA\n", 4);
		assert_string_equal(z + f->out.len - 4, "^XZ\n");
		assert_null(strstr(z + 1, "^XA"));
		/* exactly one QR field, its data exactly the error-correction letter, A, and the URL */
		const char *bq = strstr(z, "^BQN,2,");
		assert_non_null(bq);
		assert_null(strstr(bq + 1, "^BQ"));
		const char *fd = strstr(bq, "^FD"), *fs = strstr(bq, "^FS");
		assert_non_null(fd);
		assert_non_null(fs);
		char want[512];
		snprintf(want, sizeof(want), "%s%s", letters[i], URL_A);
		assert_int_equal((size_t)(fs - fd - 3), strlen(want));
		assert_memory_equal(fd + 3, want, strlen(want));
		/* magnification: dots per module nearest to 20 mm at the printer's dpi */
		int version = 0, modules = 0;
		assert_int_equal(sm_label_qr_size(URL_A, ecs[i], &version, &modules, NULL), 0);
		int mag = (int)strtol(bq + 7, NULL, 10);
		assert_int_equal(mag, (int)(20.0 * o.dpi / 25.4 / (modules + 8) + 0.5));
		/* the text: stars as Lv.3, model and id as printer text, the Japanese name as a bitmap */
		assert_non_null(strstr(z, "^FDLv.3 ***^FS"));
		assert_non_null(strstr(z, "^FDRUF-E2406SAW^FS"));
		assert_non_null(strstr(z, "^FDReg. No. SM-2024-000123^FS"));
		assert_non_null(strstr(z, "^GFA,"));
		assert_non_null(strstr(z, "^FX"));
	}
}

static void test_label_render_zpl_escapes_and_refusals(void **state)
{
	struct fx *f = *state;
	sm_label_opts o = opts(SM_LABEL_ZPL);
	sm_err err = {0};
	free(f->cert->product);
	f->cert->product = strdup("Lock ^XZ~JA_1");
	render(f, &o, URL_A);
	assert_int_equal(sm_buf_terminate(&f->out), 0);
	assert_non_null(strstr((char *)f->out.data, "^FH_^FDLock _5EXZ_7EJA_5F1^FS"));
	f->out.len = 0;
	assert_int_equal(sm_label_render(f->cert, NULL, "HTTPS://X/L/A^XZ", &o, buf_write, &f->out, &err),
	                 SM_EINVAL);
	assert_string_equal(err.field, "url");
	assert_non_null(strstr(err.msg, "'^'"));
	o.dpi = 250;
	assert_int_equal(sm_label_render(f->cert, NULL, URL_A, &o, buf_write, &f->out, &err), SM_EINVAL);
	assert_string_equal(err.field, "dpi");
	assert_non_null(strstr(err.msg, "250"));
	o.dpi = 600;
	o.code_mm = 100; /* 100 mm at 600 dpi needs ~40 dots a module */
	assert_int_equal(sm_label_render(f->cert, NULL, URL_A, &o, buf_write, &f->out, &err), SM_EINVAL);
	assert_string_equal(err.field, "code_mm");
	assert_int_equal(f->out.len, 0);
}

/*
 * The contract allows 64 bytes of printable UTF-8 in a model number: the widest the validator takes
 * (64 'W', the widest Latin capital) and 21 kanji (63 bytes) print in every format, on two lines, the
 * label wider where the smallest type still does not fit.
 */
static void test_label_render_long_models(void **state)
{
	struct fx *f = *state;
	const char *models[] = {"WWWWWWWWWWWWWWWWWWWWWWWWWWWWWWWWWWWWWWWWWWWWWWWWWWWWWWWWWWWWWWWW",
	                        "\xe9\xbe\x8d\xe9\xbe\x8d\xe9\xbe\x8d\xe9\xbe\x8d\xe9\xbe\x8d\xe9\xbe\x8d\xe9\xbe\x8d"
	                        "\xe9\xbe\x8d\xe9\xbe\x8d\xe9\xbe\x8d\xe9\xbe\x8d\xe9\xbe\x8d\xe9\xbe\x8d\xe9\xbe\x8d"
	                        "\xe9\xbe\x8d\xe9\xbe\x8d\xe9\xbe\x8d\xe9\xbe\x8d\xe9\xbe\x8d\xe9\xbe\x8d\xe9\xbe\x8d",
	                        "ABCDEFGHIJ-0123456789-XY"};
	for (size_t j = 0; j < 3; j++) {
		assert_true(strlen(models[j]) <= SM_MODEL_MAX);
		free(f->cert->models[1]);
		f->cert->models[1] = strdup(models[j]);
		for (int fmt = SM_LABEL_PNG; fmt <= SM_LABEL_ZPL; fmt++) {
			sm_label_opts o = opts((enum sm_label_format)fmt);
			sm_err err = {0};
			f->out.len = 0;
			if (sm_label_render(f->cert, models[j], URL_A, &o, buf_write, &f->out, &err))
				fail_msg("model %zu, format %d: %s", j, fmt, err.msg);
			assert_true(f->out.len > 0);
		}
		sm_label_opts o = opts(SM_LABEL_PNG);
		f->out.len = 0;
		assert_int_equal(sm_label_render(f->cert, models[j], URL_A, &o, buf_write, &f->out, NULL), 0);
		image im = png_load(&f->out);
		const double w_mm = im.w * 25.4 / o.dpi, h_mm = im.h * 25.4 / o.dpi;
		/* 24 characters fit one line of the 55 x 24 mm label; the others take two lines, so a taller
		 * label; none a wider one: in the half-width Latin of the label face 64 'W' are 32 em, two
		 * lines of 16 em at the smallest type (1.8 mm) are 28.8 mm of the 30 mm text column */
		if (j == 2 && (fabs(w_mm - 55) > 0.2 || fabs(h_mm - 24) > 0.2))
			fail_msg("a 24-character model should keep the 55 x 24 mm label, got %.1f x %.1f", w_mm, h_mm);
		if (j < 2 && h_mm < 25)
			fail_msg("a two-line model number should make the label taller, got %.1f mm", h_mm);
		if (fabs(w_mm - 55) > 0.2)
			fail_msg("model %zu should keep the 55 mm wide label, got %.1f mm", j, w_mm);
		cairo_surface_destroy(im.s);
	}
	/* a code that would get less than one dot a module is refused, naming the size */
	sm_label_opts o = opts(SM_LABEL_PNG);
	sm_err err = {0};
	o.code_mm = 10;
	o.dpi = 150;
	assert_int_equal(sm_label_render(f->cert, NULL, URL_A "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"
	                                 "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA",
	                                 &o, buf_write, &f->out, &err),
	                 SM_EINVAL);
	assert_string_equal(err.field, "code_mm");
}

/* Ink in the product line's band of the text area (baseline 12.8k, size 2.2k). */
static long product_ink(const image *im, double k_px)
{
	long n = 0;
	for (int y = (int)(10.9 * k_px); y < (int)(13.3 * k_px); y++)
		for (int x = (int)(23 * k_px); x < im->w; x++)
			n += dark(im, x, y);
	return n;
}

static void test_label_render_japanese_product(void **state)
{
	struct fx *f = *state;
	sm_label_opts o = opts(SM_LABEL_PNG);
	const double k_px = 300 / 25.4;
	render(f, &o, URL_A);
	image im = png_load(&f->out);
	long with = product_ink(&im, k_px);
	cairo_surface_destroy(im.s);

	free(f->cert->product);
	f->cert->product = strdup("");
	render(f, &o, URL_A);
	im = png_load(&f->out);
	long without = product_ink(&im, k_px);
	cairo_surface_destroy(im.s);
	/* 1,000: grey text inks fewer dark pixels than the rows that used to be copied over it */
	if (with < 1000 || without > 50)
		fail_msg("expected the Japanese name to ink its line (>1000 px) and an empty one not (<50), "
		         "got %ld and %ld",
		         with, without);

	/* a product name too long for the line is shortened visibly, not refused */
	free(f->cert->product);
	f->cert->product =
	    strdup("ガス給湯器 エコジョーズ 屋外壁掛形 24号 フルオートタイプ 床暖房付き 追い焚き 浴室暖房");
	render(f, &o, URL_A);
	char path[128];
	save(f, "jp.png", path, sizeof(path));
	if (!have("zbarimg"))
		skip();
	char *got = zbar(path);
	assert_string_equal(got, URL_A "\n");
	free(got);
}

static void test_label_render_bad_input(void **state)
{
	struct fx *f = *state;
	sm_label_opts o = opts(SM_LABEL_PNG);
	sm_err err = {0};
	char big[SM_LABEL_URL_MAX + 2];
	memset(big, 'A', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	const struct {
		const char *url, *model;
		int level;
		double mm;
		int ec, dpi, fmt, rc;
		const char *field, *says;
	} cases[] = {
	    {"", NULL, 3, 20, 1, 300, SM_LABEL_PNG, SM_EINVAL, "url", "empty"},
	    {big, NULL, 3, 20, 1, 300, SM_LABEL_PNG, SM_EINVAL, "url", "longer than 1200"},
	    {"HTTPS://X/L/\xc3\xa9", NULL, 3, 20, 1, 300, SM_LABEL_PNG, SM_EINVAL, "url",
	     "0xc3 at offset 12"},
	    {"HTTPS://X/L/A B", NULL, 3, 20, 1, 300, SM_LABEL_PNG, SM_EINVAL, "url", "0x20"},
	    {URL_A, "NOPE-1", 3, 20, 1, 300, SM_LABEL_PNG, SM_EINVAL, "model", "'NOPE-1' is not a model"},
	    {URL_A, NULL, 0, 20, 1, 300, SM_LABEL_PNG, SM_EINVAL, "level", "level 0"},
	    {URL_A, NULL, 10, 20, 1, 300, SM_LABEL_PNG, SM_EINVAL, "level", "level 10"},
	    {URL_A, NULL, 3, 5, 1, 300, SM_LABEL_PNG, SM_EINVAL, "code_mm", "not 5"},
	    {URL_A, NULL, 3, 101, 1, 300, SM_LABEL_SVG, SM_EINVAL, "code_mm", "not 101"},
	    {URL_A, NULL, 3, 20, 4, 300, SM_LABEL_PNG, SM_EINVAL, "ec", "not 4"},
	    {URL_A, NULL, 3, 20, 1, 100, SM_LABEL_PNG, SM_EINVAL, "dpi", "not 100"},
	    {URL_A, NULL, 3, 20, 1, 300, 9, SM_EINVAL, "format", "unknown label format 9"},
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		o = opts((enum sm_label_format)cases[i].fmt);
		o.code_mm = cases[i].mm;
		o.ec = cases[i].ec;
		o.dpi = cases[i].dpi;
		f->cert->level = cases[i].level;
		f->out.len = 0;
		memset(&err, 0, sizeof(err));
		int rc = sm_label_render(f->cert, cases[i].model, cases[i].url, &o, buf_write, &f->out, &err);
		if (rc != cases[i].rc || strcmp(err.field, cases[i].field) != 0 ||
		    !strstr(err.msg, cases[i].says))
			fail_msg("case %zu: expected %d in '%s' saying '%s', got %d in '%s': %s", i,
			         cases[i].rc, cases[i].field, cases[i].says, rc, err.field, err.msg);
		assert_int_equal(f->out.len, 0);
	}
	f->cert->level = 3;
	f->cert->registered = SM_DATE_NONE;
	o = opts(SM_LABEL_PNG);
	assert_int_equal(sm_label_render(f->cert, NULL, URL_A, &o, buf_write, &f->out, &err), SM_EINVAL);
	assert_string_equal(err.field, "registered");
	assert_int_equal(sm_label_qr_size(URL_A, 5, &o.ec, &o.dpi, &err), SM_EINVAL);
	assert_string_equal(err.field, "ec");
}

static void test_label_render_write_error(void **state)
{
	struct fx *f = *state;
	for (int fmt = SM_LABEL_PNG; fmt <= SM_LABEL_ZPL; fmt++) {
		sm_label_opts o = opts((enum sm_label_format)fmt);
		sm_err err = {0};
		int rc = sm_label_render(f->cert, NULL, URL_A, &o, failing_write, NULL, &err);
		if (rc != SM_EIO || !strstr(err.msg, "writing the label failed"))
			fail_msg("format %d: expected SM_EIO 'writing the label failed', got %d: %s", fmt, rc,
			         err.msg);
	}
	sm_cert *certs[1] = {f->cert};
	const char *urls[1] = {URL_A};
	sm_err err = {0};
	assert_int_equal(sm_label_sheet(certs, NULL, urls, 1, 3, NULL, failing_write, NULL, &err), SM_EIO);
}

static void test_label_render_sheet(void **state)
{
	struct fx *f = *state;
	enum { N = 7, PER = 2 };
	sm_cert *certs[N];
	const char *models[N];
	char urls[N][300];
	const char *u[N];
	for (int i = 0; i < N; i++) {
		certs[i] = cert_new(i % 2 ? "Smart Lock" : "スマートロック",
		                    i % 3 ? "AL-100" : "RUF-E2406SAW", i % 3 + 1);
		models[i] = i == 4 ? "RUF-E2406AW" : NULL;
		snprintf(urls[i], sizeof(urls[i]),
		         "HTTPS://REGISTRY.EXAMPLE.JP/L/%dQRI2GAJHAMM733AEJDKDVCGMIUJDF4VALAPY"
		         "MAICNRJFKRRNIUZDIMBWKNAVOZSSJFHE4QKJDFGWMGTGGGDAAWCAJQ76SL7734I6FF3K",
		         i);
		u[i] = urls[i];
	}
	sm_label_opts o = opts(SM_LABEL_PDF);
	sm_err err = {0};
	int rc = sm_label_sheet(certs, models, u, N, PER, &o, buf_write, &f->out, &err);
	if (rc)
		fail_msg("sm_label_sheet: %d %s", rc, err.msg);
	char path[128], cmd[512];
	save(f, "sheet.pdf", path, sizeof(path));
	if (!have("pdftoppm") || !have("pdfinfo") || !have("zbarimg"))
		skip();
	snprintf(cmd, sizeof(cmd), "pdfinfo '%s' | sed -n 's/^Page size: *//p;s/^Pages: *//p'", path);
	char *info = run(cmd);
	assert_string_equal(info, "1\n595.276 x 841.89 pts (A4)\n");
	free(info);
	snprintf(cmd, sizeof(cmd), "pdftoppm -r 300 -png -f 1 -l 1 -singlefile '%s' '%s/sheet' && echo ok",
	         path, f->dir);
	char *ok = run(cmd);
	assert_string_equal(ok, "ok\n");
	free(ok);
	snprintf(path, sizeof(path), "%s/sheet.png", f->dir);
	char *got = zbar(path);
	for (int i = 0; i < N; i++) {
		int seen = 0;
		for (const char *p = got; (p = strstr(p, urls[i])) != NULL; p += strlen(urls[i]))
			if (p[strlen(urls[i])] == '\n')
				seen++;
		if (seen != PER)
			fail_msg("label %d: expected its URL %d times on page 1, got %d; zbarimg said:\n%s",
			         i, PER, seen, got);
	}
	int lines = 0;
	for (const char *p = got; *p; p++)
		lines += *p == '\n';
	assert_int_equal(lines, N * PER);
	free(got);
	for (int i = 0; i < N; i++)
		sm_cert_free(certs[i]);
}

static void test_label_render_sheet_pages(void **state)
{
	struct fx *f = *state;
	sm_cert *certs[1] = {f->cert};
	const char *urls[1] = {URL_A};
	sm_err err = {0};
	/* 30 labels of the default size fit a page (3 x 10): 61 labels make 3 pages */
	assert_int_equal(sm_label_sheet(certs, NULL, urls, 1, 61, NULL, buf_write, &f->out, &err), 0);
	char path[128], cmd[512];
	save(f, "pages.pdf", path, sizeof(path));
	if (!have("pdfinfo"))
		skip();
	snprintf(cmd, sizeof(cmd), "pdfinfo '%s' | sed -n 's/^Pages: *//p'", path);
	char *pages = run(cmd);
	assert_string_equal(pages, "3\n");
	free(pages);
}

static void test_label_render_sheet_refusals(void **state)
{
	struct fx *f = *state;
	sm_cert *certs[2] = {f->cert, f->cert};
	const char *urls[2] = {URL_A, ""};
	const char *models[2] = {NULL, NULL};
	sm_err err = {0};
	assert_int_equal(sm_label_sheet(certs, models, urls, 2, 1, NULL, buf_write, &f->out, &err),
	                 SM_EINVAL);
	assert_string_equal(err.field, "labels[1]");
	assert_non_null(strstr(err.msg, "labels[1] (SM-2024-000123): the label text is empty"));
	urls[1] = URL_A;
	models[1] = "NOPE";
	assert_int_equal(sm_label_sheet(certs, models, urls, 2, 1, NULL, buf_write, &f->out, &err),
	                 SM_EINVAL);
	assert_non_null(strstr(err.msg, "'NOPE' is not a model"));
	assert_int_equal(sm_label_sheet(certs, NULL, urls, 2, 0, NULL, buf_write, &f->out, &err), SM_EINVAL);
	assert_string_equal(err.field, "per_id");
	assert_int_equal(sm_label_sheet(certs, NULL, urls, 0, 1, NULL, buf_write, &f->out, &err), SM_EINVAL);
	enum { MANY = SM_LABEL_SHEET_MAX / SM_LABEL_PER_ID_MAX + 1 };
	sm_cert *many_certs[MANY];
	const char *many_urls[MANY];
	for (int i = 0; i < MANY; i++) {
		many_certs[i] = f->cert;
		many_urls[i] = URL_A;
	}
	assert_int_equal(sm_label_sheet(many_certs, NULL, many_urls, MANY, SM_LABEL_PER_ID_MAX, NULL,
	                                buf_write, &f->out, &err),
	                 SM_ETOOBIG);
	assert_string_equal(err.field, "labels");
	assert_int_equal(f->out.len, 0);
}

/* ---- many labels: a renderer reused, and a batch on several threads ---- */

#define MANY 24

struct collected {
	sm_buf doc[MANY];
	int calls[MANY];
	int fail_at;    /* -1: never */
	bool bad_index; /* set by a worker thread: cmocka's asserts are for the test's own thread */
};

static int collect(void *ctx, size_t i, const uint8_t *data, size_t len)
{
	struct collected *c = ctx;
	if (i >= MANY) {
		c->bad_index = true;
		return SM_EINVAL;
	}
	c->calls[i]++;
	if ((int)i == c->fail_at)
		return SM_EIO;
	return sm_buf_append(&c->doc[i], data, len);
}

static void many_fixture(sm_cert *certs[MANY], char urls[MANY][64], const char *u[MANY])
{
	for (int i = 0; i < MANY; i++) {
		char model[32];
		snprintf(model, sizeof(model), "MC-%03dV", 300 + i);
		certs[i] = cert_new(i % 2 ? "無線LAN対応リモコン" : "Wi-Fi Smart Plug", model, 1 + i % 3);
		snprintf(certs[i]->id, sizeof(certs[i]->id), "SM-2024-%06d", 100 + i);
		snprintf(urls[i], 64, "HTTPS://REGISTRY.EXAMPLE.JP/L/%dAB%dCDEFGH", i, i * 7);
		u[i] = urls[i];
	}
}

/* A reused renderer and a batch on 3 threads give each label byte for byte as sm_label_render does. */
static void test_label_render_many_same_bytes(void **state)
{
	(void)state;
	sm_cert *certs[MANY];
	char urls[MANY][64];
	const char *u[MANY];
	many_fixture(certs, urls, u);
	static const enum sm_label_format formats[] = {SM_LABEL_PNG, SM_LABEL_ZPL, SM_LABEL_SVG};
	for (size_t f = 0; f < sizeof(formats) / sizeof(formats[0]); f++) {
		sm_label_opts o = opts(formats[f]);
		struct collected got = {.fail_at = -1};
		sm_err err = {0};
		int rc = sm_label_render_many(certs, NULL, u, MANY, &o, 3, collect, &got, &err);
		if (rc)
			fail_msg("sm_label_render_many: %d %s", rc, err.msg);
		assert_false(got.bad_index);
		sm_label_renderer *r = sm_label_renderer_new(&err);
		assert_non_null(r);
		for (int i = 0; i < MANY; i++) {
			sm_buf one = SM_BUF_INIT, again = SM_BUF_INIT;
			assert_int_equal(sm_label_render(certs[i], NULL, u[i], &o, buf_write, &one, &err), 0);
			assert_int_equal(sm_label_renderer_render(r, certs[i], NULL, u[i], &o, buf_write, &again, &err), 0);
			assert_int_equal(got.calls[i], 1);
			/* SVG too: cairo numbers its surfaces per process, the renderer names the one group alike */
			assert_int_equal(got.doc[i].len, one.len);
			assert_memory_equal(got.doc[i].data, one.data, one.len);
			assert_int_equal(again.len, one.len);
			assert_memory_equal(again.data, one.data, one.len);
			sm_buf_cleanup(&one);
			sm_buf_cleanup(&again);
			sm_buf_cleanup(&got.doc[i]);
		}
		sm_label_renderer_free(r);
	}
	for (int i = 0; i < MANY; i++)
		sm_cert_free(certs[i]);
}

/* A bad label stops the batch and is named; so is a failing receiver; bad thread counts are refused. */
static void test_label_render_many_failures(void **state)
{
	(void)state;
	sm_cert *certs[MANY];
	char urls[MANY][64];
	const char *u[MANY];
	many_fixture(certs, urls, u);
	sm_label_opts o = opts(SM_LABEL_PNG);
	sm_err err = {0};
	certs[7]->level = 0;
	struct collected got = {.fail_at = -1};
	assert_int_equal(sm_label_render_many(certs, NULL, u, MANY, &o, 2, collect, &got, &err), SM_EINVAL);
	assert_non_null(strstr(err.msg, "labels[7] (SM-2024-000107)"));
	assert_non_null(strstr(err.msg, "level"));
	assert_int_equal(got.calls[7], 0);
	certs[7]->level = 2;

	/* on one thread the labels come in order: the receiver's failure at 5 stops the batch right there */
	struct collected bad = {.fail_at = 5};
	assert_int_equal(sm_label_render_many(certs, NULL, u, MANY, &o, 1, collect, &bad, &err), SM_EIO);
	assert_non_null(strstr(err.msg, "labels[5]"));
	int given = 0;
	for (int i = 0; i < MANY; i++) {
		given += bad.calls[i];
		sm_buf_cleanup(&bad.doc[i]);
		sm_buf_cleanup(&got.doc[i]);
	}
	assert_int_equal(given, 6);
	/* on two, how many the other thread delivered before it saw the failure depends on the scheduler:
	 * the failure is reported, and no label is given twice */
	struct collected bad2 = {.fail_at = 5};
	assert_int_equal(sm_label_render_many(certs, NULL, u, MANY, &o, 2, collect, &bad2, &err), SM_EIO);
	assert_non_null(strstr(err.msg, "labels[5]"));
	assert_false(bad2.bad_index);
	for (int i = 0; i < MANY; i++) {
		assert_true(bad2.calls[i] <= 1);
		sm_buf_cleanup(&bad2.doc[i]);
	}
	assert_int_equal(bad2.calls[5], 1);

	assert_int_equal(sm_label_render_many(certs, NULL, u, MANY, &o, -1, collect, &got, &err), SM_EINVAL);
	assert_string_equal(err.field, "threads");
	assert_int_equal(sm_label_render_many(certs, NULL, u, MANY, &o, SM_LABEL_THREADS_MAX + 1, collect, &got, &err),
	                 SM_EINVAL);
	for (int i = 0; i < MANY; i++)
		sm_cert_free(certs[i]);
}

/*
 * The same label makes the same bytes whoever renders it and when (`label ID` and `label ID --server` on
 * one day): an SVG after other documents in the same process, a PDF a second later (dated with the
 * label's signing time, not the clock).
 */
static void test_label_render_same_bytes_later(void **state)
{
	struct fx *f = *state;
	sm_buf first = SM_BUF_INIT;
	/* a real token, signed on 2024-05-01 (URL_A only looks like one) */
	sm_label_claims cl;
	sm_key *key = NULL;
	uint8_t *tok = NULL;
	size_t n = 0;
	sm_err err = {0};
	assert_int_equal(sm_label_claims_of(f->cert, NULL, 1714521600, &cl, &err), 0);
	assert_int_equal(sm_key_generate(&key), 0);
	assert_int_equal(sm_label_token_sign(&cl, key, &tok, &n), 0);
	char *url = sm_label_url("registry.example.jp", tok, n);
	assert_non_null(url);
	free(tok);
	sm_key_free(key);
	static const enum sm_label_format formats[] = {SM_LABEL_SVG, SM_LABEL_PDF};
	for (size_t i = 0; i < 2; i++) {
		sm_label_opts o = opts(formats[i]);
		render(f, &o, url);
		assert_int_equal(sm_buf_append(&first, f->out.data, f->out.len), 0);
		sm_label_opts png = opts(SM_LABEL_PNG);
		render(f, &png, url); /* other surfaces in between */
		sleep(1);
		render(f, &o, url);
		if (f->out.len != first.len || memcmp(f->out.data, first.data, first.len) != 0)
			fail_msg("format %d: a second rendering of the same label differs (%zu bytes, then %zu)",
				 (int)formats[i], first.len, f->out.len);
		first.len = 0;
	}
	sm_buf_cleanup(&first);
	/* the PDF's date is the label's */
	sm_label_opts o = opts(SM_LABEL_PDF);
	render(f, &o, url);
	char path[128], cmd[256];
	save(f, "dated.pdf", path, sizeof(path));
	if (!have("pdfinfo")) {
		free(url);
		skip();
	}
	snprintf(cmd, sizeof(cmd), "pdfinfo '%s' | sed -n 's/^CreationDate: *//p'", path);
	char *date = run(cmd);
	print_message("the PDF's CreationDate: %s", date);
	assert_non_null(strstr(date, "May  1 00:00:00 2024"));
	free(date);
	free(url);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_label_render_opts_default),
	    cmocka_unit_test_setup_teardown(test_label_render_png_decodes, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_label_render_png_size_and_dpi, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_label_render_ec_h_bigger_version, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_label_render_svg_decodes, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_label_render_svg_text, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_label_render_pdf_decodes_and_size, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_label_render_same_bytes_later, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_label_render_zpl, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_label_render_zpl_escapes_and_refusals, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_label_render_long_models, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_label_render_japanese_product, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_label_render_bad_input, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_label_render_write_error, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_label_render_sheet, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_label_render_sheet_pages, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_label_render_sheet_refusals, setup, teardown),
	    cmocka_unit_test(test_label_render_many_same_bytes),
	    cmocka_unit_test(test_label_render_many_failures),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
