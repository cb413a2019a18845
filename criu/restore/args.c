/*
 * args.c - filling struct restore_args for the restorer: the VMAs with the
 * files they map, the page runs, mm fields, signal actions, the vdso moves,
 * the helper fds, and each thread's state (its rt_sigframe: sigframe.c).
 */
#define LOG_PREFIX "restore: "
#include <errno.h>
#include <stdio.h>
#include <fcntl.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#include <sys/capability.h>

#include "criu/ns/mnt.h"
#include "criu/caps.h"
#include "common/compat.h"
#include "common/log.h"
#include "criu/procfs.h"
#include "criu/restore/restore.h"
#include "criu/restore/sigframe.h"

#define SCRATCH_SIZE	(256ULL << 10)

#define THREAD_STACK		(32 << 10)	/* a thread runs on it until rt_sigreturn */


static const Core *thread_core(const struct rst_proc *p, int i)
{
	return i ? p->thread_cores[i - 1] : p->core;
}

static size_t filters_size(const struct rst_proc *p)
{
	size_t n = 0;
	for (int i = 0; i < p->nr_threads; i++) {
		const ThreadCore *tc = thread_core(p, i)->thread;
		for (size_t k = 0; k < tc->n_seccomp_filters; k++)
			n += tc->seccomp_filters[k].len + sizeof(struct rst_filter) + 16;
	}
	return n;
}

static size_t count_groups(const struct rst_proc *p)
{
	size_t n = 0;
	for (int i = 0; i < p->nr_threads; i++)
		n += thread_core(p, i)->thread->creds->n_groups;
	return n;
}

static size_t count_pending(const struct rst_proc *p)
{
	size_t n = p->core->n_shared_pending;
	for (int i = 0; i < p->nr_threads; i++)
		n += thread_core(p, i)->thread->n_pending;
	return n;
}

/* the guard region bounds of every mapping (Vma.guard pairs) */
static size_t count_guards(const Mm *mm)
{
	size_t n = 0;
	for (size_t i = 0; i < mm->n_vmas; i++)
		n += mm->vmas[i]->n_guard;
	return n;
}

uint64_t rst_args_size(const struct rst_proc *p)
{
	return sizeof(struct restore_args) + 64 +
	       p->mm->n_vmas * sizeof(struct rst_vma) + count_guards(p->mm) * 8 + 64 +
	       p->pages.nr_runs * sizeof(struct rst_run) +
	       (p->mm->n_vmas + 16) * sizeof(int32_t) +
	       p->mm->n_auxv * 8 + 64 +
	       (p->mm->n_vmas + 1) * sizeof(struct lazy_range) + 64 +
	       (p->nr_threads + 1) * sizeof(struct lazy_range) + 64 +
	       (p->nr_threads + 1) * (sizeof(struct rst_thread) + 1024 + THREAD_STACK + 64 * 1024) +
	       (count_pending(p) + 1) * sizeof(struct rst_siginfo) + 64 +
	       count_groups(p) * sizeof(uint32_t) + (p->nr_threads + 1) * 64 +
	       filters_size(p) + (p->core->n_posix_timers + 1) * sizeof(struct rst_ptimer) + 64 +
	       (p->fds.nr + 1) * sizeof(struct rst_owner) + 64;
}

static int add_fd(struct rst_fds *fds, int fd, int base)
{
	int nfd = fcntl(fd, F_DUPFD, base);
	if (nfd < 0) {
		pr_perror("cannot move helper fd %d above %d", fd, base);
		close(fd);
		return -1;
	}
	close(fd);
	int *n = realloc(fds->all, (fds->nr + 1) * sizeof(int));
	if (!n) {
		close(nfd);
		return -1;
	}
	fds->all = n;
	fds->all[fds->nr++] = nfd;
	return nfd;
}

static int cmp_int(const void *a, const void *b)
{
	return *(const int *)a - *(const int *)b;
}

