/*
 * mntns_state - the program of test/mntns.sh: init (pid 1) of a pid
 * namespace, in a mount namespace test/mntns-setup.sh built (tmpfs with
 * contents, binds of a file and a directory, a read-only bind, masked
 * paths, a devpts instance, proc with a read-only /proc/sys, sysfs,
 * mqueue) and pivoted into.  It records its mountinfo (ids and devices
 * normalised away), opens and maps files on those mounts, forks a child
 * that holds a file of /dev/shm, writes READY to /log and waits for
 * SIGUSR1; then checks that everything is as it was: the same mounts, the
 * files' contents, offsets and mappings, read-only and masked paths, a pty
 * of its own devpts, and writes PASS or FAIL: reason to /log.  Variants
 * cgns and runc-cgns (in a cgroup namespace of their own) also check
 * /proc/PID/cgroup of both processes and, for cgns, the contents of the
 * cgroup mounts (cg_record).
 * Built static: the rootfs holds only busybox.
 */
#include <errno.h>
#include <stdbool.h>
#include <fcntl.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <net/if.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/mount.h>
#include <sys/inotify.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <sys/xattr.h>
#include <unistd.h>

static int logfd = -1;

static void say(const char *fmt, ...)
{
	char buf[4096];
	va_list ap;
	va_start(ap, fmt);
	int n = vsnprintf(buf, sizeof(buf) - 1, fmt, ap);
	va_end(ap);
	if (n > (int)sizeof(buf) - 2)
		n = sizeof(buf) - 2;
	buf[n++] = '\n';
	if (write(logfd, buf, n) < 0)
		_exit(3);
}

static int fail(const char *fmt, ...)
{
	char buf[3000];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	say("FAIL: %s", buf);
	return 1;
}

/* id of the nth distinct value of v in ids (0-based), adding it */
static int norm(unsigned *ids, int *n, unsigned v)
{
	for (int i = 0; i < *n; i++)
		if (ids[i] == v)
			return i;
	ids[*n] = v;
	return (*n)++;
}

/* /proc/self/mountinfo with mount ids, parents and peer groups as indexes, devices left out */
static char *mountinfo(void)
{
	static unsigned ids[4096], groups[4096];
	int nids = 0, ngroups = 0;
	char line[4096], *out = calloc(1, 1 << 20);
	size_t len = 0;
	FILE *f = fopen("/proc/self/mountinfo", "re");

	while (f && out && fgets(line, sizeof(line), f)) {
		unsigned id, parent;
		char rest[4096];
		if (sscanf(line, "%u %u %*s %4095[^\n]", &id, &parent, rest) != 3)
			continue;
		int ni = norm(ids, &nids, id);
		len += snprintf(out + len, (1 << 20) - len, "%d %d", ni, norm(ids, &nids, parent));
		for (char *sv, *t = strtok_r(rest, " ", &sv); t; t = strtok_r(NULL, " ", &sv)) {
			unsigned g;
			if (sscanf(t, "shared:%u", &g) == 1)
				len += snprintf(out + len, (1 << 20) - len, " shared:%d", norm(groups, &ngroups, g));
			else if (sscanf(t, "master:%u", &g) == 1)
				len += snprintf(out + len, (1 << 20) - len, " master:%d", norm(groups, &ngroups, g));
			else
				len += snprintf(out + len, (1 << 20) - len, " %s", t);
		}
		len += snprintf(out + len, (1 << 20) - len, "\n");
	}
	if (f)
		fclose(f);
	return out;
}

static int read_at(int fd, off_t off, char *buf, size_t len)
{
	memset(buf, 0, len);
	return pread(fd, buf, len - 1, off) < 0 ? -1 : 0;
}

static int child_main(void)
{
	sigset_t s;
	int sig;
	int fd = open("/dev/shm/child", O_RDWR | O_CREAT, 0600);
	char buf[32];

	if (fd < 0 || write(fd, "child-data", 10) != 10)
		return 2;
	sigemptyset(&s);
	sigaddset(&s, SIGUSR1);
	sigprocmask(SIG_BLOCK, &s, NULL);
	sigwait(&s, &sig);
	if (read_at(fd, 0, buf, sizeof(buf)) || strcmp(buf, "child-data") || lseek(fd, 0, SEEK_CUR) != 10)
		return 1;
	return 0;
}

