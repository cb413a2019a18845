# test/lazy.sh - the lazy restore section of test/run.sh (sourced by it).
#
# lazy/PROG: each test program, restored with --lazy-pages (its own checks
# compare its memory byte for byte).  lazy/CHECK: the checks below.
#   kill_daemon  the daemon is killed while the restored program waits for a
#                page: the program must be killed, never run on zeros
#   fork_kill_daemon  the restored program forks while its pages arrive;
#                the daemon is stopped once it serves the child, the child
#                starts reading, the daemon is killed: the child must never
#                read zeros (criu restore holds its uffd), and is killed
#   corrupt      a flipped byte in the lazy pages: the process is stopped
#   daemon_stopped  the daemon, started by hand, is stopped (SIGSTOP) before
#                the restore: the restore must still release the process
#                (nothing of criu's may wait for a lazy page: its last
#                injected syscalls use the stack's top), which then waits;
#                continued, the daemon serves it and it passes
#   remote       pages come from `criu page-server` over 127.0.0.1; the
#                restore's directory holds every image but pages-*.img (the
#                eager pages come over the wire too)
#   netns        as remote, across a veth pair: the page server runs in a
#                network namespace of its own (created and removed here)
#   remote_chain an incremental chain (tracked pre-dump into img/1, changes,
#                dump into img/2 --prev-images-dir ../1): the restore host
#                has img/1 whole and img/2 without its pages; the page
#                server serves img/2 (with its chain).  Pages of img/1 must
#                be read locally: exactly img/2's own pages come from the
#                server (daemon and restore logs, and the server's count)
#   remote_chain_all  the same with neither pages file on the restore
#                host: every page fetched, each from the newest image of
#                the chain that has it (the program checks)
#   remote_wrong the page server serves another dump: restore refuses it
#   remote_other_dump  the page server has another dump of the same
#                process (same pid, same pages: --leave-running, then a
#                dump): refused at the hello, one line naming both dumps on
#                each side, nothing restored
#   remote_corrupt a proxy between the daemon and the page server flips a
#                byte of the page data on the way: the daemon sees it (the
#                reply's XXH3), the process is stopped, never run on it
#   postcopy     `criu dump --lazy-pages` serves the frozen source's memory;
#                the restore (in a pid namespace of its own, so that the pid
#                is free while the source still exists) takes it, the
#                program passes its checks and the dump kills the source
#   postcopy_corrupt  as postcopy, through a proxy that flips a byte of
#                the live memory on the way (the map has no checksums: the
#                reply's XXH3 is the only check): the restored copy is
#                killed, the source resumed and passes its own checks
#   postcopy_lost  as postcopy, but the daemon dies halfway: the restored
#                copy is killed, the dump fails and resumes the source,
#                which then passes its own checks
#   postcopy_bye_lost  as postcopy, through a proxy that drops the
#                connection where the daemon says PS_BYE (done): the copy
#                has every page and passes, the dump cannot know it: the
#                source must be left stopped (never resumed: two copies),
#                and both sides must say so
#   postcopy_tree  post-copy of a whole process tree (test/progs/tree,
#                in a session of its own): every process gets its pages,
#                the program passes its checks, the source tree is gone
#   postcopy_term  SIGTERM to a serving `criu dump --lazy-pages`: it fails,
#                the source runs on and passes its own checks
#   postcopy_exit  as postcopy, with a program that reads 1% of its 1 GiB
#                and exits long before its pages are all over: it ran
#                there, so the migration is complete and the source goes
#   partial      a program that reads 1% of its 1 GiB and exits long before
#                the background fill is done: the daemon must see it go,
#                clean up and exit
# lazy/remote-PROG: the programs of LAZY_REMOTE_PROGS, restored lazily with
# every page from `criu page-server` over 127.0.0.1 (the restore's
# directory holds every image but pages-*.img); the same checks as
# lazy/PROG, and the page server must end by itself, the restore complete.
# CRIU_LAZY_BG_DELAY_US slows the daemon's background fill, so that pages
# are still arriving when the program runs (LAZY_ENV, per program).

LAZY_CHECKS=(kill_daemon fork_kill_daemon corrupt daemon_stopped remote remote_chain remote_chain_all netns remote_wrong remote_other_dump remote_corrupt postcopy postcopy_corrupt postcopy_lost postcopy_bye_lost postcopy_exit postcopy_term postcopy_tree partial
	ps_unpriv ps_stray_bye ps_garbage ps_idle ps_silent tls)	# the last six: test/lazy-sec.sh
LAZY_REMOTE_PROGS=(anon_pattern anon_256m heap_stack mprotect file_private memfd_map lazy_events threads tree)
declare -A LAZY_ENV=(
	[lazy_events]=5000
	[anon_pattern]=200
)

# the lazy-pages daemon serving images directory $1
daemon_pid() { pgrep -f "^criu lazy-pages -D $1( |$)" | head -1; }

# serve_pages DIR: `criu page-server` on DIR/img, DIR/dst a copy without
# the pages, RESTORE_EXTRA asking for them (run_normal, PAGE_SERVER_RESTORE)
serve_pages() {
	local dir=$1
	SERVE_PORT=$(test_port 6)
	"$CRIU" page-server -D "$dir/img" --address 127.0.0.1 --port "$SERVE_PORT" -v4 \
		-o "$dir/page-server.log" > /dev/null 2>&1 < /dev/null &
	SERVE_PID=$!
	track "$SERVE_PID"
	rm -rf "$dir/dst"
	copy_meta "$dir/img" "$dir/dst"
	copy_token "$dir/img" "$dir/dst"
	RESTORE_EXTRA+=(--page-server --address 127.0.0.1 --port "$SERVE_PORT")
}

