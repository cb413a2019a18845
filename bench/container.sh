#!/bin/bash
# container.sh - what a container costs over a plain process (issue 12,
# `make bench`): the same workload (bench/workload, static) holding the same
# memory, dumped and restored as a plain process and as the init of a runc
# container (runc run -d; dumped by this tool's command line with
# --freeze-cgroup, --manage-cgroups soft, --empty-ns net and --external
# mnt[...] for the cgroup hierarchies runc binds from the host; restored
# with --root and --inherit-fd for its stdout pipe).  Medians of BENCH_REPS (3) runs per size
# (BENCH_CT_SIZES MiB, default "64 1024"); the overhead is the difference of
# the medians.  Needs runc (scripts/install-deps.sh); writes
# bench/out/container.md.
. "$(dirname "$0")/env.sh"
SIZES=${BENCH_CT_SIZES:-64 1024}
REPS=${BENCH_REPS:-3}
B=$OUT/ct
ID=criu-bench-ct-$$

command -v runc > /dev/null || { echo "container.sh: needs runc (scripts/install-deps.sh)" >&2; exit 1; }
[ -d /sys/fs/cgroup/freezer ] || { echo "container.sh: needs the cgroup v1 freezer" >&2; exit 1; }
rm -rf "$B" && mkdir -p "$B/bundle/rootfs" || exit 1
gcc -O2 -static -o "$B/bundle/rootfs/workload" bench/workload.c || exit 1
cp "$B/bundle/rootfs/workload" "$OUT/workload-static"
(cd "$B/bundle" && runc spec) || exit 1

