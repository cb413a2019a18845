/*
 * lazy-pages.h - the entry point of `criu lazy-pages` (daemon.c), called by
 * criu/main.c.  Its options are given explicitly; nothing here knows about
 * the dump or restore engine.
 */
#ifndef LAZY_PAGES_H
#define LAZY_PAGES_H

#include <stdbool.h>
#include <stdint.h>

#include "pagexfer/ps-sec.h"

#define LAZY_GRANULE_DEFAULT	(256UL << 10)
#define LAZY_GRANULE_MIN	(64UL << 10)
#define LAZY_GRANULE_MAX	(2UL << 20)

struct lazy_opts {
	const char *images_dir;		/* -D: socket, and page images unless remote */
	uint64_t granule;		/* fault-around bytes (power of two) */
	bool remote;			/* --page-server: pages from a page server */
	const char *address;		/* --address */
	int port;			/* --port */
	struct ps_sec sec;		/* --tls..., --ps-token-file */
	int status_fd;			/* --status-fd: a byte once serving (-1: none) */
	int listen_fd;			/* --lazy-listen-fd: the socket, made by restore (-1: none) */
};

/* DIR/lazy-pages.remote, while a daemon with --page-server serves DIR:
 * "ADDRESS PORT PID\n", the page server it takes pages from (and the
 * daemon's pid: the file is not one left behind), for a restore
 * --lazy-pages given none (upstream CRIU's lazy migration, runc restore) */
#define LAZY_REMOTE_NAME	"lazy-pages.remote"

/* returns the exit status for main */
int lazy_pages_main(const struct lazy_opts *o);

#endif /* LAZY_PAGES_H */
