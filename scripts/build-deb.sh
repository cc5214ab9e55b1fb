#!/bin/bash
# Builds the Debian packages of wampmesh (amd64, arm64) offline with dpkg-deb, from the single
# executables `npm run build:binary` makes. No source package, no debhelper: the maintainer
# scripts in packaging/deb/ do what dh_installsysusers/tmpfiles/systemd would generate.
#
#   scripts/build-deb.sh [--arch amd64,arm64] [--binary FILE] [--version VERSION]
#                        [--out DIR] [--compress xz|gzip|none]
#
#   --arch       Debian architectures to build (default amd64,arm64)
#   --binary     the executable, with a single --arch (default dist/wampmesh-linux-<x64|arm64>,
#                built when missing or out of date)
#   --version    package version (default: VERSION+gitYYYYMMDDHHMMSS.REVISION from the
#                wampmesh-build.json next to the executable, so each commit's build upgrades
#                the one before)
#   --out        output folder (default dist/deb)
#   --compress   dpkg-deb compression (default xz)
#
# Prints the path of each package made on stdout. Layout and maintainer scripts:
# packaging/deb/README.md. Needs dpkg-deb (dpkg) only; runs as any user.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/.." && pwd)
pkgdir=$root/packaging/deb

log() { echo "build-deb: $*" >&2; }
die() { log "error: $*"; exit 1; }

archs=amd64,arm64
binary=
version=
out=$root/dist/deb
compress=xz
while [ $# -gt 0 ]; do
  case $1 in
    --arch) archs=$2; shift 2 ;;
    --binary) binary=$(readlink -f "$2"); shift 2 ;;
    --version) version=$2; shift 2 ;;
    --out) out=$2; shift 2 ;;
    --compress) compress=$2; shift 2 ;;
    -h|--help) awk 'NR > 1 && !/^#/ { exit } NR > 1 { sub(/^# ?/, ""); print }' "$0"; exit 0 ;;
    *) die "unknown option $1 (see --help)" ;;
  esac
done
command -v dpkg-deb >/dev/null || die "dpkg-deb not found (Debian package dpkg)"
IFS=, read -r -a arch_list <<< "$archs"
[ -z "$binary" ] || [ ${#arch_list[@]} -eq 1 ] || die "--binary goes with a single --arch"
case $compress in xz|gzip|none) ;; *) die "--compress: xz, gzip or none" ;; esac

node_arch() { case $1 in amd64) echo x64 ;; arm64) echo arm64 ;; *) die "unsupported architecture $1 (amd64, arm64; armhf: see packaging/deb/README.md)" ;; esac; }
for a in "${arch_list[@]}"; do node_arch "$a" >/dev/null; done

if [ -z "$binary" ]; then
  wanted=$(for a in "${arch_list[@]}"; do node_arch "$a"; done | paste -sd,)
  node "$root/scripts/build-binary.mjs" --arch "$wanted" --if-changed >&2
fi

# Version and changelog date from the build's own record (commit date, never the clock), so
# the same commit gives the same package.
manifest=$(dirname "${binary:-$root/dist/x}")/wampmesh-build.json
build_field() { sed -n "/\"build\": {/,/}/ s/.*\"$1\": \"\\([^\"]*\\)\".*/\\1/p" "$manifest" | head -1; }
if [ -f "$manifest" ]; then
  date=$(build_field date)
  [ -n "$version" ] || version="$(build_field version)+git$(date -u -d "$date" +%Y%m%d%H%M%S).$(build_field revision | tr -- '-' '.')"
else
  date=$(date -u -d "@${SOURCE_DATE_EPOCH:-$(git -C "$root" log -1 --format=%ct)}" +%Y-%m-%dT%H:%M:%SZ)
fi
[ -n "$version" ] || die "no --version and no $manifest"
[[ $version =~ ^[0-9][A-Za-z0-9.+~]*$ ]] || die "--version '$version' is not a Debian native version"
epoch=$(date -u -d "$date" +%s)
# Who publishes the packages: set these for a real repository.
maintainer=${WAMPMESH_DEB_MAINTAINER:-wampmesh maintainers <packages@wampmesh.invalid>}
homepage=${WAMPMESH_DEB_HOMEPAGE:-}