void rst_fds_close(struct rst_fds *fds)
{
	for (int i = 0; i < fds->nr; i++)
		close(fds->all[i]);
	free(fds->all);
	free(fds->vma_fd);
	free(fds->inherit);
	free(fds->shared_fd);
	free(fds->shm_fd);
	memset(fds, 0, sizeof(*fds));
}

/* a copy of the tree's shared memory object ino among the process's helpers, once */
static int shm_use(const struct rst_proc *p, struct rst_fds *fds, uint64_t dev, uint64_t ino,
		   int base)
{
	int k = rst_shmem_index(p->shm, dev, ino);
	if (k < 0 || fds->shm_fd[k] >= 0)
		return 0;
	fds->shm_fd[k] = add_fd(fds, dup(p->shm->v[k].fd), base);
	return fds->shm_fd[k] < 0 ? -1 : 0;
}


/*
 * A shared file mapping is opened read-write if the original's file was:
 * its VmFlags "mw" (a read-only mapping of a file opened O_RDWR may still
 * be mprotect-ed to writing, one of an O_RDONLY file may not).  Images
 * without VmFlags: by its protection.
 */
static bool shared_writable(const Vma *v)
{
	if (v->kind != VMA_KIND__VMA_FILE_SHARED)
		return false;
	if (v->has_vm_flags)
		return v->vm_flags & VMA_F_MAYWRITE;
	return v->prot & PROT_WRITE;
}
static int open_helpers(const struct rst_proc *p, const struct opts *o, struct rst_fds *fds)
{
	int base = 64;
	/* CLONE_FILES: its helpers share the owner's table, above the owner's fds */
	const struct rst_proc *owner = p->fd_owner ? p->fd_owner : p;

	for (size_t i = 0; i < owner->fds.nr; i++) {
		int fd = ((FdEntry *)owner->fds.msgs[i])->fd;
		if (fd >= base)
			base = fd + 1;
	}
	fds->vma_fd = malloc(p->mm->n_vmas * sizeof(int) + 1);
	if (!fds->vma_fd)
		return -1;
	fds->parent = getpid();
	fds->log_fd = add_fd(fds, dup(log_get_fd()), base);
	fds->err_fd = -1;
	if (log_get_term_fd() >= 0 &&
	    (fds->err_fd = add_fd(fds, dup(log_get_term_fd()), base)) < 0)
		return -1;
	for (int i = 0; i < p->pages.nr_images; i++)
		if ((fds->pages_fd[i] = add_fd(fds, dup(p->pages.images[i].pages_fd), base)) < 0)
			return -1;
	/* --lazy-pages: the connection to the daemon (restore.c made it) */
	if (o->lazy_pages && (fds->lazy_sock = add_fd(fds, fds->lazy_sock, base)) < 0)
		return -1;
	/* CLONE_FILES: the gate its sharers pass once its table is complete */
	fds->gate[0] = fds->gate[1] = fds->ready[0] = fds->ready[1] = -1;
	if (p->nr_sharers) {
		int g[2], r[2];
		if (pipe2(g, O_CLOEXEC) || (fds->gate[0] = add_fd(fds, g[0], base)) < 0 ||
		    (fds->gate[1] = add_fd(fds, g[1], base)) < 0 || pipe2(r, O_CLOEXEC) ||
		    (fds->ready[0] = add_fd(fds, r[0], base)) < 0 ||
		    (fds->ready[1] = add_fd(fds, r[1], base)) < 0) {
			pr_perror("pid %d: cannot make the gate of its shared fd table", p->pid);
			return -1;
		}
	}
	fds->exe_fd = add_fd(fds, mnt_open_in(o->rst_root_fd, p->mm->exe_path, O_RDONLY | O_CLOEXEC, 0), base);
	if (fds->log_fd < 0 || fds->exe_fd < 0) {
		if (fds->exe_fd < 0)
			pr_err("mm-%d.img: cannot open the executable %s", p->pid, p->mm->exe_path);
		return -1;
	}
	for (int i = 0; i < 3; i++) {
		fds->tty[i] = -1;
		if (o->shell_job && (fds->tty[i] = add_fd(fds, dup(i), base)) < 0)
			return -1;
	}
	/* copies of the open files it shares with other processes of the tree */
	fds->shared_fd = malloc((p->shared->nr + 1) * sizeof(int));
	if (!fds->shared_fd)
		return -1;
	for (uint32_t id = 0; id <= p->shared->nr; id++)
		fds->shared_fd[id] = -1;
	for (size_t i = 0; i < p->fds.nr; i++) {
		const FileEntry *fe = ((FdEntry *)p->fds.msgs[i])->file;
		if (!fe || !fe->has_shared_id)
			continue;
		if (fe->shared_id > p->shared->nr || p->shared->fd[fe->shared_id] < 0) {
			pr_err("files-%d.img: file %u: shared file %u was not made", p->pid, fe->id,
			       fe->shared_id);
			return -1;
		}
		fds->shared_fd[fe->shared_id] = add_fd(fds, dup(p->shared->fd[fe->shared_id]), base);
		if (fds->shared_fd[fe->shared_id] < 0)
			return -1;
	}
	/* --inherit-fd: copies of criu's fds, for the files they replace */
	fds->inherit = calloc(o->nr_inherit_fd + 1, sizeof(int));
	if (!fds->inherit)
		return -1;
	for (int i = 0; i < o->nr_inherit_fd; i++) {
		int fd;
		const char *key;
		fd_inherit_parse(o->inherit_fd[i], &fd, &key);
		if ((fds->inherit[i] = add_fd(fds, fcntl(fd, F_DUPFD_CLOEXEC, 0), base)) < 0) {
			pr_perror("--inherit-fd %s: cannot take criu's fd %d", o->inherit_fd[i], fd);
			return -1;
		}
	}
	/* the tree's shared memory objects (shmem.c) it maps or holds a memfd of */
	fds->shm_fd = malloc((p->shm->nr + 1) * sizeof(int));
	if (!fds->shm_fd)
		return -1;
	for (size_t k = 0; k < p->shm->nr; k++)
		fds->shm_fd[k] = -1;
	for (size_t i = 0; i < p->mm->n_vmas; i++)
		if (p->mm->vmas[i]->has_ino && shm_use(p, fds, 0, p->mm->vmas[i]->ino, base))
			return -1;
	for (size_t i = 0; i < p->fds.nr; i++) {
		const FileEntry *fe = ((FdEntry *)p->fds.msgs[i])->file;
		const struct fd_ops *ops = fe ? fd_ops_by_kind(fe->kind) : NULL;
		struct fd_object key;
		if (ops && ops->object && ops->object(fe, &key) &&
		    shm_use(p, fds, key.dev, key.ino, base))
			return -1;
	}
	/* a removed cwd: the directory criu made again */
	const RegFile *cwd = p->fs->cwd_ghost;
	if (cwd && shm_use(p, fds, cwd->dev, cwd->ino, base))
		return -1;
	for (size_t i = 0; i < p->mm->n_vmas; i++) {
		const Vma *v = p->mm->vmas[i];
		fds->vma_fd[i] = -1;
		if ((v->kind == VMA_KIND__VMA_ANON_SHARED || v->kind == VMA_KIND__VMA_MEMFD_SHARED) &&
		    v->has_ino) {
			int k = rst_shmem_index(p->shm, 0, v->ino);
			fds->vma_fd[i] = k < 0 ? -1 : fds->shm_fd[k];
			if (v->kind == VMA_KIND__VMA_MEMFD_SHARED && fds->vma_fd[i] < 0) {
				pr_err("mm-%d.img: no memfd made for the mapping at %lx", p->pid,
				       (unsigned long)v->start);
				return -1;
			}
			continue;
		}
		if (v->kind != VMA_KIND__VMA_FILE_PRIVATE && v->kind != VMA_KIND__VMA_FILE_SHARED)
			continue;
		/* reuse the fd of an earlier mapping of the same file, opened alike */
		bool rw = shared_writable(v);
		for (size_t j = 0; j < i && fds->vma_fd[i] < 0; j++) {
			const Vma *w = p->mm->vmas[j];
			bool wrw = shared_writable(w);
			if (fds->vma_fd[j] >= 0 && w->path && wrw == rw && !strcmp(w->path, v->path))
				fds->vma_fd[i] = fds->vma_fd[j];
		}
		if (fds->vma_fd[i] >= 0)
			continue;
		int fd = mnt_open_in(o->rst_root_fd, v->path, (rw ? O_RDWR : O_RDONLY) | O_CLOEXEC, 0);
		if (fd < 0) {
			pr_perror("mm-%d.img: cannot open mapped file %s", p->pid, v->path);
			return -1;
		}
		fds->vma_fd[i] = add_fd(fds, fd, base);
		if (fds->vma_fd[i] < 0)
			return -1;
	}
	qsort(fds->all, fds->nr, sizeof(int), cmp_int);
	return 0;
}

