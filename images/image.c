/* image.c - framing, writing and checked reading of image files (image.h). */
#define LOG_PREFIX "image: "
#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdio.h>
#include <time.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <unistd.h>
#include <xxhash.h>

#include "images/image.h"
#include "common/log.h"

static const struct img_desc descs[IMG_NR_KINDS] = {
	[IMG_INVENTORY] = { IMG_INVENTORY, "inventory.img", 0x564e4931, &inventory__descriptor },
	[IMG_PSTREE]    = { IMG_PSTREE, "pstree.img", 0x45525431, &pstree_entry__descriptor },
	[IMG_CORE]      = { IMG_CORE, "core-%u.img", 0x45524f31, &core__descriptor },
	[IMG_MM]        = { IMG_MM, "mm-%u.img", 0x204d4d31, &mm__descriptor },
	[IMG_PAGEMAP]   = { IMG_PAGEMAP, "pagemap-%u.img", 0x50414d31, &pagemap_entry__descriptor },
	[IMG_FILES]     = { IMG_FILES, "files-%u.img", 0x4c494631, &fd_entry__descriptor },
	[IMG_FS]        = { IMG_FS, "fs-%u.img", 0x20534631, &fs_entry__descriptor },
	[IMG_PAGES]     = { IMG_PAGES, "pages-%u.img", 0x47415031, NULL },
	[IMG_UTSNS]     = { IMG_UTSNS, "utsns.img", 0x53545531, &uts_ns_entry__descriptor },
	[IMG_IPCNS]     = { IMG_IPCNS, "ipcns.img", 0x43504931, &ipc_ns_entry__descriptor },
	[IMG_TIMENS]    = { IMG_TIMENS, "timens.img", 0x4e4d5431, &time_ns_entry__descriptor },
	[IMG_CGROUP]    = { IMG_CGROUP, "cgroup.img", 0x50524731, &cgroup_entry__descriptor },
	[IMG_WORKINGSET] = { IMG_WORKINGSET, "workingset-%u.img", 0x53474e31, &workingset_entry__descriptor },
	[IMG_MNTNS]     = { IMG_MNTNS, "mntns.img", 0x544e4d31, &mnt_entry__descriptor },
	[IMG_TMPFS]     = { IMG_TMPFS, "tmpfs-%u.img", 0x46504d54, &tmpfs_file__descriptor },
	[IMG_NETNS]     = { IMG_NETNS, "netns.img", 0x4e54454e, &net_ns_entry__descriptor },
};

const struct img_desc *img_desc(enum img_kind kind)
{
	return kind < IMG_NR_KINDS ? &descs[kind] : NULL;
}

void img_name(enum img_kind kind, unsigned id, char *buf, size_t len)
{
	snprintf(buf, len, descs[kind].name_fmt, id);
}

const struct img_desc *img_desc_by_name(const char *name)
{
	const char *base = strrchr(name, '/');
	base = base ? base + 1 : name;
	for (int k = 0; k < IMG_NR_KINDS; k++) {
		const char *fmt = descs[k].name_fmt;
		const char *pct = strstr(fmt, "%u");
		if (!pct) {
			if (!strcmp(base, fmt))
				return &descs[k];
			continue;
		}
		size_t pre = pct - fmt;
		if (strncmp(base, fmt, pre))
			continue;
		char *end;
		strtoul(base + pre, &end, 10);
		if (end != base + pre && !strcmp(end, pct + 2))
			return &descs[k];
	}
	return NULL;
}

unsigned img_owner_by_name(const char *name)
{
	const char *base = strrchr(name, '/');
	base = base ? base + 1 : name;
	const char *dash = strrchr(base, '-');
	return dash ? (unsigned)strtoul(dash + 1, NULL, 10) : 0;
}

uint64_t img_new_dump_id(void)
{
	uint64_t id = 0;

	while (!id) {
		if (getrandom(&id, sizeof(id), 0) != sizeof(id)) {
			/* no entropy source: time and pid still tell dumps apart */
			struct timespec ts;
			clock_gettime(CLOCK_REALTIME, &ts);
			id = ((uint64_t)ts.tv_sec << 32) ^ ts.tv_nsec ^ ((uint64_t)getpid() << 20);
		}
	}
	return id;
}

static uint32_t hdr_sum(const struct img_hdr *h)
{
	return XXH32(h, offsetof(struct img_hdr, xxh32), 0);
}

