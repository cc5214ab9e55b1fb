#!/bin/bash
# First boot of a wampmesh image (wampmesh-firstboot.service): applies
# /boot/firmware/wampmesh.txt once. Never sources the file: it is parsed line by line and only
# known keys are taken, so nothing written there can run as root.
set -euo pipefail
settings=/boot/firmware/wampmesh.txt
done_marker=/var/lib/wampmesh-firstboot.done
say() { echo "wampmesh-firstboot: $*"; }

declare -A cfg=()
known=" hostname cluster_name cluster_secret admin_user admin_password admin_public_keys ssh_authorized_key wifi_country wifi_ssid wifi_psk "
secret_keys=" cluster_secret admin_password wifi_psk "
if [ -f "$settings" ]; then
  while IFS= read -r line || [ -n "$line" ]; do
    line=${line%$'\r'}                       # edited on Windows
    [[ $line =~ ^[[:space:]]*(#|$) ]] && continue
    [[ $line == *=* ]] || continue
    key=${line%%=*}; key=${key//[[:space:]]/}
    value=${line#*=}
    value=${value#"${value%%[![:space:]]*}"}; value=${value%"${value##*[![:space:]]}"}
    [[ $known == *" $key "* ]] && cfg[$key]=$value
  done < "$settings"
fi
get() { echo "${cfg[$1]:-}"; }

# 1. Root partition and filesystem grow to the whole card.
root_dev=$(findmnt -no SOURCE /)
disk=/dev/$(lsblk -no PKNAME "$root_dev" | head -1)
partnum=$(cat "/sys/class/block/$(basename "$root_dev")/partition" 2>/dev/null || echo 2)
if [ -b "$disk" ]; then
  if echo ", +" | sfdisk --no-reread --no-tell-kernel -N "$partnum" "$disk" >/dev/null 2>&1; then
    partx -u -n "$partnum" "$disk" 2>/dev/null || true
    resize2fs "$root_dev" >/dev/null 2>&1 && say "root filesystem grown to $(df -h --output=size / | tail -1 | tr -d ' ')" || say "resize2fs failed"
  fi
fi

# 2. Host name.
host=$(get hostname)
if [[ $host =~ ^[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?$ ]]; then
  echo "$host" > /etc/hostname
  hostname "$host" || true
  sed -i "s/^127\.0\.1\.1.*/127.0.1.1\t$host/" /etc/hosts
  say "hostname $host"
elif [ -n "$host" ]; then
  say "ignoring invalid hostname '$host'"
fi

# 3. Wi-Fi through wpa_supplicant@wlan0 (systemd-networkd then runs DHCP on it).
ssid=$(get wifi_ssid)
if [ -n "$ssid" ]; then
  conf=/etc/wpa_supplicant/wpa_supplicant-wlan0.conf
  mkdir -p /etc/wpa_supplicant
  umask 077
  {
    echo "ctrl_interface=DIR=/run/wpa_supplicant GROUP=netdev"
    echo "update_config=0"
    [ -n "$(get wifi_country)" ] && echo "country=$(get wifi_country)"
    echo "network={"
    printf '  ssid="%s"\n' "${ssid//\"/}"
    if [ -n "$(get wifi_psk)" ]; then printf '  psk="%s"\n' "$(get wifi_psk | tr -d '"')"; else echo "  key_mgmt=NONE"; fi
    echo "}"
  } > "$conf"
  umask 022
  # enable alone would wait for the next boot; --no-block queues the start without waiting for
  # it (this runs before sysinit.target: waiting would deadlock).
  systemctl enable wpa_supplicant@wlan0.service >/dev/null 2>&1 || true
  systemctl start --no-block wpa_supplicant@wlan0.service >/dev/null 2>&1 || true
  say "Wi-Fi network '$ssid' configured"
fi

# 4. SSH: host keys are made here (unique per device); the service is on only with a key.
key=$(get ssh_authorized_key)
if command -v ssh-keygen >/dev/null; then
  ssh-keygen -A >/dev/null
  if [ -n "$key" ]; then
    install -d -m 0700 /root/.ssh
    echo "$key" >> /root/.ssh/authorized_keys
    chmod 0600 /root/.ssh/authorized_keys
    systemctl enable ssh.service >/dev/null 2>&1 || true
    systemctl start --no-block ssh.service >/dev/null 2>&1 || true
    say "SSH enabled (key only)"
  fi
fi

# 5. Router settings. The router is not running yet, so its own admin CLI works on the data
#    folder directly (as the wampmesh user, so the files stay its own).
json_escape() { python3 -c 'import json,sys; print(json.dumps(sys.argv[1]))' "$1" 2>/dev/null || printf '"%s"' "$(printf '%s' "$1" | sed 's/\\/\\\\/g; s/"/\\"/g')"; }
wm=/usr/local/bin/wampmesh
data=/var/lib/wampmesh
install -d -o wampmesh -g wampmesh -m 0750 "$data"
as_router() { runuser -u wampmesh -- "$wm" "$@" --data "$data"; }

# Node identity: a stable node id, made on this device only, where the router reads it.
if [ ! -e "$data/node-id" ]; then
  uuid=$(cat /proc/sys/kernel/random/uuid)
  echo "n-${uuid//-/}" | cut -c1-14 > "$data/node-id"
  chown wampmesh:wampmesh "$data/node-id"
  say "node id $(cat "$data/node-id")"
fi

# Cluster: with a name and secret the router joins the mesh (mDNS finds the other boards).
cluster=$(get cluster_name)
secret=$(get cluster_secret)
if [ -n "$secret" ]; then
  if [ ${#secret} -lt 16 ]; then
    say "cluster_secret must have at least 16 characters; the mesh stays off"
  else
    umask 027
    cat > /etc/wampmesh/config.json <<CONFIG
{
  "dataDir": "/var/lib/wampmesh",
  "logLevel": "warn",
  "realms": [{ "uri": "realm1", "anonymous": true, "anonymousFrom": "loopback" }],
  "listeners": {
    "websocket": [{ "host": "0.0.0.0", "port": 8080, "path": "/ws" }],
    "rawsocket": [{ "host": "0.0.0.0", "port": 8081 }],
    "http": [{ "host": "127.0.0.1", "port": 8082, "serve": ["metrics", "health"] }]
  },
  "mesh": { "enabled": true, "cluster": { "name": $(json_escape "${cluster:-wampmesh}"), "secret": $(json_escape "$secret") } }
}
CONFIG
    umask 022
    chgrp wampmesh /etc/wampmesh/config.json 2>/dev/null || true
    say "mesh enabled for cluster '${cluster:-wampmesh}'"
  fi
fi

# Administrator: a password (ticket, wamp-scram) and/or Ed25519 keys (cryptosign) in the admin
# realm wampmesh.admin, so the router can be administered over the network too.
admin=$(get admin_user); admin=${admin:-admin}
password=$(get admin_password)
keys=()
for k in $(get admin_public_keys | tr ',' ' '); do
  if [[ $k =~ ^[0-9a-fA-F]{64}$ ]]; then keys+=(--pubkey "$k")
  else
    hex=$(printf '%s' "$k" | base64 -d 2>/dev/null | od -An -tx1 | tr -d ' \n')
    if [ ${#hex} -eq 64 ]; then keys+=(--pubkey "$hex"); else say "ignoring admin key '$k'"; fi
  fi
done
if [ -n "$password" ] || [ ${#keys[@]} -gt 0 ]; then
  creds=()
  [ -n "$password" ] && creds+=(--password "$password")
  if [ "$admin" = admin ]; then verb=(user update wampmesh.admin admin); else verb=(user create wampmesh.admin "$admin" --group admin); fi
  if as_router "${verb[@]}" "${creds[@]}" "${keys[@]}" >/dev/null; then say "administrator '$admin' configured"; else say "could not configure administrator '$admin'"; fi
fi

# 7. Blank the secrets on the FAT partition: anyone holding the card could read them there.
if [ -f "$settings" ]; then
  tmp=$settings.new
  while IFS= read -r line || [ -n "$line" ]; do
    k=${line%%=*}; k=${k//[[:space:]]/}
    if [[ $line != \#* && $line == *=* && $secret_keys == *" $k "* && -n ${cfg[$k]:-} ]]; then
      echo "$k=  # applied at first boot, then removed from this file"
    else
      echo "${line%$'\r'}"
    fi
  done < "$settings" > "$tmp"
  mv "$tmp" "$settings"
fi

touch "$done_marker"
sync
say "done"
