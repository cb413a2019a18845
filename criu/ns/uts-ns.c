/*
 * uts-ns.c - the uts namespace of a tree: its host and domain names,
 * read at dump from inside it (the caller has joined it) into utsns.img,
 * and set at restore inside the new one (the caller is its first task).
 */
#define LOG_PREFIX ""
#include <errno.h>
#include <string.h>
#include <sys/utsname.h>
#include <unistd.h>

#include "images/image.h"
#include "common/log.h"
#include "criu/ns/ns-img.h"

int uts_ns_dump(int dirfd, uint64_t dump_id)
{
	UtsNsEntry e = UTS_NS_ENTRY__INIT;
	struct utsname u;
	struct img_writer *w;

	if (uname(&u)) {
		pr_perror("uts namespace: uname");
		return -1;
	}
	e.hostname = u.nodename;
	e.domainname = u.domainname;
	if (img_writer_open(dirfd, IMG_UTSNS, 0, dump_id, &w))
		return -1;
	if (img_write(w, &e.base)) {
		img_writer_abort(w);
		return -1;
	}
	return img_writer_close(w);
}

int uts_ns_restore(const UtsNsEntry *e)
{
	if (sethostname(e->hostname, strlen(e->hostname)) ||
	    setdomainname(e->domainname, strlen(e->domainname))) {
		pr_perror("utsns.img: cannot set host name '%s' and domain name '%s'", e->hostname,
			  e->domainname);
		return -1;
	}
	return 0;
}
