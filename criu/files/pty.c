/*
 * pty.c - pseudo-terminal pairs held by the process: a master (/dev/ptmx)
 * and the slaves (/dev/pts/N) of that master.  A slave whose master is not
 * in the process (the process's own terminal) is a terminal for
 * --shell-job: it is handed to dev.c's terminal kind.
 *
 * Dump: the master carries the pair's state, read through a copy of its
 * fd: the terminal settings (tcgetattr, which on a master gives the
 * slave's), the window size, the lock (TIOCGPTLCK), packet mode
 * (TIOCGPKT), the bytes the slave wrote that the master has not read yet
 * and those written to the master that the slave has not read.  Those are
 * read and written straight back, with settings that pass them through
 * untouched, so the process finds them as they were (failed dump,
 * --leave-running).  Refused: input queued for a slave in canonical mode
 * (its line boundaries cannot be put back), output queued in packet mode
 * or with no slave open in the process, a pair of another devpts instance.
 *
 * Restore: the first file of a pair met (in fd order) makes the pair: opens
 * the ptmx, unlocks it, opens every slave file of the pair through the
 * master (TIOCGPTPEER: no path, the new pts number does not matter), puts
 * the output bytes back, then the settings, window size, packet mode and
 * lock; the files not being placed yet are kept (fd_rst_stash).  The pts
 * number is the kernel's choice: it differs from the dump's.  The
 * controlling terminal of a session leader is recorded (ctty) with its
 * foreground process group (a group of the tree, else refused); the pair
 * is made before the leader creates its children (early: they inherit the
 * terminal from it), made its controlling terminal again (TIOCSCTTY), and
 * the foreground group is set once every fd is in place (post).
 */
#define LOG_PREFIX "files: "
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/sysmacros.h>
#include <termios.h>
#include <unistd.h>

#include "criu/files/files.h"
#include "criu/files/pty-ns.h"
#include "criu/ns/mnt.h"
#include "common/log.h"

static bool is_ptmx(const struct stat *st)
{
	return S_ISCHR(st->st_mode) && major(st->st_rdev) == 5 && minor(st->st_rdev) == 2;
}

/* a slave: majors 136-143 (UNIX98_PTY_SLAVE_MAJOR...), its index; -1 if not one */
static int pts_index(const struct stat *st)
{
	unsigned maj = major(st->st_rdev);
	if (!S_ISCHR(st->st_mode) || maj < 136 || maj > 143)
		return -1;
	return (maj - 136) * 256 + minor(st->st_rdev);
}

/* the pts index of a master, from its fdinfo (tty-index) */
static int ptmx_index(const struct fd_probe *p)
{
	const char *l = p->info ? strstr(p->info, "tty-index:") : NULL;
	int i;
	return l && sscanf(l, "tty-index: %d", &i) == 1 ? i : -1;
}

/* is pts index the controlling terminal of pid, pid leading its session?
 * *fg: the terminal's foreground process group */
static bool is_ctty(pid_t pid, int index, pid_t *fg)
{
	char path[64], buf[1024];
	int sid = 0, tty_nr = 0, tpgid = 0;
	snprintf(path, sizeof(path), "/proc/%d/stat", pid);
	FILE *f = fopen(path, "re");
	size_t n = f ? fread(buf, 1, sizeof(buf) - 1, f) : 0;
	if (f)
		fclose(f);
	buf[n] = 0;
	char *e = strrchr(buf, ')');
	/* ") state ppid pgrp session tty_nr tpgid": tty_nr is the kernel's new_encode_dev */
	if (!e || sscanf(e + 1, " %*c %*d %*d %d %d %d", &sid, &tty_nr, &tpgid) != 3 || sid != pid)
		return false;
	unsigned maj = (tty_nr >> 8) & 0xfff, min = (tty_nr & 0xff) | ((tty_nr >> 12) & 0xfff00);
	*fg = tpgid;
	return maj >= 136 && maj <= 143 && (int)((maj - 136) * 256 + min) == index;
}

/* the tty-index of /proc/PID/fdinfo/FD, -1 if none or gone (quietly:
 * processes outside the tree come and go) */
