#!/bin/bash
# test_fault_burst.sh - kill -9 apgated in the middle of a burst of 200
# approvals (issue 7, faults): a zones lab (LAB_ZONES=1) with 198 pending
# devices registered over the admin socket (the "lease" verb, as dnsmasq's
# helper does) and two real wired stations, r1 and r2, pending on ap0.
# 200 "apgatectl approve" run, 4 in parallel (r1 the very first, r2 the very
# last); apgated gets SIGKILL once ~80 of them were acknowledged (exit 0).
# apgated restarts on the same registry; then:
#   - every acknowledged approval is in force: state approved + its audit
#     entry; r1 (acknowledged) reaches the internet host;
#   - nothing is half-applied: each of the 200 is either approved with
#     exactly one 'approve' audit entry, or pending with none;
#   - r2 (never acknowledged: approved after the kill) is still pending and
#     its HTTP is redirected to the captive portal;
#   - the firewall (APGATE_* chains and hooks, IPv4 and IPv6, counters and
#     "#" lines stripped) equals what an apgated started from scratch (all
#     APGATE_ chains deleted) on a copy of the same registry builds; and
#     that comparison is shown to catch one stale rule.
# Needs root (namespaces); exit 77 otherwise.
set -u
export LAB_ZONES=1
HERE=$(cd "$(dirname "$0")" && pwd)
. "$HERE/lab.sh"
. "$HERE/tap.sh"

N=200 KILL_AFTER=${KILL_AFTER:-80}
R1=$(lab_mac 1) R2=$(lab_mac 2)
INET=$LAB_INET_IP GW=$LAB_GW_WORK

lab_zones_test_begin
command -v sqlite3 >/dev/null || tap_skip_all "sqlite3 (CLI) not installed"
DB=$LAB_DIR/registry.db
B=$LAB_DIR/burst
mkdir -p "$B/ack"

# ---- 2 real stations + 198 registered devices, all pending ------------------------
lab_add_wired_device r1 "$R1"
lab_add_wired_device r2 "$R2"
check "r1 and r2 get leases in 10.77.0.0/24" eval 'lab_dhcp r1 && lab_dhcp r2'
check "r1 and r2 are pending in apgated" lab_wait_for 3 eval \
	'lab_dev_is "$R1" state pending && lab_dev_is "$R2" state pending'

# the 200 MACs in approval order: r1 first, r2 last
{
	echo "$R1"
	for i in $(seq 1 $((N - 2))); do printf '02:fb:00:00:%02x:%02x\n' $((i >> 8)) $((i & 255)); done
	echo "$R2"
} > "$B/macs"
# lease events over the admin socket, one connection (what apgate-dhcp-script
# sends for dnsmasq); devices 10.200.H.L, hostname fb-I, seen on ap0
register() {
	ip netns exec "$LAB_AP_NS" "$LAB_PY" - "$LAB_ADMIN_SOCK" "$B/macs" <<'EOF'
import json, socket, sys
s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
s.connect(sys.argv[1])
f = s.makefile("rwb")
macs = [m.strip() for m in open(sys.argv[2]) if m.strip()][1:-1]
for i, m in enumerate(macs, 1):
    req = {"cmd": "lease", "action": "add", "mac": m, "ip": "10.200.%d.%d" % (i >> 8, i & 255),
           "hostname": "fb-%d" % i, "interface": "ap0"}
    f.write((json.dumps(req) + "\n").encode()); f.flush()
    r = json.loads(f.readline())
    if not r.get("ok"):
        sys.exit("lease %s: %s" % (m, r))
EOF
}
check "198 devices registered over the admin socket (lease verb)" register
npend() { lab_ctl devices --json | lab_json 'len([x for x in d if x["state"] == "pending"])'; }
check_eq "200 devices pending" "$N" "$(npend)"

rules() { # the APGATE_ chains and the jumps to them, IPv4 and IPv6, each
	local f # line prefixed with its family and table ("4 mangle -A APGATE_MARK ...")
	for f in 4 6; do
		lab_ipt_save "$f" | awk -v f="$f" '/^\*/ {t = substr($0, 2)} /APGATE_/ {print f, t, $0}'
	done
}
settled() { local a b; a=$(rules); sleep 0.5; b=$(rules); [ "$a" = "$b" ]; }

