#!/bin/bash
# test/run.sh - the test runner.
#
#   bash test/run.sh [--no-ckpt] [NAME...]
#
# With no NAME: every test program in test/progs (but see MODE below), then
# the bad_input and cli checks, every section of test/*.sh (fd, trees, ns,
# migrate, ...: see "Sections" below) and lazy (test/lazy.sh).  A NAME is a
# test program, a section (all of its checks) or "SECTION/CHECK".
#
# For a program: start it, wait for READY, record its memory map, fds and
# signal state, `criu dump` it, reap it, `criu restore` it (same pid), compare
# the recorded state, send SIGUSR1 and require the program to PASS its own
# checks.  --no-ckpt skips dump and restore: a check of the programs alone.
#
# A program that cannot run here prints "SKIP: reason" and exits 77 before
# READY.  Output: one line per test, "PASS name", "FAIL name: reason" or
# "SKIP name: reason"; the last line is "N passed, N failed[, N skipped]".
# Exits non-zero if anything failed.  Everything a test leaves (logs, images,
# diffs) is in test/out/NAME; images of passing tests are deleted.
# Ports: each test listens on and binds only its own block of ten, below
# the ephemeral range (test_port, "ports" below; TEST_PORT for programs).
# Environment: CRIU (the binary, default criu/criu), TEST_TIMEOUT (per test,
# default 60 s), TEST_LIVE_SNAPSHOT=1 (normal tests dump live), TEST_TMPDIR (the programs' temp files, default
# test/out/NAME/tmp), TEST_KEEP_IMAGES=1 (keep all images).

set -u
cd "$(dirname "$0")/.." || exit 1
ROOT=$PWD
CRIU=${CRIU:-$ROOT/criu/criu}
OUT=$ROOT/test/out
TEST_TIMEOUT=${TEST_TIMEOUT:-60}
READY_TIMEOUT=15
# the programs' temp files: by default in test/out/NAME/tmp (see run_prog_test)
USER_TMPDIR=${TEST_TMPDIR:-}
# TEST_KEEP_IMAGES=1 keeps the images of passing tests (deleted by default:
# they are large)
TEST_KEEP_IMAGES=${TEST_KEEP_IMAGES:-0}
# TEST_LIVE_SNAPSHOT=1: the "normal" tests dump with --leave-running
# --live-snapshot (then kill the program) instead of a plain dump
LIVE_DUMP=()
[ "${TEST_LIVE_SNAPSHOT:-0}" = 1 ] && LIVE_DUMP=(--leave-running --live-snapshot)

# How each program is run: "normal" (dump, restore), "leave_running" (two
# dumps with --leave-running while it runs, then restore the second),
# "incremental" (pre-dump --track-mem rounds, SIGUSR2 between them, then a
# final dump on top, restored), "snapshot", "snapshot_kill" and
# "snapshot_chain", "snapshot_refused", "snapshot_flags" (live snapshots:
# test/snapshot.sh), or "none" (not a test
# program).
declare -A MODE=(
	[counter]=leave_running
	[incremental]=incremental
	[incremental_closefds]=incremental
	[snapshot_1g]=snapshot
	[snapshot_threads]=snapshot
	[snapshot_kill]=snapshot_kill
	[snapshot_chain]=snapshot_chain
	[snapshot_refused]=snapshot_refused
	[snapshot_flags]=snapshot_flags
	[demo_workload]=none
	[cli_target]=none
	[mntns_state]=none
	[ptyrun]=none
	[cgroup_thread]=none	# cgroup/thread
	[tree_churn]=none	# trees/churn
	[ns_state]=none	# ns/: run under unshare
	[mq_ns]=none	# ns/: run under unshare --ipc
	[tcp_echo]=none	# net/: with a client outside, dumped with --tcp-established
	[tcp_stream]=none
	[tcp_pair]=none
	[tcp_refuse]=none
	[tap_fd]=none	# netns/tap: in a network namespace of its own
)

BAD_CHECKS=(truncated_core flipped_mm flipped_pages bad_magic_inventory
	    missing_pagemap missing_inventory bad_version control
	    dump_no_such_pid dump_unwritable_dir dump_no_space dump_no_space_pages)

CLI_CHECKS=(shell_job pid_in_use exit_code exit_signal restore_fail_kills
	    show show_corrupt check check_unknown_feature rseq_fixup)

# ---------------------------------------------------------------- helpers

# the one line result of the current test, also stored for the parent
RESULT_FILE=
TAG=	# a prefix for the test's name ("lazy": lazy/NAME)
result() {
	local status=$1 msg=$2
	# TAG "lazy": lazy/NAME; a TAG ending in "-" is a prefix of the name itself
	local sep=/
	[ "${TAG%-}" != "$TAG" ] && sep=
	[ -n "$TAG" ] && msg=$(printf '%s\n' "$msg" | sed -E "s#^(PASS|FAIL|SKIP) #\1 $TAG$sep#")
	# TAG_SUFFIX "-lazy": NAME-lazy (test/modes.sh)
	[ -n "${TAG_SUFFIX:-}" ] && msg=$(printf '%s\n' "$msg" | sed -E "s#^(PASS|FAIL|SKIP) ([^: ]*)#\1 \2$TAG_SUFFIX#")
	echo "$msg"
	[ -n "$RESULT_FILE" ] && echo "$status" > "$RESULT_FILE"
	return 0
}

# a pid is "ours" if it runs one of our programs or criu
is_ours() {
	local pid=$1 exe
	[ -n "$pid" ] && [ -e "/proc/$pid" ] || return 1
	exe=$(readlink "/proc/$pid/exe" 2>/dev/null) || return 1
	exe=${exe% (deleted)}
	case "$exe" in
	"$ROOT"/test/progs/*|"$CRIU"|"$ROOT"/criu/criu) return 0 ;;
	esac
	return 1
}

# pids started by this test, killed at exit if still running
PIDS_FILE=
track() { [ -n "$PIDS_FILE" ] && echo "$1" >> "$PIDS_FILE"; }

# kill_tracked FILE [PPID]: kills the pids listed in FILE that run one of
# our programs or (given PPID) are still children of PPID
ppid_of() { sed -n 's/^PPid:[[:space:]]*//p' "/proc/$1/status" 2>/dev/null; }
kill_tracked() {
	local f=$1 parent=${2:-} p
	[ -f "$f" ] || return 0
	for p in $(sort -u "$f"); do
		if is_ours "$p" || { [ -n "$parent" ] && [ "$(ppid_of "$p")" = "$parent" ]; }; then
			kill -KILL "$p" 2>/dev/null
		fi
	done
	for p in $(sort -u "$f"); do
		for _ in $(seq 50); do
			is_ours "$p" || break
			sleep 0.1
		done
	done
	return 0
}

# wait_for SECONDS COMMAND...: poll every 0.1 s until COMMAND succeeds
wait_for() {
	local t=$(( $1 * 10 )) i
	shift
	for (( i = 0; i < t; i++ )); do
		"$@" && return 0
		sleep 0.1
	done
	return 1
}

has_ready() { grep -q '^READY$' "$1" 2>/dev/null; }
alive() { [ -e "/proc/$1" ] && ! grep -q '^State:.*[Zz]' "/proc/$1/status" 2>/dev/null; }
dead() { ! alive "$1"; }
pidfile_ready() { [ -s "$1" ] && grep -q '^[0-9][0-9]*$' "$1"; }

# the process is blocked in rt_sigtimedwait (syscall 128): the test programs'
# wait for SIGUSR1
in_sigwait() { [ "$(cut -d' ' -f1 "/proc/$1/syscall" 2>/dev/null)" = 128 ]; }

# the state letter from /proc/PID/stat
proc_state() { sed -E 's/.*\) ([A-Za-z]).*/\1/' "/proc/$1/stat" 2>/dev/null; }

# capture PID DIR PREFIX: the memory map (range, perms, path), the fd
# numbers, the signal lines of status (SigQ is left out: it counts the
# signals queued for the whole user, not the process), and each mapping's
# VmFlags of smaps (madvise advice, mlock, may-write...; criu's userfaultfd
# marks "uw" and "um" left out)
capture() {
	local pid=$1 dir=$2 pre=$3
	sed -E 's/^([^ ]+) ([^ ]+) [^ ]+ [^ ]+ [^ ]+ *(.*)$/\1 \2 \3/' "/proc/$pid/maps" \
		> "$dir/$pre.maps" 2>/dev/null || return 1
	ls "/proc/$pid/fd" 2>/dev/null | sort -n > "$dir/$pre.fds" || return 1
	grep -E '^(SigPnd|ShdPnd|SigBlk|SigIgn|SigCgt):' "/proc/$pid/status" > "$dir/$pre.sig" 2>/dev/null || return 1
	awk '/^[0-9a-f]+-[0-9a-f]+ / { r = $1 } /^VmFlags:/ { f = ""; for (i = 2; i <= NF; i++) if ($i != "uw" && $i != "um") f = f " " $i; print r f }' \
		"/proc/$pid/smaps" > "$dir/$pre.vmf" 2>/dev/null
}

# While criu tracks writes, the process holds its tracking userfaultfd and
# its tracked mappings cannot merge with new neighbours (a heap grown by brk
# shows as two [heap] lines).  Both are criu's, gone after the final dump:
# drop the fd and merge adjacent lines of the same permissions and path.
untrack_capture() {
	local pid=$1 dir=$2 pre=$3 fd link
	for fd in $(cat "$dir/$pre.fds"); do
		link=$(readlink "/proc/$pid/fd/$fd" 2>/dev/null)
		[ "$link" = "anon_inode:[userfaultfd]" ] && sed -i "/^$fd\$/d" "$dir/$pre.fds"
	done
	merge_maps "$dir/$pre.maps"
	merge_vmf "$dir/$pre.vmf"
}

# the same for the VmFlags lines ("range flags...")
merge_vmf() {
	[ -f "$1" ] || return 0
	awk '{ split($1, r, "-"); rest = substr($0, length($1) + 2)
	       if (n && r[1] == end && rest == prest) { end = r[2]; next }
	       if (n) print start "-" end " " prest
	       start = r[1]; end = r[2]; prest = rest; n = 1 }
	     END { if (n) print start "-" end " " prest }' "$1" > "$1.merged"
	mv "$1.merged" "$1"
}

