# test/net.sh - the network section of test/run.sh (sourced).
#
# A TCP echo server in the dumped tree (test/progs/tcp_echo) and a client
# outside it (test/progs/tcp_stream) streaming a pattern with 256 KiB in
# flight: both check every byte, so a byte lost or doubled on either way
# fails.  The client must stream on through the dump and restore; the
# server then checks its side (SIGUSR1) and the client drains and says OK.
#   net/tcp_local, net/tcp_local6: dump --tcp-established, killed, restored
#     (127.0.0.1, ::1); the network lock table is gone after the restore
#   net/tcp_lazy: the same with restore --lazy-pages
#   net/tcp_predump: pre-dump --track-mem, then the dump on top
#   net/tcp_leave_running: dump --leave-running: the stream never stops,
#     no lock is left
#   net/tcp_netns: server (and criu) in one network namespace, client in
#     another, joined by a veth pair (made and removed here)
#   net/tcp_refused: without --tcp-established the dump is refused with
#     one line naming the pid, the fd and the connection; the stream goes on
#   net/tcp_pair, net/tcp_close: test/progs/tcp_pair (both ends of each
#     connection in the process, megabytes queued) dumped with
#     --tcp-established (every byte arrives, in order) or --tcp-close
#     (sockets never connected), restored, checked by the program
#   net/tcp_halfclosed: test/progs/tcp_refuse halfclosed (FIN_WAIT2 and
#     CLOSE_WAIT with 3 bytes unread) dumped with --tcp-established,
#     restored: the states, the bytes, the end of stream, data the other way
#   net/refuse_backlog, refuse_urgent, refuse_md5, refuse_synsent,
#     refuse_soerror: test/progs/tcp_refuse (a listener with a connection
#     not accepted, urgent data, a listener with an MD5 key, a connect in
#     SYN_SENT, a UDP socket with ECONNREFUSED pending) dumped with
#     --tcp-established: one error line naming the pid, the fd and what is
#     refused; the program runs on, its state intact (still SYN_SENT; the
#     error still pending: the dump did not clear it)
#   net/lock_killed: criu killed while the tree is frozen and locked (a
#     post-copy dump serving pages): no lock is left, the stream goes on
#   net/tcp_iptables, net/lock_killed_iptables: net/tcp_local and
#     net/lock_killed with --network-lock iptables (a chain CRIU_LOCK_PID;
#     the iptables filter tables they make are removed after)
# Everything made here (network namespaces, nftables tables of criu's) is
# removed at the end of each check, also when it fails.

NET_CHECKS=(tcp_local tcp_local6 tcp_lazy tcp_predump tcp_leave_running tcp_netns tcp_refused lock_killed
	    tcp_iptables lock_killed_iptables
	    tcp_pair tcp_close tcp_halfclosed refuse_backlog refuse_urgent refuse_md5 refuse_synsent refuse_soerror)
NET_NS_A=criu-test-a
NET_NS_B=criu-test-b

# the test's ports: below the ephemeral range (test_port, test/run.sh)
net_port() { test_port "${1:-0}"; }
net_has() { grep -q "^$2" "$1" 2>/dev/null; }
net_tables() {
	local l
	l=$(nft list tables 2>/dev/null | grep -E "criu_(lock|dump)_$1\$"
	    iptables -w -n -L "CRIU_LOCK_$1" > /dev/null 2>&1 && echo "iptables CRIU_LOCK_$1"
	    ip6tables -w -n -L "CRIU_LOCK_$1" > /dev/null 2>&1 && echo "ip6tables CRIU_LOCK_$1")
	[ -n "$l" ] && echo "$l"
}
# the iptables filter tables (nftables ones with iptables-nft) the checks
# with --network-lock iptables may make: removed after if they were not there
NET_IPT_TABLES=
net_ipt_note() { NET_IPT_TABLES=$(nft list tables 2>/dev/null | grep -E '^table ip6? filter$'); }
net_ipt_cleanup() {
	local pid=$1 t c
	for c in iptables ip6tables; do
		$c -w -D INPUT -j "CRIU_LOCK_$pid" 2>/dev/null
		$c -w -D OUTPUT -j "CRIU_LOCK_$pid" 2>/dev/null
		$c -w -F "CRIU_LOCK_$pid" 2>/dev/null
		$c -w -X "CRIU_LOCK_$pid" 2>/dev/null
	done
	for t in "table ip filter" "table ip6 filter"; do
		grep -qx "$t" <<< "$NET_IPT_TABLES" || nft delete $t 2>/dev/null
	done
	return 0
}