static int plan_special(const struct rst_proc *p, const struct rst_region *r,
			struct restore_args *a)
{
	static const struct { const char *name; VmaKind kind; } names[] = {
		{ "[vvar]", VMA_KIND__VMA_VVAR },
		{ "[vvar_vclock]", VMA_KIND__VMA_VVAR_VCLOCK },
		{ "[vdso]", VMA_KIND__VMA_VDSO },
	};
	struct proc_maps self;
	uint64_t base = ~0ULL, top = 0;
	int err = -1;

	if (proc_read_maps(0, false, &self))
		return -1;
	for (size_t k = 0; k < 3; k++) {
		const struct proc_vma *cur = NULL;
		const Vma *dst = NULL;
		for (size_t i = 0; i < self.nr; i++)
			if (!strcmp(self.vmas[i].path, names[k].name))
				cur = &self.vmas[i];
		for (size_t i = 0; i < p->mm->n_vmas; i++)
			if (p->mm->vmas[i]->kind == names[k].kind)
				dst = p->mm->vmas[i];
		if (!cur && !dst)
			continue;
		if (!cur || !dst || cur->end - cur->start != dst->end - dst->start) {
			pr_err("mm-%d.img: the %s area of the dump (%lu bytes) does not match this kernel's (%lu bytes)",
			       p->pid, names[k].name, dst ? (unsigned long)(dst->end - dst->start) : 0UL,
			       cur ? (unsigned long)(cur->end - cur->start) : 0UL);
			goto out;
		}
		struct rst_special *s = &a->special[a->nr_special++];
		s->cur_start = cur->start;
		s->cur_end = cur->end;
		s->dst_start = dst->start;
		if (cur->start < base)
			base = cur->start;
		if (cur->end > top)
			top = cur->end;
	}
	/* the areas keep their relative places: the vdso finds its data by offset */
	for (uint32_t i = 1; i < a->nr_special; i++)
		if (a->special[i].dst_start - a->special[0].dst_start !=
		    a->special[i].cur_start - a->special[0].cur_start) {
			pr_err("mm-%d.img: vdso and vvar areas are laid out unlike this kernel's", p->pid);
			goto out;
		}
	if (a->nr_special && top - base > SCRATCH_SIZE) {
		pr_err("the vdso/vvar areas of this process are too spread out to move");
		goto out;
	}
	a->scratch_start = r->scratch;
	err = 0;
out:
	proc_maps_free(&self);
	return err;
}

