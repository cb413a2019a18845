/*
 * remote-pages.c - `criu restore --lazy-pages --page-server`: the pages
 * come from the page server, so the restore host needs the pagemaps but
 * not the pages files (Documentation/lazy-pages.md); those of an
 * incremental chain's images that it has are read here instead.  The page
 * source is opened with empty stand-ins for the pages files it has not
 * (page_source_open_remote);
 * once the restorer's plan says which memory is lazy, the pages it fills
 * eagerly (private file mappings, shared memory, never-writable and
 * wipe-on-fork mappings) are fetched here through the page library's
 * page server backend (page_source_fetch, with this connection's reads),
 * checked against the XXH3 of each 16 KiB part (and of each reply: for a
 * post-copy dump's live memory, PS_MAP_UNHASHED, the only check), and
 * written into the stand-ins, from which the restorer reads them as from
 * local images.  Runs of local images are not fetched (restore.c checks
 * them).  The lazy ones are left to the daemon.
 *
 * The server's map must be the pagemap's, part for part (and checksum for
 * checksum where the pagemap has the part's): a wrong server or wrong
 * images are refused before anything is created.
 */
#define LOG_PREFIX "restore: "
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/clock.h"
#include "common/log.h"
#include "pagexfer/ps-client.h"
#include "criu/restore/restore.h"

bool rst_remote_pages(const struct opts *o)
{
	return o->lazy_pages && (o->page_server || o->address);
}



/*
 * The server's map is the resolved runs cut into 16 KiB parts (aligned in
 * the address space): ours cut the same way (page_source_parts), part for
 * part, and checksum for checksum where our pagemap has that part's.
 */
static int check_map(const struct ps_client *c, const struct rst_proc *p, const struct ps_run *runs,
		     size_t nr, bool unhashed, const struct page_unit *parts, size_t nr_parts)
{
	size_t j;

	for (j = 0; j < nr_parts; j++) {
		const struct page_unit *u = &parts[j];
		if (j == nr || runs[j].vaddr != u->vaddr || runs[j].nr_pages != u->nr_pages ||
		    (!unhashed && u->xxh3 && runs[j].xxh3 != u->xxh3)) {
			uint64_t a = j < nr ? runs[j].vaddr : u->vaddr;
			pr_err("page server %s: pid %d: its pages at %lx differ from pagemap-%d.img's: "
			       "wrong page server or wrong images", c->peer, p->pid, (unsigned long)a, p->pid);
			return -1;
		}
	}
	if (j != nr) {
		pr_err("page server %s: pid %d has pages at %lx that pagemap-%d.img has not: "
		       "wrong page server or wrong images", c->peer, p->pid,
		       (unsigned long)runs[j].vaddr, p->pid);
		return -1;
	}
	return 0;
}

/*
 * the server's parts and ours, but those inside the memory left to the
 * daemon (p->lazy_skip): the page source has none of its runs, so neither
 * side's parts of it are compared here (the daemon checks them)
 */
static void drop_skipped(const struct rst_proc *p, struct ps_run *runs, size_t *nr,
			 struct page_unit *parts, size_t *nr_parts)
{
	size_t n = 0, k = 0;

	for (size_t j = 0; j < *nr; j++)
		if (page_skip_find(p->lazy_skip, p->nr_lazy_skip, &k, runs[j].vaddr,
				   runs[j].vaddr + runs[j].nr_pages * 4096ULL) < 0)
			runs[n++] = runs[j];
	*nr = n;
	n = k = 0;
	for (size_t j = 0; j < *nr_parts; j++)
		if (page_skip_find(p->lazy_skip, p->nr_lazy_skip, &k, parts[j].vaddr,
				   parts[j].vaddr + parts[j].nr_pages * 4096ULL) < 0)
			parts[n++] = parts[j];
	*nr_parts = n;
}

/* the page library's page server backend: reads through the client c */
static int fetch_read(void *ctx, unsigned pid, uint64_t addr, void *buf, uint64_t len)
{
	return ps_client_read(ctx, pid, addr, buf, len);
}

