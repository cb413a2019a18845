/*
 * ns_state: a program made to run inside namespaces (test/ns.sh starts it
 * under `unshare`).  It records its pid and hostname, waits for the
 * checkpoint, and checks both are unchanged.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "test.h"

int main(int argc, char **argv)
{
	char host[256], host_after[256];
	pid_t pid;

	test_init(argc, argv);
	pid = getpid();
	if (gethostname(host, sizeof(host)))
		fail("gethostname: %s", strerror(errno));
	test_msg("pid %d host %s", pid, host);
	test_ready();
	test_wait_checkpoint();
	if (getpid() != pid)
		fail("getpid() is %d, was %d", getpid(), pid);
	if (gethostname(host_after, sizeof(host_after)))
		fail("gethostname: %s", strerror(errno));
	if (strcmp(host, host_after))
		fail("hostname is '%s', was '%s'", host_after, host);
	pass();
}
