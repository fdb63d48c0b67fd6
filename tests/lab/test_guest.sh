#!/bin/bash
# test_guest.sh - on the guest BSS (ap1) an approved personal device (staff
# phone) and a visitor (never decided: state guest) reach the internet host
# (masquerade), never the LAN server (IPv4 and IPv6), and never each other:
# not over the medium (the lab's ap_isolate stand-in) and not through the AP
# (host routes via 10.78.0.1 make the hairpin traffic visible to the firewall).
#
# apgated config: lab_apgated_write_zones_conf (see test_onboarding.sh).
# Needs root (namespaces); exit 77 otherwise.
set -u
export LAB_ZONES=1
HERE=$(cd "$(dirname "$0")" && pwd)
. "$HERE/lab.sh"
. "$HERE/tap.sh"

P1=$(lab_mac 1) V2=$(lab_mac 2)
INET=$LAB_INET_IP LANS=$LAB_LAN_IP

lab_zones_test_begin
lab_add_guest_device p1 "$P1"
lab_add_guest_device v2 "$V2"
check "p1 gets a lease in 10.78.0.0/24" eval 'lab_dhcp p1 staffphone android-dhcp-13 && [[ $(lab_dev_ip p1) == 10.78.0.* ]]'
check "p1 is in the registry (guest BSS connection)" lab_wait_for 3 lab_dev_is "$P1" connected true
check "approve p1 --as personal (a staff phone)" lab_ctl approve "$P1" --as personal --owner "Staff A"
check "v2 (visitor) gets a lease in 10.78.0.0/24" eval 'lab_dhcp v2 visitor && [[ $(lab_dev_ip v2) == 10.78.0.* ]]'
check "v2 is in state guest" lab_wait_for 3 lab_dev_is "$V2" state guest
lab_dev_addr6 p1 >/dev/null; lab_dev_addr6 v2 >/dev/null

for d in p1 v2; do
	check "$d: http://$INET/ answers 'internet-ok' (masquerade)" lab_http_is "$d" "http://$INET/" 200 internet-ok
	check "$d: http://any-name.test/ answers 'internet-ok' (not redirected)" lab_http_is "$d" http://any-name.test/ 200 internet-ok
	check "$d: never the LAN server over HTTP" lab_http_not "$d" "http://$LANS/" lan-ok
	check "$d: TCP 22 to the LAN server not open" lab_tcp_is "$d" "$LANS" 22 '!open'
	check "$d: no ping to the LAN server" eval '! lab_ping "$d" "$LANS"'
	check "$d: never the LAN server over IPv6" lab_http_not "$d" "http://[$LAB_LAN_IP6]/" lan-ok
done

# each other: the medium is isolated (lab property), and the AP must not hairpin
check "(lab) p1 cannot reach v2 over the isolated guest medium" eval '! lab_ping p1 "$(lab_dev_ip v2)"'
lab_peer_via_ap p1 v2; lab_peer_via_ap v2 p1
check "p1 -> v2 through the AP: no ping" eval '! lab_ping p1 "$(lab_dev_ip v2)"'
check "v2 -> p1 through the AP: no ping" eval '! lab_ping v2 "$(lab_dev_ip p1)"'
# a closed port on the peer would answer RST ("refused") if packets got there
r=$(lab_tcp_probe p1 "$(lab_dev_ip v2)" 7)
check_match "p1 -> v2 TCP 7 through the AP: dropped (timeout/unreachable, no RST from v2)" '^(timeout|unreachable)$' "$r"
check "p1 -> v2 over IPv6 (same prefix, via the medium): no ping" eval '! lab_ping6 p1 "$(cat "$LAB_DIR/dev/v2/ip6")"'

check "apgated is still running" lab_pid_alive apgated
lab_test_end
