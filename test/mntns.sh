# test/mntns.sh - the mount namespace section of test/run.sh (sourced).
# Each check builds a private rootfs (busybox-static and the static
# test/progs/mntns_state) in test/out/mntns/CHECK/rootfs and starts
# `unshare --pid --mount --uts --ipc --fork --mount-proc` running
# test/tools/mntns-setup.sh, which mounts there what runc would (proc,
# read-only sysfs, a tmpfs /dev with a device node, a devpts instance
# (ptmxmode), /dev/shm, mqueue, a tmpfs with files, a bind of a file and
# of a directory, a read-only bind, a read-only tmpfs over a directory,
# /dev/null bound over a file, a read-only /proc/sys), pivots into it and
# runs mntns_state as pid 1, which records its mountinfo (ids normalised),
# opens and maps files on those mounts and forks a child, then waits.
#   mntns/unshare: dump, restore --root ROOTFS, the program checks its
#     mounts, files, mappings and child, and passes; its pid inside is 1
#   mntns/unshare_lazy: the same with restore --lazy-pages
#   mntns/unshare_predump: two pre-dumps --track-mem, then the dump
#   mntns/leave_running, mntns/live_snapshot: dump --leave-running (and
#     --live-snapshot): the program runs on; then killed, restored, passes
#   mntns/redump: restored, dumped again and restored again
#   mntns/root_copy: its rootfs replaced by a copy after the dump (cp -a:
#     other inodes, as on another host): its mapped files are taken for
#     the same by size and mtime
#   mntns/mapped_replaced: the program's binary in the rootfs replaced
#     after the dump: the restore refused in one line, nothing runs
#   mntns/cgns, cgns_lazy, cgns_predump, cgns_leave_running,
#     cgns_live_snapshot: the same started in cgroups of the test's own
#     (pids, pids.max 200; cgroup2) with `unshare --cgroup` too (variant
#     cgns: the pids hierarchy and cgroup2 mounted in it, a cgroup
#     pids/inner with pids.max 33 that the program moves its child into);
#     the test's cgroups removed after the dump; restored (soft): the
#     program finds /proc/PID/cgroup of itself and its child as before
#     (itself at its namespace's root), the limits, inner and the
#     processes in its cgroup mounts
#   mntns/child_cgroup: plain, the program's child moved from outside into
#     a pids cgroup of its own: after the restore it is there again (the
#     child joins after the tree pivoted)
#   mntns/external: a host directory bound at /mnt/ext, dumped with
#     --external mnt[/mnt/ext]:hostdir, restored with
#     --ext-mount-map hostdir:DIR (the alias): the file there reads as before
#   mntns/external_auto: the same found with --external mnt[] at dump,
#     restored with --ext-mount-map auto (the host path it was bound from)
#   mntns/external_shared: mntns/external with the bind made shared (a
#     peer group of its own): shared again (it came back private before)
#   mntns/propagation: a shared tmpfs and an unbindable mount: the same
#     again (mountinfo's shared:N and unbindable, N normalised)
#   mntns/empty_net: in a network namespace of its own too (lo up), dumped
#     with --empty-ns net, restored into a new one where lo is up
#   mntns/paths, paths_lazy, paths_leave_running, paths_predump,
#     paths_snapshot: files found by path in
#     the tree's own view (mntns_state paths): a FIFO opened by path with
#     data in it, a unix socket bound to a path and listening, inotify
#     watches on a directory of the rootfs and one of a tmpfs: restored
#     there (the FIFO's fd on the FIFO at its path, the socket reachable at
#     its path, events reported on the same watch descriptors)
#   mntns/tmpfs_links, tmpfs_links_redump: hard links (a file of two
#     names, one of three across directories) and extended attributes
#     (user. on a file, trusted. on a directory and on a symlink, an
#     empty value) in the tmpfs /data: the same inodes and values after
#     the restore (and after a second dump and restore)
#   mntns/refuse_link_covered: a file of the tmpfs with a second link
#     below a mount over it (out of sight): refused
#   mntns/refuse_shared_sock: a unix socket bound to a path, held by the
#     program and its child (criu would bind it in its own view)
#   mntns/refuse_outside_bind: the same bind without --external
#   mntns/refuse_fskind: a ramfs mounted in it
#   mntns/refuse_shared: a peer group of two mounts inside it
#   mntns/refuse_slave: a slave of a peer group inside it
#   mntns/refuse_ext_slave: an external mount that is a slave of a shared
#     mount of criu's namespace (the test's host directory, shared for it)
#   mntns/refuse_chroot: chroot into the rootfs instead of pivot_root
#   mntns/refuse_net: a bridge in its network namespace, --empty-ns net
#     each refused at dump with one error line naming the process and
#     the mount (or namespace), the program left running (it passes after)
#   mntns/no_root: restore without --root: one error line, nothing runs
#   mntns/no_external: mntns/external restored without a path for its key:
#     one error line naming the key, nothing runs
#   mntns/missing_image: the dump restored without its mntns.img: one
#     error line naming it, nothing runs
#   mntns/runc: a runc container (bundle from `runc spec`: terminal false,
#     rootfs writable, mntns_state runc as its process, a tmpfs /data, binds
#     of a file and a directory, a read-only bind, two more masked paths),
#     run with `runc run -d`, stdout and stderr a pipe: dumped with this
#     tool's command line (--freeze-cgroup its v1 freezer cgroup,
#     --manage-cgroups, --empty-ns net, --external mnt[MP]:MP for each
#     cgroup hierarchy runc bound from the host), killed, restored with
#     --root ROOTFS, --external mnt[MP]:HOSTPATH, --inherit-fd for the
#     pipe; the program (pid 1 again, its child the same pid) makes its
#     checks (mountinfo the same, ids normalised) and passes
#   mntns/runc_cgns: the same with a cgroup namespace ({"type":"cgroup"}
#     in config.json; runc mounts each hierarchy anew inside it: not
#     external), the program also checks its cgroups (runc-cgns)

