/*
 * ps-io.h - the byte stream of one page-server connection: a non-blocking
 * TCP socket, plain or inside a TLS session (ps-tls.c).  Owns nothing but
 * moving bytes with deadlines; the protocol is ps-serve.c's and
 * ps-client.c's.  Every wait is bounded: a silent peer is an error
 * (ETIMEDOUT), never a hang.
 */
#ifndef PAGEXFER_PS_IO_H
#define PAGEXFER_PS_IO_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

struct ps_io {
	int fd;			/* O_NONBLOCK */
	void *tls;		/* gnutls_session_t, or NULL: plain */
};

/* what is there now: > 0 bytes, 0 at the end of the stream, -1 (errno; EAGAIN: nothing yet) */
ssize_t ps_io_recv(struct ps_io *io, void *buf, size_t len);
/* is decrypted data waiting that poll() on fd cannot see? */
bool ps_io_pending(struct ps_io *io);
/*
 * All of buf, waiting at most timeout_ms without progress (idle timeout);
 * 0, or -1 with errno (EPIPE: the peer closed, ETIMEDOUT: silent)
 */
int ps_io_send_all(struct ps_io *io, const void *buf, size_t len, int timeout_ms);
int ps_io_recv_all(struct ps_io *io, void *buf, size_t len, int timeout_ms);
/* waits for events on fd; 1 ready, 0 timed out, -1 error */
int ps_io_wait(int fd, short events, int timeout_ms);
/* ends the TLS session (without waiting for the peer) and closes fd */
void ps_io_close(struct ps_io *io);

#endif /* PAGEXFER_PS_IO_H */
