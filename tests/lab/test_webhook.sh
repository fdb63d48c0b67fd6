#!/bin/bash
# test_webhook.sh - alert delivery ([alerts]): a webhook receiver in another
# namespace (the lab's LAN host, 192.168.50.10) gets the new-device alert as
# JSON; while the receiver hangs (accepts, never answers) the alert is retried
# with back-off and apgated's event loop keeps answering the admin socket at
# once (measured); once a real receiver listens, the alert arrives. E-mail:
# a recording stand-in for the local MTA's sendmail command line gets a
# well-formed message (sendmail -t -i, To:, Subject:, Date:), and a host name
# with CR/LF in it cannot add a header.
#
# apgated config: the zones lab plus [alerts] webhook =
#   http://192.168.50.10:8099/hook, webhook_timeout_ms = 800, retry_max = 2,
#   mail_to = it@shop.example, sendmail = $LAB_DIR/sendmail (the stand-in).
# Needs root (namespaces); exit 77 otherwise.
set -u
export LAB_ZONES=1
HERE=$(cd "$(dirname "$0")" && pwd)
. "$HERE/lab.sh"
. "$HERE/tap.sh"

O1=$(lab_mac 1) M2=02:00:00:00:7e:02
PORT=8099
command -v python3 >/dev/null || tap_skip_all "python3 not installed"
lab_require
command -v iptables-legacy >/dev/null || tap_skip_all "iptables-legacy not installed"
command -v curl >/dev/null || tap_skip_all "curl not installed"
lab_trap
lab_up || tap_bail "zones lab comes up"
HOOKS=$LAB_DIR/hooks.jsonl MAILS=$LAB_DIR/mail
mkdir -p "$MAILS"
# the stand-in for sendmail: records its arguments and the message
cat > "$LAB_DIR/sendmail" <<SH
#!/bin/sh
n=\$(date +%s%N)
printf '%s\n' "\$@" > "$MAILS/\$n.args"
cat > "$MAILS/\$n.tmp" && mv "$MAILS/\$n.tmp" "$MAILS/\$n.eml"
SH
chmod +x "$LAB_DIR/sendmail"
# receiver.py MODE PORT FILE : "hook" answers 200 and appends each POST's
# Content-Type and body as one line; "hang" accepts and never answers
cat > "$LAB_DIR/receiver.py" <<'PY'
import http.server, socket, socketserver, sys
mode, port, out = sys.argv[1], int(sys.argv[2]), sys.argv[3]
if mode == "hang":
    s = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    s.bind(("192.168.50.10", port)); s.listen(64); held = []
    open(out, "a").close()
    while True:
        c, _ = s.accept(); held.append(c)
        with open(out, "a") as f: f.write("connection\n")
class H(http.server.BaseHTTPRequestHandler):
    def do_POST(self):
        body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
        with open(out, "ab") as f:
            f.write(self.headers.get("Content-Type", "").encode() + b" " + self.path.encode() + b" " + body + b"\n")
        self.send_response(200); self.send_header("Content-Length", "0"); self.end_headers()
    def log_message(self, *a): pass
# socketserver's bind: HTTPServer's would look up the host's name (DNS,
# unreachable from this namespace: seconds)
class S(socketserver.TCPServer): allow_reuse_address = True
S(("192.168.50.10", port), H).serve_forever()
PY
lab_apgated_write_zones_conf "
[alerts]
webhook = http://$LAB_LAN_IP:$PORT/hook
webhook_timeout_ms = 800
retry_max = 2
mail_to = it@shop.example
sendmail = $LAB_DIR/sendmail"
lab_apgated_start || tap_bail "apgated starts with [alerts] webhook and mail_to"
lab_zones_dnsmasq_start || tap_bail "dnsmasq starts on the conf apgated wrote"

