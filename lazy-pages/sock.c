/* sock.c - the lazy-pages socket's address (see sock.h). */
#include <stddef.h>
#include <stdio.h>
#include <string.h>

#include "sock.h"
#include "socket-proto.h"

int lazy_sock_addr(const char *dir, int dirfd, struct sockaddr_un *sa)
{
	int n;

	memset(sa, 0, sizeof(*sa));
	sa->sun_family = AF_UNIX;
	n = snprintf(sa->sun_path, sizeof(sa->sun_path), "%s/%s", dir, LAZY_SOCK_NAME);
	if (n < 0 || (size_t)n >= sizeof(sa->sun_path))
		n = snprintf(sa->sun_path, sizeof(sa->sun_path), "/proc/self/fd/%d/%s", dirfd,
			     LAZY_SOCK_NAME);
	if (n < 0 || (size_t)n >= sizeof(sa->sun_path))
		return -1;
	return offsetof(struct sockaddr_un, sun_path) + n + 1;
}
