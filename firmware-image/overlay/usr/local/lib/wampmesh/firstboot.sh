#!/bin/bash
# wampmesh-firstboot.service, at every boot before the network and wampmesh start: applies
# /boot/firmware/wampmesh.txt on the first boot, and again on a boot where the file says
# `apply=again` (then set back to `apply=`); otherwise it returns at once.
# Never sources the file: it is parsed line by line and only known keys are taken, so nothing
# written there can run as root. Secrets it held are then overwritten on the card, not just
# deleted (see "Secrets" in firmware-image/README.md).
set -euo pipefail
boot=/boot/firmware
settings=$boot/wampmesh.txt
done_marker=/var/lib/wampmesh-firstboot.done
say() { echo "wampmesh-firstboot: $*"; }

declare -A cfg=()
realm_lines=() user_lines=() grant_lines=()
known=" hostname cluster_name cluster_secret admin_user admin_password admin_public_keys ssh_authorized_key wifi_country wifi_ssid wifi_psk security_updates security_import apply "
secret_keys=" cluster_secret admin_password wifi_psk "
if [ -f "$settings" ]; then
  while IFS= read -r line || [ -n "$line" ]; do
    line=${line%$'\r'}                       # edited on Windows
    [[ $line =~ ^[[:space:]]*(#|$) ]] && continue
    [[ $line == *=* ]] || continue
    key=${line%%=*}; key=${key//[[:space:]]/}
    value=${line#*=}
    value=${value#"${value%%[![:space:]]*}"}; value=${value%"${value##*[![:space:]]}"}
    case $key in
      realm) [ -n "$value" ] && realm_lines+=("$value") ;;
      user) [ -n "$value" ] && user_lines+=("$value") ;;
      grant) [ -n "$value" ] && grant_lines+=("$value") ;;
      *) [[ $known == *" $key "* ]] && cfg[$key]=$value ;;
    esac
  done < "$settings"
fi
get() { echo "${cfg[$1]:-}"; }

first=1
if [ -e "$done_marker" ]; then
  [ "$(get apply)" = again ] || exit 0
  first=0
  say "applying $settings again (apply=again)"
fi

# 1. Root partition and filesystem grow to the whole card: on this project's image only
#    (label RASPIROOT); Raspberry Pi OS grows its own root before systemd starts.
root_dev=$(findmnt -no SOURCE / 2>/dev/null || true)
if [ "$first" = 1 ] && [ -n "$root_dev" ] && [ "$(lsblk -no LABEL "$root_dev" 2>/dev/null || true)" = RASPIROOT ]; then
  disk=/dev/$(lsblk -no PKNAME "$root_dev" | head -1)
  partnum=$(cat "/sys/class/block/$(basename "$root_dev")/partition" 2>/dev/null || echo 2)
  if [ -b "$disk" ] && echo ", +" | sfdisk --no-reread --no-tell-kernel -N "$partnum" "$disk" >/dev/null 2>&1; then
    partx -u -n "$partnum" "$disk" 2>/dev/null || true
    if resize2fs "$root_dev" >/dev/null 2>&1; then say "root filesystem grown to $(df -h --output=size / | tail -1 | tr -d ' ')"; else say "resize2fs failed"; fi
  fi
fi

# 2. Host name.
host=$(get hostname)
if [[ $host =~ ^[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?$ ]]; then
  echo "$host" > /etc/hostname
  hostname "$host" || true
  if [ -f /etc/hosts ]; then sed -i "s/^127\.0\.1\.1.*/127.0.1.1\t$host/" /etc/hosts; fi
  say "hostname $host"
elif [ -n "$host" ]; then
  say "ignoring invalid hostname '$host'"
fi

# 3. Wi-Fi: NetworkManager where it runs the network (Raspberry Pi OS), else wpa_supplicant@wlan0
#    (this image: systemd-networkd then runs DHCP on it).
ssid=$(get wifi_ssid)
psk=$(get wifi_psk)
if [ -n "$ssid" ] && [ -z "$psk" ] && [ "$first" = 0 ]; then
  say "Wi-Fi left as it is (no wifi_psk given again)"
elif [ -n "$ssid" ]; then
  umask 077
  if [ -d /etc/NetworkManager/system-connections ]; then
    {
      printf '[connection]\nid=wampmesh-wifi\ntype=wifi\nautoconnect=true\n\n[wifi]\nmode=infrastructure\nssid=%s\n\n' "$ssid"
      [ -n "$psk" ] && printf '[wifi-security]\nkey-mgmt=wpa-psk\npsk=%s\n\n' "$psk"
      printf '[ipv4]\nmethod=auto\n\n[ipv6]\nmethod=auto\n'
    } > /etc/NetworkManager/system-connections/wampmesh-wifi.nmconnection
  else
    conf=/etc/wpa_supplicant/wpa_supplicant-wlan0.conf
    mkdir -p /etc/wpa_supplicant
    {
      echo "ctrl_interface=DIR=/run/wpa_supplicant GROUP=netdev"
      echo "update_config=0"
      [ -n "$(get wifi_country)" ] && echo "country=$(get wifi_country)"
      echo "network={"
      printf '  ssid="%s"\n' "${ssid//\"/}"
      if [ -n "$psk" ]; then printf '  psk="%s"\n' "${psk//\"/}"; else echo "  key_mgmt=NONE"; fi
      echo "}"
    } > "$conf"
    # enable alone would wait for the next boot; --no-block queues the start without waiting
    # for it (this runs before sysinit.target: waiting would deadlock).
    systemctl enable wpa_supplicant@wlan0.service >/dev/null 2>&1 || true
    systemctl start --no-block wpa_supplicant@wlan0.service >/dev/null 2>&1 || true
  fi
  umask 022
  say "Wi-Fi network '$ssid' configured"
fi

# 4. SSH: host keys are made here (unique per device); the service is on only with a key.
key=$(get ssh_authorized_key)
if command -v ssh-keygen >/dev/null; then
  ssh-keygen -A >/dev/null
  if [ -n "$key" ]; then
    install -d -m 0700 /root/.ssh
    touch /root/.ssh/authorized_keys
    grep -qxF "$key" /root/.ssh/authorized_keys || echo "$key" >> /root/.ssh/authorized_keys
    chmod 0600 /root/.ssh/authorized_keys
    systemctl enable ssh.service >/dev/null 2>&1 || true
    systemctl start --no-block ssh.service >/dev/null 2>&1 || true
    say "SSH enabled (key only)"
  fi
fi

# 5. Debian security updates by unattended-upgrades: on unless security_updates=off.
if [ -x /usr/bin/unattended-upgrade ]; then
  case $(get security_updates) in
    ''|on|yes|true|1) periodic=1 ;;
    off|no|false|0) periodic=0 ;;
    *) periodic=1; say "security_updates: expected on or off, got '$(get security_updates)'; left on" ;;
  esac
  printf 'APT::Periodic::Update-Package-Lists "%s";\nAPT::Periodic::Unattended-Upgrade "%s";\n' "$periodic" "$periodic" \
    > /etc/apt/apt.conf.d/20auto-upgrades
  say "security updates $([ "$periodic" = 1 ] && echo on || echo off) (unattended-upgrades)"
