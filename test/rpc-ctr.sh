# test/rpc-ctr.sh - real containers for the rpc section (test/rpc.sh lists
# the checks): runc 1.1.5 and podman 4.3.1 from Debian driving this criu
# through test/tools/criu-relay (a `criu` first in PATH, or `runc --criu`,
# that records every RPC packet in DIR/relay/rpc.log and passes it on).
# The container runs test/rpc/ctr-counter (static) in a busybox-static
# rootfs: it counts and checks its memory, printing "count N pid P pages K
# ok" to its stdout, a pipe to the test.  Everything a check makes (runc
# containers, podman containers and images) is removed by rpc_ctr_cleanup,
# also when the check fails or is killed (the EXIT trap of run_rpc_check).
#
# Helpers: ctr_rootfs DIR (busybox + its applets + ctr-counter), ctr_relay
# DIR (DIR/bin/criu: the relay to this criu, logging into DIR/relay),
# ctr_fields LOG (the criu_opts fields the client sent), ctr_counts FILE
# (the last count line), ctr_counting FILE N (a count above N appears).

CTR_RUNC_ROOT= CTR_RUNC_IDS=() CTR_PODMAN_IDS=() CTR_PODMAN_IMAGE= CTR_LP_PID= CTR_NFT_TABLE= CTR_CLIENT= CTR_MOUNT=

# a busybox-static rootfs with ctr-counter as /bin/ctr-counter
ctr_rootfs() {
	local r=$1 a
	mkdir -p "$r/bin" "$r/proc" "$r/sys" "$r/dev" "$r/etc" "$r/tmp" || return 1
	cp /bin/busybox "$r/bin/busybox" && cp "$ROOT/test/rpc/ctr-counter" "$r/bin/ctr-counter" || return 1
	cp "$ROOT/test/rpc/ctr-tcp-echo" "$r/bin/ctr-tcp-echo" || return 1
	for a in $("$r/bin/busybox" --list); do
		[ -e "$r/bin/$a" ] || ln -s busybox "$r/bin/$a"
	done
}

# DIR/bin/criu: the relay to this criu (podman runs runc with an
# environment of its own: the wrapper carries the relay's settings)
ctr_relay() {
	local d=$1
	mkdir -p "$d/bin" "$d/relay"
	printf '#!/bin/sh\nCRIU_RELAY_TARGET=%s CRIU_RELAY_LOG=%s exec %s "$@"\n' \
		"$CRIU" "$d/relay" "$ROOT/test/tools/criu-relay" > "$d/bin/criu"
	chmod +x "$d/bin/criu"
}

# the top-level criu_opts fields of the requests in a relay log, one a line
ctr_fields() {
	sed -n 's/^  opts\.\([a-z_]*\)[.=].*/\1/p' "$1" | sort -u
}

# fields of the requests in LOG that the options table of rpc-opts.c does
# not know (a client sends something this criu has never heard of)
ctr_unknown_fields() {
	local f
	for f in $(ctr_fields "$1"); do
		grep -q "{ \"$f\"," "$ROOT/criu/rpc/rpc-opts.c" || echo "$f"
	done
}

# the number of the last "count" line of FILE (0 if none)
ctr_last_count() {
	local n
	n=$(sed -n 's/^count \([0-9]*\) .*/\1/p' "$1" | tail -1)
	echo "${n:-0}"
}

# FILE shows a count above N within 10 s, no FAIL line, every pid 1
ctr_counting() {
	local f=$1 n=$2
	wait_for 10 bash -c "[ \$(sed -n 's/^count \([0-9]*\) .*/\1/p' '$f' | tail -1) -gt $n ] 2>/dev/null" || {
		CMP_REASON="no count above $n (last $(ctr_last_count "$f"))"
		return 1
	}
	if grep -q '^FAIL' "$f"; then
		CMP_REASON="the program says: $(grep -m1 '^FAIL' "$f")"
		return 1
	fi
	if grep '^count ' "$f" | grep -vq ' pid 1 '; then
		CMP_REASON="its pid is not 1: $(grep '^count ' "$f" | grep -v ' pid 1 ' | head -1)"
		return 1
	fi
	return 0
}

# ---------------------------------------------------------------- runc

# a bundle (runc spec) running ctr-counter MiB, terminal false
ctr_runc_bundle() {
	local b=$1 mib=$2
	ctr_rootfs "$b/rootfs" || return 1
	(cd "$b" && runc spec) || return 1
	python3 - "$b/config.json" "$mib" <<-'EOF'
	import json, sys
	c = json.load(open(sys.argv[1]))
	c["process"]["terminal"] = False
	c["process"]["args"] = ["/bin/ctr-counter", sys.argv[2]]
	json.dump(c, open(sys.argv[1], "w"), indent=1)
	EOF
}

# ctr_runc_run DIR ID: runc run -d, its stdout and stderr anonymous pipes
# into DIR/ctr.out and DIR/ctr.err (a host file is not reachable from the
# container's mount namespace: a checkpoint refuses it)
ctr_runc_run() {
	local dir=$1 id=$2
	CTR_RUNC_ROOT=$dir/runc
	CTR_RUNC_IDS+=("$id")
	runc --root "$CTR_RUNC_ROOT" run -d --bundle "$dir/bundle" "$id" \
		> >(cat >> "$dir/ctr.out") 2> >(tee -a "$dir/run.err" >> "$dir/ctr.err") < /dev/null || return 1
	wait_for 10 grep -q '^count ' "$dir/ctr.out"
}

# ctr_runc_ckpt DIR ID ARGS...: runc checkpoint through the relay into DIR/img
ctr_runc_ckpt() {
	local dir=$1 id=$2
	shift 2
	mkdir -p "$dir/img" "$dir/work"
	runc --root "$CTR_RUNC_ROOT" --criu "$dir/bin/criu" checkpoint --image-path "$dir/img" \
		--work-path "$dir/work" "$@" "$id" > "$dir/ckpt.out" 2>&1
}

# ctr_runc_restore DIR ID: runc restore -d from DIR/img, stdio pipes again
ctr_runc_restore() {
	local dir=$1 id=$2
	runc --root "$CTR_RUNC_ROOT" --criu "$dir/bin/criu" restore -d --image-path "$dir/img" \
		--work-path "$dir/work" --bundle "$dir/bundle" "$id" \
		> >(cat >> "$dir/ctr.out") 2> >(tee -a "$dir/restore.err" >> "$dir/ctr.err") < /dev/null
}

# the program after a restore: running, counting on past N (not started
# again: one READY), pid 1, its memory checked
ctr_runc_goes_on() {
	local dir=$1 id=$2 n=$3
	if [ "$(ctr_runc_state "$id")" != running ]; then
		CMP_REASON="the container is '$(ctr_runc_state "$id")' after the restore"
		return 1
	fi
	ctr_counting "$dir/ctr.out" "$n" || return 1
	if [ "$(grep -c '^READY' "$dir/ctr.out")" != 1 ]; then
		CMP_REASON="the program started again ($(grep -c '^READY' "$dir/ctr.out") READY lines)"
		return 1
	fi
}