mkdir -p "$out"
stage_root=$(mktemp -d "${TMPDIR:-/tmp}/wampmesh-deb.XXXXXX")
trap 'rm -rf "$stage_root"' EXIT

for arch in "${arch_list[@]}"; do
  bin=${binary:-$root/dist/wampmesh-linux-$(node_arch "$arch")}
  [ -f "$bin" ] || die "$bin not found (npm run build:binary)"
  s=$stage_root/$arch
  install -d "$s/DEBIAN" "$s/usr/bin" "$s/usr/lib/systemd/system" "$s/usr/lib/sysusers.d" \
    "$s/usr/lib/tmpfiles.d" "$s/etc/wampmesh" "$s/usr/share/doc/wampmesh" "$s/usr/share/man/man1" \
    "$s/usr/share/lintian/overrides"
  install -m 0755 "$bin" "$s/usr/bin/wampmesh"
  sed 's#^ExecStart=/usr/local/bin/wampmesh #ExecStart=/usr/bin/wampmesh #' "$root/systemd/wampmesh.service" \
    > "$s/usr/lib/systemd/system/wampmesh.service"
  grep -q '^ExecStart=/usr/bin/wampmesh ' "$s/usr/lib/systemd/system/wampmesh.service" || die "ExecStart not rewritten"
  install -m 0644 "$root/systemd/wampmesh.sysusers" "$s/usr/lib/sysusers.d/wampmesh.conf"
  install -m 0644 "$root/systemd/wampmesh.tmpfiles" "$s/usr/lib/tmpfiles.d/wampmesh.conf"
  # 0644 in the archive (lintian: conffiles are world-readable); postinst's systemd-tmpfiles
  # makes it 0640 root:wampmesh, as the default holds no secret until an administrator adds one.
  install -m 0644 "$root/systemd/config.json" "$s/etc/wampmesh/config.json"
  install -m 0644 "$pkgdir/copyright" "$s/usr/share/doc/wampmesh/copyright"
  install -m 0644 "$pkgdir/lintian-overrides" "$s/usr/share/lintian/overrides/wampmesh"
  gzip -9n < "$pkgdir/wampmesh.1" > "$s/usr/share/man/man1/wampmesh.1.gz"
  {
    echo "wampmesh ($version) unstable; urgency=medium"
    echo
    echo "  * Snapshot build for $arch; changes: the project's git history."
    echo
    echo " -- $maintainer  $(LC_ALL=C date -u -R -d "@$epoch")"
  } | gzip -9n > "$s/usr/share/doc/wampmesh/changelog.gz"
  chmod 0644 "$s"/usr/lib/systemd/system/* "$s"/usr/share/doc/wampmesh/* "$s"/usr/share/man/man1/*

  install -m 0755 "$pkgdir/postinst" "$pkgdir/prerm" "$pkgdir/postrm" "$s/DEBIAN/"
  echo /etc/wampmesh/config.json > "$s/DEBIAN/conffiles"
  chmod 0644 "$s/DEBIAN/conffiles"
  (cd "$s" && find . -path ./DEBIAN -prune -o -type f -printf '%P\n' | LC_ALL=C sort | xargs md5sum) > "$s/DEBIAN/md5sums"
  chmod 0644 "$s/DEBIAN/md5sums"
  size=$(du -sk --exclude=DEBIAN "$s" | cut -f1)
  sed -e "s/@VERSION@/$version/" -e "s/@ARCH@/$arch/" -e "s/@SIZE@/$size/" \
    -e "s|@MAINTAINER@|$maintainer|" -e "s|@HOMEPAGE@|$homepage|" -e '/^Homepage: $/d' \
    "$pkgdir/control.in" > "$s/DEBIAN/control"

  find "$s" -exec touch -h -d "@$epoch" {} +
  deb=$out/wampmesh_${version}_${arch}.deb
  SOURCE_DATE_EPOCH=$epoch dpkg-deb --root-owner-group -Z"$compress" --build "$s" "$deb" >/dev/null
  log "$deb ($(du -h "$deb" | cut -f1))"
  echo "$deb"
done
