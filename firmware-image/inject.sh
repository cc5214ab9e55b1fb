#!/bin/bash
# Injects wampmesh into an existing Raspberry Pi OS (trixie, arm64) image, without loop mounts
# or root's mount(8): the root partition's ext4 filesystem is edited in place inside the image
# file with debugfs (e2fsprogs' "FILE?offset=N" addresses a filesystem inside a disk image),
# and grown first with resize2fs when it lacks room for the 130 MB executable.
#
#   firmware-image/inject.sh IMAGE [--binary FILE] [--no-enable]
#
# What goes in (as scripts/install.sh stages it): /usr/local/bin/wampmesh, the systemd unit
# (enabled), sysusers.d and tmpfiles.d entries (the "wampmesh" user is created at boot by
# systemd-sysusers, the config's group fixed by systemd-tmpfiles), a default
# /etc/wampmesh/config.json unless the image has one; the same first-boot service as the
# built image (wampmesh-firstboot.service + firstboot.sh, enabled), which applies
# wampmesh.txt at the first boot and overwrites its secrets on the card; and wampmesh.txt on
# the boot partition (only if it has none). Works on an uncompressed .img; decompress an
# .img.xz first.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/.." && pwd)
# shellcheck source=lib.sh
. "$here/lib.sh"

image=
binary=$root/dist/wampmesh-linux-arm64
enable=1
while [ $# -gt 0 ]; do
  case $1 in
    --binary) binary=$2; shift 2 ;;
    --no-enable) enable=0; shift ;;
    -*) die "unknown option $1" ;;
    *) image=$1; shift ;;
  esac
done
if [ -z "$image" ] || [ ! -f "$image" ]; then die "usage: inject.sh IMAGE.img [--binary FILE]"; fi
case $image in *.xz) die "decompress first: xz -dk $image" ;; esac
ensure_packages e2fsprogs fdisk mtools python3
[ -f "$binary" ] || node "$root/scripts/build-binary.mjs" --arch arm64 --if-changed

# Partition 2 = root (ext4), partition 1 = boot (FAT), as on every Raspberry Pi OS image.
read -r boot_start _ < <(part_offset "$image" 1)
read -r root_start root_sectors < <(part_offset "$image" 2)
fs="$image?offset=$((root_start * 512))"
dumpe2fs -h "$fs" >/dev/null 2>&1 || die "partition 2 of $image is not an ext4 filesystem"

stage=$(mktemp -d)
trap 'rm -rf "$stage"' EXIT
enable_flag=()
[ "$enable" = 1 ] || enable_flag=(--no-enable)
DESTDIR="" "$root/scripts/install.sh" --destdir "$stage" --binary "$binary" --prefix /usr/local --no-users "${enable_flag[@]}" 2>/dev/null
# The first-boot service, as build.sh's image has it (customize.sh copies the same overlay).
install -D -m 0644 "$here/overlay/etc/systemd/system/wampmesh-firstboot.service" "$stage/etc/systemd/system/wampmesh-firstboot.service"
install -D -m 0755 "$here/overlay/usr/local/lib/wampmesh/firstboot.sh" "$stage/usr/local/lib/wampmesh/firstboot.sh"
if [ "$enable" = 1 ]; then
  mkdir -p "$stage/etc/systemd/system/sysinit.target.wants"
  ln -sfn /etc/systemd/system/wampmesh-firstboot.service "$stage/etc/systemd/system/sysinit.target.wants/wampmesh-firstboot.service"
fi
# The staging folder has no perl; the image decides whether the no-notify drop-in is needed.
if debugfs -R "stat /usr/bin/perl" "$fs" 2>/dev/null | grep -q "Type: regular"; then
  rm -rf "$stage/etc/systemd/system/wampmesh.service.d"
fi
if debugfs -R "stat /etc/wampmesh/config.json" "$fs" 2>/dev/null | grep -q "Type: regular"; then
  rm -f "$stage/etc/wampmesh/config.json"
  log "keeping the image's /etc/wampmesh/config.json"
fi

