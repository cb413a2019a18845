/*
 * tree: a process tree, three levels below the root, with sessions,
 * process groups, zombies and memory shared by all of it.
 *
 *   root (the test's pid; zombie Z0 exited with 3)
 *   +- A: session leader (setsid); zombie child ZA exited with 7
 *   |  +- A1: leader of its own group
 *   |  |  +- A1a: in A1's group, PR_SET_PDEATHSIG
 *   |  +- A2: in A1's group (a group led by its sibling)
 *   +- B: its own group in the root's session; zombie child ZB killed by SIGTERM
 *
 * "tree epoll": an epoll instance made before the forks is held by every
 * process (epoll shared between processes is not supported): the dump
 * must be refused, the tree left running.
 * "tree cwd DIR": A1a works in DIR (a restore fails once DIR is gone).
 *
 * Every process checks after the restore, by itself: its pid, parent,
 * session and group, its private memory (a pattern written by the root
 * before the forks, partly rewritten by the process after), that a value
 * the root writes into a MAP_SHARED|MAP_ANONYMOUS area after the restore
 * is what it reads (one object, not copies), that the private pages
 * neither it nor its parent rewrote are still its parent's very pages
 * (shared copy-on-write: the same page frames), and that its zombie child
 * reaps with the right status.  They report into the shared area; the
 * root passes when every one has.
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/epoll.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "test/lib/test.h"

enum { P_ROOT, P_A, P_A1, P_A1A, P_A2, P_B, NPROC };
static const char *const names[NPROC] = { "root", "A", "A1", "A1a", "A2", "B" };

#define PRIV_PAGES	64
#define RESULT_OK	1
#define RESULT_FAIL	2

struct shared {
	volatile int setup;		/* processes that have finished setting up */
	volatile int go;		/* set by the root after the restore */
	volatile int done;		/* set by the root when every one reported */
	volatile uint64_t token;	/* written by the root after the restore */
	volatile uint64_t echo[NPROC];	/* each writes token ^ its index back */
	volatile int result[NPROC];
	volatile pid_t pid[NPROC];
	volatile pid_t zombie[NPROC];	/* the zombie child of a process, if any */
	char why[NPROC][160];
};

static struct shared *sh;
static uint8_t *priv;
static const char *a1a_dir;	/* "cwd DIR" */
static int shared_ep = -1;	/* "epoll" */

static uint8_t pattern(int page, int who)
{
	return (uint8_t)test_mix(page * 131 + who * 7 + 1);
}

static void sleep_ms(int ms)
{
	struct timespec t = { 0, ms * 1000000L };
	nanosleep(&t, NULL);
}

/* a child that dies at once with this status, never reaped until the end */
static pid_t make_zombie(int code, int sig)
{
	pid_t z = fork();
	if (z == 0) {
		if (sig) {
			signal(sig, SIG_DFL);
			kill(getpid(), sig);
		}
		_exit(code);
	}
	/* wait until it is dead, without reaping it */
	siginfo_t si;
	while (waitid(P_PID, z, &si, WEXITED | WNOWAIT) && errno == EINTR)
		;
	return z;
}

/* the part of the private memory this process rewrites after the fork */
static void own_pages(int who)
{
	for (int pg = who * 8; pg < who * 8 + 8; pg++)
		memset(priv + pg * 4096, pattern(pg, who), 4096);
}

static int check_priv(int who, char *why, size_t len)
{
	for (int pg = 0; pg < PRIV_PAGES; pg++) {
		bool own = pg >= who * 8 && pg < who * 8 + 8 && who != P_ROOT;
		uint8_t want = pattern(pg, own ? who : P_ROOT);
		for (int k = 0; k < 4096; k += 512)
			if (priv[pg * 4096 + k] != want) {
				snprintf(why, len, "private page %d byte %d is %u, want %u", pg, k,
					 priv[pg * 4096 + k], want);
				return -1;
			}
	}
	return 0;
}