ctr_runc_state() {
	runc --root "$CTR_RUNC_ROOT" state "$1" 2>/dev/null | sed -n 's/.*"status": "\([a-z]*\)".*/\1/p'
}

# ---------------------------------------------------------------- podman

PODMAN=(podman --runtime runc)
PODMAN_RUN=(--ulimit nofile=1024:1024 --ulimit nproc=1024:1024)

# an image of the busybox rootfs (podman import; no registry here)
ctr_podman_image() {
	local dir=$1
	CTR_PODMAN_IMAGE=criu-rpc-test-$$
	ctr_rootfs "$dir/rootfs" && tar -C "$dir/rootfs" -cf "$dir/rootfs.tar" . &&
		"${PODMAN[@]}" import "$dir/rootfs.tar" "$CTR_PODMAN_IMAGE" > "$dir/import.out" 2>&1
}

# ctr_podman_run DIR NAME MIB: a detached container running ctr-counter
ctr_podman_run() {
	local dir=$1 name=$2 mib=$3
	CTR_PODMAN_IDS+=("$name")
	"${PODMAN[@]}" run -d --name "$name" "${PODMAN_RUN[@]}" "$CTR_PODMAN_IMAGE" /bin/ctr-counter "$mib" \
		> "$dir/run.out" 2>&1 || return 1
	wait_for 10 bash -c "podman logs '$name' 2>/dev/null | grep -q '^count '"
}

ctr_podman_logs() { podman logs "$1" > "$2" 2>/dev/null; }

# ---------------------------------------------------------------- cleanup

