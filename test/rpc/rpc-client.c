/*
 * rpc-client.c - the RPC test client (test/rpc.sh): starts `criu swrk 3`
 * on one end of a SOCK_SEQPACKET socketpair, as runc does, sends the
 * requests of its command line in order and prints one line per response.
 *
 *   rpc-client CRIU REQUEST [-- REQUEST ...]
 *   REQUEST: TYPE [KEY=VALUE ...]
 *   TYPE: version, features, check, dump, pre-dump, restore, page-server,
 *         wait-pid, type=N (any number), raw=HEX (bytes sent as they are),
 *         big=N (N bytes of garbage in one packet)
 *   KEY: any field of criu_opts by its name (bools 0/1, numbers, strings);
 *        images_dir=PATH and work_dir=PATH are opened here and sent as
 *        images_dir_fd / work_dir_fd; inherit_fd=FD:KEY and
 *        cg_root=[CTRL:]PATH (repeatable);
 *        ps_address=, ps_port=; keep_open=1; pid_req=N (WAIT_PID);
 *        mem_track=1, lazy_pages_f=1, pidfd_store=1 (FEATURE_CHECK);
 *        notify_fail=STEP (answer no at that step); wait_child=1 (restore:
 *        wait for the restored root as our child and print its status);
 *        pid_req=ps (the page server of the last PAGE_SERVER answer);
 *        probe_ps=1 (connect to that page server, then SIGTERM it)
 *
 * Output: "RESP TYPE success=0|1 [pid=N] [version=M.m.s] [features ...]
 * [errmsg=...]", "PS connect=ok|fail", "NOTIFY STEP pid=N [fd]" for each notification (answered
 * yes unless notify_fail names it), "CHILD pid=N status=S", and last
 * "CRIU exit=N".  The terminal master of orphan-pts-master is kept: "MASTER
 * termios ..." at once, and with wait_child=1 "TTY LINE" for each line the
 * restored program wrote to it.  Exits 0 if it could talk to criu at all.
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <termios.h>
#include <sys/wait.h>
#include <unistd.h>

#include "images/rpc.pb-c.h"

static const char *notify_fail;
static void keep_master(int fd);

static int set_field(CriuOpts *o, const char *key, const char *val)
{
	const ProtobufCFieldDescriptor *f =
		protobuf_c_message_descriptor_get_field_by_name(&criu_opts__descriptor, key);
	char *base = (char *)o;

	if (!f || f->label == PROTOBUF_C_LABEL_REPEATED) {
		/* repeated strings: one value each time */
		if (f && f->type == PROTOBUF_C_TYPE_STRING) {
			size_t *n = (size_t *)(base + f->quantifier_offset);
			char ***v = (char ***)(base + f->offset);
			*v = realloc(*v, (*n + 1) * sizeof(char *));
			(*v)[(*n)++] = strdup(val);
			return 0;
		}
		fprintf(stderr, "rpc-client: no option %s\n", key);
		return -1;
	}
	if (f->label == PROTOBUF_C_LABEL_OPTIONAL && f->type != PROTOBUF_C_TYPE_STRING &&
	    f->type != PROTOBUF_C_TYPE_MESSAGE)
		*(protobuf_c_boolean *)(base + f->quantifier_offset) = 1;
	switch (f->type) {
	case PROTOBUF_C_TYPE_BOOL:
		*(protobuf_c_boolean *)(base + f->offset) = atoi(val);
		return 0;
	case PROTOBUF_C_TYPE_INT32:
	case PROTOBUF_C_TYPE_UINT32:
	case PROTOBUF_C_TYPE_ENUM:
		*(int32_t *)(base + f->offset) = strtoul(val, NULL, 0);
		return 0;
	case PROTOBUF_C_TYPE_STRING:
		*(char **)(base + f->offset) = strdup(val);
		return 0;
	default:
		fprintf(stderr, "rpc-client: cannot set %s\n", key);
		return -1;
	}
}

static int send_buf(int sk, const void *buf, size_t len)
{
	return send(sk, buf, len, 0) == (ssize_t)len ? 0 : -1;
}

static int send_req(int sk, const CriuReq *req)
{
	size_t len = criu_req__get_packed_size(req);
	uint8_t *buf = malloc(len + 1);
	criu_req__pack(req, buf);
	int r = send_buf(sk, buf, len);
	free(buf);
	return r;
}

