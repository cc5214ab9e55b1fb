#!/bin/sh
# Installs wampmesh as a systemd service on any systemd Linux machine. Idempotent: run it
# again to upgrade the binary; an existing /etc/wampmesh/config.json is never overwritten.
#
#   scripts/install.sh [--binary FILE] [--prefix DIR] [--destdir DIR] [--no-enable] [--start]
#
#   --binary FILE  the executable (default: dist/wampmesh-linux-<this machine's arch>)
#   --prefix DIR   where the binary goes: DIR/bin/wampmesh (default /usr/local)
#   --destdir DIR  stage into DIR instead of / (also: DESTDIR=DIR), e.g. an image's root
#                  folder: nothing is started, the user is created with systemd-sysusers
#                  --root and the unit enabled with systemctl --root when those tools exist
#   --no-enable    do not enable the unit (default: enabled, so it starts at boot)
#   --start        (re)start the service now (only without --destdir)
#   --no-users     do not run systemd-sysusers (the user is then made at boot by
#                  systemd-sysusers.service; used by firmware-image/inject.sh)
#
# Puts in place: PREFIX/bin/wampmesh, /etc/systemd/system/wampmesh.service,
# /usr/lib/sysusers.d/wampmesh.conf (user "wampmesh"), /usr/lib/tmpfiles.d/wampmesh.conf,
# /etc/wampmesh/config.json (default, mode 0640 root:wampmesh). Without /usr/bin/perl
# (needed for systemd notifications, see src/runtime/sd-notify.ts) it adds a drop-in that
# makes the unit Type=exec without watchdog.
set -eu

here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/.." && pwd)
prefix=/usr/local
destdir=${DESTDIR:-}
binary=
enable=1
start=0
users=1

die() { echo "install.sh: $*" >&2; exit 1; }
say() { echo "install.sh: $*" >&2; }

while [ $# -gt 0 ]; do
  case $1 in
    --binary) binary=${2:?}; shift 2 ;;
    --binary=*) binary=${1#*=}; shift ;;
    --prefix) prefix=${2:?}; shift 2 ;;
    --prefix=*) prefix=${1#*=}; shift ;;
    --destdir) destdir=${2:?}; shift 2 ;;
    --destdir=*) destdir=${1#*=}; shift ;;
    --no-enable) enable=0; shift ;;
    --start) start=1; shift ;;
    --no-users) users=0; shift ;;
    -h|--help) awk 'NR > 1 && !/^#/ { exit } NR > 1 { sub(/^# ?/, ""); print }' "$0"; exit 0 ;;
    *) die "unknown option $1 (see --help)" ;;
  esac
done

case $prefix in /*) ;; *) die "--prefix must be absolute" ;; esac
destdir=${destdir%/}
if [ -z "$binary" ]; then
  case $(uname -m) in
    x86_64|amd64) arch=x64 ;;
    aarch64|arm64) arch=arm64 ;;
    *) die "no wampmesh build for $(uname -m); pass --binary" ;;
  esac
  binary=$root/dist/wampmesh-linux-$arch
fi
[ -f "$binary" ] || die "$binary not found (build it with: npm run build:binary)"
if [ -z "$destdir" ] && [ "$(id -u)" != 0 ]; then die "run as root (or stage with --destdir)"; fi

bindir=$prefix/bin
unitdir=/etc/systemd/system
sysusersdir=/usr/lib/sysusers.d
tmpfilesdir=/usr/lib/tmpfiles.d
confdir=/etc/wampmesh

# install -D would not be atomic for a running binary; copy next to it, then rename.
put() { # put SRC DEST MODE
  mkdir -p "$(dirname "$2")"
  tmp="$2.new.$$"
  cp "$1" "$tmp"
  chmod "$3" "$tmp"
  mv -f "$tmp" "$2"
}

put "$binary" "$destdir$bindir/wampmesh" 0755
say "binary: $destdir$bindir/wampmesh ($("$destdir$bindir/wampmesh" --version 2>/dev/null || echo 'cannot run here: other architecture'))"

# The unit names the binary by path: rewrite it for this prefix.
unit_tmp=$(mktemp)
trap 'rm -f "$unit_tmp"' EXIT
sed "s#^ExecStart=/usr/local/bin/wampmesh #ExecStart=$bindir/wampmesh #" "$root/systemd/wampmesh.service" > "$unit_tmp"
put "$unit_tmp" "$destdir$unitdir/wampmesh.service" 0644
put "$root/systemd/wampmesh.sysusers" "$destdir$sysusersdir/wampmesh.conf" 0644
put "$root/systemd/wampmesh.tmpfiles" "$destdir$tmpfilesdir/wampmesh.conf" 0644

dropin=$destdir$unitdir/wampmesh.service.d/no-notify.conf
if [ -x "$destdir/usr/bin/perl" ]; then
  rm -f "$dropin"
else
  say "no /usr/bin/perl: systemd notifications are off; the unit runs as Type=exec without watchdog"
  mkdir -p "$(dirname "$dropin")"
  printf '%s\n' '# Written by scripts/install.sh: without /usr/bin/perl wampmesh cannot notify systemd.' \
    '[Service]' 'Type=exec' 'WatchdogSec=0' > "$dropin"
fi

# The account: systemd-sysusers creates it from the file just installed.
if [ "$users" = 1 ] && command -v systemd-sysusers >/dev/null 2>&1; then
  if [ -n "$destdir" ]; then
    systemd-sysusers --root "$destdir" "$destdir$sysusersdir/wampmesh.conf" || say "systemd-sysusers --root failed; the user is created at first boot"
  else
    systemd-sysusers "$sysusersdir/wampmesh.conf"
  fi
fi

mkdir -p "$destdir$confdir"
if [ ! -e "$destdir$confdir/config.json" ]; then
  put "$root/systemd/config.json" "$destdir$confdir/config.json" 0640
  say "config: $destdir$confdir/config.json (default: realm1, anonymous, WebSocket :8080, RawSocket :8081)"
else
  say "config: $destdir$confdir/config.json kept"
fi
# Readable by the service's group, whoever owns it. Needs the group (after sysusers).
gid=$(awk -F: '$1 == "wampmesh" { print $3 }' "$destdir/etc/group" 2>/dev/null || true)
if [ -n "$gid" ]; then chgrp "$gid" "$destdir$confdir/config.json" 2>/dev/null || true; fi

if [ -n "$destdir" ]; then
  if [ "$enable" = 1 ]; then
    if command -v systemctl >/dev/null 2>&1; then
      systemctl --root "$destdir" enable wampmesh.service >/dev/null 2>&1 || say "systemctl --root enable failed"
    else
      mkdir -p "$destdir/etc/systemd/system/multi-user.target.wants"
      ln -sfn "$unitdir/wampmesh.service" "$destdir/etc/systemd/system/multi-user.target.wants/wampmesh.service"
    fi
  fi
  say "staged into $destdir"
  exit 0
fi

if [ -d /run/systemd/system ]; then
  systemctl daemon-reload
  if [ "$enable" = 1 ]; then systemctl enable wampmesh.service; fi
  if [ "$start" = 1 ]; then systemctl restart wampmesh.service; systemctl --no-pager status wampmesh.service || true; fi
else
  # A chroot or container without systemd running: enable by symlink only.
  if [ "$enable" = 1 ]; then systemctl enable wampmesh.service 2>/dev/null || say "systemd is not running: enable it later with systemctl enable wampmesh"; fi
  [ "$start" = 1 ] && say "systemd is not running here: not started"
fi
say "done"
