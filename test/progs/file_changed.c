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
 *   fd 5: "elf", a copy of this program (an ELF file with a build-id),
 *     read-only, also mapped privately whole (not with "elf_fd": the fd only)
 *
 * Prints "data PATH", "mapped PATH", "log PATH", "elf PATH" and "build_id
 * OFFSET" (where the build-id's bytes are in "elf") before READY.  After
 * the checkpoint: fd 3 is at offset 10000 and reads the pattern on from
 * there, "data" and "mapped" are 64 KiB, the mapping holds the pattern, a
 * line written to fd 4 lands at the end of "log", "elf" has its size and
 * its mapping begins with the ELF magic.
 */
#include <elf.h>
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

/* a copy of this program at path, opened as fd 5; the file offset of the
 * desc of its NT_GNU_BUILD_ID note, or 0 */
static long copy_elf(const char *path, off_t *size)
{
	static unsigned char buf[8 << 20];
	int in = open("/proc/self/exe", O_RDONLY);
	ssize_t n = in < 0 ? -1 : read(in, buf, sizeof(buf));
	if (n <= (ssize_t)sizeof(Elf64_Ehdr) || close(in))
		fail("read /proc/self/exe: %s", strerror(errno));
	int out = open(path, O_RDWR | O_CREAT | O_TRUNC, 0700);
	if (out < 0 || write(out, buf, n) != n)
		fail("write %s: %s", path, strerror(errno));
	put(out, 5);
	*size = n;
	const Elf64_Ehdr *eh = (const void *)buf;
	for (int i = 0; i < eh->e_phnum; i++) {
		const Elf64_Phdr *ph = (const void *)(buf + eh->e_phoff + i * eh->e_phentsize);
		for (size_t o = ph->p_offset; ph->p_type == PT_NOTE && o + sizeof(Elf64_Nhdr) <= ph->p_offset + ph->p_filesz;) {
			const Elf64_Nhdr *nh = (const void *)(buf + o);
			size_t desc = o + sizeof(*nh) + ((nh->n_namesz + 3) & ~3U);
			if (nh->n_type == NT_GNU_BUILD_ID)
				return desc;
			o = desc + ((nh->n_descsz + 3) & ~3U);
		}
	}
	return 0;
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
	char *elf = test_path("elf");
	off_t elf_size;
	long id = copy_elf(elf, &elf_size);
	const unsigned char *em = NULL;
	if (argc < 2 || strcmp(argv[1], "elf_fd")) {
		em = mmap(NULL, elf_size, PROT_READ, MAP_PRIVATE, 5, 0);
		if (em == MAP_FAILED)
			fail("map %s: %s", elf, strerror(errno));
	}
	test_msg("data %s", data);
	test_msg("mapped %s", mapped);
	test_msg("log %s", log);
	test_msg("elf %s", elf);
	test_msg("build_id %ld", id);

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
	if (fstat(5, &st) || st.st_size != elf_size)
		fail("fd 5: size %lld, expected %lld", (long long)st.st_size, (long long)elf_size);
	if (em && memcmp(em, ELFMAG, SELFMAG))
		fail("the mapping of %s does not begin with the ELF magic", elf);
	pass();
}
