/*
 * pagemap-entry.c - a PagemapEntry read straight from its bytes.  An
 * incremental chain holds 100k entries and more; protobuf-c's generic
 * unpack (a descriptor walk and an allocation per message) was half the
 * time a restore and the lazy-pages daemon spent reading them.  This
 * reads the one encoding criu's writer (protobuf-c) produces: the fields
 * as varints and part_xxh3 packed, unknown fields skipped as protobuf
 * does.  Anything else (part_xxh3 unpacked, groups, a varint too long) is
 * left to protobuf-c, so every valid encoding reads the same either way;
 * pagemap.proto stays the definition.
 */
#include <endian.h>
#include <stdlib.h>
#include <string.h>

#include "images/pagemap.pb-c.h"
#include "images/pagemap-entry.h"

/* a varint at *p (before end): 0, or -1 if it runs past end or past 10 bytes */
static int varint(const uint8_t **p, const uint8_t *end, uint64_t *v)
{
	uint64_t x = 0;

	for (int shift = 0; shift < 70 && *p < end; shift += 7) {
		uint8_t b = *(*p)++;
		x |= (uint64_t)(b & 0x7f) << shift;
		if (!(b & 0x80)) {
			*v = x;
			return 0;
		}
	}
	return -1;
}

/* skips a field of wire type wt at *p; 0, or 1 (not read here), -1 (malformed) */
static int skip(const uint8_t **p, const uint8_t *end, unsigned wt)
{
	uint64_t v;

	switch (wt) {
	case 0:
		return varint(p, end, &v);
	case 1:
	case 5: {
		size_t n = wt == 1 ? 8 : 4;
		if ((size_t)(end - *p) < n)
			return -1;
		*p += n;
		return 0;
	}
	case 2:
		if (varint(p, end, &v) || v > (uint64_t)(end - *p))
			return -1;
		*p += v;
		return 0;
	default:
		return 1;	/* groups: protobuf-c's business */
	}
}

static int fast_decode(const uint8_t *p, size_t len, struct pm_entry *e)
{
	const uint8_t *end = p + len;
	unsigned seen = 0;

	memset(e, 0, sizeof(*e));
	while (p < end) {
		uint64_t key, v;
		const uint8_t *kp = p;
		if (varint(&p, end, &key))
			return -1;
		if (p - kp > 5 || key > UINT32_MAX || key >> 3 == 0)
			return 1;	/* not a key this reader knows: protobuf-c says */
		unsigned field = key >> 3, wt = key & 7;
		if (field >= 1 && field <= 6 && field != 5 && wt == 0) {
			if (varint(&p, end, &v))
				return -1;
			if (field != 1 && field != 3 && v > UINT32_MAX)
				return 1;	/* protobuf-c decides what a long uint32 is */
			seen |= 1u << field;
			switch (field) {
			case 1: e->vaddr = v; break;
			case 2: e->nr_pages = v; break;
			case 3: e->xxh3 = v; break;
			case 4: e->flags = v; e->has_flags = true; break;
			case 6: e->part_pages = v; e->has_part_pages = true; break;
			}
		} else if (field == 5 && wt == 2) {
			if (varint(&p, end, &v) || v > (uint64_t)(end - p) || v % 8)
				return -1;
			if (e->n_parts)
				return 1;	/* split over several fields: protobuf-c joins them */
			e->parts = p;
			e->n_parts = v / 8;
			p += v;
		} else if (field >= 1 && field <= 6) {
			return 1;	/* a known field in another wire type */
		} else {
			int r = skip(&p, end, wt);
			if (r)
				return r;
		}
	}
	/* vaddr, nr_pages and xxh3 are required */
	return (seen & 0xe) == 0xe ? 0 : -1;
}

int pagemap_entry_decode(const uint8_t *msg, size_t len, struct pm_entry *e, uint64_t **scratch,
			 size_t *scratch_cap)
{
	int r = fast_decode(msg, len, e);

	if (r <= 0)
		return r;
	PagemapEntry *pe = pagemap_entry__unpack(NULL, len, msg);
	if (!pe)
		return -1;
	*e = (struct pm_entry){ pe->vaddr, pe->xxh3, pe->nr_pages, pe->has_flags ? pe->flags : 0,
				pe->has_flags, pe->has_part_pages ? pe->part_pages : 0,
				pe->has_part_pages, NULL, pe->n_part_xxh3 };
	if (pe->n_part_xxh3 > *scratch_cap) {
		uint64_t *n = realloc(*scratch, pe->n_part_xxh3 * sizeof(uint64_t));
		if (!n) {
			pagemap_entry__free_unpacked(pe, NULL);
			return -1;
		}
		*scratch = n;
		*scratch_cap = pe->n_part_xxh3;
	}
	/* the same little-endian bytes the packed field would have held */
	for (size_t i = 0; i < pe->n_part_xxh3; i++)
		(*scratch)[i] = htole64(pe->part_xxh3[i]);
	e->parts = (const uint8_t *)*scratch;
	pagemap_entry__free_unpacked(pe, NULL);
	return 0;
}

void pm_entry_parts(const struct pm_entry *e, uint64_t *out)
{
	if (!e->n_parts)
		return;
	memcpy(out, e->parts, e->n_parts * sizeof(uint64_t));
	for (size_t i = 0; i < e->n_parts; i++)
		out[i] = le64toh(out[i]);
}
