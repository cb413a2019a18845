/*
 * libcriu.c - the client library of criu.h: options into a criu_opts
 * message, `criu swrk` started on a socketpair per request (as runc does),
 * one request sent, notifications answered through the caller's callback,
 * the answer turned into libcriu's return values.  Owns nothing of criu
 * but the wire format (images/rpc.proto).  The mount, namespace and
 * container setters are in libcriu-ns.c.
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include "lib/libcriu-opts.h"

struct criu_notify_arg {
	int pid;
};

static criu_opts *lib_opts;	/* the criu_* calls without "local" */
static char last_error[1024];

int criu_local_init_opts(criu_opts **opts)
{
	criu_opts *o = calloc(1, sizeof(*o));

	if (!o)
		return -ENOMEM;
	criu_opts__init(&o->rpc);
	o->rpc.has_images_dir_fd = true;
	o->rpc.images_dir_fd = -1;
	*opts = o;
	return 0;
}

void criu_local_free_opts(criu_opts *o)
{
	if (!o)
		return;
	for (size_t i = 0; i < o->rpc.n_inherit_fd; i++) {
		free(o->rpc.inherit_fd[i]->key);
		free(o->rpc.inherit_fd[i]);
	}
	free(o->rpc.inherit_fd);
	for (size_t i = 0; i < o->rpc.n_cg_root; i++) {
		free(o->rpc.cg_root[i]->ctrl);
		free(o->rpc.cg_root[i]->path);
		free(o->rpc.cg_root[i]);
	}
	free(o->rpc.cg_root);
	free(o->rpc.freeze_cgroup);
	free(o->rpc.parent_img);
	free(o->rpc.log_file);
	libcriu_ns_free(o);
	free(o->binary);
	free(o);
}

int libcriu_set_str(char **dst, const char *s)
{
	char *n = strdup(s);
	if (!n)
		return -ENOMEM;
	free(*dst);
	*dst = n;
	return 0;
}

int criu_local_set_service_binary(criu_opts *o, const char *path) { return libcriu_set_str(&o->binary, path); }
int criu_local_set_parent_images(criu_opts *o, const char *p) { return libcriu_set_str(&o->rpc.parent_img, p); }
int criu_local_set_log_file(criu_opts *o, const char *f) { return libcriu_set_str(&o->rpc.log_file, f); }
void criu_local_set_notify_cb(criu_opts *o, criu_notify_cb_t cb) { o->notify = cb; }

#define SETTER(name, field, type)                                         \
	void criu_local_set_##name(criu_opts *o, type v)                  \
	{                                                                  \
		o->rpc.has_##field = true;                                 \
		o->rpc.field = v;                                          \
	}
SETTER(pid, pid, int)
SETTER(images_dir_fd, images_dir_fd, int)
SETTER(work_dir_fd, work_dir_fd, int)
SETTER(leave_running, leave_running, bool)
SETTER(ext_unix_sk, ext_unix_sk, bool)
SETTER(shell_job, shell_job, bool)
SETTER(file_locks, file_locks, bool)
SETTER(tcp_established, tcp_established, bool)
SETTER(evasive_devices, evasive_devices, bool)
SETTER(orphan_pts_master, orphan_pts_master, bool)
SETTER(track_mem, track_mem, bool)
SETTER(lazy_pages, lazy_pages, bool)
SETTER(log_level, log_level, int)
SETTER(manage_cgroups, manage_cgroups, bool)

int criu_local_set_freeze_cgroup(criu_opts *o, const char *cg) { return libcriu_set_str(&o->rpc.freeze_cgroup, cg); }

/* libcriu's enum has the wire's numbers */
void criu_local_set_manage_cgroups_mode(criu_opts *o, enum criu_cg_mode mode)
{
	o->rpc.has_manage_cgroups_mode = true;
	o->rpc.manage_cgroups_mode = (CriuCgMode)mode;
}

int criu_local_add_cg_root(criu_opts *o, const char *ctrl, const char *path)
{
	CgroupRoot *r = malloc(sizeof(*r)), **n;

	if (!r)
		return -ENOMEM;
	cgroup_root__init(r);
	r->ctrl = ctrl ? strdup(ctrl) : NULL;
	r->path = strdup(path);
	n = realloc(o->rpc.cg_root, (o->rpc.n_cg_root + 1) * sizeof(*n));
	if (!r->path || (ctrl && !r->ctrl) || !n) {
		free(r->ctrl);
		free(r->path);
		free(r);
		return -ENOMEM;
	}
	o->rpc.cg_root = n;
	n[o->rpc.n_cg_root++] = r;
	return 0;
}

