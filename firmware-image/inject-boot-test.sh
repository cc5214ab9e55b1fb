#!/bin/bash
# inject.sh on an image laid out as Raspberry Pi OS, booted under qemu: the injected first-boot
# service must apply wampmesh.txt (router up with its TLS certificate, the file's realm, user
# and administrator, SSH key, Wi-Fi as a NetworkManager connection) and leave no secret on the
# FAT partition.
#
#   firmware-image/inject-boot-test.sh [--timeout SECONDS] [--keep]
#
# The image ("raspios-like") is built here from Debian trixie arm64 packages, because Raspberry
# Pi OS's own packages are not in reach of this machine; it has Raspberry Pi OS's layout and the
# parts of it the first-boot service meets:
#   - MBR, partition 1 FAT32 "bootfs" (512 MiB, from sector 8192), partition 2 ext4 "rootfs"
#     sized to its content (so inject.sh must grow it, as on a downloaded image);
#   - /etc/fstab and cmdline.txt by PARTUUID (disk id-01 /boot/firmware, -02 /); config.txt,
#     kernel8.img and initramfs8 on bootfs (Debian's arm64 kernel, not the Pi Foundation's);
#   - NetworkManager runs the network; openssh-server installed and disabled; no root
#     password; python3 absent (firstboot.sh must do without it), perl-base present;
#   - no wampmesh, no "wampmesh" account, no Imager customisation (firstrun.sh/cloud-init).
# Not reproduced: the Pi's firmware blobs and device tree, raspberrypi-sys-mods (its own root
# resize at first boot), the Pi kernel. The boot runs on qemu's "virt" machine with bootfs's
# kernel8.img, initramfs8 and cmdline.txt (its console=serial0 replaced by the virt serial
# port, as the Pi firmware would substitute its UART), the disk as virtio.
#
# Not part of `npm test` (~15 min the first time, then ~6 min: the image is cached under
# $WAMPMESH_RASPIOS_CACHE, default /var/tmp/wampmesh-raspios-like, keyed by this script).
# Needs root (mmdebstrap, device nodes).
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/.." && pwd)
# shellcheck source=lib.sh
. "$here/lib.sh"

timeout=1200
keep=0
while [ $# -gt 0 ]; do
  case $1 in
    --timeout) timeout=$2; shift 2 ;;
    --keep) keep=1; shift ;;
    *) die "unknown option $1" ;;
  esac
done
[ "$(id -u)" = 0 ] || die "run as root"
ensure_packages mmdebstrap qemu-system-arm qemu-efi-aarch64 ipxe-qemu dosfstools mtools e2fsprogs fdisk python3 jq openssh-client
enable_binfmt_arm64
started=$(date +%s)

work=$(mktemp -d "${TMPDIR:-/var/tmp}/wampmesh-inject-boot.XXXXXX")
qemu_pid=
cleanup() {
  qemu_stop
  if [ "$keep" = 1 ]; then log "kept $work"; else rm -rf "$work"; fi
}
trap cleanup EXIT

