/*
 * dump-tree.c - the process tree under the dumped pid: every descendant, any
 * depth, seized top-down.  A frozen process cannot fork, so once every
 * thread of a parent is stopped its list of children can only shrink, and a
 * child that exits meanwhile stays as a zombie (its frozen parent cannot
 * reap it).  Zombies are recorded with their exit status.
 *
 * It also owns the checks of what restore cannot rebuild (resources shared
 * between processes, sessions and process groups whose leader is outside
 * the tree), refused here with the process and the object named, the
 * marking of open files shared between processes (made once at restore),
 * and the
 * end of a dumped tree: each child is killed and then reaped by its own
 * (frozen) parent, so that every pid is free when the dump returns.
 */
#define LOG_PREFIX "dump: "
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/kcmp.h>
#include <stdint.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "criu/dump/dump.h"
#include "criu/ns/mnt.h"
#include "criu/infect/infect.h"
#include "common/log.h"

static int tree_find(const struct dump_tree *t, pid_t pid)
{
	for (size_t i = 0; i < t->nr; i++)
		if (t->procs[i].pid == pid)
			return i;
	return -1;
}

static int tree_add(struct dump_tree *t, pid_t pid, int parent)
{
	if (t->nr == t->cap) {
		size_t cap = t->cap ? t->cap * 2 : 16;
		struct dump_proc *n = realloc(t->procs, cap * sizeof(*n));
		if (!n)
			return -1;
		t->procs = n;
		t->cap = cap;
	}
	struct dump_proc *p = &t->procs[t->nr];
	memset(p, 0, sizeof(*p));
	p->pid = pid;
	p->parent = parent;
	p->skip_fd = -1;
	return t->nr++;
}

static int count_tasks(pid_t pid)
{
	char path[64];
	struct dirent *de;
	int n = 0;

	snprintf(path, sizeof(path), "/proc/%d/task", pid);
	DIR *d = opendir(path);
	if (!d)
		return -1;
	while ((de = readdir(d)))
		if (de->d_name[0] != '.')
			n++;
	closedir(d);
	return n;
}

/* a zombie: dead, all its threads too, only its status is left */
static int take_zombie(struct dump_proc *p)
{
	if (count_tasks(p->pid) > 1) {
		pr_err("pid %d: its main thread has exited but other threads run: not supported",
		       p->pid);
		return -1;
	}
	p->zombie = true;
	pr_debug("pid %d: zombie, status %#x", p->pid, p->stat.exit_code);
	return 0;
}

/*
 * Freezes process i (already listed) with all its threads.  Returns 1 if
 * it is gone (reaped already: its parent ignores SIGCHLD).
 */
static int seize_proc(struct dump_tree *t, size_t i)
{
	struct dump_proc *p = &t->procs[i];
	int r;

	if (kill(p->pid, 0) && errno == ESRCH) {
		if (i == 0) {
			pr_err("pid %d: no such process", p->pid);
			return -1;
		}
		return 1;
	}
	if (proc_read_stat(p->pid, &p->stat))
		return -1;
	if (p->stat.state == 'X')
		return 1;	/* dead and being reaped (its parent ignores SIGCHLD) */
	if (p->stat.state == 'Z')
		return take_zombie(p);
	/* stopped: its parent's view of the stop, while it can still see it */
	if (p->stat.state == 'T' && job_stop_probe(t, i))
		return -1;
	r = seize_task_stop(p->pid, &p->stop_sig);
	if (r == -ESRCH) {
		/* it exited just now: a zombie, unless reaped at once */
		if ((kill(p->pid, 0) && errno == ESRCH) || proc_read_stat(p->pid, &p->stat) ||
		    p->stat.state == 'X')
			return 1;
		if (i == 0) {
			pr_err("pid %d: no such process (it has exited)", p->pid);
			return -1;
		}
		return take_zombie(p);
	}
	if (r)
		return -1;
	p->seized = true;
	/* the stat read before the freeze may be stale */
	if (seize_threads(p) || proc_read_stat(p->pid, &p->stat))
		return -1;
	return 0;
}

/* appends the children of every thread of process i */
static int list_children(struct dump_tree *t, size_t i)
{
	for (int k = 0; k < t->procs[i].nr_threads; k++) {
		char name[64], buf[8192];
		snprintf(name, sizeof(name), "task/%d/children", t->procs[i].tids[k]);
		ssize_t n = proc_read_file(t->procs[i].pid, name, buf, sizeof(buf) - 1);
		if (n < 0)
			return -1;
		buf[n] = 0;
		if (n == sizeof(buf) - 1) {
			pr_err("pid %d: too many children to list", t->procs[i].pid);
			return -1;
		}
		for (char *s = buf, *end; *s; s = end) {
			long c = strtol(s, &end, 10);
			if (end == s)
				break;
			if (tree_find(t, c) < 0 && tree_add(t, c, i) < 0)
				return -1;
		}
	}
	return 0;
}