# served DIR: the page server ended by itself, well, and the restore used it (else SERVED_REASON)
served() {
	local dir=$1 st
	if ! wait_for 20 bash -c "! kill -0 $SERVE_PID 2>/dev/null"; then
		SERVED_REASON="the page server still runs after the program passed"
		return 1
	fi
	wait "$SERVE_PID"; st=$?
	if [ $st -ne 0 ]; then
		SERVED_REASON="page-server exited with $st: $(criu_error "$dir/page-server.log")"
		return 1
	fi
	SERVED_REASON=$(remote_checks "$dir" "$SERVE_PORT")
	[ -z "$SERVED_REASON" ]
}

run_lazy_prog() {
	local name=$1 dir=$OUT/lazy/${2:-$1} mode=${MODE[$1]:-normal}
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

# copy_token SRC DST: the page-server token that the server on SRC made
# (mode 0600), handed to the restore host DST as a user would
copy_token() {
	wait_for 10 test -s "$1/ps-token" && cp -p "$1/ps-token" "$2/"
}

# copy_meta SRC DST: a restore host's directory: every image but the pages
copy_meta() {
	mkdir -p "$2"
	for f in "$1"/*.img; do
		case ${f##*/} in pages-*) ;; *) cp "$f" "$2/" ;; esac
	done
}

# remote_checks DIR PORT: what a restore from a page server must show
remote_checks() {
	local dir=$1 port=$2 eager
	eager=$(sed -n 's/.*: \([0-9]*\) eager pages fetched from the page server.*/\1/p' "$dir/restore.log")
	if ls "$dir/dst"/pages-*.img > /dev/null 2>&1; then
		echo "the restore directory has pages files"
	elif [ -z "$eager" ] || [ "$eager" -eq 0 ]; then
		echo "restore fetched no eager pages from the page server: $(criu_error "$dir/restore.log")"
	elif ! grep -q "pages from [0-9.]*:$port" "$dir/dst/lazy-pages.log"; then
		echo "the daemon did not use the page server"
	elif ! grep -Eq 'summary: |has all its pages|is gone' "$dir/dst/lazy-pages.log"; then
		# (a daemon in a pid namespace dies with restore, maybe before its
		# summary; a program that ends before its last pages is "gone")
		echo "the daemon did not finish"
	fi
}

# restore_ns DIR IMG: as restore_bg, with criu restore as init of a new pid
# namespace (the restored pid is then free even while the source lives)
restore_ns() {
	local dir=$1 img=$2
	rm -f "$dir/pidfile"
	unshare --pid --fork --mount-proc "$CRIU" restore -D "$img" -v4 -o "$dir/restore.log" \
		--pidfile "$dir/pidfile" "${RESTORE_EXTRA[@]}" > "$dir/restore.out" 2>&1 < /dev/null &
	RPID=$!
	track "$RPID"
}

# host_pid NSPID: our pid of the process that is NSPID in a child pid namespace
host_pid() {
	local s
	for s in /proc/[0-9]*/status; do
		awk -v n="$1" '/^NSpid:/ && NF == 3 && $3 == n { split(FILENAME, a, "/"); print a[3] }' "$s" 2>/dev/null
	done | head -1
}

# await_ns_restored DIR: waits for the pidfile of restore_ns; sets HPID
HPID=
await_ns_restored() {
	local dir=$1
	if ! wait_for "$READY_TIMEOUT" bash -c "[ -s '$dir/pidfile' ] || ! kill -0 $RPID 2>/dev/null" ||
	   [ ! -s "$dir/pidfile" ]; then
		result FAIL "FAIL $TAGNAME: no restored process: $(criu_error "$dir/restore.log")"
		return 1
	fi
	HPID=$(host_pid "$(cat "$dir/pidfile")")
	[ -n "$HPID" ] || { result FAIL "FAIL $TAGNAME: the restored process is not running"; return 1; }
	track "$HPID"
	return 0
}

have_pidns() { unshare --pid --fork --mount-proc true 2> /dev/null; }

# postcopy_dump DIR [PROG]: starts PROG (anon_pattern; "tree": the tree
# program in a session of its own) and `criu dump --lazy-pages` on it (in
# the background: DPID), waits for its images; sets PID, PORT
DPID= PORT=
postcopy_dump() {
	local dir=$1 prog=${2:-anon_pattern} p
	if [ "$prog" = tree ]; then
		# its own session: the restored tree rebuilds it inside the pid namespace
		setsid "$ROOT/test/progs/tree" > "$dir/test.log" 2>&1 < /dev/null &
		track $!
		wait_for "$READY_TIMEOUT" has_ready "$dir/test.log" ||
			{ result FAIL "FAIL $TAGNAME: tree did not start"; return 1; }
		PID=$(sed -n 's/^pids \([0-9]*\).*/\1/p' "$dir/test.log" | head -1)
		for p in $(sed -n 's/^pids //p' "$dir/test.log" | head -1); do track "$p"; done
	else
		start_prog "$prog" "$dir" || { result FAIL "FAIL $TAGNAME: $prog did not start"; return 1; }
	fi
	wait_for 5 in_sigwait "$PID" || { result FAIL "FAIL $TAGNAME: $prog not waiting"; return 1; }
	PORT=$(test_port 8)
	"$CRIU" dump -t "$PID" -D "$dir/img" --lazy-pages --address 127.0.0.1 --port "$PORT" -v4 \
		-o "$dir/dump.log" > /dev/null 2>&1 < /dev/null &
	DPID=$!
	track "$DPID"
	if ! wait_for 20 bash -c "[ -e '$dir/img/inventory.img' ] || ! kill -0 $DPID 2>/dev/null" ||
	   [ ! -e "$dir/img/inventory.img" ]; then
		result FAIL "FAIL $TAGNAME: dump --lazy-pages wrote no inventory: $(criu_error "$dir/dump.log")"
		return 1
	fi
	if ls "$dir/img"/pages-*.img > /dev/null 2>&1; then
		result FAIL "FAIL $TAGNAME: dump --lazy-pages wrote the pages"
		return 1
	fi
	if ! alive "$PID" || [ "$(proc_state "$PID")" != t ]; then
		result FAIL "FAIL $TAGNAME: the source is not kept frozen (state $(proc_state "$PID"))"
		return 1
	fi
	copy_meta "$dir/img" "$dir/dst"
	copy_token "$dir/img" "$dir/dst"
	return 0
}

