/*
 * ipc-dump.c - the ipc namespace the caller has joined, into ipcns.img:
 * its sysctls (kernel.shm*, msg*, sem, the *_next_id, fs.mqueue.*), every
 * SysV shared memory segment with its contents, semaphore set with its
 * values, message queue with its messages (copied with MSG_COPY, left in
 * the queue), POSIX message queue with its messages (mq-dump.c).  Reading a
 * segment attaches it for a moment (its attach time and count move).
 */
#define LOG_PREFIX ""
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ipc.h>
#include <sys/msg.h>
#include <sys/sem.h>
#include <sys/shm.h>
#include <unistd.h>

#include "images/image.h"
#include "common/log.h"
#include "criu/ns/ns-img.h"

#define SHM_MAX_SAVED	(48UL << 20)	/* one image entry each (IMG_MAX_ENTRY) */
#define MSG_MAX_TEXT	(1 << 16)	/* the kernel's limit on kernel.msgmax is 65536 */

/* the ipc sysctls, in the order restore writes them (the next ids last) */
static const char *const sysctls[] = {
	"kernel/shmmax", "kernel/shmall", "kernel/shmmni", "kernel/shm_rmid_forced",
	"kernel/msgmax", "kernel/msgmnb", "kernel/msgmni", "kernel/sem",
	"fs/mqueue/queues_max", "fs/mqueue/msg_max", "fs/mqueue/msgsize_max",
	"fs/mqueue/msg_default", "fs/mqueue/msgsize_default",
	"kernel/shm_next_id", "kernel/sem_next_id", "kernel/msg_next_id",
};
#define NR_SYSCTLS (sizeof(sysctls) / sizeof(sysctls[0]))

union semun_ {
	int val;
	struct semid_ds *buf;
	unsigned short *array;
	struct seminfo *info;
};

static int write_entry(struct img_writer *w, IpcNsEntry *e)
{
	return img_write(w, &e->base);
}

static void perm_of(IpcPerm *p, const struct ipc_perm *k, int id)
{
	p->key = k->__key;
	p->id = id;
	p->mode = k->mode;
	p->uid = k->uid;
	p->gid = k->gid;
	p->cuid = k->cuid;
	p->cgid = k->cgid;
}

static int dump_sysctls(struct img_writer *w)
{
	IpcNsEntry e = IPC_NS_ENTRY__INIT;
	IpcSysctl s[NR_SYSCTLS], *ps[NR_SYSCTLS];
	char val[NR_SYSCTLS][128];

	for (size_t i = 0; i < NR_SYSCTLS; i++) {
		char path[96];
		snprintf(path, sizeof(path), "/proc/sys/%s", sysctls[i]);
		FILE *f = fopen(path, "re");
		if (!f || !fgets(val[i], sizeof(val[i]), f)) {
			pr_perror("ipc namespace: cannot read %s", path);
			if (f)
				fclose(f);
			return -1;
		}
		fclose(f);
		val[i][strcspn(val[i], "\n")] = 0;
		ipc_sysctl__init(&s[i]);
		s[i].name = (char *)sysctls[i];
		s[i].value = val[i];
		ps[i] = &s[i];
	}
	e.n_sysctls = NR_SYSCTLS;
	e.sysctls = ps;
	return write_entry(w, &e);
}

static int dump_one_shm(struct img_writer *w, int id, const struct shmid_ds *ds)
{
	IpcNsEntry e = IPC_NS_ENTRY__INIT;
	IpcShmSeg seg = IPC_SHM_SEG__INIT;
	IpcPerm perm = IPC_PERM__INIT;

	if (ds->shm_perm.mode & SHM_DEST) {
		pr_err("ipc namespace: SysV shm segment %d is removed (IPC_RMID) but still attached: not supported",
		       id);
		return -1;
	}
	if (ds->shm_segsz > SHM_MAX_SAVED) {
		pr_err("ipc namespace: SysV shared memory segment %d of %zu bytes: more than %lu MiB is not supported yet",
		       id, ds->shm_segsz, SHM_MAX_SAVED >> 20);
		return -1;
	}
	void *mem = shmat(id, NULL, SHM_RDONLY);
	if (mem == (void *)-1) {
		pr_perror("ipc namespace: cannot attach SysV shared memory segment %d", id);
		return -1;
	}
	perm_of(&perm, &ds->shm_perm, id);
	seg.perm = &perm;
	seg.size = ds->shm_segsz;
	seg.data.len = ds->shm_segsz;
	seg.data.data = mem;
	e.shm = &seg;
	int r = write_entry(w, &e);
	shmdt(mem);
	return r;
}

