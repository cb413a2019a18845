/*
 * job_stop: job-control stops survive the checkpoint.  Two children stop:
 * A (two threads) by SIGSTOP, whose stop the parent has not collected yet, and B by
 * SIGTSTP, whose stop the parent collected with waitpid(WUNTRACED).  After
 * the restore both must still be stopped (state T), the parent's
 * waitid(WSTOPPED) must report A's stop (by SIGSTOP) and not B's again,
 * and a SIGCONT must let each run on to its exit status.  No SIGCHLD is
 * pending (blocked) at the checkpoint: none may be after (the runner
 * compares ShdPnd).
 */
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "test/lib/test.h"

static char proc_state(pid_t pid)
{
	char path[64], buf[512];
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%d/stat", pid);
	f = fopen(path, "re");
	if (!f)
		return '?';
	size_t n = fread(buf, 1, sizeof(buf) - 1, f);
	fclose(f);
	buf[n] = 0;
	char *p = strrchr(buf, ')');
	return p && p[1] && p[2] ? p[2] : '?';
}

static void *idle(void *arg)
{
	(void)arg;
	for (;;)
		pause();
	return NULL;
}

static pid_t stopper(int sig, int code)
{
	pid_t pid = fork();
	if (pid < 0)
		fail("fork: %m");
	if (pid == 0) {
		pthread_t th;
		/* A has a second thread: the whole group stops and goes on */
		if (sig == SIGSTOP && pthread_create(&th, NULL, idle, NULL))
			_exit(3);
		raise(sig);
		/* runs on only after a SIGCONT */
		_exit(code);
	}
	return pid;
}

static void wait_state(pid_t pid, char want)
{
	for (int i = 0; i < 5000 && proc_state(pid) != want; i++)
		usleep(1000);
	if (proc_state(pid) != want)
		fail("pid %d: state %c, expected %c", pid, proc_state(pid), want);
}

static void check_exit(pid_t pid, int code)
{
	int st;
	if (waitpid(pid, &st, 0) != pid)
		fail("waitpid %d: %m", pid);
	if (!WIFEXITED(st) || WEXITSTATUS(st) != code)
		fail("pid %d: status %#x after SIGCONT, expected exit %d", pid, st, code);
}

int main(int argc, char **argv)
{
	siginfo_t si;
	int st;

	test_init(argc, argv);
	/* SIGCHLD blocked: one the restore made would show as pending */
	sigset_t chld;
	sigemptyset(&chld);
	sigaddset(&chld, SIGCHLD);
	sigprocmask(SIG_BLOCK, &chld, NULL);
	pid_t a = stopper(SIGSTOP, 11);
	pid_t b = stopper(SIGTSTP, 12);
	if (waitpid(b, &st, WUNTRACED) != b || !WIFSTOPPED(st) || WSTOPSIG(st) != SIGTSTP)
		fail("child B did not stop by SIGTSTP (status %#x)", st);
	wait_state(a, 'T');
	/*
	 * the stops' SIGCHLD taken (a stop shows before its SIGCHLD is sent):
	 * none pending at the checkpoint, and the runner requires none after
	 * (its ShdPnd comparison)
	 */
	struct timespec zero = { 0, 0 };
	usleep(50000);
	while (sigtimedwait(&chld, NULL, &zero) == SIGCHLD)
		;
	test_ready();
	test_wait_checkpoint();

	if (proc_state(a) != 'T' || proc_state(b) != 'T')
		fail("children not stopped after the checkpoint: A %c, B %c", proc_state(a),
		     proc_state(b));
	memset(&si, 0, sizeof(si));
	if (waitid(P_PID, a, &si, WSTOPPED | WNOHANG | WNOWAIT))
		fail("waitid A: %m");
	if (si.si_pid != a || si.si_code != CLD_STOPPED || si.si_status != SIGSTOP)
		fail("A's stop report lost (pid %d code %d status %d)", si.si_pid, si.si_code,
		     si.si_status);
	memset(&si, 0, sizeof(si));
	if (waitid(P_PID, b, &si, WSTOPPED | WNOHANG))
		fail("waitid B: %m");
	if (si.si_pid)
		fail("B's stop reported again after it was collected (code %d status %d)",
		     si.si_code, si.si_status);
	if (waitpid(a, &st, WUNTRACED) != a || !WIFSTOPPED(st) || WSTOPSIG(st) != SIGSTOP)
		fail("A's stop report: status %#x", st);
	kill(a, SIGCONT);
	kill(b, SIGCONT);
	check_exit(a, 11);
	check_exit(b, 12);
	pass();
}
