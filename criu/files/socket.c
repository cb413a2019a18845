/*
 * socket.c - unix sockets.
 *
 * Dump: every unix socket of the system is listed once with
 * NETLINK_SOCK_DIAG (type, state, inode, peer inode, bound name and its
 * socket file's inode, shutdown bits, backlog, pending connections);
 * socket options (unix-opts.c) and the queued data come from a copy of the
 * fd (pidfd_getfd).  Data is read with MSG_PEEK (SO_PEEK_OFF steps over
 * messages and is put back as it was), so nothing is consumed; with each
 * message its sender's address (datagrams) and control data (unix-cmsg.c:
 * files in flight, credentials).  A peer in another process of the dumped
 * tree is fine (the pair is made once for both, dump's dump-tree.c).  A name
 * that is a relative path is found from the process's cwd (checked by its
 * inode).  Refused: a peer outside the dumped tree, a listening socket
 * with connections not yet accepted, what unix-cmsg.c and check_senders
 * refuse, relative paths that do not lead to the socket from the cwd,
 * other families.  With --ext-unix-sk (at dump and restore), a datagram
 * socket connected one way to a named socket of another process is kept,
 * and connects to that name again; a stream or seqpacket socket connected
 * outside is external (key "socket:[INODE]", nothing of it kept): restore
 * needs --inherit-fd, as with CRIU (inherit.c).
 *
 * Restore: two sockets connected to each other come back as a socketpair
 * (data requeued each way by sending from the other end, then shutdown),
 * and so does a datagram socket connected to a closed socket or unnamed
 * with messages queued (the other end sends them and is closed); a
 * listening socket is bound and listens again; a datagram socket alone is
 * bound, and once every fd is in place (post) gets its messages, each from
 * its sender's address (unix-queue.c), then connects again.  A queue with
 * files in flight is sent in post too.  The name of an accepted connection
 * is not kept.
 */
#define LOG_PREFIX "files: "
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <linux/netlink.h>
#include <linux/sock_diag.h>
#include <linux/unix_diag.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "criu/files/files.h"
#include "criu/files/sk-error.h"
#include "common/log.h"
#include "criu/files/unix-sk.h"

#define ST_CONNECTED	1
#define ST_CLOSE	7
#define ST_LISTEN	10

struct usk {
	uint64_t ino, peer;
	uint8_t type, state, shutdown;
	uint32_t backlog, pending;
	uint32_t vfs_ino, vfs_dev;	/* a path name's socket file (UDIAG_SHOW_VFS) */
	int namelen;
	char name[sizeof(((struct sockaddr_un *)0)->sun_path)];
};

struct usk_table {
	size_t nr, cap;
	struct usk *v;	/* sorted by inode */
};

void unix_diag_free(void *t)
{
	struct usk_table *u = t;
	if (u)
		free(u->v);
	free(u);
}

static int cmp_usk(const void *a, const void *b)
{
	const struct usk *x = a, *y = b;
	return x->ino < y->ino ? -1 : x->ino > y->ino;
}

static const struct usk *usk_find(const struct usk_table *t, uint64_t ino)
{
	struct usk key = { .ino = ino };
	return t ? bsearch(&key, t->v, t->nr, sizeof(key), cmp_usk) : NULL;
}

static int parse_msg(struct usk_table *t, struct nlmsghdr *h)
{
	struct unix_diag_msg *m = NLMSG_DATA(h);
	if (t->nr == t->cap) {
		t->cap = t->cap ? t->cap * 2 : 256;
		struct usk *n = realloc(t->v, t->cap * sizeof(*n));
		if (!n)
			return -1;
		t->v = n;
	}
	struct usk *u = &t->v[t->nr++];
	memset(u, 0, sizeof(*u));
	u->ino = m->udiag_ino;
	u->type = m->udiag_type;
	u->state = m->udiag_state;
	int len = h->nlmsg_len - NLMSG_LENGTH(sizeof(*m));
	for (struct nlattr *a = (struct nlattr *)(m + 1); len >= (int)sizeof(*a) && a->nla_len >= sizeof(*a) &&
	     a->nla_len <= len; len -= NLA_ALIGN(a->nla_len), a = (struct nlattr *)((char *)a + NLA_ALIGN(a->nla_len))) {
		void *data = (char *)a + NLA_HDRLEN;
		int dl = a->nla_len - NLA_HDRLEN;
		switch (a->nla_type) {
		case UNIX_DIAG_NAME:
			u->namelen = dl < (int)sizeof(u->name) ? dl : (int)sizeof(u->name);
			memcpy(u->name, data, u->namelen);
			break;
		case UNIX_DIAG_PEER:
			u->peer = *(uint32_t *)data;
			break;
		case UNIX_DIAG_RQLEN:
			if (u->state == ST_LISTEN) {
				u->pending = ((struct unix_diag_rqlen *)data)->udiag_rqueue;
				u->backlog = ((struct unix_diag_rqlen *)data)->udiag_wqueue;
			}
			break;
		case UNIX_DIAG_SHUTDOWN:
			u->shutdown = *(uint8_t *)data;
			break;
		case UNIX_DIAG_VFS:
			if (dl >= (int)sizeof(struct unix_diag_vfs)) {
				u->vfs_ino = ((struct unix_diag_vfs *)data)->udiag_vfs_ino;
				u->vfs_dev = ((struct unix_diag_vfs *)data)->udiag_vfs_dev;
			}
			break;
		}
	}
	return 0;
}

