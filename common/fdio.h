/*
 * fdio.h - whole reads and writes at an offset: pread/pwrite until every
 * byte is moved (a short one is retried, EINTR too).  Returns 0, or -1 with
 * errno (EIO for a read that meets the end of the file).
 */
#ifndef COMMON_FDIO_H
#define COMMON_FDIO_H

#include <errno.h>
#include <stdint.h>
#include <unistd.h>

/* the loop of both: write or read len bytes at off */
static inline int pio_all(int fd, void *buf, size_t len, uint64_t off, int write)
{
	uint8_t *b = buf;

	while (len) {
		ssize_t n = write ? pwrite(fd, b, len, off) : pread(fd, b, len, off);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			if (!n)
				errno = EIO;
			return -1;
		}
		b += n;
		off += n;
		len -= n;
	}
	return 0;
}

static inline int pwrite_all(int fd, const void *buf, size_t len, uint64_t off)
{
	return pio_all(fd, (void *)buf, len, off, 1);
}

static inline int pread_all(int fd, void *buf, size_t len, uint64_t off)
{
	return pio_all(fd, buf, len, off, 0);
}

#endif /* COMMON_FDIO_H */
