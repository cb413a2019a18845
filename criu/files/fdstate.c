/*
 * fdstate.c - what any open file description may carry whatever its kind:
 * file locks (flock, POSIX record locks of the process, OFD locks, active
 * leases; the "lock:" lines of fdinfo), the F_SETOWN/F_SETSIG owner and
 * signal-driven I/O (O_ASYNC registered again).  Dump reads them; restore
 * puts them back once every fd is in place.  A directory with
 * F_SETSIG (dnotify, F_NOTIFY: unreadable) is refused.
 */
#define LOG_PREFIX "files: "
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <unistd.h>

#include "criu/files/files.h"
#include "common/log.h"

#define LK_FLOCK 1
#define LK_POSIX 2
#define LK_OFD 3
#define LK_LEASE 4	/* F_SETLEASE: an active read or write lease */

int fd_dump_state(struct fd_dump *d, const struct fd_probe *p, bool posix_locks, FileEntry *fe)
{
	char what[96];
	snprintf(what, sizeof(what), "pid %d: fd %d (%s)", d->pid, p->fd, p->link);

	if (S_ISREG(p->st.st_mode) || S_ISDIR(p->st.st_mode)) {
		char *info = fd_dump_fdinfo(d, p->fd);
		if (!info)
			return -1;
		for (char *l = strstr(info, "lock:"); l; l = strstr(l + 5, "lock:")) {
			char type[16], mode[16], rw[16], end[32];
			long long start;
			if (sscanf(l, "lock: %*d: %15s %15s %15s %*d %*x:%*x:%*u %lld %31s", type, mode, rw, &start,
				   end) != 5) {
				pr_err("%s: cannot parse fdinfo line '%.60s'", what, l);
				free(info);
				return -1;
			}
			int kind = !strcmp(type, "FLOCK") ? LK_FLOCK : !strcmp(type, "POSIX") ? LK_POSIX :
				   !strcmp(type, "OFDLCK") ? LK_OFD : !strcmp(type, "LEASE") ? LK_LEASE : 0;
			/* a lease being broken (BREAKING, BREAKER) is refused */
			const char *want = kind == LK_LEASE ? "ACTIVE" : "ADVISORY";
			if (!kind || strcmp(mode, want) || (strcmp(rw, "READ") && strcmp(rw, "WRITE"))) {
				pr_err("%s: a %s %s %s lock: not supported", what, mode, rw, type);
				free(info);
				return -1;
			}
			if (kind == LK_POSIX && !posix_locks)
				continue;	/* described with the inode's first file */
			FileLock **n = realloc(fe->locks, (fe->n_locks + 1) * sizeof(*n));
			FileLock *k = calloc(1, sizeof(*k));
			if (!n || !k) {
				free(k);
				free(info);
				return -1;
			}
			fe->locks = n;
			file_lock__init(k);
			k->kind = kind;
			k->write = !strcmp(rw, "WRITE");
			k->start = start;
			k->len = !strcmp(end, "EOF") ? 0 : strtoull(end, NULL, 10) - start + 1;
			fe->locks[fe->n_locks++] = k;
		}
		free(info);
	}

	/* the owner: only a copy can tell (same open file description); an
	 * O_PATH fd has none */
	if (p->fi.flags & O_PATH)
		return 0;
	int copy = fd_dump_getfd(d, p->fd);
	if (copy < 0)
		return -1;
	struct f_owner_ex o = { 0 };
	int sig = fcntl(copy, F_GETSIG);
	int r = fcntl(copy, F_GETOWN_EX, &o);
	close(copy);
	if (r || sig < 0) {
		pr_perror("%s: cannot read its owner", what);
		return -1;
	}
	/*
	 * A directory's signal serves only directory notification (F_NOTIFY),
	 * which no interface shows: it would be lost without a word.  (dnotify
	 * with the default SIGIO cannot be seen at all: README.)
	 */
	if (S_ISDIR(p->st.st_mode) && sig) {
		pr_err("%s: a directory with a notification signal (F_SETSIG %d): directory notification (F_NOTIFY) cannot be read back: not supported",
		       what, sig);
		return -1;
	}
	/* a thread of another process: its own restorer could not name it */
	char task[64];
	snprintf(task, sizeof(task), "/proc/%d/task/%d", d->pid, o.pid);
	if (o.type == F_OWNER_TID && o.pid && access(task, F_OK)) {
		pr_err("%s: its owner is thread %d of another process (F_SETOWN_EX F_OWNER_TID): not supported",
		       what, o.pid);
		return -1;
	}
	if (o.pid || sig) {
		FileOwner *w = calloc(1, sizeof(*w));
		if (!w)
			return -1;
		file_owner__init(w);
		w->type = o.type;
		w->pid = o.pid;
		w->signum = sig;
		fe->owner = w;
	}
	return 0;
}

int fd_restore_state(const FileEntry *fe, int fd)
{
	for (size_t i = 0; i < fe->n_locks; i++) {
		const FileLock *k = fe->locks[i];
		int r;
		if (k->kind == LK_FLOCK) {
			r = flock(fd, (k->write ? LOCK_EX : LOCK_SH) | LOCK_NB);
		} else if (k->kind == LK_LEASE) {
			r = fcntl(fd, F_SETLEASE, k->write ? F_WRLCK : F_RDLCK);
		} else {
			struct flock fl = { .l_type = k->write ? F_WRLCK : F_RDLCK, .l_whence = SEEK_SET,
					    .l_start = k->start, .l_len = k->len };
			r = fcntl(fd, k->kind == LK_OFD ? F_OFD_SETLK : F_SETLK, &fl);
		}
		if (r) {
			pr_perror("file %u: cannot take its %s %s lock at %lu+%lu again", fe->id,
				  k->kind == LK_FLOCK ? "flock" : k->kind == LK_OFD ? "OFD" :
				  k->kind == LK_LEASE ? "lease" : "POSIX",
				  k->write ? "write" : "read", (unsigned long)k->start, (unsigned long)k->len);
			return -1;
		}
	}
	if (fe->owner) {
		struct f_owner_ex o = { .type = fe->owner->type, .pid = fe->owner->pid };
		/* another of its threads, not made yet: the restorer sets it (restore_thread_owners) */
		if (o.type == F_OWNER_TID && o.pid != getpid())
			o.pid = 0;
		if ((o.pid && fcntl(fd, F_SETOWN_EX, &o)) ||
		    (fe->owner->signum && fcntl(fd, F_SETSIG, fe->owner->signum))) {
			pr_perror("file %u: cannot set its owner %d / signal %u", fe->id, fe->owner->pid,
				  fe->owner->signum);
			return -1;
		}
	}
	/*
	 * Signal-driven I/O: only F_SETFL registers a file for it (files are
	 * opened without O_ASYNC: FD_OPEN_FLAGS); owner first
	 */
	int fl = fcntl(fd, F_GETFL);
	if ((fe->flags & O_ASYNC) && fl >= 0 && !(fl & O_ASYNC) && fcntl(fd, F_SETFL, fl | O_ASYNC)) {
		pr_perror("file %u: cannot turn its signal-driven I/O (O_ASYNC) on again", fe->id);
		return -1;
	}
	return 0;
}
