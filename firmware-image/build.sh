#!/bin/bash
# Builds a bootable Raspberry Pi image (arm64; Pi 3, 4; see README.md for Pi 5) with wampmesh
# installed and enabled, from Debian trixie packages, without loop mounts:
#   mmdebstrap (arm64 maintainer scripts through qemu-user/binfmt) -> root folder,
#   mkfs.vfat + mcopy fill the boot partition, mkfs.ext4 -d fills the root partition,
#   sfdisk writes the MBR, dd puts the partitions in place; xz, sha256, package manifest.
#
#   firmware-image/build.sh [--out DIR] [--binary FILE] [--keep-rootfs] [--no-xz]
#
# Output (default dist/image/): wampmesh-rpi-arm64.img.xz, .sha256, .manifest.txt.
# Needs root (device nodes and file owners in the image). Offline-capable: mmdebstrap's
# packages come from the Debian archive in /etc/apt sources (or WAMPMESH_DEBIAN_MIRROR, e.g. a
# local mirror or apt-cacher); nothing else is downloaded.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/.." && pwd)
# shellcheck source=lib.sh
. "$here/lib.sh"

out=$root/dist/image
keep_rootfs=0
binary=
compress=1
while [ $# -gt 0 ]; do
  case $1 in
    --out) out=$2; shift 2 ;;
    --keep-rootfs) keep_rootfs=1; shift ;;
    --binary) binary=$(readlink -f "$2"); shift 2 ;;
    --no-xz) compress=0; shift ;;
    *) die "unknown option $1" ;;
  esac
done
[ "$(id -u)" = 0 ] || die "run as root"
started=$(date +%s)

SUITE=trixie
NAME=wampmesh-rpi-arm64
BOOT_MIB=256
# What goes on the device. perl-base (Essential) carries the systemd notifications;
# unattended-upgrades applies Debian security updates (README: "Updates"); jq reads the
# router's JSON logs.
PACKAGES=(
  systemd systemd-sysv systemd-resolved systemd-timesyncd udev dbus kmod
  linux-image-arm64 raspi-firmware initramfs-tools zstd
  firmware-brcm80211 wireless-regdb wpasupplicant
  iproute2 iputils-ping netbase avahi-daemon libnss-mdns
  openssh-server openssl fdisk e2fsprogs dosfstools
  debian-archive-keyring unattended-upgrades jq
  libstdc++6 libgcc-s1   # the wampmesh .deb's dependencies: dpkg -i in customize.sh resolves none
)

ensure_packages mmdebstrap dosfstools mtools e2fsprogs fdisk xz-utils python3 arch-test
enable_binfmt_arm64
mirror=$(debian_mirror)
security_mirror=$(debian_security_mirror "$mirror")

# The arm64 executable (built when missing or out of date), unless --binary names one.
if [ -z "$binary" ]; then
  node "$root/scripts/build-binary.mjs" --arch arm64 --if-changed
  binary=$root/dist/wampmesh-linux-arm64
fi
[ -f "$binary" ] || die "$binary missing"

mkdir -p "$out"
work=$(mktemp -d "${TMPDIR:-/var/tmp}/wampmesh-image.XXXXXX")
cleanup() { if [ "$keep_rootfs" = 1 ]; then log "kept $work"; else rm -rf "$work"; fi; }
trap cleanup EXIT
rootfs=$work/rootfs
epoch=${SOURCE_DATE_EPOCH:-$(git -C "$root" log -1 --format=%ct 2>/dev/null || date +%s)}

# wampmesh goes in as its Debian package (the one scripts/build-deb.sh makes for users), so
# the device's dpkg knows it and `apt upgrade` can update it from a wampmesh apt repository.
deb=$("$root/scripts/build-deb.sh" --arch arm64 --binary "$binary" --compress none --out "$work/deb")

# update-initramfs is diverted to /bin/true while packages install (the kernel, udev, kmod and
# zstd would each trigger one run, minutes apiece under qemu) and run once at the end, which
# also lets raspi-firmware's hook fill /boot/firmware.
log "mmdebstrap $SUITE arm64 from $mirror (this runs maintainer scripts under qemu: ~10 min)"
t0=$(date +%s)
SOURCE_DATE_EPOCH=$epoch mmdebstrap \
  --arch=arm64 --variant=minbase --mode=root \
  --components="main non-free-firmware" \
  --include="$(IFS=,; echo "${PACKAGES[*]}")" \
  --aptopt='APT::Sandbox::User "root"' \
  --dpkgopt=force-confdef --dpkgopt=force-confold \
  --essential-hook='mkdir -p "$1/boot/firmware" "$1/etc/default"' \
  --essential-hook="cp '$here/overlay/etc/default/raspi-firmware' \"\$1/etc/default/raspi-firmware\"" \
  --essential-hook='chroot "$1" dpkg-divert --quiet --local --rename --divert /usr/sbin/update-initramfs.wampmesh --add /usr/sbin/update-initramfs && ln -s /bin/true "$1/usr/sbin/update-initramfs"' \
  --customize-hook='rm "$1/usr/sbin/update-initramfs" && chroot "$1" dpkg-divert --quiet --local --rename --remove /usr/sbin/update-initramfs' \
  --customize-hook='chroot "$1" update-initramfs -c -k all' \
  --customize-hook="'$here/customize.sh' \"\$1\" '$deb'" \
  "$SUITE" "$rootfs" "deb $mirror $SUITE main non-free-firmware" "deb $mirror $SUITE-updates main non-free-firmware" \
  "deb $security_mirror $SUITE-security main non-free-firmware" >"$work/mmdebstrap.log" 2>&1 \
  || { tail -40 "$work/mmdebstrap.log" >&2; die "mmdebstrap failed (log above)"; }
