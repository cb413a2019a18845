/*
 * madvise_flags: the advice given to private memory survives the
 * checkpoint: for each region the VmFlags line of /proc/self/smaps after
 * the restore equals the one before (MADV_DONTFORK, MADV_WIPEONFORK,
 * MADV_HUGEPAGE, MADV_NOHUGEPAGE, MADV_DONTDUMP, MADV_MERGEABLE,
 * MADV_RANDOM, MADV_SEQUENTIAL, and two of them at once; mlock and mlock2
 * MLOCK_ONFAULT), on anonymous memory and on a private file mapping.  Advice the kernel refuses here
 * (EINVAL: not built in) is left out.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "test/lib/test.h"

#define NPAGES 4
#define LEN (NPAGES * PAGE_SIZE_4K)

struct region {
	const char *name;
	int advice[2];		/* 0: none */
	bool file;
	char *addr;
	char flags[256];
};

static struct region regions[] = {
	{ .name = "dontfork", .advice = { MADV_DONTFORK } },
	{ .name = "wipeonfork", .advice = { MADV_WIPEONFORK } },
	{ .name = "hugepage", .advice = { MADV_HUGEPAGE } },
	{ .name = "nohugepage", .advice = { MADV_NOHUGEPAGE } },
	{ .name = "dontdump", .advice = { MADV_DONTDUMP } },
	{ .name = "mergeable", .advice = { MADV_MERGEABLE } },
	{ .name = "random", .advice = { MADV_RANDOM } },
	{ .name = "sequential", .advice = { MADV_SEQUENTIAL } },
	{ .name = "dontfork+dontdump", .advice = { MADV_DONTFORK, MADV_DONTDUMP } },
	{ .name = "locked", .advice = { -1 } },
	{ .name = "locked on fault", .advice = { -2 } },
	{ .name = "file random", .advice = { MADV_RANDOM }, .file = true },
	{ .name = "file dontdump", .advice = { MADV_DONTDUMP }, .file = true },
};
#define NR (sizeof(regions) / sizeof(regions[0]))

/* the VmFlags of the smaps entry starting at addr */
static int vmflags(const void *addr, char *out, size_t len)
{
	char line[512];
	unsigned long start = (unsigned long)addr, s, e;
	bool in = false;
	FILE *f = fopen("/proc/self/smaps", "re");

	if (!f)
		return -1;
	while (fgets(line, sizeof(line), f)) {
		if (sscanf(line, "%lx-%lx ", &s, &e) == 2 && strchr(line, '-') < strchr(line, ' '))
			in = s == start;
		else if (in && !strncmp(line, "VmFlags:", 8)) {
			snprintf(out, len, "%s", line + 8);
			out[strcspn(out, "\n")] = 0;
			fclose(f);
			return 0;
		}
	}
	fclose(f);
	return -1;
}

int main(int argc, char **argv)
{
	char now[256];
	int fd;

	test_init(argc, argv);
	fd = open(test_path("mapped"), O_RDWR | O_CREAT | O_TRUNC, 0600);
	if (fd < 0 || ftruncate(fd, LEN))
		fail("file: %m");
	for (size_t i = 0; i < NR; i++) {
		struct region *r = &regions[i];
		/* a guard page after each: no two regions merge */
		char *a = mmap(NULL, LEN + PAGE_SIZE_4K, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
		if (a == MAP_FAILED)
			fail("mmap: %m");
		r->addr = r->file ? mmap(a, LEN, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_FIXED, fd, 0)
				  : mmap(a, LEN, PROT_READ | PROT_WRITE,
					 MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1, 0);
		if (r->addr == MAP_FAILED)
			fail("mmap %s: %m", r->name);
		memset(r->addr, (int)i + 1, LEN);
		for (int k = 0; k < 2 && r->advice[k]; k++)
			if (r->advice[k] < 0) {
				/* -1: mlock, -2: mlock2 MLOCK_ONFAULT */
				if (mlock2(r->addr, LEN, r->advice[k] == -2 ? MLOCK_ONFAULT : 0))
					fail("mlock %s: %m", r->name);
			} else if (madvise(r->addr, LEN, r->advice[k])) {
				if (errno != EINVAL)
					fail("madvise %s: %m", r->name);
				test_msg("%s: not supported here", r->name);
			}
		if (vmflags(r->addr, r->flags, sizeof(r->flags)))
			fail("%s: no smaps entry", r->name);
		test_msg("%-18s %s", r->name, r->flags);
	}
	close(fd);
	test_ready();
	test_wait_checkpoint();

	for (size_t i = 0; i < NR; i++) {
		struct region *r = &regions[i];
		if (vmflags(r->addr, now, sizeof(now)))
			fail("%s: no smaps entry at %p after the checkpoint", r->name, r->addr);
		if (strcmp(now, r->flags))
			fail("%s: VmFlags '%s', were '%s'", r->name, now, r->flags);
		for (size_t k = 0; k < LEN; k++)
			if (r->addr[k] != (char)(i + 1))
				fail("%s: byte %zu is %d", r->name, k, r->addr[k]);
	}
	pass();
}