net_cleanup() {
	local pid=$1 t
	[ "$NET_IPT" = 1 ] && net_ipt_cleanup "$pid"
	for t in $(nft list tables 2>/dev/null | grep -oE "criu_(lock|dump)_$pid\$"); do
		nft delete table inet "$t" 2>/dev/null
	done
	ip netns del "$NET_NS_A" 2>/dev/null
	ip netns del "$NET_NS_B" 2>/dev/null
	return 0
}

net_make_ns() {
	ip netns del "$NET_NS_A" 2>/dev/null
	ip netns del "$NET_NS_B" 2>/dev/null
	ip netns add "$NET_NS_A" && ip netns add "$NET_NS_B" &&
	ip link add criu-va netns "$NET_NS_A" type veth peer name criu-vb netns "$NET_NS_B" &&
	ip -n "$NET_NS_A" addr add 10.231.0.1/24 dev criu-va && ip -n "$NET_NS_B" addr add 10.231.0.2/24 dev criu-vb &&
	ip -n "$NET_NS_A" link set lo up && ip -n "$NET_NS_B" link set lo up &&
	ip -n "$NET_NS_A" link set criu-va up && ip -n "$NET_NS_B" link set criu-vb up
}

# net_stream NAME DIR ADDR SRV_NS CLI_NS DUMP_ARGS RESTORE_ARGS [predump]
# (an empty *_NS is criu's own namespace)
net_stream() {
	local name=$1 dir=$2 addr=$3 sns=$4 cns=$5 dargs=$6 rargs=$7 pre=${8:-} port pid cpid
	local SX=() CX=()
	[ -n "$sns" ] && SX=(nsenter "--net=/run/netns/$sns")
	[ -n "$cns" ] && CX=(nsenter "--net=/run/netns/$cns")
	port=$(net_port)
	"${SX[@]}" "$ROOT/test/progs/tcp_echo" "$addr" "$port" > "$dir/test.log" 2>&1 < /dev/null &
	pid=$!
	track "$pid"
	NET_PID=$pid
	if ! wait_for "$READY_TIMEOUT" has_ready "$dir/test.log"; then
		result FAIL "FAIL $name: tcp_echo did not get ready: $(log_tail "$dir/test.log")"
		return
	fi
	"${CX[@]}" "$ROOT/test/progs/tcp_stream" "$addr" "$port" > "$dir/client.log" 2>&1 < /dev/null &
	cpid=$!
	track "$cpid"
	if ! wait_for 10 net_has "$dir/client.log" STREAMING; then
		result FAIL "FAIL $name: the client does not stream: $(log_tail "$dir/client.log")"
		return
	fi
	if [ -n "$pre" ] && ! "${SX[@]}" "$CRIU" pre-dump -t "$pid" -D "$dir/img/1" --track-mem -v4 \
		-o "$dir/predump.log" > /dev/null 2>&1 < /dev/null; then
		result FAIL "FAIL $name: pre-dump failed: $(criu_error "$dir/predump.log")"
		return
	fi
	local dd=$dir/img
	[ -n "$pre" ] && { dd=$dir/img/2; dargs="$dargs --prev-images-dir ../1 --track-mem"; sleep 0.5; }
	# shellcheck disable=SC2086
	if ! "${SX[@]}" "$CRIU" dump -t "$pid" -D "$dd" $dargs -v4 -o "$dir/dump.log" \
		> /dev/null 2> "$dir/dump.err" < /dev/null; then
		result FAIL "FAIL $name: dump failed: $(criu_error "$dir/dump.log")"
		return
	fi
	if [[ "$dargs" != *leave-running* ]]; then
		wait_for 5 dead "$pid" || { result FAIL "FAIL $name: the dumped server still runs"; return; }
		if [ -z "$(net_tables "$pid")" ] && [ -z "$sns" ]; then
			result FAIL "FAIL $name: no network lock table after the dump"
			return
		fi
		sleep 0.5	# the client retransmits into the lock meanwhile
		# shellcheck disable=SC2086
		if ! "${SX[@]}" "$CRIU" restore -D "$dd" -d $rargs -v4 -o "$dir/restore.log" \
			> /dev/null 2>&1 < /dev/null; then
			result FAIL "FAIL $name: restore failed: $(criu_error "$dir/restore.log")"
			return
		fi
	fi
	if [ -n "$("${SX[@]}" nft list tables 2>/dev/null | grep -E "criu_(lock|dump)_$pid\$")" ]; then
		result FAIL "FAIL $name: the network lock is still there after the restore"
		return
	fi
	net_finish "$name" "$dir" "$pid" "$cpid"
}

