/*
 * vdso: clock_gettime and gettimeofday (served by the vDSO) before and after
 * the checkpoint.  After restore they still work, time has moved forward,
 * they agree with the real system calls, and AT_SYSINFO_EHDR still points
 * at the [vdso] mapping.  If the vDSO was clearly faster than the system
 * call before the checkpoint, it must still be after (not silently falling
 * back to a syscall or a stale clock page).
 */
#include <errno.h>
#include <string.h>
#include <sys/auxv.h>
#include <sys/syscall.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

#include "test/lib/test.h"

static int64_t ns(const struct timespec *t) { return (int64_t)t->tv_sec * 1000000000 + t->tv_nsec; }

static int64_t now_vdso(clockid_t c)
{
	struct timespec t;
	if (clock_gettime(c, &t))
		fail("clock_gettime(%d): %s", (int)c, strerror(errno));
	return ns(&t);
}

static int64_t now_sys(clockid_t c)
{
	struct timespec t;
	if (syscall(SYS_clock_gettime, c, &t))
		fail("clock_gettime syscall(%d): %s", (int)c, strerror(errno));
	return ns(&t);
}

/* ns per call of the vDSO clock_gettime and of the system call */
static void bench(double *vdso, double *sys)
{
	const int N = 200000;
	struct timespec t;
	int64_t a = now_sys(CLOCK_MONOTONIC);
	for (int i = 0; i < N; i++)
		clock_gettime(CLOCK_MONOTONIC, &t);
	int64_t b = now_sys(CLOCK_MONOTONIC);
	for (int i = 0; i < N; i++)
		syscall(SYS_clock_gettime, CLOCK_MONOTONIC, &t);
	int64_t c = now_sys(CLOCK_MONOTONIC);
	*vdso = (double)(b - a) / N;
	*sys = (double)(c - b) / N;
}

static void check_vdso_mapping(const char *when)
{
	unsigned long ehdr = getauxval(AT_SYSINFO_EHDR);
	char path[256], perms[5];
	uintptr_t s, e;
	if (!ehdr)
		fail("%s: no AT_SYSINFO_EHDR in the auxiliary vector", when);
	if (test_find_mapping((void *)ehdr, &s, &e, perms, path, sizeof(path)))
		fail("%s: AT_SYSINFO_EHDR %#lx is not mapped", when, ehdr);
	if (strcmp(path, "[vdso]"))
		fail("%s: AT_SYSINFO_EHDR %#lx is in mapping '%s', not [vdso]", when, ehdr, path);
	if (s != ehdr)
		fail("%s: [vdso] starts at %#lx, AT_SYSINFO_EHDR is %#lx", when, (unsigned long)s, ehdr);
	if (memcmp((void *)ehdr, "\177ELF", 4))
		fail("%s: no ELF header at AT_SYSINFO_EHDR %#lx", when, ehdr);
}

int main(int argc, char **argv)
{
	test_init(argc, argv);
	check_vdso_mapping("before");

	int64_t mono0 = now_vdso(CLOCK_MONOTONIC), real0 = now_vdso(CLOCK_REALTIME);
	struct timeval tv0;
	gettimeofday(&tv0, NULL);
	double v0, s0;
	bench(&v0, &s0);
	int fast_before = v0 * 2 < s0;
	test_msg("before: vdso %.1f ns/call, syscall %.1f ns/call%s", v0, s0,
		 fast_before ? "" : " (vDSO not faster: speed not checked)");

	test_ready();
	test_wait_checkpoint();

	check_vdso_mapping("after restore");
	int64_t mono1 = now_vdso(CLOCK_MONOTONIC), real1 = now_vdso(CLOCK_REALTIME);
	struct timeval tv1;
	if (gettimeofday(&tv1, NULL))
		fail("gettimeofday: %s", strerror(errno));
	if (mono1 < mono0)
		fail("CLOCK_MONOTONIC went back: %lld ns before, %lld after", (long long)mono0, (long long)mono1);
	if (real1 < real0 - 1000000000LL)
		fail("CLOCK_REALTIME went back more than 1 s");
	if (tv1.tv_sec < tv0.tv_sec - 1)
		fail("gettimeofday went back: %ld before, %ld after", (long)tv0.tv_sec, (long)tv1.tv_sec);
	/* the vDSO and the kernel agree (a stale or foreign clock page would not) */
	const clockid_t clocks[] = { CLOCK_MONOTONIC, CLOCK_REALTIME, CLOCK_BOOTTIME };
	for (unsigned i = 0; i < 3; i++) {
		int64_t a = now_sys(clocks[i]), b = now_vdso(clocks[i]), c = now_sys(clocks[i]);
		if (b < a || b > c + 1000000)
			fail("clock %d: vDSO says %lld ns, system calls around it %lld..%lld", (int)clocks[i],
			     (long long)b, (long long)a, (long long)c);
	}
	struct timeval tvk;
	syscall(SYS_gettimeofday, &tvk, NULL);
	gettimeofday(&tv1, NULL);
	if (tv1.tv_sec - tvk.tv_sec > 1 || tv1.tv_sec < tvk.tv_sec)
		fail("gettimeofday says %ld s, the system call %ld s", (long)tv1.tv_sec, (long)tvk.tv_sec);
	/* time advances */
	int64_t a = now_vdso(CLOCK_MONOTONIC);
	struct timespec d = { 0, 20 * 1000000 };
	nanosleep(&d, NULL);
	int64_t b = now_vdso(CLOCK_MONOTONIC);
	if (b - a < 20 * 1000000 || b - a > 5000000000LL)
		fail("a 20 ms sleep took %lld ns by CLOCK_MONOTONIC", (long long)(b - a));
	double v1, s1;
	bench(&v1, &s1);
	test_msg("after: vdso %.1f ns/call, syscall %.1f ns/call", v1, s1);
	if (fast_before && !(v1 * 2 < s1))
		fail("clock_gettime takes %.1f ns (system call %.1f ns), it took %.1f ns before: "
		     "not served by the vDSO any more?", v1, s1, v0);
	pass();
}
