/*
 * mq-notify.c - the notification (mq_notify) of a POSIX message queue of
 * the tree's ipc namespace, at dump.  No interface shows a registration's
 * value (the si_value of the signal it sends), and dumping the queue's
 * messages fires it anyway (it is received empty and refilled:
 * criu/ns/mq-dump.c, which fires an empty queue's on purpose): the signal
 * the kernel queued to the owner, still frozen, is read here with
 * PTRACE_PEEKSIGINFO (si_code SI_MESGQ), taken back from inside the owner
 * (rt_sigtimedwait, all signals blocked meanwhile: nothing is delivered)
 * and the notification registered again from the owner through its fd on
 * the queue, with the same sigevent.  The tree runs on (or is resumed
 * after a failure) with its notification as it was and no signal more.
 * The registration is saved on that fd's FileEntry (MqueueFile.notify):
 * restore registers it from the restored owner once the queue is filled
 * (criu/files/mqueue.c).
 */
#define LOG_PREFIX "dump: "
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ptrace.h>
#include <sys/syscall.h>

#include "criu/dump/dump.h"
#include "criu/infect/infect.h"
#include "common/log.h"

struct fired {
	pid_t pid;
	int fd, notify, signo, fired;
	char name[256];
};

/* the FileEntry of the process's fd */
static FileEntry *file_of_fd(const struct dump_tree *t, pid_t pid, int fd)
{
	for (size_t i = 0; i < t->nr; i++) {
		const struct dump_proc *p = &t->procs[i];
		uint32_t id = 0;
		if (p->pid != pid || p->zombie)
			continue;
		for (size_t k = 0; k < p->nr_fds && !id; k++)
			if ((int)p->fds[k]->fd == fd)
				id = p->fds[k]->file_id;
		for (size_t k = 0; id && k < p->nr_fds; k++)
			if (p->fds[k]->file && p->fds[k]->file->id == id)
				return p->fds[k]->file;
	}
	return NULL;
}

/* the value of the notification signal queued to the process (the last one) */
static int signal_value(const struct fired *f, uint64_t *value)
{
	siginfo_t si[32];
	bool found = false;

	for (size_t off = 0;; off += 32) {
		struct __ptrace_peeksiginfo_args a = { .off = off, .flags = 1 /* PTRACE_PEEKSIGINFO_SHARED */, .nr = 32 };
		long got = ptrace(PTRACE_PEEKSIGINFO, f->pid, &a, si);
		if (got < 0) {
			pr_perror("pid %d: cannot read its pending signals", f->pid);
			return -1;
		}
		for (long i = 0; i < got; i++)
			if (si[i].si_signo == f->signo && si[i].si_code == SI_MESGQ) {
				*value = (uint64_t)(uintptr_t)si[i].si_value.sival_ptr;
				found = true;
			}
		if (got < 32)
			break;
	}
	if (!found)
		pr_err("pid %d: POSIX message queue %s: its notification sent no signal %d (did the process exec since it registered?): the registration is lost",
		       f->pid, f->name, f->signo);
	return found ? 0 : -1;
}

/* scratch layout in the owner: siginfo, timespec, sigset, sigevent */
#define AT_INFO	0
#define AT_TS	256
#define AT_SET	272
#define AT_SEV	288

/* in the owner: the notification signal taken back (take), the notification registered again */
static int give_back(const struct fired *f, const MqNotify *n, bool take)
{
	struct infect c;
	struct timespec ts = { 0, 0 };
	uint64_t set = 1ULL << (f->signo - 1);
	struct sigevent sev;
	siginfo_t si;
	long ret = 0, ret2 = -1;
	int err = -1;

	memset(&sev, 0, sizeof(sev));
	sev.sigev_notify = n->sigev_notify;
	sev.sigev_signo = n->signo;
	sev.sigev_value.sival_ptr = (void *)(uintptr_t)n->value;
	if (infect_begin(&c, f->pid))
		return -1;
	if (infect_scratch(&c, 4096) || infect_write(&c, c.scratch + AT_TS, &ts, sizeof(ts)) ||
	    infect_write(&c, c.scratch + AT_SET, &set, sizeof(set)) ||
	    infect_write(&c, c.scratch + AT_SEV, &sev, sizeof(sev)))
		goto out;
	long wargs[6] = { (long)(c.scratch + AT_SET), (long)(c.scratch + AT_INFO), (long)(c.scratch + AT_TS), 8 };
	if (take && (infect_syscall(&c, SYS_rt_sigtimedwait, wargs, &ret) ||
		     infect_read(&c, c.scratch + AT_INFO, &si, sizeof(si))))
		goto out;
	if (take && (ret != f->signo || si.si_code != SI_MESGQ)) {
		pr_err("pid %d: POSIX message queue %s: its notification signal %d could not be taken back (%ld)",
		       f->pid, f->name, f->signo, ret);
		goto out;
	}
	long nargs[6] = { f->fd, (long)(c.scratch + AT_SEV) };
	if (infect_syscall(&c, SYS_mq_notify, nargs, &ret2) || ret2) {
		pr_err("pid %d: POSIX message queue %s: cannot register its notification again through fd %d (%ld)",
		       f->pid, f->name, f->fd, ret2);
		goto out;
	}
	err = 0;
out:
	if (infect_end(&c))
		err = -1;
	return err;
}

static int settle_one(struct dump_tree *t, const struct fired *f)
{
	FileEntry *fe = file_of_fd(t, f->pid, f->fd);
	MqNotify *n = calloc(1, sizeof(*n));

	if (!n)
		return -1;
	mq_notify__init(n);
	n->sigev_notify = f->notify;
	n->signo = f->signo;
	bool sig = f->notify == SIGEV_SIGNAL && f->signo > 0 && f->signo <= 64;
	int err = f->fired && sig ? signal_value(f, &n->value) : 0;
	if (!err && f->fired)
		err = give_back(f, n, sig);
	if (!fe || fe->kind != FD_KIND__FD_MQUEUE || !fe->mqueue) {
		pr_err("pid %d: fd %d: no POSIX message queue description of %s was dumped", f->pid, f->fd, f->name);
		err = -1;
	}
	if (err) {
		free(n);
		return -1;
	}
	fe->mqueue->notify = n;
	pr_info("pid %d: POSIX message queue %s: notification %d, signal %d, value %#lx saved", f->pid, f->name,
		f->notify, f->signo, (unsigned long)n->value);
	return 0;
}

int mq_notify_settle(struct dump_tree *t, char *report)
{
	int err = 0;

	for (char *line = strtok(report, "\n"); line; line = strtok(NULL, "\n")) {
		struct fired f;
		if (sscanf(line, "%d %d %d %d %d %255s", &f.pid, &f.fd, &f.notify, &f.signo, &f.fired, f.name) != 6) {
			pr_err("the namespace helper reported '%s'", line);
			err = -1;
			continue;
		}
		if (settle_one(t, &f))
			err = -1;
	}
	return err;
}
