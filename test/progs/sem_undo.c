/*
 * sem_undo: a process whose semop used SEM_UNDO, so the kernel holds an
 * adjustment for it (-1, applied at its exit), which no interface shows.
 * The dump must be refused (test/refuse.sh), the program left running:
 * after SIGUSR1 the semaphore still holds 1, and a second semop with
 * SEM_UNDO works on; the set is removed at exit.
 */
#include <stdlib.h>
#include <sys/ipc.h>
#include <sys/sem.h>

#include "test/lib/test.h"

static int semid = -1;

static void remove_set(void)
{
	if (semid >= 0)
		semctl(semid, 0, IPC_RMID);
}

int main(int argc, char **argv)
{
	struct sembuf up = { 0, 1, SEM_UNDO };

	test_init(argc, argv);
	semid = semget(IPC_PRIVATE, 1, 0600);
	if (semid < 0)
		fail("semget: %m");
	atexit(remove_set);
	if (semop(semid, &up, 1))
		fail("semop SEM_UNDO: %m");
	test_ready();
	test_wait_checkpoint();

	int v = semctl(semid, 0, GETVAL);
	if (v != 1)
		fail("semaphore value %d after the refused dump, expected 1", v);
	if (semop(semid, &up, 1) || semctl(semid, 0, GETVAL) != 2)
		fail("a second semop with SEM_UNDO: %m (value %d)", semctl(semid, 0, GETVAL));
	pass();
}
