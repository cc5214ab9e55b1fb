# shellcheck shell=bash
# Shared by build.sh, inject.sh, boot-test.sh and inject-boot-test.sh (sourced, not run).

log() { echo "firmware-image: $*" >&2; }
die() { log "error: $*"; exit 1; }

# The Debian archive this host already uses (from its apt sources), so no host is named here.
debian_mirror() {
  if [ -n "${WAMPMESH_DEBIAN_MIRROR:-}" ]; then echo "$WAMPMESH_DEBIAN_MIRROR"; return; fi
  local f uri
  for f in /etc/apt/sources.list.d/*.sources; do
    [ -f "$f" ] || continue
    uri=$(awk '/^URIs:/ { for (i = 2; i <= NF; i++) if ($i ~ /\/debian\/?$/) { print $i; exit } }' "$f")
    [ -n "$uri" ] && { echo "${uri%/}"; return; }
  done
  for f in /etc/apt/sources.list /etc/apt/sources.list.d/*.list; do
    [ -f "$f" ] || continue
    uri=$(sed -nE 's/^deb[[:space:]]+(\[[^]]*\][[:space:]]+)?([^[:space:]]+\/debian)\/?[[:space:]].*/\2/p' "$f" | head -1)
    [ -n "$uri" ] && { echo "$uri"; return; }
  done
  die "no Debian archive in /etc/apt sources (set WAMPMESH_DEBIAN_MIRROR)"
}

# The security archive next to it (deb.debian.org/debian -> deb.debian.org/debian-security);
# WAMPMESH_DEBIAN_SECURITY_MIRROR overrides it (a local mirror must then carry it too).
debian_security_mirror() {
  if [ -n "${WAMPMESH_DEBIAN_SECURITY_MIRROR:-}" ]; then echo "$WAMPMESH_DEBIAN_SECURITY_MIRROR"; return; fi
  echo "${1%/debian}/debian-security"
}

# Installs the Debian packages given (as root), only those missing; apt-get update once.
ensure_packages() {
  local missing=() p
  for p in "$@"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
  done
  [ ${#missing[@]} -eq 0 ] && return 0
  [ "$(id -u)" = 0 ] || die "run as root: these Debian packages are needed: ${missing[*]}"
  log "installing ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  if [ -z "${_apt_updated:-}" ]; then apt-get update -qq; _apt_updated=1; fi
  apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
}

# arm64 programs run through qemu-user via binfmt_misc (mmdebstrap's maintainer scripts).
enable_binfmt_arm64() {
  ensure_packages qemu-user-static binfmt-support
  if [ ! -e /proc/sys/fs/binfmt_misc/register ]; then
    mount -t binfmt_misc binfmt_misc /proc/sys/fs/binfmt_misc 2>/dev/null || die "cannot mount binfmt_misc (a container without it cannot run arm64 maintainer scripts)"
  fi
  [ -e /proc/sys/fs/binfmt_misc/qemu-aarch64 ] || update-binfmts --enable qemu-aarch64 >/dev/null
  [ -e /proc/sys/fs/binfmt_misc/qemu-aarch64 ] || die "qemu-aarch64 binfmt handler not registered"
}

# Partition start (in 512-byte sectors) and size of partition N of a disk image.
part_offset() { sfdisk -J "$1" | python3 -c "import json,sys; p=json.load(sys.stdin)['partitiontable']['partitions'][$2-1]; print(p['start'], p['size'])"; }

# --- Shared by the qemu boot tests (boot-test.sh, inject-boot-test.sh) ---------------------
# They set `work` (the run's folder; its `id` is the test's SSH key, made by test_ssh_key),
# `serial` (the serial console log) and `result` (0 until a check fails); qemu_boot sets the
# ports and qemu_pid the helpers below use.

lib_dir=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)

# A free TCP port on host loopback, for one of qemu's port forwards.
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }

# An OpenSSH key pair made for one test run: KEY and KEY.pub, the latter "type base64" without
# a comment (wampmesh.txt's ssh_authorized_key is one line).
test_ssh_key() {
  ssh-keygen -q -t ed25519 -N '' -f "$1" && cut -d' ' -f1,2 "$1.pub" > "$1.pub.tmp" && mv "$1.pub.tmp" "$1.pub"
}

