#!/bin/bash
# scatter.sh - the copy of scattered pages (run by `make bench`).
#
# bench/writer (BENCH_SCATTER_MIB MiB, default 1024) writes PCT% of its
# pages per second (default 10), one page 31 MiB after the other, so that
# every page it writes is a run of its own.  A tracked pre-dump, then
# BENCH_SCATTER_GAP seconds (default 0.5) later the final dump on top of it:
# reported are the pages it copied, their runs, the time to plan them
# (PAGEMAP_SCAN) and to copy them, and the time per page, against a full
# dump of the same process (one contiguous run a 2 MiB) and memcpy of a page
# measured in the same run (bench/memrate), and the ways of copying pages out
# of a process side by side (bench/copyways).  BENCH_REPS runs (default 3),
# medians and ranges.  Goals (issue 16): a scattered page not slower than a
# contiguous one by more than 2x; 66k scattered pages in 70 ms.
. "$(dirname "$0")/env.sh"
MIB=${BENCH_SCATTER_MIB:-1024}
PCT=${BENCH_SCATTER_PCT:-10}
GAP=${BENCH_SCATTER_GAP:-0.5}
REPS=${BENCH_REPS:-3}
for p in writer memrate copyways; do
	gcc -O2 -Wall -Wextra -o "$OUT/$p" "bench/$p.c" || exit 1
done

WPID=
D=$IMGDIR/scatter
trap '[ -n "$WPID" ] && kill -9 $WPID 2>/dev/null; rm -rf "$D"' EXIT
fail() { echo "bench/scatter: $*" >&2; exit 1; }
stat_of() { sed -n "s/.*stats:.* $2=\([0-9.]*\).*/\1/p" "$1" | tail -1; }
# "pid N: R runs, P pages in X ms" of the page writer
runs_of() { sed -n 's/.*: \([0-9]*\) runs, [0-9]* pages in .*/\1/p' "$1" | tail -1; }
range() { sort -g | awk '{ a[NR] = $1 } END { if (NR) printf "%s-%s", a[1], a[NR]; else print "n/a" }'; }

start_writer() {
	rm -f "$OUT/scatter-res" "$OUT/scatter-writer.out"
	( exec "$OUT/writer" "$MIB" "$1" "$OUT/scatter-res" < /dev/null > "$OUT/scatter-writer.out" 2>&1 ) &
	WPID=$!
	for _ in $(seq 600); do grep -q READY "$OUT/scatter-writer.out" && return 0; sleep 0.1; done
	fail "writer did not start"
}

memcpy_gbps=$("$OUT/memrate" 256 "$IMGDIR" | sed -n 's/^memcpy_gbps=//p')
# the ways of copying pages out of a process, with and without the file write
"$OUT/copyways" 512 "$IMGDIR" > "$OUT/copyways-file.txt" || fail "copyways failed"
"$OUT/copyways" 512 none > "$OUT/copyways-none.txt" || fail "copyways failed"
cw() { sed -n "s/^$1 us_per_page=\([0-9.]*\).*/\1/p" "$OUT/copyways-$2.txt"; }
: > "$OUT/scatter-rows"
for ((r = 1; r <= REPS; r++)); do
	rm -rf "$D"; mkdir -p "$D"
	start_writer "$PCT"
	sleep 0.5
	"$CRIU" dump -t "$WPID" -D "$D/full" --leave-running -v3 -o "$D/full.log" || fail "full dump failed"
	"$CRIU" pre-dump -t "$WPID" -D "$D/0" --track-mem -v3 -o "$D/0.log" || fail "pre-dump failed"
	sleep "$GAP"
	"$CRIU" dump -t "$WPID" -D "$D/1" --prev-images-dir ../0 --track-mem -v4 -o "$D/1.log" ||
		fail "final dump failed"
	wait "$WPID" 2>/dev/null; WPID=
	fp=$(stat_of "$D/full.log" pages); fms=$(stat_of "$D/full.log" pages_ms)
	sp=$(stat_of "$D/1.log" pages); sms=$(stat_of "$D/1.log" pages_ms)
	plan=$(stat_of "$D/1.log" plan_ms); [ -z "$plan" ] && plan=n/a
	frz=$(stat_of "$D/1.log" freeze_ms)
	echo "$sp $(runs_of "$D/1.log") $plan $sms $frz $(awk -v a="$sms" -v b="$sp" 'BEGIN { printf "%.2f", 1000 * a / b }') $(awk -v a="$fms" -v b="$fp" 'BEGIN { printf "%.2f", 1000 * a / b }')" >> "$OUT/scatter-rows"
	echo "  run $r: pages runs plan_ms copy_ms freeze_ms us/page(scattered) us/page(contiguous): $(tail -1 "$OUT/scatter-rows")"
	grep 'runs, .* pages in' "$D/1.log" | tail -1 | sed 's/^.*pages: /    final dump: /'
	grep 'runs, .* pages in' "$D/full.log" | tail -1 | sed 's/^.*pages: /    full dump: /'
	cp "$D/1.log" "$OUT/scatter-final-$r.log"
	rm -rf "$D"
done
col() { cut -d' ' -f"$1" "$OUT/scatter-rows" | grep -v n/a; }
# memcpy: best of copyways' 3 runs (memrate's median of 5 at 256 MiB as a fallback)
memcpy_us=$(cw memcpy none)
[ -z "$memcpy_us" ] && memcpy_us=$(awk -v g="$memcpy_gbps" 'BEGIN { printf "%.2f", 4096 / (g * 1000) }')
{
	echo
	echo "## Scattered final dump ($(date -u '+%Y-%m-%d %H:%M UTC'), $MIB MiB, $REPS runs: median (range))"
	echo
	echo "| pages | runs | plan ms | copy ms | freeze ms | us a page, scattered | us a page, contiguous (full dump) | memcpy us a page |"
	echo "|---|---|---|---|---|---|---|---|"
	echo "| $(col 1 | median) | $(col 2 | median) | $(col 3 | median) ($(col 3 | range)) | $(col 4 | median) ($(col 4 | range)) | $(col 5 | median) ($(col 5 | range)) | $(col 6 | median) ($(col 6 | range)) | $(col 7 | median) ($(col 7 | range)) | $memcpy_us |"
	echo
	echo "Ways of copying 512 MiB out of a process (bench/copyways, best of 3), us a page, into a file on $IMGDIR / the copy alone:"
	echo
	echo "| process_vm_readv 4 MiB runs | IOV_MAX 1-page runs a call | 1 page a call | vmsplice (in the process) + splice | memcpy |"
	echo "|---|---|---|---|---|"
	echo "| $(cw readv-contig file) / $(cw readv-contig none) | $(cw readv-scatter file) / $(cw readv-scatter none) | $(cw readv-single file) / $(cw readv-single none) | $(cw vmsplice file) / $(cw vmsplice none) | $(cw memcpy none) |"
} | tee -a "$OUT/results.md"