fi

# 6. Router settings. The router is not running yet, so its own admin CLI works on the data
#    folder directly, as the wampmesh user so the files stay its own.
wm=$(command -v wampmesh || echo /usr/local/bin/wampmesh)
data=/var/lib/wampmesh
# The account and folders, in case systemd-sysusers.service skipped this boot (it runs only
# when /etc needs an update, e.g. on an image wampmesh was injected into after its first boot).
systemd-sysusers wampmesh.conf >/dev/null 2>&1 || true
systemd-tmpfiles --create wampmesh.conf >/dev/null 2>&1 || true
install -d -o wampmesh -g wampmesh -m 0750 "$data"
install -d -o wampmesh -g wampmesh -m 0700 /var/cache/wampmesh
as_router() { runuser -u wampmesh -- env HOME="$data" WAMPMESH_CACHE_DIR=/var/cache/wampmesh "$wm" "$@" --data "$data" --init; }
json_escape() { python3 -c 'import json,sys; print(json.dumps(sys.argv[1]))' "$1" 2>/dev/null || printf '"%s"' "$(printf '%s' "$1" | sed 's/\\/\\\\/g; s/"/\\"/g')"; }

# Node identity: a stable node id, made on this device only, where the router reads it.
if [ ! -e "$data/node-id" ]; then
  uuid=$(cat /proc/sys/kernel/random/uuid)
  echo "n-${uuid//-/}" | cut -c1-14 > "$data/node-id"
  chown wampmesh:wampmesh "$data/node-id"
  say "node id $(cat "$data/node-id")"
