#!/bin/bash
# test_check.sh - the risky-service check (issue 8, item 2) with real TCP:
#  - t1, a device with a listener on port 23, gets its first DHCP lease: the
#    automatic first-seen check finds telnet; "apgatectl show" lists the
#    finding and "apgatectl alerts" an open risky_service alert that names
#    telnet, port 23 and the device's address; the listener saw connects
#    from the AP (real traffic, not a guess);
#  - t2, with no listener, is checked too and has no finding ("apgatectl
#    check --wait" says so, on demand);
#  - the check never leaves the zones: a device whose registry address is
#    the internet host, the work gateway or the work subnet's broadcast
#    address is refused ("no address inside the shop's zones") and is never
#    checked automatically; the internet host (listener on 23, iptables SYN
#    counter from the AP) sees no connection during the whole test.
# apgated config: lab_apgated_write_zones_conf + [checks] (fast timeouts).
# Needs root (namespaces); exit 77 otherwise.
set -u
export LAB_ZONES=1
HERE=$(cd "$(dirname "$0")" && pwd)
. "$HERE/lab.sh"
. "$HERE/tap.sh"

T1=$(lab_mac 1) T2=$(lab_mac 2)
FAR=02:00:00:00:0c:01 GWDEV=02:00:00:00:0c:02 BCAST=02:00:00:00:0c:03

lab_zones_test_begin "
[checks]
timeout_ms = 400
per_minute = 60
concurrency = 8"

# listen PORT LOGFILE : a python TCP listener; each accepted peer's address
# is appended to LOGFILE (run through "ip netns exec NS")
LISTENER='import socket, sys
s = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(("0.0.0.0", int(sys.argv[1]))); s.listen(16)
while True:
    c, a = s.accept()
    with open(sys.argv[2], "a") as f: f.write(a[0] + "\n")
    c.close()'

# the internet host: a telnet listener and a counter of SYNs from the AP
: > "$LAB_DIR/inet-23.log"
lab_spawn inet-23 "$LAB_DIR/inet-23.out" "$LAB_DIR/inet-23.out" \
	ip netns exec "$LAB_INET_NS" "$LAB_PY" -c "$LISTENER" 23 "$LAB_DIR/inet-23.log"
ip netns exec "$LAB_INET_NS" iptables-legacy -I INPUT -p tcp --syn -s 198.51.100.1 -j ACCEPT ||
	tap_bail "SYN counter in the internet namespace"
inet_syns() {
	ip netns exec "$LAB_INET_NS" iptables-legacy -L INPUT -v -x -n |
		awk '$3 == "ACCEPT" && / 198\.51\.100\.1 / {print $1; exit}'
}

# show_checked MAC : "apgatectl show" no longer says the device was never checked
show_checked() { lab_ctl show "$1" | grep -q '^checked ' && ! lab_ctl show "$1" | grep -q '^checked .*never'; }

# ---- t1: telnet open ----
lab_add_wired_device t1 "$T1" || tap_bail "device t1"
: > "$LAB_DIR/t1-23.log"
lab_spawn t1-23 "$LAB_DIR/t1-23.out" "$LAB_DIR/t1-23.out" \
	ip netns exec "$(lab_dev_ns t1)" "$LAB_PY" -c "$LISTENER" 23 "$LAB_DIR/t1-23.log"
listening() { ip netns exec "$(lab_dev_ns "$1")" ss -ltn | grep -q ":$2 "; }
check "t1 listens on port 23" lab_wait_for 3 listening t1 23
check "t1 gets a lease in the work zone" eval 'lab_dhcp t1 && [[ $(lab_dev_ip t1) == 10.77.0.* ]]'
IP1=$(lab_dev_ip t1)
check "t1 is checked automatically after its first lease" lab_wait_for 15 show_checked "$T1"
show1=$(lab_ctl show "$T1" 2>&1)
check_match "apgatectl show lists telnet on port 23 as a finding" 'findings:.*telnet.*23' "$(tr '\n' ' ' <<<"$show1")"
check_match "apgatectl show counts one risky service" '1 risky service found' "$show1"
alerts=$(lab_ctl alerts 2>&1)
check_match "apgatectl alerts has an open alert naming t1's address, telnet and port 23" \
	"$IP1.*telnet on port 23|telnet on port 23.*$IP1" "$alerts"
check_match "the alert gives advice in plain words" "passwords unencrypted.*(Turn|turn).*off" "$alerts"
check "t1's listener saw connects from the AP's work address" grep -qx 10.77.0.1 "$LAB_DIR/t1-23.log"

# ---- t2: nothing open ----
lab_add_wired_device t2 "$T2" || tap_bail "device t2"
check "t2 gets a lease in the work zone" eval 'lab_dhcp t2 && [[ $(lab_dev_ip t2) == 10.77.0.* ]]'
check "t2 is checked automatically after its first lease" lab_wait_for 15 show_checked "$T2"
check_match "apgatectl show: t2 has no risky service" '0 risky services found' "$(lab_ctl show "$T2" 2>&1)"
out=$(lab_ctl check "$T2" --wait=20 2>&1)
check_match "apgatectl check --wait on t2: no risky service found" "no risky service found" "$out"
out=$(lab_ctl check "$T1" --wait=20 2>&1)
check_match "apgatectl check --wait on t1 finds telnet again" "telnet" "$out"
check_match "no risky_service alert about t2" "^$" "$(lab_ctl alerts 2>&1 | grep -i "$(lab_dev_ip t2)" || true)"

# ---- never outside the zones ----
# lease records for addresses a check must not touch, as dnsmasq's helper
# sends them (the device then exists with that address)
fake_lease() {
	env -i APGATE_SOCKET="$LAB_ADMIN_SOCK" DNSMASQ_INTERFACE="$LAB_WORK_BSS" \
		"$BUILD/apgate-dhcp-script" add "$1" "$2" "$3"
}
fake_lease "$FAR" "$LAB_INET_IP" far-away
fake_lease "$GWDEV" 10.77.0.1 gateway-twin
fake_lease "$BCAST" 10.77.0.255 broadcast-twin
all_exist() { for m in "$@"; do lab_ctl show "$m" >/dev/null 2>&1 || return 1; done; }
check "the three devices with addresses outside the zones' hosts exist" \
	lab_wait_for 3 all_exist "$FAR" "$GWDEV" "$BCAST"
for m in "$FAR" "$GWDEV" "$BCAST"; do
	out=$(lab_ctl check "$m" 2>&1); rc=$?
	check_match "apgatectl check $m ($(lab_ctl show "$m" 2>/dev/null | awk '$1 == "ip" {print $2}')) is refused" \
		"^1 .*no address inside the shop's zones" "$rc $out"
done
sleep 1
for m in "$FAR" "$GWDEV" "$BCAST"; do
	check_match "$m was never checked automatically" 'never' "$(lab_ctl show "$m" 2>&1 | grep '^checked')"
done
check_eq "the internet host saw no SYN from the AP" 0 "$(inet_syns)"
check_eq "the internet host's port-23 listener saw no connection" 0 "$(wc -l < "$LAB_DIR/inet-23.log")"
# the lab's only other hosts are the uplink's gateway (the internet host)
# and the LAN server: nobody bypasses the AP here
check_match "no device is reported as bypassing the access point" "^$" \
	"$(lab_ctl alerts 2>&1 | grep 'bypasses the access point' || true)"
check "apgated is still running" lab_pid_alive apgated
lab_test_end
