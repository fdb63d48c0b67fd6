#!/bin/bash
# test_connect.sh - a real 802.1X station (wpa_supplicant, EAP-MD5 against
# hostapd's internal server) on the work BSS ap0 and a guest device doing DHCP
# on ap1 show up in apgated's inventory: pending/ap0 and guest/ap1, connected.
# Needs root (namespaces); exit 77 otherwise.
set -u
HERE=$(cd "$(dirname "$0")" && pwd)
. "$HERE/lab.sh"
. "$HERE/tap.sh"

S1=$(lab_mac 1)
G3=$(lab_mac 3)

lab_test_begin

# the documented spelling of the status command (other tests use lab_status_json)
st=$(lab_ctl status --json 2>&1)
check_eq "'apgatectl status --json' exits 0" 0 "$?" || tap_diag "$st"
check_eq "status: ap0 is the work BSS, ap1 the guest BSS" "work guest" "$(lab_bss_field ap0 zone) $(lab_bss_field ap1 zone)"
check "status: ap0 attached to hostapd within 2 s" lab_wait_for 2 lab_bss_is ap0 attached true
check "status: ap1 attached to hostapd within 2 s" lab_wait_for 2 lab_bss_is ap1 attached true
check_eq "status: registry starts empty" 0 \
	"$(lab_status_json | lab_json 'sum(d["registry"]["devices"].values())')"

# ---- work station on ap0 ----
lab_add_work_device s1 "$S1"
lab_sta_start s1
check "s1 authenticates with EAP-MD5 on ap0 (hostapd: AUTHORIZED)" \
	lab_wait_for 10 lab_hostapd_authorized ap0 "$S1"
tap_diag "hostapd authorized s1 ${LAB_WAITED}s after the supplicant started"
if check "s1 appears in 'devices --json' as connected within 2 s" \
	lab_wait_for 2 lab_dev_is "$S1" connected true; then
	tap_diag "apgated showed s1 ${LAB_WAITED}s after hostapd reported it"
fi
dj=$(lab_dev_json "$S1")
check_eq "s1 state is pending" pending "$(printf '%s' "$dj" | lab_json 'd["state"]')"
check_eq "s1 bss is ap0" ap0 "$(printf '%s' "$dj" | lab_json 'd["bss"]')"
check_eq "s1 mac is lower-case with colons" "$S1" "$(printf '%s' "$dj" | lab_json 'd["mac"]')"
check_eq "s1 has no class yet (null)" null "$(printf '%s' "$dj" | lab_json 'd["class"]')"
check_eq "s1 device object has every documented field" "" \
	"$(printf '%s' "$dj" | lab_json '" ".join(k for k in ("mac","state","class","type","label","owner","vendor","hostname","ip","bss","vlan","connected","first_seen","last_seen","decided_by","decided_via","decided_at") if k not in d)')"
check_eq "'devices --state pending' lists s1" "$S1" \
	"$(lab_ctl devices --state pending --json | lab_json '" ".join(x["mac"] for x in d)')"

# ---- guest device on ap1 ----
lab_add_guest_device g3 "$G3"
if [ "$LAB_DNSMASQ" = 1 ]; then
	check "g3 gets a DHCP lease on the guest BSS" lab_guest_dhcp g3 guestphone
else
	lab_dhcp_broadcast g3
fi
check "hostapd made g3 a station on ap1" lab_wait_for 2 lab_hostapd_has_sta ap1 "$G3"
check "g3 appears as connected within 2 s" lab_wait_for 2 lab_dev_is "$G3" connected true
dj=$(lab_dev_json "$G3")
check_eq "g3 state is guest" guest "$(printf '%s' "$dj" | lab_json 'd["state"]')"
check_eq "g3 bss is ap1" ap1 "$(printf '%s' "$dj" | lab_json 'd["bss"]')"
check_eq "'devices --state guest' lists only g3" "$G3" \
	"$(lab_ctl devices --state guest --json | lab_json '" ".join(x["mac"] for x in d)')"
check_eq "status counts 1 pending and 1 guest" "1 1" \
	"$(lab_status_json | lab_json '"%d %d" % (d["registry"]["devices"]["pending"], d["registry"]["devices"]["guest"])')"
check "status: ap0 saw events" test "$(lab_bss_field ap0 events)" -gt 0

check "apgated is still running" lab_pid_alive apgated
lab_test_end
