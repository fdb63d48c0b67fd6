#!/bin/bash
# portal_bench.sh [BUILD] - the portal's figures (make bench, section 5).
# Figures and goals only: a MISS is printed, it does not fail make bench.
#
# One zones lab (tests/lab/lab.sh, LAB_ZONES=1: real hostapd, dnsmasq and
# apgated's firewall in namespaces made here, removed on exit), with the
# registry seeded before apgated starts: BENCH_PORTAL_DEVICES (default 5,000)
# devices written by seed_registry through controller/model/reg.c, half of
# them pending, half approved business devices.
#
#  1. Captive redirect: an onboarding device (ap2) runs wrk against
#     http://198.51.100.10/ (the internet host); the firewall's DNAT sends it
#     to the captive port on 10.79.0.1:8080, which answers 302. 2 threads, 50
#     connections, 10 s, --latency. Goal >= 20,000 redirects/s, p99 < 10 ms.
#  2. Staff pages: an approved business 802.1X station on ap0 signs in with
#     curl (user from "apgatectl user add") and runs wrk over HTTPS with the
#     session cookie against GET / (the pending list) and GET /devices (the
#     inventory, first page): 2 threads, 4 connections (a few staff phones at
#     once), 10 s, --latency. Goal p99 < 20 ms. Page sizes are printed.
# Every wrk run is checked: the answers must be the expected ones (302 to
# the captive page; 200 and the signed-in page before and after the run, no
# non-2xx/3xx, no socket errors), else the figure is reported as invalid and
# the script exits 1.
#
# Needs root, network namespaces and wrk (exit 77 otherwise).
# Knobs: BENCH_PORTAL_DEVICES, BENCH_PORTAL_SECS (default 10).
set -u
BUILD=${1:-build}
cd "$(dirname "$0")/../.."
export APGATE_BUILD=$PWD/$BUILD
export LAB_ZONES=1
. tests/lab/lab.sh

N=${BENCH_PORTAL_DEVICES:-5000}
SECS=${BENCH_PORTAL_SECS:-10}
USER_NAME=bench PASSWORD=bench-password-1
O1=02:00:00:00:b0:01 B1=02:00:00:00:b0:02
STAFF=https://$LAB_GW_WORK:$LAB_STAFF_PORT

skip() { echo "skip - portal bench: $*"; exit 77; }
die() { echo "portal bench: $*" >&2; [ -n "${LAB_DIR:-}" ] && tail -n 20 "$LAB_DIR/apgated.log" | sed 's/^/#   /' >&2; exit 1; }

[ "$(id -u)" = 0 ] || skip "needs root (network namespaces)"
command -v wrk >/dev/null || skip "wrk not installed (make bench installs it)"
command -v iptables-legacy >/dev/null || skip "iptables-legacy not installed"
[ -x "$APGATE_BUILD/seed_registry" ] || die "no $APGATE_BUILD/seed_registry (make bench builds it)"
( lab_require ) >/dev/null || skip "the namespace lab cannot run here (lab_require)"

echo "== portal: captive redirects and staff pages ($N devices in the registry; zones lab, real firewall)"
lab_trap
lab_up >/dev/null 2>&1 || die "the zones lab did not come up"
"$APGATE_BUILD/seed_registry" "$LAB_DIR/registry.db" "$N" | sed 's/^/registry: /' || die "seed_registry failed"
lab_apgated_write_zones_conf
sed -i 's/^log_level = debug$/log_level = warn/' "$LAB_APGATED_CONF"   # no debug lines in the figures
t0=$(_lab_now_us)
lab_apgated_start || die "apgated did not start on the seeded registry"
printf 'apgated answers status %.2f s after start (start-up rebuild with %s devices)\n' \
	"$(awk "BEGIN {print ($(_lab_now_us) - $t0) / 1e6}")" "$N"
lab_zones_dnsmasq_start >/dev/null || die "dnsmasq did not start"
printf '%s\n' "$PASSWORD" | lab_ctl user add "$USER_NAME" --role admin >/dev/null || die "apgatectl user add failed"

# ---- devices: o1 on the onboarding segment, b1 an approved business station on ap0
lab_add_onboarding_device o1 "$O1" || die "cannot add o1"
lab_add_work_device b1 "$B1" || die "cannot add b1"
lab_sta_start b1
lab_dhcp o1 bench-o1 || die "o1 got no lease"
lab_wait_for 10 lab_hostapd_authorized ap0 "$B1" || die "b1 not authorized on ap0"
lab_wait_for 3 lab_dev_is "$B1" state pending || die "b1 not pending"
lab_ctl approve "$B1" --as business --type pc >/dev/null || die "approve b1 failed"
lab_dhcp b1 bench-b1 || die "b1 got no lease"

