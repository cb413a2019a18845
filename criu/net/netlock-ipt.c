/*
 * netlock-ipt.c - the network lock with iptables (`--network-lock
 * iptables`, upstream's other method): a chain CRIU_LOCK_<root> in the
 * filter tables of iptables and ip6tables, jumped to first from INPUT and
 * OUTPUT, accepting packets marked NETLOCK_PASS_MARK and dropping those of
 * the dumped connections either way; made and deleted with the tools' own
 * iptables-restore and ip6tables-restore (--noflush), run in the tree's
 * network namespace when the lock is made there.
 *
 * The same undo guarantee as the nftables table's owner flag: a guardian
 * process holds a pipe from criu; if criu goes away (killed) before the
 * dump says the lock is to stay, the guardian deletes the chain.  A dump
 * that ends the tree tells it to leave the chain to the restore; a failed
 * one has it deleted at once.  netlock.c decides; this module runs.
 */
#define LOG_PREFIX "net: "
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "common/log.h"
#include "criu/net/netlock.h"

struct ipt_lock {
	char chain[32];
	int nsfd;		/* -1: criu's namespace */
	int pipe;		/* to the guardian */
	pid_t guardian;
};

/* a tool (argv) fed input (NULL: none), in namespace nsfd; its exit status */
static int run_tool(char *const argv[], const char *input, int nsfd)
{
	int p[2];
	if (pipe2(p, O_CLOEXEC))
		return -1;
	pid_t c = fork();
	if (c == 0) {
		int null = open("/dev/null", O_WRONLY);
		if (dup2(p[0], 0) < 0 || null < 0 || dup2(null, 1) < 0 || dup2(null, 2) < 0 ||
		    (nsfd >= 0 && setns(nsfd, CLONE_NEWNET)))
			_exit(126);
		execvp(argv[0], argv);
		_exit(127);
	}
	close(p[0]);
	size_t len = input ? strlen(input) : 0, off = 0;
	while (c > 0 && off < len) {
		ssize_t n = write(p[1], input + off, len - off);
		if (n <= 0)
			break;
		off += n;
	}
	close(p[1]);
	int st;
	if (c < 0 || waitpid(c, &st, 0) != c)
		return -1;
	return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

/* `[ip6]iptables-restore --noflush -w` fed input */
static int restore_tool(bool v6, const char *input, int nsfd)
{
	char *argv[] = { v6 ? "ip6tables-restore" : "iptables-restore", "--noflush", "-w", NULL };
	return run_tool(argv, input, nsfd);
}

static bool chain_exists(bool v6, const char *chain, int nsfd)
{
	char *argv[] = { v6 ? "ip6tables" : "iptables", "-w", "-n", "-L", (char *)chain, NULL };
	return run_tool(argv, NULL, nsfd) == 0;
}

/* "a . p . b . q, ..." (netlock.c's set elements) as DROP rules both ways */
static char *rules(const char *chain, const char *elems)
{
	size_t cap = 256 + (elems ? strlen(elems) * 8 : 0), len = 0;
	char *s = malloc(cap);
	if (!s)
		return NULL;
	len += snprintf(s, cap, "*filter\n:%s - [0:0]\n-A %s -m mark --mark %#x -j ACCEPT\n", chain, chain,
			NETLOCK_PASS_MARK);
	const char *e = elems;
	char a[64], b[64];
	unsigned p, q;
	int n;
	while (e && sscanf(e, " %63s . %u . %63s . %u%n", a, &p, b, &q, &n) == 4) {
		len += snprintf(s + len, cap - len,
				"-A %s -p tcp -s %s -d %s --sport %u --dport %u -j DROP\n"
				"-A %s -p tcp -s %s -d %s --sport %u --dport %u -j DROP\n",
				chain, a, b, p, q, chain, b, a, q, p);
		e += n;
		e += strspn(e, ", ");
	}
	snprintf(s + len, cap - len, "-I INPUT 1 -j %s\n-I OUTPUT 1 -j %s\nCOMMIT\n", chain, chain);
	return s;
}

/* the chain out of both tables; 0 once it is in neither (gone already too) */
static int drop_chain(const char *chain, int nsfd)
{
	char in[256];
	snprintf(in, sizeof(in), "*filter\n-D INPUT -j %s\n-D OUTPUT -j %s\n-F %s\n-X %s\nCOMMIT\n", chain, chain,
		 chain, chain);
	restore_tool(false, in, nsfd);
	restore_tool(true, in, nsfd);
	return chain_exists(false, chain, nsfd) || chain_exists(true, chain, nsfd) ? -1 : 0;
}

/* the guardian: the chain goes unless criu says 'k' before it goes away */
static void __attribute__((noreturn)) guard(int rd, const char *chain, int nsfd)
{
	char c = 0;
	int null = open("/dev/null", O_RDWR);
	dup2(null, 0), dup2(null, 1), dup2(null, 2);
	for (int fd = 3; fd < 1024; fd++)
		if (fd != rd && fd != nsfd)
			close(fd);
	signal(SIGINT, SIG_IGN);
	signal(SIGTERM, SIG_IGN);
	while (read(rd, &c, 1) < 0 && errno == EINTR)
		;
	if (c != 'k')
		drop_chain(chain, nsfd);
	_exit(0);
}

struct ipt_lock *ipt_lock_make(pid_t root, char *const elems[2], int nsfd)
{
	struct ipt_lock *l = calloc(1, sizeof(*l));
	int p[2];
	if (!l || pipe2(p, O_CLOEXEC)) {
		free(l);
		return NULL;
	}
	snprintf(l->chain, sizeof(l->chain), "CRIU_LOCK_%d", root);
	l->nsfd = nsfd >= 0 ? fcntl(nsfd, F_DUPFD_CLOEXEC, 0) : -1;
	l->guardian = fork();
	if (l->guardian == 0) {
		close(p[1]);
		guard(p[0], l->chain, l->nsfd);
	}
	close(p[0]);
	l->pipe = p[1];
	char *r4 = rules(l->chain, elems[0]), *r6 = rules(l->chain, elems[1]);
	int st4 = r4 ? restore_tool(false, r4, l->nsfd) : -1, st6 = r6 ? restore_tool(true, r6, l->nsfd) : -1;
	free(r4);
	free(r6);
	if (l->guardian < 0 || st4 || st6) {
		pr_err("network lock: iptables-restore %s (status %d, %d) (--network-lock skip dumps without a lock)",
		       l->guardian < 0 ? "not started" : "failed", st4, st6);
		ipt_lock_done(l, false);
		return NULL;
	}
	pr_info("connections locked (iptables chain %s)", l->chain);
	return l;
}

const char *ipt_lock_chain(const struct ipt_lock *l)
{
	return l->chain;
}

void ipt_lock_done(struct ipt_lock *l, bool keep)
{
	if (!l)
		return;
	if (keep && write(l->pipe, "k", 1) != 1)
		pr_perror("network lock: cannot tell the guardian to keep %s", l->chain);
	close(l->pipe);		/* not kept: the guardian deletes the chain */
	if (l->guardian > 0)
		while (waitpid(l->guardian, NULL, 0) < 0 && errno == EINTR)
			;
	if (l->nsfd >= 0)
		close(l->nsfd);
	free(l);
}

int ipt_lock_release(const char *chain, int nsfd)
{
	if (strncmp(chain, "CRIU_LOCK_", 10) || strspn(chain + 10, "0123456789") != strlen(chain + 10)) {
		pr_err("inventory.img: network lock chain '%s' is not one of criu's", chain);
		return -1;
	}
	if (drop_chain(chain, nsfd)) {
		pr_err("network lock: cannot delete iptables chain %s", chain);
		return -1;
	}
	pr_info("network unlocked (iptables chain %s deleted)", chain);
	return 0;
}
