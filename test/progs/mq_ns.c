/*
 * mq_ns: POSIX message queues of an ipc namespace of its own (run under
 * `unshare --ipc --fork`, test/ns.sh section ns).
 *
 *   mq_ns [state]: three queues: /mq-a (8 messages of up to 100 bytes,
 *     mode 0640, owner 1234:5678) holding seven messages of priorities 0
 *     to 32767, one of them binary and 100 bytes long, open three times
 *     (O_RDWR|O_NONBLOCK, dup'ed at fd 40; O_RDONLY); /mq-empty (3 x 16,
 *     mode 0604), open nowhere; /mq-full (2 x 8) full, open O_WRONLY.
 *     Then the namespace's limits are lowered below /mq-a's attributes
 *     (fs.mqueue.msg_max 5, msgsize_max 128, queues_max 3).  After
 *     SIGUSR1 it checks all of it: attributes, flags, access modes, owner
 *     and mode, the shared description, every message in the order and
 *     with the priority mq_receive must give, the limits.
 *   mq_ns notify: /mq-n holding two messages, with a SIGEV_SIGNAL
 *     notification (SIGUSR2) registered: the dump must be refused without
 *     firing it; after SIGUSR1 it checks that no SIGUSR2 came, that the
 *     messages are there, and that the notification still fires when the
 *     emptied queue gets a message.
 *   mq_ns unlinked: /mq-u open and removed (mq_unlink): refused.
 *   mq_ns foreign: /mq-f open, then the program moves to a new ipc
 *     namespace (unshare): its fd holds a queue of another namespace than
 *     the tree's: refused.
 */
#include <errno.h>
#include <fcntl.h>
#include <mqueue.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "test/lib/test.h"

static const struct {
	unsigned prio;
	const char *text;
} sent[] = {
	{ 1, "one-a" }, { 5, "five-a" }, { 1, "one-b" }, { 5, "five-b" }, { 0, "zero" },
	{ 32767, "max" }, { 3, NULL /* the binary one */ },
};
#define NR_SENT (sizeof(sent) / sizeof(sent[0]))
/* the order mq_receive gives them: priority, then age */
static const int order[NR_SENT] = { 5, 1, 3, 6, 0, 2, 4 };

static void binary(char *buf)
{
	for (int i = 0; i < 100; i++)
		buf[i] = (char)(i * 37);
}

static mqd_t open_new(const char *name, int flags, mode_t mode, long maxmsg, long msgsize)
{
	struct mq_attr a = { .mq_maxmsg = maxmsg, .mq_msgsize = msgsize };
	mqd_t q = mq_open(name, flags | O_CREAT | O_EXCL, mode, &a);
	if (q == (mqd_t)-1)
		fail("mq_open %s: %s", name, strerror(errno));
	if (fchmod(q, mode))
		fail("fchmod %s: %s", name, strerror(errno));
	return q;
}

static void set_sysctl(const char *name, const char *v)
{
	char path[96];
	snprintf(path, sizeof(path), "/proc/sys/fs/mqueue/%s", name);
	FILE *f = fopen(path, "w");
	if (!f || fprintf(f, "%s\n", v) < 0 || fclose(f))
		fail("cannot set %s to %s", path, v);
}

static void check_sysctl(const char *name, const char *want)
{
	char path[96], got[32] = "";
	snprintf(path, sizeof(path), "/proc/sys/fs/mqueue/%s", name);
	FILE *f = fopen(path, "r");
	if (!f || !fgets(got, sizeof(got), f))
		fail("cannot read %s", path);
	fclose(f);
	got[strcspn(got, "\n")] = 0;
	if (strcmp(got, want))
		fail("%s is %s, not %s", path, got, want);
}

