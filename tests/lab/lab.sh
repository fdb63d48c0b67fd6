#!/bin/bash
# apgate namespace lab: real hostapd (driver=wired) with a "work" 802.1X BSS and
# a "guest" open BSS, a shared "air" made of bridges, and one namespace per device
# running a real wpa_supplicant (work) or udhcpc (guest).
#
# Source it from a test (functions below) or run it by hand:
#   tests/lab/lab.sh up                  build a lab with s1, s2 (work) and g3 (guest)
#   tests/lab/lab.sh sta 1|s1            start the supplicant of s1
#   tests/lab/lab.sh dhcp g3             guest g3 does DHCP on ap1
#   tests/lab/lab.sh help                every command
#   tests/lab/lab.sh down
# The CLI finds its lab through $LAB_DIR, else /tmp/apgate-lab/current (written
# by "up"), else the running demo's /tmp/apgate-demo/state.
#
# Topology (every name carries the run's prefix, e.g. "apg-k3Xq9a-"):
#   <p>ap   hostapd: ap0 (work, ieee8021x=1, internal EAP server, EAP-MD5,
#           use_pae_group_addr=0) and ap1 (guest, ieee8021x=0); dnsmasq on ap1;
#           apgated when started.  ap0 = 10.77.0.1/24, ap1 = 10.78.0.1/24.
#   <p>air  bridges airw (work medium) and airg (guest medium), group_fwd_mask=8
#           so 802.1X PAE frames cross them.
#   <p>d-NAME  one per device: veth "eth0" with a fixed MAC, its peer in the air.
# Nothing is created in the caller's namespace: veth pairs are created inside
# the lab namespaces ("ip -n A link add ... peer ... netns B").
#
# Safety: lab_down only signals processes that live in this lab's namespaces
# (checked by namespace inode, by PID), deletes only this lab's namespaces (the
# list written before each is created) and removes only a LAB_DIR carrying the
# marker file this library writes.
#
# Exported for tests: LAB_DIR LAB_PREFIX LAB_AP_NS LAB_AIR_NS LAB_CTRL_DIR
#   LAB_WORK_BSS=ap0 LAB_GUEST_BSS=ap1 LAB_ADMIN_SOCK LAB_APGATED_CONF BUILD
#
# Functions (details above each):
#   lab_require lab_up lab_down lab_trap lab_test_begin lab_load
#   lab_wait_for SECONDS CMD...        poll CMD every 50 ms (LAB_WAITED = time taken)
#   lab_mac N  lab_add_work_device NAME MAC [ID [PW]]  lab_add_guest_device NAME MAC
#   lab_sta_start|lab_sta_stop|lab_sta_logoff|lab_sta_logon|lab_sta_reauth NAME
#   lab_sta_authenticated NAME  lab_wpa_cli NAME ARGS  lab_guest_dhcp NAME [HOST]
#   lab_dhcp_broadcast NAME
#   lab_hostapd_start|lab_hostapd_stop|lab_hostapd_kill9  lab_hostapd_cli BSS ARGS
#   lab_hostapd_authorized BSS MAC  lab_hostapd_has_sta BSS MAC
#   lab_acl_show BSS ACCEPT|DENY  lab_acl_has|lab_acl_lacks BSS ACCEPT|DENY MAC [VLAN]
#   lab_apgated_write_conf [EXTRA]  lab_apgated_start|lab_apgated_stop|lab_apgated_kill9
#   lab_apgated_pid  lab_ctl ARGS  lab_status_json  lab_bss_field|lab_bss_is
#   lab_dev_json MAC  lab_dev_field MAC FIELD  lab_dev_is MAC FIELD VALUE
#   lab_json EXPR  lab_spawn NAME OUT ERR CMD  lab_stop NAME  lab_pid_alive NAME
# Knobs: LAB_KEEP=1 (lab_down leaves everything for inspection),
#   LAB_HOSTAPD_DEBUG=1 / LAB_WPAS_DEBUG=1 (-dd logs), LAB_DNSMASQ=0.

