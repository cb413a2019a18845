/*
 * core.c - a stopped task's registers, extended state and signal state.
 * Signal actions, the alternate signal stack, the clear-tid address and brk
 * can only be asked from inside the task: they come through infect.
 */
#define LOG_PREFIX "core: "
#include <errno.h>
#include <stdio.h>
#include <signal.h>
#include <time.h>
#include <stdlib.h>
#include <string.h>
#include <elf.h>
#include <linux/keyctl.h>
#include <sys/prctl.h>
#include <sched.h>
#include <sys/resource.h>
#include <sys/time.h>
#include <sys/ptrace.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <sys/user.h>

#include "common/compat.h"
#include "criu/dump/dump.h"
#include "criu/infect/infect.h"
#include "common/log.h"

#define NGROUPS_MAX_	65536
#define XSAVE_MAX	(64 * 1024)

struct kernel_sigaction {
	uint64_t handler, flags, restorer, mask;
};

static GpRegs *regs_to_image(const struct user_regs_struct *r)
{
	GpRegs *g = calloc(1, sizeof(*g));
	if (!g)
		return NULL;
	gp_regs__init(g);
	g->r15 = r->r15; g->r14 = r->r14; g->r13 = r->r13; g->r12 = r->r12;
	g->rbp = r->rbp; g->rbx = r->rbx; g->r11 = r->r11; g->r10 = r->r10;
	g->r9 = r->r9; g->r8 = r->r8; g->rax = r->rax; g->rcx = r->rcx;
	g->rdx = r->rdx; g->rsi = r->rsi; g->rdi = r->rdi; g->orig_rax = r->orig_rax;
	g->rip = r->rip; g->cs = r->cs; g->flags = r->eflags; g->sp = r->rsp;
	g->ss = r->ss; g->fs_base = r->fs_base; g->gs_base = r->gs_base;
	g->ds = r->ds; g->es = r->es; g->fs = r->fs; g->gs = r->gs;
	return g;
}

static int dump_xstate(pid_t pid, ThreadCore *tc)
{
	uint8_t *buf = aligned_alloc(64, XSAVE_MAX);
	struct iovec iov = { buf, XSAVE_MAX };

	if (!buf)
		return -1;
	memset(buf, 0, XSAVE_MAX);
	if (ptrace(PTRACE_GETREGSET, pid, (void *)NT_X86_XSTATE, &iov)) {
		pr_perror("pid %d: cannot read the extended register state", pid);
		free(buf);
		return -1;
	}
	tc->xsave.data = buf;
	tc->xsave.len = iov.iov_len;
	return 0;
}

/* interval timers: ITIMER_REAL, _VIRTUAL, _PROF */
static int dump_itimers(struct infect *c, Core *core)
{
	core->itimers = calloc(3, sizeof(Itimer *));
	if (!core->itimers)
		return -1;
	for (int which = 0; which < 3; which++) {
		struct itimerval v;
		long ret, args[6] = { which, (long)c->scratch };
		if (infect_syscall(c, SYS_getitimer, args, &ret) || ret ||
		    infect_read(c, c->scratch, &v, sizeof(v))) {
			pr_err("pid %d: cannot read interval timer %d", c->pid, which);
			return -1;
		}
		Itimer *t = malloc(sizeof(*t));
		if (!t)
			return -1;
		itimer__init(t);
		t->which = which;
		t->interval_us = v.it_interval.tv_sec * 1000000ULL + v.it_interval.tv_usec;
		t->value_us = v.it_value.tv_sec * 1000000ULL + v.it_value.tv_usec;
		core->itimers[core->n_itimers++] = t;
	}
	return 0;
}