rpc_ctr_cleanup() {
	local id root
	for id in "${CTR_RUNC_IDS[@]}"; do
		root=$CTR_RUNC_ROOT
		case $id in *@*) root=${id#*@} id=${id%@*} ;; esac
		runc --root "$root" kill "$id" KILL > /dev/null 2>&1
		for _ in 1 2 3 4 5 6 7 8 9 10; do
			runc --root "$root" delete -f "$id" > /dev/null 2>&1 && break
			sleep 0.2
		done
		# runc deletes the cgroups it knows; after a restore the memory
		# controller's stays behind (empty): noted as a finding, removed here
		rmdir /sys/fs/cgroup/*/"$id" 2>/dev/null
	done
	CTR_RUNC_IDS=()
	[ -n "$CTR_LP_PID" ] && kill "$CTR_LP_PID" 2>/dev/null
	CTR_LP_PID=
	for id in "${CTR_PODMAN_IDS[@]}"; do
		podman rm -f -t 0 "$id" > /dev/null 2>&1
	done
	CTR_PODMAN_IDS=()
	[ -n "$CTR_CLIENT" ] && kill "$CTR_CLIENT" 2>/dev/null
	CTR_CLIENT=
	[ -n "$CTR_MOUNT" ] && umount "$CTR_MOUNT" 2>/dev/null
	CTR_MOUNT=
	# a network lock a failed check left in criu's namespace (rpc/podman_tcp)
	if [ -n "$CTR_NFT_TABLE" ]; then
		nft delete table inet "$CTR_NFT_TABLE" 2>/dev/null
		CTR_NFT_TABLE=
	fi
	if [ -n "$CTR_PODMAN_IMAGE" ]; then
		podman rmi -f "$CTR_PODMAN_IMAGE" > /dev/null 2>&1
		CTR_PODMAN_IMAGE=
	fi
	return 0
}

# ---------------------------------------------------------------- checks

# the container is started and checked against what runc sends; sets ID
ctr_runc_start() {
	local dir=$1
	ID=criu-rpc-$$
	command -v runc > /dev/null || { result SKIP "SKIP $RPC_NAME: runc is not installed"; return 1; }
	ctr_runc_bundle "$dir/bundle" 8 || { result FAIL "FAIL $RPC_NAME: cannot make the bundle"; return 1; }
	ctr_relay "$dir"
	ctr_runc_run "$dir" "$ID" ||
		{ result FAIL "FAIL $RPC_NAME: runc run: $(log_tail "$dir/run.err") $(log_tail "$dir/ctr.out")"; return 1; }
}

# what runc sent (the relay's log): VERSION first, every field known
ctr_runc_sent_ok() {
	local dir=$1 unknown
	if ! sed -n '/client->criu/{n;p;q}' "$dir/relay/rpc.log" | grep -q 'type=VERSION'; then
		result FAIL "FAIL $RPC_NAME: the relay did not record runc's VERSION request first"
		return 1
	fi
	unknown=$(ctr_unknown_fields "$dir/relay/rpc.log" | tr '\n' ' ')
	if [ -n "$unknown" ]; then
		result FAIL "FAIL $RPC_NAME: runc sends fields the options table does not know: $unknown"
		return 1
	fi
}

# runc checkpoint, then restore: the program goes on where it was
rpc_runc() {
	local dir=$1 n
	ctr_runc_start "$dir" || return
	ctr_runc_ckpt "$dir" "$ID" ||
		{ result FAIL "FAIL $RPC_NAME: runc checkpoint: $(log_tail "$dir/ckpt.out") $(criu_error "$dir/work/dump.log")"; return; }
	ctr_runc_sent_ok "$dir" || return
	n=$(ctr_last_count "$dir/ctr.out")
	[ "$(ctr_runc_state "$ID")" != running ] ||
		{ result FAIL "FAIL $RPC_NAME: the container still runs after the checkpoint"; return; }
	ctr_runc_restore "$dir" "$ID" ||
		{ result FAIL "FAIL $RPC_NAME: runc restore: $(log_tail "$dir/restore.err") $(criu_error "$dir/work/restore.log")"; return; }
	ctr_runc_goes_on "$dir" "$ID" "$n" || { result FAIL "FAIL $RPC_NAME: $CMP_REASON"; return; }
	result PASS "PASS $RPC_NAME"
}

# runc checkpoint --leave-running: it counts on; killed, restored from there
rpc_runc_leave() {
	local dir=$1 n
	ctr_runc_start "$dir" || return
	ctr_runc_ckpt "$dir" "$ID" --leave-running ||
		{ result FAIL "FAIL $RPC_NAME: runc checkpoint --leave-running: $(log_tail "$dir/ckpt.out") $(criu_error "$dir/work/dump.log")"; return; }
	n=$(ctr_last_count "$dir/ctr.out")
	if [ "$(ctr_runc_state "$ID")" != running ] || ! ctr_counting "$dir/ctr.out" "$n"; then
		result FAIL "FAIL $RPC_NAME: after --leave-running the container is '$(ctr_runc_state "$ID")': ${CMP_REASON:-}"
		return
	fi
	runc --root "$CTR_RUNC_ROOT" kill "$ID" KILL > /dev/null 2>&1
	wait_for 5 bash -c "[ \"\$(runc --root '$CTR_RUNC_ROOT' state '$ID' 2>/dev/null | grep -o '\"status\": \"[a-z]*\"')\" = '\"status\": \"stopped\"' ]"
	runc --root "$CTR_RUNC_ROOT" delete -f "$ID" > /dev/null 2>&1
	n=$(ctr_last_count "$dir/ctr.out")
	ctr_runc_restore "$dir" "$ID" ||
		{ result FAIL "FAIL $RPC_NAME: runc restore: $(log_tail "$dir/restore.err") $(criu_error "$dir/work/restore.log")"; return; }
	ctr_runc_goes_on "$dir" "$ID" "$n" || { result FAIL "FAIL $RPC_NAME: $CMP_REASON"; return; }
	result PASS "PASS $RPC_NAME"
}

# runc checkpoint --pre-dump, then checkpoint --parent-path: the dump copies
# fewer pages than the pre-dump; restored, it goes on
rpc_runc_predump() {
	local dir=$1 n p1 p2
	ctr_runc_start "$dir" || return
	mkdir -p "$dir/pre"
	if ! runc --root "$CTR_RUNC_ROOT" --criu "$dir/bin/criu" checkpoint --pre-dump --image-path "$dir/pre" \
		--work-path "$dir/prework" "$ID" > "$dir/pre.out" 2>&1; then
		result FAIL "FAIL $RPC_NAME: runc checkpoint --pre-dump: $(log_tail "$dir/pre.out") $(criu_error "$dir/prework/dump.log")"
		return
	fi
	sleep 0.5
	ctr_runc_ckpt "$dir" "$ID" --parent-path ../pre ||
		{ result FAIL "FAIL $RPC_NAME: runc checkpoint --parent-path: $(log_tail "$dir/ckpt.out") $(criu_error "$dir/work/dump.log")"; return; }
	p1=$(rpc_pages "$dir/prework/dump.log")
	p2=$(rpc_pages "$dir/work/dump.log")
	if [ -z "$p1" ] || [ -z "$p2" ] || [ "$p2" -ge "$p1" ]; then
		result FAIL "FAIL $RPC_NAME: the pre-dump copied ${p1:-?} pages, the dump ${p2:-?}"
		return
	fi
	n=$(ctr_last_count "$dir/ctr.out")
	ctr_runc_restore "$dir" "$ID" ||
		{ result FAIL "FAIL $RPC_NAME: runc restore: $(log_tail "$dir/restore.err") $(criu_error "$dir/work/restore.log")"; return; }
	ctr_runc_goes_on "$dir" "$ID" "$n" || { result FAIL "FAIL $RPC_NAME: $CMP_REASON"; return; }
	result PASS "PASS $RPC_NAME"
}

# runc lazy migration, as CRIU documents it: runc checkpoint --lazy-pages
# --page-server A:P --status-fd (the byte comes once the memory is served);
# on the "destination" (another runc root, another container id) a copy of
# the images without pages, `criu lazy-pages --page-server` and runc
# restore --lazy-pages; the checkpoint ends once every page went over; the
# program goes on where it was
rpc_runc_lazy() {
	local dir=$1 n port ck st
	ctr_runc_start "$dir" || return
	port=$(rpc_port)
	mkdir -p "$dir/img" "$dir/work" "$dir/dst" "$dir/work2"
	rm -f "$dir/status.fifo"; mkfifo "$dir/status.fifo"
	runc --root "$CTR_RUNC_ROOT" --criu "$dir/bin/criu" checkpoint --lazy-pages --page-server "127.0.0.1:$port" \
		--status-fd 3 --image-path "$dir/img" --work-path "$dir/work" "$ID" \
		3> "$dir/status.fifo" > "$dir/ckpt.out" 2>&1 &
	ck=$!
	track "$ck"
	if [ "$(timeout 20 head -c1 "$dir/status.fifo" | wc -c)" != 1 ]; then
		result FAIL "FAIL $RPC_NAME: no status byte from runc checkpoint --lazy-pages: $(log_tail "$dir/ckpt.out") $(criu_error "$dir/work/dump.log")"
		return
	fi
	n=$(ctr_last_count "$dir/ctr.out")
	# every file but the pages (runc's descriptors.json too), and the token
	local f
	for f in "$dir"/img/*; do
		case ${f##*/} in pages-*) ;; *) cp -p "$f" "$dir/dst/" ;; esac
	done
	"$CRIU" lazy-pages --page-server --address 127.0.0.1 --port "$port" -D "$dir/dst" -v4 \
		-o "$dir/work2/lazy-pages.log" > /dev/null 2>&1 < /dev/null &
	CTR_LP_PID=$!
	track "$CTR_LP_PID"
	wait_for 10 test -S "$dir/dst/lazy-pages.sock" ||
		{ result FAIL "FAIL $RPC_NAME: no lazy-pages daemon: $(criu_error "$dir/work2/lazy-pages.log")"; return; }
	CTR_RUNC_IDS+=("$ID-dst@$dir/runc2")
	if ! runc --root "$dir/runc2" --criu "$dir/bin/criu" restore -d --lazy-pages --image-path "$dir/dst" \
		--work-path "$dir/work2" --bundle "$dir/bundle" "$ID-dst" \
		> >(cat >> "$dir/ctr.out") 2> >(tee -a "$dir/restore.err" >> "$dir/ctr.err") < /dev/null; then
		result FAIL "FAIL $RPC_NAME: runc restore --lazy-pages: $(log_tail "$dir/restore.err") $(criu_error "$dir/work2/restore.log")"
		return
	fi
	wait "$ck"
	st=$?
	[ $st -eq 0 ] || { result FAIL "FAIL $RPC_NAME: runc checkpoint --lazy-pages exited with $st: $(criu_error "$dir/work/dump.log")"; return; }
	if [ "$(runc --root "$dir/runc2" state "$ID-dst" 2>/dev/null | sed -n 's/.*"status": "\([a-z]*\)".*/\1/p')" != running ]; then
		result FAIL "FAIL $RPC_NAME: the restored container is not running"
		return
	fi
	ctr_counting "$dir/ctr.out" "$n" || { result FAIL "FAIL $RPC_NAME: $CMP_REASON"; return; }
	[ "$(grep -c '^READY' "$dir/ctr.out")" = 1 ] || { result FAIL "FAIL $RPC_NAME: the program started again"; return; }
	grep -q "takes its pages from 127.0.0.1:$port" "$dir/work2/restore.log" ||
		{ result FAIL "FAIL $RPC_NAME: the restore did not take the daemon's page server"; return; }
	result PASS "PASS $RPC_NAME"
}

