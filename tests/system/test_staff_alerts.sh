#!/bin/bash
# What the staff portal shows of issue 8, as a shop manager's browser meets
# it: curl over real HTTPS against the real apgated (observe only, no
# zones, staff face on 127.0.0.1) in a private network namespace. The
# registry is seeded through the registry's own API (build/tests/reg_seed)
# with devices (hostile host names), check findings, unmanaged MACs,
# blocked look-ups and alerts (a hostile message); people through
# apgatectl user add.
#
#   badge       the navigation of every page counts the open alerts
#               (#alert-count); /fragment/alert-count gives the number the
#               page's script puts there when the SSE stream says "change"
#   alerts      /alerts lists open alerts newest first with kind (in
#               words, en and ja), device link, message (escaped) and time;
#               acknowledging one or all needs the session's CSRF token
#               (403 without, nothing changes), then the count drops, the
#               SSE stream says "change" and apgatectl names who did it
#   device      the suggestion with its reasons, the findings with advice,
#               "check now" (POST with CSRF -> ctl_check_device: without
#               zones a clear 409), the blocked look-ups (escaped)
#   pending     each device's suggestion in one line
#   unmanaged   /unmanaged lists the MACs that bypass the AP
#   inventory   /inventory/print: counts by type and zone add up, every
#               device and unmanaged MAC with its findings, hostile names
#               escaped, a print style sheet; /inventory.csv a download
#               whose formula-looking fields are neutralised
#   signed out  every new page 303 to /login, POSTs 401
set -u
HERE=$(cd "$(dirname "$0")" && pwd)
. "$HERE/../lab/tap.sh"
B=${APGATE_BUILD:-$HERE/../../build}
ROOT=$(cd "$HERE/../.." && pwd)
[ "$(id -u)" = 0 ] || tap_skip_all "needs root (network namespace)"
for t in "$B/apgated" "$B/apgatectl" "$B/tests/reg_seed"; do
	[ -x "$t" ] || tap_bail "no $t (make build tests first)"
done
for t in curl python3; do
	command -v "$t" >/dev/null || tap_bail "no $t"
done

NS=apgalr-$$-$RANDOM
W=$(mktemp -d /tmp/apgate-alerts-XXXXXX)
DAEMON= SSE=
cleanup() {
	[ -n "$SSE" ] && kill "$SSE" 2>/dev/null
	[ -n "$DAEMON" ] && kill "$DAEMON" 2>/dev/null
	wait 2>/dev/null
	ip netns del "$NS" 2>/dev/null
	[ -n "${KEEP:-}" ] || rm -rf "$W"
	tap_cleanup
}
trap cleanup EXIT
ip netns add "$NS" || tap_bail "cannot create a network namespace"
in_ns() { ip netns exec "$NS" "$@"; }
in_ns ip link set lo up

HTTPS_PORT=18444
U=https://127.0.0.1:$HTTPS_PORT
mkdir -p "$W/ctrl"
cat >"$W/apgate.conf" <<EOC
[apgated]
registry = $W/registry.db
admin_socket = $W/admin.sock
log_level = debug
oui_dir =
[hostapd]
ctrl_dir = $W/ctrl
client_dir = $W/client
data_dir = $W/hostapd-lists
[bss ap0]
zone = work
[portal]
dir = $ROOT/portal
staff_listen = 127.0.0.1
https_port = $HTTPS_PORT
http_port = 0
cert = $W/portal.crt
key = $W/portal.key
EOC

ctl() { "$B/apgatectl" -s "$W/admin.sock" "$@"; }
wait_for() { local end=$((SECONDS + $1)); shift; until "$@" >/dev/null 2>&1; do [ $SECONDS -ge $end ] && return 1; sleep 0.05; done; }
cu() { in_ns curl -sk --max-time 10 "$@"; }
portal_up() { [ "$(cu -o /dev/null -w '%{http_code}' "$U/login")" = 200 ]; }
jar() { echo "$W/jar.$1"; }
get() { # WHO PATH [CURL ARGS]
	local who=$1 path=$2; shift 2
	if [ -n "$who" ]; then cu -b "$(jar "$who")" -c "$(jar "$who")" "$@" "$U$path"; else cu "$@" "$U$path"; fi
}
code() { get "$1" "$2" -o "$W/body" -D "$W/head" -w '%{http_code}' "${@:3}"; }
location() { sed -n 's/^[Ll]ocation: *\([^[:space:]]*\).*/\1/p' "$W/head" | head -1; }
csrf_in() { sed -n 's/.*name="csrf" value="\([^"]*\)".*/\1/p' <<<"$1" | head -1; }
csrf_of() { csrf_in "$(get "$1" /)"; }
login() { # WHO PW
	local tok
	rm -f "$(jar "$1")"
	tok=$(csrf_in "$(get "$1" /login)")
	code "$1" /login --data-urlencode "csrf=$tok" --data-urlencode "user=$1" --data-urlencode "password=$2"
}
post() { code "$1" "$2" -X POST "${@:3}"; }
# the number in the navigation's open-alert badge of the last body ("" when empty)
badge() { sed -n 's/.*<span id="alert-count" class="badge">\([^<]*\)<.*/\1/p' "$W/body" | head -1; }

