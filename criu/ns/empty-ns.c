/*
 * empty-ns.c - --empty-ns (runc passes CLONE_NEWNET): namespaces the caller
 * says hold nothing to save.  Dump: a tree whose network namespace is not
 * criu's is accepted only with --empty-ns net, and only if that namespace
 * holds no device but lo; restore: the root is made in a new network
 * namespace with lo up.  Saving a network namespace's contents is the
 * network code's (criu/net/), not this file's.
 */
#define LOG_PREFIX ""
#include <errno.h>
#include <fcntl.h>
#include <net/if.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include "common/log.h"
#include "criu/ns/empty-ns.h"
#include "criu/ns/mnt-opts.h"

int empty_ns_parse(uint32_t *flags, const char *arg)
{
	char *end;
	unsigned long v;

	if (!strcmp(arg, "net")) {
		*flags |= CLONE_NEWNET;
		return 0;
	}
	v = strtoul(arg, &end, 0);
	if (*end || v != CLONE_NEWNET) {
		fprintf(stderr, "error: --empty-ns %s: only 'net' (CLONE_NEWNET, %#x) is supported\n", arg,
			CLONE_NEWNET);
		return -1;
	}
	*flags |= v;
	return 0;
}

/* in a helper inside the namespace: the names of its devices other than lo, into bad */
static int list_devices(int nsfd, char *bad, size_t len)
{
	struct if_nameindex *ifs, *i;
	size_t n = 0;

	if (setns(nsfd, CLONE_NEWNET))
		return -1;
	ifs = if_nameindex();
	if (!ifs)
		return -1;
	bad[0] = 0;
	for (i = ifs; i->if_index; i++)
		if (strcmp(i->if_name, "lo") && n + strlen(i->if_name) + 2 < len)
			n += snprintf(bad + n, len - n, "%s%s", n ? "," : "", i->if_name);
	if_freenameindex(ifs);
	return 0;
}

int empty_ns_check_net(pid_t root, unsigned long ino, const struct mnt_opts *m)
{
	char path[64], bad[256];
	int pfd[2], status;

	if (!(m->empty_ns & CLONE_NEWNET)) {
		pr_err("pid %d: network namespace net:[%lu] differs from criu's: its contents are not saved "
		       "(with only lo in it, say --empty-ns net)", root, ino);
		return -1;
	}
	snprintf(path, sizeof(path), "/proc/%d/ns/net", root);
	int nsfd = open(path, O_RDONLY | O_CLOEXEC);
	if (nsfd < 0 || pipe2(pfd, O_CLOEXEC)) {
		pr_perror("pid %d: cannot open %s", root, path);
		if (nsfd >= 0)
			close(nsfd);
		return -1;
	}
	pid_t h = fork();
	if (h == 0) {
		int r = list_devices(nsfd, bad, sizeof(bad));
		if (r || write(pfd[1], bad, strlen(bad) + 1) < 0)
			_exit(1);
		_exit(0);
	}
	close(pfd[1]);
	close(nsfd);
	ssize_t got = h > 0 ? read(pfd[0], bad, sizeof(bad) - 1) : -1;
	close(pfd[0]);
	if (h > 0)
		while (waitpid(h, &status, 0) < 0 && errno == EINTR)
			;
	if (h < 0 || got <= 0) {
		pr_err("pid %d: cannot list the devices of its network namespace net:[%lu]", root, ino);
		return -1;
	}
	bad[got] = 0;
	if (bad[0]) {
		pr_err("pid %d: network namespace net:[%lu] holds devices other than lo (%s): --empty-ns net "
		       "is for an empty one; its contents cannot be saved", root, ino, bad);
		return -1;
	}
	return 0;
}

int empty_ns_restore_net(void)
{
	struct ifreq ifr = { 0 };
	int s = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);

	snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "lo");
	if (s < 0 || ioctl(s, SIOCGIFFLAGS, &ifr)) {
		pr_perror("cannot read the flags of lo in the new network namespace");
		if (s >= 0)
			close(s);
		return -1;
	}
	ifr.ifr_flags |= IFF_UP;
	if (ioctl(s, SIOCSIFFLAGS, &ifr)) {
		pr_perror("cannot bring lo up in the new network namespace");
		close(s);
		return -1;
	}
	close(s);
	return 0;
}
