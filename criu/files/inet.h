/*
 * inet.h - the parts of the inet socket kind (TCP and UDP over IPv4 and
 * IPv6), one file each: inet.c (the fd_ops entry: identity, addresses,
 * bind/listen/connect), inet-opts.c (socket options), inet-diag.c
 * (NETLINK_SOCK_DIAG lookups through libnl), inet-tcp.c (established
 * connections in TCP_REPAIR mode, inet-tcpfin.c its half-closed states),
 * inet-udp.c (queued datagrams),
 * inet-mcast.c (multicast memberships).
 * Nothing here knows fd numbers or image files.
 */
#ifndef CRIU_FILES_INET_H
#define CRIU_FILES_INET_H

#include <stdbool.h>
#include <stdint.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include "images/image.h"

/* what inet_diag says of one socket */
struct inet_diag_info {
	uint8_t state;		/* TCP_*; UDP: TCP_ESTABLISHED when connected, else TCP_CLOSE */
	uint8_t shutdown;	/* RCV_SHUTDOWN 1, SEND_SHUTDOWN 2 */
	uint32_t rqueue;	/* listening: connections not yet accepted */
	uint32_t wqueue;	/* listening: the backlog */
	uint64_t ino;
	bool md5;		/* TCP MD5 signature keys (RFC 2385) set */
};

/* a socket address as sockaddr_storage, from its parts */
struct inet_addr {
	struct sockaddr_storage ss;
	socklen_t len;
};
int inet_addr_make(int family, const ProtobufCBinaryData *addr, uint32_t port, struct inet_addr *a);
/* the 4/16 address bytes and port of a sockaddr (in or in6) */
int inet_addr_split(const struct sockaddr_storage *ss, ProtobufCBinaryData *addr, uint32_t *port);

/* inet-diag.c: the socket (by its addresses and inode) as inet_diag sees it
 * in network namespace nsfd;
 * 0, -ENOENT if not listed (not bound), -1 on error (logged) */
int inet_diag_one(int nsfd, int family, int protocol, const struct sockaddr_storage *src,
		  const struct sockaddr_storage *dst, uint32_t ifindex, uint64_t ino,
		  struct inet_diag_info *out);

struct inet_diag_msg;
/* every socket of family and protocol in states (1 << TCP_*), to fn; a
 * non-zero return of fn stops and is returned; -1 on error (logged) */
int inet_diag_each(int nsfd, int family, int protocol, uint32_t states,
		   int (*fn)(const struct inet_diag_msg *m, void *arg), void *arg);

/* a raw socket of protocol: its state (TCP_ESTABLISHED: connected) and the
 * peer address (4 or 16 bytes used); 0, -ENOENT or -1 (logged) */
int inet_diag_raw(int nsfd, int family, int protocol, uint64_t ino, uint8_t *state, uint8_t dst[16]);
/* the network namespace of socket sk if it is not criu's (an fd), else -1;
 * nsfd above: that, or -1 for criu's own */
int inet_sk_netns(int sk);
/* fn(arg) with the calling thread in the network namespace nsfd (-1: as it
 * is), then back in its own */
int inet_in_netns(int nsfd, int (*fn)(void *), void *arg);

/* inet-opts.c: options differing from a new socket's (what: for messages) */
int inet_opts_dump(const char *what, int sk, InetSocket *is);
/* sets the saved options: before bind (true) or the rest (false) */
int inet_opts_restore(int sk, const InetSocket *is, bool before_bind, uint32_t id);

/* inet-mcast.c: the multicast groups sk joined (pid: whose network
 * namespace lists the groups), with their source filters */
int inet_mcast_dump(const char *what, int pid, int sk, InetSocket *is);
/* 0 if the saved groups are well formed for is */
int inet_mcast_check(const InetSocket *is);
/* joins them again (after bind) */
int inet_mcast_restore(int sk, const InetSocket *is, uint32_t id);

/* inet-tcp.c: reads an established connection through its copy sk (in
 * repair mode for the moment) */
int inet_tcp_dump(const char *what, int sk, InetSocket *is);
/* repair mode on (before the kill: the socket then closes silently), or
 * off without a window probe */
int inet_tcp_repair_on(int sk);
void inet_tcp_repair_off(int sk);
/* the connection again, on a new socket sk: bound, connected, queues and
 * options in place, still in repair mode */
int inet_tcp_restore(int sk, const InetSocket *is, uint32_t id);
/* once every fd is in place: out of repair mode, the never-sent tail sent */
int inet_tcp_finish(int sk, const InetSocket *is, uint32_t id);

/* inet-tcpfin.c: the states a connection is restored in (established and
 * half-closed ones); which FINs a state has seen */
bool inet_tcp_state_ok(uint32_t st);
bool inet_tcp_fin_sent(uint32_t st);
bool inet_tcp_fin_acked(uint32_t st);
bool inet_tcp_fin_received(uint32_t st);
/* out of repair mode: the FINs of is->state made again, in its order */
int inet_tcp_fins(int sk, const InetSocket *is, uint32_t id);

/* inet-udp.c: the datagrams queued on sk (peeked) with their sources */
int inet_udp_dump(const char *what, int sk, InetSocket *is);
/* queues them again on sk (bound; before connect) */
int inet_udp_restore(int sk, const InetSocket *is, uint32_t id);
/* the Internet checksum: words of p added to sum, then folded */
uint32_t inet_csum_add(uint32_t sum, const void *p, size_t len);
uint16_t inet_csum_fold(uint32_t sum);

#endif /* CRIU_FILES_INET_H */