# podman container checkpoint (podman's own VERSION check, then runc's)
# through the relay first in PATH, then podman container restore: the
# program goes on where it was
rpc_podman() {
	local dir=$1 cgns=${2:-} name=criu-rpc-$$ n unknown run=("${PODMAN_RUN[@]}")
	command -v podman > /dev/null || { result SKIP "SKIP $RPC_NAME: podman is not installed"; return; }
	ctr_relay "$dir"
	ctr_podman_image "$dir" || { result FAIL "FAIL $RPC_NAME: podman import: $(log_tail "$dir/import.out")"; return; }
	[ -n "$cgns" ] && PODMAN_RUN+=(--cgroupns=private)
	ctr_podman_run "$dir" "$name" 8
	local ran=$?
	PODMAN_RUN=("${run[@]}")
	[ $ran -eq 0 ] || { result FAIL "FAIL $RPC_NAME: podman run: $(log_tail "$dir/run.out")"; return; }
	if [ -n "$cgns" ]; then
		podman exec "$name" cat /proc/1/cgroup > "$dir/cgroup.before" 2>&1
		if [ "$(readlink "/proc/$(podman inspect -f '{{.State.Pid}}' "$name")/ns/cgroup")" = "$(readlink /proc/self/ns/cgroup)" ] ||
		   grep -qv ':/$' "$dir/cgroup.before"; then
			result FAIL "FAIL $RPC_NAME: the container has no cgroup namespace of its own: $(head -3 "$dir/cgroup.before" | tr '\n' ' ')"
			return
		fi
	fi
	PATH=$dir/bin:$PATH "${PODMAN[@]}" container checkpoint "$name" > "$dir/ckpt.out" 2>&1
	local st=$?
	if [ -n "$cgns" ] && [ $st -ne 0 ]; then
		result FAIL "FAIL $RPC_NAME: podman checkpoint: $(grep -m1 cr_errmsg "$dir/relay/rpc.log") $(log_tail "$dir/ckpt.out")"
		return
	fi
	ctr_podman_logs "$name" "$dir/ctr.out"
	n=$(ctr_last_count "$dir/ctr.out")
	if [ "$(grep -c 'client->criu criu_req.*' "$dir/relay/rpc.log")" -lt 3 ] ||
	   ! sed -n '/client->criu/{n;p;q}' "$dir/relay/rpc.log" | grep -q 'type=VERSION'; then
		result FAIL "FAIL $RPC_NAME: the relay did not record podman's and runc's requests, VERSION first"
		return
	fi
	unknown=$(ctr_unknown_fields "$dir/relay/rpc.log" | tr '\n' ' ')
	if [ -n "$unknown" ]; then
		result FAIL "FAIL $RPC_NAME: podman sends fields the options table does not know: $unknown"
		return
	fi
	if [ $st -ne 0 ]; then
		result FAIL "FAIL $RPC_NAME: podman checkpoint: $(grep -m1 cr_errmsg "$dir/relay/rpc.log") $(log_tail "$dir/ckpt.out")"
		return
	fi
	if ! PATH=$dir/bin:$PATH "${PODMAN[@]}" container restore "$name" > "$dir/restore.out" 2>&1; then
		result FAIL "FAIL $RPC_NAME: podman container restore: $(log_tail "$dir/restore.out") $(grep -m1 cr_errmsg "$dir/relay/rpc.log")"
		return
	fi
	if [ "$(podman inspect -f '{{.State.Status}}' "$name" 2>/dev/null)" != running ]; then
		result FAIL "FAIL $RPC_NAME: the container is '$(podman inspect -f '{{.State.Status}}' "$name" 2>&1)'"
		return
	fi
	sleep 2.5
	ctr_podman_logs "$name" "$dir/ctr.out"
	if ! ctr_counting "$dir/ctr.out" "$n"; then
		result FAIL "FAIL $RPC_NAME: $CMP_REASON"
		return
	fi
	if [ "$(grep -c '^READY' "$dir/ctr.out")" != 1 ]; then
		result FAIL "FAIL $RPC_NAME: the program started again"
		return
	fi
	if [ -n "$cgns" ]; then
		podman exec "$name" cat /proc/1/cgroup > "$dir/cgroup.after" 2>&1
		if ! diff -u "$dir/cgroup.before" "$dir/cgroup.after" > "$dir/cgroup.diff"; then
			result FAIL "FAIL $RPC_NAME: the container's cgroups seen from inside differ: $(grep '^[-+][0-9]' "$dir/cgroup.diff" | head -2 | tr '\n' ' ')"
			return
		fi
	fi
	result PASS "PASS $RPC_NAME"
}

# the same with podman run --cgroupns=private: checkpointed and restored,
# the container's init sees the same cgroups (/proc/1/cgroup, each at its
# namespace's root)
rpc_podman_cgns() {
	rpc_podman "$1" cgns
}

# ---------------------------------------------------------------- podman, more modes

# a field of the criu_statistics podman --print-stats printed into FILE (the
# first container's), "" if none
ctr_podman_stat() {
	python3 - "$1" "$2" <<-'EOF2' 2>/dev/null
	import json, sys
	t = open(sys.argv[1]).read()
	d = json.loads(t[t.index("{"):t.rindex("}") + 1])
	print(d["container_statistics"][0]["criu_statistics"].get(sys.argv[2], 0))
	EOF2
}

# podman's output of a checkpoint or restore: no error line (podman logs
# one for each file it expected and did not find, e.g. stats-dump), the
# criu statistics printed (--print-stats: stats-dump / stats-restore read)
ctr_podman_clean_output() {
	local f=$1 what=$2 field=$3
	if grep -q 'level=error' "$f"; then
		result FAIL "FAIL $RPC_NAME: podman $what: $(grep -m1 'level=error' "$f" | cut -c1-300)"
		return 1
	fi
	if [ -z "$(ctr_podman_stat "$f" "$field")" ]; then
		result FAIL "FAIL $RPC_NAME: podman $what --print-stats shows no criu $field: $(log_tail "$f")"
		return 1
	fi
}

# the podman container NAME after a restore: running, counting on past N
# (the logs of the checkpointed container carried over), one READY, pid 1
ctr_podman_goes_on() {
	local dir=$1 name=$2 n=$3
	if [ "$(podman inspect -f '{{.State.Status}}' "$name" 2>/dev/null)" != running ]; then
		result FAIL "FAIL $RPC_NAME: the container is '$(podman inspect -f '{{.State.Status}}' "$name" 2>&1)'"
		return 1
	fi
	wait_for 10 bash -c "podman logs '$name' 2>/dev/null | sed -n 's/^count \([0-9]*\) .*/\1/p' | tail -1 | { read c; [ \"\${c:-0}\" -gt $((n + 20)) ]; }"
	ctr_podman_logs "$name" "$dir/ctr.out"
	ctr_counting "$dir/ctr.out" "$n" || { result FAIL "FAIL $RPC_NAME: $CMP_REASON"; return 1; }
	if [ "$(grep -c '^READY' "$dir/ctr.out")" != 1 ]; then
		result FAIL "FAIL $RPC_NAME: the program started again ($(grep -c '^READY' "$dir/ctr.out") READY lines)"
		return 1
	fi
}

