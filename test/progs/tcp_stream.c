/*
 * tcp_stream ADDR PORT [N [WINDOW]]: the client of tcp_echo (run outside the dumped
 * tree; not a test program of its own).  Opens N connections (default 1),
 * streams the pattern on each with up to WINDOW bytes (default 256 KiB) in flight, and checks
 * that what comes back is the pattern again, byte for byte.  Prints
 * "STREAMING" once every connection has echoed 64 KiB.  SIGTERM: stops
 * sending, waits (up to 30 s) for every byte to come back, prints
 * "OK bytes=N max_pause_ms=M" (the longest time no connection had an echo
 * while bytes were in flight) and exits 0 at the next SIGTERM.  A byte that differs, a reset or
 * an end of stream: "ERROR ..." and exit 1.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "test/lib/test.h"

static uint64_t WINDOW = 256 << 10;
#define MAXC 1100

static volatile sig_atomic_t stop;
static void on_term(int s) { (void)s; stop = 1; }
static uint8_t pattern(uint64_t i) { return test_mix(i / 8) >> (i % 8 * 8); }

static double now_ms(void)
{
	struct timespec t;
	clock_gettime(CLOCK_MONOTONIC, &t);
	return t.tv_sec * 1e3 + t.tv_nsec / 1e6;
}

struct cl { int fd; uint64_t sent, got; };

static int conn(const char *addr, int port)
{
	struct sockaddr_storage ss = { 0 };
	socklen_t len;
	struct sockaddr_in *a4 = (struct sockaddr_in *)&ss;
	struct sockaddr_in6 *a6 = (struct sockaddr_in6 *)&ss;
	if (inet_pton(AF_INET, addr, &a4->sin_addr) == 1) {
		a4->sin_family = AF_INET, a4->sin_port = htons(port), len = sizeof(*a4);
	} else if (inet_pton(AF_INET6, addr, &a6->sin6_addr) == 1) {
		a6->sin6_family = AF_INET6, a6->sin6_port = htons(port), len = sizeof(*a6);
	} else {
		printf("ERROR bad address %s\n", addr);
		exit(1);
	}
	int fd = socket(ss.ss_family, SOCK_STREAM | SOCK_NONBLOCK, 0);
	if (connect(fd, (struct sockaddr *)&ss, len) && errno != EINPROGRESS) {
		printf("ERROR connect: %s\n", strerror(errno));
		exit(1);
	}
	return fd;
}

static void die(int c, const char *what, uint64_t at)
{
	printf("ERROR connection %d: %s at byte %lu: %s\n", c, what, (unsigned long)at, strerror(errno));
	exit(1);
}

static void step(struct cl *k, int c, short ev, bool sending)
{
	static uint8_t buf[65536];
	if (ev & (POLLIN | POLLERR | POLLHUP)) {
		ssize_t n = read(k->fd, buf, sizeof(buf));
		if (n == 0 || (n < 0 && errno != EAGAIN))
			die(c, n ? "read" : "end of stream", k->got);
		for (ssize_t i = 0; i < n; i++)
			if (buf[i] != pattern(k->got + i))
				die(c, "echo differs from what was sent", k->got + i);
		if (n > 0)
			k->got += n;
	}
	if ((ev & POLLOUT) && sending && k->sent - k->got < WINDOW) {
		size_t n = WINDOW - (k->sent - k->got);
		if (n > sizeof(buf))
			n = sizeof(buf);
		for (size_t i = 0; i < n; i++)
			buf[i] = pattern(k->sent + i);
		ssize_t w = write(k->fd, buf, n);
		if (w < 0 && errno != EAGAIN)
			die(c, "write", k->sent);
		if (w > 0)
			k->sent += w;
	}
}

int main(int argc, char **argv)
{
	if (argc < 3)
		return 2;
	int n = argc > 3 ? atoi(argv[3]) : 1;
	if (argc > 4)
		WINDOW = strtoull(argv[4], NULL, 0);
	if (n < 1 || n > MAXC || WINDOW < 1024)
		return 2;
	signal(SIGTERM, on_term);
	signal(SIGPIPE, SIG_IGN);
	static struct cl k[MAXC];
	static struct pollfd p[MAXC];
	for (int c = 0; c < n; c++)
		k[c].fd = conn(argv[1], atoi(argv[2]));
	bool streaming = false;
	double last = now_ms(), max_pause = 0, deadline = 0;
	setvbuf(stdout, NULL, _IOLBF, 0);
	for (;;) {
		bool sending = !stop, pending = false, all_mb = true;
		for (int c = 0; c < n; c++) {
			pending |= k[c].got < k[c].sent;
			all_mb &= k[c].got >= (64 << 10);
			p[c] = (struct pollfd){ k[c].fd, POLLIN | (sending && k[c].sent - k[c].got < WINDOW ? POLLOUT : 0), 0 };
		}
		if (all_mb && !streaming) {
			streaming = true;
			printf("STREAMING\n");
		}
		if (stop && !deadline)
			deadline = now_ms() + 30000;
		if (stop && !pending)
			break;
		if (deadline && now_ms() > deadline) {
			printf("ERROR echoes missing 30 s after the end\n");
			return 1;
		}
		int r = poll(p, n, 100);
		if (r < 0 && errno != EINTR)
			die(0, "poll", 0);
		bool got = false;
		for (int c = 0; r > 0 && c < n; c++) {
			uint64_t before = k[c].got;
			if (p[c].revents)
				step(&k[c], c, p[c].revents, sending);
			got |= k[c].got > before;
		}
		double t = now_ms();
		if (got || !pending) {
			if (pending && t - last > max_pause)
				max_pause = t - last;
			last = t;
		}
	}
	uint64_t total = 0;
	for (int c = 0; c < n; c++)
		total += k[c].got;
	printf("OK bytes=%lu max_pause_ms=%.1f\n", (unsigned long)total, max_pause);
	/* the connections stay open until a second SIGTERM: the server checks them first */
	stop = 0;
	while (!stop)
		pause();
	return 0;
}
