/* pages.c - the page library: opening, resolving, reading and checking page images (see pages.h). */
#define LOG_PREFIX "pages: "
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>
#include <xxhash.h>
/* XXH3 in AVX2/AVX-512 where the CPU has it, chosen at run time: 27-33 GB/s against 10 here */
#include <xxh_x86dispatch.h>

#include "common/fdio.h"
#include "common/log.h"
#include "images/pagemap-entry.h"
#include "images/pages.h"

#define VERIFY_CHUNK	(256 << 10)	/* stays in the CPU cache between read and hash */

uint64_t page_xxh3(const void *data, uint64_t len)
{
	return XXH3_64bits(data, len);
}

uint64_t page_xxh3_entry(uint64_t vaddr, const void *data, uint64_t len, uint64_t *parts,
			 size_t *nr_parts)
{
	const uint8_t *d = data;
	uint64_t n = pagemap_nr_parts(vaddr, len / 4096), sum = 0;
	XXH3_state_t *st;

	*nr_parts = 0;
	if (n < 2 || !(st = XXH3_createState()))
		return page_xxh3(data, len);
	/* each part fed to the whole while it is still in the L1 cache: one pass, not two */
	XXH3_64bits_reset(st);
	for (uint64_t k = 0, o = 0; k < n; k++) {
		uint64_t m = pagemap_part_len(vaddr + o, len - o);
		parts[k] = XXH3_64bits(d + o, m);
		XXH3_64bits_update(st, d + o, m);
		o += m;
	}
	sum = XXH3_64bits_digest(st);
	XXH3_freeState(st);
	*nr_parts = n;
	return sum;
}

void *page_xxh3_state_new(void)
{
	return XXH3_createState();
}

void page_xxh3_state_free(void *st)
{
	XXH3_freeState(st);
}

void page_xxh3_begin(struct page_xxh3_stream *s, void *st, uint64_t vaddr, uint64_t len,
		     uint64_t *parts)
{
	*s = (struct page_xxh3_stream){ .st = st, .at = vaddr, .parts = parts,
					.n = pagemap_nr_parts(vaddr, len / 4096) };
	XXH3_64bits_reset(st);
}

/* as page_xxh3_entry's loop: each part hashed alone and fed to the whole while in the L1 cache */
void page_xxh3_feed(struct page_xxh3_stream *s, const void *data, uint64_t len)
{
	const uint8_t *d = data;

	for (uint64_t o = 0; o < len;) {
		uint64_t m = pagemap_part_len(s->at, len - o);
		if (s->n > 1)
			s->parts[s->nr] = XXH3_64bits(d + o, m);
		s->nr++;
		XXH3_64bits_update(s->st, d + o, m);
		o += m;
		s->at += m;
	}
}

uint64_t page_xxh3_end(struct page_xxh3_stream *s, size_t *nr_parts)
{
	*nr_parts = s->n > 1 ? s->n : 0;
	return XXH3_64bits_digest(s->st);
}

static void mismatch(const char *who, uint64_t vaddr, uint64_t len, const char *what)
{
	pr_err("%s: checksum mismatch in pages %lx-%lx%s: image is corrupt", who,
	       (unsigned long)vaddr, (unsigned long)(vaddr + len), what);
}

bool page_unit_check(const struct page_unit *u, const void *data, const char *who)
{
	if (page_xxh3(data, u->nr_pages * 4096) == u->xxh3)
		return true;
	mismatch(who, u->vaddr, u->nr_pages * 4096, "");
	return false;
}

int page_unit_read_check(const struct page_source *ps, const struct page_unit *u, void *buf)
{
	const char *name = ps->images[u->image].pages_name;
	uint64_t len = u->nr_pages * 4096;

	for (uint64_t done = 0; done < len;) {
		ssize_t n = pread(u->fd, (uint8_t *)buf + done, len - done, u->file_off + done);
		if (n <= 0) {
			pr_perror("%s: cannot read pages at %lx", name, (unsigned long)(u->vaddr + done));
			return -1;
		}
		done += n;
	}
	return page_unit_check(u, buf, name) ? 0 : -1;
}