/* a response, and an fd passed with it */
static CriuResp *recv_resp(int sk, int *fd)
{
	static uint8_t buf[1 << 16];
	char cbuf[CMSG_SPACE(sizeof(int))];
	struct iovec iov = { buf, sizeof(buf) };
	struct msghdr mh = { .msg_iov = &iov, .msg_iovlen = 1, .msg_control = cbuf,
			     .msg_controllen = sizeof(cbuf) };
	ssize_t n = recvmsg(sk, &mh, 0);

	*fd = -1;
	if (n <= 0)
		return NULL;
	struct cmsghdr *cm = CMSG_FIRSTHDR(&mh);
	if (cm && cm->cmsg_type == SCM_RIGHTS)
		memcpy(fd, CMSG_DATA(cm), sizeof(int));
	CriuResp *r = criu_resp__unpack(NULL, n, buf);
	if (!r)
		printf("RESP unparsable (%zd bytes)\n", n);
	return r;
}

static const char *type_name(int t)
{
	static const char *names[] = { "EMPTY", "DUMP", "RESTORE", "CHECK", "PRE_DUMP",
				       "PAGE_SERVER", "NOTIFY", "CPUINFO_DUMP", "CPUINFO_CHECK",
				       "FEATURE_CHECK", "VERSION", "WAIT_PID", "PAGE_SERVER_CHLD",
				       "SINGLE_PRE_DUMP" };
	return t >= 0 && t < (int)(sizeof(names) / sizeof(names[0])) ? names[t] : "UNKNOWN";
}

static void print_resp(const CriuResp *r)
{
	printf("RESP %s success=%d", type_name(r->type), r->success);
	if (r->restore)
		printf(" pid=%d", r->restore->pid);
	if (r->ps)
		printf(" ps_pid=%d ps_port=%d", r->ps->pid, r->ps->port);
	if (r->has_status)
		printf(" status=%d", r->status);
	if (r->version)
		printf(" version=%d.%d.%d name=\"%s\"", r->version->major_number,
		       r->version->minor_number, r->version->sublevel,
		       r->version->name ? r->version->name : "");
	if (r->features)
		printf(" features mem_track=%d/%d lazy_pages=%d/%d pidfd_store=%d/%d",
		       r->features->has_mem_track, r->features->mem_track,
		       r->features->has_lazy_pages, r->features->lazy_pages,
		       r->features->has_pidfd_store, r->features->pidfd_store);
	if (r->cr_errmsg)
		printf(" errmsg=%s", r->cr_errmsg);
	printf("\n");
	fflush(stdout);
}

/* the responses to one request: notifications answered until the final one */
static pid_t restored_pid;
static int ps_pid, ps_port;	/* of the last PAGE_SERVER answer */