# fat_scan IMAGE MARKER SECRET...: reads partition 1 of IMAGE (the FAT boot partition) byte for
# byte, the file, deleted files and free clusters alike; fails when MARKER (a non-secret line
# that must be there, so the scan is known to read the right bytes) is missing or any SECRET
# is found. Run it after the guest stopped.
fat_scan() {
  local image=$1 marker=$2 start sectors fat ok=0 secret
  shift 2
  read -r start sectors < <(part_offset "$image" 1)
  fat=$(mktemp)
  dd if="$image" of="$fat" bs=512 skip="$start" count="$sectors" status=none
  if grep -aqF "$marker" "$fat"; then log "FAT scan: reads the partition (finds $marker)"
  else log "FAT scan: FAILED, cannot find the non-secret line '$marker': not scanning the right bytes"; ok=1; fi
  for secret in "$@"; do
    if grep -aqF "$secret" "$fat"; then log "FAT scan: FOUND '$secret'"; ok=1; else log "FAT scan: '$secret' not found"; fi
  done
  rm -f "$fat"
  return $ok
}

# qemu_boot KERNEL INITRD DISK CMDLINE: boots DISK (raw, as virtio) in the background on qemu's
# "virt" machine (qemu's raspi machines lack the USB/Ethernet and PCIe a network test needs):
# cortex-a72 (the Pi 4's core), 2 CPUs, 1 GiB, TCG; the serial console to $serial. The kernel
# command line lets systemd wait up to 3 min for devices (default 90 s): under TCG udev's
# coldplug can take longer than that to make the disk's links. The network is qemu's user mode
# with restrict=on (the guest reaches nothing, not even the host) and host loopback forwards to
# the guest's RawSocket over TLS (8444 -> $raw_port), wss (8443 -> $ws_port) and SSH
# (22 -> $ssh_port). Sets raw_port, ws_port, ssh_port and qemu_pid.
qemu_boot() {
  local kernel=$1 initrd=$2 disk=$3 cmdline=$4
  raw_port=$(free_port)
  ws_port=$(free_port)
  ssh_port=$(free_port)
  qemu-system-aarch64 -M virt -cpu cortex-a72 -smp 2 -m 1024 \
    -kernel "$kernel" -initrd "$initrd" \
    -append "$cmdline console=ttyAMA0 panic=-1 systemd.show_status=1 systemd.journald.forward_to_console=1 systemd.default_device_timeout_sec=180" \
    -drive "file=$disk,if=virtio,format=raw" \
    -netdev "user,id=n0,restrict=on,hostfwd=tcp:127.0.0.1:$raw_port-:8444,hostfwd=tcp:127.0.0.1:$ws_port-:8443,hostfwd=tcp:127.0.0.1:$ssh_port-:22" \
    -device virtio-net-pci,netdev=n0 -device virtio-rng-pci \
    -display none -serial "file:$serial" -monitor none -no-reboot &
  qemu_pid=$!
}

# Stops the guest (its last writes must have been synced: `in_guest flush sync`).
qemu_stop() {
  if [ -n "${qemu_pid:-}" ]; then kill "$qemu_pid" 2>/dev/null && wait "$qemu_pid" 2>/dev/null || true; fi
  qemu_pid=
}

# guest COMMAND...: runs COMMAND in the guest as root over SSH, with the test's key.
guest() { ssh -q -i "$work/id" -p "$ssh_port" -o StrictHostKeyChecking=no -o UserKnownHostsFile=/dev/null -o ConnectTimeout=10 root@127.0.0.1 "$@"; }

# in_guest "what" COMMAND: passes when COMMAND succeeds in the guest.
in_guest() {
  if guest "$2"; then log "guest: $1"; else log "guest: FAILED $1"; result=1; fi
}

# login "what" "REALM AUTHID TICKET" [TOPIC]: a ticket login from outside gets WELCOME (and may
# subscribe to TOPIC). Over RawSocket over TLS, the only RawSocket that answers from outside the
# guest (a plain RawSocket handshake on that port is refused with handshake error 3), pinned to
# $WAMP_PROBE_FINGERPRINT once the caller exported it.
login() {
  if WAMP_PROBE_TLS=1 WAMP_PROBE_TICKET=$2 WAMP_PROBE_SUBSCRIBE=${3:-} python3 "$lib_dir/wamp-probe.py" rawsocket 127.0.0.1 "$raw_port" 60 >/dev/null; then log "login: $1"
  else log "login: FAILED $1"; result=1; fi
}

# check "what" PATTERN: PATTERN (extended regex) is in the serial console log.
check() {
  if grep -aqE "$2" "$serial"; then log "serial console: $1"; else log "serial console: MISSING $1"; result=1; fi
}
