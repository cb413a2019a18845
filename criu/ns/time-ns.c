/*
 * time-ns.c - the time namespace of a tree: at dump its clocks
 * (CLOCK_MONOTONIC and CLOCK_BOOTTIME as seen inside: criu's plus the
 * offsets of /proc/PID/timens_offsets) into timens.img; at restore criu
 * makes a new one for its next child (unshare(CLONE_NEWTIME)), sets
 * offsets so that those clocks go on from where they were at the dump,
 * creates the root in it, and goes back to its own.
 */
#define LOG_PREFIX ""
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "images/image.h"
#include "common/log.h"
#include "criu/ns/ns-img.h"

static int64_t now_ns(clockid_t c)
{
	struct timespec ts;
	clock_gettime(c, &ts);
	return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

/* the offsets of pid's time namespace */
static int read_offsets(pid_t pid, int64_t *mono, int64_t *boot)
{
	char path[64], name[32];
	long long s, ns;
	int n = 0;

	snprintf(path, sizeof(path), "/proc/%d/timens_offsets", pid);
	FILE *f = fopen(path, "re");
	if (!f) {
		pr_perror("pid %d: cannot read %s", pid, path);
		return -1;
	}
	while (fscanf(f, "%31s %lld %lld", name, &s, &ns) == 3) {
		int64_t v = s * 1000000000 + ns;
		if (!strcmp(name, "monotonic"))
			*mono = v, n++;
		else if (!strcmp(name, "boottime"))
			*boot = v, n++;
	}
	fclose(f);
	if (n != 2)
		pr_err("pid %d: %s does not hold monotonic and boottime offsets", pid, path);
	return n == 2 ? 0 : -1;
}

int time_ns_dump(pid_t root, int dirfd, uint64_t dump_id)
{
	TimeNsEntry e = TIME_NS_ENTRY__INIT;
	struct img_writer *w;

	if (read_offsets(root, &e.monotonic_offset_ns, &e.boottime_offset_ns))
		return -1;
	e.monotonic_ns = now_ns(CLOCK_MONOTONIC) + e.monotonic_offset_ns;
	e.boottime_ns = now_ns(CLOCK_BOOTTIME) + e.boottime_offset_ns;
	if (img_writer_open(dirfd, IMG_TIMENS, 0, dump_id, &w))
		return -1;
	if (img_write(w, &e.base)) {
		img_writer_abort(w);
		return -1;
	}
	return img_writer_close(w);
}

int time_ns_enter(const TimeNsEntry *e, int *own)
{
	int64_t mono = e->monotonic_ns - now_ns(CLOCK_MONOTONIC);
	int64_t boot = e->boottime_ns - now_ns(CLOCK_BOOTTIME);
	char buf[128];

	*own = open("/proc/self/ns/time", O_RDONLY | O_CLOEXEC);
	if (*own < 0 || unshare(CLONE_NEWTIME)) {
		pr_perror("timens.img: cannot make a new time namespace");
		return -1;
	}
	/* "clock seconds nanoseconds", nanoseconds in [0, 1e9) */
	int n = snprintf(buf, sizeof(buf), "monotonic %lld %lld\nboottime %lld %lld\n",
			 (long long)(mono >= 0 ? mono / 1000000000 : -((-mono + 999999999) / 1000000000)),
			 (long long)(((mono % 1000000000) + 1000000000) % 1000000000),
			 (long long)(boot >= 0 ? boot / 1000000000 : -((-boot + 999999999) / 1000000000)),
			 (long long)(((boot % 1000000000) + 1000000000) % 1000000000));
	int fd = open("/proc/self/timens_offsets", O_WRONLY | O_CLOEXEC);
	if (fd < 0 || write(fd, buf, n) != n) {
		pr_perror("timens.img: cannot set the time namespace's offsets (%.*s)", n - 1, buf);
		if (fd >= 0)
			close(fd);
		return -1;
	}
	close(fd);
	return 0;
}

void time_ns_leave(int own)
{
	if (own < 0)
		return;
	if (setns(own, CLONE_NEWTIME))
		pr_perror("cannot go back to criu's own time namespace");
	close(own);
}
