/*
 * tunables.c - what a process sets on itself through /proc/PID and that
 * shows nowhere else: oom_score_adj, the audit loginuid (if set), the nice
 * value of its autogroup.  Read from outside while it is frozen; restored
 * by the new process itself (restore/proc-tunables.c: loginuid can only be
 * written by its own process).
 */
#define LOG_PREFIX "dump: "
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "criu/dump/dump.h"
#include "common/log.h"

/* the text of a small /proc/PID file, newline cut; -ENOENT if it is not there */
static int read_small(pid_t pid, const char *name, char *buf, size_t len)
{
	char path[64];

	snprintf(path, sizeof(path), "/proc/%d/%s", pid, name);
	if (access(path, F_OK))
		return errno == ENOENT ? -ENOENT : -1;
	ssize_t n = proc_read_file(pid, name, buf, len - 1);
	if (n < 0)
		return errno == ENOENT ? -ENOENT : -1;
	buf[n] = 0;
	buf[strcspn(buf, "\n")] = 0;
	return 0;
}

int dump_tunables(struct dump_proc *p)
{
	char buf[128], *s;
	int r;
	ProcTunables *pt = malloc(sizeof(*pt));

	if (!pt)
		return -1;
	proc_tunables__init(pt);
	p->core->tunables = pt;
	if (read_small(p->pid, "oom_score_adj", buf, sizeof(buf))) {
		pr_err("pid %d: cannot read its oom_score_adj", p->pid);
		return -1;
	}
	pt->oom_score_adj = atoi(buf);
	r = read_small(p->pid, "loginuid", buf, sizeof(buf));
	if (r == 0 && strtoul(buf, NULL, 10) != 4294967295UL) {
		pt->has_loginuid = true;
		pt->loginuid = strtoul(buf, NULL, 10);
	} else if (r && r != -ENOENT) {
		pr_err("pid %d: cannot read its loginuid", p->pid);
		return -1;
	}
	/* "/autogroup-123 nice 7" */
	r = read_small(p->pid, "autogroup", buf, sizeof(buf));
	if (r == 0 && (s = strstr(buf, " nice "))) {
		pt->has_autogroup_nice = true;
		pt->autogroup_nice = atoi(s + 6);
	} else if (r && r != -ENOENT) {
		pr_err("pid %d: cannot read its autogroup", p->pid);
		return -1;
	}
	return 0;
}
