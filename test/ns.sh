# test/ns.sh - the namespace section of test/run.sh (sourced).
#   ns/refuse_KIND (mount, user): a tree
#     made with `unshare --KIND --fork test/progs/ns_state` (unshare and the
#     program it forks) is refused at dump with one error line naming the
#     process and the namespace (mount: the first mount of the host's
#     table, copied into it, that criu cannot make again; test/mntns.sh has
#     the mount namespaces that are saved); unshare and the program run on
#     (neither stopped), and the program passes its checks without a restore
#   ns/refuse_pid_notinit: the same for a process that is pid 2 of a pid
#     namespace (not its init)
#   ns/pidns: `unshare --pid --fork test/progs/ns_state pidns`: the
#     program, init (1) of a pid namespace, with a tree in it and a nested
#     pid namespace below, is dumped and restored into a new pid
#     namespace, where it is 1 again; every process and thread checks its
#     pid and parent, a process forks into its namespace for children
#   ns/pidns_outer: the same tree under a parent in criu's pid namespace
#     (`ns_state outer`, which made the namespace with unshare(CLONE_NEWPID)
#     and forked), dumped from that parent: restored with the same pids,
#     the namespace made below it
#   ns/pidns_predump: ns/pidns through two pre-dumps --track-mem and a
#     final dump on top
#   ns/pidns_leave_running: ns/pidns dumped with --leave-running: the tree
#     runs on; then killed, restored, and passes
#   ns/pidns_lazy: ns/pidns with restore --lazy-pages (the daemon signals
#     the processes through pidfds, their pids in the namespace are not
#     its own)
#   ns/refuse_nested_uts, refuse_nested_ipc: a tree whose root's child has
#     a uts (ipc) namespace of its own (`ns_state nested`): refused with
#     one line naming the child and the namespace, both run on
#   ns/uts_ipc: `unshare --pid --uts --ipc --fork ns_state pidns uts ipc`:
#     the pid namespace tree of ns/pidns, whose init also set a host and
#     domain name, ipc sysctls, two SysV shared memory segments, a
#     semaphore set and a message queue: restored in new namespaces, it
#     checks them all (and the host's name is unchanged)
#   ns/uts_ipc_predump, uts_ipc_leave_running: the same through
#     pre-dumps, and with --leave-running first
#   ns/uts_ipc_lazy: the same with restore --lazy-pages
#   ns/timens: `unshare --pid --time --fork --monotonic 1000000 --boottime
#     2000000 ns_state pidns time`: restored in a new time namespace whose
#     clocks go on from the dump's (not 11 days back to the host's)
#   ns/timens_lazy: the same with restore --lazy-pages
#   ns/lazy_plain: a single process with its own uts and ipc namespaces (no
#     pid namespace), restore --lazy-pages
#   ns/lazy_kill_daemon: ns/pidns_lazy with 64 MiB to serve slowly, the
#     daemon stopped while the root faults, then killed: every process of
#     the pid namespace ends (criu restore kills its init), the program
#     never passes, and no process outside it is touched
#   ns/missing_images: a dump of the tree with its own uts, ipc and time
#     namespaces, restored without utsns.img, ipcns.img, timens.img in
#     turn (and with a byte of ipcns.img flipped): each restore fails with
#     one error line naming the file, and nothing of the tree runs
#   ns/cgroup: `unshare --cgroup --fork ns_state plain cgroup` (a cgroup
#     namespace of its own, no other): the program dumped, restored: it
#     program finds its /proc/self/cgroup as before, every path "/"
#   ns/mq, mq_predump, mq_lazy: `unshare --ipc --fork mq_ns`: POSIX
#     message queues of its ipc namespace (attributes, owner, mode,
#     messages with priorities, fds with their flags, a dup, limits
#     lowered below a queue's attributes) restored (test/progs/mq_ns.c);
#     through two pre-dumps, with restore --lazy-pages
#   ns/mq_leave_running, mq_snapshot: dumped with --leave-running (and
#     --live-snapshot): the program runs on and passes its checks (the
#     dump received every message and sent it back), then the images are
#     restored and pass them again
#   ns/mq_notify, mq_notify_leave_running, mq_notify_lazy,
#     mq_notify_snapshot (--live-snapshot), mq_notify_predump: `mq_ns
#     notify`: notifications registered on a queue with messages
#     (SIGEV_SIGNAL with a value), on an empty one (another signal and
#     value) and SIGEV_NONE; dumping fires them (the queues are emptied
#     and refilled) and gives them back: the program, left running and
#     restored, got no signal, finds every registration, and each fires
#     once with its value when its emptied queue gets a message
#   ns/mq_refuse_notify: a SIGEV_SIGNAL notification registered while its
#     signal is pending already (the one the dump fires could not be told
#     apart): refused with one line, nothing fired, the pending signal,
#     the registration and the message still there
#   ns/mq_refuse_notify_thread: a SIGEV_THREAD notification: refused
#   ns/mq_refuse_unlinked: a queue open but removed (mq_unlink): refused
#   ns/mq_refuse_foreign: an fd on a queue of another ipc namespace than
#     the tree's (opened before unshare(CLONE_NEWIPC)): refused
#   ns/check: `criu check` reports every namespace kind (ns_pid, ns_uts,
#     ns_ipc, ns_time, ns_mnt, ns_net, ns_cgroup present; ns_user missing
#     as refused at dump) and cgroup version (cgroup_v1, cgroup_v2)