static int fdinfo_tty_index(pid_t pid, const char *fd)
{
	char path[320], buf[1024];
	int i = -1;
	snprintf(path, sizeof(path), "/proc/%d/fdinfo/%s", pid, fd);
	FILE *f = fopen(path, "re");
	size_t n = f ? fread(buf, 1, sizeof(buf) - 1, f) : 0;
	if (f)
		fclose(f);
	buf[n] = 0;
	const char *t = strstr(buf, "tty-index:");
	return t && sscanf(t, "tty-index: %d", &i) == 1 ? i : -1;
}

/* is the master of pts index open in a process of the dumped tree? */
static bool master_in_tree(const struct fd_dump *d, int index)
{
	DIR *proc = opendir("/proc");
	struct dirent *de;
	bool found = false;

	while (proc && !found && (de = readdir(proc))) {
		pid_t o = atoi(de->d_name);
		char path[64], l[64];
		if (o <= 0 || o == getpid())
			continue;
		snprintf(path, sizeof(path), "/proc/%d/fd", o);
		DIR *fds = opendir(path);
		struct dirent *f;
		while (fds && !found && (f = readdir(fds))) {
			ssize_t n = readlinkat(dirfd(fds), f->d_name, l, sizeof(l) - 1);
			if (n <= 0 || f->d_name[0] == '.')
				continue;
			l[n] = 0;
			found = (!strcmp(l, "/dev/ptmx") || !strcmp(l, "/dev/pts/ptmx")) &&
				fdinfo_tty_index(o, f->d_name) == index;
		}
		if (fds)
			closedir(fds);
		/* a holder outside the tree: the terminal is not the tree's */
		if (found && !fd_pid_in_tree(d, o))
			found = false;
	}
	if (proc)
		closedir(proc);
	return found;
}

static const struct fd_probe *find_master(const struct fd_dump *d, int index)
{
	for (size_t i = 0; i < d->nr; i++)
		if (is_ptmx(&d->probes[i].st) && ptmx_index(&d->probes[i]) == index)
			return &d->probes[i];
	return NULL;
}

static const struct fd_probe *find_slave(const struct fd_dump *d, int index)
{
	for (size_t i = 0; i < d->nr; i++)
		if (pts_index(&d->probes[i].st) == index)
			return &d->probes[i];
	return NULL;
}

static bool is_dev_tty(const struct stat *st)
{
	return S_ISCHR(st->st_mode) && major(st->st_rdev) == 5 && minor(st->st_rdev) == 0;
}

static bool pty_match(const struct fd_probe *p)
{
	return is_ptmx(&p->st) || pts_index(&p->st) >= 0 || is_dev_tty(&p->st);
}

/* t, with nothing done to bytes going through: no output processing, and
 * no input processing but flow control (IXON, checked by the caller) */
static void passthrough(struct termios *raw, const struct termios *t)
{
	*raw = *t;
	raw->c_oflag &= ~OPOST;
	raw->c_iflag &= ~(ISTRIP | INLCR | IGNCR | ICRNL | IUCLC | PARMRK);
	raw->c_lflag &= ~(ISIG | IEXTEN | ECHO | ECHOE | ECHOK | ECHONL | ECHOCTL | ECHOKE);
}

static int write_all(int fd, const uint8_t *data, size_t len)
{
	for (size_t done = 0; done < len;) {
		ssize_t n = write(fd, data + done, len - done);
		if (n <= 0)
			return -1;
		done += n;
	}
	return 0;
}

/*
 * Queues out (for the master to read) and in (for the slave to read) on
 * the pair of master m, through s, a new slave fd, with t's settings
 * passing them through untouched, then sets t back.  The bytes reach the
 * other side from a kernel worker: wait for them (microseconds; at most
 * one second) before the settings that would process them come back.
 */
static int queue_both(int m, int s, const struct termios *t, const ProtobufCBinaryData *out,
		      const ProtobufCBinaryData *in)
{
	struct termios raw;
	int mq = 0, sq = 0, ret = -1;

	passthrough(&raw, t);
	if (tcsetattr(s, TCSANOW, &raw))
		return -1;
	if (!write_all(s, out->data, out->len) && !write_all(m, in->data, in->len)) {
		for (int i = 0; i < 50000; i++) {
			if (ioctl(m, TIOCINQ, &mq) || ioctl(s, TIOCINQ, &sq))
				break;
			if ((size_t)mq >= out->len && (size_t)sq >= in->len) {
				ret = 0;
				break;
			}
			usleep(20);
		}
		if (ret)
			errno = ETIMEDOUT;
	}
	int e = errno;
	if (tcsetattr(s, TCSANOW, t))
		ret = -1;
	else
		errno = e;
	return ret;
}

