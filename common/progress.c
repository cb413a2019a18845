/* progress.c - terminal progress line (see progress.h). */
#include <stdio.h>
#include <time.h>
#include <unistd.h>

#include "common/clock.h"
#include "common/progress.h"

void progress_start(struct progress *p, const char *what, uint64_t total)
{
	p->what = what;
	p->total = total;
	p->start = p->last = clock_now_s();
	/* worth showing only for large amounts */
	p->tty = isatty(STDERR_FILENO) && total >= (256ULL << 20);
	p->shown = false;
}

void progress_update(struct progress *p, uint64_t done)
{
	if (!p->tty)
		return;
	double t = clock_now_s();
	if (t - p->last < 0.2 && done < p->total)
		return;
	p->last = t;
	double gib = 1024.0 * 1024 * 1024, el = t - p->start;
	fprintf(stderr, "\r%s: %.2f GiB / %.2f GiB (%3.0f%%) %.2f GiB/s   ", p->what,
		done / gib, p->total / gib, p->total ? 100.0 * done / p->total : 100.0,
		el > 0 ? done / gib / el : 0.0);
	p->shown = true;
}

void progress_done(struct progress *p)
{
	if (p->shown)
		fputc('\n', stderr);
}
