#!/bin/bash
# test_onboarding.sh - a device on the onboarding segment (ap2) gets only DHCP,
# DNS and the captive portal: a lease in 10.79.0.0/24, apgated lists it as
# pending, any name resolves, HTTP to anywhere is answered by a 3xx to the
# gateway's captive port, HTTPS is refused (RST), the internet host and the
# LAN server are unreachable (IPv4 and IPv6).
#
# apgated config: lab_apgated_write_zones_conf = the lab's [apgated]/[hostapd]/
#   [bss ap0|ap1] plus [zone work] ap0 10.77.0.1/24, [zone guest] ap1
#   10.78.0.1/24, [zone onboarding] ap2 10.79.0.1/24, [network] uplink=up0
#   masquerade=yes lan=192.168.50.0/24 captive_port=8080, [dnsmasq] conf_file,
#   hosts_file, pid_file, lease_file in $LAB_DIR, script=$LAB_DHCP_SCRIPT
#   (default $BUILD/apgate-dhcp-script). The lab starts dnsmasq -C conf_file
#   (+ --no-resolv --server=198.51.100.10, the lab's internet resolver).
# Needs root (namespaces); exit 77 otherwise.
set -u
export LAB_ZONES=1
HERE=$(cd "$(dirname "$0")" && pwd)
. "$HERE/lab.sh"
. "$HERE/tap.sh"

O1=$(lab_mac 1)
INET=$LAB_INET_IP LANS=$LAB_LAN_IP GW=$LAB_GW_ONB

lab_zones_test_begin
lab_add_onboarding_device o1 "$O1"

check "o1 gets a DHCP lease on the onboarding segment" lab_dhcp o1 printer-o1
check_match "the lease is in 10.79.0.0/24" '^10\.79\.0\.[0-9]+$' "$(lab_dev_ip o1)"
check_eq "the router is the onboarding gateway" "$GW" "$(cat "$LAB_DIR/dev/o1/router" 2>/dev/null)"
check "apgated lists o1 as pending within 3 s (lease helper)" lab_wait_for 3 lab_dev_is "$O1" state pending
check_eq "apgated has o1's leased address" "$(lab_dev_ip o1)" "$(lab_dev_field "$O1" ip)"

# DNS: the lease names a DNS server (the gateway's dnsmasq); any name gets an
# address (the lab's upstream answers 198.51.100.10 for every name; a captive
# answer with the gateway's address is as good)
check "the lease names a DNS server" test -s "$LAB_DIR/dev/o1/dns"
a=$(lab_resolve o1 any-name.test)
check_match "any-name.test resolves through the lease's DNS server" '^[0-9]+\.[0-9]+\.[0-9]+\.[0-9]+$' "$a"

# HTTP: redirected to the captive portal, whatever the destination
check "http://any-name.test/ -> 3xx to http://$GW:$LAB_CAPTIVE_PORT/" lab_http_redirects o1 http://any-name.test/ "$GW"
check "http://$INET/ (the internet host itself) -> 3xx to the captive port" lab_http_redirects o1 "http://$INET/" "$GW"
check "http://$LANS/ (the LAN server) -> never 'lan-ok'" lab_http_not o1 "http://$LANS/" lan-ok
check "the captive port on the gateway is open" lab_tcp_is o1 "$GW" "$LAB_CAPTIVE_PORT" open
# HTTPS: refused with a reset (the internet host does listen on 443)
check "TCP 443 to the internet host: refused (RST), not open, not a timeout" lab_tcp_is o1 "$INET" 443 refused
check "TCP 443 to any-name.test's address: refused" lab_tcp_is o1 "$a" 443 refused
# everything else: dropped
check "no ping to the internet host" eval '! lab_ping o1 "$INET"'
check "no ping to the LAN server" eval '! lab_ping o1 "$LANS"'
check "TCP 22 to the LAN server: not open" lab_tcp_is o1 "$LANS" 22 '!open'
check "TCP 25 to the internet host: dropped (timeout)" lab_tcp_is o1 "$INET" 25 timeout

# IPv6: no forwarding for onboarding
check "o1 gets a static IPv6 address in fd79::/64" lab_dev_addr6 o1
check "no IPv6 ping to the internet host" eval '! lab_ping6 o1 "$LAB_INET_IP6"'
check "http://[internet]/ over IPv6 never answers 'internet-ok'" lab_http_not o1 "http://[$LAB_INET_IP6]/" internet-ok
check "http://[LAN server]/ over IPv6 never answers 'lan-ok'" lab_http_not o1 "http://[$LAB_LAN_IP6]/" lan-ok
check "TCP 443 to the internet host over IPv6: not open" lab_tcp_is o1 "$LAB_INET_IP6" 443 '!open'

check "dnsmasq still runs" lab_pid_alive dnsmasq-apgate
check "apgated is still running" lab_pid_alive apgated
lab_test_end