# postcopy_run DIR PORT: the restore of a post-copy (pages from PORT) in a
# pid namespace, the program signalled once it runs; then the restore's and
# the dump's exit status in RST and DST
postcopy_run() {
	local dir=$1 port=$2
	RESTORE_EXTRA=(--lazy-pages --page-server --address 127.0.0.1 --port "$port")
	restore_ns "$dir" "$dir/dst"
	await_ns_restored "$dir" || return 1
	kill -USR1 "$HPID"
	wait "$RPID"; RST=$?
	wait "$DPID"; DST=$?
}

lazy_postcopy() {
	local dir=$1 pid st dst
	have_pidns || { result SKIP "SKIP $TAGNAME: cannot create a pid namespace (unshare --pid)"; return; }
	postcopy_dump "$dir" || return
	pid=$PID
	export CRIU_LAZY_BG_DELAY_US=200
	postcopy_run "$dir" "$PORT" || return
	st=$RST dst=$DST
	if [ $st -ne 0 ]; then
		result FAIL "FAIL $TAGNAME: restore exited with $st: $(log_tail "$dir/test.log") $(criu_error "$dir/restore.log")"
	elif ! grep -q '^PASS$' "$dir/test.log"; then
		result FAIL "FAIL $TAGNAME: the restored program did not pass: $(log_tail "$dir/test.log")"
	elif [ $dst -ne 0 ]; then
		result FAIL "FAIL $TAGNAME: dump --lazy-pages exited with $dst: $(criu_error "$dir/dump.log")"
	elif alive "$pid"; then
		result FAIL "FAIL $TAGNAME: the source $pid still exists after the migration"
	elif ! grep -q 'the restore is complete' "$dir/dump.log"; then
		result FAIL "FAIL $TAGNAME: the dump did not see the restore complete"
	else
		local why
		why=$(remote_checks "$dir" "$PORT")
		if [ -n "$why" ]; then result FAIL "FAIL $TAGNAME: $why"; else result PASS "PASS $TAGNAME"; fi
	fi
}

lazy_postcopy_tree() {
	local dir=$1 pid st dst p n
	have_pidns || { result SKIP "SKIP $TAGNAME: cannot create a pid namespace (unshare --pid)"; return; }
	postcopy_dump "$dir" tree || return
	pid=$PID
	postcopy_run "$dir" "$PORT" || return
	st=$RST dst=$DST
	n=$(grep -c 'has all its pages' "$dir/dst/lazy-pages.log")
	if [ $st -ne 0 ] || ! grep -q '^PASS$' "$dir/test.log"; then
		result FAIL "FAIL $TAGNAME: restore exited with $st: $(log_tail "$dir/test.log") $(criu_error "$dir/restore.log")"
	elif [ $dst -ne 0 ]; then
		result FAIL "FAIL $TAGNAME: dump --lazy-pages exited with $dst: $(criu_error "$dir/dump.log")"
	elif [ "$n" -lt 2 ]; then
		result FAIL "FAIL $TAGNAME: the daemon served $n process(es) of the tree"
	else
		for p in $(sed -n 's/^pids //p' "$dir/test.log" | head -1); do
			if alive "$p"; then
				result FAIL "FAIL $TAGNAME: pid $p of the source tree still exists"
				return
			fi
		done
		result PASS "PASS $TAGNAME"
	fi
}

lazy_postcopy_term() {
	local dir=$1 pid st dst
	postcopy_dump "$dir" || return
	pid=$PID
	kill -TERM "$DPID"
	wait "$DPID"; dst=$?
	if [ $dst -eq 0 ]; then
		result FAIL "FAIL $TAGNAME: dump --lazy-pages exited 0 after SIGTERM"
	elif ! grep -q 'interrupted' "$dir/dump.log"; then
		result FAIL "FAIL $TAGNAME: the dump did not say why it stopped: $(criu_error "$dir/dump.log")"
	elif ! alive "$pid" || [ "$(proc_state "$pid")" = t ]; then
		result FAIL "FAIL $TAGNAME: the source is gone or still stopped ($(proc_state "$pid"))"
	elif [ -e "$dir/img/inventory.img" ]; then
		result FAIL "FAIL $TAGNAME: the interrupted dump's images look complete"
	else
		kill -USR1 "$pid"
		wait "$pid"; st=$?
		if [ $st -ne 0 ] || ! grep -q '^PASS$' "$dir/test.log"; then
			result FAIL "FAIL $TAGNAME: the resumed source failed its checks (status $st)"
		else
			result PASS "PASS $TAGNAME"
		fi
	fi
}

lazy_postcopy_exit() {
	local dir=$1 pid st dst
	have_pidns || { result SKIP "SKIP $TAGNAME: cannot create a pid namespace (unshare --pid)"; return; }
	postcopy_dump "$dir" lazy_partial || return
	pid=$PID
	# 512 KiB per 5 ms: the fill would take 10 s
	export CRIU_LAZY_BG_DELAY_US=5000
	postcopy_run "$dir" "$PORT" || return
	st=$RST dst=$DST
	if [ $st -ne 0 ] || ! grep -q '^PASS$' "$dir/test.log"; then
		result FAIL "FAIL $TAGNAME: restore exited with $st: $(log_tail "$dir/test.log") $(criu_error "$dir/restore.log")"
	elif ! grep -q "pid $pid is gone" "$dir/dst/lazy-pages.log"; then
		result FAIL "FAIL $TAGNAME: the program did not end before its pages were in: $(log_tail "$dir/dst/lazy-pages.log")"
	elif [ $dst -ne 0 ]; then
		result FAIL "FAIL $TAGNAME: dump --lazy-pages exited with $dst: $(criu_error "$dir/dump.log")"
	elif alive "$pid"; then
		result FAIL "FAIL $TAGNAME: the source $pid still exists: it would run a second time"
	else
		result PASS "PASS $TAGNAME"
	fi
}