merge_maps() {
	awk '{ split($1, r, "-"); rest = $2 " " $3
	       if (n && r[1] == end && rest == prest) { end = r[2]; next }
	       if (n) print start "-" end " " prest
	       start = r[1]; end = r[2]; prest = rest; n = 1 }
	     END { if (n) print start "-" end " " prest }' "$1" | sed 's/ $//' > "$1.merged"
	mv "$1.merged" "$1"
}

# compare DIR: sets CMP_REASON and fails if the captures differ
CMP_REASON=
compare() {
	local dir=$1 what bad=()
	for what in maps fds sig vmf; do
		if ! diff -u "$dir/before.$what" "$dir/after.$what" > "$dir/$what.diff"; then
			local first
			first=$(grep -E '^[-+][^-+]' "$dir/$what.diff" | head -2 | tr '\n' ' ')
			bad+=("$what differ ($first; see ${dir#$ROOT/}/$what.diff)")
		else
			rm -f "$dir/$what.diff"
		fi
	done
	[ ${#bad[@]} -eq 0 ] && return 0
	CMP_REASON=$(IFS=';'; echo "${bad[*]}")
	return 1
}

# the last lines of a log, on one line, for a FAIL reason
log_tail() {
	[ -f "$1" ] || { echo "(no ${1#$ROOT/})"; return; }
	tail -n "${2:-2}" "$1" | tr '\n' ' ' | cut -c1-300
}

# the first error line of a criu log, or its tail
criu_error() {
	local e
	e=$(grep -m1 'error:' "$1" 2>/dev/null | sed -E 's/^\( *[0-9.]+\) //')
	[ -n "$e" ] && echo "$e" || log_tail "$1" 2
}

# ------------------------------------------------------ ports

# Every port a test listens on or binds is one of its own block of ten,
# TEST_PORT..TEST_PORT+9 (`test_port N`; a test program reads TEST_PORT
# from its environment: test/lib test_port(), and takes 0-5; the scripts'
# servers (page servers, proxies) take 6-9).  The blocks are in
# 10000-31999, below the ephemeral range (32768-60999 here, where the
# kernel picks the ports of connect() and of bind() to port 0: a random
# port there can be taken by anyone's connection, also between a dump and
# its restore: "Address already in use").  The block is fixed per test
# (cksum of the tree's path and the test's name, so the same test run from
# two trees at once does not meet itself) and moves on to the next block
# while a port of it is in use (another run, TIME_WAIT).  Set by run_one.
TEST_PORT=
port_block() {
	local h used p k i
	h=$(printf '%s %s' "$ROOT" "$1" | cksum | cut -d' ' -f1)
	used=" $(ss -tuanH 2>/dev/null | awk '{ sub(/.*:/, "", $5); print $5 }' | sort -un | tr '\n' ' ') "
	for ((k = 0; k < 2200; k++)); do
		p=$(( 10000 + ((h + k) % 2200) * 10 ))
		for ((i = 0; i < 10; i++)); do
			[[ $used == *" $((p + i)) "* ]] && break
		done
		[ "$i" -eq 10 ] && break
	done
	echo "$p"
}
test_port() { echo $(( TEST_PORT + ${1:-0} )); }

# ------------------------------------------------------ program tests

# start_prog NAME DIR: starts the program, sets PID, waits for READY
PID=
start_prog() {
	local name=$1 dir=$2
	"$ROOT/test/progs/$name" > "$dir/test.log" 2>&1 < /dev/null &
	PID=$!
	track "$PID"
	if ! wait_for "$READY_TIMEOUT" has_ready "$dir/test.log"; then
		alive "$PID" && return 2
		return 1
	fi
	return 0
}

# restore_bg DIR IMG: starts criu restore in the background, sets RPID
RPID=
RESTORE_EXTRA=()	# more restore options (test/lazy.sh: --lazy-pages)
restore_bg() {
	local dir=$1 img=$2
	rm -f "$dir/pidfile"
	put_back_log "$dir/test.log" "$img"
	"$CRIU" restore -D "$img" -v4 -o "$dir/restore.log" --pidfile "$dir/pidfile" "${RESTORE_EXTRA[@]}" \
		> "$dir/restore.out" 2>&1 < /dev/null &
	RPID=$!
	track "$RPID"
}

# wait for the restore's pidfile; checks it names PID
await_restored() {
	local dir=$1 pid=$2 name=$3 got
	for (( i = 0; i < READY_TIMEOUT * 10; i++ )); do
		pidfile_ready "$dir/pidfile" && break
		if ! alive "$RPID"; then
			wait "$RPID"
			result FAIL "FAIL $name: restore exited with status $? before writing the pidfile: $(criu_error "$dir/restore.log")"
			return 1
		fi
		sleep 0.1
	done
	if ! pidfile_ready "$dir/pidfile"; then
		result FAIL "FAIL $name: no pidfile after ${READY_TIMEOUT}s of restore: $(criu_error "$dir/restore.log")"
		return 1
	fi
	got=$(cat "$dir/pidfile")
	track "$got"
	if [ "$got" != "$pid" ]; then
		result FAIL "FAIL $name: restored as pid $got, was $pid"
		return 1
	fi
	if ! alive "$pid"; then
		result FAIL "FAIL $name: pid $pid is not running after restore: $(log_tail "$dir/test.log")"
		return 1
	fi
	return 0
}

# finish DIR NAME PID: SIGUSR1, wait for criu restore, require status 0 and PASS
finish() {
	local dir=$1 name=$2 pid=$3 st
	kill -USR1 "$pid" 2>/dev/null
	wait "$RPID"
	st=$?
	if [ $st -ne 0 ]; then
		if grep -q '^FAIL' "$dir/test.log"; then
			result FAIL "FAIL $name: $(grep -m1 '^FAIL' "$dir/test.log")"
		else
			result FAIL "FAIL $name: restore exited with status $st: $(log_tail "$dir/test.log") $(criu_error "$dir/restore.log")"
		fi
		return 1
	fi
	if ! grep -q '^PASS$' "$dir/test.log"; then
		result FAIL "FAIL $name: status 0 but no PASS in test.log: $(log_tail "$dir/test.log")"
		return 1
	fi
	return 0
}

run_normal() {
	local name=$1 dir=$2 st pid

	start_prog "$name" "$dir"
	case $? in
	1)	wait "$PID"
		if [ $? -eq 77 ] && grep -q '^SKIP: ' "$dir/test.log"; then
			result SKIP "SKIP $name: $(sed -n 's/^SKIP: //p' "$dir/test.log" | head -1)"
		else
			result FAIL "FAIL $name: exited before READY: $(log_tail "$dir/test.log")"
		fi
		return ;;
	2) result FAIL "FAIL $name: no READY within ${READY_TIMEOUT}s"; return ;;
	esac
	pid=$PID
	if ! wait_for 5 in_sigwait "$pid"; then
		result FAIL "FAIL $name: not waiting for SIGUSR1 after READY: $(log_tail "$dir/test.log")"
		return
	fi

	if [ "$NO_CKPT" = 1 ]; then
		kill -USR1 "$pid"
		wait "$pid"; st=$?
		if [ $st -ne 0 ] || ! grep -q '^PASS$' "$dir/test.log"; then
			result FAIL "FAIL $name: status $st without checkpoint: $(log_tail "$dir/test.log")"
		else
			result PASS "PASS $name"
		fi
		return
	fi

	if ! capture "$pid" "$dir" before; then
		result FAIL "FAIL $name: cannot read /proc/$pid before the dump"
		return
	fi
	if ! "$CRIU" dump -t "$pid" -D "$dir/img" -v4 -o "$dir/dump.log" "${LIVE_DUMP[@]}" \
		> "$dir/dump.out" 2>&1 < /dev/null; then
		result FAIL "FAIL $name: dump failed: $(criu_error "$dir/dump.log")"
		return
	fi
	[ ${#LIVE_DUMP[@]} -eq 0 ] || kill -KILL "$pid"
	# the dump kills it; reap it so that its pid is free
	if ! wait_for 10 bash -c "! grep -q '^State:.*[RSDT]' /proc/$pid/status 2>/dev/null"; then
		result FAIL "FAIL $name: still running 10s after the dump (state $(proc_state "$pid"))"
		return
	fi
	wait "$pid" 2>/dev/null

	mkdir -p "$dir/img"
	local rdir=$dir/img
	if [ -n "${PAGE_SERVER_RESTORE:-}" ]; then
		# lazy.sh: the pages from `criu page-server`, the restore from a copy without them
		serve_pages "$dir" || return
		rdir=$dir/dst
	fi
	restore_bg "$dir" "$rdir"
	await_restored "$dir" "$pid" "$name" || return
	if ! wait_for 10 in_sigwait "$pid"; then
		result FAIL "FAIL $name: restored program is not back in its wait for SIGUSR1 (syscall: $(cut -d' ' -f1-2 /proc/$pid/syscall 2>/dev/null), state $(proc_state "$pid"))"
		return
	fi
	if ! capture "$pid" "$dir" after; then
		result FAIL "FAIL $name: cannot read /proc/$pid after the restore"
		return
	fi
	if ! compare "$dir"; then
		result FAIL "FAIL $name: $CMP_REASON"
		return
	fi
	finish "$dir" "$name" "$pid" || return
	if [ -n "${PAGE_SERVER_RESTORE:-}" ] && ! served "$dir"; then
		result FAIL "FAIL $name: $SERVED_REASON"
		return
	fi
	result PASS "PASS $name"
}

# the last "count N" line of the counter's log (before byte offset $2, if given)
last_count() {
	local data
	if [ -n "${2:-}" ]; then
		data=$(head -c "$2" "$1")
	else
		data=$(cat "$1")
	fi
	printf '%s\n' "$data" | sed -n 's/^count \([0-9][0-9]*\)$/\1/p' | tail -1
}

# counting goes on: a count line greater than $2 appears within 5 s
count_moves() {
	local log=$1 from=$2 c
	for _ in $(seq 50); do
		c=$(last_count "$log")
		[ -n "$c" ] && [ "$c" -gt "$from" ] && return 0
		sleep 0.1
	done
	return 1
}

# put_back_log LOG IMG: LOG (a program's stdout, test.log) cut back to the
# size the dump into IMG recorded for it, if any process of IMG holds it.
# Something wrote to it after the dump: the program itself, run on after a
# dump --leave-running or a live snapshot, or its wrapper outside the tree
# (unshare, when its child is killed).  A restore refuses a file whose
# size changed since the dump: as a user would, the harness puts its file
# back as it was
put_back_log() {
	local log=$1 img=$2 f size
	for f in "$img"/files-*.img; do
		[ -e "$f" ] || continue
		size=$("$CRIU" show "$f" 2>/dev/null |
			awk -v p="\"path\": \"$log\"," 'index($0, p) { f = 1 } f && /"size":/ { gsub(/[^0-9]/, ""); print; exit }')
		[ -n "$size" ] && { truncate -s "$size" "$log"; return; }
	done
}

# leave-running dumps of a running program
dump_leave_running() {
	local name=$1 dir=$2 pid=$3 img=$4 c st
	c=$(last_count "$dir/test.log"); c=${c:-0}
	if ! "$CRIU" dump -t "$pid" -D "$dir/$img" --leave-running -v4 -o "$dir/dump-$img.log" \
		> "$dir/dump-$img.out" 2>&1 < /dev/null; then
		result FAIL "FAIL $name: dump --leave-running ($img) failed: $(criu_error "$dir/dump-$img.log")"
		return 1
	fi
	if ! alive "$pid"; then
		result FAIL "FAIL $name: not running after dump --leave-running ($img): $(log_tail "$dir/test.log")"
		return 1
	fi
	st=$(proc_state "$pid")
	if [ "$st" = T ] || [ "$st" = t ]; then
		result FAIL "FAIL $name: stopped (state $st) after dump --leave-running ($img)"
		return 1
	fi
	if ! count_moves "$dir/test.log" "$c"; then
		result FAIL "FAIL $name: stopped counting after dump --leave-running ($img) (last count $(last_count "$dir/test.log"))"
		return 1
	fi
	DUMP_COUNT=$c
	return 0
}

run_leave_running() {
	local name=$1 dir=$2 pid pos c2 first final

	start_prog "$name" "$dir"
	case $? in
	1)	wait "$PID"
		if [ $? -eq 77 ] && grep -q '^SKIP: ' "$dir/test.log"; then
			result SKIP "SKIP $name: $(sed -n 's/^SKIP: //p' "$dir/test.log" | head -1)"
		else
			result FAIL "FAIL $name: exited before READY: $(log_tail "$dir/test.log")"
		fi
		return ;;
	2) result FAIL "FAIL $name: no READY within ${READY_TIMEOUT}s"; return ;;
	esac
	pid=$PID
	if ! count_moves "$dir/test.log" 0; then
		result FAIL "FAIL $name: not counting: $(log_tail "$dir/test.log")"
		return
	fi
	if [ "$NO_CKPT" = 1 ]; then
		kill -USR1 "$pid"; wait "$pid"
		if [ $? -ne 0 ] || ! grep -q '^PASS$' "$dir/test.log"; then
			result FAIL "FAIL $name: without checkpoint: $(log_tail "$dir/test.log")"
		else
			result PASS "PASS $name"
		fi
		return
	fi
	capture "$pid" "$dir" before || { result FAIL "FAIL $name: cannot read /proc/$pid"; return; }

	dump_leave_running "$name" "$dir" "$pid" img1 || return
	dump_leave_running "$name" "$dir" "$pid" img2 || return
	c2=$DUMP_COUNT		# the image holds at least this count

	kill -KILL "$pid"
	wait "$pid" 2>/dev/null
	wait_for 5 bash -c "[ ! -e /proc/$pid ]"

	restore_bg "$dir" "$dir/img2"
	await_restored "$dir" "$pid" "$name" || return
	# where the restored program's output starts: its stdout offset
	pos=$(sed -n 's/^pos:[[:space:]]*//p' "/proc/$pid/fdinfo/1" 2>/dev/null)
	capture "$pid" "$dir" after || { result FAIL "FAIL $name: cannot read /proc/$pid after restore"; return; }
	# only the process state is compared; the counter's own mapping is the same
	if ! compare "$dir"; then
		result FAIL "FAIL $name: $CMP_REASON"
		return
	fi
	# let it count for a second, then stop it
	sleep 1
	finish "$dir" "$name" "$pid" || return
	# its output: from its stdout offset at restore up to its PASS line (past
	# that, the file may still hold what the killed original wrote)
	local seg counts n
	seg=$(tail -c +"$(( ${pos:-0} + 1 ))" "$dir/test.log" | sed '/^PASS$/q')
	counts=$(printf '%s\n' "$seg" | sed -n 's/^count \([0-9][0-9]*\)$/\1/p')
	n=$(printf '%s\n' "$counts" | grep -c .)
	first=$(printf '%s\n' "$counts" | grep . | head -1)
	final=$(printf '%s\n' "$seg" | sed -n 's/^final count \([0-9][0-9]*\)$/\1/p')
	if [ "$n" -lt 2 ]; then
		result FAIL "FAIL $name: restored program printed $n count lines in 1s (stdout offset ${pos:-?})"
		return
	fi
	if [ "$first" -lt "$c2" ]; then
		result FAIL "FAIL $name: restored program counts from $first, below the $c2 printed before the dump"
		return
	fi
	if ! printf '%s\n' "$counts" | sort -n -c 2>/dev/null; then
		result FAIL "FAIL $name: counts after restore are not increasing"
		return
	fi
	if [ -z "$final" ] || [ "$final" -lt "$first" ]; then
		result FAIL "FAIL $name: final count '$final' below the first count after restore $first"
		return
	fi
	result PASS "PASS $name"
}

