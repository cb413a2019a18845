/* sock.c - the lazy-pages socket's address and its messages (see sock.h). */
#define LOG_PREFIX "lazy-pages: "
#include <fcntl.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <unistd.h>

#include "common/log.h"
#include "lazy-pages/sock.h"
#include "lazy-pages/socket-proto.h"

int lazy_sock_addr(const char *dir, int dirfd, struct sockaddr_un *sa)
{
	int n;

	memset(sa, 0, sizeof(*sa));
	sa->sun_family = AF_UNIX;
	n = snprintf(sa->sun_path, sizeof(sa->sun_path), "%s/%s", dir, LAZY_SOCK_NAME);
	if (n < 0 || (size_t)n >= sizeof(sa->sun_path))
		n = snprintf(sa->sun_path, sizeof(sa->sun_path), "/proc/self/fd/%d/%s", dirfd,
			     LAZY_SOCK_NAME);
	if (n < 0 || (size_t)n >= sizeof(sa->sun_path))
		return -1;
	return offsetof(struct sockaddr_un, sun_path) + n + 1;
}

int lazy_sock_listen(const char *dir, int dirfd, struct sockaddr_un *sa)
{
	int len = lazy_sock_addr(dir, dirfd, sa);

	if (len < 0) {
		pr_err("%s: path too long for a unix socket", dir);
		return -1;
	}
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (fd < 0) {
		pr_perror("cannot create a unix socket");
		return -1;
	}
	/* a socket file left by a dead daemon is removed; a live one is not */
	int probe = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (probe >= 0 && !connect(probe, (struct sockaddr *)sa, len)) {
		pr_err("%s/%s: another lazy-pages daemon serves this directory", dir, LAZY_SOCK_NAME);
		close(probe);
		close(fd);
		return -1;
	}
	if (probe >= 0)
		close(probe);
	unlinkat(dirfd, LAZY_SOCK_NAME, 0);
	mode_t old = umask(0177);
	int ret = bind(fd, (struct sockaddr *)sa, len);
	umask(old);
	if (ret || fchmodat(dirfd, LAZY_SOCK_NAME, 0600, 0) || listen(fd, 16)) {
		pr_perror("%s/%s: cannot listen", dir, LAZY_SOCK_NAME);
		close(fd);
		return -1;
	}
	return fd;
}

union one_fd {
	char buf[CMSG_SPACE(sizeof(int))];
	struct cmsghdr align;
};

ssize_t lazy_recv_fd(int conn, void *buf, size_t len, int *fd)
{
	return lazy_recv_fds(conn, buf, len, fd, 1);
}

ssize_t lazy_recv_fds(int conn, void *buf, size_t len, int *fds, int nr)
{
	union {
		char buf[CMSG_SPACE(4 * sizeof(int))];
		struct cmsghdr align;
	} u;
	struct iovec iov = { buf, len };
	struct msghdr mh = { .msg_iov = &iov, .msg_iovlen = 1, .msg_control = u.buf,
			     .msg_controllen = sizeof(u.buf) };
	int got = 0;

	for (int i = 0; i < nr; i++)
		fds[i] = -1;
	ssize_t n = recvmsg(conn, &mh, MSG_WAITALL | MSG_CMSG_CLOEXEC);
	for (struct cmsghdr *c = n > 0 ? CMSG_FIRSTHDR(&mh) : NULL; c; c = CMSG_NXTHDR(&mh, c)) {
		if (c->cmsg_level != SOL_SOCKET || c->cmsg_type != SCM_RIGHTS)
			continue;
		int k = (c->cmsg_len - CMSG_LEN(0)) / sizeof(int);
		for (int i = 0; i < k; i++) {
			int fd;
			memcpy(&fd, CMSG_DATA(c) + i * sizeof(int), sizeof(int));
			if (got < nr)
				fds[got++] = fd;
			else
				close(fd);	/* more than asked for */
		}
	}
	return n;
}

ssize_t lazy_send_fd(int conn, const void *buf, size_t len, int fd)
{
	union one_fd u;
	struct iovec iov = { (void *)buf, len };
	struct msghdr mh = { .msg_iov = &iov, .msg_iovlen = 1 };

	if (fd >= 0) {
		memset(&u, 0, sizeof(u));
		mh.msg_control = u.buf;
		mh.msg_controllen = sizeof(u.buf);
		struct cmsghdr *c = CMSG_FIRSTHDR(&mh);
		c->cmsg_level = SOL_SOCKET;
		c->cmsg_type = SCM_RIGHTS;
		c->cmsg_len = CMSG_LEN(sizeof(int));
		memcpy(CMSG_DATA(c), &fd, sizeof(int));
	}
	return sendmsg(conn, &mh, MSG_NOSIGNAL);
}

/*
 * reads the hello, ranges, uffd and pidfd the restorer sent; 0 or -1
 * (conn closed).  fds: the uffd, the pidfd (closed on failure).
 */
int lazy_recv_hello(int conn, struct lazy_hello *h, struct lazy_range **ranges, int *fds)
{
	struct timeval tv = { 5, 0 };

	*ranges = NULL;
	setsockopt(conn, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	ssize_t n = lazy_recv_fds(conn, h, sizeof(*h), fds, 2);
	if (n == 0)
		goto err;	/* criu restore went away before the process was ready */
	if (n != sizeof(*h) || h->magic != LAZY_PROTO_MAGIC || h->version != LAZY_PROTO_VERSION ||
	    h->nr_ranges > LAZY_MAX_RANGES || fds[0] < 0 || fds[1] < 0) {
		pr_err("malformed message on the socket (%zd bytes, magic %#x, version %u, %s)", n,
		       n >= 8 ? h->magic : 0, n >= 8 ? h->version : 0,
		       fds[0] < 0 || fds[1] < 0 ? "without a userfaultfd and a pidfd" : "with its fds");
		goto err;
	}
	*ranges = calloc(h->nr_ranges + 1, sizeof(**ranges));
	if (!*ranges)
		goto err;
	size_t want = h->nr_ranges * sizeof(**ranges);
	if (want && recv(conn, *ranges, want, MSG_WAITALL) != (ssize_t)want) {
		pr_err("pid %u: truncated list of lazy ranges", h->pid);
		goto err;
	}
	uint64_t prev = 0;
	for (uint32_t i = 0; i < h->nr_ranges; i++) {
		const struct lazy_range *r = &(*ranges)[i];
		if (r->start % 4096 || r->end % 4096 || r->start >= r->end || r->start < prev) {
			pr_err("pid %u: lazy range %u (%lx-%lx) is malformed", h->pid, i,
			       (unsigned long)r->start, (unsigned long)r->end);
			goto err;
		}
		prev = r->end;
	}
	return 0;
err:
	for (int i = 0; i < 2; i++)
		if (fds[i] >= 0)
			close(fds[i]);
	free(*ranges);
	return -1;
}
