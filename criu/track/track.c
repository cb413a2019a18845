/* track.c - the write-tracking userfaultfd of a process (see track.h). */
#define LOG_PREFIX "track: "
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "common/compat.h"
#include "common/log.h"
#include "criu/track/track.h"

#ifndef UFFD_USER_MODE_ONLY
#define UFFD_USER_MODE_ONLY 1
#endif

/* the highest free fd number the (frozen) task may use: out of the program's way */
static int high_fd(pid_t pid)
{
	char path[64], line[256];
	long soft = 1024;
	struct stat st;

	snprintf(path, sizeof(path), "/proc/%d/limits", pid);
	FILE *f = fopen(path, "re");
	if (f) {
		while (fgets(line, sizeof(line), f))
			if (!strncmp(line, "Max open files", 14))
				sscanf(line + 14, "%ld", &soft);
		fclose(f);
	}
	if (soft > 1 << 20)
		soft = 1 << 20;
	for (long fd = soft - 1; fd > 2; fd--) {
		snprintf(path, sizeof(path), "/proc/%d/fd/%ld", pid, fd);
		if (lstat(path, &st) && errno == ENOENT)
			return fd;
	}
	return -1;
}

static int fetch(pid_t pid, int target_fd, struct track *t)
{
	char path[64];
	struct stat st;
	int pidfd = syscall(SYS_pidfd_open, pid, 0);

	if (pidfd < 0) {
		pr_perror("pid %d: pidfd_open failed", pid);
		return -1;
	}
	t->uffd = syscall(SYS_pidfd_getfd, pidfd, target_fd, 0);
	close(pidfd);
	if (t->uffd < 0)
		return -1;
	if (fstat(t->uffd, &st)) {
		close(t->uffd);
		t->uffd = -1;
		return -1;
	}
	t->pid = pid;
	t->target_fd = target_fd;
	t->ino = st.st_ino;
	snprintf(path, sizeof(path), "/proc/%d/pagemap", pid);
	t->pmfd = open(path, O_RDONLY | O_CLOEXEC);
	if (t->pmfd < 0) {
		close(t->uffd);
		t->uffd = -1;
		return -1;
	}
	return 0;
}

bool track_is_armed(struct track *t, uint64_t start)
{
	struct page_region r;
	struct pm_scan_arg arg = {
		.size = sizeof(arg),
		.flags = PM_SCAN_CHECK_WPASYNC,
		.start = start,
		.end = start + 4096,
		.vec = (uint64_t)&r,
		.vec_len = 1,
		.category_mask = PAGE_IS_WRITTEN,
		.return_mask = PAGE_IS_WRITTEN,
	};
	/* EPERM: the mapping is not registered in async write-protect mode */
	return t->uffd >= 0 && ioctl(t->pmfd, PAGEMAP_SCAN, &arg) >= 0;
}

static long inject(struct infect *c, long nr, long a0, long a1, long a2, long a3, long a4)
{
	long args[6] = { a0, a1, a2, a3, a4 }, ret;
	return infect_syscall(c, nr, args, &ret) ? -EIO : ret;
}

/*
 * A uffd for a process whose credentials may not make one that catches
 * kernel faults: criu opens /dev/userfaultfd (access is by the device's
 * permissions) and passes it in over a socketpair made inside the process;
 * the process asks it for a uffd of its own mm (USERFAULTFD_IOC_NEW).
 * Returns the uffd's number in the process, or -errno.
 */