# --- The Raspberry Pi OS-like image (cached) ---------------------------------------------
PACKAGES=systemd,systemd-sysv,udev,dbus,kmod,linux-image-arm64,initramfs-tools,zstd,network-manager,openssh-server,openssl,iproute2,netbase,avahi-daemon,libnss-mdns,fdisk,e2fsprogs,dosfstools,libstdc++6,libgcc-s1
DISK_ID=5e3da3da   # as a Raspberry Pi OS image: a fixed disk id, PARTUUIDs 5e3da3da-01/-02
cache=${WAMPMESH_RASPIOS_CACHE:-/var/tmp/wampmesh-raspios-like}
key=$(sed -n '/^# --- The Raspberry Pi OS-like image/,/^# --- end of the image/p' "$0" | sha256sum | cut -c1-16)
base=$cache/$key/raspios-like.img
if [ ! -f "$base" ]; then
  mirror=$(debian_mirror)
  rootfs=$work/rootfs
  log "mmdebstrap trixie arm64 from $mirror (maintainer scripts under qemu-user: ~10 min)"
  t0=$(date +%s)
  # update-initramfs runs once at the end, not once per package that triggers it (build.sh).
  mmdebstrap --arch=arm64 --variant=minbase --mode=root --components=main \
    --include="$PACKAGES" \
    --aptopt='APT::Sandbox::User "root"' --dpkgopt=force-confdef --dpkgopt=force-confold \
    --essential-hook='mkdir -p "$1/boot/firmware"' \
    --essential-hook='chroot "$1" dpkg-divert --quiet --local --rename --divert /usr/sbin/update-initramfs.wampmesh --add /usr/sbin/update-initramfs && ln -s /bin/true "$1/usr/sbin/update-initramfs"' \
    --customize-hook='rm "$1/usr/sbin/update-initramfs" && chroot "$1" dpkg-divert --quiet --local --rename --remove /usr/sbin/update-initramfs' \
    --customize-hook='chroot "$1" update-initramfs -c -k all' \
    trixie "$rootfs" "deb $mirror trixie main" >"$work/mmdebstrap.log" 2>&1 \
    || { tail -40 "$work/mmdebstrap.log" >&2; die "mmdebstrap failed (log above)"; }
  log "root folder ready in $(( $(date +%s) - t0 )) s"

  # Raspberry Pi OS's settings: host name, PARTUUID mounts, SSH off, root locked (the image's
  # default), NetworkManager's automatic wired connection, one machine id per device.
  echo raspberrypi > "$rootfs/etc/hostname"
  printf '127.0.0.1\tlocalhost\n::1\t\tlocalhost ip6-localhost ip6-loopback\n127.0.1.1\traspberrypi\n' > "$rootfs/etc/hosts"
  printf 'proc            /proc           proc    defaults          0       0\nPARTUUID=%s-01  /boot/firmware  vfat    defaults          0       2\nPARTUUID=%s-02  /               ext4    defaults,noatime  0       1\n' \
    "$DISK_ID" "$DISK_ID" > "$rootfs/etc/fstab"
  systemctl --root "$rootfs" disable ssh.service ssh.socket >/dev/null 2>&1 || true
  systemctl --root "$rootfs" enable NetworkManager.service avahi-daemon.service >/dev/null 2>&1
  rm -f "$rootfs"/etc/ssh/ssh_host_*
  echo uninitialized > "$rootfs/etc/machine-id"
  rm -rf "$rootfs"/var/lib/apt/lists/* "$rootfs"/var/cache/apt/*.bin "$rootfs"/var/cache/apt/archives/*.deb

  bootdir=$work/bootfs
  mkdir -p "$bootdir"
  kver=$(find "$rootfs/boot" -maxdepth 1 -name 'vmlinuz-*' -printf '%f\n' | sed 's/^vmlinuz-//' | sort -V | tail -1)
  [ -n "$kver" ] && [ -f "$rootfs/boot/initrd.img-$kver" ] || die "no kernel and initrd in the root folder (see $work/mmdebstrap.log)"
  cp "$rootfs/boot/vmlinuz-$kver" "$bootdir/kernel8.img"
  cp "$rootfs/boot/initrd.img-$kver" "$bootdir/initramfs8"
  printf '# Raspberry Pi OS-like config.txt (wampmesh inject-boot-test)\narm_64bit=1\nauto_initramfs=1\ndtparam=audio=on\ncamera_auto_detect=1\ndisplay_auto_detect=1\n' > "$bootdir/config.txt"
  echo "console=serial0,115200 console=tty1 root=PARTUUID=$DISK_ID-02 rootfstype=ext4 fsck.repair=yes rootwait" > "$bootdir/cmdline.txt"
  echo "Raspberry Pi OS-like test image built from Debian trixie arm64 by wampmesh inject-boot-test.sh" > "$bootdir/issue.txt"

  boot_mib=512
  boot_img=$work/boot.img
  mkfs.vfat -F 32 -n bootfs -C "$boot_img" $((boot_mib * 1024)) >/dev/null
  mcopy -s -p -m -i "$boot_img" "$bootdir"/* ::
  root_mib=$(( $(du -sm --apparent-size "$rootfs" | cut -f1) * 11 / 10 + 64 ))
  root_img=$work/root.img
  mkfs.ext4 -q -L rootfs -d "$rootfs" "$root_img" "${root_mib}M"
  img=$work/raspios-like.img
  boot_start=8192
  root_start=$((boot_start + boot_mib * 2048))
  truncate -s $(( (root_start + root_mib * 2048) * 512 )) "$img"
  printf 'label: dos\nlabel-id: 0x%s\nunit: sectors\n\n%s,%s,c\n%s,%s,83\n' \
    "$DISK_ID" "$boot_start" $((boot_mib * 2048)) "$root_start" $((root_mib * 2048)) | sfdisk -q "$img"
  dd if="$boot_img" of="$img" bs=1M seek=$((boot_start / 2048)) conv=notrunc,sparse status=none
  dd if="$root_img" of="$img" bs=1M seek=$((root_start / 2048)) conv=notrunc,sparse status=none
  rm -rf "$rootfs" "$bootdir" "$boot_img" "$root_img"
  mkdir -p "$(dirname "$base")"
  mv "$img" "$base.tmp" && mv "$base.tmp" "$base"
  log "Raspberry Pi OS-like image $(( $(stat -c %s "$base") / 1048576 )) MiB cached as $base"
fi
# --- end of the image -------------------------------------------------------------------

# --- inject.sh, then wampmesh.txt as a user would write it on the card -------------------
img=$work/disk.img
cp --sparse=always "$base" "$img"
size_before=$(stat -c %s "$img")
binary=$root/dist/wampmesh-linux-arm64
[ -f "$binary" ] || node "$root/scripts/build-binary.mjs" --arch arm64 --if-changed
"$here/inject.sh" "$img" --binary "$binary"
log "inject.sh: image $(( size_before / 1048576 )) -> $(( $(stat -c %s "$img") / 1048576 )) MiB"

read -r boot_start _ < <(part_offset "$img" 1)
boot="$img@@$((boot_start * 512))"
mdir -i "$boot" ::wampmesh.txt >/dev/null || die "inject.sh put no wampmesh.txt on bootfs"
test_ssh_key "$work/id"
mcopy -i "$boot" ::wampmesh.txt "$work/wampmesh.txt"
sed -i -e 's/^hostname=.*/hostname=wm-injected/' -e 's/^cluster_name=.*/cluster_name=injecttest/' \
  -e 's/^cluster_secret=.*/cluster_secret=inject-test-cluster-secret/' \
  -e 's/^admin_password=.*/admin_password=inject test admin pw/' \
  -e 's/^wifi_country=.*/wifi_country=DE/' -e 's/^wifi_ssid=.*/wifi_ssid=injecttest-wifi/' \
  -e 's/^wifi_psk=.*/wifi_psk=inject-test-wifi-psk-3307/' \
  -e "s#^ssh_authorized_key=.*#ssh_authorized_key=$(cat "$work/id.pub")#" "$work/wampmesh.txt"
