/* ps-io.c - the byte stream of a page-server connection (see ps-io.h). */
#include <errno.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <gnutls/gnutls.h>

#include "common/clock.h"
#include "pagexfer/ps-io.h"
#include "pagexfer/ps-tls.h"

static ssize_t tls_errno(ssize_t r)
{
	if (r >= 0)
		return r;
	if (r == GNUTLS_E_AGAIN)
		errno = EAGAIN;
	else if (r == GNUTLS_E_INTERRUPTED)
		errno = EINTR;
	else if (r == GNUTLS_E_PREMATURE_TERMINATION)
		return 0;
	else
		errno = EPROTO;
	return -1;
}

ssize_t ps_io_recv(struct ps_io *io, void *buf, size_t len)
{
	if (io->tls)
		return tls_errno(gnutls_record_recv(io->tls, buf, len));
	return recv(io->fd, buf, len, MSG_DONTWAIT);
}

bool ps_io_pending(struct ps_io *io)
{
	return io->tls && gnutls_record_check_pending(io->tls) > 0;
}

static ssize_t io_send(struct ps_io *io, const void *buf, size_t len)
{
	if (io->tls)
		return tls_errno(gnutls_record_send(io->tls, buf, len));
	return send(io->fd, buf, len, MSG_NOSIGNAL | MSG_DONTWAIT);
}

int ps_io_wait(int fd, short events, int timeout_ms)
{
	struct pollfd p = { fd, events, 0 };
	double end = clock_now_ms() + timeout_ms;

	for (;;) {
		int left = end - clock_now_ms();
		int r = poll(&p, 1, left > 0 ? left : 0);
		if (r >= 0 || errno != EINTR)
			return r;
	}
}

/* one direction, all of len bytes, each wait at most timeout_ms */
static int io_all(struct ps_io *io, void *buf, size_t len, int timeout_ms, bool out)
{
	char *p = buf;

	while (len) {
		ssize_t n = out ? io_send(io, p, len) : ps_io_recv(io, p, len);
		if (n > 0) {
			p += n;
			len -= n;
			continue;
		}
		if (n == 0 || (n < 0 && errno == EPIPE) || (n < 0 && errno == ECONNRESET)) {
			errno = EPIPE;
			return -1;
		}
		if (errno == EINTR)
			continue;
		if (errno != EAGAIN && errno != EWOULDBLOCK)
			return -1;
		/* a TLS write that would block may be waiting to read, and so on */
		short ev = io->tls ? ps_tls_events(io) : out ? POLLOUT : POLLIN;
		int r = ps_io_wait(io->fd, ev, timeout_ms);
		if (r < 0)
			return -1;
		if (!r) {
			errno = ETIMEDOUT;
			return -1;
		}
	}
	return 0;
}

int ps_io_send_all(struct ps_io *io, const void *buf, size_t len, int timeout_ms)
{
	return io_all(io, (void *)buf, len, timeout_ms, true);
}

int ps_io_recv_all(struct ps_io *io, void *buf, size_t len, int timeout_ms)
{
	return io_all(io, buf, len, timeout_ms, false);
}

void ps_io_close(struct ps_io *io)
{
	if (io->tls)
		ps_tls_end(io);
	if (io->fd >= 0)
		close(io->fd);
	io->fd = -1;
	io->tls = NULL;
}
