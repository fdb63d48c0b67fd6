#!/bin/bash
# The staff portal end to end, as a shop manager's browser meets it: curl
# over real HTTPS against the real apgated (observe only: no zones, the
# staff face on [portal] staff_listen = 127.0.0.1) in a private network
# namespace. Devices arrive through the real dnsmasq helper
# (apgate-dhcp-script) and apgatectl; users through apgatectl user add.
#
#   certificate   made on first start (key 0600, SAN IP 127.0.0.1), the
#                 same one after a restart; plain HTTP answers 301 to HTTPS
#   signed out    pages 303 to /login, POSTs 401
#   sign-in       wrong password 401 (#login-error), missing or foreign CSRF
#                 403, right password 303 with an HttpOnly Secure
#                 SameSite=Strict session cookie; the header names the user
#   throttling    3 failures lock the address: 429 + Retry-After, even for
#                 the right password and for another user; over after 10 s
#   pending list  a hostile DHCP hostname is shown escaped, never raw, on
#                 every page that shows it
#   decisions     approve business/personal and block through the forms
#                 (apgatectl show agrees: who, via portal); no or another
#                 session's CSRF -> 403 and nothing changes
#   audit, device history, inventory charts (counts add up), roles (approver
#   403 on /users; admin adds and deletes a user, whose session then ends),
#   logout, language (Accept-Language, ?lang= and its cookie), live events
#   (server-sent "event: change"), hostile requests (huge header and body,
#   DELETE, plain bytes on the TLS port) that leave the portal answering.
set -u
HERE=$(cd "$(dirname "$0")" && pwd)
. "$HERE/../lab/tap.sh"
B=${APGATE_BUILD:-$HERE/../../build}
ROOT=$(cd "$HERE/../.." && pwd)
[ "$(id -u)" = 0 ] || tap_skip_all "needs root (network namespace)"
for t in "$B/apgated" "$B/apgatectl" "$B/apgate-dhcp-script"; do
	[ -x "$t" ] || tap_bail "no $t (make build first)"
done
for t in curl openssl python3; do
	command -v "$t" >/dev/null || tap_bail "no $t"
done

NS=apgstf-$$-$RANDOM
W=$(mktemp -d /tmp/apgate-staff-XXXXXX)
DAEMON= SSE=
cleanup() {
	[ -n "$SSE" ] && kill "$SSE" 2>/dev/null
	[ -n "$DAEMON" ] && kill "$DAEMON" 2>/dev/null
	wait 2>/dev/null
	ip netns del "$NS" 2>/dev/null
	[ -n "${KEEP:-}" ] || rm -rf "$W"
	tap_cleanup
}
trap cleanup EXIT
ip netns add "$NS" || tap_bail "cannot create a network namespace"
in_ns() { ip netns exec "$NS" "$@"; }
in_ns ip link set lo up

HTTPS_PORT=18443
HTTP_PORT=18090
U=https://127.0.0.1:$HTTPS_PORT
LOCKOUT=10
mkdir -p "$W/ctrl"
cat >"$W/apgate.conf" <<EOC
[apgated]
registry = $W/registry.db
admin_socket = $W/admin.sock
log_level = debug
oui_dir =
[hostapd]
ctrl_dir = $W/ctrl
client_dir = $W/client
data_dir = $W/hostapd-lists
[bss ap0]
zone = work
[portal]
dir = $ROOT/portal
staff_listen = 127.0.0.1
https_port = $HTTPS_PORT
http_port = $HTTP_PORT
cert = $W/portal.crt
key = $W/portal.key
login_failures = 3
login_lockout = $LOCKOUT
EOC

ctl() { "$B/apgatectl" -s "$W/admin.sock" "$@"; }
wait_for() { local end=$((SECONDS + $1)); shift; until "$@" >/dev/null 2>&1; do [ $SECONDS -ge $end ] && return 1; sleep 0.05; done; }
# curl inside the namespace; -k: the certificate is self-signed (checked on its own below)
cu() { in_ns curl -sk --max-time 10 "$@"; }
portal_up() { [ "$(cu -o /dev/null -w '%{http_code}' "$U/login")" = 200 ]; }
# ip netns exec execs the daemon itself, so $! is apgated's PID
start() {
	ip netns exec "$NS" "$B/apgated" -f -c "$W/apgate.conf" 2>>"$W/apgated.log" &
	DAEMON=$!
	wait_for 10 ctl status && wait_for 10 portal_up
}
stop() {
	kill "$DAEMON" || return 1
	wait "$DAEMON"
	local rc=$?
	DAEMON=
	return $rc
}
alive() { [ -n "$DAEMON" ] && kill -0 "$DAEMON" 2>/dev/null; }

