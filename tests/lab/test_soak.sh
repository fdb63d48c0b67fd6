#!/bin/bash
# test_soak.sh - apgated under a steady mixed load for SOAK_SECS seconds
# (default 40: the short version make test runs; make soak runs 1800), after
# a set-up of 5-20 s.
#
# The zones lab (real hostapd on ap0/ap1, dnsmasq, apgated's firewall) plus:
#  - fakehapd (tests/peer) as two more hostapd 2.10 BSSes, wl0 (work) and wl1
#    (guest), in the lab's ctrl_interface directory: SOAK_STATIONS (1,000)
#    stations connect and leave through its station table (--churn), at
#    SOAK_EVENT_RATE (50) events/s from the start of the load; every
#    station connects once in the first 1,000 steps (20 s);
#  - real stations coming and going: 802.1X supplicants s1 and s2 on ap0 log
#    off and on again in turns (real AP-STA-DISCONNECTED/CONNECTED from
#    hostapd), and a wired device e1 is approved, forgotten and leased again
#    by approve_e2e (tests/bench), which times every approval from the
#    admin-socket line to the first UDP probe of e1 that crosses the firewall
#    to the internet host (5 samples every ~2 s);
#  - approvals of churning stations on wl0 (apgatectl approve --as business,
#    one every SOAK_APPROVE_EVERY s) while they come and go;
#  - wrk against the captive portal (onboarding device o1 -> the internet
#    host's port 80 -> DNAT -> captive 302) and against the staff portal over
#    HTTPS with a signed-in session (b1, an approved business station):
#    throttled by a wrk Lua delay() to SOAK_CAPTIVE_RPS / SOAK_STAFF_RPS
#    requests per second (a busy shop, not a flood: make bench measures the
#    flat-out figures), for the whole run.
# apgated's RSS (RssAnon: heap and stacks, what a leak grows; VmRSS, which
# adds code and libraries paged in as new paths run, is printed too) and
# its open fds are sampled every SOAK_SAMPLE_SECS.
#
# Asserted (what an admin cares about):
#  - no event lost: every event fakehapd's sockets accepted was delivered to
#    the controller (status bss[].events) and applied (status events.applied
#    = fakehapd's events + the AP-STA-CONNECTED/DISCONNECTED and
#    CTRL-EVENT-EAP-SUCCESS/FAILURE hostapd logged), none failed;
#  - the registry holds all 1,000 churn stations, each one's "connected"
#    and BSS match the peer's final state; the approved ones are approved;
#    s1/s2 connected as hostapd has them;
#  - approve-to-enforced within the goals: p50 under 5 ms (issue 3's goal,
#    "p50 under 5 ms at 1,000 devices") and p99 under 50 ms (issue 4's goal
#    for the loop's responsiveness under a station storm: admin socket p99
#    under 50 ms), both under this load; SOAK_P50_MS / SOAK_P99_MS override.
#    Timing is judged only on a machine that is not already busy: when the
#    1-minute load average before the run is above the number of cores
#    (other jobs: apgated would get a fraction of a core) the figures are
#    printed and the timing checks (these two, and wrk's timeouts) skipped;
#  - RSS flat: growth over the second half of the load (the first half is
#    the warm-up: every station registered in the first 20 s, the
#    firewall's tables at their size, TLS sessions; SQLite's page cache
#    fills at ~5 KB/s as the events table grows, up to its 2 MB cap, reached
#    after ~9 minutes in the 30-minute run, flat for the 21 after) at
#    most SOAK_RSS_GROWTH_KB (default 1024 KB; see below), and the
#    highest sample of the second half no more than that above the highest
#    of the first half;
#  - no fd growth: the fds apgated holds once the load has stopped equal
#    the fds it held before the load started (same quiet state: wrk's
#    connections closed, no admin client), and the second half's highest
#    sample is at most 3 above the first half's highest (a sample may catch
#    up to three short-lived clients at once: apgatectl approve,
#    approve_e2e's admin connection, dnsmasq's lease helper);
#  - wrk got only the expected answers (no socket errors, no non-2xx/3xx);
#  - apgated stops on SIGTERM and its log has no sanitizer report: run
#    against build-asan (make asan, or APGATE_BUILD=.../build-asan) this is
#    LeakSanitizer's report at exit. (Under ASan the RSS bound is not
#    checked: the allocator's quarantine grows RSS by design.)
#
# Why 1 MB for RSS: SQLite's page cache is capped (default cache_size
# -2000 = 2 MB per connection) and fills during the warm-up, the events
# table is pruned at 100,000 rows, and every other structure is sized by
# the number of devices (fixed after the first 1,000 steps); what is left is
# malloc's fragmentation. A leak of one small block per event (100/s) or
# per HTTP request (hundreds/s) would pass 1 MB within a minute of the
# second half of even the short run.
#
# Needs root, network namespaces, iptables-legacy and wrk (exit 77
# otherwise). Knobs: SOAK_SECS, SOAK_STATIONS, SOAK_EVENT_RATE,
# SOAK_SAMPLE_SECS, SOAK_CAPTIVE_RPS, SOAK_STAFF_RPS, SOAK_APPROVE_EVERY,
# SOAK_RSS_GROWTH_KB, SOAK_P99_MS.
set -u
export LAB_ZONES=1
HERE=$(cd "$(dirname "$0")" && pwd)
. "$HERE/lab.sh"
. "$HERE/tap.sh"

