# test/modes.sh - the "modes" section of test/run.sh (sourced by it): each
# program of MODES_PROGS run in every mode of checkpoint and restore.
#
# modes/PROG-MODE, MODE one of
#   full      dump, restore (run_normal)
#   lazy      dump, restore --lazy-pages
#   predump   pre-dump --track-mem, then dump --prev-images-dir on top of
#             it (--track-mem), restore of the chain
#   leave     dump --leave-running: the original must be untouched (same
#             maps, fds and signal state, back in its wait, each process
#             of its tree in the state it was); then it is killed, and the
#             images restored must pass
#   snapshot  as leave, with --live-snapshot
# The programs are the process-state ones (issue 14): small and quick, as
# they run five times.  A program listed here is run only through this
# section (not again as PROG and lazy/PROG).  Programs of the other areas
# are added to this list when they are merged.

MODES_PROGS=(proc_state proc_tunables job_stop madvise_flags map_access zombie_pgrp clone_files_tree sched_io sched_dl numa_policy thread_flags mdwe thp_advised file_cow
	ghost_fork file_reopen ghost_dir pidfds fifos pipe_reopen epoll_moved memfd_nofd leases timerfd_wall opath inotify_link
	unix_dgram unix_sockopts unix_relative pty_tree scm_rights tty_session spec_ctrl mm_flags guard_pages
	proc_self_fds sockopt_sweep thread_owners tmpfile_link)
MODES_ALL=(full lazy predump leave snapshot)
MODES_CHECKS=()
for _p in "${MODES_PROGS[@]}"; do
	for _m in "${MODES_ALL[@]}"; do MODES_CHECKS+=("$_p-$_m"); done
done
unset _p _m

in_modes_list() {
	case " ${MODES_PROGS[*]} " in
	*" $1 "*) return 0 ;;
	esac
	return 1
}

# start_mode_prog PROG DIR: start_prog and its wait for SIGUSR1; sets PID
start_mode_prog() {
	local prog=$1 dir=$2
	start_prog "$prog" "$dir"
	case $? in
	1)	wait "$PID"
		if [ $? -eq 77 ] && grep -q '^SKIP: ' "$dir/test.log"; then
			result SKIP "SKIP $prog: $(sed -n 's/^SKIP: //p' "$dir/test.log" | head -1)"
		else
			result FAIL "FAIL $prog: exited before READY: $(log_tail "$dir/test.log")"
		fi
		return 1 ;;
	2) result FAIL "FAIL $prog: no READY within ${READY_TIMEOUT}s"; return 1 ;;
	esac
	if ! wait_for 5 in_sigwait "$PID"; then
		result FAIL "FAIL $prog: not waiting for SIGUSR1 after READY: $(log_tail "$dir/test.log")"
		return 1
	fi
	return 0
}

# restore_and_finish PROG DIR PID IMG: restore IMG, compare with the
# "before" capture, SIGUSR1, PASS required
restore_and_finish() {
	local prog=$1 dir=$2 pid=$3 img=$4
	restore_bg "$dir" "$img"
	await_restored "$dir" "$pid" "$prog" || return 1
	if ! wait_for 10 in_sigwait "$pid"; then
		result FAIL "FAIL $prog: restored program is not back in its wait for SIGUSR1 (state $(proc_state "$pid"))"
		return 1
	fi
	if ! capture "$pid" "$dir" after; then
		result FAIL "FAIL $prog: cannot read /proc/$pid after the restore"
		return 1
	fi
	merge_maps "$dir/before.maps"
	merge_maps "$dir/after.maps"
	merge_vmf "$dir/before.vmf"
	merge_vmf "$dir/after.vmf"
	if ! compare "$dir"; then
		result FAIL "FAIL $prog: $CMP_REASON"
		return 1
	fi
	finish "$dir" "$prog" "$pid" || return 1
	result PASS "PASS $prog"
}

