/*
 * netns-sysctl.c - the sysctls of a network namespace (/proc/sys/net as
 * the calling task's namespace shows it: core, ipv4, ipv6, unix,
 * netfilter), each writable file with its value.  Dump writes them all
 * into netns.img (the caller is inside the namespace); restore, inside
 * the new namespace, writes each one whose value differs from the new
 * namespace's.  In each conf/ and neigh/ folder "all" and "default" come
 * first (writing them changes the devices' own).  A file that cannot be
 * read (stable_secret unset) is not saved.
 */
#define LOG_PREFIX "net: "
#include <dirent.h>
#include <stdbool.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/log.h"
#include "criu/net/netns.h"

#define SYS_NET "/proc/sys/net/"
#define VAL_MAX 4096

static const char *const tops[] = { "core", "ipv4", "ipv6", "unix", "netfilter" };

/* "all" and "default" first, then by name */
static int rank(const char *n)
{
	return !strcmp(n, "all") ? 0 : !strcmp(n, "default") ? 1 : 2;
}

static int cmp_names(const struct dirent **a, const struct dirent **b)
{
	int ra = rank((*a)->d_name), rb = rank((*b)->d_name);
	return ra != rb ? ra - rb : strcmp((*a)->d_name, (*b)->d_name);
}

/* the value as read, without the last newline; -1 if it cannot be read */
static int read_val(const char *path, char *buf)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -1;
	ssize_t n = read(fd, buf, VAL_MAX - 1);
	close(fd);
	if (n < 0)
		return -1;
	buf[n] = '\0';
	if (n && buf[n - 1] == '\n')
		buf[n - 1] = '\0';
	return 0;
}

static int save(struct img_writer *w, const char *rel, const char *val)
{
	NetSysctl s = NET_SYSCTL__INIT;
	NetNsEntry e = NET_NS_ENTRY__INIT;
	s.name = (char *)rel;
	s.value = (char *)val;
	e.sysctl = &s;
	return img_write(w, &e.base);
}

static int walk(struct img_writer *w, const char *rel, const char *who)
{
	char path[600], sub[512];
	struct dirent **ents;
	snprintf(path, sizeof(path), SYS_NET "%s", rel);
	int n = scandir(path, &ents, NULL, cmp_names), ret = 0;
	if (n < 0)
		return errno == ENOENT ? 0 : -1;
	static char val[VAL_MAX];
	for (int i = 0; i < n; i++) {
		struct stat st;
		const char *name = ents[i]->d_name;
		snprintf(sub, sizeof(sub), "%s/%s", rel, name);
		snprintf(path, sizeof(path), SYS_NET "%s", sub);
		if (ret || name[0] == '.' || lstat(path, &st))
			continue;
		if (S_ISDIR(st.st_mode))
			ret = walk(w, sub, who);
		else if ((st.st_mode & 0200) && (st.st_mode & 0444) && !read_val(path, val))
			ret = save(w, sub, val);
	}
	for (int i = 0; i < n; i++)
		free(ents[i]);
	free(ents);
	if (ret)
		pr_err("%s: cannot save its sysctls (%s)", who, rel);
	return ret;
}

int netns_sysctl_dump(struct img_writer *w, const char *who)
{
	for (size_t i = 0; i < sizeof(tops) / sizeof(tops[0]); i++)
		if (walk(w, tops[i], who))
			return -1;
	return 0;
}

static bool name_ok(const char *n)
{
	return *n && *n != '/' && !strstr(n, "..");
}

int netns_sysctl_restore(const NetSysctl *s)
{
	char path[600], cur[VAL_MAX];
	if (!name_ok(s->name)) {
		pr_err("netns.img: bad sysctl name '%s'", s->name);
		return -1;
	}
	snprintf(path, sizeof(path), SYS_NET "%s", s->name);
	if (read_val(path, cur)) {
		/* a device's folder is made with the device: gone means not made */
		pr_perror("netns.img: sysctl net/%s cannot be read here", s->name);
		return -1;
	}
	if (!strcmp(cur, s->value))
		return 0;
	int fd = open(path, O_WRONLY | O_CLOEXEC);
	size_t len = strlen(s->value);
	if (fd < 0 || write(fd, s->value, len) != (ssize_t)len) {
		pr_perror("netns.img: cannot set sysctl net/%s to '%s' (it is '%s')", s->name, s->value, cur);
		if (fd >= 0)
			close(fd);
		return -1;
	}
	close(fd);
	return 0;
}
