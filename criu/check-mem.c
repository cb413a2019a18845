/*
 * check-mem.c - `criu check` probes for memory interfaces: userfaultfd and
 * its feature bits, the PAGEMAP_SCAN ioctl, asynchronous uffd write-protect
 * dirty tracking, soft-dirty bits, and which dirty tracking method works.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "criu/check.h"
#include "common/compat.h"

#define PM_SOFT_DIRTY_BIT	55

static size_t page_size(void)
{
	return sysconf(_SC_PAGESIZE);
}

/*
 * A new userfaultfd: the syscall restricted to user-mode faults first (it
 * needs no privilege), then the plain syscall, then /dev/userfaultfd.
 * Returns the fd or -errno of the first attempt; *how says which worked.
 */
static int uffd_open(int flags, const char **how)
{
	int fd = syscall(SYS_userfaultfd, flags | UFFD_USER_MODE_ONLY), err = errno;

	*how = "userfaultfd syscall, user-mode faults only";
	if (fd >= 0)
		return fd;
	fd = syscall(SYS_userfaultfd, flags);
	*how = "userfaultfd syscall";
	if (fd >= 0)
		return fd;
	int dev = open("/dev/userfaultfd", O_RDWR | O_CLOEXEC);
	if (dev >= 0) {
		fd = ioctl(dev, USERFAULTFD_IOC_NEW, flags);
		close(dev);
		*how = "/dev/userfaultfd";
		if (fd >= 0)
			return fd;
	}
	return -err;
}

/* the result of one UFFDIO_API handshake, shared by all uffd feature lines */
static struct {
	int done, ok;
	uint64_t features;
	const char *how;
	char why[128];
} api;

static void uffd_probe_api(void)
{
	struct uffdio_api a = { .api = UFFD_API, .features = 0 };
	int fd;

	if (api.done)
		return;
	api.done = 1;
	fd = uffd_open(O_CLOEXEC | O_NONBLOCK, &api.how);
	if (fd < 0) {
		snprintf(api.why, sizeof(api.why), "userfaultfd: %s%s", strerror(-fd),
			 fd == -ENOSYS ? " (kernel built without CONFIG_USERFAULTFD)" : "");
		return;
	}
	if (ioctl(fd, UFFDIO_API, &a)) {
		snprintf(api.why, sizeof(api.why), "UFFDIO_API: %s", strerror(errno));
	} else {
		api.ok = 1;
		api.features = a.features;
	}
	close(fd);
}

int chk_userfaultfd(uint64_t arg, char *msg, size_t len)
{
	(void)arg;
	uffd_probe_api();
	snprintf(msg, len, "%s", api.ok ? api.how : api.why);
	return api.ok;
}

int chk_uffd_feature(uint64_t bit, char *msg, size_t len)
{
	uffd_probe_api();
	if (!api.ok) {
		snprintf(msg, len, "no userfaultfd: %s", api.why);
		return 0;
	}
	if (!(api.features & bit)) {
		snprintf(msg, len, "UFFDIO_API does not offer feature bit 0x%llx",
			 (unsigned long long)bit);
		return 0;
	}
	return 1;
}

/* PAGEMAP_SCAN over [start, end); returns the number of regions or -errno */
static long pagemap_scan(int fd, char *start, char *end, uint64_t flags, uint64_t mask,
			 struct page_region *vec, size_t nr, uint64_t *walk_end)
{
	struct pm_scan_arg a = {
		.size = sizeof(a),
		.flags = flags,
		.start = (uintptr_t)start,
		.end = (uintptr_t)end,
		.vec = (uintptr_t)vec,
		.vec_len = nr,
		.category_mask = mask,
		.return_mask = mask,
	};
	long n = ioctl(fd, PAGEMAP_SCAN, &a);

	if (walk_end)
		*walk_end = a.walk_end;
	return n < 0 ? -errno : n;
}

/* checks that the scan found exactly pages first and second of p */
static int two_pages(long n, const struct page_region *r, char *p, size_t first,
		     size_t second, char *msg, size_t len)
{
	size_t ps = page_size();

	if (n < 0) {
		snprintf(msg, len, "PAGEMAP_SCAN: %s%s", strerror(-n),
			 n == -ENOTTY ? " (kernel older than 6.7)" : "");
		return 0;
	}
	if (n != 2 || r[0].start != (uintptr_t)(p + first * ps) ||
	    r[0].end != r[0].start + ps || r[1].start != (uintptr_t)(p + second * ps) ||
	    r[1].end != r[1].start + ps) {
		snprintf(msg, len, "PAGEMAP_SCAN reported %ld regions, expected pages %zu and %zu",
			 n, first, second);
		return 0;
	}
	return 1;
}

