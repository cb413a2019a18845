#!/bin/bash
# fuzz/run.sh SECONDS [NAME...] - runs each libFuzzer harness of fuzz/out
# (all, or the NAMEs) for SECONDS, with its corpus in fuzz/corpus/NAME
# (kept between runs) and seeds from fuzz/seeds/NAME if any.  A crash
# leaves its input in fuzz/out/crash-NAME-*; exits non-zero if any harness
# failed.
set -u
cd "$(dirname "$0")/.." || exit 1
secs=${1:-60}
shift
names=("$@")
[ ${#names[@]} -eq 0 ] && names=(fuzz-images fuzz-lazy-sock fuzz-page-server fuzz-pagemap-entry)
bad=0
for n in "${names[@]}"; do
	bin=fuzz/out/$n
	[ -x "$bin" ] || { echo "FAIL $n: $bin not built (make fuzzers)"; bad=1; continue; }
	mkdir -p "fuzz/corpus/$n"
	seeds=()
	[ -d "fuzz/seeds/$n" ] && seeds=("fuzz/seeds/$n")
	if "$bin" -max_total_time="$secs" -timeout=10 -rss_limit_mb=2048 -print_final_stats=1 \
		-artifact_prefix="fuzz/out/crash-$n-" "fuzz/corpus/$n" "${seeds[@]}" \
		> "fuzz/out/$n.log" 2>&1; then
		echo "PASS $n: $(grep -m1 -o 'stat::number_of_executed_units: *[0-9]*' "fuzz/out/$n.log" | grep -o '[0-9]*$') runs in ${secs}s"
	else
		echo "FAIL $n: $(grep -m1 -E 'ERROR|SUMMARY|runtime error' "fuzz/out/$n.log" | cut -c1-200) (fuzz/out/$n.log)"
		bad=1
	fi
done
exit $bad
