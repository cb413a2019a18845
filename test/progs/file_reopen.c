/*
 * file_reopen: one file, two open file descriptions (the second opened
 * through /proc/self/fd), for a memfd and for a deleted file.
 *
 *   fd 3: memfd "reopened", O_RDWR, 64 KiB with a hole at 16-48 KiB,
 *         offset 100
 *   fd 4: the same memfd reopened O_RDONLY, offset 5000
 *   fd 5: a deleted file, O_RDWR, 10 KiB, offset 7
 *   fd 6: the same deleted file reopened O_RDONLY,
 *         offset 9000
 *
 * After restore: each fd keeps its offset and access mode, and the two
 * descriptions are of one file: bytes written through fd 3 (or fd 5) are
 * read through fd 4 (or fd 6), the memfd's hole is still a hole
 * (SEEK_DATA), fstat gives one inode for both.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "test.h"

#define MSIZE (64 * 1024)
#define HOLE_AT (16 * 1024)
#define HOLE_END (48 * 1024)
#define GSIZE (10 * 1024)

static unsigned char pat(size_t i) { return (unsigned char)(test_mix(i / 8 + 99) >> (i % 8 * 8)); }

static void reopen_at(int fd, int flags, int want, off_t pos)
{
	char proc[64];
	snprintf(proc, sizeof(proc), "/proc/self/fd/%d", fd);
	int n = open(proc, flags);
	if (n < 0 || (n != want && (dup2(n, want) != want || close(n))))
		fail("reopen %s: %s", proc, strerror(errno));
	if (lseek(want, pos, SEEK_SET) != pos)
		fail("lseek fd %d: %s", want, strerror(errno));
}

static void check_pair(int rw, int ro, off_t rw_pos, off_t ro_pos, int want_ro_flags, const char *what)
{
	struct stat a, b;
	if (fstat(rw, &a) || fstat(ro, &b) || a.st_ino != b.st_ino || a.st_dev != b.st_dev)
		fail("%s: fds %d and %d are two files after restore, not one", what, rw, ro);
	if (lseek(rw, 0, SEEK_CUR) != rw_pos || lseek(ro, 0, SEEK_CUR) != ro_pos)
		fail("%s: offsets %lld and %lld, expected %lld and %lld", what,
		     (long long)lseek(rw, 0, SEEK_CUR), (long long)lseek(ro, 0, SEEK_CUR),
		     (long long)rw_pos, (long long)ro_pos);
	if ((fcntl(rw, F_GETFL) & O_ACCMODE) != O_RDWR || (fcntl(ro, F_GETFL) & O_ACCMODE) != want_ro_flags)
		fail("%s: access modes %o and %o", what, fcntl(rw, F_GETFL), fcntl(ro, F_GETFL));
	unsigned char c;
	if (pread(ro, &c, 1, 10) != 1 || c != pat(10))
		fail("%s: byte 10 read through fd %d is 0x%02x, expected 0x%02x", what, ro, c, pat(10));
	if (pwrite(rw, "Z", 1, 10) != 1 || pread(ro, &c, 1, 10) != 1 || c != 'Z')
		fail("%s: a byte written through fd %d is not read through fd %d", what, rw, ro);
}

int main(int argc, char **argv)
{
	test_init(argc, argv);
	static unsigned char buf[MSIZE];
	for (size_t i = 0; i < MSIZE; i++)
		buf[i] = pat(i);

	int m = memfd_create("reopened", 0);
	if (m < 0 || m != 3)
		fail("memfd_create: %s (fd %d)", strerror(errno), m);
	if (pwrite(m, buf, HOLE_AT, 0) != HOLE_AT ||
	    pwrite(m, buf + HOLE_END, MSIZE - HOLE_END, HOLE_END) != MSIZE - HOLE_END ||
	    lseek(m, 100, SEEK_SET) != 100)
		fail("fill memfd: %s", strerror(errno));
	reopen_at(3, O_RDONLY, 4, 5000);

	char *path = test_path("ghost");
	int g = open(path, O_RDWR | O_CREAT | O_EXCL, 0644);
	if (g < 0 || (g != 5 && (dup2(g, 5) != 5 || close(g))))
		fail("open %s: %s", path, strerror(errno));
	if (write(5, buf, GSIZE) != GSIZE || lseek(5, 7, SEEK_SET) != 7)
		fail("fill %s: %s", path, strerror(errno));
	reopen_at(5, O_RDONLY, 6, 9000);
	if (unlink(path))
		fail("unlink: %s", strerror(errno));

	test_ready();
	test_wait_checkpoint();

	check_pair(3, 4, 100, 5000, O_RDONLY, "memfd");
	if (lseek(4, HOLE_AT, SEEK_DATA) != HOLE_END)
		fail("memfd: the hole at %d-%d is gone (SEEK_DATA from %d gives %lld)", HOLE_AT, HOLE_END,
		     HOLE_AT, (long long)lseek(4, HOLE_AT, SEEK_DATA));
	lseek(4, 5000, SEEK_SET);
	static unsigned char got[MSIZE];
	if (pread(4, got, MSIZE, 0) != MSIZE)
		fail("memfd: short read");
	for (size_t i = 11; i < MSIZE; i++)
		if (got[i] != ((i >= HOLE_AT && i < HOLE_END) ? 0 : pat(i)))
			fail("memfd: byte %zu is 0x%02x", i, got[i]);
	check_pair(5, 6, 7, 9000, O_RDONLY, "deleted file");
	struct stat st;
	if (fstat(5, &st) || st.st_nlink || st.st_size != GSIZE)
		fail("deleted file: nlink %lu size %lld", (unsigned long)st.st_nlink, (long long)st.st_size);
	pass();
}
