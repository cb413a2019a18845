/*
 * page-server.h - the server side of the page-server protocol
 * (page-server-proto.h), shared by `criu page-server` (pages from images,
 * page-server.c) and `criu dump --lazy-pages` (pages from the frozen
 * process, criu/dump/postcopy.c).  The loop (ps-serve.c) owns the listening
 * socket, the connections, their authentication (ps-sec.h), the checking
 * of every request and the replies; where the pages come from is the
 * backend's.
 */
#ifndef PAGEXFER_PAGE_SERVER_H
#define PAGEXFER_PAGE_SERVER_H

#include <signal.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <unistd.h>

#include "pagexfer/page-server-proto.h"
#include "pagexfer/ps-sec.h"

struct ps_backend {
	void *ctx;
	/*
	 * The runs of pid's pages with the XXH3 of each run's data (*runs
	 * malloc'ed, sorted, each at most PAGEMAP_MAX_RUN pages); 0 or a
	 * positive errno (ENOENT: no such process here).
	 */
	int (*map)(void *ctx, unsigned pid, struct ps_run **runs, size_t *nr);
	/*
	 * The data of [addr, addr+len) (page aligned, 0 < len <= PS_MAX_READ);
	 * 0 or a positive errno (ENOENT: some page is not there, EIO).
	 */
	int (*read)(void *ctx, unsigned pid, uint64_t addr, void *buf, uint64_t len);
	uint32_t map_flags;	/* PS_MAP_UNHASHED: the runs carry no checksums */
	/* if set: true once every page of every map was sent (at least once) */
	bool (*all_sent)(void *ctx);
	/* if set (by a signal handler, which interrupts the wait): stop, as if lost */
	volatile sig_atomic_t *stop;
};

/* `criu page-server` (page-server.c): what it serves, where, how */
struct ps_serve_opts {
	const char *images_dir;		/* -D: the page images */
	const char *address;		/* --address (NULL: 127.0.0.1) */
	int port;			/* --port */
	struct ps_sec sec;		/* --tls..., --ps-token-file */
	int status_fd;			/* --status-fd: a byte once serving (-1: none) */
};
/* serves o->images_dir until its client is done; the exit status for main */
int page_server_main(const struct ps_serve_opts *o);

/* --status-fd: one byte once serving, then closed (CRIU's protocol) */
static inline void ps_status_ready(int *fd)
{
	char c = 0;

	if (*fd < 0)
		return;
	if (write(*fd, &c, 1) < 0) {
		/* the watcher is gone: nothing to tell */
	}
	close(*fd);
	*fd = -1;
}

/* a listening TCP socket on address (NULL: 127.0.0.1) and port, or -1 (logged) */
int ps_listen(const char *address, int port);
/*
 * Serves every client of lfd that authenticates with a (ps-serve.c) until
 * one says PS_BYE (returns 0, after
 * acknowledging it) or a connection is lost while no other is open, or
 * b->stop is set: returns -1, or 1 if by then every page had been sent
 * (b->all_sent): the client may have all it needs, its verdict lost on the
 * way (logged either way).
 */
int ps_serve(int lfd, const struct ps_backend *b, const struct ps_auth *a);

#endif /* PAGEXFER_PAGE_SERVER_H */