static int put(const char *path, const char *data, size_t len, mode_t mode)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, mode);
	if (fd < 0 || write(fd, data, len) != (ssize_t)len)
		return -1;
	return close(fd);
}

/* what test/tools/mntns-setup.sh puts in /data (but the owner: no CAP_CHOWN under runc) */
static int make_data(void)
{
	static char mapped[8192];
	memcpy(mapped, "mapped-file", 11);
	memcpy(mapped + 4096, "shared-file", 11);
	if (put("/data/file", "hello tmpfs\n", 12, 0644) || mkdir("/data/dir", 0755) ||
	    mkdir("/data/dir/sub", 0755) || put("/data/dir/sub/deep", "deep\n", 5, 0640) ||
	    chmod("/data/dir/sub/deep", 0640) ||
	    symlink("file", "/data/link") || put("/data/mapped", mapped, sizeof(mapped), 0644))
		return -1;
	return 0;
}

/* in a network namespace of its own made empty (--empty-ns net): lo alone, up */
/* variant "paths": files of the tree found by path in its own view */
struct paths {
	int fifo, sk, in, wd_etc, wd_data;
};

static int paths_setup(struct paths *p)
{
	struct sockaddr_un a = { .sun_family = AF_UNIX, .sun_path = "/sock" };

	unlink("/fifo");
	unlink("/sock");
	if (mkfifo("/fifo", 0600))
		return fail("mkfifo /fifo: %m");
	p->fifo = open("/fifo", O_RDWR | O_NONBLOCK);
	p->sk = socket(AF_UNIX, SOCK_STREAM, 0);
	p->in = inotify_init1(IN_NONBLOCK);
	if (p->fifo < 0 || write(p->fifo, "fifo-data", 9) != 9 || p->sk < 0 || p->in < 0)
		return fail("/fifo, a socket, an inotify: %m");
	if (bind(p->sk, (struct sockaddr *)&a, sizeof(a)) || listen(p->sk, 4))
		return fail("bind /sock: %m");
	p->wd_etc = inotify_add_watch(p->in, "/etc", IN_CREATE);
	p->wd_data = inotify_add_watch(p->in, "/data/dir", IN_CREATE);
	if (p->wd_etc < 0 || p->wd_data < 0)
		return fail("inotify_add_watch: %m");
	return 0;
}

/* the event of a file made in dir: on watch wd, named name */
static int paths_event(int in, int wd, const char *dir, const char *name)
{
	char path[64], buf[4096] __attribute__((aligned(8)));
	snprintf(path, sizeof(path), "%s/%s", dir, name);
	int fd = open(path, O_WRONLY | O_CREAT, 0600);
	if (fd < 0)
		return fail("cannot make %s: %m", path);
	close(fd);
	unlink(path);
	ssize_t n = read(in, buf, sizeof(buf));
	struct inotify_event *e = (struct inotify_event *)buf;
	if (n < (ssize_t)sizeof(*e) || e->wd != wd || !(e->mask & IN_CREATE) || strcmp(e->name, name))
		return fail("inotify: no IN_CREATE of %s on watch %d (read %zd, wd %d)", path, wd, n,
			    n > 0 ? e->wd : -1);
	return 0;
}

