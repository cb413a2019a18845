# test/workingset.sh - the working set section of test/run.sh (sourced by
# it): a lazy restore records the pages the program touched first
# (workingset-PID.img), a later lazy restore of the same images installs
# them first (lazy-pages/workingset.h).  test/progs/cold_start reads a fixed
# 3% of its 64 MiB in a fixed order after SIGUSR1 and exits.  The
# background fill is slowed (CRIU_LAZY_BG_DELAY_US), a working set's
# installation is not, and the granule is 64 KiB, so that faults show what
# was in place before the program asked.
#   workingset/record_replay  the first restore writes a working set of as
#       many pages as it served faults; the second says it installs them
#       first, and takes fewer than half the faults; both pass
#   workingset/unreadable  a truncated workingset file: the restore warns,
#       the program passes, and the file is recorded again (readable)

WORKINGSET_CHECKS=(record_replay unreadable)

ws_faults() { sed -n 's/.*lazy-pages: stats:.* faults=\([0-9]*\).*/\1/p' "$1" | tail -1; }

# ws_restore NAME DIR RUN: one lazy restore of DIR/img, the program signalled
# half a second after it runs; its log in DIR/RUN.lazy.log
ws_restore() {
	local name=$1 dir=$2 run=$3 st
	RESTORE_EXTRA=(--lazy-pages --lazy-granule 64K)
	rm -f "$dir/img/lazy-pages.log"
	CRIU_LAZY_BG_DELAY_US=20000 restore_bg "$dir" "$dir/img"
	await_restored "$dir" "$PID" "$name" || return 1
	sleep 0.5
	kill -USR1 "$PID"
	wait "$RPID"; st=$?
	wait_for 10 bash -c "! pgrep -f 'criu lazy-pages -D $dir/img' > /dev/null"
	cp "$dir/img/lazy-pages.log" "$dir/$run.lazy.log" 2>/dev/null
	cp "$dir/restore.log" "$dir/$run.restore.log"
	if [ $st -ne 0 ] || ! grep -q '^PASS$' "$dir/test.log"; then
		result FAIL "FAIL $name: restore $run exited with $st: $(log_tail "$dir/test.log") $(criu_error "$dir/restore.log")"
		return 1
	fi
	return 0
}

ws_dump() {
	local name=$1 dir=$2
	start_prog cold_start "$dir" || { result FAIL "FAIL $name: cold_start did not start"; return 1; }
	wait_for 5 in_sigwait "$PID" || { result FAIL "FAIL $name: cold_start not waiting"; return 1; }
	if ! "$CRIU" dump -t "$PID" -D "$dir/img" -v4 -o "$dir/dump.log" > /dev/null 2>&1 < /dev/null; then
		result FAIL "FAIL $name: dump failed: $(criu_error "$dir/dump.log")"
		return 1
	fi
	wait "$PID" 2>/dev/null
	return 0
}

# the number of entries of the working set image, through criu show
ws_entries() {
	"$CRIU" show "$1" 2>/dev/null | python3 -c 'import json,sys; d=json.load(sys.stdin); print(len(d.get("entries", d if isinstance(d, list) else [])))'
}

workingset_record_replay() {
	local name=$1 dir=$2 ws f1 f2 n
	ws_dump "$name" "$dir" || return
	ws=$dir/img/workingset-$PID.img
	ws_restore "$name" "$dir" 1 || return
	f1=$(ws_faults "$dir/1.lazy.log")
	if [ ! -s "$ws" ]; then
		result FAIL "FAIL $name: no working set recorded after the first lazy restore ($f1 faults): $(log_tail "$dir/1.lazy.log")"
		return
	fi
	n=$(ws_entries "$ws")
	if [ -z "$n" ] || [ "$n" -ne "${f1:-0}" ]; then
		result FAIL "FAIL $name: the working set has ${n:-?} pages, the first restore served ${f1:-?} faults"
		return
	fi
	ws_restore "$name" "$dir" 2 || return
	f2=$(ws_faults "$dir/2.lazy.log")
	if ! grep -q "working set of $n pages from workingset-$PID.img: installed first" "$dir/2.lazy.log"; then
		result FAIL "FAIL $name: the second restore did not use the working set: $(log_tail "$dir/2.lazy.log")"
	elif [ -z "$f2" ] || [ $((f2 * 2)) -ge "$f1" ]; then
		result FAIL "FAIL $name: ${f2:-?} faults with the working set, $f1 without (expected under half)"
	else
		echo "faults: $f1 recording, $f2 with the working set" > "$dir/figures"
		result PASS "PASS $name"
	fi
}

workingset_unreadable() {
	local name=$1 dir=$2 ws
	ws_dump "$name" "$dir" || return
	ws=$dir/img/workingset-$PID.img
	ws_restore "$name" "$dir" 1 || return
	[ -s "$ws" ] || { result FAIL "FAIL $name: no working set recorded"; return; }
	truncate -s -7 "$ws"
	ws_restore "$name" "$dir" 2 || return
	if ! grep -q "workingset-$PID.img unreadable: restored without a working set" "$dir/2.lazy.log"; then
		result FAIL "FAIL $name: no warning about the truncated working set: $(log_tail "$dir/2.lazy.log")"
	elif ! "$CRIU" show "$ws" > /dev/null 2>&1; then
		result FAIL "FAIL $name: the working set was not recorded again: $("$CRIU" show "$ws" 2>&1 | head -1)"
	else
		result PASS "PASS $name"
	fi
}

run_workingset_check() {
	local check=$1 name=workingset/$1 dir=$OUT/workingset/$1
	mkdir -p "$dir/tmp"
	export TEST_TMPDIR=$dir/tmp
	case $check in
	record_replay|unreadable) "workingset_$check" "$name" "$dir" ;;
	*) result FAIL "FAIL $name: no such check"; return ;;
	esac
	if [ "$TEST_KEEP_IMAGES" != 1 ] && [ "$(cat "$RESULT_FILE" 2>/dev/null)" = PASS ]; then
		rm -rf "$dir/img"
	fi
}

section workingset WORKINGSET_CHECKS run_workingset_check
