/*
 * netns.h - a tree's own network namespace: its contents saved into
 * netns.img (netns-dump.c, netns-sysctl.c) and made again in the new
 * namespace at restore, before the tree's tasks and sockets
 * (netns-restore.c).  Driven by criu/ns/ (ns-dump.c's helper, the root's
 * first step at restore); knows nothing of processes.
 */
#ifndef CRIU_NET_NETNS_H
#define CRIU_NET_NETNS_H

#include <stdbool.h>
#include <sys/types.h>

#include "images/image.h"
#include "criu/net/net-opts.h"

/* inside the namespace (a helper that joined it): netns.img; root and ino
 * name the process and the namespace in messages */
int netns_dump(int dirfd, uint64_t dump_id, const struct net_opts *o, pid_t root, unsigned long ino);
/* the namespace is the caller's (--external net[INODE]:KEY): netns.img
 * holds only KEY */
int netns_dump_external(int dirfd, uint64_t dump_id, const char *key);
/* the KEY of an external namespace, or NULL if netns.img holds its contents */
const char *netns_external(const struct img_entries *e);
/* 0 if the entries of netns.img are well formed (before anything is made) */
int netns_check(const struct img_entries *e);
/* inside the new namespace, first: links, sysctls, addresses, routes, the
 * ruleset; host: an fd of criu's network namespace (veth peers go there) */
int netns_restore(const struct img_entries *e, const struct net_opts *o, int host);

/* netns-rules.c: every routing rule of the namespace s is in into w */
struct nl_sock;
int netns_rules_dump(struct img_writer *w, struct nl_sock *s, const char *who);
/* a saved rule is well formed */
bool netns_rule_ok(const ProtobufCBinaryData *b);
/* restore: the new namespace's own rules deleted; then each saved one added */
int netns_rules_begin(struct nl_sock *s);
int netns_rule_restore(struct nl_sock *s, const ProtobufCBinaryData *b);

/* netns-neigh.c: the permanent neighbours of the namespace s into w */
int netns_neigh_dump(struct img_writer *w, struct nl_sock *s, const char *who);
/* a saved neighbour is well formed */
bool netns_neigh_ok(const NetNeigh *n);
/* restore: one neighbour added (after the links and addresses) */
int netns_neigh_restore(struct nl_sock *s, const NetNeigh *n);
/* 0 if every qdisc of the namespace s is the kernel's default one;
 * else one line naming the device and the qdisc */
int netns_qdisc_check(struct nl_sock *s, const char *who);

/* netns-bridge.c: a bridge's settings, a port's settings (into nl, to
 * be freed by netns_bridge_free after it is written) */
int netns_bridge_dump(struct nl_sock *s, NetLink *nl, const char *who);
int netns_brport_dump(struct nl_sock *s, NetLink *nl, const char *who);
void netns_bridge_free(NetLink *nl);
/* restore: the bridge made with its settings; a port's settings set
 * (once it is in its bridge) */
int netns_bridge_make(struct nl_sock *s, const NetLink *nl);
int netns_brport_restore(struct nl_sock *s, const NetLink *nl);

/* netns-tun.c: a tun/tap device's settings into nl; restore: made from
 * criu's namespace host and moved here with its index */
int netns_tun_dump(struct nl_sock *s, NetLink *nl, const char *who);
int netns_tun_make(struct nl_sock *hs, const NetLink *nl, int host);

/* netns-unkept.c: 0 if the namespace holds no nexthop object, IPsec
 * state or policy; else one line naming what it holds */
int netns_refuse_unkept(const char *who);

/* netns-sysctl.c: every writable sysctl of /proc/sys/net into w */
int netns_sysctl_dump(struct img_writer *w, const char *who);
/* one sysctl set again, if it differs */
int netns_sysctl_restore(const NetSysctl *s);

#endif /* CRIU_NET_NETNS_H */
