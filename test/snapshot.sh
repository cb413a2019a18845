# test/snapshot.sh - the live-snapshot modes of test/run.sh (sourced by it).
#
# "snapshot": while the program writes, `criu dump --leave-running
# --live-snapshot`; the program must go on running, unblocked, with nothing
# of criu left in it (no userfaultfd among its fds, no mapping registered
# with one); then the original is killed, the images restored, and after a
# second of running on, SIGUSR1 makes the program check that every page
# shows the instant of the freeze (test/progs/snapshot_writer.h).
# "snapshot_kill": the dumper is killed (SIGKILL) in the middle of the copy:
# the program must carry on, unblocked, with nothing of criu left, and pass
# its own checks.

# why PID is not clean of criu's userfaultfd, or nothing
snapshot_leftovers() {
	local pid=$1 fd link
	for fd in $(ls "/proc/$pid/fd" 2>/dev/null); do
		link=$(readlink "/proc/$pid/fd/$fd" 2>/dev/null)
		if [ "$link" = "anon_inode:[userfaultfd]" ]; then
			echo "fd $fd is a userfaultfd"
			return
		fi
	done
	# VmFlags "uw": registered for write-protect faults
	if grep -E '^VmFlags:.* uw( |$)' "/proc/$pid/smaps" > /dev/null 2>&1; then
		echo "$(grep -cE '^VmFlags:.* uw( |$)' "/proc/$pid/smaps") mapping(s) still registered (VmFlags uw)"
		return
	fi
	case $(proc_state "$pid") in
	T|t) echo "stopped (state $(proc_state "$pid"))" ;;
	esac
}

# runs_on_clean NAME DIR PID WHEN: after WHEN the program has nothing of
# criu left, goes on counting, and passes its own checks on SIGUSR1
runs_on_clean() {
	local name=$1 dir=$2 pid=$3 when=$4 left c st
	left=$(snapshot_leftovers "$pid")
	if [ -n "$left" ]; then
		result FAIL "FAIL $name: after $when the program is not clean: $left"
		return
	fi
	c=$(last_count "$dir/test.log")
	if ! count_moves "$dir/test.log" "${c:-0}"; then
		result FAIL "FAIL $name: blocked after $when (state $(proc_state "$pid")): $(log_tail "$dir/test.log")"
		return
	fi
	kill -USR1 "$pid"
	wait "$pid"; st=$?
	if [ $st -ne 0 ] || ! grep -q '^PASS$' "$dir/test.log"; then
		result FAIL "FAIL $name: status $st after $when: $(log_tail "$dir/test.log")"
		return
	fi
	result PASS "PASS $name"
}

# live_dump_bg DIR PID: dump --live-snapshot in the background (its pid in
# cp); returns once the process was let go, the copy under way
live_dump_bg() {
	"$CRIU" dump -t "$2" -D "$1/img" --leave-running --live-snapshot -v4 \
		-o "$1/dump.log" > "$1/dump.out" 2>&1 < /dev/null &
	cp=$!
	track "$cp"
	wait_for 10 grep -q 'pages copied while frozen' "$1/dump.log"
}

# start_snapshot_prog NAME DIR: start_prog and wait for it to count; sets PID
start_snapshot_prog() {
	local name=$1 dir=$2
	start_prog "$name" "$dir"
	case $? in
	1) wait "$PID"; result FAIL "FAIL $name: exited before READY: $(log_tail "$dir/test.log")"; return 1 ;;
	2) result FAIL "FAIL $name: no READY within ${READY_TIMEOUT}s"; return 1 ;;
	esac
	if ! count_moves "$dir/test.log" 0; then
		result FAIL "FAIL $name: not counting: $(log_tail "$dir/test.log")"
		return 1
	fi
	if [ "$NO_CKPT" = 1 ]; then
		kill -USR1 "$PID"; wait "$PID"
		if [ $? -ne 0 ] || ! grep -q '^PASS$' "$dir/test.log"; then
			result FAIL "FAIL $name: without checkpoint: $(log_tail "$dir/test.log")"
		else
			result PASS "PASS $name"
		fi
		return 1
	fi
	return 0
}

