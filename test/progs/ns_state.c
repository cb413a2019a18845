/*
 * ns_state: a program made to run inside namespaces (test/ns.sh starts it
 * under `unshare`).  With no argument it records its pid and hostname,
 * waits for the checkpoint and checks both are unchanged.
 *
 * "pidns": it is the init of a pid namespace (pid 1) and makes a tree in
 * it: child A, and under A, after A's unshare(CLONE_NEWPID), B, the
 * init of a nested pid namespace, and B's child C with a second thread.  After the restore every process checks its pid, its parent's
 * pid and each thread its tid, as it saw them before; A forks once more:
 * the new child must land in the nested namespace (A's namespace for
 * children); and the root reaps A as before.  Without a /proc of its own
 * namespace it only uses getpid/getppid/gettid.
 *
 * "outer": the same under a parent that made the namespace
 * (unshare(CLONE_NEWPID), fork) and waits for its init.
 */
#include <errno.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "test.h"

enum { P_ROOT, P_A, P_B, P_C, P_C_THREAD, P_D, NPROC };
static const char *const names[NPROC] = { "root", "A", "B", "C", "C's thread", "D" };

struct shared {
	volatile int ready;		/* processes that have set up */
	volatile int go;		/* set by the root after the checkpoint */
	volatile int result[NPROC];	/* 1 ok, 2 failed */
	volatile pid_t pid[NPROC], ppid[NPROC];	/* as each saw itself before */
	char why[NPROC][160];
};
static struct shared *sh;

static void report(int who, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void report(int who, const char *fmt, ...)
{
	va_list ap;
	if (fmt) {
		va_start(ap, fmt);
		vsnprintf(sh->why[who], sizeof(sh->why[who]), fmt, ap);
		va_end(ap);
	}
	__sync_synchronize();
	sh->result[who] = fmt ? 2 : 1;
}

static void record(int who)
{
	sh->pid[who] = who == P_C_THREAD ? (pid_t)syscall(SYS_gettid) : getpid();
	sh->ppid[who] = getppid();
	__sync_fetch_and_add(&sh->ready, 1);
}

static void await_go(void)
{
	while (!sh->go)
		usleep(5000);
}

/* the same pid and parent as before the checkpoint */
static void check_ids(int who)
{
	pid_t now = who == P_C_THREAD ? (pid_t)syscall(SYS_gettid) : getpid();
	if (now != sh->pid[who])
		report(who, "%s: pid %d, was %d", names[who], now, sh->pid[who]);
	else if (getppid() != sh->ppid[who])
		report(who, "%s: parent %d, was %d", names[who], getppid(), sh->ppid[who]);
	else
		report(who, NULL);
}

static void *c_thread(void *arg)
{
	(void)arg;
	record(P_C_THREAD);
	await_go();
	check_ids(P_C_THREAD);
	return NULL;
}

static void __attribute__((noreturn)) run_c(void)
{
	pthread_t th;

	if (pthread_create(&th, NULL, c_thread, NULL))
		report(P_C, "C: pthread_create failed");
	record(P_C);
	await_go();
	check_ids(P_C);
	pause();
	_exit(0);
}

static void __attribute__((noreturn)) run_b(void)
{
	if (getpid() != 1)
		report(P_B, "B: pid %d in its new namespace, not 1", getpid());
	pid_t c = fork();
	if (c == 0)
		run_c();
	record(P_B);
	await_go();
	check_ids(P_B);
	pause();	/* killed with its namespace when A's turn comes */
	_exit(0);
}

static void __attribute__((noreturn)) run_a(void)
{
	if (unshare(CLONE_NEWPID))
		report(P_A, "A: unshare(CLONE_NEWPID): %s", strerror(errno));
	pid_t b = fork();
	if (b == 0)
		run_b();
	record(P_A);
	await_go();
	check_ids(P_A);
	/* a child forked now goes into the nested namespace: it sees no parent there */
	pid_t d = fork();
	if (d == 0) {
		sh->pid[P_D] = getpid();
		sh->ppid[P_D] = getppid();
		if (getppid() != 0)
			report(P_D, "D: parent %d seen: not forked into A's namespace for children (pid %d)",
			       getppid(), getpid());
		else
			report(P_D, NULL);
		_exit(0);
	}
	waitpid(d, NULL, 0);
	/* B, C and C's thread report before their namespace ends */
	for (int w = 0; w < 400 && !(sh->result[P_B] && sh->result[P_C] && sh->result[P_C_THREAD]); w++)
		usleep(5000);
	kill(b, SIGKILL);	/* B's namespace ends with it */
	waitpid(b, NULL, 0);
	_exit(0);
}

static void run_pidns(void)
{
	if (getpid() != 1)
		fail("pidns: pid %d, not the init (1) of a pid namespace", getpid());
	sh = mmap(NULL, sizeof(*sh), PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	if (sh == MAP_FAILED)
		fail("mmap: %s", strerror(errno));
	record(P_ROOT);
	pid_t a = fork();
	if (a < 0)
		fail("fork: %s", strerror(errno));
	if (a == 0)
		run_a();
	while (sh->ready < P_D)	/* all but D */
		usleep(5000);
	test_msg("tree ready: A %d, B %d, C %d", sh->pid[P_A], sh->pid[P_B], sh->pid[P_C]);
	test_ready();
	test_wait_checkpoint();
	sh->go = 1;
	check_ids(P_ROOT);
	int st;
	if (waitpid(a, &st, 0) != a)
		fail("waitpid(A %d): %s", a, strerror(errno));
	for (int i = 0; i < NPROC; i++) {
		for (int w = 0; w < 400 && !sh->result[i]; w++)
			usleep(5000);
		if (sh->result[i] != 1)
			fail("%s", sh->result[i] ? sh->why[i] : names[i]);
	}
	if (!WIFEXITED(st) || WEXITSTATUS(st))
		fail("A ended with status %#x", st);
	pass();
}

int main(int argc, char **argv)
{
	char host[256], host_after[256];
	pid_t pid;

	test_init(argc, argv);
	if (argc > 1 && !strcmp(argv[1], "pidns")) {
		run_pidns();
		return 1;
	}
	if (argc > 1 && !strcmp(argv[1], "outer")) {
		/* like unshare --pid --fork: the init's parent, in the outer namespace */
		if (unshare(CLONE_NEWPID))
			fail("unshare(CLONE_NEWPID): %s", strerror(errno));
		pid = fork();
		if (pid < 0)
			fail("fork: %s", strerror(errno));
		if (pid == 0) {
			run_pidns();
			return 1;
		}
		int st;
		while (waitpid(pid, &st, 0) < 0)
			if (errno != EINTR)
				fail("waitpid: %s", strerror(errno));
		return WIFEXITED(st) ? WEXITSTATUS(st) : 1;
	}
	pid = getpid();
	if (gethostname(host, sizeof(host)))
		fail("gethostname: %s", strerror(errno));
	test_msg("pid %d host %s", pid, host);
	test_ready();
	test_wait_checkpoint();
	if (getpid() != pid)
		fail("getpid() is %d, was %d", getpid(), pid);
	if (gethostname(host_after, sizeof(host_after)))
		fail("gethostname: %s", strerror(errno));
	if (strcmp(host, host_after))
		fail("hostname is '%s', was '%s'", host_after, host);
	pass();
}
