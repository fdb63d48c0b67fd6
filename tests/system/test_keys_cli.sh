#!/bin/bash
# Per-device keys (PPSK) as a person meets them, through apgatectl and the
# files apgated writes, inside a private network namespace: approve --key
# shows the network, the key, its id and a QR code; <data_dir>/ap0.psk (0600)
# holds exactly one wildcard line whose hex PSK is PBKDF2-HMAC-SHA1 of the
# printed key over the SSID (computed here with python3); the passphrase is
# nowhere else (show, registry and its WAL, apgated's log, fakehapd's log);
# hostapd (fakehapd -v) is told RELOAD_WPA_PSK; key replaces, revoke removes;
# refusals for pending and personal devices, for a device without a key, and
# for a configuration without ppsk; the audit trail has "key" and "revoke".
set -u
HERE=$(cd "$(dirname "$0")" && pwd)
. "$HERE/../lab/tap.sh"
. "$HERE/zones_conf.sh"
B=${APGATE_BUILD:-$HERE/../../build}
[ "$(id -u)" = 0 ] || tap_skip_all "needs root (network namespace)"
[ -x "$B/apgated" ] && [ -x "$B/apgatectl" ] && [ -x "$B/fakehapd" ] || tap_skip_all "build first"
command -v python3 >/dev/null || tap_skip_all "no python3"

NS=apgkey-$$-$RANDOM
W=$(mktemp -d /tmp/apgate-keys-XXXXXX)
PEER= DAEMON=
cleanup() {
	[ -n "$DAEMON" ] && kill "$DAEMON" 2>/dev/null
	[ -n "$PEER" ] && kill "$PEER" 2>/dev/null
	wait 2>/dev/null
	ip netns del "$NS" 2>/dev/null
	[ -n "${KEEP:-}" ] || rm -rf "$W"
	tap_cleanup
}
trap cleanup EXIT
ip netns add "$NS" || tap_skip_all "cannot create a network namespace"
in_ns() { ip netns exec "$NS" "$@"; }
in_ns ip link set lo up
for i in br-work br-guest br-onb up0; do in_ns ip link add "$i" type veth peer name "$i-p" && in_ns ip link set "$i" up && in_ns ip link set "$i-p" up; done
in_ns ip addr add 10.77.0.1/24 dev br-work
in_ns ip addr add 10.78.0.1/24 dev br-guest
in_ns ip addr add 10.79.0.1/24 dev br-onb
in_ns ip addr add 198.51.100.1/24 dev up0

SSID=Shop-Work
mkdir -p "$W/ctrl"
# the shared zones config (log_level debug: the log check sees everything) plus: the work BSS has an SSID and per-device keys,
# the work zone is VLAN 10
zones_conf "$W" "$B" br-work debug |
	sed -e "/^\[bss ap0\]/a ssid = $SSID\nppsk = yes" -e '/^\[zone work\]/a vlan = 10' >"$W/apgate.conf"
PSK=$W/hostapd-lists/ap0.psk

ctl() { "$B/apgatectl" -s "$W/admin.sock" "$@"; }
wait_for() { local end=$((SECONDS + $1)); shift; until "$@" >/dev/null 2>&1; do [ $SECONDS -ge $end ] && return 1; sleep 0.05; done; }
# ip netns exec execs the daemon itself, so $! is apgated's PID
start() {
	ip netns exec "$NS" "$B/apgated" -f -c "$W/apgate.conf" 2>>"$W/apgated.log" &
	DAEMON=$!
	wait_for 5 ctl status
}
stop() {
	kill "$DAEMON" || return 1
	wait "$DAEMON"
	local rc=$?
	DAEMON=
	return $rc
}
lease() { # MAC IP: the device is seen by DHCP (what apgate-dhcp-script sends)
	in_ns python3 - "$W/admin.sock" "$1" "$2" <<'PY'
import json, socket, sys
s = socket.socket(socket.AF_UNIX); s.connect(sys.argv[1])
s.sendall((json.dumps({"cmd": "lease", "action": "add", "mac": sys.argv[2], "ip": sys.argv[3],
                       "interface": "br-work", "supplied_hostname": "dev"}) + "\n").encode())
r = json.loads(s.recv(4096).decode())
sys.exit(0 if r.get("ok") else 1)
PY
}
# the key lines of the psk file (comments and blank lines left out)
key_lines() { grep -v -e '^#' -e '^[[:space:]]*$' "$PSK"; }
n_reloads() { grep -c 'ap0: <- RELOAD_WPA_PSK$' "$W/peer.log"; }
field() { # KEY: the value after "  KEY" in apgatectl's key text on stdin
	sed -n "s/^  $1 *//p" | head -1
}
pbkdf2() { # PASSPHRASE SSID
	python3 -c 'import hashlib, sys; print(hashlib.pbkdf2_hmac("sha1", sys.argv[1].encode(), sys.argv[2].encode(), 4096, 32).hex())' "$1" "$2"
}
show_json() { ctl --json show "$1"; }
jget() { # KEY: a top-level field of the JSON object on stdin ("" for null or missing)
	python3 -c 'import json, sys; v = json.load(sys.stdin).get(sys.argv[1]); print("" if v is None else v)' "$1"
}

