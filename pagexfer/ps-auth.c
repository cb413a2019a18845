/*
 * ps-auth.c - what one command authenticates its page-server connections
 * with (see ps-sec.h): the TLS credentials, or the token.
 *
 * The token is 32 random bytes, kept as 64 hex digits in a file of mode
 * 0600 owned by the user running criu: DIR/ps-token (DIR: -D) unless
 * --ps-token-file names another.  A server (criu page-server, criu dump
 * --lazy-pages) creates it if it does not exist (getrandom, O_EXCL, linked
 * into place whole); a client (criu restore --page-server, criu
 * lazy-pages --page-server) needs it.  A token file that another user
 * could read, or that is not the user's own, is refused by both: whoever
 * reads it can read the memory being served.
 */
#define LOG_PREFIX "page-server: "
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/log.h"
#include "images/image.h"
#include "pagexfer/ps-sec.h"
#include "pagexfer/ps-tls.h"

/* the token in f (fd), checked: 0 or -1 (logged) */
static int token_read(const char *f, int fd, uint8_t tok[PS_TOKEN_LEN])
{
	char hex[2 * PS_TOKEN_LEN + 2];
	struct stat st;
	ssize_t n;

	if (fstat(fd, &st) || !S_ISREG(st.st_mode)) {
		pr_err("%s: the page-server token is not a regular file", f);
		return -1;
	}
	if (st.st_uid != geteuid() || (st.st_mode & 077)) {
		pr_err("%s: the page-server token is readable by others (mode %03o, uid %u): "
		       "chmod 600 it, as the user running criu", f, st.st_mode & 0777, st.st_uid);
		return -1;
	}
	n = pread(fd, hex, sizeof(hex), 0);
	if (n < 2 * PS_TOKEN_LEN || (n > 2 * PS_TOKEN_LEN && hex[2 * PS_TOKEN_LEN] != '\n')) {
		pr_err("%s: not a page-server token (64 hex digits)", f);
		return -1;
	}
	for (int i = 0; i < PS_TOKEN_LEN; i++) {
		unsigned v;
		if (sscanf(hex + 2 * i, "%2x", &v) != 1 || !strchr("0123456789abcdefABCDEF", hex[2 * i]) ||
		    !strchr("0123456789abcdefABCDEF", hex[2 * i + 1])) {
			pr_err("%s: not a page-server token (64 hex digits)", f);
			return -1;
		}
		tok[i] = v;
	}
	return 0;
}

/* a new token file at f; 0, 1 (another made it first), -1 (logged) */
static int token_create(const char *f)
{
	char tmp[4200], hex[2 * PS_TOKEN_LEN + 2];
	uint8_t tok[PS_TOKEN_LEN];
	int fd, ret = -1;

	if (getrandom(tok, sizeof(tok), 0) != sizeof(tok)) {
		pr_perror("cannot make a page-server token");
		return -1;
	}
	for (int i = 0; i < PS_TOKEN_LEN; i++)
		sprintf(hex + 2 * i, "%02x", tok[i]);
	hex[2 * PS_TOKEN_LEN] = '\n';
	snprintf(tmp, sizeof(tmp), "%s.%d", f, getpid());
	fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
	if (fd < 0) {
		pr_perror("%s: cannot create the page-server token", tmp);
		return -1;
	}
	/* (0600 whatever the umask) */
	if (fchmod(fd, 0600) || write(fd, hex, sizeof(hex) - 1) != sizeof(hex) - 1) {
		pr_perror("%s: cannot write the page-server token", tmp);
	} else if (link(tmp, f)) {
		ret = errno == EEXIST ? 1 : -1;
		if (ret < 0)
			pr_perror("%s: cannot create the page-server token", f);
	} else {
		ret = 0;
		pr_info("%s: a new page-server token: the restore side needs a copy (mode 0600)", f);
	}
	close(fd);
	unlink(tmp);
	return ret;
}

static int token_load(const char *f, bool server, uint8_t tok[PS_TOKEN_LEN])
{
	int fd = open(f, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);

	if (fd < 0 && errno == ENOENT && server) {
		if (token_create(f) < 0)
			return -1;
		fd = open(f, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
	}
	if (fd < 0) {
		if (errno == ENOENT)
			pr_err("%s: no page-server token: copy the one the server made (in its images "
			       "directory, mode 0600) or give --ps-token-file (or --tls)", f);
		else
			pr_perror("%s: cannot open the page-server token", f);
		return -1;
	}
	int ret = token_read(f, fd, tok);
	close(fd);
	return ret;
}

/* the id of the dump in dir (its inventory.img; 0 if it has none); 0 or -1 (logged) */
static int dump_id_of(const char *dir, uint64_t *id)
{
	int dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);

	*id = 0;
	if (dfd < 0) {
		pr_perror("cannot open images directory %s", dir);
		return -1;
	}
	int ret = img_dir_dump_id(dfd, id);
	close(dfd);
	if (ret == -ENOENT)
		*id = 0;	/* a directory being dumped into: the dump says its id */
	return ret && ret != -ENOENT ? -1 : 0;
}

int ps_auth_init(const struct ps_sec *s, const char *images_dir, bool server, struct ps_auth *a)
{
	char path[4096];

	memset(a, 0, sizeof(*a));
	a->no_cn_verify = s->tls_no_cn_verify;
	if (images_dir && dump_id_of(images_dir, &a->dump_id))
		return -1;
	if (s->tls) {
		a->tls = ps_tls_creds(s, server);
		return a->tls ? 0 : -1;
	}
	if (!s->token_file && !images_dir) {
		pr_err("the page-server token: give -D DIR (for DIR/%s) or --ps-token-file (or --tls)",
		       PS_TOKEN_NAME);
		return -1;
	}
	snprintf(path, sizeof(path), "%s/%s", images_dir, PS_TOKEN_NAME);
	return token_load(s->token_file ? s->token_file : path, server, a->token);
}

void ps_auth_fini(struct ps_auth *a)
{
	ps_tls_free(a->tls);
	a->tls = NULL;
	memset(a->token, 0, sizeof(a->token));
}

bool ps_auth_token_ok(const struct ps_auth *a, const uint8_t *t)
{
	uint8_t diff = 0;

	for (int i = 0; i < PS_TOKEN_LEN; i++)
		diff |= a->token[i] ^ t[i];
	return !diff;
}