static int paths_check(const struct paths *p)
{
	char buf[32] = "";
	struct stat f, s;
	struct sockaddr_un a = { 0 };
	socklen_t len = sizeof(a);

	if (read(p->fifo, buf, sizeof(buf)) != 9 || memcmp(buf, "fifo-data", 9))
		return fail("/fifo reads '%s'", buf);
	if (fstat(p->fifo, &f) || stat("/fifo", &s) || f.st_ino != s.st_ino || f.st_dev != s.st_dev)
		return fail("the fd of /fifo is not on /fifo");
	if (getsockname(p->sk, (struct sockaddr *)&a, &len) || strcmp(a.sun_path, "/sock"))
		return fail("the socket is bound to '%s', not /sock", a.sun_path);
	int c = socket(AF_UNIX, SOCK_STREAM, 0);
	a = (struct sockaddr_un){ .sun_family = AF_UNIX, .sun_path = "/sock" };
	if (c < 0 || connect(c, (struct sockaddr *)&a, sizeof(a)))
		return fail("cannot connect to /sock: %m");
	int acc = accept(p->sk, NULL, NULL);
	if (acc < 0)
		return fail("the socket bound to /sock accepts nothing: %m");
	close(acc);
	close(c);
	return paths_event(p->in, p->wd_etc, "/etc", "new-etc") || paths_event(p->in, p->wd_data, "/data/dir", "new-data");
}

/* variant "links": hard links and extended attributes in the tmpfs /data */
static int links_setup(void)
{
	int fd = open("/data/three", O_WRONLY | O_CREAT | O_EXCL, 0604);
	if (fd < 0 || write(fd, "three\n", 6) != 6 || close(fd))
		return fail("/data/three: %m");
	if (link("/data/file", "/data/dir/hard") || link("/data/three", "/data/dir/three2") ||
	    link("/data/three", "/data/dir/sub/three3"))
		return fail("link: %m");
	if (setxattr("/data/file", "user.color", "blue", 4, 0) || setxattr("/data/dir", "trusted.secret", "t0p", 3, 0) ||
	    lsetxattr("/data/link", "trusted.of-link", "sl", 2, 0) || setxattr("/data/three", "user.empty", "", 0, 0))
		return fail("setxattr: %m");
	return 0;
}

static int same_inode(const char *a, const char *b, nlink_t n)
{
	struct stat x, y;
	if (stat(a, &x) || stat(b, &y) || x.st_ino != y.st_ino || x.st_nlink != n || y.st_nlink != n)
		return fail("%s and %s: not one inode of %lu links (%lu, %lu)", a, b, (unsigned long)n,
			    (unsigned long)x.st_nlink, (unsigned long)y.st_nlink);
	return 0;
}

static int xattr_is(const char *path, const char *name, const char *want, bool follow)
{
	char buf[64] = "";
	ssize_t n = follow ? getxattr(path, name, buf, sizeof(buf)) : lgetxattr(path, name, buf, sizeof(buf));
	if (n != (ssize_t)strlen(want) || memcmp(buf, want, n))
		return fail("%s: xattr %s is '%.*s' (%zd), not '%s'", path, name, (int)(n > 0 ? n : 0), buf, n, want);
	return 0;
}

static int links_check(void)
{
	char buf[16] = "";
	if (same_inode("/data/file", "/data/dir/hard", 2) || same_inode("/data/three", "/data/dir/three2", 3) ||
	    same_inode("/data/three", "/data/dir/sub/three3", 3))
		return 1;
	int fd = open("/data/dir/sub/three3", O_WRONLY | O_APPEND);
	int rd = open("/data/three", O_RDONLY);
	if (fd < 0 || rd < 0 || write(fd, "x", 1) != 1 || read(rd, buf, sizeof(buf)) != 7 || strcmp(buf, "three\nx"))
		return fail("/data/three: a write through another link reads '%s'", buf);
	close(fd);
	close(rd);
	return xattr_is("/data/file", "user.color", "blue", true) || xattr_is("/data/dir/hard", "user.color", "blue", true) ||
	       xattr_is("/data/dir", "trusted.secret", "t0p", true) || xattr_is("/data/link", "trusted.of-link", "sl", false) ||
	       xattr_is("/data/three", "user.empty", "", true);
}

static int check_net(void)
{
	struct if_nameindex *ifs = if_nameindex();
	struct ifreq ifr = { 0 };
	int s = socket(AF_INET, SOCK_DGRAM, 0), n = 0;

	for (struct if_nameindex *i = ifs; ifs && i->if_index; i++, n++)
		if (strcmp(i->if_name, "lo"))
			return fail("network device %s besides lo", i->if_name);
	strcpy(ifr.ifr_name, "lo");
	if (n != 1 || s < 0 || ioctl(s, SIOCGIFFLAGS, &ifr) || !(ifr.ifr_flags & IFF_UP))
		return fail("lo is not up (%d devices)", n);
	return 0;
}

