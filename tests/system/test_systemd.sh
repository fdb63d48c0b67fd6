#!/bin/bash
# systemd integration (issue 6): the units in systemd/ and apgated's side of
# the notification protocol.
#
# 1. `systemd-analyze verify` on apgated.service, apgate-dnsmasq.service and
#    Debian's hostapd.service with apgate's drop-in. The test machine has no
#    /usr/sbin/apgated (and systemd is not PID 1), so the units are verified
#    inside a temporary root (--root): the unit files as they are in systemd/,
#    this build's apgated and apgate-hostapd-conf at the paths the units name,
#    the machine's dnsmasq, hostapd, setpriv, kill, touch, chgrp, chmod and its
#    /lib/systemd/system. verify loads each unit with its drop-ins, checks
#    every directive and that every command exists; it does not run them, so
#    the sandbox itself (User=, capabilities, ProtectSystem=) is not exercised
#    here. It exits 0 on unknown keys, so any output also counts as a failure.
# 2. `systemd-analyze security --offline=true`: the exposure score, printed
#    and held against the README's figure.
# 3. The notify protocol for real, without systemd: a python3 datagram
#    socket plays the service manager; apgated (observe only, in a private
#    network namespace) runs with NOTIFY_SOCKET, WATCHDOG_USEC=2000000 and
#    WATCHDOG_PID set to its own PID (a shell exports $$ and execs it).
set -u
HERE=$(cd "$(dirname "$0")" && pwd)
ROOT=$(cd "$HERE/../.." && pwd)
. "$HERE/../lab/tap.sh"
B=${APGATE_BUILD:-$ROOT/build}
[ -x "$B/apgated" ] && [ -x "$B/apgatectl" ] || tap_skip_all "build first (no $B/apgated or apgatectl)"
command -v systemd-analyze >/dev/null || tap_skip_all "no systemd-analyze (Debian package systemd)"
command -v python3 >/dev/null || tap_skip_all "no python3"

W=$(mktemp -d /tmp/apgate-sd-XXXXXX)
DAEMON= RECV= NS=
cleanup() {
	[ -n "$DAEMON" ] && kill "$DAEMON" 2>/dev/null
	[ -n "$RECV" ] && kill "$RECV" 2>/dev/null
	wait 2>/dev/null
	[ -n "$NS" ] && ip netns del "$NS" 2>/dev/null
	rm -rf "$W"
	tap_cleanup
}
trap cleanup EXIT

wait_for() { # seconds cmd...
	local end=$((SECONDS + $1)); shift
	until "$@" >/dev/null 2>&1; do [ $SECONDS -ge $end ] && return 1; sleep 0.05; done
}

# ---------------------------------------------------------------- 1. verify
R=$W/root
UNITS="apgated.service apgate-dnsmasq.service hostapd.service"
make_root() {
	local f
	mkdir -p "$R/etc/systemd/system" "$R/lib/systemd" "$R/usr/sbin" "$R/usr/bin" "$R/bin"
	cp -a /lib/systemd/system "$R/lib/systemd/" || return 1
	cp -r "$ROOT"/systemd/. "$R/etc/systemd/system/" || return 1
	cp "$B/apgated" "$B/apgate-hostapd-conf" "$R/usr/sbin/" || return 1
	for f in /usr/sbin/dnsmasq /usr/sbin/hostapd /usr/bin/setpriv /bin/kill /bin/touch /bin/chgrp /bin/chmod; do
		[ -x "$f" ] || { echo "missing $f"; return 1; }
		cp "$f" "$R$f" || return 1
	done
	[ -f "$R/lib/systemd/system/hostapd.service" ] || { echo "no hostapd.service (Debian package hostapd)"; return 1; }
}
verify_quiet() { # unit...: exit 0 and not a word of warning
	local out rc
	out=$(systemd-analyze verify --man=no --root="$R" "$@" 2>&1); rc=$?
	[ -n "$out" ] && echo "$out"
	[ "$rc" = 0 ] && [ -z "$out" ]
}
if check "a root with the units and what they run" make_root; then
	for u in $UNITS; do
		check "systemd-analyze verify $u (drop-ins included) is clean" verify_quiet "$u"
	done
	# the same check fails on a broken unit, a broken drop-in and a missing command
	cp "$R/etc/systemd/system/apgated.service" "$W/apgated.service.good"
	echo 'WatchdogSecs=60s' >>"$R/etc/systemd/system/apgated.service"
	check "verify would catch a misspelt key" bash -c "systemd-analyze verify --man=no --root='$R' apgated.service 2>&1 | grep -q 'WatchdogSecs'"
	cp "$W/apgated.service.good" "$R/etc/systemd/system/apgated.service"
	echo 'Befor=apgated.service' >>"$R/etc/systemd/system/hostapd.service.d/apgate.conf"
	check "verify reads the hostapd drop-in (a misspelt key there is reported)" \
		bash -c "systemd-analyze verify --man=no --root='$R' hostapd.service 2>&1 | grep -q 'apgate.conf:.*Befor'"
	cp "$ROOT/systemd/hostapd.service.d/apgate.conf" "$R/etc/systemd/system/hostapd.service.d/apgate.conf"
	mv "$R/usr/sbin/apgated" "$R/usr/sbin/apgated.moved"
	check "verify would catch a command that is not there" bash -c "! systemd-analyze verify --man=no --root='$R' apgated.service >/dev/null 2>&1"
	mv "$R/usr/sbin/apgated.moved" "$R/usr/sbin/apgated"

	# ------------------------------------------------------- 2. exposure
	for u in apgated.service apgate-dnsmasq.service; do
		score=$(systemd-analyze security --offline=true --root="$R" "$u" 2>/dev/null |
			sed -n 's/.*Overall exposure level for [^:]*: \([0-9.]*\).*/\1/p')
		tap_diag "systemd-analyze security --offline=true $u: exposure $score"
		check_match "$u has an exposure score" '^[0-9]+\.[0-9]$' "$score"
		# the README states the figure; the test keeps it honest
		check "the README states $u's exposure $score" grep -q "$u.*exposure $score\b" "$ROOT/README.md"
	done
