#!/bin/bash
# The files apgated writes for hostapd (controller/io/hfiles: accept/deny
# lists, per-device PSK file) are read by the REAL hostapd 2.10.
#
# hostapd runs with driver=wired on a veth pair inside a private network
# namespace made for this test (removed on exit; the host's network is never
# touched), one BSS with WPA2-PSK, wpa_psk_file and accept/deny files written
# by build/tests/hfiles_tool. wpa_psk_file is read only at BSS setup (after
# the driver is up), so this is the check the parser-only
# test_hostapd_conf.sh cannot make. What wired cannot show: a station using
# a key (no 4-way handshake on wired), VLAN assignment.
#   - AP-ENABLED with the files (a bad PSK file fails "WPA-PSK setup failed")
#   - ACCEPT_ACL SHOW / DENY_ACL SHOW list the MACs (and VLANs) as written
#   - RELOAD_WPA_PSK: OK after hfiles rewrote the file with more keys, with a
#     127-byte line and with an empty (hfiles_ensure) file; FAIL on a broken
#     file and on a 129-byte line, written directly: the check can fail.
set -u
HERE=$(cd "$(dirname "$0")" && pwd)
. "$HERE/../lab/tap.sh"
B=${APGATE_BUILD:-$HERE/../../build}
T=$B/tests/hfiles_tool
[ -x "$T" ] || tap_skip_all "build first (no $T)"
[ "$(id -u)" = 0 ] || tap_skip_all "needs root (network namespace)"
command -v hostapd >/dev/null && command -v hostapd_cli >/dev/null || tap_skip_all "hostapd not installed"

W=$(mktemp -d /tmp/apgate-hfiles-XXXXXX)
NS=apgate-hfiles-$$-$RANDOM
HAPD= HAPD2=
cleanup() {
	[ -n "$HAPD" ] && kill "$HAPD" 2>/dev/null
	[ -n "$HAPD2" ] && kill "$HAPD2" 2>/dev/null
	wait 2>/dev/null
	ip netns del "$NS" 2>/dev/null
	[ -n "${KEEP:-}" ] || rm -rf "$W"
	tap_cleanup
}
trap cleanup EXIT
ip netns add "$NS" || tap_skip_all "cannot create a network namespace"
in_ns() { ip netns exec "$NS" "$@"; }
in_ns ip link set lo up
for i in ap0 ap1; do
	in_ns ip link add "$i" type veth peer name "$i-p" && in_ns ip link set "$i" up && in_ns ip link set "$i-p" up ||
		tap_bail "cannot create veth $i in $NS"
done

wait_for() { local end=$((SECONDS + $1)); shift; until "$@" >/dev/null 2>&1; do [ $SECONDS -ge $end ] && return 1; sleep 0.05; done; }
L=$W/lists
mkdir -p "$L" "$W/ctrl"
SSID=Files-Test

write_conf() { # ifname psk-file -> $W/<ifname>.conf
	cat >"$W/$1.conf" <<EOC
interface=$1
driver=wired
ctrl_interface=$W/ctrl
ssid=$SSID
wpa=2
wpa_key_mgmt=WPA-PSK
rsn_pairwise=CCMP
wpa_passphrase=onboarding-shared-pass
wpa_psk_file=$2
macaddr_acl=0
accept_mac_file=$L/$1.accept
deny_mac_file=$L/$1.deny
EOC
}
cli() { in_ns hostapd_cli -p "$W/ctrl" -i ap0 raw "$@"; }

# -- the files, written by hfiles
check_eq "hfiles writes the accept list" written \
	"$("$T" accept "$L/ap0.accept" 02:00:00:00:0b:0b 02:00:00:00:0a:0a,10 00:11:22:33:44:55,4094)"
check_eq "the same set again: unchanged, not rewritten" unchanged \
	"$("$T" accept "$L/ap0.accept" 00:11:22:33:44:55,4094 02:00:00:00:0a:0a,10 02:00:00:00:0b:0b)"
check_eq "hfiles writes the deny list" written "$("$T" deny "$L/ap0.deny" 02:00:00:00:dd:02 02:00:00:00:dd:01)"
read -r K1 P1 <<<"$("$T" newkey)"
read -r K2 P2 <<<"$("$T" newkey)"
read -r K3 P3 <<<"$("$T" newkey)"
check_match "new keys look like apg-XXXXXXXX and 4 groups of 5" '^apg-[0-9a-f]{8} [2-9A-HJ-NP-Za-km-np-z]{5}(-[2-9A-HJ-NP-Za-km-np-z]{5}){3}$' "$K1 $P1"
check_eq "hfiles writes the PSK file with one key" written "$("$T" psk "$L/ap0.psk" "$SSID" "$K1,30=$P1")"
check_eq "PSK file mode 600, lists 640" "600 640 640" "$(stat -c %a "$L/ap0.psk" "$L/ap0.accept" "$L/ap0.deny" | xargs)"
tap_diag "$(cat "$L/ap0.accept" "$L/ap0.psk")"