SECS=${SOAK_SECS:-40}
STATIONS=${SOAK_STATIONS:-1000}
RATE=${SOAK_EVENT_RATE:-50}
if [ "$SECS" -ge 300 ]; then SAMPLE_DEF=10; else SAMPLE_DEF=1; fi
SAMPLE=${SOAK_SAMPLE_SECS:-$SAMPLE_DEF}
CAPTIVE_RPS=${SOAK_CAPTIVE_RPS:-200}
STAFF_RPS=${SOAK_STAFF_RPS:-5}
APPROVE_EVERY=${SOAK_APPROVE_EVERY:-1}
RSS_GROWTH_KB=${SOAK_RSS_GROWTH_KB:-1024}
P50_MS=${SOAK_P50_MS:-5}
P99_MS=${SOAK_P99_MS:-50}
USER_NAME=soak PASSWORD=soak-password-1
O1=02:00:00:00:50:01 B1=02:00:00:00:50:02 S1=02:00:00:00:50:03 S2=02:00:00:00:50:04
E1=02:00:00:00:ee:01 E1_IP=10.77.0.2   # approve_e2e's probe device (its PROBE_MAC/PROBE_IP)
STAFF=https://$LAB_GW_WORK:$LAB_STAFF_PORT

lab_require
command -v iptables-legacy >/dev/null || tap_skip_all "iptables-legacy not installed"
command -v wrk >/dev/null || tap_skip_all "wrk not installed (make deps-lab installs it)"
command -v curl >/dev/null || tap_skip_all "curl not installed"
for b in fakehapd approve_e2e apgated apgatectl; do
	[ -x "$BUILD/$b" ] || tap_skip_all "no $BUILD/$b (make tests builds it)"
done
ASAN=0
grep -q __asan_init "$BUILD/apgated" 2>/dev/null && ASAN=1   # gcc links libasan dynamically
LOAD0=$(cut -d' ' -f1 /proc/loadavg)
TIMING=1
awk "BEGIN {exit !($LOAD0 > $(nproc))}" && TIMING=0
[ "$ASAN" = 1 ] && TIMING=0   # sanitizers make it 2-3x slower: the goals are for the real build

BG=()   # background loops of this script (killed by PID in cleanup)
soak_cleanup() {
	local p
	for p in "${BG[@]}"; do kill "$p" 2>/dev/null; done
	for p in "${BG[@]}"; do wait "$p" 2>/dev/null; done
	_lab_exit
}
trap soak_cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

tap_diag "soak: $SECS s, $STATIONS stations at $RATE events/s, captive $CAPTIVE_RPS/s, staff $STAFF_RPS/s," \
	"approval every $APPROVE_EVERY s, sample every $SAMPLE s; apgated $BUILD/apgated$([ $ASAN = 1 ] && echo ' (ASan/LSan build)')" \
	"machine: $(nproc) cores, load average $(cut -d' ' -f1-3 /proc/loadavg)"

lab_up || tap_bail "zones lab comes up"
lab_apgated_write_zones_conf "
[bss wl0]
zone = work

