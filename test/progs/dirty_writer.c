/*
 * dirty_writer: memory rewritten all the time, at random pages, while it is
 * checkpointed: the case of `criu dump --iterative` (pre-dump rounds while
 * it runs, then the final dump).
 *
 * A thread rewrites random pages of a 64 MiB area, a few thousand a second
 * (with DIRTY_WRITER_BUSY=1 in its environment: as fast as it can).
 * Page i holds its generation g (how often it was written) in its first
 * word and a pattern of (i, g) in the rest; gen[i] (another area, written
 * after the page) says what g must be.  A page that a dump round missed
 * comes back older than gen[i] says (or gen[i] older than the page).  The
 * one page being written at the freeze may be one generation ahead of
 * gen[i]: "cur" names it.
 *
 * SIGUSR1: stops the thread, checks every page and gen[], PASS.
 * Without a checkpoint (SIGUSR1 by hand) it passes too.
 */
#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>

#include "test/lib/test.h"

#define PAGES	16384UL		/* 64 MiB */
#define WORDS	(PAGE_SIZE_4K / 8)
#define BURST	64		/* pages written between two sleeps of 20 ms */

static uint64_t *mem;		/* PAGES pages */
static uint64_t *gen;		/* PAGES generations */
static volatile uint64_t cur = ~0ULL;	/* the page being written */
static atomic_int stop;
static uint64_t total;

static uint64_t word(uint64_t page, uint64_t g, uint64_t w)
{
	return test_mix((page << 32) ^ (g << 12) ^ w);
}

static void write_page(uint64_t i)
{
	uint64_t *p = mem + i * WORDS, g = gen[i] + 1;

	/* the order of these stores is what check_page relies on */
	cur = i;
	__asm__ volatile("" ::: "memory");
	p[0] = g;
	for (uint64_t w = 1; w < WORDS; w++)
		p[w] = word(i, g, w);
	__asm__ volatile("" ::: "memory");
	gen[i] = g;
	__asm__ volatile("" ::: "memory");
	cur = ~0ULL;
}

static void *writer(void *arg)
{
	uint64_t x = 88172645463325252ULL;
	struct timespec pause = { 0, 20 * 1000 * 1000 };
	const char *busy = getenv("DIRTY_WRITER_BUSY");

	(void)arg;
	if (busy && !strcmp(busy, "1"))
		pause.tv_nsec = 0;
	while (!atomic_load(&stop)) {
		for (int k = 0; k < BURST; k++) {
			x ^= x << 13, x ^= x >> 7, x ^= x << 17;
			write_page(x % PAGES);
			total++;
		}
		if (pause.tv_nsec)
			nanosleep(&pause, NULL);
	}
	return NULL;
}

static void check_page(uint64_t i)
{
	const uint64_t *p = mem + i * WORDS;
	uint64_t g = p[0];

	if (g != gen[i] && !(i == cur && g == gen[i] + 1))
		fail("page %lu holds generation %lu, gen[] says %lu (a write lost or a stale page)",
		     (unsigned long)i, (unsigned long)g, (unsigned long)gen[i]);
	if (g == 0) {
		for (uint64_t w = 1; w < WORDS; w++)
			if (p[w] != word(i, 0, w))
				fail("page %lu (never rewritten): word %lu differs", (unsigned long)i,
				     (unsigned long)w);
		return;
	}
	for (uint64_t w = 1; w < WORDS; w++)
		if (p[w] != word(i, g, w) && !(i == cur))
			fail("page %lu generation %lu: word %lu differs", (unsigned long)i,
			     (unsigned long)g, (unsigned long)w);
}

int main(int argc, char **argv)
{
	pthread_t t;

	test_init(argc, argv);
	mem = mmap(NULL, PAGES * PAGE_SIZE_4K, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	gen = calloc(PAGES, sizeof(*gen));
	if (mem == MAP_FAILED || !gen)
		fail("cannot allocate");
	for (uint64_t i = 0; i < PAGES; i++)
		for (uint64_t w = 1; w < WORDS; w++)
			mem[i * WORDS + w] = word(i, 0, w);
	if (pthread_create(&t, NULL, writer, NULL))
		fail("pthread_create");
	test_ready();
	test_wait_checkpoint();
	atomic_store(&stop, 1);
	pthread_join(t, NULL);
	for (uint64_t i = 0; i < PAGES; i++)
		check_page(i);
	test_msg("%lu page writes checked", (unsigned long)total);
	pass();
}
