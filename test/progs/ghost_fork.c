/*
 * ghost_fork: a file opened read/write, unlinked, then shared by a parent
 * and its child through fork (one open file description).
 *
 * Before the checkpoint: the file gets data at 0 (8 KiB), a hole, data at
 * 1 MiB (4 KiB) written after the unlink (the size grows after it), a
 * trailing hole up to 3 MiB (ftruncate), mode 0604, owner 1234:5678,
 * access and modification times set, and its offset is left at 4000.  The layout of holes and data
 * (SEEK_DATA/SEEK_HOLE) is recorded before the checkpoint.
 *
 * After the restore: still unlinked, the same link in /proc/self/fd
 * ("PATH (deleted)"), the same size, mode, owner, offset,
 * the same extents of data and holes, every byte; then the child reads 100
 * bytes and writes 50 through the shared offset, and the parent sees the
 * offset moved by 150 and the child's bytes in the file.
 *
 * With argument "linked": fd 9 is also a file whose opened path was
 * removed while another link to it remains, which dump refuses
 * (test/files.sh fd/deleted_linked).
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "test/lib/test.h"

#define HEAD (8 * 1024)
#define MID_AT (1024 * 1024)
#define MID (4 * 1024)
#define SIZE (3 * 1024 * 1024)
#define POS 4000

static unsigned char pat(size_t i) { return (unsigned char)(test_mix(i / 8 + 5) >> (i % 8 * 8)); }

static unsigned char expect(size_t i)
{
	if (i < HEAD || (i >= MID_AT && i < MID_AT + MID))
		return pat(i);
	return 0;
}

/* "data A-B" / "hole A-B" segments, as lseek finds them (through a
 * description of its own: the shared offset stays) */
static void layout(int file, char *out, size_t len)
{
	char proc[64];
	snprintf(proc, sizeof(proc), "/proc/self/fd/%d", file);
	int fd = open(proc, O_RDONLY);
	if (fd < 0)
		fail("open %s: %s", proc, strerror(errno));
	off_t at = 0, end = lseek(fd, 0, SEEK_END);
	size_t n = 0;
	out[0] = 0;
	while (at < end && n < len - 64) {
		off_t d = lseek(fd, at, SEEK_DATA);
		if (d < 0)
			d = end;
		if (d > at)
			n += snprintf(out + n, len - n, "hole %ld-%ld ", (long)at, (long)d);
		if (d >= end)
			break;
		off_t h = lseek(fd, d, SEEK_HOLE);
		n += snprintf(out + n, len - n, "data %ld-%ld ", (long)d, (long)h);
		at = h;
	}
	close(fd);
}

static int child_main(int fd, int go)
{
	char c;
	struct pollfd pf = { go, POLLIN, 0 };
	while (poll(&pf, 1, 20000) < 0 && errno == EINTR)
		;
	if (read(go, &c, 1) != 1)
		return 10;
	unsigned char buf[100];
	off_t at = lseek(fd, 0, SEEK_CUR);
	if (read(fd, buf, sizeof(buf)) != sizeof(buf))
		return 11;
	for (size_t i = 0; i < sizeof(buf); i++)
		if (buf[i] != expect(at + i))
			return 12;
	memset(buf, 'k', 50);
	if (write(fd, buf, 50) != 50)
		return 13;
	return 0;
}

