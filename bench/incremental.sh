#!/bin/bash
# incremental.sh - incremental dump benchmark (run by `make bench`).
#
# 1. Downtime.  bench/writer, BENCH_INC_MIB (1024) MiB writing 10% of its
#    pages per second, records its own longest stall.  Migrated three ways:
#    plain dump + full restore; pre-dump rounds + final dump + full restore;
#    pre-dump rounds + final dump + lazy restore; `dump --iterative` with a
#    full and a lazy restore (and three runs at 15% per second, lazy).
#    Goal: under 50 ms.
# 2. BENCH_INC_BIG_MIB (4096) MiB writing 1% of its pages between rounds:
#    freeze of a pre-dump, freeze and image size of the final dump against a
#    full dump of the same process (goals: 20 ms, 5%).
# 3. Slowdown: the writer writing as fast as it can, untracked, then in the
#    second after tracking was armed (every page's first write faults) and
#    in the second after that (steady state).  Goal: under 10%.
# Results: printed, and appended to bench/out/results.md.
. "$(dirname "$0")/env.sh"
MIB=${BENCH_INC_MIB:-1024}
BIG=${BENCH_INC_BIG_MIB:-4096}
gcc -O2 -Wall -Wextra -o "$OUT/writer" bench/writer.c || exit 1

WPID=
trap '[ -n "$WPID" ] && kill -9 $WPID 2>/dev/null; rm -rf "$IMGDIR/inc"' EXIT
stat_of() { sed -n "s/.*stats:.* $2=\([0-9.]*\).*/\1/p" "$1" | tail -1; }
fail() { echo "bench/incremental: $*" >&2; exit 1; }

# start_writer MIB PCT: sets WPID, RES
start_writer() {
	RES=$OUT/inc-result; rm -f "$RES" "$OUT/inc-writer.out"
	# in a subshell of its own: bash would report its SIGKILL by the dump
	( exec "$OUT/writer" "$1" "$2" "$RES" < /dev/null > "$OUT/inc-writer.out" 2>&1 ) &
	WPID=$!
	for _ in $(seq 600); do grep -q READY "$OUT/inc-writer.out" && return 0; sleep 0.1; done
	fail "writer did not start"
}

# waits until RES has N lines
nlines() { if [ -f "$RES" ]; then wc -l < "$RES"; else echo 0; fi; }
lines() { for _ in $(seq 1000); do [ "$(nlines)" -ge "$1" ] && return 0; sleep 0.01; done; return 1; }

# pre-dump rounds until the dirty set stops shrinking; sets LAST (the last round)
rounds() {
	local d=$1 prev n
	"$CRIU" pre-dump -t "$WPID" -D "$d/0" --track-mem -v3 -o "$d/0.log" || fail "pre-dump 0 failed"
	prev=$(stat_of "$d/0.log" pages)
	LAST=0
	while [ "$LAST" -lt 6 ]; do
		LAST=$((LAST + 1))
		"$CRIU" pre-dump -t "$WPID" -D "$d/$LAST" --prev-images-dir "../$((LAST - 1))" \
			--track-mem -v3 -o "$d/$LAST.log" || fail "pre-dump $LAST failed"
		n=$(stat_of "$d/$LAST.log" pages)
		[ "$n" -ge $((prev * 9 / 10)) ] && break
		prev=$n
	done
}

# downtime MODE: plain | incremental | lazy; prints one table row
downtime() {
	local mode=$1 d=$IMGDIR/inc/$1 final restore_opts=() stall t0 t1
	rm -rf "$d"; mkdir -p "$d"
	start_writer "$MIB" "${PCT:-10}"
	sleep 1
	if [ "$mode" = plain ]; then
		final=$d/full
		"$CRIU" dump -t "$WPID" -D "$final" -v3 -o "$d/dump.log" || fail "dump failed"
		LAST=-
	elif [ "${mode#iterative}" != "$mode" ]; then
		# one command: rounds until the rest fits in the default 50 ms
		final=$d/it
		"$CRIU" dump -t "$WPID" -D "$final" --track-mem --iterative -v3 -o "$d/dump.log" ||
			fail "dump --iterative failed"
		LAST=$(grep -c 'iterative: round' "$d/dump.log")
	else
		rounds "$d"
		final=$d/final
		"$CRIU" dump -t "$WPID" -D "$final" --prev-images-dir "../$LAST" --track-mem \
			-v3 -o "$d/dump.log" || fail "final dump failed"
	fi
	wait "$WPID" 2>/dev/null
	[ "${mode%lazy}" != "$mode" ] && restore_opts=(--lazy-pages)
	t0=$(date +%s%N)
	"$CRIU" restore -D "$final" -d "${restore_opts[@]}" -v3 -o "$d/restore.log" || fail "restore ($mode) failed"
	t1=$(date +%s%N)
	sleep 2
	kill -USR1 "$WPID"
	lines 1 || fail "no result from the restored writer ($mode)"
	stall=$(sed -n 's/^max_stall_ms=\([0-9.]*\).*/\1/p' "$RES" | tail -1)
	WPID=
	printf '| %s | %s | %s | %s | %s | %s | %s |\n' "$mode" "$LAST" "$(stat_of "$d/dump.log" pages)" \
		"$(stat_of "$d/dump.log" freeze_ms)" "$(stat_of "$d/dump.log" dump_ms)" \
		"$(( (t1 - t0) / 1000000 ))" "$stall"
	sleep 1	# the lazy daemon finishes and exits
	rm -rf "$d"
}

