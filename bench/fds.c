/*
 * fds.c - the workload of bench/fds.sh: a process holding N fds of mixed
 * kinds, with state in them.  Usage: fds N RESULT_FILE.  Prints READY once
 * set up, waits for SIGUSR1, checks every fd's state and writes "OK" or
 * "BAD: what" to RESULT_FILE.
 *
 * Mix (of N): 20% regular files (50 files, each fd its own offset), 10%
 * dups of them, 30% pipe ends (16 bytes buffered in each pipe), 10%
 * eventfds (counter = fd), 10% socketpair ends (16 bytes queued each way),
 * 5% timerfds (armed for an hour), 5% memfds (4 KiB), 4% signalfds, 1%
 * epoll instances (each watching 8 eventfds), 1% pseudo-terminal ends
 * (pairs, 16 bytes written on the slave not yet read from the master), the
 * rest /dev/null.
 */
#define _GNU_SOURCE
#include <fcntl.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/timerfd.h>
#include <termios.h>
#include <unistd.h>

enum kind { K_NONE, K_REG, K_DUP, K_PIPE_R, K_PIPE_W, K_EVENT, K_SOCK, K_TIMER, K_MEMFD, K_SIGNAL, K_EPOLL, K_NULL, K_PTY_M, K_PTY_S };
static enum kind *kind;
static const char *result;

static void bad(const char *fmt, int fd)
{
	FILE *f = fopen(result, "w");
	if (f) {
		fprintf(f, "BAD: ");
		fprintf(f, fmt, fd);
		fprintf(f, "\n");
		fclose(f);
	}
	exit(1);
}

static int need(int fd)
{
	if (fd < 0)
		bad("cannot create fd (after %d)", 0);
	return fd;
}

