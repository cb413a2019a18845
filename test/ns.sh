# test/ns.sh - the namespace section of test/run.sh (sourced).
#   ns/refuse_KIND (uts, pid, mnt, ipc, net, cgroup, time, user): a tree
#     made with `unshare --KIND --fork test/progs/ns_state` (unshare and the
#     program it forks) is refused at dump with one error line naming the
#     process and the namespace; unshare and the program run on (neither
#     stopped), and the program passes its checks without a restore

NS_REFUSED=(uts pid mount ipc net cgroup time user)
NS_CHECKS=()
for k in "${NS_REFUSED[@]}"; do NS_CHECKS+=("refuse_$k"); done

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
	if [ "$lines" -ne 1 ] || ! grep -Eq "^error: pid ($pid|$child): .*namespace.* $link:\[[0-9]+\] differs from criu's" "$dir/dump.err"; then
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

run_ns_check() {
	local check=$1 name=ns/$1 dir=$OUT/ns/$1
	if [ ! -x "$CRIU" ]; then
		result SKIP "SKIP $name: ${CRIU#$ROOT/} not built"
		return
	fi
	mkdir -p "$dir/tmp"
	export TEST_TMPDIR=$dir/tmp
	case $check in
	refuse_*) ns_refuse "$name" "$dir" "${check#refuse_}" ;;
	*) result FAIL "FAIL $name: no such check"; return ;;
	esac
	if [ "$TEST_KEEP_IMAGES" != 1 ] && [ "$(cat "$RESULT_FILE" 2>/dev/null)" = PASS ]; then
		rm -rf "$dir/img"
	fi
}

section ns NS_CHECKS run_ns_check
