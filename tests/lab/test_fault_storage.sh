#!/bin/bash
# test_fault_storage.sh - the registry's file system full and the registry
# locked (issue 7, faults). The test runs in a private mount namespace of its
# own (unshare -m, propagation private: the host's mounts are untouched) with
# a 1 MiB tmpfs holding registry.db; a zones lab (LAB_ZONES=1), a real wired
# station r1 pending on ap0.
#   1. tmpfs filled with a file: "apgatectl approve r1" exits non-zero and
#      says "apgatectl: decision not stored: the registry's file system is full; free
#      some space, then try again"; apgated keeps
#      running and answering (ping, status); r1 still pending, no audit
#      entry, iptables-save unchanged, r1 still redirected to the captive
#      portal. An 802.1X station s3 connecting meanwhile (hostapd events that
#      cannot be recorded) and a lease renewal do not crash it. Space freed:
#      the same approve works and r1 reaches the internet host, and s3 shows
#      up (pending, connected) without any new event from it: apgated asks
#      hostapd's station list again after a failed record (hapd_conn_resync).
#   2. another process holds BEGIN EXCLUSIVE on the registry (python3's
#      sqlite3): "apgatectl approve r2" fails within 5 s saying "decision not
#      stored: the registry is locked by another program; try again" (after the registry's 200 ms wait); apgated answers; r2 pending, firewall unchanged;
#      lock released: the same approve works.
# Needs root (namespaces); exit 77 otherwise.
set -u
if [ -z "${APG_FAULT_STORAGE_NS:-}" ]; then
	[ "$(id -u)" = 0 ] || { echo "# SKIP: needs root"; exit 77; }
	command -v unshare >/dev/null || { echo "# SKIP: unshare not installed"; exit 77; }
	APG_FAULT_STORAGE_NS=1 exec unshare -m --propagation private bash "$0" "$@"
fi
export LAB_ZONES=1
HERE=$(cd "$(dirname "$0")" && pwd)
. "$HERE/lab.sh"
. "$HERE/tap.sh"

R1=$(lab_mac 1) R2=$(lab_mac 2) S3=$(lab_mac 3)
INET=$LAB_INET_IP GW=$LAB_GW_WORK

lab_require
command -v sqlite3 >/dev/null || tap_skip_all "sqlite3 (CLI) not installed"
command -v iptables-legacy >/dev/null || tap_skip_all "iptables-legacy not installed"
REGFS=$(mktemp -d /tmp/apgate-regfs.XXXXXX)
mount -t tmpfs -o size=1m,mode=0755 apgate-regfs "$REGFS" || { rmdir "$REGFS"; tap_skip_all "cannot mount a tmpfs"; }
LOCKER=
cleanup() {
	[ -z "$LOCKER" ] || { kill "$LOCKER" 2>/dev/null; wait "$LOCKER" 2>/dev/null; }
	_lab_exit
	umount "$REGFS" && rmdir "$REGFS"
}
trap cleanup EXIT; trap 'exit 130' INT; trap 'exit 143' TERM
lab_up || tap_bail "zones lab comes up"
lab_apgated_write_zones_conf
DB=$REGFS/registry.db
sed -i "s|^registry = .*|registry = $DB|" "$LAB_APGATED_CONF"
lab_apgated_start || tap_bail "apgated starts with its registry on the 1 MiB tmpfs"
lab_zones_dnsmasq_start || tap_bail "dnsmasq starts on the conf apgated wrote"
check "the registry is on the tmpfs (private mount namespace)" eval \
	'[ -s "$DB" ] && findmnt -n -o FSTYPE --target "$DB" | grep -qx tmpfs'

lab_add_wired_device r1 "$R1"; lab_add_wired_device r2 "$R2"; lab_add_work_device s3 "$S3"
check "r1 and r2 get leases, pending" eval 'lab_dhcp r1 && lab_dhcp r2 && lab_wait_for 3 eval \
	"lab_dev_is $R1 state pending && lab_dev_is $R2 state pending"'

rules() { printf '### ipv4\n%s\n### ipv6\n%s\n' "$(lab_ipt_save 4)" "$(lab_ipt_save 6)"; }
audits() { sqlite3 "file:$DB?mode=ro" "SELECT count(*) FROM events WHERE kind = 'audit' AND mac = '$1'"; }
serving() { # the admin socket's ping verb and status both answer within 2 s
	timeout 2 ip netns exec "$LAB_AP_NS" "$LAB_PY" -c '
import json, socket, sys
s = socket.socket(socket.AF_UNIX); s.settimeout(2); s.connect(sys.argv[1])
s.sendall(b"{\"cmd\":\"ping\"}\n")
r = json.loads(s.makefile().readline())
sys.exit(0 if r.get("pong") else 1)' "$LAB_ADMIN_SOCK" && timeout 2 "$BUILD/apgatectl" -s "$LAB_ADMIN_SOCK" status >/dev/null
}
APPROVE_OUT=$LAB_DIR/approve.out
approve() { # MAC : apgatectl approve; exit status and output in APPROVE_RC / APPROVE_OUT
	timeout 20 "$BUILD/apgatectl" -s "$LAB_ADMIN_SOCK" approve "$1" --as business >"$APPROVE_OUT" 2>&1
	APPROVE_RC=$?
}

