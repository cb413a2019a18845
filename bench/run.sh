#!/bin/bash
# run.sh - dump/restore benchmark (`make bench`).
#
# Measures the machine's memory speeds with memrate, then for each size
# (BENCH_SIZES, MiB, default "256 1024 4096") and BENCH_REPS times (default
# 3): starts bench/workload with that much memory, times `criu dump`, times
# `criu restore -d`, signals the restored workload and checks that it found
# its memory intact.  Prints per-run lines and a table of medians, which is
# also written to bench/out/results.md.  Exits 1 if any run failed.  The
# logs of each run stay in bench/out/run-SIZE-REP/; the images are removed.
#
# Environment: BENCH_SIZES, BENCH_REPS, BENCH_TIMEOUT (seconds per criu
# command, default 600), BENCH_MEMRATE_MIB (default 1024), BENCH_CRIU (the
# criu binary, default criu/criu).
. "$(dirname "$0")/env.sh"
SIZES=${BENCH_SIZES:-256 1024 4096}
REPS=${BENCH_REPS:-3}
TMO=${BENCH_TIMEOUT:-600}
MEMRATE_MIB=${BENCH_MEMRATE_MIB:-1024}

for p in memrate workload; do
	gcc -O2 -Wall -Wextra -o "$OUT/$p" "bench/$p.c" || { echo "bench: cannot build bench/$p.c" >&2; exit 1; }
done

now() { date +%s.%N; }
# calc EXPR: awk arithmetic; "n/a" if any operand is n/a
calc() {
	case "$*" in *n/a*) echo n/a; return;; esac
	awk "BEGIN { printf \"%.${PREC:-3}f\n\", $* }"
}

WPID= RPID=
cleanup() {
	[ -n "$WPID" ] && kill -9 "$WPID" 2>/dev/null
	[ -n "$RPID" ] && kill -9 "$RPID" 2>/dev/null
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# a process has ended if it is gone or a zombie (a restored process is not
# our child; whoever reaps it may not)
ended() {
	local st
	st=$(awk '{ print $3 }' "/proc/$1/stat" 2>/dev/null) || return 0
	[ -z "$st" ] || [ "$st" = Z ]
}

# last error line of a criu log, for the failure report
why() {
	local l
	l=$(grep -m1 'error:' "$1" 2>/dev/null)
	[ -z "$l" ] && l=$(tail -n1 "$1" 2>/dev/null)
	echo "${l:-empty log}"
}

# Warm-up: on these VMs memory is slow the first time the guest touches it
# (the host backs it then).  Touch as much as the largest run will use,
# once, so that every run below measures the tool and not the host.
warm_mib=0
for s in $SIZES; do [ "$s" -gt "$warm_mib" ] && warm_mib=$s; done
warm_mib=$((warm_mib * 3))
avail_mib=$(awk '/MemAvailable/ {print int($2 / 1024)}' /proc/meminfo)
[ "$warm_mib" -gt $((avail_mib - 2048)) ] && warm_mib=$((avail_mib - 2048))
echo "== warm-up: touching $warm_mib MiB of memory once"
dd if=/dev/zero of="$IMGDIR/warm" bs=1M count="$warm_mib" status=none; rm -f "$IMGDIR/warm"

echo "== memrate ($MEMRATE_MIB MiB, filesystem of $IMGDIR)"
if ! "$OUT/memrate" "$MEMRATE_MIB" "$IMGDIR" > "$OUT/memrate.txt"; then
	echo "bench: memrate failed" >&2
	exit 1
fi
cat "$OUT/memrate.txt"
MEMCPY=$(sed -n 's/^memcpy_gbps=//p' "$OUT/memrate.txt")
PAGECACHE=$(sed -n 's/^pagecache_gbps=//p' "$OUT/memrate.txt")
FILL=$(sed -n 's/^anon_fill_gbps=//p' "$OUT/memrate.txt")

if [ ! -x "$CRIU" ]; then
	echo "bench: $CRIU is not built; only memrate was measured" >&2
	exit 1
fi

# one_rep MIB REP: prints "dump_s freeze_ms image_bytes restore_s" on
# success; on failure prints the reason to stderr and returns 1
one_rep() {
	local mib=$1 rep=$2 run="$OUT/run-$1-$2" t0 t1 t2 t3 rc i freeze bytes res
	# this runs in a $(...) subshell: kill what it started on any way out
	trap cleanup EXIT
	trap 'exit 130' INT TERM
	rm -rf "$run" "$IMGDIR/img-$mib-$rep" && mkdir -p "$run" "$IMGDIR/img-$mib-$rep" || return 1

	"$OUT/workload" "$mib" "$run/result" < /dev/null > "$run/workload.out" 2>&1 &
	WPID=$!
	for ((i = 0; i < 1200; i++)); do
		grep -q READY "$run/workload.out" 2>/dev/null && break
		kill -0 "$WPID" 2>/dev/null || break
		sleep 0.1
	done
	if ! grep -q READY "$run/workload.out"; then
		echo "workload did not start: $(tail -n1 "$run/workload.out")" >&2
		return 1
	fi

	# let the previous run's writeback finish: it would slow this one by
	# a factor of several on this machine's disk, and vary run to run
	sync
	t0=$(now)
	timeout "$TMO" "$CRIU" dump -t "$WPID" -D "$IMGDIR/img-$mib-$rep" -v4 -o "$run/dump.log"
	rc=$?
	t1=$(now)
	# dump leaves the process dead; make sure and reap it
	kill -9 "$WPID" 2>/dev/null
	wait "$WPID" 2>/dev/null
	WPID=
	if [ $rc -ne 0 ]; then
		[ $rc -eq 124 ] && echo "dump timed out after ${TMO}s" >&2 ||
			echo "dump failed (exit $rc): $(why "$run/dump.log")" >&2
		return 1
	fi
	freeze=$(grep 'stats:' "$run/dump.log" 2>/dev/null | grep -o 'freeze_ms=[0-9.]*' | tail -n1 | cut -d= -f2)
	bytes=$(du -sb "$IMGDIR/img-$mib-$rep" | cut -f1)

	t2=$(now)
	timeout "$TMO" "$CRIU" restore -D "$IMGDIR/img-$mib-$rep" -d --pidfile "$run/pid" -v4 -o "$run/restore.log"
	rc=$?
	t3=$(now)
	if [ $rc -ne 0 ]; then
		[ $rc -eq 124 ] && echo "restore timed out after ${TMO}s" >&2 ||
			echo "restore failed (exit $rc): $(why "$run/restore.log")" >&2
		return 1
	fi
	RPID=$(cat "$run/pid" 2>/dev/null)
	if [ -z "$RPID" ] || ! kill -USR1 "$RPID" 2>/dev/null; then
		echo "restore: no live process behind pidfile ($RPID)" >&2
		RPID=
		return 1
	fi
	for ((i = 0; i < TMO * 10; i++)); do
		ended "$RPID" && break
		sleep 0.1
	done
	if ! ended "$RPID"; then
		echo "restored workload did not exit after SIGUSR1" >&2
		return 1
	fi
	RPID=
	res=$(cat "$run/result" 2>/dev/null)
	case "$res" in
	PASS*) ;;
	*) echo "verification failed: ${res:-no verdict written}" >&2; return 1;;
	esac
	echo "$(calc "$t1 - $t0") ${freeze:-n/a} $bytes $(calc "$t3 - $t2")"
}

