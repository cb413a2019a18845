/*
 * ps-serve.c - the page server's loop (see page-server.h): the listening
 * socket, the connections, the checking of every request and the replies.
 *
 * One thread serves every connection from one poll loop, and nothing a
 * peer does can stop it serving the others: every connection is
 * non-blocking and read into its own buffer (half a hello or half a
 * request waits there, bounded by PS_HELLO_MS and PS_REQ_MS); a TLS
 * handshake advances a step at a time.  A connection is authenticated
 * (TLS certificate, or the token in its hello) before it is served; any
 * error of an unauthenticated one closes it and nothing else, and it is
 * never counted as a client or heard (a stray PS_BYE ends nothing).  At
 * most MAX_CONNS connections are open: when full, the oldest
 * unauthenticated one makes room, so idle or flooding peers cannot keep
 * the real client out; at most MAX_AUTHED are authenticated clients.
 *
 * An authenticated connection that fails (a bad request, an error reply,
 * a half-sent request, a reply that cannot be sent in PS_IO_MS) is closed
 * and lost: a client broke, and when no other is open the server ends
 * with a failure (page-server.h).
 */
#define LOG_PREFIX "page-server: "
#include <arpa/inet.h>
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
#include "pagexfer/page-server.h"
#include "pagexfer/ps-io.h"
#include "pagexfer/ps-tls.h"

#define MAX_CONNS	64
#define MAX_AUTHED	16

enum { C_TLS, C_HELLO, C_READY };
enum { CONN_ON, CONN_BYE, CONN_CLOSE, CONN_LOST, CONN_ABORT, CONN_DROP };

struct conn {
	struct ps_io io;
	int state;
	bool authed;
	union {
		struct ps_hello h;
		struct ps_req rq;
	} in;
	size_t got;		/* bytes of in */
	double deadline;	/* ms: of the hello, or of a request begun; 0: none */
	double since;		/* accepted at */
	char peer[64];
};

struct server {
	const struct ps_backend *b;
	const struct ps_auth *a;
	struct conn c[MAX_CONNS];
	int nr, nr_authed;
	uint8_t *buf;
	uint64_t sent;
};

static int reply(struct conn *c, uint32_t status, uint32_t flags, const void *data, uint64_t len)
{
	struct ps_reply r = { status, flags, status ? 0 : len,
			      !status && len ? page_xxh3(data, len) : 0 };
	if (ps_io_send_all(&c->io, &r, sizeof(r), PS_IO_MS) ||
	    (!status && len && ps_io_send_all(&c->io, data, len, PS_IO_MS))) {
		pr_perror("%s: cannot send a reply", c->peer);
		return -1;
	}
	return 0;
}

/* the request in c->in.rq */
static int serve_one(struct server *s, struct conn *c)
{
	const struct ps_req rq = c->in.rq;
	const struct ps_backend *b = s->b;
	struct ps_run *runs;
	size_t nr;
	int err;

	switch (rq.op) {
	case PS_BYE:
		/* acknowledged: the client knows the verdict arrived */
		reply(c, 0, 0, NULL, 0);
		return CONN_BYE;
	case PS_CLOSE:
		return CONN_CLOSE;
	case PS_ABORT:
		pr_err("the client failed: its copy is gone");
		return CONN_ABORT;
	case PS_MAP:
		err = b->map(b->ctx, rq.pid, &runs, &nr);
		if (err) {
			reply(c, err, 0, NULL, 0);
			return CONN_LOST;
		}
		err = reply(c, 0, b->map_flags, runs, nr * sizeof(*runs));
		free(runs);
		return err ? CONN_LOST : CONN_ON;
	case PS_READ:
		if (rq.addr % 4096 || rq.len % 4096 || !rq.len || rq.len > PS_MAX_READ ||
		    rq.addr + rq.len < rq.addr) {
			pr_err("%s: malformed read request (pid %u, %lx, %lu bytes): closing", c->peer,
			       rq.pid, (unsigned long)rq.addr, (unsigned long)rq.len);
			reply(c, EINVAL, 0, NULL, 0);
			return CONN_LOST;
		}
		err = b->read(b->ctx, rq.pid, rq.addr, s->buf, rq.len);
		if (err) {
			reply(c, err, 0, NULL, 0);
			return CONN_LOST;
		}
		s->sent += rq.len / 4096;
		return reply(c, 0, 0, s->buf, rq.len) ? CONN_LOST : CONN_ON;
	default:
		pr_err("%s: unknown request %u: closing", c->peer, rq.op);
		reply(c, EINVAL, 0, NULL, 0);
		return CONN_LOST;
	}
}

