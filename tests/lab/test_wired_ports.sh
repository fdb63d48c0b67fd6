#!/bin/bash
# test_wired_ports.sh - apgated moves the wired LAN ports of a mini-PC AP
# ([network] wired_ports = p1 p2) between the zones' Linux bridges, with real
# bridges, real veth ports and real traffic. Checked only with iproute2 (the
# "master" of p1/p2, carrier counters, "ip monitor link"), never with apgate's
# own code:
#  - start-up puts p1 (in no bridge) and p2 (already there) into the
#    onboarding bridge, without touching p2's link;
#  - a device that sends a frame on p1 is learned by the bridge and becomes
#    pending in apgated, recorded behind p1;
#  - "approve --as business" moves p1 into the work bridge (p2 stays), with a
#    link bounce the device sees (bounce_on_move = yes); only then does the
#    device reach the work gateway and, routed, the LAN server;
#  - "block" puts p1 back into onboarding, "approve" into work again;
#  - SIGTERM and a new start of apgated move nothing and flap nothing
#    ("ip monitor link" records no change of p1; carrier counters unchanged);
#  - "forget" puts p1 back into onboarding.
#
# The zones lab (LAB_ZONES=1) gives the uplink, the LAN server and the
# internet, but its zone interfaces ap0/ap1/ap2 are veths, not bridges, so
# this test makes three bridges in the AP namespace (br-work, br-guest,
# br-onb), moves the zones' IPv4 gateways from ap0/ap1/ap2 onto them and names
# them as the zones' interfaces. hostapd stays on ap0/ap1 (no station here).
# Devices d1 (behind p1) and d2 (behind p2) are namespaces with one veth each,
# static addresses (no DHCP).
# Needs root (namespaces); exit 77 otherwise.
set -u
export LAB_ZONES=1
HERE=$(cd "$(dirname "$0")" && pwd)
. "$HERE/lab.sh"
. "$HERE/tap.sh"

D1=$(lab_mac 1) D2=$(lab_mac 2)
BR_WORK=br-work BR_GUEST=br-guest BR_ONB=br-onb

lab_require
command -v iptables-legacy >/dev/null || tap_skip_all "iptables-legacy not installed"
command -v curl >/dev/null || tap_skip_all "curl not installed"
command -v bridge >/dev/null || tap_skip_all "bridge (iproute2) not installed"
lab_trap
lab_up || tap_bail "zones lab comes up (hostapd, uplink, LAN, internet)"
AP=$LAB_AP_NS