avail_kb=$(awk '/^MemAvailable:/ { print $2 }' /proc/meminfo)
FAILED=0
ROWS=()
NOTES=()
for mib in $SIZES; do
	if [ $((mib * 3 * 1024)) -gt "$avail_kb" ]; then
		NOTES+=("$mib MiB skipped: needs 3x its size free, $((avail_kb / 1024)) MiB available")
		echo "== $mib MiB: skipped (available memory $((avail_kb / 1024)) MiB < 3 x $mib MiB)"
		continue
	fi
	echo "== $mib MiB, $REPS runs"
	: > "$OUT/samples-$mib"
	ok=0
	for ((rep = 1; rep <= REPS; rep++)); do
		line=$(one_rep "$mib" "$rep" 2> "$OUT/err")
		rc=$?
		# images can be GiBs: keep only the logs of each run
		rm -rf "$IMGDIR/img-$mib-$rep"
		if [ $rc -eq 0 ]; then
			read -r d f b r <<< "$line"
			echo "  run $rep: dump ${d}s (freeze ${f} ms), image $b bytes, restore ${r}s, verified"
			echo "$line" >> "$OUT/samples-$mib"
			ok=$((ok + 1))
		else
			echo "  run $rep: FAILED: $(cat "$OUT/err")"
			FAILED=$((FAILED + 1))
		fi
	done
	d=$(cut -d' ' -f1 "$OUT/samples-$mib" | median)
	f=$(cut -d' ' -f2 "$OUT/samples-$mib" | grep -v n/a | median)
	b=$(cut -d' ' -f3 "$OUT/samples-$mib" | median)
	r=$(cut -d' ' -f4 "$OUT/samples-$mib" | median)
	gb=$(calc "$mib * 1048576 / 1e9")
	dr=$(calc "$gb / $d")
	rr=$(calc "$gb / $r")
	ROWS+=("| $mib | $ok/$REPS | $d | $f | $(PREC=1 calc "$b / 1048576") | $r | $dr | $rr \
| $(calc "$dr / $PAGECACHE") | $(calc "$rr / $FILL") | $(calc "$d * 1024 / $mib") | $(calc "$r * 1024 / $mib") |")
done

{
	echo "# criu dump/restore benchmark"
	echo
	echo "$(date -u '+%Y-%m-%d %H:%M UTC'), kernel $(uname -r), $(nproc) CPUs, $REPS runs per size, medians."
	echo
	echo "Machine memory speeds (memrate, $MEMRATE_MIB MiB, median of 5): memcpy $MEMCPY GB/s,"
	echo "page-cache write $PAGECACHE GB/s, fresh anonymous fill $FILL GB/s."
	echo
	echo "| size MiB | ok | dump s | freeze ms | image MiB | restore s | dump GB/s | restore GB/s | dump / page-cache | restore / anon fill | dump s/GiB | restore s/GiB |"
	echo "|---|---|---|---|---|---|---|---|---|---|---|---|"
	for row in "${ROWS[@]}"; do echo "$row"; done
	echo
	echo "GB/s counts the workload's memory (10^9 bytes/s); image MiB is du of the images"
	echo "directory.  Linearity: dump and restore grow linearly with memory if s/GiB is"
	echo "the same for every size; a smaller s/GiB at small sizes means fixed costs show."
	for n in "${NOTES[@]}"; do echo; echo "Note: $n."; done
	[ $FAILED -ne 0 ] && { echo; echo "$FAILED run(s) failed; see above or bench/out/run-*/ for logs."; }
} > "$OUT/results.md"
echo
cat "$OUT/results.md"
[ $FAILED -eq 0 ]