/* limits, timers and pending signals, for the restorer's last steps */
/* a tid of the process's images as the process sees it (its pid namespace) */
static uint32_t own_tid(const struct rst_proc *p, uint32_t tid)
{
	for (size_t k = 0; k < p->pe->n_threads; k++)
		if (p->pe->threads[k] == tid)
			return rst_ns_pid(p, k, p->ns_depth);
	return tid;
}

static int build_process_state(const struct rst_proc *p, struct arena *ar, struct restore_args *a)
{
	const Core *c = p->core;
	bool can_raise = have_cap(CAP_SYS_RESOURCE);

	for (size_t i = 0; i < c->n_rlimits && i < RST_NLIMITS; i++) {
		const Rlimit *r = c->rlimits[i];
		struct rlimit now;
		if (r->resource != i || getrlimit(i, &now)) {
			pr_err("core-%d.img: resource limits out of order", p->pid);
			return -1;
		}
		a->rlimits[i] = (struct rst_rlimit){ r->cur, r->max };
		if (r->max > now.rlim_max && !can_raise) {
			/* without CAP_SYS_RESOURCE a hard limit can only go down */
			pr_warn("pid %d: resource limit %zu: hard limit %lu lowered to %lu (no CAP_SYS_RESOURCE)",
				p->pid, i, (unsigned long)r->max, (unsigned long)now.rlim_max);
			a->rlimits[i].max = now.rlim_max;
			if (a->rlimits[i].cur > now.rlim_max)
				a->rlimits[i].cur = now.rlim_max;
		}
		a->nr_rlimits = i + 1;
	}
	if (c->prctl && c->has_personality) {
		a->prctl = (struct rst_prctl){
			.dumpable = c->prctl->dumpable, .thp_disable = c->prctl->thp_disable,
			.no_new_privs = c->prctl->no_new_privs,
			.child_subreaper = c->prctl->child_subreaper,
			.pdeathsig = c->prctl->pdeathsig, .personality = c->personality, .valid = 1,
			.mdwe = c->prctl->has_mdwe ? c->prctl->mdwe : 0,
			.memory_merge = c->prctl->has_memory_merge && c->prctl->memory_merge,
		};
	}
	a->nr_ptimers = c->n_posix_timers;
	a->ptimers = arena_get(ar, (a->nr_ptimers + 1) * sizeof(struct rst_ptimer), 8);
	if (!a->ptimers)
		return -1;
	for (size_t i = 0; i < c->n_posix_timers; i++) {
		const PosixTimer *t = c->posix_timers[i];
		a->ptimers[i] = (struct rst_ptimer){
			.id = t->id, .clock = t->clock, .signo = t->signo, .notify = t->notify,
			.tid = own_tid(p, t->tid), .sival = t->sival, .interval_ns = t->interval_ns,
			.value_ns = t->value_ns,
		};
	}
	a->owners = arena_get(ar, (p->fds.nr + 1) * sizeof(struct rst_owner), 8);
	if (!a->owners)
		return -1;
	for (size_t i = 0; i < p->fds.nr; i++) {
		const FdEntry *e = (FdEntry *)p->fds.msgs[i];
		const FileOwner *w = e->file ? e->file->owner : NULL;
		if (!w || w->type != F_OWNER_TID)
			continue;
		/* the owner as the process sees it (rst_ns_fix_owners): one of its other threads */
		for (int k = 1; k < p->nr_threads; k++)
			if (w->pid == (int32_t)rst_ns_pid(p, k, p->ns_depth)) {
				a->owners[a->nr_owners++] = (struct rst_owner){ (int)e->fd, w->pid };
				break;
			}
	}
	for (size_t i = 0; i < c->n_itimers; i++) {
		const Itimer *t = c->itimers[i];
		if (t->which < 3)
			a->itimers[t->which] = (struct rst_itimer){ t->interval_us, t->value_us };
	}
	a->siginfo = arena_get(ar, (count_pending(p) + 1) * sizeof(struct rst_siginfo), 8);
	if (!a->siginfo)
		return -1;
	for (int i = 0; i <= p->nr_threads; i++) {
		/* each thread's own, then the process's */
		const ThreadCore *tc = i < p->nr_threads ? thread_core(p, i)->thread : NULL;
		size_t n = tc ? tc->n_pending : c->n_shared_pending;
		const ProtobufCBinaryData *v = tc ? tc->pending : c->shared_pending;
		for (size_t k = 0; k < n; k++) {
			struct rst_siginfo *s = &a->siginfo[a->nr_siginfo];
			int sig;
			if (v[k].len != sizeof(s->info)) {
				pr_err("core-%d.img: a pending signal's siginfo is %zu bytes", p->pid, v[k].len);
				return -1;
			}
			memcpy(&sig, v[k].data, sizeof(sig));
			if (sig < 1 || sig > 64 || sig == SIGKILL || sig == SIGSTOP)
				continue;
			s->tid = tc ? own_tid(p, tc->tid) : 0;
			memcpy(s->info, v[k].data, sizeof(s->info));
			a->nr_siginfo++;
		}
	}
	return 0;
}

