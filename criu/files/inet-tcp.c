/*
 * inet-tcp.c - an established TCP connection, through TCP_REPAIR.
 *
 * Dump (the process frozen, its packets dropped by the network lock):
 * the socket is put in repair mode through criu's copy and read: the
 * sequence numbers at the end of each queue (TCP_QUEUE_SEQ), the receive
 * queue and the send queue (written, not yet acknowledged; its tail never
 * sent, SIOCOUTQNSD), peeked; MSS, window scales, SACK and timestamps as
 * negotiated (TCP_INFO, TCP_MAXSEG), the timestamp clock (TCP_TIMESTAMP)
 * and the windows (TCP_REPAIR_WINDOW); then repair mode is left again
 * without a window probe (the lock drops every packet until the kill, so
 * what was read stays true).  Just before the tree is killed, dump puts
 * every dumped connection back in repair mode (inet_tcp_repair_on): when
 * the dead process's socket is closed nothing is sent to the peer.  So a
 * criu killed during the dump leaves no socket in repair mode behind,
 * but for that last instant.  Urgent data is refused.
 *
 * Half-closed states: the FINs are counted out of the queues here and
 * made again by inet-tcpfin.c once out of repair mode.
 *
 * Restore, in the new process: a socket in repair mode gets the sequence
 * numbers, is bound and connected (no packet is sent), gets the options,
 * the queues (the sent part of the send queue as sent, the receive queue
 * as received) and the windows.  Once every fd of the process is in place
 * (inet_tcp_finish: leaving repair mode drops the forced reuse of the
 * port, which a listener restored later needs) it leaves repair mode and
 * the never-sent tail is sent normally.
 */
#define LOG_PREFIX "files: "
#include <errno.h>
#include <linux/sockios.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <unistd.h>

#include "criu/files/inet.h"
#include "common/log.h"

static int set_int(int sk, int name, int v)
{
	return setsockopt(sk, IPPROTO_TCP, name, &v, sizeof(v));
}

static int get_u32(int sk, int name, uint32_t *v)
{
	socklen_t l = sizeof(*v);
	return getsockopt(sk, IPPROTO_TCP, name, v, &l);
}

/* the sequence number at the end of queue q and its len bytes, peeked */
static int read_queue(const char *what, int sk, int q, uint32_t *seq, uint32_t len, ProtobufCBinaryData *out)
{
	if (set_int(sk, TCP_REPAIR_QUEUE, q) || get_u32(sk, TCP_QUEUE_SEQ, seq)) {
		pr_perror("%s: cannot read the sequence number of a queue (TCP_REPAIR)", what);
		return -1;
	}
	if (!len)
		return 0;
	out->data = malloc(len);
	if (!out->data)
		return -1;
	ssize_t n = recv(sk, out->data, len, MSG_PEEK | MSG_DONTWAIT);
	if (n != (ssize_t)len) {
		pr_perror("%s: cannot read the %s queue (%zd of %u bytes)", what,
			  q == TCP_SEND_QUEUE ? "send" : "receive", n, len);
		return -1;
	}
	out->len = len;
	return 0;
}

static int refuse_urgent(const char *what, int sk)
{
	char c;
	if (recv(sk, &c, 1, MSG_OOB | MSG_PEEK | MSG_DONTWAIT) >= 0 || errno == EAGAIN) {
		pr_err("%s: urgent data (MSG_OOB) pending: not supported", what);
		return -1;
	}
	return 0;
}

