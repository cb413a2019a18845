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
 * (SEEK_DATA), fstat gives one inode for both, and the write lifetime hints
 * set on each (F_SET_RW_HINT) are still there, and so are the memfd's
 * owner, mode and times.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "test/lib/test.h"

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
	uint64_t short_life = RWH_WRITE_LIFE_SHORT, long_life = RWH_WRITE_LIFE_LONG;
	struct timespec mtimes[2] = { { 1000000, 5 }, { 2000000, 7 } };
	if (fchown(3, 4321, 8765) || fchmod(3, 0640) || futimens(3, mtimes))
		fail("memfd owner, mode, times: %s", strerror(errno));
	if (fcntl(3, F_SET_RW_HINT, &short_life))
		fail("F_SET_RW_HINT: %s", strerror(errno));

	char *path = test_path("ghost");
	int g = open(path, O_RDWR | O_CREAT | O_EXCL, 0644);
	if (g < 0 || (g != 5 && (dup2(g, 5) != 5 || close(g))))
		fail("open %s: %s", path, strerror(errno));
	if (write(5, buf, GSIZE) != GSIZE || lseek(5, 7, SEEK_SET) != 7)
		fail("fill %s: %s", path, strerror(errno));
	reopen_at(5, O_RDONLY, 6, 9000);
	if (fcntl(5, F_SET_RW_HINT, &long_life))
		fail("F_SET_RW_HINT: %s", strerror(errno));
	if (unlink(path))
		fail("unlink: %s", strerror(errno));

	test_ready();
	test_wait_checkpoint();

	struct stat ms;
	if (fstat(4, &ms) || ms.st_uid != 4321 || ms.st_gid != 8765 || (ms.st_mode & 07777) != 0640 ||
	    ms.st_atim.tv_sec != 1000000 || ms.st_atim.tv_nsec != 5 || ms.st_mtim.tv_sec != 2000000 ||
	    ms.st_mtim.tv_nsec != 7)
		fail("memfd: owner %u:%u mode %o times %ld.%ld %ld.%ld, expected 4321:8765 640 1000000.5 2000000.7",
		     ms.st_uid, ms.st_gid, ms.st_mode & 07777, (long)ms.st_atim.tv_sec, ms.st_atim.tv_nsec,
		     (long)ms.st_mtim.tv_sec, ms.st_mtim.tv_nsec);
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
	uint64_t h4 = 0, h6 = 0;
	if (fcntl(4, F_GET_RW_HINT, &h4) || fcntl(6, F_GET_RW_HINT, &h6) || h4 != RWH_WRITE_LIFE_SHORT ||
	    h6 != RWH_WRITE_LIFE_LONG)
		fail("write lifetime hints %lu and %lu, expected %d and %d", (unsigned long)h4,
		     (unsigned long)h6, RWH_WRITE_LIFE_SHORT, RWH_WRITE_LIFE_LONG);
	struct stat st;
	if (fstat(5, &st) || st.st_nlink || st.st_size != GSIZE)
		fail("deleted file: nlink %lu size %lld", (unsigned long)st.st_nlink, (long long)st.st_size);
	pass();
}
