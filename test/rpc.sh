# test/rpc.sh - the RPC section of test/run.sh (sourced): `criu swrk`
# driven by test/rpc/rpc-client (a socketpair, `criu swrk 3`, as runc does).
#   rpc/version_features  VERSION (level >= 31100, this tool's name),
#       FEATURE_CHECK (mem_track and lazy_pages true), CHECK, on one
#       connection (keep_open); `criu --version` says "Version: 4.0" first
#   rpc/dump_restore  DUMP of test/progs/signals with images_dir_fd,
#       work_dir_fd (the log there), notify_scripts (every step answered, in
#       order), runc's explicit false options; RESTORE with rst_sibling: the
#       same pid, the client's child, it passes its checks
#   rpc/pidns  `unshare --pid --fork ns_state pidns` (an init, as a
#       container's) dumped and restored through the RPC with rst_sibling:
#       restore.pid is the new init's pid as the client sees it (not the
#       pid of the images), the client's child, 1 inside; it passes
#   rpc/predump_chain  PRE_DUMP (without track_mem, as runc: a pre-dump
#       always tracks) then DUMP with parent_img and track_mem: the dump
#       copies fewer pages, links its parent, the restore passes
#   rpc/lazy_dump  post-copy through the RPC, as runc checkpoint
#       --lazy-pages: DUMP with lazy_pages, ps {127.0.0.1, PORT},
#       notify_scripts: a status-ready notification once it serves (runc
#       waits for it, not for status_fd); then CRIU's lazy migration as
#       runc does it: `criu lazy-pages --page-server` on a copy of the
#       images, a RESTORE with lazy_pages alone (no ps: the restore takes
#       the daemon's page server, DIR/lazy-pages.remote), in a pid
#       namespace (the source keeps its pid until the end): the program
#       passes; the DUMP answers success, the source is gone
#   rpc/errors  a malformed packet, a truncated request, an unknown request
#       type, an unserved one, a dump of no process, a restore of no images,
#       200000 bytes of garbage, an unknown field in criu_req and in
#       criu_opts (a newer client's: refused, not ignored), NOTIFY outside a
#       dump, an option not served (lsm_profile): each a response with
#       success false and cr_errmsg, criu answering the next (keep_open)
#   rpc/refused_option  options not served (ext_sharing, skip_mnt,
#       auto_dedup, cgroup_props), a manage_cgroups_mode that is no mode: the
#       dump refused naming the option, the program runs on and passes
#   rpc/cgroups  what runc sends for cgroups: DUMP with freeze_cgroup (a v1
#       freezer cgroup of the test holding the program) and manage_cgroups:
#       frozen through it (the log says so), thawed; RESTORE with
#       manage_cgroups, manage_cgroups_mode SOFT and cg_root
#       {freezer, .../moved}: the program is back in .../moved, its other
#       cgroups as before; manage_cgroups_mode STRICT refused naming a
#       cgroup of the tree that exists
#   rpc/orphan_pts  runc's console: test/progs/cli_target on a terminal
#       whose master ptyrun (outside the tree) holds, its window size set to
#       33x77; DUMP with orphan_pts_master; a command line restore without
#       a taker of the new master is refused naming it; RESTORE with
#       rst_sibling and notify_scripts: an orphan-pts-master notification
#       carries the new master (SCM_RIGHTS) with the terminal's settings and
#       size, the program (a session leader, the terminal its controlling
#       one) writes its checks through it and passes
#   rpc/notify_fail  the client says no at post-dump: the dump fails with
#       cr_errmsg naming the step, network-unlock follows, the program runs
#       on and passes, no inventory.img
#   rpc/action_script  --action-script on dump and restore: the steps in
#       order with CRTOOLS_SCRIPT_ACTION and CRTOOLS_INIT_PID
#   rpc/config_file  --config FILE and config_file: leave-running and the
#       log file read from it; a missing RPC config file is no error
#   rpc/page_server  PAGE_SERVER of a dump's images: answered with the
#       server's pid and port once it listens (a client connects); WAIT_PID
#       gives its status, WAIT_PID of a pid not criu's child an error
#   rpc/tls  PAGE_SERVER with tls, tls_cacert, tls_cert, tls_key (made by
#       certtool): a lazy restore from it with the client's certificate
#       (command line --tls) passes, and the page server ends with status 0
#       (WAIT_PID); a missing certificate file is refused naming it
#   rpc/status_fd  page-server and lazy-pages --status-fd: one byte once
#       listening
#   rpc/libcriu  test/rpc/libcriu-test with lib/libcriu.a, and again linked
#       with lib/libcriu.so.2 (libcriu-test-so): version check,
#       feature check, a refused option (-EBADE, criu's reason), dump with
#       the notify callback, criu_restore_child: our child, it passes
#   rpc/install  make install with DESTDIR and PREFIX=/usr: criu in
#       /usr/sbin runs, criu.8 renders with man, libcriu.a, libcriu.so.2
#       (soname libcriu.so.2), libcriu.so and criu/criu.h installed; make
#       uninstall removes them all
#   rpc/runc, rpc/runc_leave, rpc/runc_predump  (test/rpc-ctr.sh) runc
#       1.1.5 through test/tools/criu-relay on a busybox container running
#       test/rpc/ctr-counter (stdio on pipes): what runc sends is known to the
#       options table (VERSION first); checkpoint then restore, checkpoint
#       --leave-running (it counts on) then kill and restore, --pre-dump then
#       checkpoint --parent-path (fewer pages) and restore: each time the
#       program goes on where it was (one READY, pid 1, its memory checks)
#   rpc/runc_lazy  runc lazy migration: checkpoint --lazy-pages --page-server
#       --status-fd, then on a copy of the images `criu lazy-pages
#       --page-server` and runc restore --lazy-pages (another runc root and
#       id): the checkpoint ends once every page went over, the program goes
#       on where it was
#   rpc/podman  podman 4.3.1 --runtime runc checkpoint through the relay
#       (its external network namespace, net[INODE]:extRootNetNS, among
#       what it sends), then restore: the program goes on
#   rpc/podman_cgns  the same with --cgroupns=private: checkpoint and
#       restore must succeed; /proc/1/cgroup seen from inside the container
#       (podman exec) the same before and after, every path its root
#   rpc/podman_export  podman checkpoint --export --print-stats, podman
#       rm, restore --import --print-stats: no error line from podman,
#       stats-dump in the archive, criu's figures printed both ways, the
#       program goes on (its logs carried over: one READY, pid 1, checked)
#   rpc/podman_precheckpoint  --pre-checkpoint (64 MiB), then
#       --with-previous (PRE_DUMP, then DUMP with parent_img and track_mem
#       in the relay's log; under a quarter of the pre-dump's pages), then
#       restore in place: the program goes on
#   rpc/podman_export_previous  the same exported (--export twice), podman
#       rm, restore --import-previous --import: the final archive holds
#       under 16 MiB of pages, the program goes on
#   rpc/podman_tcp  podman checkpoint --tcp-established of a container on
#       podman's bridge (test/progs/tcp_echo, static) streamed to by
#       test/progs/tcp_stream on the host: the lock is in criu's namespace
#       while podman remakes the container's, restore --tcp-established:
#       no byte lost or doubled, the server passes, no lock left
#   rpc/runc_terminal  a runc container with terminal: true (its console a
#       pts of its own devpts, the master sent to --console-socket, window
#       set to 33x77): runc checkpoint, runc restore --console-socket: the
#       new master (window 33x77) reaches the socket, the program writes
#       on to it (pid 1, one READY), its stdout /dev/pts/N of the
#       container's devpts, its controlling terminal
#   rpc/podman_terminal  podman run -t (conmon holds the master): podman
#       checkpoint and restore: the program writes on to its terminal,
#       its stdout a pts of the container's devpts again
#   rpc/podman_remount  podman checkpoint, a tmpfs mounted meanwhile,
#       restore in place: the overlay rootfs comes back on another device
#       (same inodes): restored, the program goes on
#   rpc/libcriu_runc  libcriu.so.2 defines every symbol crun loads; then
#       mntns/runc (test/mntns.sh: a runc container with
#       mounts of every kind) with its dump and restore made through
#       libcriu's setters as crun makes them (test/rpc/libcriu-drive:
#       criu_set_root, criu_add_ext_mount, criu_set_empty_ns, the cgroup
#       setters, criu_add_inherit_fd), the restore joining the uts and ipc
#       namespaces of a "pod" (criu_join_ns_add; by path and by pid): the
#       container is back in them (host name the pod's), the program passes


