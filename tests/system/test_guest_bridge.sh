#!/bin/bash
# Guests on a wired guest bridge never reach each other, with real traffic.
# Namespace "ap" holds the bridge br-guest (10.78.0.1/24) and apgated
# (zones configured, hostapd played by fakehapd); guest devices g1, g2 (and
# g3, plugged in while apgated runs) are namespaces on veth ports of it.
# Before apgated g1 reaches g2 (the test can see a failure); with apgated
# every port is isolated (IFLA_BRPORT_ISOLATED): no ping, no TCP between
# guests, the gateway still answers everyone. bridge-nf-call-iptables is
# off in "ap", so netfilter (apgate's rules) never sees bridged frames:
# what blocks guest-to-guest traffic here is the bridge alone.
set -u
HERE=$(cd "$(dirname "$0")" && pwd)
. "$HERE/../lab/tap.sh"
. "$HERE/zones_conf.sh"
B=${APGATE_BUILD:-$HERE/../../build}
[ "$(id -u)" = 0 ] || tap_skip_all "needs root (network namespaces)"
[ -x "$B/apgated" ] && [ -x "$B/fakehapd" ] || tap_skip_all "build first"
command -v bridge >/dev/null || tap_skip_all "no bridge (iproute2)"
command -v python3 >/dev/null || tap_skip_all "no python3 (TCP listener)"
command -v busybox >/dev/null || tap_skip_all "no busybox (ping)"

S=gb-$$-$RANDOM
AP=$S-ap G1=$S-g1 G2=$S-g2 G3=$S-g3
W=$(mktemp -d /tmp/apgate-gb-XXXXXX)
PEER= DAEMON= LISTENER=
cleanup() {
	[ -n "$DAEMON" ] && kill "$DAEMON" 2>/dev/null
	[ -n "$PEER" ] && kill "$PEER" 2>/dev/null
	[ -n "$LISTENER" ] && kill $LISTENER 2>/dev/null
	wait 2>/dev/null
	for n in "$G1" "$G2" "$G3" "$AP"; do ip netns del "$n" 2>/dev/null; done
	[ -n "${KEEP:-}" ] || rm -rf "$W"
	tap_cleanup
}
trap cleanup EXIT
ip netns add "$AP" || tap_skip_all "cannot create a network namespace"
in_ap() { ip netns exec "$AP" "$@"; }
in_ap ip link set lo up
# bridged frames bypass iptables in this namespace (per-netns since 5.3)
[ -e /proc/sys/net/bridge/bridge-nf-call-iptables ] &&
	in_ap sysctl -qw net.bridge.bridge-nf-call-iptables=0 net.bridge.bridge-nf-call-ip6tables=0
in_ap ip link add br-guest type bridge
in_ap ip link set br-guest up
in_ap ip addr add 10.78.0.1/24 dev br-guest
for i in br-work br-onb up0; do
	in_ap ip link add "$i" type veth peer name "$i-p"
	in_ap ip link set "$i" up
	in_ap ip link set "$i-p" up
done
in_ap ip addr add 10.77.0.1/24 dev br-work
in_ap ip addr add 10.79.0.1/24 dev br-onb
in_ap ip addr add 198.51.100.1/24 dev up0

plug() { # NS PORT ADDR: a device namespace on a new port of br-guest
	ip netns add "$1" || return 1
	ip netns exec "$1" ip link set lo up
	in_ap ip link add "$2" type veth peer name eth0 netns "$1" || return 1
	ip netns exec "$1" ip addr add "$3/24" dev eth0
	ip netns exec "$1" ip link set eth0 up
	ip netns exec "$1" ip route add default via 10.78.0.1
	in_ap ip link set "$2" master br-guest up
}
plug "$G1" g1p 10.78.0.11 || tap_bail "cannot plug g1"
plug "$G2" g2p 10.78.0.12 || tap_bail "cannot plug g2"

mkdir -p "$W/ctrl"
zones_conf "$W" "$B" br-work debug 200 "" >"$W/apgate.conf"

