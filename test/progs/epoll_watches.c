/*
 * epoll_watches: epoll instances and their watches.
 *   fd 3:    epoll watching fd 4 (pipe read end, data in it: EPOLLIN,
 *            data 0x1111), fd 6 (eventfd, EPOLLIN|EPOLLET, data
 *            0xfeedface12345678) and fd 7 (the other epoll, EPOLLIN, data 7)
 *   fds 4/5: pipe, 3 bytes in it
 *   fd 6:    eventfd, counter 0
 *   fd 7:    an epoll instance watching fd 5 (the write end: EPOLLOUT)
 * After restore: the watch lists (fdinfo), and epoll_wait reports the
 * right fds with their data; the eventfd fires once written.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include "test/lib/test.h"

static void put(int fd, int want)
{
	if (fd < 0)
		fail("create fd %d: %s", want, strerror(errno));
	if (fd != want && (dup2(fd, want) != want || close(fd)))
		fail("dup2: %s", strerror(errno));
}

static void watch(int ep, int fd, uint32_t ev, uint64_t data)
{
	struct epoll_event e = { .events = ev, .data.u64 = data };
	if (epoll_ctl(ep, EPOLL_CTL_ADD, fd, &e))
		fail("epoll_ctl add %d: %s", fd, strerror(errno));
}

/* the number of watches in fdinfo */
static int nwatches(int ep)
{
	char path[64], line[256];
	int n = 0;
	snprintf(path, sizeof(path), "/proc/self/fdinfo/%d", ep);
	FILE *f = fopen(path, "r");
	while (f && fgets(line, sizeof(line), f))
		n += !strncmp(line, "tfd:", 4);
	if (f)
		fclose(f);
	return n;
}

int main(int argc, char **argv)
{
	test_init(argc, argv);
	int p[2];
	put(epoll_create1(0), 3);
	if (pipe(p))
		fail("pipe: %s", strerror(errno));
	int a = fcntl(p[0], F_DUPFD, 50), b = fcntl(p[1], F_DUPFD, 50);
	close(p[0]);
	close(p[1]);
	put(a, 4);
	put(b, 5);
	if (write(5, "abc", 3) != 3)
		fail("write: %s", strerror(errno));
	put(eventfd(0, EFD_NONBLOCK), 6);
	put(epoll_create1(EPOLL_CLOEXEC), 7);
	watch(7, 5, EPOLLOUT, 0x55);
	watch(3, 4, EPOLLIN, 0x1111);
	watch(3, 6, EPOLLIN | EPOLLET, 0xfeedface12345678ULL);
	watch(3, 7, EPOLLIN, 7);

	test_ready();
	test_wait_checkpoint();

	if (nwatches(3) != 3 || nwatches(7) != 1)
		fail("fdinfo shows %d and %d watches, expected 3 and 1", nwatches(3), nwatches(7));
	if (!(fcntl(7, F_GETFD) & FD_CLOEXEC))
		fail("epoll fd 7 lost close-on-exec");
	struct epoll_event ev[8];
	int n = epoll_wait(3, ev, 8, 0);
	/* fd 4 has data, fd 7 is ready (its pipe end is writable) */
	int seen4 = 0, seen7 = 0;
	for (int i = 0; i < n; i++) {
		if (ev[i].data.u64 == 0x1111 && (ev[i].events & EPOLLIN))
			seen4++;
		else if (ev[i].data.u64 == 7 && (ev[i].events & EPOLLIN))
			seen7++;
		else
			fail("epoll_wait: unexpected event %x data %#lx", ev[i].events,
			     (unsigned long)ev[i].data.u64);
	}
	if (n != 2 || !seen4 || !seen7)
		fail("epoll_wait gave %d events (pipe %d, inner epoll %d), expected both", n, seen4, seen7);
	n = epoll_wait(7, ev, 8, 0);
	if (n != 1 || ev[0].data.u64 != 0x55 || !(ev[0].events & EPOLLOUT))
		fail("inner epoll: %d events, expected EPOLLOUT with data 0x55", n);
	uint64_t one = 1;
	if (write(6, &one, 8) != 8)
		fail("write eventfd: %s", strerror(errno));
	n = epoll_wait(3, ev, 8, 0);
	int seen6 = 0;
	for (int i = 0; i < n; i++)
		seen6 += ev[i].data.u64 == 0xfeedface12345678ULL;
	if (seen6 != 1)
		fail("eventfd write not reported with its data (%d events)", n);
	/* edge-triggered: not again until it changes */
	n = epoll_wait(3, ev, 8, 0);
	for (int i = 0; i < n; i++)
		if (ev[i].data.u64 == 0xfeedface12345678ULL)
			fail("eventfd reported twice: EPOLLET lost");
	char buf[4];
	if (read(4, buf, 3) != 3 || memcmp(buf, "abc", 3))
		fail("pipe data lost");
	pass();
}