/* a thread's own state for the restorer; its stack is the caller's business */
static int fill_thread(struct rst_thread *t, const ThreadCore *tc, const struct fpu_env *fe,
		       struct arena *ar)
{
	t->tid = tc->tid;
	t->fs_base = tc->regs->fs_base;
	t->gs_base = tc->regs->gs_base;
	t->clear_tid_addr = tc->clear_tid_addr;
	if (tc->rseq) {
		t->rseq_ptr = tc->rseq->ptr;
		t->rseq_size = tc->rseq->size;
		t->rseq_sig = tc->rseq->signature;
	}
	t->robust_list = tc->robust_list;
	t->robust_len = tc->robust_len;
	t->sched_policy = tc->sched_policy;
	t->sched_prio = tc->sched_prio;
	t->nice = tc->nice;
	t->timer_slack_ns = tc->timer_slack_ns;
	t->mpol_mode = tc->has_mempolicy ? tc->mempolicy : 0;
	t->mpol_nodes = tc->mempolicy_nodes;
	t->tsc = tc->has_tsc ? tc->tsc : 1;
	t->cpuid = tc->has_cpuid ? tc->cpuid : 1;
	t->mce_kill = tc->has_mce_kill ? tc->mce_kill : 2;
	t->pdeathsig = tc->has_pdeathsig ? tc->pdeathsig : 0;
	t->no_new_privs = tc->has_no_new_privs && tc->no_new_privs;
	t->has_personality = tc->has_personality;
	t->personality = tc->personality;
	t->spec[0] = tc->has_spec_store_bypass ? tc->spec_store_bypass : 0;
	t->spec[1] = tc->has_spec_indirect_branch ? tc->spec_indirect_branch : 0;
	t->spec[2] = tc->has_spec_l1d_flush ? tc->spec_l1d_flush : 0;
	snprintf(t->comm, sizeof(t->comm), "%s", tc->comm);

