#!/bin/bash
# install-deps.sh - install the Debian packages needed to build and test.
# Idempotent: does nothing (and prints nothing) when all are installed.
set -euo pipefail

PKGS=(build-essential protobuf-c-compiler libprotobuf-c-dev libxxhash-dev
      libjson-c-dev libcap-dev libcmocka-dev libnl-3-dev libnl-route-3-dev
      binutils iproute2 python3 clang libclang-rt-14-dev libgnutls28-dev gnutls-bin
      libnftables-dev nftables go-md2man runc busybox-static)

# the container tests (test/rpc-ctr.sh): podman, a busybox-static rootfs
PKGS+=(podman busybox-static)

missing=()
for p in "${PKGS[@]}"; do
	status=$(dpkg-query -W -f='${db:Status-Abbrev}' "$p" 2>/dev/null || true)
	case "$status" in
	ii*) ;;
	*) missing+=("$p") ;;
	esac
done

[ ${#missing[@]} -eq 0 ] && exit 0

SUDO=
[ "$(id -u)" -ne 0 ] && SUDO=sudo
echo "install-deps: installing ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update
$SUDO apt-get install -y "${missing[@]}"
