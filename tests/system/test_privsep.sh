#!/bin/bash
# The privilege split (issue 7, part 5): apgated forks a small helper that
# alone keeps CAP_NET_ADMIN and CAP_NET_RAW; the process that parses outside
# input (portal, hostapd events, admin socket, lease events) has neither.
# In a private network namespace, with zones and a real guest bridge:
#   - the process that owns the portal's listening sockets (ss -ltnp) has no
#     cap_net_admin/cap_net_raw in CapEff, CapPrm and CapBnd, NoNewPrivs 1;
#     the helper (its child) has both, nothing else open but its socket;
#   - a process with exactly the portal process's capability sets and uid,
#     in the same namespace, is refused by `iptables-legacy -t mangle -A`
#     and `ip link set ... master ...` (the same commands work with root's
#     full set: the refusal is the capabilities');
#   - everything still works through the helper: the rules at start, an
#     approval's rule (IPv4 and IPv6), the firewall health read back, a
#     guest bridge port isolated (also one plugged in later), a reload;
#   - the helper killed: apgated logs it, keeps answering, status health
#     reports the firewall problem, a decision is still stored;
#   - apgated stopped: no helper left behind.
# Needs root (namespaces); exit 77 otherwise.
set -u
HERE=$(cd "$(dirname "$0")" && pwd)
. "$HERE/../lab/tap.sh"
. "$HERE/zones_conf.sh"
B=${APGATE_BUILD:-$HERE/../../build}
[ "$(id -u)" = 0 ] || tap_skip_all "needs root (network namespace)"
[ -x "$B/apgated" ] && [ -x "$B/fakehapd" ] || tap_skip_all "build first"
command -v iptables-legacy-save >/dev/null || tap_skip_all "no iptables-legacy-save"
command -v setpriv >/dev/null && command -v capsh >/dev/null || tap_skip_all "no setpriv (util-linux) or capsh (libcap2-bin)"
command -v ss >/dev/null && command -v bridge >/dev/null || tap_skip_all "no ss or bridge (iproute2)"

NS=apgps-$$-$RANDOM
W=$(mktemp -d /tmp/apgate-ps-XXXXXX)
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
for i in br-work br-onb up0; do in_ns ip link add "$i" type veth peer name "$i-p" && in_ns ip link set "$i" up && in_ns ip link set "$i-p" up; done
# the guest zone is a real bridge with one port now and one later
in_ns ip link add br-guest type bridge && in_ns ip link set br-guest up
in_ns ip link add gp0 type veth peer name gp0-p && in_ns ip link set gp0 master br-guest && in_ns ip link set gp0 up
# a bridge and a port for the refused `ip link set ... master`
in_ns ip link add brx type bridge && in_ns ip link add dx0 type veth peer name dx0-p
in_ns ip addr add 10.77.0.1/24 dev br-work
in_ns ip addr add 10.78.0.1/24 dev br-guest
in_ns ip addr add 10.79.0.1/24 dev br-onb
in_ns ip addr add 198.51.100.1/24 dev up0
mkdir -p "$W/ctrl"
zones_conf "$W" "$B" br-work >"$W/apgate.conf"