[bss wl1]
zone = guest"
sed -i 's/^log_level = debug$/log_level = info/' "$LAB_APGATED_CONF"   # 100 events/s of debug lines are no soak
# the peer first; its churn starts with the load (SIGUSR1)
lab_spawn fakehapd "$LAB_DIR/fakehapd.out" "$LAB_DIR/fakehapd.log" ip netns exec "$LAB_AP_NS" \
	"$BUILD/fakehapd" -d "$LAB_CTRL_DIR" -i wl0 -i wl1 --churn "$STATIONS" --churn-rate "$RATE" \
	--churn-secs "$SECS" --churn-state "$LAB_DIR/churn.state" --churn-on-usr1
PEER=$LAB_LAST_PID
lab_wait_for 3 test -S "$LAB_CTRL_DIR/wl1" || tap_bail "fakehapd listens on wl0 and wl1"
lab_apgated_start || tap_bail "apgated starts with the zones and the four BSSes"
APID=$(lab_apgated_pid)
T0=$(_lab_now_us)
soak_el() { echo $(( ($(_lab_now_us) - T0) / 1000000 )); }
lab_zones_dnsmasq_start || tap_bail "dnsmasq starts on the conf apgated wrote"

# ---- sampler: "MS RSS_ANON_KB FDS VMRSS_KB RSS_FILE_KB" from apgated's start
sample_loop() {
	local rss fds
	while kill -0 "$APID" 2>/dev/null; do
		rss=$(awk '/^VmRSS/ {v = $2} /^RssAnon/ {a = $2} /^RssFile/ {f = $2} END {if (a != "") print a, v, f}' \
			"/proc/$APID/status" 2>/dev/null)
		fds=$(ls "/proc/$APID/fd" 2>/dev/null | wc -l)
		[ -n "$rss" ] && set -- $rss && echo "$(( ($(_lab_now_us) - T0) / 1000 )) $1 $fds $2 $3" >>"$LAB_DIR/samples"
		sleep "$SAMPLE"
	done
}
sample_loop & BG+=($!)

# ---- real devices
printf '%s\n' "$PASSWORD" | lab_ctl user add "$USER_NAME" --role admin >/dev/null || tap_bail "apgatectl user add"
lab_add_onboarding_device o1 "$O1" && lab_add_work_device b1 "$B1" &&
	lab_add_work_device s1 "$S1" && lab_add_work_device s2 "$S2" &&
	lab_add_wired_device e1 "$E1" || tap_bail "lab devices o1, b1, s1, s2, e1"
lab_sta_start b1; lab_sta_start s1; lab_sta_start s2
ip -n "$(lab_dev_ns e1)" addr add "$E1_IP/24" dev "$LAB_DEV_IF" &&
	ip -n "$(lab_dev_ns e1)" route add default via "$LAB_GW_WORK" || tap_bail "e1: static $E1_IP"
check "o1 (onboarding) gets a lease" lab_dhcp o1 soak-o1
check "b1, s1, s2 authenticate on ap0 (real 802.1X)" eval 'lab_wait_for 10 lab_hostapd_authorized ap0 "$B1" &&
	lab_wait_for 5 lab_hostapd_authorized ap0 "$S1" && lab_wait_for 5 lab_hostapd_authorized ap0 "$S2"'
lab_wait_for 3 lab_dev_is "$B1" state pending
check "approve b1 (the staff phone's stand-in) --as business" lab_ctl approve "$B1" --as business
check "b1 gets a lease" lab_dhcp b1 soak-b1

# staff sign-in (as tests/bench/portal_bench.sh): csrf from /login, then POST
JAR=$LAB_DIR/staff.jar
staff_curl() { ip netns exec "$(lab_dev_ns b1)" curl -s -k --noproxy '*' --max-time 10 -b "$JAR" -c "$JAR" "$@"; }
csrf=$(staff_curl "$STAFF/login" | sed -n 's/.*name="csrf" value="\([^"]*\)".*/\1/p' | head -n 1)
code=$(staff_curl -o /dev/null -w '%{http_code}' --data-urlencode "user=$USER_NAME" \
	--data-urlencode "password=$PASSWORD" --data-urlencode "csrf=$csrf" "$STAFF/login")