dev_exec() { local d=$1; shift; ip netns exec "$(lab_dev_ns "$d")" "$@"; }

# wrk_run DEV OUTFILE ARGS... : wrk in DEV's namespace
wrk_run() { local d=$1 out=$2; shift 2; dev_exec "$d" wrk "$@" >"$out" 2>&1; }

# wrk_ms FILE PCT : that percentile of wrk's latency distribution, in ms
wrk_ms() {
	awk -v p="$2%" '$1 == p {
		v = $2; u = v; sub(/[0-9.]+/, "", u); sub(/[a-z]+$/, "", v)
		if (u == "us") v /= 1000; else if (u == "s") v *= 1000; else if (u == "m") v *= 60000
		printf "%.2f", v; exit }' "$1"
}
wrk_rps() { awk '$1 == "Requests/sec:" {printf "%d", $2}' "$1"; }
wrk_reqs() { awk '/requests in/ {print $1; exit}' "$1"; }
# errors: "Socket errors: connect 0, read 0, write 0, timeout 0" and "Non-2xx or 3xx responses: N"
wrk_errors() {
	awk '/Socket errors:/ {gsub(/,/, ""); e += $4 + $6 + $8 + $10} /Non-2xx or 3xx/ {e += $NF} END {print e + 0}' "$1"
}
verdict() { if awk "BEGIN {exit !($1)}"; then echo PASS; else echo MISS; fi; }

# ==== 1. captive redirect through the DNAT ====
echo "(load average before the runs: $(cut -d' ' -f1-3 /proc/loadavg))"
CAPTIVE_TARGET=http://$LAB_INET_IP/
CAPTIVE_LOC=http://$LAB_GW_ONB:$LAB_CAPTIVE_PORT/
lab_http o1 "$CAPTIVE_TARGET" >/dev/null
[ "$LAB_HTTP_CODE" = 302 ] && [ "$LAB_HTTP_LOCATION" = "$CAPTIVE_LOC" ] ||
	die "o1 GET $CAPTIVE_TARGET: $LAB_HTTP_CODE $LAB_HTTP_LOCATION (expected 302 $CAPTIVE_LOC)"
# a wrk script that counts the answers that are not this exact redirect
cat >"$LAB_DIR/count302.lua" <<EOF
local threads = {}
function setup(thread) table.insert(threads, thread) end
function init(args) good = 0; bad = 0 end
function response(status, headers, body)
  if status == 302 and headers["Location"] == "$CAPTIVE_LOC" then good = good + 1 else bad = bad + 1 end
end
function done(summary, latency, requests)
  local g, b = 0, 0
  for _, t in ipairs(threads) do g = g + t:get("good"); b = b + t:get("bad") end
  io.write(string.format("answers: %d redirects to $CAPTIVE_LOC, %d other\n", g, b))
end
EOF
W1=$LAB_DIR/wrk-captive.txt W1C=$LAB_DIR/wrk-captive-check.txt
# the figures come from a plain run (a Lua response() callback costs wrk time
# on the cores it shares with apgated); a second, short run counts the answers
wrk_run o1 "$W1" -t2 -c50 -d"${SECS}s" --latency "$CAPTIVE_TARGET" || die "wrk failed: $(cat "$W1")"
wrk_run o1 "$W1C" -t2 -c50 -d3s -s "$LAB_DIR/count302.lua" "$CAPTIVE_TARGET" || die "wrk failed: $(cat "$W1C")"
rps=$(wrk_rps "$W1") p50=$(wrk_ms "$W1" 50) p99=$(wrk_ms "$W1" 99) errs=$(wrk_errors "$W1")
good=$(awk '/^answers:/ {print $2}' "$W1C") other=$(awk '/^answers:/ {print $(NF - 1)}' "$W1C")
[ -n "$rps" ] && [ -n "$p99" ] && [ "$errs" = 0 ] && [ "$(wrk_errors "$W1C")" = 0 ] &&
	[ "${other:-x}" = 0 ] && [ "${good:-0}" -gt 0 ] ||
	die "captive run invalid (errors: $errs; check run: ${good:-?} redirects, ${other:-?} other):$(printf '\n'; cat "$W1" "$W1C")"
echo
echo "-- captive redirect: onboarding device -> http://$LAB_INET_IP/ -> DNAT -> $LAB_GW_ONB:$LAB_CAPTIVE_PORT (302)"
echo "   wrk -t2 -c50 -d${SECS}s --latency: $(wrk_reqs "$W1") requests, no errors; a 3 s check run counted"
echo "   $good answers, all 302 to $CAPTIVE_LOC"
printf '%-34s %12s   %s\n' "redirects/s" "$rps" "goal >= 20000  $(verdict "$rps >= 20000")"
printf '%-34s %9s ms\n' "latency p50" "$p50"
printf '%-34s %9s ms   %s\n' "latency p99" "$p99" "goal < 10 ms    $(verdict "$p99 < 10")"

