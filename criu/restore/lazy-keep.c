/*
 * lazy-keep.c - the io_uring in which a lazily restored process keeps its
 * own userfaultfd (made by the restorer: restorer.c, lazy_keep).  criu
 * takes a copy of the ring's fd with the uffd's; through it the watch puts
 * the uffds of the fork children in the ring's other slots, and takes
 * every uffd out again once the daemon says its pages are all in, so that
 * the last reference then goes with criu's and the daemon's, as before.
 *
 * Why: closing the last reference to a uffd turns every missing page into
 * a zero page.  criu (or its -d watcher) and the daemon each hold one and
 * each kills the process if the other dies first, but if both are killed
 * together no one is left to do it.  The ring lives in the process: with
 * it, a missing page then blocks the thread that touches it (killably),
 * and never reads as zero.
 */
#define LOG_PREFIX "restore: "
#include <stdint.h>
#include <unistd.h>
#include <sys/syscall.h>
#include <linux/io_uring.h>

#include "common/log.h"
#include "criu/restore/restore.h"

int rst_lazy_keep_put(int ring, unsigned slot, int fd)
{
	__s32 v = fd;
	struct io_uring_files_update up = { .offset = slot, .fds = (__u64)(uintptr_t)&v };

	if (ring < 0 || slot >= LAZY_KEEP_SLOTS)
		return -1;
	if (syscall(__NR_io_uring_register, ring, IORING_REGISTER_FILES_UPDATE, &up, 1) != 1) {
		pr_perror("cannot %s slot %u of the process's own io_uring", fd < 0 ? "empty" : "fill", slot);
		return -1;
	}
	return 0;
}
