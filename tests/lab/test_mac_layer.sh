#!/bin/bash
# test_mac_layer.sh - a device plugged straight into the work medium, running
# no 802.1X (hostapd never authorizes it, nothing at layer 2 stops it), gets a
# lease on ap0 but only onboarding treatment from the MAC layer: HTTP
# redirected to the captive port on 10.77.0.1, HTTPS refused, internet and
# LAN unreachable, no IPv6 forwarding; an approved business station on the
# same medium keeps work access meanwhile, and its open TCP connection survives
# w1's approval; after "approve --as business" the
# plugged-in device has work access too.
#
# apgated config: lab_apgated_write_zones_conf (see test_onboarding.sh).
# Needs root (namespaces); exit 77 otherwise.
set -u
export LAB_ZONES=1
HERE=$(cd "$(dirname "$0")" && pwd)
. "$HERE/lab.sh"
. "$HERE/tap.sh"

W1=$(lab_mac 1) S2=$(lab_mac 2)
INET=$LAB_INET_IP LANS=$LAB_LAN_IP GW=$LAB_GW_WORK

lab_zones_test_begin
lab_add_wired_device w1 "$W1"
lab_add_work_device s2 "$S2"
lab_sta_start s2
check "s2 authenticates on ap0" lab_wait_for 10 lab_hostapd_authorized ap0 "$S2"
check "s2 is in the registry" lab_wait_for 2 lab_dev_is "$S2" connected true
check "approve s2 --as business" lab_ctl approve "$S2" --as business
check "s2 gets a lease in 10.77.0.0/24" eval 'lab_dhcp s2 && [[ $(lab_dev_ip s2) == 10.77.0.* ]]'

check "w1 (no 802.1X) gets a lease in 10.77.0.0/24" eval 'lab_dhcp w1 && [[ $(lab_dev_ip w1) == 10.77.0.* ]]'
check "(lab) hostapd does not authorize w1" eval '! lab_hostapd_authorized ap0 "$W1"'
lab_dev_addr6 w1 >/dev/null; lab_dev_addr6 s2 >/dev/null

check "w1: http://any-name.test/ -> 3xx to http://$GW:$LAB_CAPTIVE_PORT/" lab_http_redirects w1 http://any-name.test/ "$GW"
check "w1: http://$INET/ -> 3xx to the captive port" lab_http_redirects w1 "http://$INET/" "$GW"
check "w1: TCP 443 to the internet host refused" lab_tcp_is w1 "$INET" 443 refused
check "w1: the captive port is open" lab_tcp_is w1 "$GW" "$LAB_CAPTIVE_PORT" open
check "w1: never the LAN server" lab_http_not w1 "http://$LANS/" lan-ok
check "w1: no ping to the internet host" eval '! lab_ping w1 "$INET"'
check "w1: no ping to the LAN server" eval '! lab_ping w1 "$LANS"'
check "w1: no IPv6 to the internet host" lab_http_not w1 "http://[$LAB_INET_IP6]/" internet-ok
check "w1: no IPv6 to the LAN server" lab_http_not w1 "http://[$LAB_LAN_IP6]/" lan-ok

check "s2 (approved business, same medium): 'internet-ok'" lab_http_is s2 "http://$INET/" 200 internet-ok
check "s2: 'lan-ok'" lab_http_is s2 "http://$LANS/" 200 lan-ok
check "s2: IPv6 'internet-ok'" lab_http_is s2 "http://[$LAB_INET_IP6]/" 200 internet-ok

check "w1 is in the registry (lease helper, or hostapd's EAP start) in state pending" \
	lab_wait_for 3 lab_dev_is "$W1" state pending
# s2 holds one TCP connection open to the internet host while w1 is approved:
# the approval must not drop it (the same connection still carries data)
lab_spawn inet-echo "$LAB_DIR/echo.log" "$LAB_DIR/echo.log" ip netns exec "$LAB_INET_NS" /usr/bin/python3 -c '
import socket
s = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(("0.0.0.0", 7007)); s.listen(1); c, _ = s.accept()
while True:
    d = c.recv(64)
    if not d: break
    c.sendall(d)'
lab_wait_for 3 _lab_listening "$LAB_INET_NS" tcp 7007
lab_spawn s2-conn "$LAB_DIR/conn.log" "$LAB_DIR/conn.log" ip netns exec "$(lab_dev_ns s2)" /usr/bin/python3 -c '
import os, socket, sys, time
d = sys.argv[1]
c = socket.create_connection((sys.argv[2], 7007), timeout=5)
c.sendall(b"before"); ok = c.recv(64) == b"before"
open(d + "/conn.before", "w").write("ok" if ok else "bad")
end = time.time() + 60
while not os.path.exists(d + "/conn.go") and time.time() < end: time.sleep(0.01)
c.sendall(b"after"); ok = c.recv(64) == b"after"
open(d + "/conn.after", "w").write("ok" if ok else "bad")' "$LAB_DIR" "$INET"
check "s2 holds a TCP connection to the internet host" lab_wait_for 5 grep -qx ok "$LAB_DIR/conn.before"

check "approve w1 --as business" lab_ctl approve "$W1" --as business --type printer
touch "$LAB_DIR/conn.go"
check "s2's connection still carries data after w1's approval (not dropped)" lab_wait_for 5 grep -qx ok "$LAB_DIR/conn.after"
check "w1 approved: 'internet-ok' within 3 s" lab_wait_for 3 lab_http_is w1 "http://$INET/" 200 internet-ok
check "w1 approved: http://any-name.test/ not redirected" lab_http_is w1 http://any-name.test/ 200 internet-ok
check "w1 approved: 'lan-ok'" lab_http_is w1 "http://$LANS/" 200 lan-ok
check "w1 approved: TCP 443 open" lab_tcp_is w1 "$INET" 443 open
check "w1 approved: IPv6 'internet-ok'" lab_http_is w1 "http://[$LAB_INET_IP6]/" 200 internet-ok

check "apgated is still running" lab_pid_alive apgated
lab_test_end
