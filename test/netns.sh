# test/netns.sh - the network namespace section of test/run.sh (sourced).
#
# A tree in a network namespace of its own (made here with ip netns, the
# tree started in it with nsenter: no other namespace differs), its veth
# eth0 bridged to criu's namespace (bridge criu-nbr, 10.234.0.1/24 and
# fd34::1/64 on it; eth0 10.234.0.2/24, 10.234.2.2/24 with lifetimes and
# fd34::2/64, an alias, group 5, allmulticast, IPv6 token ::12), a
# macvlan mv0 on criu-nbr (10.234.1.2/24, addrgenmode none), a macvlan
# mv1 on eth0 (private, 10.234.4.2/24), a bridge br0 (its forward delay,
# priority, no multicast snooping; 10.234.5.1/24) with a port vp0 (cost,
# priority, hairpin, no learning) of a veth pair whose other end vp1
# (10.234.5.2/24) is inside too, a persistent tun device tun1 (owner
# 1234, group 99), routes (one with mtu and advmss, one in
# table 100), routing rules (one IPv6 with "not"), permanent neighbours
# (IPv4, IPv6), two
# sysctls changed and an nft table in it; test/progs/tcp_echo listens on
# eth0, test/progs/tcp_stream streams to it from criu's namespace.
#   netns/stream: dump --tcp-established --external veth[eth0]:criu-nvh@criu-nbr
#     --external macvlan[mv0]:criu-nbr,
#     the namespace deleted (and gone), restore with the same --external:
#     links, addresses, routes, rules, permanent neighbours, qdiscs, the sysctls and the ruleset read the same
#     as before the dump (ip, sysctl, nft), the stream goes on with no
#     byte lost or doubled
#   netns/tap: test/progs/tap_fd run in the namespace (its tap0 held by
#     its fd 3, not persistent) dumped, the namespace deleted, restored:
#     the namespace reads the same, and the program finds fd 3 attached
#     to tap0 as it was, a packet read from it and one written into it
#   netns/refuse_tun: tap_fd in criu's namespace: the dump refuses its
#     fd 3 with one line; the program runs on and passes its packets
#   netns/external: the namespace is the caller's (--external
#     net[INODE]:extNS at dump; restore --inherit-fd fd[3]:extNS with fd 3
#     the namespace): the restored server is in it again, the stream (a
#     client in the same namespace) goes on, no lock is left in it
#   netns/refuse_veth, netns/refuse_kind, netns/refuse_qdisc,
#     netns/refuse_nexthop, netns/refuse_xfrm, netns/refuse_fdb: without
#     --external veth[], with an ifb device inside, with a tbf qdisc on
#     eth0, with a nexthop object, with an IPsec policy, with a static
#     forwarding entry on br0: one error line naming the pid, the
#     namespace and the object; the server runs on
# Everything made here (namespaces, bridge, veth, nft tables) is removed by
# a trap, also when the check fails or is killed.

NETNS_CHECKS=(stream tap external refuse_veth refuse_kind refuse_qdisc refuse_nexthop refuse_xfrm refuse_fdb refuse_tun)
NETNS_NS=criu-test-n

netns_cleanup() {
	ip netns del "$NETNS_NS" 2>/dev/null
	ip link del criu-nvh 2>/dev/null
	ip link del criu-nmv 2>/dev/null
	ip link del criu-nbr 2>/dev/null
	local t
	for t in $(nft list tables 2>/dev/null | grep -oE "criu_(lock|dump)_${NET_PID:-x}\$"); do
		nft delete table inet "$t" 2>/dev/null
	done
	return 0
}

