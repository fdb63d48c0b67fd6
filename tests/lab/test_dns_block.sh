#!/bin/bash
# test_dns_block.sh - DNS protection: a device that looks up a blocklisted
# name (or a name under it) gets NXDOMAIN from the zone's dnsmasq while other
# names still resolve through the lab's upstream; the blocked look-up is
# recorded for the device and raises a "dns_blocked" alert naming it; a
# domain added to [policies] blocklist_local takes effect without restarting
# apgated or dnsmasq (same pids), and so does a reload naming another list.
#
# apgated config: the zones lab (lab_apgated_write_zones_conf) with
#   [dnsmasq] query_log in $LAB_DIR (lab.sh) and [policies] dir = a copy of
#   policies/ whose blocklist.txt lists bad.example, blocklist_local in $LAB_DIR.
# Device: o1 on the onboarding segment (pending; its lease names the
#   gateway's dnsmasq as DNS server, which forwards to the internet host's
#   dnsmasq, answering 198.51.100.10 for every name).
# Needs root (namespaces); exit 77 otherwise.
set -u
export LAB_ZONES=1
HERE=$(cd "$(dirname "$0")" && pwd)
. "$HERE/lab.sh"
. "$HERE/tap.sh"

O1=$(lab_mac 1)

# lab_zones_test_begin's steps, with the lists written between lab_up (a
# fresh LAB_DIR) and apgated's start
lab_require
command -v iptables-legacy >/dev/null || tap_skip_all "iptables-legacy not installed"
command -v curl >/dev/null || tap_skip_all "curl not installed"
lab_trap
lab_up || tap_bail "zones lab comes up"
POL=$LAB_DIR/policies LOCAL=$LAB_DIR/blocklist.local
mkdir -p "$POL"
cp "$LAB_ROOT"/policies/*.txt "$LAB_ROOT"/policies/*.conf "$POL"/ 2>/dev/null
printf '# lab list\nbad.example\n0.0.0.0 Phish.Example.  # hosts-file form, any case\nnot a domain line\n' >> "$POL/blocklist.txt"
printf '# local list, empty at first\n' > "$LOCAL"
lab_apgated_write_zones_conf "
[policies]
dir = $POL
blocklist_local = $LOCAL"
lab_apgated_start || tap_bail "apgated starts with [policies] dns_blocking"
lab_zones_dnsmasq_start || tap_bail "dnsmasq starts on the conf apgated wrote"

CONF=$LAB_DNSMASQ_CONF
check "dnsmasq's conf names the blocklist servers-file" grep -qx "servers-file=$CONF.blocklist" "$CONF"
check "dnsmasq's conf logs queries with serials to the query log" \
	eval "grep -qx 'log-queries=extra' '$CONF' && grep -qx 'log-facility=$LAB_DIR/dnsmasq-apgate.log' '$CONF'"
check "the servers-file has bad.example and phish.example" \
	eval "grep -qx 'server=/bad.example/' '$CONF.blocklist' && grep -qx 'server=/phish.example/' '$CONF.blocklist'"
check "a line that is no domain is reported with file:line" \
	grep -q "blocklist.txt:[0-9]*: not a domain name" "$LAB_DIR/apgated.log"

lab_add_onboarding_device o1 "$O1"
check "o1 gets a lease (its DNS server is the gateway)" lab_dhcp o1 pos-till1
check "apgated lists o1 with its address" lab_wait_for 3 lab_dev_is "$O1" state pending
IP=$(lab_dev_ip o1)

# nslookup's answer for NAME from o1: "NXDOMAIN", an address, or what failed
lookup() {
	local out
	out=$(timeout 4 ip netns exec "$(lab_dev_ns o1)" busybox nslookup -type=a "$1" "$LAB_GW_ONB" 2>&1)
	case $out in
	*NXDOMAIN*) echo NXDOMAIN ;;
	*) printf '%s\n' "$out" | awk '/^Name:/ {n = 1} n && /^Address:/ {print $2; f = 1; exit} END {if (!f) print "no-answer"}' ;;
	esac
}
check_eq "a normal name resolves" "$LAB_INET_IP" "$(lookup shop-supplier.test)"
check_eq "bad.example: NXDOMAIN" NXDOMAIN "$(lookup bad.example)"
check_eq "a name under it (login.bad.example): NXDOMAIN" NXDOMAIN "$(lookup login.bad.example)"
check_eq "a name that only ends alike (notbad.example) resolves" "$LAB_INET_IP" "$(lookup notbad.example)"
check_eq "PHISH.example (hosts-file line, other case): NXDOMAIN" NXDOMAIN "$(lookup PHISH.example)"

alert_line() { lab_ctl alerts 2>/dev/null | grep -F "$1"; }
check "an alert names the device, its address and the domain within 5 s" \
	lab_wait_for 5 eval "alert_line 'tried to reach a blocked domain' | grep -F '$IP' | grep -F 'pos-till1' | grep -qF 'bad.example'"
lab_ctl alerts 2>/dev/null | grep -F 'blocked domain' | sed 's/^/# /'
check "the alert is about o1's MAC" eval "lab_ctl --json alerts 2>/dev/null | grep -q '$O1'"
check "the blocked look-ups are recorded for o1 (dns_blocks)" \
	lab_wait_for 3 eval "sqlite3 '$LAB_DIR/registry.db' \"select count(*) from dns_blocks where mac = '$O1' and domain = 'bad.example'\" | grep -qv '^0$'"
check "apgatectl dns-blocks $O1 lists bad.example" eval "lab_ctl dns-blocks '$O1' | grep -q 'bad\.example'"
lab_ctl dns-blocks "$O1" 2>&1 | sed 's/^/# /'
check_match "apgatectl status: the blocklist in force and the blocked look-ups counted" \
	'^ok [0-9]+ domains blocked; [1-9][0-9]* blocked look-ups? since start' \
	"$(lab_ctl --json status | python3 -c 'import json,sys
c = [c for c in json.load(sys.stdin)["health"]["checks"] if c["name"] == "dns_blocking"]
print(c[0]["level"] + " " + c[0]["message"] if c else "none")')"
check "the normal name is not recorded" \
	eval "[ \"\$(sqlite3 '$LAB_DIR/registry.db' \"select count(*) from dns_blocks where domain like '%supplier%'\")\" = 0 ]"

# the admin's own list: takes effect with no restart
A_PID=$(lab_apgated_pid) D_PID=$(cat "$LAB_DNSMASQ_PIDFILE")
check_eq "evil.example resolves before it is listed" "$LAB_INET_IP" "$(lookup evil.example)"
printf 'evil.example\n' > "$LOCAL.tmp" && mv "$LOCAL.tmp" "$LOCAL"
check "after adding evil.example to blocklist_local: NXDOMAIN within 6 s" \
	lab_wait_for 6 eval '[ "$(lookup evil.example)" = NXDOMAIN ]'
check_eq "apgated was not restarted" "$A_PID" "$(lab_apgated_pid)"
check_eq "dnsmasq was not restarted" "$D_PID" "$(cat "$LAB_DNSMASQ_PIDFILE")"
check "dnsmasq is still running" lab_pid_alive dnsmasq-apgate
check "apgated says it told dnsmasq" grep -q "DNS blocklist: .* domains; dnsmasq told" "$LAB_DIR/apgated.log"
# removing it again lifts the block
printf '# nothing\n' > "$LOCAL"
check "after removing it: evil.example resolves again within 6 s" \
	lab_wait_for 6 eval '[ "$(lookup evil.example)" = "$LAB_INET_IP" ]'

# apgated's reload (SIGHUP) reads the lists again: blocklist_local now names
# another file
printf 'reload.example\n' > "$LOCAL.2"
sed -i "s|^blocklist_local = .*|blocklist_local = $LOCAL.2|" "$LAB_APGATED_CONF"
kill -HUP "$A_PID"
check "after a reload naming another local list: reload.example is NXDOMAIN within 4 s" \
	lab_wait_for 4 eval '[ "$(lookup reload.example)" = NXDOMAIN ]'
check_eq "and bad.example (the shipped list) still is" NXDOMAIN "$(lookup bad.example)"
check_eq "dnsmasq was not restarted by the reload" "$D_PID" "$(cat "$LAB_DNSMASQ_PIDFILE")"
check "apgated still answers" lab_ctl status
tap_done