static void check_attr(mqd_t q, const char *what, long maxmsg, long msgsize, long cur, long flags)
{
	struct mq_attr a;
	if (mq_getattr(q, &a))
		fail("mq_getattr %s: %s", what, strerror(errno));
	if (a.mq_maxmsg != maxmsg || a.mq_msgsize != msgsize || a.mq_curmsgs != cur || a.mq_flags != flags)
		fail("%s: maxmsg %ld msgsize %ld curmsgs %ld flags %lx, want %ld %ld %ld %lx", what, a.mq_maxmsg,
		     a.mq_msgsize, a.mq_curmsgs, a.mq_flags, maxmsg, msgsize, cur, flags);
}

static void check_file(int fd, const char *what, int acc, mode_t mode, uid_t uid, gid_t gid)
{
	struct stat st;
	int fl = fcntl(fd, F_GETFL);
	if (fl < 0 || (fl & O_ACCMODE) != acc)
		fail("%s: access mode %o, want %o", what, fl & O_ACCMODE, acc);
	if (fstat(fd, &st) || (st.st_mode & 07777) != mode || st.st_uid != uid || st.st_gid != gid)
		fail("%s: mode %o owner %u:%u, want %o %u:%u", what, st.st_mode & 07777, st.st_uid, st.st_gid, mode,
		     uid, gid);
}

static void setup_state(mqd_t *a, mqd_t *b, mqd_t *c)
{
	char bin[100];

	*a = open_new("/mq-a", O_RDWR | O_NONBLOCK, 0640, 8, 100);
	if (fchown(*a, 1234, 5678))
		fail("fchown /mq-a: %s", strerror(errno));
	binary(bin);
	for (size_t i = 0; i < NR_SENT; i++)
		if (mq_send(*a, sent[i].text ? sent[i].text : bin, sent[i].text ? strlen(sent[i].text) : 100,
			    sent[i].prio))
			fail("mq_send %zu: %s", i, strerror(errno));
	if (dup2(*a, 40) != 40)
		fail("dup2: %s", strerror(errno));
	*b = mq_open("/mq-a", O_RDONLY);
	mq_close(open_new("/mq-empty", O_RDONLY, 0604, 3, 16));
	*c = open_new("/mq-full", O_WRONLY, 0600, 2, 8);
	if (*b == (mqd_t)-1 || mq_send(*c, "x1", 2, 2) || mq_send(*c, "x2", 2, 2))
		fail("/mq-a again, /mq-full: %s", strerror(errno));
	set_sysctl("msg_max", "5");
	set_sysctl("msgsize_max", "128");
	set_sysctl("queues_max", "3");
}

static void check_msgs(mqd_t q)
{
	char buf[128], bin[100];
	unsigned prio;

	binary(bin);
	for (size_t i = 0; i < NR_SENT; i++) {
		int k = order[i];
		const char *want = sent[k].text ? sent[k].text : bin;
		size_t len = sent[k].text ? strlen(want) : 100;
		ssize_t n = mq_receive(q, buf, sizeof(buf), &prio);
		if (n != (ssize_t)len || memcmp(buf, want, len) || prio != sent[k].prio)
			fail("message %zu: %zd bytes, priority %u, want %zu bytes '%.8s' priority %u", i + 1, n, prio,
			     len, sent[k].text ? want : "(binary)", sent[k].prio);
	}
}

