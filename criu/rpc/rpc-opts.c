/*
 * rpc-opts.c - a request's criu_opts made into the struct opts of the
 * command line.  One table says, for each field a client may send, which
 * command line option it is (the value goes through opts_parse, main.c: one
 * meaning per option), or that it is the RPC's own (the client's fds, the
 * log level, the page server, inherited fds, notifications), or why it is
 * refused.  A field missing from the table, or refused, fails the request
 * with one line naming it when the client sends it with a value that asks
 * for something (true, a number other than its default, a string, a list);
 * sent as false or empty it asks for nothing and is fine.
 *
 * Owns the session of a request: the client's images and work directories
 * opened through /proc/PEER/fd/N, criu's cwd moved to the work directory
 * (the log file is relative to it) and back, and the capture of the error
 * lines that become cr_errmsg.
 */
#define LOG_PREFIX "swrk: "
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/log.h"
#include "criu/rpc/rpc.h"

#define EXT_PROPAGATION "external mounts are restored private; their sharing is not restored yet"
#define CG_PROPS "the cgroups' settings are not dumped or restored yet (membership only)"

enum how {
	AS_OPTION,	/* the command line option cli (with the value unless bool) */
	RPC_OWN,	/* handled below */
	ACCEPTED,	/* nothing to do: what it asks for is what criu does anyway */
	REFUSED,	/* why */
};

struct opt_row {
	const char *field;
	enum how how;
	const char *cli_or_why;
};

static const struct opt_row opt_table[] = {
	{ "images_dir_fd", RPC_OWN, NULL },
	{ "images_dir", RPC_OWN, NULL },
	{ "work_dir_fd", RPC_OWN, NULL },
	{ "pid", RPC_OWN, NULL },
	{ "log_level", RPC_OWN, NULL },
	{ "log_file", RPC_OWN, NULL },
	{ "ps", RPC_OWN, NULL },
	{ "inherit_fd", RPC_OWN, NULL },
	{ "rst_sibling", RPC_OWN, NULL },
	{ "notify_scripts", RPC_OWN, NULL },
	{ "config_file", RPC_OWN, NULL },
	{ "manage_cgroups_mode", RPC_OWN, NULL },
	{ "cg_root", RPC_OWN, NULL },
	{ "network_lock", RPC_OWN, NULL },
	{ "leave_running", AS_OPTION, "--leave-running" },
	{ "ext_unix_sk", AS_OPTION, "--ext-unix-sk" },
	{ "shell_job", AS_OPTION, "--shell-job" },
	{ "file_locks", AS_OPTION, "--file-locks" },
	{ "evasive_devices", AS_OPTION, "--evasive-devices" },
	{ "tcp_established", AS_OPTION, "--tcp-established" },
	{ "tcp_close", AS_OPTION, "--tcp-close" },
	{ "parent_img", AS_OPTION, "--prev-images-dir" },
	{ "track_mem", AS_OPTION, "--track-mem" },
	{ "lazy_pages", AS_OPTION, "--lazy-pages" },
	{ "status_fd", AS_OPTION, "--status-fd" },
	{ "freeze_cgroup", AS_OPTION, "--freeze-cgroup" },
	/* the bare option: --manage-cgroups (soft); a mode comes as manage_cgroups_mode */
	{ "manage_cgroups", AS_OPTION, "--manage-cgroups" },
	{ "tls", AS_OPTION, "--tls" },
	{ "tls_cacert", AS_OPTION, "--tls-cacert" },
	{ "tls_cacrl", AS_OPTION, "--tls-cacrl" },
	{ "tls_cert", AS_OPTION, "--tls-cert" },
	{ "tls_key", AS_OPTION, "--tls-key" },
	{ "tls_no_cn_verify", AS_OPTION, "--tls-no-cn-verify" },
	{ "orphan_pts_master", AS_OPTION, "--orphan-pts-master" },
	/* deleted files are saved with their contents, of any size */
	{ "link_remap", ACCEPTED, NULL },
	{ "ghost_limit", ACCEPTED, NULL },
	/* memory is copied criu's own way */
	{ "pre_dump_mode", ACCEPTED, NULL },
	{ "file_validation_method", ACCEPTED, NULL },
	{ "timeout", ACCEPTED, NULL },
	{ "weak_sysctls", ACCEPTED, NULL },
	{ "display_stats", ACCEPTED, NULL },
	{ "root", AS_OPTION, "--root" },
	{ "ext_mnt", RPC_OWN, NULL },
	{ "external", RPC_OWN, NULL },
	{ "empty_ns", RPC_OWN, NULL },
	{ "join_ns", RPC_OWN, NULL },
	{ "cgroup_props", REFUSED, CG_PROPS },
	{ "cgroup_props_file", REFUSED, CG_PROPS },
	{ "cgroup_dump_controller", REFUSED, CG_PROPS },
	{ "cgroup_yard", REFUSED, "cgroups are joined through the host's mounts; a cgroup yard is not supported" },
	{ "auto_ext_mnt", AS_OPTION, "--external=mnt[]" },
	{ "ext_sharing", REFUSED, EXT_PROPAGATION },
	{ "ext_masters", REFUSED, EXT_PROPAGATION },
	{ "skip_mnt", REFUSED, "skipping mounts is not supported (name them in ext_mnt)" },
	{ "enable_fs", REFUSED, "a mount of an unsupported file system is refused at dump; enable_fs cannot change that" },
	{ "mntns_compat_mode", ACCEPTED, NULL },	/* one way of restoring mounts here */
	{ "veths", REFUSED, "network namespace devices are not supported yet" },
	{ "tcp_skip_in_flight", REFUSED, "connections not yet accepted are refused at dump; skipping them is not supported" },
	{ "unix_sk_ino", REFUSED, "use ext_unix_sk (external unix sockets by inode are not supported)" },
	{ "auto_dedup", REFUSED, "deduplication of incremental images is not supported" },
	{ "leave_stopped", REFUSED, "leaving the tree stopped after dump is not supported" },
};