void img_hdr_fill(struct img_hdr *h, enum img_kind kind, uint64_t dump_id, unsigned owner)
{
	memset(h, 0, sizeof(*h));
	h->common_magic = IMG_COMMON_MAGIC;
	h->kind_magic = descs[kind].magic;
	h->version = IMG_FORMAT_VERSION;
	h->flags = 0;
	h->dump_id = dump_id;
	h->owner = owner;
	h->xxh32 = hdr_sum(h);
}

int img_hdr_check(const struct img_hdr *h, size_t got, enum img_kind kind, const char *name)
{
	if (got < sizeof(*h)) {
		pr_err("%s: truncated header (%zu of %zu bytes)", name, got, sizeof(*h));
		return -EINVAL;
	}
	if (h->common_magic != IMG_COMMON_MAGIC || h->kind_magic != descs[kind].magic) {
		pr_err("%s: bad magic 0x%08x/0x%08x: not a %s image", name,
		       h->common_magic, h->kind_magic, descs[kind].name_fmt);
		return -EINVAL;
	}
	if (h->version != IMG_FORMAT_VERSION) {
		pr_err("%s: format version %u, this tool reads version %u", name,
		       h->version, IMG_FORMAT_VERSION);
		return -EINVAL;
	}
	if (h->xxh32 != hdr_sum(h) || !h->dump_id) {
		pr_err("%s: header checksum mismatch: image is corrupt", name);
		return -EINVAL;
	}
	return 0;
}

int img_dir_dump_id(int dirfd, uint64_t *id)
{
	struct img_hdr h;
	int ret, fd = openat(dirfd, descs[IMG_INVENTORY].name_fmt, O_RDONLY | O_CLOEXEC);

	if (fd < 0) {
		if (errno == ENOENT)
			return -ENOENT;
		ret = -errno;
		pr_perror("cannot open inventory.img");
		return ret;
	}
	ssize_t n = pread(fd, &h, sizeof(h), 0);
	close(fd);
	if (img_hdr_check(&h, n < 0 ? 0 : n, IMG_INVENTORY, "inventory.img"))
		return -EINVAL;
	*id = h.dump_id;
	return 0;
}

int img_hdr_bind_id(const struct img_hdr *h, unsigned owner, uint64_t want_id,
			 const char *name)
{
	if (h->owner != owner) {
		if (owner)
			pr_err("%s: holds the state of process %u, not %u: "
			       "a file of another process put in its place", name, h->owner, owner);
		else
			pr_err("%s: holds the state of process %u, not of the whole dump", name,
			       h->owner);
		return -EINVAL;
	}
	if (want_id && h->dump_id != want_id) {
		pr_err("%s: of dump %016llx, not of this directory's dump %016llx (inventory.img): "
		       "a file of another dump put in its place", name,
		       (unsigned long long)h->dump_id, (unsigned long long)want_id);
		return -EINVAL;
	}
	return 0;
}

int img_hdr_bind(int dirfd, const struct img_hdr *h, unsigned owner, uint64_t dump_id,
		 const char *name)
{
	if (!dump_id) {
		int ret = img_dir_dump_id(dirfd, &dump_id);
		if (ret == -ENOENT)
			pr_err("%s: no inventory.img beside it: cannot tell which dump it is of",
			       name);
		if (ret)
			return ret;
	}
	return img_hdr_bind_id(h, owner, dump_id, name);
}

#define WRITER_BUF	(64 << 10)	/* entries are written out in blocks this large */

struct img_writer {
	int fd;
	enum img_kind kind;
	uint32_t nr;
	char name[64];
	size_t used;
	uint8_t buf[WRITER_BUF];
};

static int write_all(int fd, const void *buf, size_t len)
{
	const char *p = buf;
	while (len) {
		ssize_t n = write(fd, p, len);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		p += n;
		len -= n;
	}
	return 0;
}

int img_writer_open(int dirfd, enum img_kind kind, unsigned id, uint64_t dump_id,
		    struct img_writer **out)
{
	struct img_writer *w = calloc(1, sizeof(*w));
	struct img_hdr h;
	int ret;

