/*
 * file_cow: private file-backed pages modified before a fork stay shared
 * copy-on-write between parent and child.  A 16-page file is mapped
 * MAP_PRIVATE; the parent writes pages 0-7 (anonymous copies of the file's
 * pages), leaves 8-15 as the file's, and forks; the child then writes page
 * 2.  After the checkpoint pages 0, 1 and 3-7 must be the same page frames
 * in both (/proc/PID/pagemap), page 2 the child's own, and every page must
 * hold what each process wrote or the file's data.
 */
#include <fcntl.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

#include "test/lib/test.h"

#define NPG 16
#define PG 4096

static char *map;

static uint64_t pfn_of(pid_t pid, const void *addr)
{
	char path[64];
	uint64_t e = 0;
	snprintf(path, sizeof(path), "/proc/%d/pagemap", pid);
	int fd = open(path, O_RDONLY);
	if (fd < 0)
		return 0;
	if (pread(fd, &e, 8, (uintptr_t)addr / PG * 8) != 8)
		e = 0;
	close(fd);
	return e >> 63 ? e & ((1ULL << 55) - 1) : 0;
}

/* what page pg must hold in the parent (child: page 2 is its own) */
static char expect(int pg, bool child)
{
	if (child && pg == 2)
		return 'c';
	return pg < 8 ? 'p' : 'f';
}

static int check_contents(bool child)
{
	for (int pg = 0; pg < NPG; pg++)
		for (int k = 0; k < PG; k += 512)
			if (map[pg * PG + k] != expect(pg, child))
				return pg + 1;
	return 0;
}

int main(int argc, char **argv)
{
	int go[2], ready[2], st;
	char b;

	test_init(argc, argv);
	int fd = open(test_path("file"), O_RDWR | O_CREAT | O_TRUNC, 0600);
	char page[PG];
	memset(page, 'f', PG);
	for (int pg = 0; pg < NPG; pg++)
		if (fd < 0 || write(fd, page, PG) != PG)
			fail("file: %m");
	map = mmap(NULL, NPG * PG, PROT_READ | PROT_WRITE, MAP_PRIVATE, fd, 0);
	if (map == MAP_FAILED || pipe(go) || pipe(ready))
		fail("setup: %m");
	close(fd);
	memset(map, 'p', 8 * PG);
	for (int pg = 8; pg < NPG; pg++)
		(void)*(volatile char *)(map + pg * PG);	/* the file's pages, mapped */
	pid_t child = fork();
	if (child == 0) {
		memset(map + 2 * PG, 'c', PG);
		if (write(ready[1], "r", 1) != 1 || read(go[0], &b, 1) != 1)
			_exit(10);
		_exit(check_contents(true) ? 20 + check_contents(true) : 0);
	}
	if (read(ready[0], &b, 1) != 1)
		fail("child: %m");
	test_ready();
	test_wait_checkpoint();

	if (check_contents(false))
		fail("parent: page %d is wrong", check_contents(false) - 1);
	for (int pg = 0; pg < 8; pg++) {
		uint64_t mine = pfn_of(getpid(), map + pg * PG), theirs = pfn_of(child, map + pg * PG);
		if (!mine || !theirs)
			fail("page %d: no page frame shown (%lx, %lx)", pg, (unsigned long)mine,
			     (unsigned long)theirs);
		if ((pg == 2) != (mine != theirs))
			fail("page %d: %s", pg, pg == 2 ? "the child's own page is its parent's"
							 : "a copy in the child, not shared copy-on-write");
	}
	if (write(go[1], "g", 1) != 1 || waitpid(child, &st, 0) != child)
		fail("child: %m");
	if (!WIFEXITED(st) || WEXITSTATUS(st))
		fail("child: status %#x (20 + page: a wrong page)", st);
	pass();
}