# the stream goes on 1 s more, then the server checks its side and the client drains
net_finish() {
	local name=$1 dir=$2 pid=$3 cpid=$4 before
	before=$(wc -c < "$dir/client.log")
	sleep 1
	alive "$cpid" || { result FAIL "FAIL $name: the client stopped: $(log_tail "$dir/client.log")"; return; }
	kill -TERM "$cpid"
	if ! wait_for 35 net_has "$dir/client.log" 'OK '; then
		result FAIL "FAIL $name: the client: $(log_tail "$dir/client.log")"
		return
	fi
	kill -USR1 "$pid"
	if ! wait_for 10 net_has "$dir/test.log" PASS; then
		result FAIL "FAIL $name: the server: $(log_tail "$dir/test.log")"
		return
	fi
	kill -TERM "$cpid"
	[ "$before" -ge 0 ] && result PASS "PASS $name ($(grep '^OK ' "$dir/client.log"))"
}

net_refused() {
	local name=$1 dir=$2 port pid cpid lines
	port=$(net_port)
	"$ROOT/test/progs/tcp_echo" 127.0.0.1 "$port" > "$dir/test.log" 2>&1 < /dev/null &
	pid=$!
	track "$pid"
	NET_PID=$pid
	wait_for "$READY_TIMEOUT" has_ready "$dir/test.log" || { result FAIL "FAIL $name: not ready"; return; }
	"$ROOT/test/progs/tcp_stream" 127.0.0.1 "$port" > "$dir/client.log" 2>&1 < /dev/null &
	cpid=$!
	track "$cpid"
	wait_for 10 net_has "$dir/client.log" STREAMING || { result FAIL "FAIL $name: no stream"; return; }
	if "$CRIU" dump -t "$pid" -D "$dir/img" -v4 -o "$dir/dump.log" > /dev/null 2> "$dir/dump.err" < /dev/null; then
		result FAIL "FAIL $name: a dump of an established connection without --tcp-established succeeded"
		return
	fi
	lines=$(grep -c . "$dir/dump.err")
	if [ "$lines" -ne 1 ] || ! grep -Eq "^error: .*pid $pid: fd [0-9]+: TCP connection 127\.0\.0\.1:$port -> 127\.0\.0\.1:[0-9]+ is established: dump with --tcp-established" "$dir/dump.err"; then
		result FAIL "FAIL $name: expected one line naming pid, fd and connection, got $lines: $(head -3 "$dir/dump.err" | tr '\n' '|' | cut -c1-300)"
		return
	fi
	[ -n "$(net_tables "$pid")" ] && { result FAIL "FAIL $name: a lock table is left"; return; }
	net_finish "$name" "$dir" "$pid" "$cpid"
}