	if (!w)
		return -ENOMEM;
	w->kind = kind;
	img_name(kind, id, w->name, sizeof(w->name));
	w->fd = openat(dirfd, w->name, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	if (w->fd < 0) {
		ret = -errno;
		pr_perror("cannot create %s", w->name);
		free(w);
		return ret;
	}
	img_hdr_fill(&h, kind, dump_id, strstr(descs[kind].name_fmt, "%u") ? id : 0);
	ret = write_all(w->fd, &h, sizeof(h));
	if (ret) {
		errno = -ret;
		pr_perror("%s: write failed", w->name);
		img_writer_abort(w);
		return ret;
	}
	*out = w;
	return 0;
}

static int writer_flush(struct img_writer *w)
{
	int ret = write_all(w->fd, w->buf, w->used);
	if (ret) {
		errno = -ret;
		pr_perror("%s: write failed", w->name);
		return ret;
	}
	w->used = 0;
	return 0;
}

int img_write(struct img_writer *w, const ProtobufCMessage *msg)
{
	size_t len = protobuf_c_message_get_packed_size(msg);
	uint8_t *buf;
	int ret;

	if (len > IMG_MAX_ENTRY) {
		pr_err("%s: entry of %zu bytes is too large", w->name, len);
		return -E2BIG;
	}
	if (w->used + len + 8 > WRITER_BUF && (ret = writer_flush(w)))
		return ret;
	buf = len + 8 <= WRITER_BUF ? w->buf + w->used : malloc(len + 8);
	if (!buf)
		return -ENOMEM;
	protobuf_c_message_pack(msg, buf + 8);
	uint32_t hdr[2] = { (uint32_t)len, XXH32(buf + 8, len, 0) };
	memcpy(buf, hdr, 8);
	if (buf != w->buf + w->used) {
		/* larger than the buffer: straight out */
		ret = write_all(w->fd, buf, len + 8);
		free(buf);
		if (ret) {
			errno = -ret;
			pr_perror("%s: write failed", w->name);
			return ret;
		}
	} else {
		w->used += len + 8;
	}
	w->nr++;
	return 0;
}

int img_writer_close(struct img_writer *w)
{
	uint32_t trailer[2] = { IMG_TRAILER_LEN, w->nr };
	int ret = 0;

	if (w->used + sizeof(trailer) > WRITER_BUF)
		ret = writer_flush(w);
	if (!ret) {
		memcpy(w->buf + w->used, trailer, sizeof(trailer));
		w->used += sizeof(trailer);
		ret = writer_flush(w);
	}
	if (close(w->fd) && !ret) {
		ret = -errno;
		pr_perror("%s: close failed", w->name);
	}
	free(w);
	return ret;
}

void img_writer_abort(struct img_writer *w)
{
	if (!w)
		return;
	close(w->fd);
	free(w);
}

static int read_file(int fd, const char *name, uint8_t **data, size_t *len)
{
	struct stat st;
	if (fstat(fd, &st)) {
		pr_perror("%s: stat failed", name);
		return -errno;
	}
	if (!S_ISREG(st.st_mode)) {
		pr_err("%s: not a regular file", name);
		return -EINVAL;
	}
	uint8_t *buf = malloc(st.st_size + 1);
	size_t got = 0;
	if (!buf)
		return -ENOMEM;
	while (got < (size_t)st.st_size) {
		ssize_t n = read(fd, buf + got, st.st_size - got);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			int ret = -errno;
			pr_perror("%s: read failed", name);
			free(buf);
			return ret;
		}
		if (n == 0)
			break;
		got += n;
	}
	*data = buf;
	*len = got;
	return 0;
}

/* a bump allocator: chunks of at least ARENA_CHUNK bytes, freed together */
#define ARENA_CHUNK	(1UL << 20)
struct img_arena {
	struct img_arena *prev;
	size_t used, size;
	uint8_t data[];
};

static void *arena_alloc(void *ctx, size_t n)
{
	struct img_arena **a = ctx;

	n = (n + 15) & ~15UL;
	if (!*a || (*a)->size - (*a)->used < n) {
		size_t size = n > ARENA_CHUNK ? n : ARENA_CHUNK;
		struct img_arena *c = malloc(sizeof(*c) + size);
		if (!c)
			return NULL;
		*c = (struct img_arena){ *a, 0, size };
		*a = c;
	}
	void *p = (*a)->data + (*a)->used;
	(*a)->used += n;
	return p;
}

static void arena_free(void *ctx, void *p)
{
	(void)ctx;
	(void)p;	/* all at once: arena_release */
}

static void arena_release(struct img_arena *a)
{
	while (a) {
		struct img_arena *prev = a->prev;
		free(a);
		a = prev;
	}
}

