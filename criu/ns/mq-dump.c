/*
 * mq-dump.c - the POSIX message queues of the ipc namespace the caller has
 * joined (criu/ns/ns-dump.c's helper), into ipcns.img: listed from an
 * mqueue mount of that namespace (made in a private mount namespace of
 * the helper), each with its attributes (mq_getattr), owner, mode and
 * messages.  A message is only readable by receiving it: they are all
 * received, in the queue's order (priority, then age), and sent back in
 * that order, which leaves the queue as it was (on failure, what was
 * received is sent back).  The tree is frozen meanwhile.  Refilling a
 * queue fires its notification (mq_notify), if one is registered: the
 * signal it sends is the only place its value shows, so an empty queue's
 * is fired too (a message sent and received); each registration is
 * reported to criu (mq_fds.report), which takes the signal back and
 * registers it again from its owner (criu/dump/mq-notify.c).  Refused with
 * one line: a registration criu could not make again (SIGEV_THREAD, by a
 * process that holds no fd of the queue, with its signal already
 * pending), and an fd of the tree whose queue is not one of the
 * namespace's.
 */
#define LOG_PREFIX ""
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <mqueue.h>
#include <sched.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <unistd.h>

#include "images/image.h"
#include "common/log.h"
#include "criu/ns/ns-img.h"

#define MQ_MAX_SAVED	(48UL << 20)	/* one image entry each (IMG_MAX_ENTRY) */

/* the namespace's mqueue fs, mounted at dir in a private mount namespace */
static int mount_mqueue(char *dir)
{
	if (unshare(CLONE_NEWNS) || mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) || !mkdtemp(dir)) {
		pr_perror("ipc namespace: cannot look for its POSIX message queues");
		return -1;
	}
	if (mount("mqueue", dir, "mqueue", 0, NULL)) {
		pr_perror("ipc namespace: cannot mount its mqueue fs to look for POSIX message queues");
		rmdir(dir);
		return -1;
	}
	return 0;
}

struct mq_notify_state {
	int notify, signo, pid;	/* pid 0: none registered */
	const struct mq_fd *fd;	/* the owner's fd on the queue */
};

/* the registered notification, from the queue's file ("QSIZE:.. NOTIFY:.. SIGNO:.. NOTIFY_PID:..") */
static int read_notify(int dirfd, const char *name, struct mq_notify_state *n)
{
	char buf[160] = "";
	int fd = openat(dirfd, name, O_RDONLY | O_CLOEXEC);
	ssize_t len = fd < 0 ? -1 : read(fd, buf, sizeof(buf) - 1);
	const char *l = strstr(buf, "NOTIFY:");

	if (fd >= 0)
		close(fd);
	*n = (struct mq_notify_state){ 0 };
	if (len < 0 || !l || sscanf(l, "NOTIFY:%d SIGNO:%d NOTIFY_PID:%d", &n->notify, &n->signo, &n->pid) != 3) {
		pr_perror("ipc namespace: POSIX message queue /%s: cannot read its state", name);
		return -1;
	}
	return 0;
}

/* is signal sig pending in the set of line key of /proc/PID/task/PID/status? */
static bool sig_pending(pid_t pid, const char *key, int sig)
{
	char path[64], line[128];
	unsigned long long set = 0;
	snprintf(path, sizeof(path), "/proc/%d/task/%d/status", pid, pid);
	FILE *f = fopen(path, "re");
	while (f && fgets(line, sizeof(line), f))
		if (!strncmp(line, key, strlen(key)))
			sscanf(line + strlen(key), "%llx", &set);
	if (f)
		fclose(f);
	return sig > 0 && sig <= 64 && (set >> (sig - 1)) & 1;
}

/*
 * A registration criu can save: SIGEV_SIGNAL or SIGEV_NONE, by a process
 * of the tree that holds an fd of the queue (it registers again through
 * it), with no signal of its number pending yet (the one the refill sends
 * is taken back: criu/dump/mq-notify.c)
 */