# pages= of a dump log's stats line
dump_pages() { sed -n 's/.*stats:.* pages=\([0-9]*\).*/\1/p' "$1" | tail -1; }

# round N: SIGUSR2, then wait for the program to say it is done
next_round() {
	local name=$1 dir=$2 pid=$3 r=$4
	kill -USR2 "$pid"
	if ! wait_for 10 grep -q "^round $r done" "$dir/test.log"; then
		result FAIL "FAIL $name: no 'round $r done': $(log_tail "$dir/test.log")"
		return 1
	fi
}

INC_PRE_ROUNDS=5	# pre-dumps after the first one: a chain of 6, then the dump

run_incremental() {
	local name=$1 dir=$2 pid r st full last

	start_prog "$name" "$dir"
	case $? in
	1) wait "$PID"; result FAIL "FAIL $name: exited before READY: $(log_tail "$dir/test.log")"; return ;;
	2) result FAIL "FAIL $name: no READY within ${READY_TIMEOUT}s"; return ;;
	esac
	pid=$PID
	if [ "$NO_CKPT" = 1 ]; then
		for r in $(seq 1 $((INC_PRE_ROUNDS + 1))); do
			next_round "$name" "$dir" "$pid" "$r" || return
		done
		kill -USR1 "$pid"; wait "$pid"; st=$?
		if [ $st -ne 0 ] || ! grep -q '^PASS$' "$dir/test.log"; then
			result FAIL "FAIL $name: without checkpoint: $(log_tail "$dir/test.log")"
		else
			result PASS "PASS $name"
		fi
		return
	fi
	rm -rf "$dir/img"; mkdir -p "$dir/img"
	if ! "$CRIU" pre-dump -t "$pid" -D "$dir/img/d0" --track-mem -v4 -o "$dir/pre-0.log" \
		> "$dir/pre-0.out" 2>&1 < /dev/null; then
		result FAIL "FAIL $name: pre-dump 0 failed: $(criu_error "$dir/pre-0.log")"
		return
	fi
	for r in $(seq 1 "$INC_PRE_ROUNDS"); do
		next_round "$name" "$dir" "$pid" "$r" || return
		if ! "$CRIU" pre-dump -t "$pid" -D "$dir/img/d$r" --prev-images-dir "../d$((r - 1))" \
			--track-mem -v4 -o "$dir/pre-$r.log" > "$dir/pre-$r.out" 2>&1 < /dev/null; then
			result FAIL "FAIL $name: pre-dump $r failed: $(criu_error "$dir/pre-$r.log")"
			return
		fi
		if ! alive "$pid" || [ "$(proc_state "$pid")" = T ]; then
			result FAIL "FAIL $name: not running after pre-dump $r"
			return
		fi
	done
	next_round "$name" "$dir" "$pid" $((INC_PRE_ROUNDS + 1)) || return
	if ! wait_for 5 in_sigwait "$pid"; then
		result FAIL "FAIL $name: not waiting for a signal before the dump"
		return
	fi
	capture "$pid" "$dir" before || { result FAIL "FAIL $name: cannot read /proc/$pid"; return; }
	untrack_capture "$pid" "$dir" before
	r=$((INC_PRE_ROUNDS + 1))
	if ! "$CRIU" dump -t "$pid" -D "$dir/img/d$r" --prev-images-dir "../d$((r - 1))" --track-mem \
		-v4 -o "$dir/dump.log" > "$dir/dump.out" 2>&1 < /dev/null; then
		result FAIL "FAIL $name: final dump failed: $(criu_error "$dir/dump.log")"
		return
	fi
	wait_for 10 bash -c "! grep -q '^State:.*[RSDT]' /proc/$pid/status 2>/dev/null"
	wait "$pid" 2>/dev/null

	# what the rounds copied: the first everything, later ones only changes
	full=$(dump_pages "$dir/pre-0.log")
	last=$(dump_pages "$dir/dump.log")
	if [ "$name" = incremental_closefds ]; then
		# round 3 closed the tracking fd: pre-dump 3 must say so and copy in full
		if ! grep -q 'tracking userfaultfd.*is gone' "$dir/pre-3.log"; then
			result FAIL "FAIL $name: pre-dump 3 did not notice the lost tracking fd"
			return
		fi
		if [ "$(dump_pages "$dir/pre-3.log")" -lt $((full * 9 / 10)) ]; then
			result FAIL "FAIL $name: pre-dump 3 copied $(dump_pages "$dir/pre-3.log") pages after tracking was lost, the full set is $full"
			return
		fi
	elif [ -z "$last" ] || [ -z "$full" ] || [ "$last" -gt $((full / 4)) ]; then
		result FAIL "FAIL $name: the final dump copied ${last:-?} pages, the first pre-dump ${full:-?}: not incremental"
		return
	fi

	restore_bg "$dir" "$dir/img/d$r"
	await_restored "$dir" "$pid" "$name" || return
	if ! wait_for 10 in_sigwait "$pid"; then
		result FAIL "FAIL $name: restored program is not back in its wait (state $(proc_state "$pid"))"
		return
	fi
	capture "$pid" "$dir" after || { result FAIL "FAIL $name: cannot read /proc/$pid after restore"; return; }
	merge_maps "$dir/after.maps"
	merge_vmf "$dir/after.vmf"
	if ! compare "$dir"; then
		result FAIL "FAIL $name: $CMP_REASON"
		return
	fi
	finish "$dir" "$name" "$pid" || return
	result PASS "PASS $name"
}

