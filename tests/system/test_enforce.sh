#!/bin/bash
# Zones enforced, end to end inside a private network namespace (no traffic:
# the lab's tests/lab/zones/ send packets). apgated with [zone] sections,
# hostapd played by fakehapd, dummy interfaces for the zones and the uplink:
# the APGATE_ chains appear; a decision changes one device's rule and the
# dnsmasq hosts file; a restart gives byte-identical iptables-legacy-save
# output; a foreign rule survives everything; --flush removes only apgate's.
set -u
HERE=$(cd "$(dirname "$0")" && pwd)
. "$HERE/../lab/tap.sh"
. "$HERE/zones_conf.sh"
B=${APGATE_BUILD:-$HERE/../../build}
[ "$(id -u)" = 0 ] || tap_skip_all "needs root (network namespace)"
[ -x "$B/apgated" ] && [ -x "$B/fakehapd" ] || tap_skip_all "build first"
command -v iptables-legacy-save >/dev/null || tap_skip_all "no iptables-legacy-save"

NS=apgenf-$$-$RANDOM
W=$(mktemp -d /tmp/apgate-enf-XXXXXX)
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

mkdir -p "$W/ctrl"
zones_conf "$W" "$B" br-work >"$W/apgate.conf"

ctl() { "$B/apgatectl" -s "$W/admin.sock" "$@"; }
wait_for() { local end=$((SECONDS + $1)); shift; until "$@" >/dev/null 2>&1; do [ $SECONDS -ge $end ] && return 1; sleep 0.05; done; }
save() { # both families, counters and date comments stripped
	{ in_ns iptables-legacy-save; in_ns ip6tables-legacy-save; } | sed -e 's/\[[0-9]*:[0-9]*\]//' -e '/^#/d'
}
# ip netns exec execs the daemon itself, so $! is apgated's PID (a shell
# function in the background would be a subshell instead)
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

# a foreign rule that apgate must never touch
in_ns iptables-legacy -A FORWARD -s 192.0.2.7 -j DROP

ip netns exec "$NS" "$B/fakehapd" -d "$W/ctrl" -i ap0 >"$W/peer.log" 2>&1 &
PEER=$!
check "apgated starts with zones configured" start
check "the APGATE_ chains are hooked in (filter FORWARD and INPUT, nat, mangle)" \
	bash -c "ip netns exec $NS iptables-legacy-save | grep -q -- '-A FORWARD -j APGATE_' &&
		 ip netns exec $NS iptables-legacy-save | grep -q -- '-A INPUT -j APGATE_' &&
		 ip netns exec $NS iptables-legacy-save -t nat | grep -q -- '-j APGATE_' &&
		 ip netns exec $NS iptables-legacy-save -t mangle | grep -q -- '-A PREROUTING -j APGATE_'"
check "IPv6 has the same hooks" bash -c "ip netns exec $NS ip6tables-legacy-save | grep -q -- '-A FORWARD -j APGATE_'"
check "the captive page listens on the onboarding gateway" \
	bash -c "ip netns exec $NS ss -ltn | grep -q '10.79.0.1:8080'"
check "dnsmasq's config is written for the three zones" \
	bash -c "grep -q '^interface=br-work' '$W/dnsmasq.conf' && grep -q '^interface=br-onb' '$W/dnsmasq.conf' &&
		 grep -q '114,\"http://10.79.0.1:8080/captive-portal/api\"' '$W/dnsmasq.conf'"
check "dnsmasq accepts that config" dnsmasq --test -C "$W/dnsmasq.conf"

# a device connects (the peer emits AP-STA-CONNECTED), is approved, blocked, forgotten
MAC=02:00:00:00:0a:0a
"$B/apgatectl" -s "$W/admin.sock" block 02:00:00:00:0b:0b >/dev/null
check "a blocked device gets a MAC rule with the blocked mark" \
	bash -c "ip netns exec $NS iptables-legacy-save -t mangle | grep -qi -- '--mac-source 02:00:00:00:0B:0B -j MARK --set-xmark 0x30000/0xff0000'"
check "and an ignore line in the dnsmasq hosts file" grep -qx '02:00:00:00:0b:0b,ignore' "$W/dhcp-hosts"
ctl block "$MAC" >/dev/null
ctl forget "$MAC" >/dev/null 2>&1
in_ns python3 - "$W/admin.sock" "$MAC" <<'PY'
import json, socket, sys
s = socket.socket(socket.AF_UNIX); s.connect(sys.argv[1])
s.sendall((json.dumps({"cmd": "lease", "action": "add", "mac": sys.argv[2], "ip": "10.77.0.140",
                       "interface": "br-work", "supplied_hostname": "till-1"}) + "\n").encode())
print(s.recv(4096).decode().strip())
PY
check_eq "a device seen by DHCP is pending" pending "$(ctl --json show "$MAC" | python3 -c 'import json,sys; print(json.load(sys.stdin)["state"])')"
check "a pending device has no MAC rule (onboarding treatment)" \
	bash -c "! ip netns exec $NS iptables-legacy-save -t mangle | grep -qi -- '--mac-source $MAC'"
