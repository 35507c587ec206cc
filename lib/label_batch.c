/* SPDX-License-Identifier: Apache-2.0 */
/* Many labels at once: a batch rendered on several threads, each with its own renderer. */
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdlib.h>
#include <unistd.h>

#include "label_int.h"
#include "starmark/buf.h"
#include "starmark/label.h"

static int buf_append_fn(void *ctx, const void *p, size_t n)
{
	return sm_buf_append(ctx, p, n);
}

typedef struct many {
	sm_cert *const *certs;
	const char *const *models, *const *urls;
	size_t n;
	const sm_label_opts *o;
	sm_label_out_fn out;
	void *ctx;
	_Atomic size_t next;
	_Atomic bool stop;
	pthread_mutex_t lock; /* one `out` call at a time; the first error */
	int rc;
	sm_err err;
} many;

/* The first failure wins; the others stop taking labels. */
static void many_fail(many *m, int rc, const sm_err *e)
{
	pthread_mutex_lock(&m->lock);
	if (!m->rc) {
		m->rc = rc;
		m->err = *e;
	}
	pthread_mutex_unlock(&m->lock);
	m->stop = true;
}

static void *many_worker(void *arg)
{
	many *m = arg;
	sm_err e = {0};
	sm_buf b = SM_BUF_INIT;
	sm_label_renderer *r = sm_label_renderer_new(&e);
	if (!r) {
		many_fail(m, e.code ? e.code : SM_ENOMEM, &e);
		return NULL;
	}
	while (!m->stop) {
		const size_t i = m->next++;
		if (i >= m->n)
			break;
		b.len = 0;
		int rc = sm_label_renderer_render(r, m->certs[i], m->models ? m->models[i] : NULL, m->urls[i], m->o,
		                                  buf_append_fn, &b, &e);
		if (rc) {
			sm_label_item_failed(rc, i, m->certs[i]->id, &e);
			many_fail(m, rc, &e);
			break;
		}
		pthread_mutex_lock(&m->lock);
		rc = m->stop ? 0 : m->out(m->ctx, i, b.data, b.len);
		pthread_mutex_unlock(&m->lock);
		if (rc) {
			sm_err_set(&e, rc, NULL, "labels[%zu] (%s): writing the label failed: %s", i, m->certs[i]->id,
			           sm_strerror(rc));
			many_fail(m, rc, &e);
			break;
		}
	}
	sm_buf_cleanup(&b);
	sm_label_renderer_free(r);
	return NULL;
}

int sm_label_render_many(sm_cert *const *certs, const char *const *models, const char *const *urls, size_t n,
                         const sm_label_opts *o, int threads, sm_label_out_fn out, void *ctx, sm_err *err)
{
	sm_err scratch = {0};
	if (!err)
		err = &scratch;
	sm_err_clear(err);
	if (threads < 0 || threads > SM_LABEL_THREADS_MAX)
		return sm_err_set(err, SM_EINVAL, "threads", "threads must be 0 (one per processor) to %d, not %d",
		                  SM_LABEL_THREADS_MAX, threads);
	if (threads == 0) {
		const long cpus = sysconf(_SC_NPROCESSORS_ONLN);
		threads = cpus < 1 ? 1 : cpus > SM_LABEL_THREADS_MAX ? SM_LABEL_THREADS_MAX : (int)cpus;
	}
	if ((size_t)threads > n)
		threads = n ? (int)n : 1;
	many m = {.certs = certs, .models = models, .urls = urls, .n = n, .o = o, .out = out, .ctx = ctx};
	pthread_mutex_init(&m.lock, NULL);
	pthread_t tid[SM_LABEL_THREADS_MAX];
	int started = 0;
	/* this thread renders too: threads - 1 more */
	for (; started < threads - 1; started++)
		if (pthread_create(&tid[started], NULL, many_worker, &m) != 0)
			break;
	many_worker(&m);
	for (int i = 0; i < started; i++)
		pthread_join(tid[i], NULL);
	pthread_mutex_destroy(&m.lock);
	if (m.rc)
		*err = m.err;
	return m.rc;
}
