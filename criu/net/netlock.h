/*
 * netlock.h - the network lock of a dump (netlock.c): the packets of the
 * dumped tree's TCP connections dropped from the freeze until the restore.
 */
#ifndef CRIU_NET_NETLOCK_H
#define CRIU_NET_NETLOCK_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

#include "criu/opts.h"

/* packets with this mark pass the lock (restore's FIN of a peer: criu/files/inet-tcpfin.c) */
#define NETLOCK_PASS_MARK 0x43524955	/* "CRIU" */

struct dump_tree;
struct netlock;

/* dump, frozen, before the sockets are read: locks the tree's TCP
 * connections (with --tcp-established, unless --network-lock skip); *out
 * is NULL when there is nothing to lock; 0 or -1 (logged) */
int netlock_tree(const struct dump_tree *t, const struct opts *o, struct netlock **out);
/* the name of the table that stays after a successful dump, for
 * inventory.img ("inet criu_lock_PID"), in buf; NULL without a lock */
const char *netlock_name(const struct netlock *nl, char *buf, size_t len);
/* a dump ending the tree: the lock stays until the restore; 0 or -1 */
int netlock_keep(struct netlock *nl);
/* drops the dump's own lock (a failed dump, --leave-running, or after
 * netlock_keep); NULL is fine */
void netlock_free(struct netlock *nl);
/* a dump failing after netlock_keep: both tables go; NULL is fine */
void netlock_undo(struct netlock *nl);
/* restore, the processes running: deletes the table inventory.img names
 * (NULL: none) in network namespace nsfd (-1: criu's); 0 or -1 (logged) */
int netlock_release(const char *table, int nsfd);
/* the tree's dumped connections in repair mode (just before the kill: they
 * close silently) or out of it (no window probe); 0 or -1 (logged) */
int net_repair_tree(const struct dump_tree *t, bool on);

/* netlock-ipt.c (--network-lock iptables): the chain CRIU_LOCK_<root>
 * dropping the connections (elems: the nftables set elements, "a . p . b
 * . q, ..." IPv4 and IPv6) in namespace nsfd (-1: criu's), guarded: it
 * goes if criu dies before ipt_lock_done(keep); NULL on error (logged) */
struct ipt_lock;
struct ipt_lock *ipt_lock_make(pid_t root, char *const elems[2], int nsfd);
const char *ipt_lock_chain(const struct ipt_lock *l);
/* keep: the chain stays for the restore; else it is deleted now */
void ipt_lock_done(struct ipt_lock *l, bool keep);
/* restore: deletes the chain (gone already is fine); 0 or -1 (logged) */
int ipt_lock_release(const char *chain, int nsfd);

#endif /* CRIU_NET_NETLOCK_H */
