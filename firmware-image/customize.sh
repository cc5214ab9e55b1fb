#!/bin/bash
# mmdebstrap --customize-hook for build.sh:
#   customize.sh ROOTFS WAMPMESH_DEB
# Runs on the host with ROOTFS the arm64 root folder; installs wampmesh (its .deb, through dpkg
# in the root folder under qemu-user) and the appliance's settings. Everything is enabled with
# `systemctl --root` or the package's postinst, nothing is started.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
rootfs=$1
deb=$2

# Appliance files (network, first boot, sshd policy).
cp -a --no-preserve=ownership "$here/overlay/." "$rootfs/"
chmod 0755 "$rootfs/usr/local/lib/wampmesh/firstboot.sh"

# wampmesh itself: /usr/bin/wampmesh, unit, user (postinst: systemd-sysusers), default config;
# enabled by the postinst.
# The postinst's systemd-sysusers and systemd-tmpfiles want /proc; mmdebstrap may or may not
# have it mounted in the root folder at this point.
proc_mounted=0
if ! mountpoint -q "$rootfs/proc"; then mount -t proc proc "$rootfs/proc"; proc_mounted=1; fi
cp "$deb" "$rootfs/tmp/wampmesh.deb"
chroot "$rootfs" dpkg -i /tmp/wampmesh.deb >/dev/null
rm -f "$rootfs/tmp/wampmesh.deb"
if [ "$proc_mounted" = 1 ]; then umount "$rootfs/proc"; fi

# Updates: Debian's archive, its -updates and -security suites (the public hosts, whatever
# mirror built the image), and unattended-upgrades applying security updates once a day
# (apt-daily-upgrade.timer). The first boot turns it off when wampmesh.txt says
# security_updates=off.
rm -f "$rootfs/etc/apt/sources.list"
find "$rootfs/etc/apt/sources.list.d" -name '*.list' -delete 2>/dev/null || true
cat > "$rootfs/etc/apt/sources.list.d/debian.sources" <<'SOURCES'
Types: deb
URIs: http://deb.debian.org/debian
Suites: trixie trixie-updates
Components: main non-free-firmware
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg

Types: deb
URIs: http://deb.debian.org/debian-security
Suites: trixie-security
Components: main non-free-firmware
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg
SOURCES
printf 'APT::Periodic::Update-Package-Lists "1";\nAPT::Periodic::Unattended-Upgrade "1";\n' \
  > "$rootfs/etc/apt/apt.conf.d/20auto-upgrades"
systemctl --root "$rootfs" enable apt-daily.timer apt-daily-upgrade.timer >/dev/null 2>&1 || true

cat > "$rootfs/etc/fstab" <<'FSTAB'
LABEL=RASPIROOT  /              ext4  rw,noatime,errors=remount-ro  0 1
LABEL=RASPIFIRM  /boot/firmware vfat  rw,noatime,fmask=0022,dmask=0022,nofail  0 2
FSTAB
echo wampmesh > "$rootfs/etc/hostname"
printf '127.0.0.1\tlocalhost\n127.0.1.1\twampmesh\n::1\t\tlocalhost ip6-localhost ip6-loopback\n' > "$rootfs/etc/hosts"

systemctl --root "$rootfs" enable systemd-networkd.service systemd-resolved.service \
  systemd-timesyncd.service avahi-daemon.service wampmesh-firstboot.service wampmesh.service >/dev/null 2>&1
# SSH off until the first boot finds a key in wampmesh.txt; host keys are made there too,
# so no two devices share them.
systemctl --root "$rootfs" disable ssh.service ssh.socket >/dev/null 2>&1 || true
# Wi-Fi runs as wpa_supplicant@wlan0 (enabled by the first boot when wampmesh.txt names a
# network); the D-Bus wpa_supplicant.service is not needed.
systemctl --root "$rootfs" disable wpa_supplicant.service >/dev/null 2>&1 || true
rm -f "$rootfs"/etc/ssh/ssh_host_*
ln -sfn /run/systemd/resolve/stub-resolv.conf "$rootfs/etc/resolv.conf"

# One machine id per device (generated at first boot); no apt lists in the image.
echo uninitialized > "$rootfs/etc/machine-id"
rm -f "$rootfs/var/lib/dbus/machine-id"
rm -rf "$rootfs"/var/lib/apt/lists/* "$rootfs"/var/cache/apt/*.bin "$rootfs"/var/cache/apt/archives/*.deb
rm -f "$rootfs"/var/log/*.log "$rootfs"/var/log/apt/* 2>/dev/null || true
