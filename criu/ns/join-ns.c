/*
 * join-ns.c - --join-ns NS:FILE at restore (see join-ns.h): the argument
 * parsed, the namespace file opened and checked to be of that kind.
 */
#define LOG_PREFIX ""
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>
#include <linux/nsfs.h>

#include "common/log.h"
#include "criu/ns/join-ns.h"
#include "criu/opts.h"

static const struct {
	const char *name;
	int flag;
} kinds[] = { { "uts", CLONE_NEWUTS }, { "ipc", CLONE_NEWIPC } };

/* NS of "NS:FILE" (its flag), FILE into *file; 0 or -1 with the reason in why */
static int parse(const char *arg, int *flag, const char **file, const char **why)
{
	const char *colon = strchr(arg, ':');

	*why = "expected NS:FILE or NS:PID with NS uts or ipc";
	if (!colon || colon == arg || !colon[1])
		return -1;
	*file = colon + 1;
	if (strchr(*file, ',')) {
		*why = "extra options (,...) are for user namespaces, which are not supported";
		return -1;
	}
	for (size_t i = 0; i < sizeof(kinds) / sizeof(kinds[0]); i++)
		if (strlen(kinds[i].name) == (size_t)(colon - arg) && !strncmp(arg, kinds[i].name, colon - arg)) {
			*flag = kinds[i].flag;
			return 0;
		}
	if (!strncmp(arg, "net:", 4))
		*why = "a network namespace is joined as an external one: --external net[INODE]:KEY at dump, "
		       "--inherit-fd fd[N]:KEY at restore";
	else
		*why = "only uts and ipc namespaces can be joined";
	return -1;
}

int join_ns_check_arg(const char *arg)
{
	int flag;
	const char *file, *why;

	if (!parse(arg, &flag, &file, &why))
		return 0;
	fprintf(stderr, "error: --join-ns %s: %s\n", arg, why);
	return -1;
}

static int open_one(const char *arg, int flag, const char *file)
{
	char path[64], *end;
	long pid = strtol(file, &end, 10);
	const char *name = flag == CLONE_NEWUTS ? "uts" : "ipc";

	if (!*end && pid > 0) {
		snprintf(path, sizeof(path), "/proc/%ld/ns/%s", pid, name);
		file = path;
	}
	int fd = open(file, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		pr_perror("--join-ns %s: cannot open %s", arg, file);
		return -1;
	}
	int type = ioctl(fd, NS_GET_NSTYPE);
	if (type != flag) {
		pr_err("--join-ns %s: %s is not a %s namespace", arg, file, name);
		close(fd);
		return -1;
	}
	return fd;
}

int join_ns_open(const struct opts *o, int *uts, int *ipc)
{
	*uts = *ipc = -1;
	for (int i = 0; i < o->nr_join_ns; i++) {
		int flag, *slot;
		const char *file, *why;
		if (parse(o->join_ns[i], &flag, &file, &why)) {
			pr_err("--join-ns %s: %s", o->join_ns[i], why);
			goto fail;
		}
		slot = flag == CLONE_NEWUTS ? uts : ipc;
		if (*slot >= 0) {
			pr_err("--join-ns %s: a second namespace of that kind to join", o->join_ns[i]);
			goto fail;
		}
		if ((*slot = open_one(o->join_ns[i], flag, file)) < 0)
			goto fail;
	}
	return 0;
fail:
	if (*uts >= 0)
		close(*uts);
	if (*ipc >= 0)
		close(*ipc);
	*uts = *ipc = -1;
	return -1;
}