/*
 * Walks the entries of an image in memory: header (kind, owner, dump),
 * every entry's length and checksum, the end marker; fn gets each entry's
 * message bytes.  owner: the process of the file's name; want_id: its
 * dump (0: not checked).  0, or -EINVAL (logged, naming the file).
 */
static int walk_entries(const uint8_t *data, size_t len, enum img_kind kind, const char *name,
			unsigned owner, uint64_t want_id, uint64_t *dump_id, img_entry_fn fn, void *ctx)
{
	size_t off = IMG_HEADER_SIZE, nr = 0;
	int ret = img_hdr_check((const struct img_hdr *)data, len, kind, name);

	if (!ret)
		ret = img_hdr_bind_id((const struct img_hdr *)data, owner, want_id, name);
	if (ret)
		return ret;
	*dump_id = ((const struct img_hdr *)data)->dump_id;
	for (;; nr++) {
		uint32_t hdr[2];
		if (len - off < sizeof(hdr)) {
			pr_err("%s: truncated after %zu entries (no end marker)", name, nr);
			return -EINVAL;
		}
		memcpy(hdr, data + off, sizeof(hdr));
		off += sizeof(hdr);
		if (hdr[0] == IMG_TRAILER_LEN) {
			if (hdr[1] != nr) {
				pr_err("%s: end marker counts %u entries, file has %zu", name, hdr[1], nr);
				return -EINVAL;
			}
			if (off != len) {
				pr_err("%s: %zu stray bytes after the end marker", name, len - off);
				return -EINVAL;
			}
			return 0;
		}
		if (hdr[0] > IMG_MAX_ENTRY || hdr[0] > len - off) {
			pr_err("%s: entry %zu: length %u runs past the end of the file (truncated or corrupt)",
			       name, nr, hdr[0]);
			return -EINVAL;
		}
		if (XXH32(data + off, hdr[0], 0) != hdr[1]) {
			pr_err("%s: entry %zu: checksum mismatch: image is corrupt", name, nr);
			return -EINVAL;
		}
		if (fn(ctx, data + off, hdr[0], nr))
			return -EINVAL;
		off += hdr[0];
	}
}

struct unpack_ctx {
	const struct img_desc *d;
	const char *name;
	struct img_entries *out;
	bool in_arena;
	size_t cap;
};

/* one entry unpacked by protobuf-c and added to out */
static int unpack_one(void *arg, const uint8_t *msg, size_t len, size_t nr)
{
	struct unpack_ctx *u = arg;
	ProtobufCAllocator arena = { arena_alloc, arena_free, &u->out->arena };
	ProtobufCMessage *m = protobuf_c_message_unpack(u->d->msg, u->in_arena ? &arena : NULL, len, msg);

	if (!m) {
		pr_err("%s: entry %zu: cannot decode %s", u->name, nr, u->d->msg->name);
		return -1;
	}
	if (u->out->nr == u->cap) {
		u->cap = u->cap ? u->cap * 2 : 16;
		ProtobufCMessage **n = realloc(u->out->msgs, u->cap * sizeof(*n));
		if (!n) {
			if (!u->in_arena)
				protobuf_c_message_free_unpacked(m, NULL);
			return -1;
		}
		u->out->msgs = n;
	}
	u->out->msgs[u->out->nr++] = m;
	return 0;
}

/* in_arena: the messages unpacked into out->arena */
static int parse_entries(const uint8_t *data, size_t len, const struct img_desc *d,
			 const char *name, unsigned owner, uint64_t want_id,
			 struct img_entries *out, bool in_arena)
{
	struct unpack_ctx u = { d, name, out, in_arena, 0 };

	memset(out, 0, sizeof(*out));
	out->kind = d->kind;
	int ret = walk_entries(data, len, d->kind, name, owner, want_id, &out->dump_id, unpack_one, &u);
	if (ret)
		img_entries_free(out);
	return ret;
}

int img_parse_buf(const void *data, size_t len, enum img_kind kind, const char *name,
		  unsigned owner, uint64_t dump_id, struct img_entries *out)
{
	if (kind >= IMG_NR_KINDS || !descs[kind].msg)
		return -EINVAL;
	return parse_entries(data, len, &descs[kind], name, owner, dump_id, out, false);
}