log "root folder ready in $(( $(date +%s) - t0 )) s: $(du -sh "$rootfs" | cut -f1)"

# Manifest: exact package versions, plus the wampmesh build.
{
  echo "# $NAME: Debian $SUITE arm64, $(date -u -d "@$epoch" +%Y-%m-%dT%H:%M:%SZ)"
  python3 - "$(dirname "$binary")/wampmesh-build.json" "$binary" <<'PY'
import hashlib, json, sys
m = json.load(open(sys.argv[1]))
b = next((x.get("build") for x in m["binaries"] if x["arch"] == "arm64"), None) or m["build"]
h = hashlib.sha256(open(sys.argv[2], "rb").read()).hexdigest()
print(f"# wampmesh {b['version']} ({b['revision']}) built {b['date']}, node {b['node']} linux-arm64 sha256 {h}")
PY
  dpkg-query --admindir="$rootfs/var/lib/dpkg" -W -f='${Package} ${Version} ${Architecture}\n' | sort
} > "$out/$NAME.manifest.txt"

# --- Partitions -------------------------------------------------------------------------
# Boot (FAT32, label RASPIFIRM) = the root folder's /boot/firmware; root (ext4, RASPIROOT) =
# everything else, with /boot/firmware left as an empty mount point.
t0=$(date +%s)
bootdir=$work/bootfs
mv "$rootfs/boot/firmware" "$bootdir"
mkdir "$rootfs/boot/firmware"
cp "$here/wampmesh.txt" "$bootdir/wampmesh.txt"
[ -f "$bootdir/config.txt" ] || die "raspi-firmware wrote no config.txt (see $work/mmdebstrap.log)"
find "$bootdir" -exec touch -h -d "@$epoch" {} +

vol_id=$(printf '%08x' "$epoch")
boot_img=$work/boot.img
rm -f "$boot_img"
mkfs.vfat -F 32 -n RASPIFIRM -i "$vol_id" -C "$boot_img" $((BOOT_MIB * 1024)) >/dev/null
mcopy -s -p -m -i "$boot_img" "$bootdir"/* ::

root_mib=$(( $(du -sm --apparent-size "$rootfs" | cut -f1) * 13 / 10 + 200 ))
root_img=$work/root.img
rm -f "$root_img"
uuid=$(python3 -c "import uuid,sys; print(uuid.uuid5(uuid.NAMESPACE_URL, 'wampmesh-root-' + sys.argv[1]))" "$epoch")
E2FSPROGS_FAKE_TIME=$epoch mkfs.ext4 -q -L RASPIROOT -U "$uuid" -E "hash_seed=$uuid,root_owner=0:0" \
  -d "$rootfs" "$root_img" "${root_mib}M"

# MBR: 4 MiB alignment, FAT32 LBA then Linux. The Pi's boot ROM reads the first FAT partition.
img=$work/$NAME.img
boot_start=8192
boot_sectors=$((BOOT_MIB * 2048))
root_start=$((boot_start + boot_sectors))
root_sectors=$((root_mib * 2048))
total=$(( (root_start + root_sectors) * 512 ))
truncate -s "$total" "$img"
printf 'label: dos\nlabel-id: 0x%s\nunit: sectors\n\n%s,%s,c,*\n%s,%s,83\n' \
  "$vol_id" "$boot_start" "$boot_sectors" "$root_start" "$root_sectors" | sfdisk -q "$img"
dd if="$boot_img" of="$img" bs=1M seek=$((boot_start / 2048)) conv=notrunc,sparse status=none
dd if="$root_img" of="$img" bs=1M seek=$((root_start / 2048)) conv=notrunc,sparse status=none
log "image $(( total / 1048576 )) MiB assembled in $(( $(date +%s) - t0 )) s"

t0=$(date +%s)
if [ "$compress" = 1 ]; then
  xz -T2 -6 -f -c "$img" > "$out/$NAME.img.xz"
  (cd "$out" && sha256sum "$NAME.img.xz" > "$NAME.img.xz.sha256")
  log "compressed in $(( $(date +%s) - t0 )) s: $(du -h "$out/$NAME.img.xz" | cut -f1)"
else
  mv "$img" "$out/$NAME.img"
  (cd "$out" && sha256sum "$NAME.img" > "$NAME.img.sha256")
fi
log "done in $(( $(date +%s) - started )) s: $(ls "$out")"