# ==== 2. staff pages over HTTPS with a signed-in session ====
RSS0_KB=$(awk '/^VmRSS/ {print $2}' "/proc/$(lab_apgated_pid)/status" 2>/dev/null)
LOAD0=$(cut -d' ' -f1-3 /proc/loadavg)
JAR=$LAB_DIR/staff.jar
staff_curl() { dev_exec b1 curl -s -k --noproxy '*' --max-time 10 -b "$JAR" -c "$JAR" "$@"; }
staff_curl -o "$LAB_DIR/login.html" "$STAFF/login" || die "GET /login failed"
csrf=$(sed -n 's/.*name="csrf" value="\([^"]*\)".*/\1/p' "$LAB_DIR/login.html" | head -n 1)
[ -n "$csrf" ] || die "no csrf field on /login"
code=$(staff_curl -o /dev/null -w '%{http_code}' --data-urlencode "user=$USER_NAME" \
	--data-urlencode "password=$PASSWORD" --data-urlencode "csrf=$csrf" "$STAFF/login")
[ "$code" = 303 ] || die "sign-in answered $code (expected 303)"
SESSION=$(awk '$6 == "apgate_session" {print $7}' "$JAR")
[ -n "$SESSION" ] || die "no apgate_session cookie after sign-in"

# page_check PATH ID : 200 and, with ID, the signed-in page (element id ID);
# prints the size
page_check() {
	local out code size
	out=$(dev_exec b1 curl -s -k --noproxy '*' --max-time 10 -H "Cookie: apgate_session=$SESSION" \
		-o "$LAB_DIR/page.html" -w '%{http_code} %{size_download}' "$STAFF$1") || return 1
	code=${out% *} size=${out#* }
	[ "$code" = 200 ] && { [ -z "$2" ] || grep -q "id=\"$2\"" "$LAB_DIR/page.html"; } ||
		{ echo "GET $1: $code" >&2; return 1; }
	echo "$size"
}

echo
echo "-- staff pages: approved business station on ap0 -> $STAFF (TLS, signed in as $USER_NAME)"
echo "   wrk -t2 -c4 -d${SECS}s --latency -H 'Cookie: apgate_session=...'"
i=0
for spec in "/static/app.css::baseline (GET /static/app.css)" \
	    "/:pending:pending list (GET /)" "/devices:devices:inventory (GET /devices)"; do
	path=${spec%%:*} rest=${spec#*:} id=${rest%%:*} what=${rest#*:}
	size=$(page_check "$path" "$id") || die "GET $path is not the signed-in page"
	case $path in
	/) shown="$(grep -o '<li class="device' "$LAB_DIR/page.html" | wc -l) pending devices listed" ;;
	/devices) shown="$(grep -o '<tr data-mac=' "$LAB_DIR/page.html" | wc -l) rows of $(sed -n 's/.*id="devices-total" data-count="\([0-9]*\)".*/\1/p' "$LAB_DIR/page.html") devices" ;;
	*) shown="a static file: TLS + HTTP + session-free path" ;;
	esac
	i=$((i + 1)); W=$LAB_DIR/wrk-staff-$i.txt
	wrk_run b1 "$W" -t2 -c4 -d"${SECS}s" --latency -H "Cookie: apgate_session=$SESSION" "$STAFF$path" ||
		die "wrk failed: $(cat "$W")"
	page_check "$path" "$id" >/dev/null || die "GET $path no longer the signed-in page after the run"
	rps=$(wrk_rps "$W") p50=$(wrk_ms "$W" 50) p99=$(wrk_ms "$W" 99) errs=$(wrk_errors "$W")
	[ -n "$rps" ] && [ -n "$p99" ] && [ "$errs" = 0 ] || die "staff run $path invalid (errors $errs):$(printf '\n'; cat "$W")"
	echo "$what"
	printf '%-34s %9s KB   (%s)\n' "  page size" "$(awk "BEGIN {printf \"%.1f\", $size / 1024}")" "$shown"
	printf '%-34s %12s   (%s requests)\n' "  requests/s" "$rps" "$(wrk_reqs "$W")"
	printf '%-34s %9s ms\n' "  latency p50" "$p50"
	if [ "$path" = /static/app.css ]; then
		printf '%-34s %9s ms\n' "  latency p99" "$p99"
	else
		printf '%-34s %9s ms   %s\n' "  latency p99" "$p99" "goal < 20 ms    $(verdict "$p99 < 20")"
	fi
