/*
 * dump-run.h - one run of the dump driver (dump.c), shared by its parts:
 * the images directory (images-dir.c), the image writers (img-write.c)
 * and the memory modes (memmode.c).  Internal to criu/dump/.
 *
 * A dump is a list of named stages with their undo (criu/stages.h); how
 * memory is copied is one of four modes behind one table (struct
 * mem_mode): full (frozen while copied), pre-dump (copied while the tree
 * runs, written pages tracked), live snapshot (protected while frozen,
 * copied while it runs) and post-copy (--lazy-pages: served later from
 * the frozen tree).  --leave-running is what the last stage does with the
 * tree, not a memory mode.
 */
#ifndef CRIU_DUMP_RUN_H
#define CRIU_DUMP_RUN_H

#include <stdbool.h>

#include "criu/dump/cgfreeze.h"
#include "criu/dump/dump.h"
#include "criu/net/netlock.h"
#include "criu/opts.h"
#include "criu/snapshot/snapshot.h"
#include "criu/track/track.h"

/* what one round keeps per process besides its state */
struct proc_round {
	Mm *parent_mm;		/* the process in the parent images, if it was there */
	struct track tr;	/* the write-tracking uffd */
	bool *tracked;		/* per VMA: unwritten pages are the parent's */
	bool created;		/* the tracker was made by this round */
	struct page_plan plan;
	struct snapshot *snap;	/* --live-snapshot: its memory, protected */
	struct vmflags_job flags;	/* VmFlags read beside the dump (vmflags.c) */
	bool flags_later;		/* ... once the injected syscalls are done (flags_start) */
};

struct mem_mode;

struct dump_run {
	const struct opts *o;
	bool pre;			/* pre-dump: memory only, the tree runs on */
	const char *what;		/* "dump" or "pre-dump", for messages */
	const struct mem_mode *mode;
	struct dump_tree t;
	struct proc_round *rounds;	/* per process of t */
	struct snapshot *prep;		/* live snapshot: the root's, made before the freeze */
	struct netlock *nl;
	struct cg_freezer cg;
	struct dump_stats st;
	int dirfd, pfd;			/* images directory, its parent's (-1) */
	bool locked;			/* the network-lock step was taken */
	bool ended;			/* the tree was killed or let go for good: no undo */
	double t0, tfreeze, frozen_ms, seized_ms;
};

/*
 * A memory mode: each hook may be NULL.  frozen: after every process's
 * state is collected, the tree still frozen; let_go: before the copy, for
 * modes that copy while the tree runs; copy: one process's memory; end:
 * after every image is written (what becomes of the tree).
 */
struct mem_mode {
	const char *name;
	int (*frozen)(struct dump_run *r);
	int (*let_go)(struct dump_run *r);
	int (*copy)(struct dump_run *r, size_t i, struct dump_stats *ps);
	int (*end)(struct dump_run *r);
	/* changes no mapping of the frozen tree (no tracking armed, nothing
	 * protected): VmFlags can be read beside the dump (vmflags.c) */
	bool maps_kept;
};
/* memmode.c: the VmFlags read beside the dump into every process's mappings */
int flags_start(struct dump_run *r);
int flags_join(struct dump_run *r);

/* memmode.c */
const struct mem_mode *mem_mode_of(const struct opts *o, bool pre);
/* while frozen: one process's state, memory map and tracking */
int collect_proc(struct dump_run *r, size_t i);
/* a failed run: no tracker or protection it made stays behind */
void undo_rounds(struct dump_run *r);
void free_rounds(struct proc_round *rounds, size_t nr);
/* removes criu's tracking uffd from the (seized) process */
int drop_tracking(pid_t pid, struct track *tr);
/* the tree after a dump: killed (the lock kept for the restore) or let run */
int end_tree(struct dump_run *r);

/* images-dir.c */
int open_images_dir(const char *dir);
void mark_incomplete(int dirfd);
/* --prev-images-dir: checks the parent images, links "parent" to them */
int load_parent(int dirfd, const char *prev, pid_t root, int *pfd_out);

/* img-write.c */
int write_one(int dirfd, enum img_kind kind, unsigned id, uint64_t dump_id,
	      const ProtobufCMessage *m);
int write_pstree(int dirfd, const struct dump_tree *t);
int write_images(int dirfd, struct dump_proc *p);
/* lock: the network lock's name the restore releases, or NULL */
int write_inventory_of(int dirfd, const struct dump_tree *t, const struct opts *o, bool pre,
		       const char *lock);

#endif /* CRIU_DUMP_RUN_H */
