/*
 * thread-flags.c - a thread's execution flags, asked from inside it
 * (infect): whether rdtsc and cpuid fault (PR_GET_TSC, ARCH_GET_CPUID) and
 * its machine-check kill policy (PR_MCE_KILL_GET).  The restorer sets them
 * again on the thread (finish_thread).
 */
#define LOG_PREFIX "dump: "
#include <asm/prctl.h>
#include <errno.h>
#include <sys/prctl.h>
#include <sys/syscall.h>

#include "criu/dump/dump.h"
#include "criu/infect/infect.h"
#include "common/log.h"

int dump_thread_flags(struct infect *c, ThreadCore *tc)
{
	long ret;
	int tsc = 0;

	long a_tsc[6] = { PR_GET_TSC, (long)c->scratch };
	if (infect_syscall(c, SYS_prctl, a_tsc, &ret))
		return -1;
	if (ret == 0 && infect_read(c, c->scratch, &tsc, sizeof(tsc)) == 0) {
		tc->has_tsc = true;
		tc->tsc = tsc;
	} else if (ret != -EINVAL) {
		pr_err("pid %d: cannot read its rdtsc setting (%ld)", c->pid, ret);
		return -1;
	}
	long a_cpuid[6] = { ARCH_GET_CPUID };
	if (infect_syscall(c, SYS_arch_prctl, a_cpuid, &ret))
		return -1;
	if (ret >= 0) {
		tc->has_cpuid = true;
		tc->cpuid = ret;
	}
	long a_mce[6] = { PR_MCE_KILL_GET };
	if (infect_syscall(c, SYS_prctl, a_mce, &ret))
		return -1;
	if (ret >= 0) {
		tc->has_mce_kill = true;
		tc->mce_kill = ret;
	}
	return 0;
}