lazy_postcopy_corrupt() {
	local dir=$1 pid st dst px pport
	have_pidns || { result SKIP "SKIP $TAGNAME: cannot create a pid namespace (unshare --pid)"; return; }
	command -v python3 > /dev/null || { result SKIP "SKIP $TAGNAME: no python3"; return; }
	postcopy_dump "$dir" || return
	pid=$PID
	pport=$(( PORT + 1 ))
	flip_proxy "$pport" "$PORT" 1000000 > "$dir/proxy.log" 2>&1 &
	px=$!
	track "$px"
	wait_for 5 bash -c "ss -ltn | grep -q ':$pport '" || { result FAIL "FAIL $TAGNAME: no proxy"; return; }
	export CRIU_LAZY_BG_DELAY_US=200
	RESTORE_EXTRA=(--lazy-pages --page-server --address 127.0.0.1 --port "$pport")
	restore_ns "$dir" "$dir/dst"
	wait "$DPID"; dst=$?
	wait "$RPID"; st=$?
	kill "$px" 2> /dev/null
	if [ $dst -eq 0 ]; then
		result FAIL "FAIL $TAGNAME: dump --lazy-pages exited 0 though the data was corrupted on the way"
	elif ! grep -q 'checksum mismatch in the reply' "$dir/dst/lazy-pages.log"; then
		result FAIL "FAIL $TAGNAME: the daemon did not see the corruption: $(tail -2 "$dir/dst/lazy-pages.log" | tr '\n' ' ')"
	elif ! alive "$pid" || [ "$(proc_state "$pid")" = t ]; then
		result FAIL "FAIL $TAGNAME: the source is gone or still stopped ($(proc_state "$pid"))"
	elif [ $st -eq 0 ]; then
		result FAIL "FAIL $TAGNAME: restore exited 0 on corrupt data"
	else
		kill -USR1 "$pid"
		wait "$pid"; st=$?
		if [ $st -ne 0 ] || ! grep -q '^PASS$' "$dir/test.log"; then
			result FAIL "FAIL $TAGNAME: the resumed source failed its checks (status $st)"
		else
			result PASS "PASS $TAGNAME"
		fi
	fi
}

lazy_postcopy_lost() {
	local dir=$1 pid st dst dpid
	have_pidns || { result SKIP "SKIP $TAGNAME: cannot create a pid namespace (unshare --pid)"; return; }
	postcopy_dump "$dir" || return
	pid=$PID
	# 64 KiB per 20 ms: the fill would take 17 s
	export CRIU_LAZY_BG_DELAY_US=20000
	RESTORE_EXTRA=(--lazy-pages --page-server --address 127.0.0.1 --port "$PORT")
	restore_ns "$dir" "$dir/dst"
	await_ns_restored "$dir" || return
	dpid=$(daemon_pid "$dir/dst")
	[ -n "$dpid" ] || { result FAIL "FAIL $TAGNAME: no lazy-pages daemon running"; return; }
	track "$dpid"
	sleep 0.3
	kill -KILL "$dpid"
	wait "$DPID"; dst=$?
	wait "$RPID"; st=$?
	if [ $dst -eq 0 ]; then
		result FAIL "FAIL $TAGNAME: dump --lazy-pages exited 0 though the restore was lost"
	elif ! grep -q 'the process is resumed' "$dir/dump.log"; then
		result FAIL "FAIL $TAGNAME: the dump did not say it resumed the source: $(criu_error "$dir/dump.log")"
	elif ! alive "$pid"; then
		result FAIL "FAIL $TAGNAME: the source $pid is gone: its memory is lost"
	elif [ "$(proc_state "$pid")" = t ] || [ "$(proc_state "$pid")" = T ]; then
		result FAIL "FAIL $TAGNAME: the source $pid is still stopped"
	elif [ $st -eq 0 ]; then
		result FAIL "FAIL $TAGNAME: restore exited 0 though its daemon died"
	elif alive "$HPID"; then
		result FAIL "FAIL $TAGNAME: the restored copy still runs"
	elif [ -e "$dir/img/inventory.img" ] || [ ! -e "$dir/img/dump-incomplete" ]; then
		result FAIL "FAIL $TAGNAME: the failed dump's images look complete"
	else
		# the source runs on untouched: its own checks pass
		kill -USR1 "$pid"
		wait "$pid"; st=$?
		if [ $st -ne 0 ] || ! grep -q '^PASS$' "$dir/test.log"; then
			result FAIL "FAIL $TAGNAME: the resumed source failed its checks (status $st): $(log_tail "$dir/test.log")"
		else
			result PASS "PASS $TAGNAME"
		fi
	fi
}

# flip_proxy PORT TO OFFSET: a TCP proxy from 127.0.0.1:PORT to
# 127.0.0.1:TO that flips the byte at OFFSET of what each server sends
flip_proxy() {
	python3 - "$@" <<'PY'
import socket, sys, threading
port, to, off = int(sys.argv[1]), int(sys.argv[2]), int(sys.argv[3])
ls = socket.socket()
ls.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
ls.bind(("127.0.0.1", port))
ls.listen(8)
def pump(a, b, flip):
    seen = 0
    try:
        while True:
            d = a.recv(65536)
            if not d:
                break
            if flip and seen <= off < seen + len(d):
                d = bytearray(d)
                d[off - seen] ^= 0x40
                d = bytes(d)
            seen += len(d)
            b.sendall(d)
    except OSError:
        pass
    for s in (a, b):
        try:
            s.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass
while True:
    c, _ = ls.accept()
    s = socket.create_connection(("127.0.0.1", to))
    threading.Thread(target=pump, args=(c, s, False), daemon=True).start()
    threading.Thread(target=pump, args=(s, c, True), daemon=True).start()
PY
}

