/*
 * page-sink.c - the pages file, written by a thread of its own: while it
 * pwrites batch k, the page writer reads and hashes batch k+1 into the next
 * of a ring of buffers (page-write.c).  Batches are written in the order
 * they are handed over, at the offsets given; the caller is told of each
 * one once it is in the file, in order and in its own thread.  A failed
 * write stops the thread; the caller hears of it at its next call.
 * Without a thread (sink_start with threaded false, or no file) a batch is
 * written when it is handed over.  Owns: the thread, the buffers.
 */
#define LOG_PREFIX "pages: "
#include <errno.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#include "common/clock.h"
#include "common/fdio.h"
#include "common/log.h"
#include "criu/memscan/page-sink.h"

struct page_sink {
	int pfd;
	const char *name;
	size_t nbuf, buf_bytes;
	uint8_t *mem;			/* the buffers, one mapping */
	struct sink_batch *b;		/* batch k is b[k % nbuf] */
	pthread_t thread;
	bool threaded;
	pthread_mutex_t lock;
	pthread_cond_t cond;		/* queued, written, err or stop changed */
	uint64_t queued, written;	/* batches handed over, in the file */
	uint64_t told;			/* of those written, told to the caller */
	bool stop;
	int err;			/* errno of a failed write */
	double ms;
};

static int put(struct page_sink *s, const struct sink_batch *b)
{
	double t0 = clock_now_ms();
	int err = 0;

	if (s->pfd >= 0 && b->bytes && pwrite_all(s->pfd, b->buf, b->bytes, b->off))
		err = errno;
	s->ms += clock_now_ms() - t0;
	return err;
}

static void *sink_thread(void *arg)
{
	struct page_sink *s = arg;

	pthread_mutex_lock(&s->lock);
	for (;;) {
		while (s->written == s->queued && !s->stop)
			pthread_cond_wait(&s->cond, &s->lock);
		if (s->stop)
			break;
		const struct sink_batch *b = &s->b[s->written % s->nbuf];
		pthread_mutex_unlock(&s->lock);
		int err = put(s, b);
		pthread_mutex_lock(&s->lock);
		if (err)
			s->err = err;
		else
			s->written++;
		pthread_cond_broadcast(&s->cond);
		if (err)
			break;
	}
	pthread_mutex_unlock(&s->lock);
	return NULL;
}

/* populated: faulting them in page by page inside process_vm_readv costs more */
static void *buffers(size_t bytes)
{
	void *m = mmap(NULL, bytes, PROT_READ | PROT_WRITE,
		       MAP_PRIVATE | MAP_ANONYMOUS | MAP_POPULATE, -1, 0);
	return m == MAP_FAILED ? NULL : m;
}

struct page_sink *sink_start(int pfd, const char *name, size_t nbuf, size_t buf_bytes,
			     bool threaded)
{
	struct page_sink *s = calloc(1, sizeof(*s));

	if (!s)
		goto nomem;
	*s = (struct page_sink){ .pfd = pfd, .name = name, .nbuf = nbuf, .buf_bytes = buf_bytes };
	s->b = calloc(nbuf, sizeof(*s->b));
	if (!s->b || (buf_bytes && !(s->mem = buffers(nbuf * buf_bytes))))
		goto nomem;
	for (size_t i = 0; i < nbuf; i++) {
		s->b[i].buf = s->mem ? s->mem + i * buf_bytes : NULL;
		s->b[i].runs = calloc(PAGES_BATCH_PAGES, sizeof(struct plan_run));
		if (!s->b[i].runs)
			goto nomem;
	}
	pthread_mutex_init(&s->lock, NULL);
	pthread_cond_init(&s->cond, NULL);
	if (!threaded || pfd < 0)
		return s;
	int err = pthread_create(&s->thread, NULL, sink_thread, s);
	if (err) {
		errno = err;
		pr_perror("%s: cannot start its writer thread", name);
		sink_free(s);
		return NULL;
	}
	s->threaded = true;
	return s;
nomem:
	pr_err("%s: no memory for %zu buffers of %zu bytes", name, nbuf, buf_bytes);
	sink_free(s);
	return NULL;
}

/* tells done of the batches written up to upto */
static void tell(struct page_sink *s, uint64_t upto, sink_done_fn done, void *arg)
{
	for (; s->told < upto; s->told++)
		if (done)
			done(arg, &s->b[s->told % s->nbuf]);
}

static int failed(struct page_sink *s, int err)
{
	errno = err;
	pr_perror("%s: write failed", s->name);
	return -1;
}

struct sink_batch *sink_next(struct page_sink *s, sink_done_fn done, void *arg)
{
	pthread_mutex_lock(&s->lock);
	while (s->queued - s->written >= s->nbuf && !s->err)
		pthread_cond_wait(&s->cond, &s->lock);
	uint64_t written = s->written;
	int err = s->err;
	pthread_mutex_unlock(&s->lock);
	if (err) {
		failed(s, err);
		return NULL;
	}
	tell(s, written, done, arg);
	return &s->b[s->queued % s->nbuf];
}

void sink_submit(struct page_sink *s)
{
	pthread_mutex_lock(&s->lock);
	if (!s->threaded && !s->err) {
		int err = put(s, &s->b[s->queued % s->nbuf]);
		if (err)
			s->err = err;
		else
			s->written++;
	}
	s->queued++;
	pthread_cond_broadcast(&s->cond);
	pthread_mutex_unlock(&s->lock);
}

int sink_finish(struct page_sink *s, sink_done_fn done, void *arg)
{
	pthread_mutex_lock(&s->lock);
	while (s->written < s->queued && !s->err)
		pthread_cond_wait(&s->cond, &s->lock);
	int err = s->err;
	pthread_mutex_unlock(&s->lock);
	if (err)
		return failed(s, err);
	tell(s, s->written, done, arg);
	return 0;
}

size_t sink_buf_bytes(const struct page_sink *s)
{
	return s->buf_bytes;
}

double sink_ms(const struct page_sink *s)
{
	return s->ms;
}

void sink_free(struct page_sink *s)
{
	if (!s)
		return;
	if (s->threaded) {
		pthread_mutex_lock(&s->lock);
		s->stop = true;
		pthread_cond_broadcast(&s->cond);
		pthread_mutex_unlock(&s->lock);
		pthread_join(s->thread, NULL);
	}
	if (s->b)
		for (size_t i = 0; i < s->nbuf; i++)
			free(s->b[i].runs);
	if (s->mem)
		munmap(s->mem, s->nbuf * s->buf_bytes);
	free(s->b);
	free(s);
}
