/*
 * show-action.c - the `criu show FILE|DIR` action: image files as JSON on stdout.
 *
 * For a directory holding a dump, every check restore makes before it
 * creates anything is made too (restore's own loader: files missing,
 * bindings, values, consistency between images, files on this host), and
 * every page's checksum; any problem is an error line and exit status 1.
 * A pre-dump directory: its page images are checked.  A dump of a tree
 * with its own mount namespace needs --root (its paths are checked in
 * that namespace, made as restore makes it, in a private copy of criu's).
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <sys/stat.h>
#include <unistd.h>

#include "criu/ns/mnt.h"
#include "common/log.h"
#include "criu/opts.h"
#include "criu/restore/restore.h"
#include "images/show.h"

/* the page images of every process of a pre-dump, checksums included */
static int check_pre_dump(int dfd)
{
	struct img_entries e;
	int err = 0;

	if (img_read_all(dfd, IMG_PSTREE, 0, &e)) {
		pr_err("pstree.img: missing or unreadable");
		return -1;
	}
	for (size_t i = 0; i < e.nr && !err; i++) {
		const PstreeEntry *pe = (PstreeEntry *)e.msgs[i];
		struct page_source ps;
		if (pe->has_zombie && pe->zombie)
			continue;
		err = page_source_open(dfd, pe->pid, 1, &ps);
		if (!err)
			page_source_close(&ps);
	}
	img_entries_free(&e);
	return err;
}

/* what restore checks before it creates anything, and every page */
static int check_dump(const char *dir, const struct opts *o)
{
	Inventory *inv = NULL;
	struct rst_tree t = { 0 };
	int err = -1, dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);

	if (dfd < 0) {
		pr_perror("cannot open directory %s", dir);
		return -1;
	}
	if (img_read_one(dfd, IMG_INVENTORY, 0, (ProtobufCMessage **)&inv))
		goto out;
	if (inv->has_pre_dump && inv->pre_dump) {
		err = check_pre_dump(dfd);
		goto out;
	}
	/* its own mount namespace: made as restore makes it (under --root) to check its paths */
	struct mnt_restore mr = { .rootfd = -1, .own_ns = -1 };
	struct opts with_root = *o;
	err = mnt_restore_prepare(dfd, &o->mnt, &mr);
	with_root.rst_root_fd = mr.rootfd > 0 ? mr.rootfd : 0;
	if (!err)
		err = rst_load_tree(dfd, dir, &with_root, &t) || mnt_restore_agrees(&mr, t.ns.flags);
	for (size_t i = 0; !err && i < t.nr; i++)
		if (!t.procs[i].zombie)
			err = page_source_verify(&t.procs[i].pages);
	rst_tree_free(&t);
	mnt_restore_leave(&mr);
out:
	if (inv)
		inventory__free_unpacked(inv, NULL);
	close(dfd);
	return err ? -1 : 0;
}

int cr_show(const struct opts *o)
{
	struct stat st;

	if (o->nr_args != 1) {
		pr_err("show: needs exactly one FILE or DIR argument");
		return 1;
	}
	int err = img_show_path(o->args[0], stdout);
	/* each bad file said why already: the dump as a whole is checked once they are sound */
	if (!err && !stat(o->args[0], &st) && S_ISDIR(st.st_mode) && check_dump(o->args[0], o))
		err = -1;
	return err ? 1 : 0;
}
