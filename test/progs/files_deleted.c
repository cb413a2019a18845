/*
 * files_deleted: files unlinked while open (ghost files), and O_PATH,
 * directory, O_NONBLOCK fds.
 *   fd 3: deleted file, O_RDWR, 100 KiB of pattern, offset 12345
 *   fd 4: dup of fd 3 (shares the offset)
 *   fd 5: a second deleted file, O_WRONLY|O_APPEND, 7 bytes, mode 0600
 *   fd 6: O_PATH of a directory
 *   fd 7: a directory, O_RDONLY|O_DIRECTORY
 *   fd 8: a regular file, O_RDONLY|O_NONBLOCK
 * After restore: the deleted files are still unlinked (st_nlink 0), same
 * size, contents byte for byte, offsets, flags and modes.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "test/lib/test.h"

#define SIZE (100 * 1024)

static unsigned char pat(size_t i) { return (unsigned char)(test_mix(i / 8 + 77) >> (i % 8 * 8)); }

static void put(int fd, int want)
{
	if (fd < 0)
		fail("open: %s", strerror(errno));
	if (fd != want && (dup2(fd, want) != want || close(fd)))
		fail("dup2: %s", strerror(errno));
}

int main(int argc, char **argv)
{
	test_init(argc, argv);
	char *a = test_path("ghost-a"), *b = test_path("ghost-b"), *c = test_path("plain");
	static unsigned char buf[SIZE];

	for (size_t i = 0; i < SIZE; i++)
		buf[i] = pat(i);
	put(open(a, O_RDWR | O_CREAT | O_EXCL, 0640), 3);
	if (write(3, buf, SIZE) != SIZE || lseek(3, 12345, SEEK_SET) != 12345)
		fail("fill %s: %s", a, strerror(errno));
	if (dup2(3, 4) != 4)
		fail("dup2: %s", strerror(errno));
	put(open(b, O_WRONLY | O_APPEND | O_CREAT | O_EXCL, 0600), 5);
	if (write(5, "seven!!", 7) != 7)
		fail("write %s: %s", b, strerror(errno));
	if (unlink(a) || unlink(b))
		fail("unlink: %s", strerror(errno));
	put(open(test_tmpdir(), O_PATH | O_DIRECTORY), 6);
	put(open(test_tmpdir(), O_RDONLY | O_DIRECTORY), 7);
	int pf = open(c, O_WRONLY | O_CREAT | O_EXCL, 0644);
	if (pf < 0 || write(pf, "plain", 5) != 5)
		fail("create %s: %s", c, strerror(errno));
	close(pf);
	put(open(c, O_RDONLY | O_NONBLOCK), 8);

	test_ready();
	test_wait_checkpoint();

	struct stat st;
	if (fstat(3, &st) || st.st_nlink != 0 || st.st_size != SIZE || (st.st_mode & 07777) != 0640)
		fail("fd 3: nlink %lu size %lld mode %o, expected an unlinked file of %d bytes, mode 640",
		     (unsigned long)st.st_nlink, (long long)st.st_size, st.st_mode & 07777, SIZE);
	if ((fcntl(3, F_GETFL) & O_ACCMODE) != O_RDWR)
		fail("fd 3 is not O_RDWR");
	if (lseek(3, 0, SEEK_CUR) != 12345)
		fail("fd 3 at offset %lld, expected 12345", (long long)lseek(3, 0, SEEK_CUR));
	static unsigned char got[SIZE];
	if (pread(3, got, SIZE, 0) != SIZE)
		fail("pread fd 3: %s", strerror(errno));
	for (size_t i = 0; i < SIZE; i++)
		if (got[i] != pat(i))
			fail("deleted file byte %zu is 0x%02x, expected 0x%02x", i, got[i], pat(i));
	if (read(3, got, 10) != 10 || lseek(4, 0, SEEK_CUR) != 12355)
		fail("fd 4 (dup of fd 3) does not share its offset");
	if (fstat(5, &st) || st.st_nlink != 0 || st.st_size != 7 || (st.st_mode & 07777) != 0600)
		fail("fd 5: not the unlinked 7-byte file of mode 600");
	if ((fcntl(5, F_GETFL) & (O_ACCMODE | O_APPEND)) != (O_WRONLY | O_APPEND))
		fail("fd 5: flags %o, expected O_WRONLY|O_APPEND", fcntl(5, F_GETFL));
	if (write(5, "x", 1) != 1 || fstat(5, &st) || st.st_size != 8)
		fail("fd 5: append did not grow the file");
	struct stat dst;
	if (stat(test_tmpdir(), &dst) || fstat(6, &st) || st.st_ino != dst.st_ino ||
	    !(fcntl(6, F_GETFL) & O_PATH))
		fail("fd 6: not an O_PATH fd of the test directory");
	if (fstat(7, &st) || st.st_ino != dst.st_ino || !(fcntl(7, F_GETFL) & O_DIRECTORY))
		fail("fd 7: not the test directory opened O_DIRECTORY");
	int fl = fcntl(8, F_GETFL);
	if (fl < 0 || !(fl & O_NONBLOCK) || (fl & O_ACCMODE) != O_RDONLY)
		fail("fd 8: flags %o, expected O_RDONLY|O_NONBLOCK", fl);
	char p5[6] = "";
	if (read(8, p5, 5) != 5 || memcmp(p5, "plain", 5))
		fail("fd 8: wrong contents");
	pass();
}