ctl() { "$B/apgatectl" -s "$W/admin.sock" "$@"; }
wait_for() { local end=$((SECONDS + $1)); shift; until "$@" >/dev/null 2>&1; do [ $SECONDS -ge $end ] && return 1; sleep 0.05; done; }
start() {
	ip netns exec "$AP" "$B/apgated" -f -c "$W/apgate.conf" 2>>"$W/apgated.log" &
	DAEMON=$!
	wait_for 5 ctl status
}
stop() {
	kill "$DAEMON" || return 1
	wait "$DAEMON"
	local rc=$?
	DAEMON=
	return $rc
}
pings() { ip netns exec "$1" busybox ping -q -c 1 -W 1 "$2"; }   # NS ADDR
no_ping() { ! ip netns exec "$1" busybox ping -q -c 1 -W 1 "$2"; }
tcp() { ip netns exec "$1" timeout 1 bash -c "exec 3<>/dev/tcp/$2/${3:-5000}"; } # NS ADDR [PORT]
# apgate's guest policy lets a guest reach the gateway only for DHCP, DNS and
# the portal (ICMP echo to it is dropped by APGATE_IN): with apgated the
# gateway is reached on TCP/53, a listener in "ap" standing in for dnsmasq
gw() { tcp "$1" 10.78.0.1 53; }
isolated() { in_ap bridge -d link show dev "$1" | grep -q 'isolated on'; }
both_isolated() { isolated "$1" && isolated "$2"; }
no_tcp() { ! tcp "$@"; }
not_isolated() { in_ap bridge -d link show dev "$1" | grep -q 'isolated off'; }

# a TCP listener on g2 (ip netns exec execs python: $! is its PID)
ip netns exec "$G2" python3 -c '
import socket
s = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(("0.0.0.0", 5000)); s.listen(16)
while True:
    c, _ = s.accept(); c.close()' &
LISTENER=$!
ip netns exec "$AP" python3 -c '
import socket
s = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(("10.78.0.1", 53)); s.listen(16)
while True:
    c, _ = s.accept(); c.close()' &
LISTENER="$LISTENER $!"
wait_for 3 bash -c "ip netns exec $G2 ss -ltn | grep -q ':5000'"
wait_for 3 bash -c "ip netns exec $AP ss -ltn | grep -q '10.78.0.1:53'"

check "before apgated: the ports are not isolated" not_isolated g1p
check "before apgated: g1 pings g2 (the bridge forwards between guests)" pings "$G1" 10.78.0.12
check "before apgated: g1 opens TCP to g2" tcp "$G1" 10.78.0.12
check "before apgated: g1 pings the gateway" pings "$G1" 10.78.0.1

ip netns exec "$AP" "$B/fakehapd" -d "$W/ctrl" -i ap0 >"$W/peer.log" 2>&1 &
PEER=$!
check "apgated starts with br-guest as the guest zone's interface" start
check "both guest ports are isolated" both_isolated g1p g2p
check "g1 can no longer ping g2" no_ping "$G1" 10.78.0.12
check "g2 can no longer ping g1" no_ping "$G2" 10.78.0.11
check "g1 can no longer open TCP to g2" no_tcp "$G1" 10.78.0.12
check "g1 still reaches the gateway 10.78.0.1 (TCP/53)" gw "$G1"
check "g2 still reaches the gateway 10.78.0.1 (TCP/53)" gw "$G2"

plug "$G3" g3p 10.78.0.13
check "g3, plugged in while apgated runs, is isolated within 2 s" wait_for 2 isolated g3p
check "g3 reaches the gateway (TCP/53)" gw "$G3"
check "g3 cannot ping g1" no_ping "$G3" 10.78.0.11
check "g1 cannot ping g3" no_ping "$G1" 10.78.0.13
check "g3 cannot open TCP to g2" no_tcp "$G3" 10.78.0.12

in_ap bridge link set dev g1p isolated off
check "isolation cleared by hand is set again while apgated runs" wait_for 2 isolated g1p
check "and logged as a warning" grep -q 'g1p had its isolation cleared by someone else' "$W/apgated.log"

check "apgated stops on SIGTERM with status 0" stop
check "the ports stay isolated after apgated stopped (the network stays closed)" isolated g2p
in_ap bridge link set dev g2p isolated off
check "g1 reaches g2 again once g2's flag is cleared (the flag is what blocks)" pings "$G1" 10.78.0.12
check "apgated starts again" start
check "the restart isolates the port cleared while it was stopped" isolated g2p
check "and g1 can no longer ping g2" no_ping "$G1" 10.78.0.12
check "apgated stops again" stop
check "no sanitizer report in apgated's log" bash -c "! grep -q 'Sanitizer' '$W/apgated.log'"
[ "$TAP_FAILED" = 0 ] || tap_diag "$(tail -30 "$W/apgated.log")"
tap_done