RPC_CHECKS=(version_features dump_restore pidns predump_chain lazy_dump errors refused_option cgroups orphan_pts notify_fail
	    action_script config_file page_server tls status_fd libcriu install runc runc_leave
	    runc_predump runc_lazy podman podman_cgns podman_export podman_precheckpoint podman_export_previous
	    podman_tcp libcriu_runc runc_terminal podman_terminal podman_remount)
RPC_CLIENT=$ROOT/test/rpc/rpc-client

rpc() { "$RPC_CLIENT" "$CRIU" "$@"; }

# the NOTIFY steps of an rpc-client output, on one line
rpc_steps() { sed -n 's/^NOTIFY \([^ ]*\).*/\1/p' "$1" | tr '\n' ' ' | sed 's/ $//'; }

# rpc_expect FILE PATTERN WHAT: FAIL unless FILE has a line matching PATTERN
rpc_expect() {
	grep -Eq "$2" "$1" && return 0
	result FAIL "FAIL $RPC_NAME: $3: $(tr '\n' '|' < "$1" | cut -c1-300)"
	return 1
}

# the program passes its checks (SIGUSR1), still our child
rpc_prog_passes() {
	kill -USR1 "$PID"
	wait "$PID"
	if [ $? -ne 0 ] || ! grep -q '^PASS$' "$1/test.log"; then
		result FAIL "FAIL $RPC_NAME: $2: $(log_tail "$1/test.log")"
		return 1
	fi
}

# a running, not stopped, program
rpc_runs() {
	alive "$PID" && [ "$(proc_state "$PID")" != T ] && [ "$(proc_state "$PID")" != t ]
}

rpc_version_features() {
	local dir=$1 v
	rpc version keep_open=1 -- features mem_track=1 lazy_pages_f=1 pidfd_store=1 keep_open=1 \
		-- check > "$dir/out" 2>&1
	rpc_expect "$dir/out" '^RESP VERSION success=1 version=[0-9]+\.[0-9]+\.[0-9]+ name="criu ' \
		"no VERSION answer" || return
	v=$(sed -n 's/^RESP VERSION.* version=\([0-9]*\)\.\([0-9]*\)\.\([0-9]*\).*/\1 \2 \3/p' "$dir/out")
	set -- $v
	if [ $(( $1 * 10000 + $2 * 100 + $3 )) -lt 31100 ]; then
		result FAIL "FAIL $RPC_NAME: version $1.$2.$3 is below podman's 31100"
		return
	fi
	rpc_expect "$dir/out" '^RESP FEATURE_CHECK success=1 features mem_track=1/1 lazy_pages=1/1 pidfd_store=1/0' \
		"FEATURE_CHECK" || return
	rpc_expect "$dir/out" '^RESP CHECK success=1' "CHECK" || return
	rpc_expect "$dir/out" '^CRIU exit=0' "criu did not exit 0" || return
	"$CRIU" --version > "$dir/version" 2>&1
	if [ "$(head -1 "$dir/version")" != "Version: 4.0" ]; then
		result FAIL "FAIL $RPC_NAME: criu --version begins '$(head -1 "$dir/version")'"
		return
	fi
	result PASS "PASS $RPC_NAME"
}

RUNC_FALSE=(tcp_established=0 shell_job=0 file_locks=0 ext_unix_sk=0 auto_dedup=0 manage_cgroups=0
	    lazy_pages=0 leave_running=0)