# the namespace, its veth bridged here, addresses, a route, sysctls, a ruleset
netns_make() {
	netns_cleanup
	ip netns add "$NETNS_NS" &&
	ip link add criu-nbr type bridge && ip addr add 10.234.0.1/24 dev criu-nbr &&
	ip addr add fd34::1/64 dev criu-nbr nodad && ip link set criu-nbr up &&
	ip link add criu-nvh type veth peer name eth0 netns "$NETNS_NS" &&
	ip link set criu-nvh master criu-nbr up &&
	ip -n "$NETNS_NS" link set lo up &&
	ip -n "$NETNS_NS" addr add 10.234.0.2/24 dev eth0 &&
	ip -n "$NETNS_NS" addr add fd34::2/64 dev eth0 nodad &&
	ip -n "$NETNS_NS" link set eth0 mtu 1400 up &&
	ip -n "$NETNS_NS" link set eth0 alias "the tree's eth0" group 5 allmulticast on &&
	ip -n "$NETNS_NS" addr add 10.234.2.2/24 dev eth0 valid_lft 1000 preferred_lft 500 &&
	ip -n "$NETNS_NS" route add 10.97.0.0/16 via 10.234.0.1 mtu 1300 advmss 1200 &&
	ip -n "$NETNS_NS" token set ::12 dev eth0 &&
	ip -n "$NETNS_NS" route add 10.98.0.0/16 via 10.234.0.1 &&
	ip -n "$NETNS_NS" -6 route add fd98::/64 via fd34::1 &&
	ip link add link criu-nbr name criu-nmv type macvlan mode bridge &&
	ip link set criu-nmv netns "$NETNS_NS" && ip -n "$NETNS_NS" link set criu-nmv name mv0 &&
	ip -n "$NETNS_NS" link set mv0 addrgenmode none &&
	ip -n "$NETNS_NS" addr add 10.234.1.2/24 dev mv0 && ip -n "$NETNS_NS" link set mv0 up &&
	ip -n "$NETNS_NS" link add link eth0 name mv1 type macvlan mode private &&
	ip -n "$NETNS_NS" addr add 10.234.4.2/24 dev mv1 && ip -n "$NETNS_NS" link set mv1 up &&
	ip -n "$NETNS_NS" tuntap add dev tun1 mode tun user 1234 group 99 &&
	ip -n "$NETNS_NS" link add br0 type bridge forward_delay 700 priority 4096 mcast_snooping 0 &&
	ip -n "$NETNS_NS" link add vp0 type veth peer name vp1 &&
	ip -n "$NETNS_NS" link set vp0 master br0 &&
	ip -n "$NETNS_NS" link set vp0 type bridge_slave cost 7 priority 9 hairpin on learning off &&
	ip -n "$NETNS_NS" addr add 10.234.5.1/24 dev br0 && ip -n "$NETNS_NS" addr add 10.234.5.2/24 dev vp1 &&
	ip -n "$NETNS_NS" link set br0 up && ip -n "$NETNS_NS" link set vp0 up && ip -n "$NETNS_NS" link set vp1 up &&
	ip -n "$NETNS_NS" route add default via 10.234.0.1 table 100 &&
	ip -n "$NETNS_NS" rule add from 10.234.0.2 lookup 100 pref 1000 &&
	ip -n "$NETNS_NS" -6 rule add not from fd34::/64 lookup main pref 2000 &&
	ip -n "$NETNS_NS" neigh add 10.234.0.77 lladdr 02:00:00:00:00:77 dev eth0 nud permanent &&
	ip -n "$NETNS_NS" -6 neigh add fd34::77 lladdr 02:00:00:00:00:78 dev eth0 nud permanent &&
	ip netns exec "$NETNS_NS" sysctl -qw net.ipv4.tcp_keepalive_time=1234 net.core.somaxconn=777 &&
	nsenter --net=/run/netns/"$NETNS_NS" nft add table inet criutest \
		'{ chain c { type filter hook input priority 0; tcp dport 9 drop; }; }'
}

netns_carrier() { ! nsenter "--net=/proc/$1/ns/net" ip -o link | grep -q NO-CARRIER; }

# what must read the same after the restore (the namespace of pid $1), once
# every link has its carrier.  Left out: the bridge's timers (they run),
# and UNKNOWN against UP (a tun device's carrier went off and on again)
netns_state() {
	local X=(nsenter "--net=/proc/$1/ns/net")
	wait_for 5 netns_carrier "$1"
	"${X[@]}" ip -o -d link | sed -E 's/^[0-9]+: //; s/@if[0-9]+//; s/ link-netnsid [0-9]+//;
		s/ (hello|tcn|topology_change|gc|message_age|forward_delay|hold)_timer +[0-9.]+//g;
		s/ state (UNKNOWN|UP) / state UP|UNKNOWN /'
	"${X[@]}" ip -o addr | sed -E 's/ +valid_lft.*//; s/ tentative//'
	"${X[@]}" ip -d route; "${X[@]}" ip -6 route | sort; "${X[@]}" ip route show table 100
	"${X[@]}" ip -6 token
	"${X[@]}" ip rule; "${X[@]}" ip -6 rule
	"${X[@]}" ip neigh show nud permanent
	"${X[@]}" tc qdisc show | sort
	"${X[@]}" sysctl net.ipv4.tcp_keepalive_time net.core.somaxconn net.ipv6.conf.eth0.mtu
	"${X[@]}" nft list ruleset
}

