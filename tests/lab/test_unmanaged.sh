#!/bin/bash
# test_unmanaged.sh - devices that bypass the access point (issue 8, item 3),
# with real bridges, real veths and real frames:
#  - r1, whose veth is enslaved straight to the work zone's bridge (not via
#    hostapd, not via a managed wired port), sends one ARP request: it is
#    listed by "apgatectl unmanaged" (seen on "br-work port rog0") and an
#    open "unmanaged" alert names it and the port;
#  - m1, a managed wired station behind p1 ([network] wired_ports), sends
#    the same: it is not listed and not alerted;
#  - the AP's own bridge and port addresses and the uplink's gateway (the
#    internet host, which the AP has talked to) are not listed;
#  - after a reload (SIGHUP) r1 is still listed and not alerted again, and
#    the watch goes on:
#  - a second host on the uplink segment (beside the gateway) is listed
#    and alerted, the gateway itself is not;
#  - r1's cable then goes into a managed port (its veth becomes p2): once
#    the bridge learns it there, it is dropped from the list.
# The zones' interfaces are bridges made here (as in test_wired_ports.sh).
# Needs root (namespaces); exit 77 otherwise.
set -u
export LAB_ZONES=1
HERE=$(cd "$(dirname "$0")" && pwd)
. "$HERE/lab.sh"
. "$HERE/tap.sh"

M1=$(lab_mac 1) R1=$(lab_mac 2)
BR_WORK=br-work BR_GUEST=br-guest BR_ONB=br-onb

lab_require
command -v iptables-legacy >/dev/null || tap_skip_all "iptables-legacy not installed"
command -v bridge >/dev/null || tap_skip_all "bridge (iproute2) not installed"
lab_trap
lab_up || tap_bail "zones lab comes up (hostapd, uplink, LAN, internet)"
AP=$LAB_AP_NS

# plug NAME MAC PORT ADDR/LEN : device namespace NAME with veth eth0 (MAC)
# whose other end PORT is in the AP namespace, up, in no bridge
plug() {
	local name=$1 mac=$2 port=$3 addr=$4 d=$LAB_DIR/dev/$1 ns
	ns=$(lab_dev_ns "$name")
	mkdir -p "$d"
	echo "$mac" > "$d/mac"; echo wired > "$d/kind"; echo "$ns" > "$d/ns"
	_lab_netns_add "$ns" || return 1
	ip -n "$ns" link add "$LAB_DEV_IF" address "$mac" type veth peer name "$port" netns "$AP" &&
	ip -n "$ns" addr add "$addr" dev "$LAB_DEV_IF" &&
	ip -n "$ns" link set "$LAB_DEV_IF" up &&
	ip -n "$AP" link set "$port" up
}
# poke NAME TARGET : one ARP request from the device (the bridge learns it)
poke() {
	timeout 3 ip netns exec "$(lab_dev_ns "$1")" busybox arping -c 1 -w 1 -I "$LAB_DEV_IF" "$2" >/dev/null 2>&1
	return 0
}
# unmanaged_json : "apgatectl --json unmanaged" as one line per MAC: "MAC WHERE"
unmanaged_list() {
	lab_ctl --json unmanaged | "$LAB_PY" -c '
import json, sys
for u in json.load(sys.stdin): print(u["mac"], u.get("where") or "")'
}
listed_at() { unmanaged_list | grep -qx "$1 $2"; }
not_listed() { ! unmanaged_list | grep -q "^$1 "; }

# ---- the zones' bridges, the gateways on them ----
n=0
for br in "$BR_WORK" "$BR_GUEST" "$BR_ONB"; do
	n=$((n + 1))
	ip -n "$AP" link add "$br" address "02:a0:00:00:10:0$n" type bridge && ip -n "$AP" link set "$br" up ||
		tap_bail "bridge $br in the AP namespace"
done
ip -n "$AP" addr del "$LAB_GW_WORK/24" dev "$LAB_WORK_BSS" &&
ip -n "$AP" addr del "$LAB_GW_GUEST/24" dev "$LAB_GUEST_BSS" &&
ip -n "$AP" addr del "$LAB_GW_ONB/24" dev "$LAB_ONB_IF" &&
ip -n "$AP" addr add "$LAB_GW_WORK/24" dev "$BR_WORK" &&
ip -n "$AP" addr add "$LAB_GW_GUEST/24" dev "$BR_GUEST" &&
ip -n "$AP" addr add "$LAB_GW_ONB/24" dev "$BR_ONB" || tap_bail "zone gateways on the bridges"

# m1 behind the managed port p1; r1 straight into the work bridge (rog0)
plug m1 "$M1" p1 10.79.0.11/24 || tap_bail "device m1 on port p1"
plug r1 "$R1" rog0 10.77.0.66/24 || tap_bail "device r1 on rog0"
ip -n "$AP" link set rog0 master "$BR_WORK" || tap_bail "rog0 into $BR_WORK"
# the AP has talked to its uplink gateway (the internet host), as any AP has
ip netns exec "$AP" busybox ping -c 1 -W 2 "$LAB_INET_IP" >/dev/null || tap_bail "AP reaches the internet host"
INET_MAC=$(ip -n "$LAB_INET_NS" -o link show eth0 2>/dev/null | awk '{for (i = 1; i < NF; i++) if ($i == "link/ether") print $(i + 1)}')