/* POSIX timers: /proc/PID/timers for what they are, timer_gettime inside for when */
static int dump_posix_timers(struct infect *c, Core *core)
{
	char path[64], line[256];
	PosixTimer *t = NULL;
	size_t cap = 0;

	snprintf(path, sizeof(path), "/proc/%d/timers", c->pid);
	FILE *f = fopen(path, "re");
	if (!f) {
		pr_perror("cannot open %s", path);
		return -1;
	}
	while (fgets(line, sizeof(line), f)) {
		char how[16], who[8];
		unsigned long sival;
		int id, n;
		if (sscanf(line, "ID: %d", &id) == 1) {
			if (core->n_posix_timers == cap) {
				cap = cap ? cap * 2 : 8;
				PosixTimer **v = realloc(core->posix_timers, cap * sizeof(*v));
				if (!v)
					goto err;
				core->posix_timers = v;
			}
			t = calloc(1, sizeof(*t));
			if (!t)
				goto err;
			posix_timer__init(t);
			t->id = id;
			core->posix_timers[core->n_posix_timers++] = t;
		} else if (t && sscanf(line, "signal: %u/%lx", &t->signo, &sival) == 2) {
			t->sival = sival;
		} else if (t && sscanf(line, "notify: %15[a-z]/%7[a-z].%d", how, who, &n) == 3) {
			t->notify = !strcmp(how, "none") ? SIGEV_NONE : SIGEV_SIGNAL;
			if (!strcmp(who, "tid")) {
				t->notify |= SIGEV_THREAD_ID;
				t->tid = n;
			}
			if (!strcmp(how, "thread")) {
				pr_err("pid %d: POSIX timer %d notifies by SIGEV_THREAD: not supported",
				       c->pid, t->id);
				goto err;
			}
		} else if (t) {
			sscanf(line, "ClockID: %d", &t->clock);
		}
	}
	fclose(f);
	for (size_t i = 0; i < core->n_posix_timers; i++) {
		struct itimerspec its;
		PosixTimer *pt = core->posix_timers[i];
		long ret, args[6] = { pt->id, (long)c->scratch };
		if (infect_syscall(c, SYS_timer_gettime, args, &ret) || ret ||
		    infect_read(c, c->scratch, &its, sizeof(its))) {
			pr_err("pid %d: cannot read POSIX timer %d", c->pid, pt->id);
			return -1;
		}
		pt->interval_ns = its.it_interval.tv_sec * 1000000000ULL + its.it_interval.tv_nsec;
		pt->value_ns = its.it_value.tv_sec * 1000000000ULL + its.it_value.tv_nsec;
	}
	return 0;
err:
	fclose(f);
	return -1;
}

/* prctl state of the process: dumpable, THP disable, no_new_privs, subreaper, pdeathsig */
static int dump_prctl(struct infect *c, Core *core)
{
	static const int opts[5] = { PR_GET_DUMPABLE, PR_GET_THP_DISABLE, PR_GET_NO_NEW_PRIVS,
				     PR_GET_CHILD_SUBREAPER, PR_GET_PDEATHSIG };
	uint32_t v[5];

	for (int i = 0; i < 5; i++) {
		/* the last two answer through a pointer, the others by return value */
		long ret, args[6] = { opts[i], i >= 3 ? (long)c->scratch : 0 };
		int out = 0;
		if (infect_syscall(c, SYS_prctl, args, &ret) || ret < 0 ||
		    (i >= 3 && infect_read(c, c->scratch, &out, sizeof(out)))) {
			pr_err("pid %d: cannot read prctl %d", c->pid, opts[i]);
			return -1;
		}
		v[i] = i >= 3 ? (uint32_t)out : (uint32_t)ret;
	}
	ProcPrctl *pp = malloc(sizeof(*pp));
	if (!pp)
		return -1;
	proc_prctl__init(pp);
	pp->dumpable = v[0];
	pp->thp_disable = v[1];
	pp->no_new_privs = v[2];
	pp->child_subreaper = v[3];
	pp->pdeathsig = v[4];
	core->prctl = pp;
	/* memory-deny-write-execute (6.3+; older kernels: EINVAL, left out) */
	long ret, margs[6] = { PR_GET_MDWE_ };
	if (infect_syscall(c, SYS_prctl, margs, &ret))
		return -1;
	if (ret >= 0) {
		pp->has_mdwe = true;
		pp->mdwe = ret;
	}
	if (dump_no_keyring(c, KEY_SPEC_PROCESS_KEYRING, "it has a process keyring"))
		return -1;
	/* KSM for the whole process (6.4+; older kernels and no KSM: EINVAL, left out) */
	long kargs[6] = { PR_GET_MEMORY_MERGE_ };
	if (infect_syscall(c, SYS_prctl, kargs, &ret))
		return -1;
	if (ret >= 0) {
		pp->has_memory_merge = true;
		pp->memory_merge = ret;
	}
	return 0;
}

