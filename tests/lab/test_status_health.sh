#!/bin/bash
# test_status_health.sh - `apgatectl status` reports the health of every part
# (issue 6): in a zones lab (LAB_ZONES=1: hostapd, dnsmasq on apgated's conf,
# apgated enforcing with iptables-legacy, the portal) every check is ok and
# `status --check` exits 0; then each part is broken for real and status
# names it as a problem (JSON and text) and `status --check` exits 3:
#   - hostapd stopped (SIGTERM): each BSS named with its socket path; started
#     again: attached, ok;
#   - the jump to APGATE_FWD removed from FORWARD (iptables-legacy in the AP
#     namespace): "not hooked"; a reload (SIGHUP) of apgated puts it back at
#     position 1 and status is ok again;
#   - APGATE_IN deleted from filter: "APGATE_IN missing in filter (IPv4)";
#     one rule deleted from ip6 APGATE_IN: its rule count against the plan;
#     reload: ok;
#   - dnsmasq killed: "dnsmasq is not running".
# apgated runs with `fw_check_interval = 0` here: its firewall self-check is
# off, so a chain deleted behind its back stays deleted until the reload this
# test does (test_fw_restore.sh covers the self-check restoring it).
# Needs root (namespaces); exit 77 otherwise.
set -u
export LAB_ZONES=1
HERE=$(cd "$(dirname "$0")" && pwd)
. "$HERE/lab.sh"
. "$HERE/tap.sh"

# lab_zones_test_begin, with fw_check_interval = 0 in [network]
lab_require
command -v iptables-legacy >/dev/null && command -v ip6tables-legacy >/dev/null || tap_skip_all "iptables-legacy not installed"
command -v curl >/dev/null || tap_skip_all "curl not installed"
lab_trap
lab_up || tap_bail "zones lab comes up (hostapd, ap2, uplink, LAN, internet)"
lab_apgated_write_zones_conf
sed -i 's/^\[network\]$/[network]\nfw_check_interval = 0/' "$LAB_APGATED_CONF"
grep -q '^fw_check_interval = 0$' "$LAB_APGATED_CONF" || tap_bail "fw_check_interval = 0 in [network]"
lab_apgated_start || tap_bail "apgated starts with [zone ...], [network] and [dnsmasq]"
lab_zones_dnsmasq_start || tap_bail "dnsmasq starts on the conf apgated wrote"
ipt() { ip netns exec "$LAB_AP_NS" iptables-legacy "$@"; }
ip6t() { ip netns exec "$LAB_AP_NS" ip6tables-legacy "$@"; }

# st_json EXPR [ARGS] : evaluate EXPR over the status reply (d)
st_json() { lab_ctl status --json 2>/dev/null | lab_json "$@"; }
# chk NAME [BSS|FACE] : the first health check named NAME (for hostapd: of BSS;
# for portal: of FACE), as JSON
CHK='[c for c in d["health"]["checks"] if c["name"] == a[0] and (len(a) < 2 or a[1] in (c.get("bss"), c.get("face")))][0]'
level() { st_json "$CHK[\"level\"]" "$@"; }
message() { st_json "$CHK[\"message\"]" "$@"; }
level_is() { local want=$1; shift; [ "$(level "$@")" = "$want" ]; }
# check_rc : exit status of apgatectl status --check
check_rc() { lab_ctl status --check >/dev/null 2>&1; echo $?; }
rc_is() { [ "$(check_rc)" = "$1" ]; }
all_ok() { [ "$(st_json 'd["health"]["status"]')" = ok ] && rc_is 0; }

# ---- everything up --------------------------------------------------------------
check "health: every check ok and 'status --check' exits 0 (within 5 s of start)" lab_wait_for 5 all_ok ||
	tap_diag "$(lab_ctl status 2>&1)"
check_eq "health: hostapd ap0 and ap1 ok, attached" "ok ok true true" \
	"$(level hostapd ap0) $(level hostapd ap1) $(st_json "$CHK['attached']" hostapd ap0) $(st_json "$CHK['attached']" hostapd ap1)"
check_eq "health: dnsmasq ok, with the pid in its pid file" "ok $(cat "$LAB_DNSMASQ_PIDFILE" 2>/dev/null)" \
	"$(level dnsmasq) $(st_json "$CHK['pid']" dnsmasq)"
check_eq "health: firewall ok" ok "$(level firewall)"
check_match "health: firewall message counts chains and rules" \
	'^[0-9]+ APGATE_ chains in place and hooked \(IPv4 and IPv6\), [0-9]+ rules$' "$(message firewall)"
