/*
 * page-server.c - the page server (see page-server.h), and `criu page-server
 * -D DIR --address A --port P`, which serves the page images of DIR.
 *
 * Every request is checked (op, alignment, size) before the backend sees
 * it; a bad request gets an error reply and its connection is closed.  The
 * images backend reads pages only through the page source interface
 * (pages.h); a process's images (the whole chain) are verified when first
 * asked for, and its map carries the XXH3 of each run's data, which the
 * client checks.
 */
#define LOG_PREFIX "page-server: "
#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>
#include <xxhash.h>

#include "lazy-pages.h"
#include "log.h"
#include "page-server.h"
#include "pages.h"
#include "remote.h"

#define MAX_PIDS	64
#define MAX_CLIENTS	16

static int reply(int fd, uint32_t status, uint32_t flags, const void *data, uint64_t len)
{
	struct ps_reply r = { status, flags, status ? 0 : len,
			      !status && len ? XXH3_64bits(data, len) : 0 };
	if (ps_send_all(fd, &r, sizeof(r)))
		return -1;
	if (!status && len && ps_send_all(fd, data, len))
		return -1;
	return 0;
}

enum { CONN_ON, CONN_BYE, CONN_CLOSE, CONN_LOST, CONN_ABORT };

/* one request of a readable connection; *sent counts the pages read */
static int serve_one(const struct ps_backend *b, int fd, uint8_t *buf, uint64_t *sent)
{
	struct ps_req rq;
	struct ps_run *runs;
	size_t nr;
	int err;

	if (ps_recv_all(fd, &rq, sizeof(rq))) {
		if (errno == EPIPE)
			pr_err("a client went away without saying it was done");
		else
			pr_perror("connection lost");
		return CONN_LOST;
	}
	switch (rq.op) {
	case PS_BYE:
		/* acknowledged: the client knows the verdict arrived */
		reply(fd, 0, 0, NULL, 0);
		return CONN_BYE;
	case PS_CLOSE:
		return CONN_CLOSE;
	case PS_ABORT:
		pr_err("the client failed: its copy is gone");
		return CONN_ABORT;
	case PS_MAP:
		err = b->map(b->ctx, rq.pid, &runs, &nr);
		if (err) {
			reply(fd, err, 0, NULL, 0);
			return CONN_LOST;
		}
		err = reply(fd, 0, b->map_flags, runs, nr * sizeof(*runs));
		free(runs);
		return err ? CONN_LOST : CONN_ON;
	case PS_READ:
		if (rq.addr % 4096 || rq.len % 4096 || !rq.len || rq.len > PS_MAX_READ ||
		    rq.addr + rq.len < rq.addr) {
			pr_err("malformed read request (pid %u, %lx, %lu bytes): closing", rq.pid,
			       (unsigned long)rq.addr, (unsigned long)rq.len);
			reply(fd, EINVAL, 0, NULL, 0);
			return CONN_LOST;
		}
		err = b->read(b->ctx, rq.pid, rq.addr, buf, rq.len);
		if (err) {
			reply(fd, err, 0, NULL, 0);
			return CONN_LOST;
		}
		*sent += rq.len / 4096;
		return reply(fd, 0, 0, buf, rq.len) ? CONN_LOST : CONN_ON;
	default:
		pr_err("unknown request %u: closing", rq.op);
		reply(fd, EINVAL, 0, NULL, 0);
		return CONN_LOST;
	}
}

/* the hello of a new connection; 0 or -1 (closed) */
static int greet(int fd)
{
	struct ps_hello h, mine = { PS_MAGIC, PS_VERSION };
	struct timeval tv = { 5, 0 };
	int one = 1;

	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	if (ps_recv_all(fd, &h, sizeof(h))) {
		pr_perror("no hello from a client");
		return -1;
	}
	if (ps_send_all(fd, &mine, sizeof(mine)))
		return -1;
	if (h.magic != PS_MAGIC || h.version != PS_VERSION) {
		pr_err("a client speaks version %u (magic %#x), this is version %u: closing", h.version,
		       h.magic, PS_VERSION);
		return -1;
	}
	/* requests may come minutes apart (a process that faults rarely) */
	tv.tv_sec = 0;
	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	return 0;
}

int ps_serve(int lfd, const struct ps_backend *b)
{
	struct pollfd pfd[1 + MAX_CLIENTS];
	int conns[MAX_CLIENTS], nr = 0, ret = -1;
	bool aborted = false;	/* a client said its copy is gone: never ambiguous */
	uint64_t sent = 0;
	uint8_t *buf = aligned_alloc(4096, PS_MAX_READ);

	if (!buf)
		return -1;
	for (;;) {
		pfd[0] = (struct pollfd){ lfd, nr < MAX_CLIENTS ? POLLIN : 0, 0 };
		for (int i = 0; i < nr; i++)
			pfd[1 + i] = (struct pollfd){ conns[i], POLLIN, 0 };
		if (b->stop && *b->stop) {
			pr_err("interrupted before the client was done");
			ret = !aborted && b->all_sent && b->all_sent(b->ctx) ? 1 : -1;
			break;
		}
		if (poll(pfd, 1 + nr, -1) < 0) {
			if (errno == EINTR)
				continue;
			pr_perror("poll failed");
			break;
		}
		int end = CONN_ON;
		for (int i = nr - 1; i >= 0 && end != CONN_BYE; i--) {
			if (!pfd[1 + i].revents)
				continue;
			int st = serve_one(b, conns[i], buf, &sent);
			if (st == CONN_ON)
				continue;
			close(conns[i]);
			conns[i] = conns[--nr];
			pr_debug("a client %s", st == CONN_BYE ? "is done" : st == CONN_CLOSE ?
				 "closed its connection" : st == CONN_ABORT ? "failed" : "was lost");
			if (st == CONN_ABORT) {
				aborted = true;
				st = CONN_LOST;
			}
			if (st == CONN_BYE || (st == CONN_LOST && end == CONN_ON))
				end = st;
		}
		if (end == CONN_BYE) {
			ret = 0;
			break;
		}
		if (end == CONN_LOST && !nr) {
			if (!aborted)
				pr_err("the connection to the client was lost before it was done");
			ret = !aborted && b->all_sent && b->all_sent(b->ctx) ? 1 : -1;
			break;
		}
		if (pfd[0].revents & POLLIN) {
			int fd = accept4(lfd, NULL, NULL, SOCK_CLOEXEC);
			if (fd >= 0 && greet(fd)) {
				close(fd);
				fd = -1;
			}
			if (fd >= 0)
				conns[nr++] = fd;
		}
	}
	for (int i = 0; i < nr; i++)
		close(conns[i]);
	free(buf);
	pr_info("%lu pages sent", (unsigned long)sent);
	return ret;
}

