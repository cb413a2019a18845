/*
 * extents.c - the contents of a file criu keeps in the images (a deleted
 * file, a memfd) as its runs of data: holes are found with SEEK_DATA /
 * SEEK_HOLE at dump, left out of the images, and are holes again at
 * restore (the runs written with pwrite, the size set with ftruncate).
 * Owns only the reading, checking and writing of FileExtent lists (and of
 * the inode's write lifetime hint, kept with them); it knows nothing of
 * fds of the process or of kinds.
 */
#define LOG_PREFIX "files: "
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <unistd.h>

#include "criu/files/files.h"
#include "common/log.h"

static int add_extent(struct fd_extents *x, uint64_t off, uint64_t len)
{
	FileExtent **n = realloc(x->v, (x->nr + 1) * sizeof(*n));
	FileExtent *e = calloc(1, sizeof(*e));
	if (!n || !e) {
		free(e);
		if (n)
			x->v = n;
		return -1;
	}
	x->v = n;
	file_extent__init(e);
	e->off = off;
	e->data.len = len;
	e->data.data = malloc(len ? len : 1);
	x->v[x->nr++] = e;
	return e->data.data ? 0 : -1;
}

static int read_at(int fd, uint8_t *buf, uint64_t len, uint64_t off, const char *what)
{
	for (uint64_t done = 0; done < len;) {
		ssize_t n = pread(fd, buf + done, len - done, off + done);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			pr_perror("%s: cannot read its contents at %lu", what, (unsigned long)(off + done));
			return -1;
		}
		done += n;
	}
	return 0;
}

int fd_read_extents(int fd, uint64_t size, const char *what, struct fd_extents *x)
{
	uint64_t at = 0, total = 0;

	x->v = NULL;
	x->nr = 0;
	while (at < size) {
		off_t d = lseek(fd, at, SEEK_DATA);
		if (d < 0 && errno == ENXIO)
			break;	/* a hole up to the end */
		off_t h = d < 0 ? -1 : lseek(fd, d, SEEK_HOLE);
		if (d < 0 || h < 0) {
			pr_perror("%s: cannot find its data and holes", what);
			return -1;
		}
		if ((uint64_t)d >= size)
			break;
		uint64_t end = (uint64_t)h > size ? size : (uint64_t)h;
		total += end - d;
		if (total > FILE_DATA_LIMIT) {
			pr_err("%s: more than the %u MiB of data criu keeps in images for one file", what,
			       FILE_DATA_LIMIT >> 20);
			return -1;
		}
		if (add_extent(x, d, end - d) ||
		    read_at(fd, x->v[x->nr - 1]->data.data, end - d, d, what))
			return -1;
		at = end;
	}
	return 0;
}

int fd_check_extents(FileExtent *const *v, size_t n, uint64_t size, const char *what)
{
	uint64_t end = 0, total = 0;
	for (size_t i = 0; i < n; i++) {
		const FileExtent *e = v[i];
		total += e->data.len;
		if (e->off < end || e->data.len > size || e->off > size - e->data.len ||
		    total > FILE_DATA_LIMIT) {
			pr_err("%s: a run of data at %lu (%zu bytes) out of order, past its size %lu or over the limit",
			       what, (unsigned long)e->off, e->data.len, (unsigned long)size);
			return -1;
		}
		end = e->off + e->data.len;
	}
	return 0;
}

int fd_write_extents(int fd, FileExtent *const *v, size_t n, uint64_t size, const char *what)
{
	for (size_t i = 0; i < n; i++) {
		const FileExtent *e = v[i];
		for (size_t done = 0; done < e->data.len;) {
			ssize_t w = pwrite(fd, e->data.data + done, e->data.len - done, e->off + done);
			if (w < 0 && errno == EINTR)
				continue;
			if (w <= 0) {
				pr_perror("%s: cannot write its contents at %lu", what,
					  (unsigned long)(e->off + done));
				return -1;
			}
			done += w;
		}
	}
	if (ftruncate(fd, size)) {
		pr_perror("%s: cannot set its size to %lu", what, (unsigned long)size);
		return -1;
	}
	return 0;
}

uint64_t fd_get_rw_hint(int fd)
{
	uint64_t hint = 0;
	if (fcntl(fd, F_GET_RW_HINT, &hint))
		return 0;
	return hint;
}

int fd_set_rw_hint(int fd, uint64_t hint, const char *what)
{
	if (hint && fcntl(fd, F_SET_RW_HINT, &hint)) {
		pr_perror("%s: cannot set its write lifetime hint %lu", what, (unsigned long)hint);
		return -1;
	}
	return 0;
}