# ---- 1. file system full ---------------------------------------------------------------
before=$(rules)
dd if=/dev/zero of="$REGFS/fill" bs=4k 2>/dev/null
check "the tmpfs is full (df: 0 bytes available)" eval '[ "$(df --output=avail -B1 "$REGFS" | tail -n 1 | tr -d " ")" = 0 ]'
approve "$R1"
check "full: approve r1 is not acknowledged (exit status non-zero)" test "$APPROVE_RC" != 0
tap_diag "apgatectl said: $(cat "$APPROVE_OUT")"
check_match "full: the user is told the decision was not stored, and why (no space)" \
	'^apgatectl: decision not stored: the registry.s file system is full; free some space, then try again' "$(cat "$APPROVE_OUT")"
check "full: apgated keeps serving (ping, status)" serving
check_eq "full: r1 is still pending" pending "$(lab_dev_field "$R1" state)"
check_eq "full: r1 has no audit entry" 0 "$(audits "$R1")"
check "full: the firewall is unchanged" eval '[ "$(rules)" = "$before" ]'
check "full: r1 is still redirected to the captive portal" lab_http_redirects r1 http://any-name.test/ "$GW"
# observations while full: a new 802.1X station (hostapd's AP-STA-CONNECTED),
# a lease renewal, a second approve attempt
lab_sta_start s3
check "full: s3 authenticates on ap0 (hostapd events to apgated)" lab_wait_for 10 lab_hostapd_authorized ap0 "$S3"
lab_dhcp r2 >/dev/null
approve "$R1"
check "full: observations (a new station, a lease) and a second attempt do not crash apgated" serving
check "full: apgated logged the failure" grep -qE 'No space left|registry full' "$LAB_DIR/apgated.log"
check "full: the firewall is still unchanged" eval '[ "$(rules)" = "$before" ]'

rm -f "$REGFS/fill"
approve "$R1"
check "space freed: the same approve is acknowledged" test "$APPROVE_RC" = 0
check_eq "space freed: r1 approved, one audit entry" "approved 1" "$(lab_dev_field "$R1" state) $(audits "$R1")"
check "space freed: r1 reaches the internet host" lab_wait_for 3 lab_http_is r1 "http://$INET/" 200 internet-ok
check "space freed: s3, whose events were lost, is recorded from hostapd's station list (pending, connected)" lab_wait_for 5 eval \
	'[ "$(lab_dev_field "$S3" state) $(lab_dev_field "$S3" connected)" = "pending true" ]'

# ---- 2. registry locked ----------------------------------------------------------------------
before=$(rules)
rm -f "$LAB_DIR/locked"
"$LAB_PY" - "$DB" "$LAB_DIR/locked" "$LAB_DIR/unlock" <<'EOF' &
import os, sqlite3, sys, time
db = sqlite3.connect(sys.argv[1], isolation_level=None, timeout=5)
db.execute("BEGIN EXCLUSIVE")
open(sys.argv[2], "w").close()
while not os.path.exists(sys.argv[3]):
    time.sleep(0.05)
db.execute("ROLLBACK")
EOF
LOCKER=$!
check "another process holds BEGIN EXCLUSIVE on the registry" lab_wait_for 5 test -e "$LAB_DIR/locked"
t0=$(_lab_now_us)
approve "$R2"
el=$(( ($(_lab_now_us) - t0) / 1000 ))
check "locked: approve r2 is not acknowledged (exit status non-zero)" test "$APPROVE_RC" != 0
tap_diag "apgatectl said after $el ms: $(cat "$APPROVE_OUT")"
check_match "locked: the user is told the decision was not stored, and why (busy)" \
	'^apgatectl: decision not stored: the registry is locked by another program; try again' "$(cat "$APPROVE_OUT")"
check "locked: the answer came within 5 s ($el ms)" test "$el" -lt 5000
check "locked: apgated keeps serving (ping, status)" serving
check_eq "locked: r2 is still pending" pending "$(lab_dev_field "$R2" state)"
check "locked: the firewall is unchanged" eval '[ "$(rules)" = "$before" ]'
: > "$LAB_DIR/unlock"; wait "$LOCKER"; LOCKER=
approve "$R2"
check "lock released: the same approve is acknowledged" test "$APPROVE_RC" = 0
check_eq "lock released: r2 approved, one audit entry" "approved 1" "$(lab_dev_field "$R2" state) $(audits "$R2")"
check "lock released: r2 reaches the internet host" lab_wait_for 3 lab_http_is r2 "http://$INET/" 200 internet-ok

check "apgated is still running (same PID)" lab_pid_alive apgated
lab_test_end
