/*
 * sock.h - DIR/lazy-pages.sock for the daemon (bind, receive, send) and for
 * criu restore (connect, receive): its address (a directory path too long
 * for sockaddr_un is reached through /proc/self/fd/DIRFD), and messages
 * that carry at most one fd (SCM_RIGHTS).
 */
#ifndef LAZY_SOCK_H
#define LAZY_SOCK_H

#include <sys/socket.h>
#include <sys/un.h>

/* fills sa for the socket in dir (dirfd open on it); returns its length, <0 if too long */
int lazy_sock_addr(const char *dir, int dirfd, struct sockaddr_un *sa);
/*
 * DIR/lazy-pages.sock bound (mode 0600; a socket file left by a dead
 * daemon replaced) and listening: its fd, or -1 (logged; -EEXIST-like
 * "another daemon serves" said as such).  sa: its address.
 */
int lazy_sock_listen(const char *dir, int dirfd, struct sockaddr_un *sa);

/* receives len bytes (MSG_WAITALL) and the fd they carry (*fd, -1 if none, close-on-exec) */
ssize_t lazy_recv_fd(int conn, void *buf, size_t len, int *fd);
/* the same with up to nr fds (in order; -1 for those not sent; extra ones closed) */
ssize_t lazy_recv_fds(int conn, void *buf, size_t len, int *fds, int nr);
/* sends len bytes with fd attached if fd >= 0; what sendmsg returns */
ssize_t lazy_send_fd(int conn, const void *buf, size_t len, int fd);

struct lazy_hello;
struct lazy_range;
/*
 * the daemon: reads the hello, the ranges, the uffd and the pidfd a
 * restorer sent (fds[0], fds[1]) and checks them (magic, version, count,
 * both fds, ranges page aligned, sorted, apart); 0, or -1 (logged unless
 * the peer closed first; nothing left open)
 */
int lazy_recv_hello(int conn, struct lazy_hello *h, struct lazy_range **ranges, int *fds);

#endif /* LAZY_SOCK_H */
