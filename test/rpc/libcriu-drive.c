/*
 * libcriu-drive.c - criu's command line for dump and restore, carried out
 * through libcriu (lib/) as crun does it: each option becomes the setter
 * crun calls (criu_set_root, criu_add_ext_mount, criu_add_external,
 * criu_join_ns_add, criu_set_empty_ns, criu_set_freeze_cgroup,
 * criu_set_manage_cgroups(_mode), criu_add_inherit_fd, criu_set_network_lock,
 * criu_set_tcp_established, criu_set_tcp_close), then criu_dump or
 * criu_restore_child.  Lets the shell tests run a container scenario
 * through the library (test/mntns.sh, mntns/runc_libcriu).
 *
 *   libcriu-drive CRIU dump -t PID -D DIR [-o LOG] [-vN] [OPTIONS]
 *   libcriu-drive CRIU restore -D DIR [-o LOG] [-vN] [-d] [--pidfile F] [OPTIONS]
 *   libcriu-drive CRIU ACTION ARGS...   (anything else: exec CRIU as is)
 *
 * OPTIONS: --root DIR, --external mnt[KEY]:VAL (criu_add_ext_mount),
 * --external KEY (criu_add_external), --join-ns NS:FILE, --empty-ns net,
 * --freeze-cgroup PATH, --manage-cgroups [MODE], --inherit-fd fd[N]:KEY,
 * --network-lock M, --tcp-established, --tcp-close.  Any other option is
 * an error (exit 2): nothing is passed on unseen.  Exit 0 on success; on
 * failure criu's reason (criu_get_last_error) on stderr and exit 1.
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "lib/criu.h"

struct drive {
	const char *action, *dir, *log, *pidfile;
	int pid, level;
};

static int fail(const char *what, int r)
{
	const char *why = criu_get_last_error();
	fprintf(stderr, "error: %s: %d %s\n", what, r, why ? why : strerror(r < 0 ? -r : r));
	return 1;
}

static int cg_mode(const char *m)
{
	static const char *const names[] = { "ignore", "none", "props", "soft", "full", "strict" };
	for (int i = 0; i < 6; i++)
		if (!strcmp(m, names[i]))
			return i;
	return -1;
}

static int lock_method(const char *m)
{
	return !strcmp(m, "iptables") ? CRIU_NETWORK_LOCK_IPTABLES
	       : !strcmp(m, "nftables") ? CRIU_NETWORK_LOCK_NFTABLES
	       : !strcmp(m, "skip") ? CRIU_NETWORK_LOCK_SKIP : -1;
}

/* --external: a mount (KEY and VAL of mnt[KEY]:VAL) or anything else */
static int external(const char *arg)
{
	char key[4096];
	const char *end;

	if (strncmp(arg, "mnt[", 4) || !(end = strstr(arg, "]:")) || end - arg - 4 >= (long)sizeof(key))
		return criu_add_external(arg);
	memcpy(key, arg + 4, end - arg - 4);
	key[end - arg - 4] = 0;
	return criu_add_ext_mount(key, end + 2);
}

static int inherit(const char *arg)
{
	int fd, n = 0;

	if (sscanf(arg, "fd[%d]:%n", &fd, &n) != 1 || !n)
		return -EINVAL;
	return criu_add_inherit_fd(fd, arg + n);
}

static int one_option(int c, const char *arg, struct drive *d)
{
	switch (c) {
	case 't': d->pid = atoi(arg); return 0;
	case 'D': d->dir = arg; return 0;
	case 'o': d->log = arg; return criu_set_log_file(arg);
	case 'v': d->level = arg ? atoi(arg) : 4; return 0;
	case 'd': return 0;	/* criu_restore_child answers once the tree runs */
	case 1: d->pidfile = arg; return 0;
	case 2: return criu_set_root(arg);
	case 3: return external(arg);
	case 5: return strcmp(arg, "net") ? -EINVAL : criu_set_empty_ns(CLONE_NEWNET);
	case 6: return criu_set_freeze_cgroup(arg);
	case 7:
		criu_set_manage_cgroups(true);
		if (arg && cg_mode(arg) < 0)
			return -EINVAL;
		if (arg)
			criu_set_manage_cgroups_mode(cg_mode(arg));
		return 0;
	case 8: return inherit(arg);
	case 9: return lock_method(arg) < 0 ? -EINVAL : criu_set_network_lock(lock_method(arg));
	case 10: criu_set_tcp_established(true); return 0;
	case 11: criu_set_tcp_close(true); return 0;
	default: return -EINVAL;
	}
}

