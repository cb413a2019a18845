#!/bin/bash
# iterative-migration.sh - checkpoint a running process with the least
# downtime: copy its memory while it runs (pre-dump --track-mem), again and
# again copying only what it wrote since, until that stops shrinking; then
# freeze it for a final dump that copies the little left.
#
#   contrib/iterative-migration.sh PID DIR [--max-rounds N] [--restore [--lazy-pages]]
#
# DIR/0, DIR/1, ... are the pre-dumps, DIR/final the dump to restore
# (`criu restore -D DIR/final`); each links to the one before (its "parent").
# With --restore it restores the process right away (detached).
set -euo pipefail
CRIU=${CRIU:-$(dirname "$0")/../criu/criu}

usage() { echo "usage: $0 PID DIR [--max-rounds N] [--restore [--lazy-pages]]" >&2; exit 2; }
[ $# -ge 2 ] || usage
PID=$1 DIR=$2; shift 2
MAX=8 RESTORE=0 LAZY=()
while [ $# -gt 0 ]; do
	case $1 in
	--max-rounds) MAX=$2; shift ;;
	--restore) RESTORE=1 ;;
	--lazy-pages) LAZY=(--lazy-pages) ;;
	*) usage ;;
	esac
	shift
done

mkdir -p "$DIR"
pages() { sed -n 's/.*stats:.* pages=\([0-9]*\).*/\1/p' "$1" | tail -1; }
freeze() { sed -n 's/.*stats:.* freeze_ms=\([0-9.]*\).*/\1/p' "$1" | tail -1; }

"$CRIU" pre-dump -t "$PID" -D "$DIR/0" --track-mem -v3 -o "$DIR/0.log"
prev=$(pages "$DIR/0.log")
echo "round 0: copied $prev pages while the process ran (frozen $(freeze "$DIR/0.log") ms)"
round=0
while [ $((round + 1)) -lt "$MAX" ]; do
	round=$((round + 1))
	"$CRIU" pre-dump -t "$PID" -D "$DIR/$round" --prev-images-dir "../$((round - 1))" \
		--track-mem -v3 -o "$DIR/$round.log"
	n=$(pages "$DIR/$round.log")
	echo "round $round: $n pages written since round $((round - 1)) (frozen $(freeze "$DIR/$round.log") ms)"
	# stop when the dirty set no longer shrinks by a tenth
	[ "$n" -ge $((prev * 9 / 10)) ] && break
	prev=$n
done
"$CRIU" dump -t "$PID" -D "$DIR/final" --prev-images-dir "../$round" --track-mem -v3 -o "$DIR/final.log"
echo "final dump: $(pages "$DIR/final.log") pages, process frozen $(freeze "$DIR/final.log") ms"
if [ "$RESTORE" = 1 ]; then
	"$CRIU" restore -D "$DIR/final" -d "${LAZY[@]}" -v3 -o "$DIR/restore.log"
	echo "restored pid $PID"
else
	echo "restore it with: criu restore -D $DIR/final"
fi