MNTNS_CHECKS=(unshare unshare_lazy unshare_predump leave_running live_snapshot redump root_copy mapped_replaced cgns cgns_lazy cgns_predump cgns_leave_running cgns_live_snapshot child_cgroup external external_auto external_shared propagation empty_net refuse_outside_bind
	      refuse_fskind refuse_shared refuse_slave refuse_ext_slave refuse_chroot refuse_net no_root no_external missing_image runc runc_cgns)
MNTNS_CHECKS+=(paths paths_lazy paths_leave_running paths_predump paths_snapshot refuse_shared_sock tmpfs_links tmpfs_links_redump refuse_link_covered)

# mntns_rootfs DIR: a rootfs for mntns_state in DIR/rootfs
mntns_rootfs() {
	local r=$1/rootfs a
	rm -rf "$r"
	mkdir -p "$r"/{bin,proc,sys,dev,data,etc,mnt/bound-dir,mnt/ro-dir,mnt/ext,srcdir,masked,.old} || return 1
	cp "$(command -v busybox)" "$r/bin/busybox" || return 1
	for a in sh umount mount; do ln -s busybox "$r/bin/$a"; done
	: > "$r/etc/bound-file"
	echo secret > "$r/etc/secret"
	echo inner > "$r/srcdir/inner"
	cp "$ROOT/test/progs/mntns_state" "$r/mntns_state"
}

# mntns_start NAME DIR VARIANT [UNSHARE OPTIONS...]: sets MPID (the program, 1 inside)
MPID=
mntns_start() {
	local name=$1 dir=$2 variant=$3
	shift 3
	mntns_rootfs "$dir" || { result FAIL "FAIL $name: cannot build the rootfs"; return 1; }
	mkdir -p "$dir/host"
	echo host-file > "$dir/host/hostfile"
	# extslave: the host directory a shared mount of criu's namespace (undone by the trap)
	if [ "$variant" = extslave ]; then
		mount --bind "$dir/host" "$dir/host" && echo "$dir/host" >> "$dir/umount" &&
			mount --make-shared "$dir/host" || { result FAIL "FAIL $name: cannot share $dir/host"; return 1; }
	fi
	# (MNTNS_CG: cgroup directories the tree starts in, joined before unshare)
	MNTNS_CG="$MNTNS_CG" sh -c 'for d in $MNTNS_CG; do echo $$ > $d/cgroup.procs || exit 1; done; exec "$@"' sh \
		unshare --pid --mount --uts --ipc --fork --mount-proc "$@" \
		/bin/sh "$ROOT/test/tools/mntns-setup.sh" "$dir/rootfs" "$variant" "$dir/host" \
		> "$dir/setup.log" 2>&1 < /dev/null &
	local upid=$!
	track "$upid"
	echo "$upid" >> "$dir/kill"
	if ! wait_for "$READY_TIMEOUT" has_ready "$dir/rootfs/log"; then
		result FAIL "FAIL $name: mntns_state did not get ready: $(log_tail "$dir/setup.log") $(log_tail "$dir/rootfs/log")"
		return 1
	fi
	MPID=$(only_child "$upid")
	echo "$MPID" >> "$dir/kill"
	wait_for 5 in_sigwait "$MPID"
}

