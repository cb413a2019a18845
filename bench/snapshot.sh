#!/bin/bash
# snapshot.sh - live snapshot benchmark (run by `make bench`).
#
# bench/snapwriter writes its memory as fast as it can and times each write.
# For each size (BENCH_SNAP_SIZES MiB, default "1024 4096") and BENCH_REPS
# runs (default 3) it is dumped with `criu dump --leave-running
# --live-snapshot` and, for comparison, with a plain `criu dump
# --leave-running`.  Reported: the freeze (seize to resume, from criu's
# stats), the whole dump, the program's own view of the dump (its longest
# stall, the percentiles of its writes slower than 2 us, its write rate
# during the dump against the second before), and criu's fault service
# times.  Goals: freeze under 20 ms whatever the size, p99 stall under
# 100 us.  Results: printed and appended to bench/out/results.md.
. "$(dirname "$0")/env.sh"
SIZES=${BENCH_SNAP_SIZES:-1024 4096}
REPS=${BENCH_REPS:-3}
gcc -O2 -Wall -Wextra -o "$OUT/snapwriter" bench/snapwriter.c || exit 1

WPID=
trap '[ -n "$WPID" ] && kill -9 $WPID 2>/dev/null; rm -rf "$IMGDIR/snap"' EXIT
fail() { echo "bench/snapshot: $*" >&2; exit 1; }
stat_of() { sed -n "s/.*stats:.* $2=\([0-9.]*\).*/\1/p" "$1" | tail -1; }
snap_of() { sed -n "s/.*live snapshot copied.* $2=\([0-9.]*\).*/\1/p" "$1" | tail -1; }
field() { sed -n "s/.* $2=\([0-9.]*\).*/\1/p" <<< " $1"; }
median() { sort -g | awk '{ a[NR] = $1 } END { if (!NR) print "n/a"; else if (NR % 2) print a[(NR + 1) / 2]; else printf "%.6g\n", (a[NR / 2] + a[NR / 2 + 1]) / 2 }'; }

RES=$OUT/snap-result
# one MIB REP MODE(live|plain): prints "freeze_ms dump_s max_us p50 p99 p999 second_us rate crit_p50 crit_p99 crit_max faults"
one() {
	local mib=$1 mode=$2 d=$IMGDIR/snap log=$OUT/snap-$1-$2.log t0 t1 line extra=()
	rm -f "$log"
	[ "$mode" = live ] && extra=(--live-snapshot)
	rm -rf "$d"
	local n0; n0=$(wc -l < "$RES")
	kill -USR1 "$WPID"
	sleep 0.2
	t0=$(date +%s.%N)
	"$CRIU" dump -t "$WPID" -D "$d" --leave-running "${extra[@]}" -v3 -o "$log" || fail "$mode dump of $mib MiB failed: $(grep -m1 error: "$log")"
	t1=$(date +%s.%N)
	sleep 0.2
	kill -USR2 "$WPID"
	for _ in $(seq 500); do [ "$(wc -l < "$RES")" -gt "$n0" ] && break; sleep 0.01; done
	line=$(tail -1 "$RES")
	rm -rf "$d"
	local writes secs base
	writes=$(field "$line" writes); secs=$(field "$line" secs); base=$(field "$line" base_wps)
	echo "$(stat_of "$log" freeze_ms) $(awk "BEGIN { printf \"%.3f\", $t1 - $t0 }") $(field "$line" max_us) $(field "$line" p50_us) $(field "$line" p99_us) $(field "$line" p999_us) $(field "$line" second_us) $(awk "BEGIN { printf \"%.2f\", $writes / $secs / $base }") $(snap_of "$log" fault_p50_us) $(snap_of "$log" fault_p99_us) $(snap_of "$log" fault_max_us) $(snap_of "$log" faults)"
}

# on these VMs memory the guest has not touched lately is slow (a host fault
# per page): touch what the runs will use once, as bench/run.sh does
warm=0
for s in $SIZES; do [ "$s" -gt "$warm" ] && warm=$s; done
warm=$((warm * 3))
avail=$(awk '/MemAvailable/ {print int($2 / 1024)}' /proc/meminfo)
[ "$warm" -gt $((avail - 2048)) ] && warm=$((avail - 2048))
dd if=/dev/zero of="$IMGDIR/warm" bs=1M count="$warm" status=none; rm -f "$IMGDIR/warm"

ROWS=()
for mib in $SIZES; do
	avail=$(awk '/MemAvailable/ {print int($2 / 1024)}' /proc/meminfo)
	if [ $((mib * 3)) -gt "$avail" ]; then
		echo "== $mib MiB: skipped (needs 3x its size free)"
		continue
	fi
	echo "== $mib MiB, $REPS runs"
	rm -f "$RES"; touch "$RES"
	( exec "$OUT/snapwriter" "$mib" "$RES" < /dev/null > "$OUT/snapwriter.out" 2>&1 ) &
	WPID=$!
	for _ in $(seq 600); do grep -q READY "$OUT/snapwriter.out" && break; sleep 0.1; done
	grep -q READY "$OUT/snapwriter.out" || fail "snapwriter did not start"
	sleep 1.5	# a second of writing for the base rate
	: > "$OUT/snap-live-$mib"; : > "$OUT/snap-plain-$mib"
	for ((r = 1; r <= REPS; r++)); do
		for mode in live plain; do
			v=$(one "$mib" "$mode") || exit 1
			echo "  run $r $mode: freeze_ms dump_s max_stall_us stall_p50 p99 p999 second_us rate crit_p50 p99 max faults: $v"
			echo "$v" >> "$OUT/snap-$mode-$mib"
			sleep 1.2
		done
	done
	kill "$WPID"; wait "$WPID" 2>/dev/null; WPID=
	for mode in live plain; do
		f=$OUT/snap-$mode-$mib
		m() { cut -d' ' -f"$1" "$f" | grep -v '^$' | median; }
		ROWS+=("| $mib | $mode | $(m 1) | $(m 2) | $(m 3) | $(m 7) | $(m 4) | $(m 5) | $(m 6) | $(m 8) | $(m 9) | $(m 10) | $(m 11) | $(m 12) |")
	done
done
{
	echo
	echo "## Live snapshot ($(date -u '+%Y-%m-%d %H:%M UTC'), $REPS runs, medians)"
	echo
	echo "| MiB | dump | freeze ms | dump s | longest stall us | 2nd longest us | stalls p50 us | p99 us | p99.9 us | write rate / before | criu fault p50 us | p99 us | max us | faults |"
	echo "|---|---|---|---|---|---|---|---|---|---|---|---|---|---|"
	for row in "${ROWS[@]}"; do echo "$row"; done
} | tee -a "$OUT/results.md"
