# test/lazy.sh - the lazy restore section of test/run.sh (sourced by it).
#
# lazy/PROG: each test program, restored with --lazy-pages (its own checks
# compare its memory byte for byte).  lazy/CHECK: the checks below.
#   kill_daemon  the daemon is killed while the restored program waits for a
#                page: the program must be killed, never run on zeros
#   corrupt      a flipped byte in the lazy pages: the process is stopped
#   remote       pages come from `criu page-server` over 127.0.0.1
#   netns        as remote, across a veth pair: the page server runs in a
#                network namespace of its own (created and removed here)
#   partial      a program that reads 1% of its 1 GiB and exits long before
#                the background fill is done: the daemon must see it go,
#                clean up and exit
# CRIU_LAZY_BG_DELAY_US slows the daemon's background fill, so that pages
# are still arriving when the program runs (LAZY_ENV, per program).

LAZY_CHECKS=(kill_daemon corrupt remote netns partial)
declare -A LAZY_ENV=(
	[lazy_events]=5000
	[anon_pattern]=200
)

# the lazy-pages daemon serving images directory $1
daemon_pid() { pgrep -f "^criu lazy-pages -D $1( |$)" | head -1; }

run_lazy_prog() {
	local name=$1 dir=$OUT/lazy/$1 mode=${MODE[$1]:-normal}
	if [ ! -x "$ROOT/test/progs/$name" ] || [ "$mode" = none ]; then
		result SKIP "SKIP $name: not a test program"
		return
	fi
	mkdir -p "$dir/tmp"
	export TEST_TMPDIR=${USER_TMPDIR:-$dir/tmp}
	export CRIU_LAZY_BG_DELAY_US=${LAZY_ENV[$name]:-0}
	RESTORE_EXTRA=(--lazy-pages)
	case $mode in
	normal) run_normal "$name" "$dir" ;;
	leave_running) run_leave_running "$name" "$dir" ;;
	incremental) run_incremental "$name" "$dir" ;;	# a chain of images
	snapshot) run_snapshot "$name" "$dir" ;;	# a live snapshot, restored lazily
	snapshot_chain) run_snapshot_chain "$name" "$dir" ;;
	*) result SKIP "SKIP $name: no lazy variant of mode $mode" ;;
	esac
	if [ "$TEST_KEEP_IMAGES" != 1 ] && [ "$(cat "$RESULT_FILE" 2>/dev/null)" = PASS ]; then
		rm -rf "$dir/img" "$dir/img1" "$dir/img2"
	fi
}

# lazy_dump PROG DIR: starts PROG, dumps it into DIR/img, reaps it; sets PID
lazy_dump() {
	local prog=$1 dir=$2
	start_prog "$prog" "$dir" || { result FAIL "FAIL $TAGNAME: $prog did not start"; return 1; }
	wait_for 5 in_sigwait "$PID" || { result FAIL "FAIL $TAGNAME: $prog not waiting"; return 1; }
	if ! "$CRIU" dump -t "$PID" -D "$dir/img" -v4 -o "$dir/dump.log" > /dev/null 2>&1 < /dev/null; then
		result FAIL "FAIL $TAGNAME: dump failed: $(criu_error "$dir/dump.log")"
		return 1
	fi
	wait "$PID" 2>/dev/null
	return 0
}

lazy_kill_daemon() {
	local dir=$1 pid dpid st
	lazy_dump anon_256m "$dir" || return
	pid=$PID
	export CRIU_LAZY_BG_DELAY_US=20000
	RESTORE_EXTRA=(--lazy-pages)
	restore_bg "$dir" "$dir/img"
	await_restored "$dir" "$pid" "$TAGNAME" || return
	dpid=$(daemon_pid "$dir/img")
	[ -n "$dpid" ] || { result FAIL "FAIL $TAGNAME: no lazy-pages daemon running"; return; }
	track "$dpid"
	# the program checks its memory and waits for a page that never comes
	kill -STOP "$dpid"
	kill -USR1 "$pid"
	sleep 0.5
	if ! alive "$pid" || grep -q '^PASS$' "$dir/test.log"; then
		result FAIL "FAIL $TAGNAME: the program finished before the daemon was killed (all pages were in?)"
		return
	fi
	kill -KILL "$dpid"
	wait "$RPID"; st=$?
	if grep -q '^FAIL' "$dir/test.log"; then
		result FAIL "FAIL $TAGNAME: the program ran on and saw bad memory: $(grep -m1 '^FAIL' "$dir/test.log")"
	elif grep -q '^PASS$' "$dir/test.log"; then
		result FAIL "FAIL $TAGNAME: the program passed without its daemon (pages were all in)"
	elif alive "$pid"; then
		result FAIL "FAIL $TAGNAME: pid $pid still runs after its daemon died"
	elif [ $st -eq 0 ]; then
		result FAIL "FAIL $TAGNAME: restore exited 0 after the daemon died"
	elif ! grep -q 'daemon went away' "$dir/restore.out"; then
		result FAIL "FAIL $TAGNAME: restore did not say why: $(head -2 "$dir/restore.out" | tr '\n' ' ')"
	else
		result PASS "PASS $TAGNAME"
	fi
}

