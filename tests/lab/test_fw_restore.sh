#!/bin/bash
# test_fw_restore.sh - apgated notices when a foreign process deletes its
# firewall rules and restores them by itself (issue 7): a zones lab
# (LAB_ZONES=1) with `fw_check_interval = 5` in [network]; s1 approved
# (business), s2 pending. With iptables-legacy in the AP namespace:
#   - the jump from FORWARD to APGATE_FWD deleted: within ~6 s apgated logs
#     "firewall: APGATE_FWD in filter (IPv4) is not hooked ...; restoring"
#     and iptables-legacy-save is again exactly what it was;
#   - s1's MARK rule deleted from mangle APGATE_MARK (s1 loses its access):
#     logged with the rule counts, restored within ~6 s, s1 reaches the
#     internet again;
# after each restore s1 reaches the internet host and s2 is still refused;
# `apgatectl status` counts the restores (firewall.restores, text line);
# while nothing changes nothing is rebuilt.
# Needs root (namespaces); exit 77 otherwise.
set -u
export LAB_ZONES=1
HERE=$(cd "$(dirname "$0")" && pwd)
. "$HERE/lab.sh"
. "$HERE/tap.sh"

S1=$(lab_mac 1) S2=$(lab_mac 2)
INET=$LAB_INET_IP
ipt() { ip netns exec "$LAB_AP_NS" iptables-legacy "$@"; }
st_json() { lab_ctl status --json 2>/dev/null | lab_json "$@"; }
restores() { st_json 'd["firewall"]["restores"]'; }
# logged TEXT : apgated's log has a line containing TEXT (fixed string)
logged() { grep -qF -- "$1" "$LAB_DIR/apgated.log"; }
same_rules() { [ "$(lab_ipt_save 4)" = "$BASE" ]; }

# lab_zones_test_begin, with the self-check every 5 s in [network]
lab_require
command -v iptables-legacy >/dev/null && command -v ip6tables-legacy >/dev/null || tap_skip_all "iptables-legacy not installed"
command -v curl >/dev/null || tap_skip_all "curl not installed"
lab_trap
lab_up || tap_bail "zones lab comes up (hostapd, ap2, uplink, LAN, internet)"
lab_apgated_write_zones_conf
sed -i 's/^\[network\]$/[network]\nfw_check_interval = 5/' "$LAB_APGATED_CONF"
grep -q '^fw_check_interval = 5$' "$LAB_APGATED_CONF" || tap_bail "fw_check_interval = 5 in [network]"
lab_apgated_start || tap_bail "apgated starts with fw_check_interval = 5"
lab_zones_dnsmasq_start || tap_bail "dnsmasq starts on the conf apgated wrote"

# ---- two devices: s1 approved, s2 pending ------------------------------------------
lab_add_work_device s1 "$S1"
lab_add_work_device s2 "$S2"
lab_sta_start s1
lab_sta_start s2
check "s1 and s2 authenticate on ap0" lab_wait_for 10 eval \
	'lab_hostapd_authorized ap0 "$S1" && lab_hostapd_authorized ap0 "$S2"'
check "s1 and s2 get leases" eval 'lab_dhcp s1 && lab_dhcp s2'
check "approve s1 --as business" lab_ctl approve "$S1" --as business --type pc
check "s1 approved: http://$INET/ answers within 3 s" lab_wait_for 3 lab_http_is s1 "http://$INET/" 200 internet-ok
check "s2 pending: TCP 443 to the internet host refused" lab_tcp_is s2 "$INET" 443 refused
check_eq "status: self-check every 5 s, no restore yet" "5 0" \
	"$(st_json '"%d %d" % (d["firewall"]["check_interval_s"], d["firewall"]["restores"])')"
BASE=$(lab_ipt_save 4)
check "baseline: FORWARD jumps to APGATE_FWD, APGATE_MARK holds s1's rule" eval \
	'grep -qx -- "-A FORWARD -j APGATE_FWD" <<<"$BASE" && grep -qi -- "^-A APGATE_MARK -m mac --mac-source $S1 " <<<"$BASE"' 

