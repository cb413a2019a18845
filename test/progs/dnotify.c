/*
 * dnotify: a directory watched with F_NOTIFY (dnotify, its signal set with
 * F_SETSIG).  No interface shows a dnotify registration, so the dump must
 * be refused (test/refuse.sh); after the refused dump the watch still
 * works: a file made in the directory brings the signal.
 */
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <sys/stat.h>
#include <unistd.h>

#include "test/lib/test.h"

static volatile sig_atomic_t got;

static void on_notify(int sig)
{
	(void)sig;
	got++;
}

int main(int argc, char **argv)
{
	test_init(argc, argv);
	char *dir = test_path("watched");
	if (mkdir(dir, 0700))
		fail("mkdir: %m");
	int d = open(dir, O_RDONLY | O_DIRECTORY);
	signal(SIGRTMIN + 1, on_notify);
	if (d < 0 || fcntl(d, F_SETSIG, SIGRTMIN + 1) || fcntl(d, F_NOTIFY, DN_CREATE | DN_MULTISHOT))
		fail("dnotify: %m");
	test_ready();
	test_wait_checkpoint();

	char f[4200];
	snprintf(f, sizeof(f), "%s/new", dir);
	close(open(f, O_CREAT | O_WRONLY, 0600));
	for (int i = 0; i < 100 && !got; i++)
		usleep(10000);
	if (!got)
		fail("no notification signal for a file made in the watched directory");
	pass();
}