fi

# TLS: a self-signed certificate made here, on this device only (its key never leaves it),
# for wss, RawSocket over TLS and the mesh links. Replace the two files with a real
# certificate and `systemctl reload wampmesh` (firmware-image/README.md, "TLS").
tls_dir=/etc/wampmesh/tls
if [ ! -s "$tls_dir/cert.pem" ] || [ ! -s "$tls_dir/key.pem" ]; then
  install -d -o root -g wampmesh -m 0750 "$tls_dir"
  name=$(hostname)
  if (umask 077 && openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -days 3650 \
      -subj "/CN=$name" -addext "subjectAltName=DNS:$name,DNS:$name.local,DNS:localhost,IP:127.0.0.1" \
      -keyout "$tls_dir/key.pem" -out "$tls_dir/cert.pem" 2>/dev/null); then
    chgrp wampmesh "$tls_dir/key.pem" "$tls_dir/cert.pem"
    chmod 0640 "$tls_dir/key.pem"
    chmod 0644 "$tls_dir/cert.pem"
    say "TLS certificate made for $name"
  else
    say "openssl could not make a TLS certificate; TLS listeners stay off"
  fi
fi
tls_fingerprint=$(openssl x509 -in "$tls_dir/cert.pem" -noout -fingerprint -sha256 2>/dev/null | cut -d= -f2 || true)
[ -n "$tls_fingerprint" ] && say "TLS certificate SHA-256 fingerprint $tls_fingerprint"