int tree_seize(pid_t root, struct dump_tree *t)
{
	memset(t, 0, sizeof(*t));
	if (tree_add(t, root, -1) < 0)
		return -1;
	/* breadth first: a process is seized before its children are listed */
	for (size_t i = 0; i < t->nr; i++) {
		int r = seize_proc(t, i);
		if (r < 0)
			return -1;
		if (r > 0) {
			/* reaped meanwhile: forget it (it has no children listed yet) */
			pr_debug("pid %d: gone before it could be seized", t->procs[i].pid);
			memmove(&t->procs[i], &t->procs[i + 1], (t->nr - i - 1) * sizeof(*t->procs));
			t->nr--;
			i--;
			continue;
		}
		if (!t->procs[i].zombie && list_children(t, i))
			return -1;
	}
	if (t->nr > 1)
		pr_info("pid %d: tree of %zu processes seized", root, t->nr);
	for (size_t i = 0; t->nr > 1 && i < t->nr; i++)
		t->procs[i].keep_cow = true;
	return 0;
}

/* frozen: process i and each of its threads seized and interrupted, not waited for */
static int attach_frozen(struct dump_tree *t, size_t i)
{
	struct dump_proc *p = &t->procs[i];
	char path[64];
	struct dirent *de;

	if (proc_read_stat(p->pid, &p->stat)) {
		if (i == 0)
			pr_err("pid %d: no such process", p->pid);
		return i ? 1 : -1;
	}
	if (p->stat.state == 'X')
		return 1;
	if (p->stat.state == 'Z')
		return take_zombie(p);
	if (p->stat.state == 'T' && job_stop_probe(t, i))
		return -1;
	p->tids = calloc(count_tasks(p->pid) + 2, sizeof(pid_t));
	snprintf(path, sizeof(path), "/proc/%d/task", p->pid);
	DIR *d = p->tids ? opendir(path) : NULL;
	if (!d)
		return -1;
	p->tids[p->nr_threads++] = p->pid;
	int r = seize_attach(p->pid);
	p->seized = r == 0;
	while (!r && (de = readdir(d))) {
		pid_t tid = atoi(de->d_name);
		if (tid <= 0 || tid == p->pid)
			continue;
		r = seize_attach(tid);
		if (!r)
			p->tids[p->nr_threads++] = tid;
	}
	closedir(d);
	if (r)
		pr_err("pid %d: cannot seize it in its frozen cgroup", p->pid);
	/* as seize_threads leaves it: room for the other threads' state */
	if (!r && !(p->thread_cores = calloc(p->nr_threads, sizeof(Core *))))
		r = -1;
	return r ? -1 : 0;
}

int tree_attach_frozen(pid_t root, struct dump_tree *t)
{
	memset(t, 0, sizeof(*t));
	if (tree_add(t, root, -1) < 0)
		return -1;
	for (size_t i = 0; i < t->nr; i++) {
		int r = attach_frozen(t, i);
		if (r < 0)
			return -1;
		if (r > 0) {
			memmove(&t->procs[i], &t->procs[i + 1], (t->nr - i - 1) * sizeof(*t->procs));
			t->nr--;
			i--;
			continue;
		}
		if (!t->procs[i].zombie && list_children(t, i))
			return -1;
	}
	pr_info("pid %d: tree of %zu processes seized in its frozen cgroup", root, t->nr);
	for (size_t i = 0; t->nr > 1 && i < t->nr; i++)
		t->procs[i].keep_cow = true;
	return 0;
}

int tree_wait_frozen(struct dump_tree *t)
{
	int err = 0;

	for (size_t i = 0; i < t->nr; i++) {
		struct dump_proc *p = &t->procs[i];
		for (int k = 0; p->seized && k < p->nr_threads; k++)
			if (seize_wait(p->tids[k], k ? NULL : &p->stop_sig)) {
				pr_err("pid %d: thread %d did not stop once thawed", p->pid, p->tids[k]);
				err = -1;
			}
		if (p->seized && proc_read_stat(p->pid, &p->stat))
			err = -1;
	}
	return err;
}

