/*
 * opts.h - the options of one criu invocation, parsed in main.c and passed
 * explicitly to the action that runs (no global option struct).
 */
#ifndef CRIU_OPTS_H
#define CRIU_OPTS_H

#include <stdbool.h>
#include <sys/types.h>

/* a listener of the steps of dump and restore (criu swrk: the RPC client) */
struct notifier {
	/* 0 to go on; fd >= 0 is passed along (orphan-pts-master) */
	int (*fn)(void *ctx, const char *step, pid_t pid, int fd);
	void *ctx;
};

#include "pagexfer/ps-sec.h"
#include "criu/net/net-opts.h"
#include "criu/ns/mnt-opts.h"

struct opts {
	const char *action;
	int pid;			/* -t */
	const char *images_dir;		/* -D */
	const char *log_file;		/* -o */
	int verbosity;			/* -v[N] */
	bool leave_running;		/* --leave-running */
	bool shell_job;			/* -j, --shell-job */
	bool ext_unix_sk;		/* --ext-unix-sk */
	bool orphan_pts_master;		/* --orphan-pts-master (dump): a terminal whose master is outside */
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
	const char *freeze_cgroup;	/* --freeze-cgroup PATH (dump, pre-dump) */
	const char *manage_cgroups;	/* --manage-cgroups MODE (restore): CRIU's modes, soft (default) */
	const char **cgroup_root;	/* --cgroup-root [CTRL:]PATH (restore), each */
	int nr_cgroup_root;
	bool iterative;			/* dump --iterative */
	int downtime_limit_ms;		/* --downtime-limit MS (0: the default) */
	int max_rounds;			/* --max-rounds N (0: the default) */
	bool tcp_established;		/* --tcp-established: dump connections in repair mode */
	bool tcp_close;			/* --tcp-close: dump them as closed sockets */
	const char *network_lock;	/* --network-lock nftables|iptables|skip (NULL: nftables) */
	bool file_validation_size;	/* --file-validation filesize (else buildid, CRIU's default) */
	struct net_opts net;		/* --external veth[..], net[..] */
	const char *work_dir;		/* -W, --work-dir: relative log file and pidfile */
	const char *action_script;	/* --action-script: run at each step */
	int status_fd;			/* --status-fd: '\0' written once serving (-1: none) */
	int lazy_listen_fd;		/* --lazy-listen-fd (internal: restore to its daemon) */
	struct mnt_opts mnt;		/* --root, --external mnt[..], --ext-mount-map, --empty-ns */
	const char **join_ns;		/* --join-ns NS:FILE (restore), each (criu/ns/join-ns.h) */
	int nr_join_ns;
	/* not an option: while restore makes the tree, its root as criu sees it
	 * (criu/ns/mnt.h: paths of images resolve there); 0: criu's own */
	int rst_root_fd;
	bool rst_sibling;		/* swrk: the restored root is the client's child */
	const struct notifier *notify;	/* swrk: each step told to the client */
	int nr_args;			/* positional arguments (show FILE|DIR) */
	char **args;
	/* not an option: where restore puts the root's pid as criu sees it
	 * (swrk answers it; in a pid namespace it is not the image's) */
	pid_t *restored_pid;
};

/* the defaults of every invocation (command line and each RPC request) */
#define OPTS_INIT { .pid = -1, .verbosity = 2 /* LOG_WARN */, .status_fd = -1, .lazy_listen_fd = -1 }

int opts_parse(int argc, char **argv, struct opts *o);
/* --config FILE (config.c) */
const char *opts_find_config(int argc, char **argv);
int opts_read_config(const char *path, struct opts *o, bool missing_ok);
/* a relative path of an output file (log, pidfile) taken in -W DIR */
const char *opts_work_path(const struct opts *o, const char *path, char *buf, size_t len);
/* tells each step to the action script and the RPC client (notify.c) */
int cr_notify(const struct opts *o, const char *step, pid_t pid, int fd);

int cr_dump(const struct opts *o);
int cr_pre_dump(const struct opts *o);
int cr_restore(const struct opts *o);
int cr_check(const struct opts *o);
int cr_show(const struct opts *o);
int cr_swrk(const struct opts *o);

#endif /* CRIU_OPTS_H */