# a DHCP lease as dnsmasq reports it, through dnsmasq's real helper
lease() { # MAC IP HOSTNAME
	in_ns env -i APGATE_SOCKET="$W/admin.sock" DNSMASQ_INTERFACE=br-work DNSMASQ_SUPPLIED_HOSTNAME="$3" \
		"$B/apgate-dhcp-script" add "$1" "$2" "$3"
}
jfield() { # KEY: a top-level field of the JSON object on stdin ("" for null or missing)
	python3 -c 'import json, sys; v = json.load(sys.stdin).get(sys.argv[1]); print("" if v is None else v)' "$1"
}
state_of() { ctl --json show "$1" | jfield state; }
# the decision fields apgatectl shows: "state class decided_by decided_via"
decision_of() {
	ctl --json show "$1" | python3 -c 'import json, sys
d = json.load(sys.stdin)
print(" ".join(str(d.get(k)) for k in ("state", "class", "decided_by", "decided_via")))'
}

# ---- the browser side: one cookie jar per person ----
jar() { echo "$W/jar.$1"; }
# GET PATH as WHO ("" = no cookies): the body on stdout
get() { # WHO PATH [CURL ARGS]
	local who=$1 path=$2; shift 2
	if [ -n "$who" ]; then cu -b "$(jar "$who")" -c "$(jar "$who")" "$@" "$U$path"; else cu "$@" "$U$path"; fi
}
# the HTTP status of a request as WHO; body in $W/body, headers in $W/head
code() { # WHO PATH [CURL ARGS]
	get "$1" "$2" -o "$W/body" -D "$W/head" -w '%{http_code}' "${@:3}"
}
# Location of the last answer
location() { sed -n 's/^[Ll]ocation: *\([^[:space:]]*\).*/\1/p' "$W/head" | head -1; }
# the first csrf value of a form in TEXT
csrf_in() { sed -n 's/.*name="csrf" value="\([^"]*\)".*/\1/p' <<<"$1" | head -1; }
# the session's CSRF token, as the pages carry it
csrf_of() { csrf_in "$(get "$1" /)"; }
# sign in as WHO (also the user name) with PW from a fresh browser (WHO's
# jar emptied first): prints the status of POST /login
login() { # WHO PW [USER]
	local tok
	rm -f "$(jar "$1")"
	tok=$(csrf_in "$(get "$1" /login)")
	code "$1" /login --data-urlencode "csrf=$tok" --data-urlencode "user=${3:-$1}" --data-urlencode "password=$2"
}
post() { # WHO PATH [CURL ARGS] -> status
	code "$1" "$2" -X POST "${@:3}"
}

start || tap_bail "apgated does not start with the staff portal" "$(tail -30 "$W/apgated.log")"

PW_IT='correct horse battery staple'
PW_ANNA='Anna-Apotheke-2024'
PW_BOB='bobs own password'
printf '%s\n' "$PW_IT" | ctl user add it --role admin >/dev/null || tap_bail "apgatectl user add it"
printf '%s\n' "$PW_ANNA" | ctl user add anna --role approver >/dev/null || tap_bail "apgatectl user add anna"

# ---- 1. the certificate, and plain HTTP ----
check "the portal certificate was made on first start" test -s "$W/portal.crt"
check_eq "its key file has mode 0600" 600 "$(stat -c %a "$W/portal.key" 2>&1)"
san=$(openssl x509 -in "$W/portal.crt" -noout -ext subjectAltName 2>&1)
check_match "its subjectAltName names IP Address:127.0.0.1" 'IP Address:127\.0\.0\.1' "$san"
fp() { openssl x509 -in "$W/portal.crt" -noout -fingerprint -sha256 2>&1; }
served_fp() {
	in_ns openssl s_client -connect "127.0.0.1:$HTTPS_PORT" </dev/null 2>/dev/null |
		openssl x509 -noout -fingerprint -sha256 2>&1
}
FP1=$(fp)
check_eq "the portal serves that certificate" "$FP1" "$(served_fp)"
check "apgated stops" stop
check "apgated starts again" start
check_eq "after a restart the certificate file is the same (SHA-256 fingerprint)" "$FP1" "$(fp)"
check_eq "and the portal still serves it" "$FP1" "$(served_fp)"
c=$(in_ns curl -s --max-time 10 -o /dev/null -D "$W/head" -w '%{http_code}' "http://127.0.0.1:$HTTP_PORT/anything?x=1")
check_eq "http://127.0.0.1:$HTTP_PORT/anything answers 301" 301 "$c"
check_match "to https://127.0.0.1:$HTTPS_PORT/anything" "^https://127\.0\.0\.1:$HTTPS_PORT/anything" "$(location)"