/* run r of img (an own entry) against its XXH3, read a chunk at a time */
static int verify_run(const struct page_image *img, size_t i, uint8_t *buf, XXH3_state_t *st)
{
	const struct page_run *r = &img->runs[i];
	uint64_t len = r->nr_pages * 4096;

	XXH3_64bits_reset(st);
	for (uint64_t done = 0; done < len;) {
		size_t want = len - done < VERIFY_CHUNK ? len - done : VERIFY_CHUNK;
		ssize_t n = pread(img->pages_fd, buf, want, r->file_off + done);
		if (n <= 0) {
			pr_perror("%s: cannot read run %zu", img->pages_name, i);
			return -1;
		}
		XXH3_64bits_update(st, buf, n);
		done += n;
	}
	if (XXH3_64bits_digest(st) != r->xxh3) {
		char what[32];
		snprintf(what, sizeof(what), " (run %zu)", i);
		mismatch(img->pages_name, r->vaddr, len, what);
		return -1;
	}
	return 0;
}

int page_source_verify_filter(const struct page_source *ps,
			      bool (*want)(void *ctx, uint64_t start, uint64_t end), void *ctx)
{
	uint8_t *buf = aligned_alloc(4096, VERIFY_CHUNK);
	XXH3_state_t *st = XXH3_createState();
	int err = -1;

	if (!buf || !st)
		goto out;
	/* the checksums are per pagemap entry, in each image of the chain */
	for (int k = 0; k < ps->nr_images; k++) {
		const struct page_image *img = &ps->images[k];
		if (img->remote)	/* a page server's: checked as it is fetched */
			continue;
		for (size_t i = 0; i < img->nr_runs; i++) {
			const struct page_run *r = &img->runs[i];
			if ((r->flags & PAGEMAP_FLAGS__PM_IN_PARENT) ||
			    (want && !want(ctx, r->vaddr, r->vaddr + r->nr_pages * 4096)))
				continue;
			if (verify_run(img, i, buf, st))
				goto out;
		}
	}
	err = 0;
out:
	XXH3_freeState(st);
	free(buf);
	return err;
}

int page_source_verify(const struct page_source *ps)
{
	return page_source_verify_filter(ps, NULL, NULL);
}

int page_source_units(const struct page_source *ps, size_t extra, struct page_unit **units,
		      size_t *nr)
{
	size_t n = extra;

	for (int k = 0; k < ps->nr_images; k++)
		for (size_t i = 0; i < ps->images[k].nr_runs && !ps->images[k].remote; i++)
			n += ps->images[k].runs[i].nr_parts ? ps->images[k].runs[i].nr_parts : 1;
	struct page_unit *u = calloc(n + 1, sizeof(*u));
	if (!u)
		return -1;
	n = 0;
	for (int k = 0; k < ps->nr_images; k++) {
		const struct page_image *im = &ps->images[k];
		for (size_t i = 0; i < im->nr_runs && !im->remote; i++) {
			const struct page_run *r = &im->runs[i];
			const uint8_t *data = im->map ? im->map + r->file_off : NULL;
			if (r->flags & PAGEMAP_FLAGS__PM_IN_PARENT)
				continue;
			if (!r->nr_parts) {
				u[n++] = (struct page_unit){ r->vaddr, r->nr_pages, r->xxh3, r->file_off, k,
							     im->pages_fd, data };
				continue;
			}
			/* part checksums: a unit per 16 KiB part, checked on its own */
			for (uint64_t p = 0, o = 0; p < r->nr_parts; p++) {
				uint64_t len = pagemap_part_len(r->vaddr + o, r->nr_pages * 4096 - o);
				u[n++] = (struct page_unit){ r->vaddr + o, len / 4096, im->parts[r->part0 + p],
							     r->file_off + o, k, im->pages_fd,
							     data ? data + o : NULL };
				o += len;
			}
		}
	}
	*units = u;
	*nr = n;
	return 0;
}