/* a whole small file, or NULL */
static char *slurp(const char *path)
{
	char *buf = calloc(1, 8192);
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	ssize_t n = fd < 0 || !buf ? -1 : read(fd, buf, 8191);
	if (fd >= 0)
		close(fd);
	if (n < 0) {
		free(buf);
		return NULL;
	}
	return buf;
}

/*
 * Variants in a cgroup namespace of their own (cgns: the setup mounted the
 * pids hierarchy and cgroup2 under /sys/fs/cgroup and made pids/inner,
 * pids.max 33; runc-cgns: runc's): the child is moved into pids/inner
 * (cgns), and both processes' /proc/PID/cgroup recorded
 */
struct cg_seen {
	char *self, *child;
};

static int cg_record(const char *variant, pid_t child, struct cg_seen *c)
{
	char path[64];
	if (!strcmp(variant, "cgns")) {
		int fd = open("/sys/fs/cgroup/pids/inner/cgroup.procs", O_WRONLY | O_CLOEXEC);
		int n = snprintf(path, sizeof(path), "%d", child);
		if (fd < 0 || write(fd, path, n) != n)
			return fail("cannot move the child into pids/inner: %m");
		close(fd);
	}
	snprintf(path, sizeof(path), "/proc/%d/cgroup", child);
	c->self = slurp("/proc/self/cgroup");
	c->child = slurp(path);
	if (!c->self || !c->child)
		return fail("cannot read the cgroups: %m");
	/* in its own cgroup namespace, made where it was: the root of each hierarchy */
	for (char *l = c->self; *l; l = strchr(l, '\n') + 1) {
		char *p = strchr(strchr(l, ':') + 1, ':') + 1;
		if (strncmp(p, "/\n", 2))
			return fail("not at the root of its cgroup namespace: %.*s", (int)(strchr(l, '\n') - l), l);
	}
	if (!strcmp(variant, "cgns") && !strstr(c->child, ":pids:/inner\n"))
		return fail("the child is not in pids/inner: %s", c->child);
	return 0;
}

static int cg_check(const char *variant, pid_t child, const struct cg_seen *c)
{
	char path[64], want[32];
	snprintf(path, sizeof(path), "/proc/%d/cgroup", child);
	char *self = slurp("/proc/self/cgroup"), *kid = slurp(path);
	if (!self || !kid || strcmp(self, c->self) || strcmp(kid, c->child)) {
		say("cgroups before:\n%s-- child:\n%s", c->self, c->child);
		say("cgroups after:\n%s-- child:\n%s", self ? self : "?", kid ? kid : "?");
		return fail("the cgroups differ");
	}
	if (strcmp(variant, "cgns"))
		return 0;
	/* the cgroup mount shows its namespace's root: inner, its limit, the child in it */
	char *max = slurp("/sys/fs/cgroup/pids/inner/pids.max");
	char *procs = slurp("/sys/fs/cgroup/pids/inner/cgroup.procs");
	snprintf(want, sizeof(want), "%d\n", child);
	if (!max || strcmp(max, "33\n") || !procs || strcmp(procs, want))
		return fail("/sys/fs/cgroup/pids/inner: pids.max '%s', cgroup.procs '%s' (want 33, %d)",
			    max ? max : "?", procs ? procs : "?", child);
	char *rootmax = slurp("/sys/fs/cgroup/pids/pids.max");
	if (!rootmax || strcmp(rootmax, "200\n"))
		return fail("/sys/fs/cgroup/pids/pids.max (its namespace's root) is '%s', not 200", rootmax ? rootmax : "?");
	char *top = slurp("/sys/fs/cgroup/unified/cgroup.procs");
	char one[32], two[32];
	snprintf(one, sizeof(one), "1\n%d\n", child);
	snprintf(two, sizeof(two), "%d\n1\n", child);
	if (!top || (strcmp(top, one) && strcmp(top, two)))
		return fail("/sys/fs/cgroup/unified/cgroup.procs (its cgroup2 namespace root) is '%s', not 1 and %d",
			    top ? top : "?", child);
	return 0;
}

