# test/files.sh - the fd section of test/run.sh (sourced): checks of fd
# kinds that need more than one program run.
#   fd/leave_running_PROG (pipes, sockets, eventfds, epoll_watches, inotify_watches, locks,
#     and the file programs ghost_fork, file_reopen, fifos, ...: FD_LEAVE_RUNNING):
#     a dump --leave-running leaves every fd as it was: the program, signalled
#     afterwards without any restore, passes its checks (nothing was read out
#     of a pipe or socket, no timer tick or event was consumed)
#   fd/inherit_pipe: a process whose stdout is a pipe to another process is
#     dumped with the pipe as external; restore refuses it without
#     --inherit-fd, and with --inherit-fd fd[N]:pipe:[INODE] the process
#     writes into the pipe given
#   fd/inherit_file: --inherit-fd fd[N]:PATH replaces a file opened by path
#     (and --inherit-fd of an fd criu does not have is refused)
#   fd/ext_unix: a unix stream socket connected to another process is
#     refused with one error line naming it, and the process keeps running
#   fd/ext_unix_stream: with --ext-unix-sk it is dumped as external and
#     restored with --inherit-fd fd[N]:socket:[INODE] (a new socketpair)
#   fd/ext_unix_dgram: a datagram socket connected to another process's
#     named socket is refused without --ext-unix-sk, dumped with it, and
#     restored connected to that name (seen with ss)
#   fd/replaced_file: the same for a file whose path now leads to another
#     file (its stdout: the log is renamed over, the old one kept by a link)
#   fd/pty_ctty: a session leader whose controlling terminal is a pair it
#     holds: dump records it (ctty in criu show), restore makes it the
#     controlling terminal again (the program checks /dev/tty)
#   fd/scm_rights: an fd in flight in a unix socket (SCM_RIGHTS) whose only
#     reference is the message is refused with one error line naming the
#     pid, the fd and the socket; the program then receives the fd intact
#     (test/progs/scm_rights closed)
#   fd/unix_relative_moved: a unix socket bound to a relative path by a
#     process that has changed its cwd since (test/progs/unix_relative
#     moved) is refused with one error line naming the pid, the fd and the
#     name; the process keeps running and passes its checks
#   fd/pty_ctty_unheld: a session leader whose controlling terminal, a
#     pseudo-terminal of the tree, it holds no fd of (test/progs/pty_tree
#     unheld) is refused with one line; the tree passes its checks after it
#   fd/pidfd_outside: the same for a pidfd of a process outside the tree
#     (test/progs/pidfds outside)
#   fd/epoll_elsewhere: the same for an epoll watching a file that only
#     a child holds (test/progs/epoll_moved elsewhere)
#   fd/memfd_hugetlb: the same for a memfd of huge pages (MFD_HUGETLB,
#     test/progs/memfd_nofd hugetlb)
#   fd/pipe_packet: the same for a packet-mode pipe (pipe2 O_DIRECT,
#     test/progs/pipe_reopen packet)
#   fd/deleted_linked: the same for a file whose opened path was removed
#     while another link remains (test/progs/ghost_fork linked)
#   fd/pty_input: the same for a pseudo-terminal with a line written to its
#     master that its slave, in canonical mode, has not read (test/progs/pty_pairs
#     input)
#   fd/changed_grown, changed_cut, changed_mapped, changed_lazy,
#     changed_leave_running, changed_predump, changed_snapshot: a file of
#     test/progs/file_changed grown (fd 3, read up to offset 10000), cut
#     below that offset, or grown while mapped, between the dump and the
#     restore (lazy too; or after a dump --leave-running, the program still
#     running; or after the final dump of a pre-dump chain; or after a live
#     snapshot): the restore is refused
#     with one error line naming the pid, the fd (or the mapping), the file
#     and both sizes; nothing is left running (no lazy-pages daemon either)
#     and the images are untouched; with the file put back as it was the
#     same images restore and the program passes its checks.  Its log (fd
#     4, write-only, O_APPEND), grown after the --leave-running dump, is
#     not checked (upstream CRIU's exception)
#   fd/changed_buildid, changed_buildid_fd: the same for an ELF file
#     (fd 5, a copy of the program, also mapped whole but with elf_fd)
#     rewritten in place with one byte of its build-id changed (the same
#     size): refused naming both build-ids (--file-validation buildid, the
#     default); changed_buildid then restores with --file-validation
#     filesize

FD_LEAVE_RUNNING=(pipes sockets eventfds epoll_watches inotify_watches locks pty_pairs unix_dgram tty_session ghost_fork file_reopen ghost_dir fifos pipe_reopen pidfds epoll_moved leases timerfd_wall
		  unix_sockopts unix_relative pty_tree scm_rights)
FD_CHECKS=(inherit_pipe inherit_pipe_tree inherit_file ext_unix ext_unix_stream ext_unix_dgram replaced_file
	   scm_rights pty_input pty_ctty pidfd_outside epoll_elsewhere memfd_hugetlb pipe_packet
	   deleted_linked unix_relative_moved pty_ctty_unheld
	   changed_grown changed_cut changed_mapped changed_lazy changed_leave_running changed_predump
	   changed_snapshot changed_buildid changed_buildid_fd)
for p in "${FD_LEAVE_RUNNING[@]}"; do FD_CHECKS+=("leave_running_$p"); done

