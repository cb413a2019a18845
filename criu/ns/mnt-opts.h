/*
 * mnt-opts.h - the options of mount namespaces and of namespaces criu
 * makes empty, as parsed (mnt-opts.c, empty-ns.c): --root, --external
 * mnt[A]:B, --ext-mount-map A:B, --empty-ns.  Shared by the command line
 * and `criu swrk` (which turns its root, ext_mnt and empty_ns fields into
 * these options); the dump and restore code takes a const struct mnt_opts.
 */
#ifndef CRIU_NS_MNT_OPTS_H
#define CRIU_NS_MNT_OPTS_H

#include <stdbool.h>
#include <stdint.h>

/* dump: a = the mount point inside, b = its key; restore: a = the key, b = the path to bind */
struct ext_mnt {
	const char *a, *b;
};

struct mnt_opts {
	const char *root;	/* --root DIR: the container's rootfs (restore) */
	struct ext_mnt *ext;	/* --external mnt[A]:B, --ext-mount-map A:B */
	int nr_ext;
	uint32_t empty_ns;	/* --empty-ns: CLONE_NEWNET (empty-ns.c) */
	bool ext_auto;		/* --external mnt[], --ext-mount-map auto: binds from outside are
				 * external (dump), bound again from the same host path (restore) */
};

/*
 * "mnt[A]:B" (or "mnt[]": ext_auto) into m: 0; 1 if arg is not of the mnt kind (another
 * --external kind); -1 if malformed (one line on stderr)
 */
int mnt_opts_external(struct mnt_opts *m, const char *arg);
/* --ext-mount-map A:B (or auto): 0, or -1 (one line on stderr) */
int mnt_opts_ext_map(struct mnt_opts *m, const char *arg);
/* the b of the mapping whose a is a, or NULL */
const char *mnt_opts_ext_find(const struct mnt_opts *m, const char *a);

/* empty-ns.c: --empty-ns net (or CLONE_NEWNET as a number): 0, or -1 (one line on stderr) */
int empty_ns_parse(uint32_t *flags, const char *arg);

#endif /* CRIU_NS_MNT_OPTS_H */