int criu_local_add_inherit_fd(criu_opts *o, int fd, const char *key)
{
	InheritFd *f = malloc(sizeof(*f)), **n;

	if (!f)
		return -ENOMEM;
	inherit_fd__init(f);
	f->fd = fd;
	f->key = strdup(key);
	n = realloc(o->rpc.inherit_fd, (o->rpc.n_inherit_fd + 1) * sizeof(*n));
	if (!f->key || !n) {
		free(f->key);
		free(f);
		return -ENOMEM;
	}
	o->rpc.inherit_fd = n;
	n[o->rpc.n_inherit_fd++] = f;
	return 0;
}

int criu_notify_pid(criu_notify_arg_t na)
{
	return na ? na->pid : 0;
}

const char *criu_get_last_error(void)
{
	return last_error[0] ? last_error : NULL;
}

/* `criu swrk 3` on one end of a new socketpair; the other end into *sk */
static pid_t start_swrk(const criu_opts *o, int *sk)
{
	int sv[2];
	pid_t pid;

	if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv))
		return -errno;
	pid = fork();
	if (pid == 0) {
		/* the socket as criu's fd 3 (inherited fds keep their numbers) */
		if (sv[1] == 3 ? fcntl(3, F_SETFD, 0) < 0 : dup2(sv[1], 3) != 3)
			_exit(127);
		const char *bin = o->binary ? o->binary : "criu";
		execlp(bin, bin, "swrk", "3", (char *)NULL);
		_exit(127);
	}
	close(sv[1]);
	if (pid < 0) {
		close(sv[0]);
		return -errno;
	}
	*sk = sv[0];
	return pid;
}

static int send_req(int sk, const CriuReq *req)
{
	size_t len = criu_req__get_packed_size(req);
	uint8_t *buf = malloc(len + 1);
	ssize_t n;

	if (!buf)
		return -ENOMEM;
	criu_req__pack(req, buf);
	n = send(sk, buf, len, MSG_NOSIGNAL);
	free(buf);
	return n == (ssize_t)len ? 0 : -ECOMM;
}

/* a response, and *fd the fd passed with it (orphan-pts-master) or -1 */
static CriuResp *recv_resp(int sk, int *fd)
{
	ssize_t n = recv(sk, NULL, 0, MSG_PEEK | MSG_TRUNC);
	char cbuf[CMSG_SPACE(sizeof(int))];
	uint8_t *buf;
	CriuResp *r = NULL;

	*fd = -1;
	if (n <= 0 || !(buf = malloc(n)))
		return NULL;
	struct iovec iov = { buf, n };
	struct msghdr mh = { .msg_iov = &iov, .msg_iovlen = 1, .msg_control = cbuf,
			     .msg_controllen = sizeof(cbuf) };
	if (recvmsg(sk, &mh, MSG_CMSG_CLOEXEC) == n)
		r = criu_resp__unpack(NULL, n, buf);
	struct cmsghdr *cm = CMSG_FIRSTHDR(&mh);
	if (cm && cm->cmsg_level == SOL_SOCKET && cm->cmsg_type == SCM_RIGHTS)
		memcpy(fd, CMSG_DATA(cm), sizeof(int));
	free(buf);
	return r;
}

/* the master of orphan-pts-master while its callback runs (upstream's call
 * takes no argument: the library's), -1 otherwise */
static int orphan_master = -1;

int criu_get_orphan_pts_master_fd(void)
{
	return orphan_master;
}

/* answers each NOTIFY until the response to the request; NULL if criu is gone */
static CriuResp *converse(int sk, const criu_opts *o)
{
	for (;;) {
		int fd;
		CriuResp *r = recv_resp(sk, &fd);
		if (!r || r->type != CRIU_REQ_TYPE__NOTIFY) {
			if (fd >= 0)
				close(fd);
			return r;
		}
		struct criu_notify_arg na = { r->notify && r->notify->has_pid ? r->notify->pid : 0 };
		int ok = 1;
		orphan_master = fd;
		if (o->notify && r->notify && r->notify->script)
			ok = o->notify(r->notify->script, &na) == 0;
		/* the callback dup()s the master if it keeps it */
		orphan_master = -1;
		if (fd >= 0)
			close(fd);
		criu_resp__free_unpacked(r, NULL);
		CriuReq ans = CRIU_REQ__INIT;
		ans.type = CRIU_REQ_TYPE__NOTIFY;
		ans.has_notify_success = true;
		ans.notify_success = ok;
		if (send_req(sk, &ans))
			return NULL;
	}
}

