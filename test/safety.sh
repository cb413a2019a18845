# test/safety.sh - the safety section of test/run.sh (sourced): images
# bound to their dump, refusals that say why, criu killed at chosen moments.
#   safety/mixed_dump: files-PID.img of another dump of the same pid (a
#     dump --leave-running just before) dropped into a dump: restore and
#     show refuse it with one line naming the file
#   safety/mixed_pages: the same for pagemap-PID.img and pages-PID.img
#     together (pages-PID.img alone: refused too)
#   safety/mixed_process: files-ROOT.img replaced by the files image of
#     another process of the same dump (a tree): refused
#   safety/mixed_parent: the "parent" link of an incremental dump turned to
#     another pre-dump of the same process: refused, naming the parent
#   safety/tampered: values no dump produces, written into a core or mm
#     image with valid framing (test/tools/img-edit): a code segment, a
#     kernel gs_base, rflags with IOPL, an unknown scheduling policy,
#     capabilities this kernel lacks, an rseq area at page 1, protection
#     bits beyond rwx, SIGKILL blocked, a robust list of a wrong size: each
#     refused before anything is created, with one line naming the image
#     and the field
#   safety/show_checks: criu show DIR exits 1 with an error line naming the
#     file for each image file missing, for a page whose data was changed,
#     and for a value no dump produces (show only decoded the files there);
#     criu show pages-PID.img alone too for the changed page (it checked
#     the header only)
#   safety/detach_output: `criu restore -d --lazy-pages` with its output in
#     a pipe: the reader sees the end as soon as restore returns, while
#     pages still arrive (the watcher held criu's stdout and stderr until
#     the last page); the program then passes its checks
#   safety/kill_dump: `criu dump` killed with SIGKILL at chosen moments
#     (5 to 400 ms in, its injected syscalls slowed with
#     CRIU_TEST_INFECT_DELAY_US so that most kills land in one), of a
#     program counting in a busy loop (counter) and of one waiting in a
#     syscall (anon_pattern): each time the program runs on, is not left
#     stopped, and passes its own checks (registers, memory, the wait
#     restarted); before: dead of SIGTRAP with "syscall; int3" left at rip
#   safety/thread_fails: a thread (not the leader) whose state the restorer
#     fails to set (a capability criu lacks, CAP_SYS_RESOURCE): the
#     restorer's line still reaches stderr (it went nowhere: the leader had
#     closed criu's fds), naming the thread
#   safety/kill_lazy: a lazy restore (-d) of anon_256m (background fill
#     slowed) whose criu processes are killed with SIGKILL at chosen
#     moments, 50 ms to 3 s after criu starts: the daemon and the watcher
#     together, the daemon alone, the watcher alone, the program reading
#     its memory after the kill or while it happens.  Each time the
#     program passes its checks, was never made (restore killed first), is
#     dead of SIGKILL, or waits for a missing page with no criu process
#     left (then killed here); never anything else (before: it read zeros,
#     "FAIL: page N word 0: 0x0", each time daemon and watcher went
#     together).  At least one run must end waiting, or the moments proved
#     nothing.  A subreaper (python) reaps the program to see how it ended.
#   safety/kill_lazy_restore: the same without -d: criu restore and the
#     daemon killed together, during the restore and while pages arrive;
#     criu restore alone

#   safety/lazy_let_go: every page of a lazy restore in while its -d
#     watcher is stopped (so it never empties the process's own copy of
#     its uffd, lazy-keep.c), the daemon gone, the watcher killed; the
#     program (lazy_dontneed) then drops its memory with MADV_DONTNEED and
#     reads zeros: the daemon unregistered its ranges when they were all
#     in (without: the program waits at its first fault there for good)
#   safety/kill_lazy_fork: a lazily restored program (lazy_fork, -d) forks
#     while its pages arrive; once the daemon serves the child, the daemon
#     and the watcher are killed together as the child reads its memory:
#     the child waits at a missing page (its uffd is kept in its parent's
#     io_uring) or is dead of SIGKILL, never reads zeros (before: "FAIL:
#     child: word N ... is 0")
SAFETY_CHECKS=(mixed_dump mixed_pages mixed_process mixed_parent tampered thread_fails show_checks
	       detach_output kill_dump kill_lazy kill_lazy_restore lazy_let_go kill_lazy_fork)
MODE[lazy_dontneed]=none	# safety/lazy_let_go
IMG_EDIT=$ROOT/test/tools/img-edit

