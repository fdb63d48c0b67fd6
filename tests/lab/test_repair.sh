#!/bin/bash
# test_repair.sh - repair with the real hostapd 2.10 and a real station
# (wpa_supplicant, 802.1X on the wired lab's work BSS ap0):
#  - a device approved as personal (a staff phone) while it sits on the work
#    SSID is put where it belongs: apgated reads its place (STA), finds it on
#    a work BSS, and, the wired station advertising no BSS Transition, denies
#    it on ap0 at once (DENY_ACL ADD_MAC kicks it) and deauthenticates it;
#    hostapd's deny list, hostapd's station table, the registry and the
#    audit trail ("steer") all show it;
#  - approving it as business again takes it off the deny list;
#  - the fix counter: a device fixed [repair] max_fixes times within the
#    window and found wrong again is held (alert, held_since), after which
#    apgated leaves it alone until a person acts (release).
# The Wi-Fi-only parts (VLANs, BSS-TM, keyid) are in test_ctl_repair (test
# peer); driver=wired has no VLANs and sends no BSS-TM frames. Nor does it
# send the station anything on DEAUTHENTICATE or DENY_ACL (platform notes D):
# the station's wpa_supplicant stays "Authorized" until its next EAPOL
# exchange, so the kick is checked in hostapd's station table and apgated's
# registry (AP-STA-DISCONNECTED), not in the supplicant.
# Needs root (namespaces); exit 77 otherwise.
set -u
export LAB_ZONES=1
HERE=$(cd "$(dirname "$0")" && pwd)
. "$HERE/lab.sh"
. "$HERE/tap.sh"

S1=$(lab_mac 1)

acl_show() { lab_hostapd_cli "$1" raw "$2_ACL SHOW" 2>/dev/null; }
acl_has() { acl_show "$1" "$2" | grep -qi "^$3\( \|\$\)"; }
# audit_has MAC ACTION TEXT : apgatectl events shows an audit entry
audit_has() {
	lab_ctl --json events --limit 0 | python3 -c '
import json, sys
mac, action, text = sys.argv[1:4]
for line in sys.stdin:
    e = json.loads(line)
    if e["kind"] == "audit" and e["mac"] == mac and e["action"] == action and text in (e["detail"] or ""):
        sys.exit(0)
sys.exit(1)' "$1" "$2" "$3"
}
audit_count() {
	lab_ctl --json events --limit 0 | python3 -c '
import json, sys
print(sum(1 for l in sys.stdin if (e := json.loads(l))["kind"] == "audit" and e["mac"] == sys.argv[1] and e["action"] == sys.argv[2]))' "$1" "$2"
}

lab_zones_test_begin "
[repair]
max_fixes = 2
window = 600
steer_timeout_ms = 500"
lab_add_work_device s1 "$S1"
lab_sta_start s1
check "s1 authenticates on ap0 (work SSID)" lab_wait_for 10 lab_hostapd_authorized ap0 "$S1"
check "s1 is pending and connected in apgated" lab_wait_for 3 eval 'lab_dev_is "$S1" state pending && lab_dev_is "$S1" connected true'
check "nothing to repair for a pending device on the work BSS (no deny, no audit)" \
	eval '! acl_has ap0 DENY "$S1" && [ "$(audit_count "$S1" steer)" = 0 ]'

# ---- a staff phone on the work SSID ----
check "approve s1 --as personal (a staff phone)" lab_ctl approve "$S1" --as personal --type phone
check "steered: ap0 DENY_ACL SHOW lists s1 within 3 s" lab_wait_for 3 acl_has ap0 DENY "$S1"
check "hostapd kicked s1 (not authorized on ap0)" lab_wait_for 3 eval '! lab_hostapd_authorized ap0 "$S1"'
check "apgated shows s1 connected=false (AP-STA-DISCONNECTED)" lab_wait_for 3 lab_dev_is "$S1" connected false
check "the audit trail says why: 'belongs on the guest BSS', 'denied on ap0'" \
	lab_wait_for 3 eval 'audit_has "$S1" steer "belongs on the guest BSS" && audit_has "$S1" steer "denied on ap0"'
check "it is not denied on the guest BSS (ap1)" eval '! acl_has ap1 DENY "$S1"'

# ---- approved as business after all ----
check "approve s1 --as business" lab_ctl approve "$S1" --as business --type pc
check "off ap0's deny list, on its accept list" lab_wait_for 3 eval '! acl_has ap0 DENY "$S1" && acl_has ap0 ACCEPT "$S1"'
check "denied on ap1 now (business: work SSID only)" lab_wait_for 3 acl_has ap1 DENY "$S1"
check "s1 re-authenticates on ap0" eval 'lab_sta_reauth s1; lab_wait_for 10 lab_hostapd_authorized ap0 "$S1"'
check "right place now: no new fix (still one steer in the audit trail)" eval 'sleep 0.5; [ "$(audit_count "$S1" steer)" = 1 ]'

# ---- the loop limit: personal again, and the station keeps coming back ----
n_fix() { audit_count "$S1" steer; }
check "approve s1 --as personal again" lab_ctl approve "$S1" --as personal
check "second steer within 3 s (count starts again after a person acts)" lab_wait_for 3 eval '[ "$(n_fix)" = 2 ]'
# the wired supplicant is let back in by a logoff/logon (hostapd's deny
# list guards Wi-Fi association, not 802.1X on a wire): each return is
# another wrong place
# (it is kicked again within milliseconds, so the fix count is what is
# waited for, not the station's authorized state)
check "s1 comes back on ap0 (logoff/logon) and is fixed a third time" \
	eval 'lab_sta_reauth s1; lab_wait_for 10 eval "[ \"\$(n_fix)\" = 3 ]"'
check "s1 comes back again: authorized on ap0" eval 'lab_sta_reauth s1; lab_wait_for 10 lab_hostapd_authorized ap0 "$S1"'
check "held: an audit 'hold' entry, 'fixes within 600 s'" lab_wait_for 3 audit_has "$S1" hold "fixes within 600 s"
check "held: apgatectl alerts names the device" eval 'lab_ctl alerts | grep -q "$S1"'
check "held: apgatectl show has held_since" eval 'lab_ctl --json show "$S1" | python3 -c "import json,sys; sys.exit(0 if json.load(sys.stdin)[\"held_since\"] else 1)"'
# hostapd's own timer from the last fix's deauthentication (5 s) may still
# kick the wired station once when it came back fast (seen under load):
# it is let in again by a logoff/logon, and repair leaves it alone
check "held: no more fixes, s1 stays authorized (onboarding)" \
	eval '{ lab_wait_for 5 lab_hostapd_authorized ap0 "$S1" && sleep 6 && lab_hostapd_authorized ap0 "$S1"; } ||
	      { lab_sta_reauth s1; lab_wait_for 10 lab_hostapd_authorized ap0 "$S1"; } &&
	      sleep 1 && [ "$(n_fix)" = 3 ] && lab_hostapd_authorized ap0 "$S1"'
check "held: out of ap0's deny list (onboarding is neither accepted nor denied)" lab_wait_for 3 eval '! acl_has ap0 DENY "$S1"'
check "release s1: repair acts again (a fourth fix)" eval 'lab_ctl release "$S1" && lab_wait_for 8 eval "[ \"\$(n_fix)\" = 4 ]"'
check "release again: 'not held' (exit 1)" eval '! lab_ctl release "$S1" 2>/dev/null'

check "apgated is still running" lab_pid_alive apgated
lab_test_end