PIDS=()
cleanup() {
	runc delete -f "$ID" > /dev/null 2>&1
	for p in "${PIDS[@]}"; do kill -9 "$p" 2>/dev/null; done
	sleep 0.2
	rmdir /sys/fs/cgroup/*/"$ID" 2>/dev/null	# made by runc, again by the restore
	rm -rf "$IMGDIR/ct"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

now() { date +%s%N; }

# bundle MIB: the container runs `workload MIB /result`
bundle() {
	python3 - "$B/bundle/config.json" "$1" <<'PY'
import json, sys
p, mib = sys.argv[1], sys.argv[2]
c = json.load(open(p))
c['process']['terminal'] = False
c['process']['args'] = ['/workload', mib, '/result']
c['root']['readonly'] = False
json.dump(c, open(p, 'w'), indent=1)
PY
}

wait_ready() {
	for ((i = 0; i < 600; i++)); do
		grep -q READY "$1" 2>/dev/null && return 0
		sleep 0.1
	done
	return 1
}

# verdict FILE PID: SIGUSR1, then the workload's own check
verdict() {
	kill -USR1 "$2" 2>/dev/null || return 1
	for ((i = 0; i < 600; i++)); do
		[ -s "$1" ] && break
		sleep 0.1
	done
	grep -q PASS "$1" 2>/dev/null
}

# plain MIB: "dump_ms restore_ms"
plain() {
	local mib=$1 d=$IMGDIR/ct/plain t0 t1 t2 t3 pid
	rm -rf "$d" "$B/plain.out" "$B/plain.result" "$B"/plain-*.log && mkdir -p "$d"
	"$OUT/workload-static" "$mib" "$B/plain.result" < /dev/null > "$B/plain.out" 2>&1 &
	pid=$!
	PIDS+=("$pid")
	wait_ready "$B/plain.out" || { echo "plain workload did not start" >&2; return 1; }
	sync
	t0=$(now)
	"$CRIU" dump -t "$pid" -D "$d" -o "$B/plain-dump.log" -v4 || { echo "plain dump failed" >&2; return 1; }
	t1=$(now)
	wait "$pid" 2>/dev/null
	t2=$(now)
	"$CRIU" restore -D "$d" -d -o "$B/plain-restore.log" -v4 || { echo "plain restore failed" >&2; return 1; }
	t3=$(now)
	verdict "$B/plain.result" "$pid" || { echo "plain: the restored workload did not verify" >&2; return 1; }
	echo "$(ms "$t0" "$t1") $(ms "$t2" "$t3")"
}

# container MIB: "dump_ms restore_ms"
container() {
	local mib=$1 d=$IMGDIR/ct/ct t0 t1 t2 t3 pid ext=() rext=() key fr line
	# (criu appends to an existing log: the key below must be this dump's)
	rm -rf "$d" "$B/bundle/rootfs/result" "$B"/ct-*.log && mkdir -p "$d"
	bundle "$mib"
	runc run -d --bundle "$B/bundle" "$ID" < /dev/null > >(cat > "$B/ct.out") 2>&1 ||
		{ echo "runc run failed" >&2; return 1; }
	pid=$(runc state "$ID" | sed -n 's/^ *"pid": \([0-9]*\),/\1/p')
	PIDS+=("$pid")
	wait_ready "$B/ct.out" || { echo "the container did not get ready" >&2; return 1; }
	while read -r line; do ext+=(--external "mnt[$line]:$line"); done \
		< <(awk '$0 ~ / - cgroup2? / {print $5}' "/proc/$pid/mountinfo")
	fr=/sys/fs/cgroup/freezer$(awk -F: '$2 == "freezer" {print $3}' "/proc/$pid/cgroup")
	sync
	t0=$(now)
	"$CRIU" dump -t "$pid" -D "$d" -o "$B/ct-dump.log" -v4 --freeze-cgroup "$fr" \
		--manage-cgroups soft --empty-ns net "${ext[@]}" < /dev/null ||
		{ echo "container dump failed: $(grep -m1 error: "$B/ct-dump.log")" >&2; return 1; }
	t1=$(now)
	key=$(grep -o 'fd\[N\]:pipe:\[[0-9]*\]' "$B/ct-dump.log" | head -1 | sed 's/.*fd\[N\]://')
	for line in "${ext[@]}"; do
		[ "$line" = --external ] && continue
		rext+=(--external "$line")
	done
	runc delete -f "$ID" > /dev/null 2>&1
	t2=$(now)
	"$CRIU" restore -D "$d" -d -o "$B/ct-restore.log" -v4 --root "$B/bundle/rootfs" \
		--manage-cgroups soft --empty-ns net "${rext[@]}" --inherit-fd "fd[5]:$key" \
		5> >(cat >> "$B/ct.out") < /dev/null ||
		{ echo "container restore failed: $(grep -m1 error: "$B/ct-restore.log")" >&2; return 1; }
	t3=$(now)
	pid=$(grep -o 'pid [0-9]* restored' "$B/ct-restore.log" | head -1 | cut -d' ' -f2)
	verdict "$B/bundle/rootfs/result" "$pid" || { echo "container: the restored workload did not verify" >&2; return 1; }
	echo "$(ms "$t0" "$t1") $(ms "$t2" "$t3")"
}

# A - B, or n/a
diff_ms() {
	case "$1$2" in *n/a*) echo n/a ;; *) awk "BEGIN { print $1 - $2 }" ;; esac
}

ROWS=()
FAILED=0
for mib in $SIZES; do
	: > "$B/p-$mib"
	: > "$B/c-$mib"
	for ((rep = 1; rep <= REPS; rep++)); do
		if p=$(plain "$mib") && c=$(container "$mib"); then
			echo "  $mib MiB run $rep: plain dump/restore $p ms, container $c ms"
			echo "$p" >> "$B/p-$mib"
			echo "$c" >> "$B/c-$mib"
		else
			FAILED=$((FAILED + 1))
		fi
	done
	pd=$(cut -d' ' -f1 "$B/p-$mib" | median); pr=$(cut -d' ' -f2 "$B/p-$mib" | median)
	cd_=$(cut -d' ' -f1 "$B/c-$mib" | median); cr=$(cut -d' ' -f2 "$B/c-$mib" | median)
	ROWS+=("| $mib | $pd | $cd_ | $(diff_ms "$cd_" "$pd") | $pr | $cr | $(diff_ms "$cr" "$pr") |")
done
{
	echo "# container overhead (bench/container.sh)"
	echo
	echo "$(date -u '+%Y-%m-%d %H:%M UTC'), kernel $(uname -r), $(nproc) CPUs, $REPS runs per size, medians in ms."
	echo
	echo "| MiB | plain dump | container dump | dump overhead | plain restore | container restore | restore overhead |"
	echo "|---|---|---|---|---|---|---|"
	for r in "${ROWS[@]}"; do echo "$r"; done
	[ $FAILED -ne 0 ] && { echo; echo "$FAILED run(s) failed."; }
} > "$OUT/container.md"
cat "$OUT/container.md"
[ $FAILED -eq 0 ]
