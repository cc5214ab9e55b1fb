#!/bin/bash
# Boots the Raspberry Pi image under qemu-system-aarch64 and checks that a WAMP client gets a
# WELCOME from wampmesh over RawSocket and WebSocket, through host loopback port forwards.
#
#   firmware-image/boot-test.sh [IMAGE(.img|.img.xz)] [--timeout SECONDS] [--keep]
#
# qemu's "raspi3b"/"raspi4b" machines lack the USB/Ethernet and PCIe a network test needs, so
# the image boots on the generic "virt" machine (cortex-a72, the Pi 4's core) with the kernel
# and initrd taken from its own boot partition and the whole image as a virtio disk: the same
# Debian kernel, root filesystem, systemd units, first boot, networkd DHCP, avahi and wampmesh
# as on a Pi; only the Pi's firmware, device tree and Wi-Fi are not exercised.
# Under TCG a boot is 10-50 times slower than on a Pi (minutes on a busy host): the kernel
# command line lets systemd wait up to 3 min for devices (default 90 s) so the boot partition's
# /dev/disk/by-label link, made by udev's coldplug, is not given up on before it appears (74 s
# and more than 90 s were seen). It also delays network.target by as much: wlan0 never appears
# on qemu's virt machine, and wpa_supplicant@wlan0 (configured from wampmesh.txt) waits for it.
# The guest network is qemu's user mode with restrict=on: it reaches nothing, not even the host,
# except the forwarded ports (127.0.0.1 only).
# The image file is not modified: the boot runs on a scratch copy (its wampmesh.txt set to a
# test host name) with -snapshot.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/.." && pwd)
# shellcheck source=lib.sh
. "$here/lib.sh"

image=$root/dist/image/wampmesh-rpi-arm64.img.xz
timeout=1200
keep=0
while [ $# -gt 0 ]; do
  case $1 in
    --timeout) timeout=$2; shift 2 ;;
    --keep) keep=1; shift ;;
    -*) die "unknown option $1" ;;
    *) image=$1; shift ;;
  esac
done
[ -f "$image" ] || die "$image not found (build it: npm run build:image)"
ensure_packages qemu-system-arm qemu-efi-aarch64 ipxe-qemu mtools xz-utils python3 fdisk

work=$(mktemp -d "${TMPDIR:-/var/tmp}/wampmesh-boot.XXXXXX")
qemu_pid=
cleanup() {
  qemu_stop
  if [ "$keep" = 1 ]; then log "kept $work"; else rm -rf "$work"; fi
}
trap cleanup EXIT

started=$(date +%s)
img=$work/disk.img
case $image in
  *.xz) xz -dc "$image" | cp --sparse=always /dev/stdin "$img" ;;
  *) cp --sparse=always "$image" "$img" ;;
esac

read -r boot_start _ < <(part_offset "$img" 1)
boot="$img@@$((boot_start * 512))"
kernel=$(mdir -b -i "$boot" :: | sed -n 's#^::/##p' | grep '^vmlinuz-' | sort -V | tail -1)
initrd=$(mdir -b -i "$boot" :: | sed -n 's#^::/##p' | grep '^initrd.img-' | sort -V | tail -1)
[ -n "$kernel" ] && [ -n "$initrd" ] || die "no vmlinuz-*/initrd.img-* on the boot partition"
mcopy -i "$boot" "::$kernel" "$work/vmlinuz"
mcopy -i "$boot" "::$initrd" "$work/initrd"
# SSH (key only, as wampmesh.txt allows) lets the test act inside the guest: kill -9 the router.
test_ssh_key "$work/id"
# First-boot settings as a user would write them: secrets of every kind, a realm with a user
# and a grant, and a security document to import (made here by the x64 executable's offline
# admin CLI; it carries a marker string so the scan below can look for it).
sed -e 's/^hostname=.*/hostname=wm-boottest/' -e 's/^cluster_name=.*/cluster_name=boottest/' \
  -e 's/^cluster_secret=.*/cluster_secret=boot-test-cluster-secret/' \
  -e 's/^admin_password=.*/admin_password=boot test admin pw/' \
  -e 's/^wifi_ssid=.*/wifi_ssid=boottest-wifi/' -e 's/^wifi_psk=.*/wifi_psk=boot-test-wifi-psk-5521/' \
  -e "s#^ssh_authorized_key=.*#ssh_authorized_key=$(cat "$work/id.pub")#" "$here/wampmesh.txt" > "$work/wampmesh.txt"
