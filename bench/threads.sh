#!/bin/bash
# threads.sh - dump and restore cost per thread (run by `make bench`):
# a process with 10 and with 100 sleeping threads, medians of 3 runs.
. "$(dirname "$0")/env.sh"
gcc -O2 -Wall -o "$OUT/threads" bench/bench-threads.c -lpthread || exit 1
{
echo
echo "# Threads ($(date -u '+%Y-%m-%d %H:%M') UTC)"
echo
echo "| threads | dump ms | restore ms | dump ms per thread | restore ms per thread |"
echo "|---|---|---|---|---|"
for n in 10 100; do
	: > "$OUT/thr-d"; : > "$OUT/thr-r"
	for rep in 1 2 3; do
		img=$IMGDIR/thr-$n; rm -rf "$img"
		( exec "$OUT/threads" "$n" > "$OUT/thr.out" 2>&1 < /dev/null ) &
		pid=$!
		for _ in $(seq 100); do grep -q READY "$OUT/thr.out" && break; sleep 0.05; done
		t0=$(date +%s%N)
		"$CRIU" dump -t "$pid" -D "$img" -o "$OUT/thr-dump.log" -v3 || { echo "dump failed" >&2; exit 1; }
		t1=$(date +%s%N)
		wait "$pid" 2>/dev/null
		"$CRIU" restore -D "$img" -d -o "$OUT/thr-restore.log" -v3 || { echo "restore failed" >&2; exit 1; }
		t2=$(date +%s%N)
		kill -USR1 "$pid"
		for _ in $(seq 100); do [ -e /proc/$pid ] || break; sleep 0.02; done
		ms "$t0" "$t1" >> "$OUT/thr-d"; ms "$t1" "$t2" >> "$OUT/thr-r"
		rm -rf "$img"
	done
	d=$(median < "$OUT/thr-d"); r=$(median < "$OUT/thr-r")
	echo "| $n | $d | $r | $(awk -v a="$d" -v n="$n" 'BEGIN { printf "%.2f", a / n }') | $(awk -v a="$r" -v n="$n" 'BEGIN { printf "%.2f", a / n }') |"
done
} 2>/dev/null | tee -a "$OUT/results.md"
