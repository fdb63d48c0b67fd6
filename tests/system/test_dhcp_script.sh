#!/bin/bash
# apgate-dhcp-script, the program dnsmasq runs on every lease change, run
# for real against a small admin-socket server (python3): the exact JSON
# line it sends (hostile values are data: escaped, invalid UTF-8 repaired
# to U+FFFD), and that it exits 0 within 1.5 s whatever the socket does.
set -u
HERE=$(cd "$(dirname "$0")" && pwd)
. "$HERE/../lab/tap.sh"
B=${APGATE_BUILD:-$HERE/../../build}
H=$B/apgate-dhcp-script
[ -x "$H" ] || tap_skip_all "build first (no $H)"
command -v python3 >/dev/null || tap_skip_all "no python3"

W=$(mktemp -d /tmp/apgate-dhcp-XXXXXX)
SRV=
cleanup() {
	[ -n "$SRV" ] && kill "$SRV" 2>/dev/null
	wait 2>/dev/null
	rm -rf "$W"
	tap_cleanup
}
trap cleanup EXIT

# server.py SOCKET MODE OUT: MODE ok = record the line, answer {"ok":true};
# refuse = answer an error; silent = read, never answer; deaf = never accept.
cat >"$W/server.py" <<'PY'
import json, os, socket, sys, time
path, mode, out = sys.argv[1:4]
s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
s.bind(path)
s.listen(8)
open(out + ".ready", "w").close()
if mode == "deaf":
    time.sleep(60)
while True:
    c, _ = s.accept()
    buf = b""
    while not buf.endswith(b"\n"):
        d = c.recv(65536)
        if not d:
            break
        buf += d
    with open(out, "ab") as f:
        f.write(buf)
    if mode == "ok":
        c.sendall(b'{"ok":true}\n')
    elif mode == "refuse":
        c.sendall(b'{"ok":false,"error":{"code":"invalid_argument","message":"bad mac"}}\n')
    elif mode == "silent":
        time.sleep(60)
    c.close()
PY

start_server() { # mode
	[ -n "$SRV" ] && kill "$SRV" 2>/dev/null && wait "$SRV" 2>/dev/null
	rm -f "$W/sock" "$W/got" "$W/got.ready"
	python3 "$W/server.py" "$W/sock" "$1" "$W/got" &
	SRV=$!
	for _ in $(seq 100); do [ -e "$W/got.ready" ] && return 0; sleep 0.02; done
	tap_bail "server did not start"
}

