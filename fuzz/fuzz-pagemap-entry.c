/*
 * fuzz-pagemap-entry.c - differential libFuzzer harness: the pagemap's own
 * decoder (images/pagemap-entry.c) against protobuf-c on the same bytes.
 * Both must refuse, or both accept with the same fields and part
 * checksums; anything else aborts.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "images/pagemap-entry.h"
#include "images/pagemap.pb-c.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t len)
{
	struct pm_entry e;
	uint64_t *scratch = NULL;
	size_t cap = 0;
	int mine = pagemap_entry_decode(data, len, &e, &scratch, &cap);
	PagemapEntry *pe = pagemap_entry__unpack(NULL, len, data);

	if (!pe) {
		if (mine == 0)
			abort();	/* accepted what protobuf-c refuses */
		free(scratch);
		return 0;
	}
	if (mine != 0)
		abort();	/* refused a valid entry */
	uint64_t *parts = calloc(e.n_parts + 1, sizeof(uint64_t));
	if (!parts)
		abort();
	pm_entry_parts(&e, parts);
	if (e.vaddr != pe->vaddr || e.nr_pages != pe->nr_pages || e.xxh3 != pe->xxh3 ||
	    e.has_flags != pe->has_flags || (pe->has_flags && e.flags != pe->flags) ||
	    e.has_part_pages != pe->has_part_pages || (pe->has_part_pages && e.part_pages != pe->part_pages) ||
	    e.n_parts != pe->n_part_xxh3 ||
	    (e.n_parts && memcmp(parts, pe->part_xxh3, e.n_parts * sizeof(uint64_t))))
		abort();	/* read differently */
	free(parts);
	free(scratch);
	pagemap_entry__free_unpacked(pe, NULL);
	return 0;
}