/* the whole hello in c->in.h: answered; CONN_ON (authenticated) or CONN_DROP */
static int hello(struct server *s, struct conn *c)
{
	struct ps_hello mine = { PS_MAGIC, PS_VERSION, 0, 0, { 0 }, s->a->dump_id };

	if (!s->a->tls && !ps_auth_token_ok(s->a, c->in.h.token)) {
		pr_err("%s: refused: wrong token (not the restore this server is for)", c->peer);
		mine.status = EACCES;
	} else if (s->a->dump_id && c->in.h.dump_id != s->a->dump_id) {
		pr_err("%s: refused: asks for the pages of dump %016llx, this server has dump %016llx",
		       c->peer, (unsigned long long)c->in.h.dump_id, (unsigned long long)s->a->dump_id);
		mine.status = ESTALE;
	} else if (s->nr_authed == MAX_AUTHED) {
		pr_err("%s: refused: already %d clients", c->peer, MAX_AUTHED);
		mine.status = EBUSY;
	}
	/* (a short wait at most: the socket buffer of a new connection is empty) */
	if (ps_io_send_all(&c->io, &mine, sizeof(mine), PS_HELLO_MS) || mine.status)
		return CONN_DROP;
	c->authed = true;
	c->state = C_READY;
	c->deadline = 0;
	c->got = 0;
	s->nr_authed++;
	pr_info("%s: a client (%s)", c->peer, s->a->tls ? "TLS" : "token");
	return CONN_ON;
}

/* reads what c has into c->in, up to want bytes; 1 whole, 0 not yet, -1 closed/failed */
static int fill(struct conn *c, size_t want)
{
	while (c->got < want) {
		ssize_t n = ps_io_recv(&c->io, (uint8_t *)&c->in + c->got, want - c->got);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
			return 0;
		if (n <= 0)
			return -1;
		c->got += n;
	}
	return 1;
}

/* c has something to read: one of CONN_* */
static int conn_input(struct server *s, struct conn *c)
{
	int r;

	if (c->state == C_TLS) {
		r = ps_tls_step(&c->io, c->peer);
		if (r <= 0)
			return r ? CONN_DROP : CONN_ON;
		c->state = C_HELLO;
	}
	if (c->state == C_HELLO) {
		r = fill(c, PS_HELLO_HEAD);
		if (r > 0 && (c->in.h.magic != PS_MAGIC || c->in.h.version != PS_VERSION)) {
			struct ps_hello mine = { PS_MAGIC, PS_VERSION, EPROTO, 0, { 0 }, 0 };
			pr_err("%s: speaks version %u (magic %#x), this is version %u: closing", c->peer,
			       c->in.h.version, c->in.h.magic, PS_VERSION);
			ps_io_send_all(&c->io, &mine, sizeof(mine), 100);
			return CONN_DROP;
		}
		if (r > 0)
			r = fill(c, sizeof(c->in.h));
		if (r < 0)
			pr_debug("%s: closed before its hello was whole", c->peer);
		return r < 0 ? CONN_DROP : r ? hello(s, c) : CONN_ON;
	}
	for (;;) {
		size_t had = c->got;
		r = fill(c, sizeof(c->in.rq));
		if (r < 0) {
			if (had || c->got)
				pr_err("%s: connection lost in the middle of a request", c->peer);
			else
				pr_err("%s: a client went away without saying it was done", c->peer);
			return CONN_LOST;
		}
		if (!had && c->got)
			c->deadline = clock_now_ms() + PS_REQ_MS;
		if (!r)
			return CONN_ON;
		c->got = 0;
		c->deadline = 0;
		r = serve_one(s, c);
		if (r != CONN_ON)
			return r;
	}
}

