/*
 * snapshot_writer.h - the body of the live-snapshot test programs
 * (snapshot_1g, snapshot_threads, snapshot_kill), which define SNAP_MIB and
 * SNAP_THREADS and include it.
 *
 * SNAP_THREADS threads write without pause, each to its own share of a
 * SNAP_MIB area.  Thread t's step s (its running counter, kept in memory)
 * writes page (s * STRIDE) mod N of its share: the first word becomes s and
 * the last word mix(s, page).  The order is a fixed permutation, so at any
 * instant the whole share is a function of the counter alone: page i holds
 * the last step s <= counter that maps to it (0, from the initial fill, if
 * none).  Before each write a thread checks that the page holds exactly the
 * step it must hold (s - N, or 0) with a matching last word: a page newer
 * than the counter (copied after the freeze point) or torn is caught the
 * next time the thread comes to it.  SIGUSR2 pauses the writers for good
 * (a page left stale by an incremental dump is then never written over
 * before the final check); with SNAP_UNMAP_MIB defined, it unmaps instead
 * an area of that size which nothing writes (mapped above the written one,
 * so that a live snapshot copies it last); with SNAP_MADVISE, it sets
 * MADV_NOHUGEPAGE on the written area instead.  On SIGUSR1 the threads
 * stop and the main thread checks every page of every share against its
 * counter, then prints PASS or FAIL.
 *
 * After a restore from a live snapshot, this is the check that all pages
 * show one instant: the counters' (the registers and the memory of the
 * freeze), and no page newer.  The main thread prints "count N" (the sum of
 * the counters) every 100 ms, so that the runner sees it go on.
 */
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>

#include "test/lib/test.h"

#define WORDS	(4096 / 8)
#define STRIDE	0x9e3779b1ULL	/* odd: a permutation of any power of two */

struct share {
	uint64_t *base;
	uint64_t npages;		/* a power of two */
	volatile uint64_t seq;		/* steps done */
	volatile uint64_t bad;		/* first failed step, 0 if none */
	uint64_t bad_page, bad_word0, bad_expect;
} __attribute__((aligned(64)));

static struct share shares[SNAP_THREADS];
static volatile int stop, paused;

static uint64_t expected(uint64_t seq, uint64_t k, uint64_t n)
{
	/* the last step s <= seq with s == k (mod n) and s >= 1; 0 if none */
	uint64_t d = (seq - k) & (n - 1);
	return d >= seq ? 0 : seq - d;
}

static void *writer(void *arg)
{
	struct share *sh = arg;
	uint64_t n = sh->npages;

	while (!stop) {
		if (paused) {
			usleep(1000);
			continue;
		}
		for (int j = 0; j < 4096; j++) {
			uint64_t s = sh->seq + 1;
			uint64_t i = (s * STRIDE) & (n - 1);
			uint64_t *pg = sh->base + i * WORDS;
			uint64_t want = s > n ? s - n : 0;
			if ((pg[0] != want || pg[WORDS - 1] != test_mix(pg[0] ^ (i << 40))) && !sh->bad) {
				sh->bad_page = i;
				sh->bad_word0 = pg[0];
				sh->bad_expect = want;
				sh->bad = s;
			}
			pg[0] = s;
			pg[WORDS - 1] = test_mix(s ^ (i << 40));
			sh->seq = s;
		}
	}
	return NULL;
}

static uint64_t total(void)
{
	uint64_t t = 0;
	for (int k = 0; k < SNAP_THREADS; k++)
		t += shares[k].seq;
	return t;
}

int main(int argc, char **argv)
{
	uint64_t per = ((uint64_t)SNAP_MIB << 20) / 4096 / SNAP_THREADS;
	pthread_t th[SNAP_THREADS];
	sigset_t set;

	test_init(argc, argv);
	sigemptyset(&set);
	sigaddset(&set, SIGUSR1);
	sigaddset(&set, SIGUSR2);
	sigprocmask(SIG_BLOCK, &set, NULL);
#ifdef SNAP_UNMAP_MIB
	uint8_t *extra = mmap(NULL, (uint64_t)SNAP_UNMAP_MIB << 20, PROT_READ | PROT_WRITE,
			      MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (extra == MAP_FAILED)
		fail("cannot map %d MiB", SNAP_UNMAP_MIB);
	memset(extra, 0x5a, (uint64_t)SNAP_UNMAP_MIB << 20);
#endif
	uint8_t *area = mmap(NULL, (uint64_t)SNAP_MIB << 20, PROT_READ | PROT_WRITE,
			     MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (area == MAP_FAILED)
		fail("cannot map %d MiB", SNAP_MIB);
	/* the inverse of STRIDE mod 2^64 (Newton), for the final check */
	uint64_t inv = STRIDE;
	for (int k = 0; k < 6; k++)
		inv *= 2 - STRIDE * inv;
	for (int t = 0; t < SNAP_THREADS; t++) {
		struct share *sh = &shares[t];
		sh->base = (uint64_t *)(area + t * per * 4096);
		sh->npages = per;
		for (uint64_t i = 0; i < per; i++) {
			sh->base[i * WORDS] = 0;
			sh->base[i * WORDS + WORDS - 1] = test_mix(0 ^ (i << 40));
		}
	}
	for (int t = 0; t < SNAP_THREADS; t++)
		if (pthread_create(&th[t], NULL, writer, &shares[t]))
			fail("cannot start thread %d", t);
	test_ready();
	for (;;) {
		struct timespec tick = { 0, 100 * 1000 * 1000 };
		int sig = sigtimedwait(&set, NULL, &tick);
		if (sig == SIGUSR1)
			break;
		if (sig == SIGUSR2) {
#if defined(SNAP_UNMAP_MIB)
			if (munmap(extra, (uint64_t)SNAP_UNMAP_MIB << 20))
				fail("munmap failed");
			test_msg("unmapped");
#elif defined(SNAP_MADVISE)
			if (madvise(area, (uint64_t)SNAP_MIB << 20, MADV_NOHUGEPAGE))
				fail("madvise failed");
			test_msg("advised");
#else
			paused = 1;
			test_msg("paused");
#endif
		}
		test_msg("count %llu", (unsigned long long)total());
	}
	stop = 1;
	for (int t = 0; t < SNAP_THREADS; t++)
		pthread_join(th[t], NULL);
	for (int t = 0; t < SNAP_THREADS; t++) {
		struct share *sh = &shares[t];
		if (sh->bad)
			fail("thread %d, step %llu: page %llu held step %llu, expected %llu (or torn)",
			     t, (unsigned long long)sh->bad, (unsigned long long)sh->bad_page,
			     (unsigned long long)sh->bad_word0, (unsigned long long)sh->bad_expect);
		uint64_t n = sh->npages, seq = sh->seq;
		for (uint64_t i = 0; i < n; i++) {
			uint64_t k = (i * inv) & (n - 1);	/* the steps s == k mod n write page i */
			uint64_t want = expected(seq, k, n);
			uint64_t *pg = sh->base + i * WORDS;
			if (pg[0] != want || pg[WORDS - 1] != test_mix(want ^ (i << 40)))
				fail("thread %d at step %llu: page %llu holds step %llu, expected %llu",
				     t, (unsigned long long)seq, (unsigned long long)i,
				     (unsigned long long)pg[0], (unsigned long long)want);
		}
	}
	test_msg("final count %llu", (unsigned long long)total());
	pass();
}
