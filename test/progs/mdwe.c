/*
 * mdwe: memory-deny-write-execute (prctl PR_SET_MDWE, MDWE_REFUSE_EXEC_GAIN)
 * survives the checkpoint: PR_GET_MDWE says so, and making writable memory
 * executable is still refused (EACCES).
 */
#include <errno.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>

#include "test/lib/test.h"

#define PR_SET_MDWE_ 65
#define PR_GET_MDWE_ 66
#define MDWE_REFUSE_EXEC_GAIN 1

int main(int argc, char **argv)
{
	test_init(argc, argv);
	char *m = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (m == MAP_FAILED)
		fail("mmap: %m");
	if (prctl(PR_SET_MDWE_, MDWE_REFUSE_EXEC_GAIN, 0, 0, 0)) {
		if (errno == EINVAL)
			skip("no PR_SET_MDWE on this kernel");
		fail("PR_SET_MDWE: %m");
	}
	m[0] = 1;
	test_ready();
	test_wait_checkpoint();

	int v = prctl(PR_GET_MDWE_, 0, 0, 0, 0);
	if (v != MDWE_REFUSE_EXEC_GAIN)
		fail("PR_GET_MDWE is %d, was MDWE_REFUSE_EXEC_GAIN", v);
	if (mprotect(m, 4096, PROT_READ | PROT_WRITE | PROT_EXEC) == 0)
		fail("writable memory can be made executable after the checkpoint");
	if (errno != EACCES)
		fail("mprotect: %m, expected EACCES");
	pass();
}