	const Creds *c = tc->creds;
	if (c->n_uid != 4 || c->n_gid != 4) {
		pr_err("core-%u.img: credentials need 4 uids and 4 gids", tc->tid);
		return -1;
	}
	memcpy(t->uid, c->uid, sizeof(t->uid));
	memcpy(t->gid, c->gid, sizeof(t->gid));
	t->ngroups = c->n_groups;
	t->groups = arena_get(ar, c->n_groups * sizeof(uint32_t) + 4, 4);
	if (!t->groups)
		return -1;
	if (c->n_groups)	/* groups is NULL when there are none */
		memcpy(t->groups, c->groups, c->n_groups * sizeof(uint32_t));
	t->cap_inh = c->cap_inh;
	t->cap_prm = c->cap_prm;
	t->cap_eff = c->cap_eff;
	t->cap_bnd = c->cap_bnd;
	t->cap_amb = c->cap_amb;
	t->securebits = c->securebits;

	t->seccomp_mode = tc->seccomp_mode;
	t->nr_filters = tc->n_seccomp_filters;
	t->filters = arena_get(ar, (t->nr_filters + 1) * sizeof(struct rst_filter), 8);
	if (!t->filters)
		return -1;
	for (uint32_t i = 0; i < t->nr_filters; i++) {
		const ProtobufCBinaryData *f = &tc->seccomp_filters[i];
		void *insns = arena_get(ar, f->len, 8);
		if (!insns || !f->len || f->len % 8 || f->len / 8 > 4096) {
			pr_err("core-%u.img: seccomp filter %u is %zu bytes", tc->tid, i, f->len);
			return -1;
		}
		memcpy(insns, f->data, f->len);
		t->filters[i] = (struct rst_filter){ .len = f->len / 8, .insns = (uint64_t)insns };
	}
	bool grow;
	t->sigframe = sigframe_build(tc, fe, ar, &grow);
	t->fpu_grow = grow;
	return t->sigframe ? 0 : -1;
}