fd_leave_running() {
	local name=$1 dir=$2 prog=$3 pid st
	start_prog "$prog" "$dir"
	if [ $? -ne 0 ] || ! wait_for 5 in_sigwait "$PID"; then
		result FAIL "FAIL $name: $prog did not get ready: $(log_tail "$dir/test.log")"
		return
	fi
	pid=$PID
	if ! "$CRIU" dump -t "$pid" -D "$dir/img" --leave-running -v4 -o "$dir/dump.log" \
		> "$dir/dump.out" 2>&1 < /dev/null; then
		result FAIL "FAIL $name: dump failed: $(criu_error "$dir/dump.log")"
		return
	fi
	if ! wait_for 5 in_sigwait "$pid"; then
		result FAIL "FAIL $name: not back in its wait after the dump (state $(proc_state "$pid"))"
		return
	fi
	kill -USR1 "$pid"
	wait "$pid"; st=$?
	if [ $st -ne 0 ] || ! grep -q '^PASS$' "$dir/test.log"; then
		result FAIL "FAIL $name: the program fails its checks after dump --leave-running: $(log_tail "$dir/test.log")"
		return
	fi
	result PASS "PASS $name"
}

# inherit_restore NAME DIR PID KEY CMD...: restore of the dump in DIR/img
# without --inherit-fd must fail naming KEY and start nothing, then CMD
# (criu restore with its --inherit-fd options) must restore it as PID
inherit_restore() {
	local name=$1 dir=$2 pid=$3 key=$4; shift 4
	if ! wait_for 10 bash -c "! grep -q '^State:.*[RSDT]' /proc/$pid/status 2>/dev/null"; then
		result FAIL "FAIL $name: still running 10 s after the dump"
		return 1
	fi
	wait "$pid" 2>/dev/null
	if "$CRIU" restore -D "$dir/img" -d > "$dir/restore0.out" 2>&1 < /dev/null ||
	   ! grep -qF "is $key, outside the dumped process: restore with --inherit-fd fd[N]:$key" "$dir/restore0.out"; then
		result FAIL "FAIL $name: restore without --inherit-fd: $(head -2 "$dir/restore0.out" | tr '\n' '|')"
		return 1
	fi
	if alive "$pid"; then
		result FAIL "FAIL $name: the refused restore left pid $pid running"
		return 1
	fi
	if ! "$@" -D "$dir/img" -d -v4 -o "$dir/restore.log" --pidfile "$dir/pidfile" < /dev/null ||
	   [ "$(cat "$dir/pidfile" 2>/dev/null)" != "$pid" ]; then
		result FAIL "FAIL $name: restore $*: $(criu_error "$dir/restore.log")"
		return 1
	fi
	track "$pid"
	return 0
}

# a counter whose stdout is a pipe to a cat of this shell (another process):
# dumped as external (a warning names the key), restored only with
# --inherit-fd, writing into the new pipe given
fd_inherit_pipe() {
	local name=$1 dir=$2 pid w ino c
	exec {w}> >(cat > "$dir/test.log")
	"$ROOT/test/progs/counter" >&$w 2>&1 < /dev/null &
	pid=$!
	track "$pid"
	exec {w}>&-
	if ! wait_for "$READY_TIMEOUT" has_ready "$dir/test.log"; then
		result FAIL "FAIL $name: counter did not start: $(log_tail "$dir/test.log")"
		return
	fi
	ino=$(readlink "/proc/$pid/fd/1" | sed -n 's/^pipe:\[\([0-9]*\)\]$/\1/p')
	if ! "$CRIU" dump -t "$pid" -D "$dir/img" > "$dir/dump.out" 2>&1 < /dev/null; then
		result FAIL "FAIL $name: dump failed: $(head -2 "$dir/dump.out" | tr '\n' '|')"
	elif ! grep -qF "pid $pid: fd 1: pipe:[$ino]: the other end is held by pid" "$dir/dump.out" ||
	     ! grep -qF "restore with --inherit-fd fd[N]:pipe:[$ino]" "$dir/dump.out"; then
		result FAIL "FAIL $name: the dump does not say fd 1 is external: $(head -2 "$dir/dump.out" | tr '\n' '|')"
	else
		c=$(last_count "$dir/test.log")
		exec {w}> >(cat > "$dir/new.log")
		if inherit_restore "$name" "$dir" "$pid" "pipe:[$ino]" "$CRIU" restore --inherit-fd "fd[$w]:pipe:[$ino]"; then
			if [ "$(readlink "/proc/$pid/fd/1")" = "pipe:[$ino]" ] || [ "$(readlink /proc/$pid/fd/1)" != "$(readlink /proc/$pid/fd/2)" ]; then
				result FAIL "FAIL $name: fds 1 and 2 are $(readlink "/proc/$pid/fd/1") and $(readlink "/proc/$pid/fd/2"), not the pipe given"
			elif ! count_moves "$dir/new.log" "${c:-0}"; then
				result FAIL "FAIL $name: the restored counter does not count into the new pipe: $(log_tail "$dir/new.log")"
			else
				result PASS "PASS $name"
			fi
		fi
		exec {w}>&-
	fi
	kill -KILL "$pid" 2>/dev/null
}