# rule counts read back from the kernel = what iptables-legacy lists
kfwd=$(ipt -S APGATE_FWD | grep -c '^-A APGATE_FWD ')
# fwd CHAIN FAMILY : "rules hook_position present" of one chain in the firewall check
fwd() {
	lab_ctl status --json 2>/dev/null | lab_json '"%d %s %s" % tuple([x for x in [c for c in d["health"]["checks"] if c["name"] == "firewall"][0]["chains"] if x["chain"] == a[0] and x["family"] == a[1]][0][k] for k in ("rules", "hook_position", "present"))' "$@"
}
check_eq "health: ipv4 filter APGATE_FWD has the kernel's rule count ($kfwd), hooked at position 1" "$kfwd 1 True" \
	"$(fwd APGATE_FWD ipv4)"
check_eq "health: every chain the plan has is present (ipv4 and ipv6 mangle, nat, filter)" \
	"ipv4 filter,ipv4 mangle,ipv4 nat,ipv6 filter,ipv6 mangle" \
	"$(st_json '",".join(sorted(set(x["family"] + " " + x["table"] for x in '"$CHK"'["chains"] if x["present"] and x["planned"])))' firewall)"
check_eq "health: registry path, size > 0, schema" "$LAB_DIR/registry.db True True" \
	"$(st_json '"%s %s %s" % ('"$CHK"'["path"], '"$CHK"'["size"] > 0, '"$CHK"'["schema"] >= 5)' registry)"
check_eq "health: captive page listening on the onboarding and work gateways :$LAB_CAPTIVE_PORT" \
	"10.77.0.1:$LAB_CAPTIVE_PORT 10.79.0.1:$LAB_CAPTIVE_PORT" \
	"$(st_json '" ".join(sorted("%s:%d" % (x["address"], x["port"]) for x in '"$CHK"'["listening"]))' portal captive)"
check_eq "health: staff portal listening (HTTPS $LAB_STAFF_PORT, HTTP $LAB_STAFF_HTTP_PORT) with a certificate date" \
	"http://10.77.0.1:$LAB_STAFF_HTTP_PORT https://10.77.0.1:$LAB_STAFF_PORT True" \
	"$(st_json '" ".join(sorted("%s://%s:%d" % (x["scheme"], x["address"], x["port"]) for x in '"$CHK"'["listening"])) + " " + str(len('"$CHK"'["cert_expires"]) == 10)' portal staff)"
# the sockets are really there (ss in the AP namespace)
check "ss: 10.79.0.1:$LAB_CAPTIVE_PORT and 10.77.0.1:$LAB_STAFF_PORT listening" eval \
	"ip netns exec '$LAB_AP_NS' ss -Hltn | grep -q '10.79.0.1:$LAB_CAPTIVE_PORT ' && ip netns exec '$LAB_AP_NS' ss -Hltn | grep -q '10.77.0.1:$LAB_STAFF_PORT '"
check_match "health: guest isolation says honestly that ap_isolate is not verified" \
	'ap1: .*not verified' "$(message guest_isolation)"
out=$(lab_ctl status 2>&1)
check_match "text: a health section, one line per check, 'all N checks ok'" \
	'health +ok +hostapd +ap0 \(work BSS\): attached' "$out"
check_match "text: summary line" '^ +all [0-9]+ checks ok$' "$(printf '%s\n' "$out" | tail -n 1)"

# ---- hostapd stopped ------------------------------------------------------------
lab_hostapd_stop
check "hostapd stopped: 'status --check' exits 3 (within 3 s)" lab_wait_for 3 rc_is 3
check_eq "hostapd stopped: ap0 and ap1 are problems" "problem problem" "$(level hostapd ap0) $(level hostapd ap1)"
check_match "hostapd stopped: the message names the BSS and its socket path" \
	"^ap0 \\(work BSS\\): not attached: no hostapd control socket at $LAB_CTRL_DIR/ap0 " "$(message hostapd ap0)"
check_eq "hostapd stopped: health status problem, 2 problems" "problem 2" \
	"$(st_json '"%s %d" % (d["health"]["status"], d["health"]["problems"])')"
