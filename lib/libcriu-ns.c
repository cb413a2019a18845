/*
 * libcriu-ns.c - the setters of libcriu for containers (the ones crun
 * calls): the tree's root, external mounts, external namespaces and
 * namespaces to join, the network lock, --tcp-close, the LSM settings and
 * the RPC config file.  Each fills a field of the criu_opts message; criu
 * decides (a setting it does not serve is refused by name when the request
 * is made: criu_get_last_error()).
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "lib/libcriu-opts.h"

/* one more slot in a repeated field: 0 or -ENOMEM */
static int grow(void *arr, size_t n, size_t size)
{
	void **a = arr;
	void *p = realloc(*a, (n + 1) * size);

	if (!p)
		return -ENOMEM;
	*a = p;
	return 0;
}

int criu_local_set_root(criu_opts *o, const char *root) { return libcriu_set_str(&o->rpc.root, root); }
int criu_local_set_lsm_profile(criu_opts *o, const char *name) { return libcriu_set_str(&o->rpc.lsm_profile, name); }
int criu_local_set_config_file(criu_opts *o, const char *path) { return libcriu_set_str(&o->rpc.config_file, path); }

int criu_local_set_lsm_mount_context(criu_opts *o, const char *name)
{
	return libcriu_set_str(&o->rpc.lsm_mount_context, name);
}

void criu_local_set_tcp_close(criu_opts *o, bool v)
{
	o->rpc.has_tcp_close = true;
	o->rpc.tcp_close = v;
}

void criu_local_set_auto_ext_mnt(criu_opts *o, bool v)
{
	o->rpc.has_auto_ext_mnt = true;
	o->rpc.auto_ext_mnt = v;
}

int criu_local_set_empty_ns(criu_opts *o, int namespaces)
{
	o->rpc.has_empty_ns = true;
	o->rpc.empty_ns = namespaces;
	return 0;
}

int criu_local_set_network_lock(criu_opts *o, enum criu_network_lock_method m)
{
	if (m < CRIU_NETWORK_LOCK_IPTABLES || m > CRIU_NETWORK_LOCK_SKIP)
		return -EINVAL;
	o->rpc.has_network_lock = true;
	o->rpc.network_lock = (CriuNetworkLockMethod)m;
	return 0;
}

/* the mount at KEY is external: at dump KEY is its mount point and VAL its
 * name; at restore KEY the name and VAL what to bind there (--external mnt[]) */
int criu_local_add_ext_mount(criu_opts *o, const char *key, const char *val)
{
	ExtMountMap *m = malloc(sizeof(*m));

	if (!m || !key || !val || grow(&o->rpc.ext_mnt, o->rpc.n_ext_mnt, sizeof(*o->rpc.ext_mnt))) {
		free(m);
		return m ? -EINVAL : -ENOMEM;
	}
	ext_mount_map__init(m);
	m->key = strdup(key);
	m->val = strdup(val);
	o->rpc.ext_mnt[o->rpc.n_ext_mnt++] = m;
	return m->key && m->val ? 0 : -ENOMEM;
}

/* --external KEY: "net[INODE]:NAME", "mnt[PATH]:NAME", "veth[IF]:OUT", ... */
int criu_local_add_external(criu_opts *o, const char *key)
{
	char *k = key ? strdup(key) : NULL;

	if (!k || grow(&o->rpc.external, o->rpc.n_external, sizeof(*o->rpc.external))) {
		free(k);
		return key ? -ENOMEM : -EINVAL;
	}
	o->rpc.external[o->rpc.n_external++] = k;
	return 0;
}

/* restore into the existing namespace NS ("uts", "ipc", ...) that the file
 * NS_FILE (or the process whose pid it is) is in */
int criu_local_join_ns_add(criu_opts *o, const char *ns, const char *ns_file, const char *extra_opt)
{
	JoinNamespace *j = malloc(sizeof(*j));

	if (!j || !ns || !ns_file || grow(&o->rpc.join_ns, o->rpc.n_join_ns, sizeof(*o->rpc.join_ns))) {
		free(j);
		return j ? -EINVAL : -ENOMEM;
	}
	join_namespace__init(j);
	j->ns = strdup(ns);
	j->ns_file = strdup(ns_file);
	j->extra_opt = extra_opt ? strdup(extra_opt) : NULL;
	o->rpc.join_ns[o->rpc.n_join_ns++] = j;
	return j->ns && j->ns_file && (!extra_opt || j->extra_opt) ? 0 : -ENOMEM;
}

void libcriu_ns_free(criu_opts *o)
{
	for (size_t i = 0; i < o->rpc.n_ext_mnt; i++) {
		free(o->rpc.ext_mnt[i]->key);
		free(o->rpc.ext_mnt[i]->val);
		free(o->rpc.ext_mnt[i]);
	}
	free(o->rpc.ext_mnt);
	for (size_t i = 0; i < o->rpc.n_external; i++)
		free(o->rpc.external[i]);
	free(o->rpc.external);
	for (size_t i = 0; i < o->rpc.n_join_ns; i++) {
		free(o->rpc.join_ns[i]->ns);
		free(o->rpc.join_ns[i]->ns_file);
		free(o->rpc.join_ns[i]->extra_opt);
		free(o->rpc.join_ns[i]);
	}
	free(o->rpc.join_ns);
	free(o->rpc.root);
	free(o->rpc.lsm_profile);
	free(o->rpc.lsm_mount_context);
	free(o->rpc.config_file);
}
