/*
 * guard_pages: guard regions (madvise MADV_GUARD_INSTALL) survive the
 * checkpoint: in an 8-page private anonymous mapping full of data, pages
 * 2-3 and 6 are guards; in a private mapping of a file, page 1.  After the
 * restore each guard page faults on a read (SIGSEGV) and shows as a guard
 * in /proc/self/pagemap (bit 58), and every other page holds its data.
 */
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <signal.h>
#include <stdint.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "test/lib/test.h"

#define MADV_GUARD_INSTALL_ 102
#define PG 4096

static sigjmp_buf jb;

static void on_segv(int sig)
{
	(void)sig;
	siglongjmp(jb, 1);
}

static int faults(volatile char *p)
{
	if (sigsetjmp(jb, 1))
		return 1;
	(void)*p;
	return 0;
}

static int pagemap_guard(const void *addr)
{
	uint64_t e = 0;
	int fd = open("/proc/self/pagemap", O_RDONLY);
	if (fd < 0 || pread(fd, &e, 8, (uintptr_t)addr / PG * 8) != 8)
		fail("pagemap: %m");
	close(fd);
	return (e >> 58) & 1;
}

static void check(const char *what, char *m, int npages, const int *guard)
{
	for (int i = 0; i < npages; i++) {
		int f = faults(m + i * PG);
		if (f != guard[i])
			fail("%s page %d: %s after the restore", what, i,
			     guard[i] ? "a guard page that reads" : "faults but was no guard");
		if (guard[i] && !pagemap_guard(m + i * PG))
			fail("%s page %d: not a guard in pagemap", what, i);
		if (!guard[i] && m[i * PG] != (char)(i + 1))
			fail("%s page %d holds %d, not %d", what, i, m[i * PG], i + 1);
	}
}

int main(int argc, char **argv)
{
	static const int ga[8] = { 0, 0, 1, 1, 0, 0, 1, 0 }, gf[3] = { 0, 1, 0 };
	test_init(argc, argv);
	char *a = mmap(NULL, 8 * PG, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (a == MAP_FAILED)
		fail("mmap: %m");
	for (int i = 0; i < 8; i++)
		a[i * PG] = i + 1;
	if (madvise(a + 2 * PG, 2 * PG, MADV_GUARD_INSTALL_) || madvise(a + 6 * PG, PG, MADV_GUARD_INSTALL_)) {
		if (errno == EINVAL)
			skip("no MADV_GUARD_INSTALL on this kernel");
		fail("MADV_GUARD_INSTALL: %m");
	}
	char *path = test_path("file");
	int fd = open(path, O_RDWR | O_CREAT | O_TRUNC, 0600);
	char buf[3 * PG];
	for (int i = 0; i < 3; i++)
		memset(buf + i * PG, i + 1, PG);
	if (fd < 0 || write(fd, buf, sizeof(buf)) != sizeof(buf))
		fail("file: %m");
	char *f = mmap(NULL, 3 * PG, PROT_READ | PROT_WRITE, MAP_PRIVATE, fd, 0);
	close(fd);
	if (f == MAP_FAILED)
		fail("mmap file: %m");
	f[0] = 1;	/* a private copy of page 0, page 2 left in the page cache */
	int file_guard = madvise(f + PG, PG, MADV_GUARD_INSTALL_) == 0;
	signal(SIGSEGV, on_segv);
	test_ready();
	test_wait_checkpoint();

	check("anonymous", a, 8, ga);
	if (file_guard)
		check("file", f, 3, gf);
	pass();
}