/*
 * The xstate features the process may use (ARCH_GET_XCOMP_PERM): AMX tile
 * data is there only if the program asked for it, and restore asks again.
 * Kernels without the call leave the field out.
 */
static int dump_xcomp_perm(struct infect *c, Core *core)
{
	long ret, args[6] = { ARCH_GET_XCOMP_PERM, (long)c->scratch };
	uint64_t perm;

	if (infect_syscall(c, SYS_arch_prctl, args, &ret))
		return -1;
	if (ret == -EINVAL || ret == -ENOSYS)
		return 0;
	if (ret || infect_read(c, c->scratch, &perm, sizeof(perm))) {
		pr_err("pid %d: cannot read the permitted xstate features (%ld)", c->pid, ret);
		return -1;
	}
	core->has_xcomp_perm = true;
	core->xcomp_perm = perm;
	return 0;
}

/* one value of /proc/PID/limits ("unlimited" or a number) */
static bool limit_value(const char *s, uint64_t *v)
{
	char *end;
	if (!strcmp(s, "unlimited")) {
		*v = RLIM_INFINITY;
		return true;
	}
	errno = 0;
	*v = strtoull(s, &end, 10);
	return !errno && end != s && !*end;
}

/*
 * Resource limits, from /proc/PID/limits: every limit in RLIMIT_ order,
 * soft then hard, at fixed columns (the name takes 26); one read instead
 * of a prlimit64 injected per limit (and prlimit of another uid from
 * outside needs CAP_SYS_RESOURCE).
 */
static int dump_rlimits(pid_t pid, Core *core)
{
	char buf[4096];
	ssize_t n = proc_read_file(pid, "limits", buf, sizeof(buf) - 1);

	core->rlimits = calloc(RLIM_NLIMITS, sizeof(Rlimit *));
	if (!core->rlimits || n <= 0)
		return -1;
	buf[n] = 0;
	char *save, *line = strtok_r(buf, "\n", &save);	/* the header */
	for (int res = 0; res < RLIM_NLIMITS; res++) {
		char soft[32], hard[32];
		uint64_t cur, max;
		line = strtok_r(NULL, "\n", &save);
		if (!line || strlen(line) < 26 || sscanf(line + 26, "%31s %31s", soft, hard) != 2 ||
		    !limit_value(soft, &cur) || !limit_value(hard, &max)) {
			pr_err("/proc/%d/limits: limit %d unreadable: '%s'", pid, res, line ? line : "");
			return -1;
		}
		Rlimit *r = malloc(sizeof(*r));
		if (!r)
			return -1;
		rlimit__init(r);
		r->resource = res;
		r->cur = cur;
		r->max = max;
		core->rlimits[core->n_rlimits++] = r;
	}
	return 0;
}