# safety_dump DIR PID IMG [ARGS...]: a dump that must succeed; sets CMP_REASON
safety_dump() {
	local dir=$1 pid=$2 img=$3 log
	shift 3
	log=$dir/dump-$(basename "$img").log
	if ! "$CRIU" dump -t "$pid" -D "$img" "$@" -v4 -o "$log" > /dev/null 2>&1 < /dev/null; then
		CMP_REASON="dump into ${img#$ROOT/} failed: $(criu_error "$log")"
		return 1
	fi
}

# safety_twins DIR: anon_pattern dumped twice, --leave-running into DIR/a,
# then into DIR/b (killed, reaped); sets GOOD_PID
safety_twins() {
	local dir=$1
	start_prog anon_pattern "$dir" || { CMP_REASON="anon_pattern did not start"; return 1; }
	wait_for 5 in_sigwait "$PID" || { CMP_REASON="anon_pattern not waiting"; return 1; }
	GOOD_PID=$PID
	safety_dump "$dir" "$PID" "$dir/a" --leave-running || return 1
	safety_dump "$dir" "$PID" "$dir/b" || return 1
	wait_for 10 dead "$PID" || { CMP_REASON="still running after the dump"; return 1; }
	wait "$PID" 2>/dev/null
	return 0
}

# show_must_fail NAME COPY EXPECT: criu show COPY exits 1 with one error
# line naming EXPECT
show_must_fail() {
	local name=$1 copy=$2 expect=$3 dir
	dir=$(dirname "$copy")
	bounded "$dir" 20 show "$CRIU" show "$copy"
	if [ "$ST" -ne 1 ]; then
		result FAIL "FAIL $name: criu show exited with $ST, expected 1"
		return 1
	fi
	if ! grep -q '^error:' "$dir/show.err" || ! grep -qF "$expect" "$dir/show.err"; then
		result FAIL "FAIL $name: criu show's errors do not name $expect: $(head -3 "$dir/show.err" | tr '\n' '|' | cut -c1-300)"
		return 1
	fi
	return 0
}

safety_mixed_dump() {
	local name=$1 dir=$2 pid
	safety_twins "$dir" || { result FAIL "FAIL $name: $CMP_REASON"; return; }
	pid=$GOOD_PID
	cp -a "$dir/b" "$dir/copy"
	cp "$dir/a/files-$pid.img" "$dir/copy/"
	restore_must_fail "$name" "$dir/copy" "files-$pid.img: of dump" || return
	show_must_fail "$name" "$dir/copy" "files-$pid.img: of dump" || return
	show_must_fail "$name" "$dir/copy/files-$pid.img" "files-$pid.img: of dump" || return
	result PASS "PASS $name"
}

safety_mixed_pages() {
	local name=$1 dir=$2 pid
	safety_twins "$dir" || { result FAIL "FAIL $name: $CMP_REASON"; return; }
	pid=$GOOD_PID
	cp -a "$dir/b" "$dir/copy"
	cp "$dir/a/pagemap-$pid.img" "$dir/a/pages-$pid.img" "$dir/copy/"
	restore_must_fail "$name" "$dir/copy" "pagemap-$pid.img: of dump" || return
	rm -rf "$dir/copy"; cp -a "$dir/b" "$dir/copy"
	cp "$dir/a/pages-$pid.img" "$dir/copy/"
	restore_must_fail "$name" "$dir/copy" "pages-$pid.img: of dump" || return
	show_must_fail "$name" "$dir/copy" "pages-$pid.img: of dump" || return
	result PASS "PASS $name"
}

safety_mixed_process() {
	local name=$1 dir=$2 pid other
	start_prog tree "$dir" || { result FAIL "FAIL $name: tree did not start: $(log_tail "$dir/test.log")"; return; }
	pid=$PID
	GOOD_PID=$pid
	if ! safety_dump "$dir" "$pid" "$dir/img"; then
		result FAIL "FAIL $name: $CMP_REASON"
		return
	fi
	wait_for 10 dead "$pid"
	wait "$pid" 2>/dev/null
	other=$(ls "$dir/img" | sed -n 's/^files-\([0-9]*\)\.img$/\1/p' | grep -vx "$pid" | head -1)
	if [ -z "$other" ]; then
		result FAIL "FAIL $name: the tree's dump has no files image of a second process"
		return
	fi
	cp "$dir/img/files-$other.img" "$dir/img/files-$pid.img"
	restore_must_fail "$name" "$dir/img" "files-$pid.img: holds the state of process $other" || return
	result PASS "PASS $name"
}

