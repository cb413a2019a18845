/*
 * epoll_moved: epoll watches whose files are no longer open at the fd
 * number they were added with.
 *
 *   fd 3: epoll
 *   a pipe's read end, added as fd 10, then moved to fd 11 (10 closed)
 *   an eventfd, added as fd 12, moved to fd 13, and fd 12 reused by
 *     /dev/null
 *   a second eventfd, added as fd 14 and still there (also dup'd at 15)
 *
 * After restore: fdinfo lists the watches with their tfd numbers 10, 12
 * and 14; writing into the pipe and the eventfds gives their events with
 * their data; the watches are keyed as before: EPOLL_CTL_DEL with fd 11
 * or 13 finds nothing (ENOENT), with the file put back at 10 (or 12) it
 * removes the watch.
 *
 * With argument "elsewhere": also a pipe read end added as fd 16, then
 * handed to a child and closed here: the watched file is held by no fd of
 * the process, which dump refuses (test/files.sh fd/epoll_elsewhere).
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include "test/lib/test.h"

static void move_fd(int from, int to)
{
	if (dup2(from, to) != to || close(from))
		fail("dup2 %d to %d: %s", from, to, strerror(errno));
}

static void watch(int ep, int fd, uint64_t tag)
{
	struct epoll_event ev = { .events = EPOLLIN, .data.u64 = tag };
	if (epoll_ctl(ep, EPOLL_CTL_ADD, fd, &ev))
		fail("epoll_ctl ADD %d: %s", fd, strerror(errno));
}

/* the data of the one event ready now, or 0 */
static uint64_t one_event(int ep)
{
	struct epoll_event ev[4];
	int n = epoll_wait(ep, ev, 4, 0);
	if (n > 1)
		fail("%d events ready, expected one", n);
	return n == 1 ? ev[0].data.u64 : 0;
}

static int has_tfd(int ep, int tfd)
{
	char path[64], line[256], want[32];
	snprintf(path, sizeof(path), "/proc/self/fdinfo/%d", ep);
	snprintf(want, sizeof(want), "tfd: %8d ", tfd);
	FILE *f = fopen(path, "r");
	int found = 0;
	while (f && fgets(line, sizeof(line), f))
		found |= !strncmp(line, want, strlen(want));
	if (f)
		fclose(f);
	return found;
}

int main(int argc, char **argv)
{
	test_init(argc, argv);
	int ep = epoll_create1(0), p[2];
	if (ep != 3 || pipe(p))
		fail("epoll_create1/pipe: %s", strerror(errno));
	move_fd(p[0], 10);
	move_fd(p[1], 20);
	watch(3, 10, 0xa);
	move_fd(10, 11);

	int e1 = eventfd(0, 0);
	move_fd(e1, 12);
	watch(3, 12, 0xb);
	move_fd(12, 13);
	int null = open("/dev/null", O_RDONLY);
	if (null < 0)
		fail("open /dev/null: %s", strerror(errno));
	if (null != 12)
		move_fd(null, 12);

	int e2 = eventfd(0, 0);
	move_fd(e2, 14);
	watch(3, 14, 0xc);
	if (dup2(14, 15) != 15)
		fail("dup2: %s", strerror(errno));

	pid_t child = 0;
	if (argc > 1 && !strcmp(argv[1], "elsewhere")) {
		int q[2];
		if (pipe(q) || dup2(q[0], 16) != 16)
			fail("pipe: %s", strerror(errno));
		close(q[0]);
		watch(3, 16, 0xd);
		child = fork();
		if (child == 0) {
			pause();
			_exit(0);
		}
		close(16);
		close(q[1]);
	}
	test_ready();
	test_wait_checkpoint();

	if (!has_tfd(3, 10) || !has_tfd(3, 12) || !has_tfd(3, 14))
		fail("fdinfo of the epoll does not list tfd 10, 12 and 14");
	if (one_event(3))
		fail("an event is ready before anything was written");
	uint64_t one = 1;
	if (write(20, "x", 1) != 1 || one_event(3) != 0xa)
		fail("the pipe (fd 11, added as 10) gives no event with data 0xa");
	char c;
	if (read(11, &c, 1) != 1)
		fail("read the pipe: %s", strerror(errno));
	if (write(13, &one, 8) != 8 || one_event(3) != 0xb)
		fail("the eventfd at fd 13 (added as 12) gives no event with data 0xb");
	if (read(13, &one, 8) != 8 || write(15, &one, 8) != 8 || one_event(3) != 0xc)
		fail("the eventfd at fd 14 gives no event with data 0xc");
	read(14, &one, 8);

	if (epoll_ctl(3, EPOLL_CTL_DEL, 11, NULL) == 0 || errno != ENOENT)
		fail("EPOLL_CTL_DEL of fd 11 found a watch (or not ENOENT: %s): the watch is keyed by fd 10",
		     strerror(errno));
	if (epoll_ctl(3, EPOLL_CTL_DEL, 13, NULL) == 0 || errno != ENOENT)
		fail("EPOLL_CTL_DEL of fd 13 found a watch (or not ENOENT: %s)", strerror(errno));
	if (dup2(11, 10) != 10 || epoll_ctl(3, EPOLL_CTL_DEL, 10, NULL))
		fail("EPOLL_CTL_DEL of the pipe put back at fd 10: %s", strerror(errno));
	if (dup2(13, 12) != 12 || epoll_ctl(3, EPOLL_CTL_DEL, 12, NULL))
		fail("EPOLL_CTL_DEL of the eventfd put back at fd 12: %s", strerror(errno));
	if (write(20, "x", 1) != 1 || one_event(3))
		fail("the pipe still gives events after its watch was removed");
	if (child)
		kill(child, SIGKILL);
	pass();
}
