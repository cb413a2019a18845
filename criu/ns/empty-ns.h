/*
 * empty-ns.h - namespaces made empty at restore (--empty-ns, empty-ns.c).
 */
#ifndef CRIU_NS_EMPTY_NS_H
#define CRIU_NS_EMPTY_NS_H

#include <sys/types.h>

/*
 * dump with --empty-ns net: root's network namespace (inode ino, not
 * criu's) holds only lo, else one line naming the others and -1
 */
int empty_ns_check_net(pid_t root, unsigned long ino);

#endif /* CRIU_NS_EMPTY_NS_H */
