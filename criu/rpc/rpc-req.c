/*
 * rpc-req.c - each request `criu swrk` serves, one handler a type in one
 * table: VERSION, FEATURE_CHECK, CHECK, DUMP, PRE_DUMP, RESTORE,
 * PAGE_SERVER and WAIT_PID.  A handler fills the response; a failed one
 * leaves success false with cr_errmsg the one error line criu logged (the
 * first: where the problem was found).  Dump and restore are run as the
 * command line runs them, with the options rpc-opts.c made.
 */
#define LOG_PREFIX "swrk: "
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "criu/check.h"
#include "images/image.h"
#include "pagexfer/page-server.h"
#include "common/log.h"
#include "criu/rpc/rpc.h"
#include "criu/version.h"

static void fail(CriuResp *resp, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void fail(CriuResp *resp, const char *fmt, ...)
{
	va_list ap;

	resp->success = false;
	va_start(ap, fmt);
	if (vasprintf(&resp->cr_errmsg, fmt, ap) < 0)
		resp->cr_errmsg = NULL;
	va_end(ap);
}

/* the session's first error line, or what failed */
static void fail_session(CriuResp *resp, struct rpc_session *s, const char *what)
{
	char line[1024];

	rpc_session_error(s, line, sizeof(line));
	if (line[0])
		fail(resp, "%s", line);
	else
		fail(resp, "%s failed (see the log)", what);
}

static bool open_session(struct rpc_conn *c, const CriuReq *req, const char *action,
			 struct rpc_session *s, CriuResp *resp, bool need_images)
{
	char err[1024];

	if (rpc_session_open(c, req->opts, action, s, err, sizeof(err))) {
		fail(resp, "%s", err);
		rpc_session_close(s);
		return false;
	}
	if (need_images && !s->o.images_dir) {
		fail(resp, "%s needs images_dir_fd (or images_dir)", action);
		rpc_session_close(s);
		return false;
	}
	return true;
}

static void req_version(struct rpc_conn *c, const CriuReq *req, CriuResp *resp)
{
	static CriuVersion v = CRIU_VERSION__INIT;

	(void)c, (void)req;
	v.major_number = CRIU_COMPAT_MAJOR;
	v.minor_number = CRIU_COMPAT_MINOR;
	v.has_sublevel = true;
	v.sublevel = CRIU_COMPAT_SUBLEVEL;
	v.gitid = (char *)TOOL_VERSION;
	v.name = (char *)TOOL_NAME_VERSION;
	resp->version = &v;
	resp->success = true;
}

static bool probe(const char *name)
{
	char msg[200];
	return check_feature(name, msg, sizeof(msg)) > 0;
}

/* each feature asked about, answered; the others left out */
static void req_features(struct rpc_conn *c, const CriuReq *req, CriuResp *resp)
{
	static CriuFeatures f = CRIU_FEATURES__INIT;
	const CriuFeatures *q = req->features;

	(void)c;
	resp->success = true;
	if (!q)
		return;
	resp->features = &f;
	if (q->has_mem_track) {
		f.has_mem_track = true;
		f.mem_track = probe("mem_dirty_track");
	}
	if (q->has_lazy_pages) {
		f.has_lazy_pages = true;
		f.lazy_pages = probe("userfaultfd") && probe("uffd_event_fork") &&
			       probe("uffd_event_remap");
	}
	if (q->has_pidfd_store) {
		/* pidfd_store_sk is not taken: no pids kept between requests */
		f.has_pidfd_store = true;
		f.pidfd_store = false;
	}
}

/* criu check; the first missing feature dump or restore needs, if any */
static void req_check(struct rpc_conn *c, const CriuReq *req, CriuResp *resp)
{
	struct rpc_session s;
	int out = dup(STDOUT_FILENO), r;

	if (out < 0 || !open_session(c, req, "check", &s, resp, false)) {
		if (out >= 0)
			close(out);
		else
			fail(resp, "check: %s", strerror(errno));
		return;
	}
	fflush(stdout);
	dup2(s.err_fd, STDOUT_FILENO);
	r = cr_check(&s.o);
	fflush(stdout);
	dup2(out, STDOUT_FILENO);
	close(out);
	resp->success = r == 0;
	if (r) {
		char text[8192], *m;
		ssize_t n = pread(s.err_fd, text, sizeof(text) - 1, 0);
		text[n > 0 ? n : 0] = 0;
		m = strstr(text, ": missing");
		while (m && m > text && m[-1] != '\n')
			m--;
		if (m) {
			m[strcspn(m, "\n")] = 0;
			fail(resp, "check: %s", m);
		} else {
			fail_session(resp, &s, "check");
		}
	}
	rpc_session_close(&s);
}

static void dump_common(struct rpc_conn *c, const CriuReq *req, CriuResp *resp, bool pre)
{
	static CriuDumpResp d = CRIU_DUMP_RESP__INIT;
	struct rpc_session s;
	const char *what = pre ? "pre-dump" : "dump";

	if (!open_session(c, req, what, &s, resp, true))
		return;
	if (s.o.pid == c->peer && !pre) {
		fail(resp, "%s: no pid given: dumping the client itself is not supported", what);
		rpc_session_close(&s);
		return;
	}
	int r = pre ? cr_pre_dump(&s.o) : cr_dump(&s.o);
	if (r) {
		fail_session(resp, &s, what);
	} else {
		resp->success = true;
		d.has_restored = true;
		d.restored = false;
		resp->dump = &d;
	}
	rpc_session_close(&s);
}

static void req_dump(struct rpc_conn *c, const CriuReq *req, CriuResp *resp)
{
	dump_common(c, req, resp, false);
}

static void req_pre_dump(struct rpc_conn *c, const CriuReq *req, CriuResp *resp)
{
	dump_common(c, req, resp, true);
}

static void req_restore(struct rpc_conn *c, const CriuReq *req, CriuResp *resp)
{
	static CriuRestoreResp rr = CRIU_RESTORE_RESP__INIT;
	struct rpc_session s;

	pid_t pid = -1;

	if (!open_session(c, req, "restore", &s, resp, true))
		return;
	/* the root as criu (and the client) sees it: in a pid namespace not
	 * the pid of the images */
	s.o.restored_pid = &pid;
	if (cr_restore(&s.o)) {
		fail_session(resp, &s, "restore");
	} else {
		resp->success = true;
		rr.pid = pid;
		resp->restore = &rr;
	}
	rpc_session_close(&s);
}

/* a page server of the images, in a child of criu; its pid and port answered once it listens */
static void req_page_server(struct rpc_conn *c, const CriuReq *req, CriuResp *resp)
{
	static CriuPageServerInfo ps = CRIU_PAGE_SERVER_INFO__INIT;
	struct rpc_session s;
	int p[2];
	char b;

	if (!open_session(c, req, "page-server", &s, resp, true))
		return;
	if (!s.o.port) {
		fail(resp, "page-server needs ps.port");
		rpc_session_close(&s);
		return;
	}
	if (pipe2(p, O_CLOEXEC)) {
		fail(resp, "page-server: %s", strerror(errno));
		rpc_session_close(&s);
		return;
	}
	pid_t pid = fork();
	if (pid == 0) {
		struct ps_serve_opts lo = { .images_dir = s.o.images_dir, .address = s.o.address,
					    .port = s.o.port, .sec = s.o.ps_sec, .status_fd = p[1] };
		close(p[0]);
		close(c->sk);
		_exit(page_server_main(&lo));
	}
	close(p[1]);
	if (pid > 0 && read(p[0], &b, 1) == 1) {
		resp->success = true;
		ps.has_pid = ps.has_port = true;
		ps.pid = pid;
		ps.port = s.o.port;
		resp->ps = &ps;
	} else if (pid > 0) {
		waitpid(pid, NULL, 0);
		fail_session(resp, &s, "page-server");
	} else {
		fail(resp, "page-server: cannot fork: %s", strerror(errno));
	}
	close(p[0]);
	rpc_session_close(&s);
}

/* the status of a child of criu (a page server it started) */
static void req_wait_pid(struct rpc_conn *c, const CriuReq *req, CriuResp *resp)
{
	int status;

	(void)c;
	if (!req->has_pid) {
		fail(resp, "wait-pid needs pid");
		return;
	}
	while (waitpid(req->pid, &status, 0) < 0) {
		if (errno != EINTR) {
			fail(resp, "wait-pid %u: %s", req->pid, strerror(errno));
			return;
		}
	}
	resp->success = true;
	resp->has_status = true;
	resp->status = status;
}

static const struct {
	CriuReqType type;
	const char *name;
	rpc_handler fn;
} handlers[] = {
	{ CRIU_REQ_TYPE__EMPTY, "EMPTY", NULL },
	{ CRIU_REQ_TYPE__DUMP, "DUMP", req_dump },
	{ CRIU_REQ_TYPE__RESTORE, "RESTORE", req_restore },
	{ CRIU_REQ_TYPE__CHECK, "CHECK", req_check },
	{ CRIU_REQ_TYPE__PRE_DUMP, "PRE_DUMP", req_pre_dump },
	{ CRIU_REQ_TYPE__PAGE_SERVER, "PAGE_SERVER", req_page_server },
	{ CRIU_REQ_TYPE__NOTIFY, "NOTIFY (outside a dump or restore)", NULL },
	{ CRIU_REQ_TYPE__CPUINFO_DUMP, "CPUINFO_DUMP", NULL },
	{ CRIU_REQ_TYPE__CPUINFO_CHECK, "CPUINFO_CHECK", NULL },
	{ CRIU_REQ_TYPE__FEATURE_CHECK, "FEATURE_CHECK", req_features },
	{ CRIU_REQ_TYPE__VERSION, "VERSION", req_version },
	{ CRIU_REQ_TYPE__WAIT_PID, "WAIT_PID", req_wait_pid },
	{ CRIU_REQ_TYPE__PAGE_SERVER_CHLD, "PAGE_SERVER_CHLD", NULL },
	{ CRIU_REQ_TYPE__SINGLE_PRE_DUMP, "SINGLE_PRE_DUMP", NULL },
};

rpc_handler rpc_find_handler(CriuReqType type, const char **name)
{
	for (size_t i = 0; i < sizeof(handlers) / sizeof(handlers[0]); i++)
		if (handlers[i].type == type) {
			*name = handlers[i].name;
			return handlers[i].fn;
		}
	*name = NULL;
	return NULL;
}