static struct usk_table *unix_diag_load(void)
{
	struct usk_table *t = calloc(1, sizeof(*t));
	int s = socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_SOCK_DIAG);
	struct {
		struct nlmsghdr h;
		struct unix_diag_req r;
	} req = {
		.h = { .nlmsg_len = sizeof(req), .nlmsg_type = SOCK_DIAG_BY_FAMILY,
		       .nlmsg_flags = NLM_F_REQUEST | NLM_F_DUMP, .nlmsg_seq = 1 },
		.r = { .sdiag_family = AF_UNIX, .udiag_states = ~0U,
		       .udiag_show = UDIAG_SHOW_NAME | UDIAG_SHOW_PEER | UDIAG_SHOW_RQLEN | UDIAG_SHOW_VFS },
	};
	static char buf[65536] __attribute__((aligned(8)));

	if (!t || s < 0 || send(s, &req, sizeof(req), 0) != sizeof(req)) {
		pr_perror("cannot ask NETLINK_SOCK_DIAG for unix sockets");
		goto err;
	}
	for (;;) {
		ssize_t n = recv(s, buf, sizeof(buf), 0);
		if (n <= 0) {
			pr_perror("NETLINK_SOCK_DIAG: recv");
			goto err;
		}
		for (struct nlmsghdr *h = (struct nlmsghdr *)buf; NLMSG_OK(h, n); h = NLMSG_NEXT(h, n)) {
			if (h->nlmsg_type == NLMSG_DONE)
				goto done;
			if (h->nlmsg_type == NLMSG_ERROR) {
				errno = -((struct nlmsgerr *)NLMSG_DATA(h))->error;
				pr_perror("NETLINK_SOCK_DIAG (unix sockets)");
				goto err;
			}
			if (parse_msg(t, h))
				goto err;
		}
	}
done:
	close(s);
	qsort(t->v, t->nr, sizeof(*t->v), cmp_usk);
	return t;
err:
	if (s >= 0)
		close(s);
	unix_diag_free(t);
	return NULL;
}

static bool unixsk_match(const struct fd_probe *p)
{
	return S_ISSOCK(p->st.st_mode);
}

/* records the address of the sender of the last message queued on u */
static int add_sender(UnixSocket *u, const struct sockaddr_un *from, socklen_t len)
{
	size_t off = offsetof(struct sockaddr_un, sun_path);
	ProtobufCBinaryData *n = realloc(u->sender, u->n_queue * sizeof(*n));
	if (!n)
		return -1;
	u->sender = n;
	n = &u->sender[u->n_sender++];
	n->len = len > off ? len - off : 0;
	n->data = malloc(n->len + 1);
	if (!n->data)
		return -1;
	memcpy(n->data, from->sun_path, n->len);
	return 0;
}

/* x, the control data of the message last queued on u (NULL: none), kept
 * in u->msg, one per queue entry once any message has some */
static int add_msg(UnixSocket *u, SkMsg *x)
{
	if (!x && !u->n_msg)
		return 0;
	SkMsg **n = realloc(u->msg, u->n_queue * sizeof(*n));
	if (!n) {
		if (x)
			sk_msg__free_unpacked(x, NULL);
		return -1;
	}
	u->msg = n;
	while (u->n_msg < u->n_queue - 1) {
		SkMsg *e = calloc(1, sizeof(*e));
		if (!e)
			return -1;
		sk_msg__init(e);
		u->msg[u->n_msg++] = e;
	}
	if (!x && !(x = calloc(1, sizeof(*x))))
		return -1;
	if (!x->base.descriptor)
		sk_msg__init(x);
	u->msg[u->n_msg++] = x;
	return 0;
}

/* appends n bytes to u's last queue entry, or a new entry */
static int add_data(UnixSocket *u, const char *buf, size_t n, bool append, size_t *cap)
{
	if (append && u->n_queue) {
		ProtobufCBinaryData *q = &u->queue[u->n_queue - 1];
		char *nd = realloc(q->data, q->len + n);
		if (!nd)
			return -1;
		memcpy(nd + q->len, buf, n);
		q->data = (uint8_t *)nd;
		q->len += n;
		return 0;
	}
	if (u->n_queue == *cap) {
		*cap = *cap ? *cap * 2 : 4;
		ProtobufCBinaryData *nq = realloc(u->queue, *cap * sizeof(*nq));
		if (!nq)
			return -1;
		u->queue = nq;
	}
	ProtobufCBinaryData *q = &u->queue[u->n_queue++];
	q->len = n;
	q->data = malloc(n ? n : 1);
	if (!q->data)
		return -1;
	memcpy(q->data, buf, n);
	return 0;
}

