#!/bin/sh
# test/tools/mntns-setup.sh ROOTFS VARIANT HOSTDIR: run by test/mntns.sh as init of new pid,
# mount, uts and ipc namespaces (unshare --fork --mount-proc): builds the
# container's mounts in ROOTFS (what runc sets up, made by hand), pivots
# into it and becomes test/progs/mntns_state (copied there as /mntns_state).
# VARIANT: plain; ext (HOSTDIR bound at /mnt/ext); extshared (the same, made
# shared); extslave (the same, HOSTDIR shared in criu's namespace: a slave
# of it); ramfs (a ramfs there);
# shared1 (a tmpfs there, shared; /masked unbindable); shared (a tmpfs
# there, shared, bound at /data/peer too); slave (the
# same, /data/peer then made its slave); net (in a network
# namespace: nothing more); netdummy (a bridge "dummy0" in it); chroot (chroot
# into ROOTFS instead of pivot_root); cgns (in a cgroup namespace: a tmpfs
# /sys/fs/cgroup with the pids hierarchy and cgroup2 mounted in it, and a
# cgroup pids/inner, pids.max 33).
set -e
R=$1
# extslave: unshare made every mount a slave of criu's (--propagation
# slave); only ROOTFS is made private, so that HOSTDIR bound in stays one
[ "$2" = extslave ] || mount --make-rprivate /
mount --bind "$R" "$R"
[ "$2" != extslave ] || mount --make-rprivate "$R"
mount -t proc proc "$R/proc"
mount -t sysfs -o ro sysfs "$R/sys"
mount -t tmpfs -o size=1m,mode=755 tmpfs "$R/dev"
mknod -m 666 "$R/dev/null" c 1 3
mkdir "$R/dev/pts" "$R/dev/shm" "$R/dev/mqueue"
ln -s pts/ptmx "$R/dev/ptmx"
mount -t devpts -o newinstance,ptmxmode=0666,mode=620 devpts "$R/dev/pts"
mount -t tmpfs -o size=1m shm "$R/dev/shm"
mount -t mqueue mqueue "$R/dev/mqueue"
mount -t tmpfs -o size=4m,mode=755 tmpfs "$R/data"
printf 'hello tmpfs\n' > "$R/data/file"
mkdir -p "$R/data/dir/sub"
printf 'deep\n' > "$R/data/dir/sub/deep"
chmod 640 "$R/data/dir/sub/deep"
chown 123:45 "$R/data/dir/sub/deep"
ln -s file "$R/data/link"
{ printf 'mapped-file'; dd if=/dev/zero bs=1 count=$((4096 - 11)) 2>/dev/null; printf 'shared-file'; dd if=/dev/zero bs=1 count=$((4096 - 11)) 2>/dev/null; } > "$R/data/mapped"
mount --bind "$R/data/file" "$R/etc/bound-file"
mount --bind "$R/srcdir" "$R/mnt/bound-dir"
mount --bind "$R/srcdir" "$R/mnt/ro-dir"
mount -o remount,bind,ro "$R/mnt/ro-dir"
mount -t tmpfs -o ro,size=64k tmpfs "$R/masked"
mount --bind "$R/dev/null" "$R/etc/secret"
mount --bind "$R/proc/sys" "$R/proc/sys"
mount -o remount,bind,ro "$R/proc/sys"
case $2 in
ext) mount --bind "$3" "$R/mnt/ext" ;;
extslave) mount --bind "$3" "$R/mnt/ext" ;;
extshared) mount --bind "$3" "$R/mnt/ext"
	mount --make-shared "$R/mnt/ext" ;;
ramfs) mount -t ramfs ramfs "$R/mnt/ext" ;;
shared) mount -t tmpfs -o size=64k tmpfs "$R/mnt/ext"
	mount --make-shared "$R/mnt/ext"
	mkdir "$R/data/peer"
	mount --bind "$R/mnt/ext" "$R/data/peer" ;;
shared1) mount -t tmpfs -o size=64k tmpfs "$R/mnt/ext"
	mount --make-shared "$R/mnt/ext"
	mount --make-unbindable "$R/masked" ;;
slave) mount -t tmpfs -o size=64k tmpfs "$R/mnt/ext"
	mount --make-shared "$R/mnt/ext"
	mkdir "$R/data/peer"
	mount --bind "$R/mnt/ext" "$R/data/peer"
	mount --make-slave "$R/data/peer" ;;
net) ip link set lo up ;;
netdummy) ip link add dummy0 type bridge ;;
cgns) mount -t tmpfs -o size=64k,mode=755 cgroup "$R/sys/fs/cgroup"
	mkdir "$R/sys/fs/cgroup/pids" "$R/sys/fs/cgroup/unified"
	mount -t cgroup -o pids cgroup "$R/sys/fs/cgroup/pids"
	mount -t cgroup2 cgroup2 "$R/sys/fs/cgroup/unified"
	mkdir "$R/sys/fs/cgroup/pids/inner"
	echo 33 > "$R/sys/fs/cgroup/pids/inner/pids.max" ;;
chroot) exec chroot "$R" /mntns_state "$2" < /dev/null > /dev/null 2>&1 ;;
esac
cd "$R"
pivot_root . .old
exec /bin/busybox sh -c "busybox umount -l /.old && exec /mntns_state $2" < /dev/null > /dev/null 2>&1