rpc_dump_restore() {
	local dir=$1 cpid n
	start_prog signals "$dir" || { result FAIL "FAIL $RPC_NAME: signals did not start"; return; }
	mkdir -p "$dir/img" "$dir/work"
	rpc dump images_dir="$dir/img" work_dir="$dir/work" log_file=dump.log log_level=4 pid="$PID" \
		notify_scripts=1 config_file=/etc/criu/runc.conf "${RUNC_FALSE[@]}" > "$dir/dump.rpc" 2>&1
	rpc_expect "$dir/dump.rpc" '^RESP DUMP success=1' "dump failed" || return
	n=$(rpc_steps "$dir/dump.rpc")
	if [ "$n" != "pre-dump network-lock query-ext-files post-dump" ]; then
		result FAIL "FAIL $RPC_NAME: dump notifications: '$n'"
		return
	fi
	if [ ! -s "$dir/work/dump.log" ] || [ -e "$dir/img/dump.log" ]; then
		result FAIL "FAIL $RPC_NAME: the log is not in the work directory"
		return
	fi
	wait "$PID" 2>/dev/null
	"$RPC_CLIENT" "$CRIU" restore images_dir="$dir/img" work_dir="$dir/work" log_file=restore.log \
		log_level=4 notify_scripts=1 rst_sibling=1 wait_child=1 "${RUNC_FALSE[@]}" \
		> "$dir/restore.rpc" 2>&1 &
	cpid=$!
	track "$cpid"
	wait_for 20 grep -q '^RESP RESTORE' "$dir/restore.rpc"
	rpc_expect "$dir/restore.rpc" "^RESP RESTORE success=1 pid=$PID\$" "restore: $(criu_error "$dir/work/restore.log")" || return
	track "$PID"
	if [ "$(ppid_of "$PID")" != "$cpid" ]; then
		result FAIL "FAIL $RPC_NAME: rst_sibling: the restored pid's parent is $(ppid_of "$PID"), not the client $cpid"
		return
	fi
	n=$(rpc_steps "$dir/restore.rpc")
	if [ "$n" != "pre-restore setup-namespaces post-setup-namespaces post-restore network-unlock pre-resume post-resume" ]; then
		result FAIL "FAIL $RPC_NAME: restore notifications: '$n'"
		return
	fi
	rpc_expect "$dir/restore.rpc" "^NOTIFY setup-namespaces pid=$PID\$" "setup-namespaces without the pid" || return
	kill -USR1 "$PID"
	wait "$cpid"
	rpc_expect "$dir/restore.rpc" "^CHILD pid=$PID status=0\$" "the restored program did not exit 0" || return
	grep -q '^PASS$' "$dir/test.log" || { result FAIL "FAIL $RPC_NAME: $(log_tail "$dir/test.log")"; return; }
	result PASS "PASS $RPC_NAME"
}

rpc_pidns() {
	local dir=$1 cpid got
	mkdir -p "$dir/img"
	if ! ns_start "$dir" unshare --pid --fork "$ROOT/test/progs/ns_state" pidns; then
		result FAIL "FAIL $RPC_NAME: ns_state did not get ready: $(log_tail "$dir/test.log")"
		return
	fi
	rpc dump images_dir="$dir/img" log_file=dump.log log_level=4 pid="$NPID" > "$dir/dump.rpc" 2>&1
	rpc_expect "$dir/dump.rpc" '^RESP DUMP success=1' "dump: $(criu_error "$dir/img/dump.log")" || return
	wait "$UPID" 2>/dev/null
	# unshare wrote into the tree's stdout when its child was killed
	put_back_log "$dir/test.log" "$dir/img"
	"$RPC_CLIENT" "$CRIU" restore images_dir="$dir/img" log_file=restore.log log_level=4 \
		rst_sibling=1 wait_child=1 > "$dir/restore.rpc" 2>&1 &
	cpid=$!
	track "$cpid"
	wait_for 20 grep -q '^RESP RESTORE' "$dir/restore.rpc"
	rpc_expect "$dir/restore.rpc" '^RESP RESTORE success=1 pid=[0-9]+$' "restore: $(criu_error "$dir/img/restore.log")" || return
	got=$(sed -n 's/^RESP RESTORE success=1 pid=//p' "$dir/restore.rpc")
	track "$got"
	if [ "$(ppid_of "$got")" != "$cpid" ] || [ "$(inner_pid "$got")" != 1 ]; then
		result FAIL "FAIL $RPC_NAME: restore.pid $got: parent $(ppid_of "$got") (client $cpid), pid $(inner_pid "$got") inside (want 1; the images' pid was $NPID)"
		return
	fi
	wait_for 10 in_sigwait "$got"
	kill -USR1 "$got"
	wait "$cpid"
	rpc_expect "$dir/restore.rpc" "^CHILD pid=$got status=0\$" "the restored init did not exit 0" || return
	grep -q '^PASS$' "$dir/test.log" || { result FAIL "FAIL $RPC_NAME: $(log_tail "$dir/test.log")"; return; }
	result PASS "PASS $RPC_NAME"
}

# the pages= figure of a dump log's stats line
rpc_pages() { sed -n 's/.*stats: .* pages=\([0-9]*\) .*/\1/p' "$1" | tail -1; }

rpc_predump_chain() {
	local dir=$1 p1 p2
	start_prog anon_pattern "$dir" || { result FAIL "FAIL $RPC_NAME: anon_pattern did not start"; return; }
	mkdir -p "$dir/img/1" "$dir/img/2"
	# as runc: track_mem with the dump only (a pre-dump always tracks)
	rpc pre-dump images_dir="$dir/img/1" log_file=pre.log log_level=4 pid="$PID" \
		> "$dir/pre.rpc" 2>&1
	rpc_expect "$dir/pre.rpc" '^RESP PRE_DUMP success=1' "pre-dump failed" || return
	rpc dump images_dir="$dir/img/2" log_file=dump.log log_level=4 pid="$PID" track_mem=1 \
		parent_img=../1 > "$dir/dump.rpc" 2>&1
	rpc_expect "$dir/dump.rpc" '^RESP DUMP success=1' "dump on the pre-dump failed" || return
	p1=$(rpc_pages "$dir/img/1/pre.log")
	p2=$(rpc_pages "$dir/img/2/dump.log")
	if [ -z "$p1" ] || [ -z "$p2" ] || [ "$p2" -ge "$p1" ] || [ "$(readlink "$dir/img/2/parent")" != ../1 ]; then
		result FAIL "FAIL $RPC_NAME: pre-dump copied ${p1:-?} pages, the dump ${p2:-?}, parent '$(readlink "$dir/img/2/parent")'"
		return
	fi
	wait "$PID" 2>/dev/null
	restore_bg "$dir" "$dir/img/2"
	await_restored "$dir" "$PID" "$RPC_NAME" || return
	finish "$dir" "$RPC_NAME" "$PID" || return
	result PASS "PASS $RPC_NAME"
}

