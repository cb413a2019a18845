/*
 * thp_advised: THP disabled but for advised memory (prctl
 * PR_SET_THP_DISABLE with PR_THP_DISABLE_EXCEPT_ADVISED, 6.18+) survives
 * the checkpoint: PR_GET_THP_DISABLE still says 3 (it came back 0).
 */
#include <errno.h>
#include <sys/prctl.h>

#include "test/lib/test.h"

#define PR_THP_DISABLE_EXCEPT_ADVISED_ (1 << 1)

int main(int argc, char **argv)
{
	test_init(argc, argv);
	if (prctl(PR_SET_THP_DISABLE, 1, PR_THP_DISABLE_EXCEPT_ADVISED_, 0, 0)) {
		if (errno == EINVAL)
			skip("no PR_THP_DISABLE_EXCEPT_ADVISED on this kernel");
		fail("PR_SET_THP_DISABLE: %m");
	}
	int before = prctl(PR_GET_THP_DISABLE, 0, 0, 0, 0);
	test_ready();
	test_wait_checkpoint();

	int after = prctl(PR_GET_THP_DISABLE, 0, 0, 0, 0);
	if (after != before)
		fail("PR_GET_THP_DISABLE is %d, was %d", after, before);
	pass();
}
