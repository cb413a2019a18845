/*
 * ipc-restore.c - ipcns.img into the new ipc namespace the caller is the
 * first task of: the limits first, then every object with its id (set
 * through kernel.*_next_id before its creation), owner, mode and
 * contents, then the *_next_id sysctls as dumped.  A message queue is
 * made under a kernel.msgmnb of its size (raising a queue's size past it
 * takes CAP_SYS_RESOURCE); so is a POSIX message queue (mq-restore.c),
 * and the limits are set again after them all.  Not restored: creator uids, times and pids of
 * the objects (the kernel sets them), semaphore undo lists.
 */
#define LOG_PREFIX ""
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ipc.h>
#include <sys/msg.h>
#include <sys/sem.h>
#include <sys/shm.h>

#include "images/image.h"
#include "common/log.h"
#include "criu/ns/ns-img.h"

union semun_ {
	int val;
	struct semid_ds *buf;
	unsigned short *array;
};

static int write_sysctl(const char *name, const char *value)
{
	char path[96];
	snprintf(path, sizeof(path), "/proc/sys/%s", name);
	FILE *f = fopen(path, "we");
	if (!f || fprintf(f, "%s\n", value) < 0 || fclose(f)) {
		pr_perror("ipcns.img: cannot set %s to '%s'", path, value);
		return -1;
	}
	return 0;
}

static int set_next_id(const char *kind, uint32_t id)
{
	char name[32], v[16];
	snprintf(name, sizeof(name), "kernel/%s_next_id", kind);
	snprintf(v, sizeof(v), "%u", id);
	return write_sysctl(name, v);
}

/* the limits (late: the *_next_id) */
static int restore_sysctls(const IpcNsEntry *e, bool late)
{
	for (size_t i = 0; i < e->n_sysctls; i++) {
		const IpcSysctl *s = e->sysctls[i];
		bool next_id = strstr(s->name, "_next_id") != NULL;
		if (next_id != late)
			continue;
		/* -1 (none) is what making an object with a given id leaves, and cannot be written */
		if (next_id && !strcmp(s->value, "-1"))
			continue;
		if (strstr(s->name, "..") || (strncmp(s->name, "kernel/", 7) && strncmp(s->name, "fs/mqueue/", 10))) {
			pr_err("ipcns.img: sysctl %s is not an ipc namespace's", s->name);
			return -1;
		}
		if (write_sysctl(s->name, s->value))
			return -1;
	}
	return 0;
}

/* the made object got the dumped id */
static int check_id(const char *what, int got, const IpcPerm *p)
{
	if (got < 0) {
		pr_perror("ipcns.img: cannot make %s %u (key %#x)", what, p->id, p->key);
		return -1;
	}
	if ((uint32_t)got != p->id) {
		pr_err("ipcns.img: %s %u was made with id %d", what, p->id, got);
		return -1;
	}
	return 0;
}

static void set_perm(struct ipc_perm *k, const IpcPerm *p)
{
	k->uid = p->uid;
	k->gid = p->gid;
	k->mode = p->mode & 0777;
}

static int restore_shm(const IpcShmSeg *s)
{
	const IpcPerm *p = s->perm;
	struct shmid_ds ds;

	if (s->data.len != s->size) {
		pr_err("ipcns.img: shared memory segment %u: %zu bytes of data for %lu", p->id,
		       s->data.len, (unsigned long)s->size);
		return -1;
	}
	if (set_next_id("shm", p->id))
		return -1;
	int id = shmget(p->key, s->size, (p->mode & 0777) | IPC_CREAT | IPC_EXCL);
	if (check_id("shared memory segment", id, p))
		return -1;
	void *mem = shmat(id, NULL, 0);
	if (mem == (void *)-1) {
		pr_perror("ipcns.img: cannot attach shared memory segment %u", p->id);
		return -1;
	}
	memcpy(mem, s->data.data, s->size);
	shmdt(mem);
	if (shmctl(id, IPC_STAT, &ds) == 0)
		set_perm(&ds.shm_perm, p);
	if (shmctl(id, IPC_SET, &ds) || ((p->mode & SHM_LOCKED) && shmctl(id, SHM_LOCK, NULL))) {
		pr_perror("ipcns.img: cannot set owner, mode or lock of shared memory segment %u", p->id);
		return -1;
	}
	return 0;
}

