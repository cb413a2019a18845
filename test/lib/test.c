/* test.c - the test programs' library (test.h). */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <errno.h>
#include <ftw.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "test/lib/test.h"

static const char *prog_name = "test";
static char tmpdir[4096];
static pid_t tmpdir_owner;

void test_init(int argc, char **argv)
{
	sigset_t set;

	if (argc > 0 && argv[0]) {
		const char *b = strrchr(argv[0], '/');
		prog_name = b ? b + 1 : argv[0];
	}
	if (close_range(3, ~0U, 0)) {
		/* older kernels: close them one by one */
		long max = sysconf(_SC_OPEN_MAX);
		for (long fd = 3; fd < max; fd++)
			close(fd);
	}
	sigemptyset(&set);
	sigaddset(&set, SIGUSR1);
	if (sigprocmask(SIG_BLOCK, &set, NULL))
		fail("sigprocmask(SIG_BLOCK, SIGUSR1): %s", strerror(errno));
}

void test_ready(void)
{
	printf("READY\n");
	fflush(stdout);
}

void test_wait_checkpoint(void)
{
	sigset_t set;
	siginfo_t si;

	sigemptyset(&set);
	sigaddset(&set, SIGUSR1);
	for (;;) {
		int sig = sigwaitinfo(&set, &si);
		if (sig == SIGUSR1)
			return;
		if (sig < 0 && errno != EINTR)
			fail("sigwaitinfo: %s", strerror(errno));
	}
}

void pass(void)
{
	printf("PASS\n");
	fflush(stdout);
	exit(0);
}

void fail(const char *fmt, ...)
{
	va_list ap;

	fflush(stdout);
	printf("FAIL: ");
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	printf("\n");
	fflush(stdout);
	exit(1);
}

void skip(const char *fmt, ...)
{
	va_list ap;

	fflush(stdout);
	printf("SKIP: ");
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	printf("\n");
	fflush(stdout);
	exit(77);
}

void test_msg(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	printf("\n");
	fflush(stdout);
}

static int rm_one(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	(void)st; (void)flag; (void)ftw;
	remove(path);
	return 0;
}

static void tmpdir_cleanup(void)
{
	/* only the process that made it (a forked child must not remove it) */
	if (tmpdir[0] && getpid() == tmpdir_owner)
		nftw(tmpdir, rm_one, 16, FTW_DEPTH | FTW_PHYS);
}

const char *test_tmpdir(void)
{
	if (tmpdir[0])
		return tmpdir;
	const char *base = getenv("TEST_TMPDIR");
	if (!base || !*base)
		base = "/tmp";
	snprintf(tmpdir, sizeof(tmpdir), "%s/ckpt-test-%s-XXXXXX", base, prog_name);
	if (!mkdtemp(tmpdir)) {
		int e = errno;
		char copy[sizeof(tmpdir)];
		memcpy(copy, tmpdir, sizeof(copy));
		tmpdir[0] = 0;
		fail("mkdtemp(%s): %s", copy, strerror(e));
	}
	tmpdir_owner = getpid();
	atexit(tmpdir_cleanup);
	return tmpdir;
}

char *test_path(const char *name)
{
	char *p;
	if (asprintf(&p, "%s/%s", test_tmpdir(), name) < 0)
		fail("asprintf: out of memory");
	return p;
}

int test_find_mapping(const void *addr, uintptr_t *start, uintptr_t *end,
		      char perms[5], char *path, size_t pathlen)
{
	FILE *f = fopen("/proc/self/maps", "re");
	char line[4096];
	uintptr_t a = (uintptr_t)addr;
	int ret = -1;

	if (!f)
		fail("open /proc/self/maps: %s", strerror(errno));
	while (fgets(line, sizeof(line), f)) {
		unsigned long s, e;
		char p[5];
		int off = 0;

		if (sscanf(line, "%lx-%lx %4s %*s %*s %*s %n", &s, &e, p, &off) < 3)
			continue;
		if (a < s || a >= e)
			continue;
		if (start)
			*start = s;
		if (end)
			*end = e;
		if (perms)
			memcpy(perms, p, 5);
		if (path && pathlen) {
			char *nl = strchr(line, '\n');
			if (nl)
				*nl = 0;
			snprintf(path, pathlen, "%s", off ? line + off : "");
		}
		ret = 0;
		break;
	}
	fclose(f);
	return ret;
}

int test_port(int n)
{
	const char *e = getenv("TEST_PORT");
	int base = e ? atoi(e) : 0;
	if (base < 1024 || base > 32000)
		base = 20000 + getpid() % 1000 * 10;
	return base + n;
}
