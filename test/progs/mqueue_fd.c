/*
 * mqueue_fd: a POSIX message queue of criu's own (the host's) ipc
 * namespace open (mq_open) with a message queued.  Its queue is not the
 * tree's to save (only a tree with an ipc namespace of its own has its
 * queues saved: test/ns.sh ns/mq*): the dump must be refused with a line
 * naming the queue (test/refuse.sh), and the program runs on: after
 * SIGUSR1 its queue still holds the message, with its priority, and its
 * attributes.
 */
#include <errno.h>
#include <fcntl.h>
#include <mqueue.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "test/lib/test.h"

static char name[64];

static void unlink_queue(void)
{
	mq_unlink(name);
}

int main(int argc, char **argv)
{
	struct mq_attr a = { .mq_maxmsg = 4, .mq_msgsize = 64 };
	char buf[64];
	unsigned prio = 0;

	test_init(argc, argv);
	snprintf(name, sizeof(name), "/criu-test-mq-%d", (int)getpid());
	mqd_t q = mq_open(name, O_CREAT | O_EXCL | O_RDWR, 0600, &a);
	if (q == (mqd_t)-1)
		fail("mq_open %s: %s", name, strerror(errno));
	atexit(unlink_queue);
	if (mq_send(q, "hello", 5, 3))
		fail("mq_send: %s", strerror(errno));
	test_ready();
	test_wait_checkpoint();

	if (mq_getattr(q, &a) || a.mq_maxmsg != 4 || a.mq_msgsize != 64 || a.mq_curmsgs != 1)
		fail("attributes: maxmsg %ld msgsize %ld curmsgs %ld", a.mq_maxmsg, a.mq_msgsize, a.mq_curmsgs);
	ssize_t n = mq_receive(q, buf, sizeof(buf), &prio);
	if (n != 5 || memcmp(buf, "hello", 5) || prio != 3)
		fail("message: %zd bytes, priority %u", n, prio);
	pass();
}
