/*
 * memfd_nofd: memfds mapped MAP_SHARED whose last fd was closed.
 *
 *   "alone": 3 pages, mapped shared, fd closed; pattern written through
 *            the mapping; F_SEAL_SHRINK|F_SEAL_GROW added before
 *   "twice": 2 pages mapped twice (two addresses), fd closed: a write
 *            through one mapping is seen through the other
 *   "child": 1 page mapped shared, fd closed, then fork: the child
 *            writes into it after restore, the parent sees it
 *
 * After restore: contents, the maps' names (/memfd:NAME (deleted)), the
 * sharing between the two mappings and with the child, and (through
 * /proc/self/map_files) the size and seals of "alone".
 *
 * With argument "hugetlb": fd 9 is also a memfd of huge pages
 * (MFD_HUGETLB), which dump refuses (test/files.sh fd/memfd_hugetlb).
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "test/lib/test.h"

#define PG 4096

static unsigned char pat(size_t i) { return (unsigned char)test_mix(i + 4242); }

static void *map_memfd(const char *name, size_t len, int seals, void **second)
{
	int fd = memfd_create(name, MFD_ALLOW_SEALING);
	if (fd < 0 || ftruncate(fd, len))
		fail("memfd %s: %s", name, strerror(errno));
	void *p = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	if (p == MAP_FAILED)
		fail("mmap %s: %s", name, strerror(errno));
	if (second) {
		*second = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
		if (*second == MAP_FAILED)
			fail("mmap %s again: %s", name, strerror(errno));
	}
	if (seals && fcntl(fd, F_ADD_SEALS, seals))
		fail("seal %s: %s", name, strerror(errno));
	close(fd);
	return p;
}

static void check_name(void *p, const char *name)
{
	char path[256], want[256];
	if (test_find_mapping(p, NULL, NULL, NULL, path, sizeof(path)))
		fail("no mapping at %p", p);
	snprintf(want, sizeof(want), "/memfd:%s (deleted)", name);
	if (strcmp(path, want))
		fail("mapping at %p is '%s', expected '%s'", p, path, want);
}

int main(int argc, char **argv)
{
	test_init(argc, argv);
	unsigned char *a = map_memfd("alone", 3 * PG, F_SEAL_SHRINK | F_SEAL_GROW, NULL);
	void *t2;
	unsigned char *t1 = map_memfd("twice", 2 * PG, 0, &t2);
	unsigned char *c = map_memfd("child", PG, 0, NULL);
	for (size_t i = 0; i < 3 * PG; i++)
		a[i] = pat(i);
	memset(t1, 't', 2 * PG);
	int go[2];
	if (pipe(go))
		fail("pipe: %s", strerror(errno));
	pid_t child = fork();
	if (child < 0)
		fail("fork: %s", strerror(errno));
	if (child == 0) {
		char x;
		struct pollfd pf = { go[0], POLLIN, 0 };
		while (poll(&pf, 1, 20000) < 0 && errno == EINTR)
			;
		if (read(go[0], &x, 1) != 1)
			_exit(1);
		memcpy(c, "from the child", 15);
		_exit(0);
	}

	if (argc > 1 && !strcmp(argv[1], "hugetlb")) {
		int h = memfd_create("huge", MFD_HUGETLB);
		if (h < 0)
			skip("no MFD_HUGETLB here: %s", strerror(errno));
		if (dup2(h, 9) != 9 || close(h))
			fail("dup2: %s", strerror(errno));
	}
	test_ready();
	test_wait_checkpoint();

	for (size_t i = 0; i < 3 * PG; i++)
		if (a[i] != pat(i))
			fail("alone: byte %zu is 0x%02x, expected 0x%02x", i, a[i], pat(i));
	check_name(a, "alone");
	check_name(t1, "twice");
	check_name(t2, "twice");
	check_name(c, "child");
	uintptr_t s, e;
	char mf[128];
	test_find_mapping(a, &s, &e, NULL, NULL, 0);
	snprintf(mf, sizeof(mf), "/proc/self/map_files/%lx-%lx", (unsigned long)s, (unsigned long)e);
	int fd = open(mf, O_RDONLY);
	struct stat st;
	if (fd < 0 || fstat(fd, &st))
		fail("open %s: %s", mf, strerror(errno));
	int seals = fcntl(fd, F_GET_SEALS);
	if (st.st_size != 3 * PG || seals != (F_SEAL_SHRINK | F_SEAL_GROW))
		fail("alone: size %lld seals %#x, expected %d and %#x", (long long)st.st_size, seals, 3 * PG,
		     F_SEAL_SHRINK | F_SEAL_GROW);
	close(fd);
	t1[100] = 'X';
	if (((unsigned char *)t2)[100] != 'X' || ((unsigned char *)t2)[101] != 't')
		fail("twice: its two mappings are not one memfd any more");
	if (write(go[1], "g", 1) != 1)
		fail("write: %s", strerror(errno));
	int ws;
	if (waitpid(child, &ws, 0) != child || !WIFEXITED(ws) || WEXITSTATUS(ws))
		fail("child failed (status %#x)", ws);
	if (memcmp(c, "from the child", 15))
		fail("child: its write into the shared memfd is not seen by the parent");
	pass();
}