static const struct opt_row *find_row(const char *field)
{
	for (size_t i = 0; i < sizeof(opt_table) / sizeof(opt_table[0]); i++)
		if (!strcmp(opt_table[i].field, field))
			return &opt_table[i];
	return NULL;
}

/* does the client ask for something with field f (not false, empty or the default)? */
static bool field_asks(const CriuOpts *ro, const ProtobufCFieldDescriptor *f)
{
	const char *base = (const char *)ro;
	const void *v = base + f->offset;

	if (f->label == PROTOBUF_C_LABEL_REPEATED)
		return *(const size_t *)(base + f->quantifier_offset) > 0;
	switch (f->type) {
	case PROTOBUF_C_TYPE_STRING:
		return *(char *const *)v && **(char *const *)v;
	case PROTOBUF_C_TYPE_MESSAGE:
		return *(void *const *)v != NULL;
	default:
		break;
	}
	if (f->label == PROTOBUF_C_LABEL_OPTIONAL && !*(const protobuf_c_boolean *)(base + f->quantifier_offset))
		return false;
	switch (f->type) {
	case PROTOBUF_C_TYPE_BOOL:
		return *(const protobuf_c_boolean *)v;
	case PROTOBUF_C_TYPE_INT32:
	case PROTOBUF_C_TYPE_UINT32:
	case PROTOBUF_C_TYPE_ENUM:
		return f->default_value ? *(const int32_t *)v != *(const int32_t *)f->default_value
					: *(const int32_t *)v != 0;
	default:
		return true;
	}
}

