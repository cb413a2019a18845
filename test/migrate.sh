# test/migrate.sh - the migration section of test/run.sh (sourced by it):
# `criu dump --iterative` (pre-dump rounds while the program runs, then the
# final dump), on test/progs/dirty_writer, which rewrites random pages all
# the time and checks after restore that no write was lost.
#   migrate/iterative  dump --track-mem --iterative: at least two rounds
#       into DIR/pre-N, the final dump into DIR on the last, the final dump
#       copies fewer pages than the first round; `criu restore -D DIR`
#       finds the chain by itself and the program passes
#   migrate/iterative_lazy  the same, restored with --lazy-pages
#   migrate/iterative_unmet  the program writing as fast as it can,
#       --downtime-limit 1 --max-rounds 4: a limit it cannot meet; it must
#       say why it stops and dump anyway, restorable
#   migrate/iterative_postcopy  --iterative --lazy-pages --port P: the final
#       dump copies nothing and serves only the pages written since the last
#       round from the frozen source; the restore host (a pid namespace)
#       reads the rest from its copy of the pre-dumps
#   migrate/iterative_refused  --iterative without --track-mem, and with
#       --prev-images-dir: refused with one line, the program runs on

MIGRATE_CHECKS=(iterative iterative_lazy iterative_unmet iterative_postcopy iterative_refused)

# the number in "NAME: N" of the iterative log lines
iter_rounds() { grep -c 'iterative: round [0-9]*:' "$1"; }
iter_final_pages() { sed -n 's/.*iterative: final dump: \([0-9]*\) pages.*/\1/p' "$1"; }
iter_first_pages() { sed -n 's/.*iterative: round 1: \([0-9]*\) pages.*/\1/p' "$1"; }

# migrate_dump NAME DIR OPTS...: starts dirty_writer, dumps it iteratively
migrate_dump() {
	local name=$1 dir=$2
	shift 2
	DIRTY_WRITER_BUSY=${BUSY:-0} start_prog dirty_writer "$dir" ||
		{ result FAIL "FAIL $name: dirty_writer did not start"; return 1; }
	sleep 0.3
	if ! "$CRIU" dump -t "$PID" -D "$dir/img" --track-mem --iterative "$@" -v4 \
		-o "$dir/dump.log" > "$dir/dump.out" 2>&1 < /dev/null; then
		result FAIL "FAIL $name: dump --iterative failed: $(criu_error "$dir/dump.log")"
		return 1
	fi
	local rounds first final
	rounds=$(iter_rounds "$dir/dump.log")
	first=$(iter_first_pages "$dir/dump.log")
	final=$(iter_final_pages "$dir/dump.log")
	if [ "$rounds" -lt 2 ] || [ ! -e "$dir/img/pre-1/inventory.img" ] ||
	   [ ! -e "$dir/img/pre-2/inventory.img" ]; then
		result FAIL "FAIL $name: $rounds pre-dump rounds (at least 2 into img/pre-N expected)"
		return 1
	fi
	if [ -z "$final" ] || [ -z "$first" ] || [ "$final" -ge "$first" ]; then
		result FAIL "FAIL $name: the final dump copied ${final:-?} pages, the first round ${first:-?}"
		return 1
	fi
	alive "$PID" && { result FAIL "FAIL $name: the program still runs after the dump"; return 1; }
	return 0
}

# migrate_restore NAME DIR OPTS...: restores img, SIGUSR1, the program must pass
migrate_restore() {
	local name=$1 dir=$2 st
	shift 2
	RESTORE_EXTRA=("$@")
	restore_bg "$dir" "$dir/img"
	await_restored "$dir" "$PID" "$name" || return 1
	kill -USR1 "$PID"
	wait "$RPID"; st=$?
	if [ $st -ne 0 ] || ! grep -q '^PASS$' "$dir/test.log"; then
		result FAIL "FAIL $name: restore exited with $st: $(log_tail "$dir/test.log") $(criu_error "$dir/restore.log")"
		return 1
	fi
	return 0
}

migrate_iterative() {
	migrate_dump "$1" "$2" || return
	migrate_restore "$1" "$2" || return
	result PASS "PASS $1"
}

migrate_iterative_lazy() {
	migrate_dump "$1" "$2" || return
	migrate_restore "$1" "$2" --lazy-pages || return
	result PASS "PASS $1"
}

migrate_iterative_unmet() {
	BUSY=1 migrate_dump "$1" "$2" --downtime-limit 1 --max-rounds 4 || return
	if ! grep -Eq 'the rounds stopped shrinking|the round limit was reached' "$2/dump.log"; then
		result FAIL "FAIL $1: a limit of 1 ms was met or no reason given: $(grep 'iterative:' "$2/dump.log" | tail -2 | tr '\n' ' ')"
		return
	fi
	migrate_restore "$1" "$2" || return
	result PASS "PASS $1"
}