safety_mixed_parent() {
	local name=$1 dir=$2 pid
	start_prog anon_pattern "$dir" || { result FAIL "FAIL $name: anon_pattern did not start"; return; }
	wait_for 5 in_sigwait "$PID"
	pid=$PID
	GOOD_PID=$pid
	if ! safety_dump "$dir" "$pid" "$dir/p0" --leave-running ||
	   ! "$CRIU" pre-dump -t "$pid" -D "$dir/p1" --track-mem -o "$dir/p1.log" -v4 > /dev/null 2>&1 ||
	   ! safety_dump "$dir" "$pid" "$dir/d" --track-mem --prev-images-dir ../p1; then
		result FAIL "FAIL $name: ${CMP_REASON:-pre-dump failed: $(criu_error "$dir/p1.log")}"
		return
	fi
	wait_for 10 dead "$pid"
	wait "$pid" 2>/dev/null
	if ! grep -q '"flags": 1' <("$CRIU" show "$dir/d/pagemap-$pid.img" 2>/dev/null); then
		result FAIL "FAIL $name: the incremental dump takes no page from its parent"
		return
	fi
	# the other pre-dump: a dump --leave-running is a complete dump too
	ln -sfn ../p0 "$dir/d/parent"
	restore_must_fail "$name" "$dir/d" "parent/inventory.img: of dump" || return
	result PASS "PASS $name"
}

# the field edits of safety/tampered: FILE-KIND|FIELD=VALUE...|EXPECTED TEXT
TAMPER=(
	"core|thread.regs.cs=0x23|segment selector cs 0x23"
	"core|thread.regs.ss=0x33|segment selector ss"
	"core|thread.regs.gs_base=0xffff888000000000|gs_base 0xffff888000000000"
	"core|thread.regs.flags=0x3246|rflags 0x3246"
	"core|thread.regs.rip=0xffffffff81000000|rip 0xffffffff81000000"
	"core|thread.sched_policy=7|scheduling policy 7"
	"core|thread.sched_policy=1 thread.sched_prio=0|scheduling priority 0"
	"core|thread.creds.cap_prm=0xffffffffffffffff thread.creds.cap_eff=0xffffffffffffffff|permitted capabilities"
	"core|thread.creds.cap_eff=0x1 thread.creds.cap_prm=0|effective capabilities 0x1"
	"core|thread.rseq.ptr=0x1000|rseq area 0x1000"
	"core|thread.sigmask=0x100|signal mask 0x100"
	"core|thread.robust_len=7|robust list"
	"core|sigactions[0].flags=0x100000|action of signal"
	"mm|vmas[0].prot=0x17|protection bits 0x17"
	"mm|vmas[0].flags=0x3|mapping flags 0x3"
	"mm|start_brk=0xffffffffffff0000|brk area"
)

safety_tampered() {
	local name=$1 dir=$2 pid t kind edits expect f
	start_prog anon_pattern "$dir" || { result FAIL "FAIL $name: anon_pattern did not start"; return; }
	wait_for 5 in_sigwait "$PID"
	pid=$PID
	GOOD_PID=$pid
	safety_dump "$dir" "$pid" "$dir/img" || { result FAIL "FAIL $name: $CMP_REASON"; return; }
	wait_for 10 dead "$pid"
	wait "$pid" 2>/dev/null
	for t in "${TAMPER[@]}"; do
		IFS='|' read -r kind edits expect <<< "$t"
		rm -rf "$dir/copy"; cp -a "$dir/img" "$dir/copy"
		f=$dir/copy/$kind-$pid.img
		# shellcheck disable=SC2086
		if ! "$IMG_EDIT" "$f" $edits 2> "$dir/edit.err"; then
			result FAIL "FAIL $name: img-edit $kind-$pid.img $edits: $(head -1 "$dir/edit.err")"
			return
		fi
		restore_must_fail "$name ($edits)" "$dir/copy" "error: restore: $kind-$pid.img: " || return
		if ! grep -qF "$expect" "$dir/copy.stderr"; then
			result FAIL "FAIL $name ($edits): the error does not say $expect: $(cut -c1-200 "$dir/copy.stderr")"
			return
		fi
	done
	result PASS "PASS $name"
}

