/* cwd_umask: the working directory (a fresh temp directory) and umask 0027. */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "test/lib/test.h"

int main(int argc, char **argv)
{
	struct stat st0, st1;
	char cwd[PATH_MAX];

	test_init(argc, argv);
	char *dir = test_path("work dir");	/* a space, to catch quoting bugs */
	if (mkdir(dir, 0750))
		fail("mkdir %s: %s", dir, strerror(errno));
	if (chdir(dir))
		fail("chdir %s: %s", dir, strerror(errno));
	if (stat(".", &st0))
		fail("stat .: %s", strerror(errno));
	umask(0027);

	test_ready();
	test_wait_checkpoint();

	mode_t m = umask(0027);
	if (m != 0027)
		fail("umask is %04o, expected 0027", (unsigned)m);
	if (!getcwd(cwd, sizeof(cwd)))
		fail("getcwd: %s", strerror(errno));
	if (strcmp(cwd, dir))
		fail("cwd is '%s', expected '%s'", cwd, dir);
	if (stat(".", &st1))
		fail("stat .: %s", strerror(errno));
	if (st1.st_ino != st0.st_ino || st1.st_dev != st0.st_dev)
		fail("cwd is inode %lu, was %lu (same path, another directory?)",
		     (unsigned long)st1.st_ino, (unsigned long)st0.st_ino);
	/* the umask applies to new files */
	int fd = open("newfile", O_CREAT | O_WRONLY | O_CLOEXEC, 0777);
	if (fd < 0)
		fail("create newfile in cwd: %s", strerror(errno));
	fstat(fd, &st1);
	close(fd);
	if ((st1.st_mode & 0777) != 0750)
		fail("new file has mode %04o, expected 0750 with umask 0027", st1.st_mode & 0777);
	if (chdir("/"))
		fail("chdir /: %s", strerror(errno));
	pass();
}