fi
unit_has() { grep -qx "$2" "$ROOT/systemd/$1"; }
check "apgated.service is Type=notify" unit_has apgated.service 'Type=notify'
check "apgated.service has a watchdog" unit_has apgated.service 'WatchdogSec=60s'
check "apgated.service runs as apgate with three capabilities only" bash -c \
	"grep -qx 'User=apgate' '$ROOT/systemd/apgated.service' &&
	 grep -qx 'CapabilityBoundingSet=CAP_NET_ADMIN CAP_NET_RAW CAP_NET_BIND_SERVICE' '$ROOT/systemd/apgated.service' &&
	 grep -qx 'AmbientCapabilities=CAP_NET_ADMIN CAP_NET_RAW CAP_NET_BIND_SERVICE' '$ROOT/systemd/apgated.service'"

# ------------------------------------------------------- 3. notify protocol
[ "$(id -u)" = 0 ] || { tap_diag "not root: no network namespace, notify tests skipped"; tap_done; }
NS=apgsd$$
ip netns add "$NS" || tap_bail "cannot create a network namespace"

cat >"$W/recv.py" <<'EOF'
# The service manager's end: one line per datagram, "<seconds> <VAR=v|VAR=v>".
# On the first READY=1 it asks the admin socket at once (apgatectl status)
# and writes "ADMIN <exit status>".
import os, socket, subprocess, sys, time
path, log, ctl, adm = sys.argv[1:5]
s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
s.bind(path)
ready_seen = False
with open(log, "a", buffering=1) as out:
    out.write("BOUND\n")
    while True:
        msg = s.recv(4096).decode(errors="replace")
        out.write("%.3f %s\n" % (time.monotonic(), msg.replace("\n", "|")))
        if not ready_seen and "READY=1" in msg.split("\n"):
            ready_seen = True
            rc = subprocess.call([ctl, "-s", adm, "status"], stdout=subprocess.DEVNULL,
                                 stderr=subprocess.DEVNULL)
            out.write("ADMIN %d\n" % rc)
EOF
cat >"$W/apgate.conf" <<EOC
[apgated]
registry = $W/registry.db
admin_socket = $W/admin.sock
log_level = debug
oui_dir =

[hostapd]
ctrl_dir = $W/ctrl
client_dir = $W/client

[bss ap0]
zone = work
EOC
mkdir -p "$W/ctrl"
python3 "$W/recv.py" "$W/notify.sock" "$W/notify.log" "$B/apgatectl" "$W/admin.sock" &
RECV=$!
wait_for 5 grep -q BOUND "$W/notify.log" || tap_bail "the python3 notify socket did not come up"

start_daemon() { # WATCHDOG_PID value ("self" = apgated's own): starts apgated in $NS
	# ip netns exec and bash both exec: $! is apgated's PID, $$ inside too
	NOTIFY_SOCKET=$W/notify.sock WATCHDOG_USEC=2000000 WPID=$1 \
		ip netns exec "$NS" bash -c '[ "$WPID" = self ] && WPID=$$; export WATCHDOG_PID=$WPID; exec "$0" "$@"' \
		"$B/apgated" -f -c "$W/apgate.conf" 2>>"$W/apgated.log" &
	DAEMON=$!
}
msgs() { grep -v '^BOUND\|^ADMIN' "$W/notify.log"; }
count() { msgs | grep -c -- "$1"; }
has() { msgs | grep -q -- "$1"; }