cat >> "$work/wampmesh.txt" <<'LINES'
realm=com.example.injected ticket
user=com.example.injected sensor1 devices inject test user pw 6184
grant=com.example.injected call,register,subscribe,publish com.example.injected. prefix group:devices
LINES
secrets=(inject-test-cluster-secret "inject test admin pw" "inject test user pw 6184" inject-test-wifi-psk-3307)
mcopy -o -i "$boot" "$work/wampmesh.txt" ::wampmesh.txt

# --- Boot as the Pi would: bootfs's kernel8.img, initramfs8 and cmdline.txt ---------------
mcopy -i "$boot" ::kernel8.img "$work/vmlinuz"
mcopy -i "$boot" ::initramfs8 "$work/initrd"
cmdline=$(mcopy -i "$boot" ::cmdline.txt - | tr -d '\r\n' | sed -E 's/(^| )console=[^ ]*//g')
serial=$work/serial.log
log "booting kernel8.img under qemu-system-aarch64 (virt, cortex-a72, 2 CPUs, TCG): $cmdline; serial log $serial"
boot_t0=$(date +%s)
qemu_boot "$work/vmlinuz" "$work/initrd" "$img" "$cmdline"

result=0

# The administrator from wampmesh.txt over RawSocket-over-TLS (only TLS answers from outside).
if out=$(WAMP_PROBE_TLS=1 WAMP_PROBE_TICKET="wampmesh.admin admin inject test admin pw" \
    python3 "$here/wamp-probe.py" rawsocket 127.0.0.1 "$raw_port" "$timeout"); then
  log "RawSocket-over-TLS WELCOME (administrator from wampmesh.txt) after $(( $(date +%s) - boot_t0 )) s: ${out:0:120}..."
else
  result=1; log "no RawSocket WELCOME within $timeout s"
