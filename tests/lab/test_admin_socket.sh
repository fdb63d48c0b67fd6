#!/bin/bash
# test_admin_socket.sh - the admin socket protocol (one JSON object per line)
# holds up against bad input: on ONE connection, bad JSON, an unknown verb and
# a 100 KB line each get a one-line JSON error reply, and the same connection
# then still answers {"cmd":"status"}. A half-sent line on one connection does
# not hold up another. The socket has the configured mode (0660).
# Needs root (namespaces); exit 77 otherwise.
set -u
HERE=$(cd "$(dirname "$0")" && pwd)
. "$HERE/lab.sh"
. "$HERE/tap.sh"

lab_test_begin

check_eq "admin socket is a socket with mode 0660" "socket 660" \
	"$(stat -c '%F %a' "$LAB_ADMIN_SOCK")"

# One connection, several requests; prints one JSON object:
# {"bad_json": reply, "unknown_verb": reply, "big_line": reply, "status": reply,
#  "second_conn_status": reply}; a reply is the parsed line, or a string
# describing what went wrong (timeout, closed, not JSON, more than one line).
res=$("$LAB_PY" - "$LAB_ADMIN_SOCK" <<'EOF'
import json, socket, sys, time

path = sys.argv[1]

def connect():
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.settimeout(5)
    s.connect(path)
    return s

class Conn:
    def __init__(self):
        self.s = connect()
        self.buf = b""
    def request(self, data):
        try:
            self.s.sendall(data + b"\n")
        except OSError as e:
            return "send failed: %s" % e
        deadline = time.time() + 5
        while b"\n" not in self.buf:
            if time.time() > deadline:
                return "no reply within 5 s"
            try:
                chunk = self.s.recv(65536)
            except socket.timeout:
                return "no reply within 5 s"
            except OSError as e:
                return "recv failed: %s" % e
            if not chunk:
                return "connection closed"
            self.buf += chunk
        line, self.buf = self.buf.split(b"\n", 1)
        # exactly one line per request: nothing else may follow quickly
        self.s.settimeout(0.2)
        try:
            extra = self.s.recv(65536)
            if extra:
                self.buf += extra
        except socket.timeout:
            pass
        self.s.settimeout(5)
        if self.buf:
            return "more than one line: %r" % self.buf[:200]
        try:
            return json.loads(line)
        except ValueError:
            return "not JSON: %r" % line[:200]

out = {}
c = Conn()
out["bad_json"] = c.request(b'{"cmd": "status", oops')
out["unknown_verb"] = c.request(b'{"cmd":"frobnicate"}')
big = b'{"cmd":"status","pad":"' + b"x" * (100 * 1024) + b'"}'
out["big_line"] = c.request(big)
out["status"] = c.request(b'{"cmd":"status"}')

# a client that sent half a line must not hold up another one
half = connect()
half.sendall(b'{"cmd":"sta')
other = Conn()
out["second_conn_status"] = other.request(b'{"cmd":"status"}')
half.sendall(b'tus"}\n')
half.settimeout(5)
try:
    out["half_line_completed"] = json.loads(half.recv(65536).split(b"\n")[0])
except Exception as e:
    out["half_line_completed"] = "failed: %s" % e
print(json.dumps(out))
EOF
)
check "the python client ran" test -n "$res"

is_error() { # KEY : reply KEY is {"ok": false, "error": {"code": str, "message": str}}
	printf '%s' "$res" | lab_json '
(lambda r: isinstance(r, dict) and r.get("ok") is False and isinstance(r.get("error"), dict)
 and isinstance(r["error"].get("code"), str) and r["error"]["code"] != ""
 and isinstance(r["error"].get("message"), str) and r["error"]["message"] != "")(d[a[0]]) or sys.exit(1)' "$1"
}
reply() { printf '%s' "$res" | lab_json 'd[a[0]]' "$1"; }

check "bad JSON gets a JSON error reply (ok false, code, message)" is_error bad_json || tap_diag "$(reply bad_json)"
check "an unknown verb gets a JSON error reply" is_error unknown_verb || tap_diag "$(reply unknown_verb)"
check "a 100 KB line gets a JSON error reply" is_error big_line || tap_diag "$(reply big_line)"
tap_diag "errors: $(printf '%s' "$res" | lab_json '"; ".join("%s=%s" % (k, d[k]["error"]["code"]) for k in ("bad_json","unknown_verb","big_line") if isinstance(d[k], dict) and "error" in d[k])')"
check_eq "the same connection then answers status with ok true" true \
	"$(printf '%s' "$res" | lab_json 'isinstance(d["status"], dict) and d["status"].get("ok") is True')" ||
	tap_diag "$(reply status)"
check_eq "the status reply has version, pid, registry and bss" true \
	"$(printf '%s' "$res" | lab_json 'all(k in d["status"] for k in ("version","pid","registry","bss"))')"
check_eq "a second connection is answered while the first holds half a line" true \
	"$(printf '%s' "$res" | lab_json 'isinstance(d["second_conn_status"], dict) and d["second_conn_status"].get("ok") is True')"
check_eq "the half line, once completed, is answered" true \
	"$(printf '%s' "$res" | lab_json 'isinstance(d["half_line_completed"], dict) and d["half_line_completed"].get("ok") is True')"
check "apgated is still running" lab_pid_alive apgated
lab_test_end