NS_REFUSED=(mount user)
NS_CHECKS=()
for k in "${NS_REFUSED[@]}"; do NS_CHECKS+=("refuse_$k"); done
NS_CHECKS+=(refuse_pid_notinit refuse_nested_uts refuse_nested_ipc pidns pidns_outer pidns_predump
	   pidns_leave_running pidns_lazy uts_ipc uts_ipc_predump uts_ipc_leave_running uts_ipc_lazy
	   timens timens_lazy lazy_plain lazy_kill_daemon missing_images cgroup check
	   mq mq_predump mq_lazy mq_leave_running mq_snapshot mq_refuse_notify mq_refuse_unlinked
	   mq_refuse_foreign mq_notify mq_notify_leave_running mq_notify_lazy mq_refuse_notify_thread
	   mq_notify_snapshot mq_notify_predump)

# the link name in /proc/PID/ns/ of an unshare option, and what criu calls it
ns_link() {
	case $1 in
	mount) echo mnt ;;
	pid) echo pid_for_children ;;
	time) echo time_for_children ;;
	*) echo "$1" ;;
	esac
}

# the only child of pid $1
only_child() { cat "/proc/$1/task/$1/children" 2>/dev/null | tr -d ' '; }

ns_refuse() {
	local name=$1 dir=$2 kind=$3 pid child link lines
	link=$(ns_link "$kind")
	unshare "--$kind" --fork "$ROOT/test/progs/ns_state" > "$dir/test.log" 2>&1 < /dev/null &
	pid=$!
	track "$pid"
	if ! wait_for "$READY_TIMEOUT" has_ready "$dir/test.log"; then
		result FAIL "FAIL $name: ns_state under unshare --$kind did not get ready: $(log_tail "$dir/test.log")"
		return
	fi
	child=$(only_child "$pid")
	track "$child"
	if ! wait_for 5 in_sigwait "$child"; then
		result FAIL "FAIL $name: ns_state (pid $child) is not waiting for SIGUSR1"
		return
	fi
	"$CRIU" dump -t "$pid" -D "$dir/img" -v4 -o "$dir/dump.log" > "$dir/dump.out" 2> "$dir/dump.err" < /dev/null
	if [ $? -eq 0 ]; then
		result FAIL "FAIL $name: the dump of a tree in a new $kind namespace succeeded"
		return
	fi
	lines=$(grep -c . "$dir/dump.err")
	# a mount namespace is saved, but not the host's whole mount table copied by unshare --mount
	local want="^error: pid ($pid|$child): .*namespace.* $link:\[[0-9]+\] differs from criu's"
	[ "$kind" = mount ] && want="^error: pid ($pid|$child): mount namespace mnt:\[[0-9]+\]: mount [0-9]+ at /.* not supported"
	if [ "$lines" -ne 1 ] || ! grep -Eq "$want" "$dir/dump.err"; then
		result FAIL "FAIL $name: expected one error line naming the process and $link:[...], got $lines: $(head -3 "$dir/dump.err" | tr '\n' '|' | cut -c1-300)"
		return
	fi
	if ! tree_running "$pid $child"; then
		result FAIL "FAIL $name: after the refused dump, $CMP_REASON"
		return
	fi
	[ -e "$dir/img/inventory.img" ] && { result FAIL "FAIL $name: inventory.img written by a refused dump"; return; }
	kill -USR1 "$child"
	wait "$pid"
	if [ $? -ne 0 ] || ! grep -q '^PASS$' "$dir/test.log"; then
		result FAIL "FAIL $name: the program fails its checks after the refused dump: $(log_tail "$dir/test.log")"
		return
	fi
	result PASS "PASS $name"
}

