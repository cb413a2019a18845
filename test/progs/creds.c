/*
 * creds: a process that dropped root: uids 1000/1001/1002 (real, effective,
 * saved), gids 2000/2001/2002, groups 3000 and 3001, CAP_NET_BIND_SERVICE
 * effective, CAP_NET_BIND_SERVICE and CAP_CHOWN permitted, CAP_CHOWN
 * inheritable, CAP_SYS_BOOT dropped from the bounding set, SECBIT_KEEP_CAPS.
 * All of it must be the same after restore.
 */
#include <grp.h>
#include <linux/capability.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "test/lib/test.h"

#define BIT(c) (1U << (c))

static void caps(struct __user_cap_data_struct d[2], int set)
{
	struct __user_cap_header_struct h = { _LINUX_CAPABILITY_VERSION_3, 0 };
	if (syscall(set ? SYS_capset : SYS_capget, &h, d))
		fail("capget/capset: %m");
}

int main(int argc, char **argv)
{
	gid_t groups[2] = { 3000, 3001 }, g[8];
	uid_t r, e, s;
	struct __user_cap_data_struct d[2] = { { 0 } };

	test_init(argc, argv);
	if (getuid() != 0)
		skip("needs to start as root");
	if (prctl(PR_CAPBSET_DROP, CAP_SYS_BOOT) || setgroups(2, groups) ||
	    setresgid(2000, 2001, 2002) || prctl(PR_SET_KEEPCAPS, 1) ||
	    setresuid(1000, 1001, 1002))
		fail("dropping root: %m");
	d[0].effective = BIT(CAP_NET_BIND_SERVICE);
	d[0].permitted = BIT(CAP_NET_BIND_SERVICE) | BIT(CAP_CHOWN);
	d[0].inheritable = BIT(CAP_CHOWN);
	caps(d, 1);
	test_ready();
	test_wait_checkpoint();

	if (getresuid(&r, &e, &s) || r != 1000 || e != 1001 || s != 1002)
		fail("uids %u/%u/%u after restore", r, e, s);
	if (getresgid(&r, &e, &s) || r != 2000 || e != 2001 || s != 2002)
		fail("gids %u/%u/%u after restore", r, e, s);
	int n = getgroups(8, g);
	if (n != 2 || g[0] != 3000 || g[1] != 3001)
		fail("%d supplementary groups after restore", n);
	caps(d, 0);
	if (d[0].effective != BIT(CAP_NET_BIND_SERVICE) ||
	    d[0].permitted != (BIT(CAP_NET_BIND_SERVICE) | BIT(CAP_CHOWN)) ||
	    d[0].inheritable != BIT(CAP_CHOWN) || d[1].effective || d[1].permitted)
		fail("capabilities %#x/%#x/%#x after restore", d[0].effective, d[0].permitted,
		     d[0].inheritable);
	if (prctl(PR_CAPBSET_READ, CAP_SYS_BOOT) != 0 || prctl(PR_CAPBSET_READ, CAP_CHOWN) != 1)
		fail("bounding set changed");
	if (prctl(PR_GET_KEEPCAPS) != 1)
		fail("SECBIT_KEEP_CAPS lost");
	pass();
}
