/*
 * ghost_dir: removed directories (rmdir) still in use.
 *
 *   fd 3: directory "a" opened O_RDONLY|O_DIRECTORY, then removed
 *   fd 4: the same directory, O_PATH
 *   cwd:  directory "b" (mode 0751, owner 1234:5678), removed
 *   a child: its cwd is "a" (fchdir through the inherited fd 3)
 *
 * After restore: fds 3 and 4 are one removed directory (same inode, no
 * links, flags kept), the cwd is another removed directory with its mode
 * and owner, /proc/self/cwd still reads "<path> (deleted)", nothing can be
 * created in either (ENOENT), and the child's cwd is fd 3's directory.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "test/lib/test.h"

static void put(int fd, int want)
{
	if (fd < 0 || (fd != want && (dup2(fd, want) != want || close(fd))))
		fail("open/dup2: %s", strerror(errno));
}

static int child_main(int go)
{
	char c;
	struct pollfd pf = { go, POLLIN, 0 };
	while (poll(&pf, 1, 20000) < 0 && errno == EINTR)
		;
	if (read(go, &c, 1) != 1)
		return 10;
	struct stat cwd, a;
	if (stat(".", &cwd) || fstat(3, &a) || cwd.st_ino != a.st_ino || cwd.st_dev != a.st_dev)
		return 11;
	if (cwd.st_nlink != 0 || !S_ISDIR(cwd.st_mode))
		return 12;
	return 0;
}

int main(int argc, char **argv)
{
	test_init(argc, argv);
	char *a = test_path("a"), *b = test_path("b");
	char cwd_before[4200] = "", link[4200] = "";
	int go[2];

	if (mkdir(a, 0700) || mkdir(b, 0700) || chmod(b, 0751) || chown(b, 1234, 5678))
		fail("mkdir: %s", strerror(errno));
	put(open(a, O_RDONLY | O_DIRECTORY), 3);
	put(open(a, O_PATH), 4);
	if (rmdir(a) || chdir(b) || rmdir(b))
		fail("rmdir/chdir: %s", strerror(errno));
	ssize_t n = readlink("/proc/self/cwd", cwd_before, sizeof(cwd_before) - 1);
	if (n <= 0)
		fail("readlink cwd: %s", strerror(errno));
	if (pipe(go))
		fail("pipe: %s", strerror(errno));
	pid_t child = fork();
	if (child < 0)
		fail("fork: %s", strerror(errno));
	if (child == 0) {
		if (fchdir(3))
			_exit(9);
		_exit(child_main(go[0]));
	}
	test_ready();
	test_wait_checkpoint();

	struct stat s3, s4, cw;
	if (fstat(3, &s3) || fstat(4, &s4) || s3.st_ino != s4.st_ino || s3.st_dev != s4.st_dev)
		fail("fds 3 and 4 are not one directory after restore");
	if (!S_ISDIR(s3.st_mode) || s3.st_nlink != 0)
		fail("fd 3: mode %o nlink %lu, expected a removed directory", s3.st_mode,
		     (unsigned long)s3.st_nlink);
	if (!(fcntl(3, F_GETFL) & O_DIRECTORY) || !(fcntl(4, F_GETFL) & O_PATH))
		fail("flags %o and %o, expected O_DIRECTORY and O_PATH", fcntl(3, F_GETFL), fcntl(4, F_GETFL));
	if (stat(".", &cw) || !S_ISDIR(cw.st_mode) || cw.st_nlink != 0 || (cw.st_mode & 07777) != 0751 ||
	    cw.st_uid != 1234 || cw.st_gid != 5678)
		fail("cwd: mode %o nlink %lu owner %u:%u, expected a removed directory of mode 751, 1234:5678",
		     cw.st_mode, (unsigned long)cw.st_nlink, cw.st_uid, cw.st_gid);
	if (cw.st_ino == s3.st_ino)
		fail("the cwd and fd 3 are one directory, they were two");
	n = readlink("/proc/self/cwd", link, sizeof(link) - 1);
	if (n <= 0 || strcmp(link, cwd_before))
		fail("cwd reads '%s', was '%s'", link, cwd_before);
	if (open("x", O_CREAT | O_WRONLY, 0600) >= 0 || errno != ENOENT)
		fail("a file could be created in the removed cwd (or not ENOENT: %s)", strerror(errno));
	if (openat(3, "x", O_CREAT | O_WRONLY, 0600) >= 0 || errno != ENOENT)
		fail("a file could be created in removed fd 3 (or not ENOENT: %s)", strerror(errno));
	if (write(go[1], "g", 1) != 1)
		fail("write: %s", strerror(errno));
	int st;
	if (waitpid(child, &st, 0) != child || !WIFEXITED(st) || WEXITSTATUS(st))
		fail("child failed (status %#x: 9 fchdir, 10 no go, 11 its cwd is not fd 3's directory, 12 not removed)",
		     st);
	pass();
}