/* can a client connect to the page server criu started? */
static void probe_ps(void)
{
	struct sockaddr_in a = { .sin_family = AF_INET, .sin_port = htons(ps_port),
				 .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	int ok = fd >= 0 && !connect(fd, (struct sockaddr *)&a, sizeof(a));

	printf("PS connect=%s\n", ok ? "ok" : "fail");
	if (fd >= 0)
		close(fd);
	if (ps_pid > 0)
		kill(ps_pid, SIGTERM);
}

static int converse(int sk, int type)
{
	for (;;) {
		int fd;
		CriuResp *r = recv_resp(sk, &fd);
		if (!r) {
			printf("RESP none (criu closed the socket)\n");
			return -1;
		}
		if (r->type != CRIU_REQ_TYPE__NOTIFY || type == CRIU_REQ_TYPE__NOTIFY) {
			print_resp(r);
			restored_pid = r->restore && r->success ? r->restore->pid : 0;
			if (r->ps && r->success) {
				ps_pid = r->ps->pid;
				ps_port = r->ps->port;
			}
			criu_resp__free_unpacked(r, NULL);
			return 0;
		}
		const char *step = r->notify && r->notify->script ? r->notify->script : "?";
		printf("NOTIFY %s pid=%d%s\n", step, r->notify && r->notify->has_pid ? r->notify->pid : 0,
		       fd >= 0 ? " fd" : "");
		if (fd >= 0 && !strcmp(step, "orphan-pts-master"))
			keep_master(fd);
		else if (fd >= 0)
			close(fd);
		fflush(stdout);
		CriuReq ans = CRIU_REQ__INIT;
		ans.type = CRIU_REQ_TYPE__NOTIFY;
		ans.has_notify_success = 1;
		ans.notify_success = !(notify_fail && !strcmp(notify_fail, step));
		criu_resp__free_unpacked(r, NULL);
		if (send_req(sk, &ans))
			return -1;
	}
}

/* the terminal master of orphan-pts-master: its settings printed ("MASTER
 * termios I:O:C:L rows R cols C", stty -g's first four fields), kept to
 * read what the restored program writes (print_master) */
static int orphan_master = -1;

static void keep_master(int fd)
{
	struct termios t;
	struct winsize ws;

	if (tcgetattr(fd, &t) || ioctl(fd, TIOCGWINSZ, &ws)) {
		printf("MASTER not a terminal master: %s\n", strerror(errno));
		close(fd);
		return;
	}
	printf("MASTER termios %x:%x:%x:%x rows %d cols %d\n", t.c_iflag, t.c_oflag, t.c_cflag,
	       t.c_lflag, ws.ws_row, ws.ws_col);
	if (orphan_master >= 0)
		close(orphan_master);
	orphan_master = fd;
}

/* what the terminal's slave side wrote, "TTY line" each, until it is closed
 * (EIO) or quiet for 2 s */
static void print_master(void)
{
	char buf[4096], line[4096];
	size_t len = 0;

	for (;;) {
		struct pollfd p = { orphan_master, POLLIN, 0 };
		if (poll(&p, 1, 2000) <= 0)
			break;
		ssize_t n = read(orphan_master, buf, sizeof(buf));
		if (n <= 0)
			break;
		for (ssize_t i = 0; i < n; i++) {
			if (buf[i] == '\n' || len == sizeof(line) - 1) {
				printf("TTY %.*s\n", (int)len, line);
				len = 0;
			} else if (buf[i] != '\r') {
				line[len++] = buf[i];
			}
		}
	}
	if (len)
		printf("TTY %.*s\n", (int)len, line);
}

static int hexval(char c)
{
	return c >= '0' && c <= '9' ? c - '0' : (c | 0x20) - 'a' + 10;
}

/* one request from argv[0..n) */
static int one(int sk, char **argv, int n)
{
	static const struct { const char *name; int type; } types[] = {
		{ "version", CRIU_REQ_TYPE__VERSION }, { "features", CRIU_REQ_TYPE__FEATURE_CHECK },
		{ "check", CRIU_REQ_TYPE__CHECK }, { "dump", CRIU_REQ_TYPE__DUMP },
		{ "pre-dump", CRIU_REQ_TYPE__PRE_DUMP }, { "restore", CRIU_REQ_TYPE__RESTORE },
		{ "page-server", CRIU_REQ_TYPE__PAGE_SERVER }, { "wait-pid", CRIU_REQ_TYPE__WAIT_PID },
	};
	CriuReq req = CRIU_REQ__INIT;
	CriuOpts *o = calloc(1, sizeof(*o));
	CriuFeatures feat = CRIU_FEATURES__INIT;
	CriuPageServerInfo ps = CRIU_PAGE_SERVER_INFO__INIT;
	bool wait_child = false, have_opts = false;

	criu_opts__init(o);
	notify_fail = NULL;
	if (!strncmp(argv[0], "raw=", 4)) {
		uint8_t buf[4096];
		size_t len = 0;
		for (const char *h = argv[0] + 4; h[0] && h[1] && len < sizeof(buf); h += 2)
			buf[len++] = hexval(h[0]) << 4 | hexval(h[1]);
		if (send_buf(sk, buf, len))
			return -1;
		return converse(sk, -1);
	}
	if (!strncmp(argv[0], "big=", 4)) {
		/* N bytes of garbage in one packet */
		size_t len = strtoul(argv[0] + 4, NULL, 10);
		uint8_t *big = malloc(len);
		memset(big, 0xab, len);
		int r = send_buf(sk, big, len);
		free(big);
		if (r) {
			printf("SEND big=%zu: %s\n", len, strerror(errno));
			return -1;
		}
		return converse(sk, -1);
	}
	req.type = -1;
	if (!strncmp(argv[0], "type=", 5))
		req.type = atoi(argv[0] + 5);
	for (size_t i = 0; i < sizeof(types) / sizeof(types[0]); i++)
		if (!strcmp(argv[0], types[i].name))
			req.type = types[i].type;
	if ((int)req.type < 0) {
		fprintf(stderr, "rpc-client: unknown request %s\n", argv[0]);
		return -1;
	}
	for (int i = 1; i < n; i++) {
		char *key = argv[i], *val = strchr(key, '=');
		if (!val) {
			fprintf(stderr, "rpc-client: %s: KEY=VALUE expected\n", key);
			return -1;
		}
		*val++ = 0;
		if (!strcmp(key, "images_dir") || !strcmp(key, "work_dir")) {
			int fd = open(val, O_RDONLY | O_DIRECTORY);
			if (fd < 0) {
				perror(val);
				return -1;
			}
			o->has_images_dir_fd |= key[0] == 'i';
			o->has_work_dir_fd |= key[0] == 'w';
			*(key[0] == 'i' ? &o->images_dir_fd : &o->work_dir_fd) = fd;
			have_opts = true;
		} else if (!strcmp(key, "inherit_fd")) {
			InheritFd *f = malloc(sizeof(*f));
			inherit_fd__init(f);
			f->fd = atoi(val);
			f->key = strchr(val, ':') + 1;
			o->inherit_fd = realloc(o->inherit_fd, (o->n_inherit_fd + 1) * sizeof(f));
			o->inherit_fd[o->n_inherit_fd++] = f;
			have_opts = true;
		} else if (!strcmp(key, "cg_root")) {
			/* [CTRL:]PATH, repeatable */
			CgroupRoot *g = malloc(sizeof(*g));
			char *colon = strchr(val, ':');
			cgroup_root__init(g);
			g->path = colon ? colon + 1 : val;
			if (colon) {
				*colon = 0;
				g->ctrl = val;
			}
			o->cg_root = realloc(o->cg_root, (o->n_cg_root + 1) * sizeof(g));
			o->cg_root[o->n_cg_root++] = g;
			have_opts = true;
		} else if (!strcmp(key, "ps_address")) {
			ps.address = val;
			o->ps = &ps;
		} else if (!strcmp(key, "ps_port")) {
			ps.has_port = 1;
			ps.port = atoi(val);
			o->ps = &ps;
		} else if (!strcmp(key, "keep_open")) {
			req.has_keep_open = 1;
			req.keep_open = atoi(val);
		} else if (!strcmp(key, "pid_req")) {
			req.has_pid = 1;
			req.pid = strcmp(val, "ps") ? atoi(val) : ps_pid;
		} else if (!strcmp(key, "probe_ps")) {
			probe_ps();
		} else if (!strcmp(key, "mem_track") || !strcmp(key, "lazy_pages_f") ||
			   !strcmp(key, "pidfd_store")) {
			req.features = &feat;
			if (key[0] == 'm')
				feat.has_mem_track = 1;
			else if (key[0] == 'l')
				feat.has_lazy_pages = 1;
			else
				feat.has_pidfd_store = 1;
		} else if (!strcmp(key, "notify_fail")) {
			notify_fail = val;
		} else if (!strcmp(key, "wait_child")) {
			wait_child = atoi(val);
		} else {
			if (set_field(o, key, val))
				return -1;
			have_opts = true;
		}
	}
	if (have_opts || o->ps)
		req.opts = o;
	if (send_req(sk, &req))
		return -1;
	int r = converse(sk, req.type);
	if (!r && wait_child && restored_pid > 0) {
		int status;
		pid_t p;
		while ((p = waitpid(restored_pid, &status, 0)) < 0 && errno == EINTR)
			;
		printf("CHILD pid=%d status=%d\n", restored_pid, p > 0 ? status : -errno);
	}
	if (!r && orphan_master >= 0 && wait_child) {
		print_master();
		close(orphan_master);
		orphan_master = -1;
	}
	return r;
}

int main(int argc, char **argv)
{
	int sv[2];

	if (argc < 3) {
		fprintf(stderr, "usage: rpc-client CRIU REQUEST [-- REQUEST ...]\n");
		return 2;
	}
	setvbuf(stdout, NULL, _IOLBF, 0);
	if (socketpair(AF_UNIX, SOCK_SEQPACKET, 0, sv))
		return 2;
	pid_t c = fork();
	if (c == 0) {
		close(sv[0]);
		if (dup2(sv[1], 3) < 0)
			_exit(127);
		execl(argv[1], argv[1], "swrk", "3", (char *)NULL);
		_exit(127);
	}
	close(sv[1]);
	signal(SIGPIPE, SIG_IGN);
	for (int i = 2; i < argc;) {
		int k = i;
		while (k < argc && strcmp(argv[k], "--"))
			k++;
		if (one(sv[0], argv + i, k - i))
			break;
		i = k + 1;
	}
	shutdown(sv[0], SHUT_WR);
	int status;
	while (waitpid(c, &status, 0) < 0 && errno == EINTR)
		;
	printf("CRIU exit=%d\n", WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status));
	return 0;
}
