#!/bin/bash
# The generated hostapd configuration is read by the REAL hostapd 2.10.
#
# hostapd has no syntax-only flag. It parses the whole file (and the accept,
# deny and VLAN files it names) before it opens the driver; this machine has
# no nl80211, so a good file ends in the driver failure and a bad one in the
# parse errors. hostapd runs only inside a private network namespace made
# for this test (removed on exit): the host's network is never touched.
#   accepted = no parse-error line and the nl80211 driver failure.
# A copy with a broken line proves the check can fail.
set -u
HERE=$(cd "$(dirname "$0")" && pwd)
. "$HERE/../lab/tap.sh"
B=${APGATE_BUILD:-$HERE/../../build}
GOLD=$HERE/../hconf
[ -x "$B/apgate-hostapd-conf" ] || tap_skip_all "build first (no $B/apgate-hostapd-conf)"
[ "$(id -u)" = 0 ] || tap_skip_all "needs root (network namespace)"
command -v hostapd >/dev/null || tap_skip_all "hostapd not installed"

W=$(mktemp -d /tmp/apgate-hconf-XXXXXX)
NS=apgate-hconf-$$-$RANDOM
cleanup() {
	ip netns del "$NS" 2>/dev/null
	rm -rf "$W"
	tap_cleanup
}
trap cleanup EXIT
ip netns add "$NS" || tap_bail "cannot create network namespace $NS"

PARSE_ERR='errors found in configuration file|unknown configuration item|^Line [0-9]+:|Failed to read|not found\.'
DRIVER_FAIL="nl80211: 'nl80211' generic netlink not found|Failed to initialize driver 'nl80211'"

run_hostapd() { # conf -> output in $OUT
	OUT=$(timeout 10 ip netns exec "$NS" hostapd "$1" 2>&1)
}

accepted() { # conf: ok when hostapd got past parsing to the driver
	run_hostapd "$1"
	if grep -Eq "$PARSE_ERR" <<<"$OUT"; then
		echo "parse errors:"; grep -E "$PARSE_ERR" <<<"$OUT"; return 1
	fi
	grep -Eq "$DRIVER_FAIL" <<<"$OUT" || { echo "no driver failure:"; echo "$OUT"; return 1; }
}

rejected() { ! accepted "$1" >/dev/null; }

parse_error() { # conf regex: ok when hostapd reports a parse error matching regex
	run_hostapd "$1"
	grep -Eq "errors found in configuration file" <<<"$OUT" && grep -Eq "$2" <<<"$OUT" ||
		{ echo "$OUT"; return 1; }
}

for cfg in "$GOLD"/*.apgate.conf; do
	name=$(basename "$cfg" .apgate.conf)
	d=$W/$name
	mkdir -p "$d"
	check "$name: apgate-hostapd-conf writes the four files" "$B/apgate-hostapd-conf" -c "$cfg" -o "$d"
	check "$name: hostapd.conf matches the golden file but for the directory" \
		diff -u <(sed "s|=/etc/apgate/hostapd/|=$d/|" "$GOLD/$name.hostapd.conf") "$d/hostapd.conf"
	check "$name: hostapd 2.10 parses it (only the driver fails)" accepted "$d/hostapd.conf"
	for f in hostapd.accept hostapd.deny hostapd.vlan; do
		check "$name: $f is there" test -f "$d/$f"
	done
	check "$name: no temporary files left" test -z "$(find "$d" -name '.*')"
done

# The check can fail: broken copies of a good file are parse errors.
d=$W/wpa2
sed 's/^wpa_key_mgmt=WPA-PSK$/wpa_key_mgmt=WPA-PSKK/' "$d/hostapd.conf" >"$W/bad-akm.conf"
check "a broken key management line is reported as a parse error" parse_error "$W/bad-akm.conf" "invalid key_mgmt 'WPA-PSKK'"
check "and is not accepted" rejected "$W/bad-akm.conf"
sed 's/^macaddr_acl=0$/macaddr_acl=7/' "$d/hostapd.conf" >"$W/bad-acl.conf"
check "an unknown macaddr_acl is reported as a parse error" parse_error "$W/bad-acl.conf" "unknown macaddr_acl 7"
rm "$d/hostapd.accept"
check "a missing accept file is reported as a parse error" parse_error "$d/hostapd.conf" "Failed to read accept_mac_file"
"$B/apgate-hostapd-conf" -c "$GOLD/wpa2.apgate.conf" -o "$d"
printf 'x wlan0.x br0\n' >"$d/hostapd.vlan"
check "a broken VLAN file is reported as a parse error" parse_error "$d/hostapd.conf" "Invalid VLAN ID at line 1 in '$d/hostapd.vlan'"

# A bad apgate.conf: exit 3 with FILE:LINE: key: why, nothing written.
mkdir -p "$W/bad"
sed 's/^channel = 6$/channel = 0/' "$GOLD/wpa2.apgate.conf" >"$W/bad.apgate.conf"
"$B/apgate-hostapd-conf" -c "$W/bad.apgate.conf" -o "$W/bad" 2>"$W/bad.err"
check_eq "a bad apgate.conf exits 3" 3 $?
check_match "and names file, line and key" "bad.apgate.conf:13: channel: '0' is not a whole number from 1 to 196" "$(cat "$W/bad.err")"
check_eq "and writes nothing" "" "$(ls -A "$W/bad")"
tap_done