/* one request to a new `criu swrk`; its answer into *out (freed by the caller) */
static int request(criu_opts *o, CriuReq *req, CriuResp **out)
{
	int sk = -1, status, ret;
	pid_t pid = start_swrk(o, &sk);

	last_error[0] = 0;
	if (pid < 0)
		return pid;
	if (o->notify) {
		o->rpc.has_notify_scripts = true;
		o->rpc.notify_scripts = true;
	}
	ret = send_req(sk, req);
	*out = ret ? NULL : converse(sk, o);
	shutdown(sk, SHUT_RDWR);
	close(sk);
	while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
		;
	if (!*out) {
		snprintf(last_error, sizeof(last_error), "no answer from criu swrk");
		return -ECOMM;
	}
	if (!(*out)->success) {
		snprintf(last_error, sizeof(last_error), "%s",
			 (*out)->cr_errmsg ? (*out)->cr_errmsg : "criu failed");
		return -EBADE;
	}
	return 0;
}

static int simple(criu_opts *o, CriuReqType type, bool with_opts)
{
	CriuReq req = CRIU_REQ__INIT;
	CriuResp *r;

	req.type = type;
	if (with_opts)
		req.opts = &o->rpc;
	int ret = request(o, &req, &r);
	if (r)
		criu_resp__free_unpacked(r, NULL);
	return ret;
}

int criu_local_check(criu_opts *o) { return simple(o, CRIU_REQ_TYPE__CHECK, true); }
int criu_local_dump(criu_opts *o) { return simple(o, CRIU_REQ_TYPE__DUMP, true); }
int criu_local_pre_dump(criu_opts *o) { return simple(o, CRIU_REQ_TYPE__PRE_DUMP, true); }

static int restore(criu_opts *o, bool child)
{
	CriuReq req = CRIU_REQ__INIT;
	CriuResp *r;

	req.type = CRIU_REQ_TYPE__RESTORE;
	req.opts = &o->rpc;
	o->rpc.has_rst_sibling = true;
	o->rpc.rst_sibling = child;
	int ret = request(o, &req, &r);
	if (!ret)
		ret = r->restore ? r->restore->pid : -EBADMSG;
	if (r)
		criu_resp__free_unpacked(r, NULL);
	return ret;
}

int criu_local_restore(criu_opts *o) { return restore(o, false); }
int criu_local_restore_child(criu_opts *o) { return restore(o, true); }

int criu_local_get_version(criu_opts *o)
{
	CriuReq req = CRIU_REQ__INIT;
	CriuResp *r;

	req.type = CRIU_REQ_TYPE__VERSION;
	int ret = request(o, &req, &r);
	if (!ret)
		ret = r->version ? r->version->major_number * 10000 +
				   r->version->minor_number * 100 + r->version->sublevel
				 : -EBADMSG;
	if (r)
		criu_resp__free_unpacked(r, NULL);
	return ret;
}

int criu_local_check_version(criu_opts *o, int minimum)
{
	int v = criu_local_get_version(o);
	return v < 0 ? v : v >= minimum;
}

int criu_local_feature_check(criu_opts *o, struct criu_feature_check *f, size_t size)
{
	CriuReq req = CRIU_REQ__INIT;
	CriuFeatures q = CRIU_FEATURES__INIT;
	CriuResp *r;

	if (size < sizeof(*f))
		return -EINVAL;
	q.has_mem_track = f->mem_track;
	q.mem_track = f->mem_track;
	q.has_lazy_pages = f->lazy_pages;
	q.lazy_pages = f->lazy_pages;
	q.has_pidfd_store = f->pidfd_store;
	q.pidfd_store = f->pidfd_store;
	req.type = CRIU_REQ_TYPE__FEATURE_CHECK;
	req.features = &q;
	int ret = request(o, &req, &r);
	if (!ret) {
		const CriuFeatures *a = r->features;
		f->mem_track = f->mem_track && a && a->has_mem_track && a->mem_track;
		f->lazy_pages = f->lazy_pages && a && a->has_lazy_pages && a->lazy_pages;
		f->pidfd_store = f->pidfd_store && a && a->has_pidfd_store && a->pidfd_store;
	}
	if (r)
		criu_resp__free_unpacked(r, NULL);
	return ret;
}