void tree_unseize(struct dump_tree *t)
{
	for (size_t i = 0; i < t->nr; i++) {
		struct dump_proc *p = &t->procs[i];
		if (!p->seized)
			continue;
		/* pending before any thread is let go: each stops before user code */
		if (t->leave_stopped && !p->zombie)
			kill(p->pid, SIGSTOP);
		unseize_threads(p);
		unseize_task(p->pid);
		p->seized = false;
	}
}

static long kcmp(pid_t a, pid_t b, int type, unsigned long x, unsigned long y)
{
	return syscall(SYS_kcmp, a, b, type, x, y);
}

/*
 * What a child process shares with its parent (clone flags): its fd table
 * is rebuilt shared (CLONE_FILES); the rest cannot be.
 */
static int check_shared_with_parent(struct dump_proc *p, const struct dump_proc *pp)
{
	static const struct { int type; const char *what; } res[] = {
		{ KCMP_VM, "its memory (vfork or CLONE_VM)" },
		{ KCMP_FILES, NULL },
		{ KCMP_FS, "its cwd, root and umask (CLONE_FS)" },
		{ KCMP_SIGHAND, "its signal handlers (CLONE_SIGHAND)" },
	};
	for (size_t k = 0; k < sizeof(res) / sizeof(res[0]); k++) {
		long r = kcmp(p->pid, pp->pid, res[k].type, 0, 0);
		if (r < 0) {
			pr_perror("pid %d: kcmp with its parent %d failed", p->pid, pp->pid);
			return -1;
		}
		if (r == 0 && !res[k].what) {
			p->files_shared = true;
			pr_debug("pid %d shares its fd table with its parent %d", p->pid, pp->pid);
		} else if (r == 0) {
			pr_err("pid %d shares %s with its parent %d: not supported", p->pid,
			       res[k].what, pp->pid);
			return -1;
		}
	}
	return 0;
}

/*
 * A thread with a fd table or a cwd, root and umask of its own (it called
 * unshare(CLONE_FILES) or unshare(CLONE_FS)): restore makes every thread
 * share its process's, so its own would be lost.  Refused.
 */
static int check_threads_share(const struct dump_proc *p)
{
	static const struct { int type; const char *what; } res[] = {
		{ KCMP_FILES, "a fd table of its own (unshare(CLONE_FILES))" },
		{ KCMP_FS, "a cwd, root and umask of its own (unshare(CLONE_FS))" },
	};
	for (int k = 1; k < p->nr_threads; k++)
		for (size_t r = 0; r < sizeof(res) / sizeof(res[0]); r++) {
			long ret = kcmp(p->tids[k], p->pid, res[r].type, 0, 0);
			if (ret < 0) {
				pr_perror("pid %d: kcmp of its thread %d failed", p->pid, p->tids[k]);
				return -1;
			}
			if (ret) {
				pr_err("pid %d: thread %d has %s: not supported", p->pid, p->tids[k],
				       res[r].what);
				return -1;
			}
		}
	return 0;
}

/* no process has pid l (a session or group id outlives its leader) */
static bool pid_gone(pid_t l)
{
	return kill(l, 0) && errno == ESRCH;
}

/*
 * A zombie whose session or group leader is gone: restore makes the
 * session or group again with a short-lived process of that pid, which
 * forks the zombie for its parent (restore/child.c).  Either the session
 * and group are one (its leader started a session) or the group is in
 * its parent's session.
 */
static bool zombie_leader_gone(const struct dump_tree *t, size_t i)
{
	const struct dump_proc *p = &t->procs[i], *pp = &t->procs[p->parent];
	int sid = p->stat.sid, pgid = p->stat.pgid;

	if (sid != p->pid && sid != pp->stat.sid)
		return sid == pgid && pid_gone(sid);
	if (pgid == p->pid || pgid == t->procs[0].stat.pgid || tree_find(t, pgid) >= 0)
		return false;
	return sid == pp->stat.sid && pid_gone(pgid);
}

/*
 * Sessions and process groups are rebuilt by the processes themselves
 * (setsid, setpgid) as they are created: a session must be the process's
 * own or its parent's; a group its own, the root's, or one led by a
 * process of the tree in the same session; a zombie's may be one whose
 * leader is gone (zombie_leader_gone).
 */
static int check_ids(const struct dump_tree *t, size_t i)
{
	const struct dump_proc *p = &t->procs[i], *root = &t->procs[0];

	if (i == 0)
		return 0;
	const struct dump_proc *pp = &t->procs[p->parent];
	if (p->zombie && zombie_leader_gone(t, i))
		return 0;
	if (p->stat.sid != p->pid && p->stat.sid != pp->stat.sid) {
		pr_err("pid %d is in session %d, neither its own nor its parent's (%d): not supported",
		       p->pid, p->stat.sid, pp->stat.sid);
		return -1;
	}
	if (p->stat.pgid == p->pid || p->stat.pgid == root->stat.pgid)
		return 0;
	int l = tree_find(t, p->stat.pgid);
	if (l < 0 || t->procs[l].stat.pgid != p->stat.pgid || t->procs[l].stat.sid != p->stat.sid) {
		pr_err("pid %d is in process group %d, whose leader is not in the dumped tree",
		       p->pid, p->stat.pgid);
		return -1;
	}
	return 0;
}

