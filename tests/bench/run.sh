#!/bin/bash
# make bench - prints its figures; no pass/fail timing here (goals are printed
# beside the figures for the reader).
#
# 1. hostapd events into the registry: a recorded stream of 10,000 hostapd
#    events for 5,000 distinct MACs is replayed into apgated over a real
#    control socket by fakehapd (tests/peer), a peer that speaks hostapd
#    2.10's control-interface protocol. Reported: events/s while the peer
#    sends as fast as it can, the latency from an event reaching the
#    controller to its registry change being committed (p50/p99, measured
#    inside apgated), and apgated's peak RSS (VmHWM) with 5,000 devices.
#
# BENCH_SECTIONS="1 3 6" runs only those sections (default: all six). Each
# section starts by printing the machine's load average: on a shared
# machine, re-run a section whose figures came with a high one.
set -eu
BUILD=${1:-build}
cd "$(dirname "$0")/../.."
. tests/system/zones_conf.sh
B="$PWD/$BUILD"
EVENTS=${BENCH_EVENTS:-10000}
MACS=${BENCH_MACS:-5000}

W=$(mktemp -d /tmp/apgate-bench-XXXXXX)
PIDS=()
cleanup() {
	for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done
	wait 2>/dev/null || true
	rm -rf "$W"
}
trap cleanup EXIT
want() { # SECTION: selected by BENCH_SECTIONS; prints the load average when it is
	case " ${BENCH_SECTIONS:-1 2 3 4 5 6} " in *" $1 "*) ;; *) return 1 ;; esac
	echo "(section $1, $(date -u +%H:%M:%S) UTC, load average $(cut -d' ' -f1-3 /proc/loadavg), $(nproc) cores)"
}

status_field() { # python expression on the status object "s"
	"$B/apgatectl" -s "$W/admin.sock" --json status 2>/dev/null |
		python3 -c "import json,sys; s=json.load(sys.stdin); print($1)" 2>/dev/null
}

if want 1; then
mkdir -p "$W/ctrl" "$W/client"
"$B/fakehapd" --gen-events "$EVENTS" --macs "$MACS" --ifname ap0 >"$W/events.txt"
cat >"$W/apgate.conf" <<EOC
[apgated]
registry = $W/registry.db
admin_socket = $W/admin.sock
log_level = warn
[hostapd]
ctrl_dir = $W/ctrl
client_dir = $W/client
ping_interval_ms = 1000
[bss ap0]
zone = work
EOC

"$B/fakehapd" -d "$W/ctrl" -i ap0 --replay "$W/events.txt" >"$W/fakehapd.log" 2>&1 &
PIDS+=($!)
"$B/apgated" -f -c "$W/apgate.conf" 2>"$W/apgated.log" &
APGATED=$!
PIDS+=($APGATED)

deadline=$((SECONDS + 120))
applied=0
while [ $SECONDS -lt $deadline ]; do
	applied=$(status_field 's["events"]["applied"]' || echo 0)
	[ "${applied:-0}" -ge "$EVENTS" ] && break
	sleep 0.05
done
if [ "${applied:-0}" -lt "$EVENTS" ]; then
	echo "bench: only $applied of $EVENTS events applied within 120 s" >&2
	tail -20 "$W/apgated.log" "$W/fakehapd.log" >&2
	exit 1
fi
read -r window p50 p99 maxus failed devices < <(status_field \
	'"%f %f %f %f %d %d" % (s["events"]["window_ms"], s["events"]["p50_us"], s["events"]["p99_us"], s["events"]["max_us"], s["events"]["failed"], sum(s["registry"]["devices"].values()))')
hwm_kb=$(awk '/^VmHWM/ {print $2}' "/proc/$APGATED/status")
rss_kb=$(awk '/^VmRSS/ {print $2}' "/proc/$APGATED/status")
rate=$(python3 -c "print(int(($EVENTS - 1) / ($window / 1000.0)) if $window > 0 else 0)")

echo "== hostapd events into the registry ($EVENTS events, $MACS MACs, real control socket)"
printf '%-34s %12s   %s\n' "events/s (peer sending flat out)" "$rate" "goal >= 10000"
printf '%-34s %9.0f us   %s\n' "latency p50 (event -> commit)" "$p50" ""
printf '%-34s %9.0f us   %s\n' "latency p99 (event -> commit)" "$p99" "goal < 2000 us"
printf '%-34s %9.0f us\n' "latency max" "$maxus"
printf '%-34s %12s\n' "events failed" "$failed"
printf '%-34s %12s\n' "devices in the registry" "$devices"
printf '%-34s %9.1f MB   %s\n' "apgated peak RSS (VmHWM)" "$(awk "BEGIN {print $hwm_kb / 1024}")" "goal < 12 MB"
printf '%-34s %9.1f MB\n' "apgated RSS now" "$(awk "BEGIN {print $rss_kb / 1024}")"
echo "(machine: $(nproc) cores, $(uname -r); reproduce: make bench)"
kill "$APGATED" 2>/dev/null; wait "$APGATED" 2>/dev/null || true
fi