# ns_start DIR CMD...: runs CMD (`unshare ... test/progs/ns_state ...`);
# sets UPID (CMD) and NPID (its only child, the program), waits for READY
UPID= NPID=
ns_start() {
	local dir=$1; shift
	local i
	"$@" > "$dir/test.log" 2>&1 < /dev/null &
	UPID=$!
	track "$UPID"
	NPID=
	wait_for "$READY_TIMEOUT" has_ready "$dir/test.log" || return 1
	NPID=$(only_child "$UPID")
	track "$NPID"
	wait_for 5 in_sigwait "$NPID"
}

# the last NSpid of pid $1: its pid in its own pid namespace
inner_pid() { sed -n 's/^NSpid:.*[[:space:]]\([0-9][0-9]*\)$/\1/p' "/proc/$1/status" 2>/dev/null; }

# ns_dump NAME DIR PID IMG ARGS...: criu dump, FAIL on error
ns_dump() {
	local name=$1 dir=$2 pid=$3 img=$4; shift 4
	if ! "$CRIU" dump -t "$pid" -D "$dir/$img" -v4 -o "$dir/dump-$img.log" "$@" \
		> "$dir/dump-$img.out" 2>&1 < /dev/null; then
		result FAIL "FAIL $name: dump failed: $(criu_error "$dir/dump-$img.log")"
		return 1
	fi
}

# ns_restore_check NAME DIR IMG WHO: restores IMG; WHO "init" (the root is
# 1 of a new pid namespace; the pidfile names it as criu sees it) or
# "same" (the root has its pid); SIGUSR1 to ns_state, which must pass
ns_restore_check() {
	local name=$1 dir=$2 img=$3 who=$4 root prog
	restore_bg "$dir" "$dir/$img"
	if ! wait_for "$READY_TIMEOUT" pidfile_ready "$dir/pidfile"; then
		result FAIL "FAIL $name: no pidfile from the restore: $(criu_error "$dir/restore.log")"
		return 1
	fi
	root=$(cat "$dir/pidfile")
	track "$root"
	prog=$root
	if [ "$who" = init ]; then
		if [ "$(inner_pid "$root")" != 1 ]; then
			result FAIL "FAIL $name: the restored root $root is $(inner_pid "$root") in its pid namespace, not 1 ($(grep NSpid "/proc/$root/status" 2>/dev/null))"
			return 1
		fi
	elif [ "$who" = prog ]; then
		if [ "$root" != "$NPID" ]; then
			result FAIL "FAIL $name: restored as pid $root, was $NPID"
			return 1
		fi
	else
		if [ "$root" != "$UPID" ]; then
			result FAIL "FAIL $name: restored as pid $root, was $UPID"
			return 1
		fi
		prog=$NPID
	fi
	if ! wait_for 10 in_sigwait "$prog"; then
		result FAIL "FAIL $name: the restored program $prog is not back in its wait for SIGUSR1"
		return 1
	fi
	kill -USR1 "$prog"
	wait "$RPID"
	local st=$?
	if [ $st -ne 0 ] || ! grep -q '^PASS$' "$dir/test.log"; then
		result FAIL "FAIL $name: restore exited with $st: $(grep -m1 '^FAIL' "$dir/test.log") $(criu_error "$dir/restore.log")"
		return 1
	fi
	return 0
}

