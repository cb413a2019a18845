/*
 * images-dir.c - the images directory of a dump: made and opened with no
 * stale inventory in it (a directory holding inventory.img is complete),
 * marked incomplete when the dump fails, linked to its parent images
 * (--prev-images-dir) after they are checked.
 */
#define LOG_PREFIX "dump: "
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/log.h"
#include "criu/dump/dump-run.h"
#include "images/inventory.pb-c.h"

#define INCOMPLETE_MARK "dump-incomplete"

/* mkdir -p */
static int make_dirs(const char *dir)
{
	char path[PATH_MAX];

	snprintf(path, sizeof(path), "%s", dir);
	for (char *s = path + 1; *s; s++) {
		if (*s != '/')
			continue;
		*s = 0;
		if (mkdir(path, 0700) && errno != EEXIST)
			return -1;
		*s = '/';
	}
	return mkdir(path, 0700) && errno != EEXIST ? -1 : 0;
}

int open_images_dir(const char *dir)
{
	if (make_dirs(dir)) {
		pr_perror("cannot create images directory %s", dir);
		return -1;
	}
	int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0) {
		pr_perror("cannot open images directory %s", dir);
		return -1;
	}
	/* a stale inventory would make a half-written dump look complete */
	if (unlinkat(fd, "inventory.img", 0) && errno != ENOENT) {
		pr_perror("%s: cannot remove the previous inventory.img", dir);
		close(fd);
		return -1;
	}
	unlinkat(fd, INCOMPLETE_MARK, 0);
	return fd;
}

void mark_incomplete(int dirfd)
{
	int fd = openat(dirfd, INCOMPLETE_MARK, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	if (fd >= 0) {
		static const char msg[] = "This dump failed: the images in this directory are incomplete.\n";
		if (write(fd, msg, sizeof(msg) - 1) < 0) {
		}
		close(fd);
	}
}

/* the previous images of an incremental dump: checks them, links "parent" */
int load_parent(int dirfd, const char *prev, pid_t root, int *pfd_out)
{
	Inventory *inv = NULL;
	int pfd = openat(dirfd, prev, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	int err = -1;

	if (pfd < 0) {
		pr_perror("--prev-images-dir %s (relative to the images directory)", prev);
		return -1;
	}
	if (faccessat(pfd, "inventory.img", F_OK, 0)) {
		pr_err("--prev-images-dir %s: no inventory.img: not a complete pre-dump or dump", prev);
		goto out;
	}
	if (img_read_one(pfd, IMG_INVENTORY, 0, (ProtobufCMessage **)&inv))
		goto out;
	if (inv->root_pid != (uint32_t)root) {
		pr_err("--prev-images-dir %s: images of pid %u, not of pid %d", prev, inv->root_pid,
		       root);
		goto out;
	}
	/* restore follows this link to the pages not written since */
	unlinkat(dirfd, "parent", 0);
	if (symlinkat(prev, dirfd, "parent")) {
		pr_perror("cannot link the images directory to its parent %s", prev);
		goto out;
	}
	err = 0;
out:
	if (inv)
		inventory__free_unpacked(inv, NULL);
	if (err)
		close(pfd);
	else
		*pfd_out = pfd;
	return err;
}