static int vet_notify(struct mq_notify_state *n, const char *name, ino_t ino, dev_t dev, const struct mq_fds *fds)
{
	const char *why = NULL;

	for (size_t i = 0; i < fds->nr && !n->fd; i++)
		if (fds->v[i].pid == n->pid && fds->v[i].ino == ino && fds->v[i].dev == dev)
			n->fd = &fds->v[i];
	if (n->notify != SIGEV_SIGNAL && n->notify != SIGEV_NONE)
		why = "by a thread (SIGEV_THREAD)";
	else if (n->notify == SIGEV_SIGNAL && (n->signo == SIGKILL || n->signo == SIGSTOP))
		why = "with SIGKILL or SIGSTOP";
	else if (!n->fd)
		why = "by a process outside the tree, or one that holds no fd of the queue";
	else if (n->notify == SIGEV_SIGNAL && (sig_pending(n->pid, "ShdPnd:", n->signo) ||
					       sig_pending(n->pid, "SigPnd:", n->signo)))
		why = "while its signal is pending already";
	if (why)
		pr_err("ipc namespace: POSIX message queue /%s: a notification is registered (mq_notify by pid %d, sigev_notify %d, signal %d) %s: not supported",
		       name, n->pid, n->notify, n->signo, why);
	return why ? -1 : 0;
}

/* fires the notification on the empty queue q (its value is only seen in the signal) */
static int fire(mqd_t q, long size, const char *name)
{
	char *buf = malloc(size + 1);
	int r = buf && !mq_send(q, "", 0, 0) && mq_receive(q, buf, size, NULL) == 0 ? 0 : -1;
	if (r)
		pr_perror("ipc namespace: POSIX message queue /%s: cannot fire its notification", name);
	free(buf);
	return r;
}

static void report(const struct mq_fds *fds, const struct mq_notify_state *n, bool fired, const char *name)
{
	dprintf(fds->report, "%d %d %d %d %d /%s\n", n->pid, n->fd->fd, n->notify, n->signo, fired, name);
}

static void free_msgs(PosixMq *m)
{
	for (size_t k = 0; k < m->n_msgs; k++)
		free(m->msgs[k]->data.data);
	if (m->n_msgs)
		free(m->msgs[0]);
	free(m->msgs);
}

/* sends the received messages back, in order; -1 if one could not be */
static int put_back(mqd_t q, const PosixMq *m)
{
	for (size_t k = 0; k < m->n_msgs; k++)
		if (mq_send(q, (char *)m->msgs[k]->data.data, m->msgs[k]->data.len, m->msgs[k]->prio)) {
			pr_perror("ipc namespace: POSIX message queue /%s: message %zu of %zu could not be sent back",
				  m->name, k + 1, m->n_msgs);
			return -1;
		}
	return 0;
}

/* receives the queue's n messages into m, then sends them back */
static int take_msgs(mqd_t q, long n, long size, PosixMq *m)
{
	PosixMqMsg *v = calloc(n + 1, sizeof(*v));
	int err = 0;

	m->msgs = calloc(n + 1, sizeof(*m->msgs));
	if (!v || !m->msgs) {
		free(v);
		return -1;
	}
	for (long k = 0; k < n; k++) {
		unsigned prio;
		char *buf = malloc(size + 1);
		ssize_t len = buf ? mq_receive(q, buf, size, &prio) : -1;
		if (len < 0) {
			pr_perror("ipc namespace: POSIX message queue /%s: cannot receive message %ld of %ld",
				  m->name, k + 1, n);
			free(buf);
			err = -1;
			break;
		}
		posix_mq_msg__init(&v[k]);
		v[k].prio = prio;
		v[k].data.data = (uint8_t *)buf;
		v[k].data.len = len;
		m->msgs[m->n_msgs++] = &v[k];
	}
	if (!m->n_msgs)
		free(v);
	return put_back(q, m) || err ? -1 : 0;
}

