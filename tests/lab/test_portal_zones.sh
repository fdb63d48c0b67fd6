#!/bin/bash
# test_portal_zones.sh - the portal's two faces through the real zones of the
# namespace lab (real hostapd, wpa_supplicant, dnsmasq, apgated's firewall):
#
#  - staff face (HTTPS 8443, its HTTP 301 on 8090): an approved business
#    device b1 on ap0 gets the login page (with the certificate apgated made
#    for 10.77.0.1) and the 301; the listeners are bound to 10.77.0.1 only
#    (ss in the AP namespace); an onboarding device o3 (ap2), a guest g4 (ap1)
#    and a pending 802.1X station p2 (ap0) get no answer from 10.77.0.1,
#    10.78.0.1 or 10.79.0.1 on 8443/8090, and the firewall's DROP rule for
#    their interface counts their SYNs (10.77.0.1 is an address of the AP, so
#    without the firewall Linux would answer them on any interface);
#  - OS probes: p2 pending -> http://captive.apple.com/hotspot-detect.html
#    (and the Android/Windows ones) are DNATed to the captive port and get
#    302 http://10.77.0.1:8080/; after "approve --as business" the same URL
#    reaches the lab's internet host (a file only it serves), and the probes
#    asked of the captive port directly get 204 / Success / Microsoft ...;
#  - RFC 8908: dnsmasq's conf has option 114 on ap2, o3's lease carries it,
#    the URL answers application/captive+json with captive true; on ap0 the
#    API says captive true for p2 while pending and false once approved;
#  - bad input to the captive port from o3's namespace: a 20 KB header and a
#    garbage request line get 4xx or a closed connection; the next normal
#    request is served.
#
# apgated config: lab_apgated_write_zones_conf (see test_onboarding.sh), whose
# [portal] section is https_port 8443, http_port 8090, cert/key in $LAB_DIR.
# Needs root (namespaces); exit 77 otherwise.
# Run: make build && TESTS=test_portal_zones tests/run.sh build
set -u
export LAB_ZONES=1
HERE=$(cd "$(dirname "$0")" && pwd)
. "$HERE/lab.sh"
. "$HERE/tap.sh"

RAW_RESULT=
B1=$(lab_mac 1) P2=$(lab_mac 2) O3=$(lab_mac 3) G4=$(lab_mac 4)
GW=$LAB_GW_WORK CP=$LAB_CAPTIVE_PORT SP=$LAB_STAFF_PORT SHP=$LAB_STAFF_HTTP_PORT
CAPTIVE_URL=http://$GW:$CP/

# dev_exec DEV CMD... : CMD in the device's namespace
dev_exec() { local d=$1; shift; ip netns exec "$(lab_dev_ns "$d")" "$@"; }

# staff_not_answered DEV IP PORT : connect() gets no handshake (timeout or RST)
staff_not_answered() {
	local r; r=$(lab_tcp_probe "$1" "$2" "$3" 1.5)
	case $r in timeout|refused|unreachable) return 0 ;; esac
	echo "$1 -> $2:$3: $r (expected timeout, refused or unreachable)"
	return 1
}

# https_no_answer DEV URL : curl -k gets no HTTP answer at all
https_no_answer() {
	lab_http "$1" "$2" 2 -k >/dev/null
	[ "$LAB_HTTP_CODE" = 000 ] && return 0
	echo "$1 GET $2: $LAB_HTTP_CODE $(printf '%s' "$LAB_HTTP_BODY" | head -c 200)"
	return 1
}

# listeners PORT : the local addresses listening on TCP PORT in the AP namespace
listeners() { ip netns exec "$LAB_AP_NS" ss -Hltn "sport = :$1" | awk '{print $4}' | sort | tr '\n' ' ' | sed 's/ $//'; }

