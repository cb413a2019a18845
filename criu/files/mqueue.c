/*
 * mqueue.c - an open POSIX message queue (mq_open): its name, the
 * queue's inode (dev, ino) and the description's flags (access mode,
 * O_NONBLOCK).  The queue itself (attributes, owner, mode, messages) is
 * the ipc namespace's, saved with it (criu/ns/mq-dump.c, which also
 * checks that every queue an fd holds is one it saved), so only a tree
 * with an ipc namespace of its own has its queues' fds saved; a queue of
 * criu's (the host's) ipc namespace, or one unlinked while open, is
 * refused here.  Restore opens the queue again by name, in the new ipc
 * namespace where it was made before any file, and registers the
 * process's notification on it again (saved on one of its fds on the
 * queue by criu/dump/mq-notify.c) once its fds are in place.
 */
#define LOG_PREFIX "files: "
#include <fcntl.h>
#include <limits.h>
#include <mqueue.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "criu/files/files.h"
#include "common/log.h"
#include "criu/ns/ns.h"

static bool mqueue_match(const struct fd_probe *p)
{
	return p->mqueue;
}

static int mqueue_dump(struct fd_dump *d, const struct fd_probe *p, FileEntry *fe)
{
	if (ns_inode(d->pid, d->pid, "ipc") == ns_inode(0, 0, "ipc")) {
		pr_err("pid %d: fd %d: POSIX message queue %s of criu's ipc namespace: not supported (only a tree with an ipc namespace of its own has its queues saved)",
		       d->pid, p->fd, p->link);
		return -1;
	}
	if (p->st.st_nlink == 0) {
		pr_err("pid %d: fd %d: POSIX message queue %s: removed (mq_unlink) while open: not supported",
		       d->pid, p->fd, p->link);
		return -1;
	}
	MqueueFile *m = calloc(1, sizeof(*m));
	if (!m)
		return -1;
	mqueue_file__init(m);
	fe->mqueue = m;
	m->dev = p->st.st_dev;
	m->ino = p->st.st_ino;
	m->name = strdup(p->link);
	return m->name ? 0 : -1;
}

/* a registration mq-notify.c saves: SIGEV_SIGNAL (a signal but SIGKILL, SIGSTOP, or none) or SIGEV_NONE */
static bool notify_ok(const MqNotify *n)
{
	return !n || (n->sigev_notify == SIGEV_NONE && !n->signo) ||
	       (n->sigev_notify == SIGEV_SIGNAL && n->signo >= 0 && n->signo <= 64 && n->signo != SIGKILL &&
		n->signo != SIGSTOP);
}

static int mqueue_check(const FileEntry *fe, const struct opts *o, const char *name)
{
	const MqueueFile *m = fe->mqueue;
	(void)o;
	if (!m || m->name[0] != '/' || !m->name[1] || strchr(m->name + 1, '/') || strlen(m->name) > NAME_MAX ||
	    (fe->flags & ~(O_ACCMODE | O_NONBLOCK | O_LARGEFILE)) || !notify_ok(m->notify)) {
		pr_err("%s: file %u: bad POSIX message queue description", name, fe->id);
		return -1;
	}
	return 0;
}

static int mqueue_open(struct fd_rst *r, const FileEntry *fe)
{
	(void)r;
	int fd = mq_open(fe->mqueue->name, (fe->flags & (O_ACCMODE | O_NONBLOCK)) | O_CLOEXEC);
	if (fd < 0)
		pr_perror("file %u: cannot open POSIX message queue %s", fe->id, fe->mqueue->name);
	return fd;
}

/* the process's notification, registered again once its fds are in place (the queue is filled already) */
static int mqueue_post(struct fd_rst *r, const FileEntry *fe, int fd)
{
	const MqNotify *n = fe->mqueue->notify;
	struct sigevent sev;

	(void)r;
	if (!n)
		return 0;
	memset(&sev, 0, sizeof(sev));
	sev.sigev_notify = n->sigev_notify;
	sev.sigev_signo = n->signo;
	sev.sigev_value.sival_ptr = (void *)(uintptr_t)n->value;
	if (syscall(SYS_mq_notify, fd, &sev)) {
		pr_perror("file %u: POSIX message queue %s: cannot register its notification again", fe->id,
			  fe->mqueue->name);
		return -1;
	}
	return 0;
}

const struct fd_ops fd_mqueue_ops = {
	.kind = FD_KIND__FD_MQUEUE,
	.name = "POSIX message queue",
	.match = mqueue_match,
	.dump = mqueue_dump,
	.check = mqueue_check,
	.open = mqueue_open,
	.post = mqueue_post,
};
