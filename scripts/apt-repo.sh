#!/bin/bash
# Adds .deb packages to an apt repository folder that any static web server can host, and
# rewrites its indexes:
#
#   scripts/apt-repo.sh DIR DEB... [--suite stable] [--sign KEYID]
#
#   DIR/pool/main/w/wampmesh/*.deb            every version added stays (apt can go back)
#   DIR/dists/SUITE/main/binary-ARCH/Packages{,.gz}   one per architecture found in the pool
#   DIR/dists/SUITE/Release                   sizes and SHA256 of the indexes
#   DIR/dists/SUITE/InRelease, Release.gpg    only with --sign (gpg key id; needs gpg)
#
# A device then uses it with, signed:
#   deb [signed-by=/usr/share/keyrings/wampmesh.gpg] https://HOST/PATH SUITE main
# or, unsigned (only on a network you trust; apt checks nothing else):
#   deb [trusted=yes] https://HOST/PATH SUITE main
# Needs apt-ftparchive (Debian package apt-utils). See packaging/deb/README.md.
set -euo pipefail

log() { echo "apt-repo: $*" >&2; }
die() { log "error: $*"; exit 1; }

repo=
suite=stable
key=
debs=()
while [ $# -gt 0 ]; do
  case $1 in
    --suite) suite=$2; shift 2 ;;
    --sign) key=$2; shift 2 ;;
    -h|--help) awk 'NR > 1 && !/^#/ { exit } NR > 1 { sub(/^# ?/, ""); print }' "$0"; exit 0 ;;
    -*) die "unknown option $1" ;;
    *) if [ -z "$repo" ]; then repo=$1; else debs+=("$1"); fi; shift ;;
  esac
done
[ -n "$repo" ] || die "usage: apt-repo.sh DIR DEB... [--suite SUITE] [--sign KEYID]"
[[ $suite =~ ^[a-z0-9][a-z0-9.-]*$ ]] || die "--suite: lower-case letters, digits, dots and dashes"
command -v apt-ftparchive >/dev/null || die "apt-ftparchive not found (Debian package apt-utils)"

pool=pool/main/w/wampmesh
mkdir -p "$repo/$pool"
for d in "${debs[@]}"; do
  [ "$(dpkg-deb -f "$d" Package 2>/dev/null)" = wampmesh ] || die "$d is not a wampmesh package"
  cp "$d" "$repo/$pool/"
done

cd "$repo"
mapfile -t archs < <(for d in "$pool"/*.deb; do [ -e "$d" ] && dpkg-deb -f "$d" Architecture; done | sort -u)
[ ${#archs[@]} -gt 0 ] || die "no packages in $repo/$pool"
dist=dists/$suite
rm -rf "$dist"
for a in "${archs[@]}"; do
  mkdir -p "$dist/main/binary-$a"
  # Paths in Packages are relative to the repository root, as apt expects.
  apt-ftparchive --arch "$a" packages "$pool" > "$dist/main/binary-$a/Packages"
  gzip -9n < "$dist/main/binary-$a/Packages" > "$dist/main/binary-$a/Packages.gz"
done
apt-ftparchive \
  -o APT::FTPArchive::Release::Origin=wampmesh -o APT::FTPArchive::Release::Label=wampmesh \
  -o "APT::FTPArchive::Release::Suite=$suite" -o "APT::FTPArchive::Release::Codename=$suite" \
  -o "APT::FTPArchive::Release::Architectures=${archs[*]}" -o APT::FTPArchive::Release::Components=main \
  -o APT::FTPArchive::Release::Description="wampmesh WAMP router" \
  release "$dist" > "$dist/Release.tmp"
mv "$dist/Release.tmp" "$dist/Release"
if [ -n "$key" ]; then
  gpg --batch --yes --default-key "$key" --clearsign -o "$dist/InRelease" "$dist/Release"
  gpg --batch --yes --default-key "$key" --armor --detach-sign -o "$dist/Release.gpg" "$dist/Release"
  log "signed with $key"
fi
log "$repo: suite $suite, ${archs[*]}, $(find "$pool" -name '*.deb' | wc -l) package(s)"
