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

#   cgroup/membership: the tree's root in cgroups of its own in the freezer
#     and pids (v1) hierarchies and in a cgroup2 one, process B moved into a
#     cgroup below the root's (freezer); dumped, B's cgroup removed, restored
#     (--manage-cgroups soft, the default): every process is back in its
#     cgroups (/proc/PID/cgroup as before the dump; B's made again)
#   cgroup/membership_root: the same restored with --cgroup-root
#     freezer:/criu-test-N/moved: in the freezer hierarchy the root is in
#     .../moved and B in .../moved/b, the other hierarchies as before
#   cgroup/membership_ignore: --manage-cgroups=ignore: every process is in
#     criu's cgroups
#   cgroup/manage_full, manage_soft, manage_strict: the tree's root in
#     cgroups of its own with settings (pids.max, memory.limit_in_bytes and
#     soft limit, cpu.shares, cfs quota, cpuset.cpus/mems, cgroup2), B in a
#     pids cgroup below it (pids.max too), a devices whitelist; dumped;
#     then every cgroup
#     removed but the root's pids one, whose pids.max is changed; restored
#     with --manage-cgroups=MODE: the cgroups are back with the dumped
#     settings (the test reads them), the existing one's pids.max is the
#     dumped one with full, left changed with soft; the tree passes.  strict:
#     every cgroup removed first (it refuses existing ones)
#   cgroup/manage_strict_exists: strict with the root's pids cgroup left:
#     one error line naming it, nothing runs, nothing made
#   cgroup/manage_none_missing: --manage-cgroups=none with B's cgroup
#     removed: one error line naming it, nothing runs
#   cgroup/thread: a thread in another pids cgroup than its process
#     (test/progs/cgroup_thread): dumped, restored, the thread is in its
#     cgroup again and the program passes
#   cgroup/nested_ns: a tree in a cgroup namespace (the root in pids a)
#     whose child moved into a/b and made one of its own: dumped, the
#     cgroups removed, restored: two namespaces again, each process's
#     cgroups the same seen from its namespace and from criu's
#   cgroup/nested_shared: two children of the root in one cgroup namespace
#     (the second joined it with nsenter): refused with one line naming
#     them, every process runs on

#   cgroup/container: all of it at once, as a container runtime leaves a
#     tree (no runc): `unshare --pid --uts --ipc --time --fork ns_state
#     pidns uts ipc time` started in cgroups of its own (freezer, pids,
#     cgroup2), dumped with --freeze-cgroup from its init, restored: the
#     init is 1 in a new pid namespace, in the same cgroups as before, and
#     the program passes its checks (pids, sessions, nested namespace,
#     host name, SysV objects, clocks)

CGROUP_CHECKS=(freeze_v1 freeze_v2 freeze_leave_running freeze_was_frozen freeze_outside freeze_bad_path
	       membership membership_root membership_ignore manage_full manage_soft manage_strict
	       manage_strict_exists manage_none_missing thread nested_ns nested_shared container)

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

# the test's cgroups in the freezer, pids and cgroup2 hierarchies (CG_DIRS)
CG_DIRS=()
CG_NAME=
cg_member_setup() {
	local v2
	CG_NAME=criu-test-$$
	v2=$(cg_root 2)
	[ -d /sys/fs/cgroup/freezer ] && [ -d /sys/fs/cgroup/pids ] && [ -n "$v2" ] || return 1
	CG_DIRS=(/sys/fs/cgroup/freezer/$CG_NAME /sys/fs/cgroup/pids/$CG_NAME "$v2/$CG_NAME")
	mkdir -p "${CG_DIRS[0]}/a/b" "${CG_DIRS[1]}/a" "${CG_DIRS[2]}/u"
}

# kills whatever is left in the test's cgroup DIR (a tree whose root was
# killed leaves its children waiting) and removes it, deepest first
cg_rmtree() {
	local f p
	[ -d "$1" ] || return 0
	for f in $(find "$1" -name cgroup.procs); do
		for p in $(cat "$f"); do kill -KILL "$p" 2>/dev/null; done
	done
	wait_for 5 bash -c "! find '$1' -name cgroup.procs -exec cat {} + | grep -q ."
	find "$1" -depth -type d -exec rmdir {} + 2>/dev/null
	return 0
}

# the cgroup lines of each pid, into FILE
cg_record() {
	local f=$1 p
	shift
	: > "$f"
	for p in "$@"; do
		sed "s/^/$p /" "/proc/$p/cgroup" >> "$f" 2>/dev/null || return 1
	done
}

