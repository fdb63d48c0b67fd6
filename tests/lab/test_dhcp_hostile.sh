#!/bin/bash
# test_dhcp_hostile.sh - DHCP hostnames are data: a guest whose DHCP hostname
# is '<img src=x onerror=alert(1)>;$(reboot)' gets its lease and apgated stores
# the hostname as received ("apgatectl show MAC --json" field hostname); a
# second one with every shell/HTML/JSON metacharacter but "=" must come out
# byte for byte; dnsmasq and apgated keep running and the next device still
# gets a lease (the hosts file and conf apgated writes stay valid).
#
# What "as received" can mean: dnsmasq hands option 12 to its lease script in
# DNSMASQ_SUPPLIED_HOSTNAME cut at the first "=" (dnsmasq helper.c, "No = in
# value"; measured by test_zones_lab), i.e. '<img src'. This test accepts the
# verbatim string or exactly that cut, nothing else (no escaping, no dropping).
#
# apgated config: lab_apgated_write_zones_conf (see test_onboarding.sh).
# Needs root (namespaces); exit 77 otherwise.
set -u
export LAB_ZONES=1
HERE=$(cd "$(dirname "$0")" && pwd)
. "$HERE/lab.sh"
. "$HERE/tap.sh"

G1=$(lab_mac 1) G2=$(lab_mac 2) G3=$(lab_mac 3)
H1='<img src=x onerror=alert(1)>;$(reboot)'
H2='<script>alert("x")</script> ;$(reboot) `id` '"'"'q'"'"' \n\\ {"a":1}, %s'
V2='android-dhcp-13 <b>";rm -rf /'

lab_zones_test_begin
lab_add_guest_device g1 "$G1"
lab_add_guest_device g2 "$G2"
lab_add_guest_device g3 "$G3"

check "g1 with hostname '$H1' gets a lease" eval 'lab_dhcp g1 "$H1" && [[ $(lab_dev_ip g1) == 10.78.0.* ]]'
hostname_of() { lab_ctl show "$1" --json | lab_json 'd["hostname"]'; }
h1_ok() {
	local h; h=$(hostname_of "$G1") || return 1
	[ "$h" = "$H1" ] || [ "$h" = '<img src' ] || { echo "hostname: $h"; return 1; }
}
check "apgated stores g1's hostname as received within 3 s (verbatim, or dnsmasq's cut '<img src')" lab_wait_for 3 h1_ok
tap_diag "stored: $(hostname_of "$G1")"

check "g2 with hostname and vendor class full of metacharacters gets a lease" eval 'lab_dhcp g2 "$H2" "$V2"'
check "apgated stores g2's hostname byte for byte within 3 s" lab_wait_for 3 eval '[ "$(hostname_of "$G2")" = "$H2" ]'
check_eq "g2's hostname, as stored" "$H2" "$(hostname_of "$G2")"
check "'devices --json' still parses" eval 'lab_ctl devices --json | lab_json "len(d)"'
check "'show' (text) prints g2" eval 'lab_ctl show "$G2" | grep -qF "<script>"'

check "dnsmasq still runs" lab_pid_alive dnsmasq-apgate
check "apgated still runs" lab_pid_alive apgated
check "the next device still gets a lease" eval 'lab_dhcp g3 && [[ $(lab_dev_ip g3) == 10.78.0.* ]]'
check "g1 renews its lease" lab_dhcp g1 "$H1"

lab_test_end