ip netns exec "$NS" "$B/fakehapd" -v -d "$W/ctrl" -i ap0 >"$W/peer.log" 2>&1 &
PEER=$!
start || tap_bail "apgated does not start" "$(tail -30 "$W/apgated.log")"

MAC=02:00:00:00:1a:01   # the business device that gets its key
PEND=02:00:00:00:1a:02  # stays pending
PERS=02:00:00:00:1a:03  # approved as personal
check "three devices seen by DHCP (lease over the admin socket)" \
	eval "lease $MAC 10.77.0.141 && lease $PEND 10.77.0.142 && lease $PERS 10.77.0.143"
check_eq "the first is pending" pending "$(show_json "$MAC" | jget state)"
ctl approve "$PERS" --as personal >/dev/null

# 1. approve --key: network name, key, key id, QR code
reloads0=$(n_reloads)
out=$(ctl approve "$MAC" --as business --key 2>&1); rc=$?
check_eq "approve MAC --as business --key exits 0" 0 "$rc"
KEY1=$(field key <<<"$out")
ID1=$(field 'key id' <<<"$out")
check_eq "it names the network $SSID" "$SSID" "$(field network <<<"$out")"
check_match "it prints a key" '^[^ ]{8,63}$' "$KEY1"
check_match "it prints a key id" '^[^ ]+$' "$ID1"
check_match "it draws a QR code (half blocks)" '(▀|▄|█)' "$out"
[ "$TAP_FAILED" = 0 ] || tap_diag "approve --key printed:" "$out"

# 2. the psk file: 0600, one line, the hex PSK of the printed key
check_eq "ap0.psk has mode 0600" 600 "$(stat -c %a "$PSK" 2>&1)"
check_eq "ap0.psk has exactly one key line" 1 "$(key_lines | wc -l)"
HEX1=$(pbkdf2 "$KEY1" "$SSID")
check_eq "the line is keyid=<printed id> vlanid=10, any MAC, PBKDF2-HMAC-SHA1(printed key, SSID, 4096, 32)" \
	"keyid=$ID1 vlanid=10 00:00:00:00:00:00 $HEX1" "$(key_lines)"

# 3. the passphrase is shown once and stored nowhere
check_eq "show --json gives the key id" "$ID1" "$(show_json "$MAC" | jget keyid)"
check "show --json does not contain the passphrase" bash -c "! '$B/apgatectl' -s '$W/admin.sock' --json show $MAC | grep -qF -- '$KEY1'"
check "show (text) does not contain the passphrase" bash -c "! '$B/apgatectl' -s '$W/admin.sock' show $MAC | grep -qF -- '$KEY1'"
check "the registry (db, -wal, -shm) does not contain the passphrase" \
	bash -c "ls '$W'/registry.db* >/dev/null && ! grep -qaF -- '$KEY1' '$W'/registry.db*"
check "the registry holds the hex PSK (so the grep above looks at the right files)" \
	bash -c "grep -qaF -- '$HEX1' '$W'/registry.db*"
check "apgated's log does not contain the passphrase" bash -c "! grep -qF -- '$KEY1' '$W/apgated.log'"
check "fakehapd's log (every command apgated sent) does not contain the passphrase" \
	bash -c "! grep -qF -- '$KEY1' '$W/peer.log'"

# 4. hostapd is told to read the file again
check "hostapd gets RELOAD_WPA_PSK after the key is issued" wait_for 5 test "$(n_reloads)" -gt "$reloads0"

# 5. key again replaces it
reloads0=$(n_reloads)
out=$(ctl key "$MAC" 2>&1); rc=$?
check_eq "key MAC exits 0" 0 "$rc"
KEY2=$(field key <<<"$out")
ID2=$(field 'key id' <<<"$out")
check_match "it prints a new key id" '^[^ ]+$' "$ID2"
check "the key id is new" test "$ID2" != "$ID1"
check "the key is new" test "$KEY2" != "$KEY1"
check_match "it draws a QR code again" '(▀|▄|█)' "$out"
check_eq "still exactly one line, with the new id and the new key's PSK" \
	"keyid=$ID2 vlanid=10 00:00:00:00:00:00 $(pbkdf2 "$KEY2" "$SSID")" "$(key_lines)"
