/*
 * memfd_files: files made by memfd_create.
 *   fd 3: memfd "ckpt-test", 3 pages + 100 bytes of pattern with a hole of
 *         zeroes, offset 5000, sealed F_SEAL_GROW|F_SEAL_SHRINK
 *   fd 4: memfd "" (empty name), empty, no sealing allowed (F_SEAL_SEAL),
 *         O_RDWR|O_NONBLOCK... flags O_APPEND set with F_SETFL
 *   fd 5: memfd "ro", reopened O_RDONLY through /proc/self/fd
 * After restore: names (in /proc/self/fd), sizes, contents, seals, offsets.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "test/lib/test.h"

#define SIZE (3 * 4096 + 100)

static unsigned char pat(size_t i) { return i >= 4096 && i < 8192 ? 0 : (unsigned char)(test_mix(i / 8) >> (i % 8 * 8)); }

static void put(int fd, int want)
{
	if (fd < 0)
		fail("memfd: %s", strerror(errno));
	if (fd != want && (dup2(fd, want) != want || close(fd)))
		fail("dup2: %s", strerror(errno));
}

static void check_link(int fd, const char *want)
{
	char l[64], t[256] = "";
	snprintf(l, sizeof(l), "/proc/self/fd/%d", fd);
	if (readlink(l, t, sizeof(t) - 1) < 0 || strcmp(t, want))
		fail("fd %d links to '%s', expected '%s'", fd, t, want);
}

int main(int argc, char **argv)
{
	test_init(argc, argv);
	static unsigned char buf[SIZE];
	for (size_t i = 0; i < SIZE; i++)
		buf[i] = pat(i);
	put(memfd_create("ckpt-test", MFD_ALLOW_SEALING), 3);
	if (write(3, buf, SIZE) != SIZE || lseek(3, 5000, SEEK_SET) != 5000 ||
	    fcntl(3, F_ADD_SEALS, F_SEAL_GROW | F_SEAL_SHRINK))
		fail("fill fd 3: %s", strerror(errno));
	put(memfd_create("", 0), 4);
	if (fcntl(4, F_SETFL, O_APPEND))
		fail("F_SETFL: %s", strerror(errno));
	put(memfd_create("ro", 0), 5);
	if (write(5, "read only", 9) != 9)
		fail("write fd 5: %s", strerror(errno));
	put(open("/proc/self/fd/5", O_RDONLY), 6);
	close(5);
	if (dup2(6, 5) != 5 || close(6))
		fail("dup2: %s", strerror(errno));

	test_ready();
	test_wait_checkpoint();

	check_link(3, "/memfd:ckpt-test (deleted)");
	check_link(4, "/memfd: (deleted)");
	check_link(5, "/memfd:ro (deleted)");
	struct stat st;
	if (fstat(3, &st) || st.st_size != SIZE)
		fail("fd 3: size %lld, expected %d", (long long)st.st_size, SIZE);
	static unsigned char got[SIZE];
	if (pread(3, got, SIZE, 0) != SIZE)
		fail("pread fd 3: %s", strerror(errno));
	for (size_t i = 0; i < SIZE; i++)
		if (got[i] != pat(i))
			fail("fd 3: byte %zu is 0x%02x, expected 0x%02x", i, got[i], pat(i));
	if (lseek(3, 0, SEEK_CUR) != 5000)
		fail("fd 3: offset %lld, expected 5000", (long long)lseek(3, 0, SEEK_CUR));
	int seals = fcntl(3, F_GET_SEALS);
	if (seals != (F_SEAL_GROW | F_SEAL_SHRINK))
		fail("fd 3: seals %#x, expected %#x", seals, F_SEAL_GROW | F_SEAL_SHRINK);
	if (ftruncate(3, SIZE + 1) == 0 || errno != EPERM)
		fail("fd 3: grew despite F_SEAL_GROW");
	if (pwrite(3, "x", 1, 10) != 1)
		fail("fd 3: not writable: %s", strerror(errno));
	if (fcntl(4, F_GET_SEALS) != F_SEAL_SEAL)
		fail("fd 4: seals %#x, expected F_SEAL_SEAL only", fcntl(4, F_GET_SEALS));
	if (fstat(4, &st) || st.st_size != 0)
		fail("fd 4: not empty");
	if ((fcntl(4, F_GETFL) & (O_ACCMODE | O_APPEND)) != (O_RDWR | O_APPEND))
		fail("fd 4: flags %o, expected O_RDWR|O_APPEND", fcntl(4, F_GETFL));
	if ((fcntl(5, F_GETFL) & O_ACCMODE) != O_RDONLY)
		fail("fd 5: not O_RDONLY");
	char r[10] = "";
	if (read(5, r, 9) != 9 || strcmp(r, "read only"))
		fail("fd 5: read '%s'", r);
	pass();
}