# a post-copy dump keeps the tree frozen (and locked) while it serves pages:
# criu is killed then
net_lock_killed() {
	local name=$1 dir=$2 port pid cpid dpid
	port=$(net_port)
	"$ROOT/test/progs/tcp_echo" 127.0.0.1 "$port" > "$dir/test.log" 2>&1 < /dev/null &
	pid=$!
	track "$pid"
	NET_PID=$pid
	wait_for "$READY_TIMEOUT" has_ready "$dir/test.log" || { result FAIL "FAIL $name: not ready"; return; }
	"$ROOT/test/progs/tcp_stream" 127.0.0.1 "$port" > "$dir/client.log" 2>&1 < /dev/null &
	cpid=$!
	track "$cpid"
	wait_for 10 net_has "$dir/client.log" STREAMING || { result FAIL "FAIL $name: no stream"; return; }
	# shellcheck disable=SC2086
	"$CRIU" dump -t "$pid" -D "$dir/img" --tcp-established --lazy-pages --port "$(net_port 8)" ${3:-} -v4 \
		-o "$dir/dump.log" > /dev/null 2>&1 < /dev/null &
	dpid=$!
	track "$dpid"
	if ! wait_for 10 net_tables "$pid" > /dev/null; then
		result FAIL "FAIL $name: the dump made no lock: $(criu_error "$dir/dump.log")"
		return
	fi
	wait_for 10 grep -q 'serving\|listen' "$dir/dump.log"
	kill -KILL "$dpid"
	wait "$dpid" 2>/dev/null
	if ! wait_for 5 eval '[ -z "$(net_tables '"$pid"')" ]'; then
		result FAIL "FAIL $name: the lock outlived the killed dump: $(net_tables "$pid")"
		return
	fi
	wait_for 5 eval '[ "$(proc_state '"$pid"')" != t ]'
	net_finish "$name" "$dir" "$pid" "$cpid"
}

# net_pair NAME DIR DUMP_OPTION [ENV]: tcp_pair dumped, restored, checked
net_pair() {
	local name=$1 dir=$2 opt=$3 env=${4:-} prog=${5:-tcp_pair} arg=${6:-} pid
	env $env "$ROOT/test/progs/$prog" $arg > "$dir/test.log" 2>&1 < /dev/null &
	pid=$!
	track "$pid"
	NET_PID=$pid
	wait_for "$READY_TIMEOUT" has_ready "$dir/test.log" || { result FAIL "FAIL $name: not ready: $(log_tail "$dir/test.log")"; return; }
	if ! "$CRIU" dump -t "$pid" -D "$dir/img" "$opt" -v4 -o "$dir/dump.log" > /dev/null 2>&1 < /dev/null; then
		result FAIL "FAIL $name: dump failed: $(criu_error "$dir/dump.log")"
		return
	fi
	wait_for 5 dead "$pid" || { result FAIL "FAIL $name: still running after the dump"; return; }
	if ! "$CRIU" restore -D "$dir/img" -d -v4 -o "$dir/restore.log" > /dev/null 2>&1 < /dev/null; then
		result FAIL "FAIL $name: restore failed: $(criu_error "$dir/restore.log")"
		return
	fi
	kill -USR1 "$pid"
	if ! wait_for 20 net_has "$dir/test.log" PASS; then
		result FAIL "FAIL $name: $(log_tail "$dir/test.log")"
		return
	fi
	result PASS "PASS $name"
}

# net_refuse NAME DIR KIND PATTERN: tcp_refuse KIND refused at dump with one
# line matching PATTERN (after "error: files: pid PID: fd ")
net_refuse() {
	local name=$1 dir=$2 kind=$3 pat=$4 pid lines
	"$ROOT/test/progs/tcp_refuse" "$kind" > "$dir/test.log" 2>&1 < /dev/null &
	pid=$!
	track "$pid"
	NET_PID=$pid
	wait_for "$READY_TIMEOUT" has_ready "$dir/test.log" || { result FAIL "FAIL $name: not ready: $(log_tail "$dir/test.log")"; return; }
	if "$CRIU" dump -t "$pid" -D "$dir/img" --tcp-established -v4 -o "$dir/dump.log" > /dev/null 2> "$dir/dump.err" < /dev/null; then
		result FAIL "FAIL $name: the dump succeeded"
		return
	fi
	lines=$(grep -c . "$dir/dump.err")
	if [ "$lines" -ne 1 ] || ! grep -Eq "^error: files: pid $pid: fd [0-9]+: $pat" "$dir/dump.err"; then
		result FAIL "FAIL $name: expected one line naming pid, fd and '$pat', got $lines: $(head -3 "$dir/dump.err" | tr '\n' '|' | cut -c1-300)"
		return
	fi
	[ -n "$(net_tables "$pid")" ] && { result FAIL "FAIL $name: a lock table is left"; return; }
	wait_for 5 in_sigwait "$pid"
	kill -USR1 "$pid"
	if ! wait_for 10 net_has "$dir/test.log" PASS; then
		result FAIL "FAIL $name: after the refused dump: $(log_tail "$dir/test.log")"
		return
	fi
	result PASS "PASS $name"
}