run_prog_test() {
	local name=$1 dir=$OUT/$1
	local mode=${MODE[$name]:-normal}

	if [ ! -x "$ROOT/test/progs/$name" ]; then
		result SKIP "SKIP $name: test/progs/$name not built"
		return
	fi
	if [ "$mode" = none ]; then
		result SKIP "SKIP $name: not a test program"
		return
	fi
	if [ "$NO_CKPT" != 1 ] && [ ! -x "$CRIU" ]; then
		result SKIP "SKIP $name: ${CRIU#$ROOT/} not built"
		return
	fi
	mkdir -p "$dir/tmp"
	export TEST_TMPDIR=${USER_TMPDIR:-$dir/tmp}
	case $mode in
	normal) run_normal "$name" "$dir" ;;
	leave_running) run_leave_running "$name" "$dir" ;;
	incremental) run_incremental "$name" "$dir" ;;
	snapshot) run_snapshot "$name" "$dir" ;;
	snapshot_kill) run_snapshot_kill "$name" "$dir" ;;
	snapshot_chain) run_snapshot_chain "$name" "$dir" ;;
	snapshot_refused) run_snapshot_refused "$name" "$dir" ;;
	snapshot_flags) run_snapshot_flags "$name" "$dir" ;;
	esac
	if [ "$TEST_KEEP_IMAGES" != 1 ] && [ "$(cat "$RESULT_FILE" 2>/dev/null)" = PASS ]; then
		rm -rf "$dir/img" "$dir/img1" "$dir/img2"
	fi
}

# ------------------------------------------------------ bad input

# The good image: anon_pattern dumped into test/out/bad_input/good.  Made
# once per run, by the first check that needs it.
BAD=$OUT/bad_input
GOOD_PID=

make_good_image() {
	local pid
	if [ -f "$BAD/good.pid" ] && [ -f "$BAD/good/inventory.img" ]; then
		GOOD_PID=$(cat "$BAD/good.pid")
		# a check that restored it let it run on and write its PASS
		put_back_log "$BAD/good-prog.log" "$BAD/good"
		return 0
	fi
	[ -f "$BAD/good.failed" ] && return 1
	rm -rf "$BAD/good" "$BAD/good.pid"
	mkdir -p "$BAD"
	if [ ! -x "$ROOT/test/progs/anon_pattern" ] || [ ! -x "$CRIU" ]; then
		echo "anon_pattern or criu not built" > "$BAD/good.failed"
		return 1
	fi
	"$ROOT/test/progs/anon_pattern" > "$BAD/good-prog.log" 2>&1 < /dev/null &
	pid=$!
	track "$pid"
	if ! wait_for "$READY_TIMEOUT" has_ready "$BAD/good-prog.log" || ! wait_for 5 in_sigwait "$pid"; then
		kill -KILL "$pid" 2>/dev/null; wait "$pid" 2>/dev/null
		echo "anon_pattern did not get ready" > "$BAD/good.failed"
		return 1
	fi
	if ! "$CRIU" dump -t "$pid" -D "$BAD/good" -v4 -o "$BAD/good-dump.log" \
		> /dev/null 2>&1 < /dev/null; then
		kill -KILL "$pid" 2>/dev/null; wait "$pid" 2>/dev/null
		echo "dump of anon_pattern failed: $(criu_error "$BAD/good-dump.log")" > "$BAD/good.failed"
		return 1
	fi
	kill -KILL "$pid" 2>/dev/null
	wait "$pid" 2>/dev/null
	echo "$pid" > "$BAD/good.pid"
	GOOD_PID=$pid
	return 0
}

# flip_bit FILE OFFSET: flips bit 4 of the byte at OFFSET
flip_bit() {
	local f=$1 off=$2 b
	b=$(od -An -tu1 -j "$off" -N1 "$f" | tr -d ' ')
	[ -n "$b" ] || return 1
	printf "\\$(printf '%03o' $(( b ^ 16 )))" | dd of="$f" bs=1 seek="$off" conv=notrunc status=none
}

# put_u32 FILE OFFSET VALUE: writes a little-endian 32-bit value
put_u32() {
	local f=$1 off=$2 v=$3
	printf "\\$(printf '%03o' $(( v & 255 )))\\$(printf '%03o' $(( (v >> 8) & 255 )))\\$(printf '%03o' $(( (v >> 16) & 255 )))\\$(printf '%03o' $(( (v >> 24) & 255 )))" |
		dd of="$f" bs=1 seek="$off" conv=notrunc status=none
}

# restore_must_fail NAME COPY EXPECT: restore of COPY must fail with exactly
# one "error:" line on stderr naming EXPECT, and leave no process behind
restore_must_fail() {
	local name=$1 copy=$2 expect=$3 st rp lines
	"$CRIU" restore -D "$copy" > "$copy.stdout" 2> "$copy.stderr" < /dev/null &
	rp=$!
	track "$rp"
	if ! wait_for 20 bash -c "[ ! -e /proc/$rp ] || grep -q '^State:.*Z' /proc/$rp/status"; then
		kill -KILL "$rp" 2>/dev/null; wait "$rp" 2>/dev/null
		is_ours "$GOOD_PID" && kill -KILL "$GOOD_PID"
		result FAIL "FAIL $name: restore did not fail within 20s (it restored a broken image?)"
		return 1
	fi
	wait "$rp"; st=$?
	if is_ours "$GOOD_PID"; then
		kill -KILL "$GOOD_PID" 2>/dev/null
		result FAIL "FAIL $name: pid $GOOD_PID left running after a failed restore"
		return 1
	fi
	if [ $st -eq 0 ]; then
		result FAIL "FAIL $name: restore exited with status 0"
		return 1
	fi
	lines=$(grep -c . "$copy.stderr")
	if [ "$lines" -ne 1 ]; then
		result FAIL "FAIL $name: $lines lines on stderr, expected one error line: $(head -3 "$copy.stderr" | tr '\n' '|' | cut -c1-300)"
		return 1
	fi
	if ! grep -q '^error:' "$copy.stderr"; then
		result FAIL "FAIL $name: stderr line does not start with 'error:': $(cut -c1-200 "$copy.stderr")"
		return 1
	fi
	if ! grep -qF "$expect" "$copy.stderr"; then
		result FAIL "FAIL $name: error does not name $expect: $(cut -c1-200 "$copy.stderr")"
		return 1
	fi
	return 0
}

