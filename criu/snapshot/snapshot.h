/*
 * snapshot.h - the live snapshot (`--live-snapshot`): a consistent image of
 * a process's memory taken while the process runs.
 *
 * While the process is frozen, snapshot_arm() creates a userfaultfd inside
 * it (through infect), keeps criu's pidfd_getfd copy as the only reference
 * (the fd in the process is closed at once), registers every private
 * anonymous and shared anonymous mapping in synchronous write-protect mode
 * (UFFD_FEATURE_WP_UNPOPULATED: pages never touched need no pre-faulting)
 * and protects it whole.  Planned pages of mappings that cannot be
 * protected (private file mappings, mappings registered with another
 * userfaultfd) are copied there and then, still frozen.  A handler thread
 * then serves write faults: it copies the still unchanged pages around the
 * faulting one into the pages image, and only then removes the protection,
 * which wakes the writer.
 *
 * After the process runs again, snapshot_copy() copies the rest through the
 * ordinary page writer (pages_write_hooked, criu/memscan/): each batch is read while
 * protected, pages the handler saved meanwhile are taken from the image
 * instead, and the batch is unprotected once written.  A per-page "saved"
 * bitmap, under one lock, makes every page be written once, with its
 * contents at the freeze.
 *
 * Owns: the uffd, the handler thread, the pages image's fd while copying.
 * Must not: write the program's memory, leave anything in the process.
 * snapshot_free() closes the uffd: the kernel drops every registration and
 * protection and wakes any blocked thread.  If criu dies, its fds close and
 * the same happens, so the program is never left blocked.
 *
 * Changes of the memory map during the copy are reported by the kernel
 * (UFFD_EVENT_UNMAP, _REMOVE, _REMAP): if they touch pages not copied yet,
 * the snapshot fails (the program runs on untouched); otherwise they are
 * harmless.  Mappings created meanwhile are not part of the snapshot.
 */
#ifndef CRIU_SNAPSHOT_H
#define CRIU_SNAPSHOT_H

#include "criu/memscan/memscan.h"
#include "criu/procfs.h"

struct snapshot;

/*
 * Before the freeze, in two steps.  snapshot_open(): the process's main
 * thread is stopped (seized by the caller) for as long as the uffd takes
 * to make.  snapshot_prepare(): the process runs; protects its anonymous
 * mappings and notes which pages they have; the handler lets written pages
 * go and remembers them.  At the freeze, snapshot_arm() then only protects
 * those again and looks at them again: the freeze does not grow with
 * memory.  On failure of either, the caller frees *out / s.
 */
int snapshot_open(pid_t pid, struct snapshot **out);
int snapshot_prepare(struct snapshot *s);
/*
 * proc_read_maps() for the freeze: for the prepared process, when its
 * mappings are those read before the freeze, their VmFlags are taken from
 * that read (smaps walks every page table: ~15 ms a GiB), and
 * snapshot_copy() checks afterwards that they did not change meanwhile.
 */
int snapshot_read_maps(struct snapshot *prep, pid_t pid, bool with_flags, struct proc_maps *out);
/*
 * While m is frozen; *out is NULL on failure.  *prep (from
 * snapshot_prepare, may be NULL) is taken over if it is m's, else freed.
 * The plan is made here unless planned (the caller's page_plan_make: write
 * tracking; then *prep is not used).  keep: write tracking takes over
 * afterwards (snapshot_handover): the copy leaves every page protected and
 * the handler remembers what it unprotected; any change of the memory map
 * then fails the snapshot.
 */
int snapshot_arm(const struct mem_proc *m, struct snapshot **prep, struct page_plan *plan,
		 bool planned, int dirfd, bool keep, struct snapshot **out);
/*
 * once m runs again: copies the plan into the page images; frozen: the
 * memory map read at the freeze (its VmFlags are checked again)
 */
int snapshot_copy(struct snapshot *s, const struct mem_proc *m, const struct proc_maps *frozen,
		  const struct page_plan *plan, int dirfd, struct pages_stats *st);
/*
 * keep, after the copy, with the process frozen again by the caller (every
 * thread: no write may fall between the two protections): drops the
 * snapshot's uffd, lets arm(arg) register and protect the mappings with
 * the tracking uffd (asynchronous), and unprotects there what was written
 * since the freeze, so that the next round copies it.
 */
int snapshot_handover(struct snapshot *s, int track_uffd, void (*arm)(void *arg), void *arg);
/* was [start, end) write-protected by the snapshot (copied live)? */
bool snapshot_protected(const struct snapshot *s, uint64_t start, uint64_t end);
/* stops the handler, closes the uffd (drops every protection); NULL is fine */
void snapshot_free(struct snapshot *s);

#endif /* CRIU_SNAPSHOT_H */
