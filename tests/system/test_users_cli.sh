#!/bin/bash
# Portal users as an admin meets them through apgatectl, against a real
# apgated in a private network namespace: "user add" reads the password from
# stdin (scripts) or twice without echo from a terminal (a pty here), "user
# list" shows names and roles and never a hash; the registry's users table
# holds a $argon2id$ hash that libsodium's own crypto_pwhash_str_verify
# (called from python3 through ctypes) accepts for the password and refuses
# for another, while the password is in no registry file and not in
# apgated's log; refusals: an existing name ("exists"), a short password,
# two different passwords on the terminal, a bad name, an unknown user,
# demoting or deleting the last admin; role change, passwd, del; the audit
# trail (apgatectl events) has user_add/user_passwd/user_role/user_del with
# the admin socket peer as actor.
set -u
HERE=$(cd "$(dirname "$0")" && pwd)
. "$HERE/../lab/tap.sh"
. "$HERE/zones_conf.sh"
B=${APGATE_BUILD:-$HERE/../../build}
[ "$(id -u)" = 0 ] || tap_skip_all "needs root (network namespace)"
[ -x "$B/apgated" ] && [ -x "$B/apgatectl" ] && [ -x "$B/fakehapd" ] || tap_skip_all "build first"
command -v python3 >/dev/null || tap_skip_all "no python3"

NS=apgusr-$$-$RANDOM
W=$(mktemp -d /tmp/apgate-users-XXXXXX)
PEER= DAEMON=
cleanup() {
	[ -n "$DAEMON" ] && kill "$DAEMON" 2>/dev/null
	[ -n "$PEER" ] && kill "$PEER" 2>/dev/null
	wait 2>/dev/null
	ip netns del "$NS" 2>/dev/null
	[ -n "${KEEP:-}" ] || rm -rf "$W"
	tap_cleanup
}
trap cleanup EXIT
ip netns add "$NS" || tap_skip_all "cannot create a network namespace"
in_ns() { ip netns exec "$NS" "$@"; }
in_ns ip link set lo up
for i in br-work br-guest br-onb up0; do in_ns ip link add "$i" type veth peer name "$i-p" && in_ns ip link set "$i" up && in_ns ip link set "$i-p" up; done
in_ns ip addr add 10.77.0.1/24 dev br-work
in_ns ip addr add 10.78.0.1/24 dev br-guest
in_ns ip addr add 10.79.0.1/24 dev br-onb
in_ns ip addr add 198.51.100.1/24 dev up0
mkdir -p "$W/ctrl"
# log_level debug: the log check below sees everything apgated says
zones_conf "$W" "$B" br-work debug >"$W/apgate.conf"

ctl() { "$B/apgatectl" -s "$W/admin.sock" "$@"; }
wait_for() { local end=$((SECONDS + $1)); shift; until "$@" >/dev/null 2>&1; do [ $SECONDS -ge $end ] && return 1; sleep 0.05; done; }
# ip netns exec execs the daemon itself, so $! is apgated's PID
start() {
	ip netns exec "$NS" "$B/apgated" -f -c "$W/apgate.conf" 2>>"$W/apgated.log" &
	DAEMON=$!
	wait_for 5 ctl status
}
stop() {
	kill "$DAEMON" || return 1
	wait "$DAEMON"
	local rc=$?
	DAEMON=
	return $rc
}
# the stored hash of user NAME, read with python3's sqlite3 (WAL-aware)
stored_hash() {
	python3 -c 'import sqlite3, sys
db = sqlite3.connect("file:" + sys.argv[1] + "?mode=ro", uri=True)
r = db.execute("SELECT hash FROM users WHERE name = ?", (sys.argv[2],)).fetchone()
print(r[0] if r else "")' "$W/registry.db" "$1"
}
# libsodium's own verifier: exit 0 when PASSWORD matches HASH
verifies() { # HASH PASSWORD
	python3 -c 'import ctypes, ctypes.util, sys
lib = ctypes.CDLL(ctypes.util.find_library("sodium") or "libsodium.so.23")
assert lib.sodium_init() >= 0
h, pw = sys.argv[1].encode(), sys.argv[2].encode()
sys.exit(0 if lib.crypto_pwhash_str_verify(ctypes.c_char_p(h), ctypes.c_char_p(pw), ctypes.c_ulonglong(len(pw))) == 0 else 1)' "$1" "$2"
}
refuses() { ! verifies "$@"; }
# apgatectl ARGS... on a pseudo-terminal, typing PW1 and PW2 at its two
# prompts; prints everything the terminal showed, then "exit N"
on_tty() { # PW1 PW2 ARGS...
	python3 - "$@" <<'PY'
import os, pty, sys, time
pw1, pw2, args = sys.argv[1], sys.argv[2], sys.argv[3:]
pid, fd = pty.fork()
if pid == 0:
    os.execv(args[0], args)
seen = b""
def read_until(what, secs=20):
    global seen
    end = time.time() + secs
    while what not in seen and time.time() < end:
        try:
            chunk = os.read(fd, 4096)
        except OSError:
            break
        if not chunk:
            break
        seen += chunk
for prompt, pw in ((b"password for", pw1), (b"again", pw2)):
    read_until(prompt)
    # echo is off once the prompt shows
    os.write(fd, pw.encode() + b"\n")
read_until(b"\0", 20)  # to EOF
_, status = os.waitpid(pid, 0)
sys.stdout.write(seen.decode(errors="replace"))
print("exit %d" % os.waitstatus_to_exitcode(status))
PY
}