# ns_cycle NAME DIR MODE WHO CMD...: starts CMD (ns_start), dumps the
# program (WHO "init", "prog") or CMD itself ("same"), as MODE says
# ("plain", "predump": two pre-dumps --track-mem first, "leave_running",
# "lazy": restore --lazy-pages), restores and checks (ns_restore_check)
ns_cycle() {
	local name=$1 dir=$2 mode=$3 who=$4 target
	shift 4
	if ! ns_start "$dir" "$@"; then
		result FAIL "FAIL $name: ${*: -3} did not get ready: $(log_tail "$dir/test.log")"
		return
	fi
	target=$NPID
	[ "$who" = same ] && target=$UPID
	case $mode in
	predump)
		"$CRIU" pre-dump -t "$target" -D "$dir/pre2" --track-mem -v4 -o "$dir/pre2.log" < /dev/null > /dev/null 2>&1 &&
		"$CRIU" pre-dump -t "$target" -D "$dir/pre3" --track-mem --prev-images-dir ../pre2 -v4 -o "$dir/pre3.log" < /dev/null > /dev/null 2>&1 ||
			{ result FAIL "FAIL $name: pre-dump failed: $(criu_error "$dir/pre2.log") $(criu_error "$dir/pre3.log" 2>/dev/null)"; return; }
		ns_dump "$name" "$dir" "$target" img --track-mem --prev-images-dir ../pre3 || return
		;;
	leave_running)
		ns_dump "$name" "$dir" "$target" img --leave-running || return
		if ! tree_running "$UPID $NPID"; then
			result FAIL "FAIL $name: after dump --leave-running, $CMP_REASON"
			return
		fi
		kill -KILL "$NPID"
		;;
	*)	ns_dump "$name" "$dir" "$target" img || return ;;
	esac
	wait "$UPID" 2>/dev/null
	[ "$mode" = lazy ] && RESTORE_EXTRA=(--lazy-pages)
	ns_restore_check "$name" "$dir" img "$who" || return
	result PASS "PASS $name"
}

# ns_pidns NAME DIR MODE: ns_cycle of the pid namespace tree
ns_pidns() {
	local name=$1 dir=$2 mode=$3
	if [ "$mode" = outer ]; then
		# unshare itself holds a pipe to nothing: the program makes the namespace
		ns_cycle "$name" "$dir" plain same "$ROOT/test/progs/ns_state" outer
	else
		ns_cycle "$name" "$dir" "$mode" init unshare --pid --fork "$ROOT/test/progs/ns_state" pidns
	fi
}

# a tree whose root's child has a uts or ipc namespace of its own: refused
ns_refuse_nested() {
	local name=$1 dir=$2 kind=$3 lines
	if ! ns_start "$dir" "$ROOT/test/progs/ns_state" nested "$kind"; then
		result FAIL "FAIL $name: ns_state nested $kind did not get ready: $(log_tail "$dir/test.log")"
		return
	fi
	"$CRIU" dump -t "$UPID" -D "$dir/img" -v4 -o "$dir/dump.log" > "$dir/dump.out" 2> "$dir/dump.err" < /dev/null
	if [ $? -eq 0 ]; then
		result FAIL "FAIL $name: the dump of a tree with a nested $kind namespace succeeded"
		return
	fi
	lines=$(grep -c . "$dir/dump.err")
	if [ "$lines" -ne 1 ] || ! grep -Eq "^error: pid $NPID: $kind namespace $kind:\[[0-9]+\] differs from the tree root's \(pid $UPID\)" "$dir/dump.err"; then
		result FAIL "FAIL $name: expected one error line naming pid $NPID and its $kind namespace, got $lines: $(head -3 "$dir/dump.err" | tr '\n' '|' | cut -c1-300)"
		return
	fi
	if ! tree_running "$UPID $NPID"; then
		result FAIL "FAIL $name: after the refused dump, $CMP_REASON"
		return
	fi
	kill -USR1 "$NPID"
	wait "$UPID"
	if [ $? -ne 0 ] || ! grep -q '^PASS$' "$dir/test.log"; then
		result FAIL "FAIL $name: the program fails its checks after the refused dump: $(log_tail "$dir/test.log")"
		return
	fi
	result PASS "PASS $name"
}