/* reads avail bytes queued on fd (nothing waits: the process is frozen) */
static int read_queued(int fd, int avail, ProtobufCBinaryData *q)
{
	q->data = malloc(avail);
	q->len = 0;
	if (!q->data)
		return -1;
	while (q->len < (size_t)avail) {
		struct pollfd pfd = { fd, POLLIN, 0 };
		if (poll(&pfd, 1, 0) != 1)
			break;
		ssize_t n = read(fd, q->data + q->len, avail - q->len);
		if (n <= 0)
			break;
		q->len += n;
	}
	return 0;
}

/*
 * The bytes queued on the pair: out, written by the slave, not read from
 * the master; in, written to the master, not read from the slave (raw
 * input only).  Read from master (a copy of the process's) and a new slave
 * fd, then put back as they were (queue_both): the process, frozen, finds
 * them again whatever happens to the dump.
 */
static int take_queues(const char *what, int m, const struct termios *t, int out_avail, int in_avail,
		       PtyFile *pf)
{
	int ret = -1, unlock = 0, lock = 1;
	/* a locked pair opens no new slave: unlocked for that moment */
	if (pf->locked && ioctl(m, TIOCSPTLCK, &unlock)) {
		pr_perror("%s: cannot unlock it to open its slave", what);
		return -1;
	}
	int s = ioctl(m, TIOCGPTPEER, O_RDWR | O_NOCTTY | O_NONBLOCK | O_CLOEXEC);
	if (pf->locked && ioctl(m, TIOCSPTLCK, &lock)) {
		pr_perror("%s: cannot lock it again", what);
		if (s >= 0)
			close(s);
		return -1;
	}
	if (s < 0) {
		pr_perror("%s: bytes queued, and no new slave fd to read and put them back through", what);
		return -1;
	}
	if (read_queued(m, out_avail, &pf->out_data) || read_queued(s, in_avail, &pf->in_data))
		goto out;
	pf->has_out_data = pf->has_in_data = true;
	if (queue_both(m, s, t, &pf->out_data, &pf->in_data)) {
		pr_perror("%s: cannot put back the bytes read from the pseudo-terminal", what);
		goto out;
	}
	if (pf->out_data.len != (size_t)out_avail || pf->in_data.len != (size_t)in_avail) {
		pr_err("%s: read %zu of %d bytes queued for the master and %zu of %d for the slave", what,
		       pf->out_data.len, out_avail, pf->in_data.len, in_avail);
		goto out;
	}
	ret = 0;
out:
	close(s);
	return ret;
}

/* is the pair the controlling terminal of the process, its session
 * leader?  With its foreground process group: one of the tree's */
static int ctty_of(const struct fd_dump *d, PtyFile *pf, const char *what)
{
	pid_t pg = 0;
	pf->has_ctty = pf->ctty = is_ctty(d->pid, pf->index, &pg);
	if (!pf->ctty)
		return 0;
	if (pg > 0 && !fd_pid_in_tree(d, pg)) {
		pr_err("%s: the controlling terminal's foreground process group %d is not led by a process of the dumped tree: not supported",
		       what, pg);
		return -1;
	}
	pf->has_fg_pgrp = pg > 0;
	pf->fg_pgrp = pg;
	return 0;
}

/* the terminal's settings and window size into pf */
static int fill_term(PtyFile *pf, const struct termios *t, const struct winsize *ws)
{
	pf->has_iflag = pf->has_oflag = pf->has_cflag = pf->has_lflag = pf->has_line = true;
	pf->iflag = t->c_iflag;
	pf->oflag = t->c_oflag;
	pf->cflag = t->c_cflag;
	pf->lflag = t->c_lflag;
	pf->line = t->c_line;
	pf->has_cc = true;
	pf->cc.len = sizeof(t->c_cc);
	pf->cc.data = malloc(sizeof(t->c_cc));
	if (!pf->cc.data)
		return -1;
	memcpy(pf->cc.data, t->c_cc, sizeof(t->c_cc));
	pf->has_ispeed = pf->has_ospeed = true;
	pf->ispeed = cfgetispeed(t);
	pf->ospeed = cfgetospeed(t);
	pf->has_rows = pf->has_cols = pf->has_xpixel = pf->has_ypixel = true;
	pf->rows = ws->ws_row;
	pf->cols = ws->ws_col;
	pf->xpixel = ws->ws_xpixel;
	pf->ypixel = ws->ws_ypixel;
	return 0;
}

