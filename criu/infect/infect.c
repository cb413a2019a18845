/* infect.c - running syscalls inside a stopped task (see infect.h). */
#define LOG_PREFIX "infect: "
#include <errno.h>
#include <signal.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/ptrace.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <sys/wait.h>

#include "compat.h"
#include "infect.h"
#include "log.h"

/* syscall; int3 */
static const uint8_t inject_code[3] = { 0x0f, 0x05, 0xcc };

int infect_begin(struct infect *c, pid_t pid)
{
	uint64_t all = ~0ULL;

	memset(c, 0, sizeof(*c));
	c->pid = pid;
	if (ptrace(PTRACE_GETREGS, pid, NULL, &c->saved)) {
		pr_perror("pid %d: cannot read registers", pid);
		return -1;
	}
	if (ptrace(PTRACE_GETSIGMASK, pid, sizeof(uint64_t), &c->saved_sigmask)) {
		pr_perror("pid %d: cannot read signal mask", pid);
		return -1;
	}
	if (ptrace(PTRACE_SETSIGMASK, pid, sizeof(uint64_t), &all)) {
		pr_perror("pid %d: cannot block signals", pid);
		return -1;
	}
	/* no rseq abort while it runs our code (see infect.h) */
	struct rseq_configuration rc;
	if (ptrace(PTRACE_GET_RSEQ_CONFIGURATION, pid, sizeof(rc), &rc) == sizeof(rc) &&
	    rc.rseq_abi_pointer) {
		errno = 0;
		long v = ptrace(PTRACE_PEEKDATA, pid, (void *)(rc.rseq_abi_pointer + 8), NULL);
		if (!errno && v) {
			if (ptrace(PTRACE_POKEDATA, pid, (void *)(rc.rseq_abi_pointer + 8), NULL)) {
				pr_perror("pid %d: cannot clear its rseq critical section", pid);
				return -1;
			}
			c->rseq_cs_addr = rc.rseq_abi_pointer + 8;
			c->saved_rseq_cs = v;
		}
	}
	return 0;
}

static int wait_trap(pid_t pid)
{
	for (;;) {
		int status;
		if (waitpid(pid, &status, __WALL) != pid) {
			pr_perror("pid %d: wait failed", pid);
			return -1;
		}
		if (WIFEXITED(status) || WIFSIGNALED(status)) {
			pr_err("pid %d: died while running an injected syscall", pid);
			return -1;
		}
		if (WSTOPSIG(status) == SIGTRAP && (status >> 16) == 0)
			return 0;
		/* a group-stop or ptrace event: let it go on to our trap */
		if (ptrace(PTRACE_CONT, pid, NULL, NULL)) {
			pr_perror("pid %d: cannot continue", pid);
			return -1;
		}
	}
}

int infect_syscall(struct infect *c, long nr, const long args[6], long *ret)
{
	struct user_regs_struct regs = c->saved;
	uint64_t ip = c->saved.rip;
	long orig, patched;
	int err = -1;

	errno = 0;
	orig = ptrace(PTRACE_PEEKTEXT, c->pid, ip, NULL);
	if (errno) {
		pr_perror("pid %d: cannot read code at 0x%llx", c->pid, (unsigned long long)ip);
		return -1;
	}
	patched = orig;
	memcpy(&patched, inject_code, sizeof(inject_code));
	if (ptrace(PTRACE_POKETEXT, c->pid, ip, patched)) {
		pr_perror("pid %d: cannot write code at 0x%llx", c->pid, (unsigned long long)ip);
		return -1;
	}
	regs.rax = nr;
	regs.orig_rax = -1;	/* no syscall-restart logic on resume */
	regs.rdi = args[0];
	regs.rsi = args[1];
	regs.rdx = args[2];
	regs.r10 = args[3];
	regs.r8 = args[4];
	regs.r9 = args[5];
	if (ptrace(PTRACE_SETREGS, c->pid, NULL, &regs)) {
		pr_perror("pid %d: cannot set registers", c->pid);
		goto restore;
	}
	if (ptrace(PTRACE_CONT, c->pid, NULL, NULL)) {
		pr_perror("pid %d: cannot continue", c->pid);
		goto restore;
	}
	if (wait_trap(c->pid))
		goto restore;
	if (ptrace(PTRACE_GETREGS, c->pid, NULL, &regs)) {
		pr_perror("pid %d: cannot read registers", c->pid);
		goto restore;
	}
	if (regs.rip != ip + sizeof(inject_code)) {
		pr_err("pid %d: injected syscall %ld stopped at 0x%llx, not at our trap",
		       c->pid, nr, (unsigned long long)regs.rip);
		goto restore;
	}
	*ret = regs.rax;
	err = 0;
restore:
	if (ptrace(PTRACE_POKETEXT, c->pid, ip, orig)) {
		pr_perror("pid %d: cannot put code back at 0x%llx", c->pid, (unsigned long long)ip);
		err = -1;
	}
	if (ptrace(PTRACE_SETREGS, c->pid, NULL, &c->saved)) {
		pr_perror("pid %d: cannot put registers back", c->pid);
		err = -1;
	}
	return err;
}

int infect_scratch(struct infect *c, size_t len)
{
	long args[6] = { 0, (long)len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0 };
	long ret;

	if (infect_syscall(c, SYS_mmap, args, &ret))
		return -1;
	if (ret < 0 && ret > -4096) {
		errno = -ret;
		pr_perror("pid %d: cannot map a scratch area", c->pid);
		return -1;
	}
	c->scratch = ret;
	c->scratch_len = len;
	return 0;
}

static int remote_rw(struct infect *c, uint64_t addr, void *buf, size_t len, int write)
{
	struct iovec local = { buf, len }, remote = { (void *)addr, len };
	ssize_t n = write ? process_vm_writev(c->pid, &local, 1, &remote, 1, 0)
			  : process_vm_readv(c->pid, &local, 1, &remote, 1, 0);
	if (n != (ssize_t)len) {
		pr_perror("pid %d: cannot %s %zu bytes at 0x%llx", c->pid,
			  write ? "write" : "read", len, (unsigned long long)addr);
		return -1;
	}
	return 0;
}

int infect_write(struct infect *c, uint64_t addr, const void *buf, size_t len)
{
	return remote_rw(c, addr, (void *)buf, len, 1);
}

int infect_read(struct infect *c, uint64_t addr, void *buf, size_t len)
{
	return remote_rw(c, addr, buf, len, 0);
}

int infect_end(struct infect *c)
{
	int err = 0;

	if (c->scratch) {
		long args[6] = { (long)c->scratch, (long)c->scratch_len };
		long ret;
		if (infect_syscall(c, SYS_munmap, args, &ret) || ret) {
			pr_err("pid %d: cannot unmap the scratch area", c->pid);
			err = -1;
		}
		c->scratch = 0;
	}
	if (ptrace(PTRACE_SETSIGMASK, c->pid, sizeof(uint64_t), &c->saved_sigmask)) {
		pr_perror("pid %d: cannot restore the signal mask", c->pid);
		err = -1;
	}
	if (ptrace(PTRACE_SETREGS, c->pid, NULL, &c->saved)) {
		pr_perror("pid %d: cannot restore registers", c->pid);
		err = -1;
	}
	if (c->rseq_cs_addr &&
	    ptrace(PTRACE_POKEDATA, c->pid, (void *)c->rseq_cs_addr, (void *)c->saved_rseq_cs)) {
		pr_perror("pid %d: cannot restore its rseq critical section", c->pid);
		err = -1;
	}
	return err;
}