/* the process whose fd table process i uses (itself, or up its CLONE_FILES parents) */
static size_t table_owner(const struct dump_tree *t, size_t i)
{
	while (t->procs[i].files_shared && t->procs[i].parent >= 0)
		i = t->procs[i].parent;
	return i;
}

struct kcmp_sort {
	const struct dump_tree *t;
	int type;
};

static int kcmp_order(const void *a, const void *b, void *arg)
{
	const struct kcmp_sort *k = arg;
	long r = kcmp(k->t->procs[*(const size_t *)a].pid, k->t->procs[*(const size_t *)b].pid,
		      k->type, 0, 0);
	return r == 0 ? 0 : r == 1 ? -1 : 1;
}

/*
 * What two processes share that is neither a parent's (checked above) nor
 * one fd table: CLONE_VM, CLONE_FILES, CLONE_FS or CLONE_SIGHAND between
 * processes that are not parent and child (CLONE_PARENT, or a parent gone
 * since).  Restore would make them separate: refused.  The processes are
 * sorted by each kernel object (kcmp orders them), so that equal ones meet.
 */
static int check_shared_others(const struct dump_tree *t)
{
	static const struct { int type; const char *what; } res[] = {
		{ KCMP_VM, "its memory" }, { KCMP_FILES, "its fd table" },
		{ KCMP_FS, "its cwd, root and umask" }, { KCMP_SIGHAND, "its signal handlers" },
	};
	size_t *v = malloc((t->nr + 1) * sizeof(*v)), n = 0;
	int err = 0;

	if (!v)
		return -1;
	for (size_t i = 0; i < t->nr; i++)
		if (!t->procs[i].zombie)
			v[n++] = i;
	for (size_t r = 0; r < sizeof(res) / sizeof(res[0]) && !err; r++) {
		struct kcmp_sort k = { t, res[r].type };
		qsort_r(v, n, sizeof(*v), kcmp_order, &k);
		for (size_t j = 1; j < n && !err; j++) {
			const struct dump_proc *a = &t->procs[v[j - 1]], *b = &t->procs[v[j]];
			if (kcmp(a->pid, b->pid, res[r].type, 0, 0) != 0)
				continue;
			if (res[r].type == KCMP_FILES && table_owner(t, v[j - 1]) == table_owner(t, v[j]))
				continue;
			pr_err("pid %d shares %s with pid %d, which is not its parent: not supported",
			       b->pid, res[r].what, a->pid);
			err = -1;
		}
	}
	free(v);
	return err;
}

int tree_check(struct dump_tree *t)
{
	for (size_t i = 0; i < t->nr; i++) {
		struct dump_proc *p = &t->procs[i];
		if (check_ids(t, i) || (!p->zombie && check_threads_share(p)))
			return -1;
		if (i && !p->zombie && !t->procs[p->parent].zombie &&
		    check_shared_with_parent(p, &t->procs[p->parent]))
			return -1;
	}
	return check_shared_others(t);
}

/* ----------------------------------------------- open files shared by processes */

struct fd_key {
	dev_t dev;
	ino_t ino;
	mode_t mode;
	unsigned flags;
	pid_t pid;
	int fd;
};

static int cmp_key(const void *a, const void *b)
{
	const struct fd_key *x = a, *y = b;
	if (x->dev != y->dev)
		return x->dev < y->dev ? -1 : 1;
	if (x->ino != y->ino)
		return x->ino < y->ino ? -1 : 1;
	return x->pid - y->pid;
}

/* the fds of p as dump_files probed them, as keys */
static int collect_fds(const struct dump_proc *p, struct fd_key **keys, size_t *nr, size_t *cap)
{
	if (*nr + p->nr_fds > *cap) {
		*cap = (*nr + p->nr_fds) * 2;
		struct fd_key *n = realloc(*keys, *cap * sizeof(**keys));
		if (!n)
			return -1;
		*keys = n;
	}
	for (size_t i = 0; i < p->nr_fds; i++) {
		const struct fd_id *f = &p->fd_ids[i];
		(*keys)[(*nr)++] = (struct fd_key){ f->dev, f->ino, f->mode, f->flags, p->pid, f->fd };
	}
	return 0;
}

