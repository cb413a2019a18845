/*
 * rpc-notify.c - a step of dump or restore told to the RPC client
 * (notify_scripts): a NOTIFY response naming the step (CRIU's script
 * names: pre-dump, post-dump, pre-restore, setup-namespaces, ...) with the
 * restored root's pid where there is one and an fd where the step passes
 * one (orphan-pts-master, SCM_RIGHTS); the client answers with a NOTIFY
 * request whose notify_success says whether to go on.
 */
#define LOG_PREFIX "swrk: "
#include <stdio.h>
#include <stdlib.h>

#include "common/log.h"
#include "criu/rpc/rpc.h"

int rpc_notify(void *ctx, const char *step, pid_t pid, int fd)
{
	struct rpc_session *s = ctx;
	CriuResp resp = CRIU_RESP__INIT;
	CriuNotify n = CRIU_NOTIFY__INIT;
	CriuReq *req;
	char err[256];
	bool eof, ok;

	resp.type = CRIU_REQ_TYPE__NOTIFY;
	resp.success = true;
	resp.notify = &n;
	n.script = (char *)step;
	if (pid > 0) {
		n.has_pid = true;
		n.pid = pid;
	}
	if (rpc_send(s->conn->sk, &resp, fd))
		return -1;
	req = rpc_recv(s->conn->sk, err, sizeof(err), &eof);
	if (!req) {
		pr_err("step %s: %s", step, eof ? "the client closed the connection" : err);
		return -1;
	}
	if (req->type != CRIU_REQ_TYPE__NOTIFY) {
		pr_err("step %s: the client answered with request type %d, not NOTIFY", step,
		       req->type);
		criu_req__free_unpacked(req, NULL);
		return -1;
	}
	ok = req->has_notify_success && req->notify_success;
	criu_req__free_unpacked(req, NULL);
	if (!ok)
		pr_err("step %s: the client said no", step);
	return ok ? 0 : -1;
}
