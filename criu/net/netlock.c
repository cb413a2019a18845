/*
 * netlock.c - the network lock: while a dumped tree is frozen, and after a
 * dump until its restore, the packets of its TCP connections are dropped,
 * so that neither end answers the other with a reset (a killed socket in
 * repair mode is gone; the peer's next segment would find no socket).
 *
 * It is an nftables table of criu's own (through libnftables), one per
 * dump, holding a set of the connections (local address and port, peer
 * address and port; IPv4 and IPv6) and input and output chains dropping
 * the packets of either direction:
 *   - during the dump the table is "criu_dump_PID" with the owner flag:
 *     the kernel deletes it when criu's netlink socket closes, so it never
 *     outlives the dump, even if criu is killed;
 *   - a dump that ends the tree makes it "criu_lock_PID" (no owner, made
 *     before the dump's own goes), named in inventory.img; the restore
 *     deletes that table once the processes run (netlock_release);
 *   - a failed dump or --leave-running just drops the dump's table.
 * With --network-lock iptables the same is an iptables chain
 * (netlock-ipt.c, "iptables CRIU_LOCK_PID" in inventory.img).
 * PID is the tree's root.  The table is in criu's network namespace, or
 * in the tree's when that is external (--external net[], the caller's;
 * a saved one dies with the tree, and the packets of a veth to it cross
 * criu's).  An external namespace may not outlive the tree either (podman
 * removes a checkpointed container's and makes a new one, its address
 * already up, before the restore): so the kept criu_lock_PID is made in
 * criu's namespace too, where the packets of a peer outside (the host, or
 * routed through it) cross; the restore deletes both.  This module also puts the dumped connections
 * in repair mode just before the kill (and out again if that fails).
 */
#define LOG_PREFIX "net: "
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <linux/inet_diag.h>
#include <nftables/libnftables.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <sys/xattr.h>
#include <unistd.h>
#include <arpa/inet.h>

#include "criu/dump/dump.h"
#include "criu/files/inet.h"
#include "common/log.h"
#include "criu/net/netlock.h"

struct netlock {
	struct nft_ctx *nft;
	pid_t root;
	char *elems[2];		/* the set elements, IPv4 and IPv6, "a . p . b . q, ..." */
	size_t len[2], cap[2];
	uint64_t *ino;		/* the tree's TCP sockets, sorted */
	size_t nr_ino, nr_conn;
	bool kept;		/* netlock_keep made criu_lock_PID */
	struct ipt_lock *ipt;	/* --network-lock iptables (netlock-ipt.c) instead */
	int ns;			/* where the lock is: the tree's namespace, or -1: criu's */
	struct nft_ctx *own;	/* ns >= 0: the kept lock in criu's namespace too */
};

static int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
	return x < y ? -1 : x > y;
}

static int add_ino(struct netlock *nl, uint64_t ino)
{
	uint64_t *n = realloc(nl->ino, (nl->nr_ino + 1) * sizeof(*n));
	if (!n)
		return -1;
	nl->ino = n;
	nl->ino[nl->nr_ino++] = ino;
	return 0;
}

/* the inodes of the TCP sockets among pid's fds */
static int scan_fds(struct netlock *nl, pid_t pid)
{
	char path[300], link[64], proto[16];
	snprintf(path, sizeof(path), "/proc/%d/fd", pid);
	DIR *d = opendir(path);
	if (!d) {
		pr_perror("cannot open %s", path);
		return -1;
	}
	struct dirent *de;
	int ret = 0;
	while (!ret && (de = readdir(d))) {
		unsigned long long ino;
		snprintf(path, sizeof(path), "/proc/%d/fd/%s", pid, de->d_name);
		ssize_t n = readlink(path, link, sizeof(link) - 1);
		if (n <= 0)
			continue;
		link[n] = 0;
		if (sscanf(link, "socket:[%llu]", &ino) != 1)
			continue;
		n = getxattr(path, "system.sockprotoname", proto, sizeof(proto) - 1);
		if (n > 0 && (proto[n] = 0, !strcmp(proto, "TCP") || !strcmp(proto, "TCPv6")))
			ret = add_ino(nl, ino);
	}
	closedir(d);
	return ret;
}

