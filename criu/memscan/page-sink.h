/*
 * page-sink.h - the pages file written by a thread of its own while the
 * page writer (page-write.c) reads and hashes the next batch: a ring of
 * batch buffers handed over in order, written with pwrite in order, and
 * handed back once written.  Internal to criu/memscan/.
 */
#ifndef CRIU_MEMSCAN_PAGE_SINK_H
#define CRIU_MEMSCAN_PAGE_SINK_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "criu/memscan/memscan.h"

/* one batch: its data (buf, bytes at off in the file) and its runs */
struct sink_batch {
	uint8_t *buf;
	size_t bytes, n;
	uint64_t off;
	struct plan_run *runs;	/* room for PAGES_BATCH_PAGES */
};

struct page_sink;
/* told of each batch once it is in the file, in order, in the caller's thread */
typedef void (*sink_done_fn)(void *arg, const struct sink_batch *b);

/*
 * A sink writing into pfd (named name in errors; none if -1) with nbuf
 * buffers of buf_bytes each; threaded: by its own thread, which runs until
 * sink_free, else in sink_submit.  NULL (said why) if it cannot start.
 */
struct page_sink *sink_start(int pfd, const char *name, size_t nbuf, size_t buf_bytes,
			     bool threaded);
/* the next free batch to fill, once the oldest in flight is written; NULL: a write failed (said) */
struct sink_batch *sink_next(struct page_sink *s, sink_done_fn done, void *arg);
/* hands the batch sink_next gave over to the thread */
void sink_submit(struct page_sink *s);
/* waits until every batch is written, tells done of them; -1: a write failed (said) */
int sink_finish(struct page_sink *s, sink_done_fn done, void *arg);
/* the size of each buffer */
size_t sink_buf_bytes(const struct page_sink *s);
/* ms spent writing */
double sink_ms(const struct page_sink *s);
/* stops the thread (what is not written yet is dropped), joins it, frees; NULL is fine */
void sink_free(struct page_sink *s);

#endif /* CRIU_MEMSCAN_PAGE_SINK_H */
