/*
 * image.h - reading and writing image files.
 *
 * Owns the on-disk framing of every image: a 32-byte header (magic
 * "CKPT", the kind's own magic, the format version, flags, the dump's id,
 * the process or thread the file is of, the header's checksum), then entries,
 * each a 32-bit length, a 32-bit XXH32 of the payload and the protobuf
 * payload, then a trailer entry (length 0xffffffff, checksum = number of
 * entries) so that a file cut at an entry boundary is still seen as cut.
 * The raw pages file (pages-PID.img) has the same header in a page of its
 * own, then page-aligned page data (see pages.h).
 *
 * Binding: every file of one dump carries that dump's random id, and each
 * per-process file the pid (tid) of its name.  A reader of a directory
 * takes the id from its inventory.img and refuses a file of another dump,
 * or of another process, with one line naming the file.
 *
 * Knows nothing of processes: callers hand it protobuf messages.
 */
#ifndef IMAGES_IMAGE_H
#define IMAGES_IMAGE_H

#include <stddef.h>
#include <stdint.h>
#include <protobuf-c/protobuf-c.h>

#include "images/inventory.pb-c.h"
#include "images/pstree.pb-c.h"
#include "images/core.pb-c.h"
#include "images/mm.pb-c.h"
#include "images/pagemap.pb-c.h"
#include "images/files.pb-c.h"
#include "images/ns.pb-c.h"
#include "images/cgroup.pb-c.h"
#include "images/mnt.pb-c.h"
#include "images/netns.pb-c.h"

#define IMG_FORMAT_VERSION	2	/* 2: the 32-byte header binding a file to its dump */
#define IMG_COMMON_MAGIC	0x54504b43U	/* "CKPT" little-endian */
#define IMG_HEADER_SIZE		32
#define IMG_TRAILER_LEN		0xffffffffU
#define IMG_MAX_ENTRY		(64U << 20)

enum img_kind {
	IMG_INVENTORY,
	IMG_PSTREE,
	IMG_CORE,
	IMG_MM,
	IMG_PAGEMAP,
	IMG_FILES,
	IMG_FS,
	IMG_PAGES,	/* raw page data, no entries */
	IMG_UTSNS,
	IMG_IPCNS,
	IMG_TIMENS,
	IMG_CGROUP,
	IMG_WORKINGSET,	/* lazy restore: the pages touched first (a hint) */
	IMG_MNTNS,	/* the mount namespace (criu/ns/mnt-*.c) */
	IMG_TMPFS,	/* a tmpfs mount's contents, by mount id */
	IMG_NETNS,
	IMG_NR_KINDS,
};

struct img_desc {
	enum img_kind kind;
	const char *name_fmt;	/* "core-%u.img"; no %u for per-dump images */
	uint32_t magic;
	const ProtobufCMessageDescriptor *msg;	/* NULL for IMG_PAGES */
};

struct img_hdr {
	uint32_t common_magic;
	uint32_t kind_magic;
	uint32_t version;
	uint32_t flags;
	uint64_t dump_id;	/* random, the same in every file of one dump */
	uint32_t owner;		/* the pid (tid) of a per-process file's name; 0 else */
	uint32_t xxh32;		/* XXH32 of the 28 bytes before */
};

const struct img_desc *img_desc(enum img_kind kind);
/* finds the descriptor of a file name such as "core-42.img"; NULL if none */
const struct img_desc *img_desc_by_name(const char *name);
void img_name(enum img_kind kind, unsigned id, char *buf, size_t len);
/* the pid (tid) in a per-process file's name, 0 for a per-dump file */
unsigned img_owner_by_name(const char *name);
/* a fresh random dump id (never 0) */
uint64_t img_new_dump_id(void);
/*
 * the id of the dump in dirfd, from its inventory.img's header: 0, -ENOENT
 * if there is no inventory.img (nothing logged), <0 else (logged)
 */
int img_dir_dump_id(int dirfd, uint64_t *id);

/* Writing: entries are buffered and written with one write() per entry. */
struct img_writer;
int img_writer_open(int dirfd, enum img_kind kind, unsigned id, uint64_t dump_id,
		    struct img_writer **out);
int img_write(struct img_writer *w, const ProtobufCMessage *msg);
/* writes the trailer and closes; returns <0 on any write error (no fsync:
 * like CRIU, durability is left to the page cache) */
int img_writer_close(struct img_writer *w);
void img_writer_abort(struct img_writer *w);

/*
 * Reading: the whole image is read and checked (header, every entry's length
 * and checksum, the trailer) before the first message is returned.  Errors
 * are logged once, naming the file and what is wrong.
 */
struct img_entries {
	enum img_kind kind;
	size_t nr;
	ProtobufCMessage **msgs;
	uint64_t dump_id;	/* from the header */
	struct img_arena *arena;	/* img_read_all_arena: the messages' memory */
};
/*
 * returns 0, -ENOENT if the file does not exist (nothing logged), <0 else;
 * a file other than inventory.img must be of the dump of dirfd's
 * inventory.img (which must exist) and of process id
 */
int img_read_all(int dirfd, enum img_kind kind, unsigned id, struct img_entries *out);
/*
 * The same, every message unpacked into one arena (no malloc per field):
 * for images of many small entries read once (pagemaps: 100k entries in
 * an incremental chain); the messages are freed only all together, by
 * img_entries_free
 */
int img_read_all_arena(int dirfd, enum img_kind kind, unsigned id, struct img_entries *out);
/*
 * The same checks, without protobuf-c: fn gets each entry's message bytes
 * (nr: its index) and returns 0, or -1 having logged what is wrong with
 * it; for a reader with its own decoder of a hot message (pagemaps)
 */
typedef int (*img_entry_fn)(void *ctx, const uint8_t *msg, size_t len, size_t nr);
int img_read_raw(int dirfd, enum img_kind kind, unsigned id, img_entry_fn fn, void *ctx);
/* the same for any path (criu show); the dump id is checked if the file's
 * directory holds an inventory.img */
int img_read_path(const char *path, const struct img_desc *d, struct img_entries *out);
/*
 * the same checks on an image already in memory (data must be 8-byte
 * aligned): the fuzzers' way in; dump_id 0: the dump is not checked
 */
int img_parse_buf(const void *data, size_t len, enum img_kind kind, const char *name,
		  unsigned owner, uint64_t dump_id, struct img_entries *out);
/* reads exactly one entry of an image (inventory, core, mm, fs) */
int img_read_one(int dirfd, enum img_kind kind, unsigned id, ProtobufCMessage **out);
void img_entries_free(struct img_entries *e);

/* header helpers shared with the pages file */
void img_hdr_fill(struct img_hdr *h, enum img_kind kind, uint64_t dump_id, unsigned owner);
/* magic, version, header checksum */
int img_hdr_check(const struct img_hdr *h, size_t got, enum img_kind kind, const char *name);
/*
 * the file is of process owner and of the dump whose id is dump_id (0:
 * the dump of dirfd's inventory.img, which must exist)
 */
int img_hdr_bind(int dirfd, const struct img_hdr *h, unsigned owner, uint64_t dump_id,
		 const char *name);
/* the same against a known id (0: the dump is not checked) */
int img_hdr_bind_id(const struct img_hdr *h, unsigned owner, uint64_t dump_id, const char *name);
/*
 * the dump id of the directory holding path (its inventory.img): 0 with
 * *id = 0 if it has none, <0 if it is unreadable (logged)
 */
int img_path_dump_id(const char *path, uint64_t *id);

#endif /* IMAGES_IMAGE_H */
