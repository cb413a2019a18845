/* rlimits: resource limits set by the program survive the checkpoint. */
#include <sys/resource.h>

#include "test/lib/test.h"

static const struct { int res; rlim_t cur, max; } limits[] = {
	{ RLIMIT_NOFILE, 1000, 5000 },
	{ RLIMIT_CORE, 0, 4096 },
	{ RLIMIT_STACK, 4 << 20, RLIM_INFINITY },
	{ RLIMIT_NPROC, 5000, 6000 },
	{ RLIMIT_MSGQUEUE, 100000, 200000 },
};

int main(int argc, char **argv)
{
	test_init(argc, argv);
	for (unsigned i = 0; i < sizeof(limits) / sizeof(limits[0]); i++) {
		struct rlimit rl = { limits[i].cur, limits[i].max };
		if (setrlimit(limits[i].res, &rl))
			fail("setrlimit(%d): %m", limits[i].res);
	}
	test_ready();
	test_wait_checkpoint();
	for (unsigned i = 0; i < sizeof(limits) / sizeof(limits[0]); i++) {
		struct rlimit rl;
		getrlimit(limits[i].res, &rl);
		if (rl.rlim_cur != limits[i].cur || rl.rlim_max != limits[i].max)
			fail("limit %d is %lu/%lu, was %lu/%lu", limits[i].res,
			     (unsigned long)rl.rlim_cur, (unsigned long)rl.rlim_max,
			     (unsigned long)limits[i].cur, (unsigned long)limits[i].max);
	}
	pass();
}