/*
 * A slave whose master is outside the tree (--orphan-pts-master: runc's
 * console, held by the client): its settings and window size, read through
 * the slave; restore makes a new pair and hands its master to the client.
 * Bytes typed on the terminal and not yet read by the process cannot be
 * taken from the outside master: refused.  Bytes the process wrote that
 * the outside has not read stay with the old master, which the client keeps.
 */
static int dump_orphan(struct fd_dump *d, const struct fd_probe *p, PtyFile *pf, const char *what)
{
	struct termios t;
	struct winsize ws;
	int inq = 0, ret = -1;
	int s = fd_dump_getfd(d, p->fd);

	if (s < 0)
		return -1;
	if (tcgetattr(s, &t) || ioctl(s, TIOCGWINSZ, &ws) || ioctl(s, TIOCINQ, &inq))
		pr_perror("%s: cannot read the terminal's state", what);
	else if (inq)
		pr_err("%s: %d bytes typed on the terminal (its master is outside the tree) not yet read: not supported",
		       what, inq);
	else if (!(pf->path = strdup("/dev/ptmx")))
		pr_err("%s: out of memory", what);
	else
		ret = fill_term(pf, &t, &ws);
	close(s);
	return ret;
}

static int dump_master(struct fd_dump *d, const struct fd_probe *p, PtyFile *pf, const char *what)
{
	struct termios t;
	struct winsize ws;
	int lock = 0, pkt = 0, inq = 0, ret = -1;
	const struct fd_probe *slave = find_slave(d, pf->index);

	pf->path = strdup(p->link);
	int m = fd_dump_getfd(d, p->fd);
	if (m < 0 || !pf->path)
		goto out;
	if (tcgetattr(m, &t) || ioctl(m, TIOCGWINSZ, &ws) || ioctl(m, TIOCGPTLCK, &lock) ||
	    ioctl(m, TIOCGPKT, &pkt) || ioctl(m, TIOCINQ, &inq)) {
		pr_perror("%s: cannot read the terminal's state", what);
		goto out;
	}
	if (fill_term(pf, &t, &ws))
		goto out;
	pf->has_locked = pf->has_packet = true;
	pf->locked = lock;
	pf->packet = pkt;
	if (ctty_of(d, pf, what))
		goto out;

	int sinq = 0;
	if (slave) {
		int s = fd_dump_getfd(d, slave->fd);
		if (s < 0)
			goto out;
		int e = ioctl(s, TIOCINQ, &sinq);
		close(s);
		if (e) {
			pr_perror("%s: TIOCINQ on the slave (fd %d)", what, slave->fd);
			goto out;
		}
	}
	if (sinq && (t.c_lflag & ICANON)) {
		/* the line boundaries of canonical input cannot be put back */
		pr_err("%s: %d bytes written to the master not yet read from the slave (fd %d), in canonical mode: not supported",
		       what, sinq, slave->fd);
		goto out;
	}
	if (inq && !slave) {
		pr_err("%s: %d bytes queued for the master and no slave open in the process: not supported",
		       what, inq);
		goto out;
	}
	if (inq && pkt) {
		pr_err("%s: %d bytes queued for a master in packet mode: not supported", what, inq);
		goto out;
	}
	if ((inq || sinq) && take_queues(what, m, &t, inq, sinq, pf))
		goto out;
	if ((t.c_iflag & IXON) && pf->in_data.len && (memchr(pf->in_data.data, t.c_cc[VSTART], pf->in_data.len) ||
				   memchr(pf->in_data.data, t.c_cc[VSTOP], pf->in_data.len))) {
		pr_err("%s: flow control characters queued for the slave with IXON on: not supported", what);
		goto out;
	}
	ret = 0;
out:
	if (m >= 0)
		close(m);
	return ret;
}