safety_thread_fails() {
	local name=$1 dir=$2 pid tid
	start_prog threads "$dir" || { result FAIL "FAIL $name: threads did not start"; return; }
	wait_for 5 in_sigwait "$PID"
	pid=$PID
	GOOD_PID=$pid
	safety_dump "$dir" "$pid" "$dir/img" || { result FAIL "FAIL $name: $CMP_REASON"; return; }
	wait_for 10 dead "$pid"
	wait "$pid" 2>/dev/null
	tid=$(ls "$dir/img" | sed -n 's/^core-\([0-9]*\)\.img$/\1/p' | grep -vx "$pid" | tail -1)
	[ -n "$tid" ] || { result FAIL "FAIL $name: no thread in the dump"; return; }
	# CAP_SYS_RESOURCE (24): criu has it in none of its sets, so capset fails
	"$IMG_EDIT" "$dir/img/core-$tid.img" thread.creds.cap_prm=0x1ffffffffff \
		thread.creds.cap_eff=0x1ffffffffff 2> "$dir/edit.err" ||
		{ result FAIL "FAIL $name: img-edit: $(head -1 "$dir/edit.err")"; return; }
	restore_must_fail "$name" "$dir/img" "pid $pid thread $tid: cannot set capabilities" || return
	result PASS "PASS $name"
}

safety_show_checks() {
	local name=$1 dir=$2 pid f size
	start_prog anon_pattern "$dir" || { result FAIL "FAIL $name: anon_pattern did not start"; return; }
	wait_for 5 in_sigwait "$PID"
	pid=$PID
	safety_dump "$dir" "$pid" "$dir/img" || { result FAIL "FAIL $name: $CMP_REASON"; return; }
	wait_for 10 dead "$pid"
	wait "$pid" 2>/dev/null
	bounded "$dir" 20 show "$CRIU" show "$dir/img"
	[ "$ST" -eq 0 ] || { result FAIL "FAIL $name: show of the whole dump exited $ST: $(head -1 "$dir/show.err")"; return; }
	for f in inventory.img pstree.img core-$pid.img mm-$pid.img fs-$pid.img files-$pid.img \
		 pagemap-$pid.img pages-$pid.img; do
		rm -rf "$dir/copy"; cp -a "$dir/img" "$dir/copy"
		rm "$dir/copy/$f"
		show_must_fail "$name (no $f)" "$dir/copy" "$f" || return
	done
	rm -rf "$dir/copy"; cp -a "$dir/img" "$dir/copy"
	size=$(stat -c %s "$dir/copy/pages-$pid.img")
	flip_bit "$dir/copy/pages-$pid.img" $(( size - 1000 ))
	show_must_fail "$name (a page changed)" "$dir/copy" "pages-$pid.img: checksum mismatch" || return
	show_must_fail "$name (a page changed, the file alone)" "$dir/copy/pages-$pid.img" \
		"pages-$pid.img: checksum mismatch" || return
	rm -rf "$dir/copy"; cp -a "$dir/img" "$dir/copy"
	"$IMG_EDIT" "$dir/copy/core-$pid.img" thread.regs.cs=0x23
	show_must_fail "$name (cs 0x23)" "$dir/copy" "core-$pid.img: segment selector cs" || return
	result PASS "PASS $name"
}

safety_detach_output() {
	local name=$1 dir=$2 pid dpid TAGNAME=$1
	lazy_dump anon_256m "$dir" || return
	pid=$PID
	export CRIU_LAZY_BG_DELAY_US=20000
	# the reader of the pipe ends when every holder of its write end has closed it
	bash -c '"$1" restore -D "$2/img" -d --lazy-pages --pidfile "$2/pidfile" -v4 \
		-o "$2/restore.log" 2>&1 < /dev/null | cat > "$2/restore.out"; echo done > "$2/done"' \
		_ "$CRIU" "$dir" &
	track $!
	if ! wait_for 10 pidfile_ready "$dir/pidfile"; then
		result FAIL "FAIL $name: not restored within 10s: $(criu_error "$dir/restore.log")"
		return
	fi
	track "$pid"
	dpid=$(daemon_pid "$dir/img")
	[ -n "$dpid" ] && track "$dpid"
	if ! wait_for 5 test -e "$dir/done"; then
		result FAIL "FAIL $name: the output of criu restore -d still open 5s after it returned (pages still arriving: daemon ${dpid:-gone})"
		return
	fi
	if [ -z "$dpid" ] || ! alive "$dpid"; then
		result FAIL "FAIL $name: the daemon had every page already: the check proves nothing"
		return
	fi
	kill -USR1 "$pid"
	if ! wait_for 60 grep -q '^PASS$' "$dir/test.log"; then
		result FAIL "FAIL $name: the program did not pass after the detached restore: $(log_tail "$dir/test.log")"
		return
	fi
	result PASS "PASS $name"
}