static long uffd_via_dev(struct infect *c, pid_t pid, int flags)
{
	long sv0 = -1, sv1 = -1, devfd = -1, fd = -EIO;
	int mine = -1, dev = -1, pidfd = -1;

	if (!c->scratch && infect_scratch(c, 4096))
		return -EIO;
	uint64_t sc = c->scratch;
	int sv[2];
	long r = inject(c, SYS_socketpair, AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0, (long)sc, 0);
	if (r || infect_read(c, sc, sv, sizeof(sv)))
		return r ? r : -EIO;
	sv0 = sv[0];
	sv1 = sv[1];
	pidfd = syscall(SYS_pidfd_open, pid, 0);
	mine = pidfd < 0 ? -1 : syscall(SYS_pidfd_getfd, pidfd, (int)sv0, 0);
	dev = open("/dev/userfaultfd", O_RDWR | O_CLOEXEC);
	if (mine < 0 || dev < 0) {
		fd = -errno;
		goto out;
	}
	char byte = 0, cbuf[CMSG_SPACE(sizeof(int))] = { 0 };
	struct iovec iov = { &byte, 1 };
	struct msghdr mh = { .msg_iov = &iov, .msg_iovlen = 1, .msg_control = cbuf,
			     .msg_controllen = sizeof(cbuf) };
	struct cmsghdr *cm = CMSG_FIRSTHDR(&mh);
	cm->cmsg_level = SOL_SOCKET;
	cm->cmsg_type = SCM_RIGHTS;
	cm->cmsg_len = CMSG_LEN(sizeof(int));
	memcpy(CMSG_DATA(cm), &dev, sizeof(int));
	if (sendmsg(mine, &mh, 0) != 1) {
		fd = -errno;
		goto out;
	}
	/* the same message header, built in the scratch area, for the process */
	uint64_t m_at = sc + 64, iov_at = sc + 128, byte_at = sc + 192, ctl_at = sc + 256;
	struct iovec riov = { (void *)byte_at, 1 };
	struct msghdr rmh = { .msg_iov = (void *)iov_at, .msg_iovlen = 1,
			      .msg_control = (void *)ctl_at, .msg_controllen = sizeof(cbuf) };
	if (infect_write(c, iov_at, &riov, sizeof(riov)) || infect_write(c, m_at, &rmh, sizeof(rmh)))
		goto out;
	r = inject(c, SYS_recvmsg, sv1, (long)m_at, MSG_DONTWAIT | MSG_CMSG_CLOEXEC, 0, 0);
	if (r != 1 || infect_read(c, ctl_at, cbuf, sizeof(cbuf))) {
		fd = r < 0 ? r : -EIO;
		goto out;
	}
	memcpy(&devfd, CMSG_DATA((struct cmsghdr *)cbuf), sizeof(int));
	devfd = (int)devfd;
	fd = inject(c, SYS_ioctl, devfd, USERFAULTFD_IOC_NEW, flags, 0, 0);
out:
	if (devfd >= 0)
		inject(c, SYS_close, devfd, 0, 0, 0, 0);
	if (sv0 >= 0)
		inject(c, SYS_close, sv0, 0, 0, 0, 0);
	if (sv1 >= 0)
		inject(c, SYS_close, sv1, 0, 0, 0, 0);
	if (mine >= 0)
		close(mine);
	if (dev >= 0)
		close(dev);
	if (pidfd >= 0)
		close(pidfd);
	return fd;
}

int track_uffd_create(struct infect *c, pid_t pid, uint64_t features, bool keep,
		      struct track *t)
{
	long ret, fd;
	int hi = keep ? high_fd(pid) : 0;

