/*
 * criu.h - libcriu: a C client of `criu swrk` (Documentation/rpc.md) with
 * the function names of upstream CRIU's libcriu, for the subset this criu
 * serves.  Each call that talks to criu starts `criu swrk` on a fresh
 * socketpair (the binary set with criu_set_service_binary, "criu" in PATH
 * by default), sends one request and waits for the answer.
 *
 * Options live in a criu_opts made by criu_local_init_opts and passed to
 * the criu_local_* calls; the criu_* calls without "local" use one set of
 * options kept by the library (criu_init_opts), as upstream's do.
 *
 * Return values follow libcriu: 0 (or a pid, a version) on success; a
 * negative number on failure: -EBADE when criu answered that the request
 * failed (criu_get_last_error() then gives criu's one-line reason),
 * -ECOMM when criu could not be reached or talked to, -errno for a local
 * error.  criu_check_version returns 1 when the version is at least the
 * one given, 0 when not.
 */
#ifndef LIBCRIU_CRIU_H
#define LIBCRIU_CRIU_H

#include <stdbool.h>

typedef struct criu_opts criu_opts;

/* --manage-cgroups modes, with the wire's numbers (restore serves soft
 * and ignore; default is soft) */
enum criu_cg_mode {
	CRIU_CG_MODE_IGNORE = 0,
	CRIU_CG_MODE_NONE = 1,
	CRIU_CG_MODE_PROPS = 2,
	CRIU_CG_MODE_SOFT = 3,
	CRIU_CG_MODE_FULL = 4,
	CRIU_CG_MODE_STRICT = 5,
	CRIU_CG_MODE_DEFAULT = 6,
};
/* --network-lock methods, with the wire's numbers */
enum criu_network_lock_method {
	CRIU_NETWORK_LOCK_IPTABLES = 1,
	CRIU_NETWORK_LOCK_NFTABLES = 2,
	CRIU_NETWORK_LOCK_SKIP = 3,
};
typedef struct criu_notify_arg *criu_notify_arg_t;

/* each step of dump and restore (notify_scripts); non-zero fails it */
typedef int (*criu_notify_cb_t)(char *action, criu_notify_arg_t na);

struct criu_feature_check {
	bool mem_track;
	bool lazy_pages;
	bool pidfd_store;
};

int criu_local_init_opts(criu_opts **opts);
void criu_local_free_opts(criu_opts *opts);
int criu_local_set_service_binary(criu_opts *opts, const char *path);
void criu_local_set_pid(criu_opts *opts, int pid);
void criu_local_set_images_dir_fd(criu_opts *opts, int fd);
void criu_local_set_work_dir_fd(criu_opts *opts, int fd);
int criu_local_set_parent_images(criu_opts *opts, const char *path);
void criu_local_set_leave_running(criu_opts *opts, bool leave_running);
void criu_local_set_ext_unix_sk(criu_opts *opts, bool ext_unix_sk);
void criu_local_set_shell_job(criu_opts *opts, bool shell_job);
void criu_local_set_file_locks(criu_opts *opts, bool file_locks);
void criu_local_set_tcp_established(criu_opts *opts, bool tcp_established);
void criu_local_set_evasive_devices(criu_opts *opts, bool evasive_devices);
void criu_local_set_orphan_pts_master(criu_opts *opts, bool orphan_pts_master);
void criu_local_set_track_mem(criu_opts *opts, bool track_mem);
void criu_local_set_lazy_pages(criu_opts *opts, bool lazy_pages);
void criu_local_set_log_level(criu_opts *opts, int log_level);
int criu_local_set_log_file(criu_opts *opts, const char *log_file);
int criu_local_add_inherit_fd(criu_opts *opts, int fd, const char *key);
void criu_local_set_notify_cb(criu_opts *opts, criu_notify_cb_t cb);
void criu_local_set_manage_cgroups(criu_opts *opts, bool manage);
void criu_local_set_manage_cgroups_mode(criu_opts *opts, enum criu_cg_mode mode);
int criu_local_set_freeze_cgroup(criu_opts *opts, const char *cgroup);
int criu_local_add_cg_root(criu_opts *opts, const char *ctrl, const char *path);
/* containers (libcriu-ns.c): the tree's root directory, external mounts
 * (KEY:VAL as --external mnt[KEY]:VAL), externals (--external KEY),
 * namespaces to join at restore (NS "uts" or "ipc", NS_FILE a path such
 * as /proc/PID/ns/uts; EXTRA_OPT must be NULL), the network lock method,
 * --tcp-close, --empty-ns bits, auto_ext_mnt, the RPC config file, and
 * the LSM settings (sent; criu refuses them: not served) */
