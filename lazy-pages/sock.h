/*
 * sock.h - the address of DIR/lazy-pages.sock, for the daemon (bind) and
 * for criu restore (connect).  A directory path too long for sockaddr_un is
 * reached through /proc/self/fd/DIRFD.
 */
#ifndef LAZY_SOCK_H
#define LAZY_SOCK_H

#include <sys/socket.h>
#include <sys/un.h>

/* fills sa for the socket in dir (dirfd open on it); returns its length, <0 if too long */
int lazy_sock_addr(const char *dir, int dirfd, struct sockaddr_un *sa);

#endif /* LAZY_SOCK_H */
