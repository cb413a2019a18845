/*
 * leases: file leases (F_SETLEASE).
 *
 *   fd 3: "r" opened O_RDONLY with a read lease
 *   fd 4: "w" opened O_RDONLY, alone, with a write lease
 *   fd 5: "n" opened O_RDONLY, no lease
 *
 * After restore: F_GETLEASE gives F_RDLCK, F_WRLCK and F_UNLCK, and a lease
 * still works: another process opening "w" for reading breaks the write
 * lease (the lease-break signal, SIGIO, arrives).
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "test/lib/test.h"

static void open_at(const char *path, int want)
{
	int fd = open(path, O_RDONLY);
	if (fd != want)
		fail("open %s: %s (fd %d)", path, strerror(errno), fd);
}

int main(int argc, char **argv)
{
	test_init(argc, argv);
	char *r = test_path("r"), *w = test_path("w"), *n = test_path("n");
	const char *paths[] = { r, w, n };
	for (int i = 0; i < 3; i++) {
		int fd = open(paths[i], O_WRONLY | O_CREAT | O_EXCL, 0644);
		if (fd < 0 || write(fd, "lease", 5) != 5 || close(fd))
			fail("create %s: %s", paths[i], strerror(errno));
	}
	open_at(r, 3);
	open_at(w, 4);
	open_at(n, 5);
	if (fcntl(3, F_SETLEASE, F_RDLCK) || fcntl(4, F_SETLEASE, F_WRLCK))
		fail("F_SETLEASE: %s", strerror(errno));
	sigset_t io;
	sigemptyset(&io);
	sigaddset(&io, SIGIO);
	sigprocmask(SIG_BLOCK, &io, NULL);

	test_ready();
	test_wait_checkpoint();

	int l3 = fcntl(3, F_GETLEASE), l4 = fcntl(4, F_GETLEASE), l5 = fcntl(5, F_GETLEASE);
	if (l3 != F_RDLCK || l4 != F_WRLCK || l5 != F_UNLCK)
		fail("F_GETLEASE: %d %d %d, expected %d %d %d", l3, l4, l5, F_RDLCK, F_WRLCK, F_UNLCK);
	pid_t child = fork();
	if (child == 0) {
		/* blocks until the lease is given up (or lease-break-time) */
		int fd = open(w, O_RDONLY);
		_exit(fd < 0);
	}
	struct timespec ts = { 10, 0 };
	if (sigtimedwait(&io, NULL, &ts) != SIGIO)
		fail("no lease-break signal when another process opened %s", w);
	if (fcntl(4, F_SETLEASE, F_UNLCK))
		fail("F_SETLEASE F_UNLCK: %s", strerror(errno));
	int st;
	if (waitpid(child, &st, 0) != child || !WIFEXITED(st) || WEXITSTATUS(st))
		fail("the child could not open %s", w);
	pass();
}
