#!/bin/bash
# net.sh - dump and restore time per established TCP connection (`make
# bench`).  test/progs/tcp_echo holds N connections (1 and BENCH_CONNS,
# default 1000) from test/progs/tcp_stream, which streams on each (16 KiB in
# flight per connection) and checks every byte echoed.  For each N,
# BENCH_REPS times (default 3): `criu dump --tcp-established` (wall time and
# freeze), `criu restore -d`, the longest pause the client saw, then the
# client drains and the server checks its side.  Prints the medians and the
# cost per connection ((time with N - time with 1) / (N - 1)), also written
# to bench/out/net.md.
. "$(dirname "$0")/env.sh"
NCONN=${BENCH_CONNS:-1000}
REPS=${BENCH_REPS:-3}
make -s test/progs/tcp_echo test/progs/tcp_stream || exit 1

now() { date +%s.%N; }
has() { grep -q "$2" "$1" 2>/dev/null; }
waitfor() { local f=$1 w=$2 i; for i in $(seq 600); do has "$f" "$w" && return 0; sleep 0.05; done; return 1; }

SPID= CPID=
cleanup() {
	[ -n "$SPID" ] && kill -9 "$SPID" 2>/dev/null
	[ -n "$CPID" ] && kill -9 "$CPID" 2>/dev/null
	[ -n "$SPID" ] && nft delete table inet "criu_lock_$SPID" 2>/dev/null
	SPID= CPID=
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# one N REP: prints "dump_s freeze_ms restore_s pause_ms" or fails
one() {
	local n=$1 rep=$2 run=$OUT/net-$1-$2 img=$IMGDIR/net-$1-$2 port t0 t1 t2 fr pause
	rm -rf "$run" "$img"; mkdir -p "$run"
	port=$(( 20000 + RANDOM % 20000 ))
	test/progs/tcp_echo 127.0.0.1 "$port" "$n" > "$run/server" 2>&1 < /dev/null &
	SPID=$!
	waitfor "$run/server" READY || { echo "net $n: server not ready: $(cat "$run/server")" >&2; return 1; }
	test/progs/tcp_stream 127.0.0.1 "$port" "$n" 16384 > "$run/client" 2>&1 < /dev/null &
	CPID=$!
	waitfor "$run/client" STREAMING || { echo "net $n: client: $(cat "$run/client")" >&2; return 1; }
	t0=$(now)
	"$CRIU" dump -t "$SPID" -D "$img" --tcp-established -v4 -o "$run/dump.log" ||
		{ echo "net $n: dump failed: $(grep -m1 error: "$run/dump.log")" >&2; return 1; }
	t1=$(now)
	wait "$SPID" 2>/dev/null	# killed by the dump
	"$CRIU" restore -D "$img" -d -v4 -o "$run/restore.log" ||
		{ echo "net $n: restore failed: $(grep -m1 error: "$run/restore.log")" >&2; return 1; }
	t2=$(now)
	sleep 2
	kill -TERM "$CPID"
	waitfor "$run/client" '^OK ' || { echo "net $n: client: $(tail -1 "$run/client")" >&2; return 1; }
	kill -USR1 "$SPID"
	waitfor "$run/server" '^PASS' || { echo "net $n: server: $(tail -1 "$run/server")" >&2; return 1; }
	kill -TERM "$CPID"
	SPID= CPID=
	fr=$(sed -n 's/.*stats:.* freeze_ms=\([0-9.]*\).*/\1/p' "$run/dump.log" | tail -1)
	pause=$(sed -n 's/^OK .*max_pause_ms=\([0-9.]*\).*/\1/p' "$run/client")
	echo "$(awk "BEGIN { print $t1 - $t0 }") ${fr:-n/a} $(awk "BEGIN { print $t2 - $t1 }") ${pause:-n/a}"
	rm -rf "$img"
}

fail=0
declare -A D F R P
for n in 1 "$NCONN"; do
	: > "$OUT/net-$n.txt"
	for rep in $(seq "$REPS"); do
		one "$n" "$rep" >> "$OUT/net-$n.txt" || { fail=1; cleanup; }
	done
	D[$n]=$(awk '{ print $1 }' "$OUT/net-$n.txt" | median)
	F[$n]=$(awk '{ print $2 }' "$OUT/net-$n.txt" | median)
	R[$n]=$(awk '{ print $3 }' "$OUT/net-$n.txt" | median)
	P[$n]=$(awk '{ print $4 }' "$OUT/net-$n.txt" | median)
done
per() { awk "BEGIN { if (\"$1\" == \"n/a\" || \"$2\" == \"n/a\") print \"n/a\"; else printf \"%.1f\", ($2 - $1) * 1e6 / ($NCONN - 1) }"; }
{
	echo "| connections | dump s | freeze ms | restore s | client pause ms |"
	echo "|---|---|---|---|---|"
	for n in 1 "$NCONN"; do
		echo "| $n | ${D[$n]} | ${F[$n]} | ${R[$n]} | ${P[$n]} |"
	done
	echo
	echo "per connection: dump $(per "${D[1]}" "${D[$NCONN]}") us, restore $(per "${R[1]}" "${R[$NCONN]}") us (medians of $REPS)"
} | tee "$OUT/net.md"
exit $fail
