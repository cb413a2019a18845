/*
 * thread_owners: files whose signal-driven I/O goes to one thread
 * (F_SETOWN_EX F_OWNER_TID), to the process (F_OWNER_PID) and to its
 * process group (F_OWNER_PGRP, a group of its own), each with O_ASYNC and
 * F_SETSIG.  After
 * the restore the owners are the same (the thread's tid, the pid, the
 * group) and a write into the thread's pipe raises its signal in that
 * thread: it takes it with sigwaitinfo (the main thread blocks it); one
 * into the process's pipe raises its signal for the process (a file
 * opened with O_ASYNC is not registered for signal-driven I/O: restore
 * must set it with F_SETFL).
 */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <string.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include "test/lib/test.h"

static volatile pid_t thread_tid;
static volatile int got;	/* 1: the thread took its signal from fd tp[0] */
static int tp[2];

static void *thread_fn(void *arg)
{
	sigset_t s;
	siginfo_t si = { 0 };

	(void)arg;
	sigemptyset(&s);
	sigaddset(&s, SIGRTMIN + 1);
	thread_tid = syscall(SYS_gettid);
	while (sigwaitinfo(&s, &si) < 0 && errno == EINTR)
		;
	got = si.si_signo == SIGRTMIN + 1 && si.si_fd == tp[0] ? 1 : 2;
	if (got != 1)
		test_msg("the thread took signal %d for fd %d", si.si_signo, si.si_fd);
	return NULL;
}

static void owner(int fd, int type, pid_t pid, int sig)
{
	struct f_owner_ex o = { type, pid };
	if (fcntl(fd, F_SETOWN_EX, &o) || fcntl(fd, F_SETSIG, sig) ||
	    fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_ASYNC))
		fail("owner of fd %d: %s", fd, strerror(errno));
}

static void check(int fd, int type, pid_t pid, int sig, const char *what)
{
	struct f_owner_ex o;
	if (fcntl(fd, F_GETOWN_EX, &o) || (int)o.type != type || o.pid != pid)
		fail("%s: owner %d/%d, was %d/%d", what, o.type, o.pid, type, pid);
	if (fcntl(fd, F_GETSIG) != sig)
		fail("%s: signal %d, was %d", what, fcntl(fd, F_GETSIG), sig);
}

int main(int argc, char **argv)
{
	int pp[2], gp[2];
	pthread_t th;
	sigset_t s;

	test_init(argc, argv);
	/* a group of its own: the group's pipe signals it alone (not the runner) */
	if (setpgid(0, 0))
		fail("setpgid: %s", strerror(errno));
	sigemptyset(&s);
	sigaddset(&s, SIGRTMIN + 1);
	sigaddset(&s, SIGRTMIN + 2);
	sigaddset(&s, SIGRTMIN + 3);
	pthread_sigmask(SIG_BLOCK, &s, NULL);	/* the thread inherits the mask */
	if (pipe(tp) || pipe(pp) || pipe(gp))
		fail("pipe: %s", strerror(errno));
	if (pthread_create(&th, NULL, thread_fn, NULL))
		fail("pthread_create");
	while (!thread_tid)
		usleep(1000);
	owner(tp[0], F_OWNER_TID, thread_tid, SIGRTMIN + 1);
	owner(pp[0], F_OWNER_PID, getpid(), SIGRTMIN + 2);
	owner(gp[0], F_OWNER_PGRP, getpgrp(), SIGRTMIN + 3);
	test_ready();
	test_wait_checkpoint();

	check(tp[0], F_OWNER_TID, thread_tid, SIGRTMIN + 1, "the thread's pipe");
	check(pp[0], F_OWNER_PID, getpid(), SIGRTMIN + 2, "the process's pipe");
	check(gp[0], F_OWNER_PGRP, getpgrp(), SIGRTMIN + 3, "the group's pipe");
	if (write(tp[1], "x", 1) != 1)
		fail("write: %s", strerror(errno));
	pthread_join(th, NULL);
	if (got != 1)
		fail("the thread did not get its signal from its pipe");
	sigset_t ps;
	siginfo_t si;
	struct timespec ts = { 5, 0 };
	sigemptyset(&ps);
	sigaddset(&ps, SIGRTMIN + 2);
	if (write(pp[1], "y", 1) != 1)
		fail("write: %s", strerror(errno));
	if (sigtimedwait(&ps, &si, &ts) != SIGRTMIN + 2 || si.si_fd != pp[0])
		fail("no signal-driven I/O signal from the process's pipe (%s)", strerror(errno));
	pass();
}