/* "uts:FILE" as criu_join_ns_add's two strings */
static int join_ns(const char *arg)
{
	char ns[16];
	const char *colon = strchr(arg, ':');

	if (!colon || colon - arg >= (long)sizeof(ns))
		return -EINVAL;
	memcpy(ns, arg, colon - arg);
	ns[colon - arg] = 0;
	return criu_join_ns_add(ns, colon + 1, NULL);
}

static int parse(int argc, char **argv, struct drive *d)
{
	static const struct option lo[] = {
		{ "pidfile", required_argument, NULL, 1 }, { "root", required_argument, NULL, 2 },
		{ "external", required_argument, NULL, 3 }, { "join-ns", required_argument, NULL, 4 },
		{ "empty-ns", required_argument, NULL, 5 }, { "freeze-cgroup", required_argument, NULL, 6 },
		{ "manage-cgroups", optional_argument, NULL, 7 }, { "inherit-fd", required_argument, NULL, 8 },
		{ "network-lock", required_argument, NULL, 9 }, { "tcp-established", no_argument, NULL, 10 },
		{ "tcp-close", no_argument, NULL, 11 }, { },
	};
	int c;

	optind = 1;
	while ((c = getopt_long(argc, argv, "+t:D:o:v::d", lo, NULL)) != -1) {
		/* a separate MODE after --manage-cgroups */
		const char *arg = optarg;
		if (c == 7 && !arg && optind < argc && cg_mode(argv[optind]) >= 0)
			arg = argv[optind++];
		int r = c == 4 ? join_ns(arg) : c == '?' ? -EINVAL : one_option(c, arg, d);
		if (r) {
			fprintf(stderr, "error: libcriu-drive: option %s%s%s: %s\n", argv[optind - 1],
				arg ? " " : "", arg ? arg : "", strerror(r < 0 ? -r : EINVAL));
			return -1;
		}
	}
	if (optind != argc || !d->dir) {
		fprintf(stderr, "error: libcriu-drive: -D DIR needed, no operands\n");
		return -1;
	}
	return 0;
}

int main(int argc, char **argv)
{
	struct drive d = { .level = 2 };
	int r;

	if (argc < 3) {
		fprintf(stderr, "usage: libcriu-drive CRIU dump|restore ARGS...\n");
		return 2;
	}
	if (strcmp(argv[2], "dump") && strcmp(argv[2], "restore")) {
		execv(argv[1], argv + 1);
		perror(argv[1]);
		return 127;
	}
	d.action = argv[2];
	if (criu_init_opts() || criu_set_service_binary(argv[1]) || parse(argc - 2, argv + 2, &d))
		return 2;
	/* as crun: the images directory is made for a dump */
	if (!strcmp(d.action, "dump") && mkdir(d.dir, 0700) && errno != EEXIST) {
		fprintf(stderr, "error: -D %s: %s\n", d.dir, strerror(errno));
		return 2;
	}
	int dir = open(d.dir, O_RDONLY | O_DIRECTORY);
	if (dir < 0) {
		fprintf(stderr, "error: -D %s: %s\n", d.dir, strerror(errno));
		return 2;
	}
	criu_set_images_dir_fd(dir);
	criu_set_log_level(d.level);
	if (!strcmp(d.action, "dump")) {
		criu_set_pid(d.pid);
		r = criu_dump();
		return r ? fail("criu_dump", r) : 0;
	}
	r = criu_restore_child();
	if (r <= 0)
		return fail("criu_restore_child", r);
	if (d.pidfile) {
		FILE *f = fopen(d.pidfile, "w");
		if (!f || fprintf(f, "%d\n", r) < 0 || fclose(f))
			return fail(d.pidfile, -errno);
	}
	return 0;
}
