/*
 * pages.h - page images: pagemap-PID.img (runs of pages with XXH3
 * checksums) and pages-PID.img (the raw data, page aligned after a header
 * page).
 *
 * The page source interface: every consumer of page data (full restore,
 * lazy restore, page server) reads pages through struct page_source, so
 * pages are located and verified one way.
 */
#ifndef IMAGES_PAGES_H
#define IMAGES_PAGES_H

#include <stddef.h>
#include <stdint.h>

#include "image.h"

#define PAGES_DATA_OFFSET	4096UL	/* first page of data in pages-PID.img */
#define PAGEMAP_MAX_RUN		512	/* pages per pagemap entry (2 MiB) */

struct page_run {
	uint64_t vaddr;
	uint64_t nr_pages;
	uint64_t file_off;	/* offset of the run's data in the pages file */
	uint64_t xxh3;
};

struct page_source {
	unsigned pid;
	int pages_fd;		/* pages-PID.img, O_RDONLY */
	char pages_name[64];
	size_t nr_runs;
	struct page_run *runs;	/* sorted by vaddr */
	uint64_t nr_pages;
};

/*
 * Opens pagemap-PID.img and pages-PID.img, checks headers, that the runs are
 * sorted, page aligned and non-overlapping, and that the pages file is large
 * enough.  With verify, also checks every run's XXH3 (reads all data once).
 */
int page_source_open(int dirfd, unsigned pid, int verify, struct page_source *ps);
void page_source_close(struct page_source *ps);
/* checks every run's XXH3 against the data (reads it all once); thread-safe */
int page_source_verify(const struct page_source *ps);
/* index of the run holding addr, or -1 */
long page_source_find(const struct page_source *ps, uint64_t addr);
/*
 * Copies the image's data for [addr, addr + len) into buf (page aligned);
 * returns 0, or -ENOENT if some page of the range is not in the image (the
 * caller decides: a zero page for anonymous memory).  Does not verify
 * checksums: call page_source_verify() once before serving pages.
 */
int page_source_read(const struct page_source *ps, uint64_t addr, void *buf, uint64_t len);

/* Writing side, used by dump: the pagemap writer and pages file. */
struct pages_writer {
	struct img_writer *pagemap;
	int pages_fd;
	uint64_t nr_pages;	/* pages written so far */
};

#endif /* IMAGES_PAGES_H */
