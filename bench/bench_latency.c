/* SPDX-License-Identifier: Apache-2.0 */
/* A constant-rate HTTP/1.1 load generator on loopback: latency percentiles at a fixed request rate.
 * usage: bench_latency HOST PORT PATH RATE SECONDS CONNECTIONS
 * Latency is measured from each request's scheduled time (so a stalled server cannot hide its
 * backlog: no coordinated omission). Bounded in count and time; talks only to the given address. */
#define _GNU_SOURCE /* memmem */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define MAXC 1024

struct conn {
	int fd;
	int busy;
	double sched;      /* when the request in flight was due */
	char buf[65536];
	size_t got;
};

static double now_s(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static int cmp(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return (x > y) - (x < y);
}

static int dial(const char *host, int port)
{
	struct sockaddr_in sa = { 0 };
	sa.sin_family = AF_INET;
	sa.sin_port = htons((uint16_t)port);
	if (inet_pton(AF_INET, host, &sa.sin_addr) != 1)
		return -1;
	int fd = socket(AF_INET, SOCK_STREAM, 0), one = 1;
	if (fd < 0 || connect(fd, (struct sockaddr *)&sa, sizeof(sa)) != 0)
		return -1;
	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	fcntl(fd, F_SETFL, O_NONBLOCK);
	return fd;
}

/* A whole response in buf: the head and Content-Length bytes of body. */
static int complete(const char *b, size_t n)
{
	const char *end = memmem(b, n, "\r\n\r\n", 4);
	if (!end)
		return 0;
	const char *cl = memmem(b, (size_t)(end - b), "Content-Length:", 15);
	if (!cl)
		cl = memmem(b, (size_t)(end - b), "content-length:", 15);
	long len = cl ? strtol(cl + 15, NULL, 10) : 0;
	return (size_t)(end + 4 - b) + (size_t)len <= n;
}

int main(int argc, char **argv)
{
	if (argc != 7) {
		fprintf(stderr, "usage: bench_latency HOST PORT PATH RATE SECONDS CONNECTIONS\n");
		return 2;
	}
	const char *host = argv[1], *path = argv[3];
	int port = atoi(argv[2]), nc = atoi(argv[6]);
	double rate = atof(argv[4]), secs = atof(argv[5]);
	if (nc < 1 || nc > MAXC || rate <= 0 || secs <= 0 || secs > 600 || rate * secs > 50e6)
		return 2;
	char req[2048];
	int rl = snprintf(req, sizeof(req), "GET %s HTTP/1.1\r\nHost: %s\r\n\r\n", path, host);
	static struct conn c[MAXC];
	int ep = epoll_create1(0);
	for (int i = 0; i < nc; i++) {
		if ((c[i].fd = dial(host, port)) < 0) {
			perror("connect");
			return 1;
		}
		struct epoll_event ev = { .events = EPOLLIN, .data.u32 = (uint32_t)i };
		epoll_ctl(ep, EPOLL_CTL_ADD, c[i].fd, &ev);
	}
	size_t total = (size_t)(rate * secs), sent = 0, done = 0, errors = 0;
	double *lat = calloc(total + 1, sizeof(double));
	double start = now_s(), interval = 1.0 / rate;
	int next_conn = 0;
	while (done + errors < total && now_s() - start < secs + 10) {
		double t = now_s();
		/* send every request whose time has come, on an idle connection */
		while (sent < total && start + (double)sent * interval <= t) {
			int k = -1;
			for (int j = 0; j < nc && k < 0; j++) {
				int i = (next_conn + j) % nc;
				if (!c[i].busy)
					k = i;
			}
			if (k < 0)
				break; /* all busy: the request waits, and its wait counts */
			next_conn = (k + 1) % nc;
			c[k].busy = 1;
			c[k].got = 0;
			c[k].sched = start + (double)sent * interval;
			if (write(c[k].fd, req, (size_t)rl) != rl)
				errors++;
			sent++;
		}
		struct epoll_event evs[64];
		int n = epoll_wait(ep, evs, 64, 1);
		for (int e = 0; e < n; e++) {
			struct conn *x = &c[evs[e].data.u32];
			ssize_t r = read(x->fd, x->buf + x->got, sizeof(x->buf) - x->got);
			if (r <= 0) {
				if (r < 0 && errno == EAGAIN)
					continue;
				errors++;
				x->busy = 0;
				continue;
			}
			x->got += (size_t)r;
			if (x->busy && complete(x->buf, x->got)) {
				lat[done++] = now_s() - x->sched;
				x->busy = 0;
			}
		}
	}
	double el = now_s() - start;
	qsort(lat, done, sizeof(double), cmp);
	double p50 = done ? lat[done / 2] : 0, p99 = done ? lat[(size_t)((double)done * 0.99)] : 0,
	       p999 = done ? lat[(size_t)((double)done * 0.999)] : 0;
	printf("requests %zu errors %zu rate %.0f/s p50 %.3f ms p99 %.3f ms p99.9 %.3f ms max %.3f ms\n", done, errors,
	       (double)done / el, p50 * 1e3, p99 * 1e3, p999 * 1e3, done ? lat[done - 1] * 1e3 : 0);
	free(lat);
	return errors ? 1 : 0;
}
