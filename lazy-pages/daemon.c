/*
 * daemon.c - `criu lazy-pages -D DIR`: listens on DIR/lazy-pages.sock (mode
 * 0600, peers of another uid refused), takes each restored process's
 * userfaultfd (socket-proto.h), and runs the one loop that serves them all:
 * poll every uffd, handle what is queued (faults first), then copy one
 * background chunk, and again, until every process has all its pages.
 * Then it reports to each criu restore, prints a summary and exits.
 *
 * While it waits for the first userfaultfd it opens the page sources of
 * the processes pstree.img lists (pagemaps read, units built: ~3 ms per
 * GiB), so that a restored process does not wait for that on its first
 * fault.
 *
 * Owns the sockets and the loop; what happens to one process is proc.c's,
 * where pages come from is source.c's.
 */
#define LOG_PREFIX "lazy-pages: "
#include <errno.h>
#include <sys/syscall.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>
#include <sys/ioctl.h>
#include <linux/userfaultfd.h>

#include "images/image.h"
#include "lazy-pages/lazy-pages.h"
#include "pagexfer/page-server.h"
#include "common/clock.h"
#include "common/log.h"
#include "lazy-pages/served.h"
#include "common/progress.h"
#include "images/pstree.pb-c.h"
#include "lazy-pages/sock.h"

#define MAX_CONNS	64

struct daemon {
	const struct lazy_opts *o;
	int dirfd, lfd;
	struct sockaddr_un sa;
	struct ps_client remote;	/* faults (and the sources' maps) */
	struct ps_client remote_bg;	/* the background's reads, sent without waiting */
	int conns[MAX_CONNS];
	int nr_conns;
	bool had_conn;
	int nr_done;		/* restored processes that got every page */
	bool lost;		/* a process failed, or left before all its pages were in */
	struct lp_ctx ctx;
	struct progress pr;
	double t_first;
	/* sources opened ahead (pstree.img's processes), taken by attach() */
	size_t nr_pre, next_pre;
	unsigned *pre_pid;
	struct lp_source **pre_src;
};

static double now_s(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

/*
 * DIR/lazy-pages.sock, listening: made here, or made by the restore that
 * started this daemon and handed over (lazy_opts.listen_fd), so that the
 * restore never waits for the daemon to start
 */
static int listen_sock(struct daemon *d)
{
	if (d->o->listen_fd >= 0) {
		if (lazy_sock_addr(d->o->images_dir, d->dirfd, &d->sa) < 0) {
			pr_err("%s: path too long for a unix socket", d->o->images_dir);
			return -1;
		}
		d->lfd = fcntl(d->o->listen_fd, F_DUPFD_CLOEXEC, 0);
		close(d->o->listen_fd);
		if (d->lfd < 0 || fcntl(d->lfd, F_SETFL, O_NONBLOCK)) {
			pr_perror("the listening socket handed over (fd %d)", d->o->listen_fd);
			return -1;
		}
	} else if ((d->lfd = lazy_sock_listen(d->o->images_dir, d->dirfd, &d->sa)) < 0) {
		return -1;
	}
	ps_status_ready(&(int){ d->o->status_fd });
	return 0;
}

/* DIR/lazy-pages.remote (lazy-pages.h): which page server, for restore */
static void write_remote(const struct daemon *d)
{
	char text[320];
	int n = snprintf(text, sizeof(text), "%s %d %d\n", d->o->address ? d->o->address : "127.0.0.1",
			 d->o->port, getpid());
	int fd = openat(d->dirfd, LAZY_REMOTE_NAME, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);

	if (fd < 0 || write(fd, text, n) != n)
		pr_warn("%s/%s: cannot write it: a restore must be given --page-server --address --port",
			d->o->images_dir, LAZY_REMOTE_NAME);
	if (fd >= 0)
		close(fd);
}

static void accept_conn(struct daemon *d)
{
	struct ucred cr;
	socklen_t cl = sizeof(cr);
	int fd = accept4(d->lfd, NULL, NULL, SOCK_CLOEXEC);

	if (fd < 0)
		return;
	if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cr, &cl) || cr.uid != getuid()) {
		pr_err("refusing a connection from pid %d uid %d: only uid %d may use this daemon",
		       (int)cr.pid, (int)cr.uid, (int)getuid());
		close(fd);
		return;
	}
	if (d->nr_conns == MAX_CONNS) {
		pr_err("too many connections: refusing pid %d", (int)cr.pid);
		close(fd);
		return;
	}
	pr_debug("connection from pid %d", (int)cr.pid);
	d->conns[d->nr_conns++] = fd;
	d->had_conn = true;
}