static int check_zombie(int who, int want_code, int want_sig, char *why, size_t len)
{
	int st;
	pid_t z = sh->zombie[who];
	char path[64], comm[32] = "";

	/* still a zombie, under its name */
	snprintf(path, sizeof(path), "/proc/%d/stat", z);
	FILE *f = fopen(path, "r");
	char state = 0;
	if (!f || fscanf(f, "%*d (%31[^)]) %c", comm, &state) != 2 || state != 'Z' ||
	    strcmp(comm, "tree")) {
		snprintf(why, len, "child %d is not a zombie named tree (%s, state %c)", z, comm,
			 state ? state : '?');
		if (f)
			fclose(f);
		return -1;
	}
	fclose(f);
	if (waitpid(z, &st, 0) != z) {
		snprintf(why, len, "waitpid(zombie %d): %s", z, strerror(errno));
		return -1;
	}
	if (want_sig ? !WIFSIGNALED(st) || WTERMSIG(st) != want_sig
		     : !WIFEXITED(st) || WEXITSTATUS(st) != want_code) {
		snprintf(why, len, "zombie %d reaped with status %#x", z, st);
		return -1;
	}
	return 0;
}

/* the page frame of addr in pid's memory (0 if not present or not shown) */
static uint64_t pfn_of(pid_t pid, const void *addr)
{
	char path[64];
	uint64_t e = 0;
	snprintf(path, sizeof(path), "/proc/%d/pagemap", pid);
	int fd = open(path, O_RDONLY);
	if (fd < 0)
		return 0;
	if (pread(fd, &e, 8, (uintptr_t)addr / 4096 * 8) != 8)
		e = 0;
	close(fd);
	return e >> 63 ? e & ((1ULL << 55) - 1) : 0;
}

/*
 * The private pages neither it nor its parent wrote after the fork are
 * still its parent's (copy-on-write), not copies: the same page frames.
 */
static int check_shared_pages(int who, int parent, char *why, size_t len)
{
	for (int pg = 0; pg < PRIV_PAGES; pg++) {
		if ((pg >= who * 8 && pg < who * 8 + 8) ||
		    (parent != P_ROOT && pg >= parent * 8 && pg < parent * 8 + 8))
			continue;
		uint64_t mine = pfn_of(getpid(), priv + pg * 4096);
		uint64_t theirs = pfn_of(sh->pid[parent], priv + pg * 4096);
		if (!mine && !theirs)
			continue;	/* page frames not shown (no CAP_SYS_ADMIN) */
		if (mine != theirs)
			return snprintf(why, len, "private page %d is a copy, not its parent's (%s)", pg,
					"copy-on-write sharing lost"), -1;
	}
	return 0;
}

/* the checks of one non-root process after the restore */
static int check_self(int who, pid_t ppid, pid_t sid, pid_t pgid, char *why, size_t len)
{
	if (getpid() != sh->pid[who])
		return snprintf(why, len, "pid %d, was %d", getpid(), sh->pid[who]), -1;
	if (getppid() != ppid)
		return snprintf(why, len, "parent %d, want %d", getppid(), ppid), -1;
	if (getsid(0) != sid)
		return snprintf(why, len, "session %d, want %d", getsid(0), sid), -1;
	if (getpgrp() != pgid)
		return snprintf(why, len, "group %d, want %d", getpgrp(), pgid), -1;
	if (check_priv(who, why, len))
		return -1;
	static const int parent_of[NPROC] = { -1, P_ROOT, P_A, P_A1, P_A, P_ROOT };
	if (check_shared_pages(who, parent_of[who], why, len))
		return -1;
	if (who == P_A && check_zombie(who, 7, 0, why, len))
		return -1;
	if (who == P_B && check_zombie(who, 0, SIGTERM, why, len))
		return -1;
	if (who == P_A1A) {
		int sig = 0;
		prctl(PR_GET_PDEATHSIG, &sig);
		if (sig != SIGKILL)
			return snprintf(why, len, "pdeathsig %d, want SIGKILL", sig), -1;
	}
	return 0;
}

/* a non-root process: set up, report, wait for the root's go, check, report */
static void __attribute__((noreturn)) member(int who, pid_t ppid, pid_t sid, pid_t pgid)
{
	sh->pid[who] = getpid();
	own_pages(who);
	__sync_fetch_and_add(&sh->setup, 1);
	while (!sh->go)
		sleep_ms(2);
	/* the root wrote a token after the restore: it must be visible here */
	uint64_t tok;
	while (!(tok = sh->token))
		sleep_ms(1);
	sh->echo[who] = tok ^ (uint64_t)who;
	char why[160] = "";
	int r = check_self(who, ppid, sid, pgid, why, sizeof(why));
	if (r)
		snprintf(sh->why[who], sizeof(sh->why[who]), "%s", why);
	sh->result[who] = r ? RESULT_FAIL : RESULT_OK;
	/* parents stay until every child has checked who its parent is */
	while (!sh->done)
		sleep_ms(2);
	_exit(0);
}

