/*
 * image.h - reading and writing image files.
 *
 * Owns the on-disk framing of every image: a 16-byte header (magic
 * "CKPT", the kind's own magic, the format version, flags), then entries,
 * each a 32-bit length, a 32-bit XXH32 of the payload and the protobuf
 * payload, then a trailer entry (length 0xffffffff, checksum = number of
 * entries) so that a file cut at an entry boundary is still seen as cut.
 * The raw pages file (pages-PID.img) has the same header in a page of its
 * own, then page-aligned page data (see pages.h).
 *
 * Knows nothing of processes: callers hand it protobuf messages.
 */
#ifndef IMAGES_IMAGE_H
#define IMAGES_IMAGE_H

#include <stddef.h>
#include <stdint.h>
#include <protobuf-c/protobuf-c.h>

#include "inventory.pb-c.h"
#include "pstree.pb-c.h"
#include "core.pb-c.h"
#include "mm.pb-c.h"
#include "pagemap.pb-c.h"
#include "files.pb-c.h"
#include "ns.pb-c.h"
#include "cgroup.pb-c.h"

#define IMG_FORMAT_VERSION	1
#define IMG_COMMON_MAGIC	0x54504b43U	/* "CKPT" little-endian */
#define IMG_HEADER_SIZE		16
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
};

const struct img_desc *img_desc(enum img_kind kind);
/* finds the descriptor of a file name such as "core-42.img"; NULL if none */
const struct img_desc *img_desc_by_name(const char *name);
void img_name(enum img_kind kind, unsigned id, char *buf, size_t len);

/* Writing: entries are buffered and written with one write() per entry. */
struct img_writer;
int img_writer_open(int dirfd, enum img_kind kind, unsigned id, struct img_writer **out);
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
};
/* returns 0, -ENOENT if the file does not exist (nothing logged), <0 else */
int img_read_all(int dirfd, enum img_kind kind, unsigned id, struct img_entries *out);
int img_read_path(const char *path, const struct img_desc *d, struct img_entries *out);
/* reads exactly one entry of an image (inventory, core, mm, fs) */
int img_read_one(int dirfd, enum img_kind kind, unsigned id, ProtobufCMessage **out);
void img_entries_free(struct img_entries *e);

/* header helpers shared with the pages file */
void img_hdr_fill(struct img_hdr *h, enum img_kind kind);
int img_hdr_check(const struct img_hdr *h, size_t got, enum img_kind kind, const char *name);

#endif /* IMAGES_IMAGE_H */