# the writer's write rate over SECS seconds
rate() {
	local n=$(( $(nlines) + 1 )) w1 t1 w2 t2
	kill -HUP "$WPID"; lines "$n" || return
	sleep "$1"
	kill -HUP "$WPID"; lines $((n + 1)) || return
	read -r w1 t1 < <(sed -n "${n}p" "$RES" | sed 's/writes=\([0-9]*\) t=\([0-9.]*\)/\1 \2/')
	read -r w2 t2 < <(sed -n "$((n + 1))p" "$RES" | sed 's/writes=\([0-9]*\) t=\([0-9.]*\)/\1 \2/')
	echo "$w1 $t1 $w2 $t2" | awk '{ printf "%.0f", ($3 - $1) / ($4 - $2) }'
}

{
echo
echo "# Incremental dumps ($(date -u '+%Y-%m-%d %H:%M') UTC)"
echo
echo "## Downtime: $MIB MiB writing 10% of its pages per second"
echo
echo "| migration | pre-dump rounds | final dump pages | final freeze ms | final dump until reaped ms | restore ms | writer's longest stall ms |"
echo "|---|---|---|---|---|---|---|"
downtime plain
downtime incremental
downtime lazy
downtime iterative
downtime iterative_lazy
echo
echo "## Downtime: $MIB MiB writing 15% of its pages per second (dump --iterative, lazy restore)"
echo
echo "| migration | pre-dump rounds | final dump pages | final freeze ms | final dump until reaped ms | restore ms | writer's longest stall ms |"
echo "|---|---|---|---|---|---|---|"
for _ in 1 2 3; do PCT=15 downtime iterative_lazy; done

avail=$(awk '/MemAvailable/ {print int($2 / 1024)}' /proc/meminfo)
echo
if [ "$avail" -lt $((BIG * 3)) ]; then
	echo "## $BIG MiB: skipped ($avail MiB available, needs $((BIG * 3)))"
else
	d=$IMGDIR/inc/big; rm -rf "$d"; mkdir -p "$d"
	start_writer "$BIG" 1
	"$CRIU" dump -t "$WPID" -D "$d/full" --leave-running -v3 -o "$d/full.log" || fail "full dump failed"
	full_freeze=$(stat_of "$d/full.log" freeze_ms); full_bytes=$(du -sb "$d/full" | cut -f1)
	rm -rf "$d/full"
	"$CRIU" pre-dump -t "$WPID" -D "$d/0" --track-mem -v3 -o "$d/0.log" || fail "pre-dump failed"
	sleep 1
	"$CRIU" pre-dump -t "$WPID" -D "$d/1" --prev-images-dir ../0 --track-mem -v3 -o "$d/1.log" || fail "pre-dump failed"
	sleep 1
	"$CRIU" dump -t "$WPID" -D "$d/2" --prev-images-dir ../1 --track-mem -v3 -o "$d/2.log" || fail "final dump failed"
	wait "$WPID" 2>/dev/null; WPID=
	fin_freeze=$(stat_of "$d/2.log" freeze_ms); fin_bytes=$(du -sb "$d/2" | cut -f1)
	echo "## $BIG MiB writing 1% of its pages between rounds (1 s apart)"
	echo
	echo "| | freeze ms | image bytes | pages copied |"
	echo "|---|---|---|---|"
	echo "| full dump (--leave-running) | $full_freeze | $full_bytes | $(stat_of "$d/full.log" pages) |"
	echo "| pre-dump, first round | $(stat_of "$d/0.log" freeze_ms) | - | $(stat_of "$d/0.log" pages) |"
	echo "| pre-dump, second round | $(stat_of "$d/1.log" freeze_ms) | - | $(stat_of "$d/1.log" pages) |"
	echo "| final dump | $fin_freeze | $fin_bytes | $(stat_of "$d/2.log" pages) |"
	echo
	echo "Final dump against the full one: freeze $(awk -v a="$fin_freeze" -v b="$full_freeze" 'BEGIN { printf "%.1f%%", 100 * a / b }'), image $(awk -v a="$fin_bytes" -v b="$full_bytes" 'BEGIN { printf "%.1f%%", 100 * a / b }')."
	rm -rf "$d"
fi

echo
echo "## Slowdown of a writer writing $MIB MiB as fast as it can"
echo
d=$IMGDIR/inc/slow; rm -rf "$d"; mkdir -p "$d"
start_writer "$MIB" 0
sleep 1
r0=$(rate 1)
"$CRIU" pre-dump -t "$WPID" -D "$d/0" --track-mem -v3 -o "$d/0.log" || fail "pre-dump failed"
r1=$(rate 1)
r2=$(rate 1)
kill -9 "$WPID"; wait "$WPID" 2>/dev/null; WPID=
echo "| | writes/s | against untracked |"
echo "|---|---|---|"
echo "| untracked | $r0 | 1.00 |"
echo "| tracked, first second after a round | $r1 | $(awk -v a="$r1" -v b="$r0" 'BEGIN { printf "%.2f", a / b }') |"
echo "| tracked, steady state | $r2 | $(awk -v a="$r2" -v b="$r0" 'BEGIN { printf "%.2f", a / b }') |"
rm -rf "$d"
} | tee -a "$OUT/results.md"
