/* stages.c - running a list of stages with their undos (stages.h). */
#include "common/log.h"
#include "criu/stages.h"

int stages_run(const struct stage *s, size_t n, void *ctx)
{
	for (size_t i = 0; i < n; i++) {
		pr_debug("stage: %s", s[i].name);
		if (s[i].run(ctx) == 0)
			continue;
		pr_info("stage '%s' failed", s[i].name);
		while (i-- > 0)
			if (s[i].undo) {
				pr_debug("stage: undoing %s", s[i].name);
				s[i].undo(ctx);
			}
		return -1;
	}
	return 0;
}
