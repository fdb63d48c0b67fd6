#!/bin/bash
# test_identify.sh - identification and automatic decisions with a real DHCP
# client (busybox udhcpc), the real dnsmasq apgated configures, real
# bridges and wired ports, real traffic:
#  - four devices, each behind a wired port of the onboarding bridge, send
#    recorded option 55 lists (udhcpc -o: none of its own; -x 0x37:...: the
#    list verbatim, in order) and option 60: Android 11+, iOS (private
#    address), Windows 10/11 and an HP JetDirect printer. The registry
#    holds each list as sent, and "apgatectl show" suggests Android / an
#    iPhone with a private address, probably a staff phone / a Windows PC /
#    a printer, probably a business device, with the fingerprint as reason;
#  - without [policies] auto_rules an Epson printer (Seiko Epson OUI) on a
#    wired port stays pending; a reload with a bad rule file logs
#    FILE:LINE and decides nothing;
#  - with a good file an Epson printer on another wired port is approved
#    by apgated via auto-rule, the audit names the rule's FILE:LINE, its
#    port moves to the work bridge, and after a new DHCP lease it fetches
#    a page from the lab's internet host (NAT); a device a person blocked
#    is never approved by a rule; apgated refuses to start with a bad rule
#    file and names FILE:LINE.
# The bridge set-up (the zones' gateways moved from ap0/ap1/ap2 onto
# br-work/br-guest/br-onb) is test_wired_ports.sh's.
# Needs root (namespaces); exit 77 otherwise.
set -u
export LAB_ZONES=1
HERE=$(cd "$(dirname "$0")" && pwd)
. "$HERE/lab.sh"
. "$HERE/tap.sh"

BR_WORK=br-work BR_GUEST=br-guest BR_ONB=br-onb
# device MACs: vendors from Debian's ieee-data (64:eb:8c Seiko Epson,
# a0:d3:c1 Hewlett Packard); 3a:.. and f6:.. are locally administered
M_AND=3a:11:00:00:00:01 M_IOS=f6:11:00:00:00:02 M_WIN=00:21:cc:00:00:03 M_HP=a0:d3:c1:00:00:04
M_EPS1=64:eb:8c:00:00:05 M_EPS2=64:eb:8c:00:00:06
# recorded option 55 lists (policies/fingerprints.conf says where from)
FP_ANDROID=1,3,6,15,26,28,51,58,59,43,114
FP_IOS=1,121,3,6,15,119,252
FP_WIN=1,3,6,15,31,33,43,44,46,47,119,121,249,252
FP_HP=1,3,44,6,7,12,15,22,54,58,59,69,18,144

lab_require
command -v iptables-legacy >/dev/null || tap_skip_all "iptables-legacy not installed"
command -v curl >/dev/null || tap_skip_all "curl not installed"
command -v bridge >/dev/null || tap_skip_all "bridge (iproute2) not installed"
[ -r /usr/share/ieee-data/oui.txt ] || tap_skip_all "no /usr/share/ieee-data/oui.txt (ieee-data)"
lab_trap
lab_up || tap_bail "zones lab comes up (hostapd, uplink, LAN, internet)"
AP=$LAB_AP_NS
RULES=$LAB_DIR/auto-rules