# Runs the helper with a clean environment plus the given VAR=value words;
# sets RC, MS (wall time) and ERR (its stderr).
run_helper() {
	local t0 t1
	t0=${EPOCHREALTIME//[!0-9]/}
	env -i APGATE_SOCKET="$W/sock" "$@" 2>"$W/err"
	RC=$?
	t1=${EPOCHREALTIME//[!0-9]/}
	MS=$(((t1 - t0) / 1000))
	ERR=$(cat "$W/err")
}

# 1. A plain "add", exactly as dnsmasq 2.90 calls it (env from the notes).
start_server ok
run_helper DNSMASQ_CLIENT_ID=01:02:00:00:00:03:03 DNSMASQ_INTERFACE=rap1 \
	DNSMASQ_LEASE_EXPIRES=1795466090 DNSMASQ_TIME_REMAINING=43200 DNSMASQ_LOG_DHCP=1 \
	DNSMASQ_REQUESTED_OPTIONS=1,3,6,12,15,28,42,114,252 DNSMASQ_SUPPLIED_HOSTNAME=staffphone \
	DNSMASQ_VENDOR_CLASS=android-dhcp-13 'DNSMASQ_TAGS=guest known rap1' \
	"$H" add 02:00:00:00:03:03 10.78.0.33 guestphone
check_eq "add: exit 0" 0 "$RC"
check_eq "add: nothing on stderr" "" "$ERR"
check_eq "add: the exact JSON line" \
	'{"cmd":"lease","action":"add","mac":"02:00:00:00:03:03","ip":"10.78.0.33","hostname":"guestphone","supplied_hostname":"staffphone","vendor_class":"android-dhcp-13","requested_options":"1,3,6,12,15,28,42,114,252","interface":"rap1","client_id":"01:02:00:00:00:03:03","tags":"guest known rap1","data_missing":false}' \
	"$(cat "$W/got")"
check_eq "add: one line, newline-terminated" 1 "$(wc -l <"$W/got")"

# 2. "old" at dnsmasq start: minimal env, no hostname argument.
rm -f "$W/got"
run_helper DNSMASQ_CLIENT_ID=01:02:00:00:00:03:03 DNSMASQ_DATA_MISSING=1 DNSMASQ_INTERFACE=rap1 \
	"$H" old 02:00:00:00:03:03 10.78.0.33
check_eq "old without data: nulls and data_missing" \
	'{"cmd":"lease","action":"old","mac":"02:00:00:00:03:03","ip":"10.78.0.33","hostname":null,"supplied_hostname":null,"vendor_class":null,"requested_options":null,"interface":"rap1","client_id":"01:02:00:00:00:03:03","tags":null,"data_missing":true}' \
	"$(cat "$W/got")"

# 3. Hostile values: markup, quotes, shell, an invalid UTF-8 byte, 2 KB.
rm -f "$W/got"
HOSTILE='<img src=x onerror=alert(1)>"; rm -rf / #'
BIG=$(printf 'x%.0s' $(seq 2048))
run_helper "DNSMASQ_SUPPLIED_HOSTNAME=$HOSTILE"$'\xff'"$BIG" \
	"DNSMASQ_VENDOR_CLASS=\\\$(reboot)"$'\t\xc3\x28 caf\xc3\xa9 \xed\xa0\x80' \
	"DNSMASQ_INTERFACE=rap1" \
	"$H" add 02:00:00:00:03:04 10.78.0.34 "$HOSTILE"
check_eq "hostile: exit 0" 0 "$RC"
# The expected line, built independently: invalid bytes -> U+FFFD (each
# byte of an invalid sequence; the surrogate ED A0 80 is three), then JSON.
EXPECTED=$(HOSTILE="$HOSTILE" BIG="$BIG" python3 -c '
import json, os
h = os.environ["HOSTILE"]
o = {"cmd": "lease", "action": "add", "mac": "02:00:00:00:03:04", "ip": "10.78.0.34",
     "hostname": h, "supplied_hostname": h + "\ufffd" + os.environ["BIG"],
     "vendor_class": "\\$(reboot)\t\ufffd( caf\u00e9 \ufffd\ufffd\ufffd",
     "requested_options": None, "interface": "rap1", "client_id": None, "tags": None,
     "data_missing": False}
print(json.dumps(o, ensure_ascii=False, separators=(",", ":")))')
check_eq "hostile: escaped, repaired, complete" "$EXPECTED" "$(cat "$W/got")"
check "hostile: the line is valid JSON and valid UTF-8" python3 -c '
import json, sys
d = json.loads(open(sys.argv[1], "rb").read().decode("utf-8"))
assert d["hostname"].startswith("<img src=x onerror=alert(1)>\"; rm -rf / #")
assert len(d["supplied_hostname"]) == 41 + 1 + 2048' "$W/got"

# 4. apgated refuses: still exit 0, the reason on stderr.
start_server refuse
run_helper "$H" del 02:00:00:00:03:03 10.78.0.33
check_eq "refused: exit 0" 0 "$RC"
check_match "refused: reason on stderr" "refused the del lease: bad mac" "$ERR"

# 5. Never hang: no socket, a server that never answers, one that never accepts.
rm -f "$W/sock"
kill "$SRV" 2>/dev/null; wait "$SRV" 2>/dev/null; SRV=
run_helper "$H" add 02:00:00:00:03:03 10.78.0.33
check_eq "no socket: exit 0" 0 "$RC"
check "no socket: quick (${MS} ms)" test "$MS" -lt 1500
check_match "no socket: says so on stderr" "connect .*sock" "$ERR"

start_server silent
run_helper "$H" add 02:00:00:00:03:03 10.78.0.33
check_eq "silent server: exit 0" 0 "$RC"
check "silent server: gives up within 1.5 s (${MS} ms)" test "$MS" -lt 1500
check_match "silent server: timed out on stderr" "no reply .*timed out" "$ERR"

start_server deaf
run_helper "$H" add 02:00:00:00:03:03 10.78.0.33
check_eq "server never accepting: exit 0" 0 "$RC"
check "server never accepting: within 1.5 s (${MS} ms)" test "$MS" -lt 1500

# 6. Actions that are not lease changes are ignored without connecting.
start_server ok
run_helper "$H" init
check_eq "init: exit 0" 0 "$RC"
run_helper "$H" arp-add 02:00:00:00:03:03 10.78.0.33
check_eq "arp-add: exit 0, nothing sent" "0:no" "$RC:$([ -s "$W/got" ] && echo yes || echo no)"
run_helper "$H" add
check_eq "too few arguments: exit 0" 0 "$RC"

tap_done
