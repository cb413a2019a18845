#!/bin/bash
# demo.sh - checkpoint a running program, restore it, watch it carry on.
#
#   make && bash scripts/demo.sh        (or: make demo)
#
# The workload (test/progs/demo_workload) keeps a 32 MiB buffer and its
# checksum, and prints "tick N pid P checksum X ok" every 0.5 s to a log.
# The demo dumps it (which ends it), shows the images, restores it lazily
# (--lazy-pages: it runs at once, its pages arrive on fault and in the
# background) with the same pid, and shows its log going on from the tick it
# had reached and the lazy-pages daemon's summary.  KEEP=1 keeps the work
# directory.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
CRIU=${CRIU:-$ROOT/criu/criu}
WORKLOAD=$ROOT/test/progs/demo_workload

if [ ! -x "$CRIU" ] || [ ! -x "$WORKLOAD" ]; then
	echo "demo: ${CRIU#$ROOT/} or ${WORKLOAD#$ROOT/} is missing: run make first" >&2
	exit 1
fi

WORK=$(mktemp -d /tmp/ckpt-demo-XXXXXX)
LOG=$WORK/workload.log
IMG=$WORK/images
PID=

step() { printf '\n\033[1m==> %s\033[0m\n' "$*"; }
info() { printf '    %s\n' "$*"; }
show_log() { tail -n "${1:-3}" "$LOG" | sed 's/^/    | /'; }

# is $1 still our workload (by its command line: the restored process keeps it)
is_workload() {
	[ -n "$1" ] && [ -r "/proc/$1/cmdline" ] &&
		tr '\0' ' ' < "/proc/$1/cmdline" | grep -q "demo_workload $LOG"
}

cleanup() {
	local st=$?
	if is_workload "$PID"; then
		kill -KILL "$PID" 2>/dev/null || true
	fi
	if [ "${KEEP:-0}" = 1 ] || [ $st -ne 0 ]; then
		echo "(work directory kept: $WORK)"
	else
		rm -rf "$WORK"
	fi
	exit $st
}
trap cleanup EXIT

die() {
	printf '\n\033[1;31mdemo failed: %s\033[0m\n' "$*" >&2
	exit 1
}

last_tick() { sed -n 's/^tick \([0-9][0-9]*\) .*/\1/p' "$LOG" | tail -1; }

wait_ticks() {	# wait until the log has reached tick $1
	for _ in $(seq 100); do
		local t
		t=$(last_tick)
		[ -n "$t" ] && [ "$t" -ge "$1" ] && return 0
		sleep 0.1
	done
	return 1
}

# ---------------------------------------------------------------------------
step "1. Start the workload"
info "$ ${WORKLOAD#$ROOT/} $LOG &"
"$WORKLOAD" "$LOG" < /dev/null > /dev/null 2>&1 &
PID=$!
info "pid $PID; it keeps a 32 MiB buffer and its checksum, and logs a tick every 0.5 s"
wait_ticks 4 || die "the workload does not tick"
info "its log so far:"
show_log 4

# ---------------------------------------------------------------------------
step "2. Checkpoint it: criu dump"
info "$ criu dump -t $PID -D $IMG -o dump.log"
t0=$(date +%s.%N)
# (the shell's stderr is parked meanwhile: it would print a "Killed" notice)
exec 3>&2 2>/dev/null
if ! "$CRIU" dump -t "$PID" -D "$IMG" -v4 -o "$WORK/dump.log" 2>&3; then
	exec 2>&3
	die "criu dump failed (log: $WORK/dump.log)"
fi
t1=$(date +%s.%N)
info "dump took $(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.2f", b - a }') s"
wait "$PID" 2>/dev/null || true		# the dump ended it: reap it, its pid is free
exec 2>&3 3>&-
if [ -e "/proc/$PID" ]; then
	die "pid $PID still exists after the dump"
fi
info "the workload is gone (pid $PID no longer exists); its last log line:"
show_log 1
at_dump=$(last_tick)
lines_at_dump=$(wc -l < "$LOG")
info "image directory: $(du -sh "$IMG" | cut -f1) in $(ls "$IMG" | wc -l) files"
ls -l "$IMG" | tail -n +2 | awk '{ printf "      %10s  %s\n", $5, $9 }'
info "$ criu show $IMG/inventory.img"
"$CRIU" show "$IMG/inventory.img" | sed 's/^/      /' || die "criu show failed"

# ---------------------------------------------------------------------------
step "3. Restore it lazily from the images, detached"
sleep 1
info "$ criu restore -D $IMG -d --lazy-pages --pidfile pidfile -o restore.log"
info "(it runs at once with its memory empty; criu lazy-pages, started by the"
info " restore, fills each page on fault and the rest in the background)"
t0=$(date +%s%N)
if ! "$CRIU" restore -D "$IMG" -d --lazy-pages --pidfile "$WORK/pidfile" -v4 -o "$WORK/restore.log"; then
	die "criu restore failed (log: $WORK/restore.log)"
fi
info "running again after $(( ($(date +%s%N) - t0) / 1000000 )) ms"
rpid=$(cat "$WORK/pidfile" 2>/dev/null || true)
[ -n "$rpid" ] || die "no pid in the pidfile"
if [ "$rpid" != "$PID" ]; then
	old=$PID
	PID=$rpid	# so that cleanup ends it
	die "restored with pid $rpid, the workload had pid $old"
fi
info "restored: pid $rpid again ($(tr '\0' ' ' < "/proc/$rpid/cmdline"))"

# ---------------------------------------------------------------------------
step "4. It carries on"
wait_ticks $(( at_dump + 4 )) || die "the restored workload does not tick (log: $LOG)"
show_log 6
if grep -q CORRUPT "$LOG"; then
	die "the workload found its buffer corrupt after the restore"
fi
# the first line logged after the restore must be the next tick, by the same pid
first_new=$(tail -n +"$(( lines_at_dump + 1 ))" "$LOG" | head -1)
case $first_new in
"tick $(( at_dump + 1 )) pid $PID "*" ok") ;;
*) die "expected tick $(( at_dump + 1 )) by pid $PID as the first line after the restore, got: $first_new" ;;
esac
info "the counter went on from tick $at_dump to $(( at_dump + 1 )), same pid, checksum of its 32 MiB verified at each tick"
for _ in $(seq 100); do
	grep -q 'summary:' "$IMG/lazy-pages.log" 2>/dev/null && break
	sleep 0.1
done
grep -q 'summary:' "$IMG/lazy-pages.log" 2>/dev/null || die "the lazy-pages daemon did not finish (log: $IMG/lazy-pages.log)"
info "the lazy-pages daemon brought every page in and exited:"
sed -n 's/.*summary: /      /p' "$IMG/lazy-pages.log"

# ---------------------------------------------------------------------------
step "5. Stop it"
kill -TERM "$PID"
for _ in $(seq 50); do
	is_workload "$PID" || break
	sleep 0.1
done
is_workload "$PID" && kill -KILL "$PID"
info "pid $PID ended; done."
