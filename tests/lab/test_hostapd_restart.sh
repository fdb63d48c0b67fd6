#!/bin/bash
# test_hostapd_restart.sh - apgated survives hostapd restarts by itself:
#  1. kill -9 hostapd (no event reaches apgated), one station leaves meanwhile
#     (its supplicant stops), hostapd comes back, the other station
#     re-authenticates: apgated re-attaches (reconnects counted) and, from
#     hostapd's station list, shows the one that left as disconnected and the
#     other as connected.
#  2. SIGTERM hostapd (AP-STA-DISCONNECTED + TERMINATING reach apgated), start
#     it again, the station re-authenticates: connected again, reconnects grows.
# Needs root (namespaces); exit 77 otherwise.
set -u
HERE=$(cd "$(dirname "$0")" && pwd)
. "$HERE/lab.sh"
. "$HERE/tap.sh"

S1=$(lab_mac 1) S2=$(lab_mac 2)

lab_test_begin
lab_add_work_device s1 "$S1"
lab_add_work_device s2 "$S2"
lab_sta_start s1; lab_sta_start s2
check "s1 connected in apgated" lab_wait_for 10 lab_dev_is "$S1" connected true
check "s2 connected in apgated" lab_wait_for 10 lab_dev_is "$S2" connected true
r0=$(lab_bss_field ap0 reconnects)
check_eq "ap0 attached, reconnects known" "true ok" "$(lab_bss_field ap0 attached) $([[ $r0 =~ ^[0-9]+$ ]] && echo ok)"

# ---- 1. kill -9 ----
lab_hostapd_kill9
check "apgated notices that hostapd is gone (ap0 attached=false)" lab_wait_for 3 lab_bss_is ap0 attached false
tap_diag "noticed after ${LAB_WAITED}s (ping_interval_ms = 500)"
check "apgated answers status within 1 s while hostapd is down" timeout 1 "$BUILD/apgatectl" -s "$LAB_ADMIN_SOCK" status
lab_sta_stop s1                          # s1 leaves while nobody listens
lab_hostapd_start || tap_bail "hostapd starts again"
lab_sta_reauth s2                        # s2 authenticates to the new hostapd
check "s2 authorized by the new hostapd" lab_wait_for 5 lab_hostapd_authorized ap0 "$S2"
check "ap0 attached again by itself" lab_wait_for 5 lab_bss_is ap0 attached true
tap_diag "re-attached ${LAB_WAITED}s after hostapd answered PING"
check "ap1 attached again by itself" lab_wait_for 5 lab_bss_is ap1 attached true
r1=$(lab_bss_field ap0 reconnects)
check "ap0 reconnects grew ($r0 -> $r1)" test "$r1" -ge $((r0 + 1))
check "s1, which left while hostapd was down, is connected=false" lab_wait_for 3 lab_dev_is "$S1" connected false
check "s2 is connected=true" lab_wait_for 3 lab_dev_is "$S2" connected true
# and it stays that way (no late resync flips it)
check_eq "a second look agrees: s1 false, s2 true" "false true" \
	"$(lab_dev_field "$S1" connected) $(lab_dev_field "$S2" connected)"

# ---- 2. SIGTERM ----
lab_hostapd_stop
check "after SIGTERM, s2 shows as disconnected (hostapd's AP-STA-DISCONNECTED)" \
	lab_wait_for 3 lab_dev_is "$S2" connected false
check "ap0 attached=false while hostapd is stopped" lab_wait_for 3 lab_bss_is ap0 attached false
lab_hostapd_start || tap_bail "hostapd starts after SIGTERM"
lab_sta_reauth s2
check "ap0 attached again after the SIGTERM restart" lab_wait_for 5 lab_bss_is ap0 attached true
check "s2 connected again" lab_wait_for 5 lab_dev_is "$S2" connected true
r2=$(lab_bss_field ap0 reconnects)
check "ap0 reconnects grew again ($r1 -> $r2)" test "$r2" -ge $((r1 + 1))
check_eq "s1 still disconnected, still pending" "false pending" \
	"$(lab_dev_field "$S1" connected) $(lab_dev_field "$S1" state)"

check "apgated is still running (same PID)" lab_pid_alive apgated
lab_test_end
