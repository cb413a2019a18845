/*
 * unix-cmsg.c - the control data of messages queued on a unix socket:
 * file descriptors in flight (SCM_RIGHTS) and the sender's credentials
 * (SCM_CREDENTIALS, kept when the socket has SO_PASSCRED: what its reader
 * sees).
 *
 * Dump: a file in flight is one of the process's open file descriptions
 * (kcmp of criu's peeked copy against the process's fds): the message
 * keeps that file's id.  A file in flight that no fd of the process holds
 * (its only reference is the message), credentials of a process outside
 * the dumped tree: refused, one line.
 *
 * Restore: the message is sent again with the process's fds of those
 * files (all in place: this runs once every fd is, socket.c's post), and
 * the credentials (root may give any; the pid must exist, which a process
 * of the tree not yet created does not: tried again meanwhile).
 *
 * Owns nothing beyond the call.
 */
#define LOG_PREFIX "files: "
#include <errno.h>
#include <linux/kcmp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "common/compat.h"
#include "criu/files/files.h"
#include "common/log.h"
#include "criu/files/unix-sk.h"

#ifndef SCM_PIDFD
#define SCM_PIDFD 0x04
#endif

/* the id of the process's file whose open file description criu's fd is, or 0 */
static uint32_t file_of(const struct fd_dump *d, int fd)
{
	for (size_t i = 0; i < d->nr; i++)
		if (syscall(SYS_kcmp, getpid(), d->pid, KCMP_FILE, fd, d->probes[i].fd) == 0)
			return d->probes[i].file_id;
	return 0;
}

static int take_rights(const struct fd_dump *d, const char *what, const struct cmsghdr *c, SkMsg *m)
{
	int n = (c->cmsg_len - CMSG_LEN(0)) / sizeof(int), ret = 0;
	const int *fds = (const int *)CMSG_DATA(c);
	uint32_t *ids = realloc(m->fds, (m->n_fds + n) * sizeof(*ids));
	if (!ids)
		ret = -1;
	else
		m->fds = ids;
	for (int i = 0; i < n; i++) {
		uint32_t id = ret ? 0 : file_of(d, fds[i]);
		if (!ret && !id) {
			char l[64], t[256] = "?";
			snprintf(l, sizeof(l), "/proc/self/fd/%d", fds[i]);
			ssize_t k = readlink(l, t, sizeof(t) - 1);
			t[k > 0 ? k : 1] = 0;
			pr_err("%s: a file in flight (SCM_RIGHTS: %s) that the process has no fd of: not supported",
			       what, t);
			ret = -1;
		}
		if (!ret)
			m->fds[m->n_fds++] = id;
		close(fds[i]);
	}
	return ret;
}

int usk_peek_cmsg(const struct fd_dump *d, const char *what, struct msghdr *mh, bool creds, SkMsg **out)
{
	SkMsg *m = calloc(1, sizeof(*m));
	int ret = 0;
	*out = NULL;
	if (!m)
		return -1;
	sk_msg__init(m);
	for (struct cmsghdr *c = CMSG_FIRSTHDR(mh); c; c = CMSG_NXTHDR(mh, c)) {
		if (c->cmsg_level != SOL_SOCKET)
			continue;
		if (c->cmsg_type == SCM_RIGHTS && take_rights(d, what, c, m))
			ret = -1;
		if (c->cmsg_type == SCM_PIDFD)
			close(*(int *)CMSG_DATA(c));
		if (c->cmsg_type == SCM_CREDENTIALS && creds) {
			const struct ucred *u = (const struct ucred *)CMSG_DATA(c);
			m->has_pid = m->has_uid = m->has_gid = true;
			m->pid = u->pid;
			m->uid = u->uid;
			m->gid = u->gid;
		}
	}
	if (!ret && (mh->msg_flags & MSG_CTRUNC)) {
		pr_err("%s: a queued message with more file descriptors in flight than criu can take", what);
		ret = -1;
	}
	if (!ret && m->has_pid && m->pid && !fd_pid_in_tree(d, m->pid)) {
		pr_err("%s: a message queued by pid %u, outside the dumped tree, on a socket with SO_PASSCRED (its reader sees that pid): not supported",
		       what, m->pid);
		ret = -1;
	}
	if (ret || (!m->n_fds && !m->has_pid)) {
		sk_msg__free_unpacked(m, NULL);
		return ret;
	}
	*out = m;
	return 0;
}

