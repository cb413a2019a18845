/*
 * join-ns.h - restore --join-ns NS:FILE (libcriu's criu_join_ns_add, the
 * RPC's join_ns): the restored tree goes into an existing uts or ipc
 * namespace (a pod's, shared with other containers) instead of a new one
 * filled from the images.  FILE is a namespace file (/proc/PID/ns/uts, a
 * bind mount of one) or a pid.  Other kinds are refused with one line
 * (a network namespace is joined as an external one: --external
 * net[INODE]:KEY and --inherit-fd).  Joining an ipc namespace is refused
 * when the images hold ipc objects of the tree's own (they would be left
 * behind).  Owns the parsing and opening; ns-restore.c joins.
 */
#ifndef CRIU_NS_JOIN_NS_H
#define CRIU_NS_JOIN_NS_H

struct opts;

/* each --join-ns opened: *uts and *ipc an fd of the namespace, or -1 */
int join_ns_open(const struct opts *o, int *uts, int *ipc);
/* the option's syntax alone (main.c, at parse time): 0 or -1 with a line */
int join_ns_check_arg(const char *arg);

#endif /* CRIU_NS_JOIN_NS_H */
