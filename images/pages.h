/*
 * pages.h - page images: pagemap-PID.img (runs of pages with XXH3
 * checksums, or runs to take from the parent image) and pages-PID.img (the
 * raw data, page aligned after a header page).
 *
 * The page library: every consumer of page data (full restore and the
 * restorer's arguments, the eager pages of a lazy restore, the lazy-pages
 * daemon, the page server, `criu show`) locates, reads and verifies pages
 * through struct page_source, and this file is the one place that computes
 * and checks the XXH3 of page data (page_xxh3, page_unit_check; also for
 * the page-server protocol's replies).  A page source is the chain of an
 * image and its parents (incremental dumps, the parent chain backend),
 * resolved into one sorted list of runs, each naming the image that holds
 * its newest data.  The data is in units of checksummed data (struct
 * page_unit: a pagemap entry, or a 16 KiB part of one); they are read
 * from the pages file (pread: the image file backend) or from its mapping
 * (page_source_map: the mapped image backend), or, for an image whose
 * pages file this host has not, fetched from a page server (the remote
 * backend: page_source_open_remote's stand-ins filled by page_source_fetch
 * through a struct page_fetch; pagexfer/ is the transport).
 */
#ifndef IMAGES_PAGES_H
#define IMAGES_PAGES_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "images/image.h"

#define PAGES_DATA_OFFSET	4096UL	/* first page of data in pages-PID.img */
#define PAGEMAP_MAX_RUN		512	/* pages per pagemap entry (2 MiB) */
#define PAGES_MAX_CHAIN		64	/* images in a chain of parents */
/*
 * part_xxh3: 16 KiB parts, aligned in the address space.  The first fault
 * on a part reads and hashes it before any page of it is served: 16 KiB
 * costs ~3 us here, 64 KiB (the first dumps with parts) ~12 us.
 */
#define PAGEMAP_PART_PAGES	4
#define PAGEMAP_PART_PAGES_V1	16	/* part_pages absent from an entry */
#define PAGEMAP_PART_BYTES	(PAGEMAP_PART_PAGES * 4096ULL)

/* the bytes of the part starting at addr, of at most left bytes */
static inline uint64_t pagemap_part_len(uint64_t addr, uint64_t left)
{
	uint64_t n = PAGEMAP_PART_BYTES - addr % PAGEMAP_PART_BYTES;
	return n < left ? n : left;
}

/* how many parts of part_pages pages a run of nr_pages at vaddr is cut into */
static inline uint64_t pagemap_nr_parts_of(uint64_t vaddr, uint64_t nr_pages, uint64_t part_pages)
{
	uint64_t bytes = part_pages * 4096;
	if (!bytes)
		return 0;
	return (vaddr + nr_pages * 4096 - 1) / bytes - vaddr / bytes + 1;
}

/* how many parts a run of nr_pages at vaddr is cut into (1: no part_xxh3) */
static inline uint64_t pagemap_nr_parts(uint64_t vaddr, uint64_t nr_pages)
{
	return pagemap_nr_parts_of(vaddr, nr_pages, PAGEMAP_PART_PAGES);
}

struct page_run {
	uint64_t vaddr;
	uint64_t nr_pages;
	uint64_t file_off;	/* offset of the run's data in its pages file */
	uint64_t xxh3;		/* of the whole pagemap entry (own runs only) */
	int fd;			/* the pages file holding the data */
	uint32_t flags;		/* PAGEMAP_FLAGS__PM_IN_PARENT (own runs only) */
	uint32_t nr_parts;	/* own runs: part checksums (0: none), from parts[part0] */
	size_t part0;
	int image;		/* resolved runs: the image of the chain holding the data */
	long unit;		/* resolved runs cut by page_source_cut: the unit holding it */
};

/* one image of the chain: its own pagemap, as written */
struct page_image {
	int pages_fd;
	uint64_t *fetched;	/* remote: a bit per page of the stand-in, set as fetched */
	const uint8_t *map;	/* page_source_map: the pages file mapped read-only, or NULL */
	uint64_t map_len;
	int remote;		/* pages_fd is a stand-in, to be filled from a page server */
	char pages_name[80];	/* "pages-PID.img", or "parent/.../pages-PID.img" */
	size_t nr_runs;
	struct page_run *runs;
	uint64_t *parts;	/* the part_xxh3 of every run, one after another */
};

