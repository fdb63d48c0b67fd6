#!/bin/bash
# demo.sh start|stop [BUILD] - the namespace lab with real hostapd, dnsmasq
# (configured by apgated), an "internet" and a LAN server, three devices (two
# 802.1X work stations, one guest phone) and apgated enforcing the zones on
# it; left running for you to try apgatectl. `make demo` / `make demo-stop`.
#
# State of the running demo: /tmp/apgate-demo/state (LAB_DIR, namespaces, PIDs),
# so that stop works from any shell, even if the lab directory is gone.
set -u
HERE=$(cd "$(dirname "$0")" && pwd)
ROOT=$(cd "$HERE/../.." && pwd)
STATE_DIR=/tmp/apgate-demo
STATE=$STATE_DIR/state

cmd=${1:-}
b=${2:-build}
case $b in /*) ;; *) b=$ROOT/$b ;; esac
export APGATE_BUILD=$b
export LAB_ZONES=1
. "$HERE/lab.sh"

say() { printf '%s\n' "$*"; }
die() { printf 'demo: %s\n' "$*" >&2; exit 1; }

write_state() {
	mkdir -p "$STATE_DIR"
	{
		printf 'LAB_DIR=%q\n' "$LAB_DIR"
		printf 'BUILD=%q\n' "$BUILD"
		printf 'NETNS=(%s)\n' "$(tr '\n' ' ' < "$LAB_DIR/netns")"
		local f
		printf 'PIDS=('
		for f in "$LAB_DIR"/pid/*.pid; do [ -f "$f" ] && printf '%s:%s ' "$(basename "$f" .pid)" "$(cat "$f")"; done
		printf ')\n'
	} > "$STATE.tmp" && mv "$STATE.tmp" "$STATE"
}

demo_stop() {
	[ -f "$STATE" ] || { say "no demo running ($STATE not found)"; return 0; }
	local LAB_DIR='' NETNS=() PIDS=() ns pid
	. "$STATE"
	if [ -n "$LAB_DIR" ] && [ -f "$LAB_DIR/.apgate-lab" ]; then
		lab_load "$LAB_DIR" && lab_down
	else
		# the lab directory is gone: fall back on the PIDs and namespace names of
		# the state file; a PID is signalled only while it runs in one of them
		local ours=() entry
		for ns in "${NETNS[@]}"; do
			if [[ $ns == apg-* ]] && [ -e "/run/netns/$ns" ]; then ours+=("$ns"); fi
		done
		for entry in "${PIDS[@]}"; do
			pid=${entry##*:}
			for ns in "${ours[@]}"; do
				if [ "$(stat -L -c %i "/proc/$pid/ns/net" 2>/dev/null)" = "$(stat -L -c %i "/run/netns/$ns")" ]; then
					kill -TERM "$pid" 2>/dev/null
				fi
			done
		done
		for ns in "${ours[@]}"; do
			for pid in $(ip netns pids "$ns"); do kill -TERM "$pid" 2>/dev/null; done
		done
		sleep 0.5
		for ns in "${ours[@]}"; do
			for pid in $(ip netns pids "$ns"); do kill -KILL "$pid" 2>/dev/null; done
			ip netns del "$ns"
		done
	fi
	rm -f "$STATE"
	say "demo stopped"
}

demo_start() {
	[ "$(id -u)" = 0 ] || die "needs root (network namespaces)"
	if [ -f "$STATE" ]; then
		die "a demo is already running (state in $STATE): make demo-stop first"
	fi
	[ -x "$BUILD/apgated" ] && [ -x "$BUILD/apgatectl" ] || die "no $BUILD/apgated or apgatectl: make build"
	( lab_require ) >/dev/null || die "this machine cannot run the lab (root, netns, veth, bridge, hostapd, wpa_supplicant, busybox, python3)"

	local S1 S2 G3 ctl
	S1=$(lab_mac 1) S2=$(lab_mac 2) G3=$(lab_mac 3)
	trap 'echo "demo: start failed, cleaning up" >&2; lab_down; rm -f "$STATE"' EXIT
	lab_up || die "the lab did not come up"
	write_state
	lab_add_work_device s1 "$S1" && lab_add_work_device s2 "$S2" && lab_add_guest_device g3 "$G3" ||
		die "adding devices failed"
	# the repository's policies/: fingerprints for the suggestions, the
	# starter DNS blocklist
	lab_apgated_write_zones_conf "
[policies]
dir = $ROOT/policies
"
	lab_apgated_start || die "apgated did not start (log: $LAB_DIR/apgated.log)"
	lab_zones_dnsmasq_start || die "dnsmasq did not start on the configuration apgated wrote"
	write_state
	ctl="$BUILD/apgatectl -s $LAB_ADMIN_SOCK"

	say "== lab up in $LAB_DIR"
	say "== apgated (pid $(lab_apgated_pid)) watches hostapd's ap0 (work) and ap1 (guest) and enforces the zones;"
	say "   dnsmasq runs on the configuration apgated wrote ($LAB_DIR/dnsmasq-apgate.conf)"
	say "== two staff PCs start 802.1X (wpa_supplicant, EAP-MD5) and ask for DHCP; a phone joins the guest BSS"
	lab_sta_start s1; lab_sta_start s2
	lab_wait_for 10 lab_dev_is "$S1" connected true
	lab_wait_for 10 lab_dev_is "$S2" connected true
	lab_dhcp s1; lab_dhcp s2; lab_dhcp g3 staffphone
	write_state
	say
	say "\$ apgatectl devices"
	$ctl devices
	say
	say "== s1 is pending: its web traffic lands on the captive page, the LAN is closed"
	lab_http s1 "http://$LAB_INET_IP/" >/dev/null
	say "   s1: GET http://$LAB_INET_IP/ -> $LAB_HTTP_CODE $LAB_HTTP_LOCATION"
	lab_http_not s1 "http://$LAB_LAN_IP/" lan-ok >/dev/null && say "   s1: the LAN server $LAB_LAN_IP does not answer"
	say
	say "\$ apgatectl approve $S1 --as business --label \"Till 1\" --type pos"
	$ctl approve "$S1" --as business --label "Till 1" --type pos
	lab_http s1 "http://$LAB_INET_IP/" >/dev/null
	say "   s1: GET http://$LAB_INET_IP/ -> $LAB_HTTP_CODE $LAB_HTTP_BODY"
	lab_http s1 "http://$LAB_LAN_IP/" >/dev/null
	say "   s1: GET http://$LAB_LAN_IP/ (LAN server) -> $LAB_HTTP_CODE $LAB_HTTP_BODY"
	say
	say "\$ apgatectl devices"
	$ctl devices
	local pw
	pw=$("$LAB_PY" -c 'import secrets; print(secrets.token_urlsafe(12))')
	printf '%s\n' "$pw" | $ctl user add admin --role admin >/dev/null || die "could not add the portal user"
	say
	say "== the staff portal: https://$LAB_GW_WORK:$LAB_STAFF_PORT/ (user admin, password $pw),"
	say "   reachable from the approved s1, not from the guest phone g3:"
	lab_http s1 "https://$LAB_GW_WORK:$LAB_STAFF_PORT/login" 3 -k >/dev/null
	say "   s1: GET https://$LAB_GW_WORK:$LAB_STAFF_PORT/login -> $LAB_HTTP_CODE"
	say "   g3: port $LAB_STAFF_PORT on $LAB_GW_WORK: $(lab_tcp_probe g3 "$LAB_GW_WORK" "$LAB_STAFF_PORT")"
	trap - EXIT
	cat <<EOF

== The demo keeps running. Try (copy the alias first):

  alias apgatectl='$BUILD/apgatectl -s $LAB_ADMIN_SOCK'
  apgatectl status
  apgatectl devices --state pending
  apgatectl show $S2
  apgatectl approve $S2 --as personal --owner Aiko --type phone
  apgatectl block $G3
  apgatectl reserve $S2 10.77.0.50
  apgatectl events --follow          # Ctrl-C to stop; do something in another shell

== Look at the network as a device sees it, and at the rules:

  ip netns exec $(lab_dev_ns s2) curl -si http://$LAB_INET_IP/     # pending: a redirect to the captive page
  ip netns exec $(lab_dev_ns g3) curl -s http://$LAB_INET_IP/      # guest: the internet
  ip netns exec $(lab_dev_ns g3) curl -s -m 2 http://$LAB_LAN_IP/  # guest: never the LAN
  ip netns exec $LAB_AP_NS iptables-legacy-save                   # the APGATE_ chains

== The portal (screenshots of every page: tests/artifacts/portal/ after make test):

  ip netns exec $(lab_dev_ns s2) curl -s http://$LAB_GW_WORK:$LAB_CAPTIVE_PORT/            # s2's captive page
  ip netns exec $(lab_dev_ns s2) curl -s http://$LAB_GW_WORK:$LAB_CAPTIVE_PORT/captive-portal/api
  ip netns exec $(lab_dev_ns s1) curl -sk https://$LAB_GW_WORK:$LAB_STAFF_PORT/login        # the staff sign-in

== Add a device (the lab CLI finds this demo by itself):

  $HERE/lab.sh add-work s4 02:00:00:00:04:04 && $HERE/lab.sh sta s4     # 802.1X, ~2 s
  $HERE/lab.sh add-guest g5 02:00:00:00:05:05 && $HERE/lab.sh dhcp g5   # guest DHCP
  $HERE/lab.sh logoff s2          # EAPOL-Logoff: s2 disconnects
  $HERE/lab.sh hostapd-kill9; $HERE/lab.sh hostapd-start   # apgated re-attaches by itself
  $HERE/lab.sh status             # namespaces, PIDs, hostapd's stations

== Logs: $LAB_DIR/apgated.log, hostapd.log, dnsmasq-apgate.log, dev/<name>/wpas.log
== Stop: make demo-stop    (or: $HERE/demo.sh stop)
EOF
}

case $cmd in
start) demo_start ;;
stop) demo_stop ;;
*) echo "usage: $0 start|stop [BUILD]" >&2; exit 2 ;;
esac
