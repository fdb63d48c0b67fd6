#!/bin/bash
# test_decisions.sh - approve / block / forget through apgatectl on devices
# that real stations brought into the registry: state, class, label, type and
# an audit event (actor, via cli) for each decision; MAC spellings; usage errors.
# Needs root (namespaces); exit 77 otherwise.
set -u
HERE=$(cd "$(dirname "$0")" && pwd)
. "$HERE/lab.sh"
. "$HERE/tap.sh"

S1=$(lab_mac 1)          # 02:00:00:00:01:01
S2=$(lab_mac 10)         # 02:00:00:00:0a:0a (hex letters: spelling checks)
S2_UPPER_DASH=02-00-00-00-0A-0A

lab_test_begin
lab_add_work_device s1 "$S1"
lab_add_work_device s2 "$S2"
lab_sta_start s1
lab_sta_start s2
check "s1 is pending in the registry" lab_wait_for 10 lab_dev_is "$S1" state pending
check "s2 is pending in the registry" lab_wait_for 10 lab_dev_is "$S2" state pending

# audit_event ACTION MAC : the newest audit event ACTION for MAC from "events --json"
audit_event() {
	lab_ctl events --json | "$LAB_PY" -c '
import json, sys
hit = None
for line in sys.stdin:
    line = line.strip()
    if not line:
        continue
    e = json.loads(line)
    if e.get("kind") == "audit" and e.get("action") == sys.argv[1] and e.get("mac") == sys.argv[2]:
        hit = e
print(json.dumps(hit))
sys.exit(0 if hit else 1)' "$1" "$2"
}
show() { lab_ctl show "$1" --json; }

# ---- approve ----
# the documented spelling: MAC first, options after it
out=$(lab_ctl approve "$S1" --as business --label "Till 1" --type pos 2>&1); rc=$?
check_eq "approve $S1 --as business --label 'Till 1' --type pos exits 0" 0 "$rc" || tap_diag "$out"
dj=$(show "$S1")
check_eq "s1 is approved, class business" "approved business" \
	"$(printf '%s' "$dj" | lab_json 'd["state"] + " " + d["class"]')"
check_eq "s1 label 'Till 1', type pos" "Till 1/pos" \
	"$(printf '%s' "$dj" | lab_json 'd["label"] + "/" + d["type"]')"
check_eq "s1 decided via cli, by someone, at some time" "cli true true" \
	"$(printf '%s' "$dj" | lab_json '"%s %s %s" % (d["decided_via"], json.dumps(bool(d["decided_by"])), json.dumps(bool(d["decided_at"])))')"
ev=$(audit_event approve "$S1")
check "events --json holds an audit 'approve' for s1" test -n "$ev" -a "$ev" != null
check_eq "the approve audit event names an actor and via cli" "true cli" \
	"$(printf '%s' "$ev" | lab_json '"%s %s" % (json.dumps(bool(d["actor"])), d["via"])')"
check_eq "the audit actor is the decision's decided_by" \
	"$(printf '%s' "$dj" | lab_json 'd["decided_by"]')" "$(printf '%s' "$ev" | lab_json 'd["actor"]')"
check_eq "show s1 lists the approve in its own events" 1 \
	"$(printf '%s' "$dj" | lab_json 'sum(1 for e in d["events"] if e["kind"] == "audit" and e["action"] == "approve")')"
check_eq "'devices --state approved' lists s1 only" "$S1" \
	"$(lab_ctl devices --state approved --json | lab_json '" ".join(x["mac"] for x in d)')"

# ---- block ----
out=$(lab_ctl block "$S1" 2>&1)
check_eq "block s1 exits 0" 0 "$?" || tap_diag "$out"
check_eq "s1 is blocked" blocked "$(show "$S1" | lab_json 'd["state"]')"
ev=$(audit_event block "$S1")
check_eq "events --json holds an audit 'block' for s1, via cli" cli "$(printf '%s' "$ev" | lab_json 'd["via"]')"

# ---- forget ----
# s1 leaves first (EAPOL-Logoff), so that nothing brings it back right away
lab_sta_logoff s1
check "s1 shows as disconnected after its EAPOL-Logoff" lab_wait_for 2 lab_dev_is "$S1" connected false
out=$(lab_ctl forget "$S1" 2>&1)
check_eq "forget s1 exits 0" 0 "$?" || tap_diag "$out"
out=$(lab_ctl show "$S1" --json 2>&1)
check_eq "show of a forgotten device exits 1" 1 "$?" || tap_diag "$out"
check_eq "s1 is gone from devices" null "$(lab_dev_json "$S1")"
ev=$(audit_event forget "$S1")
check_eq "the audit trail keeps a 'forget' for s1, via cli" cli "$(printf '%s' "$ev" | lab_json 'd["via"]')"
check "the audit trail still has the approve of the forgotten s1" audit_event approve "$S1"

# ---- MAC spellings and usage errors ----
out=$(lab_ctl approve --as personal --owner "Aiko" "$S2_UPPER_DASH" 2>&1)
check_eq "approve --as personal $S2_UPPER_DASH (upper case, dashes) exits 0" 0 "$?" || tap_diag "$out"
check_eq "s2 ($S2) is approved as personal, owner Aiko" "approved personal Aiko" \
	"$(show "$S2" | lab_json '" ".join((d["state"], d["class"], d["owner"]))')"
check_eq "show accepts the upper-case dashed spelling too" "$S2" \
	"$(lab_ctl show "$S2_UPPER_DASH" --json | lab_json 'd["mac"]')"

bad=02:00:00:00:0a
out=$(lab_ctl approve "$bad" --as business 2>&1)
check_eq "approve of a bad MAC ($bad) exits 2" 2 "$?"
check_match "... with a message naming the bad MAC" "$bad.*(MAC|mac)|(MAC|mac).*$bad" "$out"
bad=02:00:00:00:0a:0g
out=$(lab_ctl block "$bad" 2>&1)
check_eq "block of a bad MAC ($bad) exits 2" 2 "$?" || tap_diag "$out"
out=$(lab_ctl approve "$S2" 2>&1)
check_eq "approve without --as exits 2" 2 "$?" || tap_diag "$out"
out=$(lab_ctl approve --as boss "$S2" 2>&1)
check_eq "approve --as boss exits 2" 2 "$?" || tap_diag "$out"
check_eq "usage errors changed nothing (s2 still approved personal)" "approved personal" \
	"$(show "$S2" | lab_json 'd["state"] + " " + d["class"]')"

check "apgated is still running" lab_pid_alive apgated
lab_test_end
