# test/fuzz.sh - the fuzz section of test/run.sh (sourced): each libFuzzer
# harness (fuzz/*.c, built by `make test` into fuzz/out) runs for
# FUZZ_TEST_SECS seconds (default 3) from its corpus (fuzz/run.sh); a crash,
# a sanitizer report or a leak fails the check.  `make fuzz` runs them
# longer (Documentation/fuzzing.md).
#   fuzz/images: the image decoders and criu show's rendering
#   fuzz/lazy_sock: the lazy-pages daemon's reception of a restorer's hello
#   fuzz/pagemap_entry: the pagemap's own decoder reads every entry as
#     protobuf-c does, or refuses it as protobuf-c does

FUZZ_CHECKS=(images lazy_sock page_server pagemap_entry)

run_fuzz_check() {
	local check=$1 name=fuzz/$1 bin out
	case $check in
	images) bin=fuzz-images ;;
	lazy_sock) bin=fuzz-lazy-sock ;;
	page_server) bin=fuzz-page-server ;;
	pagemap_entry) bin=fuzz-pagemap-entry ;;
	*) result FAIL "FAIL $name: no such check"; return ;;
	esac
	if [ ! -x "$ROOT/fuzz/out/$bin" ]; then
		result SKIP "SKIP $name: fuzz/out/$bin not built (make fuzzers: clang)"
		return
	fi
	if out=$(bash "$ROOT/fuzz/run.sh" "${FUZZ_TEST_SECS:-3}" "$bin"); then
		result PASS "PASS $name (${out#PASS $bin: })"
	else
		result FAIL "FAIL $name: ${out#FAIL $bin: }"
	fi
}

section fuzz FUZZ_CHECKS run_fuzz_check