static int build_threads(const struct rst_proc *p, const struct fpu_env *fe,
			 struct arena *ar, struct restore_args *a)
{
	if (fill_thread(&a->leader, p->core->thread, fe, ar))
		return -1;
	a->nr_threads = p->nr_threads - 1;
	a->threads = arena_get(ar, a->nr_threads * sizeof(struct rst_thread) + 1, 64);
	if (!a->threads)
		return -1;
	for (uint32_t i = 0; i < a->nr_threads; i++) {
		struct rst_thread *t = &a->threads[i];
		void *stack = arena_get(ar, THREAD_STACK, 64);

		if (!stack || fill_thread(t, p->thread_cores[i]->thread, fe, ar))
			return -1;
		t->stack = (uint64_t)stack;
		t->stack_size = THREAD_STACK;
		/* its tid where it lives, and at every level up to the tree's */
		pid_t tids[RST_NS_LEVELS];
		t->nr_set_tid = rst_ns_set_tid(p, i + 1, tids);
		for (uint32_t l = 0; l < t->nr_set_tid; l++)
			t->set_tid[l] = tids[l];
		t->tid = tids[0];
	}
	return 0;
}


int rst_args_build(const struct rst_proc *p, const struct opts *o, struct rst_region *r,
		   struct rst_fds *fds, struct restore_args **out)
{
	struct arena ar = { (uint8_t *)(r->start + r->args_off), (uint8_t *)r->stack_top - 65536 };
	struct restore_args *a = arena_get(&ar, sizeof(*a), 64);
	const Mm *mm = p->mm;

	if (!a || open_helpers(p, o, fds))
		return -1;
	a->region_start = r->start;
	a->region_end = r->start + r->len;
	a->premap_start = p->premap_start;
	a->premap_end = p->premap_end;
	a->log_fd = fds->log_fd;
	a->err_fd = fds->err_fd;
	a->page_size = 4096;
	if (plan_special(p, r, a))
		return -1;

