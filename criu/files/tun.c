/*
 * tun.c - a /dev/net/tun fd (FD_TUN): the tun or tap device it is
 * attached to, which is a device of the tree's own network namespace
 * (made again with it: criu/net/netns-tun.c).
 *
 * Dump, through a copy of the fd: the device's name and flags (TUNGETIFF:
 * tun or tap, IFF_NO_PI, IFF_VNET_HDR, IFF_PERSIST), the vnet header size
 * and send buffer.  Refused, one line each: a device in another network
 * namespace than the tree's own (criu's: restoring it would make a device
 * there), multi-queue devices (a queue detached by TUNSETQUEUE is not
 * seen), packets queued for the process to read, a socket filter
 * (TUNATTACHFILTER).  Not seen, so not restored: offloads (TUNSETOFFLOAD),
 * a steering or filter eBPF program, TUNSETTXFILTER's address filter.
 *
 * Restore, in the new process (in the new namespace, where the device is
 * already, persistent): opened, attached (TUNSETIFF), the header size and
 * buffer set; a device that was not persistent is made so again
 * (TUNSETPERSIST 0): it goes away with the last fd, as before.
 */
#define LOG_PREFIX "files: "
#include <errno.h>
#include <fcntl.h>
#include <linux/if_tun.h>
#include <net/if.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include "criu/files/files.h"
#include "common/log.h"

#define TUN_FLAGS (IFF_TUN | IFF_TAP | IFF_NO_PI | IFF_VNET_HDR | IFF_PERSIST | IFF_MULTI_QUEUE)

static bool tun_match(const struct fd_probe *p)
{
	return S_ISCHR(p->st.st_mode) && major(p->st.st_rdev) == 10 && minor(p->st.st_rdev) == 200;
}

/* the device's namespace must be the process's own, and not criu's */
static int tun_netns(struct fd_dump *d, const char *what, int fd, const char *dev)
{
	char path[64];
	struct stat dev_ns, own, criu;
	int ns = ioctl(fd, TUNGETDEVNETNS);
	snprintf(path, sizeof(path), "/proc/%d/ns/net", d->pid);
	if (ns < 0 || fstat(ns, &dev_ns) || stat(path, &own) || stat("/proc/self/ns/net", &criu)) {
		pr_perror("%s: tun device %s: cannot compare its network namespace", what, dev);
		if (ns >= 0)
			close(ns);
		return -1;
	}
	close(ns);
	if (dev_ns.st_ino == own.st_ino && own.st_ino != criu.st_ino)
		return 0;
	pr_err("%s: tun device %s is in %s network namespace: not supported (only in the tree's own)", what, dev,
	       dev_ns.st_ino == criu.st_ino ? "criu's" : "another");
	return -1;
}

static int dump_tun(struct fd_dump *d, const char *what, int fd, TunFile *t)
{
	struct ifreq ifr = { 0 };
	struct sock_fprog fp = { 0 };
	struct pollfd p = { fd, POLLIN, 0 };
	if (ioctl(fd, TUNGETIFF, &ifr)) {
		if (errno == EBADFD)
			return 0;	/* never attached */
		pr_perror("%s: TUNGETIFF", what);
		return -1;
	}
	t->name = strndup(ifr.ifr_name, IFNAMSIZ);
	t->flags = ifr.ifr_flags & TUN_FLAGS;
	if (!t->name || tun_netns(d, what, fd, t->name))
		return -1;
	if (t->flags & IFF_MULTI_QUEUE) {
		pr_err("%s: tun device %s is multi-queue: not supported (a detached queue is not seen)", what, t->name);
		return -1;
	}
	if (ioctl(fd, TUNGETVNETHDRSZ, &t->vnet_hdr_sz) || ioctl(fd, TUNGETSNDBUF, &t->sndbuf)) {
		pr_perror("%s: tun device %s: its header size or buffer", what, t->name);
		return -1;
	}
	if (!ioctl(fd, TUNGETFILTER, &fp) && fp.len) {
		pr_err("%s: tun device %s has a socket filter (TUNATTACHFILTER): not supported", what, t->name);
		return -1;
	}
	if (poll(&p, 1, 0) > 0 && (p.revents & POLLIN)) {
		pr_err("%s: tun device %s has packets queued, not yet read: not supported", what, t->name);
		return -1;
	}
	return 0;
}

static int tun_dump(struct fd_dump *d, const struct fd_probe *p, FileEntry *fe)
{
	char what[64];
	TunFile *t = calloc(1, sizeof(*t));
	if (!t)
		return -1;
	tun_file__init(t);
	fe->tun = t;
	snprintf(what, sizeof(what), "pid %d: fd %d", d->pid, p->fd);
	int fd = fd_dump_getfd(d, p->fd);
	if (fd < 0)
		return -1;
	int ret = dump_tun(d, what, fd, t);
	close(fd);
	return ret;
}

static int tun_check(const FileEntry *fe, const struct opts *o, const char *name)
{
	(void)o;
	const TunFile *t = fe->tun;
	if (!t || (t->name && (!*t->name || strlen(t->name) >= IFNAMSIZ)) || (t->flags & ~TUN_FLAGS) ||
	    (t->flags & IFF_MULTI_QUEUE) || (t->name && !(t->flags & (IFF_TUN | IFF_TAP)))) {
		pr_err("%s: file %u: bad tun file description", name, fe->id);
		return -1;
	}
	return 0;
}

static int tun_open(struct fd_rst *r, const FileEntry *fe)
{
	(void)r;
	const TunFile *t = fe->tun;
	struct ifreq ifr = { .ifr_flags = t->flags & ~IFF_PERSIST };
	int fd = open("/dev/net/tun", O_RDWR | O_CLOEXEC);
	if (fd < 0) {
		pr_perror("file %u: /dev/net/tun", fe->id);
		return -1;
	}
	if (!t->name)
		return fd;
	snprintf(ifr.ifr_name, IFNAMSIZ, "%s", t->name);
	if (ioctl(fd, TUNSETIFF, &ifr) || ioctl(fd, TUNSETVNETHDRSZ, &t->vnet_hdr_sz) ||
	    ioctl(fd, TUNSETSNDBUF, &t->sndbuf) || (!(t->flags & IFF_PERSIST) && ioctl(fd, TUNSETPERSIST, 0))) {
		pr_perror("file %u: cannot attach to tun device %s again", fe->id, t->name);
		close(fd);
		return -1;
	}
	return fd;
}

const struct fd_ops fd_tun_ops = {
	.kind = FD_KIND__FD_TUN,
	.name = "tun",
	.match = tun_match,
	.dump = tun_dump,
	.check = tun_check,
	.open = tun_open,
};
