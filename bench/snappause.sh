#!/bin/bash
# snappause.sh - the pause of a live snapshot (run by `make bench`).
#
# bench/pausewriter writes BENCH_PAUSE_PCT% of its pages per second
# (default 200: 10% every 50 ms, issue 16's program) in 1 ms turns.  For
# each size (BENCH_PAUSE_SIZES MiB, default "256 1024 4096") and BENCH_REPS
# runs (default 3) it is dumped with `criu dump --leave-running
# --live-snapshot`.  Reported: criu's freeze (seize to resume, its stats)
# and the program's three longest pauses, with when each began after criu
# started (the freeze's is the one at the freeze; the others are turns
# whose writes each waited for a copy-before-write fault).  Medians and
# ranges, printed and appended to bench/out/results.md.
. "$(dirname "$0")/env.sh"
SIZES=${BENCH_PAUSE_SIZES:-256 1024 4096}
PCT=${BENCH_PAUSE_PCT:-200}
REPS=${BENCH_REPS:-3}
gcc -O2 -Wall -Wextra -o "$OUT/pausewriter" bench/pausewriter.c || exit 1

WPID=
D=$IMGDIR/snappause
trap '[ -n "$WPID" ] && kill -9 $WPID 2>/dev/null; rm -rf "$D"' EXIT
fail() { echo "bench/snappause: $*" >&2; exit 1; }
range() { sort -g | awk '{ a[NR] = $1 } END { if (NR) printf "%s-%s", a[1], a[NR]; else print "n/a" }'; }

# one MIB: prints "freeze_ms gap1 gap2 gap3" and the gaps' times to stderr
one() {
	local mib=$1 log=$OUT/snappause-$1.log out=$OUT/pausewriter.out t0
	( exec "$OUT/pausewriter" "$mib" "$PCT" < /dev/null > "$out" 2>&1 ) &
	WPID=$!
	for _ in $(seq 600); do grep -q READY "$out" && break; sleep 0.1; done
	grep -q READY "$out" || fail "pausewriter did not start"
	sleep 1
	rm -rf "$D" "$log"; mkdir -p "$D"
	kill -USR1 "$WPID"; sleep 0.05
	t0=$(date +%s.%N)
	"$CRIU" dump -t "$WPID" -D "$D" --leave-running --live-snapshot -v4 -o "$log" ||
		fail "live snapshot of $mib MiB failed: $(grep -m1 error: "$log")"
	sleep 0.3
	kill -USR2 "$WPID"; wait "$WPID" 2>/dev/null; WPID=
	rm -rf "$D"
	local mark gaps
	mark=$(sed -n 's/^mark //p' "$out")
	gaps=$(awk '/^gap/ { printf "%s ", $2 }' "$out")
	awk -v m="$mark" -v c="$t0" '/^gap/ { printf "    pause %s ms at criu+%.0f ms\n", $2, ($4 / 1e3 + m - c) * 1e3 }' "$out" >&2
	echo "$(sed -n 's/.*stats:.* freeze_ms=\([0-9.]*\).*/\1/p' "$log" | tail -1) $gaps"
}

ROWS=()
for mib in $SIZES; do
	avail=$(awk '/MemAvailable/ {print int($2 / 1024)}' /proc/meminfo)
	if [ $((mib * 3)) -gt "$avail" ]; then
		echo "== $mib MiB: skipped (needs 3x its size free)"
		continue
	fi
	: > "$OUT/snappause-$mib"
	for ((r = 1; r <= REPS; r++)); do
		v=$(one "$mib") || exit 1
		echo "  $mib MiB run $r: freeze_ms pause1 pause2 pause3: $v"
		echo "$v" >> "$OUT/snappause-$mib"
	done
	f=$OUT/snappause-$mib
	ROWS+=("| $mib | $(cut -d' ' -f1 "$f" | median) ($(cut -d' ' -f1 "$f" | range)) | $(cut -d' ' -f2 "$f" | median) ($(cut -d' ' -f2 "$f" | range)) | $(cut -d' ' -f3 "$f" | median) ($(cut -d' ' -f3 "$f" | range)) |")
done
{
	echo
	echo "## Live snapshot pause ($(date -u '+%Y-%m-%d %H:%M UTC'), writer at $PCT%/s, $REPS runs: median (range))"
	echo
	echo "| MiB | criu freeze ms | program's longest pause ms | 2nd longest ms |"
	echo "|---|---|---|---|"
	for row in "${ROWS[@]}"; do echo "$row"; done
} | tee -a "$OUT/results.md"
