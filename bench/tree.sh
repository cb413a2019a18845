#!/bin/bash
# tree.sh - dump and restore cost per process (run by `make bench`): a tree
# of 10 and of 100 processes, each with 64 KiB of its own memory, medians
# of 3 runs; and the memory a restored tree takes against the original's
# when its children share their parent's pages copy-on-write.
. "$(dirname "$0")/env.sh"
gcc -O2 -Wall -o "$OUT/tree" bench/bench-tree.c || exit 1

# start_tree ARGS...: sets pid, waits for READY
start_tree() {
	( exec "$OUT/tree" "$@" > "$OUT/tree.out" 2>&1 < /dev/null ) &
	pid=$!
	for _ in $(seq 200); do grep -q READY "$OUT/tree.out" && return 0; sleep 0.05; done
	echo "tree $* did not get ready" >&2
	return 1
}

# the pids of a tree: the root and every descendant
tree_pids() {
	local p=$1 c
	echo "$p"
	for c in $(cat /proc/"$p"/task/*/children 2>/dev/null); do tree_pids "$c"; done
}

# sum of a smaps_rollup field (kB) over a tree
tree_mem() {
	local field=$2 p sum=0 v
	for p in $(tree_pids "$1"); do
		v=$(awk -v f="$field:" '$1 == f { print $2 }' /proc/"$p"/smaps_rollup 2>/dev/null)
		sum=$(( sum + ${v:-0} ))
	done
	echo "$sum"
}

{
echo
echo "# Process trees ($(date -u '+%Y-%m-%d %H:%M') UTC)"
echo
echo "| processes | dump ms | restore ms | dump ms per process | restore ms per process |"
echo "|---|---|---|---|---|"
for n in 10 100; do
	: > "$OUT/tree-d"; : > "$OUT/tree-r"
	for rep in 1 2 3; do
		img=$IMGDIR/tree-$n; rm -rf "$img"
		start_tree "$n" 64 || exit 1
		t0=$(date +%s%N)
		"$CRIU" dump -t "$pid" -D "$img" -o "$OUT/tree-dump.log" -v3 || { echo "dump failed" >&2; exit 1; }
		t1=$(date +%s%N)
		wait "$pid" 2>/dev/null
		"$CRIU" restore -D "$img" -d -o "$OUT/tree-restore.log" -v3 || { echo "restore failed" >&2; exit 1; }
		t2=$(date +%s%N)
		kill -USR1 "$pid"
		for _ in $(seq 100); do [ "$(cut -d' ' -f3 /proc/$pid/stat 2>/dev/null)" = S ] || break; sleep 0.02; done
		ms "$t0" "$t1" >> "$OUT/tree-d"; ms "$t1" "$t2" >> "$OUT/tree-r"
		rm -rf "$img"
	done
	d=$(median < "$OUT/tree-d"); r=$(median < "$OUT/tree-r")
	echo "| $n | $d | $r | $(awk -v a="$d" -v n="$n" 'BEGIN { printf "%.2f", a / n }') | $(awk -v a="$r" -v n="$n" 'BEGIN { printf "%.2f", a / n }') |"
done

echo
echo "Memory of a tree whose 4 children only read the root's 64 MiB (copy-on-write):"
echo
echo "| | Rss sum MiB | Pss sum MiB (physical) |"
echo "|---|---|---|"
img=$IMGDIR/tree-cow; rm -rf "$img"
start_tree cow 5 64 || exit 1
echo "| original | $(( $(tree_mem "$pid" Rss) / 1024 )) | $(( $(tree_mem "$pid" Pss) / 1024 )) |"
"$CRIU" dump -t "$pid" -D "$img" -o "$OUT/tree-dump.log" -v3 || { echo "dump failed" >&2; exit 1; }
wait "$pid" 2>/dev/null
"$CRIU" restore -D "$img" -d -o "$OUT/tree-restore.log" -v3 || { echo "restore failed" >&2; exit 1; }
echo "| restored | $(( $(tree_mem "$pid" Rss) / 1024 )) | $(( $(tree_mem "$pid" Pss) / 1024 )) |"
kill -USR1 "$pid"
rm -rf "$img"
} 2>/dev/null | tee -a "$OUT/results.md"