/* a thread's credentials, from /proc/PID/task/TID/status */
static int dump_creds(pid_t pid, pid_t tid, ThreadCore *tc)
{
	char path[80], line[4096];
	Creds *c = calloc(1, sizeof(*c));
	int seen = 0;

	if (!c)
		return -1;
	creds__init(c);
	tc->creds = c;
	snprintf(path, sizeof(path), "/proc/%d/task/%d/status", pid, tid);
	FILE *f = fopen(path, "re");
	if (!f) {
		pr_perror("cannot open %s", path);
		return -1;
	}
	c->uid = calloc(4, sizeof(uint32_t));
	c->gid = calloc(4, sizeof(uint32_t));
	c->groups = calloc(NGROUPS_MAX_, sizeof(uint32_t));
	while (c->uid && c->gid && c->groups && fgets(line, sizeof(line), f)) {
		uint32_t *ids = !strncmp(line, "Uid:", 4) ? c->uid : !strncmp(line, "Gid:", 4) ? c->gid : NULL;
		if (ids && sscanf(line + 4, "%u %u %u %u", &ids[0], &ids[1], &ids[2], &ids[3]) == 4) {
			*(ids == c->uid ? &c->n_uid : &c->n_gid) = 4;
			seen |= ids == c->uid ? 1 : 2;
		} else if (!strncmp(line, "Groups:", 7)) {
			char *s = line + 7, *end;
			for (;;) {
				unsigned long g = strtoul(s, &end, 10);
				if (end == s || c->n_groups == NGROUPS_MAX_)
					break;
				c->groups[c->n_groups++] = g;
				s = end;
			}
			seen |= 4;
		}
#define CAPLINE(name, field, bit) \
		else if (!strncmp(line, name, strlen(name))) { \
			c->field = strtoull(line + strlen(name), NULL, 16); \
			seen |= bit; \
		}
		CAPLINE("CapInh:", cap_inh, 8)
		CAPLINE("CapPrm:", cap_prm, 16)
		CAPLINE("CapEff:", cap_eff, 32)
		CAPLINE("CapBnd:", cap_bnd, 64)
		CAPLINE("CapAmb:", cap_amb, 128)
#undef CAPLINE
	}
	fclose(f);
	if (seen != 255) {
		pr_err("%s: credentials incomplete", path);
		return -1;
	}
	return 0;
}

/* the thread's seccomp mode and filters (PTRACE_SECCOMP_GET_FILTER, newest first) */
static int dump_seccomp(pid_t pid, pid_t tid, ThreadCore *tc)
{
	char name[64], buf[64];

	snprintf(name, sizeof(name), "task/%d/status", tid);
	if (proc_status_field_of(pid, name, "Seccomp:", buf, sizeof(buf)))
		return -1;
	tc->seccomp_mode = atoi(buf);
	if (tc->seccomp_mode != 2)
		return 0;
	for (unsigned long i = 0;; i++) {
		long n = ptrace(PTRACE_SECCOMP_GET_FILTER, tid, i, NULL);
		if (n < 0 && errno == ENOENT)
			break;
		if (n <= 0) {
			pr_perror("pid %d: cannot read seccomp filter %lu", tid, i);
			return -1;
		}
		uint8_t *prog = malloc(n * 8);
		ProtobufCBinaryData *v = realloc(tc->seccomp_filters,
						 (tc->n_seccomp_filters + 1) * sizeof(*v));
		if (!prog || !v) {
			free(prog);
			return -1;
		}
		tc->seccomp_filters = v;
		if (ptrace(PTRACE_SECCOMP_GET_FILTER, tid, i, prog) != n) {
			pr_perror("pid %d: cannot read seccomp filter %lu", tid, i);
			free(prog);
			return -1;
		}
		/* keep them oldest first: the order to install them in */
		memmove(v + 1, v, tc->n_seccomp_filters * sizeof(*v));
		v[0] = (ProtobufCBinaryData){ n * 8, prog };
		tc->n_seccomp_filters++;
	}
	return 0;
}

/* the thread's robust futex list and scheduling: asked from outside */
static int dump_sched(pid_t tid, ThreadCore *tc)
{
	struct sched_param sp;
	void *head = NULL;
	size_t len = 0;

	if (syscall(SYS_get_robust_list, tid, &head, &len)) {
		pr_perror("pid %d: cannot read the robust futex list", tid);
		return -1;
	}
	tc->robust_list = (uint64_t)head;
	tc->robust_len = len;
	int policy = sched_getscheduler(tid);
	if (policy < 0 || sched_getparam(tid, &sp)) {
		pr_perror("pid %d: cannot read its scheduling policy", tid);
		return -1;
	}
	tc->sched_policy = policy;
	tc->sched_prio = sp.sched_priority;
	errno = 0;
	tc->nice = getpriority(PRIO_PROCESS, tid);
	if (errno) {
		pr_perror("pid %d: cannot read its nice value", tid);
		return -1;
	}
	return 0;
}

/*
 * Signals queued to a thread (shared: to the process), siginfo and all, in
 * queue order.  PTRACE_PEEKSIGINFO leaves them queued.
 */
