/*
 * copyways.c - ways of getting a process's pages into an image file, side
 * by side (issue 16: measure each and pick).  A child touches MIB MiB and
 * stays; the parent copies its memory into a new file in DIR:
 *   readv-contig   process_vm_readv, 4 MiB runs, into a buffer; pwrite
 *   readv-scatter  every other page: IOV_MAX one-page runs a call; pwrite
 *   readv-single   every other page, one page a process_vm_readv call
 *                  (the dump before batching)
 *   vmsplice       what an injected helper would do: the child vmsplices
 *                  its pages into a pipe (no copy), the parent splices the
 *                  pipe into the file (the page-cache copy only)
 *   memcpy         a memcpy of the same bytes, for scale
 * Prints "NAME us_per_page=X gbps=Y", each the best of 3 runs.  DIR "none":
 * no file at all, the copy out of the process alone.
 *
 *   copyways [MIB [DIR]]     (defaults 512, /dev/shm)
 */
#define _GNU_SOURCE
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/uio.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define PS 4096UL
#define BATCH (4UL << 20)

static double now(void)
{
	struct timespec t;
	clock_gettime(CLOCK_MONOTONIC, &t);
	return t.tv_sec + t.tv_nsec / 1e9;
}

/* DIR "none": no file, the copy alone (vmsplice: spliced into /dev/null) */
static int new_file(const char *dir)
{
	char path[4096];
	if (!strcmp(dir, "none"))
		return -1;
	snprintf(path, sizeof(path), "%s/copyways.%d", dir, getpid());
	int fd = open(path, O_RDWR | O_CREAT | O_TRUNC, 0600);
	unlink(path);
	return fd;
}

/* step: 1 all pages, 2 every other page; per_call: runs a process_vm_readv */
static double readv_way(pid_t pid, char *base, size_t size, const char *dir, size_t step,
			size_t per_call)
{
	static struct iovec remote[IOV_MAX];
	char *buf = aligned_alloc(PS, BATCH);
	int fd = new_file(dir);
	double t0 = now();
	off_t off = 0;

	for (size_t a = 0; a < size;) {
		size_t n = 0, bytes = 0;
		if (step == 1) {
			remote[n++] = (struct iovec){ base + a, BATCH };
			bytes = BATCH;
			a += BATCH;
		} else {
			for (; n < per_call && bytes < BATCH && a < size; a += step * PS) {
				remote[n++] = (struct iovec){ base + a, PS };
				bytes += PS;
			}
		}
		struct iovec local = { buf, bytes };
		if (process_vm_readv(pid, &local, 1, remote, n, 0) != (ssize_t)bytes)
			return -1;
		if (fd >= 0 && pwrite(fd, buf, bytes, off) != (ssize_t)bytes)
			return -1;
		off += bytes;
	}
	double t = now() - t0;
	if (fd >= 0)
		close(fd);
	free(buf);
	return t / (off / PS) * 1e6;
}

/* one page a call */
static double readv_single(pid_t pid, char *base, size_t size, const char *dir)
{
	char *buf = aligned_alloc(PS, BATCH);
	int fd = new_file(dir);
	double t0 = now();
	off_t off = 0;

	for (size_t a = 0; a < size;) {
		size_t bytes = 0;
		for (; bytes < BATCH && a < size; a += 2 * PS, bytes += PS) {
			struct iovec l = { buf + bytes, PS }, r = { base + a, PS };
			if (process_vm_readv(pid, &l, 1, &r, 1, 0) != (ssize_t)PS)
				return -1;
		}
		if (fd >= 0 && pwrite(fd, buf, bytes, off) != (ssize_t)bytes)
			return -1;
		off += bytes;
	}
	double t = now() - t0;
	if (fd >= 0)
		close(fd);
	free(buf);
	return t / (off / PS) * 1e6;
}

/* the child vmsplices [base, base + size) into p[1] in 1 MiB pieces, waiting for go */
static double vmsplice_way(char *base, size_t size, const char *dir)
{
	int p[2], go[2];
	if (pipe(p) || pipe(go))
		return -1;
	fcntl(p[1], F_SETPIPE_SZ, 1 << 20);
	pid_t c = fork();
	if (!c) {
		char x;
		if (read(go[0], &x, 1) != 1)
			_exit(1);
		for (size_t a = 0; a < size;) {
			struct iovec v = { base + a, (size - a) < (1UL << 20) ? size - a : 1UL << 20 };
			ssize_t n = vmsplice(p[1], &v, 1, 0);
			if (n <= 0)
				_exit(1);
			a += n;
		}
		_exit(0);
	}
	close(p[1]);
	int fd = new_file(dir);
	if (fd < 0)
		fd = open("/dev/null", O_WRONLY);
	double t0 = now();
	if (write(go[1], "g", 1) != 1)
		return -1;
	loff_t off = 0;
	while (off < (loff_t)size) {
		ssize_t n = splice(p[0], NULL, fd, strcmp(dir, "none") ? &off : NULL, 1 << 20,
				   SPLICE_F_MOVE);
		if (n > 0 && !strcmp(dir, "none"))
			off += n;
		if (n <= 0)
			return -1;
	}
	double t = now() - t0;
	waitpid(c, NULL, 0);
	close(fd);
	close(p[0]);
	close(go[0]);
	close(go[1]);
	return t / (size / PS) * 1e6;
}

static double memcpy_way(char *base, size_t size)
{
	char *dst = malloc(size);
	memset(dst, 1, size);	/* faulted in before the clock starts */
	__asm__ volatile("" : : "r"(dst) : "memory");
	double t0 = now();
	memcpy(dst, base, size);
	__asm__ volatile("" : : "r"(dst) : "memory");	/* the copy is used */
	double t = now() - t0;
	free(dst);
	return t / (size / PS) * 1e6;
}

int main(int argc, char **argv)
{
	size_t size = (argc > 1 ? atol(argv[1]) : 512) << 20;
	const char *dir = argc > 2 ? argv[2] : "/dev/shm";
	char *base = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (base == MAP_FAILED)
		return 1;
	for (size_t a = 0; a < size; a += PS)
		memset(base + a, (int)(a / PS), 64);
	pid_t child = fork();
	if (!child) {
		pause();
		_exit(0);
	}
	const char *names[] = { "readv-contig", "readv-scatter", "readv-single", "vmsplice", "memcpy" };
	for (int w = 0; w < 5; w++) {
		double best = 1e9;
		for (int r = 0; r < 3; r++) {
			double us = w == 0 ? readv_way(child, base, size, dir, 1, 1) :
				    w == 1 ? readv_way(child, base, size, dir, 2, IOV_MAX) :
				    w == 2 ? readv_single(child, base, size, dir) :
				    w == 3 ? vmsplice_way(base, size, dir) : memcpy_way(base, size);
			if (us < 0) {
				perror(names[w]);
				break;
			}
			if (us < best)
				best = us;
		}
		printf("%s us_per_page=%.3f gbps=%.2f\n", names[w], best, PS / best / 1e3);
	}
	kill(child, SIGKILL);
	waitpid(child, NULL, 0);
	return 0;
}