static int cmp_unit(const void *a, const void *b)
{
	const struct page_unit *x = a, *y = b;
	if (x->image != y->image)
		return x->image < y->image ? -1 : 1;
	return x->vaddr < y->vaddr ? -1 : x->vaddr > y->vaddr;
}

/*
 * The unit of image holding addr, or -1, looked for from *cur on in
 * [*cur, end) (units of one image, in vaddr order): the addresses asked
 * of one image come in increasing order, so the cursor only moves
 * forward (a run of ~100k pieces is cut in one pass, no search).
 */
static long unit_from(const struct page_unit *units, size_t *cur, size_t end, uint64_t addr)
{
	while (*cur < end && units[*cur].vaddr + units[*cur].nr_pages * 4096 <= addr)
		(*cur)++;
	return *cur < end && units[*cur].vaddr <= addr ? (long)*cur : -1;
}

int page_source_cut(struct page_source *ps, struct page_unit *units, size_t nr)
{
	size_t cur[PAGES_MAX_CHAIN + 1], end[PAGES_MAX_CHAIN + 1];

	/* in order already but for a page server's units (appended last) */
	for (size_t i = 1; i < nr; i++)
		if (cmp_unit(&units[i - 1], &units[i]) > 0) {
			qsort(units, nr, sizeof(*units), cmp_unit);
			break;
		}
	/* each image's units: [cur[k], end[k]) */
	for (int k = 0, i = 0; k <= PAGES_MAX_CHAIN; k++) {
		cur[k] = i;
		while ((size_t)i < nr && units[i].image == k)
			i++;
		end[k] = i;
	}
	/* a resolved run is cut where its units end: at most one cut per unit */
	size_t cap = ps->nr_runs + nr, n = 0;
	struct page_run *out = calloc(cap + 1, sizeof(*out));
	if (!out)
		return -1;
	for (size_t i = 0; i < ps->nr_runs; i++) {
		struct page_run r = ps->runs[i];
		while (r.nr_pages) {
			int k = r.image;
			long u = k >= 0 && k < PAGES_MAX_CHAIN ? unit_from(units, &cur[k], end[k], r.vaddr) : -1;
			if (u < 0 || n == cap) {
				pr_err("pid %u: pages at %lx belong to no pagemap entry%s", ps->pid,
				       (unsigned long)r.vaddr, ps->images[r.image].remote ?
				       " of the page server: wrong page server or wrong images" : "");
				free(out);
				return -1;
			}
			const struct page_unit *un = &units[u];
			uint64_t len = (un->vaddr + un->nr_pages * 4096 - r.vaddr) / 4096;
			if (len > r.nr_pages)
				len = r.nr_pages;
			out[n] = r;
			out[n].nr_pages = len;
			out[n++].unit = u;
			r.vaddr += len * 4096;
			r.file_off += len * 4096;
			r.nr_pages -= len;
		}
	}
	free(ps->runs);
	ps->runs = out;
	ps->nr_runs = n;
	return 0;
}

/* the own entry of image k holding addr, or NULL */
static const struct page_run *entry_of(const struct page_image *im, uint64_t addr)
{
	size_t lo = 0, hi = im->nr_runs;

	while (lo < hi) {
		size_t mid = (lo + hi) / 2;
		const struct page_run *r = &im->runs[mid];
		if (addr < r->vaddr)
			hi = mid;
		else if (addr >= r->vaddr + r->nr_pages * 4096)
			lo = mid + 1;
		else
			return r->flags & PAGEMAP_FLAGS__PM_IN_PARENT ? NULL : r;
	}
	return NULL;
}

