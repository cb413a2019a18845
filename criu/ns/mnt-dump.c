/*
 * mnt-dump.c - the mount namespace of a dumped tree: the root's
 * /proc/PID/mountinfo (paths inside its view) parsed into MntEntry, each
 * mount classified as a kind restore makes again (mnt.proto's MntKind),
 * what it cannot refused with one line naming the process and the mount.
 * Reads /proc only; nothing in the processes changes.
 */
#define LOG_PREFIX ""
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include "common/log.h"
#include "criu/ns/mnt-opts.h"
#include "criu/ns/mnt.h"
#include "criu/ns/ns.h"

/* mountinfo's octal escapes (\040 for a space) undone in place */
static char *unescape(char *s)
{
	char *r = s, *w = s;

	while (*r) {
		if (r[0] == '\\' && r[1] >= '0' && r[1] <= '3' && r[2] >= '0' && r[2] <= '7' &&
		    r[3] >= '0' && r[3] <= '7') {
			*w++ = (char)((r[1] - '0') * 64 + (r[2] - '0') * 8 + (r[3] - '0'));
			r += 4;
		} else {
			*w++ = *r++;
		}
	}
	*w = 0;
	return s;
}

static const struct { const char *name; unsigned flag; } mnt_flag_names[] = {
	{ "ro", MS_RDONLY }, { "nosuid", MS_NOSUID }, { "nodev", MS_NODEV },
	{ "noexec", MS_NOEXEC }, { "noatime", MS_NOATIME }, { "nodiratime", MS_NODIRATIME },
	{ "relatime", MS_RELATIME }, { "strictatime", MS_STRICTATIME },
};

static unsigned parse_mnt_flags(char *opts)
{
	unsigned f = 0;
	for (char *sv, *o = strtok_r(opts, ",", &sv); o; o = strtok_r(NULL, ",", &sv))
		for (size_t i = 0; i < sizeof(mnt_flag_names) / sizeof(mnt_flag_names[0]); i++)
			if (!strcmp(o, mnt_flag_names[i].name))
				f |= mnt_flag_names[i].flag;
	return f;
}

/* super-block options without rw/ro (sb_ro says which) */
static char *parse_sb_opts(const char *opts, protobuf_c_boolean *ro)
{
	char *copy = strdup(opts), *out = calloc(1, strlen(opts) + 1);
	size_t n = 0;

	*ro = false;
	if (!copy || !out) {
		free(copy);
		free(out);
		return NULL;
	}
	for (char *sv, *o = strtok_r(copy, ",", &sv); o; o = strtok_r(NULL, ",", &sv)) {
		if (!strcmp(o, "ro"))
			*ro = true;
		else if (strcmp(o, "rw"))
			n += sprintf(out + n, "%s%s", n ? "," : "", o);
	}
	free(copy);
	return out;
}

/* one line of mountinfo into a new entry; NULL if malformed or out of memory */
static MntEntry *parse_line(char *line)
{
	char *f[8], *sv, *tok;
	int n = 0;
	MntEntry *e = calloc(1, sizeof(*e));

	if (!e)
		return NULL;
	mnt_entry__init(e);
	line[strcspn(line, "\n")] = 0;
	/* id parent maj:min root mountpoint opts [optional...] - fstype source superopts */
	for (tok = strtok_r(line, " ", &sv); tok && n < 6; tok = strtok_r(NULL, " ", &sv))
		f[n++] = tok;
	if (n < 6)
		goto bad;
	e->mnt_id = strtoul(f[0], NULL, 10);
	e->parent_id = strtoul(f[1], NULL, 10);
	if (sscanf(f[2], "%u:%u", &e->dev_major, &e->dev_minor) != 2)
		goto bad;
	e->root = strdup(unescape(f[3]));
	e->mountpoint = strdup(unescape(f[4]));
	e->mnt_flags = parse_mnt_flags(f[5]);
	for (; tok && strcmp(tok, "-"); tok = strtok_r(NULL, " ", &sv)) {
		if (!strncmp(tok, "shared:", 7))
			e->has_shared_id = true, e->shared_id = strtoul(tok + 7, NULL, 10);
		else if (!strncmp(tok, "master:", 7))
			e->has_master_id = true, e->master_id = strtoul(tok + 7, NULL, 10);
		else if (!strcmp(tok, "unbindable"))
			e->has_unbindable = e->unbindable = true;
	}
	char *fstype = tok ? strtok_r(NULL, " ", &sv) : NULL;
	char *source = fstype ? strtok_r(NULL, " ", &sv) : NULL;
	char *sbo = source ? strtok_r(NULL, " ", &sv) : NULL;
	if (!sbo)
		goto bad;
	e->fstype = strdup(fstype);
	e->source = strdup(unescape(source));
	e->sb_opts = parse_sb_opts(sbo, &e->sb_ro);
	if (!e->root || !e->mountpoint || !e->fstype || !e->source || !e->sb_opts)
		goto bad;
	return e;
bad:
	mnt_entry__free_unpacked(e, NULL);
	return NULL;
}