int chk_pagemap_scan(uint64_t arg, char *msg, size_t len)
{
	size_t ps = page_size();
	struct page_region r[4];
	uint64_t walk_end = 0;
	int fd, ok = 0;
	char *p;

	(void)arg;
	fd = open("/proc/self/pagemap", O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		snprintf(msg, len, "/proc/self/pagemap: %s", strerror(errno));
		return 0;
	}
	p = mmap(NULL, 4 * ps, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (p == MAP_FAILED) {
		snprintf(msg, len, "mmap: %s", strerror(errno));
		close(fd);
		return 0;
	}
	p[0] = 1;
	p[2 * ps] = 1;
	long n = pagemap_scan(fd, p, p + 4 * ps, 0, PAGE_IS_PRESENT, r, 4, &walk_end);
	ok = two_pages(n, r, p, 0, 2, msg, len);
	if (ok && walk_end != (uintptr_t)(p + 4 * ps)) {
		snprintf(msg, len, "PAGEMAP_SCAN stopped early at 0x%llx", (unsigned long long)walk_end);
		ok = 0;
	}
	munmap(p, 4 * ps);
	close(fd);
	return ok;
}

int chk_uffd_wp(uint64_t arg, char *msg, size_t len)
{
	size_t ps = page_size(), size = 4 * ps;
	struct uffdio_api a = {
		.api = UFFD_API,
		.features = UFFD_FEATURE_WP_ASYNC | UFFD_FEATURE_WP_UNPOPULATED,
	};
	struct page_region r[4];
	int uffd = -1, pm = -1, ok = 0;
	const char *how;
	char *p = MAP_FAILED;
	long n;

	(void)arg;
	uffd = uffd_open(O_CLOEXEC | O_NONBLOCK, &how);
	if (uffd < 0) {
		snprintf(msg, len, "userfaultfd: %s", strerror(-uffd));
		return 0;
	}
	if (ioctl(uffd, UFFDIO_API, &a)) {
		snprintf(msg, len, "UFFDIO_API with WP_ASYNC|WP_UNPOPULATED: %s", strerror(errno));
		goto out;
	}
	pm = open("/proc/self/pagemap", O_RDONLY | O_CLOEXEC);
	if (pm < 0) {
		snprintf(msg, len, "/proc/self/pagemap: %s", strerror(errno));
		goto out;
	}
	p = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (p == MAP_FAILED) {
		snprintf(msg, len, "mmap: %s", strerror(errno));
		goto out;
	}
	struct uffdio_register reg = {
		.range = { (uintptr_t)p, size },
		.mode = UFFDIO_REGISTER_MODE_WP,
	};
	if (ioctl(uffd, UFFDIO_REGISTER, &reg)) {
		snprintf(msg, len, "UFFDIO_REGISTER_MODE_WP: %s", strerror(errno));
		goto out;
	}
	struct uffdio_writeprotect wp = {
		.range = { (uintptr_t)p, size },
		.mode = UFFDIO_WRITEPROTECT_MODE_WP,
	};
	if (ioctl(uffd, UFFDIO_WRITEPROTECT, &wp)) {
		snprintf(msg, len, "UFFDIO_WRITEPROTECT: %s", strerror(errno));
		goto out;
	}
	p[ps] = 1;
	p[3 * ps] = 1;
	n = pagemap_scan(pm, p, p + size, PM_SCAN_WP_MATCHING | PM_SCAN_CHECK_WPASYNC,
			 PAGE_IS_WRITTEN, r, 4, NULL);
	if (!two_pages(n, r, p, 1, 3, msg, len))
		goto out;
	/* the scan write-protected them again: nothing is written now */
	n = pagemap_scan(pm, p, p + size, 0, PAGE_IS_WRITTEN, r, 4, NULL);
	if (n != 0) {
		snprintf(msg, len, "pages still written after a write-protecting scan (%ld regions)", n);
		goto out;
	}
	ok = 1;
out:
	if (p != MAP_FAILED)
		munmap(p, size);
	if (pm >= 0)
		close(pm);
	close(uffd);
	return ok;
}

/* the soft-dirty bit of the page at addr; -errno on error */
static int soft_dirty_bit(int pm, const void *addr)
{
	uint64_t e;
	off_t off = (uintptr_t)addr / page_size() * sizeof(e);

	if (pread(pm, &e, sizeof(e), off) != sizeof(e))
		return -EIO;
	return (e >> PM_SOFT_DIRTY_BIT) & 1;
}

static int clear_soft_dirty(int cr)
{
	return pwrite(cr, "4", 1, 0) == 1 ? 0 : -errno;
}

int chk_soft_dirty(uint64_t arg, char *msg, size_t len)
{
	size_t ps = page_size();
	int cr, pm = -1, ok = 0, ret;
	volatile char *p = MAP_FAILED;

	(void)arg;
	cr = open("/proc/self/clear_refs", O_WRONLY | O_CLOEXEC);
	if (cr < 0) {
		snprintf(msg, len, "/proc/self/clear_refs: %s", strerror(errno));
		return 0;
	}
	pm = open("/proc/self/pagemap", O_RDONLY | O_CLOEXEC);
	if (pm < 0) {
		snprintf(msg, len, "/proc/self/pagemap: %s", strerror(errno));
		goto out;
	}
	p = mmap(NULL, ps, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (p == MAP_FAILED) {
		snprintf(msg, len, "mmap: %s", strerror(errno));
		goto out;
	}
	p[0] = 1;
	if ((ret = clear_soft_dirty(cr))) {
		snprintf(msg, len, "/proc/self/clear_refs does not accept 4: %s", strerror(-ret));
		goto out;
	}
	if (soft_dirty_bit(pm, (void *)p) != 0) {
		snprintf(msg, len, "pagemap bit 55 still set after clearing soft-dirty bits");
		goto out;
	}
	p[0] = 2;
	if (soft_dirty_bit(pm, (void *)p) != 1) {
		snprintf(msg, len, "pagemap bit 55 not set by a write after clearing: "
			 "kernel built without CONFIG_MEM_SOFT_DIRTY?");
		goto out;
	}
	ok = 1;
out:
	if (p != MAP_FAILED)
		munmap((void *)p, ps);
	if (pm >= 0)
		close(pm);
	close(cr);
	return ok;
}

int chk_mem_dirty_track(uint64_t arg, char *msg, size_t len)
{
	char wp[200], sd[200];

	(void)arg;
	if (check_feature("uffd_wp", wp, sizeof(wp))) {
		snprintf(msg, len, "uffd-wp async + PAGEMAP_SCAN");
		return 1;
	}
	if (check_feature("soft_dirty", sd, sizeof(sd))) {
		snprintf(msg, len, "soft-dirty bits in pagemap");
		return 1;
	}
	snprintf(msg, len, "neither uffd_wp nor soft_dirty works");
	return 0;
}

/* the writer of chk_live_snapshot: its write must wait for the handler */
static void *wp_writer(void *arg)
{
	*(volatile char *)arg = 7;
	return NULL;
}

/*
 * What --live-snapshot needs: a synchronous write-protect uffd catching
 * kernel faults too (no UFFD_USER_MODE_ONLY), with WP_UNPOPULATED and the
 * unmap/remove/remap events.  A thread writes a protected, never touched
 * page: the write must wait, arrive as a WP fault, and go on once the
 * protection is removed.
 */
int chk_live_snapshot(uint64_t arg, char *msg, size_t len)
{
	size_t ps = page_size();
	struct uffdio_api a = {
		.api = UFFD_API,
		.features = UFFD_FEATURE_WP_UNPOPULATED | UFFD_FEATURE_EVENT_REMAP |
			    UFFD_FEATURE_EVENT_REMOVE | UFFD_FEATURE_EVENT_UNMAP,
	};
	int uffd, ok = 0;
	char *p = MAP_FAILED;
	pthread_t th;
	bool started = false;

	(void)arg;
	uffd = syscall(SYS_userfaultfd, O_CLOEXEC | O_NONBLOCK);
	if (uffd < 0) {
		snprintf(msg, len, "userfaultfd for kernel faults: %s", strerror(errno));
		return 0;
	}
	if (ioctl(uffd, UFFDIO_API, &a)) {
		snprintf(msg, len, "UFFDIO_API with WP_UNPOPULATED and events: %s", strerror(errno));
		goto out;
	}
	p = mmap(NULL, ps, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (p == MAP_FAILED) {
		snprintf(msg, len, "mmap: %s", strerror(errno));
		goto out;
	}
	struct uffdio_register reg = { .range = { (uintptr_t)p, ps }, .mode = UFFDIO_REGISTER_MODE_WP };
	struct uffdio_writeprotect wp = { .range = { (uintptr_t)p, ps }, .mode = UFFDIO_WRITEPROTECT_MODE_WP };
	if (ioctl(uffd, UFFDIO_REGISTER, &reg) || ioctl(uffd, UFFDIO_WRITEPROTECT, &wp)) {
		snprintf(msg, len, "write-protecting an untouched page: %s", strerror(errno));
		goto out;
	}
	if (pthread_create(&th, NULL, wp_writer, p)) {
		snprintf(msg, len, "pthread_create failed");
		goto out;
	}
	started = true;
	struct pollfd pf = { uffd, POLLIN, 0 };
	struct uffd_msg m;
	if (poll(&pf, 1, 2000) != 1 || read(uffd, &m, sizeof(m)) != sizeof(m) ||
	    m.event != UFFD_EVENT_PAGEFAULT || !(m.arg.pagefault.flags & UFFD_PAGEFAULT_FLAG_WP)) {
		snprintf(msg, len, "the write to a protected page did not wait as a write-protect fault");
		goto out;
	}
	if (p[0] != 0) {
		snprintf(msg, len, "the write went through before the protection was removed");
		goto out;
	}
	wp.mode = 0;
	if (ioctl(uffd, UFFDIO_WRITEPROTECT, &wp)) {
		snprintf(msg, len, "removing the protection: %s", strerror(errno));
		goto out;
	}
	ok = 1;
out:
	close(uffd);	/* also wakes the writer if it still waits */
	if (started)
		pthread_join(th, NULL);
	if (ok && p[0] != 7) {
		snprintf(msg, len, "the write was lost");
		ok = 0;
	}
	if (p != MAP_FAILED)
		munmap(p, ps);
	return ok;
}