/* the pts index of the terminal an fd opened through /dev/tty is; -1 if it
 * is not a pseudo-terminal slave, -2 on error (logged) */
static int dev_tty_index(struct fd_dump *d, const struct fd_probe *p)
{
	unsigned dev = 0;
	int fd = fd_dump_getfd(d, p->fd);
	if (fd < 0)
		return -2;
	int e = ioctl(fd, TIOCGDEV, &dev);
	close(fd);
	if (e) {
		pr_perror("pid %d: fd %d: %s: TIOCGDEV", d->pid, p->fd, p->link);
		return -2;
	}
	struct stat st = { .st_mode = S_IFCHR, .st_rdev = dev };
	return pts_index(&st);
}

/* the state of one side of the pair, read through the process's fd:
 * exclusive mode (TIOCGEXCL); a line discipline other than N_TTY refused */
static int side_state(struct fd_dump *d, const struct fd_probe *p, PtyFile *pf, const char *what)
{
	int fd = fd_dump_getfd(d, p->fd), excl = 0, ldisc = -1, ret = -1;
	if (fd < 0)
		return -1;
	if (ioctl(fd, TIOCGEXCL, &excl) || ioctl(fd, TIOCGETD, &ldisc))
		pr_perror("%s: TIOCGEXCL/TIOCGETD", what);
	else if (ldisc != N_TTY)
		pr_err("%s: line discipline %d, not N_TTY: not supported", what, ldisc);
	else
		ret = 0;
	pf->has_excl = pf->excl = excl;
	close(fd);
	return ret;
}

static int pty_dump(struct fd_dump *d, const struct fd_probe *p, FileEntry *fe)
{
	char what[PATH_MAX + 64];
	struct stat pts;
	bool master = is_ptmx(&p->st);
	int index = master ? ptmx_index(p) : pts_index(&p->st);

	snprintf(what, sizeof(what), "pid %d: fd %d: %s", d->pid, p->fd, p->link);
	bool dev_tty = is_dev_tty(&p->st);
	if (dev_tty && (index = dev_tty_index(d, p)) == -2)
		return -1;
	bool orphan = !master && index >= 0 && !find_master(d, index) && !master_in_tree(d, index);
	if (orphan && !d->o->orphan_pts_master)
		index = -1;
	if (!master && index < 0) {
		/* its master is outside the tree: the process's terminal (--shell-job) */
		fe->kind = FD_KIND__FD_TTY;
		return fd_tty_ops.dump(d, p, fe);
	}
	if (index < 0) {
		pr_err("%s: a pseudo-terminal master without tty-index in its fdinfo: not supported", what);
		return -1;
	}
	char tree_ptmx[PATH_MAX];
	bool tree_devpts = false;
	if (!master && !dev_tty && (stat("/dev/pts", &pts) || pts.st_dev != p->st.st_dev)) {
		/* a container's console: a slave of its own devpts, the master outside */
		tree_devpts = orphan && !pty_tree_ptmx(d, p->st.st_dev, tree_ptmx, sizeof(tree_ptmx));
		if (!tree_devpts) {
			pr_err("%s: a pseudo-terminal of another devpts instance than /dev/pts%s: not supported", what,
			       orphan ? " and the tree's own" : "");
			return -1;
		}
	}
	PtyFile *pf = calloc(1, sizeof(*pf));
	if (!pf)
		return -1;
	pty_file__init(pf);
	fe->pty = pf;
	pf->index = index;
	pf->master = master;
	pf->has_dev_tty = pf->dev_tty = dev_tty;
	if (!master && !dev_tty && ctty_of(d, pf, what))
		return -1;
	if (!dev_tty && side_state(d, p, pf, what))
		return -1;
	if (orphan && !dev_tty) {
		pf->has_orphan = pf->orphan = true;
		if (dump_orphan(d, p, pf, what))
			return -1;
		if (tree_devpts) {
			free(pf->path);
			pf->has_tree_devpts = pf->tree_devpts = true;
			return (pf->path = strdup(tree_ptmx)) ? 0 : -1;
		}
		return 0;
	}
	return master ? dump_master(d, p, pf, what) : 0;
}