static int read_mountinfo(pid_t pid, struct mnt_dump *d)
{
	char path[64], *line = NULL;
	size_t cap = 0, len = 0;
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%d/mountinfo", pid);
	f = fopen(path, "re");
	if (!f) {
		pr_perror("pid %d: cannot read %s", pid, path);
		return -1;
	}
	while (getline(&line, &len, f) > 0) {
		MntEntry *e = parse_line(line);
		if (!e) {
			pr_err("pid %d: %s: a line criu cannot parse", pid, path);
			break;
		}
		if (d->nr == cap) {
			cap = cap ? cap * 2 : 32;
			MntEntry **n = realloc(d->e, cap * sizeof(*n));
			if (!n) {
				mnt_entry__free_unpacked(e, NULL);
				break;
			}
			d->e = n;
		}
		d->e[d->nr++] = e;
	}
	bool bad = !feof(f);
	free(line);
	fclose(f);
	return bad ? -1 : 0;
}

static const MntEntry *by_id(const struct mnt_dump *d, uint32_t id, size_t before)
{
	for (size_t i = 0; i < before; i++)
		if (d->e[i]->mnt_id == id)
			return d->e[i];
	return NULL;
}

/* dir is root or below it: the rest ("" or "/x/y"), or NULL */
static const char *below(const char *dir, const char *root)
{
	size_t n = strcmp(root, "/") ? strlen(root) : 0;
	if (strncmp(dir, root, n) || (dir[n] && dir[n] != '/'))
		return NULL;
	return dir + n;
}

/* e is a bind of an earlier mount of the tree of the same file system: which */
static int find_bind(const struct mnt_dump *d, size_t i, MntEntry *e)
{
	for (size_t k = 0; k < i; k++) {
		const MntEntry *p = d->e[k];
		const char *rest;
		/* (an external mount is a source too: bound again from where it is put back) */
		if (p->dev_major != e->dev_major || p->dev_minor != e->dev_minor ||
		    !(rest = below(e->root, p->root)))
			continue;
		e->kind = MNT_KIND__MNT_BIND;
		e->has_bind_of = true;
		e->bind_of = p->mnt_id;
		e->bind_path = strdup(*rest ? rest : "/");
		return e->bind_path ? 0 : -1;
	}
	return 1;
}

static const struct { const char *fstype; MntKind kind; } fs_kinds[] = {
	{ "proc", MNT_KIND__MNT_PROC }, { "sysfs", MNT_KIND__MNT_SYSFS },
	{ "tmpfs", MNT_KIND__MNT_TMPFS }, { "devpts", MNT_KIND__MNT_DEVPTS },
	{ "mqueue", MNT_KIND__MNT_MQUEUE }, { "cgroup", MNT_KIND__MNT_CGROUP },
	{ "cgroup2", MNT_KIND__MNT_CGROUP2 },
};

/* the dev of criu's own /dev/pts: a devpts of the tree with it is the host's instance */
static bool host_devpts(const MntEntry *e)
{
	struct stat st;
	return !stat("/dev/pts", &st) && major(st.st_dev) == (unsigned)e->dev_major &&
	       minor(st.st_dev) == (unsigned)e->dev_minor;
}

/*
 * --external mnt[]: e is bound from a mount of criu's namespace (same
 * device, its root below that one's): external, keyed by that host path
 */