# kill_dump_once DIR PROG MS: a dump of a fresh PROG killed MS ms in; the
# program must be unharmed; sets CMP_REASON
kill_dump_once() {
	local dir=$1 prog=$2 ms=$3 pid cp c st
	start_prog "$prog" "$dir" || { CMP_REASON="$prog did not start"; return 1; }
	pid=$PID
	[ "$prog" = counter ] || wait_for 5 in_sigwait "$pid"
	rm -rf "$dir/img"
	CRIU_TEST_INFECT_DELAY_US=20000 "$CRIU" dump -t "$pid" -D "$dir/img" -v4 -o "$dir/dump.log" \
		> /dev/null 2>&1 < /dev/null &
	cp=$!
	sleep "$(printf '0.%03d' "$ms")"
	kill -KILL "$cp" 2>/dev/null
	wait "$cp" 2>/dev/null
	sleep 0.2
	if ! alive "$pid"; then
		wait "$pid"; st=$?
		CMP_REASON="$prog killed with the dump $ms ms in: it died (status $st): $(log_tail "$dir/test.log")"
		return 1
	fi
	case $(proc_state "$pid") in
	T|t) CMP_REASON="$prog left stopped by the dump killed $ms ms in"; kill -KILL "$pid"; return 1 ;;
	esac
	if [ "$prog" = counter ]; then
		c=$(last_count "$dir/test.log"); c=${c:-0}
		if ! count_moves "$dir/test.log" "$c"; then
			CMP_REASON="counter stopped counting after the dump was killed $ms ms in"
			kill -KILL "$pid"; return 1
		fi
	elif ! wait_for 5 in_sigwait "$pid"; then
		CMP_REASON="$prog not back in its wait after the dump was killed $ms ms in (syscall $(cut -d' ' -f1 /proc/$pid/syscall))"
		kill -KILL "$pid"; return 1
	fi
	kill -USR1 "$pid"
	wait "$pid"; st=$?
	if [ $st -ne 0 ] || ! grep -q '^PASS' "$dir/test.log"; then
		CMP_REASON="$prog fails its checks after the dump was killed $ms ms in: $(log_tail "$dir/test.log")"
		return 1
	fi
	return 0
}

safety_kill_dump() {
	local name=$1 dir=$2 prog ms
	for prog in counter anon_pattern; do
		for ms in 5 20 40 80 150 250 400; do
			kill_dump_once "$dir" "$prog" "$ms" || { result FAIL "FAIL $name: $CMP_REASON"; return; }
		done
	done
	result PASS "PASS $name"
}

# the criu processes of a lazy restore of IMG still there: the daemon,
# criu restore or its -d watcher
lazy_criu_pids() {
	daemon_pid "$1"
	pgrep -f "^$CRIU restore -D $1 " 2>/dev/null
}

# blocked in a fault on a registered page that no one serves
in_uffd_wait() { grep -q handle_userfault "/proc/$1/wchan" 2>/dev/null; }

# reaped FILE CMD...: CMD as the child of a subreaper that reaps every
# process orphaned below it (a -d restore's program, daemon and watcher)
# and writes "PID signal N" or "PID exit N" for each into FILE
reaped() {
	python3 -c '
import ctypes, os, sys
ctypes.CDLL(None).prctl(36, 1, 0, 0, 0)	# PR_SET_CHILD_SUBREAPER
out = open(sys.argv[1], "a", buffering=1)
if os.fork() == 0:
	os.execv(sys.argv[2], sys.argv[2:])
while True:
	try:
		pid, st = os.waitpid(-1, 0)
	except ChildProcessError:
		break
	how = "signal %d" % os.WTERMSIG(st) if os.WIFSIGNALED(st) else "exit %d" % os.WEXITSTATUS(st)
	out.write("%d %s\n" % (pid, how))
' "$@"
}

# the restored program's output: it writes where its fd's offset was at
# the dump, into the emptied file (so after a hole)
prog_log() { tr -d '\0' < "$1/test.log"; }