# 2. The firewall (tests/bench/fw_bench.c), in a private network namespace
#    the program creates itself: full sync at 1,000 and 5,000 devices,
#    approve-to-enforced with 1, 1,000 and 5,000 devices registered, and
#    1,000 authorizations through libiptc against one iptables-legacy
#    process per rule. Run a second time with glibc's trim/mmap thresholds
#    raised (see the comment in fw_bench.c). Skipped without root.
if want 2; then
echo
fw_rc=0
"$B/fw_bench" || fw_rc=$?
if [ "$fw_rc" -eq 0 ]; then
	FW_BENCH_MALLOPT=1 FW_BENCH_SHELL=0 "$B/fw_bench" | grep -v '^(machine'
elif [ "$fw_rc" -ne 77 ]; then
	exit "$fw_rc"
fi
fi

# 3. Approve-to-enforced, end to end (tests/bench/approve_e2e.c): from the
#    `approve` line on the admin socket to the first probe packet from that
#    device that crosses the firewall, with 1, 1,000 and 5,000 devices
#    registered. Three network namespaces made here and deleted on exit: AP
#    (apgated with zones, fakehapd as hostapd; work zone on veth ap0, uplink
#    up0, masquerade), DEV (the probe device, the peer of ap0 with a fixed
#    MAC) and INET (198.51.100.10, the peer of up0). The other devices are
#    registered over the admin socket (lease + approve each, a firewall
#    commit each) up to 1,000; at 5,000 they are inserted with sqlite3
#    before apgated starts, whose start-up rebuild installs them
#    (E2E_REGISTER=admin registers all of them over the admin socket).
#    Skipped without root. E2E_SAMPLES (default 30) samples per count.
if want 3; then
echo
E2E_SAMPLES=${E2E_SAMPLES:-30}
E2E_COUNTS=${E2E_COUNTS:-1 1000 5000}
E2E=apgbe-$$-$RANDOM
E2E_AP=$E2E-ap E2E_DEV=$E2E-dev E2E_INET=$E2E-inet
E2E_DAEMON=
e2e_cleanup() {
	if [ -n "$E2E_DAEMON" ]; then kill "$E2E_DAEMON" 2>/dev/null; wait "$E2E_DAEMON" 2>/dev/null; fi
	for n in "$E2E_AP" "$E2E_DEV" "$E2E_INET"; do ip netns del "$n" 2>/dev/null || true; done
}
trap 'e2e_cleanup; cleanup' EXIT
if [ "$(id -u)" != 0 ] || ! ip netns add "$E2E_AP" 2>/dev/null; then
	echo "skip - approve_e2e needs root and network namespaces"
	exit 0
fi
ip netns add "$E2E_DEV"
ip netns add "$E2E_INET"
e2e_ap() { ip netns exec "$E2E_AP" "$@"; }
for n in "$E2E_AP" "$E2E_DEV" "$E2E_INET"; do ip -n "$n" link set lo up; done
ip -n "$E2E_AP" link add ap0 type veth peer name dev0 netns "$E2E_DEV"
ip -n "$E2E_AP" link add up0 type veth peer name inet0 netns "$E2E_INET"
for i in br-guest br-onb; do ip -n "$E2E_AP" link add "$i" type veth peer name "$i-p"; ip -n "$E2E_AP" link set "$i-p" up; done
for i in ap0 up0 br-guest br-onb; do ip -n "$E2E_AP" link set "$i" up; done
ip -n "$E2E_AP" addr add 10.77.0.1/24 dev ap0
ip -n "$E2E_AP" addr add 10.78.0.1/24 dev br-guest
ip -n "$E2E_AP" addr add 10.79.0.1/24 dev br-onb
ip -n "$E2E_AP" addr add 198.51.100.1/24 dev up0
e2e_ap sysctl -qw net.ipv4.ip_forward=1
ip -n "$E2E_DEV" link set dev0 address 02:00:00:00:ee:01 up
ip -n "$E2E_DEV" addr add 10.77.0.2/24 dev dev0
ip -n "$E2E_DEV" route add default via 10.77.0.1
ip -n "$E2E_INET" link set inet0 up
ip -n "$E2E_INET" addr add 198.51.100.10/24 dev inet0

EW=$W/e2e
mkdir -p "$EW/ctrl" "$EW/client"
zones_conf "$EW" "$B" ap0 info 1000 >"$EW/apgate.conf"
# ip netns exec execs the program, so $! is its PID (a shell function in the
# background would be a subshell, and killing it would leave the daemon)
ip netns exec "$E2E_AP" "$B/fakehapd" -d "$EW/ctrl" -i ap0 >"$EW/fakehapd.log" 2>&1 &
PIDS+=($!)
e2e_start() {
	ip netns exec "$E2E_AP" "$B/apgated" -f -c "$EW/apgate.conf" 2>>"$EW/apgated.log" &
	E2E_DAEMON=$!
	local end=$((SECONDS + 30))
	until "$B/apgatectl" -s "$EW/admin.sock" status >/dev/null 2>&1; do
		if [ $SECONDS -ge $end ] || ! kill -0 "$E2E_DAEMON" 2>/dev/null; then
			echo "bench: apgated (zones) did not start" >&2
			tail -20 "$EW/apgated.log" >&2
			exit 1
		fi
		sleep 0.05
	done
}
e2e_stop() { kill "$E2E_DAEMON" 2>/dev/null || true; wait "$E2E_DAEMON" || true; E2E_DAEMON=; }

