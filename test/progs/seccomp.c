/*
 * seccomp: a process under a seccomp filter that makes uname(2) and
 * getppid(2) fail with EPERM is still filtered after restore (dumping and
 * restoring it must not trip the filter either).
 */
#include <errno.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <stddef.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <sys/utsname.h>
#include <unistd.h>

#include "test/lib/test.h"

#define DENY(nr) \
	BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, (nr), 0, 1), \
	BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ERRNO | EPERM)

int main(int argc, char **argv)
{
	struct sock_filter f1[] = {
		BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, nr)),
		DENY(SYS_uname),
		BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
	};
	struct sock_filter f2[] = {
		BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, nr)),
		DENY(SYS_getppid),
		BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
	};
	struct sock_fprog p1 = { sizeof(f1) / sizeof(f1[0]), f1 };
	struct sock_fprog p2 = { sizeof(f2) / sizeof(f2[0]), f2 };
	struct utsname u;

	test_init(argc, argv);
	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) ||
	    syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, 0, &p1) ||
	    syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, 0, &p2))
		fail("installing the filters: %m");
	if (uname(&u) == 0 || syscall(SYS_getppid) != -1)
		fail("the filters do not filter");
	test_ready();
	test_wait_checkpoint();
	errno = 0;
	if (uname(&u) == 0 || errno != EPERM)
		fail("uname is no longer filtered after restore");
	errno = 0;
	if (syscall(SYS_getppid) != -1 || errno != EPERM)
		fail("getppid is no longer filtered after restore");
	if (getpid() <= 0)
		fail("getpid is filtered");
	pass();
}
