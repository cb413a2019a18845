/*
 * memfd_map: memfds mapped MAP_SHARED.
 *
 * "a" (5 pages) is held by an fd and mapped twice: all of it, and pages
 * 2..4 again elsewhere (offset 2 pages); "b" (4 pages) is only mapped (its
 * fd closed).  Before the checkpoint: "a" got pages 0..2 by write(2) and
 * page 1 rewritten through the mapping; "b" is written through its
 * mapping.  After restore: the contents, the size of "a", and that the fd
 * and both mappings of "a" are one object (a write through one shows in
 * the others) and the maps name them as memfds.
 * Also a MAP_SHARED|MAP_ANONYMOUS area whose page 2 only a child (gone
 * since) wrote: the page is in the object, not in this process's page
 * tables, and must come back.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "test/lib/test.h"

#define PG 4096

static uint8_t pat(int obj, int page) { return (uint8_t)test_mix(obj * 100 + page + 5); }

static void check_page(const uint8_t *p, uint8_t want, const char *what, int page)
{
	for (int k = 0; k < PG; k += 64)
		if (p[k] != want)
			fail("%s page %d byte %d: %u, want %u", what, page, k, p[k], want);
}

int main(int argc, char **argv)
{
	test_init(argc, argv);
	int a = memfd_create("a", MFD_CLOEXEC), b = memfd_create("b", 0);
	if (a < 0 || b < 0)
		fail("memfd_create: %s", strerror(errno));
	uint8_t page[PG];
	for (int i = 0; i < 3; i++) {
		memset(page, pat(1, i), PG);
		if (write(a, page, PG) != PG)
			fail("write a: %s", strerror(errno));
	}
	if (ftruncate(a, 5 * PG) || ftruncate(b, 4 * PG))
		fail("ftruncate: %s", strerror(errno));
	uint8_t *ma = mmap(NULL, 5 * PG, PROT_READ | PROT_WRITE, MAP_SHARED, a, 0);
	uint8_t *ma2 = mmap(NULL, 3 * PG, PROT_READ | PROT_WRITE, MAP_SHARED, a, 2 * PG);
	uint8_t *mb = mmap(NULL, 4 * PG, PROT_READ | PROT_WRITE, MAP_SHARED, b, 0);
	if (ma == MAP_FAILED || ma2 == MAP_FAILED || mb == MAP_FAILED)
		fail("mmap: %s", strerror(errno));
	close(b);
	uint8_t *mc = mmap(NULL, 4 * PG, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	if (mc == MAP_FAILED)
		fail("mmap c: %s", strerror(errno));
	pid_t child = fork();
	if (child == 0) {
		memset(mc + 2 * PG, pat(4, 2), PG);
		_exit(0);
	}
	if (child < 0 || waitpid(child, NULL, 0) != child)
		fail("fork/wait: %s", strerror(errno));
	memset(ma + PG, pat(2, 1), PG);
	for (int i = 0; i < 4; i++)
		memset(mb + i * PG, pat(3, i), PG);

	test_ready();
	test_wait_checkpoint();

	check_page(ma, pat(1, 0), "a", 0);
	check_page(ma + PG, pat(2, 1), "a", 1);
	check_page(ma + 2 * PG, pat(1, 2), "a", 2);
	check_page(ma + 3 * PG, 0, "a", 3);
	check_page(ma2, pat(1, 2), "a at offset 2", 0);
	for (int i = 0; i < 4; i++)
		check_page(mb + i * PG, pat(3, i), "b", i);
	check_page(mc + 2 * PG, pat(4, 2), "shared anonymous c (written by a child)", 2);
	struct stat st;
	if (fstat(a, &st) || st.st_size != 5 * PG)
		fail("a: size %ld, want %d", (long)st.st_size, 5 * PG);
	/* one object: fd, first and second mapping */
	memset(page, 0x77, PG);
	if (pwrite(a, page, PG, 3 * PG) != PG)
		fail("pwrite a: %s", strerror(errno));
	check_page(ma + 3 * PG, 0x77, "a (written by fd) through the mapping", 3);
	check_page(ma2 + PG, 0x77, "a (written by fd) through the second mapping", 1);
	ma2[2 * PG] = 0x55;
	if (pread(a, page, 1, 4 * PG) != 1 || page[0] != 0x55 || ma[4 * PG] != 0x55)
		fail("a: a write through the second mapping is not seen by the fd or the first");
	char path[256];
	if (test_find_mapping(mb, NULL, NULL, NULL, path, sizeof(path)) ||
	    strcmp(path, "/memfd:b (deleted)"))
		fail("b is mapped as '%s'", path);
	pass();
}