P=02:00:00:00:22:01   # printer with findings
H=02:00:00:00:22:02   # hostile host name, blocked look-ups
I=a2:00:00:00:22:03   # an iPhone, pending
U1=00:11:22:33:44:66  # unmanaged
EVIL='<img src=x onerror=alert(1)>'
EVIL_ESC='&lt;img src=x onerror=alert(1)&gt;'
"$B/tests/reg_seed" "$W/registry.db" <<EOS || tap_bail "reg_seed could not fill the registry"
device	$P	10.0.0.21	EPSON-FRONT	 	 	Seiko Epson Corporation
approve	$P	business	=Front printer	Anna	printer
findings	$P	telnet/23	upnp/1900/$EVIL
device	$H	10.0.0.22	$EVIL
dns	$H	10.0.0.22	<b>phish</b>.example	4
device	$I	10.0.0.23	iPhone
unmanaged	$U1	br-work	10.0.0.99
alert	risky_service	$P	Front printer has telnet/23 open: $EVIL
alert	unmanaged	$U1	A device on br-work bypasses the access point
alert	dns_blocked	$H	$EVIL looked up a blocked domain
EOS

ip netns exec "$NS" "$B/apgated" -f -c "$W/apgate.conf" 2>>"$W/apgated.log" &
DAEMON=$!
wait_for 10 ctl status && wait_for 10 portal_up || tap_bail "apgated does not start" "$(tail -30 "$W/apgated.log")"
PW_ANNA='Anna-Apotheke-2024'
PW_BOB='bobs own password'
printf '%s\n' "$PW_ANNA" | ctl user add anna --role approver >/dev/null || tap_bail "apgatectl user add anna"
printf '%s\n' "$PW_BOB" | ctl user add bob --role admin >/dev/null || tap_bail "apgatectl user add bob"

# ---- signed out ----
for p in /alerts /unmanaged /inventory/print /inventory.csv /fragment/alert-count; do
	c=$(code "" "$p")
	[ "$p" = /fragment/alert-count ] && exp=401 || exp=303
	check_eq "signed out, GET $p answers $exp" "$exp" "$c"
done
check_eq "signed out, POST /alerts/ack-all answers 401" 401 "$(post "" /alerts/ack-all -d csrf=x)"
check_eq "anna (approver) signs in" 303 "$(login anna "$PW_ANNA")"
check_eq "bob (admin) signs in" 303 "$(login bob "$PW_BOB")"

# ---- the badge ----
for p in / /devices /audit /alerts "/device/$P"; do
	check_eq "$p: 200" 200 "$(code anna "$p")"
	check_eq "$p: the navigation's #alert-count says 3" 3 "$(badge)"
done
check_eq "/fragment/alert-count says 3" 3 "$(get anna /fragment/alert-count)"

# ---- the alerts page ----
code anna /alerts >/dev/null
ids=$(grep -o 'class="alert card" data-id="[0-9]*"' "$W/body" | grep -o '[0-9]*' | tr '\n' ' ')
check_eq "/alerts lists the 3 open alerts, newest first" "3 2 1 " "$ids"
check "the kinds are in words (Risky service, Bypasses the access point, Blocked domain)" \
	bash -c "grep -q 'alert-kind\">Risky service<' '$W/body' && grep -q 'alert-kind\">Bypasses the access point<' '$W/body' && grep -q 'alert-kind\">Blocked domain<' '$W/body'"
