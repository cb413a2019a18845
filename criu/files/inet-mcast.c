/*
 * inet-mcast.c - the multicast groups a UDP or raw socket joined, with
 * their source filters.
 *
 * No interface lists a socket's memberships, but the kernel lists every
 * group joined on each interface of a network namespace
 * (/proc/PID/net/igmp, igmp6), and getsockopt(MCAST_MSFILTER) on a
 * socket answers for one (interface, group): the filter mode and sources
 * if this socket joined it, EADDRNOTAVAIL if not.  Dump asks the socket
 * about each group listed (IPv4 groups on IPv6 sockets too: they join
 * them at SOL_IP); restore joins each group again on the same interface
 * index (MCAST_JOIN_GROUP) and sets its filter (MCAST_MSFILTER) when it
 * is not "every source".  Owns nothing else of the socket.
 */
#define LOG_PREFIX "files: "
#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "criu/files/inet.h"
#include "common/log.h"

#define MAX_SOURCES 1024u

struct mc_cand {
	uint32_t ifindex;
	int family;
	uint8_t group[16];
};

struct mc_list {
	struct mc_cand *v;
	size_t n;
};

static int cand_add(struct mc_list *l, uint32_t ifindex, int family, const void *group)
{
	struct mc_cand *n = realloc(l->v, (l->n + 1) * sizeof(*n));
	if (!n)
		return -1;
	l->v = n;
	n[l->n].ifindex = ifindex;
	n[l->n].family = family;
	memset(n[l->n].group, 0, 16);
	memcpy(n[l->n].group, group, family == AF_INET ? 4 : 16);
	l->n++;
	return 0;
}

/* /proc/PID/net/igmp: "IDX\tDEV : ..." then "\t\t\t\tGROUP USERS ..." lines,
 * GROUP the __be32 printed as a host-order number */
static int read_igmp(int pid, struct mc_list *l)
{
	char path[64], line[256];
	snprintf(path, sizeof(path), "/proc/%d/net/igmp", pid);
	FILE *f = fopen(path, "r");
	if (!f)
		return errno == ENOENT ? 0 : -1;
	uint32_t ifindex = 0, g;
	int ret = 0;
	while (!ret && fgets(line, sizeof(line), f)) {
		unsigned idx;
		if (line[0] != '\t' && sscanf(line, "%u", &idx) == 1)
			ifindex = idx;
		else if (line[0] == '\t' && ifindex && sscanf(line, " %8x", &g) == 1)
			ret = cand_add(l, ifindex, AF_INET, &g);
	}
	fclose(f);
	return ret;
}

/* /proc/PID/net/igmp6: "IDX DEV GROUP(32 hex) USERS FLAGS TIMER" */
static int read_igmp6(int pid, struct mc_list *l)
{
	char path[64], line[256], hex[33];
	snprintf(path, sizeof(path), "/proc/%d/net/igmp6", pid);
	FILE *f = fopen(path, "r");
	if (!f)
		return errno == ENOENT ? 0 : -1;
	int ret = 0;
	unsigned idx;
	while (!ret && fgets(line, sizeof(line), f)) {
		uint8_t g[16];
		if (sscanf(line, "%u %*s %32s", &idx, hex) != 2 || strlen(hex) != 32)
			continue;
		for (int i = 0; i < 16; i++)
			if (sscanf(hex + 2 * i, "%2hhx", &g[i]) != 1)
				goto next;
		ret = cand_add(l, idx, AF_INET6, g);
next:;
	}
	fclose(f);
	return ret;
}

static void put_group(struct sockaddr_storage *ss, int family, const void *addr)
{
	memset(ss, 0, sizeof(*ss));
	ss->ss_family = family;
	if (family == AF_INET)
		memcpy(&((struct sockaddr_in *)ss)->sin_addr, addr, 4);
	else
		memcpy(&((struct sockaddr_in6 *)ss)->sin6_addr, addr, 16);
}

static int bytes_dup(ProtobufCBinaryData *b, const void *p, size_t len)
{
	b->data = malloc(len);
	if (!b->data)
		return -1;
	memcpy(b->data, p, len);
	b->len = len;
	return 0;
}

static const void *ss_addr(const struct sockaddr_storage *ss)
{
	return ss->ss_family == AF_INET ? (const void *)&((const struct sockaddr_in *)ss)->sin_addr
					: (const void *)&((const struct sockaddr_in6 *)ss)->sin6_addr;
}

/* the filter getsockopt gave, as one McastGroup */
static int add_group(InetSocket *is, const struct mc_cand *c, const struct group_filter *gf)
{
	size_t alen = c->family == AF_INET ? 4 : 16;
	McastGroup **n = realloc(is->mcast, (is->n_mcast + 1) * sizeof(*n));
	if (!n)
		return -1;
	is->mcast = n;
	McastGroup *m = calloc(1, sizeof(*m));
	if (!m)
		return -1;
	mcast_group__init(m);
	is->mcast[is->n_mcast++] = m;
	m->ifindex = c->ifindex;
	m->fmode = gf->gf_fmode;
	if (bytes_dup(&m->group, c->group, alen))
		return -1;
	m->source = calloc(gf->gf_numsrc ? gf->gf_numsrc : 1, sizeof(*m->source));
	if (!m->source)
		return -1;
	for (uint32_t i = 0; i < gf->gf_numsrc; i++) {
		if (gf->gf_slist[i].ss_family != c->family) {
			pr_err("multicast group: source %u of another family", i);
			return -1;
		}
		if (bytes_dup(&m->source[m->n_source++], ss_addr(&gf->gf_slist[i]), alen))
			return -1;
	}
	return 0;
}