static int dump_shm(struct img_writer *w)
{
	struct shm_info info;
	int max = shmctl(0, SHM_INFO, (struct shmid_ds *)&info);

	for (int i = 0; i <= max; i++) {
		struct shmid_ds ds;
		int id = shmctl(i, SHM_STAT_ANY, &ds);
		if (id >= 0 && dump_one_shm(w, id, &ds))
			return -1;
	}
	return 0;
}

static int dump_one_sem(struct img_writer *w, int id, const struct semid_ds *ds)
{
	IpcNsEntry e = IPC_NS_ENTRY__INIT;
	IpcSemSet set = IPC_SEM_SET__INIT;
	IpcPerm perm = IPC_PERM__INIT;
	unsigned short *v = calloc(ds->sem_nsems + 1, sizeof(*v));
	uint32_t *vals = calloc(ds->sem_nsems + 1, sizeof(*vals));
	int r = -1;

	if (!v || !vals)
		goto out;
	if (semctl(id, 0, GETALL, (union semun_){ .array = v }) < 0) {
		pr_perror("ipc namespace: cannot read semaphore set %d", id);
		goto out;
	}
	for (size_t k = 0; k < ds->sem_nsems; k++)
		vals[k] = v[k];
	perm_of(&perm, &ds->sem_perm, id);
	set.perm = &perm;
	set.n_values = ds->sem_nsems;
	set.values = vals;
	e.sem = &set;
	r = write_entry(w, &e);
out:
	free(v);
	free(vals);
	return r;
}

static int dump_sem(struct img_writer *w)
{
	struct seminfo info;
	int max = semctl(0, 0, SEM_INFO, (union semun_){ .info = &info });

	for (int i = 0; i <= max; i++) {
		struct semid_ds ds;
		int id = semctl(i, 0, SEM_STAT_ANY, (union semun_){ .buf = &ds });
		if (id >= 0 && dump_one_sem(w, id, &ds))
			return -1;
	}
	return 0;
}

/* the messages of queue id, copied in order (MSG_COPY: left in the queue) */
static int copy_msgs(int id, size_t n, IpcMsg *m, IpcMsg **pm, char *buf)
{
	for (size_t k = 0; k < n; k++) {
		ssize_t len = msgrcv(id, buf, MSG_MAX_TEXT, k, IPC_NOWAIT | MSG_COPY);
		if (len < 0) {
			pr_perror("ipc namespace: cannot copy message %zu of queue %d", k, id);
			return -1;
		}
		ipc_msg__init(&m[k]);
		m[k].mtype = *(long *)buf;
		m[k].text.len = len;
		m[k].text.data = malloc(len + 1);
		if (!m[k].text.data)
			return -1;
		memcpy(m[k].text.data, buf + sizeof(long), len);
		pm[k] = &m[k];
	}
	return 0;
}

static int dump_one_msq(struct img_writer *w, int id, const struct msqid_ds *ds)
{
	IpcNsEntry e = IPC_NS_ENTRY__INIT;
	IpcMsgQueue q = IPC_MSG_QUEUE__INIT;
	IpcPerm perm = IPC_PERM__INIT;
	size_t n = ds->msg_qnum;
	IpcMsg *m = calloc(n + 1, sizeof(*m));
	IpcMsg **pm = calloc(n + 1, sizeof(*pm));
	char *buf = malloc(sizeof(long) + MSG_MAX_TEXT);
	int r = -1;

	if (m && pm && buf && !copy_msgs(id, n, m, pm, buf)) {
		perm_of(&perm, &ds->msg_perm, id);
		q.perm = &perm;
		q.qbytes = ds->msg_qbytes;
		q.n_msgs = n;
		q.msgs = pm;
		e.msg = &q;
		r = write_entry(w, &e);
	}
	for (size_t k = 0; m && k < n; k++)
		free(m[k].text.data);
	free(m);
	free(pm);
	free(buf);
	return r;
}

static int dump_msg(struct img_writer *w)
{
	struct msginfo info;
	int max = msgctl(0, MSG_INFO, (struct msqid_ds *)&info);

	for (int i = 0; i <= max; i++) {
		struct msqid_ds ds;
		int id = msgctl(i, MSG_STAT_ANY, &ds);
		if (id >= 0 && dump_one_msq(w, id, &ds))
			return -1;
	}
	return 0;
}

int ipc_ns_dump(int dirfd, uint64_t dump_id, const struct mq_fds *mq)
{
	struct img_writer *w;

	if (img_writer_open(dirfd, IMG_IPCNS, 0, dump_id, &w))
		return -1;
	if (dump_sysctls(w) || dump_shm(w) || dump_sem(w) || dump_msg(w) || mq_dump(w, mq)) {
		img_writer_abort(w);
		return -1;
	}
	return img_writer_close(w);
}
