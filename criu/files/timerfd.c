/*
 * timerfd.c - timerfd: clock, interval, time left and expirations not yet
 * read (ticks), all from fdinfo.  Restore arms a new timer with the time
 * left (relative: the time the process spent dumped does not count), but a
 * timer set with TFD_TIMER_ABSTIME on a wall clock (CLOCK_REALTIME,
 * CLOCK_REALTIME_ALARM) at the same absolute time, with
 * TFD_TIMER_CANCEL_ON_SET if it had it; and puts the ticks back with
 * TFD_IOC_SET_TICKS.  At dump, timerfd_gettime on a copy first brings an
 * expired periodic timer's ticks and next expiry up to date.
 */
#define LOG_PREFIX "files: "
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/timerfd.h>
#include <time.h>
#include <unistd.h>

#include "criu/files/files.h"
#include "common/log.h"

#ifndef TFD_IOC_SET_TICKS
#define TFD_IOC_SET_TICKS _IOW('T', 0, uint64_t)
#endif

static bool timerfd_match(const struct fd_probe *p)
{
	return !strcmp(p->link, "anon_inode:[timerfd]");
}

static bool wall_clock(uint32_t clockid)
{
	return clockid == CLOCK_REALTIME || clockid == CLOCK_REALTIME_ALARM;
}

/* an armed absolute timer on a wall clock: the time it expires at (cur: the
 * time left, just taken) */
static int wall_deadline(TimerfdFile *t, const struct itimerspec *cur)
{
	struct timespec now;
	if (!(t->settime_flags & TFD_TIMER_ABSTIME) || !wall_clock(t->clockid) ||
	    (!cur->it_value.tv_sec && !cur->it_value.tv_nsec))
		return 0;
	if (clock_gettime(CLOCK_REALTIME, &now)) {
		pr_perror("clock_gettime");
		return -1;
	}
	uint64_t ns = (uint64_t)now.tv_nsec + cur->it_value.tv_nsec;
	t->has_abs_sec = t->has_abs_nsec = true;
	t->abs_sec = now.tv_sec + cur->it_value.tv_sec + ns / 1000000000;
	t->abs_nsec = ns % 1000000000;
	return 0;
}

static int timerfd_dump(struct fd_dump *d, const struct fd_probe *p, FileEntry *fe)
{
	TimerfdFile *t = calloc(1, sizeof(*t));
	struct itimerspec cur;
	char *info, *l;
	int seen = 0;

	/* an expired periodic timer counts its overruns and rearms only when
	 * read or queried: timerfd_gettime does that without consuming ticks,
	 * so fdinfo then shows every expiration and the time to the next */
	int copy = fd_dump_getfd(d, p->fd);
	if (copy < 0 || timerfd_gettime(copy, &cur)) {
		if (copy >= 0)
			pr_perror("pid %d: fd %d: timerfd_gettime", d->pid, p->fd);
		if (copy >= 0)
			close(copy);
		free(t);
		return -1;
	}
	close(copy);
	info = fd_read_fdinfo(d->pid, p->fd);	/* read again: gettime changed it */

	if (!t || !info) {
		free(t);
		free(info);
		return -1;
	}
	timerfd_file__init(t);
	fe->timerfd = t;
	if ((l = strstr(info, "clockid:")) && sscanf(l, "clockid: %u", &t->clockid) == 1)
		seen |= 1;
	if ((l = strstr(info, "ticks:")) && sscanf(l, "ticks: %lu", &t->ticks) == 1)
		seen |= 2;
	if ((l = strstr(info, "settime flags:")) && sscanf(l, "settime flags: %o", &t->settime_flags) == 1)
		seen |= 4;
	if ((l = strstr(info, "it_value:")) &&
	    sscanf(l, "it_value: (%lu, %lu)", &t->value_sec, &t->value_nsec) == 2)
		seen |= 8;
	if ((l = strstr(info, "it_interval:")) &&
	    sscanf(l, "it_interval: (%lu, %lu)", &t->interval_sec, &t->interval_nsec) == 2)
		seen |= 16;
	free(info);
	if (seen != 31) {
		pr_err("pid %d: fd %d: timerfd: fdinfo lacks clockid, ticks, settime flags or times", d->pid,
		       p->fd);
		return -1;
	}
	return wall_deadline(t, &cur);
}

static int timerfd_check(const FileEntry *fe, const struct opts *o, const char *name)
{
	(void)o;
	if (!fe->timerfd || fe->timerfd->value_nsec >= 1000000000 || fe->timerfd->interval_nsec >= 1000000000) {
		pr_err("%s: file %u: bad timerfd description", name, fe->id);
		return -1;
	}
	return 0;
}

static int timerfd_open(struct fd_rst *r, const FileEntry *fe)
{
	const TimerfdFile *t = fe->timerfd;
	(void)r;
	int fd = timerfd_create(t->clockid, TFD_CLOEXEC);
	if (fd < 0) {
		pr_perror("file %u: cannot create a timerfd on clock %u", fe->id, t->clockid);
		return -1;
	}
	struct itimerspec its = {
		.it_interval = { t->interval_sec, t->interval_nsec },
		.it_value = { t->value_sec, t->value_nsec },
	};
	int flags = 0;
	if (t->has_abs_sec) {
		/* its wall-clock deadline, whatever time passed meanwhile */
		its.it_value = (struct timespec){ t->abs_sec, t->abs_nsec };
		flags = TFD_TIMER_ABSTIME | (t->settime_flags & TFD_TIMER_CANCEL_ON_SET);
	}
	if ((t->value_sec || t->value_nsec) && timerfd_settime(fd, flags, &its, NULL)) {
		pr_perror("file %u: cannot arm the timerfd", fe->id);
		goto err;
	}
	if (t->ticks && ioctl(fd, TFD_IOC_SET_TICKS, &t->ticks)) {
		pr_perror("file %u: cannot put back %lu timerfd expirations (TFD_IOC_SET_TICKS)", fe->id,
			  (unsigned long)t->ticks);
		goto err;
	}
	if (fd_set_status_flags(fd, fe->flags, fe->id))
		goto err;
	return fd;
err:
	close(fd);
	return -1;
}

const struct fd_ops fd_timerfd_ops = {
	.kind = FD_KIND__FD_TIMERFD,
	.name = "timerfd",
	.match = timerfd_match,
	.dump = timerfd_dump,
	.check = timerfd_check,
	.open = timerfd_open,
};