/*
 * The queued data of a copy of the socket, peeked, with what came with each
 * message (unix-cmsg.c: files in flight, credentials).  A stream is one
 * entry, but where a message brings control data: each such one is an
 * entry of its own.
 */
static int peek_queue(const struct fd_dump *d, const char *what, int copy, int type, UnixSocket *u)
{
	int off = -1, zero = 0, ret = -1;
	socklen_t ol = sizeof(off);
	size_t cap = 0, total = 0;
	static char buf[1 << 20];
	static char ctl[CMSG_SPACE(sizeof(int) * 253) + 4096] __attribute__((aligned(8)));

	if (getsockopt(copy, SOL_SOCKET, SO_PEEK_OFF, &off, &ol) ||
	    setsockopt(copy, SOL_SOCKET, SO_PEEK_OFF, &zero, sizeof(zero))) {
		pr_perror("%s: SO_PEEK_OFF", what);
		return -1;
	}
	for (;;) {
		struct iovec iov = { buf, sizeof(buf) };
		struct sockaddr_un from;
		struct msghdr mh = { .msg_iov = &iov, .msg_iovlen = 1, .msg_control = ctl,
				     .msg_controllen = sizeof(ctl), .msg_name = &from, .msg_namelen = sizeof(from) };
		ssize_t n = recvmsg(copy, &mh, MSG_PEEK | MSG_DONTWAIT | MSG_CMSG_CLOEXEC);
		if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
			break;
		if (n < 0) {
			pr_perror("%s: cannot peek at its queue", what);
			goto out;
		}
		SkMsg *x;
		if (usk_peek_cmsg(d, what, &mh, u->passcred, &x))
			goto out;
		/* end of a stream; for messages, the end once the peer shut
		 * down (an empty message then is taken for it) */
		if (!x && n == 0 && (type == SOCK_STREAM || (u->shutdown & 1)))
			break;
		if (mh.msg_flags & MSG_TRUNC) {
			pr_err("%s: a queued message larger than 1 MiB: not supported", what);
			goto out_x;
		}
		if ((total += n) > FILE_DATA_LIMIT) {
			pr_err("%s: more than %u MiB queued: not supported", what, FILE_DATA_LIMIT >> 20);
			goto out_x;
		}
		if (add_data(u, buf, n, type == SOCK_STREAM && !x && !u->n_msg, &cap))
			goto out_x;
		if (add_msg(u, x))
			goto out;
		if (type == SOCK_DGRAM && add_sender(u, &from, mh.msg_namelen))
			goto out;
		continue;
out_x:
		if (x)
			sk_msg__free_unpacked(x, NULL);
		goto out;
	}
	ret = 0;
out:
	if (setsockopt(copy, SOL_SOCKET, SO_PEEK_OFF, &off, sizeof(off)) && off >= 0) {
		pr_perror("%s: cannot put SO_PEEK_OFF back", what);
		ret = -1;
	}
	return ret;
}

/*
 * A relative path was bound in the binder's cwd of that moment: the
 * process's cwd, if the socket file found there from it is the socket's
 * own (its inode, UDIAG_SHOW_VFS); else refused.
 */
static int bind_dir(const char *what, const struct fd_dump *d, const struct usk *s, UnixSocket *u)
{
	char link[64], dir[PATH_MAX], path[PATH_MAX + 110];
	struct stat st;
	snprintf(link, sizeof(link), "/proc/%d/cwd", d->pid);
	ssize_t n = readlink(link, dir, sizeof(dir) - 1);
	if (n <= 0 || dir[0] != '/') {
		pr_perror("%s: cannot read its cwd (bound to a relative path)", what);
		return -1;
	}
	dir[n] = 0;
	/* through the process's cwd and root, as the name is seen from it */
	snprintf(path, sizeof(path), "%s/%.*s", link, s->namelen, s->name);
	if (!s->vfs_ino || stat(path, &st) || !S_ISSOCK(st.st_mode) || st.st_ino != s->vfs_ino ||
	    st.st_dev != fd_kdev_to_dev(s->vfs_dev)) {
		pr_err("%s: bound to the relative path '%.*s', which is not that socket's file from its cwd %s: not supported",
		       what, s->namelen, s->name, dir);
		return -1;
	}
	u->bind_dir = strdup(dir);
	return u->bind_dir ? 0 : -1;
}

/* a datagram socket still connected to a closed socket: marked so, with
 * that one's name */
