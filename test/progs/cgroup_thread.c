/*
 * cgroup_thread DIR: a process whose second thread is in the v1 cgroup
 * DIR (test/cgroup.sh makes it, under the pids hierarchy), the main thread
 * where it was started.  After the checkpoint each thread checks its own
 * /proc/self/task/TID/cgroup: the second one's pids line names DIR, the
 * main thread's is as before.  Run by cgroup/thread, not on its own.
 */
#include <fcntl.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "test/lib/test.h"

static _Atomic int stage;	/* 1: moved, 2: checkpoint done, 3: checked */
static char err[9000];
static const char *want;	/* DIR below the pids mount */

static int read_text(const char *path, char *buf, size_t len)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	ssize_t n = fd < 0 ? -1 : read(fd, buf, len - 1);
	if (fd >= 0)
		close(fd);
	if (n < 0)
		return -1;
	buf[n] = 0;
	return 0;
}

/* the pids line of this thread's cgroups */
static int pids_of(pid_t tid, char *out, size_t len)
{
	char path[64], buf[4096];
	snprintf(path, sizeof(path), "/proc/self/task/%d/cgroup", tid);
	if (read_text(path, buf, sizeof(buf)))
		return -1;
	char *l = strstr(buf, ":pids:");
	if (!l)
		return -1;
	snprintf(out, len, "%.*s", (int)strcspn(l + 6, "\n"), l + 6);
	return 0;
}

static void *thread_main(void *dir)
{
	char path[4096], buf[32];
	pid_t tid = syscall(SYS_gettid);
	snprintf(path, sizeof(path), "%s/tasks", (char *)dir);
	int fd = open(path, O_WRONLY | O_CLOEXEC);
	int n = snprintf(buf, sizeof(buf), "%d", tid);
	if (fd < 0 || write(fd, buf, n) != n)
		snprintf(err, sizeof(err), "cannot move the thread into %s", path);
	if (fd >= 0)
		close(fd);
	stage = 1;
	while (stage < 2)
		usleep(1000);
	char got[4096];
	if (!*err && (pids_of(tid, got, sizeof(got)) || strcmp(got, want)))
		snprintf(err, sizeof(err), "thread %d: in pids cgroup '%s', not '%s'", tid, got, want);
	stage = 3;
	return NULL;
}

int main(int argc, char **argv)
{
	pthread_t t;
	char before[4096], after[4096];

	test_init(argc, argv);
	if (argc < 2 || strncmp(argv[1], "/sys/fs/cgroup/pids/", 20))
		skip("needs a pids cgroup directory (test/cgroup.sh cgroup/thread)");
	want = argv[1] + 19;
	if (pids_of(getpid(), before, sizeof(before)))
		fail("cannot read its cgroups");
	if (pthread_create(&t, NULL, thread_main, argv[1]))
		fail("pthread_create");
	while (stage < 1)
		usleep(1000);
	if (*err)
		fail("%s", err);
	test_ready();
	test_wait_checkpoint();
	stage = 2;
	pthread_join(t, NULL);
	if (*err)
		fail("%s", err);
	if (pids_of(getpid(), after, sizeof(after)) || strcmp(before, after))
		fail("the main thread is in pids cgroup '%s', was '%s'", after, before);
	pass();
}
