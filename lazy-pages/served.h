/*
 * served.h - one process served by the lazy-pages daemon: its userfaultfd,
 * the lazy ranges it registered (kept current through unmap, remove and
 * remap events), a bitmap per range of pages with nothing left to do, and
 * the three ways pages get in: on fault (the page, then the rest of its
 * fault-around granule in pieces that double), in the background (chunks,
 * after the last fault first), and as zero pages for
 * faults on pages the image does not have.
 *
 * Owns no sockets and does no polling: daemon.c calls lp_proc_events() when
 * the uffd is readable and lp_proc_background() when it has time.
 */
#ifndef LAZY_PROC_H
#define LAZY_PROC_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "lazy-pages/socket-proto.h"
#include "lazy-pages/source.h"
#include "lazy-pages/workingset.h"

/*
 * Background copy unit: what a fault may wait behind.  Small while the
 * process faults (a fault in the last LP_BG_QUIET_US), large when it has
 * not for a while (per-copy costs then matter more than latency).
 */
#define LP_BG_CHUNK	(64UL << 10)
#define LP_BG_CHUNK_QUIET	(512UL << 10)
#define LP_BG_QUIET_US	5000
/* from a page server while the program faults: a background chunk this often at most */
#define LP_BG_REMOTE_GAP_US	2000
#define LP_MAX_PENDING	256		/* faults waiting for a retry (EAGAIN) */
#define LP_WS_BATCH	(256UL << 10)	/* of a recorded working set, per background call */

struct lp_range {
	uint64_t start, end;	/* where the range is now */
	int64_t delta;		/* image address = address + delta (mremap moves) */
	uint64_t *done;		/* bit per page: nothing left to copy there */
};

struct lp_stats {
	uint64_t total_pages;	/* image pages to bring in */
	uint64_t fault_pages, bg_pages, zero_pages, dropped_pages;
	uint64_t local_pages, remote_pages;	/* fault_pages + bg_pages, by where they came from */
	uint64_t ws_pages;	/* of bg_pages: installed first, from a recorded working set */
	uint64_t faults;
	double *lat;		/* fault service times, microseconds */
	size_t nr_lat, cap_lat;
};

enum lp_state { LP_LIVE, LP_DONE, LP_GONE, LP_FAILED };

struct lp_proc {
	unsigned pid;		/* the image's pid (the page source's) */
	int pidfd;		/* the restored process, to signal it (fork children: -1) */
	bool own_pidns;		/* it is in the daemon's pid namespace: tid is one of ours */
	int tid;		/* a thread seen faulting (fork children), 0 if none;
				 * as its own pid namespace numbers it */
	int uffd;
	int conn;		/* criu restore's connection (fork children: a dup of their
				 * parent's), -1 if none */
	unsigned child;		/* 0: a restored process; else a fork child's number */
	bool handed;		/* fork child: its uffd was handed to criu restore */
	bool tid_told;		/* fork child: criu restore knows tid */
	enum lp_state state;
	struct lp_source *src;
	struct lp_range *r;
	size_t nr;
	uint64_t remaining;	/* image pages not copied yet */
	uint64_t cursor;	/* background: where to look next */
	uint64_t around[2][2];	/* the last fault's granule still to do: [start, end) x2 */
	int nr_around;
	uint64_t ramp;		/* pages in the next piece of around[] */
	double last_fault;	/* when it last faulted, microseconds */
	double last_bg;		/* when the background last sent a chunk (from a page server) */
	uint64_t last_addr;	/* where it last faulted */
	uint64_t pending[LP_MAX_PENDING];
	size_t nr_pending;
	struct lp_ws ws;	/* the pages it touches first: recorded, or installed first */
	struct lp_proc *next;
};

struct lp_ctx {
	uint64_t granule;
	unsigned nr_children;	/* fork children seen (their numbers) */
	struct lp_stats st;
	struct lp_proc *procs;
};

struct lp_proc *lp_proc_new(struct lp_ctx *c, struct lp_source *src, unsigned pid, int uffd,
			    int conn, const struct lazy_range *ranges, size_t nr);
void lp_proc_free(struct lp_proc *p);
/* reads and handles every queued message; retries pending faults */
void lp_proc_events(struct lp_ctx *c, struct lp_proc *p);
/*
 * copies one background chunk; returns 1 if it did (2: of the recorded
 * working set, which no test delay holds back), 0 if nothing is left, -1 if
 * the next chunk waits for its unit to be checked (lp_source_ready)
 */
int lp_proc_background(struct lp_ctx *c, struct lp_proc *p);
/* the pages can no longer be had: poison what is missing, kill what we know */
void lp_proc_fail(struct lp_ctx *c, struct lp_proc *p, const char *why);
/* SIGKILL to the restored process (through its pidfd) */
void lp_proc_kill(const struct lp_proc *p);

#endif /* LAZY_PROC_H */