SESSION=$(awk '$6 == "apgate_session" {print $7}' "$JAR" 2>/dev/null)
check_eq "staff sign-in over HTTPS (303 and a session cookie)" "303 yes" "$code $([ -n "$SESSION" ] && echo yes)"
lab_http o1 "http://$LAB_INET_IP/" >/dev/null
check_eq "o1: the internet host answers with the captive redirect" \
	"302 http://$LAB_GW_ONB:$LAB_CAPTIVE_PORT/" "$LAB_HTTP_CODE $LAB_HTTP_LOCATION"

# ---- load
sleep 0.5
FDS_QUIET0=$(ls "/proc/$APID/fd" | wc -l)
LEFT=$SECS
[ "$LEFT" -ge 10 ] || tap_bail "SOAK_SECS must be at least 10"
T_LOAD=$(( ($(_lab_now_us) - T0) / 1000 ))
kill -USR1 "$PEER" || tap_bail "fakehapd takes SIGUSR1"
tap_diag "load starts $(soak_el) s after apgated, for $LEFT s; apgated fds before the load: $FDS_QUIET0"

# wrk, throttled: each connection waits 1000*conns/rps ms between requests
wrk_lua() { # FILE DELAY_MS
	cat >"$1" <<EOF
function delay() return $2 end
EOF
}
wrk_lua "$LAB_DIR/captive.lua" $(( 1000 * 8 / CAPTIVE_RPS ))
wrk_lua "$LAB_DIR/staff.lua" $(( 1000 * 2 / STAFF_RPS ))
ip netns exec "$(lab_dev_ns o1)" wrk -t1 -c8 -d"${LEFT}s" --timeout 5s -s "$LAB_DIR/captive.lua" \
	"http://$LAB_INET_IP/" >"$LAB_DIR/wrk-captive.txt" 2>&1 & BG+=($!); WRK1=$!
ip netns exec "$(lab_dev_ns b1)" wrk -t1 -c2 -d"${LEFT}s" --timeout 5s -s "$LAB_DIR/staff.lua" \
	-H "Cookie: apgate_session=$SESSION" "$STAFF/" >"$LAB_DIR/wrk-staff.txt" 2>&1 & BG+=($!); WRK2=$!

# real stations leaving and coming back (hostapd holds a logged-off station
# 5 s, so each is off for 6 s)
real_loop() {
	local n=0
	while :; do
		for d in s1 s2; do
			lab_sta_logoff "$d" >/dev/null 2>&1 && echo "logoff $d" >>"$LAB_DIR/real.log"
			sleep 6
			lab_sta_logon "$d" >/dev/null 2>&1 && echo "logon $d" >>"$LAB_DIR/real.log"
			sleep 1
		done
		n=$((n + 1))
	done
}
real_loop & BG+=($!); REAL=$!

# approvals of churning stations on wl0 (station i is on wl0 when i is even)
approve_loop() {
	local i=0 mac t
	while :; do
		mac=$(printf '02:c0:00:%02x:%02x:%02x' $(( (i + 1) >> 16 & 255 )) $(( (i + 1) >> 8 & 255 )) $(( (i + 1) & 255 )))
		t=$(( ($(_lab_now_us) - T0) / 1000 ))
		if lab_ctl approve "$mac" --as business >/dev/null 2>>"$LAB_DIR/approve.err"; then
			echo "$mac" >>"$LAB_DIR/approved"
		else
			echo "$t $mac" >>"$LAB_DIR/approve-failed"
		fi
		i=$(( (i + 74) % (STATIONS - STATIONS % 2) ))   # even: on wl0
		sleep "$APPROVE_EVERY"
	done
}
approve_loop & BG+=($!); APPR=$!

# approve-to-enforced with real packets (e1), every ~2 s until the churn ends
e2e_loop() {
	while [ ! -f "$LAB_DIR/churn.state" ]; do
		E2E_RAW=$LAB_DIR/e2e.raw "$BUILD/approve_e2e" "$LAB_AP_NS" "$(lab_dev_ns e1)" "$LAB_INET_NS" \
			"$LAB_ADMIN_SOCK" 1 5 admin >>"$LAB_DIR/e2e.out" 2>&1 || echo "approve_e2e failed" >>"$LAB_DIR/e2e.out"
		sleep 2
	done
}
e2e_loop & BG+=($!); E2E=$!

