#!/bin/bash
# fds.sh - dump/restore time of a process with many open fds of mixed kinds
# (`make bench`).  bench/fds.c holds BENCH_FDS fds (default 10000: regular
# files, dups, pipes with data, eventfds, socketpairs with data, timerfds,
# memfds, signalfds, epolls, /dev/null) and checks them all after the
# restore.  For 0 and BENCH_FDS fds, BENCH_REPS times (default 3): times
# `criu dump` (and its freeze), `criu restore -d`, then signals the restored
# process and requires its "OK".  Prints the medians and the cost per fd
# ((time with N - time with 0) / N), also written to bench/out/fds.md.
. "$(dirname "$0")/env.sh"
NFDS=${BENCH_FDS:-10000}
REPS=${BENCH_REPS:-3}

gcc -O2 -Wall -Wextra -o "$OUT/fds" bench/fds.c || { echo "bench: cannot build bench/fds.c" >&2; exit 1; }
hard=$(ulimit -Hn)
if [ "$hard" != unlimited ] && [ "$hard" -lt $(( NFDS + 200 )) ]; then
	echo "bench/fds.sh: RLIMIT_NOFILE hard limit $hard is below $NFDS fds: BENCH_FDS=$(( hard - 200 )) would fit" >&2
	exit 1
fi
ulimit -n "$hard"

now() { date +%s.%N; }
ended() { local st; st=$(awk '{ print $3 }' "/proc/$1/stat" 2>/dev/null) || return 0; [ "$st" = Z ]; }

WPID=
trap '[ -n "$WPID" ] && kill -9 "$WPID" 2>/dev/null' EXIT
trap 'exit 130' INT TERM

# one N REP: prints "dump_s freeze_ms restore_s image_kib" or fails
one() {
	local n=$1 rep=$2 run=$OUT/fds-$1-$2 img=$IMGDIR/fds-$1-$2 t0 t1 t2 pid fr
	rm -rf "$run" "$img"; mkdir -p "$run"
	"$OUT/fds" "$n" "$run/result" > "$run/out" 2>&1 < /dev/null &
	WPID=$!
	for _ in $(seq 300); do grep -q READY "$run/out" 2>/dev/null && break; sleep 0.05; done
	grep -q READY "$run/out" || { echo "fds $n: workload not ready: $(cat "$run/out")" >&2; return 1; }
	t0=$(now)
	"$CRIU" dump -t "$WPID" -D "$img" -v4 -o "$run/dump.log" || { echo "fds $n: dump failed: $(grep -m1 error: "$run/dump.log")" >&2; return 1; }
	t1=$(now)
	wait "$WPID" 2>/dev/null
	pid=$WPID
	"$CRIU" restore -D "$img" -d --pidfile "$run/pid" -v4 -o "$run/restore.log" || { echo "fds $n: restore failed: $(grep -m1 error: "$run/restore.log")" >&2; return 1; }
	t2=$(now)
	kill -USR1 "$pid"
	for _ in $(seq 200); do ended "$pid" && break; sleep 0.05; done
	WPID=
	if [ "$(cat "$run/result" 2>/dev/null)" != OK ]; then
		echo "fds $n: the restored process found: $(cat "$run/result" 2>/dev/null)" >&2
		kill -9 "$pid" 2>/dev/null
		return 1
	fi
	fr=$(sed -n 's/.*stats:.* freeze_ms=\([0-9.]*\).*/\1/p' "$run/dump.log" | tail -1)
	echo "$(awk "BEGIN { print $t1 - $t0 }") ${fr:-n/a} $(awk "BEGIN { print $t2 - $t1 }") $(du -sk "$img" | cut -f1)"
	rm -rf "$img"
}

fail=0
declare -A D F R K
for n in 0 "$NFDS"; do
	: > "$OUT/fds-$n.txt"
	for rep in $(seq "$REPS"); do
		if line=$(one "$n" "$rep"); then
			echo "fds=$n rep=$rep dump_s freeze_ms restore_s image_kib: $line"
			echo "$line" >> "$OUT/fds-$n.txt"
		else
			fail=1
		fi
	done
	D[$n]=$(awk '{ print $1 }' "$OUT/fds-$n.txt" | median)
	F[$n]=$(awk '{ print $2 }' "$OUT/fds-$n.txt" | median)
	R[$n]=$(awk '{ print $3 }' "$OUT/fds-$n.txt" | median)
	K[$n]=$(awk '{ print $4 }' "$OUT/fds-$n.txt" | median)
done
per() { awk "BEGIN { if (\"$1\" == \"n/a\" || \"$2\" == \"n/a\") print \"n/a\"; else printf \"%.1f\", ($1 - $2) * 1e6 / $NFDS }"; }
{
	echo "## fds: $NFDS open fds of mixed kinds (medians of $REPS)"
	echo
	echo "| fds | dump (s) | frozen (ms) | restore -d (s) | images (KiB) |"
	echo "|---|---|---|---|---|"
	for n in 0 "$NFDS"; do echo "| $n | ${D[$n]} | ${F[$n]} | ${R[$n]} | ${K[$n]} |"; done
	echo
	echo "Cost per fd: dump $(per "${D[$NFDS]}" "${D[0]}") us, frozen $(per "${F[$NFDS]}" "${F[0]}" | awk '{ if ($1 == "n/a") print $1; else printf "%.1f", $1 / 1000 }') us, restore $(per "${R[$NFDS]}" "${R[0]}") us."
} > "$OUT/fds.md"
cat "$OUT/fds.md"
exit $fail