# mntns_restore_check NAME DIR IMG [RESTORE OPTIONS...]: restore, the program passes
mntns_restore_check() {
	local name=$1 dir=$2 img=$3 pid
	shift 3
	rm -f "$dir/pidfile"
	local root=(--root "$dir/rootfs")
	[ "${1:-}" = --root ] && root=()
	if ! "$CRIU" restore -D "$dir/$img" -v4 -o "$dir/restore-$img.log" "${root[@]}" -d \
		--pidfile "$dir/pidfile" "$@" > "$dir/restore-$img.out" 2>&1 < /dev/null; then
		result FAIL "FAIL $name: restore failed: $(criu_error "$dir/restore-$img.log")"
		return 1
	fi
	pid=$(cat "$dir/pidfile")
	echo "$pid" >> "$dir/kill"
	if [ "$(inner_pid "$pid")" != 1 ]; then
		result FAIL "FAIL $name: the restored program $pid is $(inner_pid "$pid") in its pid namespace, not 1"
		return 1
	fi
	if ! wait_for 10 in_sigwait "$pid"; then
		result FAIL "FAIL $name: the restored program $pid is not back in its wait for SIGUSR1 ($(grep State: /proc/$pid/status 2>&1), syscall $(cut -d" " -f1 /proc/$pid/syscall 2>&1))"
		return 1
	fi
	RPROG=$pid
	return 0
}

# the program's verdict after SIGUSR1 to pid $3
mntns_verdict() {
	local name=$1 dir=$2 pid=$3
	kill -USR1 "$pid"
	local log=${LOG_DIR:-$dir/rootfs}/log
	if ! wait_for 10 grep -q '^PASS$\|^FAIL' "$log"; then
		result FAIL "FAIL $name: no verdict from the program: $(log_tail "$log")"
		return 1
	fi
	if ! grep -q '^PASS$' "$log"; then
		result FAIL "FAIL $name: $(grep -m1 '^FAIL' "$log")"
		return 1
	fi
	return 0
}

mntns_dump() {
	local name=$1 dir=$2 pid=$3 img=$4
	shift 4
	if ! "$CRIU" dump -t "$pid" -D "$dir/$img" -v4 -o "$dir/dump-$img.log" "$@" \
		> "$dir/dump-$img.out" 2>&1 < /dev/null; then
		result FAIL "FAIL $name: dump failed: $(criu_error "$dir/dump-$img.log")"
		return 1
	fi
}