static void check_state(mqd_t a, mqd_t b, mqd_t c)
{
	struct stat sa, sb;
	char buf[16];
	unsigned prio;

	check_sysctl("msg_max", "5");
	check_sysctl("msgsize_max", "128");
	check_sysctl("queues_max", "3");
	check_file(a, "/mq-a fd", O_RDWR, 0640, 1234, 5678);
	check_file(b, "/mq-a O_RDONLY fd", O_RDONLY, 0640, 1234, 5678);
	check_attr(a, "/mq-a", 8, 100, NR_SENT, O_NONBLOCK);
	check_attr(40, "/mq-a dup", 8, 100, NR_SENT, O_NONBLOCK);
	check_attr(b, "/mq-a O_RDONLY", 8, 100, NR_SENT, 0);
	if (fstat(a, &sa) || fstat(b, &sb) || sa.st_ino != sb.st_ino || sa.st_dev != sb.st_dev)
		fail("the fds of /mq-a are not on one queue");
	/* the dup shares the description: its flags change with a's */
	struct mq_attr blocking = { .mq_flags = 0 };
	if (mq_setattr(a, &blocking, NULL))
		fail("mq_setattr: %s", strerror(errno));
	check_attr(40, "/mq-a dup after mq_setattr", 8, 100, NR_SENT, 0);
	check_msgs(b);
	check_attr(a, "/mq-a emptied", 8, 100, 0, 0);

	mqd_t e = mq_open("/mq-empty", O_RDONLY | O_NONBLOCK);
	if (e == (mqd_t)-1)
		fail("/mq-empty: %s", strerror(errno));
	check_file(e, "/mq-empty", O_RDONLY, 0604, 0, 0);
	check_attr(e, "/mq-empty", 3, 16, 0, O_NONBLOCK);

	check_file(c, "/mq-full fd", O_WRONLY, 0600, 0, 0);
	check_attr(c, "/mq-full", 2, 8, 2, 0);
	mqd_t f = mq_open("/mq-full", O_RDONLY | O_NONBLOCK);
	for (int i = 1; i <= 2; i++) {
		ssize_t n = mq_receive(f, buf, sizeof(buf), &prio);
		if (n != 2 || buf[0] != 'x' || buf[1] != '0' + i || prio != 2)
			fail("/mq-full message %d: %zd bytes, priority %u", i, n, prio);
	}
}

static volatile sig_atomic_t notified;

static void on_usr2(int sig)
{
	(void)sig;
	notified++;
}

static mqd_t setup_notify(void)
{
	struct sigevent ev = { .sigev_notify = SIGEV_SIGNAL, .sigev_signo = SIGUSR2 };
	mqd_t q = open_new("/mq-n", O_RDWR | O_NONBLOCK, 0600, 4, 16);

	signal(SIGUSR2, on_usr2);
	if (mq_send(q, "n1", 2, 1) || mq_send(q, "n2", 2, 0) || mq_notify(q, &ev))
		fail("/mq-n: %s", strerror(errno));
	return q;
}

static void check_notify(mqd_t q)
{
	char buf[16];
	unsigned prio;

	if (notified)
		fail("the notification fired %d time(s) before the queue was emptied", (int)notified);
	for (int i = 1; i <= 2; i++) {
		ssize_t n = mq_receive(q, buf, sizeof(buf), &prio);
		if (n != 2 || buf[1] != '0' + i || prio != (unsigned)(2 - i))
			fail("/mq-n message %d: %zd bytes, priority %u", i, n, prio);
	}
	if (mq_send(q, "n3", 2, 0))
		fail("mq_send: %s", strerror(errno));
	for (int i = 0; i < 1000 && !notified; i++)
		usleep(1000);
	if (notified != 1)
		fail("the notification fired %d time(s) once the queue got a message, want 1", (int)notified);
}

int main(int argc, char **argv)
{
	const char *mode = argc > 1 ? argv[1] : "state";
	mqd_t a = -1, b = -1, c = -1;

	test_init(argc, argv);
	if (!strcmp(mode, "state"))
		setup_state(&a, &b, &c);
	else if (!strcmp(mode, "notify"))
		a = setup_notify();
	else if (!strcmp(mode, "unlinked")) {
		a = open_new("/mq-u", O_RDWR, 0600, 2, 8);
		if (mq_send(a, "u", 1, 0) || mq_unlink("/mq-u"))
			fail("/mq-u: %s", strerror(errno));
	} else if (!strcmp(mode, "foreign")) {
		a = open_new("/mq-f", O_RDWR, 0600, 2, 8);
		if (mq_send(a, "u", 1, 0) || unshare(CLONE_NEWIPC))
			fail("/mq-f: %s", strerror(errno));
	} else
		fail("unknown mode %s", mode);
	test_ready();
	test_wait_checkpoint();

	if (!strcmp(mode, "state"))
		check_state(a, b, c);
	else if (!strcmp(mode, "notify"))
		check_notify(a);
	else
		check_attr(a, "/mq-u", 2, 8, 1, 0);
	pass();
}
