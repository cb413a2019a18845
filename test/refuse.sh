# test/refuse.sh - the "refuse" section of test/run.sh (sourced by it):
# programs whose state restore cannot rebuild, so that their dump must be
# refused.  refuse/PROG: start it, wait for its READY; `criu dump` must
# exit non-zero with one "error:" line on stderr naming EXPECT; every
# process of its tree must be in the state it was (none left stopped), the
# root back in its wait; then SIGUSR1 and the program must pass its own
# checks (what it shares still shared).

declare -A REFUSE_EXPECT=(
	[clone_sibling]="which is not its parent"
	[sud]="syscall user dispatch"
	[dnotify]="directory notification (F_NOTIFY)"
	[sem_undo]="SEM_UNDO"
	[mqueue_fd]="of criu's ipc namespace: not supported (only a tree with an ipc namespace of its own has its queues saved)"
	[shm_attached]="SysV shm"
	[thread_own_files]="has a fd table of its own (unshare(CLONE_FILES))"
	[thread_own_fs]="has a cwd, root and umask of its own (unshare(CLONE_FS))"
	[traced_child]="(a debugger or tracer): not supported"
	[keyring_process]="it has a process keyring"
	[keyring_thread]="a thread has a thread keyring"
	[unix_soerror]="unix socket has a pending error (SO_ERROR) or error queue messages"
)
REFUSE_CHECKS=("${!REFUSE_EXPECT[@]}")
for _p in "${REFUSE_CHECKS[@]}"; do MODE[$_p]=none; done	# not run as PROG
unset _p

run_refuse_check() {
	local prog=$1 dir=$OUT/refuse/$1 pid st
	TAG=refuse
	[ -x "$CRIU" ] || { result SKIP "SKIP $prog: criu not built"; return; }
	mkdir -p "$dir/tmp"
	export TEST_TMPDIR=${USER_TMPDIR:-$dir/tmp}
	start_mode_prog "$prog" "$dir" || return
	pid=$PID
	tree_states "$pid" > "$dir/before.states"
	"$CRIU" dump -t "$pid" -D "$dir/img" -v4 -o "$dir/dump.log" > "$dir/dump.out" 2> "$dir/dump.err" < /dev/null
	st=$?
	if [ $st -eq 0 ]; then
		result FAIL "FAIL $prog: the dump was not refused"
		return
	fi
	if ! one_error "$dir/dump.err"; then
		result FAIL "FAIL $prog: $CMP_REASON"
		return
	fi
	if ! grep -qF "${REFUSE_EXPECT[$prog]}" "$dir/dump.err"; then
		result FAIL "FAIL $prog: the error does not say '${REFUSE_EXPECT[$prog]}': $(cut -c1-200 "$dir/dump.err")"
		return
	fi
	tree_states "$pid" > "$dir/after.states"
	if ! diff -u "$dir/before.states" "$dir/after.states" > "$dir/states.diff" || ! wait_for 5 in_sigwait "$pid"; then
		result FAIL "FAIL $prog: the tree is not as it was after the refused dump: $(grep -E '^[-+][^-+]' "$dir/states.diff" | head -2 | tr '\n' ' ')"
		return
	fi
	kill -USR1 "$pid"
	wait "$pid"; st=$?
	if [ $st -ne 0 ] || ! grep -q '^PASS$' "$dir/test.log"; then
		result FAIL "FAIL $prog: fails its checks after the refused dump (status $st): $(log_tail "$dir/test.log")"
		return
	fi
	result PASS "PASS $prog"
}

section refuse REFUSE_CHECKS run_refuse_check
