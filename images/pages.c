/* pages.c - opening and checking page images (see pages.h). */
#define LOG_PREFIX "pages: "
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>
#include <xxhash.h>

#include "log.h"
#include "pages.h"

#define VERIFY_CHUNK	(256 << 10)	/* stays in the CPU cache between read and hash */

int page_source_verify(const struct page_source *ps)
{
	uint8_t *buf = aligned_alloc(4096, VERIFY_CHUNK);
	XXH3_state_t *st = XXH3_createState();
	int err = -1;

	if (!buf || !st)
		goto out;
	for (size_t i = 0; i < ps->nr_runs; i++) {
		const struct page_run *r = &ps->runs[i];
		uint64_t len = r->nr_pages * 4096;

		XXH3_64bits_reset(st);
		for (uint64_t done = 0; done < len;) {
			size_t want = len - done < VERIFY_CHUNK ? len - done : VERIFY_CHUNK;
			ssize_t n = pread(ps->pages_fd, buf, want, r->file_off + done);
			if (n <= 0) {
				pr_perror("%s: cannot read run %zu", ps->pages_name, i);
				goto out;
			}
			XXH3_64bits_update(st, buf, n);
			done += n;
		}
		if (XXH3_64bits_digest(st) != r->xxh3) {
			pr_err("%s: checksum mismatch in pages %lx-%lx (run %zu): image is corrupt",
			       ps->pages_name, (unsigned long)r->vaddr,
			       (unsigned long)(r->vaddr + len), i);
			goto out;
		}
	}
	err = 0;
out:
	XXH3_freeState(st);
	free(buf);
	return err;
}

int page_source_open(int dirfd, unsigned pid, int verify, struct page_source *ps)
{
	struct img_entries e;
	char pmname[64];
	struct img_hdr h;
	struct stat st;
	int ret;

	memset(ps, 0, sizeof(*ps));
	ps->pid = pid;
	ps->pages_fd = -1;
	img_name(IMG_PAGEMAP, pid, pmname, sizeof(pmname));
	img_name(IMG_PAGES, pid, ps->pages_name, sizeof(ps->pages_name));

	ret = img_read_all(dirfd, IMG_PAGEMAP, pid, &e);
	if (ret == -ENOENT)
		pr_err("%s: missing from the images directory", pmname);
	if (ret)
		return -1;
	ps->runs = calloc(e.nr ? e.nr : 1, sizeof(*ps->runs));
	if (!ps->runs)
		goto err;
	uint64_t off = PAGES_DATA_OFFSET, prev_end = 0;
	for (size_t i = 0; i < e.nr; i++) {
		PagemapEntry *pe = (PagemapEntry *)e.msgs[i];
		if (pe->vaddr % 4096 || !pe->nr_pages || pe->nr_pages > PAGEMAP_MAX_RUN ||
		    pe->vaddr < prev_end || pe->vaddr + pe->nr_pages * 4096ULL > (1ULL << 57)) {
			pr_err("%s: entry %zu (%lx, %u pages) is misaligned, overlapping or out of order",
			       pmname, i, (unsigned long)pe->vaddr, pe->nr_pages);
			goto err;
		}
		ps->runs[i] = (struct page_run){ pe->vaddr, pe->nr_pages, off, pe->xxh3 };
		off += pe->nr_pages * 4096ULL;
		prev_end = pe->vaddr + pe->nr_pages * 4096ULL;
		ps->nr_pages += pe->nr_pages;
	}
	ps->nr_runs = e.nr;
	img_entries_free(&e);

	ps->pages_fd = openat(dirfd, ps->pages_name, O_RDONLY | O_CLOEXEC);
	if (ps->pages_fd < 0) {
		if (errno == ENOENT)
			pr_err("%s: missing from the images directory", ps->pages_name);
		else
			pr_perror("cannot open %s", ps->pages_name);
		goto err;
	}
	ssize_t n = pread(ps->pages_fd, &h, sizeof(h), 0);
	if (img_hdr_check(&h, n < 0 ? 0 : n, IMG_PAGES, ps->pages_name))
		goto err;
	if (fstat(ps->pages_fd, &st)) {
		pr_perror("%s: cannot stat", ps->pages_name);
		goto err;
	}
	if ((uint64_t)st.st_size != off) {
		pr_err("%s: %lu bytes, the pagemap needs %lu: image is truncated or corrupt",
		       ps->pages_name, (unsigned long)st.st_size, (unsigned long)off);
		goto err;
	}
	if (verify && page_source_verify(ps))
		goto err;
	return 0;
err:
	img_entries_free(&e);
	page_source_close(ps);
	return -1;
}

void page_source_close(struct page_source *ps)
{
	if (ps->pages_fd >= 0)
		close(ps->pages_fd);
	ps->pages_fd = -1;
	free(ps->runs);
	ps->runs = NULL;
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
		for (uint64_t done = 0; done < n;) {
			ssize_t got = pread(ps->pages_fd, dst + done, n - done, off + done);
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
