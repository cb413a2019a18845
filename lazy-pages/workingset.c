/* workingset.c - recording and reading a working set (see workingset.h). */
#define LOG_PREFIX "lazy-pages: "
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "images/image.h"
#include "images/pages.h"
#include "common/log.h"
#include "lazy-pages/workingset.h"

void lp_ws_open(int dirfd, unsigned pid, struct lp_ws *ws)
{
	struct img_entries e;
	char name[64];
	int ret;

	*ws = (struct lp_ws){ 0 };
	img_name(IMG_WORKINGSET, pid, name, sizeof(name));
	ret = img_read_all(dirfd, IMG_WORKINGSET, pid, &e);
	if (ret == -ENOENT) {
		ws->record = true;
		return;
	}
	if (ret) {
		/* recorded again, in its place */
		pr_warn("pid %u: %s unreadable: restored without a working set", pid, name);
		ws->record = ws->stale = true;
		return;
	}
	ws->runs = malloc((e.nr + 1) * sizeof(*ws->runs));
	if (ws->runs) {
		for (size_t i = 0; i < e.nr; i++) {
			const WorkingsetEntry *we = (WorkingsetEntry *)e.msgs[i];
			uint32_t n = we->has_nr_pages ? we->nr_pages : 1;
			if (n && n <= PAGEMAP_MAX_RUN && !(we->vaddr % 4096))
				ws->runs[ws->nr++] = (struct lp_ws_run){ we->vaddr, n };
		}
		ws->replay = ws->nr > 0;
	}
	img_entries_free(&e);
	if (ws->replay)
		pr_info("pid %u: working set of %zu pages from %s: installed first", pid, ws->nr, name);
}

void lp_ws_note(struct lp_ws *ws, uint64_t addr, uint64_t nr_pages)
{
	if (!ws->record || ws->nr >= LP_WS_MAX)
		return;
	if (ws->nr == ws->cap) {
		size_t cap = ws->cap ? ws->cap * 2 : 1024;
		struct lp_ws_run *n = realloc(ws->runs, cap * sizeof(*n));
		if (!n) {
			ws->record = false;	/* a hint: not worth failing for */
			return;
		}
		ws->runs = n;
		ws->cap = cap;
	}
	ws->runs[ws->nr++] = (struct lp_ws_run){ addr, nr_pages };
}

int lp_ws_save(int dirfd, unsigned pid, struct lp_ws *ws)
{
	struct img_writer *w;
	char name[64];

	if (!ws->record || !ws->nr)
		return 0;
	ws->record = false;
	img_name(IMG_WORKINGSET, pid, name, sizeof(name));
	/* another restore of these images may have written it meanwhile */
	if (ws->stale)
		unlinkat(dirfd, name, 0);
	else if (!faccessat(dirfd, name, F_OK, 0))
		return 0;
	/* of this dump, like every file of the directory (images/image.h) */
	uint64_t dump_id;
	if (img_dir_dump_id(dirfd, &dump_id) ||
	    img_writer_open(dirfd, IMG_WORKINGSET, pid, dump_id, &w))
		goto fail;
	for (size_t i = 0; i < ws->nr; i++) {
		WorkingsetEntry we = WORKINGSET_ENTRY__INIT;
		we.vaddr = ws->runs[i].addr;
		we.has_nr_pages = ws->runs[i].nr_pages != 1;
		we.nr_pages = ws->runs[i].nr_pages;
		if (img_write(w, &we.base)) {
			img_writer_abort(w);
			goto fail_written;
		}
	}
	if (img_writer_close(w))
		goto fail_written;
	pr_info("pid %u: working set of %zu pages recorded in %s", pid, ws->nr, name);
	return 0;
fail_written:
	unlinkat(dirfd, name, 0);
fail:
	pr_warn("pid %u: cannot write %s: its working set is not kept", pid, name);
	return -1;
}

void lp_ws_free(struct lp_ws *ws)
{
	free(ws->runs);
	*ws = (struct lp_ws){ 0 };
}
