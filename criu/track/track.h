/*
 * track.h - write tracking of a running process for incremental dumps.
 *
 * A userfaultfd is created inside the target (through infect), moved to an
 * fd number out of the program's way (the highest its RLIMIT_NOFILE allows,
 * close-on-exec) and fetched with pidfd_getfd.  From outside, criu enables
 * UFFD_FEATURE_WP_ASYNC | UFFD_FEATURE_WP_UNPOPULATED, registers every
 * private mapping in write-protect mode and protects it: the kernel then
 * resolves write faults itself and remembers which pages were written,
 * which PAGEMAP_SCAN reports and re-protects atomically.
 *
 * The uffd stays in the target between criu invocations: its fd number and
 * inode are recorded in inventory.img, so the next round finds it again and
 * makes sure it is still ours.  If it is gone (the program closed it,
 * exec'ed), the kernel dropped every registration with it: the mappings no
 * longer show VmFlags "uw", and the next round copies them in full.  The
 * final dump closes it in the target: with the last reference gone, the
 * kernel drops every registration.
 */
#ifndef CRIU_TRACK_H
#define CRIU_TRACK_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "criu/infect/infect.h"

struct track {
	pid_t pid;
	int uffd;		/* criu's own reference, -1 if none */
	int pmfd;		/* the process's pagemap, for probing */
	int target_fd;		/* its number in the target */
	uint64_t ino;		/* its inode: identifies it */
};

/* creates the tracking uffd in the stopped task (needs an infect session) */
int track_create(struct infect *c, pid_t pid, struct track *t);
/*
 * The general form: a uffd of the stopped task with these features.  keep:
 * it stays in the task at a high fd (tracking); else criu's copy is the
 * only reference once this returns (target_fd = -1): if criu dies, the
 * kernel drops every registration and wakes whoever waits on it (the live
 * snapshot, criu/snapshot/).
 */
int track_uffd_create(struct infect *c, pid_t pid, uint64_t features, bool keep,
		      struct track *t);
/*
 * Finds the uffd a previous round left at target_fd; 0 if it is there and
 * ours, 1 if it is gone or replaced (tracking was lost), <0 on error.
 */
int track_attach(pid_t pid, int target_fd, uint64_t ino, struct track *t);
/* does the kernel write-track [start, ...) for us (WP-async registered)? */
bool track_is_armed(struct track *t, uint64_t start);
/* registers [start, end) for write-protect tracking and protects it */
int track_arm(struct track *t, uint64_t start, uint64_t end);
/* closes the uffd inside the task (infect) and criu's reference */
int track_close_in_task(struct infect *c, struct track *t);
void track_release(struct track *t);

#endif /* CRIU_TRACK_H */