cat >> "$work/wampmesh.txt" <<'LINES'
realm=com.example.boottest ticket,wamp-scram
user=com.example.boottest device1 devices boot test user pw 7319
grant=com.example.boottest call,register,subscribe,publish com.example.boottest. prefix group:devices
LINES
secrets=(boot-test-cluster-secret "boot test admin pw" "boot test user pw 7319" boot-test-wifi-psk-5521 "second user pw 4471")
x64=$root/dist/wampmesh-linux-x64
import=0
if [ -x "$x64" ] && doc_data=$(mktemp -d "$work/secdoc.XXXXXX") \
  && "$x64" realm create com.example.imported --authmethods ticket --data "$doc_data" --init >/dev/null \
  && "$x64" user create com.example.imported importer --password boot-test-import-pw-8842 \
       --meta '{"marker":"boot-test-import-marker-6620"}' --data "$doc_data" >/dev/null \
  && "$x64" security export --out "$work/security.json" --data "$doc_data"; then
  echo "security_import=security.json" >> "$work/wampmesh.txt"
  mcopy -o -i "$boot" "$work/security.json" ::security.json
  secrets+=(boot-test-import-marker-6620)
  import=1
else
  log "no security document to import ($x64 missing or not runnable here): that part is not tested"
fi
mcopy -o -i "$boot" "$work/wampmesh.txt" ::wampmesh.txt

# Clients come from outside the guest, where anonymous is refused: log in as the administrator.
export WAMP_PROBE_TICKET="wampmesh.admin admin boot test admin pw"

serial=$work/serial.log
log "booting $kernel under qemu-system-aarch64 (virt, cortex-a72, 2 CPUs, TCG); serial log $serial"
boot_t0=$(date +%s)
qemu_boot "$work/vmlinuz" "$work/initrd" "$img" "root=LABEL=RASPIROOT rootwait ro"

result=0
# From outside the board only the TLS listeners answer (wss 8443, RawSocket over TLS 8444; the
# plain ones are on the guest's loopback). Until the first-boot certificate's fingerprint is
# read from the boot partition below, the probe speaks TLS without pinning it.
export WAMP_PROBE_TLS=1
if out=$(python3 "$here/wamp-probe.py" rawsocket 127.0.0.1 "$raw_port" "$timeout"); then
  welcome_s=$(( $(date +%s) - boot_t0 ))
  log "RawSocket WELCOME after ${welcome_s} s: ${out:0:120}..."
else
  result=1
  log "no RawSocket WELCOME within $timeout s"
fi
if [ $result = 0 ]; then
  # The fingerprint the device wrote into wampmesh.txt at first boot, as a user reads it from the card.
  fingerprint=$(guest "sed -n 's/^# tls_fingerprint SHA-256 //p' /boot/firmware/wampmesh.txt" | tr -d '\r' | head -1)
  cli_fingerprint=$(guest "wampmesh tls" | jq -r 'select(.listener == "listeners.websocket[0]") | .fingerprint' || true)
  if [ -n "$fingerprint" ] && [ "$fingerprint" = "$cli_fingerprint" ]; then
    log "first-boot TLS certificate $fingerprint (wampmesh.txt and 'wampmesh tls' agree)"
    export WAMP_PROBE_FINGERPRINT=$fingerprint
  else
    result=1; log "no first-boot TLS fingerprint (wampmesh.txt: '${fingerprint}', wampmesh tls: '${cli_fingerprint}')"
  fi
fi
if [ $result = 0 ]; then
  if out=$(python3 "$here/wamp-probe.py" websocket 127.0.0.1 "$ws_port" 120); then
    log "wss:// WELCOME, certificate pinned to the first-boot fingerprint: ${out:0:120}..."
    if WAMP_PROBE_FINGERPRINT=$(tr '0-9A-F' '1-9A-F0' <<<"$fingerprint") python3 "$here/wamp-probe.py" websocket 127.0.0.1 "$ws_port" 5 >/dev/null 2>&1; then
      result=1; log "wss:// client pinned to another fingerprint was NOT refused"
    else
      log "wss:// client pinned to another fingerprint refused"
    fi
  else
    result=1; log "no wss:// WELCOME with the first-boot certificate"
  fi