# kill_lazy_once DIR PID WHO MS WHEN: a lazy restore of DIR/img (-d but for
# WHO=restore*) and, MS ms after it starts, SIGKILL to WHO (daemon,
# watcher, both, restore: criu restore and the daemon, restore_only);
# WHEN "after": the program reads its memory once they are killed,
# "during": from before.  Sets CMP_REASON and OUTCOME (passed, dead,
# blocked: waiting for a page with no criu process left to serve it)
kill_lazy_once() {
	local dir=$1 pid=$2 who=$3 ms=$4 when=$5 img=$1/img targets=() d w detach=(-d)
	local what="$who killed $ms ms into a lazy restore (the program reading $when)"
	put_back_log "$dir/test.log" "$img"	# as at the dump (a restore refuses a file changed since)
	rm -f "$dir/pidfile"
	case $who in restore*) detach=() ;; esac
	: > "$dir/reaped"
	CRIU_LAZY_BG_DELAY_US=20000 reaped "$dir/reaped" "$CRIU" restore -D "$img" "${detach[@]}" \
		--lazy-pages -v4 -o "$dir/restore.log" --pidfile "$dir/pidfile" \
		> "$dir/restore.out" 2>&1 < /dev/null &
	track $!
	# the moments count from criu's start (not the wrapper's)
	wait_for 10 pgrep -f "^$CRIU restore -D $img " > /dev/null
	if [ "$when" = during ]; then
		wait_for 20 pidfile_ready "$dir/pidfile" && kill -USR1 "$pid" 2>/dev/null
	fi
	sleep "$(awk -v m="$ms" 'BEGIN { printf "%.3f", m / 1000 }')"
	d=$(daemon_pid "$img")
	[ "$who" = watcher ] || [ "$who" = restore_only ] || targets=($d)
	if [ "$who" != daemon ]; then
		for w in $(pgrep -f "^$CRIU restore -D $img " 2>/dev/null); do targets+=("$w"); done
	fi
	[ ${#targets[@]} -gt 0 ] && kill -KILL "${targets[@]}" 2>/dev/null
	KILLED=${#targets[@]}
	# the restore returned, or is gone
	wait_for 20 bash -c "[ -s '$dir/pidfile' ] || ! pgrep -f '^$CRIU restore -D $img ' > /dev/null"
	[ "$when" = after ] && pidfile_ready "$dir/pidfile" && kill -USR1 "$pid" 2>/dev/null
	# passed, dead, or waiting for a page that no one is left to serve
	wait_for 40 bash -c "tr -d '\\0' < '$dir/test.log' | grep -q '^PASS\$\|^FAIL' || ! [ -e /proc/$pid ] ||
		grep -q '^State:.*Z' /proc/$pid/status ||
		{ grep -q handle_userfault /proc/$pid/wchan && ! pgrep -f '^criu lazy-pages -D $img( |\$)' &&
		  ! pgrep -f '^$CRIU restore -D $img '; }" > /dev/null
	OUTCOME=
	# an end is final once reaped (the log complete)
	dead "$pid" && wait_for 5 grep -q "^$pid " "$dir/reaped"
	if prog_log "$dir" | grep -q '^FAIL'; then
		CMP_REASON="$what: the program ran on bad memory: $(prog_log "$dir" | grep -m1 '^FAIL' | cut -c1-200)"
	elif prog_log "$dir" | grep -q '^PASS$'; then
		OUTCOME=passed
	elif dead "$pid"; then
		# killed (by criu, or with a restore cut short), never crashed
		case $(grep "^$pid " "$dir/reaped") in
		"$pid signal 9") OUTCOME=dead ;;
		"") OUTCOME=not_restored ;;	# the restore died before making it
		*) CMP_REASON="$what: the program ended otherwise than by SIGKILL ($(grep "^$pid " "$dir/reaped")): it ran on bad memory? $(prog_log "$dir" | tail -2 | tr '\n' ' ' | cut -c1-300)" ;;
		esac
	elif in_uffd_wait "$pid" && [ -z "$(lazy_criu_pids "$img")" ]; then
		sleep 1
		if in_uffd_wait "$pid" && ! prog_log "$dir" | grep -q '^PASS$\|^FAIL'; then
			OUTCOME=blocked
		else
			CMP_REASON="$what: the program left its wait for a missing page: $(prog_log "$dir" | tail -2 | tr '\n' ' ' | cut -c1-300)"
		fi
	else
		CMP_REASON="$what: the program neither passed, died nor waits for a page (wchan $(cat /proc/$pid/wchan 2>/dev/null), criu: $(lazy_criu_pids "$img" | tr '\n' ' '))"
	fi
	kill -KILL "$pid" $(lazy_criu_pids "$img") 2>/dev/null
	# the pid must be free for the next restore
	wait_for 20 bash -c "! [ -e /proc/$pid ]"
	[ -n "$OUTCOME" ]
}