/* sharing that a separate open in each process reproduces exactly */
static bool reopen_is_same(const struct fd_key *k)
{
	return S_ISCHR(k->mode) || S_ISDIR(k->mode) || (k->flags & O_PATH);
}

/* the FileEntry describing fd of process p (the first fd of its file carries it) */
static FileEntry *file_of(const struct dump_proc *p, int fd)
{
	uint32_t id = 0;

	for (size_t i = 0; i < p->nr_fds && !id; i++)
		if ((int)p->fds[i]->fd == fd)
			id = p->fds[i]->file_id;
	for (size_t i = 0; id && i < p->nr_fds; i++)
		if (p->fds[i]->file && p->fds[i]->file->id == id)
			return p->fds[i]->file;
	return NULL;
}

static const struct dump_proc *proc_of(const struct dump_tree *t, pid_t pid)
{
	int i = tree_find(t, pid);
	return i < 0 ? NULL : &t->procs[i];
}

/* pidfds of one process (one inode): each reopened on its own, as
 * directories are; a pidfd's description holds only its flags */
static bool pidfd_key(const struct dump_tree *t, const struct fd_key *k)
{
	const struct dump_proc *p = proc_of(t, k->pid);
	const FileEntry *fe = p ? file_of(p, k->fd) : NULL;
	return fe && fe->kind == FD_KIND__FD_PIDFD;
}

/* kinds whose one open file description restore can make once for several processes */
static bool kind_shareable(FdKind k)
{
	switch (k) {
	case FD_KIND__FD_REG: case FD_KIND__FD_MEMFD: case FD_KIND__FD_PIPE: case FD_KIND__FD_FIFO:
	case FD_KIND__FD_EVENTFD: case FD_KIND__FD_SIGNALFD: case FD_KIND__FD_TIMERFD:
	case FD_KIND__FD_UNIXSK:
		return true;
	default:
		return false;
	}
}

/*
 * One inode held by several processes: every open file description of it
 * that more than one process holds gets a tree-wide id, and so does every
 * description of a pipe whose ends are in different processes (the pipe
 * is made once, for all of them).  Buffered pipe data is kept once.
 */
static int share_inode(const struct dump_tree *t, struct fd_key *k, size_t n, uint32_t *next_id)
{
	bool pipe = S_ISFIFO(k[0].mode), data_kept = false;
	uint32_t *id = calloc(n, sizeof(*id));
	FileEntry **fe = calloc(n, sizeof(*fe));
	int err = -1;

	if (!id || !fe)
		goto out;
	for (size_t a = 0; a < n; a++) {
		fe[a] = file_of(proc_of(t, k[a].pid), k[a].fd);
		if (!fe[a]) {
			pr_err("pid %d fd %d: no description of it was dumped", k[a].pid, k[a].fd);
			goto out;
		}
	}
	for (size_t a = 0; a < n; a++) {
		if (id[a])
			continue;
		/* the other fds of this open file description, in any process */
		bool several = false;
		for (size_t b = a + 1; b < n; b++) {
			if (id[b])
				continue;
			bool same = k[b].pid == k[a].pid
					    ? fe[b] == fe[a]
					    : kcmp(k[a].pid, k[b].pid, KCMP_FILE, k[a].fd, k[b].fd) == 0;
			if (same) {
				id[b] = UINT32_MAX;
				several |= k[b].pid != k[a].pid;
			}
		}
		uint32_t sid = several || pipe ? ++*next_id : 0;
		id[a] = sid ? sid : UINT32_MAX;
		for (size_t b = a; b < n; b++)
			if (id[b] == UINT32_MAX)
				id[b] = sid ? sid : (uint32_t)-2;	/* done, not shared */
	}
	for (size_t a = 0; a < n; a++) {
		if (id[a] == (uint32_t)-2 || fe[a]->has_shared_id)
			continue;
		/* an external file (--inherit-fd) is criu's fd at restore: any kind */
		if (!kind_shareable(fe[a]->kind) && !fe[a]->external) {
			char link[96], target[256] = "?";
			snprintf(link, sizeof(link), "/proc/%d/fd/%d", k[a].pid, k[a].fd);
			ssize_t len = readlink(link, target, sizeof(target) - 1);
			target[len > 0 ? len : 1] = 0;
			pr_err("pid %d fd %d (%s) is shared with another process of the tree: not supported for this kind of file",
			       k[a].pid, k[a].fd, target);
			goto out;
		}
		fe[a]->has_shared_id = true;
		fe[a]->shared_id = id[a];
		if (fe[a]->pipe && fe[a]->pipe->has_data) {
			/* one buffer, described by each process that reads it */
			if (data_kept)
				fe[a]->pipe->has_data = false;
			data_kept = true;
		}
	}
	err = 0;
out:
	free(id);
	free(fe);
	return err;
}

