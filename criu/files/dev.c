/*
 * dev.c - character devices that hold no state (/dev/null, /dev/zero,
 * /dev/full, /dev/random, /dev/urandom), reopened by path; others (fuse,
 * ...) are refused (/dev/net/tun is tun.c's).  Pseudo-terminal pairs are pty.c's.  Terminals: with
 * --shell-job the restored process gets criu's own terminal (its stdio),
 * as CRIU does.
 */
#define LOG_PREFIX "files: "
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include "criu/files/files.h"
#include "common/log.h"

static bool is_tty(const struct stat *st)
{
	unsigned maj = major(st->st_rdev);
	/* 4: tty/vc, 5: /dev/tty, /dev/console; 136-143: pts (not the ptmx master) */
	return maj == 4 || (maj == 5 && minor(st->st_rdev) <= 1) || (maj >= 136 && maj <= 143);
}

/* devices whose open file holds no state: reopening by path gives the same */
static bool is_stateless(const struct stat *st)
{
	unsigned mi = minor(st->st_rdev);
	/* 1:3 null, 1:5 zero, 1:7 full, 1:8 random, 1:9 urandom */
	return major(st->st_rdev) == 1 && (mi == 3 || mi == 5 || mi == 7 || mi == 8 || mi == 9);
}

static int dev_fill(const struct fd_probe *p, FileEntry *fe)
{
	RegFile *r = calloc(1, sizeof(*r));
	if (!r)
		return -1;
	reg_file__init(r);
	fe->reg = r;
	r->pos = p->fi.pos;
	r->has_mode = r->has_rdev = true;
	r->mode = p->st.st_mode;
	r->rdev = p->st.st_rdev;
	r->path = strdup(p->link);
	return r->path ? 0 : -1;
}

static bool chr_match(const struct fd_probe *p)
{
	return S_ISCHR(p->st.st_mode) && !is_tty(&p->st);
}

static int chr_dump(struct fd_dump *d, const struct fd_probe *p, FileEntry *fe)
{
	struct stat pst;
	if (!is_stateless(&p->st)) {
		pr_err("pid %d: fd %d: character device %s (%u:%u): not supported (only /dev/null, /dev/zero, /dev/full, /dev/random and /dev/urandom are reopened)",
		       d->pid, p->fd, p->link, major(p->st.st_rdev), minor(p->st.st_rdev));
		return -1;
	}
	if (p->link[0] != '/' || stat(p->link, &pst) || pst.st_rdev != p->st.st_rdev) {
		pr_err("pid %d: fd %d: device '%s' cannot be reopened by path", d->pid, p->fd, p->link);
		return -1;
	}
	return dev_fill(p, fe);
}

static int chr_check(const FileEntry *fe, const struct opts *o, const char *name)
{
	struct stat st;
	(void)o;
	if (!fe->reg) {
		pr_err("%s: file %u: no device description", name, fe->id);
		return -1;
	}
	if (stat(fe->reg->path, &st) || !S_ISCHR(st.st_mode) ||
	    (fe->reg->has_rdev && st.st_rdev != fe->reg->rdev)) {
		pr_err("%s: file %u: device %s is gone or is another device", name, fe->id, fe->reg->path);
		return -1;
	}
	return 0;
}

static int chr_open(struct fd_rst *r, const FileEntry *fe)
{
	(void)r;
	int fd = open(fe->reg->path, FD_OPEN_FLAGS(fe->flags));
	if (fd < 0)
		pr_perror("file %u: cannot open %s", fe->id, fe->reg->path);
	return fd;
}

const struct fd_ops fd_chr_ops = {
	.kind = FD_KIND__FD_CHR,
	.name = "character device",
	.match = chr_match,
	.dump = chr_dump,
	.check = chr_check,
	.open = chr_open,
};

static bool tty_match(const struct fd_probe *p)
{
	return S_ISCHR(p->st.st_mode) && is_tty(&p->st);
}

static int tty_dump(struct fd_dump *d, const struct fd_probe *p, FileEntry *fe)
{
	if (!d->o->shell_job) {
		pr_err("pid %d: fd %d is a terminal (%s): dump with --shell-job", d->pid, p->fd, p->link);
		return -1;
	}
	return dev_fill(p, fe);
}

static int tty_check(const FileEntry *fe, const struct opts *o, const char *name)
{
	if (!o->shell_job) {
		pr_err("%s: file %u was a terminal: restore with --shell-job", name, fe->id);
		return -1;
	}
	return 0;
}

/* the fd gets criu's own stdio of the same number (stdin for fds above 2);
 * the file status flags of the shell's terminal are shared: keep them */
static int tty_open(struct fd_rst *r, const FileEntry *fe)
{
	int src = r->tty[r->target_fd <= 2 ? r->target_fd : 0];
	int fd = src < 0 ? -1 : fcntl(src, F_DUPFD, 0);
	if (fd < 0)
		pr_perror("fd %d (file %u): cannot take criu's terminal", r->target_fd, fe->id);
	return fd;
}

const struct fd_ops fd_tty_ops = {
	.kind = FD_KIND__FD_TTY,
	.name = "terminal",
	.per_fd = true,
	.match = tty_match,
	.dump = tty_dump,
	.check = tty_check,
	.open = tty_open,
};