# the container-like tree with uts and ipc namespaces; the host's own name stays
ns_uts_ipc() {
	local name=$1 dir=$2 mode=$3 host
	host=$(hostname)
	ns_cycle "$name" "$dir" "$mode" init unshare --pid --uts --ipc --fork "$ROOT/test/progs/ns_state" pidns uts ipc
	if [ "$(hostname)" != "$host" ]; then
		result FAIL "FAIL $name: the host's name changed from $host to $(hostname)"
	fi
}

ns_refuse_pid_notinit() {
	local name=$1 dir=$2 a lines
	if ! ns_start "$dir" unshare --pid --fork "$ROOT/test/progs/ns_state" pidns; then
		result FAIL "FAIL $name: ns_state pidns did not get ready: $(log_tail "$dir/test.log")"
		return
	fi
	a=$(only_child "$NPID")
	"$CRIU" dump -t "$a" -D "$dir/img" -v4 -o "$dir/dump.log" > "$dir/dump.out" 2> "$dir/dump.err" < /dev/null
	if [ $? -eq 0 ]; then
		result FAIL "FAIL $name: the dump of pid 2 of a pid namespace succeeded"
		return
	fi
	lines=$(grep -c . "$dir/dump.err")
	if [ "$lines" -ne 1 ] || ! grep -Eq "^error: pid $a: pid namespace pid:\[[0-9]+\] \(pid 2 inside\): only a tree whose root is its namespace's init" "$dir/dump.err"; then
		result FAIL "FAIL $name: expected one error line naming pid $a and its namespace, got $lines: $(head -3 "$dir/dump.err" | tr '\n' '|' | cut -c1-300)"
		return
	fi
	if ! tree_running "$UPID $NPID $a"; then
		result FAIL "FAIL $name: after the refused dump, $CMP_REASON"
		return
	fi
	kill -USR1 "$NPID"
	wait "$UPID"
	if [ $? -ne 0 ] || ! grep -q '^PASS$' "$dir/test.log"; then
		result FAIL "FAIL $name: the program fails its checks after the refused dump: $(log_tail "$dir/test.log")"
		return
	fi
	result PASS "PASS $name"
}

# ns_mq_running NAME DIR MODE DUMPARGS...: mq_ns MODE dumped leaving it
# running: it must pass on its own (its queues as they were), then the
# images too
ns_mq_running() {
	local name=$1 dir=$2 mode=$3 off
	shift 3
	if ! ns_start "$dir" unshare --ipc --fork "$ROOT/test/progs/mq_ns" "$mode"; then
		result FAIL "FAIL $name: mq_ns did not get ready: $(log_tail "$dir/test.log")"
		return
	fi
	ns_dump "$name" "$dir" "$NPID" img "$@" || return
	if ! tree_running "$UPID $NPID"; then
		result FAIL "FAIL $name: after the dump, $CMP_REASON"
		return
	fi
	kill -USR1 "$NPID"
	wait "$UPID" 2>/dev/null
	if ! grep -q '^PASS$' "$dir/test.log"; then
		result FAIL "FAIL $name: the program left running fails its checks: $(log_tail "$dir/test.log")"
		return
	fi
	# the restored program writes at the same offset: its PASS must be its own
	off=$(grep -b '^PASS$' "$dir/test.log" | cut -d: -f1)
	printf 'SEEN' | dd of="$dir/test.log" bs=1 seek="$off" conv=notrunc 2>/dev/null
	ns_restore_check "$name" "$dir" img prog || return
	result PASS "PASS $name"
}

