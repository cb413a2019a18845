#!/bin/bash
# coldstart.sh - cold start of a restored program (run by `make bench`):
# bench/coldstart, BENCH_COLD_MIB (1024) MiB, reads a random 10% of its
# pages (the same ones every time) and exits.  Dumped once, then restored
# BENCH_REPS (3) times each way, the program signalled as soon as restore
# returns; the figure is the time from the start of `criu restore` to the
# program's verdict (it ran, read what it needed, and ended):
#   full        criu restore -d: every page in place before it runs
#   lazy        criu restore -d --lazy-pages, no working set (each run
#               records one; it is removed before the next)
#   lazy+ws     the same with the working set the first lazy run recorded
#               (lazy-pages/workingset.h): those pages are installed first
# Also the program's own time reading its pages (touch ms), and the
# daemon's faults.  Appends the table to bench/out/results.md.
. "$(dirname "$0")/env.sh"
REPS=${BENCH_REPS:-3}
MIB=${BENCH_COLD_MIB:-1024}
gcc -O2 -Wall -Wextra -o "$OUT/coldstart" bench/coldstart.c || exit 1
gcc -O2 -Wall -Wextra -o "$OUT/uffdcopy" bench/uffdcopy.c -lpthread || exit 1
IMG=$IMGDIR/cold
WPID=
trap '[ -n "$WPID" ] && kill -9 $WPID 2>/dev/null; rm -rf "$IMG"' EXIT
fail() { echo "bench/coldstart: $*" >&2; exit 1; }
now() { date +%s%N; }

rm -rf "$IMG" && mkdir -p "$IMG" "$OUT/cold"
RES=$OUT/cold/result
"$OUT/coldstart" "$MIB" 10 "$RES" < /dev/null > "$OUT/cold/prog.out" 2>&1 &
WPID=$!
for _ in $(seq 600); do grep -q READY "$OUT/cold/prog.out" 2>/dev/null && break; sleep 0.1; done
"$CRIU" dump -t "$WPID" -D "$IMG" -o "$OUT/cold/dump.log" -v4 || fail "dump failed"
wait "$WPID" 2>/dev/null
PID=$WPID; WPID=
for _ in $(seq 500); do [ -e /proc/$PID ] || break; sleep 0.01; done

# one_run MODE: prints "total_ms touch_ms faults"
one_run() {
	local mode=$1 opts=() t0 t1 v
	[ "$mode" = full ] || opts=(--lazy-pages)
	[ "$mode" = lazy ] && rm -f "$IMG/workingset-$PID.img"
	"$OUT/uffdcopy" "$MIB" warm > /dev/null
	rm -f "$RES" "$IMG/lazy-pages.log"
	t0=$(now)
	"$CRIU" restore -D "$IMG" -d "${opts[@]}" --pidfile "$OUT/cold/pid" -o "$OUT/cold/restore.log" -v4 ||
		fail "restore ($mode) failed"
	kill -USR1 "$PID"
	for _ in $(seq 30000); do [ -s "$RES" ] && break; sleep 0.001; done
	t1=$(now)
	v=$(cat "$RES")
	[ "${v%% *}" = PASS ] || fail "$mode: $v"
	for _ in $(seq 500); do [ -e /proc/$PID ] || break; sleep 0.01; done
	# the daemon's summary comes after the program is gone
	local faults=-
	if [ "$mode" != full ]; then
		for _ in $(seq 500); do grep -q 'stats:' "$IMG/lazy-pages.log" 2>/dev/null && break; sleep 0.01; done
		faults=$(grep -o 'faults=[0-9]*' "$IMG/lazy-pages.log" | head -1 | cut -d= -f2)
	fi
	echo "$(( (t1 - t0) / 1000000 )) $(echo "$v" | grep -o 'touch_ms=[0-9.]*' | cut -d= -f2) $faults"
}

{
echo
echo "# Cold start ($(date -u '+%Y-%m-%d %H:%M') UTC)"
echo
echo "$MIB MiB, 10% of its pages read at random after restore, then exit; $REPS runs each, medians (all runs in brackets)"
echo
echo "| restore | restore start to verdict ms | program's reading ms | daemon faults |"
echo "|---|---|---|---|"
for mode in full lazy lazy+ws; do
	[ "$mode" = lazy+ws ] && one_run lazy > /dev/null	# records the working set
	tot=() tch=() flt=()
	for _ in $(seq "$REPS"); do
		read -r a b c < <(one_run "$mode")
		tot+=("$a"); tch+=("$b"); flt+=("$c")
	done
	printf '| %s | %s [%s] | %s [%s] | %s |\n' "$mode" \
		"$(printf '%s\n' "${tot[@]}" | median)" "${tot[*]}" \
		"$(printf '%s\n' "${tch[@]}" | median)" "${tch[*]}" "${flt[*]}"
done
} | tee -a "$OUT/results.md"
