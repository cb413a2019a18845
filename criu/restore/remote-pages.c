/*
 * remote-pages.c - `criu restore --lazy-pages --page-server`: every page
 * comes from the page server, so the restore host needs the pagemaps but
 * not the pages files (Documentation/lazy-pages.md).  The page source is
 * opened with empty stand-ins for the pages files (page_source_open_remote);
 * once the restorer's plan says which memory is lazy, the pages it fills
 * eagerly (private file mappings, shared memory, never-writable and
 * wipe-on-fork mappings) are fetched here, checked against the XXH3 of
 * their run, and written into the stand-ins, from which the restorer reads
 * them as from local images.  The lazy ones are left to the daemon.
 *
 * The server's map must be the pagemap's, run for run (and checksum for
 * checksum when the image has no parent): a wrong server or wrong images
 * are refused before anything is created.
 */
#define LOG_PREFIX "restore: "
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <xxhash.h>

#include "clock.h"
#include "log.h"
#include "remote.h"
#include "restore.h"

bool rst_remote_pages(const struct opts *o)
{
	return o->lazy_pages && (o->page_server || o->address);
}

static bool is_lazy(const struct restore_args *a, uint64_t start, uint64_t end)
{
	for (uint32_t k = 0; k < a->nr_lazy; k++)
		if (start >= a->lazy[k].start && end <= a->lazy[k].end)
			return true;
	return false;
}

static int write_all_at(int fd, const uint8_t *b, uint64_t len, uint64_t off)
{
	while (len) {
		ssize_t n = pwrite(fd, b, len, off);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return -1;
		b += n;
		off += n;
		len -= n;
	}
	return 0;
}

static int check_map(const struct ps_client *c, const struct rst_proc *p, const struct ps_run *runs,
		     size_t nr)
{
	const struct page_source *ps = &p->pages;

	if (nr != ps->nr_runs) {
		pr_err("page server %s: pid %d has %zu runs of pages there, %zu in pagemap-%d.img: "
		       "wrong page server or wrong images", c->peer, p->pid, nr, ps->nr_runs, p->pid);
		return -1;
	}
	for (size_t i = 0; i < nr; i++) {
		const struct page_run *r = &ps->runs[i];
		/* with no parent image the resolved runs are the pagemap's entries */
		bool own = ps->nr_images == 1;
		if (runs[i].vaddr != r->vaddr || runs[i].nr_pages != r->nr_pages ||
		    (own && runs[i].xxh3 != ps->images[0].runs[i].xxh3)) {
			pr_err("page server %s: pid %d: run %zu (%lx, %lu pages) differs from "
			       "pagemap-%d.img's: wrong page server or wrong images", c->peer, p->pid, i,
			       (unsigned long)runs[i].vaddr, (unsigned long)runs[i].nr_pages, p->pid);
			return -1;
		}
	}
	return 0;
}

int rst_remote_fetch(const struct opts *o, const struct rst_proc *p, const struct restore_args *a)
{
	struct ps_client c;
	struct ps_run *runs = NULL;
	size_t nr = 0;
	uint64_t pages = 0;
	uint8_t *buf = aligned_alloc(4096, PAGEMAP_MAX_RUN * 4096UL);
	double t0 = clock_now_ms();
	int err = -1;

	if (!buf)
		return -1;
	if (!o->port) {
		pr_err("--page-server needs --port PORT (and --address ADDR)");
		goto out_free;
	}
	if (ps_client_connect(o->address ? o->address : "127.0.0.1", o->port, &c))
		goto out_free;
	if (ps_client_map(&c, p->pid, &runs, &nr) || check_map(&c, p, runs, nr))
		goto out;
	for (size_t i = 0; i < nr; i++) {
		const struct page_run *r = &p->pages.runs[i];
		uint64_t len = r->nr_pages * 4096;
		if (is_lazy(a, r->vaddr, r->vaddr + len))
			continue;
		if (len > PAGEMAP_MAX_RUN * 4096UL || ps_client_read(&c, p->pid, r->vaddr, buf, len))
			goto out;
		if (XXH3_64bits(buf, len) != runs[i].xxh3) {
			pr_err("page server %s: pid %d: checksum mismatch in pages %lx-%lx: the pages "
			       "are corrupt", c.peer, p->pid, (unsigned long)r->vaddr,
			       (unsigned long)(r->vaddr + len));
			goto out;
		}
		if (write_all_at(r->fd, buf, len, r->file_off)) {
			pr_perror("pid %d: cannot keep the pages fetched from the page server", p->pid);
			goto out;
		}
		pages += r->nr_pages;
	}
	pr_info("pid %d: %lu eager pages fetched from the page server %s in %.1f ms", p->pid,
		(unsigned long)pages, c.peer, clock_now_ms() - t0);
	err = 0;
out:
	/* no verdict: the daemon says whether the migration is complete */
	ps_client_close(&c, err ? 0 : PS_CLOSE);
out_free:
	free(runs);
	free(buf);
	return err;
}