# ---- 2. signed out ----
check_eq "signed out, GET / answers 303" 303 "$(code "" /)"
check_eq "to /login" /login "$(location)"
check_eq "signed out, GET /devices answers 303" 303 "$(code "" /devices)"
check_eq "to /login" /login "$(location)"
check_eq "signed out, POST /device/.../approve answers 401" 401 \
	"$(post "" /device/02:00:00:00:5a:01/approve -d as=business -d csrf=x)"
check_eq "signed out, POST /logout answers 401" 401 "$(post "" /logout -d csrf=x)"

# ---- 3. sign-in ----
check_eq "GET /login answers 200" 200 "$(code anna /login)"
check "with #login-form" grep -q 'id="login-form"' "$W/body"
check_match "and an apgate_pre cookie" $'\n[Ss]et-[Cc]ookie: apgate_pre=' $'\n'"$(cat "$W/head")"
check_eq "a wrong password answers 401" 401 "$(login anna 'not the password')"
check "with #login-error" grep -q 'id="login-error"' "$W/body"
check_eq "POST /login without the csrf field answers 403" 403 \
	"$(post anna /login --data-urlencode user=anna --data-urlencode "password=$PW_ANNA")"
tok=$(csrf_in "$(get anna /login)")
get other /login >/dev/null   # another browser, with its own apgate_pre cookie
check_eq "POST /login with a csrf made for another browser's apgate_pre cookie answers 403" 403 \
	"$(post other /login --data-urlencode "csrf=$tok" --data-urlencode user=anna --data-urlencode "password=$PW_ANNA")"
check_eq "the right password answers 303" 303 "$(login anna "$PW_ANNA")"
check_eq "to /" / "$(location)"
cookie=$(grep -i '^set-cookie: apgate_session=' "$W/head" | tr -d '\r')
check_match "Set-Cookie apgate_session has a token" '^[Ss]et-[Cc]ookie: apgate_session=[A-Za-z0-9_-]{20,};' "$cookie"
check_match "it is HttpOnly" '; *HttpOnly' "$cookie"
check_match "it is Secure" '; *Secure' "$cookie"
check_match "it is SameSite=Strict" '; *SameSite=Strict' "$cookie"
check_eq "then GET / answers 200" 200 "$(code anna /)"
check_match "and the header names anna" '<span class="user">anna</span>' "$(cat "$W/body")"
check_eq "it signs in too (an admin)" 303 "$(login it "$PW_IT")"

# ---- 4. pending list: a hostile hostname ----
EVIL='<img src=x onerror=alert(1)>'
EVIL_ESC='&lt;img src=x onerror=alert(1)&gt;'
M1=02:00:00:00:5a:01   # approved as business through the portal
M2=02:00:00:00:5a:02   # approved as personal
M3=02:00:00:00:5a:03   # blocked
M4=02:00:00:00:5a:04   # blocked ahead by apgatectl
lease "$M1" 127.0.0.101 "$EVIL"
lease "$M2" 127.0.0.102 anna-phone
lease "$M3" 127.0.0.103 unknown-box
check_eq "apgatectl shows the fed device as pending" pending "$(state_of "$M1")"
check_eq "apgatectl has its hostname as sent" "$EVIL" "$(ctl --json show "$M1" | jfield hostname)"
check_eq "GET / answers 200" 200 "$(code anna /)"
item=$(python3 - "$W/body" "$M1" <<'PY'
import re, sys
html = open(sys.argv[1], encoding="utf-8").read()
m = re.search(r'<li class="device[^"]*" data-mac="%s">(.*?)</li>' % re.escape(sys.argv[2]), html, re.S)
print(m.group(1) if m else "")
PY
)
check "the pending list has li.device[data-mac=$M1]" test -n "$item"
check "its .dev-host shows the hostname escaped" grep -qF -- "class=\"dev-host\">$EVIL_ESC<" <<<"$item"
check "so does its .dev-name" grep -qF -- "class=\"dev-name\" href=\"/device/$M1\">$EVIL_ESC<" <<<"$item"
check_match "and #pending is there" 'id="pending"' "$(cat "$W/body")"
# (the audit page shows decisions, not hostnames: only the raw check there)
for p in / /fragment/pending /devices "/device/$M1" /audit; do
	body=$(get anna "$p")
	[ "$p" = /audit ] || check "$p: the escaped hostname is on the page" grep -qF -- "$EVIL_ESC" <<<"$body"
	check "$p: the raw '<img src=x' never is" bash -c "! grep -qF -- '<img src=x' <<<\"\$1\"" _ "$body"