check "each links its device" grep -q "class=\"alert-device\" href=\"/device/$P\"" "$W/body"
check "by the name people know it by" grep -qF "class=\"alert-device\" href=\"/device/$P\">=Front printer <code>$P</code></a>" "$W/body"
check "a hostile device name there is escaped" grep -qF "href=\"/device/$H\">$EVIL_ESC <code>$H</code></a>" "$W/body"
check "messages are escaped" grep -qF "Front printer has telnet/23 open: $EVIL_ESC" "$W/body"
check "the raw '<img src=x' never appears" bash -c "! grep -qF '<img src=x' '$W/body'"
check "each alert has a time" grep -q '<time class="ts" datetime="20' "$W/body"
code anna '/alerts?lang=ja' >/dev/null
check "?lang=ja: 危険なサービス" grep -q 'alert-kind">危険なサービス<' "$W/body"
code anna '/alerts?lang=en' >/dev/null

CSRF_ANNA=$(csrf_of anna)
CSRF_BOB=$(csrf_of bob)
check_eq "ack without csrf answers 403" 403 "$(post anna /alerts/1/ack -d x=1)"
check_eq "ack with another session's csrf answers 403" 403 "$(post anna /alerts/1/ack -d "csrf=$CSRF_BOB")"
check_eq "ack-all without csrf answers 403" 403 "$(post anna /alerts/ack-all -d x=1)"
check_eq "still 3 open" 3 "$(get anna /fragment/alert-count)"
get bob /events -N --max-time 4 -o "$W/sse" &
SSE=$!
wait_for 3 grep -q '^retry:' "$W/sse"
check_eq "anna acknowledges alert 1: 303" 303 "$(post anna /alerts/1/ack -d "csrf=$CSRF_ANNA")"
check_eq "back to /alerts" /alerts "$(location)"
wait "$SSE"
SSE=
check "bob's live page hears 'event: change'" grep -q '^event: change$' "$W/sse"
check_eq "and its badge source says 2" 2 "$(get bob /fragment/alert-count)"
check_eq "the badge on a fresh page says 2" 2 "$(code bob /devices >/dev/null; badge)"
check_match "apgatectl alerts --all: acknowledged by anna" "#1 .*\(acknowledged by anna\)" "$(ctl alerts --all)"
check_eq "acknowledging it again changes nothing (303)" 303 "$(post anna /alerts/1/ack -d "csrf=$CSRF_ANNA")"
check_eq "an alert number that is not one: 404" 404 "$(post anna /alerts/x1/ack -d "csrf=$CSRF_ANNA")"
ids=$(get anna /fragment/alerts | grep -o 'data-id="[0-9]*"' | grep -o '[0-9]*' | tr '\n' ' ')
check_eq "/fragment/alerts: 3 and 2 left" "3 2 " "$ids"

# ---- device page ----
code anna "/device/$P" >/dev/null
check "the printer's page has #suggestion" grep -q 'id="suggestion"' "$W/body"
check "its findings: telnet with advice" grep -q 'data-service="telnet" data-port="23"><strong>telnet</strong>' "$W/body"
check "the advice in plain words" grep -q 'Telnet sends passwords unencrypted' "$W/body"
check "UPnP's banner is escaped" grep -qF "<q class=\"banner\">$EVIL_ESC</q>" "$W/body"
check "the label starting with = is just text here" grep -qF '>=Front printer<' "$W/body"
check "a 'check now' button posting to /device/$P/check" grep -q "action=\"/device/$P/check\"" "$W/body"
check_eq "check now without csrf answers 403" 403 "$(post anna "/device/$P/check" -d x=1)"
check_eq "check now with csrf reaches the check: without zones, 409" 409 "$(post anna "/device/$P/check" -d "csrf=$CSRF_ANNA")"
check "saying the device has no address in the shop's networks" grep -q "no address inside the shop" "$W/body"
code anna "/device/$I" >/dev/null
check "the iPhone's suggestion gives its reasons" grep -q 'class="reason" data-code="' "$W/body"
check "it was never checked" grep -q 'data-checked="no"' "$W/body"
code anna "/device/$H" >/dev/null
check "the hostile device's page lists its blocked look-ups" grep -q 'id="dns-blocks"' "$W/body"
check "the domain escaped, with its count" grep -qF '<td class="domain">&lt;b&gt;phish&lt;/b&gt;.example</td><td class="times">4</td>' "$W/body"
check "no raw markup from device data" bash -c "! grep -qF -e '<img src=x' -e '<b>phish' '$W/body'"