/* sendmsg, tried again while a process of the tree named in the
 * credentials is not made yet */
static ssize_t send_retry(int from, const struct msghdr *mh, bool creds)
{
	ssize_t n;
	for (int i = 0; (n = sendmsg(from, mh, MSG_DONTWAIT | MSG_NOSIGNAL)) < 0 && creds && errno == ESRCH && i < 5000;
	     i++)
		usleep(1000);
	return n;
}

/* SO_PASSCRED and SO_PASSPIDFD of fd off for a send that must attach no
 * credentials (the kernel adds the sender's when either end asks); *saved */
static void quiet_creds(int fd, int saved[2])
{
	static const int opt[2] = { SO_PASSCRED, SO_PASSPIDFD };
	for (int i = 0; i < 2; i++) {
		socklen_t l = sizeof(int);
		int zero = 0;
		saved[i] = 0;
		if (!getsockopt(fd, SOL_SOCKET, opt[i], &saved[i], &l) && saved[i])
			setsockopt(fd, SOL_SOCKET, opt[i], &zero, sizeof(zero));
	}
}

static int loud_creds(int fd, const int saved[2])
{
	static const int opt[2] = { SO_PASSCRED, SO_PASSPIDFD };
	for (int i = 0; i < 2; i++)
		if (saved[i] && setsockopt(fd, SOL_SOCKET, opt[i], &saved[i], sizeof(saved[i]))) {
			pr_perror("cannot set a socket's SO_PASSCRED/SO_PASSPIDFD back");
			return -1;
		}
	return 0;
}

ssize_t usk_send(int from, int rcv, const ProtobufCBinaryData *data, const SkMsg *x, const struct fd_rst *r,
		 const struct sockaddr_un *to, socklen_t tolen)
{
	struct iovec iov = { data->data, data->len };
	struct msghdr mh = { .msg_name = (void *)to, .msg_namelen = to ? tolen : 0, .msg_iov = &iov, .msg_iovlen = 1 };
	size_t nfd = x ? x->n_fds : 0;
	char *ctl = calloc(1, CMSG_SPACE(nfd * sizeof(int)) + CMSG_SPACE(sizeof(struct ucred)));
	struct cmsghdr *c;

	if (!ctl)
		return -1;
	mh.msg_control = ctl;
	if (nfd) {
		mh.msg_controllen += CMSG_SPACE(nfd * sizeof(int));
		c = CMSG_FIRSTHDR(&mh);
		c->cmsg_level = SOL_SOCKET;
		c->cmsg_type = SCM_RIGHTS;
		c->cmsg_len = CMSG_LEN(nfd * sizeof(int));
		for (size_t i = 0; i < nfd; i++) {
			int fd = x->fds[i] <= r->nr_files ? r->where[x->fds[i]] : -1;
			if (fd < 0) {
				pr_err("a message's file in flight (file %u) is not open", x->fds[i]);
				free(ctl);
				errno = EBADF;
				return -1;
			}
			memcpy(CMSG_DATA(c) + i * sizeof(int), &fd, sizeof(int));
		}
	}
	bool none = x && x->has_pid && !x->pid;
	if (x && x->has_pid && !none) {
		size_t at = mh.msg_controllen;
		mh.msg_controllen += CMSG_SPACE(sizeof(struct ucred));
		c = (struct cmsghdr *)(ctl + at);
		c->cmsg_level = SOL_SOCKET;
		c->cmsg_type = SCM_CREDENTIALS;
		c->cmsg_len = CMSG_LEN(sizeof(struct ucred));
		struct ucred u = { x->pid, x->uid, x->gid };
		memcpy(CMSG_DATA(c), &u, sizeof(u));
	}
	if (!mh.msg_controllen)
		mh.msg_control = NULL;
	int sf[2], sr[2];
	if (none) {
		quiet_creds(from, sf);
		quiet_creds(rcv, sr);
	}
	ssize_t n = send_retry(from, &mh, x && x->has_pid && !none);
	int e = errno;
	if (none && (loud_creds(from, sf) || loud_creds(rcv, sr)))
		n = -1;
	else
		errno = e;
	free(ctl);
	return n;
}
