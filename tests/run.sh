#!/bin/bash
# run.sh BUILD_DIR - runs every test and ends with "N passed, N failed, N skipped".
#
# Unit tests are cmocka binaries (BUILD/tests/test_*): their own summary lines
# are counted. Lab tests are scripts (tests/lab/test_*.sh, tests/*/test_*.sh)
# printing "ok - ...", "not ok - ...", "skip - ..." lines; exit 77 = skipped.
# UNIT_ONLY=1 runs only the unit tests; TESTS="name ..." runs a subset.
set -u
BUILD=${1:-build}
cd "$(dirname "$0")/.."
ROOT=$PWD
export APGATE_BUILD="$ROOT/$BUILD"
ART="$ROOT/tests/artifacts"
mkdir -p "$ART"
passed=0 failed=0 skipped=0
failures=()

selected() { # name
	[ -z "${TESTS:-}" ] && return 0
	for t in $TESTS; do [ "$t" = "$1" ] && return 0; done
	return 1
}

run_unit() { # binary
	local bin=$1 name out rc p f s
	name=$(basename "$bin")
	selected "$name" || return 0
	out="$ART/$name.log"
	echo "== $name"
	timeout 300 "$bin" >"$out" 2>&1
	rc=$?
	cat "$out"
	p=$(sed -n 's/^\[  PASSED  \] \([0-9]*\) test.*/\1/p' "$out" | awk '{s+=$1} END {print s+0}')
	f=$(sed -n 's/^\[  FAILED  \] \([0-9]*\) test.*/\1/p' "$out" | awk '{s+=$1} END {print s+0}')
	s=$(sed -n 's/^\[  SKIPPED \] \([0-9]*\) test.*/\1/p' "$out" | awk '{s+=$1} END {print s+0}')
	if [ "$rc" -ne 0 ] && [ "$f" -eq 0 ]; then
		f=1 # crashed or sanitizer abort before cmocka could count
		echo "not ok - $name exited with status $rc"
	fi
	passed=$((passed + p)); failed=$((failed + f)); skipped=$((skipped + s))
	[ "$f" -gt 0 ] && failures+=("$name")
}

run_script() { # script
	local sc=$1 name out rc p f s
	name=$(basename "$sc" .sh)
	selected "$name" || return 0
	out="$ART/$name.log"
	echo "== $name"
	timeout 600 bash "$sc" >"$out" 2>&1
	rc=$?
	cat "$out"
	p=$(grep -c '^ok - ' "$out")
	f=$(grep -c '^not ok - ' "$out")
	s=$(grep -c '^skip - ' "$out")
	if [ "$rc" -eq 77 ]; then
		[ "$s" -eq 0 ] && s=1
	elif [ "$rc" -ne 0 ] && [ "$f" -eq 0 ]; then
		f=1
		echo "not ok - $name exited with status $rc"
	fi
	passed=$((passed + p)); failed=$((failed + f)); skipped=$((skipped + s))
	[ "$f" -gt 0 ] && failures+=("$name")
}

for bin in "$BUILD"/tests/test_*; do
	[ -x "$bin" ] && run_unit "$bin"
done
if [ -z "${UNIT_ONLY:-}" ]; then
	for sc in tests/system/test_*.sh tests/lab/test_*.sh; do
		[ -f "$sc" ] && run_script "$sc"
	done
fi

echo
[ ${#failures[@]} -gt 0 ] && echo "failed: ${failures[*]}"
echo "$passed passed, $failed failed, $skipped skipped"
[ "$failed" -eq 0 ]
