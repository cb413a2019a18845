/*
 * pty_pairs: two pseudo-terminal pairs held by the process.
 *   fd 3: master A (O_RDWR), fd 4: its slave, fd 7: a dup of fd 4.
 *     Settings: ECHO off, ICANON on, OPOST|ONLCR, VINTR = ^B, VMIN 3,
 *     38400 -> 9600 baud; window 37x123 (640x480 pixels); the slave wrote
 *     "out\nmore" not yet read from the master (ONLCR made it "out\r\nmore":
 *     it must not be converted twice).
 *   fd 5: slave of pair B (below its master), O_NONBLOCK, exclusive
 *     (TIOCEXCL); fd 6: master B,
 *     O_NONBLOCK, packet mode, locked after the slave was opened; window
 *     20x10; raw settings; the master wrote "in\r\x03\n" not yet read from
 *     the slave, stored as is; then ICRNL and ISIG were turned on (which
 *     would have made them "in\n" and a signal): they must stay as they are.
 *   fd 8: master C alone (its slave never opened), window 5x6.
 * After restore: each slave fd and its master are one pair (TIOCGPTN of the
 * master is the slave's pts number, whatever it is now), settings, window
 * sizes, lock and packet mode, the queued output byte for byte, and both
 * directions work (a line written to master A is read on the slave); C's
 * slave, opened by its new name (ptsname), talks to its master.
 *
 * "pty_pairs input": the same, but pair A's master also wrote "x\n" that the
 * slave has not read, in canonical mode: the dump must refuse it
 * (fd/pty_input).
 * "pty_pairs ctty": the same, but the program leads a new session whose
 * controlling terminal is pair A (fd/pty_ctty): after restore, /dev/tty
 * must be pair A's slave again.
 */
#include <errno.h>
#include <stdbool.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <termios.h>
#include <unistd.h>

#include "test/lib/test.h"

static void put(int fd, int want)
{
	if (fd < 0)
		fail("open for fd %d: %s", want, strerror(errno));
	if (fd != want && (dup2(fd, want) != want || close(fd)))
		fail("dup2 %d -> %d: %s", fd, want, strerror(errno));
}

static int open_master(int flags)
{
	int m = posix_openpt(O_RDWR | O_NOCTTY | flags);
	if (m < 0 || grantpt(m) || unlockpt(m))
		fail("posix_openpt: %s", strerror(errno));
	return fcntl(m, F_DUPFD, 100);	/* out of the way of the targets */
}

static int open_slave(int m, int flags)
{
	char *name = ptsname(m);
	if (!name)
		fail("ptsname: %s", strerror(errno));
	return open(name, O_RDWR | O_NOCTTY | flags);
}

/* the master's pts number is the slave's */
static void same_pair(int m, int s, const char *what)
{
	unsigned n = ~0U;
	struct stat st;
	if (ioctl(m, TIOCGPTN, &n) || fstat(s, &st))
		fail("%s: TIOCGPTN/fstat: %s", what, strerror(errno));
	unsigned idx = (major(st.st_rdev) - 136) * 256 + minor(st.st_rdev);
	if (idx != n)
		fail("%s: the slave is pts %u, its master's is pts %u", what, idx, n);
}

static void check_winsize(int fd, int rows, int cols, int xp, int yp, const char *what)
{
	struct winsize ws;
	if (ioctl(fd, TIOCGWINSZ, &ws))
		fail("%s: TIOCGWINSZ: %s", what, strerror(errno));
	if (ws.ws_row != rows || ws.ws_col != cols || ws.ws_xpixel != xp || ws.ws_ypixel != yp)
		fail("%s: window %ux%u (%ux%u px), expected %dx%d (%dx%d px)", what, ws.ws_row, ws.ws_col,
		     ws.ws_xpixel, ws.ws_ypixel, rows, cols, xp, yp);
}

/*
 * Waits (10 s at most) until n bytes are queued for reading on fd.  What is
 * written to one end of a pair reaches the other end's line discipline
 * later, from a kernel worker, which processes it with the settings in
 * force then, not those of the moment of the write: a test that changes
 * the settings must first see the bytes arrive (TIOCINQ counts processed
 * bytes only); a sleep is not enough on a loaded machine.
 */
static void wait_inq(int fd, int n, const char *what)
{
	int q = -1;
	for (int i = 0; i < 10000; i++) {
		if (ioctl(fd, TIOCINQ, &q))
			fail("%s: TIOCINQ: %s", what, strerror(errno));
		if (q >= n)
			return;
		usleep(1000);
	}
	fail("%s: %d bytes queued after 10 s, expected %d", what, q, n);
}