static int dead_peer_name(const char *what, int copy, UnixSocket *u)
{
	struct sockaddr_un a;
	socklen_t len = sizeof(a), off = offsetof(struct sockaddr_un, sun_path);
	if (getpeername(copy, (struct sockaddr *)&a, &len)) {
		if (errno == ENOTCONN)
			return 0;
		pr_perror("%s: getpeername", what);
		return -1;
	}
	u->has_peer_ino = u->has_peer_gone = u->peer_gone = true;
	if (len <= off)
		return 0;
	u->has_dead_peer_name = true;
	u->dead_peer_name.len = len - off;
	u->dead_peer_name.data = malloc(len - off);
	if (!u->dead_peer_name.data)
		return -1;
	memcpy(u->dead_peer_name.data, a.sun_path, len - off);
	return 0;
}

/* a live socket of the system bound to name, or NULL */
static const struct usk *usk_by_name(const struct usk_table *t, const ProtobufCBinaryData *name)
{
	for (size_t i = 0; i < t->nr; i++)
		if (t->v[i].namelen == (int)name->len && !memcmp(t->v[i].name, name->data, name->len))
			return &t->v[i];
	return NULL;
}

static bool same_bytes(const ProtobufCBinaryData *a, const ProtobufCBinaryData *b)
{
	return a->len == b->len && !memcmp(a->data, b->data, a->len);
}

/*
 * Restore sends each queued datagram from a socket with its sender's
 * address.  A socket restored as one end of a new socketpair (connected
 * both ways, connected to a closed socket, or unnamed: it then received
 * from the other end of its socketpair only) gets them all from the other
 * end: one sender, *one.  Else (unix-queue.c) from one of the process's
 * sockets or one bound for the moment, which an abstract name held by
 * another process's socket forbids.
 */
static int check_senders(const char *what, struct fd_dump *d, const struct fd_probe *p, const UnixSocket *u,
			 const ProtobufCBinaryData *one)
{
	struct fd_probe *const *same;
	for (size_t i = 0; i < u->n_sender; i++) {
		const ProtobufCBinaryData *n = &u->sender[i];
		if (one && !same_bytes(n, one)) {
			pr_err("%s: a datagram socket %s, with messages from another socket queued: not supported",
			       what, u->has_name ? "connected to a socket" : "without a name");
			return -1;
		}
		if (!n->len || n->data[0])
			continue;
		const struct usk *h = usk_by_name(d->unix_diag, n);
		if (h && !fd_dump_inode(d, p->st.st_dev, h->ino, &same)) {
			pr_err("%s: a queued message from @%.*s, a name held by socket:[%lu] of another process: not supported",
			       what, (int)n->len - 1, n->data + 1, (unsigned long)h->ino);
			return -1;
		}
	}
	return 0;
}

/* the one sender of the messages of a socket restored as a socketpair's
 * end (check_senders), or NULL */
static const ProtobufCBinaryData *pair_sender(const struct fd_dump *d, const struct usk *s, const UnixSocket *u)
{
	static ProtobufCBinaryData name, none;
	const struct usk *ps = s->peer ? usk_find(d->unix_diag, s->peer) : NULL;
	if (ps && ps->peer == s->ino) {
		name.len = ps->namelen;
		name.data = (uint8_t *)ps->name;
		return &name;
	}
	if (u->peer_gone)
		return u->has_dead_peer_name ? &u->dead_peer_name : &none;
	return u->has_name || u->has_ext_peer_name ? NULL : &u->sender[0];
}

