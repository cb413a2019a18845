/*
 * check.h - the kernel feature probes of `criu check`, shared between the
 * driver (check.c) and the probe files (check-proc.c, check-mem.c,
 * check-ns.c).
 *
 * A probe returns 1 if the feature works and 0 if not; it writes why into
 * msg (missing) or an optional detail (present, may be left empty).  Probes
 * print nothing and leave no process, mapping or fd behind.
 */
#ifndef CRIU_CHECK_H
#define CRIU_CHECK_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

typedef int (*check_fn)(uint64_t arg, char *msg, size_t len);

/* runs the named probe once per invocation and remembers its result */
int check_feature(const char *name, char *msg, size_t len);

/* check-proc.c: processes, ptrace, credentials */
int chk_capabilities(uint64_t arg, char *msg, size_t len);
int chk_ptrace_seize(uint64_t arg, char *msg, size_t len);
int chk_clone3_set_tid(uint64_t arg, char *msg, size_t len);
int chk_pr_set_mm_map(uint64_t arg, char *msg, size_t len);
int chk_process_vm_readv(uint64_t arg, char *msg, size_t len);
int chk_pidfd_open(uint64_t arg, char *msg, size_t len);
int chk_pidfd_getfd(uint64_t arg, char *msg, size_t len);
int chk_rseq(uint64_t arg, char *msg, size_t len);
int chk_xsave_frames(uint64_t arg, char *msg, size_t len);

/* check-mem.c: userfaultfd, pagemap, dirty tracking */
int chk_userfaultfd(uint64_t arg, char *msg, size_t len);
int chk_uffd_feature(uint64_t bit, char *msg, size_t len);
int chk_pagemap_scan(uint64_t arg, char *msg, size_t len);
int chk_uffd_wp(uint64_t arg, char *msg, size_t len);
int chk_soft_dirty(uint64_t arg, char *msg, size_t len);
int chk_mem_dirty_track(uint64_t arg, char *msg, size_t len);
int chk_live_snapshot(uint64_t arg, char *msg, size_t len);

/* check-ns.c: namespace kinds (arg: CLONE_NEW*) and cgroup versions (1, 2) */
int chk_namespace(uint64_t flag, char *msg, size_t len);
int chk_cgroup(uint64_t version, char *msg, size_t len);

/* a child that only sleeps, killed if we die; -1 with msg set on error */
pid_t chk_spawn_sleeper(char *msg, size_t len);
/* kills and reaps a child of ours */
void chk_reap(pid_t pid);

#endif /* CRIU_CHECK_H */