run_snapshot() {
	local name=$1 dir=$2 pid c left

	start_snapshot_prog "$name" "$dir" || return
	pid=$PID
	capture "$pid" "$dir" before || { result FAIL "FAIL $name: cannot read /proc/$pid"; return; }
	c=$(last_count "$dir/test.log")
	if ! "$CRIU" dump -t "$pid" -D "$dir/img" --leave-running --live-snapshot -v4 \
		-o "$dir/dump.log" > "$dir/dump.out" 2>&1 < /dev/null; then
		result FAIL "FAIL $name: dump --live-snapshot failed: $(criu_error "$dir/dump.log")"
		return
	fi
	if ! grep -q 'live snapshot copied' "$dir/dump.log"; then
		result FAIL "FAIL $name: the dump did not copy memory live"
		return
	fi
	left=$(snapshot_leftovers "$pid")
	if [ -n "$left" ]; then
		result FAIL "FAIL $name: after the live snapshot the program is not clean: $left"
		return
	fi
	if ! count_moves "$dir/test.log" "${c:-0}"; then
		result FAIL "FAIL $name: stopped counting after the live snapshot: $(log_tail "$dir/test.log")"
		return
	fi
	kill -KILL "$pid"
	wait "$pid" 2>/dev/null
	wait_for 5 bash -c "[ ! -e /proc/$pid ]"

	restore_bg "$dir" "$dir/img"
	await_restored "$dir" "$pid" "$name" || return
	capture "$pid" "$dir" after || { result FAIL "FAIL $name: cannot read /proc/$pid after restore"; return; }
	if ! compare "$dir"; then
		result FAIL "FAIL $name: $CMP_REASON"
		return
	fi
	# let the writers come round to their pages again, then the full check
	sleep 1
	finish "$dir" "$name" "$pid" || return
	result PASS "PASS $name"
}

run_snapshot_kill() {
	local name=$1 dir=$2 pid cp c left st

	start_snapshot_prog "$name" "$dir" || return
	pid=$PID
	# the memory is protected and the program runs again: the copy is under way
	if ! live_dump_bg "$dir" "$pid"; then
		kill -KILL "$cp" 2>/dev/null; wait "$cp" 2>/dev/null
		result FAIL "FAIL $name: the live snapshot did not start: $(criu_error "$dir/dump.log")"
		return
	fi
	sleep 0.05
	if ! alive "$cp"; then
		result FAIL "FAIL $name: the dump ended before it could be killed mid-copy"
		return
	fi
	kill -KILL "$cp"
	wait "$cp" 2>/dev/null
	if [ -e "$dir/img/inventory.img" ] || grep -q 'live snapshot copied' "$dir/dump.log"; then
		result FAIL "FAIL $name: the copy was over when the dumper was killed"
		return
	fi
	sleep 0.5
	runs_on_clean "$name" "$dir" "$pid" "the dumper was killed"
}

# "snapshot_chain": pre-dump --live-snapshot --track-mem while it writes
# (the first round is consistent and tracking takes over from the snapshot),
# the program pauses its writers during that copy for good, then a tracked
# pre-dump, a final dump on top, restored: every page written during the
# live copy must be in a later round, or the restored program finds it stale
run_snapshot_chain() {
	local name=$1 dir=$2 pid cp st

	start_snapshot_prog "$name" "$dir" || return
	pid=$PID
	rm -rf "$dir/img"; mkdir -p "$dir/img"
	"$CRIU" pre-dump -t "$pid" -D "$dir/img/d0" --track-mem --live-snapshot -v4 \
		-o "$dir/pre-0.log" > "$dir/pre-0.out" 2>&1 < /dev/null &
	cp=$!
	track "$cp"
	# pause the writers in the middle of the copy: what they wrote during it
	# is written over by nothing later, and must be in pre-dump 1
	wait_for 10 grep -q 'pages copied while frozen' "$dir/pre-0.log"
	sleep 0.03
	kill -USR2 "$pid"
	wait "$cp"; st=$?
	if [ $st -ne 0 ]; then
		result FAIL "FAIL $name: pre-dump --live-snapshot failed: $(criu_error "$dir/pre-0.log")"
		return
	fi
	if ! grep -q 'tracking took over' "$dir/pre-0.log"; then
		result FAIL "FAIL $name: pre-dump 0 did not hand over to write tracking"
		return
	fi
	if ! wait_for 5 grep -q '^paused' "$dir/test.log"; then
		result FAIL "FAIL $name: did not pause: $(log_tail "$dir/test.log")"
		return
	fi
	if ! "$CRIU" pre-dump -t "$pid" -D "$dir/img/d1" --prev-images-dir ../d0 --track-mem -v4 \
		-o "$dir/pre-1.log" > "$dir/pre-1.out" 2>&1 < /dev/null; then
		result FAIL "FAIL $name: pre-dump 1 failed: $(criu_error "$dir/pre-1.log")"
		return
	fi
	if ! "$CRIU" dump -t "$pid" -D "$dir/img/d2" --prev-images-dir ../d1 --track-mem -v4 \
		-o "$dir/dump.log" > "$dir/dump.out" 2>&1 < /dev/null; then
		result FAIL "FAIL $name: final dump failed: $(criu_error "$dir/dump.log")"
		return
	fi
	wait "$pid" 2>/dev/null
	wait_for 5 bash -c "[ ! -e /proc/$pid ]"
	restore_bg "$dir" "$dir/img/d2"
	await_restored "$dir" "$pid" "$name" || return
	finish "$dir" "$name" "$pid" || return
	result PASS "PASS $name"
}