# ---- pending list ----
code anna / >/dev/null
item=$(python3 - "$W/body" "$I" <<'PY'
import re, sys
html = open(sys.argv[1], encoding="utf-8").read()
m = re.search(r'<li class="device[^"]*" data-mac="%s">(.*?)</li>' % re.escape(sys.argv[2]), html, re.S)
print(m.group(1) if m else "")
PY
)
check_match "the pending iPhone shows its suggestion in one line" '<p class="suggestion"><span class="suggest-type" data-type="phone">Probably: Phone[^<]*</span>: <span class="reason"' "$item"
check "and the hostile device's name is escaped there" grep -qF "$EVIL_ESC" "$W/body"

# ---- unmanaged ----
check_eq "/unmanaged: 200" 200 "$(code anna /unmanaged)"
check_eq "it counts 1" 1 "$(sed -n 's/.*id="unmanaged-count" data-count="\([0-9]*\)".*/\1/p' "$W/body")"
check "with the MAC, where and the IP" grep -q "<code>$U1</code></td><td></td><td>br-work</td><td>10.0.0.99</td>" "$W/body"
code anna /devices >/dev/null
check "the devices page links it" grep -q 'id="unmanaged-link" href="/unmanaged"' "$W/body"
check "and the printable inventory" grep -q 'id="inventory-print" href="/inventory/print"' "$W/body"

# ---- printable inventory ----
check_eq "/inventory/print: 200" 200 "$(code anna /inventory/print)"
cat >"$W/print.py" <<'PY'
import re, sys
html = open(sys.argv[1], encoding="utf-8").read()
def counts(tid):
    m = re.search(r'<table class="counts" id="%s">(.*?)</table>' % tid, html, re.S)
    return [int(x) for x in re.findall(r'data-count="(\d+)"', m.group(1))] if m else None
total = int(re.search(r'id="inventory-total" data-count="(\d+)"', html).group(1))
rows = re.findall(r'<tr (?:class="unmanaged" )?data-(?:mac|zone)="', re.search(r'<table id="inventory".*?</table>', html, re.S).group(0))
t, z = counts('count-type'), counts('count-zone')
print(total, len(rows), sum(t), sum(z))
PY
check_eq "total = rows = sum by type = sum by zone = 4" "4 4 4 4" "$(python3 "$W/print.py" "$W/body" 2>&1)"
check "the printer's row has its findings" grep -q '<td class="findings">telnet/23 upnp/1900</td>' "$W/body"
check "the unmanaged MAC is a row" grep -q "<tr class=\"unmanaged\" data-zone=\"unmanaged\"><td class=\"name\">Unmanaged device</td><td><code>$U1</code>" "$W/body"
check "hostile names escaped" bash -c "grep -qF '$EVIL_ESC' '$W/body' && ! grep -qF '<img src=x' '$W/body'"
check "a CSV download link" grep -q 'id="inventory-csv" href="/inventory.csv" download' "$W/body"
check "the style sheet has print rules" grep -q '@media print' "$ROOT/portal/static/app.css"
check_eq "/inventory.csv: 200" 200 "$(code anna /inventory.csv)"
check_match "as text/csv" $'[Cc]ontent-[Tt]ype: text/csv; charset=utf-8' "$(cat "$W/head")"
check_match "to download" 'Content-Disposition: attachment; filename="apgate-inventory.csv"' "$(cat "$W/head")"
out=$(python3 - "$W/body" "$P" <<'PY'
import csv, sys
rows = list(csv.reader(open(sys.argv[1], newline='', encoding='utf-8')))
d = {r[2]: r for r in rows[1:]}
bad = [v for r in rows[1:] for v in r if v[:1] in '=+-@' and v]
print(len(rows) - 1, all(len(r) == 14 for r in rows), d[sys.argv[2]][0], d[sys.argv[2]][10], len(bad))
PY
)
check_eq "CSV: 4 records of 14 fields, the label neutralised, findings, no formula" "4 True '=Front printer telnet/23 upnp/1900 0" "$out"

# ---- acknowledge all ----
check_eq "bob acknowledges all: 303" 303 "$(post bob /alerts/ack-all -d "csrf=$CSRF_BOB")"
check_eq "nothing open" 0 "$(get anna /fragment/alert-count)"
code anna /alerts >/dev/null
check_eq "the badge is empty" "" "$(badge)"
check "the page says so" grep -q 'No open alerts.' "$W/body"
check "apgated is still running" kill -0 "$DAEMON"
tap_done
