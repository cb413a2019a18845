/*
 * source.h - where the lazy-pages daemon takes page data from: the local
 * page images (images/pages.h's page_source) and, for the images of the
 * chain whose pages files this host has not, a remote page server
 * (pagexfer/ps-client.h).  Owns the run table of one process's image and the checking
 * of every run's XXH3 before any page of it is handed out.  Each unit is
 * local (it has a data pointer into its mapped pages file) or remote.
 *
 * Local images are mapped (read-only, shared), and a verifier thread checks
 * their units ahead of need, starting from where the process last faulted
 * (lp_source_hint), so that neither a fault nor the background fill waits
 * for a 2 MiB entry to be read and hashed; pages are then copied into the
 * process straight from the mapping (one copy).  A fault on a unit the
 * verifier has not reached yet checks that unit on the spot.
 *
 * Addresses here are image addresses (where the pages were at dump time).
 */
#ifndef LAZY_SOURCE_H
#define LAZY_SOURCE_H

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>

#include "images/pages.h"
#include "pagexfer/ps-client.h"

#define LP_RUN_MAX	(PAGEMAP_MAX_RUN * 4096UL)

/*
 * The units of verification are the page library's (struct page_unit:
 * pagemap entries or their 16 KiB parts, with a data pointer into the
 * mapped pages file for local images; the page server's map runs for the
 * images this host has not, with none).  Units are sorted by (fd, vaddr).
 */

/* verification state of a unit (lp_source.verified) */
enum { LP_UNCHECKED, LP_CHECKING, LP_GOOD, LP_BAD };

/* remote: verified units that follow on, read at once and kept for the next reads */
struct lp_cache {
	long unit;		/* the first of them; -1: empty */
	uint64_t vaddr, len;	/* what data holds */
	uint8_t *data;		/* LP_RUN_MAX bytes */
};

enum { LP_SLOT_FAULT, LP_SLOT_BG, LP_NR_SLOTS };

struct lp_source {
	unsigned pid;
	size_t nr_units, nr_local;	/* units, and how many of them are local */
	struct page_unit *units;
	uint8_t *verified;		/* per unit: LP_UNCHECKED..LP_BAD (atomic) */
	uint64_t nr_pages;
	/*
	 * The chain (remote images: stand-ins), its resolved runs cut at
	 * the units' ends (page_source_cut): run i's unit is local.runs[i].unit;
	 * a run is found with page_source_find(&local, addr)
	 */
	struct page_source local;
	struct ps_client *remote;	/* the page server, or NULL */
	/*
	 * The background's own connection to it (or NULL): its reads are sent
	 * without waiting (lp_source_fetched) and received as they come
	 * (lp_source_fetch_recv) into fetch_buf, which then becomes the
	 * background cache; faults never wait behind them in this daemon.
	 */
	struct ps_client *remote_bg;
	uint8_t *fetch_buf;		/* LP_RUN_MAX bytes */
	long fetch_ui, fetch_uj;	/* the units asked for (fetch in flight: remote_bg->owner == s) */
	uint64_t fetch_start;
	bool unhashed;			/* remote PS_MAP_UNHASHED: replies checked, not units */
	struct lp_cache cache[LP_NR_SLOTS];
	int refs;			/* processes using it (fork children share it) */
	/* local only: the verifier thread */
	pthread_t verifier;
	bool has_verifier;
	int stop;			/* atomic: the verifier is to stop */
	long hint;			/* atomic: the unit to check next */
	long want;			/* atomic: the unit the fill waits for (-1: none) */
	int bad;			/* atomic: a unit failed its check */
	int evfd;			/* eventfd: the verifier made progress (or -1) */
};

int lp_source_open_local(int dirfd, unsigned pid, struct lp_source *s);
/*
 * The same, the pages of images this host has not from the page server c
 * (faults), and bg (the background: a second connection to it, or NULL)
 */
int lp_source_open_remote(struct ps_client *c, struct ps_client *bg, int dirfd, unsigned pid,
			  struct lp_source *s);
void lp_source_close(struct lp_source *s);
/*
 * The data of [addr, addr+len), all inside run i, verified: the XXH3 of its
 * unit is checked the first time any of it is read (remote: the whole unit
 * is read then and kept in the slot's cache; local: the verifier thread has
 * usually done it already).  Returns a pointer valid until the next call
 * with the same slot, or NULL (logged: unreadable or corrupt).
 */
const void *lp_source_get(struct lp_source *s, int slot, long i, uint64_t addr, uint64_t len);
/*
 * As lp_source_get for [addr, addr + *len) from run i on: the first run's
 * part, then the following runs' while their data follows on in memory
 * (local images); *len is cut to what the pointer returned covers.
 */
const void *lp_source_get_more(struct lp_source *s, int slot, long i, uint64_t addr, uint64_t *len);
/* local: starts the verifier thread (after open); 0 or -1 */
int lp_source_start(struct lp_source *s);
/* true if the unit of run i is checked (the background fill waits otherwise) */
bool lp_source_ready(struct lp_source *s, long i);
/* the verifier goes on from run i's unit (the likely next use) */
void lp_source_hint(struct lp_source *s, long i);
/* true if run i's data is in a local image, false if on the page server */
bool lp_source_local(const struct lp_source *s, long i);
/*
 * Remote run i, background: the bytes from addr on that the background
 * cache holds (lp_source_get_more with LP_SLOT_BG then takes them without
 * a request).  0 if none: a read of them (and of the units that follow,
 * 512 KiB at least) is then sent on remote_bg if it is free; the caller
 * comes back when remote_bg->fd is readable.  Without remote_bg, or
 * with it broken, the whole run (the background then reads it itself).
 */
uint64_t lp_source_fetched(struct lp_source *s, long i, uint64_t addr);
/*
 * remote_bg is readable: what has come of its read goes in, for whichever
 * source asked (its owner; a disowned reply is drained).  When it is all
 * in, its units are checked and it becomes that source's background
 * cache.  0, or -1 (logged): data corrupt on the way sets the owner's bad;
 * a lost connection leaves the background to read for itself, waiting,
 * on the faults' connection (which fails the process if the server is
 * gone).
 */
int lp_source_fetch_recv(struct ps_client *bg);

#endif /* LAZY_SOURCE_H */
