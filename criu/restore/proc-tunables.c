/*
 * proc-tunables.c - what the process had set on itself through /proc/PID
 * (Core.tunables, dump/tunables.c), set again by the new process itself,
 * still in criu's code (rst_child): its oom_score_adj, its audit loginuid
 * (only a process can set its own), and, for a session leader (whose
 * setsid made the autogroup just now), the nice value of its autogroup.
 * A process that does not lead its session shares the autogroup of a
 * session outside the tree: that is left as it is.  Returns -1 with one
 * line logged.
 */
#define LOG_PREFIX "restore: "
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/log.h"
#include "criu/restore/restore.h"

/* writes "value" to /proc/self/NAME unless it reads the same already */
static int set_self(pid_t pid, const char *name, const char *value, const char *cur)
{
	char path[64];

	if (cur && !strcmp(cur, value))
		return 0;
	snprintf(path, sizeof(path), "/proc/self/%s", name);
	int fd = open(path, O_WRONLY | O_CLOEXEC);
	ssize_t n = fd < 0 ? -1 : write(fd, value, strlen(value));
	int e = errno;
	if (fd >= 0)
		close(fd);
	if (n != (ssize_t)strlen(value)) {
		errno = e;
		pr_perror("pid %d: cannot set its %s to %s", pid, name, value);
		return -1;
	}
	return 0;
}

static void read_self(const char *name, char *buf, size_t len)
{
	char path[64];

	buf[0] = 0;
	snprintf(path, sizeof(path), "/proc/self/%s", name);
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return;
	ssize_t n = read(fd, buf, len - 1);
	close(fd);
	buf[n > 0 ? n : 0] = 0;
	buf[strcspn(buf, "\n")] = 0;
}

int rst_proc_tunables(const struct rst_proc *p)
{
	const ProcTunables *pt = p->core->tunables;
	char v[32], cur[128];

	if (!pt)
		return 0;
	snprintf(v, sizeof(v), "%d", pt->oom_score_adj);
	read_self("oom_score_adj", cur, sizeof(cur));
	if (set_self(p->pid, "oom_score_adj", v, cur))
		return -1;
	snprintf(v, sizeof(v), "%u", pt->has_loginuid ? pt->loginuid : 4294967295U);
	read_self("loginuid", cur, sizeof(cur));
	if (cur[0] && set_self(p->pid, "loginuid", v, cur))
		return -1;
	if (pt->has_autogroup_nice && p->pe->sid == (uint32_t)p->pid) {
		read_self("autogroup", cur, sizeof(cur));
		char *s = strstr(cur, " nice ");
		snprintf(v, sizeof(v), "%d", pt->autogroup_nice);
		if (s && set_self(p->pid, "autogroup", v, s + 6))
			return -1;
	}
	return 0;
}
