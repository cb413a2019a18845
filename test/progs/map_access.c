/*
 * map_access: shared mappings of files keep the access of the open file
 * they were made from.  One file opened read-write is mapped shared twice,
 * read-only and read-write; another, opened read-only, is mapped shared
 * read-only; then the fds are closed.  After the checkpoint the read-only
 * mapping of the read-write file must still be mprotect-able to writing
 * (and a write through it reach the file), and the read-only file's
 * mapping must still refuse it (EACCES).
 */
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "test/lib/test.h"

#define LEN (2 * PAGE_SIZE_4K)

int main(int argc, char **argv)
{
	char buf[8];

	test_init(argc, argv);
	int rw = open(test_path("rw"), O_RDWR | O_CREAT | O_TRUNC, 0600);
	int ro = open(test_path("ro"), O_RDWR | O_CREAT | O_TRUNC, 0600);
	if (rw < 0 || ro < 0 || ftruncate(rw, LEN) || ftruncate(ro, LEN))
		fail("files: %m");
	close(ro);
	ro = open(test_path("ro"), O_RDONLY);
	if (ro < 0)
		fail("open ro: %m");
	char *rw_r = mmap(NULL, LEN, PROT_READ, MAP_SHARED, rw, 0);
	char *rw_w = mmap(NULL, LEN, PROT_READ | PROT_WRITE, MAP_SHARED, rw, 0);
	char *ro_r = mmap(NULL, LEN, PROT_READ, MAP_SHARED, ro, 0);
	if (rw_r == MAP_FAILED || rw_w == MAP_FAILED || ro_r == MAP_FAILED)
		fail("mmap: %m");
	memcpy(rw_w, "before", 6);
	close(rw);
	close(ro);
	if (mprotect(ro_r, LEN, PROT_READ | PROT_WRITE) == 0 || errno != EACCES)
		fail("the read-only file's mapping can be made writable before the checkpoint");
	test_ready();
	test_wait_checkpoint();

	if (memcmp(rw_r, "before", 6))
		fail("the read-write file's data is lost");
	if (mprotect(ro_r, LEN, PROT_READ | PROT_WRITE) == 0)
		fail("the read-only file's mapping can be made writable after the checkpoint");
	if (errno != EACCES)
		fail("mprotect of the read-only file's mapping: %m, expected EACCES");
	if (mprotect(rw_r, LEN, PROT_READ | PROT_WRITE))
		fail("the read-only mapping of the read-write file cannot be made writable: %m");
	memcpy(rw_r + PAGE_SIZE_4K, "after", 5);
	if (memcmp(rw_w + PAGE_SIZE_4K, "after", 5))
		fail("the two mappings of the read-write file are no longer one file");
	int fd = open(test_path("rw"), O_RDONLY);
	if (fd < 0 || pread(fd, buf, 5, PAGE_SIZE_4K) != 5 || memcmp(buf, "after", 5))
		fail("a write through the remapped mapping did not reach the file");
	close(fd);
	pass();
}
