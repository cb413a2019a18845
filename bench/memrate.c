/*
 * memrate.c - the memory speeds dump and restore are measured against.
 *
 *   memrate [SIZE_MIB [DIR]]     (defaults: 1024, /tmp)
 *
 * Prints key=value lines, each rate the median of 5 timed runs after one
 * warm-up run, in GB/s (10^9 bytes per second):
 *   memcpy_gbps     memcpy between two buffers that are already touched
 *   pagecache_gbps  memcpy into a fresh MAP_SHARED mapping of a newly
 *                   created and ftruncated file in DIR (page-cache writes)
 *   anon_fill_gbps  memset of freshly mmapped anonymous memory (page
 *                   faults + zeroing + the writes)
 * Only the copy or fill is timed; mapping, unmapping and unlinking are not.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

#define RUNS 5

static double now(void)
{
	struct timespec t;
	clock_gettime(CLOCK_MONOTONIC, &t);
	return t.tv_sec + t.tv_nsec / 1e9;
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return x < y ? -1 : x > y;
}

static void *map_anon(size_t size)
{
	void *p = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (p == MAP_FAILED) {
		fprintf(stderr, "error: memrate: mmap of %zu bytes: %s\n", size, strerror(errno));
		exit(1);
	}
	return p;
}

/* one timed run of each kind; returns seconds, or <0 on error */
static double run_memcpy(void *dst, const void *src, size_t size)
{
	double t = now();
	memcpy(dst, src, size);
	return now() - t;
}

static double run_pagecache(const char *dir, const void *src, size_t size)
{
	char path[4096];
	double t;
	void *p;
	int fd;

	snprintf(path, sizeof(path), "%s/memrate-%d.tmp", dir, getpid());
	fd = open(path, O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	if (fd < 0) {
		fprintf(stderr, "error: memrate: %s: %s\n", path, strerror(errno));
		return -1;
	}
	if (ftruncate(fd, size)) {
		fprintf(stderr, "error: memrate: %s: ftruncate: %s\n", path, strerror(errno));
		close(fd);
		unlink(path);
		return -1;
	}
	p = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	close(fd);
	if (p == MAP_FAILED) {
		fprintf(stderr, "error: memrate: %s: mmap: %s\n", path, strerror(errno));
		unlink(path);
		return -1;
	}
	t = now();
	memcpy(p, src, size);
	t = now() - t;
	munmap(p, size);
	unlink(path);
	return t;
}

static double run_anon_fill(size_t size)
{
	void *p = map_anon(size);
	double t = now();
	memset(p, 0x5a, size);
	t = now() - t;
	munmap(p, size);
	return t;
}

enum kind { MEMCPY, PAGECACHE, ANON_FILL };

static double one(enum kind k, const char *dir, void *a, void *b, size_t size)
{
	switch (k) {
	case MEMCPY: return run_memcpy(b, a, size);
	case PAGECACHE: return run_pagecache(dir, a, size);
	case ANON_FILL: return run_anon_fill(size);
	}
	return -1;
}

/* median rate in GB/s of RUNS runs after a warm-up; <0 on error */
static double median_rate(enum kind k, const char *dir, void *a, void *b, size_t size)
{
	double s[RUNS];

	if (one(k, dir, a, b, size) < 0)
		return -1;
	for (int i = 0; i < RUNS; i++)
		if ((s[i] = one(k, dir, a, b, size)) < 0)
			return -1;
	qsort(s, RUNS, sizeof(s[0]), cmp_double);
	return size / s[RUNS / 2] / 1e9;
}

int main(int argc, char **argv)
{
	unsigned long mib = argc > 1 ? strtoul(argv[1], NULL, 10) : 1024;
	const char *dir = argc > 2 ? argv[2] : "/tmp";
	size_t size = mib << 20;

	if (argc > 3 || !mib) {
		fprintf(stderr, "usage: memrate [SIZE_MIB [DIR]]\n");
		return 1;
	}
	char *a = map_anon(size), *b = map_anon(size);
	memset(a, 0x3c, size);
	memset(b, 0xc3, size);

	double cp = median_rate(MEMCPY, dir, a, b, size);
	munmap(b, size);
	double pc = median_rate(PAGECACHE, dir, a, NULL, size);
	munmap(a, size);
	double fill = median_rate(ANON_FILL, dir, NULL, NULL, size);
	if (cp < 0 || pc < 0 || fill < 0)
		return 1;
	printf("size_mib=%lu\n", mib);
	printf("runs=%d\n", RUNS);
	printf("memcpy_gbps=%.2f\n", cp);
	printf("pagecache_gbps=%.2f\n", pc);
	printf("anon_fill_gbps=%.2f\n", fill);
	return 0;
}