# drop_count IFNAME : packets counted by APGATE_IN's "-i IFNAME -j DROP" rule
drop_count() {
	ip netns exec "$LAB_AP_NS" iptables-legacy -w -t filter -L APGATE_IN -v -x -n |
		awk -v i="$1" '$3 == "DROP" && $6 == i && $8 == "0.0.0.0/0" && $9 == "0.0.0.0/0" && NF == 9 {print $1; f = 1} END {if (!f) print "none"}'
}

# code_loc_is DEV URL CODE LOCATION [CURL_ARGS...] : an answer with CODE and
# exactly LOCATION
code_loc_is() {
	lab_http "$1" "$2" 3 "${@:5}" >/dev/null
	[ "$LAB_HTTP_CODE" = "$3" ] && [ "$LAB_HTTP_LOCATION" = "$4" ] && return 0
	echo "$1 GET $2: $LAB_HTTP_CODE${LAB_HTTP_LOCATION:+ Location: $LAB_HTTP_LOCATION} body: $(printf '%s' "$LAB_HTTP_BODY" | head -c 200) (expected $3 $4)"
	return 1
}

# reaches_body DEV URL BODY : a 200 answer with exactly BODY
reaches_body() {
	lab_http "$1" "$2" >/dev/null
	[ "$LAB_HTTP_CODE" = 200 ] && [ "$LAB_HTTP_BODY" = "$3" ] && return 0
	echo "$1 GET $2: $LAB_HTTP_CODE${LAB_HTTP_LOCATION:+ Location: $LAB_HTTP_LOCATION} body: $(printf '%s' "$LAB_HTTP_BODY" | head -c 200) (expected 200 '$3')"
	return 1
}