start_daemon self
check "READY=1 arrives" wait_for 10 has 'READY=1'
check_eq "when READY=1 arrives the admin socket already answers (apgatectl status exits 0)" \
	"ADMIN 0" "$(wait_for 5 grep -q '^ADMIN' "$W/notify.log"; grep -m1 '^ADMIN' "$W/notify.log")"
check_match "READY=1 comes with a STATUS= line" 'READY=1[|]STATUS=running; observing only' "$(msgs | grep -m1 'READY=1')"
check "STATUS= lines name the start-up steps before READY=1" bash -c \
	"grep -v '^BOUND\|^ADMIN' '$W/notify.log' | sed '/READY=1/q' | grep -q 'STATUS=starting: registry'"
check "the log says the watchdog pings every 1000 ms" wait_for 3 grep -q 'watchdog ping every 1000 ms' "$W/apgated.log"

# WATCHDOG=1 about every second (WATCHDOG_USEC / 2) from the event loop
n0=$(count 'WATCHDOG=1')
sleep 5.5
n1=$(count 'WATCHDOG=1')
check "WATCHDOG=1 is sent repeatedly (5 or so in 5.5 s, got $((n1 - n0)))" test $((n1 - n0)) -ge 4 -a $((n1 - n0)) -le 7
gaps=$(msgs | grep 'WATCHDOG=1' | awk '{ if (p) printf "%.2f ", $1 - p; p = $1 }')
check "the pings are about 1 s apart ($gaps)" python3 -c '
import sys
g = [float(x) for x in sys.argv[1:]]
sys.exit(0 if len(g) >= 3 and all(0.7 <= x <= 1.6 for x in g) else 1)' $gaps

# SIGHUP: RELOADING=1, then READY=1 once the reload is done
before=$(msgs | wc -l)
kill -HUP "$DAEMON"
check "SIGHUP: READY=1 follows RELOADING=1" wait_for 5 bash -c \
	"grep -v '^BOUND\|^ADMIN' '$W/notify.log' | tail -n +$((before + 1)) | grep -v WATCHDOG | tr '\n' ' ' | grep -q 'RELOADING=1.*READY=1'"
reload_msgs=$(msgs | tail -n +$((before + 1)) | grep -v WATCHDOG)
check_match "RELOADING=1 carries MONOTONIC_USEC" 'RELOADING=1[|]MONOTONIC_USEC=[0-9]+' "$reload_msgs"
check_match "the READY=1 after a good reload says so" 'READY=1[|]STATUS=running; configuration reloaded' "$reload_msgs"
check "the reload happened between the two (the log says applied)" grep -q 'reload: configuration .* applied' "$W/apgated.log"

# a refused reload still ends with READY=1, and the status says it was refused
cp "$W/apgate.conf" "$W/good.conf"
printf 'frobnicate = 1\n' >>"$W/apgate.conf"
before=$(msgs | wc -l)
kill -HUP "$DAEMON"
check "a refused reload: RELOADING=1, then READY=1 with the refusal in STATUS=" wait_for 5 bash -c \
	"grep -v '^BOUND\|^ADMIN' '$W/notify.log' | tail -n +$((before + 1)) | grep -v WATCHDOG | tr '\n' ' ' |
	 grep -q 'RELOADING=1.*READY=1|STATUS=reload refused'"
cp "$W/good.conf" "$W/apgate.conf"

# SIGTERM: STOPPING=1, then a clean exit
kill -TERM "$DAEMON"
wait "$DAEMON"
check_eq "SIGTERM ends apgated with status 0" 0 $?
DAEMON=
check "STOPPING=1 was sent on SIGTERM" has 'STOPPING=1'
check "nothing after STOPPING=1 but its own line" bash -c \
	"grep -v '^BOUND\|^ADMIN' '$W/notify.log' | sed -n '/STOPPING=1/,\$p' | wc -l | grep -qx 1"

# WATCHDOG_PID naming another process: sd_watchdog_enabled() says no, no pings
: >"$W/notify.log"
start_daemon 1
check "READY=1 with a foreign WATCHDOG_PID" wait_for 10 has 'READY=1'
sleep 2.5
check_eq "no WATCHDOG=1 when WATCHDOG_PID is another process" 0 "$(count 'WATCHDOG=1')"
kill -TERM "$DAEMON"; wait "$DAEMON"; DAEMON=

# without NOTIFY_SOCKET nothing is sent, and apgated runs as before
: >"$W/notify.log"
WATCHDOG_USEC=2000000 ip netns exec "$NS" "$B/apgated" -f -c "$W/apgate.conf" 2>>"$W/apgated.log" &
DAEMON=$!
check "without NOTIFY_SOCKET apgated starts (admin socket answers)" wait_for 10 "$B/apgatectl" -s "$W/admin.sock" status
sleep 1.5
kill -TERM "$DAEMON"; wait "$DAEMON"; rc=$?; DAEMON=
check_eq "... and stops with status 0" 0 "$rc"
check_eq "... and sends nothing" "" "$(msgs)"

tap_done
