/*
 * incremental: memory that changes between the rounds of an incremental
 * migration (pre-dump --track-mem, ..., dump --prev-images-dir).
 *
 * Each SIGUSR2 runs the next step and prints "round N done":
 *   1  writes every 7th page of A with the round number
 *   2  MADV_DONTNEED on 64 pages of A (they must read back as zero)
 *   3  maps a new area B and fills it; unmaps the area C
 *   4  mremaps area D to a new place (its pages follow)
 *   5  grows the heap with sbrk and fills the new part; rewrites A again
 *   6+ writes every 7th page of A from a later offset
 * SIGUSR1 (after restore from the final dump) checks everything against the
 * model of what each round did, and that no userfaultfd is left among the
 * fds (criu's tracking fd is never part of the restored process).
 *
 * Built with CLOSE_FDS, it also closes every fd above 2 in round 3, the
 * tracking userfaultfd included: criu must notice and copy in full.
 */
#include <dirent.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "test/lib/test.h"

#define PG 4096UL
#define A_PAGES 8192	/* 32 MiB */
#define B_PAGES 256
#define C_PAGES 128
#define D_PAGES 300
#define HEAP_PAGES 64

static uint8_t *A, *B, *C, *D, *heap_new;

static uint8_t a_value(unsigned long i, int rounds)
{
	uint8_t v = (uint8_t)(test_mix(i) | 1);
	for (int r = 1; r <= rounds; r++) {
		if (r == 1 && i % 7 == 0)
			v = 0x10 + r;
		if (r == 2 && i >= 1000 && i < 1064)
			v = 0;
		if (r == 5 && i % 11 == 3)
			v = 0x50;
		if (r >= 6 && i % 7 == (unsigned long)(r % 7))
			v = 0x60 + r;
	}
	return v;
}

static void step(int r)
{
	switch (r) {
	case 1:
		for (unsigned long i = 0; i < A_PAGES; i += 7)
			memset(A + i * PG, 0x10 + r, PG);
		break;
	case 2:
		if (madvise(A + 1000 * PG, 64 * PG, MADV_DONTNEED))
			fail("madvise: %m");
		break;
	case 3:
		B = mmap(NULL, B_PAGES * PG, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
		if (B == MAP_FAILED)
			fail("mmap B: %m");
		for (unsigned long i = 0; i < B_PAGES; i++)
			memset(B + i * PG, (int)(0xb0 ^ i), PG);
		if (munmap(C, C_PAGES * PG))
			fail("munmap C: %m");
#ifdef CLOSE_FDS
		syscall(SYS_close_range, 3, ~0U, 0);
#endif
		break;
	case 4: {
		uint8_t *n = mremap(D, D_PAGES * PG, D_PAGES * PG, MREMAP_MAYMOVE | MREMAP_FIXED,
				    D + 64 * 1024 * 1024);
		if (n == MAP_FAILED)
			fail("mremap D: %m");
		D = n;
		break;
	}
	case 5:
		heap_new = sbrk(HEAP_PAGES * PG);
		if (heap_new == (void *)-1)
			fail("sbrk: %m");
		for (unsigned long i = 0; i < HEAP_PAGES * PG; i++)
			heap_new[i] = (uint8_t)(i * 13 + 5);
		for (unsigned long i = 3; i < A_PAGES; i += 11)
			memset(A + i * PG, 0x50, PG);
		break;
	default:
		for (unsigned long i = r % 7; i < A_PAGES; i += 7)
			memset(A + i * PG, 0x60 + r, PG);
		break;
	}
}

static void check(int rounds)
{
	for (unsigned long i = 0; i < A_PAGES; i++) {
		uint8_t want = a_value(i, rounds);
		const uint8_t *p = A + i * PG;
		if (p[0] != want || p[PG - 1] != want)
			fail("A page %lu: %#x/%#x, want %#x (after %d rounds)", i, p[0], p[PG - 1],
			     want, rounds);
	}
	if (rounds >= 3)
		for (unsigned long i = 0; i < B_PAGES; i++)
			if (B[i * PG] != (uint8_t)(0xb0 ^ i) || B[i * PG + PG - 1] != (uint8_t)(0xb0 ^ i))
				fail("B page %lu: %#x, want %#x", i, B[i * PG], (uint8_t)(0xb0 ^ i));
	for (unsigned long i = 0; i < D_PAGES; i++)
		if (D[i * PG + 17] != (uint8_t)(0xd0 + i % 13))
			fail("D page %lu: %#x, want %#x (moved: %s)", i, D[i * PG + 17],
			     (uint8_t)(0xd0 + i % 13), rounds >= 4 ? "yes" : "no");
	if (rounds >= 5)
		for (unsigned long i = 0; i < HEAP_PAGES * PG; i++)
			if (heap_new[i] != (uint8_t)(i * 13 + 5))
				fail("heap byte %lu: %#x", i, heap_new[i]);

	DIR *d = opendir("/proc/self/fd");
	struct dirent *de;
	char path[300], link[64];
	while (d && (de = readdir(d))) {
		snprintf(path, sizeof(path), "/proc/self/fd/%s", de->d_name);
		ssize_t n = readlink(path, link, sizeof(link) - 1);
		if (n > 0 && (link[n] = 0, strstr(link, "userfaultfd")))
			fail("fd %s is a userfaultfd after restore", de->d_name);
	}
	if (d)
		closedir(d);
}

int main(int argc, char **argv)
{
	sigset_t set;
	int rounds = 0;

	test_init(argc, argv);
	A = mmap(NULL, A_PAGES * PG, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	C = mmap(NULL, C_PAGES * PG, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	D = mmap(NULL, D_PAGES * PG, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (A == MAP_FAILED || C == MAP_FAILED || D == MAP_FAILED)
		fail("mmap: %m");
	for (unsigned long i = 0; i < A_PAGES; i++)
		memset(A + i * PG, a_value(i, 0), PG);
	memset(C, 0xcc, C_PAGES * PG);
	for (unsigned long i = 0; i < D_PAGES; i++)
		memset(D + i * PG, 0xd0 + i % 13, PG);

	sigemptyset(&set);
	sigaddset(&set, SIGUSR1);
	sigaddset(&set, SIGUSR2);
	sigprocmask(SIG_BLOCK, &set, NULL);
	test_ready();
	for (;;) {
		int sig;
		if (sigwait(&set, &sig))
			continue;
		if (sig == SIGUSR1)
			break;
		step(++rounds);
		test_msg("round %d done", rounds);
	}
	check(rounds);
	pass();
}