static int dump_pending(pid_t tid, bool shared, ProtobufCBinaryData **out, size_t *n)
{
	siginfo_t si[32];
	size_t cap = 0;

	*out = NULL;
	*n = 0;
	for (;;) {
		struct __ptrace_peeksiginfo_args a = { .off = *n, .flags = shared ? 1 : 0, .nr = 32 };
		long got = ptrace(PTRACE_PEEKSIGINFO, tid, &a, si);
		if (got < 0) {
			pr_perror("pid %d: cannot read pending signals", tid);
			return -1;
		}
		for (long i = 0; i < got; i++) {
			if (*n == cap) {
				cap = cap ? cap * 2 : 8;
				ProtobufCBinaryData *nv = realloc(*out, cap * sizeof(*nv));
				if (!nv)
					return -1;
				*out = nv;
			}
			uint8_t *copy = malloc(sizeof(siginfo_t));
			if (!copy)
				return -1;
			memcpy(copy, &si[i], sizeof(siginfo_t));
			(*out)[(*n)++] = (ProtobufCBinaryData){ sizeof(siginfo_t), copy };
		}
		if (got < 32)
			return 0;
	}
}

/*
 * From inside the thread: its alternate signal stack and clear-tid address;
 * for the leader (brk != NULL) also the process's signal actions and brk.
 */
static int dump_injected(pid_t pid, Core *core, uint64_t *brk)
{
	struct infect c;
	long ret;
	int err = -1;

	if (infect_begin(&c, pid))
		return -1;
	if (infect_scratch(&c, 4096))
		goto out;
	if (!brk)
		goto per_thread;

	core->sigactions = calloc(64, sizeof(SigAction *));
	if (!core->sigactions)
		goto out;
	for (int sig = 1; sig <= 64; sig++) {
		struct kernel_sigaction ka;
		if (sig == SIGKILL || sig == SIGSTOP)
			continue;
		long args[6] = { sig, 0, (long)c.scratch, 8 };
		if (infect_syscall(&c, SYS_rt_sigaction, args, &ret))
			goto out;
		if (ret) {
			errno = -ret;
			pr_perror("pid %d: rt_sigaction(%d) failed", pid, sig);
			goto out;
		}
		if (infect_read(&c, c.scratch, &ka, sizeof(ka)))
			goto out;
		SigAction *sa = malloc(sizeof(*sa));
		if (!sa)
			goto out;
		sig_action__init(sa);
		sa->sig = sig;
		sa->handler = ka.handler;
		sa->flags = ka.flags;
		sa->restorer = ka.restorer;
		sa->mask = ka.mask;
		core->sigactions[core->n_sigactions++] = sa;
	}
	if (dump_itimers(&c, core) || dump_rlimits(pid, core) || dump_prctl(&c, core) ||
	    dump_posix_timers(&c, core) || dump_xcomp_perm(&c, core) || dump_mm_flags(&c, core))
		goto out;

per_thread:;
	stack_t ss;
	long ssargs[6] = { 0, (long)c.scratch };
	if (infect_syscall(&c, SYS_sigaltstack, ssargs, &ret) || ret ||
	    infect_read(&c, c.scratch, &ss, sizeof(ss))) {
		pr_err("pid %d: cannot read the alternate signal stack", pid);
		goto out;
	}
	core->thread->altstack->sp = (uint64_t)ss.ss_sp;
	core->thread->altstack->size = ss.ss_size;
	core->thread->altstack->flags = ss.ss_flags;

	uint64_t tidaddr = 0;
	long sb[6] = { PR_GET_SECUREBITS };
	if (infect_syscall(&c, SYS_prctl, sb, &ret) || ret < 0) {
		pr_err("pid %d: cannot read its securebits", pid);
		goto out;
	}
	core->thread->creds->securebits = ret;

	long slack[6] = { PR_GET_TIMERSLACK };
	if (infect_syscall(&c, SYS_prctl, slack, &ret) || ret < 0) {
		pr_err("pid %d: cannot read the timer slack", pid);
		goto out;
	}
	core->thread->timer_slack_ns = ret;

	if (dump_thread_mempolicy(&c, core->thread) || dump_thread_flags(&c, core->thread))
		goto out;

	long targs[6] = { PR_GET_TID_ADDRESS, (long)c.scratch };
	if (infect_syscall(&c, SYS_prctl, targs, &ret) || ret ||
	    infect_read(&c, c.scratch, &tidaddr, sizeof(tidaddr))) {
		pr_err("pid %d: cannot read the clear-tid address", pid);
		goto out;
	}
	core->thread->clear_tid_addr = tidaddr;

	if (brk) {
		long bargs[6] = { 0 };
		if (infect_syscall(&c, SYS_brk, bargs, &ret))
			goto out;
		*brk = ret;
	}
	err = 0;
out:
	if (infect_end(&c))
		err = -1;
	return err;
}

