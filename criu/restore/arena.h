/*
 * arena.h - a bump allocator over the restorer's args area: everything the
 * restorer reads is placed there at its final address, zeroed.
 */
#ifndef RESTORE_ARENA_H
#define RESTORE_ARENA_H

#include <stdint.h>
#include <string.h>

struct arena {
	uint8_t *cur, *end;
};

static inline uint64_t align_up(uint64_t v, uint64_t a)
{
	return (v + a - 1) & ~(a - 1);
}

/* len zeroed bytes aligned to align (a power of two); NULL if they do not fit */
static inline void *arena_get(struct arena *a, uint64_t len, uint64_t align)
{
	uint8_t *p = (uint8_t *)align_up((uint64_t)a->cur, align);
	if (p > a->end || len > (uint64_t)(a->end - p))
		return NULL;
	a->cur = p + len;
	memset(p, 0, len);
	return p;
}

#endif /* RESTORE_ARENA_H */
