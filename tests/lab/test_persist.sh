#!/bin/bash
# test_persist.sh - kill -9 apgated and start it again: every device, every
# decision and the audit trail are still there (devices --json compared field by
# field, ignoring connected and last_seen), and the daemon reconciles with
# hostapd's station list: a station that logged off while apgated was down is
# disconnected, one that arrived meanwhile is there and connected.
# Needs root (namespaces); exit 77 otherwise.
set -u
HERE=$(cd "$(dirname "$0")" && pwd)
. "$HERE/lab.sh"
. "$HERE/tap.sh"

S1=$(lab_mac 1) S2=$(lab_mac 2) S3=$(lab_mac 3) G4=$(lab_mac 4) S5=$(lab_mac 5)

lab_test_begin
lab_add_work_device s1 "$S1"
lab_add_work_device s2 "$S2"
lab_add_work_device s3 "$S3"
lab_add_guest_device g4 "$G4"
lab_sta_start s1; lab_sta_start s2; lab_sta_start s3
lab_dhcp_broadcast g4
for m in "$S1" "$S2" "$S3" "$G4"; do
	check "$m is in the registry" lab_wait_for 10 lab_dev_is "$m" connected true
done

check "approve s1 as business with label, owner and type" \
	lab_ctl approve --as business --label "Receipt printer" --owner "Front desk" --type printer "$S1"
check "block s2" lab_ctl block "$S2"

# devices --json without the fields that may legitimately change, sorted by
# MAC; with arguments: only those MACs
snapshot() {
	lab_ctl devices --json | lab_json 'sorted(({k: v for k, v in x.items() if k not in ("connected", "last_seen")} for x in d if not a or x["mac"] in a), key=lambda x: x["mac"])' "$@"
}
audit() {
	lab_ctl events --json | "$LAB_PY" -c '
import json, sys
print(json.dumps([e for e in map(json.loads, filter(str.strip, sys.stdin)) if e["kind"] == "audit"]))'
}
diff_json() { # A B : prints the differences, exit 1 if any
	"$LAB_PY" -c '
import json, sys
a, b = json.loads(sys.argv[1]), json.loads(sys.argv[2])
if a == b:
    sys.exit(0)
ai = {x.get("mac", i): x for i, x in enumerate(a)} if isinstance(a, list) else {}
bi = {x.get("mac", i): x for i, x in enumerate(b)} if isinstance(b, list) else {}
for k in sorted(set(ai) | set(bi), key=str):
    x, y = ai.get(k), bi.get(k)
    if x != y:
        if x is None or y is None:
            print("%s: %s -> %s" % (k, "present" if x else "absent", "present" if y else "absent"))
        else:
            for f in sorted(set(x) | set(y)):
                if x.get(f) != y.get(f):
                    print("%s %s: %r -> %r" % (k, f, x.get(f), y.get(f)))
sys.exit(1)' "$1" "$2"
}

before=$(snapshot)
audit_before=$(audit)
check_eq "4 devices before the crash" 4 "$(printf '%s' "$before" | lab_json 'len(d)')"
check_eq "2 audit events before the crash" 2 "$(printf '%s' "$audit_before" | lab_json 'len(d)')"

old_pid=$(lab_apgated_pid)
lab_apgated_kill9
check "apgated ($old_pid) is gone after kill -9" _lab_gone "$old_pid"
# while apgated is down: s3 logs off, s5 arrives
lab_sta_logoff s3
check "(apgated down) s3 logged off at hostapd" lab_wait_for 2 eval '! lab_hostapd_authorized ap0 "$S3"'
lab_add_work_device s5 "$S5"
lab_sta_start s5
check "(apgated down) s5 authorized by hostapd" lab_wait_for 10 lab_hostapd_authorized ap0 "$S5"
lab_apgated_start || tap_bail "apgated starts again on the same registry"
check "apgated restarted with a new PID" test "$(lab_apgated_pid)" != "$old_pid"

after=$(snapshot "$S1" "$S2" "$S3" "$G4")
check "devices, states, classes, labels, owners, types and decisions survived" diff_json "$before" "$after"
check "the audit trail survived" diff_json "$audit_before" "$(audit)"
# reconcile with hostapd (STA-FIRST/STA-NEXT after attach)
check "s3, which logged off while apgated was down, is connected=false" lab_wait_for 3 lab_dev_is "$S3" connected false
check "s5, which arrived while apgated was down, is pending and connected" \
	lab_wait_for 3 eval 'lab_dev_is "$S5" connected true && lab_dev_is "$S5" state pending'
check "s1, connected all along, is connected=true" lab_dev_is "$S1" connected true
check_eq "status counts 2 pending, 1 approved, 1 blocked, 1 guest" "2 1 1 1" \
	"$(lab_status_json | lab_json '"%(pending)d %(approved)d %(blocked)d %(guest)d" % d["registry"]["devices"]')"

# a second crash straight after a decision: the decision was durable when the CLI returned
check "approve s5 as business" lab_ctl approve --as business --type pc "$S5"
lab_apgated_kill9
lab_apgated_start || tap_bail "apgated starts a third time"
check_eq "the decision made just before the second kill -9 survived" "approved business pc" \
	"$(lab_ctl show "$S5" --json | lab_json '" ".join((d["state"], d["class"], d["type"]))')"

check "apgated is still running" lab_pid_alive apgated
lab_test_end