static int find_host(MntEntry *e)
{
	struct mnt_dump host = { 0 };
	char path[PATH_MAX];
	int r = 1;

	if (read_mountinfo(getpid(), &host))
		return -1;
	for (size_t k = 0; r > 0 && k < host.nr; k++) {
		const MntEntry *h = host.e[k];
		const char *rest;
		if (h->dev_major != e->dev_major || h->dev_minor != e->dev_minor || !(rest = below(e->root, h->root)))
			continue;
		snprintf(path, sizeof(path), "%s%s", strcmp(h->mountpoint, "/") || !*rest ? h->mountpoint : "", rest);
		e->kind = MNT_KIND__MNT_EXTERNAL;
		e->has_ext_auto = e->ext_auto = true;
		e->ext_key = strdup(path);
		r = e->ext_key ? 0 : -1;
	}
	for (size_t k = 0; k < host.nr; k++)
		mnt_entry__free_unpacked(host.e[k], NULL);
	free(host.e);
	return r;
}

static int classify(struct mnt_dump *d, size_t i, const struct mnt_opts *m)
{
	MntEntry *e = d->e[i];
	const char *key = mnt_opts_ext_find(m, e->mountpoint);

	if (i == 0) {
		e->kind = MNT_KIND__MNT_ROOT;
		return 0;
	}
	if (key) {
		e->kind = MNT_KIND__MNT_EXTERNAL;
		e->ext_key = strdup(key);
		return e->ext_key ? 0 : -1;
	}
	int r = find_bind(d, i, e);
	if (r <= 0)
		return r;
	for (size_t k = 0; k < sizeof(fs_kinds) / sizeof(fs_kinds[0]); k++) {
		if (strcmp(e->fstype, fs_kinds[k].fstype) || strcmp(e->root, "/"))
			continue;
		if (fs_kinds[k].kind == MNT_KIND__MNT_DEVPTS && host_devpts(e))
			break;
		e->kind = fs_kinds[k].kind;
		return 0;
	}
	if (m->ext_auto && (r = find_host(e)) <= 0)
		return r;
	pr_err("pid %d: mount namespace mnt:[%lu]: mount %u at %s (%s %s, root %s) is %s: not supported "
	       "(an external mount is named with --external mnt[%s]:KEY, or found with mnt[])", d->root, d->ino, e->mnt_id,
	       e->mountpoint, e->fstype, e->source, e->root,
	       !strcmp(e->fstype, "devpts") ? "the host's devpts instance" :
	       strcmp(e->root, "/") ? "a bind mount from outside the namespace" : "a file system kind criu cannot make again",
	       e->mountpoint);
	return -1;
}

/* is peer group n one of criu's own mount namespace's too? */
static bool group_outside(uint32_t n)
{
	char line[4096], tag[32];
	FILE *f = fopen("/proc/self/mountinfo", "re");
	bool found = false;

	snprintf(tag, sizeof(tag), " shared:%u ", n);
	while (f && !found && fgets(line, sizeof(line), f)) {
		char *dash = strstr(line, " - ");
		if (dash) {
			dash[1] = 0;	/* the optional fields end before it */
			found = strstr(line, tag) != NULL;
		}
	}
	if (f)
		fclose(f);
	return found;
}

/*
 * Peer groups: one member in the tree only (peers and masters outside are
 * not made again).  An external mount comes back bound from outside: made
 * shared again when it was, in a peer group of its own, which is what it
 * was unless the group had members outside the tree: refused when criu's
 * own namespace has one, and an external slave mount (its master is
 * outside) is refused.
 */
static int check_propagation(const struct mnt_dump *d)
{
	for (size_t i = 0; i < d->nr; i++) {
		const MntEntry *e = d->e[i];
		const char *why = NULL;
		if (e->kind == MNT_KIND__MNT_EXTERNAL && e->has_master_id)
			why = "an external slave mount (master:%u, outside the tree): its propagation "
			      "cannot be made again: not supported (make it private)";
		else if (e->kind == MNT_KIND__MNT_EXTERNAL && e->has_shared_id && group_outside(e->shared_id))
			why = "an external mount shared with criu's mount namespace (shared:%u): its "
			      "propagation cannot be made again: not supported (make it private)";
		else if (e->kind == MNT_KIND__MNT_EXTERNAL)
			continue;
		else if (e->has_master_id)
			why = "a slave mount (master:%u): not supported";
		for (size_t k = 0; !why && e->has_shared_id && k < i; k++)
			if (d->e[k]->has_shared_id && d->e[k]->shared_id == e->shared_id)
				why = "shared with another mount of the tree (shared:%u): not supported";
		if (!why)
			continue;
		char what[128];
		snprintf(what, sizeof(what), why, e->has_master_id ? e->master_id : e->shared_id);
		pr_err("pid %d: mount namespace mnt:[%lu]: mount %u at %s is %s", d->root, d->ino, e->mnt_id,
		       e->mountpoint, what);
		return -1;
	}
	return 0;
}