lab_apgated_write_conf "
[zone work]
interface = $BR_WORK
address = $LAB_GW_WORK/24

[zone guest]
interface = $BR_GUEST
address = $LAB_GW_GUEST/24

[zone onboarding]
interface = $BR_ONB
address = $LAB_GW_ONB/24

[network]
uplink = $LAB_UPLINK_IF
masquerade = yes
lan = 192.168.50.0/24
captive_port = $LAB_CAPTIVE_PORT
wired_ports = p1 p2
bounce_on_move = no
watch_unmanaged = yes

[checks]
enabled = no

$(lab_portal_conf)"
lab_apgated_start || tap_bail "apgated starts with the bridges as zones and watch_unmanaged"
lab_wait_for 3 eval '[ "$(ip -n "$AP" -o link show dev p1 2>/dev/null | grep -o "master [^ ]*")" = "master $BR_ONB" ]'

# ---- frames ----
poke m1 "$LAB_GW_ONB"
poke r1 "$LAB_GW_WORK"
check "r1 (straight into $BR_WORK) is listed as unmanaged, seen on $BR_WORK port rog0" \
	lab_wait_for 5 listed_at "$R1" "$BR_WORK port rog0"
alerts=$(lab_ctl alerts 2>&1)
check_match "an open alert says r1 bypasses the access point on $BR_WORK port rog0" \
	"$R1.*bypasses the access point: seen on $BR_WORK port rog0" "$alerts"
check "m1 (behind the managed port p1) became a pending device" lab_wait_for 3 lab_dev_is "$M1" state pending
check "m1 is not listed as unmanaged" not_listed "$M1"
check_match "no alert about m1" "^$" "$(lab_ctl alerts 2>&1 | grep -i "$M1" || true)"
own=$( { ip -n "$AP" -o link show 2>/dev/null; } | awk '{for (i = 1; i < NF; i++) if ($i == "link/ether") print $(i + 1)}')
bad=$(for m in $own; do unmanaged_list | grep "^$m " ; done)
check_eq "none of the AP's own addresses (bridges, ports, uplink) is listed" "" "$bad"
check "the uplink's gateway ($INET_MAC) is not listed" not_listed "$INET_MAC"
out=$(lab_ctl unmanaged 2>&1)
check_match "apgatectl unmanaged shows r1" "$R1" "$out"

# ---- a reload (SIGHUP) restarts the watch; nothing is alerted twice ----
n_alerts=$(lab_ctl alerts 2>&1 | grep -c "bypasses the access point")
check "reload (SIGHUP) of apgated" kill -HUP "$(lab_apgated_pid)"
check "apgated answers after the reload" lab_wait_for 3 _lab_apgated_answers
check "r1 is still listed after the reload" listed_at "$R1" "$BR_WORK port rog0"
sleep 0.5
check_eq "the reload raised no second alert" "$n_alerts" "$(lab_ctl alerts 2>&1 | grep -c "bypasses the access point")"

# ---- a device beside the shop's router, on the uplink segment ----
# (a macvlan on the internet host's side of the uplink: its own MAC and
# address on the same wire as the gateway)
UP_MAC=02:00:00:00:0d:01 UP_IP=198.51.100.77
ip -n "$LAB_INET_NS" link add link eth0 name byp0 address "$UP_MAC" type macvlan mode bridge &&
	ip -n "$LAB_INET_NS" addr add "$UP_IP/24" dev byp0 && ip -n "$LAB_INET_NS" link set byp0 up ||
	tap_bail "a second host on the uplink segment"
timeout 3 ip netns exec "$LAB_INET_NS" busybox arping -c 1 -w 1 -I byp0 198.51.100.1 >/dev/null 2>&1
check "the host beside the gateway on the uplink is listed as unmanaged on $LAB_UPLINK_IF" \
	lab_wait_for 5 listed_at "$UP_MAC" "$LAB_UPLINK_IF"
check_match "an open alert names it with its address" \
	"$UP_MAC, $UP_IP\) bypasses the access point: seen on $LAB_UPLINK_IF" "$(lab_ctl alerts 2>&1)"
check "the uplink's gateway is still not listed" not_listed "$INET_MAC"

# ---- r1's cable goes into a managed port ----
ip -n "$AP" link set rog0 nomaster && ip -n "$AP" link set rog0 down &&
	ip -n "$AP" link set rog0 name p2 && ip -n "$AP" link set p2 up || tap_bail "rog0 becomes the managed port p2"
check "apgated places the new managed port p2 into $BR_ONB" \
	lab_wait_for 5 eval '[ "$(ip -n "$AP" -o link show dev p2 2>/dev/null | grep -o "master [^ ]*")" = "master $BR_ONB" ]'
ip -n "$(lab_dev_ns r1)" addr add 10.79.0.66/24 dev "$LAB_DEV_IF"
poke r1 "$LAB_GW_ONB"
check "r1, now behind the managed port p2, is dropped from the unmanaged list" lab_wait_for 5 not_listed "$R1"
check "apgated is still running" lab_pid_alive apgated
lab_test_end