# bye_proxy PORT TO: a TCP proxy from 127.0.0.1:PORT to 127.0.0.1:TO that
# drops both connections, instead of passing it on, when the client sends
# PS_BYE (op 3 of a 24-byte request after the 56-byte hello)
bye_proxy() {
	python3 - "$@" <<'PY'
import socket, struct, sys, threading
port, to = int(sys.argv[1]), int(sys.argv[2])
ls = socket.socket()
ls.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
ls.bind(("127.0.0.1", port))
ls.listen(8)
def close(*socks):
    for s in socks:
        try:
            s.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass
def up(a, b):
    buf, skip = b"", 56
    try:
        while True:
            d = a.recv(65536)
            if not d:
                break
            buf += d
            out = b""
            while True:
                if skip:
                    n = min(skip, len(buf))
                    out, buf, skip = out + buf[:n], buf[n:], skip - n
                    if skip:
                        break
                if len(buf) < 24:
                    break
                if struct.unpack_from("<I", buf)[0] == 3:
                    b.sendall(out)
                    print("dropped PS_BYE", flush=True)
                    close(a, b)
                    return
                out, buf = out + buf[:24], buf[24:]
            b.sendall(out)
    except OSError:
        pass
    close(a, b)
def down(a, b):
    try:
        while True:
            d = a.recv(65536)
            if not d:
                break
            b.sendall(d)
    except OSError:
        pass
    close(a, b)
while True:
    c, _ = ls.accept()
    s = socket.create_connection(("127.0.0.1", to))
    for x in (c, s):
        x.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    threading.Thread(target=up, args=(c, s), daemon=True).start()
    threading.Thread(target=down, args=(s, c), daemon=True).start()
PY
}

lazy_postcopy_bye_lost() {
	local dir=$1 pid st dst pport px
	command -v python3 > /dev/null || { result SKIP "SKIP $TAGNAME: no python3"; return; }
	have_pidns || { result SKIP "SKIP $TAGNAME: cannot create a pid namespace (unshare --pid)"; return; }
	postcopy_dump "$dir" || return
	pid=$PID
	pport=$(( PORT + 1 ))
	bye_proxy "$pport" "$PORT" > "$dir/proxy.log" 2>&1 &
	px=$!
	track "$px"
	wait_for 5 bash -c "ss -ltn | grep -q ':$pport '" || { result FAIL "FAIL $TAGNAME: no proxy"; return; }
	RESTORE_EXTRA=(--lazy-pages --page-server --address 127.0.0.1 --port "$pport")
	restore_ns "$dir" "$dir/dst"
	await_ns_restored "$dir" || return
	# every page over before the program runs on (and may end): the PS_BYE
	# then follows a complete transfer, which the dump cannot tell from a lost one
	wait_for 20 grep -q 'has all its pages' "$dir/dst/lazy-pages.log"
	kill -USR1 "$HPID"
	wait "$RPID"; st=$?
	wait "$DPID"; dst=$?
	kill "$px" 2> /dev/null
	if ! grep -q 'dropped PS_BYE' "$dir/proxy.log"; then
		result FAIL "FAIL $TAGNAME: the daemon never said PS_BYE: $(criu_error "$dir/dst/lazy-pages.log")"
	elif [ $st -ne 0 ] || ! grep -q '^PASS$' "$dir/test.log"; then
		result FAIL "FAIL $TAGNAME: the restored copy did not pass (restore status $st): $(log_tail "$dir/test.log")"
	elif [ $dst -eq 0 ]; then
		result FAIL "FAIL $TAGNAME: dump --lazy-pages exited 0 without the daemon's word"
	elif ! alive "$pid"; then
		result FAIL "FAIL $TAGNAME: the source $pid is gone, though the dump never heard the restore was done"
	elif [ "$(proc_state "$pid")" != T ]; then
		result FAIL "FAIL $TAGNAME: the source $pid is not left stopped (state $(proc_state "$pid")): two copies run"
	elif ! grep -q 'the source is left stopped' "$dir/dump.log"; then
		result FAIL "FAIL $TAGNAME: the dump did not say it left the source stopped: $(criu_error "$dir/dump.log")"
	elif ! grep -q 'did not acknowledge the end of the migration' "$dir/dst/lazy-pages.log"; then
		result FAIL "FAIL $TAGNAME: the daemon did not say its PS_BYE went unacknowledged"
	else
		result PASS "PASS $TAGNAME"
	fi
	kill -KILL "$pid" 2> /dev/null
}

lazy_remote_corrupt() {
	local dir=$1 pid port pport sp px st
	command -v python3 > /dev/null || { result SKIP "SKIP $TAGNAME: no python3"; return; }
	lazy_dump anon_pattern "$dir" || return
	pid=$PID
	port=$(test_port 8)
	pport=$(( port + 1 ))
	"$CRIU" page-server -D "$dir/img" --address 127.0.0.1 --port "$port" -v4 \
		-o "$dir/page-server.log" > /dev/null 2>&1 < /dev/null &
	sp=$!
	track "$sp"
	# 1 MB into the daemon's stream: page data (restore's own fetch is shorter)
	flip_proxy "$pport" "$port" 1000000 > "$dir/proxy.log" 2>&1 &
	px=$!
	track "$px"
	wait_for 5 bash -c "ss -ltn | grep -q ':$pport '" || { result FAIL "FAIL $TAGNAME: no proxy"; return; }
	export CRIU_LAZY_BG_DELAY_US=200
	copy_meta "$dir/img" "$dir/dst"
	copy_token "$dir/img" "$dir/dst"
	RESTORE_EXTRA=(--lazy-pages --page-server --address 127.0.0.1 --port "$pport")
	restore_bg "$dir" "$dir/dst"
	if ! wait_for 20 bash -c "[ -s '$dir/pidfile' ] || ! kill -0 $RPID 2>/dev/null"; then
		result FAIL "FAIL $TAGNAME: restore neither ran nor failed"
		return
	fi
	kill -USR1 "$pid" 2>/dev/null
	wait "$RPID"; st=$?
	kill "$px" "$sp" 2> /dev/null
	if grep -q '^PASS$' "$dir/test.log"; then
		result FAIL "FAIL $TAGNAME: the program passed on data corrupted on the way"
	elif [ $st -eq 0 ]; then
		result FAIL "FAIL $TAGNAME: restore exited 0 on data corrupted on the way"
	elif alive "$pid"; then
		result FAIL "FAIL $TAGNAME: pid $pid still runs"
	elif ! grep -q 'checksum mismatch' "$dir/dst/lazy-pages.log"; then
		result FAIL "FAIL $TAGNAME: the daemon did not report the corruption: $(tail -2 "$dir/dst/lazy-pages.log" | tr '\n' ' ')"
	else
		result PASS "PASS $TAGNAME"
	fi
}

