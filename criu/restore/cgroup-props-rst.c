/*
 * cgroup-props-rst.c - the saved settings of one cgroup written back
 * (restore.h: rst_cgprops_write), in the order they were saved (cpuset
 * first, memory limits before swap limits).  A value the kernel refuses
 * for now (a memory limit above the present swap limit, a quota against
 * the present period) is tried again once the others are written; a file
 * of several lines is written line by line; the device whitelist
 * (devices.list) as a deny of all, then each allow.
 */
#define LOG_PREFIX "restore: "
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "common/log.h"
#include "criu/restore/restore.h"

/* one line of value into name; errno on failure */
static int write_line(int dirfd, const char *name, const char *line, size_t n)
{
	int fd = openat(dirfd, name, O_WRONLY | O_CLOEXEC);
	if (fd < 0)
		return -1;
	ssize_t w = write(fd, line, n);
	int err = errno;
	close(fd);
	errno = err;
	return w == (ssize_t)n ? 0 : -1;
}

/*
 * devices.list (v1): every device denied, then each line of the saved
 * whitelist allowed ("a *:* rwm", all of them, is "a" to allow)
 */
static int write_devices(int dirfd, const char *list)
{
	if (write_line(dirfd, "devices.deny", "a", 1))
		return -1;
	for (const char *l = list; *l;) {
		const char *e = strchrnul(l, '\n');
		bool all = e - l == 9 && !strncmp(l, "a *:* rwm", 9);
		if (e > l && write_line(dirfd, "devices.allow", all ? "a" : l, all ? 1 : (size_t)(e - l)))
			return -1;
		l = *e ? e + 1 : e;
	}
	return 0;
}

static int write_setting(int dirfd, const CgroupSetting *s)
{
	if (!strcmp(s->name, "devices.list"))
		return write_devices(dirfd, s->value);
	for (const char *l = s->value; *l;) {
		const char *e = strchrnul(l, '\n');
		if (e > l && write_line(dirfd, s->name, l, e - l))
			return -1;
		l = *e ? e + 1 : e;
	}
	return 0;
}

int rst_cgprops_write(int dirfd, const char *dir, const CgroupDir *d)
{
	bool again[d->n_settings + 1];
	size_t left = 0;

	for (size_t i = 0; i < d->n_settings; i++) {
		again[i] = write_setting(dirfd, d->settings[i]) != 0;
		left += again[i];
	}
	for (size_t i = 0; left && i < d->n_settings; i++) {
		if (!again[i])
			continue;
		if (write_setting(dirfd, d->settings[i])) {
			pr_perror("cgroup %s: cannot set %s to '%s'", dir, d->settings[i]->name, d->settings[i]->value);
			return -1;
		}
		left--;
	}
	pr_debug("cgroup %s: %zu settings written", dir, d->n_settings);
	return 0;
}