netns_gone() { ! ip link show criu-nvh > /dev/null 2>&1 && ! ip netns list | grep -q "^$NETNS_NS"; }

# netns_server NAME DIR ADDR: tcp_echo in the namespace, tcp_stream from
# criu's (CLI: the client's command prefix); sets NET_PID, NETNS_CPID
netns_server() {
	local name=$1 dir=$2 addr=$3 port
	port=$(net_port)
	nsenter "--net=/run/netns/$NETNS_NS" "$ROOT/test/progs/tcp_echo" "$addr" "$port" \
		> "$dir/test.log" 2>&1 < /dev/null &
	NET_PID=$!
	track "$NET_PID"
	wait_for "$READY_TIMEOUT" has_ready "$dir/test.log" ||
		{ result FAIL "FAIL $name: tcp_echo did not get ready: $(log_tail "$dir/test.log")"; return 1; }
	"${CLI[@]}" "$ROOT/test/progs/tcp_stream" "$addr" "$port" > "$dir/client.log" 2>&1 < /dev/null &
	NETNS_CPID=$!
	track "$NETNS_CPID"
	wait_for 10 net_has "$dir/client.log" STREAMING ||
		{ result FAIL "FAIL $name: the client does not stream: $(log_tail "$dir/client.log")"; return 1; }
}

netns_stream() {
	local name=$1 dir=$2 ext='veth[eth0]:criu-nvh@criu-nbr' mv='macvlan[mv0]:criu-nbr'
	CLI=()
	netns_make || { result FAIL "FAIL $name: cannot make the namespace"; return; }
	netns_server "$name" "$dir" 10.234.0.2 || return
	netns_state "$NET_PID" > "$dir/before.state"
	if ! "$CRIU" dump -t "$NET_PID" -D "$dir/img" --tcp-established --external "$ext" --external "$mv" -v4 \
		-o "$dir/dump.log" > /dev/null 2>&1 < /dev/null; then
		result FAIL "FAIL $name: dump failed: $(criu_error "$dir/dump.log")"
		return
	fi
	wait_for 5 dead "$NET_PID" || { result FAIL "FAIL $name: the dumped server still runs"; return; }
	ip netns del "$NETNS_NS"
	wait_for 10 netns_gone || { result FAIL "FAIL $name: the namespace does not go away"; return; }
	if ! "$CRIU" restore -D "$dir/img" -d --external "$ext" --external "$mv" -v4 -o "$dir/restore.log" \
		> /dev/null 2>&1 < /dev/null; then
		result FAIL "FAIL $name: restore failed: $(criu_error "$dir/restore.log")"
		return
	fi
	netns_state "$NET_PID" > "$dir/after.state"
	if ! diff -u "$dir/before.state" "$dir/after.state" > "$dir/state.diff"; then
		result FAIL "FAIL $name: the namespace differs after the restore: $(grep '^[-+][^-+]' "$dir/state.diff" | head -4 | tr '\n' '|')"
		return
	fi
	[ -n "$(net_tables "$NET_PID")" ] && { result FAIL "FAIL $name: the network lock is left"; return; }
	net_finish "$name" "$dir" "$NET_PID" "$NETNS_CPID"
}

# netns_tap NAME DIR: test/progs/tap_fd in the namespace (its tap0 held by
# fd 3, not persistent), dumped, the namespace deleted, restored: the
# namespace reads the same, the program checks fd 3 and passes packets
netns_tap() {
	local name=$1 dir=$2 ext='veth[eth0]:criu-nvh@criu-nbr' mv='macvlan[mv0]:criu-nbr'
	netns_make || { result FAIL "FAIL $name: cannot make the namespace"; return; }
	nsenter "--net=/run/netns/$NETNS_NS" "$ROOT/test/progs/tap_fd" > "$dir/test.log" 2>&1 < /dev/null &
	NET_PID=$!
	track "$NET_PID"
	wait_for "$READY_TIMEOUT" has_ready "$dir/test.log" ||
		{ result FAIL "FAIL $name: tap_fd did not get ready: $(log_tail "$dir/test.log")"; return; }
	netns_state "$NET_PID" > "$dir/before.state"
	if ! "$CRIU" dump -t "$NET_PID" -D "$dir/img" --external "$ext" --external "$mv" -v4 \
		-o "$dir/dump.log" > /dev/null 2>&1 < /dev/null; then
		result FAIL "FAIL $name: dump failed: $(criu_error "$dir/dump.log")"
		return
	fi
	wait_for 5 dead "$NET_PID" || { result FAIL "FAIL $name: the dumped program still runs"; return; }
	ip netns del "$NETNS_NS"
	wait_for 10 netns_gone || { result FAIL "FAIL $name: the namespace does not go away"; return; }
	if ! "$CRIU" restore -D "$dir/img" -d --external "$ext" --external "$mv" -v4 -o "$dir/restore.log" \
		> /dev/null 2>&1 < /dev/null; then
		result FAIL "FAIL $name: restore failed: $(criu_error "$dir/restore.log")"
		return
	fi
	netns_state "$NET_PID" > "$dir/after.state"
	if ! diff -u "$dir/before.state" "$dir/after.state" > "$dir/state.diff"; then
		result FAIL "FAIL $name: the namespace differs after the restore: $(grep '^[-+][^-+]' "$dir/state.diff" | head -4 | tr '\n' '|')"
		return
	fi
	kill -USR1 "$NET_PID"
	wait_for 10 net_has "$dir/test.log" PASS || { result FAIL "FAIL $name: $(log_tail "$dir/test.log")"; return; }
	result PASS "PASS $name"
}

