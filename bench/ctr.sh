#!/bin/bash
# ctr.sh - containers through the RPC (part of `make bench`): runc 1.1.5
# checkpoint and restore of a busybox container whose program
# (test/rpc/ctr-counter) holds BENCH_CTR_MIB MiB (default 1024), against
# `criu dump` / `criu restore -d` of the same program as a plain process;
# and a pre-dumped migration: `runc checkpoint --pre-dump`, then
# `runc checkpoint --parent-path` (the downtime: the container is frozen
# for that command), then `runc restore`.  BENCH_REPS runs (default 3),
# medians in ms into bench/out/ctr.md.  Images in IMGDIR (tmpfs).  The
# program checks its memory after each restore (a FAIL line fails the run).
# Needs runc and a criu that serves mount namespaces (issue 12); says why
# and exits 0 where it cannot run.
. "$(dirname "$0")/env.sh"
MIB=${BENCH_CTR_MIB:-1024}
REPS=${BENCH_REPS:-3}
W=$OUT/ctr
STATE=$W/state
RES=$OUT/ctr.md

command -v runc > /dev/null || { echo "bench/ctr.sh: no runc: skipped"; exit 0; }
make -s test/rpc/ctr-counter || exit 1
. "$ROOT/test/rpc-ctr.sh"	# the rootfs, bundle and relay helpers

ID= PPID_PLAIN=
cleanup() {
	[ -n "$ID" ] && { runc --root "$STATE" kill "$ID" KILL; sleep 0.3; runc --root "$STATE" delete -f "$ID"; } > /dev/null 2>&1
	[ -n "$PPID_PLAIN" ] && kill -9 "$PPID_PLAIN" 2>/dev/null
	rm -rf "$IMGDIR/ctr"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

now() { date +%s%N; }
# CMD with no fd but stdio (an fd inherited from the caller would be a file
# outside the dumped process)
clean_fds() {
	local fd
	for fd in $(ls /proc/$BASHPID/fd); do
		[ "$fd" -gt 2 ] && eval "exec $fd>&-" 2>/dev/null
	done
	exec "$@"
}
# waits until FILE shows a count line after MARK lines (the program runs, checked)
counting_after() {
	local f=$1 mark=$2
	for _ in $(seq 200); do
		[ "$(grep -c '^count ' "$f")" -gt "$mark" ] && ! grep -q '^FAIL' "$f" && return 0
		grep -q '^FAIL' "$f" && return 1
		sleep 0.1
	done
	return 1
}

rm -rf "$W"; mkdir -p "$W"
ctr_runc_bundle "$W/bundle" "$MIB" > /dev/null || { echo "bench/ctr.sh: cannot make the bundle" >&2; exit 1; }
ctr_relay "$W"
: > "$W/plain" ; : > "$W/runc" ; : > "$W/pre"

for rep in $(seq "$REPS"); do
	# the plain process
	rm -rf "$IMGDIR/ctr"; mkdir -p "$IMGDIR/ctr"
	(clean_fds "$ROOT/test/rpc/ctr-counter" "$MIB") > "$W/plain.out" 2>&1 < /dev/null &
	PPID_PLAIN=$!
	counting_after "$W/plain.out" 0 || { echo "bench/ctr.sh: the plain program did not run" >&2; exit 1; }
	t0=$(now); "$CRIU" dump -t "$PPID_PLAIN" -D "$IMGDIR/ctr" -o "$W/plain-dump.log" || exit 1; t1=$(now)
	wait "$PPID_PLAIN" 2>/dev/null
	m=$(grep -c '^count ' "$W/plain.out")
	t2=$(now); "$CRIU" restore -d -D "$IMGDIR/ctr" -o "$W/plain-restore.log" --pidfile "$W/pid" >> "$W/plain.out" 2>&1 || exit 1; t3=$(now)
	PPID_PLAIN=$(cat "$W/pid")
	counting_after "$W/plain.out" "$m" || { echo "bench/ctr.sh: the restored plain program fails: $(grep -m1 FAIL "$W/plain.out")" >&2; exit 1; }
	kill -9 "$PPID_PLAIN"; PPID_PLAIN=
	echo "$(ms "$t0" "$t1") $(ms "$t2" "$t3")" >> "$W/plain"

	# the container: checkpoint, restore
	for mode in runc pre; do
		ID=bench-ctr-$$-$rep-$mode
		: > "$W/ctr.out"
		rm -rf "$IMGDIR/ctr" "$W/work"; mkdir -p "$IMGDIR/ctr/img" "$IMGDIR/ctr/pre" "$W/work"
		runc --root "$STATE" run -d --bundle "$W/bundle" "$ID" > >(cat >> "$W/ctr.out") 2> /dev/null < /dev/null || exit 1
		counting_after "$W/ctr.out" 0 || { echo "bench/ctr.sh: the container did not run" >&2; exit 1; }
		tp=0
		if [ "$mode" = pre ]; then
			a=$(now)
			runc --root "$STATE" --criu "$W/bin/criu" checkpoint --pre-dump --image-path "$IMGDIR/ctr/pre" \
				--work-path "$W/work" "$ID" || { echo "bench/ctr.sh: pre-dump failed" >&2; exit 1; }
			tp=$(ms "$a" "$(now)")
			sleep 1
		fi
		extra=(); [ "$mode" = pre ] && extra=(--parent-path ../pre)
		t0=$(now)
		runc --root "$STATE" --criu "$W/bin/criu" checkpoint --image-path "$IMGDIR/ctr/img" --work-path "$W/work" \
			"${extra[@]}" "$ID" || { echo "bench/ctr.sh: checkpoint failed: $(grep -m1 error "$W/work/dump.log")" >&2; exit 1; }
		t1=$(now)
		m=$(grep -c '^count ' "$W/ctr.out")
		t2=$(now)
		runc --root "$STATE" --criu "$W/bin/criu" restore -d --image-path "$IMGDIR/ctr/img" --work-path "$W/work" \
			--bundle "$W/bundle" "$ID" > >(cat >> "$W/ctr.out") 2> /dev/null < /dev/null ||
			{ echo "bench/ctr.sh: restore failed: $(grep -m1 error "$W/work/restore.log")" >&2; exit 1; }
		t3=$(now)
		counting_after "$W/ctr.out" "$m" || { echo "bench/ctr.sh: the restored container fails" >&2; exit 1; }
		echo "$(ms "$t0" "$t1") $(ms "$t2" "$t3") $tp" >> "$W/$mode"
		runc --root "$STATE" kill "$ID" KILL > /dev/null 2>&1; sleep 0.3
		runc --root "$STATE" delete -f "$ID" > /dev/null 2>&1; ID=
	done
	echo "rep $rep: plain $(tail -1 "$W/plain"), runc $(tail -1 "$W/runc"), pre-dumped $(tail -1 "$W/pre") (ms: dump restore [pre-dump])"
done

col() { awk -v c="$2" '{ print $c }' "$1" | median; }
{
	echo "## Containers through the RPC: $MIB MiB, medians of $REPS (ms)"
	echo
	echo "| | checkpoint (frozen) | restore | pre-dump |"
	echo "|---|---|---|---|"
	echo "| plain process, criu dump / restore -d | $(col "$W/plain" 1) | $(col "$W/plain" 2) | |"
	echo "| runc container, runc checkpoint / restore | $(col "$W/runc" 1) | $(col "$W/runc" 2) | |"
	echo "| runc, --pre-dump then checkpoint --parent-path | $(col "$W/pre" 1) | $(col "$W/pre" 2) | $(col "$W/pre" 3) |"
} | tee "$RES"
