/*
 * inotify_link: an inotify watch on a symlink itself (IN_DONT_FOLLOW).
 *
 *   fd 3: inotify, wd 1 on the symlink "link" (-> "target"), IN_ATTRIB,
 *         added with IN_DONT_FOLLOW
 *
 * After restore: the watch is still on the symlink, not on its target:
 * fdinfo names the symlink's inode, changing the target's times gives no
 * event, changing the symlink's own (utimensat AT_SYMLINK_NOFOLLOW) gives
 * IN_ATTRIB on wd 1.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/inotify.h>
#include <sys/stat.h>
#include <unistd.h>

#include "test/lib/test.h"

static unsigned long fdinfo_ino(int fd)
{
	char path[64], line[512];
	unsigned long ino = 0;
	snprintf(path, sizeof(path), "/proc/self/fdinfo/%d", fd);
	FILE *f = fopen(path, "r");
	while (f && fgets(line, sizeof(line), f))
		if (sscanf(line, "inotify wd:%*x ino:%lx", &ino) == 1)
			break;
	if (f)
		fclose(f);
	return ino;
}

int main(int argc, char **argv)
{
	test_init(argc, argv);
	char *target = test_path("target"), *link = test_path("link");
	int t = open(target, O_WRONLY | O_CREAT | O_EXCL, 0600);
	if (t < 0 || close(t) || symlink("target", link))
		fail("create: %s", strerror(errno));
	int in = inotify_init1(IN_NONBLOCK);
	if (in != 3)
		fail("inotify_init1: %s (fd %d)", strerror(errno), in);
	if (inotify_add_watch(3, link, IN_ATTRIB | IN_DONT_FOLLOW) != 1)
		fail("inotify_add_watch: %s", strerror(errno));

	test_ready();
	test_wait_checkpoint();

	struct stat ls;
	if (lstat(link, &ls) || fdinfo_ino(3) != ls.st_ino)
		fail("the watch is on inode %lx, not the symlink's %lx", fdinfo_ino(3), (unsigned long)ls.st_ino);
	char buf[4096];
	struct timespec ts[2] = { { 1000, 0 }, { 2000, 0 } };
	if (utimensat(AT_FDCWD, target, ts, 0))
		fail("utimensat target: %s", strerror(errno));
	usleep(50000);
	if (read(3, buf, sizeof(buf)) > 0)
		fail("an event for the symlink's target: the watch follows the link");
	if (utimensat(AT_FDCWD, link, ts, AT_SYMLINK_NOFOLLOW))
		fail("utimensat link: %s", strerror(errno));
	usleep(50000);
	ssize_t n = read(3, buf, sizeof(buf));
	struct inotify_event *ev = (struct inotify_event *)buf;
	if (n < (ssize_t)sizeof(*ev) || ev->wd != 1 || !(ev->mask & IN_ATTRIB))
		fail("no IN_ATTRIB on wd 1 for the symlink (read %zd)", n);
	pass();
}