run_bad_check() {
	local check=$1 name=bad_input/$1 copy pid f size

	mkdir -p "$BAD"
	case $check in
	dump_no_such_pid) bad_dump_no_such_pid "$name"; return ;;
	dump_unwritable_dir) bad_dump_unwritable "$name"; return ;;
	dump_no_space) bad_dump_no_space "$name"; return ;;
	dump_no_space_pages) bad_dump_no_space_pages "$name"; return ;;
	esac

	if [ ! -x "$CRIU" ]; then
		result SKIP "SKIP $name: ${CRIU#$ROOT/} not built"
		return
	fi
	if ! make_good_image; then
		result SKIP "SKIP $name: no good image: $(cat "$BAD/good.failed")"
		return
	fi
	pid=$GOOD_PID
	copy=$BAD/$check.img
	rm -rf "$copy" "$copy".std*
	cp -a "$BAD/good" "$copy"

	case $check in
	truncated_core)
		f=$copy/core-$pid.img
		size=$(stat -c %s "$f")
		truncate -s $(( size / 2 )) "$f"
		restore_must_fail "$name" "$copy" "core-$pid.img" || return ;;
	flipped_mm)
		f=$copy/mm-$pid.img
		size=$(stat -c %s "$f")
		flip_bit "$f" $(( size / 2 ))
		restore_must_fail "$name" "$copy" "mm-$pid.img" || return ;;
	flipped_pages)
		f=$copy/pages-$pid.img
		size=$(stat -c %s "$f")
		if [ "$size" -le 4096 ]; then
			result FAIL "FAIL $name: pages-$pid.img holds no page data ($size bytes)"
			return
		fi
		# a byte in the middle of the data, past the header page
		flip_bit "$f" $(( 4096 + (size - 4096) / 2 + 123 ))
		restore_must_fail "$name" "$copy" "pages-$pid.img" || return ;;
	bad_magic_inventory)
		printf 'XXXX' | dd of="$copy/inventory.img" bs=1 seek=0 conv=notrunc status=none
		restore_must_fail "$name" "$copy" "inventory.img" || return ;;
	missing_pagemap)
		rm -f "$copy/pagemap-$pid.img"
		restore_must_fail "$name" "$copy" "pagemap-$pid.img" || return ;;
	missing_inventory)
		rm -f "$copy/inventory.img"
		restore_must_fail "$name" "$copy" "inventory.img" || return ;;
	bad_version)
		put_u32 "$copy/core-$pid.img" 8 99
		restore_must_fail "$name" "$copy" "core-$pid.img" || return ;;
	control)
		# the unmodified copy restores and passes: the checks above fail
		# for their own reasons
		local dir=$BAD/control.run st
		mkdir -p "$dir"
		RPID=
		restore_bg "$dir" "$copy"
		await_restored "$dir" "$pid" "$name" || return
		kill -USR1 "$pid"
		wait "$RPID"; st=$?
		if [ $st -ne 0 ]; then
			result FAIL "FAIL $name: restore of the unmodified image exited with $st: $(criu_error "$dir/restore.log")"
			return
		fi ;;
	*)
		result FAIL "FAIL $name: no such check"
		return ;;
	esac
	result PASS "PASS $name"
	[ "$TEST_KEEP_IMAGES" = 1 ] || rm -rf "$copy"
}

bad_dump_no_such_pid() {
	local name=$1 p dir=$BAD/nopid.img st lines
	[ -x "$CRIU" ] || { result SKIP "SKIP $name: ${CRIU#$ROOT/} not built"; return; }
	p=$(( $(cat /proc/sys/kernel/pid_max) - 1 ))
	while [ -e "/proc/$p" ]; do p=$(( p - 1 )); done
	rm -rf "$dir"; mkdir -p "$dir"
	"$CRIU" dump -t "$p" -D "$dir" > "$dir.stdout" 2> "$dir.stderr" < /dev/null
	st=$?
	lines=$(grep -c . "$dir.stderr")
	if [ $st -eq 0 ]; then
		result FAIL "FAIL $name: dump of nonexistent pid $p exited with status 0"
	elif [ "$lines" -ne 1 ] || ! grep -q '^error:' "$dir.stderr"; then
		result FAIL "FAIL $name: expected one 'error:' line on stderr, got $lines: $(head -3 "$dir.stderr" | tr '\n' '|' | cut -c1-300)"
	elif ! grep -qw "$p" "$dir.stderr"; then
		result FAIL "FAIL $name: error does not name pid $p: $(cut -c1-200 "$dir.stderr")"
	else
		result PASS "PASS $name"
	fi
}

# dump_must_fail NAME DIR IMGDIR: a dump of a running counter into IMGDIR
# must fail with one error line and leave the counter running, not
# stopped, still counting, and passing its own checks
dump_must_fail() {
	local name=$1 dir=$2 img=$3 pid st lines state c
	start_prog counter "$dir"
	if [ $? -ne 0 ]; then
		kill -KILL "$PID" 2>/dev/null; wait "$PID" 2>/dev/null
		result FAIL "FAIL $name: counter did not start: $(log_tail "$dir/test.log")"
		return
	fi
	pid=$PID
	"$CRIU" dump -t "$pid" -D "$img" > "$dir/dump.stdout" 2> "$dir/dump.stderr" < /dev/null
	st=$?
	lines=$(grep -c . "$dir/dump.stderr")
	c=$(last_count "$dir/test.log"); c=${c:-0}
	state=$(proc_state "$pid")
	if [ $st -eq 0 ]; then
		result FAIL "FAIL $name: dump into ${img#$ROOT/} exited with status 0"
	elif ! alive "$pid"; then
		result FAIL "FAIL $name: the target died in the failed dump: $(log_tail "$dir/test.log")"
	elif [ "$state" = T ] || [ "$state" = t ]; then
		result FAIL "FAIL $name: the target is left stopped (state $state)"
	elif ! count_moves "$dir/test.log" "$c"; then
		result FAIL "FAIL $name: the target stopped counting after the failed dump (state $state)"
	elif [ "$lines" -ne 1 ] || ! grep -q '^error:' "$dir/dump.stderr"; then
		result FAIL "FAIL $name: expected one 'error:' line on stderr, got $lines: $(head -3 "$dir/dump.stderr" | tr '\n' '|' | cut -c1-300)"
	else
		# and it is unharmed: its own checks still pass
		kill -USR1 "$pid"; wait "$pid"; st=$?
		if [ $st -ne 0 ]; then
			result FAIL "FAIL $name: the target fails its checks after the failed dump: $(log_tail "$dir/test.log")"
		else
			result PASS "PASS $name"
		fi
	fi
	kill -KILL "$pid" 2>/dev/null
	wait "$pid" 2>/dev/null
}

# images directory under a regular file: fails before touching the target
bad_dump_unwritable() {
	local name=$1 dir=$BAD/unwritable.run
	[ -x "$CRIU" ] || { result SKIP "SKIP $name: ${CRIU#$ROOT/} not built"; return; }
	[ -x "$ROOT/test/progs/counter" ] || { result SKIP "SKIP $name: test/progs/counter not built"; return; }
	rm -rf "$dir"; mkdir -p "$dir"
	echo "a regular file" > "$dir/file"
	dump_must_fail "$name" "$dir" "$dir/file/img"
}

# images directory on a 256 KiB tmpfs: fails in the middle of writing the
# images, with the target already seized and infected
NOSPACE_MNT=
bad_dump_no_space() {
	local name=$1 dir=$BAD/nospace.run
	[ -x "$CRIU" ] || { result SKIP "SKIP $name: ${CRIU#$ROOT/} not built"; return; }
	[ -x "$ROOT/test/progs/counter" ] || { result SKIP "SKIP $name: test/progs/counter not built"; return; }
	rm -rf "$dir"; mkdir -p "$dir/mnt"
	if ! mount -t tmpfs -o size=256k ckpt-test-nospace "$dir/mnt" 2> "$dir/mount.err"; then
		result SKIP "SKIP $name: cannot mount a small tmpfs: $(head -1 "$dir/mount.err")"
		return
	fi
	NOSPACE_MNT=$dir/mnt
	dump_must_fail "$name" "$dir" "$dir/mnt/img"
	umount "$dir/mnt" && NOSPACE_MNT=
}

# 256 MiB of memory into a 32 MiB tmpfs: the pages file fills up in the
# middle of the copy, while the writer thread writes one batch and the
# next is read (criu/memscan/page-sink.c).  The dump fails with one line,
# the program is left running with its memory intact, and the directory is
# no image: no inventory, marked incomplete, refused by restore.
bad_dump_no_space_pages() {
	local name=$1 dir=$BAD/nospace_pages.run img pid st lines state
	img=$dir/mnt/img
	[ -x "$CRIU" ] || { result SKIP "SKIP $name: ${CRIU#$ROOT/} not built"; return; }
	[ -x "$ROOT/test/progs/anon_256m" ] || { result SKIP "SKIP $name: test/progs/anon_256m not built"; return; }
	rm -rf "$dir"; mkdir -p "$dir/mnt"
	if ! mount -t tmpfs -o size=32m ckpt-test-nospace "$dir/mnt" 2> "$dir/mount.err"; then
		result SKIP "SKIP $name: cannot mount a small tmpfs: $(head -1 "$dir/mount.err")"
		return
	fi
	NOSPACE_MNT=$dir/mnt
	start_prog anon_256m "$dir"
	if [ $? -ne 0 ]; then
		kill -KILL "$PID" 2>/dev/null; wait "$PID" 2>/dev/null
		result FAIL "FAIL $name: anon_256m did not start: $(log_tail "$dir/test.log")"
		umount "$dir/mnt" && NOSPACE_MNT=
		return
	fi
	pid=$PID
	timeout -s KILL 60 "$CRIU" dump -t "$pid" -D "$img" -v4 -o "$dir/dump.log" \
		> "$dir/dump.stdout" 2> "$dir/dump.stderr" < /dev/null
	st=$?
	lines=$(grep -c . "$dir/dump.stderr")
	state=$(proc_state "$pid")
	if [ $st -eq 137 ]; then
		result FAIL "FAIL $name: the dump hung (killed after 60 s)"
	elif [ $st -eq 0 ]; then
		result FAIL "FAIL $name: dump of 256 MiB into a 32 MiB tmpfs exited with status 0"
	elif ! alive "$pid"; then
		result FAIL "FAIL $name: the target died in the failed dump: $(log_tail "$dir/test.log")"
	elif [ "$state" = T ] || [ "$state" = t ]; then
		result FAIL "FAIL $name: the target is left stopped (state $state)"
	elif [ "$lines" -ne 1 ] || ! grep -q '^error:.*pages-[0-9]*\.img: write failed: No space left' "$dir/dump.stderr"; then
		result FAIL "FAIL $name: expected one 'error: ... pages-PID.img: write failed: No space left' line, got $lines: $(head -3 "$dir/dump.stderr" | tr '\n' '|' | cut -c1-300)"
	elif [ -e "$img/inventory.img" ] || [ ! -e "$img/dump-incomplete" ]; then
		result FAIL "FAIL $name: the failed dump left inventory.img or no dump-incomplete mark: $(ls "$img" | tr '\n' ' ')"
	elif "$CRIU" restore -D "$img" > "$dir/restore.out" 2>&1 < /dev/null; then
		result FAIL "FAIL $name: restore of the failed dump's directory exited with status 0"
	else
		kill -USR1 "$pid"; wait "$pid"; st=$?
		if [ $st -ne 0 ]; then
			result FAIL "FAIL $name: the target fails its checks after the failed dump: $(log_tail "$dir/test.log")"
		else
			result PASS "PASS $name"
		fi
	fi
	kill -KILL "$pid" 2>/dev/null
	wait "$pid" 2>/dev/null
	umount "$dir/mnt" && NOSPACE_MNT=
}