static int append(struct netlock *nl, int v6, const char *s)
{
	size_t l = strlen(s);
	if (nl->len[v6] + l + 1 > nl->cap[v6]) {
		size_t cap = (nl->cap[v6] + l + 1) * 2;
		char *n = realloc(nl->elems[v6], cap);
		if (!n)
			return -1;
		nl->elems[v6] = n;
		nl->cap[v6] = cap;
	}
	memcpy(nl->elems[v6] + nl->len[v6], s, l + 1);
	nl->len[v6] += l;
	return 0;
}

static int on_conn(const struct inet_diag_msg *m, void *arg)
{
	struct netlock *nl = arg;
	uint64_t ino = m->idiag_inode;
	if (!bsearch(&ino, nl->ino, nl->nr_ino, sizeof(ino), cmp_u64))
		return 0;
	int v6 = m->idiag_family == AF_INET6;
	char a[INET6_ADDRSTRLEN], b[INET6_ADDRSTRLEN], e[160];
	inet_ntop(m->idiag_family, m->id.idiag_src, a, sizeof(a));
	inet_ntop(m->idiag_family, m->id.idiag_dst, b, sizeof(b));
	snprintf(e, sizeof(e), "%s%s . %u . %s . %u", nl->len[v6] ? ", " : "", a, ntohs(m->id.idiag_sport), b,
		 ntohs(m->id.idiag_dport));
	nl->nr_conn++;
	return append(nl, v6, e);
}

/* the nftables commands making table name with the connections */
static char *ruleset(const struct netlock *nl, const char *name, bool owner)
{
	static const char *const type[2] = { "ipv4_addr . inet_service . ipv4_addr . inet_service",
					     "ipv6_addr . inet_service . ipv6_addr . inet_service" };
	static const char *const ip[2] = { "ip", "ip6" };
	char chains[2][600], sets[2][300], pass[64];
	snprintf(pass, sizeof(pass), "meta mark %#x accept\n", NETLOCK_PASS_MARK);
	for (int v = 0; v < 2; v++) {
		snprintf(sets[v], sizeof(sets[v]), "set c%d { type %s; }\n", v, type[v]);
		snprintf(chains[v], sizeof(chains[v]),
			 "%s saddr . tcp sport . %s daddr . tcp dport @c%d drop\n"
			 "%s daddr . tcp dport . %s saddr . tcp sport @c%d drop\n",
			 ip[v], ip[v], v, ip[v], ip[v], v);
	}
	char *s = NULL;
	int n = asprintf(&s,
		"table inet %s {\n%s%s%s"
		"chain lock_in { type filter hook input priority -300; policy accept;\n%s%s%s}\n"
		"chain lock_out { type filter hook output priority -300; policy accept;\n%s%s%s}\n}\n"
		"%s%s%s%s%s%s%s%s",
		name, owner ? "flags owner\n" : "", sets[0], sets[1], pass, chains[0], chains[1], pass, chains[0],
		chains[1],
		nl->len[0] ? "add element inet " : "", nl->len[0] ? name : "", nl->len[0] ? " c0 { " : "",
		nl->len[0] ? nl->elems[0] : "", nl->len[0] ? " }\n" : "",
		nl->len[1] ? "add element inet " : "", nl->len[1] ? name : "", nl->len[1] ? " c1 { " : "");
	if (n < 0)
		return NULL;
	if (nl->len[1]) {
		char *t = NULL;
		n = asprintf(&t, "%s%s }\n", s, nl->elems[1]);
		free(s);
		s = n < 0 ? NULL : t;
	}
	return s;
}

static int run(struct nft_ctx *nft, const char *cmd, const char *what)
{
	if (nft_run_cmd_from_buffer(nft, cmd) == 0)
		return 0;
	const char *e = nft_ctx_get_error_buffer(nft);
	char line[200] = "";
	if (e)
		sscanf(e, "%199[^\n]", line);
	pr_err("network lock: cannot %s with nftables: %s (--network-lock skip dumps without a lock)", what,
	       line[0] ? line : "error");
	return -1;
}

static struct nft_ctx *nft_open(void)
{
	struct nft_ctx *nft = nft_ctx_new(NFT_CTX_DEFAULT);
	if (!nft) {
		pr_err("network lock: cannot start libnftables");
		return NULL;
	}
	nft_ctx_buffer_output(nft);
	nft_ctx_buffer_error(nft);
	return nft;
}

