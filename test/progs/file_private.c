/*
 * file_private: a MAP_PRIVATE mapping of a temp file, some pages modified
 * (copy-on-write), some only read, some never touched.  After restore the
 * modified pages hold the new data, the others the file's data, and the
 * file itself is unchanged.  The file stays in place until exit.
 */
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "test/lib/test.h"

#define PAGE	4096UL
#define NPAGES	16

static int modified(size_t i) { return i == 1 || i == 5 || i == 6 || i == 15; }

static unsigned char file_byte(size_t off) { return (unsigned char)(test_mix(off / 8) >> (off % 8 * 8)); }
static unsigned char new_byte(size_t off) { return (unsigned char)(off * 7 + 0x33) ^ 0xa5; }

int main(int argc, char **argv)
{
	static unsigned char buf[NPAGES * PAGE];
	test_init(argc, argv);
	char *path = test_path("mapped-file");

	for (size_t o = 0; o < sizeof(buf); o++)
		buf[o] = file_byte(o);
	int fd = open(path, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
	if (fd < 0)
		fail("create %s: %s", path, strerror(errno));
	if (write(fd, buf, sizeof(buf)) != (ssize_t)sizeof(buf))
		fail("write %s: %s", path, strerror(errno));
	struct stat st0;
	if (fstat(fd, &st0))
		fail("fstat: %s", strerror(errno));
	unsigned char *m = mmap(NULL, sizeof(buf), PROT_READ | PROT_WRITE, MAP_PRIVATE, fd, 0);
	if (m == MAP_FAILED)
		fail("mmap %s: %s", path, strerror(errno));
	close(fd);	/* the mapping alone keeps it */

	volatile unsigned char sink = 0;
	for (size_t i = 0; i < NPAGES; i++) {
		if (modified(i))
			for (size_t o = i * PAGE; o < (i + 1) * PAGE; o++)
				m[o] = new_byte(o);
		else if (i % 2 == 0)
			sink += m[i * PAGE + 17];	/* read-faulted, not copied */
	}
	(void)sink;
	test_msg("mapping %p of %s", (void *)m, path);

	test_ready();
	test_wait_checkpoint();

	char perms[5], mpath[4096];
	uintptr_t s, e;
	if (test_find_mapping(m, &s, &e, perms, mpath, sizeof(mpath)))
		fail("no mapping holds %p any more", (void *)m);
	if (strcmp(mpath, path))
		fail("mapping at %p shows path '%s', expected '%s'", (void *)m, mpath, path);
	if (strcmp(perms, "rw-p"))
		fail("mapping perms %s, expected rw-p", perms);
	if (s > (uintptr_t)m || e < (uintptr_t)m + sizeof(buf))
		fail("mapping %lx-%lx does not cover the file's %zu bytes", (unsigned long)s,
		     (unsigned long)e, sizeof(buf));

	for (size_t o = 0; o < sizeof(buf); o++) {
		size_t i = o / PAGE;
		unsigned char want = modified(i) ? new_byte(o) : file_byte(o);
		if (m[o] != want)
			fail("%s page %zu offset %zu: 0x%02x, expected 0x%02x (%s)", path, i, o % PAGE,
			     m[o], want, modified(i) ? "modified page" : "file data");
	}

	/* the file itself must be untouched by the private writes */
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		fail("reopen %s: %s", path, strerror(errno));
	struct stat st1;
	if (fstat(fd, &st1))
		fail("fstat: %s", strerror(errno));
	if (st1.st_ino != st0.st_ino || st1.st_size != st0.st_size)
		fail("%s changed: inode %lu size %ld, was inode %lu size %ld", path,
		     (unsigned long)st1.st_ino, (long)st1.st_size, (unsigned long)st0.st_ino,
		     (long)st0.st_size);
	memset(buf, 0, sizeof(buf));
	if (pread(fd, buf, sizeof(buf), 0) != (ssize_t)sizeof(buf))
		fail("read back %s: %s", path, strerror(errno));
	for (size_t o = 0; o < sizeof(buf); o++)
		if (buf[o] != file_byte(o))
			fail("%s was written through the private mapping at offset %zu", path, o);
	close(fd);

	/* the mapping must still be backed by the file: a write to the file shows
	 * in pages that were never copied */
	fd = open(path, O_WRONLY | O_CLOEXEC);
	unsigned char x = file_byte(3 * PAGE + 9) ^ 0xff;
	if (fd < 0 || pwrite(fd, &x, 1, 3 * PAGE + 9) != 1)
		fail("write to %s: %s", path, strerror(errno));
	close(fd);
	if (m[3 * PAGE + 9] != x)
		fail("page 3 of the mapping does not follow the file (not a file mapping any more?)");
	pass();
}