# ------------------------------------------------------ cli checks
#
# The command's behaviour around the program tests: --shell-job, a pid in
# use, the exit status of `criu restore`, a restore failing once the process
# exists, `criu show`, `criu check`.  Each check runs in test/out/cli/CHECK;
# the programs are test/progs/cli_target (modes) and, for terminals,
# test/progs/ptyrun.

# bounded DIR SECONDS PREFIX CMD...: runs CMD with stdin /dev/null, stdout
# in DIR/PREFIX.out and stderr in DIR/PREFIX.err, for at most SECONDS; sets
# ST (124 if it had to be killed)
ST=
bounded() {
	local dir=$1 secs=$2 pre=$3 p
	shift 3
	"$@" > "$dir/$pre.out" 2> "$dir/$pre.err" < /dev/null &
	p=$!
	track "$p"
	if ! wait_for "$secs" bash -c "[ ! -e /proc/$p ] || grep -q '^State:.*Z' /proc/$p/status"; then
		kill -KILL "$p" 2>/dev/null
		wait "$p" 2>/dev/null
		ST=124
		return
	fi
	wait "$p"
	ST=$?
}

# one_error FILE: FILE holds exactly one line, and it starts with "error:";
# else sets CMP_REASON
one_error() {
	local f=$1 lines
	lines=$(grep -c . "$f")
	if [ "$lines" -ne 1 ] || ! grep -q '^error:' "$f"; then
		CMP_REASON="expected one 'error:' line on stderr, got $lines: $(head -3 "$f" | tr '\n' '|' | cut -c1-300)"
		return 1
	fi
	return 0
}

# start_target DIR ARGS...: starts cli_target ARGS, sets PID, waits for
# READY and for its wait for SIGUSR1
start_target() {
	local dir=$1
	shift
	"$ROOT/test/progs/cli_target" "$@" > "$dir/test.log" 2>&1 < /dev/null &
	PID=$!
	track "$PID"
	if ! wait_for "$READY_TIMEOUT" has_ready "$dir/test.log" || ! wait_for 5 in_sigwait "$PID"; then
		CMP_REASON="cli_target $* did not get ready: $(log_tail "$dir/test.log")"
		return 1
	fi
}

# dump_and_reap DIR PID IMG [ARGS...]: dumps (killing it), waits for it to go
dump_and_reap() {
	local dir=$1 pid=$2 img=$3
	shift 3
	if ! "$CRIU" dump -t "$pid" -D "$img" "$@" -v4 -o "$dir/dump.log" \
		> "$dir/dump.out" 2>&1 < /dev/null; then
		CMP_REASON="dump failed: $(criu_error "$dir/dump.log")"
		return 1
	fi
	if ! wait_for 10 bash -c "! grep -q '^State:.*[RSDT]' /proc/$pid/status 2>/dev/null"; then
		CMP_REASON="still running 10s after the dump (state $(proc_state "$pid"))"
		return 1
	fi
	wait "$pid" 2>/dev/null
	return 0
}

# a program on a terminal: refused without --shell-job (and left running),
# dumped with it; its images refused by a restore without --shell-job and
# restored by one with it, run on a terminal too
cli_shell_job() {
	local name=$1 dir=$2 hp pid st
	"$ROOT/test/progs/ptyrun" -p "$dir/prog.pid" "$ROOT/test/progs/cli_target" tty \
		> "$dir/test.log" 2>&1 < /dev/null &
	hp=$!
	track "$hp"
	if ! wait_for 5 pidfile_ready "$dir/prog.pid"; then
		result FAIL "FAIL $name: ptyrun wrote no pidfile: $(log_tail "$dir/test.log")"
		return
	fi
	pid=$(cat "$dir/prog.pid")
	track "$pid"
	if ! wait_for "$READY_TIMEOUT" has_ready "$dir/test.log" || ! wait_for 5 in_sigwait "$pid"; then
		result FAIL "FAIL $name: cli_target tty did not get ready on a terminal: $(log_tail "$dir/test.log")"
		return
	fi

	# without --shell-job: refused, naming the fd, and the program runs on
	"$CRIU" dump -t "$pid" -D "$dir/img-refused" > "$dir/refused.out" 2> "$dir/refused.err" < /dev/null
	st=$?
	if [ $st -eq 0 ]; then
		result FAIL "FAIL $name: dump of a program on a terminal without --shell-job exited with status 0"
		return
	fi
	if ! one_error "$dir/refused.err"; then
		result FAIL "FAIL $name: dump without --shell-job: $CMP_REASON"
		return
	fi
	if ! grep -qE 'fd [012]\b' "$dir/refused.err" || ! grep -qF -- '--shell-job' "$dir/refused.err"; then
		result FAIL "FAIL $name: dump without --shell-job: the error does not name the fd and --shell-job: $(cut -c1-200 "$dir/refused.err")"
		return
	fi
	if ! alive "$pid" || ! wait_for 5 in_sigwait "$pid"; then
		result FAIL "FAIL $name: the program is not running (state $(proc_state "$pid")) after the refused dump"
		return
	fi

	if ! dump_and_reap "$dir" "$pid" "$dir/img" --shell-job; then
		result FAIL "FAIL $name: --shell-job: $CMP_REASON"
		return
	fi
	wait "$hp" 2>/dev/null

	# a restore without --shell-job refuses the images, before creating anything
	bounded "$dir" 20 restore-refused "$CRIU" restore -D "$dir/img"
	if [ "$ST" -eq 0 ] || [ "$ST" -eq 124 ]; then
		result FAIL "FAIL $name: restore of a --shell-job dump without --shell-job exited with status $ST"
		return
	fi
	if ! one_error "$dir/restore-refused.err"; then
		result FAIL "FAIL $name: restore without --shell-job: $CMP_REASON"
		return
	fi
	if ! grep -qF -- '--shell-job' "$dir/restore-refused.err"; then
		result FAIL "FAIL $name: restore without --shell-job: the error does not say --shell-job: $(cut -c1-200 "$dir/restore-refused.err")"
		return
	fi
	if [ -e "/proc/$pid" ]; then
		result FAIL "FAIL $name: pid $pid exists (state $(proc_state "$pid")) after the refused restore"
		return
	fi

	# restore --shell-job on a terminal of its own
	rm -f "$dir/pidfile"
	"$ROOT/test/progs/ptyrun" "$CRIU" restore -D "$dir/img" --shell-job -v4 \
		-o "$dir/restore.log" --pidfile "$dir/pidfile" > "$dir/restore.tty" 2>&1 < /dev/null &
	RPID=$!
	track "$RPID"
	await_restored "$dir" "$pid" "$name" || return
	if ! wait_for 10 in_sigwait "$pid"; then
		result FAIL "FAIL $name: restored program is not back in its wait for SIGUSR1 (state $(proc_state "$pid"))"
		return
	fi
	kill -USR1 "$pid"
	wait "$RPID"
	st=$?
	if [ $st -ne 0 ] || ! grep -q '^PASS$' "$dir/restore.tty"; then
		result FAIL "FAIL $name: restore --shell-job exited with status $st: $(log_tail "$dir/restore.tty" 3) $(criu_error "$dir/restore.log")"
		return
	fi
	for st in 0 1 2; do
		if ! grep -q "^tty fd $st ok\$" "$dir/restore.tty"; then
			result FAIL "FAIL $name: no 'tty fd $st ok' from the restored program on its terminal: $(log_tail "$dir/restore.tty" 4)"
			return
		fi
	done
	result PASS "PASS $name"
}

# a restore while the dumped program still runs: refused, and the program
# goes on unharmed
cli_pid_in_use() {
	local name=$1 dir=$2 pid st
	if [ ! -x "$ROOT/test/progs/files" ]; then
		result SKIP "SKIP $name: test/progs/files not built"
		return
	fi
	mkdir -p "$dir/tmp"
	TEST_TMPDIR=${USER_TMPDIR:-$dir/tmp} start_prog files "$dir"
	if [ $? -ne 0 ] || ! wait_for 5 in_sigwait "$PID"; then
		result FAIL "FAIL $name: files did not get ready: $(log_tail "$dir/test.log")"
		return
	fi
	pid=$PID
	if ! "$CRIU" dump -t "$pid" -D "$dir/img" --leave-running -v4 -o "$dir/dump.log" \
		> "$dir/dump.out" 2>&1 < /dev/null; then
		result FAIL "FAIL $name: dump --leave-running failed: $(criu_error "$dir/dump.log")"
		return
	fi
	if ! alive "$pid" || ! wait_for 5 in_sigwait "$pid"; then
		result FAIL "FAIL $name: not running (state $(proc_state "$pid")) after dump --leave-running"
		return
	fi
	bounded "$dir" 20 restore "$CRIU" restore -D "$dir/img"
	if [ "$ST" -eq 0 ] || [ "$ST" -eq 124 ]; then
		result FAIL "FAIL $name: restore while pid $pid runs exited with status $ST"
		return
	fi
	if ! one_error "$dir/restore.err"; then
		result FAIL "FAIL $name: $CMP_REASON"
		return
	fi
	if ! grep -qw "$pid" "$dir/restore.err" || ! grep -q 'in use' "$dir/restore.err"; then
		result FAIL "FAIL $name: the error does not say pid $pid is in use: $(cut -c1-200 "$dir/restore.err")"
		return
	fi
	st=$(proc_state "$pid")
	if ! alive "$pid" || [ "$st" = T ] || [ "$st" = t ] || ! in_sigwait "$pid"; then
		result FAIL "FAIL $name: the original is not in its wait any more after the refused restore (state $st)"
		return
	fi
	kill -USR1 "$pid"
	wait "$pid"
	st=$?
	if [ $st -ne 0 ] || ! grep -q '^PASS$' "$dir/test.log"; then
		result FAIL "FAIL $name: the original fails its checks after the refused restore (status $st): $(log_tail "$dir/test.log")"
		return
	fi
	result PASS "PASS $name"
}

