/*
 * infect.h - make a ptrace-stopped task execute syscalls chosen by the tool.
 *
 * The task must be seized and in a ptrace stop.  infect_begin() saves its
 * registers and signal mask and blocks every signal so that nothing is
 * delivered while it runs foreign code; infect_syscall() writes
 * "syscall; int3" at the task's instruction pointer, runs it with the given
 * arguments and puts the code and registers back before returning, so the
 * task is intact between any two calls (if the tool dies, the task is never
 * left with patched code); infect_end() restores the signal mask and the
 * registers exactly.  A task inside an rseq critical section would be moved
 * to its abort handler by the kernel as soon as it runs the injected code:
 * its rseq_cs is cleared meanwhile and put back by infect_end().
 *
 * Used by dump (signal actions, brk, sigaltstack), and at the end of restore
 * to unmap the restorer.  Owns no memory of the task but the optional
 * scratch area it maps and unmaps itself.
 */
#ifndef CRIU_INFECT_H
#define CRIU_INFECT_H

#include <stdint.h>
#include <sys/types.h>
#include <sys/user.h>

struct infect {
	pid_t pid;
	struct user_regs_struct saved;
	uint64_t saved_sigmask;
	uint64_t scratch;	/* address of the scratch area in the task, 0 if none */
	size_t scratch_len;
	uint64_t rseq_cs_addr;	/* the task's rseq_cs field, cleared meanwhile, or 0 */
	uint64_t saved_rseq_cs;
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