LAB_WORK_BSS=ap0
LAB_GUEST_BSS=ap1
LAB_STAFF_PORT=8443                # staff portal (HTTPS) on the work gateway
LAB_STAFF_HTTP_PORT=8090           # its plain-HTTP redirect
LAB_EAP_SECRET=lab-secret          # password of every "lab-*" identity
LAB_DEV_IF=eth0                    # device-side interface name in each device ns
LAB_CURRENT_FILE=${LAB_CURRENT_FILE:-/tmp/apgate-lab/current}
LAB_ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
# binaries: $APGATE_BUILD (set by tests/run.sh), else $BUILD, else <repo>/build
BUILD=${APGATE_BUILD:-${BUILD:-build}}
case $BUILD in /*) ;; *) BUILD=$LAB_ROOT/$BUILD ;; esac
: "${LAB_ZONES:=0}"                # 1: the zones topology too (see "zones" below)
# 0: no dnsmasq on ap1 (udhcpc then gets no lease). With LAB_ZONES=1 the default
# is 0: the zones' DHCP comes from the test (or from apgated's dnsmasq conf).
if [ "$LAB_ZONES" = 1 ]; then : "${LAB_DNSMASQ:=0}"; else : "${LAB_DNSMASQ:=1}"; fi
export LAB_WORK_BSS LAB_GUEST_BSS BUILD

if [ -x /usr/bin/python3 ]; then LAB_PY=/usr/bin/python3; else LAB_PY=$(command -v python3); fi

_lab_log() { echo "# lab: $*" >&2; }
_lab_die() { echo "# lab: error: $*" >&2; return 1; }

# ---- time and polling -------------------------------------------------------

_lab_now_us() { local t=${EPOCHREALTIME//[!0-9]/}; echo $((10#$t)); }

# seconds ("2", "0.5", "1.25") -> microseconds
_lab_sec_us() {
	local s=$1 int frac
	int=${s%%.*}; [ -n "$int" ] || int=0
	if [[ $s == *.* ]]; then frac=${s#*.}; else frac=; fi
	frac=${frac}000000; frac=${frac:0:6}
	echo $(( 10#$int * 1000000 + 10#$frac ))
}

# lab_wait_for SECONDS CMD [ARGS...]
# Runs CMD every 50 ms until it succeeds (returns 0) or SECONDS have passed
# (returns 1). CMD's output is discarded. LAB_WAITED holds the seconds waited.
lab_wait_for() {
	local limit_us start el rc
	limit_us=$(_lab_sec_us "$1"); shift
	start=$(_lab_now_us)
	while :; do
		"$@" >/dev/null 2>&1 && rc=0 || rc=1
		el=$(( $(_lab_now_us) - start ))
		if [ "$rc" = 0 ] || (( el >= limit_us )); then
			LAB_WAITED=$(printf '%d.%03d' $(( el / 1000000 )) $(( el / 1000 % 1000 )))
			return "$rc"
		fi
		sleep 0.05
	done
}

# ---- processes --------------------------------------------------------------

_lab_ns_inode() { stat -L -c %i "/run/netns/$1" 2>/dev/null; }

# true if PID lives in one of this lab's namespaces
_lab_pid_ours() {
	local pid=$1 ino ns
	[ -n "$pid" ] && [ -d "/proc/$pid" ] || return 1
	ino=$(stat -L -c %i "/proc/$pid/ns/net" 2>/dev/null) || return 1
	[ -f "$LAB_DIR/netns" ] || return 1
	while read -r ns; do
		[ -n "$ns" ] && [ "$(_lab_ns_inode "$ns")" = "$ino" ] && return 0
	done < "$LAB_DIR/netns"
	return 1
}

# lab_spawn NAME OUTFILE ERRFILE CMD... : start CMD in the background, stdout
# appended to OUTFILE, stderr to ERRFILE (may be the same file), detached from
# the terminal (own session) but still a child of this shell; PID in
# $LAB_DIR/pid/NAME.pid and in LAB_LAST_PID. lab_down stops it only if it runs
# in one of the lab's namespaces (wrap CMD in "ip netns exec $LAB_AP_NS").
lab_spawn() {
	local name=$1 out=$2 err=$3; shift 3
	if [[ $- == *m* ]]; then
		"$@" </dev/null >>"$out" 2>>"$err" &
	else
		# without job control the child is no group leader: setsid execs in place,
		# so $! stays the PID of the final program (ip netns exec execs too)
		setsid "$@" </dev/null >>"$out" 2>>"$err" &
	fi
	LAB_LAST_PID=$!
	disown "$LAB_LAST_PID" 2>/dev/null || true   # no "Killed" job notices
	echo "$LAB_LAST_PID" > "$LAB_DIR/pid/$name.pid"
}

_lab_pid() { local f="$LAB_DIR/pid/$1.pid"; [ -f "$f" ] && cat "$f"; }

# lab_pid_alive NAME : the process recorded as NAME is running
lab_pid_alive() { local p; p=$(_lab_pid "$1") && [ -n "$p" ] && ! _lab_gone "$p"; }

# gone = no such process, or a zombie waiting for a parent that is not us
# (the demo's daemons are reparented to PID 1 once demo.sh exits)
_lab_gone() {
	local st
	kill -0 "$1" 2>/dev/null || return 0
	st=$(cut -d' ' -f3 "/proc/$1/stat" 2>/dev/null) || return 0
	[ "$st" = Z ]
}

# _lab_stop NAME SIGNAL [WAIT_SECONDS] : signal the recorded process (only if it
# is in our namespaces) and wait until it is gone; SIGKILL after the wait.
_lab_stop() {
	local name=$1 sig=$2 wait=${3:-5} pid
	pid=$(_lab_pid "$name") || return 0
	rm -f "$LAB_DIR/pid/$name.pid"
	_lab_pid_ours "$pid" || return 0
	kill "-$sig" "$pid" 2>/dev/null || return 0
	lab_wait_for "$wait" _lab_gone "$pid" && return 0
	_lab_log "$name ($pid) ignored SIG$sig for ${wait}s, sending SIGKILL"
	kill -KILL "$pid" 2>/dev/null
	lab_wait_for 2 _lab_gone "$pid"
	return 1                              # it needed SIGKILL
}

# ---- namespaces and links ---------------------------------------------------

_lab_netns_add() {
	echo "$1" >> "$LAB_DIR/netns"      # recorded first: cleanup finds half-made ones
	ip netns add "$1" || return 1
	ip -n "$1" link set lo up
}

# _lab_link NS IFNAME BRIDGE PEER [MAC] : veth IFNAME in NS, PEER in the air on BRIDGE
_lab_link() {
	local ns=$1 ifn=$2 br=$3 peer=$4 mac=${5:-}
	ip -n "$ns" link add "$ifn" ${mac:+address "$mac"} type veth peer name "$peer" netns "$LAB_AIR_NS" || return 1
	ip -n "$LAB_AIR_NS" link set "$peer" master "$br" up || return 1
	ip -n "$ns" link set "$ifn" up
}

# ---- lab lifecycle ----------------------------------------------------------

_lab_set_vars() {
	LAB_AP_NS=${LAB_PREFIX}ap
	LAB_AIR_NS=${LAB_PREFIX}air
	LAB_CTRL_DIR=$LAB_DIR/hostapd
	LAB_ADMIN_SOCK=$LAB_DIR/admin.sock
	LAB_APGATED_CONF=$LAB_DIR/apgate.conf
	LAB_INET_NS=${LAB_PREFIX}inet
	LAB_LAN_NS=${LAB_PREFIX}lan
	export LAB_DIR LAB_PREFIX LAB_AP_NS LAB_AIR_NS LAB_CTRL_DIR LAB_ADMIN_SOCK LAB_APGATED_CONF
	export LAB_ZONES LAB_INET_NS LAB_LAN_NS
}

# lab_load DIR : adopt an existing lab (CLI, demo)
lab_load() {
	[ -f "$1/.apgate-lab" ] || { _lab_die "$1 is not a lab directory"; return 1; }
	LAB_DIR=$1
	LAB_PREFIX=$(cat "$LAB_DIR/prefix")
	if [ -f "$LAB_DIR/zones" ]; then LAB_ZONES=1; else LAB_ZONES=0; fi
	_lab_set_vars
}

# lab_up : fresh LAB_DIR, namespaces, bridges, AP links, hostapd (+ dnsmasq on ap1)
lab_up() {
	local base
	LAB_DIR=$(mktemp -d /tmp/apgate-lab.XXXXXX) || return 1
	base=${LAB_DIR##*.}
	LAB_PREFIX=apg-$base-
	_lab_set_vars
	touch "$LAB_DIR/.apgate-lab"
	echo "$LAB_PREFIX" > "$LAB_DIR/prefix"
	chmod 0755 "$LAB_DIR"
	mkdir -p "$LAB_DIR/pid" "$LAB_DIR/dev" "$LAB_DIR/apgated-client"
	: > "$LAB_DIR/netns"
	_lab_netns_add "$LAB_AP_NS" || return 1
	_lab_netns_add "$LAB_AIR_NS" || return 1
	local br
	for br in airw airg; do
		ip -n "$LAB_AIR_NS" link add "$br" type bridge || return 1
		ip netns exec "$LAB_AIR_NS" sh -c "echo 8 > /sys/class/net/$br/bridge/group_fwd_mask" || return 1
		ip -n "$LAB_AIR_NS" link set "$br" up
	done
	_lab_link "$LAB_AP_NS" "$LAB_WORK_BSS" airw w-ap 02:a0:00:00:00:00 || return 1
	_lab_link "$LAB_AP_NS" "$LAB_GUEST_BSS" airg g-ap 02:a0:00:00:00:01 || return 1
	ip -n "$LAB_AP_NS" addr add 10.77.0.1/24 dev "$LAB_WORK_BSS"
	ip -n "$LAB_AP_NS" addr add 10.78.0.1/24 dev "$LAB_GUEST_BSS"
	if [ "$LAB_ZONES" = 1 ]; then _lab_zones_up || return 1; fi
	_lab_write_hostapd_conf
	lab_hostapd_start || return 1
	if [ "$LAB_DNSMASQ" = 1 ]; then _lab_dnsmasq_start || return 1; fi
	return 0
}

_lab_write_hostapd_conf() {
	cat > "$LAB_DIR/work.conf" <<EOF
interface=$LAB_WORK_BSS
driver=wired
ctrl_interface=$LAB_CTRL_DIR
ieee8021x=1
eapol_version=2
eap_server=1
eap_user_file=$LAB_DIR/eap_user
# unicast EAPOL to the station MAC: no cross-talk between supplicants on one bridge
use_pae_group_addr=0
EOF
	cat > "$LAB_DIR/guest.conf" <<EOF
interface=$LAB_GUEST_BSS
driver=wired
ctrl_interface=$LAB_CTRL_DIR
# open: the first EAPOL frame or DHCP broadcast from a MAC makes a station
ieee8021x=0
EOF
	# every identity "lab-<anything>" authenticates with $LAB_EAP_SECRET (prefix
	# entry: devices added after hostapd started need no reload)
	printf '"lab-"*\tMD5\t"%s"\n' "$LAB_EAP_SECRET" > "$LAB_DIR/eap_user"
}

_lab_hostapd_ping() {
	local b
	for b in "$LAB_WORK_BSS" "$LAB_GUEST_BSS"; do
		[ "$(ip netns exec "$LAB_AP_NS" hostapd_cli -p "$LAB_CTRL_DIR" -i "$b" ping 2>/dev/null)" = PONG ] || return 1
	done
}

# lab_hostapd_start : start hostapd (foreground process, PID recorded), wait until
# both BSS sockets answer PING
lab_hostapd_start() {
	if lab_pid_alive hostapd; then _lab_die "hostapd already running"; return 1; fi
	echo "---- start $(date +%T.%N)" >> "$LAB_DIR/hostapd.log"
	lab_spawn hostapd "$LAB_DIR/hostapd.log" "$LAB_DIR/hostapd.log" ip netns exec "$LAB_AP_NS" \
		hostapd -t ${LAB_HOSTAPD_DEBUG:+-dd} -g "$LAB_DIR/hostapd-global" "$LAB_DIR/work.conf" "$LAB_DIR/guest.conf"
	if ! lab_wait_for 5 _lab_hostapd_ping; then
		_lab_die "hostapd did not answer PING within 5 s; log:"
		sed 's/^/#   /' "$LAB_DIR/hostapd.log" >&2
		return 1
	fi
}

# lab_hostapd_stop : SIGTERM (stations get AP-STA-DISCONNECTED, monitors TERMINATING)
lab_hostapd_stop() { _lab_stop hostapd TERM 5; }
# lab_hostapd_kill9 : SIGKILL (no event reaches any monitor)
lab_hostapd_kill9() { _lab_stop hostapd KILL 2; }

# lab_hostapd_cli BSS ARGS... : hostapd_cli against one BSS socket
lab_hostapd_cli() {
	local b=$1; shift
	ip netns exec "$LAB_AP_NS" hostapd_cli -p "$LAB_CTRL_DIR" -i "$b" "$@"
}

# lab_hostapd_has_sta BSS MAC : hostapd holds a station entry for MAC (any state)
lab_hostapd_has_sta() { lab_hostapd_cli "$1" sta "$2" 2>/dev/null | grep -qi "^$2\$"; }

# lab_hostapd_authorized BSS MAC : hostapd lists MAC as an authorized station
lab_hostapd_authorized() {
	lab_hostapd_cli "$1" sta "$2" 2>/dev/null | grep -q '^flags=.*\[AUTHORIZED\]'
}

# lab_acl_show BSS ACCEPT|DENY : hostapd's MAC list as it prints it ("raw
# ACCEPT_ACL SHOW": hostapd_cli's own accept_acl command sends lower-case
# sub-commands that 2.10 ignores)
lab_acl_show() { lab_hostapd_cli "$1" raw "$2_ACL SHOW" 2>/dev/null; }
# lab_acl_has BSS ACCEPT|DENY MAC [VLAN] : MAC is listed (with VLAN_ID=VLAN if
# given); prints the list otherwise (for check)
lab_acl_has() {
	local out
	out=$(lab_acl_show "$1" "$2")
	if [ -n "${4:-}" ]; then
		grep -qix "$3 VLAN_ID=$4" <<<"$out" && return 0
	else
		grep -qi "^$3\( \|\$\)" <<<"$out" && return 0
	fi
	echo "$1 $2_ACL SHOW: $(tr '\n' '|' <<<"$out") (wanted $3${4:+ VLAN_ID=$4})"
	return 1
}
# lab_acl_lacks BSS ACCEPT|DENY MAC : MAC is not listed
lab_acl_lacks() {
	local out
	out=$(lab_acl_show "$1" "$2")
	grep -qi "^$3\( \|\$\)" <<<"$out" || return 0
	echo "$1 $2_ACL SHOW: $(tr '\n' '|' <<<"$out") (wanted no $3)"
	return 1
}

_lab_dnsmasq_start() {
	lab_spawn dnsmasq "$LAB_DIR/dnsmasq.out" "$LAB_DIR/dnsmasq.out" ip netns exec "$LAB_AP_NS" \
		dnsmasq --keep-in-foreground --port=0 --interface="$LAB_GUEST_BSS" --bind-interfaces \
		--except-interface=lo --dhcp-range=10.78.0.100,10.78.0.200,1h --no-ping \
		--dhcp-leasefile="$LAB_DIR/guest.leases" --pid-file= --user=root \
		--log-facility="$LAB_DIR/dnsmasq.log" --log-dhcp
}

# lab_down : stop everything this lab started, delete its namespaces and LAB_DIR
lab_down() {
	[ -n "${LAB_DIR:-}" ] && [ -f "$LAB_DIR/.apgate-lab" ] || return 0
	local f pid ns pids=()
	if [ "${LAB_KEEP:-0}" = 1 ]; then _lab_log "LAB_KEEP=1: leaving $LAB_DIR running; clean up with: LAB_DIR=$LAB_DIR $LAB_ROOT/tests/lab/lab.sh down"; return 0; fi
	# recorded processes first (SIGTERM), then whatever else runs in our namespaces
	for f in "$LAB_DIR"/pid/*.pid; do
		[ -f "$f" ] || continue
		pid=$(cat "$f")
		_lab_pid_ours "$pid" && { kill -TERM "$pid" 2>/dev/null; pids+=("$pid"); }
	done
	while read -r ns; do
		[ -n "$ns" ] && [ -e "/run/netns/$ns" ] || continue
		for pid in $(ip netns pids "$ns" 2>/dev/null); do
			kill -TERM "$pid" 2>/dev/null; pids+=("$pid")
		done
	done < "$LAB_DIR/netns"
	for pid in "${pids[@]}"; do
		lab_wait_for 2 _lab_gone "$pid" || kill -KILL "$pid" 2>/dev/null
	done
	for pid in "${pids[@]}"; do lab_wait_for 2 _lab_gone "$pid"; done
	while read -r ns; do
		[ -n "$ns" ] && [ -e "/run/netns/$ns" ] && ip netns del "$ns"
	done < "$LAB_DIR/netns"
	case $LAB_DIR in
	/tmp/apgate-lab.??????) rm -rf -- "$LAB_DIR" ;;
	*) _lab_log "not removing unexpected LAB_DIR $LAB_DIR" ;;
	esac
	if [ -f "$LAB_CURRENT_FILE" ] && [ "$(cat "$LAB_CURRENT_FILE")" = "$LAB_DIR" ]; then
		rm -f "$LAB_CURRENT_FILE"
	fi
	LAB_DIR=
}

# lab_stop NAME : stop a process started with lab_spawn (SIGTERM, then SIGKILL)
lab_stop() { _lab_stop "$1" TERM 3; }

_lab_exit() {
	lab_down
	if declare -F tap_cleanup >/dev/null; then tap_cleanup; fi
}

# lab_trap : install cleanup for a test script (EXIT, and INT/TERM turned into exit)
lab_trap() {
	trap '_lab_exit' EXIT
	trap 'exit 130' INT
	trap 'exit 143' TERM
}

# ---- devices ------------------------------------------------------------------

# lab_mac N : the deterministic MAC of device number N (02:00:00:00:0N:0N)
lab_mac() { printf '02:00:00:00:%02x:%02x\n' "$1" "$1"; }

lab_dev_ns() { echo "${LAB_PREFIX}d-$1"; }
lab_dev_mac() { cat "$LAB_DIR/dev/$1/mac"; }

_lab_add_device() { # NAME MAC BRIDGE KIND
	local name=$1 mac=$2 br=$3 kind=$4 d n port ns
	d=$LAB_DIR/dev/$name
	[ -e "$d" ] && { _lab_die "device $name exists"; return 1; }
	[[ $name =~ ^[A-Za-z0-9_]{1,12}$ ]] || { _lab_die "device name '$name': 1-12 of [A-Za-z0-9_]"; return 1; }
	mkdir -p "$d"
	n=$(ls "$LAB_DIR/dev" | wc -l)
	port=p$n-$name; port=${port:0:15}
	ns=$(lab_dev_ns "$name")
	echo "$mac" > "$d/mac"; echo "$kind" > "$d/kind"; echo "$ns" > "$d/ns"
	_lab_netns_add "$ns" || return 1
	_lab_link "$ns" "$LAB_DEV_IF" "$br" "$port" "$mac" || return 1
	_lab_pae_filter "$port"
	# Wi-Fi client isolation (hostapd ap_isolate) of the guest SSID: guest
	# devices cannot reach each other over the medium, only through the AP
	if [ "$LAB_ZONES" = 1 ] && [ "$br" = airg ]; then
		ip -n "$LAB_AIR_NS" link set dev "$port" type bridge_slave isolated on || return 1
	fi
}

# On Wi-Fi a station never hears another station's EAPOL. On the air bridge it
# would: supplicants send EAPOL to the PAE group address 01:80:c2:00:00:03,
# which group_fwd_mask=8 floods to every port, and a supplicant that receives
# another one's EAP-Response restarts its own state machine and then waits for
# authWhile/startPeriod (30 s; measured: two supplicants started together, the
# second needed 5-31 s). So frames to the PAE group address are dropped on
# the way out of the bridge to a device port; hostapd answers by unicast
# (use_pae_group_addr=0) and still gets every EAPOL frame on w-ap.
# Only tc from iproute2 is needed; act_gact ("action drop") is missing on the CI
# kernel, so the frames are redirected to the air namespace's lo, which drops
# them (no listener).
_lab_pae_filter() {
	local port=$1
	tc -n "$LAB_AIR_NS" qdisc add dev "$port" clsact &&
	tc -n "$LAB_AIR_NS" filter add dev "$port" egress protocol 0x888e prio 1 u32 \
		match u16 0x0180 0xffff at -14 match u16 0xc200 0xffff at -12 match u16 0x0003 0xffff at -10 \
		action mirred egress redirect dev lo ||
		_lab_log "warning: no PAE filter on $port (tc clsact/u32): simultaneous supplicants may hear each other"
}

# lab_add_work_device NAME MAC [IDENTITY [PASSWORD]]
# Namespace + veth on the work medium + wpa_supplicant config (EAP-MD5, identity
# lab-NAME, which hostapd's eap_user accepts). A different PASSWORD makes a
# station that fails authentication.
lab_add_work_device() {
	local name=$1 mac=$2 id=${3:-lab-$1} pw=${4:-$LAB_EAP_SECRET} d
	_lab_add_device "$name" "$mac" airw work || return 1
	d=$LAB_DIR/dev/$name
	mkdir -p "$d/wpas"
	cat > "$d/wpas.conf" <<EOF
ctrl_interface=$d/wpas
ap_scan=0
network={
	key_mgmt=IEEE8021X
	eap=MD5
	identity="$id"
	password="$pw"
	eapol_flags=0
}
EOF
}

# lab_add_guest_device NAME MAC : namespace + veth on the guest medium
lab_add_guest_device() { _lab_add_device "$1" "$2" airg guest; }

# lab_sta_start NAME : start the device's wpa_supplicant (returns at once; the
# supplicant sends EAPOL-Start after ~2 s, then EAP-MD5 takes a few ms)
lab_sta_start() {
	local name=$1 d=$LAB_DIR/dev/$1
	[ -f "$d/wpas.conf" ] || { _lab_die "$name is no work device"; return 1; }
	if lab_pid_alive "wpas-$name"; then _lab_die "supplicant of $name already running"; return 1; fi
	echo "---- start $(date +%T.%N)" >> "$d/wpas.log"
	lab_spawn "wpas-$name" "$d/wpas.log" "$d/wpas.log" ip netns exec "$(cat "$d/ns")" \
		wpa_supplicant -t ${LAB_WPAS_DEBUG:+-dd} -D wired -i "$LAB_DEV_IF" -c "$d/wpas.conf"
}

# lab_sta_stop NAME : kill the supplicant by PID. Sends nothing to hostapd (wired
# has no link-level leave and the supplicant sends no EAPOL-Logoff on exit):
# hostapd keeps the station authorized.
lab_sta_stop() { _lab_stop "wpas-$1" TERM 3; }

# lab_wpa_cli NAME ARGS... : wpa_cli against the device's supplicant
lab_wpa_cli() {
	local d=$LAB_DIR/dev/$1; shift
	ip netns exec "$(cat "$d/ns")" wpa_cli -p "$d/wpas" -i "$LAB_DEV_IF" "$@"
}

# lab_sta_authenticated NAME : the supplicant reports EAP success
lab_sta_authenticated() { lab_wpa_cli "$1" status 2>/dev/null | grep -q '^suppPortStatus=Authorized'; }

# lab_sta_logoff NAME : EAPOL-Logoff (hostapd: AP-STA-DISCONNECTED)
lab_sta_logoff() { lab_wpa_cli "$1" logoff | grep -q '^OK'; }
lab_sta_logon() { lab_wpa_cli "$1" logon | grep -q '^OK'; }
# lab_sta_reauth NAME : make the station authenticate again now, e.g. towards a
# restarted hostapd that forgot it. An authenticated supplicant gets
# "reauthenticate" (EAPOL-Start at once, ~20 ms to AP-STA-CONNECTED); any other
# gets logoff + logon (first EAPOL-Start after startWhen = 2 s).
# Measured pitfall: logoff + logon towards a hostapd that still holds the
# station (it keeps a logged-off station 5 s as "deauthenticated" and drops its
# EAPOL frames) costs startPeriod = 30 s; wait until lab_hostapd_has_sta fails.
lab_sta_reauth() {
	if lab_wpa_cli "$1" status 2>/dev/null | grep -q '^Supplicant PAE state=AUTHENTICATED'; then
		lab_wpa_cli "$1" reauthenticate | grep -q '^OK'
	else
		lab_sta_logoff "$1" && lab_sta_logon "$1"
	fi
}

# lab_guest_dhcp NAME [HOSTNAME] : one DHCP exchange from the guest device
# (busybox udhcpc, broadcast DISCOVER -> hostapd makes a station on ap1). With
# dnsmasq the lease is configured on eth0 and written to dev/NAME/ip.
lab_guest_dhcp() {
	local name=$1 host=${2:-$1} d=$LAB_DIR/dev/$1 script
	script=$LAB_DIR/udhcpc.script
	[ -f "$script" ] || {
		cat > "$script" <<'EOF'
#!/bin/sh
case "$1" in
bound|renew)
	ip addr flush dev "$interface"
	ip addr add "$ip/${mask:-24}" dev "$interface"
	echo "$ip" > "$LAB_DEV_DIR/ip" ;;
deconfig) ip addr flush dev "$interface" ;;
esac
exit 0
EOF
		chmod 0755 "$script"; }
	# -t 3 -T 1: three DISCOVERs one second apart; -n: fail if no lease
	LAB_DEV_DIR=$d timeout 10 ip netns exec "$(cat "$d/ns")" \
		busybox udhcpc -f -n -q -t 3 -T 1 -i "$LAB_DEV_IF" -x "hostname:$host" -s "$script" \
		>>"$d/udhcpc.log" 2>&1
}

# lab_dhcp_broadcast NAME : start a DHCP attempt without waiting for a lease
lab_dhcp_broadcast() {
	local d=$LAB_DIR/dev/$1
	timeout 3 ip netns exec "$(cat "$d/ns")" busybox udhcpc -f -n -q -t 1 -T 1 -i "$LAB_DEV_IF" \
		-s /bin/true >>"$d/udhcpc.log" 2>&1 || true
}

# ---- zones (LAB_ZONES=1) ----------------------------------------------------------
# Opt-in topology for zone enforcement (set LAB_ZONES=1 before sourcing, or in
# the environment of "lab.sh up"); without it nothing below is created.
#
#   <p>air   + bridge airo: the onboarding medium (no hostapd on it: the lab's
#            stand-in for the work SSID's onboarding VLAN); guest device ports
#            on airg are "isolated" (= hostapd ap_isolate: guests only reach the AP)
#   <p>ap    + ap2 10.79.0.1/24 fd79::1/64 (onboarding), up0 198.51.100.1/24
#            2001:db8:100::1/64 (uplink), lan0 192.168.50.1/24 fd50::1/64;
#            ap0 fd77::1/64, ap1 fd78::1/64; ip_forward=1 and IPv6 forwarding=1
#            (inside the namespace); default routes via the internet host
#   <p>inet  eth0 198.51.100.10/24 2001:db8:100::10/64: busybox httpd on 80
#            (body "internet-ok") and on 443 (a TCP listener, no TLS), dnsmasq DNS
#            answering every name with 198.51.100.10 / 2001:db8:100::10.
#            IPv4: NO route back to the zones (apgated's masquerade must NAT;
#            lab_zones_route_back adds one for tests without apgated).
#            IPv6: fd00::/8 routed back to the AP (no NAT66 needed).
#   <p>lan   eth0 192.168.50.10/24 fd50::10/64, default via the AP; busybox
#            httpd on 80 (body "lan-ok")
LAB_ONB_IF=ap2
LAB_UPLINK_IF=up0
LAB_LAN_IF=lan0
LAB_INET_IP=198.51.100.10
LAB_INET_IP6=2001:db8:100::10
LAB_LAN_IP=192.168.50.10
LAB_LAN_IP6=fd50::10
LAB_GW_WORK=10.77.0.1 LAB_GW_GUEST=10.78.0.1 LAB_GW_ONB=10.79.0.1
LAB_GW6_WORK=fd77::1 LAB_GW6_GUEST=fd78::1 LAB_GW6_ONB=fd79::1
LAB_CAPTIVE_PORT=8080
export LAB_ONB_IF LAB_UPLINK_IF LAB_LAN_IF LAB_INET_IP LAB_INET_IP6 LAB_LAN_IP LAB_LAN_IP6 LAB_CAPTIVE_PORT

_lab_zones_up() {
	local ap=$LAB_AP_NS inet=$LAB_INET_NS lan=$LAB_LAN_NS
	touch "$LAB_DIR/zones"
	_lab_netns_add "$inet" || return 1
	_lab_netns_add "$lan" || return 1
	ip -n "$LAB_AIR_NS" link add airo type bridge && ip -n "$LAB_AIR_NS" link set airo up || return 1
	_lab_link "$ap" "$LAB_ONB_IF" airo o-ap 02:a0:00:00:00:02 || return 1
	ip -n "$ap" link add "$LAB_UPLINK_IF" address 02:a0:00:00:01:00 type veth peer name eth0 netns "$inet" || return 1
	ip -n "$ap" link add "$LAB_LAN_IF" address 02:a0:00:00:02:00 type veth peer name eth0 netns "$lan" || return 1
	ip -n "$ap" link set "$LAB_UPLINK_IF" up && ip -n "$ap" link set "$LAB_LAN_IF" up &&
	ip -n "$inet" link set eth0 up && ip -n "$lan" link set eth0 up || return 1
	# nodad: IPv6 addresses usable at once (no 1-2 s of "tentative")
	ip -n "$ap" addr add 10.79.0.1/24 dev "$LAB_ONB_IF" &&
	ip -n "$ap" addr add fd77::1/64 dev "$LAB_WORK_BSS" nodad &&
	ip -n "$ap" addr add fd78::1/64 dev "$LAB_GUEST_BSS" nodad &&
	ip -n "$ap" addr add fd79::1/64 dev "$LAB_ONB_IF" nodad &&
	ip -n "$ap" addr add 198.51.100.1/24 dev "$LAB_UPLINK_IF" &&
	ip -n "$ap" addr add 2001:db8:100::1/64 dev "$LAB_UPLINK_IF" nodad &&
	ip -n "$ap" addr add 192.168.50.1/24 dev "$LAB_LAN_IF" &&
	ip -n "$ap" addr add fd50::1/64 dev "$LAB_LAN_IF" nodad &&
	ip -n "$ap" route add default via "$LAB_INET_IP" &&
	ip -n "$ap" -6 route add default via "$LAB_INET_IP6" &&
	ip -n "$inet" addr add "$LAB_INET_IP/24" dev eth0 &&
	ip -n "$inet" addr add "$LAB_INET_IP6/64" dev eth0 nodad &&
	ip -n "$inet" -6 route add fd00::/8 via 2001:db8:100::1 &&
	ip -n "$lan" addr add "$LAB_LAN_IP/24" dev eth0 &&
	ip -n "$lan" addr add "$LAB_LAN_IP6/64" dev eth0 nodad &&
	ip -n "$lan" route add default via 192.168.50.1 &&
	ip -n "$lan" -6 route add default via fd50::1 || return 1
	ip netns exec "$ap" sysctl -q -w net.ipv4.ip_forward=1 net.ipv6.conf.all.forwarding=1 || return 1
	_lab_zones_servers_start
}

# _lab_listening NS tcp|udp PORT : something listens on PORT in NS
_lab_listening() { ip netns exec "$1" ss -Hln --"$2" "sport = :$3" 2>/dev/null | grep -q .; }

_lab_zones_servers_start() {
	local w=$LAB_DIR/www
	mkdir -p "$w/inet" "$w/lan"
	printf 'internet-ok' > "$w/inet/index.html"
	printf 'lan-ok' > "$w/lan/index.html"
	lab_spawn inet-http "$LAB_DIR/inet.log" "$LAB_DIR/inet.log" ip netns exec "$LAB_INET_NS" \
		busybox httpd -f -p 80 -h "$w/inet"
	lab_spawn inet-443 "$LAB_DIR/inet.log" "$LAB_DIR/inet.log" ip netns exec "$LAB_INET_NS" \
		busybox httpd -f -p 443 -h "$w/inet"
	lab_spawn inet-dns "$LAB_DIR/inet.log" "$LAB_DIR/inet.log" ip netns exec "$LAB_INET_NS" \
		dnsmasq --keep-in-foreground --no-resolv --no-hosts --bind-interfaces \
		--listen-address="$LAB_INET_IP" --listen-address="$LAB_INET_IP6" \
		--address="/#/$LAB_INET_IP" --address="/#/$LAB_INET_IP6" \
		--pid-file= --user=root --log-facility="$LAB_DIR/inet-dns.log" --log-queries
	lab_spawn lan-http "$LAB_DIR/lan.log" "$LAB_DIR/lan.log" ip netns exec "$LAB_LAN_NS" \
		busybox httpd -f -p 80 -h "$w/lan"
	lab_wait_for 3 _lab_listening "$LAB_INET_NS" tcp 80 &&
	lab_wait_for 3 _lab_listening "$LAB_INET_NS" tcp 443 &&
	lab_wait_for 3 _lab_listening "$LAB_INET_NS" udp 53 &&
	lab_wait_for 3 _lab_listening "$LAB_LAN_NS" tcp 80 ||
		{ _lab_die "internet/LAN servers not listening within 3 s; see $LAB_DIR/inet.log, lan.log"; return 1; }
}

# lab_zones_route_back [del] : (tests without apgated's masquerade only) route
# 10.0.0.0/8 from the internet host back to the AP, so that routing alone works
lab_zones_route_back() {
	if [ "${1:-}" = del ]; then ip -n "$LAB_INET_NS" route del 10.0.0.0/8 via 198.51.100.1
	else ip -n "$LAB_INET_NS" route replace 10.0.0.0/8 via 198.51.100.1; fi
}

# lab_add_wired_device NAME MAC : a device plugged straight into the work medium
# (airw) that runs no 802.1X; its DHCP broadcast still makes hostapd create an
# (unauthorized) station on ap0, and nothing at layer 2 stops its traffic
lab_add_wired_device() { _lab_add_device "$1" "$2" airw wired; }

# lab_add_onboarding_device NAME MAC : a device on the onboarding medium (ap2)
lab_add_onboarding_device() {
	[ "$LAB_ZONES" = 1 ] || { _lab_die "no onboarding medium: the lab was not brought up with LAB_ZONES=1"; return 1; }
	_lab_add_device "$1" "$2" airo onboarding
}

_lab_write_dhcp_script() {
	cat > "$1" <<'EOF'
#!/bin/sh
# udhcpc lease script of the zones lab: IPv4 address, default route, DNS servers
case "$1" in
bound|renew)
	ip -4 addr flush dev "$interface"
	ip addr add "$ip/${mask:-24}" dev "$interface"
	for r in $router; do ip route replace default via "$r" dev "$interface"; break; done
	echo "$ip" > "$LAB_DEV_DIR/ip"
	echo "${router%% *}" > "$LAB_DEV_DIR/router"
	echo "$dns" > "$LAB_DEV_DIR/dns" ;;
deconfig) ip -4 addr flush dev "$interface" ;;
esac
exit 0
EOF
	chmod 0755 "$1"
}

# lab_dhcp NAME [HOSTNAME [VENDOR_CLASS]] : one DHCP exchange (busybox udhcpc,
# 3 DISCOVERs 1 s apart, <= 10 s) from any device; the lease script sets the
# address and the default route and writes dev/NAME/{ip,router,dns}. HOSTNAME
# (option 12, default NAME; "" sends none) and VENDOR_CLASS (option 60) go out
# verbatim, whatever characters they hold (the hostname as hex: udhcpc's
# "-x hostname:TEXT" cuts TEXT at the first space or comma). Exit 0 = lease.
# Measured: dnsmasq passes option 12 to its lease script in
# DNSMASQ_SUPPLIED_HOSTNAME cut at the first "=" (helper.c: no "=" in values).
lab_dhcp() {
	local name=$1 host=${2-$1} vendor=${3:-} d=$LAB_DIR/dev/$1 script=$LAB_DIR/udhcpc-zone.script args
	[ -d "$d" ] || { _lab_die "no device $name"; return 1; }
	[ -f "$script" ] || _lab_write_dhcp_script "$script"
	rm -f "$d/ip" "$d/router" "$d/dns"
	args=(-f -n -q -t 3 -T 1 -i "$LAB_DEV_IF" -s "$script")
	[ -z "$host" ] || args+=(-x "0x0c:$(printf '%s' "$host" | od -An -tx1 | tr -d ' \n')")
	[ -z "$vendor" ] || args+=(-V "$vendor")
	LAB_DEV_DIR=$d timeout 10 ip netns exec "$(cat "$d/ns")" busybox udhcpc "${args[@]}" >>"$d/udhcpc.log" 2>&1 &&
		[ -s "$d/ip" ]
}

# lab_peer_via_ap NAME PEER : NAME sends to PEER's leased address through its
# router (host route, ICMP redirects ignored), as with proxy ARP on an isolated
# guest SSID; call it both ways. The firewall then sees the hairpin traffic.
lab_peer_via_ap() {
	local ns; ns=$(lab_dev_ns "$1")
	ip netns exec "$ns" sysctl -q -w net.ipv4.conf.all.accept_redirects=0 net.ipv4.conf.eth0.accept_redirects=0 &&
	ip -n "$ns" route replace "$(lab_dev_ip "$2")/32" via "$(cat "$LAB_DIR/dev/$1/router")" dev "$LAB_DEV_IF"
}

# lab_dev_ip NAME : the device's leased IPv4 address (empty if none)
lab_dev_ip() { cat "$LAB_DIR/dev/$1/ip" 2>/dev/null; }

# lab_dev_addr6 NAME : a static IPv6 address in the device's medium's prefix
# (work/wired fd77::, guest fd78::, onboarding fd79::; host part 0x100 + the
# MAC's last byte) and a default route via the zone's gateway ::1; prints it.
# (Static, so that tests do not depend on router advertisements.)
lab_dev_addr6() {
	local d=$LAB_DIR/dev/$1 p mac a
	case $(cat "$d/kind") in work|wired) p=fd77 ;; guest) p=fd78 ;; onboarding) p=fd79 ;; *) return 1 ;; esac
	mac=$(cat "$d/mac")
	a=$p::$(printf %x $(( 0x100 + 0x${mac##*:} )))
	ip -n "$(cat "$d/ns")" -6 addr replace "$a/64" dev "$LAB_DEV_IF" nodad &&
	ip -n "$(cat "$d/ns")" -6 route replace default via "$p::1" dev "$LAB_DEV_IF" || return 1
	echo "$a" > "$d/ip6"; echo "$a"
}

# ---- probes (bounded in time; run inside the device's namespace) --------------------

# lab_tcp_probe DEV IP PORT [SECONDS=2] : connect() once; prints
#   open        the handshake completed
#   refused     a RST came back (ECONNREFUSED: closed port, REJECT --reject-with tcp-reset)
#   timeout     nothing came back within SECONDS (DROP)
#   unreachable an ICMP error or no ARP/ND answer (EHOSTUNREACH/ENETUNREACH/...)
# Always exits 0 (unless no such device); IPv6 when IP contains ':'.
lab_tcp_probe() {
	local d=$LAB_DIR/dev/$1 ip=$2 port=$3 secs=${4:-2} r
	[ -f "$d/ns" ] || { _lab_die "no device $1"; return 1; }
	r=$(timeout "$(( ${secs%.*} + 3 ))" ip netns exec "$(cat "$d/ns")" "$LAB_PY" -c '
import errno, socket, sys
host, port, t = sys.argv[1], int(sys.argv[2]), float(sys.argv[3])
s = socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET, socket.SOCK_STREAM)
s.settimeout(t)
try:
    s.connect((host, port))
    print("open")
except socket.timeout:
    print("timeout")
except ConnectionRefusedError:
    print("refused")
except OSError as e:
    if e.errno in (errno.EHOSTUNREACH, errno.ENETUNREACH, errno.EACCES, errno.EPERM, errno.EADDRNOTAVAIL):
        print("unreachable")
    else:
        print("error-" + errno.errorcode.get(e.errno, str(e.errno)))
' "$ip" "$port" "$secs" 2>/dev/null)
	echo "${r:-timeout}"
}

# lab_tcp_is DEV IP PORT RESULT [SECONDS] : lab_tcp_probe gives RESULT (for check:
# prints what it got otherwise). RESULT "!open" = anything but open.
lab_tcp_is() {
	local r; r=$(lab_tcp_probe "$1" "$2" "$3" "${5:-2}")
	if [ "$4" = '!open' ]; then [ "$r" != open ] && return 0
	else [ "$r" = "$4" ] && return 0; fi
	echo "$1 -> $2 port $3: $r (expected $4)"
	return 1
}

# lab_ping DEV IP [SECONDS=1] : one echo request (busybox ping/ping6 by the
# address family), exit 0 if answered within SECONDS
lab_ping() {
	local d=$LAB_DIR/dev/$1 ip=$2 secs=${3:-1} p=ping
	[[ $ip == *:* ]] && p=ping6
	timeout "$(( secs + 2 ))" ip netns exec "$(cat "$d/ns")" busybox "$p" -c 1 -W "$secs" "$ip" >/dev/null 2>&1
}
lab_ping6() { lab_ping "$@"; }

# lab_resolve DEV NAME [SERVER [a|aaaa]] : ask SERVER (default: the first DNS
# server of the device's DHCP lease) from the device's namespace (busybox
# nslookup, <= 4 s); prints the first address of the answer, exit 1 if none.
# (Programs in a device namespace would read the host's /etc/resolv.conf, so
# the lab resolves names itself and hands the address to curl.)
lab_resolve() {
	local d=$LAB_DIR/dev/$1 name=$2 server=${3:-} type=${4:-a}
	[ -n "$server" ] || server=$(awk '{print $1; exit}' "$d/dns" 2>/dev/null)
	[ -n "$server" ] || { echo "no DNS server for $1 (no lease with option 6?)"; return 1; }
	timeout 4 ip netns exec "$(cat "$d/ns")" busybox nslookup -type="$type" "$name" "$server" 2>&1 |
		awk '/^Name:/ {n = 1} n && /^Address:/ {print $2; f = 1; exit} END {exit !f}'
}

# lab_http DEV URL [SECONDS=3] [CURL_ARGS...] : one HTTP request with curl from
# the device (no redirects followed, no proxy). Prints "CODE LOCATION" then the
# body; sets LAB_HTTP_CODE (000 = no HTTP answer), LAB_HTTP_LOCATION (raw
# Location header) and LAB_HTTP_BODY when run in the caller's shell. A host
# name in URL is resolved with lab_resolve (the device's DHCP DNS server) and
# passed with --resolve. Exit 0 if an HTTP answer came, 1 otherwise.
lab_http() {
	local dev=$1 url=$2 secs=${3:-3} d=$LAB_DIR/dev/$1 rest hp host port a out args=()
	shift; shift; [ $# -gt 0 ] && shift
	LAB_HTTP_CODE=000 LAB_HTTP_LOCATION= LAB_HTTP_BODY=
	rest=${url#*://}; hp=${rest%%/*}
	if [[ $hp != \[* ]]; then
		host=${hp%%:*}
		if [[ $hp == *:* ]]; then port=${hp##*:}; elif [[ $url == https:* ]]; then port=443; else port=80; fi
		if ! [[ $host =~ ^[0-9.]+$ ]]; then
			a=$(lab_resolve "$dev" "$host") || {
				LAB_HTTP_BODY="(lab: could not resolve $host: ${a:-no answer})"
				printf '000 \n%s\n' "$LAB_HTTP_BODY"; return 1; }
			args+=(--resolve "$host:$port:$a")
		fi
	fi
	rm -f "$d/http.body"
	out=$(timeout "$(( secs + 3 ))" ip netns exec "$(cat "$d/ns")" curl -s -g --noproxy '*' \
		--connect-timeout "$secs" --max-time "$(( secs + 1 ))" -o "$d/http.body" \
		-w '%{http_code} %header{location}' "${args[@]}" "$@" "$url" 2>/dev/null)
	LAB_HTTP_CODE=${out%% *}; [ -n "$LAB_HTTP_CODE" ] || LAB_HTTP_CODE=000
	[[ $out == *' '* ]] && LAB_HTTP_LOCATION=${out#* }
	LAB_HTTP_BODY=$(cat "$d/http.body" 2>/dev/null)
	printf '%s %s\n%s\n' "$LAB_HTTP_CODE" "$LAB_HTTP_LOCATION" "$LAB_HTTP_BODY"
	[ "$LAB_HTTP_CODE" != 000 ]
}

# lab_http_is DEV URL CODE [BODY] : the answer has CODE (and exactly BODY);
# prints what came otherwise (for check)
lab_http_is() {
	lab_http "$1" "$2" >/dev/null
	if [ "$LAB_HTTP_CODE" = "$3" ] && { [ $# -lt 4 ] || [ "$LAB_HTTP_BODY" = "$4" ]; }; then return 0; fi
	echo "$1 GET $2: $LAB_HTTP_CODE${LAB_HTTP_LOCATION:+ Location: $LAB_HTTP_LOCATION} body: $(printf '%s' "$LAB_HTTP_BODY" | head -c 200)"
	return 1
}

# lab_http_not DEV URL BODY : no answer with exactly BODY (e.g. "internet-ok")
lab_http_not() {
	lab_http "$1" "$2" 2 >/dev/null
	[ "$LAB_HTTP_BODY" != "$3" ] && return 0
	echo "$1 GET $2: $LAB_HTTP_CODE, body $3"
	return 1
}

# ---- apgated with zones ---------------------------------------------------------------

# lab_portal_conf : the [portal] section of a lab with zones: the files from
# the source tree, the staff face on $LAB_STAFF_PORT (HTTPS) and
# $LAB_STAFF_HTTP_PORT, its certificate made in $LAB_DIR on first start
lab_portal_conf() {
	printf '[portal]\ndir = %s\nhttps_port = %s\nhttp_port = %s\ncert = %s\nkey = %s\n' \
		"$LAB_ROOT/portal" "$LAB_STAFF_PORT" "$LAB_STAFF_HTTP_PORT" "$LAB_DIR/portal.crt" "$LAB_DIR/portal.key"
}

# lab_apgated_write_zones_conf [EXTRA_LINES] : lab_apgated_write_conf plus
# [zone work|guest|onboarding], [network] (uplink up0, masquerade, the LAN,
# captive port 8080) and [dnsmasq] with every file in $LAB_DIR; the lease
# helper is $LAB_DHCP_SCRIPT (default $BUILD/apgate-dhcp-script)
lab_apgated_write_zones_conf() {
	LAB_DNSMASQ_CONF=$LAB_DIR/dnsmasq-apgate.conf
	LAB_DNSMASQ_PIDFILE=$LAB_DIR/dnsmasq-apgate.pid
	lab_apgated_write_conf "
[zone work]
interface = $LAB_WORK_BSS
address = 10.77.0.1/24

[zone guest]
interface = $LAB_GUEST_BSS
address = 10.78.0.1/24

[zone onboarding]
interface = $LAB_ONB_IF
address = 10.79.0.1/24

[network]
uplink = $LAB_UPLINK_IF
masquerade = yes
lan = 192.168.50.0/24
captive_port = $LAB_CAPTIVE_PORT
$(lab_portal_conf)

[dnsmasq]
conf_file = $LAB_DNSMASQ_CONF
hosts_file = $LAB_DIR/dnsmasq-apgate.hosts
pid_file = $LAB_DNSMASQ_PIDFILE
lease_file = $LAB_DIR/dnsmasq-apgate.leases
script = ${LAB_DHCP_SCRIPT:-$BUILD/apgate-dhcp-script}
query_log = $LAB_DIR/dnsmasq-apgate.log
${1:-}"
}

# lab_zones_dnsmasq_start [SECONDS=5] : wait until apgated has written its
# dnsmasq conf_file, then start dnsmasq -k -C conf_file in the AP namespace
# (after hostapd: see platform notes D on UDP/67). Added on the command line:
# --no-resolv --server=<the internet DNS 198.51.100.10> (the lab's upstream),
# and --pid-file=<pid_file> / --user=root unless the conf sets them.
# APGATE_SOCKET=$LAB_ADMIN_SOCK in its environment: the lease helper
# (apgate-dhcp-script) finds the lab's apgated through it.
lab_zones_dnsmasq_start() {
	local conf=${LAB_DNSMASQ_CONF:-$LAB_DIR/dnsmasq-apgate.conf} args
	lab_wait_for "${1:-5}" test -s "$conf" || { _lab_die "apgated wrote no $conf"; return 1; }
	args=(--keep-in-foreground -C "$conf" --no-resolv --server="$LAB_INET_IP")
	grep -q '^[[:space:]]*pid-file' "$conf" || args+=(--pid-file="${LAB_DNSMASQ_PIDFILE:-$LAB_DIR/dnsmasq-apgate.pid}")
	grep -q '^[[:space:]]*user' "$conf" || args+=(--user=root)
	# apgated's conf names its query log (log-queries=extra, [dnsmasq] query_log)
	# when DNS blocking is on; DHCP is logged there too
	grep -q '^[[:space:]]*log-facility' "$conf" || args+=(--log-facility="$LAB_DIR/dnsmasq-apgate.log" --log-queries)
	args+=(--log-dhcp)
	lab_spawn dnsmasq-apgate "$LAB_DIR/dnsmasq-apgate.out" "$LAB_DIR/dnsmasq-apgate.out" \
		ip netns exec "$LAB_AP_NS" env APGATE_SOCKET="$LAB_ADMIN_SOCK" dnsmasq "${args[@]}"
	sleep 0.2
	lab_pid_alive dnsmasq-apgate || { _lab_die "dnsmasq -C $conf exited:"; sed 's/^/#   /' "$LAB_DIR/dnsmasq-apgate.out" >&2; return 1; }
}

# lab_zones_dnsmasq_kill9 : SIGKILL the dnsmasq of lab_zones_dnsmasq_start
# (its pid file stays behind, naming a dead process)
lab_zones_dnsmasq_kill9() { _lab_stop dnsmasq-apgate KILL 2; }

# lab_http_redirects DEV URL GATEWAY : a 3xx answer whose Location points at
# GATEWAY's captive port (http[s]://GATEWAY:$LAB_CAPTIVE_PORT[/...]); prints
# what came otherwise
lab_http_redirects() {
	local re="^https?://${3//./\\.}:$LAB_CAPTIVE_PORT([/?#]|\$)"
	lab_http "$1" "$2" >/dev/null
	if [[ $LAB_HTTP_CODE == 3?? ]] && [[ $LAB_HTTP_LOCATION =~ $re ]]; then return 0; fi
	echo "$1 GET $2: $LAB_HTTP_CODE${LAB_HTTP_LOCATION:+ Location: $LAB_HTTP_LOCATION} body: $(printf '%s' "$LAB_HTTP_BODY" | head -c 200) (expected 3xx to http://$3:$LAB_CAPTIVE_PORT/)"
	return 1
}

# lab_zones_test_begin [EXTRA_CONF] : for the enforcement tests (LAB_ZONES=1 set
# before sourcing): skip (77) unless the lab and iptables-legacy can run; trap;
# lab up; apgated with lab_apgated_write_zones_conf; dnsmasq on its conf
lab_zones_test_begin() {
	[ "$LAB_ZONES" = 1 ] || { echo "# lab_zones_test_begin needs LAB_ZONES=1 before sourcing lab.sh"; exit 1; }
	lab_require
	command -v iptables-legacy >/dev/null && command -v ip6tables-legacy >/dev/null || tap_skip_all "iptables-legacy not installed"
	command -v curl >/dev/null || tap_skip_all "curl not installed"
	lab_trap
	lab_up || tap_bail "zones lab comes up (hostapd, ap2, uplink, LAN, internet)"
	lab_apgated_write_zones_conf "${1:-}"
	lab_apgated_start || tap_bail "apgated starts with [zone ...], [network] and [dnsmasq]"
	lab_zones_dnsmasq_start || tap_bail "dnsmasq starts on the conf apgated wrote"
}

# lab_ipt_save [4|6] : iptables-legacy-save (ip6tables-legacy-save for 6) of the
# AP namespace without counters and without the "#" date lines
lab_ipt_save() {
	local c=iptables-legacy-save
	[ "${1:-4}" = 6 ] && c=ip6tables-legacy-save
	ip netns exec "$LAB_AP_NS" "$c" | sed -e '/^#/d' -e 's/ \[[0-9]*:[0-9]*\]$//'
}

# ---- apgated ----------------------------------------------------------------------

# lab_apgated_write_conf [EXTRA_LINES] : write $LAB_APGATED_CONF for this lab;
# EXTRA_LINES (already formatted INI) are appended.
lab_apgated_write_conf() {
	cat > "$LAB_APGATED_CONF" <<EOF
[apgated]
registry = $LAB_DIR/registry.db
admin_socket = $LAB_ADMIN_SOCK
admin_socket_mode = 0660
log_level = debug

[hostapd]
ctrl_dir = $LAB_CTRL_DIR
client_dir = $LAB_DIR/apgated-client
ping_interval_ms = 500
data_dir = $LAB_DIR/hostapd-lists

[bss $LAB_WORK_BSS]
zone = work

[bss $LAB_GUEST_BSS]
zone = guest
EOF
	[ -z "${1:-}" ] || printf '%s\n' "$1" >> "$LAB_APGATED_CONF"
}

# lab_ctl ARGS... : apgatectl against this lab's admin socket
lab_ctl() { "$BUILD/apgatectl" -s "$LAB_ADMIN_SOCK" "$@"; }

_lab_apgated_answers() { lab_ctl status >/dev/null 2>&1; }

# lab_apgated_start : write the config if missing, start apgated -f in the AP
# namespace (stderr/stdout -> $LAB_DIR/apgated.log), wait until status answers
lab_apgated_start() {
	[ -x "$BUILD/apgated" ] && [ -x "$BUILD/apgatectl" ] ||
		{ _lab_die "no $BUILD/apgated or $BUILD/apgatectl (make build)"; return 1; }
	if lab_pid_alive apgated; then _lab_die "apgated already running"; return 1; fi
	[ -f "$LAB_APGATED_CONF" ] || lab_apgated_write_conf
	echo "---- start $(date +%T.%N)" >> "$LAB_DIR/apgated.log"
	lab_spawn apgated "$LAB_DIR/apgated.log" "$LAB_DIR/apgated.log" ip netns exec "$LAB_AP_NS" \
		"$BUILD/apgated" -f -c "$LAB_APGATED_CONF"
	local pid=$LAB_LAST_PID start
	start=$(_lab_now_us)
	while ! _lab_apgated_answers; do
		if ! kill -0 "$pid" 2>/dev/null; then
			_lab_die "apgated exited during start-up; log:"
			tail -n 30 "$LAB_DIR/apgated.log" | sed 's/^/#   /' >&2
			return 1
		fi
		if (( $(_lab_now_us) - start > 5000000 )); then
			_lab_die "apgated does not answer status within 5 s; log:"
			tail -n 30 "$LAB_DIR/apgated.log" | sed 's/^/#   /' >&2
			return 1
		fi
		sleep 0.05
	done
}

# lab_apgated_stop : SIGTERM and wait (SIGKILL after 5 s)
lab_apgated_stop() { _lab_stop apgated TERM 5; }
# lab_apgated_kill9 : SIGKILL, nothing flushed, nothing detached
lab_apgated_kill9() { _lab_stop apgated KILL 2; }
# lab_apgated_log_clean : apgated.log holds no sanitizer report (ASan, LSan,
# UBSan: "make asan" runs these tests against build-asan); prints what it found
lab_apgated_log_clean() {
	! grep -E -A3 'ERROR: (Address|Leak|Undefined)Sanitizer|runtime error:|SUMMARY: [A-Za-z]*Sanitizer' \
		"$LAB_DIR/apgated.log"
}
# lab_apgated_pid : PID of the running apgated
lab_apgated_pid() { _lab_pid apgated; }

# ---- JSON assertions (python3, no jq needed) ----------------------------------------

# lab_json EXPR [ARGS...] < JSON : evaluate a python expression over the parsed
# stdin "d" (args in "a"); strings print raw, everything else as JSON
# (true/false/null). Helper dev(d, mac) finds a device in a list (None if absent).
# Exit 1 if the expression raises (e.g. a missing key).
lab_json() {
	"$LAB_PY" -c '
import json, sys
expr, a = sys.argv[1], sys.argv[2:]
def dev(lst, mac):
    for x in lst:
        if isinstance(x, dict) and x.get("mac") == mac.lower():
            return x
    return None
try:
    d = json.load(sys.stdin)
    r = eval(expr)
except Exception as e:
    print("# lab_json: %s: %s" % (type(e).__name__, e), file=sys.stderr)
    sys.exit(1)
print(r if isinstance(r, str) else json.dumps(r))
' "$@"
}

# lab_status_json : "status --json" (falls back to "--json status" so that the
# other checks can go on if the CLI only knows the global option; test_connect
# checks the documented spelling)
lab_status_json() {
	local out rc
	out=$(lab_ctl status --json 2>/dev/null); rc=$?
	if [ "$rc" = 2 ]; then out=$(lab_ctl --json status); rc=$?; fi
	[ "$rc" = 0 ] && printf '%s\n' "$out"
}

# lab_bss_field IFNAME FIELD : one field of one BSS from status
lab_bss_field() {
	lab_status_json | lab_json '[b for b in d["bss"] if b["ifname"] == a[0]][0][a[1]]' "$1" "$2"
}

# lab_bss_is IFNAME FIELD VALUE : a BSS field from status equals VALUE
lab_bss_is() { [ "$(lab_bss_field "$1" "$2")" = "$3" ]; }

# lab_dev_json MAC : the device object from "devices --json" ("null" if absent)
lab_dev_json() { lab_ctl devices --json | lab_json 'dev(d, a[0])' "$1"; }

# lab_dev_field MAC FIELD : one field of one device from "devices --json"
lab_dev_field() {
	lab_ctl devices --json 2>/dev/null | lab_json 'dev(d, a[0])[a[1]]' "$1" "$2"
}

# lab_dev_is MAC FIELD VALUE : device field equals VALUE (as printed by lab_json)
lab_dev_is() { [ "$(lab_dev_field "$1" "$2")" = "$3" ]; }

# ---- requirements -------------------------------------------------------------------

# lab_require : exit 77 (skip) unless root, netns, veth, bridges and the lab's
# programs are available
lab_require() {
	local c probe
	if [ "$(id -u)" != 0 ]; then echo "# SKIP: needs root (network namespaces)"; exit 77; fi
	for c in ip hostapd hostapd_cli wpa_supplicant wpa_cli busybox setsid timeout; do
		command -v "$c" >/dev/null 2>&1 || { echo "# SKIP: $c not installed"; exit 77; }
	done
	[ -n "$LAB_PY" ] || { echo "# SKIP: python3 not installed"; exit 77; }
	if [ "$LAB_DNSMASQ" = 1 ] && ! command -v dnsmasq >/dev/null 2>&1; then LAB_DNSMASQ=0; fi
	probe=apg-probe-$$-$RANDOM
	if ! ip netns add "$probe" 2>/dev/null; then echo "# SKIP: cannot create network namespaces"; exit 77; fi
	if ! ip -n "$probe" link add b0 type bridge 2>/dev/null ||
	   ! ip -n "$probe" link add v0 type veth peer name v1 2>/dev/null; then
		ip netns del "$probe"; echo "# SKIP: no bridge/veth support"; exit 77
	fi
	ip netns del "$probe"
}

# ---- test scripts (with tap.sh) -----------------------------------------------------

# lab_test_begin [--no-apgated] : skip (77) unless the lab can run, install the
# cleanup trap, bring the lab up and start apgated; "not ok" + exit 1 if that fails
lab_test_begin() {
	lab_require
	lab_trap
	lab_up || tap_bail "lab comes up (hostapd with ap0/ap1 in a namespace)"
	[ "${1:-}" = --no-apgated ] && return 0
	lab_apgated_start || tap_bail "apgated starts on the lab and answers status"
}

# lab_test_end : stop apgated with SIGTERM (a check: gone within 5 s), check
# its log for sanitizer reports (leaks show at exit), then tap_done
lab_test_end() {
	if lab_pid_alive apgated; then
		check "apgated stops on SIGTERM within 5 s" lab_apgated_stop
	fi
	if [ -f "$LAB_DIR/apgated.log" ]; then
		check "apgated.log has no sanitizer report" lab_apgated_log_clean
	fi
	tap_done
}

# ---- CLI ------------------------------------------------------------------------------

_lab_cli_usage() {
	cat <<'EOF'
usage: lab.sh COMMAND [ARGS]      (finds the lab via $LAB_DIR, /tmp/apgate-lab/current
                                   or the running demo)
  up                      new lab: hostapd + work devices s1, s2 and guest device g3
  down                    tear the lab down
  env                     print export lines for this lab (eval "$(lab.sh env)")
  status                  namespaces, processes, hostapd stations
  add-work NAME MAC       add a work device (then: sta NAME)
  add-guest NAME MAC      add a guest device (then: dhcp NAME)
  sta NAME|N              start NAME's supplicant (N = sN) and wait until authorized
  sta-stop NAME|N         kill NAME's supplicant (hostapd is not told)
  logoff|logon|reauth NAME|N
  dhcp NAME|N             one DHCP exchange from a guest device (N = gN)
  hostapd-stop | hostapd-kill9 | hostapd-start
  apgated-start | apgated-stop | apgated-kill9     (uses $BUILD, default /work/main/build)
  ctl ARGS...             apgatectl -s <this lab's admin socket> ARGS...
  hcli BSS ARGS...        hostapd_cli on ap0/ap1, e.g. hcli ap0 all_sta
EOF
}

_lab_cli_name() { # N -> sN / gN if such a device exists
	local n=$1
	if [ -d "$LAB_DIR/dev/$n" ]; then echo "$n"; return; fi
	for p in s g; do [ -d "$LAB_DIR/dev/$p$n" ] && { echo "$p$n"; return; }; done
	echo "$n"
}

_lab_cli() {
	set -u
	local cmd=${1:-help}; shift || true
	case $cmd in
	help|-h|--help) _lab_cli_usage; return 0 ;;
	up)
		lab_require
		if [ -f "$LAB_CURRENT_FILE" ] && [ -f "$(cat "$LAB_CURRENT_FILE")/.apgate-lab" ]; then
			_lab_die "a lab is already up: $(cat "$LAB_CURRENT_FILE") (lab.sh down first)"; return 1
		fi
		lab_up || { lab_down; return 1; }
		mkdir -p "$(dirname "$LAB_CURRENT_FILE")"; echo "$LAB_DIR" > "$LAB_CURRENT_FILE"
		lab_add_work_device s1 "$(lab_mac 1)" && lab_add_work_device s2 "$(lab_mac 2)" &&
			lab_add_guest_device g3 "$(lab_mac 3)" || return 1
		echo "lab up: $LAB_DIR (namespaces ${LAB_PREFIX}*)"
		echo "  ap0 (work) / ap1 (guest) sockets in $LAB_CTRL_DIR"
		echo "  devices: s1 $(lab_mac 1), s2 $(lab_mac 2) (work), g3 $(lab_mac 3) (guest)"
		return 0 ;;
	esac
	if [ -z "${LAB_DIR:-}" ] && [ -f "$LAB_CURRENT_FILE" ]; then LAB_DIR=$(cat "$LAB_CURRENT_FILE"); fi
	if [ -z "${LAB_DIR:-}" ] && [ -f /tmp/apgate-demo/state ]; then   # the demo's lab
		LAB_DIR=$(. /tmp/apgate-demo/state && echo "$LAB_DIR")
	fi
	[ -n "${LAB_DIR:-}" ] || { _lab_die "no lab (lab.sh up, or set LAB_DIR)"; return 1; }
	lab_load "$LAB_DIR" || return 1
	case $cmd in
	down) lab_down ;;
	env)
		local v
		for v in LAB_DIR LAB_PREFIX LAB_AP_NS LAB_AIR_NS LAB_CTRL_DIR LAB_ADMIN_SOCK LAB_APGATED_CONF BUILD; do
			printf 'export %s=%q\n' "$v" "${!v}"
		done ;;
	status)
		echo "lab $LAB_DIR"
		local ns f
		while read -r ns; do echo "  netns $ns: pids $(ip netns pids "$ns" 2>/dev/null | tr '\n' ' ')"; done < "$LAB_DIR/netns"
		for f in "$LAB_DIR"/pid/*.pid; do [ -f "$f" ] && echo "  $(basename "$f" .pid): $(cat "$f")"; done
		for f in "$LAB_WORK_BSS" "$LAB_GUEST_BSS"; do
			echo "  hostapd $f stations:"; lab_hostapd_cli "$f" all_sta 2>/dev/null | grep -E '^([0-9a-f]{2}:){5}|^flags=' | sed 's/^/    /'
		done ;;
	add-work) lab_add_work_device "$@" ;;
	add-guest) lab_add_guest_device "$@" ;;
	sta)
		local n; n=$(_lab_cli_name "$1")
		lab_sta_start "$n" || return 1
		if lab_wait_for 10 lab_sta_authenticated "$n"; then echo "$n authorized after ${LAB_WAITED}s"
		else _lab_die "$n not authorized after 10 s (see $LAB_DIR/dev/$n/wpas.log)"; fi ;;
	sta-stop) lab_sta_stop "$(_lab_cli_name "$1")" ;;
	logoff) lab_sta_logoff "$(_lab_cli_name "$1")" ;;
	logon) lab_sta_logon "$(_lab_cli_name "$1")" ;;
	reauth) lab_sta_reauth "$(_lab_cli_name "$1")" ;;
	dhcp)
		local n; n=$(_lab_cli_name "$1")
		if lab_guest_dhcp "$n"; then echo "$n got $(cat "$LAB_DIR/dev/$n/ip" 2>/dev/null)"
		else _lab_die "$n: no lease (the DHCP broadcast still reached hostapd)"; fi ;;
	hostapd-stop) lab_hostapd_stop ;;
	hostapd-kill9) lab_hostapd_kill9 ;;
	hostapd-start) lab_hostapd_start ;;
	apgated-start) lab_apgated_start ;;
	apgated-stop) lab_apgated_stop ;;
	apgated-kill9) lab_apgated_kill9 ;;
	ctl) lab_ctl "$@" ;;
	hcli) lab_hostapd_cli "$@" ;;
	*) _lab_cli_usage >&2; return 2 ;;
	esac
}

if [ "${BASH_SOURCE[0]}" = "$0" ]; then
	_lab_cli "$@"
	exit $?
fi