rpc_lazy_dump() {
	local dir=$1 port cpid n
	start_prog anon_pattern "$dir" || { result FAIL "FAIL $RPC_NAME: anon_pattern did not start"; return; }
	wait_for 5 in_sigwait "$PID"
	mkdir -p "$dir/img"
	port=$(rpc_port)
	"$RPC_CLIENT" "$CRIU" dump images_dir="$dir/img" log_file=dump.log log_level=4 pid="$PID" \
		lazy_pages=1 ps_address=127.0.0.1 ps_port="$port" notify_scripts=1 > "$dir/dump.rpc" 2>&1 &
	cpid=$!
	track "$cpid"
	if ! wait_for 20 grep -q '^NOTIFY status-ready' "$dir/dump.rpc"; then
		result FAIL "FAIL $RPC_NAME: no status-ready step: $(tr '\n' '|' < "$dir/dump.rpc") $(criu_error "$dir/img/dump.log")"
		return
	fi
	copy_meta "$dir/img" "$dir/dst"
	copy_token "$dir/img" "$dir/dst"
	# the destination as CRIU's lazy migration (and runc restore
	# --lazy-pages) has it: a daemon taking the pages from the page server,
	# and a RESTORE with lazy_pages only; in a pid namespace (the source
	# keeps its pid until the end)
	"$CRIU" lazy-pages --page-server --address 127.0.0.1 --port "$port" -D "$dir/dst" -v4 \
		-o "$dir/lazy-pages.log" > /dev/null 2>&1 < /dev/null &
	track $!
	wait_for 10 test -S "$dir/dst/lazy-pages.sock" ||
		{ result FAIL "FAIL $RPC_NAME: no lazy-pages daemon: $(criu_error "$dir/lazy-pages.log")"; return; }
	unshare --pid --fork --mount-proc "$RPC_CLIENT" "$CRIU" restore images_dir="$dir/dst" \
		log_file=restore.log log_level=4 lazy_pages=1 rst_sibling=1 wait_child=1 \
		> "$dir/restore.rpc" 2>&1 < /dev/null &
	RPID=$!
	track "$RPID"
	wait_for 20 grep -q '^RESP RESTORE' "$dir/restore.rpc"
	rpc_expect "$dir/restore.rpc" '^RESP RESTORE success=1 pid=' \
		"the RESTORE with lazy_pages alone: $(criu_error "$dir/dst/restore.log")" || return
	HPID=$(host_pid "$(sed -n 's/^RESP RESTORE success=1 pid=//p' "$dir/restore.rpc")")
	[ -n "$HPID" ] || { result FAIL "FAIL $RPC_NAME: the restored process is not running"; return; }
	track "$HPID"
	wait_for 10 in_sigwait "$HPID"
	kill -USR1 "$HPID"
	wait "$RPID"
	if ! grep -q '^CHILD pid=[0-9]* status=0$' "$dir/restore.rpc" || ! grep -q '^PASS$' "$dir/test.log"; then
		result FAIL "FAIL $RPC_NAME: the lazily restored program: $(grep '^CHILD' "$dir/restore.rpc") $(log_tail "$dir/test.log") $(criu_error "$dir/dst/restore.log")"
		return
	fi
	grep -q "takes its pages from 127.0.0.1:$port" "$dir/dst/restore.log" ||
		{ result FAIL "FAIL $RPC_NAME: the restore did not take the daemon's page server"; return; }
	wait "$cpid"
	rpc_expect "$dir/dump.rpc" '^RESP DUMP success=1' "the lazy dump: $(criu_error "$dir/img/dump.log")" || return
	alive "$PID" && { result FAIL "FAIL $RPC_NAME: the source still runs after the lazy dump"; return; }
	n=$(rpc_steps "$dir/dump.rpc")
	if [ "$n" != "pre-dump network-lock query-ext-files post-dump status-ready" ]; then
		result FAIL "FAIL $RPC_NAME: dump notifications: '$n'"
		return
	fi
	result PASS "PASS $RPC_NAME"
}

rpc_errors() {
	local dir=$1
	mkdir -p "$dir/img"
	# 0a 02 08 01: field 1 as a length-delimited string (wrong wire type)
	# 080a a00101 2001: VERSION with field 20 (unknown) and keep_open;
	# 0801 1203c00c01 2001: DUMP whose criu_opts has field 200 (unknown)
	rpc raw=ff0a -- raw=0801120a0a -- type=99 keep_open=1 -- type=7 keep_open=1 -- \
		dump images_dir="$dir/img" pid=4000000 keep_open=1 -- \
		restore images_dir="$dir" keep_open=1 -- big=200000 -- raw=080aa001012001 -- \
		raw=08011203c00c012001 -- type=6 keep_open=1 -- \
		dump images_dir="$dir/img" pid=4000000 log_file=x.log lsm_profile=x keep_open=1 -- \
		version > "$dir/out" 2>&1
	rpc_expect "$dir/out" '^RESP EMPTY success=0 errmsg=a packet of 2 bytes that is not a criu_req' \
		"malformed packet" || return
	rpc_expect "$dir/out" '^RESP EMPTY success=0 errmsg=a packet of 5 bytes that is not a criu_req' \
		"truncated request" || return
	rpc_expect "$dir/out" '^RESP UNKNOWN success=0 errmsg=unknown request type 99$' "type 99" || return
	rpc_expect "$dir/out" '^RESP CPUINFO_DUMP success=0 errmsg=request CPUINFO_DUMP is not served' \
		"CPUINFO_DUMP" || return
	rpc_expect "$dir/out" '^RESP DUMP success=0 errmsg=error: .*4000000' "dump of no process" || return
	rpc_expect "$dir/out" '^RESP RESTORE success=0 errmsg=error: .*inventory' "restore of no images" || return
	rpc_expect "$dir/out" '^RESP EMPTY success=0 errmsg=a packet of 200000 bytes that is not a criu_req' \
		"a packet of 200000 bytes of garbage" || return
	rpc_expect "$dir/out" '^RESP VERSION success=0 errmsg=field number 20 of criu_req is not known' \
		"an unknown field of criu_req" || return
	rpc_expect "$dir/out" '^RESP DUMP success=0 errmsg=option number 200 of criu_opts is not known' \
		"an unknown field of criu_opts" || return
	rpc_expect "$dir/out" '^RESP NOTIFY success=0 errmsg=request NOTIFY \(outside a dump or restore\) is not served' \
		"NOTIFY outside a dump" || return
	rpc_expect "$dir/out" '^RESP DUMP success=0 errmsg=option lsm_profile is not supported by this criu' \
		"an option the table does not serve" || return
	rpc_expect "$dir/out" '^RESP VERSION success=1' "criu did not answer after the errors" || return
	rpc_expect "$dir/out" '^CRIU exit=0' "criu did not exit 0" || return
	result PASS "PASS $RPC_NAME"
}