fi
if [ $result = 0 ]; then
  # Past WatchdogSec (30 s): the router must still be there, not restarted by the watchdog.
  deadline=$(( $(date +%s) + 45 ))
  while [ "$(date +%s)" -lt "$deadline" ] && kill -0 "$qemu_pid" 2>/dev/null; do sleep 5; done
  if python3 "$here/wamp-probe.py" rawsocket 127.0.0.1 "$raw_port" 60 >/dev/null; then
    log "still serving 45 s later (watchdog pings accepted)"
  else
    result=1; log "not serving 45 s later"
  fi
fi

if [ $result = 0 ]; then
  # Restart=on-failure: after a kill -9 systemd starts the router again, and it answers again.
  if before=$(guest systemctl show -p MainPID --value wampmesh.service) && [ "${before:-0}" != 0 ] && guest kill -9 "$before"; then
    log "killed the router (PID $before) with SIGKILL"
    if python3 "$here/wamp-probe.py" rawsocket 127.0.0.1 "$raw_port" 90 >/dev/null; then
      after=$(guest systemctl show -p MainPID --value wampmesh.service)
      restarts=$(guest systemctl show -p NRestarts --value wampmesh.service)
      if [ "$after" != "$before" ] && [ "${restarts:-0}" -ge 1 ]; then log "restarted by systemd after kill -9 (new PID $after, NRestarts=$restarts) and serving"
      else result=1; log "router answers but was not restarted by systemd (PID $before -> $after, NRestarts=$restarts)"; fi
    else
      result=1; log "no WELCOME after kill -9: not restarted"
    fi
  else
    result=1; log "could not reach the guest over SSH to kill the router"
  fi
fi

if [ $result = 0 ]; then
  in_guest "apt sources: trixie, trixie-updates, trixie-security" \
    "grep -q '^Suites: trixie trixie-updates$' /etc/apt/sources.list.d/debian.sources && grep -q '^Suites: trixie-security$' /etc/apt/sources.list.d/debian.sources"
  in_guest "unattended-upgrades installed and enabled (APT::Periodic::Unattended-Upgrade 1, apt-daily-upgrade.timer)" \
    "dpkg-query -W -f='\${Status}' unattended-upgrades | grep -q 'install ok installed' && apt-config dump APT::Periodic::Unattended-Upgrade | grep -q '\"1\"' && systemctl is-enabled apt-daily-upgrade.timer >/dev/null"
  in_guest "jq installed" "command -v jq >/dev/null"
  in_guest "wampmesh installed as a Debian package" "dpkg-query -W -f='\${Status}' wampmesh | grep -q 'install ok installed'"
  login "first-boot user device1 in first-boot realm com.example.boottest, subscribing under the first-boot grant" \
    "com.example.boottest device1 boot test user pw 7319" com.example.boottest.temperature
  # The admin CLI as an operator types it on the device: no --data, no --config (it finds the
  # service's data folder through /etc/wampmesh/config.json and talks to the running router).
  in_guest "first-boot grant listed by the admin CLI without --data" \
    "[ \"\$(wampmesh grant list com.example.boottest | jq '[.[] | select(.uri == \"com.example.boottest.\" and .match == \"prefix\")] | length')\" = 1 ]"
  in_guest "'wampmesh mesh status' without --data answers from the running router (mesh on)" \
    "wampmesh mesh status | jq -e 'type == \"object\"' >/dev/null"
  [ "$import" = 1 ] && login "user of the imported security document" "com.example.imported importer boot-test-import-pw-8842"
  # Deliberate re-apply, with a new user, while the router runs (the CLI then goes through its
  # admin socket).
  in_guest "re-apply wampmesh.txt (apply=again, systemctl restart wampmesh-firstboot)" \
    "printf 'apply=again\nuser=com.example.boottest device2 devices second user pw 4471\n' >> /boot/firmware/wampmesh.txt && systemctl restart wampmesh-firstboot && grep -q '^apply=$' /boot/firmware/wampmesh.txt"
  login "user device2 added by the re-apply" "com.example.boottest device2 second user pw 4471"
  # README.md ("Appliance"), the first steps for network clients, as written there: run on the
  # device as root, no --data; then a client on the network logs in and subscribes.
  in_guest "README's first steps for network clients (realm, user, grant: admin CLI without --data)" \
    "wampmesh realm create com.example --authmethods ticket,wamp-scram >/dev/null && wampmesh user create com.example sensor1 --password 'a long password' >/dev/null && wampmesh grant create com.example --allow call,register,subscribe,publish --uri com.example. --match prefix --to user:sensor1 >/dev/null"
  login "README's network client: sensor1 in realm com.example, subscribing" "com.example sensor1 a long password" com.example.temperature