# ---- nothing changed: nothing rebuilt -------------------------------------------------
c0=$(st_json 'd["firewall"]["checks"]')
sleep 5.5
check_eq "5.5 s in line: checked again, nothing restored" "True 0" \
	"$(st_json '"%s %d" % (d["firewall"]["checks"] > int(a[0]), d["firewall"]["restores"])' "$c0")"

# ---- the jump to APGATE_FWD deleted ---------------------------------------------------
check "iptables-legacy -D FORWARD -j APGATE_FWD" ipt -D FORWARD -j APGATE_FWD
check "deleted: FORWARD has no jump to APGATE_FWD" eval '! ipt -S FORWARD | grep -q "j APGATE_FWD"'
check "apgated logs it within 6.5 s: 'APGATE_FWD in filter (IPv4) is not hooked ...; restoring'" \
	lab_wait_for 6.5 logged "firewall: APGATE_FWD in filter (IPv4) is not hooked (jump from FORWARD missing); restoring"
tap_diag "noticed ${LAB_WAITED}s after the deletion"
check "iptables-legacy-save is as before (the jump back at position 1)" lab_wait_for 2 same_rules ||
	tap_diag "$(diff <(printf '%s\n' "$BASE") <(lab_ipt_save 4))"
check_eq "FORWARD's first rule is the jump to APGATE_FWD" "-A FORWARD -j APGATE_FWD" \
	"$(ipt -S FORWARD | grep '^-A' | head -n 1)"
check "s1 still reaches the internet host" lab_http_is s1 "http://$INET/" 200 internet-ok
check "s2 still refused (TCP 443)" lab_tcp_is s2 "$INET" 443 refused
check "status: firewall.restores >= 1" eval '[ "$(restores)" -ge 1 ]'

# ---- s1's rule deleted from APGATE_MARK ------------------------------------------------
n1=$(restores)
nmark=$(ipt -t mangle -S APGATE_MARK | grep -c '^-A APGATE_MARK ')
num=$(ipt -t mangle -L APGATE_MARK -n --line-numbers | awk -v m="$S1" 'toupper($0) ~ toupper(m) { print $1; exit }')
check "s1's MARK rule is rule $num of APGATE_MARK ($nmark rules)" test -n "$num"
check "iptables-legacy -t mangle -D APGATE_MARK $num" ipt -t mangle -D APGATE_MARK "$num"
check "apgated logs it within 6.5 s: 'APGATE_MARK in mangle (IPv4) has $((nmark - 1)) rules, the plan $nmark; restoring'" \
	lab_wait_for 6.5 logged "firewall: APGATE_MARK in mangle (IPv4) has $((nmark - 1)) rules, the plan $nmark; restoring"
tap_diag "noticed ${LAB_WAITED}s after the deletion"
check "iptables-legacy-save is as before (s1's rule back)" lab_wait_for 2 same_rules ||
	tap_diag "$(diff <(printf '%s\n' "$BASE") <(lab_ipt_save 4))"
check "s1 reaches the internet host again" lab_http_is s1 "http://$INET/" 200 internet-ok
check "s2 still refused (TCP 443)" lab_tcp_is s2 "$INET" 443 refused
check "status: firewall.restores grew by 1 ($n1 before)" eval '[ "$(restores)" -eq $((n1 + 1)) ]'
check_eq "status: the firewall health check is ok" ok \
	"$(st_json '[c for c in d["health"]["checks"] if c["name"] == "firewall"][0]["level"]')"
check_match "status text: 'firewall  checked every 5s (N checks), restored N times, last at ...'" \
	'^firewall +checked every 5s \([0-9]+ checks\), restored [0-9]+ times?, last at [0-9-]+ [0-9:]+$' \
	"$(lab_ctl status 2>&1 | grep '^firewall ')"

check "apgated is still running" lab_pid_alive apgated
lab_test_end
