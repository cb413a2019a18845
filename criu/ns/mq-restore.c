/*
 * mq-restore.c - a POSIX message queue of ipcns.img made again in the new
 * ipc namespace the caller is the first task of: mq_open with its
 * attributes (the namespace's limits, fs.mqueue.*, raised for it
 * meanwhile: the dumped ones are set again afterwards by ipc-restore.c,
 * since a queue may have been made under other limits, and raising a
 * queue past them takes CAP_SYS_RESOURCE), then its owner and mode (not
 * the umask's), then its messages in the dumped order.  Its times are the
 * kernel's.
 */
#define LOG_PREFIX ""
#include <fcntl.h>
#include <limits.h>
#include <mqueue.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "images/image.h"
#include "common/log.h"
#include "criu/ns/ns-img.h"

/* the kernel's bounds (ipc/mqueue.c: HARD_MSGMAX, HARD_MSGSIZEMAX, MQ_PRIO_MAX) */
#define MQ_HARD_MSGMAX		65536
#define MQ_HARD_MSGSIZEMAX	(16 << 20)
#define MQ_MIN_MSGSIZEMAX	128
#define MQ_HARD_QUEUESMAX	1024
#define MQ_PRIO_LIMIT		32768

static int set_limit(const char *name, long v)
{
	char path[96];
	snprintf(path, sizeof(path), "/proc/sys/fs/mqueue/%s", name);
	FILE *f = fopen(path, "we");
	if (!f || fprintf(f, "%ld\n", v) < 0 || fclose(f)) {
		pr_perror("ipcns.img: cannot set %s to %ld", path, v);
		return -1;
	}
	return 0;
}

static int check_queue(const PosixMq *m)
{
	if (!m->name[0] || strchr(m->name, '/') || strlen(m->name) > NAME_MAX - 1 || m->maxmsg < 1 ||
	    m->maxmsg > MQ_HARD_MSGMAX || m->msgsize < 1 || m->msgsize > MQ_HARD_MSGSIZEMAX ||
	    (long)m->n_msgs > m->maxmsg) {
		pr_err("ipcns.img: POSIX message queue '%s': bad name, attributes or count of messages", m->name);
		return -1;
	}
	for (size_t k = 0; k < m->n_msgs; k++)
		if (m->msgs[k]->prio >= MQ_PRIO_LIMIT || (long)m->msgs[k]->data.len > m->msgsize) {
			pr_err("ipcns.img: POSIX message queue /%s: message %zu has priority %u and %zu bytes (at most %ld)",
			       m->name, k + 1, m->msgs[k]->prio, m->msgs[k]->data.len, (long)m->msgsize);
			return -1;
		}
	return 0;
}

static int fill(mqd_t q, const PosixMq *m)
{
	for (size_t k = 0; k < m->n_msgs; k++)
		if (mq_send(q, (char *)m->msgs[k]->data.data, m->msgs[k]->data.len, m->msgs[k]->prio)) {
			pr_perror("ipcns.img: POSIX message queue /%s: cannot send message %zu back", m->name, k + 1);
			return -1;
		}
	return 0;
}

int mq_restore(const PosixMq *m)
{
	struct mq_attr a = { .mq_maxmsg = m->maxmsg, .mq_msgsize = m->msgsize };
	char path[NAME_MAX + 2];

	if (check_queue(m) || set_limit("queues_max", MQ_HARD_QUEUESMAX) || set_limit("msg_max", m->maxmsg) ||
	    set_limit("msgsize_max", m->msgsize < MQ_MIN_MSGSIZEMAX ? MQ_MIN_MSGSIZEMAX : m->msgsize))
		return -1;
	snprintf(path, sizeof(path), "/%s", m->name);
	mqd_t q = mq_open(path, O_RDWR | O_NONBLOCK | O_CREAT | O_EXCL | O_CLOEXEC, m->mode & 0777, &a);
	if (q == (mqd_t)-1) {
		pr_perror("ipcns.img: cannot make POSIX message queue %s (%ld messages of %ld bytes)", path,
			  (long)m->maxmsg, (long)m->msgsize);
		return -1;
	}
	int err = 0;
	if (fchown(q, m->uid, m->gid) || fchmod(q, m->mode & 07777)) {
		pr_perror("ipcns.img: POSIX message queue %s: cannot set its owner %u:%u and mode %o", path, m->uid,
			  m->gid, m->mode);
		err = -1;
	}
	err = err || fill(q, m);
	mq_close(q);
	return err;
}
