/*
 * mm_flags: state of the whole address space that only the process shows
 * survives the checkpoint: the protection keys it allocated (1 and 3, with
 * 2 freed again: the next pkey_alloc gives 2, then 4), a page tagged with
 * key 3 whose writes PKRU forbids (a write faults with SEGV_PKUERR, PKRU
 * is the same), mlockall(MCL_FUTURE | MCL_ONFAULT) (a new mapping is
 * locked, not populated), a private expedited membarrier registration,
 * and KSM for the whole process (PR_SET_MEMORY_MERGE: a new mapping is
 * mergeable).  Without protection keys on this CPU, or KSM in this kernel,
 * the others are checked.
 */
#include <errno.h>
#include <linux/membarrier.h>
#include <setjmp.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "test/lib/test.h"

static sigjmp_buf jb;
static volatile int fault_code;
static volatile unsigned pkru;	/* before the checkpoint */

static void on_segv(int sig, siginfo_t *si, void *uc)
{
	(void)sig;
	(void)uc;
	fault_code = si->si_code;
	siglongjmp(jb, 1);
}

static unsigned rdpkru(void)
{
	unsigned eax, edx;
	__asm__ volatile(".byte 0x0f,0x01,0xee" : "=a"(eax), "=d"(edx) : "c"(0));
	return eax;
}

/* the kernel runs a signal handler with its default PKRU: siglongjmp keeps it */
static void wrpkru(unsigned v)
{
	__asm__ volatile(".byte 0x0f,0x01,0xef" : : "a"(v), "c"(0), "d"(0));
}

/* the VmFlags and ProtectionKey smaps shows for the mapping at addr */
static void smaps_of(void *addr, char *flags, size_t len, int *pkey)
{
	char line[512], want[32];
	int in = 0;
	FILE *f = fopen("/proc/self/smaps", "r");

	snprintf(want, sizeof(want), "%lx-", (unsigned long)addr);
	flags[0] = 0;
	*pkey = 0;
	while (f && fgets(line, sizeof(line), f)) {
		if (strchr(line, '-') && strchr(line, ' ') && strchr(line, '-') < strchr(line, ' '))
			in = !strncmp(line, want, strlen(want));
		else if (in && !strncmp(line, "VmFlags:", 8))
			snprintf(flags, len, "%s", line + 8);
		else if (in && !strncmp(line, "ProtectionKey:", 14))
			*pkey = atoi(line + 14);
	}
	if (f)
		fclose(f);
}

int main(int argc, char **argv)
{
	test_init(argc, argv);
	int k1 = pkey_alloc(0, 0), k2 = -1, k3 = -1;
	int pkeys = k1 >= 0;
	char *pg = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (pg == MAP_FAILED)
		fail("mmap: %m");
	pg[0] = 7;
	if (pkeys) {
		k2 = pkey_alloc(0, 0);
		k3 = pkey_alloc(0, 0);
		if (k1 != 1 || k2 != 2 || k3 != 3)
			skip("protection keys 1, 2, 3 not free here (%d %d %d)", k1, k2, k3);
		pkey_free(k2);
		if (pkey_mprotect(pg, 4096, PROT_READ | PROT_WRITE, k3) || pkey_set(k3, PKEY_DISABLE_WRITE))
			fail("pkey_mprotect/pkey_set: %m");
	}
	if (mlockall(MCL_FUTURE | MCL_ONFAULT))
		fail("mlockall: %m");
	if (syscall(SYS_membarrier, MEMBARRIER_CMD_REGISTER_PRIVATE_EXPEDITED, 0, 0))
		fail("membarrier register: %m");
	int merge = prctl(67 /* PR_SET_MEMORY_MERGE */, 1, 0, 0, 0) == 0;
	pkru = pkeys ? rdpkru() : 0;
	test_ready();
	test_wait_checkpoint();

	char fl[256];
	int key;
	if (pkeys) {
		if (rdpkru() != pkru)
			fail("PKRU is %#x, was %#x", rdpkru(), pkru);
		smaps_of(pg, fl, sizeof(fl), &key);
		if (key != k3)
			fail("the page's protection key is %d, was %d", key, k3);
		struct sigaction sa = { .sa_sigaction = on_segv, .sa_flags = SA_SIGINFO };
		sigaction(SIGSEGV, &sa, NULL);
		if (sigsetjmp(jb, 1) == 0) {
			pg[0] = 8;
			fail("a write to the page of write-disabled key %d did not fault", k3);
		}
		wrpkru(pkru);
		if (fault_code != SEGV_PKUERR)
			fail("the write faulted with si_code %d, not SEGV_PKUERR", fault_code);
		if (pg[0] != 7)
			fail("the page holds %d, not 7", pg[0]);
		int n1 = pkey_alloc(0, 0), n2 = pkey_alloc(0, 0);
		if (n1 != 2 || n2 != 4)
			fail("pkey_alloc gives %d then %d: keys 1 and 3 were allocated, 2 free (want 2, 4)", n1, n2);
	}
	char *nm = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	unsigned char res = 1;
	if (nm == MAP_FAILED)
		fail("mmap after: %m");
	smaps_of(nm, fl, sizeof(fl), &key);
	if (!strstr(fl, " lo") && !strstr(fl, " lf"))
		fail("a new mapping is not locked (mlockall MCL_FUTURE lost): VmFlags%s", fl);
	if (mincore(nm, 4096, &res) || (res & 1))
		fail("a new mapping was populated: MCL_ONFAULT lost");
	if (syscall(SYS_membarrier, MEMBARRIER_CMD_PRIVATE_EXPEDITED, 0, 0))
		fail("membarrier private expedited: %m (the registration was lost)");
	if (merge && prctl(68 /* PR_GET_MEMORY_MERGE */, 0, 0, 0, 0) != 1)
		fail("KSM no longer merges every mapping (PR_SET_MEMORY_MERGE lost)");
	if (merge && !strstr(fl, " mg"))
		fail("a new mapping is not mergeable (PR_SET_MEMORY_MERGE lost): VmFlags%s", fl);
	pass();
}