/* the pagemap's XXH3 of exactly [a, a + len) of image im, or 0 */
static uint64_t part_sum(const struct page_image *im, uint64_t a, uint64_t len)
{
	const struct page_run *e = entry_of(im, a);
	uint64_t end = e ? e->vaddr + e->nr_pages * 4096 : 0;

	if (!e)
		return 0;
	if (!e->nr_parts)	/* one checksum for the whole entry */
		return a == e->vaddr && a + len == end ? e->xxh3 : 0;
	uint64_t k = a / PAGEMAP_PART_BYTES - e->vaddr / PAGEMAP_PART_BYTES;
	uint64_t ps = k ? a / PAGEMAP_PART_BYTES * PAGEMAP_PART_BYTES : e->vaddr;
	if (a != ps || a + len != ps + pagemap_part_len(ps, end - ps) || k >= e->nr_parts)
		return 0;
	return im->parts[e->part0 + k];
}

int page_source_parts(const struct page_source *ps, struct page_unit **parts, size_t *nr)
{
	size_t n = 0;

	for (size_t i = 0; i < ps->nr_runs; i++)
		n += pagemap_nr_parts(ps->runs[i].vaddr, ps->runs[i].nr_pages);
	struct page_unit *u = calloc(n + 1, sizeof(*u));
	if (!u)
		return -1;
	n = 0;
	for (size_t i = 0; i < ps->nr_runs; i++) {
		const struct page_run *r = &ps->runs[i];
		const struct page_image *im = &ps->images[r->image];
		for (uint64_t o = 0; o < r->nr_pages * 4096;) {
			uint64_t len = pagemap_part_len(r->vaddr + o, r->nr_pages * 4096 - o);
			u[n++] = (struct page_unit){ r->vaddr + o, len / 4096,
						     part_sum(im, r->vaddr + o, len), r->file_off + o,
						     r->image, r->fd, NULL };
			o += len;
		}
	}
	*parts = u;
	*nr = n;
	return 0;
}

int page_source_fetch(struct page_source *ps, const struct page_fetch *f,
		      const struct page_unit *parts, size_t n, void *buf)
{
	struct page_image *im = &ps->images[parts[0].image];
	uint64_t start = parts[0].vaddr, len = 0;

	for (size_t i = 0; i < n; i++) {
		if (parts[i].image != parts[0].image || parts[i].vaddr != start + len ||
		    parts[i].file_off != parts[0].file_off + len) {
			pr_err("%s: internal error: parts to fetch at %lx do not follow on", f->who,
			       (unsigned long)parts[i].vaddr);
			return -1;
		}
		len += parts[i].nr_pages * 4096;
	}
	if (!im->remote || !im->fetched || len > PAGEMAP_MAX_RUN * 4096UL) {
		pr_err("%s: internal error: a fetch of %lu bytes at %lx of %s", f->who,
		       (unsigned long)len, (unsigned long)start, im->pages_name);
		return -1;
	}
	if (f->read(f->ctx, ps->pid, start, buf, len))
		return -1;
	for (size_t i = 0; i < n; i++)
		if (parts[i].xxh3 && !page_unit_check(&parts[i], (uint8_t *)buf + (parts[i].vaddr - start),
						      f->who))
			return -1;
	if (pwrite_all(im->pages_fd, buf, len, parts[0].file_off)) {
		pr_perror("%s: cannot keep the pages fetched", f->who);
		return -1;
	}
	for (uint64_t pg = parts[0].file_off / 4096; pg < (parts[0].file_off + len) / 4096; pg++)
		im->fetched[pg / 64] |= 1ULL << (pg % 64);
	return 0;
}

/* are the pages [off, off + len) of remote image im's stand-in fetched? */
static bool all_fetched(const struct page_image *im, uint64_t off, uint64_t len)
{
	for (uint64_t pg = off / 4096; pg < (off + len) / 4096; pg++)
		if (!(im->fetched[pg / 64] & (1ULL << (pg % 64))))
			return false;
	return true;
}

int page_source_map(struct page_source *ps)
{
	for (int k = 0; k < ps->nr_images; k++) {
		struct page_image *im = &ps->images[k];
		struct stat st;
		if (im->remote || im->map)
			continue;
		if (fstat(im->pages_fd, &st)) {
			pr_perror("%s", im->pages_name);
			return -1;
		}
		/* page_source_open checked that every run lies inside its file */
		if (!st.st_size)
			continue;
		void *m = mmap(NULL, st.st_size, PROT_READ, MAP_SHARED, im->pages_fd, 0);
		if (m == MAP_FAILED) {
			pr_perror("%s: cannot map", im->pages_name);
			return -1;
		}
		im->map = m;
		im->map_len = st.st_size;
	}
	return 0;
}