migrate_iterative_postcopy() {
	local name=$1 dir=$2 pid st dst served own
	TAGNAME=$name	# for the helpers of test/lazy.sh
	have_pidns || { result SKIP "SKIP $name: cannot create a pid namespace (unshare --pid)"; return; }
	start_prog dirty_writer "$dir" || { result FAIL "FAIL $name: dirty_writer did not start"; return; }
	pid=$PID
	sleep 0.3
	PORT=$(test_port 8)
	"$CRIU" dump -t "$pid" -D "$dir/img" --track-mem --iterative --lazy-pages --address 127.0.0.1 \
		--port "$PORT" -v4 -o "$dir/dump.log" > /dev/null 2>&1 < /dev/null &
	DPID=$!
	track "$DPID"
	if ! wait_for 30 bash -c "[ -e '$dir/img/inventory.img' ] || ! kill -0 $DPID 2>/dev/null" ||
	   [ ! -e "$dir/img/inventory.img" ]; then
		result FAIL "FAIL $name: no final dump: $(criu_error "$dir/dump.log")"
		return
	fi
	if ls "$dir/img"/pages-*.img > /dev/null 2>&1; then
		result FAIL "FAIL $name: the final post-copy dump wrote pages"
		return
	fi
	# the restore host: the pre-dumps whole, the final dump's images
	mkdir -p "$dir/dst"
	cp -a "$dir/img/." "$dir/dst/"
	copy_token "$dir/img" "$dir/dst"	# (the dump makes it as it starts serving)
	RESTORE_EXTRA=(--lazy-pages --page-server --address 127.0.0.1 --port "$PORT")
	restore_ns "$dir" "$dir/dst"
	await_ns_restored "$dir" || return
	kill -USR1 "$HPID"
	wait "$RPID"; st=$?
	wait "$DPID"; dst=$?
	if [ $st -ne 0 ] || ! grep -q '^PASS$' "$dir/test.log"; then
		result FAIL "FAIL $name: restore exited with $st: $(log_tail "$dir/test.log") $(criu_error "$dir/restore.log")"
	elif [ $dst -ne 0 ]; then
		result FAIL "FAIL $name: dump exited with $dst: $(criu_error "$dir/dump.log")"
	elif alive "$pid"; then
		result FAIL "FAIL $name: the source $pid still exists after the migration"
	else
		# the source served the final dump's own pages, no more
		own=$(iter_final_pages "$dir/dump.log")
		served=$(sed -n 's/.*served \([0-9]*\) pages.*/\1/p' "$dir/dump.log" | tail -1)
		if [ -z "$served" ] || [ "$served" != "$own" ]; then
			result FAIL "FAIL $name: the source served ${served:-?} pages, the final dump has ${own:-?}"
			return
		fi
		result PASS "PASS $name"
	fi
}

migrate_iterative_refused() {
	local name=$1 dir=$2 err
	start_prog dirty_writer "$dir" || { result FAIL "FAIL $name: dirty_writer did not start"; return; }
	for opts in "--iterative" "--iterative --track-mem --prev-images-dir ../x"; do
		# shellcheck disable=SC2086
		if "$CRIU" dump -t "$PID" -D "$dir/img" $opts > "$dir/dump.out" 2>&1; then
			result FAIL "FAIL $name: dump $opts succeeded"
			return
		fi
		err=$(grep -c 'error:' "$dir/dump.out")
		if [ "$err" -ne 1 ] || ! grep -q -- '--iterative' "$dir/dump.out"; then
			result FAIL "FAIL $name: dump $opts: expected one error line naming --iterative: $(log_tail "$dir/dump.out" 3)"
			return
		fi
		if ! alive "$PID" || [ "$(proc_state "$PID")" = T ]; then
			result FAIL "FAIL $name: the program does not run on after dump $opts"
			return
		fi
	done
	kill -USR1 "$PID"
	wait "$PID" 2>/dev/null
	grep -q '^PASS$' "$dir/test.log" || { result FAIL "FAIL $name: $(log_tail "$dir/test.log")"; return; }
	result PASS "PASS $name"
}

run_migrate_check() {
	local check=$1 name=migrate/$1 dir=$OUT/migrate/$1
	mkdir -p "$dir/tmp"
	export TEST_TMPDIR=$dir/tmp
	case $check in
	iterative|iterative_lazy|iterative_unmet|iterative_postcopy|iterative_refused)
		"migrate_$check" "$name" "$dir" ;;
	*) result FAIL "FAIL $name: no such check"; return ;;
	esac
	if [ "$TEST_KEEP_IMAGES" != 1 ] && [ "$(cat "$RESULT_FILE" 2>/dev/null)" = PASS ]; then
		rm -rf "$dir/img" "$dir/dst"
	fi
}

section migrate MIGRATE_CHECKS run_migrate_check