# ---- the end of the churn
lab_wait_for $(( LEFT + 30 )) test -f "$LAB_DIR/churn.state"
check "fakehapd's churn ends and writes its final state" test -f "$LAB_DIR/churn.state"
T_END=$(( ($(_lab_now_us) - T0) / 1000 ))   # the samples judged are those of the load
kill "$APPR" "$REAL" 2>/dev/null; wait "$APPR" "$REAL" 2>/dev/null
wait "$E2E" 2>/dev/null
wait "$WRK1" "$WRK2" 2>/dev/null
sleep 3   # a logon sent just before the loop stopped authenticates ~2 s later
tap_diag "$(grep '^churn:' "$LAB_DIR/fakehapd.out")"

sent() { sed -n "s/^# $1 events_sent=\([0-9]*\).*/\1/p" "$LAB_DIR/churn.state"; }
dropped() { sed -n "s/^# $1 .*events_dropped=\([0-9]*\).*/\1/p" "$LAB_DIR/churn.state"; }
SENT0=$(sent wl0) SENT1=$(sent wl1)
check_eq "fakehapd: no event dropped on wl0/wl1 (send errors, full sockets)" "0 0" "$(dropped wl0) $(dropped wl1)"
bss_events() { lab_status_json | lab_json '[b["events"] for b in d["bss"] if b["ifname"] == a[0]][0]' "$1"; }
delivered_all() { [ "$(bss_events wl0)" = "$SENT0" ] && [ "$(bss_events wl1)" = "$SENT1" ]; }
lab_wait_for 10 delivered_all
check_eq "every churn event reached the controller (status bss events wl0 wl1 = sent)" \
	"$SENT0 $SENT1" "$(bss_events wl0) $(bss_events wl1)"
# the real hostapd's acted-on events, as it logged them (hostapd -t prints
# each event it sends its monitors)
REAL_EV=$(grep -cE ' (ap0|ap1): (AP-STA-CONNECTED|AP-STA-DISCONNECTED|CTRL-EVENT-EAP-SUCCESS2?|CTRL-EVENT-EAP-(TIMEOUT-)?FAILURE2?) ' "$LAB_DIR/hostapd.log")
applied_is() { [ "$(lab_status_json | lab_json 'd["events"]["applied"]')" = $((SENT0 + SENT1 + REAL_EV)) ]; }
lab_wait_for 5 applied_is
ST=$(lab_status_json)
APPLIED=$(lab_json 'd["events"]["applied"]' <<<"$ST") FAILED=$(lab_json 'd["events"]["failed"]' <<<"$ST")
check_eq "events applied = churn events + real hostapd events ($SENT0 + $SENT1 + $REAL_EV), none failed" \
	"$((SENT0 + SENT1 + REAL_EV)) 0" "$APPLIED $FAILED"

# ---- the registry against the peer's final state
lab_ctl devices --json >"$LAB_DIR/devices.json"
RESULT=$("$LAB_PY" - "$LAB_DIR/churn.state" "$LAB_DIR/devices.json" "$LAB_DIR/approved" <<'EOF'
import json, sys
state = {}
for line in open(sys.argv[1]):
    if line.startswith("#"):
        continue
    ifn, mac, up = line.split()
    state[mac] = (ifn, up == "1")
devs = {d["mac"]: d for d in json.load(open(sys.argv[2]))}
try:
    approved = set(l.strip() for l in open(sys.argv[3]) if l.strip())
except FileNotFoundError:
    approved = set()
missing = [m for m in state if m not in devs]
wrong = [m for m in state if m in devs and (bool(devs[m]["connected"]) != state[m][1]
         or devs[m]["bss"] != state[m][0])]
unapproved = [m for m in approved if m not in devs or devs[m]["state"] != "approved"]
up = sum(1 for v in state.values() if v[1])
print("%d %d %d %d %d %d" % (len(state), len(missing), len(wrong), up, len(approved), len(unapproved)))
for m in (missing + wrong + unapproved)[:5]:
    print("#", m, state.get(m), json.dumps(devs.get(m))[:300], file=sys.stderr)
EOF
)
read -r N_ST N_MISSING N_WRONG N_UP N_APPR N_UNAPPR <<<"$RESULT"
check_eq "the registry holds all $STATIONS churn stations" "$STATIONS 0" "${N_ST:-?} ${N_MISSING:-?}"
check_eq "each station's connected state and BSS match the peer's final state ($N_UP connected)" 0 "${N_WRONG:-?}"
check "approvals during the run: at least one per 4 s succeeded ($N_APPR)" [ "${N_APPR:-0}" -ge $(( LEFT / (4 * APPROVE_EVERY) )) ]
# a station not yet heard is "no device"; after the first pass (every
# station connected once) no approval may fail
FIRST_PASS_MS=$(( T_LOAD + (STATIONS / RATE + 2) * 1000 ))
check_eq "no approval refused once every station was registered" 0 \
	"$(awk -v t="$FIRST_PASS_MS" '$1 > t' "$LAB_DIR/approve-failed" 2>/dev/null | wc -l)"
