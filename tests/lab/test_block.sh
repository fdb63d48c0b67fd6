#!/bin/bash
# test_block.sh - a blocked device reaches nothing: not the internet host, not
# the LAN server, not the captive portal (no redirect either), no IPv6, and a
# new DHCP exchange gets no lease; "apgatectl forget" returns it to onboarding
# (lease again, HTTP redirected to the captive port, internet unreachable).
#
# apgated config: lab_apgated_write_zones_conf (see test_onboarding.sh).
# Needs root (namespaces); exit 77 otherwise.
set -u
export LAB_ZONES=1
HERE=$(cd "$(dirname "$0")" && pwd)
. "$HERE/lab.sh"
. "$HERE/tap.sh"

S1=$(lab_mac 1)
INET=$LAB_INET_IP LANS=$LAB_LAN_IP GW=$LAB_GW_WORK

lab_zones_test_begin
lab_add_work_device s1 "$S1"
lab_sta_start s1
check "s1 authenticates on ap0" lab_wait_for 10 lab_hostapd_authorized ap0 "$S1"
check "s1 is pending" lab_wait_for 2 lab_dev_is "$S1" state pending
check "s1 gets a lease in 10.77.0.0/24" eval 'lab_dhcp s1 && [[ $(lab_dev_ip s1) == 10.77.0.* ]]'
lab_dev_addr6 s1 >/dev/null
check "pending: HTTP redirected to the captive port (the treatment that blocking removes)" \
	lab_http_redirects s1 http://any-name.test/ "$GW"

check "block s1" lab_ctl block "$S1"
check "blocked: no HTTP answer at all from anywhere within 3 s (not even the redirect)" \
	lab_wait_for 3 eval '! lab_http s1 "http://$INET/" 1 >/dev/null'
check "blocked: http://$LANS/ no answer" eval '! lab_http s1 "http://$LANS/" 1 >/dev/null'
check "blocked: the captive port on the gateway is not open" lab_tcp_is s1 "$GW" "$LAB_CAPTIVE_PORT" '!open'
check "blocked: TCP 443 to the internet host not open" lab_tcp_is s1 "$INET" 443 '!open'
check "blocked: no ping to the internet host" eval '! lab_ping s1 "$INET"'
check "blocked: no ping to the LAN server" eval '! lab_ping s1 "$LANS"'
check "blocked: nothing over IPv6 (internet)" lab_http_not s1 "http://[$LAB_INET_IP6]/" internet-ok
check "blocked: a new DHCP exchange gets no lease" eval '! lab_dhcp s1'

check "forget s1" lab_ctl forget "$S1"
check "forgotten: a lease in 10.77.0.0/24 again" eval 'lab_dhcp s1 && [[ $(lab_dev_ip s1) == 10.77.0.* ]]'
check "forgotten: HTTP redirected to the captive port again (onboarding)" \
	lab_wait_for 3 lab_http_redirects s1 http://any-name.test/ "$GW"
check "forgotten: the internet host still unreachable" lab_http_not s1 "http://$INET:443/" internet-ok
check "forgotten: TCP 443 refused (onboarding), not open" lab_tcp_is s1 "$INET" 443 refused
check "forgotten: the LAN server unreachable" lab_http_not s1 "http://$LANS/" lan-ok

check "apgated is still running" lab_pid_alive apgated
lab_test_end