static bool connected_sk(const FileEntry *fe)
{
	return fe && fe->kind == FD_KIND__FD_UNIXSK && fe->unix_sk->has_peer_ino &&
	       !(fe->unix_sk->has_peer_gone && fe->unix_sk->peer_gone) && !fe->external;
}

/* the socket that fe is connected to, anywhere in the tree; *other: in another process */
static FileEntry *find_peer_sk(const struct dump_tree *t, size_t i, const FileEntry *fe, bool *other)
{
	for (size_t j = 0; j < t->nr; j++) {
		const struct dump_proc *q = &t->procs[j];
		for (size_t m = 0; !q->zombie && m < q->nr_fds; m++) {
			FileEntry *pe = q->fds[m]->file;
			if (pe && pe != fe && pe->kind == FD_KIND__FD_UNIXSK &&
			    pe->unix_sk->ino == fe->unix_sk->peer_ino) {
				*other = j != i;
				return pe;
			}
		}
	}
	return NULL;
}

static bool pair_file(const FileEntry *fe)
{
	return fe && fe->kind == FD_KIND__FD_PTY && !fe->pty->dev_tty && !fe->external;
}

/* has a process of the tree other than procs[i] a file of pty pair index? */
static bool pair_elsewhere(const struct dump_tree *t, size_t i, uint32_t index)
{
	for (size_t j = 0; j < t->nr; j++)
		for (size_t m = 0; j != i && !t->procs[j].zombie && m < t->procs[j].nr_fds; m++) {
			const FileEntry *fe = t->procs[j].fds[m]->file;
			if (pair_file(fe) && fe->pty->index == index)
				return true;
		}
	return false;
}

/* the id already given to fd of process i's open file description in an
 * earlier process of the tree, or 0 */
static uint32_t pty_id_before(const struct dump_tree *t, size_t i, int fd, uint32_t index)
{
	for (size_t j = 0; j < i; j++)
		for (size_t m = 0; !t->procs[j].zombie && m < t->procs[j].nr_fds; m++) {
			const FdEntry *e = t->procs[j].fds[m];
			if (pair_file(e->file) && e->file->has_shared_id && e->file->pty->index == index &&
			    kcmp(t->procs[i].pid, t->procs[j].pid, KCMP_FILE, fd, e->fd) == 0)
				return e->file->shared_id;
		}
	return 0;
}

/*
 * A socket made once for several processes (criu makes it, before them)
 * cannot have the files in flight in its queue sent again: those are the
 * fds of one process (socket.c, unix-cmsg.c).
 */
static int check_shared_rights(const struct dump_tree *t)
{
	for (size_t i = 0; i < t->nr; i++)
		for (size_t k = 0; !t->procs[i].zombie && k < t->procs[i].nr_fds; k++) {
			const FileEntry *fe = t->procs[i].fds[k]->file;
			if (!fe || fe->kind != FD_KIND__FD_UNIXSK || !fe->has_shared_id)
				continue;
			for (size_t m = 0; m < fe->unix_sk->n_msg; m++)
				if (fe->unix_sk->msg[m]->n_fds) {
					pr_err("pid %d: fd %u: a socket shared with another process of the tree (or connected to one) with files in flight (SCM_RIGHTS) queued: not supported",
					       t->procs[i].pid, t->procs[i].fds[k]->fd);
					return -1;
				}
		}
	return 0;
}

/*
 * In a tree with its own mount namespace, a socket bound to a path that
 * criu would make for several processes: criu binds it before them, in its
 * own view, not the tree's (a process's own is bound by the process, in
 * its root).
 */
static int check_shared_named(const struct dump_tree *t)
{
	for (size_t i = 0; t->rootfd > 0 && i < t->nr; i++)
		for (size_t k = 0; !t->procs[i].zombie && k < t->procs[i].nr_fds; k++) {
			const FileEntry *fe = t->procs[i].fds[k]->file;
			if (!fe || fe->kind != FD_KIND__FD_UNIXSK || !fe->has_shared_id || !fe->unix_sk->has_name ||
			    !fe->unix_sk->name.len || !fe->unix_sk->name.data[0])
				continue;
			pr_err("pid %d: fd %u: unix socket bound to %.*s, shared with another process of the tree (or connected to one), in a mount namespace of its own: not supported",
			       t->procs[i].pid, t->procs[i].fds[k]->fd, (int)fe->unix_sk->name.len,
			       (const char *)fe->unix_sk->name.data);
			return -1;
		}
	return 0;
}

