/*
 * cgfreeze.h - the cgroup freezer of `dump --freeze-cgroup PATH`
 * (cgfreeze.c): freeze before the tree is seized, thaw once it is, the
 * freezer put back as it was found at the end.
 */
#ifndef CRIU_CGFREEZE_H
#define CRIU_CGFREEZE_H

#include <stdbool.h>

struct dump_tree;

struct cg_freezer {
	const char *path;	/* NULL: no --freeze-cgroup */
	bool v2;		/* cgroup.freeze, else v1 freezer.state */
	bool frozen;		/* by us, not thawed yet */
	bool was_frozen;	/* frozen before criu came */
};

/* freezes PATH and waits until it is frozen; one error line and -1 else */
int cg_freeze(const char *path, struct cg_freezer *f);
int cg_thaw(struct cg_freezer *f);
/* frozen again if it was when criu came (after the tree is let go) */
void cg_restore_state(struct cg_freezer *f);
/* every live process of t is in PATH or below */
int cg_check_tree(const struct cg_freezer *f, const struct dump_tree *t);

#endif /* CRIU_CGFREEZE_H */
