/*
 * infect.h - make a ptrace-stopped task execute syscalls chosen by the tool.
 *
 * The task must be seized and in a ptrace stop.  Killing criu at any moment
 * must leave the task as it was: nothing is written over its code and its
 * registers are never left changed.  infect_begin() saves its registers
 * and signal mask, puts a small trampoline into the zero padding at the end
 * of the task's vdso (the same bytes for every task, kept there) and a
 * frame below its red zone holding its registers and mask, and points the
 * task past the trampoline's syscall: from then on, should criu die, the
 * task runs the trampoline's way back (mask, registers, rip through iretq;
 * an interrupted syscall restarted, a preempted rseq critical section sent
 * to its abort handler, as the kernel would have).  infect_syscall() runs
 * one syscall at the trampoline (PTRACE_SYSCALL to its exit) and leaves the
 * task there, ready to go back; infect_end() restores the signal mask, the
 * rseq critical section and the registers exactly, registers last.  Every
 * signal is blocked in between so that nothing is delivered while it runs
 * foreign code; its rseq_cs is cleared meanwhile.
 *
 * Used by dump (signal actions, brk, sigaltstack), and at the end of restore
 * to unmap the restorer.  Owns no memory of the task but the optional
 * scratch area it maps and unmaps itself.
 */
#ifndef CRIU_INFECT_H
#define CRIU_INFECT_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>
#include <sys/user.h>

/* the bytes below the task's stack pointer the trampoline's frame may take */
#define INFECT_STACK_USE	512

struct infect {
	pid_t pid;
	struct user_regs_struct saved;
	uint64_t saved_sigmask;
	uint64_t scratch;	/* address of the scratch area in the task, 0 if none */
	size_t scratch_len;
	uint64_t rseq_cs_addr;	/* the task's rseq_cs field, cleared meanwhile, or 0 */
	uint64_t saved_rseq_cs;
	uint64_t tramp;		/* the trampoline in the task's vdso */
	uint64_t frame;		/* its frame, below the task's red zone */
	bool armed;		/* the task's registers point into the trampoline */
};

int infect_begin(struct infect *c, pid_t pid);
/* runs one syscall; *ret gets its raw return value (-errno on failure) */
int infect_syscall(struct infect *c, long nr, const long args[6], long *ret);
/* maps an anonymous read-write scratch area of len bytes in the task */
int infect_scratch(struct infect *c, size_t len);
int infect_write(struct infect *c, uint64_t addr, const void *buf, size_t len);
int infect_read(struct infect *c, uint64_t addr, void *buf, size_t len);
/* unmaps the scratch area, restores signal mask and registers */
int infect_end(struct infect *c);

#endif /* CRIU_INFECT_H */