cg_membership() {
	local name=$1 dir=$2 mode=$3 pids b root=${CG_DIRS[0]#/sys/fs/cgroup/freezer} extra=()
	sh -c "echo \$\$ > ${CG_DIRS[0]}/a/cgroup.procs && echo \$\$ > ${CG_DIRS[1]}/a/cgroup.procs &&
	       echo \$\$ > ${CG_DIRS[2]}/u/cgroup.procs && exec $ROOT/test/progs/tree" \
		> "$dir/test.log" 2>&1 < /dev/null &
	PID=$!
	track "$PID"
	wait_for "$READY_TIMEOUT" has_ready "$dir/test.log" && wait_for 5 in_sigwait "$PID" ||
		{ result FAIL "FAIL $name: tree did not get ready: $(log_tail "$dir/test.log")"; return; }
	pids=$(tree_pids "$dir")
	b=${pids##* }
	echo "$b" > "${CG_DIRS[0]}/a/b/cgroup.procs" || { result FAIL "FAIL $name: cannot move B"; return; }
	cg_record "$dir/before" $pids || { result FAIL "FAIL $name: cannot read the cgroups"; return; }
	grep -q "^$b [0-9]*:freezer:$root/a/b\$" "$dir/before" ||
		{ result FAIL "FAIL $name: B is not in $root/a/b: $(grep "^$b .*freezer" "$dir/before")"; return; }
	ns_dump "$name" "$dir" "$PID" img || return
	wait "$PID" 2>/dev/null
	rmdir "${CG_DIRS[0]}/a/b"
	case $mode in
	root) extra=(--cgroup-root "freezer:$root/moved")
	      sed -e "s#:freezer:$root/a\(/b\)\{0,1\}\$#:freezer:$root/moved\1#" "$dir/before" > "$dir/want" ;;
	ignore) extra=(--manage-cgroups=ignore)
		for p in $pids; do sed "s/^/$p /" /proc/self/cgroup; done > "$dir/want" ;;
	*) cp "$dir/before" "$dir/want" ;;
	esac
	RESTORE_EXTRA=("${extra[@]}")
	restore_bg "$dir" "$dir/img"
	await_restored "$dir" "$PID" "$name" || return
	wait_for 10 in_sigwait "$PID"
	cg_record "$dir/after" $pids
	if ! diff -u "$dir/want" "$dir/after" > "$dir/cgroup.diff"; then
		result FAIL "FAIL $name: cgroups after the restore differ: $(grep '^[-+][0-9]' "$dir/cgroup.diff" | head -2 | tr '\n' ' ')"
		return
	fi
	finish "$dir" "$name" "$PID" || return
	result PASS "PASS $name"
}

# the settings the manage checks give the root's cgroups (file=value, per line)
CG_SETTINGS="pids/criu-test-N/a/pids.max=123
pids/criu-test-N/a/b/pids.max=45
memory/criu-test-N/a/memory.limit_in_bytes=268435456
memory/criu-test-N/a/memory.soft_limit_in_bytes=134217728
cpu/criu-test-N/a/cpu.shares=512
cpu/criu-test-N/a/cpu.cfs_quota_us=50000
cpuset/criu-test-N/a/cpuset.cpus=0
cpuset/criu-test-N/a/cpuset.mems=0"
CG_MANAGE=()

# the manage checks' cgroups, with their settings; 1 if a hierarchy is missing
cg_manage_setup() {
	local l f
	CG_NAME=criu-test-$$
	CG_MANAGE=()
	for h in pids memory cpu cpuset devices; do
		[ -d "/sys/fs/cgroup/$h" ] || return 1
		CG_MANAGE+=("/sys/fs/cgroup/$h/$CG_NAME")
	done
	mkdir -p "/sys/fs/cgroup/pids/$CG_NAME/a/b" /sys/fs/cgroup/{memory,cpu,cpuset,devices}/"$CG_NAME/a" || return 1
	# a container's device whitelist: what the tree's files need
	echo a > "/sys/fs/cgroup/devices/$CG_NAME/a/devices.deny" || return 1
	for l in "c 1:3 rwm" "c 1:5 rwm" "c 1:8 rwm" "c 1:9 rwm" "c 5:0 rwm" "c 5:2 rwm" "c 136:* rwm"; do
		echo "$l" > "/sys/fs/cgroup/devices/$CG_NAME/a/devices.allow" || return 1
	done
	for f in /sys/fs/cgroup/cpuset/"$CG_NAME" /sys/fs/cgroup/cpuset/"$CG_NAME/a"; do
		cat /sys/fs/cgroup/cpuset/cpuset.cpus > "$f/cpuset.cpus" && cat /sys/fs/cgroup/cpuset/cpuset.mems > "$f/cpuset.mems" || return 1
	done
	while read -r l; do
		echo "${l#*=}" > "/sys/fs/cgroup/${l%%=*}" || return 1
	done <<< "${CG_SETTINGS//criu-test-N/$CG_NAME}"
}