/*
 * A task stopped inside an interrupted syscall holds -ERESTART* in rax; the
 * kernel would rewind it on return to user space.  The restored task returns
 * through rt_sigreturn, which does no such thing, so do it here.
 */
static void fixup_syscall_restart(GpRegs *g)
{
	long rax = (long)g->rax;

	if ((long)g->orig_rax < 0)
		return;
	switch (rax) {
	case -512:	/* ERESTARTSYS */
	case -513:	/* ERESTARTNOINTR */
	case -514:	/* ERESTARTNOHAND */
		g->rax = g->orig_rax;
		g->rip -= 2;
		break;
	case -516:	/* ERESTART_RESTARTBLOCK: the restart block is gone */
		g->rax = (uint64_t)-EINTR;
		break;
	}
}

/* struct rseq_cs of the rseq ABI: a critical section [start_ip, +post_commit_offset) */
struct rseq_cs_desc {
	uint32_t version, flags;
	uint64_t start_ip, post_commit_offset, abort_ip;
};

/*
 * A thread stopped inside an rseq critical section: the kernel has not
 * aborted it yet (a stop for ptrace comes before the rseq fix-up on the way
 * back to user space), and it would resume on another CPU in the middle of
 * a per-CPU operation.  It is restored at the section's abort handler
 * instead, as the kernel would have moved it; the live thread (with
 * --leave-running) is left alone.
 */
static int fixup_rseq(pid_t tgid, pid_t tid, const struct rseq_configuration *rc, GpRegs *g)
{
	uint64_t cs_ptr = 0;
	struct rseq_cs_desc cs;
	uint32_t sig = 0;
	struct iovec l = { &cs_ptr, sizeof(cs_ptr) }, r = { (void *)(rc->rseq_abi_pointer + 8), 8 };

	if (process_vm_readv(tgid, &l, 1, &r, 1, 0) != 8 || !cs_ptr)
		return 0;
	l = (struct iovec){ &cs, sizeof(cs) };
	r = (struct iovec){ (void *)cs_ptr, sizeof(cs) };
	if (process_vm_readv(tgid, &l, 1, &r, 1, 0) != sizeof(cs) || cs.version != 0)
		return 0;
	if (g->rip < cs.start_ip || g->rip - cs.start_ip >= cs.post_commit_offset)
		return 0;
	l = (struct iovec){ &sig, 4 };
	r = (struct iovec){ (void *)(cs.abort_ip - 4), 4 };
	if (process_vm_readv(tgid, &l, 1, &r, 1, 0) != 4 || sig != rc->signature) {
		pr_err("thread %d: inside an rseq critical section whose abort handler has no valid signature",
		       tid);
		return -1;
	}
	pr_debug("thread %d: inside an rseq critical section at %lx: restored at its abort handler %lx",
		 tid, (unsigned long)g->rip, (unsigned long)cs.abort_ip);
	g->rip = cs.abort_ip;
	return 0;
}

/*
 * Syscall user dispatch (PR_SET_SYSCALL_USER_DISPATCH) is not restored
 * yet, and a blocking selector would turn criu's injected syscalls into
 * SIGSYS: refused, before anything is injected.  Kernels before 6.4 have
 * no ptrace request to see it (EIO): nothing to refuse from what shows.
 */
static int refuse_sud(pid_t tid)
{
	struct { uint64_t mode, selector, offset, len; } cfg = { 0 };

	if (ptrace(PTRACE_GET_SYSCALL_USER_DISPATCH_CONFIG_, tid, sizeof(cfg), &cfg) < 0 ||
	    !cfg.mode)
		return 0;
	pr_err("pid %d: syscall user dispatch is on (selector at %lx): not supported", tid,
	       (unsigned long)cfg.selector);
	return -1;
}

