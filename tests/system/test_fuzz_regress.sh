#!/bin/bash
# The libFuzzer targets (tests/fuzz/, one per parser of outside input)
# built with clang, ASan and UBSan: each replays its whole seed corpus
# (tests/fuzz/corpus/<target>: real hostapd events and replies, configs,
# admin-socket lines, HTTP headers and forms, lease-helper arguments, and
# the inputs of crashes found and fixed) and then fuzzes for FUZZ_CI_SECS
# seconds (default 5). A crash, a sanitizer report, a leak or a hang
# (over 10 s on one input) is a "not ok" with the input in hex.
# `make fuzz` runs the same targets longer (FUZZ_SECS).
set -u
HERE=$(cd "$(dirname "$0")" && pwd)
ROOT=$(cd "$HERE/../.." && pwd)
. "$HERE/../lab/tap.sh"
command -v clang >/dev/null || tap_skip_all "no clang (make deps-fuzz installs it)"
SECS=${FUZZ_CI_SECS:-5}
FB=build-fuzz
TARGETS=$(make -s -C "$ROOT" --no-print-directory -f Makefile -f - print-fuzz-targets <<'MK'
print-fuzz-targets:
	@echo $(FUZZ_TARGETS)
MK
)
# Targets whose fuzzing step is held back because it finds an open bug
# within seconds (their seeds still run): the bug, and where it must be
# fixed. Remove the entry with the fix and add the input to the corpus.
declare -A HELD=()
W=$(mktemp -d /tmp/apgate-fuzzreg-XXXXXX)
cleanup() {
	rm -rf "$W"
	tap_cleanup
}
trap cleanup EXIT

check "fuzz targets build with clang -fsanitize=fuzzer,address,undefined ($TARGETS)" \
	make -s -C "$ROOT" --no-print-directory CC=clang BUILD=$FB FUZZ=1 fuzz-bins -j"$(nproc)" ||
	tap_bail "no fuzz targets to run"

# the crash's input (the newest artifact) in hex, and the report's head
report() { # TARGET LOG
	local a
	a=$(ls -t "$W/$1-art/" 2>/dev/null | head -1)
	grep -m1 -E 'ERROR|runtime error|SUMMARY' "$2"
	[ -n "$a" ] && echo "input ($a, hex): $(head -c 2048 "$W/$1-art/$a" | xxd -p | tr -d '\n')"
	grep -v '^INFO\|^#[0-9]\|NEW_FUNC\|^    #[0-9]* 0x.* in fuzzer::' "$2" | head -40
}

for t in $TARGETS; do
	bin=$ROOT/$FB/fuzz/$t seeds=$ROOT/tests/fuzz/corpus/$t
	mkdir -p "$W/$t-art" "$W/$t-new"
	n=$(find "$seeds" -type f | wc -l)
	check_eq "$t: has a seed corpus" yes "$([ "$n" -gt 0 ] && echo yes || echo "no files in $seeds")"
	# -runs=0: every seed once, no mutation
	"$bin" -runs=0 -timeout=10 -artifact_prefix="$W/$t-art/" "$seeds" >"$W/$t-seeds.log" 2>&1
	rc=$?
	if [ "$rc" = 0 ]; then
		_tap_result 0 "$t: all $n seed inputs run clean"
	else
		tap_fail "$t: a seed input fails (exit $rc)" "$(report "$t" "$W/$t-seeds.log")"
	fi
	if [ -n "${HELD[$t]:-}" ] && [ -z "${FUZZ_HELD:-}" ]; then
		printf 'skip - %s: fuzzing held back (FUZZ_HELD=1 runs it): %s\n' "$t" "${HELD[$t]}"
		continue
	fi
	dict=()
	[ -f "$ROOT/tests/fuzz/$t.dict" ] && dict=(-dict="$ROOT/tests/fuzz/$t.dict")
	"$bin" -max_total_time="$SECS" -timeout=10 -print_final_stats=1 "${dict[@]}" \
		-artifact_prefix="$W/$t-art/" "$W/$t-new" "$seeds" >"$W/$t-fuzz.log" 2>&1
	rc=$?
	runs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$W/$t-fuzz.log")
	eps=$(sed -n 's/^stat::average_exec_per_sec: *//p' "$W/$t-fuzz.log")
	if [ "$rc" = 0 ]; then
		_tap_result 0 "$t: ${SECS} s of fuzzing, no crash (${runs:-?} inputs, ${eps:-?} exec/s)"
	else
		tap_fail "$t: fuzzing found a crash (exit $rc, after ${runs:-?} inputs)" "$(report "$t" "$W/$t-fuzz.log")"
	fi
done
tap_done
