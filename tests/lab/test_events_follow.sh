#!/bin/bash
# test_events_follow.sh - "apgatectl events --follow --json" running in the
# background prints, line by line as they happen, a new station's connection,
# another station's failed EAP authentication and an approve; it keeps running
# (a stream, not a one-shot list); kinds and actions use the documented names.
# Needs root (namespaces); exit 77 otherwise.
set -u
HERE=$(cd "$(dirname "$0")" && pwd)
. "$HERE/lab.sh"
. "$HERE/tap.sh"

S1=$(lab_mac 1) G2=$(lab_mac 2) S3=$(lab_mac 3)

lab_test_begin
lab_add_work_device s1 "$S1"
lab_add_guest_device g2 "$G2"
lab_add_work_device s3 "$S3" lab-s3 wrong-password

OUT=$LAB_DIR/follow.out
: > "$OUT"
# in the AP namespace so that lab_down stops it whatever happens
lab_spawn follow "$OUT" "$LAB_DIR/follow.err" ip netns exec "$LAB_AP_NS" \
	"$BUILD/apgatectl" -s "$LAB_ADMIN_SOCK" events --follow --json

# has_event KIND ACTION MAC : a line of $OUT is that event (prints its line number)
has_event() {
	"$LAB_PY" -c '
import json, sys
for n, line in enumerate(open(sys.argv[1]), 1):
    try:
        e = json.loads(line)
    except ValueError:
        continue
    if (e.get("kind"), e.get("action"), e.get("mac")) == tuple(sys.argv[2:5]):
        print(n)
        sys.exit(0)
sys.exit(1)' "$OUT" "$@"
}

# a guest DHCP first: once its event is printed the follower is surely subscribed
lab_dhcp_broadcast g2
check "the follower prints g2's connection (guest DHCP on ap1)" lab_wait_for 3 has_event conn connected "$G2"

lab_sta_start s1
lab_sta_start s3
check "s1 authorized by hostapd" lab_wait_for 10 lab_hostapd_authorized ap0 "$S1"
check "the follower prints s1's 'connected' within 1 s" lab_wait_for 1 has_event conn connected "$S1"
tap_diag "printed ${LAB_WAITED}s after hostapd reported it"
check "the follower prints s1's 'eap_success'" lab_wait_for 1 has_event conn eap_success "$S1"
check "the follower prints s3's 'eap_failure' (wrong password)" lab_wait_for 3 has_event conn eap_failure "$S3"

check "approve s1" lab_ctl approve --as business --label "Back office PC" "$S1"
check "the follower prints the approve within 1 s" lab_wait_for 1 has_event audit approve "$S1"
tap_diag "printed ${LAB_WAITED}s after apgatectl approve returned"

check "connection line comes before approve line" \
	test "$(has_event conn connected "$S1")" -lt "$(has_event audit approve "$S1")"
check_eq "every line is a JSON object with the documented fields" "" "$("$LAB_PY" -c '
import json, sys
bad = []
for n, line in enumerate(open(sys.argv[1]), 1):
    try:
        e = json.loads(line)
        miss = [k for k in ("id","ts","kind","action","mac","bss","actor","via","detail") if k not in e]
        if miss: bad.append("line %d lacks %s" % (n, ",".join(miss)))
        elif e["kind"] not in ("conn", "audit"): bad.append("line %d kind %r" % (n, e["kind"]))
    except ValueError:
        bad.append("line %d is not JSON: %r" % (n, line[:80]))
print("; ".join(bad))' "$OUT")"
check_eq "kinds and actions are the documented ones" "" "$("$LAB_PY" -c '
import json, sys
ok = {"conn": {"connected", "disconnected", "eap_success", "eap_failure", "present"},
      "audit": {"approve", "block", "forget"}}
bad = set()
for line in open(sys.argv[1]):
    try:
        e = json.loads(line)
    except ValueError:
        continue
    if e.get("action") not in ok.get(e.get("kind"), ()):
        bad.add("%s/%s" % (e.get("kind"), e.get("action")))
print(" ".join(sorted(bad)))' "$OUT")"
check_eq "the approve line says via cli, bss of a conn line is ap0" "cli ap0" "$("$LAB_PY" -c '
import json, sys
ev = [json.loads(l) for l in open(sys.argv[1]) if l.strip()]
a = [e for e in ev if e["kind"] == "audit" and e["action"] == "approve"][-1]
c = [e for e in ev if e["kind"] == "conn" and e["action"] == "connected" and e["mac"] == sys.argv[2]][-1]
print(a["via"], c["bss"])' "$OUT" "$S1")"
check "the follower is still running" lab_pid_alive follow
check_eq "the follower wrote nothing on stderr" "" "$(cat "$LAB_DIR/follow.err")"

lab_stop follow
tap_diag "follower output:" "$(cat "$OUT")"
lab_test_end
