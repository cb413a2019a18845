/*
 * libcriu-test.c - libcriu (lib/) against this criu (test/rpc.sh,
 * rpc/libcriu): the version check podman makes, FEATURE_CHECK, a dump of
 * PROG (started here, its output into LOG) into DIR with the notify
 * callback, a refused option, and a restore as our child
 * (criu_restore_child) which is then told to check itself (SIGUSR1) and
 * waited for.
 *
 *   libcriu-test CRIU DIR PROG LOG
 *
 * Prints one line per step ("version ok", "steps: pre-dump ...",
 * "restored PID", "child status S") and "FAIL: why" on the first failure.
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "lib/criu.h"

static char steps[1024];

static int note(char *action, criu_notify_arg_t na)
{
	size_t n = strlen(steps);
	snprintf(steps + n, sizeof(steps) - n, "%s%s", n ? " " : "", action);
	if (!strcmp(action, "setup-namespaces") && criu_notify_pid(na) <= 0)
		return 1;
	return 0;
}

/* PROG started with its output into LOG; its pid once it printed READY */
static pid_t start(const char *prog, const char *log)
{
	int fd = open(log, O_WRONLY | O_CREAT | O_TRUNC, 0644);
	pid_t pid = fd < 0 ? -1 : fork();
	char buf[256];

	if (pid == 0) {
		dup2(fd, 1);
		dup2(fd, 2);
		int nul = open("/dev/null", O_RDONLY);
		dup2(nul, 0);
		execl(prog, prog, (char *)NULL);
		_exit(127);
	}
	for (int i = 0; pid > 0 && i < 1500; i++) {
		int r = open(log, O_RDONLY);
		ssize_t n = r >= 0 ? read(r, buf, sizeof(buf) - 1) : -1;
		if (r >= 0)
			close(r);
		buf[n > 0 ? n : 0] = 0;
		if (strstr(buf, "READY\n"))
			return pid;
		usleep(10000);
	}
	return -1;
}

#define FAIL(...) do { printf("FAIL: " __VA_ARGS__); printf("\n"); return 1; } while (0)

int main(int argc, char **argv)
{
	struct criu_feature_check f = { .mem_track = true, .lazy_pages = true };
	int dir, pid, r, status;

	if (argc != 5)
		FAIL("usage: libcriu-test CRIU DIR PROG LOG");
	setvbuf(stdout, NULL, _IOLBF, 0);
	dir = open(argv[2], O_RDONLY | O_DIRECTORY);
	pid = start(argv[3], argv[4]);
	if (pid < 0)
		FAIL("%s did not start", argv[3]);
	printf("started %d\n", pid);
	if (dir < 0 || criu_init_opts() || criu_set_service_binary(argv[1]))
		FAIL("setup: %s", strerror(errno));
	if (criu_check_version(31100) != 1)
		FAIL("criu_check_version(31100): %d (%s)", criu_check_version(31100),
		     criu_get_last_error());
	printf("version ok %d\n", criu_get_version());
	if ((r = criu_feature_check(&f, sizeof(f))) || !f.mem_track || !f.lazy_pages)
		FAIL("criu_feature_check: %d mem_track %d lazy_pages %d", r, f.mem_track, f.lazy_pages);
	criu_set_images_dir_fd(dir);
	criu_set_log_file("dump.log");
	criu_set_log_level(4);
	criu_set_pid(pid);
	/* a post-copy dump without a page server address: refused, named */
	criu_set_lazy_pages(true);
	if ((r = criu_dump()) != -EBADE || !criu_get_last_error() ||
	    !strstr(criu_get_last_error(), "lazy-pages"))
		FAIL("a dump with lazy_pages and no page server: %d (%s)", r, criu_get_last_error());
	printf("refused: %s\n", criu_get_last_error());
	criu_set_lazy_pages(false);
	criu_set_notify_cb(note);
	if ((r = criu_dump()))
		FAIL("criu_dump: %d (%s)", r, criu_get_last_error());
	printf("dump steps: %s\n", steps);
	steps[0] = 0;
	/* killed by the dump: its pid is free once reaped */
	if (waitpid(pid, &status, 0) != pid || !WIFSIGNALED(status))
		FAIL("the dumped process was not killed by the dump (status %d)", status);
	criu_set_log_file("restore.log");
	r = criu_restore_child();
	if (r != pid)
		FAIL("criu_restore_child: %d (%s)", r, criu_get_last_error());
	printf("restore steps: %s\n", steps);
	printf("restored %d\n", r);
	kill(pid, SIGUSR1);
	if (waitpid(pid, &status, 0) != pid)
		FAIL("the restored process is not our child: %s", strerror(errno));
	printf("child status %d\n", status);
	criu_free_opts();
	return 0;
}