/* one lazy_status to criu restore on conn, with fd attached if >= 0; 0 if sent */
static int send_msg(int conn, const struct lazy_status *st, int fd)
{
	if (conn < 0 || lazy_send_fd(conn, st, sizeof(*st), fd) != sizeof(*st)) {
		pr_debug("pid %u: criu restore is no longer listening", st->pid);
		return -1;
	}
	return 0;
}

static void send_status(const struct lp_proc *p, int status)
{
	struct lazy_status st = { LAZY_PROTO_MAGIC, p->pid, status, p->child, 0, 0 };
	send_msg(p->conn, &st, -1);
}

/*
 * Fork children: criu restore gets a copy of each one's uffd (it must
 * outlive this daemon, or the child's missing pages would read as zeros
 * if the daemon died), then the pid of a thread of it once a fault names
 * one.  A child nobody holds a copy for is served all the same.
 */
static void tell_children(struct daemon *d)
{
	for (struct lp_proc *p = d->ctx.procs; p; p = p->next) {
		if (!p->child)
			continue;
		struct lazy_status st = { LAZY_PROTO_MAGIC, p->pid, LAZY_CHILD_NEW, p->child, 0, 0 };
		if (!p->handed) {
			p->handed = true;
			if (send_msg(p->conn, &st, p->uffd))
				pr_err("pid %u: criu restore does not hold its fork child %u's userfaultfd: "
				       "if this daemon dies, the child's missing pages read as zeros",
				       p->pid, p->child);
		}
		if (p->tid > 0 && !p->tid_told) {
			p->tid_told = true;
			st.status = LAZY_CHILD_PID;
			st.child_pid = p->tid;
			send_msg(p->conn, &st, -1);
		}
	}
}

/* is the process of this pidfd in the daemon's pid namespace (one level in NSpid)? */
static bool in_own_pidns(int pidfd)
{
	char path[64], line[256];
	bool own = false;

	snprintf(path, sizeof(path), "/proc/self/fdinfo/%d", pidfd);
	FILE *f = fopen(path, "re");
	while (f && fgets(line, sizeof(line), f))
		if (!strncmp(line, "NSpid:", 6)) {
			int n = 0;
			char *s = line + 6, *end;
			while (strtol(s, &end, 10) > 0 && end != s) {
				n++;
				s = end;
			}
			own = n == 1;
		}
	if (f)
		fclose(f);
	return own;
}

/* a hello's process that cannot be served */
static void refuse_proc(int conn, const struct lazy_hello *h, int status, int *fds)
{
	send_msg(conn, &(struct lazy_status){ LAZY_PROTO_MAGIC, h->pid, status, 0, 0, 0 }, -1);
	if (syscall(SYS_pidfd_send_signal, fds[1], SIGKILL, NULL, 0) && errno != ESRCH)
		pr_perror("pid %u: cannot kill it", h->pid);
	close(fds[0]);
	close(fds[1]);
	close(conn);
}

/* the page source of pid, opened; NULL (logged) if it cannot be */
static struct lp_source *open_source(struct daemon *d, unsigned pid)
{
	struct lp_source *src = calloc(1, sizeof(*src));
	double t0 = clock_now_ms();

	if (src && !(d->o->remote ? lp_source_open_remote(&d->remote, &d->remote_bg, d->dirfd, pid, src)
				  : lp_source_open_local(d->dirfd, pid, src))) {
		pr_info("pid %u: %d images indexed in %.1f ms (%zu runs, %zu units)", pid,
			src->local.nr_images, clock_now_ms() - t0, src->local.nr_runs, src->nr_units);
		return src;
	}
	free(src);
	return NULL;
}