fi
if [ $result = 0 ]; then
  # /readyz and /metrics on the guest's loopback HTTP listener (port 8082), read through SSH with
  # bash's /dev/tcp (the image has no curl): ready, database writable, mesh waited for or linked.
  http_get() { guest bash -c "'exec 3<>/dev/tcp/127.0.0.1/8082 && printf \"GET $1 HTTP/1.0\\r\\n\\r\\n\" >&3 && cat <&3'"; }
  ready=$(http_get '/readyz?verbose=1' || true)
  if grep -q '^HTTP/1.1 200' <<<"$ready" && grep -q '^\[+\]database ok' <<<"$ready"; then
    log "/readyz: $(tr -d '\r' <<<"$ready" | grep '^\[' | tr '\n' ' ')"
  else
    result=1; log "/readyz not 200 after the restart: ${ready:0:400}"
  fi
  if http_get /metrics | grep -q '^wampmesh_build_info{'; then log "/metrics answers"; else result=1; log "/metrics does not answer"; fi
  in_guest "flush" "sync"
fi

check "first boot ran" 'wampmesh-firstboot: done'
check "host name from wampmesh.txt" 'wampmesh-firstboot: hostname wm-boottest'
check "node identity generated" 'wampmesh-firstboot: node id '
check "TLS certificate made at first boot" 'wampmesh-firstboot: TLS certificate made for '
check "mesh enabled from wampmesh.txt" "wampmesh-firstboot: mesh enabled for cluster 'boottest'"
check "administrator configured from wampmesh.txt" "wampmesh-firstboot: administrator 'admin' configured"
check "security updates on" 'wampmesh-firstboot: security updates on \(unattended-upgrades\)'
check "first-boot realm" 'wampmesh-firstboot: realm com.example.boottest \(ticket,wamp-scram\) created'
check "first-boot user" 'wampmesh-firstboot: user device1 in realm com.example.boottest created'
check "first-boot grant" 'wampmesh-firstboot: grant call,register,subscribe,publish on com.example.boottest. \(prefix\) to group:devices'
[ "$import" = 1 ] && check "security document imported" 'wampmesh-firstboot: security document security.json imported'
check "secrets overwritten on the FAT partition" 'wampmesh-firstboot: secrets overwritten on the boot partition'
check "re-applied" 'wampmesh-firstboot: applying /boot/firmware/wampmesh.txt again'
check "re-apply found the grant" 'wampmesh-firstboot: grant .* exists'
check "wampmesh started (Type=notify: READY=1 received)" 'Started wampmesh.service'
check "systemd restarted wampmesh after the SIGKILL" 'wampmesh.service: Scheduled restart job, restart counter is at 1'
# The SIGKILL above ends in "Failed with result 'signal'"; any other failure, or a watchdog
# timeout, is a fault.
if grep -aE 'wampmesh.service: (Watchdog timeout|Failed with result)' "$serial" | grep -vq "Failed with result 'signal'"; then
  log "serial console: wampmesh watchdog timeout or failure"; result=1
fi
# The FAT partition, byte for byte (the file, deleted files, free clusters): none of the
# secrets written there may be left. The guest is stopped first; its last writes were synced.
qemu_stop
fat_scan "$img" hostname=wm-boottest "${secrets[@]}" || result=1

log "boot test $([ $result = 0 ] && echo PASSED || echo FAILED) in $(( $(date +%s) - started )) s"
[ $result = 0 ] || { tail -60 "$serial" >&2; keep=1; }
exit $result