struct page_source {
	unsigned pid;
	int pages_fd;		/* the newest image's pages file */
	char pages_name[80];
	size_t nr_runs;
	struct page_run *runs;	/* resolved data runs, sorted by vaddr */
	uint64_t nr_pages;	/* pages with data */
	int nr_images;
	struct page_image images[PAGES_MAX_CHAIN];	/* [0] is the newest */
};

/*
 * Opens pagemap-PID.img and pages-PID.img of dirfd and, when runs are in
 * the parent, of dirfd/parent and so on; checks headers, that the runs are
 * sorted, page aligned and non-overlapping, and that each pages file is
 * large enough.  With verify, also checks every run's XXH3.
 */
int page_source_open(int dirfd, unsigned pid, int verify, struct page_source *ps);
/*
 * The same for pages kept by a page server: an image of the chain whose
 * pages-PID.img is on this host is opened as above (its pages are read
 * here); for any other only the pagemap is read, and its pages file is an
 * empty memfd of the size it would have (images[k].remote), for the
 * caller to fill with the pages it needs (at the runs' file_off).
 */
int page_source_open_remote(int dirfd, unsigned pid, struct page_source *ps);
/*
 * A span of the address space whose pages the caller leaves to another
 * (a lazy restore: the lazy-pages daemon serves them).  pages: how many
 * the newest image lists in it, set by page_source_open_skip.
 */
struct page_skip {
	uint64_t start, end;
	uint64_t pages;
};
/*
 * page_source_open or, with remote, page_source_open_remote, but every
 * pagemap entry lying inside one of skip[0..nr_skip) (sorted, disjoint)
 * is checked as any other and then left out: the source's runs are those
 * of the rest.  Only entries become cheaper, not the checks: the chain's
 * headers, order, parents and pages files are checked all the same.
 */
int page_source_open_skip(int dirfd, unsigned pid, int remote, struct page_skip *skip,
			  size_t nr_skip, struct page_source *ps);
/*
 * The span of skip[0..nr) that holds all of [start, end), or -1; *k is a
 * cursor for calls in ascending address order (start it at 0)
 */
long page_skip_find(const struct page_skip *skip, size_t nr, size_t *k, uint64_t start, uint64_t end);
void page_source_close(struct page_source *ps);
/* checks every data run's XXH3 in every image of the chain; thread-safe */
int page_source_verify(const struct page_source *ps);
/*
 * The same for the pagemap entries of local images (not those a page
 * server keeps) that want(ctx, start, end) keeps (NULL: all); thread-safe
 */
int page_source_verify_filter(const struct page_source *ps,
			      bool (*want)(void *ctx, uint64_t start, uint64_t end), void *ctx);

/* ---- units of checksummed data */

/*
 * The XXH3-64 of page data: the one place that computes it (in AVX2 or
 * AVX-512 where the CPU has them, chosen at run time)
 */
uint64_t page_xxh3(const void *data, uint64_t len);
/*
 * The checksums a pagemap entry of len bytes at vaddr carries, in one pass
 * over data: its 16 KiB parts (parts[], *nr_parts of them, at most
 * PAGEMAP_MAX_RUN / PAGEMAP_PART_PAGES + 1; 0 when the entry is one part)
 * and the whole (returned)
 */
uint64_t page_xxh3_entry(uint64_t vaddr, const void *data, uint64_t len, uint64_t *parts,
			 size_t *nr_parts);
/*
 * The same checksums of an entry whose data comes in pieces (a writer that
 * reads a long run a slice at a time): begin, feed the pieces in order,
 * each ending at a part boundary of the address space or at the entry's
 * end, then end (returns the whole, *nr_parts as page_xxh3_entry).  st is
 * the caller's, from page_xxh3_state_new(), reused entry after entry.
 */
struct page_xxh3_stream {
	void *st;		/* XXH3_state_t */
	uint64_t at;		/* the address of the next byte to feed */
	uint64_t *parts;
	size_t nr, n;		/* parts fed, parts of the entry */
};
void *page_xxh3_state_new(void);
void page_xxh3_state_free(void *st);
void page_xxh3_begin(struct page_xxh3_stream *s, void *st, uint64_t vaddr, uint64_t len,
		     uint64_t *parts);
void page_xxh3_feed(struct page_xxh3_stream *s, const void *data, uint64_t len);
uint64_t page_xxh3_end(struct page_xxh3_stream *s, size_t *nr_parts);