/* the tree's network namespace if it is not criu's (its connections are
 * listed there; the table stays in criu's, which the packets of a veth
 * to it cross), else -1 */
static int tree_netns(pid_t root)
{
	char path[64];
	struct stat a, b;
	snprintf(path, sizeof(path), "/proc/%d/ns/net", root);
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd >= 0 && !fstat(fd, &a) && !stat("/proc/thread-self/ns/net", &b) && a.st_ino == b.st_ino) {
		close(fd);
		fd = -1;
	}
	return fd;
}

static int open_fn(void *p)
{
	*(struct nft_ctx **)p = nft_open();
	return 0;
}

static int find_conns(struct netlock *nl, const struct dump_tree *t)
{
	for (size_t i = 0; i < t->nr; i++)
		if (!t->procs[i].zombie && !t->procs[i].files_shared && scan_fds(nl, t->procs[i].pid))
			return -1;
	if (!nl->nr_ino)
		return 0;
	qsort(nl->ino, nl->nr_ino, sizeof(*nl->ino), cmp_u64);
	uint32_t states = ~0U & ~(1U << 10) & ~(1U << 7);	/* every state but LISTEN and CLOSE */
	int ns = tree_netns(t->procs[0].pid);
	int r = inet_diag_each(ns, AF_INET, IPPROTO_TCP, states, on_conn, nl) ||
		inet_diag_each(ns, AF_INET6, IPPROTO_TCP, states, on_conn, nl) ? -1 : 0;
	if (ns >= 0)
		close(ns);
	return r;
}

int netlock_tree(const struct dump_tree *t, const struct opts *o, struct netlock **out)
{
	*out = NULL;
	if (!o->tcp_established || (o->network_lock && !strcmp(o->network_lock, "skip")))
		return 0;
	bool ipt = o->network_lock && !strcmp(o->network_lock, "iptables");
	struct netlock *nl = calloc(1, sizeof(*nl));
	if (!nl)
		return -1;
	nl->root = t->procs[0].pid;
	nl->ns = -1;
	if (find_conns(nl, t) || !nl->nr_conn) {
		int err = nl->nr_conn ? -1 : 0;
		netlock_free(nl);
		return err;
	}
	char name[64];
	snprintf(name, sizeof(name), "criu_dump_%d", nl->root);
	char *cmd = ruleset(nl, name, true);
	/* an external network namespace (the caller's: it outlives the tree)
	 * is locked from inside; a saved one dies with the tree: from criu's,
	 * which the packets of a veth to it cross */
	int ns = tree_netns(nl->root);
	struct stat st;
	if (ns >= 0 && (fstat(ns, &st) || st.st_ino != o->net.ext_ns_inode)) {
		close(ns);
		ns = -1;
	}
	nl->ns = ns;
	if (ipt) {
		free(cmd);
		nl->ipt = ipt_lock_make(nl->root, nl->elems, ns);
		if (!nl->ipt) {
			netlock_free(nl);
			return -1;
		}
		pr_info("%zu TCP connections locked (iptables chain %s)", nl->nr_conn, ipt_lock_chain(nl->ipt));
		*out = nl;
		return 0;
	}
	inet_in_netns(ns, open_fn, &nl->nft);
	if (!cmd || !nl->nft || run(nl->nft, cmd, "lock the tree's connections")) {
		free(cmd);
		netlock_free(nl);
		return -1;
	}
	free(cmd);
	pr_info("%zu TCP connections locked (table inet %s)", nl->nr_conn, name);
	*out = nl;
	return 0;
}

const char *netlock_name(const struct netlock *nl, char *buf, size_t len)
{
	if (!nl)
		return NULL;
	if (nl->ipt)
		snprintf(buf, len, "iptables %s", ipt_lock_chain(nl->ipt));
	else
		snprintf(buf, len, "inet criu_lock_%d", nl->root);
	return buf;
}

