/*
 * mnt-opts.c - parsing of --external mnt[A]:B and --ext-mount-map A:B (CRIU's
 * forms): at dump A is a mount point inside the tree's mount namespace and
 * B the key it is saved as; at restore A is the key and B the path on the
 * host bound there.  mnt[] and --ext-mount-map auto: every bind from
 * outside is external, found on the host by its device and root.  Only parses; the meaning is mnt-dump.c's and
 * mnt-restore.c's.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "criu/ns/mnt-opts.h"

static int add(struct mnt_opts *m, const char *a, size_t alen, const char *b)
{
	struct ext_mnt *n = realloc(m->ext, (m->nr_ext + 1) * sizeof(*n));
	char *ac = strndup(a, alen);

	if (!n || !ac) {
		free(ac);
		if (n)
			m->ext = n;
		return -1;
	}
	m->ext = n;
	m->ext[m->nr_ext++] = (struct ext_mnt){ ac, b };
	return 0;
}

int mnt_opts_external(struct mnt_opts *m, const char *arg)
{
	if (strncmp(arg, "mnt[", 4))
		return 1;
	if (!strcmp(arg, "mnt[]")) {
		m->ext_auto = true;
		return 0;
	}
	const char *end = strstr(arg + 4, "]:");
	if (!end || end == arg + 4 || !end[2]) {
		fprintf(stderr, "error: --external %s: expected mnt[MOUNTPOINT]:KEY (dump) or "
			"mnt[KEY]:PATH (restore), or mnt[] (mnt[]:FLAGS is not supported)\n", arg);
		return -1;
	}
	return add(m, arg + 4, end - (arg + 4), end + 2);
}

int mnt_opts_ext_map(struct mnt_opts *m, const char *arg)
{
	const char *colon = strchr(arg, ':');

	if (!strcmp(arg, "auto")) {
		m->ext_auto = true;
		return 0;
	}
	if (!colon || colon == arg || !colon[1]) {
		fprintf(stderr, "error: --ext-mount-map %s: expected MOUNTPOINT:KEY (dump) or KEY:PATH "
			"(restore), or auto\n", arg);
		return -1;
	}
	return add(m, arg, colon - arg, colon + 1);
}

const char *mnt_opts_ext_find(const struct mnt_opts *m, const char *a)
{
	for (int i = 0; i < m->nr_ext; i++)
		if (!strcmp(m->ext[i].a, a))
			return m->ext[i].b;
	return NULL;
}
