#!/bin/bash
# The generated hostapd configuration is read by the REAL hostapd 2.10.
#
# hostapd has no syntax-only flag. It parses the whole file (and the accept,
# deny and VLAN files it names) before it opens the driver; this machine has
# no nl80211, so a good file ends in the driver failure and a bad one in the
# parse errors. (wpa_psk_file is read only after the driver is up:
# test_hostapd_files.sh checks it with driver=wired.) The per-BSS lists go to
# [hostapd] data_dir, set to a temporary directory here; the generator
# creates them empty when missing and never overwrites them. hostapd runs only inside a private network namespace made
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

golden_data_dir() { # apgate.conf -> its data_dir (cfg.c's default if not set)
	local v
	v=$(sed -n 's/^data_dir *= *//p' "$1")
	echo "${v:-/var/lib/apgate/hostapd}"
}
with_data_dir() { # apgate.conf dir -> the same with data_dir = dir
	if grep -q '^\[hostapd\]' "$1"; then
		sed -e '/^data_dir *=/d' -e "/^\[hostapd\]/a data_dir = $2" "$1"
	else
		cat "$1"; printf '\n[hostapd]\ndata_dir = %s\n' "$2"
	fi
}
mode_of() { stat -c %a "$1"; }
lists_have_modes() { # data dir, lists file: .psk 600, the others 640
	local f want
	while read -r f; do
		case $f in *.psk) want=600 ;; *) want=640 ;; esac
		[ "$(mode_of "$f")" = $want ] || { echo "$f: mode $(mode_of "$f"), want $want"; return 1; }
		grep -qv '^#' "$f" && { echo "$f is not empty"; return 1; }
	done <"$2"
	return 0
}

for cfg in "$GOLD"/*.apgate.conf; do
	name=$(basename "$cfg" .apgate.conf)
	d=$W/$name
	mkdir -p "$d"
	gdd=$(golden_data_dir "$cfg")
	with_data_dir "$cfg" "$d/data/lists" >"$W/$name.apgate.conf"
	sed "s|^$gdd/|$d/data/lists/|" "$GOLD/$name.lists" >"$W/$name.lists"
	"$B/apgate-hostapd-conf" -c "$W/$name.apgate.conf" -n -d /etc/apgate/hostapd >"$W/$name.dry"
	check_eq "$name: -n writes nothing" "" "$(ls -A "$d")"
	check "$name: -n names the lists" diff -u "$W/$name.lists" <(sed -n '/^### lists/,$p' "$W/$name.dry" | tail -n +2)
	check "$name: apgate-hostapd-conf writes hostapd.conf and hostapd.vlan" "$B/apgate-hostapd-conf" -c "$W/$name.apgate.conf" -o "$d"
	check "$name: hostapd.conf matches the golden file but for the directories" \
		diff -u <(sed -e "s|=/etc/apgate/hostapd/|=$d/|" -e "s|=$gdd/|=$d/data/lists/|" -e "s|# apgated keeps the lists in $gdd\$|# apgated keeps the lists in $d/data/lists|" \
			"$GOLD/$name.hostapd.conf") "$d/hostapd.conf"
	check_eq "$name: only hostapd.conf and hostapd.vlan in -o DIR (and data_dir)" "data hostapd.conf hostapd.vlan" "$(ls "$d" | xargs)"
	check_eq "$name: data_dir made with mode 750 (and its parent)" "750 750" "$(mode_of "$d/data") $(mode_of "$d/data/lists")"
	check_eq "$name: every list hostapd.conf names is there, nothing else" "$(xargs -n1 basename <"$W/$name.lists" | sort | xargs)" "$(ls "$d/data/lists" | xargs)"
	check "$name: lists are empty, .psk mode 600, the others 640" lists_have_modes "$d/data/lists" "$W/$name.lists"
	check "$name: hostapd 2.10 parses it (only the driver fails)" accepted "$d/hostapd.conf"
	check "$name: no temporary files left" test -z "$(find "$d" -name '.*')"
	# apgated's lists are never overwritten by a second run
	first=$(head -n1 "$W/$name.lists")
	printf '# apgated was here\n' >>"$first"
	before=$(md5sum <"$first")
	check "$name: a second run succeeds" "$B/apgate-hostapd-conf" -c "$W/$name.apgate.conf" -o "$d"
	check_eq "$name: and leaves apgated's list alone" "$before" "$(md5sum <"$first")"
done
grep -q '^wpa_psk_file=.*/wlan0.psk$' "$W/ppsk/hostapd.conf"
check_eq "ppsk: hostapd.conf names the PSK file in data_dir" 0 $?

# The check can fail: broken copies of a good file are parse errors.
d=$W/wpa2
sed 's/^wpa_key_mgmt=WPA-PSK$/wpa_key_mgmt=WPA-PSKK/' "$d/hostapd.conf" >"$W/bad-akm.conf"
check "a broken key management line is reported as a parse error" parse_error "$W/bad-akm.conf" "invalid key_mgmt 'WPA-PSKK'"
check "and is not accepted" rejected "$W/bad-akm.conf"
sed 's/^macaddr_acl=0$/macaddr_acl=7/' "$d/hostapd.conf" >"$W/bad-acl.conf"
check "an unknown macaddr_acl is reported as a parse error" parse_error "$W/bad-acl.conf" "unknown macaddr_acl 7"
rm "$d/data/lists/wlan0.accept"
check "a missing accept file is reported as a parse error" parse_error "$d/hostapd.conf" "Failed to read accept_mac_file"
"$B/apgate-hostapd-conf" -c "$W/wpa2.apgate.conf" -o "$d"
check "the generator creates it again" test -f "$d/data/lists/wlan0.accept"
printf 'x wlan0.x br0\n' >"$d/hostapd.vlan"
check "a broken VLAN file is reported as a parse error" parse_error "$d/hostapd.conf" "Invalid VLAN ID at line 1 in '$d/hostapd.vlan'"

# A bad apgate.conf: exit 3 with FILE:LINE: key: why, nothing written.
mkdir -p "$W/bad"
sed 's/^channel = 6$/channel = 0/' "$W/wpa2.apgate.conf" >"$W/bad.apgate.conf"
"$B/apgate-hostapd-conf" -c "$W/bad.apgate.conf" -o "$W/bad" 2>"$W/bad.err"
check_eq "a bad apgate.conf exits 3" 3 $?
line=$(grep -n '^channel = 0$' "$W/bad.apgate.conf" | cut -d: -f1)
check_match "and names file, line and key" "bad.apgate.conf:$line: channel: '0' is not a whole number from 1 to 196" "$(cat "$W/bad.err")"
check_eq "and writes nothing" "" "$(ls -A "$W/bad")"
tap_done