# ---- the burst ------------------------------------------------------------------------
# 4 workers; worker k approves every 4th MAC from k, in order; each result is
# "MAC EXIT" in $B/res; an exit 0 also leaves $B/ack/MAC (counted below)
worker() {
	local k=$1 n=0 mac rc
	while read -r mac; do
		n=$((n + 1))
		[ $(( (n - 1) % 4 )) = "$k" ] || continue
		if [ "$mac" = "$R2" ]; then # the last one: only once apgated is dead
			while [ ! -e "$B/killed" ]; do sleep 0.05; done
		fi
		lab_ctl approve "$mac" --as business >>"$B/out.$k" 2>&1; rc=$?
		echo "$mac $rc" >> "$B/res.$k"
		[ "$rc" = 0 ] && : > "$B/ack/$mac"
	done
}
# r1 first, alone: an approval that surely happened before the kill
lab_ctl approve "$R1" --as business >"$B/out.r1" 2>&1; echo "$R1 $?" > "$B/res.r1"
[ "$(cut -d' ' -f2 "$B/res.r1")" = 0 ] && : > "$B/ack/$R1"
tail -n +2 "$B/macs" > "$B/macs.w"
pids=()
for k in 0 1 2 3; do
	worker "$k" < "$B/macs.w" &
	pids+=($!)
done
nack() { ls "$B/ack" | wc -l; }
check "$KILL_AFTER approvals acknowledged while the burst runs" lab_wait_for 30 eval '[ "$(nack)" -ge "$KILL_AFTER" ]'
lab_apgated_kill9
: > "$B/killed"
tap_diag "apgated killed (SIGKILL) after $(nack) acknowledged approvals"
for p in "${pids[@]}"; do wait "$p"; done
cat "$B"/res.* > "$B/results"
ACKED=$(awk '$2 == 0' "$B/results" | wc -l)
FAILED=$(awk '$2 != 0' "$B/results" | wc -l)
check_eq "every one of the $N approvals ran (acknowledged or failed)" "$N" "$((ACKED + FAILED))"
check "some approvals were acknowledged and some were not ($ACKED / $FAILED)" \
	test "$ACKED" -ge "$KILL_AFTER" -a "$FAILED" -ge 1
check "r1 was acknowledged, r2 was not (apgated was gone)" eval \
	'grep -qx "$R1 0" "$B/results" && ! grep -qx "$R2 0" "$B/results"'
check "a refused approval says why (cannot reach apgated)" \
	grep -qiE 'connect|apgated' "$B/out.$(( (N - 1) % 4 ))"

# ---- restart on the same registry ---------------------------------------------------------
lab_apgated_start || tap_bail "apgated starts again on the same registry after kill -9"
check "rules settle after the restart" lab_wait_for 10 settled

# state and 'approve' audit entries per MAC, straight from the registry
lab_ctl devices --json | lab_json '"\n".join("%s %s" % (x["mac"], x["state"]) for x in d)' > "$B/states"
sqlite3 "file:$DB?mode=ro" "SELECT mac, count(*) FROM events WHERE kind = 'audit' AND action = 'approve' GROUP BY mac" |
	tr '|' ' ' > "$B/audits"
verdict() { # per MAC, in approval order: "MAC acked|unacked STATE AUDITS"
	awk 'FILENAME == ARGV[1] {st[$1] = $2; next}
	     FILENAME == ARGV[2] {au[$1] = $2; next}
	     FILENAME == ARGV[3] {if ($2 == 0) ack[$1] = 1; next}
	     {print $1, ($1 in ack) ? "acked" : "unacked", ($1 in st) ? st[$1] : "missing", au[$1] + 0}' \
		"$B/states" "$B/audits" "$B/results" "$B/macs"
}
verdict > "$B/verdict"
check "every acknowledged approval is in force (approved, one audit entry)" eval \
	'! awk '\''$2 == "acked" && ($3 != "approved" || $4 != 1)'\'' "$B/verdict" | grep .'
