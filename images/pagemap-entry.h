/*
 * pagemap-entry.h - one PagemapEntry (pagemap.proto) read from its bytes
 * without protobuf-c's unpack (pagemap-entry.c says why).
 */
#ifndef IMAGES_PAGEMAP_ENTRY_H
#define IMAGES_PAGEMAP_ENTRY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct pm_entry {
	uint64_t vaddr, xxh3;
	uint32_t nr_pages, flags;
	bool has_flags;
	uint32_t part_pages;
	bool has_part_pages;
	const uint8_t *parts;	/* n_parts little-endian XXH3-64s: pm_entry_parts */
	size_t n_parts;
};

/*
 * Decodes msg (len bytes) into e; parts point into msg, or into *scratch
 * (grown as needed, the caller frees it) when protobuf-c had to read the
 * entry.  0, or -1 if msg is not a PagemapEntry.
 */
int pagemap_entry_decode(const uint8_t *msg, size_t len, struct pm_entry *e, uint64_t **scratch,
			 size_t *scratch_cap);
/* e's part checksums into out (n_parts of them) */
void pm_entry_parts(const struct pm_entry *e, uint64_t *out);

#endif /* IMAGES_PAGEMAP_ENTRY_H */
