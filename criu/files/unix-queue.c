/*
 * unix-queue.c - the queued messages of a unix datagram socket, sent again
 * at restore each from a socket that has the address of its sender, in
 * their order: a receiver's recvfrom() gives the address the sending socket
 * has when the message is read, so the sender must be a socket bound to
 * that name (or an unnamed one).
 *
 * A sender is, by preference, a datagram socket of the process bound to
 * that name (already made: this runs once every fd is in place), else a
 * throw-away socket bound to it for the time of the sending (usk_bind_as:
 * a path held by another socket file is moved aside meanwhile and put back,
 * a path it had to create is removed).  The message keeps its sender's
 * address after the throw-away socket is closed.
 *
 * Owns nothing beyond the call: every socket it makes is closed and every
 * path put back before it returns.  Knows nothing of fd numbers.
 */
#define LOG_PREFIX "files: "
#include <errno.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "criu/files/files.h"
#include "common/log.h"
#include "criu/files/unix-sk.h"

#define SUN_LEN_MAX sizeof(((struct sockaddr_un *)0)->sun_path)

socklen_t usk_addr(const ProtobufCBinaryData *name, struct sockaddr_un *a)
{
	memset(a, 0, sizeof(*a));
	a->sun_family = AF_UNIX;
	size_t len = name->len < SUN_LEN_MAX ? name->len : SUN_LEN_MAX;
	memcpy(a->sun_path, name->data, len);
	return offsetof(struct sockaddr_un, sun_path) + len;
}

int usk_bind_as(int fd, const ProtobufCBinaryData *name, struct usk_as *as)
{
	struct sockaddr_un a;
	socklen_t len = usk_addr(name, &a);
	struct stat st;

	memset(as, 0, sizeof(*as));
	if (a.sun_path[0]) {
		memcpy(as->path, a.sun_path, SUN_LEN_MAX);
		if (!lstat(as->path, &st)) {
			snprintf(as->aside, sizeof(as->aside), "%s.criu-aside-%d", as->path, getpid());
			if (rename(as->path, as->aside)) {
				pr_perror("cannot move %s aside to send as it", as->path);
				return -1;
			}
			as->moved = true;
		}
	}
	if (bind(fd, (struct sockaddr *)&a, len)) {
		pr_perror("cannot bind a socket to %s%.*s to send as it", a.sun_path[0] ? "" : "@",
			  (int)name->len - !a.sun_path[0], a.sun_path + !a.sun_path[0]);
		usk_unbind_as(as);
		return -1;
	}
	as->made = a.sun_path[0] != 0;
	return 0;
}

void usk_unbind_as(struct usk_as *as)
{
	if (as->made && unlink(as->path))
		pr_perror("cannot remove %s", as->path);
	if (as->moved && rename(as->aside, as->path))
		pr_perror("cannot put %s back", as->path);
	as->made = as->moved = false;
}

/* a throw-away sender bound to a name, kept until the queue is sent */
struct temp_sender {
	ProtobufCBinaryData name;
	int fd;
	struct usk_as as;
};

struct senders {
	struct temp_sender *v;
	size_t nr;
};

static void senders_free(struct senders *s)
{
	for (size_t i = 0; i < s->nr; i++) {
		close(s->v[i].fd);
		usk_unbind_as(&s->v[i].as);
	}
	free(s->v);
}

static bool same_name(const ProtobufCBinaryData *a, const ProtobufCBinaryData *b)
{
	return a->len == b->len && (!a->len || !memcmp(a->data, b->data, a->len));
}

/* a datagram socket of the process bound to name, open: its fd, or -1 */
static int own_sender(const struct fd_rst *r, const ProtobufCBinaryData *name)
{
	for (uint32_t id = 1; id <= r->nr_files; id++) {
		const FileEntry *fe = r->file[id];
		if (fe->kind != FD_KIND__FD_UNIXSK || fe->external || r->where[id] < 0)
			continue;
		const UnixSocket *u = fe->unix_sk;
		if (u->type == SOCK_DGRAM && u->has_name && same_name(&u->name, name))
			return r->where[id];
	}
	return -1;
}

static int temp_sender(struct senders *s, const ProtobufCBinaryData *name, const FileEntry *fe)
{
	for (size_t i = 0; i < s->nr; i++)
		if (same_name(&s->v[i].name, name))
			return s->v[i].fd;
	struct temp_sender *n = realloc(s->v, (s->nr + 1) * sizeof(*n));
	if (!n)
		return -1;
	s->v = n;
	struct temp_sender *t = &s->v[s->nr];
	int big = 64 << 20;
	t->name = *name;
	t->fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	memset(&t->as, 0, sizeof(t->as));
	if (t->fd < 0 || setsockopt(t->fd, SOL_SOCKET, SO_SNDBUFFORCE, &big, sizeof(big))) {
		pr_perror("file %u: cannot make a socket to send its queued messages", fe->id);
		if (t->fd >= 0)
			close(t->fd);
		return -1;
	}
	if (name->len && usk_bind_as(t->fd, name, &t->as)) {
		close(t->fd);
		return -1;
	}
	s->nr++;
	return t->fd;
}

int usk_requeue_dgram(const struct fd_rst *r, const FileEntry *fe, int rcv, const struct sockaddr_un *to,
		      socklen_t tolen)
{
	const UnixSocket *u = fe->unix_sk;
	static const ProtobufCBinaryData unnamed = { 0, NULL };
	struct senders s = { NULL, 0 };
	int ret = 0;

	for (size_t i = 0; i < u->n_queue && !ret; i++) {
		const ProtobufCBinaryData *name = i < u->n_sender ? &u->sender[i] : &unnamed;
		int from = name->len ? own_sender(r, name) : -1;
		if (from < 0)
			from = temp_sender(&s, name, fe);
		if (from < 0 || usk_send(from, rcv, &u->queue[i], i < u->n_msg ? u->msg[i] : NULL, r, to, tolen) !=
					(ssize_t)u->queue[i].len) {
			if (from >= 0)
				pr_perror("file %u: cannot queue its message %zu (%zu bytes) again", fe->id, i,
					  u->queue[i].len);
			ret = -1;
		}
	}
	senders_free(&s);
	return ret;
}