lazy_corrupt() {
	local dir=$1 pid f size st
	lazy_dump anon_pattern "$dir" || return
	pid=$PID
	f=$dir/img/pages-$pid.img
	size=$(stat -c %s "$f")
	flip_bit "$f" $(( 4096 + (size - 4096) / 2 + 123 ))
	RESTORE_EXTRA=(--lazy-pages)
	restore_bg "$dir" "$dir/img"
	if ! wait_for 20 bash -c "[ -s '$dir/pidfile' ] || ! kill -0 $RPID 2>/dev/null"; then
		result FAIL "FAIL $TAGNAME: restore neither ran nor failed"
		return
	fi
	kill -USR1 "$pid" 2>/dev/null
	wait "$RPID"; st=$?
	if grep -q '^PASS$' "$dir/test.log"; then
		result FAIL "FAIL $TAGNAME: the program passed on a corrupt image"
	elif [ $st -eq 0 ]; then
		result FAIL "FAIL $TAGNAME: restore exited 0 on a corrupt image"
	elif alive "$pid"; then
		result FAIL "FAIL $TAGNAME: pid $pid still runs"
	elif ! grep -q 'checksum mismatch' "$dir/img/lazy-pages.log"; then
		result FAIL "FAIL $TAGNAME: the daemon did not report the corruption: $(tail -2 "$dir/img/lazy-pages.log" | tr '\n' ' ')"
	else
		result PASS "PASS $TAGNAME"
	fi
}

lazy_remote() {
	local dir=$1 pid port sp st
	lazy_dump anon_pattern "$dir" || return
	pid=$PID
	port=$(( 20000 + RANDOM % 20000 ))
	"$CRIU" page-server -D "$dir/img" --address 127.0.0.1 --port "$port" -v4 \
		-o "$dir/page-server.log" > /dev/null 2>&1 < /dev/null &
	sp=$!
	track "$sp"
	export CRIU_LAZY_BG_DELAY_US=200
	RESTORE_EXTRA=(--lazy-pages --page-server --address 127.0.0.1 --port "$port")
	restore_bg "$dir" "$dir/img"
	await_restored "$dir" "$pid" "$TAGNAME" || return
	finish "$dir" "$TAGNAME" "$pid" || return
	wait "$sp"; st=$?
	if [ $st -ne 0 ]; then
		result FAIL "FAIL $TAGNAME: page-server exited with $st: $(criu_error "$dir/page-server.log")"
	elif ! grep -q "pages from 127.0.0.1:$port" "$dir/img/lazy-pages.log"; then
		result FAIL "FAIL $TAGNAME: the daemon did not use the page server"
	elif ! grep -q 'summary: ' "$dir/img/lazy-pages.log"; then
		result FAIL "FAIL $TAGNAME: the daemon did not finish"
	else
		result PASS "PASS $TAGNAME"
	fi
}