int main(int argc, char **argv)
{
	const char *variant = argc > 1 ? argv[1] : "plain";
	char ext[64] = "";
	char buf[256];
	sigset_t s;
	int sig, st;

	/* only what the setup gave on purpose: nothing of the test runner's */
	close_range(3, ~0U, 0);
	logfd = open("/log", O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0644);
	if (logfd < 0)
		return 2;
	sigemptyset(&s);
	sigaddset(&s, SIGUSR1);
	sigprocmask(SIG_BLOCK, &s, NULL);
	if (getpid() != 1)
		return fail("not the init of a pid namespace (pid %d)", getpid());
	/* under runc, the mounts are config.json's: the files on its tmpfs are made here */
	bool runc = !strncmp(variant, "runc", 4);
	if (runc && make_data())
		return fail("cannot make the files of /data: %m");
	/* files on the mounts */
	int fdata = open("/data/file", O_RDWR);
	int fbound = open("/etc/bound-file", O_RDONLY);
	int fdir = open("/mnt/bound-dir/inner", O_RDONLY);
	int fmap = open("/data/mapped", O_RDWR);
	if (fdata < 0 || fbound < 0 || fdir < 0 || fmap < 0)
		return fail("cannot open the files of the setup: %m");
	if (lseek(fdata, 3, SEEK_SET) != 3 || lseek(fbound, 2, SEEK_SET) != 2)
		return fail("lseek: %m");
	char *priv = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE, fmap, 0);
	char *shared = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_SHARED, fmap, 4096);
	if (priv == MAP_FAILED || shared == MAP_FAILED)
		return fail("mmap /data/mapped: %m");
	strcpy(priv, "private-change");
	strcpy(shared, "shared-change");
	if (chdir("/data/dir"))
		return fail("chdir /data/dir: %m");
	/* variant "sockshared": a socket bound to a path, held by the child too */
	int shsk = -1;
	struct sockaddr_un sha = { .sun_family = AF_UNIX, .sun_path = "/shsock" };
	unlink("/shsock");
	if (!strcmp(variant, "sockshared") &&
	    ((shsk = socket(AF_UNIX, SOCK_STREAM, 0)) < 0 || bind(shsk, (struct sockaddr *)&sha, sizeof(sha)) ||
	     listen(shsk, 1)))
		return fail("/shsock: %m");
	pid_t child = fork();
	if (child == 0)
		_exit(child_main());
	usleep(100000);
	if (!strncmp(variant, "ext", 3)) {
		int fd = open("/mnt/ext/hostfile", O_RDONLY);
		if (fd < 0 || read_at(fd, 0, ext, sizeof(ext)) || strcmp(ext, "host-file\n"))
			return fail("/mnt/ext/hostfile: '%s' (%m)", ext);
		close(fd);
	}
	struct cg_seen cg = { 0 };
	bool cgns = !strcmp(variant, "cgns") || !strcmp(variant, "runc-cgns");
	if (cgns && cg_record(variant, child, &cg))
		return 1;
	struct paths pt = { -1, -1, -1, -1, -1 };
	if (!strcmp(variant, "links") && links_setup())
		return 1;
	/* variant "linkcovered": a second link of /data/file below a mount over /data/cov */
	if (!strcmp(variant, "linkcovered") &&
	    (mkdir("/data/cov", 0755) || link("/data/file", "/data/cov/l") ||
	     mount("tmpfs", "/data/cov", "tmpfs", 0, "size=16k")))
		return fail("/data/cov: %m");
	if (!strcmp(variant, "paths") && paths_setup(&pt))
		return 1;
	char *before = mountinfo();
	say("READY");
	sigwait(&s, &sig);

	/* after the restore */
	char *after = mountinfo();
	if (!before || !after || strcmp(before, after)) {
		say("mountinfo before:\n%s", before);
		say("mountinfo after:\n%s", after);
		return fail("the mounts differ");
	}
	if (getcwd(buf, sizeof(buf)) == NULL || strcmp(buf, "/data/dir"))
		return fail("cwd is %s, not /data/dir", buf);
	if (lseek(fdata, 0, SEEK_CUR) != 3 || lseek(fbound, 0, SEEK_CUR) != 2)
		return fail("offsets changed");
	if (read_at(fdata, 0, buf, sizeof(buf)) || strcmp(buf, "hello tmpfs\n"))
		return fail("/data/file reads '%s'", buf);
	if (read_at(fbound, 0, buf, sizeof(buf)) || strcmp(buf, "hello tmpfs\n"))
		return fail("/etc/bound-file reads '%s'", buf);
	if (read_at(fdir, 0, buf, sizeof(buf)) || strcmp(buf, "inner\n"))
		return fail("/mnt/bound-dir/inner reads '%s'", buf);
	if (strcmp(priv, "private-change") || strcmp(shared, "shared-change"))
		return fail("mappings of /data/mapped changed: '%.20s' '%.20s'", priv, shared);
	if (read_at(fmap, 4096, buf, sizeof(buf)) || strcmp(buf, "shared-change"))
		return fail("/data/mapped does not hold the shared mapping's write: '%s'", buf);
	if (read_at(fmap, 0, buf, sizeof(buf)) || strcmp(buf, "mapped-file"))
		return fail("/data/mapped holds the private mapping's write: '%s'", buf);
	int fd = open("/data/dir/sub/deep", O_RDONLY);
	struct stat sb;
	if (fd < 0 || fstat(fd, &sb) || (sb.st_mode & 07777) != 0640 ||
	    sb.st_uid != (runc ? 0u : 123u) ||
	    read_at(fd, 0, buf, sizeof(buf)) || strcmp(buf, "deep\n"))
		return fail("/data/dir/sub/deep: mode %o uid %d '%s' (%m)", sb.st_mode, sb.st_uid, buf);
	close(fd);
	ssize_t n = readlink("/data/link", buf, sizeof(buf) - 1);
	if (n < 0 || (buf[n] = 0, strcmp(buf, "file")))
		return fail("/data/link is not a symlink to file");
	if (open("/mnt/ro-dir/new", O_WRONLY | O_CREAT, 0600) >= 0 || errno != EROFS)
		return fail("/mnt/ro-dir is writable");
	if (open("/proc/sys/kernel/hostname", O_WRONLY) >= 0 || errno != EROFS)
		return fail("/proc/sys is writable");
	if (open("/masked/x", O_WRONLY | O_CREAT, 0600) >= 0 || errno != EROFS)
		return fail("/masked is writable");
	fd = open("/etc/secret", O_RDONLY);
	if (fd < 0 || read(fd, buf, sizeof(buf)) != 0)
		return fail("/etc/secret is not masked by /dev/null");
	close(fd);
	int ptm = open("/dev/ptmx", O_RDWR | O_NOCTTY);
	if (ptm < 0 || grantpt(ptm) || unlockpt(ptm) || !ptsname(ptm) || strcmp(ptsname(ptm), "/dev/pts/0"))
		return fail("/dev/ptmx: no pty of its own devpts instance (%s, %m)", ptm >= 0 ? ptsname(ptm) : "-");
	if (!strncmp(variant, "ext", 3)) {
		fd = open("/mnt/ext/hostfile", O_RDONLY);
		if (fd < 0 || read_at(fd, 0, buf, sizeof(buf)) || strcmp(buf, ext))
			return fail("/mnt/ext/hostfile reads '%s' after the restore (%m)", buf);
		close(fd);
	}
	if (!strcmp(variant, "net") && check_net())
		return 1;
	if (cgns && cg_check(variant, child, &cg))
		return 1;
	if (!strcmp(variant, "paths") && paths_check(&pt))
		return 1;
	if (!strcmp(variant, "links") && links_check())
		return 1;
	kill(child, SIGUSR1);
	if (waitpid(child, &st, 0) != child || !WIFEXITED(st) || WEXITSTATUS(st))
		return fail("the child failed its checks (status %#x)", st);
	say("PASS");
	return 0;
}
