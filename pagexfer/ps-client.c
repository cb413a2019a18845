/* ps-client.c - the page-server client (see ps-client.h). */
#define LOG_PREFIX "lazy-pages: "
#include <errno.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>


#include "common/clock.h"
#include "common/log.h"
#include "images/pages.h"
#include "pagexfer/ps-tls.h"
#include "pagexfer/ps-client.h"

/*
 * len bytes on c; with c->side (a connection with a read in flight), what
 * comes there meanwhile goes to side_recv.  Fails after PS_IO_MS without
 * a byte (ETIMEDOUT).
 */
static int recv_reply(struct ps_client *c, void *buf, size_t len)
{
	struct ps_client *side = c->side;
	double last = clock_now_ms();
	char *p = buf;

	while (len) {
		ssize_t n = ps_io_recv(&c->io, p, len);
		if (n > 0) {
			p += n;
			len -= n;
			last = clock_now_ms();
			continue;
		}
		if (!n) {
			errno = EPIPE;
			return -1;
		}
		if (errno == EINTR)
			continue;
		if (errno != EAGAIN && errno != EWOULDBLOCK)
			return -1;
		bool watch = side && side->io.fd >= 0 && side->busy;
		int left = last + PS_IO_MS - clock_now_ms();
		struct pollfd pf[2] = { { c->io.fd, POLLIN, 0 }, { watch ? side->io.fd : -1, POLLIN, 0 } };
		if (left <= 0) {
			errno = ETIMEDOUT;
			return -1;
		}
		if (poll(pf, 2, left) < 0 && errno != EINTR)
			return -1;
		if (pf[1].revents)
			c->side_recv(side);	/* its failures are its owner's */
	}
	return 0;
}

/* a TCP connection to address:port within PS_HELLO_MS (refused: retried, the server may be starting) */
static int tcp_connect(struct ps_client *c, const char *address, int port)
{
	struct addrinfo hints = { .ai_socktype = SOCK_STREAM }, *res, *ai;
	char portstr[16];
	double end = clock_now_ms() + PS_HELLO_MS;
	int err = 0;

	snprintf(portstr, sizeof(portstr), "%d", port);
	err = getaddrinfo(address, portstr, &hints, &res);
	if (err) {
		pr_err("page server %s: cannot resolve: %s", c->peer, gai_strerror(err));
		return -1;
	}
	while (c->io.fd < 0 && clock_now_ms() < end) {
		for (ai = res; ai && c->io.fd < 0; ai = ai->ai_next) {
			int fd = socket(ai->ai_family, ai->ai_socktype | SOCK_CLOEXEC | SOCK_NONBLOCK,
					ai->ai_protocol);
			if (fd < 0) {
				err = errno;
				continue;
			}
			int r = connect(fd, ai->ai_addr, ai->ai_addrlen);
			socklen_t sl = sizeof(err);
			err = r ? errno : 0;
			if (r && errno == EINPROGRESS) {
				r = ps_io_wait(fd, POLLOUT, end - clock_now_ms());
				err = r > 0 && !getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &sl) ? err : ETIMEDOUT;
			}
			if (err)
				close(fd);
			else
				c->io.fd = fd;
		}
		if (c->io.fd < 0 && err != ECONNREFUSED)
			break;
		if (c->io.fd < 0)
			usleep(10000);
	}
	freeaddrinfo(res);
	if (c->io.fd < 0) {
		errno = err;
		pr_perror("page server %s: cannot connect", c->peer);
		return -1;
	}
	return 0;
}

/* the hello, answered by the server within PS_HELLO_MS */
static int say_hello(struct ps_client *c, const struct ps_auth *a)
{
	struct ps_hello h = { PS_MAGIC, PS_VERSION, 0, 0, { 0 }, a->dump_id };

	if (!a->tls)
		memcpy(h.token, a->token, sizeof(h.token));
	int r = ps_io_send_all(&c->io, &h, sizeof(h), PS_HELLO_MS);
	memset(&h, 0, sizeof(h));
	if (!r)
		r = ps_io_recv_all(&c->io, &h, PS_HELLO_HEAD, PS_HELLO_MS);
	if (r) {
		pr_perror("page server %s: no answer to hello", c->peer);
		return -1;
	}
	if (h.magic != PS_MAGIC || h.version != PS_VERSION) {
		pr_err("page server %s: speaks version %u of the protocol (magic %#x), this is version %u",
		       c->peer, h.version, h.magic, PS_VERSION);
		return -1;
	}
	if (ps_io_recv_all(&c->io, (char *)&h + PS_HELLO_HEAD, sizeof(h) - PS_HELLO_HEAD, PS_HELLO_MS)) {
		pr_perror("page server %s: no answer to hello", c->peer);
		return -1;
	}
	if (h.status == ESTALE) {
		pr_err("page server %s: serves the pages of dump %016llx, these images are of dump "
		       "%016llx: wrong page server or wrong images", c->peer,
		       (unsigned long long)h.dump_id, (unsigned long long)a->dump_id);
		return -1;
	}
	if (h.status) {
		pr_err("page server %s: refused this client: %s", c->peer,
		       h.status == EACCES ? "wrong token (not the server's ps-token, or a server for "
		       "another dump)" : strerror(h.status));
		return -1;
	}
	return 0;
}

