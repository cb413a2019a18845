# test/cgroup.sh - the cgroup section of test/run.sh (sourced by it):
# `dump --freeze-cgroup PATH` on test/progs/tree (six processes and three
# zombies) started in a cgroup of its own made for the test (removed at
# the end): under the v1 freezer hierarchy (/sys/fs/cgroup/freezer) and a
# cgroup2 one (where one is mounted; else SKIP).
#   cgroup/freeze_v1, freeze_v2: the dump freezes the cgroup (its log says
#     so: "frozen (cgroup vN)"), seizes the tree, kills it; the cgroup is
#     thawed afterwards; restored, the tree passes its checks
#   cgroup/freeze_leave_running: dump --leave-running: every process runs
#     on, the cgroup is thawed, the tree passes without a restore
#   cgroup/freeze_was_frozen: a cgroup frozen before criu came is frozen
#     again after dump --leave-running (the tree passes once the test
#     thaws it)
#   cgroup/freeze_outside: the cgroup does not hold the tree: refused with
#     one error line naming the root and the cgroup; tree running, thawed
#   cgroup/freeze_bad_path: --freeze-cgroup of a directory that is no
#     freezer cgroup: one error line naming it, the tree runs on

CGROUP_CHECKS=(freeze_v1 freeze_v2 freeze_leave_running freeze_was_frozen freeze_outside freeze_bad_path)

# the freezer hierarchy of a version, "" if none
cg_root() {
	if [ "$1" = 1 ]; then
		[ -e /sys/fs/cgroup/freezer/freezer.state ] || [ -d /sys/fs/cgroup/freezer ] && echo /sys/fs/cgroup/freezer
	else
		awk '$9 == "cgroup2" { print $5; exit }' /proc/self/mountinfo
	fi
}

CG=
# cg_make VERSION: a new cgroup for this test in CG; 1 if there is no such hierarchy
cg_make() {
	local root
	root=$(cg_root "$1")
	[ -n "$root" ] && [ -d "$root" ] || return 1
	CG=$root/criu-test-$$
	mkdir "$CG" || return 1
	[ "$1" = 1 ] || [ -e "$CG/cgroup.freeze" ] || { rmdir "$CG"; return 1; }
	return 0
}

# cg_state: FROZEN or THAWED
cg_state() {
	if [ -e "$CG/freezer.state" ]; then
		cat "$CG/freezer.state"
	elif grep -q '^frozen 1' "$CG/cgroup.events"; then
		echo FROZEN
	else
		echo THAWED
	fi
}

cg_set() {
	if [ -e "$CG/freezer.state" ]; then
		echo "$1" > "$CG/freezer.state"
	else
		[ "$1" = FROZEN ] && echo 1 > "$CG/cgroup.freeze" || echo 0 > "$CG/cgroup.freeze"
	fi
	wait_for 5 bash -c "[ \"\$(CG=$CG; if [ -e \$CG/freezer.state ]; then cat \$CG/freezer.state; elif grep -q '^frozen 1' \$CG/cgroup.events; then echo FROZEN; else echo THAWED; fi)\" = $1 ]"
}

# the tree program, its root put in CG first (inside: arguments); sets PID
cg_start_tree() {
	local dir=$1 in=$2
	sh -c "[ $in = 0 ] || echo \$\$ > $CG/cgroup.procs; exec $ROOT/test/progs/tree" \
		> "$dir/test.log" 2>&1 < /dev/null &
	PID=$!
	track "$PID"
	wait_for "$READY_TIMEOUT" has_ready "$dir/test.log" && wait_for 5 in_sigwait "$PID"
}

cg_freeze_cycle() {
	local name=$1 dir=$2 v=$3
	cg_start_tree "$dir" 1 || { result FAIL "FAIL $name: tree did not get ready: $(log_tail "$dir/test.log")"; return; }
	if ! "$CRIU" dump -t "$PID" -D "$dir/img" --freeze-cgroup "$CG" -v4 -o "$dir/dump.log" \
		> "$dir/dump.out" 2>&1 < /dev/null; then
		result FAIL "FAIL $name: dump failed: $(criu_error "$dir/dump.log")"
		return
	fi
	if ! grep -q "cgroup $CG frozen (cgroup v$v)" "$dir/dump.log" ||
	   ! grep -q "seized in its frozen cgroup" "$dir/dump.log"; then
		result FAIL "FAIL $name: the dump log does not say the tree was frozen in $CG"
		return
	fi
	[ "$(cg_state)" = THAWED ] || { result FAIL "FAIL $name: $CG is $(cg_state) after the dump"; return; }
	wait "$PID" 2>/dev/null
	restore_bg "$dir" "$dir/img"
	await_restored "$dir" "$PID" "$name" || return
	finish "$dir" "$name" "$PID" || return
	result PASS "PASS $name"
}