/* the root mount is the namespace's and the root's root directory is its root */
static int check_root(const struct mnt_dump *d)
{
	char link[PATH_MAX], path[64];
	ssize_t n;

	snprintf(path, sizeof(path), "/proc/%d/root", d->root);
	n = readlink(path, link, sizeof(link) - 1);
	if (n > 0)
		link[n] = 0;
	if (!d->nr || strcmp(d->e[0]->mountpoint, "/") || by_id(d, d->e[0]->parent_id, d->nr) ||
	    n != 1 || link[0] != '/') {
		pr_err("pid %d: mount namespace mnt:[%lu]: its root directory is not the root of the namespace "
		       "(chroot, or no pivot_root): not supported", d->root, d->ino);
		return -1;
	}
	return 0;
}

int mnt_dump_rootfd(pid_t root, int *rootfd)
{
	unsigned long its = ns_inode(root, root, "mnt");
	char path[64];

	*rootfd = -1;
	if (!its || its == ns_inode(0, 0, "mnt"))
		return 0;
	snprintf(path, sizeof(path), "/proc/%d/root", root);
	int fd = open(path, O_PATH | O_DIRECTORY | O_CLOEXEC);
	/* above stdio: 0 reads as "criu's own" (mnt_open_in) */
	*rootfd = fd < 0 ? -1 : fcntl(fd, F_DUPFD_CLOEXEC, 3);
	if (fd >= 0)
		close(fd);
	if (*rootfd < 0) {
		pr_perror("pid %d: cannot open its root directory", root);
		return -1;
	}
	return 0;
}

int mnt_dump_collect(pid_t root, const struct mnt_opts *m, struct mnt_dump **out, int *rootfd)
{
	unsigned long its = ns_inode(root, root, "mnt");

	*out = NULL;
	*rootfd = -1;
	if (!its || its == ns_inode(0, 0, "mnt"))
		return 0;
	struct mnt_dump *d = calloc(1, sizeof(*d));
	if (!d)
		return -1;
	d->ino = its;
	d->root = root;
	/* cgroup mounts as the tree sees them (their roots relative to its cgroup namespace's) */
	int cgns;
	if (cgns_enter(root, &cgns))
		goto fail;
	int bad = read_mountinfo(root, d);
	cgns_leave(cgns);
	if (bad || check_root(d))
		goto fail;
	for (size_t i = 0; i < d->nr; i++)
		if (classify(d, i, m))
			goto fail;
	for (int i = 0; i < m->nr_ext; i++) {
		bool found = false;
		for (size_t k = 0; k < d->nr && !found; k++)
			found = !strcmp(d->e[k]->mountpoint, m->ext[i].a);
		/* as CRIU: an entry that names no mount is not used (runc names
		 * every device node of its config, bound or made with mknod) */
		if (!found)
			pr_info("--external mnt[%s]:%s: pid %d has no mount at %s in its mount namespace mnt:[%lu]: not used",
				m->ext[i].a, m->ext[i].b, root, m->ext[i].a, its);
	}
	if (check_propagation(d) || mnt_dump_rootfd(root, rootfd))
		goto fail;
	pr_info("pid %d: mount namespace mnt:[%lu] of its own: %zu mounts", root, its, d->nr);
	*out = d;
	return 0;
fail:
	mnt_dump_free(d);
	return -1;
}

int mnt_dump_write(const struct mnt_dump *d, int rootfd, int dirfd, uint64_t dump_id)
{
	struct img_writer *w;

	for (size_t i = 0; i < d->nr; i++)
		if (d->e[i]->kind == MNT_KIND__MNT_TMPFS && tmpfs_dump(d->e[i], d->root, rootfd, dirfd, dump_id))
			return -1;
	if (img_writer_open(dirfd, IMG_MNTNS, 0, dump_id, &w))
		return -1;
	for (size_t i = 0; i < d->nr; i++)
		if (img_write(w, &d->e[i]->base)) {
			img_writer_abort(w);
			return -1;
		}
	return img_writer_close(w);
}

void mnt_dump_free(struct mnt_dump *d)
{
	if (!d)
		return;
	for (size_t i = 0; i < d->nr; i++)
		mnt_entry__free_unpacked(d->e[i], NULL);
	free(d->e);
	free(d);
}