/*
 * A unit of verification: a pagemap entry with its XXH3, or one 16 KiB
 * part of one when the pagemap has part checksums (a fault then checks
 * only the part it needs), or a run of a page server's map (the images
 * whose pages file this host has not).  Every page of a resolved run lies
 * in one unit, of the image that holds its newest data.
 */
struct page_unit {
	uint64_t vaddr, nr_pages, xxh3;
	uint64_t file_off;	/* in the pages file of its image */
	int image;		/* of the chain: page_source.images[image] */
	int fd;			/* that image's pages file (remote: its stand-in) */
	const uint8_t *data;	/* mapped image (page_source_map): its data; else NULL */
};

/*
 * The units of the chain's local images (each image's entries in vaddr
 * order, the images newest first); with the images mapped, each has its
 * data pointer.  *units malloc'ed with room for extra more; 0 or -1.
 */
int page_source_units(const struct page_source *ps, size_t extra, struct page_unit **units,
		      size_t *nr);
/*
 * data (the unit's nr_pages * 4096 bytes) against its XXH3: true if it
 * matches; if not, logs "WHO: checksum mismatch in pages A-B: image is
 * corrupt" and returns false
 */
bool page_unit_check(const struct page_unit *u, const void *data, const char *who);
/*
 * Sorts units (those of page_source_units, and a page server's for the
 * images this host has not) by (image, vaddr) and cuts the resolved runs of
 * ps where units end, each piece naming its unit (page_run.unit): every
 * page found with page_source_find then has its checksummed unit at
 * hand.  0, or -1 (logged: pages of no unit, wrong page server or images)
 */
int page_source_cut(struct page_source *ps, struct page_unit *units, size_t nr);
/*
 * The resolved runs cut at every 16 KiB boundary of the address space:
 * what a page server's map is (pagexfer/page-server-proto.h).  Each part
 * has the XXH3 the pagemap gives for exactly its pages (the entry's part
 * checksum, or the entry's own when the part is the whole entry), or 0
 * (a part of a run resolved from several images: only its data can say);
 * image, fd and file_off say where its data is.  *parts malloc'ed; 0 or -1.
 */
int page_source_parts(const struct page_source *ps, struct page_unit **parts, size_t *nr);
/*
 * The page server backend: how the pages of the images this host has not
 * (page_source_open_remote's stand-ins) are fetched.  read: the data of
 * [addr, addr + len) of pid (len at most PAGEMAP_MAX_RUN pages), checked
 * in transit; 0, or -1 (logged).
 */
struct page_fetch {
	void *ctx;
	int (*read)(void *ctx, unsigned pid, uint64_t addr, void *buf, uint64_t len);
	const char *who;	/* for messages: "page server ADDR:PORT: pid N" */
};
/*
 * parts[0..n) (of page_source_parts: following on in one remote image's
 * pages file, PAGEMAP_MAX_RUN pages at most) fetched with f into buf, each
 * checked against its xxh3 (0: the transfer's own check is all there is),
 * and kept in the image's stand-in, from where the restorer and
 * page_source_read take them.  0, or -1 (logged).
 */
int page_source_fetch(struct page_source *ps, const struct page_fetch *f,
		      const struct page_unit *parts, size_t n, void *buf);
/* reads unit u from its pages file into buf and checks it; 0, or -1 (logged) */
int page_unit_read_check(const struct page_source *ps, const struct page_unit *u, void *buf);

/*
 * The mapped image backend: maps every local image's pages file read-only
 * (images[k].map); page_source_units then gives each unit its data
 * pointer.  0 or -1 (logged).  page_source_close unmaps them.
 */
int page_source_map(struct page_source *ps);
/* index of the resolved run holding addr, or -1 */
long page_source_find(const struct page_source *ps, uint64_t addr);
/*
 * Copies the newest data for [addr, addr + len) into buf (page aligned);
 * returns 0, or -ENOENT if some page of the range has no data (the caller
 * decides: a zero page for anonymous memory), or -EIO (logged; also for
 * pages of a page server's image not fetched: page_source_fetch).  Does
 * not verify checksums: call page_source_verify() once before serving
 * pages.
 */
int page_source_read(const struct page_source *ps, uint64_t addr, void *buf, uint64_t len);

#endif /* IMAGES_PAGES_H */
