/*
 * uffdcopy.c - this machine's raw UFFDIO_COPY rate and uffd round trip,
 * the yardsticks of the lazy-pages daemon (bench/lazy.sh).
 *
 *   uffdcopy MIB
 *
 * copy:  MIB MiB of data already in memory (a filled buffer, as the page
 *        cache holds images) copied into a fresh area registered with a
 *        userfaultfd (MISSING mode), 2 MiB per UFFDIO_COPY: GB/s, best of 3.
 * fault: a thread touches 2000 pages of another registered area at random;
 *        the main thread serves each with a 4 KiB UFFDIO_COPY: the latency
 *        the toucher sees, p50 and p99, in microseconds.
 *
 * Prints one line: "uffdcopy: mib=.. copy_gbs=.. copy_worst_gbs=.. rt_p50_us=..
 * rt_p99_us=..".
 *
 *   uffdcopy MIB warm
 *
 * touches MIB MiB of fresh memory and frees it, printing nothing: on these
 * VMs memory the guest freed a while ago goes back to the host and costs a
 * host fault per page when touched again (a rate measured on it varies
 * several-fold), so bench/lazy.sh warms the memory before each timed run,
 * as the copy's best of 3 above runs on warm memory.
 */
#define _GNU_SOURCE
#include <fcntl.h>
#include <linux/userfaultfd.h>
#include <poll.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#define PAGE	4096UL
#define BATCH	(2UL << 20)
#define TOUCHES	2000

static double now_us(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1e6 + ts.tv_nsec / 1e3;
}

static int new_uffd(void *area, size_t size)
{
	int fd = syscall(SYS_userfaultfd, O_CLOEXEC | O_NONBLOCK);
	struct uffdio_api api = { .api = UFFD_API };
	struct uffdio_register reg = { .range = { (uint64_t)area, size },
				       .mode = UFFDIO_REGISTER_MODE_MISSING };
	if (fd < 0 || ioctl(fd, UFFDIO_API, &api) || ioctl(fd, UFFDIO_REGISTER, &reg)) {
		perror("uffdcopy: userfaultfd");
		exit(2);
	}
	return fd;
}

static int cmp(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return x < y ? -1 : x > y;
}

struct toucher {
	uint8_t *area;
	size_t pages;
	double lat[TOUCHES];
};

static void *touch(void *arg)
{
	struct toucher *t = arg;
	volatile uint64_t sink = 0;
	for (int k = 0; k < TOUCHES; k++) {
		size_t pg = (size_t)rand() % t->pages;
		double t0 = now_us();
		sink += *(volatile uint64_t *)(t->area + pg * PAGE);
		t->lat[k] = now_us() - t0;
	}
	(void)sink;
	return NULL;
}

int main(int argc, char **argv)
{
	size_t mib = argc > 1 ? strtoul(argv[1], NULL, 10) : 0, size = mib << 20;
	if (!mib) {
		fprintf(stderr, "usage: uffdcopy MIB [warm]\n");
		return 2;
	}
	if (argc > 2 && !strcmp(argv[2], "warm")) {
		uint8_t *m = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
		if (m == MAP_FAILED)
			return 2;
		memset(m, 1, size);
		return 0;
	}
	uint8_t *src = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (src == MAP_FAILED)
		return 2;
	memset(src, 0x5a, size);
	/* best of 3: the first touch of memory the guest has not used lately is slow */
	double copy_gbs = 0, worst_gbs = 0;
	for (int rep = 0; rep < 3; rep++) {
		uint8_t *dst = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
		if (dst == MAP_FAILED)
			return 2;
		int ufd = new_uffd(dst, size);
		double t0 = now_us();
		for (size_t off = 0; off < size; off += BATCH) {
			struct uffdio_copy c = { .dst = (uint64_t)dst + off, .src = (uint64_t)src + off,
						 .len = size - off < BATCH ? size - off : BATCH };
			if (ioctl(ufd, UFFDIO_COPY, &c)) {
				perror("uffdcopy: UFFDIO_COPY");
				return 2;
			}
		}
		double gbs = size / (now_us() - t0) / 1e3;
		if (gbs > copy_gbs)
			copy_gbs = gbs;
		if (!worst_gbs || gbs < worst_gbs)
			worst_gbs = gbs;
		close(ufd);
		munmap(dst, size);
	}

	/* round trip: one page per fault, served by this thread */
	static struct toucher t;
	t.pages = size / PAGE;
	t.area = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (t.area == MAP_FAILED)
		return 2;
	int ufd = new_uffd(t.area, size);
	pthread_t th;
	int joined = 0;
	pthread_create(&th, NULL, touch, &t);
	for (int served = 0; served < TOUCHES;) {
		struct pollfd p = { ufd, POLLIN, 0 };
		struct uffd_msg m;
		if (poll(&p, 1, 100) <= 0) {
			if (pthread_tryjoin_np(th, NULL) == 0) {
				joined = 1;
				break;	/* the rest touched pages already there */
			}
			continue;
		}
		if (read(ufd, &m, sizeof(m)) != sizeof(m) || m.event != UFFD_EVENT_PAGEFAULT)
			continue;
		struct uffdio_copy c = { .dst = m.arg.pagefault.address & ~(PAGE - 1),
					 .src = (uint64_t)src, .len = PAGE };
		ioctl(ufd, UFFDIO_COPY, &c);
		served++;
	}
	if (!joined)
		pthread_join(th, NULL);
	qsort(t.lat, TOUCHES, sizeof(double), cmp);
	printf("uffdcopy: mib=%zu copy_gbs=%.2f copy_worst_gbs=%.2f rt_p50_us=%.1f rt_p99_us=%.1f\n", mib, copy_gbs, worst_gbs,
	       t.lat[TOUCHES / 2], t.lat[TOUCHES * 99 / 100]);
	return 0;
}
