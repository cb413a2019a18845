/*
 * shm_attached: a SysV shared memory segment attached (shmat), written,
 * and marked for removal (IPC_RMID: it goes with its last detach), by a
 * process in criu's ipc namespace.  criu restores attached segments only
 * in a tree with an ipc namespace of its own: the dump must be refused
 * with one line (test/refuse.sh), and the program runs on: after SIGUSR1
 * its segment still holds what it wrote and takes more.
 */
#include <errno.h>
#include <string.h>
#include <sys/ipc.h>
#include <sys/shm.h>

#include "test/lib/test.h"

#define SIZE	(64 << 10)

int main(int argc, char **argv)
{
	test_init(argc, argv);
	int id = shmget(IPC_PRIVATE, SIZE, IPC_CREAT | 0600);
	if (id < 0)
		fail("shmget: %s", strerror(errno));
	char *p = shmat(id, NULL, 0);
	shmctl(id, IPC_RMID, NULL);
	if (p == (void *)-1)
		fail("shmat: %s", strerror(errno));
	for (int i = 0; i < SIZE; i++)
		p[i] = (char)(i * 7 + 1);
	test_ready();
	test_wait_checkpoint();

	for (int i = 0; i < SIZE; i++)
		if (p[i] != (char)(i * 7 + 1))
			fail("byte %d: %d, expected %d", i, p[i], (char)(i * 7 + 1));
	memset(p, 0x5a, SIZE);
	pass();
}