fi
if [ $result = 0 ]; then
  fingerprint=$(guest "sed -n 's/^# tls_fingerprint SHA-256 //p' /boot/firmware/wampmesh.txt" | tr -d '\r' | head -1)
  cli_fingerprint=$(guest "wampmesh tls" | jq -r 'select(.listener == "listeners.websocket[0]") | .fingerprint' || true)
  if [ -n "$fingerprint" ] && [ "$fingerprint" = "$cli_fingerprint" ]; then
    log "first-boot TLS certificate $fingerprint (wampmesh.txt and 'wampmesh tls' agree)"
    # From here on every client pins the certificate to it (login too).
    export WAMP_PROBE_FINGERPRINT=$fingerprint
    if out=$(WAMP_PROBE_TICKET="wampmesh.admin admin inject test admin pw" \
        python3 "$here/wamp-probe.py" websocket 127.0.0.1 "$ws_port" 60); then
      log "wss:// WELCOME, certificate pinned to the first-boot fingerprint: ${out:0:120}..."
    else
      result=1; log "no wss:// WELCOME with the first-boot certificate"
    fi
  else
    result=1; log "no first-boot TLS fingerprint (wampmesh.txt: '${fingerprint}', wampmesh tls: '${cli_fingerprint}')"
  fi
  login "first-boot user sensor1 in first-boot realm com.example.injected" "com.example.injected sensor1 inject test user pw 6184"
  login "first-boot user sensor1 subscribing under the first-boot grant" \
    "com.example.injected sensor1 inject test user pw 6184" com.example.injected.temperature
  [ $result = 0 ] || guest "journalctl -u wampmesh -o cat --no-pager | tail -20" >&2 || true
  in_guest "wampmesh.service active, running /usr/local/bin/wampmesh as user wampmesh" \
    "systemctl is-active -q wampmesh && [ \"\$(ps -o user= -p \$(systemctl show -p MainPID --value wampmesh))\" = wampmesh ] && systemctl show -p ExecStart --value wampmesh | grep -q /usr/local/bin/wampmesh"
  in_guest "first-boot grant listed by the admin CLI without --data" \
    "wampmesh grant list com.example.injected | grep -q '\"com.example.injected.\"'"
  in_guest "Wi-Fi from wampmesh.txt as a NetworkManager connection (mode 600)" \
    "[ \"\$(stat -c %a /etc/NetworkManager/system-connections/wampmesh-wifi.nmconnection)\" = 600 ] && grep -qx 'ssid=injecttest-wifi' /etc/NetworkManager/system-connections/wampmesh-wifi.nmconnection"
  in_guest "NetworkManager runs the network (the injected image keeps its own stack)" "systemctl is-active -q NetworkManager"
  in_guest "host name from wampmesh.txt" "[ \"\$(hostname)\" = wm-injected ]"
  in_guest "wampmesh.txt on the card has its secrets blank" \
    "grep -qx 'admin_password=' /boot/firmware/wampmesh.txt && grep -qx 'wifi_psk=' /boot/firmware/wampmesh.txt && grep -qx 'cluster_secret=' /boot/firmware/wampmesh.txt"
  in_guest "flush" "sync"
fi

check "first boot ran" 'wampmesh-firstboot: done'
check "administrator configured" "wampmesh-firstboot: administrator 'admin' configured"
check "first-boot realm" 'wampmesh-firstboot: realm com.example.injected \(ticket\) created'
check "first-boot user" 'wampmesh-firstboot: user sensor1 in realm com.example.injected created'
check "mesh enabled from wampmesh.txt" "wampmesh-firstboot: mesh enabled for cluster 'injecttest'"
check "secrets overwritten on the FAT partition" 'wampmesh-firstboot: secrets overwritten on the boot partition'
check "wampmesh started (Type=notify: READY=1 received)" 'Started wampmesh.service'
if grep -aqE 'wampmesh.service: (Watchdog timeout|Failed with result)' "$serial"; then
  log "serial console: wampmesh watchdog timeout or failure"; result=1
fi

qemu_stop
fat_scan "$img" hostname=wm-injected "${secrets[@]}" || result=1

log "inject boot test $([ $result = 0 ] && echo PASSED || echo FAILED) in $(( $(date +%s) - started )) s"
[ $result = 0 ] || { tail -60 "$serial" >&2; keep=1; }
exit $result