out=$(lab_ctl status 2>&1); rc=$?
check_eq "hostapd stopped: plain 'status' still exits 0 (apgated answered)" 0 "$rc"
check_match "text: a PROBLEM line for ap1 with its socket" "PROBLEM +hostapd +ap1 \\(guest BSS\\): not attached: no hostapd control socket at $LAB_CTRL_DIR/ap1" "$out"
check_match "text: '2 problems'" '2 problems, 0 warnings' "$out"
lab_ctl status --json --check >/dev/null 2>&1; rc=$?
check_eq "'status --json --check' exits 3 too" 3 "$rc"
lab_hostapd_start || tap_bail "hostapd starts again"
check "hostapd started again: every check ok, 'status --check' exits 0 (within 5 s)" lab_wait_for 5 all_ok ||
	tap_diag "$(lab_ctl status 2>&1)"

# ---- firewall: a jump removed -----------------------------------------------------
check "iptables-legacy -D FORWARD -j APGATE_FWD (in the AP namespace)" ipt -D FORWARD -j APGATE_FWD
check "jump removed: 'status --check' exits 3" rc_is 3
check_eq "jump removed: firewall is a problem" problem "$(level firewall)"
check_match "jump removed: the message names chain, table, family and what to do" \
	'^APGATE_FWD in filter \(IPv4\) is not hooked: no jump to it from FORWARD: reload apgated' "$(message firewall)"
sleep 2.5
check_eq "self-check off (fw_check_interval = 0): still a problem after 2.5 s" problem "$(level firewall)"
check "reload (SIGHUP) of apgated" kill -HUP "$(lab_apgated_pid)"
check "after the reload: firewall ok, 'status --check' exits 0" lab_wait_for 3 eval 'level_is ok firewall && rc_is 0'
check_eq "after the reload: FORWARD's first rule is the jump to APGATE_FWD" "-A FORWARD -j APGATE_FWD" \
	"$(ipt -S FORWARD | grep '^-A' | head -n 1)"

# ---- firewall: a chain deleted, a rule deleted ----------------------------------------
check "iptables-legacy: APGATE_IN unhooked, flushed and deleted" eval \
	'ipt -D INPUT -j APGATE_IN && ipt -F APGATE_IN && ipt -X APGATE_IN'
n6=$(ip6t -S APGATE_IN | grep -c '^-A APGATE_IN ')
check "ip6tables-legacy: rule 1 of APGATE_IN deleted ($n6 before)" ip6t -D APGATE_IN 1
check "chain deleted: 'status --check' exits 3" rc_is 3
check_match "chain deleted: 'APGATE_IN missing in filter (IPv4)' and one more issue" \
	'^APGATE_IN missing in filter \(IPv4\): reload apgated .*\(and 1 more\)$' "$(message firewall)"
check_eq "chain deleted: the second issue is ip6 APGATE_IN's rule count against the plan" \
	"APGATE_IN in filter (IPv6) has $((n6 - 1)) rules, apgated's plan $n6" \
	"$(st_json "$CHK['issues'][1].split(':')[0]" firewall)"
check_eq "chain deleted: the chain entry says present false" "False" \
	"$(st_json 'str([x for x in '"$CHK"'["chains"] if x["family"] == "ipv4" and x["chain"] == "APGATE_IN"][0]["present"])' firewall)"
out=$(lab_ctl status 2>&1)
check_match "text: PROBLEM firewall line and '(missing)' in the chain counts" \
	'PROBLEM +firewall +APGATE_IN missing in filter \(IPv4\).*ipv4 filter:.* APGATE_IN 0 \(missing\)' "$(printf '%s' "$out" | tr '\n' ' ')"
check "reload (SIGHUP) of apgated" kill -HUP "$(lab_apgated_pid)"
check "after the reload: firewall ok, 'status --check' exits 0" lab_wait_for 3 eval 'level_is ok firewall && rc_is 0' ||
	tap_diag "$(lab_ctl status 2>&1)"

# ---- dnsmasq killed ------------------------------------------------------------------
lab_stop dnsmasq-apgate
check "dnsmasq stopped: 'status --check' exits 3" lab_wait_for 2 rc_is 3
check_eq "dnsmasq stopped: dnsmasq is a problem" problem "$(level dnsmasq)"
check_match "dnsmasq stopped: the message says it is not running and names the files" \
	"^dnsmasq is not running: (no pid file|pid [0-9]+ from) $LAB_DNSMASQ_PIDFILE.*$LAB_DNSMASQ_CONF" "$(message dnsmasq)"
lab_zones_dnsmasq_start || tap_bail "dnsmasq starts again"
check "dnsmasq started again: every check ok" lab_wait_for 3 all_ok || tap_diag "$(lab_ctl status 2>&1)"

lab_test_end