static int read_conn(const char *what, int sk, uint32_t state, TcpConn *t)
{
	struct tcp_info ti;
	struct tcp_repair_window w;
	socklen_t l = sizeof(ti), wl = sizeof(w);
	int inq, outq, unsent;

	if (getsockopt(sk, IPPROTO_TCP, TCP_INFO, &ti, &l) || ioctl(sk, SIOCINQ, &inq) ||
	    ioctl(sk, SIOCOUTQ, &outq) || ioctl(sk, SIOCOUTQNSD, &unsent) || get_u32(sk, TCP_MAXSEG, &t->mss) ||
	    getsockopt(sk, IPPROTO_TCP, TCP_REPAIR_WINDOW, &w, &wl)) {
		pr_perror("%s: cannot read its state", what);
		return -1;
	}
	t->options = ti.tcpi_options & (TCPI_OPT_TIMESTAMPS | TCPI_OPT_SACK | TCPI_OPT_WSCALE);
	t->snd_wscale = ti.tcpi_snd_wscale;
	t->rcv_wscale = ti.tcpi_rcv_wscale;
	if ((t->options & TCPI_OPT_TIMESTAMPS) && get_u32(sk, TCP_TIMESTAMP, &t->timestamp)) {
		pr_perror("%s: TCP_TIMESTAMP", what);
		return -1;
	}
	t->has_timestamp = !!(t->options & TCPI_OPT_TIMESTAMPS);
	t->snd_wl1 = w.snd_wl1;
	t->snd_wnd = w.snd_wnd;
	t->max_window = w.max_window;
	t->rcv_wnd = w.rcv_wnd;
	t->rcv_wup = w.rcv_wup;
	/* a FIN of ours not yet acked counts in both send queue lengths (in
	 * the unsent one while it waits behind data); SIOCINQ counts none */
	if (inet_tcp_fin_sent(state) && !inet_tcp_fin_acked(state)) {
		outq--;
		if (unsent)
			unsent--;
	}
	t->unsent = unsent;
	if (read_queue(what, sk, TCP_RECV_QUEUE, &t->rcv_seq, inq, &t->rcvq) ||
	    read_queue(what, sk, TCP_SEND_QUEUE, &t->snd_seq, outq, &t->sndq))
		return -1;
	t->has_rcvq = t->has_sndq = true;
	return set_int(sk, TCP_REPAIR_QUEUE, TCP_NO_QUEUE);
}

int inet_tcp_dump(const char *what, int sk, InetSocket *is)
{
	TcpConn *t = calloc(1, sizeof(*t));
	if (!t)
		return -1;
	tcp_conn__init(t);
	is->tcp = t;
	if (refuse_urgent(what, sk))
		return -1;
	if (set_int(sk, TCP_REPAIR, TCP_REPAIR_ON)) {
		pr_perror("%s: cannot put it in repair mode", what);
		return -1;
	}
	int ret = read_conn(what, sk, is->state, t);
	inet_tcp_repair_off(sk);
	return ret;
}

int inet_tcp_repair_on(int sk)
{
	return set_int(sk, TCP_REPAIR, TCP_REPAIR_ON);
}

void inet_tcp_repair_off(int sk)
{
	set_int(sk, TCP_REPAIR_QUEUE, TCP_NO_QUEUE);
	if (set_int(sk, TCP_REPAIR, TCP_REPAIR_OFF_NO_WP))
		pr_perror("cannot take a TCP connection out of repair mode");
}

/* writes len bytes into the selected queue (repair mode), as many calls as it takes */
static int fill_queue(int sk, const uint8_t *p, size_t len, int flags)
{
	while (len) {
		ssize_t n = send(sk, p, len, flags);
		if (n <= 0)
			return -1;
		p += n;
		len -= n;
	}
	return 0;
}

static int set_options(int sk, const TcpConn *t)
{
	struct tcp_repair_opt o[4];
	int n = 0;
	o[n++] = (struct tcp_repair_opt){ TCPOPT_MAXSEG, t->mss };
	if (t->options & TCPI_OPT_WSCALE)
		o[n++] = (struct tcp_repair_opt){ TCPOPT_WINDOW, t->snd_wscale | t->rcv_wscale << 16 };
	if (t->options & TCPI_OPT_SACK)
		o[n++] = (struct tcp_repair_opt){ TCPOPT_SACK_PERMITTED, 0 };
	if (t->options & TCPI_OPT_TIMESTAMPS)
		o[n++] = (struct tcp_repair_opt){ TCPOPT_TIMESTAMP, 0 };
	if (setsockopt(sk, IPPROTO_TCP, TCP_REPAIR_OPTIONS, o, n * sizeof(o[0])))
		return -1;
	return (t->options & TCPI_OPT_TIMESTAMPS) ? set_int(sk, TCP_TIMESTAMP, t->timestamp) : 0;
}

