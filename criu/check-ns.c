/*
 * check-ns.c - the `criu check` probes of namespaces and cgroups: for
 * each namespace kind, whether criu handles a tree in one of its own (and
 * the kernel offers what that takes), and which cgroup versions are
 * mounted, for --freeze-cgroup and cgroup membership.  Probes run in
 * children that exit: criu's own namespaces never change.
 */
#include <errno.h>
#include <sched.h>
#include <netlink/route/link.h>
#include <netlink/route/link/veth.h>
#include <stdio.h>
#include <string.h>
#include <sys/ipc.h>
#include <sys/msg.h>
#include <sys/wait.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <fcntl.h>
#include <linux/openat2.h>
#include <time.h>
#include <unistd.h>

#include "criu/check.h"

/* runs fn in a child; its exit status (0: it worked) */
static int in_child(int (*fn)(void))
{
	int st;
	pid_t pid = fork();
	if (pid < 0)
		return -1;
	if (pid == 0)
		_exit(fn());
	while (waitpid(pid, &st, 0) < 0)
		if (errno != EINTR)
			return -1;
	return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

/* a new pid namespace, its init pid 1, and NSpid to read the levels */
static int try_pid(void)
{
	if (unshare(CLONE_NEWPID))
		return 1;
	pid_t c = fork();
	if (c == 0)
		_exit(getpid() == 1 && access("/proc/self/status", R_OK) == 0 ? 0 : 1);
	int st;
	return c > 0 && waitpid(c, &st, 0) == c && WIFEXITED(st) && !WEXITSTATUS(st) ? 0 : 2;
}

static int try_uts(void)
{
	return unshare(CLONE_NEWUTS) || sethostname("criu-check", 10) ? 1 : 0;
}

/* a new network namespace with a veth pair made with a chosen index
 * (what netns.img needs), through a route netlink socket */
static int try_net(void)
{
	if (unshare(CLONE_NEWNET))
		return 1;
	struct nl_sock *s = nl_socket_alloc();
	struct rtnl_link *l = rtnl_link_veth_alloc();
	if (!s || !l || nl_connect(s, NETLINK_ROUTE) < 0)
		return 2;
	rtnl_link_set_name(l, "criu-check");
	rtnl_link_set_ifindex(l, 77);
	if (rtnl_link_add(s, l, NLM_F_CREATE | NLM_F_EXCL) < 0)
		return 3;
	return 0;	/* the child exits: its namespace goes */
}

/* ids chosen through kernel.*_next_id and messages copied with MSG_COPY */
static int try_ipc(void)
{
	struct { long type; char text[4]; } m = { 1, "abc" };
	FILE *f;

	if (unshare(CLONE_NEWIPC) || !(f = fopen("/proc/sys/kernel/msg_next_id", "w")))
		return 1;
	if (fprintf(f, "7\n") < 0 || fclose(f))
		return 2;
	int id = msgget(IPC_PRIVATE, 0600);
	if (id != 7 || msgsnd(id, &m, 3, 0))
		return 3;
	return msgrcv(id, &m, sizeof(m.text), 0, IPC_NOWAIT | MSG_COPY) == 3 ? 0 : 4;
}

/* a time namespace with offsets set before its first task */
static int try_time(void)
{
	if (unshare(CLONE_NEWTIME))
		return 1;
	FILE *f = fopen("/proc/self/timens_offsets", "w");
	if (!f || fprintf(f, "monotonic 100 0\n") < 0 || fclose(f))
		return 2;
	pid_t c = fork();
	if (c == 0) {
		struct timespec ts;
		clock_gettime(CLOCK_MONOTONIC, &ts);
		_exit(ts.tv_sec >= 100 ? 0 : 1);
	}
	int st;
	return c > 0 && waitpid(c, &st, 0) == c && WIFEXITED(st) && !WEXITSTATUS(st) ? 0 : 3;
}

/* a new cgroup namespace rooted at the probe's cgroups */
static int try_cgroup(void)
{
	char in[4096];
	int fd = unshare(CLONE_NEWCGROUP) ? -1 : open("/proc/self/cgroup", O_RDONLY | O_CLOEXEC);
	ssize_t n = fd < 0 ? -1 : read(fd, in, sizeof(in) - 1);
	if (fd >= 0)
		close(fd);
	if (n <= 0)
		return 1;
	in[n] = 0;
	/* every hierarchy's path is its namespace's root */
	for (char *l = in; *l; l = strchr(l, '\n') + 1) {
		char *p = strchr(strchr(l, ':') + 1, ':') + 1;
		if (p[0] != '/' || p[1] != '\n')
			return 2;
		if (!strchr(l, '\n')[1])
			break;
	}
	return 0;
}

/* a new mount namespace: a tmpfs (over /tmp, in the probe's private copy), pivot_root into it, openat2 RESOLVE_IN_ROOT */
static int try_mnt(void)
{
	struct open_how how = { .flags = O_PATH, .resolve = RESOLVE_IN_ROOT };

	if (unshare(CLONE_NEWNS) || mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL))
		return 1;
	if (mount("tmpfs", "/tmp", "tmpfs", 0, "size=64k") || chdir("/tmp") || mkdir("d", 0755))
		return 2;
	if (syscall(SYS_openat2, AT_FDCWD, "/d", &how, sizeof(how)) < 0)
		return 3;
	return syscall(SYS_pivot_root, ".", ".") || umount2(".", MNT_DETACH) ? 4 : 0;
}