check_eq "every approved churn station is approved in the registry ($N_APPR approvals)" 0 "${N_UNAPPR:-?}"
[ -s "$LAB_DIR/approve-failed" ] && tap_diag "approvals refused: $(wc -l <"$LAB_DIR/approve-failed") ($(head -c 300 "$LAB_DIR/approve.err"))"
real_state_ok() {
	local d mac hp rp
	for d in s1 s2; do
		mac=$(lab_dev_mac "$d")
		lab_hostapd_authorized ap0 "$mac" && hp=true || hp=false
		rp=$(lab_dev_field "$mac" connected)
		[ "$hp" = "$rp" ] || { echo "$d: hostapd authorized=$hp, registry connected=$rp"; return 1; }
	done
}
check "s1, s2 (real stations, $(grep -c . "$LAB_DIR/real.log" 2>/dev/null || echo 0) logoffs/logons): registry = hostapd" \
	lab_wait_for 12 real_state_ok

# ---- approve-to-enforced (e1, real packets through the firewall)
if grep -q 'failed' "$LAB_DIR/e2e.out" 2>/dev/null; then
	tap_fail "approve_e2e ran without error" "$(grep -v '^ ' "$LAB_DIR/e2e.out" | tail -n 5)"
fi
pcts() { # COLUMN < raw: "N P50 P99 MAX" (nearest rank)
	awk -v c="$1" '{print $c}' | sort -g | awk '
	{ v[NR] = $1 } END { if (!NR) { print 0, 0, 0, 0; exit }
	  p50 = int(0.5 * NR + 0.999999); p99 = int(0.99 * NR + 0.999999)
	  printf "%d %.2f %.2f %.2f\n", NR, v[p50], v[p99], v[NR] }'
}
read -r E_N E_P50 E_P99 E_MAX <<<"$(pcts 1 <"$LAB_DIR/e2e.raw" 2>/dev/null)"
read -r _ R_P50 R_P99 R_MAX <<<"$(pcts 2 <"$LAB_DIR/e2e.raw" 2>/dev/null)"
tap_diag "approve-to-enforced (approve line on the admin socket -> first e1 packet through the firewall):" \
	"  $E_N samples: p50 $E_P50 ms, p99 $E_P99 ms, max $E_MAX ms (goals p50 < $P50_MS ms, p99 < $P99_MS ms)" \
	"  the approve reply on the admin socket: p50 $R_P50 ms, p99 $R_P99 ms, max $R_MAX ms"
check "approve-to-enforced sampled during the whole run (>= 5 per 10 s)" [ "$E_N" -ge $(( LEFT / 2 )) ]
if [ "$TIMING" = 1 ]; then
	check "approve-to-enforced p50 $E_P50 ms < $P50_MS ms" awk "BEGIN {exit !($E_P50 < $P50_MS)}"
	check "approve-to-enforced p99 $E_P99 ms < $P99_MS ms" awk "BEGIN {exit !($E_P99 < $P99_MS)}"
else
	echo "skip - approve-to-enforced goals not judged: $([ "$ASAN" = 1 ] && echo "sanitizer build" || echo "load average $LOAD0 on $(nproc) cores before the run (other jobs)")"
fi