static int dump_queue(struct img_writer *w, int dirfd, const char *name, ino_t *ino, const struct mq_fds *fds)
{
	struct mq_notify_state n;
	IpcNsEntry e = IPC_NS_ENTRY__INIT;
	PosixMq m = POSIX_MQ__INIT;
	struct mq_attr a;
	struct stat st;
	char path[NAME_MAX + 2];
	int r = -1;

	if (fstatat(dirfd, name, &st, 0)) {
		pr_perror("ipc namespace: POSIX message queue /%s: cannot stat it", name);
		return -1;
	}
	*ino = st.st_ino;
	if (read_notify(dirfd, name, &n) || (n.pid && vet_notify(&n, name, st.st_ino, st.st_dev, fds)))
		return -1;
	snprintf(path, sizeof(path), "/%s", name);
	mqd_t q = mq_open(path, O_RDWR | O_NONBLOCK | O_CLOEXEC);
	if (q == (mqd_t)-1 || mq_getattr(q, &a)) {
		pr_perror("ipc namespace: cannot open POSIX message queue %s", path);
		if (q != (mqd_t)-1)
			mq_close(q);
		return -1;
	}
	if ((unsigned long)a.mq_curmsgs * a.mq_msgsize > MQ_MAX_SAVED) {
		pr_err("ipc namespace: POSIX message queue %s holds %ld messages of up to %ld bytes: more than %lu MiB is not supported",
		       path, a.mq_curmsgs, a.mq_msgsize, MQ_MAX_SAVED >> 20);
		mq_close(q);
		return -1;
	}
	m.name = (char *)name;
	m.mode = st.st_mode & 07777;
	m.uid = st.st_uid;
	m.gid = st.st_gid;
	m.maxmsg = a.mq_maxmsg;
	m.msgsize = a.mq_msgsize;
	/* refilling the queue fires the notification; an empty one is fired for its value */
	r = take_msgs(q, a.mq_curmsgs, a.mq_msgsize, &m);
	bool fired = n.pid && a.mq_curmsgs > 0;
	if (!r && n.pid && !fired && n.notify == SIGEV_SIGNAL && n.signo)
		r = fire(q, a.mq_msgsize, name), fired = true;
	if (n.pid)
		report(fds, &n, fired, name);
	if (!r) {
		e.mq = &m;
		r = img_write(w, &e.base);
	}
	free_msgs(&m);
	mq_close(q);
	return r;
}

/* every fd of the tree on a queue holds one of those listed (dev, ino) */
static int check_fds(const struct mq_fds *fds, dev_t dev, const ino_t *ino, size_t n)
{
	for (size_t i = 0; i < fds->nr; i++) {
		const struct mq_fd *f = &fds->v[i];
		bool found = false;
		for (size_t k = 0; k < n && !found; k++)
			found = f->dev == dev && f->ino == ino[k];
		if (!found) {
			pr_err("pid %d: fd %d: POSIX message queue %s is not one of its ipc namespace's (another namespace's, or removed): not supported",
			       f->pid, f->fd, f->name);
			return -1;
		}
	}
	return 0;
}

/* lists the queues (names, inodes) and dumps each */
static int dump_all(struct img_writer *w, const char *dir, const struct mq_fds *fds)
{
	DIR *d = opendir(dir);
	struct dirent *de;
	struct stat st;
	ino_t *ino = NULL;
	size_t n = 0;
	int err = d && !stat(dir, &st) ? 0 : -1;

	if (err)
		pr_perror("ipc namespace: cannot list its POSIX message queues");
	while (!err && (de = readdir(d))) {
		if (de->d_name[0] == '.')
			continue;
		ino_t *ni = realloc(ino, (n + 1) * sizeof(*ino));
		if (!ni) {
			err = -1;
			break;
		}
		ino = ni;
		err = dump_queue(w, dirfd(d), de->d_name, &ino[n++], fds);
	}
	if (!err)
		err = check_fds(fds, st.st_dev, ino, n);
	free(ino);
	if (d)
		closedir(d);
	return err;
}

int mq_dump(struct img_writer *w, const struct mq_fds *fds)
{
	char dir[] = "/tmp/criu-mqueue-XXXXXX";

	if (mount_mqueue(dir))
		return -1;
	int err = dump_all(w, dir, fds);
	umount2(dir, MNT_DETACH);
	rmdir(dir);
	return err;
}
