#!/bin/bash
# shell_compare.sh [BUILD] - letting clients in: apgated against the way
# shell-based captive portals do it (make bench, section 6). Figures only.
#
# nodogsplash/openNDS (fw_iptables.c: iptables_do_command -> execute ->
# a shell) and CoovaChilli's up/down scripts run one iptables process per
# rule for every client they let in. The rules mirrored here are the ones
# apgated's plan adds per device (controller/io/fw_plan.c, build_mangle):
# one `-m mac --mac-source M -j MARK --set-xmark 0x10000/0xff0000` rule in
# mangle, for IPv4 and for IPv6 (apgated keeps both families; a portal that
# does IPv4 only saves the second process, so its row "IPv4 only" is printed
# too). Everything else a device's access depends on is per zone, not per
# device, in both designs. (nodogsplash adds more per client: a second
# mangle rule for its download counters and a filter rule; that is not
# counted here, which favours the shell.)
#
# Measured in private network namespaces made here and deleted on exit,
# with N = 50 and 500 clients already allowed (N rules per family in the
# chain before the timing starts):
#  - one client let in: p50/p90/max of SAMPLES (default 20) single clients;
#  - 200 clients let in one after the other: the total;
# for
#  a. shell: `sh -c 'iptables-legacy -w -t mangle -I SHELLPORTAL -m mac
#     --mac-source M -j MARK --set-xmark 0x10000/0xff0000'` and the same with
#     ip6tables-legacy: two processes per client, each through a shell as
#     portals spawn them; the rule is in the kernel when the process exits;
#     and with iptables-nft (Debian's default `iptables`), IPv4 + IPv6;
#  b. apgated (zones, fakehapd as the work BSS's hostapd, N approved
#     business devices in the registry when it starts; the clients to let
#     in are pending devices there): `apgatectl approve M --as business`, a
#     process per client like the shell's, which returns once apgated has
#     stored the decision (fsync), committed the mangle rule in both
#     families (libiptc) and sent hostapd its ACL lines; and the same
#     approve as one line on a held admin-socket connection (what the staff
#     portal's button does: no process at all). After the timing, every
#     approved client's rule is checked in iptables-legacy-save (IPv4 and
#     IPv6); approve_e2e (section 3) gives the time until packets pass.
# Needs root, iptables-legacy and ip netns (exit 77 otherwise).
# Knobs: SHELL_COUNTS (default "50 500"), SHELL_SAMPLES (20), SHELL_BATCH (200).
set -u
SELF=$(realpath "$0")
if [ "${1:-}" = --shell-part ]; then SHELL_PART=1; W=$2; BUILD=build; else SHELL_PART=0; BUILD=${1:-build}; fi
cd "$(dirname "$SELF")/../.."
. tests/system/zones_conf.sh
B="$PWD/$BUILD"
COUNTS=${SHELL_COUNTS:-50 500}
SAMPLES=${SHELL_SAMPLES:-20}
BATCH=${SHELL_BATCH:-200}

skip() { echo "skip - shell comparison: $*"; exit 77; }
[ "$(id -u)" = 0 ] || skip "needs root (network namespaces)"
command -v iptables-legacy >/dev/null && command -v ip6tables-legacy >/dev/null || skip "iptables-legacy not installed"
[ "$SHELL_PART" = 1 ] || for b in apgated apgatectl fakehapd; do [ -x "$B/$b" ] || skip "no $B/$b (make build)"; done

NS=apgsc-$$-$RANDOM
[ "$SHELL_PART" = 1 ] || W=$(mktemp -d /tmp/apgate-shellcmp-XXXXXX)
DAEMON= PEER=
cleanup() {
	[ -z "$DAEMON" ] || { kill "$DAEMON" 2>/dev/null; wait "$DAEMON" 2>/dev/null; }
	[ -z "$PEER" ] || { kill "$PEER" 2>/dev/null; wait "$PEER" 2>/dev/null; }
	ip netns del "$NS" 2>/dev/null
	ip netns del "$NS-sh" 2>/dev/null
	rm -rf "$W"
}
# the shell part runs inside its namespace (this script again, with
# --shell-part), so that only the portal's own sh + iptables processes
# are timed, not `ip netns exec`
in_sh() { "$@"; }

