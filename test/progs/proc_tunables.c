/*
 * proc_tunables: what a process sets on itself through /proc survives the
 * checkpoint: oom_score_adj, its loginuid (set here if unset and allowed),
 * the nice of its autogroup (it starts a session: an autogroup of its own),
 * and the name of every thread.
 */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <unistd.h>

#include "test/lib/test.h"

static int read_file(const char *path, char *buf, size_t len)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -1;
	ssize_t n = read(fd, buf, len - 1);
	close(fd);
	if (n < 0)
		return -1;
	buf[n] = 0;
	buf[strcspn(buf, "\n")] = 0;
	return 0;
}

static int write_file(const char *path, const char *s)
{
	int fd = open(path, O_WRONLY | O_CLOEXEC);
	if (fd < 0)
		return -1;
	ssize_t n = write(fd, s, strlen(s));
	close(fd);
	return n == (ssize_t)strlen(s) ? 0 : -1;
}

static void *worker(void *arg)
{
	prctl(PR_SET_NAME, arg);
	for (;;)
		pause();
	return NULL;
}

int main(int argc, char **argv)
{
	char oom[32], login[32], ag[64], ag_after[64], buf[64];
	pthread_t th[2];
	static char *names[2] = { "tun-worker-one", "tun-worker-2" };

	test_init(argc, argv);
	if (setsid() < 0)
		fail("setsid: %m");
	if (write_file("/proc/self/oom_score_adj", "345") || read_file("/proc/self/oom_score_adj", oom, sizeof(oom)))
		fail("oom_score_adj: %m");
	if (read_file("/proc/self/loginuid", login, sizeof(login)))
		fail("loginuid: %m");
	if (!strcmp(login, "4294967295") && !write_file("/proc/self/loginuid", "4321"))
		read_file("/proc/self/loginuid", login, sizeof(login));
	ag[0] = 0;
	if (!access("/proc/self/autogroup", F_OK) &&
	    (write_file("/proc/self/autogroup", "7") || read_file("/proc/self/autogroup", ag, sizeof(ag))))
		fail("autogroup: %m");
	prctl(PR_SET_NAME, "tun-main");
	for (int i = 0; i < 2; i++)
		if (pthread_create(&th[i], NULL, worker, names[i]))
			fail("pthread_create");
	usleep(10000);
	test_msg("oom_score_adj %s loginuid %s autogroup '%s'", oom, login, ag);
	test_ready();
	test_wait_checkpoint();

	if (read_file("/proc/self/oom_score_adj", buf, sizeof(buf)) || strcmp(buf, oom))
		fail("oom_score_adj is %s, was %s", buf, oom);
	if (read_file("/proc/self/loginuid", buf, sizeof(buf)) || strcmp(buf, login))
		fail("loginuid is %s, was %s", buf, login);
	if (ag[0]) {
		/* "/autogroup-N nice 7": the number is the kernel's, the nice ours */
		if (read_file("/proc/self/autogroup", ag_after, sizeof(ag_after)))
			fail("autogroup: %m");
		if (strcmp(strstr(ag_after, " nice ") ?: "", strstr(ag, " nice ") ?: "x"))
			fail("autogroup is '%s', was '%s'", ag_after, ag);
	}
	if (prctl(PR_GET_NAME, buf) || strcmp(buf, "tun-main"))
		fail("main thread's name is %s", buf);
	for (int i = 0; i < 2; i++) {
		if (pthread_getname_np(th[i], buf, sizeof(buf)) || strcmp(buf, names[i]))
			fail("thread %d's name is %s, was %s", i, buf, names[i]);
	}
	pass();
}