done

# ---- 5. decisions ----
CSRF_ANNA=$(csrf_of anna)
CSRF_IT=$(csrf_of it)
check_match "the pages carry anna's CSRF token" '^[A-Za-z0-9_-]{20,}$' "$CSRF_ANNA"
check "each session has its own" test "$CSRF_ANNA" != "$CSRF_IT"
check_eq "approve without csrf answers 403" 403 "$(post anna "/device/$M1/approve" -d as=business)"
check_eq "approve with another session's csrf answers 403" 403 \
	"$(post anna "/device/$M1/approve" -d as=business -d "csrf=$CSRF_IT")"
check_eq "block without csrf answers 403" 403 "$(post anna "/device/$M3/block" -d back=/)"
check_eq "the devices stay pending" "pending pending" "$(state_of "$M1") $(state_of "$M3")"
check_eq "approve $M1 as business with the page's csrf answers 303" 303 \
	"$(post anna "/device/$M1/approve" -d as=business -d "csrf=$CSRF_ANNA" -d back=/)"
check_eq "back to /" / "$(location)"
check_eq "apgatectl: approved, business, decided by anna via portal" "approved business anna portal" "$(decision_of "$M1")"
check "it left the pending list" bash -c "! grep -q 'data-mac=\"$M1\"' <<<\"\$1\"" _ "$(get anna /fragment/pending)"
check_eq "approve $M2 as personal answers 303" 303 \
	"$(post anna "/device/$M2/approve" -d as=personal -d "csrf=$CSRF_ANNA")"
check_eq "apgatectl: $M2 class personal, by anna via portal" "personal anna portal" \
	"$(decision_of "$M2" | cut -d' ' -f2-)"
check_eq "block $M3 answers 303" 303 "$(post anna "/device/$M3/block" -d "csrf=$CSRF_ANNA")"
check_eq "apgatectl: $M3 blocked by anna via portal" "blocked anna portal" \
	"$(decision_of "$M3" | cut -d' ' -f1,3,4)"
pend=$(get anna /fragment/pending)
check "$M2 and $M3 left the pending list" bash -c "! grep -qE 'data-mac=\"($M2|$M3)\"' <<<\"\$1\"" _ "$pend"
check_match "which counts 0" 'class="count" data-count="0"' "$pend"

# ---- 6. audit and history ----
audit=$(get anna /audit)
printf '%s' "$audit" >"$W/audit.html"
row=$(python3 - "$W/audit.html" "$M1" <<'PY'
import re, sys
html = open(sys.argv[1], encoding="utf-8").read()
for tr in re.findall(r"<tr data-id=.*?</tr>", html, re.S):
    if sys.argv[2] in tr and re.search(r'class="action">approve<', tr):
        print(tr)
PY
)
check "/audit has #audit" grep -q 'id="audit"' <<<"$audit"
check_match "it lists the approve of $M1" 'class="action">approve<' "$row"
check_match "by anna via portal" 'class="actor">anna <small>portal</small>' "$row"
dev=$(get anna "/device/$M1")
check_match "/device/$M1 has #device with data-state approved" 'id="device"[^>]*data-state="approved"' "$dev"
hist=$(sed -n '/id="history"/,/<\/ol>/p' <<<"$dev")
check_match "its #history lists the approve by anna (portal)" 'class="action">approve</span> <span class="actor">anna \(portal\)' "$hist"
check_match "and the DHCP lease before it" 'class="ev conn' "$hist"