# ns_mq_refuse NAME DIR MODE WANT: mq_ns MODE refused with one line matching
# WANT; it runs on and passes its own checks
ns_mq_refuse() {
	local name=$1 dir=$2 mode=$3 want=$4 lines
	if ! ns_start "$dir" unshare --ipc --fork "$ROOT/test/progs/mq_ns" "$mode"; then
		result FAIL "FAIL $name: mq_ns $mode did not get ready: $(log_tail "$dir/test.log")"
		return
	fi
	"$CRIU" dump -t "$NPID" -D "$dir/img" -v4 -o "$dir/dump.log" > "$dir/dump.out" 2> "$dir/dump.err" < /dev/null
	if [ $? -eq 0 ]; then
		result FAIL "FAIL $name: the dump succeeded"
		return
	fi
	lines=$(grep -c . "$dir/dump.err")
	if [ "$lines" -ne 1 ] || ! grep -Eq "$want" "$dir/dump.err"; then
		result FAIL "FAIL $name: expected one error line matching '$want', got $lines: $(head -3 "$dir/dump.err" | tr '\n' '|' | cut -c1-300)"
		return
	fi
	if ! tree_running "$UPID $NPID"; then
		result FAIL "FAIL $name: after the refused dump, $CMP_REASON"
		return
	fi
	kill -USR1 "$NPID"
	wait "$UPID"
	if ! grep -q '^PASS$' "$dir/test.log"; then
		result FAIL "FAIL $name: the program fails its checks after the refused dump: $(log_tail "$dir/test.log")"
		return
	fi
	result PASS "PASS $name"
}

ns_lazy_kill_daemon() {
	local name=$1 dir=$2 root dpid st
	if ! ns_start "$dir" unshare --pid --fork "$ROOT/test/progs/ns_state" pidns mem; then
		result FAIL "FAIL $name: ns_state did not get ready: $(log_tail "$dir/test.log")"
		return
	fi
	ns_dump "$name" "$dir" "$NPID" img || return
	wait "$UPID" 2>/dev/null
	export CRIU_LAZY_BG_DELAY_US=20000
	RESTORE_EXTRA=(--lazy-pages)
	restore_bg "$dir" "$dir/img"
	wait_for "$READY_TIMEOUT" pidfile_ready "$dir/pidfile" ||
		{ result FAIL "FAIL $name: no pidfile: $(criu_error "$dir/restore.log")"; return; }
	root=$(cat "$dir/pidfile")
	track "$root"
	dpid=$(daemon_pid "$dir/img")
	[ -n "$dpid" ] || { result FAIL "FAIL $name: no lazy-pages daemon running"; return; }
	track "$dpid"
	wait_for 10 in_sigwait "$root"
	kill -STOP "$dpid"
	kill -USR1 "$root"
	sleep 0.5
	if ! alive "$root" || grep -q '^PASS$' "$dir/test.log"; then
		result FAIL "FAIL $name: the program finished before the daemon was killed"
		return
	fi
	kill -KILL "$dpid"
	wait "$RPID"; st=$?
	if [ $st -eq 0 ] || grep -q '^PASS$' "$dir/test.log"; then
		result FAIL "FAIL $name: restore exited $st after its daemon was killed: $(log_tail "$dir/test.log")"
		return
	fi
	if ! wait_for 5 no_ns_state_left; then
		result FAIL "FAIL $name: after the daemon was killed, $CMP_REASON"
		return
	fi
	result PASS "PASS $name"
}

# no process runs test/progs/ns_state pidns any more
no_ns_state_left() {
	local p
	for p in $(pgrep -f "^$ROOT/test/progs/ns_state pidns"); do
		CMP_REASON="pid $p ($(tr '\0' ' ' < "/proc/$p/cmdline")) runs"
		return 1
	done
	return 0
}

