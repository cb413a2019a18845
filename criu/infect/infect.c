/* infect.c - running syscalls inside a stopped task (see infect.h). */
#define LOG_PREFIX "infect: "
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <signal.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/ptrace.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <sys/wait.h>
#include <unistd.h>

#include "common/compat.h"
#include "criu/infect/infect.h"
#include "common/log.h"

/*
 * The trampoline, copied into the zero padding at the end of the task's
 * vdso (criu writes it with ptrace; the task never runs that padding):
 *
 *	syscall				the injected syscall (criu stops at its exit)
 *	mov $14,%eax; mov $2,%edi	what runs only if criu is gone: the
 *	mov %rsp,%rsi; xor %edx,%edx	task's own signal mask back, from the
 *	mov $8,%r10d; syscall		frame (rt_sigprocmask SIG_SETMASK)
 *	add $8,%rsp; pop %r15 ... pop %rax	its registers back, from the frame
 *	iretq				rip, cs, rflags, rsp, ss back at once
 */
static const uint8_t tramp_code[] = {
	0x0f, 0x05, 0xb8, 0x0e, 0x00, 0x00, 0x00, 0xbf, 0x02, 0x00, 0x00, 0x00,
	0x48, 0x89, 0xe6, 0x31, 0xd2, 0x41, 0xba, 0x08, 0x00, 0x00, 0x00, 0x0f,
	0x05, 0x48, 0x83, 0xc4, 0x08, 0x41, 0x5f, 0x41, 0x5e, 0x41, 0x5d, 0x41,
	0x5c, 0x41, 0x5b, 0x41, 0x5a, 0x41, 0x59, 0x41, 0x58, 0x5d, 0x5f, 0x5e,
	0x5a, 0x59, 0x5b, 0x58, 0x48, 0xcf,
};
#define TRAMP_ROOM	64	/* bytes taken at the end of the vdso */
#define RED_ZONE	128

/* the frame the trampoline restores from, below the task's red zone */
struct tramp_frame {
	uint64_t sigmask;
	uint64_t r15, r14, r13, r12, r11, r10, r9, r8, rbp, rdi, rsi, rdx, rcx, rbx, rax;
	uint64_t rip, cs, rflags, rsp, ss;	/* for iretq */
};
_Static_assert(RED_ZONE + sizeof(struct tramp_frame) + 15 <= INFECT_STACK_USE,
	       "infect.h: INFECT_STACK_USE is less than the trampoline's frame takes");

/* the end of the task's vdso; 0 if it has none */
static uint64_t vdso_end(pid_t pid)
{
	char path[64], line[512];
	uint64_t s, e, end = 0;

	snprintf(path, sizeof(path), "/proc/%d/maps", pid);
	FILE *f = fopen(path, "re");
	if (!f)
		return 0;
	while (!end && fgets(line, sizeof(line), f))
		if (strstr(line, "[vdso]") && sscanf(line, "%lx-%lx", &s, &e) == 2)
			end = e;
	fclose(f);
	return end;
}

/* puts the trampoline at the end of the vdso (once: the bytes are the same for every task) */
static int place_trampoline(struct infect *c)
{
	uint64_t end = vdso_end(c->pid), at = end - TRAMP_ROOM;
	uint64_t word[TRAMP_ROOM / 8], want[TRAMP_ROOM / 8] = { 0 };

	if (!end) {
		pr_err("pid %d: has no vdso to run injected syscalls from", c->pid);
		return -1;
	}
	memcpy(want, tramp_code, sizeof(tramp_code));
	for (int i = 0; i < TRAMP_ROOM / 8; i++) {
		errno = 0;
		word[i] = ptrace(PTRACE_PEEKTEXT, c->pid, (void *)(at + 8 * i), NULL);
		if (errno) {
			pr_perror("pid %d: cannot read its vdso at 0x%lx", c->pid, (unsigned long)at);
			return -1;
		}
		if (word[i] && word[i] != want[i]) {
			pr_err("pid %d: the end of its vdso is not free padding: no room for the "
			       "injection trampoline", c->pid);
			return -1;
		}
	}
	for (int i = 0; i < TRAMP_ROOM / 8; i++)
		if (word[i] != want[i] &&
		    ptrace(PTRACE_POKETEXT, c->pid, (void *)(at + 8 * i), (void *)want[i])) {
			pr_perror("pid %d: cannot write the injection trampoline", c->pid);
			return -1;
		}
	c->tramp = at;
	return 0;
}

/*
 * The state the task must get back if criu is gone: its registers, with
 * what the kernel does on the way out of an interrupted syscall (restart)
 * or of a preempted rseq critical section (abort) applied.
 */
static int write_frame(struct infect *c, uint64_t cs_start, uint64_t cs_len, uint64_t cs_abort)
{
	const struct user_regs_struct *r = &c->saved;
	struct tramp_frame f = {
		c->saved_sigmask, r->r15, r->r14, r->r13, r->r12, r->r11, r->r10, r->r9, r->r8,
		r->rbp, r->rdi, r->rsi, r->rdx, r->rcx, r->rbx, r->rax,
		r->rip, r->cs, r->eflags, r->rsp, r->ss,
	};
	long ax = (long)r->rax;

	if ((long)r->orig_rax >= 0 && (ax == -512 || ax == -513 || ax == -514 || ax == -516)) {
		f.rax = ax == -516 ? SYS_restart_syscall : r->orig_rax;	/* -ERESTART* */
		f.rip -= 2;
	}
	if (cs_len && f.rip - cs_start < cs_len)
		f.rip = cs_abort;
	c->frame = ((r->rsp - RED_ZONE - sizeof(f)) & ~15ULL);
	return infect_write(c, c->frame, &f, sizeof(f));
}