# each setting as read now, into FILE
cg_manage_read() {
	local l
	{
		while read -r l; do
			echo "${l%%=*}=$(cat "/sys/fs/cgroup/${l%%=*}" 2>&1)"
		done <<< "${CG_SETTINGS//criu-test-N/$CG_NAME}"
		echo "devices/$CG_NAME/a/devices.list=$(tr '\n' ' ' < "/sys/fs/cgroup/devices/$CG_NAME/a/devices.list" 2>&1)"
	} > "$1"
}

# the tree started in the manage cgroups, B moved into pids .../a/b; sets PID, B
cg_manage_start() {
	local name=$1 dir=$2 pids
	sh -c "for d in ${CG_MANAGE[*]}; do echo \$\$ > \$d/a/cgroup.procs || exit 1; done; exec $ROOT/test/progs/tree" \
		> "$dir/test.log" 2>&1 < /dev/null &
	PID=$!
	track "$PID"
	wait_for "$READY_TIMEOUT" has_ready "$dir/test.log" && wait_for 5 in_sigwait "$PID" ||
		{ result FAIL "FAIL $name: tree did not get ready: $(log_tail "$dir/test.log")"; return 1; }
	pids=$(tree_pids "$dir")
	B=${pids##* }
	echo "$B" > "/sys/fs/cgroup/pids/$CG_NAME/a/b/cgroup.procs" || { result FAIL "FAIL $name: cannot move B"; return 1; }
}

# MODE: full, soft, strict (the restore's --manage-cgroups)
cg_manage() {
	local name=$1 dir=$2 mode=$3 pids
	cg_manage_start "$name" "$dir" || return
	cg_manage_read "$dir/want"
	cg_record "$dir/before" $(tree_pids "$dir") || { result FAIL "FAIL $name: cannot read the cgroups"; return; }
	ns_dump "$name" "$dir" "$PID" img || return
	wait "$PID" 2>/dev/null
	for d in "${CG_MANAGE[@]}"; do
		[ "$mode" != strict ] && [ "$d" = "/sys/fs/cgroup/pids/$CG_NAME" ] && { rmdir "$d/a/b"; continue; }
		cg_rmtree "$d"
	done
	if [ "$mode" != strict ]; then
		echo 99 > "/sys/fs/cgroup/pids/$CG_NAME/a/pids.max"
		[ "$mode" = soft ] && sed -i "s#^\(pids/$CG_NAME/a/pids.max\)=.*#\1=99#" "$dir/want"
	fi
	RESTORE_EXTRA=(--manage-cgroups="$mode")
	restore_bg "$dir" "$dir/img"
	await_restored "$dir" "$PID" "$name" || return
	wait_for 10 in_sigwait "$PID"
	cg_manage_read "$dir/got"
	if ! diff -u "$dir/want" "$dir/got" > "$dir/settings.diff"; then
		result FAIL "FAIL $name: settings after the restore differ: $(grep '^[-+][a-z]' "$dir/settings.diff" | head -4 | tr '\n' ' ')"
		return
	fi
	cg_record "$dir/after" $(tree_pids "$dir")
	if ! diff -u "$dir/before" "$dir/after" > "$dir/cgroup.diff"; then
		result FAIL "FAIL $name: cgroups after the restore differ: $(grep '^[-+][0-9]' "$dir/cgroup.diff" | head -2 | tr '\n' ' ')"
		return
	fi
	finish "$dir" "$name" "$PID" || return
	result PASS "PASS $name"
}

# a refused restore: MODE, what stays (keep: the root's pids cgroup; b: all but B's pids cgroup), error
cg_manage_refused() {
	local name=$1 dir=$2 mode=$3 keep=$4 want=$5
	cg_manage_start "$name" "$dir" || return
	ns_dump "$name" "$dir" "$PID" img || return
	wait "$PID" 2>/dev/null
	if [ "$keep" = b ]; then
		rmdir "/sys/fs/cgroup/pids/$CG_NAME/a/b"
	else
		for d in "${CG_MANAGE[@]}"; do
			[ "$d" = "/sys/fs/cgroup/pids/$CG_NAME" ] && rmdir "$d/a/b" || cg_rmtree "$d"
		done
	fi
	bounded "$dir" 20 restore "$CRIU" restore -D "$dir/img" --manage-cgroups="$mode"
	if [ "$ST" -eq 0 ] || [ "$ST" -eq 124 ]; then
		result FAIL "FAIL $name: restore --manage-cgroups=$mode exited with status $ST"
		return
	fi
	if ! one_error "$dir/restore.err" || ! grep -q "$want" "$dir/restore.err"; then
		result FAIL "FAIL $name: ${CMP_REASON:-$(cut -c1-200 "$dir/restore.err")}"
		return
	fi
	alive "$PID" && { result FAIL "FAIL $name: pid $PID runs after the refused restore"; return; }
	[ "$keep" = keep ] && [ -d "/sys/fs/cgroup/memory/$CG_NAME" ] &&
		{ result FAIL "FAIL $name: the refused restore left cgroups made"; return; }
	result PASS "PASS $name"
}

# a thread of test/progs/cgroup_thread in a pids cgroup of its own
cg_thread() {
	local name=$1 dir=$2 cg=/sys/fs/cgroup/pids/criu-test-$$
	CG_MANAGE=("$cg")
	mkdir -p "$cg/thread" || { result FAIL "FAIL $name: cannot make $cg"; return; }
	"$ROOT/test/progs/cgroup_thread" "$cg/thread" > "$dir/test.log" 2>&1 < /dev/null &
	PID=$!
	track "$PID"
	wait_for "$READY_TIMEOUT" has_ready "$dir/test.log" && wait_for 5 in_sigwait "$PID" ||
		{ result FAIL "FAIL $name: cgroup_thread did not get ready: $(log_tail "$dir/test.log")"; return; }
	ns_dump "$name" "$dir" "$PID" img || return
	wait "$PID" 2>/dev/null
	cg_rmtree "$cg"
	restore_bg "$dir" "$dir/img"
	await_restored "$dir" "$PID" "$name" || return
	wait_for 10 in_sigwait "$PID"
	finish "$dir" "$name" "$PID" || return
	result PASS "PASS $name"
}

# the cgroups of pid $2 as seen from the cgroup namespace of pid $1
cg_seen_from() { nsenter --cgroup="/proc/$1/ns/cgroup" cat "/proc/$2/cgroup"; }

# a tree whose root (in a cgroup namespace, pids a) has a child that moved
# into a/b and made one of its own: both namespaces back, each rooted where
# it was (each process's cgroups seen from its own namespace and from criu's)
cg_nested_ns() {
	local name=$1 dir=$2 child pg=/sys/fs/cgroup/pids/$CG_NAME
	# (python: the runner's fds closed, they would be the tree's)
	python3 -c 'import os, sys; os.closerange(3, 65536); os.execvp(sys.argv[1], sys.argv[1:])' \
		sh -c "echo \$\$ > $pg/a/cgroup.procs && exec unshare --cgroup sh -c 'sh -c \"echo \\\$\\\$ > $pg/a/b/cgroup.procs && exec unshare --cgroup sleep 1000\" & echo READY; wait'" \
		> "$dir/test.log" 2>&1 < /dev/null &
	PID=$!
	track "$PID"
	wait_for "$READY_TIMEOUT" has_ready "$dir/test.log" &&
		wait_for 5 bash -c "c=\$(tr -d ' ' < /proc/$PID/task/$PID/children); [ -n \"\$c\" ] && grep -q '^State:.*S' /proc/\$c/status &&
			[ \"\$(readlink /proc/\$c/ns/cgroup)\" != \"\$(readlink /proc/$PID/ns/cgroup)\" ]" ||
		{ result FAIL "FAIL $name: the tree did not start: $(log_tail "$dir/test.log")"; return; }
	child=$(cat "/proc/$PID/task/$PID/children" | tr -d ' ')
	track "$child"
	{ cg_seen_from "$PID" "$PID"; cg_seen_from "$child" "$child"; cat "/proc/$PID/cgroup" "/proc/$child/cgroup"; } > "$dir/before"
	grep -q "^8:pids:/\$" "$dir/before" || { result FAIL "FAIL $name: not in its own namespace: $(head -2 "$dir/before")"; return; }
	ns_dump "$name" "$dir" "$PID" img || return
	wait "$PID" 2>/dev/null
	cg_rmtree "$pg"
	restore_bg "$dir" "$dir/img"
	await_restored "$dir" "$PID" "$name" || return
	{ cg_seen_from "$PID" "$PID"; cg_seen_from "$child" "$child"; cat "/proc/$PID/cgroup" "/proc/$child/cgroup"; } > "$dir/after"
	if ! diff -u "$dir/before" "$dir/after" > "$dir/cgroup.diff"; then
		result FAIL "FAIL $name: the cgroups differ after the restore: $(grep '^[-+][0-9]' "$dir/cgroup.diff" | head -2 | tr '\n' ' ')"
		return
	fi
	[ "$(readlink "/proc/$child/ns/cgroup")" != "$(readlink "/proc/$PID/ns/cgroup")" ] &&
		[ "$(readlink "/proc/$PID/ns/cgroup")" != "$(readlink /proc/self/ns/cgroup)" ] ||
		{ result FAIL "FAIL $name: the restored processes do not have two cgroup namespaces of their own"; return; }
	kill "$child" 2>/dev/null
	wait "$RPID"
	result PASS "PASS $name"
}

# two children of the root in one cgroup namespace (the second joined the
# first's with nsenter): refused with one line naming them, the tree runs on
cg_nested_shared() {
	local name=$1 dir=$2 kids lines
	sh -c 'unshare --cgroup sleep 1000 & sleep 0.3; nsenter --cgroup=/proc/$!/ns/cgroup sleep 1000 & echo READY; wait' \
		> "$dir/test.log" 2>&1 < /dev/null &
	PID=$!
	track "$PID"
	wait_for "$READY_TIMEOUT" has_ready "$dir/test.log" &&
		wait_for 5 bash -c "[ \$(wc -w < /proc/$PID/task/$PID/children) = 2 ]" ||
		{ result FAIL "FAIL $name: the tree did not start"; return; }
	sleep 0.3
	kids=$(cat "/proc/$PID/task/$PID/children")
	for k in $kids; do track "$k"; done
	"$CRIU" dump -t "$PID" -D "$dir/img" -v4 -o "$dir/dump.log" > "$dir/dump.out" 2> "$dir/dump.err" < /dev/null
	[ $? -eq 0 ] && { result FAIL "FAIL $name: the dump succeeded"; return; }
	lines=$(grep -c . "$dir/dump.err")
	if [ "$lines" -ne 1 ] || ! grep -Eq "^error: pid [0-9]+: cgroup namespace cgroup:\[[0-9]+\] is also that of pid [0-9]+, outside the subtree of pid [0-9]+ that made it" "$dir/dump.err"; then
		result FAIL "FAIL $name: expected one error line naming both children, got $lines: $(head -3 "$dir/dump.err" | tr '\n' '|' | cut -c1-300)"
		return
	fi
	for k in $PID $kids; do
		alive "$k" && ! grep -q '^State:.*[tT]' "/proc/$k/status" ||
			{ result FAIL "FAIL $name: pid $k does not run on after the refused dump"; return; }
	done
	result PASS "PASS $name"
}

cg_container() {
	local name=$1 dir=$2 root
	if ! ns_start "$dir" sh -c "echo \$\$ > ${CG_DIRS[0]}/a/cgroup.procs && echo \$\$ > ${CG_DIRS[1]}/a/cgroup.procs &&
		echo \$\$ > ${CG_DIRS[2]}/u/cgroup.procs && exec unshare --pid --uts --ipc --time --fork \
		--monotonic 1000000 $ROOT/test/progs/ns_state pidns uts ipc time"; then
		result FAIL "FAIL $name: ns_state did not get ready: $(log_tail "$dir/test.log")"
		return
	fi
	sed 's/^//' "/proc/$NPID/cgroup" > "$dir/before"
	ns_dump "$name" "$dir" "$NPID" img --freeze-cgroup "${CG_DIRS[0]}/a" || return
	grep -q "frozen (cgroup v1)" "$dir/dump-img.log" ||
		{ result FAIL "FAIL $name: the dump log does not say the cgroup was frozen"; return; }
	wait "$UPID" 2>/dev/null
	restore_bg "$dir" "$dir/img"
	wait_for "$READY_TIMEOUT" pidfile_ready "$dir/pidfile" ||
		{ result FAIL "FAIL $name: no pidfile: $(criu_error "$dir/restore.log")"; return; }
	root=$(cat "$dir/pidfile")
	track "$root"
	[ "$(inner_pid "$root")" = 1 ] ||
		{ result FAIL "FAIL $name: the restored init is $(inner_pid "$root") in its pid namespace"; return; }
	if ! diff -u "$dir/before" "/proc/$root/cgroup" > "$dir/cgroup.diff"; then
		result FAIL "FAIL $name: the init's cgroups differ: $(grep '^[-+][0-9]' "$dir/cgroup.diff" | head -2 | tr '\n' ' ')"
		return
	fi
	wait_for 10 in_sigwait "$root"
	kill -USR1 "$root"
	wait "$RPID"
	local st=$?
	if [ $st -ne 0 ] || ! grep -q '^PASS$' "$dir/test.log"; then
		result FAIL "FAIL $name: restore exited with $st: $(grep -m1 '^FAIL' "$dir/test.log") $(criu_error "$dir/restore.log")"
		return
	fi
	result PASS "PASS $name"
}

run_cgroup_membership() {
	local check=$1 name=cgroup/$1 dir=$OUT/cgroup/$1
	if ! cg_member_setup; then
		result SKIP "SKIP $name: no freezer, pids and cgroup2 hierarchies here"
		return
	fi
	case $check in
	membership) cg_membership "$name" "$dir" soft ;;
	membership_root) cg_membership "$name" "$dir" root ;;
	membership_ignore) cg_membership "$name" "$dir" ignore ;;
	container) cg_container "$name" "$dir" ;;
	esac
	kill_tracked "$PIDS_FILE"
	for d in "${CG_DIRS[@]}"; do cg_rmtree "$d"; done
	if [ "$TEST_KEEP_IMAGES" != 1 ] && [ "$(cat "$RESULT_FILE" 2>/dev/null)" = PASS ]; then
		rm -rf "$dir/img"
	fi
}

