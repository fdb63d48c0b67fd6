#!/bin/bash
# test_portal_browser.sh - the portal in real headless Chromium, one browser in
# each device's namespace of the zones lab (tests/browser/portal_e2e.mjs does
# the clicking and prints its own ok/not ok lines, counted here):
#   - s1, a pending 802.1X station: http://any-name.test/some/path lands on the
#     captive page (#state pending), s1 claims itself (#claim-form, business),
#     later its page turns "approved" by itself and http://198.51.100.10/
#     answers "internet-ok";
#   - s2, a staff device approved as business: https://10.77.0.1:8443/ (self
#     signed) sends it to /login; boss logs in; the pending list shows s1 with
#     its claimed name, n3 appears without a reload when it does DHCP, x4's
#     hostile DHCP hostname and claim name are literal text there and on its
#     detail page (no dialog, no element made of them), a POST without the
#     csrf field is refused (403), approve-business takes s1 off the list;
#     devices (charts), device detail, audit.
# Screenshots: tests/artifacts/portal/*.png (captive and pending at 360x740,
# both in English and Japanese).
#
# Needs root (exit 77 otherwise). chromium, node and playwright-core are
# installed by "make deps" (deps-browser); missing ones make this test FAIL.
# Run: make build && TESTS=test_portal_browser tests/run.sh build
#
# Internal: "test_portal_browser.sh --hook ACTION" is what the browser script
# calls (with LAB_DIR in its environment) to make the lab do something while
# a page is open.
set -u
export LAB_ZONES=1
HERE=$(cd "$(dirname "$0")" && pwd)
ROOT=$(cd "$HERE/../.." && pwd)
. "$HERE/lab.sh"
. "$HERE/tap.sh"

S1=$(lab_mac 1) S2=$(lab_mac 2) N3=$(lab_mac 3) X4=$(lab_mac 4)
X4_HOST='<img src=x onerror=alert(1)>'
X4_CLAIM='<img src=x onerror=alert(2)>'
STAFF_USER=boss STAFF_PASSWORD='pw-of-ten-chars'
BROWSER_DIR=$ROOT/tests/browser
ART=$ROOT/tests/artifacts/portal
GW=$LAB_GW_WORK

# ---- hook mode (called by portal_e2e.mjs) ----
if [ "${1:-}" = --hook ]; then
	lab_load "$LAB_DIR" || exit 1
	case ${2:-} in
	add-n3) lab_dhcp n3 printer-3 || { echo "n3 got no lease"; exit 1; } ;;
	*) echo "unknown hook action '${2:-}'"; exit 2 ;;
	esac
	exit 0
fi

if [ "$(id -u)" != 0 ]; then echo "# SKIP: needs root (network namespaces)"; exit 77; fi

# ---- the browser tools: missing ones are a failure (make deps installs them) ----
tools_ok() {
	[ -x /usr/bin/chromium ] || { echo "/usr/bin/chromium missing (make deps-browser)"; return 1; }
	command -v node >/dev/null || { echo "node missing (make deps-browser)"; return 1; }
	node -e 'process.exit(+process.versions.node.split(".")[0] >= 18 ? 0 : 1)' ||
		{ echo "node $(node --version) is older than 18 (make deps-browser)"; return 1; }
	[ -f "$BROWSER_DIR/node_modules/playwright-core/package.json" ] ||
		{ echo "playwright-core missing in $BROWSER_DIR/node_modules (make deps-browser)"; return 1; }
}
check "chromium, node >= 18 and playwright-core are installed" tools_ok || tap_done

# ---- the lab: lab_zones_test_begin's steps, with a [portal] section of our own
# when lab.sh's config has none (it must be written once LAB_DIR exists:
# apgated makes the self-signed pair there on first start)
lab_require
command -v iptables-legacy >/dev/null && command -v ip6tables-legacy >/dev/null || tap_skip_all "iptables-legacy not installed"
command -v curl >/dev/null || tap_skip_all "curl not installed"
NODE_PID=
_pb_cleanup() {
	# only the node process this test started; its chromiums live in the lab's
	# namespaces, which lab_down empties
	if [ -n "$NODE_PID" ] && kill -0 "$NODE_PID" 2>/dev/null; then
		kill -TERM "$NODE_PID" 2>/dev/null
		lab_wait_for 5 _lab_gone "$NODE_PID" || kill -KILL "$NODE_PID" 2>/dev/null
		# interrupted: what the browsers had done so far
		[ -f "${NODE_OUT:-}" ] && sed 's/^/# portal_e2e: /' "$NODE_OUT"
	fi
}
lab_trap
trap '_pb_cleanup; _lab_exit' EXIT
lab_up || tap_bail "zones lab comes up (hostapd, ap2, uplink, LAN, internet)"
lab_apgated_write_zones_conf
grep -q '^\[portal\]' "$LAB_APGATED_CONF" || lab_apgated_write_zones_conf "
[portal]
dir = $ROOT/portal
https_port = 8443
http_port = 8081
cert = $LAB_DIR/portal.crt
key = $LAB_DIR/portal.key"
STAFF_PORT=$(sed -n '/^\[portal\]/,/^\[/s/^https_port *= *//p' "$LAB_APGATED_CONF" | head -n 1)
lab_apgated_start || tap_bail "apgated starts with [zone ...], [network], [dnsmasq] and [portal]"
lab_zones_dnsmasq_start || tap_bail "dnsmasq starts on the conf apgated wrote"

# ---- staff account ----
check "apgatectl user add $STAFF_USER --role admin (password on stdin)" \
	eval 'printf "%s\n" "$STAFF_PASSWORD" | lab_ctl user add "$STAFF_USER" --role admin'