static void conn_close(struct server *s, int i)
{
	struct conn *c = &s->c[i];

	if (c->authed)
		s->nr_authed--;
	ps_io_close(&c->io);
	s->c[i] = s->c[--s->nr];
}

/* a new connection on lfd; false when none is waiting */
static bool conn_accept(struct server *s, int lfd)
{
	struct sockaddr_storage sa;
	socklen_t sl = sizeof(sa);
	char host[INET6_ADDRSTRLEN] = "?", serv[16] = "?";
	int one = 1, fd = accept4(lfd, (struct sockaddr *)&sa, &sl, SOCK_CLOEXEC | SOCK_NONBLOCK);

	if (fd < 0)
		return false;
	if (s->nr == MAX_CONNS) {
		/* room: the oldest connection still saying its hello goes */
		int old = -1;
		for (int i = 0; i < s->nr; i++)
			if (!s->c[i].authed && (old < 0 || s->c[i].since < s->c[old].since))
				old = i;
		pr_warn("%d connections: %s", MAX_CONNS, old < 0 ? "refusing a new one" :
			"closing the oldest that has not said its hello");
		if (old < 0) {
			close(fd);
			return true;
		}
		conn_close(s, old);
	}
	getnameinfo((struct sockaddr *)&sa, sl, host, sizeof(host), serv, sizeof(serv),
		    NI_NUMERICHOST | NI_NUMERICSERV);
	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	struct conn *c = &s->c[s->nr];
	*c = (struct conn){ .io = { fd, NULL }, .state = s->a->tls ? C_TLS : C_HELLO };
	c->since = clock_now_ms();
	c->deadline = c->since + PS_HELLO_MS;
	snprintf(c->peer, sizeof(c->peer), "client %s:%s", host, serv);
	if (s->a->tls && ps_tls_start(s->a->tls, &c->io, true, NULL)) {
		close(fd);
		return true;
	}
	s->nr++;
	return true;
}

static short conn_events(struct conn *c)
{
	return c->state == C_TLS ? ps_tls_events(&c->io) : POLLIN;
}

/* ms until the first deadline (-1: none); closes expired connections into *end */
static int expire(struct server *s, int *end)
{
	double now = clock_now_ms(), first = 0;

	for (int i = s->nr - 1; i >= 0; i--) {
		struct conn *c = &s->c[i];
		if (!c->deadline)
			continue;
		if (c->deadline > now) {
			first = !first || c->deadline < first ? c->deadline : first;
			continue;
		}
		if (c->authed) {
			pr_err("%s: half a request for %d s: closing", c->peer, PS_REQ_MS / 1000);
			if (*end == CONN_ON)
				*end = CONN_LOST;
		} else {
			pr_warn("%s: no hello in %d s: closing", c->peer, PS_HELLO_MS / 1000);
		}
		conn_close(s, i);
	}
	return first ? (int)(first - now) + 1 : -1;
}

/* the end of connection i (st), into the server's verdict *end */
static void conn_end(struct server *s, int i, int st, int *end, bool *aborted)
{
	pr_debug("%s %s", s->c[i].peer, st == CONN_BYE ? "is done" : st == CONN_CLOSE ?
		 "closed its connection" : st == CONN_ABORT ? "failed" : st == CONN_DROP ?
		 "was refused" : "was lost");
	conn_close(s, i);
	if (st == CONN_ABORT) {
		*aborted = true;
		st = CONN_LOST;
	}
	if (st == CONN_BYE || (st == CONN_LOST && *end == CONN_ON))
		*end = st;
}

