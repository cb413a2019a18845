/*
 * fuzz-images.c - libFuzzer harness for the image decoders: the framing
 * checks of images/image.c, protobuf-c unpacking of every kind's message,
 * and criu show's JSON rendering (images/pbjson.c) of what decodes.
 *
 * Input: byte 0 picks the kind and the mode.  Raw mode (bit 7 set): the
 * rest is the file as it is (framing, header and trailer checks).  Framed
 * mode: the rest is cut into entries at each 0xff 0xfe pair and framed
 * with a valid header, lengths, XXH32s and trailer, so that the protobuf
 * decoding and the rendering get fuzzed past the checksums.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <xxhash.h>

#include "images/image.h"
#include "common/log.h"
#include "images/pbjson.h"

#define DUMP_ID	0x1122334455667788ULL

static void use(struct img_entries *e)
{
	for (size_t i = 0; i < e->nr; i++) {
		json_object *o = pbjson_message(e->msgs[i]);
		if (o)
			json_object_to_json_string(o);
		json_object_put(o);
	}
	img_entries_free(e);
}

/* the framed file of the entries in d[0..n), cut at 0xff 0xfe */
static uint8_t *frame(enum img_kind kind, const uint8_t *d, size_t n, size_t *len)
{
	/* at most n / 2 + 1 entries, 8 bytes of framing each */
	uint8_t *out = aligned_alloc(8, (5 * n + 64 + 7) & ~7UL);
	size_t off = sizeof(struct img_hdr), nr = 0;

	if (!out)
		return NULL;
	img_hdr_fill((struct img_hdr *)out, kind, DUMP_ID, 7);
	for (size_t s = 0, i = 0; i <= n; i++) {
		if (i < n && !(i + 1 < n && d[i] == 0xff && d[i + 1] == 0xfe))
			continue;
		uint32_t h[2] = { (uint32_t)(i - s), XXH32(d + s, i - s, 0) };
		memcpy(out + off, h, 8);
		memcpy(out + off + 8, d + s, i - s);
		off += 8 + i - s;
		nr++;
		s = i + 2;
		i++;
	}
	uint32_t t[2] = { IMG_TRAILER_LEN, (uint32_t)nr };
	memcpy(out + off, t, 8);
	*len = off + 8;
	return out;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static int quiet;
	struct img_entries e;
	size_t len;

	if (!quiet++)
		log_set_level(0);	/* the harness wants no error lines */
	if (size < 1)
		return 0;
	enum img_kind kind = (data[0] & 0x7f) % IMG_NR_KINDS;
	if (kind == IMG_PAGES)
		kind = IMG_CORE;
	const char *name = img_desc(kind)->name_fmt;
	uint8_t *buf;
	if (data[0] & 0x80) {
		len = size - 1;
		buf = aligned_alloc(8, (len + 8) & ~7UL);
		if (!buf)
			return 0;
		memcpy(buf, data + 1, len);
	} else if (!(buf = frame(kind, data + 1, size - 1, &len))) {
		return 0;
	}
	/* raw mode: the file's own owner and dump (the seeds come from a real dump) */
	unsigned owner = strchr(name, '%') ? 7 : 0;
	uint64_t id = DUMP_ID;
	if ((data[0] & 0x80) && len >= sizeof(struct img_hdr)) {
		owner = ((const struct img_hdr *)buf)->owner;
		id = 0;
	}
	if (!img_parse_buf(buf, len, kind, name, owner, id, &e))
		use(&e);
	free(buf);
	return 0;
}