# netns_refuse_tun NAME DIR: tap_fd in criu's own namespace: its fd 3
# refused (one line), the program runs on and passes packets
netns_refuse_tun() {
	local name=$1 dir=$2 lines
	"$ROOT/test/progs/tap_fd" > "$dir/test.log" 2>&1 < /dev/null &
	NET_PID=$!
	track "$NET_PID"
	wait_for "$READY_TIMEOUT" has_ready "$dir/test.log" ||
		{ result FAIL "FAIL $name: tap_fd did not get ready: $(log_tail "$dir/test.log")"; return; }
	if "$CRIU" dump -t "$NET_PID" -D "$dir/img" -v4 -o "$dir/dump.log" > /dev/null 2> "$dir/dump.err" < /dev/null; then
		result FAIL "FAIL $name: the dump succeeded"
		return
	fi
	lines=$(grep -c . "$dir/dump.err")
	if [ "$lines" -ne 1 ] || ! grep -q "^error: files: pid $NET_PID: fd 3: tun device tap0 is in criu's network namespace: not supported" "$dir/dump.err"; then
		result FAIL "FAIL $name: expected one line naming the pid, fd 3 and tap0, got $lines: $(head -3 "$dir/dump.err" | tr '\n' '|' | cut -c1-300)"
		return
	fi
	kill -USR1 "$NET_PID"
	wait_for 10 net_has "$dir/test.log" PASS || { result FAIL "FAIL $name: after the refused dump: $(log_tail "$dir/test.log")"; return; }
	result PASS "PASS $name"
}

netns_external() {
	local name=$1 dir=$2 ino
	CLI=(nsenter "--net=/run/netns/$NETNS_NS")
	netns_make || { result FAIL "FAIL $name: cannot make the namespace"; return; }
	netns_server "$name" "$dir" 127.0.0.1 || return
	ino=$(stat -L -c %i "/run/netns/$NETNS_NS")
	if ! "$CRIU" dump -t "$NET_PID" -D "$dir/img" --tcp-established --external "net[$ino]:extNS" -v4 \
		-o "$dir/dump.log" > /dev/null 2>&1 < /dev/null; then
		result FAIL "FAIL $name: dump failed: $(criu_error "$dir/dump.log")"
		return
	fi
	wait_for 5 dead "$NET_PID" || { result FAIL "FAIL $name: the dumped server still runs"; return; }
	[ -n "$("${CLI[@]}" nft list tables | grep "criu_lock_$NET_PID")" ] ||
		{ result FAIL "FAIL $name: no lock in the namespace after the dump"; return; }
	sleep 0.5
	if ! "$CRIU" restore -D "$dir/img" -d --inherit-fd fd[3]:extNS -v4 -o "$dir/restore.log" \
		3< "/run/netns/$NETNS_NS" > /dev/null 2>&1 < /dev/null; then
		result FAIL "FAIL $name: restore failed: $(criu_error "$dir/restore.log")"
		return
	fi
	[ "$(stat -L -c %i "/proc/$NET_PID/ns/net")" = "$ino" ] ||
		{ result FAIL "FAIL $name: the restored server is not in the namespace handed over"; return; }
	[ -n "$("${CLI[@]}" nft list tables | grep "criu_lock_$NET_PID")" ] &&
		{ result FAIL "FAIL $name: the lock is left in the namespace"; return; }
	net_finish "$name" "$dir" "$NET_PID" "$NETNS_CPID"
}