done
# ==== 3. the same pages without the firewall in the path ====
# Every packet of the runs above crosses mangle APGATE_MARK, one --mac-source
# rule per decided device (2,500 here), scanned in order. To tell the
# portal's own cost from the firewall's, the same registry is served by an
# apgated without zones (observe only: no rules) on 127.0.0.1 in a
# namespace of its own, and wrk runs there.
NS3=${LAB_PREFIX}obs
W3=$LAB_DIR/obs
mkdir -p "$W3/ctrl" "$W3/client"
# the lab's registry holds the seeded devices plus o1/b1 (WAL checkpointed by the copy's open)
sqlite3 "$LAB_DIR/registry.db" ".backup '$W3/registry.db'" 2>/dev/null || true
cat >"$W3/apgate.conf" <<EOF
[apgated]
registry = $W3/registry.db
admin_socket = $W3/admin.sock
log_level = warn
oui_dir =
[hostapd]
ctrl_dir = $W3/ctrl
client_dir = $W3/client
data_dir = $W3/lists
[bss ap0]
zone = work
[portal]
dir = $PWD/portal
staff_listen = 127.0.0.1
https_port = 18443
http_port = 0
cert = $W3/portal.crt
key = $W3/portal.key
EOF
ip netns add "$NS3" && echo "$NS3" >> "$LAB_DIR/netns" && ip -n "$NS3" link set lo up || die "cannot make $NS3"
ip netns exec "$NS3" "$APGATE_BUILD/apgated" -f -c "$W3/apgate.conf" >"$W3/apgated.log" 2>&1 &
OBS_PID=$!
for _ in $(seq 1 100); do "$APGATE_BUILD/apgatectl" -s "$W3/admin.sock" status >/dev/null 2>&1 && break; sleep 0.05; done
O=https://127.0.0.1:18443
ojar=$W3/jar
ocurl() { ip netns exec "$NS3" curl -s -k --max-time 10 -b "$ojar" -c "$ojar" "$@"; }
ocsrf=$(ocurl "$O/login" | sed -n 's/.*name="csrf" value="\([^"]*\)".*/\1/p' | head -n 1)
ocurl -o /dev/null --data-urlencode "user=$USER_NAME" --data-urlencode "password=$PASSWORD" \
	--data-urlencode "csrf=$ocsrf" "$O/login"
OSESSION=$(awk '$6 == "apgate_session" {print $7}' "$ojar")
if [ -z "$OSESSION" ]; then
	echo "(observe-only apgated: no sign-in; skipped)"
else
	echo
	echo "-- the same pages, apgated without zones (no firewall rules in the path), wrk on 127.0.0.1"
	for spec in "/:pending list (GET /)" "/devices:inventory (GET /devices)"; do
		path=${spec%%:*} what=${spec#*:}
		W=$W3/wrk$i.txt; i=$((i + 1))
		ip netns exec "$NS3" wrk -t2 -c4 -d"${SECS}s" --latency -H "Cookie: apgate_session=$OSESSION" "$O$path" >"$W" 2>&1 ||
			die "wrk failed: $(cat "$W")"
		rps=$(wrk_rps "$W") p50=$(wrk_ms "$W" 50) p99=$(wrk_ms "$W" 99) errs=$(wrk_errors "$W")
		[ -n "$rps" ] && [ -n "$p99" ] && [ "$errs" = 0 ] || die "observe-only run $path invalid:$(printf '\n'; cat "$W")"
		echo "$what"
		printf '%-34s %12s   (%s requests)\n' "  requests/s" "$rps" "$(wrk_reqs "$W")"
		printf '%-34s %9s ms\n' "  latency p50" "$p50"
		printf '%-34s %9s ms   %s\n' "  latency p99" "$p99" "goal < 20 ms    $(verdict "$p99 < 20")"
	done
fi
kill "$OBS_PID" 2>/dev/null; wait "$OBS_PID" 2>/dev/null

hwm_kb=$(awk '/^VmHWM/ {print $2}' "/proc/$(lab_apgated_pid)/status" 2>/dev/null)
[ -z "$RSS0_KB" ] || printf '%-34s %9.1f MB\n' "apgated RSS before the staff pages" "$(awk "BEGIN {print $RSS0_KB / 1024}")"
[ -z "$hwm_kb" ] || printf '%-34s %9.1f MB\n' "apgated peak RSS (VmHWM) after" "$(awk "BEGIN {print $hwm_kb / 1024}")"
echo "(machine: $(nproc) cores, $(uname -r), load average $LOAD0 before the staff pages; wrk and apgated share"
echo " the cores; reproduce: make bench, or as root: tests/bench/portal_bench.sh $BUILD)"
