/*
 * stages.h - a driver as a list of named stages, each with its undo
 * (stages.c): run in order; when one fails, those already done are undone,
 * last first.  The failing stage logs why (once, naming the object); the
 * runner only says, at info level, which stage failed and what it undid.
 * The drivers use it where they were made of stages (dump: seizing and
 * checking the tree; restore: making the root in the tree's namespaces).
 */
#ifndef CRIU_STAGES_H
#define CRIU_STAGES_H

#include <stddef.h>

struct stage {
	const char *name;
	int (*run)(void *ctx);		/* 0, or -1 (logged) */
	void (*undo)(void *ctx);	/* NULL: nothing to undo */
};

int stages_run(const struct stage *s, size_t n, void *ctx);

#define NR_STAGES(a) (sizeof(a) / sizeof((a)[0]))

#endif /* CRIU_STAGES_H */