lazy_remote_wrong() {
	local dir=$1 pid1 pid2 port sp st
	lazy_dump anon_pattern "$dir" || return
	pid1=$PID
	mv "$dir/img" "$dir/img1"
	lazy_dump anon_pattern "$dir" || return
	pid2=$PID
	# the second dump's images, the first dump's pages under the second's pid
	copy_meta "$dir/img" "$dir/dst"
	for f in "$dir/img1"/*.img; do
		n=${f##*/}
		cp "$f" "$dir/img1/${n/$pid1/$pid2}" 2> /dev/null
	done
	# same program: the runs differ in place (ASLR) or, failing that, in
	# their checksums (stack, heap)
	port=$(test_port 8)
	"$CRIU" page-server -D "$dir/img1" --address 127.0.0.1 --port "$port" -v4 \
		-o "$dir/page-server.log" > /dev/null 2>&1 < /dev/null &
	sp=$!
	track "$sp"
	# (the right token: the check is of the pages, not of the server's word)
	copy_token "$dir/img1" "$dir/dst"
	RESTORE_EXTRA=(--lazy-pages --page-server --address 127.0.0.1 --port "$port")
	restore_bg "$dir" "$dir/dst"
	wait "$RPID"; st=$?
	kill "$sp" 2> /dev/null
	if [ $st -eq 0 ]; then
		result FAIL "FAIL $TAGNAME: restore took the pages of another dump"
	elif ! grep -q 'wrong page server or wrong images' "$dir/restore.log" &&
	     ! grep -q 'a file of another process' "$dir/page-server.log"; then
		# (images bound to their dump: the server refuses the renamed files itself)
		result FAIL "FAIL $TAGNAME: restore did not say why: $(criu_error "$dir/restore.log")"
	elif alive "$pid2"; then
		result FAIL "FAIL $TAGNAME: pid $pid2 runs"
	else
		result PASS "PASS $TAGNAME"
	fi
}

lazy_remote_other_dump() {
	local dir=$1 port sp st
	start_prog anon_pattern "$dir" || { result FAIL "FAIL $TAGNAME: anon_pattern did not start"; return; }
	wait_for 5 in_sigwait "$PID" || { result FAIL "FAIL $TAGNAME: anon_pattern not waiting"; return; }
	if ! "$CRIU" dump -t "$PID" -D "$dir/img1" --leave-running -v4 -o "$dir/dump1.log" \
		> /dev/null 2>&1 < /dev/null ||
	   ! "$CRIU" dump -t "$PID" -D "$dir/img" -v4 -o "$dir/dump.log" > /dev/null 2>&1 < /dev/null; then
		result FAIL "FAIL $TAGNAME: dump failed: $(criu_error "$dir/dump1.log") $(criu_error "$dir/dump.log")"
		return
	fi
	wait "$PID" 2>/dev/null
	copy_meta "$dir/img" "$dir/dst"
	port=$(test_port 8)
	"$CRIU" page-server -D "$dir/img1" --address 127.0.0.1 --port "$port" -v4 \
		-o "$dir/page-server.log" > /dev/null 2>&1 < /dev/null &
	sp=$!
	track "$sp"
	# (the right token: the check is of the dump, not of the server's word)
	copy_token "$dir/img1" "$dir/dst"
	RESTORE_EXTRA=(--lazy-pages --page-server --address 127.0.0.1 --port "$port")
	restore_bg "$dir" "$dir/dst"
	wait "$RPID"; st=$?
	kill "$sp" 2> /dev/null
	if [ $st -eq 0 ]; then
		result FAIL "FAIL $TAGNAME: restore took the pages of another dump"
	elif ! grep -q 'serves the pages of dump [0-9a-f]*, these images are of dump' "$dir/restore.out"; then
		result FAIL "FAIL $TAGNAME: restore did not say why on stderr: $(criu_error "$dir/restore.log")"
	elif ! grep -q 'refused: asks for the pages of dump [0-9a-f]*, this server has dump' "$dir/page-server.log"; then
		result FAIL "FAIL $TAGNAME: the page server did not say why: $(criu_error "$dir/page-server.log")"
	elif alive "$PID"; then
		result FAIL "FAIL $TAGNAME: pid $PID runs"
	else
		result PASS "PASS $TAGNAME"
	fi
}

# lazy_start_slow DIR PID: a lazy restore of DIR/img whose background fill
# is slowed; sets DPID (the daemon); 1 (reported) if it did not start
lazy_start_slow() {
	export CRIU_LAZY_BG_DELAY_US=20000
	RESTORE_EXTRA=(--lazy-pages)
	restore_bg "$1" "$1/img"
	await_restored "$1" "$2" "$TAGNAME" || return 1
	DPID=$(daemon_pid "$1/img")
	[ -n "$DPID" ] || { result FAIL "FAIL $TAGNAME: no lazy-pages daemon running"; return 1; }
	track "$DPID"
}