static const struct {
	int flag;
	const char *kind;
	int (*probe)(void);
	const char *what;
} kinds[] = {
	{ CLONE_NEWPID, "pid", try_pid, "a tree whose root is a namespace's init, and namespaces nested in it" },
	{ CLONE_NEWUTS, "uts", try_uts, "host and domain names" },
	{ CLONE_NEWIPC, "ipc", try_ipc, "sysctls, SysV shared memory, semaphores, message queues, POSIX message queues" },
	{ CLONE_NEWNS, "mount", try_mnt, "its mounts (tmpfs with contents, proc, sysfs, devpts, mqueue, "
	  "cgroup, binds, --external mnt[...]), built under --root and pivoted into" },
	{ CLONE_NEWNET, "network", try_net,
	  "devices (loopback, veth, macvlan, bridge, tun), addresses, routes, rules, neighbours, sysctls, "
	  "nftables ruleset" },
	{ CLONE_NEWCGROUP, "cgroup", try_cgroup,
	  "its root in each hierarchy (the tree root's, and those made below it), made again relative to --cgroup-root" },
	{ CLONE_NEWTIME, "time", try_time, "its clocks, going on from the dump's" },
	{ CLONE_NEWUSER, "user", NULL, NULL },
};

int chk_namespace(uint64_t flag, char *msg, size_t len)
{
	for (size_t i = 0; i < sizeof(kinds) / sizeof(kinds[0]); i++) {
		if ((uint64_t)kinds[i].flag != flag)
			continue;
		if (!kinds[i].probe) {
			snprintf(msg, len, "a tree in a %s namespace of its own is refused at dump: not supported yet",
				 kinds[i].kind);
			return 0;
		}
		int r = in_child(kinds[i].probe);
		if (r) {
			snprintf(msg, len, "a new %s namespace cannot be made or filled here (step %d failed)",
				 kinds[i].kind, r);
			return 0;
		}
		snprintf(msg, len, "saved and restored: %s", kinds[i].what);
		return 1;
	}
	snprintf(msg, len, "no such namespace kind");
	return 0;
}

/* arg 1: cgroup v1 hierarchies, 2: a cgroup2 one, as mounted here; v1 needs the freezer's */
int chk_cgroup(uint64_t version, char *msg, size_t len)
{
	const char *type = version == 2 ? " - cgroup2 " : " - cgroup ";
	char line[1024];
	int n = 0, freezer = 0;
	FILE *f = fopen("/proc/self/mountinfo", "re");

	while (f && fgets(line, sizeof(line), f)) {
		if (!strstr(line, type))
			continue;
		n++;
		freezer += version == 2 || strstr(line, "freezer") != NULL;
	}
	if (f)
		fclose(f);
	if (!n || !freezer) {
		snprintf(msg, len, "no cgroup v%lu %s mounted", (unsigned long)version,
			 n ? "freezer hierarchy" : "hierarchy");
		return 0;
	}
	snprintf(msg, len, "%d hierarch%s mounted: --freeze-cgroup freezes a tree through %s; "
		 "membership (threads' too) and settings saved, restored by --manage-cgroups "
		 "(none, props, soft, full, strict; ignore)",
		 n, n > 1 ? "ies" : "y", version == 2 ? "cgroup.freeze" : "freezer.state");
	return 1;
}
