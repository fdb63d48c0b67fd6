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
set -eu
BUILD=${1:-build}
cd "$(dirname "$0")/../.."
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

status_field() { # python expression on the status object "s"
	"$B/apgatectl" -s "$W/admin.sock" --json status 2>/dev/null |
		python3 -c "import json,sys; s=json.load(sys.stdin); print($1)" 2>/dev/null
}

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

# 2. The firewall (tests/bench/fw_bench.c), in a private network namespace
#    the program creates itself: full sync at 1,000 and 5,000 devices,
#    approve-to-enforced with 1, 1,000 and 5,000 devices registered, and
#    1,000 authorizations through libiptc against one iptables-legacy
#    process per rule. Run a second time with glibc's trim/mmap thresholds
#    raised (see the comment in fw_bench.c). Skipped without root.
echo
fw_rc=0
"$B/fw_bench" || fw_rc=$?
if [ "$fw_rc" -eq 0 ]; then
	FW_BENCH_MALLOPT=1 FW_BENCH_SHELL=0 "$B/fw_bench" | grep -v '^(machine'
elif [ "$fw_rc" -ne 77 ]; then
	exit "$fw_rc"
fi
