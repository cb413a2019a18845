# test/tree.sh - the process tree checks, sourced by test/run.sh.
#
#   trees/dump_refused: a tree sharing an epoll instance between its
#     processes (test/progs/tree epoll): the dump is refused with one error
#     line naming it, and every process runs on (none stopped); the
#     program then passes its checks without a restore
#   trees/leave_running: dump --leave-running of the tree: every process
#     runs on and the program passes its checks
#   trees/restore_fail: a grandchild's working directory is removed after
#     the dump: the restore fails naming it, and no process of the tree is
#     left (nothing half-restored, no orphan)
#   trees/incremental: two pre-dumps --track-mem of the tree and a final
#     dump on top: the second round copies far fewer pages than the first
#     (every process of the tree is tracked), and the restore passes
#   trees/churn: a process forking and reaping children all the time
#     (test/progs/tree_churn) is dumped whatever state its children are in
#     (alive, zombie), restored, and reaps each with the right status

TREE_CHECKS=(dump_refused leave_running restore_fail churn incremental)

# the pids the tree program printed ("pids ROOT A A1 A1a A2 B")
tree_pids() {
	sed -n 's/^pids //p' "$1/test.log" | head -1
}

# every pid is alive and not stopped; else CMP_REASON says which
tree_running() {
	local p st
	for p in $1; do
		st=$(proc_state "$p")
		if [ -z "$st" ] || [ "$st" = T ] || [ "$st" = t ] || [ "$st" = Z ]; then
			CMP_REASON="pid $p is ${st:-gone}"
			return 1
		fi
	done
	return 0
}

# SIGUSR1 to the root, which must pass
tree_finish() {
	local name=$1 dir=$2 pid=$3 st
	kill -USR1 "$pid"
	wait "$pid"; st=$?
	if [ $st -ne 0 ] || ! grep -q '^PASS$' "$dir/test.log"; then
		result FAIL "FAIL $name: the program fails its checks: $(log_tail "$dir/test.log")"
		return 1
	fi
	return 0
}

tree_dump_refused() {
	local name=$1 dir=$2 pid pids lines
	start_prog_args "$dir" tree epoll || { result FAIL "FAIL $name: tree did not get ready: $(log_tail "$dir/test.log")"; return; }
	pid=$PID
	pids=$(tree_pids "$dir")
	if "$CRIU" dump -t "$pid" -D "$dir/img" -v4 -o "$dir/dump.log" > "$dir/dump.out" 2> "$dir/dump.err" < /dev/null; then
		result FAIL "FAIL $name: the dump of a tree sharing an epoll instance succeeded"
		return
	fi
	lines=$(grep -c . "$dir/dump.err")
	if [ "$lines" -ne 1 ] || ! grep -q '^error: .*eventpoll' "$dir/dump.err"; then
		result FAIL "FAIL $name: expected one error line naming the epoll, got $lines: $(head -3 "$dir/dump.err" | tr '\n' '|' | cut -c1-300)"
		return
	fi
	if ! tree_running "$pids"; then
		result FAIL "FAIL $name: after the refused dump, $CMP_REASON"
		return
	fi
	[ -e "$dir/img/inventory.img" ] && { result FAIL "FAIL $name: inventory.img written by a failed dump"; return; }
	tree_finish "$name" "$dir" "$pid" && result PASS "PASS $name"
}

tree_leave_running() {
	local name=$1 dir=$2 pid pids
	start_prog_args "$dir" tree || { result FAIL "FAIL $name: tree did not get ready: $(log_tail "$dir/test.log")"; return; }
	pid=$PID
	pids=$(tree_pids "$dir")
	if ! "$CRIU" dump -t "$pid" -D "$dir/img" --leave-running -v4 -o "$dir/dump.log" \
		> "$dir/dump.out" 2>&1 < /dev/null; then
		result FAIL "FAIL $name: dump --leave-running failed: $(criu_error "$dir/dump.log")"
		return
	fi
	if ! tree_running "$pids"; then
		result FAIL "FAIL $name: after dump --leave-running, $CMP_REASON"
		return
	fi
	if ! grep -q 'tree of 9 processes' "$dir/dump.log"; then
		result FAIL "FAIL $name: the dump did not take the 9 processes (6 live, 3 zombies)"
		return
	fi
	tree_finish "$name" "$dir" "$pid" && result PASS "PASS $name"
}

