#!/bin/bash
# podman.sh - podman 4.3.1 (--runtime runc) through this criu (part of
# `make bench`): a busybox container whose program (test/rpc/ctr-counter)
# holds BENCH_CTR_MIB MiB (default 1024), against the same program as a
# plain process (criu dump / restore -d).  For each, BENCH_REPS runs
# (default 3), medians in ms into bench/out/podman.md:
#   - checkpoint and restore in place (plain: dump, restore -d);
#   - a pre-checkpointed migration: podman checkpoint --pre-checkpoint
#     --export PRE (the container runs on), then the downtime: checkpoint
#     --with-previous --export CK, podman rm, restore --import-previous PRE
#     --import CK, until the program counts again (plain: pre-dump
#     --track-mem, then dump --prev-images-dir and restore -d);
#   - the same migration without the pre-checkpoint (--export, rm,
#     --import).
# In parentheses: criu's own part (--print-stats: frozen_time of the
# checkpoint, restore_time of the restore).
# A restore is timed until its command returns (the tree runs); then the
# program must count on, its memory checked (a FAIL line fails the run).  Plain images in IMGDIR (tmpfs); podman keeps its own under
# /var/lib/containers and the archives go to IMGDIR.  Says why and exits 0
# where podman is missing.
. "$(dirname "$0")/env.sh"
MIB=${BENCH_CTR_MIB:-1024}
REPS=${BENCH_REPS:-3}
W=$OUT/podman
RES=$OUT/podman.md
NAME=bench-podman-$$

command -v podman > /dev/null || { echo "bench/podman.sh: no podman: skipped"; exit 0; }
make -s test/rpc/ctr-counter test/rpc/ctr-tcp-echo || exit 1
. "$ROOT/test/rpc-ctr.sh"	# the rootfs, image and relay helpers