int criu_local_set_root(criu_opts *opts, const char *root);
int criu_local_add_ext_mount(criu_opts *opts, const char *key, const char *val);
int criu_local_add_external(criu_opts *opts, const char *key);
int criu_local_join_ns_add(criu_opts *opts, const char *ns, const char *ns_file, const char *extra_opt);
int criu_local_set_network_lock(criu_opts *opts, enum criu_network_lock_method method);
void criu_local_set_tcp_close(criu_opts *opts, bool tcp_close);
int criu_local_set_empty_ns(criu_opts *opts, int namespaces);
void criu_local_set_auto_ext_mnt(criu_opts *opts, bool auto_ext_mnt);
int criu_local_set_config_file(criu_opts *opts, const char *path);
int criu_local_set_lsm_profile(criu_opts *opts, const char *name);
int criu_local_set_lsm_mount_context(criu_opts *opts, const char *name);

int criu_local_check(criu_opts *opts);
int criu_local_dump(criu_opts *opts);
int criu_local_pre_dump(criu_opts *opts);
int criu_local_restore(criu_opts *opts);		/* the root's pid */
int criu_local_restore_child(criu_opts *opts);	/* the root, our child: its pid */
int criu_local_get_version(criu_opts *opts);	/* major*10000 + minor*100 + sublevel */
int criu_local_check_version(criu_opts *opts, int minimum);
int criu_local_feature_check(criu_opts *opts, struct criu_feature_check *features, size_t size);

/* the same on the library's own options */
int criu_init_opts(void);
void criu_free_opts(void);
int criu_set_service_binary(const char *path);
void criu_set_pid(int pid);
void criu_set_images_dir_fd(int fd);
void criu_set_work_dir_fd(int fd);
int criu_set_parent_images(const char *path);
void criu_set_leave_running(bool leave_running);
void criu_set_ext_unix_sk(bool ext_unix_sk);
void criu_set_shell_job(bool shell_job);
void criu_set_file_locks(bool file_locks);
void criu_set_tcp_established(bool tcp_established);
void criu_set_evasive_devices(bool evasive_devices);
void criu_set_orphan_pts_master(bool orphan_pts_master);
void criu_set_track_mem(bool track_mem);
void criu_set_lazy_pages(bool lazy_pages);
void criu_set_log_level(int log_level);
int criu_set_log_file(const char *log_file);
int criu_add_inherit_fd(int fd, const char *key);
void criu_set_notify_cb(criu_notify_cb_t cb);
void criu_set_manage_cgroups(bool manage);
void criu_set_manage_cgroups_mode(enum criu_cg_mode mode);
int criu_set_freeze_cgroup(const char *cgroup);
int criu_add_cg_root(const char *ctrl, const char *path);
int criu_set_root(const char *root);
int criu_add_ext_mount(const char *key, const char *val);
int criu_add_external(const char *key);
int criu_join_ns_add(const char *ns, const char *ns_file, const char *extra_opt);
int criu_set_network_lock(enum criu_network_lock_method method);
void criu_set_tcp_close(bool tcp_close);
int criu_set_empty_ns(int namespaces);
void criu_set_auto_ext_mnt(bool auto_ext_mnt);
int criu_set_config_file(const char *path);
int criu_set_lsm_profile(const char *name);
int criu_set_lsm_mount_context(const char *name);
int criu_check(void);
int criu_dump(void);
int criu_pre_dump(void);
int criu_restore(void);
int criu_restore_child(void);
int criu_get_version(void);
int criu_check_version(int minimum);
int criu_feature_check(struct criu_feature_check *features, size_t size);

/* in a notify callback: the restored root's pid (0 before it exists) */
int criu_notify_pid(criu_notify_arg_t na);
/* in the callback of "orphan-pts-master": the new terminal's master (the
 * library closes it when the callback returns: dup() it to keep it), else -1 */
int criu_get_orphan_pts_master_fd(void);
/* criu's one-line reason for the last failed request, or NULL */
const char *criu_get_last_error(void);

#endif /* LIBCRIU_CRIU_H */
