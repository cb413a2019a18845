/*
 * sys.h - the restorer's own syscall layer: raw x86_64 syscalls, no libc,
 * no errno (a negative return is -errno).
 */
#ifndef PIE_SYS_H
#define PIE_SYS_H

#include <asm/unistd.h>

static inline long sys6(long nr, long a, long b, long c, long d, long e, long f)
{
	long ret;
	register long r10 __asm__("r10") = d;
	register long r8 __asm__("r8") = e;
	register long r9 __asm__("r9") = f;
	__asm__ volatile("syscall"
			 : "=a"(ret)
			 : "a"(nr), "D"(a), "S"(b), "d"(c), "r"(r10), "r"(r8), "r"(r9)
			 : "rcx", "r11", "memory");
	return ret;
}

#define sys0(nr) sys6(nr, 0, 0, 0, 0, 0, 0)
#define sys1(nr, a) sys6(nr, (long)(a), 0, 0, 0, 0, 0)
#define sys2(nr, a, b) sys6(nr, (long)(a), (long)(b), 0, 0, 0, 0)
#define sys3(nr, a, b, c) sys6(nr, (long)(a), (long)(b), (long)(c), 0, 0, 0)
#define sys4(nr, a, b, c, d) sys6(nr, (long)(a), (long)(b), (long)(c), (long)(d), 0, 0)
#define sys5(nr, a, b, c, d, e) sys6(nr, (long)(a), (long)(b), (long)(c), (long)(d), (long)(e), 0)

/* sendmsg with one fd attached (the kernel's struct msghdr and cmsghdr) */
struct k_iovec {
	void *base;
	unsigned long len;
};

struct k_msghdr {
	void *name;
	int namelen;
	struct k_iovec *iov;
	unsigned long iovlen;
	void *control;
	unsigned long controllen;
	unsigned flags;
};

struct k_cmsg_fd {
	unsigned long len;
	int level;
	int type;
	int fd;
	int pad;
};

struct k_cmsg_2fd {
	unsigned long len;
	int level;
	int type;
	int fd[2];
};

#ifndef __NR_pidfd_open
#define __NR_pidfd_open 434
#endif

#define K_SOL_SOCKET	1
#define K_SCM_RIGHTS	1
#define K_MSG_NOSIGNAL	0x4000

#define IS_ERR(x) ((unsigned long)(x) >= (unsigned long)-4095)

#endif /* PIE_SYS_H */
