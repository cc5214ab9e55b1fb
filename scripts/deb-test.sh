#!/bin/bash
# The .deb's life in a Debian trixie chroot (amd64), through an apt repository made by
# scripts/apt-repo.sh, as a user would live it:
#   1. lintian on the packages under test;
#   2. apt-get install from the repository: account, folders, config mode, enable link,
#      conffiles, `wampmesh --version`, the admin CLI writing the data folder as the service user;
#   3. the administrator edits the config and adds a unit drop-in;
#   4. a newer build is added to the repository, apt-get upgrade: new version and executable,
#      the edits kept (no prompt, no .dpkg-dist), data kept, still enabled;
#   5. apt-get purge: every file of the package, the data, cache and config gone.
#
#   scripts/deb-test.sh [--base DIR] [--compress gzip|xz] [--keep]
#
# --base: a trixie root made once with debootstrap (default /tmp/deb-trixie, created when
# missing); each run works on a copy of it. Needs root (chroot), network access to the Debian
# archive (the package's dependencies), lintian, apt-utils, debootstrap. Takes ~2.5-4 minutes;
# not part of `npm test` (test/packaging/deb.test.ts checks the package layout there).
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/.." && pwd)

log() { echo "deb-test: $*" >&2; }
die() { log "error: $*"; exit 1; }

base=/tmp/deb-trixie
compress=gzip
keep=0
while [ $# -gt 0 ]; do
  case $1 in
    --base) base=$2; shift 2 ;;
    --compress) compress=$2; shift 2 ;;
    --keep) keep=1; shift ;;
    *) die "unknown option $1" ;;
  esac
done
[ "$(id -u)" = 0 ] || die "run as root (chroot)"
for t in lintian apt-ftparchive debootstrap dpkg-deb; do
  command -v "$t" >/dev/null || die "$t missing: apt-get install lintian apt-utils debootstrap"
done

started=$(date +%s)
work=$(mktemp -d "${TMPDIR:-/var/tmp}/wampmesh-debtest.XXXXXX")
ch=$work/root
cleanup() {
  umount "$ch/proc" 2>/dev/null || true
  if [ "$keep" = 1 ]; then log "kept $work"; else rm -rf "$work"; fi
}
trap cleanup EXIT

failures=0
ok() { log "ok: $*"; }
bad() { log "FAIL: $*"; failures=$((failures + 1)); }
check() { # check "what" COMMAND...
  local what=$1; shift
  if "$@"; then ok "$what"; else bad "$what"; fi
}
in_root() { chroot "$ch" env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin DEBIAN_FRONTEND=noninteractive LANG=C.UTF-8 "$@"; }
as_service() { in_root runuser -u wampmesh -- env HOME=/var/lib/wampmesh WAMPMESH_CACHE_DIR=/var/lib/wampmesh/.cache wampmesh "$@"; }

# --- Packages: this build, and a newer build of the same sources with another revision. ----
node "$root/scripts/build-binary.mjs" --arch x64 --if-changed >&2
v1_deb=$("$here/build-deb.sh" --arch amd64 --compress "$compress" --out "$work/debs")
v1=$(dpkg-deb -f "$v1_deb" Version)
WAMPMESH_REVISION=upgradetest node "$root/scripts/build-binary.mjs" --arch x64 --out "$work/build2" >&2
v2=$v1+upgradetest
v2_deb=$("$here/build-deb.sh" --arch amd64 --binary "$work/build2/wampmesh-linux-x64" --version "$v2" \
  --compress "$compress" --out "$work/debs")
dpkg --compare-versions "$v2" gt "$v1" || die "$v2 does not sort after $v1"
log "packages: $v1_deb, $v2_deb"

t0=$(date +%s)
if lintian_out=$(lintian --fail-on error,warning "$v1_deb" "$v2_deb" 2>&1); then
  ok "lintian: no errors or warnings (overrides: packaging/deb/lintian-overrides) in $(( $(date +%s) - t0 )) s"
else
  bad "lintian:"; echo "$lintian_out" >&2
fi

# --- Chroot ------------------------------------------------------------------------------
if [ ! -f "$base/etc/debian_version" ]; then
  mirror=$(. "$root/firmware-image/lib.sh"; debian_mirror)
  log "debootstrap trixie into $base from $mirror (once)"
  debootstrap --variant=minbase trixie "$base" "$mirror" > "$work/debootstrap.log" 2>&1 \
    || { tail -20 "$work/debootstrap.log" >&2; die "debootstrap failed"; }
fi
cp -a "$base" "$ch"
mount -t proc proc "$ch/proc"
repo=$ch/srv/repo
"$here/apt-repo.sh" "$repo" "$v1_deb"
echo 'deb [trusted=yes] file:/srv/repo stable main' > "$ch/etc/apt/sources.list.d/wampmesh.list"
in_root apt-get update -qq

