/*
 * page-server.c - `criu page-server -D DIR --address A --port P`: serves the
 * page images of DIR over TCP (page-server-proto.h) to one client, then
 * exits when that client says goodbye or goes away.  Every request is
 * checked (op, alignment, size, pages present in the image) before any
 * data is read; a bad request gets an error reply and the connection is
 * closed.  Reads pages only through the page source interface (pages.h);
 * a process's images (the whole chain) are verified when first asked for,
 * and its map carries the XXH3 of each run's data, which the client checks.
 */
#define LOG_PREFIX "page-server: "
#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>
#include <xxhash.h>

#include "lazy-pages.h"
#include "log.h"
#include "pages.h"
#include "remote.h"

#define MAX_PIDS	64

struct server {
	int dirfd;
	struct page_source ps[MAX_PIDS];
	int nr_ps;
	uint8_t *buf;
};

static struct page_source *source_of(struct server *s, unsigned pid)
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

static int reply(int fd, uint32_t status, const void *data, uint64_t len)
{
	struct ps_reply r = { status, 0, status ? 0 : len };
	if (ps_send_all(fd, &r, sizeof(r)))
		return -1;
	if (!status && len && ps_send_all(fd, data, len))
		return -1;
	return 0;
}

/* one request; returns 1 to go on, 0 to close the connection */
static int serve_one(struct server *s, int fd, const struct ps_req *rq)
{
	struct page_source *ps;

	switch (rq->op) {
	case PS_BYE:
		return 0;
	case PS_MAP: {
		ps = source_of(s, rq->pid);
		if (!ps) {
			reply(fd, ENOENT, NULL, 0);
			return 0;
		}
		struct ps_run *runs = calloc(ps->nr_runs + 1, sizeof(*runs));
		if (!runs) {
			reply(fd, ENOMEM, NULL, 0);
			return 0;
		}
		for (size_t i = 0; i < ps->nr_runs; i++) {
			const struct page_run *r = &ps->runs[i];
			/* of the run's newest data, so the client checks what it gets */
			if (page_source_read(ps, r->vaddr, s->buf, r->nr_pages * 4096)) {
				free(runs);
				reply(fd, EIO, NULL, 0);
				return 0;
			}
			runs[i] = (struct ps_run){ r->vaddr, r->nr_pages,
						   XXH3_64bits(s->buf, r->nr_pages * 4096) };
		}
		int ret = reply(fd, 0, runs, ps->nr_runs * sizeof(*runs));
		free(runs);
		return ret ? 0 : 1;
	}
	case PS_READ:
		if (rq->addr % 4096 || rq->len % 4096 || !rq->len || rq->len > PS_MAX_READ ||
		    rq->addr + rq->len < rq->addr) {
			pr_err("malformed read request (pid %u, %lx, %lu bytes): closing", rq->pid,
			       (unsigned long)rq->addr, (unsigned long)rq->len);
			reply(fd, EINVAL, NULL, 0);
			return 0;
		}
		ps = source_of(s, rq->pid);
		if (!ps) {
			reply(fd, ENOENT, NULL, 0);
			return 0;
		}
		int err = page_source_read(ps, rq->addr, s->buf, rq->len);
		if (err) {
			if (err == -ENOENT)
				pr_err("pid %u: pages %lx-%lx are not all in the image", rq->pid,
				       (unsigned long)rq->addr, (unsigned long)(rq->addr + rq->len));
			reply(fd, -err, NULL, 0);
			return 0;
		}
		return reply(fd, 0, s->buf, rq->len) ? 0 : 1;
	default:
		pr_err("unknown request %u: closing", rq->op);
		reply(fd, EINVAL, NULL, 0);
		return 0;
	}
}

static int serve_client(struct server *s, int fd)
{
	struct ps_hello h;
	struct ps_req rq;
	int one = 1;

	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	if (ps_recv_all(fd, &h, sizeof(h))) {
		pr_perror("no hello from the client");
		return -1;
	}
	struct ps_hello mine = { PS_MAGIC, PS_VERSION };
	if (ps_send_all(fd, &mine, sizeof(mine)))
		return -1;
	if (h.magic != PS_MAGIC || h.version != PS_VERSION) {
		pr_err("client speaks version %u (magic %#x), this is version %u: closing", h.version,
		       h.magic, PS_VERSION);
		return -1;
	}
	for (;;) {
		if (ps_recv_all(fd, &rq, sizeof(rq))) {
			if (errno == EPIPE)
				return 0;	/* the client went away: it has what it needs */
			pr_perror("connection lost");
			return -1;
		}
		if (!serve_one(s, fd, &rq))
			return rq.op == PS_BYE ? 0 : -1;
	}
}

static int listen_tcp(const struct lazy_opts *o)
{
	struct addrinfo hints = { .ai_socktype = SOCK_STREAM, .ai_flags = AI_PASSIVE }, *res;
	char port[16];
	int one = 1, fd = -1;

	snprintf(port, sizeof(port), "%d", o->port);
	int err = getaddrinfo(o->address, port, &hints, &res);
	if (err) {
		pr_err("%s:%d: cannot resolve: %s", o->address ? o->address : "*", o->port,
		       gai_strerror(err));
		return -1;
	}
	fd = socket(res->ai_family, res->ai_socktype | SOCK_CLOEXEC, res->ai_protocol);
	if (fd < 0 || setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) ||
	    bind(fd, res->ai_addr, res->ai_addrlen) || listen(fd, 1)) {
		pr_perror("%s:%d: cannot listen", o->address ? o->address : "*", o->port);
		if (fd >= 0)
			close(fd);
		fd = -1;
	}
	freeaddrinfo(res);
	return fd;
}

int page_server_main(const struct lazy_opts *o)
{
	struct server s = { .dirfd = -1 };
	int lfd, fd, ret = 1;

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
	s.buf = aligned_alloc(4096, PS_MAX_READ);
	lfd = listen_tcp(o);
	if (!s.buf || lfd < 0)
		goto out;
	pr_info("serving %s on %s:%d", o->images_dir, o->address ? o->address : "*", o->port);
	fd = accept4(lfd, NULL, NULL, SOCK_CLOEXEC);
	close(lfd);
	if (fd < 0) {
		pr_perror("accept failed");
		goto out;
	}
	if (!serve_client(&s, fd))
		ret = 0;
	close(fd);
	pr_info("client done; exiting");
out:
	for (int i = 0; i < s.nr_ps; i++)
		page_source_close(&s.ps[i]);
	free(s.buf);
	close(s.dirfd);
	return ret;
}