# ---- helpers (iproute2 only) ----
# master PORT : the bridge PORT is in ("" if none), from "ip -o link show"
master() {
	ip -n "$AP" -o link show dev "$1" 2>/dev/null |
		awk '{for (i = 1; i < NF; i++) if ($i == "master") {print $(i + 1); exit}}'
}
# master_is PORT BRIDGE : prints what it is otherwise (for check)
master_is() {
	local m; m=$(master "$1")
	[ "$m" = "$2" ] && return 0
	echo "$1: master '${m:-none}' (expected $2); bridge link:"
	ip -n "$AP" -o link show dev "$1"
	bridge -n "$AP" link
	return 1
}
# carrier_changes DEV : carrier changes the device saw on its side of the veth
carrier_changes() { ip netns exec "$(lab_dev_ns "$1")" cat "/sys/class/net/$LAB_DEV_IF/carrier_changes"; }
# plug NAME MAC PORT ADDR/LEN : device namespace NAME, veth eth0 (MAC) whose
# other end PORT is in the AP namespace (up, in no bridge); files under
# dev/NAME as lab.sh's devices have, so lab_ping/lab_http work on it
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
# poke NAME GATEWAY : one ARP request from the device (a broadcast frame: the
# bridge its port is in learns the device's MAC on that port)
poke() {
	timeout 3 ip netns exec "$(lab_dev_ns "$1")" busybox arping -c 1 -w 1 -I "$LAB_DEV_IF" "$2" >/dev/null 2>&1
	return 0
}
# pending_behind NAME MAC GATEWAY : poke, then MAC is pending in "devices"
pending_behind() { poke "$1" "$3"; lab_dev_is "$2" state pending; }
# mon_lines PORT : the lines of the "ip monitor link" log ($MON) about PORT
mon_lines() { grep -E "^(Deleted )?[0-9]+: $1[@:]" "$MON"; }
# mon_calm PORT BRIDGE : no line about PORT that shows it leaving BRIDGE
# ("Deleted" = out of the bridge, no or another master) or losing its link
# (DOWN, LOWERLAYERDOWN, NO-CARRIER); prints the offending lines
mon_calm() {
	! mon_lines "$1" | awk -v br="$2" '
		/^Deleted/ || /NO-CARRIER/ || / state (DOWN|LOWERLAYERDOWN)/ || $0 !~ (" master " br " ") {print; bad = 1}
		END {exit !bad}'
}
# moved NAME : what a real port's link-down (1-3 s of autonegotiation) does to
# the device behind it, done by hand: carrier back, neighbour cache flushed.
# apgated's bounce of a veth lasts microseconds; the kernel coalesces the
# carrier down and up (linkwatch) and then often skips the flush on the
# device's side (measured: ARP entries survived 3 of 30 "ip -batch" down/up
# bounces), so d1 would keep the onboarding bridge's MAC for the work gateway
# (the AP answers ARP for 10.77.0.1 on br-onb too) for 15-45 s.
moved() {
	local moved_ns; moved_ns=$(lab_dev_ns "$1")
	lab_wait_for 2 eval '[ "$(ip netns exec "$moved_ns" cat /sys/class/net/$LAB_DEV_IF/carrier)" = 1 ]'
	ip -n "$moved_ns" neigh flush dev "$LAB_DEV_IF"
}
# shown_port MAC : the "port" line of "apgatectl show MAC"
shown_port() { lab_ctl show "$1" | awk '$1 == "port" {print $2}'; }

# ---- the zones' bridges in the AP namespace ----
# with a fixed MAC each, as an AP's bridges have (systemd-networkd gives them
# one): a bridge without one takes its lowest port's MAC, so the gateway's
# MAC would change whenever a port joins or leaves
n=0
for br in "$BR_WORK" "$BR_GUEST" "$BR_ONB"; do
	n=$((n + 1))
	ip -n "$AP" link add "$br" address "02:a0:00:00:10:0$n" type bridge && ip -n "$AP" link set "$br" up ||
		tap_bail "bridge $br in the AP namespace"
done
# the gateways move from the lab's veths to the bridges (one route per subnet)
ip -n "$AP" addr del "$LAB_GW_WORK/24" dev "$LAB_WORK_BSS" &&
ip -n "$AP" addr del "$LAB_GW_GUEST/24" dev "$LAB_GUEST_BSS" &&
ip -n "$AP" addr del "$LAB_GW_ONB/24" dev "$LAB_ONB_IF" &&
ip -n "$AP" addr add "$LAB_GW_WORK/24" dev "$BR_WORK" &&
ip -n "$AP" addr add "$LAB_GW_GUEST/24" dev "$BR_GUEST" &&
ip -n "$AP" addr add "$LAB_GW_ONB/24" dev "$BR_ONB" || tap_bail "zone gateways on the bridges"

# d1 behind p1 (in no bridge), d2 behind p2 (already in onboarding)
plug d1 "$D1" p1 10.79.0.11/24 || tap_bail "device d1 on port p1"
plug d2 "$D2" p2 10.79.0.12/24 || tap_bail "device d2 on port p2"
ip -n "$AP" link set p2 master "$BR_ONB" || tap_bail "p2 into $BR_ONB"
# d1 also gets an address in the work subnet and a route to the LAN through
# the work gateway: what it reaches depends only on the bridge p1 is in
ip -n "$(lab_dev_ns d1)" addr add 10.77.0.11/24 dev "$LAB_DEV_IF" &&
ip -n "$(lab_dev_ns d1)" route add 192.168.50.0/24 via "$LAB_GW_WORK" || tap_bail "d1's work address"