# api DEV URL : GET the RFC 8908 URL; sets API_TYPE and API_BODY
api() {
	local out
	API_TYPE= API_BODY=
	out=$(timeout 6 ip netns exec "$(lab_dev_ns "$1")" curl -s --noproxy '*' --connect-timeout 2 --max-time 3 \
		-H 'Accept: application/captive+json' -o "$LAB_DIR/dev/$1/api.body" -w '%{http_code} %{content_type}' "$2")
	API_TYPE=${out#* }
	API_BODY=$(cat "$LAB_DIR/dev/$1/api.body" 2>/dev/null)
	[ "${out%% *}" = 200 ]
}
api_captive() { printf '%s' "$API_BODY" | lab_json 'd["captive"]'; }

# raw_http DEV IP PORT big-header|garbage|normal : one connection, raw bytes;
# prints the answer's status code, or "closed" when the server closed (or
# reset) the connection without an answer, or "silent" when nothing came back
# within 5 s (neither an answer nor a close: what must not happen)
raw_http() {
	timeout 10 ip netns exec "$(lab_dev_ns "$1")" "$LAB_PY" -c '
import socket, sys
ip, port, kind = sys.argv[1], int(sys.argv[2]), sys.argv[3]
host = "%s:%d" % (ip, port)
if kind == "big-header":
    req = ("GET / HTTP/1.1\r\nHost: %s\r\nX-Filler: %s\r\n\r\n" % (host, "a" * 20480)).encode()
elif kind == "garbage":
    req = b"\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03 GARBAGE \xff\xfe\x00 !!\r\n\r\n"
else:
    req = ("GET / HTTP/1.1\r\nHost: %s\r\nConnection: close\r\n\r\n" % host).encode()
s = socket.create_connection((ip, port), timeout=3)
s.settimeout(5)
try:
    s.sendall(req)
except OSError:
    pass  # the server may close while we still send
data = b""
try:
    while b"\r\n" not in data:
        chunk = s.recv(4096)
        if not chunk:
            break
        data += chunk
except socket.timeout:
    print("silent"); sys.exit(0)
except OSError:
    pass  # ECONNRESET: closed
line = data.split(b"\r\n", 1)[0].split()
if len(line) >= 2 and line[0].startswith(b"HTTP/") and line[1].isdigit():
    print(line[1].decode())
else:
    print("closed" if not data else "junk:" + repr(data[:60]))
' "$2" "$3" "$4" 2>&1
}

# refused_or_4xx DEV IP PORT KIND
# (RAW_RESULT = what came)
refused_or_4xx() {
	local r; r=$(raw_http "$@"); RAW_RESULT=$r
	[[ $r =~ ^4[0-9][0-9]$ || $r == closed ]] && return 0
	echo "$1 $4 to $2:$3: $r (expected 4xx or closed)"
	return 1
}

lab_zones_test_begin

# the internet host serves its own answer to Apple's probe path: after approval
# this body (not the portal's "Success", not a redirect) proves the request
# left through the uplink
INET_PROBE_BODY=inet-answers-hotspot-detect
printf '%s' "$INET_PROBE_BODY" > "$LAB_DIR/www/inet/hotspot-detect.html"

lab_add_work_device b1 "$B1"
lab_add_work_device p2 "$P2"
lab_add_onboarding_device o3 "$O3"
lab_add_guest_device g4 "$G4"
lab_sta_start b1
lab_sta_start p2
check "b1 and p2 authenticate on ap0 (802.1X)" \
	eval 'lab_wait_for 10 lab_hostapd_authorized ap0 "$B1" && lab_wait_for 5 lab_hostapd_authorized ap0 "$P2"'
check "b1 and p2 are pending in apgated" \
	eval 'lab_wait_for 3 lab_dev_is "$B1" state pending && lab_wait_for 3 lab_dev_is "$P2" state pending'
check "approve b1 --as business" lab_ctl approve "$B1" --as business --type pc
check "b1 gets a lease in 10.77.0.0/24" eval 'lab_dhcp b1 && [[ $(lab_dev_ip b1) == 10.77.0.* ]]'
check "p2 gets a lease in 10.77.0.0/24" eval 'lab_dhcp p2 && [[ $(lab_dev_ip p2) == 10.77.0.* ]]'
check "o3 gets a lease in 10.79.0.0/24 (onboarding, ap2)" eval 'lab_dhcp o3 printer-o3 && [[ $(lab_dev_ip o3) == 10.79.0.* ]]'
check "g4 gets a lease in 10.78.0.0/24 (guest, ap1)" eval 'lab_dhcp g4 visitor && [[ $(lab_dev_ip g4) == 10.78.0.* ]]'
check "apgated knows p2's and o3's leased addresses (the captive face finds devices by them)" \
	eval 'lab_wait_for 3 lab_dev_is "$P2" ip "$(lab_dev_ip p2)" && lab_wait_for 3 lab_dev_is "$O3" ip "$(lab_dev_ip o3)"'
check "g4 is in state guest" lab_wait_for 3 lab_dev_is "$G4" state guest

# ==== the staff face: the work zone only ====
check "b1 (approved business): https://$GW:$SP/login answers 200 with #login-form (curl -k)" \
	eval 'lab_http b1 "https://$GW:$SP/login" 3 -k >/dev/null && [ "$LAB_HTTP_CODE" = 200 ] &&
	      [[ $LAB_HTTP_BODY == *"id=\"login-form\""* ]] || { echo "$LAB_HTTP_CODE $(head -c 300 <<<"$LAB_HTTP_BODY")"; false; }'
check "b1: the certificate is apgated's ($LAB_DIR/portal.crt) and valid for $GW (curl --cacert, no -k)" \
	eval 'lab_http b1 "https://$GW:$SP/login" 3 --cacert "$LAB_DIR/portal.crt" >/dev/null && [ "$LAB_HTTP_CODE" = 200 ]'
check "b1: https://$GW:$SP/ signed out -> 303 /login" code_loc_is b1 "https://$GW:$SP/" 303 /login -k
check "b1: http://$GW:$SHP/ -> 301 https://$GW:$SP/" code_loc_is b1 "http://$GW:$SHP/" 301 "https://$GW:$SP/"
check "b1: http://$GW:$SHP/devices -> 301 https://$GW:$SP/devices" \
	code_loc_is b1 "http://$GW:$SHP/devices" 301 "https://$GW:$SP/devices"

# listener binding: only the work gateway (no wildcard, no guest/onboarding gateway)
L=$(listeners "$SP")
check_eq "AP namespace: on TCP $SP only $GW listens (ss -ltn)" "$GW:$SP" "$L"
tap_diag "ss -ltn sport = :$SP in the AP namespace:" "$(ip netns exec "$LAB_AP_NS" ss -ltn "sport = :$SP")"
check_eq "AP namespace: on TCP $SHP only $GW listens (ss -ltn)" "$GW:$SHP" "$(listeners "$SHP")"
check_match "AP namespace: the captive port listens on the onboarding and work gateways only" \
	"^$LAB_GW_ONB:$CP $GW:$CP\$|^$GW:$CP $LAB_GW_ONB:$CP\$" "$(listeners "$CP")"

# the onboarding device and the guest: nothing answers on 8443/8090, anywhere
for d in o3 g4; do
	for ip in "$GW" "$LAB_GW_GUEST" "$LAB_GW_ONB"; do
		check "$d: $ip:$SP not answered" staff_not_answered "$d" "$ip" "$SP"
	done
	check "$d: $GW:$SHP not answered" staff_not_answered "$d" "$GW" "$SHP"
	check "$d: https://$GW:$SP/login gets no HTTP answer" https_no_answer "$d" "https://$GW:$SP/login"
done
# what stops them is the firewall: 10.77.0.1 is the AP's own address, which
# Linux would answer on any interface; the INPUT drop for their zone counts it
for pair in o3:"$LAB_ONB_IF" g4:"$LAB_GUEST_BSS"; do
	d=${pair%%:*} ifn=${pair#*:}
	before=$(drop_count "$ifn")
	lab_tcp_probe "$d" "$GW" "$SP" 1 >/dev/null
	after=$(drop_count "$ifn")
	check "$d -> $GW:$SP: dropped by APGATE_IN's '-i $ifn -j DROP' (counter $before -> $after)" \
		eval '[[ $before =~ ^[0-9]+$ && $after =~ ^[0-9]+$ ]] && (( after > before ))'
done
# a pending device on the work BSS is no staff device either
check "p2 (pending on ap0): $GW:$SP not answered" staff_not_answered p2 "$GW" "$SP"
check "p2 (pending on ap0): $GW:$SHP not answered" staff_not_answered p2 "$GW" "$SHP"
check "p2 (pending on ap0): https://$GW:$SP/login gets no HTTP answer" https_no_answer p2 "https://$GW:$SP/login"

# ==== OS probes through the network, p2 pending: DNAT to the captive port ====
check "p2 pending: http://captive.apple.com/hotspot-detect.html -> 302 $CAPTIVE_URL" \
	code_loc_is p2 http://captive.apple.com/hotspot-detect.html 302 "$CAPTIVE_URL"
check "p2 pending: http://connectivitycheck.gstatic.com/generate_204 -> 302 $CAPTIVE_URL" \
	code_loc_is p2 http://connectivitycheck.gstatic.com/generate_204 302 "$CAPTIVE_URL"
check "p2 pending: http://www.msftconnecttest.com/connecttest.txt -> 302 $CAPTIVE_URL" \
	code_loc_is p2 http://www.msftconnecttest.com/connecttest.txt 302 "$CAPTIVE_URL"
check "p2 pending: http://$LAB_INET_IP/hotspot-detect.html with Host: captive.apple.com -> 302 $CAPTIVE_URL" \
	code_loc_is p2 "http://$LAB_INET_IP/hotspot-detect.html" 302 "$CAPTIVE_URL" -H 'Host: captive.apple.com'
check "p2 pending: ${CAPTIVE_URL}generate_204 asked directly -> 302 $CAPTIVE_URL" \
	code_loc_is p2 "${CAPTIVE_URL}generate_204" 302 "$CAPTIVE_URL"
check "p2 pending: ${CAPTIVE_URL}captive-portal/api says captive true" \
	eval 'api p2 "${CAPTIVE_URL}captive-portal/api" && [ "$(api_captive)" = true ] || { echo "$API_TYPE $API_BODY"; false; }'

# ==== approve p2: no more DNAT, the probes answered as the OS expects ====
check "approve p2 --as business" lab_ctl approve "$P2" --as business
check "p2 approved: http://captive.apple.com/hotspot-detect.html reaches the internet host (its own body) within 3 s" \
	lab_wait_for 3 reaches_body p2 http://captive.apple.com/hotspot-detect.html "$INET_PROBE_BODY"
tap_diag "not redirected ${LAB_WAITED}s after approve returned"
check "p2 approved: http://connectivitycheck.gstatic.com/generate_204 is not the portal's redirect" \
	eval 'lab_http p2 http://connectivitycheck.gstatic.com/generate_204 >/dev/null && [ "$LAB_HTTP_CODE" != 000 ] &&
	      [[ $LAB_HTTP_LOCATION != *":$CP"* ]] || { echo "$LAB_HTTP_CODE $LAB_HTTP_LOCATION"; false; }'
check "p2 approved: ${CAPTIVE_URL}generate_204 -> 204, empty body" lab_http_is p2 "${CAPTIVE_URL}generate_204" 204 ""
check "p2 approved: ${CAPTIVE_URL}gen_204 -> 204" lab_http_is p2 "${CAPTIVE_URL}gen_204" 204 ""
check "p2 approved: ${CAPTIVE_URL}hotspot-detect.html -> Apple's Success page" \
	lab_http_is p2 "${CAPTIVE_URL}hotspot-detect.html" 200 "<HTML><HEAD><TITLE>Success</TITLE></HEAD><BODY>Success</BODY></HTML>"
check "p2 approved: ${CAPTIVE_URL}library/test/success.html -> Success" \
	lab_http_is p2 "${CAPTIVE_URL}library/test/success.html" 200 "<HTML><HEAD><TITLE>Success</TITLE></HEAD><BODY>Success</BODY></HTML>"
check "p2 approved: ${CAPTIVE_URL}connecttest.txt -> 'Microsoft Connect Test'" \
	lab_http_is p2 "${CAPTIVE_URL}connecttest.txt" 200 "Microsoft Connect Test"
check "p2 approved: ${CAPTIVE_URL}ncsi.txt -> 'Microsoft NCSI'" lab_http_is p2 "${CAPTIVE_URL}ncsi.txt" 200 "Microsoft NCSI"
check "p2 approved: ${CAPTIVE_URL}success.txt -> 'success'" lab_http_is p2 "${CAPTIVE_URL}success.txt" 200 "success"
check "p2 approved: ${CAPTIVE_URL}captive-portal/api says captive false (application/captive+json)" \
	eval 'api p2 "${CAPTIVE_URL}captive-portal/api" && [ "$(api_captive)" = false ] &&
	      [[ $API_TYPE == application/captive+json* ]] || { echo "$API_TYPE $API_BODY"; false; }'
check "p2 approved: now https://$GW:$SP/login answers 200" \
	eval 'lab_http p2 "https://$GW:$SP/login" 3 -k >/dev/null && [ "$LAB_HTTP_CODE" = 200 ]'

# ==== RFC 8908 / RFC 8910 on the onboarding zone ====
API_URL=http://$LAB_GW_ONB:$CP/captive-portal/api
check "dnsmasq's conf: option 114 = $API_URL on $LAB_ONB_IF" \
	grep -qxF "dhcp-option=tag:$LAB_ONB_IF,114,\"$API_URL\"" "$LAB_DNSMASQ_CONF"
check "dnsmasq's conf: no option 114 on $LAB_WORK_BSS or $LAB_GUEST_BSS" \
	eval '! grep -E "^dhcp-option=tag:($LAB_WORK_BSS|$LAB_GUEST_BSS),114," "$LAB_DNSMASQ_CONF"'
# a lease that asks for option 114 gets it (udhcpc -O 114: the script sees opt114 in hex)
cat > "$LAB_DIR/udhcpc-114.script" <<'EOF'
#!/bin/sh
case "$1" in bound|renew) printf '%s' "$opt114" > "$LAB_DEV_DIR/opt114" ;; esac
exit 0
EOF
chmod 0755 "$LAB_DIR/udhcpc-114.script"
LAB_DEV_DIR=$LAB_DIR/dev/o3 timeout 10 ip netns exec "$(lab_dev_ns o3)" busybox udhcpc -f -n -q -t 3 -T 1 \
	-i "$LAB_DEV_IF" -O 114 -r "$(lab_dev_ip o3)" -s "$LAB_DIR/udhcpc-114.script" >>"$LAB_DIR/dev/o3/udhcpc.log" 2>&1
opt114=$(cat "$LAB_DIR/dev/o3/opt114" 2>/dev/null)
[[ $opt114 =~ ^([0-9a-fA-F]{2})+$ ]] &&
	opt114=$("$LAB_PY" -c 'import sys; print(bytes.fromhex(sys.argv[1]).decode(errors="replace"), end="")' "$opt114")
check_eq "o3's DHCP lease carries option 114 = the API URL" "$API_URL" "$opt114"
check "o3 (onboarding): $API_URL answers 200" api o3 "$API_URL"
check_match "o3: Content-Type application/captive+json" '^application/captive\+json' "$API_TYPE"
check_eq "o3: captive true" true "$(api_captive)"
check_eq "o3: user-portal-url http://$LAB_GW_ONB:$CP/" "http://$LAB_GW_ONB:$CP/" \
	"$(printf '%s' "$API_BODY" | lab_json 'd["user-portal-url"]')"

# ==== bad input to the captive port, through the network ====
check "o3: a normal GET / on $LAB_GW_ONB:$CP -> 200" eval '[ "$(raw_http o3 "$LAB_GW_ONB" "$CP" normal)" = 200 ]'
check "o3: a request with a 20 KB header -> 4xx or closed" refused_or_4xx o3 "$LAB_GW_ONB" "$CP" big-header
tap_diag "20 KB header: $RAW_RESULT"
check "o3: a garbage request line -> 4xx or closed" refused_or_4xx o3 "$LAB_GW_ONB" "$CP" garbage
tap_diag "garbage request line: $RAW_RESULT"
check "o3: the next normal request is served (200, the captive page for o3: pending)" \
	eval '[ "$(raw_http o3 "$LAB_GW_ONB" "$CP" normal)" = 200 ] && lab_http_is o3 "http://$LAB_GW_ONB:$CP/" 200 >/dev/null &&
	      [[ $LAB_HTTP_BODY == *"data-state=\"pending\""* ]] || { echo "$LAB_HTTP_CODE $(head -c 300 <<<"$LAB_HTTP_BODY")"; false; }'
check "o3: a 20 KB header through the DNAT (http://any-name.test/) -> 4xx or closed" \
	refused_or_4xx o3 "$LAB_INET_IP" 80 big-header
tap_diag "20 KB header through the DNAT: $RAW_RESULT"
check "o3: still redirected after that: http://any-name.test/ -> 302 http://$LAB_GW_ONB:$CP/" \
	code_loc_is o3 http://any-name.test/ 302 "http://$LAB_GW_ONB:$CP/"

check "dnsmasq still runs" lab_pid_alive dnsmasq-apgate
check "apgated is still running" lab_pid_alive apgated
lab_test_end
