#!/bin/bash
# test_reservation.sh - a fixed DHCP address reserved with apgatectl is what
# the device gets from the real dnsmasq at its next DHCP request; clearing the
# reservation gives it a dynamic address again. A device on the work medium
# without 802.1X (a printer, say), first seen through its DHCP lease.
#
# apgated config: lab_apgated_write_zones_conf (see test_onboarding.sh).
# Needs root (namespaces); exit 77 otherwise.
set -u
export LAB_ZONES=1
HERE=$(cd "$(dirname "$0")" && pwd)
. "$HERE/lab.sh"
. "$HERE/tap.sh"

P1=$(lab_mac 1)

lab_zones_test_begin
lab_add_wired_device p1 "$P1"
check "p1 gets a dynamic lease in 10.77.0.0/24" eval 'lab_dhcp p1 && [[ $(lab_dev_ip p1) == 10.77.0.* ]]'
dyn=$(lab_dev_ip p1)
tap_diag "dynamic address: $dyn"
check "p1 is in the registry with that address" lab_wait_for 3 lab_dev_is "$P1" ip "$dyn"
check "reserve 10.77.0.50 for p1" lab_ctl reserve "$P1" 10.77.0.50
check "p1's next DHCP request gets 10.77.0.50" eval 'lab_dhcp p1 && [ "$(lab_dev_ip p1)" = 10.77.0.50 ]'
check "the registry shows the reserved address as p1's address" lab_wait_for 3 lab_dev_is "$P1" ip 10.77.0.50
check "approve p1 --as business --type printer" lab_ctl approve "$P1" --as business --type printer
check "p1 on its reserved address reaches the LAN server" lab_http_is p1 "http://$LAB_LAN_IP/" 200 lan-ok
check "reserve --clear" lab_ctl reserve "$P1" --clear
check "p1 then gets a dynamic address again" eval 'lab_dhcp p1 && [ "$(lab_dev_ip p1)" != 10.77.0.50 ] && [[ $(lab_dev_ip p1) == 10.77.0.* ]]'
check "apgated is still running" lab_pid_alive apgated
lab_test_end
