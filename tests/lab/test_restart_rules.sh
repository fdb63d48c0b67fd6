#!/bin/bash
# test_restart_rules.sh - apgated's firewall is idempotent and rebuilt from the
# registry: with devices in every state (approved business, approved
# personal, guest visitor, blocked, pending wired device), iptables-legacy-save and
# ip6tables-legacy-save of the AP namespace (counters and "#" lines stripped)
# are byte-identical before and after a SIGTERM restart and after a kill -9
# restart; foreign rules added by the test (filter FORWARD and INPUT, nat
# POSTROUTING, ip6tables FORWARD) survive both. A foreign rule inserted in
# front of apgate's hook is kept, but the next rebuild puts apgate's jump
# first again (nothing may bypass the zones).
#
# apgated config: lab_apgated_write_zones_conf (see test_onboarding.sh).
# Needs root (namespaces); exit 77 otherwise.
set -u
export LAB_ZONES=1
HERE=$(cd "$(dirname "$0")" && pwd)
. "$HERE/lab.sh"
. "$HERE/tap.sh"

S1=$(lab_mac 1) P2=$(lab_mac 2) V3=$(lab_mac 3) B4=$(lab_mac 4) W5=$(lab_mac 5)

lab_zones_test_begin
ipt() { ip netns exec "$LAB_AP_NS" iptables-legacy "$@"; }
ip6t() { ip netns exec "$LAB_AP_NS" ip6tables-legacy "$@"; }

lab_add_work_device s1 "$S1"; lab_sta_start s1
lab_add_guest_device p2 "$P2"; lab_add_guest_device v3 "$V3"
lab_add_guest_device b4 "$B4"; lab_add_wired_device w5 "$W5"
lab_dhcp p2 >/dev/null; lab_dhcp v3 >/dev/null; lab_dhcp w5 >/dev/null; lab_dhcp b4 >/dev/null
check "s1 authorized" lab_wait_for 10 lab_hostapd_authorized ap0 "$S1"
lab_dhcp s1 >/dev/null
check "s1, p2, v3, b4 are in the registry" lab_wait_for 3 eval \
	'lab_dev_is "$S1" connected true && lab_dev_is "$P2" connected true && lab_dev_is "$V3" connected true && lab_dev_is "$B4" connected true'
check "approve s1 business, p2 personal; block b4 (guest BSS)" eval \
	'lab_ctl approve "$S1" --as business && lab_ctl approve "$P2" --as personal && lab_ctl block "$B4"'

# both families, one text; "settled" = unchanged over 0.5 s
rules() { printf '### ipv4\n%s\n### ipv6\n%s\n' "$(lab_ipt_save 4)" "$(lab_ipt_save 6)"; }
settled() {
	local a b; a=$(rules); sleep 0.5; b=$(rules)
	[ "$a" = "$b" ]
}
check "rules settle within 5 s" lab_wait_for 5 settled

r0=$(rules)
check "apgated installed its chains (APGATE_*) in filter" grep -q '^:APGATE_' <<<"$(lab_ipt_save 4)"
check "apgated installed its chains in nat (captive redirect, masquerade)" \
	grep -q '^:APGATE_' <<<"$(ip netns exec "$LAB_AP_NS" iptables-legacy-save -t nat)"
check "apgated installed IPv6 chains" grep -q '^:APGATE_' <<<"$(lab_ipt_save 6)"

# foreign rules, added while apgated runs
ipt -A FORWARD -s 203.0.113.7 -j DROP
ipt -A INPUT -s 203.0.113.8 -p tcp --dport 22 -j ACCEPT
ipt -t nat -A POSTROUTING -s 203.0.113.9 -j RETURN
ip6t -A FORWARD -s 2001:db8:dead::1 -j DROP
foreign() {
	ipt -C FORWARD -s 203.0.113.7 -j DROP && ipt -C INPUT -s 203.0.113.8 -p tcp --dport 22 -j ACCEPT &&
	ipt -t nat -C POSTROUTING -s 203.0.113.9 -j RETURN && ip6t -C FORWARD -s 2001:db8:dead::1 -j DROP
}
before=$(rules)
check "the foreign rules are in" foreign

diff_rules() { # BEFORE_FILE : unified diff against the rules now, exit 1 if any
	rules > "$LAB_DIR/rules.now"
	diff -u "$1" "$LAB_DIR/rules.now"
}
printf '%s\n' "$before" > "$LAB_DIR/rules.before"

lab_apgated_stop
lab_apgated_start || tap_bail "apgated starts again (SIGTERM restart)"
check "rules settle after the restart" lab_wait_for 5 settled
check "iptables/ip6tables-save byte-identical after a SIGTERM restart" diff_rules "$LAB_DIR/rules.before"
check "foreign rules survived the SIGTERM restart" foreign

lab_apgated_kill9
lab_apgated_start || tap_bail "apgated starts again (after kill -9)"
check "rules settle after the kill -9 restart" lab_wait_for 5 settled
check "iptables/ip6tables-save byte-identical after a kill -9 restart" diff_rules "$LAB_DIR/rules.before"
check "foreign rules survived the kill -9 restart" foreign

# a rule put in front of apgate's hook cannot bypass it for long: a rebuild
# puts apgate's jump first again and keeps the other rule, below it
ipt -I FORWARD 1 -s 203.0.113.10 -j ACCEPT
lab_apgated_stop
lab_apgated_start || tap_bail "apgated starts again (third restart)"
first_forward() { ip netns exec "$LAB_AP_NS" iptables-legacy -S FORWARD | sed -n 2p; }
check "a restart puts apgate's FORWARD jump first again" lab_wait_for 5 eval '[ "$(first_forward)" = "-A FORWARD -j APGATE_FWD" ]'
check "and keeps the rule that had been put in front of it" ipt -C FORWARD -s 203.0.113.10 -j ACCEPT
ipt -D FORWARD -s 203.0.113.10 -j ACCEPT

# the rules still do their job after three restarts
check "s1 (business) still reaches the LAN server" lab_http_is s1 "http://$LAB_LAN_IP/" 200 lan-ok
check "w5 (pending) still redirected" lab_http_redirects w5 http://any-name.test/ "$LAB_GW_WORK"

check "apgated is still running" lab_pid_alive apgated
lab_test_end