# safety_kill_lazy NAME DIR TRIAL...: each TRIAL WHO:MS:WHEN (kill_lazy_once)
# on one dump of anon_256m; at least one program must have been left
# waiting for a page after its daemon and criu died (else the moments
# proved nothing about zero pages)
safety_kill_lazy() {
	local name=$1 dir=$2 TAGNAME=$1 pid t who ms when blocked=0 out=
	shift 2
	lazy_dump anon_256m "$dir" || return
	pid=$PID
	for t in "$@"; do
		IFS=: read -r who ms when <<< "$t"
		if ! kill_lazy_once "$dir" "$pid" "$who" "$ms" "$when"; then
			result FAIL "FAIL $name: $CMP_REASON"
			return
		fi
		out+=" $who/$ms/$when($KILLED killed):$OUTCOME"
		[ "$OUTCOME" = blocked ] && blocked=$((blocked + 1))
	done
	echo "outcomes:$out" > "$dir/outcomes"
	if [ "$blocked" -eq 0 ]; then
		result FAIL "FAIL $name: no program was left waiting for a page once criu and its daemon died:$out"
		return
	fi
	result PASS "PASS $name"
}

safety_lazy_let_go() {
	local name=$1 dir=$2 TAGNAME=$1 pid w
	lazy_dump lazy_dontneed "$dir" || return
	pid=$PID
	put_back_log "$dir/test.log" "$dir/img"
	: > "$dir/reaped"
	CRIU_LAZY_BG_DELAY_US=20000 reaped "$dir/reaped" "$CRIU" restore -D "$dir/img" -d --lazy-pages \
		-v4 -o "$dir/restore.log" --pidfile "$dir/pidfile" > "$dir/restore.out" 2>&1 < /dev/null &
	track $!
	if ! wait_for 20 pidfile_ready "$dir/pidfile"; then
		result FAIL "FAIL $name: not restored: $(criu_error "$dir/restore.log")"
		return
	fi
	w=$(pgrep -f "^$CRIU restore -D $dir/img " | head -1)
	[ -n "$w" ] || { result FAIL "FAIL $name: no watcher after the restore"; return; }
	track "$w"
	kill -STOP "$w"
	kill -USR1 "$pid"
	if ! wait_for 30 bash -c "tr -d '\\0' < '$dir/test.log' | grep -q '^CHECKED$'" ||
	   ! wait_for 30 bash -c "! pgrep -f '^criu lazy-pages -D $dir/img( |\$)' > /dev/null"; then
		kill -KILL "$w" "$pid"
		result FAIL "FAIL $name: the pages did not all come, or the daemon did not end: $(prog_log "$dir" | tail -2 | tr '\n' ' ')"
		return
	fi
	kill -KILL "$w"
	kill -USR2 "$pid"
	if ! wait_for 10 bash -c "tr -d '\\0' < '$dir/test.log' | grep -q '^PASS$\|^FAIL'"; then
		result FAIL "FAIL $name: the program waits for good at its first fault after MADV_DONTNEED (wchan $(cat /proc/$pid/wchan 2>/dev/null))"
		kill -KILL "$pid"
		return
	fi
	if ! prog_log "$dir" | grep -q '^PASS$'; then
		result FAIL "FAIL $name: $(prog_log "$dir" | grep -m1 '^FAIL')"
		return
	fi
	result PASS "PASS $name"
}