# ---- 7. inventory charts ----
ctl block "$M4" >/dev/null
n=$(ctl --json devices | python3 -c 'import json, sys; print(len(json.load(sys.stdin)))')
inv=$(get anna /devices)
sum_chart() { # ID
	python3 -c 'import re, sys
html = sys.stdin.read()
m = re.search(r"<svg id=\"%s\".*?</svg>" % sys.argv[1], html, re.S)
print(sum(int(x) for x in re.findall(r"data-count=\"(\d+)\"", m.group(0))) if m else "no chart")' "$1" <<<"$inv"
}
check_eq "apgatectl devices counts 4" 4 "$n"
check "/devices has #devices" grep -q 'id="devices"' <<<"$inv"
check_eq "#chart-type counts add up to the $n devices" "$n" "$(sum_chart chart-type)"
check_eq "#chart-zone counts add up to the $n devices" "$n" "$(sum_chart chart-zone)"
check_match "#chart-zone shows 2 blocked" '<g class="row z-blocked" data-count="2">' "$inv"

# ---- 8. roles ----
check_eq "an approver gets 403 on GET /users" 403 "$(code anna /users)"
check_eq "and on POST /users" 403 "$(post anna /users -d name=mallory -d "password=$PW_BOB" -d role=admin -d "csrf=$CSRF_ANNA")"
check "mallory was not added" bash -c "! '$B/apgatectl' -s '$W/admin.sock' user list | grep -q '^mallory '"
check "an approver has no #nav-users" bash -c "! grep -q 'id=\"nav-users\"' <<<\"\$1\"" _ "$(get anna /)"
check_eq "an admin gets /users" 200 "$(code it /users)"
check "with #nav-users" grep -q 'id="nav-users"' "$W/body"
check_eq "the admin adds bob through POST /users: 303" 303 \
	"$(post it /users -d name=bob --data-urlencode "password=$PW_BOB" -d role=approver -d "csrf=$CSRF_IT")"
check_match "apgatectl user list has bob as approver" $'(^|\n)bob +approver ' "$(ctl user list)"
check_eq "bob signs in" 303 "$(login bob "$PW_BOB")"
check_eq "and sees /" 200 "$(code bob /)"
check_eq "the admin deletes bob: 303" 303 "$(post it /users/bob/delete -d "csrf=$CSRF_IT")"
check "bob is gone from apgatectl user list" bash -c "! '$B/apgatectl' -s '$W/admin.sock' user list | grep -q '^bob '"
check_eq "bob's session no longer works: GET / answers 303" 303 "$(code bob /)"
check_eq "to /login" /login "$(location)"

# ---- 9. logout ----
check_eq "the old cookie works before logout" 200 "$(code it /)"
cp "$(jar it)" "$W/jar.it-old"
check_eq "POST /logout with csrf answers 303" 303 "$(post it /logout -d "csrf=$CSRF_IT")"
check_eq "the old cookie no longer works: GET / answers 303" 303 "$(code it-old /)"
check_eq "to /login" /login "$(location)"

# ---- 10. language ----
JA_PENDING=$(python3 -c 'import json, sys; print(json.load(open(sys.argv[1]))["staff.pending.title"])' "$ROOT/portal/i18n/ja.json")
JA_LOGIN=$(python3 -c 'import json, sys; print(json.load(open(sys.argv[1]))["staff.login.title"])' "$ROOT/portal/i18n/ja.json")
EN_PENDING=$(python3 -c 'import json, sys; print(json.load(open(sys.argv[1]))["staff.pending.title"])' "$ROOT/portal/i18n/en.json")
body=$(get anna / -H 'Accept-Language: ja,en;q=0.5')
check_match "Accept-Language: ja gives <html lang=\"ja\">" '<html lang="ja">' "$body"
check "with the Japanese pending title from ja.json ($JA_PENDING)" grep -qF -- "$JA_PENDING" <<<"$body"
body=$(get "" /login -H 'Accept-Language: ja-JP')
check "the sign-in page in Japanese too ($JA_LOGIN)" grep -qF -- "<h1>$JA_LOGIN</h1>" <<<"$body"
c=$(code anna '/?lang=en' -H 'Accept-Language: ja')
check_eq "?lang=en answers 200" 200 "$c"
check_match "and overrides Accept-Language: <html lang=\"en\">" '<html lang="en">' "$(cat "$W/body")"
check "with the English title ($EN_PENDING)" grep -qF -- "$EN_PENDING" "$W/body"
check_match "it sets the lang cookie" $'\n[Ss]et-[Cc]ookie: lang=en;' $'\n'"$(cat "$W/head")"
check_match "later pages keep English (cookie) despite Accept-Language: ja" '<html lang="en">' \
	"$(get anna / -H 'Accept-Language: ja')"