# MODE: plain, lazy, predump, redump, external, empty_net
mntns_cycle() {
	local name=$1 dir=$2 mode=$3 variant=${4:-plain} dopts=() ropts=() uopts=()
	[ "$variant" = cgns ] && uopts=(--cgroup)
	case $mode in
	external) variant=ext; dopts=(--external "mnt[/mnt/ext]:hostdir"); ropts=(--ext-mount-map "hostdir:$dir/host") ;;
	propagation) variant=shared1 ;;
	external_auto) variant=ext; dopts=(--external "mnt[]"); ropts=(--ext-mount-map auto) ;;
	external_shared) variant=extshared; dopts=(--external "mnt[/mnt/ext]:hostdir"); ropts=(--ext-mount-map "hostdir:$dir/host") ;;
	empty_net) variant=net; uopts=(--net); dopts=(--empty-ns net); ropts=(--empty-ns net) ;;
	lazy) ropts=(--lazy-pages) ;;
	leave_running) dopts=(--leave-running) ;;
	live_snapshot) dopts=(--leave-running --live-snapshot) ;;
	esac
	mntns_start "$name" "$dir" "$variant" "${uopts[@]}" || return
	if [ "$mode" = predump ]; then
		"$CRIU" pre-dump -t "$MPID" -D "$dir/pre1" --track-mem -v4 -o "$dir/pre1.log" \
			< /dev/null > /dev/null 2>&1 &&
		"$CRIU" pre-dump -t "$MPID" -D "$dir/pre2" --track-mem --prev-images-dir ../pre1 -v4 \
			-o "$dir/pre2.log" < /dev/null > /dev/null 2>&1 ||
			{ result FAIL "FAIL $name: pre-dump failed: $(criu_error "$dir/pre1.log") $(criu_error "$dir/pre2.log")"; return; }
		dopts=(--track-mem --prev-images-dir ../pre2)
	fi
	mntns_dump "$name" "$dir" "$MPID" img "${dopts[@]}" || return
	if [ "${dopts[0]:-}" = --leave-running ]; then
		if ! alive "$MPID" || ! wait_for 5 in_sigwait "$MPID"; then
			result FAIL "FAIL $name: the program does not run on after dump --leave-running"
			return
		fi
		kill -KILL "$MPID"
		wait_for 5 dead "$MPID"
	fi
	# (killed by the dump; its parent, unshare, may take a moment to reap it)
	if ! wait_for 5 dead "$MPID"; then
		result FAIL "FAIL $name: the program runs on after the dump"
		return
	fi
	# the tree's cgroups go: made again by the restore, with their settings
	for d in $MNTNS_CG; do cg_rmtree "$d"; done
	# root_copy: its root replaced by a copy (other inodes, as on another host)
	if [ "$mode" = root_copy ]; then
		mv "$dir/rootfs" "$dir/rootfs.orig" && cp -a "$dir/rootfs.orig" "$dir/rootfs" ||
			{ result FAIL "FAIL $name: cannot copy the rootfs"; return; }
	fi
	mntns_restore_check "$name" "$dir" img "${ropts[@]}" || return
	if [ "$mode" = redump ]; then
		mntns_dump "$name" "$dir" "$RPROG" img2 || return
		mntns_restore_check "$name" "$dir" img2 || return
	fi
	mntns_verdict "$name" "$dir" "$RPROG" || return
	result PASS "PASS $name"
}

# the program's binary changed in its root after the dump: the restore is
# refused with one line naming it, nothing runs
mntns_replaced() {
	local name=$1 dir=$2
	mntns_start "$name" "$dir" plain || return
	mntns_dump "$name" "$dir" "$MPID" img || return
	wait_for 5 dead "$MPID"
	cp "$dir/rootfs/mntns_state" "$dir/new" && echo x >> "$dir/new" && mv "$dir/new" "$dir/rootfs/mntns_state"
	"$CRIU" restore -D "$dir/img" -v4 -o "$dir/restore.log" -d --pidfile "$dir/pidfile" --root "$dir/rootfs" \
		> "$dir/restore.out" 2> "$dir/restore.err" < /dev/null
	if [ $? -eq 0 ] || [ -s "$dir/pidfile" ]; then
		result FAIL "FAIL $name: the restore succeeded"
		return
	fi
	if [ "$(grep -c . "$dir/restore.err")" -ne 1 ] || ! grep -q "^error: .*mapped file /mntns_state was replaced since the dump" "$dir/restore.err"; then
		result FAIL "FAIL $name: expected one error line naming /mntns_state: $(head -3 "$dir/restore.err" | tr '\n' '|')"
		return
	fi
	result PASS "PASS $name"
}

