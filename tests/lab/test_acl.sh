#!/bin/bash
# test_acl.sh - apgated keeps hostapd's MAC lists in step with the registry,
# through the control interface, on every BSS (zones configured):
#  - "approve --as business" puts the device in ap0's (work) accept list
#    ("MAC VLAN_ID=0": the lab's [zone work] has no vlan), and in ap1's (guest)
#    deny list: a business device belongs on the work SSID only;
#  - "block" moves it to the deny list of ap0 and ap1, out of the accept list,
#    and hostapd kicks the station at once (AP-STA-DISCONNECTED: apgated shows
#    connected=false, hostapd no longer lists it authorized);
#  - "forget" takes it out of both lists;
#  - hostapd 2.10 keeps the lists in memory only: after kill -9 and a restart,
#    once apgated has re-attached, a blocked and an approved device are back.
# The lists are read with "raw ACCEPT_ACL SHOW" (hostapd_cli's own accept_acl
# command sends lower-case sub-commands that 2.10 ignores).
#
# apgated config: lab_apgated_write_zones_conf (see test_onboarding.sh).
# Needs root (namespaces); exit 77 otherwise.
set -u
export LAB_ZONES=1
HERE=$(cd "$(dirname "$0")" && pwd)
. "$HERE/lab.sh"
. "$HERE/tap.sh"

S1=$(lab_mac 1) S2=$(lab_mac 2)

# hostapd's lists: lab_acl_show / lab_acl_has / lab_acl_lacks (lab.sh)
acl_show() { lab_acl_show "$@"; }
acl_has() { lab_acl_has "$@"; }
acl_lacks() { lab_acl_lacks "$@"; }

lab_zones_test_begin
lab_add_work_device s1 "$S1"
lab_add_work_device s2 "$S2"
lab_sta_start s1; lab_sta_start s2
check "s1 authenticates on ap0" lab_wait_for 10 lab_hostapd_authorized ap0 "$S1"
check "s2 authenticates on ap0" lab_wait_for 10 lab_hostapd_authorized ap0 "$S2"
check "s1 connected and pending in apgated" lab_wait_for 3 eval 'lab_dev_is "$S1" connected true && lab_dev_is "$S1" state pending'
check "pending: in no list (ap0 accept, ap0 deny, ap1 deny)" \
	eval 'acl_lacks ap0 ACCEPT "$S1" && acl_lacks ap0 DENY "$S1" && acl_lacks ap1 DENY "$S1"'

# ---- approve ----
check "approve s1 --as business" lab_ctl approve "$S1" --as business --type pc
check "approved: ap0 ACCEPT_ACL SHOW lists '$S1 VLAN_ID=0' within 2 s" lab_wait_for 2 acl_has ap0 ACCEPT "$S1" 0
tap_diag "listed ${LAB_WAITED}s after approve returned"
check "approved: not in ap1's (guest) accept list" acl_lacks ap1 ACCEPT "$S1"
check "approved: not denied on ap0 (work), denied on ap1 (guest)" eval 'acl_lacks ap0 DENY "$S1" && acl_has ap1 DENY "$S1"'
check "approved: s1 still authorized (ACCEPT_ACL ADD_MAC kicks nobody)" lab_hostapd_authorized ap0 "$S1"

# ---- block ----
check "block s1" lab_ctl block "$S1"
check "blocked: ap0 DENY_ACL SHOW lists s1 within 2 s" lab_wait_for 2 acl_has ap0 DENY "$S1"
check "blocked: ap1 DENY_ACL SHOW lists s1" lab_wait_for 2 acl_has ap1 DENY "$S1"
check "blocked: ap0 ACCEPT_ACL SHOW no longer lists s1" acl_lacks ap0 ACCEPT "$S1"
check "blocked: hostapd kicked s1 (not authorized on ap0)" lab_wait_for 2 eval '! lab_hostapd_authorized ap0 "$S1"'
check "blocked: apgated shows s1 connected=false (AP-STA-DISCONNECTED)" lab_wait_for 3 lab_dev_is "$S1" connected false
check "s2 (pending) untouched: still authorized, in no list" \
	eval 'lab_hostapd_authorized ap0 "$S2" && acl_lacks ap0 ACCEPT "$S2" && acl_lacks ap0 DENY "$S2"'

# ---- forget ----
check "forget s1" lab_ctl forget "$S1"
check "forgotten: in no deny list (ap0, ap1) within 2 s" \
	lab_wait_for 2 eval 'acl_lacks ap0 DENY "$S1" && acl_lacks ap1 DENY "$S1"'
check "forgotten: not in ap0's accept list" acl_lacks ap0 ACCEPT "$S1"

# ---- hostapd restart: the lists come back ----
check "block s1 again (ahead, while hostapd has no station for it)" lab_ctl block "$S1"
check "approve s2 --as business" lab_ctl approve "$S2" --as business --type pc
check "before the restart: s1 denied on ap0, s2 accepted on ap0" \
	lab_wait_for 2 eval 'acl_has ap0 DENY "$S1" && acl_has ap0 ACCEPT "$S2" 0'
r0=$(lab_bss_field ap0 reconnects)
lab_hostapd_kill9
check "apgated notices that hostapd is gone" lab_wait_for 3 lab_bss_is ap0 attached false
lab_hostapd_start || tap_bail "hostapd starts again"
check "ap0 and ap1 attached again" lab_wait_for 5 eval 'lab_bss_is ap0 attached true && lab_bss_is ap1 attached true'
r1=$(lab_bss_field ap0 reconnects)
check "ap0 reconnects grew ($r0 -> $r1)" test "$r1" -ge $((r0 + 1))
check "restored: ap0 DENY_ACL lists s1" lab_wait_for 2 acl_has ap0 DENY "$S1"
check "restored: ap1 DENY_ACL lists s1" lab_wait_for 2 acl_has ap1 DENY "$S1"
check "restored: ap0 ACCEPT_ACL lists '$S2 VLAN_ID=0'" lab_wait_for 2 acl_has ap0 ACCEPT "$S2" 0
check "restored: ap1 DENY_ACL lists s2 (business: work SSID only)" lab_wait_for 2 acl_has ap1 DENY "$S2"
check "restored: nothing else (ap0 accept = s2 only, ap0 deny = s1 only, ap1 deny = s1 s2, ap1 accept empty)" \
	eval '[ "$(acl_show ap0 ACCEPT | wc -l) $(acl_show ap0 DENY | wc -l) $(acl_show ap1 DENY | wc -l) $(acl_show ap1 ACCEPT | grep -c .)" = "1 1 2 0" ]'
check "the lists are in apgated's files too (hostapd reads them when it starts)" \
	eval 'grep -qix "$S2" "$LAB_DIR/hostapd-lists/ap0.accept" && grep -qix "$S1" "$LAB_DIR/hostapd-lists/ap0.deny" && grep -qix "$S2" "$LAB_DIR/hostapd-lists/ap1.deny"'

check "apgated is still running" lab_pid_alive apgated
lab_test_end