static int restore_sem(const IpcSemSet *s)
{
	const IpcPerm *p = s->perm;
	struct semid_ds ds;
	unsigned short *v = calloc(s->n_values + 1, sizeof(*v));

	if (!s->n_values)
		pr_err("ipcns.img: semaphore set %u has no semaphores", p->id);
	if (!v || !s->n_values || set_next_id("sem", p->id)) {
		free(v);
		return -1;
	}
	int id = semget(p->key, s->n_values, (p->mode & 0777) | IPC_CREAT | IPC_EXCL);
	for (size_t k = 0; k < s->n_values; k++)
		v[k] = s->values[k];
	int err = check_id("semaphore set", id, p) ||
		  semctl(id, 0, SETALL, (union semun_){ .array = v }) ||
		  semctl(id, 0, IPC_STAT, (union semun_){ .buf = &ds });
	free(v);
	if (!err) {
		set_perm(&ds.sem_perm, p);
		err = semctl(id, 0, IPC_SET, (union semun_){ .buf = &ds });
	}
	if (err)
		pr_perror("ipcns.img: cannot set the values or owner of semaphore set %u", p->id);
	return err ? -1 : 0;
}

static int send_msgs(int id, const IpcMsgQueue *q)
{
	for (size_t k = 0; k < q->n_msgs; k++) {
		const IpcMsg *m = q->msgs[k];
		char *buf = malloc(sizeof(long) + m->text.len + 1);
		if (!buf)
			return -1;
		*(long *)buf = m->mtype;
		memcpy(buf + sizeof(long), m->text.data, m->text.len);
		int r = msgsnd(id, buf, m->text.len, IPC_NOWAIT);
		free(buf);
		if (r) {
			pr_perror("ipcns.img: cannot queue message %zu of queue %u", k, q->perm->id);
			return -1;
		}
	}
	return 0;
}

static int restore_msg(const IpcMsgQueue *q, const char *msgmnb)
{
	const IpcPerm *p = q->perm;
	struct msqid_ds ds;
	char size[32];

	snprintf(size, sizeof(size), "%lu", (unsigned long)q->qbytes);
	if (set_next_id("msg", p->id) || write_sysctl("kernel/msgmnb", size))
		return -1;
	int id = msgget(p->key, (p->mode & 0777) | IPC_CREAT | IPC_EXCL);
	if (write_sysctl("kernel/msgmnb", msgmnb) || check_id("message queue", id, p) ||
	    send_msgs(id, q))
		return -1;
	if (msgctl(id, IPC_STAT, &ds) == 0)
		set_perm(&ds.msg_perm, p);
	if (msgctl(id, IPC_SET, &ds)) {
		pr_perror("ipcns.img: cannot set the owner of message queue %u", p->id);
		return -1;
	}
	return 0;
}

/* kernel.msgmnb as dumped */
static const char *dumped_msgmnb(const IpcNsEntry *e)
{
	for (size_t i = 0; i < e->n_sysctls; i++)
		if (!strcmp(e->sysctls[i]->name, "kernel/msgmnb"))
			return e->sysctls[i]->value;
	return "16384";
}

int ipc_ns_restore(const struct img_entries *en)
{
	const IpcNsEntry *first = en->nr ? (IpcNsEntry *)en->msgs[0] : NULL;

	if (!first || !first->n_sysctls) {
		pr_err("ipcns.img: no sysctls first");
		return -1;
	}
	if (restore_sysctls(first, false))
		return -1;
	for (size_t i = 1; i < en->nr; i++) {
		const IpcNsEntry *e = (IpcNsEntry *)en->msgs[i];
		int r = e->shm ? restore_shm(e->shm)
			: e->sem ? restore_sem(e->sem)
			: e->msg ? restore_msg(e->msg, dumped_msgmnb(first))
			: e->mq ? mq_restore(e->mq)
			: (pr_err("ipcns.img: entry %zu holds no object", i), -1);
		if (r)
			return -1;
	}
	/* the limits again (a POSIX message queue raised them for its making), then the next ids */
	return restore_sysctls(first, false) || restore_sysctls(first, true) ? -1 : 0;
}