static int add_arg(struct rpc_session *s, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
static int add_arg(struct rpc_session *s, const char *fmt, ...)
{
	va_list ap;
	char *a;

	if (s->argc >= (int)(sizeof(s->argv) / sizeof(s->argv[0])) - 1)
		return -1;
	va_start(ap, fmt);
	int r = vasprintf(&a, fmt, ap);
	va_end(ap);
	if (r < 0)
		return -1;
	s->argv[s->argc++] = a;
	return 0;
}

/* the table applied: command line arguments into s->argv, or the refusal */
static int table_args(const CriuOpts *ro, struct rpc_session *s, char *err, size_t len)
{
	const ProtobufCMessageDescriptor *d = &criu_opts__descriptor;

	/* a field of a newer schema: something asked for that this criu cannot know */
	if (ro->base.n_unknown_fields) {
		snprintf(err, len, "option number %u of criu_opts is not known to this criu",
			 ro->base.unknown_fields[0].tag);
		return -1;
	}

	for (unsigned i = 0; i < d->n_fields; i++) {
		const ProtobufCFieldDescriptor *f = &d->fields[i];
		const struct opt_row *r = find_row(f->name);
		const void *v = (const char *)ro + f->offset;

		if (!field_asks(ro, f))
			continue;
		if (!r) {
			snprintf(err, len, "option %s is not supported by this criu", f->name);
			return -1;
		}
		if (r->how == REFUSED) {
			snprintf(err, len, "option %s: %s", f->name, r->cli_or_why);
			return -1;
		}
		if (r->how != AS_OPTION)
			continue;
		if (add_arg(s, "%s", r->cli_or_why))
			return -1;
		if (f->type == PROTOBUF_C_TYPE_STRING && add_arg(s, "%s", *(char *const *)v))
			return -1;
		if (f->type == PROTOBUF_C_TYPE_INT32 && add_arg(s, "%d", *(const int32_t *)v))
			return -1;
	}
	return 0;
}

/* criu_cg_mode as --manage-cgroups names it (the option judges the name) */
static const char *cg_mode_name(CriuCgMode m)
{
	switch (m) {
	case CRIU_CG_MODE__IGNORE: return "ignore";
	case CRIU_CG_MODE__CG_NONE: return "none";
	case CRIU_CG_MODE__PROPS: return "props";
	case CRIU_CG_MODE__SOFT: return "soft";
	case CRIU_CG_MODE__FULL: return "full";
	case CRIU_CG_MODE__STRICT: return "strict";
	case CRIU_CG_MODE__DEFAULT: return "soft";
	default: return NULL;
	}
}

/* criu_network_lock_method as --network-lock names it */
static const char *netlock_name(CriuNetworkLockMethod m)
{
	switch (m) {
	case CRIU_NETWORK_LOCK_METHOD__IPTABLES: return "iptables";
	case CRIU_NETWORK_LOCK_METHOD__NFTABLES: return "nftables";
	case CRIU_NETWORK_LOCK_METHOD__SKIP: return "skip";
	default: return NULL;
	}
}

/* the enums and lists the table leaves to the RPC, as their options */
static int own_enum_args(const CriuOpts *ro, struct rpc_session *s, char *err, size_t len)
{
	if (ro->has_manage_cgroups_mode) {
		const char *m = cg_mode_name(ro->manage_cgroups_mode);
		if (!m) {
			snprintf(err, len, "option manage_cgroups_mode %d: no such mode", ro->manage_cgroups_mode);
			return -1;
		}
		if (add_arg(s, "--manage-cgroups=%s", m))
			return -1;
	}
	if (ro->has_network_lock) {
		const char *m = netlock_name(ro->network_lock);
		if (!m) {
			snprintf(err, len, "option network_lock %d: no such method", ro->network_lock);
			return -1;
		}
		if (add_arg(s, "--network-lock=%s", m))
			return -1;
	}
	/* ext_mnt {key, val}: at dump the mount point and its name, at restore
	 * the name and the host path: --external mnt[KEY]:VAL either way */
	for (size_t i = 0; i < ro->n_ext_mnt; i++)
		if (add_arg(s, "--external=mnt[%s]:%s", ro->ext_mnt[i]->key, ro->ext_mnt[i]->val))
			return -1;
	for (size_t i = 0; i < ro->n_external; i++)
		if (add_arg(s, "--external=%s", ro->external[i]))
			return -1;
	/* join_ns {ns, ns_file, extra_opt}: --join-ns NS:FILE (extra options refused there) */
	for (size_t i = 0; i < ro->n_join_ns; i++) {
		const JoinNamespace *j = ro->join_ns[i];
		if (add_arg(s, "--join-ns=%s:%s%s%s", j->ns, j->ns_file, j->extra_opt ? "," : "",
			    j->extra_opt ? j->extra_opt : ""))
			return -1;
	}
	/* CLONE_NEW* bits: the option judges them */
	if (ro->has_empty_ns && ro->empty_ns && add_arg(s, "--empty-ns=%#x", ro->empty_ns))
		return -1;
	for (size_t i = 0; i < ro->n_cg_root; i++) {
		const CgroupRoot *r = ro->cg_root[i];
		if (r->ctrl && *r->ctrl ? add_arg(s, "--cgroup-root=%s:%s", r->ctrl, r->path)
					: add_arg(s, "--cgroup-root=%s", r->path))
			return -1;
	}
	return 0;
}

/* the fields the table leaves to the RPC: as arguments too where they are options */
static int own_args(const CriuOpts *ro, struct rpc_session *s, char *err, size_t len)
{
	if (own_enum_args(ro, s, err, len))
		return -1;
	if (ro->has_pid && ro->pid > 0 && add_arg(s, "--tree=%d", ro->pid))
		return -1;
	if (add_arg(s, "-v%d", ro->log_level < 0 ? 0 : ro->log_level))	/* the default: 2 */
		return -1;
	for (size_t i = 0; i < ro->n_inherit_fd; i++)
		if (add_arg(s, "--inherit-fd=fd[%d]:%s", ro->inherit_fd[i]->fd, ro->inherit_fd[i]->key))
			return -1;
	if (ro->ps && ro->ps->address && *ro->ps->address &&
	    add_arg(s, "--address=%s", ro->ps->address))
		return -1;
	if (ro->ps && ro->ps->has_port && ro->ps->port && add_arg(s, "--port=%d", ro->ps->port))
		return -1;
	if (ro->ps && ro->ps->has_fd && ro->ps->fd >= 0) {
		snprintf(err, len, "option ps.fd: a page server socket passed in is not supported");
		return -1;
	}
	return 0;
}

/* a directory of the client: its fd N opened as /proc/PEER/fd/N */
static int open_client_dir(const struct rpc_conn *c, const char *what, int n, char *err, size_t len)
{
	char path[64];
	int fd;

	snprintf(path, sizeof(path), "/proc/%d/fd/%d", c->peer, n);
	fd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0)
		snprintf(err, len, "%s %d: cannot open %s: %s", what, n, path, strerror(errno));
	return fd;
}