/* whatever the root's end, the others end too */
static void release_all(void)
{
	if (sh && getpid() == sh->pid[P_ROOT])
		sh->done = 1;
}

static void quiet_stdio(void)
{
	/* stdout is the test's log, not opened for appending: not shared */
	int fd = open("/dev/null", O_RDWR);
	dup2(fd, 1);
	dup2(fd, 2);
	close(fd);
}

static void start_a(void)
{
	if (fork())
		return;
	quiet_stdio();
	setsid();
	pid_t a = getpid();
	sh->zombie[P_A] = make_zombie(7, 0);
	pid_t a1 = fork();
	if (a1 == 0) {
		setpgid(0, 0);
		sh->pid[P_A1] = getpid();
		if (fork() == 0) {
			prctl(PR_SET_PDEATHSIG, SIGKILL);
			if (a1a_dir && chdir(a1a_dir))
				fail("chdir %s: %s", a1a_dir, strerror(errno));
			member(P_A1A, sh->pid[P_A1], a, sh->pid[P_A1]);
		}
		member(P_A1, a, a, getpid());
	}
	setpgid(a1, a1);	/* the child may not have run yet */
	if (fork() == 0) {
		setpgid(0, a1);
		member(P_A2, a, a, a1);
	}
	member(P_A, getppid(), a, a);
}

static void start_b(pid_t root_sid)
{
	if (fork())
		return;
	quiet_stdio();
	setpgid(0, 0);
	sh->zombie[P_B] = make_zombie(0, SIGTERM);
	member(P_B, getppid(), root_sid, getpid());
}

int main(int argc, char **argv)
{
	test_init(argc, argv);
	if (argc > 1 && !strcmp(argv[1], "epoll") && (shared_ep = epoll_create1(0)) < 0)
		fail("epoll_create1: %s", strerror(errno));
	if (argc > 2 && !strcmp(argv[1], "cwd"))
		a1a_dir = argv[2];
	sh = mmap(NULL, sizeof(*sh), PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	priv = mmap(NULL, PRIV_PAGES * 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (sh == MAP_FAILED || priv == MAP_FAILED)
		fail("mmap: %s", strerror(errno));
	for (int pg = 0; pg < PRIV_PAGES; pg++)
		memset(priv + pg * 4096, pattern(pg, P_ROOT), 4096);
	sh->pid[P_ROOT] = getpid();
	atexit(release_all);
	pid_t sid = getsid(0), pgid = getpgrp();

	sh->zombie[P_ROOT] = make_zombie(3, 0);
	start_a();
	start_b(sid);
	for (int i = 0; sh->setup < NPROC - 1; i++) {
		if (i > 5000)
			fail("children did not set up (%d of %d)", sh->setup, NPROC - 1);
		sleep_ms(1);
	}
	test_msg("pids %d %d %d %d %d %d", sh->pid[0], sh->pid[1], sh->pid[2], sh->pid[3], sh->pid[4],
		 sh->pid[5]);
	test_ready();
	test_wait_checkpoint();

	sh->go = 1;
	uint64_t tok = test_mix((uint64_t)time(NULL) ^ 0x5eed);
	sh->token = tok | 1;
	for (int i = 1; i < NPROC; i++) {
		for (int k = 0; !sh->result[i]; k++) {
			if (k > 10000)
				fail("%s (pid %d) did not report after the restore", names[i], sh->pid[i]);
			sleep_ms(1);
		}
		if (sh->result[i] != RESULT_OK)
			fail("%s (pid %d): %s", names[i], sh->pid[i], sh->why[i]);
		if (sh->echo[i] != ((tok | 1) ^ (uint64_t)i))
			fail("%s: the shared area is not shared after the restore (echo %llx)",
			     names[i], (unsigned long long)sh->echo[i]);
	}
	sh->done = 1;
	char why[160];
	if (getsid(0) != sid || getpgrp() != pgid)
		fail("root: session %d group %d, want %d %d", getsid(0), getpgrp(), sid, pgid);
	if (check_priv(P_ROOT, why, sizeof(why)) || check_zombie(P_ROOT, 3, 0, why, sizeof(why)))
		fail("root: %s", why);
	pass();
}