/* one pagemap being read into its page_image (open_image) */
struct image_read {
	struct page_image *img;
	const char *pmname;
	struct page_skip *skip;	/* spans whose entries are checked, not kept */
	size_t nr_skip, k;	/* and the first that may hold the next entry */
	bool count;		/* the newest image: skipped pages counted in skip[].pages */
	int has_parent;
	uint64_t off, prev_end;
	size_t cap, parts_cap;
	uint64_t *scratch;	/* pagemap_entry_decode's, for entries protobuf-c reads */
	size_t scratch_cap;
};

long page_skip_find(const struct page_skip *skip, size_t nr, size_t *k, uint64_t start, uint64_t end)
{
	while (*k < nr && skip[*k].end <= start)
		(*k)++;
	return *k < nr && skip[*k].start <= start && end <= skip[*k].end ? (long)*k : -1;
}

/* room for one more run and n more part checksums */
static int image_grow(struct image_read *x, size_t n)
{
	struct page_image *img = x->img;

	if (img->nr_runs == x->cap) {
		size_t cap = x->cap ? x->cap * 2 : 256;
		struct page_run *r = realloc(img->runs, cap * sizeof(*r));
		if (!r)
			return -1;
		img->runs = r;
		x->cap = cap;
	}
	size_t used = img->nr_runs ? img->runs[img->nr_runs - 1].part0 + img->runs[img->nr_runs - 1].nr_parts : 0;
	if (used + n > x->parts_cap) {
		size_t cap = x->parts_cap ? x->parts_cap * 2 : 256;
		while (cap < used + n)
			cap *= 2;
		uint64_t *p = realloc(img->parts, cap * sizeof(*p));
		if (!p)
			return -1;
		img->parts = p;
		x->parts_cap = cap;
	}
	return 0;
}

/* one entry of the pagemap checked and, unless skipped, added as a run */
static int add_entry(void *arg, const uint8_t *msg, size_t len, size_t i)
{
	struct image_read *x = arg;
	struct page_image *img = x->img;
	struct pm_entry pe;

	if (pagemap_entry_decode(msg, len, &pe, &x->scratch, &x->scratch_cap)) {
		pr_err("%s: entry %zu: cannot decode PagemapEntry", x->pmname, i);
		return -1;
	}
	uint32_t flags = pe.flags;
	bool in_parent = flags & PAGEMAP_FLAGS__PM_IN_PARENT;
	if (pe.vaddr % 4096 || !pe.nr_pages || (pe.nr_pages > PAGEMAP_MAX_RUN && !in_parent) ||
	    pe.vaddr < x->prev_end || pe.vaddr + pe.nr_pages * 4096ULL > (1ULL << 57) ||
	    (flags & ~(uint32_t)PAGEMAP_FLAGS__PM_IN_PARENT)) {
		pr_err("%s: entry %zu (%lx, %u pages) is misaligned, overlapping or out of order",
		       x->pmname, i, (unsigned long)pe.vaddr, pe.nr_pages);
		return -1;
	}
	uint32_t part_pages = pe.has_part_pages ? pe.part_pages : PAGEMAP_PART_PAGES_V1;
	uint64_t want = pagemap_nr_parts_of(pe.vaddr, pe.nr_pages, part_pages);
	if (pe.n_parts && (in_parent || !part_pages || (part_pages & (part_pages - 1)) ||
			   part_pages > PAGEMAP_MAX_RUN || pe.n_parts != want)) {
		pr_err("%s: entry %zu (%lx, %u pages) has %zu part checksums of %u pages, not %lu",
		       x->pmname, i, (unsigned long)pe.vaddr, pe.nr_pages, pe.n_parts, part_pages,
		       part_pages ? (unsigned long)want : 0UL);
		return -1;
	}
	uint64_t end = pe.vaddr + pe.nr_pages * 4096ULL, file_off = x->off;
	x->prev_end = end;
	x->has_parent |= in_parent;
	if (!in_parent)
		x->off += pe.nr_pages * 4096ULL;
	long sk = page_skip_find(x->skip, x->nr_skip, &x->k, pe.vaddr, end);
	if (sk >= 0) {
		x->skip[sk].pages += x->count ? pe.nr_pages : 0;
		return 0;
	}
	/* parts of another size (older dumps): the whole entry is checked instead */
	size_t n_parts = part_pages == PAGEMAP_PART_PAGES ? pe.n_parts : 0;
	if (image_grow(x, n_parts))
		return -1;
	size_t part0 = img->nr_runs ? img->runs[img->nr_runs - 1].part0 + img->runs[img->nr_runs - 1].nr_parts : 0;
	img->runs[img->nr_runs++] = (struct page_run){ pe.vaddr, pe.nr_pages, file_off, pe.xxh3, -1, flags,
						       n_parts, part0, 0, -1 };
	if (n_parts)
		pm_entry_parts(&pe, img->parts + part0);
	return 0;
}