# ---- the receiver hangs: retried, and the loop never waits ----
lab_spawn hang "$LAB_DIR/receiver.log" "$LAB_DIR/receiver.log" ip netns exec "$LAB_LAN_NS" \
	python3 "$LAB_DIR/receiver.py" hang "$PORT" "$LAB_DIR/hang.log"
lab_wait_for 10 _lab_listening "$LAB_LAN_NS" tcp "$PORT" || tap_bail "the hanging receiver listens"
lab_add_onboarding_device o1 "$O1"
check "o1 gets a lease" lab_dhcp o1 till-1
check "apgated lists o1 as pending" lab_wait_for 3 lab_dev_is "$O1" state pending
check "the new_device alert is raised for o1" lab_wait_for 3 eval "lab_ctl alerts | grep -q '$O1'"
check "apgated connects to the hanging receiver" lab_wait_for 3 grep -q connection "$LAB_DIR/hang.log"
# 15 admin-socket round trips over ~2.5 s while attempts time out (800 ms each)
worst=0
for i in $(seq 15); do
	t0=$(date +%s%N)
	lab_ctl status >/dev/null 2>&1 || worst=99999
	ms=$(( ($(date +%s%N) - t0) / 1000000 ))
	(( ms > worst )) && worst=$ms
	sleep 0.1
done
tap_diag "slowest apgatectl status while the webhook hangs: $worst ms"
check "apgatectl status answers within 500 ms each time while the webhook hangs (an attempt takes 800 ms; slowest $worst ms)" \
	test "$worst" -lt 500
check "attempts time out and are retried (log)" \
	grep -q "alerts: webhook: alert #[0-9]* not delivered (.*); retrying in 1 s" "$LAB_DIR/apgated.log"
check "more than one attempt was made (back-off, not given up)" \
	eval '[ "$(grep -c connection "$LAB_DIR/hang.log")" -ge 2 ]'
