/*
 * ns_state: a program made to run inside namespaces (test/ns.sh starts it
 * under `unshare`).  With no argument it records its pid and hostname,
 * waits for the checkpoint and checks both are unchanged.
 *
 * "pidns": it is the init of a pid namespace (pid 1) and makes a tree in
 * it: child A, and under A, after A's unshare(CLONE_NEWPID), B, the
 * init of a nested pid namespace, and B's child C with a second thread.  After the restore every process checks its pid, its parent's
 * pid and each thread its tid, as it saw them before; A forks once more:
 * the new child must land in the nested namespace (A's namespace for
 * children); every one is in the root's session (it called setsid:
 * 1, unseen from the nested namespace); the root reaps A as before, a
 * pipe it gave A as owner (F_SETOWN) still has A's pid as owner, and a
 * pidfd of A is still A's.  Without a /proc of its own namespace it only
 * uses getpid/getppid/gettid (and its fdinfo's NSpid).
 *
 * "outer": the same under a parent that made the namespace
 * (unshare(CLONE_NEWPID), fork) and waits for its init.
 *
 * After "pidns", "uts" (its own uts namespace: it sets a host and domain
 * name) and "ipc" (its own ipc namespace: it sets ipc sysctls, makes two
 * SysV shared memory segments with a pattern, the first kept attached
 * read-write and the second read-only at a place of its own, a semaphore
 * set and a message queue holding three messages) add those: checked after
 * the restore (ids, keys, sizes, modes, contents, values, messages in
 * order; each attachment at its address, with its access, sharing the
 * segment, and the segments' attach counts).
 * "mem": the root keeps 64 MiB of a pattern, checked after the restore.
 * "time" (its own time namespace, with offsets): CLOCK_MONOTONIC and
 * CLOCK_BOOTTIME after the restore are not before, nor 300 s past, what
 * they were when it got ready.
 * "cgroup" (plain; its own cgroup namespace): every path of its
 * /proc/self/cgroup is "/" and the same after the restore.
 */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <stdbool.h>
#include <stdint.h>
#include <time.h>
#include <sys/ipc.h>
#include <sys/mman.h>
#include <sys/msg.h>
#include <sys/sem.h>
#include <sys/shm.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "test/lib/test.h"

enum { P_ROOT, P_A, P_B, P_C, P_C_THREAD, P_D, NPROC };
static const char *const names[NPROC] = { "root", "A", "B", "C", "C's thread", "D" };

struct shared {
	volatile int ready;		/* processes that have set up */
	volatile int go;		/* set by the root after the checkpoint */
	volatile int result[NPROC];	/* 1 ok, 2 failed */
	volatile pid_t pid[NPROC], ppid[NPROC];	/* as each saw itself before */
	char why[NPROC][160];
};
static struct shared *sh;