cg_freeze_leave_running() {
	local name=$1 dir=$2 was=$3 pids
	cg_start_tree "$dir" 1 || { result FAIL "FAIL $name: tree did not get ready: $(log_tail "$dir/test.log")"; return; }
	pids=$(tree_pids "$dir")
	[ "$was" = FROZEN ] && { cg_set FROZEN || { result FAIL "FAIL $name: cannot freeze $CG"; return; }; }
	if ! "$CRIU" dump -t "$PID" -D "$dir/img" --freeze-cgroup "$CG" --leave-running -v4 \
		-o "$dir/dump.log" > "$dir/dump.out" 2>&1 < /dev/null; then
		result FAIL "FAIL $name: dump --leave-running failed: $(criu_error "$dir/dump.log")"
		return
	fi
	if [ "$(cg_state)" != "$was" ]; then
		result FAIL "FAIL $name: $CG is $(cg_state) after the dump, was $was"
		return
	fi
	[ "$was" = FROZEN ] && cg_set THAWED
	if ! tree_running "$pids"; then
		result FAIL "FAIL $name: after dump --leave-running, $CMP_REASON"
		return
	fi
	tree_finish "$name" "$dir" "$PID" && result PASS "PASS $name"
}

# cg_refused NAME DIR CGROUP PATTERN: the dump is refused naming the root
# (@PID in PATTERN: the root's pid)
cg_refused() {
	local name=$1 dir=$2 path=$3 pattern=$4 pids lines
	cg_start_tree "$dir" 0 || { result FAIL "FAIL $name: tree did not get ready: $(log_tail "$dir/test.log")"; return; }
	pids=$(tree_pids "$dir")
	pattern=${pattern//@PID/$PID}
	"$CRIU" dump -t "$PID" -D "$dir/img" --freeze-cgroup "$path" -v4 -o "$dir/dump.log" \
		> "$dir/dump.out" 2> "$dir/dump.err" < /dev/null
	if [ $? -eq 0 ]; then
		result FAIL "FAIL $name: the dump succeeded"
		return
	fi
	lines=$(grep -c . "$dir/dump.err")
	if [ "$lines" -ne 1 ] || ! grep -q "^error: .*$pattern" "$dir/dump.err"; then
		result FAIL "FAIL $name: expected one error line '$pattern', got $lines: $(head -3 "$dir/dump.err" | tr '\n' '|' | cut -c1-300)"
		return
	fi
	if [ -n "$CG" ] && [ "$(cg_state)" != THAWED ]; then
		result FAIL "FAIL $name: $CG is $(cg_state) after the refused dump"
		return
	fi
	if ! tree_running "$pids"; then
		result FAIL "FAIL $name: after the refused dump, $CMP_REASON"
		return
	fi
	tree_finish "$name" "$dir" "$PID" && result PASS "PASS $name"
}

run_cgroup_check() {
	local check=$1 name=cgroup/$1 dir=$OUT/cgroup/$1 v=1
	if [ ! -x "$CRIU" ]; then
		result SKIP "SKIP $name: ${CRIU#$ROOT/} not built"
		return
	fi
	mkdir -p "$dir/tmp"
	export TEST_TMPDIR=$dir/tmp
	[ "$check" = freeze_v2 ] && v=2
	if ! cg_make "$v"; then
		result SKIP "SKIP $name: no cgroup v$v freezer here"
		return
	fi
	case $check in
	freeze_v1|freeze_v2) cg_freeze_cycle "$name" "$dir" "$v" ;;
	freeze_leave_running) cg_freeze_leave_running "$name" "$dir" THAWED ;;
	freeze_was_frozen) cg_freeze_leave_running "$name" "$dir" FROZEN ;;
	freeze_outside) cg_refused "$name" "$dir" "$CG" "pid @PID: not in cgroup $CG (--freeze-cgroup)" ;;
	freeze_bad_path) cg_refused "$name" "$dir" "$dir/tmp" "--freeze-cgroup $dir/tmp: neither freezer.state" ;;
	*) result FAIL "FAIL $name: no such check" ;;
	esac
	# the test's processes are gone (killed by the runner if need be) before the cgroup goes
	kill_tracked "$PIDS_FILE"
	[ -e "$CG/freezer.state" ] && echo THAWED > "$CG/freezer.state"
	[ -e "$CG/cgroup.freeze" ] && echo 0 > "$CG/cgroup.freeze"
	rmdir "$CG" 2>/dev/null
	if [ "$TEST_KEEP_IMAGES" != 1 ] && [ "$(cat "$RESULT_FILE" 2>/dev/null)" = PASS ]; then
		rm -rf "$dir/img"
	fi
}

section cgroup CGROUP_CHECKS run_cgroup_check
