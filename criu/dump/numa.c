/*
 * numa.c - NUMA memory policies: each thread's own (get_mempolicy, asked
 * from inside the thread through infect) and each mapping's (mbind: the
 * get_mempolicy MPOL_F_ADDR inside the process, under two policies of the
 * leader to tell a mapping's own from the leader's: dump_numa_vmas).  Nodes past
 * the 64th are refused.  Restored by the restorer (set_mempolicy per
 * thread, mbind per mapping).
 */
#define LOG_PREFIX "dump: "
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "criu/dump/dump.h"
#include "criu/infect/infect.h"
#include "common/log.h"

#define NODE_WORDS		16	/* 1024 nodes asked for: more than any kernel has */

/* the policy in force at addr (the mapping's, or the task's if it has none) */
static int policy_at(struct infect *c, uint64_t addr, uint32_t *mode, uint64_t *nodes)
{
	uint64_t words[NODE_WORDS];
	int m = 0;
	long ret, args[6] = { (long)c->scratch, (long)c->scratch + 64, NODE_WORDS * 64, (long)addr,
			      2 /* MPOL_F_ADDR */ };

	if (infect_syscall(c, SYS_get_mempolicy, args, &ret))
		return -1;
	if (ret || infect_read(c, c->scratch, &m, sizeof(m)) ||
	    infect_read(c, c->scratch + 64, words, sizeof(words))) {
		pr_err("pid %d: cannot read the memory policy at %lx (%ld)", c->pid,
		       (unsigned long)addr, ret);
		return -1;
	}
	for (int k = 1; k < NODE_WORDS; k++)
		if (words[k]) {
			pr_err("pid %d: memory policy at %lx on NUMA nodes past the 64th: not supported",
			       c->pid, (unsigned long)addr);
			return -1;
		}
	*mode = m;
	*nodes = words[0];
	return 0;
}

/* mappings whose policy get_mempolicy can tell */
static bool has_policy_slot(const Vma *v)
{
	return v->kind != VMA_KIND__VMA_VDSO && v->kind != VMA_KIND__VMA_VVAR &&
	       v->kind != VMA_KIND__VMA_VVAR_VCLOCK && v->kind != VMA_KIND__VMA_VSYSCALL;
}

static int set_task_policy(struct infect *c, uint32_t mode, uint64_t nodes)
{
	long ret, args[6] = { mode, nodes ? (long)c->scratch : 0, 65 };

	if (infect_write(c, c->scratch, &nodes, sizeof(nodes)) ||
	    infect_syscall(c, SYS_set_mempolicy, args, &ret))
		return -1;
	if (ret) {
		pr_err("pid %d: cannot set its memory policy %#x (%ld)", c->pid, mode, ret);
		return -1;
	}
	return 0;
}

/* the first node the process may use (Mems_allowed_list: "0-1"...) */
static uint64_t first_node(pid_t pid)
{
	char buf[64];
	if (proc_status_field(pid, "Mems_allowed_list:", buf, sizeof(buf)))
		return 1;
	unsigned long n = strtoul(buf, NULL, 10);
	return n < 64 ? 1ULL << n : 1;
}

/*
 * get_mempolicy(MPOL_F_ADDR) answers with the task's policy for a mapping
 * with none of its own: each mapping is asked under two different
 * policies of the leader (set inside it, then put back), and one whose
 * answer is the same under both has its own.  Cost: two injected syscalls
 * per mapping (numa_maps would walk every page, twice).
 */
int dump_numa_vmas(struct dump_proc *p)
{
	const ThreadCore *tc = p->core->thread;
	uint32_t *ma = NULL;
	uint64_t *na = NULL;
	struct infect c;
	int err = -1;

	if (access("/proc/self/numa_maps", F_OK))
		return 0;	/* no NUMA */
	uint64_t node = first_node(p->pid);
	ma = calloc(p->mm->n_vmas + 1, sizeof(*ma));
	na = calloc(p->mm->n_vmas + 1, sizeof(*na));
	if (!ma || !na || infect_begin(&c, p->pid)) {
		free(ma);
		free(na);
		return -1;
	}
	if (infect_scratch(&c, 4096) || set_task_policy(&c, 1 /* MPOL_PREFERRED */, node))
		goto out;
	for (size_t k = 0; k < p->mm->n_vmas; k++)
		if (has_policy_slot(p->mm->vmas[k]) && policy_at(&c, p->mm->vmas[k]->start, &ma[k], &na[k]))
			goto out;
	if (set_task_policy(&c, 3 /* MPOL_INTERLEAVE */, node))
		goto out;
	for (size_t k = 0; k < p->mm->n_vmas; k++) {
		Vma *v = p->mm->vmas[k];
		uint32_t mb;
		uint64_t nb;
		if (!has_policy_slot(v) || policy_at(&c, v->start, &mb, &nb))
			continue;
		if (mb != ma[k] || nb != na[k] || !mb)
			continue;	/* the task's, or the default */
		v->has_mempolicy = v->has_mempolicy_nodes = true;
		v->mempolicy = mb;
		v->mempolicy_nodes = nb;
	}
	err = 0;
out:
	/* its own policy back */
	if (c.scratch && set_task_policy(&c, tc->has_mempolicy ? tc->mempolicy : 0,
					 tc->has_mempolicy ? tc->mempolicy_nodes : 0))
		err = -1;
	if (infect_end(&c))
		err = -1;
	free(ma);
	free(na);
	return err;
}

int dump_thread_mempolicy(struct infect *c, ThreadCore *tc)
{
	uint64_t words[NODE_WORDS];
	int mode = 0;
	long ret, args[6] = { (long)c->scratch, (long)c->scratch + 64, NODE_WORDS * 64, 0, 0 };

	if (infect_syscall(c, SYS_get_mempolicy, args, &ret))
		return -1;
	if (ret == -ENOSYS)
		return 0;	/* no NUMA */
	if (ret || infect_read(c, c->scratch, &mode, sizeof(mode)) ||
	    infect_read(c, c->scratch + 64, words, sizeof(words))) {
		pr_err("pid %d: cannot read its memory policy (%ld)", c->pid, ret);
		return -1;
	}
	for (int k = 1; k < NODE_WORDS; k++)
		if (words[k]) {
			pr_err("pid %d: memory policy on NUMA nodes past the 64th: not supported", c->pid);
			return -1;
		}
	if (!mode)
		return 0;
	tc->has_mempolicy = tc->has_mempolicy_nodes = true;
	tc->mempolicy = mode;
	tc->mempolicy_nodes = words[0];
	return 0;
}
