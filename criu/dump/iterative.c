/*
 * iterative.c - `criu dump -t PID -D DIR --track-mem --iterative
 * [--downtime-limit MS] [--max-rounds N]`: migration in one command.
 *
 * Tracked pre-dump rounds copy memory while the tree runs, into DIR/pre-1,
 * DIR/pre-2, ... (each on its predecessor), until the pages the tree writes
 * between two rounds could be copied within the downtime limit; then the
 * final dump, frozen, writes DIR itself on the last round.  If the rounds
 * stop shrinking (the tree writes about as fast as criu copies) or the
 * round limit is reached, it says so and dumps anyway.  With --lazy-pages
 * --port P the final dump copies nothing: it serves the pages written since
 * the last round from the frozen source (post-copy), for a tree that writes
 * faster than a frozen copy would allow.  `criu restore -D DIR`
 * follows the chain of "parent" links by itself.
 *
 * The prediction after round k: the tree wrote pages_k pages between the
 * scans of rounds k-1 and k, so it writes at pages_k / (t_k - t_k-1); by
 * now (the final dump's scan) it has written that rate times (now - t_k);
 * finding and copying them costs what it cost round k per page, plus
 * round k's freeze (seizing the tree and reading its map).  Not counted:
 * collecting the rest of the state and killing the tree, a few ms more.
 *
 * Owns nothing but the loop: the rounds are cr_dump_stats() calls.
 */
#define LOG_PREFIX "iterative: "
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "common/clock.h"
#include "common/log.h"
#include "criu/dump/dump.h"
#include "criu/opts.h"

#define ITER_DEFAULT_LIMIT_MS	50
#define ITER_DEFAULT_ROUNDS	8
#define ITER_MIN_ROUNDS		2	/* the first round gives no rate of writing */

struct round {
	double start_ms;		/* when it froze the tree (its scan) */
	struct dump_stats st;
};

/* the final dump's freeze predicted after round k (k >= 1): rounds[k], rounds[k-1] */
static double predict_ms(const struct round *r, const struct round *prev, double now,
			 double *pages_out)
{
	double interval = r->start_ms - prev->start_ms;
	double rate = interval > 0 ? r->st.pages / interval : 0;	/* pages/ms written */
	/* finding and copying them: as round k did, per page */
	double per_page = r->st.pages ? (r->st.plan_ms + r->st.pages_ms) / r->st.pages : 0;
	double pages = rate * (now - r->start_ms);

	*pages_out = pages;
	return r->st.freeze_ms + pages * per_page;
}

static int round_dir(const char *dir, int k, char *buf, size_t len)
{
	if ((size_t)snprintf(buf, len, "%s/pre-%d", dir, k) >= len) {
		pr_err("%s: path too long", dir);
		return -1;
	}
	return 0;
}

static int run_pre_round(const struct opts *o, int k, struct round *r)
{
	char dir[4096], prev[32];
	struct opts ro = *o;

	if (round_dir(o->images_dir, k, dir, sizeof(dir)))
		return -1;
	snprintf(prev, sizeof(prev), "../pre-%d", k - 1);
	ro.images_dir = dir;
	ro.prev_images_dir = k > 1 ? prev : NULL;
	ro.lazy_pages = false;
	ro.leave_running = false;
	r->start_ms = clock_now_ms();
	if (cr_dump_stats(&ro, true, &r->st)) {
		pr_err("pid %d: pre-dump round %d into %s failed", o->pid, k, dir);
		return -1;
	}
	return 0;
}

int cr_dump_iterative(const struct opts *o)
{
	int limit = o->downtime_limit_ms > 0 ? o->downtime_limit_ms : ITER_DEFAULT_LIMIT_MS;
	int max = o->max_rounds > 0 ? o->max_rounds : ITER_DEFAULT_ROUNDS;
	struct round *rounds;
	int k, err = -1;
	char prev[32];
	const char *why = NULL;

	if (!o->track_mem) {
		pr_err("--iterative needs --track-mem (the rounds copy only what was written since)");
		return -1;
	}
	if (o->prev_images_dir) {
		pr_err("--iterative makes its own chain of pre-dumps: no --prev-images-dir");
		return -1;
	}
	if (o->pid <= 0 || !o->images_dir) {
		pr_err("dump needs -t PID and -D DIR");
		return -1;
	}
	if (mkdir(o->images_dir, 0700) && errno != EEXIST) {
		pr_perror("cannot create %s", o->images_dir);
		return -1;
	}
	rounds = calloc(max + 1, sizeof(*rounds));
	if (!rounds)
		return -1;
	for (k = 1; k <= max; k++) {
		double pages, ms;

		if (run_pre_round(o, k, &rounds[k]))
			goto out;
		if (k < ITER_MIN_ROUNDS) {
			pr_info("round %d: %lu pages copied while it ran in %.1f ms (frozen %.1f ms)", k,
				(unsigned long)rounds[k].st.pages, rounds[k].st.pages_ms,
				rounds[k].st.freeze_ms);
			continue;
		}
		ms = predict_ms(&rounds[k], &rounds[k - 1], clock_now_ms(), &pages);
		pr_info("round %d: %lu pages written since round %d, copied in %.1f ms (frozen %.1f ms); "
			"%.0f pages/s written; final dump predicted: %.0f pages, %.1f ms",
			k, (unsigned long)rounds[k].st.pages, k - 1, rounds[k].st.pages_ms,
			rounds[k].st.freeze_ms,
			rounds[k].st.pages * 1e3 / (rounds[k].start_ms - rounds[k - 1].start_ms), pages, ms);
		if (ms <= limit)
			break;
		if (k > ITER_MIN_ROUNDS && rounds[k].st.pages * 10 >= rounds[k - 1].st.pages * 9) {
			why = "the rounds stopped shrinking";
			break;
		}
		if (k == max)
			why = "the round limit was reached";
	}
	if (k > max)
		k = max;
	if (why)
		pr_warn("pid %d: %s (round %d: %lu pages); the final dump may take over the %d ms "
			"downtime limit", o->pid, why, k, (unsigned long)rounds[k].st.pages, limit);

	struct opts fo = *o;
	struct dump_stats st = { 0 };
	snprintf(prev, sizeof(prev), "pre-%d", k);
	fo.prev_images_dir = prev;
	fo.lazy_pages = o->lazy_pages;	/* post-copy: the final dump copies nothing */
	if (cr_dump_stats(&fo, false, &st))
		goto out;
	pr_info("final dump: %lu pages, frozen %.1f ms (limit %d ms), after %d rounds",
		(unsigned long)st.pages, st.freeze_ms, limit, k);
	err = 0;
out:
	free(rounds);
	return err;
}