static void report(int who, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void report(int who, const char *fmt, ...)
{
	va_list ap;
	if (fmt) {
		va_start(ap, fmt);
		vsnprintf(sh->why[who], sizeof(sh->why[who]), fmt, ap);
		va_end(ap);
	}
	__sync_synchronize();
	sh->result[who] = fmt ? 2 : 1;
}

static void record(int who)
{
	sh->pid[who] = who == P_C_THREAD ? (pid_t)syscall(SYS_gettid) : getpid();
	sh->ppid[who] = getppid();
	__sync_fetch_and_add(&sh->ready, 1);
}

static void await_go(void)
{
	while (!sh->go)
		usleep(5000);
}

/* the same pid and parent as before the checkpoint */
static void check_ids(int who)
{
	pid_t now = who == P_C_THREAD ? (pid_t)syscall(SYS_gettid) : getpid();
	/* the root's session (1), seen from B's namespace below as none (0) */
	pid_t sid = who >= P_B ? 0 : 1;
	if (getsid(0) != sid)
		report(who, "%s: session %d, not %d", names[who], getsid(0), sid);
	else if (now != sh->pid[who])
		report(who, "%s: pid %d, was %d", names[who], now, sh->pid[who]);
	else if (getppid() != sh->ppid[who])
		report(who, "%s: parent %d, was %d", names[who], getppid(), sh->ppid[who]);
	else
		report(who, NULL);
}

static void *c_thread(void *arg)
{
	(void)arg;
	record(P_C_THREAD);
	await_go();
	check_ids(P_C_THREAD);
	return NULL;
}

static void __attribute__((noreturn)) run_c(void)
{
	pthread_t th;

	if (pthread_create(&th, NULL, c_thread, NULL))
		report(P_C, "C: pthread_create failed");
	record(P_C);
	await_go();
	check_ids(P_C);
	pause();
	_exit(0);
}

static void __attribute__((noreturn)) run_b(void)
{
	if (getpid() != 1)
		report(P_B, "B: pid %d in its new namespace, not 1", getpid());
	pid_t c = fork();
	if (c == 0)
		run_c();
	record(P_B);
	await_go();
	check_ids(P_B);
	pause();	/* killed with its namespace when A's turn comes */
	_exit(0);
}

static void __attribute__((noreturn)) run_a(void)
{
	if (unshare(CLONE_NEWPID))
		report(P_A, "A: unshare(CLONE_NEWPID): %s", strerror(errno));
	pid_t b = fork();
	if (b == 0)
		run_b();
	record(P_A);
	await_go();
	check_ids(P_A);
	/* a child forked now goes into the nested namespace: it sees no parent there */
	pid_t d = fork();
	if (d == 0) {
		sh->pid[P_D] = getpid();
		sh->ppid[P_D] = getppid();
		if (getppid() != 0)
			report(P_D, "D: parent %d seen: not forked into A's namespace for children (pid %d)",
			       getppid(), getpid());
		else
			report(P_D, NULL);
		_exit(0);
	}
	waitpid(d, NULL, 0);
	/* B, C and C's thread report before their namespace ends */
	for (int w = 0; w < 400 && !(sh->result[P_B] && sh->result[P_C] && sh->result[P_C_THREAD]); w++)
		usleep(5000);
	kill(b, SIGKILL);	/* B's namespace ends with it */
	waitpid(b, NULL, 0);
	_exit(0);
}

/* ---------------------------------------------------------- uts and ipc */

static bool want_uts, want_ipc;
static char want_host[64], want_domain[64];

static void uts_setup(void)
{
	snprintf(want_host, sizeof(want_host), "ckpt-ns-%d", (int)(test_mix(getpid() + time(NULL)) % 100000));
	snprintf(want_domain, sizeof(want_domain), "dom-%s", want_host + 8);
	if (sethostname(want_host, strlen(want_host)) || setdomainname(want_domain, strlen(want_domain)))
		fail("sethostname/setdomainname: %s", strerror(errno));
}

static void uts_check(void)
{
	char h[256] = "", d[256] = "";
	gethostname(h, sizeof(h));
	getdomainname(d, sizeof(d));
	if (strcmp(h, want_host) || strcmp(d, want_domain))
		fail("uts: host '%s' domain '%s', were '%s' '%s'", h, d, want_host, want_domain);
}

static const struct { const char *path, *value; } sysctl_set[] = {
	{ "/proc/sys/kernel/msgmnb", "20000" },
	{ "/proc/sys/kernel/shmmax", "1073741824" },
	{ "/proc/sys/kernel/sem", "251\t32001\t33\t129" },
	{ "/proc/sys/fs/mqueue/msg_max", "20" },
};
#define NR_SYSCTL_SET (sizeof(sysctl_set) / sizeof(sysctl_set[0]))

#define SHM_KEY 0x5eed0001
#define SEM_KEY 0x5eed0002
#define MSG_KEY 0x5eed0003
#define SHM1_SIZE (3 * 4096 + 100)
static int shm1, shm2, semid, msqid;
static uint8_t *shm1_at, *shm2_at;	/* kept attached */

static const unsigned short sem_vals[4] = { 0, 3, 7, 32000 };
static const struct { long type; const char *text; } msgs[3] = {
	{ 5, "first message" }, { 1, "second, shorter" }, { 2, "third and last message of the queue" },
};

/* this process maps segment id exactly once, as before (no attachment doubled or lost) */
static void check_mapped_once(int id)
{
	char line[512];
	unsigned long n = 0, ino;
	FILE *f = fopen("/proc/self/maps", "r");

	while (f && fgets(line, sizeof(line), f))
		/* start-end perms offset dev inode path: the inode of a SysV mapping is its id */
		if (strstr(line, "/SYSV") && sscanf(line, "%*s %*s %*s %*s %lu", &ino) == 1 &&
		    ino == (unsigned long)id)
			n++;
	if (f)
		fclose(f);
	if (n != 1)
		fail("shm %d: mapped %lu times here, was once", id, n);
}

static void fill(uint8_t *p, size_t n, uint64_t seed)
{
	for (size_t i = 0; i < n; i++)
		p[i] = test_mix(seed + i / 8) >> (8 * (i % 8));
}

static void ipc_setup(void)
{
	for (size_t i = 0; i < NR_SYSCTL_SET; i++) {
		FILE *f = fopen(sysctl_set[i].path, "w");
		if (!f || fprintf(f, "%s\n", sysctl_set[i].value) < 0 || fclose(f))
			fail("cannot set %s: %s", sysctl_set[i].path, strerror(errno));
	}
	shm1 = shmget(SHM_KEY, SHM1_SIZE, IPC_CREAT | IPC_EXCL | 0640);
	shm2 = shmget(IPC_PRIVATE, 4096, IPC_CREAT | 0600);
	if (shm1 < 0 || shm2 < 0)
		fail("shmget: %s", strerror(errno));
	uint8_t *a = shmat(shm1, NULL, 0), *b = shmat(shm2, NULL, 0);
	if (a == (void *)-1 || b == (void *)-1)
		fail("shmat: %s", strerror(errno));
	fill(a, SHM1_SIZE, 1);
	fill(b, 4096, 2);
	shmdt(b);
	/* the first stays attached read-write, the second read-only at a place of its own */
	shm1_at = a;
	shm2_at = shmat(shm2, NULL, SHM_RDONLY);
	if (shm2_at == (void *)-1)
		fail("shmat read-only: %s", strerror(errno));
	semid = semget(SEM_KEY, 4, IPC_CREAT | IPC_EXCL | 0600);
	if (semid < 0 || semctl(semid, 0, SETALL, sem_vals))
		fail("semaphores: %s", strerror(errno));
	msqid = msgget(MSG_KEY, IPC_CREAT | IPC_EXCL | 0620);
	if (msqid < 0)
		fail("msgget: %s", strerror(errno));
	for (int i = 0; i < 3; i++) {
		struct { long type; char text[64]; } m = { msgs[i].type, "" };
		strcpy(m.text, msgs[i].text);
		if (msgsnd(msqid, &m, strlen(m.text), 0))
			fail("msgsnd: %s", strerror(errno));
	}
}

static void check_sysctls(void)
{
	for (size_t i = 0; i < NR_SYSCTL_SET; i++) {
		char buf[128] = "";
		FILE *f = fopen(sysctl_set[i].path, "r");
		if (!f || !fgets(buf, sizeof(buf), f))
			fail("cannot read %s", sysctl_set[i].path);
		fclose(f);
		buf[strcspn(buf, "\n")] = 0;
		if (strcmp(buf, sysctl_set[i].value))
			fail("%s is '%s', was '%s'", sysctl_set[i].path, buf, sysctl_set[i].value);
	}
}

static void check_shm(int id, int key, size_t size, int mode, uint64_t seed)
{
	struct shmid_ds ds;
	if (key != IPC_PRIVATE && shmget(key, 0, 0) != id)
		fail("shm key %#x: id %d, was %d", key, shmget(key, 0, 0), id);
	if (shmctl(id, IPC_STAT, &ds))
		fail("shm %d: %s", id, strerror(errno));
	if (ds.shm_segsz != size || (int)(ds.shm_perm.mode & 0777) != mode)
		fail("shm %d: size %zu mode %o, were %zu %o", id, ds.shm_segsz, ds.shm_perm.mode & 0777, size, mode);
	uint8_t *p = shmat(id, NULL, SHM_RDONLY), *want = malloc(size);
	if (p == (void *)-1 || !want)
		fail("shm %d: shmat: %s", id, strerror(errno));
	fill(want, size, seed);
	if (memcmp(p, want, size))
		fail("shm %d: contents differ", id);
	shmdt(p);
	free(want);
}

static void ipc_check(void)
{
	unsigned short v[4];
	struct msqid_ds mq;

	check_sysctls();
	check_shm(shm1, SHM_KEY, SHM1_SIZE, 0640, 1);
	check_shm(shm2, IPC_PRIVATE, 4096, 0600, 2);
	uint8_t *want = malloc(SHM1_SIZE);
	if (!want)
		fail("malloc");
	fill(want, SHM1_SIZE, 1);
	if (memcmp(shm1_at, want, SHM1_SIZE))
		fail("shm %d attached at %p: contents differ", shm1, (void *)shm1_at);
	free(want);
	check_mapped_once(shm1);
	check_mapped_once(shm2);
	/* still the segment, not a copy: a write shows through a new attachment */
	shm1_at[5] ^= 0xff;
	uint8_t *again = shmat(shm1, NULL, SHM_RDONLY);
	if (again == (void *)-1 || again[5] != shm1_at[5])
		fail("shm %d: the attachment at %p is not the segment any more", shm1, (void *)shm1_at);
	shmdt(again);
	shm1_at[5] ^= 0xff;
	uintptr_t s, e;
	char perms[5] = "";
	if (test_find_mapping(shm2_at, &s, &e, perms, NULL, 0) || perms[1] != '-' || perms[3] != 's')
		fail("shm %d attached at %p: mapping %s, not read-only shared", shm2, (void *)shm2_at, perms);
	if (semget(SEM_KEY, 0, 0) != semid || semctl(semid, 0, GETALL, v))
		fail("semaphore set %d: %s", semid, strerror(errno));
	for (int i = 0; i < 4; i++)
		if (v[i] != sem_vals[i])
			fail("semaphore %d of set %d is %u, was %u", i, semid, v[i], sem_vals[i]);
	if (msgget(MSG_KEY, 0) != msqid || msgctl(msqid, IPC_STAT, &mq))
		fail("message queue %d: %s", msqid, strerror(errno));
	if (mq.msg_qnum != 3 || mq.msg_qbytes != 20000 || (mq.msg_perm.mode & 0777) != 0620)
		fail("message queue %d: %lu messages, %lu bytes, mode %o", msqid, (unsigned long)mq.msg_qnum,
		     (unsigned long)mq.msg_qbytes, mq.msg_perm.mode & 0777);
	for (int i = 0; i < 3; i++) {
		struct { long type; char text[64]; } m;
		ssize_t n = msgrcv(msqid, &m, sizeof(m.text), 0, IPC_NOWAIT);
		if (n < 0 || m.type != msgs[i].type || (size_t)n != strlen(msgs[i].text) ||
		    memcmp(m.text, msgs[i].text, n))
			fail("message %d of queue %d differs (%zd bytes, type %ld)", i, msqid, n, n < 0 ? 0 : m.type);
	}
}

static bool want_time;
static int64_t mono_then, boot_then;

static int64_t clock_ns(clockid_t c)
{
	struct timespec ts;
	clock_gettime(c, &ts);
	return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

/* the clocks of its time namespace went on from where they were, not back */
static void time_check(void)
{
	int64_t mono = clock_ns(CLOCK_MONOTONIC), boot = clock_ns(CLOCK_BOOTTIME);
	if (mono < mono_then || mono - mono_then > 300 * 1000000000LL)
		fail("time: CLOCK_MONOTONIC went from %.3f s to %.3f s", mono_then / 1e9, mono / 1e9);
	if (boot < boot_then || boot - boot_then > 300 * 1000000000LL)
		fail("time: CLOCK_BOOTTIME went from %.3f s to %.3f s", boot_then / 1e9, boot / 1e9);
}

/* "mem": 64 MiB of a pattern, checked after the restore (lazy restore: pages to serve) */
#define MEM_SIZE (64UL << 20)
static bool want_mem, want_cgroup, in_pidns_mode;
static uint64_t *mem;

static void mem_setup(void)
{
	mem = mmap(NULL, MEM_SIZE, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (mem == MAP_FAILED)
		fail("mmap: %s", strerror(errno));
	for (size_t i = 0; i < MEM_SIZE / 8; i++)
		mem[i] = test_mix(i);
}

static void mem_check(void)
{
	for (size_t i = 0; i < MEM_SIZE / 8; i++)
		if (mem[i] != test_mix(i))
			fail("memory at offset %zu differs", i * 8);
}

static void ns_setup(void)
{
	/* (pidns: after the forks, not shared copy-on-write: lazy restore serves it) */
	if (want_mem && !in_pidns_mode)
		mem_setup();
	mono_then = clock_ns(CLOCK_MONOTONIC);
	boot_then = clock_ns(CLOCK_BOOTTIME);
	if (want_uts)
		uts_setup();
	if (want_ipc)
		ipc_setup();
}

static void ns_check(void)
{
	if (want_mem)
		mem_check();
	if (want_time)
		time_check();
	if (want_uts)
		uts_check();
	if (want_ipc)
		ipc_check();
}

/* the process of a pidfd as this namespace numbers it: the last NSpid of its fdinfo */
static pid_t pidfd_inner_pid(int fd)
{
	char path[64], line[256];
	pid_t pid = -1;
	snprintf(path, sizeof(path), "/proc/self/fdinfo/%d", fd);
	FILE *f = fopen(path, "r");
	while (f && fgets(line, sizeof(line), f))
		if (!strncmp(line, "NSpid:", 6)) {
			char *s = line + 6, *end;
			for (long v; (v = strtol(s, &end, 10)) > 0 && end != s; s = end)
				pid = v;
		}
	if (f)
		fclose(f);
	return pid;
}

static void run_pidns(void)
{
	in_pidns_mode = true;
	if (getpid() != 1)
		fail("pidns: pid %d, not the init (1) of a pid namespace", getpid());
	/* a container's init leads its session, and its tree is in it */
	if (setsid() != 1)
		fail("setsid: %s", strerror(errno));
	sh = mmap(NULL, sizeof(*sh), PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	if (sh == MAP_FAILED)
		fail("mmap: %s", strerror(errno));
	ns_setup();
	record(P_ROOT);
	pid_t a = fork();
	if (a < 0)
		fail("fork: %s", strerror(errno));
	if (a == 0)
		run_a();
	/* a file owned by A (F_SETOWN), and a pidfd of A: A's pid in the namespace */
	int own[2];
	if (pipe(own) || fcntl(own[0], F_SETOWN, a))
		fail("pipe/F_SETOWN: %s", strerror(errno));
	int pidfd = syscall(SYS_pidfd_open, a, 0);
	if (pidfd < 0)
		fail("pidfd_open(%d): %s", a, strerror(errno));
	while (sh->ready < P_D)	/* all but D */
		usleep(5000);
	if (want_mem)
		mem_setup();
	test_msg("tree ready: A %d, B %d, C %d", sh->pid[P_A], sh->pid[P_B], sh->pid[P_C]);
	test_ready();
	test_wait_checkpoint();
	sh->go = 1;
	check_ids(P_ROOT);
	if (fcntl(own[0], F_GETOWN) != a)
		fail("the pipe's owner is %d, was A (%d)", fcntl(own[0], F_GETOWN), a);
	if (pidfd_inner_pid(pidfd) != a)
		fail("the pidfd is of pid %d here, was of A (%d)", pidfd_inner_pid(pidfd), a);
	ns_check();
	int st;
	if (waitpid(a, &st, 0) != a)
		fail("waitpid(A %d): %s", a, strerror(errno));
	for (int i = 0; i < NPROC; i++) {
		for (int w = 0; w < 400 && !sh->result[i]; w++)
			usleep(5000);
		if (sh->result[i] != 1)
			fail("%s", sh->result[i] ? sh->why[i] : names[i]);
	}
	if (!WIFEXITED(st) || WEXITSTATUS(st))
		fail("A ended with status %#x", st);
	pass();
}

/* the parent of the program, which runs in a child (after unshare(flags)); its status */
static int run_parent(int flags, void (*child)(void))
{
	if (flags && unshare(flags))
		fail("unshare(%#x): %s", flags, strerror(errno));
	pid_t pid = fork();
	if (pid < 0)
		fail("fork: %s", strerror(errno));
	if (pid == 0) {
		child();
		_exit(1);
	}
	int st;
	while (waitpid(pid, &st, 0) < 0)
		if (errno != EINTR)
			fail("waitpid: %s", strerror(errno));
	return WIFEXITED(st) ? WEXITSTATUS(st) : 1;
}

/* a single process: its pid and hostname unchanged, and uts/ipc if asked */
/* "cgroup": its /proc/self/cgroup, every path its cgroup namespace's root */
static char cg_before[8192];

static void read_cgroups(char *buf, size_t len)
{
	int fd = open("/proc/self/cgroup", O_RDONLY | O_CLOEXEC);
	ssize_t n = fd < 0 ? -1 : read(fd, buf, len - 1);
	if (fd >= 0)
		close(fd);
	if (n <= 0)
		fail("cannot read /proc/self/cgroup: %s", strerror(errno));
	buf[n] = 0;
}

static void cgroup_setup(void)
{
	read_cgroups(cg_before, sizeof(cg_before));
	for (char *l = cg_before; *l; l = strchr(l, '\n') + 1)
		if (strncmp(strchr(strchr(l, ':') + 1, ':'), ":/\n", 3))
			fail("not at the root of its cgroup namespace: %.*s", (int)strcspn(l, "\n"), l);
}

static void cgroup_check(void)
{
	char after[8192];
	read_cgroups(after, sizeof(after));
	if (strcmp(after, cg_before))
		fail("its cgroups are\n%s, were\n%s", after, cg_before);
}

static void run_plain(void)
{
	char host[256], host_after[256];
	pid_t pid = getpid();

	ns_setup();
	if (want_cgroup)
		cgroup_setup();
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
	ns_check();
	if (want_cgroup)
		cgroup_check();
	pass();
}

static void nested_child(void)
{
	if (unshare(want_uts ? CLONE_NEWUTS : CLONE_NEWIPC))
		fail("unshare: %s", strerror(errno));
	want_uts = want_ipc = false;
	run_plain();
}

/*
 * ns_state [MODE [uts] [ipc]]: MODE "plain" (the default), "pidns",
 * "outer" (see above), "nested" (a parent in the caller's namespaces, the
 * program in a child in a uts or ipc namespace of its own: dumping the
 * parent is refused)
 */
int main(int argc, char **argv)
{
	const char *mode = argc > 1 ? argv[1] : "plain";

	test_init(argc, argv);
	for (int i = 2; i < argc; i++) {
		want_uts |= !strcmp(argv[i], "uts");
		want_ipc |= !strcmp(argv[i], "ipc");
		want_time |= !strcmp(argv[i], "time");
		want_mem |= !strcmp(argv[i], "mem");
		want_cgroup |= !strcmp(argv[i], "cgroup");
	}
	if (!strcmp(mode, "pidns"))
		run_pidns();
	if (!strcmp(mode, "outer"))
		return run_parent(CLONE_NEWPID, run_pidns);	/* like unshare --pid --fork */
	if (!strcmp(mode, "nested"))
		return run_parent(0, nested_child);
	run_plain();
}