/* the processes to open sources for ahead: pstree.img's live ones (none if unreadable) */
static void preload_list(struct daemon *d)
{
	struct img_entries e;

	if (img_read_all(d->dirfd, IMG_PSTREE, 0, &e))
		return;		/* restore reports it; attach() opens what comes */
	d->pre_pid = calloc(e.nr + 1, sizeof(*d->pre_pid));
	d->pre_src = calloc(e.nr + 1, sizeof(*d->pre_src));
	for (size_t i = 0; d->pre_pid && d->pre_src && i < e.nr; i++) {
		const PstreeEntry *pe = (PstreeEntry *)e.msgs[i];
		if (!pe->zombie)
			d->pre_pid[d->nr_pre++] = pe->pid;
	}
	img_entries_free(&e);
}

/* opens the next source ahead; false when there is none left */
static bool preload_one(struct daemon *d)
{
	if (d->next_pre >= d->nr_pre)
		return false;
	size_t i = d->next_pre++;
	d->pre_src[i] = open_source(d, d->pre_pid[i]);
	return true;
}

static struct lp_source *take_preloaded(struct daemon *d, unsigned pid)
{
	for (size_t i = 0; i < d->next_pre; i++)
		if (d->pre_pid[i] == pid && d->pre_src[i]) {
			struct lp_source *s = d->pre_src[i];
			d->pre_src[i] = NULL;
			return s;
		}
	return NULL;
}

static void preload_free(struct daemon *d)
{
	for (size_t i = 0; i < d->next_pre; i++)
		if (d->pre_src[i]) {
			lp_source_close(d->pre_src[i]);
			free(d->pre_src[i]);
		}
	free(d->pre_src);
	free(d->pre_pid);
}

/* a connection has data: the hello of a restored process */
static void attach(struct daemon *d, int conn)
{
	struct lazy_hello h;
	struct lazy_range *ranges;
	struct lp_source *src;
	int fds[2];

	if (lazy_recv_hello(conn, &h, &ranges, fds)) {
		close(conn);
		return;
	}
	int uffd = fds[0];
	src = take_preloaded(d, h.pid);
	if (!src)
		src = open_source(d, h.pid);
	if (!src || lp_source_start(src)) {
		if (src) {
			lp_source_close(src);
			free(src);
		}
		pr_err("pid %u: no page source: the process cannot run", h.pid);
		refuse_proc(conn, &h, -EIO, fds);
		free(ranges);
		return;
	}
	fcntl(uffd, F_SETFL, O_NONBLOCK);
	struct lp_proc *p = lp_proc_new(&d->ctx, src, h.pid, uffd, conn, ranges, h.nr_ranges);
	free(ranges);
	if (!p) {
		pr_err("pid %u: out of memory: the process cannot run", h.pid);
		refuse_proc(conn, &h, -ENOMEM, fds);
		lp_source_close(src);
		free(src);
		return;
	}
	p->pidfd = fds[1];
	p->own_pidns = in_own_pidns(fds[1]);
	pr_info("pid %u: %u lazy ranges, %lu pages to bring in", h.pid, h.nr_ranges,
		(unsigned long)p->remaining);
	lp_ws_open(d->dirfd, h.pid, &p->ws);
	if (!d->t_first) {
		d->t_first = now_s();
		progress_start(&d->pr, "lazy-pages", p->remaining * 4096);
	} else {
		d->pr.total = d->ctx.st.total_pages * 4096;
	}
}

/*
 * The verdict to the page server: PS_BYE (every restored process has what
 * it needs) or PS_ABORT; the background's connection closes first, no
 * verdict (a reply still coming on it is dropped with it).
 */
static void close_remote(struct daemon *d, bool done)
{
	ps_client_close(&d->remote_bg, d->remote_bg.busy ? 0 : PS_CLOSE);
	ps_client_close(&d->remote, done ? PS_BYE : PS_ABORT);
}

/*
 * Every page in: its ranges are let go now, not only when the last copy of
 * its uffd closes, for one copy may outlive this daemon and criu: the one
 * the process keeps itself (criu/restore/lazy-keep.c), until criu has
 * seen this status.  A range still registered with no one reading would
 * block the process at its next fault there (after MADV_DONTNEED) for good.
 */
