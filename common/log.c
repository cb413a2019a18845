/* log.c - leveled logging to stderr or a log file (see log.h). */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "common/log.h"

/* The only process-wide state of the tool: where log lines go. */
static int log_fd = STDERR_FILENO;
static int term_fd = -1;	/* errors are copied here when logging to a file */
static int log_level = LOG_WARN;
static struct timespec log_start;

int log_init(const char *path, int level)
{
	log_level = level;
	clock_gettime(CLOCK_MONOTONIC, &log_start);
	/* again (criu swrk, one log per request): the previous file is done */
	if (log_fd > STDERR_FILENO)
		close(log_fd);
	log_fd = STDERR_FILENO;
	term_fd = -1;
	if (!path || !strcmp(path, "-"))
		return 0;
	int fd = open(path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
	if (fd < 0) {
		fprintf(stderr, "error: cannot open log file %s: %s\n", path, strerror(errno));
		return -1;
	}
	log_fd = fd;
	term_fd = STDERR_FILENO;
	return 0;
}

void log_set_fds(int fd, int term)
{
	log_fd = fd;
	term_fd = term;
}

int log_get_term_fd(void)
{
	return term_fd;
}

void log_set_level(int level) { log_level = level; }
int log_get_level(void) { return log_level; }
int log_get_fd(void) { return log_fd; }

void log_msg(int level, const char *prefix, const char *fmt, ...)
{
	int with_errno = level < 0, saved = errno;
	char buf[1024];
	int n = 0;
	va_list ap;

	if (with_errno)
		level = -level;
	if (level > log_level)
		return;
	if (term_fd >= 0 || log_level >= LOG_DEBUG) {
		struct timespec now;
		clock_gettime(CLOCK_MONOTONIC, &now);
		double t = (now.tv_sec - log_start.tv_sec) + (now.tv_nsec - log_start.tv_nsec) / 1e9;
		n = snprintf(buf, sizeof(buf), "(%9.6f) ", t);
	}
	if (level == LOG_ERROR)
		n += snprintf(buf + n, sizeof(buf) - n, "error: ");
	else if (level == LOG_WARN)
		n += snprintf(buf + n, sizeof(buf) - n, "warning: ");
	n += snprintf(buf + n, sizeof(buf) - n, "%s", prefix);
	va_start(ap, fmt);
	n += vsnprintf(buf + n, n < (int)sizeof(buf) ? sizeof(buf) - n : 0, fmt, ap);
	va_end(ap);
	if (n > (int)sizeof(buf) - 2)
		n = sizeof(buf) - 2;
	if (with_errno)
		n += snprintf(buf + n, sizeof(buf) - n, ": %s", strerror(saved));
	if (n > (int)sizeof(buf) - 2)
		n = sizeof(buf) - 2;
	buf[n++] = '\n';
	if (write(log_fd, buf, n) < 0) {
		/* nowhere left to report it */
	}
	/* errors also reach the terminal when logging to a file, without the time */
	if (level == LOG_ERROR && term_fd >= 0) {
		char *msg = strstr(buf, "error: ");
		if (msg && write(term_fd, msg, buf + n - msg) < 0) {
		}
	}
	errno = saved;
}