static int pty_check(const FileEntry *fe, const struct opts *o, const char *name)
{
	const PtyFile *pf = fe->pty;
	struct stat st;
	bool makes = pf && (pf->master || pf->orphan);	/* a pair is made from it */
	if (!pf || (makes && (!pf->path || !pf->has_cc || pf->cc.len != sizeof(((struct termios *)0)->c_cc))) ||
	    (pf->orphan && (pf->master || pf->dev_tty || !fe->has_shared_id))) {
		pr_err("%s: file %u: bad pseudo-terminal description", name, fe->id);
		return -1;
	}
	if (pf->orphan && !o->notify && !o->action_script) {
		pr_err("%s: file %u: a terminal whose master was outside the tree (--orphan-pts-master): its new master needs a taker, an RPC client with notify_scripts or --action-script",
		       name, fe->id);
		return -1;
	}
	if (makes && (mnt_stat_in(pf->tree_devpts ? o->rst_root_fd : 0, pf->path, &st, false) || !is_ptmx(&st))) {
		pr_err("%s: file %u: %s is gone or is not the pseudo-terminal multiplexer", name, fe->id, pf->path);
		return -1;
	}
	return 0;
}

/* the master of the pair of index, among the files */
static const FileEntry *master_of(const struct fd_rst *r, uint32_t index)
{
	for (uint32_t id = 1; id <= r->nr_files; id++)
		if (r->file[id]->kind == FD_KIND__FD_PTY && r->file[id]->pty->master &&
		    r->file[id]->pty->index == index)
			return r->file[id];
	return NULL;
}

static int open_slave(int m, const FileEntry *fe)
{
	int s = ioctl(m, TIOCGPTPEER, (fe->flags & (O_ACCMODE | O_NONBLOCK)) | O_NOCTTY | O_CLOEXEC);
	if (s < 0)
		pr_perror("file %u: cannot open the slave of the new pseudo-terminal (TIOCGPTPEER)", fe->id);
	else if (fd_set_status_flags(s, fe->flags, fe->id)) {
		close(s);
		s = -1;
	}
	return s;
}

/* the queued bytes back, as they were */
static int put_queues(int m, const FileEntry *mfe, const struct termios *t)
{
	int s = ioctl(m, TIOCGPTPEER, O_RDWR | O_NOCTTY | O_NONBLOCK | O_CLOEXEC), ret = -1;
	if (s >= 0)
		ret = queue_both(m, s, t, &mfe->pty->out_data, &mfe->pty->in_data);
	if (ret)
		pr_perror("file %u: cannot queue the pseudo-terminal's bytes again", mfe->id);
	if (s >= 0)
		close(s);
	return ret;
}

/* the pair of fd (a master, or a slave) becomes the controlling terminal
 * again, if the process leads a session without one; else a warning.  Not
 * in criu (the tree's shared files): the leader does it (pty_early) */
static int set_ctty(const struct fd_rst *r, int fd, bool master, const FileEntry *fe)
{
	if (r->in_criu)
		return 0;
	if (getsid(0) != getpid()) {
		pr_warn("file %u: was the controlling terminal of the process, a session leader; not restored (the process does not lead a session)",
			fe->id);
		return 0;
	}
	int s = master ? ioctl(fd, TIOCGPTPEER, O_RDWR | O_NOCTTY | O_CLOEXEC) : fd, ret = -1;
	if (s >= 0)
		ret = ioctl(s, TIOCSCTTY, 0);
	if (ret)
		pr_perror("file %u: cannot make the new pseudo-terminal the controlling terminal", fe->id);
	if (master && s >= 0)
		close(s);
	return ret;
}

/*
 * Makes the pair of master file mfe; every slave file of the pair is opened
 * and kept, but self (the file being placed), whose fd is returned; the
 * master is kept too if it is not self.
 */
