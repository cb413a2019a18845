/*
 * files: open file descriptors.
 *   fd 3:  regular file, O_RDONLY, offset 100
 *   fd 4:  regular file, O_RDWR, offset 5000
 *   fd 5:  regular file, O_WRONLY|O_APPEND
 *   fd 6:  /dev/null, O_RDWR
 *   fd 7:  /dev/zero, O_RDONLY
 *   fd 8:  the first file again, O_RDONLY|O_CLOEXEC, offset 7
 *   fd 17: dup of fd 4 (offset 5000): after restore they share one offset
 * After restore: same fd numbers (and no others), offsets, access modes and
 * O_APPEND, FD_CLOEXEC only on fd 8, the same inodes as the paths, and reads
 * and writes go to the right places.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <dirent.h>

#include "test/lib/test.h"

#define RO_SIZE		8192
#define RW_SIZE		10000
#define APP_SIZE	300

struct fdspec {
	int fd;
	const char *what;
	const char *path;	/* set at run time for the temp files */
	int acc;		/* O_RDONLY/O_WRONLY/O_RDWR */
	int append;
	int cloexec;
	off_t pos;
	int chr;		/* a character device */
};

static unsigned char byte_at(int file, size_t off) { return (unsigned char)(test_mix(file * 100000 + off / 8) >> (off % 8 * 8)); }

static void make_file(const char *path, int id, size_t size)
{
	unsigned char buf[RW_SIZE];
	for (size_t o = 0; o < size; o++)
		buf[o] = byte_at(id, o);
	int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
	if (fd < 0 || write(fd, buf, size) != (ssize_t)size)
		fail("create %s: %s", path, strerror(errno));
	close(fd);
}

static void open_at(const char *path, int flags, int want_fd, off_t pos)
{
	int fd = open(path, flags);
	if (fd < 0)
		fail("open %s: %s", path, strerror(errno));
	if (fd != want_fd) {
		if (dup3(fd, want_fd, flags & O_CLOEXEC) < 0)
			fail("dup3 %d -> %d: %s", fd, want_fd, strerror(errno));
		close(fd);
	}
	if (pos && lseek(want_fd, pos, SEEK_SET) != pos)
		fail("lseek %s: %s", path, strerror(errno));
}