# a pre-dump round, then the dump on top of it
run_mode_predump() {
	local prog=$1 dir=$2 pid
	start_mode_prog "$prog" "$dir" || return
	pid=$PID
	capture "$pid" "$dir" before || { result FAIL "FAIL $prog: cannot read /proc/$pid"; return; }
	rm -rf "$dir/img"; mkdir -p "$dir/img"
	if ! "$CRIU" pre-dump -t "$pid" -D "$dir/img/d0" --track-mem -v4 -o "$dir/pre.log" \
		> "$dir/pre.out" 2>&1 < /dev/null; then
		result FAIL "FAIL $prog: pre-dump failed: $(criu_error "$dir/pre.log")"
		return
	fi
	if ! wait_for 5 in_sigwait "$pid"; then
		result FAIL "FAIL $prog: not back in its wait after the pre-dump (state $(proc_state "$pid"))"
		return
	fi
	if ! "$CRIU" dump -t "$pid" -D "$dir/img/d1" --prev-images-dir ../d0 --track-mem -v4 \
		-o "$dir/dump.log" > "$dir/dump.out" 2>&1 < /dev/null; then
		result FAIL "FAIL $prog: dump on the pre-dump failed: $(criu_error "$dir/dump.log")"
		return
	fi
	wait_for 10 bash -c "! grep -q '^State:.*[RSDT]' /proc/$pid/status 2>/dev/null"
	wait "$pid" 2>/dev/null
	restore_and_finish "$prog" "$dir" "$pid" "$dir/img/d1"
}

# PID and its descendants, one "pid state" line each: stopped (T, t),
# zombie (Z) or running (-, whether on a CPU or asleep)
tree_states() {
	local p=$1 c st
	st=$(proc_state "$p")
	case $st in T|t|Z) ;; *) st=- ;; esac
	echo "$p $st"
	for c in $(cat /proc/"$p"/task/*/children 2>/dev/null); do
		tree_states "$c"
	done
}

# dump --leave-running [--live-snapshot]: the original tree runs on
# untouched (every process in the state it was, the root back in its wait
# with the same maps, fds and signal state); it is then killed (its own
# checks would change what it shares with the copy: its files), and the
# images are restored and must pass
run_mode_leave() {
	local prog=$1 dir=$2 pid st p
	shift 2
	start_mode_prog "$prog" "$dir" || return
	pid=$PID
	capture "$pid" "$dir" before || { result FAIL "FAIL $prog: cannot read /proc/$pid"; return; }
	tree_states "$pid" > "$dir/before.states"
	if ! "$CRIU" dump -t "$pid" -D "$dir/img" --leave-running "$@" -v4 -o "$dir/dump.log" \
		> "$dir/dump.out" 2>&1 < /dev/null; then
		result FAIL "FAIL $prog: dump --leave-running $* failed: $(criu_error "$dir/dump.log")"
		return
	fi
	if ! alive "$pid" || ! wait_for 5 in_sigwait "$pid"; then
		result FAIL "FAIL $prog: the original is not back in its wait after the dump (state $(proc_state "$pid"))"
		return
	fi
	capture "$pid" "$dir" left || { result FAIL "FAIL $prog: cannot read /proc/$pid"; return; }
	tree_states "$pid" > "$dir/left.states"
	for st in maps fds sig vmf states; do
		if ! diff -u "$dir/before.$st" "$dir/left.$st" > "$dir/left-$st.diff"; then
			result FAIL "FAIL $prog: the original's $st changed by the dump: $(grep -E '^[-+][^-+]' "$dir/left-$st.diff" | head -2 | tr '\n' ' ')"
			return
		fi
	done
	for p in $(cut -d' ' -f1 "$dir/left.states"); do
		kill -KILL "$p" 2>/dev/null
	done
	wait "$pid" 2>/dev/null
	for p in $(cut -d' ' -f1 "$dir/left.states"); do
		wait_for 5 bash -c "[ ! -e /proc/$p ]"
	done
	restore_and_finish "$prog" "$dir" "$pid" "$dir/img"
}

run_modes_check() {
	local check=$1 prog mode dir=$OUT/modes/$1
	prog=${check%-*}
	mode=${check##*-}
	TAG=modes
	TAG_SUFFIX=-$mode
	if [ ! -x "$ROOT/test/progs/$prog" ]; then
		result SKIP "SKIP $prog: test/progs/$prog not built"
		return
	fi
	[ -x "$CRIU" ] || { result SKIP "SKIP $prog: criu not built"; return; }
	mkdir -p "$dir/tmp"
	export TEST_TMPDIR=${USER_TMPDIR:-$dir/tmp}
	case $mode in
	full) run_normal "$prog" "$dir" ;;
	lazy) RESTORE_EXTRA=(--lazy-pages); run_normal "$prog" "$dir" ;;
	predump) run_mode_predump "$prog" "$dir" ;;
	leave) run_mode_leave "$prog" "$dir" ;;
	snapshot) run_mode_leave "$prog" "$dir" --live-snapshot ;;
	*) result FAIL "FAIL $prog: no mode $mode" ;;
	esac
	if [ "$TEST_KEEP_IMAGES" != 1 ] && [ "$(cat "$RESULT_FILE" 2>/dev/null)" = PASS ]; then
		rm -rf "$dir/img"
	fi
}

section modes MODES_CHECKS run_modes_check
