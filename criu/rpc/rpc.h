/*
 * rpc.h - the parts of `criu swrk FD` (Documentation/rpc.md): swrk.c owns
 * the socket (one message a packet) and the dispatch of requests;
 * rpc-opts.c turns a request's criu_opts into the struct opts the command
 * line makes (through the same parser); rpc-req.c runs each kind of
 * request; rpc-notify.c tells the client each step of dump and restore.
 * Nothing here knows how dump or restore work: they are called as for the
 * command line.
 */
#ifndef CRIU_RPC_H
#define CRIU_RPC_H

#include <stdbool.h>
#include <sys/types.h>

#include "criu/opts.h"
#include "images/rpc.pb-c.h"

/* the connection: the socket and the client at its other end */
struct rpc_conn {
	int sk;
	pid_t peer;		/* SO_PEERCRED: its fds are /proc/PEER/fd/N */
};

/* one request's options and what they hold open */
struct rpc_session {
	struct opts o;
	char *argv[128];	/* the options as command line arguments */
	int argc;
	char images_dir[4096];
	char work_dir[4096];	/* the work directory's path (stats-dump goes there) */
	int images_fd;		/* the client's images directory, open */
	int work_fd;		/* the work directory (log file), open */
	int cwd_fd;		/* criu's own, back after the request */
	int err_fd;		/* the error lines of the request (memfd) */
	struct notifier notify;
	struct rpc_conn *conn;
};

/* rpc-opts.c: -1 with the reason in err (one line) */
int rpc_session_open(struct rpc_conn *c, const CriuOpts *ro, const char *action,
		     struct rpc_session *s, char *err, size_t len);
/* the first error line logged since the session opened, or "" */
void rpc_session_error(struct rpc_session *s, char *buf, size_t len);
void rpc_session_close(struct rpc_session *s);

/* rpc-req.c: fills resp; a failure leaves success false and cr_errmsg set */
typedef void (*rpc_handler)(struct rpc_conn *c, const CriuReq *req, CriuResp *resp);
rpc_handler rpc_find_handler(CriuReqType type, const char **name);

/* rpc-notify.c: the step to the client, its answer (notify_success) awaited */
int rpc_notify(void *ctx, const char *step, pid_t pid, int fd);

/* swrk.c */
int rpc_send(int sk, const CriuResp *resp, int fd);
CriuReq *rpc_recv(int sk, char *err, size_t len, bool *eof);

#endif /* CRIU_RPC_H */
