/*
 * check-proc.c - `criu check` probes for process-level kernel interfaces:
 * capabilities, ptrace seizing, clone3 with set_tid, PR_SET_MM_MAP,
 * process_vm_readv, pidfds, the rseq configuration of a tracee, and the
 * xsave signal frames through which restore sets each thread's FPU state.
 */
#include <errno.h>
#include <fcntl.h>
#include <linux/sched.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/capability.h>
#include <sys/prctl.h>
#include <sys/ptrace.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <sys/wait.h>
#include <unistd.h>

#include "common/compat.h"
#include "criu/restore/sigframe.h"

#include "criu/check.h"
#include "common/compat.h"	/* after sys/ptrace.h: it may define PTRACE_* macros */

pid_t chk_spawn_sleeper(char *msg, size_t len)
{
	pid_t parent = getpid(), pid = fork();

	if (pid < 0) {
		snprintf(msg, len, "fork: %s", strerror(errno));
		return -1;
	}
	if (pid == 0) {
		prctl(PR_SET_PDEATHSIG, SIGKILL);
		if (getppid() != parent)
			_exit(1);
		for (;;)
			pause();
	}
	return pid;
}

void chk_reap(pid_t pid)
{
	if (pid <= 0)
		return;
	kill(pid, SIGKILL);
	while (waitpid(pid, NULL, __WALL) < 0 && errno == EINTR)
		;
}

int chk_capabilities(uint64_t arg, char *msg, size_t len)
{
	static const struct { cap_value_t cap; const char *name; } caps[] = {
		{ CAP_SYS_ADMIN, "CAP_SYS_ADMIN" },
		{ CAP_CHECKPOINT_RESTORE, "CAP_CHECKPOINT_RESTORE" },
	};
	cap_t c = cap_get_proc();
	int found = 0;

	(void)arg;
	if (!c) {
		snprintf(msg, len, "cap_get_proc: %s", strerror(errno));
		return 0;
	}
	for (size_t i = 0; i < sizeof(caps) / sizeof(caps[0]) && !found; i++) {
		cap_flag_value_t v = CAP_CLEAR;
		if (!cap_get_flag(c, caps[i].cap, CAP_EFFECTIVE, &v) && v == CAP_SET) {
			snprintf(msg, len, "%s", caps[i].name);
			found = 1;
		}
	}
	cap_free(c);
	if (!found)
		snprintf(msg, len, "neither CAP_SYS_ADMIN nor CAP_CHECKPOINT_RESTORE is effective");
	return found;
}

/* seizes pid and stops it with PTRACE_INTERRUPT; 0 with msg set on error */
static int seize_and_stop(pid_t pid, char *msg, size_t len)
{
	int st;

	if (ptrace(PTRACE_SEIZE, pid, 0, 0)) {
		snprintf(msg, len, "PTRACE_SEIZE: %s", strerror(errno));
		return 0;
	}
	if (ptrace(PTRACE_INTERRUPT, pid, 0, 0)) {
		snprintf(msg, len, "PTRACE_INTERRUPT: %s", strerror(errno));
		return 0;
	}
	if (waitpid(pid, &st, __WALL) != pid) {
		snprintf(msg, len, "waitpid: %s", strerror(errno));
		return 0;
	}
	if (!WIFSTOPPED(st) || (st >> 16) != PTRACE_EVENT_STOP) {
		snprintf(msg, len, "tracee did not enter a ptrace event stop (status 0x%x)", st);
		return 0;
	}
	return 1;
}

int chk_ptrace_seize(uint64_t arg, char *msg, size_t len)
{
	pid_t pid = chk_spawn_sleeper(msg, len);
	int ok;

	(void)arg;
	if (pid < 0)
		return 0;
	ok = seize_and_stop(pid, msg, len);
	chk_reap(pid);
	return ok;
}

/* the pid of a child that has just exited and been reaped: free for now */
static pid_t free_pid(void)
{
	pid_t pid = fork();

	if (pid == 0)
		_exit(0);
	if (pid > 0)
		while (waitpid(pid, NULL, 0) < 0 && errno == EINTR)
			;
	return pid;
}

int chk_clone3_set_tid(uint64_t arg, char *msg, size_t len)
{
	(void)arg;
	/* another process may take the freed pid first: retry a few times */
	for (int tries = 0; tries < 5; tries++) {
		pid_t want = free_pid();
		struct clone_args ca;
		long pid;

		if (want < 0) {
			snprintf(msg, len, "fork: %s", strerror(errno));
			return 0;
		}
		memset(&ca, 0, sizeof(ca));
		ca.exit_signal = SIGCHLD;
		ca.set_tid = (uintptr_t)&want;
		ca.set_tid_size = 1;
		pid = syscall(SYS_clone3, &ca, sizeof(ca));
		if (pid == 0)
			syscall(SYS_exit_group, 0);	/* the new child: nothing to do */
		if (pid < 0 && errno == EEXIST)
			continue;
		if (pid < 0) {
			snprintf(msg, len, "clone3 with set_tid: %s%s", strerror(errno),
				 errno == EPERM ? " (needs CAP_CHECKPOINT_RESTORE)" :
				 errno == ENOSYS ? " (kernel older than 5.5)" : "");
			return 0;
		}
		while (waitpid(pid, NULL, 0) < 0 && errno == EINTR)
			;
		if (pid != want) {
			snprintf(msg, len, "clone3 asked for pid %d, got %ld", want, pid);
			return 0;
		}
		return 1;
	}
	snprintf(msg, len, "clone3 with set_tid: the freed pid kept being taken (EEXIST)");
	return 0;
}

