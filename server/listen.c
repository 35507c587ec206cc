/* SPDX-License-Identifier: Apache-2.0 */
/* starmarkd's listening sockets: the port is this server's alone, shared only by its own event loops. */
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "server.h"

#define BACKLOG 1024

/*
 * Why not simply SO_REUSEPORT on every loop's socket: the kernel lets any socket of the same user that also
 * sets it join the port, so a second starmarkd (another registry) would bind it too and the kernel would
 * hand it half the connections. And why not a probe socket bound and closed before the loops bind: two
 * probes with SO_REUSEADDR that only bind do not conflict (Linux refuses the second at listen(), not at
 * bind()), and the port is free again between the probe's close and the loops' bind, so two servers
 * started together could both pass and then share the port.
 *
 * So the first loop's socket is itself the test and never lets go: it binds and listens *without*
 * SO_REUSEPORT (SO_REUSEADDR only, so a restart is not refused by its own connections in TIME_WAIT).
 * listen() succeeds for exactly one socket on an address; any other listener already there, with
 * SO_REUSEPORT or not, makes it fail with EADDRINUSE. Only once it listens is SO_REUSEPORT turned on, and
 * the other loops bind with SO_REUSEPORT and join it. A later starmarkd tries the same exclusive listen and
 * is refused, because our sockets already listen; the port is held from the test until we stop, so there
 * is no window between checking and binding.
 *
 * What remains: a program of the same user that binds with SO_REUSEPORT without such a test (an older
 * starmarkd, or another server) can still join once more than one loop shares the port: that is what
 * SO_REUSEPORT is, and the kernel admits only the same effective user. With one loop, SO_REUSEPORT is
 * never turned on and nothing can join. Turning SO_REUSEPORT on after listen() is outside what socket(7)
 * promises ("set before bind"), but Linux (since 3.9; 4.6 for reuseport groups) reads the flag when a
 * socket joins and makes the group then; if a kernel refused, the second loop's bind fails and starmarkd
 * exits 4 rather than serve half-bound (integration tests run every server with two loops).
 */

static int set_opt(int fd, int level, int name)
{
	int on = 1;
	return setsockopt(fd, level, name, &on, sizeof(on));
}

/* A TCP socket with the options every loop's listener has (as evhtp_bind_sockaddr sets them), bound. */
static int bound_socket(const struct sockaddr *sa, socklen_t len, bool reuseport)
{
	int fd = socket(sa->sa_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -1;
	if (set_opt(fd, SOL_SOCKET, SO_KEEPALIVE) || set_opt(fd, SOL_SOCKET, SO_REUSEADDR) ||
	    set_opt(fd, IPPROTO_TCP, TCP_NODELAY) ||
	    (sa->sa_family == AF_INET6 && set_opt(fd, IPPROTO_IPV6, IPV6_V6ONLY)) ||
	    (reuseport && set_opt(fd, SOL_SOCKET, SO_REUSEPORT)) || bind(fd, sa, len) != 0) {
		int e = errno;
		close(fd);
		errno = e;
		return -1;
	}
	return fd;
}

static int listen_error(sm_err *err, const sm_server_config *c, int port, int e)
{
	char where[300];
	sm_config_hostport(c, port, where, sizeof(where));
	if (e == EADDRINUSE)
		return sm_err_set(err, SM_EEXIST, "listen",
		                  "cannot listen on %s: address in use (another server holds it)", where);
	return sm_err_set(err, SM_EIO, "listen", "cannot listen on %s: %s", where, strerror(e));
}

int sm_listen_bind(evhtp_t *const *htps, int n, const sm_server_config *c, int *port, sm_err *err)
{
	struct sockaddr_storage ss;
	socklen_t len = 0;
	int fd = -1;
	*port = c->listen_port;
	if (sm_config_sockaddr(c, c->listen_port, &ss, &len))
		return sm_err_set(err, SM_EINVAL, "listen", "listen host '%s' is not an address", c->listen_host);
	/* the test that holds: bind and listen alone (see above) */
	fd = bound_socket((struct sockaddr *)&ss, len, false);
	if (fd < 0 || listen(fd, BACKLOG) != 0) {
		int e = errno;
		if (fd >= 0)
			close(fd);
		return listen_error(err, c, *port, e);
	}
	if (getsockname(fd, (struct sockaddr *)&ss, &len) != 0 || (n > 1 && set_opt(fd, SOL_SOCKET, SO_REUSEPORT)) ||
	    evhtp_accept_socket(htps[0], fd, BACKLOG) != 0) {
		int e = errno;
		close(fd);
		return listen_error(err, c, *port, e);
	}
	/* from here htps[0] owns fd (closed by evhtp_free); port 0 is now the port the kernel chose */
	*port = ntohs(ss.ss_family == AF_INET6 ? ((struct sockaddr_in6 *)&ss)->sin6_port
	                                       : ((struct sockaddr_in *)&ss)->sin_port);
	for (int i = 1; i < n; i++) {
		fd = bound_socket((struct sockaddr *)&ss, len, true);
		if (fd < 0 || evhtp_accept_socket(htps[i], fd, BACKLOG) != 0) {
			int e = errno;
			char where[300];
			if (fd >= 0)
				close(fd);
			return sm_err_set(err, SM_EIO, "listen",
			                  "cannot share %s between the event loops (SO_REUSEPORT): %s",
			                  sm_config_hostport(c, *port, where, sizeof(where)), strerror(e));
		}
	}
	return 0;
}