static int serve_loop(struct server *s, int lfd)
{
	struct pollfd pfd[1 + MAX_CONNS];
	bool aborted = false;	/* a client said its copy is gone: never ambiguous */
	const struct ps_backend *b = s->b;

	for (;;) {
		int end = CONN_ON, timeout = expire(s, &end);
		if (end == CONN_LOST && !s->nr_authed)
			return -2 - aborted;
		if (b->stop && *b->stop) {
			pr_err("interrupted before the client was done");
			return -2 - aborted;
		}
		pfd[0] = (struct pollfd){ lfd, POLLIN, 0 };
		for (int i = 0; i < s->nr; i++) {
			pfd[1 + i] = (struct pollfd){ s->c[i].io.fd, conn_events(&s->c[i]), 0 };
			if (ps_io_pending(&s->c[i].io))
				timeout = 0;
		}
		int nfds = 1 + s->nr;
		if (poll(pfd, nfds, timeout) < 0) {
			if (errno == EINTR)
				continue;
			pr_perror("poll failed");
			return -2 - aborted;
		}
		/* from the last: closing one moves the last into its place */
		for (int i = nfds - 2; i >= 0 && end != CONN_BYE; i--) {
			if (!pfd[1 + i].revents && !ps_io_pending(&s->c[i].io))
				continue;
			int st = conn_input(s, &s->c[i]);
			if (st != CONN_ON)
				conn_end(s, i, st, &end, &aborted);
		}
		if (end == CONN_BYE)
			return 0;
		if (end == CONN_LOST && !s->nr_authed) {
			if (!aborted)
				pr_err("the connection to the client was lost before it was done");
			return -2 - aborted;
		}
		if (pfd[0].revents & POLLIN)
			for (int k = 0; k < MAX_CONNS && conn_accept(s, lfd); k++)
				;
	}
}

int ps_serve(int lfd, const struct ps_backend *b, const struct ps_auth *a)
{
	struct server *s = calloc(1, sizeof(*s));
	int ret = -1;

	if (!s)
		return -1;
	s->b = b;
	s->a = a;
	s->buf = aligned_alloc(4096, PS_MAX_READ);
	if (s->buf) {
		int r = serve_loop(s, lfd);
		/* lost (not aborted) with every page sent: the verdict may have been lost */
		ret = !r ? 0 : r == -2 && b->all_sent && b->all_sent(b->ctx) ? 1 : -1;
	}
	while (s->nr)
		conn_close(s, s->nr - 1);
	pr_info("%lu pages sent", (unsigned long)s->sent);
	free(s->buf);
	free(s);
	return ret;
}

int ps_listen(const char *address, int port)
{
	struct addrinfo hints = { .ai_socktype = SOCK_STREAM, .ai_flags = AI_PASSIVE }, *res;
	char portstr[16];
	int one = 1, fd = -1;

	/* only where asked: loopback unless an address is given */
	if (!address)
		address = "127.0.0.1";
	snprintf(portstr, sizeof(portstr), "%d", port);
	int err = getaddrinfo(address, portstr, &hints, &res);
	if (err) {
		pr_err("%s:%d: cannot resolve: %s", address, port, gai_strerror(err));
		return -1;
	}
	fd = socket(res->ai_family, res->ai_socktype | SOCK_CLOEXEC | SOCK_NONBLOCK, res->ai_protocol);
	if (fd < 0 || setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) ||
	    bind(fd, res->ai_addr, res->ai_addrlen) || listen(fd, 256)) {
		pr_perror("%s:%d: cannot listen", address, port);
		if (fd >= 0)
			close(fd);
		fd = -1;
	}
	freeaddrinfo(res);
	return fd;
}
