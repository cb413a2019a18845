/*
 * unix-opts.c - the SOL_SOCKET options of a unix socket that socket.c does
 * not carry itself (SO_PASSCRED, the buffer sizes): receive timeouts and
 * low-water mark, SO_PEEK_OFF, SO_PASSSEC/SO_PASSPIDFD/SO_PASSRIGHTS,
 * SO_LINGER, priority, mark, timestamps, and the flags any socket has; its
 * classic BPF filter and the filter's lock (sk-filter.c).
 *
 * Dump: each option of the table, read with getsockopt on a copy of the
 * socket, is kept (UnixSocket.opts, its bytes as given) when it differs
 * from a new socket's of the same type; restore sets each back with
 * setsockopt.  A kernel that does not know an option (ENOPROTOOPT) has
 * nothing to keep of it.  Owns no state beyond the call.
 */
#define LOG_PREFIX "files: "
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "common/compat.h"
#include "criu/files/files.h"
#include "common/log.h"
#include "criu/files/sk-filter.h"
#include "criu/files/unix-sk.h"

static const int opts[] = {
	SO_DEBUG, SO_REUSEADDR, SO_DONTROUTE, SO_BROADCAST, SO_KEEPALIVE, SO_OOBINLINE, SO_NO_CHECK,
	SO_PRIORITY, SO_LINGER, SO_REUSEPORT, SO_RCVLOWAT, SO_RCVTIMEO_OLD, SO_SNDTIMEO_OLD,
	SO_TIMESTAMP_OLD, SO_TIMESTAMPNS_OLD, SO_TIMESTAMP_NEW, SO_TIMESTAMPNS_NEW, SO_TIMESTAMPING_OLD,
	SO_PASSSEC, SO_MARK, SO_RXQ_OVFL, SO_WIFI_STATUS, SO_PEEK_OFF, SO_NOFCS, SO_SELECT_ERR_QUEUE,
	SO_BUSY_POLL, SO_MAX_PACING_RATE, SO_INCOMING_CPU, SO_PREFER_BUSY_POLL, SO_RCVMARK, SO_PASSPIDFD,
	SO_RCVPRIORITY, SO_PASSRIGHTS,
};

/* opt's value on fd into buf (*len bytes); 1 if the kernel has no such option */
static int get_opt(int fd, int opt, char *buf, socklen_t *len)
{
	*len = 64;
	memset(buf, 0, 64);
	if (!getsockopt(fd, SOL_SOCKET, opt, buf, len))
		return 0;
	return errno == ENOPROTOOPT || errno == EOPNOTSUPP ? 1 : -1;
}

static int keep_opt(UnixSocket *u, int opt, const char *v, socklen_t len)
{
	SockOpt **n = realloc(u->opts, (u->n_opts + 1) * sizeof(*n));
	if (!n)
		return -1;
	u->opts = n;
	SockOpt *o = malloc(sizeof(*o));
	if (!o)
		return -1;
	sock_opt__init(o);
	o->name = opt;
	o->value.len = len;
	o->value.data = malloc(len);
	if (!o->value.data) {
		free(o);
		return -1;
	}
	memcpy(o->value.data, v, len);
	u->opts[u->n_opts++] = o;
	return 0;
}

int usk_dump_opts(const char *what, int copy, int type, UnixSocket *u)
{
	char v[64], d[64];
	socklen_t vl, dl;
	int fresh = socket(AF_UNIX, type | SOCK_CLOEXEC, 0), ret = -1;

	if (fresh < 0) {
		pr_perror("%s: cannot make a socket to compare its options with", what);
		return -1;
	}
	for (size_t i = 0; i < sizeof(opts) / sizeof(opts[0]); i++) {
		int e = get_opt(copy, opts[i], v, &vl);
		if (e > 0)
			continue;
		if (e < 0 || get_opt(fresh, opts[i], d, &dl) < 0) {
			pr_perror("%s: getsockopt(SOL_SOCKET, %d)", what, opts[i]);
			goto out;
		}
		if ((vl != dl || memcmp(v, d, vl)) && keep_opt(u, opts[i], v, vl))
			goto out;
	}
	bool locked = false;
	if (sk_filter_dump(what, copy, &u->filter, &u->has_filter, &locked))
		goto out;
	u->has_filter_locked = locked;
	u->filter_locked = locked;
	ret = 0;
out:
	close(fresh);
	return ret;
}

int usk_restore_opts(int fd, const FileEntry *fe)
{
	const UnixSocket *u = fe->unix_sk;
	for (size_t i = 0; i < u->n_opts; i++) {
		const SockOpt *o = u->opts[i];
		if (setsockopt(fd, SOL_SOCKET, o->name, o->value.data, o->value.len)) {
			pr_perror("file %u: cannot set socket option %u again", fe->id, o->name);
			return -1;
		}
	}
	return sk_filter_restore(fe->id, fd, &u->filter, u->has_filter, u->filter_locked);
}
