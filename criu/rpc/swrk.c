/*
 * swrk.c - `criu swrk FD`: the service runc, podman and libcriu start with
 * FD one end of a SOCK_SEQPACKET socketpair.  One protobuf message a
 * packet: a criu_req, answered by one criu_resp (NOTIFY responses may come
 * first, each answered by the client, rpc-notify.c).  After a request
 * without keep_open criu exits, as upstream's does; the client's closing of
 * its end ends it too.  A packet that is not a criu_req, or a request this
 * tool does not serve, is answered with success false and cr_errmsg, and
 * criu goes on reading: it never crashes on what a client sends.
 *
 * Owns the socket, the framing and the dispatch; the requests are in
 * rpc-req.c.
 */
#define LOG_PREFIX "swrk: "
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "common/log.h"
#include "criu/rpc/rpc.h"

#define RPC_MAX_PACKET (1 << 20)

int rpc_send(int sk, const CriuResp *resp, int fd)
{
	size_t len = criu_resp__get_packed_size(resp);
	uint8_t *buf = malloc(len + 1);
	char cbuf[CMSG_SPACE(sizeof(int))];
	struct iovec iov;
	struct msghdr mh = { .msg_iov = &iov, .msg_iovlen = 1 };
	ssize_t n;

	if (!buf)
		return -1;
	criu_resp__pack(resp, buf);
	iov = (struct iovec){ buf, len };
	if (fd >= 0) {
		memset(cbuf, 0, sizeof(cbuf));
		mh.msg_control = cbuf;
		mh.msg_controllen = sizeof(cbuf);
		struct cmsghdr *cm = CMSG_FIRSTHDR(&mh);
		cm->cmsg_level = SOL_SOCKET;
		cm->cmsg_type = SCM_RIGHTS;
		cm->cmsg_len = CMSG_LEN(sizeof(int));
		memcpy(CMSG_DATA(cm), &fd, sizeof(int));
	}
	n = sendmsg(sk, &mh, MSG_NOSIGNAL);
	free(buf);
	if (n != (ssize_t)len) {
		pr_perror("cannot send a response to the client");
		return -1;
	}
	return 0;
}

/*
 * The next request; NULL with *eof if the client closed its end, NULL with
 * the reason in err if the packet is not a request.
 */
CriuReq *rpc_recv(int sk, char *err, size_t len, bool *eof)
{
	uint8_t *buf;
	ssize_t n;
	CriuReq *req;

	*eof = false;
	do
		n = recv(sk, NULL, 0, MSG_PEEK | MSG_TRUNC);
	while (n < 0 && errno == EINTR);
	if (n <= 0) {
		if (n < 0 && errno != ECONNRESET)
			pr_perror("cannot read a request");
		*eof = true;
		return NULL;
	}
	buf = malloc(n ? n : 1);
	if (!buf) {
		*eof = true;
		return NULL;
	}
	n = recv(sk, buf, n, 0);
	if (n > RPC_MAX_PACKET) {
		snprintf(err, len, "a packet of %zd bytes: more than a request can be", n);
		free(buf);
		return NULL;
	}
	req = n > 0 ? criu_req__unpack(NULL, n, buf) : NULL;
	if (!req)
		snprintf(err, len, "a packet of %zd bytes that is not a criu_req message", n);
	free(buf);
	return req;
}

static void answer_error(int sk, CriuReqType type, const char *msg)
{
	CriuResp resp = CRIU_RESP__INIT;

	resp.type = type;
	resp.success = false;
	resp.cr_errmsg = (char *)msg;
	pr_warn("request refused: %s", msg);
	rpc_send(sk, &resp, -1);
}

/* one request, answered; 1 if more may follow */
static int serve_one(struct rpc_conn *c, const CriuReq *req)
{
	CriuResp resp = CRIU_RESP__INIT;
	const char *name;
	rpc_handler h = rpc_find_handler(req->type, &name);
	char msg[256];

	if (req->base.n_unknown_fields) {
		snprintf(msg, sizeof(msg), "field number %u of criu_req is not known to this criu",
			 req->base.unknown_fields[0].tag);
		answer_error(c->sk, req->type, msg);
		return req->keep_open;
	}
	if (!h) {
		if (name)
			snprintf(msg, sizeof(msg), "request %s is not served by this criu", name);
		else
			snprintf(msg, sizeof(msg), "unknown request type %d", req->type);
		answer_error(c->sk, req->type, msg);
		return req->keep_open;
	}
	pr_info("request %s", name);
	resp.type = req->type;
	h(c, req, &resp);
	if (rpc_send(c->sk, &resp, -1))
		return 0;
	free(resp.cr_errmsg);
	return req->keep_open;
}

int cr_swrk(const struct opts *o)
{
	struct rpc_conn c = { .sk = -1 };
	struct ucred cr;
	socklen_t crl = sizeof(cr);
	char *end;
	int type;
	socklen_t tl = sizeof(type);

	if (o->nr_args != 1 || (c.sk = strtol(o->args[0], &end, 10), *end) || c.sk < 0) {
		pr_err("swrk needs one argument: the fd of its SOCK_SEQPACKET socket");
		return 1;
	}
	if (getsockopt(c.sk, SOL_SOCKET, SO_TYPE, &type, &tl) || type != SOCK_SEQPACKET) {
		pr_err("swrk %d: not a SOCK_SEQPACKET socket", c.sk);
		return 1;
	}
	if (getsockopt(c.sk, SOL_SOCKET, SO_PEERCRED, &cr, &crl) || cr.pid <= 0) {
		pr_perror("swrk %d: cannot tell the client's pid", c.sk);
		return 1;
	}
	c.peer = cr.pid;
	fcntl(c.sk, F_SETFD, FD_CLOEXEC);
	signal(SIGPIPE, SIG_IGN);
	for (;;) {
		char err[256];
		bool eof;
		CriuReq *req = rpc_recv(c.sk, err, sizeof(err), &eof);

		if (eof)
			return 0;
		if (!req) {
			answer_error(c.sk, CRIU_REQ_TYPE__EMPTY, err);
			continue;
		}
		int more = serve_one(&c, req);
		criu_req__free_unpacked(req, NULL);
		if (!more)
			return 0;
	}
}