ip netns exec "$NS" "$B/fakehapd" -d "$W/ctrl" -i ap0 >"$W/peer.log" 2>&1 &
PEER=$!
start || tap_bail "apgated does not start" "$(tail -30 "$W/apgated.log")"
ME=$(id -un)

PW_IT='correct horse battery staple'
PW_ANNA='Anna-Apotheke-2024'
PW_ANNA2='a new one, 2025!'
PW_TTY='typed on a terminal'

# 1. nobody yet; add an admin and an approver through stdin
out=$(ctl user list 2>&1)
check_match "user list with nobody says so" 'no portal users' "$out"
out=$(printf '%s\n' "$PW_IT" | ctl user add it --role admin 2>&1); rc=$?
check_eq "echo PW | user add it --role admin exits 0" 0 "$rc"
check_eq "and says so" "added user it (admin)" "$out"
out=$(printf '%s' "$PW_ANNA" | ctl user add anna 2>&1); rc=$?
check_eq "user add anna (no --role, no newline after the password) exits 0" 0 "$rc"
check_eq "anna is an approver by default" "added user anna (approver)" "$out"

# 2. user list: names and roles, never a hash
out=$(ctl user list 2>&1)
check_match "user list shows anna as approver" $'(^|\n)anna +approver +[0-9]{4}-[0-9]{2}-[0-9]{2} [0-9:]{8} +never' "$out"
check_match "user list shows it as admin" $'(^|\n)it +admin ' "$out"
check_match "user list counts 2 users" '2 user\(s\)' "$out"
check "user list shows no hash" bash -c "! grep -qi -e argon2 -e 'hash' <<<'$out'"
json=$(ctl user list --json 2>&1)
check "user list --json: anna approver, it admin, keys name/role/created_at/last_login only" \
	python3 -c 'import json, sys
u = json.loads(sys.argv[1])
assert [(x["name"], x["role"]) for x in u] == [("anna", "approver"), ("it", "admin")], u
assert all(set(x) == {"name", "role", "created_at", "last_login"} for x in u), u
assert all(x["last_login"] is None and x["created_at"].endswith("Z") for x in u), u' "$json"
check "user list --json has no hash" bash -c "! grep -qi argon2 <<<'$json'"

# 3. the registry holds argon2id hashes that verify, never the password
H_IT=$(stored_hash it)
H_ANNA=$(stored_hash anna)
check_match "the users table holds a \$argon2id\$ hash for it" '^\$argon2id\$v=19\$m=[0-9]+,t=[0-9]+,p=1\$' "$H_IT"
check_match "and one for anna" '^\$argon2id\$' "$H_ANNA"
check "it's hash verifies with it's password (libsodium crypto_pwhash_str_verify)" verifies "$H_IT" "$PW_IT"
check "anna's hash verifies with anna's password" verifies "$H_ANNA" "$PW_ANNA"
check "anna's hash refuses another password" refuses "$H_ANNA" "$PW_IT"
check "no password in the registry files (db, -wal, -shm)" \
	bash -c "ls '$W'/registry.db* >/dev/null && ! grep -qaF -e '$PW_IT' -e '$PW_ANNA' '$W'/registry.db*"
check "the registry files do hold the hash (the grep above looks at the right files)" \
	bash -c "grep -qaF -- '$H_IT' '$W'/registry.db*"

# 4. refusals
out=$(printf '%s\n' "another password" | ctl user add it 2>&1); rc=$?
check_eq "adding it again exits 1" 1 "$rc"
check_match "and says the user exists" 'user it exists' "$out"
check_eq "it's hash is unchanged" "$H_IT" "$(stored_hash it)"
out=$(printf 'short\n' | ctl user add bob 2>&1); rc=$?
check_eq "a 5-character password is refused (exit 2)" 2 "$rc"
check_match "with the rule" 'at least 10 characters' "$out"
out=$(printf '123456789\n' | ctl user add bob 2>&1); rc=$?
check_eq "9 characters are refused too" 2 "$rc"
out=$(printf '\n' | ctl user add bob 2>&1); rc=$?
check_eq "an empty password is refused" 2 "$rc"
check_eq "bob was not added" "" "$(stored_hash bob)"
out=$(printf '%s\n' "$PW_IT" | ctl user add 'bo b' 2>&1); rc=$?
check_eq "a name with a space is a usage error (exit 2)" 2 "$rc"
check_match "saying what a name may hold" 'not a user name' "$out"
out=$(printf '%s\n' "$PW_IT" | ctl user add bob --role root 2>&1); rc=$?
check_eq "an unknown role is a usage error" 2 "$rc"
out=$(ctl user del nobody 2>&1); rc=$?
check_eq "deleting an unknown user exits 1" 1 "$rc"
check_match "and says so" 'no user nobody' "$out"
out=$(ctl user del it 2>&1); rc=$?
check_eq "deleting the last admin exits 1" 1 "$rc"
check_match "and says why" 'it is the last admin' "$out"
out=$(ctl user role it approver 2>&1); rc=$?
check_eq "demoting the last admin exits 1" 1 "$rc"
check_match "and says why" 'last admin' "$out"
check_match "it is still an admin" $'(^|\n)it +admin ' "$(ctl user list)"