# criu restore (without -d) exits with the restored program's status
cli_exit_status() {
	local name=$1 dir=$2 want=$3 pid st
	shift 3
	if ! start_target "$dir" "$@"; then
		result FAIL "FAIL $name: $CMP_REASON"
		return
	fi
	pid=$PID
	if ! dump_and_reap "$dir" "$pid" "$dir/img"; then
		result FAIL "FAIL $name: $CMP_REASON"
		return
	fi
	restore_bg "$dir" "$dir/img"
	await_restored "$dir" "$pid" "$name" || return
	if ! wait_for 10 in_sigwait "$pid"; then
		result FAIL "FAIL $name: restored program is not back in its wait for SIGUSR1 (state $(proc_state "$pid"))"
		return
	fi
	kill -USR1 "$pid"
	wait "$RPID"
	st=$?
	if [ $st -ne "$want" ]; then
		result FAIL "FAIL $name: criu restore exited with status $st, expected $want: $(log_tail "$dir/test.log") $(criu_error "$dir/restore.log")"
		return
	fi
	result PASS "PASS $name"
}

# the images pass the checks made before the process is created, the
# process fails to open its file (a directory now): criu reports it, exits
# non-zero, and leaves nothing behind
cli_restore_fail_kills() {
	local name=$1 dir=$2 pid path
	mkdir -p "$dir/tmp"
	if ! TEST_TMPDIR=${USER_TMPDIR:-$dir/tmp} start_target "$dir" rdwr; then
		result FAIL "FAIL $name: $CMP_REASON"
		return
	fi
	pid=$PID
	path=$(sed -n 's/^file //p' "$dir/test.log")
	if [ -z "$path" ] || [ ! -f "$path" ]; then
		result FAIL "FAIL $name: cli_target rdwr named no file: $(log_tail "$dir/test.log")"
		return
	fi
	if ! dump_and_reap "$dir" "$pid" "$dir/img"; then
		result FAIL "FAIL $name: $CMP_REASON"
		return
	fi
	# fd 3 was opened O_RDWR: stat() of the path still works, open() fails
	rm -f "$path" && mkdir "$path"
	bounded "$dir" 20 restore "$CRIU" restore -D "$dir/img"
	if [ -e "/proc/$pid" ]; then
		result FAIL "FAIL $name: pid $pid exists (state $(proc_state "$pid")) after criu restore exited with status $ST"
		return
	fi
	if [ "$ST" -eq 0 ] || [ "$ST" -eq 124 ]; then
		result FAIL "FAIL $name: restore with fd 3's file replaced by a directory exited with status $ST"
		return
	fi
	if ! one_error "$dir/restore.err"; then
		result FAIL "FAIL $name: $CMP_REASON"
		return
	fi
	if ! grep -qF "$path" "$dir/restore.err"; then
		result FAIL "FAIL $name: the error does not name $path: $(cut -c1-200 "$dir/restore.err")"
		return
	fi
	result PASS "PASS $name"
}

# criu show DIR: JSON with the pid, the vmas and the signal actions
SHOW_JSON_CHECK='
import json, sys
pid = int(sys.argv[1])
d = json.load(sys.stdin)
def entries(name):
    f = d.get(name)
    if not isinstance(f, dict) or not isinstance(f.get("entries"), list) or not f["entries"]:
        sys.exit("no entries for %s" % name)
    return f["entries"]
if entries("pstree.img")[0].get("pid") != pid:
    sys.exit("pstree.img: pid is not %d" % pid)
vmas = entries("mm-%d.img" % pid)[0].get("vmas")
if not isinstance(vmas, list) or len(vmas) < 3:
    sys.exit("mm-%d.img: no vma list" % pid)
sa = entries("core-%d.img" % pid)[0].get("sigactions")
if not isinstance(sa, list) or not sa:
    sys.exit("core-%d.img: no sigactions" % pid)
'
cli_show() {
	local name=$1 dir=$2 pid
	if ! make_good_image; then
		result SKIP "SKIP $name: no good image: $(cat "$BAD/good.failed")"
		return
	fi
	pid=$GOOD_PID
	bounded "$dir" 20 show "$CRIU" show "$BAD/good"
	if [ "$ST" -ne 0 ]; then
		result FAIL "FAIL $name: criu show exited with status $ST: $(head -2 "$dir/show.err" | tr '\n' ' ' | cut -c1-200)"
		return
	fi
	if [ -s "$dir/show.err" ]; then
		result FAIL "FAIL $name: criu show wrote to stderr: $(head -2 "$dir/show.err" | tr '\n' ' ' | cut -c1-200)"
		return
	fi
	if python3 -c "import json" > /dev/null 2>&1; then
		if ! python3 -c "$SHOW_JSON_CHECK" "$pid" < "$dir/show.out" > "$dir/json.err" 2>&1; then
			result FAIL "FAIL $name: criu show output: $(tail -1 "$dir/json.err" | cut -c1-200)"
			return
		fi
	else
		local key
		for key in "\"pid\": $pid" '"vmas"' '"sigactions"' "\"mm-$pid.img\""; do
			if ! grep -qF "$key" "$dir/show.out"; then
				result FAIL "FAIL $name: no $key in the output of criu show"
				return
			fi
		done
	fi
	result PASS "PASS $name"
}

# criu show on a corrupted image file: exit 1, one error line
cli_show_corrupt() {
	local name=$1 dir=$2 f size
	if ! make_good_image; then
		result SKIP "SKIP $name: no good image: $(cat "$BAD/good.failed")"
		return
	fi
	f=$dir/mm-$GOOD_PID.img
	cp "$BAD/good/mm-$GOOD_PID.img" "$f"
	size=$(stat -c %s "$f")
	flip_bit "$f" $(( size / 2 ))
	bounded "$dir" 20 show "$CRIU" show "$f"
	if [ "$ST" -ne 1 ]; then
		result FAIL "FAIL $name: criu show of a corrupted mm image exited with status $ST, expected 1"
		return
	fi
	if ! one_error "$dir/show.err"; then
		result FAIL "FAIL $name: $CMP_REASON"
		return
	fi
	if ! grep -qF "mm-$GOOD_PID.img" "$dir/show.err"; then
		result FAIL "FAIL $name: the error does not name mm-$GOOD_PID.img: $(cut -c1-200 "$dir/show.err")"
		return
	fi
	result PASS "PASS $name"
}

# criu check: exit 0 and "Looks good." here
cli_check() {
	local name=$1 dir=$2
	bounded "$dir" 30 check "$CRIU" check
	if [ "$ST" -ne 0 ]; then
		result FAIL "FAIL $name: criu check exited with status $ST: $(grep -m2 -e missing -e error "$dir/check.out" "$dir/check.err" | tr '\n' ' ' | cut -c1-250)"
		return
	fi
	if [ "$(tail -n 1 "$dir/check.out")" != "Looks good." ]; then
		result FAIL "FAIL $name: criu check's last line is not 'Looks good.': $(tail -n 1 "$dir/check.out" | cut -c1-200)"
		return
	fi
	result PASS "PASS $name"
}

# criu check --feature with an unknown name: exit 1, one error line naming it
# a thread found inside an rseq critical section (test/progs/rseq_cs) is
# dumped at the section's abort handler, not inside it; dump
# --leave-running leaves it working, section and all
cli_rseq_fixup() {
	local name=$1 dir=$2 pid cs tid rip st
	"$ROOT/test/progs/rseq_cs" > "$dir/test.log" 2>&1 < /dev/null &
	pid=$!
	track "$pid"
	if ! wait_for "$READY_TIMEOUT" has_ready "$dir/test.log"; then
		wait "$pid"
		if [ $? -eq 77 ]; then
			result SKIP "SKIP $name: $(sed -n 's/^SKIP: //p' "$dir/test.log" | head -1)"
		else
			result FAIL "FAIL $name: rseq_cs did not get ready: $(log_tail "$dir/test.log")"
		fi
		return
	fi
	read -r _ cs < <(grep -m1 '^cs ' "$dir/test.log")
	tid=$(sed -n 's/^tid //p' "$dir/test.log")
	if ! "$CRIU" dump -t "$pid" -D "$dir/img" --leave-running -v4 -o "$dir/dump.log" > "$dir/dump.out" 2>&1 < /dev/null; then
		result FAIL "FAIL $name: dump failed: $(criu_error "$dir/dump.log")"
		return
	fi
	rip=$("$CRIU" show "$dir/img/core-$tid.img" | python3 -c 'import json,sys; r = json.load(sys.stdin)["entries"][0]["thread"]["regs"]["rip"]; print(int(r, 0) if isinstance(r, str) else r)')
	set -- $cs
	if [ -z "$rip" ] || [ "$rip" -ge "$1" ] && [ "$rip" -lt "$2" ]; then
		result FAIL "FAIL $name: thread $tid dumped at ${rip:-?}, inside its rseq critical section [$1, $2)"
		return
	fi
	kill -USR1 "$pid"
	wait "$pid"; st=$?
	if [ $st -ne 0 ] || ! grep -q '^PASS$' "$dir/test.log"; then
		result FAIL "FAIL $name: after dump --leave-running: $(log_tail "$dir/test.log")"
		return
	fi
	result PASS "PASS $name"
}