# a tree whose two processes share their stdout, a pipe to a process
# outside (test/progs/tree_files | cat): restored with one --inherit-fd,
# both write into the new pipe, one open file again, and the tree passes
fd_inherit_pipe_tree() {
	local name=$1 dir=$2 pid w ino child
	exec {w}> >(cat > "$dir/test.log")
	"$ROOT/test/progs/tree_files" >&$w 2>&1 < /dev/null &
	pid=$!
	track "$pid"
	exec {w}>&-
	if ! wait_for "$READY_TIMEOUT" has_ready "$dir/test.log" || ! wait_for 5 in_sigwait "$pid"; then
		result FAIL "FAIL $name: tree_files did not start: $(log_tail "$dir/test.log")"
		return
	fi
	ino=$(readlink "/proc/$pid/fd/1" | sed -n 's/^pipe:\[\([0-9]*\)\]$/\1/p')
	child=$(cat "/proc/$pid/task/$pid/children" | tr -d ' ')
	if ! "$CRIU" dump -t "$pid" -D "$dir/img" > "$dir/dump.out" 2>&1 < /dev/null; then
		result FAIL "FAIL $name: dump failed: $(grep -m1 error "$dir/dump.out")"
	else
		exec {w}> >(cat > "$dir/new.log")
		if inherit_restore "$name" "$dir" "$pid" "pipe:[$ino]" "$CRIU" restore --inherit-fd "fd[$w]:pipe:[$ino]"; then
			if [ "$(readlink "/proc/$pid/fd/1")" = "pipe:[$ino]" ] ||
			   [ "$(readlink "/proc/$pid/fd/1")" != "$(readlink "/proc/$child/fd/1")" ]; then
				result FAIL "FAIL $name: the processes' fd 1 are $(readlink "/proc/$pid/fd/1") and $(readlink "/proc/$child/fd/1"), not the pipe given"
			elif ! kcmp_same "$pid" "$child" 1; then
				result FAIL "FAIL $name: parent and child hold two open files for their stdout, not one"
			else
				kill -USR1 "$pid"
				if wait_for 20 grep -q '^PASS$' "$dir/new.log"; then
					result PASS "PASS $name"
				else
					result FAIL "FAIL $name: $(log_tail "$dir/new.log")"
				fi
			fi
		fi
		exec {w}>&-
	fi
	kill -KILL "$pid" 2>/dev/null
}

# kcmp_same PID1 PID2 FD: fd FD of both is one open file description
kcmp_same() {
	python3 -c '
import ctypes, sys
libc = ctypes.CDLL(None, use_errno=True)
# SYS_kcmp = 312 on x86_64, KCMP_FILE = 0
sys.exit(0 if libc.syscall(312, int(sys.argv[1]), int(sys.argv[2]), 0, int(sys.argv[3]), int(sys.argv[3])) == 0 else 1)
' "$1" "$2" "$3"
}

# a counter writing to a file: restored with --inherit-fd fd[N]:PATH, it
# writes to the file criu's fd N is instead
fd_inherit_file() {
	local name=$1 dir=$2 pid w c
	start_prog counter "$dir"
	if [ $? -ne 0 ]; then
		result FAIL "FAIL $name: counter did not start: $(log_tail "$dir/test.log")"
		return
	fi
	pid=$PID
	if ! "$CRIU" dump -t "$pid" -D "$dir/img" -v4 -o "$dir/dump.log" < /dev/null; then
		result FAIL "FAIL $name: dump failed: $(criu_error "$dir/dump.log")"
		return
	fi
	wait "$pid" 2>/dev/null
	c=$(last_count "$dir/test.log")
	exec {w}> "$dir/new.log"
	if "$CRIU" restore -D "$dir/img" -d --inherit-fd "fd[999]:${dir#/}/test.log" > "$dir/restore0.out" 2>&1 < /dev/null ||
	   ! grep -qF "error: --inherit-fd fd[999]:${dir#/}/test.log: criu has no fd 999" "$dir/restore0.out"; then
		result FAIL "FAIL $name: --inherit-fd of an fd criu has not: $(head -2 "$dir/restore0.out" | tr '\n' '|')"
	elif ! "$CRIU" restore -D "$dir/img" -d --inherit-fd "fd[$w]:${dir#/}/test.log" -v4 \
		-o "$dir/restore.log" < /dev/null; then
		result FAIL "FAIL $name: restore with --inherit-fd failed: $(criu_error "$dir/restore.log")"
	elif track "$pid"; [ "$(readlink "/proc/$pid/fd/1")" != "$dir/new.log" ]; then
		result FAIL "FAIL $name: fd 1 is $(readlink "/proc/$pid/fd/1"), not $dir/new.log"
	elif ! count_moves "$dir/new.log" "${c:-0}"; then
		result FAIL "FAIL $name: the restored counter does not count into new.log: $(log_tail "$dir/new.log")"
	else
		result PASS "PASS $name"
	fi
	exec {w}>&-
	kill -KILL "$pid" 2>/dev/null
}