check "nothing half-applied (approved with its audit entry, or pending without one)" eval \
	'! awk '\''!(($3 == "approved" && $4 == 1) || ($3 == "pending" && $4 == 0))'\'' "$B/verdict" | grep .'
tap_diag "$(awk '{c[$2 " " $3]++} END {for (k in c) print c[k], k}' "$B/verdict" | sort -k2)"
check "r1 (acknowledged) reaches the internet host" lab_wait_for 3 lab_http_is r1 "http://$INET/" 200 internet-ok
check_eq "r2 (not acknowledged) is still pending" pending "$(lab_dev_field "$R2" state)"
check "r2 is redirected to the captive portal" lab_http_redirects r2 http://any-name.test/ "$GW"
check "r2 does not reach the internet host (TCP 443 refused)" lab_tcp_is r2 "$INET" 443 refused

# ---- the firewall equals a fresh rebuild -----------------------------------------------------
rules > "$B/rules.after"
check "the rules after the restart hold per-device rules (r1's MAC)" grep -qi -- "--mac-source $R1" "$B/rules.after"
lab_apgated_stop
drop_chains() { # every APGATE_ chain and jump to one gone, everything else kept
	local v
	for v in iptables-legacy ip6tables-legacy; do
		ip netns exec "$LAB_AP_NS" "$v-save" | grep -v APGATE_ | ip netns exec "$LAB_AP_NS" "$v-restore" || return 1
	done
	! lab_ipt_save 4 | grep -q APGATE_ && ! lab_ipt_save 6 | grep -q APGATE_
}
check "all APGATE_ chains deleted (a clean kernel for the fresh build)" drop_chains
check "registry copied (sqlite3 .backup)" sqlite3 "$DB" ".backup '$LAB_DIR/registry-copy.db'"
sed -i "s|^registry = .*|registry = $LAB_DIR/registry-copy.db|" "$LAB_APGATED_CONF"
lab_apgated_start || tap_bail "a fresh apgated starts on the copy of the registry"
check "rules settle after the fresh start" lab_wait_for 10 settled
rules > "$B/rules.fresh"
check "iptables-save (APGATE_ chains, IPv4 + IPv6) after the kill -9 restart equals a fresh build" \
	diff -u "$B/rules.fresh" "$B/rules.after"
tap_diag "$(grep -c -- '--mac-source' "$B/rules.fresh") per-MAC rules compared"
# negative check: the comparison sees one stale rule (a pending device's MAC
# let through in APGATE_MARK, as a half-applied approval would leave it)
mark=$(sed -n 's/^4 mangle //p' "$B/rules.fresh" | grep -m1 -E '^-A APGATE_MARK .*--mac-source')
stale=$(awk '$2 == "unacked" && $3 == "pending" {print $1; exit}' "$B/verdict")
check "a pending device to make stale: $stale; a per-MAC rule to copy: ${mark:0:60}..." test -n "$stale" -a -n "$mark"
ip netns exec "$LAB_AP_NS" iptables-legacy -t mangle -A APGATE_MARK -m mac --mac-source "$stale" \
	$(sed -E 's/^-A APGATE_MARK -m mac --mac-source [0-9A-Fa-f:]+ //' <<<"$mark")
check "negative: with one stale rule added the comparison fails" eval '! diff -q <(rules) "$B/rules.fresh" >/dev/null'
ip netns exec "$LAB_AP_NS" iptables-legacy -t mangle -D APGATE_MARK -m mac --mac-source "$stale" \
	$(sed -E 's/^-A APGATE_MARK -m mac --mac-source [0-9A-Fa-f:]+ //' <<<"$mark")
# and one missing rule (r1's)
line=$(sed -n 's/^4 mangle //p' "$B/rules.fresh" | grep -m1 -iE "^-A APGATE_MARK .*--mac-source $R1")
check "r1 has a rule in APGATE_MARK" test -n "$line"
ip netns exec "$LAB_AP_NS" iptables-legacy -t mangle ${line/-A/-D}
check "negative: with r1's rule missing the comparison fails" eval '! diff -q <(rules) "$B/rules.fresh" >/dev/null'
ip netns exec "$LAB_AP_NS" iptables-legacy -t mangle ${line/-A/-A}

check "apgated is still running" lab_pid_alive apgated
lab_test_end