/* the pts index of the controlling terminal of a session leader, or -1 */
static int ctty_pts(const struct dump_proc *p)
{
	unsigned maj = (p->stat.tty_nr >> 8) & 0xfff;
	unsigned min = (p->stat.tty_nr & 0xff) | ((p->stat.tty_nr >> 12) & 0xfff00);
	if (p->zombie || p->stat.sid != p->pid || maj < 136 || maj > 143)
		return -1;
	return (maj - 136) * 256 + min;
}

/*
 * A session leader whose controlling terminal is a pair of the tree gets
 * it again through a file of the pair it holds (pty.c: ctty): one that
 * holds none is refused.
 */
static int check_ctty_held(const struct dump_tree *t)
{
	for (size_t i = 0; i < t->nr; i++) {
		const struct dump_proc *p = &t->procs[i];
		int n = ctty_pts(p);
		bool held = false;
		if (n < 0 || !pair_elsewhere(t, i, n))
			continue;
		for (size_t k = 0; k < p->nr_fds && !held; k++) {
			const FileEntry *fe = p->fds[k]->file;
			held = pair_file(fe) && fe->pty->index == (uint32_t)n && fe->pty->ctty;
		}
		if (!held) {
			pr_err("pid %d: leads a session whose controlling terminal, /dev/pts/%d of the dumped tree, it has no fd of: not supported",
			       p->pid, n);
			return -1;
		}
	}
	return 0;
}

/*
 * Pseudo-terminal pairs whose files are in several processes (a master in
 * a parent, the slave as a child's stdio): every file of such a pair gets
 * a tree-wide id, the same for one open file description in several
 * processes, so that restore makes the pair once (pty.c, in criu).
 */
static void share_pty_pairs(const struct dump_tree *t, uint32_t *next_id)
{
	for (size_t i = 0; i < t->nr; i++) {
		const struct dump_proc *p = &t->procs[i];
		for (size_t k = 0; !p->zombie && !p->files_shared && k < p->nr_fds; k++) {
			FileEntry *fe = p->fds[k]->file;
			if (!pair_file(fe) || fe->has_shared_id || !pair_elsewhere(t, i, fe->pty->index))
				continue;
			uint32_t id = pty_id_before(t, i, p->fds[k]->fd, fe->pty->index);
			fe->has_shared_id = true;
			fe->shared_id = id ? id : ++*next_id;
		}
	}
}

/* the id of another open file description of orphan pair index, or 0 */
static uint32_t orphan_id_taken(const struct dump_tree *t, uint32_t index)
{
	for (size_t j = 0; j < t->nr; j++)
		for (size_t m = 0; !t->procs[j].zombie && m < t->procs[j].nr_fds; m++) {
			const FileEntry *fe = t->procs[j].fds[m]->file;
			if (pair_file(fe) && fe->pty->orphan && fe->pty->index == index && fe->has_shared_id)
				return fe->shared_id;
		}
	return 0;
}

/*
 * Slaves whose master is outside the tree (--orphan-pts-master): restore
 * makes their new pair in criu, which keeps the master for the client, so
 * each is a tree-wide file even in a tree of one process.  One open file
 * description a pair (the fds of runc's console: dups and inherited).
 */
static int share_orphan_ptys(const struct dump_tree *t, uint32_t *next_id)
{
	for (size_t i = 0; i < t->nr; i++) {
		const struct dump_proc *p = &t->procs[i];
		for (size_t k = 0; !p->zombie && !p->files_shared && k < p->nr_fds; k++) {
			FileEntry *fe = p->fds[k]->file;
			if (!pair_file(fe) || !fe->pty->orphan || fe->has_shared_id)
				continue;
			uint32_t id = pty_id_before(t, i, p->fds[k]->fd, fe->pty->index);
			if (!id && orphan_id_taken(t, fe->pty->index)) {
				pr_err("pid %d: fd %u: a second open file description of /dev/pts/%u, whose master is outside the tree: not supported",
				       p->pid, p->fds[k]->fd, fe->pty->index);
				return -1;
			}
			fe->has_shared_id = true;
			fe->shared_id = id ? id : ++*next_id;
		}
	}
	return 0;
}

/*
 * Unix sockets connected to a socket of another process of the tree (a
 * socketpair made before a fork), or to a socket that is itself shared:
 * both ends get tree-wide ids, so that restore makes the pair once.
 */
