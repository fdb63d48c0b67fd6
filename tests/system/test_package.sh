#!/bin/bash
# test_package.sh - the package `make deb` builds, installed into a clean
# Debian 12 root with apt (so its Depends must resolve), checked where the man
# pages say the files are, then upgraded, removed and purged.
#
# The root is `debootstrap --variant=minbase bookworm` plus man-db (to read the
# man pages inside it). It is made once and cached as build/pkgtest-root-*.tar.gz
# (about 1 minute; a run from the cache takes about 30 s). Delete the tarball to
# make a fresh one. An unreachable Debian mirror is a failure, not a skip.
# APGATE_DEBIAN_MIRROR overrides the mirror; APGATE_DEB=FILE tests that package
# instead of running `make deb`.
#
# Every command inside the root runs in its own mount and PID namespace
# (unshare --mount-proc): /proc is mounted there only, and goes away with the
# namespace, so nothing is ever mounted on the host; the trap removes the root.
set -u
cd "$(dirname "$0")/../.."
REPO=$PWD
. tests/lab/tap.sh

[ "$(id -u)" -eq 0 ] || tap_skip_all "needs root (debootstrap, chroot)"

SUITE=bookworm
MIRROR=${APGATE_DEBIAN_MIRROR:-http://deb.debian.org/debian}
ARCH=$(dpkg --print-architecture)
CACHE="$REPO/build/pkgtest-root-$SUITE-$ARCH.tar.gz"
WORK=$(mktemp -d /tmp/apgate-pkgtest.XXXXXX)
ROOT="$WORK/root"

cleanup() {
	local m
	# nothing should be mounted under WORK (the namespaces took their /proc
	# with them); if something is, unmount it before removing anything
	while read -r _ m _; do
		case "$m" in "$WORK"/*) umount -l "$m" 2>/dev/null ;; esac
	done </proc/self/mounts
	if grep -q " $WORK/" /proc/self/mounts; then
		echo "# still mounted under $WORK; not removing it" >&2
	else
		rm -rf "$WORK"
	fi
	tap_cleanup
}
trap cleanup EXIT

# in_root CMD... - runs CMD in the root, in a private mount and PID namespace
in_root() {
	unshare --mount --pid --fork --mount-proc="$ROOT/proc" \
		chroot "$ROOT" /usr/bin/env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin HOME=/root \
		LANG=C.UTF-8 DEBIAN_FRONTEND=noninteractive "$@"
}

# ---- the package ----
# APGATE_DEB=FILE tests a package built before instead of running make deb
t0=$SECONDS
if [ -n "${APGATE_DEB:-}" ]; then
	DEB=$APGATE_DEB
else
	if ! make -s --no-print-directory deb >"$WORK/make-deb.log" 2>&1; then
		tap_bail "make deb" "$(tail -30 "$WORK/make-deb.log")"
	fi
	DEB=$(ls -t build/apgate_*_"$ARCH".deb 2>/dev/null | head -1)
fi
check "make deb builds build/apgate_<version>_$ARCH.deb" test -s "$DEB"
VERSION=$(dpkg-deb -f "$DEB" Version)
tap_diag "package $DEB ($VERSION), $((SECONDS - t0)) s"

# ---- make install into a user's own PREFIX: everything under it ----
# (its own BUILD, so build/'s objects keep their paths)
P="$WORK/prefix"
if make -s --no-print-directory BUILD=build/prefix-obj PREFIX="$P" install >"$WORK/install.log" 2>&1; then
	for f in sbin/apgated sbin/apgate-hostapd-conf bin/apgatectl libexec/apgate/apgate-dhcp-script \
		share/apgate/portal/static/app.css share/apgate/portal/i18n/ja.json share/man/man5/apgate.conf.5 \
		share/man/man8/apgated.8 share/man/man8/apgatectl.8 etc/apgate/apgate.conf lib/systemd/system/apgated.service; do
		check "make install PREFIX=\$P: $f" test -s "$P/$f"
	done
	check "PREFIX/var/lib/apgate made" test -d "$P/var/lib/apgate"
	check_match "installed unit runs PREFIX/sbin/apgated with PREFIX/etc/apgate/apgate.conf" \
		"ExecStart=$P/sbin/apgated -f -c $P/etc/apgate/apgate.conf" "$(cat "$P/lib/systemd/system/apgated.service")"
	check_match "installed apgate.conf keeps its state under PREFIX/var" \
		"registry = $P/var/lib/apgate/registry.db" "$(cat "$P/etc/apgate/apgate.conf")"
	check "PREFIX/sbin/apgated -n accepts PREFIX/etc/apgate/apgate.conf" \
		"$P/sbin/apgated" -n -c "$P/etc/apgate/apgate.conf"
	echo "# mine" >>"$P/etc/apgate/apgate.conf"
	make -s --no-print-directory BUILD=build/prefix-obj PREFIX="$P" install >>"$WORK/install.log" 2>&1
	check "a second make install keeps the admin's apgate.conf" grep -q '^# mine' "$P/etc/apgate/apgate.conf"
else
	tap_fail "make install PREFIX=$P" "$(tail -20 "$WORK/install.log")"
fi

# ---- a clean Debian root ----
t0=$SECONDS
if [ ! -s "$CACHE" ]; then
	for i in 1 2 3; do # another apt may hold the dpkg lock for a moment
		tests/install-deps.sh debootstrap && break
		sleep 10
	done
	command -v debootstrap >/dev/null || tap_bail "debootstrap installed"
	mkdir "$WORK/base"
	if ! debootstrap --variant=minbase "$SUITE" "$WORK/base" "$MIRROR" >"$WORK/debootstrap.log" 2>&1; then
		tap_bail "debootstrap $SUITE from $MIRROR" "$(tail -20 "$WORK/debootstrap.log")"
	fi
	# man-db, to read the installed pages inside the root as a user would
	cp /etc/resolv.conf "$WORK/base/etc/resolv.conf"
	if ! ROOT="$WORK/base" in_root sh -c 'apt-get -qq update && apt-get -qq install -y --no-install-recommends man-db' \
		>"$WORK/man-db.log" 2>&1; then
		tap_bail "man-db in the base root" "$(tail -20 "$WORK/man-db.log")"
	fi
	tar -C "$WORK/base" -czf "$CACHE.tmp" . && mv "$CACHE.tmp" "$CACHE"
	rm -rf "$WORK/base"
	tap_diag "made $CACHE in $((SECONDS - t0)) s"
fi
mkdir "$ROOT"
tar -C "$ROOT" -xzf "$CACHE" || tap_bail "unpack $CACHE"
cp /etc/resolv.conf "$ROOT/etc/resolv.conf"
# no service starts inside the root (hostapd ships an init script)
printf '#!/bin/sh\nexit 101\n' >"$ROOT/usr/sbin/policy-rc.d"
chmod 0755 "$ROOT/usr/sbin/policy-rc.d"
check "the root is a clean $SUITE without apgate" \
	bash -c "grep -q '^12' '$ROOT/etc/debian_version' && ! test -e '$ROOT/usr/sbin/apgated'"
tap_diag "root ready in $((SECONDS - t0)) s"

# ---- install with apt: Depends must resolve from Debian alone ----
t0=$SECONDS
cp "$DEB" "$ROOT/tmp/apgate.deb"
check "apt-get update in the root (Debian mirror reachable)" in_root apt-get -qq update
check "apt-get install /tmp/apgate.deb (Depends only, no Recommends)" \
	in_root apt-get -qq install -y --no-install-recommends /tmp/apgate.deb
tap_diag "installed in $((SECONDS - t0)) s"
check_eq "dpkg: apgate $VERSION installed" "install ok installed $VERSION" \
	"$(in_root dpkg-query -W -f='${Status} ${Version}' apgate 2>&1)"

# every shared library the programs need came with the Depends
missing=""
for b in /usr/sbin/apgated /usr/sbin/apgate-hostapd-conf /usr/bin/apgatectl /usr/libexec/apgate/apgate-dhcp-script; do
	out=$(in_root ldd "$b" 2>&1) || missing+="$b: ldd failed: $out"$'\n'
	grep -q 'not found' <<<"$out" && missing+="$b: $(grep 'not found' <<<"$out")"$'\n'
done
check_eq "every library of every program resolves in the root (dpkg-shlibdeps Depends)" "" "$missing"

# ---- files land where the man pages say ----
# the FILES sections: each ".TP" followed by ".I path"; ours are under these
man_paths=$(awk '/^\.SH /{f=($0 ~ /^\.SH FILES/)} f && prev==".TP" && /^\.I \//{print $2} {prev=$0}' man/*.[58] |
	sed 's/\\-/-/g' | sort -u)
ours=0
for p in $man_paths; do
	case "$p" in
	/usr/sbin/* | /usr/bin/* | /usr/libexec/apgate/* | /usr/share/apgate/* | /etc/apgate/* | /lib/systemd/* | /usr/share/doc/apgate/*)
		ours=$((ours + 1))
		check "$p (named in a man page's FILES) is installed" test -e "$ROOT$p" ;;
	esac
done
check "the man pages name the package's files (found $ours)" test "$ours" -ge 8
check_eq "/var/lib/apgate: state directory owned by apgate, 0750" "apgate apgate 750" \
	"$(in_root stat -c '%U %G %a' /var/lib/apgate 2>&1)"

for f in portal/static/* portal/i18n/*.json; do
	check "portal file $f in /usr/share/apgate/portal" cmp "$f" "$ROOT/usr/share/apgate/$f"
done
# the units and drop-ins of systemd/; every program they run is in the root
# (from this package or its Depends), every user and group they name exists
units=$(cd systemd && find . -type f ! -name '*.md' ! -name 'README*' | sed 's|^\./||' | sort)
for f in $units; do
	u="$ROOT/lib/systemd/system/$f"
	check "unit file systemd/$f in /lib/systemd/system" test -s "$u" || continue
	for x in $(sed -n 's/^Exec[A-Za-z]*=[-@:+!]*\(\/[^ ]*\).*/\1/p' "$u" | sort -u); do
		check "$f: $x exists in the root" test -x "$ROOT$x"
	done
	for g in $(sed -n 's/^\(Group\|SupplementaryGroups\)=//p' "$u"); do
		check "$f: group $g exists in the root" in_root getent group "$g"
	done
	for x in $(sed -n 's/^User=//p' "$u"); do
		check "$f: user $x exists in the root" in_root getent passwd "$x"
	done
	# enabled (not started) by the postinst: the [Install] WantedBy= symlinks
	for w in $(sed -n 's/^WantedBy=//p' "$u"); do
		check "$(basename "$f") enabled by the postinst ($w.wants)" \
			test -L "$ROOT/etc/systemd/system/$w.wants/$(basename "$f")"
	done
done

# man pages, read with man inside the root
for pg in "8 apgated" "8 apgatectl" "5 apgate.conf" "8 apgate-hostapd-conf"; do
	set -- $pg
	out=$(in_root env MANPAGER=cat MANWIDTH=80 man "$1" "$2" 2>&1)
	check_match "man $1 $2 reads inside the root" "NAME.*$2 - " "$(tr '\n' ' ' <<<"$out" | tr -s ' ')"
done

# the conffile, the user, the shipped configuration accepted
check_match "/etc/apgate/apgate.conf is a conffile" "/etc/apgate/apgate.conf [0-9a-f]{32}" \
	"$(in_root dpkg-query -W -f='${Conffiles}' apgate 2>&1)"
check "conffile is the shipped example" cmp controller/apgate.conf.example "$ROOT/etc/apgate/apgate.conf"
pw=$(in_root getent passwd apgate)
check_match "system user apgate (home /var/lib/apgate, no shell)" \
	"^apgate:x:[0-9]+:[0-9]+:[^:]*:/var/lib/apgate:/usr/sbin/nologin$" "$pw"
uid=$(cut -d: -f3 <<<"$pw")
check "apgate's uid is a system uid (< 1000)" test "${uid:-1000}" -lt 1000
check "group apgate exists" in_root getent group apgate
out=$(in_root apgated -n -c /etc/apgate/apgate.conf 2>&1); rc=$?
check_eq "apgated -n accepts the shipped configuration inside the root" \
	"0 /etc/apgate/apgate.conf: configuration ok (2 BSS)" "$rc $out"
check_match "apgatectl runs inside the root" "usage: apgatectl" "$(in_root apgatectl --help 2>&1)"

# ---- an upgrade keeps the admin's configuration and the state ----
echo "# changed by the shop's admin" >>"$ROOT/etc/apgate/apgate.conf"
printf 'registry\n' >"$ROOT/var/lib/apgate/registry.db"
in_root chown apgate:apgate /var/lib/apgate/registry.db
# the same package as a newer version (bumped in its control file)
mkdir "$WORK/up"
dpkg-deb -R "$DEB" "$WORK/up/pkg"
sed -i "s/^Version: .*/Version: $VERSION+up1/" "$WORK/up/pkg/DEBIAN/control"
dpkg-deb --root-owner-group -b "$WORK/up/pkg" "$ROOT/tmp/apgate-up.deb" >/dev/null
check "upgrade to $VERSION+up1 (dpkg -i, no prompt)" in_root dpkg -i /tmp/apgate-up.deb
check_eq "upgraded" "install ok installed $VERSION+up1" \
	"$(in_root dpkg-query -W -f='${Status} ${Version}' apgate 2>&1)"
check "upgrade kept the admin's change to apgate.conf" \
	grep -q "changed by the shop's admin" "$ROOT/etc/apgate/apgate.conf"
check "upgrade kept the registry" grep -q registry "$ROOT/var/lib/apgate/registry.db"
check "upgrade kept the user" in_root getent passwd apgate

# ---- remove keeps configuration, state and user; purge removes them ----
check "dpkg -r apgate" in_root dpkg -r apgate
check_eq "removed, configuration left" "deinstall ok config-files" \
	"$(in_root dpkg-query -W -f='${Status}' apgate 2>&1)"
check "remove took the programs" test ! -e "$ROOT/usr/sbin/apgated" -a ! -e "$ROOT/usr/bin/apgatectl"
check "remove kept /etc/apgate/apgate.conf with the admin's change" \
	grep -q "changed by the shop's admin" "$ROOT/etc/apgate/apgate.conf"
check "remove kept /var/lib/apgate and the registry" test -s "$ROOT/var/lib/apgate/registry.db"
check "remove kept the user apgate" in_root getent passwd apgate
check "dpkg -P apgate" in_root dpkg -P apgate
check "purge removed /etc/apgate" test ! -e "$ROOT/etc/apgate"
check "purge removed /var/lib/apgate" test ! -e "$ROOT/var/lib/apgate"
check "purge removed the user apgate" bash -c "! grep -q '^apgate:' '$ROOT/etc/passwd'"
check "purge removed the group apgate" bash -c "! grep -q '^apgate:' '$ROOT/etc/group'"
check "purge removed the unit" test ! -e "$ROOT/lib/systemd/system/apgated.service"
check "dpkg forgot apgate" bash -c "! chroot '$ROOT' dpkg-query -W apgate >/dev/null 2>&1"

tap_done