static int unixsk_dump(struct fd_dump *d, const struct fd_probe *p, FileEntry *fe)
{
	char what[128];
	int copy = -1, ret = -1, v;
	socklen_t vl = sizeof(v);

	snprintf(what, sizeof(what), "pid %d: fd %d: %s", d->pid, p->fd, p->link);
	if (!d->unix_diag && !(d->unix_diag = unix_diag_load()))
		return -1;
	const struct usk *s = usk_find(d->unix_diag, p->st.st_ino);
	copy = fd_dump_getfd(d, p->fd);
	if (copy < 0)
		return -1;
	if (!s) {
		int dom = -1;
		getsockopt(copy, SOL_SOCKET, SO_DOMAIN, &dom, &vl);
		pr_err("%s: a socket of family %d: only unix sockets are supported", what, dom);
		goto out;
	}
	/* before anything reads it: a recv would return the error and clear it */
	if (sk_refuse_error(what, copy, "unix socket"))
		goto out;
	UnixSocket *u = calloc(1, sizeof(*u));
	if (!u)
		goto out;
	unix_socket__init(u);
	fe->unix_sk = u;
	u->type = s->type;
	u->state = s->state;
	u->ino = s->ino;
	u->shutdown = s->shutdown;
	if (s->namelen) {
		if (s->name[0] != 0 && s->name[0] != '/' && bind_dir(what, d, s, u))
			goto out;
		u->has_name = true;
		u->name.len = s->namelen;
		u->name.data = malloc(s->namelen);
		if (!u->name.data)
			goto out;
		memcpy(u->name.data, s->name, s->namelen);
	}
	if (s->state == ST_LISTEN) {
		if (s->pending) {
			pr_err("%s: listening, with %u connections not yet accepted: not supported", what,
			       s->pending);
			goto out;
		}
		u->has_backlog = true;
		u->backlog = s->backlog;
	}
	if (s->peer) {
		u->has_peer_ino = true;
		u->peer_ino = s->peer;
		const struct usk *ps = usk_find(d->unix_diag, s->peer);
		struct fd_probe *const *same;
		bool inside = fd_dump_inode(d, p->st.st_dev, s->peer, &same) > 0;	/* same sockfs */
		char tlink[64];
		int tfd = -1;
		snprintf(tlink, sizeof(tlink), "socket:[%lu]", (unsigned long)s->peer);
		pid_t tree_holder = !inside && ps ? fd_find_holder(d, tlink, &tfd) : 0;
		if (tree_holder && !fd_pid_in_tree(d, tree_holder))
			tree_holder = 0;
		if (!ps && s->type != SOCK_DGRAM) {	/* closed and gone */
			u->has_peer_gone = u->peer_gone = true;
		} else if (tree_holder && (s->type != SOCK_DGRAM || ps->peer == s->ino)) {
			/* its peer is in another process of the tree: the pair is
			 * made once for both at restore (dump's dump-tree.c, shared_id) */
		} else if (tree_holder) {
			pr_err("%s: connected one way to socket:[%lu] of pid %d (fd %d) of the dumped tree: not supported",
			       what, (unsigned long)s->peer, tree_holder, tfd);
			goto out;
		} else if (!inside) {
			/* --ext-unix-sk: a datagram socket connected one way to a
			 * named socket can connect to that name again */
			bool ext_ok = s->type == SOCK_DGRAM && ps->namelen && ps->peer != s->ino &&
				      (ps->name[0] == 0 || ps->name[0] == '/');
			bool ext_stream = s->type != SOCK_DGRAM;
			if (ext_stream && d->o->ext_unix_sk) {
				char key[64];
				snprintf(key, sizeof(key), "socket:[%lu]", (unsigned long)s->ino);
				fe->external = strdup(key);
				pr_warn("%s: connected to socket:[%lu], outside the dumped process: dumped as external; restore with --inherit-fd fd[N]:%s",
					what, (unsigned long)s->peer, key);
				ret = fe->external ? 0 : -1;
				goto out;
			}
			if (ext_stream) {
				pr_err("%s: connected to socket:[%lu], outside the dumped process: dump with --ext-unix-sk to dump it as external, then restore with --inherit-fd fd[N]:socket:[%lu] to give it a new connection",
				       what, (unsigned long)s->peer, (unsigned long)s->ino);
				goto out;
			}
			if (!ext_ok || !d->o->ext_unix_sk) {
				pr_err("%s: connected to socket:[%lu], outside the dumped process: %s", what,
				       (unsigned long)s->peer,
				       ext_ok ? "dump with --ext-unix-sk to connect to its name again on restore" :
						"not supported (--ext-unix-sk covers only datagram sockets connected to a named socket)");
				goto out;
			}
			u->has_ext_peer_name = true;
			u->ext_peer_name.len = ps->namelen;
			u->ext_peer_name.data = malloc(ps->namelen);
			if (!u->ext_peer_name.data)
				goto out;
			memcpy(u->ext_peer_name.data, ps->name, ps->namelen);
		} else if (s->type == SOCK_DGRAM && ps->peer != s->ino && !ps->namelen) {
			pr_err("%s: connected to socket:[%lu], which has no name to connect to again: not supported",
			       what, (unsigned long)s->peer);
			goto out;
		}
	}
	if (!s->peer && s->state == ST_CONNECTED && s->type != SOCK_DGRAM) {
		/* connected, and the peer was closed and released */
		u->has_peer_ino = u->has_peer_gone = u->peer_gone = true;
	}
	/* a datagram socket others connected to is "connected" too: asked */
	if (!s->peer && s->state == ST_CONNECTED && s->type == SOCK_DGRAM && dead_peer_name(what, copy, u))
		goto out;
	v = 0;
	vl = sizeof(v);
	if (getsockopt(copy, SOL_SOCKET, SO_PASSCRED, &v, &vl))
		goto sockopt;
	u->passcred = v;
	vl = sizeof(v);
	if (getsockopt(copy, SOL_SOCKET, SO_SNDBUF, &v, &vl))
		goto sockopt;
	u->sndbuf = v;
	vl = sizeof(v);
	if (getsockopt(copy, SOL_SOCKET, SO_RCVBUF, &v, &vl))
		goto sockopt;
	u->rcvbuf = v;
	if (s->state != ST_LISTEN && peek_queue(d, what, copy, s->type, u))
		goto out;
	/* after the peek, which puts SO_PEEK_OFF back */
	if (usk_dump_opts(what, copy, s->type, u))
		goto out;
	if (s->type == SOCK_DGRAM && u->n_queue && check_senders(what, d, p, u, pair_sender(d, s, u)))
		goto out;
	for (size_t i = 0; u->peer_gone && i < u->n_msg; i++)
		if (u->msg[i]->n_fds) {
			/* sent at restore from the other end, which is gone */
			pr_err("%s: files in flight (SCM_RIGHTS) queued on a socket whose peer is closed: not supported",
			       what);
			goto out;
		}
	if (u->has_ext_peer_name && u->n_queue && !u->has_name) {
		pr_err("%s: %zu messages queued on a socket with no name of its own to queue them to again: not supported",
		       what, u->n_queue);
		goto out;
	}
	ret = 0;
	goto out;
sockopt:
	pr_perror("%s: getsockopt", what);
out:
	close(copy);
	return ret;
}