check_eq "show gives the new key id" "$ID2" "$(show_json "$MAC" | jget keyid)"
check "hostapd gets RELOAD_WPA_PSK after the replacement" wait_for 5 test "$(n_reloads)" -gt "$reloads0"
check "the new passphrase is not in the registry or apgated's log" \
	bash -c "! grep -qaF -- '$KEY2' '$W'/registry.db* '$W/apgated.log'"

# 6. only approved business devices
for d in "pending:$PEND" "personal:$PERS"; do
	out=$(ctl key "${d#*:}" 2>&1); rc=$?
	check_eq "key for a ${d%%:*} device exits 1" 1 "$rc"
	check_match "and says: only approved business devices get their own key" \
		'only approved business devices get their own key' "$out"
done
check_eq "the file still has only the business device's line" "keyid=$ID2" "$(key_lines | cut -d' ' -f1)"
out=$(ctl key 02:00:00:00:1a:09 2>&1); rc=$?
check_eq "key for an unknown device exits 1" 1 "$rc"

# 7. revoke
reloads0=$(n_reloads)
out=$(ctl revoke "$MAC" 2>&1); rc=$?
check_eq "revoke MAC exits 0" 0 "$rc"
check_eq "the file has no key line any more" 0 "$(key_lines | wc -l)"
check_eq "ap0.psk keeps mode 0600" 600 "$(stat -c %a "$PSK" 2>&1)"
check_eq "show has no key id" "" "$(show_json "$MAC" | jget keyid)"
check "hostapd gets RELOAD_WPA_PSK after the revocation" wait_for 5 test "$(n_reloads)" -gt "$reloads0"
check "and DEAUTHENTICATE for the device" wait_for 5 grep -qi "ap0: <- DEAUTHENTICATE $MAC" "$W/peer.log"
out=$(ctl revoke "$MAC" 2>&1); rc=$?
check_eq "revoke MAC again exits 1" 1 "$rc"
check_match "and says it has no key of its own" 'has no key of its own' "$out"

# 8. the audit trail
ev=$(ctl --json events --limit 200 2>&1)
aud() { # ACTION: the details of this device's audit entries with ACTION
	python3 -c '
import json, sys
for line in sys.stdin:
    e = json.loads(line)
    if e.get("kind") == "audit" and e.get("action") == sys.argv[1] and e.get("mac", "").lower() == sys.argv[2]:
        print(e.get("detail") or "")' "$1" "$MAC" <<<"$ev"
}
keys=$(aud key)
check_eq "events has two audit entries \"key\"" 2 "$(grep -c . <<<"$keys")"
check "their details name the key ids" bash -c "grep -q 'keyid=$ID1' <<<'$keys' && grep -q 'keyid=$ID2' <<<'$keys'"
check_match "an audit entry \"revoke\" with the key id" "keyid=$ID2" "$(aud revoke)"
check "no event contains either passphrase" bash -c "! grep -qF -e '$KEY1' -e '$KEY2' <<<'$ev'"
check "no event (text form) contains either passphrase" \
	bash -c "! '$B/apgatectl' -s '$W/admin.sock' events --limit 200 | grep -qF -e '$KEY1' -e '$KEY2'"
check "still neither passphrase in apgated's log" bash -c "! grep -qF -e '$KEY1' -e '$KEY2' '$W/apgated.log'"

# 9. without ppsk = yes there are no per-device keys
check "apgated stops" stop
sed -i '/^ppsk = yes$/d' "$W/apgate.conf"
check "apgated starts with a config without ppsk" start
out=$(ctl key "$MAC" 2>&1); rc=$?
check_eq "key exits 1 without ppsk" 1 "$rc"
check_match "and says: no work BSS with ppsk = yes and an ssid is configured" \
	'no work BSS with ppsk = yes and an ssid is configured' "$out"
out=$(ctl approve "$PEND" --as business --key 2>&1); rc=$?
check_eq "approve --key still approves (exit 0) without ppsk" 0 "$rc"
check_match "and says why no key was issued" 'no key issued: .*no work BSS with ppsk = yes' "$out"

check "apgated stops on SIGTERM with status 0" stop
check "no sanitizer report in apgated's log" bash -c "! grep -q 'Sanitizer' '$W/apgated.log'"
[ "$TAP_FAILED" = 0 ] || tap_diag "$(tail -30 "$W/apgated.log")"
tap_done