# "snapshot_refused": the program unmaps memory the live snapshot has not
# copied yet: the dump must fail with one clear error, mark the directory
# incomplete, and leave the program running as before, clean of criu
run_snapshot_refused() {
	local name=$1 dir=$2 pid cp st left c

	start_snapshot_prog "$name" "$dir" || return
	pid=$PID
	live_dump_bg "$dir" "$pid"
	kill -USR2 "$pid"
	wait "$cp"; st=$?
	if [ $st -eq 0 ]; then
		result FAIL "FAIL $name: the dump succeeded though memory it had not copied was unmapped"
		return
	fi
	if ! grep -qE '(unmapped|vanished).* during the live snapshot' "$dir/dump.log" ||
	   [ ! -e "$dir/img/dump-incomplete" ] || [ -e "$dir/img/inventory.img" ]; then
		result FAIL "FAIL $name: the dump failed, but not as it should: $(criu_error "$dir/dump.log")"
		return
	fi
	runs_on_clean "$name" "$dir" "$pid" "the failed snapshot"
}

# "snapshot/tree": a live snapshot of the process tree of test/progs/tree
# (tree.sh's helpers): every process runs on; the tree is killed and
# restored from the images and passes its checks
run_snapshot_tree() {
	local name=snapshot/tree dir=$OUT/snapshot/tree pid pids p
	mkdir -p "$dir"
	start_prog_args "$dir" tree || { result FAIL "FAIL $name: tree did not get ready: $(log_tail "$dir/test.log")"; return; }
	pid=$PID
	pids=$(tree_pids "$dir")
	if ! "$CRIU" dump -t "$pid" -D "$dir/img" --leave-running --live-snapshot -v4 \
		-o "$dir/dump.log" > "$dir/dump.out" 2>&1 < /dev/null; then
		result FAIL "FAIL $name: dump --live-snapshot failed: $(criu_error "$dir/dump.log")"
		return
	fi
	if ! tree_running "$pids"; then
		result FAIL "FAIL $name: after the live snapshot, $CMP_REASON"
		return
	fi
	if [ "$(grep -c 'live snapshot copied' "$dir/dump.log")" -lt 6 ]; then
		result FAIL "FAIL $name: not every live process was copied live"
		return
	fi
	for p in $pids; do
		left=$(snapshot_leftovers "$p")
		[ -z "$left" ] || { result FAIL "FAIL $name: pid $p is not clean: $left"; return; }
	done
	for p in $pids; do kill -KILL "$p" 2>/dev/null; done
	wait "$pid" 2>/dev/null
	for p in $pids; do wait_for 10 bash -c "[ ! -e /proc/$p ]"; done
	restore_bg "$dir" "$dir/img"
	await_restored "$dir" "$pid" "$name" || return
	finish "$dir" "$name" "$pid" || return
	[ "$TEST_KEEP_IMAGES" = 1 ] || rm -rf "$dir/img"
	result PASS "PASS $name"
}

# "snapshot_flags": the program changes the VmFlags of its memory
# (madvise) during the copy: the flags the dump took before the freeze may
# be stale, so the dump must fail and the program run on, clean
run_snapshot_flags() {
	local name=$1 dir=$2 pid cp st

	start_snapshot_prog "$name" "$dir" || return
	pid=$PID
	live_dump_bg "$dir" "$pid"
	kill -USR2 "$pid"
	wait "$cp"; st=$?
	if [ $st -eq 0 ]; then
		result FAIL "FAIL $name: the dump succeeded though the VmFlags changed during it"
		return
	fi
	if ! grep -q 'flags of .* changed' "$dir/dump.log" || [ -e "$dir/img/inventory.img" ]; then
		result FAIL "FAIL $name: the dump failed, but not as it should: $(criu_error "$dir/dump.log")"
		return
	fi
	runs_on_clean "$name" "$dir" "$pid" "the failed snapshot"
}