ns_missing_images() {
	local name=$1 dir=$2 f what
	if ! ns_start "$dir" unshare --pid --uts --ipc --time --fork "$ROOT/test/progs/ns_state" pidns uts ipc time; then
		result FAIL "FAIL $name: ns_state did not get ready: $(log_tail "$dir/test.log")"
		return
	fi
	ns_dump "$name" "$dir" "$NPID" img || return
	wait "$UPID" 2>/dev/null
	for f in utsns.img ipcns.img timens.img flip; do
		rm -rf "$dir/bad"
		cp -a "$dir/img" "$dir/bad"
		what=$f
		if [ "$f" = flip ]; then
			what=ipcns.img
			printf '\x01' | dd of="$dir/bad/ipcns.img" bs=1 seek=40 conv=notrunc 2>/dev/null
		else
			rm "$dir/bad/$f"
		fi
		bounded "$dir" 20 "restore-$f" "$CRIU" restore -D "$dir/bad"
		if [ "$ST" -eq 0 ] || [ "$ST" -eq 124 ]; then
			result FAIL "FAIL $name: restore without $f exited with status $ST"
			return
		fi
		if ! one_error "$dir/restore-$f.err" || ! grep -q "$what" "$dir/restore-$f.err"; then
			result FAIL "FAIL $name: without $f: ${CMP_REASON:-the error does not name $what: $(cut -c1-200 "$dir/restore-$f.err")}"
			return
		fi
		if ! no_ns_state_left; then
			result FAIL "FAIL $name: after the failed restore without $f, $CMP_REASON"
			return
		fi
	done
	rm -rf "$dir/bad"
	result PASS "PASS $name"
}

ns_check_features() {
	local name=$1 dir=$2 f
	for f in ns_pid ns_uts ns_ipc ns_time ns_mnt ns_net ns_cgroup; do
		bounded "$dir" 30 "check-$f" "$CRIU" check --feature "$f"
		if [ "$ST" -ne 0 ] || ! grep -q "^$f: present (saved and restored" "$dir/check-$f.out"; then
			result FAIL "FAIL $name: criu check --feature $f: status $ST, $(head -1 "$dir/check-$f.out") $(head -1 "$dir/check-$f.err")"
			return
		fi
	done
	for f in ns_user; do
		bounded "$dir" 30 "check-$f" "$CRIU" check --feature "$f"
		if [ "$ST" -ne 1 ] || ! grep -q "^$f: missing (.*refused at dump" "$dir/check-$f.out"; then
			result FAIL "FAIL $name: criu check --feature $f: status $ST, $(head -1 "$dir/check-$f.out") $(head -1 "$dir/check-$f.err")"
			return
		fi
	done
	bounded "$dir" 60 check "$CRIU" check
	for f in ns_pid ns_uts ns_ipc ns_mnt ns_net ns_cgroup ns_time ns_user cgroup_v1 cgroup_v2; do
		if ! grep -q "^$f: " "$dir/check.out"; then
			result FAIL "FAIL $name: criu check does not report $f"
			return
		fi
	done
	result PASS "PASS $name"
}