/*
 * reads one image's pagemap (entries in skip spans checked but not kept)
 * and opens its pages file
 */
static int open_image(int dirfd, unsigned pid, const char *prefix, struct page_image *img,
		      struct image_read *x, int remote)
{
	char pmname[80], name[64];
	struct img_hdr h;
	struct stat st;

	img_name(IMG_PAGEMAP, pid, name, sizeof(name));
	snprintf(pmname, sizeof(pmname), "%s%s", prefix, name);
	img_name(IMG_PAGES, pid, name, sizeof(name));
	snprintf(img->pages_name, sizeof(img->pages_name), "%s%s", prefix, name);

	x->img = img;
	x->pmname = pmname;
	x->k = 0;
	x->has_parent = 0;
	x->off = PAGES_DATA_OFFSET;
	x->prev_end = 0;
	x->cap = x->parts_cap = 0;
	int ret = img_read_raw(dirfd, IMG_PAGEMAP, pid, add_entry, x);
	if (ret == -ENOENT)
		pr_err("%s: missing from the images directory", pmname);
	if (ret)
		return -1;
	uint64_t off = x->off;
	img->pages_fd = openat(dirfd, name, O_RDONLY | O_CLOEXEC);
	if (img->pages_fd < 0 && errno == ENOENT && remote) {
		/* not on this host: an empty stand-in of the file's size, for the caller to fill */
		img->remote = 1;
		img->fetched = calloc(off / 4096 / 64 + 1, sizeof(uint64_t));
		img->pages_fd = memfd_create(img->pages_name, MFD_CLOEXEC);
		if (!img->fetched || img->pages_fd < 0 || ftruncate(img->pages_fd, off)) {
			pr_perror("%s: cannot create a stand-in for the remote pages", img->pages_name);
			return -1;
		}
	} else if (img->pages_fd < 0) {
		if (errno == ENOENT)
			pr_err("%s: missing from the images directory (if a page server keeps the pages, "
			       "restore with --lazy-pages --page-server --address A --port P)",
			       img->pages_name);
		else
			pr_perror("cannot open %s", img->pages_name);
		return -1;
	}
	for (size_t i = 0; i < img->nr_runs; i++)
		img->runs[i].fd = img->pages_fd;
	if (img->remote)
		return 0;
	ssize_t n = pread(img->pages_fd, &h, sizeof(h), 0);
	if (img_hdr_check(&h, n < 0 ? 0 : n, IMG_PAGES, img->pages_name) ||
	    img_hdr_bind(dirfd, &h, pid, 0, img->pages_name))
		return -1;
	if (fstat(img->pages_fd, &st)) {
		pr_perror("%s: cannot stat", img->pages_name);
		return -1;
	}
	if ((uint64_t)st.st_size != off) {
		pr_err("%s: %lu bytes, the pagemap needs %lu: image is truncated or corrupt",
		       img->pages_name, (unsigned long)st.st_size, (unsigned long)off);
		return -1;
	}
	return 0;
}