int netlock_keep(struct netlock *nl)
{
	if (!nl)
		return 0;
	if (nl->ipt) {
		/* the chain stays; its guardian goes */
		ipt_lock_done(nl->ipt, true);
		nl->ipt = NULL;
		nl->kept = true;
		return 0;
	}
	char name[64];
	snprintf(name, sizeof(name), "criu_lock_%d", nl->root);
	char *cmd = ruleset(nl, name, false);
	int ret = cmd ? run(nl->nft, cmd, "keep the connections locked until the restore") : -1;
	nl->kept = !ret;
	/* the external namespace may go before the restore: criu's keeps it too */
	if (!ret && nl->ns >= 0) {
		nl->own = nft_open();
		ret = nl->own ? run(nl->own, cmd, "keep the connections locked in criu's namespace") : -1;
	}
	free(cmd);
	return ret;
}

void netlock_undo(struct netlock *nl)
{
	char cmd[200];
	if (nl && nl->kept && !nl->nft) {
		snprintf(cmd, sizeof(cmd), "CRIU_LOCK_%d", nl->root);
		ipt_lock_release(cmd, nl->ns);
	} else if (nl && nl->kept) {
		/* through the lock's own context: in the namespace it was made in */
		snprintf(cmd, sizeof(cmd), "add table inet criu_lock_%d\ndelete table inet criu_lock_%d\n",
			 nl->root, nl->root);
		run(nl->nft, cmd, "unlock the connections");
		if (nl->own)
			run(nl->own, cmd, "unlock the connections in criu's namespace");
	}
	netlock_free(nl);
}

void netlock_free(struct netlock *nl)
{
	if (!nl)
		return;
	if (nl->nft)
		nft_ctx_free(nl->nft);	/* its socket closes: the owner table goes */
	if (nl->own)
		nft_ctx_free(nl->own);
	ipt_lock_done(nl->ipt, false);	/* not kept: the chain goes */
	if (nl->ns >= 0)
		close(nl->ns);
	free(nl->elems[0]);
	free(nl->elems[1]);
	free(nl->ino);
	free(nl);
}

int netlock_release(const char *table, int nsfd)
{
	char family[16], name[64];
	if (table && sscanf(table, "%15s %63s", family, name) == 2 && !strcmp(family, "iptables"))
		return ipt_lock_release(name, nsfd);
	if (!table || sscanf(table, "%15s %63s", family, name) != 2 || strcmp(family, "inet") ||
	    strncmp(name, "criu_lock_", 10)) {
		if (table)
			pr_err("inventory.img: network lock '%s' is not a table of criu's", table);
		return table ? -1 : 0;
	}
	char cmd[200];
	/* add, then delete: no error if it is gone already */
	snprintf(cmd, sizeof(cmd), "add table inet %s\ndelete table inet %s\n", name, name);
	int ret = 0;
	/* the joined namespace's, then criu's (netlock_keep made both) */
	for (int own = 0; own < (nsfd >= 0 ? 2 : 1); own++) {
		struct nft_ctx *nft = NULL;
		if (own)
			nft = nft_open();
		else
			inet_in_netns(nsfd, open_fn, &nft);
		if (!nft)
			return -1;
		ret |= run(nft, cmd, own ? "unlock the connections in criu's namespace" : "unlock the connections");
		nft_ctx_free(nft);
	}
	if (!ret)
		pr_info("network unlocked (table %s deleted)", table);
	return ret;
}

int net_repair_tree(const struct dump_tree *t, bool on)
{
	int ret = 0;
	for (size_t i = 0; i < t->nr; i++) {
		const struct dump_proc *p = &t->procs[i];
		int pidfd = -1;
		for (size_t j = 0; j < p->nr_fds; j++) {
			const FileEntry *fe = p->fds[j]->file;
			if (!fe || !fe->inet_sk || !fe->inet_sk->tcp)
				continue;
			if (pidfd < 0)
				pidfd = syscall(SYS_pidfd_open, p->pid, 0);
			int sk = pidfd < 0 ? -1 : syscall(SYS_pidfd_getfd, pidfd, p->fds[j]->fd, 0);
			if (sk < 0) {
				pr_perror("pid %d: fd %u: cannot take a copy of the connection", p->pid,
					  p->fds[j]->fd);
				ret = -1;
				continue;
			}
			if (!on)
				inet_tcp_repair_off(sk);
			else if (inet_tcp_repair_on(sk)) {
				pr_perror("pid %d: fd %u: cannot put the connection in repair mode", p->pid,
					  p->fds[j]->fd);
				ret = -1;
			}
			close(sk);
		}
		if (pidfd >= 0)
			close(pidfd);
	}
	return ret;
}
