/*
 * log.h - the project's logging: levels chosen with -v[N], output to stderr
 * or to the file given with -o.  Each source file may define LOG_PREFIX
 * before including this header to tag its lines.
 *
 * Errors are logged once, where the problem is detected and its object is
 * known (the file, the pid, the fd); callers only propagate the return code.
 */
#ifndef COMMON_LOG_H
#define COMMON_LOG_H

#include <stdarg.h>

enum log_level {
	LOG_ERROR = 1,
	LOG_WARN = 2,
	LOG_INFO = 3,
	LOG_DEBUG = 4,
};

#ifndef LOG_PREFIX
#define LOG_PREFIX ""
#endif

int log_init(const char *path, int level);
void log_set_level(int level);
int log_get_level(void);
int log_get_fd(void);
/* log to fd from now on, errors also to term if >= 0 (a forked restore
 * child, whose own fds 0-2 are the restored program's) */
void log_set_fds(int fd, int term);
/* where errors are copied when logging to a file; -1 if nowhere */
int log_get_term_fd(void);
void log_msg(int level, const char *prefix, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

#define pr_err(fmt, ...)   log_msg(LOG_ERROR, LOG_PREFIX, fmt, ##__VA_ARGS__)
#define pr_warn(fmt, ...)  log_msg(LOG_WARN, LOG_PREFIX, fmt, ##__VA_ARGS__)
#define pr_info(fmt, ...)  log_msg(LOG_INFO, LOG_PREFIX, fmt, ##__VA_ARGS__)
#define pr_debug(fmt, ...) log_msg(LOG_DEBUG, LOG_PREFIX, fmt, ##__VA_ARGS__)
/* pr_perror: like pr_err, with ": strerror(errno)" appended */
#define pr_perror(fmt, ...) log_msg(-LOG_ERROR, LOG_PREFIX, fmt, ##__VA_ARGS__)

#endif /* COMMON_LOG_H */