# the program's child moved from outside into a pids cgroup of its own
# (the root's, below MNTNS_CG); after the restore it is there again
mntns_child_cgroup() {
	local name=$1 dir=$2 pcg=${MNTNS_CG%% *} child
	mkdir "$pcg/kid" || { result FAIL "FAIL $name: cannot make $pcg/kid"; return; }
	mntns_start "$name" "$dir" plain || return
	child=$(only_child "$MPID")
	echo "$child" > "$pcg/kid/cgroup.procs" || { result FAIL "FAIL $name: cannot move the child $child"; return; }
	sed 's/^/root /' "/proc/$MPID/cgroup" > "$dir/before" && sed 's/^/child /' "/proc/$child/cgroup" >> "$dir/before"
	grep -q "^child .*:pids:${pcg#/sys/fs/cgroup/pids}/kid\$" "$dir/before" ||
		{ result FAIL "FAIL $name: the child is not in its cgroup: $(grep pids "$dir/before" | tr '\n' ' ')"; return; }
	mntns_dump "$name" "$dir" "$MPID" img || return
	wait_for 5 dead "$MPID" || { result FAIL "FAIL $name: the program runs on after the dump"; return; }
	for d in $MNTNS_CG; do cg_rmtree "$d"; done
	mntns_restore_check "$name" "$dir" img || return
	child=$(only_child "$RPROG")
	{ sed 's/^/root /' "/proc/$RPROG/cgroup"; sed 's/^/child /' "/proc/$child/cgroup"; } > "$dir/after"
	if ! diff -u "$dir/before" "$dir/after" > "$dir/cgroup.diff"; then
		result FAIL "FAIL $name: cgroups after the restore differ: $(grep '^[-+][a-z]' "$dir/cgroup.diff" | head -2 | tr '\n' ' ')"
		return
	fi
	mntns_verdict "$name" "$dir" "$RPROG" || return
	result PASS "PASS $name"
}

# a refused dump: one error line matching $4, the program runs on and passes
mntns_refuse() {
	local name=$1 dir=$2 variant=$3 want=$4 uopts=() dopts=() lines
	[ "$variant" = netdummy ] && uopts=(--net) && dopts=(--empty-ns net)
	[ "$variant" = extslave ] && uopts=(--propagation slave) && dopts=(--external "mnt[/mnt/ext]:hostdir")
	mntns_start "$name" "$dir" "$variant" "${uopts[@]}" || return
	"$CRIU" dump -t "$MPID" -D "$dir/img" -v4 -o "$dir/dump.log" "${dopts[@]}" > "$dir/dump.out" 2> "$dir/dump.err" < /dev/null
	if [ $? -eq 0 ]; then
		result FAIL "FAIL $name: the dump succeeded"
		return
	fi
	lines=$(grep -c . "$dir/dump.err")
	if [ "$lines" -ne 1 ] || ! grep -Eq "^error: (dump: )?pid $MPID: .*$want" "$dir/dump.err"; then
		result FAIL "FAIL $name: expected one error line naming pid $MPID and /$want/, got $lines: $(head -3 "$dir/dump.err" | tr '\n' '|' | cut -c1-300)"
		return
	fi
	[ -e "$dir/img/inventory.img" ] && { result FAIL "FAIL $name: inventory.img written by a refused dump"; return; }
	if ! alive "$MPID" || ! wait_for 5 in_sigwait "$MPID"; then
		result FAIL "FAIL $name: the program does not run on after the refused dump"
		return
	fi
	mntns_verdict "$name" "$dir" "$MPID" || return
	result PASS "PASS $name"
}

# a restore missing an option: one error line matching $4, nothing runs
mntns_no_root() {
	local name=$1 dir=$2 variant=$3 want=$4 dopts=() ropts=()
	[ "$variant" = ext ] && dopts=(--external "mnt[/mnt/ext]:hostdir") && ropts=(--root "$dir/rootfs")
	[ "$variant" = nomnt ] && ropts=(--root "$dir/rootfs") && variant=plain
	mntns_start "$name" "$dir" "$variant" || return
	mntns_dump "$name" "$dir" "$MPID" img "${dopts[@]}" || return
	[ "${ropts[0]:-}" = --root ] && [ "${#dopts[@]}" = 0 ] && rm "$dir/img/mntns.img"
	"$CRIU" restore -D "$dir/img" -v4 -o "$dir/restore.log" -d --pidfile "$dir/pidfile" "${ropts[@]}" \
		> "$dir/restore.out" 2> "$dir/restore.err" < /dev/null
	if [ $? -eq 0 ] || [ -s "$dir/pidfile" ]; then
		result FAIL "FAIL $name: the restore succeeded"
		return
	fi
	if [ "$(grep -c . "$dir/restore.err")" -ne 1 ] || ! grep -q "^error: .*$want" "$dir/restore.err"; then
		result FAIL "FAIL $name: expected one error line with '$want': $(head -3 "$dir/restore.err" | tr '\n' '|')"
		return
	fi
	if pgrep -f mntns_state > "$dir/left" && grep -qv "^$$" "$dir/left"; then
		for p in $(cat "$dir/left"); do
			[ "$(readlink "/proc/$p/root")" = / ] && [ "$(inner_pid "$p")" = 1 ] &&
				grep -qs "$dir" "/proc/$p/mountinfo" &&
				{ result FAIL "FAIL $name: a restored program runs after the failed restore"; return; }
		done
	fi
	result PASS "PASS $name"
}