static int set_queues(int sk, const TcpConn *t, uint32_t state)
{
	struct tcp_repair_window w = { t->snd_wl1, t->snd_wnd, t->max_window, t->rcv_wnd, t->rcv_wup };
	/* the window was last advertised past the peer's FIN, not yet received again */
	uint32_t rcv_end = t->rcv_seq - inet_tcp_fin_received(state);
	if ((int32_t)(w.rcv_wup - rcv_end) > 0)
		w.rcv_wup = rcv_end;
	size_t sent = t->sndq.len - t->unsent;
	if (set_int(sk, TCP_REPAIR_QUEUE, TCP_SEND_QUEUE) || fill_queue(sk, t->sndq.data, sent, 0) ||
	    set_int(sk, TCP_REPAIR_QUEUE, TCP_RECV_QUEUE) || fill_queue(sk, t->rcvq.data, t->rcvq.len, 0) ||
	    set_int(sk, TCP_REPAIR_QUEUE, TCP_NO_QUEUE))
		return -1;
	return setsockopt(sk, IPPROTO_TCP, TCP_REPAIR_WINDOW, &w, sizeof(w));
}

/* the queues' starts; a FIN either way is made later (inet-tcpfin.c) */
static int set_seqs(int sk, const TcpConn *t, uint32_t state)
{
	uint32_t rcv_end = t->rcv_seq - inet_tcp_fin_received(state), snd_end = t->snd_seq - inet_tcp_fin_sent(state);
	return set_int(sk, TCP_REPAIR_QUEUE, TCP_RECV_QUEUE) ||
	       set_int(sk, TCP_QUEUE_SEQ, rcv_end - (uint32_t)t->rcvq.len) ||
	       set_int(sk, TCP_REPAIR_QUEUE, TCP_SEND_QUEUE) ||
	       set_int(sk, TCP_QUEUE_SEQ, snd_end - (uint32_t)t->sndq.len) ? -1 : 0;
}

static int connect_repaired(int sk, const InetSocket *is, uint32_t id)
{
	struct inet_addr src, dst;
	if (inet_addr_make(is->family, &is->src_addr, is->src_port, &src) ||
	    inet_addr_make(is->family, &is->dst_addr, is->dst_port, &dst))
		return -1;
	if (bind(sk, (struct sockaddr *)&src.ss, src.len) || connect(sk, (struct sockaddr *)&dst.ss, dst.len)) {
		pr_perror("file %u: cannot bind and connect the TCP connection again (ports %u -> %u)", id,
			  is->src_port, is->dst_port);
		return -1;
	}
	return 0;
}

int inet_tcp_restore(int sk, const InetSocket *is, uint32_t id)
{
	const TcpConn *t = is->tcp;
	if (set_int(sk, TCP_REPAIR, TCP_REPAIR_ON)) {
		pr_perror("file %u: cannot put a new TCP socket in repair mode (CAP_NET_ADMIN?)", id);
		return -1;
	}
	if (set_seqs(sk, t, is->state)) {
		pr_perror("file %u: cannot set the connection's sequence numbers", id);
		return -1;
	}
	if (connect_repaired(sk, is, id))
		return -1;
	if (set_options(sk, t) || set_queues(sk, t, is->state)) {
		pr_perror("file %u: cannot restore the TCP connection's options, queues or window", id);
		return -1;
	}
	return 0;
}

int inet_tcp_finish(int sk, const InetSocket *is, uint32_t id)
{
	const TcpConn *t = is->tcp;
	uint32_t repair = 0;
	/* a connection several processes hold is finished by the first */
	if (get_u32(sk, TCP_REPAIR, &repair) || !repair)
		return 0;
	if (set_int(sk, TCP_REPAIR, TCP_REPAIR_OFF)) {
		pr_perror("file %u: cannot take the TCP connection out of repair mode", id);
		return -1;
	}
	if (t->unsent && fill_queue(sk, t->sndq.data + t->sndq.len - t->unsent, t->unsent, MSG_DONTWAIT)) {
		pr_perror("file %u: cannot queue the %u bytes never sent", id, t->unsent);
		return -1;
	}
	return inet_tcp_fins(sk, is, id);
}