/* the library's own options, for the calls without "local" */
int criu_init_opts(void)
{
	criu_local_free_opts(lib_opts);
	lib_opts = NULL;
	return criu_local_init_opts(&lib_opts);
}

void criu_free_opts(void)
{
	criu_local_free_opts(lib_opts);
	lib_opts = NULL;
}

int criu_set_service_binary(const char *p) { return criu_local_set_service_binary(lib_opts, p); }
void criu_set_pid(int v) { criu_local_set_pid(lib_opts, v); }
void criu_set_images_dir_fd(int v) { criu_local_set_images_dir_fd(lib_opts, v); }
void criu_set_work_dir_fd(int v) { criu_local_set_work_dir_fd(lib_opts, v); }
int criu_set_parent_images(const char *p) { return criu_local_set_parent_images(lib_opts, p); }
void criu_set_leave_running(bool v) { criu_local_set_leave_running(lib_opts, v); }
void criu_set_ext_unix_sk(bool v) { criu_local_set_ext_unix_sk(lib_opts, v); }
void criu_set_shell_job(bool v) { criu_local_set_shell_job(lib_opts, v); }
void criu_set_file_locks(bool v) { criu_local_set_file_locks(lib_opts, v); }
void criu_set_tcp_established(bool v) { criu_local_set_tcp_established(lib_opts, v); }
void criu_set_evasive_devices(bool v) { criu_local_set_evasive_devices(lib_opts, v); }
void criu_set_orphan_pts_master(bool v) { criu_local_set_orphan_pts_master(lib_opts, v); }
void criu_set_track_mem(bool v) { criu_local_set_track_mem(lib_opts, v); }
void criu_set_lazy_pages(bool v) { criu_local_set_lazy_pages(lib_opts, v); }
void criu_set_log_level(int v) { criu_local_set_log_level(lib_opts, v); }
int criu_set_log_file(const char *f) { return criu_local_set_log_file(lib_opts, f); }
int criu_add_inherit_fd(int fd, const char *key) { return criu_local_add_inherit_fd(lib_opts, fd, key); }
void criu_set_notify_cb(criu_notify_cb_t cb) { criu_local_set_notify_cb(lib_opts, cb); }
void criu_set_manage_cgroups(bool v) { criu_local_set_manage_cgroups(lib_opts, v); }
void criu_set_manage_cgroups_mode(enum criu_cg_mode m) { criu_local_set_manage_cgroups_mode(lib_opts, m); }
int criu_set_freeze_cgroup(const char *cg) { return criu_local_set_freeze_cgroup(lib_opts, cg); }
int criu_add_cg_root(const char *ctrl, const char *path) { return criu_local_add_cg_root(lib_opts, ctrl, path); }
int criu_set_root(const char *r) { return criu_local_set_root(lib_opts, r); }
int criu_add_ext_mount(const char *k, const char *v) { return criu_local_add_ext_mount(lib_opts, k, v); }
int criu_add_external(const char *k) { return criu_local_add_external(lib_opts, k); }
int criu_join_ns_add(const char *ns, const char *file, const char *extra)
{
	return criu_local_join_ns_add(lib_opts, ns, file, extra);
}
int criu_set_network_lock(enum criu_network_lock_method m) { return criu_local_set_network_lock(lib_opts, m); }
void criu_set_tcp_close(bool v) { criu_local_set_tcp_close(lib_opts, v); }
int criu_set_empty_ns(int ns) { return criu_local_set_empty_ns(lib_opts, ns); }
void criu_set_auto_ext_mnt(bool v) { criu_local_set_auto_ext_mnt(lib_opts, v); }
int criu_set_config_file(const char *p) { return criu_local_set_config_file(lib_opts, p); }
int criu_set_lsm_profile(const char *n) { return criu_local_set_lsm_profile(lib_opts, n); }
int criu_set_lsm_mount_context(const char *n) { return criu_local_set_lsm_mount_context(lib_opts, n); }
int criu_check(void) { return criu_local_check(lib_opts); }
int criu_dump(void) { return criu_local_dump(lib_opts); }
int criu_pre_dump(void) { return criu_local_pre_dump(lib_opts); }
int criu_restore(void) { return criu_local_restore(lib_opts); }
int criu_restore_child(void) { return criu_local_restore_child(lib_opts); }
int criu_get_version(void) { return criu_local_get_version(lib_opts); }
int criu_check_version(int minimum) { return criu_local_check_version(lib_opts, minimum); }
int criu_feature_check(struct criu_feature_check *f, size_t size) { return criu_local_feature_check(lib_opts, f, size); }
