/*
 * thread_flags: per-thread execution flags survive the checkpoint, each on
 * its own thread: rdtsc refused (PR_SET_TSC PR_TSC_SIGSEGV), cpuid refused
 * (arch_prctl ARCH_SET_CPUID 0, where the CPU can fault it), the early
 * machine-check kill policy (PR_MCE_KILL), a parent-death signal of its
 * own (PR_SET_PDEATHSIG, SIGWINCH: ignored when criu, the restored
 * process's parent, exits), no_new_privs and a personality
 * (ADDR_NO_RANDOMIZE) set by a thread alone; the main thread keeps the
 * defaults.  Each thread checks its own after the restore.
 */
#include <asm/prctl.h>
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <sys/personality.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "test/lib/test.h"

enum { TSC, CPUID, MCE, PDEATH, NNP, PERS, NR };
static volatile int state[NR];	/* 0 starting, 1 set, 2 ok after, 3 not supported, 10+: failed */
static volatile int go;

static int get_flag(int which)
{
	int v = -1;
	switch (which) {
	case TSC:
		return prctl(PR_GET_TSC, &v) ? -1 : v;
	case CPUID:
		return syscall(SYS_arch_prctl, ARCH_GET_CPUID, 0);
	case MCE:
		return prctl(PR_MCE_KILL_GET, 0, 0, 0, 0);
	case PDEATH:
		return prctl(PR_GET_PDEATHSIG, &v) ? -1 : v;
	case NNP:
		return prctl(PR_GET_NO_NEW_PRIVS, 0, 0, 0, 0);
	default:
		return personality(0xffffffff);
	}
}

static const int wanted[NR] = { PR_TSC_SIGSEGV, 0, PR_MCE_KILL_EARLY, SIGWINCH, 1, ADDR_NO_RANDOMIZE };

static void *thread_fn(void *arg)
{
	int which = (long)arg, r;
	switch (which) {
	case TSC:
		r = prctl(PR_SET_TSC, PR_TSC_SIGSEGV);
		break;
	case CPUID:
		r = syscall(SYS_arch_prctl, ARCH_SET_CPUID, 0);
		break;
	case MCE:
		r = prctl(PR_MCE_KILL, PR_MCE_KILL_SET, PR_MCE_KILL_EARLY, 0, 0);
		break;
	case PDEATH:
		r = prctl(PR_SET_PDEATHSIG, SIGWINCH);
		break;
	case NNP:
		r = prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0);
		break;
	default:
		r = personality(ADDR_NO_RANDOMIZE) < 0 ? -1 : 0;
		break;
	}
	state[which] = r == 0 ? 1 : errno == ENODEV || errno == EINVAL ? 3 : 10;
	while (!go)
		usleep(1000);
	if (state[which] == 1)
		state[which] = get_flag(which) == wanted[which] ? 2 : 10 + get_flag(which);
	for (;;)
		pause();
	return NULL;
}

int main(int argc, char **argv)
{
	static const char *names[NR] = { "rdtsc refused", "cpuid refused", "early MCE kill",
					 "parent-death signal", "no_new_privs",
					 "personality" };
	int defaults[NR];
	pthread_t th;

	test_init(argc, argv);
	for (int k = 0; k < NR; k++)
		defaults[k] = get_flag(k);
	for (long k = 0; k < NR; k++)
		if (pthread_create(&th, NULL, thread_fn, (void *)k))
			fail("pthread_create");
	for (int k = 0; k < NR; k++)
		while (!state[k])
			usleep(1000);
	for (int k = 0; k < NR; k++) {
		if (state[k] == 10)
			fail("%s: cannot set it", names[k]);
		if (state[k] == 3)
			test_msg("%s: not supported here", names[k]);
	}
	test_ready();
	test_wait_checkpoint();

	go = 1;
	for (int k = 0; k < NR; k++) {
		while (state[k] == 1)
			usleep(1000);
		if (state[k] >= 10)
			fail("%s lost: the thread's flag is %d", names[k], state[k] - 10);
		if (get_flag(k) != defaults[k])
			fail("main thread: %s is %d, was %d", names[k], get_flag(k), defaults[k]);
	}
	pass();
}