static int unixsk_check(const FileEntry *fe, const struct opts *o, const char *name)
{
	const UnixSocket *u = fe->unix_sk;
	if (u && u->has_ext_peer_name && !o->ext_unix_sk) {
		pr_err("%s: file %u: a socket connected to another process's socket: restore with --ext-unix-sk",
		       name, fe->id);
		return -1;
	}
	if (!u || (u->type != SOCK_STREAM && u->type != SOCK_DGRAM && u->type != SOCK_SEQPACKET) ||
	    (u->bind_dir && u->bind_dir[0] != '/') ||
	    (u->has_name && (u->name.len == 0 || u->name.len > sizeof(((struct sockaddr_un *)0)->sun_path)))) {
		pr_err("%s: file %u: bad unix socket description", name, fe->id);
		return -1;
	}
	return 0;
}

static socklen_t sun_of(const UnixSocket *u, struct sockaddr_un *a)
{
	memset(a, 0, sizeof(*a));
	a->sun_family = AF_UNIX;
	memcpy(a->sun_path, u->name.data, u->name.len);
	return offsetof(struct sockaddr_un, sun_path) + u->name.len;
}

static const FileEntry *find_sk(const struct fd_rst *r, uint64_t ino)
{
	for (uint32_t id = 1; id <= r->nr_files; id++)
		if (r->file[id]->kind == FD_KIND__FD_UNIXSK && r->file[id]->unix_sk->ino == ino)
			return r->file[id];
	return NULL;
}

static int set_opts(int fd, const FileEntry *fe)
{
	const UnixSocket *u = fe->unix_sk;
	int pc = u->passcred, sb = u->sndbuf / 2, rb = u->rcvbuf / 2;
	/* getsockopt gives twice what was set; the FORCE variants pass the limits */
	if (setsockopt(fd, SOL_SOCKET, SO_SNDBUFFORCE, &sb, sizeof(sb)) ||
	    setsockopt(fd, SOL_SOCKET, SO_RCVBUFFORCE, &rb, sizeof(rb)) ||
	    setsockopt(fd, SOL_SOCKET, SO_PASSCRED, &pc, sizeof(pc))) {
		pr_perror("file %u: cannot set socket options", fe->id);
		return -1;
	}
	return usk_restore_opts(fd, fe);
}

/* queues fe's received data by sending it from fd (to a name if given) */
static int requeue(const struct fd_rst *r, int from, int rcv, const FileEntry *fe, const struct sockaddr_un *to,
		   socklen_t tolen)
{
	const UnixSocket *u = fe->unix_sk;
	for (size_t i = 0; i < u->n_queue; i++) {
		size_t done = 0;
		do {
			ProtobufCBinaryData rest = { u->queue[i].len - done, u->queue[i].data + done };
			const SkMsg *x = !done && i < u->n_msg ? u->msg[i] : NULL;
			ssize_t n = usk_send(from, rcv, &rest, x, r, to, tolen);
			if (n < 0) {
				pr_perror("file %u: cannot queue its received data again (message %zu, %zu bytes)",
					  fe->id, i, u->queue[i].len);
				return -1;
			}
			done += n;
		} while (u->type == SOCK_STREAM && done < u->queue[i].len);
	}
	return 0;
}

static int do_shutdown(int fd, const FileEntry *fe)
{
	int how = fe->unix_sk->shutdown & 3;
	if (!how)
		return 0;
	how = how == 3 ? SHUT_RDWR : how == 2 ? SHUT_WR : SHUT_RD;
	if (shutdown(fd, how)) {
		pr_perror("file %u: shutdown", fe->id);
		return -1;
	}
	return 0;
}

/* a socket with a relative name: into the directory it was bound in
 * (UnixSocket.bind_dir) for what uses the name; the cwd to go back to
 * (leave_dir), -1 if there is none to leave, -2 on error (logged) */