	a->vmas = arena_get(&ar, mm->n_vmas * sizeof(struct rst_vma), 8);
	a->runs = arena_get(&ar, (p->pages.nr_runs + 1) * sizeof(struct rst_run), 8);
	uint64_t *auxv = arena_get(&ar, mm->n_auxv * 8 + 8, 8);
	a->close_fds = arena_get(&ar, fds->nr * sizeof(int32_t) + 4, 4);
	if (!a->vmas || !a->runs || !auxv || !a->close_fds) {
		pr_err("restorer arguments do not fit their area");
		return -1;
	}
	for (size_t i = 0; i < mm->n_vmas; i++) {
		const Vma *v = mm->vmas[i];
		if (rst_vma_special(v->kind))
			continue;
		struct rst_vma *rv = &a->vmas[a->nr_vmas++];
		rv->start = v->start;
		rv->end = v->end;
		rv->pgoff = v->pgoff;
		rv->prot = v->prot;
		rv->flags = v->flags;
		rv->kind = v->kind;	/* enum values match rst_vma_kind */
		rv->fd = fds->vma_fd[i];
		if (rv->fd >= 0 && v->kind == VMA_KIND__VMA_ANON_SHARED)
			rv->flags &= ~MAP_ANONYMOUS;	/* the tree's shmem object */
		if (v->kind == VMA_KIND__VMA_MEMFD_SHARED)
			rv->kind = RST_VMA_ANON_SHARED;	/* to the restorer: a shared object to fill */
		rv->vm_flags = v->vm_flags;
		rv->premap = p->premap ? p->premap[i] : 0;
		rv->mpol_mode = v->has_mempolicy ? v->mempolicy : 0;
		rv->pkey = v->has_pkey ? v->pkey : 0;
		rv->shmid = v->kind == VMA_KIND__VMA_SYSV_SHM ? (uint32_t)v->ino : 0;
		rv->mpol_nodes = v->mempolicy_nodes;
		rv->via_mem = rst_vma_via_mem(v);
	}
	a->guards = arena_get(&ar, count_guards(mm) * 8 + 8, 8);
	if (!a->guards) {
		pr_err("restorer arguments do not fit their area");
		return -1;
	}
	for (size_t i = 0; i < mm->n_vmas; i++)
		for (size_t k = 0; k < mm->vmas[i]->n_guard; k++)
			a->guards[a->nr_guards++] = mm->vmas[i]->guard[k];
	a->nr_guards /= 2;
	for (size_t i = 0; i < p->pages.nr_runs; i++) {
		/* the restorer's copy of the pages file of the image holding the run's data */
		const struct page_run *pr = &p->pages.runs[i];
		a->runs[i] = (struct rst_run){ pr->vaddr, pr->nr_pages, pr->file_off,
					       fds->pages_fd[pr->image], 0 };
	}
	a->nr_runs = p->pages.nr_runs;
	a->lazy_sock = -1;
	a->uffd = -1;
	a->lazy_ring = -1;
	a->pid = p->pid;
	if (o->lazy_pages) {
		a->lazy = arena_get(&ar, (a->nr_vmas + 1) * sizeof(struct lazy_range), 8);
		a->hot = arena_get(&ar, (4 * p->nr_threads + 1) * sizeof(struct lazy_range), 8);	/* lazy-restore.c */
		if (!a->lazy || !a->hot) {
			pr_err("restorer arguments do not fit their area");
			return -1;
		}
		a->lazy_sock = fds->lazy_sock;
		rst_lazy_plan(p, a);
	}

	memcpy(auxv, mm->auxv, mm->n_auxv * 8);
	a->mm_map = (struct rst_mm_map){
		.start_code = mm->start_code, .end_code = mm->end_code,
		.start_data = mm->start_data, .end_data = mm->end_data,
		.start_brk = mm->start_brk, .brk = mm->brk, .start_stack = mm->start_stack,
		.arg_start = mm->arg_start, .arg_end = mm->arg_end,
		.env_start = mm->env_start, .env_end = mm->env_end,
		.auxv = (uint64_t)auxv, .auxv_size = mm->n_auxv * 8, .exe_fd = fds->exe_fd,
	};

	for (size_t i = 0; i < p->core->n_sigactions; i++) {
		const SigAction *s = p->core->sigactions[i];
		a->sigact_valid |= 1ULL << (s->sig - 1);
		a->sigactions[s->sig - 1] = (struct rst_sigaction){ s->handler, s->flags,
								     s->restorer, s->mask };
	}

	/* every helper fd but the log (closed last) and criu's terminal */
	for (int i = 0; i < fds->nr; i++)
		if (fds->all[i] != fds->log_fd && fds->all[i] != fds->err_fd &&
		    fds->all[i] != fds->tty[0] && fds->all[i] != fds->tty[1] &&
		    fds->all[i] != fds->tty[2])
			a->close_fds[a->nr_close_fds++] = fds->all[i];

	struct fpu_env fe;
	if (fpu_env_probe(&fe))
		return -1;
	a->xcomp_perm = fpu_perm_to_ask(p->core, p->thread_cores, p->nr_threads - 1, &fe);
	a->pkeys = p->core->has_pkeys_allocated ? p->core->pkeys_allocated : 0;
	a->mlock_future = p->core->has_mlock_future ? p->core->mlock_future : 0;
	a->membarrier = p->core->has_membarrier ? p->core->membarrier : 0;
	if (build_threads(p, &fe, &ar, a) || build_process_state(p, &ar, a))
		return -1;
	*out = a;
	return 0;
}