static struct termios ta, tb;

int main(int argc, char **argv)
{
	test_init(argc, argv);

	/* pair A */
	bool ctty = argc > 1 && !strcmp(argv[1], "ctty");
	if (ctty && setsid() < 0)
		fail("setsid: %s", strerror(errno));
	int ma = open_master(0);
	int sa = ctty ? open(ptsname(ma), O_RDWR) : open_slave(ma, 0);
	put(ma, 3);
	put(sa, 4);
	if (dup2(4, 7) != 7)
		fail("dup2: %s", strerror(errno));
	if (tcgetattr(4, &ta))
		fail("tcgetattr: %s", strerror(errno));
	ta.c_lflag &= ~(ECHO | ECHOE | ECHOK | ECHONL);
	ta.c_lflag |= ICANON;
	ta.c_oflag |= OPOST | ONLCR;
	ta.c_cc[VINTR] = 2;
	ta.c_cc[VMIN] = 3;
	cfsetispeed(&ta, B9600);
	cfsetospeed(&ta, B9600);
	if (tcsetattr(4, TCSANOW, &ta) || tcgetattr(4, &ta))
		fail("tcsetattr A: %s", strerror(errno));
	struct winsize wa = { 37, 123, 640, 480 };
	if (ioctl(3, TIOCSWINSZ, &wa))
		fail("TIOCSWINSZ: %s", strerror(errno));
	if (write(4, "out\nmore", 8) != 8)
		fail("write to slave A: %s", strerror(errno));
	wait_inq(3, 9, "pair A: master");

	/* pair B: slave below its master */
	int mb = open_master(O_NONBLOCK);
	int sb = open_slave(mb, O_NONBLOCK);
	put(sb, 5);
	put(mb, 6);
	if (tcgetattr(5, &tb))
		fail("tcgetattr: %s", strerror(errno));
	cfmakeraw(&tb);
	if (tcsetattr(5, TCSANOW, &tb) || tcgetattr(5, &tb))
		fail("tcsetattr B: %s", strerror(errno));
	struct winsize wb = { 20, 10, 0, 0 };
	int one = 1;
	if (ioctl(6, TIOCSWINSZ, &wb) || ioctl(6, TIOCPKT, &one) || ioctl(6, TIOCSPTLCK, &one) ||
	    ioctl(5, TIOCEXCL))
		fail("pair B ioctls: %s", strerror(errno));
	/* pair C: a master alone */
	int mc = open_master(0);
	put(mc, 8);
	struct winsize wc = { 5, 6, 0, 0 };
	if (ioctl(8, TIOCSWINSZ, &wc))
		fail("pair C: TIOCSWINSZ: %s", strerror(errno));
	if (write(6, "in\r\x03\n", 5) != 5)
		fail("pair B: write to master: %s", strerror(errno));
	/* stored as they came (once the slave has them: see wait_inq); now ^C
	 * and \r would be taken as signal (flushing what came before) and \n */
	wait_inq(5, 5, "pair B: slave");
	tb.c_iflag |= ICRNL;
	tb.c_lflag |= ISIG;
	if (tcsetattr(5, TCSANOW, &tb) || tcgetattr(5, &tb))
		fail("tcsetattr B: %s", strerror(errno));
	if (argc > 1 && !strcmp(argv[1], "input") && write(3, "x\n", 2) != 2)
		fail("pair A: write to master: %s", strerror(errno));

	test_ready();
	test_wait_checkpoint();

	/* tcgetsid works only on the caller's controlling terminal */
	if (ctty && tcgetsid(4) != getsid(0))
		fail("pair A is not the controlling terminal: %s", strerror(errno));
	same_pair(3, 4, "pair A");
	same_pair(3, 7, "pair A (fd 7)");
	same_pair(6, 5, "pair B");
	struct termios t;
	if (tcgetattr(4, &t))
		fail("tcgetattr A: %s", strerror(errno));
	if (t.c_iflag != ta.c_iflag || t.c_oflag != ta.c_oflag || t.c_cflag != ta.c_cflag ||
	    t.c_lflag != ta.c_lflag || memcmp(t.c_cc, ta.c_cc, sizeof(t.c_cc)) ||
	    cfgetispeed(&t) != B9600 || cfgetospeed(&t) != B9600)
		fail("pair A: settings differ (iflag %o/%o oflag %o/%o cflag %o/%o lflag %o/%o)", t.c_iflag,
		     ta.c_iflag, t.c_oflag, ta.c_oflag, t.c_cflag, ta.c_cflag, t.c_lflag, ta.c_lflag);
	if (tcgetattr(5, &t))
		fail("tcgetattr B: %s", strerror(errno));
	if (t.c_iflag != tb.c_iflag || t.c_oflag != tb.c_oflag || t.c_lflag != tb.c_lflag ||
	    memcmp(t.c_cc, tb.c_cc, sizeof(t.c_cc)))
		fail("pair B: settings differ");
	check_winsize(4, 37, 123, 640, 480, "pair A");
	check_winsize(5, 20, 10, 0, 0, "pair B");
	int excl = -1;
	if (ioctl(5, TIOCGEXCL, &excl) || excl != 1)
		fail("pair B: slave not exclusive (%d)", excl);
	if (ioctl(4, TIOCGEXCL, &excl) || excl != 0 || ioctl(6, TIOCGEXCL, &excl) || excl != 0)
		fail("pair A's slave or pair B's master exclusive");
	int lock = -1, pkt = -1;
	if (ioctl(3, TIOCGPTLCK, &lock) || lock != 0)
		fail("pair A: lock %d, expected 0", lock);
	if (ioctl(6, TIOCGPTLCK, &lock) || lock != 1)
		fail("pair B: lock %d, expected 1", lock);
	if (ioctl(3, TIOCGPKT, &pkt) || pkt != 0)
		fail("pair A: packet mode %d, expected 0", pkt);
	if (ioctl(6, TIOCGPKT, &pkt) || pkt != 1)
		fail("pair B: packet mode %d, expected 1", pkt);
	if (!(fcntl(5, F_GETFL) & O_NONBLOCK) || !(fcntl(6, F_GETFL) & O_NONBLOCK) || fcntl(3, F_GETFL) & O_NONBLOCK)
		fail("O_NONBLOCK wrong");

	/* the queued output, as it was */
	char buf[64] = "";
	int n = -1;
	if (ioctl(3, TIOCINQ, &n) || n != 9)
		fail("pair A: %d bytes queued for the master, expected 9", n);
	n = read(3, buf, sizeof(buf) - 1);
	if (n != 9 || memcmp(buf, "out\r\nmore", 9))
		fail("pair A: master read %d bytes '%.*s', expected 'out\\r\\nmore'", n, n > 0 ? n : 0, buf);
	/* and it still works: a line to the slave, output to the master */
	if (write(3, "in\n", 3) != 3)
		fail("pair A: write to master: %s", strerror(errno));
	n = read(7, buf, sizeof(buf));
	if (n != 3 || memcmp(buf, "in\n", 3))
		fail("pair A: slave read %d bytes, expected 'in\\n'", n);
	n = read(5, buf, sizeof(buf));
	if (n != 5 || memcmp(buf, "in\r\x03\n", 5))
		fail("pair B: slave read %d bytes (%02x %02x %02x...), expected 'in\\r\\x03\\n'", n,
		     (unsigned char)buf[0], (unsigned char)buf[1], (unsigned char)buf[2]);
	if (write(5, "b", 1) != 1)
		fail("pair B: write to slave: %s", strerror(errno));
	wait_inq(6, 1, "pair B: master");
	n = read(6, buf, sizeof(buf));
	if (n != 2 || buf[0] != TIOCPKT_DATA || buf[1] != 'b')
		fail("pair B: master read %d bytes, expected a packet header and 'b'", n);
	/* the master is nonblocking: nothing more */
	if (read(6, buf, sizeof(buf)) != -1 || errno != EAGAIN)
		fail("pair B: more to read from the master");

	check_winsize(8, 5, 6, 0, 0, "pair C");
	int sc = open_slave(8, 0);
	if (sc < 0)
		fail("pair C: cannot open the slave %s: %s", ptsname(8), strerror(errno));
	same_pair(8, sc, "pair C");
	struct termios tc;
	if (tcgetattr(sc, &tc))
		fail("pair C: tcgetattr: %s", strerror(errno));
	cfmakeraw(&tc);
	if (tcsetattr(sc, TCSANOW, &tc) || write(sc, "c", 1) != 1 || read(8, buf, 1) != 1 || buf[0] != 'c')
		fail("pair C: the slave does not talk to the master");
	pass();
}