# a counter whose stdin is one end of a socketpair; the other end stays in
# its parent (python)
fd_ext_unix() {
	local name=$1 dir=$2 pid st lines c holder
	python3 -c '
import os, socket, sys, time
a, b = socket.socketpair()
pid = os.fork()
if pid == 0:
    os.dup2(b.fileno(), 0)
    out = os.open(sys.argv[2], os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
    os.dup2(out, 1); os.dup2(out, 2)
    os.execv(sys.argv[1], [sys.argv[1]])
open(sys.argv[3], "w").write(str(pid))
time.sleep(120)
' "$ROOT/test/progs/counter" "$dir/test.log" "$dir/counter.pid" &
	holder=$!
	track "$holder"
	if ! wait_for 10 test -s "$dir/counter.pid" || ! wait_for "$READY_TIMEOUT" has_ready "$dir/test.log"; then
		result FAIL "FAIL $name: counter did not start: $(log_tail "$dir/test.log")"
		kill -KILL "$holder" 2>/dev/null
		return
	fi
	pid=$(cat "$dir/counter.pid")
	track "$pid"
	"$CRIU" dump -t "$pid" -D "$dir/img" > "$dir/dump.stdout" 2> "$dir/dump.stderr" < /dev/null
	st=$?
	lines=$(grep -c . "$dir/dump.stderr")
	c=$(last_count "$dir/test.log"); c=${c:-0}
	if [ $st -eq 0 ]; then
		result FAIL "FAIL $name: dump of a process with a socket to another process exited with status 0"
	elif [ "$lines" -ne 1 ] || ! grep -q "^error: .*pid $pid: fd 0: socket:\[[0-9]*\]: connected to socket:\[[0-9]*\], outside the dumped process" "$dir/dump.stderr"; then
		result FAIL "FAIL $name: expected one error line naming pid $pid, fd 0 and the socket, got $lines: $(head -3 "$dir/dump.stderr" | tr '\n' '|' | cut -c1-300)"
	elif ! alive "$pid" || ! count_moves "$dir/test.log" "$c"; then
		result FAIL "FAIL $name: the process does not keep running after the refused dump (state $(proc_state "$pid"))"
	else
		result PASS "PASS $name"
	fi
	kill -KILL "$pid" "$holder" 2>/dev/null
	wait "$holder" 2>/dev/null
}

# a counter whose stdin is a stream socket connected to its parent (python):
# refused without --ext-unix-sk (fd/ext_unix); with it, dumped as external,
# refused at restore without --inherit-fd, and restored with a new
# socketpair's end given by --inherit-fd fd[N]:socket:[INODE]
fd_ext_unix_stream() {
	local name=$1 dir=$2 pid holder ino
	python3 -c '
import os, signal, socket, sys, time
signal.signal(signal.SIGCHLD, signal.SIG_IGN)  # the dumped child is reaped at once
a, b = socket.socketpair()
pid = os.fork()
if pid == 0:
    os.dup2(b.fileno(), 0)
    out = os.open(sys.argv[2], os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
    os.dup2(out, 1); os.dup2(out, 2)
    os.execv(sys.argv[1], [sys.argv[1]])
open(sys.argv[3], "w").write(str(pid))
time.sleep(120)
' "$ROOT/test/progs/counter" "$dir/test.log" "$dir/counter.pid" &
	holder=$!
	track "$holder"
	if ! wait_for 10 test -s "$dir/counter.pid" || ! wait_for "$READY_TIMEOUT" has_ready "$dir/test.log"; then
		result FAIL "FAIL $name: counter did not start: $(log_tail "$dir/test.log")"
		kill -KILL "$holder" 2>/dev/null
		return
	fi
	pid=$(cat "$dir/counter.pid")
	track "$pid"
	ino=$(readlink "/proc/$pid/fd/0" | sed -n 's/^socket:\[\([0-9]*\)\]$/\1/p')
	if ! "$CRIU" dump -t "$pid" -D "$dir/img" --ext-unix-sk > "$dir/dump.out" 2>&1 < /dev/null; then
		result FAIL "FAIL $name: dump with --ext-unix-sk failed: $(head -2 "$dir/dump.out" | tr '\n' '|')"
	elif ! grep -qF "restore with --inherit-fd fd[N]:socket:[$ino]" "$dir/dump.out"; then
		result FAIL "FAIL $name: the dump does not say fd 0 is external: $(head -2 "$dir/dump.out" | tr '\n' '|')"
	elif inherit_restore "$name" "$dir" "$pid" "socket:[$ino]" python3 -c '
import os, socket, sys, time
a, b = socket.socketpair()
peer = os.fork()
if peer == 0:  # holds the other end
    os.close(b.fileno()); time.sleep(60); os._exit(0)
open(sys.argv[1], "w").write("%d %d" % (peer, os.fstat(b.fileno()).st_ino))
os.dup2(b.fileno(), 9)
os.execv(sys.argv[2], sys.argv[2:])
' "$dir/newpeer" "$CRIU" restore --inherit-fd "fd[9]:socket:[$ino]"; then
		track "$(cut -d' ' -f1 "$dir/newpeer")"
		if [ "$(readlink "/proc/$pid/fd/0")" != "socket:[$(cut -d' ' -f2 "$dir/newpeer")]" ]; then
			result FAIL "FAIL $name: fd 0 is $(readlink "/proc/$pid/fd/0"), not the socket given (socket:[$(cut -d' ' -f2 "$dir/newpeer")])"
		elif ! count_moves "$dir/test.log" "$(last_count "$dir/test.log")"; then
			result FAIL "FAIL $name: the restored counter does not count"
		else
			result PASS "PASS $name"
		fi
	fi
	kill -KILL "$pid" "$holder" 2>/dev/null
	[ -s "$dir/newpeer" ] && kill -KILL "$(cut -d' ' -f1 "$dir/newpeer")" 2>/dev/null
	wait "$holder" 2>/dev/null
}

# the peer inode of pid's fd 0 as ss shows it, or the inode of a named socket
ss_peer_of() { ss -xapn 2>/dev/null | awk -v k="pid=$1,fd=0)" 'index($0, k) { print $8; exit }'; }
ss_ino_of() { ss -xapn 2>/dev/null | awk -v p="$1" '$5 == p { print $6; exit }'; }

fd_ext_unix_dgram() {
	local name=$1 dir=$2 pid st holder srv peer
	python3 -c '
import os, signal, socket, sys, time
signal.signal(signal.SIGCHLD, signal.SIG_IGN)  # the dumped child is reaped at once
s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
s.bind(sys.argv[4])
pid = os.fork()
if pid == 0:
    c = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    c.connect(sys.argv[4])
    os.dup2(c.fileno(), 0)
    out = os.open(sys.argv[2], os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
    os.dup2(out, 1); os.dup2(out, 2)
    os.execv(sys.argv[1], [sys.argv[1]])
open(sys.argv[3], "w").write(str(pid))
time.sleep(120)
' "$ROOT/test/progs/counter" "$dir/test.log" "$dir/counter.pid" "$dir/server.sock" &
	holder=$!
	track "$holder"
	if ! wait_for 10 test -s "$dir/counter.pid" || ! wait_for "$READY_TIMEOUT" has_ready "$dir/test.log"; then
		result FAIL "FAIL $name: counter did not start: $(log_tail "$dir/test.log")"
		kill -KILL "$holder" 2>/dev/null
		return
	fi
	pid=$(cat "$dir/counter.pid")
	track "$pid"
	if "$CRIU" dump -t "$pid" -D "$dir/img0" > "$dir/dump0.out" 2>&1 < /dev/null ||
	   ! grep -q "fd 0: socket:.*dump with --ext-unix-sk" "$dir/dump0.out"; then
		result FAIL "FAIL $name: dump without --ext-unix-sk: $(head -2 "$dir/dump0.out" | tr '\n' '|')"
	elif ! "$CRIU" dump -t "$pid" -D "$dir/img" --ext-unix-sk -v4 -o "$dir/dump.log" > /dev/null 2>&1 < /dev/null; then
		result FAIL "FAIL $name: dump with --ext-unix-sk failed: $(criu_error "$dir/dump.log")"
	elif ! wait_for 10 bash -c "! grep -q '^State:.*[RSDT]' /proc/$pid/status 2>/dev/null"; then
		result FAIL "FAIL $name: still running after the dump"
	elif "$CRIU" restore -D "$dir/img" -d > "$dir/restore0.out" 2>&1 < /dev/null ||
	     ! grep -q "restore with --ext-unix-sk" "$dir/restore0.out"; then
		result FAIL "FAIL $name: restore without --ext-unix-sk: $(head -2 "$dir/restore0.out" | tr '\n' '|')"
	elif ! "$CRIU" restore -D "$dir/img" -d --ext-unix-sk -v4 -o "$dir/restore.log" < /dev/null; then
		result FAIL "FAIL $name: restore with --ext-unix-sk failed: $(criu_error "$dir/restore.log")"
	else
		srv=$(ss_ino_of "$dir/server.sock")
		peer=$(ss_peer_of "$pid")
		if [ -z "$srv" ] || [ "$peer" != "$srv" ]; then
			result FAIL "FAIL $name: the restored fd 0 is connected to '$peer', not the server socket '$srv'"
		elif ! count_moves "$dir/test.log" "$(last_count "$dir/test.log")"; then
			result FAIL "FAIL $name: the restored counter does not count"
		else
			result PASS "PASS $name"
		fi
	fi
	kill -KILL "$pid" "$holder" 2>/dev/null
	wait "$holder" 2>/dev/null
}

fd_replaced_file() {
	local name=$1 dir=$2 pid st lines c
	start_prog counter "$dir"
	if [ $? -ne 0 ]; then
		result FAIL "FAIL $name: counter did not start: $(log_tail "$dir/test.log")"
		return
	fi
	pid=$PID
	ln "$dir/test.log" "$dir/test.log.orig" && echo other > "$dir/other" && mv "$dir/other" "$dir/test.log"
	"$CRIU" dump -t "$pid" -D "$dir/img" > "$dir/dump.stdout" 2> "$dir/dump.stderr" < /dev/null
	st=$?
	lines=$(grep -c . "$dir/dump.stderr")
	c=$(last_count "$dir/test.log.orig"); c=${c:-0}
	if [ $st -eq 0 ]; then
		result FAIL "FAIL $name: dump of a process whose file was replaced exited with status 0"
	elif [ "$lines" -ne 1 ] || ! grep -q "^error: .*pid $pid: fd 1: file '$dir/test.log.*' was replaced since it was opened" "$dir/dump.stderr"; then
		result FAIL "FAIL $name: expected one error line naming pid $pid, fd 1 and the file, got $lines: $(head -3 "$dir/dump.stderr" | tr '\n' '|' | cut -c1-300)"
	elif ! alive "$pid" || ! count_moves "$dir/test.log.orig" "$c"; then
		result FAIL "FAIL $name: the process does not keep running after the refused dump (state $(proc_state "$pid"))"
	else
		result PASS "PASS $name"
	fi
	kill -KILL "$pid" 2>/dev/null
	wait "$pid" 2>/dev/null
}

# refused_dump NAME DIR PID LOG PATTERN: the dump of PID fails with one
# error line matching PATTERN, and PID keeps running (and counting in LOG if
# given); reports a failure (status 1), nothing on success
refused_dump() {
	local name=$1 dir=$2 pid=$3 log=$4 pattern=$5 st lines c
	"$CRIU" dump -t "$pid" -D "$dir/img" > "$dir/dump.stdout" 2> "$dir/dump.stderr" < /dev/null
	st=$?
	lines=$(grep -c . "$dir/dump.stderr")
	if [ $st -eq 0 ]; then
		result FAIL "FAIL $name: the dump exited with status 0"
	elif [ "$lines" -ne 1 ] || ! grep -q "^error: .*pid $pid: $pattern" "$dir/dump.stderr"; then
		result FAIL "FAIL $name: expected one error line 'pid $pid: $pattern', got $lines: $(head -3 "$dir/dump.stderr" | tr '\n' '|' | cut -c1-300)"
	elif ! alive "$pid"; then
		result FAIL "FAIL $name: the process does not keep running after the refused dump (state $(proc_state "$pid"))"
	elif [ -n "$log" ] && ! { c=$(last_count "$log"); count_moves "$log" "${c:-0}"; }; then
		result FAIL "FAIL $name: the process does not count after the refused dump"
	else
		return 0
	fi
	return 1
}

# a test program started with arguments: sets PID, waits for its wait
start_prog_args() {
	local dir=$1; shift
	"$ROOT/test/progs/$1" "${@:2}" > "$dir/test.log" 2>&1 < /dev/null &
	PID=$!
	track "$PID"
	wait_for "$READY_TIMEOUT" has_ready "$dir/test.log" && wait_for 5 in_sigwait "$PID"
}

fd_pty_input() {
	local name=$1 dir=$2 pid
	if ! start_prog_args "$dir" pty_pairs input; then
		result FAIL "FAIL $name: pty_pairs did not get ready: $(log_tail "$dir/test.log")"
		return
	fi
	pid=$PID
	refused_dump "$name" "$dir" "$pid" "" "fd 3: /dev/ptmx: 2 bytes written to the master not yet read from the slave (fd 4), in canonical mode: not supported" &&
		result PASS "PASS $name"
	kill -KILL "$pid" 2>/dev/null
	wait "$pid" 2>/dev/null
}

fd_pty_ctty() {
	local name=$1 dir=$2 pid
	if ! start_prog_args "$dir" pty_pairs ctty; then
		result FAIL "FAIL $name: pty_pairs did not get ready: $(log_tail "$dir/test.log")"
		return
	fi
	pid=$PID
	if ! "$CRIU" dump -t "$pid" -D "$dir/img" -v4 -o "$dir/dump.log" < /dev/null; then
		result FAIL "FAIL $name: dump failed: $(criu_error "$dir/dump.log")"
		return
	fi
	wait "$pid" 2>/dev/null
	if ! "$CRIU" show "$dir/img" 2>&1 | grep -q '"ctty": true'; then
		result FAIL "FAIL $name: the images do not say the pair was the controlling terminal"
	elif ! "$CRIU" restore -D "$dir/img" -d --pidfile "$dir/pidfile" -v4 -o "$dir/restore.log" < /dev/null; then
		result FAIL "FAIL $name: restore failed: $(criu_error "$dir/restore.log")"
	elif track "$pid"; grep -q "was the controlling terminal of the process.*not restored" "$dir/restore.log"; then
		result FAIL "FAIL $name: restore did not give back the controlling terminal"
	else
		kill -USR1 "$pid"
		if wait_for 10 grep -q '^PASS$' "$dir/test.log"; then
			result PASS "PASS $name"
		else
			result FAIL "FAIL $name: $(log_tail "$dir/test.log")"
		fi
	fi
	kill -KILL "$pid" 2>/dev/null
}

fd_scm_rights() {
	local name=$1 dir=$2 pid st
	if ! start_prog_args "$dir" scm_rights closed; then
		result FAIL "FAIL $name: scm_rights did not get ready: $(log_tail "$dir/test.log")"
		return
	fi
	pid=$PID
	if refused_dump "$name" "$dir" "$pid" "" 'fd 4: socket:\[[0-9]*\]: a file in flight (SCM_RIGHTS: pipe:\[[0-9]*\]) that the process has no fd of: not supported'; then
		kill -USR1 "$pid"
		wait "$pid"; st=$?
		if [ $st -ne 0 ] || ! grep -q '^PASS$' "$dir/test.log"; then
			result FAIL "FAIL $name: after the refused dump: $(log_tail "$dir/test.log")"
		else
			result PASS "PASS $name"
		fi
	fi
	kill -KILL "$pid" 2>/dev/null
	wait "$pid" 2>/dev/null
}

fd_pty_ctty_unheld() {
	local name=$1 dir=$2 pid st
	if ! start_prog_args "$dir" pty_tree unheld; then
		result FAIL "FAIL $name: pty_tree did not get ready: $(log_tail "$dir/test.log")"
		return
	fi
	pid=$PID
	local shell
	shell=$(cat "/proc/$pid/task/$pid/children" 2>/dev/null | tr -d ' ')
	"$CRIU" dump -t "$pid" -D "$dir/img" > "$dir/dump.stdout" 2> "$dir/dump.stderr" < /dev/null
	st=$?
	if [ $st -eq 0 ] || [ "$(grep -c . "$dir/dump.stderr")" -ne 1 ] ||
	   ! grep -q "^error: .*pid $shell: leads a session whose controlling terminal, /dev/pts/[0-9]* of the dumped tree, it has no fd of: not supported" "$dir/dump.stderr"; then
		result FAIL "FAIL $name: expected one error line naming the shell, pid $shell (status $st): $(head -3 "$dir/dump.stderr" | tr '\n' '|')"
	elif ! alive "$pid" || ! alive "$shell"; then
		result FAIL "FAIL $name: the tree does not keep running after the refused dump"
	else
		kill -USR1 "$pid"
		wait "$pid"; st=$?
		if [ $st -ne 0 ] || ! grep -q '^PASS$' "$dir/test.log"; then
			result FAIL "FAIL $name: after the refused dump: $(log_tail "$dir/test.log")"
		else
			result PASS "PASS $name"
		fi
	fi
	kill -KILL "$pid" 2>/dev/null
	wait "$pid" 2>/dev/null
}

# fd_refused NAME DIR PATTERN PROG [ARG...]: the dump of PROG is refused
# with the one error line PATTERN; left running, the program passes
fd_refused() {
	local name=$1 dir=$2 pattern=$3 pid st
	shift 3
	if ! start_prog_args "$dir" "$@"; then
		result FAIL "FAIL $name: $1 did not get ready: $(log_tail "$dir/test.log")"
		return
	fi
	pid=$PID
	if refused_dump "$name" "$dir" "$pid" "" "$pattern"; then
		kill -USR1 "$pid"
		wait "$pid"; st=$?
		if [ $st -ne 0 ] || ! grep -q '^PASS$' "$dir/test.log"; then
			result FAIL "FAIL $name: after the refused dump: $(log_tail "$dir/test.log")"
		else
			result PASS "PASS $name"
		fi
	fi
	kill -KILL "$pid" 2>/dev/null
	wait "$pid" 2>/dev/null
}

# the sums of the images in $1 (the stats file criu writes aside)
img_sums() { (cd "$1" && sha256sum -- *.img); }

# fd_changed NAME DIR HOW: test/progs/file_changed dumped, a file of it
# changed (HOW: grown, cut, mapped, lazy (grown, restored lazily),
# leave_running (grown, and its log, after a dump --leave-running)), the
# restore refused; put back, the restore passes
fd_changed() {
	local name=$1 dir=$2 how=$3 pid data mapped log elf file expect st sums extra=() dump=() args=()
	[ "$how" = lazy ] && extra=(--lazy-pages)
	[ "$how" = leave_running ] && dump=(--leave-running)
	[ "$how" = snapshot ] && dump=(--leave-running --live-snapshot)
	[ "$how" = buildid_fd ] && args=(elf_fd)
	if ! start_prog_args "$dir" file_changed "${args[@]}"; then
		result FAIL "FAIL $name: file_changed did not get ready: $(log_tail "$dir/test.log")"
		return
	fi
	pid=$PID
	data=$(sed -n 's/^data //p' "$dir/test.log")
	mapped=$(sed -n 's/^mapped //p' "$dir/test.log")
	log=$(sed -n 's/^log //p' "$dir/test.log")
	elf=$(sed -n 's/^elf //p' "$dir/test.log")
	# a pre-dump chain: the final dump's sizes count
	[ "$how" = predump ] && dump=(--prev-images-dir ../pre --track-mem)
	if [ "$how" = predump ] && ! "$CRIU" pre-dump -t "$pid" -D "$dir/pre" --track-mem -v4 -o "$dir/pre.log" \
		< /dev/null > "$dir/pre.out" 2>&1; then
		result FAIL "FAIL $name: pre-dump failed: $(criu_error "$dir/pre.log")"
		return
	fi
	if ! "$CRIU" dump -t "$pid" -D "$dir/img" "${dump[@]}" -v4 -o "$dir/dump.log" < /dev/null > "$dir/dump.out" 2>&1; then
		result FAIL "FAIL $name: dump failed: $(criu_error "$dir/dump.log")"
		return
	fi
	file=$data
	[ "$how" = mapped ] && file=$mapped
	case $how in buildid*) file=$elf ;; esac
	cp "$file" "$dir/orig"
	expect="pid $pid: fd 3: $data has size 65541 now, 65536 at dump: the file changed since the dump"
	case $how in
	cut) truncate -s 5000 "$file"
	     expect="pid $pid: fd 3: $data has size 5000 now, 65536 at dump: the file changed since the dump" ;;
	mapped) printf 'more!' >> "$file"
		expect="pid $pid: mapping [0-9a-f]*-[0-9a-f]*: $mapped has size 65541 now, 65536 at dump: the file changed since the dump" ;;
	buildid*)	# rewritten in place, the same size: another build
		flip_bit "$file" "$(sed -n 's/^build_id //p' "$dir/test.log")"
		expect="fd 5"
		[ "$how" = buildid ] && expect="mapping [0-9a-f]*-[0-9a-f]*"
		expect="pid $pid: $expect: $elf has build-id [0-9a-f]* now, [0-9a-f]* at dump: the file changed since the dump" ;;
	*) printf 'more!' >> "$file" ;;
	esac
	# the program ran on after --leave-running: its log grew too
	[ "$how" = leave_running ] && echo "written after the dump" >> "$log"
	kill -KILL "$pid" 2>/dev/null
	wait "$pid" 2>/dev/null
	sums=$(img_sums "$dir/img")
	"$CRIU" restore -D "$dir/img" -d "${extra[@]}" < /dev/null > "$dir/restore0.out" 2>&1
	st=$?
	if [ $st -eq 0 ]; then
		result FAIL "FAIL $name: the restore over a changed file exited with status 0"
		kill -KILL "$pid" 2>/dev/null
		return
	fi
	if [ "$(grep -c . "$dir/restore0.out")" -ne 1 ] || ! grep -q "^error: .*$expect\$" "$dir/restore0.out"; then
		result FAIL "FAIL $name: expected one error line '$expect', got: $(head -3 "$dir/restore0.out" | tr '\n' '|' | cut -c1-300)"
		return
	fi
	if alive "$pid" || [ -n "$(daemon_pid "$dir/img")" ]; then
		result FAIL "FAIL $name: the refused restore left pid $pid or a lazy-pages daemon running"
		return
	fi
	if [ "$(img_sums "$dir/img")" != "$sums" ]; then
		result FAIL "FAIL $name: the refused restore changed the images"
		return
	fi
	# put back as it was (in place: the same inode); or, for another build
	# of an ELF file, --file-validation filesize lets it through
	if [ "$how" = buildid ]; then
		extra+=(--file-validation filesize)
	else
		cp "$dir/orig" "$file"
	fi
	RESTORE_EXTRA=("${extra[@]}")
	restore_bg "$dir" "$dir/img"
	RESTORE_EXTRA=()
	await_restored "$dir" "$pid" "$name" && finish "$dir" "$name" "$pid" && result PASS "PASS $name"
	kill -KILL "$pid" 2>/dev/null
}