echo "== approve-to-enforced, end to end (admin socket -> probe UDP packet through apgated's firewall; veths in 3 namespaces)"
for n in $E2E_COUNTS; do
	rm -f "$EW"/registry.db*
	mode=admin
	if [ "$n" -gt 1000 ] && [ "${E2E_REGISTER:-}" != admin ]; then
		mode=preloaded
		e2e_start # creates the registry's schema
		e2e_stop
		now=$(($(date +%s) * 1000))
		sqlite3 "$EW/registry.db" "WITH RECURSIVE c(i) AS (SELECT 0 UNION ALL SELECT i + 1 FROM c WHERE i < $n - 2)
			INSERT INTO devices(mac, state, class, ip, bss, first_seen, last_seen, decided_by, decided_via, decided_at)
			SELECT printf('02:00:00:01:%02x:%02x', (i >> 8) & 255, i & 255), 'approved', 'business',
			       printf('10.77.%d.%d', 1 + i / 250, 2 + i % 250), 'ap0', $now, $now, 'bench', 'bench', $now FROM c;"
		: >"$EW/apgated.log"
	fi
	e2e_start
	if [ "$mode" = preloaded ]; then
		grep -o 'firewall: rebuilt.*' "$EW/apgated.log" | tail -1 | sed 's/^/apgated start-up: /'
	fi
	"$B/approve_e2e" "$E2E_AP" "$E2E_DEV" "$E2E_INET" "$EW/admin.sock" "$n" "$E2E_SAMPLES" "$mode"
	e2e_stop
done
echo "(machine: $(nproc) cores, $(uname -r); reproduce: make bench, or as root: tests/bench/run.sh $BUILD; E2E_COUNTS=\"1 1000\" E2E_SAMPLES=30 set what is measured)"
e2e_cleanup
fi

# 4. Repair of misplaced stations (tests/bench/repair_bench.c): the real
#    apgated (in a network namespace of its own, made with unshare -n, gone
#    with the process) drives two hostapd 2.10 doubles inside the bench
#    program (ap0 work zone with VLAN 10, ap1 guest). (1) One station at a
#    time, REPAIR_N (default 500) approved business devices connect on ap0
#    without a VLAN: the time from the peer reading "STA <mac>" to it
#    reading the last fix command "DEAUTHENTICATE <mac>". (2) A reconnect
#    storm of REPAIR_STORM (default 500) stations in one loop turn, half
#    misplaced, half in VLAN 10, with an admin ping every 5 ms: events sent
#    vs applied, DEAUTHENTICATEs per station, ping round trips.
if want 4; then
echo
rb_rc=0
"$B/repair_bench" "$B/apgated" "${REPAIR_N:-500}" "${REPAIR_STORM:-500}" || rb_rc=$?
if [ "$rb_rc" -ne 0 ] && [ "$rb_rc" -ne 77 ]; then
	exit "$rb_rc"
fi
fi

# 5. The portal (tests/bench/portal_bench.sh): a zones lab (tests/lab/lab.sh:
#    real hostapd, dnsmasq and apgated's firewall in namespaces it removes)
#    with 5,000 devices seeded into the registry (seed_registry, half
#    pending). wrk in an onboarding device's namespace against the captive
#    port through the firewall's DNAT (goal >= 20,000 redirects/s, p99 <
#    10 ms), then over HTTPS from an approved business station with a
#    signed-in session: the pending list and the inventory (goal p99 <
#    20 ms), page sizes. PASS/MISS is printed; a MISS does not fail make
#    bench. Skipped (77) without root or wrk.
#    Run twice: with a shop-sized registry (50 devices: 25 per-MAC rules in
#    the firewall's mangle chain, which every packet crosses) and with 5,000
#    (2,500 rules), so the firewall's share of the captive figures shows.
want 5 && for n in 50 5000; do
	echo
	echo "== portal bench with $n devices in the registry"
	pb_rc=0
	BENCH_PORTAL_DEVICES=$n tests/bench/portal_bench.sh "$BUILD" || pb_rc=$?
	if [ "$pb_rc" -ne 0 ] && [ "$pb_rc" -ne 77 ]; then
		exit "$pb_rc"
	fi
done

# 6. Letting clients in, against shell-based captive portals
#    (tests/bench/shell_compare.sh): one iptables process per rule, as
#    nodogsplash/openNDS and CoovaChilli's scripts do it, with 50 and 500
#    clients already allowed, against apgatectl approve and an approve line
#    on the admin socket, in private network namespaces. Skipped (77)
#    without root or iptables-legacy.
if want 6; then
echo
sc_rc=0
tests/bench/shell_compare.sh "$BUILD" || sc_rc=$?
if [ "$sc_rc" -ne 0 ] && [ "$sc_rc" -ne 77 ]; then
	exit "$sc_rc"
fi
fi
