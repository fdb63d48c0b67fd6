#!/bin/bash
# test_approve.sh - a pending 802.1X station on the work BSS (ap0) gets
# onboarding treatment from the MAC layer (HTTP redirected to the captive port
# on 10.77.0.1, internet and LAN unreachable, no IPv6 forwarding); after
# "apgatectl approve MAC --as business" the same device, without reconnecting,
# reaches the internet host (through apgated's masquerade: the internet has no
# route back to 10.0.0.0/8) over IPv4 and IPv6 and the LAN server (IPv4: the
# [network] lan key takes IPv4 subnets only), and HTTP is no longer redirected.
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
check "s1 is pending in apgated" lab_wait_for 2 lab_dev_is "$S1" state pending
check "s1 gets a lease in 10.77.0.0/24" eval 'lab_dhcp s1 && [[ $(lab_dev_ip s1) == 10.77.0.* ]]'
check "s1 gets a static IPv6 address in fd77::/64" lab_dev_addr6 s1

# ---- pending: onboarding treatment on the work BSS ----
check "pending: http://any-name.test/ -> 3xx to http://$GW:$LAB_CAPTIVE_PORT/" lab_http_redirects s1 http://any-name.test/ "$GW"
check "pending: TCP 443 to the internet host refused" lab_tcp_is s1 "$INET" 443 refused
check "pending: the LAN server is not reached" lab_http_not s1 "http://$LANS/" lan-ok
check "pending: no IPv6 to the internet host" lab_http_not s1 "http://[$LAB_INET_IP6]/" internet-ok

# ---- approve ----
check "approve s1 --as business" lab_ctl approve "$S1" --as business --type pc
check "approved: http://$INET/ answers 'internet-ok' within 3 s (masquerade)" \
	lab_wait_for 3 lab_http_is s1 "http://$INET/" 200 internet-ok
tap_diag "internet reachable ${LAB_WAITED}s after approve returned"
check "approved: http://any-name.test/ is no longer redirected ('internet-ok')" \
	lab_http_is s1 http://any-name.test/ 200 internet-ok
check "approved: http://$LANS/ answers 'lan-ok'" lab_http_is s1 "http://$LANS/" 200 lan-ok
check "approved: TCP 443 to the internet host open" lab_tcp_is s1 "$INET" 443 open
check "approved: ping the internet host" lab_ping s1 "$INET"
check "approved: IPv6 ping to the internet host" lab_ping6 s1 "$LAB_INET_IP6"
check "approved: http://[internet]/ over IPv6 answers 'internet-ok'" lab_http_is s1 "http://[$LAB_INET_IP6]/" 200 internet-ok

check "apgated is still running" lab_pid_alive apgated
lab_test_end