int main(int argc, char **argv)
{
	int n = argc > 2 ? atoi(argv[1]) : 0;
	result = argc > 2 ? argv[2] : "/dev/null";
	struct rlimit rl;
	getrlimit(RLIMIT_NOFILE, &rl);
	rl.rlim_cur = rl.rlim_max;
	setrlimit(RLIMIT_NOFILE, &rl);
	if ((rlim_t)n + 64 > rl.rlim_cur) {
		fprintf(stderr, "fds: RLIMIT_NOFILE %lu is too low for %d fds\n", (unsigned long)rl.rlim_cur, n);
		return 1;
	}
	/* nothing inherited (a shell's own pipes would be refused) */
	syscall(SYS_close_range, 3, ~0U, 0);
	kind = calloc(n + 64, sizeof(*kind));
	sigset_t m;
	sigemptyset(&m);
	sigaddset(&m, SIGUSR1);
	sigaddset(&m, SIGUSR2);
	sigprocmask(SIG_BLOCK, &m, NULL);

	char dir[] = "/tmp/criu-bench-fds-XXXXXX";
	if (!mkdtemp(dir))
		return 1;
	char path[64];
	int files[50];
	for (int i = 0; i < 50; i++) {
		snprintf(path, sizeof(path), "%s/f%d", dir, i);
		files[i] = need(open(path, O_RDWR | O_CREAT, 0644));
		if (ftruncate(files[i], 1 << 20))
			return 1;
		close(files[i]);
	}
	int made = 0, target[14] = { 0 };
	target[K_REG] = n * 20 / 100;
	target[K_DUP] = n * 10 / 100;
	target[K_PIPE_R] = n * 15 / 100;
	target[K_EVENT] = n * 10 / 100;
	target[K_SOCK] = n * 5 / 100;
	target[K_TIMER] = n * 5 / 100;
	target[K_MEMFD] = n * 5 / 100;
	target[K_SIGNAL] = n * 4 / 100;
	target[K_EPOLL] = n * 1 / 100;
	target[K_PTY_M] = n / 2 / 100;	/* pairs */
	int first_reg = -1, first_event = -1;

	for (int i = 0; i < target[K_REG]; i++, made++) {
		snprintf(path, sizeof(path), "%s/f%d", dir, i % 50);
		int fd = need(open(path, O_RDWR));
		lseek(fd, fd * 7, SEEK_SET);
		kind[fd] = K_REG;
		if (first_reg < 0)
			first_reg = fd;
	}
	for (int i = 0; i < target[K_DUP]; i++, made++)
		kind[need(dup(first_reg + i))] = K_DUP;
	for (int i = 0; i < target[K_PIPE_R]; i++, made += 2) {
		int p[2];
		if (pipe(p) || write(p[1], "0123456789abcdef", 16) != 16)
			bad("pipe %d", i);
		kind[p[0]] = K_PIPE_R;
		kind[p[1]] = K_PIPE_W;
	}
	for (int i = 0; i < target[K_EVENT]; i++, made++) {
		int fd = need(eventfd(0, 0));
		uint64_t v = fd;
		if (write(fd, &v, 8) != 8)
			bad("eventfd %d", fd);
		kind[fd] = K_EVENT;
		if (first_event < 0)
			first_event = fd;
	}
	for (int i = 0; i < target[K_SOCK]; i++, made += 2) {
		int sv[2];
		if (socketpair(AF_UNIX, SOCK_STREAM, 0, sv) || write(sv[0], "0123456789abcdef", 16) != 16 ||
		    write(sv[1], "0123456789abcdef", 16) != 16)
			bad("socketpair %d", i);
		kind[sv[0]] = kind[sv[1]] = K_SOCK;
	}
	struct itimerspec its = { .it_value = { 3600, 0 } };
	for (int i = 0; i < target[K_TIMER]; i++, made++) {
		int fd = need(timerfd_create(CLOCK_MONOTONIC, 0));
		timerfd_settime(fd, 0, &its, NULL);
		kind[fd] = K_TIMER;
	}
	char page[4096];
	memset(page, 0x5a, sizeof(page));
	for (int i = 0; i < target[K_MEMFD]; i++, made++) {
		int fd = need(memfd_create("bench", 0));
		if (write(fd, page, sizeof(page)) != sizeof(page))
			bad("memfd %d", fd);
		kind[fd] = K_MEMFD;
	}
	for (int i = 0; i < target[K_SIGNAL]; i++, made++)
		kind[need(signalfd(-1, &m, 0))] = K_SIGNAL;
	for (int i = 0; i < target[K_EPOLL]; i++, made++) {
		int ep = need(epoll_create1(0));
		for (int j = 0; j < 8 && first_event >= 0; j++) {
			struct epoll_event ev = { .events = EPOLLIN, .data.u64 = first_event + (i * 8 + j) % target[K_EVENT] };
			epoll_ctl(ep, EPOLL_CTL_ADD, ev.data.u64, &ev);
		}
		kind[ep] = K_EPOLL;
	}
	for (int i = 0; i < target[K_PTY_M]; i++, made += 2) {
		int m = need(posix_openpt(O_RDWR | O_NOCTTY | O_NONBLOCK));
		struct termios t;
		if (grantpt(m) || unlockpt(m))
			bad("pty %d", m);
		int s = need(open(ptsname(m), O_RDWR | O_NOCTTY));
		tcgetattr(s, &t);
		cfmakeraw(&t);
		if (tcsetattr(s, TCSANOW, &t) || write(s, "0123456789abcdef", 16) != 16)
			bad("pty %d", m);
		kind[m] = K_PTY_M;
		kind[s] = K_PTY_S;
	}
	for (; made < n; made++)
		kind[need(open("/dev/null", O_RDWR))] = K_NULL;

	printf("READY\n");
	fflush(stdout);
	int sig;
	sigwait(&m, &sig);

	char buf[32];
	for (int fd = 3; fd < n + 64; fd++) {
		switch (kind[fd]) {
		case K_REG:
			if (lseek(fd, 0, SEEK_CUR) != fd * 7)
				bad("file offset of fd %d", fd);
			break;
		case K_DUP:
			if (fcntl(fd, F_GETFD) < 0)
				bad("dup fd %d", fd);
			break;
		case K_PIPE_R:
		case K_SOCK:
		case K_PTY_M:
			if (read(fd, buf, 16) != 16 || memcmp(buf, "0123456789abcdef", 16))
				bad("data of fd %d", fd);
			break;
		case K_EVENT: {
			uint64_t v = 0;
			if (read(fd, &v, 8) != 8 || v != (uint64_t)fd)
				bad("eventfd %d", fd);
			break;
		}
		case K_TIMER: {
			struct itimerspec cur;
			if (timerfd_gettime(fd, &cur) || cur.it_value.tv_sec < 3000)
				bad("timerfd %d", fd);
			break;
		}
		case K_MEMFD:
			if (pread(fd, buf, 16, 100) != 16 || buf[0] != 0x5a)
				bad("memfd %d", fd);
			break;
		case K_NONE:
			break;
		default:
			if (fcntl(fd, F_GETFD) < 0)
				bad("fd %d", fd);
		}
	}
	for (int i = 0; i < 50; i++) {
		snprintf(path, sizeof(path), "%s/f%d", dir, i);
		unlink(path);
	}
	rmdir(dir);
	FILE *f = fopen(result, "w");
	if (f) {
		fprintf(f, "OK\n");
		fclose(f);
	}
	return 0;
}