run_cgroup_manage() {
	local check=$1 name=cgroup/$1 dir=$OUT/cgroup/$1
	if [ "$check" != nested_shared ] && ! cg_manage_setup; then
		result SKIP "SKIP $name: no pids, memory, cpu, cpuset and devices v1 hierarchies here"
		for d in "${CG_MANAGE[@]}"; do cg_rmtree "$d"; done
		return
	fi
	case $check in
	manage_full) cg_manage "$name" "$dir" full ;;
	manage_soft) cg_manage "$name" "$dir" soft ;;
	manage_strict) cg_manage "$name" "$dir" strict ;;
	manage_strict_exists) cg_manage_refused "$name" "$dir" strict keep "cgroup /sys/fs/cgroup/pids/criu-test-$$/a exists already (--manage-cgroups strict" ;;
	manage_none_missing) cg_manage_refused "$name" "$dir" none b "cgroup /sys/fs/cgroup/pids/criu-test-$$/a/b does not exist (--manage-cgroups none" ;;
	thread) for d in "${CG_MANAGE[@]}"; do cg_rmtree "$d"; done; cg_thread "$name" "$dir" ;;
	nested_ns) cg_nested_ns "$name" "$dir" ;;
	nested_shared) cg_nested_shared "$name" "$dir" ;;
	esac
	kill_tracked "$PIDS_FILE"
	for d in "${CG_MANAGE[@]}"; do cg_rmtree "$d"; done
	if [ "$TEST_KEEP_IMAGES" != 1 ] && [ "$(cat "$RESULT_FILE" 2>/dev/null)" = PASS ]; then
		rm -rf "$dir/img"
	fi
}

run_cgroup_check() {
	local check=$1 name=cgroup/$1 dir=$OUT/cgroup/$1 v=1
	if [ ! -x "$CRIU" ]; then
		result SKIP "SKIP $name: ${CRIU#$ROOT/} not built"
		return
	fi
	mkdir -p "$dir/tmp"
	export TEST_TMPDIR=$dir/tmp
	case $check in
	membership*|container) run_cgroup_membership "$check"; return ;;
	manage*|thread|nested_*) run_cgroup_manage "$check"; return ;;
	esac
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
	# the test's processes are gone (killed if need be) before the cgroup goes
	[ -e "$CG/freezer.state" ] && echo THAWED > "$CG/freezer.state"
	[ -e "$CG/cgroup.freeze" ] && echo 0 > "$CG/cgroup.freeze"
	kill_tracked "$PIDS_FILE"
	cg_rmtree "$CG"
	if [ "$TEST_KEEP_IMAGES" != 1 ] && [ "$(cat "$RESULT_FILE" 2>/dev/null)" = PASS ]; then
		rm -rf "$dir/img"
	fi
}

section cgroup CGROUP_CHECKS run_cgroup_check
