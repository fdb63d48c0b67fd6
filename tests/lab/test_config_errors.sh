#!/bin/bash
# test_config_errors.sh - "apgated -n -c FILE" checks the config and exits:
# an unknown key, a bad value, a missing required key and a duplicate [bss]
# section each make it exit non-zero with "FILE:LINE: key:" on stderr (right
# file, line and key); every error of a file is reported, not just the first;
# a good config exits 0 and starts nothing. Needs no root and no namespace.
set -u
HERE=$(cd "$(dirname "$0")" && pwd)
. "$HERE/lab.sh"
. "$HERE/tap.sh"

[ -x "$BUILD/apgated" ] || tap_bail "apgated is built ($BUILD/apgated)" "run: make build"

T=$(mktemp -d /tmp/apgate-cfgtest.XXXXXX)
trap 'rm -rf -- "$T"; tap_cleanup' EXIT
mkdir -p "$T/ctrl" "$T/client"

# write_conf NAME : stdin -> $T/NAME, prints the path
write_conf() { cat > "$T/$1"; echo "$T/$1"; }

# a good config; the broken variants are edits of it
good() {
	cat <<EOF
[apgated]
registry = $T/registry.db
admin_socket = $T/admin.sock
admin_socket_mode = 0660
log_level = debug

[hostapd]
ctrl_dir = $T/ctrl
client_dir = $T/client
ping_interval_ms = 500

[bss ap0]
zone = work

[bss ap1]
zone = guest
EOF
}

# run_n FILE : apgated -n -c FILE; sets RC and ERR (stderr)
run_n() {
	ERR=$(timeout 5 "$BUILD/apgated" -n -c "$1" 2>&1 >/dev/null); RC=$?
}

# lineof FILE REGEX : number of the first line matching REGEX
lineof() { grep -n -m1 -E "$2" "$1" | cut -d: -f1; }

# expect_error WHAT FILE LINE KEY [KEY_REGEX]
expect_error() {
	local what=$1 f=$2 line=$3 key=$4 re=${5:-$4} nl=$'\n'
	run_n "$f"
	check "$what: exits non-zero" test "$RC" != 0 -a "$RC" != 124 || tap_diag "exit $RC" "$ERR"
	check_match "$what: stderr has '$(basename "$f"):$line: $key:'" "(^|$nl)$f:$line: $re: " "$ERR"
}

f=$(good | write_conf good.conf)
run_n "$f"
check_eq "a good config: -n exits 0" 0 "$RC" || tap_diag "$ERR"
check "-n started nothing (no admin socket left behind)" test ! -e "$T/admin.sock"

f=$(good | sed 's/^admin_socket_mode = .*/colour = blue/' | write_conf unknown-key.conf)
expect_error "unknown key" "$f" "$(lineof "$f" '^colour')" colour

f=$(good | sed '/^\[bss ap0\]/,/^zone/s/^zone = work/zone = office/' | write_conf bad-value.conf)
expect_error "bad value (zone = office)" "$f" "$(lineof "$f" '^zone = office')" zone

# no registry line: reported at the [apgated] header
f=$(good | sed '/^registry/d' | write_conf missing-key.conf)
expect_error "missing required key (registry)" "$f" "$(lineof "$f" '^\[apgated\]')" registry

# a second [bss ap0] at the end: reported at its header
f=$( { good; printf '\n[bss ap0]\nzone = guest\n'; } | write_conf dup-bss.conf)
expect_error "duplicate [bss ap0] section" "$f" "$(grep -n '^\[bss ap0\]' "$f" | tail -n1 | cut -d: -f1)" "bss ap0" '\[?bss ap0\]?'

# several errors in one file: each one reported
f=$(good | sed -e 's/^admin_socket_mode = .*/colour = blue/' -e 's/^zone = work/zone = office/' \
	-e 's/^ping_interval_ms = .*/ping_interval_ms = soon/' | write_conf many.conf)
run_n "$f"
check "three errors: exits non-zero" test "$RC" != 0 -a "$RC" != 124
check_match "three errors: colour reported" "$f:$(lineof "$f" '^colour'): colour: " "$ERR"
check_match "three errors: ping_interval_ms reported" "$f:$(lineof "$f" '^ping_interval_ms'): ping_interval_ms: " "$ERR"
check_match "three errors: zone reported" "$f:$(lineof "$f" '^zone = office'): zone: " "$ERR"

# a missing file is an error too (and names the file)
run_n "$T/no-such.conf"
check "a missing config file: exits non-zero" test "$RC" != 0 -a "$RC" != 124
check_match "a missing config file: stderr names it" "$T/no-such.conf" "$ERR"

tap_done
