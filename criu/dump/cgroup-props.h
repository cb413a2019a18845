/*
 * cgroup-props.h - the settings of a tree's cgroups at dump
 * (cgroup-props.c), for --manage-cgroups soft, full and strict at restore.
 */
#ifndef CRIU_DUMP_CGROUP_PROPS_H
#define CRIU_DUMP_CGROUP_PROPS_H

#include <stddef.h>

#include "images/image.h"

struct cg_props {
	CgroupDir **dirs;	/* parents before children, hierarchy by hierarchy */
	size_t nr;
};

/*
 * e[0..n): each process's entry (NULL: a zombie), e[0] the root's: every
 * cgroup a task or thread is in, with its parents down to the tree's
 * common cgroup in that hierarchy (a hierarchy's own root left out), and
 * the writable settings of each (the freezer's state is not one)
 */
int cg_props_collect(const CgroupEntry *const *e, size_t n, struct cg_props *out);
void cg_props_free(struct cg_props *p);

#endif /* CRIU_DUMP_CGROUP_PROPS_H */
