/*
 * file_changed: regular files whose contents a restore must find as they
 * were at the dump (test/files.sh fd/changed_*: the test grows or cuts
 * them between dump and restore, and the restore must be refused).
 *
 *   fd 3: "data" (64 KiB of a pattern), read-only, read up to offset 10000
 *   a private read-only mapping of "mapped" (64 KiB of the pattern), its
 *     fd closed
 *   fd 4: "log", write-only in append mode, one line written (a log: its
 *     size is not checked, its writes go to its end)
 *
 * Prints "data PATH", "mapped PATH" and "log PATH" before READY.  After the
 * checkpoint: fd 3 is at offset 10000 and reads the pattern on from there,
 * "data" and "mapped" are 64 KiB, the mapping holds the pattern, and a line
 * written to fd 4 lands at the end of "log".
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "test/lib/test.h"

#define SIZE	65536
#define OFFSET	10000

static unsigned char pattern(size_t i)
{
	return (unsigned char)test_mix(i);
}

static void make(const char *path)
{
	static unsigned char buf[SIZE];
	for (size_t i = 0; i < SIZE; i++)
		buf[i] = pattern(i);
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
	if (fd < 0 || write(fd, buf, SIZE) != SIZE || close(fd))
		fail("write %s: %s", path, strerror(errno));
}

static void put(int fd, int want)
{
	if (fd < 0 || (fd != want && (dup2(fd, want) != want || close(fd))))
		fail("open fd %d: %s", want, strerror(errno));
}

static void check_data(int fd)
{
	unsigned char buf[1000];
	struct stat st;
	off_t pos = lseek(fd, 0, SEEK_CUR);
	if (pos != OFFSET)
		fail("fd %d at offset %lld, expected %d", fd, (long long)pos, OFFSET);
	if (fstat(fd, &st) || st.st_size != SIZE)
		fail("fd %d: size %lld, expected %d", fd, (long long)st.st_size, SIZE);
	if (read(fd, buf, sizeof(buf)) != sizeof(buf))
		fail("fd %d: short read at %d: %s", fd, OFFSET, strerror(errno));
	for (size_t i = 0; i < sizeof(buf); i++)
		if (buf[i] != pattern(OFFSET + i))
			fail("fd %d: byte %zu differs", fd, OFFSET + i);
}

static void check_log(int fd, const char *path)
{
	static const char line[] = "after the restore\n";
	char tail[sizeof(line) - 1];
	struct stat st;
	if (write(fd, line, sizeof(line) - 1) != sizeof(line) - 1 || stat(path, &st))
		fail("write to fd %d (%s): %s", fd, path, strerror(errno));
	int r = open(path, O_RDONLY);
	if (r < 0 || pread(r, tail, sizeof(tail), st.st_size - sizeof(tail)) != sizeof(tail) ||
	    memcmp(tail, line, sizeof(tail)))
		fail("%s does not end with the line written to fd %d", path, fd);
	close(r);
}

int main(int argc, char **argv)
{
	test_init(argc, argv);
	char *data = test_path("data"), *mapped = test_path("mapped"), *log = test_path("log");
	make(data);
	make(mapped);
	int fd = open(mapped, O_RDONLY);
	const unsigned char *m = fd < 0 ? MAP_FAILED : mmap(NULL, SIZE, PROT_READ, MAP_PRIVATE, fd, 0);
	if (m == MAP_FAILED || close(fd))
		fail("map %s: %s", mapped, strerror(errno));
	put(open(data, O_RDONLY), 3);
	if (lseek(3, OFFSET, SEEK_SET) != OFFSET)
		fail("lseek: %s", strerror(errno));
	put(open(log, O_WRONLY | O_APPEND | O_CREAT, 0600), 4);
	if (write(4, "start\n", 6) != 6)
		fail("write %s: %s", log, strerror(errno));
	test_msg("data %s", data);
	test_msg("mapped %s", mapped);
	test_msg("log %s", log);

	test_ready();
	test_wait_checkpoint();

	check_data(3);
	for (size_t i = 0; i < SIZE; i++)
		if (m[i] != pattern(i))
			fail("the mapping of %s: byte %zu differs", mapped, i);
	struct stat st;
	if (stat(mapped, &st) || st.st_size != SIZE)
		fail("%s: size %lld, expected %d", mapped, (long long)st.st_size, SIZE);
	check_log(4, log);
	pass();
}
