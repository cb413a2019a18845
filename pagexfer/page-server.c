/*
 * page-server.c - `criu page-server -D DIR --address A --port P`, which
 * serves the page images of DIR with the server loop of page-server.h
 * (ps-serve.c) to clients that authenticate (DIR/ps-token, made here if
 * missing, or --tls).
 *
 * The images backend reads pages only through the page source interface
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

#include "common/log.h"
#include "pagexfer/page-server.h"
#include "images/pages.h"
#include "pagexfer/ps-client.h"

#define MAX_PIDS	64

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
	struct page_unit *parts;
	size_t n;

	if (!ps)
		return ENOENT;
	/* cut at part boundaries: the client checks a part, not 2 MiB */
	if (page_source_parts(ps, &parts, &n))
		return ENOMEM;
	struct ps_run *runs = calloc(n + 1, sizeof(*runs));
	if (!runs) {
		free(parts);
		return ENOMEM;
	}
	for (size_t i = 0; i < n; i++) {
		const struct page_unit *u = &parts[i];
		uint64_t sum = u->xxh3;
		/*
		 * The pagemap's checksum of the part (checked with the whole
		 * entry when the images were opened), or, for a part the
		 * pagemap has none of, that of its newest data
		 */
		if (!sum) {
			if (page_source_read(ps, u->vaddr, s->buf, u->nr_pages * 4096)) {
				free(runs);
				free(parts);
				return EIO;
			}
			sum = page_xxh3(s->buf, u->nr_pages * 4096);
		}
		runs[i] = (struct ps_run){ u->vaddr, u->nr_pages, sum };
	}
	free(parts);
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

int page_server_main(const struct ps_serve_opts *o)
{
	struct images s = { .dirfd = -1 };
	struct ps_backend b = { .ctx = &s, .map = images_map, .read = images_read };
	struct ps_auth auth;
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
	if (ps_auth_init(&o->sec, o->images_dir, true, &auth)) {
		close(s.dirfd);
		return 1;
	}
	s.buf = aligned_alloc(4096, PAGEMAP_MAX_RUN * 4096UL);
	lfd = ps_listen(o->address, o->port);
	if (!s.buf || lfd < 0)
		goto out;
	pr_info("serving %s on %s:%d", o->images_dir, o->address ? o->address : "127.0.0.1", o->port);
	ps_status_ready(&(int){ o->status_fd });
	if (!ps_serve(lfd, &b, &auth))
		ret = 0;
	close(lfd);
	pr_info("client done; exiting");
out:
	ps_auth_fini(&auth);
	for (int i = 0; i < s.nr_ps; i++)
		page_source_close(&s.ps[i]);
	free(s.buf);
	close(s.dirfd);
	return ret;
}