rpc_refused_option() {
	local dir=$1 opt
	start_prog signals "$dir" || { result FAIL "FAIL $RPC_NAME: signals did not start"; return; }
	mkdir -p "$dir/img"
	for opt in ext_sharing=1 skip_mnt=/x auto_dedup=1 cgroup_props=x manage_cgroups_mode=9; do
		rpc dump images_dir="$dir/img" log_file=dump.log pid="$PID" "$opt" > "$dir/out" 2>&1
		local field=${opt%%=*}
		rpc_expect "$dir/out" "^RESP DUMP success=0 errmsg=.*$field" "$opt not refused by name" || return
		if ! rpc_runs || [ -e "$dir/img/inventory.img" ]; then
			result FAIL "FAIL $RPC_NAME: after the refused $opt the program is not running as before"
			return
		fi
	done
	grep -q 'option ext_sharing: ' "$dir/img/dump.log" ||
		{ result FAIL "FAIL $RPC_NAME: the refusal is not in the log file"; return; }
	rpc_prog_passes "$dir" "the program fails after the refusals" || return
	result PASS "PASS $RPC_NAME"
}

# the program in cgroup $1 of the v1 freezer hierarchy
rpc_start_in_cgroup() {
	local dir=$1 cg=$2
	sh -c "echo \$\$ > $cg/cgroup.procs && exec $ROOT/test/progs/signals" > "$dir/test.log" 2>&1 < /dev/null &
	PID=$!
	track "$PID"
	wait_for "$READY_TIMEOUT" has_ready "$dir/test.log"
}

RPC_CG=
rpc_cgroups() {
	local dir=$1 name=criu-rpc-$$ fz=/sys/fs/cgroup/freezer cpid
	if [ ! -d $fz ]; then
		result SKIP "SKIP $RPC_NAME: no v1 freezer hierarchy here"
		return
	fi
	RPC_CG=$fz/$name
	mkdir -p "$RPC_CG/a" "$RPC_CG/moved" "$dir/img" "$dir/work"
	rpc_start_in_cgroup "$dir" "$RPC_CG/a" || { result FAIL "FAIL $RPC_NAME: signals did not start"; return; }
	sed "s#:freezer:/$name/a\$#:freezer:/$name/moved#" "/proc/$PID/cgroup" > "$dir/want"
	rpc dump images_dir="$dir/img" work_dir="$dir/work" log_file=dump.log log_level=4 pid="$PID" \
		freeze_cgroup="$RPC_CG/a" manage_cgroups=1 > "$dir/dump.rpc" 2>&1
	rpc_expect "$dir/dump.rpc" '^RESP DUMP success=1' "dump: $(criu_error "$dir/work/dump.log")" || return
	grep -q "cgroup $RPC_CG/a frozen (cgroup v1)" "$dir/work/dump.log" ||
		{ result FAIL "FAIL $RPC_NAME: the dump log does not say $RPC_CG/a was frozen"; return; }
	[ "$(cat "$RPC_CG/a/freezer.state")" = THAWED ] ||
		{ result FAIL "FAIL $RPC_NAME: $RPC_CG/a is $(cat "$RPC_CG/a/freezer.state") after the dump"; return; }
	wait "$PID" 2>/dev/null
	rpc restore images_dir="$dir/img" work_dir="$dir/work" log_file=strict.log manage_cgroups=1 \
		manage_cgroups_mode=5 > "$dir/strict.rpc" 2>&1
	rpc_expect "$dir/strict.rpc" "^RESP RESTORE success=0 errmsg=error: .*exists already .--manage-cgroups strict" \
		"manage_cgroups_mode STRICT did not refuse the existing cgroups by name" || return
	"$RPC_CLIENT" "$CRIU" restore images_dir="$dir/img" work_dir="$dir/work" log_file=restore.log \
		log_level=4 rst_sibling=1 wait_child=1 manage_cgroups=1 manage_cgroups_mode=3 \
		cg_root="freezer:/$name/moved" > "$dir/restore.rpc" 2>&1 &
	cpid=$!
	track "$cpid"
	wait_for 20 grep -q '^RESP RESTORE' "$dir/restore.rpc"
	rpc_expect "$dir/restore.rpc" "^RESP RESTORE success=1 pid=$PID\$" "restore: $(criu_error "$dir/work/restore.log")" || return
	track "$PID"
	if ! diff -u "$dir/want" "/proc/$PID/cgroup" > "$dir/cgroup.diff"; then
		result FAIL "FAIL $RPC_NAME: cgroups after the restore differ: $(grep '^[-+][0-9]' "$dir/cgroup.diff" | head -2 | tr '\n' ' ')"
		return
	fi
	kill -USR1 "$PID"
	wait "$cpid"
	rpc_expect "$dir/restore.rpc" "^CHILD pid=$PID status=0\$" "the restored program did not exit 0" || return
	grep -q '^PASS$' "$dir/test.log" || { result FAIL "FAIL $RPC_NAME: $(log_tail "$dir/test.log")"; return; }
	result PASS "PASS $RPC_NAME"
}