# ---- helpers ----
# plug NAME MAC PORT : device namespace NAME with eth0 (MAC) whose peer PORT
# is in the AP namespace (up, in no bridge); dev/NAME files as lab.sh's
plug() {
	local name=$1 mac=$2 port=$3 d=$LAB_DIR/dev/$1 ns
	ns=$(lab_dev_ns "$name")
	mkdir -p "$d"
	echo "$mac" > "$d/mac"; echo wired > "$d/kind"; echo "$ns" > "$d/ns"
	_lab_netns_add "$ns" || return 1
	ip -n "$ns" link add "$LAB_DEV_IF" address "$mac" type veth peer name "$port" netns "$AP" &&
	ip -n "$ns" link set "$LAB_DEV_IF" up && ip -n "$AP" link set "$port" up
}
hex() { printf '%s' "$1" | od -An -tx1 | tr -d ' \n'; }
# fp_dhcp NAME OPTS VENDOR_CLASS HOSTNAME : one DHCP exchange sending exactly
# option 55 = OPTS (udhcpc -o drops its own list, -x adds ours verbatim),
# option 60 = VENDOR_CLASS ("" sends none) and option 12; exit 0 = lease
fp_dhcp() {
	local name=$1 d=$LAB_DIR/dev/$1 script=$LAB_DIR/udhcpc-zone.script ophex="" o
	[ -f "$script" ] || _lab_write_dhcp_script "$script"
	for o in ${2//,/ }; do ophex+=$(printf '%02x' "$o"); done
	rm -f "$d/ip"
	LAB_DEV_DIR=$d timeout 10 ip netns exec "$(cat "$d/ns")" busybox udhcpc -f -n -q -t 3 -T 1 \
		-i "$LAB_DEV_IF" -s "$script" -o -x "0x37:$ophex" -V "$3" -x "0x0c:$(hex "$4")" \
		>>"$d/udhcpc.log" 2>&1 && [ -s "$d/ip" ]
}
master() {
	ip -n "$AP" -o link show dev "$1" 2>/dev/null |
		awk '{for (i = 1; i < NF; i++) if ($i == "master") {print $(i + 1); exit}}'
}
master_is() { [ "$(master "$1")" = "$2" ]; }
# show_json MAC EXPR : a python expression over "apgatectl show MAC --json"
show_json() { lab_ctl show "$1" --json | lab_json "$2"; }
sugg() { show_json "$1" "d['suggestion']['$2']"; }
reasons() { show_json "$1" "' '.join(r['code'] + '=' + r['arg'] for r in d['suggestion']['reasons'])"; }
# after a port move: carrier back, neighbour cache flushed (see test_wired_ports)
moved() {
	local ns; ns=$(lab_dev_ns "$1")
	lab_wait_for 2 eval '[ "$(ip netns exec "$ns" cat /sys/class/net/$LAB_DEV_IF/carrier)" = 1 ]'
	ip -n "$ns" neigh flush dev "$LAB_DEV_IF"
}
audit_of() { lab_ctl --json events --limit 0 | grep -F "\"$1\"" | grep '"audit"'; }

# ---- bridges as the zones' interfaces, the gateways on them ----
n=0
for br in "$BR_WORK" "$BR_GUEST" "$BR_ONB"; do
	n=$((n + 1))
	ip -n "$AP" link add "$br" address "02:a0:00:00:10:0$n" type bridge && ip -n "$AP" link set "$br" up ||
		tap_bail "bridge $br in the AP namespace"
done
ip -n "$AP" addr del "$LAB_GW_WORK/24" dev "$LAB_WORK_BSS" &&
ip -n "$AP" addr del "$LAB_GW_GUEST/24" dev "$LAB_GUEST_BSS" &&
ip -n "$AP" addr del "$LAB_GW_ONB/24" dev "$LAB_ONB_IF" &&
ip -n "$AP" addr add "$LAB_GW_WORK/24" dev "$BR_WORK" &&
ip -n "$AP" addr add "$LAB_GW_GUEST/24" dev "$BR_GUEST" &&
ip -n "$AP" addr add "$LAB_GW_ONB/24" dev "$BR_ONB" || tap_bail "zone gateways on the bridges"

plug and "$M_AND" p1 && plug ios "$M_IOS" p2 && plug win "$M_WIN" p3 && plug hp "$M_HP" p4 &&
plug eps1 "$M_EPS1" p5 && plug eps2 "$M_EPS2" p6 || tap_bail "six devices behind wired ports p1-p6"

write_conf() { # [EXTRA [policies] LINES]
	lab_apgated_write_conf "
[zone work]
interface = $BR_WORK
address = $LAB_GW_WORK/24

[zone guest]
interface = $BR_GUEST
address = $LAB_GW_GUEST/24

[zone onboarding]
interface = $BR_ONB
address = $LAB_GW_ONB/24

[network]
uplink = $LAB_UPLINK_IF
masquerade = yes
lan = 192.168.50.0/24
captive_port = $LAB_CAPTIVE_PORT
wired_ports = p1 p2 p3 p4 p5 p6
bounce_on_move = yes

$(lab_portal_conf)

[dnsmasq]
conf_file = $LAB_DIR/dnsmasq-apgate.conf
hosts_file = $LAB_DIR/dnsmasq-apgate.hosts
pid_file = $LAB_DIR/dnsmasq-apgate.pid
lease_file = $LAB_DIR/dnsmasq-apgate.leases
script = $BUILD/apgate-dhcp-script

[policies]
dir = $LAB_ROOT/policies
${1:-}"
}
write_conf
lab_apgated_start || tap_bail "apgated starts with wired_ports p1-p6 and [policies] dir = policies/"
lab_zones_dnsmasq_start || tap_bail "dnsmasq starts on the conf apgated wrote"
check "apgated loaded the shipped fingerprint table" \
	grep -q "identification: [0-9]* fingerprint(s) from $LAB_ROOT/policies/fingerprints.conf" "$LAB_DIR/apgated.log"
check "the wired ports are in $BR_ONB" lab_wait_for 3 master_is p6 "$BR_ONB"

# ---- 1. recorded fingerprints through the real dnsmasq ----
check "Android 11+ (option 55 $FP_ANDROID, 'android-dhcp-13') gets a lease" \
	fp_dhcp and "$FP_ANDROID" android-dhcp-13 Pixel-7
check "iOS (option 55 $FP_IOS, no option 60, private address) gets a lease" fp_dhcp ios "$FP_IOS" "" Anna
check "Windows 10/11 (option 55 $FP_WIN, 'MSFT 5.0') gets a lease" fp_dhcp win "$FP_WIN" "MSFT 5.0" FRONT-DESK
check "HP printer (option 55 $FP_HP, 'Hewlett-Packard JetDirect') gets a lease" \
	fp_dhcp hp "$FP_HP" "Hewlett-Packard JetDirect" NPI000004
for m in "$M_AND" "$M_IOS" "$M_WIN" "$M_HP"; do
	lab_wait_for 3 eval '[ "$(show_json "$m" "d[\"dhcp_options\"]")" != None ]' >/dev/null
done
check_eq "registry: Android's option 55 as sent" "$FP_ANDROID" "$(show_json "$M_AND" 'd["dhcp_options"]')"
check_eq "registry: iOS's option 55 as sent" "$FP_IOS" "$(show_json "$M_IOS" 'd["dhcp_options"]')"
check_eq "registry: Windows's option 55 and option 60" "$FP_WIN MSFT 5.0" \
	"$(show_json "$M_WIN" 'd["dhcp_options"] + " " + d["dhcp_vendor_class"]')"
check_eq "registry: the printer's option 55" "$FP_HP" "$(show_json "$M_HP" 'd["dhcp_options"]')"

check_eq "Android: suggestion os/type/class" "Android phone personal" \
	"$(sugg "$M_AND" os) $(sugg "$M_AND" type) $(sugg "$M_AND" class)"
check_match "Android: reasons name the fingerprint and the vendor class" \
	"fingerprint=Android 11\+ vendor_class=android-dhcp-13" "$(reasons "$M_AND")"
check_eq "iOS: the sentence" "an iPhone with a private address: probably a staff phone" "$(sugg "$M_IOS" summary)"
check_match "iOS: reasons: fingerprint iOS and the private address" "^fingerprint=iOS .*private_mac=" "$(reasons "$M_IOS")"
check_eq "Windows: suggestion" "Windows pc a Windows PC" \
	"$(sugg "$M_WIN" os) $(sugg "$M_WIN" type) $(sugg "$M_WIN" summary)"
check_eq "HP printer: suggestion os/type/class" "printer printer business" \
	"$(sugg "$M_HP" os) $(sugg "$M_HP" type) $(sugg "$M_HP" class)"
check_match "HP printer: fingerprint HP JetDirect and its vendor class are the reasons" \
	"fingerprint=HP JetDirect vendor_class=Hewlett-Packard JetDirect" "$(reasons "$M_HP")"
check_eq "HP printer: the sentence names the vendor" "a printer (Hewlett Packard): probably a business device" \
	"$(sugg "$M_HP" summary)"
check_match "'apgatectl show' (text) prints the iPhone suggestion" \
	"suggestion +an iPhone with a private address: probably a staff phone \(DHCP fingerprint of iOS" \
	"$(lab_ctl show "$M_IOS")"

# ---- 2. no auto_rules: an Epson on a wired port waits for a person ----
check "Epson eps2 (no auto_rules) gets an onboarding lease" \
	eval 'fp_dhcp eps2 1,3,6,15 "" EPSON000006 && [[ $(lab_dev_ip eps2) == 10.79.0.* ]]'
sleep 1   # watching that nothing happens
check_eq "without auto_rules the Epson printer stays pending" pending "$(show_json "$M_EPS2" 'd["state"]')"
check_eq "... and is suggested as a printer" printer "$(sugg "$M_EPS2" type)"
check "... and p6 stays in $BR_ONB" master_is p6 "$BR_ONB"

# a bad rule file on reload: FILE:LINE, nothing decided
cat > "$RULES" <<'EOF'
# lab rules
approve business type=printer vendor="Seiko Epson" wired=yes
approve friends type=printer
EOF
write_conf "auto_rules = $RULES"
kill -HUP "$(lab_apgated_pid)"
check "reload with a bad rule file: the log names $RULES:3" \
	lab_wait_for 3 grep -q "auto-rules: $RULES:3: approve needs a class" "$LAB_DIR/apgated.log"
check "... and says it refused the file" grep -q "auto-rules: $RULES refused" "$LAB_DIR/apgated.log"
fp_dhcp eps2 1,3,6,15 "" EPSON000006
check_eq "... the Epson printer is still pending after its next lease" pending "$(show_json "$M_EPS2" 'd["state"]')"

# ---- 3. a good rule file: the next Epson goes to work by itself ----
cat > "$RULES" <<'EOF'
# lab rules: Brothers ask; Epsons on a LAN port go to work
ask type=printer vendor=Brother
approve business type=printer vendor="Seiko Epson" wired=yes
EOF
kill -HUP "$(lab_apgated_pid)"
check "reload: 2 rules loaded" lab_wait_for 3 grep -q "auto-rules: 2 rule(s) from $RULES" "$LAB_DIR/apgated.log"
# a person blocks eps2 first: no rule ever approves it
check "a person blocks eps2" lab_ctl block "$M_EPS2"

fp_dhcp eps1 1,3,6,15 "" EPSON000005   # its lease may come from either bridge
check "Epson eps1 behind p5 is approved within 3 s" \
	lab_wait_for 3 eval '[ "$(show_json "$M_EPS1" "d[\"state\"] + \" \" + d[\"class\"]")" = "approved business" ]'
check_eq "decided by apgated via auto-rule" "apgated auto-rule" \
	"$(show_json "$M_EPS1" 'd["decided_by"] + " " + d["decided_via"]')"
check_eq "the type stored with the approval is printer" printer "$(show_json "$M_EPS1" 'd["type"]')"
check_match "the audit has the approve by apgated via auto-rule" '"action": *"approve".*"actor": *"apgated"' \
	"$(audit_of "$M_EPS1" | grep '"approve"')"
check_match "the audit names the rule: $RULES:3 and its text" \
	"rule $RULES:3: approve business type=printer vendor=\\\\\"Seiko Epson\\\\\" wired=yes" \
	"$(audit_of "$M_EPS1" | grep auto_rule)"
check_match "'apgatectl events' (text) shows the auto_rule entry with $RULES:3" "auto_rule.*$RULES:3" \
	"$(lab_ctl events --limit 0)"
check "p5 moves into $BR_WORK" lab_wait_for 3 master_is p5 "$BR_WORK"
moved eps1
check "eps1 gets a work lease (10.77.0.x)" eval 'fp_dhcp eps1 1,3,6,15 "" EPSON000005 && [[ $(lab_dev_ip eps1) == 10.77.0.* ]]'
check "eps1 fetches 'internet-ok' from the internet host $LAB_INET_IP (NAT through the uplink)" \
	lab_wait_for 5 lab_http_is eps1 "http://$LAB_INET_IP/" 200 internet-ok

fp_dhcp eps2 1,3,6,15 "" EPSON000006   # blocked: dnsmasq ignores it; the bridge still learns it
sleep 0.5
check_eq "the blocked Epson stays blocked (no rule decides after a person)" blocked \
	"$(show_json "$M_EPS2" 'd["state"]')"
check_eq "no auto_rule entry for the blocked one" "" "$(audit_of "$M_EPS2" | grep auto_rule)"
check "p6 stays out of $BR_WORK" eval '! master_is p6 "$BR_WORK"'

# ---- 4. a bad rule file at start: apgated refuses to start ----
check "apgated stops" lab_apgated_stop
echo 'approve business' >> "$RULES"
: > "$LAB_DIR/apgated.log"
check "apgated does not start with a bad rule file" eval '! lab_apgated_start 2>/dev/null'
check "its log names $RULES:4" grep -q "auto-rules: $RULES:4: a rule needs at least one condition" "$LAB_DIR/apgated.log"
check "apgated's log holds no sanitizer report" lab_apgated_log_clean

lab_test_end