int infect_begin(struct infect *c, pid_t pid)
{
	uint64_t all = ~0ULL, cs[4] = { 0 };

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
	/* no rseq abort while it runs our code (see infect.h) */
	struct rseq_configuration rc;
	if (ptrace(PTRACE_GET_RSEQ_CONFIGURATION, pid, sizeof(rc), &rc) == sizeof(rc) &&
	    rc.rseq_abi_pointer) {
		errno = 0;
		long v = ptrace(PTRACE_PEEKDATA, pid, (void *)(rc.rseq_abi_pointer + 8), NULL);
		if (!errno && v) {
			c->rseq_cs_addr = rc.rseq_abi_pointer + 8;
			c->saved_rseq_cs = v;
			/* struct rseq_cs: version, flags, start_ip, post_commit_offset, abort_ip */
			if (infect_read(c, v, cs, sizeof(cs)))
				return -1;
		}
	}
	if (place_trampoline(c) || write_frame(c, cs[1], cs[2], cs[3]))
		return -1;
	/* from here on, if criu dies, the trampoline puts everything back */
	struct user_regs_struct regs = c->saved;
	regs.rip = c->tramp + 2;
	regs.rsp = c->frame;
	regs.orig_rax = -1;
	if (ptrace(PTRACE_SETREGS, pid, NULL, &regs)) {
		pr_perror("pid %d: cannot set registers", pid);
		return -1;
	}
	c->armed = true;
	if (ptrace(PTRACE_SETSIGMASK, pid, sizeof(uint64_t), &all)) {
		pr_perror("pid %d: cannot block signals", pid);
		return -1;
	}
	if (c->rseq_cs_addr && ptrace(PTRACE_POKEDATA, pid, (void *)c->rseq_cs_addr, NULL)) {
		pr_perror("pid %d: cannot clear its rseq critical section", pid);
		return -1;
	}
	return 0;
}

/* runs the task to the exit of the syscall it is about to make */
static int run_to_exit(pid_t pid, long nr)
{
	for (;;) {
		int status;
		uint8_t info[128];

		if (ptrace(PTRACE_SYSCALL, pid, NULL, NULL)) {
			pr_perror("pid %d: cannot continue", pid);
			return -1;
		}
		if (waitpid(pid, &status, __WALL) != pid) {
			pr_perror("pid %d: wait failed", pid);
			return -1;
		}
		if (WIFEXITED(status) || WIFSIGNALED(status)) {
			pr_err("pid %d: died while running an injected syscall", pid);
			return -1;
		}
		if ((WSTOPSIG(status) & 0x7f) != SIGTRAP || (status >> 16))
			continue;	/* a group-stop or ptrace event: on to the syscall */
		if (ptrace(PTRACE_GET_SYSCALL_INFO, pid, sizeof(info), info) <= 0) {
			pr_perror("pid %d: cannot read the state of injected syscall %ld", pid, nr);
			return -1;
		}
		if (info[0] == PTRACE_SYSCALL_INFO_EXIT_)
			return 0;
	}
}

int infect_syscall(struct infect *c, long nr, const long args[6], long *ret)
{
	struct user_regs_struct regs = c->saved;

	regs.rip = c->tramp;
	regs.rsp = c->frame;
	regs.rax = nr;
	regs.orig_rax = -1;	/* no syscall-restart logic on the way */
	regs.rdi = args[0];
	regs.rsi = args[1];
	regs.rdx = args[2];
	regs.r10 = args[3];
	regs.r8 = args[4];
	regs.r9 = args[5];
	if (ptrace(PTRACE_SETREGS, c->pid, NULL, &regs)) {
		pr_perror("pid %d: cannot set registers", c->pid);
		return -1;
	}
	/* tests: a wider window to kill criu in (safety/kill_dump) */
	const char *delay = getenv("CRIU_TEST_INFECT_DELAY_US");
	if (delay)
		usleep(atoi(delay));
	if (run_to_exit(c->pid, nr))
		return -1;
	if (ptrace(PTRACE_GETREGS, c->pid, NULL, &regs)) {
		pr_perror("pid %d: cannot read registers", c->pid);
		return -1;
	}
	if (regs.rip != c->tramp + 2) {
		pr_err("pid %d: injected syscall %ld stopped at 0x%llx, not in the trampoline",
		       c->pid, nr, (unsigned long long)regs.rip);
		return -1;
	}
	*ret = regs.rax;
	/* stopped at the exit, about to run the trampoline's way back: safe if criu dies */
	return 0;
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
	/* mask and rseq first: until the registers are back, the trampoline's way out holds */
	if (ptrace(PTRACE_SETSIGMASK, c->pid, sizeof(uint64_t), &c->saved_sigmask)) {
		pr_perror("pid %d: cannot restore the signal mask", c->pid);
		err = -1;
	}
	if (c->rseq_cs_addr &&
	    ptrace(PTRACE_POKEDATA, c->pid, (void *)c->rseq_cs_addr, (void *)c->saved_rseq_cs)) {
		pr_perror("pid %d: cannot restore its rseq critical section", c->pid);
		err = -1;
	}
	if (c->armed && ptrace(PTRACE_SETREGS, c->pid, NULL, &c->saved)) {
		pr_perror("pid %d: cannot restore registers", c->pid);
		err = -1;
	}
	c->armed = false;
	return err;
}