safety_kill_lazy_fork() {
	local name=$1 dir=$2 TAGNAME=$1 pid cpid w d
	export LAZY_FORK_HOLD=1
	lazy_dump lazy_fork "$dir" || return
	unset LAZY_FORK_HOLD
	pid=$PID
	put_back_log "$dir/test.log" "$dir/img"
	: > "$dir/reaped"
	CRIU_LAZY_BG_DELAY_US=20000 reaped "$dir/reaped" "$CRIU" restore -D "$dir/img" -d --lazy-pages \
		-v4 -o "$dir/restore.log" --pidfile "$dir/pidfile" > "$dir/restore.out" 2>&1 < /dev/null &
	track $!
	if ! wait_for 20 pidfile_ready "$dir/pidfile"; then
		result FAIL "FAIL $name: not restored: $(criu_error "$dir/restore.log")"
		return
	fi
	kill -USR1 "$pid"
	if ! wait_for 10 grep -q "serving the child's userfaultfd" "$dir/img/lazy-pages.log" ||
	   ! wait_for 5 bash -c "tr -d '\\0' < '$dir/test.log' | grep -q '^CHILD '"; then
		result FAIL "FAIL $name: the daemon never served a fork child: $(tail -2 "$dir/img/lazy-pages.log" | tr '\n' ' ')"
		kill -KILL "$pid" $(lazy_criu_pids "$dir/img") 2>/dev/null
		return
	fi
	cpid=$(prog_log "$dir" | sed -n 's/^CHILD //p' | head -1)
	track "$cpid"
	# the watcher must hold the child's uffd (and have kept it in the parent's ring)
	wait_for 5 grep -q "holding the userfaultfd of its fork child" "$dir/restore.log"
	d=$(daemon_pid "$dir/img")
	w=$(pgrep -f "^$CRIU restore -D $dir/img " | tr '\n' ' ')
	kill -STOP $d
	kill -USR2 "$cpid"
	sleep 0.3
	kill -KILL $d $w
	wait_for 20 bash -c "tr -d '\\0' < '$dir/test.log' | grep -q '^FAIL' || ! [ -e /proc/$cpid ] ||
		grep -q handle_userfault /proc/$cpid/wchan"
	sleep 0.5
	local how=
	if prog_log "$dir" | grep -q '^FAIL: child'; then
		result FAIL "FAIL $name: the child ran on bad memory: $(prog_log "$dir" | grep -m1 '^FAIL')"
	elif [ -e "/proc/$cpid" ] && ! grep -q '^State:.*Z' "/proc/$cpid/status" && in_uffd_wait "$cpid"; then
		how=blocked
	elif ! alive "$cpid"; then
		# reaped by its parent (the program says how) or, orphaned, by ours
		wait_for 5 bash -c "grep -q '^$cpid ' '$dir/reaped' ||
			tr -d '\\0' < '$dir/test.log' | grep -q 'the child ended with status'"
		# (or killed by the watcher with its parent, which reaped it first)
		grep -q "killing its descendant $cpid " "$dir/restore.log" && echo "$cpid signal 9" >> "$dir/reaped"
		case $(grep -m1 "^$cpid " "$dir/reaped"; prog_log "$dir" | grep -o 'the child ended with status 0x9$') in
		"$cpid signal 9"|"the child ended with status 0x9") how=dead ;;
		*) result FAIL "FAIL $name: the child ended otherwise than by SIGKILL: $(grep "^$cpid " "$dir/reaped") $(prog_log "$dir" | tail -2 | tr '\n' ' ')" ;;
		esac
	else
		result FAIL "FAIL $name: the child neither waits for a page nor died (wchan $(cat /proc/$cpid/wchan 2>/dev/null))"
	fi
	kill -KILL "$cpid" "$pid" 2>/dev/null
	wait_for 10 bash -c "! [ -e /proc/$pid ]"
	[ -n "$how" ] && { echo "child: $how" > "$dir/outcomes"; result PASS "PASS $name"; }
}

run_safety_check() {
	local check=$1 name=safety/$1 dir=$OUT/safety/$1
	if [ ! -x "$CRIU" ]; then
		result SKIP "SKIP $name: ${CRIU#$ROOT/} not built"
		return
	fi
	rm -rf "$dir"
	mkdir -p "$dir"
	case $check in
	mixed_dump) safety_mixed_dump "$name" "$dir" ;;
	mixed_pages) safety_mixed_pages "$name" "$dir" ;;
	mixed_process) safety_mixed_process "$name" "$dir" ;;
	mixed_parent) safety_mixed_parent "$name" "$dir" ;;
	tampered) safety_tampered "$name" "$dir" ;;
	thread_fails) safety_thread_fails "$name" "$dir" ;;
	show_checks) safety_show_checks "$name" "$dir" ;;
	detach_output) safety_detach_output "$name" "$dir" ;;
	kill_dump) safety_kill_dump "$name" "$dir" ;;
	kill_lazy) safety_kill_lazy "$name" "$dir" both:50:after both:300:after both:1000:after \
		both:3000:after both:300:during both:1500:during daemon:500:after watcher:500:after ;;
	lazy_let_go) safety_lazy_let_go "$name" "$dir" ;;
	kill_lazy_fork) safety_kill_lazy_fork "$name" "$dir" ;;
	kill_lazy_restore) safety_kill_lazy "$name" "$dir" restore:50:after restore:400:after \
		restore:400:during restore:1500:during restore_only:500:after ;;
	*) result FAIL "FAIL $name: no such check"; return ;;
	esac
	if [ "$TEST_KEEP_IMAGES" != 1 ] && [ "$(cat "$RESULT_FILE" 2>/dev/null)" = PASS ]; then
		rm -rf "$dir"/{a,b,copy,img,p0,p1,d}
	fi
}
# eight lazy restores each, killed at chosen moments: 25-30 s alone, over
# 60 under the load of other suites
TIMEOUT_OF[safety/kill_lazy]=180
TIMEOUT_OF[safety/kill_lazy_restore]=180
section safety SAFETY_CHECKS run_safety_check
