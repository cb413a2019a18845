/*
 * empty-ns.c - --empty-ns (runc passes CLONE_NEWNET): namespaces the caller
 * says hold nothing.  Dump: with --empty-ns net, the tree's own network
 * namespace must hold no device but lo (refused with one line naming the
 * others); it is then saved and made again as any other (criu/net/netns-*.c,
 * which owns network namespaces' contents); restore accepts the option.
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

int empty_ns_check_net(pid_t root, unsigned long ino)
{
	char path[64], bad[256];
	int pfd[2], status;

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
