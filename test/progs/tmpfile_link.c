/*
 * tmpfile_link: a file made with O_TMPFILE (nameless), written and left
 * at an offset, as a program that writes a file and then gives it its
 * name atomically does.  After the restore it reads the same, is at the
 * same offset, and can still be given a name with linkat (the file is
 * made again with O_TMPFILE: a file made and removed could not).  The
 * restore used to fail ('cannot open it again with flags 20300002').
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "test/lib/test.h"

static const char data[] = "written before it had a name";

int main(int argc, char **argv)
{
	char proc[64], buf[64] = { 0 };
	struct stat st;

	test_init(argc, argv);
	int fd = open(test_tmpdir(), O_TMPFILE | O_RDWR, 0640);
	if (fd < 0) {
		if (errno == EOPNOTSUPP || errno == EISDIR)
			skip("no O_TMPFILE in %s", test_tmpdir());
		fail("open O_TMPFILE: %s", strerror(errno));
	}
	if (write(fd, data, sizeof(data)) != (ssize_t)sizeof(data) || lseek(fd, 7, SEEK_SET) != 7)
		fail("write: %s", strerror(errno));
	test_ready();
	test_wait_checkpoint();

	if (lseek(fd, 0, SEEK_CUR) != 7)
		fail("offset %ld, was 7", (long)lseek(fd, 0, SEEK_CUR));
	if (pread(fd, buf, sizeof(data), 0) != (ssize_t)sizeof(data) || memcmp(buf, data, sizeof(data)))
		fail("contents '%s'", buf);
	if (fstat(fd, &st) || st.st_nlink != 0 || (st.st_mode & 07777) != 0640)
		fail("links %lu, mode %o (want 0, 640)", (unsigned long)st.st_nlink, st.st_mode & 07777);
	snprintf(proc, sizeof(proc), "/proc/self/fd/%d", fd);
	const char *name = test_path("named");
	if (linkat(AT_FDCWD, proc, AT_FDCWD, name, AT_SYMLINK_FOLLOW))
		fail("linkat: %s (no longer linkable)", strerror(errno));
	int f2 = open(name, O_RDONLY);
	memset(buf, 0, sizeof(buf));
	if (f2 < 0 || read(f2, buf, sizeof(data)) != (ssize_t)sizeof(data) || memcmp(buf, data, sizeof(data)))
		fail("the linked name reads '%s'", buf);
	pass();
}
