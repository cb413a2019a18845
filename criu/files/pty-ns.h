/*
 * pty-ns.h - a pseudo-terminal of the tree's own devpts instance (a
 * container's /dev/pts, runc's `terminal: true` console): found at dump
 * among the tree's mounts, made again at restore in the restored instance
 * with the same pts number.  pty.c decides what the pair holds.
 */
#ifndef CRIU_FILES_PTY_NS_H
#define CRIU_FILES_PTY_NS_H

#include <stddef.h>
#include <sys/types.h>

struct fd_dump;

/*
 * Masters made while the mounts are restored: a pts file bound elsewhere
 * (runc binds the console's /dev/pts/N over /dev/console) needs its node
 * to exist before the files are made.  The orphan of that number takes
 * its master (pty_reserved_take); the rest are closed with the mounts.
 */
#define PTY_RESERVED_MAX 8
struct pty_reserved {
	int nr;
	struct {
		int master;		/* -1 once taken */
		unsigned index;
		char ptmx[256];		/* in the tree's view */
	} e[PTY_RESERVED_MAX];
};
/* the pts index of the instance of ptmx exists (made if it does not) */
int pty_reserve(struct pty_reserved *res, int rootfd, const char *ptmx, unsigned index);
/* the master made for index of ptmx, now the caller's; -1 if none */
int pty_reserved_take(struct pty_reserved *res, const char *ptmx, unsigned index);
void pty_reserved_close(struct pty_reserved *res);

/* the ptmx (in the tree's view) of the devpts instance of device dev that
 * the tree's own mount namespace holds: 0, -1 (none, nothing logged) */
int pty_tree_ptmx(const struct fd_dump *d, dev_t dev, char *ptmx, size_t len);
/* a new master of ptmx (in the tree of rootfd) whose pts number is index
 * (the numbers below it taken meanwhile and given back); -1 with a line */
int pty_open_index(int rootfd, const char *ptmx, unsigned index, unsigned id);

#endif /* CRIU_FILES_PTY_NS_H */
