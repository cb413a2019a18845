/*
 * netns-rules.c - the routing policy rules of a network namespace (`ip
 * rule`), IPv4 and IPv6.  Each rule is kept as the kernel dumps it (the
 * RTM_NEWRULE payload: struct fib_rule_hdr and every attribute, so
 * nothing is lost to a parser), and given back as it is: restore, inside
 * the new namespace, deletes the rules it starts with (its own defaults)
 * and adds the saved ones.  Through libnl's netlink core.
 */
#define LOG_PREFIX "net: "
#include <errno.h>
#include <linux/fib_rules.h>
#include <linux/rtnetlink.h>
#include <netlink/msg.h>
#include <netlink/netlink.h>
#include <stdlib.h>
#include <string.h>

#include "common/log.h"
#include "criu/net/netns.h"

struct rules {
	ProtobufCBinaryData *v;
	size_t n;
	int err;
};

static int on_rule(struct nl_msg *msg, void *arg)
{
	struct rules *r = arg;
	struct nlmsghdr *h = nlmsg_hdr(msg);
	if (h->nlmsg_type != RTM_NEWRULE || nlmsg_datalen(h) < (int)sizeof(struct fib_rule_hdr))
		return NL_SKIP;
	ProtobufCBinaryData *n = realloc(r->v, (r->n + 1) * sizeof(*n));
	uint8_t *d = malloc(nlmsg_datalen(h));
	if (!n || !d) {
		free(d);
		if (n)
			r->v = n;
		r->err = -1;
		return NL_STOP;
	}
	memcpy(d, nlmsg_data(h), nlmsg_datalen(h));
	r->v = n;
	r->v[r->n++] = (ProtobufCBinaryData){ nlmsg_datalen(h), d };
	return NL_OK;
}

/* every rule of the namespace s is in */
static int list_rules(struct nl_sock *s, struct rules *r)
{
	struct fib_rule_hdr frh = { .family = AF_UNSPEC };
	memset(r, 0, sizeof(*r));
	nl_socket_modify_cb(s, NL_CB_VALID, NL_CB_CUSTOM, on_rule, r);
	int err = nl_send_simple(s, RTM_GETRULE, NLM_F_DUMP, &frh, sizeof(frh));
	if (err >= 0)
		err = nl_recvmsgs_default(s);
	if (err < 0) {
		pr_err("cannot list the routing rules: %s", nl_geterror(err));
		return -1;
	}
	return r->err;
}

static void free_rules(struct rules *r)
{
	for (size_t i = 0; i < r->n; i++)
		free(r->v[i].data);
	free(r->v);
}

int netns_rules_dump(struct img_writer *w, struct nl_sock *s, const char *who)
{
	struct rules r;
	int ret = list_rules(s, &r);
	for (size_t i = 0; i < r.n && !ret; i++) {
		NetNsEntry e = NET_NS_ENTRY__INIT;
		e.has_rule = true;
		e.rule = r.v[i];
		ret = img_write(w, &e.base);
	}
	if (ret)
		pr_err("%s: cannot save its routing rules", who);
	free_rules(&r);
	return ret;
}

bool netns_rule_ok(const ProtobufCBinaryData *b)
{
	const struct fib_rule_hdr *h = (const void *)b->data;
	return b->len >= sizeof(*h) && b->len < 4096 && (h->family == AF_INET || h->family == AF_INET6);
}

/* one rule message (RTM_NEWRULE / RTM_DELRULE) with payload b, acked */
static int send_rule(struct nl_sock *s, int type, int flags, const ProtobufCBinaryData *b)
{
	struct nl_msg *m = nlmsg_alloc_simple(type, flags);
	int err = m ? nlmsg_append(m, b->data, b->len, NLMSG_ALIGNTO) : -NLE_NOMEM;
	if (!err)
		err = nl_send_auto_complete(s, m);
	if (err >= 0)
		err = nl_wait_for_ack(s);
	nlmsg_free(m);
	return err;
}

int netns_rules_begin(struct nl_sock *s)
{
	struct rules r;
	int ret = list_rules(s, &r);
	nl_socket_modify_cb(s, NL_CB_VALID, NL_CB_DEFAULT, NULL, NULL);
	for (size_t i = 0; i < r.n && !ret; i++) {
		int err = send_rule(s, RTM_DELRULE, 0, &r.v[i]);
		if (err < 0 && err != -NLE_OBJ_NOTFOUND) {
			pr_err("cannot delete a routing rule of the new namespace: %s", nl_geterror(err));
			ret = -1;
		}
	}
	free_rules(&r);
	return ret;
}

int netns_rule_restore(struct nl_sock *s, const ProtobufCBinaryData *b)
{
	const struct fib_rule_hdr *h = (const void *)b->data;
	int err = send_rule(s, RTM_NEWRULE, NLM_F_CREATE | NLM_F_EXCL, b);
	if (err < 0) {
		pr_err("netns.img: cannot add a routing rule again (family %u, table %u): %s", h->family,
		       h->table, nl_geterror(err));
		return -1;
	}
	return 0;
}
