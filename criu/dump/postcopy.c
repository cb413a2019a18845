/*
 * postcopy.c - `criu dump --lazy-pages --address A --port P`: post-copy live
 * migration.  The dump writes every image but the pages (pagemap-PID.img
 * still says which pages exist, without checksums: the memory is not read
 * at dump time), leaves the process frozen, and serves its memory straight
 * from it (process_vm_readv; /proc/PID/mem for pages it cannot read), each
 * reply with the XXH3 of its data, over the page-server protocol (pagexfer/page-server.h) to the restore side:
 * `criu restore --lazy-pages --page-server` and its lazy-pages daemon.
 *
 * Only a client that authenticates (ps-sec.h: the token DIR/ps-token, made
 * here, or TLS) is served or heard.  The end: when the daemon says PS_BYE (every page of every restored
 * process is in place, or the program ended there) the caller kills the
 * source.  SIGINT or SIGTERM to the dump counts as a lost connection.  If
 * the daemon reports a failure (PS_ABORT), or the connection is lost while
 * some page was never sent (the copy cannot have run on: it is killed when
 * it misses a page), the dump fails like any other: the caller resumes the
 * process untouched and marks the images incomplete.  Nothing is lost.  A
 * connection lost after every page was sent is ambiguous (the copy may be
 * complete, its PS_BYE lost): the caller leaves the source stopped, never
 * two copies running.
 *
 * Serves what the written pagemaps say, for every process of the dumped
 * tree (a table keyed by pid); every read is checked against them, so
 * nothing but the dumped pages of the dumped processes is ever sent.  On a
 * chain of pre-dumps (--prev-images-dir, dump --iterative) only the pages
 * written since the last pre-dump are served: the restore host has the
 * pre-dumps' images and reads the rest from them.
 */
#define LOG_PREFIX "dump: "
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/uio.h>
#include <unistd.h>

#include "common/clock.h"
#include "criu/dump/dump.h"
#include "common/log.h"
#include "pagexfer/page-server.h"
#include "images/pages.h"

struct live_proc {
	pid_t pid;
	int memfd;		/* /proc/PID/mem */
	size_t nr;
	struct ps_run *runs;	/* from pagemap-PID.img, sorted */
	uint64_t *first;	/* per run: the index of its first page among all runs' pages */
	uint64_t *sent;		/* bitmap over those pages: sent at least once */
	uint64_t unsent;	/* pages never sent yet */
	uint64_t total;		/* pages to send */
};

struct live {
	int nr;
	struct live_proc *procs;
};

int dump_lazy_check(const struct opts *o, bool pre)
{
	const char *bad = pre ? "pre-dump" : o->leave_running ? "--leave-running" : NULL;

	if (bad) {
		pr_err("dump --lazy-pages (post-copy) cannot be combined with %s", bad);
		return -1;
	}
	if (!o->port) {
		pr_err("dump --lazy-pages needs --port PORT (and --address ADDR) to serve the memory on");
		return -1;
	}
	return 0;
}

static volatile sig_atomic_t stop;

static void on_signal(int sig)
{
	(void)sig;
	stop = 1;
}

static struct live_proc *find(struct live *l, unsigned pid)
{
	for (int i = 0; i < l->nr; i++)
		if ((unsigned)l->procs[i].pid == pid)
			return &l->procs[i];
	return NULL;
}

static int live_map(void *ctx, unsigned pid, struct ps_run **out, size_t *nr)
{
	struct live_proc *lp = find(ctx, pid);

	if (!lp) {
		pr_err("the restore asks for pid %u, which this dump does not serve", pid);
		return ENOENT;
	}
	*out = malloc((lp->nr + 1) * sizeof(**out));
	if (!*out)
		return ENOMEM;
	memcpy(*out, lp->runs, lp->nr * sizeof(**out));
	*nr = lp->nr;
	return 0;
}