# image, relay and a running container NAME holding MIB
ctr_podman_start() {
	local dir=$1 name=$2 mib=$3
	command -v podman > /dev/null || { result SKIP "SKIP $RPC_NAME: podman is not installed"; return 1; }
	ctr_relay "$dir"
	ctr_podman_image "$dir" || { result FAIL "FAIL $RPC_NAME: podman import: $(log_tail "$dir/import.out")"; return 1; }
	ctr_podman_run "$dir" "$name" "$mib" || { result FAIL "FAIL $RPC_NAME: podman run: $(log_tail "$dir/run.out")"; return 1; }
}

# podman through the relay: ctr_podman DIR ARGS...
ctr_podman() { PATH=$1/bin:$PATH "${PODMAN[@]}" "${@:2}"; }

# podman container checkpoint --export FILE, podman rm, podman container
# restore --import FILE: the program goes on where it was; stats-dump is in
# the archive and podman prints the statistics both ways
rpc_podman_export() {
	local dir=$1 name=criu-rpc-$$ n
	ctr_podman_start "$dir" "$name" 8 || return
	ctr_podman "$dir" container checkpoint --print-stats --export="$dir/ck.tar.gz" "$name" > "$dir/ckpt.out" 2>&1 ||
		{ result FAIL "FAIL $RPC_NAME: podman checkpoint --export: $(log_tail "$dir/ckpt.out") $(grep -m1 cr_errmsg "$dir/relay/rpc.log")"; return; }
	ctr_podman_clean_output "$dir/ckpt.out" "checkpoint --export" pages_written || return
	if ! tar -tf "$dir/ck.tar.gz" 2>/dev/null | grep -qx stats-dump; then
		result FAIL "FAIL $RPC_NAME: no stats-dump in the exported archive"
		return
	fi
	ctr_podman_logs "$name" "$dir/ctr.out"
	n=$(ctr_last_count "$dir/ctr.out")
	podman rm -f "$name" > /dev/null 2>&1
	if podman container exists "$name"; then
		result FAIL "FAIL $RPC_NAME: podman rm left the container"
		return
	fi
	ctr_podman "$dir" container restore --print-stats --import="$dir/ck.tar.gz" > "$dir/restore.out" 2>&1 ||
		{ result FAIL "FAIL $RPC_NAME: podman restore --import: $(log_tail "$dir/restore.out") $(grep -m1 cr_errmsg "$dir/relay/rpc.log")"; return; }
	ctr_podman_clean_output "$dir/restore.out" "restore --import" restore_time || return
	ctr_podman_goes_on "$dir" "$name" "$n" || return
	result PASS "PASS $RPC_NAME"
}

# podman checkpoint --pre-checkpoint, then --with-previous (the pre-dump
# and the dump through the RPC: PRE_DUMP, then DUMP with track_mem and
# parent_img), then restore in place: the dump writes a fraction of the
# pages of the pre-dump (64 MiB held); the program goes on
rpc_podman_precheckpoint() {
	local dir=$1 name=criu-rpc-$$ n p1 p2
	ctr_podman_start "$dir" "$name" 64 || return
	ctr_podman "$dir" container checkpoint --print-stats --pre-checkpoint "$name" > "$dir/pre.out" 2>&1 ||
		{ result FAIL "FAIL $RPC_NAME: podman checkpoint --pre-checkpoint: $(log_tail "$dir/pre.out") $(grep -m1 cr_errmsg "$dir/relay/rpc.log")"; return; }
	ctr_podman_clean_output "$dir/pre.out" "checkpoint --pre-checkpoint" pages_written || return
	if [ "$(podman inspect -f '{{.State.Status}}' "$name" 2>/dev/null)" != running ]; then
		result FAIL "FAIL $RPC_NAME: the container stopped after the pre-checkpoint"
		return
	fi
	sleep 0.5
	ctr_podman "$dir" container checkpoint --print-stats --with-previous "$name" > "$dir/ckpt.out" 2>&1 ||
		{ result FAIL "FAIL $RPC_NAME: podman checkpoint --with-previous: $(log_tail "$dir/ckpt.out") $(grep -m1 cr_errmsg "$dir/relay/rpc.log")"; return; }
	ctr_podman_clean_output "$dir/ckpt.out" "checkpoint --with-previous" pages_written || return
	if ! grep -q 'type=PRE_DUMP' "$dir/relay/rpc.log" ||
	   ! sed -n '/type=DUMP/,$p' "$dir/relay/rpc.log" | grep -q "opts.parent_img='../pre-checkpoint'" ||
	   ! sed -n '/type=DUMP/,$p' "$dir/relay/rpc.log" | grep -q 'opts.track_mem=true'; then
		result FAIL "FAIL $RPC_NAME: the relay did not see PRE_DUMP, then DUMP with parent_img and track_mem"
		return
	fi
	p1=$(ctr_podman_stat "$dir/pre.out" pages_written)
	p2=$(ctr_podman_stat "$dir/ckpt.out" pages_written)
	if [ "$p1" -lt 16384 ] || [ "$p2" -ge $((p1 / 4)) ]; then
		result FAIL "FAIL $RPC_NAME: the pre-checkpoint wrote $p1 pages, the checkpoint on it $p2"
		return
	fi
	ctr_podman_logs "$name" "$dir/ctr.out"
	n=$(ctr_last_count "$dir/ctr.out")
	ctr_podman "$dir" container restore --print-stats "$name" > "$dir/restore.out" 2>&1 ||
		{ result FAIL "FAIL $RPC_NAME: podman restore: $(log_tail "$dir/restore.out") $(grep -m1 cr_errmsg "$dir/relay/rpc.log")"; return; }
	ctr_podman_clean_output "$dir/restore.out" "restore" restore_time || return
	ctr_podman_goes_on "$dir" "$name" "$n" || return
	result PASS "PASS $RPC_NAME"
}