lazy_netns() {
	local dir=$1 pid port sp st ns=criu-lazy-$$ va=clz$$a vb=clz$$b a b
	if ! command -v ip > /dev/null; then
		result SKIP "SKIP $TAGNAME: no ip command (iproute2)"
		return
	fi
	a=10.$(( RANDOM % 200 + 20 )).$(( RANDOM % 250 )).1
	b=${a%.1}.2
	ip netns del "$ns" 2> /dev/null
	if ! ip netns add "$ns" || ! ip link add "$va" type veth peer name "$vb" ||
	   ! ip link set "$vb" netns "$ns" || ! ip addr add "$a/30" dev "$va" ||
	   ! ip link set "$va" up || ! ip -n "$ns" addr add "$b/30" dev "$vb" ||
	   ! ip -n "$ns" link set "$vb" up || ! ip -n "$ns" link set lo up; then
		ip link del "$va" 2> /dev/null
		ip netns del "$ns" 2> /dev/null
		result SKIP "SKIP $TAGNAME: cannot create a network namespace and a veth pair here"
		return
	fi
	lazy_dump anon_pattern "$dir" || { ip netns del "$ns"; return; }
	pid=$PID
	port=$(( 20000 + RANDOM % 20000 ))
	ip netns exec "$ns" "$CRIU" page-server -D "$dir/img" --address "$b" --port "$port" -v4 \
		-o "$dir/page-server.log" > /dev/null 2>&1 < /dev/null &
	sp=$!
	track "$sp"
	export CRIU_LAZY_BG_DELAY_US=200
	RESTORE_EXTRA=(--lazy-pages --page-server --address "$b" --port "$port")
	restore_bg "$dir" "$dir/img"
	if await_restored "$dir" "$pid" "$TAGNAME" && finish "$dir" "$TAGNAME" "$pid"; then
		wait "$sp"; st=$?
		if [ $st -ne 0 ]; then
			result FAIL "FAIL $TAGNAME: page-server exited with $st: $(criu_error "$dir/page-server.log")"
		elif ! grep -q "pages from $b:$port" "$dir/img/lazy-pages.log"; then
			result FAIL "FAIL $TAGNAME: the daemon did not use the page server across the veth pair"
		elif ! grep -q 'summary: ' "$dir/img/lazy-pages.log"; then
			result FAIL "FAIL $TAGNAME: the daemon did not finish"
		else
			result PASS "PASS $TAGNAME"
		fi
	fi
	kill "$sp" 2> /dev/null
	ip link del "$va" 2> /dev/null
	ip netns del "$ns"
}

lazy_partial() {
	local dir=$1 pid pages
	lazy_dump lazy_partial "$dir" || return
	pid=$PID
	# 512 KiB per 5 ms: the fill would take 10 s
	export CRIU_LAZY_BG_DELAY_US=5000
	RESTORE_EXTRA=(--lazy-pages)
	restore_bg "$dir" "$dir/img"
	await_restored "$dir" "$pid" "$TAGNAME" || return
	finish "$dir" "$TAGNAME" "$pid" || return
	if ! wait_for 10 bash -c "grep -q 'stats:' '$dir/img/lazy-pages.log' && [ ! -e '$dir/img/lazy-pages.sock' ]"; then
		result FAIL "FAIL $TAGNAME: the daemon did not finish after the program exited: $(tail -2 "$dir/img/lazy-pages.log" | tr '\n' ' ')"
		return
	fi
	pages=$(sed -n 's/.*stats: pages=\([0-9]*\).*/\1/p' "$dir/img/lazy-pages.log")
	if [ -n "$(daemon_pid "$dir/img")" ]; then
		result FAIL "FAIL $TAGNAME: the daemon still runs"
	elif ! grep -q "pid $pid is gone" "$dir/img/lazy-pages.log"; then
		result FAIL "FAIL $TAGNAME: the daemon did not see the program go: $(tail -2 "$dir/img/lazy-pages.log" | tr '\n' ' ')"
	elif [ -z "$pages" ] || [ "$pages" -ge 262144 ]; then
		result FAIL "FAIL $TAGNAME: ${pages:-no} pages were copied: the fill was not cut short"
	else
		result PASS "PASS $TAGNAME"
	fi
}

run_lazy() {
	local name=$1 dir=$OUT/lazy/$1
	TAGNAME=lazy/$name
	case " ${LAZY_CHECKS[*]} " in
	*" $name "*)
		[ -x "$CRIU" ] || { result SKIP "SKIP $TAGNAME: criu not built"; return; }
		mkdir -p "$dir"
		"lazy_$name" "$dir" ;;
	*)	TAG=lazy
		run_lazy_prog "$name" ;;
	esac
}