# the bundle of mntns/runc in DIR/bundle (rootfs: mntns_rootfs); VARIANT
# runc-cgns: with a cgroup namespace
mntns_bundle() {
	local dir=$1 variant=${2:-runc} b=$1/bundle
	mkdir -p "$b" && mntns_rootfs "$b" || return 1
	echo "hello tmpfs" > "$b/rootfs/srcdir/bound"
	(cd "$b" && runc spec) || return 1
	python3 - "$b" "$variant" <<'PY'
import json, sys
b = sys.argv[1]
p = b + '/config.json'
c = json.load(open(p))
c['process']['terminal'] = False
c['process']['args'] = ['/mntns_state', sys.argv[2]]
if sys.argv[2] == 'runc-cgns':
    c['linux']['namespaces'].append({'type': 'cgroup'})
c['root']['readonly'] = False
r = b + '/rootfs'
c['mounts'] += [
    {'destination': '/data', 'type': 'tmpfs', 'source': 'tmpfs', 'options': ['size=4m', 'mode=755']},
    {'destination': '/etc/bound-file', 'type': 'bind', 'source': r + '/srcdir/bound', 'options': ['bind']},
    {'destination': '/mnt/bound-dir', 'type': 'bind', 'source': r + '/srcdir', 'options': ['bind']},
    {'destination': '/mnt/ro-dir', 'type': 'bind', 'source': r + '/srcdir', 'options': ['bind', 'ro']},
]
c['linux']['maskedPaths'] += ['/etc/secret', '/masked']
json.dump(c, open(p, 'w'), indent=1)
PY
}

# --external mnt[MP]:HOSTPATH for each external mount of mntns.img in $1
mntns_ext_restore() {
	"$CRIU" show "$1/mntns.img" | python3 -c '
import json, sys
host = {}
for l in open("/proc/self/mountinfo"):
    f = l.split()
    if f[3] == "/":
        host.setdefault(f[2], f[4])
for e in json.load(sys.stdin)["entries"]:
    if e["kind"] == "MNT_EXTERNAL":
        dev = "%d:%d" % (e["dev_major"], e["dev_minor"])
        print("--external")
        print("mnt[%s]:%s%s" % (e["ext_key"], host[dev], e["root"] if e["root"] != "/" else ""))
'
}

