/*
 * libcriu-opts.h - inside libcriu only: what a criu_opts holds (the wire
 * message being built, the service binary, the notify callback), shared by
 * libcriu.c (the calls, the process options) and libcriu-ns.c (the mount,
 * namespace and container setters).  Not installed.
 */
#ifndef LIBCRIU_OPTS_H
#define LIBCRIU_OPTS_H

#include "lib/criu.h"
#include "images/rpc.pb-c.h"

struct criu_opts {
	CriuOpts rpc;
	char *binary;
	criu_notify_cb_t notify;
};

/* a copy of s into *dst (the old one freed): 0 or -ENOMEM */
int libcriu_set_str(char **dst, const char *s);
/* libcriu-ns.c: frees what its setters added */
void libcriu_ns_free(criu_opts *o);

#endif /* LIBCRIU_OPTS_H */
