/*
 * net-opts.h - the command line's network namespace options (net-opts.c):
 * `--external veth[IFNAME]:OUTSIDE[@BRIDGE]` (a veth whose peer is outside
 * the tree's network namespace: at restore the pair is made again, the
 * peer called OUTSIDE in criu's namespace, enslaved to BRIDGE if given),
 * `--external macvlan[IFNAME]:PARENT` (a macvlan on criu's device PARENT)
 * and `--external net[INODE]:KEY` (the tree's network namespace is the
 * caller's: not saved; restore joins the one `--inherit-fd fd[N]:KEY`
 * hands over).  Parsing only; no global state.
 */
#ifndef CRIU_NET_NET_OPTS_H
#define CRIU_NET_NET_OPTS_H

#include <stddef.h>

struct net_veth_ext {
	const char *kind;	/* "veth", "macvlan" */
	const char *inside;	/* the device in the tree's namespace */
	const char *outside;	/* its peer (veth) or parent (macvlan) in criu's */
	const char *bridge;	/* NULL: none */
};

struct net_opts {
	struct net_veth_ext *veth;
	size_t nr_veth;
	unsigned long ext_ns_inode;	/* net[INODE]: 0 none */
	const char *ext_ns_key;		/* its KEY */
};

/* one --external argument: 0 taken, 1 not a network kind, -1 malformed
 * (one line said) */
int net_opts_external(struct net_opts *n, const char *arg);
/* the --external KIND[] of a device, or NULL */
const struct net_veth_ext *net_opts_dev(const struct net_opts *n, const char *kind, const char *inside);
#define net_opts_veth(n, inside) net_opts_dev(n, "veth", inside)

#endif /* CRIU_NET_NET_OPTS_H */