tree_restore_fail() {
	local name=$1 dir=$2 pid pids cwd=$dir/tmp/a1a p
	mkdir -p "$cwd"
	start_prog_args "$dir" tree cwd "$cwd" || { result FAIL "FAIL $name: tree did not get ready: $(log_tail "$dir/test.log")"; return; }
	pid=$PID
	pids=$(tree_pids "$dir")
	if ! "$CRIU" dump -t "$pid" -D "$dir/img" -v4 -o "$dir/dump.log" > "$dir/dump.out" 2>&1 < /dev/null; then
		result FAIL "FAIL $name: dump failed: $(criu_error "$dir/dump.log")"
		return
	fi
	wait "$pid" 2>/dev/null
	rmdir "$cwd"
	bounded "$dir" 20 restore "$CRIU" restore -D "$dir/img" -v4 -o "$dir/restore.log"
	if [ "$ST" -eq 0 ] || [ "$ST" -eq 124 ]; then
		result FAIL "FAIL $name: restore without the grandchild's cwd exited with status $ST"
		return
	fi
	for p in $pids; do
		if [ -e "/proc/$p" ]; then
			track "$p"
			result FAIL "FAIL $name: pid $p exists (state $(proc_state "$p")) after the failed restore"
			return
		fi
	done
	if ! grep -qF "$cwd" "$dir/restore.err"; then
		result FAIL "FAIL $name: the error does not name $cwd: $(cut -c1-200 "$dir/restore.err")"
		return
	fi
	result PASS "PASS $name"
}

tree_churn() {
	local name=$1 dir=$2 pid
	# its children share its stdout: opened for appending, as a log would be
	: > "$dir/test.log"
	"$ROOT/test/progs/tree_churn" >> "$dir/test.log" 2>&1 < /dev/null &
	pid=$!
	track "$pid"
	if ! wait_for "$READY_TIMEOUT" has_ready "$dir/test.log"; then
		result FAIL "FAIL $name: tree_churn did not get ready: $(log_tail "$dir/test.log")"
		return
	fi
	if ! "$CRIU" dump -t "$pid" -D "$dir/img" -v4 -o "$dir/dump.log" > "$dir/dump.out" 2>&1 < /dev/null; then
		result FAIL "FAIL $name: dump failed: $(criu_error "$dir/dump.log")"
		return
	fi
	wait "$pid" 2>/dev/null
	restore_bg "$dir" "$dir/img"
	await_restored "$dir" "$pid" "$name" || return
	finish "$dir" "$name" "$pid" || return
	result PASS "PASS $name"
}

# the pages= of a dump's stats line
stat_pages() { sed -n 's/.*stats:.* pages=\([0-9]*\).*/\1/p' "$1" | tail -1; }

tree_incremental() {
	local name=$1 dir=$2 pid p1 p2
	start_prog_args "$dir" tree || { result FAIL "FAIL $name: tree did not get ready: $(log_tail "$dir/test.log")"; return; }
	pid=$PID
	mkdir -p "$dir/img"
	if ! "$CRIU" pre-dump -t "$pid" -D "$dir/img/1" --track-mem -v4 -o "$dir/pre1.log" > /dev/null 2>&1 < /dev/null ||
	   ! "$CRIU" pre-dump -t "$pid" -D "$dir/img/2" --prev-images-dir ../1 --track-mem -v4 -o "$dir/pre2.log" > /dev/null 2>&1 < /dev/null ||
	   ! "$CRIU" dump -t "$pid" -D "$dir/img/3" --prev-images-dir ../2 --track-mem -v4 -o "$dir/dump.log" > /dev/null 2>&1 < /dev/null; then
		result FAIL "FAIL $name: a round failed: $(criu_error "$dir/pre1.log") $(criu_error "$dir/pre2.log") $(criu_error "$dir/dump.log")"
		return
	fi
	p1=$(stat_pages "$dir/pre1.log"); p2=$(stat_pages "$dir/pre2.log")
	if [ -z "$p1" ] || [ -z "$p2" ] || [ $(( p2 * 4 )) -gt "$p1" ]; then
		result FAIL "FAIL $name: the second round copied $p2 pages, the first $p1: not tracked"
		return
	fi
	wait "$pid" 2>/dev/null
	restore_bg "$dir" "$dir/img/3"
	await_restored "$dir" "$pid" "$name" || return
	finish "$dir" "$name" "$pid" || return
	result PASS "PASS $name"
}

run_tree_check() {
	local check=$1 name=trees/$1 dir=$OUT/trees/$1
	if [ ! -x "$CRIU" ]; then
		result SKIP "SKIP $name: ${CRIU#$ROOT/} not built"
		return
	fi
	mkdir -p "$dir/tmp"
	export TEST_TMPDIR=$dir/tmp
	case $check in
	dump_refused) tree_dump_refused "$name" "$dir" ;;
	leave_running) tree_leave_running "$name" "$dir" ;;
	restore_fail) tree_restore_fail "$name" "$dir" ;;
	churn) tree_churn "$name" "$dir" ;;
	incremental) tree_incremental "$name" "$dir" ;;
	*) result FAIL "FAIL $name: no such check"; return ;;
	esac
	if [ "$TEST_KEEP_IMAGES" != 1 ] && [ "$(cat "$RESULT_FILE" 2>/dev/null)" = PASS ]; then
		rm -rf "$dir/img"
	fi
}

section trees TREE_CHECKS run_tree_check
