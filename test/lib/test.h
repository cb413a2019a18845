/*
 * test.h - the small library every test program links.
 *
 * A test program: test_init(); sets up its state; test_ready();
 * test_wait_checkpoint(); checks every piece of its state; pass() or fail().
 * The runner (test/run.sh) dumps the program after READY, restores it and
 * sends SIGUSR1.  Without any checkpoint, sending SIGUSR1 by hand must make
 * the program PASS.  Test programs must not handle SIGUSR1.
 */
#ifndef TEST_LIB_TEST_H
#define TEST_LIB_TEST_H

#include <stddef.h>
#include <stdint.h>

/* closes every fd above 2, blocks SIGUSR1 (the "checkpoint done" signal) */
void test_init(int argc, char **argv);
/* prints "READY\n" on stdout and flushes: the runner polls for it */
void test_ready(void);
/* waits for SIGUSR1 (sigwaitinfo, retried on EINTR) */
void test_wait_checkpoint(void);

/* prints "PASS" and exits 0 */
void pass(void) __attribute__((noreturn));
/* prints "FAIL: <message>" and exits 1 */
void fail(const char *fmt, ...) __attribute__((noreturn, format(printf, 1, 2)));
/* prints "SKIP: <message>" and exits 77: the test cannot run here */
void skip(const char *fmt, ...) __attribute__((noreturn, format(printf, 1, 2)));
/* prints a progress/debug line on stdout, flushed */
void test_msg(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/*
 * A private temporary directory for this test: created under $TEST_TMPDIR
 * if set, else under /tmp, named ckpt-test-NAME-XXXXXX; it and everything
 * in it are removed at exit.  The path is the same after a restore.
 */
const char *test_tmpdir(void);
/* test_tmpdir()/name into a static-lifetime string (never freed) */
char *test_path(const char *name);

/*
 * Looks up the mapping holding addr in /proc/self/maps.  Fills start/end,
 * perms ("rw-p", 5 bytes with the NUL) and path (may be empty); returns 0,
 * or -1 if no mapping holds addr.  Any pointer may be NULL.
 */
int test_find_mapping(const void *addr, uintptr_t *start, uintptr_t *end,
		      char perms[5], char *path, size_t pathlen);

/*
 * Port n (0-5) of this test's own block: TEST_PORT (set by test/run.sh,
 * below the ephemeral range) + n; run by hand without it, a block in
 * 20000-29999 from the pid.  Never a port the kernel may hand to anyone's
 * connect() between a dump and its restore.
 */
int test_port(int n);

/* a cheap 64-bit mixing function for patterns */
static inline uint64_t test_mix(uint64_t x)
{
	x ^= x >> 33;
	x *= 0xff51afd7ed558ccdULL;
	x ^= x >> 33;
	x *= 0xc4ceb9fe1a85ec53ULL;
	x ^= x >> 33;
	return x;
}

#define PAGE_SIZE_4K 4096UL

#endif /* TEST_LIB_TEST_H */