struct run_list {
	size_t nr, cap;
	struct page_run *v;
};

static int run_list_add(struct run_list *l, const struct page_run *r)
{
	if (l->nr == l->cap) {
		l->cap = l->cap ? l->cap * 2 : 256;
		struct page_run *n = realloc(l->v, l->cap * sizeof(*n));
		if (!n)
			return -1;
		l->v = n;
	}
	l->v[l->nr++] = *r;
	return 0;
}

/* appends the data runs for [start, end) as image `level` sees them */
static int resolve(const struct page_source *ps, int level, uint64_t start, uint64_t end,
		   struct run_list *out)
{
	const struct page_image *img = &ps->images[level];
	size_t lo = 0, hi = img->nr_runs;

	while (lo < hi) {	/* first run ending after start */
		size_t mid = (lo + hi) / 2;
		if (img->runs[mid].vaddr + img->runs[mid].nr_pages * 4096 <= start)
			lo = mid + 1;
		else
			hi = mid;
	}
	for (size_t i = lo; i < img->nr_runs && img->runs[i].vaddr < end; i++) {
		const struct page_run *r = &img->runs[i];
		uint64_t s = r->vaddr > start ? r->vaddr : start;
		uint64_t e = r->vaddr + r->nr_pages * 4096;
		if (e > end)
			e = end;
		if (r->flags & PAGEMAP_FLAGS__PM_IN_PARENT) {
			if (level + 1 < ps->nr_images && resolve(ps, level + 1, s, e, out))
				return -1;
			continue;
		}
		struct page_run piece = { s, (e - s) / 4096, r->file_off + (s - r->vaddr), 0, r->fd, 0, 0, 0,
					  level, -1 };
		if (run_list_add(out, &piece))
			return -1;
	}
	return 0;
}

/* the parent directory pfd holds the dump the inventory of cur names as its parent */
static int check_parent(int cur, int pfd, const char *prefix)
{
	Inventory *inv = NULL;
	uint64_t id = 0;
	int err = -1;

	if (img_read_one(cur, IMG_INVENTORY, 0, (ProtobufCMessage **)&inv))
		return -1;
	int ret = img_dir_dump_id(pfd, &id);
	if (ret == -ENOENT)
		pr_err("%sparent/inventory.img: missing: the parent images are not a complete dump",
		       prefix);
	else if (!ret && (!inv->has_parent_dump_id || inv->parent_dump_id != id))
		pr_err("%sparent/inventory.img: of dump %016llx, but %sinventory.img names parent "
		       "%016llx: the parent link leads to another dump", prefix,
		       (unsigned long long)id, prefix, (unsigned long long)inv->parent_dump_id);
	else if (!ret)
		err = 0;
	inventory__free_unpacked(inv, NULL);
	return err;
}