/* a path for fd (the lazy-pages daemon is given one): its own if it still leads to it */
static void dir_path(int fd, char *buf, size_t len)
{
	char link[64];
	struct stat a, b;
	ssize_t n;

	snprintf(link, sizeof(link), "/proc/self/fd/%d", fd);
	n = readlink(link, buf, len - 1);
	if (n > 0 && buf[0] == '/') {
		buf[n] = 0;
		if (!stat(buf, &a) && !fstat(fd, &b) && a.st_dev == b.st_dev && a.st_ino == b.st_ino)
			return;
	}
	/* reachable only through the fd: kept open in the daemon too */
	fcntl(fd, F_SETFD, 0);
	snprintf(buf, len, "%s", link);
}

static int open_dirs(struct rpc_conn *c, const CriuOpts *ro, struct rpc_session *s, char *err,
		     size_t len)
{
	if (ro->has_images_dir_fd && ro->images_dir_fd >= 0)
		s->images_fd = open_client_dir(c, "images_dir_fd", ro->images_dir_fd, err, len);
	else if (ro->images_dir && *ro->images_dir &&
		 (s->images_fd = open(ro->images_dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) < 0)
		snprintf(err, len, "images_dir %s: %s", ro->images_dir, strerror(errno));
	if (s->images_fd == -1 && err[0])
		return -1;
	if (s->images_fd >= 0)
		dir_path(s->images_fd, s->images_dir, sizeof(s->images_dir));
	if (ro->has_work_dir_fd && ro->work_dir_fd >= 0 &&
	    (s->work_fd = open_client_dir(c, "work_dir_fd", ro->work_dir_fd, err, len)) < 0)
		return -1;
	/* the log file is in the work directory, by default the images directory */
	int wd = s->work_fd >= 0 ? s->work_fd : s->images_fd;
	if (wd >= 0)
		dir_path(wd, s->work_dir, sizeof(s->work_dir));
	if (wd >= 0 && fchdir(wd)) {
		snprintf(err, len, "cannot enter the work directory: %s", strerror(errno));
		return -1;
	}
	return 0;
}

/* parses s->argv (and the config file first) with stderr into the capture */
static int parse_args(const CriuOpts *ro, struct rpc_session *s)
{
	int saved = dup(STDERR_FILENO), r = 0;

	if (saved < 0)
		return -1;
	dup2(s->err_fd, STDERR_FILENO);
	if (ro->config_file && *ro->config_file)
		r = opts_read_config(ro->config_file, &s->o, true);
	if (!r) {
		s->argv[s->argc] = NULL;
		r = opts_parse(s->argc, s->argv, &s->o);
		if (!r && optind < s->argc)
			r = -1;
	}
	dup2(saved, STDERR_FILENO);
	close(saved);
	if (r) {
		/* the parser's line, into the log too */
		char line[1024];
		rpc_session_error(s, line, sizeof(line));
		if (line[0])
			log_msg(LOG_ERROR, "", "%s", line + 7);
	}
	return r ? -1 : 0;
}

int rpc_session_open(struct rpc_conn *c, const CriuOpts *ro, const char *action,
		     struct rpc_session *s, char *err, size_t len)
{
	static const CriuOpts none = CRIU_OPTS__INIT;

	*s = (struct rpc_session){ .o = OPTS_INIT, .images_fd = -1, .work_fd = -1, .conn = c };
	err[0] = 0;
	if (!ro)
		ro = &none;
	s->cwd_fd = open(".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	s->err_fd = memfd_create("criu-rpc-errors", MFD_CLOEXEC);
	if (s->err_fd < 0 || s->cwd_fd < 0) {
		snprintf(err, len, "cannot start the request: %s", strerror(errno));
		return -1;
	}
	s->argv[s->argc++] = strdup("criu");
	if (open_dirs(c, ro, s, err, len))
		return -1;
	/* the log first (in the work directory): a refused option is said there too */
	if (log_init(ro->log_file, ro->log_level)) {
		snprintf(err, len, "cannot open the log file %s in the work directory", ro->log_file);
		return -1;
	}
	log_set_fds(log_get_fd(), s->err_fd);
	if (table_args(ro, s, err, len) || own_args(ro, s, err, len)) {
		pr_err("%s", err);
		return -1;
	}
	if (parse_args(ro, s)) {
		rpc_session_error(s, err, len);
		if (!err[0])
			snprintf(err, len, "the options of the request are not valid");
		return -1;
	}
	s->o.action = action;
	if (s->images_fd >= 0)
		s->o.images_dir = s->images_dir;
	if (s->work_dir[0] && !s->o.work_dir)
		s->o.work_dir = s->work_dir;
	if (s->o.pid <= 0)
		s->o.pid = c->peer;	/* as upstream: no pid, the client itself */
	s->o.rst_sibling = ro->rst_sibling;
	s->o.detach = true;	/* a restore answers once the tree runs */
	s->notify = (struct notifier){ rpc_notify, s };
	if (ro->notify_scripts)
		s->o.notify = &s->notify;
	return 0;
}

void rpc_session_error(struct rpc_session *s, char *buf, size_t len)
{
	char text[8192];
	ssize_t n = s->err_fd >= 0 ? pread(s->err_fd, text, sizeof(text) - 1, 0) : -1;
	char *line = NULL;

	buf[0] = 0;
	if (n <= 0)
		return;
	text[n] = 0;
	for (char *p = text; p && *p; p = strchr(p, '\n') ? strchr(p, '\n') + 1 : NULL)
		if (!strncmp(p, "error: ", 7)) {
			line = p;
			break;
		}
	if (!line)
		return;
	line[strcspn(line, "\n")] = 0;
	snprintf(buf, len, "%s", line);
}

void rpc_session_close(struct rpc_session *s)
{
	log_init(NULL, LOG_WARN);
	log_set_fds(STDERR_FILENO, -1);
	if (s->cwd_fd >= 0 && fchdir(s->cwd_fd)) {
	}
	for (int i = 0; i < s->argc; i++)
		free(s->argv[i]);
	s->argc = 0;
	int *fds[] = { &s->images_fd, &s->work_fd, &s->cwd_fd, &s->err_fd };
	for (size_t i = 0; i < sizeof(fds) / sizeof(fds[0]); i++)
		if (*fds[i] >= 0) {
			close(*fds[i]);
			*fds[i] = -1;
		}
}
