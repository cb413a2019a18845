/*
 * run-stats.c - stats-dump and stats-restore into the work directory (see
 * run-stats.h).  Times in microseconds, as the clients read them.
 */
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <unistd.h>

#include "common/log.h"
#include "criu/run-stats.h"
#include "images/stats-file.h"

static uint32_t usec(double ms)
{
	return ms <= 0 ? 0 : ms * 1000 > 4e9 ? 4000000000U : (uint32_t)(ms * 1000);
}

static void put(const struct opts *o, const char *name, const Stats *st)
{
	int fd, err;

	if (!o->work_dir)
		return;
	fd = open(o->work_dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	err = fd < 0 ? -1 : stats_file_write(fd, name, st);
	if (err)
		pr_warn("%s/%s: cannot write the figures: %s", o->work_dir, name,
			strerror(err == -1 ? errno : -err));
	if (fd >= 0)
		close(fd);
}

void run_stats_dump(const struct opts *o, const struct run_dump_figures *f)
{
	Stats st = STATS__INIT;
	DumpStats d = DUMP_STATS__INIT;

	d.freezing_time = usec(f->freezing_ms);
	d.frozen_time = usec(f->frozen_ms);
	d.memdump_time = usec(f->plan_ms);
	d.memwrite_time = usec(f->pages_ms);
	d.pages_scanned = f->pages_written + f->pages_skipped_parent;
	d.pages_skipped_parent = f->pages_skipped_parent;
	d.pages_written = f->pages_written;
	st.dump = &d;
	put(o, "stats-dump", &st);
}

void run_stats_restore(const struct opts *o, double forking_ms, double restore_ms, uint64_t pages)
{
	Stats st = STATS__INIT;
	RestoreStats r = RESTORE_STATS__INIT;

	r.forking_time = usec(forking_ms);
	r.restore_time = usec(restore_ms);
	r.has_pages_restored = true;
	r.pages_restored = pages;
	st.restore = &r;
	put(o, "stats-restore", &st);
}