static int make_pair(struct fd_rst *r, const FileEntry *mfe, const FileEntry *self)
{
	const PtyFile *pf = mfe->pty;
	struct termios t;
	struct winsize ws = { pf->rows, pf->cols, pf->xpixel, pf->ypixel };
	int unlock = 0, lock = pf->locked, pkt = pf->packet, ret = -1;

	int m = open(pf->path, FD_OPEN_FLAGS(mfe->flags) | O_NOCTTY | O_CLOEXEC);
	if (m < 0) {
		pr_perror("file %u: cannot open %s", mfe->id, pf->path);
		return -1;
	}
	if (ioctl(m, TIOCSPTLCK, &unlock)) {
		pr_perror("file %u: cannot unlock the new pseudo-terminal", mfe->id);
		goto err;
	}
	for (uint32_t id = 1; id <= r->nr_files; id++) {
		const FileEntry *fe = r->file[id];
		if (fe->kind != FD_KIND__FD_PTY || fe->pty->master || fe->pty->dev_tty ||
		    fe->pty->index != pf->index)
			continue;
		int s = open_slave(m, fe);
		if (s < 0)
			goto err;
		/* exclusive: later opens of the slave fail (but with CAP_SYS_ADMIN) */
		if (fe->pty->excl && ioctl(s, TIOCEXCL)) {
			pr_perror("file %u: TIOCEXCL", fe->id);
			close(s);
			goto err;
		}
		if (fe == self)
			ret = s;
		else if (fd_rst_stash(r, id, s))
			goto err;
	}
	if (pf->ctty && set_ctty(r, m, true, mfe))
		goto err;
	memset(&t, 0, sizeof(t));
	t.c_iflag = pf->iflag;
	t.c_oflag = pf->oflag;
	t.c_cflag = pf->cflag;
	t.c_lflag = pf->lflag;
	t.c_line = pf->line;
	memcpy(t.c_cc, pf->cc.data, sizeof(t.c_cc));
	cfsetispeed(&t, pf->ispeed);
	cfsetospeed(&t, pf->ospeed);
	if ((pf->out_data.len || pf->in_data.len) && put_queues(m, mfe, &t))
		goto err;
	if (pf->excl && ioctl(m, TIOCEXCL)) {
		pr_perror("file %u: TIOCEXCL", mfe->id);
		goto err;
	}
	/* on a master these act on the slave side */
	if (tcsetattr(m, TCSANOW, &t) || ioctl(m, TIOCSWINSZ, &ws) || (pkt && ioctl(m, TIOCPKT, &pkt)) ||
	    (lock && ioctl(m, TIOCSPTLCK, &lock))) {
		pr_perror("file %u: cannot set the new pseudo-terminal's state", mfe->id);
		goto err;
	}
	if (mfe == self)
		return m;
	if (fd_rst_stash(r, mfe->id, m))
		goto err_self;
	return ret;
err:
	close(m);
err_self:
	if (ret >= 0)
		close(ret);
	return -1;
}

/* a controlling terminal is made before the process's children, which
 * inherit it (fd_rst_open_early) */
static int pty_open(struct fd_rst *r, const FileEntry *fe);

static int pty_early(struct fd_rst *r, const FileEntry *fe)
{
	const PtyFile *pf = fe->pty;
	int fd;
	if (!pf->ctty || pf->dev_tty)
		return 0;
	if (fe->has_shared_id && r->shared_fd && r->shared_fd[fe->shared_id] >= 0) {
		/* made by criu, with the rest of its pair in other processes */
		fd = fcntl(r->shared_fd[fe->shared_id], F_DUPFD_CLOEXEC, 0);
		if (fd >= 0 && set_ctty(r, fd, pf->master, fe)) {
			close(fd);
			return -1;
		}
	} else {
		fd = pty_open(r, fe);	/* the pair: made the controlling terminal */
	}
	return fd < 0 ? -1 : fd_rst_stash(r, fe->id, fd);
}

/*
 * The foreground process group of a controlling terminal, once every fd is
 * in place.  The group may not exist yet (a child's, led by a process its
 * own child makes): tried again meanwhile.  The caller is in the
 * foreground until then (TIOCSCTTY made its group the foreground one).
 */
static int pty_post(struct fd_rst *r, const FileEntry *fe, int fd)
{
	const PtyFile *pf = fe->pty;
	pid_t pg = pf->fg_pgrp;
	pid_t cur = 0;
	(void)r;
	if (!pf->ctty || pf->dev_tty || !pf->has_fg_pgrp || getsid(0) != getpid() ||
	    (!ioctl(fd, TIOCGPGRP, &cur) && cur == pg))
		return 0;
	for (int i = 0; ioctl(fd, TIOCSPGRP, &pg); i++) {
		if ((errno != ESRCH && errno != EPERM) || i >= 5000) {
			pr_perror("file %u: cannot make process group %d the terminal's foreground one", fe->id, pg);
			return -1;
		}
		usleep(1000);
	}
	return 0;
}