int img_path_dump_id(const char *path, uint64_t *id)
{
	const char *slash = strrchr(path, '/');
	char *dir = slash ? strndup(path, slash - path + 1) : strdup(".");
	int dfd = dir ? open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC) : -1;
	int ret = dfd < 0 ? -errno : img_dir_dump_id(dfd, id);

	if (dfd >= 0)
		close(dfd);
	free(dir);
	*id = ret ? 0 : *id;
	if (ret == -ENOENT || ret == -ENOMEM)
		return 0;
	if (ret)
		pr_err("%s: cannot tell the dump of its directory", path);
	return ret;
}

int img_read_path(const char *path, const struct img_desc *d, struct img_entries *out)
{
	uint64_t want = 0;
	uint8_t *data;
	size_t len;
	int ret, fd;

	if (d->kind != IMG_INVENTORY && img_path_dump_id(path, &want))
		return -EINVAL;
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		ret = -errno;
		pr_perror("cannot open %s", path);
		return ret;
	}
	ret = read_file(fd, path, &data, &len);
	close(fd);
	if (ret)
		return ret;
	ret = parse_entries(data, len, d, path, img_owner_by_name(path),
			    want, out, false);
	free(data);
	return ret;
}

/* the bytes of image kind/id of dirfd, and the dump id they must be of */
static int load_file(int dirfd, enum img_kind kind, unsigned id, char *name, size_t size,
		     uint8_t **data, size_t *len, uint64_t *want)
{
	int ret, fd;

	*want = 0;
	img_name(kind, id, name, size);
	fd = openat(dirfd, name, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		if (errno == ENOENT)
			return -ENOENT;
		ret = -errno;
		pr_perror("cannot open %s", name);
		return ret;
	}
	ret = read_file(fd, name, data, len);
	close(fd);
	if (ret)
		return ret;
	if (kind != IMG_INVENTORY) {
		ret = img_dir_dump_id(dirfd, want);
		if (ret == -ENOENT)
			pr_err("%s: no inventory.img beside it: cannot tell which dump it is of", name);
		if (ret) {
			free(*data);
			return ret == -ENOENT ? -EINVAL : ret;
		}
	}
	return 0;
}

static int read_all(int dirfd, enum img_kind kind, unsigned id, struct img_entries *out,
		    bool in_arena)
{
	char name[64];
	uint8_t *data;
	size_t len;
	uint64_t want;
	int ret = load_file(dirfd, kind, id, name, sizeof(name), &data, &len, &want);

	if (ret)
		return ret;
	ret = parse_entries(data, len, &descs[kind], name, strstr(descs[kind].name_fmt, "%u") ? id : 0,
			    want, out, in_arena);
	free(data);
	return ret;
}

int img_read_raw(int dirfd, enum img_kind kind, unsigned id, img_entry_fn fn, void *ctx)
{
	char name[64];
	uint8_t *data;
	size_t len;
	uint64_t want, dump_id;
	int ret = load_file(dirfd, kind, id, name, sizeof(name), &data, &len, &want);

	if (ret)
		return ret;
	ret = walk_entries(data, len, kind, name, strstr(descs[kind].name_fmt, "%u") ? id : 0, want,
			   &dump_id, fn, ctx);
	free(data);
	return ret;
}

int img_read_all(int dirfd, enum img_kind kind, unsigned id, struct img_entries *out)
{
	return read_all(dirfd, kind, id, out, false);
}

int img_read_all_arena(int dirfd, enum img_kind kind, unsigned id, struct img_entries *out)
{
	return read_all(dirfd, kind, id, out, true);
}

int img_read_one(int dirfd, enum img_kind kind, unsigned id, ProtobufCMessage **out)
{
	struct img_entries e;
	char name[64];
	int ret = img_read_all(dirfd, kind, id, &e);

	img_name(kind, id, name, sizeof(name));
	if (ret == -ENOENT) {
		pr_err("%s: missing from the images directory", name);
		return ret;
	}
	if (ret)
		return ret;
	if (e.nr != 1) {
		pr_err("%s: holds %zu entries, expected one", name, e.nr);
		img_entries_free(&e);
		return -EINVAL;
	}
	*out = e.msgs[0];
	free(e.msgs);
	return 0;
}

void img_entries_free(struct img_entries *e)
{
	for (size_t i = 0; i < e->nr && !e->arena; i++)
		protobuf_c_message_free_unpacked(e->msgs[i], NULL);
	arena_release(e->arena);
	e->arena = NULL;
	free(e->msgs);
	e->msgs = NULL;
	e->nr = 0;
}