/* the socket's filter of one candidate: 1 joined, 0 not, -1 error (logged) */
static int probe(const char *what, int sk, const InetSocket *is, const struct mc_cand *c,
		 struct group_filter *gf, size_t cap)
{
	socklen_t len = GROUP_FILTER_SIZE(cap);
	int level = c->family == AF_INET ? IPPROTO_IP : IPPROTO_IPV6;
	memset(gf, 0, len);
	gf->gf_interface = c->ifindex;
	gf->gf_numsrc = cap;
	put_group(&gf->gf_group, c->family, c->group);
	if (!getsockopt(sk, level, MCAST_MSFILTER, gf, &len)) {
		if (gf->gf_numsrc > cap) {
			pr_err("%s: multicast group with %u sources (more than %d): not supported", what,
			       gf->gf_numsrc, MAX_SOURCES);
			return -1;
		}
		return 1;
	}
	/* not joined here; ENOPROTOOPT: SOL_IP on a raw IPv6 socket;
	 * ENODEV: the interface went away meanwhile */
	if (errno == EADDRNOTAVAIL || errno == ENOPROTOOPT || errno == ENODEV ||
	    (errno == EINVAL && c->family != (int)is->family))
		return 0;
	pr_perror("%s: getsockopt MCAST_MSFILTER", what);
	return -1;
}

int inet_mcast_dump(const char *what, int pid, int sk, InetSocket *is)
{
	struct mc_list l = { 0 };
	if (is->type == SOCK_STREAM)
		return 0;	/* TCP cannot join (EPROTO) */
	if (read_igmp(pid, &l) || (is->family == AF_INET6 && read_igmp6(pid, &l))) {
		pr_perror("%s: cannot read the multicast groups of pid %d's network namespace", what, pid);
		free(l.v);
		return -1;
	}
	struct group_filter *gf = malloc(GROUP_FILTER_SIZE(MAX_SOURCES));
	int ret = gf ? 0 : -1;
	for (size_t i = 0; i < l.n && !ret; i++) {
		int r = probe(what, sk, is, &l.v[i], gf, MAX_SOURCES);
		if (r < 0)
			ret = -1;
		else if (r)
			ret = add_group(is, &l.v[i], gf);
	}
	free(gf);
	free(l.v);
	return ret;
}

static int group_of(const McastGroup *m, int *family)
{
	if (m->group.len != 4 && m->group.len != 16)
		return -1;
	*family = m->group.len == 4 ? AF_INET : AF_INET6;
	if (m->fmode > MCAST_INCLUDE || (m->fmode == MCAST_INCLUDE && !m->n_source) ||
	    m->n_source > MAX_SOURCES)
		return -1;
	for (size_t i = 0; i < m->n_source; i++)
		if (m->source[i].len != m->group.len)
			return -1;
	return 0;
}

int inet_mcast_check(const InetSocket *is)
{
	int family;
	for (size_t i = 0; i < is->n_mcast; i++)
		if (group_of(is->mcast[i], &family) || (family == AF_INET6 && is->family == AF_INET) ||
		    is->type == SOCK_STREAM)
			return -1;
	return 0;
}

static int set_filter(int sk, int level, const McastGroup *m, int family, uint32_t id)
{
	size_t len = GROUP_FILTER_SIZE(m->n_source);
	struct group_filter *gf = calloc(1, len);
	if (!gf)
		return -1;
	gf->gf_interface = m->ifindex;
	gf->gf_fmode = m->fmode;
	gf->gf_numsrc = m->n_source;
	put_group(&gf->gf_group, family, m->group.data);
	for (size_t i = 0; i < m->n_source; i++)
		put_group(&gf->gf_slist[i], family, m->source[i].data);
	int ret = setsockopt(sk, level, MCAST_MSFILTER, gf, len);
	if (ret)
		pr_perror("file %u: cannot set the source filter of a multicast group again", id);
	free(gf);
	return ret;
}

int inet_mcast_restore(int sk, const InetSocket *is, uint32_t id)
{
	for (size_t i = 0; i < is->n_mcast; i++) {
		const McastGroup *m = is->mcast[i];
		struct group_req gr = { .gr_interface = m->ifindex };
		char a[INET6_ADDRSTRLEN] = "?";
		int family;
		if (group_of(m, &family))
			return -1;
		int level = family == AF_INET ? IPPROTO_IP : IPPROTO_IPV6;
		put_group(&gr.gr_group, family, m->group.data);
		if (setsockopt(sk, level, MCAST_JOIN_GROUP, &gr, sizeof(gr))) {
			inet_ntop(family, m->group.data, a, sizeof(a));
			pr_perror("file %u: cannot join multicast group %s on interface %u again", id, a,
				  m->ifindex);
			return -1;
		}
		if ((m->fmode != MCAST_EXCLUDE || m->n_source) && set_filter(sk, level, m, family, id))
			return -1;
	}
	return 0;
}
