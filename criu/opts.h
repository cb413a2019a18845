/*
 * opts.h - the options of one criu invocation, parsed in main.c and passed
 * explicitly to the action that runs (no global option struct).
 */
#ifndef CRIU_OPTS_H
#define CRIU_OPTS_H

#include <stdbool.h>

#include "ps-sec.h"

struct opts {
	const char *action;
	int pid;			/* -t */
	const char *images_dir;		/* -D */
	const char *log_file;		/* -o */
	int verbosity;			/* -v[N] */
	bool leave_running;		/* --leave-running */
	bool shell_job;			/* -j, --shell-job */
	bool ext_unix_sk;		/* --ext-unix-sk */
	const char **inherit_fd;	/* --inherit-fd fd[N]:KEY (restore), each */
	int nr_inherit_fd;
	bool detach;			/* -d, --restore-detached */
	const char *pidfile;		/* --pidfile */
	const char *feature;		/* check --feature */
	bool lazy_pages;		/* restore --lazy-pages; dump --lazy-pages (post-copy) */
	bool page_server;		/* lazy-pages --page-server */
	const char *address;		/* --address (page server) */
	int port;			/* --port (page server) */
	unsigned long lazy_granule;	/* --lazy-granule: fault-around bytes */
	struct ps_sec ps_sec;		/* --tls, --tls-*, --ps-token-file (page server) */
	const char *prev_images_dir;	/* --prev-images-dir, relative to -D */
	bool track_mem;			/* --track-mem */
	bool live_snapshot;		/* --live-snapshot */
	bool iterative;			/* dump --iterative */
	int downtime_limit_ms;		/* --downtime-limit MS (0: the default) */
	int max_rounds;			/* --max-rounds N (0: the default) */
	int nr_args;			/* positional arguments (show FILE|DIR) */
	char **args;
};

int cr_dump(const struct opts *o);
int cr_pre_dump(const struct opts *o);
int cr_restore(const struct opts *o);
int cr_check(const struct opts *o);
int cr_show(const struct opts *o);

#endif /* CRIU_OPTS_H */
