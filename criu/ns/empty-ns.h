/*
 * empty-ns.h - namespaces made empty at restore (--empty-ns, empty-ns.c).
 */
#ifndef CRIU_NS_EMPTY_NS_H
#define CRIU_NS_EMPTY_NS_H

#include <sys/types.h>

struct mnt_opts;

/*
 * dump: root's network namespace (inode ino) is not criu's: refused with
 * one line unless --empty-ns net was given and it holds only lo
 */
int empty_ns_check_net(pid_t root, unsigned long ino, const struct mnt_opts *m);
/* restore, in the root made in a new network namespace: lo up */
int empty_ns_restore_net(void);

#endif /* CRIU_NS_EMPTY_NS_H */
