/*
 * pty-ns.c - pseudo-terminals of the tree's own devpts instance (see
 * pty-ns.h).  Dump: the slave's device is a devpts mount of the tree's
 * mount namespace (its mountinfo), so the pair lives in that instance,
 * which the mount namespace restore makes again (new instance).  Restore:
 * masters are opened on its ptmx until one has the dumped pts number (a
 * new instance counts from 0; the ones below are closed again), so the
 * process finds /dev/pts/N as it was.
 */
#define LOG_PREFIX "files: "
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include "common/log.h"
#include "criu/files/files.h"
#include "criu/files/pty-ns.h"
#include "criu/ns/mnt.h"

#define PTY_SKIP_MAX	256	/* masters opened to reach a pts number */

int pty_tree_ptmx(const struct fd_dump *d, dev_t dev, char *ptmx, size_t len)
{
	char path[64], line[4096], mp[4096], fs[64];
	unsigned maj, mnr;
	int found = -1;

	if (d->rootfd <= 0)
		return -1;	/* in criu's mount namespace: not the tree's own */
	snprintf(path, sizeof(path), "/proc/%d/mountinfo", d->pid);
	FILE *f = fopen(path, "re");
	while (f && found && fgets(line, sizeof(line), f)) {
		const char *sep = strstr(line, " - ");
		if (sscanf(line, "%*d %*d %u:%u %*s %4095s", &maj, &mnr, mp) != 3 || !sep ||
		    sscanf(sep, " - %63s", fs) != 1)
			continue;
		if (!strcmp(fs, "devpts") && makedev(maj, mnr) == dev &&
		    snprintf(ptmx, len, "%s/ptmx", strcmp(mp, "/") ? mp : "") < (int)len)
			found = 0;
	}
	if (f)
		fclose(f);
	return found;
}

int pty_open_index(int rootfd, const char *ptmx, unsigned index, unsigned id)
{
	int held[PTY_SKIP_MAX], n = 0, m = -1;

	for (;;) {
		unsigned got;
		m = mnt_open_in(rootfd, ptmx, O_RDWR | O_NOCTTY | O_CLOEXEC, 0);
		if (m < 0) {
			pr_perror("file %u: cannot open %s in the tree's devpts", id, ptmx);
			break;
		}
		if (ioctl(m, TIOCGPTN, &got)) {
			pr_perror("file %u: TIOCGPTN on %s", id, ptmx);
		} else if (got == index) {
			break;
		} else if (got > index || n == PTY_SKIP_MAX) {
			pr_err("file %u: pts %u of the tree's devpts (%s) is taken: the new one is %u", id, index,
			       ptmx, got);
		} else {
			held[n++] = m;
			continue;
		}
		close(m);
		m = -1;
		break;
	}
	while (n)
		close(held[--n]);
	return m;
}

int pty_reserve(struct pty_reserved *res, int rootfd, const char *ptmx, unsigned index)
{
	if (res->nr == PTY_RESERVED_MAX || strlen(ptmx) >= sizeof(res->e[0].ptmx)) {
		pr_err("%s: more than %d pseudo-terminals bound elsewhere", ptmx, PTY_RESERVED_MAX);
		return -1;
	}
	int m = pty_open_index(rootfd, ptmx, index, 0);
	if (m < 0)
		return -1;
	res->e[res->nr].master = m;
	res->e[res->nr].index = index;
	strcpy(res->e[res->nr].ptmx, ptmx);
	res->nr++;
	pr_debug("pts %u of %s made early (bound elsewhere)", index, ptmx);
	return 0;
}

int pty_reserved_take(struct pty_reserved *res, const char *ptmx, unsigned index)
{
	for (int i = 0; res && i < res->nr; i++)
		if (res->e[i].master >= 0 && res->e[i].index == index && !strcmp(res->e[i].ptmx, ptmx)) {
			int m = res->e[i].master;
			res->e[i].master = -1;
			return m;
		}
	return -1;
}

void pty_reserved_close(struct pty_reserved *res)
{
	for (int i = 0; i < res->nr; i++)
		if (res->e[i].master >= 0)
			close(res->e[i].master);
	res->nr = 0;
}