int rst_remote_fetch(const struct opts *o, struct rst_proc *p, const struct restore_args *a)
{
	struct ps_client c = { .io = { -1, NULL } };
	struct ps_auth auth;
	struct ps_run *runs = NULL;
	size_t nr = 0, nr_parts = 0;
	struct page_unit *parts = NULL;
	uint32_t flags = 0;
	uint64_t pages = 0, here = 0;
	uint8_t *buf = aligned_alloc(4096, PAGEMAP_MAX_RUN * 4096UL);
	double t0 = clock_now_ms();
	char who[128];
	int err = -1;

	if (!buf)
		return -1;
	if (!o->port) {
		pr_err("--page-server needs --port PORT (and --address ADDR)");
		goto out_free;
	}
	if (ps_auth_init(&o->ps_sec, o->images_dir, false, &auth))
		goto out_free;
	err = ps_client_connect(o->address ? o->address : "127.0.0.1", o->port, &auth, &c);
	ps_auth_fini(&auth);
	if (err) {
		err = -1;
		goto out_free;
	}
	err = -1;
	if (ps_client_map(&c, p->pid, &runs, &nr, &flags))
		goto out;
	snprintf(who, sizeof(who), "page server %s: pid %d", c.peer, p->pid);
	struct page_fetch f = { &c, fetch_read, who };
	if (page_source_parts(&p->pages, &parts, &nr_parts))
		goto out;
	drop_skipped(p, runs, &nr, parts, &nr_parts);
	if (check_map(&c, p, runs, nr, flags & PS_MAP_UNHASHED, parts, nr_parts))
		goto out;
	for (size_t j = 0; j < nr; j++) {
		const struct page_unit *u = &parts[j];
		uint64_t len = runs[j].nr_pages * 4096;
		uint64_t hot = 0;
		int how = rst_lazy_eager(a, runs[j].vaddr, runs[j].vaddr + len, &hot);
		if (how == RST_LAZY)
			continue;
		/* an image this host has: the restorer reads it, restore.c checks it */
		if (!p->pages.images[u->image].remote) {
			here += how == RST_HOT ? hot / 4096 : runs[j].nr_pages;
			continue;
		}
		/* the parts of one image's data that follow on, read at once (of a lazy range: the hot part alone) */
		size_t k = j;
		uint64_t span = len;
		/* the server's checksum of each (none for live memory: PS_MAP_UNHASHED) */
		parts[j].xxh3 = flags & PS_MAP_UNHASHED ? 0 : runs[j].xxh3;
		while (how == RST_EAGER && k + 1 < nr && parts[k + 1].image == u->image &&
		       parts[k + 1].vaddr == u->vaddr + span && parts[k + 1].file_off == u->file_off + span &&
		       span + parts[k + 1].nr_pages * 4096 <= PAGEMAP_MAX_RUN * 4096UL &&
		       rst_lazy_eager(a, parts[k + 1].vaddr, parts[k + 1].vaddr + parts[k + 1].nr_pages * 4096,
				      NULL) == RST_EAGER) {
			span += parts[++k].nr_pages * 4096;
			parts[k].xxh3 = flags & PS_MAP_UNHASHED ? 0 : runs[k].xxh3;
		}
		/* checked part by part, kept where the restorer reads them (the stand-in) */
		if (page_source_fetch(&p->pages, &f, parts + j, k - j + 1, buf))
			goto out;
		/* (a hot part: the pages the restorer takes; the daemon copies the rest) */
		pages += how == RST_HOT ? hot / 4096 : span / 4096;
		j = k;
	}
	pr_info("pid %d: %lu eager pages fetched from the page server %s in %.1f ms, %lu in "
		"local images", p->pid, (unsigned long)pages, c.peer, clock_now_ms() - t0,
		(unsigned long)here);
	err = 0;
out:
	/* no verdict: the daemon says whether the migration is complete */
	/* a failed fetch fails the restore, which kills what it made */
	ps_client_close(&c, err ? PS_ABORT : PS_CLOSE);
out_free:
	free(parts);
	free(runs);
	free(buf);
	return err;
}
