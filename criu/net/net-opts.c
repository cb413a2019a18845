/*
 * net-opts.c - parsing of the network kinds of --external (net-opts.h).
 */
#define LOG_PREFIX ""
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "criu/net/net-opts.h"

/* "KIND[X]:Y": X and Y (Y may be empty); NULL if not of kind */
static char *split(const char *arg, const char *kind, char **y)
{
	size_t kl = strlen(kind);
	if (strncmp(arg, kind, kl) || arg[kl] != '[')
		return NULL;
	char *x = strdup(arg + kl + 1);
	if (!x)
		return NULL;
	char *close = strchr(x, ']');
	if (!close || (close[1] && close[1] != ':')) {
		free(x);
		return NULL;
	}
	*close = '\0';
	*y = close[1] ? close + 2 : close + 1;
	return x;
}

static int add_dev(struct net_opts *n, const char *kind, const char *arg)
{
	char *out, *in = split(arg, kind, &out);
	bool veth = !strcmp(kind, "veth");
	if (!in || !*in || strlen(in) >= 16 || (!veth && (!*out || strchr(out, '@')))) {
		fprintf(stderr, "error: --external %s: expected %s\n", arg,
			veth ? "veth[IFNAME]:OUTSIDE[@BRIDGE]" : "macvlan[IFNAME]:PARENT");
		free(in);
		return -1;
	}
	struct net_veth_ext *v = realloc(n->veth, (n->nr_veth + 1) * sizeof(*v));
	if (!v)
		return -1;
	n->veth = v;
	v += n->nr_veth++;
	v->kind = kind;
	v->inside = in;
	v->outside = *out ? out : NULL;
	char *at = *out ? strchr(out, '@') : NULL;
	v->bridge = at && at[1] ? at + 1 : NULL;
	if (at)
		*at = '\0';
	if (v->outside && (!*v->outside || strlen(v->outside) >= 16)) {
		fprintf(stderr, "error: --external %s: the outside name must have 1 to 15 characters\n", arg);
		return -1;
	}
	return 0;
}

static int add_ns(struct net_opts *n, const char *arg)
{
	char *key, *ino = split(arg, "net", &key), *end;
	unsigned long v = ino ? strtoul(ino, &end, 10) : 0;
	if (!ino || !v || *end || !*key) {
		fprintf(stderr, "error: --external %s: expected net[INODE]:KEY\n", arg);
		free(ino);
		return -1;
	}
	n->ext_ns_inode = v;
	n->ext_ns_key = key;
	return 0;
}

int net_opts_external(struct net_opts *n, const char *arg)
{
	if (!strncmp(arg, "veth[", 5))
		return add_dev(n, "veth", arg);
	if (!strncmp(arg, "macvlan[", 8))
		return add_dev(n, "macvlan", arg);
	if (!strncmp(arg, "net[", 4))
		return add_ns(n, arg);
	return 1;
}

const struct net_veth_ext *net_opts_dev(const struct net_opts *n, const char *kind, const char *inside)
{
	for (size_t i = 0; n && i < n->nr_veth; i++)
		if (!strcmp(n->veth[i].kind, kind) && !strcmp(n->veth[i].inside, inside))
			return &n->veth[i];
	return NULL;
}