/* a slave opened through /dev/tty: the process's controlling terminal,
 * which it has again (pty_early, or inherited from its session leader) */
static int open_dev_tty(const FileEntry *fe)
{
	int fd = open("/dev/tty", FD_OPEN_FLAGS(fe->flags) | O_CLOEXEC);
	if (fd < 0)
		pr_perror("file %u: cannot open /dev/tty (the controlling terminal)", fe->id);
	else if (fd_set_status_flags(fd, fe->flags, fe->id)) {
		close(fd);
		fd = -1;
	}
	return fd;
}

/* the new terminal state (on a master: the slave side's) as pf says */
static int set_term(int m, const PtyFile *pf)
{
	struct termios t;
	struct winsize ws = { pf->rows, pf->cols, pf->xpixel, pf->ypixel };

	memset(&t, 0, sizeof(t));
	t.c_iflag = pf->iflag;
	t.c_oflag = pf->oflag;
	t.c_cflag = pf->cflag;
	t.c_lflag = pf->lflag;
	t.c_line = pf->line;
	memcpy(t.c_cc, pf->cc.data, sizeof(t.c_cc));
	cfsetispeed(&t, pf->ispeed);
	cfsetospeed(&t, pf->ospeed);
	return tcsetattr(m, TCSANOW, &t) || ioctl(m, TIOCSWINSZ, &ws) ? -1 : 0;
}

/*
 * A slave whose master was outside the tree: a new pair, made by criu (the
 * file is always one of the tree's shared files: dump's tree.c), with the
 * slave's settings; the slave is returned, the master kept in r->orphans
 * for its taker (restore.c: the orphan-pts-master step).
 */
static int make_orphan(struct fd_rst *r, const FileEntry *fe)
{
	const PtyFile *pf = fe->pty;
	int unlock = 0, s = -1;

	if (!r->in_criu || !r->orphans || r->orphans->nr >= FD_ORPHANS_MAX) {
		pr_err("file %u: a terminal whose master was outside the tree is made by criu, at most %d",
		       fe->id, FD_ORPHANS_MAX);
		return -1;
	}
	int m = -1;
	if (!pf->tree_devpts)
		m = open(pf->path, O_RDWR | O_NOCTTY | O_CLOEXEC);
	else if ((m = pty_reserved_take(r->orphans->early, pf->path, pf->index)) < 0)
		m = pty_open_index(r->o ? r->o->rst_root_fd : 0, pf->path, pf->index, fe->id);
	if (m < 0) {
		if (!pf->tree_devpts)
			pr_perror("file %u: cannot open %s", fe->id, pf->path);
		return -1;
	}
	if (ioctl(m, TIOCSPTLCK, &unlock) || set_term(m, pf)) {
		pr_perror("file %u: cannot set up the new pseudo-terminal", fe->id);
		close(m);
		return -1;
	}
	s = open_slave(m, fe);
	if (s >= 0 && pf->excl && ioctl(s, TIOCEXCL)) {
		pr_perror("file %u: TIOCEXCL", fe->id);
		close(s);
		s = -1;
	}
	if (s < 0) {
		close(m);
		return -1;
	}
	r->orphans->fd[r->orphans->nr++] = m;
	pr_info("file %u: a new pseudo-terminal for the slave whose master was outside the tree", fe->id);
	return s;
}

/* called for the first file of a pair only: later ones are stashed */
static int pty_open(struct fd_rst *r, const FileEntry *fe)
{
	if (fe->pty->dev_tty)
		return open_dev_tty(fe);
	if (fe->pty->orphan)
		return make_orphan(r, fe);
	const FileEntry *mfe = fe->pty->master ? fe : master_of(r, fe->pty->index);
	if (!mfe) {
		pr_err("file %u: the slave of pts %u, whose master is not in the images", fe->id, fe->pty->index);
		return -1;
	}
	return make_pair(r, mfe, fe);
}

const struct fd_ops fd_pty_ops = {
	.kind = FD_KIND__FD_PTY,
	.name = "pseudo-terminal",
	.match = pty_match,
	.dump = pty_dump,
	.check = pty_check,
	.open = pty_open,
	.early = pty_early,
	.post = pty_post,
};