static void let_go(const struct lp_proc *p)
{
	for (size_t i = 0; i < p->nr; i++) {
		struct uffdio_range r = { p->r[i].start, p->r[i].end - p->r[i].start };
		if (r.len && ioctl(p->uffd, UFFDIO_UNREGISTER, &r) && errno != ENOENT && errno != ESRCH)
			pr_debug("pid %u: range %llx-%llx not unregistered: %s", p->pid,
				 (unsigned long long)r.start, (unsigned long long)(r.start + r.len),
				 strerror(errno));
	}
}

/* a process is finished with: tell its criu restore, let it go */
static void finish(struct daemon *d, struct lp_proc *p)
{
	static const char *what[] = { "live", "has all its pages", "is gone", "failed" };
	int status = p->state == LP_DONE ? 0 : p->state == LP_GONE ? -ESRCH : -EIO;

	if (p->child)
		pr_info("pid %u (its fork child %u) %s", p->pid, p->child, what[p->state]);
	else
		pr_info("pid %u %s", p->pid, what[p->state]);
	/*
	 * Whether the migration is complete (PS_BYE to the page server): every
	 * restored process got all its pages, or ended by itself (it ran
	 * here) while criu restore still waited on it; a process gone after
	 * criu restore closed its connection was killed by a failed restore.
	 * Fork children may end as they like.
	 */
	if (p->state == LP_GONE && !p->child && p->conn >= 0) {
		struct pollfd pc = { p->conn, POLLIN | POLLRDHUP, 0 };
		char b;
		bool hup = poll(&pc, 1, 0) == 1 && ((pc.revents & (POLLHUP | POLLRDHUP)) ||
						    recv(p->conn, &b, 1, MSG_PEEK | MSG_DONTWAIT) == 0);
		if (hup)
			d->lost = true;
		else
			d->nr_done++;
		if (!hup)
			lp_ws_save(d->dirfd, p->pid, &p->ws);	/* it ran here, and ended */
	} else if (p->state == LP_DONE && !p->child && p->conn >= 0) {
		d->nr_done++;
		lp_ws_save(d->dirfd, p->pid, &p->ws);
	} else if (p->state == LP_FAILED) {
		d->lost = true;
	}
	/*
	 * The last process: the verdict goes to the page server before the
	 * status goes to criu restore, which may then exit (as init of a pid
	 * namespace it takes this daemon with it).
	 */
	if (d->o->remote && !d->ctx.procs && !d->nr_conns)
		close_remote(d, d->nr_done && !d->lost);
	if (p->state == LP_DONE)
		let_go(p);
	/* after the look at the connection: criu restore closes it on the status */
	send_status(p, status);
	if (--p->src->refs == 0) {
		lp_source_close(p->src);
		free(p->src);
	}
	lp_proc_free(p);
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return x < y ? -1 : x > y;
}

static void summary(struct daemon *d)
{
	struct lp_stats *s = &d->ctx.st;
	double el = d->t_first ? now_s() - d->t_first : 0, p50 = 0, p99 = 0, max = 0;
	uint64_t pages = s->fault_pages + s->bg_pages;

	if (s->nr_lat) {
		qsort(s->lat, s->nr_lat, sizeof(double), cmp_double);
		p50 = s->lat[s->nr_lat / 2];
		p99 = s->lat[s->nr_lat * 99 / 100];
		max = s->lat[s->nr_lat - 1];
	}
	dprintf(log_get_fd(),
		"lazy-pages: summary: %lu pages (%.1f MiB) in %.3f s: %lu on %lu faults, %lu in the "
		"background (%lu of them a working set's, first), %lu zero pages; %lu from local "
		"images, %lu from the page server; fault service median %.1f us, p99 %.1f us, max "
		"%.1f us\n",
		(unsigned long)pages, pages * 4096.0 / (1 << 20), el, (unsigned long)s->fault_pages,
		(unsigned long)s->faults, (unsigned long)s->bg_pages, (unsigned long)s->ws_pages,
		(unsigned long)s->zero_pages,
		(unsigned long)s->local_pages, (unsigned long)s->remote_pages, p50, p99, max);
	dprintf(log_get_fd(),
		"lazy-pages: stats: pages=%lu fault_pages=%lu bg_pages=%lu ws_pages=%lu zero_pages=%lu faults=%lu "
		"local_pages=%lu remote_pages=%lu bytes=%lu elapsed_s=%.6f lat_p50_us=%.1f "
		"lat_p99_us=%.1f lat_max_us=%.1f\n",
		(unsigned long)pages, (unsigned long)s->fault_pages, (unsigned long)s->bg_pages,
		(unsigned long)s->ws_pages, (unsigned long)s->zero_pages, (unsigned long)s->faults,
		(unsigned long)s->local_pages,
		(unsigned long)s->remote_pages, (unsigned long)pages * 4096, el, p50, p99, max);
	free(s->lat);
}

