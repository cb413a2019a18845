/*
 * thread-flags.c - a thread's execution flags, asked from inside it
 * (infect): whether rdtsc and cpuid fault (PR_GET_TSC, ARCH_GET_CPUID) and
 * its machine-check kill policy (PR_MCE_KILL_GET), its parent-death signal
 * (PR_GET_PDEATHSIG: each thread has its own), no_new_privs and personality
 * (the same),
 * its speculation controls
 * (PR_GET_SPECULATION_CTRL: store bypass, indirect branch, L1D flush).  The
 * restorer sets them again on the thread (finish_thread).
 */
#define LOG_PREFIX "dump: "
#include <asm/prctl.h>
#include <errno.h>
#include <linux/keyctl.h>
#include <sys/prctl.h>
#include <sys/syscall.h>

#include "criu/dump/dump.h"
#include "criu/infect/infect.h"
#include "common/log.h"

/* each control the kernel knows here (PR_SPEC_NOT_AFFECTED is 0: kept too) */
static int dump_speculation(struct infect *c, ThreadCore *tc)
{
	static const long which[] = { PR_SPEC_STORE_BYPASS, PR_SPEC_INDIRECT_BRANCH,
				      PR_SPEC_L1D_FLUSH };
	protobuf_c_boolean *has[] = { &tc->has_spec_store_bypass, &tc->has_spec_indirect_branch,
				      &tc->has_spec_l1d_flush };
	uint32_t *val[] = { &tc->spec_store_bypass, &tc->spec_indirect_branch,
			    &tc->spec_l1d_flush };
	long ret;

	for (int k = 0; k < 3; k++) {
		long a[6] = { PR_GET_SPECULATION_CTRL, which[k] };
		if (infect_syscall(c, SYS_prctl, a, &ret))
			return -1;
		if (ret < 0)
			continue;	/* not on this CPU or kernel */
		*has[k] = true;
		*val[k] = ret;
	}
	return 0;
}

int dump_no_keyring(struct infect *c, long spec, const char *what)
{
	/* asked without making one (create 0) */
	long a[6] = { KEYCTL_GET_KEYRING_ID, spec, 0 }, ret;

	if (infect_syscall(c, SYS_keyctl, a, &ret))
		return -1;
	if (ret >= 0) {
		pr_err("pid %d: %s (keyctl %ld): keyrings are not saved: not supported", c->pid, what, ret);
		return -1;
	}
	return 0;
}

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
	/* each thread has its own (the process's in ProcPrctl is its leader's) */
	int sig = 0;
	long a_pd[6] = { PR_GET_PDEATHSIG, (long)c->scratch };
	if (infect_syscall(c, SYS_prctl, a_pd, &ret))
		return -1;
	if (ret == 0 && infect_read(c, c->scratch, &sig, sizeof(sig)) == 0 && sig) {
		tc->has_pdeathsig = true;
		tc->pdeathsig = sig;
	}
	long a_pers[6] = { 0xffffffff };
	if (infect_syscall(c, SYS_personality, a_pers, &ret))
		return -1;
	if (ret >= 0)
		tc->has_personality = true, tc->personality = ret;
	long a_nnp[6] = { PR_GET_NO_NEW_PRIVS };
	if (infect_syscall(c, SYS_prctl, a_nnp, &ret))
		return -1;
	if (ret > 0)
		tc->has_no_new_privs = tc->no_new_privs = true;
	if (dump_no_keyring(c, KEY_SPEC_THREAD_KEYRING, "a thread has a thread keyring"))
		return -1;
	long a_mce[6] = { PR_MCE_KILL_GET };
	if (infect_syscall(c, SYS_prctl, a_mce, &ret))
		return -1;
	if (ret >= 0) {
		tc->has_mce_kill = true;
		tc->mce_kill = ret;
	}
	return dump_speculation(c, tc);
}