rpc_cgroups_cleanup() {
	[ -n "$RPC_CG" ] && [ -d "$RPC_CG" ] || return 0
	local f p
	for f in "$RPC_CG"/*/cgroup.procs; do
		for p in $(cat "$f" 2>/dev/null); do kill -KILL "$p" 2>/dev/null; done
	done
	echo THAWED > "$RPC_CG/a/freezer.state" 2>/dev/null
	wait_for 5 bash -c "! cat $RPC_CG/*/cgroup.procs | grep -q ."
	rmdir "$RPC_CG"/* "$RPC_CG" 2>/dev/null
	RPC_CG=
}

rpc_orphan_pts() {
	local dir=$1 hp pts before cpid n
	mkdir -p "$dir/img"
	"$ROOT/test/progs/ptyrun" -p "$dir/prog.pid" "$ROOT/test/progs/cli_target" tty \
		> "$dir/test.log" 2>&1 < /dev/null &
	hp=$!
	track "$hp"
	wait_for 5 pidfile_ready "$dir/prog.pid" || { result FAIL "FAIL $RPC_NAME: ptyrun wrote no pidfile"; return; }
	PID=$(cat "$dir/prog.pid")
	track "$PID"
	if ! wait_for "$READY_TIMEOUT" has_ready "$dir/test.log" || ! wait_for 5 in_sigwait "$PID"; then
		result FAIL "FAIL $RPC_NAME: cli_target tty did not get ready: $(log_tail "$dir/test.log")"
		return
	fi
	pts=$(readlink "/proc/$PID/fd/0")
	stty -F "$pts" rows 33 cols 77 || { result FAIL "FAIL $RPC_NAME: cannot size $pts"; return; }
	before=$(stty -F "$pts" -g | cut -d: -f1-4)
	rpc dump images_dir="$dir/img" log_file=dump.log log_level=4 pid="$PID" orphan_pts_master=1 \
		> "$dir/dump.rpc" 2>&1
	rpc_expect "$dir/dump.rpc" '^RESP DUMP success=1' "dump: $(criu_error "$dir/img/dump.log")" || return
	wait "$hp" 2>/dev/null
	bounded "$dir" 20 cli "$CRIU" restore -D "$dir/img" -v4 -o "$dir/cli-restore.log"
	if [ "$ST" -eq 0 ] || ! one_error "$dir/cli.err" || ! grep -q 'master was outside the tree.*needs a taker' "$dir/cli.err"; then
		result FAIL "FAIL $RPC_NAME: a restore with no taker of the master: status $ST, ${CMP_REASON:-$(log_tail "$dir/cli.err")}"
		return
	fi
	"$RPC_CLIENT" "$CRIU" restore images_dir="$dir/img" log_file=restore.log log_level=4 \
		notify_scripts=1 rst_sibling=1 wait_child=1 orphan_pts_master=1 > "$dir/restore.rpc" 2>&1 &
	cpid=$!
	track "$cpid"
	wait_for 20 grep -q '^RESP RESTORE' "$dir/restore.rpc"
	rpc_expect "$dir/restore.rpc" "^RESP RESTORE success=1 pid=$PID\$" "restore: $(criu_error "$dir/img/restore.log")" || return
	track "$PID"
	rpc_expect "$dir/restore.rpc" "^NOTIFY orphan-pts-master pid=$PID fd\$" "no orphan-pts-master step with an fd" || return
	rpc_expect "$dir/restore.rpc" "^MASTER termios $before rows 33 cols 77\$" \
		"the new terminal's settings differ from $before 33x77" || return
	n=$(rpc_steps "$dir/restore.rpc")
	if [ "$n" != "pre-restore setup-namespaces post-setup-namespaces orphan-pts-master post-restore network-unlock pre-resume post-resume" ]; then
		result FAIL "FAIL $RPC_NAME: restore notifications: '$n'"
		return
	fi
	kill -USR1 "$PID"
	wait "$cpid"
	rpc_expect "$dir/restore.rpc" "^CHILD pid=$PID status=0\$" "the restored program did not exit 0: $(grep '^TTY' "$dir/restore.rpc" | tr '\n' '|')" || return
	for n in 0 1 2; do
		rpc_expect "$dir/restore.rpc" "^TTY tty fd $n ok\$" "fd $n did not write through the new terminal" || return
	done
	rpc_expect "$dir/restore.rpc" '^TTY PASS$' "no PASS through the new terminal" || return
	result PASS "PASS $RPC_NAME"
}

rpc_notify_fail() {
	local dir=$1 n
	start_prog signals "$dir" || { result FAIL "FAIL $RPC_NAME: signals did not start"; return; }
	mkdir -p "$dir/img"
	rpc dump images_dir="$dir/img" log_file=dump.log pid="$PID" notify_scripts=1 \
		notify_fail=post-dump > "$dir/out" 2>&1
	rpc_expect "$dir/out" '^RESP DUMP success=0 errmsg=.*post-dump' "the refused step is not the error" || return
	n=$(rpc_steps "$dir/out")
	if [ "$n" != "pre-dump network-lock query-ext-files post-dump network-unlock" ]; then
		result FAIL "FAIL $RPC_NAME: notifications '$n'"
		return
	fi
	if ! rpc_runs || [ -e "$dir/img/inventory.img" ]; then
		result FAIL "FAIL $RPC_NAME: the program is not running as before, or the images look complete"
		return
	fi
	rpc_prog_passes "$dir" "the program fails after the failed dump" || return
	result PASS "PASS $RPC_NAME"
}

rpc_action_script() {
	local dir=$1 script n
	script="echo \"\$CRTOOLS_SCRIPT_ACTION \${CRTOOLS_INIT_PID:-0}\" >> $dir/steps"
	start_prog signals "$dir" || { result FAIL "FAIL $RPC_NAME: signals did not start"; return; }
	if ! "$CRIU" dump -t "$PID" -D "$dir/img" --action-script "$script" -v4 -o "$dir/dump.log" \
		> "$dir/dump.out" 2>&1; then
		result FAIL "FAIL $RPC_NAME: dump: $(criu_error "$dir/dump.log")"
		return
	fi
	wait "$PID" 2>/dev/null
	RESTORE_EXTRA=(--action-script "$script")
	restore_bg "$dir" "$dir/img"
	RESTORE_EXTRA=()
	await_restored "$dir" "$PID" "$RPC_NAME" || return
	finish "$dir" "$RPC_NAME" "$PID" || return
	n=$(tr '\n' ' ' < "$dir/steps" | sed 's/ $//')
	local p=$PID
	if [ "$n" != "pre-dump 0 network-lock 0 query-ext-files 0 post-dump 0 pre-restore 0 setup-namespaces $p post-setup-namespaces $p post-restore $p network-unlock $p pre-resume $p post-resume $p" ]; then
		result FAIL "FAIL $RPC_NAME: steps '$n'"
		return
	fi
	result PASS "PASS $RPC_NAME"
}

rpc_config_file() {
	local dir=$1
	start_prog signals "$dir" || { result FAIL "FAIL $RPC_NAME: signals did not start"; return; }
	mkdir -p "$dir/img" "$dir/img2"
	printf '# dump options\nleave-running\nverbosity 4\nlog-file = %s/cfg.log\n' "$dir" > "$dir/cfg"
	if ! "$CRIU" dump -t "$PID" -D "$dir/img" --config "$dir/cfg" > "$dir/dump.out" 2>&1; then
		result FAIL "FAIL $RPC_NAME: dump --config: $(log_tail "$dir/dump.out")"
		return
	fi
	if ! rpc_runs || ! grep -q 'dump: .*dumped to' "$dir/cfg.log"; then
		result FAIL "FAIL $RPC_NAME: --config: leave-running or the log file not taken"
		return
	fi
	printf 'leave-running\n' > "$dir/cfg2"
	rpc dump images_dir="$dir/img2" log_file=dump.log pid="$PID" config_file="$dir/cfg2" > "$dir/out" 2>&1
	rpc_expect "$dir/out" '^RESP DUMP success=1' "dump with config_file" || return
	rpc_runs || { result FAIL "FAIL $RPC_NAME: config_file: leave-running not taken"; return; }
	printf 'no-such-option\n' > "$dir/cfg3"
	if "$CRIU" dump -t "$PID" -D "$dir/img" --config "$dir/cfg3" > "$dir/bad.out" 2>&1 ||
	   ! grep -q 'cfg3' "$dir/bad.out"; then
		result FAIL "FAIL $RPC_NAME: a bad config file was not refused by name: $(log_tail "$dir/bad.out")"
		return
	fi
	rpc_prog_passes "$dir" "the program fails after the dumps" || return
	result PASS "PASS $RPC_NAME"
}

# the test's port: below the ephemeral range (test_port, test/run.sh)
rpc_port() { test_port 8; }

# a dump of signals, left running (images for a page server)
rpc_images() {
	start_prog signals "$1" || return 1
	"$CRIU" dump -t "$PID" -D "$1/img" --leave-running -v4 -o "$1/dump.log" > /dev/null 2>&1
}

rpc_page_server() {
	local dir=$1 port
	rpc_images "$dir" || { result FAIL "FAIL $RPC_NAME: no images: $(criu_error "$dir/dump.log")"; return; }
	port=$(rpc_port)
	rpc page-server images_dir="$dir/img" ps_port="$port" log_file=ps.log log_level=4 keep_open=1 \
		-- wait-pid pid_req=ps probe_ps=1 keep_open=1 -- wait-pid pid_req=1 > "$dir/out" 2>&1
	rpc_expect "$dir/out" "^RESP PAGE_SERVER success=1 ps_pid=[0-9]+ ps_port=$port\$" "PAGE_SERVER" || return
	rpc_expect "$dir/out" '^PS connect=ok$' "the page server does not listen when answered" || return
	rpc_expect "$dir/out" '^RESP WAIT_PID success=1 status=[0-9]+$' "WAIT_PID of the page server" || return
	rpc_expect "$dir/out" '^RESP WAIT_PID success=0 errmsg=wait-pid 1: ' "WAIT_PID of pid 1" || return
	rpc_prog_passes "$dir" "the program fails after the dump" || return
	result PASS "PASS $RPC_NAME"
}

rpc_tls() {
	local dir=$1 c=$1/certs port cpid
	command -v certtool > /dev/null || { result SKIP "SKIP $RPC_NAME: no certtool (gnutls-bin)"; return; }
	tls_certs "$c" || { result FAIL "FAIL $RPC_NAME: certtool could not make the certificates"; return; }
	start_prog signals "$dir" || { result FAIL "FAIL $RPC_NAME: signals did not start"; return; }
	"$CRIU" dump -t "$PID" -D "$dir/img" -v4 -o "$dir/dump.log" > /dev/null 2>&1 < /dev/null ||
		{ result FAIL "FAIL $RPC_NAME: dump: $(criu_error "$dir/dump.log")"; return; }
	wait "$PID" 2>/dev/null
	port=$(rpc_port)
	rpc page-server images_dir="$dir/img" ps_port="$port" tls=1 tls_cacert="$c/ca.pem" \
		tls_cert="$dir/no-such.pem" tls_key="$c/server-key.pem" log_file=bad.log > "$dir/bad.rpc" 2>&1
	rpc_expect "$dir/bad.rpc" "^RESP PAGE_SERVER success=0 errmsg=error: .*no-such.pem" \
		"a missing certificate not refused by name" || return
	"$RPC_CLIENT" "$CRIU" page-server images_dir="$dir/img" ps_address=127.0.0.1 ps_port="$port" \
		tls=1 tls_cacert="$c/ca.pem" tls_cert="$c/server.pem" tls_key="$c/server-key.pem" \
		log_file=ps.log log_level=4 keep_open=1 -- wait-pid pid_req=ps > "$dir/ps.rpc" 2>&1 &
	cpid=$!
	track "$cpid"
	wait_for 10 grep -q '^RESP PAGE_SERVER' "$dir/ps.rpc"
	rpc_expect "$dir/ps.rpc" "^RESP PAGE_SERVER success=1 ps_pid=[0-9]+ ps_port=$port\$" \
		"PAGE_SERVER with tls: $(criu_error "$dir/img/ps.log")" || return
	copy_meta "$dir/img" "$dir/dst"
	RESTORE_EXTRA=(--lazy-pages --page-server --address 127.0.0.1 --port "$port" --tls
		       --tls-cacert "$c/ca.pem" --tls-cert "$c/client.pem" --tls-key "$c/client-key.pem")
	restore_bg "$dir" "$dir/dst"
	RESTORE_EXTRA=()
	await_restored "$dir" "$PID" "$RPC_NAME" || return
	finish "$dir" "$RPC_NAME" "$PID" || return
	wait_for 10 grep -q '^RESP WAIT_PID' "$dir/ps.rpc"
	rpc_expect "$dir/ps.rpc" '^RESP WAIT_PID success=1 status=0$' \
		"the TLS page server did not end with status 0: $(criu_error "$dir/img/ps.log")" || return
	grep -q 'a client (TLS)' "$dir/img/ps.log" ||
		{ result FAIL "FAIL $RPC_NAME: the page server did not log its TLS client"; return; }
	result PASS "PASS $RPC_NAME"
}

# CMD... --status-fd 3: one byte on fd 3 within 10 s
rpc_status_byte() {
	local f=$RPC_DIR/status.fifo n
	rm -f "$f"
	mkfifo "$f"
	"$@" --status-fd 3 3> "$f" > "$RPC_DIR/status.out" 2>&1 < /dev/null &
	local p=$!
	track "$p"
	n=$(timeout 10 head -c1 "$f" | wc -c)
	kill "$p" 2>/dev/null
	wait "$p" 2>/dev/null
	[ "$n" = 1 ]
}

rpc_status_fd() {
	local dir=$1
	RPC_DIR=$dir
	rpc_images "$dir" || { result FAIL "FAIL $RPC_NAME: no images: $(criu_error "$dir/dump.log")"; return; }
	rpc_status_byte "$CRIU" page-server -D "$dir/img" --port "$(rpc_port)" ||
		{ result FAIL "FAIL $RPC_NAME: page-server wrote no status byte: $(log_tail "$dir/status.out")"; return; }
	rpc_status_byte "$CRIU" lazy-pages -D "$dir/img" ||
		{ result FAIL "FAIL $RPC_NAME: lazy-pages wrote no status byte: $(log_tail "$dir/status.out")"; return; }
	rpc_prog_passes "$dir" "the program fails after the dump" || return
	result PASS "PASS $RPC_NAME"
}

# rpc_libcriu_run BIN DIR: the libcriu scenario with test/rpc/BIN
rpc_libcriu_run() {
	local bin=$1 dir=$2 p
	mkdir -p "$dir/img"
	"$ROOT/test/rpc/$bin" "$CRIU" "$dir/img" "$ROOT/test/progs/signals" "$dir/test.log" \
		> "$dir/out" 2>&1 &
	local t=$!
	track "$t"
	wait_for 10 grep -q '^started ' "$dir/out"
	p=$(sed -n 's/^started //p' "$dir/out")
	[ -n "$p" ] && track "$p"
	wait "$t"
	if grep -q '^FAIL' "$dir/out"; then
		result FAIL "FAIL $RPC_NAME: $bin: $(grep -m1 '^FAIL' "$dir/out") $(criu_error "$dir/img/restore.log")"
		return 1
	fi
	rpc_expect "$dir/out" '^refused: error: .*lazy-pages needs --port' "$bin: the refused dump" || return 1
	rpc_expect "$dir/out" '^dump steps: pre-dump network-lock query-ext-files post-dump$' "$bin: dump steps" || return 1
	rpc_expect "$dir/out" '^restore steps: pre-restore setup-namespaces post-setup-namespaces post-restore network-unlock pre-resume post-resume$' "$bin: restore steps" || return 1
	rpc_expect "$dir/out" "^restored $p\$" "$bin: restored pid" || return 1
	rpc_expect "$dir/out" '^child status 0$' "$bin: the restored child's status" || return 1
	grep -q '^PASS$' "$dir/test.log" || { result FAIL "FAIL $RPC_NAME: $bin: $(log_tail "$dir/test.log")"; return 1; }
}

rpc_libcriu() {
	local dir=$1
	if ! ldd "$ROOT/test/rpc/libcriu-test-so" | grep -q "libcriu.so.2 => $ROOT/lib/libcriu.so.2"; then
		result FAIL "FAIL $RPC_NAME: libcriu-test-so does not load lib/libcriu.so.2: $(ldd "$ROOT/test/rpc/libcriu-test-so" | grep criu)"
		return
	fi
	rpc_libcriu_run libcriu-test "$dir/static" || return
	rpc_libcriu_run libcriu-test-so "$dir/shared" || return
	result PASS "PASS $RPC_NAME"
}

rpc_install() {
	local dir=$1 d=$1/root
	if ! make -s -C "$ROOT" DESTDIR="$d" PREFIX=/usr install > "$dir/install.out" 2>&1; then
		result FAIL "FAIL $RPC_NAME: make install: $(log_tail "$dir/install.out")"
		return
	fi
	if [ "$("$d/usr/sbin/criu" --version | head -1)" != "Version: 4.0" ]; then
		result FAIL "FAIL $RPC_NAME: the installed criu does not run"
		return
	fi
	if [ ! -s "$d/usr/lib/libcriu.a" ] || [ ! -s "$d/usr/include/criu/criu.h" ] ||
	   [ "$(readlink "$d/usr/lib/libcriu.so")" != libcriu.so.2 ] ||
	   ! readelf -d "$d/usr/lib/libcriu.so.2" | grep -q 'SONAME.*\[libcriu.so.2\]'; then
		result FAIL "FAIL $RPC_NAME: libcriu.a, libcriu.so.2 (soname), libcriu.so or criu.h not installed"
		return
	fi
	if ! MANWIDTH=80 man -l "$d/usr/share/man/man8/criu.8" 2>/dev/null | grep -q 'criu swrk FD'; then
		result FAIL "FAIL $RPC_NAME: the man page does not render"
		return
	fi
	make -s -C "$ROOT" DESTDIR="$d" PREFIX=/usr uninstall > "$dir/uninstall.out" 2>&1
	if [ -n "$(find "$d" -type f)" ]; then
		result FAIL "FAIL $RPC_NAME: make uninstall left $(find "$d" -type f | head -2)"
		return
	fi
	rm -rf "$d"
	result PASS "PASS $RPC_NAME"
}

run_rpc_check() {
	local check=$1 dir=$OUT/rpc/$1
	RPC_NAME=rpc/$1
	if [ ! -x "$CRIU" ] || [ ! -x "$RPC_CLIENT" ]; then
		result SKIP "SKIP $RPC_NAME: criu or test/rpc/rpc-client not built"
		return
	fi
	rm -rf "$dir"
	mkdir -p "$dir/tmp"
	export TEST_TMPDIR=$dir/tmp
	# containers and cgroups go even if the check is killed (timeout)
	trap 'kill_tracked "$PIDS_FILE" $$; rpc_ctr_cleanup; rpc_cgroups_cleanup; kill_group' EXIT
	case " ${RPC_CHECKS[*]} " in
	*" $check "*) "rpc_$check" "$dir" ;;
	*) result FAIL "FAIL $RPC_NAME: no such check"; return ;;
	esac
	rpc_ctr_cleanup
	kill_tracked "$PIDS_FILE"
	rpc_cgroups_cleanup
	if [ "$TEST_KEEP_IMAGES" != 1 ] && [ "$(cat "$RESULT_FILE" 2>/dev/null)" = PASS ]; then
		rm -rf "$dir/img" "$dir/img2" "$dir/bundle" "$dir/rootfs" "$dir/rootfs.tar" "$dir"/*.tar.gz
	fi
}

section rpc RPC_CHECKS run_rpc_check