check_eq "nothing delivered yet" "" "$(cat "$HOOKS" 2>/dev/null)"
# what an admin sees in apgatectl status while the webhook fails
alerts_health() { lab_ctl --json status | python3 -c 'import json,sys
d = json.load(sys.stdin); c = [c for c in d["health"]["checks"] if c["name"] == "alerts"]
print(c[0]["level"] + " " + c[0]["message"] if c else "none")'; }
check_match "status health: alerts warn while the webhook fails (waiting, failed attempts, next try)" \
	'^warn webhook: 1 alert waiting, [0-9]+ failed attempts? \(.*\), next in [0-9]+ s; mail: ' "$(alerts_health)"

# ---- a receiver listens: the alert arrives ----
lab_stop hang
lab_spawn hook "$LAB_DIR/receiver.log" "$LAB_DIR/receiver.log" ip netns exec "$LAB_LAN_NS" \
	python3 "$LAB_DIR/receiver.py" hook "$PORT" "$HOOKS"
check "the receiver listens" lab_wait_for 10 _lab_listening "$LAB_LAN_NS" tcp "$PORT"
# the next attempt comes within retry_max (2 s) + the timeout
check "the new-device alert arrives once the receiver is up (within 5 s)" \
	lab_wait_for 5 grep -q '"new_device"' "$HOOKS"
check "delivered once" eval '[ "$(grep -c "\"new_device\"" "$HOOKS")" = 1 ]'
# the first new_device POST, one field a line: content type and path, mac,
# device ip and zone, label, id/ts/message/ap sane (1)
mapfile -t H < <(python3 -c '
import json, sys
for line in open(sys.argv[1]):
    ctype, path, body = line.rstrip("\n").split(" ", 2)
    j = json.loads(body)
    if j["kind"] == "new_device":
        d = j.get("device", {})
        print(ctype, path); print(j["mac"]); print(d.get("ip"), d.get("zone")); print(d.get("label"))
        print(int(j["id"] > 0 and j["ts"] > 1.7e12 and "waiting for approval" in j["message"] and j["ap"] != ""))
        break' "$HOOKS" 2>&1)
check_eq "POST /hook with Content-Type application/json" "application/json /hook" "${H[0]:-}"
check_eq "JSON: mac" "$O1" "${H[1]:-}"
check_eq "JSON: the device's address and zone" "$(lab_dev_ip o1) onboarding" "${H[2]:-}"
check_eq "JSON: the device's name" "till-1" "${H[3]:-}"
check_eq "JSON: id, ts, message and the AP's host name" 1 "${H[4]:-}"
check "status still answers" lab_ctl status
check_match "status health: alerts ok once delivered" '^ok webhook: [1-9][0-9]* delivered, 0 waiting; mail: [0-9]+ sent, 0 failed' \
	"$(alerts_health)"

# ---- e-mail through the sendmail stand-in ----
check "sendmail was run for the alert" lab_wait_for 3 eval "grep -l 'approval.*$O1' '$MAILS'/*.eml >/dev/null 2>&1"
first=$(grep -l "approval.*$O1" "$MAILS"/*.eml 2>/dev/null | head -n 1)
first=${first:-/dev/null}
check_eq "sendmail's arguments: -t -i" "-t -i" "$(tr '\n' ' ' < "${first%.eml}.args" | sed 's/ $//')"
# mail_fields FILE : To, Subject, header names, Bcc, Date+type+charset ok (1),
# the body's Address line, the parse defects - one a line
mail_fields() {
	python3 -c '
import email, email.policy, sys
m = email.message_from_binary_file(open(sys.argv[1], "rb"), policy=email.policy.default)
print(m["To"]); print(m["Subject"]); print(" ".join(m.keys())); print(m["Bcc"])
print(int(bool(m["Date"]) and m.get_content_type() == "text/plain" and m.get_content_charset() == "utf-8"))
print([l for l in m.get_content().splitlines() if l.startswith("Address:")]); print(m.defects)' "$1" 2>&1
}
mapfile -t M < <(mail_fields "$first")
check_eq "To: the configured address" "it@shop.example" "${M[0]:-}"
check_match "Subject names the AP and says a new device waits" \
	"^\[apgate .+\] A new device is waiting for approval: till-1 \($O1\)\$" "${M[1]:-}"
check_eq "Date: and Content-Type text/plain UTF-8" 1 "${M[4]:-}"
check_eq "the body names the device's address" "['Address:      $(lab_dev_ip o1)']" "${M[5]:-}"
check_eq "the message has no parse defects" "[]" "${M[6]:-}"

# a host name with CR/LF (sent on the admin socket's lease verb, as the lease
# helper would pass a hostile DHCP name) cannot add a header
python3 - "$LAB_ADMIN_SOCK" "$M2" <<'PY'
import json, socket, sys
s = socket.socket(socket.AF_UNIX); s.connect(sys.argv[1])
s.sendall((json.dumps({"cmd": "lease", "action": "add", "mac": sys.argv[2], "ip": "10.79.0.222",
                       "hostname": "evil\r\nBcc: victim@evil.example\r\n\r\nhi", "interface": "ap2"}) + "\n").encode())
s.recv(4096)
PY
check "a second new_device alert is mailed" lab_wait_for 3 eval "grep -l '$M2' '$MAILS'/*.eml >/dev/null 2>&1"
second=$(grep -l "$M2" "$MAILS"/*.eml 2>/dev/null | head -n 1)
mapfile -t M < <(mail_fields "${second:-/dev/null}")
check_eq "no Bcc: header came from the host name" "None" "${M[3]:-}"
check_eq "headers: exactly the ones apgated writes" \
	"To Subject Date MIME-Version Content-Type Content-Transfer-Encoding Auto-Submitted X-Apgate-Alert" "${M[2]:-}"
check_eq "the message has no parse defects" "[]" "${M[6]:-}"
check "the webhook got it too, as JSON" lab_wait_for 5 grep -q "$M2" "$HOOKS"
check "apgated still runs" lab_pid_alive apgated
tap_done