# -- hostapd starts with them (ip netns exec execs hostapd: $! is its PID)
write_conf ap0 "$L/ap0.psk"
ip netns exec "$NS" hostapd "$W/ap0.conf" >"$W/hostapd.log" 2>&1 &
HAPD=$!
check "hostapd reaches AP-ENABLED with the files" wait_for 10 grep -q 'AP-ENABLED' "$W/hostapd.log"
check "no PSK or MAC list error in its log" bash -c "! grep -Ei 'invalid|failed|error' '$W/hostapd.log'"
check_eq "it answers on its control socket" PONG "$(cli PING)"

# -- the lists as hostapd holds them
check_eq "ACCEPT_ACL SHOW lists the MACs with the VLANs written" \
	"00:11:22:33:44:55 VLAN_ID=4094|02:00:00:00:0a:0a VLAN_ID=10|02:00:00:00:0b:0b VLAN_ID=0" \
	"$(cli ACCEPT_ACL SHOW | sort | paste -sd'|')"
check_eq "DENY_ACL SHOW lists the deny file" "02:00:00:00:dd:01 VLAN_ID=0|02:00:00:00:dd:02 VLAN_ID=0" \
	"$(cli DENY_ACL SHOW | sort | paste -sd'|')"

# -- per-device keys reloaded at run time
check_eq "hfiles rewrites the PSK file with two more keys" written \
	"$("$T" psk "$L/ap0.psk" "$SSID" "$K1,30=$P1" "$K2,30=$P2" "$K3=$P3")"
check_eq "three key lines in it" 3 "$(grep -c '^keyid=apg-' "$L/ap0.psk")"
check_eq "RELOAD_WPA_PSK answers OK" OK "$(cli RELOAD_WPA_PSK)"
LONG=abcdefghijklmnopqrstuvwxy # 25: with vlanid=4094 the line is 127 bytes, hostapd's most
check_eq "hfiles writes a 127-byte line" written "$("$T" psk "$L/ap0.psk" "$SSID" "$K1,30=$P1" "$LONG,4094=$P2")"
check_eq "it is 127 bytes with its newline" 127 "$(grep "^keyid=$LONG " "$L/ap0.psk" | wc -c)"
check_eq "RELOAD_WPA_PSK reads it: OK" OK "$(cli RELOAD_WPA_PSK)"
check "hfiles refuses a keyid one longer (the line would be 128 bytes)" \
	bash -c "! '$T' psk '$L/ap0.psk' '$SSID' '${LONG}z,4094=$P2' 2>/dev/null"
rm "$L/ap0.psk"
check_eq "hfiles_ensure creates an empty PSK file" created "$("$T" ensure "$L/ap0.psk")"
check_eq "RELOAD_WPA_PSK with the empty file: OK" OK "$(cli RELOAD_WPA_PSK)"

# -- the check can fail: files not written by hfiles
printf 'keyid=bad 00:00:00:00:00:00 short\n' >"$L/ap0.psk"
check_eq "a broken PSK file (written directly): RELOAD_WPA_PSK answers FAIL" FAIL "$(cli RELOAD_WPA_PSK)"
check "and hostapd names the bad line" wait_for 3 grep -q "Invalid PSK 'short' on line 1" "$W/hostapd.log"
HEX=$(printf 'f%.0s' $(seq 64))
# fgets(buf, 128): a 128-byte line still passes (its 127 characters fill the
# buffer, the lone newline is read next as an empty line); hfiles stops at
# 127 bytes so it never relies on that. From 129 bytes the tail is read as a
# line of its own and the PSK before it is cut to 63 characters.
printf 'keyid=%s vlanid=4094 00:00:00:00:00:00 %s\n' "${LONG}zz" "$HEX" >"$L/ap0.psk"
check_eq "a 129-byte line (written directly) is split by hostapd: FAIL" FAIL "$(cli RELOAD_WPA_PSK)"
"$T" psk "$L/ap0.psk" "$SSID" "$K1,30=$P1" >/dev/null
check_eq "after hfiles rewrote it: OK again" OK "$(cli RELOAD_WPA_PSK)"

# -- a second hostapd with a broken PSK file does not come up
"$T" accept "$L/ap1.accept" >/dev/null && "$T" deny "$L/ap1.deny" >/dev/null
printf 'keyid=bad 00:00:00:00:00:00 short\n' >"$L/ap1.psk"
write_conf ap1 "$L/ap1.psk"
timeout 10 ip netns exec "$NS" hostapd "$W/ap1.conf" >"$W/hostapd1.log" 2>&1 &
HAPD2=$!
wait "$HAPD2"
rc=$?
HAPD2=
check "hostapd with a bad PSK file fails: WPA-PSK setup failed" grep -q 'WPA-PSK setup failed' "$W/hostapd1.log"
check "and never reaches AP-ENABLED" bash -c "! grep -q AP-ENABLED '$W/hostapd1.log'"
check_match "and exits non-zero" '^[1-9]' "$rc"

check "the first hostapd is still running" kill -0 "$HAPD"
tap_done