static int enter_dir(const UnixSocket *u, uint32_t id)
{
	if (!u->bind_dir)
		return -1;
	int back = open(".", O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (back < 0 || chdir(u->bind_dir)) {
		pr_perror("file %u: cannot enter %s, where its relative name was bound", id, u->bind_dir);
		if (back >= 0)
			close(back);
		return -2;
	}
	return back;
}

static int leave_dir(int back, int ret)
{
	if (back >= 0 && fchdir(back)) {
		pr_perror("cannot go back to the directory a socket's relative name left");
		ret = -1;
	}
	if (back >= 0)
		close(back);
	return ret;
}

/* binds fd to fe's name, if it has one; a path left behind by the dumped
 * process is removed first */
static int bind_own(int fd, const FileEntry *fe)
{
	const UnixSocket *u = fe->unix_sk;
	struct sockaddr_un a;
	struct stat st;
	if (!u->has_name)
		return 0;
	int back = enter_dir(u, fe->id), ret = 0;
	if (back == -2)
		return -1;
	socklen_t len = sun_of(u, &a);
	if (a.sun_path[0] && !lstat(a.sun_path, &st) && S_ISSOCK(st.st_mode))
		unlink(a.sun_path);
	if (bind(fd, (struct sockaddr *)&a, len)) {
		pr_perror("file %u: cannot bind to %s%.*s", fe->id, a.sun_path[0] ? "" : "@",
			  (int)u->name.len - !a.sun_path[0], a.sun_path + !a.sun_path[0]);
		ret = -1;
	}
	return leave_dir(back, ret);
}

/* a datagram end of a socketpair whose other end is gone: the name that
 * end had (its messages show it), or NULL */
static const ProtobufCBinaryData *gone_end_name(const UnixSocket *u)
{
	if (u->type != SOCK_DGRAM)
		return NULL;
	if (u->has_dead_peer_name)
		return &u->dead_peer_name;
	return u->n_sender && u->sender[0].len ? &u->sender[0] : NULL;
}

/*
 * fe and peer as the two ends of a new socketpair, each one's queue sent
 * from the other end; without peer, the other end is closed once it sent
 * fe's queue: fe stays connected to a closed socket, or is disconnected if
 * it was not connected (a datagram socket whose socketpair's other end
 * sent it messages).  Datagram ends get their names back.
 */
/* files in flight in fe's queue: sent once every fd is in place (post) */
static bool has_rights(const FileEntry *fe)
{
	const UnixSocket *u = fe ? fe->unix_sk : NULL;
	for (size_t i = 0; u && i < u->n_msg; i++)
		if (u->msg[i]->n_fds)
			return true;
	return false;
}

static int open_pair(struct fd_rst *r, const FileEntry *fe, const FileEntry *peer)
{
	const UnixSocket *u = fe->unix_sk;
	const ProtobufCBinaryData *gone = peer ? NULL : gone_end_name(u);
	struct usk_as as = { .made = false, .moved = false };
	int sv[2];
	bool dgram = u->type == SOCK_DGRAM;

	if (socketpair(AF_UNIX, u->type | SOCK_CLOEXEC, 0, sv)) {
		pr_perror("file %u: socketpair", fe->id);
		return -1;
	}
	if (set_opts(sv[0], fe) || (peer && set_opts(sv[1], peer)) ||
	    (dgram && (bind_own(sv[0], fe) || (peer && bind_own(sv[1], peer)))) ||
	    (gone && usk_bind_as(sv[1], gone, &as)) || (!has_rights(fe) && requeue(r, sv[1], sv[0], fe, NULL, 0)) ||
	    (peer && !has_rights(peer) && requeue(r, sv[0], sv[1], peer, NULL, 0)))
		goto err;
	if (!peer) {
		/* the other end was closed: what it means to this one follows */
		close(sv[1]);
		sv[1] = -1;
		usk_unbind_as(&as);
	} else if ((!has_rights(fe) && do_shutdown(sv[1], peer)) || fd_rst_stash(r, peer->id, sv[1])) {
		goto err;
	}
	if (dgram && u->state != ST_CONNECTED) {
		struct sockaddr unspec = { .sa_family = AF_UNSPEC };
		if (connect(sv[0], &unspec, sizeof(unspec.sa_family))) {
			pr_perror("file %u: cannot disconnect it from its socketpair", fe->id);
			goto err;
		}
	}
	if (!has_rights(peer) && do_shutdown(sv[0], fe))
		goto err;
	return sv[0];
err:
	close(sv[0]);
	if (sv[1] >= 0)
		close(sv[1]);
	usk_unbind_as(&as);
	return -1;
}

/* a datagram socket restored alone (not as a socketpair's end): bound
 * now, its queue sent and its connection made once every fd is in place */
static bool dgram_alone(const struct fd_rst *r, const FileEntry *fe)
{
	const UnixSocket *u = fe->unix_sk;
	if (u->type != SOCK_DGRAM || u->peer_gone || (!u->has_name && u->n_queue))
		return false;
	const FileEntry *peer = u->has_peer_ino && !u->has_ext_peer_name ? find_sk(r, u->peer_ino) : NULL;
	return !peer || !peer->unix_sk->has_peer_ino || peer->unix_sk->peer_ino != u->ino;
}

/* a bound datagram socket's queue, each message from its sender's address */
static int requeue_dgram(const struct fd_rst *r, const FileEntry *fe, int fd)
{
	struct sockaddr_un a;
	socklen_t len = sun_of(fe->unix_sk, &a);
	int back = enter_dir(fe->unix_sk, fe->id);
	if (back == -2)
		return -1;
	return leave_dir(back, usk_requeue_dgram(r, fe, fd, &a, len));
}

static int open_alone(struct fd_rst *r, const FileEntry *fe)
{
	const UnixSocket *u = fe->unix_sk;
	int fd = socket(AF_UNIX, u->type | SOCK_CLOEXEC, 0);
	if (fd < 0) {
		pr_perror("file %u: socket", fe->id);
		return -1;
	}
	if (set_opts(fd, fe) || bind_own(fd, fe))
		goto err;
	if (u->state == ST_LISTEN && listen(fd, u->backlog)) {
		pr_perror("file %u: listen", fe->id);
		goto err;
	}
	if (u->n_queue && (u->type != SOCK_DGRAM || !u->has_name)) {
		pr_err("file %u: data queued on a socket neither connected nor bound", fe->id);
		goto err;
	}
	/* a file of several processes is made by criu before them: its queue
	 * now (post runs in each of them) */
	if (u->n_queue && fe->has_shared_id && requeue_dgram(r, fe, fd))
		goto err;
	if (do_shutdown(fd, fe))
		goto err;
	return fd;
err:
	close(fd);
	return -1;
}

static int unixsk_open(struct fd_rst *r, const FileEntry *fe)
{
	const UnixSocket *u = fe->unix_sk;
	int fd;

	if (u->type == SOCK_DGRAM && !dgram_alone(r, fe))
		fd = open_pair(r, fe, u->peer_gone || !u->has_peer_ino ? NULL : find_sk(r, u->peer_ino));
	else if (u->type != SOCK_DGRAM && u->has_peer_ino)
		fd = open_pair(r, fe, u->peer_gone ? NULL : find_sk(r, u->peer_ino));
	else
		fd = open_alone(r, fe);
	if (fd >= 0 && fd_set_status_flags(fd, fe->flags, fe->id)) {
		close(fd);
		return -1;
	}
	return fd;
}

/* a queue with files in flight, sent from the other end of the pair now
 * that every fd is in place; then that end's shutdown, held back for it */
static int requeue_late(const struct fd_rst *r, const FileEntry *fe, int fd)
{
	const FileEntry *peer = find_sk(r, fe->unix_sk->peer_ino);
	int from = peer ? r->where[peer->id] : -1;
	if (from < 0) {
		pr_err("file %u: files in flight in its queue, and the other end is not open", fe->id);
		return -1;
	}
	return requeue(r, from, fd, fe, NULL, 0) || do_shutdown(from, peer) ? -1 : 0;
}

/* a datagram socket connected one way connects again, now that its peer is bound */
static int unixsk_post(struct fd_rst *r, const FileEntry *fe, int fd)
{
	const UnixSocket *u = fe->unix_sk;
	struct sockaddr_un a;
	if (!dgram_alone(r, fe))
		return has_rights(fe) ? requeue_late(r, fe, fd) : 0;
	/* before it connects: the messages others sent it came before that */
	if (u->n_queue && !fe->has_shared_id && requeue_dgram(r, fe, fd))
		return -1;
	if (!u->has_peer_ino)
		return 0;
	if (u->has_ext_peer_name) {
		memset(&a, 0, sizeof(a));
		a.sun_family = AF_UNIX;
		memcpy(a.sun_path, u->ext_peer_name.data, u->ext_peer_name.len);
		if (connect(fd, (struct sockaddr *)&a, offsetof(struct sockaddr_un, sun_path) + u->ext_peer_name.len)) {
			pr_perror("file %u: cannot connect to %s%.*s again (--ext-unix-sk)", fe->id,
				  a.sun_path[0] ? "" : "@", (int)u->ext_peer_name.len - !a.sun_path[0],
				  a.sun_path + !a.sun_path[0]);
			return -1;
		}
		return 0;
	}
	const FileEntry *peer = find_sk(r, u->peer_ino);
	if (!peer || (peer->unix_sk->has_peer_ino && peer->unix_sk->peer_ino == u->ino))
		return 0;
	socklen_t len = sun_of(peer->unix_sk, &a);
	int back = enter_dir(peer->unix_sk, fe->id), ret = 0;
	if (back == -2)
		return -1;
	if (connect(fd, (struct sockaddr *)&a, len)) {
		pr_perror("file %u: cannot connect to socket %lu again", fe->id, (unsigned long)u->peer_ino);
		ret = -1;
	}
	return leave_dir(back, ret);
}

const struct fd_ops fd_unixsk_ops = {
	.kind = FD_KIND__FD_UNIXSK,
	.name = "unix socket",
	.match = unixsk_match,
	.dump = unixsk_dump,
	.check = unixsk_check,
	.open = unixsk_open,
	.post = unixsk_post,
};
