#!/bin/bash
# apgated as a process, without namespaces: start-up checks, SIGHUP reload
# (a bad file is refused and the running configuration kept; BSS added and
# removed), malformed hostapd events counted without harm, SIGTERM shutdown
# that removes its sockets and leaves a sound registry. hostapd is played by
# fakehapd (tests/peer), which speaks its control protocol.
set -u
HERE=$(cd "$(dirname "$0")" && pwd)
. "$HERE/../lab/tap.sh"
B=${APGATE_BUILD:-$HERE/../../build}
[ -x "$B/apgated" ] && [ -x "$B/fakehapd" ] || tap_skip_all "build first (no $B/apgated or fakehapd)"

W=$(mktemp -d /tmp/apgate-sys-XXXXXX)
PEER= DAEMON=
cleanup() {
	[ -n "$DAEMON" ] && kill "$DAEMON" 2>/dev/null
	[ -n "$PEER" ] && kill "$PEER" 2>/dev/null
	wait 2>/dev/null
	rm -rf "$W"
	tap_cleanup
}
trap cleanup EXIT

ctl() { "$B/apgatectl" -s "$W/admin.sock" "$@"; }
status_py() { ctl --json status | python3 -c "import json,sys; s=json.load(sys.stdin); print($1)"; }
wait_for() { # seconds cmd...
	local end=$((SECONDS + $1)); shift
	until "$@" >/dev/null 2>&1; do [ $SECONDS -ge $end ] && return 1; sleep 0.05; done
}
write_conf() { # extra sections...
	cat >"$W/apgate.conf" <<EOC
[apgated]
registry = $W/registry.db
admin_socket = $W/admin.sock
log_level = debug
oui_dir =

[hostapd]
ctrl_dir = $W/ctrl
client_dir = $W/client
ping_interval_ms = 200
backoff_max_ms = 500
$*
EOC
}
attached() { [ "$(status_py "[b['ifname'] for b in s['bss'] if b['attached']]")" = "$1" ]; }

mkdir -p "$W/ctrl"
"$B/fakehapd" -d "$W/ctrl" -i ap0 -i ap1 >"$W/peer.log" 2>&1 &
PEER=$!

# -- start-up errors have their own exit codes and name the problem
write_conf "[bss ap0]
zone = work"
sed -i "s|^registry = .*|registry = $W/no/such/dir/registry.db|" "$W/apgate.conf"
"$B/apgated" -f -c "$W/apgate.conf" 2>"$W/start.err"
check_eq "a registry that cannot be opened stops start-up with exit code 4" 4 $?
check "the reason names the registry file" grep -q "cannot open the registry $W/no/such/dir/registry.db" "$W/start.err"

write_conf "[bss ap0]
zone = work"
"$B/apgated" -n -c "$W/apgate.conf" >"$W/check.out" 2>&1
check_eq "apgated -n accepts a good file" 0 $?

# -- running, attached to the peer; sockets left by a killed apgated are cleared
mkdir -p "$W/client"
python3 -c 'import socket,sys; s=socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM); s.bind(sys.argv[1])' \
	"$W/client/apgated-4194000-ap0-ev"
"$B/apgated" -f -c "$W/apgate.conf" 2>"$W/apgated.log" &
DAEMON=$!
check "apgated attaches to the BSS" wait_for 5 attached "['ap0']"
check "a client socket of a dead apgated is removed at start-up" test ! -e "$W/client/apgated-4194000-ap0-ev"

# -- SIGHUP with a broken file: refused, old configuration kept
cp "$W/apgate.conf" "$W/good.conf"
printf '[bss ap1]\nzone = office\nfrobnicate = 1\n' >>"$W/apgate.conf"
kill -HUP "$DAEMON"
check "a bad reload is logged with file, line and key" \
	wait_for 5 grep -q "reload: $W/apgate.conf:[0-9]*: zone: 'office' is not a BSS zone" "$W/apgated.log"
check "every error of the bad file is logged" grep -q "reload: $W/apgate.conf:[0-9]*: frobnicate: unknown key" "$W/apgated.log"
check "the daemon keeps running on the old configuration" attached "['ap0']"

# -- SIGHUP with a good file: a BSS added, then one removed
write_conf "[bss ap0]
zone = work
[bss ap1]
zone = guest"
kill -HUP "$DAEMON"
check "a BSS added by reload is attached" wait_for 5 attached "['ap0', 'ap1']"
write_conf "[bss ap1]
zone = guest"
kill -HUP "$DAEMON"
check "a BSS removed by reload is let go" wait_for 5 attached "['ap1']"
check "its client sockets are removed" bash -c "! ls '$W/client' | grep -q -- '-ap0-'"

# -- SIGTERM: clean shutdown
kill -TERM "$DAEMON"
wait "$DAEMON"
check_eq "SIGTERM ends apgated with status 0" 0 $?
DAEMON=
check "the admin socket is removed" test ! -e "$W/admin.sock"
check "no client socket is left behind" bash -c "[ -z \"\$(ls -A '$W/client')\" ]"
check_eq "the registry is sound" ok "$(sqlite3 "$W/registry.db" 'PRAGMA integrity_check')"

tap_done