now_us() { local t=${EPOCHREALTIME//[!0-9]/}; echo $((10#$t)); }
mac_of() { printf '02:5c:%02x:00:%02x:%02x' "$1" $(( ($2 >> 8) & 255 )) $(( $2 & 255 )); } # TAG I
# stats FILE (microseconds, one a line) -> "p50 p90 max" in ms
stats() {
	sort -n "$1" | awk '{ v[NR] = $1 } END {
		p50 = int(0.5 * NR + 0.999999); p90 = int(0.9 * NR + 0.999999)
		printf "%.2f %.2f %.2f", v[p50] / 1000, v[p90] / 1000, v[NR] / 1000 }'
}
row() { # LABEL "p50 p90 max" BATCH_US
	local p50 p90 max
	read -r p50 p90 max <<<"$2"
	printf '%-52s %7s %7s %7s ms   %8.2f s\n' "$1" "$p50" "$p90" "$max" "$(awk "BEGIN {print $3 / 1e6}")"
}

if [ "$SHELL_PART" = 0 ]; then
	trap cleanup EXIT
	echo "== letting clients in: one iptables process per rule (shell-based portals) vs apgated"
	echo "(load average before: $(cut -d' ' -f1-3 /proc/loadavg); $(nproc) cores; private network namespaces)"
	printf '%-52s %7s %7s %7s      %10s\n' "" "p50" "p90" "max" "$BATCH in a row"
	ip netns add "$NS-sh" || skip "cannot create network namespaces"
	ip netns exec "$NS-sh" bash "$SELF" --shell-part "$W" || exit 1
fi

# ---- a. shell: per-rule processes
# shell_in CMD4 CMD6 TAG I : let client I in (CMD6 "" = IPv4 only)
shell_in() {
	local m; m=$(mac_of "$3" "$4")
	in_sh sh -c "$1 -w -t mangle -I SHELLPORTAL -m mac --mac-source $m -j MARK --set-xmark 0x10000/0xff0000" || return 1
	[ -z "$2" ] || in_sh sh -c "$2 -w -t mangle -I SHELLPORTAL -m mac --mac-source $m -j MARK --set-xmark 0x10000/0xff0000"
}
shell_prepare() { # CMD4 CMD6 N : fresh chain hooked from PREROUTING with N rules
	local c n=$3 i
	for c in "$1" "$2"; do
		[ -n "$c" ] || continue
		in_sh "$c" -w -t mangle -F SHELLPORTAL 2>/dev/null
		in_sh "$c" -w -t mangle -D PREROUTING -j SHELLPORTAL 2>/dev/null
		in_sh "$c" -w -t mangle -X SHELLPORTAL 2>/dev/null
		in_sh "$c" -w -t mangle -N SHELLPORTAL && in_sh "$c" -w -t mangle -I PREROUTING -j SHELLPORTAL || return 1
		# the N already allowed, in one restore (not timed)
		{ echo '*mangle'
		  for ((i = 0; i < n; i++)); do
			echo "-A SHELLPORTAL -m mac --mac-source $(mac_of 1 "$i") -j MARK --set-xmark 0x10000/0xff0000"
		  done
		  echo COMMIT; } | in_sh "$c-restore" --noflush || return 1
	done
}
shell_run() { # LABEL CMD4 CMD6 N
	local label=$1 c4=$2 c6=$3 n=$4 i t0 t1 rules
	shell_prepare "$c4" "$c6" "$n" || { echo "$label: cannot prepare the chain"; return 1; }
	: >"$W/one"
	for ((i = 0; i < SAMPLES; i++)); do
		t0=$(now_us); shell_in "$c4" "$c6" 2 "$i" || return 1; t1=$(now_us)
		echo $((t1 - t0)) >>"$W/one"
	done
	t0=$(now_us)
	for ((i = 0; i < BATCH; i++)); do shell_in "$c4" "$c6" 3 "$i" || return 1; done
	t1=$(now_us)
	rules=$(in_sh "$c4" -w -t mangle -S SHELLPORTAL 2>/dev/null | grep -c -- '--mac-source')
	[ "$rules" = $((n + SAMPLES + BATCH)) ] || { echo "$label: $rules rules in the chain, expected $((n + SAMPLES + BATCH))"; return 1; }
	row "$label" "$(stats "$W/one")" $((t1 - t0))
}

[ "$SHELL_PART" = 0 ] || for n in $COUNTS; do
	echo "-- $n clients already allowed"
	shell_run "shell: iptables-legacy + ip6tables-legacy" iptables-legacy ip6tables-legacy "$n" || exit 1
	shell_run "shell: iptables-legacy, IPv4 only" iptables-legacy "" "$n" || exit 1
	if command -v iptables-nft >/dev/null && command -v ip6tables-nft >/dev/null &&
	   in_sh iptables-nft -t mangle -L >/dev/null 2>&1; then
		shell_run "shell: iptables-nft + ip6tables-nft" iptables-nft ip6tables-nft "$n" || exit 1
	fi
done
if [ "$SHELL_PART" = 1 ]; then
	echo "(shell commands, per client: sh -c 'iptables-legacy -w -t mangle -I SHELLPORTAL -m mac --mac-source M"
	echo " -j MARK --set-xmark 0x10000/0xff0000' and the same with ip6tables-legacy, timed inside the namespace)"
	exit 0
fi

# ---- b. apgated
ip netns add "$NS" || exit 1
ip -n "$NS" link set lo up
ip -n "$NS" link add ap0 type veth peer name dev0
ip -n "$NS" link add up0 type veth peer name inet0
for i in br-guest br-onb; do ip -n "$NS" link add "$i" type veth peer name "$i-p"; ip -n "$NS" link set "$i-p" up; done
for i in ap0 dev0 up0 inet0 br-guest br-onb; do ip -n "$NS" link set "$i" up; done
ip -n "$NS" addr add 10.77.0.1/24 dev ap0
ip -n "$NS" addr add 10.78.0.1/24 dev br-guest
ip -n "$NS" addr add 10.79.0.1/24 dev br-onb
ip -n "$NS" addr add 198.51.100.1/24 dev up0
mkdir -p "$W/ctrl" "$W/client"
zones_conf "$W" "$B" ap0 warn 1000 >"$W/apgate.conf"
ip netns exec "$NS" "$B/fakehapd" -d "$W/ctrl" -i ap0 >"$W/fakehapd.log" 2>&1 &
PEER=$!
ctl() { "$B/apgatectl" -s "$W/admin.sock" "$@"; }
apgated_start() {
	ip netns exec "$NS" "$B/apgated" -f -c "$W/apgate.conf" 2>>"$W/apgated.log" &
	DAEMON=$!
	local end=$((SECONDS + 30))
	until ctl status >/dev/null 2>&1; do
		if [ $SECONDS -ge $end ] || ! kill -0 "$DAEMON" 2>/dev/null; then
			echo "shell comparison: apgated did not start" >&2; tail -20 "$W/apgated.log" >&2; exit 1
		fi
		sleep 0.05
	done
}
apgated_stop() { kill "$DAEMON" 2>/dev/null; wait "$DAEMON" 2>/dev/null; DAEMON=; }
# one admin-socket connection held open; "approve" lines timed one at a time
cat >"$W/adm.py" <<'EOF'
import json, socket, sys, time
sock, macs = sys.argv[1], sys.argv[2:]
s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
s.connect(sock)
f = s.makefile("rb")
start = time.perf_counter()
for m in macs:
    t0 = time.perf_counter()
    s.sendall(json.dumps({"cmd": "approve", "mac": m, "as": "business"}).encode() + b"\n")
    r = json.loads(f.readline())
    t1 = time.perf_counter()
    if not r.get("ok"):
        sys.exit("approve %s: %s" % (m, r))
    print(int((t1 - t0) * 1e6))
# the last line: all of them, without the interpreter's start-up
print("total", int((time.perf_counter() - start) * 1e6))
EOF
apgated_run() { # N
	local n=$1 i t0 t1 now macs=() missing
	apgated_stop
	rm -f "$W"/registry.db*
	apgated_start; apgated_stop # the schema
	now=$(($(date +%s) * 1000))
	# N approved business devices, and the pending ones to let in (tags 2..5)
	sqlite3 "$W/registry.db" "WITH RECURSIVE c(i) AS (SELECT 0 UNION ALL SELECT i + 1 FROM c WHERE i < $n - 1)
		INSERT INTO devices(mac, state, class, ip, bss, first_seen, last_seen, decided_by, decided_via, decided_at)
		SELECT printf('02:5c:01:00:%02x:%02x', (i >> 8) & 255, i & 255), 'approved', 'business',
		       printf('10.77.%d.%d', 1 + i / 250, 2 + i % 250), 'ap0', $now, $now, 'bench', 'bench', $now FROM c;
		WITH RECURSIVE t(k) AS (SELECT 2 UNION ALL SELECT k + 1 FROM t WHERE k < 5),
		     c(i) AS (SELECT 0 UNION ALL SELECT i + 1 FROM c WHERE i < $BATCH - 1)
		INSERT INTO devices(mac, state, first_seen, last_seen)
		SELECT printf('02:5c:%02x:00:%02x:%02x', k, (i >> 8) & 255, i & 255), 'pending', $now, $now FROM t, c;" ||
		{ echo "shell comparison: sqlite3 failed" >&2; exit 1; }
	apgated_start
	: >"$W/one"
	for ((i = 0; i < SAMPLES; i++)); do
		t0=$(now_us); ctl approve "$(mac_of 2 "$i")" --as business >/dev/null || exit 1; t1=$(now_us)
		echo $((t1 - t0)) >>"$W/one"
	done
	t0=$(now_us)
	for ((i = 0; i < BATCH; i++)); do ctl approve "$(mac_of 3 "$i")" --as business >/dev/null || exit 1; done
	t1=$(now_us)
	row "apgated: apgatectl approve (a process per client)" "$(stats "$W/one")" $((t1 - t0))
	for ((i = 0; i < SAMPLES; i++)); do macs+=("$(mac_of 4 "$i")"); done
	python3 "$W/adm.py" "$W/admin.sock" "${macs[@]}" >"$W/adm.out" || exit 1
	grep -v '^total' "$W/adm.out" >"$W/one"
	macs=()
	for ((i = 0; i < BATCH; i++)); do macs+=("$(mac_of 5 "$i")"); done
	python3 "$W/adm.py" "$W/admin.sock" "${macs[@]}" >"$W/adm.out" || exit 1
	row "apgated: approve line on the admin socket" "$(stats "$W/one")" "$(awk '$1 == "total" {print $2}' "$W/adm.out")"
	# every approved client's rule is in the kernel, both families
	for fam in iptables-legacy-save ip6tables-legacy-save; do
		missing=$(ip netns exec "$NS" "$fam" -t mangle | awk -v want=$((n + 2 * SAMPLES + 2 * BATCH)) '
			/-A APGATE_MARK .*--mac-source 02:5c:0[1-5]/ {k++} END {print want - k}')
		[ "$missing" = 0 ] || { echo "shell comparison: $fam: $missing approved clients have no rule" >&2; exit 1; }
	done
}
for n in $COUNTS; do
	echo "-- apgated, $n clients already allowed (registry), IPv4 + IPv6 rules, decision stored with fsync"
	apgated_run "$n"
done
apgated_stop
echo "(apgated: apgatectl -s SOCK approve M --as business; its reply comes after the mangle commits of both"
echo " families; every rule checked with iptables-legacy-save/ip6tables-legacy-save afterwards)"
echo "(reproduce: make bench, or as root: tests/bench/shell_compare.sh $BUILD)"
