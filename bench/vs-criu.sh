#!/bin/bash
# vs-criu.sh - ours side by side with upstream CRIU in the same run
# (`make bench`; issue 16's ratios).
#
# UPSTREAM_CRIU is the upstream binary (default /usr/sbin/criu).  It must
# pass its own `criu check` here; if it does not (Debian 12's 3.17.1 stops
# in kernel feature detection on 6.18: "Unexpected rt vDSO area bounds"),
# the bench says why and measures nothing: ours alone is in run.sh/lazy.sh.
#
# First the machine's limits, in the same run: memcpy, page-cache write and
# fresh anonymous fill (bench/memrate, BENCH_MEMRATE_MIB, default 1024 MiB,
# on the images' filesystem) and the raw UFFDIO_COPY rate (bench/uffdcopy).
# Then for each size in BENCH_VS_SIZES (MiB, default "256 1024 4096"; a size
# needing more than the free memory is skipped with the reason) and
# BENCH_REPS runs (default 3), the two tools alternating (odd runs ours
# first, even runs upstream first), each tool:
#   1. starts bench/workload (in a session of its own: upstream refuses a
#      session led from outside the tree), `sync`, times `criu dump`;
#   2. times `criu restore -d` of those images, signals the program, which
#      checks every word and writes its verdict;
#   3. times a lazy restore of the same images (ours: `criu restore -d
#      --lazy-pages`, which starts the daemon; upstream: `criu lazy-pages`
#      started first, inside the timed window, then `criu restore -d
#      --lazy-pages`), signals the program as soon as restore returns: it
#      checks every word while the pages arrive.  Reported from the start:
#      running (restore returned), the verdict written, all pages in (ours:
#      the daemon's stats line; upstream: its daemon exits).
# Memory the guest freed is touched again before each timed step
# (uffdcopy MIB warm): on these VMs it costs a host fault per page otherwise.
# Both tools log at -v4 into the run's folder.  Prints per-run lines and,
# per size, medians, ranges and ours / upstream of the medians; appends the
# tables to bench/out/results.md.  Images in $IMGDIR (tmpfs by default;
# BENCH_IMAGES_DIR=DIR for a disk).
. "$(dirname "$0")/env.sh"
REPS=${BENCH_REPS:-3}
SIZES=${BENCH_VS_SIZES:-256 1024 4096}
MEMRATE_MIB=${BENCH_MEMRATE_MIB:-1024}
UP=${UPSTREAM_CRIU:-/usr/sbin/criu}

UPWHY=
if [ ! -x "$UP" ]; then
	UPWHY="no upstream CRIU at $UP (UPSTREAM_CRIU=path)"
elif ! "$UP" check > "$OUT/upstream-check.txt" 2>&1 || grep -q '^Error' "$OUT/upstream-check.txt"; then
	UPWHY="$UP fails its own check here: $(grep -m1 '^Error' "$OUT/upstream-check.txt")"
fi
if [ -n "$UPWHY" ]; then
	echo "vs-criu: skipped: $UPWHY"
	{ echo; echo "## Against upstream CRIU"; echo; echo "Skipped: $UPWHY."; } >> "$OUT/results.md"
	exit 0
fi
UPVER=$("$UP" --version | awk '/Version/ { print $2 }')
for p in workload memrate uffdcopy; do
	gcc -O2 -Wall -Wextra -o "$OUT/$p" "bench/$p.c" -lpthread || exit 1
done

now() { date +%s.%N; }
load() { cut -d' ' -f1-3 /proc/loadavg; }
WPID= DPID=
cleanup() {
	[ -n "$WPID" ] && kill -9 "$WPID" 2>/dev/null
	[ -n "$DPID" ] && kill -9 "$DPID" 2>/dev/null
	rm -rf "$IMGDIR/vs-ours" "$IMGDIR/vs-up"
}
trap cleanup EXIT
trap 'exit 130' INT TERM
fail() { echo "vs-criu: $*" >&2; exit 1; }
# waits for the program's verdict (file $1), prints it
verdict() {
	for _ in $(seq 12000); do [ -s "$1" ] && break; sleep 0.005; done
	cat "$1" 2>/dev/null
}
gone() { for _ in $(seq 3000); do [ -e "/proc/$1" ] || return 0; sleep 0.01; done; fail "pid $1 still there"; }
warm() { "$OUT/uffdcopy" "$1" warm; }
dt() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.3f", b - a }'; }

