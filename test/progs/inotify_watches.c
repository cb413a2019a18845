/*
 * inotify_watches: an inotify instance with watches.
 *   fd 3: inotify (O_NONBLOCK) watching the test directory for
 *         IN_CREATE|IN_DELETE (wd 1) and a file in it for IN_MODIFY (wd 3;
 *         wd 2 was added and removed, its IN_IGNORED read)
 * After restore: the same watch descriptors, nothing pending, and creating
 * a file / writing the watched file give events with those wds.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/inotify.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include "test/lib/test.h"

int main(int argc, char **argv)
{
	test_init(argc, argv);
	char *file = test_path("watched"), *other = test_path("other"), *fresh = test_path("fresh");
	int fd = open(file, O_WRONLY | O_CREAT | O_EXCL, 0644), fd2 = open(other, O_WRONLY | O_CREAT | O_EXCL, 0644);
	if (fd < 0 || fd2 < 0)
		fail("create: %s", strerror(errno));
	close(fd);
	close(fd2);
	int in = inotify_init1(IN_NONBLOCK);
	if (in != 3)
		fail("inotify_init1 gave %d: %s", in, strerror(errno));
	int w1 = inotify_add_watch(3, test_tmpdir(), IN_CREATE | IN_DELETE);
	int w2 = inotify_add_watch(3, other, IN_ATTRIB);
	inotify_rm_watch(3, w2);
	int w3 = inotify_add_watch(3, file, IN_MODIFY);
	if (w1 != 1 || w2 != 2 || w3 != 3)
		fail("watch descriptors %d %d %d, expected 1 2 3", w1, w2, w3);
	char buf[4096];
	while (read(3, buf, sizeof(buf)) > 0)
		;

	test_ready();
	test_wait_checkpoint();

	int pending = -1;
	if (ioctl(3, FIONREAD, &pending) || pending)
		fail("%d bytes of events pending after restore", pending);
	if (!(fcntl(3, F_GETFL) & O_NONBLOCK))
		fail("inotify lost O_NONBLOCK");
	int f = open(fresh, O_WRONLY | O_CREAT, 0644);
	if (f < 0)
		fail("create %s: %s", fresh, strerror(errno));
	close(f);
	f = open(file, O_WRONLY);
	if (f < 0 || write(f, "x", 1) != 1)
		fail("write %s: %s", file, strerror(errno));
	close(f);
	ssize_t n = read(3, buf, sizeof(buf));
	int create = 0, modify = 0;
	for (char *p = buf; n > 0 && p < buf + n;) {
		struct inotify_event *e = (struct inotify_event *)p;
		if (e->wd == 1 && (e->mask & IN_CREATE) && !strcmp(e->name, "fresh"))
			create++;
		else if (e->wd == 3 && (e->mask & IN_MODIFY))
			modify++;
		else
			fail("unexpected event wd %d mask %x", e->wd, e->mask);
		p += sizeof(*e) + e->len;
	}
	if (create != 1 || modify != 1)
		fail("%d IN_CREATE on wd 1 and %d IN_MODIFY on wd 3, expected one each", create, modify);
	pass();
}