check_eq "before apgated: p1 in no bridge, p2 in $BR_ONB" "none $BR_ONB" "$(m=$(master p1); echo "${m:-none}") $(master p2)"
# carrier changes settle once both ends are up
lab_wait_for 2 eval '[ "$(ip netns exec "$(lab_dev_ns d2)" cat /sys/class/net/eth0/carrier)" = 1 ]'

# ---- apgated: the lab's config with the bridges as zone interfaces ----
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
bounce_on_move = yes

$(lab_portal_conf)

[dnsmasq]
conf_file = $LAB_DIR/dnsmasq-apgate.conf
hosts_file = $LAB_DIR/dnsmasq-apgate.hosts
pid_file = $LAB_DIR/dnsmasq-apgate.pid
lease_file = $LAB_DIR/dnsmasq-apgate.leases
script = $BUILD/apgate-dhcp-script"

c2_0=$(carrier_changes d2)
lab_apgated_start || tap_bail "apgated starts with wired_ports = p1 p2"

# 1. start-up places every port
check "start-up: p1 (in no bridge before) is in $BR_ONB" lab_wait_for 3 master_is p1 "$BR_ONB"
check "start-up: p2 is in $BR_ONB" master_is p2 "$BR_ONB"
check_eq "start-up: p2 was already there - d2 saw no carrier change" "$c2_0" "$(carrier_changes d2)"
check "start-up: p1 is up" eval 'ip -n "$AP" -o link show dev p1 | grep -q "state UP"'

# 2. a device learned on p1 is pending, recorded behind p1
check "d1 sends a frame on p1 -> 'devices' lists $D1 as pending" \
	lab_wait_for 5 pending_behind d1 "$D1" "$LAB_GW_ONB"
check "'devices' (text) shows $D1 pending" eval 'lab_ctl devices | grep -i "$D1" | grep -q pending'
check_eq "'show $D1' names port p1" p1 "$(shown_port "$D1")"
check "p1 stays in $BR_ONB with a pending device behind it" master_is p1 "$BR_ONB"
check "d2 sends a frame on p2 -> pending too" lab_wait_for 5 pending_behind d2 "$D2" "$LAB_GW_ONB"
check_eq "'show $D2' names port p2" p2 "$(shown_port "$D2")"

# 4 (before). in onboarding d1 reaches neither the work gateway nor the LAN
check "pending, p1 in onboarding: d1 cannot ping the work gateway $LAB_GW_WORK" eval '! lab_ping d1 "$LAB_GW_WORK"'
check "pending: d1 gets no 'lan-ok' from the LAN server" lab_http_not d1 "http://$LAB_LAN_IP/" lan-ok

# 3. approve -> work bridge, with a bounce
c1=$(carrier_changes d1) c2=$(carrier_changes d2)
check "approve $D1 --as business" lab_ctl approve "$D1" --as business --type pc
check "approved: p1 moves into $BR_WORK within 3 s" lab_wait_for 3 master_is p1 "$BR_WORK"
tap_diag "moved ${LAB_WAITED}s after approve returned"
check "approved: p2 stays in $BR_ONB" master_is p2 "$BR_ONB"
check "bounce_on_move: d1 saw its carrier drop (carrier_changes $c1 -> more)" \
	lab_wait_for 2 eval '[ "$(carrier_changes d1)" -ge $((c1 + 2)) ]'
tap_diag "d1 carrier_changes $c1 -> $(carrier_changes d1)"
moved d1
check_eq "d2 saw no carrier change" "$c2" "$(carrier_changes d2)"
check "p1 is up after the move" eval 'ip -n "$AP" -o link show dev p1 | grep -q "state UP"'

# 4. real traffic in the work zone
check "approved: d1 pings the work gateway $LAB_GW_WORK" lab_wait_for 5 lab_ping d1 "$LAB_GW_WORK"
check "approved: d1 gets 'lan-ok' from the LAN server (routed through $BR_WORK)" \
	lab_http_is d1 "http://$LAB_LAN_IP/" 200 lan-ok