/* one thread's state into *out; brk: the leader, which also holds the process's */
static int dump_thread(pid_t tgid, pid_t pid, const char *comm, Core **out, uint64_t *brk)
{
	struct user_regs_struct regs;
	Core *core = calloc(1, sizeof(*core));
	ThreadCore *tc = calloc(1, sizeof(*tc));
	SigAltStack *as = calloc(1, sizeof(*as));

	if (!core || !tc || !as) {
		free(core); free(tc); free(as);
		return -1;
	}
	core__init(core);
	thread_core__init(tc);
	sig_alt_stack__init(as);
	core->thread = tc;
	tc->altstack = as;
	*out = core;
	tc->tid = pid;
	tc->comm = strdup(comm);

	if (refuse_sud(pid))
		return -1;
	if (ptrace(PTRACE_GETREGS, pid, NULL, &regs)) {
		pr_perror("pid %d: cannot read registers", pid);
		return -1;
	}
	tc->regs = regs_to_image(&regs);
	if (!tc->regs || !tc->comm)
		return -1;
	fixup_syscall_restart(tc->regs);
	if (dump_xstate(pid, tc))
		return -1;
	if (ptrace(PTRACE_GETSIGMASK, pid, sizeof(uint64_t), &tc->sigmask)) {
		pr_perror("pid %d: cannot read the signal mask", pid);
		return -1;
	}

	struct rseq_configuration rc;
	long n = ptrace(PTRACE_GET_RSEQ_CONFIGURATION, pid, sizeof(rc), &rc);
	if (n == sizeof(rc) && rc.rseq_abi_pointer) {
		RseqConf *r = malloc(sizeof(*r));
		if (!r)
			return -1;
		rseq_conf__init(r);
		r->ptr = rc.rseq_abi_pointer;
		r->size = rc.rseq_abi_size;
		r->signature = rc.signature;
		r->flags = rc.flags;
		tc->rseq = r;
		if (fixup_rseq(tgid, pid, &rc, tc->regs))
			return -1;
	} else if (n < 0 && errno != EIO && errno != EINVAL) {
		pr_perror("pid %d: cannot read the rseq registration", pid);
		return -1;
	}
	if (dump_pending(pid, false, &tc->pending, &tc->n_pending) || dump_sched(pid, tc) ||
	    dump_sched_io(pid, tc) ||
	    dump_creds(tgid, pid, tc) || dump_seccomp(tgid, pid, tc))
		return -1;
	if (brk && dump_pending(pid, true, &core->shared_pending, &core->n_shared_pending))
		return -1;
	return dump_injected(pid, core, brk);
}

int dump_core(struct dump_proc *p, uint64_t *brk)
{
	char buf[32];

	if (dump_thread(p->pid, p->pid, p->stat.comm, &p->core, brk))
		return -1;
	ssize_t n = proc_read_file(p->pid, "personality", buf, sizeof(buf) - 1);
	if (n <= 0)
		return -1;
	buf[n] = 0;
	p->core->has_personality = true;
	p->core->personality = strtoul(buf, NULL, 16);
	if (dump_tunables(p) || dump_coredump_filter(p))
		return -1;
	if (p->stop_sig) {
		p->core->has_job_stop = p->core->has_job_stop_waited = true;
		p->core->job_stop = p->stop_sig;
		p->core->job_stop_waited = p->stop_waited;
	}
	for (int i = 1; i < p->nr_threads; i++) {
		char name[64], comm[64] = "";
		snprintf(name, sizeof(name), "task/%d/comm", p->tids[i]);
		ssize_t n = proc_read_file(p->pid, name, comm, sizeof(comm) - 1);
		if (n < 0)
			return -1;
		comm[n] = 0;
		comm[strcspn(comm, "\n")] = 0;
		if (dump_thread(p->pid, p->tids[i], comm, &p->thread_cores[i - 1], NULL))
			return -1;
	}
	return 0;
}