# ---- wrk
wrk_errors() { # connect/read/write errors, answers other than 2xx/3xx; timeouts (> 5 s) when timing is judged
	awk -v timing="$TIMING" '/Socket errors:/ {gsub(/,/, ""); e += $4 + $6 + $8; if (timing) e += $10}
		/Non-2xx or 3xx/ {e += $NF} END {print e + 0}' "$1"
}
wrk_reqs() { awk '/requests in/ {print $1; exit}' "$1"; }
for w in captive staff; do
	f=$LAB_DIR/wrk-$w.txt
	tap_diag "wrk $w: $(wrk_reqs "$f") requests, $(awk '$1 == "Requests/sec:" {print $2}' "$f")/s," \
		"latency avg $(awk '$1 == "Latency" {print $2; exit}' "$f") max $(awk '$1 == "Latency" {print $4; exit}' "$f")"
	check "wrk $w: requests answered, no socket errors$([ $TIMING = 1 ] && echo ' or timeouts'), no non-2xx/3xx" \
		eval '[ "$(wrk_reqs "$f")" -gt 0 ] 2>/dev/null && [ "$(wrk_errors "$f")" = 0 ] || { cat "$f"; false; }'
done

# ---- RSS and fds
sleep 1
FDS_QUIET1=$(ls "/proc/$APID/fd" | wc -l)
read -r N_S T_MID RSS_FIRST RSS_MID RSS_END RSS_MAX1 RSS_MAX2 FD_MAX1 FD_MAX2 FD_MIN VM_FIRST VM_MID VM_END <<<"$(awk -v t0="$T_LOAD" -v t1="$T_END" '
	$1 >= t0 && $1 <= t1 { n++; t[n] = $1; r[n] = $2; f[n] = $3; v[n] = $4 }
	END { NR = n; m = int((NR + 1) / 2); r1 = 0; r2 = 0; f1 = 0; f2 = 0; fmin = f[1]
	      for (i = 1; i <= NR; i++) {
	          if (i <= m) { if (r[i] > r1) r1 = r[i]; if (f[i] > f1) f1 = f[i] }
	          else { if (r[i] > r2) r2 = r[i]; if (f[i] > f2) f2 = f[i] }
	          if (f[i] < fmin) fmin = f[i] }
	      print NR, t[m] / 1000, r[1], r[m], r[NR], r1, r2, f1, f2, fmin, v[1], v[m], v[NR] }' "$LAB_DIR/samples")"
tap_diag "apgated heap and stacks (RssAnon, $N_S samples during the load): at apgated's start" \
	"  $(awk 'NR == 1 {print $2}' "$LAB_DIR/samples") KB, load start $RSS_FIRST KB, at the half (${T_MID} s after apgated) $RSS_MID KB, end $RSS_END KB;" \
	"  highest: first half $RSS_MAX1 KB, second half $RSS_MAX2 KB; growth over the second half $((RSS_END - RSS_MID)) KB" \
	"apgated VmRSS (adds the code and libraries paged in): load start $VM_FIRST KB, half $VM_MID KB, end $VM_END KB" \
	"apgated fds: before the load $FDS_QUIET0, after it $FDS_QUIET1; samples min $FD_MIN, highest first half $FD_MAX1, second half $FD_MAX2"
if [ "$ASAN" = 1 ]; then
	echo "skip - RSS bound not checked under ASan (quarantine); figures above"
else
	check "RSS (anon) flat after warm-up: growth over the second half $((RSS_END - RSS_MID)) KB <= $RSS_GROWTH_KB KB" \
		[ $((RSS_END - RSS_MID)) -le "$RSS_GROWTH_KB" ]
	check "RSS (anon): the second half's highest sample is within $RSS_GROWTH_KB KB of the first half's" \
		[ $((RSS_MAX2 - RSS_MAX1)) -le "$RSS_GROWTH_KB" ]
fi
check_eq "no fd growth: apgated holds as many fds after the load as before it" "$FDS_QUIET0" "$FDS_QUIET1"
check "fds: the second half's highest sample ($FD_MAX2) is at most 3 above the first half's ($FD_MAX1)" \
	[ "$FD_MAX2" -le $((FD_MAX1 + 3)) ]
check "apgated is the same process (no restart, no crash)" kill -0 "$APID"
# the raw figures, for docs/performance.md and for a look after a failure
ART=${SOAK_ARTIFACTS:-$LAB_ROOT/tests/artifacts/soak}
mkdir -p "$ART" && cp "$LAB_DIR/samples" "$LAB_DIR/e2e.raw" "$LAB_DIR/e2e.out" "$LAB_DIR/wrk-captive.txt" \
	"$LAB_DIR/wrk-staff.txt" "$LAB_DIR/churn.state" "$LAB_DIR/fakehapd.out" "$ART/" 2>/dev/null

lab_test_end
