# tap.sh - tiny TAP helpers for the lab tests (source it).
#   check "description" CMD [ARGS...]     ok if CMD exits 0; its output becomes
#                                         "# " diagnostics when it fails
#   check_eq "description" EXPECTED ACTUAL
#   check_match "description" REGEX TEXT  (bash =~, extended regex)
#   tap_diag TEXT...                      "# " lines (also for multi-line text)
#   tap_fail "description" [DIAG]         an unconditional "not ok"
#   tap_skip_all REASON                   print "# SKIP REASON", exit 77
#   tap_bail REASON                       "not ok - REASON", summary, exit 1
#   tap_done                              plan + summary; exit 1 if a check failed
# Output: "ok - description" / "not ok - description" per check, a trailing
# "1..N" plan and "# passed/failed" summary.

TAP_N=0
TAP_FAILED=0
TAP_T0=${EPOCHREALTIME//[!0-9]/}

tap_diag() {
	local line
	printf '%s\n' "$@" | while IFS= read -r line; do printf '# %s\n' "$line"; done
}

_tap_result() { # STATUS DESC
	TAP_N=$((TAP_N + 1))
	if [ "$1" = 0 ]; then
		printf 'ok - %s\n' "$2"
	else
		TAP_FAILED=$((TAP_FAILED + 1))
		printf 'not ok - %s\n' "$2"
	fi
}

TAP_OUT=                        # captures a check's output; made on first use
tap_cleanup() { [ -z "$TAP_OUT" ] || rm -f "$TAP_OUT"; }

# CMD runs in this shell (not a subshell), so variables it sets survive
check() {
	local desc=$1 rc; shift
	[ -n "$TAP_OUT" ] || TAP_OUT=$(mktemp /tmp/apgate-tap.XXXXXX)
	"$@" >"$TAP_OUT" 2>&1; rc=$?
	_tap_result "$rc" "$desc"
	if [ "$rc" != 0 ]; then
		tap_diag "command: $* (exit $rc)"
		[ -s "$TAP_OUT" ] && tap_diag "$(head -c 4000 "$TAP_OUT")"
	fi
	return "$rc"
}

check_eq() {
	local desc=$1 exp=$2 act=$3
	if [ "$exp" = "$act" ]; then _tap_result 0 "$desc"; return 0; fi
	_tap_result 1 "$desc"
	tap_diag "expected: $exp" "     got: $act"
	return 1
}

check_match() {
	local desc=$1 re=$2 text=$3
	if [[ $text =~ $re ]]; then _tap_result 0 "$desc"; return 0; fi
	_tap_result 1 "$desc"
	tap_diag "expected to match: $re" "got:" "$text"
	return 1
}

tap_fail() { _tap_result 1 "$1"; [ -z "${2:-}" ] || tap_diag "$2"; return 1; }

tap_skip_all() { printf '# SKIP %s\n' "$1"; exit 77; }

tap_bail() {
	_tap_result 1 "$1"
	[ -z "${2:-}" ] || tap_diag "$2"
	tap_done
}

tap_done() {
	local t=$(( (${EPOCHREALTIME//[!0-9]/} - TAP_T0) / 1000 ))
	printf '1..%d\n' "$TAP_N"
	printf '# %s: %d passed, %d failed, %d.%03d s\n' "$(basename "$0")" \
		$((TAP_N - TAP_FAILED)) "$TAP_FAILED" $((t / 1000)) $((t % 1000))
	[ "$TAP_FAILED" = 0 ] && exit 0
	exit 1
}