echo "== machine limits (load $(load))"
"$OUT/memrate" "$MEMRATE_MIB" "$IMGDIR" > "$OUT/vs-memrate.txt" || fail "memrate failed"
"$OUT/uffdcopy" "$MEMRATE_MIB" > "$OUT/vs-uffdcopy.txt" || fail "uffdcopy failed"
MEMCPY=$(sed -n 's/^memcpy_gbps=//p' "$OUT/vs-memrate.txt")
PCACHE=$(sed -n 's/^pagecache_gbps=//p' "$OUT/vs-memrate.txt")
FILL=$(sed -n 's/^anon_fill_gbps=//p' "$OUT/vs-memrate.txt")
UCOPY=$(grep -o 'copy_gbs=[0-9.]*' "$OUT/vs-uffdcopy.txt" | cut -d= -f2)
LIMITS="memcpy $MEMCPY GB/s, page-cache write $PCACHE GB/s, fresh anonymous fill $FILL GB/s, UFFDIO_COPY $UCOPY GB/s ($MEMRATE_MIB MiB)"
echo "$LIMITS"

# one TOOL CRIU MIB REP: dump, full restore and lazy restore of bench/workload
# by one tool; prints "dump restore running verdict allin" (s)
one() {
	# in a $(...) subshell: kill what it started on any way out
	trap cleanup EXIT
	trap 'exit 130' INT TERM
	local tool=$1 c=$2 mib=$3 rep=$4 img=$IMGDIR/vs-$1 run=$OUT/vs-$3/$1-$4 p osz t0 t1 t2 t3 t4 t5 t6 t7 v
	rm -rf "$img" "$run"; mkdir -p "$img" "$run"
	setsid "$OUT/workload" "$mib" "$run/result" < /dev/null > "$run/prog.out" 2>&1 &
	for _ in $(seq 1200); do grep -q READY "$run/prog.out" 2>/dev/null && break; sleep 0.05; done
	p=$(pgrep -n -f "^$OUT/workload $mib $run/result") || fail "$tool: workload did not start"
	WPID=$p
	osz=$(stat -c %s "$run/prog.out")
	warm "$mib"; sync
	t0=$(now)
	"$c" dump -t "$p" -D "$img" -o "$run/dump.log" -v4 || fail "$tool dump failed ($run/dump.log)"
	t1=$(now)
	gone "$p"; WPID=

	warm "$mib"
	t2=$(now)
	"$c" restore -D "$img" -d -o "$run/restore.log" -v4 || fail "$tool restore failed ($run/restore.log)"
	t3=$(now)
	WPID=$p
	kill -USR1 "$p"
	v=$(verdict "$run/result")
	case "$v" in PASS*) ;; *) fail "$tool restore: ${v:-no verdict} ($run)";; esac
	gone "$p"; WPID=
	rm -f "$run/result"
	# the program's stdout as it was at dump: the check appended to it, and
	# upstream refuses a regular file whose size changed
	truncate -s "$osz" "$run/prog.out"

	warm "$mib"
	t4=$(now)
	if [ "$tool" = ours ]; then
		rm -f "$img/lazy-pages.log"
		"$c" restore -D "$img" -d --lazy-pages -o "$run/lazy.log" -v4 ||
			{ cp "$img/lazy-pages.log" "$run/"; fail "ours lazy restore failed ($run/lazy.log)"; }
	else
		"$c" lazy-pages -D "$img" -o "$run/lazy-pages.log" -v4 &
		DPID=$!
		for _ in $(seq 2000); do [ -S "$img/lazy-pages.socket" ] && break; sleep 0.001; done
		"$c" restore -D "$img" -d --lazy-pages -o "$run/lazy.log" -v4 || fail "upstream lazy restore failed ($run/lazy.log)"
	fi
	t5=$(now)
	WPID=$p
	kill -USR1 "$p"
	v=$(verdict "$run/result"); t6=$(now)
	case "$v" in PASS*) ;; *) cp "$img/lazy-pages.log" "$run/" 2>/dev/null; fail "$tool lazy restore: ${v:-no verdict} ($run)";; esac
	if [ "$tool" = ours ]; then
		for _ in $(seq 30000); do grep -q 'stats:' "$img/lazy-pages.log" 2>/dev/null && break; sleep 0.001; done
		t7=$(now)
		cp "$img/lazy-pages.log" "$run/"
	else
		wait "$DPID" || fail "upstream lazy-pages daemon failed ($run/lazy-pages.log)"
		t7=$(now); DPID=
	fi
	gone "$p"; WPID=
	echo "$(dt "$t0" "$t1") $(dt "$t2" "$t3") $(dt "$t4" "$t5") $(dt "$t4" "$t6") $(dt "$t4" "$t7")"
}