# the migration form: --pre-checkpoint --export PRE, --with-previous
# --export CK, podman rm, restore --import-previous PRE --import CK
rpc_podman_export_previous() {
	local dir=$1 name=criu-rpc-$$ n
	ctr_podman_start "$dir" "$name" 64 || return
	ctr_podman "$dir" container checkpoint --pre-checkpoint --export="$dir/pre.tar.gz" "$name" > "$dir/pre.out" 2>&1 ||
		{ result FAIL "FAIL $RPC_NAME: podman checkpoint --pre-checkpoint --export: $(log_tail "$dir/pre.out") $(grep -m1 cr_errmsg "$dir/relay/rpc.log")"; return; }
	sleep 0.5
	ctr_podman "$dir" container checkpoint --with-previous --export="$dir/ck.tar.gz" "$name" > "$dir/ckpt.out" 2>&1 ||
		{ result FAIL "FAIL $RPC_NAME: podman checkpoint --with-previous --export: $(log_tail "$dir/ckpt.out") $(grep -m1 cr_errmsg "$dir/relay/rpc.log")"; return; }
	if grep -q 'level=error' "$dir/pre.out" "$dir/ckpt.out"; then
		result FAIL "FAIL $RPC_NAME: podman: $(grep -hm1 'level=error' "$dir/pre.out" "$dir/ckpt.out" | cut -c1-300)"
		return
	fi
	# the final archive holds only what changed: far less than 64 MiB
	local sz
	sz=$(tar -xOf "$dir/ck.tar.gz" --wildcards 'checkpoint/pages-*' 2>/dev/null | wc -c)
	if [ "$sz" -ge $((16 << 20)) ]; then
		result FAIL "FAIL $RPC_NAME: the checkpoint on the pre-checkpoint holds $sz bytes of pages"
		return
	fi
	ctr_podman_logs "$name" "$dir/ctr.out"
	n=$(ctr_last_count "$dir/ctr.out")
	podman rm -f "$name" > /dev/null 2>&1
	ctr_podman "$dir" container restore --import-previous="$dir/pre.tar.gz" --import="$dir/ck.tar.gz" \
		> "$dir/restore.out" 2>&1 ||
		{ result FAIL "FAIL $RPC_NAME: podman restore --import-previous --import: $(log_tail "$dir/restore.out") $(grep -m1 cr_errmsg "$dir/relay/rpc.log")"; return; }
	ctr_podman_goes_on "$dir" "$name" "$n" || return
	result PASS "PASS $RPC_NAME"
}

# podman checkpoint --tcp-established of a container on podman's default
# bridge running test/progs/tcp_echo (static), with test/progs/tcp_stream
# on the host streaming to it (both check every byte); podman removes the
# container's network namespace and makes a new one (same address, up)
# before the restore: the lock criu keeps in its own namespace drops the
# host's retransmissions meanwhile (without it: a reset).  Restore
# --tcp-established: the stream goes on, no byte lost or doubled, no lock
# left
rpc_podman_tcp() {
	local dir=$1 name=criu-rpc-$$ port=$((21000 + $$ % 4000)) ip pid
	command -v podman > /dev/null || { result SKIP "SKIP $RPC_NAME: podman is not installed"; return; }
	ctr_relay "$dir"
	ctr_podman_image "$dir" || { result FAIL "FAIL $RPC_NAME: podman import: $(log_tail "$dir/import.out")"; return; }
	CTR_PODMAN_IDS+=("$name")
	"${PODMAN[@]}" run -d --name "$name" "${PODMAN_RUN[@]}" "$CTR_PODMAN_IMAGE" /bin/ctr-tcp-echo 0.0.0.0 "$port" \
		> "$dir/run.out" 2>&1 || { result FAIL "FAIL $RPC_NAME: podman run: $(log_tail "$dir/run.out")"; return; }
	wait_for 10 bash -c "podman logs '$name' 2>/dev/null | grep -q '^READY'" ||
		{ result FAIL "FAIL $RPC_NAME: the server is not ready: $(podman logs "$name" 2>&1 | tail -2)"; return; }
	ip=$(podman inspect -f '{{.NetworkSettings.IPAddress}}' "$name")
	pid=$(podman inspect -f '{{.State.Pid}}' "$name")
	[ -n "$ip" ] || { result FAIL "FAIL $RPC_NAME: the container has no address on podman's bridge"; return; }
	"$ROOT/test/progs/tcp_stream" "$ip" "$port" > "$dir/client.log" 2>&1 < /dev/null &
	CTR_CLIENT=$!
	track "$CTR_CLIENT"
	wait_for 10 grep -q STREAMING "$dir/client.log" ||
		{ result FAIL "FAIL $RPC_NAME: the client does not stream: $(log_tail "$dir/client.log")"; return; }
	CTR_NFT_TABLE=criu_lock_$pid
	ctr_podman "$dir" container checkpoint --tcp-established "$name" > "$dir/ckpt.out" 2>&1 ||
		{ result FAIL "FAIL $RPC_NAME: podman checkpoint --tcp-established: $(log_tail "$dir/ckpt.out") $(grep -m1 cr_errmsg "$dir/relay/rpc.log")"; return; }
	if ! nft list tables 2>/dev/null | grep -qx "table inet $CTR_NFT_TABLE"; then
		result FAIL "FAIL $RPC_NAME: no lock (table inet $CTR_NFT_TABLE) in criu's namespace after the checkpoint"
		return
	fi
	sleep 1	# the client retransmits into the lock meanwhile
	ctr_podman "$dir" container restore --tcp-established "$name" > "$dir/restore.out" 2>&1 ||
		{ result FAIL "FAIL $RPC_NAME: podman restore --tcp-established: $(log_tail "$dir/restore.out") $(grep -m1 cr_errmsg "$dir/relay/rpc.log")"; return; }
	if nft list tables 2>/dev/null | grep -qx "table inet $CTR_NFT_TABLE"; then
		result FAIL "FAIL $RPC_NAME: the lock is left after the restore"
		return
	fi
	[ "$(podman inspect -f '{{.NetworkSettings.IPAddress}}' "$name")" = "$ip" ] ||
		{ result FAIL "FAIL $RPC_NAME: restored with another address"; return; }
	sleep 1
	alive "$CTR_CLIENT" || { result FAIL "FAIL $RPC_NAME: the client stopped: $(log_tail "$dir/client.log")"; return; }
	kill -TERM "$CTR_CLIENT"
	wait_for 35 grep -q '^OK ' "$dir/client.log" ||
		{ result FAIL "FAIL $RPC_NAME: the client: $(log_tail "$dir/client.log")"; return; }
	podman kill -s USR1 "$name" > /dev/null 2>&1
	wait_for 10 bash -c "podman logs '$name' 2>/dev/null | grep -q '^PASS'" ||
		{ result FAIL "FAIL $RPC_NAME: the server: $(podman logs "$name" 2>&1 | tail -2)"; return; }
	if [ "$(podman logs "$name" 2>/dev/null | grep -c '^READY')" != 1 ]; then
		result FAIL "FAIL $RPC_NAME: the server started again"
		return
	fi
	CTR_NFT_TABLE=
	result PASS "PASS $RPC_NAME ($(grep '^OK ' "$dir/client.log"))"
}

# ---------------------------------------------------------------- libcriu as crun uses it

CTR_POD=

# the restored container's uts and ipc namespaces are the "pod"'s
ctr_joined() {
	local name=$1 pid=$2 k
	for k in uts ipc; do
		if [ "$(stat -Lc %i "/proc/$pid/ns/$k")" != "$(stat -Lc %i "/proc/$CTR_POD/ns/$k")" ]; then
			result FAIL "FAIL $name: the restored container is not in the $k namespace it was to join"
			return 1
		fi
	done
	if [ "$(nsenter -t "$pid" -u hostname 2>/dev/null)" != criu-pod ]; then
		result FAIL "FAIL $name: its host name is '$(nsenter -t "$pid" -u hostname 2>&1)', not the pod's"
		return 1
	fi
}