# Room: the files' size plus 64 MiB, else grow the image file, partition 2 and its ext4.
need_kib=$(( $(du -sk "$stage" | cut -f1) + 65536 ))
block=$(dumpe2fs -h "$fs" 2>/dev/null | awk -F: '/^Block size/ { gsub(/ /, "", $2); print $2 }')
free_kib=$(( $(dumpe2fs -h "$fs" 2>/dev/null | awk -F: '/^Free blocks/ { gsub(/ /, "", $2); print $2 }') * block / 1024 ))
if [ "$free_kib" -lt "$need_kib" ]; then
  last=$(( root_start + root_sectors ))
  size=$(stat -c %s "$image")
  [ $(( last * 512 )) -ge "$size" ] || die "partition 2 is not at the end of the image: cannot grow it"
  grow_mib=$(( (need_kib - free_kib) / 1024 + 64 ))
  log "growing the root filesystem by $grow_mib MiB"
  truncate -s "+${grow_mib}M" "$image"
  echo ", +" | sfdisk -q --no-reread -N 2 "$image"
  # resize2fs runs on a copy of the partition in a file of its own: on "IMAGE?offset=N" it takes
  # the image file's size as the filesystem's (growing it past its partition) and, given the
  # size, truncates the image file to it (cutting off the partition's end): no boot either way.
  part=$(mktemp -p "$(dirname "$image")" .wampmesh-root.XXXXXX)
  dd if="$image" of="$part" bs=4M iflag=skip_bytes,count_bytes skip=$((root_start * 512)) \
    count=$((root_sectors * 512)) conv=sparse status=none
  read -r _ root_sectors < <(part_offset "$image" 2)
  truncate -s $((root_sectors * 512)) "$part"
  e2fsck -fy "$part" >/dev/null 2>&1 || true
  resize2fs "$part" >/dev/null 2>&1 || { rm -f "$part"; die "resize2fs failed"; }
  dd if="$part" of="$image" bs=4M oflag=seek_bytes seek=$((root_start * 512)) conv=notrunc status=none
  rm -f "$part"
fi

# debugfs, in two sessions: first remove what will be replaced (a removal and a new write of a
# large file in one session can leave a block claimed twice), then folders, files, symlinks;
# owner root, modes as staged.
cmds=$stage.debugfs
(cd "$stage" && find . \( -type f -o -type l \) | sort) | while read -r f; do
  p=${f#.}
  if debugfs -R "stat $p" "$fs" 2>/dev/null | grep -q "Type:"; then echo "rm $p"; fi
done > "$cmds"
[ -s "$cmds" ] && debugfs -w -f "$cmds" "$fs" >/dev/null 2>&1
: > "$cmds"
(cd "$stage" && find . -mindepth 1 -type d | sort) | while read -r d; do
  echo "mkdir ${d#.}" >> "$cmds"
done
(cd "$stage" && find . -type f | sort) | while read -r f; do
  p=${f#.}
  mode=$(stat -c %a "$stage$p")
  { echo "write $stage$p $p"; echo "sif $p mode 0100$mode"; echo "sif $p uid 0"; echo "sif $p gid 0"; } >> "$cmds"
done
(cd "$stage" && find . -type l | sort) | while read -r l; do
  p=${l#.}
  echo "symlink $p $(readlink "$stage$p")" >> "$cmds"
done
# "mkdir" of an existing folder only prints an error: fine.
debugfs -w -f "$cmds" "$fs" >/dev/null 2>&1
rm -f "$cmds"
e2fsck -fn "$fs" >/dev/null 2>&1 || die "the root filesystem does not check clean after the injection"

# wampmesh.txt on the FAT boot partition (kept if the image already has one).
boot="$image@@$((boot_start * 512))"
if ! mdir -i "$boot" ::wampmesh.txt >/dev/null 2>&1; then
  mcopy -i "$boot" "$here/wampmesh.txt" ::wampmesh.txt
fi
log "injected $("$binary" --version 2>/dev/null || basename "$binary") into $image"
debugfs -R "ls -l /usr/local/bin" "$fs" 2>/dev/null | grep wampmesh >&2 || true