# col COL FILE: "median (min-max)" of column COL
col() {
	local m lo hi
	m=$(cut -d' ' -f"$1" "$2" | median | xargs printf '%.3f')
	lo=$(cut -d' ' -f"$1" "$2" | sort -g | head -1)
	hi=$(cut -d' ' -f"$1" "$2" | sort -g | tail -1)
	echo "$m ($lo-$hi)"
}
ratio() {
	awk -v a="$(cut -d' ' -f"$1" "$2" | median)" -v b="$(cut -d' ' -f"$1" "$3" | median)" \
		'BEGIN { printf "%.2f", a / b }'
}

TABLE="$OUT/vs-table.md"
{
	echo "$(date -u '+%Y-%m-%d %H:%M UTC'), kernel $(uname -r), $(nproc) CPUs, images in $IMGDIR,"
	echo "upstream CRIU $UPVER ($UP), $REPS runs per size alternating, medians (min-max) in s."
	echo "Machine limits in the same run: $LIMITS."
	echo
	echo "| MiB | step | ours | CRIU $UPVER | ours / CRIU | target |"
	echo "|---|---|---|---|---|---|"
} > "$TABLE"
avail_mib=$(awk '/MemAvailable/ { print int($2 / 1024) }' /proc/meminfo)
for mib in $SIZES; do
	# the program, its images on tmpfs, warm-up and a restored copy
	if [ $((mib * 3 + 2048)) -gt "$avail_mib" ]; then
		echo "== $mib MiB skipped: needs $((mib * 3 + 2048)) MiB free, $avail_mib available" | tee -a "$TABLE"
		continue
	fi
	mkdir -p "$OUT/vs-$mib"
	: > "$OUT/vs-$mib/ours"; : > "$OUT/vs-$mib/up"
	l0=$(load)
	echo "== $mib MiB, $REPS runs (load $l0): dump restore running verdict all-in, s"
	for rep in $(seq "$REPS"); do
		order="ours up"; [ $((rep % 2)) = 0 ] && order="up ours"
		for tool in $order; do
			c=$CRIU; [ "$tool" = up ] && c=$UP
			line=$(one "$tool" "$c" "$mib" "$rep") || exit 1
			echo "  run $rep $tool: $line"
			echo "$line" >> "$OUT/vs-$mib/$tool"
		done
	done
	o=$OUT/vs-$mib/ours u=$OUT/vs-$mib/up
	{
	echo "| $mib | dump | $(col 1 "$o") | $(col 1 "$u") | $(ratio 1 "$o" "$u") | 0.67 at 1 GiB |"
	echo "| $mib | restore | $(col 2 "$o") | $(col 2 "$u") | $(ratio 2 "$o" "$u") | |"
	echo "| $mib | lazy: running | $(col 3 "$o") | $(col 3 "$u") | $(ratio 3 "$o" "$u") | 10 ms flat |"
	echo "| $mib | lazy: verdict | $(col 4 "$o") | $(col 4 "$u") | $(ratio 4 "$o" "$u") | |"
	echo "| $mib | lazy: all pages in | $(col 5 "$o") | $(col 5 "$u") | $(ratio 5 "$o" "$u") | 0.7 |"
	} >> "$TABLE"
	echo "   load $l0 -> $(load)" >> "$OUT/vs-$mib/load"
done
{
	echo
	echo "Load average (1, 5, 15 min) at the start and end of each size:"
	for mib in $SIZES; do [ -f "$OUT/vs-$mib/load" ] && echo "$mib MiB: $(cat "$OUT/vs-$mib/load")"; done
	rm -f "$OUT"/vs-*/load
} >> "$TABLE"
echo
cat "$TABLE"
{ echo; echo "## Against upstream CRIU (bench/vs-criu.sh)"; echo; cat "$TABLE"; } >> "$OUT/results.md"