/* the first run ending after addr */
static size_t run_after(const struct live_proc *lp, uint64_t addr)
{
	size_t lo = 0, hi = lp->nr;

	while (lo < hi) {
		size_t mid = (lo + hi) / 2;
		if (lp->runs[mid].vaddr + lp->runs[mid].nr_pages * 4096 <= addr)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

/* is every page of [addr, addr+len) in a run? */
static bool covered(const struct live_proc *lp, uint64_t addr, uint64_t len)
{
	uint64_t end = addr + len;

	for (size_t i = run_after(lp, addr); i < lp->nr && addr < end; i++) {
		if (lp->runs[i].vaddr > addr)
			return false;
		addr = lp->runs[i].vaddr + lp->runs[i].nr_pages * 4096;
	}
	return addr >= end;
}

/* [addr, addr+len) (covered) was sent */
static void mark_sent(struct live_proc *lp, uint64_t addr, uint64_t len)
{
	uint64_t end = addr + len;

	for (size_t i = run_after(lp, addr); i < lp->nr && addr < end; i++) {
		const struct ps_run *r = &lp->runs[i];
		uint64_t e = r->vaddr + r->nr_pages * 4096 < end ? r->vaddr + r->nr_pages * 4096 : end;
		for (; addr < e; addr += 4096) {
			uint64_t b = lp->first[i] + (addr - r->vaddr) / 4096;
			if (!(lp->sent[b / 64] & (1ULL << (b % 64)))) {
				lp->sent[b / 64] |= 1ULL << (b % 64);
				lp->unsent--;
			}
		}
	}
}

static bool live_all_sent(void *ctx)
{
	const struct live *l = ctx;

	for (int i = 0; i < l->nr; i++)
		if (l->procs[i].unsent)
			return false;
	return true;
}

static int live_read(void *ctx, unsigned pid, uint64_t addr, void *buf, uint64_t len)
{
	struct live_proc *lp = find(ctx, pid);
	struct iovec local = { buf, len }, remote = { (void *)addr, len };
	uint64_t got = 0;

	if (!lp || !covered(lp, addr, len)) {
		pr_err("pid %u: pages %lx-%lx are not all dumped pages: refused", pid,
		       (unsigned long)addr, (unsigned long)(addr + len));
		return ENOENT;
	}
	ssize_t n = process_vm_readv(lp->pid, &local, 1, &remote, 1, 0);
	if (n > 0)
		got = n;
	/* what it cannot read that way (PROT_NONE, ...) comes through /proc/PID/mem */
	while (got < len) {
		n = pread(lp->memfd, (uint8_t *)buf + got, len - got, addr + got);
		if (n <= 0) {
			pr_perror("pid %u: cannot read its memory at %lx", pid, (unsigned long)(addr + got));
			return EIO;
		}
		got += n;
	}
	mark_sent(lp, addr, len);
	return 0;
}

/*
 * The runs to serve: the resolved runs of the dump's chain (with no
 * parent: its pagemap's entries), each with the image holding its newest
 * data (0: this dump, whose pages are only in the process).  Runs of a
 * parent (--prev-images-dir, dump --iterative: not written since the last
 * pre-dump) are served from the process's memory too if asked (the same
 * data), for a restore host without the pre-dumps' pages, but do not count
 * among the pages that must be sent: a host with the pre-dumps reads them
 * there.
 */
static int load_proc(int dirfd, pid_t pid, struct live_proc *lp)
{
	struct page_source ps;
	char path[64];

	lp->pid = pid;
	snprintf(path, sizeof(path), "/proc/%d/mem", pid);
	lp->memfd = open(path, O_RDONLY | O_CLOEXEC);
	if (lp->memfd < 0) {
		pr_perror("pid %d: cannot open its memory", pid);
		return -1;
	}
	struct page_unit *parts = NULL;
	size_t n = 0;
	if (page_source_open_remote(dirfd, pid, &ps))
		return -1;
	/* the map is cut into parts as any page server's (a fault then fetches 16 KiB) */
	if (page_source_parts(&ps, &parts, &n)) {
		page_source_close(&ps);
		return -1;
	}
	lp->runs = calloc(n + 1, sizeof(*lp->runs));
	lp->first = calloc(n + 1, sizeof(*lp->first));
	lp->sent = calloc(ps.nr_pages / 64 + 1, sizeof(*lp->sent));
	if (!lp->runs || !lp->first || !lp->sent) {
		free(parts);
		page_source_close(&ps);
		return -1;
	}
	/*
	 * With no checksums: the memory was never read at dump time (that
	 * would cost the program the time of a full copy); each reply
	 * carries the XXH3 of its data instead (PS_MAP_UNHASHED).
	 */
	for (size_t i = 0; i < n; i++) {
		lp->first[lp->nr] = lp->unsent;
		lp->runs[lp->nr++] = (struct ps_run){ parts[i].vaddr, parts[i].nr_pages, 0 };
		lp->unsent += parts[i].nr_pages;
	}
	free(parts);
	/* a parent's runs: as if sent already */
	for (size_t i = 0; i < ps.nr_runs; i++)
		if (ps.runs[i].image > 0)
			mark_sent(lp, ps.runs[i].vaddr, ps.runs[i].nr_pages * 4096);
	page_source_close(&ps);
	lp->total = lp->unsent;
	return 0;
}

int dump_lazy_serve(const struct opts *o, const struct dump_tree *t, int dirfd)
{
	struct live l = { 0 };
	struct ps_backend b = { .ctx = &l, .map = live_map, .read = live_read,
				.map_flags = PS_MAP_UNHASHED, .all_sent = live_all_sent, .stop = &stop };
	/* SIGINT, SIGTERM: the dump fails and resumes the source, as when the restore is lost */
	struct sigaction sa = { .sa_handler = on_signal }, old_int, old_term;
	double t0 = clock_now_ms();
	pid_t root = t->procs[0].pid;
	struct ps_auth auth = { 0 };
	int lfd = -1, err = -1;

	signal(SIGPIPE, SIG_IGN);
	sigemptyset(&sa.sa_mask);
	sigaction(SIGINT, &sa, &old_int);
	sigaction(SIGTERM, &sa, &old_term);
	l.procs = calloc(t->nr + 1, sizeof(*l.procs));
	if (!l.procs)
		return -1;
	for (size_t i = 0; i < t->nr; i++) {
		if (t->procs[i].zombie)
			continue;	/* no memory */
		l.procs[l.nr].memfd = -1;
		if (load_proc(dirfd, t->procs[i].pid, &l.procs[l.nr++]))
			goto out;
	}
	/* (the token, DIR/ps-token, is made here: the restore side needs a copy) */
	if (ps_auth_init(&o->ps_sec, o->images_dir, true, &auth))
		goto out;
	auth.dump_id = t->dump_id;	/* only a restore of these images is served */
	lfd = ps_listen(o->address, o->port);
	if (lfd < 0)
		goto out;
	ps_status_ready(&(int){ o->status_fd });
	pr_info("pid %d: frozen; serving the memory of %d process(es) on %s:%d until the restore "
		"has it all", root, l.nr, o->address ? o->address : "127.0.0.1", o->port);
	/* and the step of the RPC (runc >= CRIU 3.15 waits for it, not for status_fd) */
	if (cr_notify(o, "status-ready", 0, -1))
		goto out;
	int served = ps_serve(lfd, &b, &auth);
	if (served > 0) {
		pr_err("pid %d: the restore had every page when its connection was lost, and did not "
		       "say it was done: the restored copy may be running; the source is left stopped "
		       "(SIGSTOP): kill -CONT resumes it, kill -KILL ends it", root);
		err = 1;
		goto out;
	}
	if (served) {
		pr_err("pid %d: the restore did not get every page (connection lost or restore failed): "
		       "the process is resumed, nothing is lost", root);
		goto out;
	}
	uint64_t sent = 0;
	for (int i = 0; i < l.nr; i++)
		sent += l.procs[i].total - l.procs[i].unsent;
	pr_info("pid %d: the restore is complete (%.1f ms of serving, served %lu pages): the source goes",
		root, clock_now_ms() - t0, (unsigned long)sent);
	err = 0;
out:
	sigaction(SIGINT, &old_int, NULL);
	sigaction(SIGTERM, &old_term, NULL);
	if (lfd >= 0)
		close(lfd);
	ps_auth_fini(&auth);
	for (int i = 0; i < l.nr; i++) {
		if (l.procs[i].memfd >= 0)
			close(l.procs[i].memfd);
		free(l.procs[i].runs);
		free(l.procs[i].first);
		free(l.procs[i].sent);
	}
	free(l.procs);
	return err;
}
