/*
 * notify.c - the steps of dump and restore told to whoever asked: the
 * `--action-script SCRIPT` of the command line (run with sh -c, CRIU's
 * environment: CRTOOLS_SCRIPT_ACTION the step, CRTOOLS_INIT_PID the
 * restored root's pid, CRTOOLS_IMAGE_DIR) and the RPC client of `criu
 * swrk` (o->notify, criu/rpc/).  A step that fails (the script exits
 * non-zero, the client answers no) fails the dump or restore, which then
 * undoes what it did as for any error.  Also the work directory (-W) that
 * relative output paths are taken in.
 */
#define LOG_PREFIX "notify: "
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "common/log.h"
#include "criu/opts.h"

const char *opts_work_path(const struct opts *o, const char *path, char *buf, size_t len)
{
	if (!path || !o->work_dir || path[0] == '/' || !strcmp(path, "-"))
		return path;
	snprintf(buf, len, "%s/%s", o->work_dir, path);
	return buf;
}

static int run_script(const struct opts *o, const char *step, pid_t pid, int fd)
{
	char spid[16], sfd[16];
	int status;
	pid_t c = fork();

	if (c < 0) {
		pr_perror("--action-script: cannot start it for %s", step);
		return -1;
	}
	if (c == 0) {
		snprintf(spid, sizeof(spid), "%d", pid);
		snprintf(sfd, sizeof(sfd), "%d", fd);
		setenv("CRTOOLS_SCRIPT_ACTION", step, 1);
		if (o->images_dir)
			setenv("CRTOOLS_IMAGE_DIR", o->images_dir, 1);
		if (pid > 0)
			setenv("CRTOOLS_INIT_PID", spid, 1);
		/* the fd passed (orphan-pts-master) is the script's too */
		if (fd >= 0 && !fcntl(fd, F_SETFD, 0))
			setenv("CRTOOLS_PTY_MASTER_FD", sfd, 1);
		/* the script's output is not the restored program's: criu's log */
		dup2(log_get_fd(), STDOUT_FILENO);
		execl("/bin/sh", "sh", "-c", o->action_script, (char *)NULL);
		_exit(127);
	}
	while (waitpid(c, &status, 0) < 0)
		if (errno != EINTR) {
			pr_perror("--action-script: wait for it at %s", step);
			return -1;
		}
	if (WIFEXITED(status) && WEXITSTATUS(status) == 0)
		return 0;
	if (WIFEXITED(status))
		pr_err("--action-script %s: exited with %d at %s", o->action_script,
		       WEXITSTATUS(status), step);
	else
		pr_err("--action-script %s: killed by signal %d at %s", o->action_script,
		       WTERMSIG(status), step);
	return -1;
}

int cr_notify(const struct opts *o, const char *step, pid_t pid, int fd)
{
	pr_debug("%s%s", step, pid > 0 ? " (pid given)" : "");
	if (o->action_script && run_script(o, step, pid, fd))
		return -1;
	if (o->notify && o->notify->fn(o->notify->ctx, step, pid, fd)) {
		pr_err("the RPC client failed step %s", step);
		return -1;
	}
	return 0;
}