run_net_check() {
	local check=$1 name=net/$1 dir=$OUT/net/$1
	if [ ! -x "$CRIU" ]; then
		result SKIP "SKIP $name: ${CRIU#$ROOT/} not built"
		return
	fi
	if ! command -v nft > /dev/null; then
		result SKIP "SKIP $name: no nft command"
		return
	fi
	rm -rf "$dir"
	mkdir -p "$dir/tmp"
	export TEST_TMPDIR=$dir/tmp
	NET_PID=0
	NET_IPT=0
	case $check in
	tcp_local) net_stream "$name" "$dir" 127.0.0.1 "" "" --tcp-established "" ;;
	tcp_local6) net_stream "$name" "$dir" ::1 "" "" --tcp-established "" ;;
	tcp_lazy) net_stream "$name" "$dir" 127.0.0.1 "" "" --tcp-established --lazy-pages ;;
	tcp_predump) net_stream "$name" "$dir" 127.0.0.1 "" "" --tcp-established "" predump ;;
	tcp_leave_running) net_stream "$name" "$dir" 127.0.0.1 "" "" "--tcp-established --leave-running" "" ;;
	tcp_netns)
		if net_make_ns; then
			net_stream "$name" "$dir" 10.231.0.1 "$NET_NS_A" "$NET_NS_B" --tcp-established ""
		else
			result FAIL "FAIL $name: cannot make the network namespaces"
		fi ;;
	tcp_refused) net_refused "$name" "$dir" ;;
	lock_killed) net_lock_killed "$name" "$dir" ;;
	tcp_iptables) NET_IPT=1; net_ipt_note
		net_stream "$name" "$dir" 127.0.0.1 "" "" "--tcp-established --network-lock iptables" "" ;;
	lock_killed_iptables) NET_IPT=1; net_ipt_note; net_lock_killed "$name" "$dir" "--network-lock iptables" ;;
	tcp_pair) net_pair "$name" "$dir" --tcp-established ;;
	tcp_close) net_pair "$name" "$dir" --tcp-close TCP_PAIR_CLOSED=1 ;;
	refuse_backlog) net_refuse "$name" "$dir" backlog \
		"TCP socket listening on 127\.0\.0\.1:[0-9]+ has 1 connections not yet accepted" ;;
	refuse_urgent) net_refuse "$name" "$dir" urgent "TCP connection 127\.0\.0\.1:[0-9]+ -> 127\.0\.0\.1:[0-9]+: urgent data \(MSG_OOB\) pending" ;;
	tcp_halfclosed) net_pair "$name" "$dir" --tcp-established "" tcp_refuse halfclosed ;;
	refuse_md5) net_refuse "$name" "$dir" md5 \
		"TCP socket 127\.0\.0\.1:[0-9]+ has MD5 signature keys \(TCP_MD5SIG\): not supported" ;;
	refuse_synsent) net_refuse "$name" "$dir" synsent \
		"TCP socket 127\.0\.0\.1:[0-9]+ is in state SYN_SENT: not supported" ;;
	refuse_soerror) net_refuse "$name" "$dir" soerror \
		"UDP socket 127\.0\.0\.1:[0-9]+ -> 127\.0\.0\.1:[0-9]+ has a pending error \(SO_ERROR\) or error queue messages \(MSG_ERRQUEUE\): not supported" ;;
	*) result FAIL "FAIL $name: no such check" ;;
	esac
	kill_tracked "$PIDS_FILE"
	net_cleanup "$NET_PID"
	if [ "$TEST_KEEP_IMAGES" != 1 ] && [ "$(cat "$RESULT_FILE" 2>/dev/null)" = PASS ]; then
		rm -rf "$dir/img"
	fi
}

section net NET_CHECKS run_net_check