int ps_client_connect(const char *address, int port, const struct ps_auth *a, struct ps_client *c)
{
	int one = 1;

	c->io = (struct ps_io){ -1, NULL };
	c->broken = 0;
	c->corrupt = 0;
	c->busy = false;
	c->owner = NULL;
	c->scratch = NULL;
	c->side = NULL;
	snprintf(c->peer, sizeof(c->peer), "%s:%d", address, port);
	if (tcp_connect(c, address, port))
		return -1;
	setsockopt(c->io.fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	if (a->tls && (ps_tls_start(a->tls, &c->io, false, a->no_cn_verify ? NULL : address) ||
		       ps_tls_handshake(&c->io, c->peer, PS_HELLO_MS))) {
		ps_client_close(c, 0);
		return -1;
	}
	if (say_hello(c, a)) {
		ps_client_close(c, 0);
		return -1;
	}
	return 0;
}

int ps_client_close(struct ps_client *c, int op)
{
	int ret = 0;

	if (c->io.fd >= 0) {
		struct ps_req last = { .op = op };
		if (op && !c->broken && ps_io_send_all(&c->io, &last, sizeof(last), PS_IO_MS))
			ret = -1;
		if (op == PS_BYE && !ret) {
			/* the verdict must be known to have arrived: 5 s for the ack */
			struct ps_reply rp;
			if (ps_io_recv_all(&c->io, &rp, sizeof(rp), 5000) || rp.status || rp.len)
				ret = -1;
		}
		if (op == PS_BYE && (ret || c->broken)) {
			pr_err("page server %s: it did not acknowledge the end of the migration: a "
			       "post-copy source is left stopped there (or ended, if the word arrived)",
			       c->peer);
			ret = -1;
		}
		ps_io_close(&c->io);
	}
	c->busy = false;
	free(c->scratch);
	c->scratch = NULL;
	return ret;
}

/* the connection failed (errno): said once, and unusable */
static void lost(struct ps_client *c)
{
	if (errno == ETIMEDOUT)
		pr_err("page server %s: no reply for %d s: connection dropped", c->peer, PS_IO_MS / 1000);
	else
		pr_perror("page server %s: connection lost", c->peer);
	c->broken = 1;
}

/* one request; returns the reply's payload length, or -1; *rp is the reply */
static long request(struct ps_client *c, const struct ps_req *rq, uint64_t max_len,
		    struct ps_reply *out)
{
	struct ps_reply rp;

	if (c->broken)
		return -1;
	if (ps_io_send_all(&c->io, rq, sizeof(*rq), PS_IO_MS) || recv_reply(c, &rp, sizeof(rp))) {
		lost(c);
		return -1;
	}
	if (rp.status) {
		pr_err("page server %s: request %u for pid %u at %lx: %s", c->peer, rq->op, rq->pid,
		       (unsigned long)rq->addr, strerror(rp.status));
		c->broken = 1;	/* the server closes after errors */
		return -1;
	}
	if (rp.len > max_len) {
		pr_err("page server %s: reply of %lu bytes to a request for at most %lu",
		       c->peer, (unsigned long)rp.len, (unsigned long)max_len);
		c->broken = 1;
		return -1;
	}
	*out = rp;
	return rp.len;
}

/* the payload just received against its reply's XXH3 */
static int check_payload(struct ps_client *c, const struct ps_reply *rp, const void *data,
			 uint64_t len, const char *what)
{
	if (page_xxh3(data, len) == rp->xxh3)
		return 0;
	pr_err("page server %s: checksum mismatch in the reply to %s: data corrupt on the way",
	       c->peer, what);
	c->broken = 1;
	c->corrupt = 1;
	return -1;
}

int ps_client_map(struct ps_client *c, unsigned pid, struct ps_run **runs, size_t *nr,
		  uint32_t *flags)
{
	struct ps_req rq = { .op = PS_MAP, .pid = pid };
	struct ps_reply rp;
	long len = request(c, &rq, (uint64_t)PS_MAX_RUNS * sizeof(struct ps_run), &rp);

	if (len < 0)
		return -1;
	if (len % sizeof(struct ps_run)) {
		pr_err("page server %s: pagemap of %ld bytes is not whole entries", c->peer, len);
		c->broken = 1;
		return -1;
	}
	*runs = malloc(len + sizeof(struct ps_run));
	if (!*runs)
		return -1;
	if (recv_reply(c, *runs, len)) {
		lost(c);
		free(*runs);
		return -1;
	}
	if (check_payload(c, &rp, *runs, len, "the map") || (rp.flags & ~PS_MAP_UNHASHED)) {
		if (!c->broken)
			pr_err("page server %s: map flags %#x unknown", c->peer, rp.flags);
		c->broken = 1;
		free(*runs);
		return -1;
	}
	*nr = len / sizeof(struct ps_run);
	*flags = rp.flags;
	return 0;
}

int ps_client_start_read(struct ps_client *c, unsigned pid, uint64_t addr, void *buf, uint64_t len,
			 void *owner)
{
	struct ps_req rq = { .op = PS_READ, .pid = pid, .addr = addr, .len = len };

	if (c->broken || c->busy || !len || len > PS_MAX_READ)
		return -1;
	if (ps_io_send_all(&c->io, &rq, sizeof(rq), PS_IO_MS)) {
		pr_perror("page server %s: connection lost", c->peer);
		c->broken = 1;
		return -1;
	}
	c->busy = true;
	c->owner = owner;
	c->len = len;
	c->rx = buf;
	c->got = 0;
	c->last_rx = clock_now_ms();
	return 0;
}

int ps_client_recv_read(struct ps_client *c)
{
	const uint64_t hs = sizeof(c->hdr);

	while (c->busy && c->got < hs + c->len) {
		uint8_t *dst = c->got < hs ? (uint8_t *)&c->hdr + c->got : c->rx + (c->got - hs);
		uint64_t want = c->got < hs ? hs - c->got : hs + c->len - c->got;
		ssize_t n = ps_io_recv(&c->io, dst, want);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK) && ps_client_overdue(c)) {
			pr_err("page server %s: no reply for %d s: connection dropped", c->peer, PS_IO_MS / 1000);
			goto broken;
		}
		if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
			return 0;
		if (n <= 0) {
			if (!n)
				errno = EPIPE;
			pr_perror("page server %s: connection lost", c->peer);
			goto broken;
		}
		c->got += n;
		c->last_rx = clock_now_ms();
		if (c->got == hs && (c->hdr.status || c->hdr.len != c->len)) {
			if (c->hdr.status)
				pr_err("page server %s: a read of %lu bytes: %s", c->peer,
				       (unsigned long)c->len, strerror(c->hdr.status));
			else
				pr_err("page server %s: %lu bytes for a read of %lu", c->peer,
				       (unsigned long)c->hdr.len, (unsigned long)c->len);
			goto broken;
		}
	}
	if (!c->busy)
		return -1;
	c->busy = false;
	/* a disowned reply is drained, not checked (part of it went elsewhere) */
	if (c->owner && check_payload(c, &c->hdr, c->rx, c->len, "a read"))
		return -1;
	return 1;
