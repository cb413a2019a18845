/*
 * sk-filter.c - the socket filter of any socket kind: a classic BPF program
 * attached with SO_ATTACH_FILTER, read back with SO_GET_FILTER as struct
 * sock_filter[], and whether it is locked (SO_LOCK_FILTER).  An eBPF
 * filter (SO_ATTACH_BPF), which SO_GET_FILTER cannot give back, is refused
 * with one line.  Restore attaches the program again, then locks it.
 */
#define LOG_PREFIX "files: "
#include <linux/filter.h>
#include <stdlib.h>
#include <sys/socket.h>

#include "common/log.h"
#include "criu/files/sk-filter.h"

int sk_filter_dump(const char *what, int sk, ProtobufCBinaryData *prog, protobuf_c_boolean *has,
		   bool *locked)
{
	socklen_t n = 0;
	int lock = 0;
	socklen_t ll = sizeof(lock);

	if (getsockopt(sk, SOL_SOCKET, SO_GET_FILTER, NULL, &n)) {
		pr_err("%s: a socket filter criu cannot read (eBPF?): not supported", what);
		return -1;
	}
	if (locked && getsockopt(sk, SOL_SOCKET, SO_LOCK_FILTER, &lock, &ll)) {
		pr_perror("%s: SO_LOCK_FILTER", what);
		return -1;
	}
	if (locked)
		*locked = lock != 0;
	if (!n)
		return 0;
	prog->len = n * sizeof(struct sock_filter);
	prog->data = malloc(prog->len);
	if (!prog->data || getsockopt(sk, SOL_SOCKET, SO_GET_FILTER, prog->data, &n)) {
		pr_perror("%s: SO_GET_FILTER", what);
		return -1;
	}
	*has = true;
	return 0;
}

int sk_filter_restore(unsigned id, int sk, const ProtobufCBinaryData *prog, bool has, bool locked)
{
	struct sock_fprog fp = { prog->len / sizeof(struct sock_filter),
				 (struct sock_filter *)prog->data };
	int one = 1;

	if (has && (prog->len % sizeof(struct sock_filter) || !fp.len ||
		    setsockopt(sk, SOL_SOCKET, SO_ATTACH_FILTER, &fp, sizeof(fp)))) {
		pr_perror("file %u: cannot attach the socket's filter again", id);
		return -1;
	}
	if (locked && setsockopt(sk, SOL_SOCKET, SO_LOCK_FILTER, &one, sizeof(one))) {
		pr_perror("file %u: cannot lock the socket's filter again", id);
		return -1;
	}
	return 0;
}