static int run(struct daemon *d)
{
	size_t nfds = 1 + MAX_CONNS + 256;
	struct pollfd *pfd = calloc(nfds, sizeof(*pfd));
	struct lp_proc **pp = calloc(nfds, sizeof(*pp));
	struct lp_proc *rr = NULL;	/* background round robin */
	/* testing knob: a pause after each background chunk, so that tests can
	 * act while pages are still arriving (Documentation/lazy-pages.md) */
	const char *delay_env = getenv("CRIU_LAZY_BG_DELAY_US");
	long delay = delay_env ? atol(delay_env) : 0;
	bool waiting = false;	/* the background waits for the verifier */

	if (!pfd || !pp)
		return -1;
	for (;;) {
		size_t n = 0, nprocs = 0;
		bool bg = false;

		for (struct lp_proc *p = d->ctx.procs; p; p = p->next)
			nprocs++;
		if (d->had_conn && !nprocs && !d->nr_conns)
			break;
		if (2 + d->nr_conns + 2 * nprocs > nfds) {
			nfds = 2 * (2 + d->nr_conns + 2 * nprocs);
			free(pfd);
			free(pp);
			pfd = calloc(nfds, sizeof(*pfd));
			pp = calloc(nfds, sizeof(*pp));
			if (!pfd || !pp)
				return -1;
		}
		pfd[n++] = (struct pollfd){ d->lfd, POLLIN, 0 };
		for (int i = 0; i < d->nr_conns; i++)
			pfd[n++] = (struct pollfd){ d->conns[i], POLLIN, 0 };
		size_t first_proc = n;
		for (struct lp_proc *p = d->ctx.procs; p; p = p->next) {
			pp[n] = p;
			pfd[n++] = (struct pollfd){ p->uffd, POLLIN, 0 };
			if (p->remaining || p->nr_pending)
				bg = true;
		}
		size_t end_procs = n;
		/* the verifiers' progress (a source may be listed twice: harmless) */
		for (struct lp_proc *p = d->ctx.procs; p; p = p->next)
			if (p->src->evfd >= 0)
				pfd[n++] = (struct pollfd){ p->src->evfd, POLLIN, 0 };
		/* the background's read in flight (remote) */
		size_t bg_fd = n;
		if (d->remote_bg.io.fd >= 0 && d->remote_bg.busy)
			pfd[n++] = (struct pollfd){ d->remote_bg.io.fd, POLLIN, 0 };
		bool pre = d->next_pre < d->nr_pre;
		if (poll(pfd, n, (bg && !waiting) || pre ? 0 : waiting ? 50 : 1000) < 0 && errno != EINTR) {
			pr_perror("poll failed");
			return -1;
		}
		/* (a silent server: the read fails when overdue, and its process with it) */
		if (bg_fd < n && (pfd[bg_fd].revents || ps_client_overdue(&d->remote_bg)))
			lp_source_fetch_recv(&d->remote_bg);	/* failures: the owner's bad, below */
		for (size_t i = end_procs; i < bg_fd; i++) {
			uint64_t cnt;
			if (pfd[i].revents && read(pfd[i].fd, &cnt, sizeof(cnt)) < 0) {
				/* another entry for the same source read it */
			}
		}
		/* faults and events first */
		for (size_t i = first_proc; i < end_procs; i++)
			if (pfd[i].revents || pp[i]->nr_pending)
				lp_proc_events(&d->ctx, pp[i]);
		tell_children(d);
		/* a unit found corrupt: its pages can no longer be had */
		for (struct lp_proc *p = d->ctx.procs; p; p = p->next)
			if (p->state == LP_LIVE && __atomic_load_n(&p->src->bad, __ATOMIC_ACQUIRE))
				lp_proc_fail(&d->ctx, p, "image is corrupt");
		if (pfd[0].revents & POLLIN)
			accept_conn(d);
		for (int i = 0, j = 1; j < (int)first_proc; j++) {
			if (pfd[j].revents) {
				/* the conn leaves the list: it belongs to its process now */
				for (i = 0; i < d->nr_conns && d->conns[i] != pfd[j].fd; i++)
					;
				d->conns[i] = d->conns[--d->nr_conns];
				attach(d, pfd[j].fd);
			}
		}
		/* nothing came: open a source ahead */
		bool came = false;
		for (size_t i = 0; i < first_proc && !came; i++)
			came = pfd[i].revents;
		if (pre && !came && !d->ctx.procs)
			preload_one(d);
		/* then one background chunk, for the next process in turn */
		if (!rr || !rr->next)
			rr = d->ctx.procs;
		else
			rr = rr->next;
		waiting = false;
		for (struct lp_proc *p = rr, *stop = rr; p;) {
			int ret = lp_proc_background(&d->ctx, p);
			if (ret > 0) {
				rr = p;
				waiting = false;
				/* the test knob slows the fill, not the working set's */
				if (delay > 0 && ret != 2)
					usleep(delay);
				break;
			}
			if (ret < 0)
				waiting = true;
			p = p->next ? p->next : d->ctx.procs;
			if (p == stop)
				break;
		}
		/* done, gone or failed: finished with */
		for (struct lp_proc **pl = &d->ctx.procs; *pl;) {
			struct lp_proc *p = *pl;
			if (p->state == LP_LIVE && !p->remaining && !p->nr_pending)
				p->state = LP_DONE;
			if (p->state == LP_LIVE) {
				pl = &p->next;
				continue;
			}
			*pl = p->next;
			if (rr == p)
				rr = NULL;
			finish(d, p);
		}
		progress_update(&d->pr, (d->ctx.st.fault_pages + d->ctx.st.bg_pages) * 4096);
	}
	progress_done(&d->pr);
	free(pfd);
	free(pp);
	return 0;
}