# The appliance's config: TLS on every interface (wss 8443, RawSocket over TLS 8444), plain
# WebSocket and RawSocket on loopback only, so passwords never cross the network in clear.
# Written on the first boot and whenever a cluster secret is given; a config edited since is
# kept otherwise. With a cluster name and secret the router joins the mesh (mDNS finds the
# other boards), its links inside TLS with the same certificate.
cluster=$(get cluster_name)
secret=$(get cluster_secret)
mesh='"mesh": { "enabled": false }'
write_config=$first
if [ -n "$secret" ]; then
  if [ ${#secret} -lt 16 ]; then
    say "cluster_secret must have at least 16 characters; the mesh stays off"
  else
    mesh_tls=
    [ -n "$tls_fingerprint" ] && mesh_tls=', "tls": { "cert": "tls/cert.pem", "key": "tls/key.pem" }'
    mesh="\"mesh\": { \"enabled\": true, \"cluster\": { \"name\": $(json_escape "${cluster:-wampmesh}"), \"secret\": $(json_escape "$secret") }$mesh_tls }"
    write_config=1
    say "mesh enabled for cluster '${cluster:-wampmesh}'"
  fi
fi
if [ "$write_config" = 1 ]; then
  if [ -n "$tls_fingerprint" ]; then
    tls='{ "cert": "tls/cert.pem", "key": "tls/key.pem" }'
    ws='{ "host": "0.0.0.0", "port": 8443, "path": "/ws", "maxMessageSize": 1048576, "tls": '"$tls"' }, { "host": "127.0.0.1", "port": 8080, "path": "/ws", "maxMessageSize": 1048576 }'
    rs='{ "host": "0.0.0.0", "port": 8444, "tls": '"$tls"' }, { "host": "127.0.0.1", "port": 8081 }'
  else
    ws='{ "host": "0.0.0.0", "port": 8080, "path": "/ws", "maxMessageSize": 1048576 }'
    rs='{ "host": "0.0.0.0", "port": 8081 }'
  fi
  umask 027
  cat > /etc/wampmesh/config.json <<CONFIG
{
  "dataDir": "/var/lib/wampmesh",
  "logLevel": "warn",
  "realms": [{ "uri": "realm1", "anonymous": true, "anonymousFrom": "loopback" }],
  "listeners": {
    "websocket": [$ws],
    "rawsocket": [$rs],
    "http": [{ "host": "127.0.0.1", "port": 8082, "serve": ["metrics", "health"] }]
  },
  $mesh
}
CONFIG
  umask 022
  chgrp wampmesh /etc/wampmesh/config.json 2>/dev/null || true
fi

# A whole security document (`wampmesh security export`), replacing the security
# configuration; the realm, user and grant lines below then apply on top of it. Copied to
# /run (RAM) for the service user, never to the root filesystem.
import_file=$(get security_import)
if [ -n "$import_file" ]; then
  if [[ $import_file =~ ^[A-Za-z0-9._-]+$ ]] && [ -f "$boot/$import_file" ]; then
    doc=$(mktemp -p /run wampmesh-import.XXXXXX)
    install -o wampmesh -m 0600 "$boot/$import_file" "$doc"
    if as_router security import "$doc" >/dev/null; then say "security document $import_file imported"; else say "could not import $import_file"; fi
    rm -f "$doc"
  else
    say "security_import: no file '$import_file' next to wampmesh.txt (a file name, no folders)"
    import_file=
  fi
fi

# realm=URI [AUTHMETHODS]: created, or its authmethods set when it exists.
for line in "${realm_lines[@]}"; do
  read -r uri methods _ <<< "$line"
  methods=${methods:-ticket,wamp-scram,cryptosign}
  if as_router realm get "$uri" >/dev/null 2>&1; then verb=update; else verb=create; fi
  if as_router realm "$verb" "$uri" --authmethods "$methods" >/dev/null; then say "realm $uri ($methods) ${verb}d"; else say "could not $verb realm $uri"; fi
done

# user=REALM AUTHID GROUP PASSWORD: the group is created when missing ("-": no group); the
# password is the rest of the line (spaces allowed) and never logged.
for line in "${user_lines[@]}"; do
  read -r realm authid group password <<< "$line"
  if [ -z "$password" ]; then say "user line for '$authid' in '$realm' has no password; skipped"; continue; fi
  groups=()
  if [ "$group" != - ]; then
    as_router group get "$realm" "$group" >/dev/null 2>&1 || as_router group create "$realm" "$group" >/dev/null || true
    groups=(--group "$group")
  fi
  if as_router user get "$realm" "$authid" >/dev/null 2>&1; then verb=update; else verb=create; fi
  if as_router user "$verb" "$realm" "$authid" --password "$password" "${groups[@]}" >/dev/null; then say "user $authid in realm $realm ${verb}d"; else say "could not $verb user $authid in realm $realm"; fi
done

# grant=REALM PERMISSIONS URI [MATCH] TO[,TO...]: skipped when the same grant exists (re-apply).
for line in "${grant_lines[@]}"; do
  read -r realm perms uri match to _ <<< "$line"
  if [ -z "$to" ]; then to=$match; match=exact; fi
  if [ -z "$to" ]; then say "grant line '$line': expected REALM PERMISSIONS URI [MATCH] TO"; continue; fi
  if command -v jq >/dev/null && [ "$(as_router grant list "$realm" 2>/dev/null | jq --arg u "$uri" --arg m "$match" --arg p "$perms" --arg t "$to" \
      '[.[]? | select(.uri == $u and .match == $m and ((.permissions | sort) == ($p | split(",") | sort)) and ((.to | sort) == ($t | split(",") | sort)))] | length' 2>/dev/null)" = 1 ]; then
    say "grant $perms on $uri ($match) to $to in $realm exists"; continue
  fi
  to_flags=()
  for t in ${to//,/ }; do to_flags+=(--to "$t"); done
  if as_router grant create "$realm" --allow "$perms" --uri "$uri" --match "$match" "${to_flags[@]}" >/dev/null; then
    say "grant $perms on $uri ($match) to $to in $realm"
  else
    say "could not grant $perms on $uri in $realm"
  fi
done

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
  if as_router user get wampmesh.admin "$admin" >/dev/null 2>&1; then verb=(user update wampmesh.admin "$admin"); else verb=(user create wampmesh.admin "$admin" --group admin); fi
  if as_router "${verb[@]}" "${creds[@]}" "${keys[@]}" >/dev/null; then say "administrator '$admin' configured"; else say "could not configure administrator '$admin'"; fi
fi

# 7. Secrets off the card. Deleting or rewriting a file on FAT only frees its clusters; the
#    text stays readable there. So: the file's own clusters are overwritten in place (same
#    length, no truncation: the FAT driver writes the clusters the file has), then every free
#    cluster of the partition (the user's editor may have saved earlier versions into clusters
#    it freed), and only then is the file rewritten without the secrets.
had_secrets=0
for k in $secret_keys; do
  if [ -n "$(get "$k")" ]; then had_secrets=1; fi
done
if [ ${#user_lines[@]} -gt 0 ] || [ -n "$import_file" ]; then had_secrets=1; fi
zero_in_place() {
  local size; size=$(stat -c %s "$1")
  [ "$size" -gt 0 ] && dd if=/dev/zero of="$1" bs="$size" count=1 conv=notrunc,fsync status=none
  return 0
}
if [ -f "$settings" ]; then
  clean=$(mktemp -p /run wampmesh-txt.XXXXXX)
  while IFS= read -r line || [ -n "$line" ]; do
    line=${line%$'\r'}
    k=${line%%=*}; k=${k//[[:space:]]/}
    if [[ $line =~ ^[[:space:]]*# || $line != *=* ]]; then
      echo "$line"
    elif [[ $secret_keys == *" $k "* && -n ${cfg[$k]:-} ]]; then
      # The note goes on its own line: a value is the whole rest of its line, so a comment
      # after "=" would be read as the value on a re-apply.
      echo "# $k: applied, then removed from this card"
      echo "$k="
    elif [ "$k" = user ]; then
      read -r r a g _ <<< "${line#*=}"
      echo "# user=$r $a $g  (applied; password removed from this card)"
    elif [ "$k" = security_import ] && [ -n "$import_file" ]; then
      echo "# security_import=$import_file  (imported; the file was overwritten and deleted)"
    elif [ "$k" = apply ]; then
      echo "apply="
    else
      echo "$line"
    fi
  done < "$settings" > "$clean"
  if [ "$had_secrets" = 1 ]; then
    zero_in_place "$settings"
    if [ -n "$import_file" ]; then zero_in_place "$boot/$import_file"; rm -f "$boot/$import_file"; fi
    # Only on the FAT partition itself: anywhere else "until full" would fill the root.
    if [ "$(findmnt -no FSTYPE "$boot" 2>/dev/null)" = vfat ]; then
      fill=$boot/.wampmesh-wipe
      dd if=/dev/zero of="$fill" bs=1M conv=fsync status=none 2>/dev/null || true   # ends when the partition is full
      rm -f "$fill"
      sync
      say "secrets overwritten on the boot partition (the file's clusters and all free space)"
    else
      say "secrets overwritten in wampmesh.txt ($boot is not a FAT mount: free space not wiped)"
    fi
  fi
  if [ -n "$tls_fingerprint" ] && ! grep -q "^# tls_fingerprint" "$clean"; then
    printf '# tls_fingerprint (written by the device at first boot; compare with what a client is shown):\n# tls_fingerprint SHA-256 %s\n' "$tls_fingerprint" >> "$clean"
  fi
  cat "$clean" > "$settings"
  rm -f "$clean"
fi

touch "$done_marker"
sync
say "done"
