/*
 * lazy-restore.c - `criu restore --lazy-pages`, criu's side (see restore.h).
 *
 * Private anonymous VMAs that hold image pages are left empty by the
 * restorer and registered with a userfaultfd it hands to the lazy-pages
 * daemon (lazy-pages/socket-proto.h); everything else (file-private pages,
 * shared memory, never-writable mappings, wipe-on-fork mappings) is filled
 * eagerly as in a full restore, and only those pages are checked here
 * before the process runs: the daemon checks the others before serving
 * them.
 *
 * Nothing lost: closing the last reference to a uffd turns every missing
 * page into a zero page.  So criu keeps its own copy of the uffd (taken
 * with pidfd_getfd at the restorer's final trap) and holds it until the
 * daemon reports that every page is in (lazy-watch.c).  Before that, a
 * guard thread kills the process if the daemon goes away.
 */
#define LOG_PREFIX "restore: "
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ptrace.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "criu/infect/infect.h"
#include "lazy-pages/lazy-pages.h"
#include "common/log.h"
#include "images/pagemap.pb-c.h"
#include "criu/restore/restore.h"
#include "lazy-pages/sock.h"

#define CONNECT_WAIT_S	5.0

static double now_s(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

static bool has_pages(const struct page_source *ps, uint64_t start, uint64_t end)
{
	size_t lo = 0, hi = ps->nr_runs;
	while (lo < hi) {	/* first run ending after start */
		size_t mid = (lo + hi) / 2;
		if (ps->runs[mid].vaddr + ps->runs[mid].nr_pages * 4096 <= start)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo < ps->nr_runs && ps->runs[lo].vaddr < end;
}

/*
 * Whether mapping k of p is left to the daemon if it has pages.  Wipe-on-
 * fork memory stays eager: a child's copy must read as zeros, which the
 * daemon could not tell from its image pages.  So does memory children
 * share copy-on-write (premap.c): it is made before they are forked.
 * Locked memory too: mlock faults every page in.  And what is filled
 * through /proc/PID/mem (rst_vma_via_mem).
 */
static bool lazy_candidate(const struct rst_proc *p, size_t k)
{
	const Vma *v = p->mm->vmas[k];

	return v->kind == VMA_KIND__VMA_ANON_PRIVATE && !rst_vma_via_mem(v) &&
	       !(v->vm_flags & (VMA_F_WIPEONFORK | VMA_F_LOCKED)) && !(p->premap && p->premap[k]);
}

/*
 * What of thread t's memory is touched before the process runs, in whole
 * pages (out[], how many): its rseq area (the kernel writes it) and the top
 * of its stack, where criu's last injected syscalls (infect.c) put their
 * frame after the thread's registers are back.  Filled by the restorer:
 * otherwise the restore would wait there for the daemon's first page.
 */
static int thread_hot(const struct rst_proc *p, int t, struct lazy_range out[2])
{
	const ThreadCore *tc = t ? p->thread_cores[t - 1]->thread : p->core->thread;
	int n = 0;

	if (!tc)
		return 0;
	if (tc->rseq && tc->rseq->ptr)
		out[n++] = (struct lazy_range){ tc->rseq->ptr & ~4095ULL,
						(tc->rseq->ptr + (tc->rseq->size ? tc->rseq->size : 32) + 4095) &
							~4095ULL };
	if (tc->regs && tc->regs->sp > INFECT_STACK_USE)
		out[n++] = (struct lazy_range){ (tc->regs->sp - INFECT_STACK_USE) & ~4095ULL,
						(tc->regs->sp & ~4095ULL) + 4096 };
	return n;
}

/* the pages the page source left out of [start, end) */
static uint64_t skipped_pages(const struct rst_proc *p, uint64_t start, uint64_t end)
{
	uint64_t n = 0;

	for (size_t i = 0; i < p->nr_lazy_skip; i++)
		if (p->lazy_skip[i].start >= start && p->lazy_skip[i].end <= end)
			n += p->lazy_skip[i].pages;
	return n;
}

static int skip_add(struct rst_proc *p, size_t *cap, uint64_t s, uint64_t e)
{
	if (s >= e)
		return 0;
	if (p->nr_lazy_skip == *cap) {
		*cap = *cap ? *cap * 2 : 16;
		struct page_skip *n = realloc(p->lazy_skip, *cap * sizeof(*n));
		if (!n)
			return -1;
		p->lazy_skip = n;
	}
	p->lazy_skip[p->nr_lazy_skip++] = (struct page_skip){ s, e, 0 };
	return 0;
}

int rst_lazy_skip(struct rst_proc *p)
{
	size_t cap = 0;

	for (size_t k = 0; k < p->mm->n_vmas; k++) {
		if (!lazy_candidate(p, k))
			continue;
		/* the mapping but its hot ranges, the lowest first */
		uint64_t at = p->mm->vmas[k]->start, end = p->mm->vmas[k]->end;
		for (;;) {
			uint64_t hs = end, he = end;
			struct lazy_range h[2];
			for (int t = 0; t < p->nr_threads; t++)
				for (int n = thread_hot(p, t, h), j = 0; j < n; j++)
					if (h[j].end > at && h[j].start < end && h[j].start < hs) {
						hs = h[j].start > at ? h[j].start : at;
						he = h[j].end < end ? h[j].end : end;
					}
			if (skip_add(p, &cap, at, hs))
				return -1;
			if (he >= end)
				break;
			at = he;
		}
	}
	return 0;
}

void rst_lazy_plan(const struct rst_proc *p, struct restore_args *a)
{
	uint64_t lazy_pages = 0, all_pages = p->pages.nr_pages;
	uint32_t j = 0;

	a->nr_lazy = 0;
	for (size_t k = 0; k < p->mm->n_vmas; k++) {
		const Vma *mv = p->mm->vmas[k];
		if (rst_vma_special(mv->kind))
			continue;	/* as args.c lists them */
		struct rst_vma *v = &a->vmas[j++];
		uint64_t skipped = skipped_pages(p, v->start, v->end);
		all_pages += skipped;
		if (!lazy_candidate(p, k) || (!skipped && !has_pages(&p->pages, v->start, v->end)))
			continue;
		v->lazy = 1;
		a->lazy[a->nr_lazy++] = (struct lazy_range){ v->start, v->end };
		lazy_pages += skipped;
	}
	a->nr_hot = 0;
	for (int t = 0; t < p->nr_threads; t++) {
		struct lazy_range h[2];
		for (int n = thread_hot(p, t, h), m = 0; m < n; m++)
			for (uint32_t k = 0; k < a->nr_lazy; k++)
				if (h[m].start < a->lazy[k].end && a->lazy[k].start < h[m].end)
					/* what of it is lazy: the restorer makes its empty pages zero pages */
					a->hot[a->nr_hot++] = (struct lazy_range){
						h[m].start > a->lazy[k].start ? h[m].start : a->lazy[k].start,
						h[m].end < a->lazy[k].end ? h[m].end : a->lazy[k].end };
	}
	for (size_t i = 0; i < p->pages.nr_runs; i++)
		for (uint32_t k = 0; k < a->nr_lazy; k++)
			if (p->pages.runs[i].vaddr >= a->lazy[k].start &&
			    p->pages.runs[i].vaddr < a->lazy[k].end)
				lazy_pages += p->pages.runs[i].nr_pages;
	pr_info("pid %d: %u lazy areas, %lu of %lu pages left to the lazy-pages daemon", p->pid,
		a->nr_lazy, (unsigned long)lazy_pages, (unsigned long)all_pages);
}

int rst_lazy_eager(const struct restore_args *a, uint64_t start, uint64_t end, uint64_t *hot)
{
	uint64_t n = 0;

	for (uint32_t k = 0; k < a->nr_lazy; k++)
		if (start >= a->lazy[k].start && end <= a->lazy[k].end) {
			for (uint32_t h = 0; h < a->nr_hot; h++) {
				uint64_t s = a->hot[h].start > start ? a->hot[h].start : start;
				uint64_t e = a->hot[h].end < end ? a->hot[h].end : end;
				n += s < e ? e - s : 0;
			}
			if (hot)
				*hot = n;
			return n ? RST_HOT : RST_LAZY;
		}
	return RST_EAGER;
}

/* the pages of [start, end) are filled before the process runs */
static bool filled_eagerly(void *ctx, uint64_t start, uint64_t end)
{
	return rst_lazy_eager(ctx, start, end, NULL) != RST_LAZY;
}

int rst_lazy_verify_eager(const struct page_source *ps, const struct restore_args *a)
{
	/* what a page server keeps was checked as it was fetched */
	return page_source_verify_filter(ps, filled_eagerly, (void *)a);
}

/* sec as command-line options (at most 12 entries); how many */
static int ps_sec_argv(const struct ps_sec *sec, const char **argv)
{
	const char *opt[] = { "--tls-cacert", "--tls-cacrl", "--tls-cert", "--tls-key",
			      "--ps-token-file" };
	const char *val[] = { sec->tls_cacert, sec->tls_cacrl, sec->tls_cert, sec->tls_key,
			      sec->token_file };
	int n = 0;

	if (sec->tls)
		argv[n++] = "--tls";
	if (sec->tls_no_cn_verify)
		argv[n++] = "--tls-no-cn-verify";
	for (int i = 0; i < 5; i++) {
		if (val[i]) {
			argv[n++] = opt[i];
			argv[n++] = val[i];
		}
	}
	return n;
}

/*
 * criu lazy-pages -D DIR, detached from us, logging to DIR/lazy-pages.log;
 * its socket made here and handed over, so that a connection needs no
 * wait for the daemon to start
 */
static int start_daemon(const struct opts *o, int dirfd)
{
	char log[4096], gran[32], port[16];
	struct sockaddr_un sa;
	int lfd = lazy_sock_listen(o->images_dir, dirfd, &sa);

	if (lfd < 0)
		return -1;
	const char *argv[32];
	int n = 0, status;
	const struct ps_sec *sec = &o->ps_sec;

	snprintf(log, sizeof(log), "%s/lazy-pages.log", o->images_dir);
	argv[n++] = "criu";
	argv[n++] = "lazy-pages";
	argv[n++] = "-D";
	argv[n++] = o->images_dir;
	argv[n++] = "-o";
	argv[n++] = log;
	argv[n++] = o->verbosity >= LOG_DEBUG ? "-v4" : "-v3";
	argv[n++] = "--lazy-listen-fd";
	argv[n++] = "3";
	if (o->page_server || o->address) {
		snprintf(port, sizeof(port), "%d", o->port);
		argv[n++] = "--page-server";
		argv[n++] = "--address";
		argv[n++] = o->address ? o->address : "127.0.0.1";
		argv[n++] = "--port";
		argv[n++] = port;
		/* the same authentication as restore's own connection */
		n += ps_sec_argv(sec, argv + n);
	}
	if (o->lazy_granule) {
		snprintf(gran, sizeof(gran), "%lu", o->lazy_granule);
		argv[n++] = "--lazy-granule";
		argv[n++] = gran;
	}
	argv[n] = NULL;

	pid_t pid = fork();
	if (pid < 0) {
		pr_perror("cannot start the lazy-pages daemon");
		close(lfd);
		unlinkat(dirfd, LAZY_SOCK_NAME, 0);
		return -1;
	}
	if (pid == 0) {
		/* the daemon's parent is init, not us: it outlives this restore */
		if (fork() == 0) {
			int nul = open("/dev/null", O_RDWR);
			setsid();
			dup2(nul, 0);
			dup2(nul, 1);
			dup2(nul, 2);
			if (lfd == 3)	/* dup2 would keep close-on-exec */
				fcntl(3, F_SETFD, 0);
			else
				dup2(lfd, 3);
			syscall(SYS_close_range, 4, ~0U, 0);
			/*
			 * its index of a long chain is 20 MB and more, made while
			 * the process waits: in huge pages, a third faster here
			 */
			setenv("GLIBC_TUNABLES", "glibc.malloc.hugetlb=1", 0);
			execv("/proc/self/exe", (char **)argv);
			_exit(127);
		}
		_exit(0);
	}
	close(lfd);
	waitpid(pid, &status, 0);
	pr_info("started the lazy-pages daemon (log: %s)", log);
	return 0;
}

/*
 * The first error the daemon we started logged (in its log, from byte
 * from on) into why; true if there is one: it failed before it answered
 */
static bool daemon_failed(const struct opts *o, off_t from, char *why, size_t len)
{
	char path[4096], buf[8192];
	ssize_t n;
	int fd;

	snprintf(path, sizeof(path), "%s/lazy-pages.log", o->images_dir);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return false;
	n = pread(fd, buf, sizeof(buf) - 1, from);
	close(fd);
	if (n <= 0)
		return false;
	buf[n] = 0;
	char *e = strstr(buf, "error: ");
	char *nl = e ? strchr(e, '\n') : NULL;
	if (!nl)
		return false;	/* none, or not a whole line yet */
	*nl = 0;
	snprintf(why, len, "%s", e + strlen("error: "));
	return true;
}

static bool daemon_failed_any(const struct opts *o, off_t from)
{
	char why[8];
	return daemon_failed(o, from, why, sizeof(why));
}

/*
 * restore --lazy-pages given no page server, while a daemon started with
 * --page-server serves DIR (CRIU's lazy migration; runc restore
 * --lazy-pages): its DIR/lazy-pages.remote names the page server, which
 * the eager pages come from too.  *ro: o with it, if so (false if not).
 */
bool rst_lazy_daemon_remote(const struct opts *o, struct opts *ro)
{
	char path[4096], addr[256];
	int port = 0, pid = 0;

	if (!o->lazy_pages || o->page_server || o->address || !o->images_dir)
		return false;
	snprintf(path, sizeof(path), "%s/%s", o->images_dir, LAZY_REMOTE_NAME);
	FILE *f = fopen(path, "re");
	int got = f ? fscanf(f, "%255s %d %d", addr, &port, &pid) : 0;
	if (f)
		fclose(f);
	if (got != 3 || port <= 0 || port > 65535 || pid <= 0)
		return false;
	/* with its socket (a connection to see would count as a restore to it;
	 * its pid may be in another pid namespace): the daemon removes both
	 * when it ends; one left by a killed daemon fails the connection with
	 * the page server named */
	struct stat st;
	snprintf(path, sizeof(path), "%s/%s", o->images_dir, LAZY_SOCK_NAME);
	if (stat(path, &st) || !S_ISSOCK(st.st_mode))
		return false;
	*ro = *o;
	ro->page_server = true;
	ro->address = strdup(addr);
	ro->port = port;
	if (!ro->address)
		return false;
	pr_info("the lazy-pages daemon of %s takes its pages from %s:%d: so does this restore",
		o->images_dir, addr, port);
	return true;
}

/* the size of the daemon's log now (it appends) */
static off_t daemon_log_end(const struct opts *o)
{
	char path[4096];
	struct stat st;

	snprintf(path, sizeof(path), "%s/lazy-pages.log", o->images_dir);
	return stat(path, &st) ? 0 : st.st_size;
}

/*
 * Starts a daemon for o's images if none listens there yet: before the
 * images are read (the daemon reads them too, on the other CPU) and before
 * criu enters the tree's mount namespace (the daemon stays in criu's).
 */
int rst_lazy_start(const struct opts *o, int dirfd, struct rst_lazy_daemon *dm)
{
	struct sockaddr_un sa;
	struct stat st;
	int len = lazy_sock_addr(o->images_dir, dirfd, &sa);

	if (len < 0) {
		pr_err("%s: path too long for the lazy-pages socket", o->images_dir);
		return -1;
	}
	if (!stat(sa.sun_path, &st))
		return 0;	/* one serves (or one starting, or a stale socket: connect decides) */
	dm->log_from = daemon_log_end(o);
	if (start_daemon(o, dirfd))
		return -1;
	dm->started = true;
	return 0;
}

/*
 * A daemon started by rst_lazy_start that no process connected to: a
 * connection closed at once tells it nobody comes (it exits).
 */
void rst_lazy_abandon(const struct opts *o, int dirfd, const struct rst_lazy_daemon *dm)
{
	struct sockaddr_un sa;
	int len = lazy_sock_addr(o->images_dir, dirfd, &sa);

	if (!dm->started || len < 0)
		return;
	for (int i = 0; i < 500; i++) {	/* it may be starting: up to a second */
		int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
		if (fd < 0)
			return;
		int ok = !connect(fd, (struct sockaddr *)&sa, len);
		close(fd);
		if (ok || daemon_failed_any(o, dm->log_from))
			return;
		usleep(2000);
	}
}

int rst_lazy_connect(const struct opts *o, int dirfd, struct rst_lazy_daemon *dm)
{
	char why[512];
	struct sockaddr_un sa;
	int len = lazy_sock_addr(o->images_dir, dirfd, &sa);
	double t0 = now_s();
	int err = 0;

	if (len < 0) {
		pr_err("%s: path too long for the lazy-pages socket", o->images_dir);
		return -1;
	}
	for (;;) {
		int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
		if (fd < 0) {
			pr_perror("cannot create a unix socket");
			return -1;
		}
		if (!connect(fd, (struct sockaddr *)&sa, len)) {
			pr_info("connected to the lazy-pages daemon in %.1f ms", (now_s() - t0) * 1e3);
			return fd;
		}
		err = errno;
		close(fd);
		/*
		 * No socket: no daemon, start one.  A socket nobody answers on
		 * may be a daemon still starting: give it a second first.
		 */
		if (!dm->started && (err == ENOENT || (err == ECONNREFUSED && now_s() - t0 > 1.0))) {
			dm->log_from = daemon_log_end(o);
			if (start_daemon(o, dirfd))
				return -1;
			dm->started = true;
		}
		/* one that failed (a page server refusing it...): its reason, now */
		if (dm->started && daemon_failed(o, dm->log_from, why, sizeof(why))) {
			pr_err("the lazy-pages daemon failed: %s", why);
			return -1;
		}
		if (now_s() - t0 > CONNECT_WAIT_S)
			break;
		usleep(2000);
	}
	errno = err;
	pr_perror("%s/%s: no lazy-pages daemon answers%s", o->images_dir, LAZY_SOCK_NAME,
		  dm->started ? " (see lazy-pages.log there)" : "");
	return -1;
}

/* an int the restorer wrote into its args (negative: none) */
static int peek_int(pid_t pid, const __s32 *where)
{
	errno = 0;
	long v = ptrace(PTRACE_PEEKDATA, pid, (void *)where, NULL);
	return errno ? -1 : (int)(v & 0xffffffff);
}

static int copy_fd(pid_t pid, int tfd)
{
	int fd = -1, pidfd = syscall(SYS_pidfd_open, pid, 0);

	if (pidfd >= 0) {
		fd = syscall(SYS_pidfd_getfd, pidfd, tfd, 0);
		close(pidfd);
	}
	if (fd >= 0)
		fcntl(fd, F_SETFD, FD_CLOEXEC);
	return fd;
}

/* the process must show no fd it did not have: the restorer's go */
static int close_in(pid_t pid, const int *tfds, int n)
{
	struct infect c;
	long args[6] = { 0 }, ret = 0;
	int err = 0;

	if (infect_begin(&c, pid))
		return -1;
	for (int i = 0; i < n && !err && !ret; i++) {
		args[0] = tfds[i];
		err = infect_syscall(&c, SYS_close, args, &ret);
	}
	if (infect_end(&c) || err || ret) {
		pr_err("pid %d: cannot close the restorer's userfaultfd or io_uring (%ld)", pid, ret);
		return -1;
	}
	return 0;
}

/*
 * criu's own copies of the process's uffd and of the io_uring that keeps
 * it in the process (lazy-keep.c; *ring -1 if the restorer could not make
 * one: said here, the process is then safe only while criu or the daemon
 * lives, as before)
 */
int rst_lazy_take_uffd(pid_t pid, const struct restore_args *a, int *ring)
{
	int tfds[2] = { peek_int(pid, &a->uffd), peek_int(pid, &a->lazy_ring) };
	int fd, n = 1;

	*ring = -1;
	if (tfds[0] < 0) {
		pr_err("pid %d: the restorer made no userfaultfd", pid);
		return -1;
	}
	if (tfds[1] < 0)	/* the restorer wrote -errno (-1: EPERM) */
		pr_warn("pid %d: no io_uring to keep its userfaultfd in (%s): if the lazy-pages daemon "
			"and criu both die before every page is in, its missing pages read as zeros",
			pid, strerror(-tfds[1]));
	fd = copy_fd(pid, tfds[0]);
	if (fd >= 0 && tfds[1] >= 0) {
		n = 2;
		*ring = copy_fd(pid, tfds[1]);
		if (*ring < 0) {
			close(fd);
			fd = -1;
		}
	}
	if (fd < 0) {
		pr_perror("pid %d: cannot take a copy of its userfaultfd", pid);
		return -1;
	}
	if (close_in(pid, tfds, n)) {
		close(fd);
		if (*ring >= 0)
			close(*ring);
		*ring = -1;
		return -1;
	}
	return fd;
}

/*
 * Until criu has its copy of the uffd, the process may already wait for
 * pages (the kernel touches its memory in the restorer: rseq, PR_SET_MM):
 * if the daemon dies or fails then, the guard kills the process so that
 * the restore fails instead of hanging.
 */
static void *guard_fn(void *arg)
{
	struct rst_lazy_guard *g = arg;
	struct lazy_status st;

	for (;;) {
		struct pollfd pf[2] = { { g->conn, POLLIN, 0 }, { g->stop[0], POLLIN, 0 } };
		if (poll(pf, 2, -1) < 0) {
			if (errno == EINTR)
				continue;
			return NULL;
		}
		if (pf[1].revents)
			return NULL;
		ssize_t n = recv(g->conn, &st, sizeof(st), MSG_PEEK | MSG_DONTWAIT);
		if (n == sizeof(st) && st.magic == LAZY_PROTO_MAGIC && st.status == 0)
			return NULL;	/* all in already; the watcher reads it */
		if (n > 0 && n < (ssize_t)sizeof(st)) {
			usleep(1000);
			continue;
		}
		if (n < 0 && errno == EAGAIN)
			continue;
		pr_err("pid %d: the lazy-pages daemon %s during the restore: killing the process",
		       g->pid, n > 0 ? "lost its page source" : "went away");
		kill(g->pid, SIGKILL);
		return NULL;
	}
}

int rst_lazy_guard_start(struct rst_lazy_guard *g, pid_t pid, int conn)
{
	g->pid = pid;
	g->conn = conn;
	if (pipe2(g->stop, O_CLOEXEC))
		return -1;
	if (pthread_create(&g->thread, NULL, guard_fn, g)) {
		close(g->stop[0]);
		close(g->stop[1]);
		return -1;
	}
	g->on = true;
	return 0;
}

void rst_lazy_guard_stop(struct rst_lazy_guard *g)
{
	if (!g->on)
		return;
	if (write(g->stop[1], "x", 1) != 1) {
		/* the pipe is ours and empty: cannot fail */
	}
	pthread_join(g->thread, NULL);
	close(g->stop[0]);
	close(g->stop[1]);
	g->on = false;
}

/* ------------------------------------------------------- a tree of processes */

int rst_lazy_set_connect(struct rst_lazy_set *s, const struct rst_tree *t, const struct opts *o,
			 int dirfd)
{
	s->v = calloc(t->nr, sizeof(*s->v));
	if (!s->v)
		return -1;
	for (size_t i = 0; i < t->nr; i++) {
		if (t->procs[i].zombie)
			continue;
		struct rst_lazy_proc *l = &s->v[s->nr++];
		l->pid = t->procs[i].pid;
		l->uffd = l->ring = -1;
		l->conn = rst_lazy_connect(o, dirfd, &s->daemon);
		if (l->conn < 0)
			return -1;
	}
	return 0;
}

void rst_lazy_set_pids(struct rst_lazy_set *s, const struct rst_tree *t)
{
	const struct rst_proc *root = &t->procs[0];
	for (size_t i = 0, l = 0; i < t->nr && l < s->nr; i++) {
		const struct rst_proc *p = &t->procs[i];
		if (p->zombie)
			continue;
		s->v[l].ns_root = root->ns_base ? root->real_tids[0] : 0;
		s->v[l++].pid = p->real_tids[0] ? p->real_tids[0] : root->real_tids[0];
	}
}

int rst_lazy_set_guard(struct rst_lazy_set *s)
{
	for (size_t i = 0; i < s->nr; i++)
		if (rst_lazy_guard_start(&s->v[i].guard, s->v[i].pid, s->v[i].conn))
			return -1;
	return 0;
}

void rst_lazy_set_unguard(struct rst_lazy_set *s)
{
	for (size_t i = 0; i < s->nr; i++)
		rst_lazy_guard_stop(&s->v[i].guard);
}

struct watch_job {
	pthread_t thread;
	struct rst_lazy_proc *l;
	int ret;
};

static void *watch_fn(void *arg)
{
	struct watch_job *j = arg;
	j->ret = rst_lazy_watch(j->l);
	return NULL;
}

int rst_lazy_set_watch(struct rst_lazy_set *s)
{
	struct watch_job *jobs = calloc(s->nr + 1, sizeof(*jobs));
	int ret = 0;

	for (size_t i = 0; i < s->nr; i++) {
		if (jobs)
			jobs[i].l = &s->v[i];
		/* the last (or all, without memory for threads) in this thread */
		if (!jobs || i + 1 == s->nr || pthread_create(&jobs[i].thread, NULL, watch_fn, &jobs[i])) {
			if (jobs)
				jobs[i].thread = 0;
			if (rst_lazy_watch(&s->v[i]))
				ret = -1;
		}
	}
	for (size_t i = 0; jobs && i < s->nr; i++)
		if (jobs[i].thread) {
			pthread_join(jobs[i].thread, NULL);
			if (jobs[i].ret)
				ret = -1;
		}
	free(jobs);
	/* rst_lazy_watch closed them */
	for (size_t i = 0; i < s->nr; i++)
		s->v[i].conn = s->v[i].uffd = s->v[i].ring = -1;
	return ret;
}

void rst_lazy_set_disconnect(struct rst_lazy_set *s)
{
	rst_lazy_set_unguard(s);
	for (size_t i = 0; i < s->nr; i++) {
		if (s->v[i].conn >= 0)
			close(s->v[i].conn);
		s->v[i].conn = -1;
	}
}

void rst_lazy_set_close(struct rst_lazy_set *s)
{
	rst_lazy_set_unguard(s);
	for (size_t i = 0; i < s->nr; i++) {
		if (s->v[i].conn >= 0)
			close(s->v[i].conn);
		if (s->v[i].uffd >= 0)
			close(s->v[i].uffd);
		if (s->v[i].ring >= 0)
			close(s->v[i].ring);
	}
	free(s->v);
	s->v = NULL;
	s->nr = 0;
}