# mntns/runc (a runc container with mounts of every kind, dumped and
# restored with --root, external mounts, --empty-ns net, the cgroup
# options, --inherit-fd of its stdout pipe) with each dump and restore made
# through libcriu's setters, as crun makes them (test/rpc/libcriu-drive):
# criu_set_root, criu_add_ext_mount, criu_set_empty_ns,
# criu_set_freeze_cgroup, criu_set_manage_cgroups_mode, criu_add_inherit_fd,
# and at restore criu_join_ns_add of the uts and ipc namespaces of a
# "pod" (unshare --uts --ipc, host name criu-pod): the container comes back
# in them, its mounts and files checked by the program, which passes
# every symbol crun's src/libcrun/criu.c loads from libcriu.so.2 (dlsym)
CRUN_SYMBOLS=(criu_add_ext_mount criu_add_external criu_add_inherit_fd criu_check_version criu_dump
	criu_get_orphan_pts_master_fd criu_init_opts criu_join_ns_add criu_feature_check criu_pre_dump
	criu_restore_child criu_set_ext_unix_sk criu_set_file_locks criu_set_freeze_cgroup
	criu_set_images_dir_fd criu_set_leave_running criu_set_log_file criu_set_log_level
	criu_set_manage_cgroups criu_set_manage_cgroups_mode criu_set_network_lock criu_set_notify_cb
	criu_set_orphan_pts_master criu_set_parent_images criu_set_pid criu_set_root criu_add_cg_root
	criu_set_shell_job criu_set_tcp_established criu_set_tcp_close criu_set_track_mem
	criu_set_work_dir_fd criu_set_lsm_profile criu_set_lsm_mount_context criu_set_config_file)

rpc_libcriu_runc() {
	local dir=$1 s missing=
	for s in "${CRUN_SYMBOLS[@]}"; do
		nm -D --defined-only "$ROOT/lib/libcriu.so.2" | grep -qw "$s" || missing+=" $s"
	done
	[ -z "$missing" ] || { result FAIL "FAIL $RPC_NAME: libcriu.so.2 lacks what crun loads:$missing"; return; }
	if ! command -v runc > /dev/null || ! command -v busybox > /dev/null || [ ! -d /sys/fs/cgroup/freezer ]; then
		result SKIP "SKIP $RPC_NAME: needs runc, busybox-static and a cgroup v1 freezer"
		return
	fi
	CTR_RUNC_IDS+=("criu-mntns-$$@/run/runc")
	unshare --uts --ipc sh -c 'hostname criu-pod; exec sleep 600' < /dev/null > /dev/null 2>&1 &
	CTR_POD=$!
	track "$CTR_POD"
	wait_for 5 bash -c "[ \"\$(nsenter -t $CTR_POD -u hostname 2>/dev/null)\" = criu-pod ]" ||
		{ result FAIL "FAIL $RPC_NAME: no pod namespaces"; return; }
	printf '#!/bin/sh\nexec %s %s "$@"\n' "$ROOT/test/rpc/libcriu-drive" "$CRIU" > "$dir/criu-lib"
	chmod +x "$dir/criu-lib"
	local CRIU=$dir/criu-lib
	MNTNS_RESTORE_EXTRA=(--join-ns "uts:/proc/$CTR_POD/ns/uts" --join-ns "ipc:$CTR_POD")
	MNTNS_AFTER_RESTORE=ctr_joined
	mntns_runc "$RPC_NAME" "$dir"
	MNTNS_RESTORE_EXTRA=() MNTNS_AFTER_RESTORE=
	# the restored program (the container's init) goes with the check
	[ -s "$dir/kill" ] && kill -KILL $(cat "$dir/kill") 2>/dev/null
}

# ---------------------------------------------------------------- a container with a terminal

