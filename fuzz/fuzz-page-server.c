/*
 * fuzz-page-server.c - libFuzzer harness for the page-server protocol as
 * the server receives it (pagexfer/ps-serve.c: anyone who can reach the
 * port may connect and send anything, before and after authenticating).
 *
 * The server loop (ps_serve) runs here on a listening socket of
 * 127.0.0.1, with the token authentication and a backend of two small
 * runs of process 1 in memory.  A client thread connects and sends the
 * input: byte 0 bit 0: a right hello first (this server's version, token
 * and dump id: the requests behind it are then served); bit 1: the hello
 * names another dump; the rest is sent as is, then the client shuts its
 * side and reads whatever comes until the server closes.  The loop ends by
 * itself (the client is lost, or says PS_BYE), or the client thread stops
 * it once the server has closed its connection (an unauthenticated one,
 * or PS_CLOSE) by setting the backend's stop and waking the loop with a
 * connection.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "common/log.h"
#include "images/pages.h"
#include "pagexfer/page-server.h"

#define PID	1
static const struct ps_run runs[] = { { 0x10000, 4, 0 }, { 0x20000, 8, 0 } };
#define NR_RUNS	(sizeof(runs) / sizeof(runs[0]))
#define DUMP_ID	0x1122334455667788ULL

static int lfd = -1, port;
static struct ps_auth auth;
static volatile sig_atomic_t stop;

static void fill_page(uint64_t addr, uint8_t *p)
{
	for (int i = 0; i < 4096; i++)
		p[i] = (uint8_t)(addr >> 12) ^ (uint8_t)i;
}

static int fake_map(void *ctx, unsigned pid, struct ps_run **out, size_t *nr)
{
	(void)ctx;
	if (pid != PID)
		return ENOENT;
	*out = malloc(sizeof(runs));
	if (!*out)
		return ENOMEM;
	memcpy(*out, runs, sizeof(runs));
	uint8_t page[4096];
	for (size_t i = 0; i < NR_RUNS; i++) {
		/* the run's checksum, as a page server computes it */
		uint8_t *d = malloc(runs[i].nr_pages * 4096);
		if (!d)
			break;
		for (uint64_t k = 0; k < runs[i].nr_pages; k++) {
			fill_page(runs[i].vaddr + k * 4096, page);
			memcpy(d + k * 4096, page, 4096);
		}
		(*out)[i].xxh3 = page_xxh3(d, runs[i].nr_pages * 4096);
		free(d);
	}
	*nr = NR_RUNS;
	return 0;
}

static int fake_read(void *ctx, unsigned pid, uint64_t addr, void *buf, uint64_t len)
{
	(void)ctx;
	if (pid != PID)
		return ENOENT;
	for (uint64_t a = addr; a < addr + len; a += 4096) {
		size_t i;
		for (i = 0; i < NR_RUNS; i++)
			if (a >= runs[i].vaddr && a < runs[i].vaddr + runs[i].nr_pages * 4096)
				break;
		if (i == NR_RUNS)
			return ENOENT;
		fill_page(a, (uint8_t *)buf + (a - addr));
	}
	return 0;
}

struct client {
	const uint8_t *data;
	size_t size;
};

/* sends the input, reads until the server closes; then stops the loop */
static void *client_main(void *arg)
{
	struct client *c = arg;
	struct sockaddr_in sa = { .sin_family = AF_INET, .sin_port = htons(port),
				  .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	uint8_t sink[65536];
	struct ps_hello h = { PS_MAGIC, PS_VERSION, 0, 0, { 0 }, DUMP_ID };
	const uint8_t *p = c->data + 1;
	size_t left = c->size - 1, hl = (c->data[0] & 1) ? sizeof(h) : 0;
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);

	memcpy(h.token, auth.token, PS_TOKEN_LEN);
	if (c->data[0] & 2)
		h.dump_id = ~DUMP_ID;
	if (fd < 0 || connect(fd, (struct sockaddr *)&sa, sizeof(sa)))
		goto out;
	if (!hl && !left)
		shutdown(fd, SHUT_WR);
	for (;;) {
		struct pollfd pfd = { fd, POLLIN | (hl || left ? POLLOUT : 0), 0 };
		if (poll(&pfd, 1, 20000) <= 0)
			break;
		if (pfd.revents & POLLOUT) {
			const uint8_t *src = hl ? (const uint8_t *)&h + (sizeof(h) - hl) : p;
			size_t n = hl ? hl : left;
			ssize_t w = send(fd, src, n, MSG_NOSIGNAL | MSG_DONTWAIT);
			if (w < 0 && errno != EAGAIN)
				hl = left = 0;
			else if (w > 0 && hl)
				hl -= w;
			else if (w > 0)
				p += w, left -= w;
			if (!hl && !left)
				shutdown(fd, SHUT_WR);
		}
		if (pfd.revents & (POLLIN | POLLHUP | POLLERR)) {
			ssize_t r = recv(fd, sink, sizeof(sink), MSG_DONTWAIT);
			if (r == 0 || (r < 0 && errno != EAGAIN))
				break;
		}
	}
out:
	if (fd >= 0)
		close(fd);
	/* the loop may wait for the next client: stop it, and wake it with one */
	stop = 1;
	fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd >= 0) {
		if (connect(fd, (struct sockaddr *)&sa, sizeof(sa))) {
			/* the loop ends at its next wake-up anyway */
		}
		close(fd);
	}
	return NULL;
}

static int setup(void)
{
	struct sockaddr_in sa = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	socklen_t sl = sizeof(sa);

	log_set_level(0);
	signal(SIGPIPE, SIG_IGN);
	for (int i = 0; i < PS_TOKEN_LEN; i++)
		auth.token[i] = (uint8_t)(i * 37 + 11);
	auth.dump_id = DUMP_ID;
	lfd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (lfd < 0 || bind(lfd, (struct sockaddr *)&sa, sizeof(sa)) || listen(lfd, 256) ||
	    getsockname(lfd, (struct sockaddr *)&sa, &sl))
		abort();
	port = ntohs(sa.sin_port);
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static int once;
	struct ps_backend b = { .ctx = NULL, .map = fake_map, .read = fake_read, .stop = &stop };
	struct client c = { data, size };
	pthread_t t;

	if (!once++)
		setup();
	if (size < 1 || size > 65536)
		return 0;
	stop = 0;
	if (pthread_create(&t, NULL, client_main, &c))
		return 0;
	ps_serve(lfd, &b, &auth);
	pthread_join(t, NULL);
	/* a wake-up connection left behind by the client: gone before the next input */
	for (int fd; (fd = accept4(lfd, NULL, NULL, SOCK_CLOEXEC)) >= 0;)
		close(fd);
	return 0;
}
