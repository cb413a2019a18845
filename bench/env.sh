# env.sh - what every benchmark script shares; sourced at its top.
#   ROOT    the repository      OUT     bench/out (logs, results.md)
#   IMGDIR  where images go     CRIU    the criu binary
#   median, ms: helpers for the figures
# Images go to tmpfs by default: the disk of these machines writes back at
# a rate that varies several-fold from run to run and would measure the
# disk, not the tool.  BENCH_IMAGES_DIR=DIR measures another filesystem.
set -u
cd "$(dirname "${BASH_SOURCE[0]}")/.." || exit 1
ROOT=$PWD
OUT=$ROOT/bench/out
IMGDIR=${BENCH_IMAGES_DIR:-/dev/shm/criu-bench}
CRIU=${BENCH_CRIU:-$ROOT/criu/criu}
mkdir -p "$OUT" "$IMGDIR" || exit 1

# median of the numbers on stdin, "n/a" if none
median() {
	sort -g | awk '{ a[NR] = $1 } END {
		if (!NR) print "n/a"
		else if (NR % 2) print a[(NR + 1) / 2]
		else printf "%.6g\n", (a[NR / 2] + a[NR / 2 + 1]) / 2 }'
}
# ms T0 T1: milliseconds between two `date +%s%N` readings
ms() { echo $(( ($2 - $1) / 1000000 )); }