run_ns_check() {
	local check=$1 name=ns/$1 dir=$OUT/ns/$1
	if [ ! -x "$CRIU" ]; then
		result SKIP "SKIP $name: ${CRIU#$ROOT/} not built"
		return
	fi
	mkdir -p "$dir/tmp"
	export TEST_TMPDIR=$dir/tmp
	case $check in
	refuse_pid_notinit) ns_refuse_pid_notinit "$name" "$dir" ;;
	refuse_nested_uts) ns_refuse_nested "$name" "$dir" uts ;;
	refuse_nested_ipc) ns_refuse_nested "$name" "$dir" ipc ;;
	refuse_*) ns_refuse "$name" "$dir" "${check#refuse_}" ;;
	pidns) ns_pidns "$name" "$dir" inner ;;
	pidns_outer) ns_pidns "$name" "$dir" outer ;;
	pidns_predump) ns_pidns "$name" "$dir" predump ;;
	pidns_leave_running) ns_pidns "$name" "$dir" leave_running ;;
	pidns_lazy) ns_pidns "$name" "$dir" lazy ;;
	uts_ipc) ns_uts_ipc "$name" "$dir" plain ;;
	uts_ipc_predump) ns_uts_ipc "$name" "$dir" predump ;;
	uts_ipc_leave_running) ns_uts_ipc "$name" "$dir" leave_running ;;
	uts_ipc_lazy) ns_uts_ipc "$name" "$dir" lazy ;;
	check) ns_check_features "$name" "$dir" ;;
	cgroup) ns_cycle "$name" "$dir" plain prog unshare --cgroup --fork "$ROOT/test/progs/ns_state" plain cgroup ;;
	missing_images) ns_missing_images "$name" "$dir" ;;
	lazy_kill_daemon) ns_lazy_kill_daemon "$name" "$dir" ;;
	timens) ns_cycle "$name" "$dir" plain init unshare --pid --time --fork --monotonic 1000000 \
			--boottime 2000000 "$ROOT/test/progs/ns_state" pidns time ;;
	timens_lazy) ns_cycle "$name" "$dir" lazy init unshare --pid --time --fork --monotonic 1000000 \
			--boottime 2000000 "$ROOT/test/progs/ns_state" pidns time ;;
	lazy_plain) ns_cycle "$name" "$dir" lazy prog unshare --uts --ipc --fork \
			"$ROOT/test/progs/ns_state" plain uts ipc ;;
	mq) ns_cycle "$name" "$dir" plain prog unshare --ipc --fork "$ROOT/test/progs/mq_ns" ;;
	mq_predump) ns_cycle "$name" "$dir" predump prog unshare --ipc --fork "$ROOT/test/progs/mq_ns" ;;
	mq_lazy) ns_cycle "$name" "$dir" lazy prog unshare --ipc --fork "$ROOT/test/progs/mq_ns" ;;
	mq_leave_running) ns_mq_running "$name" "$dir" state --leave-running ;;
	mq_snapshot) ns_mq_running "$name" "$dir" state --leave-running --live-snapshot ;;
	mq_notify) ns_cycle "$name" "$dir" plain prog unshare --ipc --fork "$ROOT/test/progs/mq_ns" notify ;;
	mq_notify_lazy) ns_cycle "$name" "$dir" lazy prog unshare --ipc --fork "$ROOT/test/progs/mq_ns" notify ;;
	mq_notify_leave_running) ns_mq_running "$name" "$dir" notify --leave-running ;;
	mq_notify_snapshot) ns_mq_running "$name" "$dir" notify --leave-running --live-snapshot ;;
	mq_notify_predump) ns_cycle "$name" "$dir" predump prog unshare --ipc --fork "$ROOT/test/progs/mq_ns" notify ;;
	mq_refuse_notify) ns_mq_refuse "$name" "$dir" notify_pending \
			"^error: ipc namespace: POSIX message queue /mq-p: a notification is registered \(mq_notify by pid [0-9]+, sigev_notify 0, signal 12\) while its signal is pending already: not supported" ;;
	mq_refuse_notify_thread) ns_mq_refuse "$name" "$dir" notify_thread \
			"^error: ipc namespace: POSIX message queue /mq-t: a notification is registered \(mq_notify by pid [0-9]+, sigev_notify 2, signal [0-9]+\) by a thread \(SIGEV_THREAD\): not supported" ;;
	mq_refuse_unlinked) ns_mq_refuse "$name" "$dir" unlinked \
			"^error: files: pid [0-9]+: fd [0-9]+: POSIX message queue /mq-u \(deleted\): removed \(mq_unlink\) while open" ;;
	mq_refuse_foreign) ns_mq_refuse "$name" "$dir" foreign \
			"^error: pid [0-9]+: fd [0-9]+: POSIX message queue /mq-f is not one of its ipc namespace's" ;;
	*) result FAIL "FAIL $name: no such check"; return ;;
	esac
	if [ "$TEST_KEEP_IMAGES" != 1 ] && [ "$(cat "$RESULT_FILE" 2>/dev/null)" = PASS ]; then
		rm -rf "$dir/img" "$dir"/pre*
	fi
}

section ns NS_CHECKS run_ns_check
