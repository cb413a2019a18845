#!/bin/bash
# lazy.sh - lazy restore benchmark (run by `make bench` after run.sh).
#
# For BENCH_LAZY_MIB (default 1024) MiB and BENCH_REPS (default 3) runs:
# dumps bench/workload once, then restores it both ways from the same
# images: `criu restore -d` (full) and `criu restore -d --lazy-pages` (the
# daemon started by restore).  In the lazy run the workload is signalled
# as soon as restore returns, so it checks every word of its memory while
# the pages are still arriving.  Reports: time until criu restore returns
# with the process running, the daemon's fault service latency (p50/p99),
# time until every page is in, and whether the workload found its memory
# intact.  Appends a table to bench/out/results.md.
set -u
cd "$(dirname "$0")/.." || exit 1
ROOT=$PWD
OUT=$ROOT/bench/out
IMGDIR=${BENCH_IMAGES_DIR:-/dev/shm/criu-bench}
CRIU=${BENCH_CRIU:-$ROOT/criu/criu}
MIB=${BENCH_LAZY_MIB:-1024}
REPS=${BENCH_REPS:-3}
mkdir -p "$OUT" "$IMGDIR" || exit 1
gcc -O2 -Wall -Wextra -o "$OUT/workload" bench/workload.c || exit 1

now() { date +%s.%N; }
WPID=
trap '[ -n "$WPID" ] && kill -9 $WPID 2>/dev/null; rm -rf "$IMGDIR/lazy-img"' EXIT
ended() { [ ! -e /proc/$1 ] || grep -q '^State:.*Z' /proc/$1/status 2>/dev/null; }
# waits for the workload's verdict file
verdict() {
	for _ in $(seq 3000); do [ -s "$1" ] && break; sleep 0.01; done
	cat "$1" 2>/dev/null
}

img=$IMGDIR/lazy-img
run=$OUT/lazy-$MIB
rm -rf "$img" "$run"; mkdir -p "$run"
"$OUT/workload" "$MIB" "$run/result" < /dev/null > "$run/workload.out" 2>&1 &
WPID=$!
for _ in $(seq 600); do grep -q READY "$run/workload.out" && break; sleep 0.1; done
"$CRIU" dump -t "$WPID" -D "$img" -o "$run/dump.log" -v4 || { echo "bench/lazy: dump failed" >&2; exit 1; }
wait "$WPID" 2>/dev/null
pid=$WPID
WPID=
for _ in $(seq 500); do [ -e /proc/$pid ] || break; sleep 0.01; done

echo "| run | full restore s | lazy restore s | lazy / full | fault p50 us | fault p99 us | faults | all pages in s | verified |"
echo "|---|---|---|---|---|---|---|---|---|"
for rep in $(seq "$REPS"); do
	rm -f "$run/result" "$img/lazy-pages.log"
	# full restore
	t0=$(now)
	"$CRIU" restore -D "$img" -d --pidfile "$run/pid" -o "$run/full-$rep.log" -v4 || exit 1
	t1=$(now)
	kill -USR1 "$pid"
	full_ok=$(verdict "$run/result")
	for _ in $(seq 500); do [ -e /proc/$pid ] || break; sleep 0.01; done
	rm -f "$run/result"
	# lazy restore: signalled at once, so it faults while pages arrive
	t2=$(now)
	"$CRIU" restore -D "$img" -d --lazy-pages --pidfile "$run/pid" -o "$run/lazy-$rep.log" -v4 || exit 1
	t3=$(now)
	kill -USR1 "$pid"
	for _ in $(seq 3000); do grep -q 'stats:' "$img/lazy-pages.log" 2>/dev/null && break; sleep 0.005; done
	t4=$(now)
	lazy_ok=$(verdict "$run/result")
	for _ in $(seq 500); do [ -e /proc/$pid ] || break; sleep 0.01; done
	cp "$img/lazy-pages.log" "$run/lazy-pages-$rep.log"
	st=$(grep -o 'stats:.*' "$img/lazy-pages.log")
	get() { printf '%s\n' "$st" | grep -o "$1=[0-9.]*" | cut -d= -f2; }
	awk -v r="$rep" -v f="$(echo "$t1 - $t0" | bc)" -v l="$(echo "$t3 - $t2" | bc)" \
	    -v p50="$(get lat_p50_us)" -v p99="$(get lat_p99_us)" -v n="$(get faults)" \
	    -v all="$(echo "$t4 - $t2" | bc)" -v ok="$full_ok / $lazy_ok" \
	    'BEGIN { printf "| %s | %.3f | %.4f | %.1f%% | %s | %s | %s | %.3f | %s |\n", r, f, l, 100 * l / f, p50, p99, n, all, ok }'
done | tee "$run/table.md"
{ echo; echo "## lazy restore, $MIB MiB"; echo; cat "$run/table.md"; } >> "$OUT/results.md"
