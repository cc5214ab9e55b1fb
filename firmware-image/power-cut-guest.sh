#!/bin/bash
# mmdebstrap --customize-hook for power-cut-test.sh:
#   power-cut-guest.sh ROOTFS WAMPMESH_DEB ADMIN_PASSWORD
# Installs wampmesh from its .deb (unit, user, config folder, as on the Pi image), a config
# with a history topic, the administrator and a realm for users, and a oneshot unit that runs
# `PRAGMA integrity_check` on the database at every boot before the router starts.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
rootfs=$1
deb=$2
admin_pw=$3

cp "$here/overlay/etc/systemd/network/20-wired.network" "$rootfs/etc/systemd/network/"
mount -t proc proc "$rootfs/proc"
trap 'umount "$rootfs/proc"' EXIT
cp "$deb" "$rootfs/tmp/wampmesh.deb"
chroot "$rootfs" dpkg -i /tmp/wampmesh.deb >/dev/null
rm -f "$rootfs/tmp/wampmesh.deb"

# Anonymous from anywhere: the clients are on the host, behind qemu's user network, which
# reaches nothing else. Keep every event of the topic (the default keeps 100 for a day).
cat > "$rootfs/etc/wampmesh/config.json" <<'JSON'
{
  "dataDir": "/var/lib/wampmesh",
  "logLevel": "warn",
  "realms": [
    {
      "uri": "com.example.powercut",
      "anonymous": true,
      "anonymousFrom": "anywhere",
      "history": [{ "topic": "com.example.powercut.events", "limit": 1000000, "maxAgeSec": 315360000 }]
    }
  ],
  "listeners": { "rawsocket": [{ "host": "0.0.0.0", "port": 8081 }] }
}
JSON

data=/var/lib/wampmesh
chroot "$rootfs" install -d -o wampmesh -g wampmesh -m 0750 "$data"
chroot "$rootfs" install -d -o wampmesh -g wampmesh -m 0700 /var/cache/wampmesh
as_router() { chroot "$rootfs" runuser -u wampmesh -- env HOME="$data" WAMPMESH_CACHE_DIR=/var/cache/wampmesh wampmesh "$@" --data "$data"; }
as_router realm create com.example.powercut.users --authmethods ticket --init >/dev/null
# A new data folder has an administrator "admin" already (README "Administration"): give it a password.
as_router user update wampmesh.admin admin --password "$admin_pw" >/dev/null
rm -rf "$rootfs/var/cache/wampmesh/"*

cat > "$rootfs/usr/local/bin/powercut-check" <<'SH'
#!/bin/bash
# Counts boots (the host numbers them the same way) and checks the database as the power cut
# left it, before the router opens it.
n=$(cat /var/lib/powercut-boots 2>/dev/null || echo -1)
n=$((n + 1))
echo "$n" > /var/lib/powercut-boots
sync /var/lib/powercut-boots
db=/var/lib/wampmesh/wampmesh.db
if [ -f "$db" ]; then
  r=$(runuser -u wampmesh -- sqlite3 "$db" 'PRAGMA integrity_check' 2>&1 | tr '\n' ' ' | sed 's/ $//')
else
  r="no database"
fi
echo "powercut-check: boot $n integrity_check: $r" > /dev/console
SH
chmod 0755 "$rootfs/usr/local/bin/powercut-check"
cat > "$rootfs/etc/systemd/system/powercut-check.service" <<'UNIT'
[Unit]
Description=integrity check of the wampmesh database before the router starts
After=local-fs.target
Before=wampmesh.service

[Service]
Type=oneshot
ExecStart=/usr/local/bin/powercut-check

[Install]
WantedBy=multi-user.target
UNIT
systemctl --root "$rootfs" enable powercut-check.service systemd-networkd.service >/dev/null 2>&1
echo powercut > "$rootfs/etc/hostname"
echo "/dev/vda / ext4 rw 0 1" > "$rootfs/etc/fstab"
echo root:powercut | chroot "$rootfs" chpasswd