PPLAIN=
cleanup() {
	podman rm -f -t 0 "$NAME" > /dev/null 2>&1
	[ -n "$CTR_PODMAN_IMAGE" ] && podman rmi -f "$CTR_PODMAN_IMAGE" > /dev/null 2>&1
	[ -n "$PPLAIN" ] && kill -9 "$PPLAIN" 2>/dev/null
	rm -rf "$IMGDIR/podman"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

now() { date +%s%N; }
# CMD with no fd but stdio
clean_fds() {
	local fd
	for fd in $(ls /proc/$BASHPID/fd); do
		[ "$fd" -gt 2 ] && eval "exec $fd>&-" 2>/dev/null
	done
	exec "$@"
}
# FILE (or the container's logs with -p NAME) shows a count line after MARK lines, no FAIL
counts() {
	if [ "$1" = -p ]; then podman logs "$2" 2>/dev/null; else cat "$1"; fi
}
counting_after() {
	local mark=${*: -1} src=("${@:1:$#-1}") out
	for _ in $(seq 300); do
		out=$(counts "${src[@]}")
		grep -q '^FAIL' <<< "$out" && return 1
		[ "$(grep -c '^count ' <<< "$out")" -gt "$mark" ] && return 0
		sleep 0.05
	done
	return 1
}
# (the container's criu logs, kept before the cleanup removes it)
die() {
	local d
	d=$(podman inspect -f '{{.StaticDir}}' "$NAME" 2>/dev/null)
	[ -n "$d" ] && cp "$d"/*.log "$W/" 2>/dev/null
	echo "bench/podman.sh: $* $(cat "$W"/restore.log "$W"/dump.log 2>/dev/null | grep -m1 'error:')" >&2
	exit 1
}
P() { PATH=$W/bin:$PATH podman --runtime runc "$@"; }
# criu's own figure FIELD (microseconds) of a podman --print-stats output, in ms
stat_ms() { echo $(( $(ctr_podman_stat "$1" "$2" || echo 0) / 1000 )); }

rm -rf "$W"; mkdir -p "$W"
# podman (and the runc it runs) find this criu first in PATH, nothing between
mkdir -p "$W/bin" && ln -sf "$CRIU" "$W/bin/criu"
ctr_podman_image "$W" || die "podman import failed"
: > "$W/plain" ; : > "$W/inplace" ; : > "$W/pre" ; : > "$W/export"

podman_start() {
	podman rm -f -t 0 "$NAME" > /dev/null 2>&1
	"${PODMAN[@]}" run -d --name "$NAME" "${PODMAN_RUN[@]}" "$CTR_PODMAN_IMAGE" /bin/ctr-counter "$MIB" > /dev/null 2>&1 ||
		die "podman run failed"
	counting_after -p "$NAME" 0 || die "the container did not run"
}

for rep in $(seq "$REPS"); do
	# the plain process: dump, restore; then pre-dump, dump on it, restore
	rm -rf "$IMGDIR/podman"; mkdir -p "$IMGDIR/podman"
	(clean_fds "$ROOT/test/rpc/ctr-counter" "$MIB") > "$W/plain.out" 2>&1 < /dev/null &
	PPLAIN=$!
	counting_after "$W/plain.out" 0 || die "the plain program did not run"
	t0=$(now); "$CRIU" dump -t "$PPLAIN" -D "$IMGDIR/podman/a" -o "$W/plain-dump.log" || die "plain dump"; t1=$(now)
	wait "$PPLAIN" 2>/dev/null
	m=$(grep -c '^count ' "$W/plain.out")
	t2=$(now); "$CRIU" restore -d -D "$IMGDIR/podman/a" -o "$W/plain-restore.log" --pidfile "$W/pid" >> "$W/plain.out" 2>&1 || die "plain restore"
	t3=$(now); PPLAIN=$(cat "$W/pid")
	counting_after "$W/plain.out" "$m" || die "the restored plain program fails"
	kill -9 "$PPLAIN"
	# a new one for the pre-dumped cycle (our child: its pid is free once waited for)
	(clean_fds "$ROOT/test/rpc/ctr-counter" "$MIB") > "$W/plain.out" 2>&1 < /dev/null &
	PPLAIN=$!
	counting_after "$W/plain.out" 0 || die "the plain program did not run (2)"
	a=$(now); "$CRIU" pre-dump -t "$PPLAIN" -D "$IMGDIR/podman/p1" --track-mem -o "$W/plain-pre.log" || die "plain pre-dump"; tp=$(ms "$a" "$(now)")
	sleep 1
	m=$(grep -c '^count ' "$W/plain.out")
	t4=$(now)
	"$CRIU" dump -t "$PPLAIN" -D "$IMGDIR/podman/p2" --prev-images-dir ../p1 --track-mem -o "$W/plain-dump2.log" || die "plain dump on the pre-dump"
	wait "$PPLAIN" 2>/dev/null
	"$CRIU" restore -d -D "$IMGDIR/podman/p2" -o "$W/plain-restore2.log" --pidfile "$W/pid" >> "$W/plain.out" 2>&1 || die "plain restore 2"
	t5=$(now); PPLAIN=$(cat "$W/pid")
	counting_after "$W/plain.out" "$m" || die "the restored plain program fails (2)"
	kill -9 "$PPLAIN"; PPLAIN=
	echo "$(ms "$t0" "$t1") $(ms "$t2" "$t3") $tp $(ms "$t4" "$t5")" >> "$W/plain"

	# podman in place
	podman_start
	t0=$(now); P container checkpoint --print-stats "$NAME" > "$W/ck.out" 2>&1 || die "checkpoint: $(tail -1 "$W/ck.out")"; t1=$(now)
	m=$(podman logs "$NAME" 2>/dev/null | grep -c '^count ')
	t2=$(now); P container restore --print-stats "$NAME" > "$W/rs.out" 2>&1 || die "restore: $(tail -1 "$W/rs.out")"
	t3=$(now); counting_after -p "$NAME" "$m" || die "the restored container fails"
	echo "$(ms "$t0" "$t1") $(ms "$t2" "$t3") $(stat_ms "$W/ck.out" frozen_time) $(stat_ms "$W/rs.out" restore_time)" >> "$W/inplace"

	# pre-checkpointed migration (exported archives)
	rm -rf "$IMGDIR/podman"; mkdir -p "$IMGDIR/podman"
	podman_start
	a=$(now); P container checkpoint --pre-checkpoint --export="$IMGDIR/podman/pre.tar" "$NAME" > "$W/pre.out" 2>&1 ||
		die "pre-checkpoint: $(tail -1 "$W/pre.out")"; tp=$(ms "$a" "$(now)")
	sleep 1
	m=$(podman logs "$NAME" 2>/dev/null | grep -c '^count ')
	t0=$(now)
	P container checkpoint --print-stats --with-previous --export="$IMGDIR/podman/ck.tar" "$NAME" > "$W/ck.out" 2>&1 ||
		die "checkpoint --with-previous: $(tail -1 "$W/ck.out")"
	t1=$(now)
	podman rm -f "$NAME" > /dev/null 2>&1
	P container restore --print-stats --import-previous="$IMGDIR/podman/pre.tar" --import="$IMGDIR/podman/ck.tar" > "$W/rs.out" 2>&1 ||
		die "restore --import-previous: $(tail -1 "$W/rs.out")"
	t2=$(now); counting_after -p "$NAME" "$m" || die "the migrated container fails"
	echo "$(ms "$t0" "$t1") $(ms "$t1" "$t2") $tp $(ms "$t0" "$t2") $(stat_ms "$W/ck.out" frozen_time) $(stat_ms "$W/rs.out" restore_time)" >> "$W/pre"

	# the same without the pre-checkpoint
	rm -rf "$IMGDIR/podman"; mkdir -p "$IMGDIR/podman"
	m=$(podman logs "$NAME" 2>/dev/null | grep -c '^count ')
	t0=$(now)
	P container checkpoint --export="$IMGDIR/podman/ck.tar" "$NAME" > "$W/ck.out" 2>&1 || die "checkpoint --export: $(tail -1 "$W/ck.out")"
	t1=$(now)
	podman rm -f "$NAME" > /dev/null 2>&1
	P container restore --import="$IMGDIR/podman/ck.tar" > "$W/rs.out" 2>&1 || die "restore --import: $(tail -1 "$W/rs.out")"
	t2=$(now); counting_after -p "$NAME" "$m" || die "the imported container fails"
	echo "$(ms "$t0" "$t1") $(ms "$t1" "$t2") $(ms "$t0" "$t2")" >> "$W/export"
	podman rm -f -t 0 "$NAME" > /dev/null 2>&1
	echo "rep $rep: plain $(tail -1 "$W/plain"), in place $(tail -1 "$W/inplace"), pre-checkpointed $(tail -1 "$W/pre"), exported $(tail -1 "$W/export")"
done

col() { awk -v c="$2" '{ print $c }' "$1" | median; }
{
	echo "## podman through the RPC: $MIB MiB, medians of $REPS (ms)"
	echo
	echo "| | checkpoint (criu frozen) | restore (criu's part) | pre-dump | downtime |"
	echo "|---|---|---|---|---|"
	echo "| plain process, criu dump / restore -d | $(col "$W/plain" 1) | $(col "$W/plain" 2) | | |"
	echo "| plain, pre-dump, dump --prev-images-dir, restore | | | $(col "$W/plain" 3) | $(col "$W/plain" 4) |"
	echo "| podman checkpoint / restore, in place | $(col "$W/inplace" 1) ($(col "$W/inplace" 3)) | $(col "$W/inplace" 2) ($(col "$W/inplace" 4)) | | |"
	echo "| podman --pre-checkpoint --export, --with-previous --export, rm, restore --import-previous --import | $(col "$W/pre" 1) ($(col "$W/pre" 5)) | $(col "$W/pre" 2) ($(col "$W/pre" 6)) | $(col "$W/pre" 3) | $(col "$W/pre" 4) |"
	echo "| podman checkpoint --export, rm, restore --import | $(col "$W/export" 1) | $(col "$W/export" 2) | | $(col "$W/export" 3) |"
} | tee "$RES"