cli_check_unknown_feature() {
	local name=$1 dir=$2
	bounded "$dir" 30 check "$CRIU" check --feature nosuch
	if [ "$ST" -ne 1 ]; then
		result FAIL "FAIL $name: criu check --feature nosuch exited with status $ST, expected 1"
		return
	fi
	if ! one_error "$dir/check.err"; then
		result FAIL "FAIL $name: $CMP_REASON"
		return
	fi
	if ! grep -qw nosuch "$dir/check.err"; then
		result FAIL "FAIL $name: the error does not name 'nosuch': $(cut -c1-200 "$dir/check.err")"
		return
	fi
	if grep -q 'Looks good' "$dir/check.out"; then
		result FAIL "FAIL $name: criu check --feature nosuch printed 'Looks good.'"
		return
	fi
	result PASS "PASS $name"
}

run_cli_check() {
	local check=$1 name=cli/$1 dir=$OUT/cli/$1 p
	if [ ! -x "$CRIU" ]; then
		result SKIP "SKIP $name: ${CRIU#$ROOT/} not built"
		return
	fi
	for p in cli_target ptyrun; do
		if [ ! -x "$ROOT/test/progs/$p" ]; then
			result SKIP "SKIP $name: test/progs/$p not built"
			return
		fi
	done
	mkdir -p "$dir"
	case $check in
	shell_job) cli_shell_job "$name" "$dir" ;;
	pid_in_use) cli_pid_in_use "$name" "$dir" ;;
	exit_code) cli_exit_status "$name" "$dir" 7 exit 7 ;;
	exit_signal) cli_exit_status "$name" "$dir" $(( 128 + 15 )) raise 15 ;;
	restore_fail_kills) cli_restore_fail_kills "$name" "$dir" ;;
	show) cli_show "$name" "$dir" ;;
	show_corrupt) cli_show_corrupt "$name" "$dir" ;;
	check) cli_check "$name" "$dir" ;;
	check_unknown_feature) cli_check_unknown_feature "$name" "$dir" ;;
	rseq_fixup) cli_rseq_fixup "$name" "$dir" ;;
	*) result FAIL "FAIL $name: no such check"; return ;;
	esac
	if [ "$TEST_KEEP_IMAGES" != 1 ] && [ "$(cat "$RESULT_FILE" 2>/dev/null)" = PASS ]; then
		rm -rf "$dir/img" "$dir/img-refused"
	fi
}

# ------------------------------------------------------ one test (child)

# the process group of a pid (field 5 of /proc/PID/stat)
pgid_of() { sed -E 's/.*\) [A-Za-z] [0-9]+ ([0-9]+).*/\1/' "/proc/$1/stat" 2>/dev/null; }

# SIGTERM to whatever else is left in this test's process group (timeout
# made it; the top-level runner is outside it), e.g. a grandchild of a
# killed criu
kill_group() {
	local me
	me=$(pgid_of $$)
	[ -n "$me" ] && [ -n "${RUNNER_PID:-}" ] && [ "$me" != "$(pgid_of "$RUNNER_PID")" ] || return 0
	trap '' TERM
	kill -TERM -- "-$me" 2>/dev/null
	return 0
}

# bash test/run.sh --one NAME: runs one test; its pids are in
# test/out/NAME/pids, its result in test/out/NAME/status
run_one() {
	local name=$1 dir=$OUT/$1
	rm -rf "$dir"
	mkdir -p "$dir"
	RESULT_FILE=$dir/status
	PIDS_FILE=$dir/pids
	rm -f "$RESULT_FILE" "$PIDS_FILE"
	TEST_PORT=$(port_block "$name")
	export TEST_PORT
	# the shell's own complaints (job "Killed" notices...) go to a file
	exec 2> "$dir/runner.err"
	trap 'kill_tracked "$PIDS_FILE" $$; kill_group; [ -z "$NOSPACE_MNT" ] || umount -l "$NOSPACE_MNT"' EXIT
	trap 'exit 124' TERM
	case $name in
	bad_input/*) run_bad_check "${name#bad_input/}" ;;
	cli/*) run_cli_check "${name#cli/}" ;;
	lazy/*) run_lazy "${name#lazy/}" ;;
	snapshot/tree) run_snapshot_tree ;;
	*/*)
		if [ -n "${SECTION_RUN[${name%%/*}]:-}" ]; then
			"${SECTION_RUN[${name%%/*}]}" "${name#*/}"
		else
			result FAIL "FAIL $name: no such section"
		fi ;;
	*) run_prog_test "$name" ;;
	esac
}

# Sections: every test/*.sh but this file is sourced here.  One that has
# checks of its own registers them: `section NAME CHECKS_ARRAY RUN_FUNC`
# (NAME/CHECK runs RUN_FUNC CHECK; NAME alone runs every check of
# CHECKS_ARRAY; with no NAME every registered section runs, in file order).
# The lazy section (test/lazy.sh) and snapshot/tree are dispatched above.
declare -A SECTION_RUN=() SECTION_CHECKS=()
# a check that needs longer than TEST_TIMEOUT on a loaded machine: its own, set by its section
declare -A TIMEOUT_OF=()
SECTION_ORDER=()
section() {
	SECTION_ORDER+=("$1")
	SECTION_CHECKS[$1]=$2
	SECTION_RUN[$1]=$3
}
for f in "$ROOT"/test/*.sh; do
	[ "$f" = "$ROOT/test/run.sh" ] || source "$f"
done

# ------------------------------------------------------ main

NO_CKPT=0
if [ "${1:-}" = --one ]; then
	[ "${3:-}" = --no-ckpt ] && NO_CKPT=1
	run_one "$2"
	exit 0
fi

if [ "${1:-}" = --no-ckpt ]; then
	NO_CKPT=1
	shift
fi

names=()
if [ $# -eq 0 ]; then
	for src in test/progs/*.c; do
		n=$(basename "$src" .c)
		[ "${MODE[$n]:-normal}" = none ] && continue
		[ "$NO_CKPT" != 1 ] && in_modes_list "$n" && continue	# modes/N-*
		names+=("$n")
	done
	[ "$NO_CKPT" = 1 ] || names+=(bad_input cli "${SECTION_ORDER[@]}" snapshot/tree lazy)
else
	names=("$@")
fi
expanded=()
for n in "${names[@]}"; do
	if [ "$n" = bad_input ]; then
		for c in "${BAD_CHECKS[@]}"; do expanded+=("bad_input/$c"); done
	elif [ "$n" = cli ]; then
		for c in "${CLI_CHECKS[@]}"; do expanded+=("cli/$c"); done
	elif [ -n "${SECTION_CHECKS[$n]:-}" ]; then
		declare -n checks=${SECTION_CHECKS[$n]}
		for c in "${checks[@]}"; do expanded+=("$n/$c"); done
		unset -n checks
	elif [ "$n" = lazy ]; then
		for src in test/progs/*.c; do
			c=$(basename "$src" .c)
			# no restore after a killed dumper: nothing lazy to test
			in_modes_list "$c" && continue	# modes/c-lazy
			case ${MODE[$c]:-normal} in
			none|snapshot_kill|snapshot_refused|snapshot_flags) ;;
			*) expanded+=("lazy/$c") ;;
			esac
		done
		for c in "${LAZY_CHECKS[@]}"; do expanded+=("lazy/$c"); done
		for c in "${LAZY_REMOTE_PROGS[@]}"; do expanded+=("lazy/remote-$c"); done
	else
		expanded+=("$n")
	fi
done

export RUNNER_PID=$$
mkdir -p "$OUT"
# one runner at a time: they share test/out and the images' pids
exec 9> "$OUT/.lock"
if ! flock -n 9; then
	echo "test/run.sh: another run holds $OUT/.lock; waiting for it" >&2
	flock 9
fi
rm -rf "$BAD/good" "$BAD/good.pid" "$BAD/good.failed"
passed=0 failed=0 skipped=0
for n in "${expanded[@]}"; do
	dir=$OUT/$n
	rm -f "$dir/status"
	extra=()
	[ "$NO_CKPT" = 1 ] && extra=(--no-ckpt)
	limit=${TIMEOUT_OF[$n]:-$TEST_TIMEOUT}
	timeout -k 5 "$limit" bash "$0" --one "$n" "${extra[@]}" 9>&-
	st=$?
	# whatever happened, nothing of this test may stay behind
	kill_tracked "$dir/pids"
	status=$(cat "$dir/status" 2>/dev/null)
	if [ -z "$status" ]; then
		if [ $st -eq 124 ] || [ $st -eq 137 ]; then
			echo "FAIL $n: timed out after ${limit}s"
		else
			echo "FAIL $n: the runner died (status $st)"
		fi
		status=FAIL
	fi
	case $status in
	PASS) passed=$(( passed + 1 )) ;;
	SKIP) skipped=$(( skipped + 1 )) ;;
	*) failed=$(( failed + 1 )) ;;
	esac
done

summary="$passed passed, $failed failed"
[ $skipped -gt 0 ] && summary+=", $skipped skipped"
echo "$summary"
[ $failed -eq 0 ]