	memset(t, 0, sizeof(*t));
	t->uffd = t->pmfd = -1;
	if (hi < 0) {
		pr_err("pid %d: no free fd number for the tracking userfaultfd", pid);
		return -1;
	}
	/*
	 * Asynchronous write-protection never calls back: faults from user
	 * mode are all it needs.  A synchronous one must also catch the
	 * kernel's own writes (read(2) into a protected buffer), which a
	 * user-mode-only uffd would turn into EFAULT.
	 */
	bool user_only = features & UFFD_FEATURE_WP_ASYNC;
	long args[6] = { O_CLOEXEC | O_NONBLOCK | (user_only ? UFFD_USER_MODE_ONLY : 0) };
	if (infect_syscall(c, SYS_userfaultfd, args, &fd))
		return -1;
	if (fd == -EPERM && !user_only) {
		fd = uffd_via_dev(c, pid, O_CLOEXEC | O_NONBLOCK);
		if (fd >= 0)
			pr_info("pid %d: userfaultfd made through /dev/userfaultfd", pid);
	}
	if (fd < 0) {
		errno = -fd;
		if (!user_only && (fd == -EPERM || fd == -EACCES))
			pr_err("pid %d: cannot create a userfaultfd in the process: it lacks CAP_SYS_PTRACE, vm.unprivileged_userfaultfd is 0 and /dev/userfaultfd did not serve",
			       pid);
		else
			pr_perror("pid %d: cannot create a userfaultfd in the process", pid);
		return -1;
	}
	long cargs[6] = { fd };
	if (keep) {
		long dargs[6] = { fd, hi, O_CLOEXEC };
		if (infect_syscall(c, SYS_dup3, dargs, &ret) || ret != hi) {
			pr_err("pid %d: cannot move the tracking userfaultfd to fd %d (%ld)", pid, hi, ret);
			infect_syscall(c, SYS_close, cargs, &ret);
			return -1;
		}
		if (infect_syscall(c, SYS_close, cargs, &ret))
			return -1;
		fd = hi;
	}
	int err = fetch(pid, fd, t);
	if (err)
		pr_perror("pid %d: cannot fetch the userfaultfd", pid);
	/* not kept: criu's copy is the only reference from now on */
	if (!keep && (infect_syscall(c, SYS_close, cargs, &ret) || ret)) {
		pr_err("pid %d: cannot close the userfaultfd's fd %ld in the process", pid, fd);
		err = -1;
	}
	if (err) {
		track_release(t);
		return -1;
	}
	if (!keep)
		t->target_fd = -1;
	struct uffdio_api api = { .api = UFFD_API, .features = features };
	if (ioctl(t->uffd, UFFDIO_API, &api)) {
		pr_perror("pid %d: userfaultfd features %#lx are not available", pid,
			  (unsigned long)features);
		track_release(t);
		return -1;
	}
	pr_info("pid %d: userfaultfd %s (inode %lu)", pid, keep ? "kept in the process" : "held by criu only",
		(unsigned long)t->ino);
	if (keep)
		pr_info("pid %d: tracking userfaultfd at fd %d", pid, hi);
	return 0;
}

int track_create(struct infect *c, pid_t pid, struct track *t)
{
	return track_uffd_create(c, pid, UFFD_FEATURE_WP_ASYNC | UFFD_FEATURE_WP_UNPOPULATED, true, t);
}

int track_attach(pid_t pid, int target_fd, uint64_t ino, struct track *t)
{
	char path[64], link[64];

	memset(t, 0, sizeof(*t));
	t->uffd = t->pmfd = -1;
	snprintf(path, sizeof(path), "/proc/%d/fd/%d", pid, target_fd);
	ssize_t n = readlink(path, link, sizeof(link) - 1);
	if (n < 0 || (link[n] = 0, strcmp(link, "anon_inode:[userfaultfd]"))) {
		pr_warn("pid %d: the tracking userfaultfd (fd %d) is gone: memory is copied in full",
			pid, target_fd);
		return 1;
	}
	if (fetch(pid, target_fd, t)) {
		pr_perror("pid %d: cannot fetch fd %d", pid, target_fd);
		return -1;
	}
	if (t->ino != ino) {
		pr_warn("pid %d: fd %d is another userfaultfd than the tracking one: memory is copied in full",
			pid, target_fd);
		track_release(t);
		return 1;
	}
	return 0;
}

int track_arm(struct track *t, uint64_t start, uint64_t end)
{
	struct uffdio_register reg = {
		.range = { start, end - start },
		.mode = UFFDIO_REGISTER_MODE_WP,
	};
	struct uffdio_writeprotect wp = {
		.range = { start, end - start },
		.mode = UFFDIO_WRITEPROTECT_MODE_WP,
	};

	if (ioctl(t->uffd, UFFDIO_REGISTER, &reg))
		return -errno;
	if (ioctl(t->uffd, UFFDIO_WRITEPROTECT, &wp)) {
		int err = -errno;
		struct uffdio_range r = { start, end - start };
		ioctl(t->uffd, UFFDIO_UNREGISTER, &r);
		return err;
	}
	return 0;
}

int track_close_in_task(struct infect *c, struct track *t)
{
	long ret, args[6] = { t->target_fd };

	if (infect_syscall(c, SYS_close, args, &ret) || ret) {
		pr_err("pid %d: cannot close the tracking userfaultfd (fd %d)", t->pid, t->target_fd);
		return -1;
	}
	track_release(t);
	return 0;
}

void track_release(struct track *t)
{
	if (t->uffd >= 0)
		close(t->uffd);
	if (t->pmfd >= 0)
		close(t->pmfd);
	t->uffd = -1;
	t->pmfd = -1;
}