# ---- 11. live: server-sent events ----
# curl closes the stream itself (--max-time), as a phone leaving the page
# does. KNOWN BUG (portal, front/staff.c on_stream_closed): libevent hands
# a streaming request whose client went away back to the caller (its
# connection pointer NULL) and apgated never frees it - one evhttp_request
# (~2 KB) leaked per closed live page. A plain build does not see it; an
# ASan build (make BUILD=build-asan SAN=1 build; APGATE_BUILD=build-asan)
# fails the last two checks (exit 134 on SIGTERM, LeakSanitizer report).
M5=02:00:00:00:5a:05
get anna /events -N --max-time 5 -o "$W/sse" &
SSE=$!
wait_for 3 grep -q '^retry:' "$W/sse"
lease "$M5" 127.0.0.105 newcomer
wait "$SSE"
SSE=
check "GET /events receives 'event: change' after a new device's lease" grep -q '^event: change$' "$W/sse"
[ "$TAP_FAILED" = 0 ] || tap_diag "events stream:" "$(cat "$W/sse")"
check_eq "without a session /events answers 401" 401 "$(code "" /events --max-time 3)"

# ---- 12. hostile requests ----
still_up() { [ "$(code "" /login)" = 200 ]; }
big=$(head -c 20480 /dev/zero | tr '\0' a)
c=$(code "" /login -H "X-Big: $big")
check_match "a 20 KB header: 4xx or the connection closed ($c)" '^(4[0-9][0-9]|000)$' "$c"
check "GET /login still answers 200" still_up
head -c 40960 /dev/zero | tr '\0' a >"$W/bigbody"
c=$(post anna /login --data-binary "@$W/bigbody" -H 'Content-Type: application/x-www-form-urlencoded')
check_match "a 40 KB POST body: 413 or the connection closed ($c)" '^(413|000)$' "$c"
check "GET /login still answers 200" still_up
c=$(code anna / -X DELETE)
check_match "DELETE / answers 405 or 501 ($c)" '^(405|501)$' "$c"
check "GET /login still answers 200" still_up
plain=$(in_ns python3 - "$HTTPS_PORT" <<'PY'
import socket, sys
s = socket.create_connection(("127.0.0.1", int(sys.argv[1])), timeout=3)
s.sendall(b"GET / HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
got = b""
try:
    while len(got) < 65536:
        d = s.recv(4096)
        if not d:
            break
        got += d
except socket.timeout:
    pass
sys.stdout.write(got.decode("latin-1"))
PY
)
check "plain HTTP bytes to the HTTPS port get no HTTP answer" bash -c "! grep -q '^HTTP/' <<<\"\$1\"" _ "$plain"
check "GET /login still answers 200" still_up

# ---- 13. throttling (last: it locks this address out for a while) ----
check_eq "anna: 1st wrong password answers 401" 401 "$(login anna 'wrong one 1')"
check_eq "anna: 2nd wrong password answers 401" 401 "$(login anna 'wrong one 2')"
check_eq "anna: 3rd wrong password answers 401" 401 "$(login anna 'wrong one 3')"
T_LOCK=$SECONDS
check_eq "the 4th attempt, with the right password, answers 429" 429 "$(login anna "$PW_ANNA")"
ra=$(sed -n 's/^[Rr]etry-[Aa]fter: *\([0-9]*\).*/\1/p' "$W/head")
check_match "with Retry-After in seconds (1..$LOCKOUT): $ra" '^([1-9]|10)$' "$ra"
check "and #login-error" grep -q 'id="login-error"' "$W/body"
check_eq "another user (it, right password) from the same address answers 429 too" 429 "$(login it "$PW_IT")"
left=$((LOCKOUT + 1 - (SECONDS - T_LOCK)))
[ "$left" -le 0 ] || sleep "$left"
check_eq "after the lockout ($LOCKOUT s) the right password works again: 303" 303 "$(login anna "$PW_ANNA")"
check_eq "and / answers 200" 200 "$(code anna /)"

# ---- the end ----
check "apgated is still running" alive
check "apgated stops on SIGTERM with status 0" stop
check "no sanitizer report in apgated's log" bash -c "! grep -q 'Sanitizer' '$W/apgated.log'"
[ "$TAP_FAILED" = 0 ] || tap_diag "$(tail -40 "$W/apgated.log")"
tap_done