int ps_listen(const char *address, int port)
{
	struct addrinfo hints = { .ai_socktype = SOCK_STREAM, .ai_flags = AI_PASSIVE }, *res;
	char portstr[16];
	int one = 1, fd = -1;

	snprintf(portstr, sizeof(portstr), "%d", port);
	int err = getaddrinfo(address, portstr, &hints, &res);
	if (err) {
		pr_err("%s:%d: cannot resolve: %s", address ? address : "*", port, gai_strerror(err));
		return -1;
	}
	fd = socket(res->ai_family, res->ai_socktype | SOCK_CLOEXEC, res->ai_protocol);
	if (fd < 0 || setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) ||
	    bind(fd, res->ai_addr, res->ai_addrlen) || listen(fd, MAX_CLIENTS)) {
		pr_perror("%s:%d: cannot listen", address ? address : "*", port);
		if (fd >= 0)
			close(fd);
		fd = -1;
	}
	freeaddrinfo(res);
	return fd;
}

/* ---------------------------------------------- pages from images */

struct images {
	int dirfd;
	struct page_source ps[MAX_PIDS];
	int nr_ps;
	uint8_t *buf;
};

static struct page_source *source_of(struct images *s, unsigned pid)
{
	for (int i = 0; i < s->nr_ps; i++)
		if (s->ps[i].pid == pid)
			return &s->ps[i];
	if (s->nr_ps == MAX_PIDS)
		return NULL;
	/* the images are checked once here; the map then carries a checksum per run */
	if (page_source_open(s->dirfd, pid, 1, &s->ps[s->nr_ps]))
		return NULL;
	return &s->ps[s->nr_ps++];
}

static int images_map(void *ctx, unsigned pid, struct ps_run **out, size_t *nr)
{
	struct images *s = ctx;
	struct page_source *ps = source_of(s, pid);

	if (!ps)
		return ENOENT;
	size_t n = 0;
	for (size_t i = 0; i < ps->nr_runs; i++)
		n += pagemap_nr_parts(ps->runs[i].vaddr, ps->runs[i].nr_pages);
	struct ps_run *runs = calloc(n + 1, sizeof(*runs));
	if (!runs)
		return ENOMEM;
	n = 0;
	for (size_t i = 0; i < ps->nr_runs; i++) {
		const struct page_run *r = &ps->runs[i];
		/* of the run's newest data, so the client checks what it gets */
		if (page_source_read(ps, r->vaddr, s->buf, r->nr_pages * 4096)) {
			free(runs);
			return EIO;
		}
		/* cut at part boundaries: the client checks a part, not 2 MiB */
		for (uint64_t o = 0; o < r->nr_pages * 4096;) {
			uint64_t len = pagemap_part_len(r->vaddr + o, r->nr_pages * 4096 - o);
			runs[n++] = (struct ps_run){ r->vaddr + o, len / 4096,
						     XXH3_64bits(s->buf + o, len) };
			o += len;
		}
	}
	*out = runs;
	*nr = n;
	return 0;
}

static int images_read(void *ctx, unsigned pid, uint64_t addr, void *buf, uint64_t len)
{
	struct page_source *ps = source_of(ctx, pid);

	if (!ps)
		return ENOENT;
	int err = page_source_read(ps, addr, buf, len);
	if (err == -ENOENT)
		pr_err("pid %u: pages %lx-%lx are not all in the image", pid, (unsigned long)addr,
		       (unsigned long)(addr + len));
	return -err;
}

int page_server_main(const struct lazy_opts *o)
{
	struct images s = { .dirfd = -1 };
	struct ps_backend b = { .ctx = &s, .map = images_map, .read = images_read };
	int lfd, ret = 1;

	if (!o->images_dir || !o->port) {
		pr_err("page-server needs -D DIR and --port PORT");
		return 1;
	}
	signal(SIGPIPE, SIG_IGN);
	s.dirfd = open(o->images_dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (s.dirfd < 0) {
		pr_perror("cannot open images directory %s", o->images_dir);
		return 1;
	}
	s.buf = aligned_alloc(4096, PAGEMAP_MAX_RUN * 4096UL);
	lfd = ps_listen(o->address, o->port);
	if (!s.buf || lfd < 0)
		goto out;
	pr_info("serving %s on %s:%d", o->images_dir, o->address ? o->address : "*", o->port);
	lazy_status_ready(&(int){ o->status_fd });
	if (!ps_serve(lfd, &b))
		ret = 0;
	close(lfd);
	pr_info("client done; exiting");
out:
	for (int i = 0; i < s.nr_ps; i++)
		page_source_close(&s.ps[i]);
	free(s.buf);
	close(s.dirfd);
	return ret;
}
