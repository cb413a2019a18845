/*
 * stats-file.c - stats-dump and stats-restore, in the framing clients of
 * upstream CRIU parse (see stats-file.h).  Written to a temporary name and
 * renamed, so a reader never sees half a file.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "images/stats-file.h"

#define STATS_SERVICE_MAGIC	0x55105940U
#define STATS_KIND_MAGIC	0x57093306U

int stats_file_write(int dirfd, const char *name, const Stats *st)
{
	size_t n = stats__get_packed_size(st);
	uint8_t *buf = malloc(12 + n);
	uint32_t head[3] = { STATS_SERVICE_MAGIC, STATS_KIND_MAGIC, (uint32_t)n };
	char tmp[64];
	int fd, err = 0;

	if (!buf)
		return -ENOMEM;
	memcpy(buf, head, sizeof(head));
	stats__pack(st, buf + 12);
	snprintf(tmp, sizeof(tmp), ".%s.tmp", name);
	errno = 0;
	fd = openat(dirfd, tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	if (fd < 0 || write(fd, buf, 12 + n) != (ssize_t)(12 + n))
		err = errno ? -errno : -EIO;
	if (fd >= 0 && close(fd) && !err)
		err = -errno;
	if (!err && renameat(dirfd, tmp, dirfd, name))
		err = -errno;
	if (err && fd >= 0)
		unlinkat(dirfd, tmp, 0);
	free(buf);
	return err;
}