ctl approve "$MAC" --as business >/dev/null
check "approval as business gives it the work mark" \
	bash -c "ip netns exec $NS iptables-legacy-save -t mangle | grep -qi -- '--mac-source $MAC -j MARK --set-xmark 0x10000/0xff0000'"
check "approved devices get no hosts line (dnsmasq 2.90 crashes on tagged entries at SIGHUP)" bash -c "! grep -qi '$MAC' '$W/dhcp-hosts'"
check "the same rule for IPv6" \
	bash -c "ip netns exec $NS ip6tables-legacy-save -t mangle | grep -qi -- '--mac-source $MAC'"

before=$(save)
check "apgated stops on SIGTERM with status 0" stop
check "the admin socket is gone: no apgated answers" bash -c "! '$B/apgatectl' -s '$W/admin.sock' status"
check "apgated stopped; its rules stay in place (the network stays closed)" \
	bash -c "ip netns exec $NS iptables-legacy-save | grep -q APGATE_"
check "apgated starts again" start
check_eq "a restart gives byte-identical iptables-legacy-save and ip6tables-legacy-save" "$before" "$(save)"
check "the foreign rule survived" bash -c "ip netns exec $NS iptables-legacy-save | grep -q -- '-A FORWARD -s 192.0.2.7/32 -j DROP'"

# reservations: a fixed address inside a zone, one device per address
check "reserve an address inside the work zone" ctl reserve "$MAC" 10.77.0.50
check "the hosts file gives it that address" grep -qx "$MAC,10.77.0.50" "$W/dhcp-hosts"
out=$(ctl reserve "$MAC" 192.0.2.1 2>&1); rc=$?
check_eq "an address outside every zone is refused" "1 yes" "$rc $([[ $out == *"not an address inside a zone"* ]] && echo yes)"
out=$(ctl reserve "$MAC" 10.77.0.1 2>&1); rc=$?
check_eq "the gateway's address is refused" 1 "$rc"
ctl block 02:00:00:00:0c:0c >/dev/null
out=$(ctl reserve 02:00:00:00:0c:0c 10.77.0.50 2>&1); rc=$?
check_eq "an address reserved for another device is refused" "1 yes" "$rc $([[ $out == *"already reserved"* ]] && echo yes)"
check_eq "apgatectl show lists the reservation" 10.77.0.50 \
	"$(ctl --json show "$MAC" | python3 -c 'import json,sys; print(json.load(sys.stdin)["reserved_ip"])')"
check "reserve --clear removes it" ctl reserve "$MAC" --clear
check "and its hosts line" bash -c "! grep -qi '$MAC' '$W/dhcp-hosts'"

ctl approve "$MAC" --as personal >/dev/null
check "approval as personal gives it the guest mark" \
	bash -c "ip netns exec $NS iptables-legacy-save -t mangle | grep -qi -- '--mac-source $MAC -j MARK --set-xmark 0x20000/0xff0000'"
ctl forget "$MAC" >/dev/null
check "forget removes its rule" bash -c "! ip netns exec $NS iptables-legacy-save -t mangle | grep -qi -- '--mac-source $MAC'"
check "and its hosts line" bash -c "! grep -qi '$MAC' '$W/dhcp-hosts'"

# a reload with another captive port: the firewall follows at once, the
# listener at the next restart (said in the log)
sed -i 's/^captive_port = 8080/captive_port = 8081/' "$W/apgate.conf"
kill -HUP "$DAEMON"
check "after SIGHUP the redirect goes to the new captive port" \
	wait_for 5 bash -c "ip netns exec $NS iptables-legacy-save -t nat | grep -q -- '--to-destination 10.79.0.1:8081'"
check "the log says what follows only at the next restart" grep -q "reload: zones changed; the firewall and dnsmasq's files follow now" "$W/apgated.log"
check "dnsmasq's config names the new port for option 114" grep -q '114,"http://10.79.0.1:8081/captive-portal/api"' "$W/dnsmasq.conf"

check "apgated stops again" stop
in_ns "$B/apgated" --flush >/dev/null
check_eq "apgated --flush exits 0" 0 $?
check "--flush leaves no APGATE_ chain or jump (IPv4, IPv6)" \
	bash -c "! { ip netns exec $NS iptables-legacy-save; ip netns exec $NS ip6tables-legacy-save; } | grep -q APGATE_"
check "--flush leaves the foreign rule" bash -c "ip netns exec $NS iptables-legacy-save | grep -q -- '-A FORWARD -s 192.0.2.7/32 -j DROP'"
check "no sanitizer report in apgated's log" bash -c "! grep -q 'Sanitizer' '$W/apgated.log'"
[ "$TAP_FAILED" = 0 ] || tap_diag "$(tail -30 "$W/apgated.log")"
tap_done