int main(int argc, char **argv)
{
	test_init(argc, argv);
	char *ro = test_path("ro-file"), *rw = test_path("rw-file"), *app = test_path("append-file");
	make_file(ro, 1, RO_SIZE);
	make_file(rw, 2, RW_SIZE);
	make_file(app, 3, APP_SIZE);

	struct fdspec fds[] = {
		{ 3, "read-only file", ro, O_RDONLY, 0, 0, 100, 0 },
		{ 4, "read-write file", rw, O_RDWR, 0, 0, 5000, 0 },
		{ 5, "append file", app, O_WRONLY, 1, 0, 0, 0 },
		{ 6, "/dev/null", "/dev/null", O_RDWR, 0, 0, 0, 1 },
		{ 7, "/dev/zero", "/dev/zero", O_RDONLY, 0, 0, 0, 1 },
		{ 8, "cloexec file", ro, O_RDONLY, 0, 1, 7, 0 },
		{ 17, "dup of fd 4", rw, O_RDWR, 0, 0, 5000, 0 },
	};
	const int nfds = sizeof(fds) / sizeof(fds[0]);
	struct stat want_st[sizeof(fds) / sizeof(fds[0])];

	for (int i = 0; i < nfds; i++) {
		struct fdspec *f = &fds[i];
		if (f->fd == 17) {
			if (dup2(4, 17) != 17)
				fail("dup2(4, 17): %s", strerror(errno));
			continue;
		}
		open_at(f->path, f->acc | (f->append ? O_APPEND : 0) | (f->cloexec ? O_CLOEXEC : 0),
			f->fd, f->pos);
	}
	for (int i = 0; i < nfds; i++)
		if (stat(fds[i].path, &want_st[i]))
			fail("stat %s: %s", fds[i].path, strerror(errno));

	test_ready();
	test_wait_checkpoint();

	/* exactly these fds (and 0, 1, 2) */
	DIR *d = opendir("/proc/self/fd");
	if (!d)
		fail("opendir /proc/self/fd: %s", strerror(errno));
	struct dirent *de;
	while ((de = readdir(d))) {
		int fd = atoi(de->d_name), known = fd <= 2 || fd == dirfd(d);
		if (de->d_name[0] == '.')
			continue;
		for (int i = 0; i < nfds; i++)
			known |= fds[i].fd == fd;
		if (!known) {
			char target[256] = "";
			char lnk[64];
			snprintf(lnk, sizeof(lnk), "/proc/self/fd/%d", fd);
			readlink(lnk, target, sizeof(target) - 1);
			fail("unexpected fd %d open (-> %s)", fd, target);
		}
	}
	closedir(d);

	for (int i = 0; i < nfds; i++) {
		struct fdspec *f = &fds[i];
		int fl = fcntl(f->fd, F_GETFL), fdfl = fcntl(f->fd, F_GETFD);
		if (fl < 0 || fdfl < 0)
			fail("fd %d (%s): not open: %s", f->fd, f->what, strerror(errno));
		if ((fl & O_ACCMODE) != f->acc)
			fail("fd %d (%s): access mode %d, expected %d", f->fd, f->what, fl & O_ACCMODE, f->acc);
		if (!!(fl & O_APPEND) != f->append)
			fail("fd %d (%s): O_APPEND is %s", f->fd, f->what, fl & O_APPEND ? "set" : "clear");
		if (!!(fdfl & FD_CLOEXEC) != f->cloexec)
			fail("fd %d (%s): FD_CLOEXEC is %s", f->fd, f->what, fdfl & FD_CLOEXEC ? "set" : "clear");
		off_t pos = lseek(f->fd, 0, SEEK_CUR);
		if (!f->chr && pos != f->pos)
			fail("fd %d (%s): offset %lld, expected %lld", f->fd, f->what, (long long)pos,
			     (long long)f->pos);
		struct stat st;
		if (fstat(f->fd, &st))
			fail("fstat fd %d: %s", f->fd, strerror(errno));
		if (st.st_ino != want_st[i].st_ino || st.st_dev != want_st[i].st_dev)
			fail("fd %d (%s): inode %lu, but %s is inode %lu", f->fd, f->what,
			     (unsigned long)st.st_ino, f->path, (unsigned long)want_st[i].st_ino);
		if (f->chr && (!S_ISCHR(st.st_mode) || st.st_rdev != want_st[i].st_rdev))
			fail("fd %d (%s): not the character device", f->fd, f->what);
	}

	/* reads and writes */
	unsigned char buf[64];
	if (read(3, buf, 64) != 64)
		fail("read fd 3: %s", strerror(errno));
	for (int i = 0; i < 64; i++)
		if (buf[i] != byte_at(1, 100 + i))
			fail("fd 3: byte %d read 0x%02x, expected 0x%02x (file offset %d)", i, buf[i],
			     byte_at(1, 100 + i), 100 + i);
	if (read(8, buf, 16) != 16)
		fail("read fd 8: %s", strerror(errno));
	for (int i = 0; i < 16; i++)
		if (buf[i] != byte_at(1, 7 + i))
			fail("fd 8: byte %d read 0x%02x, expected 0x%02x", i, buf[i], byte_at(1, 7 + i));
	if (read(4, buf, 32) != 32)
		fail("read fd 4: %s", strerror(errno));
	for (int i = 0; i < 32; i++)
		if (buf[i] != byte_at(2, 5000 + i))
			fail("fd 4: byte %d read 0x%02x, expected 0x%02x", i, buf[i], byte_at(2, 5000 + i));
	if (write(4, "HELLO", 5) != 5)
		fail("write fd 4: %s", strerror(errno));
	if (pread(17, buf, 5, 5032) != 5 || memcmp(buf, "HELLO", 5))
		fail("write through fd 4 at offset 5032 not seen through fd 17");
	/* fd 17 is a dup of fd 4: one open file description, one offset */
	if (lseek(17, 0, SEEK_CUR) != 5037)
		fail("fd 17 (dup of fd 4) is at offset %lld after fd 4 moved to 5037: not shared",
		     (long long)lseek(17, 0, SEEK_CUR));
	/* fd 8 opened the same file as fd 3 separately: its own offset */
	if (lseek(8, 0, SEEK_CUR) != 7 + 16)
		fail("fd 8 is at offset %lld, expected %d", (long long)lseek(8, 0, SEEK_CUR), 7 + 16);
	if (write(5, "TAIL", 4) != 4)
		fail("write fd 5: %s", strerror(errno));
	struct stat st;
	fstat(5, &st);
	if (st.st_size != APP_SIZE + 4)
		fail("append file size %lld after an append, expected %d", (long long)st.st_size, APP_SIZE + 4);
	int afd = open(app, O_RDONLY | O_CLOEXEC);
	if (afd < 0 || pread(afd, buf, 4, APP_SIZE) != 4 || memcmp(buf, "TAIL", 4))
		fail("append through fd 5 did not land at the end of %s", app);
	close(afd);
	memset(buf, 0xff, sizeof(buf));
	if (read(7, buf, 64) != 64)
		fail("read /dev/zero: %s", strerror(errno));
	for (int i = 0; i < 64; i++)
		if (buf[i])
			fail("/dev/zero returned a non-zero byte");
	if (write(6, buf, 64) != 64)
		fail("write /dev/null: %s", strerror(errno));
	if (read(6, buf, 64) != 0)
		fail("read /dev/null did not return EOF");
	pass();
}
