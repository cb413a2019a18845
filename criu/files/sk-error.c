/*
 * sk-error.c - a socket's pending error (sk_err: ECONNREFUSED from an
 * ICMP error on a connected UDP socket, ECONNRESET or ETIMEDOUT on a TCP
 * one, ENOBUFS on an overrun netlink socket) and its error queue
 * (MSG_ERRQUEUE: IP_RECVERR errors, transmit timestamps).  getsockopt
 * SO_ERROR and any recv clear the error, MSG_ERRQUEUE reads dequeue, and
 * no call sets them again: poll() shows both as POLLERR without touching
 * them, so a socket with either is refused at dump, the process left
 * with its error.
 */
#define LOG_PREFIX "files: "
#include <errno.h>
#include <poll.h>

#include "common/log.h"
#include "criu/files/sk-error.h"

int sk_refuse_error(const char *what, int sk, const char *kind)
{
	struct pollfd p = { .fd = sk, .events = 0 };
	if (poll(&p, 1, 0) < 0) {
		pr_perror("%s: poll of the %s", what, kind);
		return -1;
	}
	if (p.revents & POLLERR) {
		pr_err("%s: %s has a pending error (SO_ERROR) or error queue messages (MSG_ERRQUEUE): not supported (reading them would clear them)",
		       what, kind);
		return -1;
	}
	return 0;
}