lazy_kill_daemon() {
	local dir=$1 pid dpid st
	lazy_dump anon_256m "$dir" || return
	pid=$PID
	lazy_start_slow "$dir" "$pid" || return
	dpid=$DPID
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

lazy_fork_kill_daemon() {
	local dir=$1 pid dpid cpid
	export LAZY_FORK_HOLD=1
	lazy_dump lazy_fork "$dir" || return
	unset LAZY_FORK_HOLD
	pid=$PID
	lazy_start_slow "$dir" "$pid" || return
	dpid=$DPID
	kill -USR1 "$pid"
	if ! wait_for 10 grep -q "serving the child's userfaultfd" "$dir/img/lazy-pages.log" ||
	   ! wait_for 5 grep -q '^CHILD ' "$dir/test.log"; then
		result FAIL "FAIL $TAGNAME: the daemon never served a fork child: $(tail -2 "$dir/img/lazy-pages.log" | tr '\n' ' ')"
		return
	fi
	cpid=$(sed -n 's/^CHILD //p' "$dir/test.log" | head -1)
	track "$cpid"
	# the child reads and waits for a page that never comes
	kill -STOP "$dpid"
	kill -USR2 "$cpid"
	sleep 0.5
	if grep -q '^PASS$' "$dir/test.log" || ! alive "$cpid"; then
		result FAIL "FAIL $TAGNAME: the child finished before the daemon was killed (all pages were in?)"
		return
	fi
	kill -KILL "$dpid"
	wait "$RPID"
	wait_for 10 dead "$cpid"
	# the parent may have had all its pages: it then sees its child killed
	if grep -q '^FAIL: [a-z]*: word' "$dir/test.log"; then
		result FAIL "FAIL $TAGNAME: a process ran on and saw bad memory: $(grep -m1 '^FAIL' "$dir/test.log")"
	elif grep -q '^PASS$' "$dir/test.log"; then
		result FAIL "FAIL $TAGNAME: the program passed without its daemon (pages were all in)"
	elif alive "$cpid"; then
		result FAIL "FAIL $TAGNAME: the fork child $cpid still runs after the daemon died"
	elif alive "$pid"; then
		result FAIL "FAIL $TAGNAME: pid $pid still runs after its daemon died"
	elif ! grep -q 'and the children it forked' "$dir/restore.out"; then
		result FAIL "FAIL $TAGNAME: restore did not say it killed the child: $(head -3 "$dir/restore.out" | tr '\n' ' ')"
	else
		result PASS "PASS $TAGNAME"
	fi
}

lazy_daemon_stopped() {
	local dir=$1 pid dpid
	lazy_dump anon_pattern "$dir" || return
	pid=$PID
	"$CRIU" lazy-pages -D "$dir/img" -v4 -o "$dir/img/lazy-pages.log" > /dev/null 2>&1 < /dev/null &
	dpid=$!
	track "$dpid"
	if ! wait_for 10 test -S "$dir/img/lazy-pages.sock"; then
		result FAIL "FAIL $TAGNAME: the daemon did not listen: $(tail -1 "$dir/img/lazy-pages.log")"
		return
	fi
	kill -STOP "$dpid"
	RESTORE_EXTRA=(--lazy-pages)
	restore_bg "$dir" "$dir/img"
	if ! wait_for 10 pidfile_ready "$dir/pidfile"; then
		kill -CONT "$dpid"
		result FAIL "FAIL $TAGNAME: restore did not release the process while the daemon was stopped (it waited for a lazy page): $(tail -1 "$dir/restore.log")"
		return
	fi
	kill -CONT "$dpid"
	finish "$dir" "$TAGNAME" "$pid" || return
	result PASS "PASS $TAGNAME"
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
	port=$(test_port 8)
	"$CRIU" page-server -D "$dir/img" --address 127.0.0.1 --port "$port" -v4 \
		-o "$dir/page-server.log" > /dev/null 2>&1 < /dev/null &
	sp=$!
	track "$sp"
	export CRIU_LAZY_BG_DELAY_US=200
	# the restore host has every image but the pages
	copy_meta "$dir/img" "$dir/dst"
	copy_token "$dir/img" "$dir/dst"
	RESTORE_EXTRA=(--lazy-pages --page-server --address 127.0.0.1 --port "$port")
	restore_bg "$dir" "$dir/dst"
	await_restored "$dir" "$pid" "$TAGNAME" || return
	finish "$dir" "$TAGNAME" "$pid" || return
	wait "$sp"; st=$?
	local why
	why=$(remote_checks "$dir" "$port")
	if [ $st -ne 0 ]; then
		result FAIL "FAIL $TAGNAME: page-server exited with $st: $(criu_error "$dir/page-server.log")"
	elif [ -n "$why" ]; then
		result FAIL "FAIL $TAGNAME: $why"
	else
		result PASS "PASS $TAGNAME"
	fi
}

lazy_remote_chain() { remote_chain "$1" local; }
lazy_remote_chain_all() { remote_chain "$1" none; }

# remote_chain DIR local|none: the chain test, img/1's pages on the restore
# host or not
remote_chain() {
	local dir=$1 where=$2 pid port sp st own sent
	local d_loc d_rem e_loc e_rem
	start_prog incremental "$dir" || { result FAIL "FAIL $TAGNAME: incremental did not start"; return; }
	pid=$PID
	if ! "$CRIU" pre-dump -t "$pid" -D "$dir/img/1" --track-mem -v4 -o "$dir/pre.log" \
		> /dev/null 2>&1 < /dev/null; then
		result FAIL "FAIL $TAGNAME: pre-dump failed: $(criu_error "$dir/pre.log")"
		return
	fi
	next_round "$TAGNAME" "$dir" "$pid" 1 || return
	wait_for 5 in_sigwait "$pid" || { result FAIL "FAIL $TAGNAME: incremental not waiting"; return; }
	if ! "$CRIU" dump -t "$pid" -D "$dir/img/2" --prev-images-dir ../1 --track-mem -v4 \
		-o "$dir/dump.log" > /dev/null 2>&1 < /dev/null; then
		result FAIL "FAIL $TAGNAME: dump failed: $(criu_error "$dir/dump.log")"
		return
	fi
	wait "$pid" 2>/dev/null
	own=$(( ($(stat -c %s "$dir/img/2/pages-$pid.img") - 4096) / 4096 ))
	# the restore host: the pre-dump whole (or without its pages), the final dump without its pages
	mkdir -p "$dir/dst"
	if [ "$where" = local ]; then cp -r "$dir/img/1" "$dir/dst/1"; else copy_meta "$dir/img/1" "$dir/dst/1"; fi
	copy_meta "$dir/img/2" "$dir/dst/2"
	ln -s ../1 "$dir/dst/2/parent"
	port=$(test_port 8)
	"$CRIU" page-server -D "$dir/img/2" --address 127.0.0.1 --port "$port" -v4 \
		-o "$dir/page-server.log" > /dev/null 2>&1 < /dev/null &
	sp=$!
	track "$sp"
	copy_token "$dir/img/2" "$dir/dst/2"
	export CRIU_LAZY_BG_DELAY_US=0
	RESTORE_EXTRA=(--lazy-pages --page-server --address 127.0.0.1 --port "$port")
	restore_bg "$dir" "$dir/dst/2"
	await_restored "$dir" "$pid" "$TAGNAME" || return
	# every page in before the program checks: the counts are then all of them
	wait_for 20 grep -q 'has all its pages' "$dir/dst/2/lazy-pages.log"
	finish "$dir" "$TAGNAME" "$pid" || return
	wait "$sp"; st=$?
	wait_for 5 grep -q 'stats: ' "$dir/dst/2/lazy-pages.log"
	d_loc=$(sed -n 's/.*stats: .* local_pages=\([0-9]*\).*/\1/p' "$dir/dst/2/lazy-pages.log")
	d_rem=$(sed -n 's/.*stats: .* remote_pages=\([0-9]*\).*/\1/p' "$dir/dst/2/lazy-pages.log")
	e_rem=$(sed -n 's/.*: \([0-9]*\) eager pages fetched from the page server.*/\1/p' "$dir/restore.log")
	e_loc=$(sed -n 's/.*eager pages fetched from the page server .*, \([0-9]*\) in local images.*/\1/p' "$dir/restore.log")
	sent=$(sed -n 's/.*page-server: \([0-9]*\) pages sent.*/\1/p' "$dir/page-server.log")
	echo "remote_chain: img/2 has $own pages of its own; daemon: $d_loc local, $d_rem remote;" \
		"restore (eager): $e_loc local, $e_rem remote; page server sent $sent" > "$dir/counts"
	if [ $st -ne 0 ]; then
		result FAIL "FAIL $TAGNAME: page-server exited with $st: $(criu_error "$dir/page-server.log")"
	elif [ -z "$d_loc" ] || [ -z "$d_rem" ] || [ -z "$e_loc" ] || [ -z "$e_rem" ] || [ -z "$sent" ]; then
		result FAIL "FAIL $TAGNAME: no page counts in the logs: $(cat "$dir/counts")"
	elif [ "$where" = none ]; then
		# every page from the server, each from the newest image that has it (the program checks)
		if [ $(( d_loc + e_loc )) -ne 0 ] || [ $(( d_rem + e_rem )) -le "$own" ]; then
			result FAIL "FAIL $TAGNAME: pages were not all fetched: $(cat "$dir/counts")"
		else
			result PASS "PASS $TAGNAME"
		fi
	# (the server may send a part twice: read for a fault, then for the background)
	elif [ $(( d_rem + e_rem )) -ne "$own" ] || [ "$sent" -lt "$own" ] || [ "$sent" -gt $(( own + own / 8 )) ]; then
		result FAIL "FAIL $TAGNAME: not exactly img/2's own pages came from the page server: $(cat "$dir/counts")"
	elif [ $(( d_loc + e_loc )) -le 0 ]; then
		result FAIL "FAIL $TAGNAME: no page was read locally: $(cat "$dir/counts")"
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
	port=$(test_port 8)
	ip netns exec "$ns" "$CRIU" page-server -D "$dir/img" --address "$b" --port "$port" -v4 \
		-o "$dir/page-server.log" > /dev/null 2>&1 < /dev/null &
	sp=$!
	track "$sp"
	export CRIU_LAZY_BG_DELAY_US=200
	RESTORE_EXTRA=(--lazy-pages --page-server --address "$b" --port "$port")
	copy_meta "$dir/img" "$dir/dst"
	copy_token "$dir/img" "$dir/dst"
	restore_bg "$dir" "$dir/dst"
	if await_restored "$dir" "$pid" "$TAGNAME" && finish "$dir" "$TAGNAME" "$pid"; then
		wait "$sp"; st=$?
		local why
		why=$(remote_checks "$dir" "$port")
		if [ $st -ne 0 ]; then
			result FAIL "FAIL $TAGNAME: page-server exited with $st: $(criu_error "$dir/page-server.log")"
		elif ! grep -q "pages from $b:$port" "$dir/dst/lazy-pages.log"; then
			result FAIL "FAIL $TAGNAME: the daemon did not use the page server across the veth pair"
		elif [ -n "$why" ]; then
			result FAIL "FAIL $TAGNAME: $why"
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
	if [ "${name#remote-}" != "$name" ]; then
		TAG=lazy/remote-
		PAGE_SERVER_RESTORE=1 run_lazy_prog "${name#remote-}" "$name"
		return
	fi
	case " ${LAZY_CHECKS[*]} " in
	*" $name "*)
		[ -x "$CRIU" ] || { result SKIP "SKIP $TAGNAME: criu not built"; return; }
		mkdir -p "$dir"
		"lazy_$name" "$dir" ;;
	*)	TAG=lazy
		run_lazy_prog "$name" ;;
	esac
}