int chk_pr_set_mm_map(uint64_t arg, char *msg, size_t len)
{
	unsigned int size = 0;

	(void)arg;
	if (prctl(PR_SET_MM, PR_SET_MM_MAP_SIZE, (unsigned long)&size, 0, 0)) {
		snprintf(msg, len, "prctl(PR_SET_MM_MAP_SIZE): %s%s", strerror(errno),
			 errno == EINVAL ? " (kernel built without CONFIG_CHECKPOINT_RESTORE?)" : "");
		return 0;
	}
	if (size != sizeof(struct prctl_mm_map)) {
		snprintf(msg, len, "kernel's prctl_mm_map is %u bytes, this tool's is %zu",
			 size, sizeof(struct prctl_mm_map));
		return 0;
	}
	return 1;
}

int chk_process_vm_readv(uint64_t arg, char *msg, size_t len)
{
	static char probe[64];
	char got[sizeof(probe)];
	pid_t pid;
	int ok = 1;

	(void)arg;
	snprintf(probe, sizeof(probe), "process_vm_readv probe %d", getpid());
	pid = chk_spawn_sleeper(msg, len);
	if (pid < 0)
		return 0;
	/* the child keeps the old contents at the same address */
	char want[sizeof(probe)];
	memcpy(want, probe, sizeof(probe));
	memset(probe, 0, sizeof(probe));

	struct iovec local = { got, sizeof(got) }, remote = { probe, sizeof(probe) };
	ssize_t n = process_vm_readv(pid, &local, 1, &remote, 1, 0);
	if (n < 0) {
		snprintf(msg, len, "process_vm_readv: %s", strerror(errno));
		ok = 0;
	} else if (n != (ssize_t)sizeof(got) || memcmp(got, want, sizeof(got))) {
		snprintf(msg, len, "read %zd bytes that differ from the child's memory", n);
		ok = 0;
	}
	chk_reap(pid);
	return ok;
}

int chk_pidfd_open(uint64_t arg, char *msg, size_t len)
{
	int fd = syscall(SYS_pidfd_open, getpid(), 0);

	(void)arg;
	if (fd < 0) {
		snprintf(msg, len, "pidfd_open: %s", strerror(errno));
		return 0;
	}
	close(fd);
	return 1;
}

int chk_pidfd_getfd(uint64_t arg, char *msg, size_t len)
{
	int pidfd = -1, fds[2] = { -1, -1 }, got = -1, ok = 0;
	struct stat a, b;

	(void)arg;
	if (pipe2(fds, O_CLOEXEC)) {
		snprintf(msg, len, "pipe: %s", strerror(errno));
		return 0;
	}
	pidfd = syscall(SYS_pidfd_open, getpid(), 0);
	if (pidfd < 0) {
		snprintf(msg, len, "pidfd_open: %s", strerror(errno));
		goto out;
	}
	got = syscall(SYS_pidfd_getfd, pidfd, fds[0], 0);
	if (got < 0) {
		snprintf(msg, len, "pidfd_getfd: %s", strerror(errno));
		goto out;
	}
	if (fstat(got, &a) || fstat(fds[0], &b) || a.st_ino != b.st_ino || a.st_dev != b.st_dev) {
		snprintf(msg, len, "pidfd_getfd returned a different file");
		goto out;
	}
	ok = 1;
out:
	if (got >= 0)
		close(got);
	if (pidfd >= 0)
		close(pidfd);
	close(fds[0]);
	close(fds[1]);
	return ok;
}

int chk_rseq(uint64_t arg, char *msg, size_t len)
{
	struct __ptrace_rseq_configuration conf;
	pid_t pid = chk_spawn_sleeper(msg, len);
	int ok = 0;
	long ret;

	(void)arg;
	if (pid < 0)
		return 0;
	if (!seize_and_stop(pid, msg, len))
		goto out;
	memset(&conf, 0, sizeof(conf));
	ret = ptrace(PTRACE_GET_RSEQ_CONFIGURATION, pid, sizeof(conf), &conf);
	if (ret < 0) {
		snprintf(msg, len, "PTRACE_GET_RSEQ_CONFIGURATION: %s%s", strerror(errno),
			 errno == EIO ? " (kernel older than 5.13)" : "");
		goto out;
	}
	if (ret != sizeof(conf)) {
		snprintf(msg, len, "PTRACE_GET_RSEQ_CONFIGURATION returned %ld bytes, expected %zu",
			 ret, sizeof(conf));
		goto out;
	}
	if (!conf.rseq_abi_pointer)
		snprintf(msg, len, "child has no rseq area registered");
	ok = 1;
out:
	chk_reap(pid);
	return ok;
}

int chk_xsave_frames(uint64_t arg, char *msg, size_t len)
{
	struct fpu_env env;

	(void)arg;
	if (fpu_env_probe(&env)) {
		snprintf(msg, len, "no xsave signal frames: the FPU state cannot be restored");
		return 0;
	}
	snprintf(msg, len, "xfeatures %#lx, frames of %u bytes, %u with every feature%s",
		 (unsigned long)env.xcr0, env.sw.xstate_size, env.max_size,
		 env.xcr0 & XFEATURE_MASK_DYNAMIC ? "; AMX tile data on request" : "");
	return 1;
}
