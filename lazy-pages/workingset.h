/*
 * workingset.h - the working set of a lazily restored process: the pages it
 * touched first, in order (workingset-PID.img, images/pagemap.proto).
 *
 * The first lazy restore of a set of images records every page fault the
 * daemon serves (the image address of the faulting page and the pages the
 * fault got before the thread was woken: not the rest of its granule, which
 * the program may never use) and, once the process has all its pages or
 * ended by itself, writes them to the images directory.  A later
 * lazy restore of the same images finds the file and installs those pages
 * first, in that order, before the rest of the background fill: a program
 * restored from one snapshot again and again (functions, fixtures) then
 * finds most of what it needs already in place (REAP, ASPLOS'21).
 *
 * A hint only: pages always come from the page images and are checked as
 * always; a missing, unreadable or stale workingset file costs speed, never
 * correctness, and is ignored with a warning.  Owns its list; knows nothing
 * of ranges or of the uffd.
 */
#ifndef LAZY_WORKINGSET_H
#define LAZY_WORKINGSET_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define LP_WS_MAX	(1U << 20)	/* faults recorded at most */

struct lp_ws_run {
	uint64_t addr;		/* image address */
	uint32_t nr_pages;
};

struct lp_ws {
	struct lp_ws_run *runs;	/* in order */
	size_t nr, cap;
	size_t next;		/* replay: the next one to install */
	bool replay;		/* read from the images: install these first */
	bool record;		/* none was there: note the faults */
	bool stale;		/* one was there but unreadable: replaced */
};

/* workingset-PID.img of dirfd: replay it if it is there, else record */
void lp_ws_open(int dirfd, unsigned pid, struct lp_ws *ws);
/* recording: a fault got nr_pages at image address addr before it went on */
void lp_ws_note(struct lp_ws *ws, uint64_t addr, uint64_t nr_pages);
/* recording: writes what was noted (once the process has all its pages) */
int lp_ws_save(int dirfd, unsigned pid, struct lp_ws *ws);
void lp_ws_free(struct lp_ws *ws);

#endif /* LAZY_WORKINGSET_H */
