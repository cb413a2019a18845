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
 *   mq_ns notify: notifications (mq_notify) registered on /mq-n, holding
 *     two messages (SIGEV_SIGNAL SIGUSR2, value 0x5eed), on the empty
 *     /mq-e (SIGRTMIN+1, value 77) and on the empty /mq-x (SIGEV_NONE).
 *     Dumping reads every message and fires notifications: after SIGUSR1
 *     it checks that no signal came, that every registration is there
 *     (another one gets EBUSY), the messages in order, and that each
 *     notification fires once, with its value, when its emptied queue
 *     gets a message.
 *   mq_ns notify_pending: /mq-p with a message and a SIGEV_SIGNAL
 *     registration (SIGUSR2) while a SIGUSR2 is pending (blocked): the
 *     dump must be refused without firing it; after SIGUSR1 the
 *     registration and the message are there.
 *   mq_ns notify_thread: /mq-t with a SIGEV_THREAD registration: refused.
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
#include <stdbool.h>
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

static volatile sig_atomic_t got_usr2, got_rt;
static volatile long usr2_value, rt_value;
static volatile int usr2_code, rt_code;

static void on_sig(int sig, siginfo_t *si, void *uc)
{
	(void)uc;
	if (sig == SIGUSR2) {
		got_usr2++;
		usr2_value = si->si_value.sival_int;
		usr2_code = si->si_code;
	} else {
		got_rt++;
		rt_value = si->si_value.sival_int;
		rt_code = si->si_code;
	}
}

static void notify_on(mqd_t q, const char *name, int how, int sig, int value)
{
	struct sigevent ev = { .sigev_notify = how, .sigev_signo = sig };
	ev.sigev_value.sival_int = value;
	if (mq_notify(q, &ev))
		fail("mq_notify %s: %s", name, strerror(errno));
}

/* a registration is there: another one is refused */
static void check_busy(mqd_t q, const char *name, bool want)
{
	struct sigevent ev = { .sigev_notify = SIGEV_NONE };
	int r = mq_notify(q, &ev);
	if (want ? (r == 0 || errno != EBUSY) : r != 0)
		fail("%s: %s", name, want ? "its notification is not registered" : "still registered");
	if (!want)
		mq_notify(q, NULL);
}

static void setup_notify(mqd_t *n, mqd_t *e, mqd_t *x)
{
	struct sigaction sa = { .sa_sigaction = on_sig, .sa_flags = SA_SIGINFO };

	if (sigaction(SIGUSR2, &sa, NULL) || sigaction(SIGRTMIN + 1, &sa, NULL))
		fail("sigaction: %s", strerror(errno));
	*n = open_new("/mq-n", O_RDWR | O_NONBLOCK, 0600, 4, 16);
	*e = open_new("/mq-e", O_RDWR | O_NONBLOCK, 0600, 4, 16);
	*x = open_new("/mq-x", O_RDWR | O_NONBLOCK, 0600, 4, 16);
	if (mq_send(*n, "n1", 2, 1) || mq_send(*n, "n2", 2, 0))
		fail("/mq-n: %s", strerror(errno));
	notify_on(*n, "/mq-n", SIGEV_SIGNAL, SIGUSR2, 0x5eed);
	notify_on(*e, "/mq-e", SIGEV_SIGNAL, SIGRTMIN + 1, 77);
	notify_on(*x, "/mq-x", SIGEV_NONE, 0, 0);
}

static void wait_sig(volatile sig_atomic_t *count)
{
	for (int i = 0; i < 1000 && !*count; i++)
		usleep(1000);
}

static void check_notify(mqd_t n, mqd_t e, mqd_t x)
{
	char buf[16];
	unsigned prio;

	if (got_usr2 || got_rt)
		fail("signals before the queues were emptied: %d SIGUSR2, %d SIGRTMIN+1", (int)got_usr2, (int)got_rt);
	check_busy(n, "/mq-n", true);
	check_busy(e, "/mq-e", true);
	check_busy(x, "/mq-x", true);
	for (int i = 1; i <= 2; i++) {
		ssize_t len = mq_receive(n, buf, sizeof(buf), &prio);
		if (len != 2 || buf[1] != '0' + i || prio != (unsigned)(2 - i))
			fail("/mq-n message %d: %zd bytes, priority %u", i, len, prio);
	}
	if (got_usr2 || mq_send(n, "n3", 2, 0))
		fail("/mq-n: %d signals, send: %s", (int)got_usr2, strerror(errno));
	wait_sig(&got_usr2);
	if (got_usr2 != 1 || usr2_value != 0x5eed || usr2_code != SI_MESGQ)
		fail("/mq-n: %d notifications, value %#lx, code %d; want 1, 0x5eed, SI_MESGQ", (int)got_usr2,
		     usr2_value, usr2_code);
	if (mq_send(e, "e1", 2, 0))
		fail("/mq-e: %s", strerror(errno));
	wait_sig(&got_rt);
	if (got_rt != 1 || rt_value != 77 || rt_code != SI_MESGQ)
		fail("/mq-e: %d notifications, value %ld, code %d; want 1, 77, SI_MESGQ", (int)got_rt, rt_value,
		     rt_code);
	if (mq_send(x, "x1", 2, 0))
		fail("/mq-x: %s", strerror(errno));
	check_busy(x, "/mq-x after a message", false);
}

static void thread_fn(union sigval v)
{
	(void)v;
}

static mqd_t setup_notify_other(const char *mode)
{
	if (!strcmp(mode, "notify_thread")) {
		mqd_t q = open_new("/mq-t", O_RDWR | O_NONBLOCK, 0600, 4, 16);
		struct sigevent ev = { .sigev_notify = SIGEV_THREAD, .sigev_notify_function = thread_fn };
		if (mq_notify(q, &ev))
			fail("mq_notify SIGEV_THREAD: %s", strerror(errno));
		return q;
	}
	sigset_t set;
	sigemptyset(&set);
	sigaddset(&set, SIGUSR2);
	mqd_t q = open_new("/mq-p", O_RDWR | O_NONBLOCK, 0600, 4, 16);
	if (sigprocmask(SIG_BLOCK, &set, NULL) || raise(SIGUSR2) || mq_send(q, "p", 1, 0))
		fail("/mq-p: %s", strerror(errno));
	notify_on(q, "/mq-p", SIGEV_SIGNAL, SIGUSR2, 1);
	return q;
}

static void check_notify_other(mqd_t q, const char *mode)
{
	char buf[16];
	sigset_t pending;

	check_busy(q, mode, true);
	if (!strcmp(mode, "notify_thread"))
		return;
	if (sigpending(&pending) || !sigismember(&pending, SIGUSR2))
		fail("the pending SIGUSR2 is gone");
	if (mq_receive(q, buf, sizeof(buf), NULL) != 1 || buf[0] != 'p')
		fail("/mq-p: its message is gone");
}

int main(int argc, char **argv)
{
	const char *mode = argc > 1 ? argv[1] : "state";
	mqd_t a = -1, b = -1, c = -1;

	test_init(argc, argv);
	if (!strcmp(mode, "state"))
		setup_state(&a, &b, &c);
	else if (!strcmp(mode, "notify"))
		setup_notify(&a, &b, &c);
	else if (!strncmp(mode, "notify_", 7))
		a = setup_notify_other(mode);
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
		check_notify(a, b, c);
	else if (!strncmp(mode, "notify_", 7))
		check_notify_other(a, mode);
	else
		check_attr(a, "/mq-u", 2, 8, 1, 0);
	pass();
}
