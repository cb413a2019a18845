/*
 * mm-flags.c - state of a process's whole address space that only the
 * process itself can show, asked from inside it (infect):
 *   - the protection keys it has allocated (pkey_alloc): every free key is
 *     allocated once to find them, then freed again;
 *   - whether mlockall(MCL_FUTURE) locks its new mappings, with
 *     MCL_ONFAULT or not: one page is mapped to see how a new mapping is
 *     made (a locked one refuses MADV_DONTNEED; without MCL_ONFAULT it is
 *     populated at once), then unmapped;
 *   - its private expedited membarrier registrations (a barrier of a kind
 *     it has not registered fails with EPERM).
 * Nothing is left behind: allocating a key writes its rights into the
 * thread's PKRU register, so the thread's extended state, read before
 * (core.c), is written back after the probe.  The restorer sets the same
 * state again (criu/pie/restorer.c, restore_mm_flags).
 */
#define LOG_PREFIX "dump: "
#include <elf.h>
#include <errno.h>
#include <linux/membarrier.h>
#include <sys/mman.h>
#include <sys/ptrace.h>
#include <sys/syscall.h>
#include <sys/uio.h>

#include "common/log.h"
#include "criu/dump/dump.h"
#include "criu/infect/infect.h"

static int probe_pkeys(struct infect *c, Core *core)
{
	uint32_t free_keys = 0;
	long ret;

	for (int n = 0; n < 32; n++) {
		long a[6] = { 0, 0 };
		if (infect_syscall(c, SYS_pkey_alloc, a, &ret))
			return -1;
		if (ret < 0 || ret >= 32)
			break;
		free_keys |= 1u << ret;
	}
	for (long k = 0; k < 32; k++) {
		long a[6] = { k };
		long r2;
		if (free_keys >> k & 1 && infect_syscall(c, SYS_pkey_free, a, &r2))
			return -1;
	}
	if (ret != -ENOSPC && !free_keys)
		return 0;	/* no protection keys here (EINVAL, ENOSYS) */
	/* the rights pkey_alloc wrote into PKRU: the thread's own state again */
	const ProtobufCBinaryData *xs = &core->thread->xsave;
	struct iovec iov = { xs->data, xs->len };
	if (free_keys && ptrace(PTRACE_SETREGSET, c->pid, (void *)NT_X86_XSTATE, &iov)) {
		pr_perror("pid %d: cannot put its extended register state back", c->pid);
		return -1;
	}
	core->has_pkeys_allocated = true;
	core->pkeys_allocated = ~free_keys & 0xffff;
	return 0;
}

static int probe_mlock_future(struct infect *c, Core *core)
{
	long m[6] = { 0, 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0 };
	long addr, ret;
	uint8_t resident = 0;

	if (infect_syscall(c, SYS_mmap, m, &addr))
		return -1;
	if (addr == -EAGAIN) {
		/* only a locked mapping over RLIMIT_MEMLOCK fails so */
		pr_err("pid %d: its new mappings are locked (mlockall MCL_FUTURE) and its RLIMIT_MEMLOCK is used up: whether MCL_ONFAULT is set cannot be seen",
		       c->pid);
		return -1;
	}
	if (addr < 0 && addr > -4096) {
		pr_err("pid %d: cannot map a page in it to see how its new mappings are made (%ld)",
		       c->pid, addr);
		return -1;
	}
	long adv[6] = { addr, 4096, MADV_DONTNEED };
	long inc[6] = { addr, 4096, (long)c->scratch };
	long un[6] = { addr, 4096 };
	int err = infect_syscall(c, SYS_madvise, adv, &ret);
	if (!err && ret == -EINVAL) {
		err = infect_syscall(c, SYS_mincore, inc, &ret) || ret ||
		      infect_read(c, c->scratch, &resident, 1);
		core->has_mlock_future = true;
		core->mlock_future = MCL_FUTURE | ((resident & 1) ? 0 : MCL_ONFAULT);
	}
	if (infect_syscall(c, SYS_munmap, un, &ret) || ret)
		err = -1;
	if (err)
		pr_err("pid %d: cannot probe mlockall(MCL_FUTURE)", c->pid);
	return err ? -1 : 0;
}

static int probe_membarrier(struct infect *c, Core *core)
{
	static const long cmd[] = { MEMBARRIER_CMD_PRIVATE_EXPEDITED,
				    MEMBARRIER_CMD_PRIVATE_EXPEDITED_SYNC_CORE,
				    MEMBARRIER_CMD_PRIVATE_EXPEDITED_RSEQ };
	uint32_t reg = 0;
	long ret;

	for (int k = 0; k < 3; k++) {
		long a[6] = { cmd[k], 0, 0 };
		if (infect_syscall(c, SYS_membarrier, a, &ret))
			return -1;
		if (ret == 0)
			reg |= 1u << k;
	}
	if (reg)
		core->has_membarrier = true, core->membarrier = reg;
	return 0;
}

int dump_mm_flags(struct infect *c, Core *core)
{
	return probe_pkeys(c, core) || probe_mlock_future(c, core) || probe_membarrier(c, core);
}
