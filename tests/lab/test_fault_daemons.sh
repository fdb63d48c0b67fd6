#!/bin/bash
# test_fault_daemons.sh - apgated recovers by itself when the daemons it
# drives die or lose their sockets (issue 7, faults). A zones lab
# (LAB_ZONES=1); s1 (802.1X) approved as business, s2 (802.1X) blocked, p1 a
# wired device with a DHCP reservation. (test_hostapd_restart covers station
# states across hostapd restarts, test_acl the lists after one kill -9,
# test_status_health the dnsmasq health message; this test adds what the
# devices see.)
#   a. hostapd kill -9 and started again: apgated re-attaches (no restart of
#      its own), hostapd's ACCEPT/DENY lists are back, the blocked s2 is not
#      let in again (its supplicant retries: not authorized), s1
#      re-authenticates and reaches the internet host, and a station that
#      connects afterwards (s3) is recorded.
#   b. dnsmasq kill -9: status health says "dnsmasq is not running"; a new
#      reservation made while it is down is acknowledged and in force once
#      dnsmasq is started again (p1 gets it), and the next one after the
#      restart reaches the new dnsmasq by SIGHUP (p1 gets it without a
#      dnsmasq restart).
#   c. hostapd's ctrl_interface directory and apgated's client_dir removed,
#      hostapd restarted: apgated (same PID) re-attaches, the lists are back,
#      and a new station (s4) is recorded.
# Needs root (namespaces); exit 77 otherwise.
set -u
export LAB_ZONES=1
HERE=$(cd "$(dirname "$0")" && pwd)
. "$HERE/lab.sh"
. "$HERE/tap.sh"

S1=$(lab_mac 1) S2=$(lab_mac 2) S3=$(lab_mac 3) S4=$(lab_mac 4) P1=$(lab_mac 5)
INET=$LAB_INET_IP

lab_zones_test_begin
PID0=$(lab_apgated_pid)
st_json() { lab_ctl status --json 2>/dev/null | lab_json "$@"; }
health() { st_json '[c for c in d["health"]["checks"] if c["name"] == a[0]][0][a[1]]' "$1" "$2"; }
lists_ok() { # ap0 accepts s1, denies s2; ap1 denies both
	lab_acl_has ap0 ACCEPT "$S1" 0 && lab_acl_has ap0 DENY "$S2" &&
	lab_acl_has ap1 DENY "$S1" && lab_acl_has ap1 DENY "$S2"
}
attached() { lab_bss_is ap0 attached true && lab_bss_is ap1 attached true; }
not_authorized_for() { # MAC SECONDS : hostapd does not authorize MAC during SECONDS
	! lab_wait_for "$2" lab_hostapd_authorized ap0 "$1"
}

lab_add_work_device s1 "$S1"; lab_add_work_device s2 "$S2"
lab_add_work_device s3 "$S3"; lab_add_work_device s4 "$S4"
lab_add_wired_device p1 "$P1"
lab_sta_start s1; lab_sta_start s2
check "s1 and s2 authenticate on ap0" lab_wait_for 10 eval \
	'lab_hostapd_authorized ap0 "$S1" && lab_hostapd_authorized ap0 "$S2"'
check "approve s1 (business), block s2" eval 'lab_ctl approve "$S1" --as business && lab_ctl block "$S2"'
check "hostapd's lists: ap0 accepts s1, denies s2; ap1 denies both" lab_wait_for 2 lists_ok
check "s1 gets a lease and reaches the internet host" eval \
	'lab_dhcp s1 && lab_wait_for 3 lab_http_is s1 "http://$INET/" 200 internet-ok'

# ---- a. hostapd kill -9 ------------------------------------------------------------------
lab_hostapd_kill9
check "a: apgated notices hostapd is gone (ap0 attached=false)" lab_wait_for 3 lab_bss_is ap0 attached false
lab_hostapd_start || tap_bail "a: hostapd starts again (its lists empty: 2.10 keeps them in memory)"
check "a: apgated re-attaches to both BSS by itself" lab_wait_for 5 attached
tap_diag "re-attached ${LAB_WAITED}s after hostapd answered"
lab_sta_start s3 # a new station, checked below
check "a: the lists are back (ACCEPT_ACL/DENY_ACL SHOW)" lab_wait_for 2 lists_ok
lab_sta_reauth s1; lab_sta_reauth s2
check "a: s1 authorized again by the new hostapd" lab_wait_for 5 lab_hostapd_authorized ap0 "$S1"
check "a: blocked s2 retries but is not authorized (3 s)" not_authorized_for "$S2" 3
check "a: s1 reaches the internet host" lab_wait_for 3 lab_http_is s1 "http://$INET/" 200 internet-ok
check "a: s3, connecting after the restart, is recorded (pending, connected)" lab_wait_for 10 eval \
	'[ "$(lab_dev_field "$S3" state) $(lab_dev_field "$S3" connected)" = "pending true" ]'

