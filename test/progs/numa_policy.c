/*
 * numa_policy: NUMA memory policies survive the checkpoint: the main
 * thread's (set_mempolicy MPOL_INTERLEAVE), a second thread's own
 * (MPOL_PREFERRED), and those of three mappings (mbind MPOL_BIND,
 * MPOL_PREFERRED with MPOL_F_STATIC_NODES, MPOL_LOCAL), with a fourth left
 * at the default.  Node 0 only: any machine with NUMA support has it.
 */
#include <errno.h>
#include <pthread.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "test/lib/test.h"

#define MPOL_DEFAULT	0
#define MPOL_PREFERRED	1
#define MPOL_BIND	2
#define MPOL_INTERLEAVE	3
#define MPOL_LOCAL	4
#define MPOL_F_STATIC_NODES	(1 << 15)
#define MPOL_F_ADDR	(1 << 1)

static const int vma_mode[4] = { MPOL_BIND, MPOL_PREFERRED | MPOL_F_STATIC_NODES, MPOL_LOCAL,
				 MPOL_DEFAULT };
static volatile int go, thread_result;

static int policy(void *addr, unsigned long *nodes)
{
	int mode = -1;
	*nodes = 0;
	if (syscall(SYS_get_mempolicy, &mode, nodes, 64, addr, addr ? MPOL_F_ADDR : 0))
		fail("get_mempolicy: %m");
	return mode;
}

static void *thread_fn(void *arg)
{
	unsigned long one = 1, nodes;
	(void)arg;
	if (syscall(SYS_set_mempolicy, MPOL_PREFERRED, &one, 64))
		thread_result = 3;
	else
		thread_result = 1;
	while (!go)
		usleep(1000);
	thread_result = policy(NULL, &nodes) == MPOL_PREFERRED && nodes == 1 ? 2 : 4;
	for (;;)
		pause();
	return NULL;
}

int main(int argc, char **argv)
{
	unsigned long one = 1, nodes;
	char *m[4];
	pthread_t th;

	test_init(argc, argv);
	if (syscall(SYS_set_mempolicy, MPOL_INTERLEAVE, &one, 64)) {
		if (errno == ENOSYS)
			skip("no NUMA support");
		fail("set_mempolicy: %m");
	}
	for (int i = 0; i < 4; i++) {
		m[i] = mmap(NULL, 4 * 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
		if (m[i] == MAP_FAILED)
			fail("mmap: %m");
		if (vma_mode[i] != MPOL_DEFAULT &&
		    syscall(SYS_mbind, m[i], 4 * 4096, vma_mode[i],
			    (vma_mode[i] & 0xff) == MPOL_LOCAL ? NULL : &one, 64, 0))
			fail("mbind %d: %m", i);
		memset(m[i], 'a' + i, 4 * 4096);
	}
	if (pthread_create(&th, NULL, thread_fn, NULL))
		fail("pthread_create");
	while (!thread_result)
		usleep(1000);
	if (thread_result != 1)
		fail("the thread's set_mempolicy failed");
	test_ready();
	test_wait_checkpoint();

	int mode = policy(NULL, &nodes);
	if (mode != MPOL_INTERLEAVE || nodes != 1)
		fail("main thread: policy %d nodes %#lx, was interleave:0", mode, nodes);
	for (int i = 0; i < 4; i++) {
		mode = policy(m[i], &nodes);
		unsigned long want = (vma_mode[i] & 0xff) == MPOL_BIND || (vma_mode[i] & 0xff) == MPOL_PREFERRED;
		if (mode != vma_mode[i] || nodes != want)
			fail("mapping %d: policy %#x nodes %#lx, was %#x", i, mode, nodes, vma_mode[i]);
		if (m[i][4095] != 'a' + i)
			fail("mapping %d: data lost", i);
	}
	go = 1;
	while (thread_result == 1)
		usleep(1000);
	if (thread_result != 2)
		fail("second thread: its policy is lost");
	pass();
}