# ---- devices ----
lab_add_work_device s1 "$S1"
lab_add_work_device s2 "$S2"
lab_add_wired_device n3 "$N3"
lab_add_wired_device x4 "$X4"
lab_sta_start s1
lab_sta_start s2
check "s1 and s2 authenticate on ap0" lab_wait_for 10 eval 'lab_hostapd_authorized ap0 "$S1" && lab_hostapd_authorized ap0 "$S2"'
check "s1 and s2 are pending in apgated" lab_wait_for 3 eval 'lab_dev_is "$S1" state pending && lab_dev_is "$S2" state pending'
check "s2 (the staff phone) approved as business" lab_ctl approve "$S2" --as business --label staff-tablet
check "s1 gets a lease in 10.77.0.0/24" eval 'lab_dhcp s1 && [[ $(lab_dev_ip s1) == 10.77.0.* ]]'
check "s2 gets a lease in 10.77.0.0/24" eval 'lab_dhcp s2 && [[ $(lab_dev_ip s2) == 10.77.0.* ]]'
check "x4 gets a lease with DHCP hostname '$X4_HOST'" eval 'lab_dhcp x4 "$X4_HOST"'
check "x4 is pending" lab_wait_for 3 lab_dev_is "$X4" state pending
# dnsmasq cuts option 12 at the first "=" (see test_dhcp_hostile.sh): the
# portal shows what apgated stored, the whole string or '<img src'
X4_STORED=$(lab_ctl show "$X4" --json 2>/dev/null | lab_json 'd["hostname"]')
tap_diag "x4's hostname as stored: $X4_STORED"

# x4 claims itself with a hostile name, as a script on the device would
x4_claim() {
	local token
	lab_http x4 "http://$GW:$LAB_CAPTIVE_PORT/" >/dev/null || { echo "captive page: $LAB_HTTP_CODE"; return 1; }
	token=$(printf '%s' "$LAB_HTTP_BODY" | "$LAB_PY" -c '
import sys
from html.parser import HTMLParser
class P(HTMLParser):
    tok = None
    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if tag == "input" and a.get("name") == "token":
            P.tok = a.get("value") or ""
P().feed(sys.stdin.read())
print(P.tok if P.tok is not None else "")
')
	lab_http x4 "http://$GW:$LAB_CAPTIVE_PORT/claim" 3 --data-urlencode "name=$X4_CLAIM" \
		--data-urlencode "owner=x4-owner" --data-urlencode "kind=business" --data-urlencode "token=$token" >/dev/null
	[ "$LAB_HTTP_CODE" = 303 ] || { echo "POST /claim: $LAB_HTTP_CODE ${LAB_HTTP_BODY:0:200}"; return 1; }
}
check "x4 claims the name '$X4_CLAIM' through the captive form (303)" x4_claim

# ---- the browsers ----
rm -rf "$ART"; mkdir -p "$ART"
NODE_OUT=$LAB_DIR/portal_e2e.out
X4_HOSTS=$X4_HOST
[ -n "$X4_STORED" ] && [ "$X4_STORED" != "$X4_HOST" ] && X4_HOSTS+=$'\n'"$X4_STORED"
cat > "$LAB_DIR/portal-hook" <<EOF
#!/bin/sh
exec bash "$HERE/test_portal_browser.sh" --hook "\$1"
EOF
chmod 0755 "$LAB_DIR/portal-hook"
APGATE_NS_A=$(lab_dev_ns s1) APGATE_NS_B=$(lab_dev_ns s2) MAC_S1=$S1 MAC_N3=$N3 MAC_X4=$X4 \
X4_HOSTS=$X4_HOSTS X4_CLAIM=$X4_CLAIM STAFF_USER=$STAFF_USER STAFF_PASSWORD=$STAFF_PASSWORD \
HOOK=$LAB_DIR/portal-hook ART=$ART CAPTIVE_URL="http://$GW:$LAB_CAPTIVE_PORT/" \
STAFF_URL="https://$GW:$STAFF_PORT" INET_IP=$LAB_INET_IP \
	node "$BROWSER_DIR/portal_e2e.mjs" >"$NODE_OUT" 2>&1 &
NODE_PID=$!
wait "$NODE_PID"; NODE_RC=$?
NODE_PID=
# the browser script's lines count as this test's own
while IFS= read -r line; do
	case $line in
	'ok - '*) _tap_result 0 "${line#ok - }" ;;
	'not ok - '*) _tap_result 1 "${line#not ok - }" ;;
	'#'*) printf '%s\n' "$line" ;;
	*) printf '#   %s\n' "$line" ;;
	esac
done < "$NODE_OUT"
case $NODE_RC in
0|1) ;;
*) tap_fail "portal_e2e.mjs ran (exit $NODE_RC)" ;;
esac

# ---- what the browsers did, seen from apgatectl and curl ----
check "s1 is approved as business (from the portal)" \
	eval 'lab_dev_is "$S1" state approved && lab_dev_is "$S1" class business'
check "n3 is still pending (the POST without csrf changed nothing)" lab_dev_is "$N3" state pending
check "x4 is still pending" lab_dev_is "$X4" state pending
check "s1: http://$LAB_INET_IP/ answers 'internet-ok'" lab_http_is s1 "http://$LAB_INET_IP/" 200 internet-ok
shots() {
	local f missing=
	for f in captive-en captive-ja captive-claimed captive-approved login pending-en pending-ja devices device-detail audit; do
		[ -s "$ART/$f.png" ] || missing+=" $f"
	done
	[ -z "$missing" ] || { echo "missing:$missing"; return 1; }
}
check "screenshots saved in tests/artifacts/portal/" shots
check "apgated is still running" lab_pid_alive apgated
lab_test_end