run_fd_check() {
	local check=$1 name=fd/$1 dir=$OUT/fd/$1
	if [ ! -x "$CRIU" ]; then
		result SKIP "SKIP $name: ${CRIU#$ROOT/} not built"
		return
	fi
	mkdir -p "$dir"
	export TEST_TMPDIR=$dir/tmp
	mkdir -p "$TEST_TMPDIR"
	case $check in
	leave_running_*) fd_leave_running "$name" "$dir" "${check#leave_running_}" ;;
	inherit_pipe) fd_inherit_pipe "$name" "$dir" ;;
	inherit_pipe_tree) fd_inherit_pipe_tree "$name" "$dir" ;;
	inherit_file) fd_inherit_file "$name" "$dir" ;;
	ext_unix_stream) fd_ext_unix_stream "$name" "$dir" ;;
	ext_unix) fd_ext_unix "$name" "$dir" ;;
	ext_unix_dgram) fd_ext_unix_dgram "$name" "$dir" ;;
	replaced_file) fd_replaced_file "$name" "$dir" ;;
	pty_input) fd_pty_input "$name" "$dir" ;;
	scm_rights) fd_scm_rights "$name" "$dir" ;;
	pty_ctty) fd_pty_ctty "$name" "$dir" ;;
	pidfd_outside) fd_refused "$name" "$dir" "fd 7: pidfd of process [0-9]*, outside the dumped tree: not supported" \
		pidfds outside ;;
	epoll_elsewhere) fd_refused "$name" "$dir" "fd 3: epoll watches a file (inode [0-9]*, added as fd 16) that no fd of the process holds any more: not supported" \
		epoll_moved elsewhere ;;
	memfd_hugetlb) fd_refused "$name" "$dir" "fd 9: memfd 'huge': on hugetlbfs (MFD_HUGETLB): not supported" \
		memfd_nofd hugetlb ;;
	pipe_packet) fd_refused "$name" "$dir" "fd 8: pipe:\\[[0-9]*\\]: a packet-mode pipe (O_DIRECT): not supported" \
		pipe_reopen packet ;;
	deleted_linked) fd_refused "$name" "$dir" "fd 9: the path of '.*/x (deleted)' was removed but the file has 1 other link(s): not supported" \
		ghost_fork linked ;;
	unix_relative_moved) fd_refused "$name" "$dir" "fd 3: socket:\\[[0-9]*\\]: bound to the relative path 'rel.sock', which is not that socket's file from its cwd" \
		unix_relative moved ;;
	pty_ctty_unheld) fd_pty_ctty_unheld "$name" "$dir" ;;
	changed_*) fd_changed "$name" "$dir" "${check#changed_}" ;;
	*) result FAIL "FAIL $name: no such check"; return ;;
	esac
	if [ "$TEST_KEEP_IMAGES" != 1 ] && [ "$(cat "$RESULT_FILE" 2>/dev/null)" = PASS ]; then
		rm -rf "$dir/img" "$dir/img0" "$dir/pre"
	fi
}

section fd FD_CHECKS run_fd_check
