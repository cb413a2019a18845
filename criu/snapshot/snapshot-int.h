/*
 * snapshot-int.h - what the files of criu/snapshot/ share: the state of one
 * process's live snapshot and the helpers around its saved-page bitmap.
 * snapshot.c: the bitmap, saving pages, the copy, the end; handler.c: the
 * fault handler thread; arm.c: protecting memory, before and at the freeze.
 * Not for use outside criu/snapshot/ (the interface is snapshot.h).
 */
#ifndef CRIU_SNAPSHOT_INT_H
#define CRIU_SNAPSHOT_INT_H

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <unistd.h>

#include "common/compat.h"
#include "criu/procfs.h"
#include "criu/snapshot/snapshot.h"
#include "criu/track/track.h"

#define PS		4096ULL
#define GRANULE		(64 * PS)	/* the most saved and unprotected per write fault */
#define COPY_BUF	(2ULL << 20)	/* for copies made while frozen */
#define BLOCK		(2ULL << 20)	/* a page table's worth */
#define HIST_US		10000		/* fault service histogram: 1 us buckets */

#define SNAP_FEATURES	(UFFD_FEATURE_WP_UNPOPULATED | \
			 UFFD_FEATURE_EVENT_REMAP | UFFD_FEATURE_EVENT_REMOVE | \
			 UFFD_FEATURE_EVENT_UNMAP)

struct range {
	uint64_t start, end;
};

/* a mapping protected before the freeze, with the pages it had then */
struct pre_reg {
	struct range r;
	uint64_t *present;	/* bitmap, a bit a page */
};

enum { MODE_PRE, MODE_SNAP };

struct snapshot {
	pid_t pid;
	struct track uf;		/* the uffd (criu's is the only reference) */
	int pfd;			/* pages-PID.img: written by the copier only */
	int sfd;			/* pages saved out of order: an unlinked side file */
	uint32_t *side;			/* per image page: its slot in the side file, 0 if none */
	uint32_t side_next;
	int memfd;			/* /proc/PID/mem: unreadable mappings */
	int stopfd;			/* eventfd: the handler stops */
	int kickfd;			/* eventfd: the handler says it is done with what it read */
	pthread_cond_t synced;
	uint64_t sync_req, sync_ack;
	const struct page_plan *plan;
	uint64_t *first;		/* per run: its first page's index in the image */
	uint64_t *saved;		/* bitmap over the image's pages */
	struct range *regs;		/* registered (protected) mappings */
	size_t nr_regs, cap_regs;
	int mode;			/* MODE_PRE: before the freeze (snapshot_prepare) */
	struct pre_reg *pre;		/* MODE_PRE: what was protected, and its pages */
	size_t nr_pre;
	struct range *pd;		/* MODE_PRE: windows written (unprotected) since */
	size_t nr_pd, cap_pd;
	bool changed;			/* MODE_PRE: the memory map changed (an event) */
	struct proc_maps pre_maps;	/* smaps read before the freeze */
	bool flags_from_pre;		/* the dump's VmFlags are those: checked after */
	pthread_mutex_t lock;
	pthread_t thread;
	bool running;
	bool copied;			/* the whole image is written */
	volatile bool copy_done;	/* the copier is through (or gave up) */
	volatile bool draining;		/* the handler waits for copy_done (an event waits) */
	volatile uint64_t probe;	/* a page saved and unprotected: probing it is harmless */
	volatile bool failed;
	char why[256];
	uint8_t *fbuf;			/* the handler's buffer (GRANULE) */
	void *patch;			/* the copier's list of pages to take from the side file */
	bool keep;			/* tracking takes over: the copier leaves protection on */
	struct range *dirty;		/* keep: windows unprotected by the handler */
	size_t nr_dirty, cap_dirty;
	/* statistics */
	uint64_t faults, fault_pages, events, frozen_pages;
	uint32_t hist[HIST_US + 1];
	double max_us;
};

static inline bool test_bit(const uint64_t *b, uint64_t i)
{
	return b[i / 64] & (1ULL << (i % 64));
}

static inline void set_bit(uint64_t *b, uint64_t i)
{
	b[i / 64] |= 1ULL << (i % 64);
}

/* snapshot.c */
/* the first failure wins; printed by whoever ends the snapshot */
void snap_fail(struct snapshot *s, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* index of the first plan run that ends after addr */
size_t run_at(const struct snapshot *s, uint64_t addr);
/* the part [*a, *b) of plan run i in [start, end), if it has data */
bool run_part(const struct snapshot *s, size_t i, uint64_t start, uint64_t end, uint64_t *a,
	      uint64_t *b);
/* saves the planned, unsaved pages of [start, end) to the side file; lock held */
long save_range(struct snapshot *s, uint64_t start, uint64_t end, uint8_t *buf, size_t buflen);
/* are planned pages of [start, end) not saved yet?  lock held */
bool unsaved_in(struct snapshot *s, uint64_t start, uint64_t end);
/* removes the protection of [start, end) and wakes its waiters; -errno */
int unprotect(struct snapshot *s, uint64_t start, uint64_t end);
/* the registered range holding addr, or NULL */
const struct range *reg_of(const struct snapshot *s, uint64_t addr);
int add_range(struct range **v, size_t *nr, size_t *cap, uint64_t a, uint64_t b);
void stop_handler(struct snapshot *s);
/* handler.c */
void *handler_main(void *arg);
/* arm.c */
int protect(struct snapshot *s, const Vma *v);
int protect_range(struct snapshot *s, uint64_t start, uint64_t end);
/* VmFlags read before the freeze still the same after the copy? */
int check_flags(struct snapshot *s, const struct proc_maps *frozen);

#endif /* CRIU_SNAPSHOT_INT_H */