ctl() { "$B/apgatectl" -s "$W/admin.sock" "$@"; }
wait_for() { local end=$((SECONDS + $1)); shift; until "$@" >/dev/null 2>&1; do [ $SECONDS -ge $end ] && return 1; sleep 0.05; done; }
st_json() { ctl status --json 2>/dev/null | python3 -c 'import json,sys; d=json.load(sys.stdin); print(eval(sys.argv[1]))' "$1"; }
fw_health() { st_json '[c for c in d["health"]["checks"] if c["name"] == "firewall"][0]["level"]'; }
# field PID NAME : the value of NAME: in /proc/PID/status
field() { awk -v k="$2:" '$1 == k { print $2 }' "/proc/$1/status"; }
# has_cap HEX BIT : the capability set HEX holds capability number BIT
has_cap() { (( (16#$1 >> $2) & 1 )); }
NET_ADMIN=12 NET_RAW=13
mangle_has() { in_ns iptables-legacy-save -t mangle | grep -qi -- "--mac-source $1 -j MARK --set-xmark $2/0xff0000"; }
lease() { # lease MAC IP : a DHCP lease event on the admin socket
	in_ns python3 - "$W/admin.sock" "$1" "$2" <<'PY'
import json, socket, sys
s = socket.socket(socket.AF_UNIX); s.connect(sys.argv[1])
s.sendall((json.dumps({"cmd": "lease", "action": "add", "mac": sys.argv[2], "ip": sys.argv[3],
                       "interface": "br-work"}) + "\n").encode())
s.recv(4096)
PY
}

ip netns exec "$NS" "$B/fakehapd" -d "$W/ctrl" -i ap0 >"$W/peer.log" 2>&1 &
PEER=$!
ip netns exec "$NS" "$B/apgated" -f -c "$W/apgate.conf" 2>>"$W/apgated.log" &
DAEMON=$!
check "apgated starts with zones" wait_for 5 ctl status
check "the APGATE_ chains are in place (built by the helper)" \
	bash -c "ip netns exec $NS iptables-legacy-save | grep -q -- '-A FORWARD -j APGATE_'"

# ---- who has what ----
PORTAL=$(in_ns ss -ltnpH 'sport = :8080' | grep -o 'pid=[0-9]*' | head -n 1 | cut -d= -f2)
check_eq "the portal's listening socket (10.79.0.1:8080) belongs to apgated" "$DAEMON" "${PORTAL:-none}"
PORTAL=${PORTAL:-$DAEMON}
for set in CapEff CapPrm CapBnd; do
	v=$(field "$PORTAL" $set)
	check "portal process: no cap_net_admin in $set ($v)" bash -c "! (( (16#$v >> $NET_ADMIN) & 1 ))"
	check "portal process: no cap_net_raw in $set" bash -c "! (( (16#$v >> $NET_RAW) & 1 ))"
done
check_eq "portal process: no ambient capabilities" 0000000000000000 "$(field "$PORTAL" CapAmb)"
check_eq "portal process: NoNewPrivs 1" 1 "$(field "$PORTAL" NoNewPrivs)"
HELPER=$(ps -o pid= --ppid "$PORTAL" | tr -d ' ' | head -n 1)
check "apgated has one child: the helper" test -n "$HELPER"
HELPER=${HELPER:-0}
if [ "$HELPER" != 0 ]; then
	check_eq "helper: named apgated-priv (ps, top, ss -p)" apgated-priv "$(cat /proc/"$HELPER"/comm)"
	e=$(field "$HELPER" CapEff)
	check "helper: cap_net_admin and cap_net_raw effective ($e)" bash -c "(( (16#$e >> $NET_ADMIN) & 1 && (16#$e >> $NET_RAW) & 1 ))"
	check_eq "helper: nothing else effective" "$(printf '%016x' $(( (1 << NET_ADMIN) | (1 << NET_RAW) )))" "$e"
	check_eq "helper: NoNewPrivs 1" 1 "$(field "$HELPER" NoNewPrivs)"
	check "helper: nothing open but stdin/out/err and sockets (its socketpair, netlink)" \
		bash -c "for f in /proc/$HELPER/fd/*; do [ \${f##*/} -le 2 ] || [[ \$(readlink \$f) == socket:* ]] || exit 1; done"
	check "helper: no listening socket of its own" bash -c "! ip netns exec $NS ss -ltnpH | grep -q 'pid=$HELPER,'"
fi

# ---- a process with the portal process's capability sets and uid ----
names() { capsh --decode="$1" | sed 's/^0x[0-9a-f]*=//; s/cap_//g'; }
BND=$(names "$(field "$PORTAL" CapBnd)") INH=$(names "$(field "$PORTAL" CapInh)")
AS_PORTAL=(setpriv --reuid="$(stat -c %u /proc/"$PORTAL")" --regid="$(stat -c %g /proc/"$PORTAL")" --clear-groups
	   --bounding-set="-all${BND:+,+${BND//,/,+}}" --inh-caps="-all${INH:+,+${INH//,/,+}}" --no-new-privs)
got=$(in_ns "${AS_PORTAL[@]}" awk '/^Cap(Eff|Prm|Bnd)/ { printf "%s ", $2 }' /proc/self/status)
want=$(awk '/^Cap(Eff|Prm|Bnd)/ { printf "%s ", $2 }' /proc/"$PORTAL"/status)
check_eq "setpriv gives a process exactly the portal process's CapEff/CapPrm/CapBnd" "$want" "$got"
check "control: with root's full set, iptables -t mangle -A works" in_ns iptables-legacy -t mangle -A PREROUTING -s 192.0.2.99 -j ACCEPT
in_ns iptables-legacy -t mangle -D PREROUTING -s 192.0.2.99 -j ACCEPT
# refused CMD... : CMD fails and says "Permission denied" or "Operation not permitted"
refused() { local out; out=$("$@" 2>&1) && return 1; tap_diag "$out"; grep -qE 'Permission denied|Operation not permitted' <<<"$out"; }
check "as the portal process: iptables -t mangle -A is refused (Permission denied)" \
	refused in_ns "${AS_PORTAL[@]}" iptables-legacy -t mangle -A PREROUTING -s 192.0.2.99 -j ACCEPT
check "as the portal process: no rule was added" bash -c "! ip netns exec $NS iptables-legacy-save -t mangle | grep -q 192.0.2.99"
check "as the portal process: ip link set dx0 master brx is refused (Operation not permitted)" \
	refused in_ns "${AS_PORTAL[@]}" ip link set dx0 master brx
check "as the portal process: dx0 is not in brx" bash -c "! ip netns exec $NS ip -o link show dx0 | grep -q 'master brx'"
check "control: with root's full set, ip link set dx0 master brx works" in_ns ip link set dx0 master brx

# ---- everything still works, through the helper ----
MAC=02:00:00:00:5e:01
lease "$MAC" 10.77.0.140
ctl approve "$MAC" --as business >/dev/null
check "an approval puts its MAC rule in place (work mark, IPv4)" wait_for 3 mangle_has "$MAC" 0x10000
check "and in IPv6" bash -c "ip netns exec $NS ip6tables-legacy-save -t mangle | grep -qi -- '--mac-source $MAC'"
check_eq "status health: firewall ok (read back through the helper)" ok "$(fw_health)"
check "guest bridge: gp0 (there at start) isolated by the helper" \
	bash -c "ip netns exec $NS bridge -d link show dev gp0 | grep -q 'isolated on'"
in_ns ip link add gp1 type veth peer name gp1-p && in_ns ip link set gp1 master br-guest && in_ns ip link set gp1 up
check "guest bridge: gp1, plugged in later, isolated too" \
	wait_for 3 bash -c "ip netns exec $NS bridge -d link show dev gp1 | grep -q 'isolated on'"
sed -i 's/^captive_port = 8080/captive_port = 8081/' "$W/apgate.conf"
kill -HUP "$DAEMON"
check "reload: the helper re-reads the configuration (redirect to the new port)" \
	wait_for 5 bash -c "ip netns exec $NS iptables-legacy-save -t nat | grep -q -- '--to-destination 10.79.0.1:8081'"

# ---- the helper dies ----
if [ "$HELPER" != 0 ]; then
	kill -9 "$HELPER"
	M2=02:00:00:00:5e:02
	lease "$M2" 10.77.0.141
	out=$(ctl approve "$M2" --as business 2>&1)
	check "helper killed: apgated logs it" wait_for 3 grep -q "privileged helper (pid $HELPER) killed by signal 9" "$W/apgated.log"
	check "helper killed: apgated still answers" ctl status
	check_eq "helper killed: the decision is stored" approved \
		"$(ctl --json show "$M2" | python3 -c 'import json,sys; print(json.load(sys.stdin)["state"])')"
	check "helper killed: no rule for it (nobody may write)" bash -c "! ip netns exec $NS iptables-legacy-save -t mangle | grep -qi -- '--mac-source $M2'"
	check "helper killed: the rules in place stay" mangle_has "$MAC" 0x10000
	check_eq "helper killed: status health reports the firewall problem" problem "$(fw_health)"
	check_match "helper killed: status says the helper is gone and what to do" \
		'privileged helper \(apgated-priv\) is gone.*restart apgated' \
		"$(st_json '[c for c in d["health"]["checks"] if c["name"] == "firewall"][0]["message"]')"
fi
kill "$DAEMON"; wait "$DAEMON"; rc=$?; DAEMON=
check_eq "apgated stops on SIGTERM with status 0" 0 "$rc"

# ---- a restart starts a new helper, which catches up; stopping ends it ----
ip netns exec "$NS" "$B/apgated" -f -c "$W/apgate.conf" 2>>"$W/apgated.log" &
DAEMON=$!
check "apgated starts again" wait_for 5 ctl status
H2=$(ps -o pid= --ppid "$DAEMON" | tr -d ' ' | head -n 1)
check "a new helper runs" test -n "$H2"
[ "$HELPER" != 0 ] && check "the decision taken while the helper was dead is in force now" wait_for 3 mangle_has "$M2" 0x10000
kill "$DAEMON"; wait "$DAEMON"; DAEMON=
check "apgated stopped: its helper is gone too" wait_for 3 bash -c "! kill -0 ${H2:-0} 2>/dev/null"
check "no sanitizer report in apgated's log" bash -c "! grep -q 'Sanitizer' '$W/apgated.log'"
[ "$TAP_FAILED" = 0 ] || tap_diag "$(tail -30 "$W/apgated.log")"
tap_done