# netns_refuse NAME DIR EXTRA PATTERN: a dump that must be refused
netns_refuse() {
	local name=$1 dir=$2 extra=$3 pat=$4 lines
	CLI=()
	netns_make || { result FAIL "FAIL $name: cannot make the namespace"; return; }
	[ "$extra" = ifb ] && { ip -n "$NETNS_NS" link add ifb9 type ifb || return; }
	[ "$extra" = nexthop ] && { ip -n "$NETNS_NS" nexthop add id 7 via 10.234.0.1 dev eth0 || return; }
	[ "$extra" = fdb ] && { ip netns exec "$NETNS_NS" bridge fdb add 02:11:22:33:44:55 dev vp0 master static || return; }
	[ "$extra" = xfrm ] &&
		{ ip -n "$NETNS_NS" xfrm policy add src 10.234.0.2 dst 10.234.0.1 dir out || return; }
	[ "$extra" = qdisc ] &&
		{ ip netns exec "$NETNS_NS" tc qdisc add dev eth0 root tbf rate 1mbit burst 32kbit latency 400ms || return; }
	netns_server "$name" "$dir" 10.234.0.2 || return
	if "$CRIU" dump -t "$NET_PID" -D "$dir/img" --tcp-established \
		$([ -n "$extra" ] && echo "--external veth[eth0]:criu-nvh --external macvlan[mv0]:criu-nbr") -v4 -o "$dir/dump.log" \
		> /dev/null 2> "$dir/dump.err" < /dev/null; then
		result FAIL "FAIL $name: the dump succeeded"
		return
	fi
	lines=$(grep -c . "$dir/dump.err")
	if [ "$lines" -ne 1 ] || ! grep -Eq "^error: net: pid $NET_PID: network namespace net:\[[0-9]+\]: $pat" "$dir/dump.err"; then
		result FAIL "FAIL $name: expected one line naming the pid, the namespace and '$pat', got $lines: $(head -3 "$dir/dump.err" | tr '\n' '|' | cut -c1-300)"
		return
	fi
	net_finish "$name" "$dir" "$NET_PID" "$NETNS_CPID"
}

run_netns_check() {
	local check=$1 name=netns/$1 dir=$OUT/netns/$1
	if [ ! -x "$CRIU" ] || ! command -v nft > /dev/null || ! command -v ip > /dev/null; then
		result SKIP "SKIP $name: needs criu built, nft and ip"
		return
	fi
	rm -rf "$dir"
	mkdir -p "$dir/tmp"
	export TEST_TMPDIR=$dir/tmp
	NET_PID=0
	trap 'kill_tracked "$PIDS_FILE"; netns_cleanup' EXIT
	trap 'exit 1' TERM INT
	case $check in
	stream) netns_stream "$name" "$dir" ;;
	external) netns_external "$name" "$dir" ;;
	tap) netns_tap "$name" "$dir" ;;
	refuse_tun) netns_refuse_tun "$name" "$dir" ;;
	refuse_veth) netns_refuse "$name" "$dir" "" \
		"veth eth0 has its peer outside: dump with --external veth\[eth0\]:OUTSIDE" ;;
	refuse_kind) netns_refuse "$name" "$dir" ifb "device ifb9 of kind ifb: not supported" ;;
	refuse_nexthop) netns_refuse "$name" "$dir" nexthop "1 nexthop objects \(ip nexthop\): not supported" ;;
	refuse_fdb) netns_refuse "$name" "$dir" fdb \
		"1 static bridge forwarding entries \(bridge fdb ... static\): not supported" ;;
	refuse_xfrm) netns_refuse "$name" "$dir" xfrm "1 IPsec policies \(ip xfrm policy\): not supported" ;;
	refuse_qdisc) netns_refuse "$name" "$dir" qdisc \
		"device eth0 has the qdisc tbf \(handle [0-9a-f]+:, parent root\): not supported" ;;
	*) result FAIL "FAIL $name: no such check" ;;
	esac
	kill_tracked "$PIDS_FILE"
	netns_cleanup
	trap - EXIT TERM INT
	if [ "$TEST_KEEP_IMAGES" != 1 ] && [ "$(cat "$RESULT_FILE" 2>/dev/null)" = PASS ]; then
		rm -rf "$dir/img"
	fi
}

section netns NETNS_CHECKS run_netns_check
