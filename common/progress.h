/*
 * progress.h - a progress line for long operations, shown only when stderr
 * is a terminal: "dump: 1.2 GiB / 4.0 GiB (30%) 2.1 GiB/s".
 */
#ifndef COMMON_PROGRESS_H
#define COMMON_PROGRESS_H

#include <stdbool.h>
#include <stdint.h>

struct progress {
	const char *what;
	uint64_t total;
	double start, last;
	bool tty;
	bool shown;
};

void progress_start(struct progress *p, const char *what, uint64_t total);
void progress_update(struct progress *p, uint64_t done);
void progress_done(struct progress *p);

#endif /* COMMON_PROGRESS_H */