static int open_chain(int dirfd, unsigned pid, int verify, int remote, struct page_skip *skip,
		      size_t nr_skip, struct page_source *ps)
{
	char prefix[80] = "";
	int cur = dirfd, has_parent = 1;
	struct image_read x = { .skip = skip, .nr_skip = nr_skip, .count = true };

	for (size_t i = 0; i < nr_skip; i++)
		skip[i].pages = 0;
	memset(ps, 0, sizeof(*ps));
	ps->pid = pid;
	ps->pages_fd = -1;
	while (has_parent) {
		struct page_image *img = &ps->images[ps->nr_images];
		if (ps->nr_images == PAGES_MAX_CHAIN) {
			pr_err("%s: more than %d parent images", prefix, PAGES_MAX_CHAIN);
			goto err;
		}
		img->pages_fd = -1;
		ps->nr_images++;
		if (open_image(cur, pid, prefix, img, &x, remote))
			goto err;
		x.count = false;
		has_parent = x.has_parent;
		if (!has_parent)
			break;
		int pfd = openat(cur, "parent", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
		if (pfd < 0) {
			pr_perror("%spagemap-%u.img: has pages in the parent image, but %sparent",
				  prefix, pid, prefix);
			goto err;
		}
		if (check_parent(cur, pfd, prefix)) {
			close(pfd);
			goto err;
		}
		if (cur != dirfd)
			close(cur);
		cur = pfd;
		strncat(prefix, "parent/", sizeof(prefix) - strlen(prefix) - 1);
	}
	if (cur != dirfd)
		close(cur);
	cur = dirfd;

	struct run_list l = { 0 };
	if (resolve(ps, 0, 0, ~0ULL, &l)) {
		free(l.v);
		goto err;
	}
	ps->runs = l.v;
	ps->nr_runs = l.nr;
	for (size_t i = 0; i < l.nr; i++)
		ps->nr_pages += l.v[i].nr_pages;
	ps->pages_fd = ps->images[0].pages_fd;
	snprintf(ps->pages_name, sizeof(ps->pages_name), "%s", ps->images[0].pages_name);
	if (verify && page_source_verify(ps))
		goto err;
	free(x.scratch);
	return 0;
err:
	free(x.scratch);
	if (cur != dirfd)
		close(cur);
	page_source_close(ps);
	return -1;
}

int page_source_open(int dirfd, unsigned pid, int verify, struct page_source *ps)
{
	return open_chain(dirfd, pid, verify, 0, NULL, 0, ps);
}

int page_source_open_remote(int dirfd, unsigned pid, struct page_source *ps)
{
	return open_chain(dirfd, pid, 0, 1, NULL, 0, ps);
}

int page_source_open_skip(int dirfd, unsigned pid, int remote, struct page_skip *skip,
			  size_t nr_skip, struct page_source *ps)
{
	return open_chain(dirfd, pid, 0, remote, skip, nr_skip, ps);
}

void page_source_close(struct page_source *ps)
{
	for (int i = 0; i < ps->nr_images; i++) {
		if (ps->images[i].pages_fd >= 0)
			close(ps->images[i].pages_fd);
		if (ps->images[i].map)
			munmap((void *)ps->images[i].map, ps->images[i].map_len);
		free(ps->images[i].runs);
		free(ps->images[i].parts);
		free(ps->images[i].fetched);
	}
	ps->nr_images = 0;
	ps->pages_fd = -1;
	free(ps->runs);
	ps->runs = NULL;
	ps->nr_runs = 0;
}

int page_source_read(const struct page_source *ps, uint64_t addr, void *buf, uint64_t len)
{
	uint8_t *dst = buf;

	while (len) {
		long i = page_source_find(ps, addr);
		if (i < 0)
			return -ENOENT;
		const struct page_run *r = &ps->runs[i];
		uint64_t in_run = r->vaddr + r->nr_pages * 4096 - addr;
		uint64_t n = len < in_run ? len : in_run;
		uint64_t off = r->file_off + (addr - r->vaddr);
		const struct page_image *im = &ps->images[r->image];
		if (im->remote && !all_fetched(im, off, n)) {
			pr_err("%s: pages at %lx are on the page server, not fetched", im->pages_name,
			       (unsigned long)addr);
			return -EIO;
		}
		for (uint64_t done = 0; done < n;) {
			ssize_t got = pread(r->fd, dst + done, n - done, off + done);
			if (got <= 0) {
				pr_perror("%s: cannot read pages at %lx", ps->pages_name,
					  (unsigned long)(addr + done));
				return -EIO;
			}
			done += got;
		}
		dst += n;
		addr += n;
		len -= n;
	}
	return 0;
}

long page_source_find(const struct page_source *ps, uint64_t addr)
{
	size_t lo = 0, hi = ps->nr_runs;
	while (lo < hi) {
		size_t mid = (lo + hi) / 2;
		const struct page_run *r = &ps->runs[mid];
		if (addr < r->vaddr)
			hi = mid;
		else if (addr >= r->vaddr + r->nr_pages * 4096)
			lo = mid + 1;
		else
			return mid;
	}
	return -1;
}