broken:
	c->busy = false;
	c->broken = 1;
	return -1;
}

bool ps_client_overdue(const struct ps_client *c)
{
	return c->busy && clock_now_ms() - c->last_rx > PS_IO_MS;
}

int ps_client_disown(struct ps_client *c)
{
	if (!c->busy)
		return 0;
	c->owner = NULL;
	if (!c->scratch)
		c->scratch = malloc(PS_MAX_READ);
	if (!c->scratch) {
		c->busy = false;
		c->broken = 1;	/* the reply cannot be drained */
		return -1;
	}
	c->rx = c->scratch;
	return 0;
}

int ps_client_read(struct ps_client *c, unsigned pid, uint64_t addr, void *buf, uint64_t len)
{
	uint8_t *dst = buf;

	while (len) {
		uint64_t n = len < PS_MAX_READ ? len : PS_MAX_READ;
		struct ps_req rq = { .op = PS_READ, .pid = pid, .addr = addr, .len = n };
		struct ps_reply rp;
		long got = request(c, &rq, n, &rp);
		if (got < 0)
			return -1;
		if ((uint64_t)got != n) {
			pr_err("page server %s: %ld bytes for a read of %lu", c->peer, got, (unsigned long)n);
			c->broken = 1;
			return -1;
		}
		if (recv_reply(c, dst, n)) {
			lost(c);
			return -1;
		}
		if (check_payload(c, &rp, dst, n, "a read"))
			return -1;
		dst += n;
		addr += n;
		len -= n;
	}
	return 0;
}