# runc's `terminal: true`: the console is a pseudo-terminal of the
# container's own devpts instance, its master sent to --console-socket
# (test/tools/console-socket.py logs it and what comes out of it; it sets
# the first one's window to 33x77).  runc checkpoint (orphan_pts_master:
# the master outside); runc restore --console-socket: criu makes the pair
# again in the restored devpts with the same pts number (and the node
# runc bound over /dev/console before the files), hands the master over
# in the orphan-pts-master notification, runc passes it on: the program
# goes on writing to the new console, pid 1, its terminal /dev/pts/N of
# the container's devpts, its controlling one, window 33x77
rpc_runc_terminal() {
	local dir=$1 n pid before
	ID=criu-rpc-$$
	command -v runc > /dev/null || { result SKIP "SKIP $RPC_NAME: runc is not installed"; return; }
	ctr_runc_bundle "$dir/bundle" 8 || { result FAIL "FAIL $RPC_NAME: cannot make the bundle"; return; }
	python3 - "$dir/bundle/config.json" <<-'EOF2'
	import json, sys
	c = json.load(open(sys.argv[1]))
	c["process"]["terminal"] = True
	json.dump(c, open(sys.argv[1], "w"), indent=1)
	EOF2
	ctr_relay "$dir"
	python3 "$ROOT/test/tools/console-socket.py" "$dir/console.sock" "$dir/ctr.out" 33 77 < /dev/null > /dev/null 2>&1 &
	CTR_CLIENT=$!
	track "$CTR_CLIENT"
	wait_for 5 test -S "$dir/console.sock" || { result FAIL "FAIL $RPC_NAME: no console socket"; return; }
	CTR_RUNC_ROOT=$dir/runc
	CTR_RUNC_IDS+=("$ID")
	runc --root "$CTR_RUNC_ROOT" run -d --console-socket "$dir/console.sock" --bundle "$dir/bundle" "$ID" \
		> "$dir/run.err" 2>&1 < /dev/null ||
		{ result FAIL "FAIL $RPC_NAME: runc run: $(log_tail "$dir/run.err")"; return; }
	wait_for 10 grep -q '^count ' "$dir/ctr.out" ||
		{ result FAIL "FAIL $RPC_NAME: nothing on the console: $(log_tail "$dir/ctr.out")"; return; }
	ctr_runc_ckpt "$dir" "$ID" ||
		{ result FAIL "FAIL $RPC_NAME: runc checkpoint: $(log_tail "$dir/ckpt.out") $(criu_error "$dir/work/dump.log")"; return; }
	n=$(ctr_last_count "$dir/ctr.out")
	before=$(grep -c '^MASTER' "$dir/ctr.out")
	runc --root "$CTR_RUNC_ROOT" --criu "$dir/bin/criu" restore -d --console-socket "$dir/console.sock" \
		--image-path "$dir/img" --work-path "$dir/work" --bundle "$dir/bundle" "$ID" \
		> "$dir/restore.err" 2>&1 < /dev/null ||
		{ result FAIL "FAIL $RPC_NAME: runc restore: $(log_tail "$dir/restore.err") $(criu_error "$dir/work/restore.log")"; return; }
	if [ "$(grep -c '^MASTER' "$dir/ctr.out")" != $((before + 1)) ] ||
	   ! grep -q '^MASTER 2 rows 33 cols 77$' "$dir/ctr.out"; then
		result FAIL "FAIL $RPC_NAME: the console socket did not get the new master with the window 33x77: $(grep '^MASTER' "$dir/ctr.out" | tr '\n' ' ')"
		return
	fi
	ctr_runc_goes_on "$dir" "$ID" "$n" || { result FAIL "FAIL $RPC_NAME: $CMP_REASON"; return; }
	pid=$(runc --root "$CTR_RUNC_ROOT" state "$ID" | sed -n 's/^ *"pid": \([0-9]*\),/\1/p')
	local fd1 idx tty
	# (from outside its mount namespace the path reads /N: the index)
	fd1=$(readlink "/proc/$pid/fd/1")
	idx=${fd1##*/}
	if [[ ! "$idx" =~ ^[0-9]+$ ]] ||
	   [ "$(stat -Lc %d:%t:%T "/proc/$pid/fd/1")" != "$(stat -c %d:%t:%T "/proc/$pid/root/dev/pts/$idx")" ] ||
	   [ "$(stat -Lc %d "/proc/$pid/fd/1")" = "$(stat -c %d /dev/pts/ptmx)" ]; then
		result FAIL "FAIL $RPC_NAME: its stdout ($fd1) is not /dev/pts/$idx of the container's own devpts"
		return
	fi
	tty=$(cut -d' ' -f7 "/proc/$pid/stat")
	if [ "$tty" != $(( (136 << 8) | idx )) ] || [ "$(cut -d' ' -f6 "/proc/$pid/stat")" != "$pid" ]; then
		result FAIL "FAIL $RPC_NAME: /dev/pts/$idx is not the controlling terminal of its session leader (tty_nr $tty)"
		return
	fi
	result PASS "PASS $RPC_NAME"
}

# podman run -t (conmon holds the console's master): podman checkpoint and
# restore; the program goes on writing to its terminal (podman logs), its
# stdout a pts of the container's own devpts again
rpc_podman_terminal() {
	local dir=$1 name=criu-rpc-$$ n pid
	command -v podman > /dev/null || { result SKIP "SKIP $RPC_NAME: podman is not installed"; return; }
	ctr_relay "$dir"
	ctr_podman_image "$dir" || { result FAIL "FAIL $RPC_NAME: podman import: $(log_tail "$dir/import.out")"; return; }
	CTR_PODMAN_IDS+=("$name")
	"${PODMAN[@]}" run -t -d --name "$name" "${PODMAN_RUN[@]}" "$CTR_PODMAN_IMAGE" /bin/ctr-counter 8 \
		> "$dir/run.out" 2>&1 || { result FAIL "FAIL $RPC_NAME: podman run -t: $(log_tail "$dir/run.out")"; return; }
	wait_for 10 bash -c "podman logs '$name' 2>/dev/null | grep -q '^count '" ||
		{ result FAIL "FAIL $RPC_NAME: nothing on its terminal"; return; }
	ctr_podman "$dir" container checkpoint "$name" > "$dir/ckpt.out" 2>&1 ||
		{ result FAIL "FAIL $RPC_NAME: podman checkpoint: $(log_tail "$dir/ckpt.out") $(grep -m1 cr_errmsg "$dir/relay/rpc.log")"; return; }
	ctr_podman_logs "$name" "$dir/ctr.out"
	n=$(ctr_last_count "$dir/ctr.out")
	ctr_podman "$dir" container restore "$name" > "$dir/restore.out" 2>&1 ||
		{ result FAIL "FAIL $RPC_NAME: podman restore: $(log_tail "$dir/restore.out") $(grep -m1 cr_errmsg "$dir/relay/rpc.log")"; return; }
	ctr_podman_goes_on "$dir" "$name" "$n" || return
	pid=$(podman inspect -f '{{.State.Pid}}' "$name")
	local idx
	idx=$(readlink "/proc/$pid/fd/1")
	idx=${idx##*/}
	if [[ ! "$idx" =~ ^[0-9]+$ ]] ||
	   [ "$(stat -Lc %d:%t:%T "/proc/$pid/fd/1")" != "$(stat -c %d:%t:%T "/proc/$pid/root/dev/pts/$idx")" ]; then
		result FAIL "FAIL $RPC_NAME: its stdout is not a pts of the container's own devpts"
		return
	fi
	result PASS "PASS $RPC_NAME"
}

# podman checkpoint, then a tmpfs mounted (it takes the next anonymous
# device), then podman restore in place: podman mounts the overlay rootfs
# again, on another device than at the dump (what other mounts on the
# machine do at random); the program's mapped binary is the same file,
# same inode: the restore goes on (it was refused as "replaced")
rpc_podman_remount() {
	local dir=$1 name=criu-rpc-$$ n pid dev1 dev2
	command -v podman > /dev/null || { result SKIP "SKIP $RPC_NAME: podman is not installed"; return; }
	ctr_podman_start "$dir" "$name" 8 || return
	pid=$(podman inspect -f '{{.State.Pid}}' "$name")
	dev1=$(awk '$6 == "/bin/ctr-counter" { print $4; exit }' "/proc/$pid/maps")
	ctr_podman "$dir" container checkpoint "$name" > "$dir/ckpt.out" 2>&1 ||
		{ result FAIL "FAIL $RPC_NAME: podman checkpoint: $(log_tail "$dir/ckpt.out") $(grep -m1 cr_errmsg "$dir/relay/rpc.log")"; return; }
	mkdir -p "$dir/hold"
	mount -t tmpfs criu-rpc-hold "$dir/hold" && CTR_MOUNT=$dir/hold
	ctr_podman_logs "$name" "$dir/ctr.out"
	n=$(ctr_last_count "$dir/ctr.out")
	ctr_podman "$dir" container restore "$name" > "$dir/restore.out" 2>&1 ||
		{ result FAIL "FAIL $RPC_NAME: podman restore: $(log_tail "$dir/restore.out") $(grep -m1 cr_errmsg "$dir/relay/rpc.log")"; return; }
	pid=$(podman inspect -f '{{.State.Pid}}' "$name")
	dev2=$(awk '$6 == "/bin/ctr-counter" { print $4; exit }' "/proc/$pid/maps")
	if [ -z "$dev1" ] || [ "$dev1" = "$dev2" ]; then
		result FAIL "FAIL $RPC_NAME: the rootfs is on the same device as at the dump ($dev1): nothing tested"
		return
	fi
	ctr_podman_goes_on "$dir" "$name" "$n" || return
	result PASS "PASS $RPC_NAME (rootfs device $dev1, then $dev2)"
}
