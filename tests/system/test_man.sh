#!/bin/bash
# test_man.sh - the man pages in man/: each renders without a warning (groff
# -ww, man -l), and they say what the programs do:
#  - apgate.conf(5) has every key of the key table in controller/core/cfg.c,
#    in its section, with the default the table gives (and the README's
#    configuration reference agrees on section, key and default);
#  - apgatectl(8) describes every command of `apgatectl --help`;
#  - apgated(8) every option and exit status of `apgated --help`.
set -u
cd "$(dirname "$0")/../.."
. tests/lab/tap.sh
BUILD=${APGATE_BUILD:-build}

command -v groff >/dev/null && command -v man >/dev/null || tap_skip_all "needs groff and man"
for b in apgated apgatectl; do
	[ -x "$BUILD/$b" ] || tap_bail "$BUILD/$b built"
done

for f in man/*.[58]; do
	check "groff -man -ww: $f without warnings" \
		bash -c "out=\$(groff -man -ww -z '$f' 2>&1) && [ -z \"\$out\" ] || { echo \"\$out\"; false; }"
	check "man -l $f renders without warnings" \
		bash -c "out=\$(LC_ALL=C.UTF-8 MANWIDTH=80 man --warnings -l '$f' 2>&1 >/dev/null) && [ -z \"\$out\" ] || { echo \"\$out\"; false; }"
done

"$BUILD/apgatectl" --help >"$TAP_OUT.ctl" 2>&1
"$BUILD/apgated" --help >"$TAP_OUT.d" 2>&1
python3 - "$TAP_OUT.ctl" "$TAP_OUT.d" <<'EOF' >"$TAP_OUT.py"
import re, sys

def plain(line):
    """roff source line -> text: font escapes, \\- and quotes out."""
    line = re.sub(r'\\f[BIRP]', '', line)
    line = line.replace('\\-', '-').replace('\\(aq', "'").replace('\\(dq', '"').replace('\\&', '')
    line = re.sub(r'^\.(B|I|BI|BR|IR|RB|IB|RI)\s+', '', line)
    return line.replace('"', '').strip()

def entries(path):
    """{(section, key): text} of the .TP entries of a page; section = .SH title."""
    out, sec, key, prev = {}, None, None, ''
    for raw in open(path):
        raw = raw.rstrip('\n')
        if raw.startswith('.SH '):
            sec, key = raw[4:].strip('"'), None
        elif prev == '.TP' or prev == '.TQ':
            key = plain(raw)
            out[(sec, key)] = ''
        elif key is not None and not raw.startswith('.\\"'):
            if raw in ('.TP', '.TQ') or raw.startswith('.SS') or raw.startswith('.SH'):
                pass
            else:
                out[(sec, key)] += ' ' + plain(raw)
        prev = raw
    return out

def tap(ok, desc, diag=''):
    print(('ok - ' if ok else 'not ok - ') + desc)
    if not ok and diag:
        for l in diag.splitlines():
            print('# ' + l)

# ---- apgate.conf(5) against cfg.c's key table ----
src = open('controller/core/cfg.c').read()
table = src[src.index('static const struct key_def keys[]'):]
table = table[:table.index('};')]
kinds = {'SEC_APGATED': '[apgated]', 'SEC_HOSTAPD': '[hostapd]', 'SEC_NETWORK': '[network]',
         'SEC_DNSMASQ': '[dnsmasq]', 'SEC_WIFI': '[wifi]', 'SEC_REPAIR': '[repair]',
         'SEC_PORTAL': '[portal]', 'SEC_POLICIES': '[policies]', 'SEC_CHECKS': '[checks]',
         'SEC_ALERTS': '[alerts]', 'SEC_BSS': '[bss IFNAME]', 'SEC_ZONE': '[zone NAME]'}
portal_dir = re.search(r'#define APGATE_PORTAL_DIR "([^"]*)"', src).group(1)
policies_dir = re.search(r'#define APGATE_POLICIES_DIR "([^"]*)"', src).group(1)
keys = []
for m in re.finditer(r'\{\s*(SEC_\w+),\s*"(\w+)",\s*\w+,\s*[^,]*,\s*(NULL|NONE|APGATE_PORTAL_DIR|APGATE_POLICIES_DIR|"[^"]*")', table):
    kind, key, d = m.groups()
    d = {'APGATE_PORTAL_DIR': portal_dir, 'APGATE_POLICIES_DIR': policies_dir}.get(d, d)
    keys.append((kinds[kind], key, d.strip('"') if d.startswith('"') else d))
tap(len(keys) >= 50, 'cfg.c key table read (%d keys)' % len(keys))

conf = entries('man/apgate.conf.5')
for sec, key, d in keys:
    text = conf.get(('SECTION ' + sec, key))
    if text is None:
        tap(False, 'apgate.conf.5: %s %s described' % (sec, key),
            'no ".TP / .B %s" under .SH "SECTION %s"' % (key, sec))
        continue
    if d == 'NULL':
        ok = 'Required' in text
        want = 'Required'
    elif d in ('NONE', ''):
        ok = 'Default:' in text  # "none", or what an empty value means
        want = 'Default: (something)'
    else:
        ok = ('Default: ' + d) in text
        want = 'Default: ' + d
    tap(ok, 'apgate.conf.5: %s %s with default %s' % (sec, key, want), 'text: ' + text)

# the README's configuration reference: same keys, same defaults
readme = open('README.md').read()
ref = readme[readme.index('## Configuration reference'):]
sec, rows = None, []
for line in ref.splitlines():
    m = re.match(r'\| (`\[[^\]]+\]`)? *\| `([\w`, ]+)` \| ([^|]*) \|', line)
    if not m:
        continue
    if m.group(1):
        sec = m.group(1).strip('`')
    for k in re.findall(r'\w+', m.group(2)):
        rows.append((sec, k, m.group(3).strip()))
for sec, key, d in keys:
    r = [x for x in rows if x[0] == sec and x[1] == key]
    if not r:
        tap(False, 'README reference has %s %s' % (sec, key))
        continue
    rd = r[0][2]
    if d not in ('NULL', 'NONE', '') and key not in ('cert', 'key', 'dir'):
        tap(rd.startswith('`%s`' % d), 'README and apgate.conf.5 agree: %s %s = %s' % (sec, key, d),
            'README: ' + rd)
    elif d == 'NULL':
        tap(rd.startswith('required'), 'README and apgate.conf.5 agree: %s %s required' % (sec, key),
            'README: ' + rd)

# ---- apgatectl(8) against apgatectl --help ----
usage = open(sys.argv[1]).read()
cmds = []
insec = False
for line in usage.splitlines():
    if line == 'commands:':
        insec = True
        continue
    if insec and not line.strip():
        break
    m = re.match(r'^  (user \w+|\w[\w-]*)\b', line) if insec else None
    if m:
        cmds.append(m.group(1))
tap(len(cmds) >= 15, 'apgatectl --help lists its commands (%d)' % len(cmds), usage)
tags = [k for (s, k) in entries('man/apgatectl.8') if s == 'COMMANDS']
for c in dict.fromkeys(cmds):
    tap(any(t == c or t.startswith(c + ' ') for t in tags), 'apgatectl.8 describes "%s"' % c,
        'tags: ' + ', '.join(tags))
opts = set(re.findall(r'^  (-[a-z]), (--[a-z]+)', usage.split('options:')[1], re.M))
opts = {o for pair in opts for o in pair}
tap(len(opts) >= 4, 'apgatectl --help lists its options (%d)' % len(opts), usage)
text = ' '.join(k + ' ' + v for (s, k), v in entries('man/apgatectl.8').items() if s == 'OPTIONS')
for o in sorted(opts):
    tap(o in text.split() or (o + ',') in text.split(), 'apgatectl.8 OPTIONS has %s' % o, text)

# ---- apgated(8) against apgated --help ----
dusage = open(sys.argv[2]).read()
d = entries('man/apgated.8')
otags = ' '.join(k for (s, k) in d if s == 'OPTIONS').split()
for o in sorted(set(re.findall(r'^  (-[a-z]|--[a-z]+)', dusage, re.M))):
    tap(o in otags, 'apgated.8 OPTIONS has %s' % o, ' '.join(otags))
codes = re.findall(r'(\d+) [a-z]', dusage.split('exit status:')[1])
etags = [k for (s, k) in d if s == 'EXIT STATUS']
for c in codes:
    tap(c in etags, 'apgated.8 EXIT STATUS has %s' % c, ' '.join(etags))
for s in ('SIGTERM', 'SIGHUP'):
    tap(any(s in k for (sec, k) in d if sec == 'SIGNALS'), 'apgated.8 SIGNALS has %s' % s)
EOF
rc=$?
# the python checks become this script's own TAP results (counted in the plan)
while IFS= read -r l; do
	case $l in
	"ok - "*) _tap_result 0 "${l#ok - }" ;;
	"not ok - "*) _tap_result 1 "${l#not ok - }" ;;
	*) printf '%s\n' "$l" ;;
	esac
done <"$TAP_OUT.py"
rm -f "$TAP_OUT.ctl" "$TAP_OUT.d" "$TAP_OUT.py"
[ "$rc" -eq 0 ] || tap_fail "the checks in python ran" "exit $rc"
tap_done
