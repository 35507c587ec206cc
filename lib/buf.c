/* SPDX-License-Identifier: Apache-2.0 */
/* A growable byte buffer with a hard cap, and whole small files read into memory. */
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "starmark/buf.h"
#include "starmark/error.h"

static int reserve(sm_buf *b, size_t extra)
{
	const size_t max = b->max ? b->max : SM_BUF_MAX_DEFAULT;
	if (extra > max || b->len > max - extra)
		return SM_ETOOBIG;
	size_t need = b->len + extra + 1; /* keep room for a terminating NUL */
	if (need <= b->cap)
		return 0;
	size_t cap = b->cap ? b->cap : 64;
	while (cap < need)
		cap = cap > SIZE_MAX / 2 ? need : cap * 2;
	uint8_t *p = realloc(b->data, cap);
	if (!p)
		return SM_ENOMEM;
	b->data = p;
	b->cap = cap;
	return 0;
}

int sm_buf_append(sm_buf *b, const void *p, size_t n)
{
	if (n == 0)
		return 0;
	int rc = reserve(b, n);
	if (rc)
		return rc;
	memcpy(b->data + b->len, p, n);
	b->len += n;
	return 0;
}

int sm_buf_puts(sm_buf *b, const char *s)
{
	return sm_buf_append(b, s, strlen(s));
}

int sm_buf_printf(sm_buf *b, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	int n = vsnprintf(NULL, 0, fmt, ap);
	va_end(ap);
	if (n < 0)
		return SM_EINVAL;
	int rc = reserve(b, (size_t)n);
	if (rc)
		return rc;
	va_start(ap, fmt);
	vsnprintf((char *)b->data + b->len, (size_t)n + 1, fmt, ap);
	va_end(ap);
	b->len += (size_t)n;
	return 0;
}

int sm_buf_terminate(sm_buf *b)
{
	int rc = reserve(b, 0);
	if (rc)
		return rc;
	b->data[b->len] = '\0';
	return 0;
}

uint8_t *sm_buf_take(sm_buf *b, size_t *len)
{
	if (sm_buf_terminate(b))
		return NULL;
	uint8_t *p = b->data;
	if (len)
		*len = b->len;
	b->data = NULL;
	b->len = b->cap = 0;
	return p;
}

void sm_buf_cleanup(sm_buf *b)
{
	free(b->data);
	b->data = NULL;
	b->len = b->cap = 0;
}

int sm_file_read(const char *path, size_t max, uint8_t **out, size_t *len, sm_err *err)
{
	uint8_t *buf = NULL;
	size_t got = 0;
	int rc = 0;
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return sm_err_set(err, errno == ENOENT ? SM_ENOTFOUND : SM_EIO, "file", "cannot open %s: %s",
				  path, strerror(errno));
	struct stat st;
	if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
		rc = sm_err_set(err, SM_EINVAL, "file", "%s is not a regular file", path);
		goto out;
	}
	if ((uint64_t)st.st_size > max) {
		rc = sm_err_set(err, SM_ETOOBIG, "file", "%s is %lld bytes, at most %zu are read", path,
				(long long)st.st_size, max);
		goto out;
	}
	if (!(buf = malloc((size_t)st.st_size + 1))) {
		rc = sm_err_set(err, SM_ENOMEM, NULL, "out of memory");
		goto out;
	}
	while (got < (size_t)st.st_size) {
		ssize_t r = read(fd, buf + got, (size_t)st.st_size - got);
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0) {
			rc = sm_err_set(err, SM_EIO, "file", "cannot read %s: %s", path, strerror(errno));
			goto out;
		}
		if (r == 0)
			break;
		got += (size_t)r;
	}
	if (got != (size_t)st.st_size) {
		rc = sm_err_set(err, SM_EIO, "file", "cannot read %s: it shrank while being read", path);
		goto out;
	}
	buf[got] = '\0';
	*out = buf;
	*len = got;
	buf = NULL;
out:
	free(buf);
	close(fd);
	return rc;
}

int sm_file_write_atomic(const char *path, const void *p, size_t n, unsigned mode, sm_err *err)
{
	char tmp[4100];
	if (strlen(path) > 4000)
		return sm_err_set(err, SM_EINVAL, "file", "the path is too long");
	snprintf(tmp, sizeof(tmp), "%s.tmp.XXXXXX", path);
	int fd = mkstemp(tmp);
	if (fd < 0)
		return sm_err_set(err, SM_EIO, "file", "cannot write %s: %s", path, strerror(errno));
	int rc = 0;
	for (size_t off = 0; off < n && !rc;) {
		ssize_t w = write(fd, (const uint8_t *)p + off, n - off);
		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			rc = sm_err_set(err, SM_EIO, "file", "cannot write %s: %s", path, strerror(w < 0 ? errno : EIO));
		else
			off += (size_t)w;
	}
	if (!rc && (fchmod(fd, (mode_t)mode) != 0 || fsync(fd) != 0))
		rc = sm_err_set(err, SM_EIO, "file", "cannot write %s: %s", path, strerror(errno));
	if (close(fd) != 0 && !rc)
		rc = sm_err_set(err, SM_EIO, "file", "cannot write %s: %s", path, strerror(errno));
	if (!rc && rename(tmp, path) != 0)
		rc = sm_err_set(err, SM_EIO, "file", "cannot write %s: %s", path, strerror(errno));
	if (rc)
		unlink(tmp);
	return rc;
}