int main(int argc, char **argv)
{
	test_init(argc, argv);
	static unsigned char buf[HEAD + MID];
	char *path = test_path("ghost");
	int go[2];

	for (size_t i = 0; i < HEAD; i++)
		buf[i] = pat(i);
	int fd = open(path, O_RDWR | O_CREAT | O_EXCL, 0600);
	if (fd < 0 || write(fd, buf, HEAD) != HEAD)
		fail("create %s: %s", path, strerror(errno));
	if (unlink(path))
		fail("unlink: %s", strerror(errno));
	for (size_t i = 0; i < MID; i++)
		buf[i] = pat(MID_AT + i);
	if (pwrite(fd, buf, MID, MID_AT) != MID || ftruncate(fd, SIZE) || fchmod(fd, 0604) ||
	    fchown(fd, 1234, 5678) || lseek(fd, POS, SEEK_SET) != POS)
		fail("grow/chmod/chown: %s", strerror(errno));
	struct timespec times[2] = { { 3000000, 9 }, { 4000000, 11 } };
	if (futimens(fd, times))
		fail("futimens: %s", strerror(errno));
	char before[512], after[512], proc[64], link0[4200] = "", link1[4200] = "";
	snprintf(proc, sizeof(proc), "/proc/self/fd/%d", fd);
	if (readlink(proc, link0, sizeof(link0) - 1) <= 0)
		fail("readlink %s: %s", proc, strerror(errno));
	layout(fd, before, sizeof(before));
	if (!strstr(before, "hole "))
		skip("this file system keeps no holes (%s)", before);
	if (pipe(go))
		fail("pipe: %s", strerror(errno));
	if (argc > 1 && !strcmp(argv[1], "linked")) {
		char *x = test_path("x"), *y = test_path("y");
		int l = open(x, O_RDWR | O_CREAT | O_EXCL, 0600);
		if (l < 0 || link(x, y) || dup2(l, 9) != 9 || close(l) || unlink(x))
			fail("linked: %s", strerror(errno));
	}
	pid_t child = fork();
	if (child < 0)
		fail("fork: %s", strerror(errno));
	if (child == 0)
		_exit(child_main(fd, go[0]));
	test_ready();
	test_wait_checkpoint();

	struct stat st;
	if (fstat(fd, &st) || st.st_nlink != 0 || st.st_size != SIZE || (st.st_mode & 07777) != 0604 ||
	    st.st_uid != 1234 || st.st_gid != 5678)
		fail("nlink %lu size %lld mode %o owner %u:%u, expected unlinked, %d bytes, mode 604, 1234:5678",
		     (unsigned long)st.st_nlink, (long long)st.st_size, st.st_mode & 07777, st.st_uid,
		     st.st_gid, SIZE);
	if (st.st_atim.tv_sec != 3000000 || st.st_atim.tv_nsec != 9 || st.st_mtim.tv_sec != 4000000 ||
	    st.st_mtim.tv_nsec != 11)
		fail("times %ld.%ld %ld.%ld, expected 3000000.9 4000000.11 (atime: read by the dump?)",
		     (long)st.st_atim.tv_sec, st.st_atim.tv_nsec, (long)st.st_mtim.tv_sec, st.st_mtim.tv_nsec);
	if ((fcntl(fd, F_GETFL) & O_ACCMODE) != O_RDWR)
		fail("not O_RDWR any more");
	if (readlink(proc, link1, sizeof(link1) - 1) <= 0 || strcmp(link0, link1))
		fail("%s reads '%s', was '%s'", proc, link1, link0);
	if (lseek(fd, 0, SEEK_CUR) != POS)
		fail("offset %lld, expected %d", (long long)lseek(fd, 0, SEEK_CUR), POS);
	layout(fd, after, sizeof(after));
	if (strcmp(before, after))
		fail("holes moved: before '%s', after '%s'", before, after);
	static unsigned char got[SIZE];
	if (pread(fd, got, SIZE, 0) != SIZE)
		fail("pread: %s", strerror(errno));
	for (size_t i = 0; i < SIZE; i++)
		if (got[i] != expect(i))
			fail("byte %zu is 0x%02x, expected 0x%02x", i, got[i], expect(i));
	if (write(go[1], "g", 1) != 1)
		fail("write: %s", strerror(errno));
	int ws;
	if (waitpid(child, &ws, 0) != child || !WIFEXITED(ws) || WEXITSTATUS(ws))
		fail("child failed (status %#x: 10 no go, 11 read, 12 wrong bytes, 13 write)", ws);
	if (lseek(fd, 0, SEEK_CUR) != POS + 150)
		fail("offset %lld after the child, expected %d (one shared offset)",
		     (long long)lseek(fd, 0, SEEK_CUR), POS + 150);
	char k[50];
	if (pread(fd, k, 50, POS + 100) != 50 || memchr(k, 0, 50) || k[0] != 'k' || k[49] != 'k')
		fail("the child's write is not in the parent's file");
	pass();
}