check "d2 (pending, p2 in onboarding) still cannot reach the work gateway" \
	eval 'ip -n "$(lab_dev_ns d2)" addr add 10.77.0.12/24 dev eth0 && ! lab_ping d2 "$LAB_GW_WORK"'
check "... and the bridge learned no d2 MAC on $BR_WORK" \
	eval '! bridge -n "$AP" fdb show br "$BR_WORK" | grep -qi "$D2"'

# 5. block -> onboarding; approve -> work again
check "block $D1" lab_ctl block "$D1"
check "blocked: p1 back in $BR_ONB within 3 s" lab_wait_for 3 master_is p1 "$BR_ONB"
moved d1
check "blocked: d1 cannot ping the work gateway" eval '! lab_ping d1 "$LAB_GW_WORK"'
check "approve $D1 --as business again" lab_ctl approve "$D1" --as business --type pc
check "approved again: p1 in $BR_WORK within 3 s" lab_wait_for 3 master_is p1 "$BR_WORK"
moved d1
check "approved again: d1 pings the work gateway" lab_wait_for 5 lab_ping d1 "$LAB_GW_WORK"

# 6. restart without flapping
c1=$(carrier_changes d1) c2=$(carrier_changes d2)
MON=$LAB_DIR/monitor-link.log
lab_spawn monitor "$MON" "$MON" ip netns exec "$AP" ip monitor link
MON_PID=$LAB_LAST_PID
# the monitor records: a change of br-guest's alias shows up in its output
check "ip monitor link records (a change of $BR_GUEST's alias shows)" \
	lab_wait_for 3 eval 'ip -n "$AP" link set dev "$BR_GUEST" alias "probe-$RANDOM" && grep -q "$BR_GUEST" "$MON"'
pid0=$(lab_apgated_pid)
check "apgated stops on SIGTERM (before the restart)" lab_apgated_stop
check "apgated starts again and answers status" lab_apgated_start
tap_diag "apgated $pid0 -> $(lab_apgated_pid)"
# a frame from d1 after the restart (the FDB path: on_station -> place again)
check "after the restart: d1 still pings the work gateway" lab_ping d1 "$LAB_GW_WORK"
sleep 1      # nothing to wait for: watching that nothing happens
kill -TERM "$MON_PID" 2>/dev/null; lab_wait_for 2 _lab_gone "$MON_PID"; rm -f "$LAB_DIR/pid/monitor.pid"
check "after the restart: p1 still in $BR_WORK" master_is p1 "$BR_WORK"
check "after the restart: p2 still in $BR_ONB" master_is p2 "$BR_ONB"
p1_lines=$(mon_lines p1)
[ -z "$p1_lines" ] || tap_diag "ip monitor link lines for p1 during the restart:" "$p1_lines"
check "ip monitor link: no master change, DOWN or deletion of p1 during the restart" mon_calm p1 "$BR_WORK"
check "ip monitor link: no master change, DOWN or deletion of p2 either" mon_calm p2 "$BR_ONB"
check_eq "no carrier change on d1 or d2 across the restart" "$c1 $c2" "$(carrier_changes d1) $(carrier_changes d2)"
check "d1 still approved after the restart" lab_dev_is "$D1" state approved

# 7. forget -> onboarding
check "forget $D1" lab_ctl forget "$D1"
check "forgotten: p1 back in $BR_ONB within 3 s" lab_wait_for 3 master_is p1 "$BR_ONB"
moved d1
check "forgotten: d1 cannot ping the work gateway" eval '! lab_ping d1 "$LAB_GW_WORK"'
check "d1 sends again -> pending again behind p1, p1 stays in $BR_ONB" \
	eval 'lab_wait_for 5 pending_behind d1 "$D1" "$LAB_GW_ONB" && [ "$(shown_port "$D1")" = p1 ] && master_is p1 "$BR_ONB"'

lab_test_end
