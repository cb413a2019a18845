#!/bin/bash
# lazy-criu.sh - lazy restore, all pages in, side by side with upstream CRIU
# (run by `make bench` after lazy.sh; skipped if UPSTREAM_CRIU, default
# /usr/sbin/criu, is not there).
#
# For each size in BENCH_LAZY_CRIU_SIZES (MiB, default "256 1024") and
# BENCH_REPS runs (default 3), alternating the two tools run by run:
# bench/workload is dumped by each tool into its own images (started with
# setsid: upstream refuses a session led from outside the tree), then
# restored with --lazy-pages (ours: `criu restore -d --lazy-pages`, which
# starts the daemon; upstream: `criu lazy-pages` started first, then `criu
# restore -d --lazy-pages`), signalled as soon as restore returns, and
# checks every word while pages arrive.  Reports, from the start of the
# restore: running (restore returned), the program's verdict written
# (every page it reads is in), and the daemon done (ours: its stats line;
# upstream: the daemon exits), and ours / upstream of the last.
# Appends the table to bench/out/results.md.
. "$(dirname "$0")/env.sh"
REPS=${BENCH_REPS:-3}
SIZES=${BENCH_LAZY_CRIU_SIZES:-256 1024}
UP=${UPSTREAM_CRIU:-/usr/sbin/criu}
# upstream's own check: CRIU 3.17.1 cannot start on kernels whose vdso
# layout it does not know ("Unexpected rt vDSO area bounds"): ours alone then
UPOK=1 UPWHY=
if [ ! -x "$UP" ]; then
	UPOK=0 UPWHY="no upstream CRIU at $UP"
elif ! "$UP" check > "$OUT/upstream-check.txt" 2>&1 || grep -q 'Error' "$OUT/upstream-check.txt"; then
	UPOK=0 UPWHY="$UP cannot run here: $(grep -o 'Error.*' "$OUT/upstream-check.txt" | grep -m1 -i 'vdso.*bounds\|could not')"
fi
[ "$UPOK" = 1 ] || echo "lazy-criu: $UPWHY; ours alone"
gcc -O2 -Wall -Wextra -o "$OUT/workload" bench/workload.c || exit 1
gcc -O2 -Wall -Wextra -o "$OUT/uffdcopy" bench/uffdcopy.c -lpthread || exit 1

now() { date +%s.%N; }
WPID= DPID=
trap '[ -n "$WPID" ] && kill -9 $WPID 2>/dev/null; [ -n "$DPID" ] && kill -9 $DPID 2>/dev/null; rm -rf "$IMGDIR/lc-ours" "$IMGDIR/lc-up"' EXIT
verdict() {
	for _ in $(seq 6000); do [ -s "$1" ] && break; sleep 0.005; done
	cat "$1" 2>/dev/null
}
gone() { for _ in $(seq 1000); do [ -e /proc/$1 ] || break; sleep 0.01; done; }
warm() { "$OUT/uffdcopy" "$1" warm; }

# dump_with CRIU IMG RUN MIB: starts the workload in a session of its own, dumps it
dump_with() {
	local c=$1 img=$2 run=$3 mib=$4 p
	rm -rf "$img"; mkdir -p "$img"
	setsid "$OUT/workload" "$mib" "$run/result" < /dev/null > "$run/prog.out" 2>&1 &
	for _ in $(seq 600); do grep -q READY "$run/prog.out" 2> /dev/null && break; sleep 0.1; done
	p=$(pgrep -n -f "^$OUT/workload $mib $run/result") || { echo "lazy-criu: workload did not start" >&2; exit 1; }
	WPID=$p
	# (this runs in $(...): the caller's trap cannot see WPID; a failed dump kills it here)
	"$c" dump -t "$p" -D "$img" -o "$img/dump.log" -v4 ||
		{ kill -9 "$p" 2> /dev/null; echo "lazy-criu: $c dump failed ($img/dump.log)" >&2; exit 1; }
	gone "$p"
	WPID=
	echo "$p"
}

for MIB in $SIZES; do
	run=$OUT/lazy-criu-$MIB
	rm -rf "$run"; mkdir -p "$run"
	{
	[ "$UPOK" = 1 ] || { echo "Upstream CRIU not measured: $UPWHY"; echo; }
	echo "$MIB MiB, lazy restore with the program checking every word at once (s from the start of restore):"
	echo
	echo "| run | ours: running | ours: verdict | ours: daemon done | CRIU $("$UP" --version | awk '/Version/ { print $2 }'): running | verdict | daemon done | ours / CRIU (daemon done) | verified (ours / CRIU) |"
	echo "|---|---|---|---|---|---|---|---|---|"
	} | tee "$run/table.md"
	for rep in $(seq "$REPS"); do
		# ours
		img=$IMGDIR/lc-ours
		pid=$(dump_with "$CRIU" "$img" "$run" "$MIB")
		rm -f "$run/result" "$img/lazy-pages.log"
		warm "$MIB"
		t0=$(now)
		"$CRIU" restore -D "$img" -d --lazy-pages -o "$run/ours-rst-$rep.log" -v4 || exit 1
		t1=$(now)
		kill -USR1 "$pid"
		ok1=$(verdict "$run/result"); t2=$(now)
		for _ in $(seq 6000); do grep -q 'stats:' "$img/lazy-pages.log" 2>/dev/null && break; sleep 0.002; done
		t3=$(now)
		cp "$img/lazy-pages.log" "$run/ours-lp-$rep.log"
		gone "$pid"
		t4=0 t5=0 t6=0 t7=0 ok2=n/a
		[ "$UPOK" = 1 ] && {
		img=$IMGDIR/lc-up
		pid=$(dump_with "$UP" "$img" "$run" "$MIB")
		rm -f "$run/result"
		warm "$MIB"
		t4=$(now)
		"$UP" lazy-pages -D "$img" -o "$run/up-lp-$rep.log" -v4 &
		DPID=$!
		"$UP" restore -D "$img" -d --lazy-pages -o "$run/up-rst-$rep.log" -v4 || { echo "lazy-criu: upstream restore failed ($run/up-rst-$rep.log)" >&2; exit 1; }
		t5=$(now)
		kill -USR1 "$pid"
		ok2=$(verdict "$run/result"); t6=$(now)
		wait "$DPID"; DPID=
		t7=$(now)
		gone "$pid"
		}
		up="n/a | n/a | n/a"
		[ "$UPOK" = 1 ] && up=$(awk -v d="$(echo "$t5 - $t4" | bc)" -v e="$(echo "$t6 - $t4" | bc)" \
			-v f="$(echo "$t7 - $t4" | bc)" 'BEGIN { printf "%.3f | %.3f | %.3f", d, e, f }')
		awk -v r="$rep" -v a="$(echo "$t1 - $t0" | bc)" -v b="$(echo "$t2 - $t0" | bc)" -v c="$(echo "$t3 - $t0" | bc)" \
		    -v f="$(echo "$t7 - $t4" | bc)" -v up="$up" -v ok="$ok1 / $ok2" \
		    'BEGIN { printf "| %s | %.3f | %.3f | %.3f | %s | %s | %s |\n", r, a, b, c, up,
			    (f > 0 ? sprintf("%.2f", c / f) : "n/a"), ok }'
	done | tee -a "$run/table.md"
	rm -rf "$IMGDIR/lc-ours" "$IMGDIR/lc-up"
	{ echo; echo "## lazy restore against upstream CRIU, $MIB MiB"; echo; cat "$run/table.md"; } >> "$OUT/results.md"
done