# 5. on a terminal: asked twice, nothing echoed; two different answers change nothing
out=$(on_tty "$PW_TTY" "$PW_TTY" "$B/apgatectl" -s "$W/admin.sock" user add bob 2>&1)
check_match "on a terminal, user add asks for the password" 'new password for bob: ' "$out"
check_match "and asks again" 'the same again: ' "$out"
check_match "and adds bob" $'added user bob \\(approver\\)\r?\nexit 0' "$out"
check "the typed password is not echoed" bash -c "! grep -qF -- '$PW_TTY' <<<'$out'"
check "bob's hash verifies with what was typed" verifies "$(stored_hash bob)" "$PW_TTY"
out=$(on_tty "$PW_TTY" "something else" "$B/apgatectl" -s "$W/admin.sock" user passwd bob 2>&1)
check_match "two different passwords are refused (exit 2)" $'the two passwords differ[^\n]*\r?\nexit 2' "$out"
check "bob's hash still verifies with the old password" verifies "$(stored_hash bob)" "$PW_TTY"

# 6. passwd, role, del
out=$(printf '%s\n' "$PW_ANNA2" | ctl user passwd anna 2>&1); rc=$?
check_eq "user passwd anna exits 0" 0 "$rc"
check_eq "and says so" "changed the password of anna" "$out"
H=$(stored_hash anna)
check "anna's new hash verifies with the new password" verifies "$H" "$PW_ANNA2"
check "and no longer with the old one" refuses "$H" "$PW_ANNA"
out=$(ctl user role anna admin 2>&1); rc=$?
check_eq "user role anna admin exits 0" 0 "$rc"
check_eq "and says so" "changed the role of anna (admin)" "$out"
check_match "anna is an admin now" $'(^|\n)anna +admin ' "$(ctl user list)"
check "with a second admin, it can be made an approver" ctl user role it approver
check "and deleted" ctl user del it
out=$(ctl user list 2>&1)
check "it is gone from the list" bash -c "! grep -q '^it ' <<<'$out'"
check_match "anna and bob remain" $'anna +admin .*\nbob +approver .*\n2 user\\(s\\)' "$out"
check "anna, now the only admin, cannot be deleted" bash -c "! '$B/apgatectl' -s '$W/admin.sock' user del anna"

# 7. the audit trail
ev=$(ctl events --limit 0 --json 2>&1)
aud() { # ACTION: "actor via detail" of its audit entries
	python3 -c 'import json, sys
for line in sys.stdin:
    e = json.loads(line)
    if e.get("kind") == "audit" and e.get("action") == sys.argv[1]:
        print(e.get("actor"), e.get("via"), e.get("detail") or "")' "$1" <<<"$ev"
}
check_eq "audit user_add entries: it, anna, bob, by $ME via cli" \
	"$ME cli user=it, role=admin"$'\n'"$ME cli user=anna, role=approver"$'\n'"$ME cli user=bob, role=approver" "$(aud user_add)"
check_eq "audit user_passwd: anna" "$ME cli user=anna" "$(aud user_passwd)"
check_eq "audit user_role: anna admin, it approver" \
	"$ME cli user=anna, role=admin"$'\n'"$ME cli user=it, role=approver" "$(aud user_role)"
check_eq "audit user_del: it (an approver by then)" "$ME cli user=it, role=approver" "$(aud user_del)"
text=$(ctl events --limit 0 2>&1)
check_match "apgatectl events shows user_del by $ME" "audit +user_del .*by $ME via cli: user=it" "$text"
check "no event holds a hash or a password" \
	bash -c "! grep -qF -e argon2 -e '$PW_IT' -e '$PW_ANNA' -e '$PW_ANNA2' -e '$PW_TTY' <<<'$ev$text'"
check "apgated's log holds no hash and no password" \
	bash -c "! grep -qF -e argon2 -e '$PW_IT' -e '$PW_ANNA' -e '$PW_ANNA2' -e '$PW_TTY' '$W/apgated.log'"

# 8. users survive a restart
check "apgated stops" stop
check "apgated starts again" start
check_match "anna and bob are still there" $'anna +admin .*\nbob +approver ' "$(ctl user list)"
check "apgated stops on SIGTERM with status 0" stop
check "no sanitizer report in apgated's log" bash -c "! grep -q 'Sanitizer' '$W/apgated.log'"
[ "$TAP_FAILED" = 0 ] || tap_diag "$(tail -30 "$W/apgated.log")"
tap_done