# ---- b. dnsmasq kill -9 --------------------------------------------------------------------
check "b: p1 gets a lease" lab_dhcp p1
check "b: reserve 10.77.0.50 for p1; p1 gets it" eval \
	'lab_ctl reserve "$P1" 10.77.0.50 && lab_dhcp p1 && [ "$(lab_dev_ip p1)" = 10.77.0.50 ]'
check_eq "b: health: dnsmasq ok" ok "$(health dnsmasq level)"
lab_zones_dnsmasq_kill9
check "b: health: dnsmasq is a problem once killed" lab_wait_for 3 eval '[ "$(health dnsmasq level)" = problem ]'
check_match "b: health says 'dnsmasq is not running'" '^dnsmasq is not running' "$(health dnsmasq message)"
check "b: reserve 10.77.0.60 for p1 while dnsmasq is down: acknowledged" lab_ctl reserve "$P1" 10.77.0.60
check "b: p1 gets no lease while dnsmasq is down" eval '! lab_dhcp p1'
lab_zones_dnsmasq_start || tap_bail "b: dnsmasq starts again"
check "b: health: dnsmasq ok again" lab_wait_for 3 eval '[ "$(health dnsmasq level)" = ok ]'
check "b: after the restart p1 gets the reservation made while it was down (10.77.0.60)" eval \
	'lab_dhcp p1 && [ "$(lab_dev_ip p1)" = 10.77.0.60 ] || { echo "p1 got $(lab_dev_ip p1)"; false; }'
check "b: reserve 10.77.0.70: the new dnsmasq re-reads its hosts (p1 gets it)" eval \
	'lab_ctl reserve "$P1" 10.77.0.70 && lab_dhcp p1 && [ "$(lab_dev_ip p1)" = 10.77.0.70 ] || { echo "p1 got $(lab_dev_ip p1)"; false; }'
check "b: the registry records p1's lease from the new dnsmasq" lab_wait_for 3 lab_dev_is "$P1" ip 10.77.0.70

# ---- c. control socket directories removed ------------------------------------------------------
CLIENT_DIR=$LAB_DIR/apgated-client
check "c: hostapd's ctrl dir and apgated's client_dir hold sockets" eval \
	'[ -S "$LAB_CTRL_DIR/ap0" ] && ls "$CLIENT_DIR" | grep -q .'
rm -rf -- "$LAB_CTRL_DIR" "$CLIENT_DIR"
lab_hostapd_stop
# (else "attached" below could still be the old connections' state)
check "c: apgated notices hostapd is gone (ap0 attached=false)" lab_wait_for 3 lab_bss_is ap0 attached false
lab_hostapd_start || tap_bail "c: hostapd starts again (it makes its ctrl dir)"
check "c: apgated re-attaches to both BSS by itself" lab_wait_for 8 attached
tap_diag "re-attached ${LAB_WAITED}s after hostapd answered"
lab_sta_start s4 # a new station, checked below
check "c: apgated made its client_dir again" test -d "$CLIENT_DIR"
check "c: the lists are back" lab_wait_for 2 lists_ok
check "c: s4, connecting afterwards, is recorded (pending, connected)" lab_wait_for 10 eval \
	'[ "$(lab_dev_field "$S4" state) $(lab_dev_field "$S4" connected)" = "pending true" ]'
lab_sta_reauth s1
check "c: s1 authorized again and reaches the internet host" eval \
	'lab_wait_for 5 lab_hostapd_authorized ap0 "$S1" && lab_wait_for 3 lab_http_is s1 "http://$INET/" 200 internet-ok'

check_eq "apgated was never restarted (same PID)" "$PID0" "$(lab_apgated_pid)"
check "apgated is still running" lab_pid_alive apgated
lab_test_end