# (rpc/libcriu_runc runs it through libcriu: restore options of its own in
# MNTNS_RESTORE_EXTRA, MNTNS_AFTER_RESTORE NAME PID checked before the verdict)
MNTNS_RESTORE_EXTRA=() MNTNS_AFTER_RESTORE=
mntns_runc() {
	local name=$1 dir=$2 variant=${3:-runc} id=criu-mntns-$$ pid key ext=() rext=() line
	if ! mntns_bundle "$dir" "$variant"; then
		result FAIL "FAIL $name: cannot build the bundle"
		return
	fi
	echo "$id" > "$dir/runc-id"
	runc run -d --bundle "$dir/bundle" "$id" < /dev/null > >(cat > "$dir/stdout") 2>&1
	if ! wait_for "$READY_TIMEOUT" has_ready "$dir/bundle/rootfs/log"; then
		result FAIL "FAIL $name: the container did not get ready: $(log_tail "$dir/stdout") $(log_tail "$dir/bundle/rootfs/log")"
		return
	fi
	pid=$(runc state "$id" | sed -n 's/^ *"pid": \([0-9]*\),/\1/p')
	echo "$pid" >> "$dir/kill"
	wait_for 5 in_sigwait "$pid"
	# (in its own cgroup namespace runc mounts each hierarchy anew: not external)
	[ "$variant" = runc ] && while read -r line; do ext+=(--external "mnt[$line]:$line"); done \
		< <(awk '$0 ~ / - cgroup2? / {print $5}' "/proc/$pid/mountinfo")
	local freezer=/sys/fs/cgroup/freezer$(awk -F: '$2 == "freezer" {print $3}' "/proc/$pid/cgroup")
	mntns_dump "$name" "$dir" "$pid" img --freeze-cgroup "$freezer" --manage-cgroups soft --empty-ns net "${ext[@]}" || return
	if ! wait_for 5 dead "$pid"; then
		result FAIL "FAIL $name: the container's program runs on after the dump"
		return
	fi
	key=$(grep -o 'restore with --inherit-fd fd\[N\]:pipe:\[[0-9]*\]' "$dir/dump-img.log" | head -1 | sed 's/.*fd\[N\]://')
	mapfile -t rext < <(mntns_ext_restore "$dir/img")
	if [ -z "$key" ] || [ ${#rext[@]} -ne $(( ${#ext[@]} )) ]; then
		result FAIL "FAIL $name: no external pipe in the dump log, or externals ${#rext[@]} != ${#ext[@]}"
		return
	fi
	if ! mntns_restore_check "$name" "$dir" img --root "$dir/bundle/rootfs" --manage-cgroups soft --empty-ns net \
		"${rext[@]}" --inherit-fd "fd[5]:$key" "${MNTNS_RESTORE_EXTRA[@]}" 5> >(cat >> "$dir/stdout"); then
		return
	fi
	[ -n "$MNTNS_AFTER_RESTORE" ] && { "$MNTNS_AFTER_RESTORE" "$name" "$RPROG" || return; }
	LOG_DIR=$dir/bundle/rootfs mntns_verdict "$name" "$dir" "$RPROG" || return
	result PASS "PASS $name"
}

# cgroups of the test's own (pids, pids.max 200; cgroup2) for the cgns checks, in MNTNS_CG
MNTNS_CG=
mntns_cg_setup() {
	local v2
	v2=$(cg_root 2)
	[ -d /sys/fs/cgroup/pids ] && [ -n "$v2" ] || return 1
	MNTNS_CG="/sys/fs/cgroup/pids/criu-cgns-$$ $v2/criu-cgns-$$"
	mkdir -p $MNTNS_CG && echo 200 > "/sys/fs/cgroup/pids/criu-cgns-$$/pids.max"
}

run_mntns_check() {
	local check=$1 name=mntns/$1 dir=$OUT/mntns/$1
	if [ ! -x "$CRIU" ] || [ ! -x "$ROOT/test/progs/mntns_state" ]; then
		result SKIP "SKIP $name: criu or test/progs/mntns_state not built"
		return
	fi
	if ! command -v busybox > /dev/null; then
		result SKIP "SKIP $name: busybox-static not installed (scripts/install-deps.sh)"
		return
	fi
	mkdir -p "$dir"
	# the namespaces die with their init: kill every program started here
	trap "kill -KILL \$(cat '$dir/kill' 2>/dev/null) 2>/dev/null; for m in \$(cat '$dir/umount' 2>/dev/null); do umount -l \$m; done; [ -s '$dir/runc-id' ] && runc delete -f \$(cat '$dir/runc-id') > /dev/null 2>&1; kill_tracked \"\$PIDS_FILE\" \$\$; kill_group; for d in \$MNTNS_CG; do cg_rmtree \$d; done" EXIT
	case $check in
	cgns*|child_cgroup) mntns_cg_setup || { result SKIP "SKIP $name: no pids and cgroup2 hierarchies here"; return; } ;;
	esac
	case $check in
	unshare) mntns_cycle "$name" "$dir" plain ;;
	unshare_lazy) mntns_cycle "$name" "$dir" lazy ;;
	unshare_predump) mntns_cycle "$name" "$dir" predump ;;
	leave_running) mntns_cycle "$name" "$dir" leave_running ;;
	live_snapshot) mntns_cycle "$name" "$dir" live_snapshot ;;
	redump) mntns_cycle "$name" "$dir" redump ;;
	root_copy) mntns_cycle "$name" "$dir" root_copy ;;
	mapped_replaced) mntns_replaced "$name" "$dir" ;;
	external) mntns_cycle "$name" "$dir" external ;;
	external_auto) mntns_cycle "$name" "$dir" external_auto ;;
	external_shared) mntns_cycle "$name" "$dir" external_shared ;;
	propagation) mntns_cycle "$name" "$dir" propagation ;;
	empty_net) mntns_cycle "$name" "$dir" empty_net ;;
	cgns) mntns_cycle "$name" "$dir" plain cgns ;;
	cgns_lazy) mntns_cycle "$name" "$dir" lazy cgns ;;
	cgns_predump) mntns_cycle "$name" "$dir" predump cgns ;;
	cgns_leave_running) mntns_cycle "$name" "$dir" leave_running cgns ;;
	cgns_live_snapshot) mntns_cycle "$name" "$dir" live_snapshot cgns ;;
	child_cgroup) mntns_child_cgroup "$name" "$dir" ;;
	paths) mntns_cycle "$name" "$dir" plain paths ;;
	tmpfs_links) mntns_cycle "$name" "$dir" plain links ;;
	tmpfs_links_redump) mntns_cycle "$name" "$dir" redump links ;;
	paths_lazy) mntns_cycle "$name" "$dir" lazy paths ;;
	paths_leave_running) mntns_cycle "$name" "$dir" leave_running paths ;;
	paths_predump) mntns_cycle "$name" "$dir" predump paths ;;
	paths_snapshot) mntns_cycle "$name" "$dir" live_snapshot paths ;;
	refuse_outside_bind) mntns_refuse "$name" "$dir" ext "mount .* at /mnt/ext .*a bind mount from outside the namespace" ;;
	refuse_fskind) mntns_refuse "$name" "$dir" ramfs "mount .* at /mnt/ext \(ramfs .*a file system kind" ;;
	refuse_link_covered) mntns_refuse "$name" "$dir" linkcovered "tmpfs at /data: file has 2 links, 1 of them in sight \(the others below a mount over it\): not supported" ;;
	refuse_shared_sock) mntns_refuse "$name" "$dir" sockshared "fd [0-9]+: unix socket bound to /shsock, shared with another process of the tree \(or connected to one\), in a mount namespace of its own: not supported" ;;
	refuse_shared) mntns_refuse "$name" "$dir" shared "mount .* at /data/peer is shared with another mount" ;;
	refuse_slave) mntns_refuse "$name" "$dir" slave "mount .* at /data/peer is a slave mount \(master:[0-9]+\)" ;;
	refuse_ext_slave) mntns_refuse "$name" "$dir" extslave "mount .* at /mnt/ext is an external slave mount \(master:[0-9]+, outside the tree\)" ;;
	refuse_chroot) mntns_refuse "$name" "$dir" chroot "root directory is not the root of the namespace" ;;
	refuse_net) mntns_refuse "$name" "$dir" netdummy "net:\[[0-9]+\] holds devices other than lo \(dummy0\)" ;;
	no_root) mntns_no_root "$name" "$dir" plain "--root" ;;
	missing_image) mntns_no_root "$name" "$dir" nomnt "mntns.img: missing" ;;
	no_external) mntns_no_root "$name" "$dir" ext "restore needs --external mnt\[hostdir\]:PATH" ;;
	runc|runc_cgns)
		if ! command -v runc > /dev/null || ! command -v python3 > /dev/null || [ ! -d /sys/fs/cgroup/freezer ]; then
			result SKIP "SKIP $name: needs runc, python3 and a cgroup v1 freezer (scripts/install-deps.sh)"
			return
		fi
		if [ "$check" = runc ]; then mntns_runc "$name" "$dir"; else mntns_runc "$name" "$dir" runc-cgns; fi ;;
	*) result FAIL "FAIL $name: no such check"; return ;;
	esac
	if [ "$TEST_KEEP_IMAGES" != 1 ] && [ "$(cat "$RESULT_FILE" 2>/dev/null)" = PASS ]; then
		rm -rf "$dir"/img* "$dir"/pre* "$dir/rootfs"
	fi
}

section mntns MNTNS_CHECKS run_mntns_check
