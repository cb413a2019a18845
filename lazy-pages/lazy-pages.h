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
};

/* returns the exit status for main */
int lazy_pages_main(const struct lazy_opts *o);

#endif /* LAZY_PAGES_H */
