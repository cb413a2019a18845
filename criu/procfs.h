/*
 * procfs.h - parsing of /proc/PID files: the memory map (with smaps VmFlags),
 * the mm fields of stat, status fields, fdinfo.  Pure readers: they return
 * what the kernel shows, decisions are the caller's.
 */
#ifndef CRIU_PROC_H
#define CRIU_PROC_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "criu/pie/restorer-args.h"	/* VMA_F_*: the VmFlags we keep */

struct proc_vma {
	uint64_t start, end;
	uint64_t pgoff;
	uint64_t dev, ino;
	bool r, w, x, shared;
	bool growsdown;		/* gd */
	uint32_t vm_flags;	/* VMA_F_* */
	uint32_t pkey;		/* smaps ProtectionKey (0: the default key) */
	char path[4096];	/* path or [name], "" for anonymous */
};

struct proc_maps {
	size_t nr;
	struct proc_vma *vmas;
};

/* with_flags: read smaps (for VmFlags) instead of maps */
int proc_read_maps(pid_t pid, bool with_flags, struct proc_maps *out);
void proc_maps_free(struct proc_maps *m);

struct proc_stat {
	char comm[64];
	char state;
	int ppid, pgid, sid;
	unsigned tty_nr;	/* the controlling terminal (new_encode_dev), 0 if none */
	int nr_threads;
	int exit_signal;	/* sent to the parent at exit (SIGCHLD, or another) */
	int exit_code;		/* a zombie's status, as waitpid reports it */
	uint64_t start_code, end_code, start_stack;
	uint64_t start_data, end_data, start_brk;
	uint64_t arg_start, arg_end, env_start, env_end;
};
int proc_read_stat(pid_t pid, struct proc_stat *st);

/* a field of /proc/PID/status such as "Umask:"; returns 0 and the value text */
int proc_status_field(pid_t pid, const char *field, char *buf, size_t len);
/* the same for another status-like file of the process, e.g. "task/TID/status" */
int proc_status_field_of(pid_t pid, const char *file, const char *field, char *buf, size_t len);

struct proc_fdinfo {
	uint64_t pos;
	uint32_t flags;
	int mnt_id;
};
int proc_read_fdinfo(pid_t pid, int fd, struct proc_fdinfo *fi);

/* reads a whole small /proc file into buf; returns bytes or -1 */
ssize_t proc_read_file(pid_t pid, const char *name, void *buf, size_t len);

#endif /* CRIU_PROC_H */
