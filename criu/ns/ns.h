/*
 * ns.h - namespaces: the table of namespace kinds (/proc/PID/ns/NAME) and,
 * at dump, the check that every task of a tree lives in namespaces criu
 * can restore.  Owns the knowledge of which kinds are supported; the
 * dump and restore drivers ask it, they do not decide.
 */
#ifndef CRIU_NS_H
#define CRIU_NS_H

#include <stdbool.h>
#include <sys/types.h>

struct dump_tree;

/* what a task's namespace of a kind must be */
enum ns_rule {
	NS_AS_CRIU,	/* criu's own (not supported yet) */
	NS_AS_ROOT,	/* the tree root's: restored as a new one if it is not criu's */
	NS_APART,	/* checked by its own module (pid: pidns-dump.c) */
};

struct ns_kind {
	const char *name;	/* the link in /proc/PID/ns/ */
	const char *what;	/* for messages: "mount namespace" */
	int clone_flag;		/* CLONE_NEW*: 0 for the *_for_children links */
	enum ns_rule rule;
};

extern const struct ns_kind ns_kinds[];
extern const int nr_ns_kinds;

/* the inode of /proc/PID/task/TID/ns/NAME (TID 0: /proc/self/ns/NAME); 0 if it cannot be read */
unsigned long ns_inode(pid_t pid, pid_t tid, const char *name);

/*
 * Every task (and thread) of the seized tree is in criu's own namespaces,
 * or in one criu can restore; else one error line naming the process and
 * the namespace, and -1.  Zombies have no namespaces left and are skipped.
 */
int ns_check_tree(const struct dump_tree *t);
/* sem-undo.c: refuses a process that may hold SysV semaphore undo adjustments */
struct dump_proc;
int sem_undo_check(const struct dump_proc *p);

/*
 * ns-dump.c, while the tree is frozen: the uts, ipc and network namespaces
 * the tree has of its own (the root's, when not criu's) into utsns.img,
 * ipcns.img and netns.img, read by a helper that joins them (o: the
 * network ones' --external); t->ns_flags says which.
 */
struct opts;
int ns_dump_images(struct dump_tree *t, const struct opts *o, int dirfd);

/* the deepest nesting of pid namespaces below criu's that a dump records */
#define PIDNS_MAX_DEPTH 8

/*
 * pidns-dump.c: records every task's pids in its pid namespaces
 * (dump_proc.ns_depth, ns_pids, pidns_child) and refuses, with one line,
 * a tree restore could not make again.
 */
int pidns_collect(struct dump_tree *t);

/*
 * cgroup-ns.c: this thread into the cgroup namespace of pid, if it is not
 * criu's (*own: criu's to go back to, -1 if nothing was done); back; and
 * the root of a cgroup namespace in a hierarchy (ctrl) from a task's path
 * there seen from outside and from inside (into out; -1 with one line if
 * the inside path leads out of the namespace)
 */
int cgns_enter(pid_t pid, int *own);
void cgns_leave(int own);
int cgns_root_of(pid_t pid, const char *ctrl, const char *outside, const char *inside, char *out, size_t len);
/*
 * every cgroup namespace of the tree's tasks is held by one subtree (the
 * root's, or one a process made below it: restored as such) and a
 * thread's is its process's; else one line naming the process, -1
 */
int cgns_check_tree(const struct dump_tree *t);

#endif /* CRIU_NS_H */