static void share_socket_pairs(const struct dump_tree *t, uint32_t *next_id)
{
	for (bool changed = true; changed;) {
		changed = false;
		for (size_t i = 0; i < t->nr; i++) {
			const struct dump_proc *p = &t->procs[i];
			for (size_t k = 0; !p->zombie && k < p->nr_fds; k++) {
				FileEntry *fe = p->fds[k]->file, *pe;
				bool other = false;
				if (!connected_sk(fe) || !(pe = find_peer_sk(t, i, fe, &other)))
					continue;
				if (!other && !fe->has_shared_id && !pe->has_shared_id)
					continue;
				if (!fe->has_shared_id) {
					fe->has_shared_id = true;
					fe->shared_id = ++*next_id;
					changed = true;
				}
				if (!pe->has_shared_id) {
					pe->has_shared_id = true;
					pe->shared_id = ++*next_id;
					changed = true;
				}
			}
		}
	}
}

/*
 * Open file descriptions held by several processes (inherited across fork),
 * pipes and socket pairs between processes: marked with a tree-wide id (FileEntry
 * shared_id) so that restore makes each once and gives it to every
 * process that held it, as one open file description with one offset.
 * Kinds that cannot be shared so are refused here.
 */
int tree_share_files(const struct dump_tree *t)
{
	struct fd_key *keys = NULL;
	size_t nr = 0, cap = 0;
	uint32_t next_id = 0;
	int err = -1;

	if (share_orphan_ptys(t, &next_id))
		return -1;
	if (t->nr < 2)
		return 0;
	for (size_t i = 0; i < t->nr; i++)
		if (!t->procs[i].zombie && !t->procs[i].files_shared &&
		    collect_fds(&t->procs[i], &keys, &nr, &cap))
			goto out;
	qsort(keys, nr, sizeof(*keys), cmp_key);
	for (size_t a = 0, b; a < nr; a = b) {
		bool many = false;
		for (b = a + 1; b < nr && keys[b].dev == keys[a].dev && keys[b].ino == keys[a].ino; b++)
			many |= keys[b].pid != keys[a].pid;
		if (many && !reopen_is_same(&keys[a]) && !pidfd_key(t, &keys[a]) &&
		    share_inode(t, keys + a, b - a, &next_id))
			goto out;
	}
	share_socket_pairs(t, &next_id);
	share_pty_pairs(t, &next_id);
	if (check_ctty_held(t) || check_shared_rights(t) || check_shared_named(t))
		goto out;
	if (next_id)
		pr_info("%u open files shared between processes of the tree", next_id);
	err = 0;
out:
	free(keys);
	return err;
}

/* ------------------------------------------------------------------- end */

/* makes frozen process parent reap its dead child pid */
/* seen: pid as the parent sees it, in its own pid namespace */
static int reap_by_parent(pid_t parent, pid_t pid, pid_t seen)
{
	struct infect c;
	long args[6] = { seen, 0, __WALL, 0 }, ret = 0;
	int err;

	if (infect_begin(&c, parent))
		return -1;
	err = infect_syscall(&c, SYS_wait4, args, &ret);
	if (infect_end(&c) || err || ret != seen) {
		pr_err("pid %d: cannot make its parent %d reap it (%ld)", pid, parent, ret);
		return -1;
	}
	return 0;
}

/*
 * Children first: each is killed, then reaped by its frozen parent, so
 * that no zombie keeps a pid of the tree when the dump returns (the root
 * is reaped by its own parent, outside the tree).
 */
int tree_kill(struct dump_tree *t)
{
	int err = 0;

	for (size_t i = t->nr; i-- > 0;) {
		struct dump_proc *p = &t->procs[i];
		if (!p->zombie) {
			/*
			 * a session of the tree would live on in the memory holder;
			 * and in a pid namespace below criu's, the init, killed,
			 * waits for the holders, which only criu (their tracer) may reap
			 */
			bool hold = tree_find(t, p->stat.sid) < 0 && !p->ns_depth;
			if (kill_task(p->pid, hold, p->tids, p->nr_threads))
				err = -1;
			p->seized = false;
		}
		int pd = i ? t->procs[p->parent].ns_depth : 0;
		if (i && reap_by_parent(t->procs[p->parent].pid, p->pid, pd ? (pid_t)p->ns_pids[pd - 1] : p->pid))
			err = -1;
	}
	return err;
}

void tree_free(struct dump_tree *t)
{
	for (size_t i = 0; i < t->nr; i++)
		dump_proc_free(&t->procs[i]);
	free(t->procs);
	mnt_dump_free(t->mnt);
	if (t->rootfd > 0)
		close(t->rootfd);
	memset(t, 0, sizeof(*t));
}