int lazy_pages_main(const struct lazy_opts *o)
{
	struct daemon d = { .o = o, .lfd = -1 };
	struct ps_auth auth = { 0 };
	int ret = 1;

	if (!o->images_dir) {
		pr_err("lazy-pages needs -D DIR");
		return 1;
	}
	d.ctx.granule = o->granule ? o->granule : LAZY_GRANULE_DEFAULT;
	d.remote.io.fd = -1;
	d.remote_bg.io.fd = -1;
	signal(SIGPIPE, SIG_IGN);
	d.dirfd = open(o->images_dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (d.dirfd < 0) {
		pr_perror("cannot open images directory %s", o->images_dir);
		return 1;
	}
	if (o->remote && (ps_auth_init(&o->sec, o->images_dir, false, &auth) ||
			  ps_client_connect(o->address, o->port, &auth, &d.remote) ||
			  ps_client_connect(o->address, o->port, &auth, &d.remote_bg)))
		goto out;
	d.remote.side = o->remote ? &d.remote_bg : NULL;
	d.remote.side_recv = lp_source_fetch_recv;
	if (listen_sock(&d))
		goto out;
	if (o->remote)
		write_remote(&d);
	preload_list(&d);
	pr_info("listening on %s (granule %lu KiB, pages from %s)", d.sa.sun_path,
		(unsigned long)(d.ctx.granule >> 10), o->remote ? d.remote.peer : "the images");
	if (!run(&d))
		ret = 0;
	summary(&d);
out:
	if (d.lfd >= 0) {
		close(d.lfd);
		unlinkat(d.dirfd, LAZY_SOCK_NAME, 0);
		if (o->remote)
			unlinkat(d.dirfd, LAZY_REMOTE_NAME, 0);
	}
	/*
	 * PS_BYE tells the page server that the migration is complete (a
	 * post-copy dump then kills its source): only when every restored
	 * process got all its pages; otherwise the server sees the connection
	 * lost (and a post-copy dump resumes its source)
	 */
	if (o->remote)
		close_remote(&d, !ret && d.nr_done && !d.lost);
	ps_auth_fini(&auth);
	preload_free(&d);
	close(d.dirfd);
	return ret;
}
