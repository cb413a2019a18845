/*
 * locks: file locks and fd owners.
 *   fd 3: file A, flock LOCK_EX
 *   fd 4: file B, POSIX write lock on bytes 10-19, read lock from 100 to EOF
 *   fd 5: file B again (another description; the POSIX locks are the
 *         process's, on the inode)
 *   fd 6: file C, OFD write lock on bytes 0-99; fd 7: dup of fd 6
 *   fd 8: file D, F_SETOWN to this process, F_SETSIG SIGRTMIN+2
 * After restore, checked from new open file descriptions (which conflict
 * with them): the flock is held, the POSIX locks are there (seen with
 * F_OFD_GETLK, owned by this pid), the OFD lock is held; the owner and
 * signal of fd 8.
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/file.h>
#include <unistd.h>

#include "test/lib/test.h"

static void put(int fd, int want)
{
	if (fd < 0)
		fail("open fd %d: %s", want, strerror(errno));
	if (fd != want && (dup2(fd, want) != want || close(fd)))
		fail("dup2: %s", strerror(errno));
}

static void lock(int fd, int cmd, short type, off_t start, off_t len)
{
	struct flock fl = { .l_type = type, .l_whence = SEEK_SET, .l_start = start, .l_len = len };
	if (fcntl(fd, cmd, &fl))
		fail("lock fd %d %ld+%ld: %s", fd, (long)start, (long)len, strerror(errno));
}

/* F_OFD_GETLK from a new description: the conflicting lock, if any.  The
 * fd stays open: closing any fd of a file drops the process's POSIX locks */
static struct flock probe(const char *path, short type, off_t start, off_t len)
{
	int fd = open(path, O_RDWR);
	struct flock fl = { .l_type = type, .l_whence = SEEK_SET, .l_start = start, .l_len = len };
	if (fd < 0 || fcntl(fd, F_OFD_GETLK, &fl))
		fail("F_OFD_GETLK on %s: %s", path, strerror(errno));
	return fl;
}

int main(int argc, char **argv)
{
	test_init(argc, argv);
	char *a = test_path("a"), *b = test_path("b"), *c = test_path("c"), *d = test_path("d");
	put(open(a, O_RDWR | O_CREAT, 0644), 3);
	put(open(b, O_RDWR | O_CREAT, 0644), 4);
	put(open(b, O_RDONLY), 5);
	put(open(c, O_RDWR | O_CREAT, 0644), 6);
	put(open(d, O_RDWR | O_CREAT, 0644), 8);
	if (flock(3, LOCK_EX))
		fail("flock: %s", strerror(errno));
	lock(4, F_SETLK, F_WRLCK, 10, 10);
	lock(4, F_SETLK, F_RDLCK, 100, 0);
	lock(6, F_OFD_SETLK, F_WRLCK, 0, 100);
	if (dup2(6, 7) != 7)
		fail("dup2: %s", strerror(errno));
	if (fcntl(8, F_SETOWN, getpid()) || fcntl(8, F_SETSIG, SIGRTMIN + 2))
		fail("F_SETOWN/F_SETSIG: %s", strerror(errno));

	test_ready();
	test_wait_checkpoint();

	int t = open(a, O_RDWR);
	if (t < 0 || flock(t, LOCK_EX | LOCK_NB) != -1 || errno != EWOULDBLOCK)
		fail("flock on %s is not held after restore", a);
	close(t);

	struct flock fl = probe(b, F_WRLCK, 10, 10);
	if (fl.l_type != F_WRLCK || fl.l_pid != getpid() || fl.l_start != 10 || fl.l_len != 10)
		fail("POSIX write lock 10+10: found type %d pid %d %ld+%ld", fl.l_type, fl.l_pid,
		     (long)fl.l_start, (long)fl.l_len);
	fl = probe(b, F_WRLCK, 100, 5);
	if (fl.l_type != F_RDLCK || fl.l_pid != getpid() || fl.l_start != 100 || fl.l_len != 0)
		fail("POSIX read lock from 100: found type %d pid %d %ld+%ld", fl.l_type, fl.l_pid,
		     (long)fl.l_start, (long)fl.l_len);
	fl = probe(b, F_WRLCK, 30, 10);
	if (fl.l_type != F_UNLCK)
		fail("bytes 30-39 of %s are locked after restore", b);

	fl = probe(c, F_RDLCK, 50, 1);
	if (fl.l_type != F_WRLCK || fl.l_pid != -1 || fl.l_start != 0 || fl.l_len != 100)
		fail("OFD write lock 0+100: found type %d pid %d %ld+%ld", fl.l_type, fl.l_pid,
		     (long)fl.l_start, (long)fl.l_len);
	/* held by the description of fds 6 and 7: they may change it */
	lock(7, F_OFD_SETLK, F_UNLCK, 0, 100);
	fl = probe(c, F_RDLCK, 50, 1);
	if (fl.l_type != F_UNLCK)
		fail("OFD lock still there after fd 7 released it: not fd 6's description");

	if (fcntl(8, F_GETOWN) != getpid() || fcntl(8, F_GETSIG) != SIGRTMIN + 2)
		fail("fd 8: owner %d signal %d, expected %d and %d", fcntl(8, F_GETOWN), fcntl(8, F_GETSIG),
		     getpid(), SIGRTMIN + 2);
	pass();
}
