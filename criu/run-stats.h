/*
 * run-stats.h - the figures of a dump or restore written for clients into
 * the work directory (-W; criu swrk: the work_dir_fd, else the images
 * directory), as stats-dump / stats-restore (images/stats-file.h): what
 * podman's checkpoint --export archives and --print-stats shows.  Without
 * a work directory on the command line nothing is written.  A failure to
 * write is a warning: the dump or restore itself succeeded.
 */
#ifndef CRIU_RUN_STATS_H
#define CRIU_RUN_STATS_H

#include <stdint.h>

#include "criu/opts.h"

struct run_dump_figures {
	double freezing_ms, frozen_ms, plan_ms, pages_ms;
	uint64_t pages_written, pages_skipped_parent;
};

void run_stats_dump(const struct opts *o, const struct run_dump_figures *f);
void run_stats_restore(const struct opts *o, double forking_ms, double restore_ms, uint64_t pages);

#endif /* CRIU_RUN_STATS_H */
