/*
 * tree_files: open files a parent and its child share after fork.
 *
 * Before the checkpoint, the parent makes a pipe (and writes 6000 bytes
 * into it that nobody has read yet), a regular file opened without
 * O_APPEND (and writes 100 bytes: the shared offset is 100), an eventfd
 * (counter 3) and a control pipe, then forks.  The child keeps the read
 * ends, the file and the eventfd; the parent the write ends, the file and
 * the eventfd; stdout (the test's log) stays shared by both.
 *
 * After the restore (SIGUSR1) the parent writes "go" and 4000 more bytes
 * into the pipes; the child must read exactly the 6000 + 4000 bytes, in
 * order, read the eventfd's 3, and write 50 bytes at the shared offset;
 * and answer "ok" on the socket pair after reading the parent's message;
 * the parent then sees its offset at 150, reads the child's message and
 * its "ok", and the child's exit status 0.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include "test/lib/test.h"

#define BEFORE 6000
#define AFTER 4000

static uint8_t byte_at(int i) { return (uint8_t)test_mix(i + 77); }

static int child_main(int data_r, int ctl_r, int file, int efd, int sk)
{
	char c;
	struct pollfd pf = { ctl_r, POLLIN, 0 };
	/* a pipe restored as two would never bring it */
	int pr;
	/* a poll with a timeout comes back with EINTR from a checkpoint */
	while ((pr = poll(&pf, 1, 10000)) < 0 && errno == EINTR)
		;
	if (pr != 1)
		return pr == 0 ? 15 : 16;
	if (read(ctl_r, &c, 1) != 1 || c != 'g')
		return 10;
	uint8_t buf[BEFORE + AFTER];
	size_t got = 0;
	while (got < sizeof(buf)) {
		ssize_t n = read(data_r, buf + got, sizeof(buf) - got);
		if (n <= 0)
			return 11;
		got += n;
	}
	for (int i = 0; i < BEFORE + AFTER; i++)
		if (buf[i] != byte_at(i))
			return 12;
	uint64_t v = 0;
	if (read(efd, &v, 8) != 8 || v != 3)
		return 13;
	char line[50];
	memset(line, 'c', sizeof(line));
	if (write(file, line, sizeof(line)) != sizeof(line))
		return 14;
	char msg[32] = "";
	if (read(sk, msg, sizeof(msg)) != 13 || memcmp(msg, "hello-before", 13) || write(sk, "ok", 3) != 3)
		return 17;
	return 0;
}

int main(int argc, char **argv)
{
	test_init(argc, argv);
	int data[2], ctl[2], sk[2];
	if (pipe(data) || pipe(ctl) || socketpair(AF_UNIX, SOCK_SEQPACKET, 0, sk))
		fail("pipe/socketpair: %s", strerror(errno));
	if (write(sk[0], "hello-before", 13) != 13 || write(sk[1], "reply-before", 13) != 13)
		fail("socket write: %s", strerror(errno));
	int file = open(test_path("shared"), O_RDWR | O_CREAT | O_TRUNC, 0600);
	int efd = eventfd(0, 0);
	if (file < 0 || efd < 0)
		fail("open/eventfd: %s", strerror(errno));
	char line[100];
	memset(line, 'p', sizeof(line));
	uint8_t buf[BEFORE + AFTER];
	for (int i = 0; i < BEFORE + AFTER; i++)
		buf[i] = byte_at(i);
	uint64_t three = 3;
	if (write(file, line, sizeof(line)) != sizeof(line) || write(efd, &three, 8) != 8 ||
	    write(data[1], buf, BEFORE) != BEFORE)
		fail("write: %s", strerror(errno));

	pid_t child = fork();
	if (child < 0)
		fail("fork: %s", strerror(errno));
	if (child == 0) {
		close(data[1]);
		close(ctl[1]);
		close(sk[0]);
		_exit(child_main(data[0], ctl[0], file, efd, sk[1]));
	}
	close(data[0]);
	close(ctl[0]);
	close(sk[1]);
	test_ready();
	test_wait_checkpoint();

	if (write(ctl[1], "g", 1) != 1 || write(data[1], buf + BEFORE, AFTER) != AFTER)
		fail("write after restore: %s", strerror(errno));
	int st;
	if (waitpid(child, &st, 0) != child)
		fail("waitpid: %s", strerror(errno));
	if (!WIFEXITED(st) || WEXITSTATUS(st))
		fail("child failed its checks (status %#x: 10 control pipe, 15 control pipe silent, 16 poll failed, 11 data pipe short, 12 data wrong, 13 eventfd, 14 file, 17 socket pair)",
		     st);
	char msg[32] = "";
	if (read(sk[0], msg, sizeof(msg)) != 13 || memcmp(msg, "reply-before", 13))
		fail("socket pair: the child's message before the checkpoint is lost ('%s')", msg);
	if (read(sk[0], msg, sizeof(msg)) != 3 || memcmp(msg, "ok", 3))
		fail("socket pair: no answer from the child after the restore ('%s')", msg);
	off_t off = lseek(file, 0, SEEK_CUR);
	if (off != 150)
		fail("the shared file offset is %ld, want 150 (100 + the child's 50)", (long)off);
	pass();
}