# --- Install -----------------------------------------------------------------------------
t0=$(date +%s)
in_root apt-get install -y -qq wampmesh > "$work/install.log" 2>&1 || { tail -30 "$work/install.log" >&2; die "install failed"; }
log "installed $v1 (with its dependencies) in $(( $(date +%s) - t0 )) s"
version_line=$(in_root wampmesh --version)
log "wampmesh --version: $version_line"
check "--version names the release and the build" grep -q "^wampmesh $(dpkg-deb -f "$v1_deb" Version | cut -d+ -f1) (" <<< "$version_line"
check "account wampmesh, no login, home /var/lib/wampmesh" \
  grep -q '^wampmesh:x:[0-9]*:[0-9]*:[^:]*:/var/lib/wampmesh:/usr/sbin/nologin$' "$ch/etc/passwd"
check "config 0640 root:wampmesh" test "$(in_root stat -c '%a %U:%G' /etc/wampmesh/config.json)" = "640 root:wampmesh"
check "data folder 0750 wampmesh" test "$(in_root stat -c '%a %U:%G' /var/lib/wampmesh)" = "750 wampmesh:wampmesh"
check "service enabled (multi-user.target.wants)" \
  test "$(readlink "$ch/etc/systemd/system/multi-user.target.wants/wampmesh.service")" = /usr/lib/systemd/system/wampmesh.service
check "config.json is a conffile" grep -q '^ /etc/wampmesh/config.json ' <<< "$(in_root dpkg-query -W -f='${Conffiles}\n' wampmesh)"
check "unit runs /usr/bin/wampmesh" grep -q '^ExecStart=/usr/bin/wampmesh serve --config /etc/wampmesh/config.json$' "$ch/usr/lib/systemd/system/wampmesh.service"
check "admin CLI as the service user writes the data folder" \
  as_service realm create com.example.debtest --authmethods ticket --data /var/lib/wampmesh --init >/dev/null
in_root dpkg -L wampmesh > "$work/files.txt"

# --- Local edits -------------------------------------------------------------------------
sed -i 's/"logLevel": "warn"/"logLevel": "info"/' "$ch/etc/wampmesh/config.json"
grep -q '"logLevel": "info"' "$ch/etc/wampmesh/config.json" || die "could not edit the config"
mkdir -p "$ch/etc/systemd/system/wampmesh.service.d"
printf '[Service]\nMemoryMax=256M\n' > "$ch/etc/systemd/system/wampmesh.service.d/local.conf"

# --- Upgrade -----------------------------------------------------------------------------
"$here/apt-repo.sh" "$repo" "$v2_deb"
in_root apt-get update -qq
t0=$(date +%s)
in_root apt-get upgrade -y -qq > "$work/upgrade.log" 2>&1 || { tail -30 "$work/upgrade.log" >&2; die "upgrade failed"; }
log "upgraded to $v2 in $(( $(date +%s) - t0 )) s"
check "installed version is the newer one" test "$(in_root dpkg-query -W -f='${Version}' wampmesh)" = "$v2"
check "the new executable runs (--version: upgradetest)" grep -q '(upgradetest)' <<< "$(in_root wampmesh --version)"
check "config edit kept" grep -q '"logLevel": "info"' "$ch/etc/wampmesh/config.json"
check "no conffile prompt leftovers (.dpkg-dist/.dpkg-new)" test -z "$(find "$ch/etc/wampmesh" -name '*.dpkg-*')"
check "config still 0640 root:wampmesh" test "$(in_root stat -c '%a %U:%G' /etc/wampmesh/config.json)" = "640 root:wampmesh"
check "unit drop-in kept" test -f "$ch/etc/systemd/system/wampmesh.service.d/local.conf"
check "still enabled" test -L "$ch/etc/systemd/system/multi-user.target.wants/wampmesh.service"
check "data kept (realm still there)" grep -q com.example.debtest <<< "$(as_service realm list --data /var/lib/wampmesh)"

# --- Purge -------------------------------------------------------------------------------
rm -rf "$ch/etc/systemd/system/wampmesh.service.d"   # the administrator's own file
in_root apt-get purge -y -qq wampmesh > "$work/purge.log" 2>&1 || { tail -30 "$work/purge.log" >&2; die "purge failed"; }
pkg_status() { in_root dpkg-query -W -f='${db:Status-Status}' wampmesh 2>/dev/null || echo not-installed; }
check "package gone from dpkg" test "$(pkg_status)" = not-installed
left=$(while read -r f; do [ -f "$ch$f" ] || [ -L "$ch$f" ] && echo "$f"; done < "$work/files.txt" || true)
check "every file of the package removed" test -z "$left"
[ -z "$left" ] || log "left: $left"
for p in /etc/wampmesh /var/lib/wampmesh /var/cache/wampmesh /etc/systemd/system/multi-user.target.wants/wampmesh.service; do
  check "$p removed" test ! -e "$ch$p"
done
check "no systemd enable state left" test -z "$(find "$ch/var/lib/systemd/deb-systemd-helper-enabled" -name '*wampmesh*' 2>/dev/null)"
log "account kept after purge, as Debian does: $(grep '^wampmesh:' "$ch/etc/passwd" || echo none)"

log "deb test $([ $failures = 0 ] && echo PASSED || echo "FAILED ($failures)") in $(( $(date +%s) - started )) s"
[ $failures = 0 ]
